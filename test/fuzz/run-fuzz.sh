#!/usr/bin/env bash
# One fuzz target for `meson test --suite fuzz`:
#   run-fuzz.sh replay|replay-plain|fuzz BINARY TARGET SOURCE_DIR BUILD_DIR
# replay        every input of corpus/TARGET and regressions/TARGET once
#               (a libFuzzer binary, -runs=0)
# replay-plain  the same with the plain driver (builds without libFuzzer)
# fuzz          fuzz for QGW_FUZZ_SECONDS (default 60) from those inputs;
#               new inputs go to BUILD_DIR/TARGET/corpus (kept between runs),
#               a crash to BUILD_DIR/TARGET/crash-*, and the test fails.
set -euo pipefail

mode=$1 bin=$2 target=$3 src=$4 build=$5
inputs=("$src/corpus/$target")
[ -d "$src/regressions/$target" ] && inputs+=("$src/regressions/$target")

# A finding must stop the run: UBSan reports are errors, not warnings.
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

work=$build/$target
# A stats segment is a header, a directory and event rings: tens of KiB to
# fuzz; a full one (3.5 MB) is replayed whole, not cut at libFuzzer's 1 MiB.
max_len=4096 replay_len=()
[ "$target" = segment ] && max_len=65536 replay_len=(-max_len=16777216)
case $mode in
replay)
	mkdir -p "$work"
	exec "$bin" -runs=0 "${replay_len[@]}" -artifact_prefix="$work/" "${inputs[@]}"
	;;
replay-plain)
	exec "$bin" "${inputs[@]}"
	;;
fuzz)
	mkdir -p "$work/corpus"
	dict=()
	[ -f "$src/$target.dict" ] && dict=(-dict="$src/$target.dict")
	echo "fuzz_$target: ${QGW_FUZZ_SECONDS:-60} s; new inputs in $work/corpus"
	exec "$bin" -max_total_time="${QGW_FUZZ_SECONDS:-60}" -timeout=10 -max_len=$max_len \
		-rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$work/" \
		"${dict[@]}" "$work/corpus" "${inputs[@]}"
	;;
*)
	echo "usage: $0 replay|replay-plain|fuzz BINARY TARGET SOURCE_DIR BUILD_DIR" >&2
	exit 2
	;;
esac
