#!/usr/bin/python3
"""Functional test of hostile and malformed input: the real qinqgw on two
net_pcap vdevs, crafted pcap in, every output byte and counter checked.

Three gateway runs, frames shuffled (seeded) on both ports at once:
  L2   tag handling (ports cust and core, max_frame 9216, no MSS clamping):
       runts (< 14 bytes) and short frames (14..59 bytes, padded to 60),
       truncated tags (bad_tag, first three tags only), one tag where two
       are configured, three and more tags, unknown / byte-swapped /
       other-port TPIDs, VID 0 (priority tags) and 4095, VLAN-hopping
       double tags, broadcast and multicast, L2 control frames (STP, LLDP,
       LACP, marker, pause, EAPOL) and multi-segment jumbo frames.
  MTU  MTU, ICMP and MSS (ports a max_frame 1522, b max_frame 1518):
       the oversize boundary for 0..3 customer tags, jumbo frames over the
       port's limit (ICMP for IPv4 DF and IPv6, df_clear, oversize "drop",
       icmp_rate 0, the token bucket), packets that must not be answered,
       IPv4 options, MSS clamping (SYN, SYN-ACK, odd offset, customer
       tags, IPv4 options, IPv6 extension headers, fragments, malformed
       options), and TCP SYNs cut at every byte from the IP header to the
       end of the options.
  BADLEN IP length fields that disagree with the frame (config of MTU):
       oversize IPv4 with a total length under the header length (no ICMP:
       RFC 1812 5.2.2 invalid header; an error must quote the whole IP
       header, RFC 792) or over it (ICMP quoting what the header claims),
       IPv6 payload lengths 0..65535, and SYNs whose IP length ends inside
       the TCP header or options while the frame carries the rest as
       padding (left unchanged: the option is not part of the packet).
       Kept apart so that a failure here leaves the other runs' counters
       and output checks intact.

Expectations come from `Spec` (qgwtest.Model plus the MTU/ICMP/MSS rules of
docs/mtu.md), written from the docs; every case also states the outcome it
intends and the spec must agree (a test-data check). Observations come from
the tx pcaps, the exit report and `qinqgw-stats --json` on the stopped
segment. Checked per case (each frame left by the right port with the exact
bytes, or did not leave; ICMP errors checked byte by byte, with the fields
docs/mtu.md leaves open - TOS, IP ID, DF, TTL, IPv6 traffic class, flow
label and hop limit - taken from the frame received), per egress port (the
whole output in order: the forwarded frames of the other port interleaved
with the ICMP errors for frames of this port), per port (counters, drop
reasons, accounting rx = tx(other) - icmp_sent(other) + dropped), per flow
direction (counters, packets = forwarded + dropped, max_oversize,
icmp_suppressed, df_clear, mss_bad_options).

A tag header split across buffer segments cannot be produced here: net_pcap
copies a frame into one mbuf when it fits the data room (2048 bytes) and
otherwise fills the first mbuf completely before chaining the next, so the
first segment always holds at least 2048 bytes and every tag. The jumbo
cases only show that multi-segment frames are forwarded; the split-tag cases
(`unparsable`) are the unit test test/unit/test_datapath.c,
test_unparsable(). Also not asserted: frames with more than 4 customer tags
at the MTU boundary or carrying a SYN (the data path walks at most 4 inner
tags and then counts the rest as L3 bytes, a stricter check than
docs/config.md's "bytes after all VLAN tags"), and ICMP rate refill over
time (a run lasts well under a second).

Usage: /usr/bin/python3 test/func/test_hostile.py --qinqgw PATH
       [--qinqgw-stats PATH] [--only L2|MTU|BADLEN] [--timeout S]
Prints `ok NAME` / `FAIL NAME: why`, ends with `N passed, M failed`, exits 1
on any failure.
"""
import argparse
import functools
import json
import os
import random
import socket
import struct
import subprocess
import sys
import tempfile
import shutil

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import qgwtest  # noqa: E402
from qgwtest import FrameMaker, tag, describe, frame_diff  # noqa: E402

ETH_IPV4 = 0x0800
ETH_IPV6 = 0x86DD
ETH_ARP = 0x0806
TCP_SYN, TCP_ACK, TCP_FIN, TCP_PSH = 0x02, 0x10, 0x01, 0x08
ICMP4_MAX = 576
ICMP6_MAX = 1280
BIG = 1000000     # icmp_rate / icmp_burst where every ICMP error must be sent


# ------------------------------------------------------------ packet bytes

def A4(s):
    return socket.inet_aton(s)


def A6(s):
    return socket.inet_pton(socket.AF_INET6, s)


def csum(data):
    """Internet checksum (RFC 1071) of data."""
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, df=True, mf=False, frag=0, opts=b"", tot=None, ihl=None,
         ver=4, ttl=64, ident=0x4242):
    """An IPv4 packet with a correct header checksum; tot / ihl / ver override
    the fields (for malformed headers)."""
    hl = 20 + len(opts)
    h = struct.pack("!BBHHHBBH4s4s", ver << 4 | (hl // 4 if ihl is None else ihl), 0,
                    (hl + len(payload) if tot is None else tot) & 0xFFFF, ident,
                    (0x4000 if df else 0) | (0x2000 if mf else 0) | frag, ttl, proto, 0,
                    A4(src), A4(dst)) + opts
    return h[:10] + struct.pack("!H", csum(h)) + h[12:] + payload


def ipv6(src, dst, nh, payload, plen=None, ver=6):
    return struct.pack("!IHBB16s16s", ver << 28, len(payload) if plen is None else plen, nh, 64,
                       A6(src), A6(dst)) + payload


def v6_exts(kinds, last):
    """An extension header chain: kinds are 0 (hop-by-hop), 60 (destination
    options), 43 (routing, segments left 0) or ("frag", offset, more).
    Returns (first next-header value, bytes)."""
    out, nhs = b"", [k if isinstance(k, int) else 44 for k in kinds] + [last]
    for i, k in enumerate(kinds):
        nh = nhs[i + 1]
        if k in (0, 60):
            out += bytes([nh, 0, 1, 4, 0, 0, 0, 0])          # PadN of 4
        elif k == 43:
            out += bytes([nh, 0, 0, 0, 0, 0, 0, 0])          # type 0, segments left 0
        else:
            out += bytes([nh, 0]) + struct.pack("!HI", k[1] << 3 | k[2], 0x1234)
    return nhs[0], out


def tcp_seg(flags, opts=b"", payload=b"", doff=None, sport=40000, dport=22, seq=1000):
    opts += bytes(-len(opts) % 4)     # EOL padding to a 4-byte boundary
    hl = 20 + len(opts)
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, (hl // 4 if doff is None else doff) << 4,
                       flags, 64240, 0, 0) + opts + payload


def with_l4_csum(seg, pseudo, at):
    c = csum(pseudo + seg[:at] + b"\0\0" + seg[at + 2:])
    return seg[:at] + struct.pack("!H", c) + seg[at + 2:]


def pseudo4(src, dst, proto, n):
    return A4(src) + A4(dst) + struct.pack("!BBH", 0, proto, n)


def pseudo6(src, dst, proto, n):
    return A6(src) + A6(dst) + struct.pack("!IxxxB", n, proto)


def tcp4(src, dst, seg, **kw):
    return ipv4(src, dst, 6, with_l4_csum(seg, pseudo4(src, dst, 6, len(seg)), 16), **kw)


def tcp6(src, dst, seg, exts=()):
    nh, chain = v6_exts(list(exts), 6)
    return ipv6(src, dst, nh, chain + with_l4_csum(seg, pseudo6(src, dst, 6, len(seg)), 16))


def udp4(src, dst, n, **kw):
    """IPv4/UDP packet of n bytes in all."""
    body = bytes((i * 7) & 0xFF for i in range(n - 28))
    u = struct.pack("!HHHH", 5000, 6000, 8 + len(body), 0) + body
    return ipv4(src, dst, 17, with_l4_csum(u, pseudo4(src, dst, 17, len(u)), 6), **kw)


def udp6(src, dst, n, exts=()):
    nh, chain = v6_exts(list(exts), 17)
    body = bytes((i * 5) & 0xFF for i in range(n - 48 - len(chain)))
    u = struct.pack("!HHHH", 5000, 6000, 8 + len(body), 0) + body
    return ipv6(src, dst, nh, chain + with_l4_csum(u, pseudo6(src, dst, 17, len(u)), 6))


def icmp4(src, dst, typ, code, n, **kw):
    body = bytes(n - 28)
    m = bytes([typ, code, 0, 0, 0, 0, 0, 0]) + body
    m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    return ipv4(src, dst, 1, m, **kw)


def icmp6(src, dst, typ, n, exts=()):
    nh, chain = v6_exts(list(exts), 58)
    m = bytes([typ, 0, 0, 0, 0, 0, 0, 0]) + bytes(n - 48 - len(chain))
    return ipv6(src, dst, nh, chain + with_l4_csum(m, pseudo6(src, dst, 58, len(m)), 2))


def mss_opt(v):
    return struct.pack("!BBH", 2, 4, v)


def linux_opts(mss):
    """MSS, SACK permitted, timestamps, NOP, window scale: 20 bytes."""
    return mss_opt(mss) + b"\x04\x02\x08\x0a" + struct.pack("!II", 0x01020304, 0) + \
        b"\x01\x03\x03\x07"


def ipv4_opts(n):
    """n bytes (multiple of 4) of plausible IPv4 options ending with EOL padding."""
    o = b""
    if n >= 4:
        o += b"\x94\x04\x00\x00"                              # router alert
    while len(o) + 4 <= n and len(o) + 4 <= 12:
        o += b"\x01\x01\x01\x01"                              # NOPs
    rest = n - len(o)
    if rest >= 7:
        k = (rest - 3) // 4
        o += bytes([7, 3 + 4 * k, 4]) + bytes(4 * k)      # record route, k empty slots
    return (o + bytes(n))[:n]


# ------------------------------------------------------------- the spec

class Expect:
    """What the docs say happens to one input frame."""

    def __init__(self, port):
        self.port = port          # ingress port index
        self.drop = None          # drop reason name (oversize included), or None
        self.flow = None          # flow name, when a flow matched
        self.out_port = None
        self.frame = None         # forwarded bytes
        self.icmp = None          # ICMP error template (dict) sent back out of `port`
        self.outcome = None       # short name, compared with the case's intent
        self.ctr = dict(oversize=0, icmp_sent=0, icmp_suppressed=0, df_clear=0,
                        mss_clamped=0, mss_bad_options=0)

    def __repr__(self):
        return "%s%s" % (self.outcome, " (%s)" % self.flow if self.flow else "")


class Spec(qgwtest.Model):
    """qgwtest.Model (tag matching and rewrite, as in README/docs/config.md)
    with two corrections and the MTU rules:
      - `bad_tag` concerns only the first three tags (README drop table); a
        truncated fourth tag is payload;
      - the per-flow mtu, customer_tags, oversize, mss_clamp, icmp_rate and
        icmp_burst keys (docs/config.md, docs/mtu.md).
    Token buckets start full and, in a run shorter than a second, are not
    refilled for flows with icmp_rate <= 1 or icmp_burst >= the frames sent.
    """

    def __init__(self, config):
        super().__init__(config)
        self.max_frame = [config["ports"][p].get("max_frame", 1522) for p in self.port_names]
        self.fc = {}
        for f in config["flows"]:
            ct = f.get("customer_tags", 1)
            fit = min(self.max_frame[i] - (14 + 4 * (len(f[p]) + ct))
                      for i, p in enumerate(self.port_names))
            mtu = f.get("mtu", fit)
            mc = f.get("mss_clamp", True)
            if mc is True:
                mss4 = min(mtu - 40, 65495) if mtu >= 128 else 0
                mss6 = min(mtu - 60, 65495) if mtu >= 148 else 0
            elif mc is False:
                mss4 = mss6 = 0
            else:
                mss4 = mss6 = int(mc)
            self.fc[f["name"]] = dict(mtu=mtu, icmp=f.get("oversize", "icmp") == "icmp",
                                      mss4=mss4, mss6=mss6, rate=f.get("icmp_rate", 100),
                                      burst=f.get("icmp_burst", 10),
                                      pop=[4 * len(f[p]) for p in self.port_names])
        self.tokens = {}

    def is_tag(self, port, frame, off):
        return off + 2 <= len(frame) and \
            struct.unpack("!H", frame[off:off + 2])[0] in self.tag_tpids[port]

    def l2(self, port, frame):
        """(drop reason, None) or (None, qgwtest.Verdict) of tag handling."""
        n = len(frame)
        if n < 14:
            return "runt", None
        off = 12
        for _ in range(3):
            if not self.is_tag(port, frame, off):
                break
            if n < off + 6:
                return "bad_tag", None
            off += 4
        # Model.verdict also checks deeper tags: give it the frame with any
        # truncated 4th+ tag completed, then cut its output back.
        ext = frame + bytes(8)
        v = qgwtest.Model.verdict(self, port, ext)
        if v.drop:
            return v.drop, None
        v.frame = v.frame[:len(v.frame) - 8]
        if len(v.frame) < qgwtest.MIN_FRAME:
            v.frame += bytes(qgwtest.MIN_FRAME - len(v.frame))
        return None, v

    def l3(self, port, frame, off):
        """Offset of the L3 header behind every tag from `off` (the EtherType
        position after the popped tags), and its EtherType."""
        while self.is_tag(port, frame, off):
            off += 4
        if off + 2 > len(frame):
            return None, None
        return off + 2, struct.unpack("!H", frame[off:off + 2])[0]

    def allowed(self, name, port, frame_l2):
        """L3 bytes a frame with an L2 header of frame_l2 bytes may carry."""
        fc = self.fc[name]
        pop, push = fc["pop"][port], fc["pop"][1 - port]
        return min(fc["mtu"], self.max_frame[1 - port] - (frame_l2 - pop + push))

    def verdict(self, port, frame):
        e = Expect(port)
        drop, v = self.l2(port, frame)
        if drop:
            e.drop = e.outcome = drop
            return e
        name = e.flow = v.flow
        e.out_port = v.out_port
        fc = self.fc[name]
        pop = fc["pop"][port]
        l3off, et = self.l3(port, frame, 12 + pop)
        l2len = l3off if l3off else 14 + pop
        limit = self.allowed(name, port, l2len)
        if len(frame) - l2len > limit:
            e.drop = "oversize"
            e.ctr["oversize"] = 1
            e.outcome = self.oversize(e, name, port, frame, l3off, et, max(limit, 1))
            return e
        e.frame, e.outcome = v.frame, "fwd"
        if l3off:
            clamped, r = self.mss(fc, frame, l3off, et)
            if r == "clamp":
                e.ctr["mss_clamped"] = 1
                # the tags are rewritten as Model says; everything behind them
                # is the clamped frame's
                k = 12 + pop
                out_k = 12 + fc["pop"][1 - port]
                body = e.frame[out_k:out_k + len(frame) - k]
                assert body == frame[k:], "model rewrote more than the tags"
                e.frame = e.frame[:out_k] + clamped[k:] + e.frame[out_k + len(frame) - k:]
            elif r == "bad":
                e.ctr["mss_bad_options"] = 1
            e.outcome = {"clamp": "clamp", "bad": "badopt", "none": "fwd"}[r]
        return e

    # docs/mtu.md step 2
    def oversize(self, e, name, port, frame, l3off, et, limit):
        fc = self.fc[name]
        ip = frame[l3off:] if l3off else b""
        if not fc["icmp"] or not l3off:
            return "nosend"
        if et == ETH_IPV4:
            if len(ip) < 20 or ip[0] >> 4 != 4:
                return "nosend"
            ihl = (ip[0] & 15) * 4
            tot = struct.unpack("!H", ip[2:4])[0]
            # RFC 1812 5.2.2: a header with IHL < 5 or a total length under
            # the header length is invalid; RFC 792: an error quotes the
            # whole IP header. Neither can be answered.
            if ihl < 20 or tot < ihl:
                return "nosend"
            if not ip[6] & 0x40:
                e.ctr["df_clear"] = 1
                return "df_clear"
            if struct.unpack("!H", ip[6:8])[0] & 0x1FFF:
                return "nosend"
            src, dst = struct.unpack("!II", ip[12:20])
            if src == 0 or src >> 28 == 0xE or src == 0xFFFFFFFF or src >> 24 == 127:
                return "nosend"
            if dst >> 28 == 0xE or dst == 0xFFFFFFFF:
                return "nosend"
            if ip[9] == 1 and ip[ihl] in (3, 4, 5, 11, 12):
                return "nosend"
            quote = min(len(ip), tot, ICMP4_MAX - 28)
            tmpl = dict(v6=False, src=ip[16:20], dst=ip[12:16], mtu=limit)
        elif et == ETH_IPV6:
            if len(ip) < 40 or ip[0] >> 4 != 6:
                return "nosend"
            if ip[8:24] == bytes(16) or ip[8] == 0xFF or ip[24] == 0xFF:
                return "nosend"
            proto, l4 = self.v6_upper(ip)
            if proto == 58 and l4 + 1 <= len(ip) and ip[l4] < 128:
                return "nosend"
            plen = struct.unpack("!H", ip[4:6])[0]
            quote = min(len(ip), 40 + plen, ICMP6_MAX - 48)
            tmpl = dict(v6=True, src=ip[24:40], dst=ip[8:24], mtu=limit)
        else:
            return "nosend"
        key = (name, port)
        tokens = self.tokens.get(key, fc["burst"] if fc["rate"] else 0)
        if tokens == 0:
            e.ctr["icmp_suppressed"] = 1
            return "suppressed"
        self.tokens[key] = tokens - 1
        tmpl["l2"] = frame[6:12] + frame[0:6] + frame[12:l3off]
        tmpl["quote"] = ip[:quote]
        e.icmp = tmpl
        e.ctr["icmp_sent"] = 1
        return "icmp"

    @staticmethod
    def v6_upper(ip):
        """(upper-layer protocol, offset) behind the extension headers of an
        IPv6 packet, (None, 0) if not in the bytes or a non-first fragment."""
        nh, off = ip[6], 40
        for _ in range(16):
            if nh in (0, 43, 60):
                if off + 2 > len(ip):
                    return None, 0
                nh, off = ip[off], off + (ip[off + 1] + 1) * 8
            elif nh == 44:
                if off + 8 > len(ip) or struct.unpack("!H", ip[off + 2:off + 4])[0] & 0xFFF8:
                    return None, 0
                nh, off = ip[off], off + 8
            else:
                return nh, off
        return None, 0

    # docs/mtu.md step 3
    def mss(self, fc, frame, l3off, et):
        """(clamped frame or None, "clamp" | "bad" | "none")."""
        ip = frame[l3off:]
        if et == ETH_IPV4 and fc["mss4"]:
            if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 6 or \
                    struct.unpack("!H", ip[6:8])[0] & 0x1FFF or (ip[0] & 15) < 5:
                return None, "none"
            t, limit = (ip[0] & 15) * 4, fc["mss4"]
            # the packet ends where its header says, if the frame holds more
            tot = struct.unpack("!H", ip[2:4])[0]
            if tot < t:
                return None, "none"
            ip = ip[:tot]
        elif et == ETH_IPV6 and fc["mss6"]:
            if len(ip) < 40 or ip[0] >> 4 != 6:
                return None, "none"
            ip = ip[:40 + struct.unpack("!H", ip[4:6])[0]]
            proto, t = self.v6_upper(ip)
            if proto != 6:
                return None, "none"
            limit = fc["mss6"]
        else:
            return None, "none"
        if t + 20 > len(ip) or not ip[t + 13] & TCP_SYN:
            return None, "none"
        doff = (ip[t + 12] >> 4) * 4
        if doff < 20 or t + doff > len(ip):
            return None, "bad"
        i = 20
        while i < doff:
            kind = ip[t + i]
            if kind == 0:
                return None, "none"
            if kind == 1:
                i += 1
                continue
            if i + 2 > doff or ip[t + i + 1] < 2 or i + ip[t + i + 1] > doff:
                return None, "bad"
            if kind == 2:
                if ip[t + i + 1] != 4:
                    return None, "bad"
                if struct.unpack("!H", ip[t + i + 2:t + i + 4])[0] <= limit:
                    return None, "none"
                new = bytearray(frame[l3off:])
                new[t + i + 2:t + i + 4] = struct.pack("!H", limit)
                new[t + 16:t + 18] = struct.pack("!H", ones_update(ip[t:t + doff], new[t:t + doff],
                                                                   ip[t + 16:t + 18]))
                return frame[:l3off] + bytes(new), "clamp"
            i += ip[t + i + 1]
        return None, "none"


def ones_update(old, new, ck):
    """RFC 1624 eqn. 3 over every 16-bit word that differs between old and new."""
    c = struct.unpack("!H", ck)[0]
    s = ~c & 0xFFFF
    for i in range(0, len(old) - 1, 2):
        a, b = struct.unpack("!H", old[i:i + 2])[0], struct.unpack("!H", new[i:i + 2])[0]
        if a != b and i != 16:
            s += (~a & 0xFFFF) + b
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def icmp_expected(t, got):
    """The ICMP error a template describes, with the fields docs/mtu.md does
    not fix (IPv4 TOS, ID, DF, TTL; IPv6 traffic class, flow label, hop
    limit) taken from `got` when it has them; everything else, checksums
    included, computed here."""
    n = len(t["l2"])
    g = got[n:]
    if not t["v6"]:
        tos, ident, flags, ttl = 0xC0, 0, 0, 64
        if len(g) >= 20:
            tos, ident = g[1], struct.unpack("!H", g[4:6])[0]
            flags = struct.unpack("!H", g[6:8])[0] & 0x4000
            ttl = g[8] or 64
        m = bytes([3, 4, 0, 0, 0, 0]) + struct.pack("!H", t["mtu"]) + t["quote"]
        m = m[:2] + struct.pack("!H", csum(m)) + m[4:]
        h = struct.pack("!BBHHHBBH4s4s", 0x45, tos, 20 + len(m), ident, flags, ttl, 1, 0,
                        t["src"], t["dst"])
        h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
        return t["l2"] + h + m
    vtc, hlim = 6 << 28, 64
    if len(g) >= 40:
        vtc = 6 << 28 | (struct.unpack("!I", g[0:4])[0] & 0x0FFFFFFF)
        hlim = g[7] or 64
    m = bytes([2, 0, 0, 0]) + struct.pack("!I", t["mtu"]) + t["quote"]
    m = m[:2] + struct.pack("!H", csum(t["src"] + t["dst"] + struct.pack("!IxxxB", len(m), 58)
                                       + m)) + m[4:]
    return t["l2"] + struct.pack("!IHBB16s16s", vtc, len(m), 58, hlim, t["src"], t["dst"]) + m


# ------------------------------------------------------------- the cases

class HCase:
    """Labelled frames of one ingress port; `want` is the intended outcome of
    each frame: "FLOW:OUTCOME" or "drop:REASON" (outcomes: fwd, clamp,
    badopt, icmp, nosend, df_clear, suppressed)."""

    def __init__(self, name, port, want, what_in, what_out):
        self.name, self.port, self.want = name, port, want
        self.what_in, self.what_out = what_in, what_out
        self.frames = []      # (frame, want)
        self.keep_order = False   # frames keep their order when a run shuffles

    def add(self, frame, want=None):
        self.frames.append((frame, want or self.want))
        return frame


class Gen:
    def __init__(self, title, config, seed):
        self.title = title
        self.config = config
        self.names = list(config["ports"])
        self.fm = FrameMaker(seed)
        self.rng = random.Random(seed + 7)
        self.cases = []

    def case(self, port, name, want, what_in="", what_out=""):
        c = HCase("%s->%s %s" % (self.names[port], self.names[1 - port], name), port, want,
                  what_in, what_out)
        self.cases.append(c)
        return c

    def eth(self, tags, et, body=b"", dst=None, src=None, length=None):
        """MACs (unique source), tags, EtherType, body; random payload up to
        `length` if given."""
        macs = self.fm.macs()
        fr = (dst or macs[:6]) + (src or macs[6:]) + b"".join(tags) + struct.pack("!H", et) + body
        if length is not None and length > len(fr):
            fr += self.fm.payload(length - len(fr))
        return fr

    def order(self):
        order = [[], []]
        for c in self.cases:
            for fr, w in c.frames:
                order[c.port].append((c, fr, w))
        for p in range(2):
            self.rng.shuffle(order[p])
        for c in self.cases:
            if c.keep_order:
                at = [i for i, x in enumerate(order[c.port]) if x[0] is c]
                for i, (fr, w) in zip(at, c.frames):
                    order[c.port][i] = (c, fr, w)
        return order


def T(tpid, vid, pcp=None):
    t = {"tpid": "0x%04x" % tpid, "vid": vid}
    if pcp is not None:
        t["pcp"] = pcp
    return t


# ---- run L2: tag handling

CONFIG_L2 = {
    "version": 1,
    "ports": {"cust": {"device": "net_pcap0", "max_frame": 9216},
              "core": {"device": "net_pcap1", "max_frame": 9216}},
    "flows": [dict(name=n, cust=a, core=b, mss_clamp=False) for n, a, b in (
        ("h_x", [T(0x8100, 100)], [T(0x88A8, 200)]),
        ("h_y", [T(0x8100, 101)], [T(0x88A8, 201)]),
        ("h_2to1", [T(0x88A8, 102), T(0x8100, 12)], [T(0x9200, 202)]),
        ("h_2to2", [T(0x9100, 103), T(0x9100, 13)], [T(0x88A8, 203), T(0x8100, 23)]),
        ("h_1to2", [T(0x9100, 104)], [T(0x88A8, 204), T(0x9100, 24, pcp=3)]),
        ("h_tpid_a", [T(0x9A00, 105)], [T(0x88A8, 205)]),      # 0x9a00: a tag on cust only
        ("h_tpid_b", [T(0x8100, 106)], [T(0x9B00, 206)]),      # 0x9b00: a tag on core only
        ("h_any", [], [T(0x88A8, 400), T(0x8100, 40)]),
    )],
}
CUST, CORE = 0, 1

BCAST = bytes.fromhex("ffffffffffff")
MCASTS = [bytes.fromhex(x) for x in ("ffffffffffff", "01005e7ffffa", "333300000001",
                                     "333300010003", "0180c2000021", "01000ccccccd")]
STP_MAC = bytes.fromhex("0180c2000000")
SLOW_MAC = bytes.fromhex("0180c2000002")
LLDP_MAC = bytes.fromhex("0180c200000e")
PAUSE_MAC = bytes.fromhex("0180c2000001")
EAPOL_MAC = bytes.fromhex("0180c2000003")


def l2_control_frames(g, tags):
    """(label, frame) of every L2 control protocol, inside `tags`."""
    out = []
    bpdu = bytes([0, 0, 0, 0, 0x01]) + bytes.fromhex("8000" "02d5aabbccdd") + bytes(4) + \
        bytes.fromhex("8000" "02d5aabbccdd" "8001") + struct.pack("!HHHH", 0, 20 * 256, 2 * 256,
                                                                  15 * 256)
    rstp = bytes([0, 0, 2, 2, 0x3C]) + bpdu[5:] + b"\x00"
    llc = b"\x42\x42\x03"
    out.append(("STP config BPDU (802.3 length 0x0026, LLC 42 42 03)",
                g.eth(tags, 3 + len(bpdu), llc + bpdu + bytes(8), dst=STP_MAC)))
    out.append(("RSTP BPDU (length 0x0027)", g.eth(tags, 3 + len(rstp), llc + rstp + bytes(7),
                                                    dst=STP_MAC)))
    out.append(("STP TCN BPDU (length 0x0007, short)",
                g.eth(tags, 7, llc + bytes([0, 0, 0, 0x80]), dst=STP_MAC)))
    tlvs = struct.pack("!H", 1 << 9 | 7) + b"\x04" + bytes.fromhex("02d5aabbccdd") + \
        struct.pack("!H", 2 << 9 | 3) + b"\x07p1" + struct.pack("!HH", 3 << 9 | 2, 120) + \
        b"\x00\x00"
    out.append(("LLDP 0x88cc", g.eth(tags, 0x88CC, tlvs, dst=LLDP_MAC)))
    lacp = bytes([1, 1]) + bytes([1, 20]) + struct.pack("!H", 0x8000) + \
        bytes.fromhex("02d5aabbccdd") + struct.pack("!HHHB", 1, 0x8000, 1, 0x3D) + bytes(3) + \
        bytes([2, 20]) + bytes(18) + bytes([3, 16]) + struct.pack("!H", 0x8000) + bytes(12) + \
        bytes([0, 0]) + bytes(50)
    out.append(("LACPDU 0x8809 subtype 1", g.eth(tags, 0x8809, lacp, dst=SLOW_MAC)))
    out.append(("LACP marker 0x8809 subtype 2",
                g.eth(tags, 0x8809, bytes([2, 1, 1, 16]) + bytes(14) + bytes(90), dst=SLOW_MAC)))
    out.append(("PAUSE 0x8808", g.eth(tags, 0x8808, struct.pack("!HH", 1, 0xFFFF) + bytes(42),
                                       dst=PAUSE_MAC)))
    out.append(("EAPOL-Start 0x888e", g.eth(tags, 0x888E, bytes([1, 1, 0, 0]), dst=EAPOL_MAC)))
    return out


def build_l2():
    g = Gen("L2", CONFIG_L2, 101)
    rnd = g.rng.randrange
    pt = lambda: (rnd(8), rnd(2))  # noqa: E731
    ets = (ETH_IPV4, ETH_ARP, 0x88CC, ETH_IPV6, 0x0806)
    et = lambda: g.rng.choice(ets)  # noqa: E731

    # -- runts and short frames
    for p in (CUST, CORE):
        c = g.case(p, "runt: 0..13 bytes", "drop:runt", "0..13 random bytes",
                   "dropped, `runt`")
        for n in range(14):
            c.add(g.fm.payload(n))
    c = g.case(CUST, "short untagged 14..59 bytes -> catch-all push 2", "h_any:fwd",
               "untagged, 14..59 bytes", "[88a8/400 8100/40] pushed, zero-padded to 60")
    for n in range(14, 60):
        c.add(g.eth([], et(), length=n))
    c = g.case(CORE, "short untagged 14..59 bytes", "drop:no_flow", "untagged, 14..59 bytes",
               "dropped, `no_flow` (no catch-all on core)")
    for n in range(14, 60):
        c.add(g.eth([], et(), length=n))
    for p, stack, fl, lo in ((CUST, [(0x8100, 100)], "h_x", 18),
                             (CUST, [(0x88A8, 102), (0x8100, 12)], "h_2to1", 22),
                             (CORE, [(0x88A8, 203), (0x8100, 23)], "h_2to2", 22),
                             (CORE, [(0x88A8, 204), (0x9100, 24)], "h_1to2", 22)):
        c = g.case(p, "short tagged %d..59 bytes (%s)" % (lo, fl), fl + ":fwd",
                   "the flow's stack, %d..59 bytes" % lo,
                   "tags rewritten, zero-padded to 60")
        for n in range(lo, 60):
            c.add(g.eth([tag(t, v, *pt()) for t, v in stack], et(), length=n))

    # -- truncated tags: a TPID with fewer than 4 bytes behind it
    for p, tpids in ((CUST, (0x8100, 0x88A8, 0x9100, 0x9A00)), (CORE, (0x88A8, 0x9200, 0x9B00))):
        c = g.case(p, "bad_tag: 1st, 2nd or 3rd tag with 0..3 bytes behind its TPID",
                   "drop:bad_tag", "1..3 tags (standard TPIDs and the port's own custom TPID), "
                   "the last cut 0..3 bytes after its TPID", "dropped, `bad_tag`")
        for depth in range(3):
            for cut in range(4):
                for tp in tpids:
                    full = b"".join(tag(g.rng.choice(tpids), rnd(1, 4095)) for _ in range(depth))
                    c.add(g.fm.raw(full + struct.pack("!H", tp) + bytes([0, 100, 8])[:cut]))
    c = g.case(CUST, "other port's custom TPID 0x9b00 with 0..3 bytes behind is an EtherType",
               "h_any:fwd", "0x9b00 (a tag on core only) then 0..3 bytes",
               "catch-all: pushed, padded")
    for cut in range(4):
        c.add(g.fm.raw(struct.pack("!H", 0x9B00) + bytes([0, 100, 8])[:cut]))
    c = g.case(CORE, "other port's custom TPID 0x9a00 with 0..3 bytes behind is an EtherType",
               "drop:no_flow", "0x9a00 (a tag on cust only) then 0..3 bytes", "`no_flow`")
    for cut in range(4):
        c.add(g.fm.raw(struct.pack("!H", 0x9A00) + bytes([0, 105, 8])[:cut]))
    for p, outer, fl in ((CUST, (0x8100, 100), "h_x"), (CORE, (0x88A8, 200), "h_x"),
                         (CUST, (0x9300, 7), "h_any")):
        c = g.case(p, "4th tag truncated is payload (26..29 bytes, %s)" % fl, fl + ":fwd",
                   "3 full tags then a TPID with 0..3 bytes", "forwarded, padded (not bad_tag)")
        for cut in range(4):
            c.add(g.fm.raw(tag(*outer) + tag(0x8100, 1) + tag(0x88A8, 2) + struct.pack("!H", 0x8100)
                           + bytes([0, 3, 8])[:cut]))

    # -- one tag where two are configured
    c = g.case(CUST, "one tag where two are configured -> catch-all", "h_any:fwd",
               "[88a8/102] or [9100/103] alone, or with a wrong inner tag",
               "catch-all: [88a8/400 8100/40] pushed above the frame's tags")
    for tags in ([tag(0x88A8, 102)], [tag(0x9100, 103)], [tag(0x88A8, 102), tag(0x8100, 13)],
                 [tag(0x88A8, 102), tag(0x88A8, 12)], [tag(0x9100, 103), tag(0x8100, 13)],
                 [tag(0x9100, 103), tag(0x9100, 14)]):
        for n in (18, 22, 64, 1500):
            c.add(g.eth(tags, ETH_IPV4, length=max(n, 14 + 4 * len(tags))))
    c = g.case(CORE, "one tag where two are configured", "drop:no_flow",
               "[88a8/203] or [88a8/204] alone, or with a wrong inner tag", "`no_flow`")
    for tags in ([tag(0x88A8, 203)], [tag(0x88A8, 204)], [tag(0x88A8, 203), tag(0x8100, 24)],
                 [tag(0x88A8, 203), tag(0x9100, 23)], [tag(0x88A8, 204), tag(0x8100, 24)]):
        for n in (18, 64, 1500):
            c.add(g.eth(tags, ETH_IPV4, length=max(n, 14 + 4 * len(tags))))

    # -- three and more tags
    for p, stack, fl in ((CUST, [(0x8100, 100)], "h_x"), (CUST, [(0x88A8, 102), (0x8100, 12)],
                                                          "h_2to1"),
                         (CORE, [(0x88A8, 203), (0x8100, 23)], "h_2to2"),
                         (CORE, [(0x88A8, 200)], "h_x"), (CUST, [], "h_any")):
        c = g.case(p, "3..16 tags (%s)" % fl, fl + ":fwd", "the flow's stack + 1..15 more tags",
                   "stack rewritten, every other tag unchanged")
        for extra in (1, 2, 3, 5, 8, 15):
            tags = [tag(t, v, *pt()) for t, v in stack]
            tags += [tag(g.rng.choice((0x8100, 0x88A8, 0x9100, 0x9200, 0x9300, 0x9A00)),
                         rnd(4096), *pt()) for _ in range(extra + 2 - len(stack))]
            c.add(g.eth(tags, et(), length=rnd(14 + 4 * len(tags), 300)))

    # -- unknown TPIDs
    unknown = (0x8A88, 0x0081, 0xA888, 0x0091, 0x9500, 0x88E7, 0x0000, 0x05DC, 0xFFFF, 0x8101)
    c = g.case(CUST, "unknown TPIDs are EtherTypes -> catch-all", "h_any:fwd",
               "outer 'tag' 0x8a88, 0x0081/0xa888 (byte-swapped), 0x0091, 0x9500, 0x88e7, 0, "
               "0x05dc, 0xffff, 0x8101, 0x9b00 (core's), VID 100, 14..1500 bytes",
               "catch-all: pushed above it, unchanged")
    for tp in unknown + (0x9B00,):
        for n in (14, 16, 64, 1500):
            c.add(g.fm.raw(struct.pack("!HH", tp, 100) + g.fm.payload(n - 16) if n >= 16 else
                           struct.pack("!H", tp)[:n - 12] + g.fm.payload(max(0, n - 14))))
    c = g.case(CORE, "unknown TPIDs are EtherTypes", "drop:no_flow",
               "the same TPIDs and 0x9a00 (cust's), VID 200", "`no_flow`")
    for tp in unknown + (0x9A00,):
        for n in (14, 16, 64):
            c.add(g.fm.raw(struct.pack("!HH", tp, 200) + g.fm.payload(n - 16) if n >= 16 else
                           struct.pack("!H", tp)))

    # -- VID 0 (priority tags) and VID 4095
    c = g.case(CUST, "VID 0 / 4095 never match a tagged flow -> catch-all", "h_any:fwd",
               "8100/0 with PCP 0..7, 8100/4095, 9a00/0, [8100/0 8100/100], [88a8/0 8100/12], "
               "[88a8/102 8100/0], [88a8/102 8100/4095]", "catch-all, tags unchanged")
    for pcp in range(8):
        c.add(g.eth([tag(0x8100, 0, pcp, pcp & 1)], et(), length=rnd(60, 200)))
    for tags in ([tag(0x8100, 4095)], [tag(0x8100, 4095, 7, 1)], [tag(0x9A00, 0)],
                 [tag(0x9A00, 4095)], [tag(0x8100, 0, 5), tag(0x8100, 100)],
                 [tag(0x88A8, 0), tag(0x8100, 12)], [tag(0x88A8, 102), tag(0x8100, 0)],
                 [tag(0x88A8, 102), tag(0x8100, 4095)], [tag(0x9100, 0), tag(0x9100, 13)]):
        c.add(g.eth(tags, et(), length=rnd(60, 200)))
    c = g.case(CORE, "VID 0 / 4095 never match a tagged flow", "drop:no_flow",
               "88a8/0, 88a8/4095, 9b00/0, [88a8/0 88a8/200], [88a8/203 8100/0|4095], "
               "[88a8/0|4095 8100/23]", "`no_flow`")
    for tags in ([tag(0x88A8, 0)], [tag(0x88A8, 0, 7, 1)], [tag(0x88A8, 4095)], [tag(0x9B00, 0)],
                 [tag(0x88A8, 0), tag(0x88A8, 200)], [tag(0x88A8, 203), tag(0x8100, 0)],
                 [tag(0x88A8, 203), tag(0x8100, 4095)], [tag(0x88A8, 0), tag(0x8100, 23)],
                 [tag(0x88A8, 4095), tag(0x8100, 23)]):
        c.add(g.eth(tags, et(), length=rnd(60, 200)))

    # -- VLAN hopping: an inner tag never selects the flow
    for p, tags, fl, label in (
            (CUST, [(0x8100, 100), (0x8100, 101)], "h_x", "[8100/100 8100/101]"),
            (CUST, [(0x8100, 100), (0x88A8, 201)], "h_x", "[8100/100 88a8/201]"),
            (CUST, [(0x8100, 101), (0x8100, 100)], "h_y", "[8100/101 8100/100]"),
            (CUST, [(0x8100, 100), (0x88A8, 102), (0x8100, 12)], "h_x",
             "[8100/100 88a8/102 8100/12]"),
            (CUST, [(0x88A8, 102), (0x8100, 12), (0x8100, 100)], "h_2to1",
             "[88a8/102 8100/12 8100/100]"),
            (CUST, [(0x9300, 999), (0x8100, 100)], "h_any", "[9300/999 8100/100]"),
            (CUST, [(0x8100, 999), (0x8100, 101)], "h_any", "[8100/999 8100/101]"),
            (CUST, [(0x9100, 104), (0x9100, 103), (0x9100, 13)], "h_1to2",
             "[9100/104 9100/103 9100/13]"),
            (CORE, [(0x88A8, 200), (0x88A8, 201)], "h_x", "[88a8/200 88a8/201]"),
            (CORE, [(0x88A8, 201), (0x88A8, 200)], "h_y", "[88a8/201 88a8/200]"),
            (CORE, [(0x88A8, 200), (0x88A8, 203), (0x8100, 23)], "h_x",
             "[88a8/200 88a8/203 8100/23]"),
            (CORE, [(0x88A8, 400), (0x8100, 40), (0x88A8, 200)], "h_any",
             "[88a8/400 8100/40 88a8/200]"),
            (CORE, [(0x88A8, 204), (0x88A8, 200)], None, "[88a8/204 88a8/200]"),
            (CORE, [(0x88A8, 999), (0x88A8, 200)], None, "[88a8/999 88a8/200]"),
            (CORE, [(0x8100, 100)], None, "[8100/100] (cust's tag on core)"),
            (CORE, [(0x9200, 7), (0x9200, 202)], None, "[9200/7 9200/202]")):
        want = fl + ":fwd" if fl else "drop:no_flow"
        c = g.case(p, "VLAN hopping %s" % label, want, label,
                   "stays in %s, inner tags unchanged" % fl if fl else "`no_flow`")
        for n in (64, 200, 1500):
            c.add(g.eth([tag(t, v, *pt()) for t, v in tags], et(), length=n))

    # -- broadcast / multicast
    for p, stack, fl in ((CUST, [(0x8100, 100)], "h_x"), (CUST, [], "h_any"),
                         (CORE, [(0x88A8, 203), (0x8100, 23)], "h_2to2"),
                         (CORE, [(0x9B00, 206)], "h_tpid_b")):
        c = g.case(p, "broadcast/multicast destinations (%s)" % fl, fl + ":fwd",
                   "dst ff:ff:ff:ff:ff:ff, 01:00:5e, 33:33, 01:80:c2:00:00:21, 01:00:0c:cc:cc:cd; "
                   "ARP who-has", "forwarded inside the flow's tags like any frame")
        for d in MCASTS:
            c.add(g.eth([tag(t, v) for t, v in stack], et(), dst=d, length=rnd(60, 400)))
        arp = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + bytes.fromhex("02d500000001") + \
            A4("192.0.2.1") + bytes(6) + A4("192.0.2.2")
        c.add(g.eth([tag(t, v) for t, v in stack], ETH_ARP, arp, dst=BCAST))
    c = g.case(CUST, "multicast and broadcast source MACs", "h_x:fwd",
               "[8100/100], source 03:51:.. (group bit set)",
               "forwarded unchanged (no MAC checks)")
    for i in range(3):
        c.add(g.eth([tag(0x8100, 100)], ETH_IPV4, src=bytes([0x03, 0x51, 0xEE, 0, 0, i]),
                    length=100))
    c = g.case(CORE, "untagged broadcast/multicast", "drop:no_flow", "untagged, group dst",
               "`no_flow`")
    for d in MCASTS:
        c.add(g.eth([], et(), dst=d, length=rnd(60, 400)))

    # -- L2 control frames
    for p, stack, fl in ((CUST, [(0x8100, 100)], "h_x"), (CUST, [(0x9A00, 105)], "h_tpid_a"),
                         (CUST, [], "h_any"), (CORE, [(0x88A8, 204), (0x9100, 24)], "h_1to2"),
                         (CORE, [(0x88A8, 200)], "h_x")):
        c = g.case(p, "L2 control frames (%s)" % fl, fl + ":fwd",
                   "STP/RSTP/TCN BPDU, LLDP, LACPDU, LACP marker, PAUSE, EAPOL",
                   "forwarded inside the flow's tags like any frame")
        for _, fr in l2_control_frames(g, [tag(t, v, *pt()) for t, v in stack]):
            c.add(fr)
    c = g.case(CORE, "untagged L2 control frames", "drop:no_flow",
               "STP/RSTP/TCN BPDU, LLDP, LACPDU, LACP marker, PAUSE, EAPOL, untagged",
               "`no_flow` (core has no catch-all)")
    for _, fr in l2_control_frames(g, []):
        c.add(fr)

    # -- multi-segment jumbo frames (tags in the first 2048-byte segment)
    for p, stack, fl in ((CUST, [(0x8100, 100)], "h_x"), (CUST, [(0x88A8, 102), (0x8100, 12)],
                                                          "h_2to1"),
                         (CUST, [], "h_any"), (CORE, [(0x88A8, 204), (0x9100, 24)], "h_1to2"),
                         (CORE, [(0x88A8, 203), (0x8100, 23)], "h_2to2")):
        c = g.case(p, "multi-segment jumbo frames (%s)" % fl, fl + ":fwd",
                   "2047..2049, 2100, 4096, 9000 bytes; one with 12 tags",
                   "forwarded byte-exact")
        for n in (2047, 2048, 2049, 2100, 4096, 9000):
            c.add(g.eth([tag(t, v, *pt()) for t, v in stack], et(), length=n))
        c.add(g.eth([tag(t, v, *pt()) for t, v in stack] + [tag(0x8100, i + 1) for i in range(10)],
                    et(), length=2049))
    c = g.case(CORE, "untagged jumbo", "drop:no_flow", "untagged 9000 bytes", "`no_flow`")
    c.add(g.eth([], ETH_IPV4, length=9000))
    return g


# ---- run MTU: MTU, ICMP, MSS

def mflow(name, a, b, **kw):
    f = {"name": name, "a": a, "b": b}
    f.update(kw)
    return f


CONFIG_MTU = {
    "version": 1,
    "ports": {"a": {"device": "net_pcap0", "max_frame": 1522},
              "b": {"device": "net_pcap1", "max_frame": 1518}},
    "flows": [
        mflow("m_def", [T(0x88A8, 100)], [T(0x8100, 3001)], icmp_rate=BIG, icmp_burst=BIG),
        mflow("m_2to1", [T(0x88A8, 200), T(0x8100, 20)], [T(0x9100, 3002)], customer_tags=0,
              mtu=1400, mss_clamp=1300, icmp_rate=BIG, icmp_burst=BIG),
        mflow("m_drop", [T(0x88A8, 300)], [T(0x8100, 3003)], oversize="drop", mss_clamp=False),
        mflow("m_silent", [T(0x88A8, 400)], [T(0x8100, 3004)], icmp_rate=0),
        mflow("m_rate", [T(0x88A8, 500)], [T(0x8100, 3005)], icmp_rate=1, icmp_burst=3),
        mflow("m_small", [T(0x88A8, 600)], [T(0x8100, 3006)], mtu=140, icmp_rate=BIG,
              icmp_burst=BIG),
        mflow("m_any", [T(0x88A8, 700)], [], icmp_rate=BIG, icmp_burst=BIG),
    ],
}
PA, PB = 0, 1
# the L3 size a frame may have, by hand from docs/config.md and docs/mtu.md:
# min(mtu, egress max_frame - 14 - egress stack - customer tags of the frame)
ALLOWED = {
    # (flow, ingress, customer tags): L3 bytes
    ("m_def", PA, 0): 1496, ("m_def", PA, 1): 1496, ("m_def", PA, 2): 1492, ("m_def", PA, 3): 1488,
    ("m_def", PB, 0): 1496, ("m_def", PB, 1): 1496, ("m_def", PB, 2): 1496, ("m_def", PB, 3): 1492,
    ("m_any", PA, 0): 1500, ("m_any", PA, 1): 1500, ("m_any", PA, 2): 1496, ("m_any", PA, 3): 1492,
    ("m_any", PB, 0): 1500, ("m_any", PB, 1): 1500, ("m_any", PB, 2): 1496, ("m_any", PB, 3): 1492,
    ("m_2to1", PA, 0): 1400, ("m_2to1", PA, 3): 1400, ("m_2to1", PB, 0): 1400,
    ("m_2to1", PB, 3): 1400,
    ("m_small", PA, 1): 140, ("m_small", PB, 1): 140,
}
STACKS = {
    "m_def": ([(0x88A8, 100)], [(0x8100, 3001)]),
    "m_2to1": ([(0x88A8, 200), (0x8100, 20)], [(0x9100, 3002)]),
    "m_drop": ([(0x88A8, 300)], [(0x8100, 3003)]),
    "m_silent": ([(0x88A8, 400)], [(0x8100, 3004)]),
    "m_rate": ([(0x88A8, 500)], [(0x8100, 3005)]),
    "m_small": ([(0x88A8, 600)], [(0x8100, 3006)]),
    "m_any": ([(0x88A8, 700)], []),
}
MSS4 = {"m_def": 1456, "m_2to1": 1300, "m_small": 100, "m_any": 1460}
MSS6 = {"m_def": 1436, "m_2to1": 1300, "m_small": None, "m_any": 1440}
S4, D4 = "198.51.100.7", "203.0.113.9"
S6, D6 = "2001:db8:1::7", "2001:db8:2::9"


def ctag_list(n):
    return [tag((0x8100, 0x88A8, 0x9100)[i % 3], 10 + i, i % 8) for i in range(n)]


def mtu_frame(g, fl, p, ctags, et, l3, **kw):
    """A frame of flow fl entering port p: its stack there (PCP 5), ctags
    customer tags, EtherType et, L3 bytes l3."""
    return g.eth([tag(t, v, 5) for t, v in STACKS[fl][p]] + ctag_list(ctags), et, l3, **kw)


def build_mtu():
    g = Gen("MTU", CONFIG_MTU, 202)
    fr = functools.partial(mtu_frame, g)

    # -- the oversize boundary, per customer tag count
    for (fl, p, ct), lim in sorted(ALLOWED.items()):
        n = g.names
        c = g.case(p, "oversize boundary %s, %d customer tags: L3 %d passes, %d does not"
                   % (fl, ct, lim, lim + 1), fl + ":fwd",
                   "IPv4 DF UDP and IPv6 UDP with L3 of %d, %d and %d bytes"
                   % (lim - 1, lim, lim + 1),
                   "the first two forwarded; the last dropped `oversize` with an ICMP "
                   "frag-needed / packet-too-big, next-hop MTU %d, back out of %s" % (lim, n[p]))
        for l3 in (lim - 1, lim):
            c.add(fr(fl, p, ct, ETH_IPV4, udp4(S4, D4, l3)))
            c.add(fr(fl, p, ct, ETH_IPV6, udp6(S6, D6, l3)))
        c.add(fr(fl, p, ct, ETH_IPV4, udp4(S4, D4, lim + 1)), fl + ":icmp")
        c.add(fr(fl, p, ct, ETH_IPV6, udp6(S6, D6, lim + 1)), fl + ":icmp")

    # -- jumbo frames over the port's limit
    for fl, p in (("m_def", PA), ("m_def", PB), ("m_2to1", PA), ("m_2to1", PB), ("m_any", PB),
                  ("m_small", PA)):
        ct = 0 if fl in ("m_2to1", "m_any") else 1
        c = g.case(p, "jumbo over max_frame (%s)" % fl, fl + ":icmp",
                   "IPv4 DF, IPv6, IPv6 behind hop-by-hop, IPv4 without DF, ARP; 1600, 2049, "
                   "9000, 16000 bytes", "`oversize`; ICMP / ICMPv6 error quoting 548 / 1232 "
                   "bytes for IP, none (df_clear) without DF, none for ARP")
        for n in (1600, 2049, 9000, 16000):
            c.add(fr(fl, p, ct, ETH_IPV4, udp4(S4, D4, n)))
            c.add(fr(fl, p, ct, ETH_IPV6, udp6(S6, D6, n)))
            c.add(fr(fl, p, ct, ETH_IPV6, udp6(S6, D6, n, exts=(0,))))
            c.add(fr(fl, p, ct, ETH_IPV4, udp4(S4, D4, n, df=False)), fl + ":df_clear")
            c.add(fr(fl, p, ct, ETH_ARP, bytes(n)), fl + ":nosend")
    for fl, p, want, label in (("m_drop", PA, "nosend", 'oversize "drop"'),
                               ("m_drop", PB, "nosend", 'oversize "drop"'),
                               ("m_silent", PA, "suppressed", "icmp_rate 0"),
                               ("m_silent", PB, "suppressed", "icmp_rate 0")):
        c = g.case(p, "jumbo, %s (%s)" % (label, fl), fl + ":" + want,
                   "IPv4 DF and IPv6, 1600 and 9000 bytes",
                   "`oversize`, no ICMP" + (" (icmp_suppressed)" if want == "suppressed" else ""))
        for n in (1600, 9000):
            c.add(fr(fl, p, 1, ETH_IPV4, udp4(S4, D4, n)))
            c.add(fr(fl, p, 1, ETH_IPV6, udp6(S6, D6, n)))
    c = g.case(PA, "ICMP token bucket: icmp_burst 3, icmp_rate 1/s (m_rate)", "m_rate:icmp",
               "8 oversize IPv4 DF frames", "all `oversize`; the first 3 answered, 5 "
               "icmp_suppressed")
    c.keep_order = True
    for i in range(8):
        c.add(fr("m_rate", PA, 1, ETH_IPV4, udp4(S4, D4, 1600 + i)),
              "m_rate:" + ("icmp" if i < 3 else "suppressed"))
    c = g.case(PB, "ICMP token bucket, other direction (m_rate)", "m_rate:icmp",
               "2 oversize IPv6 frames", "both answered (own bucket)")
    for i in range(2):
        c.add(fr("m_rate", PB, 1, ETH_IPV6, udp6(S6, D6, 1600 + i)))

    # -- packets that must not be answered
    c = g.case(PA, "oversize, not answered (m_def)", "m_def:nosend",
               "IPv4 DF from 0.0.0.0, 224.0.0.5, 255.255.255.255, 127.0.0.1, to 239.1.1.1, "
               "255.255.255.255; non-first fragment; ICMP errors (3, 4, 5, 11, 12); IPv6 from ::, "
               "ff02::1, to ff02::1, ff05::2; ICMPv6 errors 1..4, one behind hop-by-hop; "
               "EtherType 0x0800 with version 6 and 0x86dd with version 4; IPv4 IHL 0..4",
               "`oversize`, no ICMP")
    for s, d in (("0.0.0.0", D4), ("224.0.0.5", D4), ("255.255.255.255", D4), ("127.0.0.1", D4),
                 (S4, "239.1.1.1"), (S4, "255.255.255.255")):
        c.add(fr("m_def", PA, 1, ETH_IPV4, udp4(s, d, 1600)))
    c.add(fr("m_def", PA, 1, ETH_IPV4, udp4(S4, D4, 1600, frag=185)))
    for typ in (3, 4, 5, 11, 12):
        c.add(fr("m_def", PA, 1, ETH_IPV4, icmp4(S4, D4, typ, 0, 1600)))
    for s, d in (("::", D6), ("ff02::1", D6), (S6, "ff02::1"), (S6, "ff05::2")):
        c.add(fr("m_def", PA, 1, ETH_IPV6, udp6(s, d, 1600)))
    for typ in (1, 2, 3, 4):
        c.add(fr("m_def", PA, 1, ETH_IPV6, icmp6(S6, D6, typ, 1600)))
    c.add(fr("m_def", PA, 1, ETH_IPV6, icmp6(S6, D6, 2, 1600, exts=(0,))))
    c.add(fr("m_def", PA, 1, ETH_IPV4, udp6(S6, D6, 1600)))
    c.add(fr("m_def", PA, 1, ETH_IPV6, udp4(S4, D4, 1600) + bytes(40)))
    for ihl in range(5):
        c.add(fr("m_def", PA, 1, ETH_IPV4, udp4(S4, D4, 1600, ihl=ihl)))
    c = g.case(PB, "oversize, answered: ICMP echo, ICMPv6 echo, ICMP behind ext headers (m_def)",
               "m_def:icmp", "IPv4 ICMP echo request/reply, ICMPv6 echo request, UDP behind "
               "hop-by-hop+destination+routing+fragment(first) headers, IPv4 DF+MF first "
               "fragment", "ICMP error")
    c.add(fr("m_def", PB, 1, ETH_IPV4, icmp4(S4, D4, 8, 0, 1600)))
    c.add(fr("m_def", PB, 1, ETH_IPV4, icmp4(S4, D4, 0, 0, 1600)))
    c.add(fr("m_def", PB, 1, ETH_IPV6, icmp6(S6, D6, 128, 1600)))
    c.add(fr("m_def", PB, 1, ETH_IPV6, udp6(S6, D6, 1600, exts=(0, 60, 43, ("frag", 0, 1)))))
    c.add(fr("m_def", PB, 1, ETH_IPV4, udp4(S4, D4, 1600, mf=True)))

    add_mss_cases(g)
    return g


def build_badlen():
    """Malformed IP length fields, in a run of their own (config of run MTU)."""
    g = Gen("BADLEN", CONFIG_MTU, 303)
    fr = functools.partial(mtu_frame, g)

    # -- oversize with malformed IP length fields
    c = g.case(PA, "oversize IPv4 with total length 0..65535 (m_def)", "m_def:icmp",
               "1600-byte IPv4 DF frames whose total length field is 0, 1, 10, 19 (invalid: "
               "under the header), 20, 21, 27, 28, 29, 100, 547, 548, 549, 1000, 65535",
               "invalid ones: `oversize`, no ICMP; others: ICMP quoting min(total length, "
               "548) bytes")
    for tot in (0, 1, 10, 19, 20, 21, 27, 28, 29, 100, 547, 548, 549, 1000, 65535):
        c.add(fr("m_def", PA, 1, ETH_IPV4, udp4(S4, D4, 1600, tot=tot)),
              "m_def:" + ("nosend" if tot < 20 else "icmp"))
    c = g.case(PA, "oversize IPv4 with IHL 5..15 and options (m_def)", "m_def:icmp",
               "IPv4 DF with IHL 5..15 (options), total length right or under IHL x 4",
               "ICMP quoting the options when the total length covers the header, else no ICMP")
    for ihl in range(5, 16):
        opts = ipv4_opts(4 * ihl - 20)
        c.add(fr("m_def", PA, 1, ETH_IPV4, udp4(S4, D4, 1600, opts=opts)))
        if ihl > 5:
            c.add(fr("m_def", PA, 1, ETH_IPV4, udp4(S4, D4, 1600, opts=opts, tot=4 * ihl - 1)),
                  "m_def:nosend")
    c = g.case(PB, "oversize IPv6 with payload length 0..65535 (m_def)", "m_def:icmp",
               "1600-byte IPv6 frames whose payload length field is 0, 1, 8, 100, 1191, 1192, "
               "1193, 65535", "ICMPv6 quoting min(40 + payload length, 1232) bytes")
    for plen in (0, 1, 8, 100, 1191, 1192, 1193, 65535):
        ip = udp6(S6, D6, 1600)
        c.add(fr("m_def", PB, 1, ETH_IPV6, ip[:4] + struct.pack("!H", plen) + ip[6:]))

    # -- SYNs whose IP length ends inside the TCP header: the rest is padding
    c = g.case(PA, "SYN whose IP total length ends inside the TCP header or options (m_def)",
               "m_def:fwd", "IPv4 SYN, 20 bytes of options, all 60 bytes in the frame, total "
               "length 20..59; IPv6 the same with payload length 0..39",
               "unchanged (the MSS option is not in the packet); cut in the options: "
               "mss_bad_options")
    for n in range(20, 60):
        ip = tcp4(S4, D4, tcp_seg(TCP_SYN, linux_opts(9000)))
        ip = ipv4(S4, D4, 6, ip[20:], tot=n)
        c.add(fr("m_def", PA, 1, ETH_IPV4, ip), "m_def:" + ("fwd" if n < 40 else "badopt"))
        ip = tcp6(S6, D6, tcp_seg(TCP_SYN, linux_opts(9000)))
        c.add(fr("m_def", PA, 1, ETH_IPV6, ip[:4] + struct.pack("!H", n - 20) + ip[6:]),
              "m_def:" + ("fwd" if n < 40 else "badopt"))
    return g


def add_mss_cases(g):
    """MSS clamping and TCP SYNs cut at every byte (run MTU)."""
    fr = functools.partial(mtu_frame, g)

    def syn4(mss, flags=TCP_SYN, **kw):
        return tcp4(S4, D4, tcp_seg(flags, linux_opts(mss)), **kw)

    def syn6(mss, flags=TCP_SYN, exts=()):
        return tcp6(S6, D6, tcp_seg(flags, linux_opts(mss)), exts)

    for fl, p in (("m_def", PA), ("m_def", PB), ("m_2to1", PA), ("m_2to1", PB), ("m_any", PA),
                  ("m_any", PB), ("m_small", PA), ("m_drop", PA)):
        ct = 0 if fl in ("m_2to1", "m_any") else 1
        m4, m6 = MSS4.get(fl), MSS6.get(fl)
        c = g.case(p, "MSS clamp (%s): SYN and SYN-ACK, IPv4 and IPv6" % fl, fl + ":clamp",
                   "SYN, SYN-ACK with MSS 65535 and 1 over the limit; MSS at the limit, 536; "
                   "ACK/FIN with MSS", "MSS lowered to %s (IPv4) / %s (IPv6), TCP checksum "
                   "correct; the others unchanged" % (m4 or "-", m6 or "-"))
        for flags in (TCP_SYN, TCP_SYN | TCP_ACK):
            for v in (65535, (m4 or 1460) + 1):
                c.add(fr(fl, p, ct, ETH_IPV4, syn4(v, flags)), fl + (":clamp" if m4 else ":fwd"))
            for v in (65535, (m6 or 1440) + 1):
                c.add(fr(fl, p, ct, ETH_IPV6, syn6(v, flags)), fl + (":clamp" if m6 else ":fwd"))
        for v in sorted({m4 or 1460, min(536, m4 or 1460), 88}):
            c.add(fr(fl, p, ct, ETH_IPV4, syn4(v)), fl + ":fwd")
        for v in sorted({m6 or 1440, min(1220, m6 or 1440)}):
            c.add(fr(fl, p, ct, ETH_IPV6, syn6(v)), fl + ":fwd")
        for flags in (TCP_ACK, TCP_ACK | TCP_PSH, TCP_FIN | TCP_ACK):
            c.add(fr(fl, p, ct, ETH_IPV4, syn4(9000, flags)), fl + ":fwd")
            c.add(fr(fl, p, ct, ETH_IPV6, syn6(9000, flags)), fl + ":fwd")

    c = g.case(PA, "MSS option layouts (m_def)", "m_def:clamp",
               "MSS first, after NOPs (odd and even offsets), after SACK/TS, alone, doff 15; "
               "EOL before MSS; no options",
               "clamped to 1456 with a correct checksum; after EOL / none: unchanged")
    for opts in (mss_opt(1460), b"\x01" + mss_opt(1460) + b"\x01\x01\x01",
                 b"\x01\x01" + mss_opt(1460), b"\x01\x01\x01" + mss_opt(1460),
                 b"\x04\x02\x08\x0a" + bytes(8) + b"\x01" + mss_opt(9000) + b"\x00\x00\x00",
                 linux_opts(9000) + bytes(20), b"\x01" * 36 + mss_opt(8960)):
        c.add(fr("m_def", PA, 1, ETH_IPV4, tcp4(S4, D4, tcp_seg(TCP_SYN, opts))))
        c.add(fr("m_def", PA, 1, ETH_IPV6, tcp6(S6, D6, tcp_seg(TCP_SYN, opts))))
    for opts in (b"\x00\x00\x00\x00" + mss_opt(9000), b"\x01\x00" + mss_opt(9000) + b"\x00\x00",
                 b""):
        c.add(fr("m_def", PA, 1, ETH_IPV4, tcp4(S4, D4, tcp_seg(TCP_SYN, opts))), "m_def:fwd")
    c.add(fr("m_def", PA, 1, ETH_IPV4, tcp4(S4, D4, tcp_seg(TCP_SYN, linux_opts(9000),
                                                            payload=b"hello"))))

    c = g.case(PB, "MSS malformed options (m_def)", "m_def:badopt",
               "SYNs with option length 0 and 1, MSS length 3 and 5, an option running past the "
               "data offset, data offset 0..4, data offset past the frame",
               "unchanged, mss_bad_options")
    for opts in (b"\x08\x00" + bytes(2) + mss_opt(9000), b"\x08\x01" + bytes(2) + mss_opt(9000),
                 b"\x02\x03\x23\x28", b"\x02\x05\x23\x28\x00\x00\x00\x00",
                 b"\x01\x01\x01\x08\x0a" + bytes(3), b"\x01\x01\x01\x02"):
        c.add(fr("m_def", PB, 1, ETH_IPV4, tcp4(S4, D4, tcp_seg(TCP_SYN, opts))))
        c.add(fr("m_def", PB, 1, ETH_IPV6, tcp6(S6, D6, tcp_seg(TCP_SYN, opts))))
    for doff in range(5):
        c.add(fr("m_def", PB, 1, ETH_IPV4, tcp4(S4, D4, tcp_seg(TCP_SYN, doff=doff))))
    c.add(fr("m_def", PB, 1, ETH_IPV4, tcp4(S4, D4, tcp_seg(TCP_SYN, linux_opts(9000), doff=15))))
    c.add(fr("m_def", PB, 1, ETH_IPV6, tcp6(S6, D6, tcp_seg(TCP_SYN, linux_opts(9000), doff=15))))

    c = g.case(PA, "MSS clamp behind 0, 1 and 2 customer tags (m_def)", "m_def:clamp",
               "IPv4 and IPv6 SYN with 0, 1, 2 customer tags", "clamped")
    for ct in (0, 1, 2):
        c.add(fr("m_def", PA, ct, ETH_IPV4, syn4(1460)))
        c.add(fr("m_def", PA, ct, ETH_IPV6, syn6(1460)))

    c = g.case(PB, "IPv4 options before TCP: MSS clamped through them (m_def)", "m_def:clamp",
               "IPv4 SYN with IHL 6..15 (router alert, NOPs, record route)", "clamped to 1456")
    for ihl in range(6, 16):
        c.add(fr("m_def", PB, 1, ETH_IPV4, syn4(1460, opts=ipv4_opts(4 * ihl - 20))))
    c = g.case(PB, "IPv4 fragments (m_def)", "m_def:clamp",
               "SYN in a first fragment (MF, offset 0); TCP SYN bytes in a non-first fragment",
               "first fragment clamped; non-first unchanged")
    c.add(fr("m_def", PB, 1, ETH_IPV4, syn4(1460, mf=True)))
    c.add(fr("m_def", PB, 1, ETH_IPV4, syn4(1460, frag=1)), "m_def:fwd")
    c.add(fr("m_def", PB, 1, ETH_IPV4, syn4(1460, frag=8191, mf=True)), "m_def:fwd")

    c = g.case(PA, "IPv6 extension headers before TCP: MSS clamped through them (m_def)",
               "m_def:clamp", "hop-by-hop, destination options, routing, fragment (atomic and "
               "first with M), chains of 2..6; non-first fragment; ESP; no next header",
               "clamped to 1436 with a correct checksum; non-first fragment, ESP, "
               "no-next-header unchanged")
    for exts in ((0,), (60,), (43,), (("frag", 0, 0),), (("frag", 0, 1),), (0, 60),
                 (0, 43, 60), (0, 60, 43, ("frag", 0, 0), 60), (0, 60, 60, 43, 60, 60)):
        c.add(fr("m_def", PA, 1, ETH_IPV6, syn6(1460, exts=exts)))
    c.add(fr("m_def", PA, 1, ETH_IPV6, syn6(1460, exts=(("frag", 1, 0),))), "m_def:fwd")
    c.add(fr("m_def", PA, 1, ETH_IPV6, syn6(1460, exts=(0, ("frag", 100, 1)))), "m_def:fwd")
    seg = tcp_seg(TCP_SYN, linux_opts(1460))
    c.add(fr("m_def", PA, 1, ETH_IPV6, ipv6(S6, D6, 50, seg)), "m_def:fwd")
    c.add(fr("m_def", PA, 1, ETH_IPV6, ipv6(S6, D6, 59, seg)), "m_def:fwd")

    # -- TCP SYNs cut at every byte
    for fl, p, ct, v6 in (("m_def", PA, 1, False), ("m_any", PB, 0, False),
                          ("m_def", PB, 2, True), ("m_any", PA, 0, True)):
        full = syn6(9000, exts=(0,)) if v6 else syn4(9000)
        tcp_at = 48 if v6 else 20
        c = g.case(p, "%s SYN cut at every byte from the IP header to the end of the options "
                   "(%s, %d customer tags)" % ("IPv6+hop-by-hop" if v6 else "IPv4", fl, ct),
                   fl + ":fwd", "0..%d bytes of a %d-byte SYN L3 packet with 20 bytes of options"
                   % (len(full), len(full)),
                   "cut in the IP/extension or TCP fixed header: unchanged; cut in the options: "
                   "unchanged, mss_bad_options; complete: clamped; padded to 60")
        for n in range(len(full) + 1):
            want = "fwd" if n < tcp_at + 20 else ("badopt" if n < len(full) else "clamp")
            c.add(fr(fl, p, ct, ETH_IPV6 if v6 else ETH_IPV4, full[:n]), fl + ":" + want)
    return g


# ------------------------------------------------------------- running

def stats_json(stats_bin, name):
    try:
        r = subprocess.run([stats_bin, "--stats-name", name, "--json"], capture_output=True,
                           text=True, timeout=20)
        if r.returncode != 0:
            return None, "qinqgw-stats exited %d: %s" % (r.returncode, r.stderr.strip()[-300:])
        return json.loads(r.stdout), None
    except (OSError, ValueError, subprocess.TimeoutExpired) as e:
        return None, "qinqgw-stats: %s" % e


def run_case_set(results, qinqgw, stats_bin, g, timeout):
    spec = Spec(g.config)
    order = g.order()
    sent = [[], []]
    for p in range(2):
        for c, fr, w in order[p]:
            sent[p].append((c, fr, w, spec.verdict(p, fr)))
    macs = [fr[6:12] for p in range(2) for _, fr, _ in order[p] if len(fr) >= 12]
    if len(set(macs)) != len(macs):
        raise AssertionError("test data: source MACs are not unique")
    workdir = tempfile.mkdtemp(prefix="qgwf_hostile_")
    res = qgwtest.run_gateway(qinqgw, g.config, [[fr for _, fr, _ in order[p]] for p in range(2)],
                              workdir=workdir, timeout=timeout, keep_stats=True)
    doc, derr = stats_json(stats_bin, res.stats_name)
    shm = "/dev/shm/" + res.stats_name
    if os.path.exists(shm):
        os.unlink(shm)
    failed = results.failed
    check(results, g, spec, sent, res, doc, derr)
    if results.failed == failed:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print("# %s: files kept in %s" % (g.title, workdir))
    print("# run %s: %d + %d frames, %.1f s" % (g.title, len(sent[0]), len(sent[1]), res.seconds))
    return res


def check(results, g, spec, sent, res, doc, derr):
    title, names = g.title, g.names
    usable = res.ok()
    results.check("%s: gateway ran and stopped with exit 0" % title, usable, res.error or "")
    results.check("%s: exit report parses" % title, usable and not res.report.errors,
                  "unparsed lines: %r" % (res.report.errors[:5] if usable else "no usable run"))
    results.check("%s: qinqgw-stats --json on the stopped segment" % title, doc is not None,
                  derr or "")

    # outputs by source MAC (forwarded) and destination MAC (ICMP errors)
    by_src, by_dst = {}, {}
    for q in range(2):
        for fr in res.out[q]:
            by_src.setdefault(fr[6:12], []).append((q, fr))
            by_dst.setdefault(fr[0:6], []).append((q, fr))

    expect = {id(fr): e for p in range(2) for _, fr, _, e in sent[p]}

    # test data: the spec agrees with what each case intends
    for c in g.cases:
        name = "%s: %s (%d frames)" % (title, c.name, len(c.frames))
        bad = []
        for fr, w in c.frames:
            e = expect[id(fr)]
            got = "drop:" + e.outcome if e.flow is None else "%s:%s" % (e.flow, e.outcome)
            if got != w:
                bad.append("%s: intended %s, spec says %s" % (describe(fr), w, got))
        if bad:
            results.check(name, False, "test data: %d frames; first: %s" % (len(bad), bad[0]))
            continue
        if not usable:
            results.check(name, False, "no usable gateway run")
            continue
        nbad, first = 0, None
        for fr, _ in c.frames:
            e = expect[id(fr)]
            why = frame_errors(fr, e, by_src, by_dst, names)
            if why:
                nbad += 1
                first = first or why
        results.check(name, nbad == 0, "%d of %d frames wrong; first: %s"
                      % (nbad, len(c.frames), first))

    # whole output per egress port: forwarded frames of the other port in
    # order, interleaved with the ICMP errors for this port's frames in order
    fwd_seen = {}
    for q in range(2):
        fwd = [(c, fr, e) for c, fr, w, e in sent[1 - q] if e.frame is not None]
        icmp = [(c, fr, e) for c, fr, w, e in sent[q] if e.icmp is not None]
        name = "%s: output of %s is %d forwarded + %d ICMP frames, in order, byte-exact" % (
            title, names[q], len(fwd), len(icmp))
        if not usable:
            results.check(name, False, "no usable gateway run")
            continue
        # A frame that is the next expected one with other bytes (same
        # source MAC, or for an ICMP error the sender's MAC as destination)
        # counts as wrong and consumes it; any other frame is unexpected.
        i = j = 0
        wrong, extra, first = 0, 0, None
        for k, got in enumerate(res.out[q]):
            nf = fwd[i] if i < len(fwd) else None
            ni = icmp[j] if j < len(icmp) else None
            if nf and got == nf[2].frame:
                key = (nf[2].flow, 1 - q)
                fwd_seen[key] = fwd_seen.get(key, 0) + 1
                i += 1
                continue
            if ni and got == icmp_expected(ni[2].icmp, got):
                j += 1
                continue
            if nf and got[6:12] == nf[1][6:12]:
                key = (nf[2].flow, 1 - q)
                fwd_seen[key] = fwd_seen.get(key, 0) + 1
                wrong, i = wrong + 1, i + 1
                first = first or "frame %d, the output of input %s (case %r), differs:\n%s" % (
                    k, describe(nf[1]), nf[0].name, frame_diff(nf[2].frame, got))
            elif ni and got[0:6] == ni[1][6:12]:
                wrong, j = wrong + 1, j + 1
                first = first or "frame %d, the ICMP error for input %s (case %r), differs:\n%s" \
                    % (k, describe(ni[1]), ni[0].name,
                       frame_diff(icmp_expected(ni[2].icmp, got), got))
            else:
                extra += 1
                first = first or "frame %d (%s) is unexpected; next expected: %s / ICMP for %s" \
                    % (k, describe(got), describe(nf[2].frame) if nf else "-",
                       describe(ni[1]) if ni else "-")
        why = None
        if wrong or extra or i < len(fwd) or j < len(icmp):
            why = "%d wrong, %d unexpected, %d forwarded and %d ICMP frames missing; first: %s" % (
                wrong, extra, len(fwd) - i, len(icmp) - j, first or "(none)")
        results.check(name, why is None, why)

    # port counters, drop reasons, accounting
    rep = res.report
    for p in range(2):
        pn, qn = names[p], names[1 - p]
        ins = sent[p]
        exp = {"rx_pkts": len(ins), "rx_bytes": sum(len(fr) for _, fr, _, _ in ins),
               "dropped": sum(1 for _, _, _, e in ins if e.drop),
               "icmp_sent": sum(1 for _, _, _, e in ins if e.icmp),
               "tx_pkts": sum(1 for _, _, _, e in sent[1 - p] if e.frame) +
               sum(1 for _, _, _, e in ins if e.icmp)}
        name = "%s: counters of port %s %s" % (title, pn, " ".join(
            "%s=%d" % kv for kv in sorted(exp.items())))
        pc, qc = rep.ports.get(pn), rep.ports.get(qn)
        if not usable or pc is None or qc is None:
            results.check(name, False, "no usable run / no port line:\n%s" % res.stdout)
            continue
        errs = ["%s %s, expected %d" % (k, pc.get(k), n) for k, n in exp.items() if pc.get(k) != n]
        if pc["tx_pkts"] != len(res.out[p]):
            errs.append("tx_pkts %d != %d frames in its output pcap" % (pc["tx_pkts"],
                                                                        len(res.out[p])))
        if pc["tx_bytes"] != sum(len(f) for f in res.out[p]):
            errs.append("tx_bytes %d != %d bytes in its output pcap"
                        % (pc["tx_bytes"], sum(len(f) for f in res.out[p])))
        results.check(name, not errs, "; ".join(errs))

        name = "%s: accounting of port %s: rx = tx(%s) - icmp_sent(%s) + dropped = sum of " \
               "drop reasons + forwarded" % (title, pn, qn, qn)
        errs = []
        if pc["rx_pkts"] != qc["tx_pkts"] - qc["icmp_sent"] + pc["dropped"]:
            errs.append("rx_pkts %d != %d - %d + %d" % (pc["rx_pkts"], qc["tx_pkts"],
                                                         qc["icmp_sent"], pc["dropped"]))
        if sum(rep.port_drops(pn).values()) != pc["dropped"]:
            errs.append("drop lines sum to %d, dropped %d" % (sum(rep.port_drops(pn).values()),
                                                            pc["dropped"]))
        if doc is not None:
            jp = {x["name"]: x for x in doc["ports"]}.get(pn)
            if jp is None or jp["icmp_tx_full"] != 0 or jp["rx_packets"] != pc["rx_pkts"]:
                errs.append("stats JSON port %s: %s" % (pn, jp and {k: jp[k] for k in (
                    "rx_packets", "icmp_tx_full")}))
        results.check(name, not errs, "; ".join(errs))

        want = {}
        for _, _, _, e in ins:
            if e.drop:
                want[e.drop] = want.get(e.drop, 0) + 1
        got = rep.port_drops(pn)
        results.check("%s: drop reasons of port %s %s" % (title, pn, " ".join(
            "%s=%d" % kv for kv in sorted(want.items())) or "(none)"), got == want,
            "report says %s, expected %s" % (got, want))

    # per flow direction
    jflows = {}
    if doc is not None:
        for f in doc.get("flows", []):
            for d in f.get("directions", []):
                jflows[(f["name"], d["direction"])] = d
    for fname in spec.fc:
        for p in range(2):
            d = "%s->%s" % (names[p], names[1 - p])
            es = [(fr, e) for _, fr, _, e in sent[p] if e.flow == fname]
            if not es:
                continue
            exp = {"pkts": len(es), "bytes": sum(len(fr) for fr, _ in es),
                   "max_len": max(len(fr) for fr, _ in es),
                   "dropped": sum(1 for _, e in es if e.drop)}
            for k in ("oversize", "icmp_sent", "mss_clamped"):
                exp[k] = sum(e.ctr[k] for _, e in es)
            jexp = {k: sum(e.ctr[k] for _, e in es) for k in ("icmp_suppressed", "df_clear",
                                                               "mss_bad_options")}
            jexp["max_oversize"] = max([len(fr) for fr, e in es if e.drop == "oversize"] or [0])
            name = "%s: flow %s %s: %s" % (title, fname, d, " ".join(
                "%s=%d" % kv for kv in list(exp.items()) + list(jexp.items()) if kv[1]))
            if not usable:
                results.check(name, False, "no usable gateway run")
                continue
            errs = []
            got = rep.flows.get((fname, d))
            if got is None:
                errs.append("no flow line")
            else:
                errs += ["%s %s, expected %d" % (k, got.get(k), n) for k, n in exp.items()
                         if got.get(k) != n]
                fwd = fwd_seen.get((fname, p), 0)
                if got["pkts"] != fwd + got["dropped"]:
                    errs.append("accounting: pkts %d != %d forwarded (seen in the output) + %d "
                                "dropped" % (got["pkts"], fwd, got["dropped"]))
            j = jflows.get((fname, d))
            if j is None:
                errs.append("no direction %s in the stats JSON" % d)
            else:
                errs += ["JSON %s %s, expected %d" % (k, j.get(k), n) for k, n in jexp.items()
                         if j.get(k) != n]
            results.check(name, not errs, "; ".join(errs))


def frame_errors(fr, e, by_src, by_dst, names):
    """Why the outputs traced back to input fr do not match e, or None."""
    if len(fr) < 12:
        return None      # nothing to trace; the whole-output check covers it
    fwd = by_src.get(fr[6:12], [])
    back = by_dst.get(fr[6:12], [])
    if e.frame is None:
        if fwd:
            return "input %s should not be forwarded (%s) but left %s as %s" % (
                describe(fr), e.outcome, names[fwd[0][0]], describe(fwd[0][1]))
        if e.icmp is None:
            if back:
                return "input %s (%s) should get no ICMP error, but %s sent %s" % (
                    describe(fr), e.outcome, names[back[0][0]], describe(back[0][1]))
            return None
        if len(back) != 1 or back[0][0] != e.port:
            return "input %s: expected one ICMP error out of %s, got %s" % (
                describe(fr), names[e.port], [(names[q], describe(f)) for q, f in back])
        exp = icmp_expected(e.icmp, back[0][1])
        if back[0][1] != exp:
            return "input %s: ICMP error differs:\n%s" % (describe(fr), frame_diff(exp, back[0][1]))
        return None
    if back:
        return "input %s (%s) got an ICMP error %s" % (describe(fr), e.outcome,
                                                        describe(back[0][1]))
    if len(fwd) != 1 or fwd[0][0] != e.out_port:
        return "input %s: expected one frame out of %s, got %s" % (
            describe(fr), names[e.out_port], [(names[q], describe(f)) for q, f in fwd])
    if fwd[0][1] != e.frame:
        return "input %s (flow %s, %s):\n%s" % (describe(fr), e.flow, e.outcome,
                                                 frame_diff(e.frame, fwd[0][1]))
    return None


# ------------------------------------------------------------- self-test

def self_test(results):
    """The builders and the spec on hand-made examples, so that a broken
    harness cannot make the gateway look right."""
    errs = []
    ip = tcp4(S4, D4, tcp_seg(TCP_SYN, linux_opts(1460)))
    if csum(ip[:20]) != 0 or csum(pseudo4(S4, D4, 6, len(ip) - 20) + ip[20:]) != 0:
        errs.append("IPv4/TCP checksums")
    ip6 = tcp6(S6, D6, tcp_seg(TCP_SYN, linux_opts(1460)), exts=(0, 60))
    if csum(pseudo6(S6, D6, 6, len(ip6) - 56) + ip6[56:]) != 0:
        errs.append("IPv6/TCP checksum")
    for opts_len in range(0, 41, 4):
        if len(ipv4_opts(opts_len)) != opts_len:
            errs.append("ipv4_opts(%d)" % opts_len)
    spec = Spec(CONFIG_MTU)
    for (fl, p, ct), lim in ALLOWED.items():
        l2 = 14 + 4 * len(STACKS[fl][p]) + 4 * ct
        if spec.allowed(fl, p, l2) != lim:
            errs.append("allowed %s %d %d: spec %d, table %d" % (fl, p, ct,
                                                                 spec.allowed(fl, p, l2), lim))
    for fl in MSS4:
        if spec.fc[fl]["mss4"] != MSS4[fl] or (spec.fc[fl]["mss6"] or None) != MSS6[fl]:
            errs.append("mss of %s: %s" % (fl, spec.fc[fl]))
    # a clamp: MSS 1460 -> 1456, checksum still right over the whole segment
    macs = bytes(range(12))
    frm = macs + tag(0x88A8, 100) + tag(0x8100, 5) + b"\x08\x00" + ip
    e = spec.verdict(PA, frm)
    out = e.frame
    seg = out[42:]
    if e.outcome != "clamp" or out[12:16] != tag(0x8100, 3001) or \
            struct.unpack("!H", seg[22:24])[0] != 1456 or \
            csum(pseudo4(S4, D4, 6, len(seg)) + seg) != 0 or out[16:42] != frm[16:42]:
        errs.append("MSS clamp example: %r %s" % (e, out.hex()))
    # an oversize IPv4 DF frame: ICMP with valid checksums, quote 548
    frm = macs + tag(0x88A8, 100) + tag(0x8100, 5) + b"\x08\x00" + udp4(S4, D4, 1497)
    e = spec.verdict(PA, frm)
    if e.icmp is None:
        errs.append("oversize example: %r" % e)
    else:
        x = icmp_expected(e.icmp, b"")
        if x[:6] != macs[6:] or x[6:12] != macs[:6] or csum(x[22:42]) != 0 or \
                csum(x[42:]) != 0 or len(x) != 22 + 576 or \
                struct.unpack("!H", x[48:50])[0] != 1496 or x[50:70] != frm[22:42]:
            errs.append("ICMP example: %s" % x[:80].hex())
    # a truncated 4th tag is payload, a truncated 3rd is bad_tag
    spec2 = Spec(CONFIG_L2)
    t4 = macs + tag(0x8100, 100) + tag(0x8100, 1) + tag(0x8100, 2) + b"\x81\x00\x00"
    if spec2.verdict(CUST, t4).outcome != "fwd" or \
            spec2.verdict(CUST, t4[:22] + b"\x00").outcome != "bad_tag":
        errs.append("bad_tag depth")
    results.check("harness self-test (builders, spec, ICMP template)", not errs, "; ".join(errs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--qinqgw", required=True, help="path of the qinqgw binary")
    ap.add_argument("--qinqgw-stats", help="path of qinqgw-stats (default: beside qinqgw)")
    ap.add_argument("--only", choices=("L2", "MTU", "BADLEN"), help="run one of the runs")
    ap.add_argument("--timeout", type=float, default=60.0,
                    help="seconds one run may take to receive its input (default 60)")
    args = ap.parse_args()
    qinqgw = os.path.abspath(args.qinqgw)
    stats_bin = os.path.abspath(args.qinqgw_stats or os.path.join(os.path.dirname(qinqgw),
                                                                  "qinqgw-stats"))
    results = qgwtest.Results()
    self_test(results)
    if not os.access(qinqgw, os.X_OK):
        results.check("qinqgw binary is executable", False, qinqgw)
        return results.finish()
    for title, build in (("L2", build_l2), ("MTU", build_mtu), ("BADLEN", build_badlen)):
        if args.only and args.only != title:
            continue
        run_case_set(results, qinqgw, stats_bin, build(), args.timeout)
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
