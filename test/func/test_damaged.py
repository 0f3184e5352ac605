"""Functional test: qinqgw-stats on damaged stats segments (docs/stats.md,
lib/stats/qgw_shm.h). The real qinqgw-stats binary reads files in /dev/shm
that this test made from a real gateway's segment and then damaged.

The segment: qinqgw runs on two net_pcap vdevs (one worker) until it has
received its frames (forwarded, dropped, oversize), stops with SIGINT, and
its stopped segment is copied. Every file below is that copy, patched at
the offsets of struct qgw_shm_header (ctypes here, checked against the
header_size and offsets the real segment holds).

Checks:
  1 damaged files: for each damage (magic, version, header size, size field,
    truncated, shorter than a header, empty, huge counts, the counter
    blocks' offset wrapping 2^64, offsets past the end and misaligned,
    family strides overflowing, descriptors outside their element, drop_off
    overflowing, event rings past the end; a directory, a symlink, a FIFO at
    the name) every view (table, --json, --prometheus, --all, --oversize)
    exits 4 with a message that says what is wrong, prints nothing on
    stdout, and never dies by a signal or hangs. A directory stuck "in
    progress" exits 1, "kept changing".
  2 valid but unusual files (names without NUL, with quotes and newlines; no
    drop counters in a family; event times far out of range; no worker):
    exit 0, no signal (and, in the sanitizer build, no report).
  3 nb_workers grows (1 -> 2, in room the file has) and shrinks while
    `qinqgw-stats --watch 0.2 --count 10` runs, the header rewritten in place
    as the gateway does (in_progress, change, epoch + 1): no crash, exit 0,
    the table shows 1 worker, then 2, then 1 again.
  4 the file truncated while `--watch` runs (to half, to 0): exit 4 with the
    "shrank" message, never SIGBUS or SIGSEGV.
  5 a valid segment owned by nobody: `--owner root` exits 8 naming the
    owner; without --owner exit 0 with a warning naming the owner;
    `--owner nobody` exit 0 without warning.

Usage: /usr/bin/python3 test/func/test_damaged.py --qinqgw PATH --qinqgw-stats PATH
"""
import argparse
import ctypes
import os
import pwd
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qgwtest as q  # noqa: E402

TAG = "qgwdmg_%d" % os.getpid()
EXIT_OK, EXIT_NO_SEGMENT, EXIT_LAYOUT, EXIT_OWNER = 0, 1, 4, 8
VIEWS = ([], ["--json"], ["--prometheus"], ["--all"], ["--oversize"])
MSG_CORRUPT = "not a qinqgw stats segment"
MSG_VERSION = "another layout version"
MSG_SHRANK = "shrank"
FAM_PORT, FAM_FLOW, FAM_WORKER, FAM_NIC = range(4)
U32, U64 = 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF


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


# ----------------------------------------------------- segment layout (qgw_shm.h)

class Family(ctypes.Structure):
    _fields_ = [("first", ctypes.c_uint32), ("nb", ctypes.c_uint32),
                ("off", ctypes.c_uint64), ("stride", ctypes.c_uint64),
                ("size", ctypes.c_uint32), ("drop_off", ctypes.c_uint32),
                ("nb_elems", ctypes.c_uint32), ("reserved", ctypes.c_uint32)]


class Header(ctypes.Structure):
    """struct qgw_shm_header without its cache-line padding."""
    _fields_ = [
        ("magic", ctypes.c_char * 8), ("version", ctypes.c_uint32),
        ("header_size", ctypes.c_uint32), ("size", ctypes.c_uint64),
        ("epoch", ctypes.c_uint64), ("in_progress", ctypes.c_uint32),
        ("state", ctypes.c_uint32), ("generation", ctypes.c_uint64),
        ("start_time", ctypes.c_int64), ("stop_time", ctypes.c_int64),
        ("update_time", ctypes.c_int64), ("tsc_hz", ctypes.c_uint64),
        ("start_tsc", ctypes.c_uint64), ("heartbeat", ctypes.c_uint64),
        ("start_mono", ctypes.c_uint64), ("pid_start", ctypes.c_uint64),
        ("pid", ctypes.c_uint32), ("uid", ctypes.c_uint32),
        ("nb_ports", ctypes.c_uint32), ("nb_workers", ctypes.c_uint32),
        ("nb_slots", ctypes.c_uint32), ("nb_drops", ctypes.c_uint32),
        ("version_str", ctypes.c_char * 32),
        ("ports_off", ctypes.c_uint64), ("drops_off", ctypes.c_uint64),
        ("workers_off", ctypes.c_uint64), ("flows_off", ctypes.c_uint64),
        ("counters_off", ctypes.c_uint64), ("counters_stride", ctypes.c_uint64),
        ("events_off", ctypes.c_uint64), ("desc_off", ctypes.c_uint64),
        ("nb_desc", ctypes.c_uint32), ("reserved", ctypes.c_uint32),
        ("fam", Family * 4),
    ]


HEADER_SIZE = 448          # sizeof(struct qgw_shm_header): cache-line aligned
PORT_SIZE, DROP_SIZE, WORKER_SIZE, FLOW_SIZE, DESC_SIZE = 120, 128, 64, 168, 280
DESC_KIND, DESC_OFFSET = 272, 276   # in struct qgw_shm_counter
EV_SIZE, RING_HEAD = 152, 64        # struct qgw_event; ring: head + reserved[7], ev[]
EV_SEQ, EV_TSC, EV_SLOT, EV_PORT = 0, 8, 16, 28


def header(buf):
    """The header of a bytearray, patched in place."""
    return Header.from_buffer(buf)


def layout_errors(real):
    """Does the real segment agree with the layout above? Test data check."""
    h = Header.from_buffer_copy(real[:ctypes.sizeof(Header)])
    e = []
    if h.magic != b"QINQGWST" or h.version != 4 or h.header_size != HEADER_SIZE:
        e.append("magic %r version %d header_size %d: update this test's layout"
                 % (h.magic, h.version, h.header_size))
    if h.size != len(real) or h.nb_ports != 2 or h.nb_workers != 1 or h.state != 2:
        e.append("size %d of %d, %d ports, %d workers, state %d" % (
            h.size, len(real), h.nb_ports, h.nb_workers, h.state))
    if h.ports_off != HEADER_SIZE or h.counters_off + h.counters_stride != h.events_off:
        e.append("ports_off %d, counters %d + %d, events %d: not the writer's layout" % (
            h.ports_off, h.counters_off, h.counters_stride, h.events_off))
    ring = (len(real) - h.events_off) // 2
    if ring % 64 or ring != RING_HEAD + 64 * EV_SIZE:
        e.append("event ring %d bytes" % ring)
    for f in range(4):
        fam = h.fam[f]
        if fam.first + fam.nb > h.nb_desc:
            e.append("family %d: descriptors %d+%d of %d" % (f, fam.first, fam.nb, h.nb_desc))
    return e


def ring_off(h, w, p):
    return h.events_off + (w * h.nb_ports + p) * (RING_HEAD + 64 * EV_SIZE)


# ------------------------------------------------------------ bookkeeping

class Env:
    def __init__(self, args):
        self.qinqgw = os.path.abspath(args.qinqgw)
        self.stats_bin = os.path.abspath(args.qinqgw_stats)
        self.tmp = tempfile.mkdtemp(prefix="qgwdmg_")
        self.names = set()
        self.procs = []

    def name(self, what):
        n = "%s_%s" % (TAG, what)
        self.names.add(n)
        return n

    def put(self, name, data, mode=0o640):
        """Write /dev/shm/name afresh (a new file: a reader sees a new inode)."""
        path = "/dev/shm/" + name
        self.remove(name)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path

    def remove(self, name):
        path = "/dev/shm/" + name
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                os.rmdir(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass

    def stats(self, name, *args, timeout=10):
        return subprocess.run([self.stats_bin, "--stats-name", name] + list(args),
                              capture_output=True, text=True, errors="replace",
                              timeout=timeout)

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for n in self.names:
            self.remove(n)
        shutil.rmtree(self.tmp, ignore_errors=True)


class Checker(q.Results):
    """Results plus guard(): a check that raises is a FAIL, not a crash."""

    def guard(self, name, fn, *a):
        try:
            why = fn(*a)
        except Exception as e:  # noqa: BLE001 - any exception is a failed case
            tb = traceback.format_exc().strip().splitlines()
            why = "exception %s: %s (%s)" % (type(e).__name__, e,
                                             tb[-3].strip() if len(tb) > 2 else "")
        if isinstance(why, (list, tuple)):
            why = "; ".join(why)
        return self.check(name, not why, why or "")


def died(rc):
    """Why a return code is a crash, or None."""
    if rc < 0:
        try:
            return "killed by %s" % signal.Signals(-rc).name
        except ValueError:
            return "killed by signal %d" % -rc
    if rc >= 128:
        return "exit %d (a signal in a shell?)" % rc
    return None


# ------------------------------------------------------------ the segment

def real_segment(env):
    """Bytes of a stopped gateway's segment: 1 worker, counters, oversize events."""
    fm = q.FrameMaker(11)
    inputs = [[], []]
    for p, port in enumerate(("west", "east")):
        for f in CONFIG["flows"]:
            tags = [q.tag(int(t["tpid"], 16), t["vid"]) for t in f[port]]
            for i in range(8):
                inputs[p].append(fm.frame(tags, 64 + 100 * i))
            inputs[p].append(fm.frame(tags, 1600))   # oversize: an event
        inputs[p].append(fm.frame([q.tag(0x8100, 3999)], 100))   # no_flow
        inputs[p].append(fm.raw(b"\x81"))                        # runt
    res = q.run_gateway(env.qinqgw, CONFIG, inputs, keep_stats=True, timeout=60)
    path = "/dev/shm/" + res.stats_name
    try:
        if res.error:
            raise RuntimeError("gateway run: %s" % res.error)
        with open(path, "rb") as f:
            return f.read()
    finally:
        if os.path.exists(path):
            os.unlink(path)


def patched(real, fn):
    b = bytearray(real)
    fn(b, header(b))
    return bytes(b)


def put_u32(b, off, v):
    struct.pack_into("<I", b, off, v)


def put_u64(b, off, v):
    struct.pack_into("<Q", b, off, v)


def damages(real):
    """(title, bytes, message expected on stderr) of every damaged file."""
    h0 = Header.from_buffer_copy(real[:ctypes.sizeof(Header)])
    size = len(real)
    port0, flow0 = h0.fam[FAM_PORT].first, h0.fam[FAM_FLOW].first

    def hdr(**kw):
        def fn(b, h):
            for k, v in kw.items():
                setattr(h, k, v)
        return fn

    def fam(f, **kw):
        def fn(b, h):
            for k, v in kw.items():
                setattr(h.fam[f], k, v)
        return fn

    def desc(i, off, v):
        return lambda b, h: put_u32(b, h0.desc_off + i * DESC_SIZE + off, v)

    out = [
        ("bad magic", patched(real, lambda b, h: b.__setitem__(slice(0, 8), b"QINQGWSX")),
         MSG_CORRUPT),
        ("layout version 3", patched(real, hdr(version=3)), MSG_VERSION),
        ("layout version 99", patched(real, hdr(version=99)), MSG_VERSION),
        ("header_size 512", patched(real, hdr(header_size=512)), MSG_VERSION),
        ("size field 4 KiB more than the file", patched(real, hdr(size=size + 4096)),
         MSG_CORRUPT),
        ("truncated by 4 KiB", real[:-4096], MSG_CORRUPT),
        ("cut after the header", real[:HEADER_SIZE], MSG_CORRUPT),
        ("shorter than a header (100 bytes)", real[:100], MSG_CORRUPT),
        ("empty file", b"", MSG_CORRUPT),
        ("state 7", patched(real, hdr(state=7)), MSG_CORRUPT),
        ("nb_ports 3", patched(real, hdr(nb_ports=3)), MSG_CORRUPT),
        ("nb_workers 2^32-1", patched(real, hdr(nb_workers=U32)), MSG_CORRUPT),
        # ports and flow directions always count their drops by reason
        ("port family without drop counters",
         patched(real, lambda b, h: setattr(h.fam[FAM_PORT], "drop_off", U32)), MSG_CORRUPT),
        ("flow family without drop counters",
         patched(real, lambda b, h: setattr(h.fam[FAM_FLOW], "drop_off", U32)), MSG_CORRUPT),
        ("nb_workers 1024", patched(real, hdr(nb_workers=1024)), MSG_CORRUPT),
        ("nb_workers 2 in a 1-worker file", patched(real, hdr(nb_workers=2)), MSG_CORRUPT),
        ("nb_slots 2^32-1", patched(real, hdr(nb_slots=U32)), MSG_CORRUPT),
        ("nb_drops 2^32-1", patched(real, hdr(nb_drops=U32)), MSG_CORRUPT),
        ("nb_desc 2^32-1", patched(real, hdr(nb_desc=U32)), MSG_CORRUPT),
        ("counters_off + (nb_workers-1) * counters_stride wraps 2^64 "
         "(2 workers, stride 2^64-64)",
         patched(real, hdr(nb_workers=2, counters_stride=U64 - 63)), MSG_CORRUPT),
        ("counters_off 2^64-64", patched(real, hdr(counters_off=U64 - 63)), MSG_CORRUPT),
        ("counters_stride 0", patched(real, hdr(counters_stride=0)), MSG_CORRUPT),
        ("flows_off at the end", patched(real, hdr(flows_off=size)), MSG_CORRUPT),
        ("ports_off past the end", patched(real, hdr(ports_off=size + 64)), MSG_CORRUPT),
        ("desc_off 2^63", patched(real, hdr(desc_off=1 << 63)), MSG_CORRUPT),
        ("ports_off misaligned", patched(real, hdr(ports_off=h0.ports_off + 4)), MSG_CORRUPT),
        ("counters_stride misaligned",
         patched(real, hdr(counters_stride=h0.counters_stride + 4)), MSG_CORRUPT),
        ("events_off 8-aligned, not 64", patched(real, hdr(events_off=h0.events_off + 8)),
         MSG_CORRUPT),
        ("events_off: the rings 64 bytes past the end",
         patched(real, hdr(events_off=h0.events_off + 64)), MSG_CORRUPT),
        ("flow family stride 2^63 (elements * stride overflows)",
         patched(real, fam(FAM_FLOW, stride=1 << 63)), MSG_CORRUPT),
        ("flow family element past the counter block",
         patched(real, fam(FAM_FLOW, off=h0.fam[FAM_FLOW].off + 64)), MSG_CORRUPT),
        ("flow family nb_elems 1", patched(real, fam(FAM_FLOW, nb_elems=1)), MSG_CORRUPT),
        ("nic family off past the end", patched(real, fam(FAM_NIC, off=size)), MSG_CORRUPT),
        ("port family first 2^32-1", patched(real, fam(FAM_PORT, first=U32)), MSG_CORRUPT),
        ("port drop_off 2^32-8 (+ nb_drops * 8 wraps 32 bits)",
         patched(real, fam(FAM_PORT, drop_off=U32 - 7)), MSG_CORRUPT),
        ("port drop_off misaligned",
         patched(real, fam(FAM_PORT, drop_off=h0.fam[FAM_PORT].drop_off + 4)), MSG_CORRUPT),
        ("descriptor offset outside its element",
         patched(real, desc(port0, DESC_OFFSET, h0.fam[FAM_PORT].size)), MSG_CORRUPT),
        ("descriptor offset 2^32-8", patched(real, desc(flow0, DESC_OFFSET, U32 - 7)),
         MSG_CORRUPT),
        ("descriptor kind 0", patched(real, desc(flow0, DESC_KIND, 0)), MSG_CORRUPT),
        ("all zeros", bytes(size), MSG_CORRUPT),
        ("all 0xff", b"\xff" * size, MSG_CORRUPT),
    ]
    return out


def unusual(real):
    """(title, bytes) of valid segments no gateway writes."""
    def odd_names(b, h):
        b[h.ports_off:h.ports_off + 32] = b"P" * 32                     # no NUL
        b[h.ports_off + PORT_SIZE:h.ports_off + PORT_SIZE + 8] = b'e"a\\\n\x00\x00\x00'
        b[h.flows_off:h.flows_off + 64] = b"F" * 64
        b[h.drops_off:h.drops_off + 32] = b"\xff" * 32
        b[h.desc_off:h.desc_off + DESC_SIZE - 8] = b"d" * (DESC_SIZE - 8)
        h.version_str = b"v" * 32

    def far_times(b, h):
        for p in range(2):
            r = ring_off(h, 0, p)
            if struct.unpack_from("<Q", b, r)[0] == 0:   # no event: write one
                put_u64(b, r, 1)
                put_u64(b, r + RING_HEAD + EV_SEQ, 2)
            for i in range(64):
                put_u64(b, r + RING_HEAD + i * EV_SIZE + EV_TSC, U64 - i)
        h.tsc_hz = 1
        h.start_tsc = 0

    def past_times(b, h):
        far_times(b, h)
        h.start_time = -(1 << 62)

    return [
        ("names without NUL, quotes, newline, invalid UTF-8", patched(real, odd_names)),
        ("oversize event times far in the future", patched(real, far_times)),
        ("oversize event times before 1970", patched(real, past_times)),
        ("no worker", patched(real, lambda b, h: setattr(h, "nb_workers", 0))),
        ("port family stride 0", patched(real, lambda b, h: setattr(h.fam[FAM_PORT],
                                                                      "stride", 0))),
    ]


def grown(real):
    """The real segment with room for 2 workers, saying 1: a second counter
    block after the first, event rings for 2 workers, the worker directory
    moved to the end (2 entries). Valid with nb_workers 1 and 2."""
    h = Header.from_buffer_copy(real[:ctypes.sizeof(Header)])
    ring = RING_HEAD + 64 * EV_SIZE
    block = real[h.counters_off:h.counters_off + h.counters_stride]
    events = real[h.events_off:h.events_off + 2 * ring]
    b = bytearray(real[:h.events_off])          # header .. first counter block
    b += block                                  # worker 1: the same counts
    events_off = len(b)
    b += events + bytes(2 * ring)               # rings of worker 0, then 1
    workers_off = len(b)
    w0 = real[h.workers_off:h.workers_off + WORKER_SIZE]
    b += w0 + w0
    nh = header(b)
    nh.size = len(b)
    nh.events_off = events_off
    nh.workers_off = workers_off
    nh.nb_workers = 1
    return bytes(b)


# ------------------------------------------------------------------ checks

def damaged_case(env, name, data, msg):
    env.put(name, data)
    e = []
    for v in VIEWS:
        r = env.stats(name, *v)
        what = "qinqgw-stats %s" % (" ".join(v) or "(table)")
        why = died(r.returncode)
        if why:
            e.append("%s: %s; stderr: %s" % (what, why, r.stderr.strip()[-300:]))
            continue
        if r.returncode != EXIT_LAYOUT:
            e.append("%s: exit %d, expected %d; stderr: %s" % (
                what, r.returncode, EXIT_LAYOUT, r.stderr.strip()[-300:]))
        if msg not in r.stderr or ("/dev/shm/" + name) not in r.stderr:
            e.append("%s: message does not name /dev/shm/%s and say %r: %r" % (
                what, name, msg, r.stderr.strip()[-300:]))
        if r.stdout:
            e.append("%s: printed %d bytes on stdout" % (what, len(r.stdout)))
    return e


def special_file(env, name, kind, real):
    """A directory, a symlink or a FIFO at the name: exit 4, no hang."""
    path = "/dev/shm/" + name
    env.remove(name)
    if kind == "directory":
        os.mkdir(path, 0o755)
    elif kind == "symlink":
        target = env.put(name + "_target", real)
        env.names.add(name + "_target")
        os.symlink(target, path)
    else:
        os.mkfifo(path, 0o640)
    e = []
    try:
        for v in VIEWS[:2]:
            try:
                r = env.stats(name, *v, timeout=5)
            except subprocess.TimeoutExpired:
                e.append("qinqgw-stats %s: still running after 5 s (blocked opening the %s)"
                         % (" ".join(v) or "(table)", kind))
                continue
            why = died(r.returncode)
            if why or r.returncode != EXIT_LAYOUT or MSG_CORRUPT not in r.stderr:
                e.append("qinqgw-stats %s: %s, stderr %r" % (
                    " ".join(v) or "(table)", why or "exit %d" % r.returncode,
                    r.stderr.strip()[-300:]))
    finally:
        env.remove(name)
    return e


def stuck_case(env, name, real):
    env.put(name, patched(real, lambda b, h: setattr(h, "in_progress", 1)))
    t0 = time.monotonic()
    r = env.stats(name)
    dt = time.monotonic() - t0
    e = []
    why = died(r.returncode)
    if why or r.returncode != EXIT_NO_SEGMENT or "kept changing" not in r.stderr:
        e.append("%s, stderr %r" % (why or "exit %d" % r.returncode, r.stderr.strip()))
    if dt > 3:
        e.append("took %.1f s" % dt)
    return e


def unusual_case(env, name, data):
    env.put(name, data)
    e = []
    for v in VIEWS:
        r = env.stats(name, *v)
        what = "qinqgw-stats %s" % (" ".join(v) or "(table)")
        why = died(r.returncode)
        if why or r.returncode != EXIT_OK:
            e.append("%s: %s; stderr: %s" % (what, why or "exit %d" % r.returncode,
                                             r.stderr.strip()[-400:]))
        elif not r.stdout:
            e.append("%s: printed nothing" % what)
        if "runtime error" in r.stderr or "Sanitizer" in r.stderr:
            e.append("%s: sanitizer report: %s" % (what, r.stderr.strip()[-600:]))
    return e


def rewrite(path, fn):
    """Change the header in place as the gateway does: in_progress, change,
    epoch + 1, in_progress 0 (each a write to the shared file)."""
    with open(path, "r+b") as f:
        raw = bytearray(f.read(ctypes.sizeof(Header)))
        h = header(raw)
        f.seek(Header.in_progress.offset)
        f.write(struct.pack("<I", 1))
        f.flush()
        fn(h)
        h.epoch += 1
        h.in_progress = 1
        f.seek(0)
        f.write(raw)
        f.flush()
        f.seek(Header.in_progress.offset)
        f.write(struct.pack("<I", 0))
        f.flush()


def watch(env, name, count=10):
    out = os.path.join(env.tmp, name + ".out")
    err = os.path.join(env.tmp, name + ".err")
    p = subprocess.Popen([env.stats_bin, "--stats-name", name, "--watch", "0.2",
                          "--count", str(count)], stdout=open(out, "w"), stderr=open(err, "w"))
    env.procs.append(p)
    return p, out, err


def finish(p, out, err, timeout=15):
    try:
        rc = p.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
        rc = None
    with open(out, errors="replace") as f:
        o = f.read()
    with open(err, errors="replace") as f:
        e = f.read()
    return rc, o, e


def workers_grow(env, name, real):
    path = env.put(name, grown(real))
    p, out, err = watch(env, name)
    time.sleep(0.5)
    rewrite(path, lambda h: setattr(h, "nb_workers", 2))
    time.sleep(0.6)
    rewrite(path, lambda h: setattr(h, "nb_workers", 1))
    time.sleep(0.4)
    with open(path, "r+b") as f:        # no epoch this time: seen at the next refresh
        f.seek(Header.nb_workers.offset)
        f.write(struct.pack("<I", 2))
    rc, o, e = finish(p, out, err)
    errs = []
    if rc is None:
        return ["--watch did not end within 15 s"]
    why = died(rc)
    if why or rc != EXIT_OK:
        errs.append("%s; stderr %r" % (why or "exit %d" % rc, e.strip()[-400:]))
    tables = [t for t in o.split("\nqinqgw ") if t.strip()]
    seen = []
    for t in tables:
        first = t.splitlines()[0]
        n = "2 workers" if "2 workers" in first else "1 worker" if "1 worker " in first else "?"
        if not seen or seen[-1] != n:
            seen.append(n)
    if len(tables) != 10:
        errs.append("%d tables, expected 10" % len(tables))
    if seen[:3] != ["1 worker", "2 workers", "1 worker"]:
        errs.append("workers seen in turn: %s, expected 1, 2, 1 (then 2 or not)" % seen)
    if e.strip():
        errs.append("stderr: %r" % e.strip()[-400:])
    return errs


def truncated_while_watching(env, name, real, new_len):
    path = env.put(name, real)
    p, out, err = watch(env, name, count=50)
    time.sleep(0.5)
    os.truncate(path, new_len)
    rc, o, e = finish(p, out, err)
    if rc is None:
        return ["--watch still running 15 s after the truncation"]
    why = died(rc)
    errs = []
    if why or rc != EXIT_LAYOUT:
        errs.append("%s, expected exit 4; stderr %r" % (why or "exit %d" % rc, e.strip()[-400:]))
    if MSG_SHRANK not in e:
        errs.append("no %r message: %r" % (MSG_SHRANK, e.strip()[-400:]))
    if "qinqgw " not in o:
        errs.append("no table before the truncation")
    return errs


def owner_cases(env, name, real, results):
    nobody = pwd.getpwnam("nobody")
    path = env.put(name, real)
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    who = "nobody (uid %d)" % nobody.pw_uid

    def refused():
        r = env.stats(name, "--owner", "root")
        e = []
        why = died(r.returncode)
        if why or r.returncode != EXIT_OWNER:
            e.append("%s, expected exit 8; stderr %r" % (why or "exit %d" % r.returncode,
                                                        r.stderr.strip()))
        if who not in r.stderr or "not by root" not in r.stderr:
            e.append("message does not name %s and root: %r" % (who, r.stderr.strip()))
        if r.stdout:
            e.append("printed %d bytes on stdout" % len(r.stdout))
        return e

    def warned():
        e = []
        for v in ([], ["--json"]):
            r = env.stats(name, *v)
            why = died(r.returncode)
            if why or r.returncode != EXIT_OK:
                e.append("%s: %s; stderr %r" % (" ".join(v) or "(table)",
                                                why or "exit %d" % r.returncode,
                                                r.stderr.strip()))
            if "warning" not in r.stderr or who not in r.stderr:
                e.append("%s: no warning naming %s: %r" % (" ".join(v) or "(table)", who,
                                                           r.stderr.strip()))
            if not r.stdout:
                e.append("%s: printed nothing" % (" ".join(v) or "(table)"))
        return e

    def accepted():
        r = env.stats(name, "--owner", "nobody")
        if died(r.returncode) or r.returncode != EXIT_OK or "warning" in r.stderr:
            return "exit %d, stderr %r" % (r.returncode, r.stderr.strip())
        return None

    results.guard("5 owned by nobody, --owner root: exit 8 naming the owner", refused)
    results.guard("5 owned by nobody, no --owner: exit 0 and a warning naming the owner",
                  warned)
    results.guard("5 owned by nobody, --owner nobody: exit 0, no warning", accepted)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw", required=True)
    ap.add_argument("--qinqgw-stats", required=True)
    args = ap.parse_args()
    env = Env(args)
    results = Checker()
    try:
        try:
            real = real_segment(env)
        except Exception as e:  # noqa: BLE001
            results.check("a real gateway's stopped segment (test data)", False, str(e))
            return results.finish()
        errs = layout_errors(real)
        if not results.check("the real segment has the layout this test patches (%d bytes)"
                             % len(real), not errs, "; ".join(errs)):
            return results.finish()
        copy = env.name("copy")
        results.guard("0 an undamaged copy: every view exits 0", unusual_case, env, copy, real)

        for i, (title, data, msg) in enumerate(damages(real)):
            results.guard("1 damaged, %s: exit 4, %r, no signal" % (title, msg),
                          damaged_case, env, env.name("d%d" % i), data, msg)
        for kind in ("directory", "symlink", "fifo"):
            results.guard("1 a %s at the name: exit 4, no hang" % kind, special_file, env,
                          env.name(kind), kind, real)
        results.guard("1 directory stuck in progress: exit 1 'kept changing', no hang",
                      stuck_case, env, env.name("stuck"), real)

        for i, (title, data) in enumerate(unusual(real)):
            results.guard("2 valid, %s: every view exits 0, no signal" % title, unusual_case,
                          env, env.name("u%d" % i), data)

        results.guard("3 nb_workers 1 -> 2 -> 1 -> 2 under --watch: no crash, each seen",
                      workers_grow, env, env.name("grow"), real)
        results.guard("4 truncated to half under --watch: exit 4 'shrank', no SIGBUS",
                      truncated_while_watching, env, env.name("trunc"), real, len(real) // 2)
        results.guard("4 truncated to 0 under --watch: exit 4 'shrank', no SIGBUS",
                      truncated_while_watching, env, env.name("trunc0"), real, 0)
        owner_cases(env, env.name("owner"), real, results)
    finally:
        env.cleanup()
    return results.finish()


if __name__ == "__main__":
    sys.exit(main())
