#!/usr/bin/env bash
# Two builds' data paths side by side: dp_bench of OLD and NEW alternately on
# one CPU, ROUNDS rounds, every mix; prints the median of each round's median
# cycles/frame. Figures, never a verdict.
#
#   bash test/bench/dp_compare.sh OLD_BUILD_DIR NEW_BUILD_DIR [ROUNDS] [CPU]
#   e.g. git worktree add /tmp/old 4231768 && meson setup /tmp/old/build /tmp/old &&
#        ninja -C /tmp/old/build test/bench/dp_bench &&
#        bash test/bench/dp_compare.sh /tmp/old/build build 5 1
set -euo pipefail
old=$1 new=$2 rounds=${3:-5} cpu=${4:-1}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$rounds"); do
	for mix in translate push pop 2to2 mixed translate:--no-mss; do
		m=${mix%%:*} extra=
		[ "$mix" = "$m" ] || extra=${mix#*:}
		for b in old new; do
			dir=$old
			[ "$b" = new ] && dir=$new
			# shellcheck disable=SC2086
			c=$(taskset -c "$cpu" "$dir/test/bench/dp_bench" --mix "$m" $extra --runs 11 \
				--bursts 5000 --json | /usr/bin/python3 -c \
				'import json,sys; print(json.load(sys.stdin)["cycles_per_packet"]["median"])')
			echo "$mix $b $c" >> "$out"
		done
	done
done
/usr/bin/python3 - "$out" <<'PY'
import collections, statistics, sys
d = collections.defaultdict(list)
for line in open(sys.argv[1]):
    mix, b, c = line.split()
    d[mix, b].append(float(c))
print("%-22s %8s %8s %6s" % ("mix", "old", "new", "new/old"))
for mix in dict.fromkeys(k[0] for k in d):
    o, n = statistics.median(d[mix, "old"]), statistics.median(d[mix, "new"])
    print("%-22s %8.1f %8.1f %6.2f" % (mix, o, n, n / o))
PY
