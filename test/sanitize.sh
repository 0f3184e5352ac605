#!/usr/bin/env bash
# Builds everything with clang, AddressSanitizer and UndefinedBehaviorSanitizer
# in build-asan/ and runs the unit, func and fuzz suites there:
#
#   bash test/sanitize.sh                    # unit + func + fuzz
#   bash test/sanitize.sh --suite unit       # other `meson test` arguments
#   QGW_FUZZ_SECONDS=600 bash test/sanitize.sh --suite fuzz
#
# Every sanitizer report of every process (the tests, the qinqgw they start,
# the fuzzers) goes to build-asan/sanitizer-logs/ and is printed at the end:
# a report fails the run even if the test that caused it passed. Ends with
# one line "sanitize: N passed, M failed, K sanitizer reports".
#
# Leak detection is on in every process, without suppressions: what DPDK
# allocates stays reachable until rte_eal_cleanup(). Tests that cannot work in
# this build (valgrind on an ASan binary, RSS or timing limits tuned for the
# normal build) can tell it from QGW_SANITIZED, which is set here.
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
bash test/setup.sh || exit 1

build=build-asan
if ! command -v clang >/dev/null; then
	echo "sanitize: clang is missing (apt-get install clang libclang-rt-14-dev)" >&2
	exit 1
fi
if [ ! -f "$build/build.ninja" ]; then
	CC=clang meson setup "$build" -Dbuildtype=debugoptimized -Db_ndebug=false \
		-Db_sanitize=address,undefined -Db_lundef=false || exit 1
fi
ninja -C "$build" || exit 1

logs=$top/$build/sanitizer-logs
rm -rf "$logs"
mkdir -p "$logs"
# Reports with function names and lines need llvm-symbolizer (package llvm).
sym=$(command -v llvm-symbolizer || true)
sym=${sym:+:external_symbolizer_path=$sym}
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1$sym"
export UBSAN_OPTIONS="log_path=$logs/ubsan:halt_on_error=1:print_stacktrace=1$sym"
export QGW_SANITIZED=address,undefined

args=("$@")
((${#args[@]})) || args=(--suite unit --suite func --suite fuzz)
start=$SECONDS
meson test -C "$build" --print-errorlogs "${args[@]}"
rc=$?

reports=0
for f in "$logs"/*; do
	[ -f "$f" ] || continue
	reports=$((reports + 1))
	echo "==== sanitizer report ${f#"$top"/}"
	cat "$f"
done

/usr/bin/python3 - "$build/meson-logs/testlog.json" "$reports" "$((SECONDS - start))" <<'PY'
import json, sys
passed = failed = skipped = 0
for line in open(sys.argv[1]):
    r = json.loads(line)["result"]
    if r in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif r == "SKIP":
        skipped += 1
    else:
        failed += 1
print(f"sanitize: {passed} passed, {failed} failed"
      + (f", {skipped} skipped" if skipped else "")
      + f", {sys.argv[2]} sanitizer reports ({sys.argv[3]} s)")
PY
((reports == 0)) || exit 1
exit $rc
