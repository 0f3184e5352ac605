#!/usr/bin/python3
"""Hostile control clients: no client of the control socket can freeze the
gateway's main lcore (docs/control.md, "No client can freeze the gateway").

One gateway carries endless traffic on two flows (two net_pcap vdevs reading
small pcap files with infinite_rx, tx to /dev/null: nothing is sent
anywhere; no network namespace is needed), started with --fault-injection
and --ctl-timeout 3 so that timeouts show quickly. Then 16 hostile clients
at once, each a process of its own (this script with --client KIND, so that
the gateway log names each one by its pid), each reconnecting as soon as the
gateway closed it, so that all 16 stay active through the whole phase:
  pipe  4 pipelining thousands of `show` requests and never reading,
  slow  4 sending one byte of a request a second,
  big   4 sending a 10 MiB request line as fast as the socket takes it
        (0.25 s pause between two connections of one process; none in
        the SIGTERM round, so that all 16 are connected when it comes),
  idle  4 connecting and sending nothing.

Checks (each prints `ok NAME` or `FAIL NAME: why`; times as `# time` lines):
  5b quiet gateway: 64 connections accepted (each answers `show`), the 65th
     gets exactly the one `busy` line and is closed, `qinqgw-ctl show`
     exits 3, and once the 64 are closed `show` works again.
  1  well-behaved `qinqgw-ctl show` and a raw-socket `show` (a fresh
     connection each) answer within 100 ms every time, at least 20 tries
     each spread over the hostile phase (min/median/max printed).
  2  `qinqgw-ctl apply --confirm 2 FILE` (flow f2's east VID changed)
     applies; the gateway rolls back by itself 2 s later, within 0.2 s
     (generation polled every 20 ms over a raw connection), back to the
     config it ran before.
  3  worker 0 stalled 3 s (fault stall_ms 3000): qinqgw-stats --json says
     workers[0].stalled within 2.5 s, and polls again afterwards.
  5a under attack: connections fill up to 64 with the hostile ones, the
     next one gets the one `busy` line, `qinqgw-ctl show` exits 3.
  4  every hostile connection is closed by the gateway and logged with its
     uid and pid: non-readers (`it has not read its answers`) after about
     3 s, 10 MiB senders get the error line `request line longer than 8 MiB
     bytes` and are closed, idle ones after 3 s, slow ones 3 s after their
     first byte; their sockets see the close (POLLHUP/EPIPE, then EOF or
     ECONNRESET). And connections whose client is gone are freed: 1 s after
     the hostile processes exited, the main lcore is idle (< 10% CPU) and
     64 connections are accepted again.
  5c `qinqgw-ctl` against a full gateway says why (`too many control
     connections: try again later`), not just exit 3.
  6  no frame of the kept flows lost: per port rx = tx(other) -
     icmp_sent(other) + dropped, exactly, while worker 0 is stalled in the
     hostile phase and after the gateway stopped; the kept flow f1 never
     dropped a frame; the only drops are east's no_flow during the 2 s f2
     was changed (none before, none after the rollback).
  7  VmRSS of the gateway after hostile round 3 (then gone) is within 4 MiB
     of the value after round 1 (then gone): warm-up allocations of round 1
     do not count. The gateway runs with GLIBC_TUNABLES=
     glibc.malloc.mmap_threshold=262144 (--default-malloc: without): with
     glibc's dynamic threshold, freed 8 MiB request buffers come from and
     stay in the heap, and VmRSS after a round varies by 0..8 MiB at random
     (not a leak: it does not grow over rounds), which would make this
     check flaky.
  8  SIGTERM with 16 hostile clients connected: exit 0 within 1 s.

The old gateway (before the control socket was made non-blocking) has no
--ctl-timeout: the option is left out when `qinqgw --help` does not list it
or with --old; the checks stay the same (and fail there). Every wait in
this test is bounded, so a frozen gateway makes checks fail, never hang.

Runs in about 30 s (about 50 s against the old gateway).

Usage: /usr/bin/python3 test_ctl_hostile.py --qinqgw PATH --qinqgw-stats PATH
           --qinqgw-ctl PATH [--old] [--default-malloc]        (root)
"""
import argparse
import errno
import json
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)

TIMEOUT = 3                     # --ctl-timeout of the gateway under test
SHOW = b'{"version":1,"command":"show"}\n'
BUSY = (b'{"version":1,"ok":false,"busy":true,"errors":["too many control connections: '
        b'try again later"]}\n')
LONG_LINE = "request line longer than 8 MiB bytes"
MAX_CLIENTS = 64
BIG = 10 << 20                  # bytes of a big sender's request line
BIG_PAUSE = 0.25                # s between two connections of a big sender
KINDS = ("pipe", "slow", "big", "idle")
PER_KIND = 4
SHOW_LIMIT = 0.100              # s: a well-behaved show under attack
MIN_TRIES = 20
ROLLBACK_SLACK = 0.200          # s after the 2 s confirm timeout
STALL_LIMIT = 2.5               # s: worker stall flagged
RSS_MARGIN_KB = 4096
TERM_LIMIT = 1.0                # s: SIGTERM -> exit
HUP = select.POLLHUP | select.POLLERR | getattr(select, "POLLRDHUP", 0x2000)


def now():
    return time.monotonic()     # CLOCK_MONOTONIC: one clock for every process


# ================================================================ the clients
# Each hostile client is a process of its own running this script with
# --client KIND. It connects, misbehaves until the gateway closes the
# connection, prints one JSON line about that connection, and connects
# again, until the file `stop` appears in its directory (`pause`: no new
# connection meanwhile). Events on stdout:
#   {"ev": "conn", "n": N, "t": T}    connected (connect() returned)
#   {"ev": "end", "n": N, ...}        the connection is over: how and when
#   {"ev": "fail", "n": N, "err": E}  connect() failed

class Client:
    def __init__(self, kind, path, ctl_dir, big_pause=BIG_PAUSE):
        self.kind, self.path, self.dir = kind, path, ctl_dir
        self.big_pause = big_pause
        self.parent = os.getppid()
        self.deadline = now() + 120
        self.big_buf = None

    def emit(self, **ev):
        sys.stdout.write(json.dumps(ev) + "\n")
        sys.stdout.flush()

    def flag(self, name):
        if name == "stop" and (os.getppid() != self.parent or now() > self.deadline or
                               not os.path.isdir(self.dir)):
            return True             # the test is gone or late: never an orphan
        return os.path.exists(os.path.join(self.dir, name))

    def run(self):
        n = 0
        while not self.flag("stop"):
            if self.flag("pause"):
                time.sleep(0.01)
                continue
            n += 1
            self.emit(**self.one(n))
            if self.kind == "big":
                end = now() + self.big_pause
                while now() < end and not self.flag("stop"):
                    time.sleep(0.02)
        return 0

    def one(self, n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(2)
        t0 = now()
        try:
            s.connect(self.path)
        except OSError as e:
            s.close()
            time.sleep(0.1)
            return {"ev": "fail", "n": n, "t": t0, "err": str(e)}
        s.setblocking(False)
        self.emit(ev="conn", n=n, t=now())
        rec = {"ev": "end", "n": n, "kind": self.kind, "t_conn": t0, "sent": 0,
               "first_byte": None, "t_close": None, "seen": None, "how": None,
               "line": None, "t_line": None, "received": 0, "stopped": False}
        p = select.poll()
        try:
            getattr(self, self.kind)(s, p, rec)
        except Exception as e:          # noqa: BLE001 - reported, never silent
            rec["error"] = "%s: %s" % (type(e).__name__, e)
        finally:
            s.close()
        return rec

    def closed(self, s, rec, seen):
        """The gateway closed (seen: the first sign of it); read what is
        left until EOF or an error, with a bound."""
        rec["t_close"], rec["seen"] = now(), seen
        first, end = b"", now() + 2.0
        while now() < end:
            try:
                d = s.recv(1 << 20)
            except BlockingIOError:
                select.select([s], [], [], 0.05)
                continue
            except OSError as e:
                rec["how"] = errno.errorcode.get(e.errno, str(e.errno))
                break
            if not d:
                rec["how"] = "EOF"
                break
            if rec["t_line"] is None:
                rec["t_line"] = now()
            rec["received"] += len(d)
            if b"\n" not in first:
                first += d[:4096]
        else:
            rec["how"] = "still open after 2 s"
        if first:
            rec["line"] = first.split(b"\n")[0][:400].decode(errors="replace")

    def sent_some(self, rec, k):
        if rec["first_byte"] is None:
            rec["first_byte"] = now()
        rec["sent"] += k

    def pipe(self, s, p, rec):
        batch = SHOW * 2048
        off = 0
        p.register(s, select.POLLOUT | HUP)
        while True:
            if self.flag("stop"):
                rec["stopped"] = True
                return
            ev = p.poll(20)
            if ev and ev[0][1] & HUP:
                return self.closed(s, rec, "POLLHUP")
            if ev and ev[0][1] & select.POLLOUT:
                try:
                    k = s.send(batch[off:])
                except BlockingIOError:
                    continue
                except OSError as e:
                    return self.closed(s, rec, errno.errorcode.get(e.errno, "?"))
                self.sent_some(rec, k)
                off = (off + k) % len(batch)

    def slow(self, s, p, rec):
        text = SHOW[:-1]            # never the newline
        i, due = 0, now()
        p.register(s, select.POLLIN | HUP)
        while True:
            if self.flag("stop"):
                rec["stopped"] = True
                return
            if now() >= due and i < len(text):
                try:
                    s.send(text[i:i + 1])
                except OSError as e:
                    return self.closed(s, rec, errno.errorcode.get(e.errno, "?"))
                self.sent_some(rec, 1)
                i += 1
                due += 1.0
            ev = p.poll(20)
            if ev:
                return self.closed(s, rec, "POLLHUP" if ev[0][1] & HUP else "POLLIN")

    def idle(self, s, p, rec):
        p.register(s, select.POLLIN | HUP)
        while True:
            if self.flag("stop"):
                rec["stopped"] = True
                return
            ev = p.poll(20)
            if ev:
                return self.closed(s, rec, "POLLHUP" if ev[0][1] & HUP else "POLLIN")

    def big_line(self):
        if self.big_buf is None:
            head = b'{"version":1,"command":"check","config":"'
            self.big_buf = memoryview(head + b"x" * (BIG - len(head) - 3) + b'"}\n')
        return self.big_buf

    def big(self, s, p, rec):
        line = self.big_line()
        off = 0
        p.register(s, select.POLLIN | select.POLLOUT | HUP)
        while True:
            if self.flag("stop"):
                rec["stopped"] = True
                return
            ev = p.poll(20)
            if not ev:
                continue
            m = ev[0][1]
            if m & (select.POLLIN | HUP):
                return self.closed(s, rec, "POLLIN" if m & select.POLLIN else "POLLHUP")
            if m & select.POLLOUT:
                try:
                    k = s.send(line[off:off + (1 << 20)])
                except BlockingIOError:
                    continue
                except OSError as e:
                    return self.closed(s, rec, errno.errorcode.get(e.errno, "?"))
                self.sent_some(rec, k)
                off += k
                if off >= len(line):
                    p.modify(s, select.POLLIN | HUP)


def client_main(args):
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    return Client(args.client, args.socket, args.dir, args.big_pause).run()


# ============================================================ the test side

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
# the apply --confirm: f2's east VID 1002 -> 1003 (its east->west frames,
# still tagged 1002, are no_flow for the 2 s until the rollback)
CHANGED = json.loads(json.dumps(CONFIG))
CHANGED["flows"][1]["east"] = [T(0x8100, 1003)]


class Env:
    def __init__(self, args):
        import qgwtest as q
        self.q = q
        self.qinqgw = os.path.abspath(args.qinqgw)
        self.stats_bin = os.path.abspath(args.qinqgw_stats)
        self.ctl_bin = os.path.abspath(args.qinqgw_ctl)
        self.tmp = tempfile.mkdtemp(prefix="qgwch_")
        self.keep = False
        self.times = []
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID",
                                 "LISTEN_FDS", "LISTEN_PID")}
        fm = q.FrameMaker(11)
        model = q.Model(CONFIG)
        self.rx = []
        for p, port in enumerate(("west", "east")):
            frames = []
            for f in CONFIG["flows"]:
                for i in range(16):
                    frames.append(fm.frame([q.tag(int(t["tpid"], 16), t["vid"]) for t in f[port]]
                                           + [q.tag(0x8100, 10 + i)], 64 + 40 * i))
            for fr in frames:
                assert model.verdict(p, fr).drop is None, "test data"
            path = self.path("rx%d.pcap" % p)
            q.write_pcap(path, frames)
            self.rx.append(path)
        for name, cfg in (("config.json", CONFIG), ("changed.json", CHANGED)):
            with open(self.path(name), "w") as f:
                json.dump(cfg, f, indent=1)
        if not args.default_malloc:
            # glibc's dynamic mmap threshold: after the first 8 MiB request
            # buffer is freed, later ones come from the heap and up to two
            # of them may stay resident, freed but untrimmed (measured: RSS
            # +0..8 MiB after a round, not growing over rounds). A fixed
            # threshold maps every buffer over 256 KiB on its own and gives
            # it back on free, so VmRSS shows what the gateway still holds.
            tun = "glibc.malloc.mmap_threshold=262144"
            old = self.env.get("GLIBC_TUNABLES")
            self.env["GLIBC_TUNABLES"] = old + ":" + tun if old else tun
        help_text = subprocess.run([self.qinqgw, "--help"], capture_output=True, text=True,
                                   timeout=20)
        self.has_timeout = not args.old and "--ctl-timeout" in help_text.stdout + help_text.stderr

    def path(self, name):
        return os.path.join(self.tmp, name)

    def timing(self, what, seconds, extra="", none="never"):
        self.times.append((what, seconds, extra))
        print("# time %s: %s%s" % (what, "%.3f s" % seconds if seconds is not None else none,
                                   extra), flush=True)

    def stats_json(self, name, timeout=5):
        try:
            p = subprocess.run([self.stats_bin, "--stats-name", name, "--json"],
                               capture_output=True, text=True, timeout=timeout)
            return json.loads(p.stdout)
        except (subprocess.TimeoutExpired, ValueError):
            return None

    def ctl(self, sock, *args, timeout=5):
        """(exit status or None on timeout, stdout, stderr, seconds)."""
        t0 = now()
        try:
            p = subprocess.run([self.ctl_bin, "--socket", sock] + list(args),
                               capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as e:
            return None, e.stdout or "", e.stderr or "", now() - t0
        return p.returncode, p.stdout, p.stderr, now() - t0

    def cleanup(self):
        if self.keep:
            print("# files kept in %s" % self.tmp, flush=True)
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)


class Gateway:
    def __init__(self, env):
        self.env = env
        self.prefix = "qgwch_%d" % os.getpid()
        self.stats_name = self.prefix
        self.sock = env.path("ctl.sock")
        self.out, self.err = env.path("gw.stdout"), env.path("gw.stderr")
        cmd = [env.qinqgw, "-l", "0-1", "--no-huge", "-m", "512", "--no-pci",
               "--file-prefix", self.prefix, "--log-level=pmd.net.pcap:warning"]
        for p in range(2):
            cmd += ["--vdev", "net_pcap%d,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1"
                    % (p, env.rx[p])]
        cmd += ["--", "--config", env.path("config.json"), "--stats-name", self.stats_name,
                "--ctl-socket", self.sock, "--fault-injection"]
        if env.has_timeout:
            cmd += ["--ctl-timeout", str(TIMEOUT)]
        self.cmd = cmd
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid

    def start(self, timeout=30):
        with open(self.env.path("gw.command"), "w") as f:
            f.write(" ".join(self.cmd) + "\n")
        self.proc = subprocess.Popen(self.cmd, stdout=open(self.out, "w"),
                                     stderr=open(self.err, "w"), stdin=subprocess.DEVNULL,
                                     env=self.env.env)
        end = now() + timeout
        while now() < end:
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited with %d:\n%s" % (self.proc.returncode,
                                                                    self.log()[-2000:]))
            d = self.env.stats_json(self.stats_name)
            if d is not None and d["gateway"]["pid"] == self.pid and \
                    d["gateway"]["state"] == "running" and \
                    all(p["rx_packets"] > 0 for p in d["ports"]) and os.path.exists(self.sock):
                return
            time.sleep(0.1)
        raise RuntimeError("gateway not running with traffic after %d s:\n%s"
                           % (timeout, self.log()[-2000:]))

    def log(self):
        text = ""
        for p in (self.err, self.out):
            try:
                with open(p, errors="replace") as f:
                    text += f.read()
            except OSError:
                pass
        return text

    def rss_kb(self):
        with open("/proc/%d/status" % self.pid) as f:
            m = re.search(r"^VmRSS:\s+(\d+) kB", f.read(), re.M)
        return int(m.group(1))

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()
        try:
            os.unlink("/dev/shm/" + self.stats_name)
        except OSError:
            pass
        shutil.rmtree(os.path.join("/var/run/dpdk", self.prefix), ignore_errors=True)


class Raw:
    """One control connection of a well-behaved client."""

    def __init__(self, path, timeout=2.0):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        self.buf = b""
        end = now() + timeout
        try:
            while True:
                try:
                    self.s.connect(path)
                    break
                except BlockingIOError:
                    # AF_UNIX: the listen backlog is full (the gateway has not
                    # accepted yet); a blocking client would wait, so do we
                    if now() > end:
                        raise
                    time.sleep(0.002)
        except OSError:
            self.s.close()
            raise

    def line(self):
        while b"\n" not in self.buf:
            d = self.s.recv(1 << 16)
            if not d:
                raise ConnectionError("closed by the gateway%s" % (
                    " after %r" % self.buf[:200] if self.buf else ""))
            self.buf += d
        ln, _, self.buf = self.buf.partition(b"\n")
        return ln

    def send(self, data):
        self.s.sendall(data)

    def req(self, command, **kw):
        r = {"version": 1, "command": command}
        r.update(kw)
        self.s.sendall((json.dumps(r) + "\n").encode())
        return json.loads(self.line())

    def close(self):
        self.s.close()


def raw_show(path, timeout=2.0):
    """(seconds, None) or (seconds, why): connect, show, answer."""
    t0 = now()
    try:
        c = Raw(path, timeout)
        try:
            r = c.req("show")
        finally:
            c.close()
    except (OSError, ValueError, ConnectionError) as e:
        return now() - t0, "%s: %s" % (type(e).__name__, e)
    dt = now() - t0
    if r.get("ok") is not True or "config" not in r or "generation" not in r:
        return dt, "answer %s" % json.dumps(r)[:300]
    return dt, None


def ctl_show(env, path):
    rc, out, err, dt = env.ctl(path, "show", timeout=3)
    if rc != 0:
        return dt, "exit %s: %s" % (rc, (err or out).strip()[:300])
    if "generation" not in out:
        return dt, "no generation in %r" % out[:200]
    return dt, None


class Hostile:
    """16 hostile client processes (4 of each kind), reconnecting until stop()."""

    def __init__(self, env, gw, rnd, big_pause=BIG_PAUSE):
        self.env, self.gw, self.rnd = env, gw, rnd
        self.dir = env.path("round%d" % rnd)
        os.mkdir(self.dir)
        self.lock = threading.Lock()
        self.procs = []             # (kind, Popen)
        self.events = {}            # pid -> [event]
        self.readers = []
        for kind in KINDS:
            for i in range(PER_KIND):
                errpath = os.path.join(self.dir, "%s%d.stderr" % (kind, i))
                err = open(errpath, "w")
                p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--client", kind,
                                      "--socket", gw.sock, "--dir", self.dir,
                                      "--big-pause", str(big_pause)],
                                     stdout=subprocess.PIPE, stderr=err,
                                     stdin=subprocess.DEVNULL, text=True)
                err.close()
                p.errpath = errpath
                self.procs.append((kind, p))
                self.events[p.pid] = []
                th = threading.Thread(target=self.read, args=(p,), daemon=True)
                th.start()
                self.readers.append(th)

    def read(self, p):
        for line in p.stdout:
            try:
                ev = json.loads(line)
            except ValueError:
                ev = {"ev": "garbage", "text": line[:200]}
            with self.lock:
                self.events[p.pid].append(ev)

    def live(self):
        """{kind: connections open now} as the clients see them."""
        n = {k: 0 for k in KINDS}
        with self.lock:
            for kind, p in self.procs:
                ev = [e for e in self.events[p.pid] if e["ev"] in ("conn", "end")]
                if ev and ev[-1]["ev"] == "conn":
                    n[kind] += 1
        return n

    def wait_connected(self, timeout=5.0):
        end = now() + timeout
        while now() < end:
            with self.lock:
                if all(any(e["ev"] == "conn" for e in self.events[p.pid])
                       for _, p in self.procs):
                    return True
            time.sleep(0.02)
        return False

    def pause(self, on):
        f = os.path.join(self.dir, "pause")
        if on:
            open(f, "w").close()
        elif os.path.exists(f):
            os.unlink(f)

    def stop(self):
        open(os.path.join(self.dir, "stop"), "w").close()
        for _, p in self.procs:
            try:
                p.wait(timeout=8)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for th in self.readers:
            th.join(5)

    def crashed(self):
        e = []
        for kind, p in self.procs:
            if p.returncode != 0:
                with open(p.errpath, errors="replace") as f:
                    e.append("%s client pid %d exit %s: %s" % (kind, p.pid, p.returncode,
                                                                f.read()[-500:]))
        return e

    def fails(self, kind):
        with self.lock:
            return [e.get("err") for k, p in self.procs if k == kind
                    for e in self.events[p.pid] if e["ev"] in ("fail", "garbage")]

    def ends(self):
        """[(kind, pid, record)] of every connection that ended."""
        out = []
        with self.lock:
            for kind, p in self.procs:
                out += [(kind, p.pid, e) for e in self.events[p.pid] if e["ev"] == "end"]
        return out


class Prober(threading.Thread):
    """Well-behaved clients through the hostile phase: qinqgw-ctl show and a
    raw show (fresh connection) every ~0.3 s."""

    def __init__(self, env, gw):
        super().__init__(daemon=True)
        self.env, self.gw = env, gw
        self.res = {"qinqgw-ctl show": [], "raw show": []}
        self.halt = threading.Event()
        self.hold = threading.Event()
        self.idle = threading.Event()

    def run(self):
        while not self.halt.is_set():
            if self.hold.is_set():
                self.idle.set()
                time.sleep(0.01)
                continue
            self.idle.clear()
            for what, fn in (("qinqgw-ctl show", lambda: ctl_show(self.env, self.gw.sock)),
                             ("raw show", lambda: raw_show(self.gw.sock))):
                if self.hold.is_set() or self.halt.is_set():
                    break
                dt, why = fn()
                self.res[what].append((now(), dt, why))
            self.halt.wait(0.25)

    def pause(self):
        self.idle.clear()
        self.hold.set()
        self.idle.wait(10)

    def resume(self):
        self.hold.clear()

    def count(self):
        return min(len(v) for v in self.res.values())


def accounting(d):
    """[] or what is wrong with rx(p) = tx(q) - icmp_sent(q) + dropped(p)."""
    e = []
    ports = {p["name"]: p for p in d["ports"]}
    for pn, qn in (("west", "east"), ("east", "west")):
        p, q = ports[pn], ports[qn]
        if p["rx_packets"] != q["tx_packets"] - q["icmp_sent"] + p["dropped"]:
            e.append("%s rx_packets %d != %s tx_packets %d - icmp_sent %d + %s dropped %d "
                     "(off by %d)" % (pn, p["rx_packets"], qn, q["tx_packets"], q["icmp_sent"],
                                      pn, p["dropped"], p["rx_packets"] - q["tx_packets"]
                                      + q["icmp_sent"] - p["dropped"]))
        if sum(p["drops"].values()) != p["dropped"]:
            e.append("%s drop reasons sum to %d, dropped %d" % (pn, sum(p["drops"].values()),
                                                               p["dropped"]))
    return e


def flow_drops(d, name):
    f = [x for x in d["flows"] if x["name"] == name]
    if not f:
        return None
    return {x["direction"]: (x["packets"], x["dropped"]) for x in f[0]["directions"]}


def port_summary(d):
    return "; ".join("%s rx %d tx %d icmp_sent %d dropped %d %s" % (
        p["name"], p["rx_packets"], p["tx_packets"], p["icmp_sent"], p["dropped"],
        {k: v for k, v in p["drops"].items() if v}) for p in d["ports"])


def fmt_times(v):
    if not v:
        return "no samples"
    return "min %.1f ms, median %.1f ms, max %.1f ms (%d tries)" % (
        1000 * min(v), 1000 * statistics.median(v), 1000 * max(v), len(v))


class Test:
    def __init__(self, env, results):
        self.env, self.r = env, results
        self.gw = Gateway(env)
        self.snap = None            # stats while worker 0 is stalled (check 6)
        self.ctl_full = []          # qinqgw-ctl on a full gateway: (where, rc, stderr, s)

    def check(self, name, fn):
        try:
            e = fn()
        except (OSError, ConnectionError, ValueError) as x:
            # the control socket did not answer (a frozen gateway) or garbled
            e = "control socket: %s: %s" % (type(x).__name__, x)
        except Exception as x:      # noqa: BLE001 - a failed check, not a crash
            import traceback
            e = "test error: %s\n%s" % (x, traceback.format_exc()[-1500:])
        if isinstance(e, list):
            e = "; ".join(e) if e else None
        if e:
            self.env.keep = True
        return self.r.check(name, not e, e or "")

    # ---------------------------------------------------------------- 5b
    def fill(self, want=None):
        """Open connections until one gets the busy line. Returns (number
        accepted, [why] for anything unexpected, refused socket's bytes)."""
        conns, e = [], []
        n_open = (want if want is not None else MAX_CLIENTS) + 2
        for _ in range(n_open):
            try:
                conns.append(Raw(self.gw.sock, timeout=2.0))
            except BlockingIOError:
                e.append("connect %d: the listen backlog stayed full for 2 s" % (len(conns) + 1))
                break
            except OSError as x:
                e.append("connect %d: %s" % (len(conns) + 1, x))
                break
        states = []
        for c in conns:
            try:
                c.send(SHOW)
            except OSError:
                pass                # refused and closed already: read its line below
            try:
                ln = c.line() + b"\n"
            except (OSError, ConnectionError) as x:
                states.append(("error", str(x)))
                continue
            if ln == BUSY:
                try:
                    more = c.s.recv(100)
                    states.append(("busy", "EOF" if more == b"" else "more: %r" % more[:100]))
                except ConnectionResetError:
                    states.append(("busy", "ECONNRESET"))
                except OSError as x:
                    states.append(("busy", str(x)))
            else:
                try:
                    r = json.loads(ln)
                    states.append(("ok", None) if r.get("ok") is True and "config" in r
                                  else ("other", ln[:300]))
                except ValueError:
                    states.append(("other", ln[:300]))
        accepted = sum(1 for s, _ in states if s == "ok")
        first_busy = next((i for i, (s, _) in enumerate(states) if s == "busy"), None)
        if first_busy is None:
            e.append("no connection of %d got the busy line (states %s)"
                     % (len(states), sorted({s for s, _ in states})))
        else:
            if any(s != "busy" for s, _ in states[first_busy:]):
                e.append("after the first busy line at connection %d: %s"
                         % (first_busy + 1, [s for s, _ in states[first_busy:]]))
            bad_close = [x for s, x in states if s == "busy" and x not in ("EOF", "ECONNRESET")]
            if bad_close:
                e.append("a refused connection was not closed after its line: %s" % bad_close[0])
        others = [x for s, x in states if s in ("other", "error")]
        if others:
            e.append("%d connections got neither an answer nor the busy line, first: %s"
                     % (len(others), others[0]))
        return accepted, e, conns

    def full_ctl(self, where):
        """qinqgw-ctl show on a full gateway; remembered for check 5c."""
        rc, out, err, dt = self.env.ctl(self.gw.sock, "show", timeout=5)
        self.ctl_full.append((where, rc, err.strip(), dt))
        print("# qinqgw-ctl show on the full gateway (%s): exit %s in %.0f ms, stderr %r"
              % (where, rc, 1000 * dt, err.strip()[:200]), flush=True)
        if rc != 3:
            return ["qinqgw-ctl show on a full gateway exits %s, want 3 (%s)"
                    % (rc, (err or out).strip()[:200])]
        return []

    def refusals_logged(self):
        return len(re.findall(r"control socket: %d connections already, uid %d pid %d refused"
                              % (MAX_CLIENTS, os.getuid(), os.getpid()), self.gw.log()))

    def full_quiet(self, title, name):
        def one():
            logged = self.refusals_logged()
            t0 = now()
            accepted, e, conns = self.fill()
            dt = now() - t0
            try:
                e += self.full_ctl(name)
            finally:
                for c in conns:
                    c.close()
            self.env.timing("%d connections opened and answered (%s)" % (len(conns), name), dt)
            print("# %s: %d connections accepted, then refused" % (name, accepted), flush=True)
            if accepted != MAX_CLIENTS:
                e.append("%d connections accepted, want %d" % (accepted, MAX_CLIENTS))
            n_log = self.refusals_logged() - logged
            if n_log < len(conns) - accepted:
                e.append("%d refusals, %d log lines `control socket: %d connections already, "
                         "uid %d pid %d refused`" % (len(conns) - accepted, n_log, MAX_CLIENTS,
                                                     os.getuid(), os.getpid()))
            time.sleep(0.2)
            dt2, why = raw_show(self.gw.sock)
            if why:
                e.append("show after the 64 were closed: %s" % why)
            return e
        return self.check(title, one)

    def gone_freed(self):
        """After the hostile clients exited: their connections are freed."""
        gw = self.gw

        def cpu():
            with open("/proc/%d/task/%d/stat" % (gw.pid, gw.pid)) as f:
                r = f.read()
            r = r[r.rindex(")") + 2:].split()
            return (int(r[11]) + int(r[12])) / os.sysconf("SC_CLK_TCK")

        def one():
            time.sleep(1.0)
            c0, t0 = cpu(), now()
            time.sleep(1.0)
            busy = (cpu() - c0) / (now() - t0)
            print("# main lcore CPU 1..2 s after the hostile clients exited: %.0f%%"
                  % (100 * busy), flush=True)
            e = []
            if busy > 0.10:
                e.append("the main lcore is %.0f%% busy 1 s after every hostile client exited"
                         % (100 * busy))
            return e + self.fill_errors("2 s after round 1")
        return self.check(
            "4 connections of clients that are gone are freed: 1 s after the hostile clients "
            "exited the main lcore is idle (< 10% CPU), and 64 connections are accepted again",
            one)

    def fill_errors(self, name):
        accepted, e, conns = self.fill()
        for c in conns:
            c.close()
        print("# %s: %d connections accepted, then refused" % (name, accepted), flush=True)
        if accepted != MAX_CLIENTS:
            e.append("%d connections accepted, want %d: %d slots still held"
                     % (accepted, MAX_CLIENTS, MAX_CLIENTS - accepted))
        return e

    def ctl_message(self):
        def one():
            e = []
            if not self.ctl_full:
                return "qinqgw-ctl never ran against a full gateway"
            for where, rc, err, dt in self.ctl_full:
                if rc == 3 and "too many control connections" not in err:
                    e.append("%s: exit 3 but it says %r" % (where, err[:200]))
            return e
        self.check("5c qinqgw-ctl against a full gateway says why: `too many control "
                   "connections: try again later`", one)

    # ----------------------------------------------------------------- 2
    def apply_rollback(self):
        env, gw = self.env, self.gw

        def one():
            e = []
            c = Raw(gw.sock, timeout=2.0)
            try:
                r0 = c.req("show")
                g0, cfg0 = r0["generation"], r0["config"]
                t_start = now()
                rc, out, err, dt = env.ctl(gw.sock, "apply", "--confirm", "2",
                                           env.path("changed.json"), timeout=5)
                t_end = now()
                env.timing("qinqgw-ctl apply --confirm 2 under attack", dt)
                if rc != 0:
                    return "apply exit %s: %s" % (rc, (err or out).strip()[:400])
                r1 = c.req("show")
                east = [f["east"][0]["vid"] for f in r1["config"]["flows"] if f["name"] == "f2"]
                if r1["generation"] != g0 + 1 or r1.get("confirm_pending") is not True or \
                        east != [1003]:
                    e.append("after the apply: generation %s (want %d), confirm_pending %s, "
                             "f2 east VID %s (want 1003)" % (r1["generation"], g0 + 1,
                                                            r1.get("confirm_pending"), east))
                t_seen, last, polls = None, r1, 0
                while now() < t_end + 4.0:
                    last = c.req("show")
                    polls += 1
                    if last["generation"] != g0 + 1:
                        t_seen = now()
                        break
                    time.sleep(0.02)
            finally:
                c.close()
            if t_seen is None:
                env.timing("apply -> rollback seen", None)
                e.append("no rollback within 4 s of the apply (generation %s, confirm_pending "
                         "%s)" % (last["generation"], last.get("confirm_pending")))
                return e
            d_end, d_start = t_seen - t_end, t_seen - t_start
            env.timing("apply answered -> rollback seen", d_end,
                       " (from the apply's start %.3f s, %d polls)" % (d_start, polls))
            if last["generation"] != g0 + 2:
                e.append("generation %s after the rollback, want %d" % (last["generation"],
                                                                        g0 + 2))
            if last["config"] != cfg0:
                e.append("the config after the rollback is not the one before the apply")
            if last.get("confirm_pending") is not False:
                e.append("confirm_pending %s after the rollback" % last.get("confirm_pending"))
            if d_start < 2.0:
                e.append("rolled back %.3f s after the apply started: before the 2 s" % d_start)
            if d_end > 2.0 + ROLLBACK_SLACK:
                e.append("rolled back %.3f s after the apply's answer: later than 2 s + %.1f s"
                         % (d_end, ROLLBACK_SLACK))
            if not re.search(r"rollback", gw.log()):
                e.append("no rollback in the gateway log")
            return e
        self.check("2 under attack: qinqgw-ctl apply --confirm 2 applies; the gateway rolls "
                   "back by itself 2 s later within %.1f s, to the config before"
                   % ROLLBACK_SLACK, one)

    # ----------------------------------------------------------------- 3
    def stall(self):
        env, gw = self.env, self.gw

        def one():
            t0 = now()
            c = Raw(gw.sock, timeout=2.0)
            try:
                r = c.req("fault", worker=0, stall_ms=3000)
            finally:
                c.close()
            if r.get("ok") is not True:
                return "fault command refused: %s" % json.dumps(r)[:300]
            t_flag, d = None, None
            while now() < t0 + 4.0:
                d = env.stats_json(gw.stats_name)
                if d is not None and d["workers"][0]["stalled"] is True:
                    t_flag = now()
                    break
                time.sleep(0.02)
            env.timing("worker 0 stalled (3 s) -> qinqgw-stats --json says stalled",
                       None if t_flag is None else t_flag - t0)
            e = []
            if t_flag is None:
                e.append("workers[0].stalled not true within 4 s (last %s)"
                         % (d and d["workers"][0]))
            elif t_flag - t0 > STALL_LIMIT:
                e.append("flagged after %.3f s, limit %.1f s" % (t_flag - t0, STALL_LIMIT))
            if t_flag is not None and now() < t0 + 2.7:
                # the worker stands still: counters at rest, exact accounting
                a = env.stats_json(gw.stats_name)
                time.sleep(0.1)
                b = env.stats_json(gw.stats_name)
                if a is not None and b is not None and a["ports"] == b["ports"] and \
                        b["workers"][0]["stalled"]:
                    self.snap = b
            t_clear = None
            while now() < t0 + 7.0:
                d = env.stats_json(gw.stats_name)
                if d is not None and d["workers"][0]["stalled"] is False:
                    t_clear = now()
                    break
                time.sleep(0.05)
            env.timing("worker 0 stall start -> stalled false again", None if t_clear is None
                       else t_clear - t0)
            if t_clear is None:
                e.append("worker 0 still flagged stalled 7 s after a 3 s stall")
            return e
        self.check("3 under attack: a 3 s stall of worker 0 is flagged in qinqgw-stats --json "
                   "within %.1f s, cleared afterwards" % STALL_LIMIT, one)

    # ---------------------------------------------------------------- 5a
    def full_attack(self, h, prober):
        def one():
            prober.pause()
            h.pause(True)
            try:
                time.sleep(0.3)     # connections in progress settle
                before = h.live()
                t0 = now()
                accepted, e, conns = self.fill(MAX_CLIENTS - sum(before.values()))
                dt = now() - t0
                after = h.live()
                try:
                    e += self.full_ctl("under attack")
                finally:
                    for c in conns:
                        c.close()
            finally:
                h.pause(False)
                prober.resume()
            nb, na = sum(before.values()), sum(after.values())
            print("# under attack: hostile connections open %s before, %s after; %d more "
                  "accepted, then refused (%.0f ms)" % (before, after, accepted, 1000 * dt),
                  flush=True)
            if not na <= MAX_CLIENTS - accepted <= nb:
                e.append("%d accepted with %d..%d hostile connections open: the limit is not "
                         "%d connections" % (accepted, na, nb, MAX_CLIENTS))
            return e
        self.check("5a under attack: connections accepted up to 64 with the hostile ones, the "
                   "next gets exactly the one busy line and is closed, qinqgw-ctl exits 3", one)

    # ----------------------------------------------------------------- 1
    def latency(self, prober):
        for what, res in prober.res.items():
            def one(res=res, what=what):
                v = [dt for _, dt, _ in res]
                self.env.timing("%s under attack" % what, max(v) if v else None,
                                " (%s)" % fmt_times(v))
                e = []
                if len(res) < MIN_TRIES:
                    e.append("only %d tries" % len(res))
                bad = [(t, dt, why) for t, dt, why in res if why or dt > SHOW_LIMIT]
                if bad:
                    e.append("%d of %d tries failed or took over %.0f ms, e.g. %s" % (
                        len(bad), len(res), 1000 * SHOW_LIMIT, "; ".join(
                            "%.0f ms%s" % (1000 * dt, ": " + why if why else "")
                            for _, dt, why in bad[:4])))
                if res:
                    span = res[-1][0] - res[0][0]
                    print("# %s: %s over %.1f s of the hostile phase" % (what, fmt_times(v), span),
                          flush=True)
                return e
            self.check("1 under attack: a well-behaved %s answers within %.0f ms every time "
                       "(at least %d tries)" % (what, 1000 * SHOW_LIMIT, MIN_TRIES), one)

    # ----------------------------------------------------------------- 4
    def closures(self, h):
        gw = self.gw
        uid = os.getuid()
        log = gw.log()
        closed_re = re.compile(r"control client uid (\d+) pid (\d+) closed: (.*)")
        long_re = re.compile(r"control client uid (\d+) pid (\d+): request line over (\d+) bytes")
        lines = {}                  # pid -> [(uid, reason)]
        for m in closed_re.finditer(log):
            lines.setdefault(int(m.group(2)), []).append((int(m.group(1)), m.group(3).strip()))
        for m in long_re.finditer(log):
            lines.setdefault(int(m.group(2)), []).append(
                (int(m.group(1)), "request line over %s bytes" % m.group(3)))
        reason = {
            "pipe": re.compile(r"it has not read its answers for %d s|it does not read its "
                               r"answers" % TIMEOUT),
            "slow": re.compile(r"its request line was not finished within %d s" % TIMEOUT),
            "idle": re.compile(r"idle for %d s" % TIMEOUT),
            "big": re.compile(r"request line over 8388608 bytes"),
        }
        ends = h.ends()

        for kind in KINDS:
            def one(kind=kind):
                e = h.crashed() if kind == KINDS[0] else []
                mine = [(pid, rec) for k, pid, rec in ends if k == kind]
                refused = [(pid, rec) for pid, rec in mine
                           if (rec["line"] or "").encode() + b"\n" == BUSY]
                by_gw = [(pid, rec) for pid, rec in mine
                         if not rec["stopped"] and (pid, rec) not in refused]
                pids = sorted(p.pid for k, p in h.procs if k == kind)
                fails = h.fails(kind)
                if fails:
                    e.append("connect failed %d times: %s" % (len(fails), fails[0]))
                if refused:
                    print("# %d %s connections were refused (busy)" % (len(refused), kind),
                          flush=True)
                errs = [rec["error"] for _, rec in mine if rec.get("error")]
                if errs:
                    e.append("client errors: %s" % errs[:2])
                for pid in pids:
                    if not any(p == pid for p, _ in by_gw):
                        e.append("client pid %d: no connection closed by the gateway" % pid)
                lives, detail = [], []
                for pid, rec in by_gw:
                    if rec.get("error"):
                        continue
                    tag = "pid %d conn %d" % (pid, rec["n"])
                    if rec["how"] not in ("EOF", "ECONNRESET"):
                        e.append("%s: after %s the socket says %s" % (tag, rec["seen"],
                                                                      rec["how"]))
                    if kind == "slow":
                        life = rec["t_close"] - (rec["first_byte"] or rec["t_conn"])
                    else:
                        life = rec["t_close"] - rec["t_conn"]
                    lives.append(life)
                    if kind == "big":
                        try:
                            ans = json.loads(rec["line"] or "")
                        except ValueError:
                            ans = None
                        if not isinstance(ans, dict) or ans.get("ok") is not False or \
                                ans.get("errors") != [LONG_LINE]:
                            e.append("%s: answer %r, want the error %r" % (
                                tag, (rec["line"] or "")[:200], LONG_LINE))
                        if rec["sent"] <= 8 << 20:
                            e.append("%s: closed after %d bytes, before 8 MiB" % (tag,
                                                                                 rec["sent"]))
                        if life > 3.0:
                            e.append("%s: closed %.2f s after connecting" % (tag, life))
                        detail.append(rec["sent"])
                    elif kind == "pipe":
                        reqs = rec["sent"] // len(SHOW)
                        detail.append(reqs)
                        if reqs < 1000:
                            e.append("%s: only %d requests pipelined" % (tag, reqs))
                        if not TIMEOUT - 0.05 <= life <= TIMEOUT + 1.5:
                            e.append("%s: closed %.2f s after connecting, want about %d s"
                                     % (tag, life, TIMEOUT))
                    else:
                        if not TIMEOUT - 0.05 <= life <= TIMEOUT + 0.5:
                            e.append("%s: closed %.2f s after %s, want %d..%.1f s" % (
                                tag, life, "its first byte" if kind == "slow" else "connecting",
                                TIMEOUT, TIMEOUT + 0.5))
                        if rec["line"]:
                            e.append("%s: got a line %r" % (tag, rec["line"][:200]))
                        detail.append(rec["sent"])
                # the log: one line per connection the gateway closed, naming uid and pid
                for pid in pids:
                    n_gw = sum(1 for p, _ in by_gw if p == pid)
                    n_open = sum(1 for p, rec in mine if p == pid and rec["stopped"])
                    got = lines.get(pid, [])
                    good = [x for x in got if reason[kind].search(x[1]) and x[0] == uid]
                    other = [x for x in got if not reason[kind].search(x[1])]
                    if not n_gw <= len(good) <= n_gw + n_open:
                        e.append("pid %d: %d connections closed by the gateway, %d log lines "
                                 "`control client uid %d pid %d ...` with the reason" % (
                                     pid, n_gw, len(good), uid, pid))
                    if other:
                        e.append("pid %d: log lines with other reasons: %s" % (pid, other[:3]))
                if by_gw:
                    seen = {}
                    for _, rec in by_gw:
                        k = "%s then %s" % (rec["seen"], rec["how"])
                        seen[k] = seen.get(k, 0) + 1
                    print("# %s clients: the close seen as %s" % (kind, seen), flush=True)
                if lives:
                    self.env.timing("%s clients: connect%s -> closed by the gateway" % (
                        kind, "/first byte" if kind == "slow" else ""), max(lives),
                        " (min %.3f s, %d connections%s)" % (
                            min(lives), len(lives),
                            ", %d..%d requests pipelined each" % (min(detail), max(detail))
                            if kind == "pipe" else
                            ", %.1f..%.1f MiB sent each" % (min(detail) / 2**20,
                                                            max(detail) / 2**20)
                            if kind == "big" and detail else ""))
                if not by_gw:
                    e.append("no connection closed by the gateway")
                return e
            what = {
                "pipe": "non-readers pipelining show are closed after %d s" % TIMEOUT,
                "slow": "1-byte-a-second senders are closed %d s after their first byte"
                        % TIMEOUT,
                "big": "10 MiB line senders get `%s` and are closed" % LONG_LINE,
                "idle": "idle connections are closed after %d s" % TIMEOUT,
            }[kind]
            self.check("4 %s: every connection sees EOF/ECONNRESET, the log names its uid/pid"
                       % what, one)

    # ----------------------------------------------------------------- 6
    def frames(self, final):
        def one():
            e = []
            if self.snap is None:
                e.append("no stats snapshot while worker 0 stood still (check 3)")
            for what, d in (("while worker 0 was stalled under attack", self.snap),
                            ("after the gateway stopped", final)):
                if d is None:
                    continue
                print("# ports %s: %s" % (what, port_summary(d)), flush=True)
                e += ["%s: %s" % (what, x) for x in accounting(d)]
                fd = flow_drops(d, "f1")
                print("# flow f1 %s: %s" % (what, fd), flush=True)
                if fd is None:
                    e.append("%s: no flow f1" % what)
                else:
                    for dirn, (pk, dr) in fd.items():
                        if dr:
                            e.append("%s: kept flow f1 %s dropped %d" % (what, dirn, dr))
                        if pk == 0:
                            e.append("%s: flow f1 %s carried nothing" % (what, dirn))
                ports = {p["name"]: p for p in d["ports"]}
                if ports["west"]["dropped"]:
                    e.append("%s: west dropped %s" % (what, ports["west"]["drops"]))
                other = {k: v for k, v in ports["east"]["drops"].items() if v and k != "no_flow"}
                if other:
                    e.append("%s: east drops %s" % (what, other))
                if not ports["east"]["drops"]["no_flow"]:
                    e.append("%s: east no_flow 0: the apply of f2 never took effect (test)"
                             % what)
            if final is None:
                e.append("no stats after the gateway stopped")
            elif self.snap is not None:
                a = {p["name"]: p["dropped"] for p in self.snap["ports"]}
                b = {p["name"]: p["dropped"] for p in final["ports"]}
                if a != b:
                    e.append("frames dropped after the rollback: %s during the stall, %s at the "
                             "end" % (a, b))
                fd = flow_drops(final, "f2")
                if fd and any(dr for _, dr in fd.values()):
                    e.append("flow f2 (after its rollback) dropped %s" % fd)
            return e
        self.check("6 no frame of the kept flows lost: per port rx = tx(other) - icmp_sent + "
                   "dropped exactly (stall snapshot under attack, and at the end), f1 dropped "
                   "nothing, the only drops are east no_flow while f2 was changed", one)

    # ------------------------------------------------------------ rounds
    def main(self):
        env, gw = self.env, self.gw
        print("# gateway: %s; --ctl-timeout %s" % (
            env.qinqgw, TIMEOUT if env.has_timeout else "not supported: left out"), flush=True)
        gw.start()
        rss0 = gw.rss_kb()
        self.full_quiet("5b quiet gateway: 64 connections accepted, the 65th gets exactly the "
                        "one busy line and is closed (logged with uid/pid), qinqgw-ctl show "
                        "exits 3; show works again after", "quiet gateway")

        # round 1: every check under attack
        t_round = now()
        h = Hostile(env, gw, 1)
        ok = h.wait_connected()
        print("# round 1: 16 hostile clients %s (%s open)" % (
            "connected" if ok else "NOT all connected in 5 s", h.live()), flush=True)
        time.sleep(0.5)
        prober = Prober(env, gw)
        prober.start()
        time.sleep(0.6)
        self.apply_rollback()
        self.stall()
        self.full_attack(h, prober)
        end = now() + 8.0
        while prober.count() < MIN_TRIES + 2 and now() < end:
            time.sleep(0.1)
        print("# hostile clients open at the end of round 1: %s" % h.live(), flush=True)
        prober.halt.set()
        prober.join(10)
        h.stop()
        env.timing("round 1 (hostile phase)", now() - t_round)
        self.latency(prober)
        self.closures(h)
        self.gone_freed()
        self.ctl_message()
        time.sleep(0.5)
        alive = gw.proc.poll() is None
        rss1 = gw.rss_kb() if alive else None

        # rounds 2 and 3: the same attack, then gone; round 4: SIGTERM
        rss = [rss0, rss1]
        for rnd in (2, 3):
            if gw.proc.poll() is not None:
                break
            h = Hostile(env, gw, rnd)
            h.wait_connected()
            time.sleep(TIMEOUT + 1.0)
            h.stop()
            time.sleep(2.5)         # as long as round 1's clients had before rss1
            rss.append(gw.rss_kb() if gw.proc.poll() is None else None)
        print("# VmRSS: start %s kB, after round 1 %s kB, round 2 %s kB, round 3 %s kB" % tuple(
            (rss + [None] * 4)[:4]), flush=True)

        def memory():
            if len(rss) < 4 or None in rss:
                return "gateway gone (exit %s)" % gw.proc.poll()
            env.timing("VmRSS growth round 1 -> round 3", None,
                       "%+d kB (%d -> %d kB)" % (rss[3] - rss[1], rss[1], rss[3]), none="")
            if rss[3] - rss[1] > RSS_MARGIN_KB:
                return "VmRSS %d kB after round 1, %d kB after round 3: +%d kB, over %d kB" % (
                    rss[1], rss[3], rss[3] - rss[1], RSS_MARGIN_KB)
            return None
        name7 = ("7 memory flat: VmRSS after hostile round 3 (clients gone) within %d MiB of "
                 "after round 1" % (RSS_MARGIN_KB // 1024))
        if os.environ.get("QGW_SANITIZED"):
            # ASan keeps freed memory in its quarantine and ignores mallopt:
            # RSS says nothing there (LeakSanitizer checks leaks at exit)
            print("n/a %s: not applicable in the sanitized build (QGW_SANITIZED=%s): "
                  "ASan's quarantine holds freed memory" % (name7, os.environ["QGW_SANITIZED"]),
                  flush=True)
        else:
            self.check(name7, memory)

        def term():
            if gw.proc.poll() is not None:
                return "gateway gone before (exit %s)" % gw.proc.returncode
            h = Hostile(env, gw, 4, big_pause=0)    # big senders always connected
            try:
                h.wait_connected()
                time.sleep(0.5)
                end = now() + 2.0
                while sum(h.live().values()) < len(KINDS) * PER_KIND and now() < end:
                    time.sleep(0.005)
                live = h.live()
                t0 = now()
                gw.proc.send_signal(signal.SIGTERM)
                rc = gw.wait(10)
                dt = now() - t0
            finally:
                if gw.proc.poll() is None:
                    gw.kill()
                h.stop()
            env.timing("SIGTERM -> exit with hostile clients connected", dt if rc is not None
                       else None, " (open %s)" % live)
            e = []
            if rc is None:
                e.append("still running 10 s after SIGTERM (killed)")
            elif rc != 0:
                e.append("exit %d" % rc)
            elif dt > TERM_LIMIT:
                e.append("exit after %.3f s" % dt)
            if sum(live.values()) < 12:
                e.append("test: only %s hostile connections open at SIGTERM" % live)
            return e
        self.check("8 SIGTERM with 16 hostile clients connected: exit 0 within %.0f s"
                   % TERM_LIMIT, term)

        final = env.stats_json(gw.stats_name)
        if final is not None and final["gateway"]["state"] != "stopped":
            print("# the segment says %s after the gateway ended" % final["gateway"]["state"],
                  flush=True)
        self.frames(final)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw")
    ap.add_argument("--qinqgw-stats")
    ap.add_argument("--qinqgw-ctl")
    ap.add_argument("--old", action="store_true",
                    help="the gateway has no --ctl-timeout (also detected from --help)")
    ap.add_argument("--default-malloc", action="store_true",
                    help="run the gateway without GLIBC_TUNABLES=glibc.malloc.mmap_threshold="
                         "262144 (check 7 then also sees glibc keeping freed buffers)")
    ap.add_argument("--client", choices=KINDS, help=argparse.SUPPRESS)
    ap.add_argument("--socket", help=argparse.SUPPRESS)
    ap.add_argument("--dir", help=argparse.SUPPRESS)
    ap.add_argument("--big-pause", type=float, default=BIG_PAUSE, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        return client_main(args)
    if not (args.qinqgw and args.qinqgw_stats and args.qinqgw_ctl):
        ap.error("--qinqgw, --qinqgw-stats and --qinqgw-ctl are required")
    import qgwtest as q
    results = q.Results()
    if os.geteuid() != 0:
        results.check("runs as root", False, "the gateway needs root (EAL, /dev/shm)")
        return results.finish()
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    t_start = now()
    env = Env(args)
    t = Test(env, results)
    try:
        t.main()
    except Exception as x:          # noqa: BLE001
        import traceback
        env.keep = True
        results.check("test ran to the end", False, "%s\n%s" % (x, traceback.format_exc()))
    finally:
        log = t.gw.log()
        t.gw.cleanup()
        if results.failed:
            env.keep = True
            print("# gateway log (tail):\n#   " + "\n#   ".join(log.strip().splitlines()[-25:]),
                  flush=True)
        env.cleanup()
    print("# timings:", flush=True)
    for what, s, extra in env.times:
        print("#   %-70s %s" % (what, ("%.3f s" % s if s is not None else "never") + extra
                                   if s is not None or not extra else extra))
    print("# total %.1f s" % (now() - t_start), flush=True)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
