#!/usr/bin/python3
"""Live config (docs/control.md), checked on the real gateway while frames flow.

The gateway runs in a network namespace of its own on two net_tap ports,
west (tap W) and east (tap E); the namespace has IPv6 disabled before the
taps exist and no addresses, so the kernel sends nothing of its own and
traffic stays on the taps. A sender thread writes tagged frames into W
with AF_PACKET (qdisc bypassed, paced, every frame carrying its flow id and
a global index in a trailer); a receiver thread reads E (AF_PACKET,
PACKET_AUXDATA to put back the outer tag the kernel moves into metadata)
and keeps every frame, so each egress frame is compared byte for byte with
what the spec (qgwtest.Model) says the config in force makes of it.

Which config handled a frame, exactly: the sender is one thread and the
path W -> worker -> E is FIFO (one queue, one worker), so
  - frames whose send started after an apply's response arrived are handled
    by the new table (the worker has been quiescent since the publication);
  - before the next apply starts, the main thread waits until a frame of an
    always-forwarded flow sent after index `pre` is back on E (a fence): every
    frame before `pre` has then been handled, by the table in force.
Frames between a response and the next fence are "definite"; frames sent
while an apply was in flight may meet either table (each at most once).

Cases (each check prints `ok NAME` or `FAIL NAME: why`):
  1 1000 applies alternating X and Y under traffic: unchanged flows lose
    nothing, a removed flow leaks nothing once removed, a changed flow's
    frames carry the VID of the config in force, counters add up;
  2 rejected configs change nothing, traffic keeps flowing;
  3 apply --confirm: rollback, confirm, timer restart, confirm with nothing
    pending;
  4 socket permissions (mode 0660, --ctl-group);
  5 diff, show --json round trip, SIGHUP, a second gateway on the same
    socket, counters of unchanged / changed / new flows.

Usage: test_live.py --qinqgw PATH   (qinqgw-ctl, qinqgw-stats beside it; root)
"""
import argparse
import bisect
import errno
import json
import os
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qgwtest as q  # noqa: E402
import tapenv  # noqa: E402

PID = os.getpid()
NS = "qgwlive%d" % PID
TAP_W = "qlw%d" % PID            # at most 10 characters (IFNAMSIZ 16)
TAP_E = "qle%d" % PID
PREFIX = "qgwlive_%d" % PID      # EAL file-prefix and stats name of every gateway here
GROUP = "qgwlive%d" % PID        # throwaway group for --ctl-group

N_APPLIES = 1000
RATE = 20000                     # frames/s of the sender during case 1
DWELL = 32                       # frames sent after a response before the next fence
CLI_EVERY = 10                   # every 10th apply of case 1 through qinqgw-ctl

ETH_P_ALL = 3
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_QDISC_BYPASS = 20
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ETHERTYPE = 0x88B5               # local experimental: no L3 processing anywhere
MAGIC = b"QGWL"
DST = bytes.fromhex("02d500000001")
PATTERN = bytes(range(256)) * 3


# ------------------------------------------------------------------ configs

def tg(tpid, vid, pcp=None):
    t = {"tpid": "0x%04x" % tpid, "vid": vid}
    if pcp is not None:
        t["pcp"] = pcp
    return t


# max_frame 1518: net_tap takes 1522-byte frames at most and qinqgw asks the
# device for max_frame + 4 (the default 1522 does not start on net_tap)
PORTS = {"west": {"device": "net_tap0", "max_frame": 1518},
         "east": {"device": "net_tap1", "max_frame": 1518}}
U1 = {"name": "u1", "west": [tg(0x88A8, 100)], "east": [tg(0x8100, 1001)]}
U2 = {"name": "u2", "west": [tg(0x88A8, 200), tg(0x8100, 20)], "east": [tg(0x9100, 1002)]}
C_X = {"name": "c", "west": [tg(0x88A8, 400)], "east": [tg(0x8100, 1004)]}
C_Y = {"name": "c", "west": [tg(0x88A8, 400)], "east": [tg(0x8100, 2004)]}
D_X = {"name": "d", "west": [tg(0x9100, 600)], "east": [tg(0x88A8, 1006, 5), tg(0x8100, 66)],
       "mtu": 1400, "oversize": "drop", "mss_clamp": 1300, "icmp_rate": 50}
D_Y = {"name": "d", "west": [tg(0x9100, 600)], "east": [tg(0x88A8, 1006, 5), tg(0x8100, 66)],
       "mtu": 1300, "oversize": "icmp", "mss_clamp": True, "icmp_rate": 50, "icmp_burst": 20}
R = {"name": "r", "west": [tg(0x88A8, 300)], "east": [tg(0x8100, 1003)]}
N = {"name": "n", "west": [tg(0x88A8, 500)], "east": [tg(0x88A8, 1005)]}
E = {"name": "e", "west": [tg(0x88A8, 700)], "east": [tg(0x8100, 1007)]}

X = {"version": 1, "ports": PORTS, "flows": [U1, U2, C_X, D_X, R]}
# Y lists its flows in another order: slots follow names, not positions
Y = {"version": 1, "ports": PORTS, "flows": [N, U2, D_Y, U1, C_Y]}
X2 = {"version": 1, "ports": PORTS, "flows": [U1, U2, C_X, D_X, R, E]}

DIFF_XY = {"ports": [], "added": ["n"], "removed": ["r"],
           "changed": {"c": ["east: 0x8100/1004 -> 0x8100/2004"],
                       "d": ["mtu: 1400 -> 1300", "oversize: drop -> icmp",
                             "mss_clamp (IPv4 MSS): 1300 -> 1260",
                             "mss_clamp (IPv6 MSS): 1300 -> 1240", "icmp_burst: 10 -> 20"]},
           "unchanged": 2}
DIFF_YX = {"ports": [], "added": ["r"], "removed": ["n"],
           "changed": {"c": ["east: 0x8100/2004 -> 0x8100/1004"],
                       "d": ["mtu: 1300 -> 1400", "oversize: icmp -> drop",
                             "mss_clamp (IPv4 MSS): 1260 -> 1300",
                             "mss_clamp (IPv6 MSS): 1240 -> 1300", "icmp_burst: 20 -> 10"]},
           "unchanged": 2}

# flow id -> (flow name, tags of its frames on west: the flow's stack + a customer tag)
FLOWS = {1: ("u1", [(0x88A8, 100), (0x8100, 55)]),
         2: ("u2", [(0x88A8, 200), (0x8100, 20), (0x8100, 77)]),
         3: ("c", [(0x88A8, 400), (0x8100, 56)]),
         4: ("d", [(0x9100, 600), (0x8100, 57)]),
         5: ("r", [(0x88A8, 300), (0x8100, 58)]),
         6: ("n", [(0x88A8, 500), (0x8100, 59)]),
         7: ("e", [(0x88A8, 700), (0x8100, 60)])}
FID = {name: fid for fid, (name, _) in FLOWS.items()}
FENCE_FLOWS = (1, 2)             # forwarded identically by X and Y


def build(fid, idx):
    """The ingress frame number idx of flow fid: unique source MAC, PCP/DEI
    varying, length 80..239, trailer MAGIC fid idx."""
    tags = FLOWS[fid][1]
    head = DST + b"\x02\x51" + struct.pack("!I", idx)
    head += q.tag(tags[0][0], tags[0][1], idx & 7, (idx >> 3) & 1)
    head += b"".join(q.tag(t, v, (idx >> 4) & 7) for t, v in tags[1:])
    head += struct.pack("!H", ETHERTYPE)
    fill = 80 + (idx * 13) % 160 - len(head) - 12
    return head + PATTERN[idx & 255:(idx & 255) + fill] + MAGIC + struct.pack("!II", fid, idx)


def norm(cfg):
    """name -> {port: [(tpid, vid, pcp)]}: what identifies a running config."""
    out = {}
    for f in cfg["flows"]:
        out[f["name"]] = {p: [(int(t["tpid"], 16) if isinstance(t["tpid"], str) else t["tpid"],
                               t["vid"], t.get("pcp")) for t in f[p]] for p in cfg["ports"]}
    return out


def cfg_name(cfg, known):
    n = norm(cfg)
    for name, c in known.items():
        if norm(c) == n:
            return name
    return "unknown(%s)" % ",".join(sorted(n))


# ------------------------------------------------------------ environment

run = tapenv.run
Gateway, Ctl = tapenv.Gateway, tapenv.Ctl


def in_netns(fn):
    """Call fn() with this thread in namespace NS."""
    return q.in_netns(NS, fn)


def link_stats(ifname):
    return tapenv.link_stats(NS, ifname)


# ---------------------------------------------------------------- traffic

class Traffic:
    """Sender into tap W, receiver on tap E; every frame kept by index."""

    def __init__(self):
        def mk():
            tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
            tx.bind((TAP_W, 0))
            tx.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
            rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            rx.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)   # SO_RCVBUFFORCE
            rx.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
            rx.bind((TAP_E, ETH_P_ALL))
            rx.settimeout(0.1)
            return tx, rx
        self.tx, self.rx = in_netns(mk)
        self.flow_of = bytearray()    # index -> flow id
        self.sent = 0                 # frames whose send completed: indices < sent
        self.retries = 0              # sends refused by the kernel (ENOBUFS) and repeated
        self.got = {}                 # index -> egress frame (outer tag put back)
        self.dups = {}                # index -> extra copies
        self.junk = []                # frames on E that are not ours
        self.nrx = 0
        self.fence = -1               # highest index of FENCE_FLOWS received
        self.sock_drops = 0
        self.rx_error = None
        self._rx_stop = False
        self._tx_stop = False
        self._tx_thread = None
        self.rx_thread = threading.Thread(target=self._receive, daemon=True)
        self.rx_thread.start()

    def _receive(self):
        s = self.rx
        while not self._rx_stop:
            try:
                data, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(20))
            except socket.timeout:
                continue
            except OSError as e:
                self.rx_error = e      # the tap is gone (gateway stopped)
                return
            if addr[2] == PACKET_OUTGOING:
                continue
            for lvl, typ, cd in anc:
                if lvl == SOL_PACKET and typ == PACKET_AUXDATA and len(cd) >= 20:
                    status, _, _, _, _, tci, tpid = struct.unpack("IIIHHHH", cd[:20])
                    if status & TP_STATUS_VLAN_VALID:
                        if not status & TP_STATUS_VLAN_TPID_VALID:
                            tpid = 0x8100
                        data = data[:12] + struct.pack("!HH", tpid, tci) + data[12:]
            self.nrx += 1
            if flags & socket.MSG_TRUNC or len(data) < 26 or data[-12:-8] != MAGIC:
                self.junk.append(data)
                continue
            fid, idx = struct.unpack("!II", data[-8:])
            if idx in self.got:
                self.dups[idx] = self.dups.get(idx, 0) + 1
            else:
                self.got[idx] = data
            if fid in FENCE_FLOWS and idx > self.fence:
                self.fence = idx

    def send_one(self, fid):
        idx = len(self.flow_of)
        fr = build(fid, idx)
        self.flow_of.append(fid)
        while True:
            try:
                self.tx.send(fr)
                break
            except OSError as e:
                if e.errno not in (errno.ENOBUFS, errno.EAGAIN):
                    raise
                self.retries += 1
                time.sleep(0.0002)
        self.sent = idx + 1

    def _paced(self, schedule, rate):
        t0 = time.monotonic()
        i = 0
        while not self._tx_stop:
            target = t0 + i / rate
            now = time.monotonic()
            if target > now + 0.0003:
                time.sleep(target - now)
                continue
            if now - target > 0.005:          # never catch up in long bursts
                t0 += now - target - 0.005
            self.send_one(schedule[i % len(schedule)])
            i += 1

    def start(self, schedule, rate):
        self._tx_stop = False
        self._tx_thread = threading.Thread(target=self._paced, args=(schedule, rate), daemon=True)
        self._tx_thread.start()

    def stop(self):
        self._tx_stop = True
        if self._tx_thread is not None:
            self._tx_thread.join()
            self._tx_thread = None

    def burst(self, fids, rate=5000):
        t0 = time.monotonic()
        for i, fid in enumerate(fids):
            while time.monotonic() < t0 + i / rate:
                time.sleep(0.0002)
            self.send_one(fid)

    def wait_fence(self, pre, timeout=2.0):
        deadline = time.monotonic() + timeout
        while self.fence < pre:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.0001)
        return True

    def settle(self, gw, timeout=10.0):
        """Wait until the gateway received every frame sent and the receiver
        got every frame the gateway sent on E; returns the stats then."""
        deadline = time.monotonic() + timeout
        st = None
        while time.monotonic() < deadline:
            st = gw.stats()
            ports = {p["name"]: p for p in st["ports"]}
            if ports["west"]["rx_packets"] == self.sent and \
                    self.nrx == ports["east"]["tx_packets"]:
                time.sleep(0.2)
                st2 = gw.stats()
                if st2["ports"] == st["ports"] and self.nrx == ports["east"]["tx_packets"]:
                    return st2
            time.sleep(0.05)
        return st

    def socket_drops(self):
        _, drops = struct.unpack("II", self.rx.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
        self.sock_drops += drops
        return self.sock_drops

    def close(self):
        self.stop()
        self._rx_stop = True
        self.rx_thread.join(timeout=2)
        self.tx.close()
        self.rx.close()


def flow_stats(st):
    return {f["name"]: f for f in st["flows"]}


def direction(f, d="west->east"):
    for x in f["directions"]:
        if x["direction"] == d:
            return x
    return None


def ports_of(st):
    return {p["name"]: p for p in st["ports"]}


def accounting(st):
    """Per port: rx = other port's tx - icmp_sent + dropped; drops sum up."""
    errs = []
    ps = ports_of(st)
    for a, b in (("west", "east"), ("east", "west")):
        pa, pb = ps[a], ps[b]
        if pa["rx_packets"] != pb["tx_packets"] - pb["icmp_sent"] + pa["dropped"]:
            errs.append("%s rx_packets %d != %s tx_packets %d - icmp_sent %d + dropped %d" % (
                a, pa["rx_packets"], b, pb["tx_packets"], pb["icmp_sent"], pa["dropped"]))
        if sum(pa["drops"].values()) != pa["dropped"]:
            errs.append("%s drops %s do not sum to dropped %d" % (a, pa["drops"], pa["dropped"]))
    return errs


# ----------------------------------------------------------------- case 1

class Live:
    """State shared by the cases: the main gateway and its traffic."""

    def __init__(self, env, res):
        self.env, self.res = env, res
        self.cfg_path = env.write("running.json", X)
        self.files = {"X": env.write("X.json", X), "Y": env.write("Y.json", Y),
                      "X2": env.write("X2.json", X2)}
        self.known = {"X": X, "Y": Y, "X2": X2}
        self.gw = Gateway(env, "main", self.cfg_path, ctl_group=GROUP)
        self.gw.start()
        for tap in (TAP_W, TAP_E):
            run(["ip", "-n", NS, "link", "set", tap, "up", "arp", "off", "multicast", "off",
                 "txqueuelen", "10000"])
        self.traffic = Traffic()
        self.ctl = Ctl(self.gw.sock)
        self.models = {"X": q.Model(X), "Y": q.Model(Y), "X2": q.Model(X2)}

    def check(self, name, ok, why=""):
        return self.res.check(name, ok, why)

    def show(self):
        r = self.ctl.req("show")
        return r, cfg_name(r["config"], self.known)

    def generation(self):
        return self.ctl.req("show")["generation"]

    def ensure(self, name):
        r, running = self.show()
        if running != name or r.get("confirm_pending"):
            r = self.ctl.req("apply", config=open(self.files[name]).read())
            if not r["ok"]:
                raise RuntimeError("cannot apply %s: %s" % (name, r))


def case1(lv):
    """1000 applies alternating X and Y while 20 kpps flow."""
    res, tr, gw = lv.res, lv.traffic, lv.gw
    texts = {"X": open(lv.files["X"]).read(), "Y": open(lv.files["Y"]).read()}
    st0 = gw.stats()
    gen0 = st0["gateway"]["generation"]
    slot0 = {n: f["slot"] for n, f in flow_stats(st0).items()}
    first = tr.sent
    lv.nf_before = tr.sent - len(tr.got)
    link0 = {t: link_stats(t) for t in (TAP_W, TAP_E)}
    softnet0 = tapenv.softnet_dropped()
    retries0 = tr.retries
    east_tx0 = ports_of(st0)["east"]["tx_packets"]
    applies = []        # (k, name, pre, ret, seconds, via, response)
    bad_resp = []
    fence_timeouts = 0
    samples = []        # (apply k, {u1: packets, u2: packets}, {u1: slot, u2: slot})
    cli_t = sock_t = 0.0
    worst = 0.0
    n_cli = 0
    tr.start([1, 2, 3, 4, 5, 6], RATE)
    t_start = time.monotonic()
    try:
        # let some frames of X pass first
        while tr.sent < first + 400:
            time.sleep(0.001)
        for k in range(1, N_APPLIES + 1):
            name = "Y" if k % 2 else "X"
            if k > 1:
                while tr.sent < applies[-1][3] + DWELL:
                    time.sleep(0.0002)
            pre = tr.sent
            # after a failed fence, do not let a broken gateway stretch the run
            if not tr.wait_fence(pre, 2.0 if fence_timeouts == 0 else 0.05):
                fence_timeouts += 1
            t0 = time.monotonic()
            if k % CLI_EVERY == 0:
                p = gw.ctl("--json", "apply", lv.files[name])
                dt = time.monotonic() - t0
                ret = tr.sent
                cli_t += dt
                n_cli += 1
                try:
                    r = json.loads(p.stdout)
                except ValueError:
                    r = {"ok": False, "errors": ["exit %d: %s %s" % (p.returncode, p.stdout,
                                                                   p.stderr)]}
                via = "qinqgw-ctl"
            else:
                r = lv.ctl.req("apply", config=texts[name])
                dt = time.monotonic() - t0
                ret = tr.sent
                sock_t += dt
                via = "socket"
            applies.append((k, name, pre, ret, dt, via, r))
            worst = max(worst, dt)
            want_diff = DIFF_XY if name == "Y" else DIFF_YX
            if not r.get("ok") or r.get("generation") != gen0 + k or \
                    r.get("diff") != want_diff or r.get("confirm_pending") is not False:
                bad_resp.append((k, via, r))
            if k % 50 == 0:
                fs = flow_stats(gw.stats())
                samples.append((k, {n: direction(fs[n])["packets"] for n in ("u1", "u2")},
                                {n: fs[n]["slot"] for n in ("u1", "u2")}))
        t_applies = time.monotonic() - t_start
        # frames of the last config, then stop
        last_ret = applies[-1][3]
        while tr.sent < last_ret + 400:
            time.sleep(0.001)
    finally:
        tr.stop()
    st = tr.settle(gw)
    total_s = time.monotonic() - t_start
    last = tr.sent

    n_sock = N_APPLIES - n_cli
    print("# case 1: %d applies in %.2f s (%.0f/s); socket %d at %.2f ms each, qinqgw-ctl %d "
          "at %.2f ms each, slowest %.1f ms; %d frames sent in %.1f s (%.0f/s), %d received, "
          "%d send retries"
          % (N_APPLIES, t_applies, N_APPLIES / t_applies, n_sock, 1000 * sock_t / max(n_sock, 1),
             n_cli, 1000 * cli_t / max(n_cli, 1), 1000 * worst, last - first, total_s,
             (last - first) / total_s, sum(1 for i in range(first, last) if i in tr.got),
             tr.retries))
    res.check("1 %d applies alternating X and Y accepted: generation %d..%d in order, "
              "each diff as expected, nothing left pending" % (N_APPLIES, gen0 + 1,
                                                              gen0 + N_APPLIES),
              not bad_resp, "%d bad responses, first: apply %s via %s: %s" % (
                  len(bad_resp), bad_resp[0][0], bad_resp[0][1], json.dumps(bad_resp[0][2])[:800])
              if bad_resp else "")
    who = "by uid %d pid %d" % (os.getuid(), PID)
    logged = sum(1 for ln in gw.log().splitlines()
                 if ln.startswith("qinqgw: config generation ") and ln.endswith(who))
    res.check("1 every apply logged with who asked (%d lines end with %r, %d applies came "
              "over this process's socket)" % (logged, who, N_APPLIES - n_cli),
              logged >= N_APPLIES - n_cli, "")
    res.check("1 fences: every apply started only after the frames before it were handled",
              fence_timeouts == 0, "%d fences timed out (a frame of u1/u2 never came back?)"
              % fence_timeouts)

    # which config(s) each frame could meet
    pres = [a[2] for a in applies]
    rets = [a[3] for a in applies]

    def configs(i):
        k = bisect.bisect_right(pres, i)
        if k == 0:
            return ("X",), True
        cur = applies[k - 1][1]
        prev = "X" if k == 1 else applies[k - 2][1]
        if i <= rets[k - 1]:
            return (prev, cur), False
        return (cur,), True

    per = {n: {"frames": 0, "bad": 0, "first": None} for n in ("u1", "u2", "c", "d", "r", "n")}
    rn = {n: {"def_in": 0, "def_in_got": 0, "def_out": 0, "leaked": 0, "amb": 0,
              "amb_got": 0} for n in ("r", "n")}
    cvid = {"X": 0, "Y": 0, "amb_X": 0, "amb_Y": 0}
    not_forwarded = {"r": 0, "n": 0}
    n_lost = 0          # frames a config in force should have forwarded that never arrived
    for i in range(first, last):
        fid = tr.flow_of[i]
        fname = FLOWS[fid][0]
        fr = build(fid, i)
        cands, definite = configs(i)
        outs = [lv.models[c].verdict(0, fr) for c in cands]
        got = tr.got.get(i)
        p = per[fname]
        p["frames"] += 1
        why = None
        if i in tr.dups:
            why = "arrived %d times" % (tr.dups[i] + 1)
        elif got is None:
            if not any(v.drop for v in outs):
                why = "lost (config %s)" % "/".join(cands)
                n_lost += 1
            else:
                not_forwarded[fname] += 1
        else:
            match = [c for c, v in zip(cands, outs) if v.drop is None and v.frame == got]
            if not match:
                if all(v.drop for v in outs):
                    why = "leaked: arrived although config %s has no flow for it" % \
                        "/".join(cands)
                else:
                    fw = [v for v in outs if v.drop is None]
                    why = "wrong egress frame (config %s):\n%s" % (
                        "/".join(cands), q.frame_diff(fw[0].frame, got))
            elif fname == "c":
                cvid[("" if definite else "amb_") + match[0]] += 1
        if fname in rn:
            present = [c for c in cands if any(f["name"] == fname
                                                for f in lv.known[c]["flows"])]
            d = rn[fname]
            if not definite:
                d["amb"] += 1
                d["amb_got"] += got is not None
            elif present:
                d["def_in"] += 1
                d["def_in_got"] += got is not None
            else:
                d["def_out"] += 1
                d["leaked"] += got is not None
        if why:
            p["bad"] += 1
            if p["first"] is None:
                p["first"] = "frame %d (%s): %s" % (i, q.describe(fr), why)

    for n, what in (("u1", "unchanged"), ("u2", "unchanged"), ("d", "changed, same tags")):
        p = per[n]
        res.check("1 flow %s (%s): each of %d frames arrived exactly once, byte-exact"
                  % (n, what, p["frames"]), p["bad"] == 0 and p["frames"] > 0,
                  "%d bad; first: %s" % (p["bad"], p["first"]))
    p = per["c"]
    res.check("1 flow c (changed egress VID): each of %d frames arrived exactly once; %d sent "
              "under X carry 1004, %d under Y carry 2004, %d during applies (%d/%d)"
              % (p["frames"], cvid["X"], cvid["Y"], cvid["amb_X"] + cvid["amb_Y"],
                 cvid["amb_X"], cvid["amb_Y"]),
              p["bad"] == 0 and cvid["X"] > 0 and cvid["Y"] > 0,
              "%d bad; first: %s" % (p["bad"], p["first"]))
    for n, present, absent in (("r", "X", "Y"), ("n", "Y", "X")):
        d, p = rn[n], per[n]
        res.check("1 flow %s (only in %s): %d of %d frames sent while present arrived, %d of "
                  "%d sent after the apply of %s returned leaked; during applies %d of %d "
                  "arrived" % (n, present, d["def_in_got"], d["def_in"], d["leaked"],
                               d["def_out"], absent, d["amb_got"], d["amb"]),
                  p["bad"] == 0 and d["def_in"] > 0 and d["def_out"] > 0,
                  "%d bad; first: %s" % (p["bad"], p["first"]))
    strays = [i for i in tr.got if i >= tr.sent]
    res.check("1 nothing else arrived on east (no stray, unknown or duplicated frame)",
              not tr.junk and not strays and not tr.dups,
              "%d foreign frames (first %s), %d unknown indices, %d duplicated" % (
                  len(tr.junk), q.describe(tr.junk[0]) if tr.junk else "-", len(strays),
                  len(tr.dups)))

    # counters
    ps = ports_of(st)
    errs = accounting(st)
    if ps["west"]["rx_packets"] != tr.sent:
        errs.append("west rx_packets %d, %d frames sent since start" % (
            ps["west"]["rx_packets"], tr.sent))
    if ps["east"]["tx_packets"] != tr.nrx:
        errs.append("east tx_packets %d, the receiver got %d" % (ps["east"]["tx_packets"],
                                                                tr.nrx))
    dropped_frames = tr.sent - len(tr.got)
    other = {k: v for k, v in ps["west"]["drops"].items() if k != "no_flow" and v}
    if ps["west"]["drops"]["no_flow"] != dropped_frames or other:
        errs.append("west drops %s, expected no_flow = %d frames sent and not forwarded" % (
            ps["west"]["drops"], dropped_frames))
    if dropped_frames - lv.nf_before != not_forwarded["r"] + not_forwarded["n"]:
        errs.append("%d frames not forwarded in case 1, r and n account for %d" % (
            dropped_frames - lv.nf_before, not_forwarded["r"] + not_forwarded["n"]))
    res.check("1 stats: west rx = %d sent, east tx = %d received, rx = other tx - icmp_sent + "
              "dropped on both ports, no_flow = %d (the frames of r and n not forwarded)"
              % (tr.sent, tr.nrx, not_forwarded["r"] + not_forwarded["n"]), not errs,
              "; ".join(errs))

    # counters of the unchanged flows (case 5 item, measured here under load)
    fs = flow_stats(st)
    errs = []
    prev = {n: direction(flow_stats(st0)[n])["packets"] for n in ("u1", "u2")}
    for k, pk, sl in samples:
        for n in ("u1", "u2"):
            if pk[n] < prev[n]:
                errs.append("%s packets went down from %d to %d after apply %d" % (
                    n, prev[n], pk[n], k))
            if sl[n] != slot0[n]:
                errs.append("%s moved from slot %d to %d by apply %d" % (n, slot0[n], sl[n], k))
            prev[n] = pk[n]
    for n in ("u1", "u2"):
        sent_n = tr.flow_of.count(FID[n])
        if direction(fs[n])["packets"] != sent_n:
            errs.append("%s packets %d, %d frames of it sent (all arrived: %d)" % (
                n, direction(fs[n])["packets"], sent_n,
                sum(1 for i in tr.got if tr.flow_of[i] == FID[n])))
    res.check("5 counters: u1 and u2 keep their slot and counters over %d applies (%d samples, "
              "never lower) and end equal to the frames sent and received" % (
                  N_APPLIES, len(samples)), not errs, "; ".join(errs[:5]))

    # harness validity: the kernel lost nothing on the way
    # Tap W: a frame the tap's queue had no room for is dropped there (tx
    # dropped +1) and refused to the sender (ENOBUFS), which sends it again;
    # so tap W must have dropped exactly as many frames as the sender
    # repeated, and taken each frame once. Tap E must have received every
    # frame the gateway sent (its rx_dropped is no loss: it counts the frames
    # no protocol wanted after the packet socket had its copy). The kernel's
    # backlog counter is global (every interface of the machine, and frames
    # that leave tap E never pass through the backlog): a backlog drop is only
    # a harness failure when one of our frames is missing.
    link1 = {t: link_stats(t) for t in (TAP_W, TAP_E)}
    kerr = []
    w0, w1, e0, e1 = link0[TAP_W]["tx"], link1[TAP_W]["tx"], link0[TAP_E]["rx"], link1[TAP_E]["rx"]
    w_drop, w_retry = w1["dropped"] - w0["dropped"], tr.retries - retries0
    if w_drop != w_retry or w1["packets"] - w0["packets"] != last - first:
        kerr.append("tap %s took %d of %d frames, dropped %d, the sender repeated %d refused "
                    "sends" % (TAP_W, w1["packets"] - w0["packets"], last - first, w_drop,
                               w_retry))
    east_tx = ports_of(st)["east"]["tx_packets"] - east_tx0
    if e1["packets"] - e0["packets"] != east_tx:
        kerr.append("tap %s got %d frames, the gateway sent %d" % (
            TAP_E, e1["packets"] - e0["packets"], east_tx))
    if tr.socket_drops():
        kerr.append("receive socket dropped %d" % tr.sock_drops)
    backlog = tapenv.softnet_dropped() - softnet0
    if backlog and n_lost:
        kerr.append("kernel backlog dropped %d (all interfaces) and %d frames are missing"
                    % (backlog, n_lost))
    elif backlog:
        print("# kernel backlog dropped %d frames (all interfaces), none of ours: every frame "
              "sent is accounted for" % backlog, flush=True)
    res.check("1 harness: the kernel lost nothing (tap %s dropped only the %d sends it refused "
              "and the sender repeated, and took every frame once; tap %s got every frame "
              "the gateway sent; socket dropped none)" % (TAP_W, w_retry, TAP_E),
              not kerr, "; ".join(kerr))


def counters_fresh(lv):
    """Changed and new flows start at 0 in a fresh slot; unchanged keep theirs."""
    res, tr, gw = lv.res, lv.traffic, lv.gw
    lv.ensure("X")
    st0 = gw.stats()
    fs0 = flow_stats(st0)
    r = lv.ctl.req("apply", config=open(lv.files["Y"]).read())
    st1 = gw.stats()
    fs1 = flow_stats(st1)
    errs = []
    if not r["ok"]:
        errs.append("apply Y refused: %s" % r)
    for n in ("c", "d", "n"):
        d = direction(fs1[n])
        if d["packets"] != 0 or d["bytes"] != 0:
            errs.append("%s starts with packets %d bytes %d" % (n, d["packets"], d["bytes"]))
    for n in ("c", "d"):
        if fs1[n]["slot"] == fs0[n]["slot"]:
            errs.append("changed flow %s kept slot %d" % (n, fs0[n]["slot"]))
    for n in ("u1", "u2"):
        if fs1[n]["slot"] != fs0[n]["slot"] or \
                direction(fs1[n])["packets"] != direction(fs0[n])["packets"]:
            errs.append("%s: slot %d -> %d, packets %d -> %d" % (
                n, fs0[n]["slot"], fs1[n]["slot"], direction(fs0[n])["packets"],
                direction(fs1[n])["packets"]))
    if "r" in fs1:
        errs.append("removed flow r still listed")
    nf0 = ports_of(st1)["west"]["drops"]["no_flow"]
    got0 = len(tr.got)
    tr.burst([3] * 37 + [6] * 23 + [5] * 11 + [1] * 5 + [4] * 7)
    st2 = tr.settle(gw)
    fs2 = flow_stats(st2)
    want = {"c": 37, "n": 23, "d": 7, "u1": direction(fs0["u1"])["packets"] + 5}
    for n, k in want.items():
        if direction(fs2[n])["packets"] != k:
            errs.append("%s packets %d after the burst, expected %d" % (
                n, direction(fs2[n])["packets"], k))
    nf = ports_of(st2)["west"]["drops"]["no_flow"] - nf0
    if nf != 11 or len(tr.got) - got0 != 72:
        errs.append("11 frames of r: no_flow +%d; %d of 72 frames of c, n, u1, d arrived" % (
            nf, len(tr.got) - got0))
    r = lv.ctl.req("apply", config=open(lv.files["X"]).read())
    fs3 = flow_stats(gw.stats())
    for n in ("c", "d", "r"):
        if direction(fs3[n])["packets"] != 0:
            errs.append("after applying X again %s starts at %d" % (n, direction(fs3[n])["packets"]))
    res.check("5 counters: changed (c, d) and new (n, r) flows start at 0 in a fresh slot, then "
              "count exactly their frames; unchanged ones keep slot and count", not errs,
              "; ".join(errs))


# ----------------------------------------------------------------- case 2

BAD_SYNTAX = """{
 "ports": {
  "west": {"device": "net_tap0", "max_frame": 1518},
  "east": {"device": "net_tap1", "max_frame": 1518}
 },
 "flows": [
  {"name": "u1" "west": [], "east": []}
 ]
}
"""


def bad_configs():
    sem = json.loads(json.dumps(X))
    sem["flows"][0]["east"][0]["vid"] = 4096
    sem["flows"][1]["colour"] = "red"
    sem["flows"][2]["west"] = [tg(0x88A8, 100)]            # u1's stack
    unknown_port = json.loads(json.dumps(X))
    unknown_port["flows"][0]["north"] = [tg(0x8100, 9)]
    renamed = json.loads(json.dumps(X).replace('"east"', '"north"'))
    device = json.loads(json.dumps(X))
    device["ports"]["east"]["device"] = "net_tap7"
    return [
        ("syntax error", BAD_SYNTAX, True, ["line 7, column"]),
        ("semantic errors", sem, True, ["/flows/0/east/0/vid: 4096", "/flows/1/colour",
                                        "/flows/2/west: stack 0x88a8/100"]),
        ("unknown port name in a flow", unknown_port, True, ["/flows/0/north"]),
        ("renamed port", renamed, False,
         ["/ports: the running ports are west and east; renaming a port needs a restart"]),
        ("device change", device, False,
         ['/ports/east/device: "net_tap7" is not the running device "net_tap1"; changing a '
          "port's device needs a restart"]),
    ]


def cli_show(gw, known):
    """`qinqgw-ctl show`: (generation, name of the running config)."""
    p = gw.ctl("show")
    head, _, body = p.stdout.partition("\n")
    if p.returncode != 0 or not head.startswith("# generation "):
        return None, "show exit %d %r" % (p.returncode, p.stdout[:200] + p.stderr)
    return int(head.split()[2].rstrip(",")), cfg_name(json.loads(body), known)


def case2(lv):
    res, tr, gw, env = lv.res, lv.traffic, lv.gw, lv.env
    lv.ensure("X")
    gen = lv.generation()
    st0 = gw.stats()
    u1_0 = direction(flow_stats(st0)["u1"])["packets"]
    first = tr.sent
    tr.start([1], 5000)
    try:
        time.sleep(0.2)
        for i, (title, cfg, config_error, expect) in enumerate(bad_configs()):
            path = env.write("bad%d.json" % i, cfg)
            errs = []
            p = gw.ctl("apply", path)
            lines = p.stderr.splitlines()
            if p.returncode != 1:
                errs.append("qinqgw-ctl apply exit %d (stdout %r)" % (p.returncode, p.stdout))
            if not lines or any(not ln.startswith(path + ": ") for ln in lines):
                errs.append("stderr lines not all `FILE: message`: %r" % lines)
            for e in expect:
                if not any(e in ln for ln in lines):
                    errs.append("no line with %r in %r" % (e, lines))
            cc = run([env.qinqgw, "--check-config", path], check=False)
            if config_error:
                if cc.returncode != 1 or cc.stderr != p.stderr:
                    errs.append("qinqgw --check-config (exit %d) says %r, qinqgw-ctl %r" % (
                        cc.returncode, cc.stderr, p.stderr))
            elif cc.returncode != 0:
                errs.append("qinqgw --check-config refuses it (exit %d): %r" % (
                    cc.returncode, cc.stderr))
            for sub in ("check", "diff"):
                pc = gw.ctl(sub, path)
                if pc.returncode != 1 or pc.stderr != p.stderr:
                    errs.append("qinqgw-ctl %s: exit %d, %r" % (sub, pc.returncode, pc.stderr))
            r = lv.ctl.req("apply", config=cfg if isinstance(cfg, str) else json.dumps(cfg))
            want = [ln[len(path) + 2:] for ln in lines[:-1]]
            if r.get("ok") is not False or r.get("errors") != want or r.get("generation") != gen:
                errs.append("socket apply answered %s, expected errors %s, generation %d" % (
                    json.dumps(r)[:500], want, gen))
            g_show, running = cli_show(gw, lv.known)
            g_stats = gw.stats()["gateway"]["generation"]
            if g_show != gen or g_stats != gen or running != "X":
                errs.append("after it: qinqgw-ctl show: generation %s running %s; qinqgw-stats: "
                            "generation %d; expected %d running X" % (g_show, running, g_stats,
                                                                      gen))
            res.check("2 rejected (%s): qinqgw-ctl exits 1 with `FILE: message`%s, generation "
                      "%d keeps running" % (title, ", the messages of --check-config"
                                            if config_error else ", a valid file otherwise",
                                            gen), not errs, "\n  ".join(errs))
        time.sleep(0.3)
    finally:
        tr.stop()
    st = tr.settle(gw)
    ids = range(first, tr.sent)
    lost = [i for i in ids if i not in tr.got]
    bad = [i for i in ids if i in tr.got and
           tr.got[i] != lv.models["X"].verdict(0, build(1, i)).frame]
    u1 = direction(flow_stats(st)["u1"])["packets"] - u1_0
    res.check("2 traffic of u1 during the rejections: all %d frames arrived once, exact; "
              "counter +%d" % (len(ids), u1),
              not lost and not bad and u1 == len(ids) and not tr.dups,
              "%d lost, %d wrong, %d duplicated, counter +%d" % (len(lost), len(bad),
                                                                len(tr.dups), u1))
    rej = gw.log().count("rejected: invalid config")
    res.check("2 rejections logged", rej >= 10, "%d `rejected` log lines" % rej)


# ----------------------------------------------------------------- case 3

def wait_config(lv, name, timeout):
    """Poll show until `name` runs; seconds waited, or None."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        if lv.show()[1] == name:
            return time.monotonic() - t0
        time.sleep(0.05)
    return None


def case3(lv):
    res, gw = lv.res, lv.gw
    lv.ensure("X")
    g = lv.generation()
    nroll = gw.log().count("by rollback")

    # a) not confirmed: rolled back after ~2 s
    t0 = time.monotonic()
    p = gw.ctl("apply", "--confirm", "2", lv.files["Y"])
    r, running = lv.show()
    errs = []
    if p.returncode != 0 or running != "Y" or not r.get("confirm_pending") or \
            not 1.5 < r.get("confirm_seconds_left", 0) <= 2.0:
        errs.append("after apply --confirm 2: exit %d, running %s, %s" % (
            p.returncode, running, {k: r.get(k) for k in ("confirm_pending",
                                                          "confirm_seconds_left")}))
    time.sleep(0.5)
    pb = gw.ctl("apply", lv.env.write("bad-pending.json", BAD_SYNTAX))
    r, running = lv.show()
    if pb.returncode != 1 or running != "Y" or not r.get("confirm_pending") or \
            r["generation"] != g + 1:
        errs.append("a rejected apply while pending: exit %d, then running %s pending %s "
                    "generation %d" % (pb.returncode, running, r.get("confirm_pending"),
                                       r["generation"]))
    waited = wait_config(lv, "X", 5)
    t_back = time.monotonic() - t0 if waited is not None else None
    r, running = lv.show()
    if t_back is None or not 1.9 <= t_back <= 2.8:
        errs.append("rolled back after %s s, expected ~2" % t_back)
    if r["generation"] != g + 2 or r["confirm_pending"]:
        errs.append("generation %d (expected %d), pending %s" % (r["generation"], g + 2,
                                                                 r["confirm_pending"]))
    if gw.stats()["gateway"]["generation"] != g + 2:
        errs.append("stats generation %d" % gw.stats()["gateway"]["generation"])
    time.sleep(0.2)
    if gw.log().count("by rollback") != nroll + 1:
        errs.append("%d new log lines with 'by rollback'" % (gw.log().count("by rollback") - nroll))
    res.check("3 apply --confirm 2 Y without confirm (a rejected apply at 0.5 s): X back after "
              "%s s, generation +2, rollback logged" % ("%.2f" % t_back if t_back else "?"), not errs,
              "; ".join(errs))

    # b) confirmed in time: stays
    g = lv.generation()
    errs = []
    p = gw.ctl("apply", "--confirm", "2", lv.files["Y"])
    time.sleep(0.5)
    pc = gw.ctl("confirm")
    if p.returncode != 0 or pc.returncode != 0 or "generation %d stays" % (g + 1) not in pc.stdout:
        errs.append("apply exit %d, confirm exit %d: %r" % (p.returncode, pc.returncode,
                                                           pc.stdout + pc.stderr))
    time.sleep(2.5)
    r, running = lv.show()
    if running != "Y" or r["generation"] != g + 1 or r["confirm_pending"]:
        errs.append("3 s later: running %s generation %d pending %s" % (
            running, r["generation"], r["confirm_pending"]))
    res.check("3 apply --confirm 2 Y then confirm after 0.5 s: Y stays", not errs,
              "; ".join(errs))

    # c) a second apply --confirm restarts the timer and keeps the first rollback target
    lv.ensure("X")
    g = lv.generation()
    errs = []
    t0 = time.monotonic()
    p1 = gw.ctl("apply", "--confirm", "2", lv.files["Y"])
    time.sleep(max(0, t0 + 1.5 - time.monotonic()))
    p2 = gw.ctl("apply", "--confirm", "3", lv.files["X2"])
    if p1.returncode or p2.returncode:
        errs.append("applies exit %d, %d" % (p1.returncode, p2.returncode))
    time.sleep(max(0, t0 + 2.5 - time.monotonic()))
    r, running = lv.show()
    if running != "X2" or not r["confirm_pending"] or r["generation"] != g + 2:
        errs.append("at 2.5 s: running %s (expected X2), pending %s, generation %d (expected "
                    "%d)" % (running, r["confirm_pending"], r["generation"], g + 2))
    waited = wait_config(lv, "X", 4)
    t_back = time.monotonic() - t0 if waited is not None else None
    r, running = lv.show()
    if t_back is None or not 4.4 <= t_back <= 5.3:
        errs.append("rolled back at %s s, expected ~4.5" % t_back)
    if running != "X" or r["generation"] != g + 3 or r["confirm_pending"]:
        errs.append("then: running %s (expected X, the config before the first unconfirmed "
                    "apply), generation %d (expected %d)" % (running, r["generation"], g + 3))
    time.sleep(1.0)
    r, running = lv.show()
    if running != "X" or r["generation"] != g + 3:
        errs.append("1 s later: running %s generation %d" % (running, r["generation"]))
    res.check("3 apply --confirm 2 Y, at 1.5 s apply --confirm 3 X2: X2 still at 2.5 s, X back "
              "at %s s (expected 4.5), generation +3" % ("%.2f" % t_back if t_back else "?"),
              not errs, "; ".join(errs))

    # d) a plain apply while one is pending confirms it
    g = lv.generation()
    errs = []
    p1 = gw.ctl("apply", "--confirm", "1", lv.files["Y"])
    p2 = gw.ctl("apply", lv.files["X2"])
    time.sleep(1.6)
    r, running = lv.show()
    if p1.returncode or p2.returncode or running != "X2" or r["confirm_pending"] or \
            r["generation"] != g + 2:
        errs.append("running %s pending %s generation %d (expected X2, False, %d)" % (
            running, r["confirm_pending"], r["generation"], g + 2))
    res.check("3 a plain apply while a confirm is pending confirms the new config", not errs,
              "; ".join(errs))

    # e) confirm with nothing pending
    g = lv.generation()
    p = gw.ctl("confirm")
    res.check("3 confirm with nothing pending exits 1 and says so",
              p.returncode == 1 and "no apply is waiting for confirmation" in p.stderr and
              lv.generation() == g, "exit %d: %r" % (p.returncode, p.stdout + p.stderr))
    lv.ensure("X")


# ----------------------------------------------------------------- case 4

def case4(lv):
    res, gw, env = lv.res, lv.gw, lv.env
    sm = os.stat(gw.sock)
    res.check("4 socket mode 0660, group %s (--ctl-group)" % GROUP,
              stat.S_ISSOCK(sm.st_mode) and stat.S_IMODE(sm.st_mode) == 0o660 and
              sm.st_gid == env.gid,
              "mode %o gid %d (group %s is %d)" % (sm.st_mode, sm.st_gid, GROUP, env.gid))
    p = gw.ctl("show", user=["--clear-groups"])
    res.check("4 a user outside the group cannot connect: exit 3, permission message",
              p.returncode == 3 and "Permission denied" in p.stderr,
              "exit %d: %r" % (p.returncode, p.stdout[:200] + p.stderr))
    p = gw.ctl("show", user=["--groups", str(env.gid)])
    res.check("4 the same user in group %s can: show exits 0" % GROUP,
              p.returncode == 0 and p.stdout.startswith("# generation"),
              "exit %d: %r" % (p.returncode, p.stdout[:200] + p.stderr))

    # without --ctl-group: the gateway's own group
    cfg = env.write("null.json", {"ports": {"west": {"device": "net_null0"},
                                            "east": {"device": "net_null1"}},
                                  "flows": [U1]})
    g2 = Gateway(env, "null", cfg, devices="null", netns=False)
    # in a directory that does not exist yet: the gateway creates it
    g2.sock = env.path("ctl-null/null.sock")
    g2.cmd[g2.cmd.index("--ctl-socket") + 1] = g2.sock
    try:
        g2.start()
        sm = os.stat(g2.sock)
        p1 = g2.ctl("show", user=["--groups", str(env.gid)])
        p2 = g2.ctl("show")
        ok = stat.S_IMODE(sm.st_mode) == 0o660 and sm.st_gid == os.getgid() and \
            p1.returncode == 3 and "Permission denied" in p1.stderr and p2.returncode == 0
        res.check("4 without --ctl-group: mode 0660, the gateway's group; a user of another "
                  "group exits 3, root connects", ok,
                  "mode %o gid %d; other user exit %d %r; root exit %d" % (
                      sm.st_mode, sm.st_gid, p1.returncode, p1.stderr, p2.returncode))
    except RuntimeError as e:
        res.check("4 without --ctl-group: mode 0660, the gateway's group", False, str(e))
    finally:
        g2.stop()
    # a stale socket file (nobody listens) is replaced
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(g2.sock)
    stale.close()
    g3 = Gateway(env, "null2", cfg, devices="null", netns=False)
    g3.sock = g2.sock
    g3.cmd[g3.cmd.index("--ctl-socket") + 1] = g3.sock
    try:
        g3.start()
        p = g3.ctl("show")
        res.check("4 a stale socket file is replaced", p.returncode == 0,
                  "show exit %d %r" % (p.returncode, p.stderr))
    except RuntimeError as e:
        res.check("4 a stale socket file is replaced", False, str(e))
    finally:
        g3.stop()


# ----------------------------------------------------------------- case 5

def diff_lines(d):
    out = ["~ port " + x for x in d["ports"]] + ["+ flow " + x for x in d["added"]] + \
        ["- flow " + x for x in d["removed"]]
    for n, ch in d["changed"].items():
        out += ["~ flow %s: %s" % (n, c) for c in ch]
    return sorted(out + ["= %d flows unchanged" % d["unchanged"]])


def case5(lv):
    res, gw, env = lv.res, lv.gw, lv.env
    lv.ensure("X")

    # diff
    p = gw.ctl("diff", lv.files["Y"])
    res.check("5 diff X -> Y: + n, - r, c and d changed field by field, 2 unchanged",
              p.returncode == 0 and sorted(p.stdout.splitlines()) == diff_lines(DIFF_XY),
              "exit %d:\n%s\nexpected:\n%s" % (p.returncode, p.stdout + p.stderr,
                                               "\n".join(diff_lines(DIFF_XY))))
    z = json.loads(json.dumps(X))
    z["ports"]["west"]["max_frame"] = 1522
    z["flows"][4]["name"] = "r2"
    want = {"ports": ["west max_frame: 1518 -> 1522"], "added": ["r2"], "removed": ["r"],
            "changed": {"u2": ["mtu: 1492 -> 1496", "mss_clamp (IPv4 MSS): 1452 -> 1456",
                               "mss_clamp (IPv6 MSS): 1432 -> 1436"]}, "unchanged": 3}
    p = gw.ctl("--json", "diff", env.write("Z.json", z))
    try:
        d = json.loads(p.stdout).get("diff")
    except ValueError:
        d = None
    res.check("5 diff --json X -> (west max_frame 1522, r renamed r2): port change, rename = "
              "added + removed, u2's default mtu and MSS follow", d == want,
              "got %s, expected %s" % (json.dumps(d), json.dumps(want)))

    # show --json round trip
    g = lv.generation()
    st0 = gw.stats()
    p = gw.ctl("--json", "show")
    errs = []
    try:
        shown = json.loads(p.stdout)["config"]
    except (ValueError, KeyError):
        shown = None
        errs.append("show --json: exit %d %r" % (p.returncode, p.stdout[:300]))
    if shown is not None:
        path = env.write("shown.json", shown)
        cc = run([env.qinqgw, "--check-config", path], check=False)
        ck = gw.ctl("check", path)
        df = gw.ctl("--json", "diff", path)
        ap = lv.ctl.req("apply", config=open(path).read())
        again = lv.ctl.req("show")["config"]
        if cc.returncode != 0:
            errs.append("--check-config: %r" % cc.stderr)
        if ck.returncode != 0:
            errs.append("qinqgw-ctl check: %r" % ck.stderr)
        nochange = {"ports": [], "added": [], "removed": [], "changed": {}, "unchanged": 5}
        try:
            dd = json.loads(df.stdout)["diff"]
        except (ValueError, KeyError):
            dd = df.stdout
        if dd != nochange:
            errs.append("diff: %s" % dd)
        if not ap.get("ok") or ap.get("diff") != nochange or ap.get("generation") != g + 1:
            errs.append("apply: %s" % json.dumps(ap)[:400])
        if again != shown:
            errs.append("show after applying it differs: %s" % json.dumps(again)[:400])
        fs0, fs1 = flow_stats(st0), flow_stats(gw.stats())
        moved = [n for n in fs0 if fs0[n]["slot"] != fs1[n]["slot"] or
                 direction(fs0[n])["packets"] != direction(fs1[n])["packets"]]
        if moved:
            errs.append("flows %s lost slot or counters" % moved)
    res.check("5 show --json round trip: passes --check-config and check, diff and apply say "
              "5 unchanged, counters kept", not errs, "; ".join(errs))

    # every response carries generation and confirm_pending, refusals included
    g = lv.generation()
    bad = []
    for line in ('{"version": 1, "command": "frobnicate"}', '{"version": 2, "command": "show"}',
                 '{"version": 1, "command": "apply", "config": "{}", "confirm": 0}',
                 '{"version": 1}', '["show"]', 'show please'):
        lv.ctl.sock.sendall(line.encode() + b"\n")
        try:
            r = json.loads(lv.ctl.rf.readline())
        except ValueError as e:
            r = {"unparsable": str(e)}
        if r.get("ok") is not False or not r.get("errors") or r.get("generation") != g or \
                r.get("confirm_pending") is not False:
            bad.append("%s -> %s" % (line, json.dumps(r)))
    r = lv.ctl.req("show")
    res.check("5 protocol: refused requests are answered ok=false with errors, generation and "
              "confirm_pending, and the connection stays usable",
              not bad and r.get("ok") and r.get("generation") == g, "\n  ".join(bad))
    p = gw.ctl("apply", "--confirm", "0", lv.files["X"])
    res.check("5 qinqgw-ctl apply --confirm 0: bad command line, exit 2",
              p.returncode == 2 and lv.generation() == g, "exit %d %r" % (p.returncode,
                                                                        p.stderr))

    # ports listed in the other order
    rev = {"version": 1, "ports": {"east": PORTS["east"], "west": PORTS["west"]},
           "flows": X["flows"]}
    ap = lv.ctl.req("apply", config=json.dumps(rev))
    res.check("5 the same config with its ports in the other order: applied, all unchanged",
              ap.get("ok") and ap.get("diff", {}).get("unchanged") == 5 and
              not ap["diff"]["changed"] and not ap["diff"]["added"], json.dumps(ap)[:600])

    # SIGHUP
    lv.ensure("X")
    g = lv.generation()
    env.write("running.json", Y)
    gw.proc.send_signal(signal.SIGHUP)
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3 and lv.generation() == g:
        time.sleep(0.05)
    r, running = lv.show()
    res.check("5 SIGHUP re-reads --config (now Y): generation +1, show says Y, logged",
              r["generation"] == g + 1 and running == "Y" and
              gw.stats()["gateway"]["generation"] == g + 1 and "by SIGHUP" in gw.log(),
              "generation %d (was %d), running %s" % (r["generation"], g, running))
    for title, content in (("syntax error", BAD_SYNTAX),
                           ("renamed port", json.loads(json.dumps(X).replace('"east"',
                                                                             '"north"')))):
        g = lv.generation()
        n_ref = gw.log().count("SIGHUP: %s refused" % lv.cfg_path)
        env.write("running.json", content)
        gw.proc.send_signal(signal.SIGHUP)
        time.sleep(1.0)
        r, running = lv.show()
        n_ref2 = gw.log().count("SIGHUP: %s refused" % lv.cfg_path)
        res.check("5 SIGHUP with a broken file (%s): nothing changes, refusal logged" % title,
                  r["generation"] == g and running == "Y" and n_ref2 == n_ref + 1 and
                  gw.proc.poll() is None,
                  "generation %d (was %d), running %s, %d refusals logged" % (
                      r["generation"], g, running, n_ref2 - n_ref))
    env.write("running.json", X)
    gw.proc.send_signal(signal.SIGHUP)
    wait_config(lv, "X", 3)

    # a second gateway on the same socket
    g2 = Gateway(env, "dup", lv.cfg_path, devices=(), netns=False)
    g2.sock = gw.sock
    g2.cmd[g2.cmd.index("--ctl-socket") + 1] = gw.sock
    g2.start(wait=False)
    try:
        rc = g2.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        rc = None
    g2.stop()
    log = g2.log()
    p = gw.ctl("show")
    res.check("5 a second gateway with the same --ctl-socket exits 1 with a clear message; "
              "the first one still answers",
              rc == 1 and "in use by a running gateway" in log and gw.sock in log and
              p.returncode == 0 and os.path.exists(gw.sock),
              "exit %s, log tail %r; first gateway: show exit %d" % (rc, log[-600:],
                                                                   p.returncode))


# ------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw", required=True)
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("test_live.py needs root (network namespace, taps, setpriv)")
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.setswitchinterval(0.0002)
    res = q.Results()
    env = None
    lv = None
    try:
        env = tapenv.Env(args.qinqgw, NS, (TAP_W, TAP_E), PREFIX, "qgwlive_", group=GROUP)
        lv = Live(env, res)
        for name, fn in (("1", case1), ("5 counters", counters_fresh), ("2", case2),
                         ("3", case3), ("4", case4), ("5", case5)):
            if lv.gw.proc.poll() is not None:
                res.check("case %s" % name, False, "the gateway is gone (exit %s)"
                          % lv.gw.proc.returncode)
                continue
            try:
                fn(lv)
            except Exception as e:  # one broken case does not hide the others
                res.check("case %s ran to the end" % name, False, "%s\n%s" % (
                    e, traceback.format_exc()))
        lv.traffic.close()
        rc = lv.gw.stop()
        res.check("gateway stopped cleanly (exit 0)", rc == 0, "exit %s:\n%s" % (
            rc, lv.gw.log()[-1500:]))
        p = lv.gw.ctl("show")
        res.check("qinqgw-ctl exits 3 when no gateway listens (socket removed at stop)",
                  p.returncode == 3 and "is the gateway running" in p.stderr and
                  not os.path.exists(lv.gw.sock), "exit %d %r" % (p.returncode, p.stderr))
    except Exception as e:
        res.check("set-up", False, "%s\n%s" % (e, traceback.format_exc()))
    finally:
        if lv is not None:
            lv.traffic.close()
        if env is not None:
            if res.failed:
                for g in env.gateways:
                    print("# log of gateway %s (tail):\n%s" % (g.name, g.log()[-3000:]))
            env.cleanup()
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
