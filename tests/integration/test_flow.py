# SPDX-License-Identifier: MIT
# tests/integration/test_flow.py -- the happy path end to end: init,
# register, submit, checkpoints kept outside, inclusion / consistency /
# record proofs verified offline (and corrupted ones refused), audit,
# backup, stats, genesis, key rotation and compromise, organisations with
# several keys, and a ledger indexed by an older tally.
# Run: python3 tests/integration/test_flow.py out/debug/tools/tally

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, batch_json, check, must  # noqa: E402

ENT = "914403001922038216"
OTHER = "91350100M000100Y43"
HERE = os.path.dirname(os.path.abspath(__file__))
VERIFY = os.path.join(HERE, "..", "outside", "verify.py")
V1 = os.path.join(HERE, "..", "vectors", "ledger_v1")
GOLDEN_KEYS = os.path.join(HERE, "..", "golden", "keys")



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
    check("show: the rotated key, then the new one",
          [k["status"] for k in sj["keys"]] == ["rotated", "active"], sj)
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
    sj = json.loads(r.out)["keys"][-1]
    check("show: compromised", sj.get("status") == "compromised", sj)
    check("show: compromised_since", sj.get("compromised_since") == since,
          sj)
    r = L.audit()
    check("audit passes after rotate and revoke", r.rc == 0, r)
    # another enterprise is unaffected
    e2 = L.register("e2", OTHER)
    must("other enterprise works", L.submit_json(e2, batch_json(OTHER)))
    must("final audit", L.audit())


def receipt(r):
    """The header leaf and seq of a text receipt."""
    w = r.text.split("\n")[0].replace(",", "").split()
    return int(w[w.index("header") + 1]), int(w[w.index("seq") + 1])


def outside_verify(data):
    p = subprocess.run([sys.executable, VERIFY, data], capture_output=True,
                       text=True)
    return p.returncode, p.stdout


def test_several_keys(d):
    # an enterprise's two plants, each with its own key, label and
    # sequence numbers; revoking one leaves the other working
    L = Ledger(d)
    p1 = L.register("plant1", ENT, org="Foods", label="plant 1")
    p2 = L.register("plant2", ENT, org="Foods", label="二号厂")
    h1, s1 = receipt(must("plant 1 submits", L.submit_json(p1, batch_json(
        ENT, tag=1))))
    h2, s2 = receipt(must("plant 2 submits", L.submit_json(p2, batch_json(
        ENT, tag=2))))
    check("each key its own sequence", (s1, s2) == (1, 1), (s1, s2))
    r = must("show the organisation", L.t("id", "show", "--data", L.data,
                                          "--uscc", ENT, "--json"))
    org = json.loads(r.out)
    check("show: the organisation once", (org["name"], org["role"],
          org["uscc"], org["registered"]) == ("Foods", "enterprise", ENT, 2),
          org)
    check("show: its keys in registration order, labelled",
          [(k["label"], k["registered"], k["status"]) for k in org["keys"]]
          == [("plant 1", 2, "active"), ("二号厂", 4, "active")], org)
    kid1, kid2 = (k["key_id"] for k in org["keys"])
    r = must("list", L.t("id", "list", "--data", L.data))
    lines = r.text.splitlines()
    check("list: the operator, then the organisation and its two keys",
          len(lines) == 5 and lines[0].startswith("- operator") and
          lines[2].startswith(ENT + ' enterprise "Foods" registered at 2')
          and lines[3] == "  %s label \"plant 1\" registered at 2" % kid1
          and lines[4] == "  %s label \"二号厂\" registered at 4" % kid2,
          r.text)
    # a record signed by either key names the organisation
    for h in (h1, h2):
        r = must("prove record %d" % (h + 1), L.t(
            "ledger", "prove", "--data", L.data, "--record", h + 1))
        bp = L.write("b%d.json" % h, r.out)
        vk = L.write("vk", L.t("ledger", "pubkey", "--data", L.data).out)
        must("record %d bundle valid" % (h + 1), L.t(
            "proof", "record", "--bundle", bp, "--vkey", vk))

    must("revoke plant 2 by key ID", L.t(
        "id", "revoke", "--data", L.data, "--signer", L.op, "--key-id",
        kid2))
    r = L.submit_json(p2, batch_json(ENT, tag=3))
    check("the revoked key is refused with its reason", r.rc == 1 and
          "key not active: revoked at leaf" in r.err, r)
    _, s1 = receipt(must("plant 1 still accepted", L.submit_json(
        p1, batch_json(ENT, tag=4))))
    check("plant 1 at seq 2", s1 == 2, s1)
    # one active key left: --uscc names it again; the new key keeps the
    # label and starts its own sequence
    n1 = L.keygen("plant1b")
    must("pop plant1b", L.t("id", "pop", "--key", n1, "--data", L.data,
                            "--out", L.path("plant1b.pop")))
    must("rotate by --uscc", L.t(
        "id", "rotate", "--data", L.data, "--signer", L.op, "--uscc", ENT,
        "--pubkey", L.path("plant1b.pub"), "--pop", L.path("plant1b.pop")))
    org = json.loads(must("show after", L.t(
        "id", "show", "--data", L.data, "--uscc", ENT, "--json")).out)
    check("show: rotated, revoked, and the new plant 1 key",
          [(k["label"], k["status"]) for k in org["keys"]] ==
          [("plant 1", "rotated"), ("二号厂", "revoked"),
           ("plant 1", "active")], org)
    _, s = receipt(must("new key submits", L.submit_json(n1, batch_json(
        ENT, tag=5))))
    check("new key at seq 1", s == 1, s)
    r = must("show one key", L.t("id", "show", "--data", L.data,
                                 "--key-id", kid2))
    check("show --key-id: its organisation, then that key",
          r.text.splitlines() == [
              ENT + ' enterprise "Foods" registered at 2',
              "  %s label \"二号厂\" registered at 4, revoked at %d" %
              (kid2, h2 + 1 + 2)], r.text)

    # a regulator's further key may hold fewer of its scopes
    R = "11100000000013127D"
    full = L.register("bureau", R, role="regulator",
                      scopes=["tax", "market"])
    desk = L.register("taxdesk", R, role="regulator", org="bureau",
                      label="tax desk", scopes=["tax"])
    must("the tax desk attests tax", L.submit_json(desk, batch_json(
        ENT, typ="tax.paid")))
    r = L.submit_json(desk, batch_json(ENT, typ="market.x"))
    check("the tax desk may not attest market", r.rc == 1 and
          "wrong scope" in r.err, r)
    must("the bureau's first key attests market", L.submit_json(
        full, batch_json(ENT, typ="market.x")))
    must("audit", L.audit())
    rc, out = outside_verify(L.data)
    check("the outside verifier accepts it", rc == 0, out[-600:])


def v1_ledger(d, dump):
    """A data directory loaded from a ledger an older tally made
    (tests/vectors/ledger_v1), with its checkpoint key."""
    data = os.path.join(d, "dl")
    os.mkdir(data, 0o700)
    p = subprocess.run(["mdb_load", "-f", os.path.join(V1, dump), data],
                       capture_output=True)
    check("mdb_load " + dump, p.returncode == 0, p.stderr)
    for f in os.listdir(data):
        os.chmod(os.path.join(data, f), 0o600)
    shutil.copyfile(os.path.join(GOLDEN_KEYS, "ck.pem"),
                    os.path.join(data, "checkpoint.key"))
    os.chmod(os.path.join(data, "checkpoint.key"), 0o600)
    for k in ("op.pem", "ent.pem", "ent.pub"):
        shutil.copyfile(os.path.join(GOLDEN_KEYS, k), os.path.join(d, k))
        os.chmod(os.path.join(d, k), 0o600)
    L = Ledger(d, init=False)
    L.origin = "fixture.test/v1"
    return L


def test_upgrade_from_one_key(d):
    # a ledger indexed by a tally with one key per organisation
    L = v1_ledger(d, "clean.dump")
    r = L.submit_json(L.path("ent.pem"), batch_json(ENT))
    check("a writer asks for a reindex", r.rc == 1 and
          "run tally ledger reindex" in r.err, r)
    r = L.t("id", "show", "--data", L.data, "--uscc", ENT)
    check("so does a reader of organisations", r.rc == 1 and
          "run tally ledger reindex" in r.err, r)
    r = must("reindex", L.t("ledger", "reindex", "--data", L.data))
    org = json.loads(must("show the regulator", L.t(
        "id", "show", "--data", L.data, "--uscc", OTHER, "--json")).out)
    check("the regulator: one organisation, its rotated and new key",
          (org["registered"], org["scopes"],
           [(k["status"], k["registered"]) for k in org["keys"]]) ==
          (4, ["tax", "market"], [("rotated", 4), ("active", 8)]), org)
    must("audit after the reindex", L.audit())
    must("the enterprise's key still signs", L.submit_json(
        L.path("ent.pem"), batch_json(ENT)))
    L.register("plant2", ENT, org="Golden Foods Co", label="plant 2")
    must("and the audit passes", L.audit())


def test_upgrade_refused_rule(d):
    # an older tally let a USCC be registered again with another role
    # after its key ended; this one refuses the log, and changes nothing
    L = v1_ledger(d, "reregister.dump")
    before = L.snapshot()
    r = L.t("ledger", "reindex", "--data", L.data)
    check("reindex refuses it", r.rc == 1 and "reindex failed" in r.err and
          "an organisation keeps its role" in r.err, r)
    # Opening for the reindex made this tally's new databases, empty:
    # id_org_keys, the credit module's and the trace module's.
    after = L.snapshot()
    for name in (b"crd_catalogue", b"crd_category", b"crd_cites",
                 b"crd_event", b"crd_scorecard", b"crd_subject",
                 b"crd_calendar", b"crd_consent", b"crd_about",
                 b"crd_marks", b"id_org_keys",
                 b"trace_decl", b"trace_eventid", b"trace_hash",
                 b"trace_obj", b"trace_master", b"trace_alert",
                 b"trace_alert_obj"):
        after, n = re.subn(b"VERSION=3\nformat=bytevalue\ndatabase=" + name +
                           b"\n(?:[a-z_]+=[^\n]*\n)*HEADER=END\nDATA=END\n",
                           b"", after, count=1)
        check("reindex made %s, empty" % name.decode(), n == 1, after[:3000])
    check("reindex changed no data", after == before, after[:3000])


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
                   test_rotate_revoke, test_several_keys,
                   test_upgrade_from_one_key, test_upgrade_refused_rule,
                   test_external_checkpoint_key, test_keygen_files])
