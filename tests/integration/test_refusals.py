# SPDX-License-Identifier: MIT
# tests/integration/test_refusals.py -- every refusal of the tally CLI:
# exit code 1, the reason on stderr, and nothing changed (mdb_dump -a of
# every database plus the latest checkpoint, byte-identical before/after).
# Run: python3 tests/integration/test_refusals.py out/debug/tools/tally

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "outside"))
import harness  # noqa: E402
import rawlog  # noqa: E402  (raw batch files, built without tally)
from harness import Ledger, at, batch_json, check, must, refused  # noqa
from harness import uscc  # noqa: E402

ENT = "914403001922038216"     # the enterprise of the examples
OTHER = "91350100M000100Y43"   # another valid code
REG = "11100000000013127D"     # a valid code for regulators
T0 = 1800000000000             # fixed writer clock for time tests
WINDOW = 600000                # default claimed-time window (ms)


def base(d, env=None):
    L = Ledger(d, env=env)
    ent = L.register("ent", ENT)
    return L, ent


def sig_offset(b):
    """Offset of the 64 signature bytes in a batch file (text "sig",
    then a 64-byte byte string head)."""
    i = b.find(b"\x63sig\x58\x40")
    return -1 if i < 0 else i + 6


def test_unknown_key(d):
    L, ent = base(d)
    unk = L.keygen("unknown")
    refused(L, "unknown key (json)",
            lambda: L.submit_json(unk, batch_json(ENT)), "unknown key")
    _, p = L.sign(unk, batch_json(ENT), "u", seq=1)
    refused(L, "unknown key (cbor)", lambda: L.submit(p), "unknown key")


def test_revoked_key(d):
    L, ent = base(d)
    must("first submit", L.submit_json(ent, batch_json(ENT)))
    must("revoke", L.t("id", "revoke", "--data", L.data, "--signer", L.op,
                       "--uscc", ENT))
    refused(L, "revoked key",
            lambda: L.submit_json(ent, batch_json(ENT, tag=1)),
            ["key not active", "revoked"])
    # the operator cannot revoke it twice: --uscc finds no active key,
    # and the key itself is refused by the ledger
    refused(L, "revoke twice by --uscc",
            lambda: L.t("id", "revoke", "--data", L.data, "--signer", L.op,
                        "--uscc", ENT), ENT + " has no active key")
    kid = json.loads(L.t("id", "show", "--data", L.data, "--uscc", ENT,
                         "--json").out)["keys"][0]["key_id"]
    refused(L, "revoke twice by --key-id",
            lambda: L.t("id", "revoke", "--data", L.data, "--signer", L.op,
                        "--key-id", kid), ["key not active",
                                           "already revoked"])


def test_wrong_scope(d):
    L, ent = base(d)
    reg = L.register("reg", REG, role="regulator", scopes=["tax"])
    refused(L, "regulator without scope market",
            lambda: L.submit_json(reg, batch_json(ENT, typ="market.x")),
            "wrong scope")
    # sanity: the same regulator may attest in its own scope
    must("regulator in scope", L.submit_json(reg, batch_json(
        ENT, typ="tax.x")))
    refused(L, "regulator no scope at all, other type family",
            lambda: L.submit_json(reg, batch_json(ENT, typ="market.y")),
            "wrong scope")


def test_enterprise_other_uscc(d):
    L, ent = base(d)
    refused(L, "enterprise attests another USCC",
            lambda: L.submit_json(ent, batch_json(OTHER)),
            ["not permitted", ENT])
    refused(L, "enterprise attests an invalid USCC",
            lambda: L.submit_json(ent, batch_json("914403001922038217")),
            "not permitted")


def test_wrong_signature(d):
    L, ent = base(d)
    _, p = L.sign(ent, batch_json(ENT), "good", seq=1)
    b = open(p, "rb").read()
    off = sig_offset(b)
    check("signature found in batch file", off > 0, b[:64])
    for k, pos in enumerate((0, 31, 63)):
        bad = bytearray(b)
        bad[off + pos] ^= 0x01
        q = L.write("badsig%d.cbor" % k, bytes(bad))
        refused(L, "flipped signature byte %d" % pos, lambda: L.submit(q),
                "signature mismatch")
    # a record changed after signing: the header's root no longer matches
    i = b.find(b"amount_fen")
    check("record body found", i > 0)
    bad = bytearray(b)
    bad[i + 11] ^= 0x01   # the 2-byte integer after the key (0x18 xx)
    q = L.write("badrec.cbor", bytes(bad))
    refused(L, "record changed after signing", lambda: L.submit(q),
            "signature mismatch")
    # signed by a registered key, but another key's ID in the header is
    # not possible to forge without re-signing: sign with a second key
    # and splice the first key's signature in
    L.register("ent2", OTHER)
    _, p2 = L.sign(L.path("ent2.pem"), batch_json(OTHER), "good2", seq=1)
    b2 = bytearray(open(p2, "rb").read())
    o2 = sig_offset(bytes(b2))
    b2[o2:o2 + 64] = b[off:off + 64]
    q = L.write("spliced.cbor", bytes(b2))
    refused(L, "another key's signature", lambda: L.submit(q),
            "signature mismatch")
    must("the good batch still goes in", L.submit(p))


def test_wrong_origin(d):
    L, ent = base(d)
    _, p = L.sign(ent, batch_json(ENT), "o", seq=1, origin="other.test/x",
                  with_data=False)
    refused(L, "another origin", lambda: L.submit(p),
            ["wrong origin", "other.test/x"])


def test_sequence_gap(d):
    L, ent = base(d)
    must("seq 1", L.submit_json(ent, batch_json(ENT)))
    _, p = L.sign(ent, batch_json(ENT, tag=5), "gap", seq=5)
    refused(L, "sequence gap", lambda: L.submit(p),
            ["sequence gap", "got seq 5, expected 2"])


def test_replay(d):
    L, ent = base(d)
    r, p = L.sign(ent, batch_json(ENT), "once")
    first = must("first submit", L.submit(p))
    check("first submit accepted", first.text.startswith("accepted:"),
          first)
    before = L.snapshot()
    r = L.submit(p)
    check("replay exits 0", r.rc == 0, r)
    check("replay says already accepted",
          r.text.startswith("already accepted:"), r)
    check("replay prints the original receipt",
          r.text.split(":", 1)[1] == first.text.split(":", 1)[1],
          (r.text, first.text))
    check("replay changes nothing", L.snapshot() == before)
    r = L.submit(p, p)
    check("replay twice in one call exits 0", r.rc == 0, r)
    check("replay twice: two receipts",
          r.text.count("already accepted:") == 2, r)
    check("replay twice changes nothing", L.snapshot() == before)


def test_sequence_conflict(d):
    L, ent = base(d)
    _, p1 = L.sign(ent, batch_json(ENT, tag=1), "a", seq=1)
    _, p2 = L.sign(ent, batch_json(ENT, tag=2), "b", seq=1)
    must("seq 1 first", L.submit(p1))
    refused(L, "sequence conflict", lambda: L.submit(p2),
            "sequence conflict")
    # same content, same seq, another claimed time: a different header
    _, p3 = L.sign(ent, batch_json(ENT, tag=1), "c", seq=1, when=12345)
    refused(L, "sequence conflict (other time)", lambda: L.submit(p3),
            "sequence conflict")


def test_time_window(d):
    L, ent = base(d, env=at(T0))
    for k, (claim, now) in enumerate([(T0, T0 + WINDOW + 1),
                                      (T0 + 2 * WINDOW + 2,
                                       T0 + WINDOW + 1),
                                      (0, T0 + 1000)]):
        _, p = L.sign(ent, batch_json(ENT, tag=k), "tw%d" % k, seq=1,
                      when=claim)
        refused(L, "claimed %d at log time %d" % (claim, now),
                lambda: L.submit(p, env=at(now)),
                "claimed time outside the window")
    # the edges are inclusive: exactly window early / late is accepted
    _, p = L.sign(ent, batch_json(ENT, tag=10), "edge1", seq=1, when=T0)
    r = must("claimed exactly window early",
             L.submit(p, env=at(T0 + WINDOW)))
    _, p = L.sign(ent, batch_json(ENT, tag=11), "edge2", seq=2,
                  when=T0 + 2 * WINDOW)
    must("claimed exactly window late",
         L.submit(p, env=at(T0 + WINDOW)))


def test_noncanonical_cbor(d):
    L, ent = base(d)
    _, good = L.sign(ent, batch_json(ENT), "g", seq=1)
    g = open(good, "rb").read()
    check("batch file is a 4-entry map", g[0] == 0xa4, g[:4])
    cases = [
        ("indefinite-length map", b"\xbf\x61a\x00\xff",
         "indefinite length"),
        ("indefinite-length map only", b"\xbf\xff", "indefinite length"),
        ("unsorted map keys", b"\xa2\x61b\x00\x61a\x00",
         "map keys out of order"),
        ("duplicate map keys", b"\xa2\x61a\x00\x61a\x00", "non-canonical"),
        ("half float", b"\xf9\x3c\x00", "float"),
        ("double float", b"\xfb\x3f\xf0\x00\x00\x00\x00\x00\x00", "float"),
        ("tag", b"\xc0\xa0", "tag"),
        ("non-minimal integer", b"\x18\x05", "not minimal"),
        ("non-minimal map head on a real batch", b"\xb8\x04" + g[1:],
         "not minimal"),
        ("trailing byte after a real batch", g + b"\x00",
         "trailing bytes"),
        ("truncated real batch", g[:-1], "truncated"),
        ("empty file", b"", "truncated"),
    ]
    for k, (name, data, msg) in enumerate(cases):
        p = L.write("nc%d.cbor" % k, data)
        refused(L, "non-canonical CBOR: " + name, lambda: L.submit(p),
                [msg])
    must("the canonical batch is accepted", L.submit(good))


def test_bad_json(d):
    L, ent = base(d)
    pre = '{"records":[{"kind":"attestation","subject":"%s",' \
          '"type":"self.tax-paid","body":' % ENT
    cases = [
        ("duplicate key", pre + '{"a":1,"a":2}}]}', "duplicate key"),
        ("fraction", pre + '{"a":1.5}}]}', "fraction"),
        ("exponent", pre + '{"a":1e3}}]}', "exponent"),
        ("integer > int64", pre + '{"a":99999999999999999999}}]}',
         "does not fit int64"),
        ("integer 2^63", pre + '{"a":9223372036854775808}}]}',
         "does not fit int64"),
        # jansson quotes at most 20 bytes: the number was printed empty
        ("25-digit integer", pre + '{"a":%s}}]}' % ("9" * 25),
         "integer does not fit int64: %s (line 1, column %d)" %
         ("9" * 25, len(pre) + 6)),
        ("90-digit integer", pre + '{"a":-%s}}]}' % ("1" * 90),
         "integer does not fit int64: -%s... (90 digits) (line 1, column "
         "%d)" % ("1" * 19, len(pre) + 6)),
        ("invalid UTF-8", (pre + '{"a":"').encode() + b"\xff\xfe" +
         b'"}}]}', "invalid UTF-8"),
        ("truncated", pre + '{"a":1', "expected"),
        ("duplicate top-level key", '{"records":[],"records":[]}',
         "duplicate key"),
    ]
    for k, (name, js, msg) in enumerate(cases):
        refused(L, "bad JSON: " + name,
                lambda: L.submit_json(ent, js, name="bad%d.json" % k),
                [msg])


def test_bad_references(d):
    L, ent = base(d)
    r = must("target", L.submit_json(ent, batch_json(ENT)))
    leaf = L.t("ledger", "get", "--data", L.data, "--index", 3, "--raw")
    must("get leaf 3", leaf)
    import hashlib
    h = hashlib.sha256(b"\x00" + leaf.out).hexdigest()
    size = L.size()
    for name, refs, msg in [
        ("wrong hash", [{"index": 1, "hash": "00" * 32}],
         "hash does not match"),
        ("another leaf's hash", [{"index": 2, "hash": h}],
         "hash does not match"),
        ("index beyond the end", [{"index": size + 5, "hash": h}],
         "no such earlier leaf"),
        ("index at the end", [{"index": size, "hash": h}],
         "no such earlier leaf"),
    ]:
        refused(L, "bad reference: " + name,
                lambda: L.submit_json(ent, batch_json(ENT, refs=refs)),
                ["bad reference", msg])
    must("a good reference is accepted",
         L.submit_json(ent, batch_json(ENT, tag=9,
                                       refs=[{"index": 3, "hash": h}])))


def test_oversize(d):
    L, ent = base(d)
    big = json.dumps({"records": [{"kind": "attestation", "subject": ENT,
                                   "type": "self.x",
                                   "body": {"s": "x" * 17000}}]})
    refused(L, "body over 16 KiB", lambda: L.submit_json(ent, big, "big"),
            "limit 16384")
    many = batch_json(ENT, n=10001)
    refused(L, "10001 records", lambda: L.submit_json(ent, many, "many"),
            "1 to 10000 records")
    empty = json.dumps({"records": []})
    refused(L, "0 records", lambda: L.submit_json(ent, empty, "none"),
            "none: a batch needs at least one record")
    # the same batch as CBOR, signed without tally (batch sign refuses
    # it): the ledger's append path gives the same reason, not "too large"
    q = L.write("zero.cbor", rawlog.batch(ent, L.origin, 1, T0, []))
    refused(L, "0 records (CBOR)", lambda: L.submit(q),
            "tally submit: refused: malformed input: a batch needs at "
            "least one record\n")


def test_bad_uscc(d):
    L = Ledger(d)
    L.keygen("x")
    must("pop", L.t("id", "pop", "--key", L.path("x.pem"), "--data",
                    L.data, "--out", L.path("x.pop")))
    for code, msg in [("914403001922038217", "check character"),
                      ("91350100m000100y43", "lowercase"),
                      ("9144030019220382", "18 characters")]:
        refused(L, "register bad USCC " + code,
                lambda: L.t("id", "register", "--data", L.data, "--signer",
                            L.op, "--role", "enterprise", "--name", "X",
                            "--uscc", code, "--pubkey", L.path("x.pub"),
                            "--pop", L.path("x.pop")),
                [msg])
    r = L.t("id", "check", "914403001922038217")
    check("id check wrong digit exits 1", r.rc == 1, r)
    check("id check names the check character",
          "invalid: check character" in r.text + r.err, r)
    r = L.t("id", "check", "91350100m000100y43")
    check("id check lowercase exits 1", r.rc == 1, r)
    check("id check says lowercase", "invalid: lowercase" in r.text + r.err,
          r)
    r = L.t("id", "check", ENT, "914403001922038217")
    check("id check with one bad of two exits 1", r.rc == 1, r)
    r = L.t("id", "check", ENT, OTHER)
    check("id check valid codes exits 0", r.rc == 0, r)
    # characters, not bytes; and never a raw byte on the terminal
    for code, line in [
        ("9144030019220382\u00e9",
         '"9144030019220382\\xc3\\xa9" invalid: must be 18 characters, '
         'got 17'),
        ("91440300192203821\u00e9",
         '"91440300192203821\\xc3\\xa9" invalid: invalid character '
         'U+00E9 at position 18'),
        ("91440300192203821\x01",
         '"91440300192203821\\x01" invalid: invalid byte 0x01 at '
         'position 18'),
        ("\x1b[2J" + ENT[4:],
         '"\\x1b[2J' + ENT[4:] + '" invalid: invalid byte 0x1B at '
         'position 1'),
        ("9144 0300192203821",
         '"9144 0300192203821" invalid: invalid byte 0x20 at position 5'),
    ]:
        r = L.t("id", "check", code)
        check("id check %r: exit 1, the true message" % code,
              r.rc == 1 and r.out == (line + "\n").encode() and r.err == "",
              (r, line))


def test_key_file_mode(d):
    L, ent = base(d)
    os.chmod(ent, 0o644)
    r = refused(L, "key file readable by others",
                lambda: L.submit_json(ent, batch_json(ENT)),
                ["readable", "chmod"])
    os.chmod(ent, 0o640)
    refused(L, "key file readable by group",
            lambda: L.submit_json(ent, batch_json(ENT)), ["chmod"])
    os.chmod(ent, 0o600)
    must("mode 0600 works", L.submit_json(ent, batch_json(ENT)))


def test_bad_records(d):
    L, ent = base(d)
    rec = {"kind": "attestation", "subject": ENT, "type": "self.x",
           "body": {"a": 1}}
    for name, change, msg in [
        ("unknown kind", {"kind": "bogus"}, "unknown record kind"),
        ("missing subject", {"subject": None}, 'missing field "subject"'),
        ("unknown field", {"extra": 1}, 'unknown field "extra"'),
    ]:
        r2 = dict(rec)
        r2.update(change)
        r2 = {k: v for k, v in r2.items() if v is not None}
        js = json.dumps({"records": [rec, r2]})
        refused(L, "record: " + name, lambda: L.submit_json(ent, js), msg)
    refused(L, "the operator writes an attestation",
            lambda: L.submit_json(L.op, json.dumps({"records": [rec]})),
            "may not write attestations")


def test_bad_identities(d):
    L, ent = base(d)
    new = L.keygen("new")
    must("pop new", L.t("id", "pop", "--key", new, "--data", L.data,
                        "--out", L.path("new.pop")))
    must("pop new for another origin", L.t(
        "id", "pop", "--key", new, "--origin", "other.test/x", "--out",
        L.path("new_other.pop")))
    must("pop ent", L.t("id", "pop", "--key", ent, "--data", L.data,
                        "--out", L.path("ent.pop2")))

    def reg(signer="op.pem", code=OTHER, pub="new.pub", pop="new.pop",
            role="enterprise", name="N", extra=()):
        return lambda: L.t("id", "register", "--data", L.data, "--signer",
                           L.path(signer), "--role", role, "--name", name,
                           "--uscc", code, "--pubkey", L.path(pub),
                           "--pop", L.path(pop), *extra)
    refused(L, "register: proof of possession of another key",
            reg(pop="ent.pop2"), "proof of possession does not verify")
    refused(L, "register: proof of possession for another origin",
            reg(pop="new_other.pop"), "proof of possession does not verify")
    refused(L, "register: signed by an enterprise", reg(signer="ent.pem"),
            "only the operator writes identity records")
    # a further key of the enterprise "ent" (base registered it)
    refused(L, "register: a second key without a label",
            reg(code=ENT, name="ent"),
            ["already exists", "already has an active key without a "
             "label (leaf 2)"])
    refused(L, "register: a further key with another role",
            reg(code=ENT, name="ent", role="bank", extra=("--label", "b")),
            ["not permitted", "registered as enterprise (leaf 2)",
             "keeps its role"])
    refused(L, "register: a further key under another name",
            reg(code=ENT, extra=("--label", "b")),
            ["not permitted", "registered under another name"])
    refused(L, "register: a further key with a scope the organisation "
            "lacks", reg(code=ENT, name="ent",
                         extra=("--label", "b", "--scope", "tax")),
            ["not permitted", "scope \"tax\" is not one of", "never widen"])
    refused(L, "register: a label of 65 bytes",
            reg(code=ENT, name="ent", extra=("--label", "x" * 65)),
            ["malformed input", "label must be 1..64 bytes"])
    refused(L, "register: an empty label",
            reg(code=ENT, name="ent", extra=("--label", "")),
            "--label must not be empty", rc=2)
    refused(L, "register: key already registered",
            reg(pub="ent.pub", pop="ent.pop2"), "already registered")
    refused(L, "register: unknown role", reg(role="king"), "--role", rc=2)
    refused(L, "rotate: unknown USCC", lambda: L.t(
        "id", "rotate", "--data", L.data, "--signer", L.op, "--uscc",
        OTHER, "--pubkey", L.path("new.pub"), "--pop", L.path("new.pop")),
        "no such identity")
    must("the good registration goes in", reg()())


def test_nul_in_text_cbor(d):
    # A raw CBOR batch (rawlog builds and signs it without tally) with
    # U+0000 in a text field is refused at the door, whatever the field:
    # format.md section 2 rule 11.  Before, "tax\0.x" passed scope "tax".
    L, ent = base(d, env=at(T0))
    reg = L.register("reg", REG, role="regulator", scopes=["tax"])
    new = L.keygen("new")
    org = L.origin
    nul = "holds U+0000 (NUL)"

    def att(key, seq, subject=ENT, typ="self.x", body=None, kind=None):
        rec = rawlog.attestation(subject, typ, body, **(
            {"kind": kind} if kind else {}))
        return rawlog.batch(key, org, seq, T0, [rec])

    def register(seq, name="N", scopes=(), code=OTHER, role="regulator"):
        return rawlog.batch(L.op, org, seq, T0, [rawlog.id_register(
            L.op, org, new, name, role, code, scopes)])

    cases = [
        ("type tax\\0.x by a regulator with scope tax",
         att(reg, 1, typ="tax\x00.x")),
        ("subject", att(ent, 1, subject=ENT + "\x00")),
        ("subject, NUL first", att(ent, 1, subject="\x00" + ENT[1:])),
        ("body value", att(ent, 1, body={"note": "a\x00b"})),
        ("body key", att(ent, 1, body={"a\x00": 1})),
        ("kind", att(ent, 1, kind="attestation\x00")),
        ("header origin", rawlog.batch(ent, org + "\x00", 1, T0, [
            rawlog.attestation(ENT, "self.x")])),
        ("identity scope", register(3, scopes=["tax\x00"])),
        ("identity name", register(3, name="Bureau\x00of Tax")),
        ("identity USCC", register(3, code=OTHER + "\x00")),
        ("except reason", rawlog.batch(L.op, org, 3, T0, [rawlog.id_except(
            L.op, org, "914403001922038217", "legacy\x00")])),
    ]
    for k, (name, b) in enumerate(cases):
        p = L.write("nul%d.cbor" % k, b)
        r = refused(L, "NUL in %s (cbor)" % name, lambda: L.submit(p),
                    ["not canonical CBOR", nul])
        check("NUL in %s: one line on stderr" % name,
              r.err.count("\n") == 1 and
              r.err.startswith("tally submit: refused: "), r)
    # The same batches without the NUL are accepted: the refusals above
    # were the NUL's, not the raw builder's.
    must("regulator in scope (cbor)", L.submit(L.write(
        "ok1.cbor", att(reg, 1, typ="tax.x"))))
    must("enterprise (cbor)", L.submit(L.write("ok2.cbor", att(
        ent, 1, body={"note": "ab"}))))
    must("identity (cbor)", L.submit(L.write("ok3.cbor", register(
        3, scopes=["tax"]))))
    check("audit passes", L.audit().rc == 0)


def test_nul_in_text_json(d):
    # The JSON path refuses \u0000 in every string and key (format.md
    # section 2), both when submitting and when signing a batch.
    L, ent = base(d)
    reg = L.register("reg", REG, role="regulator", scopes=["tax"])
    rec = {"kind": "attestation", "subject": ENT, "type": "self.x",
           "body": {"a": 1}}
    cases = [
        ("type", reg, dict(rec, type="tax\u0000.x")),
        ("subject", ent, dict(rec, subject=ENT + "\u0000")),
        ("body value", ent, dict(rec, body={"a": "x\u0000"})),
        ("body key", ent, dict(rec, body={"a\u0000": 1})),
        ("kind", ent, dict(rec, kind="attestation\u0000")),
    ]
    for k, (name, key, r) in enumerate(cases):
        js = json.dumps({"records": [r]})  # writes U+0000 as \u0000
        check("%s: the JSON holds \\u0000" % name, "\\u0000" in js and
              "\\\\u0000" not in js, js)
        refused(L, "NUL in %s (json submit)" % name,
                lambda: L.submit_json(key, js, name="nul%d.json" % k),
                ["JSON: \\u0000 in string not allowed"])
        p = L.write("nul%d.json" % k, js)
        r2 = L.t("batch", "sign", "--key", key, "--origin", L.origin,
                 "--seq", 1, p)
        check("NUL in %s: batch sign exits 1" % name, r2.rc == 1, r2)
        check("NUL in %s: batch sign names it" % name,
              "\\u0000 in string not allowed" in r2.err and not r2.out, r2)
    must("the same record without NUL",
         L.submit_json(reg, json.dumps({"records": [dict(rec,
                                                         type="tax.x")]})))


def test_several_keys(d):
    # with two active keys, --uscc no longer names one key
    L, ent = base(d)
    L.register("plant2", ENT, org="ent", label="plant 2")
    keys = json.loads(L.t("id", "show", "--data", L.data, "--uscc", ENT,
                          "--json").out)["keys"]
    new = L.keygen("new")
    must("pop new", L.t("id", "pop", "--key", new, "--data", L.data,
                        "--out", L.path("new.pop")))
    listing = ["has 2 active keys; choose one with --key-id",
               keys[0]["key_id"] + " (no label)",
               keys[1]["key_id"] + ' "plant 2"']
    refused(L, "rotate by --uscc with two active keys", lambda: L.t(
        "id", "rotate", "--data", L.data, "--signer", L.op, "--uscc", ENT,
        "--pubkey", L.path("new.pub"), "--pop", L.path("new.pop")),
        listing, rc=2)
    refused(L, "revoke by --uscc with two active keys", lambda: L.t(
        "id", "revoke", "--data", L.data, "--signer", L.op, "--uscc", ENT),
        listing, rc=2)
    refused(L, "a second key labelled plant 2", lambda: L.t(
        "id", "register", "--data", L.data, "--signer", L.op, "--role",
        "enterprise", "--name", "ent", "--uscc", ENT, "--label", "plant 2",
        "--pubkey", L.path("new.pub"), "--pop", L.path("new.pop")),
        "already has an active key labelled \"plant 2\"")
    # each key its own stream: plant 2's seq 1 is not the first key's
    must("first key seq 1", L.submit_json(ent, batch_json(ENT, tag=1)))
    _, p = L.sign(L.path("plant2.pem"), batch_json(ENT, tag=2), "p2",
                  seq=2)
    refused(L, "plant 2 skips to seq 2", lambda: L.submit(p),
            "sequence gap")


def test_atomic_per_batch(d):
    # batches of one submit are judged one by one (format.md 8.1, 8.3): a
    # refused batch leaves no trace and does not undo the good one
    L, ent = base(d)
    _, p1 = L.sign(ent, batch_json(ENT, tag=1), "s1", seq=1)
    _, p3 = L.sign(ent, batch_json(ENT, tag=3), "s3", seq=3)
    size = L.size()
    r = L.submit(p1, p3)
    check("good + gapped batch exits 1", r.rc == 1, r)
    check("good batch receipt printed", r.text.startswith("accepted:"), r)
    check("gapped batch reason", "sequence gap" in r.err, r)
    check("only the good batch appended", L.size() == size + 2,
          (size, L.size()))
    check("audit passes", L.audit().rc == 0)


harness.run_tests([
    test_unknown_key, test_revoked_key, test_wrong_scope,
    test_enterprise_other_uscc, test_wrong_signature, test_wrong_origin,
    test_sequence_gap, test_replay, test_sequence_conflict,
    test_time_window, test_noncanonical_cbor, test_bad_json,
    test_bad_references, test_oversize, test_bad_uscc, test_key_file_mode,
    test_bad_records, test_bad_identities, test_nul_in_text_cbor,
    test_nul_in_text_json, test_several_keys, test_atomic_per_batch,
])
