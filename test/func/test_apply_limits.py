#!/usr/bin/python3
"""The limits of a live apply (docs/control.md, docs/config.md), checked on
the running gateway.

Gateways (each with its own --file-prefix, --stats-name and --ctl-socket,
all named after this test's pid):
  big    two net_pcap vdevs replaying a pcap file endlessly (infinite_rx=1,
         tx to /dev/null: no network at all), a maximal config (8192 flows),
         --fault-injection;
  small  the same devices, 4 flows, --fault-injection;
  tap    two net_tap ports in a network namespace of this test (IPv6 off,
         no addresses: the kernel sends nothing; no frame is sent);
  mixed  a net_tap port and a net_pcap port (empty rx file), same namespace;
  null   two net_null ports.

Checks (each prints `ok NAME` or `FAIL NAME: why`; numbers as `# ...`):
  1 big, under traffic: one apply replaces all 8192 flows (half renamed,
    half kept by name with other VIDs): exit 0, generation +1 exactly, the
    answer says 0 unchanged / 8192 new / 8192 removed, the stats show the
    8192 new flows only, in the 8192 slots the old ones did not hold; the
    new flows count the traffic (per flow, share of the pcap), flows without
    traffic read 0, every frame received since is in a flow of the new
    config or dropped no_flow (exact, counters frozen by a short worker
    stall while read), the old VIDs are no_flow. Then a second full
    replacement (new names and VIDs): the same, in exactly the slots of the
    first config (they came back). Apply times printed.
  2 small: worker 0 stalled 5 s: qinqgw-ctl apply exits 4 within 1.5 s with
    "the old flow table is still reachable"; the generation moved and the
    config is in force; a plain show answers in < 100 ms while the apply's
    answer waits; a raw apply meanwhile answers ok false, applied true,
    retired false naming worker 0; after the worker resumes, the next apply
    exits 0 with retired true.
  3 small: worker 0 stalled 10 s, 64 applies from 32 parallel connections:
    each answered applied, not retired, generations +1..+64; the 65th is
    refused (exit 1, "64 old flow tables still wait ...", quickly),
    generation and config unchanged; show answers in < 100 ms all along;
    after the stall, applies work again (exit 0, retired true).
  4 max_frame live: on net_tap ports the kernel interfaces' MTU is
    max_frame - 14 from the start on and follows every change, raised and
    lowered; a value the tap does not take
    (9000), a net_pcap port (it has no MTU operation: ENOTSUP), and a
    tap + pcap change where the tap takes it and the pcap does not: refused,
    exit 1, "needs a restart", generation, running max_frame and the tap's
    kernel MTU unchanged (also when the tap kept its default MTU at start
    because it does not take max_frame 1522). net_null takes any value.
  5 config boundaries, read back with `qinqgw-ctl show --json` after apply
    and checked with `qinqgw --check-config`: icmp_burst 1, 65535, 65536,
    100000, 1000000 (0 and 1000001 refused); icmp_rate 0, 1000000
    (1000001 refused); mss_clamp with mtu 1400: 1360, 88 (1361, 9000, 87
    refused, naming /flows/0/mss_clamp; the IPv6 clamp, from diff, is
    min(N, mtu - 60)); mtu 1279, 551 and 68 with a warning (printed by
    --check-config and qinqgw-ctl, in the answer's "warnings"), 1280
    without, 67 refused. And icmp_burst as the data path uses it: a gateway
    (icmp, net_pcap) whose flows get oversize IPv4 DF packets without end
    answers exactly icmp_burst of them (1, 65535, 65536, 100000, 1000000;
    + icmp_rate 1 a second), then suppresses; icmp_rate 0 answers none.

Usage: /usr/bin/python3 test_apply_limits.py --qinqgw PATH --qinqgw-stats PATH
           --qinqgw-ctl PATH [--only 1,2,3,4,5]   (root: namespace, taps)
"""
import argparse
import json
import os
import re
import signal
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
NS = "qgwal%d" % PID
TAP_W = "qaw%d" % PID            # at most 15 characters
TAP_E = "qae%d" % PID
PREFIX = "qgwal_%d" % PID        # EAL file-prefix and stats names of every gateway here

MAX_FLOWS = 8192
MAX_DEFERRED = 64
RCU_TIMEOUT = 1.0                # s, QGW_RCU_TIMEOUT_MS
EXIT_REFUSED, EXIT_NOT_RETIRED = 1, 4
SHOW_LIMIT = 0.100               # s: a show must be answered within this, whatever waits
FREEZE_MS = 2500                 # worker stall while the stats are read (8192 flows: slow on a busy machine)
STALL2_MS = 5000
STALL3_MS = 10000


def T(tpid, vid):
    return {"tpid": "0x%04x" % tpid, "vid": vid}


def mono():
    return time.monotonic()


# ------------------------------------------------------------------ configs

def small_config(devices=("net_pcap0", "net_pcap1"), max_frames=(None, None), flow0=None):
    """4 flows; flow 0 gets the keys of flow0."""
    ports = {}
    for name, dev, mf in zip(("west", "east"), devices, max_frames):
        ports[name] = {"device": dev}
        if mf is not None:
            ports[name]["max_frame"] = mf
    flows = []
    for i in range(4):
        f = {"name": "s%d" % i, "west": [T(0x88A8, 100 + i)], "east": [T(0x8100, 1000 + i)]}
        flows.append(f)
    if flow0:
        flows[0].update(flow0)
    return {"version": 1, "ports": ports, "flows": flows}


def vids(i):
    return 1 + i // 4000, 1 + i % 4000


def big_config(kind):
    """A: f0000..f8191 at outer VIDs 1..3; B: every flow replaced, even ones
    keep their name with outer VIDs +10 (changed), odd ones renamed g.... with
    the same VIDs; C: every flow replaced by h.... at outer VIDs +20."""
    flows = []
    for i in range(MAX_FLOWS):
        v1, v2 = vids(i)
        if kind == "A":
            name, o = "f%04d" % i, 0
        elif kind == "B":
            name, o = ("f%04d" % i, 10) if i % 2 == 0 else ("g%04d" % i, 0)
        else:
            name, o = "h%04d" % i, 20
        flows.append({"name": name, "west": [T(0x88A8, v1 + o), T(0x8100, v2)],
                      "east": [T(0x9100, v1 + o), T(0x8100, v2)]})
    return {"version": 1,
            "ports": {"west": {"device": "net_pcap0"}, "east": {"device": "net_pcap1"}},
            "flows": flows}


def matcher(cfg):
    """(port index, outer tpid, vid, inner tpid, vid) -> flow name (two-tag
    stacks only, as in every big config)."""
    m = {}
    for f in cfg["flows"]:
        for p, port in enumerate(("west", "east")):
            st = f[port]
            m[(p, int(st[0]["tpid"], 16), st[0]["vid"], int(st[1]["tpid"], 16),
               st[1]["vid"])] = f["name"]
    return m


# Frames of the big gateway's pcap, per port: (offset of the outer VID, flow index).
BIG_TRAFFIC = ([(0, i) for i in (0, 1, 6, 7, 3999, 4000, 4001, 8190, 8191)] +
               [(10, i) for i in (0, 2, 4000, 8190)] +
               [(20, i) for i in (5, 6, 4002, 8191)])


def big_frames():
    """Per port the frames and their keys for matcher()."""
    fm = q.FrameMaker(15)
    out = []
    for p in range(2):
        frames, keys = [], []
        outer = 0x88A8 if p == 0 else 0x9100
        for k, (o, i) in enumerate(BIG_TRAFFIC):
            v1, v2 = vids(i)
            frames.append(fm.frame([q.tag(outer, v1 + o), q.tag(0x8100, v2), q.tag(0x8100, 10)],
                                   64 + 8 * k))
            keys.append((p, outer, v1 + o, 0x8100, v2))
        out.append((frames, keys))
    return out


# ------------------------------------------------------------- gateways

class Suite:
    def __init__(self, args, res):
        self.args, self.r = args, res
        self.env = tapenv.Env(args.qinqgw, NS, (TAP_W, TAP_E), PREFIX, "qgwal_")
        self.env.ctl_bin = os.path.abspath(args.qinqgw_ctl)
        self.env.stats_bin = os.path.abspath(args.qinqgw_stats)
        self.qinqgw = os.path.abspath(args.qinqgw)
        self.times = []

    def timing(self, what, seconds):
        self.times.append((what, seconds))
        print("# time %s: %.3f s" % (what, seconds), flush=True)

    def check(self, name, ok, why=""):
        return self.r.check(name, ok, why)

    def pcap_gateway(self, name, cfg, rx_frames, fault=True):
        """A gateway on two net_pcap vdevs replaying rx_frames[p] endlessly."""
        vdevs = []
        for p in range(2):
            rx = self.env.path("%s-rx%d.pcap" % (name, p))
            q.write_pcap(rx, rx_frames[p])
            vdevs.append("net_pcap%d,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1" % (p, rx))
        path = self.env.write("%s.json" % name, json.dumps(cfg, separators=(",", ":")))
        gw = tapenv.Gateway(self.env, name, path, devices=vdevs, netns=False,
                            extra=["--fault-injection"] if fault else [])
        gw.start(timeout=60)
        return gw

    def ctl(self, gw, *args, timeout=60):
        t0 = mono()
        p = gw.ctl(*args, timeout=timeout)
        return p, mono() - t0

    def show(self, gw, timeout=10):
        """The show answer over a fresh connection (raw protocol)."""
        c = tapenv.Ctl(gw.sock, timeout=timeout)
        try:
            return c.req("show")
        finally:
            c.close()

    def show_json(self, gw):
        """`qinqgw-ctl show --json` -> (answer or None, seconds, process)."""
        p, t = self.ctl(gw, "--json", "show")
        try:
            return json.loads(p.stdout), t, p
        except ValueError:
            return None, t, p

    def fault(self, gw, **kw):
        c = tapenv.Ctl(gw.sock, timeout=10)
        try:
            return c.req("fault", **kw)
        finally:
            c.close()

    def write(self, name, cfg):
        return self.env.write(name, json.dumps(cfg, separators=(",", ":")))


def kernel_mtu(ns, ifname):
    p = tapenv.run(["ip", "-n", ns, "-j", "link", "show", ifname], check=False)
    if p.returncode != 0:
        return None
    return json.loads(p.stdout)[0].get("mtu")


def ethdev_mtus(gw):
    """The MTU each ethdev port says it has (DPDK telemetry /ethdev/info)."""
    try:
        t = q.Telemetry(os.path.join("/var/run/dpdk", gw.prefix, "dpdk_telemetry.v2"))
        try:
            return [t.cmd("/ethdev/info,%d" % i)["/ethdev/info"].get("mtu") for i in (0, 1)]
        finally:
            t.close()
    except (OSError, ValueError, KeyError, TypeError) as e:
        return "unknown (%s)" % e


def short(text, n=400):
    text = (text or "").strip()
    return text if len(text) <= n else text[:n] + "..."


# ------------------------------------------------------- 1: 8192 replaced

def counts(doc):
    """Stats document -> (ports {name: (rx, dropped, no_flow)},
    flows {name: (slot, {ingress: packets})})."""
    ports = {p["name"]: (p["rx_packets"], p["dropped"], p["drops"]["no_flow"])
             for p in doc["ports"]}
    flows = {}
    for f in doc["flows"]:
        flows[f["name"]] = (f["slot"], {d["ingress"]: d["packets"] for d in f["directions"]})
    return ports, flows


def frozen_stats(s, gw):
    """The stats read while worker 0 stands still (FREEZE_MS stall), so that
    port and flow counters are of the same instant. -> (doc, frozen)."""
    r = s.fault(gw, worker=0, stall_ms=FREEZE_MS)
    t0 = mono()
    if not r.get("ok"):
        raise RuntimeError("fault stall refused: %s" % json.dumps(r))
    time.sleep(0.15)
    doc = gw.stats(False)
    t1 = mono()
    left = t0 + FREEZE_MS / 1000.0 + 0.05 - mono()
    if left > 0:
        time.sleep(left)
    return doc, (t1 - t0) < FREEZE_MS / 1000.0 - 0.05


def expect_under(cfg):
    """Per port: {flow name: frames per pcap cycle}, no_flow frames per cycle,
    frames per cycle."""
    m = matcher(cfg)
    out = []
    for frames, keys in big_frames():
        per, nf = {}, 0
        for k in keys:
            name = m.get(k)
            if name is None:
                nf += 1
            else:
                per[name] = per.get(name, 0) + 1
        out.append((per, nf, len(keys)))
    return out


def check_window(s, title, cfg, a, b):
    """Counters of two frozen snapshots a, b taken under cfg (no apply in
    between): exact accounting, shares, flows without traffic at 0."""
    pa, fa = counts(a)
    pb, fb = counts(b)
    names = ("west", "east")
    exp = expect_under(cfg)
    want_names = {f["name"] for f in cfg["flows"]}
    s.check("%s: the stats show exactly the %d flows of the config" % (title, len(want_names)),
            set(fb) == want_names and set(fa) == want_names,
            "%d flows shown, %d not in the config (e.g. %s), %d of the config missing (e.g. %s)"
            % (len(fb), len(set(fb) - want_names), sorted(set(fb) - want_names)[:3],
               len(want_names - set(fb)), sorted(want_names - set(fb))[:3]))
    errs, share_errs = [], []
    for p, port in enumerate(names):
        per, nf, total = exp[p]
        drx = pb[port][0] - pa[port][0]
        dflows = sum(fb[n][1].get(port, 0) - fa.get(n, (0, {}))[1].get(port, 0) for n in fb)
        ddrop = pb[port][1] - pa[port][1]
        dnf = pb[port][2] - pa[port][2]
        print("# %s: %s received %d frames: %d in flows, %d dropped (%d no_flow)"
              % (title, port, drx, dflows, ddrop, dnf), flush=True)
        if drx <= 0:
            errs.append("%s received nothing between the snapshots" % port)
            continue
        if drx != dflows + ddrop:
            errs.append("%s: %d frames received, %d in the config's flows + %d dropped = %d "
                        "(%+d)" % (port, drx, dflows, ddrop, dflows + ddrop,
                                   drx - dflows - ddrop))
        if ddrop != dnf:
            errs.append("%s: %d dropped, %d of them no_flow" % (port, ddrop, dnf))
        tol = 0.01 * drx + 2 * total
        if abs(dnf - drx * nf / total) > tol:
            share_errs.append("%s: no_flow %d of %d, expected %d/%d of them"
                              % (port, dnf, drx, nf, total))
        for n, k in per.items():
            d = fb[n][1].get(port, 0) - fa[n][1].get(port, 0) if n in fb and n in fa else None
            if d is None or d <= 0 or abs(d - drx * k / total) > tol:
                share_errs.append("%s: flow %s counted %s of %d frames, expected %d/%d of them"
                                  % (port, n, d, drx, k, total))
    s.check("%s: every frame received is in a flow of the config or dropped no_flow "
            "(exact, frozen counters)" % title, not errs, "; ".join(errs))
    s.check("%s: the flows with traffic count their share, the old VIDs are no_flow"
            % title, not share_errs, "; ".join(share_errs[:8]))
    busy = {n for p in range(2) for n in exp[p][0]}
    nonzero = [(n, fb[n][1]) for n in fb if n not in busy and any(fb[n][1].values())]
    s.check("%s: the %d flows without traffic read 0 packets (fresh slots)"
            % (title, len(fb) - len(busy)), not nonzero,
            "%d flows count packets, e.g. %s" % (len(nonzero), nonzero[:4]))


def case1(s):
    res_name = "1 8192 flows"
    A, B, C = big_config("A"), big_config("B"), big_config("C")
    frames = big_frames()
    gw = s.pcap_gateway("big", A, [frames[0][0], frames[1][0]])
    cfg_b, cfg_c = s.write("big-B.json", B), s.write("big-C.json", C)
    print("# 1 config of 8192 flows: %d bytes" % os.path.getsize(cfg_b), flush=True)

    s0, fr0 = frozen_stats(s, gw)
    s0b, fr0b = frozen_stats(s, gw)
    s.check("%s: stats read within the worker stall (frozen counters)" % res_name,
            fr0 and fr0b, "qinqgw-stats took longer than the %d ms stall" % FREEZE_MS)
    check_window(s, "%s: config A (start)" % res_name, A, s0, s0b)
    slots_a = {n: v[0] for n, v in counts(s0b)[1].items()}
    g0 = s.show(gw)["generation"]

    prev_slots = slots_a
    for step, (cfg, path, what) in enumerate(((B, cfg_b, "B (4096 changed, 4096 renamed)"),
                                              (C, cfg_c, "C (8192 new names and VIDs)"))):
        title = "%s: apply %d, all replaced by %s" % (res_name, step + 1, what)
        p, t = s.ctl(gw, "apply", path, timeout=120)
        s.timing("apply %d: 8192 flows replaced by 8192 others, under traffic" % (step + 1), t)
        ok = p.returncode == 0
        s.check("%s: exit 0" % title, ok, "exit %d: %s" % (p.returncode, short(p.stderr)))
        m = re.search(r"generation (\d+): (\d+) flows, (\d+) unchanged, (\d+) new or changed, "
                      r"(\d+) removed", p.stdout)
        g = s.show(gw)["generation"]
        s.check("%s: generation +1 exactly (%d -> %d)" % (title, g0 + step, g),
                g == g0 + step + 1 and (not ok or (m and int(m.group(1)) == g)),
                "generation %d after, %d before; answer: %s" % (g, g0 + step, short(p.stdout)))
        if not ok:
            s.check("%s: (rest skipped)" % title, False, "the apply was refused")
            return gw
        s.check("%s: answer says 8192 flows, 0 unchanged, 8192 new or changed, 8192 removed"
                % title, m is not None and m.group(2, 3, 4, 5) == ("8192", "0", "8192", "8192"),
                short(p.stdout))
        a, fra = frozen_stats(s, gw)
        time.sleep(0.3)
        b, frb = frozen_stats(s, gw)
        if not (fra and frb):
            s.check("%s: stats read within the worker stall" % title, False,
                    "qinqgw-stats took longer than the %d ms stall" % FREEZE_MS)
        gs = b["gateway"]["generation"]
        s.check("%s: the stats segment says generation %d" % (title, g0 + step + 1),
                gs == g0 + step + 1, "it says %s" % gs)
        check_window(s, title, cfg, a, b)
        slots = {n: v[0] for n, v in counts(b)[1].items()}
        held = set(prev_slots.values())
        new = set(slots.values())
        s.check("%s: 8192 distinct slots, none of those the replaced flows held" % title,
                len(new) == MAX_FLOWS and not (new & held),
                "%d distinct slots, %d shared with the replaced flows" % (len(new),
                                                                          len(new & held)))
        print("# %s: slots %d..%d" % (title, min(new), max(new)), flush=True)
        if step == 1:
            s.check("%s: the slots of the first config came back (exactly its 8192 slots)"
                    % title, new == set(slots_a.values()),
                    "%d of the new slots were config A's" % len(new & set(slots_a.values())))
        prev_slots = slots
    return gw


# ---------------------------------------------------- 2: stalled worker

def small_frames():
    fm = q.FrameMaker(16)
    out = []
    for p in range(2):
        tpid, base = (0x88A8, 100) if p == 0 else (0x8100, 1000)
        out.append([fm.frame([q.tag(tpid, base + i), q.tag(0x8100, 7)], 100) for i in range(4)])
    return out


def timed_show_cli(s, gw):
    p, t = s.ctl(gw, "show", timeout=10)
    return p.returncode, t


def case2(s, gw):
    name = "2 stalled worker"
    g0 = s.show(gw)["generation"]
    c1 = s.write("c2-1.json", small_config(flow0={"icmp_rate": 777}))
    c2 = small_config(flow0={"icmp_rate": 778})
    c3 = s.write("c2-3.json", small_config(flow0={"icmp_rate": 779}))
    r = s.fault(gw, worker=0, stall_ms=STALL2_MS)
    t_stall = mono()
    s.check("%s: fault stall_ms %d accepted" % (name, STALL2_MS), r.get("ok") is True,
            json.dumps(r))
    time.sleep(0.2)
    t0 = mono()
    proc = subprocess.Popen([s.env.ctl_bin, "--socket", gw.sock, "apply", c1],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)
    rc_show, t_show = timed_show_cli(s, gw)
    t1 = mono()
    s.show(gw)
    t_raw = mono() - t1
    pending = proc.poll() is None
    try:
        out, err = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
    t_apply = mono() - t0
    s.timing("2 apply with worker 0 stalled, answered", t_apply)
    s.timing("2 qinqgw-ctl show while that apply's answer waits", t_show)
    s.timing("2 show (raw) while that apply's answer waits", t_raw)
    s.check("%s: qinqgw-ctl apply exits 4 (applied, not retired)" % name,
            proc.returncode == EXIT_NOT_RETIRED,
            "exit %s: %s %s" % (proc.returncode, short(out), short(err)))
    s.check("%s: ... within 1.5 s (%.3f s), after the %.0f s timeout"
            % (name, t_apply, RCU_TIMEOUT), RCU_TIMEOUT - 0.05 <= t_apply <= 1.5,
            "%.3f s" % t_apply)
    s.check("%s: ... with the message (the old flow table is still reachable, generation %d)"
            % (name, g0 + 1),
            "the old flow table is still reachable" in err and
            "applied as generation %d" % (g0 + 1) in err, short(err, 600))
    print("# 2 message: %s" % err.strip().splitlines()[0] if err.strip() else "# 2 no message",
          flush=True)
    s.check("%s: a plain show answers within 100 ms while the apply's answer waits "
            "(qinqgw-ctl %.1f ms, raw %.1f ms)" % (name, t_show * 1e3, t_raw * 1e3),
            pending and rc_show == 0 and t_show < SHOW_LIMIT and t_raw < SHOW_LIMIT,
            "apply still waiting: %s, show exit %d, %.1f ms / %.1f ms"
            % (pending, rc_show, t_show * 1e3, t_raw * 1e3))
    d, _, _ = s.show_json(gw)
    s.check("%s: the generation moved (%d -> %d) and the config is in force"
            % (name, g0, g0 + 1),
            d is not None and d["generation"] == g0 + 1 and
            d["config"]["flows"][0]["icmp_rate"] == 777,
            "show: %s" % (short(json.dumps(d)) if d else None))
    # raw protocol, worker now flagged stalled (over 1.5 s into the stall)
    c = tapenv.Ctl(gw.sock, timeout=30)
    t1 = mono()
    a = c.req("apply", config=json.dumps(c2))
    t_a = mono() - t1
    c.close()
    e = " ".join(a.get("errors", []))
    s.check("%s: the answer is ok false, applied true, retired false, generation %d, "
            "naming worker 0 (%.3f s)" % (name, g0 + 2, t_a),
            a.get("ok") is False and a.get("applied") is True and a.get("retired") is False
            and a.get("generation") == g0 + 2 and "worker 0" in e and "still reachable" in e
            and t_a <= 1.5, "%.3f s: %s" % (t_a, short(json.dumps(a), 700)))
    left = t_stall + STALL2_MS / 1000.0 + 0.3 - mono()
    if left > 0:
        time.sleep(left)
    p, t = s.ctl(gw, "--json", "apply", c3)
    s.timing("2 apply after the worker resumed", t)
    try:
        a = json.loads(p.stdout)
    except ValueError:
        a = {}
    s.check("%s: after the worker resumes, apply exits 0 with retired true, generation %d"
            % (name, g0 + 3),
            p.returncode == 0 and a.get("ok") is True and a.get("retired") is True and
            a.get("generation") == g0 + 3,
            "exit %d: %s %s" % (p.returncode, short(p.stdout), short(p.stderr)))


# ------------------------------------------------- 3: the deferred limit

def case3(s, gw):
    name = "3 deferred limit"
    g0 = s.show(gw)["generation"]
    texts = [json.dumps(small_config(flow0={"icmp_rate": 2000 + k})) for k in range(MAX_DEFERRED)]
    c65 = s.write("c3-65.json", small_config(flow0={"icmp_rate": 3065}))
    c66 = json.dumps(small_config(flow0={"icmp_rate": 3066}))
    after = s.write("c3-after.json", small_config(flow0={"icmp_rate": 3100}))
    nconn = 32
    answers, errors = [], []
    lock = threading.Lock()
    lat = []                      # show latencies (s) while everything waits
    stop = threading.Event()

    def monitor():
        try:
            c = tapenv.Ctl(gw.sock, timeout=10)
            while not stop.is_set():
                t = mono()
                a = c.req("show")
                lat.append((mono() - t, a.get("ok")))
                time.sleep(0.05)
            c.close()
        except Exception as e:  # noqa: BLE001
            errors.append("monitor: %s" % e)

    def client(k):
        try:
            c = tapenv.Ctl(gw.sock, timeout=30)
            for j in range(MAX_DEFERRED // nconn):
                t = mono()
                a = c.req("apply", config=texts[k * (MAX_DEFERRED // nconn) + j])
                with lock:
                    answers.append((a, mono() - t))
            c.close()
        except Exception as e:  # noqa: BLE001
            with lock:
                errors.append("client %d: %s" % (k, e))

    r = s.fault(gw, worker=0, stall_ms=STALL3_MS)
    t_stall = mono()
    s.check("%s: fault stall_ms %d accepted" % (name, STALL3_MS), r.get("ok") is True,
            json.dumps(r))
    time.sleep(0.2)
    mon = threading.Thread(target=monitor, daemon=True)
    mon.start()
    t0 = mono()
    th = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(nconn)]
    for t in th:
        t.start()
    for t in th:
        t.join(60)
    t_batch = mono() - t0
    s.timing("3 %d applies from %d connections, worker stalled" % (MAX_DEFERRED, nconn),
             t_batch)
    applied = [a for a, _ in answers if a.get("ok") is False and a.get("applied") is True and
               a.get("retired") is False]
    gens = sorted(a.get("generation") for a, _ in answers)
    bad = [a for a, _ in answers if a not in applied]
    s.check("%s: the first 64 applies are each answered applied, not retired" % name,
            len(applied) == MAX_DEFERRED and not errors,
            "%d answers, %d applied-not-retired, errors %s; other answers: %s"
            % (len(answers), len(applied), errors[:3], short(json.dumps(bad[:2]), 800)))
    s.check("%s: ... as generations %d..%d" % (name, g0 + 1, g0 + MAX_DEFERRED),
            gens == list(range(g0 + 1, g0 + MAX_DEFERRED + 1)), "generations %s" % gens[:70])
    before, _, _ = s.show_json(gw)
    t_in_stall = mono() - t_stall
    p, t65 = s.ctl(gw, "apply", c65)
    s.timing("3 the 65th apply, refused", t65)
    after65, t_show, p_show = s.show_json(gw)
    s.check("%s: the 65th apply is refused: exit 1 with \"64 old flow tables still wait\" "
            "(%.3f s into the stall)" % (name, t_in_stall),
            p.returncode == EXIT_REFUSED and "64 old flow tables still wait" in p.stderr and
            "no apply until it moves on" in p.stderr,
            "exit %d: %s %s" % (p.returncode, short(p.stdout), short(p.stderr, 600)))
    print("# 3 message: %s" % (p.stderr.strip().splitlines() or ["(none)"])[0], flush=True)
    s.check("%s: ... at once (%.3f s), not after a timeout" % (name, t65), t65 < 0.5,
            "%.3f s" % t65)
    s.check("%s: ... generation (%d) and config unchanged" % (name, g0 + MAX_DEFERRED),
            before is not None and after65 is not None and
            after65["generation"] == g0 + MAX_DEFERRED and
            before["config"] == after65["config"] and
            after65["config"]["flows"][0]["icmp_rate"] != 3065,
            "generation %s -> %s" % (before and before.get("generation"),
                                     after65 and after65.get("generation")))
    c = tapenv.Ctl(gw.sock, timeout=30)
    t1 = mono()
    a = c.req("apply", config=c66)
    t66 = mono() - t1
    c.close()
    s.check("%s: a 66th (raw) is refused too, not applied (%.3f s)" % (name, t66),
            a.get("ok") is False and "applied" not in a and
            a.get("generation") == g0 + MAX_DEFERRED and t66 < 0.5,
            short(json.dumps(a), 600))
    s.check("%s: qinqgw-ctl show answers within 100 ms with 64 tables waiting (%.1f ms)"
            % (name, t_show * 1e3), p_show.returncode == 0 and t_show < SHOW_LIMIT,
            "exit %d, %.1f ms" % (p_show.returncode, t_show * 1e3))
    stop.set()
    mon.join(10)
    worst = max((x for x, _ in lat), default=None)
    s.check("%s: show answered within 100 ms all along (%d shows, worst %s ms)"
            % (name, len(lat), "%.1f" % (worst * 1e3) if worst is not None else "-"),
            lat and worst < SHOW_LIMIT and all(ok for _, ok in lat) and not
            [e for e in errors if e.startswith("monitor")],
            "worst %s, errors %s" % (worst, errors[:3]))
    if worst is not None:
        s.timing("3 worst show while 64 applies waited", worst)
    left = t_stall + STALL3_MS / 1000.0 + 0.3 - mono()
    print("# 3 waiting %.1f s for the stall to end" % max(left, 0), flush=True)
    if left > 0:
        time.sleep(left)
    p, t = s.ctl(gw, "--json", "apply", after)
    try:
        a = json.loads(p.stdout)
    except ValueError:
        a = {}
    s.check("%s: after the stall, apply works again: exit 0, retired true, generation %d"
            % (name, g0 + MAX_DEFERRED + 1),
            p.returncode == 0 and a.get("retired") is True and
            a.get("generation") == g0 + MAX_DEFERRED + 1,
            "exit %d: %s %s" % (p.returncode, short(p.stdout), short(p.stderr)))


# ------------------------------------------------------ 4: max_frame live

def running_max_frames(s, gw):
    a = s.show(gw)
    return a["generation"], tuple(a["config"]["ports"][n]["max_frame"] for n in ("west", "east"))


def refused_max_frame(s, gw, title, cfg, port, device, value, taps=()):
    """Apply cfg; it must be refused for port's max_frame; nothing changes
    (generation, running max_frame, the taps' kernel MTU)."""
    g0, mf0 = running_max_frames(s, gw)
    mtu0 = [kernel_mtu(NS, t) for t in taps]
    path = s.write("%s-%s.json" % (gw.name, re.sub(r"\W+", "_", title)[-40:]), cfg)
    p, _ = s.ctl(gw, "apply", path)
    g1, mf1 = running_max_frames(s, gw)
    mtu1 = [kernel_mtu(NS, t) for t in taps]
    st = gw.stats(False)
    mf_stats = tuple(x["max_frame"] for x in st["ports"]) if st else None
    want = "/ports/%s/max_frame: the device %s does not take %d" % (port, device, value)
    s.check("%s: refused, exit 1, \"%s ... needs a restart\"" % (title, want),
            p.returncode == EXIT_REFUSED and want in p.stderr and
            "changing max_frame on it needs a restart" in p.stderr,
            "exit %d: %s" % (p.returncode, short(p.stderr + p.stdout, 600)))
    s.check("%s: generation (%d), running max_frame %s unchanged%s"
            % (title, g0, mf0, ", kernel MTU %s unchanged" % mtu0 if taps else ""),
            g1 == g0 and mf1 == mf0 and mf_stats == mf0 and mtu1 == mtu0,
            "generation %d -> %d, max_frame %s -> %s (stats %s), kernel MTU %s -> %s "
            "(the ethdev's MTU now: %s)" % (g0, g1, mf0, mf1, mf_stats, mtu0, mtu1,
                                            ethdev_mtus(gw)))
    return p


def taken_max_frame(s, gw, title, cfg, want_mf, taps=()):
    g0, _ = running_max_frames(s, gw)
    path = s.write("%s-%s.json" % (gw.name, re.sub(r"\W+", "_", title)[-40:]), cfg)
    p, _ = s.ctl(gw, "apply", path)
    g1, mf1 = running_max_frames(s, gw)
    mtus = [kernel_mtu(NS, t) for t in taps]
    want_mtu = [m - 14 for m in want_mf][:len(taps)]
    s.check("%s: exit 0, generation +1, running max_frame %s%s"
            % (title, want_mf, ", kernel MTU %s" % want_mtu if taps else ""),
            p.returncode == 0 and g1 == g0 + 1 and mf1 == tuple(want_mf) and mtus == want_mtu,
            "exit %d (%s), generation %d -> %d, max_frame %s, kernel MTU %s"
            % (p.returncode, short(p.stderr), g0, g1, mf1, mtus))


def case4(s, small):
    name = "4 max_frame"
    env = s.env
    # (a) two taps
    cfg = s.write("tap.json", small_config(("net_tap0", "net_tap1"), (1518, 1518)))
    gw = tapenv.Gateway(env, "tap", cfg, devices="tap")
    gw.start(timeout=60)
    mtus = [kernel_mtu(NS, t) for t in (TAP_W, TAP_E)]
    s.check("%s tap: at start, max_frame 1518 -> kernel MTU 1504 on both taps" % name,
            mtus == [1504, 1504], "kernel MTU %s, the ethdev's MTU (telemetry) %s"
            % (mtus, ethdev_mtus(gw)))
    taken_max_frame(s, gw, "%s tap: lowered to 1400/1300" % name,
                    small_config(("net_tap0", "net_tap1"), (1400, 1300)), (1400, 1300),
                    (TAP_W, TAP_E))
    taken_max_frame(s, gw, "%s tap: raised to 1518/1450" % name,
                    small_config(("net_tap0", "net_tap1"), (1518, 1450)), (1518, 1450),
                    (TAP_W, TAP_E))
    taken_max_frame(s, gw, "%s tap: only east to 1200" % name,
                    small_config(("net_tap0", "net_tap1"), (1518, 1200)), (1518, 1200),
                    (TAP_W, TAP_E))
    refused_max_frame(s, gw, "%s tap: west 9000 (beyond the tap's largest MTU)" % name,
                      small_config(("net_tap0", "net_tap1"), (9000, 1200)), "west",
                      "net_tap0", 9000, (TAP_W, TAP_E))
    rc = gw.stop()
    s.check("%s tap: gateway stopped with exit 0" % name, rc == 0, "exit %s" % rc)

    # (b) a tap that takes it, a pcap that does not: the tap is put back
    empty = env.path("empty.pcap")
    q.write_pcap(empty, [])
    vd = ["net_tap0,iface=" + TAP_W,
          "net_pcap1,rx_pcap=%s,tx_pcap=%s" % (empty, env.path("mixed-out1.pcap"))]
    cfg = s.write("mixed.json", small_config(("net_tap0", "net_pcap1")))
    gw = tapenv.Gateway(env, "mixed", cfg, devices=vd)
    gw.start(timeout=60)
    m0 = kernel_mtu(NS, TAP_W)
    print("# 4 mixed: tap MTU at start with max_frame 1522 (the default): %s" % m0, flush=True)
    refused_max_frame(s, gw, "%s tap+pcap: both to 1400 (tap at its start MTU %s)" % (name, m0),
                      small_config(("net_tap0", "net_pcap1"), (1400, 1400)), "east",
                      "net_pcap1", 1400, (TAP_W,))
    taken_max_frame(s, gw, "%s tap+pcap: tap alone to 1518" % name,
                    small_config(("net_tap0", "net_pcap1"), (1518, None)), (1518, 1522),
                    (TAP_W,))
    refused_max_frame(s, gw, "%s tap+pcap: both to 1400 (tap at 1504)" % name,
                      small_config(("net_tap0", "net_pcap1"), (1400, 1400)), "east",
                      "net_pcap1", 1400, (TAP_W,))
    refused_max_frame(s, gw, "%s tap+pcap: pcap alone to 1518" % name,
                      small_config(("net_tap0", "net_pcap1"), (1518, 1518)), "east",
                      "net_pcap1", 1518, (TAP_W,))
    rc = gw.stop()
    s.check("%s tap+pcap: gateway stopped with exit 0" % name, rc == 0, "exit %s" % rc)

    # (c) net_pcap on both ports (the small gateway)
    refused_max_frame(s, small, "%s pcap: west 1518, east 9000" % name,
                      small_config(max_frames=(1518, 9000)), "west", "net_pcap0", 1518)

    # (d) net_null: its MTU operation takes any value
    cfg = s.write("null.json", small_config(("net_null0", "net_null1")))
    gw = tapenv.Gateway(env, "null", cfg, devices="null")
    gw.start(timeout=60)
    taken_max_frame(s, gw, "%s null: 9000/16384 (net_null takes any MTU)" % name,
                    small_config(("net_null0", "net_null1"), (9000, 16384)), (9000, 16384))
    rc = gw.stop()
    s.check("%s null: gateway stopped with exit 0" % name, rc == 0, "exit %s" % rc)


# --------------------------------------------------- 5: config boundaries

def case5(s, gw):
    name = "5 bounds"
    k = [0]

    def attempt(flow0, key, read=None, warn=None, refused=None):
        """flow0: keys of flow 0; key: the key under test; read: value
        expected back in show --json (None: the one given); warn: text the
        mtu warning must contain (None: no warning); refused: text the
        refusal must contain (None: accepted)."""
        k[0] += 1
        cfg = small_config(flow0=flow0)
        path = s.write("c5-%02d.json" % k[0], cfg)
        label = "%s: %s" % (name, ", ".join("%s %s" % kv for kv in flow0.items()))
        chk = tapenv.run([s.qinqgw, "--check-config", path], check=False)
        g0 = s.show(gw)["generation"]
        p, _ = s.ctl(gw, "apply", path)
        d, _, _ = s.show_json(gw)
        g1 = d["generation"] if d else None
        ptr = "/flows/0/%s" % key
        if refused is not None:
            s.check("%s: refused by --check-config (exit 1, %s: ...%s...)"
                    % (label, ptr, refused), chk.returncode == 1 and
                    "%s: %s" % (path, ptr) in chk.stderr and refused in chk.stderr,
                    "exit %d: %s" % (chk.returncode, short(chk.stderr)))
            s.check("%s: refused by apply (exit 1, naming %s), generation %d unchanged"
                    % (label, ptr, g0), p.returncode == EXIT_REFUSED and
                    "%s: %s" % (path, ptr) in p.stderr and refused in p.stderr and g1 == g0,
                    "exit %d, generation %s -> %s: %s" % (p.returncode, g0, g1,
                                                           short(p.stderr)))
            return
        want = flow0[key] if read is None else read
        got = d["config"]["flows"][0].get(key) if d else None
        wl = "%s: warning: %s: " % (path, "/flows/0/mtu")
        if warn is None:
            s.check("%s: --check-config exit 0, no warning" % label,
                    chk.returncode == 0 and "warning" not in chk.stderr,
                    "exit %d: %s" % (chk.returncode, short(chk.stderr)))
            s.check("%s: applied (exit 0, generation +1, no warning), read back %r"
                    % (label, want), p.returncode == 0 and g1 == g0 + 1 and
                    "warning" not in p.stderr and
                    (got == want if not isinstance(want, tuple) else got in want),
                    "exit %d, generation %s -> %s, read back %r: %s"
                    % (p.returncode, g0, g1, got, short(p.stderr)))
        else:
            s.check("%s: --check-config exit 0 with \"%s...%s\"" % (label, wl, warn),
                    chk.returncode == 0 and wl in chk.stderr and warn in chk.stderr,
                    "exit %d: %s" % (chk.returncode, short(chk.stderr)))
            s.check("%s: applied (exit 0, generation +1) printing the warning, read back %r"
                    % (label, want), p.returncode == 0 and g1 == g0 + 1 and
                    wl in p.stderr and warn in p.stderr and got == want,
                    "exit %d, generation %s -> %s, read back %r: %s"
                    % (p.returncode, g0, g1, got, short(p.stderr)))
        c = tapenv.Ctl(gw.sock, timeout=10)
        a = c.req("apply", config=json.dumps(cfg))
        c.close()
        w = a.get("warnings")
        s.check("%s: the apply answer has %s" % (label, "\"warnings\" [%s...]" % warn if warn
                                                  else "no \"warnings\""),
                a.get("ok") is True and ((w is None) if warn is None else
                                         (w is not None and len(w) == 1 and
                                          w[0].startswith("/flows/0/mtu: ") and warn in w[0])),
                short(json.dumps(a), 600))

    for v in (1, 65535, 65536, 100000, 1000000):
        attempt({"icmp_burst": v}, "icmp_burst")
    for v in (0, 1000001):
        attempt({"icmp_burst": v}, "icmp_burst", refused="%d out of range 1..1000000" % v)
    for v in (0, 1000000):
        attempt({"icmp_rate": v}, "icmp_rate")
    attempt({"icmp_rate": 1000001}, "icmp_rate", refused="1000001 out of range 0..1000000")
    # 1360 with mtu 1400 is what `true` gives (IPv4 1360, IPv6 1340): either reads back
    attempt({"mtu": 1400, "mss_clamp": 1360}, "mss_clamp", read=(1360, True))
    attempt({"mtu": 1400, "mss_clamp": 88}, "mss_clamp")
    # the IPv6 clamp: min(N, mtu - 60), seen in the diff from 88
    p, _ = s.ctl(gw, "diff", s.write("c5-diff.json",
                                     small_config(flow0={"mtu": 1400, "mss_clamp": 1360})))
    s.check("%s: diff mss_clamp 88 -> 1360 at mtu 1400: IPv4 MSS 88 -> 1360, IPv6 88 -> 1340"
            % name, p.returncode == 0 and "mss_clamp (IPv4 MSS): 88 -> 1360" in p.stdout and
            "mss_clamp (IPv6 MSS): 88 -> 1340" in p.stdout, short(p.stdout + p.stderr))
    p, _ = s.ctl(gw, "diff", s.write("c5-diff2.json",
                                     small_config(flow0={"mtu": 1400, "mss_clamp": 1300})))
    s.check("%s: diff mss_clamp 88 -> 1300 at mtu 1400: IPv6 88 -> 1300 (below mtu - 60)"
            % name, p.returncode == 0 and "mss_clamp (IPv6 MSS): 88 -> 1300" in p.stdout,
            short(p.stdout + p.stderr))
    attempt({"mtu": 1400, "mss_clamp": 1361}, "mss_clamp",
            refused="1361 does not fit mtu 1400")
    attempt({"mtu": 1400, "mss_clamp": 9000}, "mss_clamp",
            refused="at most 1360 (mtu - 40)")
    attempt({"mtu": 1400, "mss_clamp": 87}, "mss_clamp", refused="87 out of range 88..")
    attempt({"mtu": 1279}, "mtu", warn="1279 is below 1280")
    attempt({"mtu": 551}, "mtu", warn="551 is below 552")
    attempt({"mtu": 68}, "mtu", warn="68 is below 552")
    attempt({"mtu": 1280}, "mtu")
    attempt({"mtu": 67}, "mtu", refused="67 out of range 68..")
    icmp_depth(s)


def ipv4_udp(total_len, df=True):
    """An IPv4/UDP packet of total_len bytes, 10.0.0.1 -> 10.0.0.2."""
    h = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0, total_len, 1, 0x4000 if df else 0,
                              64, 17, 0, bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])))
    c = sum(struct.unpack("!10H", bytes(h)))
    c = (c & 0xFFFF) + (c >> 16)
    c = (c & 0xFFFF) + (c >> 16)
    h[10:12] = struct.pack("!H", ~c & 0xFFFF)
    udp = struct.pack("!HHHH", 4000, 5000, total_len - 20, 0)
    return bytes(h) + udp + bytes((i * 7) & 0xFF for i in range(total_len - 28))


# (icmp_rate, icmp_burst) of the flows of the icmp gateway
ICMP_FLOWS = ((1, 1), (1, 65535), (1, 65536), (1, 100000), (1, 1000000), (0, 1000000))


def icmp_depth(s):
    """The data path uses every icmp_burst of the range as the depth: each
    flow gets oversize IPv4 DF packets without end (its mtu 500, packets of
    600 bytes) and answers exactly icmp_burst of them (+ icmp_rate a second)
    before it suppresses."""
    name = "5 bounds: icmp_burst in the data path"
    flows = []
    for k, (rate, burst) in enumerate(ICMP_FLOWS):
        flows.append({"name": "i%d" % k, "west": [T(0x88A8, 100 + k)],
                      "east": [T(0x8100, 1000 + k)], "mtu": 500, "icmp_rate": rate,
                      "icmp_burst": burst})
    cfg = {"version": 1, "ports": {"west": {"device": "net_pcap0"},
                                   "east": {"device": "net_pcap1"}}, "flows": flows}
    fm = q.FrameMaker(17)
    west = [fm.macs() + q.tag(0x88A8, 100 + k) + q.tag(0x8100, 7) + b"\x08\x00" +
            ipv4_udp(600) for k in range(len(ICMP_FLOWS))]
    east = [fm.frame([q.tag(0x8100, 3999)], 64)]
    t0 = mono()
    gw = s.pcap_gateway("icmp", cfg, [west, east], fault=False)
    deadline = mono() + 30
    doc = None
    while mono() < deadline:
        doc = gw.stats(False)
        dirs = {f["name"]: f["directions"][0] for f in doc["flows"]} if doc else {}
        if len(dirs) == len(ICMP_FLOWS) and all(d["icmp_suppressed"] > 0
                                                for d in dirs.values()):
            break
        time.sleep(0.2)
    elapsed = mono() - t0
    print("# %s: every bucket empty %.1f s after the start" % (name, elapsed), flush=True)
    for k, (rate, burst) in enumerate(ICMP_FLOWS):
        d = dirs.get("i%d" % k)
        sent = d["icmp_sent"] if d else None
        sup = d["icmp_suppressed"] if d else None
        hi = burst + int(rate * elapsed) + 1 if rate else 0
        lo = burst if rate else 0
        s.check("%s: icmp_rate %d, icmp_burst %d: %s ICMP errors, then suppressed "
                "(sent %s, suppressed %s)" % (name, rate, burst,
                                              "%d..%d" % (lo, hi) if rate else "no",
                                              sent, sup),
                d is not None and lo <= sent <= hi and sup > 0 and
                d["direction"] == "west->east",
                "flow direction: %s" % short(json.dumps(d), 600))
    rc = gw.stop()
    s.check("%s: gateway stopped with exit 0" % name, rc == 0, "exit %s" % rc)


# ------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw", required=True)
    ap.add_argument("--qinqgw-stats", required=True)
    ap.add_argument("--qinqgw-ctl", required=True)
    ap.add_argument("--only", default="1,2,3,4,5")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("test_apply_limits.py needs root (network namespace, taps)")
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    only = set(args.only.split(","))
    res = q.Results()
    s = None
    t_start = mono()
    try:
        s = Suite(args, res)
        small = None
        if {"2", "3", "4", "5"} & only:
            fr = small_frames()
            small = s.pcap_gateway("small", small_config(), fr)
        for n, fn in (("1", lambda: case1(s)), ("2", lambda: case2(s, small)),
                      ("3", lambda: case3(s, small)), ("4", lambda: case4(s, small)),
                      ("5", lambda: case5(s, small))):
            if n not in only:
                continue
            t0 = mono()
            try:
                gw = fn()
                if n == "1" and gw is not None:
                    rc = gw.stop()
                    s.check("1 8192 flows: gateway stopped with exit 0", rc == 0,
                            "exit %s:\n%s" % (rc, gw.log()[-1500:]))
            except Exception as e:  # one broken case does not hide the others
                res.check("case %s ran to the end" % n, False, "%s\n%s" % (
                    e, traceback.format_exc()))
            print("# case %s took %.1f s" % (n, mono() - t0), flush=True)
            if small is not None and small.proc.poll() is not None:
                res.check("the small gateway is still running after case %s" % n, False,
                          "exit %s:\n%s" % (small.proc.returncode, small.log()[-1500:]))
                break
        if small is not None and small.proc.poll() is None:
            rc = small.stop()
            res.check("small gateway stopped with exit 0", rc == 0,
                      "exit %s:\n%s" % (rc, small.log()[-1500:]))
    except Exception as e:
        res.check("set-up", False, "%s\n%s" % (e, traceback.format_exc()))
    finally:
        if s is not None:
            if res.failed:
                for g in s.env.gateways:
                    print("# log of gateway %s (tail):\n%s" % (g.name, g.log()[-2500:]))
            s.env.cleanup()
    print("# total %.1f s" % (mono() - t_start))
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
