"""Functional test of the qinqgw command line and its exit codes.

`qinqgw --check-config FILE`: exit 0 on a valid config; exit 1 on an invalid
one, every error on stderr as `FILE: <message>` followed by
`FILE: N error(s), config refused`; a missing file is a clear error (exit 1);
no FILE or two FILEs is a usage error (exit 2). `--help` and `--version`
exit 0.

`qinqgw [EAL] -- --config FILE`: a bad config is refused before DPDK starts
(exit 1, the same error lines, no EAL output, never "forwarding between");
a missing `--`, a missing `--config` argument, an unknown option or a stray
argument exit 2; a valid config naming a device DPDK does not have exits 1
with one message naming the port and the device.

Every case prints `ok NAME` or `FAIL NAME: why`; the last line is
`N passed, M failed` and the exit status is 1 if anything failed.

Usage: /usr/bin/python3 test/func/test_cli.py --qinqgw PATH
"""
import argparse
import copy
import json
import os
import shutil
import subprocess
import sys
import tempfile

# The example config of the issue, used as the valid base of most cases.
ISSUE_CONFIG = {
    "ports": {
        "twaren": {"device": "0000:3b:00.0", "max_frame": 1526},
        "ccx": {"device": "net_pcap1", "max_frame": 1522},
    },
    "flows": [
        {"name": "twcc-aws-tokyo", "twaren": [{"tpid": "0x88a8", "vid": 100}],
         "ccx": [{"tpid": "0x8100", "vid": 3001}]},
        {"name": "lab-2to1",
         "twaren": [{"tpid": "0x88a8", "vid": 200}, {"tpid": "0x8100", "vid": 30}],
         "ccx": [{"tpid": "0x9100", "vid": 3002, "pcp": 5}]},
    ],
}

# The same gateway on two net_null vdevs: what the EAL runs below probe.
NULL_CONFIG = copy.deepcopy(ISSUE_CONFIG)
NULL_CONFIG["ports"]["twaren"]["device"] = "net_null0"
NULL_CONFIG["ports"]["ccx"]["device"] = "net_null1"

# Invalid documents: (name, text, every expected message in order).
BAD_CONFIGS = [
    ("syntax error with line and column",
     '{\n  "ports": {\n    "a": {"device": "x",}\n  }\n}\n',
     ["line 3, column 25: string or '}' expected near '}'"]),
    ("duplicate key",
     '{"ports": {"a": {"device": "x"},\n "a": {"device": "y"}}, "flows": []}\n',
     ["line 2, column 4: duplicate object key near '\"a\"'"]),
    ("empty file", "",
     ["line 1, column 0: '[' or '{' expected near end of file"]),
    ("root not an object", "[]\n",
     ['/: expected an object with "ports" and "flows", got array']),
    ("vid 4096 (the issue's example)",
     json.dumps({**ISSUE_CONFIG, "flows": [
         ISSUE_CONFIG["flows"][0],
         {**ISSUE_CONFIG["flows"][1], "ccx": [{"tpid": "0x9100", "vid": 4096, "pcp": 5}]},
     ]}, indent=1),
     ["/flows/1/ccx/0/vid: 4096 out of range 1..4094"]),
    ("many errors at once",
     json.dumps({
         "version": 2,
         "ports": {
             "twaren": {"device": "net_pcap0", "max_frame": 15},
             "ccx": {"device": "net_pcap0", "colour": "red"},
         },
         "flows": [
             {"name": "a", "twaren": [{"tpid": "0x0800", "vid": 1}], "ccx": []},
             {"name": "a", "twaren": [{"tpid": "0x8100", "vid": 0}], "ccx": []},
             {"twaren": [{"tpid": "88a8", "vid": 1}, {"tpid": 34984, "vid": 1},
                         {"tpid": "0x8100", "vid": 1}]},
         ],
     }, indent=1),
     ["/version: 2 out of range 1..1",
      "/ports/twaren/max_frame: 15 out of range 64..16384",
      "/ports/ccx/colour: unknown key (allowed: device, max_frame)",
      '/ports/ccx/device: "net_pcap0" is already used by port twaren',
      "/flows/0/twaren/0/tpid: 0x0800 is the IPv4 EtherType, not a tag protocol identifier",
      '/flows/1/name: "a" is already the name of /flows/0',
      "/flows/1/twaren/0/vid: 0 out of range 1..4094",
      '/flows/1/ccx: stack untagged on port ccx is already claimed by flow "a" (/flows/0)',
      '/flows/2: missing key "name"',
      "/flows/2/twaren: at most 2 tags, got 3",
      '/flows/2/twaren/0/tpid: "88a8" is not a hex string like "0x88a8"',
      "/flows/2: missing key \"ccx\" (the flow's tag stack on that port; [] for untagged)"]),
]


class Failure(Exception):
    pass


def expect(cond, why):
    if not cond:
        raise Failure(why)


class Cli:
    def __init__(self, qinqgw, tmp):
        self.qinqgw = qinqgw
        self.tmp = tmp
        self.prefix = "cli_%d" % os.getpid()

    def write(self, name, doc):
        """Write a config (a dict, or text as is) into the temp dir; return its path."""
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(doc if isinstance(doc, str) else json.dumps(doc, indent=1))
        return path

    def run(self, args, timeout=60, cwd=None):
        return subprocess.run([self.qinqgw] + args, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, timeout=timeout, cwd=cwd)

    def eal(self):
        return ["-l", "0-1", "--no-huge", "--no-pci", "-m", "256", "--file-prefix",
                self.prefix, "--vdev", "net_null0", "--vdev", "net_null1"]

    def runtime_dirs(self):
        """Where EAL would create this prefix's runtime directory."""
        dirs = [os.path.join("/var/run/dpdk", self.prefix)]
        if os.environ.get("XDG_RUNTIME_DIR"):
            dirs.append(os.path.join(os.environ["XDG_RUNTIME_DIR"], "dpdk", self.prefix))
        return dirs

    def remove_runtime_dirs(self):
        for d in self.runtime_dirs():
            shutil.rmtree(d, ignore_errors=True)


def show(p):
    return "exit %d, stdout %r, stderr %r" % (p.returncode, p.stdout[-600:], p.stderr[-1500:])


def expect_exit(p, code):
    expect(p.returncode == code, "expected exit %d; %s" % (code, show(p)))


def expect_errors(p, path, messages):
    """stderr holds `path: message` for every message, in order, and the summary."""
    lines = p.stderr.splitlines()
    pos = 0
    for m in messages:
        want = "%s: %s" % (path, m)
        expect(want in lines[pos:],
               "missing or out of order on stderr: %r; %s" % (want, show(p)))
        pos = lines.index(want, pos) + 1
    n = len(messages)
    summary = "%s: %d error%s, config refused" % (path, n, "" if n == 1 else "s")
    expect(summary in lines, "no summary line %r; %s" % (summary, show(p)))
    # nothing else claims to be an error of this file
    extra = [l for l in lines if l.startswith(path + ": /") or l.startswith(path + ": line ")]
    expect(len(extra) == n, "%d error lines, expected %d; %s" % (len(extra), n, show(p)))


def expect_not_started(cli, p):
    out = p.stdout + p.stderr
    expect("forwarding between" not in out, "the gateway started; " + show(p))
    expect("EAL:" not in out, "DPDK was initialised before the config was refused; " + show(p))
    for d in cli.runtime_dirs():
        expect(not os.path.exists(d), "EAL created %s; %s" % (d, show(p)))


# ------------------------------------------------------------------ cases

def case_check_valid(cli):
    path = cli.write("valid.json", ISSUE_CONFIG)
    p = cli.run(["--check-config", path])
    expect_exit(p, 0)
    expect(p.stderr == "", "stderr not empty; " + show(p))
    expect(path in p.stdout and "valid" in p.stdout, "no 'valid' line for the file; " + show(p))


def case_check_valid_minimal(cli):
    path = cli.write("minimal.json", {"version": 1, "ports": {
        "a": {"device": "net_null0"}, "b": {"device": "net_null1"}}, "flows": []})
    p = cli.run(["--check-config", path])
    expect_exit(p, 0)
    expect(p.stderr == "", "stderr not empty; " + show(p))
    expect(path in p.stdout and "valid" in p.stdout, "no 'valid' line for the file; " + show(p))


def case_check_valid_needs_no_device(cli):
    # --check-config does not start DPDK: a device that exists nowhere is fine.
    doc = copy.deepcopy(ISSUE_CONFIG)
    doc["ports"]["ccx"]["device"] = "net_pcap7"
    path = cli.write("nodev.json", doc)
    p = cli.run(["--check-config", path])
    expect_exit(p, 0)
    expect(path in p.stdout and "valid" in p.stdout, "no 'valid' line for the file; " + show(p))
    expect("EAL:" not in p.stdout + p.stderr, "DPDK was initialised; " + show(p))


def make_bad_case(index, name, text, messages):
    def case(cli):
        path = cli.write("bad%d.json" % index, text)
        p = cli.run(["--check-config", path])
        expect_exit(p, 1)
        expect_errors(p, path, messages)
        expect(p.stdout == "", "stdout not empty; " + show(p))
    return ("check-config refuses: " + name, case)


def case_check_relative_path(cli):
    # The prefix is the path exactly as given.
    cli.write("rel.json", BAD_CONFIGS[0][1])
    p = cli.run(["--check-config", "rel.json"], cwd=cli.tmp)
    expect_exit(p, 1)
    expect_errors(p, "rel.json", BAD_CONFIGS[0][2])


def case_check_missing_file(cli):
    path = os.path.join(cli.tmp, "does-not-exist.json")
    p = cli.run(["--check-config", path])
    expect_exit(p, 1)
    lines = [l for l in p.stderr.splitlines() if l.startswith(path + ": ")]
    expect(any("No such file or directory" in l for l in lines),
           "no '%s: ... No such file or directory' line; %s" % (path, show(p)))
    expect("Traceback" not in p.stderr and "Segmentation" not in p.stderr, show(p))


def case_check_no_file(cli):
    p = cli.run(["--check-config"])
    expect_exit(p, 2)
    expect("--check-config" in p.stderr, "stderr does not say what is wrong; " + show(p))


def case_check_two_files(cli):
    a = cli.write("two-a.json", ISSUE_CONFIG)
    b = cli.write("two-b.json", ISSUE_CONFIG)
    p = cli.run(["--check-config", a, b])
    expect_exit(p, 2)
    expect("--check-config" in p.stderr, "stderr does not say what is wrong; " + show(p))
    expect("valid" not in p.stdout, "a file was checked anyway; " + show(p))


def case_help(cli):
    for opt in ("--help", "-h"):
        p = cli.run([opt])
        expect_exit(p, 0)
        expect("Usage" in p.stdout and "--check-config" in p.stdout and "--config" in p.stdout,
               "%s: no usage text on stdout; %s" % (opt, show(p)))


def case_version(cli):
    p = cli.run(["--version"])
    expect_exit(p, 0)
    first = p.stdout.splitlines()[0] if p.stdout else ""
    expect(first.startswith("qinqgw "), "first line does not start with 'qinqgw '; " + show(p))
    expect(any(c.isdigit() for c in first), "no version number; " + show(p))


def case_gateway_bad_config(cli):
    name, text, messages = BAD_CONFIGS[-1]
    path = cli.write("gw-bad.json", text)
    cli.remove_runtime_dirs()
    p = cli.run(cli.eal() + ["--", "--config", path])
    expect_exit(p, 1)
    expect_errors(p, path, messages)
    expect_not_started(cli, p)


def case_gateway_syntax_error(cli):
    path = cli.write("gw-syntax.json", BAD_CONFIGS[0][1])
    cli.remove_runtime_dirs()
    p = cli.run(cli.eal() + ["--", "--config", path])
    expect_exit(p, 1)
    expect_errors(p, path, BAD_CONFIGS[0][2])
    expect_not_started(cli, p)


def case_gateway_missing_config_file(cli):
    path = os.path.join(cli.tmp, "gw-missing.json")
    cli.remove_runtime_dirs()
    p = cli.run(cli.eal() + ["--", "--config", path])
    expect_exit(p, 1)
    expect(any(l.startswith(path + ": ") and "No such file or directory" in l
               for l in p.stderr.splitlines()), "no clear message; " + show(p))
    expect_not_started(cli, p)


def usage_case(args_after_eal, what):
    def case(cli):
        good = cli.write("usage.json", NULL_CONFIG)
        args = [a.replace("GOOD", good) for a in args_after_eal]
        cli.remove_runtime_dirs()
        p = cli.run(cli.eal() + args)
        expect_exit(p, 2)
        expect(p.stderr.strip() != "", "nothing on stderr says why; " + show(p))
        expect_not_started(cli, p)
    return ("usage error (exit 2): " + what, case)


def case_gateway_unknown_device(cli):
    doc = copy.deepcopy(NULL_CONFIG)
    doc["ports"]["ccx"]["device"] = "net_pcap7"
    path = cli.write("gw-nodev.json", doc)
    p = cli.run(cli.eal() + ["--", "--config", path, "--stats-name", cli.prefix,
                             "--ctl-socket", os.path.join(cli.tmp, "ctl.sock")], timeout=120)
    cli.remove_runtime_dirs()
    if os.path.exists("/dev/shm/" + cli.prefix):
        os.unlink("/dev/shm/" + cli.prefix)
    expect_exit(p, 1)
    out = p.stdout + p.stderr
    msgs = [l for l in out.splitlines() if "net_pcap7" in l]
    expect(msgs, "no message names the device net_pcap7; " + show(p))
    expect(any("ccx" in l for l in msgs), "the message does not name the port ccx; " + show(p))
    expect("forwarding between" not in out, "the gateway started; " + show(p))


CASES = [
    ("check-config accepts the issue's example", case_check_valid),
    ("check-config accepts a minimal config", case_check_valid_minimal),
    ("check-config does not probe devices", case_check_valid_needs_no_device),
] + [make_bad_case(i, *c) for i, c in enumerate(BAD_CONFIGS)] + [
    ("check-config names the file as given", case_check_relative_path),
    ("check-config on a missing file", case_check_missing_file),
    ("check-config without a file", case_check_no_file),
    ("check-config with two files", case_check_two_files),
    ("--help", case_help),
    ("--version", case_version),
    ("gateway refuses a bad config before DPDK starts", case_gateway_bad_config),
    ("gateway refuses a syntax error before DPDK starts", case_gateway_syntax_error),
    ("gateway with a missing config file", case_gateway_missing_config_file),
    usage_case(["--", "--config"], "--config without FILE"),
    usage_case(["--"], "no --config after --"),
    usage_case(["--", "--config", "GOOD", "--bogus"], "unknown gateway option"),
    usage_case(["--", "--config", "GOOD", "stray"], "stray argument after --"),
    usage_case(["--config", "GOOD"], "missing --"),
    ("gateway names the port of a device DPDK does not have", case_gateway_unknown_device),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--qinqgw", required=True, help="path to the qinqgw binary")
    ap.add_argument("-k", dest="only", default=None, help="run only cases whose name has this")
    args = ap.parse_args()

    qinqgw = os.path.abspath(args.qinqgw)
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix="qgw_cli_")
    cli = Cli(qinqgw, tmp)
    try:
        for name, fn in CASES:
            if args.only and args.only not in name:
                continue
            try:
                fn(cli)
            except Failure as e:
                failed += 1
                print("FAIL %s: %s" % (name, e), flush=True)
            except Exception as e:  # a timeout, a missing binary: the case failed
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            else:
                passed += 1
                print("ok %s" % name, flush=True)
    finally:
        cli.remove_runtime_dirs()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
