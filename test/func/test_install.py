"""Functional test of `meson install`: what an operator's machine gets.

Installs the build directory into a temporary DESTDIR
(`meson install -C BUILDDIR --destdir TMP --no-rebuild`), then checks:

- layout: exactly the expected files are installed, each with its mode (the
  three programs 0755; the unit, man pages, guides and examples 0644), no
  test program, nothing under /etc (an operator's config is never
  overwritten);
- the installed programs run from their installed place (`--help` exits 0
  for all three, `--version` for qinqgw and qinqgw-stats), and the installed
  example configs pass `qinqgw --check-config`;
- man pages: each renders through `groff -man -ww` and `man --warnings -l`
  without a single warning, has the sections NAME, SYNOPSIS, OPTIONS (or
  COMMANDS), EXIT STATUS, FILES, EXAMPLES, SEE ALSO, names every option its
  program's `--help` prints, and every option it documents is accepted by
  the program (never "bad command line", exit 2);
- the unit: `systemd-analyze verify` reports nothing about it, run with
  `--root` on a copy of DESTDIR (plus the host's systemd units, for the
  targets it refers to) so that its ExecStart must be the installed
  qinqgw, with MANPATH on the installed man pages so that its
  Documentation= man: links must resolve; ExecStart and ExecReload use the
  installed qinqgw; the example environment file defines every variable the
  unit uses.

Every case prints `ok NAME` or `FAIL NAME: why`; the last line is
`N passed, M failed` and the exit status is 1 if anything failed.

Usage: /usr/bin/python3 test/func/test_install.py --builddir BUILDDIR
"""
import argparse
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile

PROGRAMS = ["qinqgw", "qinqgw-stats", "qinqgw-ctl"]
MAN_PAGES = {"qinqgw": "man8/qinqgw.8", "qinqgw-ctl": "man8/qinqgw-ctl.8",
             "qinqgw-stats": "man1/qinqgw-stats.1"}
DOCS = ["README.md", "architecture.md", "capture.md", "config.md", "control.md", "mtu.md",
        "operations.md", "performance.md", "promises.md", "stats.md"]
EXAMPLES = ["demo.json", "twaren-ccx.json", "qinqgw.env"]
UNIT_DIR = "lib/systemd/system"
ENV_FILE = "/etc/qinqgw/qinqgw.env"
SECTIONS = ["NAME", "SYNOPSIS", "EXIT STATUS", "FILES", "EXAMPLES", "SEE ALSO"]


class Failure(Exception):
    pass


def check(cond, why):
    if not cond:
        raise Failure(why)


def run(cmd, env=None, timeout=60):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True, env=env, timeout=timeout)


class Install:
    """The build directory's install tree under a temporary DESTDIR."""

    def __init__(self, builddir, tmp):
        self.builddir = builddir
        self.destdir = os.path.join(tmp, "dest")
        opts = run(["meson", "introspect", "--buildoptions", builddir])
        if opts.returncode != 0:
            raise SystemExit("meson introspect failed: " + opts.stderr)
        o = {x["name"]: x["value"] for x in json.loads(opts.stdout)}
        self.prefix = o["prefix"]
        self.bindir = os.path.join(self.prefix, o["bindir"])
        self.mandir = os.path.join(self.prefix, o["mandir"])
        self.docdir = os.path.join(self.prefix, o["datadir"], "doc", "qinqgw")
        self.unitdir = os.path.join(self.prefix, UNIT_DIR)
        self.result = run(["meson", "install", "-C", builddir, "--destdir", self.destdir,
                           "--no-rebuild"], timeout=300)

    def d(self, path):
        """The DESTDIR copy of an absolute install path."""
        return os.path.join(self.destdir, path.lstrip("/"))

    def expected(self):
        """Absolute install path -> mode."""
        e = {}
        for p in PROGRAMS:
            e[os.path.join(self.bindir, p)] = 0o755
        for page in MAN_PAGES.values():
            e[os.path.join(self.mandir, page)] = 0o644
        for doc in DOCS:
            e[os.path.join(self.docdir, doc)] = 0o644
        for ex in EXAMPLES:
            e[os.path.join(self.docdir, "examples", ex)] = 0o644
        e[os.path.join(self.unitdir, "qinqgw.service")] = 0o644
        return e

    def installed(self):
        """Absolute install path -> mode, of every file under DESTDIR."""
        got = {}
        for root, _dirs, files in os.walk(self.destdir):
            for f in files:
                full = os.path.join(root, f)
                rel = "/" + os.path.relpath(full, self.destdir)
                got[rel] = stat.S_IMODE(os.lstat(full).st_mode)
        return got

    def prog(self, name):
        return self.d(os.path.join(self.bindir, name))

    def man(self, name):
        return self.d(os.path.join(self.mandir, MAN_PAGES[name]))

    def unit(self):
        return self.d(os.path.join(self.unitdir, "qinqgw.service"))


# --- cases -------------------------------------------------------------------

def case_install_runs(inst):
    check(inst.result.returncode == 0,
          "meson install exit %d: %s" % (inst.result.returncode, inst.result.stderr[-2000:]))


def case_layout(inst):
    exp, got = inst.expected(), inst.installed()
    missing = sorted(set(exp) - set(got))
    extra = sorted(set(got) - set(exp))
    check(not missing, "not installed: %s" % ", ".join(missing))
    check(not extra, "installed but not expected (a test program? a config?): %s"
          % ", ".join(extra))
    wrong = ["%s %o (want %o)" % (p, got[p], m) for p, m in sorted(exp.items()) if got[p] != m]
    check(not wrong, "wrong modes: %s" % "; ".join(wrong))


def case_nothing_in_etc(inst):
    etc = [p for p in inst.installed() if p.startswith("/etc/") or "/etc/" in p]
    check(not etc, "installed into an etc directory (would overwrite an operator's "
          "config): %s" % ", ".join(etc))


def case_programs_help(inst):
    for p in PROGRAMS:
        r = run([inst.prog(p), "--help"])
        check(r.returncode == 0, "%s --help exit %d: %s" % (p, r.returncode, r.stderr))
        check("Usage" in r.stdout, "%s --help printed no usage: %r" % (p, r.stdout[:200]))


def case_programs_version(inst):
    # qinqgw-ctl has no --version (yet): its --help is checked above.
    for p in ["qinqgw", "qinqgw-stats"]:
        r = run([inst.prog(p), "--version"])
        check(r.returncode == 0, "%s --version exit %d: %s" % (p, r.returncode, r.stderr))
        check(r.stdout.startswith("%s " % p), "%s --version printed %r" % (p, r.stdout))


def case_examples_valid(inst):
    for ex in ["demo.json", "twaren-ccx.json"]:
        path = inst.d(os.path.join(inst.docdir, "examples", ex))
        r = run([inst.prog("qinqgw"), "--check-config", path])
        check(r.returncode == 0, "%s: --check-config exit %d: %s" % (ex, r.returncode, r.stderr))


def case_man_groff_no_warnings(inst):
    for name in MAN_PAGES:
        r = run(["groff", "-man", "-ww", "-z", "-Tutf8", inst.man(name)])
        check(r.returncode == 0 and r.stderr == "",
              "%s: groff -ww exit %d: %s" % (name, r.returncode, r.stderr))


def case_man_renders_no_warnings(inst):
    env = dict(os.environ, LC_ALL="C.UTF-8", MANWIDTH="80", MAN_DISABLE_SECCOMP="1")
    for name in MAN_PAGES:
        r = run(["man", "--warnings", "-E", "UTF-8", "-l", inst.man(name)], env=env)
        check(r.returncode == 0 and r.stderr == "",
              "%s: man --warnings exit %d: %s" % (name, r.returncode, r.stderr))
        check("%s -" % name in r.stdout.replace("\u2010", "-"),
              "%s: rendered page has no NAME line: %r" % (name, r.stdout[:300]))


def man_source(inst, name):
    with open(inst.man(name)) as f:
        return f.read()


def man_sections(src):
    return [m.group(1).strip('"') for m in re.finditer(r"^\.SH +(.+)$", src, re.M)]


def case_man_sections(inst):
    for name in MAN_PAGES:
        sh = man_sections(man_source(inst, name))
        need = SECTIONS + ["COMMANDS" if name == "qinqgw-ctl" else "OPTIONS"]
        missing = [s for s in need if s not in sh]
        check(not missing, "%s: sections missing: %s (has %s)" % (name, missing, sh))


def help_options(inst, name):
    r = run([inst.prog(name), "--help"])
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", r.stdout)))


def case_man_covers_help(inst):
    for name in PROGRAMS:
        text = man_source(inst, name).replace("\\-", "-")
        missing = [o for o in help_options(inst, name)
                   if not re.search(re.escape(o) + r"(?![a-z-])", text)]
        check(not missing, "%s: --help shows options its man page does not name: %s"
              % (name, missing))


def documented_options(src):
    """Options of the OPTIONS section: the first word of each .TP tag."""
    m = re.search(r"^\.SH OPTIONS$(.*?)(?=^\.SH )", src, re.M | re.S)
    check(m, "no OPTIONS section")
    opts = []
    lines = m.group(1).splitlines()
    for i, line in enumerate(lines[:-1]):
        if line.strip() == ".TP":
            tag = lines[i + 1].replace("\\-", "-")
            o = re.search(r"(--[a-z][a-z-]*)", tag)
            if o:
                opts.append(o.group(1))
    return opts


def case_man_options_accepted(inst, tmp):
    """Every documented option passes the program's command-line parsing."""
    nowhere = os.path.join(tmp, "no-such-dir")
    cfg = os.path.join(nowhere, "qinqgw.json")
    sock = os.path.join(nowhere, "ctl.sock")
    demo = inst.d(os.path.join(inst.docdir, "examples", "demo.json"))
    stats_args = {"--watch": ["--watch", "0.1", "--count", "1"],
                  "--count": ["--watch", "0.1", "--count", "1"],
                  "--flow": ["--flow", "x"], "--port": ["--port", "x"],
                  "--owner": ["--owner", "root"],
                  "--stats-name": ["--stats-name", "qgw-install-none"]}
    gw_args = {"--config": [], "--stats-name": ["--stats-name", "x"],
               "--stats-group": ["--stats-group", "root"],
               "--ctl-socket": ["--ctl-socket", sock], "--ctl-group": ["--ctl-group", "root"],
               "--ctl-timeout": ["--ctl-timeout", "30"]}
    # (program, option) -> (argv, expected exit): parsing accepted the option,
    # then the run stopped for the reason expected (no segment, no config
    # file, no gateway).
    plans = []
    for o in documented_options(man_source(inst, "qinqgw-stats")):
        if o in ("--help", "--version"):
            plans.append(("qinqgw-stats", o, [o], 0))
        else:
            argv = ["--stats-name", "qgw-install-none"] + stats_args.get(o, [o])
            plans.append(("qinqgw-stats", o, argv, 1))
    for o in documented_options(man_source(inst, "qinqgw")):
        if o in ("--help", "--version"):
            plans.append(("qinqgw", o, [o], 0))
        elif o == "--check-config":
            plans.append(("qinqgw", o, [o, demo], 0))
        else:
            plans.append(("qinqgw", o, ["--", "--config", cfg] + gw_args.get(o, [o]), 1))
    for o in documented_options(man_source(inst, "qinqgw-ctl")):
        if o == "--help":
            plans.append(("qinqgw-ctl", o, [o], 0))
        elif o == "--confirm":
            plans.append(("qinqgw-ctl", o, ["--socket", sock, "apply", "--confirm", "5", demo], 3))
        elif o == "--socket":
            plans.append(("qinqgw-ctl", o, ["--socket", sock, "show"], 3))
        else:
            plans.append(("qinqgw-ctl", o, ["--socket", sock, o, "show"], 3))
    check(len(plans) >= 20, "only %d documented options found" % len(plans))
    bad = []
    for prog, o, argv, want in plans:
        r = run([inst.prog(prog)] + argv)
        if r.returncode != want:
            bad.append("%s %s: exit %d, want %d (%s)" % (prog, " ".join(argv), r.returncode,
                                                        want, r.stderr.strip()[:160]))
    check(not bad, "; ".join(bad))


def unit_lines(inst):
    with open(inst.unit()) as f:
        return [line.strip() for line in f if line.strip() and not line.startswith("#")]


def case_unit_commands(inst):
    lines = unit_lines(inst)
    qinqgw = os.path.join(inst.bindir, "qinqgw")
    start = [x for x in lines if x.startswith("ExecStart=")]
    check(len(start) == 1 and start[0].split("=", 1)[1].split()[0] == qinqgw,
          "ExecStart is not the installed %s: %s" % (qinqgw, start))
    reload = [x.split("=", 1)[1] for x in lines if x.startswith("ExecReload=")]
    check(any(r.startswith(qinqgw + " --check-config ") for r in reload)
          and any("-HUP $MAINPID" in r for r in reload),
          "ExecReload does not check the config and send SIGHUP: %s" % reload)
    check("EnvironmentFile=%s" % ENV_FILE in lines, "no EnvironmentFile=%s" % ENV_FILE)
    check("RuntimeDirectory=qinqgw" in lines, "no RuntimeDirectory=qinqgw")


def case_env_example_defines_unit_vars(inst):
    used = set()
    for line in unit_lines(inst):
        if line.startswith("Exec"):
            used |= set(re.findall(r"\$\{?([A-Z_][A-Z0-9_]*)\}?", line))
    used.discard("MAINPID")
    check(used, "the unit uses no variable from its EnvironmentFile")
    with open(inst.d(os.path.join(inst.docdir, "examples", "qinqgw.env"))) as f:
        defined = set(re.findall(r"^([A-Z_][A-Z0-9_]*)=", f.read(), re.M))
    check(used <= defined, "the example qinqgw.env does not define %s" % sorted(used - defined))


def case_systemd_verify(inst, tmp):
    # A root with the installed tree and the host's units (sysinit.target,
    # dev-hugepages.mount, ...); our own files are never replaced.
    root = os.path.join(tmp, "root")
    shutil.copytree(inst.destdir, root, symlinks=True)
    host_units = "/usr/lib/systemd/system"
    check(os.path.isdir(host_units), "%s missing: is systemd installed?" % host_units)
    target = os.path.join(root, host_units.lstrip("/"))
    os.makedirs(target, exist_ok=True)
    for f in os.listdir(host_units):
        src, dst = os.path.join(host_units, f), os.path.join(target, f)
        if os.path.lexists(dst) or os.path.isdir(src) and not os.path.islink(src):
            continue
        if os.path.islink(src):
            os.symlink(os.readlink(src), dst)
        else:
            shutil.copy2(src, dst)
    env = dict(os.environ, MANPATH=inst.d(inst.mandir), SYSTEMD_LOG_COLOR="0")
    unit = os.path.join(inst.unitdir, "qinqgw.service")
    r = run(["systemd-analyze", "verify", "--root=" + root, unit], env=env)
    out = (r.stdout + r.stderr).strip()
    check(r.returncode == 0 and out == "",
          "systemd-analyze verify exit %d: %s" % (r.returncode, out))


def case_systemd_verify_sees_breakage(inst, tmp):
    """The verify above would report a broken unit (so its silence means something)."""
    root = os.path.join(tmp, "root")
    check(os.path.isdir(root), "no verify root (the verify case did not run)")
    unit = os.path.join(inst.unitdir, "qinqgw.service")
    broken = os.path.join(root, inst.unitdir.lstrip("/"), "qinqgw-broken.service")
    with open(os.path.join(root, unit.lstrip("/"))) as f:
        text = f.read()
    with open(broken, "w") as f:
        f.write(text.replace("Type=notify", "Type=notifi")
                .replace(os.path.join(inst.bindir, "qinqgw") + " $",
                         os.path.join(inst.bindir, "qinqgw-missing") + " $"))
    env = dict(os.environ, MANPATH=inst.d(inst.mandir), SYSTEMD_LOG_COLOR="0")
    r = run(["systemd-analyze", "verify", "--root=" + root,
             os.path.join(inst.unitdir, "qinqgw-broken.service")], env=env)
    out = r.stdout + r.stderr
    os.unlink(broken)
    check("notifi" in out and "qinqgw-missing" in out,
          "verify did not report a bad Type= and a missing ExecStart: %r" % out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--builddir", required=True)
    ap.add_argument("--only", help="run only the cases whose name contains this")
    args = ap.parse_args()

    tmp = tempfile.mkdtemp(prefix="qgw_install_")
    inst = Install(os.path.abspath(args.builddir), tmp)
    cases = [
        ("meson install succeeds", lambda: case_install_runs(inst)),
        ("installed files and modes", lambda: case_layout(inst)),
        ("nothing installed into etc", lambda: case_nothing_in_etc(inst)),
        ("installed programs: --help exits 0", lambda: case_programs_help(inst)),
        ("installed programs: --version exits 0", lambda: case_programs_version(inst)),
        ("installed example configs are valid", lambda: case_examples_valid(inst)),
        ("man pages: groff -ww prints no warning", lambda: case_man_groff_no_warnings(inst)),
        ("man pages: man --warnings -l renders without warning",
         lambda: case_man_renders_no_warnings(inst)),
        ("man pages: required sections", lambda: case_man_sections(inst)),
        ("man pages: every --help option is documented", lambda: case_man_covers_help(inst)),
        ("man pages: every documented option is accepted",
         lambda: case_man_options_accepted(inst, tmp)),
        ("unit: ExecStart/ExecReload/EnvironmentFile/RuntimeDirectory",
         lambda: case_unit_commands(inst)),
        ("unit: example env defines every variable it uses",
         lambda: case_env_example_defines_unit_vars(inst)),
        ("unit: systemd-analyze verify reports nothing", lambda: case_systemd_verify(inst, tmp)),
        ("unit: systemd-analyze verify reports a broken copy",
         lambda: case_systemd_verify_sees_breakage(inst, tmp)),
    ]
    passed = failed = 0
    try:
        for name, fn in cases:
            if args.only and args.only not in name:
                continue
            try:
                fn()
            except Failure as e:
                failed += 1
                print("FAIL %s: %s" % (name, e), flush=True)
            except Exception as e:  # a missing tool, a timeout: the case failed
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e), flush=True)
            else:
                passed += 1
                print("ok %s" % name, flush=True)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
