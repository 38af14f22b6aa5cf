# SPDX-License-Identifier: MIT
# tests/integration/test_crash.py -- crash safety with the LD_PRELOAD shim
# out/debug/tests/crash/crashshim.so: every append (submits of several
# shapes, identity records, reindex) and init is killed at each of its
# counted write/sync calls on a fresh copy of a prepared ledger; afterwards
# audit passes, the batch is wholly present or absent, a printed acceptance
# means present, and appends resume.  Backups are killed the same way (the
# copy is absent or whole).  Plus 20 random-time SIGKILLs.
# Run: python3 tests/integration/test_crash.py out/debug/tools/tally

import os
import random
import shutil
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, batch_json, check, must, tally, uscc  # noqa

ENT = "914403001922038216"
WIT = uscc(11)          # witness enterprise: never touched by the ops
SHIM = None
RANDOM_N = 300          # records in the randomly killed batch
stats = {"points": 0, "killed": 0, "completed": 0, "absent": 0,
         "present": 0, "ops": 0}


def shim_env(k=None, count=None):
    e = {"LD_PRELOAD": SHIM}
    if k is not None:
        e["TALLY_CRASH_AT"] = k
    if count is not None:
        e["TALLY_CRASH_COUNT_FILE"] = count
    return e


def size_of(data):
    r = tally("ledger", "checkpoint", "--data", data)
    if r.rc != 0:
        return None
    return int(r.out.split(b"\n")[1])


class Op:
    """One append to crash: argv(copy) runs it on a copy, delta is the
    tree growth, retry (optional) is idempotent: after it the append is
    present whatever the crash left."""

    def __init__(self, name, argv, delta, retry=False):
        self.name = name
        self.argv = argv
        self.delta = delta
        self.retry = retry


def make_ops(L, base, tag):
    """The appends tried on the prepared ledger base (L's files)."""
    p = L.path
    ops = []
    js = {}
    for n in (1, 50, 1000):
        js[n] = L.write("j%d_%s.json" % (n, tag), batch_json(ENT, n=n,
                                                            tag=n))
        ops.append(Op("submit --key %d record(s)" % n,
                      lambda c, f=js[n]: ["submit", "--data", c, "--key",
                                          p("ent.pem"), f], n + 1))
    # pre-signed batch files: a resend is idempotent
    r = must("sign", L.t("batch", "sign", "--key", p("ent.pem"), "--origin",
                         L.origin, "--data", base, js[1]))
    c1 = L.write("c1_%s.cbor" % tag, r.out)
    ops.append(Op("submit 1-record batch file",
                  lambda c: ["submit", "--data", c, c1], 2, retry=True))
    r = must("sign 3", L.t("batch", "sign", "--key", p("ent.pem"),
                           "--origin", L.origin, "--data", base, js[50]))
    c50 = L.write("c50_%s.cbor" % tag, r.out)
    files = [c50]
    for i, k in enumerate(("e2", "e3")):
        r = must("sign %s" % k, L.t(
            "batch", "sign", "--key", p(k + ".pem"), "--origin", L.origin,
            "--data", base, L.write("%s_%s.json" % (k, tag),
                                    batch_json(uscc(20 + i), n=3))))
        files.append(L.write("%s_%s.cbor" % (k, tag), r.out))
    ops.append(Op("submit 3 batch files in one commit",
                  lambda c: ["submit", "--data", c] + files, 51 + 4 + 4,
                  retry=True))
    big = L.write("big_%s.json" % tag, batch_json(ENT, n=1, tag=7).replace(
        '"tag":7', '"tag":7,"pad":"%s"' % ("x" * 15000)))
    ops.append(Op("submit a 15 KB record",
                  lambda c: ["submit", "--data", c, "--key", p("ent.pem"),
                             big], 2))
    # identity records
    ops.append(Op("id register", lambda c: [
        "id", "register", "--data", c, "--signer", L.op, "--role",
        "enterprise", "--name", "New", "--uscc", uscc(30), "--pubkey",
        p("new.pub"), "--pop", p("new.pop")], 2))
    ops.append(Op("id rotate", lambda c: [
        "id", "rotate", "--data", c, "--signer", L.op, "--uscc", ENT,
        "--pubkey", p("rot.pub"), "--pop", p("rot.pop")], 2))
    ops.append(Op("id revoke", lambda c: [
        "id", "revoke", "--data", c, "--signer", L.op, "--uscc",
        uscc(20), "--compromised-since", 1000], 2))
    ops.append(Op("ledger reindex", lambda c: [
        "ledger", "reindex", "--data", c], 0))
    return ops


def crash_op(L, base, op, scratch):
    """Kills op at each counted call on fresh copies of base."""
    old = size_of(base)
    cnt = os.path.join(scratch, "count")
    copy = os.path.join(scratch, "copy")
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(base, copy, symlinks=True)
    r = tally(*op.argv(copy), env=shim_env(count=cnt))
    if not check("%s: runs under the shim" % op.name, r.rc == 0, r):
        return
    with open(cnt) as f:
        n = int(f.read().strip() or "0")
    check("%s: has counted calls" % op.name, n > 0, n)
    if harness.VERBOSE:
        print("  %s: %d counted calls" % (op.name, n))
    check("%s: grows the tree by %d" % (op.name, op.delta),
          size_of(copy) == old + op.delta, (old, size_of(copy)))
    stats["ops"] += 1
    for k in range(1, n + 1):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(base, copy, symlinks=True)
        r = tally(*op.argv(copy), env=shim_env(k=k))
        stats["points"] += 1
        what = "%s @%d/%d" % (op.name, k, n)
        check("%s: killed or completed" % what, r.rc in (0, -9), r)
        check("%s: no acceptance before sync" % what, r.rc != 99, r)
        stats["killed" if r.rc == -9 else "completed"] += 1
        a = tally("ledger", "audit", "--data", copy)
        check("%s: audit passes" % what, a.rc == 0 and
              "audit passed" in a.text, a)
        s = size_of(copy)
        check("%s: batch wholly present or absent" % what,
              s in (old, old + op.delta), (old, s, op.delta))
        if r.rc == 0 or b"accepted" in r.out:
            check("%s: acceptance printed means present" % what,
                  s == old + op.delta, (s, r))
        if op.delta:
            stats["present" if s == old + op.delta else "absent"] += 1
        if op.retry:
            rr = tally(*op.argv(copy))
            check("%s: retry exits 0" % what, rr.rc == 0, rr)
            check("%s: present after retry" % what,
                  size_of(copy) == old + op.delta, size_of(copy))
        # appends resume (with a key no op touches)
        s0 = size_of(copy)
        rr = tally("submit", "--data", copy, "--key", L.path("wit.pem"),
                   L.path("wit.json"))
        check("%s: next submit succeeds" % what, rr.rc == 0, rr)
        check("%s: next submit appended" % what,
              size_of(copy) == s0 + 2, (s0, size_of(copy)))
        a = tally("ledger", "audit", "--data", copy)
        check("%s: audit after the next submit" % what, a.rc == 0, a)
    shutil.rmtree(copy, ignore_errors=True)


def prepare(d):
    """The prepared ledger: the operator, ENT, witness, e2, e3 keys."""
    L = Ledger(os.path.join(d, "prep"))
    L.register("ent", ENT)
    L.register("wit", WIT)
    L.register("e2", uscc(20))
    L.register("e3", uscc(21))
    for k in ("new", "rot"):
        L.keygen(k)
        must("pop " + k, L.t("id", "pop", "--key", L.path(k + ".pem"),
                             "--data", L.data, "--out",
                             L.path(k + ".pop")))
    L.write("wit.json", batch_json(WIT))
    must("first submit", L.submit_json(L.path("ent.pem"),
                                       batch_json(ENT)))
    return L


def grow(L, batches, n):
    for i in range(batches):
        must("grow", L.submit_json(L.path("wit.pem"),
                                   batch_json(WIT, n=n, tag=i)))


def test_crash_appends(d):
    L = prepare(d)
    scratch = os.path.join(d, "scratch")
    os.makedirs(scratch)
    # ledgers of several sizes and shapes: page splits and overflow
    # pages fall at different calls
    plan = [(0, 1), (1, 1), (2, 1), (3, 2), (5, 1), (1, 200), (8, 1),
            (4, 3), (12, 1), (1, 500), (6, 2), (20, 1), (2, 50), (10, 4),
            (1, 1000), (25, 1)]
    t0 = time.time()
    for i, (batches, n) in enumerate(plan):
        grow(L, batches, n)
        base = os.path.join(d, "base%d" % i)
        shutil.copytree(L.data, base, symlinks=True)
        ops = make_ops(L, base, "b%d" % i)
        for op in ops:
            crash_op(L, base, op, scratch)
        shutil.rmtree(base)
        print("  base %d (size %d): %d kill points so far, %.0f s" % (
            i, L.size(), stats["points"], time.time() - t0), flush=True)
    check("some kill points left the batch absent", stats["absent"] > 0,
          stats)


def test_crash_init(d, create_op_key=False):
    opkey = os.path.join(d, "op.pem")
    if not create_op_key:
        must("operator key", tally("keygen", "--out", opkey))
    cnt = os.path.join(d, "count")
    data = os.path.join(d, "dl")

    def init(env=None):
        return tally("init", "--data", data, "--operator-key", opkey,
                     "--origin", "crash.test/init", env=env)

    r = init(shim_env(count=cnt))
    check("init runs under the shim", r.rc == 0, r)
    with open(cnt) as f:
        n = int(f.read().strip())
    check("init has counted calls", n > 0, n)
    outcomes = {}
    for k in range(1, n + 1):
        shutil.rmtree(data, ignore_errors=True)
        if create_op_key and os.path.exists(opkey):
            os.unlink(opkey)
        r = init(shim_env(k=k))
        stats["points"] += 1
        what = "init @%d/%d" % (k, n)
        check("%s: killed or completed" % what, r.rc in (0, -9), r)
        a = tally("ledger", "audit", "--data", data)
        if r.rc == 0:
            check("%s: completed init audits" % what, a.rc == 0, a)
            outcomes["completed"] = outcomes.get("completed", 0) + 1
            continue
        again = init()
        if a.rc == 0:
            # the kill came after the init was durable
            check("%s: audited ledger has only genesis" % what,
                  size_of(data) == 1, size_of(data))
            check("%s: init again refused" % what, again.rc != 0, again)
            kind = "done"
        elif again.rc == 0:
            # nothing was left behind: init simply starts over
            check("%s: init over again audits" % what,
                  tally("ledger", "audit", "--data", data).rc == 0)
            kind = "nothing left"
        else:
            check("%s: next init names the interrupted init" % what,
                  "interrupted" in again.err, again)
            check("%s: half ledger does not audit" % what, a.rc != 0, a)
            kind = "interrupted"
        outcomes[kind] = outcomes.get(kind, 0) + 1
    print("  init outcomes: %s" % outcomes)


def test_crash_init_new_operator_key(d):
    # init also creates the operator key here: a kill at any point leaves
    # no key file or a whole one (written aside, synced, then linked).
    test_crash_init(d, create_op_key=True)


def test_crash_backup(d):
    """Kills a backup at each counted call: the original still audits, and
    the target is absent or a whole copy (made aside, renamed in)."""
    L = prepare(d)
    grow(L, 3, 20)
    size = L.size()
    cnt = os.path.join(d, "count")
    out = os.path.join(d, "bk")

    def backup(env=None):
        return tally("ledger", "backup", "--data", L.data, "--out", out,
                     env=env)

    r = backup(shim_env(count=cnt))
    check("backup runs under the shim", r.rc == 0, r)
    with open(cnt) as f:
        n = int(f.read().strip())
    check("backup has counted calls", n > 0, n)
    outcomes = {"killed": 0, "completed": 0, "whole copy": 0}
    for k in range(1, n + 1):
        shutil.rmtree(out, ignore_errors=True)
        r = backup(shim_env(k=k))
        stats["points"] += 1
        what = "backup @%d/%d" % (k, n)
        check("%s: killed or completed" % what, r.rc in (0, -9), r)
        outcomes["killed" if r.rc == -9 else "completed"] += 1
        a = tally("ledger", "audit", "--data", L.data)
        check("%s: the original audits" % what, a.rc == 0, a)
        if os.path.isdir(out) and os.listdir(out):
            b = tally("ledger", "audit", "--data", out)
            check("%s: a copy that exists is whole" % what,
                  b.rc == 0 and size_of(out) == size, (b, size_of(out)))
            outcomes["whole copy"] += 1
        else:
            again = backup()
            check("%s: the backup can simply be made again" % what,
                  again.rc == 0 and size_of(out) == size, again)
    print("  backup outcomes: %s" % outcomes)


def test_random_sigkill(d):
    L = prepare(d)
    grow(L, 5, 1)
    base = os.path.join(d, "base")
    shutil.copytree(L.data, base, symlinks=True)
    old = L.size()
    js = L.write("r.json", batch_json(ENT, n=RANDOM_N, tag=3))
    r = must("sign", L.t("batch", "sign", "--key", L.path("ent.pem"),
                         "--origin", L.origin, "--data", base, js))
    cb = L.write("r.cbor", r.out)
    want = old + RANDOM_N + 1
    rnd = random.Random(int(os.environ.get("TALLY_IT_SEED", "1234")))
    copy = os.path.join(d, "copy")
    counts = {"killed": 0, "finished": 0}
    for i in range(20):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(base, copy, symlinks=True)
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        p = subprocess.Popen([harness.TALLY, "submit", "--data", copy, cb],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env=env)
        time.sleep(rnd.uniform(0, 0.030))
        p.send_signal(signal.SIGKILL)
        out, err = p.communicate()
        counts["killed" if p.returncode == -9 else "finished"] += 1
        what = "random kill %d" % i
        check("%s: killed or exited 0" % what, p.returncode in (0, -9),
              (p.returncode, err))
        a = tally("ledger", "audit", "--data", copy)
        check("%s: audit passes" % what, a.rc == 0, a)
        s = size_of(copy)
        check("%s: present or absent" % what, s in (old, want), (old, s))
        if b"accepted" in out:
            check("%s: accepted means present" % what, s == want, s)
        rr = tally("submit", "--data", copy, cb)
        check("%s: resend exits 0" % what, rr.rc == 0, rr)
        check("%s: present after resend" % what,
              size_of(copy) == want)
        check("%s: audit after resend" % what,
              tally("ledger", "audit", "--data", copy).rc == 0)
    print("  random kills: %s" % counts)


def main():
    global SHIM
    harness.setup()
    SHIM = os.path.join(os.path.dirname(os.path.dirname(harness.TALLY)),
                        "tests", "crash", "crashshim.so")
    if not os.path.isfile(SHIM):
        print("FATAL: crash shim %s is missing (ninja it)" % SHIM)
        check("crash shim exists", False, SHIM)
        harness.finish()
    tests = [test_crash_appends, test_crash_init,
             test_crash_init_new_operator_key, test_crash_backup,
             test_random_sigkill]

    def total(d):
        print("  total kill points tested: %d (%s)" % (stats["points"],
                                                      stats))
        check("at least 1000 kill points", stats["points"] >= 1000,
              stats["points"])
    total.__name__ = "kill_point_total"
    harness.run_tests(tests + [total])


main()
