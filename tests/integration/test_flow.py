# SPDX-License-Identifier: MIT
# tests/integration/test_flow.py -- the happy path end to end: init,
# register, submit, checkpoints kept outside, inclusion / consistency /
# record proofs verified offline (and corrupted ones refused), audit,
# backup, stats, genesis, key rotation and compromise.
# Run: python3 tests/integration/test_flow.py out/debug/tools/tally

import base64
import hashlib
import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, batch_json, check, must  # noqa: E402

ENT = "914403001922038216"
OTHER = "91350100M000100Y43"



def leaf_hash(b):
    return hashlib.sha256(b"\x00" + b).digest()


def mth(hashes):
    """RFC 6962 Merkle tree hash of a list of leaf hashes."""
    n = len(hashes)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(hashes[:k]) +
                          mth(hashes[k:])).digest()


def cp_root(cp):
    lines = cp.split(b"\n")
    return int(lines[1]), base64.b64decode(lines[2])


def flip_hex(s, pos=0):
    c = s[pos]
    return s[:pos] + ("1" if c == "0" else "0") + s[pos + 1:]


def raw_leaves(L, n, data=None):
    out = []
    for i in range(n):
        r = L.t("ledger", "get", "--data", data or L.data, "--index", i,
                "--raw")
        check("get --raw %d" % i, r.rc == 0, r)
        out.append(r.out)
    return out


def build(d):
    L = Ledger(d)
    ent = L.register("ent", ENT)
    r = must("submit 1", L.submit_json(ent, batch_json(ENT)))
    check("receipt says accepted", r.text.startswith("accepted: header"), r)
    return L, ent


def test_proofs(d):
    L, ent = build(d)
    cp_old = L.checkpoint()
    old_path = L.write("cp_old", cp_old)   # kept outside the data dir
    size_old, root_old = cp_root(cp_old)
    for k in range(1, 6):
        must("submit %d records" % k,
             L.submit_json(ent, batch_json(ENT, n=k, tag=k)))
    _, p = L.sign(ent, batch_json(ENT, n=3, tag=99), "signed")
    must("submit a signed batch file", L.submit(p))
    cp_new = L.checkpoint()
    new_path = L.write("cp_new", cp_new)
    size, root = cp_root(cp_new)
    check("tree grew", size == size_old + 5 * 1 + 15 + 4, (size_old, size))
    vk = L.write("vk", must("pubkey", L.t("ledger", "pubkey", "--data",
                                          L.data)).out)

    leaves = raw_leaves(L, size)
    hashes = [leaf_hash(x) for x in leaves]
    check("root recomputed from the raw leaves", mth(hashes) == root)
    check("old root recomputed from the raw leaves",
          mth(hashes[:size_old]) == root_old)

    # inclusion proofs at several sizes, verified offline
    for idx, n in [(0, 1), (0, size), (3, 4), (4, 9), (size - 1, size),
                   (7, 13), (2, size_old)]:
        r = must("prove --index %d --size %d" % (idx, n),
                 L.t("ledger", "prove", "--data", L.data, "--index", idx,
                     "--size", n))
        pj = json.loads(r.out)
        check("proof leaf hash %d" % idx,
              pj["leaf_hash"] == hashes[idx].hex(), pj)
        check("proof root %d" % n, pj["root"] == mth(hashes[:n]).hex(), pj)
        base = ["proof", "inclusion", "--leaf-hash", pj["leaf_hash"],
                "--index", idx, "--size", n, "--root", pj["root"]]
        pr = ["--proof", ",".join(pj["proof"])] if pj["proof"] else []
        must("inclusion %d/%d valid" % (idx, n), L.t(*base, *pr))
        if pj["proof"]:
            bad = list(pj["proof"])
            bad[-1] = flip_hex(bad[-1], 5)
            must("inclusion %d/%d corrupted proof" % (idx, n),
                 L.t(*base, "--proof", ",".join(bad)), 1)
            must("inclusion %d/%d short proof" % (idx, n),
                 L.t(*base, "--proof", ",".join(pj["proof"][:-1])), 1)
            must("inclusion %d/%d truncated hash" % (idx, n),
                 L.t(*base, "--proof", ",".join(
                     pj["proof"][:-1] + [pj["proof"][-1][:-2]])), 1)
        other = (idx + 1) % n if n > 1 else None
        if other is not None:
            must("inclusion %d/%d at another index" % (idx, n),
                 L.t("proof", "inclusion", "--leaf-hash", pj["leaf_hash"],
                     "--index", other, "--size", n, "--root", pj["root"],
                     *pr), 1)
        must("inclusion %d/%d wrong root" % (idx, n),
             L.t("proof", "inclusion", "--leaf-hash", pj["leaf_hash"],
                 "--index", idx, "--size", n, "--root",
                 flip_hex(pj["root"], 0), *pr), 1)
    # the --leaf FILE --checkpoint FILE form
    r = must("prove 4 at the latest size", L.t(
        "ledger", "prove", "--data", L.data, "--index", 4, "--size", size))
    pj = json.loads(r.out)
    leaf4 = L.write("leaf4", leaves[4])
    must("inclusion by leaf file and checkpoint",
         L.t("proof", "inclusion", "--leaf", leaf4, "--index", 4,
             "--checkpoint", new_path, "--vkey", vk, "--proof",
             ",".join(pj["proof"])))
    must("inclusion by checkpoint of another size", L.t(
        "proof", "inclusion", "--leaf", leaf4, "--index", 4, "--checkpoint",
        old_path, "--vkey", vk, "--proof", ",".join(pj["proof"])), 1)
    must("prove beyond the end", L.t("ledger", "prove", "--data", L.data,
                                     "--index", size, "--size", size), 1)

    # consistency between the saved and the latest checkpoint
    r = must("prove --from --to", L.t("ledger", "prove", "--data", L.data,
                                      "--from", size_old, "--to", size))
    cj = json.loads(r.out)
    check("consistency roots", cj["root1"] == root_old.hex() and
          cj["root2"] == root.hex(), cj)
    pr = ",".join(cj["proof"])
    must("consistency by checkpoints", L.t(
        "proof", "consistency", "--checkpoint1", old_path, "--checkpoint2",
        new_path, "--vkey", vk, "--proof", pr))
    must("consistency by sizes and roots", L.t(
        "proof", "consistency", "--size1", size_old, "--size2", size,
        "--root1", root_old.hex(), "--root2", root.hex(), "--proof", pr))
    bad = list(cj["proof"])
    bad[0] = flip_hex(bad[0], 7)
    must("consistency corrupted proof", L.t(
        "proof", "consistency", "--checkpoint1", old_path, "--checkpoint2",
        new_path, "--vkey", vk, "--proof", ",".join(bad)), 1)
    must("consistency checkpoints swapped", L.t(
        "proof", "consistency", "--checkpoint1", new_path, "--checkpoint2",
        old_path, "--vkey", vk, "--proof", pr), 1)
    tampered = cp_new.replace(cp_new.split(b"\n")[2],
                              base64.b64encode(bytes(32)))
    tp = L.write("cp_tampered", tampered)
    must("consistency with a tampered checkpoint", L.t(
        "proof", "consistency", "--checkpoint1", old_path, "--checkpoint2",
        tp, "--vkey", vk, "--proof", pr), 1)
    for m, n in [(1, size), (5, 9), (size, size), (3, 17)]:
        r = must("prove --from %d --to %d" % (m, n), L.t(
            "ledger", "prove", "--data", L.data, "--from", m, "--to", n))
        cj = json.loads(r.out)
        a = ["proof", "consistency", "--size1", m, "--size2", n, "--root1",
             mth(hashes[:m]).hex(), "--root2", mth(hashes[:n]).hex()]
        if cj["proof"]:
            a += ["--proof", ",".join(cj["proof"])]
        must("consistency %d..%d valid" % (m, n), L.t(*a))

    # a record's authenticity bundle
    must("record bundle for a header leaf is refused", L.t(
        "ledger", "prove", "--data", L.data, "--record", 3), 1)
    for rec in (4, 8, size - 1):
        r = must("prove --record %d" % rec, L.t(
            "ledger", "prove", "--data", L.data, "--record", rec))
        bj = json.loads(r.out)
        bp = L.write("bundle%d.json" % rec, r.out)
        r = must("record %d bundle valid" % rec,
                 L.t("proof", "record", "--bundle", bp, "--vkey", vk))
        check("record %d bundle says valid" % rec,
              r.text.startswith("valid"), r)
        leaf = bj["record"]["leaf"]
        for pos in (len(leaf) - 1, len(leaf) // 2):
            t = json.loads(json.dumps(bj))
            t["record"]["leaf"] = flip_hex(leaf, pos)
            tp = L.write("tampered%d.json" % rec, json.dumps(t))
            must("record %d tampered leaf (hex digit %d)" % (rec, pos),
                 L.t("proof", "record", "--bundle", tp, "--vkey", vk), 1)
        t = json.loads(json.dumps(bj))
        t["header"]["leaf"] = flip_hex(t["header"]["leaf"],
                                       len(t["header"]["leaf"]) - 3)
        tp = L.write("tamperedh%d.json" % rec, json.dumps(t))
        must("record %d tampered header" % rec,
             L.t("proof", "record", "--bundle", tp, "--vkey", vk), 1)
    must("record bundle for the genesis leaf is refused", L.t(
        "ledger", "prove", "--data", L.data, "--record", 0), 1)
    other = Ledger(os.path.join(d, "other"))
    ovk = L.write("ovk", other.t("ledger", "pubkey", "--data",
                                 other.data).out)
    must("record bundle with another ledger's vkey",
         L.t("proof", "record", "--bundle", L.path("bundle4.json"),
             "--vkey", ovk), 1)

    # audit with checkpoints held outside
    r = must("audit with saved checkpoints", L.audit(
        "--checkpoint", old_path, "--checkpoint", new_path))
    check("audit passed", "audit passed" in r.text, r)
    check("audit counted 2 given checkpoints",
          "given checkpoints: 2 consistent" in r.text, r)
    must("audit with a tampered checkpoint",
         L.audit("--checkpoint", L.path("cp_tampered")), 1)
    ocp = L.write("cp_other", other.checkpoint())
    must("audit with another ledger's checkpoint",
         L.audit("--checkpoint", ocp), 1)
    must("audit --readonly", L.audit("--readonly"))


def test_backup_stats_genesis(d):
    L, ent = build(d)
    for k in range(3):
        must("submit", L.submit_json(ent, batch_json(ENT, n=2, tag=k)))
    cp = L.checkpoint()
    d2 = os.path.join(d, "copy")
    r = must("backup", L.t("ledger", "backup", "--data", L.data, "--out",
                           d2))
    check("backup names size and root", b"size" in r.out, r)
    check("no private key in the copy",
          not any(f.endswith(".key") or f.endswith(".pem")
                  for f in os.listdir(d2)), os.listdir(d2))
    check("copy has the same checkpoint", L.checkpoint(d2) == cp)
    for f in os.listdir(d2):
        m = os.stat(os.path.join(d2, f)).st_mode & 0o777
        check("copy's %s readable by its owner only" % f, m & 0o077 == 0,
              oct(m))
    r = L.t("submit", "--data", d2, "--key", ent,
            L.write("x.json", batch_json(ENT, tag=50)))
    check("submit to the copy exits 1", r.rc == 1, r)
    check("submit to the copy says read-only", "read-only" in r.err, r)
    check("copy unchanged", L.checkpoint(d2) == cp)
    r = must("audit of the copy", L.audit(data=d2))
    check("audit of the copy passed", "audit passed" in r.text, r)
    r = L.t("ledger", "backup", "--data", L.data, "--out", d2)
    check("backup onto an existing copy refused", r.rc != 0, r)
    # the original still takes appends
    must("original still writable", L.submit_json(ent, batch_json(
        ENT, tag=51)))

    r = must("stats", L.t("ledger", "stats", "--data", L.data))
    check("stats says durable", "sync flags durable" in r.text, r)
    r = must("stats --json", L.t("ledger", "stats", "--data", L.data,
                                 "--json"))
    sj = json.loads(r.out) if r.rc == 0 else {}
    check("stats --json durable", sj.get("durable") is True, sj)
    check("stats --json size", sj.get("size") == L.size(), sj)

    r = must("get 0 --json", L.t("ledger", "get", "--data", L.data,
                                 "--index", 0, "--json"))
    gj = json.loads(r.out)
    check("leaf 0 is genesis", gj.get("t") == "tally/genesis-leaf/v1", gj)
    r = must("get 0 default", L.t("ledger", "get", "--data", L.data,
                                  "--index", 0))
    check("default get is JSON", json.loads(r.out) == gj)
    must("get beyond the end", L.t("ledger", "get", "--data", L.data,
                                   "--index", 10000), 1)


def test_rotate_revoke(d):
    L, ent = build(d)
    r = must("second batch seq 2", L.submit_json(ent, batch_json(ENT,
                                                                 tag=2)))
    check("receipt seq 2", ", seq 2," in r.text, r)
    new = L.keygen("ent2")
    must("pop new", L.t("id", "pop", "--key", new, "--data", L.data,
                        "--out", L.path("ent2.pop")))
    must("rotate", L.t("id", "rotate", "--data", L.data, "--signer", L.op,
                       "--uscc", ENT, "--pubkey", L.path("ent2.pub"),
                       "--pop", L.path("ent2.pop")))
    r = L.submit_json(ent, batch_json(ENT, tag=3))
    check("old key refused after rotation", r.rc == 1 and
          "key not active" in r.err, r)
    r = must("new key works", L.submit_json(new, batch_json(ENT, tag=4)))
    check("new key starts at seq 1", ", seq 1," in r.text, r)
    r = must("new key again", L.submit_json(new, batch_json(ENT, tag=5)))
    check("new key seq 2", ", seq 2," in r.text, r)
    r = must("show", L.t("id", "show", "--data", L.data, "--uscc", ENT,
                         "--json"))
    sj = json.loads(r.out)
    check("show: active", sj.get("status") == "active", sj)
    # an older proof of possession cannot be replayed for another rotate
    r = L.t("id", "rotate", "--data", L.data, "--signer", L.op, "--uscc",
            ENT, "--pubkey", L.path("ent2.pub"), "--pop",
            L.path("ent2.pop"))
    check("rotate to the same key refused", r.rc == 1, r)

    since = 1000
    r = must("revoke --compromised-since", L.t(
        "id", "revoke", "--data", L.data, "--signer", L.op, "--uscc", ENT,
        "--compromised-since", since))
    r = L.submit_json(new, batch_json(ENT, tag=6))
    check("compromised key refused", r.rc == 1 and
          "key not active" in r.err, r)
    r = must("show after compromise", L.t("id", "show", "--data", L.data,
                                          "--uscc", ENT, "--json"))
    sj = json.loads(r.out)
    check("show: compromised", sj.get("status") == "compromised", sj)
    check("show: compromised_since", sj.get("compromised_since") == since,
          sj)
    r = L.audit()
    check("audit passes after rotate and revoke", r.rc == 0, r)
    # another enterprise is unaffected
    e2 = L.register("e2", OTHER)
    must("other enterprise works", L.submit_json(e2, batch_json(OTHER)))
    must("final audit", L.audit())


def test_external_checkpoint_key(d):
    ck = os.path.join(d, "ckpt.pem")
    L = Ledger(d, init=False)
    must("init with the checkpoint key outside", L.t(
        "init", "--data", L.data, "--operator-key", L.op, "--origin",
        L.origin, "--checkpoint-key", ck))
    check("checkpoint key made outside", os.path.exists(ck) and
          not os.path.exists(os.path.join(L.data, "checkpoint.key")))
    check("checkpoint key mode 0600",
          os.stat(ck).st_mode & 0o777 == 0o600, oct(os.stat(ck).st_mode))
    L.keygen("ent")
    must("pop", L.t("id", "pop", "--key", L.path("ent.pem"), "--data",
                    L.data, "--out", L.path("ent.pop")))
    reg = ["id", "register", "--data", L.data, "--signer", L.op, "--role",
           "enterprise", "--name", "E", "--uscc", ENT, "--pubkey",
           L.path("ent.pub"), "--pop", L.path("ent.pop")]
    r = L.t(*reg)
    check("register without the checkpoint key refused",
          r.rc == 1 and "read-only" in r.err, r)
    must("register with --checkpoint-key", L.t(*reg, "--checkpoint-key",
                                               ck))
    js = L.write("b.json", batch_json(ENT))
    r = L.t("submit", "--data", L.data, "--key", L.path("ent.pem"), js)
    check("submit without the checkpoint key refused",
          r.rc == 1 and "read-only" in r.err, r)
    must("submit with --checkpoint-key", L.t(
        "submit", "--data", L.data, "--key", L.path("ent.pem"),
        "--checkpoint-key", ck, js))
    check("size 5", L.size() == 5)
    other = os.path.join(d, "other.pem")
    must("keygen other", L.t("keygen", "--out", other))
    r = L.t("submit", "--data", L.data, "--key", L.path("ent.pem"),
            "--checkpoint-key", other, js)
    check("a wrong checkpoint key is refused", r.rc != 0, r)
    check("size still 5", L.size() == 5)
    must("audit --readonly", L.audit("--readonly"))
    must("audit with the key", L.audit("--checkpoint-key", ck))


def test_keygen_files(d):
    """keygen writes FILE and FILE.pub; its output saved as it is is a
    --pubkey file; existing files are never replaced."""
    L = Ledger(d)
    k1, saved = L.path("k1.pem"), L.path("k1.saved")
    r = L.t("keygen", "--out", k1)
    must("keygen k1", r)
    with open(saved, "wb") as f:
        f.write(r.out)
    with open(k1 + ".pub", "rb") as f:
        check("FILE.pub holds what keygen printed", f.read() == r.out,
              r.out)
    lines = r.out.decode().splitlines()
    check("two lines: key and key-id", len(lines) == 2 and
          lines[0].startswith("ed25519:") and
          lines[1].startswith("key-id "), lines)
    check("FILE.pub mode 0644",
          os.stat(k1 + ".pub").st_mode & 0o777 == 0o644)

    def register(key, pubfile, code):
        pop = key + ".pop"
        if not os.path.exists(pop):
            must("pop", L.t("id", "pop", "--key", key, "--data", L.data,
                            "--out", pop))
        return L.t("id", "register", "--data", L.data, "--signer", L.op,
                   "--role", "enterprise", "--name", "N", "--uscc", code,
                   "--pubkey", pubfile, "--pop", pop)

    # A key-id line that is not the key's is refused; nothing written.
    bad = L.path("k1.bad")
    with open(bad, "w") as f:
        f.write(lines[0] + "\nkey-id " + flip_hex(lines[1][7:], 5) + "\n")
    size = L.size()
    r = register(k1, bad, ENT)
    check("wrong key-id line refused", r.rc == 1 and
          "not this key's ID" in r.err, r)
    check("nothing written", L.size() == size)
    must("keygen's output saved as it is registers", register(k1, saved,
                                                               ENT))
    k2 = L.path("k2.pem")
    must("keygen k2", L.t("keygen", "--out", k2))
    must("FILE.pub registers", register(k2, k2 + ".pub", OTHER))
    must("audit", L.audit())
    # Neither file is replaced, and a refusal writes neither.
    before = open(k1, "rb").read(), open(k1 + ".pub", "rb").read()
    r = L.t("keygen", "--out", k1)
    check("existing key refused", r.rc == 2 and "already exists" in r.err,
          r)
    check("key files unchanged", (open(k1, "rb").read(),
                                  open(k1 + ".pub", "rb").read()) == before)
    k3 = L.path("k3.pem")
    L.write("k3.pem.pub", "x")
    r = L.t("keygen", "--out", k3)
    check("existing FILE.pub refused", r.rc == 2 and
          "k3.pem.pub already exists" in r.err, r)
    check("no private key written", not os.path.exists(k3))


harness.run_tests([test_proofs, test_backup_stats_genesis,
                   test_rotate_revoke, test_external_checkpoint_key,
                   test_keygen_files])
