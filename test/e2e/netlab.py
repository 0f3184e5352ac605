"""Harness of the e2e suite: two hosts with real kernel TCP stacks joined
through the real qinqgw by QinQ segments built from veths, bridges and taps.

  netns A       netns SW (switches and the gateway)                        netns B
  a0 ==veth== a1 -[br_a]- tap0 =qinqgw= tap1 -[br_b]- h1 ==hop== h0 -[br_bh]- b1 ==veth== b0
  198.18.0.1  segment A: 0x88a8/100 . 0x8100/200   segment B: 0x8100/300 . 0x8100/200  198.18.0.2

The kernel has no 8021q, so a tc clsact BPF program on each host veth
(tag.bpf.c) pushes the customer's C-tag 0x8100/200 and the segment's S-tag
on egress, and checks and pops both on ingress (anything else is dropped).
qinqgw runs inside SW on two net_tap ports (ports twaren and ccx); each tap
joins its segment's bridge once the gateway has created it. Nothing is
added to the root namespace. h0/h1 is segment B's "1500 + one tag" hop,
remote from both hosts and from the gateway, as in the incident.

How a veth counts size (measured on this kernel, 6.x, one-way, x0 pushing
both tags with tx VLAN offload off, x1 MTU M; "frame" = bytes on the wire
without FCS, both tags included):
    M = 1499: 1517 passes, 1518 dropped        M = 1503: 1519 passes, 1522 dropped
    M = 1500: 1518 passes, 1519 dropped        M = 1504: 1522 passes
    x0 txvlan on (outer tag kept in skb metadata): M = 1499 passes 1521,
    drops 1522; M = 1500 passes 1522.
So a veth hands a frame to its peer only if skb->len <= peer MTU + 14 + 4
(is_skb_forwardable(): one VLAN header of allowance), and a tag held in the
skb's VLAN metadata (tx VLAN offload on, or the receive path, which always
moves a received frame's outermost tag there) is not part of skb->len, so it
escapes the check. A drop is counted only as tx_dropped of the sending veth
and rx_dropped of its peer (ip -s link), never on the sending host's IP
layer beyond a local ENOBUFS when the sender is that host itself. Hence:
  - a0, b0 (hosts): MTU 1500, the hosts believe 1500; txvlan and
    tx-vlan-stag-hw-insert off, so both pushed tags are in the frame when
    the peer checks it: a 1500-byte IP packet is a 1522-byte frame;
  - a1, b1: MTU 1504, the smallest that takes 1522-byte frames from the host
    (1503 drops them); txvlan left on, so towards the host the outer tag
    stays in metadata and 1522-byte frames pass the host's 1500 + 18;
  - h0, h1: MTU 1500, txvlan off on both ends, so each end writes the outer
    tag into the frame before the other end's check: the hop carries at most
    1500 + 14 + 4 = 1518 bytes, i.e. 1496 bytes of IP double-tagged, in both
    directions, and drops the rest silently (txvlan on at the sending end
    would let 1522 bytes through: one tag would escape the check);
  - tso, gso, gro off on every veth: super-packets skip the size check
    (skb_is_gso() passes is_skb_forwardable()) and would hide the stall.
The bridges (egress port MTU + 18, outer tag in metadata) and the taps (left
at MTU 1500 by net_tap) never limit anything here: segment A carries
1522-byte frames both ways.
"""
import json
import os
import select
import shutil
import signal
import subprocess
import time

HOST_A_IP = "198.18.0.1"
HOST_B_IP = "198.18.0.2"
C_TAG = (0x8100, 200)
S_TAG_A = (0x88A8, 100)
S_TAG_B = (0x8100, 300)
TAP_A = "qgwtap0"
TAP_B = "qgwtap1"

# MTUs of the segment devices (see the module comment for why)
MTU_HOST = 1500          # a0, b0: what the hosts believe
MTU_A1 = MTU_B1 = 1504   # switch ends of the host veths: take 1522-byte frames
MTU_HOP = 1500           # h0, h1: segment B's "1500 + one tag" hop
NO_SEGMENTATION = ["tso", "off", "gso", "off", "gro", "off"]

TOOLS = ("ip", "tc", "ethtool", "clang", "tcpdump", "socat", "ping", "ss",
         "/usr/sbin/sshd", "ssh", "ssh-keygen", "sysctl")


def which(tool):
    if os.path.isabs(tool):
        return tool if os.access(tool, os.X_OK) else None
    return shutil.which(tool, path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin")


class LabError(Exception):
    pass


# ------------------------------------------------------------- processes

_procs = []     # every Popen this module started, for cleanup
_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """In the child before exec: SIGTERM when the suite dies, even by
    SIGKILL (ip netns exec keeps it across its exec). sshd's per-connection
    children do not inherit it: Lab.cleanup and remove_stale() end those."""
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def popen(cmd, **kw):
    p = subprocess.Popen(cmd, preexec_fn=_die_with_parent, **kw)
    _procs.append(p)
    return p


def stop_proc(p, sig=signal.SIGTERM, grace=3.0):
    """Stop one process we started (by its pid, never by name)."""
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(sig)
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        p.kill()
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    except ProcessLookupError:
        pass


def stop_all_procs():
    while _procs:
        stop_proc(_procs.pop())


def run(cmd, ns=None, check=True, timeout=15, input=None):
    """Run a command (in netns `ns`), return CompletedProcess (text)."""
    if ns is not None:
        cmd = ["ip", "netns", "exec", ns] + cmd
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                           input=input)
    except subprocess.TimeoutExpired:
        raise LabError("timeout after %ss: %s" % (timeout, " ".join(cmd)))
    except FileNotFoundError as e:
        raise LabError("cannot run %s: %s" % (cmd[0], e))
    if check and r.returncode != 0:
        raise LabError("%s: exit %d: %s" % (" ".join(cmd), r.returncode,
                                            (r.stderr or r.stdout).strip()[-500:]))
    return r


def ns_cmd(ns, cmd):
    return ["ip", "netns", "exec", ns] + cmd


def compile_bpf(src, out):
    """clang -O2 -target bpf; the multiarch include dir gives <asm/types.h>."""
    inc = []
    try:
        ma = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True,
                            timeout=10).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        ma = ""
    for d in (ma, "x86_64-linux-gnu", "aarch64-linux-gnu"):
        if d and os.path.isdir("/usr/include/" + d):
            inc = ["-I/usr/include/" + d]
            break
    run(["clang", "-O2", "-g", "-target", "bpf"] + inc + ["-c", src, "-o", out], timeout=60)


# ------------------------------------------------------------- the lab

class Lab:
    """One topology (three namespaces) and at most one gateway run on it."""

    def __init__(self, tag, workdir, bpf_obj):
        base = "qgwe2e_%d_%s" % (os.getpid(), tag)
        self.ns_a, self.ns_b, self.ns_sw = base + "_a", base + "_b", base + "_sw"
        self.tag = tag
        self.workdir = workdir
        self.bpf_obj = bpf_obj
        self.gw = None
        self.stats_name = None
        self.created = []

    # -- setup
    def setup(self):
        for ns in (self.ns_a, self.ns_b, self.ns_sw):
            run(["ip", "netns", "add", ns])
            self.created.append(ns)
            # no IPv6 (router/multicast chatter would cross the gateway)
            run(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                 "net.ipv6.conf.default.disable_ipv6=1"], ns=ns)
            run(["ip", "link", "set", "lo", "up"], ns=ns)
        for ns in (self.ns_a, self.ns_b):
            # no black-hole detection (it would end the stall after minutes),
            # PMTU discovery on, the default
            run(["sysctl", "-qw", "net.ipv4.tcp_mtu_probing=0",
                 "net.ipv4.ip_no_pmtu_disc=0"], ns=ns)
        host_feat = ["txvlan", "off", "tx-vlan-stag-hw-insert", "off"] + NO_SEGMENTATION
        hop_feat = ["txvlan", "off", "tx-vlan-stag-hw-insert", "off"] + NO_SEGMENTATION
        sw = self.ns_sw
        # (end, netns, MTU, ethtool -K settings) for each veth pair
        pairs = [(("a0", self.ns_a, MTU_HOST, host_feat), ("a1", sw, MTU_A1, NO_SEGMENTATION)),
                 (("b0", self.ns_b, MTU_HOST, host_feat), ("b1", sw, MTU_B1, NO_SEGMENTATION)),
                 (("h0", sw, MTU_HOP, hop_feat), ("h1", sw, MTU_HOP, hop_feat))]
        for (n1, ns1, m1, f1), (n2, ns2, m2, f2) in pairs:
            run(["ip", "link", "add", n1, "netns", ns1, "mtu", str(m1), "type", "veth",
                 "peer", "name", n2, "netns", ns2, "mtu", str(m2)])
            for n, ns, f in ((n1, ns1, f1), (n2, ns2, f2)):
                run(["ethtool", "-K", n] + f, ns=ns)
                want = {"tcp-segmentation-offload": "off", "generic-segmentation-offload": "off",
                        "generic-receive-offload": "off"}
                if "txvlan" in f:
                    want.update({"tx-vlan-offload": "off", "tx-vlan-stag-hw-insert": "off"})
                self.check_features(ns, n, want)
        for side, ns, h, ip in (("a", self.ns_a, "a0", HOST_A_IP),
                                ("b", self.ns_b, "b0", HOST_B_IP)):
            run(["ip", "addr", "add", ip + "/24", "dev", h], ns=ns)
            run(["tc", "qdisc", "add", "dev", h, "clsact"], ns=ns)
            for d in ("egress", "ingress"):
                run(["tc", "filter", "add", "dev", h, d, "bpf", "da", "obj", self.bpf_obj,
                     "sec", "%s_%s" % (d, side)], ns=ns)
            run(["ip", "link", "set", h, "up"], ns=ns)
        # the taps join br_a and br_b when the gateway has created them
        for br, members in (("br_a", ["a1"]), ("br_b", ["h1"]), ("br_bh", ["b1", "h0"])):
            # no snooping: a snooping bridge joins 224.0.0.106 and sends IGMP
            # reports into the segment (untagged, the gateway drops them)
            run(["ip", "link", "add", br, "type", "bridge", "stp_state", "0",
                 "mcast_snooping", "0"], ns=sw)
            for m in members:
                run(["ip", "link", "set", m, "master", br, "up"], ns=sw)
            run(["ip", "link", "set", br, "up"], ns=sw)

    def check_features(self, ns, dev, want):
        out = run(["ethtool", "-k", dev], ns=ns).stdout
        have = {}
        for line in out.splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                have[k.strip()] = v.split()[0] if v.split() else ""
        bad = ["%s=%s" % (k, have.get(k)) for k, v in want.items() if have.get(k) != v]
        if bad:
            raise LabError("%s: features not as wanted: %s" % (dev, ", ".join(bad)))

    def link_stats(self, ns, dev):
        """(rx_packets, rx_dropped, tx_packets, tx_dropped) of a device."""
        j = json.loads(run(["ip", "-s", "-j", "link", "show", dev], ns=ns).stdout)[0]
        s = j["stats64"]
        return {"rx_packets": s["rx"]["packets"], "rx_dropped": s["rx"]["dropped"],
                "tx_packets": s["tx"]["packets"], "tx_dropped": s["tx"]["dropped"]}

    def mtu(self, ns, dev):
        return json.loads(run(["ip", "-j", "link", "show", dev], ns=ns).stdout)[0]["mtu"]

    # -- gateway
    def start_gateway(self, qinqgw, stats_bin, config, timeout=30):
        """Start qinqgw in SW on two taps, enslave the taps, wait until the
        stats segment says running. Raises LabError with the gateway's
        stderr on failure."""
        self.stats_name = "qgwe2e_%d_%s" % (os.getpid(), self.tag)
        self.stats_bin = stats_bin
        cfg = os.path.join(self.workdir, "config-%s.json" % self.tag)
        with open(cfg, "w") as f:
            json.dump(config, f, indent=1)
        self.gw_out = open(os.path.join(self.workdir, "gw-%s.stdout" % self.tag), "w+")
        self.gw_err = open(os.path.join(self.workdir, "gw-%s.stderr" % self.tag), "w+")
        cmd = [qinqgw, "-l", "0-1", "-m", "512", "--no-huge", "--no-pci",
               "--file-prefix", self.stats_name,
               "--vdev", "net_tap0,iface=" + TAP_A, "--vdev", "net_tap1,iface=" + TAP_B,
               "--", "--config", cfg, "--stats-name", self.stats_name]
        with open(os.path.join(self.workdir, "gw-%s.command" % self.tag), "w") as f:
            f.write(" ".join(ns_cmd(self.ns_sw, cmd)) + "\n")
        self.gw = popen(ns_cmd(self.ns_sw, cmd), stdout=self.gw_out, stderr=self.gw_err,
                        stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        pending = {TAP_A: "br_a", TAP_B: "br_b"}
        state = None
        while True:
            if self.gw.poll() is not None:
                raise LabError("qinqgw exited with %d at start: %s"
                               % (self.gw.returncode, self.gw_tail()))
            if time.monotonic() > deadline:
                raise LabError("qinqgw not running after %ds (taps pending %s, state %s): %s"
                               % (timeout, sorted(pending), state, self.gw_tail()))
            for tap, br in list(pending.items()):
                if run(["ip", "link", "show", tap], ns=self.ns_sw, check=False).returncode == 0:
                    r = run(["ip", "link", "set", tap, "master", br, "up"], ns=self.ns_sw,
                            check=False)
                    if r.returncode != 0:
                        time.sleep(0.5)     # a gateway that fails closes its taps
                        if self.gw.poll() is not None:
                            break
                        raise LabError("cannot enslave %s to %s: %s"
                                       % (tap, br, r.stderr.strip()))
                    del pending[tap]
            if not pending:
                st = self.stats(check=False)
                state = st and st.get("gateway", {}).get("state")
                if state == "running":
                    return
            time.sleep(0.1)

    # EAL's and net_tap's start-up chatter (no sch_multiq here: rte_flow off)
    NOISE = ("multiq", "rte flow support", "tap_nl_dump_ext_ack", "legacy socket",
             "IOVA", "EAL: Detected", "EAL: Multi-process socket")

    def gw_tail(self, n=8):
        self.gw_err.flush()
        self.gw_err.seek(0)
        lines = [ln for ln in self.gw_err.read().strip().splitlines()
                 if not any(x in ln for x in self.NOISE)][-n:]
        self.gw_err.seek(0, 2)
        return " | ".join(lines) or "(no stderr)"

    def stats(self, check=True):
        """qinqgw-stats --json as a dict (None if unreadable and not check)."""
        try:
            r = subprocess.run([self.stats_bin, "--stats-name", self.stats_name, "--json"],
                               capture_output=True, text=True, timeout=10)
            if r.returncode != 0:
                raise LabError("qinqgw-stats exit %d: %s" % (r.returncode, r.stderr.strip()))
            return json.loads(r.stdout)
        except (LabError, OSError, ValueError, subprocess.TimeoutExpired) as e:
            if check:
                raise LabError("qinqgw-stats --json: %s" % e)
            return None

    def stop_gateway(self):
        """SIGINT, wait; returns the exit code (None if it had to be killed)."""
        if self.gw is None:
            return None
        if self.gw.poll() is None:
            self.gw.send_signal(signal.SIGINT)
            try:
                self.gw.wait(timeout=20)
            except subprocess.TimeoutExpired:
                stop_proc(self.gw, signal.SIGKILL)
                return None
        return self.gw.returncode

    # -- teardown
    def cleanup(self):
        if self.gw is not None:
            self.stop_gateway()
        for ns in reversed(self.created):
            # processes we started in it were stopped by the caller; a netns
            # with processes left would survive `ip netns del`: say so
            # what is left in a namespace of this run was started by this run
            # (e.g. sshd's per-connection children): end it by pid
            pids = _end_pids_in(ns)
            if pids:
                print("# warning: pids %s still in %s" % (" ".join(pids), ns))
            run(["ip", "netns", "del", ns], check=False)
        self.created = []
        if self.stats_name:
            for p in ("/dev/shm/" + self.stats_name,):
                if os.path.exists(p):
                    os.unlink(p)
            shutil.rmtree("/var/run/dpdk/" + self.stats_name, ignore_errors=True)


def _end_pids_in(ns):
    """End what runs in netns `ns` (only ever a namespace of this suite), by pid."""
    pids = []
    for sig in (signal.SIGTERM, signal.SIGKILL):
        pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        for pid in pids:
            try:
                os.kill(int(pid), sig)
            except (ProcessLookupError, ValueError):
                pass
        end = time.monotonic() + 3
        while pids and time.monotonic() < end:
            time.sleep(0.05)
            pids = run(["ip", "netns", "pids", ns], check=False).stdout.split()
        if not pids:
            break
    return pids


def remove_stale():
    """What earlier runs of this suite left when they were killed: their
    namespaces (named qgwe2e_<pid>_..., the run's pid gone) with whatever
    still runs in them, stats segments and DPDK run directories."""
    def dead(name):
        parts = name.split("_")
        if len(parts) < 3 or parts[0] != "qgwe2e" or not parts[1].isdigit():
            return False
        try:
            with open("/proc/%s/stat" % parts[1]) as f:
                return f.read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True
    out = run(["ip", "netns", "list"], check=False).stdout
    for line in out.splitlines():
        name = line.split()[0] if line.split() else ""
        if dead(name):
            _end_pids_in(name)
            run(["ip", "netns", "del", name], check=False)
    for d in ("/dev/shm", "/var/run/dpdk"):
        try:
            names = os.listdir(d)
        except OSError:
            continue
        for n in names:
            if dead(n):
                path = os.path.join(d, n)
                if os.path.isdir(path):
                    shutil.rmtree(path, ignore_errors=True)
                else:
                    try:
                        os.unlink(path)
                    except OSError:
                        pass


# ------------------------------------------------------------- captures

class Capture:
    """tcpdump on one interface, pcap written to a file through stdout."""

    def __init__(self, ns, iface, path):
        self.path = path
        self.f = open(path, "wb")
        # --immediate-mode: otherwise frames still in the ring's current
        # block when tcpdump is stopped never reach the file
        self.p = popen(ns_cmd(ns, ["tcpdump", "-i", iface, "--immediate-mode", "-U", "-n",
                                   "-s", "0", "-w", "-"]),
                       stdout=self.f, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 10
        buf = b""
        while b"listening on" not in buf:
            left = deadline - time.monotonic()
            if left <= 0 or self.p.poll() is not None:
                self.stop()
                raise LabError("tcpdump on %s did not start: %s" % (iface, buf.decode()))
            r, _, _ = select.select([self.p.stderr], [], [], left)
            if r:
                chunk = os.read(self.p.stderr.fileno(), 4096)
                if not chunk:
                    continue
                buf += chunk

    def stop(self):
        stop_proc(self.p, signal.SIGINT, grace=5)
        self.f.close()
        return self.path


# ------------------------------------------------------------- traffic

def ping(ns, dst, size=56, count=1, dont_frag=False, wait=1, timeout=10):
    cmd = ["ping", "-n", "-c", str(count), "-W", str(wait), "-i", "0.2", "-s", str(size)]
    if dont_frag:
        cmd += ["-M", "do"]
    r = run(cmd + [dst], ns=ns, check=False, timeout=timeout)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


class Transfer:
    """One TCP bulk transfer with socat: a listener in dst_ns writes what it
    receives to a file; a sender in src_ns sends `payload`. Done when the
    listener exits (the sender closed and every byte arrived)."""

    def __init__(self, name, src_ns, dst_ns, dst_ip, port, payload, workdir):
        self.name = name
        self.payload = payload
        self.size = os.path.getsize(payload)
        self.out = os.path.join(workdir, "recv-%s" % name)
        self.rlog = open(os.path.join(workdir, "recv-%s.log" % name), "w+")
        self.slog = open(os.path.join(workdir, "send-%s.log" % name), "w+")
        self.recv = popen(ns_cmd(dst_ns, ["socat", "-d", "-d", "-u",
                                          "TCP-LISTEN:%d,bind=%s,reuseaddr" % (port, dst_ip),
                                          "CREATE:" + self.out]),
                          stdout=subprocess.DEVNULL, stderr=self.rlog)
        deadline = time.monotonic() + 5
        while "listening on" not in self._log(self.rlog):
            if time.monotonic() > deadline or self.recv.poll() is not None:
                raise LabError("socat listener %s did not start: %s"
                               % (name, self._log(self.rlog)[-300:]))
            time.sleep(0.05)
        self.send = popen(ns_cmd(src_ns, ["socat", "-u", "OPEN:" + payload,
                                          "TCP:%s:%d,connect-timeout=3" % (dst_ip, port)]),
                          stdout=subprocess.DEVNULL, stderr=self.slog)
        self.t0 = time.monotonic()
        self.seconds = None

    @staticmethod
    def _log(f):
        f.flush()
        with open(f.name) as g:
            return g.read()

    def done(self):
        if self.recv.poll() is not None and self.seconds is None:
            self.seconds = time.monotonic() - self.t0
        return self.recv.poll() is not None

    def received(self):
        try:
            return os.path.getsize(self.out)
        except OSError:
            return 0

    def established(self):
        return "accepting connection" in self._log(self.rlog)

    def finish(self):
        """Stop both ends; return a dict describing the outcome."""
        completed = self.done()
        stop_proc(self.send)
        stop_proc(self.recv)
        got = self.received()
        digest_ok = False
        if completed and self.recv.returncode == 0 and got == self.size:
            with open(self.out, "rb") as a, open(self.payload, "rb") as b:
                digest_ok = a.read() == b.read()
        return {"completed": completed and self.recv.returncode == 0,
                "content_ok": digest_ok, "received": got, "size": self.size,
                "established": self.established(), "seconds": self.seconds,
                "recv_log": self._log(self.rlog)[-400:], "send_log": self._log(self.slog)[-400:]}


def wait_all(items, deadline_s):
    """Poll objects with .done() until all are done or deadline_s passes."""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and not all(i.done() for i in items):
        time.sleep(0.1)


# ------------------------------------------------------------- ssh

class Sshd:
    """openssh-server run by hand in a namespace, with a throwaway host key
    and one authorized client key; nothing of the system's ssh setup is
    used or changed (except that sshd needs /run/sshd to exist)."""

    def __init__(self, ns, addr, workdir):
        d = os.path.join(workdir, "ssh")
        os.makedirs(d, exist_ok=True)
        self.dir = d
        self.hostkey = os.path.join(d, "host_ed25519")
        self.key = os.path.join(d, "client_ed25519")
        for k in (self.hostkey, self.key):
            if not os.path.exists(k):
                run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", k])
        shutil.copy(self.key + ".pub", os.path.join(d, "authorized_keys"))
        cfg = os.path.join(d, "sshd_config")
        with open(cfg, "w") as f:
            f.write("\n".join([
                "ListenAddress %s" % addr, "Port 22", "HostKey %s" % self.hostkey,
                "AuthorizedKeysFile %s" % os.path.join(d, "authorized_keys"),
                "PidFile none", "StrictModes no", "UsePAM no",
                "PermitRootLogin prohibit-password", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "PrintMotd no", "LogLevel ERROR",
                "UseDNS no", ""]))
        os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        self.log = open(os.path.join(d, "sshd-%s.log" % ns), "w+")
        self.p = popen(ns_cmd(ns, ["/usr/sbin/sshd", "-D", "-e", "-f", cfg]),
                       stdout=self.log, stderr=subprocess.STDOUT)
        self.addr = addr
        deadline = time.monotonic() + 5
        while True:
            r = run(["ss", "-Hltn", "sport = :22"], ns=ns, check=False)
            if r.stdout.strip():
                break
            if self.p.poll() is not None or time.monotonic() > deadline:
                self.log.seek(0)
                raise LabError("sshd did not start: %s" % self.log.read()[-400:])
            time.sleep(0.05)

    def client(self, ns, command, name, workdir):
        return SshRun(ns, self, command, name, workdir)

    def stop(self):
        stop_proc(self.p)


class SshRun:
    """One ssh command from `ns`. The client offers one algorithm of each
    kind: OpenSSH 9.2's default offer (sntrup761x25519 and the long lists)
    makes its KEXINIT 1560 bytes, more than one full-size packet, so with the
    defaults even the login hangs on the incident's path; the incident's
    sessions logged in and hung on output, and so do these."""

    def __init__(self, ns, sshd, command, name, workdir):
        self.out_path = os.path.join(workdir, "ssh-%s.out" % name)
        self.out = open(self.out_path, "wb")
        self.err = open(os.path.join(workdir, "ssh-%s.err" % name), "w+")
        self.p = popen(ns_cmd(ns, [
            "ssh", "-F", "/dev/null", "-i", sshd.key, "-o", "IdentitiesOnly=yes",
            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR",
            "-o", "KexAlgorithms=curve25519-sha256", "-o", "HostKeyAlgorithms=ssh-ed25519",
            "-o", "Ciphers=aes128-ctr", "-o", "MACs=hmac-sha2-256",
            "root@" + sshd.addr, command]),
            stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL)

    def done(self):
        return self.p.poll() is not None

    def finish(self):
        completed = self.done()
        stop_proc(self.p)
        self.out.close()
        with open(self.out_path, "rb") as f:
            data = f.read()
        self.err.seek(0)
        return {"completed": completed, "rc": self.p.returncode, "output": data,
                "stderr": self.err.read()[-400:]}
