#!/usr/bin/env bash
# Sets everything up (test/setup.sh) and runs the gateway demo: config/demo.json
# on two net_pcap vdevs, crafted QinQ frames in, translated frames out, counters.
# No NIC and no hugepages needed. QGW_DEMO_KEEP=1 keeps the pcaps in build/demo/.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
bash test/setup.sh >/dev/null

rm -rf build/demo
/usr/bin/python3 test/demo.py --qinqgw build/app/qinqgw --config config/demo.json --out build/demo
rc=$?
[ "${QGW_DEMO_KEEP:-0}" = 1 ] || rm -rf build/demo
exit $rc
