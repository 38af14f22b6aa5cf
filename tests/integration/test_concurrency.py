# SPDX-License-Identifier: MIT
# tests/integration/test_concurrency.py -- two processes race to submit
# different batches with the same key and sequence number, 100 rounds:
# exactly one is accepted, the other refused "sequence conflict"; the log
# stays consistent (audit) and each winner is the one stored.  When tally
# chooses the sequence number itself (submit --key, the id record
# commands), racing writers of one key all get through: a lost race is
# signed again at the next number.
# Run: python3 tests/integration/test_concurrency.py out/debug/tools/tally

import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, batch_json, check, must  # noqa: E402

ENT = "914403001922038216"
ROUNDS = 100


def popen_submit(L, path):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    return subprocess.Popen([harness.TALLY, "submit", "--data", L.data,
                             path], env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def test_race_same_seq(d):
    L = Ledger(d)
    ent = L.register("ent", ENT)
    size0 = L.size()
    pairs = []
    for n in range(1, ROUNDS + 1):
        _, a = L.sign(ent, batch_json(ENT, tag=n * 10 + 1), "a%d" % n,
                      seq=n, with_data=False)
        _, b = L.sign(ent, batch_json(ENT, n=2, tag=n * 10 + 2),
                      "b%d" % n, seq=n, with_data=False)
        pairs.append((a, b))
    winners = []
    bad_rounds = 0
    first_wins = 0
    for n, (a, b) in enumerate(pairs, 1):
        pa = popen_submit(L, a)
        pb = popen_submit(L, b)
        oa, ea = pa.communicate(timeout=60)
        ob, eb = pb.communicate(timeout=60)
        res = [(pa.returncode, oa.decode(), ea.decode(), a),
               (pb.returncode, ob.decode(), eb.decode(), b)]
        ok = [x for x in res if x[0] == 0 and
              x[1].startswith("accepted:")]
        lost = [x for x in res if x[0] == 1 and
                "sequence conflict" in x[2]]
        good = len(ok) == 1 and len(lost) == 1
        if not good:
            bad_rounds += 1
        check("round %d: exactly one accepted, one conflict" % n, good,
              res)
        if ok:
            winners.append(ok[0][3])
            first_wins += ok[0][3] == a
    check("no bad rounds", bad_rounds == 0, bad_rounds)
    print("  first-started process won %d of %d rounds" % (first_wins,
                                                          ROUNDS))
    nrec = sum(1 if w.endswith("/a%d.cbor" % i) else 2
               for i, w in enumerate(winners, 1))
    check("tree size = winners' headers and records",
          L.size() == size0 + len(winners) + nrec,
          (size0, len(winners), nrec, L.size()))
    r = L.audit()
    check("audit passes after the races", r.rc == 0 and
          "audit passed" in r.text, r)
    # the stored batch of each seq is the winner: resending it is
    # "already accepted", resending the loser is a conflict
    for i, w in enumerate(winners, 1):
        if i % 10:
            continue
        loser = [p for p in pairs[i - 1] if p != w][0]
        r = L.submit(w)
        check("seq %d winner resend already accepted" % i, r.rc == 0 and
              r.text.startswith("already accepted:"), r)
        r = L.submit(loser)
        check("seq %d loser resend conflict" % i, r.rc == 1 and
              "sequence conflict" in r.err, r)
    # and the key continues at the next seq
    r = must("next seq after the races", L.submit_json(
        ent, batch_json(ENT, tag=999)))
    check("next seq is %d" % (ROUNDS + 1),
          ", seq %d," % (ROUNDS + 1) in r.text, r)


def test_race_different_keys(d):
    # two keys racing never conflict: both accepted every round
    L = Ledger(d)
    codes = [harness.uscc(1), harness.uscc(2)]
    keys = [L.register("k%d" % i, c) for i, c in enumerate(codes)]
    files = []
    for n in range(1, 21):
        files.append([L.sign(k, batch_json(c, tag=n), "k%d_%d" % (i, n),
                             seq=n, with_data=False)[1]
                      for i, (k, c) in enumerate(zip(keys, codes))])
    size0 = L.size()
    both = 0
    for n, (a, b) in enumerate(files, 1):
        pa = popen_submit(L, a)
        pb = popen_submit(L, b)
        oa, ea = pa.communicate(timeout=60)
        ob, eb = pb.communicate(timeout=60)
        both += pa.returncode == 0 and pb.returncode == 0
        check("different keys round %d: both accepted" % n,
              pa.returncode == 0 and pb.returncode == 0, (ea, eb))
    check("all 20 rounds both accepted", both == 20, both)
    check("size grew by 80", L.size() == size0 + 80, L.size())
    check("audit passes", L.audit().rc == 0)


def popen(L, *args):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    return subprocess.Popen([harness.TALLY] + [str(a) for a in args],
                            env=e, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def race(procs):
    """Waits for every process; [(rc, stdout, stderr)]."""
    res = []
    for p in procs:
        o, e = p.communicate(timeout=120)
        res.append((p.returncode, o.decode(), e.decode()))
    return res


WRITERS = 8   # sign_and_append's attempts: so many always get through
RACE_ROUNDS = 8


def test_race_tally_chooses_seq(d):
    # WRITERS processes at once, submit --key with one key: each loses at
    # most WRITERS - 1 races (one per other writer's commit), so every one
    # is accepted, at its own sequence number
    L = Ledger(d)
    ent = L.register("ent", ENT)
    size0 = L.size()
    seqs = []
    for n in range(RACE_ROUNDS):
        files = [L.write("r%d_%d.json" % (n, i),
                         batch_json(ENT, tag=n * 100 + i))
                 for i in range(WRITERS)]
        res = race([popen(L, "submit", "--data", L.data, "--key", ent,
                          "--json", f) for f in files])
        for i, (rc, out, err) in enumerate(res):
            check("round %d writer %d accepted" % (n, i),
                  rc == 0 and err == "" and '"accepted"' in out,
                  (rc, out, err))
            if rc == 0:
                seqs.append(json.loads(out)["seq"])
    total = RACE_ROUNDS * WRITERS
    check("every batch has its own sequence number 1..%d" % total,
          sorted(seqs) == list(range(1, total + 1)), sorted(seqs))
    check("tree size = %d batches of one record" % total,
          L.size() == size0 + 2 * total, (size0, L.size()))
    r = L.audit()
    check("audit passes after the races", r.rc == 0 and
          "audit passed" in r.text, r)


def test_race_id_records(d):
    # the id record commands sign with the operator key at its next
    # number: concurrent registrations all go in
    L = Ledger(d)
    codes = [harness.uscc(10 + i) for i in range(WRITERS)]
    procs = []
    for i, c in enumerate(codes):
        key = L.keygen("k%d" % i)
        must("pop k%d" % i, L.t("id", "pop", "--key", key, "--data",
                                L.data, "--out", L.path("k%d.pop" % i)))
    size0 = L.size()
    for i, c in enumerate(codes):
        procs.append(popen(L, "id", "register", "--data", L.data,
                           "--signer", L.op, "--role", "enterprise",
                           "--name", "N%d" % i, "--uscc", c, "--pubkey",
                           L.path("k%d.pub" % i), "--pop",
                           L.path("k%d.pop" % i)))
    res = race(procs)
    for i, (rc, out, err) in enumerate(res):
        check("registration %d accepted" % i,
              rc == 0 and err == "" and out.startswith("accepted:"),
              (rc, out, err))
    check("all registered", L.size() == size0 + 2 * WRITERS, L.size())
    r = L.t("id", "list", "--data", L.data)
    check("id list shows every code",
          all(c in r.text for c in codes), r)
    check("audit passes", L.audit().rc == 0)


harness.run_tests([test_race_same_seq, test_race_different_keys,
                   test_race_tally_chooses_seq, test_race_id_records])
