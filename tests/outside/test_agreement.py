#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/outside/test_agreement.py -- tally and the outside verifier agree on
# every refusal.  Each vector is a batch file that `tally submit` must refuse
# (exit 1, the reason on stderr, every database unchanged).  The raw writer
# (rawlog.py) then appends the same batch to a copy of the ledger, as the
# writer would have, and both judges must refuse that ledger: verify.py
# (exit 1, every failure at a leaf of the new batch) and `tally ledger audit
# --readonly` ("audit FAILED at leaf N", N in the new batch).  Controls show
# the raw writer writes what tally writes (leaf 0, a batch, and after
# `tally ledger reindex` every database), so a refusal is never the raw
# writer's doing.  tests/outside/README.md, "Agreement", explains why.
# Run: python3 tests/outside/test_agreement.py out/debug/tools/tally

import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import harness  # noqa: E402
import rawlog  # noqa: E402
from harness import Ledger, at, batch_json, check, must  # noqa: E402
from rawlog import Map, Raw, Text, enc  # noqa: E402

VERIFY = [sys.executable, os.path.join(HERE, "verify.py")]
ENT = "914403001922038216"     # the enterprise
OTHER = "91350100M000100Y43"   # a second enterprise
REG = "11100000000013127D"     # a regulator, scopes tax and market
FREE = harness.uscc(9)         # a valid code nobody has registered
ORIGIN = "agree.test/log"
T0 = 1800000000000             # the writer's clock while building
T1 = T0 + 60000                # ... and for the vectors
WINDOW = 600000
SMALL = {"body": 512, "leaf": 1024, "batch": 1600, "records": 3}
NUL = "holds U+0000 (NUL)"


def dbs(datadir):
    """{database: rows} of a data directory, headers left out."""
    return rawlog.dump(datadir)[0]


class Base:
    """A ledger built by tally (or from a raw genesis with other params)
    with an enterprise (two keys, the second labelled "plant 2"), a second
    enterprise, a regulator, a revoked key and one attestation; the keys
    and sequence numbers the vectors use."""

    def __init__(self, d, params=None):
        self.L = Ledger(d, origin=ORIGIN, env=at(T0), init=params is None)
        L = self.L
        if params is not None:
            L.keygen("op")
            L.keygen("ck")
            log = rawlog.Log(ckpt_key=L.path("ck.pem"))
            log.init(L.op, ORIGIN, T0, params)
            log.save(L.data)
            must("reindex a raw genesis", L.t("ledger", "reindex", "--data",
                                              L.data))
        self.ent = L.register("ent", ENT)
        self.reg = L.register("reg", REG, role="regulator",
                              scopes=["tax", "market"])
        self.ent2 = L.register("ent2", OTHER)
        self.old_code = harness.uscc(7)
        self.old = L.register("old", self.old_code)
        must("revoke old", L.t("id", "revoke", "--data", L.data, "--signer",
                               L.op, "--uscc", self.old_code))
        # the enterprise's second key, labelled
        self.plant = L.register("plant", ENT, org="ent", label="plant 2")
        self.op_seq = 7    # the operator signed six batches above
        must("an attestation", L.submit_json(self.ent, batch_json(ENT)))
        self.ent_seq = 2
        self.target = L.size() - 1   # the attestation's record leaf
        leaf = must("get the target", L.t("ledger", "get", "--data", L.data,
                                          "--index", self.target, "--raw"))
        self.target_hash = rawlog.verify.leaf_hash(leaf.out)
        self.unknown = L.keygen("unknown")
        self.new = L.keygen("new")

    def batch(self, key, recs, seq=None, time=T1, **kw):
        if seq is None:
            seq = {self.ent: self.ent_seq, self.L.op: self.op_seq}.get(key, 1)
        return rawlog.batch(key, ORIGIN, seq, time, recs, **kw)

    def att(self, subject=ENT, typ="self.x", **kw):
        return rawlog.attestation(subject, typ, **kw)

    def ident(self, stmt):
        """An identity record of the operator's over stmt, with "t" and
        the origin unless stmt gives them."""
        full = {"t": rawlog.T_IDENTITY, "origin": ORIGIN}
        full.update(stmt)
        return rawlog.identity(self.L.op, full)

    def register(self, name="N", role="enterprise", uscc=FREE, scopes=(),
                 key=None, pop_key=None, **over):
        key = key or self.new
        st = {"op": "register", "pop": rawlog.pop(pop_key or key, ORIGIN),
              "pub": rawlog.pubkey(key), "name": name, "role": role,
              "uscc": uscc, "scopes": list(scopes)}
        st.update(over)
        return self.ident(st)


# ---------------------------------------------------------------------------
# The vectors: (name, base, batch builder, what tally's refusal says).
# base is "default" (genesis params as tally init makes them) or "small"
# (SMALL params, from a raw genesis).


def v_nonminimal_hdr(b):
    good = rawlog.batch_parts(b.batch(b.ent, [b.att()]))[0]
    # seq 2 as 0x18 0x02: the header's own encoding is not minimal.
    hdr = good.replace(b"\x63seq\x02", b"\x63seq\x18\x02")
    assert hdr != good
    return b.batch(b.ent, [b.att()], hdr=hdr)


def v_changed_record(b):
    hdr, sig, _ = rawlog.batch_parts(b.batch(b.ent, [b.att()]))
    return b.batch(b.ent, [b.att(body={"amount_fen": 101})], hdr=hdr,
                   sig=sig)


def v_spliced(b):
    _, sig, _ = rawlog.batch_parts(b.batch(b.ent, [b.att()]))
    return b.batch(b.ent2, [b.att(OTHER)], sig=sig)


def v_flipped_sig(b):
    _, sig, _ = rawlog.batch_parts(b.batch(b.ent, [b.att()]))
    return b.batch(b.ent, [b.att()], sig=bytes([sig[0] ^ 1]) + sig[1:])


def v_record_map(pairs):
    return lambda b: b.batch(b.ent, [enc(Map(pairs))])


def att_pairs(**over):
    """An attestation's entries in canonical order, with replacements."""
    p = [("t", rawlog.T_RECORD), ("body", {"amount_fen": 100}),
         ("kind", "attestation"), ("type", "self.x"), ("subject", ENT)]
    return [(k, over.get(k, v)) for k, v in p]


VECTORS = [
    # -- who signs, and the header --
    ("unknown key", "default",
     lambda b: b.batch(b.unknown, [b.att()]), "unknown key"),
    ("revoked key", "default",
     lambda b: b.batch(b.old, [b.att(b.old_code)], seq=1), "key not active"),
    ("flipped signature", "default", v_flipped_sig, "signature mismatch"),
    ("record changed after signing", "default", v_changed_record,
     "signature mismatch"),
    ("another key's signature", "default", v_spliced, "signature mismatch"),
    ("wrong origin", "default",
     lambda b: rawlog.batch(b.ent, "other.test/x", 2, T1, [b.att()]),
     "wrong origin"),
    ("sequence gap", "default",
     lambda b: b.batch(b.ent, [b.att()], seq=5), "sequence gap"),
    ("sequence conflict", "default",
     lambda b: b.batch(b.ent, [b.att(body={"other": 1})], seq=1),
     "sequence conflict"),
    ("claimed time too early", "default",
     lambda b: b.batch(b.ent, [b.att()], time=T1 - WINDOW - 1),
     "claimed time outside the window"),
    ("claimed time too late", "default",
     lambda b: b.batch(b.ent, [b.att()], time=T1 + WINDOW + 1),
     "claimed time outside the window"),
    ("header counts 0 records", "default",
     lambda b: b.batch(b.ent, []), "at least one record"),
    ("header counts 2, batch holds 1", "default",
     lambda b: b.batch(b.ent, [b.att()], n=2), "header counts 2"),
    ("non-minimal header", "default", v_nonminimal_hdr, "not minimal"),
    ("NUL in the header's origin", "default",
     lambda b: rawlog.batch(b.ent, ORIGIN + "\x00", 2, T1, [b.att()]), NUL),
    # -- records: canonical form, shape, kinds --
    ("record keys out of order", "default",
     v_record_map(list(reversed(att_pairs()))), "out of order"),
    ("float in a body", "default",
     v_record_map(att_pairs(body=Raw(b"\xa1\x61a\xf9\x3c\x00"))), "float"),
    ("tag in a body", "default",
     v_record_map(att_pairs(body=Raw(b"\xa1\x61a\xc0\x00"))), "tag"),
    ("non-minimal integer in a body", "default",
     v_record_map(att_pairs(body=Raw(b"\xa1\x61a\x18\x05"))), "not minimal"),
    ("invalid UTF-8 in the subject", "default",
     v_record_map(att_pairs(subject=Text(b"\xff" * 18))), "invalid UTF-8"),
    ("trailing byte after a record", "default",
     lambda b: b.batch(b.ent, [b.att() + b"\x00"]), "trailing bytes"),
    ("unknown kind", "default",
     lambda b: b.batch(b.ent, [b.att(kind="bogus")]), "unknown record kind"),
    ("missing subject", "default",
     v_record_map([p for p in att_pairs() if p[0] != "subject"]),
     'missing field "subject"'),
    ("unknown field", "default",
     lambda b: b.batch(b.ent, [b.att(extra=1)]), 'unknown field "extra"'),
    ("record without t", "default",
     v_record_map([p for p in att_pairs() if p[0] != "t"]), "needs"),
    ("type over 64 bytes", "default",
     lambda b: b.batch(b.ent, [b.att(typ="self." + "x" * 60)]), "1..64"),
    ("body not a map", "default",
     lambda b: b.batch(b.ent, [b.att(body=[1])]), "expected map"),
    # -- who may write what --
    ("enterprise attests another USCC", "default",
     lambda b: b.batch(b.ent, [b.att(OTHER)]), "not permitted"),
    ("enterprise attests an invalid USCC", "default",
     lambda b: b.batch(b.ent, [b.att("914403001922038217")]),
     "not permitted"),
    ("regulator outside its scopes", "default",
     lambda b: b.batch(b.reg, [b.att(typ="food.x")]), "wrong scope"),
    ("regulator type without a scope", "default",
     lambda b: b.batch(b.reg, [b.att(typ=".x")]), "scope prefix"),
    ("regulator attests an unadmitted subject", "default",
     lambda b: b.batch(b.reg, [b.att("914403001922038217", "tax.x")]),
     "invalid"),
    ("operator writes an attestation", "default",
     lambda b: b.batch(b.L.op, [b.att()]), "may not write attestations"),
    # -- references --
    ("reference with a wrong hash", "default",
     lambda b: b.batch(b.ent, [b.att(refs=[{"h": bytes(32),
                                           "i": b.target}])]),
     "bad reference"),
    ("reference beyond the end", "default",
     lambda b: b.batch(b.ent, [b.att(refs=[{"h": b.target_hash,
                                           "i": b.target + 50}])]),
     "bad reference"),
    ("reference into its own batch", "default",
     lambda b: b.batch(b.ent, [b.att(refs=[{"h": b.target_hash,
                                           "i": b.L.size()}])]),
     "no such earlier leaf"),
    ("reference of a short hash", "default",
     lambda b: b.batch(b.ent, [b.att(refs=[{"h": b"\x01",
                                           "i": b.target}])]),
     "bad reference"),
    ("reference with another field", "default",
     lambda b: b.batch(b.ent, [b.att(refs=[{"h": b.target_hash,
                                           "i": b.target, "x": 1}])]),
     'unknown field "x"'),
    # -- identities --
    ("register: proof of possession by another key", "default",
     lambda b: b.batch(b.L.op, [b.register(pop_key=b.ent)]),
     "proof of possession does not verify"),
    ("register: submitted by an enterprise", "default",
     lambda b: b.batch(b.ent, [b.register()]),
     "only the operator writes identity records"),
    ("register: statement not signed by the operator", "default",
     lambda b: b.batch(b.L.op, [rawlog.identity(b.ent, enc({
         "t": rawlog.T_IDENTITY, "op": "register", "origin": ORIGIN,
         "pop": rawlog.pop(b.new, ORIGIN), "pub": rawlog.pubkey(b.new),
         "name": "N", "role": "enterprise", "uscc": FREE,
         "scopes": []}))]),
     "not signed by the operator"),
    # -- an organisation's further keys (format.md 5.1) --
    ("register: a second key without a label", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=ENT, name="ent")]),
     "already has an active key without a label"),
    ("register: a label an active key has", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=ENT, name="ent",
                                           label="plant 2")]),
     'already has an active key labelled "plant 2"'),
    ("register: a further key with another role", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=ENT, name="ent",
                                           role="bank", label="b")]),
     "keeps its role"),
    ("register: a further key under another name", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=ENT, label="b")]),
     "registered under another name"),
    ("register: a further key with a scope its organisation lacks",
     "default",
     lambda b: b.batch(b.L.op, [b.register(
         uscc=REG, name="reg", role="regulator", label="b",
         scopes=["tax", "food"])]), "never widen"),
    ("register: a USCC whose key ended, under another role", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=b.old_code, name="old",
                                           role="bank")]),
     "keeps its role"),
    ("register: an empty label", "default",
     lambda b: b.batch(b.L.op, [b.register(label="")]), "label must be"),
    ("register: a label of 65 bytes", "default",
     lambda b: b.batch(b.L.op, [b.register(label="x" * 65)]),
     "label must be"),
    ("NUL in a label", "default",
     lambda b: b.batch(b.L.op, [b.register(label="a\x00b")]), NUL),
    ("rotate: a label", "default",
     lambda b: b.batch(b.L.op, [b.ident({
         "op": "rotate", "kid": rawlog.key_id(b.ent),
         "pop": rawlog.pop(b.new, ORIGIN), "pub": rawlog.pubkey(b.new),
         "label": "x"})]), 'unexpected "label"'),
    ("register: key already registered", "default",
     lambda b: b.batch(b.L.op, [b.register(key=b.ent, uscc=b.old_code,
                                           name="old")]),
     "already registered"),
    ("register: proof of possession for another origin", "default",
     lambda b: b.batch(b.L.op, [b.register(pop=rawlog.pop(
         b.new, "other.test/x"))]), "proof of possession does not verify"),
    ("register: role operator", "default",
     lambda b: b.batch(b.L.op, [b.register(role="operator")]),
     "cannot be registered"),
    ("register: role king", "default",
     lambda b: b.batch(b.L.op, [b.register(role="king")]),
     "cannot be registered"),
    ("register: invalid USCC", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc="914403001922038217")]),
     "check character"),
    ("register: lower-case USCC", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=FREE.lower())]),
     "lowercase"),
    ("register: 16-character USCC", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=FREE[:16])]),
     "18 characters"),
    ("register: 17 scopes", "default",
     lambda b: b.batch(b.L.op, [b.register(scopes=["s%d" % i
                                                   for i in range(17)])]),
     "scopes"),
    ("register: another origin", "default",
     lambda b: b.batch(b.L.op, [b.register(origin="other.test/x")]),
     "another origin"),
    ("revoke: key already revoked", "default",
     lambda b: b.batch(b.L.op, [b.ident({
         "op": "revoke", "kid": rawlog.key_id(b.old),
         "reason": "retired"})]), "already revoked"),
    ("rotate: unknown key", "default",
     lambda b: b.batch(b.L.op, [b.ident({
         "op": "rotate", "kid": bytes(32), "pop": rawlog.pop(b.new, ORIGIN),
         "pub": rawlog.pubkey(b.new)})]), "unknown key"),
    ("except: a valid USCC", "default",
     lambda b: b.batch(b.L.op, [rawlog.id_except(b.L.op, ORIGIN, OTHER,
                                                 "why")]),
     "no exception needed"),
    # -- NUL in text: one rule for every text field (format.md rule 11) --
    ("NUL in a regulator's type (scope tax)", "default",
     lambda b: b.batch(b.reg, [b.att(typ="tax\x00.x")]), NUL),
    ("NUL in the subject", "default",
     lambda b: b.batch(b.ent, [b.att(ENT + "\x00")]), NUL),
    ("NUL in a body value", "default",
     lambda b: b.batch(b.ent, [b.att(body={"a": "x\x00"})]), NUL),
    ("NUL in a body key", "default",
     lambda b: b.batch(b.ent, [b.att(body={"a\x00": 1})]), NUL),
    ("NUL in the kind", "default",
     lambda b: b.batch(b.ent, [b.att(kind="attestation\x00")]), NUL),
    ("NUL in a record's t", "default",
     v_record_map(att_pairs(t=rawlog.T_RECORD + "\x00")), NUL),
    ("NUL in a registered scope", "default",
     lambda b: b.batch(b.L.op, [b.register(role="regulator",
                                           scopes=["tax\x00"])]), NUL),
    ("NUL in a registered name", "default",
     lambda b: b.batch(b.L.op, [b.register(name="N\x00x")]), NUL),
    ("NUL in a registered USCC", "default",
     lambda b: b.batch(b.L.op, [b.register(uscc=FREE[:17] + "\x00")]), NUL),
    ("NUL in an identity statement's op", "default",
     lambda b: b.batch(b.L.op, [b.register(op="register\x00")]), NUL),
    ("NUL in an except reason", "default",
     lambda b: b.batch(b.L.op, [rawlog.id_except(
         b.L.op, ORIGIN, "914403001922038217", "legacy\x00code")]), NUL),
    # -- the genesis limits, read from params, not assumed --
    ("body over 16 KiB", "default",
     lambda b: b.batch(b.ent, [b.att(body={"s": "x" * 17000})]),
     "limit 16384"),
    ("body over params.body", "small",
     lambda b: b.batch(b.ent, [b.att(body={"s": "x" * 520})]), "limit 512"),
    ("records over params.records", "small",
     lambda b: b.batch(b.ent, [b.att(body={"n": i}) for i in range(4)]),
     "1 to 3 allowed"),
    ("record leaf over params.leaf", "small",
     lambda b: b.batch(b.ent, [b.att(body={"s": "x" * 400}, refs=[
         {"h": b.target_hash, "i": b.target}] * 14)]), "limit 1024"),
    ("batch file over params.batch", "small",
     lambda b: b.batch(b.ent, [b.att(body={"s": "x" * 500, "n": i})
                               for i in range(3)]), "limit 1600"),
]


# ---------------------------------------------------------------------------


def verify(datadir):
    r = subprocess.run(VERIFY + [datadir], capture_output=True, text=True)
    fails = re.findall(r"^FAIL (.*)$", r.stdout, re.M)
    return r.returncode, fails, r.stdout


def agree(name, reason, data, work, batch_file):
    """batch_file is refused by tally on data, for reason; appended raw to
    a copy, it makes both judges refuse that ledger in the new batch."""
    L = Ledger(work, origin=ORIGIN, env=at(T1), init=False)
    shutil.copytree(data, L.data)
    p = L.write("v.cbor", batch_file)
    before = L.snapshot()
    r = L.submit(p)
    check("%s: tally refuses (exit 1)" % name, r.rc == 1, r)
    check("%s: tally names the reason %r" % (name, reason), reason in r.err,
          r)
    check("%s: nothing written" % name, L.snapshot() == before)
    log = rawlog.Log(L.data)
    try:
        h, size = log.append(batch_file, T1)
    except Exception as e:   # a batch that cannot be framed into leaves
        check("%s: the raw writer frames the batch" % name, False, repr(e))
        return
    raw = os.path.join(work, "raw")
    log.save(raw)
    rc, fails, out = verify(raw)
    check("%s: verify.py refuses the raw ledger (exit 1)" % name, rc == 1,
          out[-800:])
    bad = [f for f in fails if not re.match(r"leaf (\d+):", f) or
           int(re.match(r"leaf (\d+):", f).group(1)) < h]
    check("%s: verify.py fails only the new leaves" % name,
          fails and not bad, out[-800:])
    a = L.t("ledger", "audit", "--data", raw, "--readonly")
    m = re.search(r"audit FAILED at leaf (\d+)", a.text)
    check("%s: tally ledger audit refuses the raw ledger" % name,
          a.rc == 1 and m is not None and h <= int(m.group(1)) < size,
          (h, size, a))


def test_raw_init_is_tally_init(d):
    """Leaf 0 and its checkpoint from the raw writer are tally init's, and
    reindex rebuilds every other database as init wrote it."""
    L = Ledger(d, origin=ORIGIN, env=at(T0), init=False)
    L.keygen("op")
    ck = L.keygen("ck")
    must("init", L.t("init", "--data", L.data, "--operator-key", L.op,
                     "--origin", ORIGIN, "--checkpoint-key", ck))
    log = rawlog.Log(ckpt_key=ck)
    log.init(L.op, ORIGIN, T0)
    raw = L.path("raw")
    log.save(raw)
    a, b = dbs(L.data), dbs(raw)
    for db in ("entries", "checkpoints", "nodes"):
        check("raw init: %s as tally init writes it" % db, a[db] == b[db],
              (a[db][:2], b[db][:2]))
    must("reindex the raw genesis", L.t("ledger", "reindex", "--data", raw))
    check("raw init + reindex: every database as tally init's",
          dbs(raw) == a, sorted(set(dbs(raw)) ^ set(a)))
    rc, fails, out = verify(raw)
    check("raw init: verify.py passes", rc == 0, out[-500:])


def test_raw_append_is_tally_submit(d):
    """A good batch, appended raw and submitted: the same bytes; both judges
    pass the raw ledger, after a reindex audit passes with its derived
    databases too."""
    b = Base(os.path.join(d, "base"))
    for k, (name, key, recs) in enumerate([
            ("attestation", b.ent, [b.att(body={"good": 1}), b.att(
                refs=[{"h": b.target_hash, "i": b.target}])]),
            ("regulator in scope", b.reg, [b.att(typ="tax.x")]),
            ("identity", b.L.op, [b.register(role="regulator",
                                             scopes=["tax"])]),
            ("a further, labelled key", b.L.op, [b.register(
                uscc=REG, name="reg", role="regulator", label="tax desk",
                scopes=["tax"])])]):
        batch_file = b.batch(key, recs)
        L = Ledger(os.path.join(d, "v%d" % k), origin=ORIGIN,
                   env=at(T1), init=False)
        shutil.copytree(b.L.data, L.data)
        log = rawlog.Log(L.data)
        log.append(batch_file, T1)
        raw = L.path("raw")
        log.save(raw)
        must("control %s: tally accepts" % name,
             L.submit(L.write("g.cbor", batch_file)))
        t, r = dbs(L.data), dbs(raw)
        for db in ("entries", "checkpoints", "nodes"):
            check("control %s: raw %s as tally writes it" % (name, db),
                  t[db] == r[db])
        rc, fails, out = verify(raw)
        check("control %s: verify.py passes the raw ledger" % name, rc == 0,
              out[-500:])
        must("control %s: reindex the raw ledger" % name,
             L.t("ledger", "reindex", "--data", raw))
        check("control %s: after reindex every database as tally's" % name,
              dbs(raw) == t)
        must("control %s: audit passes" % name,
             L.t("ledger", "audit", "--data", raw))


def test_vectors(d):
    bases = {"default": Base(os.path.join(d, "default")),
             "small": Base(os.path.join(d, "small"), params=SMALL)}
    for k, (name, base, build, reason) in enumerate(VECTORS):
        b = bases[base]
        agree(name, reason, b.L.data, os.path.join(d, "v%d" % k), build(b))
    check("every vector ran", len(VECTORS) >= 60, len(VECTORS))


harness.run_tests([test_raw_init_is_tally_init,
                   test_raw_append_is_tally_submit, test_vectors])
