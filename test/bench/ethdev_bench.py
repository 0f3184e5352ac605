#!/usr/bin/python3
"""Benchmark: qinqgw through ethdev, beside dpdk-testpmd and Open vSwitch (DPDK).

    /usr/bin/python3 test/bench/ethdev_bench.py --qinqgw build/app/qinqgw [--out DIR]
        [--sizes 64,imix,1518] [--dirs bi,uni] [--apps qinqgw,testpmd,ovs]
        [--rounds 5] [--window 2] [--warmup 1] [--hugepages MB | --no-huge] [--no-scaling]
        [--no-check] [--max-seconds 600]

Run as root on an otherwise idle machine if you can (it never fails on
timing: figures only). A full run takes 6 to 8 minutes and stops by itself
after --max-seconds, keeping what it measured so far.

What it does:
  - The same frames for every program: QinQ frames (S-tag, C-tag, IPv4/UDP)
    of 64 bytes, IMIX 7:4:1 of 64/570/1518 bytes, and 1518 bytes (lengths as
    captured: tags included, no FCS), 1200 distinct frames per port over 64
    S-VIDs x 4 C-VIDs. Port 0 ("twaren") carries 0x88a8/100+f, port 1
    ("ccx") 0x8100/3000+f; the programs translate 1:1 between them.
  - The same devices: two net_pcap vdevs per program, rx from a prebuilt
    pcap with infinite_rx=1 (the PMD copies each frame from a ring into a
    fresh mbuf) and no tx file, which makes net_pcap count and free what
    is sent (tx_drop). I/O cost is small and identical for the three.
    "bi": both ports receive; "uni": port 1 reads an empty pcap.
  - The programs, each with one poll-mode core on CPU 1 and its control
    threads on CPU 0:
      qinqgw   the gateway, 64 1:1 flows (config written here);
      testpmd  dpdk-testpmd --forward-mode=io (forwards untouched: the cost
               of the PMDs and a minimal loop), --record-core-cycles;
      ovs      ovs-vswitchd (Debian openvswitch-switch-dpdk), bridge of
               datapath_type netdev, two dpdk ports, vlan-limit=2, one
               OpenFlow rule per S-VID and direction:
               dl_vlan=100+f actions=pop_vlan,push_vlan:0x8100,
               mod_vlan_vid:3000+f,output:2 (and back with 0x88a8).
  - Side by side in one run: per frame size and direction all three are
    started, then paused (SIGSTOP) and resumed (SIGCONT) in turn, so only
    one polls at a time; rounds are interleaved A B C A B C ...; each
    measurement is a warm-up then a window over which the program's own
    counters are read (qinqgw-stats --json, testpmd `show fwd stats all`,
    ovs-appctl dpif-netdev/pmd-stats-show) together with the PMDs' ethdev
    counters through DPDK telemetry (a cross-check), and the CPU time the
    poll thread got (/proc/PID/task/TID/schedstat: below 100% when another
    job shared its CPU). Reported: median Mpps; ratios qinqgw / testpmd and
    qinqgw / ovs as the median over rounds of same-round rates per poll
    core (and the ratio of the raw medians); cycles per frame.
  - A check first (unless --no-check): each program forwards the IMIX frames
    into tx pcap files; qinqgw's and OVS's output must be the frames the
    spec gives (test/func/qgwtest.py Model), testpmd's the input, byte for
    byte and in order. (OVS would drop what arrives while its ports are
    being added; for the check it gets tx-only ports first and rx-only
    ports that are polled only once it knows them all.)
  - Scaling (unless --no-scaling): qinqgw and testpmd with 1 worker (CPU 1)
    and 2 workers (CPU 0 and CPU 1, the control plane sharing CPU 0), on
    net_pcap vdevs with two rx queues each (one pcap stream per queue: a
    perfectly balanced stand-in for RSS), 64-byte frames, both directions.
  - Memory: 2 MiB hugepages, --hugepages MB (512) per program, reserved for
    the run on a private hugetlbfs mount and given back at the end; with
    --no-huge (or when the reservation fails) --no-huge -m 1024, which adds
    some 25 cycles of TLB misses per frame to every program.

Writes ethdev-bench.json, ethdev-bench.md and ethdev-bench.png (Mpps by
frame size for the three) into --out (default: the build directory that holds
the qinqgw binary). Cleans up every process, /dev/shm segment, DPDK run
directory, OVS run directory, tap device and hugepage reservation it creates,
also when interrupted.
"""
import argparse
import json
import os
import re
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "func"))
import qgwtest as q  # noqa: E402

TESTPMD = "/usr/bin/dpdk-testpmd"
OVS_VSWITCHD = "/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk"
OVS_SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"
NB_FLOWS = 64
NB_CVIDS = 4
NB_FRAMES = 1200          # per port; a multiple of the IMIX period (12)
# IMIX 7:4:1 of 64/570/1518 bytes, interleaved
IMIX_ORDER = [64, 570, 64, 64, 570, 64, 1518, 64, 570, 64, 64, 570]
PAPER = {"qinqgw": "qinqgw", "testpmd": "testpmd io", "ovs": "OVS-DPDK"}

# ------------------------------------------------------------------ frames


def ipv4_udp(src, dst, sport, dport, l3_len):
    """An IPv4 header with a valid checksum, a UDP header and a zero payload
    making l3_len bytes in all."""
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, l3_len, 0, 0x4000, 64, 17, 0, src, dst)
    s = sum(struct.unpack("!10H", hdr))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    hdr = hdr[:10] + struct.pack("!H", ~s & 0xFFFF) + hdr[12:]
    udp = struct.pack("!HHHH", sport, dport, l3_len - 20, 0)
    return hdr + udp + bytes(l3_len - 28)


def frame_lengths(kind, n):
    if kind == "imix":
        return [IMIX_ORDER[i % len(IMIX_ORDER)] for i in range(n)]
    return [int(kind)] * n


def make_frames(kind, port, n=NB_FRAMES):
    """Frames entering `port` (0: twaren, S-tag 0x88a8/100+f; 1: ccx,
    0x8100/3000+f), each with a C-tag, unique MACs and a unique UDP flow."""
    out = []
    for i, length in enumerate(frame_lengths(kind, n)):
        f, cvid = i % NB_FLOWS, 10 + (i // NB_FLOWS) % NB_CVIDS
        stag = q.tag(0x88A8, 100 + f) if port == 0 else q.tag(0x8100, 3000 + f)
        macs = bytes([0x02, 0xD5, 0, port, i >> 8, i & 0xFF, 0x02, 0x51, 0, port, i >> 8, i & 0xFF])
        l3 = ipv4_udp(bytes([10, port, f, 1]), bytes([10, 1 - port, f, 2]), 1024 + i, 9,
                      length - 14 - 8)
        out.append(macs + stag + q.tag(0x8100, cvid) + b"\x08\x00" + l3)
    return out


def gateway_config():
    return {
        "version": 1,
        "ports": {"twaren": {"device": "net_pcap0", "max_frame": 1526},
                  "ccx": {"device": "net_pcap1", "max_frame": 1522}},
        "flows": [{"name": "f%d" % f, "twaren": [{"tpid": "0x88a8", "vid": 100 + f}],
                   "ccx": [{"tpid": "0x8100", "vid": 3000 + f}]} for f in range(NB_FLOWS)],
    }


def ovs_flows(rx=(1, 2), tx=(1, 2)):
    """OpenFlow rules: frames received on OpenFlow port rx[i] leave by
    tx[1 - i] (the same ports normally; split for the output check)."""
    rules = ["priority=0,actions=drop"]
    for f in range(NB_FLOWS):
        rules.append("priority=10,in_port=%d,dl_vlan=%d,actions=pop_vlan,push_vlan:0x8100,"
                     "mod_vlan_vid:%d,output:%d" % (rx[0], 100 + f, 3000 + f, tx[1]))
        rules.append("priority=10,in_port=%d,dl_vlan=%d,actions=pop_vlan,push_vlan:0x88a8,"
                     "mod_vlan_vid:%d,output:%d" % (rx[1], 3000 + f, 100 + f, tx[0]))
    return "\n".join(rules) + "\n"


# ---------------------------------------------------------- process control

class Cleanup:
    """Everything the run created, undone in reverse order, once."""

    def __init__(self):
        self.actions = []
        self.lock = threading.Lock()

    def add(self, what, fn):
        self.actions.append((what, fn))

    def run(self):
        # a second ^C or SIGTERM must not cut the cleanup short
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM, signal.SIGHUP,
                                                  signal.SIGALRM})
        with self.lock:
            while self.actions:
                what, fn = self.actions.pop()
                try:
                    fn()
                except Exception as e:  # keep cleaning
                    print("# cleanup %s: %s" % (what, e), file=sys.stderr)


CLEAN = Cleanup()


def pin_cpu0():
    os.sched_setaffinity(0, {0})


def spawn(cmd, log, stdin=subprocess.DEVNULL, stdout=None, env=None):
    """Start a child on CPU 0 (a DPDK program pins its own workers), in its
    own session so a terminal ^C reaches only this script."""
    err = open(log, "w")
    p = subprocess.Popen(cmd, stdin=stdin, stdout=stdout if stdout is not None else err,
                         stderr=err, preexec_fn=pin_cpu0, start_new_session=True, env=env)
    p.log_path = log
    CLEAN.add("pid %d" % p.pid, lambda: reap(p))
    return p


def reap(p, sig=signal.SIGINT, timeout=20):
    """Stop a child we started: continue it if paused, signal, wait, kill."""
    if p.poll() is not None:
        return p.returncode
    try:
        os.kill(p.pid, signal.SIGCONT)
        os.kill(p.pid, sig)
        return p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.kill(p.pid, signal.SIGKILL)
        return p.wait()
    except ProcessLookupError:
        return p.wait()


def run(cmd, timeout=15, check=True, env=None):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env,
                       preexec_fn=pin_cpu0)
    if check and r.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd[:3]), r.returncode,
                                                (r.stderr or r.stdout).strip()[-400:]))
    return r.stdout


def tail(path, n=12):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def remove_dpdk_rundir(prefix):
    d = os.path.join("/var/run/dpdk", prefix)
    if os.path.isdir(d):
        shutil.rmtree(d, ignore_errors=True)


class Snap:
    """Counters of one program at one instant."""

    def __init__(self, t, rx, tx, drops=0, cycles=None, cyc_pkts=None, extra=None):
        self.t, self.rx, self.tx, self.drops = t, rx, tx, drops
        self.cycles, self.cyc_pkts = cycles, cyc_pkts
        self.extra = extra or {}
        self.pmd_rx = None


class Telemetry:
    """ethdev rx/tx packets of the two vdevs, through the program's DPDK
    telemetry socket: the same PMD counters for every program."""

    def __init__(self, prefix, devices=("net_pcap0", "net_pcap1")):
        self.path = os.path.join("/var/run/dpdk", prefix, "dpdk_telemetry.v2")
        self.devices = devices
        self.tel = None
        self.ids = None

    def packets(self):
        try:
            if self.tel is None:
                self.tel = q.Telemetry(self.path)
                ids = self.tel.port_ids()
                self.ids = [ids[d] for d in self.devices]
            st = [self.tel.stats(i) for i in self.ids]
            return sum(s["ipackets"] for s in st), sum(s["opackets"] for s in st)
        except (OSError, ValueError, KeyError):
            self.close()
            return None

    def close(self):
        if self.tel is not None:
            self.tel.close()
        self.tel = None


# ------------------------------------------------------------------ programs

class Program:
    """One forwarding program on two vdevs: start, pause, resume, read, stop."""

    name = "?"

    def __init__(self, tag, work, devargs, mem_args, lcores="0-1", workers=1):
        self.tag = tag
        self.work = os.path.join(work, tag)
        os.makedirs(self.work, exist_ok=True)
        self.devargs = devargs
        self.mem_args = mem_args
        self.lcores = lcores
        self.workers = workers
        self.prefix = "qgweb_%d_%s" % (os.getpid(), tag)
        self.proc = None
        self.tel = Telemetry(self.prefix)
        self.notes = []
        CLEAN.add("run dir " + self.prefix, lambda: remove_dpdk_rundir(self.prefix))

    def eal(self):
        a = ["--no-pci", "--file-prefix", self.prefix, "--log-level=pmd.net.pcap:warning"]
        a += self.mem_args
        if "@" in self.lcores or "(" in self.lcores:
            a += ["--lcores", self.lcores]
        else:
            a += ["-l", self.lcores]
        for i, d in enumerate(self.devargs):
            a += ["--vdev", "net_pcap%d,%s" % (i, d)]
        return a

    def pause(self):
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self):
        os.kill(self.proc.pid, signal.SIGCONT)

    def snap(self):
        t0 = time.monotonic()
        s = self.read()
        t1 = time.monotonic()
        s.t = (t0 + t1) / 2
        s.threads = thread_runtimes(self.proc.pid)
        s.cpu_busy = cpu_busy()
        t0 = time.monotonic()
        pk = self.tel.packets()
        s.pmd_t = (t0 + time.monotonic()) / 2
        s.pmd_rx = pk[0] if pk else None
        return s

    def wait_forwarding(self, timeout=40):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %d:\n%s" % (self.tag, self.proc.returncode,
                                                               tail(self.proc.log_path)))
            try:
                s = self.read()
                if s.rx > 0:
                    return
            except (RuntimeError, ValueError, subprocess.TimeoutExpired):
                pass
            time.sleep(0.2)
        raise RuntimeError("%s: not forwarding after %d s:\n%s" % (self.tag, timeout,
                                                                  tail(self.proc.log_path)))

    def stop(self):
        self.tel.close()


class Gateway(Program):
    name = "qinqgw"

    def __init__(self, tag, work, devargs, mem_args, qinqgw, **kw):
        super().__init__(tag, work, devargs, mem_args, **kw)
        self.bin = qinqgw
        self.stats_bin = os.path.join(os.path.dirname(qinqgw), "qinqgw-stats")
        self.stats_name = self.prefix
        self.report = None
        CLEAN.add("shm " + self.stats_name, self.unlink_shm)

    def unlink_shm(self):
        if os.path.exists("/dev/shm/" + self.stats_name):
            os.unlink("/dev/shm/" + self.stats_name)

    def start(self):
        cfg = os.path.join(self.work, "config.json")
        with open(cfg, "w") as f:
            json.dump(gateway_config(), f, indent=1)
        cmd = [self.bin] + self.eal() + ["--", "--config", cfg, "--stats-name", self.stats_name,
                                         "--ctl-socket", os.path.join(self.work, "ctl.sock")]
        self.out_path = os.path.join(self.work, "stdout")
        self.out_f = open(self.out_path, "w")
        self.proc = spawn(cmd, os.path.join(self.work, "stderr"), stdout=self.out_f)

    def read(self):
        doc = json.loads(run([self.stats_bin, "--stats-name", self.stats_name, "--json"]))
        ports = doc["ports"]
        return Snap(0, sum(p["rx_packets"] for p in ports), sum(p["tx_packets"] for p in ports),
                    sum(p["dropped"] for p in ports),
                    sum(w["busy_cycles"] for w in doc["workers"]),
                    sum(w["rx_packets"] for w in doc["workers"]),
                    {"drops": {"%s.%s" % (p["name"], r): n for p in ports
                               for r, n in p["drops"].items() if n}})

    def stop(self):
        super().stop()
        if self.proc is None:
            return
        rc = reap(self.proc)
        self.out_f.close()
        with open(self.out_path) as f:
            self.report = q.Report(f.read())
        if rc != 0:
            self.notes.append("exit status %d after SIGINT" % rc)
        # accounting: rx(A) = tx(B) + dropped(A) (no ICMP in this traffic)
        names = list(gateway_config()["ports"])
        for a, b in ((0, 1), (1, 0)):
            pa, pb = self.report.ports.get(names[a]), self.report.ports.get(names[b])
            if pa is None or pb is None:
                self.notes.append("no exit report for port %s" % names[a])
                continue
            if pa["rx_pkts"] != pb["tx_pkts"] + pa["dropped"]:
                self.notes.append("accounting: %s rx %d != %s tx %d + dropped %d" % (
                    names[a], pa["rx_pkts"], names[b], pb["tx_pkts"], pa["dropped"]))
            if pa["dropped"]:
                self.notes.append("%s dropped %d: %s" % (names[a], pa["dropped"],
                                                         self.report.port_drops(names[a])))
        for line in tail(self.proc.log_path, 200).splitlines():
            if re.search(r"qinqgw: .*(warn|error|cannot|fail)", line, re.I):
                self.notes.append("log: " + line.strip())


class Console:
    """testpmd's interactive prompt, driven through a pipe."""

    def __init__(self, proc, log_path):
        self.proc = proc
        self.buf = ""
        self.lock = threading.Lock()
        self.log = open(log_path, "w")
        self.th = threading.Thread(target=self._reader, daemon=True)
        self.th.start()

    def _reader(self):
        fd = self.proc.stdout.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            text = chunk.decode(errors="replace")
            with self.lock:
                self.buf += text
            self.log.write(text)
            self.log.flush()

    def mark(self):
        with self.lock:
            return len(self.buf)

    def send(self, line):
        self.proc.stdin.write((line + "\n").encode())
        self.proc.stdin.flush()

    def wait_for(self, pattern, start, timeout=10):
        deadline = time.monotonic() + timeout
        rx = re.compile(pattern)
        while time.monotonic() < deadline:
            with self.lock:
                m = rx.search(self.buf, start)
                if m:
                    return m, self.buf[start:m.end()]
            if self.proc.poll() is not None:
                raise RuntimeError("testpmd exited with %d:\n%s" % (
                    self.proc.returncode, tail(self.proc.log_path) or self.buf[-800:]))
            time.sleep(0.002)
        raise RuntimeError("testpmd: no /%s/ within %.0f s; output ends:\n%s"
                           % (pattern, timeout, self.buf[-800:]))


class TestPmd(Program):
    name = "testpmd"

    def start(self):
        nq = self.workers
        # stdout is a pipe: line-buffer it, or the answers come after the prompt
        cmd = ["stdbuf", "-oL", TESTPMD] + self.eal() + [
            "--", "-i", "--forward-mode=io", "--nb-cores=%d" % self.workers,
            "--rxq=%d" % nq, "--txq=%d" % nq, "--burst=32", "--record-core-cycles",
            "--record-burst-stats", "--total-num-mbufs=16384", "--no-mlockall",
            "--no-flush-rx"]  # the flush would eat a finite pcap before `start`
        self.proc = spawn(cmd, os.path.join(self.work, "stderr"), stdin=subprocess.PIPE,
                          stdout=subprocess.PIPE)
        self.con = Console(self.proc, os.path.join(self.work, "stdout"))
        self.con.wait_for(r"testpmd> ", 0, timeout=40)
        m = self.con.mark()
        self.con.send("start")
        self.con.wait_for(r"testpmd> ", m, timeout=10)

    def read(self):
        m = self.con.mark()
        self.con.send("show fwd stats all")
        _, text = self.con.wait_for(r"testpmd> ", m, timeout=10)
        acc = text[text.find("Accumulated forward statistics"):]
        rx = re.search(r"RX-packets:\s+(\d+)", acc)
        tx = re.search(r"TX-packets:\s+(\d+)\s+TX-dropped:\s+(\d+)", acc)
        if not rx or not tx:
            raise RuntimeError("testpmd: cannot parse fwd stats:\n" + text[-600:])
        cyc = re.search(r"total cycles=(\d+) / total \w+ packets=(\d+)", text)
        return Snap(0, int(rx.group(1)), int(tx.group(1)), int(tx.group(2)),
                    int(cyc.group(1)) if cyc else 0, int(cyc.group(2)) if cyc else 0,
                    {"bursts": re.findall(r"RX-bursts : \d+ \[([^\]]*)\]", text)})

    def stop(self):
        super().stop()
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            self.resume()
            self.con.send("stop")
            self.con.send("quit")
            self.proc.stdin.close()
            self.proc.wait(timeout=20)
        except (OSError, subprocess.TimeoutExpired):
            pass
        rc = reap(self.proc)
        if rc != 0:
            self.notes.append("testpmd exit status %d" % rc)


class Ovs(Program):
    """ovsdb-server and ovs-vswitchd in a private run directory."""

    name = "ovs"

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.run_dir = self.work
        self.bridge = "qgwb%d%s" % (os.getpid() % 100000, self.tag[-1])
        self.env = dict(os.environ, OVS_RUNDIR=self.run_dir, OVS_LOGDIR=self.run_dir,
                        OVS_DBDIR=self.run_dir, OVS_SYSCONFDIR=self.run_dir)
        self.db = "unix:%s/db.sock" % self.run_dir
        self.ctl = os.path.join(self.run_dir, "ovs-vswitchd.ctl")
        self.mgmt = "unix:%s/%s.mgmt" % (self.run_dir, self.bridge)
        self.dbproc = None
        CLEAN.add("tap " + self.bridge, self.remove_tap)

    def remove_tap(self):
        if os.path.exists("/sys/class/net/" + self.bridge):
            subprocess.run(["ip", "link", "del", self.bridge], capture_output=True)

    def vsctl(self, *args):
        return run(["ovs-vsctl", "--db=" + self.db, "--timeout=20"] + list(args), env=self.env,
                   timeout=30)

    def appctl(self, *args):
        return run(["ovs-appctl", "-t", self.ctl, "--timeout=10"] + list(args), env=self.env)

    def start(self):
        conf = os.path.join(self.run_dir, "conf.db")
        run(["ovsdb-tool", "create", conf, OVS_SCHEMA])
        self.dbproc = spawn(["ovsdb-server", conf, "--remote=punix:%s/db.sock" % self.run_dir,
                             "--unixctl=%s/ovsdb-server.ctl" % self.run_dir,
                             "--log-file=%s/ovsdb-server.log" % self.run_dir,
                             "--pidfile=%s/ovsdb-server.pid" % self.run_dir],
                            os.path.join(self.run_dir, "ovsdb-server.err"), env=self.env)
        deadline = time.monotonic() + 10
        while not os.path.exists(os.path.join(self.run_dir, "db.sock")):
            if time.monotonic() > deadline or self.dbproc.poll() is not None:
                raise RuntimeError("ovsdb-server did not start:\n" +
                                   tail(os.path.join(self.run_dir, "ovsdb-server.err")))
            time.sleep(0.05)
        cpus = [c for c in self.lcores.split("-")]
        pmd_mask = 0
        for c in range(int(cpus[0]) + 1, int(cpus[-1]) + 1):
            pmd_mask |= 1 << c
        pmd_core = int(cpus[-1])
        # --legacy-mem: OVS adds --in-memory otherwise, which --no-huge refuses
        extra = " ".join(["--no-pci", "--file-prefix", self.prefix,
                          "--log-level=pmd.net.pcap:warning"] + self.mem_args)
        self.vsctl("--no-wait", "init", "--", "set", "Open_vSwitch", ".",
                   "other_config:dpdk-init=true", "other_config:dpdk-extra=" + extra,
                   "other_config:dpdk-lcore-mask=0x1", "other_config:pmd-cpu-mask=0x%x" % pmd_mask,
                   "other_config:vlan-limit=2")
        self.proc = spawn([OVS_VSWITCHD, self.db, "--unixctl=" + self.ctl,
                           "--log-file=%s/ovs-vswitchd.log" % self.run_dir,
                           "--pidfile=%s/ovs-vswitchd.pid" % self.run_dir],
                          os.path.join(self.run_dir, "ovs-vswitchd.err"), env=self.env)
        self.proc.log_path = os.path.join(self.run_dir, "ovs-vswitchd.log")
        deadline = time.monotonic() + 40
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("ovs-vswitchd exited with %d:\n%s" % (
                    self.proc.returncode, tail(self.proc.log_path)))
            try:
                if self.vsctl("get", "Open_vSwitch", ".", "dpdk_initialized").strip() == "true":
                    break
            except RuntimeError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("OVS: DPDK not initialised after 40 s:\n" +
                                   tail(self.proc.log_path))
            time.sleep(0.2)
        self.vsctl("add-br", self.bridge, "--", "set", "bridge", self.bridge,
                   "datapath_type=netdev", "fail_mode=secure")
        # four devargs: two tx-only ports (added first) and two rx-only ports,
        # so that no frame is received before the port it leaves by exists
        split = len(self.devargs) == 4
        flows = os.path.join(self.run_dir, "flows.txt")
        with open(flows, "w") as f:
            f.write(ovs_flows((3, 4), (1, 2)) if split else ovs_flows())
        deadline = time.monotonic() + 10
        while not os.path.exists(self.mgmt[5:]) and time.monotonic() < deadline:
            time.sleep(0.05)
        run(["ovs-ofctl", "-O", "OpenFlow13", "replace-flows", self.mgmt, flows], env=self.env)
        for group in ((0, 1), (2, 3)) if split else ((0, 1),):
            args = []
            for i in group:
                args += ["--", "add-port", self.bridge, "p%d" % i, "--", "set", "Interface",
                         "p%d" % i, "type=dpdk",
                         "options:dpdk-devargs=net_pcap%d,%s" % (i, self.devargs[i]),
                         "ofport_request=%d" % (i + 1)]
                if self.workers > 1:
                    args += ["options:n_rxq=%d" % self.workers]
                if split and i < 2:
                    # pinning isolates the only PMD: rx ports added next are not polled
                    args += ["other_config:pmd-rxq-affinity=0:%d" % pmd_core]
            self.vsctl(*args)  # returns once ovs-vswitchd has added them
        if split:
            # ofproto knows every port now: let the rx ports be polled
            self.vsctl("set", "Interface", "p2", "other_config:pmd-rxq-affinity=0:%d" % pmd_core,
                       "--", "set", "Interface", "p3",
                       "other_config:pmd-rxq-affinity=0:%d" % pmd_core)
        for i in range(len(self.devargs)):
            err = self.vsctl("get", "Interface", "p%d" % i, "error").strip()
            if err not in ("[]", ""):
                raise RuntimeError("OVS port p%d: %s" % (i, err))

    def read(self):
        text = self.appctl("dpif-netdev/pmd-stats-show")
        pmd = text.split("main thread:")[0]
        rx = sum(int(x) for x in re.findall(r"packets received: (\d+)", pmd))
        cyc = sum(int(x) for x in re.findall(r"processing cycles: (\d+)", pmd))
        upcalls = sum(int(x) for x in re.findall(r"miss with success upcall: (\d+)", pmd))
        ports = run(["ovs-ofctl", "dump-ports", self.mgmt], env=self.env)
        tx = drops = 0
        for m in re.finditer(r"port +(\d+): rx pkts=\d+.*?\n\s+tx pkts=(\d+), bytes=\d+, drop=(\d+)",
                             ports):
            tx += int(m.group(2))
            drops += int(m.group(3))
        return Snap(0, rx, tx, drops, cyc, rx, {"upcalls": upcalls,
                                                "emc_hits": sum(int(x) for x in re.findall(
                                                    r"emc hits: (\d+)", pmd))})

    def stop(self):
        super().stop()
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.resume()
                self.vsctl("--if-exists", "del-br", self.bridge)
                self.appctl("exit", "--cleanup")
                self.proc.wait(timeout=20)
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                self.notes.append("OVS stop: %s" % e)
            reap(self.proc, signal.SIGTERM)
        if self.dbproc is not None:
            reap(self.dbproc, signal.SIGTERM)
        self.remove_tap()


# ------------------------------------------------------------------ phases

def thread_runtimes(pid):
    """Nanoseconds each thread of pid has spent on a CPU (schedstat)."""
    out = {}
    base = "/proc/%d/task" % pid
    try:
        tids = os.listdir(base)
    except OSError:
        return out
    for tid in tids:
        try:
            with open("%s/%s/schedstat" % (base, tid)) as f:
                out[tid] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return out


def cpu_busy():
    """Busy time of each CPU in seconds (/proc/stat, everything but idle
    and iowait)."""
    out = {}
    hz = os.sysconf("SC_CLK_TCK")
    with open("/proc/stat") as f:
        for line in f:
            m = re.match(r"cpu(\d+) (.*)", line)
            if m:
                v = [int(x) for x in m.group(2).split()]
                out[int(m.group(1))] = (sum(v) - v[3] - v[4]) / hz
    return out


def rate(s0, s1, workers=1):
    """Figures of one measurement window. cpu_share: the CPU time the
    busiest `workers` threads (the poll loops) got, as a fraction of the
    window: below 1 when something else ran on their CPU. mpps_per_core:
    the rate scaled to a poll core that had its CPU to itself."""
    dt = s1.t - s0.t
    r = {"mpps": (s1.rx - s0.rx) / dt / 1e6, "seconds": dt,
         "tx_over_rx": (s1.tx - s0.tx) / (s1.rx - s0.rx) if s1.rx > s0.rx else None,
         "drops": s1.drops - s0.drops}
    if s1.cycles is not None and s1.cyc_pkts and s1.cyc_pkts > (s0.cyc_pkts or 0):
        r["cycles_per_pkt"] = (s1.cycles - s0.cycles) / (s1.cyc_pkts - s0.cyc_pkts)
    if s0.pmd_rx is not None and s1.pmd_rx is not None:
        r["pmd_mpps"] = (s1.pmd_rx - s0.pmd_rx) / (s1.pmd_t - s0.pmd_t) / 1e6
    for k in ("upcalls", "emc_hits"):
        if k in s1.extra:
            r[k] = s1.extra[k] - s0.extra.get(k, 0)
    if s1.extra.get("bursts"):
        r["rx_bursts"] = s1.extra["bursts"]
    ran = sorted((s1.threads[t] - s0.threads.get(t, 0) for t in s1.threads), reverse=True)
    if ran:
        r["cpu_share"] = min(1.0, sum(ran[:workers]) / 1e9 / dt / workers)
        if r["cpu_share"] > 0.05:
            r["mpps_per_core"] = r["mpps"] / r["cpu_share"]
    if 1 in s0.cpu_busy and 1 in s1.cpu_busy and workers == 1:
        r["cpu1_others"] = max(0.0, (s1.cpu_busy[1] - s0.cpu_busy[1]) / dt - ran[0] / 1e9 / dt)
    return r


def measure(progs, rounds, warmup, window, deadline, log, res):
    """Interleaved rounds: each program alone on the CPU in turn. Fills
    res[tag] with each window's figures as it goes (kept if interrupted)."""
    for p in progs:
        res[p.tag] = []
    for p in progs:
        p.pause()
    for r in range(rounds):
        if time.monotonic() + len(progs) * (warmup + window + 0.5) > deadline:
            log("  time budget reached after %d rounds" % r)
            break
        for p in list(progs):
            p.resume()
            try:
                time.sleep(warmup)
                s0 = p.snap()
                time.sleep(window)
                s1 = p.snap()
            except (RuntimeError, ValueError, OSError, subprocess.TimeoutExpired) as e:
                log("  %s failed, left out from now on: %s" % (p.tag, e))
                p.notes.append("failed during round %d: %s" % (r + 1, e))
                progs.remove(p)
                continue
            finally:
                if p.proc.poll() is None:
                    p.pause()
            x = rate(s0, s1, p.workers)
            x["round"] = r
            res[p.tag].append(x)
            log("  round %d %-10s %7.3f Mpps  cpu %3.0f%%%s%s" % (
                r + 1, p.tag, x["mpps"], 100 * x.get("cpu_share", 0),
                "  %6.1f cyc/pkt" % x["cycles_per_pkt"] if "cycles_per_pkt" in x else "",
                "  (ethdev %.3f)" % x["pmd_mpps"] if "pmd_mpps" in x else ""))
    for p in progs:
        p.resume()
    return res


def summarize(samples, tsc_hz):
    if not samples:
        return None
    med = statistics.median(x["mpps"] for x in samples)
    out = {"mpps": med, "rounds": [round(x["mpps"], 4) for x in samples],
           "min": min(x["mpps"] for x in samples), "max": max(x["mpps"] for x in samples),
           "cycles_per_pkt_at_rate": tsc_hz / (med * 1e6) if med > 0 else None}
    cyc = [x["cycles_per_pkt"] for x in samples if x.get("cycles_per_pkt")]
    if cyc:
        out["cycles_per_pkt_own"] = statistics.median(cyc)
    pmd = [x["pmd_mpps"] for x in samples if "pmd_mpps" in x]
    if pmd:
        out["ethdev_mpps"] = statistics.median(pmd)
    out["drops"] = sum(x["drops"] for x in samples)
    txr = [x["tx_over_rx"] for x in samples if x["tx_over_rx"] is not None]
    if txr:
        out["tx_over_rx"] = statistics.median(txr)
    for k in ("upcalls", "emc_hits"):
        if any(k in x for x in samples):
            out[k] = sum(x.get(k, 0) for x in samples)
    if samples[-1].get("rx_bursts"):
        out["rx_bursts_since_start"] = samples[-1]["rx_bursts"]
    for k in ("cpu_share", "mpps_per_core", "cpu1_others"):
        v = [x[k] for x in samples if k in x]
        if v:
            out[k] = statistics.median(v)
    v = [x["mpps_per_core"] for x in samples if "mpps_per_core" in x]
    if v:
        out["mpps_per_core_min"], out["mpps_per_core_max"] = min(v), max(v)
    return out


def round_ratios(a, b, per_core=True):
    """Median over rounds of a's rate / b's rate in the same round (per
    poll core when known and asked): robust to load that drifts over the
    run."""
    def per_round(samples):
        return {x["round"]: x.get("mpps_per_core", x["mpps"]) if per_core else x["mpps"]
                for x in samples}
    ra, rb = per_round(a), per_round(b)
    v = [ra[k] / rb[k] for k in ra if k in rb and rb[k] > 0]
    return statistics.median(v) if v else None


def tsc_hz():
    """The TSC rate testpmd reports (MHz), else the CPU's nominal clock."""
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"cpu MHz\s*:\s*([\d.]+)", f.read())
        return float(m.group(1)) * 1e6
    except (OSError, AttributeError):
        return 0.0


def ovs_mem_args(mem_args):
    """OVS adds --in-memory unless told --legacy-mem, and EAL refuses
    --in-memory with --no-huge (which implies legacy memory)."""
    return mem_args + (["--legacy-mem"] if "--no-huge" in mem_args else [])


def devargs_for(pcaps, uni, queues=1):
    d0 = ",".join(["rx_pcap=" + pcaps[0]] * queues + ["infinite_rx=1"])
    if uni:
        d1 = ",".join(["rx_pcap=" + pcaps[2]] * queues)
    else:
        d1 = ",".join(["rx_pcap=" + pcaps[1]] * queues + ["infinite_rx=1"])
    return [d0, d1]


def check_outputs(args, work, mem_args, apps, log):
    """Each program forwards the IMIX frames once into pcap files: qinqgw's
    and OVS's output must be the frames the spec gives, testpmd's its input,
    byte for byte and in order.

    OVS would drop what it receives while its ports are still being added
    (output to a port not there yet; upcalls failing while ofproto does not
    know the in_port yet: `datapath_drop_upcall_error`). So it gets four
    ports: two tx-only ones pinned to the PMD (which isolates it), then two
    rx-only ones, not polled until they are pinned too, after ofproto has
    them all (see Ovs.start).
    """
    cdir = os.path.join(work, "check")
    os.makedirs(cdir)
    ins = [make_frames("imix", p) for p in range(2)]
    paths = [os.path.join(cdir, "in%d.pcap" % p) for p in range(2)]
    for p in range(2):
        q.write_pcap(paths[p], ins[p])
    empty = os.path.join(cdir, "empty.pcap")
    q.write_pcap(empty, [])
    model = q.Model(gateway_config())
    rewritten = [[model.verdict(1 - o, fr).frame for fr in ins[1 - o]] for o in range(2)]
    expect = {"qinqgw": rewritten, "ovs": rewritten, "testpmd": [ins[1], ins[0]]}
    result = {}
    progs = []
    for a in apps:
        outs = [os.path.join(cdir, "%s-out%d.pcap" % (a, p)) for p in range(2)]
        if a == "ovs":
            dev = ["rx_pcap=%s,tx_pcap=%s" % (empty, outs[p]) for p in range(2)] + \
                ["rx_pcap=%s" % paths[p] for p in range(2)]
        else:
            dev = ["rx_pcap=%s,tx_pcap=%s" % (paths[p], outs[p]) for p in range(2)]
        cls = {"qinqgw": Gateway, "testpmd": TestPmd, "ovs": Ovs}[a]
        kw = {"qinqgw": args.qinqgw} if a == "qinqgw" else {}
        prog = cls("chk-" + a, work, dev, ovs_mem_args(mem_args) if a == "ovs" else mem_args, **kw)
        prog.outs = outs
        prog.app = a
        progs.append(prog)
    started = []
    try:
        for prog in progs:
            try:
                prog.start()
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                result[prog.app] = {"ok": False, "first": "could not run: %s" % e}
                log("check %-8s could not run: %s" % (prog.app, e))
                prog.stop()
                continue
            started.append(prog)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if prog.read().rx >= 2 * NB_FRAMES:
                        break
                except (RuntimeError, ValueError, subprocess.TimeoutExpired):
                    pass
                time.sleep(0.2)
            time.sleep(0.3)
    finally:
        for prog in progs:
            prog.stop()
    for prog in started:
        a = prog.app
        try:
            got = [q.read_pcap(o) for o in prog.outs]
        except (OSError, ValueError) as e:
            result[a] = {"ok": False, "first": str(e)}
            continue
        bad, first = 0, None
        for o in range(2):
            exp = expect[a][o]
            if len(got[o]) != len(exp):
                bad += abs(len(got[o]) - len(exp))
                first = first or "port %d: %d frames out, %d expected" % (o, len(got[o]), len(exp))
            for i, (g, e) in enumerate(zip(got[o], exp)):
                if g != e:
                    bad += 1
                    first = first or "port %d frame %d:\n%s" % (o, i, q.frame_diff(e, g))
        result[a] = {"ok": bad == 0, "frames": sum(len(g) for g in got), "wrong": bad,
                     "first": first, "notes": prog.notes}
        log("check %-8s %s (%d frames out%s)" % (a, "byte-exact" if bad == 0 else "WRONG",
                                                  result[a]["frames"],
                                                  "" if bad == 0 else ", %d wrong: %s" % (bad, first)))
    return result


def summarize_phase(ph, progs, res, hz):
    for pr in progs:
        ph["results"][pr.app] = summarize(res.get(pr.tag), hz)
    r = ph["results"]
    by_app = {pr.app: res.get(pr.tag) or [] for pr in progs}
    for other in ("testpmd", "ovs"):
        k = "qinqgw/" + other
        ph["ratios"][k] = round_ratios(by_app.get("qinqgw", []), by_app.get(other, []))
        ph["ratios"][k + " (raw medians)"] = ratio(
            (r.get("qinqgw") or {}).get("mpps"), (r.get(other) or {}).get("mpps"))


# ------------------------------------------------------------------ output

def ratio(a, b):
    return a / b if a and b else None


def fmt(v, f="%.2f"):
    return f % v if v is not None else "-"


def write_outputs(out_dir, doc, log):
    os.makedirs(out_dir, exist_ok=True)
    jpath = os.path.join(out_dir, "ethdev-bench.json")
    with open(jpath, "w") as f:
        json.dump(doc, f, indent=1)
    md = ["# qinqgw through ethdev: qinqgw, testpmd io, OVS-DPDK", "",
          "%s, %s, %d rounds x %.1f s window (%.1f s warm-up), medians; "
          "one poll-mode core each (CPU 1), net_pcap infinite_rx -> tx_drop, %s." % (
              doc["date"], doc["cpu"], doc["rounds"], doc["window"], doc["warmup"],
              doc["memory"]), ""]
    if doc.get("check"):
        md += ["Output check (IMIX frames through each program into pcap files): " +
               ", ".join("%s %s" % (a, "byte-exact, in order" if c["ok"] else
                                    "WRONG (%s)" % c.get("first"))
                         for a, c in doc["check"].items()), ""]
    md += ["| frames | dir | qinqgw Mpps | testpmd Mpps | OVS Mpps | qinqgw/testpmd | qinqgw/OVS "
           "| poll CPU % q/t/o | cyc/pkt qinqgw | testpmd | OVS |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for ph in doc["phases"]:
        r, rt = ph["results"], ph["ratios"]

        def g(a, k="mpps", f="%.2f"):
            return fmt((r.get(a) or {}).get(k), f)

        def cyc(a):
            v = (r.get(a) or {}).get("mpps_per_core") or (r.get(a) or {}).get("mpps")
            return fmt(doc["tsc_hz"] / (v * 1e6) if v else None, "%.0f")
        md.append("| %s | %s | %s | %s | %s | %s (%s) | %s (%s) | %s/%s/%s | %s | %s | %s |" % (
            ph["size"], ph["dir"], g("qinqgw"), g("testpmd"), g("ovs"),
            fmt(rt.get("qinqgw/testpmd")), fmt(rt.get("qinqgw/testpmd (raw medians)")),
            fmt(rt.get("qinqgw/ovs")), fmt(rt.get("qinqgw/ovs (raw medians)")),
            g("qinqgw", "cpu_share", "%.2f"), g("testpmd", "cpu_share", "%.2f"),
            g("ovs", "cpu_share", "%.2f"), cyc("qinqgw"), cyc("testpmd"), cyc("ovs")))
    md += ["", "Mpps: median of the rounds, as measured. Ratios: median over rounds of the "
           "two programs' rates in the same round, each divided by the CPU share its poll "
           "thread got in its window (in parentheses: ratio of the raw medians). Poll CPU: "
           "median share of its window the poll thread was on CPU 1 (1.00 = alone). "
           "cyc/pkt: TSC cycles (%.0f MHz) per frame at the per-core rate. The programs' own "
           "figures (qinqgw busy cycles / packets, testpmd --record-core-cycles, OVS "
           "pmd-stats-show processing cycles) are `cycles_per_pkt_own` in the JSON."
           % (doc["tsc_hz"] / 1e6), ""]
    if doc.get("scaling"):
        s = doc["scaling"]
        md += ["Scaling (64 B, bi, net_pcap with 2 rx queues per port; 2 workers = CPU 0 + CPU 1, "
               "CPU 0 shared with the control plane):", "",
               "| program | 1 worker Mpps | 2 workers Mpps | 2w/1w per round | same, per core "
               "| poll CPU share 1w / 2w |", "|---|---|---|---|---|---|"]
        for a, two_tag in (("qinqgw", "-2w"), ("testpmd", "-2w"),
                           ("qinqgw", "-2w1cpu")):
            one, two = s["results"].get(a + "-1w") or {}, s["results"].get(a + two_tag) or {}
            if not two:
                continue
            rr = s.get("ratios", {}).get(a + two_tag, {})
            md.append("| %s | %s | %s | %s | %s | %s / %s |" % (
                a + (" (2 workers on CPU 1 alone)" if two_tag == "-2w1cpu" else ""),
                fmt(one.get("mpps")), fmt(two.get("mpps")), fmt(rr.get("raw")),
                # per core means nothing when the two workers share one CPU
                fmt(rr.get("per_core") if two_tag == "-2w" else None),
                fmt(one.get("cpu_share")), fmt(two.get("cpu_share"))))
        md.append("")
    if doc.get("notes"):
        md += ["Notes:", ""] + ["- " + n for n in doc["notes"]] + [""]
    mpath = os.path.join(out_dir, "ethdev-bench.md")
    with open(mpath, "w") as f:
        f.write("\n".join(md))
    ppath = os.path.join(out_dir, "ethdev-bench.png")
    try:
        if not doc["phases"]:
            raise RuntimeError("nothing measured")
        plot(doc, ppath)
    except Exception as e:  # the figures are in the JSON and markdown anyway
        log("no plot: %s" % e)
        ppath = None
    return jpath, mpath, ppath


def plot(doc, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    dirs = [d for d in ("bi", "uni") if any(ph["dir"] == d for ph in doc["phases"])]
    fig, axes = plt.subplots(1, len(dirs), figsize=(5.5 * len(dirs), 4.2), squeeze=False)
    colors = {"qinqgw": "#1f77b4", "testpmd": "#7f7f7f", "ovs": "#ff7f0e"}
    for ax, d in zip(axes[0], dirs):
        phs = [ph for ph in doc["phases"] if ph["dir"] == d]
        sizes = [ph["size"] for ph in phs]
        apps = [a for a in ("qinqgw", "testpmd", "ovs") if any(a in ph["results"] for ph in phs)]
        w = 0.8 / max(1, len(apps))
        for k, a in enumerate(apps):
            res = [ph["results"].get(a) or {} for ph in phs]
            ys = [r.get("mpps_per_core") or r.get("mpps") or 0 for r in res]
            lo = [y - (r.get("mpps_per_core_min") or r.get("min") or y) for y, r in zip(ys, res)]
            hi = [(r.get("mpps_per_core_max") or r.get("max") or y) - y for y, r in zip(ys, res)]
            xs = [i + (k - (len(apps) - 1) / 2) * w for i in range(len(phs))]
            ax.bar(xs, ys, w, yerr=[lo, hi], capsize=3, label=PAPER[a], color=colors[a])
            for x, y in zip(xs, ys):
                ax.annotate("%.2f" % y, (x, y), ha="center", va="bottom", fontsize=7,
                            xytext=(0, 2), textcoords="offset points")
        ax.set_xticks(range(len(phs)))
        ax.set_xticklabels(["%s B" % s if s != "imix" else "IMIX 7:4:1" for s in sizes])
        ax.set_ylabel("Mpps per poll core (median of rounds; bars min..max)")
        ax.set_title("%s direction%s" % (d, "s" if d == "bi" else ""))
        ax.legend(fontsize=8)
    fig.suptitle("QinQ 1:1 translate through net_pcap vdevs, %s, %s" % (doc["memory"], doc["date"]),
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------ hugepages

class Hugepages:
    """A temporary reservation of 2 MiB pages on a private hugetlbfs mount."""

    NR = "/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"

    def __init__(self, mb, work):
        self.pages = (mb + 1) // 2
        self.mount = os.path.join(work, "huge")
        with open(self.NR) as f:
            self.before = int(f.read())
        with open(self.NR, "w") as f:
            f.write(str(self.before + self.pages))
        CLEAN.add("hugepages", self.release)
        with open(self.NR) as f:
            got = int(f.read()) - self.before
        if got < self.pages:
            raise RuntimeError("asked for %d hugepages, got %d" % (self.pages, got))
        os.makedirs(self.mount)
        subprocess.run(["mount", "-t", "hugetlbfs", "-o", "pagesize=2M", "nodev", self.mount],
                       check=True)
        self.mounted = True

    def release(self):
        if getattr(self, "mounted", False):
            subprocess.run(["umount", self.mount], check=False)
            self.mounted = False
        with open(self.NR) as f:
            now = int(f.read())
        # give back ours only; someone else may have changed it meanwhile
        with open(self.NR, "w") as f:
            f.write(str(max(0, now - self.pages)))


# ------------------------------------------------------------------ main

def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qinqgw", default=os.path.join(here, "..", "..", "build", "app", "qinqgw"))
    ap.add_argument("--out", default=None, help="result directory (default: the build dir)")
    ap.add_argument("--sizes", default="64,imix,1518")
    ap.add_argument("--dirs", default="bi,uni")
    ap.add_argument("--apps", default="qinqgw,testpmd,ovs")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--window", type=float, default=2.0)
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--hugepages", type=int, default=512, metavar="MB",
                    help="2 MiB hugepages reserved per program for the run (default 512)")
    ap.add_argument("--no-huge", action="store_true",
                    help="run the programs with --no-huge -m 1024 (4 KiB pages) instead")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--no-check", action="store_true")
    ap.add_argument("--max-seconds", type=float, default=600)
    ap.add_argument("--keep", action="store_true", help="keep the work directory (logs)")
    args = ap.parse_args()
    args.qinqgw = os.path.abspath(args.qinqgw)
    out_dir = os.path.abspath(args.out or os.path.dirname(os.path.dirname(args.qinqgw)))
    apps = [a for a in args.apps.split(",") if a]
    t_start = time.monotonic()
    deadline = t_start + args.max_seconds

    def log(msg):
        print("[%5.1f] %s" % (time.monotonic() - t_start, msg), flush=True)

    if os.geteuid() != 0:
        print("ethdev_bench: run as root (DPDK vdevs, OVS)", file=sys.stderr)
        return 2
    if not os.access(args.qinqgw, os.X_OK):
        print("ethdev_bench: no qinqgw at %s (--qinqgw)" % args.qinqgw, file=sys.stderr)
        return 2
    notes = []
    for a, path in (("testpmd", TESTPMD), ("ovs", OVS_VSWITCHD)):
        if a in apps and not os.access(path, os.X_OK):
            notes.append("%s not run: %s missing (apt-get install %s)" % (
                a, path, "dpdk-dev" if a == "testpmd" else "openvswitch-switch-dpdk"))
            apps.remove(a)
    if os.cpu_count() < 2:
        print("ethdev_bench: needs 2 CPUs", file=sys.stderr)
        return 2

    def on_signal(sig, _frame):
        raise KeyboardInterrupt("signal %d" % sig)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGINT too: may be ignored
        signal.signal(sig, on_signal)
    signal.signal(signal.SIGALRM, on_signal)
    signal.alarm(int(args.max_seconds) + 120)  # a watchdog, should anything hang
    pin_cpu0()

    work = tempfile.mkdtemp(prefix="qgweb_")
    if not args.keep:
        CLEAN.add("work dir", lambda: shutil.rmtree(work, ignore_errors=True))
    hz = tsc_hz()
    doc = {"date": time.strftime("%Y-%m-%d %H:%M"), "cpu": "", "tsc_hz": hz,
           "rounds": args.rounds, "window": args.window, "warmup": args.warmup,
           "frames_per_port": NB_FRAMES, "flows": NB_FLOWS, "phases": [], "notes": notes}
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            doc["cpu"] = "%s, %d CPUs" % (m.group(1).strip() if m else "?", os.cpu_count())
        if not args.no_huge:
            try:
                # at most 5 programs at once (scaling), and one spare
                Hugepages(args.hugepages * (max(len(apps), 0 if args.no_scaling else 5) + 1),
                          work)
            except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
                notes.append("no hugepages (%s): ran with --no-huge" % e)
                args.no_huge = True
        if not args.no_huge:
            mem_args = ["--huge-dir", os.path.join(work, "huge"), "--socket-mem",
                        str(args.hugepages), "--huge-unlink"]
            doc["memory"] = "hugepages (2 MiB, %d MB per program)" % args.hugepages
        else:
            mem_args = ["--no-huge", "-m", "1024"]
            doc["memory"] = "--no-huge -m 1024"
        log("work dir %s; programs %s; %s" % (work, ",".join(apps), doc["memory"]))

        if not args.no_check:
            doc["check"] = check_outputs(args, work, mem_args, apps, log)
            for a, c in doc["check"].items():
                for n in c.get("notes", []):
                    notes.append("check %s: %s" % (a, n))

        phases = [(s, d) for d in args.dirs.split(",") for s in args.sizes.split(",")]
        for n, (size, d) in enumerate(phases):
            per_phase = (args.rounds * len(apps) * (args.warmup + args.window + 0.5) + 15)
            if time.monotonic() + per_phase > deadline:
                notes.append("stopped before %s/%s: --max-seconds %.0f" % (size, d,
                                                                         args.max_seconds))
                break
            pdir = os.path.join(work, "%s-%s" % (size, d))
            os.makedirs(pdir)
            pcaps = [os.path.join(pdir, "in0.pcap"), os.path.join(pdir, "in1.pcap"),
                     os.path.join(pdir, "empty.pcap")]
            for p in range(2):
                q.write_pcap(pcaps[p], make_frames(size, p))
            q.write_pcap(pcaps[2], [])
            dev = devargs_for(pcaps, d == "uni")
            log("phase %s B %s: starting %s" % (size, d, ", ".join(apps)))
            progs, res = [], {}
            ph = {"size": size, "dir": d, "results": {}, "ratios": {}, "notes": []}
            try:
                for a in apps:
                    if a == "qinqgw":
                        pr = Gateway(a + str(n), pdir, dev, mem_args, args.qinqgw)
                    elif a == "testpmd":
                        pr = TestPmd(a + str(n), pdir, dev, mem_args)
                    else:
                        pr = Ovs(a + str(n), pdir, dev, ovs_mem_args(mem_args))
                    pr.app = a
                    try:
                        pr.start()
                        pr.wait_forwarding()
                        pr.pause()
                        progs.append(pr)
                    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                        ph["notes"].append("%s could not run: %s" % (a, e))
                        log("  %s could not run: %s" % (a, e))
                        pr.stop()
                measure(progs, args.rounds, args.warmup, args.window, deadline, log, res)
            finally:
                for pr in progs:
                    pr.stop()
                    ph["notes"] += ["%s: %s" % (pr.app, x) for x in pr.notes]
                summarize_phase(ph, progs, res, hz)
                if any(ph["results"].values()):
                    doc["phases"].append(ph)
                notes += ["%s/%s %s" % (size, d, x) for x in ph["notes"]]
            r = ph["results"]
            log("  median Mpps: %s; per round, per core: qinqgw/testpmd %s, qinqgw/ovs %s" % (
                ", ".join("%s %.3f" % (a, v["mpps"]) for a, v in r.items() if v),
                fmt(ph["ratios"]["qinqgw/testpmd"]), fmt(ph["ratios"]["qinqgw/ovs"])))
            if not args.keep:
                shutil.rmtree(pdir, ignore_errors=True)

        if not args.no_scaling and time.monotonic() + 5 * args.rounds * (
                args.warmup + args.window + 0.5) + 10 < deadline:
            sdir = os.path.join(work, "scaling")
            os.makedirs(sdir)
            pcaps = [os.path.join(sdir, "in0.pcap"), os.path.join(sdir, "in1.pcap"), None]
            for p in range(2):
                q.write_pcap(pcaps[p], make_frames("64", p))
            dev = devargs_for(pcaps, False, queues=2)
            log("scaling: 64 B bi, 1 worker (CPU 1) vs 2 workers (CPU 0 + 1)")
            progs, res = [], {}
            sc = {"results": {}, "notes": [], "ratios": {}}
            try:
                for a in ("qinqgw", "testpmd"):
                    if a not in apps:
                        continue
                    # 2w1cpu: two workers time-sharing CPU 1, which is not scaling
                    for tag, nw, lc in (("1w", 1, "0-1"), ("2w", 2, "0@0,1@0,2@1"),
                                        ("2w1cpu", 2, "0@0,1@1,2@1")):
                        if tag == "2w1cpu" and a != "qinqgw":
                            continue
                        tag = "%s-%s" % (a, tag)
                        if a == "qinqgw":
                            pr = Gateway(tag, sdir, dev, mem_args, args.qinqgw, lcores=lc,
                                         workers=nw)
                        else:
                            pr = TestPmd(tag, sdir, dev, mem_args, lcores=lc, workers=nw)
                        pr.app = tag
                        pr.start()
                        pr.wait_forwarding()
                        pr.pause()
                        progs.append(pr)
                measure(progs, args.rounds, args.warmup, args.window, deadline, log, res)
            finally:
                for pr in progs:
                    pr.stop()
                    sc["notes"] += ["%s: %s" % (pr.app, x) for x in pr.notes]
                for pr in progs:
                    sc["results"][pr.app] = summarize(res.get(pr.tag), hz)
                for a, two_tag in (("qinqgw", "-2w"), ("testpmd", "-2w"),
                                   ("qinqgw", "-2w1cpu")):
                    one, two = res.get(a + "-1w"), res.get(a + two_tag)
                    if one and two:
                        sc["ratios"][a + two_tag] = {"raw": round_ratios(two, one, False),
                                                     "per_core": round_ratios(two, one)}
                if any(sc["results"].values()):
                    doc["scaling"] = sc
                notes += ["scaling %s" % x for x in sc["notes"]]
            log("  scaling medians: %s" % ", ".join(
                "%s %.3f" % (k, v["mpps"]) for k, v in sc["results"].items() if v))
        elif not args.no_scaling:
            notes.append("scaling not run: --max-seconds %.0f" % args.max_seconds)
    except KeyboardInterrupt as e:
        notes.append("interrupted (%s): partial results" % (e or "^C"))
        log("interrupted; cleaning up")
    except Exception as e:  # report what was measured, then the error
        notes.append("aborted: %s: %s" % (type(e).__name__, e))
        log("aborted: %s: %s" % (type(e).__name__, e))
        import traceback
        traceback.print_exc()
    finally:
        CLEAN.run()
    doc["seconds"] = round(time.monotonic() - t_start, 1)
    paths = write_outputs(out_dir, doc, log)
    log("wrote %s" % ", ".join(p for p in paths if p))
    with open(paths[1]) as f:
        print(f.read())
    if args.keep:
        print("# work directory kept: %s" % work)
    return 0


if __name__ == "__main__":
    sys.exit(main())
