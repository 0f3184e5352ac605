#!/usr/bin/env bash
# Installs what qinqgw needs from Debian 12 and builds it in build/.
# Idempotent: installs only missing packages, reconfigures only when needed.
# Sourced or run by test/demo.sh, test/run-tests.sh and .ci/run.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# Build: compiler, meson, DPDK 22.11 (with the net_pcap/ring/null/tap PMDs),
# jansson, libnuma, CUnit. Tests and demo: scapy (crafted frames, Debian's
# python3), tcpdump (shows frames), iproute2/procps (namespaces, sysctl),
# prometheus (promtool checks the --prometheus output).
packages=(
	gcc pkg-config meson ninja-build
	dpdk dpdk-dev libdpdk-dev libjansson-dev libnuma-dev libcunit1-dev libpcap-dev
	python3 python3-scapy tcpdump iproute2 procps prometheus
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done
if ((${#missing[@]})); then
	if [ "$(id -u)" != 0 ]; then
		echo "setup: run as root to install: ${missing[*]}" >&2
		exit 1
	fi
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build
