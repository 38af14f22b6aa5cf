#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/golden/run_golden.py -- golden tests of the `tally` command line:
# builds a deterministic ledger (fixed keys, origin and clock: the clock set
# from outside the binary, tests/fakeclock.py) in a scratch directory, runs a list of commands and compares each one's stdout, stderr
# and exit code byte for byte with tests/golden/expected/<name>.{out,err,code}.
# Usage: python3 tests/golden/run_golden.py out/debug/tools/tally [--update]
# --update (re)writes the expected files; read them before committing.

import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "vectors", "epcis-hash")
# Event-hash vector documents copied into DIR (tests/vectors/epcis-hash).
TRACE_DOCS = {"various.jsonld": "epcisDocWithVariousEventTypes.jsonld",
              "query.jsonld": "epcisQueryDocument.jsonld"}
sys.path.insert(0, os.path.dirname(HERE))
import fakeclock  # noqa: E402

KEYS = os.path.join(HERE, "keys")
EXPECTED = os.path.join(HERE, "expected")

NOW_MS = "1767225600000"  # 2026-01-01T00:00:00Z = 08:00 in Shanghai
ORIGIN = "golden.test/log"
ENT_USCC = "914403001922038216"  # valid
BAD_USCC = "914403001922038217"  # wrong check character
REG_USCC = "91350100M000100Y43"  # valid
LOW_USCC = "91350100m000100y43"  # lower case: refused
SAMR_USCC = "91440300000158385A"  # valid: a regulator writing credit events
CREDIT_DATA = os.path.join(HERE, "..", "..", "credit", "data")

INPUTS = {
    # An enterprise attests about itself (submitted with --key).
    "ent.json": {"records": [{"kind": "attestation", "subject": ENT_USCC,
                              "type": "supply.batch",
                              "body": {"lot": "A-1", "qty": 120}}]},
    # A regulator with scopes tax and market: two records in one batch.
    "reg.json": {"records": [
        {"kind": "attestation", "subject": ENT_USCC, "type": "tax.paid",
         "body": {"year": 2025, "amount": "1200.50"}},
        {"kind": "attestation", "subject": ENT_USCC,
         "type": "market.inspected", "body": {"result": "pass"}}]},
    # Credit events by a regulator with scopes credit.violation and
    # credit.tax (docs/credit.md 5.3's kinds of item, before 2026-01-01).
    "credit.json": {"records": [
        {"kind": "credit.event", "subject": ENT_USCC,
         "item": "violation.penalty", "severity": "general",
         "doc": "GMB-2025-17", "occurred": "2025-09-01",
         "decided": "2025-10-01", "amount": 2000000,
         "details": {"legal_basis": "Food Safety Law Art. 124"}},
        {"kind": "credit.event", "subject": ENT_USCC, "item": "tax.arrears",
         "severity": "general", "doc": "GTB-2025-3", "occurred": "2025-03-31",
         "decided": "2025-05-01", "ended": "2025-06-30",
         "amount": 1200000}]},
    # An enterprise about another organisation: refused.
    "bad.json": {"records": [{"kind": "attestation", "subject": REG_USCC,
                              "type": "supply.batch", "body": {}}]},
}


def jfield(ctx, name, key):
    """A field of the JSON a previous case printed."""
    return json.loads(ctx[name])[key]


def write(ctx, path, data):
    with open(os.path.join(ctx["DIR"], path), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path


def drop_varying(out):
    """ledger stats: map usage and reader counts vary between runs."""
    lines = out.split(b"\n")
    keep = [l for l in lines
            if not l.startswith(b"map used ") and not l.startswith(b"readers ")]
    return b"\n".join(keep)


def drop_varying_json(out):
    """ledger stats --json: the same two figures, as JSON keys."""
    obj = json.loads(out)
    for k in ("map_used", "readers"):
        obj.pop(k, None)
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def install_checkpoint_key(ctx):
    dst = os.path.join(ctx["DIR"], "data", "checkpoint.key")
    shutil.copyfile(os.path.join(ctx["DIR"], "ck.pem"), dst)
    os.chmod(dst, 0o600)


def cases():
    """(name, args or fn(ctx) -> args, options).  Options: save (write
    stdout to this file in DIR), filter (fn(bytes) -> bytes), env (extra
    environment), after (fn(ctx) run after the command).  Paths are relative to DIR, the working directory, except
    --data, which is absolute so that "$DIR" shows in outputs."""
    d = ["--data", "{DIR}/data"]
    c = []

    def add(name, args, **kw):
        c.append((name, args, kw))

    # ---- building the ledger: genesis 0; enterprise 1-2; regulator 3-4;
    # enterprise attestation 5-6; regulator batch 7-9 ----
    # The checkpoint key must be fixed for reproducible checkpoints, and
    # the CLI opens DIR/checkpoint.key for writing: init with ck.pem, then
    # install it there (no command takes --checkpoint-key after init).
    add("init", ["init", "--data", "{DIR}/data", "--operator-key", "op.pem",
                 "--checkpoint-key", "ck.pem", "--origin", ORIGIN],
        after=install_checkpoint_key)
    add("id_pop_out", ["id", "pop", "--key", "ent.pem"] + d +
        ["--out", "ent.pop"])
    add("id_pop_origin", ["id", "pop", "--key", "reg.pem", "--origin",
                          ORIGIN], save="reg.pop")
    add("id_register", ["id", "register"] + d +
        ["--signer", "op.pem", "--role", "enterprise", "--name",
         "Golden Foods Co", "--uscc", ENT_USCC, "--pubkey", "ent.pub",
         "--pop", "ent.pop"])
    add("id_register_json", ["id", "register"] + d +
        ["--signer", "op.pem", "--role", "regulator", "--scope", "tax",
         "--scope", "market", "--name", "Golden Tax Bureau", "--uscc",
         REG_USCC, "--pubkey", "reg.pub", "--pop", "reg.pop", "--json"])
    add("id_register_again", ["id", "register"] + d +
        ["--signer", "op.pem", "--role", "enterprise", "--name",
         "Golden Foods Co", "--uscc", ENT_USCC, "--pubkey", "ent.pub",
         "--pop", "ent.pop"])
    add("submit_key", ["submit"] + d + ["--key", "ent.pem", "ent.json"])
    add("batch_sign", ["batch", "sign", "--key", "reg.pem", "--origin",
                       ORIGIN] + d + ["reg.json"], save="reg.cbor")
    add("submit_json", ["submit"] + d + ["--json", "reg.cbor"])
    add("submit_resend", ["submit"] + d + ["reg.cbor"])
    add("submit_refused", ["submit"] + d + ["--key", "ent.pem", "bad.json"])

    # ---- identities ----
    add("id_show_json", ["id", "show"] + d + ["--uscc", ENT_USCC, "--json"])
    add("id_show", ["id", "show"] + d + ["--uscc", REG_USCC])
    add("id_show_missing", ["id", "show"] + d + ["--uscc", BAD_USCC])
    add("id_list", ["id", "list"] + d)
    add("id_list_json", ["id", "list"] + d + ["--json"])
    add("id_check_valid", ["id", "check", ENT_USCC, REG_USCC])
    add("id_check_invalid", ["id", "check", BAD_USCC])
    add("id_check_lowercase", ["id", "check", LOW_USCC])
    add("id_check_mixed", ["id", "check", ENT_USCC, BAD_USCC, LOW_USCC])

    # ---- reading ----
    add("ledger_get_json", ["ledger", "get"] + d + ["--index", "0", "--json"])
    # A header leaf: the writer's clock reading beside the log time.
    add("ledger_get_header", ["ledger", "get"] + d + ["--index", "1"])
    add("ledger_get_raw", ["ledger", "get"] + d + ["--index", "2", "--raw"],
        save="leaf2.bin")
    add("ledger_get_missing", ["ledger", "get"] + d + ["--index", "99"])
    add("ledger_checkpoint", ["ledger", "checkpoint"] + d, save="ckpt10.txt")
    add("ledger_pubkey", ["ledger", "pubkey"] + d, save="vkey.txt")
    add("ledger_prove_index", ["ledger", "prove"] + d +
        ["--index", "2", "--size", "3"])
    add("ledger_prove_latest", ["ledger", "prove"] + d + ["--index", "2"])
    add("ledger_prove_bad_size", ["ledger", "prove"] + d +
        ["--index", "2", "--size", "2"])
    add("ledger_prove_from_to", ["ledger", "prove"] + d +
        ["--from", "1", "--to", "3"])
    add("ledger_prove_from_to_bad", ["ledger", "prove"] + d +
        ["--from", "3", "--to", "11"])
    add("ledger_prove_record", ["ledger", "prove"] + d + ["--record", "8"],
        save="bundle8.json")
    add("ledger_prove_record_op", ["ledger", "prove"] + d +
        ["--record", "2"], save="bundle2.json")
    add("ledger_prove_record_header", ["ledger", "prove"] + d +
        ["--record", "7"])
    add("ledger_stats", ["ledger", "stats"] + d, filter=drop_varying)
    add("ledger_stats_json", ["ledger", "stats", "--json"] + d,
        filter=drop_varying_json)
    add("ledger_audit", ["ledger", "audit"] + d +
        ["--checkpoint", "ckpt10.txt"])
    add("ledger_size_at_day", ["ledger", "size-at"] + d +
        ["--date", "2026-01-01"])
    add("ledger_size_at_before", ["ledger", "size-at"] + d +
        ["--date", "2026-01-01T07:59:59"])

    # ---- offline verification ----
    add("proof_inclusion", lambda x: [
        "proof", "inclusion",
        "--leaf-hash", jfield(x, "ledger_prove_index", "leaf_hash"),
        "--index", "2", "--size", "3",
        "--root", jfield(x, "ledger_prove_index", "root"),
        "--proof", ",".join(jfield(x, "ledger_prove_index", "proof"))])
    add("proof_inclusion_invalid", lambda x: [
        "proof", "inclusion",
        "--leaf-hash", jfield(x, "ledger_prove_index", "leaf_hash"),
        "--index", "1", "--size", "3",
        "--root", jfield(x, "ledger_prove_index", "root"),
        "--proof", ",".join(jfield(x, "ledger_prove_index", "proof"))])
    add("proof_inclusion_short_hash", lambda x: [
        "proof", "inclusion",
        "--leaf-hash", jfield(x, "ledger_prove_index", "leaf_hash"),
        "--index", "2", "--size", "3",
        "--root", jfield(x, "ledger_prove_index", "root"),
        "--proof", "d07a"])
    add("proof_inclusion_checkpoint", lambda x: [
        "proof", "inclusion", "--leaf", "leaf2.bin", "--index", "2",
        "--checkpoint", "ckpt10.txt", "--vkey", "vkey.txt",
        "--proof", ",".join(jfield(x, "ledger_prove_latest", "proof"))])
    add("proof_consistency", lambda x: [
        "proof", "consistency",
        "--size1", "1", "--size2", "3",
        "--root1", jfield(x, "ledger_prove_from_to", "root1"),
        "--root2", jfield(x, "ledger_prove_from_to", "root2"),
        "--proof", ",".join(jfield(x, "ledger_prove_from_to", "proof"))])
    add("proof_consistency_invalid", lambda x: [
        "proof", "consistency",
        "--size1", "1", "--size2", "3",
        "--root1", jfield(x, "ledger_prove_from_to", "root2"),
        "--root2", jfield(x, "ledger_prove_from_to", "root2"),
        "--proof", ",".join(jfield(x, "ledger_prove_from_to", "proof"))])
    add("ledger_prove_3_10", ["ledger", "prove"] + d +
        ["--from", "3", "--to", "10"])
    add("proof_consistency_checkpoints", lambda x: [
        "proof", "consistency", "--vkey", "vkey.txt", "--checkpoint1",
        write(x, "ckpt3.txt", jfield(x, "ledger_prove_index", "checkpoint")),
        "--checkpoint2", "ckpt10.txt",
        "--proof", ",".join(jfield(x, "ledger_prove_3_10", "proof"))])
    add("proof_consistency_checkpoints_swapped", lambda x: [
        "proof", "consistency", "--vkey", "vkey.txt",
        "--checkpoint1", "ckpt10.txt", "--checkpoint2", "ckpt3.txt",
        "--proof", ",".join(jfield(x, "ledger_prove_3_10", "proof"))])
    add("proof_record", ["proof", "record", "--bundle", "bundle8.json",
                         "--vkey", "vkey.txt"])
    add("proof_record_op", lambda x: [
        "proof", "record", "--bundle", "bundle2.json",
        "--vkey", x["ledger_pubkey"].strip()])
    add("proof_record_tampered", lambda x: [
        "proof", "record", "--vkey", "vkey.txt", "--bundle",
        write(x, "tampered.json", x["ledger_prove_record"].replace(
            '"index":8', '"index":9'))])
    add("proof_record_wrong_size", lambda x: [
        "proof", "record", "--vkey", "vkey.txt", "--bundle",
        write(x, "size11.json", json.dumps(dict(
            json.loads(x["ledger_prove_record"]), size=11)))])
    add("proof_inclusion_two_leaves", ["proof", "inclusion", "--leaf",
                                       "leaf2.bin", "--leaf-hash", "00",
                                       "--index", "2", "--size", "3",
                                       "--root", "00"])
    add("proof_record_no_identity", lambda x: [
        "proof", "record", "--vkey", "vkey.txt", "--bundle",
        write(x, "noid.json", json.dumps(dict(
            json.loads(x["ledger_prove_record"]), identity=None)))])

    # ---- several keys per organisation: the enterprise's plant 2 (leaves
    # 10-11), its own batch (12-13); rotate by --uscc is ambiguous now;
    # plant 2 revoked (14-15), refused, the first key still accepted
    # (16-17) ----
    add("id_pop_plant2", ["id", "pop", "--key", "plant2.pem"] + d +
        ["--out", "plant2.pop"])
    add("id_register_label", ["id", "register"] + d +
        ["--signer", "op.pem", "--role", "enterprise", "--name",
         "Golden Foods Co", "--uscc", ENT_USCC, "--label", "plant 2",
         "--pubkey", "plant2.pub", "--pop", "plant2.pop"])
    add("id_register_label_taken", ["id", "register"] + d +
        ["--signer", "op.pem", "--role", "enterprise", "--name",
         "Golden Foods Co", "--uscc", ENT_USCC, "--label", "plant 2",
         "--pubkey", "reg.pub", "--pop", "reg.pop"])
    add("id_register_other_role", ["id", "register"] + d +
        ["--signer", "op.pem", "--role", "bank", "--name",
         "Golden Foods Co", "--uscc", ENT_USCC, "--label", "plant 3",
         "--pubkey", "reg.pub", "--pop", "reg.pop"])
    add("submit_plant2", ["submit"] + d + ["--key", "plant2.pem",
                                           "ent.json"])
    add("id_rotate_ambiguous", ["id", "rotate"] + d +
        ["--signer", "op.pem", "--uscc", ENT_USCC, "--pubkey", "reg.pub",
         "--pop", "reg.pop"])
    add("id_show_org", ["id", "show"] + d + ["--uscc", ENT_USCC])
    add("id_show_org_json", ["id", "show"] + d + ["--uscc", ENT_USCC,
                                                  "--json"])
    add("id_revoke_key", lambda x: ["id", "revoke"] + d + [
        "--signer", "op.pem", "--key-id",
        json.loads(x["id_show_org_json"])["keys"][1]["key_id"]])
    add("submit_revoked_plant2", ["submit"] + d + ["--key", "plant2.pem",
                                                   "ent.json"])
    add("submit_first_key", ["submit"] + d + ["--key", "ent.pem",
                                              "ent.json"])
    add("id_show_key_json", lambda x: ["id", "show"] + d + [
        "--key-id", json.loads(x["id_show_org_json"])["keys"][1]["key_id"],
        "--json"])
    add("id_list_keys", ["id", "list"] + d)

    # ---- maintenance (last: backup, then reindex) ----
    add("ledger_backup", ["ledger", "backup"] + d + ["--out", "{DIR}/copy"])
    add("submit_readonly", ["submit"] + ["--data", "{DIR}/copy",
                                         "reg.cbor"])
    add("ledger_reindex", ["ledger", "reindex"] + d)

    # ---- usage errors ----
    add("keygen_exists", ["keygen", "--out", "op.pem"])
    add("usage_keygen_no_out", ["keygen"])
    add("usage_none", [])
    add("usage_unknown_command", ["frobnicate"])
    add("usage_unknown_option", ["submit"] + d + ["--bogus", "reg.cbor"])
    add("usage_missing_value", ["ledger", "get"] + d + ["--index"])
    add("usage_missing_option", ["ledger", "get"] + d)
    add("usage_not_a_number", ["ledger", "get"] + d + ["--index", "x"])
    add("usage_id_check_none", ["id", "check"])
    add("usage_prove_two_forms", ["ledger", "prove"] + d +
        ["--index", "2", "--record", "8"])
    add("usage_submit_json_no_key", ["submit"] + d + ["ent.json"])
    add("usage_batch_sign_other_origin", ["batch", "sign", "--key", "reg.pem",
                                          "--origin", "other.test/x"] + d +
        ["reg.json"])
    add("id_check_escaped", ["id", "check", "9144030019220382\u00e9",
                             "91440300192203821\x01"])

    # ---- trace hash: the vectors' IDs and pre-hashes, and refusals (which
    # print nothing on stdout). ----
    ev = ('{"type":"ObjectEvent","eventTime":"2020-01-01T00:00:00Z",'
          '"action":"OBSERVE"}')
    add("trace_hash", ["trace", "hash", "various.jsonld"])
    add("trace_hash_prehash", ["trace", "hash", "--prehash", "query.jsonld"])
    add("trace_hash_query", ["trace", "hash", "query.jsonld"])
    add("trace_hash_event", lambda ctx: [
        "trace", "hash", write(ctx, "one.json", ev)])
    add("trace_hash_bad_json", lambda ctx: [
        "trace", "hash", write(ctx, "bad.jsonld", '{"type": "EPCISDoc')])
    add("trace_hash_no_time", lambda ctx: [
        "trace", "hash", write(ctx, "notime.jsonld", json.dumps(
            {"type": "EPCISDocument", "epcisBody": {"eventList": [
                json.loads(ev), {"type": "ObjectEvent"}]}}))])
    add("trace_hash_no_type", lambda ctx: [
        "trace", "hash", write(ctx, "notype.jsonld", json.dumps(
            {"type": "EPCISDocument", "epcisBody": {"eventList": [
                {"eventTime": "2020-01-01T00:00:00Z"}]}}))])
    add("trace_hash_bad_type", lambda ctx: [
        "trace", "hash", write(ctx, "badtype.jsonld", json.dumps(
            {"type": "EPCISDocument", "epcisBody": {"eventList": [
                {"type": "ShippingEvent",
                 "eventTime": "2020-01-01T00:00:00Z"}]}}))])
    add("trace_hash_not_doc", lambda ctx: [
        "trace", "hash", write(ctx, "notdoc.jsonld",
                               '{"type":"EPCISDocument","epcisBody":{}}')])
    add("trace_hash_missing", ["trace", "hash", "absent.jsonld"])
    add("trace_hash_no_file", ["trace", "hash"])
    add("trace_unknown", ["trace", "frobnicate", "x"])

    # ---- help: every command and subcommand. ----
    helps = [["--help"], ["-h"], ["init"], ["keygen"], ["submit"],
             ["batch"], ["batch", "sign"], ["id"], ["ledger"], ["proof"],
             ["trace"], ["trace", "hash"]]
    helps += [["id", s] for s in ("pop", "register", "rotate", "revoke",
                                  "except", "show", "list", "check")]
    helps += [["ledger", s] for s in ("get", "checkpoint", "pubkey", "prove",
                                      "audit", "stats", "reindex", "backup",
                                      "size-at")]
    helps += [["proof", s] for s in ("inclusion", "consistency", "record")]
    helps += [["trace", s] for s in ("bind", "claim", "confirm", "delegate",
                                     "undelegate", "name", "parties")]
    helps += [["credit"]] + [["credit", w, s]
                             for w in ("catalogue", "scorecard")
                             for s in ("adopt", "show")]
    helps += [["credit", s] for s in ("score", "public", "list")]
    for h in helps:
        args = h if h[0].startswith("-") else h + ["--help"]
        add("help_" + "_".join(x.strip("-") for x in h).replace("-", "_"),
            args)

    # ---- credit: the defaults adopted, two events, their score ----
    add("credit_pop", ["id", "pop", "--key", "samr.pem"] + d +
        ["--out", "samr.pop"])
    add("credit_register", ["id", "register"] + d +
        ["--signer", "op.pem", "--role", "regulator", "--scope",
         "credit.violation", "--scope", "credit.tax", "--name",
         "Golden Market Bureau", "--uscc", SAMR_USCC, "--pubkey",
         "samr.pub", "--pop", "samr.pop"])
    for what, f in (("catalogue", "default.catalogue"),
                    ("scorecard", "default.scorecard"),
                    ("scorecard", "public.scorecard")):
        add("credit_adopt_" + f.replace(".", "_"),
            ["credit", what, "adopt", os.path.join(CREDIT_DATA, f)] + d +
            ["--key", "op.pem"])
    add("credit_events", ["submit"] + d + ["--key", "samr.pem",
                                           "credit.json"])
    add("credit_score", ["credit", "score", ENT_USCC] + d)
    add("credit_score_json", ["credit", "score", ENT_USCC] + d + ["--json"])
    add("credit_score_as_of", ["credit", "score", ENT_USCC] + d +
        ["--as-of", "2026-10-01"])
    add("credit_score_other", ["credit", "score", REG_USCC] + d)
    add("credit_score_bad_uscc", ["credit", "score", BAD_USCC] + d)
    add("credit_public", ["credit", "public", ENT_USCC] + d)
    add("credit_public_json", ["credit", "public", ENT_USCC] + d +
        ["--json"])
    add("credit_list_grade", ["credit", "list", "--grade", "C"] + d)
    add("credit_list_category", ["credit", "list", "--category", "tax",
                                 "--since", "2025-01-01"] + d + ["--json"])
    return c


def setup(tmp):
    for name in os.listdir(KEYS):
        dst = os.path.join(tmp, name)
        shutil.copyfile(os.path.join(KEYS, name), dst)
        # git keeps no modes; tally refuses private keys others can read.
        os.chmod(dst, 0o600 if name.endswith(".pem") else 0o644)
    for name, src in TRACE_DOCS.items():
        shutil.copyfile(os.path.join(VECTORS, src), os.path.join(tmp, name))
    for name, doc in INPUTS.items():
        with open(os.path.join(tmp, name), "w") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")


def run_case(tally, tmp, ctx, name, args, kw):
    if callable(args):
        args = args(ctx)
    args = [a.replace("{DIR}", tmp) for a in args]
    env = dict(os.environ, LC_ALL="C", TMPDIR=tmp)
    env.update(fakeclock.at(NOW_MS))
    env.update(kw.get("env", {}))
    p = subprocess.run([tally] + args, cwd=tmp, env=env,
                       stdin=subprocess.DEVNULL, capture_output=True)
    if kw.get("save"):
        with open(os.path.join(tmp, kw["save"]), "wb") as f:
            f.write(p.stdout)
    ctx[name] = p.stdout.decode("utf-8", "replace")
    if kw.get("after"):
        kw["after"](ctx)
    out, err = p.stdout, p.stderr
    if kw.get("filter"):
        out = kw["filter"](out)
    dirb = tmp.encode()
    return (out.replace(dirb, b"$DIR"), err.replace(dirb, b"$DIR"),
            ("%d\n" % p.returncode).encode())


def main(argv):
    update = "--update" in argv[1:]
    rest = [a for a in argv[1:] if a != "--update"]
    if len(rest) != 1:
        sys.stderr.write("usage: run_golden.py TALLY [--update]\n")
        return 2
    tally = os.path.abspath(rest[0])
    if not os.access(tally, os.X_OK):
        sys.stderr.write("run_golden: %s is not executable\n" % tally)
        return 2
    try:
        fakeclock.use(tally)
    except RuntimeError as e:
        sys.stderr.write("run_golden: %s\n" % e)
        print("run_golden: 0 passed, 1 failed")
        return 1
    passed = failed = 0
    tmp = tempfile.mkdtemp(prefix="tally-golden-")
    try:
        setup(tmp)
        ctx = {"DIR": tmp}
        names = set()
        if update:
            os.makedirs(EXPECTED, exist_ok=True)
        for name, args, kw in cases():
            assert name not in names, name
            names.add(name)
            try:
                got = run_case(tally, tmp, ctx, name, args, kw)
            except Exception as e:  # a broken step fails, never aborts
                failed += 1
                print("FAIL %s: %s: %s" % (name, type(e).__name__, e))
                continue
            bad = []
            if update:
                passed += 1
            for ext, data in zip(("out", "err", "code"), got):
                path = os.path.join(EXPECTED, "%s.%s" % (name, ext))
                if update:
                    with open(path, "wb") as f:
                        f.write(data)
                    continue
                try:
                    with open(path, "rb") as f:
                        want = f.read()
                except OSError:
                    want = None
                if want != data:
                    bad.append((ext, want, data))
            if update:
                continue
            if not bad:
                passed += 1
                continue
            failed += 1
            for ext, want, data in bad:
                print("FAIL %s.%s" % (name, ext))
                print("  want: %r" % (want[:400] if want is not None
                                      else "(no expected file)"))
                print("  got:  %r" % data[:400])
        if update:
            stale = [f for f in os.listdir(EXPECTED)
                     if f.rsplit(".", 1)[0] not in names]
            for f in stale:
                os.unlink(os.path.join(EXPECTED, f))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if update:
        print("run_golden: wrote expected files for %d cases" % passed)
    print("run_golden: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
