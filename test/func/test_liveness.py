#!/usr/bin/python3
"""Monitoring that never lies: the gateway's state as every reader shows it
(qinqgw-stats table, --json, --prometheus, --all, DPDK telemetry
/qinqgw/info, systemd notifications) follows what the process really does.

Every gateway runs on two net_pcap vdevs reading a small pcap file in an
endless loop (infinite_rx, tx to /dev/null or a file), outside any network
namespace: nothing is sent anywhere. Each gateway has its own --file-prefix;
the stats names are this test's own (qgwlv_PID...).

Checks (each prints `ok NAME` or `FAIL NAME: why`; times are printed as
`# time ...` lines):
  1 under traffic: table, --json, --prometheus (and `promtool check
    metrics`), --all and telemetry /qinqgw/info all say running, up, exit 0.
  2 SIGSTOP: within 3 s every qinqgw-stats view says stalled, qinqgw_up 0,
    qinqgw_state{state="stalled"} 1, exit 6 (time measured).
  3 SIGCONT: within 3 s running again everywhere, exit 0.
  4 control plane frozen 5 s (fault control_stall_ms): within 3 s
    qinqgw-stats and telemetry (its thread still answers) say stalled, up 0;
    afterwards running again, the control socket answers again.
  5 SIGKILL under traffic, first left a zombie (not reaped), then reaped:
    within 3 s every view says dead, qinqgw_up 0, exit 7; the JSON
    uptime_seconds stands still (two reads 1.5 s apart).
  7 a new gateway with the same --stats-name replaces the dead segment
    (new pid, running).
  6 SIGTERM: exit 0, stopped everywhere, qinqgw_up 0, exit 0.
  8 a segment planted by `nobody` (a real stopped segment patched to say
    running, pid 1): the gateway refuses to start, naming the owner, and
    forwards nothing; qinqgw-stats warns naming the owner; --owner root
    exits 8.
  9 systemd: READY=1 with STATUS=forwarding... once the ports are up (the
    segment says running when it arrives), WATCHDOG=1 at least 3 times in
    2 s with WATCHDOG_USEC=1000000, none for 2 s while the control plane is
    frozen 3 s, STOPPING=1 at SIGTERM.
 10 telemetry at shutdown, 5 runs: /qinqgw/flow and /qinqgw/port hammered
    from two threads while SIGTERM arrives: exit 0, no sanitizer or
    segfault message. The telemetry threads are moved to a CPU other than
    the main lcore's (DPDK puts them on the main lcore's when every CPU is
    an lcore), so callbacks really overlap the shutdown: without the wait
    in qgw_telemetry_fini() 4 runs of 5 die of SIGSEGV.

Usage: /usr/bin/python3 test_liveness.py --qinqgw PATH --qinqgw-stats PATH
           --qinqgw-ctl PATH   (root; promtool, setpriv)
"""
import argparse
import ctypes
import glob
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qgwtest as q  # noqa: E402
import tapenv  # noqa: E402

TAG = "qgwlv_%d" % os.getpid()
LIMIT = 3.0                     # seconds a reader may take to see a change
EXIT_STALLED, EXIT_DEAD, EXIT_OWNER = 6, 7, 8
QGW_SHM_RUNNING, QGW_SHM_STOPPED = 1, 2
SANITIZER = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                       r"ThreadSanitizer|runtime error:|Segmentation fault|SIGSEGV|SIGBUS|"
                       r"core dumped|double free|stack smashing|Aborted", re.I)


def T(tpid, vid):
    return {"tpid": "0x%04x" % tpid, "vid": vid}


CONFIG = {
    "version": 1,
    "ports": {"west": {"device": "net_pcap0", "max_frame": 1518},
              "east": {"device": "net_pcap1", "max_frame": 1518}},
    "flows": [
        {"name": "f1", "west": [T(0x88A8, 100)], "east": [T(0x8100, 1001)]},
        {"name": "f2", "west": [T(0x88A8, 200), T(0x8100, 20)], "east": [T(0x8100, 1002)]},
    ],
}


# ----------------------------------------------------- segment header layout

class ShmHeader(ctypes.Structure):
    """The start of struct qgw_shm_header (lib/stats/qgw_shm.h), natural
    alignment as the C compiler lays it out on x86-64 / aarch64."""
    _fields_ = [
        ("magic", ctypes.c_char * 8),
        ("version", ctypes.c_uint32),
        ("header_size", ctypes.c_uint32),
        ("size", ctypes.c_uint64),
        ("epoch", ctypes.c_uint64),
        ("in_progress", ctypes.c_uint32),
        ("state", ctypes.c_uint32),
        ("generation", ctypes.c_uint64),
        ("start_time", ctypes.c_int64),
        ("stop_time", ctypes.c_int64),
        ("update_time", ctypes.c_int64),
        ("tsc_hz", ctypes.c_uint64),
        ("start_tsc", ctypes.c_uint64),
        ("heartbeat", ctypes.c_uint64),
        ("start_mono", ctypes.c_uint64),
        ("pid_start", ctypes.c_uint64),
        ("pid", ctypes.c_uint32),
        ("uid", ctypes.c_uint32),
    ]


def read_header(name):
    """The header of /dev/shm/name, or None."""
    try:
        with open("/dev/shm/" + name, "rb") as f:
            data = f.read(ctypes.sizeof(ShmHeader))
    except OSError:
        return None
    if len(data) < ctypes.sizeof(ShmHeader):
        return None
    return ShmHeader.from_buffer_copy(data)


def proc_stat(pid):
    """(state letter, start time field 22) of /proc/PID/stat, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            s = f.read()
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[19])


def mono_ns():
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC)


# ------------------------------------------------------------ bookkeeping

class Env:
    def __init__(self, args):
        self.qinqgw = os.path.abspath(args.qinqgw)
        self.stats_bin = os.path.abspath(args.qinqgw_stats)
        self.ctl_bin = os.path.abspath(args.qinqgw_ctl)
        self.tmp = tempfile.mkdtemp(prefix="qgwlv_")
        os.chmod(self.tmp, 0o755)
        self.gateways = []
        self.shm = set()
        self.times = []          # (what, seconds) for the report
        # gateways never notify a systemd the test itself may run under
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                                 "LISTEN_FDS", "LISTEN_PID")}
        fm = q.FrameMaker(7)
        model = q.Model(CONFIG)
        self.rx = []
        for p, port in enumerate(("west", "east")):
            frames = []
            for f in CONFIG["flows"]:
                st = f[port]
                for i in range(16):
                    frames.append(fm.frame([q.tag(int(t["tpid"], 16), t["vid"]) for t in st] +
                                           [q.tag(0x8100, 10 + i)], 64 + 40 * i))
            frames.append(fm.frame([q.tag(0x8100, 3999)], 100))   # no_flow
            for fr in frames[:-1]:
                assert model.verdict(p, fr).drop is None, "test data"
            path = os.path.join(self.tmp, "rx%d.pcap" % p)
            q.write_pcap(path, frames)
            self.rx.append(path)
        with open(self.path("config.json"), "w") as f:
            json.dump(CONFIG, f)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def timing(self, what, seconds):
        self.times.append((what, seconds))
        print("# time %s: %s" % (what, "%.3f s" % seconds if seconds is not None else "never"),
              flush=True)

    def stats(self, name, *args, timeout=20):
        return subprocess.run([self.stats_bin, "--stats-name", name] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def json(self, name):
        """The JSON document (whatever the exit status), or None."""
        p = self.stats(name, "--json")
        try:
            return json.loads(p.stdout)
        except ValueError:
            return None

    def cleanup(self):
        for g in self.gateways:
            g.kill()
        for n in self.shm:
            try:
                os.unlink("/dev/shm/" + n)
            except OSError:
                pass
        for g in self.gateways:
            for t in glob.glob("/dev/shm/.qinqgw-%d-*" % g.proc.pid) if g.proc else []:
                try:
                    os.unlink(t)
                except OSError:
                    pass
            shutil.rmtree(os.path.join("/var/run/dpdk", g.prefix), ignore_errors=True)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Gateway:
    """One qinqgw on two net_pcap vdevs replaying the rx pcaps endlessly."""

    def __init__(self, env, tag, stats_name, extra=(), environ=None, tx=None):
        self.env, self.tag, self.stats_name = env, tag, stats_name
        self.prefix = "%s_%s" % (TAG, tag)
        self.sock = env.path("%s.sock" % tag)
        self.out, self.err = env.path("%s.stdout" % tag), env.path("%s.stderr" % tag)
        env.shm.add(stats_name)
        cmd = [env.qinqgw, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
               "--file-prefix", self.prefix, "--log-level=pmd.net.pcap:warning"]
        for p in range(2):
            cmd += ["--vdev", "net_pcap%d,rx_pcap=%s,tx_pcap=%s,infinite_rx=1" % (
                p, env.rx[p], tx[p] if tx else "/dev/null")]
        cmd += ["--", "--config", env.path("config.json"), "--stats-name", stats_name,
                "--ctl-socket", self.sock] + list(extra)
        self.cmd = cmd
        self.environ = dict(env.env, **(environ or {}))
        self.proc = None
        env.gateways.append(self)

    @property
    def pid(self):
        return self.proc.pid

    def start(self, wait=True, timeout=30):
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.out, "w"),
                                     stderr=open(self.err, "w"), stdin=subprocess.DEVNULL,
                                     env=self.environ)
        if not wait:
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway %s exited with %d:\n%s" % (
                    self.tag, self.proc.returncode, self.log()[-2000:]))
            d = self.env.json(self.stats_name)
            if d is not None and d["gateway"]["pid"] == self.pid and \
                    d["gateway"]["state"] == "running" and \
                    all(p["rx_packets"] > 0 for p in d["ports"]) and \
                    os.path.exists(self.telemetry_path()) and os.path.exists(self.sock):
                return
            time.sleep(0.1)
        raise RuntimeError("gateway %s not running with traffic after %d s:\n%s" % (
            self.tag, timeout, self.log()[-2000:]))

    def telemetry_path(self):
        return os.path.join("/var/run/dpdk", self.prefix, "dpdk_telemetry.v2")

    def info(self):
        """/qinqgw/info over a fresh telemetry connection."""
        t = q.Telemetry(self.telemetry_path())
        try:
            return t.cmd("/qinqgw/info")["/qinqgw/info"]
        finally:
            t.close()

    def ctl(self, command, **kw):
        c = tapenv.Ctl(self.sock, timeout=10)
        try:
            return c.req(command, **kw)
        finally:
            c.close()

    def log(self):
        text = ""
        for p in (self.err, self.out):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except OSError:
                pass
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------- what readers say

class Obs:
    """One reading of every qinqgw-stats view of a segment."""
    VIEWS = ("table", "json", "prom", "all")

    def __init__(self, env, name):
        self.rc, self.state, self.up, self.err = {}, {}, {}, {}
        self.doc, self.prom, self.word, self.table_pid = None, "", None, None
        self.prom_states = {}
        p = env.stats(name)
        self.rc["table"], self.err["table"] = p.returncode, p.stderr
        m = re.match(r"qinqgw (\S+), pid (\d+), (\w+), (up|ran) (\S+),", p.stdout)
        self.state["table"] = m.group(3) if m else None
        self.word = m.group(4) if m else None
        self.table_pid = int(m.group(2)) if m else None
        self.table_head = p.stdout.splitlines()[0] if p.stdout else "(empty)"

        p = env.stats(name, "--json")
        self.rc["json"], self.err["json"] = p.returncode, p.stderr
        try:
            self.doc = json.loads(p.stdout)
            g = self.doc["gateway"]
            self.state["json"], self.up["json"] = g["state"], g["up"]
        except (ValueError, KeyError, TypeError):
            self.state["json"] = None

        p = env.stats(name, "--prometheus")
        self.rc["prom"], self.err["prom"], self.prom = p.returncode, p.stderr, p.stdout
        ups = re.findall(r"^qinqgw_up (\S+)$", p.stdout, re.M)
        self.prom_states = {s: float(v) for s, v in
                            re.findall(r'^qinqgw_state\{state="(\w+)"\} (\S+)$', p.stdout, re.M)}
        ones = [s for s, v in self.prom_states.items() if v == 1]
        self.state["prom"] = ones[0] if len(ones) == 1 else None
        self.up["prom"] = float(ups[0]) == 1 if len(ups) == 1 else None

        p = env.stats(name, "--all")
        self.rc["all"], self.err["all"] = p.returncode, p.stderr
        st = re.findall(r"^gateway state (\S+)$", p.stdout, re.M)
        up = re.findall(r"^gateway up (\S+)$", p.stdout, re.M)
        self.state["all"] = st[0] if len(st) == 1 else None
        self.up["all"] = up[0] == "1" if len(up) == 1 else None

    def mismatch(self, state, rc):
        """What differs from `state` everywhere with exit status rc: [] if nothing."""
        e = []
        want_up = state == "running"
        for v in self.VIEWS:
            if self.state.get(v) != state:
                e.append("%s says %s" % (v, self.state.get(v)))
            if v in self.up and self.up[v] != want_up:
                e.append("%s up %s" % (v, self.up[v]))
            if self.rc[v] != rc:
                e.append("%s exit %d (%s)" % (v, self.rc[v], self.err[v].strip()[:200]))
        if set(self.prom_states) != {"starting", "running", "stalled", "dead", "stopped"}:
            e.append("qinqgw_state has states %s" % sorted(self.prom_states))
        ended = state in ("dead", "stopped")
        if self.word != ("ran" if ended else "up"):
            e.append("table header says %r: %s" % (self.word, self.table_head))
        return e

    def summary(self):
        return "views %s, up %s, exit %s, table: %s" % (self.state, self.up, self.rc,
                                                        self.table_head)


def wait_views(env, name, state, rc, t0, limit=LIMIT):
    """Read every view until all say state with exit rc, at most until
    t0 + limit. Returns (seconds since t0 or None, last Obs, mismatch)."""
    while True:
        o = Obs(env, name)
        e = o.mismatch(state, rc)
        now = time.monotonic()
        if not e:
            return now - t0, o, []
        if now > t0 + limit:
            return None, o, e
        time.sleep(0.02)


def uptime_frozen(env, name):
    """Two JSON reads 1.5 s apart: (ok, why)."""
    a = env.json(name)
    time.sleep(1.5)
    b = env.json(name)
    if a is None or b is None:
        return False, "no JSON document"
    ua, ub = a["gateway"]["uptime_seconds"], b["gateway"]["uptime_seconds"]
    print("# uptime_seconds %.4f then %.4f 1.5 s later (state %s)"
          % (ua, ub, b["gateway"]["state"]), flush=True)
    if abs(ua - ub) > 0.01:
        return False, "uptime_seconds %.4f then %.4f 1.5 s later" % (ua, ub)
    if ua <= 0:
        return False, "uptime_seconds %.4f" % ua
    return True, ""


def promtool(text):
    pt = shutil.which("promtool") or "/usr/bin/promtool"
    if not os.path.exists(pt):
        return "promtool is not installed"
    r = subprocess.run([pt, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        return "promtool check metrics exit %d: %s" % (r.returncode,
                                                        (r.stdout + r.stderr).strip()[:1500])
    return None


# ------------------------------------------------------------------ checks

class Test:
    def __init__(self, env, results):
        self.env, self.r = env, results
        self.name = TAG

    def check(self, name, fn, *a):
        """fn returns None/"" (ok) or why; an exception is a failure."""
        try:
            why = fn(*a)
        except Exception as e:  # noqa: BLE001 - any exception fails the check
            tb = traceback.format_exc().strip().splitlines()
            why = "exception %s: %s (%s)" % (type(e).__name__, e, " / ".join(tb[-4:-1]))
        if isinstance(why, (list, tuple)):
            why = "; ".join(why)
        return self.r.check(name, not why, why or "")

    # 1..7 on one stats name
    def main_sequence(self):
        env, name = self.env, self.name
        g1 = Gateway(env, "g1", name, extra=["--fault-injection"])
        try:
            g1.start()
        except RuntimeError as e:
            self.r.check("1 gateway starts under traffic", False, str(e))
            return
        self.check("1 under traffic: table, --json, --prometheus, --all say running, up, "
                   "exit 0", self.c1_views, g1)
        self.check("1 under traffic: --prometheus passes promtool check metrics",
                   lambda: promtool(self.env.stats(name, "--prometheus").stdout))
        self.check("1 under traffic: telemetry /qinqgw/info says running, up 1",
                   self.c1_telemetry, g1)
        self.check("2 SIGSTOP: within 3 s every view says stalled, qinqgw_up 0, "
                   "qinqgw_state{state=\"stalled\"} 1, exit 6", self.c2_sigstop, g1)
        self.check("3 SIGCONT: within 3 s running everywhere again, exit 0", self.c3_sigcont, g1)
        self.check("4 control plane frozen 5 s: within 3 s qinqgw-stats and telemetry say "
                   "stalled, up 0", self.c4_freeze, g1)
        self.check("4 control plane frozen 5 s: afterwards running again everywhere, "
                   "control socket answers", self.c4_after, g1)
        self.check("5 SIGKILL, zombie not reaped: within 3 s every view says dead, "
                   "qinqgw_up 0, exit 7", self.c5_kill, g1)
        self.check("5 SIGKILL, zombie: JSON uptime_seconds stands still",
                   lambda: self.frozen_why(name, g1, zombie=True))
        self.check("5 SIGKILL, reaped: every view says dead, qinqgw_up 0, exit 7",
                   self.c5_reaped, g1)
        self.check("5 SIGKILL, reaped: JSON uptime_seconds stands still",
                   lambda: self.frozen_why(name, g1, zombie=False))
        g2 = Gateway(env, "g2", name)
        self.check("7 a new gateway with the same --stats-name replaces the dead segment "
                   "(new pid, running everywhere)", self.c7_replace, g1, g2)
        if g2.proc is None or g2.proc.poll() is not None:
            self.r.check("6 SIGTERM: exit 0, stopped everywhere, qinqgw_up 0, exit 0", False,
                         "no running gateway (check 7 failed)")
            return None
        self.check("6 SIGTERM: exit 0, stopped everywhere, qinqgw_up 0, exit 0",
                   self.c6_sigterm, g2)
        return g2

    def c1_views(self, g):
        o = Obs(self.env, self.name)
        e = o.mismatch("running", 0)
        if o.doc is not None and o.doc["gateway"]["pid"] != g.pid:
            e.append("JSON pid %s, gateway %d" % (o.doc["gateway"]["pid"], g.pid))
        if o.table_pid != g.pid:
            e.append("table pid %s, gateway %d" % (o.table_pid, g.pid))
        if o.doc is not None and not o.doc["gateway"]["heartbeat_age_seconds"] < 1.0:
            e.append("heartbeat_age_seconds %s" % o.doc["gateway"]["heartbeat_age_seconds"])
        # under traffic: the counters move
        a = o.doc
        time.sleep(0.3)
        b = self.env.json(self.name)
        if a is None or b is None or not all(
                pb["rx_packets"] > pa["rx_packets"] for pa, pb in zip(a["ports"], b["ports"])):
            e.append("rx_packets do not grow (no traffic?)")
        print("# running: %s" % o.summary(), flush=True)
        return e

    def c1_telemetry(self, g):
        i = g.info()
        print("# /qinqgw/info: %s" % i, flush=True)
        e = []
        if i.get("state") != "running" or i.get("up") != 1:
            e.append("state %s up %s" % (i.get("state"), i.get("up")))
        if i.get("pid") != g.pid:
            e.append("pid %s, gateway %d" % (i.get("pid"), g.pid))
        if not i.get("heartbeat_age_ms", 99999) < 1000:
            e.append("heartbeat_age_ms %s" % i.get("heartbeat_age_ms"))
        return e

    def c2_sigstop(self, g):
        t0 = time.monotonic()
        os.kill(g.pid, signal.SIGSTOP)
        dt, o, e = wait_views(self.env, self.name, "stalled", EXIT_STALLED, t0)
        self.env.timing("SIGSTOP -> stalled in every qinqgw-stats view", dt)
        if e:
            return ["not stalled everywhere within %.0f s: %s" % (LIMIT, "; ".join(e))]
        st = proc_stat(g.pid)
        if st is None or st[0] not in "Tt":
            return "test: process state %s, not stopped" % (st,)
        if o.prom_states.get("stalled") != 1:
            return 'qinqgw_state{state="stalled"} %s' % o.prom_states.get("stalled")
        return None

    def c3_sigcont(self, g):
        t0 = time.monotonic()
        os.kill(g.pid, signal.SIGCONT)
        dt, o, e = wait_views(self.env, self.name, "running", 0, t0)
        self.env.timing("SIGCONT -> running in every qinqgw-stats view", dt)
        if e:
            return "not running everywhere within %.0f s: %s" % (LIMIT, "; ".join(e))
        return None

    def c4_freeze(self, g):
        r = g.ctl("fault", control_stall_ms=5000)
        t0 = time.monotonic()
        self.freeze_t0 = t0
        if r.get("ok") is not True:
            return "fault command refused: %s" % r
        tel = q.Telemetry(g.telemetry_path())
        t_stats = t_tel = None
        info, o, e_last = None, None, []
        try:
            while time.monotonic() < t0 + LIMIT and (t_stats is None or t_tel is None):
                if t_stats is None:
                    o = Obs(self.env, self.name)
                    e_last = o.mismatch("stalled", EXIT_STALLED)
                    if not e_last:
                        t_stats = time.monotonic() - t0
                if t_tel is None:
                    info = tel.cmd("/qinqgw/info")["/qinqgw/info"]
                    if info.get("state") == "stalled" and info.get("up") == 0:
                        t_tel = time.monotonic() - t0
                time.sleep(0.02)
        finally:
            tel.close()
        self.env.timing("control plane frozen -> stalled in every qinqgw-stats view", t_stats)
        self.env.timing("control plane frozen -> stalled in telemetry /qinqgw/info", t_tel)
        e = []
        if t_stats is None:
            e.append("qinqgw-stats not stalled everywhere within %.0f s: %s"
                     % (LIMIT, "; ".join(e_last)))
        if t_tel is None:
            e.append("telemetry /qinqgw/info within %.0f s: %s" % (LIMIT, info))
        elif not info.get("heartbeat_age_ms", 0) >= 2000:
            e.append("telemetry says stalled with heartbeat_age_ms %s" %
                     info.get("heartbeat_age_ms"))
        if t_stats is not None and not o.doc["gateway"]["heartbeat_age_seconds"] >= 2.0:
            e.append("JSON says stalled with heartbeat_age_seconds %s"
                     % o.doc["gateway"]["heartbeat_age_seconds"])
        # it is a freeze of the control plane, not a dead or stopped process
        st = proc_stat(g.pid)
        if st is None or st[0] in "TtZ":
            e.append("test: process state %s" % (st,))
        return e

    def c4_after(self, g):
        t0 = getattr(self, "freeze_t0", time.monotonic())
        end = t0 + 5.0 + LIMIT          # the freeze, then what a reader may take
        dt, o, e = wait_views(self.env, self.name, "running", 0, t0, 5.0 + LIMIT)
        self.env.timing("control plane frozen 5 s -> running again in every qinqgw-stats "
                        "view (from the fault command)", dt)
        if e:
            return "qinqgw-stats after the freeze: %s" % "; ".join(e)
        info = None
        while time.monotonic() < end:
            info = g.info()
            if info.get("state") == "running" and info.get("up") == 1:
                break
            time.sleep(0.05)
        else:
            return "telemetry after the freeze: %s" % info
        p = subprocess.run([self.env.ctl_bin, "--socket", g.sock, "show"], capture_output=True,
                           text=True, timeout=20)
        if p.returncode != 0:
            return "qinqgw-ctl show exit %d: %s" % (p.returncode, p.stderr.strip())
        if "control plane runs again" not in g.log():
            return "no `control plane runs again` in the gateway's log"
        return None

    def c5_kill(self, g):
        t0 = time.monotonic()
        os.kill(g.pid, signal.SIGKILL)      # not waited for: a zombie until reaped
        self.kill_pid = g.pid
        dt, o, e = wait_views(self.env, self.name, "dead", EXIT_DEAD, t0)
        self.env.timing("SIGKILL -> dead in every qinqgw-stats view (zombie)", dt)
        st = proc_stat(g.pid)
        if e:
            return "not dead everywhere within %.0f s (process %s): %s" % (LIMIT, st, "; ".join(e))
        if st is None or st[0] != "Z":
            return "test: the process is not a zombie (%s)" % (st,)
        if o.doc["gateway"]["pid"] != g.pid:
            return "JSON pid %s, killed %d" % (o.doc["gateway"]["pid"], g.pid)
        return None

    def frozen_why(self, name, g, zombie):
        ok, why = uptime_frozen(self.env, name)
        st = proc_stat(g.pid)
        if zombie and (st is None or st[0] != "Z"):
            return "test: the process is not a zombie any more (%s)" % (st,)
        d = self.env.json(name)
        if d is None or d["gateway"]["state"] != "dead":
            return "state %s" % (d and d["gateway"]["state"])
        return why

    def c5_reaped(self, g):
        rc = g.wait(10)
        if rc != -signal.SIGKILL:
            return "test: reaped with %s, not -9" % rc
        if proc_stat(g.pid) is not None:
            return "test: /proc/%d still there after reaping" % g.pid
        t0 = time.monotonic()
        dt, o, e = wait_views(self.env, self.name, "dead", EXIT_DEAD, t0)
        self.env.timing("reaped -> dead in every qinqgw-stats view", dt)
        return e

    def c7_replace(self, old, g):
        t0 = time.monotonic()
        g.start(timeout=30)
        self.env.timing("new gateway on the dead segment's name: start -> running with traffic",
                        time.monotonic() - t0)
        o = Obs(self.env, self.name)
        e = o.mismatch("running", 0)
        pid = o.doc and o.doc["gateway"]["pid"]
        if pid != g.pid or pid == old.pid:
            e.append("JSON pid %s, new gateway %d, killed one %d" % (pid, g.pid, old.pid))
        if "belongs" in g.log():
            e.append("the gateway complained: %s" % g.log()[-500:])
        return e

    def c6_sigterm(self, g):
        t0 = time.monotonic()
        g.proc.send_signal(signal.SIGTERM)
        rc = g.wait(30)
        self.env.timing("SIGTERM -> gateway exited", time.monotonic() - t0)
        if rc != 0:
            return "gateway exit %s after SIGTERM:\n%s" % (rc, g.log()[-1500:])
        dt, o, e = wait_views(self.env, self.name, "stopped", 0, t0, 30 + LIMIT)
        if e:
            return "after SIGTERM: %s" % "; ".join(e)
        self.env.timing("SIGTERM -> stopped in every qinqgw-stats view", dt)
        if o.doc["gateway"]["stop_time"] is None:
            return "JSON stop_time null after a clean stop"
        if o.doc["gateway"]["pid"] != g.pid:
            return "JSON pid %s, gateway %d" % (o.doc["gateway"]["pid"], g.pid)
        return None

    # 8
    def planted(self, stopped_name):
        env = self.env
        plant = TAG + "_plant"
        env.shm.add(plant)
        path = "/dev/shm/" + plant
        pre = "8 segment planted by nobody: "
        state = {}

        def make():
            with open("/dev/shm/" + stopped_name, "rb") as f:
                data = bytearray(f.read())
            h = ShmHeader.from_buffer(data)
            # the layout of ShmHeader against what the stopped gateway wrote
            if h.magic != b"QINQGWST" or h.state != QGW_SHM_STOPPED or \
                    h.pid != state["stopped_pid"] or h.size != len(data) or \
                    abs(h.heartbeat - mono_ns()) > 600e9:
                return "test: header layout does not match qgw_shm.h (magic %r state %d pid %d " \
                       "size %d)" % (h.magic, h.state, h.pid, h.size)
            one = proc_stat(1)
            h.state = QGW_SHM_RUNNING
            h.pid = 1
            h.pid_start = one[1]
            h.uid = 0
            h.stop_time = 0
            h.heartbeat = mono_ns()     # fresh: readers say running for 2 s
            del h
            data = bytes(data)
            state["data"] = data
            p = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                "sh", "-c", 'umask 022 && cat > "$1"', "sh", path],
                               input=data, capture_output=True, timeout=20)
            if p.returncode != 0:
                return "test: cannot write %s as nobody: %s" % (path, p.stderr.decode()[-300:])
            st = os.stat(path)
            if st.st_uid != pwd.getpwnam("nobody").pw_uid:
                return "test: %s is owned by uid %d" % (path, st.st_uid)
            state["ino"] = st.st_ino
            d = env.json(plant)
            print("# planted segment reads as %s, pid %s" % (
                d and d["gateway"]["state"], d and d["gateway"]["pid"]), flush=True)
            return None

        h = read_header(stopped_name)
        state["stopped_pid"] = h.pid if h else -1
        if not self.check(pre + "test data (a real stopped segment patched, written as nobody)",
                          make):
            return

        def refused():
            tx = [env.path("plant_tx%d.pcap" % p) for p in range(2)]
            g = Gateway(env, "plant", plant, tx=tx)
            t0 = time.monotonic()
            g.start(wait=False)
            rc = g.wait(30)
            env.timing("gateway on a planted segment -> exit", time.monotonic() - t0)
            log = g.log()
            e = []
            if rc is None:
                g.kill()
                e.append("still running after 30 s")
            elif rc <= 0:
                e.append("exit %d" % rc)
            if "nobody" not in log:
                e.append("the owner `nobody` is not named: %s" % log.strip()[-600:])
            for t in tx:
                try:
                    n = len(q.read_pcap(t))
                except (OSError, ValueError):
                    n = 0
                if n:
                    e.append("%d frames forwarded to %s" % (n, os.path.basename(t)))
            try:
                with open(path, "rb") as f:
                    same = f.read() == state["data"]
                st = os.stat(path)
                if not same or st.st_ino != state["ino"]:
                    e.append("the planted file was changed or replaced")
            except OSError as x:
                e.append("the planted file is gone: %s" % x)
            left = glob.glob("/dev/shm/.qinqgw-%d-*" % g.pid)
            if left:
                e.append("temporary segment left behind: %s" % left)
            print("# refused gateway said: %s" % " | ".join(
                ln for ln in log.strip().splitlines() if "nobody" in ln)[:400], flush=True)
            return e
        self.check(pre + "a gateway with that --stats-name exits non-zero, names the owner, "
                   "forwards nothing, leaves the file alone", refused)

        def warns():
            p = env.stats(plant)
            print("# qinqgw-stats on the planted segment: exit %d, stderr %r"
                  % (p.returncode, p.stderr.strip()[:300]), flush=True)
            if not re.search(r"warning.*nobody", p.stderr, re.S | re.I):
                return "no warning naming nobody on stderr: %r" % p.stderr
            if "nobody" in p.stdout:
                return "the warning went to stdout"
            return None
        self.check(pre + "qinqgw-stats warns on stderr naming the owner", warns)

        def owner():
            p = env.stats(plant, "--owner", "root")
            if p.returncode != EXIT_OWNER:
                return "exit %d, want %d: %s" % (p.returncode, EXIT_OWNER, p.stderr.strip())
            if "nobody" not in p.stderr:
                return "message does not name nobody: %r" % p.stderr
            if p.stdout.strip():
                return "printed counters of a refused segment: %r" % p.stdout[:200]
            return None
        self.check(pre + "qinqgw-stats --owner root exits 8", owner)
        try:
            os.unlink(path)
        except OSError:
            pass
        self.r.check(pre + "planted file removed", not os.path.exists(path), path)

    # 9
    def systemd(self):
        env = self.env
        pre = "9 systemd notify: "
        name = TAG + "_sd"
        nsock = env.path("notify.sock")
        rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        rx.bind(nsock)
        rx.settimeout(0.2)
        msgs = []          # (monotonic time, text, segment state field at receipt)
        stop = threading.Event()

        def receive():
            while not stop.is_set():
                try:
                    data = rx.recv(65536)
                except socket.timeout:
                    continue
                except OSError:
                    return
                now = time.monotonic()
                h = read_header(name) if b"READY=1" in data else None
                msgs.append((now, data.decode(errors="replace"),
                             None if h is None else (h.state, h.pid)))
        th = threading.Thread(target=receive, daemon=True)
        th.start()
        g = Gateway(env, "sd", name, extra=["--fault-injection"],
                    environ={"NOTIFY_SOCKET": nsock, "WATCHDOG_USEC": "1000000"})
        try:
            try:
                g.start(wait=False)
            except OSError as x:
                self.r.check(pre + "gateway starts", False, str(x))
                return

            def ready():
                end = time.monotonic() + 30
                while time.monotonic() < end and not any("READY=1" in m for _, m, _ in msgs):
                    if g.proc.poll() is not None:
                        return "gateway exited %d: %s" % (g.proc.returncode, g.log()[-800:])
                    time.sleep(0.05)
                r = [(t, m, h) for t, m, h in msgs if "READY=1" in m]
                if not r:
                    return "no READY=1 in 30 s; got %r" % [m for _, m, _ in msgs][:10]
                t, m, h = r[0]
                print("# READY message: %r" % m, flush=True)
                e = []
                if len(r) > 1:
                    e.append("READY=1 sent %d times" % len(r))
                st = re.findall(r"^STATUS=(.*)$", m, re.M)
                if not st or "forwarding" not in st[0]:
                    e.append("no STATUS= line mentioning forwarding: %r" % m)
                elif not re.search(r"west up, east up", st[0]):
                    e.append("STATUS does not say both ports up: %r" % st[0])
                if h is None or h[1] != g.pid or h[0] != QGW_SHM_RUNNING:
                    e.append("when READY=1 arrived the segment said state %s pid %s (want "
                             "running %d: ports up)" % (h and h[0], h and h[1], g.pid))
                return e
            if not self.check(pre + "READY=1 with STATUS=forwarding... once the ports are up",
                              ready):
                return

            def watchdog():
                t0 = time.monotonic()
                time.sleep(2.0)
                n = sum(1 for t, m, _ in msgs if "WATCHDOG=1" in m and t0 <= t < t0 + 2.0)
                print("# WATCHDOG=1 %d times in 2 s (WATCHDOG_USEC=1000000)" % n, flush=True)
                # every half of WATCHDOG_USEC: 4 in 2 s; more than 6 is not that
                return None if 3 <= n <= 6 else "WATCHDOG=1 %d times in 2 s" % n
            self.check(pre + "WATCHDOG=1 at least 3 times in 2 s (and not every loop round)",
                       watchdog)

            def freeze():
                r = g.ctl("fault", control_stall_ms=3000)
                t0 = time.monotonic()
                if r.get("ok") is not True:
                    return "fault command refused: %s" % r
                time.sleep(4.5)
                wd = [t for t, m, _ in msgs if "WATCHDOG=1" in m]
                # the freeze starts right after the reply; a WATCHDOG=1 sent at
                # the top of that loop round may be timestamped by the receiver
                # thread a little after the reply: 0.1 s of slack
                during = [t - t0 for t in wd if t0 + 0.1 < t <= t0 + 2.1]
                around = [t for t in wd if t0 - 1.0 <= t <= t0 + 4.5]
                gaps = [b - a for a, b in zip(around, around[1:])]
                gap = max(gaps) if gaps else None
                env.timing("longest gap between WATCHDOG=1 around a 3 s control-plane freeze",
                           gap)
                e = []
                if during:
                    e.append("WATCHDOG=1 at +%s s during the freeze" %
                             ", +".join("%.2f" % x for x in during))
                if gap is None or gap < 2.0:
                    e.append("longest gap %s s" % gap)
                if not [t for t in wd if t0 + 3.0 <= t <= t0 + 4.5]:
                    e.append("no WATCHDOG=1 after the freeze ended")
                return e
            self.check(pre + "no WATCHDOG=1 for at least 2 s while the control plane is "
                       "frozen 3 s, then again", freeze)

            def stopping():
                t0 = time.monotonic()
                g.proc.send_signal(signal.SIGTERM)
                rc = g.wait(30)
                time.sleep(0.3)
                s = [(t, m) for t, m, _ in msgs if "STOPPING=1" in m]
                e = []
                if rc != 0:
                    e.append("gateway exit %s after SIGTERM" % rc)
                if not s:
                    e.append("no STOPPING=1; last messages %r" % [m for _, m, _ in msgs][-3:])
                elif s[0][0] < t0:
                    e.append("STOPPING=1 before SIGTERM")
                else:
                    env.timing("SIGTERM -> STOPPING=1", s[0][0] - t0)
                return e
            self.check(pre + "STOPPING=1 at SIGTERM, exit 0", stopping)
        finally:
            g.kill()
            stop.set()
            th.join(5)
            rx.close()

    # 10
    @staticmethod
    def spread_telemetry(pid):
        """Move the gateway's telemetry listener (its client threads inherit
        the mask) off the main lcore's CPU: DPDK gives control threads the
        main lcore's CPU when every CPU is an lcore, and callbacks that only
        ever run between the main thread's time slices hide a shutdown race.
        Returns the CPUs given, or None."""
        main = os.sched_getaffinity(pid)
        others = set(range(os.cpu_count() or 1)) - main
        if not others:
            return None
        moved = None
        for tid in os.listdir("/proc/%d/task" % pid):
            try:
                with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
                    comm = f.read().strip()
                if comm.startswith("telemetry"):
                    os.sched_setaffinity(int(tid), others)
                    moved = others
            except OSError:
                pass
        return moved

    def telemetry_shutdown(self, runs=5):
        env = self.env
        for i in range(runs):
            name = "%s_tel%d" % (TAG, i)
            g = Gateway(env, "tel%d" % i, name)

            def one():
                g.start()
                cpus = self.spread_telemetry(g.pid)
                stop = threading.Event()
                counts = {"/qinqgw/flow,f1": 0, "/qinqgw/port,west": 0}
                errors = []

                def hammer(cmd):
                    try:
                        t = q.Telemetry(g.telemetry_path())
                    except OSError as x:
                        errors.append("%s: connect: %s" % (cmd, x))
                        return
                    key = cmd.split(",")[0]
                    try:
                        while not stop.is_set():
                            r = t.cmd(cmd)
                            if isinstance(r.get(key), dict) and r[key]:
                                counts[cmd] += 1
                    except (OSError, ValueError, ConnectionError):
                        pass        # the gateway went away: expected
                    finally:
                        t.close()
                ths = [threading.Thread(target=hammer, args=(c,), daemon=True) for c in counts]
                for th in ths:
                    th.start()
                time.sleep(0.4 + 0.05 * i)
                before = dict(counts)
                g.proc.send_signal(signal.SIGTERM)
                rc = g.wait(30)
                stop.set()
                for th in ths:
                    th.join(10)
                log = g.log()
                print("# run %d: telemetry threads on CPUs %s, replies before SIGTERM %s, "
                      "in all %s, exit %s" % (i, cpus, before, counts, rc), flush=True)
                e = list(errors)
                if rc is None:
                    g.kill()
                    e.append("gateway still running 30 s after SIGTERM")
                elif rc != 0:
                    e.append("gateway exit %d%s" % (rc, " (killed by signal %d)" % -rc
                                                     if rc < 0 else ""))
                if any(n < 10 for n in before.values()):
                    e.append("test: telemetry hardly answered before SIGTERM: %s" % before)
                m = SANITIZER.search(log)
                if m:
                    e.append("log says %r: %s" % (m.group(0), log[max(0, m.start() - 300):
                                                                  m.start() + 600]))
                if e and rc != 0:
                    e.append("log tail: %s" % log[-800:])
                return e
            self.check("10 telemetry at shutdown, run %d of %d: /qinqgw/flow and /qinqgw/port "
                       "hammered through SIGTERM: exit 0, no sanitizer or segfault message"
                       % (i + 1, runs), one)
            g.kill()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw", required=True)
    ap.add_argument("--qinqgw-stats", required=True)
    ap.add_argument("--qinqgw-ctl", required=True)
    ap.add_argument("--only", default="", help="comma-separated groups: main,plant,sd,tel")
    args = ap.parse_args()
    only = set(filter(None, args.only.split(",")))
    results = q.Results()
    if os.geteuid() != 0:
        results.check("runs as root", False, "the gateway needs root (EAL, /dev/shm, setpriv)")
        return results.finish()
    t_start = time.monotonic()
    env = Env(args)
    try:
        t = Test(env, results)
        g2 = None
        if not only or "main" in only or "plant" in only:
            g2 = t.main_sequence()
        if not only or "plant" in only:
            if g2 is not None and g2.proc.returncode == 0:
                t.planted(t.name)
            else:
                results.check("8 segment planted by nobody", False,
                              "no stopped segment to copy (check 6 failed)")
        if not only or "sd" in only:
            t.systemd()
        if not only or "tel" in only:
            t.telemetry_shutdown()
    finally:
        env.cleanup()
    print("# timings:", flush=True)
    for what, s in env.times:
        print("#   %-80s %s" % (what, "%.3f s" % s if s is not None else "never"))
    print("# total %.1f s" % (time.monotonic() - t_start))
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
