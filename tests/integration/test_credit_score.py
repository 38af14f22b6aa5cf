#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/integration/test_credit_score.py -- tally credit score, public and
# list on real ledgers at a fixed clock (2026-12-04, Asia/Shanghai), with
# the default catalogue and scorecards (credit/data/).  Every expected
# score is computed by hand in the comments from those files: one case per
# category, decay steps, caps, publicity expiry, revocation, amendment,
# unconfirmed and confirmed positive facts, as-of dates and tree sizes
# before and after each change, the "what will change" days, the public
# grade apart from the full one, determinism (the same inputs twice give
# the same bytes) and one whole output compared byte for byte.  Refusals
# exit 1 (or 2 for usage) and write nothing.
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Ledger, at, check, must, refused, run_tests,  # noqa: E402
                     uscc)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "credit", "data")
# 2026-12-04 10:00 in Asia/Shanghai (02:00 UTC).
NOW = 1796349600000


def setup(d, public=True):
    L = Ledger(d, env=at(NOW))
    for what, f in (("catalogue", "default.catalogue"),
                    ("scorecard", "default.scorecard")) + (
                        (("scorecard", "public.scorecard"),) if public
                        else ()):
        must("adopt " + f, L.t("credit", what, "adopt",
                               os.path.join(DATA, f), "--data", L.data,
                               "--key", L.op))
    k = {
        "samr": L.register("samr", uscc(2), role="regulator",
                           scopes=["credit.violation", "credit.quality",
                                   "credit.commendation", "credit.redlist"]),
        "tax": L.register("tax", uscc(4), role="regulator",
                          scopes=["credit.tax", "credit.insurance"]),
        "court": L.register("court", uscc(6), role="regulator",
                            scopes=["credit.contract"]),
        "bank": L.register("bank", uscc(5), role="bank",
                           scopes=["credit.loan"]),
    }
    return L, k


def ev(subject, item, sev, decided, occurred=None, **kw):
    e = {"kind": "credit.event", "subject": subject, "item": item,
         "severity": sev, "doc": "D-" + decided, "decided": decided,
         "occurred": occurred or decided}
    e.update(kw)
    return e


def submit(L, key, *recs):
    r = L.submit_json(key, json.dumps({"records": list(recs)}))
    must("submit %s" % recs[0].get("item", recs[0]["kind"]), r)
    line = r.out.decode().split("\n")[0]
    return int(line.split("records ")[1].split("..")[0])


def score(L, subj, *extra):
    r = L.t("credit", "score", subj, "--data", L.data, "--json", *extra)
    must("score %s %s" % (subj, " ".join(extra)), r)
    return json.loads(r.out)


def changes(j):
    return [(c["date"], c["score"], c["grade"]) for c in j["changes"]]


def cats(j):
    return {c["name"]: c["points"] for c in j["categories"] if c["points"]}


def ref(L, i):
    r = must("prove %d" % i, L.t("ledger", "prove", "--data", L.data,
                                 "--index", str(i)))
    return {"index": i, "hash": json.loads(r.out)["leaf_hash"]}


def test_each_category(d):
    L, k = setup(d)
    s = {c: uscc(10 + i) for i, c in enumerate(
        ("violation", "tax", "loan", "contract", "quality", "insurance",
         "redlist", "none"))}
    # violation.penalty general, decided 2026-06-01 (rule ndrc2026: max 1y
    # from the decision): -50 until 2027-06-01; 800 - 50 = 750, grade B.
    submit(L, k["samr"], ev(s["violation"], "violation.penalty", "general",
                            "2026-06-01", "2026-05-01",
                            details={"legal_basis": "Art. 5"},
                            amount=500000))
    # tax.arrears general, ended 2026-04-01 (5y from the end); decay tax
    # 1y 50, 3y 25 from the end: -110 now, -55 from 2027-04-01, -27
    # (-27.5 toward zero) from 2029-04-01, gone 2031-04-01.
    submit(L, k["tax"], ev(s["tax"], "tax.arrears", "general", "2026-03-01",
                           "2026-01-31", ended="2026-04-01",
                           amount=1200000))
    # loan.overdue general with no end yet: counted from an end that has
    # not come, so it lasts and does not decay: -100, nothing changes.
    submit(L, k["bank"], ev(s["loan"], "loan.overdue", "general",
                            "2026-03-01", "2026-02-01",
                            details={"lender": uscc(5)}))
    # contract.dishonest-debtor serious, 2026-02-01 (max 5y from the
    # decision), decay contract 1y 50: -300 now (500 C), -150 from
    # 2027-02-01 (650 C), gone 2031-02-01 (800 B).
    submit(L, k["court"], ev(s["contract"], "contract.dishonest-debtor",
                             "serious", "2026-02-01"))
    # quality.sampling-failure general, 2026-07-01: -80 (720 B) until
    # 2027-07-01, when its 1-year window ends (and its decay would start).
    submit(L, k["samr"], ev(s["quality"], "quality.sampling-failure",
                            "general", "2026-07-01"))
    # insurance.arrears general, ended 2026-10-31: -110 (690 C), -55 from
    # 2027-10-31 (745 B), -27 from 2029-10-31 (773 B), gone 2031-10-31.
    submit(L, k["tax"], ev(s["insurance"], "insurance.arrears", "general",
                           "2026-11-15", "2026-10-01", ended="2026-10-31"))
    # redlist.listed general, 2026-03-01, 1 year: +100 (900 A) until
    # 2027-03-01.
    submit(L, k["samr"], ev(s["redlist"], "redlist.listed", "general",
                            "2026-03-01"))
    want = {
        "violation": (750, "B", {"violation": -50},
                      [("2027-06-01", 800, "B")]),
        "tax": (690, "C", {"tax": -110},
                [("2027-04-01", 745, "B"), ("2029-04-01", 773, "B"),
                 ("2031-04-01", 800, "B")]),
        "loan": (700, "B", {"loan": -100}, []),
        "contract": (500, "C", {"contract": -300},
                     [("2027-02-01", 650, "C"), ("2031-02-01", 800, "B")]),
        "quality": (720, "B", {"quality": -80}, [("2027-07-01", 800, "B")]),
        "insurance": (690, "C", {"insurance": -110},
                      [("2027-10-31", 745, "B"), ("2029-10-31", 773, "B"),
                       ("2031-10-31", 800, "B")]),
        "redlist": (900, "A", {"redlist": 100}, [("2027-03-01", 800, "B")]),
        "none": (800, "B", {}, []),
    }
    for c, (sc, gr, cs, ch) in want.items():
        j = score(L, s[c])
        check("%s: score and grade" % c, (j["score"], j["grade"]) ==
              (sc, gr), j)
        check("%s: sub-scores" % c, cats(j) == cs, j)
        check("%s: what will change" % c, changes(j) == ch, j)
        check("%s: as of the day of the log time" % c,
              j["as_of"] == "2026-12-04", j)
    j = score(L, s["tax"])
    check("the reason names the leaf, item and points",
          [(r["item"], r["points"], r["percent"]) for r in j["reasons"]] ==
          [("tax.arrears", -110, 100)], j)
    j = score(L, s["tax"], "--as-of", "2029-04-01")
    check("decay at 3 years: -27 (rounded toward zero)",
          (j["score"], j["reasons"][0]["percent"]) == (773, 25), j)
    j = score(L, s["tax"], "--as-of", "2031-03-31")
    check("the last day of the window still counts", j["score"] == 773, j)
    j = score(L, s["tax"], "--as-of", "2031-04-01")
    check("the window's end day no longer counts", j["score"] == 800 and
          j["reasons"] == [], j)
    j = score(L, s["violation"], "--as-of", "2027-06-01")
    check("a decay step after the window changes nothing: not listed",
          j["score"] == 800 and j["changes"] == [], j)
    j = score(L, s["contract"], "--as-of", "2026-01-31")
    check("before its decision day an event does not count",
          j["score"] == 800 and changes(j)[0] == ("2026-02-01", 500, "C"), j)


def test_caps_and_reasons(d):
    L, k = setup(d)
    s = uscc(20)
    # serious-list -300, restriction -200, penalty serious -150: raw -650,
    # capped at -400: 400, grade C.  Reasons by points: -300, -200, -150.
    a = submit(L, k["samr"], ev(s, "violation.penalty", "serious",
                                "2026-06-01", amount=1))
    b = submit(L, k["samr"], ev(s, "violation.serious-list", "serious",
                                "2026-06-01"))
    c = submit(L, k["samr"], ev(s, "violation.samr-restriction", "serious",
                                "2026-06-01"))
    j = score(L, s)
    check("capped", (j["score"], j["grade"]) == (400, "C") and
          j["categories"][5] == {"name": "violation", "points": -400,
                                 "raw": -650}, j)
    check("reasons by points before caps",
          [r["leaf"] for r in j["reasons"]] == [b, c, a] and
          [r["points"] for r in j["reasons"]] == [-300, -200, -150], j)
    # Equal points: ties by leaf.
    e = submit(L, k["samr"], ev(s, "violation.penalty", "serious",
                                "2026-06-02"))
    j = score(L, s)
    check("ties by leaf", [r["leaf"] for r in j["reasons"]] == [b, c, a, e],
          j)
    # Positive cap: four honours of +30 are 120, capped at 100.
    p = uscc(21)
    for i in range(4):
        submit(L, k["samr"], ev(p, "commendation.honour", "general",
                                "2026-09-0%d" % (i + 1)))
    j = score(L, p)
    check("positive cap", j["score"] == 900 and j["grade"] == "A" and
          cats(j) == {"commendation": 100}, j)
    r = L.t("credit", "score", s, "--data", L.data)
    check("text: the cap shown", b"violation      -400 (capped from -800)"
          in r.out, r)


def test_time_and_size(d):
    L, k = setup(d)
    s, e = uscc(30), uscc(31)
    ent = L.register("ent", e)
    size0 = L.size()
    pen = submit(L, k["samr"], ev(s, "violation.penalty", "general",
                                  "2026-06-01"))
    size1 = L.size()
    amend = submit(L, k["samr"], ev(s, "violation.penalty", "serious",
                                    "2026-06-01", amends=pen,
                                    refs=[ref(L, pen)]))
    size2 = L.size()
    submit(L, k["samr"], {"kind": "credit.revoke", "target": pen,
                          "refs": [ref(L, pen)], "doc": "R-1",
                          "decided": "2026-11-01", "reason": "annulled"})
    size3 = L.size()
    # Each size sees what the ledger knew then.
    j0 = score(L, s, "--size", str(size0))
    j1 = score(L, s, "--size", str(size1))
    j2 = score(L, s, "--size", str(size2))
    j3 = score(L, s, "--size", str(size3))
    check("before the event: the base", j0["score"] == 800, j0)
    check("after it: -50", j1["score"] == 750, j1)
    check("after the amendment: serious, -150 (decided 2026-06-01: rule "
          "ndrc2026 serious max 3y)",
          j2["score"] == 650 and j2["reasons"][0]["current"] == amend and
          j2["reasons"][0]["leaf"] == pen and
          "amended" in j2["reasons"][0]["flags"], j2)
    check("the amended event decays at 1y and 2y and ends at 3y",
          changes(j2) == [("2027-06-01", 725, "B"), ("2028-06-01", 763, "B"),
                          ("2029-06-01", 800, "B")], j2)
    check("after the revocation: as if never", j3["score"] == 800 and
          j3["reasons"] == [] and j3["changes"] == [], j3)
    check("as of a day before the revocation, at the size after it, still "
          "never counted", score(L, s, "--size", str(size3), "--as-of",
                                 "2026-07-01")["score"] == 800)
    check("the change names what happens",
          [c["why"] for c in j2["changes"]] ==
          ["leaf %d counts 50%%" % pen, "leaf %d counts 25%%" % pen,
           "leaf %d leaves its window" % pen], j2)
    check("size used is printed", j1["size"] == size1 and
          j1["asked_size"] == size1, j1)
    # A size inside a batch is rounded down to the commit before it.
    jm = score(L, s, "--size", str(size1 - 1))
    check("size rounded down to a commit", jm["size"] == size0 and
          jm["asked_size"] == size1 - 1 and jm["score"] == 800, jm)
    r = L.t("credit", "score", s, "--data", L.data, "--size",
            str(size1 - 1))
    check("text says so", ("size %d (%d rounded down to a commit)" %
                           (size0, size1 - 1)).encode() in r.out, r)
    check("the checkpoint at the size used",
          jm["checkpoint"].split("\n")[1] == str(size0), jm)
    # As-of dates: the end of that day.
    check("as of the decision day it counts", score(
        L, s, "--size", str(size1), "--as-of", "2026-06-01")["score"] == 750)
    check("as of the day before it does not", score(
        L, s, "--size", str(size1), "--as-of", "2026-05-31")["score"] == 800)
    # An enterprise's own positive fact: 0 until confirmed.
    hon = submit(L, ent, ev(e, "commendation.honour", "general",
                            "2026-09-01"))
    j = score(L, e)
    check("unconfirmed: 0 points", j["score"] == 800 and j["reasons"] == [],
          j)
    r = L.t("credit", "score", e, "--data", L.data)
    check("text notes it", ("note: leaf %d commendation.honour counts 0 "
                            "[unconfirmed]" % hon).encode() in r.out, r)
    submit(L, k["samr"], {"kind": "credit.confirm", "target": hon,
                          "refs": [ref(L, hon)]})
    j = score(L, e)
    check("confirmed: +30 until 2029-09-01", j["score"] == 830 and
          changes(j) == [("2029-09-01", 800, "B")], j)


def test_group_commit(d):
    """Two batches in one commit: a size between them is no commit
    boundary, and rounds down to the commit before both."""
    L, k = setup(d)
    s = uscc(32)
    reg = L.register("samr3", uscc(33), role="regulator",
                     scopes=["credit.violation"])
    before = L.size()
    _, b1 = L.sign(reg, json.dumps({"records": [ev(
        s, "violation.penalty", "general", "2026-06-01")]}), name="g1",
        seq=1)
    _, b2 = L.sign(reg, json.dumps({"records": [ev(
        s, "violation.penalty", "light", "2026-11-01")]}), name="g2", seq=2)
    must("one commit of two batches", L.submit(b1, b2))
    after = L.size()
    check("two batches of two leaves", after == before + 4, (before, after))
    for n in (before + 1, before + 2, before + 3):
        j = score(L, s, "--size", str(n))
        check("size %d rounds down to %d" % (n, before),
              j["size"] == before and j["score"] == 800, j)
    j = score(L, s)
    check("the whole commit: -50 and -10", j["size"] == after and
          j["score"] == 740, j)


def test_public(d):
    L, k = setup(d)
    s = uscc(40)
    pen = submit(L, k["samr"], ev(s, "violation.penalty", "general",
                                  "2026-06-01"))
    submit(L, k["bank"], ev(s, "loan.overdue", "general", "2026-03-01",
                            details={"lender": uscc(5)}))
    submit(L, k["samr"], ev(s, "violation.samr-warning", "light",
                            "2026-11-01"))
    j = score(L, s)
    check("full: penalty and loan", j["score"] == 650 and j["grade"] == "C",
          j)
    r = must("public", L.t("credit", "public", s, "--data", L.data,
                           "--json"))
    p = json.loads(r.out)
    check("public grade: the public scorecard, public items only",
          p["public_grade"]["score"] == 750 and
          p["public_grade"]["grade"] == "B", p)
    check("published: the penalty, until its window ends",
          [(i["leaf"], i["item"], i["public_ends"]) for i in p["items"]] ==
          [(pen, "violation.penalty", "2027-06-01")], p)
    r = must("public as text", L.t("credit", "public", s, "--data", L.data))
    check("text: when it stops", ("leaf %d violation.penalty general by %s,"
                                  " decided 2026-06-01, no longer public "
                                  "from 2027-06-01" % (pen, uscc(2))
                                  ).encode() in r.out, r)
    p = json.loads(L.t("credit", "public", s, "--data", L.data, "--json",
                       "--as-of", "2027-06-01").out)
    check("publicity expires by time", p["items"] == [] and
          p["public_grade"]["score"] == 800, p)
    must("score --public? no: public is its own command",
         L.t("credit", "score", s, "--data", L.data, "--public"), 2)


def test_public_without_scorecard(d):
    L, k = setup(d, public=False)
    s = uscc(41)
    submit(L, k["samr"], ev(s, "violation.penalty", "general", "2026-06-01"))
    r = must("public", L.t("credit", "public", s, "--data", L.data))
    check("no public grade without a public scorecard",
          b"public grade: none (no public scorecard is adopted)" in r.out
          and b"violation.penalty" in r.out, r)


def test_list(d):
    L, k = setup(d)
    a, b, c = uscc(50), uscc(51), uscc(52)
    submit(L, k["court"], ev(a, "contract.dishonest-debtor", "serious",
                             "2026-02-01"))
    submit(L, k["samr"], ev(b, "quality.sampling-failure", "general",
                            "2026-07-01"))
    q = submit(L, k["samr"], ev(c, "quality.sampling-failure", "general",
                                "2026-10-01"))
    r = must("list --grade C", L.t("credit", "list", "--grade", "C",
                                   "--data", L.data))
    lines = r.out.decode().strip().split("\n")
    check("grade C: the dishonest debtor only",
          lines[1:] == ["%s 500 C" % a], r)
    j = json.loads(must("list --grade B", L.t(
        "credit", "list", "--grade", "B", "--data", L.data, "--json")).out)
    check("grade B, in USCC order", [x["subject"] for x in j["items"]] ==
          sorted([b, c]), j)
    r = must("list --category", L.t("credit", "list", "--category",
                                    "quality", "--since", "2026-08-01",
                                    "--data", L.data))
    check("quality since 2026-08-01",
          r.out.decode().strip().split("\n")[1:] ==
          ["%s leaf %d quality.sampling-failure general decided 2026-10-01 "
           "by %s" % (c, q, uscc(2))], r)
    j = json.loads(L.t("credit", "list", "--grade", "C", "--data", L.data,
                       "--json", "--as-of", "2031-02-01").out)
    check("as of a later day the debtor is off the list", j["items"] == [],
          j)
    for args, msg in ((["--grade", "C", "--category", "tax"],
                       "give only one of"),
                      ([], "list needs --grade or --category"),
                      (["--grade", "C", "--since", "2026-01-01"],
                       "--since goes with --category")):
        r = L.t("credit", "list", "--data", L.data, *args)
        check("usage: %s" % msg, r.rc == 2 and msg in r.err, r)


def test_determinism_and_golden(d):
    L, k = setup(d)
    s = uscc(60)
    pen = submit(L, k["samr"], ev(s, "violation.penalty", "general",
                                  "2026-06-01"))
    tax = submit(L, k["tax"], ev(s, "tax.arrears", "general", "2026-03-01",
                                 "2026-01-31", ended="2026-04-01"))
    outs = [L.t("credit", "score", s, "--data", L.data).out for _ in (0, 1)]
    outs += [L.t("credit", "score", s, "--data", L.data, "--json").out
             for _ in (0, 1)]
    check("same inputs, same bytes (text)", outs[0] == outs[1], outs)
    check("same inputs, same bytes (json)", outs[2] == outs[3], outs)
    size = L.size()
    # A later write does not change the answer at the earlier size.
    submit(L, k["samr"], ev(s, "violation.penalty", "light", "2026-11-01"))
    later = L.t("credit", "score", s, "--data", L.data, "--size",
                str(size)).out
    check("a later write leaves the earlier size's answer", later == outs[0],
          (later, outs[0]))
    ck = L.t("ledger", "checkpoint", "--data", L.data).out
    del ck
    head = outs[0].decode().split("\n")
    want = [
        "subject " + s,
        "size %d" % size,
        "as of 2026-12-04 (end of day, Asia/Shanghai)",
        head[3],
        "catalogue version 1 (leaf 2)",
        "scorecard version 1 (leaf 4)",
        "score 640 grade C (base 800)",
        "categories:",
        "  loan           0",
        "  tax            -110",
        "  contract       0",
        "  quality        0",
        "  insurance      0",
        "  violation      -50",
        "  commendation   0",
        "  redlist        0",
        "reasons (2 of 2 counting items):",
        "  leaf %d tax.arrears general -110" % tax,
        "  leaf %d violation.penalty general -50" % pen,
        "queries 0",
        "what will change without any action:",
        "  2027-04-01 score 695 grade C: leaf %d counts 50%%" % tax,
        "  2027-06-01 score 745 grade B: leaf %d leaves its window" % pen,
        "  2029-04-01 score 773 grade B: leaf %d counts 25%%" % tax,
        "  2031-04-01 score 800 grade B: leaf %d leaves its window" % tax,
        "",
    ]
    check("the whole text output", head == want,
          "\n".join("%r %r" % x for x in zip(head, want) if x[0] != x[1]))
    check("the checkpoint line: origin, size, root",
          head[3].startswith("checkpoint example.test/log1 %d " % size),
          head[3])


def test_refusals(d):
    L, k = setup(d)
    s = uscc(70)
    refused(L, "an invalid USCC", lambda: L.t(
        "credit", "score", s[:17] + ("0" if s[17] != "0" else "1"),
        "--data", L.data), ["invalid USCC"])
    refused(L, "a size past the ledger", lambda: L.t(
        "credit", "score", s, "--data", L.data, "--size", "9999"),
        ["size 9999 is past the ledger's"])
    refused(L, "a bad date", lambda: L.t(
        "credit", "score", s, "--data", L.data, "--as-of", "2026-13-01"),
        ["--as-of must be a date YYYY-MM-DD"], rc=2)
    refused(L, "no USCC", lambda: L.t("credit", "score", "--data", L.data),
            ["score needs one USCC"], rc=2)
    refused(L, "before any scorecard", lambda: L.t(
        "credit", "score", s, "--data", L.data, "--size", "3"),
        ["no scorecard is adopted in the first 3 leaves"])
    refused(L, "before any catalogue", lambda: L.t(
        "credit", "score", s, "--data", L.data, "--size", "1"),
        ["no catalogue is adopted in the first 1 leaves"])
    refused(L, "list options on score", lambda: L.t(
        "credit", "score", s, "--data", L.data, "--grade", "A"),
        ["--grade, --category and --since are for list"], rc=2)


run_tests([test_each_category, test_caps_and_reasons, test_time_and_size,
           test_group_commit,
           test_public, test_public_without_scorecard, test_list,
           test_determinism_and_golden, test_refusals])
