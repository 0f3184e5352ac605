#!/usr/bin/python3
"""Functional test of the counter contract: every counter of the stats
segment's directory reaches every output with the same value, and rates and
oversize forensics stay honest when counter slots are reused.

The counters are defined once, in the X-macro lists of
lib/stats/qgw_counters.h; the segment carries them as its counter directory
and every output is generated from it. This test reads the lists (names,
Prometheus names and labels, kinds, table columns) from that header and
checks the outputs against each other, on real gateways (net_pcap vdevs):

  A  counter consistency. Crafted traffic on both ports makes as many
     counters as possible non-zero with distinct values per port and flow
     direction: forwarded frames both ways, no_flow/runt/bad_tag drops,
     oversize frames answered with ICMP and suppressed by a small
     icmp_burst, IPv4 without DF (df_clear), non-IP oversize frames, TCP
     SYNs clamped (mss_clamped) and SYNs with malformed options
     (mss_bad_options); one idle flow keeps zeros in the outputs. Port and
     flow names with '-', '.' and ':' exercise telemetry keys and
     Prometheus labels. Once every frame is counted: the set of counters is
     taken from `qinqgw-stats --all` (it lists the directory) and compared
     with the lists of qgw_counters.h; then every counter must appear with
     the same value in --json, --prometheus (which promtool must accept,
     metric names, labels and TYPE from the lists), DPDK telemetry
     (/qinqgw/port, /qinqgw/flow, /qinqgw/workers) and, for counters with a
     table column (and DROPPED, OVERSIZE, the drop rows), the table; and no
     output may hold a counter that --all lacks. Counters that move while
     the gateway idles (worker idle polls and cycles) must lie between two
     --all readings taken before and after the others. The values must also
     be those of the frames sent. After the gateway stopped, the same
     between --all, --json, --prometheus and the table, exactly, and equal
     to the values read while it ran.
  B  slot reuse. A gateway with endless traffic on one port (net_pcap
     infinite_rx; 4 traffic flows, renamed from one generation to the
     next) and `qinqgw-stats --watch 0.3` running. The counter slots
     (QGW_MAX_SLOTS) and the flows one config may hold (QGW_MAX_FLOWS) are
     read from lib/control/qgw_config.h; there may be more slots than a
     config can hold (16384 for 8192 flows), so the round robin comes back
     to freed slots only after applies have given out every slot. Through
     `qinqgw-ctl apply`, a generation's traffic flows U are applied with
     renamed filler flows, then kept while every filler is renamed again
     (each config at most QGW_MAX_FLOWS flows), until every slot but U's
     and the 4 before them was given once; the next generation, alone,
     gets those 4 and the one after it U's slots. The first time, the 4
     before U's are generation 0's, freed: the wrap. Then rounds of this,
     timed on the watch's samples so that a slot changes hands between two
     samples (V gets U's slots after the sample that showed U, before the
     next): "up" rounds (the old flow slow, the new one fast: without the
     generation check the new flow's rate would be a plausible, wrong
     difference of two flows) and "down" rounds (old fast, new slow:
     without the went-down check, an underflow). Last, the round robin is
     brought to the slots of the fillers of a round's last apply, and
     every filler is replaced by 6000 renamed ones, in those slots.
     Checked: JSON slot_gen grows whenever a slot gets a new flow (traffic
     flows after every apply, every slot across the bulk replacement), a
     kept flow keeps its slot and slot_gen; in every --watch table no flow
     rate is larger than what its ingress port received in the same
     interval; a flow that was not in the previous table (its slot was
     free or held another flow) shows `-` rates, a flow that was shows
     numbers; both kinds of slot change were seen between two samples. An
     oversize event recorded for the first traffic flow X keeps X's name
     after X is removed and after its slot is given to flow Y: " (gone)"
     in the --oversize table, "flow_current": false and X's slot
     generation in JSON, never Y's name.

Expectations come from qgw_counters.h, docs/stats.md, docs/mtu.md and the
frames sent, never from the outputs themselves. Everything created (/dev/shm
segments, /var/run/dpdk/<prefix> directories, temp files) is removed.

Usage: /usr/bin/python3 test/func/test_counters.py --qinqgw PATH
       [--qinqgw-stats PATH] [--qinqgw-ctl PATH] [--only A|B] [--keep]
Prints `ok NAME` / `FAIL NAME: why`, ends with `N passed, M failed`.
"""
import argparse
import json
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import qgwtest  # noqa: E402
from qgwtest import FrameMaker, tag  # noqa: E402
from test_hostile import TCP_SYN, mss_opt, tcp4, tcp_seg, udp4  # noqa: E402

COUNTERS_H = os.path.join(HERE, "..", "..", "lib", "stats", "qgw_counters.h")
CONFIG_H = os.path.join(HERE, "..", "..", "lib", "control", "qgw_config.h")
FAMILIES = (("port", "QGW_PORT_COUNTERS"), ("flow", "QGW_FLOW_COUNTERS"),
            ("worker", "QGW_WORKER_COUNTERS"), ("nic", "QGW_NIC_COUNTERS"))
TAG = "qgwcnt_%d" % os.getpid()
MAX_SHOW = 12          # discrepancies listed per check

# Fields of the outputs that are not counters (docs/stats.md "Besides the
# lists"): identity, configuration, link state other than up/changes, slot
# bookkeeping, liveness stamps and derived ratios. Every other number in an
# output is a counter and must be one --all lists.
JSON_NON_COUNTERS = {
    "port": {"name", "device", "max_frame", "link.speed_mbps", "link.full_duplex"},
    "flow": {"name", "slot", "slot_gen"},
    "direction": {"direction", "ingress", "egress"},
    "worker": {"index", "lcore", "socket", "heartbeat", "busy_percent"},
}
TEL_NON_COUNTERS = {
    "port": {"name", "device", "max_frame", "link_speed_mbps"},
    "flow": {"name", "slot", "slot_gen"},        # and <port>_stack
    "worker": {"lcore", "heartbeat"},
}
PROM_NON_COUNTERS = {"qinqgw_up", "qinqgw_state", "qinqgw_heartbeat_age_seconds", "qinqgw_info",
                     "qinqgw_start_time_seconds", "qinqgw_uptime_seconds",
                     "qinqgw_config_generation", "qinqgw_port_link_speed_bytes",
                     "qinqgw_worker_heartbeat"}


# ------------------------------------------------------------ bookkeeping

class Cleanup:
    def __init__(self):
        self.procs, self.shm, self.rundirs, self.dirs = [], set(), set(), set()
        self.keep = False

    def run(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        for n in self.shm:
            try:
                os.unlink("/dev/shm/" + n)
            except FileNotFoundError:
                pass
        for d in self.rundirs:
            shutil.rmtree(os.path.join("/var/run/dpdk", d), ignore_errors=True)
        if not self.keep:
            for d in self.dirs:
                shutil.rmtree(d, ignore_errors=True)


CLEAN = Cleanup()


class Checker(qgwtest.Results):
    """Results plus guard(): a check function returns None/[] (ok) or the
    reasons it failed; an exception is a FAIL, not a crash."""

    def guard(self, name, fn, *a):
        try:
            why = fn(*a)
        except Exception as e:  # noqa: BLE001 - any exception fails the check
            why = "exception %s: %s\n%s" % (type(e).__name__, e, traceback.format_exc())
        if isinstance(why, (list, tuple)):
            if len(why) > MAX_SHOW:
                why = list(why[:MAX_SHOW]) + ["... %d more" % (len(why) - MAX_SHOW)]
            why = "\n  ".join(why)
        return self.check(name, not why, why or "")


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def wait_for(pred, timeout, step=0.05):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            return None
        time.sleep(step)


# ---------------------------------------------------- the counter lists

class Counter:
    def __init__(self, family, field, name, prom, label, kind, column):
        self.family, self.field, self.name, self.prom = family, field, name, prom
        self.labels = dict(re.findall(r'(\w+)="([^"]*)"', label))
        self.kind, self.column = kind, column

    def __repr__(self):
        return "%s %s" % (self.family, self.name)


def load_lists(path=COUNTERS_H):
    """{family: [Counter]} from the X-macro lists of qgw_counters.h."""
    with open(path) as f:
        text = re.sub(r"\\\n", " ", f.read())
    s = r'"((?:[^"\\]|\\.)*)"'
    entry = re.compile(r"_\(\s*(\w+)\s*,\s*%s\s*,\s*%s\s*,\s*%s\s*,\s*(\w+)\s*,\s*%s\s*,\s*%s\s*\)"
                       % (s, s, s, s, s))
    out = {}
    for fam, macro in FAMILIES:
        m = re.search(r"^#define %s\(_\)(.*)$" % macro, text, re.M)
        if m is None:
            raise ValueError("%s: no #define %s(_)" % (path, macro))
        out[fam] = [Counter(fam, f, n, p, lab.replace('\\"', '"'), k, c)
                    for f, n, p, lab, k, c, _ in entry.findall(m.group(1))]
        if not out[fam]:
            raise ValueError("%s: %s has no entries" % (path, macro))
    return out


LISTS = load_lists()
BY_NAME = {fam: {c.name: c for c in cs} for fam, cs in LISTS.items()}


def load_limits(path=CONFIG_H):
    """(QGW_MAX_SLOTS, QGW_MAX_FLOWS) from qgw_config.h: the gateway's flow
    counter slots and the flows one config may hold. A value may be an
    integer expression of other macros, like (2 * QGW_MAX_FLOWS)."""
    with open(path) as f:
        text = re.sub(r"/\*.*?\*/|//[^\n]*", " ", f.read(), flags=re.S)
    defs = dict(re.findall(r"^[ \t]*#[ \t]*define[ \t]+(\w+)[ \t]+(.+?)[ \t]*$", text, re.M))

    def value(name, depth=0):
        if name not in defs or depth > 8:
            raise ValueError("%s: no #define %s with a value" % (path, name))
        expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b",
                      lambda m: str(int(m.group(1), 16 if m.group(1)[1:2] in "xX" else 10)),
                      defs[name])
        expr = re.sub(r"\b[A-Za-z_]\w*\b", lambda m: "(%d)" % value(m.group(0), depth + 1),
                      expr)
        if not re.fullmatch(r"[0-9\s()+*/-]+", expr):
            raise ValueError("%s: %s is %r, not an integer expression" % (path, name,
                                                                         defs[name]))
        return int(eval(expr.replace("/", "//"), {"__builtins__": {}}))  # digits and + - * / ( )
    return value("QGW_MAX_SLOTS"), value("QGW_MAX_FLOWS")


MAX_SLOTS, MAX_FLOWS = load_limits()


def mangle(s):
    """Telemetry keys: characters other than [A-Za-z0-9_] become '_'."""
    return re.sub(r"[^A-Za-z0-9_]", "_", s)


def kname(k):
    return " ".join(str(x) for x in k)


# ------------------------------------------------------------ qinqgw-stats

class Stats:
    def __init__(self, path):
        self.path = path

    def run(self, name, *args, timeout=60):
        return subprocess.run([self.path, "--stats-name", name] + list(args),
                              capture_output=True, text=True, timeout=timeout)

    def out(self, name, *args):
        r = self.run(name, *args)
        if r.returncode != 0:
            raise AssertionError("qinqgw-stats %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                                   r.stderr.strip()[:500]))
        return r.stdout

    def json(self, name, *args):
        return json.loads(self.out(name, "--json", *args))


# ---------------------------------------------------------------- --all

def parse_all(text):
    """(values {key: int}, gateway {field: str}, errors). Keys:
    ("port", NAME, COUNTER), ("flow", NAME, DIRECTION, COUNTER),
    ("worker", N, COUNTER)."""
    vals, gw, errs = {}, {}, []
    for ln in text.splitlines():
        w = ln.split()
        if not w:
            continue
        try:
            if w[0] == "gateway" and len(w) == 3:
                gw[w[1]] = w[2]
                continue
            if w[0] == "port" and len(w) == 4:
                k, v = ("port", w[1], w[2]), w[3]
            elif w[0] == "flow" and len(w) == 5:
                k, v = ("flow", w[1], w[2], w[3]), w[4]
            elif w[0] == "worker" and len(w) == 4:
                k, v = ("worker", int(w[1]), w[2]), w[3]
            else:
                errs.append("line %r" % ln)
                continue
            if not re.fullmatch(r"\d+", v):
                errs.append("not an exact integer: %r" % ln)
                continue
            if k in vals:
                errs.append("listed twice: %r" % ln)
            vals[k] = int(v)
        except ValueError:
            errs.append("line %r" % ln)
    return vals, gw, errs


def classify(key):
    """What a --all counter is: ("list", Counter), ("nic", Counter),
    ("drop", reason), ("dropped",), ("link_up",), ("link_changes",),
    ("worker_rx",), ("stalled",), ("stalls",) or ("unknown",)."""
    fam, c = key[0], key[-1]
    if c in BY_NAME[fam]:
        return ("list", BY_NAME[fam][c])
    if fam == "port" and c.startswith("nic_") and c[4:] in BY_NAME["nic"]:
        return ("nic", BY_NAME["nic"][c[4:]])
    if fam in ("port", "flow") and c.startswith("drop_"):
        return ("drop", c[5:])
    if fam in ("port", "flow") and c == "dropped":
        return ("dropped",)
    if fam == "port" and c in ("link_up", "link_changes"):
        return (c,)
    if fam == "worker" and c == "rx_packets":
        return ("worker_rx",)
    if fam == "worker" and c in ("stalled", "stalls"):
        return (c,)
    return ("unknown",)


def directory_errors(vals, ports, flows, nworkers):
    """--all against the lists of qgw_counters.h: every element has every
    listed counter, every drop reason, dropped (and the port extras), and
    nothing else."""
    e = []
    reasons = sorted({k[-1][5:] for k in vals if k[-1].startswith("drop_")})
    if not reasons:
        e.append("no drop_<reason> counters at all")
    want = set()
    for p in ports:
        want |= {("port", p, c.name) for c in LISTS["port"]}
        want |= {("port", p, "nic_" + c.name) for c in LISTS["nic"]}
        want |= {("port", p, "drop_" + r) for r in reasons}
        want |= {("port", p, x) for x in ("dropped", "link_up", "link_changes")}
    for f, dirs in flows.items():
        for d in dirs:
            want |= {("flow", f, d, c.name) for c in LISTS["flow"]}
            want |= {("flow", f, d, "drop_" + r) for r in reasons}
            want.add(("flow", f, d, "dropped"))
    for w in range(nworkers):
        want |= {("worker", w, c.name) for c in LISTS["worker"]}
        want |= {("worker", w, "rx_packets"), ("worker", w, "stalled"),
                 ("worker", w, "stalls")}
    for k in sorted(want - set(vals), key=kname):
        e.append("--all lacks %s (qgw_counters.h lists it)" % kname(k))
    for k in sorted(set(vals) - want, key=kname):
        e.append("--all lists %s, which is not in qgw_counters.h's lists" % kname(k))
    return e


# ----------------------------------------------------------------- JSON

def flatten_json(doc):
    """(counters {key: int}, errors): every number of a --json document in
    the key space of --all; numbers that are neither known non-counters nor
    counters are reported."""
    out, errs = {}, []

    def num(v):
        return isinstance(v, int) or isinstance(v, bool)

    def put(k, v, where):
        if isinstance(v, bool):
            v = int(v)
        if not isinstance(v, int):
            errs.append("%s = %r is not a JSON integer" % (where, v))
            return
        if k in out:
            errs.append("%s given twice" % where)
        out[k] = v

    for p in doc.get("ports", []):
        n = p.get("name")
        for k, v in p.items():
            where = "ports[%s].%s" % (n, k)
            if k in JSON_NON_COUNTERS["port"]:
                continue
            if k == "link" and isinstance(v, dict):
                for lk, lv in v.items():
                    if "link." + lk in JSON_NON_COUNTERS["port"]:
                        continue
                    if lk in ("up", "changes"):
                        put(("port", n, "link_" + lk), lv, where + "." + lk)
                    else:
                        errs.append("%s.%s: a field this test does not know" % (where, lk))
            elif k == "nic" and isinstance(v, dict):
                for c, x in v.items():
                    put(("port", n, "nic_" + c), x, where + "." + c)
            elif k == "drops" and isinstance(v, dict):
                for r, x in v.items():
                    put(("port", n, "drop_" + r), x, where + "." + r)
            elif num(v):
                put(("port", n, k), v, where)
            else:
                errs.append("%s = %r: a field this test does not know" % (where, v))
    for f in doc.get("flows", []):
        n = f.get("name")
        for k, v in f.items():
            if k in JSON_NON_COUNTERS["flow"] or k in ("stacks", "directions"):
                continue
            errs.append("flows[%s].%s = %r: a field this test does not know" % (n, k, v))
        for d in f.get("directions", []):
            dn = d.get("direction")
            for k, v in d.items():
                where = "flows[%s].directions[%s].%s" % (n, dn, k)
                if k in JSON_NON_COUNTERS["direction"]:
                    continue
                if k == "drops" and isinstance(v, dict):
                    for r, x in v.items():
                        put(("flow", n, dn, "drop_" + r), x, where + "." + r)
                elif num(v):
                    put(("flow", n, dn, k), v, where)
                else:
                    errs.append("%s = %r: a field this test does not know" % (where, v))
    for w in doc.get("workers", []):
        i = w.get("index")
        for k, v in w.items():
            if k in JSON_NON_COUNTERS["worker"]:
                continue
            if num(v):
                put(("worker", i, k), v, "workers[%s].%s" % (i, k))
            else:
                errs.append("workers[%s].%s = %r: a field this test does not know" % (i, k, v))
    return out, errs


# ----------------------------------------------------------- Prometheus

PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_prom(text):
    """({(metric, frozenset(labels)): value}, {metric: type}, errors); values
    of integer samples are ints (exact), others floats."""
    samples, types, errs = {}, {}, []
    for ln in text.splitlines():
        if ln.startswith("# TYPE "):
            w = ln.split()
            if len(w) == 4:
                types[w[2]] = w[3]
            continue
        if not ln or ln.startswith("#"):
            continue
        m = PROM_LINE.match(ln)
        if m is None:
            errs.append("sample line %r" % ln)
            continue
        labels = frozenset((a, b.replace('\\"', '"').replace("\\\\", "\\"))
                           for a, b in PROM_LABEL.findall(m.group(2) or ""))
        v = m.group(3)
        k = (m.group(1), labels)
        if k in samples:
            errs.append("sample twice: %r" % ln)
        samples[k] = int(v) if re.fullmatch(r"\d+", v) else float(v)
    return samples, types, errs


def prom_target(key):
    """The Prometheus sample(s) of a --all counter: ("one", metric, labels),
    ("sum", metric, partial labels) for `dropped` (the sum of its drops),
    or None when docs/stats.md gives it no metric."""
    cls = classify(key)
    fam = key[0]
    if fam == "port":
        base = {("port", key[1])}
    elif fam == "flow":
        base = {("flow", key[1]), ("direction", key[2])}
    else:
        base = {("worker", str(key[1]))}
    t = cls[0]
    if t in ("list", "nic"):
        c = cls[1]
        return ("one", c.prom, frozenset(base | set(c.labels.items())))
    if t == "drop":
        return ("one", "qinqgw_%s_drops_total" % fam, frozenset(base | {("reason", cls[1])}))
    if t == "dropped":
        return ("sum", "qinqgw_%s_drops_total" % fam, frozenset(base))
    if t == "link_up":
        return ("one", "qinqgw_port_link_up", frozenset(base))
    if t == "link_changes":
        return ("one", "qinqgw_port_link_changes_total", frozenset(base))
    if t == "stalled":
        return ("one", "qinqgw_worker_stalled", frozenset(base))
    if t == "stalls":
        return ("one", "qinqgw_worker_stalls_total", frozenset(base))
    if t == "worker_rx":
        return ("one", "qinqgw_worker_rx_packets_total", frozenset(base))
    return None


def promtool_errors(text):
    pt = shutil.which("promtool") or ("/usr/bin/promtool" if os.path.exists("/usr/bin/promtool")
                                      else None)
    if pt is None:
        return ["promtool is not installed (Debian package prometheus; test/setup.sh installs "
                "it)"]
    r = subprocess.run([pt, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=60)
    if r.returncode != 0:
        return ["promtool check metrics exit %d: %s" % (r.returncode,
                                                         (r.stdout + r.stderr).strip()[:1500])]
    return []


# ------------------------------------------------------------ telemetry

def tel_key(key):
    """Telemetry command and dict key of a --all counter (docs/stats.md)."""
    if key[0] == "port":
        return ("/qinqgw/port,%s" % key[1], key[2])
    if key[0] == "flow":
        i, o = key[2].split("->")
        return ("/qinqgw/flow,%s" % key[1], "%s_to_%s_%s" % (mangle(i), mangle(o), key[3]))
    return ("/qinqgw/workers", "worker%d_%s" % (key[1], key[2]))


def read_telemetry(path):
    """{command: reply dict} for every /qinqgw command about counters."""
    tel = qgwtest.Telemetry(path)
    out = {}
    try:
        ports = tel.cmd("/qinqgw/ports").get("/qinqgw/ports") or []
        flows = tel.cmd("/qinqgw/flows").get("/qinqgw/flows") or []
        out["/qinqgw/ports"] = ports
        out["/qinqgw/flows"] = flows
        for p in ports:
            out["/qinqgw/port,%s" % p] = tel.cmd("/qinqgw/port,%s" % p).get("/qinqgw/port")
        for f in flows:
            out["/qinqgw/flow,%s" % f] = tel.cmd("/qinqgw/flow,%s" % f).get("/qinqgw/flow")
        out["/qinqgw/workers"] = tel.cmd("/qinqgw/workers").get("/qinqgw/workers")
    finally:
        tel.close()
    return out


def tel_extra_errors(tel, ref):
    """Telemetry keys that are numbers but neither a known non-counter nor
    the key of a --all counter."""
    mapped = {}
    for k in ref:
        c, dk = tel_key(k)
        mapped.setdefault(c, set()).add(dk)
    e = []
    for cmd, d in tel.items():
        if not isinstance(d, dict):
            continue
        if cmd.startswith("/qinqgw/port,"):
            skip = TEL_NON_COUNTERS["port"]
        elif cmd.startswith("/qinqgw/flow,"):
            skip = TEL_NON_COUNTERS["flow"]
        elif cmd == "/qinqgw/workers":
            skip = set()
        else:
            continue
        for k, v in d.items():
            if k in skip or (cmd.startswith("/qinqgw/flow,") and k.endswith("_stack")):
                continue
            m = re.fullmatch(r"worker\d+_(\w+)", k)
            if cmd == "/qinqgw/workers" and m and m.group(1) in TEL_NON_COUNTERS["worker"]:
                continue
            if k not in mapped.get(cmd, ()):
                e.append("telemetry %s has %s = %r, a counter --all does not list" % (cmd, k, v))
    return e


# ---------------------------------------------------------------- table

HEADER = re.compile(r"^qinqgw \S+, pid (\d+), (\w+), (?:up|ran) \S+, config generation (\d+), "
                    r"(\d+) workers? busy [\d.]+%$")
NUM = re.compile(r"^\d+(?:\.\d+)?$")
UNIT = re.compile(r"^([kMGTP]?)(B|b/s)?$")
RATE_COLS = ("RX PPS", "RX BIT/S", "TX PPS", "TX BIT/S", "PPS", "BIT/S")


def known_columns():
    cols = {c.column for cs in LISTS.values() for c in cs if c.column}
    return cols | {"DROPPED", "OVERSIZE"} | set(RATE_COLS)


def split_columns(line, nlabels):
    """Column names of a section header after its nlabels label columns;
    names of several words are those the lists (and the table) use."""
    words = line.split()
    known = sorted(known_columns(), key=lambda c: -len(c.split()))
    cols, i = [], 0
    # the label columns: PORT DEVICE LINK / FLOW DIRECTION
    i = nlabels
    while i < len(words):
        for c in known:
            n = len(c.split())
            if words[i:i + n] == c.split():
                cols.append(c)
                i += n
                break
        else:
            cols.append(words[i])
            i += 1
    return cols


def values(tokens):
    """Numbers of a row: "23", "100 B", "12.3 kB", "3846.7 k", "3.1 Gb/s",
    "-" -> [(value, tolerance) or None]."""
    out, i = [], 0
    while i < len(tokens):
        t = tokens[i]
        i += 1
        if t == "-":
            out.append(None)
            continue
        if not NUM.match(t):
            raise ValueError("not a number: %r in %r" % (t, tokens))
        mult = 1
        if i < len(tokens) and not NUM.match(tokens[i]) and tokens[i] != "-" and \
                UNIT.match(tokens[i]):
            mult = 1000 ** ("_kMGTP".index(UNIT.match(tokens[i]).group(1) or "_"))
            i += 1
        exact = mult == 1 and "." not in t
        out.append((float(t) * mult, 0 if exact else 0.051 * mult))
    return out


def parse_table(text):
    """One table: header, port rows, drop rows, flow rows; each row
    {column: (value, tolerance) or None}."""
    lines = text.splitlines()
    t = {"header": None, "ports": {}, "drops": {}, "none": False, "flows": {},
         "port_cols": [], "flow_cols": []}
    m = HEADER.match(lines[0]) if lines else None
    if m is None:
        raise ValueError("header line %r" % (lines[0] if lines else ""))
    t["header"] = {"pid": int(m.group(1)), "state": m.group(2), "generation": int(m.group(3))}
    section = None
    for ln in lines[1:]:
        if not ln.strip():
            section = None
            continue
        w = ln.split()
        if section is None:
            if w[0] == "PORT":
                section, t["port_cols"] = "PORT", split_columns(ln, 3)
            elif w[0] == "DROPS":
                section = "DROPS"
            elif w[0] == "FLOW":
                section, t["flow_cols"] = "FLOW", split_columns(ln, 2)
            elif w[0] in ("WARNING:", "DEAD:", "STALLED:") or ln.startswith("(starting"):
                pass
            else:
                raise ValueError("line outside a section: %r" % ln)
            continue
        if section == "PORT":
            if ln.startswith("link of port "):
                continue
            m = re.match(r"^(\S+)\s+(\S+)\s+(down|up \d+G|up)\s+(.*)$", ln)
            if m is None:
                raise ValueError("port row %r" % ln)
            v = values(m.group(4).split())
            if len(v) != len(t["port_cols"]):
                raise ValueError("%d numbers under %d columns: %r" % (len(v),
                                                                      len(t["port_cols"]), ln))
            t["ports"][m.group(1)] = dict(zip(t["port_cols"], v))
        elif section == "DROPS":
            if w == ["(none)"]:
                t["none"] = True
            elif len(w) == 3 and re.fullmatch(r"\d+", w[2]):
                t["drops"][(w[0], w[1])] = int(w[2])
            else:
                raise ValueError("drop row %r" % ln)
        else:
            v = values(w[2:])
            if len(v) != len(t["flow_cols"]):
                raise ValueError("%d numbers under %d columns: %r" % (len(v),
                                                                      len(t["flow_cols"]), ln))
            if (w[0], w[1]) in t["flows"]:
                raise ValueError("flow row twice: %r" % ln)
            t["flows"][(w[0], w[1])] = dict(zip(t["flow_cols"], v))
    return t


def split_tables(text):
    out, cur = [], []
    for ln in text.splitlines():
        if ln.startswith("qinqgw ") and cur:
            out.append("\n".join(cur))
            cur = []
        cur.append(ln)
    if cur:
        out.append("\n".join(cur))
    return out


def table_target(key):
    """Where a --all counter is in the table: ("col", column) in its row,
    ("droprow", reason), or None (not shown)."""
    cls = classify(key)
    if key[0] == "worker":
        return None
    if cls[0] == "list":
        return ("col", cls[1].column) if cls[1].column else None
    if cls[0] == "dropped":
        return ("col", "DROPPED")
    if cls[0] == "drop":
        if key[0] == "flow":
            return ("col", "OVERSIZE") if cls[1] == "oversize" else None
        return ("droprow", cls[1])
    return None


# ------------------------------------------------------------ comparing

class Ref:
    """The reference values: --all read before (lo) and after (hi) the other
    outputs; a counter that moved in between (worker idle polls and cycles
    while the gateway idles) must lie between the two readings."""

    def __init__(self, lo, hi=None):
        self.lo, self.hi = lo, hi if hi is not None else lo

    def keys(self):
        return self.lo.keys()

    def moving(self):
        return sorted((k for k in self.lo if self.lo[k] != self.hi.get(k)), key=kname)

    def ok(self, k, v, tol=0):
        return self.lo[k] - tol <= v <= self.hi[k] + tol

    def want(self, k):
        a, b = self.lo[k], self.hi[k]
        return str(a) if a == b else "%d..%d" % (a, b)


def compare_json(ref, doc):
    got, e = flatten_json(doc)
    for k in sorted(ref.keys(), key=kname):
        if k not in got:
            e.append("--json lacks %s" % kname(k))
        elif not ref.ok(k, got[k]):
            e.append("--json %s = %d, --all says %s" % (kname(k), got[k], ref.want(k)))
    for k in sorted(set(got) - set(ref.keys()), key=kname):
        e.append("--json has %s = %d, a counter --all does not list" % (kname(k), got[k]))
    return e


def compare_prom(ref, text):
    samples, types, e = parse_prom(text)
    used = set()
    for k in sorted(ref.keys(), key=kname):
        t = prom_target(k)
        if t is None:
            e.append("--prometheus has no sample for %s (docs/stats.md names none; --all "
                     "lists it)" % kname(k))
            continue
        kind, metric, labels = t
        if kind == "one":
            sk = (metric, labels)
            used.add(sk)
            if sk not in samples:
                e.append("--prometheus lacks %s{%s} (%s)" % (
                    metric, ",".join('%s="%s"' % x for x in sorted(labels)), kname(k)))
            elif not isinstance(samples[sk], int) or not ref.ok(k, samples[sk]):
                e.append("--prometheus %s{%s} = %r, --all says %s = %s" % (
                    metric, ",".join('%s="%s"' % x for x in sorted(labels)), samples[sk],
                    kname(k), ref.want(k)))
        else:
            parts = [(sk, v) for sk, v in samples.items()
                     if sk[0] == metric and labels <= sk[1] and
                     {a for a, _ in sk[1] - labels} == {"reason"}]
            total = sum(v for _, v in parts)
            if not parts:
                e.append("--prometheus has no %s samples for %s" % (metric, kname(k)))
            elif not ref.ok(k, total):
                e.append("--prometheus sum of %s{%s} = %r, --all says %s = %s" % (
                    metric, ",".join('%s="%s"' % x for x in sorted(labels)), total, kname(k),
                    ref.want(k)))
    # every sample of a counter metric must be one of a --all counter
    for sk, v in sorted(samples.items(), key=lambda x: (x[0][0], sorted(x[0][1]))):
        if sk[0] in PROM_NON_COUNTERS or sk in used:
            continue
        e.append("--prometheus has %s{%s} = %r, a counter --all does not list" % (
            sk[0], ",".join('%s="%s"' % x for x in sorted(sk[1])), v))
    # TYPE from the kind (counter: SUM, gauge: MAX/GAUGE)
    for fam, cs in LISTS.items():
        for c in cs:
            want = "counter" if c.kind == "SUM" else "gauge"
            if types.get(c.prom) != want:
                e.append("--prometheus TYPE %s %s, expected %s (kind %s in qgw_counters.h)" % (
                    c.prom, types.get(c.prom), want, c.kind))
    return e


def compare_tel(ref, tel):
    e = []
    for k in sorted(ref.keys(), key=kname):
        cmd, dk = tel_key(k)
        d = tel.get(cmd)
        if not isinstance(d, dict):
            e.append("telemetry %s: no answer (%r), needed for %s" % (cmd, d, kname(k)))
            continue
        if dk not in d:
            e.append("telemetry %s lacks %s (%s)" % (cmd, dk, kname(k)))
        elif not isinstance(d[dk], int) or not ref.ok(k, d[dk]):
            e.append("telemetry %s %s = %r, --all says %s" % (cmd, dk, d[dk], ref.want(k)))
    return e + tel_extra_errors(tel, ref.keys())


def compare_table(ref, t):
    e = []
    known = known_columns()
    for sec in ("port_cols", "flow_cols"):
        for c in t[sec]:
            if c not in known:
                e.append("table column %r is not a column of qgw_counters.h" % c)
    ports = {k[1] for k in ref.keys() if k[0] == "port"}
    flows = {(k[1], k[2]) for k in ref.keys() if k[0] == "flow"}
    if set(t["ports"]) != ports:
        e.append("table port rows %s, --all has %s" % (sorted(t["ports"]), sorted(ports)))
    if set(t["flows"]) != flows:
        e.append("table flow rows %s, --all has %s" % (sorted(t["flows"]), sorted(flows)))
    any_drop = False
    for k in sorted(ref.keys(), key=kname):
        tt = table_target(k)
        if tt is None:
            continue
        if tt[0] == "droprow":
            n = t["drops"].get((k[1], tt[1]))
            if ref.hi[k]:
                any_drop = True
            if n is None and ref.lo[k] != 0:
                e.append("table: no drop row %s %s, --all says %s = %s" % (
                    k[1], tt[1], kname(k), ref.want(k)))
            elif n is not None and (n == 0 or not ref.ok(k, n)):
                e.append("table: drop row %s %s shows %d, --all says %s" % (
                    k[1], tt[1], n, ref.want(k)))
            continue
        row = t["ports"].get(k[1]) if k[0] == "port" else t["flows"].get((k[1], k[2]))
        if row is None:
            continue
        if tt[1] not in row:
            e.append("table: no column %r for %s" % (tt[1], kname(k)))
            continue
        v = row[tt[1]]
        if v is None or not ref.ok(k, v[0], v[1]):
            e.append("table: %s %s shows %s, --all says %s" % (
                kname(k[:-1]), tt[1], "-" if v is None else "%g" % v[0], ref.want(k)))
    for (p, r) in t["drops"]:
        if ("port", p, "drop_" + r) not in ref.lo:
            e.append("table: drop row %s %s for a counter --all does not list" % (p, r))
    if t["none"] == any_drop:
        e.append("table: `(none)` shown: %s, drops: %s" % (t["none"], any_drop))
    return e


# --------------------------------------------------------------- run A

P0, P1 = "cust-a", "core.b"       # '-' and '.': telemetry keys turn them into '_'
S4, D4 = "198.18.0.1", "198.19.0.2"


def T(tpid, vid):
    return {"tpid": "0x%04x" % tpid, "vid": vid}


# max_frame 200 and small frames keep every byte counter shown in the table
# under 10000, so the table shows it exactly (no "12.3 kB"). Each flow's mtu
# is below what the ports allow, so that a frame with extra customer tags
# can be longer than every oversize frame (max_frame != max_oversize).
A_CONFIG = {
    "version": 1,
    "ports": {P0: {"device": "net_pcap0", "max_frame": 200},
              P1: {"device": "net_pcap1", "max_frame": 200}},
    "flows": [
        {"name": "alpha", P0: [T(0x8100, 10)], P1: [T(0x88A8, 20)], "mtu": 130,
         "icmp_rate": 1, "icmp_burst": 2},
        {"name": "beta:2", P0: [T(0x88A8, 30), T(0x8100, 31)], P1: [T(0x9100, 40)], "mtu": 128,
         "icmp_rate": 1, "icmp_burst": 3},
        {"name": "gamma", P0: [T(0x9200, 50)], P1: [T(0x8100, 51)], "mtu": 132,
         "icmp_rate": 1, "icmp_burst": 4},
        {"name": "idle", P0: [T(0x9300, 60)], P1: [T(0x9300, 61)]},
    ],
}
# Frames per flow and ingress port, by kind: plain UDP; big (UDP of the
# flow's mtu behind 3 customer tags: forwarded, longer than any oversize
# frame); clamp (SYN with MSS 1460); bad (SYN whose MSS option has length
# 3); df, nodf (UDP over the mtu with / without DF); nonip (over the mtu,
# EtherType 0x88b5). icmp_rate 1 and a run far shorter than a second: the
# first icmp_burst df frames get an ICMP error, the others are suppressed.
A_TRAFFIC = {
    ("alpha", 0): dict(plain=6, big=1, clamp=4, bad=5, df=3, nodf=3, nonip=1),
    ("alpha", 1): dict(plain=5, big=1, clamp=7, bad=4, df=5, nodf=1, nonip=2),
    ("beta:2", 0): dict(plain=8, big=1, clamp=5, bad=6, df=4, nodf=2, nonip=1),
    ("beta:2", 1): dict(plain=6, big=1, clamp=1, bad=2, df=7, nodf=5, nonip=0),
    ("gamma", 0): dict(plain=6, big=1, clamp=2, bad=5, df=5, nodf=3, nonip=6),
}
A_DROPS = [dict(no_flow=6, runt=8, bad_tag=11), dict(no_flow=10, runt=4, bad_tag=13)]


def a_traffic(seed=7):
    """(inputs per port, expected counters {key: int}) for run A, from the
    frames in the order they are sent."""
    rng = random.Random(seed)
    fm = FrameMaker(seed)
    names = list(A_CONFIG["ports"])
    flows = {f["name"]: f for f in A_CONFIG["flows"]}
    sent = [[], []]            # per port: (flow or None, kind or drop reason, frame)
    for (fname, p), kinds in A_TRAFFIC.items():
        f = flows[fname]
        stack = b"".join(tag(int(t["tpid"], 16), t["vid"]) for t in f[names[p]])
        mtu = f["mtu"]
        for kind, n in kinds.items():
            for i in range(n):
                ctags = tag(0x8100, 100 + rng.randrange(50))
                if kind == "big":
                    ctags += tag(0x8100, 7) + tag(0x8100, 8)
                    body = udp4(S4, D4, mtu)
                elif kind == "plain":
                    body = udp4(S4, D4, rng.randrange(30, 70))
                elif kind == "clamp":
                    body = tcp4(S4, D4, tcp_seg(TCP_SYN, mss_opt(1460),
                                                payload=bytes(rng.randrange(0, 30))))
                elif kind == "bad":
                    body = tcp4(S4, D4, tcp_seg(TCP_SYN, b"\x02\x03\x05\xb4",
                                                payload=bytes(rng.randrange(0, 30))))
                elif kind in ("df", "nodf"):
                    body = udp4(S4, D4, mtu + 1 + rng.randrange(0, 3), df=kind == "df")
                else:
                    body = bytes(mtu + 1 + rng.randrange(0, 3))
                et = 0x88B5 if kind == "nonip" else 0x0800
                sent[p].append((fname, kind, fm.macs() + stack + ctags + struct.pack("!H", et)
                                + body))
    for p in range(2):
        used = sorted({int(t["tpid"], 16) for f in A_CONFIG["flows"] for t in f[names[p]]})
        for reason, n in A_DROPS[p].items():
            for i in range(n):
                if reason == "no_flow":
                    fr = fm.frame([tag(used[i % len(used)], 3000 + i)], rng.randrange(60, 80))
                elif reason == "runt":
                    fr = fm.payload(1 + i % 13)
                else:
                    fr = fm.raw(struct.pack("!H", 0x8100) + bytes(i % 2))
                sent[p].append((None, reason, fr))
        rng.shuffle(sent[p])

    exp = {}

    def add(k, n):
        exp[k] = exp.get(k, 0) + n

    def mx(k, n):
        exp[k] = max(exp.get(k, 0), n)

    for p in range(2):
        for c in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "icmp_sent", "dropped",
                  "drop_oversize"):
            add(("port", names[p], c), 0)
        add(("port", names[p], "link_up"), 1)
        add(("port", names[p], "link_changes"), 0)
    for (fname, p) in A_TRAFFIC:
        for c in ("packets", "bytes", "max_frame", "max_oversize", "icmp_sent",
                  "icmp_suppressed", "df_clear", "mss_clamped", "mss_bad_options",
                  "drop_oversize", "dropped"):
            add(("flow", fname, "%s->%s" % (names[p], names[1 - p]), c), 0)
    for p in range(2):
        pk = lambda c: ("port", names[p], c)  # noqa: E731
        ndf = {}
        for fname, kind, fr in sent[p]:
            n = len(fr)
            add(pk("rx_packets"), 1)
            add(pk("rx_bytes"), n)
            if fname is None:
                add(pk("drop_" + kind), 1)
                add(pk("dropped"), 1)
                continue
            f = flows[fname]
            fk = lambda c: ("flow", fname, "%s->%s" % (names[p], names[1 - p]), c)  # noqa
            add(fk("packets"), 1)
            add(fk("bytes"), n)
            mx(fk("max_frame"), n)
            if kind in ("df", "nodf", "nonip"):
                for k in (fk("drop_oversize"), fk("dropped"), pk("drop_oversize"),
                          pk("dropped")):
                    add(k, 1)
                mx(fk("max_oversize"), n)
                if kind == "nodf":
                    add(fk("df_clear"), 1)
                elif kind == "df":
                    ndf[fname] = ndf.get(fname, 0) + 1
                    if ndf[fname] <= f["icmp_burst"]:
                        # the error leaves by the ingress port: the frame's
                        # L2 header, 20 + 8 bytes of IP and ICMP, the packet
                        add(fk("icmp_sent"), 1)
                        add(pk("icmp_sent"), 1)
                        add(pk("tx_packets"), 1)
                        add(pk("tx_bytes"), n + 28)
                    else:
                        add(fk("icmp_suppressed"), 1)
                continue
            if kind == "clamp":
                add(fk("mss_clamped"), 1)
            elif kind == "bad":
                add(fk("mss_bad_options"), 1)
            q = ("port", names[1 - p])
            add(q + ("tx_packets",), 1)
            add(q + ("tx_bytes",), max(60, n - 4 * len(f[names[p]]) + 4 * len(f[names[1 - p]])))
    return [[fr for _, _, fr in sent[p]] for p in range(2)], exp


def a_test_data_errors(exp):
    """The traffic makes the counters it means to non-zero, with distinct
    values per element (so a swapped or shifted counter cannot go unseen),
    and table values under 10000 (shown exactly)."""
    e = []
    elems = {}
    for k, v in exp.items():
        elems.setdefault(k[:-1], {})[k[-1]] = v
    for el, cs in elems.items():
        nz = {c: v for c, v in cs.items() if v and c not in ("link_up",)}
        seen = {}
        for c, v in nz.items():
            # dropped is the sum of the drops: equal to drop_oversize where
            # that is a flow's only reason
            if c == "dropped" and el[0] == "flow":
                continue
            if v in seen:
                e.append("%s: %s and %s are both %d" % (kname(el), seen[v], c, v))
            seen[v] = c
    for k, v in exp.items():
        tt = table_target(k)
        if tt and tt[0] == "col" and v >= 10000:
            e.append("%s = %d would not be exact in the table" % (kname(k), v))
    for el, cs in elems.items():
        if el[0] == "flow" and el[1] in ("alpha", "beta:2", "gamma") and \
                el[2] == "%s->%s" % (P0, P1):
            zero = [c for c, v in cs.items() if v == 0 and c in BY_NAME["flow"]]
            if zero:
                e.append("%s: %s zero" % (kname(el), zero))
    return e


def expected_errors(exp, vals):
    """--all against the counters the frames sent must produce."""
    e = []
    for k, v in sorted(exp.items(), key=lambda x: kname(x[0])):
        if k not in vals:
            e.append("--all lacks %s (expected %d)" % (kname(k), v))
        elif vals[k] != v:
            e.append("--all %s = %d, the frames sent make it %d" % (kname(k), vals[k], v))
    for k, v in vals.items():
        if k[0] == "worker" and k[2] == "rx_packets":
            want = sum(x for kk, x in exp.items() if kk[0] == "port" and kk[2] == "rx_packets")
            if v != want:
                e.append("--all %s = %d, %d frames were sent" % (kname(k), v, want))
        elif k[0] == "worker" and k[2] == "stalled" and v != 0:
            e.append("--all %s = %d" % (kname(k), v))
        elif k[0] in ("port", "flow") and k not in exp and v != 0:
            e.append("--all %s = %d, expected 0" % (kname(k), v))
    return e


class RunA:
    def __init__(self, t):
        self.t = t
        self.r = t.r
        self.seen = {}

    def stable_all(self, name, want_rx):
        """--all once every frame is counted and the counters other than the
        worker's idle ones stand still."""
        prev = None
        end = time.monotonic() + 20
        while time.monotonic() < end:
            vals, gw, errs = parse_all(self.t.stats.out(name, "--all"))
            rx = {k[1]: v for k, v in vals.items() if k[0] == "port" and k[2] == "rx_packets"}
            if rx == want_rx:
                if prev is not None and all(prev.get(k) == v for k, v in vals.items()
                                            if k[0] != "worker"):
                    return vals
                prev = vals
            time.sleep(0.3)
        return None

    def while_running(self, res):
        name = res.stats_name
        self.seen["name"] = name
        if self.stable_all(name, self.want_rx) is None:
            self.seen["error"] = "counters never reached the frames sent or kept moving"
            return
        tel_path = os.path.join("/var/run/dpdk", name, "dpdk_telemetry.v2")
        for attempt in range(3):
            t0 = time.monotonic()
            lo = self.t.stats.out(name, "--all")
            js = self.t.stats.out(name, "--json")
            pr = self.t.stats.out(name, "--prometheus")
            tb = self.t.stats.out(name)
            tel = read_telemetry(tel_path)
            hi = self.t.stats.out(name, "--all")
            dt = time.monotonic() - t0
            ref = Ref(parse_all(lo)[0], parse_all(hi)[0])
            moving = ref.moving()
            if all(k[0] == "worker" for k in moving):
                break
        self.seen.update(lo=lo, hi=hi, json=js, prom=pr, table=tb, tel=tel, ref=ref,
                         seconds=dt, moving=moving)

    def run(self):
        pre = "A "
        inputs, exp = a_traffic()
        self.exp = exp
        self.want_rx = {P0: len(inputs[0]), P1: len(inputs[1])}
        self.r.guard(pre + "test data: the traffic makes the counters non-zero, distinct per "
                     "port and flow direction, exact in the table", a_test_data_errors, exp)
        work = tempfile.mkdtemp(prefix="qgwcnt_a_")
        CLEAN.dirs.add(work)
        res = qgwtest.run_gateway(self.t.qinqgw, A_CONFIG, inputs, workdir=work,
                                  keep_stats=True, while_running=self.while_running, timeout=60)
        CLEAN.shm.add(res.stats_name)
        self.r.check(pre + "gateway ran on the crafted traffic and stopped with exit 0",
                     res.ok(), res.error or "")
        s = self.seen
        if "lo" not in s:
            self.r.check(pre + "running: outputs read", False, s.get("error", "never reached"))
            return
        ref = s["ref"]
        n = len(ref.lo)
        nz = sum(1 for v in ref.lo.values() if v)
        print("# A: %d counters in --all (%d non-zero), %d move while idle: %s; read in %.2f s"
              % (n, nz, len(s["moving"]), " ".join(kname(k) for k in s["moving"]), s["seconds"]))
        vals, gw, errs = parse_all(s["lo"])
        ports = sorted({k[1] for k in vals if k[0] == "port"})
        flows = {}
        for k in vals:
            if k[0] == "flow":
                flows.setdefault(k[1], set()).add(k[2])
        nworkers = len({k[1] for k in vals if k[0] == "worker"})
        self.r.guard(pre + "running: --all parses, state running, lists exactly the counters "
                     "of qgw_counters.h for 2 ports, %d flows (both directions), %d worker(s)"
                     % (len(flows), nworkers),
                     lambda: errs + (["gateway state %r" % gw.get("state")]
                                     if gw.get("state") != "running" else []) +
                     directory_errors(vals, ports, flows, nworkers) +
                     (["ports %s, expected %s" % (ports, sorted([P0, P1]))]
                      if ports != sorted([P0, P1]) else []) +
                     (["flows %s" % sorted(flows)]
                      if sorted(flows) != sorted(f["name"] for f in A_CONFIG["flows"]) else []))
        self.r.guard(pre + "running: only worker idle counters move while no frame comes",
                     lambda: ["%s moved %s" % (kname(k), ref.want(k)) for k in s["moving"]
                              if k[0] != "worker" or k[2] not in ("idle_polls", "idle_cycles")])
        self.r.guard(pre + "running: --all values are those of the frames sent",
                     expected_errors, exp, ref.lo)
        self.r.guard(pre + "running: --json has every --all counter with its value, and no "
                     "other", compare_json, ref, json.loads(s["json"]))
        self.r.guard(pre + "running: --prometheus passes promtool check metrics",
                     promtool_errors, s["prom"])
        self.r.guard(pre + "running: --prometheus has every --all counter with its value "
                     "(metric, labels, TYPE from qgw_counters.h), and no other",
                     compare_prom, ref, s["prom"])
        self.r.guard(pre + "running: telemetry /qinqgw/port, /qinqgw/flow, /qinqgw/workers have "
                     "every --all counter with its value, and no other", compare_tel, ref,
                     s["tel"])
        self.r.guard(pre + "running: the table shows every counter with a column (and DROPPED, "
                     "OVERSIZE, drop rows) with its --all value",
                     lambda: compare_table(ref, parse_table(s["table"])) or None)
        print("# A: %d counters x 5 outputs while running (--all twice, --json, --prometheus, "
              "telemetry; %d in the table)"
              % (n, sum(1 for k in ref.keys() if table_target(k))))

        # after the stop
        name = s["name"]
        if not os.path.exists("/dev/shm/" + name):
            self.r.check(pre + "stopped: segment kept", False, "gone")
            return
        lo = self.t.stats.out(name, "--all")
        js = self.t.stats.out(name, "--json")
        pr = self.t.stats.out(name, "--prometheus")
        tb = self.t.stats.out(name)
        hi = self.t.stats.out(name, "--all")
        vals2, gw2, errs2 = parse_all(lo)
        ref2 = Ref(vals2, parse_all(hi)[0])
        self.r.guard(pre + "stopped: --all parses, state stopped, same counter set, nothing "
                     "moves",
                     lambda: errs2 + (["gateway state %r" % gw2.get("state")]
                                      if gw2.get("state") != "stopped" else []) +
                     ["%s moved %s after the stop" % (kname(k), ref2.want(k))
                      for k in ref2.moving()] +
                     directory_errors(vals2, ports, flows, nworkers))

        def same_as_running():
            e = []
            for k in sorted(set(ref.lo) | set(vals2), key=kname):
                if k not in vals2:
                    e.append("%s gone after the stop" % kname(k))
                elif k not in ref.lo:
                    e.append("%s appeared after the stop" % kname(k))
                elif k in s["moving"]:
                    if vals2[k] < ref.hi[k]:
                        e.append("%s = %d after the stop, %d while running" % (
                            kname(k), vals2[k], ref.hi[k]))
                elif vals2[k] != ref.lo[k]:
                    e.append("%s = %d after the stop, %d while running" % (
                        kname(k), vals2[k], ref.lo[k]))
            return e
        self.r.guard(pre + "stopped: --all values equal those read while running",
                     same_as_running)
        self.r.guard(pre + "stopped: --json has every --all counter with its value, and no "
                     "other", compare_json, ref2, json.loads(js))
        self.r.guard(pre + "stopped: --prometheus passes promtool check metrics",
                     promtool_errors, pr)
        self.r.guard(pre + "stopped: --prometheus has every --all counter with its value, and "
                     "no other", compare_prom, ref2, pr)
        self.r.guard(pre + "stopped: the table shows every counter with a column with its "
                     "--all value", lambda: compare_table(ref2, parse_table(tb)) or
                     (["table header says %r" % parse_table(tb)["header"]["state"]]
                      if parse_table(tb)["header"]["state"] != "stopped" else None))
        print("# A: %d counters x 4 outputs after the stop" % len(vals2))


# --------------------------------------------------------------- run B

B_P0, B_P1 = "west", "east"
NT = 4                     # traffic flows per generation
FILLER_TPIDS = (0x9100, 0x9200, 0x9300)
FILLER_STACKS = 4000 * len(FILLER_TPIDS)


def advance_sizes(slots=MAX_SLOTS, flows=MAX_FLOWS):
    """Fillers of the applies that keep one generation's traffic flows U
    while the round robin goes round, one entry per apply. Each apply
    renames all its fillers, so they take fresh slots, right after U's in
    the first one: together they take every slot but U's and the NT just
    before them (slots - 2 NT), with at most flows - NT in one config (U is
    in it too). The round robin then stands at the NT slots before U's.
    The last apply has the most fillers (the bulk replacement reuses its
    slots). Two neighbours never need more than the free slots: at most
    slots - 2 NT together when there are two, at most 2 (flows - NT) <
    slots - NT when there are more."""
    total, per = slots - 2 * NT, flows - NT
    if total < 1 or per < 1:
        raise ValueError("%d slots and %d flows a config leave no room for fillers next to "
                         "%d traffic flows" % (slots, flows, 2 * NT))
    last = min(per, total)
    rest = total - last
    n = -(-rest // per)
    return [rest // n + (i < rest % n) for i in range(n)] + [last]


ADVANCE = advance_sizes()
NBULK = min(6000, ADVANCE[-1] - NT)   # renamed fillers of the bulk replacement
SLOW_VID, FAST_VID = 101, 201
FAST_COPIES = 64           # frames of a fast flow per frame of a slow one


def b_config(tnames, fast, fillers):
    if len(fillers) > FILLER_STACKS:
        raise ValueError("%d fillers in one config, b_config() has stacks for %d" % (
            len(fillers), FILLER_STACKS))
    base = FAST_VID if fast else SLOW_VID
    flows = [{"name": n, B_P0: [T(0x8100, base + i)], B_P1: [T(0x88A8, 2000 + base + i)]}
             for i, n in enumerate(tnames)]
    for j, n in enumerate(fillers):
        tp = FILLER_TPIDS[j // 4000]
        flows.append({"name": n, B_P0: [T(tp, 1 + j % 4000)], B_P1: [T(tp, 1 + j % 4000)]})
    return {"version": 1, "ports": {B_P0: {"device": "net_pcap0"}, B_P1: {"device": "net_pcap1"}},
            "flows": flows}


def tnames(k):
    return ["t%d_%d" % (k, i) for i in range(NT)]


class WatchTail:
    """Follows the output file of `qinqgw-stats --watch`: how many tables
    have begun (a table's header line is printed right after its sample)."""

    def __init__(self, path):
        self.path, self.off, self.n, self.tail = path, 0, 0, b""

    def count(self):
        with open(self.path, "rb") as f:
            f.seek(self.off)
            data = f.read()
        self.off += len(data)
        data = self.tail + data
        self.n += data.count(b"\nqinqgw ") + (1 if self.off == len(data) and
                                               data.startswith(b"qinqgw ") else 0)
        self.tail = data[-8:]
        return self.n

    def wait_beyond(self, n, timeout=10):
        """Wait until table n + 1 has begun; the number of tables begun."""
        return wait_for(lambda: self.count() > n and self.n, timeout, 0.005)


class RunB:
    def __init__(self, t):
        self.t = t
        self.r = t.r
        self.work = tempfile.mkdtemp(prefix="qgwcnt_b_")
        CLEAN.dirs.add(self.work)
        self.name = "%s_b" % TAG
        self.prefix = self.name
        self.sock = os.path.join(self.work, "ctl.sock")
        self.slot_of = {}      # traffic flow name -> (slot, slot_gen) from JSON
        self.history = {}      # slot -> [(name, gen)] from JSON
        self.gen_errs = []
        self.applies = 0

    def start(self):
        fm = FrameMaker(11)
        loop = []
        for i in range(NT):
            loop.append(fm.frame([tag(0x8100, SLOW_VID + i), tag(0x8100, 7)], 80 + i))
            for c in range(FAST_COPIES):
                loop.append(fm.frame([tag(0x8100, FAST_VID + i), tag(0x8100, 7)], 64 + c))
        # the oversize frames of flow X (t0_0) on east, once: ICMP errors,
        # events that name X
        x = b_config(tnames(0), False, [])["flows"][0]
        once = []
        for i in range(3):
            head = fm.macs() + tag(0x88A8, x[B_P1][0]["vid"]) + tag(0x8100, 9) + \
                struct.pack("!H", 0x0800)
            once.append(head + udp4(S4, D4, 1500 + 10 + i))
        self.rx = [os.path.join(self.work, "loop0.pcap"), os.path.join(self.work, "once1.pcap")]
        qgwtest.write_pcap(self.rx[0], loop)
        qgwtest.write_pcap(self.rx[1], once)
        cfg = self.write_cfg("c0", b_config(tnames(0), False, []))
        cmd = [self.t.qinqgw, "-l", "0-1", "--no-huge", "--no-pci", "-m", "512",
               "--file-prefix", self.prefix, "--log-level=pmd.net.pcap:warning",
               "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1" % self.rx[0],
               "--vdev", "net_pcap1,rx_pcap=%s,tx_pcap=/dev/null" % self.rx[1],
               "--", "--config", cfg, "--stats-name", self.name, "--ctl-socket", self.sock]
        CLEAN.rundirs.add(self.prefix)
        CLEAN.shm.add(self.name)
        self.out, self.err = (os.path.join(self.work, "gw." + s) for s in ("stdout", "stderr"))
        self.proc = subprocess.Popen(cmd, stdout=open(self.out, "w"), stderr=open(self.err, "w"),
                                     stdin=subprocess.DEVNULL)
        CLEAN.procs.append(self.proc)

        def up():
            if self.proc.poll() is not None:
                raise RuntimeError("gateway exited with %d: %s" % (self.proc.returncode,
                                                                   read(self.err)[-1500:]))
            r = self.t.stats.run(self.name, "--json", "--flow", "t0_0")
            if r.returncode != 0:
                return None
            d = json.loads(r.stdout)
            if d["gateway"]["state"] != "running" or d["gateway"]["pid"] != self.proc.pid:
                return None
            ev = self.events()
            return d if len(ev) >= 3 and os.path.exists(self.sock) else None
        return wait_for(up, 30, 0.1)

    def write_cfg(self, tagname, cfg):
        p = os.path.join(self.work, "%s.json" % tagname)
        with open(p, "w") as f:
            json.dump(cfg, f)
        return p

    def prepare(self, k, fillers, fast=False, step=0):
        """Write the config of generation k (its apply number step) ahead of
        its apply."""
        return self.write_cfg("a%d_%d" % (k, step), b_config(tnames(k), fast, fillers))

    def apply(self, k, fillers=None, fast=False, step=0):
        p = os.path.join(self.work, "a%d_%d.json" % (k, step))
        if fillers is not None:
            p = self.prepare(k, fillers, fast, step)
        r = subprocess.run([self.t.ctl, "--socket", self.sock, "apply", p], capture_output=True,
                           text=True, timeout=60)
        self.applies += 1
        if r.returncode != 0:
            raise AssertionError("qinqgw-ctl apply (generation %d): exit %d: %s" % (
                k, r.returncode, (r.stderr or r.stdout).strip()[:800]))
        return r

    def go_round(self, k, fast=False, after_first=None):
        """Generation k's traffic flows U (kept by every apply here) with
        ADVANCE[i] renamed fillers in apply i: the round robin passes every
        slot but U's and the NT before them, which it gives next. So the
        next generation, alone, gets the NT slots before U's, and the one
        after it U's slots, freed by then."""
        for i, n in enumerate(ADVANCE):
            self.apply(k, ["f%d_%d_%d" % (k, i, j) for j in range(n)], fast, i)
            self.learn(k)        # after the first: kept, same slots and slot_gen
            if i == 0 and after_first is not None:
                after_first()

    def learn(self, k, first_only=False):
        """Slots and generations of the traffic flows of generation k (JSON);
        a slot given to a new flow must have a larger slot_gen; a flow
        learnt again (kept by the applies since) must have kept its slot."""
        for n in tnames(k)[:1 if first_only else NT]:
            d = self.t.stats.json(self.name, "--flow", n)
            f = d["flows"][0]
            if n in self.slot_of and self.slot_of[n][0] != f["slot"]:
                self.gen_errs.append("%s, unchanged, moved from slot %d to slot %d" % (
                    n, self.slot_of[n][0], f["slot"]))
            self.note(f["slot"], n, f["slot_gen"])
            self.slot_of[n] = (f["slot"], f["slot_gen"])

    def note(self, slot, name, gen):
        h = self.history.setdefault(slot, [])
        if h and h[-1][0] != name and not gen > h[-1][1]:
            self.gen_errs.append("slot %d: %s had slot_gen %d, then %s has %d" % (
                slot, h[-1][0], h[-1][1], name, gen))
        if h and h[-1][0] == name and gen != h[-1][1]:
            self.gen_errs.append("slot %d: %s slot_gen %d then %d" % (slot, name, h[-1][1], gen))
        if not h or h[-1][0] != name:
            h.append((name, gen))

    def events(self):
        r = self.t.stats.run(self.name, "--oversize", "--json")
        if r.returncode != 0:
            return []
        return [e for e in json.loads(r.stdout)["events"] if e["port"] == B_P1]

    def oversize_errors(self, x, xslot, xgen, gone, other=None):
        e = []
        ev = self.events()
        if len(ev) != 3:
            e.append("--oversize --json: %d events on %s, expected X's 3" % (len(ev), B_P1))
        for v in ev:
            if v["flow"] != x or v["slot"] != xslot or v["slot_gen"] != xgen:
                e.append("event flow %r slot %r slot_gen %r, expected %s, %d, %d" % (
                    v["flow"], v["slot"], v["slot_gen"], x, xslot, xgen))
            if v["flow_current"] != (not gone):
                e.append("event of %s: flow_current %r, expected %r" % (x, v["flow_current"],
                                                                       not gone))
            if v["action"] != "icmp_sent":
                e.append("event action %r, expected icmp_sent" % v["action"])
        txt = self.t.stats.out(self.name, "--oversize")
        rows = [ln for ln in txt.splitlines()[1:] if re.match(r"^\S+ \S+ +%s " % re.escape(B_P1),
                                                               ln)]
        if len(rows) != 3:
            e.append("--oversize table: %d rows on %s:\n%s" % (len(rows), B_P1, txt))
        want = "%s (gone)" % x if gone else x
        for ln in rows:
            m = re.match(r"^\S+ \S+ +\S+ +(\S+(?: \(gone\))?) +\d", ln)
            if m is None or m.group(1) != want:
                e.append("--oversize table row shows flow %r, expected %r: %r" % (
                    m.group(1) if m else None, want, ln))
            if other and other in ln:
                e.append("--oversize table row names %s, the slot's new flow: %r" % (other, ln))
        return e

    def run(self):
        pre = "B "
        d0 = self.start()
        if not self.r.check(pre + "gateway runs with endless traffic; flow X's oversize frames "
                            "were logged", d0 is not None,
                            "not running or no events in 30 s: %s" % read(self.err)[-1500:]):
            return
        self.learn(0)
        x = "t0_0"
        xslot, xgen = self.slot_of[x]
        self.r.guard(pre + "before any apply: the oversize events name X (%s), current" % x,
                     self.oversize_errors, x, xslot, xgen, False)

        watch_out = os.path.join(self.work, "watch.out")
        watch_err = os.path.join(self.work, "watch.err")
        watch = subprocess.Popen([self.t.stats.path, "--stats-name", self.name, "--watch", "0.3"],
                                 stdout=open(watch_out, "w"), stderr=open(watch_err, "w"))
        CLEAN.procs.append(watch)
        time.sleep(1.0)

        # Generation 1 (U) with fillers: the round robin passes every slot
        # but generation 0's; generation 2 alone then gets generation 0's.
        t_first = time.monotonic()
        self.go_round(1, after_first=lambda: self.r.guard(
            pre + "X removed: its events still name X, with \" (gone)\" and flow_current false",
            self.oversize_errors, x, xslot, xgen, True))
        self.apply(2, [])
        t_wrap = time.monotonic() - t_first
        self.learn(2)
        reused = [n for n in tnames(2)
                  if self.slot_of[n][0] in {self.slot_of[o][0] for o in tnames(0)}]
        y = next((n for n in tnames(2) if self.slot_of[n][0] == xslot), None)
        ok_wrap = self.r.check(
            pre + "slot reuse wraps: once the round robin has given each of the %d slots "
            "(%d applies of at most %d flows), the next flows get the slots freed "
            "(generation 2 in generation 0's slots)" % (MAX_SLOTS, len(ADVANCE) + 1, MAX_FLOWS),
            len(reused) == NT and y is not None,
            "generation 0 slots %s, generation 2 slots %s" % (
                [self.slot_of[n] for n in tnames(0)], [self.slot_of[n] for n in tnames(2)]))
        if ok_wrap:
            print("# B: slot wrap after %.2f s (%d slots given since the first apply, in %d "
                  "applies)" % (t_wrap, NT + sum(ADVANCE) + NT, len(ADVANCE) + 1))
            self.r.guard(pre + "X's slot now holds %s: X's events still name X with \" (gone)\", "
                         "flow_current false, X's slot_gen %d (not %s's %d)" % (
                             y, xgen, y, self.slot_of[y][1]),
                         self.oversize_errors, x, xslot, xgen, True, y)

        # Rounds timed on the watch's samples, from generation k alone: U
        # (generation k + 1) and the fillers of go_round() bring the round
        # robin to generation k's slots, just before U's. Right after a sample
        # began after that (it holds U), W (k + 2) alone takes generation k's
        # slots and frees U's, and V (k + 3) alone gets U's slots: if no
        # sample began meanwhile, the next one holds V where the one before
        # held U (the next round waits for it: the next U replaces V). "up"
        # rounds: U slow, V fast (64 times the frames): without the generation
        # check V's rate would be (V - U) / dt, plausible and wrong. "down"
        # rounds: U fast, V slow: without the went-down check, cur - prev
        # would underflow.
        tail = WatchTail(watch_out)
        k = 2
        t_pp = time.monotonic()
        a_pp = self.applies
        planned = {"up": 0, "down": 0}
        rounds = 0
        while (planned["up"] < 3 or planned["down"] < 2) and rounds < 16:
            rounds += 1
            kind = "up" if planned["up"] < 3 and (planned["down"] >= 2 or rounds % 2) else "down"
            self.prepare(k + 2, [], fast=False)                   # W, before U's slots
            self.prepare(k + 3, [], fast=kind == "up")            # V, in U's slots
            self.go_round(k + 1, fast=kind == "down")             # U
            n = tail.wait_beyond(tail.count())      # began after U's applies: holds U
            if n is None:
                break
            self.apply(k + 2)
            self.apply(k + 3)
            v_in = tail.count() == n                # the sample after the one with U holds V
            self.learn(k + 3)
            planned[kind] += v_in and ([self.slot_of[u][0] for u in tnames(k + 1)] ==
                                       [self.slot_of[v][0] for v in tnames(k + 3)])
            k += 3
            if tail.wait_beyond(n) is None:         # that sample, before the next U
                break
        tail.wait_beyond(tail.count())
        print("# B: ping-pong: %d applies in %.1f s; %d rounds, %d up and %d down between "
              "two samples, V in U's slots" % (self.applies - a_pp, time.monotonic() - t_pp,
                                               rounds, planned["up"], planned["down"]))
        # bulk: a round's applies again (generation k + 1; the fillers of the
        # last apply end just before generation k's slots), the snapshot;
        # generation k + 2 with the fillers of the other applies of a round
        # (none if there are none): the round robin passes every slot but
        # those of the last apply's fillers and stands at the first of them;
        # generation k + 3 and NBULK renamed fillers, replacing every filler,
        # get those slots.
        k += 1
        self.go_round(k)
        before = self.t.stats.json(self.name)
        k += 1
        for i in range(max(1, len(ADVANCE) - 1)):
            self.apply(k, ["f%d_%d_%d" % (k, i, j) for j in range(ADVANCE[i])]
                       if i < len(ADVANCE) - 1 else [], step=i)
        self.learn(k)
        k += 1
        self.apply(k, ["g_%d" % j for j in range(NBULK)])
        self.learn(k)
        time.sleep(0.7)
        after = self.t.stats.json(self.name)
        self.r.guard(pre + "oversize events still name X with \" (gone)\" after %d applies"
                     % self.applies, self.oversize_errors, x, xslot, xgen, True, y)
        watch.send_signal(signal.SIGINT)
        try:
            watch.wait(timeout=20)
        except subprocess.TimeoutExpired:
            watch.kill()
            watch.wait()
        self.r.guard(pre + "JSON slot_gen grows each time a slot gets a new flow, a kept flow "
                     "keeps its slot and slot_gen (traffic flows after each of %d applies)"
                     % self.applies, lambda: self.gen_errs)
        self.r.guard(pre + "bulk replacement of the fillers by %d renamed flows: every slot "
                     "given to another flow has a larger slot_gen, the others the same" % NBULK,
                     self.bulk_errors, before, after)
        self.r.guard(pre + "--watch 0.3 during %d applies: no rate over what the port "
                     "received, `-` for a flow new in its slot, numbers for the others"
                     % self.applies, self.watch_errors, watch_out, watch.returncode,
                     read(watch_err))
        self.proc.send_signal(signal.SIGINT)
        try:
            rc = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = "killed after 30 s"
        self.r.check(pre + "gateway stops on SIGINT with exit 0", rc == 0,
                     "exit %s: %s" % (rc, read(self.err)[-1500:]))

    def bulk_errors(self, before, after):
        a = {f["slot"]: (f["name"], f["slot_gen"]) for f in before["flows"]}
        b = {f["slot"]: (f["name"], f["slot_gen"]) for f in after["flows"]}
        e = []
        changed = 0
        for s in sorted(set(a) & set(b)):
            if a[s][0] != b[s][0]:
                changed += 1
                if not b[s][1] > a[s][1]:
                    e.append("slot %d: %s slot_gen %d, then %s slot_gen %d" % (
                        s, a[s][0], a[s][1], b[s][0], b[s][1]))
            elif a[s][1] != b[s][1]:
                e.append("slot %d: %s slot_gen %d then %d" % (s, a[s][0], a[s][1], b[s][1]))
        if len(after["flows"]) != NT + NBULK:
            e.append("%d flows after the bulk apply, expected %d" % (len(after["flows"]),
                                                                    NT + NBULK))
        if changed < NBULK - NT:
            e.append("only %d slots changed hands (expected at least %d)" % (changed,
                                                                            NBULK - NT))
        print("# B: bulk replacement: %d slots changed hands" % changed)
        return e

    def watch_errors(self, path, rc, err):
        text = read(path)
        tabs = split_tables(text)
        e = []
        if rc not in (0, None) or err.strip():
            e.append("--watch exit %s, stderr %r" % (rc, err.strip()[:500]))
        if len(tabs) < 5:
            return e + ["only %d tables" % len(tabs)]
        tslot = {n: s for n, (s, _) in self.slot_of.items()}
        prev = None
        straddles = unmasked = down = first_dash = cont_num = 0
        bound_max = 0.0
        for i, txt in enumerate(tabs):
            try:
                t = parse_table(txt)
            except ValueError as x:
                if i == len(tabs) - 1:
                    break        # the last table may be cut by SIGINT
                e.append("table %d: %s" % (i + 1, x))
                prev = None
                continue
            rates = "PPS" in t["flow_cols"]
            if prev is None or not rates:
                prev = t
                continue
            port = t["ports"]
            for (n, d), row in t["flows"].items():
                pps, bps = row.get("PPS"), row.get("BIT/S")
                ing = d.split("->")[0]
                p = port.get(ing, {})
                if (n, d) not in prev["flows"]:
                    first_dash += 1
                    if pps is not None or bps is not None:
                        e.append("table %d: %s %s is new (not in the previous table: its slot "
                                 "was free or another flow's) but shows rates %s / %s" % (
                                     i + 1, n, d, pps, bps))
                    continue
                cont_num += 1
                if pps is None or bps is None:
                    e.append("table %d: %s %s was in the previous table but shows `-`" % (
                        i + 1, n, d))
                    continue
                for v, pv, what in ((pps, p.get("RX PPS"), "PPS"),
                                    (bps, p.get("RX BIT/S"), "BIT/S")):
                    lim = (pv[0] + pv[1]) * 1.1 + 1000 if pv else 0
                    bound_max = max(bound_max, v[0])
                    if pv is None or v[0] - v[1] > lim:
                        e.append("table %d: %s %s %s %g, more than port %s received (%s)" % (
                            i + 1, n, d, what, v[0], ing, pv and pv[0]))
            for pn, row in port.items():
                for c in ("RX PPS", "TX PPS"):
                    v = row.get(c)
                    if v is None or v[0] > 1e9:
                        e.append("table %d: port %s %s %s" % (i + 1, pn, c, v))
            # slots that changed hands between the two samples
            old = {tslot[n]: (n, r) for (n, d), r in prev["flows"].items()
                   if n in tslot and d == "%s->%s" % (B_P0, B_P1)}
            for (n, d), r in t["flows"].items():
                if n not in tslot or d != "%s->%s" % (B_P0, B_P1) or (n, d) in prev["flows"]:
                    continue
                o = old.get(tslot[n])
                if o is None:
                    continue
                straddles += 1
                if r["PKTS"][0] - r["PKTS"][1] > o[1]["PKTS"][0] + o[1]["PKTS"][1]:
                    unmasked += 1
                elif r["PKTS"][0] + r["PKTS"][1] < o[1]["PKTS"][0] - o[1]["PKTS"][1]:
                    down += 1
            prev = t
        print("# B: %d tables; %d rows new to a table (all `-`), %d continuing rows with "
              "rates (largest %.3g); %d slots changed hands between two samples: the new "
              "flow counted more in %d, less in %d" % (len(tabs), first_dash, cont_num,
                                                      bound_max, straddles, unmasked, down))
        if unmasked == 0:
            e.append("no table pair where a slot changed hands and the new flow counted more "
                     "than the old one (%d slot changes seen): the generation check was not "
                     "exercised" % straddles)
        if down == 0:
            e.append("no table pair where a slot changed hands and the new flow counted less "
                     "than the old one (%d slot changes seen): an underflow could not show"
                     % straddles)
        return e


# ------------------------------------------------------------------ main

class CountersTest:
    def __init__(self, args):
        self.qinqgw = os.path.abspath(args.qinqgw)
        bindir = os.path.dirname(self.qinqgw)
        self.stats = Stats(os.path.abspath(args.qinqgw_stats or
                                           os.path.join(bindir, "qinqgw-stats")))
        self.ctl = os.path.abspath(args.qinqgw_ctl or os.path.join(bindir, "qinqgw-ctl"))
        self.r = Checker()
        self.only = args.only

    def main(self):
        t0 = time.monotonic()
        self.r.check("qgw_counters.h lists parse (%s)" % ", ".join(
            "%d %s" % (len(LISTS[f]), f) for f, _ in FAMILIES), True)
        self.r.check("qgw_config.h limits parse (%d flow counter slots, %d flows in one config)"
                     % (MAX_SLOTS, MAX_FLOWS), True)
        for tag_, cls in (("A", RunA), ("B", RunB)):
            if self.only and self.only != tag_:
                continue
            t1 = time.monotonic()
            try:
                cls(self).run()
            except Exception:  # noqa: BLE001 - report and go on
                self.r.check("run %s completes" % tag_, False, traceback.format_exc())
            print("# run %s: %.1f s" % (tag_, time.monotonic() - t1))
        print("# %.1f s" % (time.monotonic() - t0))
        return self.r.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qinqgw", required=True)
    ap.add_argument("--qinqgw-stats")
    ap.add_argument("--qinqgw-ctl")
    ap.add_argument("--only", choices=("A", "B"))
    ap.add_argument("--keep", action="store_true", help="keep the temp directories")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("FAIL setup: needs root (DPDK vdevs)")
        print("0 passed, 1 failed")
        return 1
    CLEAN.keep = args.keep

    def on_term(sig, frame):
        raise SystemExit("terminated by signal %d" % sig)
    signal.signal(signal.SIGTERM, on_term)
    try:
        return CountersTest(args).main()
    finally:
        CLEAN.run()


if __name__ == "__main__":
    sys.exit(main())
