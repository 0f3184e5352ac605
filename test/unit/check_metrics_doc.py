#!/usr/bin/python3
"""docs/stats.md's metric table is the one the counter lists generate.

The block between <!-- metrics:begin --> and <!-- metrics:end --> in
docs/stats.md must equal the output of metrics_doc (built from
lib/stats/qgw_counters.h). With --write, the block is regenerated instead.

Usage: check_metrics_doc.py METRICS_DOC DOCS_STATS_MD [--write]
"""
import subprocess
import sys

BEGIN, END = "<!-- metrics:begin -->\n", "<!-- metrics:end -->\n"


def main():
    gen, doc = sys.argv[1], sys.argv[2]
    table = subprocess.run([gen], check=True, capture_output=True, text=True).stdout
    text = open(doc).read()
    if BEGIN not in text or END not in text:
        print("FAIL %s has no %s/%s markers" % (doc, BEGIN.strip(), END.strip()))
        print("0 passed, 1 failed")
        return 1
    head, rest = text.split(BEGIN, 1)
    block, tail = rest.split(END, 1)
    if "--write" in sys.argv[3:]:
        open(doc, "w").write(head + BEGIN + table + END + tail)
        print("wrote the metric table into %s" % doc)
        return 0
    want, got = table.splitlines(), block.splitlines()
    if block != table:
        print("FAIL docs/stats.md's metric table differs from the counter lists "
              "(regenerate: check_metrics_doc.py build/test/unit/metrics_doc docs/stats.md --write)")
        for line in want:
            if line not in got:
                print("  missing: " + line)
        for line in got:
            if line not in want:
                print("  stale:   " + line)
        print("0 passed, 1 failed")
        return 1
    print("ok docs/stats.md's metric table is generated from the counter lists "
          "(%d rows)" % (len(want) - 2))
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
