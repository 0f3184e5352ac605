"""Harness for the functional tests: run the real qinqgw binary on net_pcap
vdevs and check what comes out.

What it gives a test:
  - pcap files read and written with plain struct (no scapy needed),
  - frames built from tag tuples, each with a unique source MAC so every
    output frame can be traced back to the input frame it came from,
  - `run_gateway()`: write the inputs, start qinqgw, poll DPDK telemetry
    until every input frame is received, stop it with SIGINT and return its
    exit code, the output frames and the parsed exit report,
  - `Model`: the forwarding rules of the spec, written from the spec and not
    from the C code, to compute the frames and counters a run must produce,
  - `Results`: the `ok NAME` / `FAIL NAME: why` lines and the closing
    `N passed, M failed` line,
  - `Case` and `run_and_check()`: labelled input frames with the outcome a
    test intends, one run, and every check of `check_run()` (per case, whole
    output in order, port counters, drop reasons, flow counters).

Typical use (see test_forwarding.py):
    results = Results()
    c = Case("cust->core 1:1", 0, "flow_name")
    c.add(FrameMaker().frame([tag(0x8100, 100)], 64))
    run_and_check(results, "/path/qinqgw", "run X", config_dict, [c])
    sys.exit(results.finish())

Nothing here asks the gateway what it should do: expectations come from the
model, observations from the pcap files and the exit report.
"""
import ctypes
import json
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

STANDARD_TPIDS = (0x8100, 0x88A8, 0x9100, 0x9200, 0x9300)
MIN_FRAME = 60
ETH_HDR = 14

# ---------------------------------------------------------------- pcap files

_PCAP_US = 0xA1B2C3D4
_PCAP_NS = 0xA1B23C4D
LINKTYPE_ETHERNET = 1


_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


def in_netns(ns, fn):
    """Call fn() with this thread in network namespace ns (sockets made there
    stay there), then come back."""
    mine = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + ns, os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "setns " + ns)
        try:
            return fn()
        finally:
            if _libc.setns(mine, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns back")
    finally:
        os.close(mine)
        os.close(target)


def write_pcap(path, frames, snaplen=65535):
    """Write frames (bytes) to a classic microsecond pcap file, Ethernet."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", _PCAP_US, 2, 4, 0, 0, snaplen, LINKTYPE_ETHERNET))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1700000000 + i // 1000000, i % 1000000,
                                len(fr), len(fr)))
            f.write(fr)


def read_pcap(path):
    """Frames of a pcap file; raises ValueError on a truncated or snapped file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        raise ValueError("%s: %d bytes, no pcap header" % (path, len(data)))
    for endian in ("<", ">"):
        magic = struct.unpack(endian + "I", data[:4])[0]
        if magic in (_PCAP_US, _PCAP_NS):
            break
    else:
        raise ValueError("%s: not a pcap file (magic %s)" % (path, data[:4].hex()))
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    if linktype != LINKTYPE_ETHERNET:
        raise ValueError("%s: link type %d, not Ethernet" % (path, linktype))
    frames, off = [], 24
    while off < len(data):
        if off + 16 > len(data):
            raise ValueError("%s: truncated record header at offset %d" % (path, off))
        _, _, incl, orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if off + incl > len(data):
            raise ValueError("%s: truncated record at offset %d" % (path, off))
        if incl != orig:
            raise ValueError("%s: frame %d captured %d of %d bytes"
                             % (path, len(frames), incl, orig))
        frames.append(data[off:off + incl])
        off += incl
    return frames


# ------------------------------------------------------------------- frames

def tag(tpid, vid, pcp=0, dei=0):
    """4 bytes of one tag: TPID then TCI (PCP 3 bits, DEI 1 bit, VID 12 bits)."""
    return struct.pack("!HH", tpid, (pcp & 7) << 13 | (dei & 1) << 12 | (vid & 0xFFF))


class FrameMaker:
    """Builds frames with a unique source MAC each (02:51:nn:nn:nn:nn) and
    deterministic pseudo-random payloads."""

    def __init__(self, seed=1):
        import random
        self.rng = random.Random(seed)
        self.serial = 0

    def macs(self):
        self.serial += 1
        dst = bytes([0x02, 0xD5]) + struct.pack("!I", self.rng.getrandbits(32))
        src = bytes([0x02, 0x51]) + struct.pack("!I", self.serial)
        return dst + src

    def payload(self, n):
        return bytes(self.rng.getrandbits(8) for _ in range(n)) if n < 256 else \
            self.rng.getrandbits(8 * n).to_bytes(n, "big")

    def frame(self, tags=(), length=64, ethertype=0x0800):
        """MACs, the given tags (bytes from tag()), an EtherType, then random
        payload up to `length` bytes in total."""
        head = self.macs() + b"".join(tags) + struct.pack("!H", ethertype)
        if length < len(head):
            raise ValueError("length %d < header %d" % (length, len(head)))
        return head + self.payload(length - len(head))

    def raw(self, body, length=None):
        """MACs followed by body bytes (no EtherType added), e.g. for a
        truncated tag; cut to `length` if given."""
        fr = self.macs() + body
        return fr if length is None else fr[:length]


def src_mac(frame):
    return frame[6:12] if len(frame) >= 12 else None


def describe(frame, max_tags=4):
    """One-line summary: length, source MAC serial, tag stack, EtherType."""
    if len(frame) < ETH_HDR:
        return "%d bytes (runt) %s" % (len(frame), frame.hex())
    parts, off = [], 12
    while off + 4 <= len(frame) and len(parts) < max_tags:
        tpid, tci = struct.unpack("!HH", frame[off:off + 4])
        if tpid not in STANDARD_TPIDS:
            break
        parts.append("%04x/%d/pcp%d%s" % (tpid, tci & 0xFFF, tci >> 13,
                                          "/dei" if tci & 0x1000 else ""))
        off += 4
    et = frame[off:off + 2].hex() if off + 2 <= len(frame) else "--"
    return "%d bytes src %s tags [%s] type %s" % (len(frame), frame[6:12].hex(":"),
                                                  " ".join(parts), et)


def frame_diff(expected, got, context=1, max_rows=6):
    """Readable difference of two frames: lengths, first differing offset and
    a hex dump of the differing 16-byte rows (expected '-', got '+')."""
    lines = ["    expected %s" % describe(expected), "    got      %s" % describe(got)]
    n = min(len(expected), len(got))
    first = next((i for i in range(n) if expected[i] != got[i]), None)
    if first is None and len(expected) == len(got):
        return "\n".join(lines + ["    (identical)"])
    if first is None:
        first = n
    lines.append("    first difference at byte %d (lengths %d vs %d)"
                 % (first, len(expected), len(got)))
    rows = sorted({r for r in range(0, max(len(expected), len(got)), 16)
                   if expected[r:r + 16] != got[r:r + 16]})
    show = []
    for r in rows:
        for c in range(r - 16 * context, r + 16 * (context + 1), 16):
            if 0 <= c < max(len(expected), len(got)) and c not in show:
                show.append(c)
        if len(show) >= max_rows:
            break
    for c in sorted(show)[:max_rows * 2]:
        e, g = expected[c:c + 16], got[c:c + 16]
        if e == g:
            lines.append("     %5d  %s" % (c, e.hex(" ")))
        else:
            lines.append("    -%5d  %s" % (c, e.hex(" ")))
            lines.append("    +%5d  %s" % (c, g.hex(" ")))
    if len(rows) > len(show):
        lines.append("    (%d differing rows in all)" % len(rows))
    return "\n".join(lines)


# ------------------------------------------------------------------- model

class Verdict:
    """What the spec says happens to one input frame."""

    def __init__(self, drop=None, flow=None, out_port=None, frame=None):
        self.drop = drop          # drop reason name, or None if forwarded
        self.flow = flow          # flow name when forwarded
        self.out_port = out_port  # egress port index
        self.frame = frame        # egress bytes

    def __repr__(self):
        if self.drop:
            return "drop %s" % self.drop
        return "flow %s -> port %d (%d bytes)" % (self.flow, self.out_port, len(self.frame))


def _tpid(v):
    return int(v, 16) if isinstance(v, str) else int(v)


class Model:
    """The forwarding rules, from the spec.

    A frame received on a port is matched on its outermost tags (TPID and
    VID; PCP and DEI are ignored); the most specific stack wins: two tags,
    then one, then the port's catch-all []. The matched tags are popped and
    the flow's stack for the other port is pushed; egress tag i keeps the
    top 4 TCI bits (PCP, DEI) of popped tag i when i < number popped and the
    config gives no pcp, a configured pcp sets PCP with DEI 0, otherwise
    they are 0. Everything after the popped tags is unchanged; frames shorter
    than 60 bytes are zero-padded to 60. Drops: `runt` under 14 bytes,
    `bad_tag` when a tag TPID (a standard one or one the port's flows use)
    has fewer than 4 bytes behind it, `no_flow` when nothing matches.
    """

    def __init__(self, config):
        self.port_names = list(config["ports"])
        self.flows = []
        for f in config["flows"]:
            stacks = []
            for p in self.port_names:
                stacks.append([(_tpid(t["tpid"]), int(t["vid"]), t.get("pcp"))
                               for t in f[p]])
            self.flows.append((f["name"], stacks))
        self.tag_tpids = []
        for p in range(2):
            s = set(STANDARD_TPIDS)
            for _, stacks in self.flows:
                s.update(t[0] for t in stacks[p])
            self.tag_tpids.append(s)

    def port_index(self, name):
        return self.port_names.index(name)

    def verdict(self, port, frame):
        n = len(frame)
        if n < ETH_HDR:
            return Verdict(drop="runt")
        off = 12
        while off + 2 <= n and struct.unpack("!H", frame[off:off + 2])[0] in self.tag_tpids[port]:
            if n < off + 6:
                return Verdict(drop="bad_tag")
            off += 4

        def tag_at(i):
            o = 12 + 4 * i
            if o + 4 > n:
                return None
            tpid, tci = struct.unpack("!HH", frame[o:o + 4])
            return tpid, tci & 0xFFF

        best, best_len = None, -1
        for name, stacks in self.flows:
            st = stacks[port]
            if all(tag_at(i) == (st[i][0], st[i][1]) for i in range(len(st))):
                if len(st) > best_len:
                    best, best_len = (name, stacks), len(st)
        if best is None:
            return Verdict(drop="no_flow")
        name, stacks = best
        k = len(stacks[port])
        popped = [struct.unpack("!H", frame[14 + 4 * i:16 + 4 * i])[0] for i in range(k)]
        out = b""
        for i, (tpid, vid, pcp) in enumerate(stacks[1 - port]):
            if pcp is not None:
                tci = pcp << 13 | vid
            elif i < k:
                tci = (popped[i] & 0xF000) | vid
            else:
                tci = vid
            out += struct.pack("!HH", tpid, tci)
        eg = frame[:12] + out + frame[12 + 4 * k:]
        if len(eg) < MIN_FRAME:
            eg += bytes(MIN_FRAME - len(eg))
        return Verdict(flow=name, out_port=1 - port, frame=eg)


# --------------------------------------------------------- exit report

class Report:
    """The exit report of qinqgw (lib/stats/summary.c):
      port <name> rx_pkts N rx_bytes N tx_pkts N tx_bytes N dropped N
      drop <port> <reason> N        (only nonzero; `drop (none)` if none)
      flow <name> <in>-><out> pkts N bytes N max_len N dropped N
    """

    def __init__(self, text):
        self.ports = {}     # name -> {rx_pkts, rx_bytes, tx_pkts, tx_bytes, dropped}
        self.drops = {}     # (port, reason) -> N
        self.drop_none = False
        self.flows = {}     # (flow, "in->out") -> {pkts, bytes, max_len, dropped}
        self.errors = []    # lines starting with a keyword that did not parse
        for line in text.splitlines():
            w = line.split()
            if not w:
                continue
            try:
                if w[0] == "port":
                    if len(w) < 12 or len(w) % 2:
                        raise ValueError
                    self.ports[w[1]] = {w[i]: int(w[i + 1]) for i in range(2, len(w), 2)}
                elif w[0] == "drop":
                    if w[1:] == ["(none)"]:
                        self.drop_none = True
                    elif len(w) == 4:
                        self.drops[(w[1], w[2])] = int(w[3])
                    else:
                        raise ValueError
                elif w[0] == "flow":
                    if len(w) < 11 or len(w) % 2 == 0:
                        raise ValueError
                    self.flows[(w[1], w[2])] = {w[i]: int(w[i + 1]) for i in range(3, len(w), 2)}
            except (ValueError, IndexError):
                self.errors.append(line)

    def port_drops(self, port):
        return {r: n for (p, r), n in self.drops.items() if p == port}


# ------------------------------------------------------------- telemetry

class Telemetry:
    """Client of the DPDK telemetry v2 socket (JSON over SOCK_SEQPACKET)."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock.settimeout(5)
        self.sock.connect(path)
        greeting = json.loads(self.sock.recv(65536).decode())
        self.max_len = int(greeting.get("max_output_len", 16384))

    def cmd(self, command):
        self.sock.send(command.encode())
        reply = self.sock.recv(max(self.max_len, 65536))
        if not reply:
            raise ConnectionError("telemetry socket closed")
        return json.loads(reply.decode())

    def close(self):
        self.sock.close()

    def port_ids(self):
        """ethdev name -> port id."""
        ids = {}
        for pid in self.cmd("/ethdev/list")["/ethdev/list"]:
            info = self.cmd("/ethdev/info,%d" % pid)["/ethdev/info"]
            ids[info["name"]] = pid
        return ids

    def stats(self, port_id):
        return self.cmd("/ethdev/stats,%d" % port_id)["/ethdev/stats"]


# ------------------------------------------------------------- running

class GatewayError(Exception):
    pass


class RunResult:
    def __init__(self):
        self.rc = None
        self.stdout = ""
        self.stderr = ""
        self.out = [[], []]      # frames sent by port 0 / port 1 (tx pcaps)
        self.report = None
        self.error = None        # why the run is unusable, or None
        self.seconds = 0.0
        self.workdir = None
        self.ipackets = None     # last telemetry ipackets per port
        self.stats_name = None   # the gateway's --stats-name

    def ok(self):
        return self.error is None


_run_counter = [0]


def run_gateway(qinqgw, config, inputs, workdir=None, timeout=60.0, lcores="0-1",
                extra_eal=(), devices=("net_pcap0", "net_pcap1"), while_running=None,
                keep_stats=False, extra_args=(), vdev_args=("", "")):
    """Run qinqgw on two net_pcap vdevs until it has received every input frame.

    Files (config.json, in/out pcaps, command, stdout, stderr) go to
    `workdir`; without one, to a temporary directory that is removed after
    a good run and kept (and named in result.error) after a bad one.

    @param config   the config as a dict (written as JSON); its two ports must
                    use `devices`
    @param inputs   [frames for port 0, frames for port 1] (bytes each)
    @param while_running  called as while_running(res) once every input frame
                    was received, before the gateway is stopped; res.stats_name
                    is the gateway's stats segment
    @param keep_stats  leave /dev/shm/<stats_name> in place after the run
    @param extra_args  more gateway options after "--"
    @param vdev_args   extra devargs per port (",..." strings)
    @return a RunResult; result.error says why it is unusable (start-up
            failure, timeout, nonzero exit, unreadable output).
    """
    res = RunResult()
    own_dir = workdir is None
    if own_dir:
        workdir = tempfile.mkdtemp(prefix="qgwf_")
    res.workdir = workdir
    _run_counter[0] += 1
    prefix = "qgwf_%d_%d" % (os.getpid(), _run_counter[0])
    rundir = os.path.join("/var/run/dpdk", prefix)
    res.stats_name = prefix
    cfg_path = os.path.join(workdir, "config.json")
    with open(cfg_path, "w") as f:
        json.dump(config, f, indent=1)
    ins, outs = [], []
    for p in range(2):
        ins.append(os.path.join(workdir, "in%d.pcap" % p))
        outs.append(os.path.join(workdir, "out%d.pcap" % p))
        write_pcap(ins[p], inputs[p])
        if os.path.exists(outs[p]):
            os.unlink(outs[p])
    cmd = [qinqgw, "-l", lcores, "--no-huge", "--no-pci", "-m", "512",
           "--file-prefix", prefix, "--log-level=pmd.net.pcap:warning"]
    cmd += list(extra_eal)
    for p in range(2):
        cmd += ["--vdev", "%s,rx_pcap=%s,tx_pcap=%s%s" % (devices[p], ins[p], outs[p],
                                                          vdev_args[p])]
    cmd += ["--", "--config", cfg_path, "--stats-name", res.stats_name,
            "--ctl-socket", os.path.join(workdir, "ctl.sock")] + list(extra_args)
    with open(os.path.join(workdir, "command"), "w") as f:
        f.write(" ".join(cmd) + "\n")

    out_f = open(os.path.join(workdir, "stdout"), "w+")
    err_f = open(os.path.join(workdir, "stderr"), "w+")
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL)
    want = [len(inputs[0]), len(inputs[1])]
    tel = None
    try:
        deadline = t0 + timeout
        sock_path = os.path.join(rundir, "dpdk_telemetry.v2")
        ids = None
        while True:
            if proc.poll() is not None:
                raise GatewayError("qinqgw exited with %d before receiving all input"
                                   % proc.returncode)
            if time.monotonic() > deadline:
                raise GatewayError("timeout after %.0f s: ipackets %s, want %s"
                                   % (timeout, res.ipackets, want))
            try:
                if tel is None:
                    if not os.path.exists(sock_path):
                        time.sleep(0.05)
                        continue
                    tel = Telemetry(sock_path)
                if ids is None:
                    ids = tel.port_ids()
                    if any(d not in ids for d in devices):
                        ids = None  # ports not probed yet
                        time.sleep(0.05)
                        continue
                res.ipackets = [tel.stats(ids[d])["ipackets"] for d in devices]
            except (OSError, ValueError, KeyError):
                if tel is not None:
                    tel.close()
                tel, ids = None, None
                time.sleep(0.05)
                continue
            if any(res.ipackets[p] > want[p] for p in range(2)):
                raise GatewayError("ports received %s frames, more than the %s sent"
                                   % (res.ipackets, want))
            if res.ipackets == want:
                break
            time.sleep(0.02)
        if while_running is not None:
            while_running(res)
    except GatewayError as e:
        res.error = str(e)
    finally:
        if tel is not None:
            tel.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                res.error = (res.error + "; " if res.error else "") + \
                    "qinqgw did not stop within 20 s of SIGINT (killed)"
        res.rc = proc.returncode
        res.seconds = time.monotonic() - t0
        out_f.seek(0)
        err_f.seek(0)
        res.stdout, res.stderr = out_f.read(), err_f.read()
        out_f.close()
        err_f.close()
        if os.path.isdir(rundir) and os.path.basename(rundir).startswith("qgwf_"):
            shutil.rmtree(rundir, ignore_errors=True)
        if not keep_stats and os.path.exists("/dev/shm/" + res.stats_name):
            os.unlink("/dev/shm/" + res.stats_name)

    if res.error is None and res.rc != 0:
        res.error = "qinqgw exited with %d after SIGINT" % res.rc
    res.report = Report(res.stdout)
    for p in range(2):
        try:
            res.out[p] = read_pcap(outs[p])
        except (OSError, ValueError) as e:
            if res.error is None:
                res.error = "cannot read tx pcap of port %d: %s" % (p, e)
    if res.error is not None:
        tail = res.stderr.strip().splitlines()[-15:] or ["(empty)"]
        res.error += "\n  stderr (tail):\n    " + "\n    ".join(tail)
        res.error += "\n  files kept in " + workdir
    elif own_dir:
        shutil.rmtree(workdir, ignore_errors=True)
    return res


# -------------------------------------------------------------- results

class Results:
    """Collects `ok NAME` / `FAIL NAME: why` lines and prints the total."""

    def __init__(self, out=sys.stdout):
        self.passed = 0
        self.failed = 0
        self.out = out

    def check(self, name, ok, why=""):
        if ok:
            self.passed += 1
            print("ok %s" % name, file=self.out)
        else:
            self.failed += 1
            print("FAIL %s: %s" % (name, why), file=self.out)
        self.out.flush()
        return ok

    def finish(self):
        print("%d passed, %d failed" % (self.passed, self.failed), file=self.out)
        self.out.flush()
        return 1 if self.failed else 0


# ------------------------------------------------------ checking a run

class Case:
    """A labelled set of input frames with the outcome the test intends."""

    def __init__(self, name, port, want):
        self.name = name      # case name, printed with ok/FAIL
        self.port = port      # ingress port index
        self.want = want      # flow name, "drop:<reason>", or "*" (any outcome)
        self.frames = []

    def add(self, frame):
        self.frames.append(frame)
        return self


def check_run(results, title, model, cases, sent, res):
    """Check one gateway run against the model, frame by frame and counter
    by counter; print one line per case.

    Per case: the model agrees with the intended outcome (a test-data check),
    and every frame of the case left by the right port with the exact bytes
    (or, for drops, did not leave at all). Per egress port: the whole output
    in order. Per ingress port: drop reasons and counters. Per flow and
    direction: pkts, bytes, max_len, dropped.

    @param sent  per ingress port, the (case, frame, verdict) list in the
                 order the frames were written to the input pcap
    """
    names = model.port_names
    usable = res.ok()
    results.check("%s: gateway ran and stopped with exit 0" % title, usable,
                  res.error or "")
    results.check("%s: exit report parses" % title, usable and not res.report.errors,
                  "unparsed lines: %r" % res.report.errors[:5] if usable
                  else "no usable gateway run")

    # where did every output frame come from (by unique source MAC)
    by_mac = {}
    for p in range(2):
        for c, fr, v in sent[p]:
            m = src_mac(fr)
            if m is not None:
                by_mac[m] = (p, c, fr, v)
    seen = {}                 # mac -> list of (egress port, index, bytes)
    for q in range(2):
        for i, fr in enumerate(res.out[q]):
            seen.setdefault(src_mac(fr), []).append((q, i, fr))

    # per case
    for c in cases:
        name = "%s: %s" % (title, c.name)
        bad_model = [v for v in (model.verdict(c.port, fr) for fr in c.frames)
                     if c.want != "*" and c.want != ("drop:" + v.drop if v.drop else v.flow)]
        if bad_model:
            results.check(name, False, "test data: intended %s, model says %r"
                          % (c.want, bad_model[0]))
            continue
        if not usable:
            results.check(name, False, "no usable gateway run")
            continue
        nbad, first = 0, None
        for fr in c.frames:
            v = model.verdict(c.port, fr)
            m = src_mac(fr)
            got = seen.get(m, []) if m is not None else []
            if v.drop:
                if got:
                    nbad += 1
                    first = first or ("input %s should be dropped (%s) but left port %s:\n%s"
                                      % (describe(fr), v.drop, names[got[0][0]],
                                         "    got      " + describe(got[0][2])))
                continue
            if len(got) != 1 or got[0][0] != v.out_port or got[0][2] != v.frame:
                nbad += 1
                if first is None:
                    if not got:
                        first = "input %s: no output frame on %s (expected %s)" % (
                            describe(fr), names[v.out_port], describe(v.frame))
                    elif len(got) > 1:
                        first = "input %s: %d output frames" % (describe(fr), len(got))
                    elif got[0][0] != v.out_port:
                        first = "input %s left by %s, expected %s" % (
                            describe(fr), names[got[0][0]], names[v.out_port])
                    else:
                        first = "input %s (flow %s):\n%s" % (
                            describe(fr), v.flow, frame_diff(v.frame, got[0][2]))
        results.check("%s (%d frames)" % (name, len(c.frames)), nbad == 0,
                      "%d of %d frames wrong; first: %s" % (nbad, len(c.frames), first))

    # whole output per egress port, in order
    for q in range(2):
        p = 1 - q
        exp = [(c, fr, v) for c, fr, v in sent[p] if not v.drop]
        name = "%s: %s->%s output is %d frames, in order, byte-exact" % (
            title, names[p], names[q], len(exp))
        if not usable:
            results.check(name, False, "no usable gateway run")
            continue
        got = res.out[q]
        why = None
        if len(got) != len(exp):
            why = "%d frames, expected %d" % (len(got), len(exp))
        for i in range(min(len(got), len(exp))):
            if got[i] != exp[i][2].frame:
                c, fr, v = exp[i]
                origin = by_mac.get(src_mac(got[i]))
                extra = ""
                if origin is not None and origin[2] is not fr:
                    extra = " (got the output of input %s of case %r)" % (
                        describe(origin[2]), origin[1].name)
                why = (why + "; " if why else "") + \
                    "frame %d differs%s; expected the output of input %s (case %r):\n%s" % (
                        i, extra, describe(fr), c.name, frame_diff(v.frame, got[i]))
                break
        if why is None and len(got) > len(exp):
            why = "unexpected extra frames, first: %s" % describe(got[len(exp)])
        results.check(name, why is None, why or "")

    # counters
    rep = res.report
    for p in range(2):
        pn, qn = names[p], names[1 - p]
        name = "%s: counters of port %s" % (title, pn)
        if not usable:
            results.check(name, False, "no usable gateway run")
            continue
        errs = []
        pc, qc = rep.ports.get(pn), rep.ports.get(qn)
        if pc is None or qc is None:
            results.check(name, False, "no `port` line for %s or %s in the report:\n%s"
                          % (pn, qn, res.stdout))
            continue
        ins = sent[p]
        fwd = [v for _, _, v in ins if not v.drop]
        dropped = len(ins) - len(fwd)
        exp = {"rx_pkts": len(ins), "rx_bytes": sum(len(fr) for _, fr, _ in ins),
               "dropped": dropped}
        for k, n in exp.items():
            if pc[k] != n:
                errs.append("%s %d, expected %d" % (k, pc[k], n))
        exp_tx = {"tx_pkts": len(fwd), "tx_bytes": sum(len(v.frame) for v in fwd)}
        for k, n in exp_tx.items():
            if qc[k] != n:
                errs.append("port %s %s %d, expected %d" % (qn, k, qc[k], n))
        if pc["rx_pkts"] != qc["tx_pkts"] - qc.get("icmp_sent", 0) + pc["dropped"]:
            errs.append("rx_pkts %d != tx_pkts of %s %d + dropped %d"
                        % (pc["rx_pkts"], qn, qc["tx_pkts"], pc["dropped"]))
        if pc["rx_pkts"] != len(ins):
            errs.append("rx_pkts %d != %d frames in the input pcap"
                        % (pc["rx_pkts"], len(ins)))
        if qc["tx_pkts"] != len(res.out[1 - p]):
            errs.append("port %s tx_pkts %d != %d frames in its output pcap"
                        % (qn, qc["tx_pkts"], len(res.out[1 - p])))
        sum_drops = sum(rep.port_drops(pn).values())
        if sum_drops != pc["dropped"]:
            errs.append("drop lines sum to %d, dropped %d" % (sum_drops, pc["dropped"]))
        results.check(name, not errs, "; ".join(errs))

        name = "%s: drop reasons of port %s" % (title, pn)
        want = {}
        for _, _, v in ins:
            if v.drop:
                want[v.drop] = want.get(v.drop, 0) + 1
        got = rep.port_drops(pn)
        results.check("%s %s" % (name, " ".join("%s=%d" % kv for kv in sorted(want.items()))
                                 or "(none)"),
                      got == want, "report says %s, expected %s" % (got, want))

    name = "%s: `drop (none)` line iff no drop" % title
    if usable:
        any_drop = any(v.drop for p in range(2) for _, _, v in sent[p])
        results.check(name, rep.drop_none == (not any_drop) and
                      (bool(rep.drops) == any_drop),
                      "drop (none) printed: %s, drop lines: %s, expected drops: %s"
                      % (rep.drop_none, rep.drops, any_drop))
    else:
        results.check(name, False, "no usable gateway run")

    # per flow and direction
    name = "%s: flow counters (pkts, bytes, max_len, dropped per direction)" % title
    if usable:
        errs = []
        for fname, _ in model.flows:
            for p in range(2):
                d = "%s->%s" % (names[p], names[1 - p])
                vs = [(fr, v) for _, fr, v in sent[p] if v.flow == fname]
                exp = {"pkts": len(vs), "bytes": sum(len(fr) for fr, _ in vs),
                       "max_len": max([len(fr) for fr, _ in vs] or [0]), "dropped": 0,
                       "oversize": 0, "icmp_sent": 0, "mss_clamped": 0}
                got = rep.flows.get((fname, d))
                if got is None:
                    errs.append("no line for flow %s %s" % (fname, d))
                elif got != exp:
                    errs.append("flow %s %s: %s, expected %s" % (fname, d, got, exp))
        if len(rep.flows) != 2 * len(model.flows):
            errs.append("%d flow lines, expected %d" % (len(rep.flows), 2 * len(model.flows)))
        results.check(name, not errs, "\n  ".join(errs))
    else:
        results.check(name, False, "no usable gateway run")


def run_and_check(results, qinqgw, title, config, cases, order=None, timeout=60.0):
    """Send the frames of `cases` (in case order per port, or in the order
    given by `order`, a list of (case, frame) per port), run the gateway and
    check everything. Returns the RunResult."""
    model = Model(config)
    sent = [[], []]
    if order is None:
        order = [[], []]
        for c in cases:
            for fr in c.frames:
                order[c.port].append((c, fr))
    for p in range(2):
        for c, fr in order[p]:
            sent[p].append((c, fr, model.verdict(p, fr)))
    macs = [src_mac(fr) for p in range(2) for _, fr in order[p] if src_mac(fr) is not None]
    if len(set(macs)) != len(macs):
        raise AssertionError("test data: source MACs are not unique")
    workdir = tempfile.mkdtemp(prefix="qgwf_")
    res = run_gateway(qinqgw, config, [[fr for _, fr in order[p]] for p in range(2)],
                      workdir=workdir, timeout=timeout)
    failed = results.failed
    check_run(results, title, model, cases, sent, res)
    if results.failed == failed:
        shutil.rmtree(workdir, ignore_errors=True)
    elif res.ok():
        print("# %s: files kept in %s" % (title, workdir))
    return res
