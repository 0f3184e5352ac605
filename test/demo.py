#!/usr/bin/python3
"""qinqgw demo: crafted QinQ traffic through the real gateway on net_pcap vdevs.

Writes one input pcap per port with a frame of every flow kind of
config/demo.json (plus frames that must be dropped), runs build/app/qinqgw on
them, waits through DPDK telemetry until every frame was received, stops it
with SIGINT, and shows the frames as they went in and came out, then the
gateway's counter report.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

from scapy.all import Dot1Q, Ether, IP, IPv6, TCP, UDP, Raw, rdpcap, wrpcap  # noqa: E402

TW_MAC, CC_MAC = "02:00:00:00:00:0a", "02:00:00:00:00:0c"


def tagged(src, dst, tags, payload):
    """A frame with the given (tpid, vid, pcp) tags, outermost first."""
    if not tags:
        return Ether(src=src, dst=dst) / payload
    frame = Ether(src=src, dst=dst, type=tags[0][0])
    layer = frame
    for i, (_, vid, pcp) in enumerate(tags):
        nxt = tags[i + 1][0] if i + 1 < len(tags) else None
        tag = Dot1Q(vlan=vid, prio=pcp) if nxt is None else Dot1Q(vlan=vid, prio=pcp, type=nxt)
        layer = layer / tag
    return layer / payload


def ipv4(i):
    return IP(src="198.18.0.%d" % (i + 1), dst="198.19.0.%d" % (i + 1)) / UDP(sport=4000 + i, dport=5000) / Raw(b"qinqgw demo " * 3)


def frames():
    """(twaren frames, ccx frames) for config/demo.json."""
    tw = [
        tagged(TW_MAC, CC_MAC, [(0x88A8, 100, 3)], ipv4(0)),                         # twcc-aws-tokyo 1:1
        tagged(TW_MAC, CC_MAC, [(0x88A8, 200, 2), (0x8100, 30, 0)], ipv4(1)),        # lab-2to1
        tagged(TW_MAC, CC_MAC, [(0x88A8, 300, 1), (0x8100, 40, 0), (0x8100, 7, 0)], ipv4(2)),  # gcp-2to2 + C-tag
        tagged(TW_MAC, CC_MAC, [(0x88A8, 500, 4)], IPv6(src="2001:db8::1", dst="2001:db8::2") / TCP(flags="S")),  # azure-1to2
        tagged(TW_MAC, CC_MAC, [], ipv4(4)),                                          # mgmt-untagged: catch-all push
        tagged(TW_MAC, CC_MAC, [(0x88A8, 100, 0)], ipv4(5) / Raw(b"x" * 1400)),       # 1:1, large
        # a TCP SYN offering MSS 1460: clamped to the flow's mtu - 40 on its way
        tagged(TW_MAC, CC_MAC, [(0x88A8, 100, 0), (0x8100, 200, 0)],
               IP(src="198.18.0.7", dst="198.19.0.7") / TCP(sport=40000, dport=22, flags="S",
                                                             options=[("MSS", 1460)])),
        # 1500 bytes of IP with DF behind S-tag + C-tag: over the flow's mtu of 1496
        # (the ccx segment carries 1518 bytes = 1500 + 14 + one tag, the incident's
        # hop): dropped, and ICMP "fragmentation needed, mtu 1496" goes back to the
        # sender inside its own tags
        tagged(TW_MAC, CC_MAC, [(0x88A8, 100, 0), (0x8100, 200, 0)],
               IP(src="198.18.0.8", dst="198.19.0.8", flags="DF") / TCP(sport=40001, dport=22, flags="A")
               / Raw(b"z" * 1460)),
    ]
    cc = [
        tagged(CC_MAC, TW_MAC, [(0x8100, 3001, 6)], ipv4(10)),                        # twcc-aws-tokyo back
        tagged(CC_MAC, TW_MAC, [(0x9100, 3002, 5)], ipv4(11)),                        # lab-2to1 back (1:2)
        tagged(CC_MAC, TW_MAC, [(0x9200, 3003, 0), (0x8100, 41, 0)], ipv4(12)),       # gcp-2to2 back
        tagged(CC_MAC, TW_MAC, [(0x9300, 4000, 0)], ipv4(13)),                        # mgmt-untagged: pop
        tagged(CC_MAC, TW_MAC, [(0x8100, 3999, 0)], ipv4(14)),                        # no flow: dropped
        Ether(src=CC_MAC, dst=TW_MAC, type=0x88A8) / Raw(b"\x00\x64"),                # truncated tag
        Raw(b"\x02\x00\x00\x00\x00\x0a\x02\x00"),                                     # runt: 8 bytes
    ]
    return tw, cc


def telemetry(path, cmd):
    with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
        s.connect(path)
        s.recv(4096)
        s.send(cmd.encode())
        return json.loads(s.recv(65536).decode())


def wait_received(prefix, expected, proc, timeout=60.0):
    """Poll DPDK telemetry until the ports received `expected` frames."""
    path = "/var/run/dpdk/%s/dpdk_telemetry.v2" % prefix
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            got = [telemetry(path, "/ethdev/stats,%d" % p)["/ethdev/stats"]["ipackets"] for p in range(2)]
            if got == expected:
                return True
        except (OSError, ValueError, KeyError, TypeError):
            pass
        time.sleep(0.05)
    return False


def show(title, path):
    print("  %s" % title)
    out = subprocess.run(["tcpdump", "-nn", "-e", "-r", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line[:1].isspace():
            continue  # hex dump of an EtherType tcpdump does not know (0x9300)
        # drop the timestamp, keep MACs, tags, and the start of the payload
        print("    " + line.split(" ", 1)[1][:150])


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--qinqgw", required=True)
    ap.add_argument("--config", required=True)
    ap.add_argument("--out", required=True, help="directory for the pcap files")
    args = ap.parse_args()

    os.makedirs(args.out, exist_ok=True)
    p = {n: os.path.join(args.out, n + ".pcap") for n in ("twaren-in", "ccx-in", "twaren-out", "ccx-out")}
    tw, cc = frames()
    wrpcap(p["twaren-in"], tw, linktype=1)
    wrpcap(p["ccx-in"], cc, linktype=1)

    prefix = "qgw_demo_%d" % os.getpid()
    cmd = [args.qinqgw, "-l", "0-1", "--no-huge", "--no-pci", "-m", "512", "--file-prefix", prefix,
           "--log-level=pmd.net.pcap:warning",
           "--vdev", "net_pcap0,rx_pcap=%s,tx_pcap=%s" % (p["twaren-in"], p["twaren-out"]),
           "--vdev", "net_pcap1,rx_pcap=%s,tx_pcap=%s" % (p["ccx-in"], p["ccx-out"]),
           "--", "--config", args.config, "--stats-name", prefix,
           "--ctl-socket", os.path.join(args.out, "ctl.sock")]
    print("$ " + " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    ok = wait_received(prefix, [len(tw), len(cc)], proc)
    stats = ""
    if ok:
        stats_bin = os.path.join(os.path.dirname(args.qinqgw), "qinqgw-stats")
        stats = subprocess.run([stats_bin, "--stats-name", prefix], capture_output=True,
                               text=True).stdout
        stats += "\n" + subprocess.run([stats_bin, "--stats-name", prefix, "--oversize"],
                                       capture_output=True, text=True).stdout
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    shutil.rmtree("/var/run/dpdk/" + prefix, ignore_errors=True)
    if os.path.exists("/dev/shm/" + prefix):
        os.unlink("/dev/shm/" + prefix)
    if not ok or proc.returncode != 0:
        print(out)
        print("demo: the gateway did not receive every frame or failed (exit %s)" % proc.returncode)
        return 1

    print("\n== twaren -> ccx")
    show("in on twaren:", p["twaren-in"])
    show("out on ccx:", p["ccx-out"])
    for fr in rdpcap(p["ccx-out"]):
        if TCP in fr and fr[TCP].flags.S and any(k == "MSS" for k, _ in fr[TCP].options):
            mss = dict((k, v) for k, v in fr[TCP].options if k == "MSS").get("MSS")
            print("  the TCP SYN offered MSS 1460 and left with MSS %s" % mss)
    print("  the 1522-byte frame did not fit: it came back to its sender as ICMP (below)")
    print("\n== ccx -> twaren")
    show("in on ccx:", p["ccx-in"])
    show("out on twaren:", p["twaren-out"])
    print("\n== qinqgw-stats while it runs (then qinqgw-stats --oversize)")
    print(stats.rstrip())
    print("\n== gateway log and counter report")
    for line in out.splitlines():
        if not line.startswith(("EAL:", "TELEMETRY:")):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
