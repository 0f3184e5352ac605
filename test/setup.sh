#!/usr/bin/env bash
# Installs what qinqgw needs from Debian 12 and builds it in build/.
# Idempotent: installs only missing packages, reconfigures only when needed.
# Sourced or run by test/demo.sh, test/run-tests.sh and .ci/run.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

# Build: compiler, meson, DPDK 22.11 (with the net_pcap/ring/null/tap PMDs),
# jansson, libnuma, CUnit, libsystemd (sd_notify). Tests and demo: scapy
# (crafted frames, Debian's python3), tcpdump (shows frames), iproute2/procps
# (namespaces, sysctl), prometheus (promtool checks the --prometheus output); the e2e suite: clang
# and libbpf-dev (tc BPF tagging), ethtool, socat, ping, OpenSSH (run by hand
# in a namespace; the package's own sshd service is not started); the sanitizer
# build (test/sanitize.sh): libclang-rt-14-dev (ASan/UBSan/libFuzzer runtimes),
# llvm (llvm-symbolizer); systemd (systemd-analyze verifies the unit file).
packages=(
	gcc pkg-config meson ninja-build
	dpdk dpdk-dev libdpdk-dev libjansson-dev libnuma-dev libcunit1-dev libpcap-dev libsystemd-dev
	python3 python3-scapy tcpdump iproute2 procps prometheus
	clang libbpf-dev ethtool socat iputils-ping openssh-server openssh-client
	valgrind util-linux
	libclang-rt-14-dev llvm systemd
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
	# Installing openssh-server must not start an sshd on port 22.
	policy=/usr/sbin/policy-rc.d
	own_policy=0
	if [ ! -e "$policy" ]; then
		printf '#!/bin/sh\nexit 101\n' > "$policy"
		chmod +x "$policy"
		own_policy=1
	fi
	apt-get install -y -qq "${missing[@]}" >/dev/null
	[ "$own_policy" = 0 ] || rm -f "$policy"
fi

if [ ! -f build/build.ninja ]; then
	meson setup build
fi
ninja -C build
