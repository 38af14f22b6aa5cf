# SPDX-License-Identifier: MIT
# tests/integration/test_tools.py -- the suite's own tools on a machine that
# lacks one of the commands they call: tools/install-deps --check names it
# once (with its package) and fails; tools/lint reports one failure for a
# missing clang-format-14, not one per file.  The machine is simulated by a
# PATH holding every command of the real one but the missing one.
# Run: python3 tests/integration/test_tools.py out/debug/tools/tally

import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


def path_without(d, missing):
    """A directory of links to every command on PATH except missing."""
    bin_ = os.path.join(d, "bin")
    os.makedirs(bin_)
    for p in os.environ.get("PATH", "").split(":"):
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            full = os.path.join(p, name)
            dst = os.path.join(bin_, name)
            if name in missing or os.path.lexists(dst):
                continue
            if os.path.isfile(full) and os.access(full, os.X_OK):
                os.symlink(full, dst)
    return bin_


def run(cmd, bin_):
    return subprocess.run(cmd, cwd=ROOT, env=dict(os.environ, PATH=bin_),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True)


def test_all_present(d):
    r = subprocess.run(["tools/install-deps", "--check"], cwd=ROOT,
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    check("every command the suite calls is here", r.returncode == 0 and
          r.stdout == "", r.stdout)


def test_missing_named_once(d):
    bin_ = path_without(d, {"clang-format-14", "mdb_dump"})
    r = run(["tools/install-deps", "--check"], bin_)
    lines = r.stdout.splitlines()
    check("install-deps --check fails", r.returncode == 1, r.stdout)
    check("one line per missing command", len(lines) == 2, r.stdout)
    check("names clang-format-14 and its package",
          "missing command clang-format-14 (Debian package clang-format-14"
          in r.stdout, r.stdout)
    check("names mdb_dump and its package",
          "missing command mdb_dump (Debian package lmdb-utils" in r.stdout,
          r.stdout)


def test_lint_without_formatter(d):
    bin_ = path_without(d, {"clang-format-14"})
    r = run(["tools/lint"], bin_)
    fails = [x for x in r.stdout.splitlines()
             if x.startswith("lint: ") and "passed" not in x]
    check("lint fails", r.returncode != 0, r.stdout)
    check("one failure, naming the formatter", len(fails) == 1 and
          "clang-format-14 is not installed" in fails[0], r.stdout)
    check("the other checks still ran",
          r.stdout.rstrip().endswith("1 failed") and
          not r.stdout.rstrip().endswith(" 0 passed, 1 failed"), r.stdout)


harness.run_tests([test_all_present, test_missing_named_once,
                   test_lint_without_formatter])
