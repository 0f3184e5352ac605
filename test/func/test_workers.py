#!/usr/bin/python3
"""Several workers: each owns an RX/TX queue pair on both ports.

Two workers (lcores 1 and 2, both pinned to CPU 1 with --lcores, so the test
runs on a 2-core machine) and two queues per net_pcap port, one pcap file per
queue. net_pcap has no RSS, so queue q receives exactly the frames of its rx
pcap: a frame received on queue q of one port must leave on queue q of the
other port (the same worker), translated, in order; each worker's counters in
the stats segment must hold exactly its queue's frames; the totals must add
up in the exit report.

Usage: test_workers.py --qinqgw PATH
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import qgwtest as q  # noqa: E402

CONFIG = {
    "ports": {"twaren": {"device": "net_pcap0"}, "ccx": {"device": "net_pcap1"}},
    "flows": [
        {"name": "one", "twaren": [{"tpid": "0x88a8", "vid": 100}],
         "ccx": [{"tpid": "0x8100", "vid": 3001}]},
        {"name": "two", "twaren": [{"tpid": "0x88a8", "vid": 200}, {"tpid": "0x8100", "vid": 30}],
         "ccx": [{"tpid": "0x9100", "vid": 3002}]},
    ],
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw", required=True)
    args = ap.parse_args()
    stats_bin = os.path.join(os.path.dirname(args.qinqgw), "qinqgw-stats")
    res = q.Results()
    model = q.Model(CONFIG)
    fm = q.FrameMaker(seed=7)

    # inputs[port][queue]
    inputs = [[[], []], [[], []]]
    for i in range(300):
        inputs[0][0].append(fm.frame([q.tag(0x88A8, 100, i % 8)], 64 + i % 200))
        inputs[0][1].append(fm.frame([q.tag(0x88A8, 200), q.tag(0x8100, 30)], 80 + i % 300))
    for i in range(150):
        inputs[1][0].append(fm.frame([q.tag(0x9100, 3002, 3)], 100))
        inputs[1][1].append(fm.frame([q.tag(0x8100, 3001)], 1500))
    inputs[0][1] += [fm.frame([q.tag(0x88A8, 999)], 70)] * 5     # no_flow on worker 1
    inputs[1][0] += [fm.frame([q.tag(0x8100, 999)], 70)] * 3     # no_flow on worker 0

    work = tempfile.mkdtemp(prefix="qgwf_workers_")
    prefix = "qgwf_workers_%d" % os.getpid()
    cfg = os.path.join(work, "config.json")
    with open(cfg, "w") as f:
        json.dump(CONFIG, f)
    cmd = [args.qinqgw, "--lcores", "0@0,(1,2)@1", "--no-huge", "--no-pci", "-m", "512",
           "--file-prefix", prefix, "--log-level=pmd.net.pcap:warning"]
    for p in range(2):
        dev = "net_pcap%d" % p
        for qi in range(2):
            path = os.path.join(work, "in%d_%d.pcap" % (p, qi))
            q.write_pcap(path, inputs[p][qi])
            dev += ",rx_pcap=%s" % path
        for qi in range(2):
            dev += ",tx_pcap=%s" % os.path.join(work, "out%d_%d.pcap" % (p, qi))
        cmd += ["--vdev", dev]
    cmd += ["--", "--config", cfg, "--stats-name", prefix, "--ctl-socket", os.path.join(work, "ctl.sock")]

    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    want = [sum(len(x) for x in inputs[p]) for p in range(2)]
    tel, got, stats = None, None, None
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if tel is None:
                    tel = q.Telemetry("/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix)
                ids = tel.port_ids()
                got = [tel.stats(ids["net_pcap%d" % p])["ipackets"] for p in range(2)]
                if got == want:
                    break
            except (OSError, ValueError, KeyError):
                tel = None
            time.sleep(0.05)
        if got == want:
            p = subprocess.run([stats_bin, "--stats-name", prefix, "--json"],
                               capture_output=True, text=True)
            stats = json.loads(p.stdout) if p.returncode == 0 else None
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
        if os.path.exists("/dev/shm/" + prefix):
            os.unlink("/dev/shm/" + prefix)

    res.check("two workers started", "2 workers" in err, err[-800:])
    res.check("every frame received", got == want, "ipackets %s, want %s" % (got, want))
    res.check("clean stop", proc.returncode == 0, "exit %s" % proc.returncode)

    for p in range(2):
        for qi in range(2):
            exp = []
            for fr in inputs[p][qi]:
                v = model.verdict(p, fr)
                if v.drop is None:
                    exp.append(v.frame)
            try:
                outq = q.read_pcap(os.path.join(work, "out%d_%d.pcap" % (1 - p, qi)))
            except (OSError, ValueError) as e:
                outq = None
                why = str(e)
            name = "port %d queue %d leaves on port %d queue %d, exact and in order" % (
                p, qi, 1 - p, qi)
            if outq is None:
                res.check(name, False, why)
            else:
                res.check(name, outq == exp, "%d frames, want %d; first difference: %s" % (
                    len(outq), len(exp),
                    next((q.frame_diff(e, g) for e, g in zip(exp, outq) if e != g), "count")))

    if res.check("qinqgw-stats --json while running", stats is not None, "no stats"):
        workers = stats["workers"]
        res.check("stats show 2 workers", len(workers) == 2, str(workers))
        for w in range(min(2, len(workers))):
            exp = len(inputs[0][w]) + len(inputs[1][w])
            res.check("worker %d received exactly its queues' frames" % w,
                      workers[w]["rx_packets"] == exp,
                      "rx_packets %s, want %d" % (workers[w]["rx_packets"], exp))

    rep = q.Report(out)
    for p, name in enumerate(("twaren", "ccx")):
        other = ("twaren", "ccx")[1 - p]
        pr, po = rep.ports.get(name), rep.ports.get(other)
        ok = pr is not None and po is not None and pr["rx_pkts"] == want[p] and \
            pr["rx_pkts"] == po["tx_pkts"] + pr["dropped"]
        res.check("%s: rx = other port's tx + dropped, summed over workers" % name, ok,
                  "%s / %s" % (pr, po))
    res.check("no_flow counted on both workers' ports",
              rep.drops.get(("twaren", "no_flow")) == 5 and rep.drops.get(("ccx", "no_flow")) == 3,
              str(rep.drops))
    if res.failed == 0:
        shutil.rmtree(work, ignore_errors=True)
    else:
        print("files kept in " + work)
    return res.finish()


if __name__ == "__main__":
    sys.exit(main())
