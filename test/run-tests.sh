#!/usr/bin/env bash
# Sets everything up (test/setup.sh) and runs every test suite with
# `meson test`; ends with one line "tests: N passed, M failed".
set -uo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"
bash test/setup.sh || exit 1

# Benchmarks (suite bench) report figures and are run on their own.
meson test -C build --print-errorlogs --no-suite bench "$@"
rc=$?

/usr/bin/python3 - build/meson-logs/testlog.json <<'PY'
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
print(f"tests: {passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
PY
exit $rc
