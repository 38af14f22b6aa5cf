# SPDX-License-Identifier: MIT
# tests/integration/test_determinism.py -- the same keys, origin, commands
# and writer clock (set per step from outside the binary, tests/fakeclock.py;
# one step has the clock ten years ahead, the next has it back) build
# byte-identical ledgers: every leaf, the latest checkpoint, the root and
# every database.  With out/asan/tools/tally present, a run with it must
# match the debug run.
# Run: python3 tests/integration/test_determinism.py out/debug/tools/tally

import hashlib
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import at, batch_json, check, tally, uscc  # noqa: E402

ORIGIN = "determinism.test/log"
T0 = 1800000000000
STEP = 10 * 365 * 24 * 3600 * 1000  # a forward step of the writer's clock
ENT = "914403001922038216"
E2 = uscc(3)
REG = "11100000000013127D"
KEYS = ["op", "ckpt", "ent", "ent_new", "e2", "reg"]


def make_keys(kd):
    """The fixed keys: made once, copied into every run."""
    os.makedirs(kd)
    for k in KEYS:
        p = os.path.join(kd, k + ".pem")
        r = tally("keygen", "--out", p)
        check("keygen " + k, r.rc == 0, r)
        q = subprocess.run(["openssl", "pkey", "-in", p, "-pubout", "-out",
                            os.path.join(kd, k + ".pub")],
                           stderr=subprocess.PIPE)
        check("pubout " + k, q.returncode == 0, q.stderr)


def build(run, kd, exe):
    """Builds a ledger in run/ by a fixed script; returns the outputs
    of every step (for comparison) and the data directory."""
    shutil.copytree(kd, run)
    for f in os.listdir(run):
        os.chmod(os.path.join(run, f), 0o600)
    data = os.path.join(run, "dl")

    def p(name):
        return os.path.join(run, name)

    def w(name, s):
        with open(p(name), "w") as f:
            f.write(s)
        return p(name)

    ref = lambda i, h: [{"index": i, "hash": h}]  # noqa: E731
    steps = []
    now = [T0]

    def step(*args, rc=0, out=None, ahead=0):
        if args[0] == "submit" or args[:2] == ("ledger", "audit") or \
                (args[0] == "id" and args[1] != "pop"):
            # writing commands name the checkpoint key kept outside DIR
            args = args + ("--checkpoint-key", p("ckpt.pem"))
        r = tally(*args, env=at(now[0] + ahead), exe=exe)
        check("%s: step %d (%s) exits %d" % (os.path.basename(exe),
                                              len(steps), args[0], rc),
              r.rc == rc, (args, r))
        steps.append((args[0], r.rc, r.out.replace(run.encode(), b"RUN"),
                      r.err.replace(run, "RUN")))
        if out:
            with open(p(out), "wb") as f:
                f.write(r.out)
        now[0] += 1500
        return r

    step("init", "--data", data, "--operator-key", p("op.pem"), "--origin",
         ORIGIN, "--checkpoint-key", p("ckpt.pem"))
    check("checkpoint key kept outside DIR",
          not os.path.exists(os.path.join(data, "checkpoint.key")))

    def register(name, code, role="enterprise", scopes=()):
        step("id", "pop", "--key", p(name + ".pem"), "--data", data,
             "--out", p(name + ".pop"))
        a = ["id", "register", "--data", data, "--signer", p("op.pem"),
             "--role", role, "--name", name, "--uscc", code, "--pubkey",
             p(name + ".pub"), "--pop", p(name + ".pop")]
        for s in scopes:
            a += ["--scope", s]
        step(*a)

    register("ent", ENT)
    register("e2", E2)
    register("reg", REG, role="regulator", scopes=["market", "tax"])
    step("submit", "--data", data, "--key", p("ent.pem"),
         w("j1.json", batch_json(ENT)))
    step("submit", "--data", data, "--key", p("ent.pem"),
         w("j2.json", batch_json(ENT, n=7, tag=2)))
    # the writer's clock steps forward (the log time with it), then back
    step("submit", "--data", data, "--key", p("ent.pem"),
         w("ja.json", batch_json(ENT, tag=3)), ahead=STEP)
    step("submit", "--data", data, "--key", p("ent.pem"),
         w("jb.json", batch_json(ENT, tag=4)))
    # signed batch files, two of them in one commit (group commit)
    for i, (key, code, n) in enumerate([("ent", ENT, 3), ("e2", E2, 2)]):
        step("batch", "sign", "--key", p(key + ".pem"), "--origin", ORIGIN,
             "--seq", 5 if key == "ent" else 1, "--time", now[0],
             w("s%d.json" % i, batch_json(code, n=n, tag=10 + i)),
             out="s%d.cbor" % i)
    step("submit", "--data", data, p("s0.cbor"), p("s1.cbor"))
    step("submit", "--data", data, p("s0.cbor"))           # resend
    step("submit", "--data", data, "--key", p("e2.pem"),   # refused
         w("bad.json", batch_json(ENT)), rc=1)
    step("submit", "--data", data, "--key", p("reg.pem"),
         w("m.json", batch_json(ENT, n=4, typ="market.inspection")))
    # a record referring to an earlier leaf
    leaf4 = step("ledger", "get", "--data", data, "--index", 4, "--raw")
    h = hashlib.sha256(b"\x00" + leaf4.out).hexdigest()
    step("submit", "--data", data, "--key", p("ent.pem"),
         w("r.json", batch_json(ENT, tag=20, refs=ref(4, h))))
    step("id", "pop", "--key", p("ent_new.pem"), "--data", data, "--out",
         p("ent_new.pop"))
    step("id", "rotate", "--data", data, "--signer", p("op.pem"),
         "--uscc", ENT, "--pubkey", p("ent_new.pub"), "--pop",
         p("ent_new.pop"))
    step("submit", "--data", data, "--key", p("ent_new.pem"),
         w("j3.json", batch_json(ENT, n=2, tag=30)))
    step("id", "except", "--data", data, "--signer", p("op.pem"), "--uscc",
         "914403001922038217", "--reason", "legacy code")
    step("id", "revoke", "--data", data, "--signer", p("op.pem"),
         "--uscc", E2, "--compromised-since", T0 + 1)
    step("ledger", "checkpoint", "--data", data)
    step("ledger", "audit", "--data", data)
    return steps, data


def ledger_state(data, exe=None):
    cp = tally("ledger", "checkpoint", "--data", data, exe=exe)
    check("checkpoint", cp.rc == 0, cp)
    size = int(cp.out.split(b"\n")[1])
    leaves = []
    for i in range(size):
        r = tally("ledger", "get", "--data", data, "--index", i, "--raw",
                  exe=exe)
        check("get --raw %d" % i, r.rc == 0, r)
        leaves.append(r.out)
    st = tally("ledger", "stats", "--data", data, exe=exe)
    check("stats", st.rc == 0, st)
    root = [x for x in st.text.split("\n") if x.startswith("root ")]
    dump = subprocess.run(["mdb_dump", "-a", data], stdout=subprocess.PIPE)
    check("mdb_dump", dump.returncode == 0)
    return {"checkpoint": cp.out, "size": size, "leaves": leaves,
            "root": root, "dump": dump.stdout}


def compare(tag, s1, st1, s2, st2):
    check("%s: same number of steps" % tag, len(s1) == len(s2))
    for i, (a, b) in enumerate(zip(s1, s2)):
        check("%s: step %d (%s) same exit and output" % (tag, i, a[0]),
              a == b, (a, b))
    check("%s: same size" % tag, st1["size"] == st2["size"],
          (st1["size"], st2["size"]))
    check("%s: a non-trivial ledger" % tag, st1["size"] > 30, st1["size"])
    for i, (x, y) in enumerate(zip(st1["leaves"], st2["leaves"])):
        check("%s: leaf %d identical" % (tag, i), x == y)
    check("%s: latest checkpoint identical" % tag,
          st1["checkpoint"] == st2["checkpoint"],
          (st1["checkpoint"], st2["checkpoint"]))
    check("%s: root identical" % tag, st1["root"] == st2["root"] and
          len(st1["root"]) == 1, (st1["root"], st2["root"]))
    check("%s: every database identical (mdb_dump -a)" % tag,
          st1["dump"] == st2["dump"])


def test_same_commands_same_bytes(d):
    kd = os.path.join(d, "keys")
    make_keys(kd)
    s1, d1 = build(os.path.join(d, "run1"), kd, harness.TALLY)
    s2, d2 = build(os.path.join(d, "run2"), kd, harness.TALLY)
    st1, st2 = ledger_state(d1), ledger_state(d2)
    compare("debug vs debug", s1, st1, s2, st2)
    with open(os.path.join(d1, "data.mdb"), "rb") as f1, \
            open(os.path.join(d2, "data.mdb"), "rb") as f2:
        same = f1.read() == f2.read()
    print("  data.mdb files byte-identical: %s" % same)
    asan = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
        harness.TALLY))), "asan", "tools", "tally")
    if os.path.isfile(asan) and os.access(asan, os.X_OK):
        s3, d3 = build(os.path.join(d, "run3"), kd, asan)
        st3 = ledger_state(d3, exe=asan)
        compare("debug vs asan", s1, st1, s3, st3)
        print("  cross-build comparison with %s done" % asan)
    else:
        print("  (no %s: cross-build comparison skipped)" % asan)


def test_clock_matters(d):
    # the comparison is sensitive: the same script with another clock at
    # one step gives a different checkpoint
    kd = os.path.join(d, "keys")
    make_keys(kd)
    s1, d1 = build(os.path.join(d, "run1"), kd, harness.TALLY)
    global T0
    saved = T0
    T0 = saved + 1
    try:
        s2, d2 = build(os.path.join(d, "run2"), kd, harness.TALLY)
    finally:
        T0 = saved
    st1, st2 = ledger_state(d1), ledger_state(d2)
    check("another clock: same size", st1["size"] == st2["size"])
    check("another clock: genesis differs",
          st1["leaves"][0] != st2["leaves"][0])
    check("another clock: checkpoint differs",
          st1["checkpoint"] != st2["checkpoint"])


harness.run_tests([test_same_commands_same_bytes, test_clock_matters])
