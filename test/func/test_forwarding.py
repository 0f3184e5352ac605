"""Functional test of forwarding: the real qinqgw on two net_pcap vdevs.

Three gateway runs, each with traffic in both directions at once:
  A  port cust has a catch-all, core has none: 1:1, 1:2, 2:1, 2:2, push and
     pop of two tags, PCP/DEI kept or set, most-specific match, frame sizes
     up to 9000 bytes, padding, no_flow on core, runt and bad_tag on both,
     and a shuffled mixed burst.
  B  core has the catch-all, cust none: pop and push of one tag, `pcp: 0`,
     no_flow on cust, more TPID combinations.
  C  a run without any drop (the report says `drop (none)`), every
     configured pcp 0..7 and a catch-all pushing a tag with a pcp.

Each run's input frames are shuffled, so flows, sizes and drops interleave
within bursts. Every expectation comes from qgwtest.Model (the spec); every
observation from the tx pcap files and the exit report. A failing case
prints the input frame, the expected and the received bytes.

Not covered here: several workers (the machine has 2 cores), tx_full,
unparsable and no_headroom (net_pcap cannot provoke them), tags truncated
below the third one.

Usage: /usr/bin/python3 test/func/test_forwarding.py --qinqgw PATH
"""
import argparse
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qgwtest  # noqa: E402
from qgwtest import Case, FrameMaker, tag  # noqa: E402

PAYLOAD_TYPES = (0x0800, 0x86DD, 0x0806, 0x88CC)
# 2047..2049: around the data room of one mbuf, where frames start to span two
SIZES = (33, 59, 60, 61, 64, 65, 128, 1500, 1514, 1518, 1522, 2047, 2048, 2049, 4000, 8192,
         9000)


def T(tpid, vid, pcp=None):
    t = {"tpid": "0x%04x" % tpid, "vid": vid}
    if pcp is not None:
        t["pcp"] = pcp
    return t


def config(flows, max_frame=9216, names=("cust", "core")):
    return {
        "version": 1,
        "ports": {
            names[0]: {"device": "net_pcap0", "max_frame": max_frame},
            names[1]: {"device": "net_pcap1", "max_frame": max_frame},
        },
        # tag translation only: no TCP MSS clamping of the random payloads
        "flows": [dict([("name", n), (names[0], a), (names[1], b), ("mss_clamp", False)])
                  for n, a, b in flows],
    }


CONFIG_A = config([
    ("a_1to1", [T(0x8100, 100)], [T(0x88A8, 200)]),
    ("a_spec2", [T(0x8100, 100), T(0x8100, 7)], [T(0x88A8, 200), T(0x8100, 7)]),
    ("a_1to2", [T(0x9100, 101)], [T(0x88A8, 201), T(0x8100, 21)]),
    ("a_2to1", [T(0x88A8, 102), T(0x8100, 12)], [T(0x9200, 202)]),
    ("a_2to2", [T(0x9300, 103), T(0x9100, 13)], [T(0x88A8, 203), T(0x8100, 23)]),
    ("a_pcp", [T(0x8100, 105)], [T(0x88A8, 205, pcp=5), T(0x8100, 25)]),
    ("a_pcp2", [T(0x9200, 106), T(0x9100, 16, pcp=6)], [T(0x88A8, 206), T(0x9200, 26)]),
    ("a_push", [], [T(0x88A8, 400), T(0x8100, 40)]),
])

CONFIG_B = config([
    ("b_pop1", [T(0x9100, 150)], []),
    ("b_1to1", [T(0x88A8, 151, pcp=3)], [T(0x8100, 251, pcp=0)]),
    ("b_2to2", [T(0x9200, 152), T(0x9300, 52)], [T(0x9300, 252), T(0x9200, 52, pcp=7)]),
    ("b_2to1", [T(0x88A8, 153), T(0x9200, 53)], [T(0x88A8, 253)]),
    ("b_1to2", [T(0x9300, 154)], [T(0x9100, 254), T(0x9200, 54)]),
])

# no drop at all; every configured pcp value 0..7 on both egress tags, and
# a catch-all pushing a tag with a configured pcp
CONFIG_C = config(
    [("c_pcp%d" % n, [T(0x88A8, 30 + n)], [T(0x8100, 40 + n, pcp=n), T(0x9100, 50 + n, pcp=7 - n)])
     for n in range(8)] + [("c_push", [], [T(0x88A8, 60, pcp=1)])],
    names=("left", "right"))


def stack_text(stack):
    if not stack:
        return "[]"
    return "[" + " ".join("%s/%d%s" % (t["tpid"][2:], t["vid"],
                                       "/pcp%d" % t["pcp"] if "pcp" in t else "")
                          for t in stack) + "]"


def kind(a, b):
    if not a:
        return "push %d" % len(b)
    if not b:
        return "pop %d" % len(a)
    return "%d:%d" % (len(a), len(b))


class Builder:
    """Frames for the cases of one config."""

    def __init__(self, cfg, seed):
        self.cfg = cfg
        self.names = list(cfg["ports"])
        self.fm = FrameMaker(seed)
        self.rng = random.Random(seed + 1000)
        self.cases = []

    def case(self, port, name, want):
        c = Case("%s->%s %s" % (self.names[port], self.names[1 - port], name), port, want)
        self.cases.append(c)
        return c

    def tags_of(self, stack, pcps=None):
        """Tags matching a stack, with random PCP/DEI unless pcps gives (pcp, dei)."""
        out = []
        for i, t in enumerate(stack):
            pcp, dei = pcps[i] if pcps else (self.rng.randrange(8), self.rng.randrange(2))
            out.append(tag(int(t["tpid"], 16), t["vid"], pcp, dei))
        return out

    def frame(self, tags, length, ethertype=None):
        et = ethertype if ethertype is not None else self.rng.choice(PAYLOAD_TYPES)
        return self.fm.frame(tags, max(length, 14 + 4 * len(tags)), et)

    def flow_cases(self, flow):
        """For each direction of a flow: sizes and PCP/DEI combinations."""
        for p in range(2):
            a, b = flow[self.names[p]], flow[self.names[1 - p]]
            title = "%s %s %s->%s" % (flow["name"], kind(a, b), stack_text(a), stack_text(b))
            lo = 14 + 4 * len(a)
            c = self.case(p, "%s: sizes %d..9000" % (title, lo), flow["name"])
            for n in (lo,) + SIZES:
                c.add(self.frame(self.tags_of(a), n))
            if a:
                c = self.case(p, "%s: PCP 0..7 x DEI 0/1 of every tag" % title, flow["name"])
                for pcp in range(8):
                    for dei in range(2):
                        pcps = [(pcp, dei), ((7 - pcp), 1 - dei)][:len(a)]
                        c.add(self.frame(self.tags_of(a, pcps), self.rng.randrange(60, 200)))

    def runts_and_bad_tags(self):
        fm = self.fm
        for p in range(2):
            c = self.case(p, "runt: 1, 6, 12 and 13 bytes", "drop:runt")
            for n in (1, 6, 12, 13):
                c.add(fm.payload(n))
            c = self.case(p, "bad_tag: truncated 1st, 2nd or 3rd tag (14..25 bytes)",
                          "drop:bad_tag")
            c.add(fm.raw(struct.pack("!H", 0x8100)))                       # 14: TPID only
            c.add(fm.raw(struct.pack("!HH", 0x88A8, 0x0064)))              # 16: tag, no EtherType
            c.add(fm.raw(struct.pack("!HH", 0x9100, 0x0065) + b"\x08"))    # 17
            c.add(fm.raw(tag(0x8100, 100) + struct.pack("!H", 0x88A8) + b"\x00"))  # 19
            c.add(fm.raw(tag(0x9300, 5) + struct.pack("!HH", 0x9200, 6) + b"\x08"))  # 21
            c.add(fm.raw(tag(0x88A8, 5) + tag(0x8100, 6) + struct.pack("!H", 0x88A8)
                         + b"\x00"))  # 23
            c.add(fm.raw(tag(0x9100, 7) + tag(0x9200, 8) + struct.pack("!HH", 0x9100, 9)
                         + b"\x08"))  # 25

    def mixed(self, count):
        """A shuffled mix of every flow, sizes 60..1522 and a few jumbos."""
        for p in range(2):
            c = self.case(p, "mixed burst of %d frames over all flows" % count, "*")
            flows = self.cfg["flows"]
            for _ in range(count):
                f = self.rng.choice(flows)
                n = self.rng.randrange(60, 1523) if self.rng.random() > 0.03 else \
                    self.rng.randrange(1523, 9001)
                c.add(self.frame(self.tags_of(f[self.names[p]]), n))

    def order(self):
        """Every port's frames, shuffled (seeded) so cases interleave."""
        order = [[], []]
        for c in self.cases:
            for fr in c.frames:
                order[c.port].append((c, fr))
        for p in range(2):
            self.rng.shuffle(order[p])
        return order


def build_a():
    b = Builder(CONFIG_A, 11)
    for f in CONFIG_A["flows"]:
        b.flow_cases(f)
    cust, core = 0, 1
    rnd = b.rng.randrange
    pt = lambda: (rnd(8), rnd(2))  # noqa: E731

    # most specific wins; PCP/DEI never take part in matching
    c = b.case(cust, "specific: [8100/100 8100/7] any PCP -> 2-tag flow", "a_spec2")
    for pcp in range(8):
        c.add(b.frame([tag(0x8100, 100, pcp, pcp & 1), tag(0x8100, 7, 7 - pcp, 1)], 64 + pcp))
    c = b.case(cust, "specific: [8100/100] + other inner tag -> 1-tag flow", "a_1to1")
    for inner in (tag(0x8100, 8), tag(0x88A8, 7), tag(0x9100, 7, 3), tag(0x8100, 4094)):
        c.add(b.frame([tag(0x8100, 100, *pt()), inner], rnd(60, 1500)))
    c = b.case(core, "specific: [88a8/200 8100/7] any PCP -> 2-tag flow", "a_spec2")
    for pcp in range(8):
        c.add(b.frame([tag(0x88A8, 200, pcp, 1), tag(0x8100, 7, pcp, 0)], 70 + pcp))
    c = b.case(core, "specific: [88a8/200] + other inner tag -> 1-tag flow", "a_1to1")
    for inner in (tag(0x8100, 8), tag(0x9200, 7), tag(0x88A8, 7, 5)):
        c.add(b.frame([tag(0x88A8, 200, *pt()), inner], rnd(60, 1500)))

    # tags below the matched stack are payload: untouched
    for st, fl in (([(0x9100, 101)], "a_1to2"), ([(0x88A8, 102), (0x8100, 12)], "a_2to1"),
                   ([(0x9300, 103), (0x9100, 13)], "a_2to2")):
        c = b.case(cust, "inner tags below the popped ones are untouched (%s)" % fl, fl)
        for extra in ((0x8100, 33), (0x88A8, 34), (0x9100, 35)):
            tags = [tag(t, v, *pt()) for t, v in st]
            tags += [tag(extra[0], extra[1], *pt()), tag(0x8100, 36, *pt())]
            c.add(b.frame(tags, rnd(60, 600)))
    c = b.case(core, "inner tags below the popped ones are untouched (a_push pop 2)", "a_push")
    for extra in ((0x8100, 33), (0x88A8, 34), (0x9300, 35)):
        c.add(b.frame([tag(0x88A8, 400, *pt()), tag(0x8100, 40, *pt()),
                       tag(extra[0], extra[1], *pt())], rnd(60, 600)))

    # the catch-all of cust takes what matches nothing else
    c = b.case(cust, "catch-all: untagged frames of 14..1522 bytes get [88a8/400 8100/40]",
               "a_push")
    for n in (14, 15, 45, 52, 53, 60, 1522):
        c.add(b.frame([], n))
    c.add(b.fm.frame([], 100, 0x9999))  # not a TPID: an EtherType
    c = b.case(cust, "catch-all: unknown VID, tag kept under the pushed ones", "a_push")
    for t in (tag(0x8100, 999, 5), tag(0x9100, 100, 1, 1), tag(0x9300, 13), tag(0x8100, 7)):
        c.add(b.frame([t], rnd(60, 1500)))
    c = b.case(cust, "catch-all: outer tag of a 2-tag flow, other inner tag", "a_push")
    for inner in (tag(0x8100, 99), tag(0x88A8, 12), tag(0x9100, 12)):
        c.add(b.frame([tag(0x88A8, 102, *pt()), inner], rnd(60, 1500)))
    # egress frames under 60 bytes are zero-padded
    for fl, st in (("a_2to1", [(0x88A8, 102), (0x8100, 12)]), ("a_pcp2", [(0x9200, 106),
                                                                       (0x9100, 16)])):
        cc = b.case(cust, "padding: %s frames of 22..64 bytes" % fl, fl)
        for n in (22, 23, 40, 59, 60, 61, 63, 64):
            cc.add(b.frame([tag(t, v, *pt()) for t, v in st], n))

    # core has no catch-all: everything that does not match is no_flow
    c = b.case(core, "no_flow: unknown VID", "drop:no_flow")
    for t in (tag(0x88A8, 999), tag(0x88A8, 4094), tag(0x8100, 21), tag(0x9200, 26),
              tag(0x88A8, 100)):
        c.add(b.frame([t], rnd(60, 1500)))
    c = b.case(core, "no_flow: outer tag of 2-tag flows only, other inner tag", "drop:no_flow")
    for outer, inner in ((tag(0x88A8, 201), tag(0x8100, 99)), (tag(0x88A8, 203), tag(0x9100, 23)),
                         (tag(0x88A8, 400), tag(0x8100, 41))):
        c.add(b.frame([outer, inner], rnd(60, 1500)))
    c.add(b.frame([tag(0x88A8, 201)], 64))
    c = b.case(core, "no_flow: TPID no flow of core uses (9100, 9300)", "drop:no_flow")
    for t in (tag(0x9100, 200), tag(0x9300, 203), tag(0x9100, 101), tag(0x9300, 400)):
        c.add(b.frame([t], rnd(60, 1500)))
    c = b.case(core, "no_flow: untagged", "drop:no_flow")
    for et in (0x0800, 0x86DD, 0x9999):
        c.add(b.fm.frame([], rnd(60, 1500), et))
    c.add(b.fm.frame([], 14, 0x0800))

    b.runts_and_bad_tags()
    b.mixed(1500)
    return b


def build_b():
    b = Builder(CONFIG_B, 22)
    for f in CONFIG_B["flows"]:
        b.flow_cases(f)
    cust, core = 0, 1
    rnd = b.rng.randrange
    pt = lambda: (rnd(8), rnd(2))  # noqa: E731

    c = b.case(core, "catch-all: untagged frames get [9100/150]", "b_pop1")
    for n in (14, 15, 55, 56, 57, 60, 1500, 9000):
        c.add(b.frame([], n))
    c = b.case(core, "catch-all: unknown VID, tag kept under the pushed one", "b_pop1")
    for t in (tag(0x88A8, 999, 7, 1), tag(0x8100, 252), tag(0x9300, 253, 2)):
        c.add(b.frame([t], rnd(60, 1500)))
    c = b.case(core, "catch-all: outer tag of a 2-tag flow, other inner tag", "b_pop1")
    for inner in (tag(0x9200, 99), tag(0x8100, 52)):
        c.add(b.frame([tag(0x9300, 252, *pt()), inner], rnd(60, 1500)))

    c = b.case(cust, "no_flow: unknown VID", "drop:no_flow")
    for t in (tag(0x9100, 999), tag(0x88A8, 152), tag(0x9300, 150), tag(0x9200, 153)):
        c.add(b.frame([t], rnd(60, 1500)))
    c = b.case(cust, "no_flow: outer tag of 2-tag flows only, other inner tag", "drop:no_flow")
    for outer, inner in ((tag(0x9200, 152), tag(0x9300, 99)), (tag(0x88A8, 153), tag(0x9200, 99)),
                         (tag(0x9200, 152), tag(0x9200, 52))):
        c.add(b.frame([outer, inner], rnd(60, 1500)))
    c = b.case(cust, "no_flow: TPID no flow of cust uses (8100)", "drop:no_flow")
    for t in (tag(0x8100, 150), tag(0x8100, 151), tag(0x8100, 154, 4)):
        c.add(b.frame([t], rnd(60, 1500)))
    c = b.case(cust, "no_flow: untagged", "drop:no_flow")
    for et in (0x0800, 0x86DD, 0x9999):
        c.add(b.fm.frame([], rnd(60, 1500), et))
    c.add(b.fm.frame([], 14, 0x0800))

    b.runts_and_bad_tags()
    b.mixed(500)
    return b


def build_c():
    b = Builder(CONFIG_C, 33)
    for f in CONFIG_C["flows"]:
        for p in range(2):
            a, o = f[b.names[p]], f[b.names[1 - p]]
            c = b.case(p, "%s %s %s->%s" % (f["name"], kind(a, o), stack_text(a),
                                            stack_text(o)), f["name"])
            for n in (14 + 4 * len(a), 60, 64, 512, 1518, 1522):
                for pcp in (0, 5):
                    c.add(b.frame(b.tags_of(a, [(pcp, pcp & 1)] * len(a)), n))
    return b


def self_test(results):
    """The model and the report parser on hand-made examples, so that a
    broken harness cannot make the gateway look right."""
    m = qgwtest.Model(CONFIG_A)
    macs = bytes(range(12))
    fr = macs + tag(0x8100, 100, 5, 1) + b"\x08\x00" + bytes(range(50))
    want = macs + tag(0x88A8, 200, 5, 1) + b"\x08\x00" + bytes(range(50))
    v = m.verdict(0, fr)
    ok = v.flow == "a_1to1" and v.out_port == 1 and v.frame == want
    fr = macs + tag(0x8100, 105, 3, 1) + b"\x08\x00" + bytes(20)
    want = macs + tag(0x88A8, 205, 5, 0) + tag(0x8100, 25, 0, 0) + b"\x08\x00" + bytes(20)
    want += bytes(60 - len(want))
    v = m.verdict(0, fr)
    ok = ok and v.frame == want and len(v.frame) == 60
    ok = ok and m.verdict(0, macs[:13]).drop == "runt"
    ok = ok and m.verdict(1, macs + b"\x88\xa8\x00\x01").drop == "bad_tag"
    ok = ok and m.verdict(1, macs + b"\x08\x00" + bytes(50)).drop == "no_flow"
    ok = ok and m.verdict(0, macs + b"\x08\x00" + bytes(50)).flow == "a_push"
    rep = qgwtest.Report("port cust  rx_pkts 3 rx_bytes 4 tx_pkts 5 tx_bytes 6 dropped 7\n"
                         "drop cust   no_flow   2\n"
                         "flow f1   cust->core   pkts 1 bytes 2 max_len 3 dropped 0\n")
    ok = ok and rep.ports["cust"]["dropped"] == 7 and rep.drops == {("cust", "no_flow"): 2} \
        and rep.flows[("f1", "cust->core")]["max_len"] == 3 and not rep.errors
    results.check("harness self-test (model and report parser)", ok, "the harness is broken")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qinqgw", required=True, help="path of the qinqgw binary")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds one run may take to receive its input (default 60)")
    args = ap.parse_args()
    qinqgw = os.path.abspath(args.qinqgw)

    results = qgwtest.Results()
    self_test(results)
    if not os.access(qinqgw, os.X_OK):
        results.check("qinqgw binary is executable", False, qinqgw)
        return results.finish()
    for title, build in (("A", build_a), ("B", build_b), ("C", build_c)):
        b = build()
        res = qgwtest.run_and_check(results, qinqgw, "run " + title, b.cfg, b.cases,
                                    order=b.order(), timeout=args.timeout)
        n = [sum(len(c.frames) for c in b.cases if c.port == p) for p in range(2)]
        print("# run %s: %d + %d frames, %.1f s" % (title, n[0], n[1], res.seconds))
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
