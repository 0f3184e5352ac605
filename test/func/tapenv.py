"""The harness of the suites that run qinqgw on tap ports (config_live,
faults): a network namespace for the taps, gateways started in it, their
stats and control socket. Each suite gives its own names (namespace, taps,
file prefix), so suites never share anything."""

import grp
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import qgwtest as q


def run(cmd, check=True, timeout=60, **kw):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and p.returncode != 0:
        raise RuntimeError("%s: exit %d: %s" % (" ".join(cmd), p.returncode, p.stderr.strip()))
    return p


def softnet_dropped():
    """Frames the kernel dropped for a full backlog queue, all CPUs (global)."""
    with open("/proc/net/softnet_stat") as f:
        return sum(int(ln.split()[1], 16) for ln in f if ln.strip())


def link_stats(ns, ifname):
    """The kernel's counters of interface ifname in namespace ns, or None."""
    p = run(["ip", "-n", ns, "-s", "-j", "link", "show", ifname], check=False)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)[0].get("stats64")


class Env:
    """Temp dir, namespace ns with IPv6 off, optionally a throwaway group;
    everything (also the gateways' /dev/shm and /var/run/dpdk entries under
    prefix) removed by cleanup()."""

    def __init__(self, qinqgw, ns, taps, prefix, tmp_prefix, group=None):
        self.qinqgw = os.path.abspath(qinqgw)
        bindir = os.path.dirname(self.qinqgw)
        self.ctl_bin = os.path.join(bindir, "qinqgw-ctl")
        self.stats_bin = os.path.join(bindir, "qinqgw-stats")
        self.ns, self.taps, self.prefix, self.group = ns, taps, prefix, group
        self.tmp = tempfile.mkdtemp(prefix=tmp_prefix)
        os.chmod(self.tmp, 0o755)   # others may reach a socket: its own mode decides
        self.gateways = []
        self.ns_made = self.group_made = False
        run(["ip", "netns", "add", ns])
        self.ns_made = True
        run(["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
             "net.ipv6.conf.default.disable_ipv6=1"])
        if group:
            run(["groupadd", group])
            self.group_made = True
            self.gid = grp.getgrnam(group).gr_gid

    def path(self, name):
        return os.path.join(self.tmp, name)

    def write(self, name, cfg):
        p = self.path(name)
        with open(p, "w") as f:
            if isinstance(cfg, str):
                f.write(cfg)
            else:
                json.dump(cfg, f, indent=1)
        return p

    def cleanup(self):
        for g in self.gateways:
            g.stop()
        if self.ns_made:
            run(["ip", "netns", "del", self.ns], check=False)
        if self.group_made:
            run(["groupdel", self.group], check=False)
        for d in ("/dev/shm", "/var/run/dpdk"):
            for n in os.listdir(d) if os.path.isdir(d) else []:
                if n == self.prefix or n.startswith(self.prefix + "_"):
                    p = os.path.join(d, n)
                    shutil.rmtree(p, ignore_errors=True) if os.path.isdir(p) else os.unlink(p)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Gateway:
    """One qinqgw process. devices: "tap" (the env's two taps, in the
    namespace), "null" (two net_null ports), "pcap" (two net_pcap ports
    reading an empty file, outside the namespace), or a list of --vdev values.
    netns: run inside the namespace (default: unless "pcap")."""

    def __init__(self, env, name, cfg_path, devices="tap", extra=(), eal=None, huge=False,
                 wrapper=(), stats_name=None, sock=None, ctl_group=None, netns=None):
        self.env, self.name, self.cfg_path = env, name, cfg_path
        self.prefix = env.prefix if name == "main" else "%s_%s" % (env.prefix, name)
        self.stats_name = stats_name or self.prefix
        self.sock = sock or env.path("%s.sock" % name)
        self.proc = None
        self.out = env.path("%s.stdout" % name)
        self.err = env.path("%s.stderr" % name)
        if netns is None:
            netns = devices != "pcap"
        cmd = ["ip", "netns", "exec", env.ns] if netns else []
        cmd += list(wrapper) + [env.qinqgw] + list(eal or ["-l", "0-1"])
        if not huge:
            cmd += ["--no-huge", "-m", "512"]
        cmd += ["--no-pci", "--file-prefix", self.prefix, "--log-level=pmd.net.pcap:warning"]
        if devices == "tap":
            cmd += ["--vdev", "net_tap0,iface=" + env.taps[0],
                    "--vdev", "net_tap1,iface=" + env.taps[1]]
        elif devices == "null":
            cmd += ["--vdev", "net_null0", "--vdev", "net_null1"]
        elif devices == "pcap":
            empty = env.path("empty.pcap")
            if not os.path.exists(empty):
                q.write_pcap(empty, [])
            for p in range(2):
                cmd += ["--vdev", "net_pcap%d,rx_pcap=%s,tx_pcap=%s" % (
                    p, empty, env.path("%s-out%d.pcap" % (name, p)))]
        else:
            for v in devices:
                cmd += ["--vdev", v]
        cmd += ["--", "--config", cfg_path, "--stats-name", self.stats_name,
                "--ctl-socket", self.sock] + list(extra)
        if ctl_group:
            cmd += ["--ctl-group", ctl_group]
        self.cmd = cmd
        env.gateways.append(self)

    def start(self, wait=True, timeout=30):
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.out, "w"),
                                     stderr=open(self.err, "w"), stdin=subprocess.DEVNULL)
        if not wait:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway %s exited with %d:\n%s" % (
                    self.name, self.proc.returncode, self.log()[-2000:]))
            st = self.stats(check=False)
            if st is not None and st["gateway"]["state"] == "running" and \
                    st["gateway"]["pid"] == self.pid() and os.path.exists(self.sock):
                return
            time.sleep(0.1)
        raise RuntimeError("gateway %s not running after %d s:\n%s" % (
            self.name, timeout, self.log()[-2000:]))

    def pid(self):
        """The qinqgw process (ip netns exec and valgrind exec it in place)."""
        return self.proc.pid

    def stats(self, check=True, *args):
        p = run([self.env.stats_bin, "--stats-name", self.stats_name, "--json"] + list(args),
                check=False)
        # 6 stalled, 7 dead: the document is printed and says so (a gateway
        # under valgrind can leave its control plane unscheduled for seconds)
        if p.returncode not in ((0,) if check else (0, 6, 7)):
            if check:
                raise RuntimeError("qinqgw-stats: exit %d: %s" % (p.returncode, p.stderr))
            return None
        return json.loads(p.stdout)

    def ctl(self, *args, user=None, timeout=30):
        """qinqgw-ctl on this gateway's socket; user: setpriv options to run it
        as nobody with those groups."""
        cmd = [self.env.ctl_bin, "--socket", self.sock] + list(args)
        if user is not None:
            cmd = ["setpriv", "--reuid=nobody", "--regid=nogroup"] + user + cmd
        return run(cmd, check=False, timeout=timeout)

    def log(self):
        try:
            with open(self.err) as f:
                e = f.read()
            with open(self.out) as f:
                return e + f.read()
        except OSError:
            return ""

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self, timeout=30):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                return "killed after %d s" % timeout
        return self.proc.returncode if self.proc else None


class Ctl:
    """The JSON protocol over one persistent connection."""

    def __init__(self, path, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.rf = self.sock.makefile("rb")

    def req(self, command, **kw):
        r = {"version": 1, "command": command}
        r.update(kw)
        self.sock.sendall((json.dumps(r) + "\n").encode())
        line = self.rf.readline()
        if not line:
            raise ConnectionError("control socket closed")
        return json.loads(line)

    def close(self):
        self.rf.close()
        self.sock.close()
