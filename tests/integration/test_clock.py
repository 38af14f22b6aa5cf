# SPDX-License-Identifier: MIT
# tests/integration/test_clock.py -- the writer's clock, on the real binary
# with its clock set from outside (tests/fakeclock.py): the clock stepped
# ten years forward and then corrected locks no honest submitter out (they
# are accepted at once after the correction), the log time never
# decreases, each header leaf records the clock reading its window was
# checked against, and audit and the outside verifier (written from
# docs/format.md) accept it; and nothing a caller passes
# sets the clock (TALLY_NOW_MS, once read, is ignored).
# Run: python3 tests/integration/test_clock.py out/debug/tools/tally

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, at, batch_json, check, must, refused  # noqa

ENT = "914403001922038216"
T0 = 1800000000000
STEP = T0 + 10 * 365 * 24 * 3600 * 1000  # the clock ten years ahead
WINDOW = 600000                          # the default window (ms)


def stats(L, env=None):
    r = must("ledger stats", L.t("ledger", "stats", "--data", L.data,
                                 "--json", env=env))
    return json.loads(r.out)


def leaf(L, i):
    r = must("ledger get %d" % i, L.t("ledger", "get", "--data", L.data,
                                      "--index", i))
    return json.loads(r.out)


def test_step_forward_then_back(d):
    L = Ledger(d, env=at(T0))
    ent = L.register("ent", ENT)
    times = []

    def submit(name, clock, tag):
        r = must(name, L.t("submit", "--data", L.data, "--key", ent,
                           "--json", L.write(name + ".json",
                                             batch_json(ENT, tag=tag)),
                           env=at(clock)))
        rc = json.loads(r.out)
        times.append(rc["log_time"])
        return rc

    a = submit("before", T0 + 1000, 1)
    check("before the step: log time = clock", a["log_time"] == T0 + 1000, a)
    b = submit("stepped", STEP, 2)
    check("the step: log time = the stepped clock", b["log_time"] == STEP, b)
    # Corrected: accepted at once (with the window checked against the log
    # time, this was refused for ten years), under the stepped log time.
    c = submit("corrected", T0 + 2000, 3)
    check("after the correction: log time stays", c["log_time"] == STEP, c)
    h = leaf(L, c["header_index"])
    check("header leaf: the clock reading", h.get("clock") == T0 + 2000, h)
    check("header leaf: the log time", h.get("ltime") == STEP, h)
    # A batch signed by a client whose clock still shows the step is
    # refused now, around the writer's clock; the edges are inclusive.
    _, p = L.sign(ent, batch_json(ENT, tag=4), "ahead", seq=4, when=STEP)
    refused(L, "claimed the stepped time after the correction",
            lambda: L.submit(p, env=at(T0 + 3000)),
            ["claimed time outside the window",
             "writer's clock %d" % (T0 + 3000)])
    _, p = L.sign(ent, batch_json(ENT, tag=5), "late", seq=4,
                  when=T0 + 3000 - WINDOW - 1)
    refused(L, "claimed just more than a window early",
            lambda: L.submit(p, env=at(T0 + 3000)),
            "claimed time outside the window")
    _, p = L.sign(ent, batch_json(ENT, tag=6), "edge", seq=4,
                  when=T0 + 3000 + WINDOW)
    r = must("claimed exactly a window late", L.t(
        "submit", "--data", L.data, "--json", p, env=at(T0 + 3000)))
    times.append(json.loads(r.out)["log_time"])
    check("log times never decrease", times == sorted(times), times)
    check("last log time is the stepped one",
          stats(L, env=at(T0 + 4000))["last_log_time"] == STEP)
    must("audit of the stepped ledger", L.t("ledger", "audit", "--data",
                                            L.data, env=at(T0 + 5000)))
    v = subprocess.run([sys.executable, os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
        "outside", "verify.py"), L.data], capture_output=True, text=True)
    check("the outside verifier accepts the stepped ledger",
          v.returncode == 0, v.stdout[-600:] + v.stderr[-300:])


def test_caller_cannot_set_clock(d):
    # TALLY_NOW_MS used to set the writer's clock; a release binary reads
    # the system clock only, so init, id and submit ignore it.
    env = dict(at(T0), TALLY_NOW_MS=str(STEP))
    L = Ledger(d, env=env)
    check("init: genesis time is the clock's",
          stats(L)["last_log_time"] == T0)
    ent = L.register("ent", ENT)
    r = must("submit with TALLY_NOW_MS not a number", L.t(
        "submit", "--data", L.data, "--key", ent, "--json",
        L.write("a.json", batch_json(ENT)),
        env=dict(at(T0 + 1000), TALLY_NOW_MS="soon")))
    check("submit: log time is the clock's",
          json.loads(r.out)["log_time"] == T0 + 1000, r)
    # batch sign without --time claims the clock's time (T0), not the
    # variable's: accepted at a clock exactly one window later.
    _, p = L.sign(ent, batch_json(ENT, tag=1), "s", seq=2)
    must("a batch signed with TALLY_NOW_MS set", L.t(
        "submit", "--data", L.data, p, env=at(T0 + WINDOW)))
    check("no log time from the variable",
          stats(L)["last_log_time"] == T0 + WINDOW)


harness.run_tests([test_step_forward_then_back, test_caller_cannot_set_clock])
