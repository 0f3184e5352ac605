#!/usr/bin/python3
"""Faults and endurance: the gateway under a long run, resource exhaustion,
failed transmission, a worker that stops polling, start-up failures, leaks.

The gateway runs in a network namespace of its own on two net_tap ports,
west (tap W) and east (tap E), with --fault-injection. The namespace has
IPv6 disabled and the taps no addresses, so the kernel sends nothing of its
own. One sender thread writes tagged frames into both taps with AF_PACKET
(qdisc bypassed, paced); one receiver thread per tap keeps a count per frame
index. Every frame carries its direction, flow id and index in a trailer,
so each egress frame is traced to the frame it came from and compared byte
for byte with what the spec (qgwtest.Model) makes of it.

Cases (each check prints `ok NAME` or `FAIL NAME: why`):
  1 soak (--soak-seconds, default 150): traffic both ways, a qinqgw-stats
    reader in a loop (JSON every sample, table and Prometheus every 10th),
    config applies alternating A and B over the control socket, and the
    east tap set down for 3 s and up again. Afterwards: counters never went
    down in any sample (ports, workers, flows by name), accounting per port
    and per flow, every frame sent while the links were up arrived exactly
    once and byte-exact, the frames of the flap are accounted for one by
    one (tx_full on the gateway, refused by the kernel on the down tap),
    the flap is logged and counted, mbuf pool in-use and RSS flat, no
    worker reported stalled.
  3 tx_full, twice: (a) the egress tap goes down under traffic, the tap
    PMD's write fails (EIO) and rte_eth_tx_burst() returns short; (b) a
    full egress queue: a second gateway whose east port is net_pcap on a
    veth with a small tbf qdisc (1 Mbit/s) gets 6000 frames/s; the kernel
    refuses frames (ENOBUFS), pcap_sendpacket() fails, net_pcap's tx returns
    short. Both: counted tx_full on the port and the flow direction, frame
    for frame, and the gateway recovers.
  2 mbuf pool held (fault hold_mbufs_ms 2000) under traffic: frames dropped
    and counted as ports[].nic.rx_nombuf, exact accounting, recovery.
  4 worker 0 stalls 3 s (fault stall_ms 3000): flagged in JSON, table and
    Prometheus within 2 s, logged, cleared afterwards; no frame lost.
  5 start-up failures, each exit 1 with one message naming the thing: no
    hugepages, unknown device, too few queues, control socket and stats
    name held by the live gateway, missing --stats-group / --ctl-group.
    "No hugepages" runs the gateway in a mount namespace of its own whose
    sysfs hugepage counters say 0 (EAL fails exactly as with nr_hugepages
    0): the machine's own setting is never changed, since other DPDK
    programs may hold hugepages at the same time.
  6 valgrind: no definite leak in qinqgw-stats, qinqgw-ctl and a gateway
    start/apply/stop cycle (DPDK plugin constructors suppressed:
    test/func/valgrind-dpdk.supp).

Memory: the mbuf pool's in-use count is read from the gateway's memory
(/proc/PID/mem) at the addresses DPDK telemetry gives (MP_<pool> memzone,
the ring in /mempool/info's pool_id): DPDK 22.11's /mempool/info has no
counts. In use = size - ring count - the per-lcore caches.

Usage: test_faults.py --qinqgw PATH [--soak-seconds N] [--only 1,2,...]
       (qinqgw-ctl, qinqgw-stats beside it; root; valgrind for case 6)
"""
import argparse
import errno
import json
import os
import re
import shutil
import signal
import socket
import struct
import sys
import threading
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qgwtest as q  # noqa: E402
import tapenv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
PID = os.getpid()
NS = "qgwflt%d" % PID
TAP_W = "qfw%d" % PID            # at most 15 characters
TAP_E = "qfe%d" % PID
PREFIX = "qgwflt_%d" % PID       # EAL file-prefix and stats name of every gateway here
POOL = "qgw_mbuf_s0"
SUPP = os.path.join(HERE, "valgrind-dpdk.supp")

ETH_P_ALL = 3
SOL_PACKET = 263
PACKET_STATISTICS = 6
PACKET_AUXDATA = 8
PACKET_QDISC_BYPASS = 20
PACKET_OUTGOING = 4
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40
ETHERTYPE = 0x88B5               # local experimental: no L3 processing anywhere
MAGIC = b"QGWF"
DST = bytes.fromhex("02d500000002")
PATTERN = bytes(range(256)) * 3
W, E = 0, 1                      # port indices in the configs and directions
DIRS = ("west->east", "east->west")

RATE = 3000                      # frames/s, both directions together
APPLY_EVERY = 0.5                # seconds between config applies in the soak
FLAP_DOWN = 3.0                  # seconds the east tap stays down
RSS_TOLERANCE_KB = 4096

# Set by test/sanitize.sh (ASan + UBSan build): what cannot hold there is
# reported as not applicable (never counted as passed), see not_applicable().
SANITIZED = os.environ.get("QGW_SANITIZED", "")
NOT_APPLICABLE = []


def not_applicable(name, why):
    """A check that cannot hold in the sanitized build: printed, not counted."""
    NOT_APPLICABLE.append(name)
    print("n/a %s: not applicable in the sanitized build (QGW_SANITIZED=%s): %s"
          % (name, SANITIZED, why), flush=True)


# ------------------------------------------------------------------ configs

def tg(tpid, vid):
    return {"tpid": "0x%04x" % tpid, "vid": vid}


# max_frame 1518: net_tap takes 1522-byte frames at most (see test_live.py)
PORTS = {"west": {"device": "net_tap0", "max_frame": 1518},
         "east": {"device": "net_tap1", "max_frame": 1518}}
U1 = {"name": "u1", "west": [tg(0x88A8, 100)], "east": [tg(0x8100, 1001)]}
U2 = {"name": "u2", "west": [tg(0x88A8, 200), tg(0x8100, 20)], "east": [tg(0x9100, 1002)]}
C_A = {"name": "c", "west": [tg(0x88A8, 400)], "east": [tg(0x8100, 1004)]}
C_B = {"name": "c", "west": [tg(0x88A8, 400)], "east": [tg(0x8100, 2004)]}
R = {"name": "r", "west": [tg(0x88A8, 300)], "east": [tg(0x8100, 1003)]}
A = {"version": 1, "ports": PORTS, "flows": [U1, U2, C_A, R]}
# B lists its flows in another order: slots follow names, not positions
B = {"version": 1, "ports": PORTS, "flows": [U2, U1, C_B]}
STABLE = ("u1", "u2")            # identical in A and B: counters never restart

# flow id -> (name, tags of its frames per ingress port: the flow's stack + a C-tag)
FLOWS = {1: ("u1", ([(0x88A8, 100), (0x8100, 55)], [(0x8100, 1001), (0x8100, 55)])),
         2: ("u2", ([(0x88A8, 200), (0x8100, 20), (0x8100, 77)],
                    [(0x9100, 1002), (0x8100, 77)])),
         3: ("c", ([(0x88A8, 400), (0x8100, 56)], None)),
         4: ("r", ([(0x88A8, 300), (0x8100, 58)], None))}
SOAK_SCHEDULE = [(W, 1), (E, 1), (W, 2), (E, 2), (W, 3), (W, 4)]


def build(d, fid, idx):
    """Frame number idx of direction d (ingress port d), flow fid: unique
    source MAC, length 96..255, trailer MAGIC d fid idx."""
    tags = FLOWS[fid][1][d]
    head = DST + bytes([0x02, 0x51 + d]) + struct.pack("!I", idx)
    head += b"".join(q.tag(t, v) for t, v in tags) + struct.pack("!H", ETHERTYPE)
    fill = 96 + (idx * 13) % 160 - len(head) - 12
    return head + PATTERN[idx & 255:(idx & 255) + fill] + MAGIC + struct.pack("!BBHI", d, fid,
                                                                              0, idx)


class Expect:
    """What the spec makes of a frame of (direction, flow): for each config
    that forwards it, the egress tags replacing the ingress flow stack
    (derived once from qgwtest.Model on a sample frame); frames are >= 96
    bytes and carry PCP 0, so the rest of the frame is unchanged."""

    def __init__(self, configs):
        self.models = [q.Model(c) for c in configs]
        self.cache = {}

    def candidates(self, d, fid):
        key = (d, fid)
        if key not in self.cache:
            sample = build(d, fid, 12345)
            outs = []
            for m in self.models:
                v = m.verdict(d, sample)
                if v.drop is None:
                    k = len(dict((f[0], f[1]) for f in m.flows)[v.flow][d])
                    eg = v.frame[12:len(v.frame) - (len(sample) - 12 - 4 * k)]
                    assert v.frame == sample[:12] + eg + sample[12 + 4 * k:]
                    outs.append((4 * k, eg))
            self.cache[key] = outs
        return self.cache[key]

    def ok(self, d, fid, idx, got):
        fr = build(d, fid, idx)
        return any(got == fr[:12] + eg + fr[12 + k:] for k, eg in self.candidates(d, fid))

    def expected(self, d, fid, idx):
        fr = build(d, fid, idx)
        return [fr[:12] + eg + fr[12 + k:] for k, eg in self.candidates(d, fid)]


# ------------------------------------------------------------ environment

run = tapenv.run
Gateway, Ctl = tapenv.Gateway, tapenv.Ctl


def in_netns(fn):
    """Call fn() with this thread in namespace NS."""
    return q.in_netns(NS, fn)


def link_stats(ifname):
    return tapenv.link_stats(NS, ifname)


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for ln in f:
            if ln.startswith("VmRSS:"):
                return int(ln.split()[1])
    return None


# ------------------------------------------------------------ mbuf pool

class PoolReader:
    """In-use count of a DPDK 22.11 mempool (ring_mp_mc ops), read from the
    gateway's memory. Addresses come from telemetry (memzone MP_<name>,
    /mempool/info pool_id = the ring); the struct fields are located by
    the values telemetry reports, and checked, rather than by fixed
    offsets, except the ring's head/tail pairs (cache lines 2 and 4 of
    struct rte_ring on x86-64, checked against the ring's size and mask)."""

    def __init__(self, pid, tel_path, name=POOL):
        self.pid, self.name = pid, name
        tel = q.Telemetry(tel_path)
        try:
            info = tel.cmd("/mempool/info," + name)["/mempool/info"]
            mz = None
            for z in tel.cmd("/eal/memzone_list")["/eal/memzone_list"]:
                zi = tel.cmd("/eal/memzone_info,%d" % z)["/eal/memzone_info"]
                if zi["Name"] == "MP_" + name:
                    mz = zi
        finally:
            tel.close()
        if mz is None:
            raise RuntimeError("no memzone MP_%s" % name)
        self.size, self.cache_size = info["size"], info["cache_size"]
        self.mp = int(mz["Address"], 16)
        self.ring = info["pool_id"]
        head = self.read(self.mp, 256)
        want = struct.pack("<7I", info["size"], info["cache_size"], info["elt_size"],
                           info["header_size"], info["trailer_size"],
                           info["private_data_size"], info["ops_index"])
        off = head.find(want)
        if off < 0 or struct.pack("<Q", self.ring) not in head[:off]:
            raise RuntimeError("struct rte_mempool of %s not recognised" % name)
        lc_off = (off + len(want) + 7) & ~7
        self.local_cache = struct.unpack("<Q", head[lc_off:lc_off + 8])[0]
        c0 = self.read(self.local_cache, 8)
        self.stride = None
        for stride in range(64, 32768, 64):
            if self.read(self.local_cache + stride, 8) == c0:
                self.stride = stride
                break
        if self.stride is None or struct.unpack("<I", c0[:4])[0] != self.cache_size:
            raise RuntimeError("mempool caches of %s not recognised" % name)
        self.nb_caches = (int(mz["Length"]) - (self.local_cache - self.mp)) // self.stride
        r = self.read(self.ring, 64)
        rsize, self.mask, cap = struct.unpack("<III", r[48:60])
        if rsize & (rsize - 1) or self.mask != rsize - 1 or cap < self.size:
            raise RuntimeError("rte_ring of %s not recognised (size %d mask %d)"
                               % (name, rsize, self.mask))

    def read(self, addr, n):
        with open("/proc/%d/mem" % self.pid, "rb") as f:
            f.seek(addr)
            return f.read(n)

    def sample(self):
        """{in_use, ring, caches: {lcore: len}}; meaningful when quiet."""
        r = self.read(self.ring, 320)
        prod_tail = struct.unpack("<I", r[132:136])[0]
        cons_tail = struct.unpack("<I", r[260:264])[0]
        ring = (prod_tail - cons_tail) & self.mask
        caches = {}
        for lc in range(self.nb_caches):
            size, _, ln = struct.unpack("<III", self.read(self.local_cache + lc * self.stride, 12))
            if ln:
                caches[lc] = ln
        avail = ring + sum(caches.values())
        return {"in_use": self.size - avail, "ring": ring, "caches": caches, "size": self.size}


# ---------------------------------------------------------------- traffic

class Traffic:
    """One paced sender into both taps, one receiver per tap. Per direction
    and index: status (0 not sent, 1 sent, 2 refused by the kernel: link
    down), arrivals, and whether the egress frame was byte-exact."""

    def __init__(self, expect, taps=(TAP_W, TAP_E)):
        self.expect = expect

        def mk():
            txs, rxs = [], []
            for tap in taps:
                tx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
                tx.bind((tap, 0))
                tx.setsockopt(SOL_PACKET, PACKET_QDISC_BYPASS, 1)
                rx = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
                rx.setsockopt(socket.SOL_SOCKET, 33, 256 << 20)   # SO_RCVBUFFORCE
                rx.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
                rx.bind((tap, ETH_P_ALL))
                rx.settimeout(0.1)
                txs.append(tx)
                rxs.append(rx)
            return txs, rxs
        self.tx, self.rx = in_netns(mk)
        self.flow_of = [bytearray(), bytearray()]    # per direction: index -> flow id
        self.status = [bytearray(), bytearray()]
        self.arrived = [bytearray(), bytearray()]    # arrival count, saturating at 255
        self.bad = [[], []]                          # (index, why) of wrong egress frames
        self.nbad = [0, 0]
        self.junk = [0, 0]                           # per egress tap: frames not ours
        self.nrx = [0, 0]                            # per egress tap: frames of ours
        self.refused = [0, 0]
        self.retries = 0
        self.retries_dir = [0, 0]                    # sends the kernel dropped, repeated
        self.sock_drops = 0
        self.rx_error = None
        self.netdown = [0, 0]
        self.lock = threading.Lock()
        self._stop_rx = False
        self._stop_tx = False
        self._tx_thread = None
        self.rx_threads = [threading.Thread(target=self._receive, args=(t,), daemon=True)
                           for t in (W, E)]
        for t in self.rx_threads:
            t.start()

    def _receive(self, tap):
        s = self.rx[tap]
        while not self._stop_rx:
            try:
                data, anc, flags, addr = s.recvmsg(4096, socket.CMSG_SPACE(20))
            except socket.timeout:
                continue
            except OSError as e:
                # the tap went down: the kernel reports ENETDOWN once on the
                # socket and hooks it up again when the tap comes back up
                if e.errno == errno.ENETDOWN:
                    self.netdown[tap] += 1
                    continue
                self.rx_error = e
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
            if flags & socket.MSG_TRUNC or len(data) < 26 or data[-12:-8] != MAGIC:
                self.junk[tap] += 1
                continue
            d, fid, _, idx = struct.unpack("!BBHI", data[-8:])
            with self.lock:
                ok = d == 1 - tap and idx < len(self.status[d]) and \
                    self.flow_of[d][idx] == fid
                if ok:
                    self.nrx[tap] += 1
                    if self.arrived[d][idx] < 255:
                        self.arrived[d][idx] += 1
                else:
                    self.junk[tap] += 1
            if ok and not self.expect.ok(d, fid, idx, data):
                self.nbad[d] += 1
                if len(self.bad[d]) < 3:
                    self.bad[d].append((idx, fid, data))

    def send_one(self, d, fid):
        """Send the next frame of direction d; True if the kernel took it."""
        with self.lock:
            idx = len(self.flow_of[d])
            self.flow_of[d].append(fid)
            self.status[d].append(0)
            self.arrived[d].append(0)
        fr = build(d, fid, idx)
        while True:
            try:
                self.tx[d].send(fr)
                self.status[d][idx] = 1
                return True
            except OSError as e:
                if e.errno in (errno.ENOBUFS, errno.EAGAIN):
                    self.retries += 1
                    self.retries_dir[d] += 1
                    time.sleep(0.0002)
                    continue
                if e.errno in (errno.ENETDOWN, errno.ENXIO):
                    self.status[d][idx] = 2
                    self.refused[d] += 1
                    return False
                raise

    def _paced(self, schedule, rate):
        t0 = time.monotonic()
        i = 0
        while not self._stop_tx:
            target = t0 + i / rate
            now = time.monotonic()
            if target > now + 0.0003:
                time.sleep(target - now)
                continue
            if now - target > 0.005:          # never catch up in long bursts
                t0 += now - target - 0.005
            d, fid = schedule[i % len(schedule)]
            self.send_one(d, fid)
            i += 1

    def start(self, schedule, rate=RATE):
        self._stop_tx = False
        self._tx_thread = threading.Thread(target=self._paced, args=(schedule, rate),
                                           daemon=True)
        self._tx_thread.start()

    def stop(self):
        self._stop_tx = True
        if self._tx_thread is not None:
            self._tx_thread.join()
            self._tx_thread = None

    def sent(self, d):
        """Frames of direction d the kernel took."""
        return self.status[d].count(1)

    def marks(self):
        return [len(self.status[W]), len(self.status[E])]

    def lost(self, d, lo=0, hi=None):
        """Indices in [lo, hi) sent (status 1) that never arrived."""
        hi = len(self.status[d]) if hi is None else hi
        st, ar = self.status[d], self.arrived[d]
        return [i for i in range(lo, hi) if st[i] == 1 and ar[i] == 0]

    def dups(self, d):
        return [i for i, n in enumerate(self.arrived[d]) if n > 1]

    def socket_drops(self):
        for s in self.rx:
            _, drops = struct.unpack("II", s.getsockopt(SOL_PACKET, PACKET_STATISTICS, 8))
            self.sock_drops += drops
        return self.sock_drops

    def wait_arrived(self, d, idx, timeout=3.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if idx < len(self.arrived[d]) and self.arrived[d][idx]:
                return True
            time.sleep(0.01)
        return False

    def settle(self, gw, timeout=15.0):
        """Wait until every counter stands still (gateway rx/tx, receivers)
        for 0.5 s; returns the last stats."""
        deadline = time.monotonic() + timeout
        last, since = None, time.monotonic()
        st = None
        while time.monotonic() < deadline:
            st = gw.stats()
            ps = ports_of(st)
            key = (ps["west"]["rx_packets"], ps["east"]["rx_packets"], ps["west"]["tx_packets"],
                   ps["east"]["tx_packets"], tuple(self.nrx))
            if key != last:
                last, since = key, time.monotonic()
            elif time.monotonic() - since >= 0.5 and \
                    self.nrx == [ps["west"]["tx_packets"] - ps["west"]["icmp_sent"],
                                 ps["east"]["tx_packets"] - ps["east"]["icmp_sent"]]:
                return st
            time.sleep(0.05)
        return st

    def close(self):
        self.stop()
        self._stop_rx = True
        for t in self.rx_threads:
            t.join(timeout=2)
        for s in self.tx + self.rx:
            s.close()


def ports_of(st):
    return {p["name"]: p for p in st["ports"]}


def flow_dir(st, name, d):
    for f in st["flows"]:
        if f["name"] == name:
            for x in f["directions"]:
                if x["direction"] == DIRS[d]:
                    return x
    return None


def accounting(st):
    """Per port: rx = other port's tx - its icmp_sent + dropped; drops sum up."""
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


def diff_ports(st1, st0, key):
    return {n: p[key] - ports_of(st0)[n][key] for n, p in ports_of(st1).items()}


def log_count(gw, text):
    return gw.log().count(text)


# ------------------------------------------------------------ the reader

def flatten(x, pre, out):
    if isinstance(x, bool):
        out[pre] = int(x)
    elif isinstance(x, int):
        out[pre] = x
    elif isinstance(x, dict):
        for k, v in x.items():
            flatten(v, pre + "." + k, out)


COUNTER_SKIP = ("max_frame", "speed_mbps", "up", "full_duplex", "slot", "socket", "lcore",
                "index", "max_oversize", "stalled")


class Reader:
    """qinqgw-stats in a loop: every sample's counters are compared with the
    previous sample's (ports, workers always; flows by name when the
    generation is the same, STABLE flows always)."""

    def __init__(self, gw, period=0.2):
        self.gw, self.period = gw, period
        self.samples = 0
        self.tables = 0
        self.proms = 0
        self.errors = []
        self.nerrors = 0
        self.prev = None
        self._stop = False
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self._stop = True
        self.thread.join()

    def err(self, msg):
        self.nerrors += 1
        if len(self.errors) < 10:
            self.errors.append(msg)

    def counters(self, st):
        c = {}
        for p in st["ports"]:
            flatten({k: v for k, v in p.items() if k not in ("name", "device", "max_frame")},
                    "port %s" % p["name"], c)
        for w in st["workers"]:
            flatten(w, "worker %d" % w["index"], c)
        flows = {}
        for f in st["flows"]:
            for dd in f["directions"]:
                fc = {}
                flatten({k: v for k, v in dd.items() if not isinstance(v, str)}, "", fc)
                flows[(f["name"], dd["direction"])] = fc
        return {k: v for k, v in c.items() if k.split(".")[-1] not in COUNTER_SKIP}, flows

    def _loop(self):
        while not self._stop:
            t0 = time.monotonic()
            self.one()
            time.sleep(max(0, self.period - (time.monotonic() - t0)))

    def one(self):
        p = run([self.gw.env.stats_bin, "--stats-name", self.gw.stats_name, "--json"],
                check=False)
        if p.returncode != 0:
            self.err("sample %d: qinqgw-stats exit %d: %s" % (self.samples, p.returncode,
                                                              p.stderr.strip()))
            return
        try:
            st = json.loads(p.stdout)
        except ValueError as e:
            self.err("sample %d: not JSON: %s" % (self.samples, e))
            return
        self.samples += 1
        gen = st["gateway"]["generation"]
        ports, flows = self.counters(st)
        if self.prev is not None:
            pgen, pports, pflows = self.prev
            for k, v in ports.items():
                if k in pports and v < pports[k]:
                    self.err("sample %d: %s went down %d -> %d" % (self.samples, k, pports[k], v))
            for key, fc in flows.items():
                if key not in pflows or (gen != pgen and key[0] not in STABLE):
                    continue
                for k, v in fc.items():
                    if k.split(".")[-1] in COUNTER_SKIP:
                        continue
                    if v < pflows[key].get(k, 0):
                        self.err("sample %d (generation %d after %d): flow %s %s%s went down "
                                 "%d -> %d" % (self.samples, gen, pgen, key[0], key[1], k,
                                               pflows[key][k], v))
            if gen < pgen:
                self.err("sample %d: generation went down %d -> %d" % (self.samples, pgen, gen))
        self.prev = (gen, ports, flows)
        if self.samples % 10 == 0:
            t = run([self.gw.env.stats_bin, "--stats-name", self.gw.stats_name], check=False)
            if t.returncode != 0 or "west" not in t.stdout or "FLOW" not in t.stdout:
                self.err("table: exit %d %r" % (t.returncode, (t.stdout + t.stderr)[:300]))
            else:
                self.tables += 1
            pr = run([self.gw.env.stats_bin, "--stats-name", self.gw.stats_name,
                      "--prometheus"], check=False)
            if pr.returncode != 0 or 'qinqgw_port_rx_packets_total{port="west"}' not in pr.stdout:
                self.err("prometheus: exit %d %r" % (pr.returncode,
                                                     (pr.stdout + pr.stderr)[:300]))
            else:
                self.proms += 1


# ----------------------------------------------------------------- case 1

class Ctx:
    """What the cases share: results, environment, the main gateway, traffic."""

    def __init__(self, res, env, args):
        self.res, self.env, self.args = res, env, args
        self.cfg_path = env.write("running.json", A)
        self.texts = {"A": json.dumps(A), "B": json.dumps(B)}
        self.gw = Gateway(env, "main", self.cfg_path, extra=["--fault-injection"])
        self.gw.start()
        for tap in (TAP_W, TAP_E):
            run(["ip", "-n", NS, "link", "set", tap, "up", "arp", "off", "multicast", "off",
                 "txqueuelen", "10000"])
        self.expect = Expect([A, B])
        self.tr = Traffic(self.expect)
        self.ctl = Ctl(self.gw.sock)
        self.tel_path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % self.gw.prefix
        self.pool = None
        self.figures = {}

    def check(self, name, ok, why=""):
        return self.res.check(name, ok, why)

    def ensure(self, name):
        r = self.ctl.req("show")
        want = q.Model(A if name == "A" else B)
        got = sorted(f["name"] for f in r["config"]["flows"])
        if got != sorted(n for n, _ in want.flows) or \
                (name == "A") != any(f["name"] == "c" and f["east"][0]["vid"] == 1004
                                     for f in r["config"]["flows"]):
            r = self.ctl.req("apply", config=self.texts[name])
            if not r["ok"]:
                raise RuntimeError("cannot apply %s: %s" % (name, r))

    def pool_sample(self):
        if self.pool is None:
            self.pool = PoolReader(self.gw.pid(), self.tel_path)
        return self.pool.sample()


def kernel_counters():
    return {t: link_stats(t) for t in (TAP_W, TAP_E)}, tapenv.softnet_dropped()


def case1(cx):
    res, tr, gw = cx.res, cx.tr, cx.gw
    soak = cx.args.soak_seconds
    cx.ensure("A")

    # warm-up: traffic, a few applies, then quiet for the first memory sample
    tr.start(SOAK_SCHEDULE)
    for i in range(10):
        time.sleep(0.4)
        cx.ctl.req("apply", config=cx.texts["B" if i % 2 == 0 else "A"])
    time.sleep(0.5)
    tr.stop()
    st_w = tr.settle(gw)
    pool0 = cx.pool_sample()
    rss0 = rss_kb(gw.pid())
    base_marks = tr.marks()
    retries0 = list(tr.retries_dir)
    k0, sn0 = kernel_counters()
    st0 = gw.stats()
    gen0 = st0["gateway"]["generation"]
    link0 = ports_of(st0)["east"]["link"]["changes"]
    stalls0 = [w["stalls"] for w in st0["workers"]]
    nlog_down, nlog_up = log_count(gw, "port east: link down"), log_count(gw, "port east: link up")
    print("# case 1 warm-up: %d + %d frames, mbuf pool %s in use of %d (ring %d, caches %s), "
          "RSS %d kB" % (base_marks[0], base_marks[1], pool0["in_use"], pool0["size"],
                         pool0["ring"], pool0["caches"], rss0), flush=True)
    if st_w is None or accounting(st_w):
        res.check("1 warm-up settles with exact accounting", False,
                  "; ".join(accounting(st_w)) if st_w else "no stats")

    reader = Reader(gw)
    reader.start()
    tr.start(SOAK_SCHEDULE)
    t0 = time.monotonic()
    applies, bad_applies = 0, []
    flap = None
    flap_at = t0 + soak * 0.4
    name = "B"
    try:
        while time.monotonic() - t0 < soak:
            if flap is None and time.monotonic() >= flap_at:
                lo = tr.marks()
                td = time.monotonic()
                run(["ip", "-n", NS, "link", "set", TAP_E, "down"])
                time.sleep(FLAP_DOWN)
                run(["ip", "-n", NS, "link", "set", TAP_E, "up"])
                tu = time.monotonic()
                # up again when a frame of u1 sent after the link came up is back
                time.sleep(0.2)
                fence = tr.marks()
                resumed = None
                while time.monotonic() - tu < 10:
                    if any(tr.arrived[W][i] for i in range(fence[W], len(tr.arrived[W]))):
                        resumed = time.monotonic() - tu
                        break
                    time.sleep(0.02)
                hi = tr.marks()
                # the frames of the window are handled before the next apply
                time.sleep(0.3)
                flap = {"lo": lo, "hi": hi, "down_s": tu - td, "resumed_s": resumed,
                        "config": "A" if name == "B" else "B"}
                continue
            ta = time.monotonic()
            r = cx.ctl.req("apply", config=cx.texts[name])
            applies += 1
            if not r.get("ok") or r.get("generation") != gen0 + applies:
                bad_applies.append((applies, r))
            name = "A" if name == "B" else "B"
            time.sleep(max(0, APPLY_EVERY - (time.monotonic() - ta)))
    finally:
        tr.stop()
        reader.stop()
    soak_s = time.monotonic() - t0
    st = tr.settle(gw)
    reader.one()                                  # a last sample, after everything
    k1, sn1 = kernel_counters()
    pool1 = cx.pool_sample()
    rss1 = rss_kb(gw.pid())
    end_marks = tr.marks()

    # --- what happened, in figures
    sent = [tr.sent(d) - tr.status[d][:base_marks[d]].count(1) for d in (W, E)]
    got = [sum(1 for i in range(base_marks[d], end_marks[d]) if tr.arrived[d][i])
           for d in (W, E)]
    fig = cx.figures
    fig.update({"soak_s": soak_s, "sent": sent, "received": got, "refused": list(tr.refused),
                "applies": applies, "samples": reader.samples, "tables": reader.tables,
                "proms": reader.proms, "rss0": rss0, "rss1": rss1, "pool0": pool0,
                "pool1": pool1, "flap": flap, "retries": tr.retries})
    print("# case 1: %.0f s soak; west->east %d sent, %d received; east->west %d sent, %d "
          "received; %d refused by the down tap; %d applies; %d reader samples (%d tables, "
          "%d Prometheus); mbuf pool in use %d -> %d of %d; RSS %d -> %d kB; %d send retries"
          % (soak_s, sent[W], got[W], sent[E], got[E], tr.refused[E] + tr.refused[W], applies,
             reader.samples, reader.tables, reader.proms, pool0["in_use"], pool1["in_use"],
             pool0["size"], rss0, rss1, tr.retries), flush=True)

    res.check("1 soak: gateway alive after %.0f s (qinqgw still running)" % soak_s,
              gw.proc.poll() is None, "exit %s" % gw.proc.returncode)
    res.check("1 soak: %d config applies alternating A and B, all accepted, generation +1 "
              "each" % applies, applies > 0 and not bad_applies,
              "%d bad, first: %s" % (len(bad_applies), json.dumps(bad_applies[:1])[:600]))
    res.check("1 soak: counters never went down in %d reader samples (ports, workers, "
              "flows by name; generation)" % reader.samples,
              reader.samples > soak / 0.5 and not reader.errors,
              "%d errors: %s" % (reader.nerrors, "\n  ".join(reader.errors)))
    res.check("1 soak: the table (%d) and --prometheus (%d) readers worked every time"
              % (reader.tables, reader.proms), reader.tables > 0 and reader.proms > 0 and
              not any("table" in e or "prometheus" in e for e in reader.errors), "")

    # --- accounting per port and per flow
    ps = ports_of(st)
    errs = accounting(st)
    for d, pn in ((W, "west"), (E, "east")):
        if ps[pn]["rx_packets"] != tr.sent(d):
            errs.append("%s rx_packets %d, %d frames sent into tap %s since start" % (
                pn, ps[pn]["rx_packets"], tr.sent(d), (TAP_W, TAP_E)[d]))
        if ps[pn]["tx_packets"] != tr.nrx[d]:
            errs.append("%s tx_packets %d, the receiver on its tap got %d" % (
                pn, ps[pn]["tx_packets"], tr.nrx[d]))
    res.check("1 accounting: per port rx = frames sent into its tap, tx = frames its tap "
              "received, rx = other tx - icmp_sent + named drops", not errs, "; ".join(errs))

    # per frame, outside and inside the flap
    lo, hi = (flap["lo"], flap["hi"]) if flap else (end_marks, end_marks)
    errs = []
    lost_up = {}
    for d in (W, E):
        for i in tr.lost(d, base_marks[d], end_marks[d]):
            if lo[d] <= i < hi[d]:
                continue
            name_ = FLOWS[tr.flow_of[d][i]][0]
            lost_up.setdefault((d, name_), []).append(i)
    lost_up.pop((W, "r"), None)         # not forwarded under B: checked as no_flow below
    c_bad = tr.nbad
    for (d, n), idx in sorted(lost_up.items()):
        errs.append("%s %s: %d frames lost (first index %d)" % (DIRS[d], n, len(idx), idx[0]))
    dups = [tr.dups(W), tr.dups(E)]
    if dups[W] or dups[E]:
        errs.append("duplicated: %d west->east, %d east->west" % (len(dups[W]), len(dups[E])))
    if c_bad[W] or c_bad[E]:
        for d in (W, E):
            for idx, fid, data in tr.bad[d][:1]:
                errs.append("%s frame %d of %s wrong:\n%s" % (
                    DIRS[d], idx, FLOWS[fid][0],
                    q.frame_diff(cx.expect.expected(d, fid, idx)[0], data)))
        errs.append("%d + %d wrong egress frames" % (c_bad[W], c_bad[E]))
    res.check("1 frames lost while the links were up: 0 (u1, u2 both ways, c west->east; "
              "each arrived exactly once and byte-exact)", not errs, "\n  ".join(errs))
    # every west->east frame not delivered is counted, under its name
    nf, txf = ps["west"]["drops"]["no_flow"], ps["west"]["drops"]["tx_full"]
    lost_w = tr.lost(W, 0)
    r_in = [i for i in tr.lost(W, lo[W], hi[W]) if tr.flow_of[W][i] == 4]
    nf_in = len(r_in) if flap and flap["config"] == "B" else 0
    others = {k: v for k, v in ps["west"]["drops"].items() if k not in ("no_flow", "tx_full")}
    errs = []
    if len(lost_w) != nf + txf:
        errs.append("%d west->east frames not delivered since start, west no_flow %d + "
                    "tx_full %d" % (len(lost_w), nf, txf))
    r_out = [i for i in lost_w if tr.flow_of[W][i] == 4 and not lo[W] <= i < hi[W]]
    if nf - nf_in != len(r_out):
        errs.append("outside the flap %d frames of r not delivered since start, no_flow %d "
                    "(%d of them during the flap under config B)" % (len(r_out), nf, nf_in))
    if any(others.values()) or any(ps["east"]["drops"].values()):
        errs.append("other drops: west %s, east %s" % (others, ps["east"]["drops"]))
    res.check("1 every west->east frame not delivered is counted: %d = west no_flow %d "
              "(flow r, only in A) + tx_full %d (the flap); no other drop"
              % (len(lost_w), nf, txf), not errs, "; ".join(errs))

    # per flow and direction, by name (STABLE flows: counters since start)
    errs = []
    for d in (W, E):
        for n in STABLE:
            fid = [k for k, v in FLOWS.items() if v[0] == n][0]
            nsent = sum(1 for i in range(len(tr.status[d]))
                        if tr.flow_of[d][i] == fid and tr.status[d][i] == 1)
            narr = sum(1 for i in range(len(tr.status[d]))
                       if tr.flow_of[d][i] == fid and tr.arrived[d][i])
            fd = flow_dir(st, n, d)
            if fd is None:
                errs.append("no flow %s %s" % (n, DIRS[d]))
                continue
            if fd["packets"] != nsent or fd["packets"] - fd["dropped"] != narr or \
                    fd["dropped"] != fd["drops"]["tx_full"]:
                errs.append("%s %s: packets %d dropped %d (%s), sent %d arrived %d" % (
                    n, DIRS[d], fd["packets"], fd["dropped"],
                    {k: v for k, v in fd["drops"].items() if v}, nsent, narr))
    res.check("1 flows u1, u2 by name, both directions: packets = frames sent, packets - "
              "dropped = frames arrived, only tx_full drops", not errs, "; ".join(errs))

    # --- the flap
    if flap is None:
        res.check("1 link flap happened", False, "soak too short")
    else:
        lostW = tr.lost(W, lo[W], hi[W])
        txf = ps["west"]["drops"]["tx_full"]
        flow_txf = sum(flow_dir(st, FLOWS[f][0], W)["drops"]["tx_full"]
                       for f in (1, 2) if flow_dir(st, FLOWS[f][0], W))
        fig["flap_lost_w"] = len(lostW)
        fig["flap_txfull"] = txf
        fig["flap_refused_e"] = tr.refused[E]
        lostE = tr.lost(E, lo[E], hi[E])
        kd = {t: (k1[t]["tx"]["dropped"] - k0[t]["tx"]["dropped"]) for t in (TAP_W, TAP_E)}
        print("# case 1 flap: east down %.1f s; west->east %d frames sent in the window, %d "
              "not delivered, west tx_full %d; east->west %d refused by the down tap, %d sent "
              "and lost; tap tx dropped %s; traffic back %.2f s after up"
              % (flap["down_s"], hi[W] - lo[W], len(lostW), txf, tr.refused[E], len(lostE),
                 kd, flap["resumed_s"] or -1), flush=True)
        lost_u = sum(1 for i in lostW if FLOWS[tr.flow_of[W][i]][0] in STABLE)
        res.check("1 flap: west->east frames not delivered while east was down (%d%s) = west "
                  "drops.tx_full (%d); those of u1, u2 (%d) = their flows' tx_full (%d)"
                  % (len(lostW), ", %d of r under B not counted here" % nf_in if nf_in else "",
                     txf, lost_u, flow_txf),
                  len(lostW) - nf_in == txf and txf > 0 and lost_u == flow_txf,
                  "lost %d, port tx_full %d; u1+u2 lost %d, their tx_full %d"
                  % (len(lostW), txf, lost_u, flow_txf))
        res.check("1 flap: east->west sends refused by the down tap (%d) are the only "
                  "east->west frames missing (%d sent and lost)" % (tr.refused[E], len(lostE)),
                  tr.refused[E] > 0 and not lostE,
                  "refused %d, lost %s" % (tr.refused[E], lostE[:10]))
        logs = (log_count(gw, "port east: link down") - nlog_down,
                log_count(gw, "port east: link up") - nlog_up)
        changes = ps["east"]["link"]["changes"] - link0
        res.check("1 flap: logged (port east: link down, link up), link.changes +2, link up "
                  "at the end", logs == (1, 1) and changes == 2 and ps["east"]["link"]["up"],
                  "log lines %s, changes +%d, up %s" % (logs, changes, ps["east"]["link"]["up"]))
        res.check("1 flap: the port keeps its flows, traffic resumes (first frame back %.2f s "
                  "after up)" % (flap["resumed_s"] or -1), flap["resumed_s"] is not None,
                  "no west->east frame arrived within 10 s of link up")

    # --- harness: the kernel lost nothing outside the flap
    # A frame a tap's queue had no room for is dropped there (tx dropped +1)
    # and refused to the sender (ENOBUFS), which sends it again: each tap must
    # have dropped exactly the sends the sender repeated. The backlog counter
    # is global (every interface of the machine; frames to and from the taps
    # never queue there): a backlog drop only counts against the harness when
    # a frame of ours is missing without a named drop.
    unexplained = sum(len(v) for v in lost_up.values()) + abs(len(lost_w) - (nf + txf))
    kerr = []
    for d, t in ((W, TAP_W), (E, TAP_E)):
        kd = k1[t]["tx"]["dropped"] - k0[t]["tx"]["dropped"]
        if kd != tr.retries_dir[d] - retries0[d]:
            kerr.append("tap %s tx dropped %d, the sender repeated %d refused sends" % (
                t, kd, tr.retries_dir[d] - retries0[d]))
    if tr.socket_drops():
        kerr.append("receive sockets dropped %d" % tr.sock_drops)
    if sn1 != sn0 and unexplained:
        kerr.append("kernel backlog dropped %d (all interfaces) and %d frames are missing "
                    "without a named drop" % (sn1 - sn0, unexplained))
    elif sn1 != sn0:
        print("# kernel backlog dropped %d frames (all interfaces), none of ours: every frame "
              "is accounted for" % (sn1 - sn0), flush=True)
    if tr.junk != [0, 0]:
        kerr.append("foreign frames on the taps: %s" % tr.junk)
    res.check("1 harness: the kernel dropped nothing it did not report to the sender (taps: "
              "%d sends refused with ENOBUFS and repeated; sockets: none), no foreign "
              "frame" % (sum(tr.retries_dir) - sum(retries0)), not kerr, "; ".join(kerr))

    # --- memory
    res.check("1 memory: mbuf pool %s in use %d after warm-up, %d at the end (quiet both "
              "times)" % (POOL, pool0["in_use"], pool1["in_use"]),
              pool0["in_use"] == pool1["in_use"],
              "warm-up %s, end %s" % (pool0, pool1))
    name = "1 memory: RSS %d kB after warm-up, %d kB at the end (tolerance %d kB)" % (
        rss0, rss1, RSS_TOLERANCE_KB)
    if SANITIZED:
        not_applicable(name, "ASan's quarantine and shadow memory grow with every free, so RSS "
                       "is not flat by design; LeakSanitizer checks leaks at exit instead")
    else:
        res.check(name, rss1 - rss0 <= RSS_TOLERANCE_KB, "grew by %d kB" % (rss1 - rss0))
    stalls = [w["stalls"] for w in st["workers"]]
    res.check("1 no worker reported stalled during the soak", stalls == stalls0 and
              not any(w["stalled"] for w in st["workers"]) and "stalled" not in
              gw.log().replace("fault injection", ""),
              "stalls %s -> %s" % (stalls0, stalls))


# ----------------------------------------------------------------- case 3

def link_flap(tap, seconds):
    run(["ip", "-n", NS, "link", "set", tap, "down"])
    time.sleep(seconds)
    run(["ip", "-n", NS, "link", "set", tap, "up"])


def resume_after(tr, d, timeout=10.0):
    """Seconds until a frame of direction d sent from now on arrives, or None."""
    t0 = time.monotonic()
    mark = len(tr.arrived[d])
    while time.monotonic() - t0 < timeout:
        if any(tr.arrived[d][i] for i in range(mark, len(tr.arrived[d]))):
            return time.monotonic() - t0
        time.sleep(0.02)
    return None


def case3(cx):
    """tx_full: the egress tap goes down for 1 s under west->east traffic."""
    res, tr, gw = cx.res, cx.tr, cx.gw
    cx.ensure("A")
    st0 = tr.settle(gw)
    start = tr.marks()
    nic0 = ports_of(st0)["east"]["nic"]["tx_errors"]
    tr.start([(W, 1)], 2000)
    time.sleep(0.5)
    lo = tr.marks()
    link_flap(TAP_E, 1.0)
    time.sleep(0.2)
    back = resume_after(tr, W)
    hi = tr.marks()
    time.sleep(0.5)
    tr.stop()
    end = tr.marks()
    st = tr.settle(gw)
    lost = tr.lost(W, lo[W], hi[W])
    lost_out = tr.lost(W, start[W], lo[W]) + tr.lost(W, hi[W], end[W])
    d_port = ports_of(st)["west"]["drops"]["tx_full"] - ports_of(st0)["west"]["drops"]["tx_full"]
    d_flow = flow_dir(st, "u1", W)["drops"]["tx_full"] - flow_dir(st0, "u1", W)["drops"]["tx_full"]
    d_nic = ports_of(st)["east"]["nic"]["tx_errors"] - nic0
    cx.figures["txfull"] = (len(lost), d_port, d_flow, d_nic)
    print("# case 3: east down 1 s: %d of %d west->east frames not delivered; west tx_full "
          "+%d, flow u1 west->east tx_full +%d; east nic.tx_errors +%d (net_tap's oerrors "
          "is not a frame count)" % (len(lost), hi[W] - lo[W], d_port, d_flow, d_nic),
          flush=True)
    res.check("3 tx_full: rte_eth_tx_burst() returning short (net_tap write on a down tap: "
              "EIO) is counted: %d frames not delivered = west drops.tx_full +%d = flow u1 "
              "west->east drops.tx_full +%d" % (len(lost), d_port, d_flow),
              len(lost) > 0 and len(lost) == d_port == d_flow,
              "lost %d, port +%d, flow +%d" % (len(lost), d_port, d_flow))
    errs = accounting(st)
    if lost_out:
        errs.append("%d frames lost outside the down window (first %d)" % (len(lost_out),
                                                                        lost_out[0]))
    if back is None:
        errs.append("no frame came back after link up")
    if tr.dups(W):
        errs.append("%d duplicated" % len(tr.dups(W)))
    res.check("3 tx_full: the gateway recovers (frames back %.2f s after link up, none lost "
              "outside the window, accounting exact)" % (back or -1), not errs, "; ".join(errs))


TAP_X = "qfx%d" % PID              # west port of the queue-full gateway
VETH_A = "qva%d" % PID             # its east port (net_pcap on a veth) ...
VETH_B = "qvb%d" % PID             # ... and the veth's other end, where frames arrive
TXQ_CFG = {"version": 1,
           "ports": {"west": {"device": "net_tap0", "max_frame": 1518},
                     "east": {"device": "net_pcap1", "max_frame": 1518}},
           "flows": [U1]}


def qdisc_sent(dev):
    p = run(["tc", "-n", NS, "-s", "-j", "qdisc", "show", "dev", dev], check=False)
    try:
        return sum(x.get("packets", 0) for x in json.loads(p.stdout) if x.get("root"))
    except ValueError:
        return None


def case3_queue(cx):
    """A full egress queue: a second gateway's east port is net_pcap on a veth
    whose qdisc (tbf, 1 Mbit/s, 3000 bytes) is full; the kernel refuses the
    frame (ENOBUFS), pcap_sendpacket() fails and net_pcap's tx returns short."""
    res, env = cx.res, cx.env
    run(["ip", "-n", NS, "link", "add", VETH_A, "type", "veth", "peer", "name", VETH_B])
    for v in (VETH_A, VETH_B):
        run(["ip", "-n", NS, "link", "set", v, "up", "arp", "off", "multicast", "off"])
    run(["tc", "-n", NS, "qdisc", "replace", "dev", VETH_A, "root", "tbf", "rate", "1mbit",
         "burst", "1600", "limit", "3000"])
    g = Gateway(env, "txq", env.write("txq.json", TXQ_CFG),
                devices=["net_tap0,iface=" + TAP_X, "net_pcap1,iface=" + VETH_A])
    tr = None
    try:
        g.start()
        run(["ip", "-n", NS, "link", "set", TAP_X, "up", "arp", "off", "multicast", "off",
             "txqueuelen", "10000"])
        tr = Traffic(Expect([TXQ_CFG]), taps=(TAP_X, VETH_B))
        st0 = g.stats()
        q0 = qdisc_sent(VETH_A)
        # 3000 frames at 6000/s: about 8 times what 1 Mbit/s carries
        t0 = time.monotonic()
        for i in range(3000):
            while time.monotonic() < t0 + i / 6000:
                pass
            tr.send_one(W, 1)
        st1 = tr.settle(g)
        m1 = tr.marks()
        # then 100 frames at 100/s: the queue keeps up
        tr.start([(W, 1)], 100)
        time.sleep(1.0)
        tr.stop()
        end = tr.marks()
        st = tr.settle(g)
        q1 = qdisc_sent(VETH_A)
        lost1 = tr.lost(W, 0, m1[W])
        lost2 = tr.lost(W, m1[W], end[W])
        d = {k: ports_of(st1)["west"]["drops"][k] - ports_of(st0)["west"]["drops"][k]
             for k in ("tx_full",)}
        d_flow = flow_dir(st1, "u1", W)["drops"]["tx_full"] - \
            flow_dir(st0, "u1", W)["drops"]["tx_full"]
        east_tx = ports_of(st)["east"]["tx_packets"] - ports_of(st0)["east"]["tx_packets"]
        cx.figures["queue"] = (m1[W], len(lost1), d["tx_full"], d_flow)
        print("# case 3 queue full: %d frames at 6000/s into a 1 Mbit/s egress: %d delivered, "
              "%d not; west tx_full +%d, flow u1 west->east tx_full +%d; qdisc sent %s; then "
              "%d at 100/s: %d not delivered"
              % (m1[W], m1[W] - len(lost1), len(lost1), d["tx_full"], d_flow,
                 None if q0 is None or q1 is None else q1 - q0, end[W] - m1[W], len(lost2)),
              flush=True)
        res.check("3 tx_full, egress queue full (net_pcap on a veth, tbf qdisc full: "
                  "ENOBUFS): %d frames not delivered = west drops.tx_full +%d = flow u1 "
                  "west->east drops.tx_full +%d" % (len(lost1), d["tx_full"], d_flow),
                  len(lost1) > 0 and len(lost1) == d["tx_full"] == d_flow,
                  "not delivered %d, port +%d, flow +%d" % (len(lost1), d["tx_full"], d_flow))
        errs = accounting(st)
        if lost2:
            errs.append("%d of %d frames lost after the burst" % (len(lost2), end[W] - m1[W]))
        if east_tx != tr.nrx[E]:
            errs.append("east tx_packets +%d, %d arrived on %s" % (east_tx, tr.nrx[E], VETH_B))
        if q0 is not None and q1 is not None and q1 - q0 != east_tx:
            errs.append("the qdisc sent %d, the gateway counted %d" % (q1 - q0, east_tx))
        if tr.nbad[W] or tr.dups(W):
            errs.append("%d wrong, %d duplicated frames" % (tr.nbad[W], len(tr.dups(W))))
        res.check("3 tx_full, egress queue full: the gateway recovers (the %d frames sent "
                  "slowly afterwards all arrive), east tx_packets = frames arrived = qdisc "
                  "sent, accounting exact" % (end[W] - m1[W]), not errs, "; ".join(errs))
    finally:
        if tr is not None:
            tr.close()
        rc = g.stop()
        if rc != 0:
            res.check("3 queue-full gateway stopped cleanly", False, "exit %s: %s" % (
                rc, g.log()[-800:]))
        run(["ip", "-n", NS, "link", "del", VETH_A], check=False)


# ----------------------------------------------------------------- case 2

def case2(cx):
    """The mbuf pool held by the control plane for 2 s under traffic."""
    res, tr, gw = cx.res, cx.tr, cx.gw
    cx.ensure("A")
    st0 = tr.settle(gw)
    k0, _ = kernel_counters()
    retries0 = tr.retries_dir[W]
    nheld = log_count(gw, "mbufs held")
    start = tr.marks()
    tr.start([(W, 1)], 2000)
    time.sleep(0.5)
    r = cx.ctl.req("fault", hold_mbufs_ms=2000)
    t_hold = time.monotonic()
    during = []
    while time.monotonic() - t_hold < 1.8:
        time.sleep(0.3)
        try:
            during.append(cx.pool_sample())
        except (OSError, RuntimeError) as e:
            during.append({"error": str(e)})
    time.sleep(max(0, t_hold + 2.3 - time.monotonic()))
    back = resume_after(tr, W)
    time.sleep(0.5)
    tr.stop()
    end = tr.marks()
    st = tr.settle(gw)
    k1, _ = kernel_counters()
    nic0, nic1 = ports_of(st0)["west"]["nic"], ports_of(st)["west"]["nic"]
    d_nombuf = nic1["rx_nombuf"] - nic0["rx_nombuf"]
    d_missed = nic1["rx_missed"] - nic0["rx_missed"]
    d_rx = ports_of(st)["west"]["rx_packets"] - ports_of(st0)["west"]["rx_packets"]
    sent = sum(1 for i in range(start[W], end[W]) if tr.status[W][i] == 1)
    lost = tr.lost(W, start[W], end[W])
    kdrop = k1[TAP_W]["tx"]["dropped"] - k0[TAP_W]["tx"]["dropped"]
    worst = min((s for s in during if "in_use" in s), key=lambda s: s["ring"], default=None)
    cx.figures["hold"] = (sent, d_rx, d_nombuf, d_missed, len(lost), worst)
    print("# case 2: hold 2 s under 2000 frames/s: %d sent, gateway rx +%d, nic rx_nombuf "
          "+%d, rx_missed +%d, %d not delivered, tap %s tx dropped %d; pool during the hold: "
          "%s" % (sent, d_rx, d_nombuf, d_missed, len(lost), TAP_W, kdrop,
                  "; ".join("ring %d caches %s" % (s["ring"], s["caches"]) if "ring" in s
                            else s["error"] for s in during)), flush=True)
    res.check("2 fault hold_mbufs_ms accepted, `mbufs held` and `given back` logged",
              r.get("ok") is True and log_count(gw, "mbufs held") == nheld + 1 and
              "mbufs given back" in gw.log(), "response %s" % json.dumps(r))
    why = ""
    if d_nombuf == 0:
        why = ("no frame was dropped: the control plane took %s of the pool's mbufs from "
               "the shared ring, but the per-lcore mempool caches kept mbufs circulating "
               "(during the hold: %s); the worker allocates receive buffers from and frees "
               "sent ones to its own cache, so the pool was never exhausted for it"
               % (re.findall(r"fault injection: (\d+) mbufs held", gw.log())[-1:] or "?",
                  "ring %d, caches %s" % (worst["ring"], worst["caches"]) if worst else "?"))
    res.check("2 pool exhausted: frames dropped during the hold and counted as west "
              "nic.rx_nombuf (+%d) / rx_missed (+%d)" % (d_nombuf, d_missed),
              d_nombuf + d_missed > 0, why)
    # a send the tap had no room for was dropped there and repeated by the
    # sender (the frame counts once in `sent`): the tap drops nothing else
    errs = []
    retried = tr.retries_dir[W] - retries0
    if kdrop != retried:
        errs.append("tap %s tx dropped %d, the sender repeated %d refused sends"
                    % (TAP_W, kdrop, retried))
    if sent != d_rx + d_nombuf + d_missed:
        errs.append("%d sent != gateway rx %d + rx_nombuf %d + rx_missed %d"
                    % (sent, d_rx, d_nombuf, d_missed))
    if len(lost) != d_nombuf + d_missed:
        errs.append("%d frames not delivered, %d counted" % (len(lost), d_nombuf + d_missed))
    errs += accounting(st)
    res.check("2 accounting exact: frames sent = gateway rx + nic rx_nombuf + rx_missed (tap "
              "dropped only the %d sends it refused and the sender repeated); every frame the "
              "gateway received was forwarded" % retried, not errs, "; ".join(errs))
    res.check("2 recovers by itself: frames flow after the hold (back %.2f s after it ended)"
              % (back or -1), back is not None and gw.proc.poll() is None,
              "no frame arrived after the hold")


# ----------------------------------------------------------------- case 4

def stats_text(gw, *args):
    return run([gw.env.stats_bin, "--stats-name", gw.stats_name] + list(args), check=False)


def case4(cx):
    """Worker 0 stops polling for 3 s."""
    res, tr, gw = cx.res, cx.tr, cx.gw
    cx.ensure("A")
    st0 = tr.settle(gw)
    stalls0 = st0["workers"][0]["stalls"]
    lcore = st0["workers"][0]["lcore"]
    k0, _ = kernel_counters()
    retries0 = list(tr.retries_dir)
    n_st, n_again = log_count(gw, "stalled: no progress"), log_count(gw, "polls again")
    start = tr.marks()
    tr.start([(W, 1), (E, 1)], 2000)
    time.sleep(0.5)
    t_req = time.monotonic()
    r = cx.ctl.req("fault", worker=0, stall_ms=3000)
    # the worker starts its stall at its next loop, before the answer is back:
    # times count from the answer (a slow control plane, e.g. in the sanitized
    # build, is not the detector being slow)
    t0 = time.monotonic()
    t_detect = t_clear = None
    table = prom = None
    while time.monotonic() - t0 < 10:
        st = gw.stats()
        w0 = st["workers"][0]
        if t_detect is None and w0["stalled"]:
            t_detect = time.monotonic() - t0
            table = stats_text(gw)
            prom = stats_text(gw, "--prometheus")
        if t_detect is not None and not w0["stalled"]:
            t_clear = time.monotonic() - t0
            break
        time.sleep(0.1)
    time.sleep(0.5)
    tr.stop()
    end = tr.marks()
    st = tr.settle(gw)
    k1, _ = kernel_counters()
    cx.figures["stall"] = (t_detect, t_clear)
    print("# case 4: stall 3 s: request answered in %.3f s; flagged %s s, cleared %s s after "
          "the answer" % (t0 - t_req, "%.2f" % t_detect if t_detect else "-",
                          "%.2f" % t_clear if t_clear else "-"), flush=True)
    res.check("4 fault stall_ms accepted", r.get("ok") is True, json.dumps(r))
    res.check("4 qinqgw-stats --json workers[0].stalled true within ~2 s (checked every "
              "second, so 1..2 s, 0.5 s slack): after %s s"
              % ("%.2f" % t_detect if t_detect else "-"),
              t_detect is not None and t_detect <= 2.5, "never flagged" if t_detect is None
              else "flagged after %.2f s" % t_detect)
    res.check("4 the table warns: worker 0 (lcore %d) is STALLED" % lcore,
              table is not None and "worker 0 (lcore %d) is STALLED" % lcore in table.stdout,
              (table.stdout[:400] if table else "no table taken while stalled"))
    res.check('4 Prometheus: qinqgw_worker_stalled{worker="0"} 1 while stalled',
              prom is not None and re.search(r'^qinqgw_worker_stalled\{worker="0"\} 1$',
                                             prom.stdout, re.M) is not None,
              "\n".join(ln for ln in (prom.stdout if prom else "").splitlines()
                        if "stalled" in ln) or "no sample")
    res.check("4 logged: worker 0 (lcore %d) stalled" % lcore,
              log_count(gw, "worker 0 (lcore %d) stalled" % lcore) == n_st + 1,
              gw.log()[-600:])
    w0 = st["workers"][0]
    res.check("4 after it resumes: stalled false (after %s s), stalls %d -> %d, `polls again` "
              "logged" % ("%.2f" % t_clear if t_clear else "-", stalls0, w0["stalls"]),
              t_clear is not None and t_clear <= 3.0 + 2.5 and not w0["stalled"] and
              w0["stalls"] == stalls0 + 1 and log_count(gw, "polls again") == n_again + 1,
              "stalled %s, stalls %d, `polls again` lines +%d" % (
                  w0["stalled"], w0["stalls"], log_count(gw, "polls again") - n_again))
    errs = []
    for d in (W, E):
        lost = tr.lost(d, start[d], end[d])
        if lost:
            errs.append("%s: %d frames lost" % (DIRS[d], len(lost)))
        if tr.dups(d):
            errs.append("%s: %d duplicated" % (DIRS[d], len(tr.dups(d))))
    nic = {n: {k: p["nic"][k] - ports_of(st0)[n]["nic"][k] for k in ("rx_missed", "rx_nombuf")}
           for n, p in ports_of(st).items()}
    # a tap drops only the sends it refused (queue full), which the sender repeats
    kd = {t: k1[t]["tx"]["dropped"] - k0[t]["tx"]["dropped"] for t in (TAP_W, TAP_E)}
    retried = {t: tr.retries_dir[d] - retries0[d] for d, t in ((W, TAP_W), (E, TAP_E))}
    if any(v for x in nic.values() for v in x.values()) or kd != retried:
        errs.append("NIC counted %s, taps dropped %s, the sender repeated %s refused sends"
                    % (nic, kd, retried))
    errs += accounting(st)
    res.check("4 traffic resumes: every frame sent during the stall (queued in the tap, "
              "txqueuelen 10000) forwarded exactly once, both directions; nothing missed",
              not errs, "; ".join(errs))


# ----------------------------------------------------------------- case 5

PCAP_CFG = {"version": 1,
            "ports": {"west": {"device": "net_pcap0"}, "east": {"device": "net_pcap1"}},
            "flows": [{"name": "u1", "west": [tg(0x88A8, 100)], "east": [tg(0x8100, 1001)]}]}


def missing_group():
    import grp
    name = "qgwnogrp%d" % PID
    try:
        grp.getgrnam(name)
        return None
    except KeyError:
        return name


def startup_failure(cx, slug, title, needles, **kw):
    env = cx.env
    cfg = kw.pop("cfg", PCAP_CFG)
    g = Gateway(env, slug, env.write(slug + ".json", cfg), devices="pcap", **kw)
    g.start(wait=False)
    rc = g.wait(120)
    if rc is None:
        g.stop()
    err = g.log()
    lines = [ln for ln in err.splitlines() if ln.startswith("qinqgw:")]
    ok = rc == 1 and len(lines) == 1 and all(n in lines[0] for n in needles)
    cx.res.check("5 start-up failure, %s: exit 1, one message naming %s" % (
        title, ", ".join(repr(n) for n in needles)), ok,
        "exit %s; qinqgw lines %r; all output:\n    %s" % (
            rc, lines, "\n    ".join(err.splitlines()[-8:])))
    return g


def case5_live(cx):
    """Names held by the live main gateway."""
    gw = cx.gw
    pid = gw.pid()
    startup_failure(cx, "shm", "stats name held by a live gateway",
                    ["/dev/shm/" + gw.stats_name, "running gateway", str(pid)],
                    stats_name=gw.stats_name)
    startup_failure(cx, "sock", "control socket held by a live gateway",
                    [gw.sock, "in use by a running gateway"], sock=gw.sock)
    st = gw.stats(check=False)
    p = run([cx.env.ctl_bin, "--socket", gw.sock, "show"], check=False)
    cx.res.check("5 the live gateway is untouched (its segment says running, pid %d; its "
                 "socket answers)" % pid,
                 st is not None and st["gateway"]["state"] == "running" and
                 st["gateway"]["pid"] == pid and p.returncode == 0 and gw.proc.poll() is None,
                 "stats %s, show exit %d %r" % (st and st["gateway"], p.returncode, p.stderr))


def case5_offline(cx):
    res = cx.res
    bad_dev = json.loads(json.dumps(PCAP_CFG))
    bad_dev["ports"]["east"]["device"] = "net_pcap7"
    startup_failure(cx, "nodev", "unknown device", ["port east", '"net_pcap7"', "not found"],
                    cfg=bad_dev)
    startup_failure(cx, "queues", "queues: 2 workers on a one-queue net_pcap port",
                    ["port west", "net_pcap0", "2 workers"],
                    eal=["--lcores", "0@0,(1,2)@1"])
    grp_name = missing_group()
    if grp_name is None:
        res.check("5 a missing group name", False, "qgwnogrp%d exists" % PID)
    else:
        startup_failure(cx, "sgrp", "missing --stats-group", ["stats group", '"%s"' % grp_name,
                                                      "does not exist"],
                        extra=["--stats-group", grp_name])
        startup_failure(cx, "cgrp", "missing --ctl-group", ["control group", '"%s"' % grp_name,
                                                    "does not exist"],
                        extra=["--ctl-group", grp_name])

    # no hugepages: the gateway runs in a mount namespace of its own where the
    # kernel's hugepage counters (sysfs) say 0 pages of every size; the
    # machine's real setting is not touched (other DPDK programs may be using
    # hugepages at the same time)
    startup_failure(cx, "nohuge", "no hugepages (run without --no-huge, 0 pages reserved)",
                    ["hugepage"], huge=True,
                    wrapper=["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             NO_HUGEPAGES_SH, "no-hugepages"])
    log = open(cx.env.path("nohuge.stderr")).read()
    res.check("5 harness: without hugepages EAL refused to start (`Cannot get hugepage "
              "information`, as with nr_hugepages 0)",
              "Cannot get hugepage information" in log, log[-600:])


NO_HUGEPAGES_SH = r"""set -e
for d in /sys/kernel/mm/hugepages /sys/devices/system/node/node*/hugepages; do
    [ -d "$d" ] || continue
    sizes=$(ls "$d")
    mount -t tmpfs -o size=64k qgw-no-hugepages "$d"
    for s in $sizes; do
        mkdir "$d/$s"
        for f in nr_hugepages free_hugepages resv_hugepages surplus_hugepages \
                 nr_overcommit_hugepages; do
            echo 0 > "$d/$s/$f"
        done
    done
done
exec "$@"
"""


# ----------------------------------------------------------------- case 6

def valgrind_cmd(env, tag):
    log = env.path("vg-%s.log" % tag)
    return log, ["valgrind", "--leak-check=full", "--errors-for-leak-kinds=definite",
                 "--show-leak-kinds=definite", "--error-exitcode=99", "--suppressions=" + SUPP,
                 "--log-file=" + log]


def valgrind_verdict(log, rc, want_rc):
    """'' if the run is clean, else why."""
    try:
        with open(log) as f:
            text = f.read()
    except OSError as e:
        return "no valgrind log: %s" % e
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    lost = re.search(r"definitely lost: ([\d,]+) bytes in ([\d,]+) blocks", text)
    why = []
    if rc != want_rc:
        why.append("exit %s, expected %s" % (rc, want_rc))
    if m is None or m.group(1) != "0":
        why.append("ERROR SUMMARY %s" % (m.group(1) if m else "missing"))
    if lost and lost.group(1) != "0":
        why.append("definitely lost %s bytes in %s blocks" % (lost.group(1), lost.group(2)))
    if why:
        records = re.findall(r"==\d+== (\S.*(?:definitely lost|Invalid|uninitialised).*)", text)
        why.append("first: %s; log %s" % (records[:3], log))
    return "; ".join(why)


def case6_sanitized(name):
    """valgrind cannot run an ASan binary (the shadow memory clashes with its
    own mappings); in that build every process exits under LeakSanitizer,
    whose reports fail test/sanitize.sh."""
    if not SANITIZED:
        return False
    not_applicable(name, "valgrind cannot run an ASan binary; LeakSanitizer checks every "
                   "process of this build for leaks at exit (test/sanitize.sh fails on any "
                   "report)")
    return True


def case6_tools(cx):
    res, env, gw = cx.res, cx.env, cx.gw
    if case6_sanitized("6 valgrind: qinqgw-stats and qinqgw-ctl, no definite leak, no error"):
        return True
    if shutil.which("valgrind") is None:
        res.check("6 valgrind is installed", False,
                  "valgrind missing: apt-get install valgrind (test/setup.sh must install it)")
        return False
    bad = env.write("bad.json", '{"version": 1, "ports": {,}}\n')
    a_path, b_path = env.write("A.json", A), env.write("B.json", B)
    stats_runs = [([], 0), (["--json"], 0), (["--prometheus"], 0), (["--oversize"], 0),
                  (["--oversize", "--json"], 0), (["--flow", "u1"], 0),
                  (["--port", "west", "--json"], 0), (["--watch", "0.2", "--count", "2"], 0),
                  (["--flow", "nosuch"], 5), (["--bogus"], 2)]
    fails, n = [], 0
    for args, want in stats_runs:
        log, vg = valgrind_cmd(env, "stats%d" % n)
        n += 1
        p = run(vg + [env.stats_bin, "--stats-name", gw.stats_name] + args, check=False,
                timeout=120)
        why = valgrind_verdict(log, p.returncode, want)
        if why:
            fails.append("%s: %s" % (" ".join(args) or "(table)", why))
    log, vg = valgrind_cmd(env, "stats-none")
    p = run(vg + [env.stats_bin, "--stats-name", PREFIX + "_none"], check=False, timeout=120)
    why = valgrind_verdict(log, p.returncode, 1)
    if why:
        fails.append("no segment: %s" % why)
    res.check("6 valgrind: qinqgw-stats (table, --json, --prometheus, --oversize [--json], "
              "filters, --watch, no segment, bad option, no match): %d runs, no definite leak, "
              "no error" % (n + 1), not fails, "\n  ".join(fails))

    sock = gw.sock
    ctl_runs = [(["show"], 0), (["--json", "show"], 0), (["check", a_path], 0),
                (["check", bad], 1), (["diff", b_path], 0), (["apply", b_path], 0),
                (["apply", a_path], 0), (["apply", bad], 1), (["confirm"], 1),
                (["apply", env.path("missing.json")], None), (["frobnicate"], 2)]
    fails, n = [], 0
    for args, want in ctl_runs:
        log, vg = valgrind_cmd(env, "ctl%d" % n)
        n += 1
        p = run(vg + [env.ctl_bin, "--socket", sock] + args, check=False, timeout=120)
        why = valgrind_verdict(log, p.returncode, p.returncode if want is None else want)
        if want is None and p.returncode == 0:
            why = "a missing file was accepted"
        if why:
            fails.append("%s: %s" % (" ".join(args), why))
    log, vg = valgrind_cmd(env, "ctl-nosock")
    p = run(vg + [env.ctl_bin, "--socket", env.path("nosuch.sock"), "show"], check=False,
            timeout=120)
    why = valgrind_verdict(log, p.returncode, 3)
    if why:
        fails.append("no gateway: %s" % why)
    res.check("6 valgrind: qinqgw-ctl (show [--json], check, diff, apply, refused apply, "
              "confirm with nothing pending, missing file, unknown command, no gateway): %d "
              "runs, no definite leak, no error" % (n + 1), not fails, "\n  ".join(fails))
    return True


def case6_gateway(cx):
    res, env = cx.res, cx.env
    if case6_sanitized("6 valgrind: qinqgw start/apply/stop cycle, no definite leak, no error"):
        return
    log, vg = valgrind_cmd(env, "qinqgw")
    cfg2 = json.loads(json.dumps(PCAP_CFG))
    cfg2["flows"].append({"name": "u2", "west": [tg(0x88A8, 200)], "east": [tg(0x9100, 1002)]})
    g = Gateway(env, "vg", env.write("vg.json", PCAP_CFG), devices="pcap", wrapper=vg)
    t0 = time.monotonic()
    errs = []
    try:
        g.start(timeout=180)
        # Under valgrind (one thread at a time) the busy-polling worker can
        # hold the CPU for long stretches: an answer took over 30 s once.
        c = Ctl(g.sock, timeout=150)
        for req in (dict(command="show"), dict(command="check", config=json.dumps(cfg2)),
                    dict(command="apply", config=json.dumps(cfg2)),
                    dict(command="apply", config="{"),
                    dict(command="apply", config=json.dumps(PCAP_CFG), confirm=60),
                    dict(command="confirm"), dict(command="fault", worker=0, stall_ms=10)):
            cmd = req.pop("command")
            r = c.req(cmd, **req)
            # under valgrind a worker can stay unscheduled past the 1 s RCU
            # timeout: the apply is then answered applied, not yet retired
            if cmd == "apply" and "{" != req.get("config") and not (
                    r.get("ok") or (r.get("applied") and r.get("retired") is False)):
                errs.append("%s refused: %s" % (cmd, r))
        c.close()
        st = g.stats(check=False)
        if st is None or st["gateway"]["generation"] != 3:
            errs.append("generation %s after two applies" % (st and st["gateway"]["generation"]))
    except (RuntimeError, OSError, ValueError) as e:
        errs.append(str(e))
    rc = g.stop(timeout=180)
    dt = time.monotonic() - t0
    why = valgrind_verdict(log, rc, 0)
    if why:
        errs.append(why)
    cx.figures["valgrind_gateway_s"] = dt
    res.check("6 valgrind: qinqgw start, show/check/apply/refused apply/apply --confirm/"
              "confirm/fault refused, SIGINT stop (%.0f s): exit 0, no definite leak outside "
              "the DPDK plugin constructors (%s), no error" % (dt, os.path.basename(SUPP)),
              not errs, "; ".join(errs) + ("\n  log tail: " + g.log()[-800:] if errs else ""))


# ------------------------------------------------------------------- main

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw", required=True)
    ap.add_argument("--soak-seconds", type=float, default=150)
    ap.add_argument("--only", default="1,3,2,4,5,6",
                    help="cases to run, comma-separated (default all)")
    args = ap.parse_args()
    only = set(args.only.split(","))
    if os.geteuid() != 0:
        print("test_faults.py needs root (network namespace, taps, /proc/PID/mem, hugepages)")
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sys.setswitchinterval(0.0002)
    res = q.Results()
    env = cx = None
    t_start = time.monotonic()

    def guarded(name, fn, *a):
        if name.split()[0] not in only:
            return
        if cx is not None and cx.gw.proc.poll() is not None and fn not in (case5_offline,
                                                                           case6_gateway):
            res.check("case %s" % name, False, "the gateway is gone (exit %s)"
                      % cx.gw.proc.returncode)
            return
        try:
            fn(*a)
        except Exception as e:  # one broken case does not hide the others
            res.check("case %s ran to the end" % name, False, "%s\n%s" % (
                e, traceback.format_exc()))

    try:
        env = tapenv.Env(args.qinqgw, NS, (TAP_W, TAP_E), PREFIX, "qgwflt_")
        cx = Ctx(res, env, args)
        guarded("1 soak", case1, cx)
        guarded("3 tx_full", case3, cx)
        guarded("3 queue full", case3_queue, cx)
        guarded("2 mbuf hold", case2, cx)
        guarded("4 stall", case4, cx)
        guarded("5 live", case5_live, cx)
        guarded("6 tools", case6_tools, cx)
        cx.tr.close()
        cx.ctl.close()
        rc = cx.gw.stop()
        out = cx.gw.log()
        res.check("gateway stopped cleanly on SIGINT after all cases (exit 0, exit report, no "
                  "crash)", rc == 0 and "port west" in out and "PANIC" not in out and
                  "Segmentation" not in out, "exit %s:\n%s" % (rc, out[-1500:]))
        guarded("5 offline", case5_offline, cx)
        guarded("6 gateway", case6_gateway, cx)
    except Exception as e:
        res.check("set-up", False, "%s\n%s" % (e, traceback.format_exc()))
    finally:
        if cx is not None:
            cx.tr.close()
            if res.failed:
                print("# log of the main gateway (tail):\n%s" % cx.gw.log()[-3000:])
            f = cx.figures
            if "soak_s" in f:
                print("# figures: soak %.0f s at %d frames/s; sent %d west->east + %d "
                      "east->west, received %d + %d; flap: %s west->east not delivered = "
                      "tx_full %s, %s east->west refused by the down tap; %d applies; %d "
                      "reader samples; mbuf pool in use %d -> %d of %d; RSS %d -> %d kB"
                      % (f["soak_s"], RATE, f["sent"][W], f["sent"][E], f["received"][W],
                         f["received"][E], f.get("flap_lost_w"), f.get("flap_txfull"),
                         f.get("flap_refused_e"), f["applies"], f["samples"],
                         f["pool0"]["in_use"], f["pool1"]["in_use"], f["pool0"]["size"],
                         f["rss0"], f["rss1"]))
        if env is not None:
            env.cleanup()
        print("# %.0f s" % (time.monotonic() - t_start))
        if NOT_APPLICABLE:
            print("# %d checks not applicable in the sanitized build (not counted): %s"
                  % (len(NOT_APPLICABLE), "; ".join(NOT_APPLICABLE)))
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
