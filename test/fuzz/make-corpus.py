#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (corpus/frame, corpus/config).

The seeds are committed; run this again only to change them:
    python3 test/fuzz/make-corpus.py
Frame seeds use fuzz_frame.c's input layout and its flow table (port a is
index 0, port b index 1); see the comments there.
"""
import os
import shutil
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))

MACS = bytes.fromhex("02005e102030" "02005ea0b0c0")
V4_SRC, V4_DST = bytes([192, 0, 2, 10]), bytes([198, 51, 100, 20])
V6_SRC = bytes.fromhex("20010db8000000000000000000000010")
V6_DST = bytes.fromhex("20010db8ffff00000000000000000020")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def tags(*t):
    out = b""
    for tpid, vid, *pcp in t:
        out += struct.pack("!HH", tpid, (pcp[0] << 13 if pcp else 0) | vid)
    return out


def ipv4(proto, payload, df=True, src=V4_SRC, dst=V4_DST, frag=0, total=None):
    flags = (0x4000 if df else 0) | frag
    tot = 20 + len(payload) if total is None else total
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot, 1, flags, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def ipv6(nh, payload, src=V6_SRC, dst=V6_DST):
    return struct.pack("!IHBB16s16s", 6 << 28, len(payload), nh, 64, src, dst) + payload


def tcp_syn(mss, ack=False, data=b""):
    opts = struct.pack("!BBH", 2, 4, mss) + b"\x01\x01\x04\x02"  # MSS, NOP NOP SACK-permitted
    flags = 0x12 if ack else 0x02
    return struct.pack("!HHIIBBHHH", 40000, 443, 1, 0, (5 + len(opts) // 4) << 4, flags,
                       65535, 0, 0) + opts + data


def udp(n):
    return struct.pack("!HHHH", 5353, 53, 8 + n, 0) + bytes((i * 7) & 0xFF for i in range(n))


def eth(tagbytes, et, payload):
    return MACS + tagbytes + struct.pack("!H", et) + payload


# Control byte: bits 0-1 segments (2, 3, else 1), 2-4 headroom, 5-7 tailroom class.
ONE = (7 << 2) | (7 << 5)  # one segment, 128 bytes headroom, 2048 tailroom


def burst(port, frames, tx=15, back=15, no_rings=False):
    """frames: list of (bytes, ctl, cut0, cut1)."""
    out = bytes([port | (len(frames) - 1) << 1 | tx << 4, back | (0x10 if no_rings else 0)])
    for i, (data, ctl, c0, c1) in enumerate(frames):
        out += bytes([ctl, c0, c1])
        if i + 1 < len(frames):
            out += struct.pack("!H", len(data))
        out += data
    return out


def one(port, data, ctl=ONE, c0=0, c1=0, **kw):
    return burst(port, [(data, ctl, c0, c1)], **kw)


A, B = 0, 1
S_1TO1 = tags((0x88A8, 100, 3))
S_PUSH = tags((0x88A8, 500))
S_POP = tags((0x8100, 3005), (0x8100, 501))
S_2TO1 = tags((0x88A8, 200), (0x8100, 30))
S_PREFIX = tags((0x88A8, 200), (0x8100, 31))
S_2TO2 = tags((0x88A8, 300), (0x8100, 40))
S_0TO2 = tags((0x8100, 7))
C = tags((0x8100, 10, 5))  # a customer tag

hbh = bytes([6, 0]) + b"\x01\x04\0\0\0\0"  # hop-by-hop, PadN, then TCP
frames = {
    "1to1-udp": one(A, eth(S_1TO1 + C, 0x0800, ipv4(17, udp(40)))),
    "1to1-syn": one(A, eth(S_1TO1 + C, 0x0800, ipv4(6, tcp_syn(1460)))),
    "1to1-synack-back": one(B, eth(tags((0x8100, 3001)) + C, 0x0800, ipv4(6, tcp_syn(1460, True)))),
    "1to1-oversize-v4": one(A, eth(S_1TO1 + C, 0x0800, ipv4(17, udp(300)))),
    "1to1-oversize-v6": one(A, eth(S_1TO1 + C, 0x86DD, ipv6(17, udp(300)))),
    "1to1-oversize-nodf": one(A, eth(S_1TO1, 0x0800, ipv4(17, udp(300), df=False))),
    "1to1-oversize-frag": one(A, eth(S_1TO1, 0x0800, ipv4(17, udp(300), frag=0x20))),
    "1to1-oversize-icmperr": one(A, eth(S_1TO1, 0x0800,
                                       ipv4(1, bytes([3, 4, 0, 0]) + bytes(296)))),
    "1to1-oversize-mcast": one(A, eth(S_1TO1, 0x0800,
                                     ipv4(17, udp(300), src=bytes([224, 0, 0, 5])))),
    "1to1-oversize-noroom": one(A, eth(S_1TO1, 0x0800, ipv4(17, udp(300))), ctl=(0 << 2) | (0 << 5)),
    "1to1-oversize-v6-noroom": one(A, eth(S_1TO1, 0x86DD, ipv6(17, udp(300))), ctl=(1 << 2) | (7 << 5)),
    "push-v4": one(A, eth(S_PUSH + C, 0x0800, ipv4(17, udp(20)))),
    "push-noheadroom": one(A, eth(S_PUSH, 0x0800, ipv4(17, udp(20))), ctl=(2 << 2) | (7 << 5)),
    "push-drop-oversize": one(A, eth(S_PUSH, 0x0800, ipv4(17, udp(200)))),
    "pop-v4": one(B, eth(S_POP + C, 0x0800, ipv4(17, udp(20)))),
    "pop-short": one(B, eth(S_POP, 0x88B5, b"x")),
    "2to1": one(A, eth(S_2TO1 + C, 0x0800, ipv4(17, udp(30)))),
    "2to1-oversize-suppressed": one(A, eth(S_2TO1, 0x0800, ipv4(17, udp(400)))),
    "prefix": one(A, eth(S_PREFIX, 0x0800, ipv4(17, udp(30)))),
    "2to2-v6-syn-hbh": one(A, eth(S_2TO2 + C + tags((0x8100, 11)), 0x86DD,
                                   ipv6(0, hbh + tcp_syn(1440)))),
    "2to2-icmp-rate": burst(A, [
        (eth(S_2TO2, 0x0800, ipv4(17, udp(400))), ONE, 0, 0),
        (eth(S_2TO2, 0x86DD, ipv6(17, udp(400))), ONE, 0, 0),
    ]),
    "2to2-back-v4-syn": one(B, eth(tags((0x9200, 3003), (0x8100, 41)), 0x0800,
                                    ipv4(6, tcp_syn(1400)))),
    "catchall-untagged": one(A, eth(b"", 0x0800, ipv4(17, udp(10)))),
    "catchall-oversize": one(A, eth(b"", 0x0800, ipv4(6, tcp_syn(1460, data=bytes(120))))),
    "catchall-otherTPID": one(A, eth(tags((0x9100, 5)), 0x0806, bytes(28))),
    "catchall-pop": one(B, eth(tags((0x9300, 4000)), 0x0800, ipv4(17, udp(8)))),
    "0to2-v6-syn": one(A, eth(S_0TO2, 0x86DD, ipv6(6, tcp_syn(1440)))),
    "0to2-back-pop": one(B, eth(tags((0x9300, 7), (0x9100, 8)), 0x86DD, ipv6(6, tcp_syn(1440)))),
    "noflow": one(B, eth(tags((0x88A8, 100)), 0x0800, ipv4(17, udp(10)))),
    "runt": one(A, MACS[:10]),
    "badtag": one(A, MACS + struct.pack("!HH", 0x88A8, 100)),
    "unparsable-chain": one(A, eth(S_1TO1 + C, 0x0800, ipv4(17, udp(40))), ctl=ONE | 3, c0=10, c1=10),
    "chain-3": one(A, eth(S_2TO2, 0x0800, ipv4(6, tcp_syn(1460))), ctl=ONE | 3, c0=30, c1=20),
    "chain-pad": one(B, eth(S_POP, 0x0800, b"ab"), ctl=(7 << 2) | 2, c0=24),
    "burst-mixed": burst(A, [
        (eth(S_1TO1 + C, 0x0800, ipv4(17, udp(40))), ONE, 0, 0),
        (eth(S_1TO1 + C, 0x0800, ipv4(17, udp(300))), ONE, 0, 0),
        (eth(S_PUSH, 0x0800, ipv4(6, tcp_syn(1460))), ONE, 0, 0),
        (MACS[:13], ONE, 0, 0),
        (eth(b"", 0x86DD, ipv6(17, udp(200))), ONE, 0, 0),
    ], tx=1, back=0),
    "burst-back": burst(B, [
        (eth(S_POP, 0x0800, ipv4(17, udp(40))), ONE, 0, 0),
        (eth(tags((0x9100, 3002, 7)), 0x0800, ipv4(17, udp(300))), ONE, 0, 0),
        (eth(tags((0x9100, 3010)), 0x86DD, ipv6(17, udp(300))), ONE, 0, 0),
    ], no_rings=True),
}

configs = {
    "demo": open(os.path.join(TOP, "config", "demo.json")).read(),
    "twaren-ccx": open(os.path.join(TOP, "config", "twaren-ccx.json")).read(),
    "mtu-options": """{"version": 1,
 "ports": {"a": {"device": "net_null0", "max_frame": 1526}, "b": {"device": "net_null1", "max_frame": 300}},
 "flows": [
  {"name": "x", "mtu": 200, "oversize": "drop", "mss_clamp": 100, "customer_tags": 0,
   "icmp_rate": 0, "icmp_burst": 1, "a": [{"tpid": 34984, "vid": 1, "pcp": 7}], "b": []},
  {"name": "y", "mss_clamp": false, "a": [{"tpid": "0x9100", "vid": 4094},
   {"tpid": "0x9200", "vid": 2}], "b": [{"tpid": "0x8100", "vid": 7}, {"tpid": "0x8100", "vid": 8}]},
  {"name": "z", "mss_clamp": true, "a": [], "b": [{"tpid": "0x9300", "vid": 9}]}]}""",
    "bad-many": """{"version": 2, "ports": {"a": {"device": "x", "colour": 1}, "name": {"device": "x"}},
 "flows": [{"name": "f", "a": [{"tpid": "0x0800", "vid": 0}], "mtu": 5}, {"name": "f"}]}""",
    "bad-syntax": '{"ports": {"a": {"device": "x",}}',
    "empty-flows": '{"ports": {"p": {"device": "d0"}, "q": {"device": "d1"}}, "flows": []}',
    "not-an-object": '[{"ports": {}}]',
    "small-max-frame": """{"ports": {"p": {"device": "d0", "max_frame": 64}, "q": {"device": "d1"}},
 "flows": [{"name": "f", "p": [{"tpid": "0x88a8", "vid": 1}, {"tpid": "0x8100", "vid": 2}],
 "q": []}]}""",
    "nine-tpids": '{"ports": {"p": {"device": "d0"}, "q": {"device": "d1"}}, "flows": ['
                  + ", ".join('{"name": "f%d", "p": [{"tpid": "0x%x", "vid": 1}], '
                              '"q": [{"tpid": "0x8100", "vid": %d}]}' % (i, 0x9100 + i, i + 1)
                              for i in range(9)) + "]}",
}


def write(d, items):
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    for name, data in items.items():
        with open(os.path.join(d, name), "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)


write(os.path.join(HERE, "corpus", "frame"), frames)
write(os.path.join(HERE, "corpus", "config"), configs)
print(f"{len(frames)} frame seeds, {len(configs)} config seeds")
