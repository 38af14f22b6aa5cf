# SPDX-License-Identifier: MIT
# tests/integration/test_crash.py -- crash safety with the LD_PRELOAD shim
# out/debug/tests/crash/crashshim.so (tests/crash/README.md): every append
# (submits of several shapes, identity records, reindex), init, backup and
# `ledger checkpoint` is crashed at each of its counted write/sync calls on
# a fresh copy of a prepared ledger, three ways at each point: SIGKILL
# (what was written stays in the page cache), power loss that drops every
# write and name change made since its fsync ("drop"), and power loss that
# keeps some of them, page by page ("torn", seeded by the point, so a
# failure names its seed and reproduces).  Power loss is also simulated
# just after each command completed, when its answer has been printed.
# Afterwards audit passes, the batch is wholly present or absent, a
# printed acceptance means present, and appends resume; an init that
# printed "created ledger" left a ledger that audits, and one that did not
# left a state that tally names; a backup is absent or whole.  Plus 20
# random-time SIGKILLs.
# Run: python3 tests/integration/test_crash.py out/debug/tools/tally

import os
import random
import shutil
import signal
import subprocess
import sys
import time
import zlib

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
# per crash mode: runs, and how many left the append present / absent
modes = {m: {"runs": 0, "present": 0, "absent": 0}
         for m in ("kill", "drop", "torn")}
by_mode = {}    # crashes of every test by mode (and at exit)


def shim_env(k=None, count=None, mode="kill", seed=0):
    e = {"LD_PRELOAD": SHIM}
    if k is not None:
        e["TALLY_CRASH_AT"] = k
    if count is not None:
        e["TALLY_CRASH_COUNT_FILE"] = count
    if mode != "kill":
        e["TALLY_CRASH_POWER"] = mode
        e["TALLY_CRASH_SEED"] = seed
    return e


def crash_points(name, n, torn_every=1, phase=0):
    """(k, mode, seed, label) for each crash of a command with n counted
    calls: every point killed and power-lost ("drop"), every point torn
    too (or, with torn_every m, every m-th point from phase), then power
    loss at exit (after the command completed and printed its answer).
    The torn seed comes from the label, so a failure's label reproduces
    it."""
    pts = []
    for k in list(range(1, n + 1)) + ["exit"]:
        for mode in ("kill", "drop", "torn"):
            if k == "exit" and mode == "kill":
                continue    # SIGKILL after the end: nothing to test
            if (mode == "torn" and k != "exit" and
                    (k + phase) % torn_every != 0):
                continue
            label = "%s @%s/%d %s" % (name, k, n, mode)
            seed = zlib.crc32(label.encode()) if mode == "torn" else 0
            if mode == "torn":
                label += " seed=%d" % seed
            pts.append((k, mode, seed, label))
    return pts


def crashed(what, r, k, mode):
    """Checks how a crashed run ended: SIGKILL, or (only if it ran past
    the point) exit 0; never the shim's 98 or the early acceptance 99."""
    key = "%s at exit" % mode if k == "exit" else mode
    by_mode[key] = by_mode.get(key, 0) + 1
    ok = (-9,) if k == "exit" else (0, -9)
    check("%s: killed or completed" % what, r.rc in ok, r)
    check("%s: no acceptance before sync" % what, r.rc != 99, r)
    stats["points"] += 1
    stats["killed" if r.rc == -9 else "completed"] += 1


def size_of(data):
    r = tally("ledger", "checkpoint", "--data", data)
    if r.rc != 0:
        return None
    return int(r.out.split(b"\n")[1])


class Op:
    """One append to crash: argv(copy) runs it on a copy, delta is the
    tree growth, retry (optional) is idempotent: after it the append is
    present whatever the crash left."""

    def __init__(self, name, argv, delta, retry=False, ack=b"accepted"):
        self.name = name
        self.argv = argv
        self.delta = delta
        self.retry = retry
        self.ack = ack      # in stdout once the command has succeeded


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
        "ledger", "reindex", "--data", c], 0, ack=b"reindexed"))
    return ops


def crash_op(L, base, op, scratch, torn_every=1, phase=0):
    """Crashes op at each counted call on fresh copies of base (torn: see
    crash_points)."""
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
    check("%s: prints %r" % (op.name, op.ack), op.ack in r.out, r)
    stats["ops"] += 1
    for k, mode, seed, what in crash_points(op.name, n, torn_every, phase):
        shutil.rmtree(copy, ignore_errors=True)
        shutil.copytree(base, copy, symlinks=True)
        r = tally(*op.argv(copy), env=shim_env(k=k, mode=mode, seed=seed))
        crashed(what, r, k, mode)
        modes[mode]["runs"] += 1
        a = tally("ledger", "audit", "--data", copy)
        check("%s: audit passes" % what, a.rc == 0 and
              "audit passed" in a.text, a)
        s = size_of(copy)
        check("%s: batch wholly present or absent" % what,
              s in (old, old + op.delta), (old, s, op.delta))
        if r.rc == 0 or op.ack in r.out:
            check("%s: acceptance printed means present" % what,
                  s == old + op.delta, (s, r))
        if k == "exit":
            check("%s: the answer was printed" % what, op.ack in r.out, r)
        if op.delta:
            got = "present" if s == old + op.delta else "absent"
            stats[got] += 1
            modes[mode][got] += 1
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
            # Torn at every point on the small ledgers, at every third
            # (a different third for each base) on the larger ones: the
            # pages a commit tears before its fdatasync are ones that no
            # durable meta page points to yet, so tearing differs from
            # dropping only there, and this keeps tools/check short.
            crash_op(L, base, op, scratch, 1 if i < 5 else 3, i)
        shutil.rmtree(base)
        print("  base %d (size %d): %d kill points so far, %.0f s" % (
            i, L.size(), stats["points"], time.time() - t0), flush=True)
    check("some kill points left the batch absent", stats["absent"] > 0,
          stats)
    for m in ("drop", "torn"):
        check("%s: some crashes left the batch present" % m,
              modes[m]["present"] > 0, modes)
    print("  crash modes: %s" % modes)


def test_crash_init(d, create_op_key=False):
    # a key made by init lives in a directory of its own: nothing else
    # init syncs may make its name durable by the way
    os.makedirs(os.path.join(d, "keys"))
    opkey = os.path.join(d, "keys", "op.pem")
    if not create_op_key:
        must("operator key", tally("keygen", "--out", opkey))
    cnt = os.path.join(d, "count")
    data = os.path.join(d, "dl")
    js = os.path.join(d, "b.json")
    with open(js, "w") as f:
        f.write(batch_json(ENT))

    def init(env=None):
        return tally("init", "--data", data, "--operator-key", opkey,
                     "--origin", "crash.test/init", env=env)

    r = init(shim_env(count=cnt))
    check("init runs under the shim", r.rc == 0, r)
    with open(cnt) as f:
        n = int(f.read().strip())
    check("init has counted calls", n > 0, n)
    outcomes = {}
    seen = set()    # what audit says of what a crashed init left
    for k, mode, seed, what in crash_points("init", n):
        shutil.rmtree(data, ignore_errors=True)
        if create_op_key and os.path.exists(opkey):
            os.unlink(opkey)
        r = init(shim_env(k=k, mode=mode, seed=seed))
        crashed(what, r, k, mode)
        a = tally("ledger", "audit", "--data", data)
        check("%s: audit answers, naming the directory" % what,
              a.rc == 0 or (a.rc > 0 and a.err.startswith("tally ledger: ")
                            and data in a.err), a)
        if a.rc != 0:
            seen.add(a.err.replace(data, "DIR").strip())
        if r.rc == 0 or b"created ledger" in r.out:
            check("%s: a ledger init created audits" % what,
                  a.rc == 0 and "audit passed" in a.text, (r, a))
            check("%s: and holds genesis" % what, size_of(data) == 1,
                  size_of(data))
            if create_op_key:
                k = tally("batch", "sign", "--key", opkey, "--origin",
                          "crash.test/init", "--seq", 1, js)
                check("%s: its operator key is whole" % what, k.rc == 0, k)
            kind = "created"
        else:
            again = init()
            if a.rc == 0:
                # the crash came after the init was durable
                check("%s: audited ledger has only genesis" % what,
                      size_of(data) == 1, size_of(data))
                check("%s: init again refused" % what, again.rc != 0,
                      again)
                kind = "done"
            elif again.rc == 0:
                # nothing was left behind: init simply starts over
                check("%s: init over again audits" % what,
                      tally("ledger", "audit", "--data", data).rc == 0)
                kind = "nothing left"
            else:
                check("%s: next init names the interrupted init" % what,
                      "if an init was interrupted, remove the directory" in
                      again.err or "holds an interrupted init" in again.err,
                      again)
                check("%s: and the way out" % what,
                      "run tally init again" in again.err, again)
                kind = "interrupted"
        outcomes[mode + " " + kind] = outcomes.get(mode + " " + kind, 0) + 1
    print("  init outcomes: %s" % outcomes)
    for m in sorted(seen):
        print("  audit after a crashed init: %s" % m)


def test_crash_init_new_operator_key(d):
    # init also creates the operator key here: a crash at any point leaves
    # no key file or a whole one (written aside, synced, then linked).
    test_crash_init(d, create_op_key=True)


def test_crash_backup(d):
    """Crashes a backup at each counted call: the original still audits,
    and the target is absent or a whole copy (made aside, renamed in); a
    backup that printed its line is there after a power loss."""
    L = prepare(d)
    grow(L, 3, 20)
    size = L.size()
    cnt = os.path.join(d, "count")
    out = os.path.join(d, "bk")
    base = os.path.join(d, "base")
    shutil.copytree(L.data, base, symlinks=True)

    def backup(env=None):
        return tally("ledger", "backup", "--data", L.data, "--out", out,
                     env=env)

    r = backup(shim_env(count=cnt))
    check("backup runs under the shim", r.rc == 0, r)
    with open(cnt) as f:
        n = int(f.read().strip())
    check("backup has counted calls", n > 0, n)
    outcomes = {}
    for k, mode, seed, what in crash_points("backup", n):
        shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(L.data, ignore_errors=True)
        shutil.copytree(base, L.data, symlinks=True)
        r = backup(shim_env(k=k, mode=mode, seed=seed))
        crashed(what, r, k, mode)
        a = tally("ledger", "audit", "--data", L.data)
        check("%s: the original audits" % what, a.rc == 0, a)
        if os.path.isdir(out) and os.listdir(out):
            b = tally("ledger", "audit", "--data", out)
            check("%s: a copy that exists is whole" % what,
                  b.rc == 0 and size_of(out) == size, (b, size_of(out)))
            kind = "whole copy"
        else:
            check("%s: a backup that printed is there" % what,
                  b"backup " not in r.out, r)
            again = backup()
            check("%s: the backup can simply be made again" % what,
                  again.rc == 0 and size_of(out) == size, again)
            kind = "absent"
        outcomes[mode + " " + kind] = outcomes.get(mode + " " + kind, 0) + 1
    print("  backup outcomes: %s" % outcomes)


def test_crash_checkpoint(d):
    """`ledger checkpoint` only reads: whatever its counted calls, a crash
    or power loss during or after it leaves the ledger as it was."""
    L = prepare(d)
    grow(L, 2, 5)
    note = L.checkpoint()
    cnt = os.path.join(d, "count")
    base = os.path.join(d, "base")
    shutil.copytree(L.data, base, symlinks=True)
    r = tally("ledger", "checkpoint", "--data", L.data,
              env=shim_env(count=cnt))
    check("checkpoint runs under the shim", r.rc == 0 and r.out == note, r)
    with open(cnt) as f:
        n = int(f.read().strip())
    runs = 0
    for k, mode, seed, what in crash_points("ledger checkpoint", n):
        shutil.rmtree(L.data, ignore_errors=True)
        shutil.copytree(base, L.data, symlinks=True)
        r = tally("ledger", "checkpoint", "--data", L.data,
                  env=shim_env(k=k, mode=mode, seed=seed))
        crashed(what, r, k, mode)
        if k == "exit":
            check("%s: printed the note" % what, r.out == note, r)
        check("%s: audit passes" % what, L.audit().rc == 0)
        check("%s: the note is unchanged" % what, L.checkpoint() == note)
        runs += 1
    print("  ledger checkpoint: %d counted calls, %d crashes" % (n, runs))


def test_io_errors(d):
    """Each counted call of init and backup failing with EIO (the shim's
    TALLY_CRASH_FAIL) gives a clear error naming the reason, no success
    line, and a state tally names: init can start over or names the
    interrupted init; the backup's original audits and the copy is absent
    (or whole, when only the last directory sync failed)."""
    opkey = os.path.join(d, "op.pem")
    must("operator key", tally("keygen", "--out", opkey))
    data = os.path.join(d, "dl")
    cnt = os.path.join(d, "count")

    def init(env=None):
        return tally("init", "--data", data, "--operator-key", opkey,
                     "--origin", "crash.test/eio", env=env)

    must("init under the shim", init(shim_env(count=cnt)))
    with open(cnt) as f:
        n = int(f.read().strip())
    named = 0
    for k in range(1, n + 1):
        shutil.rmtree(data, ignore_errors=True)
        what = "init EIO @%d/%d" % (k, n)
        r = init(dict(shim_env(), TALLY_CRASH_FAIL=k))
        check("%s: fails with the reason, exit 2" % what, r.rc == 2 and
              r.err.startswith("tally init: ") and
              ("Input/output error" in r.err or "I/O error" in r.err), r)
        check("%s: prints no success" % what, b"created" not in r.out, r)
        named += "cannot sync " in r.err
        again = init()
        check("%s: init starts over or names the interrupted init" % what,
              again.rc == 0 or "interrupted" in again.err, again)
    # the parent after mkdir, DIR after linking the key, DIR after LMDB
    # created data.mdb
    check("init: each directory sync's failure is named", named == 3,
          named)

    L = prepare(os.path.join(d, "b"))
    out = os.path.join(d, "bk")
    r = tally("ledger", "backup", "--data", L.data, "--out", out,
              env=shim_env(count=cnt))
    must("backup under the shim", r)
    with open(cnt) as f:
        n = int(f.read().strip())
    for k in range(1, n + 1):
        shutil.rmtree(out, ignore_errors=True)
        what = "backup EIO @%d/%d" % (k, n)
        r = tally("ledger", "backup", "--data", L.data, "--out", out,
                  env=dict(shim_env(), TALLY_CRASH_FAIL=k))
        check("%s: fails with the reason, exit 2" % what, r.rc == 2 and
              r.err.startswith("tally ledger: ") and
              ("Input/output error" in r.err or "I/O error" in r.err), r)
        check("%s: prints no backup line" % what, b"backup " not in r.out,
              r)
        check("%s: the original audits" % what, L.audit().rc == 0)
        if k == n:
            check("%s: the parent's sync is named" % what,
                  "cannot sync %s:" % d in r.err, r)
            check("%s: the copy is whole" % what,
                  tally("ledger", "audit", "--data", out).rc == 0)
        else:
            check("%s: no copy" % what, not os.path.exists(out), out)


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
             test_crash_checkpoint, test_io_errors, test_random_sigkill]
    # TALLY_CRASH_ONLY=init runs only the tests whose name holds "init"
    only = os.environ.get("TALLY_CRASH_ONLY")
    if only:
        tests = [t for t in tests if only in t.__name__]

    def total(d):
        print("  total kill points tested: %d (%s)" % (stats["points"],
                                                      stats))
        print("  crashes by mode: %s" % by_mode)
        check("at least 1000 kill points", stats["points"] >= 1000,
              stats["points"])
    total.__name__ = "kill_point_total"
    harness.run_tests(tests + ([] if only else [total]))


main()
