"""Functional test of the stats contract (docs/stats.md): the shared-memory
segment, qinqgw-stats (table, --json, --prometheus, --watch, filters, exit
codes), the /qinqgw telemetry commands and a reader hammering the segment.

Gateway runs, all on net_pcap vdevs:
  A  mixed traffic on both ports (three flows, one idle; no_flow, runt and
     bad_tag drops on both ports), --stats-group of a throwaway group. While
     it runs: exact JSON totals per port, reason, flow and direction; schema;
     table; filters; --watch; Prometheus and promtool; telemetry and
     dpdk-telemetry.py; permissions as `nobody` in and out of the group; a
     second gateway with the same --stats-name is refused. After it stopped:
     the kept segment says `stopped` with the same final counters.
  B  a new start with the same name replaces the stopped segment (new pid,
     fresh counters); a `--watch` reader started on the old segment follows.
  K  a SIGKILLed gateway's segment does not block the next start.
  H  endless traffic (net_pcap infinite_rx): stats_hammer reads for ~3 s
     and sees no torn or decreasing counter; rates in --watch; after SIGINT
     the counters are exactly those of the frames the pcap replays.
Plus, without a gateway: usage errors, no segment, fake and damaged segments,
a --stats-group that does not exist.

Expectations come from qgwtest.Model (the forwarding spec) and docs/stats.md,
never from the gateway. Everything created (/dev/shm segments, the group,
/var/run/dpdk/<prefix> dirs, temp dirs) is removed at the end.

Usage: /usr/bin/python3 test/func/test_stats.py --qinqgw PATH --hammer PATH
"""
import argparse
import grp
import json
import os
import random
import re
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qgwtest  # noqa: E402
from qgwtest import FrameMaker, Model, tag  # noqa: E402

# docs/stats.md: every reason, zeros included, in every drops object
REASONS = ("no_flow", "runt", "bad_tag", "unparsable", "no_headroom", "tx_full")
SCHEMA = "qinqgw-stats/1"
SHM_MAGIC = b"QINQGWST"
EXIT_OK, EXIT_NO_SEGMENT, EXIT_USAGE, EXIT_PERM, EXIT_LAYOUT, EXIT_NO_MATCH = 0, 1, 2, 3, 4, 5
PY = "/usr/bin/python3"
TELEMETRY_PY = "/usr/bin/dpdk-telemetry.py"

TAG = "qgwst_%d" % os.getpid()


def T(tpid, vid):
    return {"tpid": "0x%04x" % tpid, "vid": vid}


P0, P1 = "twaren", "ccx-1"   # '-' in a port name: telemetry keys turn it into '_'
F_TOKYO, F_OSAKA, F_IDLE = "twcc-aws-tokyo", "hinet.osaka:2", "idle_flow"
CONFIG = {
    "version": 1,
    "ports": {P0: {"device": "net_pcap0", "max_frame": 1526},
              P1: {"device": "net_pcap1", "max_frame": 1526}},
    "flows": [
        {"name": F_TOKYO, P0: [T(0x88A8, 100)], P1: [T(0x8100, 3001)]},
        {"name": F_OSAKA, P0: [T(0x88A8, 200), T(0x8100, 30)], P1: [T(0x8100, 3002), T(0x8100, 7)]},
        {"name": F_IDLE, P0: [T(0x9100, 300)], P1: [T(0x88A8, 3003)]},
    ],
}


def stack_text(stack):
    """docs/stats.md: `0x88a8/200.0x8100/30`, `untagged`."""
    return ".".join("%s/%d" % (t["tpid"], t["vid"]) for t in stack) or "untagged"


# ------------------------------------------------------------ bookkeeping

class Cleanup:
    """Everything this test creates, removed at the end whatever happens."""

    def __init__(self):
        self.shm = set()
        self.rundirs = set()
        self.dirs = set()
        self.groups = set()
        self.procs = []

    def run(self):
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGINT)
                try:
                    p.wait(timeout=10)
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
        for d in self.dirs:
            shutil.rmtree(d, ignore_errors=True)
        for g in self.groups:
            subprocess.run(["groupdel", g], capture_output=True)


CLEAN = Cleanup()


class Checker(qgwtest.Results):
    """Results plus guard(): a check that raises is a FAIL, not a crash."""

    def guard(self, name, fn, *a):
        try:
            why = fn(*a)
        except Exception as e:  # noqa: BLE001 - any exception is a failed case
            tb = traceback.format_exc().strip().splitlines()
            why = "exception %s: %s (%s)" % (type(e).__name__, e, tb[-3].strip() if len(tb) > 2
                                             else "")
        if isinstance(why, (list, tuple)):
            why = "; ".join(why)
        return self.check(name, not why, why or "")


# ---------------------------------------------------------- qinqgw-stats

class Stats:
    def __init__(self, path):
        self.path = path

    def run(self, *args, name=None, user=None, timeout=30):
        cmd = [self.path] + (["--stats-name", name] if name else []) + list(args)
        if user is not None:
            cmd = user + cmd
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)

    def json(self, name, *args):
        r = self.run("--json", *args, name=name)
        if r.returncode != 0:
            raise AssertionError("qinqgw-stats --json exit %d: %s" % (r.returncode,
                                                                     r.stderr.strip()))
        return json.loads(r.stdout)


def as_nobody(gid=None):
    """setpriv prefix: user nobody, group nogroup, no groups or only gid."""
    return ["setpriv", "--reuid=nobody", "--regid=nogroup"] + (
        ["--clear-groups"] if gid is None else ["--groups", str(gid)])


# ------------------------------------------------------------ expectations

def zero_drops():
    return {r: 0 for r in REASONS}


def expected_counters(model, inputs):
    """Per port and per (flow, direction) counters the frames must produce,
    from the forwarding model."""
    names = model.port_names
    ports = {n: {"rx_packets": 0, "rx_bytes": 0, "tx_packets": 0, "tx_bytes": 0,
                 "drops": zero_drops()} for n in names}
    flows = {}
    for fname, _ in model.flows:
        for p in range(2):
            flows[(fname, "%s->%s" % (names[p], names[1 - p]))] = {
                "packets": 0, "bytes": 0, "max_frame": 0, "drops": zero_drops()}
    for p in range(2):
        for fr in inputs[p]:
            v = model.verdict(p, fr)
            pc = ports[names[p]]
            pc["rx_packets"] += 1
            pc["rx_bytes"] += len(fr)
            if v.drop:
                pc["drops"][v.drop] += 1
                continue
            fc = flows[(v.flow, "%s->%s" % (names[p], names[1 - p]))]
            fc["packets"] += 1
            fc["bytes"] += len(fr)
            fc["max_frame"] = max(fc["max_frame"], len(fr))
            qc = ports[names[1 - p]]
            qc["tx_packets"] += 1
            qc["tx_bytes"] += len(v.frame)
    for c in list(ports.values()) + list(flows.values()):
        c["dropped"] = sum(c["drops"].values())
    return {"ports": ports, "flows": flows}


def combine(a, b, m):
    """m * a + b for counter sets (max_frame: max), for a pcap replayed m
    times plus a prefix."""
    def one(x, y):
        out = {}
        for k in x:
            if k == "drops":
                out[k] = {r: m * x[k][r] + y[k][r] for r in x[k]}
            elif k == "max_frame":
                out[k] = max(x[k] if m else 0, y[k])
            else:
                out[k] = m * x[k] + y[k]
        return out
    return {s: {k: one(a[s][k], b[s][k]) for k in a[s]} for s in ("ports", "flows")}


def with_reasons(exp, reasons):
    """exp with every drops object holding every reason (zeros added): the
    segment may name reasons besides the documented ones, all zero here."""
    out = {}
    for s_ in ("ports", "flows"):
        out[s_] = {}
        for k, c in exp[s_].items():
            c = dict(c)
            c["drops"] = dict({r: 0 for r in reasons}, **c["drops"])
            out[s_][k] = c
    return out


def count_errors(exp, doc):
    """Exact counters per port, reason, flow and direction."""
    return diff(with_reasons(exp, [r["name"] for r in doc["drop_reasons"]]), observed(doc))


def observed(doc):
    """The same structure, read from a --json document."""
    ports, flows = {}, {}
    for p in doc["ports"]:
        ports[p["name"]] = {k: p[k] for k in ("rx_packets", "rx_bytes", "tx_packets",
                                              "tx_bytes", "dropped")}
        ports[p["name"]]["drops"] = dict(p["drops"])
    for f in doc["flows"]:
        for d in f["directions"]:
            flows[(f["name"], d["direction"])] = {
                k: d[k] for k in ("packets", "bytes", "max_frame", "dropped")}
            flows[(f["name"], d["direction"])]["drops"] = dict(d["drops"])
    return {"ports": ports, "flows": flows}


def diff(exp, got, what="", extra_ok=False):
    """Readable differences of two nested dicts; extra_ok: keys only in got
    are fine."""
    out = []
    if isinstance(exp, dict) and isinstance(got, dict):
        for k in exp:
            if k not in got:
                out.append("%s%s missing" % (what, k))
            else:
                out += diff(exp[k], got[k], "%s%s." % (what, k if not isinstance(k, tuple)
                                                       else "/".join(k)), extra_ok)
        for k in got:
            if k not in exp and not extra_ok:
                out.append("%s%s unexpected" % (what, k))
    elif exp != got or type(exp) is not type(got):
        out.append("%s %r, expected %r" % (what.rstrip("."), got, exp))
    return out


def accounting(doc):
    """docs/stats.md accounting, from one document: rx = tx of the other port
    + dropped; forwarded per direction (flow packets - dropped) = tx."""
    errs = []
    ports = {p["name"]: p for p in doc["ports"]}
    names = [p["name"] for p in doc["ports"]]
    if len(names) != 2:
        return ["%d ports" % len(names)]
    for i, n in enumerate(names):
        o = names[1 - i]
        p = ports[n]
        # ICMP errors for oversize frames received on a port leave by that
        # port: they are in its tx_packets and icmp_sent (none here, but the
        # sum must still hold)
        fwd_o = ports[o]["tx_packets"] - ports[o].get("icmp_sent", 0)
        if p["rx_packets"] != fwd_o + p["dropped"]:
            errs.append("port %s rx_packets %d != frames forwarded out of %s %d + dropped %d" % (
                n, p["rx_packets"], o, fwd_o, p["dropped"]))
        if p["dropped"] != sum(p["drops"].values()):
            errs.append("port %s dropped %d != sum of drops %d" % (n, p["dropped"],
                                                                  sum(p["drops"].values())))
        fwd = sum(d["packets"] - d["dropped"] for f in doc["flows"] for d in f["directions"]
                  if d["ingress"] == n)
        if fwd != fwd_o:
            errs.append("flows forwarded %s->%s %d != frames forwarded out of %s %d" % (
                n, o, fwd, o, fwd_o))
    return errs


def walk_counters(doc):
    """(path, value) of every counter of a document."""
    for w in doc["workers"]:
        for k in ("heartbeat", "rx_packets", "busy_polls", "idle_polls", "busy_cycles",
                  "idle_cycles"):
            yield "workers[%d].%s" % (w["index"], k), w[k]
    for p in doc["ports"]:
        for k in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "dropped"):
            yield "ports.%s.%s" % (p["name"], k), p[k]
        for r, n in p["drops"].items():
            yield "ports.%s.drops.%s" % (p["name"], r), n
    for f in doc["flows"]:
        for d in f["directions"]:
            for k in ("packets", "bytes", "max_frame", "dropped"):
                yield "flows.%s.%s.%s" % (f["name"], d["direction"], k), d[k]
            for r, n in d["drops"].items():
                yield "flows.%s.%s.drops.%s" % (f["name"], d["direction"], r), n


def is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def schema_errors(doc, name, state, pid=None):
    """Shape of a --json document per docs/stats.md."""
    e = []
    if doc.get("schema") != SCHEMA:
        e.append("schema %r" % doc.get("schema"))
    for k in ("gateway", "workers", "ports", "flows", "drop_reasons"):
        if k not in doc:
            e.append("no %s" % k)
    if e:
        return e
    g = doc["gateway"]
    if not isinstance(g.get("version"), str) or not g.get("version"):
        e.append("gateway.version %r" % g.get("version"))
    if g.get("stats_name") != name:
        e.append("gateway.stats_name %r, expected %r" % (g.get("stats_name"), name))
    if not is_int(g.get("layout_version")) or g["layout_version"] < 1:
        e.append("gateway.layout_version %r" % g.get("layout_version"))
    if not is_int(g.get("pid")) or g["pid"] <= 0 or (pid is not None and g["pid"] != pid):
        e.append("gateway.pid %r, expected %s" % (g.get("pid"), pid))
    if g.get("state") != state:
        e.append("gateway.state %r, expected %r" % (g.get("state"), state))
    if not is_int(g.get("start_time")) or abs(g["start_time"] - time.time()) > 600:
        e.append("gateway.start_time %r is not the Unix time of a recent start"
                 % g.get("start_time"))
    if state == "stopped":
        if not is_int(g.get("stop_time")) or not is_int(g.get("start_time")) or \
                not g["start_time"] <= g["stop_time"] <= time.time() + 1:
            e.append("gateway.stop_time %r (start %r)" % (g.get("stop_time"), g.get("start_time")))
    elif g.get("stop_time", 0) is not None:
        e.append("gateway.stop_time %r while %s (null expected)" % (g.get("stop_time"), state))
    if not isinstance(g.get("uptime_seconds"), (int, float)) or g["uptime_seconds"] < 0 or \
            g["uptime_seconds"] > 600:
        e.append("gateway.uptime_seconds %r" % g.get("uptime_seconds"))
    if g.get("generation") != 1 or not is_int(g.get("generation")):
        e.append("gateway.generation %r, expected 1" % g.get("generation"))

    reasons = [r.get("name") for r in doc["drop_reasons"]]
    if not set(REASONS) <= set(reasons):
        e.append("drop_reasons %s lack %s" % (reasons, sorted(set(REASONS) - set(reasons))))
    for r in doc["drop_reasons"]:
        if not isinstance(r.get("help"), str) or not r.get("help"):
            e.append("drop_reasons %s: no help" % r.get("name"))

    if len(doc["workers"]) != 1:
        e.append("%d workers, expected 1 (-l 0-1)" % len(doc["workers"]))
    for w in doc["workers"]:
        for k in ("index", "lcore", "socket", "heartbeat", "rx_packets", "busy_polls",
                  "idle_polls", "busy_cycles", "idle_cycles"):
            if not is_int(w.get(k)) or w[k] < 0:
                e.append("workers[].%s %r" % (k, w.get(k)))
        if not isinstance(w.get("busy_percent"), (int, float)) or \
                not 0 <= w["busy_percent"] <= 100:
            e.append("workers[].busy_percent %r" % w.get("busy_percent"))

    def drops_ok(where, d):
        if not isinstance(d, dict) or set(d) != set(reasons):
            e.append("%s.drops keys %s, expected every reason %s" % (
                where, sorted(d) if isinstance(d, dict) else d, reasons))
        elif not all(is_int(v) for v in d.values()):
            e.append("%s.drops values %s" % (where, d))

    for p in doc["ports"]:
        where = "ports.%s" % p.get("name")
        for k in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "dropped", "max_frame"):
            if not is_int(p.get(k)):
                e.append("%s.%s %r" % (where, k, p.get(k)))
        if not isinstance(p.get("device"), str):
            e.append("%s.device %r" % (where, p.get("device")))
        link = p.get("link", {})
        if not isinstance(link.get("up"), bool) or not isinstance(link.get("full_duplex"), bool) \
                or not is_int(link.get("speed_mbps")) or not is_int(link.get("changes")):
            e.append("%s.link %r" % (where, link))
        drops_ok(where, p.get("drops"))
        if isinstance(p.get("drops"), dict) and p.get("dropped") != sum(p["drops"].values()):
            e.append("%s.dropped %r != sum of drops" % (where, p.get("dropped")))
    for f in doc["flows"]:
        where = "flows.%s" % f.get("name")
        if not is_int(f.get("slot")):
            e.append("%s.slot %r" % (where, f.get("slot")))
        if not isinstance(f.get("stacks"), dict):
            e.append("%s.stacks %r" % (where, f.get("stacks")))
        for d in f.get("directions", []):
            w2 = "%s.%s" % (where, d.get("direction"))
            if d.get("direction") != "%s->%s" % (d.get("ingress"), d.get("egress")):
                e.append("%s: direction/ingress/egress %r %r %r" % (
                    w2, d.get("direction"), d.get("ingress"), d.get("egress")))
            for k in ("packets", "bytes", "max_frame", "dropped"):
                if not is_int(d.get(k)):
                    e.append("%s.%s %r" % (w2, k, d.get(k)))
            drops_ok(w2, d.get("drops"))
            if isinstance(d.get("drops"), dict) and d.get("dropped") != sum(d["drops"].values()):
                e.append("%s.dropped %r != sum of drops" % (w2, d.get("dropped")))
    for path, v in walk_counters(doc):
        if not is_int(v) or v < 0:
            e.append("%s = %r is not a non-negative JSON integer" % (path, v))
    return e


# ------------------------------------------------------------- table parse

HEADER = re.compile(r"^qinqgw (\S+), pid (\d+), (\w+), (up|ran) (\S+), config generation (\d+), "
                    r"(\d+) workers? busy ([\d.]+)%$")
NUM = re.compile(r"^\d+(\.\d+)?$")
UNIT = re.compile(r"^([kMGTP]?)(B|b/s)?$")


def values(tokens):
    """Numbers of a table row: "23", "100 B", "12.3 kB", "3846.7 k", "3.1 Gb/s"
    -> (value, tolerance)."""
    out, i = [], 0
    while i < len(tokens):
        t = tokens[i]
        if not NUM.match(t):
            raise ValueError("not a number: %r in %r" % (t, tokens))
        mult, i = 1, i + 1
        if i < len(tokens) and not NUM.match(tokens[i]) and UNIT.match(tokens[i]):
            mult = 1000 ** ("_kMGTP".index(UNIT.match(tokens[i]).group(1) or "_"))
            i += 1
        out.append((float(t) * mult, 0 if mult == 1 and "." not in t else 0.051 * mult))
    return out


# column names of more than one word (the others are one word each)
MULTIWORD = ("RX PKTS", "RX BYTES", "TX PKTS", "TX BYTES", "MAX FRAME", "MSS CLAMP", "RX PPS",
             "RX BIT/S", "TX PPS", "TX BIT/S")
PORT_COLS = {"RX PKTS": "rx_packets", "RX BYTES": "rx_bytes", "TX PKTS": "tx_packets",
             "TX BYTES": "tx_bytes", "DROPPED": "dropped"}
FLOW_COLS = {"PKTS": "packets", "BYTES": "bytes", "MAX FRAME": "max_frame", "DROPPED": "dropped"}
PORT_RATES = ("RX PPS", "RX BIT/S", "TX PPS", "TX BIT/S")
FLOW_RATES = ("PPS", "BIT/S")


def columns(line, labels):
    """Names of the number columns of a section's column line, after its
    `labels` text columns."""
    for m in MULTIWORD:
        line = line.replace(m, m.replace(" ", "_"))
    return [c.replace("_", " ") for c in line.split()[labels:]]


def parse_table(text):
    """One table of qinqgw-stats: header fields, ports, drops, flows; rows
    of numbers as {column name: (value, tolerance)}."""
    lines = text.splitlines()
    t = {"header": None, "port_cols": [], "flow_cols": [], "ports": {}, "drops": {},
         "flows": {}, "none": False}
    m = HEADER.match(lines[0]) if lines else None
    if m is None:
        raise ValueError("header line %r" % (lines[0] if lines else ""))
    t["header"] = {"version": m.group(1), "pid": int(m.group(2)), "state": m.group(3),
                   "generation": int(m.group(6)), "workers": int(m.group(7))}
    if t["header"]["state"] == "starting":
        # the directory is not published yet (rows without names): nothing
        # to check beyond the header
        return t

    def row(cols, tokens, what):
        v = values(tokens)
        if len(v) != len(cols):
            raise ValueError("%s: %d numbers under %d columns %s" % (what, len(v), len(cols),
                                                                   cols))
        return dict(zip(cols, v))

    section = None
    for ln in lines[1:]:
        if not ln.strip():
            section = None
            continue
        w = ln.split()
        if w[0] in ("PORT", "DROPS", "FLOW") and section is None:
            section = w[0]
            if section == "PORT":
                t["port_cols"] = columns(ln, 3)
            elif section == "FLOW":
                t["flow_cols"] = columns(ln, 2)
            continue
        if section == "PORT":
            m = re.match(r"^(\S+)\s+(\S+)\s+(down|up \d+G|up)\s+(.*)$", ln)
            if m is None:
                raise ValueError("port row %r" % ln)
            t["ports"][m.group(1)] = {"device": m.group(2), "link": m.group(3),
                                      "values": row(t["port_cols"], m.group(4).split(), ln)}
        elif section == "DROPS":
            if w == ["(none)"]:
                t["none"] = True
            elif len(w) == 3:
                t["drops"][(w[0], w[1])] = int(w[2])
            else:
                raise ValueError("drop row %r" % ln)
        elif section == "FLOW":
            t["flows"][(w[0], w[1])] = row(t["flow_cols"], w[2:], ln)
        else:
            raise ValueError("line outside a section: %r" % ln)
    return t


def split_tables(text):
    """Successive tables of --watch output (each starts with its header)."""
    out, cur = [], []
    for ln in text.splitlines():
        if ln.startswith("qinqgw ") and cur:
            out.append("\n".join(cur))
            cur = []
        cur.append(ln)
    if cur:
        out.append("\n".join(cur))
    return out


def near(v, exp):
    return abs(v[0] - exp) <= v[1]


def table_errors(t, exp, doc, ports=None, flows=None):
    """A parsed table against expected counters; ports/flows: the names a
    filter lets through (None: all)."""
    e = []
    h = t["header"]
    g = doc["gateway"]
    if (h["pid"], h["state"], h["generation"], h["workers"]) != (
            g["pid"], g["state"], g["generation"], len(doc["workers"])):
        e.append("header %s, JSON says pid %s %s generation %s %d workers" % (
            h, g["pid"], g["state"], g["generation"], len(doc["workers"])))
    want_ports = [p for p in exp["ports"] if ports is None or p in ports]
    if sorted(t["ports"]) != sorted(want_ports):
        e.append("port rows %s, expected %s" % (sorted(t["ports"]), sorted(want_ports)))
    jp = {p["name"]: p for p in doc["ports"]}
    for n in want_ports:
        row = t["ports"].get(n)
        if row is None:
            continue
        x = exp["ports"][n]
        for col, c in PORT_COLS.items():
            v = row["values"].get(col)
            if v is None:
                e.append("port %s: no %s column" % (n, col))
            elif not near(v, x[c]):
                e.append("port %s %s shows %g, expected %d" % (n, col, v[0], x[c]))
        if row["device"] != CONFIG["ports"][n]["device"]:
            e.append("port %s device %r" % (n, row["device"]))
        want_link = "up %dG" % (jp[n]["link"]["speed_mbps"] // 1000) if jp[n]["link"]["up"] \
            else "down"
        if row["link"] != want_link:
            e.append("port %s link %r, expected %r" % (n, row["link"], want_link))
    want_drops = {(n, r): c for n in want_ports for r, c in exp["ports"][n]["drops"].items() if c}
    if t["drops"] != want_drops:
        e.append("drop rows %s, expected %s" % (t["drops"], want_drops))
    if t["none"] != (not want_drops):
        e.append("`(none)` shown: %s, drops expected: %s" % (t["none"], bool(want_drops)))
    want_flows = {k: v for k, v in exp["flows"].items()
                  if (flows is None or k[0] in flows) and
                  (ports is None or any(p in ports for p in k[1].split("->")))}
    if sorted(t["flows"]) != sorted(want_flows):
        e.append("flow rows %s, expected %s" % (sorted(t["flows"]), sorted(want_flows)))
    for k, x in want_flows.items():
        row = t["flows"].get(k)
        if row is None:
            continue
        for col, c in FLOW_COLS.items():
            v = row.get(col)
            if v is None:
                e.append("flow %s %s: no %s column" % (k[0], k[1], col))
            elif not near(v, x[c]):
                e.append("flow %s %s %s shows %g, expected %d" % (k[0], k[1], col, v[0], x[c]))
    return e


# ---------------------------------------------------------------- prometheus

PROM_LINE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$')
PROM_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?')


def parse_prom(text):
    """{(metric, ((label, value), ...sorted)): float}"""
    out = {}
    for ln in text.splitlines():
        if not ln or ln.startswith("#"):
            continue
        m = PROM_LINE.match(ln)
        if m is None:
            raise ValueError("sample line %r" % ln)
        labels = tuple(sorted(PROM_LABEL.findall(m.group(2) or "")))
        out[(m.group(1), labels)] = float(m.group(3))
    return out


def prom_expected(doc):
    """The samples docs/stats.md promises, from a --json document."""
    s = {}
    L = lambda **kw: tuple(sorted(kw.items()))  # noqa: E731
    s[("qinqgw_up", ())] = 1.0 if doc["gateway"]["state"] == "running" else 0.0
    s[("qinqgw_config_generation", ())] = float(doc["gateway"]["generation"])
    s[("qinqgw_info", L(version=doc["gateway"]["version"],
                        stats_name=doc["gateway"]["stats_name"]))] = 1.0
    for p in doc["ports"]:
        n = p["name"]
        for k in ("rx_packets", "rx_bytes", "tx_packets", "tx_bytes"):
            s[("qinqgw_port_%s_total" % k, L(port=n))] = float(p[k])
        for r, c in p["drops"].items():
            s[("qinqgw_port_drops_total", L(port=n, reason=r))] = float(c)
        s[("qinqgw_port_link_up", L(port=n))] = 1.0 if p["link"]["up"] else 0.0
        s[("qinqgw_port_link_speed_bytes", L(port=n))] = p["link"]["speed_mbps"] * 125000.0
        s[("qinqgw_port_link_changes_total", L(port=n))] = float(p["link"]["changes"])
    for f in doc["flows"]:
        for d in f["directions"]:
            lab = L(flow=f["name"], direction=d["direction"])
            s[("qinqgw_flow_packets_total", lab)] = float(d["packets"])
            s[("qinqgw_flow_bytes_total", lab)] = float(d["bytes"])
            s[("qinqgw_flow_max_frame_bytes", lab)] = float(d["max_frame"])
            for r, c in d["drops"].items():
                s[("qinqgw_flow_drops_total", L(flow=f["name"], direction=d["direction"],
                                                reason=r))] = float(c)
    return s


def prom_errors(text, doc, exp=None):
    """Samples against the JSON document (exact for every counter that does
    not move), and against the expected counters when given."""
    e = []
    got = parse_prom(text)
    want = prom_expected(doc)
    for k, v in want.items():
        if k not in got:
            e.append("no sample %s%s" % (k[0], dict(k[1])))
        elif got[k] != v:
            e.append("%s%s = %g, JSON says %g" % (k[0], dict(k[1]), got[k], v))
    known = {k[0] for k in want}
    for k in got:
        if k[0] in known and k not in want:
            e.append("unexpected sample %s%s" % (k[0], dict(k[1])))
    for w in doc["workers"]:
        for metric, labels in (("qinqgw_worker_polls_total", {"state": "busy"}),
                               ("qinqgw_worker_polls_total", {"state": "idle"}),
                               ("qinqgw_worker_cycles_total", {"state": "busy"}),
                               ("qinqgw_worker_cycles_total", {"state": "idle"}),
                               ("qinqgw_worker_heartbeat", {})):
            k = (metric, tuple(sorted(dict(labels, worker=str(w["index"])).items())))
            if k not in got:
                e.append("no sample %s%s" % (metric, dict(k[1])))
    if ("qinqgw_start_time_seconds", ()) not in got or \
            abs(got[("qinqgw_start_time_seconds", ())] - doc["gateway"]["start_time"]) > 1:
        e.append("qinqgw_start_time_seconds %r, JSON start_time %r" % (
            got.get(("qinqgw_start_time_seconds", ())), doc["gateway"]["start_time"]))
    if exp is not None:
        for n, pc in exp["ports"].items():
            k = ("qinqgw_port_rx_packets_total", (("port", n),))
            if got.get(k) != pc["rx_packets"]:
                e.append("%s%s = %r, %d frames were sent" % (k[0], dict(k[1]), got.get(k),
                                                            pc["rx_packets"]))
            for r, c in pc["drops"].items():
                k = ("qinqgw_port_drops_total", (("port", n), ("reason", r)))
                if got.get(k) != c:
                    e.append("%s%s = %r, expected %d" % (k[0], dict(k[1]), got.get(k), c))
    return e


def promtool_errors(text):
    pt = shutil.which("promtool") or ("/usr/bin/promtool" if os.path.exists("/usr/bin/promtool")
                                      else None)
    if pt is None:
        return "promtool is not installed (Debian package prometheus; test/setup.sh installs it)"
    r = subprocess.run([pt, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=30)
    if r.returncode != 0:
        return "promtool check metrics exit %d: %s" % (r.returncode,
                                                        (r.stdout + r.stderr).strip()[:1500])
    return None


# --------------------------------------------------------------- gateways

def pid_of_prefix(prefix):
    """pid of the process started with --file-prefix prefix."""
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cl = f.read().split(b"\0")
        except OSError:
            continue
        if b"--file-prefix" in cl:
            i = cl.index(b"--file-prefix")
            if i + 1 < len(cl) and cl[i + 1] == prefix.encode():
                return int(d)
    return None


def start_gateway(qinqgw, workdir, tag_, cfg, stats_name, rx=(None, None), infinite=False,
                  extra=(), vdevs=True):
    """Start qinqgw ourselves (for the cases run_gateway does not fit).
    Returns (Popen, prefix, stdout path, stderr path)."""
    prefix = "%s_%s" % (TAG, tag_)
    CLEAN.rundirs.add(prefix)
    cfg_path = os.path.join(workdir, "%s.json" % tag_)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    cmd = [qinqgw, "-l", "0-1", "--no-huge", "--no-pci", "-m", "512", "--file-prefix", prefix,
           "--log-level=pmd.net.pcap:warning"]
    if vdevs:
        for p, dev in enumerate(("net_pcap0", "net_pcap1")):
            cmd += ["--vdev", "%s,rx_pcap=%s,tx_pcap=/dev/null%s" % (
                dev, rx[p], ",infinite_rx=1" if infinite else "")]
    cmd += ["--", "--config", cfg_path, "--stats-name", stats_name,
            "--ctl-socket", "/tmp/%s.sock" % stats_name] + list(extra)
    out, err = (os.path.join(workdir, "%s.%s" % (tag_, s)) for s in ("stdout", "stderr"))
    proc = subprocess.Popen(cmd, stdout=open(out, "w"), stderr=open(err, "w"),
                            stdin=subprocess.DEVNULL)
    CLEAN.procs.append(proc)
    return proc, prefix, out, err


def stop_gateway(proc, timeout=20):
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            return None
    return proc.returncode


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def wait_for(pred, timeout, step=0.05):
    """pred() until it returns something true, or None after timeout."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            return None
        time.sleep(step)


# ------------------------------------------------------------ traffic

def traffic(cfg, counts, seed):
    """Frames per port: counts[port] = {flow name or "drop:reason": n},
    shuffled; every frame checked against the model's verdict."""
    model = Model(cfg)
    names = model.port_names
    fm = FrameMaker(seed)
    rng = random.Random(seed)
    flows = {f["name"]: f for f in cfg["flows"]}
    inputs = [[], []]
    for p in range(2):
        used = {int(t["tpid"], 16) for f in cfg["flows"] for t in f[names[p]]}
        unknown_tpid = sorted(used)[0] if used else 0x8100
        for want, n in counts[p].items():
            for i in range(n):
                if want in flows:
                    st = flows[want][names[p]]
                    lo = 14 + 4 * len(st)
                    size = (lo, 1518, 60)[i] if i < 3 else rng.randrange(60, 1519)
                    fr = fm.frame([tag(int(t["tpid"], 16), t["vid"], rng.randrange(8),
                                       rng.randrange(2)) for t in st], size)
                elif want == "drop:no_flow":
                    fr = fm.frame([tag(unknown_tpid, 4000 + i)] if i % 3 else [],
                                  rng.randrange(60, 1519))
                elif want == "drop:runt":
                    fr = fm.payload((1, 6, 12, 13)[i % 4])
                elif want == "drop:bad_tag":
                    fr = (fm.raw(struct.pack("!H", 0x8100)),
                          fm.raw(struct.pack("!HH", 0x88A8, 0x0064)),
                          fm.raw(tag(unknown_tpid, 5) + struct.pack("!H", 0x88A8) + b"\x00"),
                          fm.raw(tag(0x88A8, 5) + tag(0x8100, 6) + struct.pack("!H", 0x9100))
                          )[i % 4]
                else:
                    raise ValueError(want)
                v = model.verdict(p, fr)
                got = "drop:" + v.drop if v.drop else v.flow
                if got != want:
                    raise AssertionError("test data: frame for %s on %s is %s by the model"
                                         % (want, names[p], got))
                inputs[p].append(fr)
        rng.shuffle(inputs[p])
    return model, inputs


# ------------------------------------------------------------ the test

class StatsTest:
    def __init__(self, args):
        self.qinqgw = os.path.abspath(args.qinqgw)
        self.hammer = os.path.abspath(args.hammer)
        self.stats_path = os.path.join(os.path.dirname(self.qinqgw), "qinqgw-stats")
        self.stats = Stats(self.stats_path)
        self.r = Checker()
        self.work = tempfile.mkdtemp(prefix="qgwst_")
        CLEAN.dirs.add(self.work)
        self.group = "qgwst%d" % os.getpid()
        self.gid = None
        self.a = {}   # what run A saw: name, pid, doc, ...

    def check(self, name, fn, *a):
        return self.r.guard(name, fn, *a)

    # ------------------------------------------------ without a gateway

    def static_cases(self):
        def beside():
            if not os.access(self.stats_path, os.X_OK):
                return "%s is not an executable" % self.stats_path
            ldd = subprocess.run(["ldd", self.stats_path], capture_output=True, text=True)
            if "librte_" in ldd.stdout:
                return "links DPDK: %s" % [ln.strip() for ln in ldd.stdout.splitlines()
                                          if "librte_" in ln][:3]
            return None
        self.check("qinqgw-stats sits beside qinqgw and links no DPDK library", beside)
        self.check("promtool is installed", lambda: None if (
            shutil.which("promtool") or os.path.exists("/usr/bin/promtool")) else
            "promtool missing: apt-get install prometheus (test/setup.sh does)")

        def helps():
            r = self.stats.run("--help")
            if r.returncode != 0 or "Usage: qinqgw-stats" not in r.stdout:
                return "exit %d, stdout %r" % (r.returncode, r.stdout[:200])
            return None
        self.check("--help: exit 0 and usage", helps)

        missing = "%s_nosuch" % TAG
        for args in (["--bogus"], ["--json", "--prometheus"], ["--json", "--watch", "1"],
                     ["--prometheus", "--watch", "1"], ["--watch", "0"], ["--watch", "abc"],
                     ["--watch", "-1"], ["--watch"], ["--count", "3"],
                     ["--watch", "1", "--count", "0"], ["--watch", "1", "--count", "x"],
                     ["--stats-name"], ["--flow"], ["extra-argument"]):
            def usage(args=args):
                r = self.stats.run(*(["--stats-name", missing] + args))
                if r.returncode != EXIT_USAGE:
                    return "exit %d, expected %d; stderr %r" % (r.returncode, EXIT_USAGE,
                                                                 r.stderr.strip()[:300])
                if not r.stderr.startswith("qinqgw-stats: ") or r.stdout:
                    return "stderr %r, stdout %r: want a `qinqgw-stats: ` message on stderr " \
                           "only" % (r.stderr[:200], r.stdout[:200])
                return None
            self.check("usage error %s: exit 2 with a message" % " ".join(args), usage)

        def no_segment():
            CLEAN.shm.add(missing)
            r = self.stats.run("--json", name=missing)
            if r.returncode != EXIT_NO_SEGMENT:
                return "exit %d, expected 1; stderr %r" % (r.returncode, r.stderr)
            if "no stats segment" not in r.stderr or missing not in r.stderr or r.stdout:
                return "message %r (stdout %r)" % (r.stderr.strip(), r.stdout[:100])
            return None
        self.check("no segment: exit 1, message names it", no_segment)

        # hand-made segments
        fake = "%s_fake" % TAG
        CLEAN.shm.add(fake)
        cases = [
            ("magic QINQGWST, layout version 99", SHM_MAGIC + struct.pack("<II", 99, 192)
             + bytes(4096 - 16), "layout version"),
            ("4096 bytes of garbage", random.Random(7).randbytes(4096), "not a qinqgw stats"),
            ("empty file", b"", "not a qinqgw stats"),
            ("12 bytes: the magic and half a header", SHM_MAGIC + b"\x01\x00\x00\x00",
             "not a qinqgw stats"),
        ]
        for title, data, msg in cases:
            self.check("fake segment, %s: exit 4 with a message" % title, self.fake_case,
                       fake, data, msg)

    def fake_case(self, name, data, msg, want=EXIT_LAYOUT):
        path = "/dev/shm/" + name
        with open(path, "wb") as f:
            f.write(data)
        os.chmod(path, 0o640)
        try:
            r = self.stats.run("--json", name=name)
        finally:
            os.unlink(path)
        if r.returncode != want:
            return "exit %d, expected %d; stderr %r" % (r.returncode, want, r.stderr.strip())
        if want != EXIT_OK and (msg not in r.stderr or r.stdout):
            return "stderr %r lacks %r (stdout %r)" % (r.stderr.strip(), msg, r.stdout[:100])
        return None

    # ------------------------------------------------------ run A

    def run_a(self):
        r = subprocess.run(["groupadd", self.group], capture_output=True, text=True)
        CLEAN.groups.add(self.group)
        if r.returncode != 0:
            self.r.check("groupadd %s" % self.group, False, r.stderr.strip())
            return
        self.gid = grp.getgrnam(self.group).gr_gid
        counts = [
            {F_TOKYO: 23, F_OSAKA: 17, "drop:no_flow": 5, "drop:runt": 3, "drop:bad_tag": 4},
            {F_TOKYO: 19, F_OSAKA: 11, "drop:no_flow": 7, "drop:runt": 2, "drop:bad_tag": 6},
        ]
        model, inputs = traffic(CONFIG, counts, 101)
        self.a["exp"] = expected_counters(model, inputs)
        self.a["ran"] = False
        t0 = time.time()
        res = qgwtest.run_gateway(self.qinqgw, CONFIG, inputs, keep_stats=True,
                                  extra_args=["--stats-group", self.group],
                                  while_running=self.while_a)
        name = res.stats_name
        CLEAN.shm.add(name)
        self.a["name"] = name
        self.r.check("run A: gateway ran and stopped with exit 0", res.ok(), res.error or "")
        if not self.a["ran"]:
            self.r.check("run A: checks while running", False,
                         "never reached: %s" % (res.error or "?"))
            return
        self.after_a(name, t0)

    def poll_exact(self, name, exp, timeout=5.0):
        """--json until the counters equal exp (counters of the last frames
        may land a moment after the NIC counted them), else the last doc."""
        end = time.monotonic() + timeout
        while True:
            doc = self.stats.json(name)
            if not count_errors(exp, doc) or time.monotonic() > end:
                return doc
            time.sleep(0.05)

    def while_a(self, res):
        self.a["ran"] = True
        name, exp = res.stats_name, self.a["exp"]
        pid = pid_of_prefix(name)
        self.a["pid"] = pid
        doc = self.poll_exact(name, exp)
        self.a["doc_running"] = doc
        pre = "run A running: "
        self.check(pre + "JSON schema, state running, stop_time null, pid of the gateway",
                   schema_errors, doc, name, "running", pid)
        self.check(pre + "JSON totals per port, drop reason, flow and direction are exact",
                   lambda: count_errors(exp, doc))
        self.check(pre + "accounting: rx = tx of the other port + dropped; flows = tx",
                   accounting, doc)
        self.check(pre + "flow stacks, slots and port devices as configured", self.config_errors,
                   doc)
        self.check(pre + "worker counters present, heartbeat and idle polls grow",
                   self.worker_growth, name, doc)
        self.check(pre + "table shows ports, drops and flows with the right numbers",
                   self.table_case, name, exp, doc, [], None, None)
        self.check(pre + "--flow %s: JSON has only that flow" % F_TOKYO,
                   self.filter_json, name, exp, F_TOKYO, None)
        self.check(pre + "--port %s: JSON has only that port" % P1,
                   self.filter_json, name, exp, None, P1)
        self.check(pre + "--flow %s --port %s: JSON" % (F_OSAKA, P0),
                   self.filter_json, name, exp, F_OSAKA, P0)
        self.check(pre + "--flow %s: table has only that flow" % F_OSAKA,
                   self.table_case, name, exp, doc, ["--flow", F_OSAKA], None, [F_OSAKA])
        self.check(pre + "--port %s: table has only that port and its drops" % P1,
                   self.table_case, name, exp, doc, ["--port", P1], [P1], None)
        self.check(pre + "--flow %s (no traffic): zeros" % F_IDLE,
                   self.table_case, name, exp, doc, ["--flow", F_IDLE], None, [F_IDLE])
        for args, bad in ((["--flow", "nosuch"], "nosuch"), (["--port", "nosuch"], "nosuch"),
                          (["--json", "--flow", F_TOKYO, "--port", "ccx"], "ccx"),
                          (["--prometheus", "--flow", "twcc"], "twcc")):
            self.check(pre + "%s: exit 5 with a message" % " ".join(args), self.no_match,
                       name, args, bad)
        self.check(pre + "--watch 0.2 --count 3: 3 tables, rates in the 2nd and 3rd",
                   self.watch_case, name, exp, doc)
        self.check(pre + "--prometheus: promtool check metrics accepts it",
                   lambda: promtool_errors(self.stats.run("--prometheus", name=name).stdout))
        self.check(pre + "--prometheus: values equal the JSON ones and the frames sent",
                   self.prom_case, name, exp, [])
        self.check(pre + "--prometheus --port %s: promtool accepts, only that port" % P0,
                   self.prom_case, name, exp, ["--port", P0])
        self.check(pre + "segment mode 0640, owner root, group %s (--stats-group)" % self.group,
                   self.mode_case, name, self.gid)
        self.check(pre + "nobody outside the group: exit 3, permission message",
                   self.perm_denied, name)
        self.check(pre + "nobody in the group (--groups GID): exit 0, same counters",
                   self.perm_group, name, exp)
        self.check(pre + "nobody in the group cannot open the segment for writing",
                   self.perm_nowrite, name)
        self.check(pre + "telemetry /qinqgw/* return the JSON numbers", self.telemetry_case,
                   name, doc)
        self.check(pre + "dpdk-telemetry.py -f PREFIX shows the /qinqgw commands",
                   self.telemetry_py_case, name, doc)
        self.check(pre + "second gateway with the same --stats-name: exit 1, message names "
                   "the pid, first untouched", self.second_gateway, name, pid, exp)

    def config_errors(self, doc):
        e = []
        flows = {f["name"]: f for f in doc["flows"]}
        if sorted(flows) != sorted(f["name"] for f in CONFIG["flows"]):
            e.append("flows %s" % sorted(flows))
        for f in CONFIG["flows"]:
            j = flows.get(f["name"])
            if j is None:
                continue
            want = {P0: stack_text(f[P0]), P1: stack_text(f[P1])}
            if j["stacks"] != want:
                e.append("%s stacks %s, expected %s" % (f["name"], j["stacks"], want))
            dirs = [d["direction"] for d in j["directions"]]
            if sorted(dirs) != sorted(["%s->%s" % (P0, P1), "%s->%s" % (P1, P0)]):
                e.append("%s directions %s" % (f["name"], dirs))
        if len({f["slot"] for f in doc["flows"]}) != len(doc["flows"]):
            e.append("slots not unique: %s" % [f["slot"] for f in doc["flows"]])
        for p in doc["ports"]:
            c = CONFIG["ports"].get(p["name"])
            if c is None or p["device"] != c["device"] or p["max_frame"] != c["max_frame"]:
                e.append("port %s device %s max_frame %s" % (p["name"], p["device"],
                                                              p["max_frame"]))
            if not p["link"]["up"]:
                e.append("port %s link down" % p["name"])
        if [p["name"] for p in doc["ports"]] != [P0, P1]:
            e.append("ports %s" % [p["name"] for p in doc["ports"]])
        return e

    def worker_growth(self, name, doc):
        e = []
        time.sleep(0.3)
        doc2 = self.stats.json(name)
        w1, w2 = doc["workers"][0], doc2["workers"][0]
        total_rx = sum(p["rx_packets"] for p in doc["ports"])
        if w1["rx_packets"] != total_rx:
            e.append("worker rx_packets %d, ports received %d" % (w1["rx_packets"], total_rx))
        if not w1["busy_polls"] > 0 or not w1["busy_cycles"] > 0:
            e.append("busy polls/cycles %d/%d after traffic" % (w1["busy_polls"],
                                                                w1["busy_cycles"]))
        if not w2["heartbeat"] > w1["heartbeat"]:
            e.append("heartbeat %d then %d 0.3 s later" % (w1["heartbeat"], w2["heartbeat"]))
        if not w2["idle_polls"] > w1["idle_polls"] or not w2["idle_cycles"] > w1["idle_cycles"]:
            e.append("idle polls %d -> %d, cycles %d -> %d" % (
                w1["idle_polls"], w2["idle_polls"], w1["idle_cycles"], w2["idle_cycles"]))
        if w2["busy_polls"] != w1["busy_polls"]:
            e.append("busy polls moved %d -> %d without traffic" % (w1["busy_polls"],
                                                                    w2["busy_polls"]))
        if w1["lcore"] != 1:
            e.append("worker lcore %d, expected 1 (-l 0-1)" % w1["lcore"])
        return e

    def table_case(self, name, exp, doc, args, ports, flows):
        r = self.stats.run(*args, name=name)
        if r.returncode != 0:
            return "exit %d: %s" % (r.returncode, r.stderr.strip())
        t = parse_table(r.stdout)
        if "RX PPS" in r.stdout:
            return "rate columns in a one-shot table"
        e = table_errors(t, exp, doc, ports, flows)
        return e + ["output:\n" + r.stdout] if e else None

    def filter_json(self, name, exp, flow, port):
        args = (["--flow", flow] if flow else []) + (["--port", port] if port else [])
        d = self.stats.json(name, *args)
        e = []
        pn = [p["name"] for p in d["ports"]]
        fn = [f["name"] for f in d["flows"]]
        want_p = [port] if port else [P0, P1]
        want_f = [flow] if flow else [f["name"] for f in CONFIG["flows"]]
        if pn != want_p:
            e.append("ports %s, expected %s" % (pn, want_p))
        if sorted(fn) != sorted(want_f):
            e.append("flows %s, expected %s" % (fn, want_f))
        want = {"ports": {k: v for k, v in exp["ports"].items() if k in want_p},
                "flows": {k: v for k, v in exp["flows"].items() if k[0] in want_f}}
        e += count_errors(want, d)
        return e

    def no_match(self, name, args, bad):
        r = self.stats.run(*args, name=name)
        if r.returncode != EXIT_NO_MATCH:
            return "exit %d, expected 5; stderr %r" % (r.returncode, r.stderr.strip())
        if bad not in r.stderr or r.stdout:
            return "stderr %r does not name %r (stdout %r)" % (r.stderr.strip(), bad,
                                                                r.stdout[:100])
        return None

    def watch_case(self, name, exp, doc):
        t0 = time.monotonic()
        r = self.stats.run("--watch", "0.2", "--count", "3", name=name)
        dt = time.monotonic() - t0
        if r.returncode != 0:
            return "exit %d: %s" % (r.returncode, r.stderr.strip())
        if "\033[" in r.stdout:
            return "terminal escapes in output to a pipe"
        tabs = split_tables(r.stdout)
        e = []
        if len(tabs) != 3:
            return "%d tables, expected 3:\n%s" % (len(tabs), r.stdout)
        if dt < 0.35:
            e.append("3 tables 0.2 s apart took only %.2f s" % dt)
        for i, text in enumerate(tabs):
            t = parse_table(text)
            for cols, want in ((t["port_cols"], PORT_RATES), (t["flow_cols"], FLOW_RATES)):
                have = [c for c in want if c in cols]
                if have != (list(want) if i else []):
                    e.append("table %d: rate columns %s, expected %s" % (
                        i + 1, have, list(want) if i else "none"))
            for n, row in t["ports"].items():
                moving = {c: v[0] for c, v in row["values"].items() if c in PORT_RATES and v[0]}
                if moving:
                    e.append("table %d port %s: rates %s without traffic" % (i + 1, n, moving))
            e += ["table %d: %s" % (i + 1, x) for x in table_errors(t, exp, doc)]
        return e

    def prom_case(self, name, exp, args):
        r = self.stats.run("--prometheus", *args, name=name)
        if r.returncode != 0:
            return "exit %d: %s" % (r.returncode, r.stderr.strip())
        e = []
        pt = promtool_errors(r.stdout)
        if pt:
            e.append(pt)
        doc = self.stats.json(name, *args)
        e += prom_errors(r.stdout, doc, None if args else exp)
        if args:
            port = args[1]
            other = [k for k in parse_prom(r.stdout) if ("port", port) not in k[1] and
                     any(lab == "port" for lab, _ in k[1])]
            if other:
                e.append("samples of other ports: %s" % other[:3])
        return e

    def mode_case(self, name, gid):
        st = os.stat("/dev/shm/" + name)
        e = []
        if stat.S_IMODE(st.st_mode) != 0o640:
            e.append("mode %o, expected 640" % stat.S_IMODE(st.st_mode))
        if st.st_gid != gid:
            e.append("group %d, expected %d" % (st.st_gid, gid))
        if st.st_uid != os.getuid():
            e.append("owner %d, expected the gateway's user %d" % (st.st_uid, os.getuid()))
        return e

    def perm_denied(self, name):
        r = self.stats.run("--json", name=name, user=as_nobody())
        if r.returncode != EXIT_PERM:
            return "exit %d, expected 3; stderr %r" % (r.returncode, r.stderr.strip())
        if "permission denied" not in r.stderr.lower() or r.stdout:
            return "message %r (stdout %r)" % (r.stderr.strip(), r.stdout[:100])
        return None

    def perm_group(self, name, exp):
        r = self.stats.run("--json", name=name, user=as_nobody(self.gid))
        if r.returncode != 0:
            return "exit %d: %s" % (r.returncode, r.stderr.strip())
        e = count_errors(exp, json.loads(r.stdout))
        r = self.stats.run(name=name, user=as_nobody(self.gid))
        if r.returncode != 0 or P0 not in r.stdout:
            e.append("table: exit %d %r" % (r.returncode, r.stderr.strip()))
        return e

    def perm_nowrite(self, name):
        code = ("import os,sys\n"
                "try:\n os.open(sys.argv[1], os.O_RDWR)\nexcept PermissionError:\n sys.exit(7)\n"
                "sys.exit(0)\n")
        r = subprocess.run(as_nobody(self.gid) + [PY, "-c", code, "/dev/shm/" + name],
                           capture_output=True, text=True)
        if r.returncode != 7:
            return "open O_RDWR as a group member: exit %d (0 = it could write) %s" % (
                r.returncode, r.stderr.strip())
        return None

    def telemetry_case(self, name, doc):
        tel = qgwtest.Telemetry(os.path.join("/var/run/dpdk", name, "dpdk_telemetry.v2"))
        e = []
        try:
            e += self.telemetry_errors(lambda c: tel.cmd(c), doc)
            bad = tel.cmd("/qinqgw/port,nosuch")
            if bad.get("/qinqgw/port"):
                e.append("/qinqgw/port,nosuch answered %s" % bad)
            bad = tel.cmd("/qinqgw/flow,nosuch")
            if bad.get("/qinqgw/flow"):
                e.append("/qinqgw/flow,nosuch answered %s" % bad)
        finally:
            tel.close()
        return e

    @staticmethod
    def key(s):
        return re.sub(r"[^A-Za-z0-9_]", "_", s)

    def telemetry_errors(self, cmd, doc):
        """cmd(command) -> reply dict; compare with the JSON document."""
        e = []
        g = doc["gateway"]
        info = cmd("/qinqgw/info").get("/qinqgw/info") or {}
        want = {"version": g["version"], "state": g["state"], "pid": g["pid"],
                "generation": g["generation"], "workers": len(doc["workers"]),
                "flows": len(doc["flows"])}
        for k, v in want.items():
            if info.get(k) != v:
                e.append("/qinqgw/info %s %r, expected %r" % (k, info.get(k), v))
        if "uptime_seconds" not in info:
            e.append("/qinqgw/info has no uptime_seconds: %s" % info)
        ports = cmd("/qinqgw/ports").get("/qinqgw/ports")
        if ports != [p["name"] for p in doc["ports"]]:
            e.append("/qinqgw/ports %r" % ports)
        for p in doc["ports"]:
            c = "/qinqgw/port,%s" % p["name"]
            got = cmd(c).get("/qinqgw/port") or {}
            want = {"name": p["name"], "device": p["device"], "max_frame": p["max_frame"],
                    "link_up": int(p["link"]["up"]), "link_speed_mbps": p["link"]["speed_mbps"],
                    "link_changes": p["link"]["changes"], "rx_packets": p["rx_packets"],
                    "rx_bytes": p["rx_bytes"], "tx_packets": p["tx_packets"],
                    "tx_bytes": p["tx_bytes"], "dropped": p["dropped"]}
            want.update({"drop_" + r: n for r, n in p["drops"].items()})
            e += ["%s: %s" % (c, x) for x in diff(want, got, extra_ok=True)]
        flows = cmd("/qinqgw/flows").get("/qinqgw/flows")
        if sorted(flows or []) != sorted(f["name"] for f in doc["flows"]):
            e.append("/qinqgw/flows %r" % flows)
        for f in doc["flows"]:
            c = "/qinqgw/flow,%s" % f["name"]
            got = cmd(c).get("/qinqgw/flow") or {}
            want = {"name": f["name"], "slot": f["slot"]}
            for pn, s in f["stacks"].items():
                want[self.key(pn) + "_stack"] = s
            for d in f["directions"]:
                k = "%s_to_%s_" % (self.key(d["ingress"]), self.key(d["egress"]))
                for x in ("packets", "bytes", "max_frame", "dropped"):
                    want[k + x] = d[x]
                want.update({k + "drop_" + r: n for r, n in d["drops"].items()})
            e += ["%s: %s" % (c, x) for x in diff(want, got, extra_ok=True)]
        wk = cmd("/qinqgw/workers").get("/qinqgw/workers") or {}
        for w in doc["workers"]:
            k = "worker%d_" % w["index"]
            if wk.get(k + "lcore") != w["lcore"]:
                e.append("/qinqgw/workers %slcore %r" % (k, wk.get(k + "lcore")))
            for x in ("heartbeat", "idle_polls", "idle_cycles", "busy_polls", "busy_cycles"):
                v = wk.get(k + x)
                if not is_int(v) or v < w[x]:
                    e.append("/qinqgw/workers %s%s %r, JSON read before it %r" % (k, x, v, w[x]))
            if wk.get(k + "busy_polls") != w["busy_polls"]:
                e.append("/qinqgw/workers %sbusy_polls %r, JSON %r (no traffic since)" % (
                    k, wk.get(k + "busy_polls"), w["busy_polls"]))
        return e

    def telemetry_py_case(self, name, doc):
        cmds = ["/qinqgw/info", "/qinqgw/ports"] + ["/qinqgw/port,%s" % p["name"]
                                                    for p in doc["ports"]] + \
            ["/qinqgw/flows"] + ["/qinqgw/flow,%s" % f["name"] for f in doc["flows"]] + \
            ["/qinqgw/workers"]
        r = subprocess.run([PY, TELEMETRY_PY, "-f", name], input="\n".join(cmds) + "\n",
                           capture_output=True, text=True, timeout=30)
        if r.returncode != 0:
            return "exit %d: %s" % (r.returncode, r.stderr.strip()[-500:])
        replies = [json.loads(ln) for ln in r.stdout.splitlines() if ln.startswith("{")]
        if len(replies) != len(cmds):
            return "%d replies to %d commands:\n%s" % (len(replies), len(cmds), r.stdout[:2000])
        by_cmd = dict(zip(cmds, replies))
        return self.telemetry_errors(lambda c: by_cmd[c], doc)

    def second_gateway(self, name, pid, exp):
        ino = os.stat("/dev/shm/" + name).st_ino
        empty = os.path.join(self.work, "empty.pcap")
        qgwtest.write_pcap(empty, [])
        proc, prefix, out, err = start_gateway(self.qinqgw, self.work, "dup", CONFIG, name,
                                               rx=(empty, empty))
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            stop_gateway(proc)
            return "still running 20 s after start (not refused)"
        msg = read(out) + read(err)
        e = []
        if rc != 1:
            e.append("exit %d, expected 1" % rc)
        if pid is None or ("pid %d" % pid) not in msg or name not in msg:
            e.append("message does not name pid %s and %s:\n%s" % (pid, name, msg.strip()[-600:]))
        if os.stat("/dev/shm/" + name).st_ino != ino:
            e.append("the running gateway's segment was replaced")
        doc = self.stats.json(name)
        if doc["gateway"]["pid"] != pid or doc["gateway"]["state"] != "running":
            e.append("segment now says pid %s %s" % (doc["gateway"]["pid"],
                                                     doc["gateway"]["state"]))
        e += count_errors(exp, doc)
        shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)
        return e

    # ----------------------------------------------- after run A stopped

    def after_a(self, name, t0):
        exp, pid = self.a["exp"], self.a.get("pid")
        pre = "run A stopped: "
        if not os.path.exists("/dev/shm/" + name):
            self.r.check(pre + "segment kept in /dev/shm", False, "gone")
            return
        doc = self.stats.json(name)
        self.a["doc_stopped"] = doc
        self.check(pre + "JSON state stopped, stop_time set, same pid, schema",
                   schema_errors, doc, name, "stopped", pid)
        self.check(pre + "JSON totals per port, reason, flow and direction are exact",
                   lambda: count_errors(exp, doc))
        self.check(pre + "accounting: rx = tx of the other port + dropped; flows = tx",
                   accounting, doc)

        def frozen():
            time.sleep(0.2)
            d2 = self.stats.json(name)
            e = []
            if d2["gateway"]["uptime_seconds"] != doc["gateway"]["uptime_seconds"]:
                e.append("uptime_seconds %r then %r after stop" % (
                    doc["gateway"]["uptime_seconds"], d2["gateway"]["uptime_seconds"]))
            run = self.a.get("doc_running")
            if run and doc["gateway"]["start_time"] != run["gateway"]["start_time"]:
                e.append("start_time changed at stop")
            if not t0 - 1 <= doc["gateway"]["start_time"] <= doc["gateway"]["stop_time"] \
                    <= time.time() + 1:
                e.append("start %s stop %s, run began %d" % (
                    doc["gateway"]["start_time"], doc["gateway"]["stop_time"], t0))
            return e
        self.check(pre + "times: start before stop, uptime frozen", frozen)
        self.check(pre + "table says stopped and shows the final counters",
                   self.table_case, name, exp, doc, [], None, None)
        self.check(pre + "--prometheus: promtool accepts it, qinqgw_up 0, same values",
                   self.prom_case, name, exp, [])
        self.check(pre + "segment still mode 0640, group %s" % self.group, self.mode_case, name,
                   self.gid)
        self.check(pre + "nobody outside the group: exit 3", self.perm_denied, name)
        self.check(pre + "nobody in the group: exit 0, same counters", self.perm_group, name,
                   exp)

        # damaged copies of the real segment
        with open("/dev/shm/" + name, "rb") as f:
            real = f.read()
        fake = "%s_copy" % TAG
        CLEAN.shm.add(fake)

        lay = {}

        def layout():
            # test data: find the header fields the damaged copies change.
            # magic, version, header_size and size open the header in every
            # layout; pid, uid, nb_ports, nb_workers follow each other, and so
            # do the offsets ports_off (= header_size), drops_off, workers_off,
            # flows_off, counters_off (qgw_shm.h).
            v, hsz, size = struct.unpack_from("<IIQ", real, 8)
            if real[:8] != SHM_MAGIC or size != len(real) or not 64 <= hsz <= 4096:
                return "not a segment header: magic %r version %d header_size %d size %d/%d" % (
                    real[:8], v, hsz, size, len(real))
            if v != doc["gateway"]["layout_version"]:
                return "header version %d, JSON layout_version %r" % (
                    v, doc["gateway"]["layout_version"])
            lay["pid"] = next((i for i in range(24, hsz - 16, 4)
                               if struct.unpack_from("<IIII", real, i) == (pid, os.geteuid(), 2,
                                                                           1)), None)
            lay["ports"] = next((i for i in range(24, hsz - 40, 8)
                                 if struct.unpack_from("<Q", real, i)[0] == hsz), None)
            if lay["pid"] is None or lay["ports"] is None:
                return "pid/nb_ports/nb_workers or ports_off not found in the header"
            offs = struct.unpack_from("<5Q", real, lay["ports"])
            if list(offs) != sorted(offs) or offs[-1] >= len(real):
                return "offsets %s after ports_off are not increasing" % (offs,)
            return self.fake_case(fake, real, "", EXIT_OK)
        if self.check("copy of the stopped segment reads fine (test data check)", layout):
            def put(data, off, fmt, val):
                return data[:off] + struct.pack(fmt, val) + data[off + struct.calcsize(fmt):]
            flows_off, counters_off = lay["ports"] + 24, lay["ports"] + 32
            for title, data, msg in (
                    ("layout version 99", put(real, 8, "<I", 99), "layout version"),
                    ("flows_off at the end", put(real, flows_off, "<Q", len(real)),
                     "not a qinqgw stats"),
                    ("counters_off 2^62", put(real, counters_off, "<Q", 1 << 62),
                     "not a qinqgw stats"),
                    ("truncated by 4 KiB", real[:-4096], "not a qinqgw stats"),
                    ("nb_workers 4000", put(real, lay["pid"] + 12, "<I", 4000),
                     "not a qinqgw stats")):
                self.check("damaged segment, %s: exit 4 with a message" % title, self.fake_case,
                           fake, data, msg)

    # ------------------------------------------------------ run B

    def run_b(self):
        name = self.a.get("name")
        pre = "run B (restart, same name): "
        if not name or not os.path.exists("/dev/shm/" + name):
            self.r.check(pre + "needs run A's stopped segment", False, "no segment")
            return
        old = self.stats.json(name)
        old_pid = old["gateway"]["pid"]
        watch_out = os.path.join(self.work, "watch.out")
        watch = subprocess.Popen([self.stats_path, "--stats-name", name, "--watch", "0.2",
                                  "--count", "100"], stdout=open(watch_out, "w"),
                                 stderr=subprocess.PIPE, text=True)
        CLEAN.procs.append(watch)
        time.sleep(0.3)
        counts = [{F_TOKYO: 3, "drop:runt": 1}, {F_OSAKA: 2, "drop:no_flow": 2}]
        model, inputs = traffic(CONFIG, counts, 202)
        exp = expected_counters(model, inputs)
        seen = {}

        def wr(res):
            seen["pid"] = pid = pid_of_prefix(res.stats_name)
            doc = self.poll_exact(name, exp)
            seen["doc"] = doc
            self.check(pre + "segment shows the new pid, running, since after the old stop",
                       lambda: schema_errors(doc, name, "running", pid) + (
                           ["same pid as before"] if pid == old_pid else []) + (
                           ["start_time %d before the old stop %d" % (
                               doc["gateway"]["start_time"], old["gateway"]["stop_time"])]
                           if doc["gateway"]["start_time"] < old["gateway"]["stop_time"] else []))
            self.check(pre + "fresh counters: exactly this run's frames",
                       lambda: count_errors(exp, doc))

            def follows():
                txt = wait_for(lambda: (lambda t: t if "pid %d, running" % pid in t else None)(
                    read(watch_out)), 5)
                watch.send_signal(signal.SIGINT)
                try:
                    rc = watch.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    watch.kill()
                    return "--watch did not stop on SIGINT"
                if txt is None:
                    return "--watch never showed pid %d running:\n%s" % (
                        pid, read(watch_out)[-1500:])
                hs = [parse_table(t)["header"] for t in split_tables(read(watch_out))]
                e = []
                if rc != 0:
                    e.append("--watch exit %d after SIGINT" % rc)
                if (hs[0]["pid"], hs[0]["state"]) != (old_pid, "stopped"):
                    e.append("first table %s, expected the old pid, stopped" % hs[0])
                if (hs[-1]["pid"], hs[-1]["state"]) != (pid, "running"):
                    e.append("last table %s, expected pid %d running" % (hs[-1], pid))
                return e
            self.check(pre + "a --watch reader on the old segment follows to the new one",
                       follows)

        res = qgwtest.run_gateway(self.qinqgw, CONFIG, inputs, while_running=wr,
                                  extra_args=["--stats-name", name])
        self.r.check(pre + "gateway started on the stopped segment's name and stopped with "
                     "exit 0", res.ok(), res.error or "")
        if "doc" not in seen:
            self.r.check(pre + "checks while running", False, "never reached")
            return
        doc = self.stats.json(name)
        self.check(pre + "after stop: stopped, new pid, this run's counters",
                   lambda: schema_errors(doc, name, "stopped", seen["pid"]) +
                   count_errors(exp, doc))
        self.check(pre + "without --stats-group: mode 0640, the gateway's group",
                   self.mode_case, name, os.getgid())

    # ------------------------------------------------------ run K

    def run_k(self):
        pre = "run K (SIGKILL): "
        name = "%s_k" % TAG
        CLEAN.shm.add(name)
        empty = os.path.join(self.work, "empty.pcap")
        qgwtest.write_pcap(empty, [])
        proc, prefix, out, err = start_gateway(self.qinqgw, self.work, "k", CONFIG, name,
                                               rx=(empty, empty))
        ok = wait_for(lambda: self.stats.run("--json", name=name).stdout.count(
            '"state": "running"'), 15)
        if not ok:
            stop_gateway(proc)
            self.r.check(pre + "gateway reaches running", False, read(err)[-800:])
            return
        proc.kill()
        proc.wait()
        shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)
        seen = {}

        def wr(res):
            pid = seen["pid"] = pid_of_prefix(res.stats_name)
            # the new segment appears after EAL init: until then, the old one
            seen["doc"] = wait_for(lambda: (lambda d: d if d["gateway"]["pid"] == pid else None)(
                self.stats.json(name)), 10) or self.stats.json(name)
        res = qgwtest.run_gateway(self.qinqgw, CONFIG, [[], []], while_running=wr,
                                  extra_args=["--stats-name", name])
        self.check(pre + "the next start with the same name is not refused; segment shows it",
                   lambda: [x for x in (
                       None if res.ok() else res.error,
                       None if "doc" in seen and seen["doc"]["gateway"]["pid"] == seen["pid"]
                       and seen["pid"] != proc.pid else
                       "segment pid %s, gateway %s, killed %d" % (
                           seen.get("doc", {}).get("gateway", {}).get("pid"), seen.get("pid"),
                           proc.pid)) if x])

    # ------------------------------------------------------ run H

    def run_h(self):
        pre = "run H (endless traffic): "
        name = "%s_h" % TAG
        CLEAN.shm.add(name)
        counts = [{F_TOKYO: 40, F_OSAKA: 9, "drop:no_flow": 5, "drop:runt": 2, "drop:bad_tag": 3},
                  {F_TOKYO: 21, F_OSAKA: 30, "drop:no_flow": 4, "drop:runt": 3,
                   "drop:bad_tag": 1}]
        model, inputs = traffic(CONFIG, counts, 303)
        rx = []
        for p in range(2):
            rx.append(os.path.join(self.work, "endless%d.pcap" % p))
            qgwtest.write_pcap(rx[p], inputs[p])
        proc, prefix, out, err = start_gateway(self.qinqgw, self.work, "h", CONFIG, name, rx=rx,
                                               infinite=True)

        def moving():
            r = self.stats.run("--json", name=name)
            if r.returncode != 0:
                return None
            d = json.loads(r.stdout)
            return d if d["gateway"]["state"] == "running" and \
                all(p["rx_packets"] > 0 for p in d["ports"]) else None
        try:
            first = wait_for(moving, 20, 0.1)
            if first is None:
                self.r.check(pre + "traffic flows", False, "rx did not move in 20 s; exit %s; "
                             "stderr %s" % (proc.poll(), read(err)[-800:]))
                return
            self.check(pre + "stats_hammer for 3 s: no torn or decreasing counter, rx grows",
                       self.hammer_case, name)
            self.check(pre + "successive --json reads never go backwards, heartbeat grows",
                       self.monotonic_case, name)
            self.check(pre + "--watch 0.3 --count 2: nonzero rates in the 2nd table",
                       self.watch_rates, name)
        finally:
            rc = stop_gateway(proc)
            shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)
        self.r.check(pre + "gateway stops on SIGINT with exit 0", rc == 0,
                     "exit %s; stderr %s" % (rc, read(err)[-800:]))

        def final():
            doc = self.stats.json(name)
            e = schema_errors(doc, name, "stopped", proc.pid) + accounting(doc)
            # infinite_rx replays each pcap in order: after n frames on a
            # port, n // N full rounds plus its first n % N frames
            got = observed(doc)
            want = None
            for p in range(2):
                n = got["ports"][model.port_names[p]]["rx_packets"]
                if n < 100000:
                    e.append("only %d frames received on %s" % (n, model.port_names[p]))
                full = [inputs[p] if q == p else [] for q in range(2)]
                head = [inputs[p][:n % len(inputs[p])] if q == p else [] for q in range(2)]
                one = combine(expected_counters(model, full), expected_counters(model, head),
                              n // len(inputs[p]))
                want = one if want is None else combine(want, one, 1)
            e += count_errors(want, doc)
            return e
        self.check(pre + "after stop: counters are exactly those of the frames replayed "
                   "(per port, reason, flow, direction)", final)

    def hammer_case(self, name):
        r = subprocess.run([self.hammer, name, "3"], capture_output=True, text=True, timeout=30)
        m = re.search(r"reads (\d+) violations (\d+) rx_first (\d+) rx_last (\d+)", r.stdout)
        if m is None:
            return "exit %d, output %r %r" % (r.returncode, r.stdout, r.stderr)
        reads, viol, a, b = map(int, m.groups())
        e = []
        if r.returncode != 0:
            e.append("exit %d" % r.returncode)
        if viol:
            e.append("%d violations: %s" % (viol, r.stderr.strip()[:800]))
        if not b > a:
            e.append("rx did not grow: %d -> %d" % (a, b))
        if reads < 100:
            e.append("only %d reads in 3 s" % reads)
        print("# hammer: %s" % r.stdout.strip())
        return e

    def monotonic_case(self, name):
        docs = []
        for _ in range(5):
            docs.append(self.stats.json(name))
            time.sleep(0.1)
        e = []
        for a, b in zip(docs, docs[1:]):
            va, vb = dict(walk_counters(a)), dict(walk_counters(b))
            for k, x in va.items():
                if vb.get(k, -1) < x:
                    e.append("%s went %d -> %s" % (k, x, vb.get(k)))
            if not sum(p["rx_packets"] for p in b["ports"]) > \
                    sum(p["rx_packets"] for p in a["ports"]):
                e.append("rx did not grow between reads")
            if not b["workers"][0]["heartbeat"] > a["workers"][0]["heartbeat"]:
                e.append("heartbeat %d -> %d" % (a["workers"][0]["heartbeat"],
                                                 b["workers"][0]["heartbeat"]))
        w = docs[-1]["workers"][0]
        if w["busy_percent"] < 50:
            e.append("busy_percent %.1f under endless traffic" % w["busy_percent"])
        return e[:10]

    def watch_rates(self, name):
        r = self.stats.run("--watch", "0.3", "--count", "2", name=name)
        if r.returncode != 0:
            return "exit %d: %s" % (r.returncode, r.stderr.strip())
        tabs = [parse_table(t) for t in split_tables(r.stdout)]
        if len(tabs) != 2:
            return "%d tables" % len(tabs)
        e = []
        for n, row in tabs[1]["ports"].items():
            rates = [row["values"].get(c, (0, 0))[0] for c in PORT_RATES]
            if not all(rates):
                e.append("port %s rates %s = %s" % (n, PORT_RATES, rates))
        if not any(v.get("PPS", (0, 0))[0] > 0 for v in tabs[1]["flows"].values()):
            e.append("no flow with a nonzero PPS: %s" % tabs[1]["flows"])
        return e + (["output:\n" + r.stdout] if e else [])

    # ------------------------------------------------------ bad group

    def bad_group(self):
        name = "%s_g" % TAG
        CLEAN.shm.add(name)
        bad = "%s_nogroup" % TAG
        proc, prefix, out, err = start_gateway(self.qinqgw, self.work, "g", CONFIG, name,
                                               extra=["--stats-group", bad], vdevs=False)

        def case():
            try:
                rc = proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                stop_gateway(proc)
                return "still running after 20 s"
            msg = read(out) + read(err)
            e = []
            if rc != 1:
                e.append("exit %d" % rc)
            if bad not in msg:
                e.append("message does not name the group: %s" % msg.strip()[-400:])
            if os.path.exists("/dev/shm/" + name):
                e.append("a segment was created")
            return e
        self.check("--stats-group that does not exist: exit 1, message names it", case)
        shutil.rmtree(os.path.join("/var/run/dpdk", prefix), ignore_errors=True)

    def main(self):
        t0 = time.monotonic()
        for step in (self.static_cases, self.run_a, self.run_b, self.run_k, self.run_h,
                     self.bad_group):
            try:
                step()
            except Exception:  # noqa: BLE001 - report and go on with the next run
                self.r.check("%s completes" % step.__name__, False, traceback.format_exc())
        print("# %.1f s" % (time.monotonic() - t0))
        return self.r.finish()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qinqgw", required=True, help="path of the qinqgw binary")
    ap.add_argument("--hammer", required=True, help="path of the stats_hammer binary")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("FAIL setup: needs root (DPDK vdevs, groupadd, setpriv)")
        print("0 passed, 1 failed")
        return 1

    def on_term(sig, frame):
        raise SystemExit("terminated by signal %d" % sig)
    signal.signal(signal.SIGTERM, on_term)
    try:
        return StatsTest(args).main()
    finally:
        CLEAN.run()


if __name__ == "__main__":
    sys.exit(main())
