#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/integration/test_credit_events.py -- credit.event, credit.revoke
# and credit.confirm records through `tally submit` on real ledgers, at a
# fixed clock (2026-12-04 in Asia/Shanghai): events the catalogue allows go
# in; every refusal at the door (an item outside the catalogue, a severity
# or field the item does not allow, a forbidden field, an amount the item
# has not, dates out of order or in the future, an invalid USCC, a writer
# without the category's scope, an enterprise writing a negative fact or
# about another, a bank writing about another lender's loan, an amendment
# or revocation by anyone but the issuer, a confirmation by an enterprise,
# a target missing from refs) prints its reason, exits 1 and writes
# nothing.  The audit, reindex and outside verifier accept the result.
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Ledger, at, check, must, refused, run_tests,  # noqa: E402
                     uscc)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CAT = os.path.join(ROOT, "credit", "data", "default.catalogue")
VERIFY = os.path.join(ROOT, "tests", "outside", "verify.py")
# 2026-12-04 10:00 in Asia/Shanghai (02:00 UTC).
NOW = 1796349600000

ENT = uscc(1)
OTHER = uscc(3)


def penalty(**kw):
    e = {"kind": "credit.event", "subject": ENT, "item": "violation.penalty",
         "severity": "general", "doc": "SHSC-2026-0042",
         "occurred": "2026-05-01", "decided": "2026-06-01",
         "details": {"legal_basis": "Food Safety Law Art. 124"},
         "amount": 5000000}
    e.update(kw)
    return {k: v for k, v in e.items() if v is not None}


def setup(d):
    L = Ledger(d, env=at(NOW))
    must("adopt catalogue", L.t("credit", "catalogue", "adopt", CAT,
                                "--data", L.data, "--key", L.op))
    keys = {
        "samr": L.register("samr", uscc(2), role="regulator",
                           scopes=["credit.violation", "credit.quality",
                                   "credit.commendation"]),
        "tax": L.register("tax", uscc(4), role="regulator",
                          scopes=["credit.tax"]),
        "bank": L.register("bank", uscc(5), role="bank",
                           scopes=["credit.loan"]),
        "ent": L.register("ent", ENT),
        "other": L.register("other", OTHER),
    }
    return L, keys


def submit(L, key, *recs):
    return L.submit_json(key, json.dumps({"records": list(recs)}))


def leaf_of(r):
    """The first record leaf of an acceptance ("records 6..6")."""
    line = r.out.decode().split("\n")[0]
    return int(line.split("records ")[1].split("..")[0])


def leaf_hash(L, i):
    r = must("prove leaf %d" % i, L.t("ledger", "prove", "--data", L.data,
                                      "--index", str(i)))
    return json.loads(r.out)["leaf_hash"]


def ref(L, i):
    return {"index": i, "hash": leaf_hash(L, i)}


def test_accepted(d):
    L, k = setup(d)
    r = must("a penalty by SAMR", submit(L, k["samr"], penalty()))
    check("accepted", b"accepted" in r.out, r)
    pen = leaf_of(r)
    must("unpaid tax by the tax bureau", submit(L, k["tax"], {
        "kind": "credit.event", "subject": ENT, "item": "tax.arrears",
        "severity": "general", "doc": "TAX-2026-7", "occurred": "2026-01-31",
        "decided": "2026-03-01", "ended": "2026-04-01",
        "amount": 1200000, "details": {"period_end": "2026-01-31"}}))
    must("a bank's overdue loan, its own", submit(L, k["bank"], {
        "kind": "credit.event", "subject": ENT, "item": "loan.overdue",
        "severity": "general", "doc": "LN-1", "occurred": "2026-02-01",
        "decided": "2026-03-01", "amount": 100000,
        "details": {"lender": uscc(5), "contract_no": "C-9"}}))
    r = must("the enterprise's own honour", submit(L, k["ent"], {
        "kind": "credit.event", "subject": ENT, "item": "commendation.honour",
        "severity": "general", "doc": "HON-1", "occurred": "2026-09-01",
        "decided": "2026-09-01"}))
    hon = leaf_of(r)
    must("SAMR confirms it", submit(L, k["samr"], {
        "kind": "credit.confirm", "target": hon, "refs": [ref(L, hon)]}))
    must("SAMR amends its penalty", submit(L, k["samr"], penalty(
        severity="serious", amends=pen, refs=[ref(L, pen)])))
    must("SAMR revokes it", submit(L, k["samr"], {
        "kind": "credit.revoke", "target": pen, "refs": [ref(L, pen)],
        "doc": "SHSC-2026-0042-R", "decided": "2026-11-01",
        "reason": "annulled on administrative review"}))
    refused(L, "a second revocation", lambda: submit(L, k["samr"], {
        "kind": "credit.revoke", "target": pen, "refs": [ref(L, pen)],
        "doc": "R2", "decided": "2026-11-02", "reason": "again"}),
        ["credit.revoke: the event at leaf %d is revoked" % pen])
    refused(L, "amending a revoked event", lambda: submit(
        L, k["samr"], penalty(amends=pen, refs=[ref(L, pen)])),
        ["credit.event: the event at leaf %d is revoked" % pen])
    must("audit", L.audit())
    p = subprocess.run([sys.executable, VERIFY, L.data], capture_output=True,
                       text=True)
    check("the outside verifier accepts the events", p.returncode == 0,
          p.stdout + p.stderr)
    before = L.snapshot()
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    check("reindex rebuilds the same indexes", L.snapshot() == before)


def test_refused_at_the_door(d):
    L, k = setup(d)
    cases = [
        ("an item outside the catalogue", k["samr"],
         penalty(item="violation.jaywalking"),
         "credit.event: item 'violation.jaywalking' is not in catalogue "
         "version 1"),
        ("a severity the item does not allow", k["samr"],
         penalty(item="violation.samr-warning", severity="serious",
                 details=None, amount=None),
         "credit.event: item violation.samr-warning does not allow "
         "severity serious (allowed: light)"),
        ("no rule in force on the decision day", k["samr"],
         penalty(item="commendation.honour", occurred="2025-01-01",
                 decided="2025-02-01", details=None, amount=None),
         "credit.event: item commendation.honour has no general rule in "
         "force on the decision day 2025-02-01"),
        ("a forbidden field", k["samr"],
         penalty(details={"religion": "x"}),
         "credit.event: field religion is forbidden by the catalogue"),
        ("a field the item does not have", k["samr"],
         penalty(details={"product": "milk"}),
         "credit.event: field 'product' is not a field of item "
         "violation.penalty"),
        ("an amount the item has not", k["samr"],
         penalty(item="violation.serious-list", severity="serious",
                 details=None),
         "credit.event: item violation.serious-list has no amount field"),
        ("the amount in details", k["samr"],
         penalty(details={"fine_fen": "5"}, amount=None),
         "the amount (fine_fen) goes in \"amount\", not in details"),
        ("decided before it occurred", k["samr"],
         penalty(occurred="2026-06-02"),
         "credit.event: occurred 2026-06-02 is after decided 2026-06-01"),
        ("ended before it occurred", k["samr"],
         penalty(ended="2026-04-30"),
         "credit.event: occurred 2026-05-01 is after ended 2026-04-30"),
        ("a restriction ending before the decision", k["samr"],
         penalty(until="2026-05-31"),
         "credit.event: decided 2026-06-01 is after until 2026-05-31"),
        ("a decision in the future", k["samr"],
         penalty(decided="2026-12-05"),
         "credit.event: decided 2026-12-05 is in the future (the log's "
         "date is 2026-12-04)"),
        ("an end in the future", k["samr"],
         penalty(ended="2027-01-01"),
         "credit.event: ended 2027-01-01 is in the future"),
        ("an invalid USCC", k["samr"],
         penalty(subject=ENT[:17] + ("0" if ENT[17] != "0" else "1")),
         "credit.event: subject: "),
        ("a malformed date", k["samr"], penalty(decided="2026-6-1"),
         "credit.event: decided must be a date YYYY-MM-DD"),
        ("an unknown severity", k["samr"], penalty(severity="grave"),
         "credit.event: severity must be light, general or serious"),
        ("the tax bureau writing a penalty", k["tax"], penalty(),
         "credit.event: category violation needs the scope "
         "credit.violation, which this regulator key does not hold"),
        ("SAMR writing tax", k["samr"],
         {"kind": "credit.event", "subject": ENT, "item": "tax.arrears",
          "severity": "general", "doc": "T", "occurred": "2026-01-01",
          "decided": "2026-02-01"},
         "category tax needs the scope credit.tax"),
        ("a bank writing another lender's loan", k["bank"],
         {"kind": "credit.event", "subject": ENT, "item": "loan.overdue",
          "severity": "general", "doc": "LN-2", "occurred": "2026-02-01",
          "decided": "2026-03-01", "details": {"lender": uscc(9)}},
         "a bank writes events about its own loans only: details.lender "
         "must be its USCC " + uscc(5)),
        ("an enterprise writing a negative fact", k["ent"], penalty(),
         "credit.event: an enterprise writes only its own positive facts; "
         "violation is a negative category"),
        ("an enterprise writing about another", k["other"],
         {"kind": "credit.event", "subject": ENT,
          "item": "commendation.honour", "severity": "general",
          "doc": "H", "occurred": "2026-09-01", "decided": "2026-09-01"},
         "credit.event: an enterprise writes facts about itself only"),
        ("the operator writing an event", L.op, penalty(),
         "role operator writes no credit events"),
    ]
    for name, key, rec, msg in cases:
        refused(L, name, lambda: submit(L, key, rec), ["refused", msg])


def test_corrections_by_the_issuer(d):
    L, k = setup(d)
    pen = leaf_of(must("a penalty", submit(L, k["samr"], penalty())))
    hon = leaf_of(must("an honour by the enterprise", submit(L, k["ent"], {
        "kind": "credit.event", "subject": ENT, "item": "commendation.honour",
        "severity": "general", "doc": "HON-1", "occurred": "2026-09-01",
        "decided": "2026-09-01"})))
    samr2 = L.register("samr2", uscc(6), role="regulator",
                       scopes=["credit.violation"])
    refused(L, "an amendment by another regulator", lambda: submit(
        L, samr2, penalty(amends=pen, refs=[ref(L, pen)])),
        ["credit.event: only the issuer of the event at leaf %d (%s) may "
         "amend it" % (pen, uscc(2))])
    refused(L, "a revocation by another regulator", lambda: submit(
        L, samr2, {"kind": "credit.revoke", "target": pen,
                   "refs": [ref(L, pen)], "doc": "R", "decided": "2026-11-01",
                   "reason": "x"}),
        ["credit.revoke: only the issuer of the event at leaf %d" % pen])
    refused(L, "an amendment changing the subject", lambda: submit(
        L, k["samr"], penalty(subject=OTHER, amends=pen,
                              refs=[ref(L, pen)])),
        ["credit.event: an amendment keeps the subject %s" % ENT])
    refused(L, "a target missing from refs", lambda: submit(
        L, k["samr"], {"kind": "credit.revoke", "target": pen, "doc": "R",
                       "decided": "2026-11-01", "reason": "x"}),
        ["credit.revoke: target %d must also be in refs" % pen])
    refused(L, "a revocation decided before the event", lambda: submit(
        L, k["samr"], {"kind": "credit.revoke", "target": pen,
                       "refs": [ref(L, pen)], "doc": "R",
                       "decided": "2026-05-01", "reason": "x"}),
        ["credit.revoke: the event's decision 2026-06-01 is after the "
         "revocation's decision 2026-05-01"])
    refused(L, "a revocation of a leaf that is no event", lambda: submit(
        L, k["samr"], {"kind": "credit.revoke", "target": 2,
                       "refs": [ref(L, 2)], "doc": "R",
                       "decided": "2026-11-01", "reason": "x"}),
        ["credit.revoke: leaf 2 is not a credit event"])
    refused(L, "a confirmation by an enterprise", lambda: submit(
        L, k["other"], {"kind": "credit.confirm", "target": hon,
                        "refs": [ref(L, hon)]}),
        ["credit.confirm: an authority with the scope "
         "credit.commendation confirms it"])
    refused(L, "a confirmation outside the scopes", lambda: submit(
        L, k["tax"], {"kind": "credit.confirm", "target": hon,
                      "refs": [ref(L, hon)]}),
        ["credit.confirm: category commendation needs the scope "
         "credit.commendation"])
    refused(L, "confirming an authority's own event", lambda: submit(
        L, k["samr"], {"kind": "credit.confirm", "target": pen,
                       "refs": [ref(L, pen)]}),
        ["credit.confirm: the event at leaf %d is not a positive fact "
         "written by the enterprise itself" % pen])
    must("SAMR confirms the honour", submit(L, k["samr"], {
        "kind": "credit.confirm", "target": hon, "refs": [ref(L, hon)]}))
    refused(L, "a second confirmation", lambda: submit(
        L, k["samr"], {"kind": "credit.confirm", "target": hon,
                       "refs": [ref(L, hon)]}),
        ["credit.confirm: the event at leaf %d is already confirmed" % hon])


def test_catalogue_by_position(d):
    """Each event is checked against the catalogue adopted before it: an
    item a newer version adds is refused before it and accepted after."""
    L, k = setup(d)
    rec = penalty(item="violation.noise", details=None, amount=None)
    refused(L, "an item of a later catalogue", lambda: submit(
        L, k["samr"], rec),
        ["credit.event: item 'violation.noise' is not in catalogue "
         "version 1"])
    with open(CAT, "rb") as f:
        text = f.read()
    text = text.replace(b"\nversion 1\n", b"\nversion 2\n", 1) + (
        b"item violation.noise violation nuisance public repairable city\n"
        b"fields decision_no\n"
        b"rule general 0d 1y decision 2020-01-01 - ndrc2026 a test item\n")
    must("adopt catalogue version 2", L.t(
        "credit", "catalogue", "adopt", L.write("v2.catalogue", text),
        "--data", L.data, "--key", L.op))
    must("the new item goes in", submit(L, k["samr"], rec))
    must("so do the old ones", submit(L, k["samr"], penalty()))
    before = L.snapshot()
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    check("reindex: each event indexed under its own catalogue",
          L.snapshot() == before)


def test_no_catalogue(d):
    L = Ledger(d, env=at(NOW))
    samr = L.register("samr", uscc(2), role="regulator",
                      scopes=["credit.violation"])
    refused(L, "an event before any catalogue", lambda: submit(
        L, samr, penalty()),
        ["credit.event: no catalogue is adopted yet"])


run_tests([test_accepted, test_refused_at_the_door,
           test_corrections_by_the_issuer, test_catalogue_by_position,
           test_no_catalogue])
