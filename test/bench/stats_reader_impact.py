#!/usr/bin/python3
"""Benchmark: does a stats reader slow the gateway down?

Runs qinqgw with one worker on an endless net_pcap input (infinite_rx, tx to
/dev/null) and measures its forwarding rate from the stats segment in
alternating phases, side by side in one run:
  idle    no reader
  hammer  stats_hammer reading every counter word as fast as it can
  watch   qinqgw-stats --watch 0.1 (what an operator runs)
  loop    qinqgw-stats --json run back to back in a shell loop (a script
          polling as fast as it can)
  busy    a CPU spinner on the readers' CPU that never touches the segment:
          the control for what merely using the other CPU costs (on a VM
          whose vCPUs share a physical core, that is most of it)
Readers are pinned to the control plane's CPU (0), the worker to CPU 1.
Prints a table and writes JSON (--out). Reports figures; never fails on them.

Usage: stats_reader_impact.py --qinqgw PATH --hammer PATH [--seconds S] [--rounds N]
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "func"))
import qgwtest as q  # noqa: E402

CONFIG = {
    "ports": {"twaren": {"device": "net_pcap0", "max_frame": 1526},
              "ccx": {"device": "net_pcap1", "max_frame": 1522}},
    "flows": [{"name": "f%d" % i, "twaren": [{"tpid": "0x88a8", "vid": 100 + i}],
               "ccx": [{"tpid": "0x8100", "vid": 3000 + i}]} for i in range(64)],
}


def rx(stats_bin, name):
    out = subprocess.run([stats_bin, "--stats-name", name, "--json"], capture_output=True,
                         text=True, check=True).stdout
    doc = json.loads(out)
    return sum(p["rx_packets"] for p in doc["ports"]), time.monotonic()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qinqgw", required=True)
    ap.add_argument("--hammer", required=True)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    stats_bin = os.path.join(os.path.dirname(args.qinqgw), "qinqgw-stats")

    work = tempfile.mkdtemp(prefix="qgwbench_")
    name = "qgwbench_%d" % os.getpid()
    fm = q.FrameMaker(seed=3)
    frames = [fm.frame([q.tag(0x88A8, 100 + i % 64), q.tag(0x8100, 7)], 64 + (i % 4) * 16)
              for i in range(1024)]
    q.write_pcap(os.path.join(work, "in.pcap"), frames)
    with open(os.path.join(work, "cfg.json"), "w") as f:
        json.dump(CONFIG, f)
    cmd = [args.qinqgw, "-l", "0-1", "--no-huge", "--no-pci", "-m", "512", "--file-prefix", name,
           "--log-level=pmd.net.pcap:warning",
           "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=/dev/null,infinite_rx=1" % os.path.join(work, "in.pcap"),
           "--vdev", "net_pcap1,rx_pcap=%s,tx_pcap=/dev/null" % os.path.join(work, "in.pcap"),
           "--", "--config", os.path.join(work, "cfg.json"), "--stats-name", name,
           "--ctl-socket", os.path.join(work, "ctl.sock")]
    gw = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    results = {"idle": [], "hammer": [], "watch": [], "loop": [], "busy": []}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if rx(stats_bin, name)[0] > 0:
                    break
            except (subprocess.CalledProcessError, ValueError):
                pass
            time.sleep(0.1)
        time.sleep(1)  # warm up
        for _ in range(args.rounds):
            for phase in ("idle", "busy", "hammer", "watch", "loop"):
                reader = None
                if phase == "hammer":
                    reader = subprocess.Popen(["taskset", "-c", "0", args.hammer, name,
                                               str(args.seconds + 2)], stdout=subprocess.DEVNULL)
                elif phase == "watch":
                    reader = subprocess.Popen(["taskset", "-c", "0", stats_bin, "--stats-name",
                                               name, "--watch", "0.1"], stdout=subprocess.DEVNULL)
                elif phase == "busy":
                    reader = subprocess.Popen(["taskset", "-c", "0", "sh", "-c", "while :; do :; done"])
                elif phase == "loop":
                    reader = subprocess.Popen(["taskset", "-c", "0", "sh", "-c",
                                               "while :; do %s --stats-name %s --json >/dev/null; done"
                                               % (stats_bin, name)])
                time.sleep(0.5)
                n0, t0 = rx(stats_bin, name)
                time.sleep(args.seconds)
                n1, t1 = rx(stats_bin, name)
                if reader is not None:
                    reader.send_signal(signal.SIGKILL if phase in ("loop", "busy") else signal.SIGINT)
                    reader.wait()
                results[phase].append((n1 - n0) / (t1 - t0) / 1e6)
    finally:
        gw.send_signal(signal.SIGINT)
        gw.wait()
        shutil.rmtree(work, ignore_errors=True)
        shutil.rmtree("/var/run/dpdk/" + name, ignore_errors=True)
        if os.path.exists("/dev/shm/" + name):
            os.unlink("/dev/shm/" + name)

    base = statistics.median(results["idle"])
    print("%-8s %s  %s" % ("phase", "Mpps per round", "median, ratio to idle"))
    summary = {}
    for phase, v in results.items():
        med = statistics.median(v)
        summary[phase] = {"mpps": v, "median": med, "ratio": med / base if base else None}
        print("%-8s %s  %.3f  %.3f" % (phase, " ".join("%.3f" % x for x in v), med,
                                       med / base if base else 0))
    if args.out:
        with open(args.out, "w") as f:
            json.dump(summary, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
