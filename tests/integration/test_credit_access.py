#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/integration/test_credit_access.py -- the auditor role, the
# working-day calendar and consent on real ledgers: an auditor's write of
# every other kind is refused (message, exit 1, nothing written); the
# operator adopts the calendar, others may not, a file that does not parse
# names its line; an enterprise grants and revokes consent to a bank, and
# every refusal (not an enterprise, not a bank, a past day, a bad purpose,
# a revoke of nothing) says why and writes nothing.
import hashlib
import hmac
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Ledger, at, check, must, refused,  # noqa: E402
                     run_tests, uscc)

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
DATA = os.path.join(ROOT, "credit", "data")
CAT = os.path.join(DATA, "default.catalogue")
SC = os.path.join(DATA, "default.scorecard")
CAL = os.path.join(DATA, "2026.calendar")
VERIFY = os.path.join(ROOT, "tests", "outside", "verify.py")
EXAMPLE = os.path.join(HERE, "..", "vectors", "epcis",
                       "Example_9.6.1-ObjectEvent.jsonld")

ENT = uscc(1)
ENT2 = uscc(2)
BANK = uscc(3)
BANK2 = uscc(4)
REG = uscc(5, "11100000")
AUD = uscc(6)
DRUG = uscc(7, "11100000")
# 2026-03-02T10:00:00+08:00, a Monday.
T0 = 1772416800000
DAY = 86400000
# 2026-09-24T10:00:00+08:00, a Thursday.
T_SEP24 = 1790215200000


def setup(d, env=None):
    L = Ledger(d, env=env)
    keys = {
        "ent": L.register("ent", ENT),
        "ent2": L.register("ent2", ENT2),
        "bank": L.register("bank", BANK, role="bank"),
        "bank2": L.register("bank2", BANK2, role="bank"),
        "reg": L.register("reg", REG, role="regulator",
                          scopes=["market", "credit.tax", "credit.quality",
                                  "credit.violation"]),
        "aud": L.register("aud", AUD, role="auditor"),
        "drug": L.register("drug", DRUG, role="regulator",
                           scopes=["drug"]),
    }
    return L, keys


def credit(L, *a, env=None):
    return L.t("credit", *a, "--data", L.data, env=env)


def test_auditor_writes_nothing(d):
    L, k = setup(d)
    aud = k["aud"]
    r = must("show the auditor", L.t("id", "show", "--data", L.data,
                                     "--uscc", AUD, "--json"))
    check("registered with role auditor",
          json.loads(r.text)["role"] == "auditor", r)
    refused(L, "an auditor's attestation",
            lambda: L.submit_json(aud, json.dumps({"records": [{
                "kind": "attestation", "subject": AUD, "type": "self.x",
                "body": {}}]})),
            ["refused", "role auditor may not write attestations"])
    with open(EXAMPLE) as f:
        doc = json.load(f)
    ev = dict(doc["epcisBody"]["eventList"][0])
    ev["@context"] = doc["@context"]
    text = json.dumps(ev)
    hid = must("trace hash", L.t("trace", "hash",
                                 L.write("ev.json", text))).text.strip()
    refused(L, "an auditor's trace event",
            lambda: L.submit_json(aud, json.dumps({"records": [{
                "kind": "trace.event", "event": text, "id": hid}]})),
            ["refused", "role auditor may not write trace events"])
    for what, path in (("catalogue", CAT), ("calendar", CAL)):
        refused(L, "an auditor adopting a " + what,
                lambda: credit(L, what, "adopt", path, "--key", aud),
                ["refused", "only the operator adopts a %s; this key's "
                 "role is auditor" % what])
    must("the operator adopts the catalogue",
         credit(L, "catalogue", "adopt", CAT, "--key", L.op))
    refused(L, "an auditor adopting a scorecard",
            lambda: credit(L, "scorecard", "adopt", SC, "--key", aud),
            ["refused", "only the operator adopts a scorecard; this "
             "key's role is auditor"])
    refused(L, "an auditor granting consent",
            lambda: credit(L, "consent", "grant", "--key", aud, "--bank",
                           BANK, "--purpose", "loan-approval", "--until",
                           "2099-01-01"),
            ["refused", "only an enterprise grants or revokes consent to "
             "its own report; this key's role is auditor"])
    refused(L, "an auditor's credit event",
            lambda: L.submit_json(aud, json.dumps({"records": [{
                "kind": "credit.event", "subject": ENT,
                "item": "violation.penalty", "severity": "general",
                "doc": "X", "occurred": "2026-01-01",
                "decided": "2026-01-02"}]})),
            ["refused", "role auditor writes no credit events"])
    for what, args, why in (
            ("dispute", ["dispute", "open", "--record", "2",
                         "--statement", "x"],
             "only the subject (an enterprise) opens a dispute; this "
             "key's role is auditor"),
            ("statement", ["statement", "--record", "2", "--text", "x"],
             "only the subject (an enterprise) adds a statement; this "
             "key's role is auditor"),
            ("repair", ["repair", "apply", "--record", "2",
                        "--commitment", "x"],
             "only the subject (an enterprise) applies for credit repair; "
             "this key's role is auditor"),
            ("repair decision", ["repair", "decide", "--application", "2",
                                 "--grant", "--reason", "x"],
             "only a regulator in scope decides on credit repair; this "
             "key's role is auditor")):
        refused(L, "an auditor's " + what,
                lambda: credit(L, *args, "--key", aud), ["refused", why])
    tk = L.path("t.key")
    must("token key", L.t("credit", "token-key", "--out", tk))
    refused(L, "an auditor's token",
            lambda: credit(L, "token", "--key", aud, "--token-key", tk,
                           "--id-number", "11010519491231002X"),
            ["refused", "this key's role is auditor"])
    r = L.t("id", "register", "--data", L.data, "--signer", L.op,
            "--role", "operator", "--name", "x", "--uscc", AUD,
            "--pubkey", L.path("aud.pub"), "--pop", L.path("aud.pop"))
    check("--role lists the auditor", r.rc == 2 and
          "regulator, bank, enterprise or auditor" in r.err, r)


def test_calendar(d):
    L, k = setup(d)
    refused(L, "an enterprise adopting a calendar",
            lambda: credit(L, "calendar", "adopt", CAL, "--key", k["ent"]),
            ["refused", "only the operator adopts a calendar; this key's "
             "role is enterprise"])
    with open(CAL, "rb") as f:
        text = f.read()
    bad = L.write("bad.calendar", text.replace(
        b"holiday 2026-04-06", b"holiday 2026-04-05", 1))
    refused(L, "a holiday on a Sunday",
            lambda: credit(L, "calendar", "adopt", bad, "--key", L.op),
            ["bad.calendar: line ", "2026-04-05 is a Saturday or Sunday"])
    r = credit(L, "calendar", "show")
    check("none adopted yet", r.rc == 1 and
          "no calendar is adopted" in r.err, r)
    must("adopt the 2026 calendar",
         credit(L, "calendar", "adopt", CAL, "--key", L.op))
    refused(L, "the same version again",
            lambda: credit(L, "calendar", "adopt", CAL, "--key", L.op),
            ["refused", "calendar version 1 is not newer than version 1"])
    j = json.loads(must("show", credit(L, "calendar", "show",
                                       "--json")).text)
    check("shown canonical, version 1", j["version"] == 1 and
          j["text"].startswith("format tally-credit-calendar 1\n") and
          "holiday 2026-10-01 国庆节\n" in j["text"] and
          "#" not in j["text"], j)
    must("audit", L.audit())
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    check("the index is rebuilt the same",
          json.loads(credit(L, "calendar", "show", "--json").text) == j)


def test_consent(d):
    env = at(T0)
    L, k = setup(d, env=env)
    r = must("grant", credit(L, "consent", "grant", "--key", k["ent"],
                             "--bank", BANK, "--purpose", "loan-approval",
                             "--until", "2026-06-30", "--json"))
    check("a receipt", json.loads(r.text)["status"] == "accepted", r)
    refused(L, "a bank granting",
            lambda: credit(L, "consent", "grant", "--key", k["bank"],
                           "--bank", BANK2, "--purpose", "loan-approval",
                           "--until", "2026-06-30"),
            ["only an enterprise grants or revokes consent to its own "
             "report; this key's role is bank"])
    refused(L, "a grant to an enterprise",
            lambda: credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", ENT2, "--purpose", "loan-approval",
                           "--until", "2026-06-30"),
            ["credit.consent: %s is not a registered bank" % ENT2])
    refused(L, "a grant to an unregistered code",
            lambda: credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", uscc(99), "--purpose", "post-loan",
                           "--until", "2026-06-30"),
            ["is not a registered bank"])
    refused(L, "a grant ending before today",
            lambda: credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", BANK, "--purpose", "post-loan",
                           "--until", "2026-03-01"),
            ["credit.consent: until is before the log day 2026-03-02"])
    refused(L, "a purpose that is not a code",
            lambda: credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", BANK, "--purpose", "marketing",
                           "--until", "2026-06-30"),
            ["--purpose marketing is not a purpose code"])
    refused(L, "a non-bank purpose",
            lambda: credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", BANK, "--purpose", "self",
                           "--until", "2026-06-30"),
            ["--purpose self is not a purpose code"])
    refused(L, "a bad date",
            lambda: credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", BANK, "--purpose", "post-loan",
                           "--until", "2026-02-30"),
            ["--until 2026-02-30 is not a date YYYY-MM-DD"])
    refused(L, "a bad bank code",
            lambda: credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", BANK[:-1] + "0", "--purpose",
                           "post-loan", "--until", "2026-06-30"),
            ["is not a valid USCC"])
    refused(L, "a revoke of a purpose never granted",
            lambda: credit(L, "consent", "revoke", "--key", k["ent"],
                           "--bank", BANK, "--purpose", "post-loan"),
            ["credit.consent: no consent of %s to %s for post-loan is in "
             "force to revoke" % (ENT, BANK)])
    refused(L, "a revoke to another bank",
            lambda: credit(L, "consent", "revoke", "--key", k["ent"],
                           "--bank", BANK2),
            ["no consent of %s to %s is in force to revoke" % (ENT, BANK2)])
    refused(L, "a revoke by another enterprise",
            lambda: credit(L, "consent", "revoke", "--key", k["ent2"],
                           "--bank", BANK),
            ["no consent of %s to %s is in force" % (ENT2, BANK)])
    must("revoke", credit(L, "consent", "revoke", "--key", k["ent"],
                          "--bank", BANK))
    refused(L, "a second revoke",
            lambda: credit(L, "consent", "revoke", "--key", k["ent"],
                           "--bank", BANK),
            ["no consent of %s to %s is in force to revoke" % (ENT, BANK)])
    r = credit(L, "consent", "grant", "--key", k["ent"], "--bank", BANK)
    check("grant without purpose", r.rc == 2 and "missing --purpose"
          in r.err, r)
    r = credit(L, "audit", "--proofs")
    check("an option another command takes", r.rc == 2 and
          "unknown option --proofs" in r.err, r)
    r = credit(L, "consent", "lend", "--key", k["ent"])
    check("an unknown consent command", r.rc == 2 and
          "unknown credit consent command" in r.err, r)
    must("audit", L.audit())
    p = subprocess.run([sys.executable, VERIFY, L.data], capture_output=True,
                       text=True)
    check("the outside verifier accepts consent records",
          p.returncode == 0, p.stdout + p.stderr)


def report(L, subject, key=None, *extra, env=None, staff="s-1"):
    a = ["report", subject]
    if key is not None:
        a += ["--key", key, "--staff", staff]
    return credit(L, *a, *extra, env=env)


def test_report_access(d):
    L, k = setup(d, env=at(T0))
    r = report(L, ENT, k["reg"])
    check("a regulator before any catalogue: only scope credit counts",
          r.rc == 1 and "is not in scope" in r.err, r)
    must("catalogue", credit(L, "catalogue", "adopt", CAT, "--key", L.op))
    r = submit_attestation(L, k["reg"], ENT)
    rec = r["records"][0]
    refused(L, "a bank without any consent",
            lambda: report(L, ENT, k["bank"], "--purpose", "loan-approval"),
            ["refused: no valid consent for loan-approval: none: %s has "
             "given this bank no consent" % ENT])
    r = report(L, ENT, k["bank"], "--purpose", "loan-approval", "--json")
    check("the refused bank gets the public part, and exit 1",
          r.rc == 1 and json.loads(r.text)["public"]["subject"] == ENT and
          "records" in json.loads(r.text)["public"], r)
    must("grant loan-approval until 2026-03-05",
         credit(L, "consent", "grant", "--key", k["ent"], "--bank", BANK,
                "--purpose", "loan-approval", "--until", "2026-03-05"))
    refused(L, "a bank reading for another purpose",
            lambda: report(L, ENT, k["bank"], "--purpose", "post-loan"),
            ["no valid consent for post-loan: other purpose: %s consents "
             "to this bank only for loan-approval" % ENT])
    refused(L, "another bank",
            lambda: report(L, ENT, k["bank2"], "--purpose",
                           "loan-approval"),
            ["no valid consent for loan-approval: none"])
    j1 = json.loads(must("the bank reads under its consent", report(
        L, ENT, k["bank"], "--purpose", "loan-approval", "--json")).text)
    check("its reader and consent are in the report",
          j1["report"]["reader"]["role"] == "bank" and
          j1["report"]["reader"]["consent"] is not None and
          j1["report"]["records"][0]["leaf"] == rec and
          j1["report"]["since"]["last"] is None, j1)
    q1 = j1["query"]["leaf"]
    refused(L, "the consent expired",
            lambda: report(L, ENT, k["bank"], "--purpose",
                           "loan-approval", env=at(T0 + 4 * DAY)),
            ["no valid consent for loan-approval: expired: the consent "
             "of %s at leaf" % ENT, "ran until 2026-03-05"])
    must("grant again until 2026-12-31",
         credit(L, "consent", "grant", "--key", k["ent"], "--bank", BANK,
                "--purpose", "loan-approval", "--until", "2026-12-31",
                env=at(T0 + 4 * DAY)))
    s2 = submit_attestation(L, k["reg"], ENT, env=at(T0 + 4 * DAY))
    j2 = json.loads(must("read again", report(
        L, ENT, k["bank"], "--purpose", "loan-approval", "--json",
        env=at(T0 + 4 * DAY))).text)
    check("what changed since the bank's last query",
          j2["report"]["since"]["last"] == q1 and
          s2["records"][0] in j2["report"]["since"]["leaves"], j2)
    check("the bank's earlier query is in the list, a lender query",
          [(q["leaf"], q["state"]) for q in j2["report"]["queries"]] ==
          [(q1, "lender query")], j2)
    must("revoke", credit(L, "consent", "revoke", "--key", k["ent"],
                          "--bank", BANK, env=at(T0 + 4 * DAY)))
    refused(L, "the consent revoked",
            lambda: report(L, ENT, k["bank"], "--purpose",
                           "loan-approval", env=at(T0 + 4 * DAY)),
            ["no valid consent for loan-approval: revoked: %s revoked "
             "its consent at leaf" % ENT])
    refused(L, "an enterprise reading another's report",
            lambda: report(L, ENT, k["ent2"], env=at(T0 + 4 * DAY)),
            ["refused: an enterprise reads only its own full report: %s "
             "is not %s" % (ENT, ENT2)])
    refused(L, "an enterprise naming another purpose",
            lambda: report(L, ENT, k["ent"], "--purpose", "audit",
                           env=at(T0 + 4 * DAY)),
            ["an enterprise reads for self, not audit"])
    refused(L, "a regulator out of scope",
            lambda: report(L, ENT, k["drug"], env=at(T0 + 4 * DAY)),
            ["regulator %s is not in scope" % DRUG])
    refused(L, "the operator's key",
            lambda: report(L, ENT, L.op, env=at(T0 + 4 * DAY)),
            ["role operator does not read full reports"])
    r = report(L, ENT, k["reg"], env=at(T0 + 4 * DAY), staff="")
    check("an empty staff ID", r.rc == 1 and "--staff must be 1 to 64"
          in r.err, r)
    e = env = at(T0 + 4 * DAY)
    qs = [q1, j2["query"]["leaf"]]
    for who in ("reg", "aud", "ent"):
        j = json.loads(must("%s reads" % who, report(
            L, ENT, k[who], "--json", env=e)).text)
        qs.append(j["query"]["leaf"])
    mine = json.loads(must("the subject reads its own", report(
        L, ENT, k["ent"], "--json", env=env)).text)
    check("the query list shows every allowed query, and only those",
          [q["leaf"] for q in mine["report"]["queries"]] == qs and
          [q["what"] for q in mine["report"]["queries"]] ==
          ["loan-approval", "loan-approval", "supervision", "audit",
           "self"], mine["report"]["queries"])
    early = json.loads(must("the report at an earlier size", report(
        L, ENT, k["ent"], "--json", "--size", str(rec + 1),
        env=env)).text)["report"]
    check("at that size: the first record only, no queries yet",
          [x["leaf"] for x in early["records"]] == [rec] and
          early["queries"] == [] and early["size"] == rec + 1, early)
    r = must("the credit audit replays every query", credit(L, "audit"))
    check("every query replayed, none bad",
          "queries: %d query records replayed, 0 without access" %
          (len(qs) + 2) in r.text, r)
    must("ledger audit", L.audit())
    p = subprocess.run([sys.executable, VERIFY, L.data], capture_output=True,
                       text=True)
    check("the outside verifier accepts the query records",
          p.returncode == 0, p.stdout + p.stderr)


def test_report_proofs(d):
    L, k = setup(d, env=at(T0))
    submit_attestation(L, k["reg"], ENT)
    r = must("a report with proofs", report(L, ENT, k["aud"], "--json",
                                            "--proofs"))
    j = json.loads(r.text)
    check("a bundle per cited leaf and one for the query record",
          len(j["proofs"]) == 2 and
          j["proofs"][-1]["record"]["index"] == j["query"]["leaf"], j)
    vk = L.write("vkey", must("pubkey", L.t("ledger", "pubkey", "--data",
                                            L.data)).text)
    for i, b in enumerate(j["proofs"]):
        p = L.write("bundle%d.json" % i, json.dumps(b))
        must("bundle %d verifies offline" % i,
             L.t("proof", "record", "--bundle", p, "--vkey", vk))
    local = must("the local read, without --key", report(L, ENT))
    check("says it writes no query record",
          b"no query record" in local.out, local)
    r = report(L, ENT, None, "--proofs")
    check("--proofs without --key", r.rc == 2, r)


def test_disputes(d):
    env = at(T_SEP24)
    L, k = setup(d, env=env)
    must("catalogue", credit(L, "catalogue", "adopt", CAT, "--key", L.op))
    must("calendar", credit(L, "calendar", "adopt", CAL, "--key", L.op))
    rec = submit_attestation(L, k["reg"], ENT)["records"][0]
    refused(L, "a dispute by a non-subject",
            lambda: credit(L, "dispute", "open", "--key", k["ent2"],
                           "--record", str(rec), "--statement", "no"),
            ["credit.dispute: the record at leaf %d is about %s: only its "
             "subject disputes it" % (rec, ENT)])
    refused(L, "a dispute by a bank",
            lambda: credit(L, "dispute", "open", "--key", k["bank"],
                           "--record", str(rec), "--statement", "no"),
            ["only the subject (an enterprise) opens a dispute; this "
             "key's role is bank"])
    refused(L, "a dispute of a leaf that is no credit record",
            lambda: credit(L, "dispute", "open", "--key", k["ent"],
                           "--record", "2", "--statement", "no"),
            ["leaf 2 is a identity record, not a credit record"])
    r = must("open", credit(L, "dispute", "open", "--key", k["ent"],
                            "--record", str(rec), "--statement",
                            "the sample was not ours", "--json"))
    d1 = json.loads(r.text)["records"][0]
    r = must("a repeat on the same grounds", credit(
        L, "dispute", "open", "--key", k["ent"], "--record", str(rec),
        "--statement", "again", "--json"))
    d2 = json.loads(r.text)["records"][0]
    mine = json.loads(report(L, ENT, k["ent"], "--json").text)["report"]
    check("the record is marked by the first dispute, the repeat is not a "
          "new mark",
          mine["records"][0]["state"] ==
          "disputed: open (dispute at leaf %d)" % d1 and
          [x["kind"] for x in mine["disputes"]] ==
          ["dispute open", "dispute open (a repeat: no new mark)"], mine)
    r = must("missing city record", credit(
        L, "dispute", "open", "--key", k["ent"], "--missing",
        "our 2025 tax arrears were paid", "--item", "tax.arrears",
        "--issuer", REG, "--statement", "see receipt", "--json"))
    dm = json.loads(r.text)["records"][0]
    r = must("missing loan record", credit(
        L, "dispute", "open", "--key", k["ent"], "--missing",
        "loan repaid on time", "--item", "loan.overdue", "--issuer", BANK,
        "--statement", "see bank letter", "--json"))
    dl = json.loads(r.text)["records"][0]
    refused(L, "a missing record of no catalogue item",
            lambda: credit(L, "dispute", "open", "--key", k["ent"],
                           "--missing", "x", "--item", "tax.nothing",
                           "--issuer", REG, "--statement", "x"),
            ["no item 'tax.nothing' in catalogue version 1"])
    ls = json.loads(must("list", credit(L, "disputes", "--json")).text)
    by = {x["leaf"]: x for x in ls["disputes"]}
    check("three disputes listed (not the repeat)",
          sorted(by) == sorted([d1, dm, dl]), ls)
    # Opened Thursday 24 September 2026: forward by 2 working days
    # (28, 29 September), decide by 5 (28, 29, 30 September, then 8 and
    # 9 October after Mid-Autumn and National Day); loan data: 20
    # calendar days.
    check("city deadlines on the calendar",
          (by[dm]["regime"], by[dm]["forward_due"], by[dm]["decide_due"])
          == ("city", "2026-09-29", "2026-10-09"), by[dm])
    check("loan data: 20 calendar days, no forward step",
          (by[dl]["regime"], by[dl]["forward_due"], by[dl]["decide_due"])
          == ("credit-reporting", "-", "2026-10-14"), by[dl])
    check("an attestation has no regime", by[d1]["regime"] == "", by[d1])
    od = json.loads(must("overdue on 2026-10-10", credit(
        L, "disputes", "--overdue", "--as-of", "2026-10-10",
        "--json")).text)
    check("only the city one is late on 10 October",
          [x["leaf"] for x in od["disputes"]] == [dm], od)
    od = json.loads(credit(L, "disputes", "--overdue", "--as-of",
                           "2026-10-09", "--json").text)
    check("on its due day it is not late yet", od["disputes"] == [], od)
    refused(L, "a bank resolving a regulator's record",
            lambda: credit(L, "dispute", "resolve", "--key", k["bank"],
                           "--dispute", str(d1), "--outcome", "removed",
                           "--statement", "no"),
            ["only the issuer %s or a regulator in scope for market "
             "resolves the dispute at leaf %d" % (REG, d1)])
    refused(L, "resolving the repeat",
            lambda: credit(L, "dispute", "resolve", "--key", k["reg"],
                           "--dispute", str(d2), "--outcome", "removed",
                           "--statement", "no"),
            ["repeats the one at leaf %d on the same grounds" % d1])
    refused(L, "an escalation out of scope",
            lambda: credit(L, "dispute", "escalate", "--key", k["drug"],
                           "--dispute", str(d1), "--statement", "x"),
            ["regulator %s is not in scope for market" % DRUG])
    refused(L, "an auditor resolving",
            lambda: credit(L, "dispute", "resolve", "--key", k["aud"],
                           "--dispute", str(d1), "--outcome", "removed",
                           "--statement", "no"),
            ["this key's role is auditor"])
    must("the issuer resolves: unresolved", credit(
        L, "dispute", "resolve", "--key", k["reg"], "--dispute", str(d1),
        "--outcome", "unresolved", "--statement", "the sample stands",
        env=at(T_SEP24 + 2 * DAY)))
    refused(L, "a second resolution",
            lambda: credit(L, "dispute", "resolve", "--key", k["reg"],
                           "--dispute", str(d1), "--outcome", "removed",
                           "--statement", "x", env=at(T_SEP24 + 2 * DAY)),
            ["was resolved at leaf"])
    must("the bank resolves the loan one", credit(
        L, "dispute", "resolve", "--key", k["bank"], "--dispute", str(dl),
        "--outcome", "removed", "--statement", "our data is right",
        env=at(T_SEP24 + 2 * DAY)))
    mine = json.loads(report(L, ENT, k["ent"], "--json",
                             env=at(T_SEP24 + 2 * DAY)).text)["report"]
    check("the record shows the decision; both statements kept",
          mine["records"][0]["state"] ==
          "disputed: unresolved (dispute at leaf %d)" % d1 and
          "the sample stands" in [x["text"] for x in mine["disputes"]] and
          "the sample was not ours" in [x["text"] for x in
                                        mine["disputes"]], mine)
    ls = json.loads(credit(L, "disputes", "--json", "--as-of",
                           "2026-10-20").text)
    st = {x["leaf"]: (x["state"], x["late"]) for x in ls["disputes"]}
    check("states on 20 October: the decided ones are not late",
          st == {d1: ("unresolved", False), dm: ("open", True),
                 dl: ("removed", False)}, st)
    refused(L, "a statement about another's record",
            lambda: credit(L, "statement", "--key", k["ent2"], "--record",
                           str(rec), "--text", "x"),
            ["credit.statement: the record at leaf %d is about %s, not "
             "about %s" % (rec, ENT, ENT2)])
    must("a statement", credit(L, "statement", "--key", k["ent"],
                               "--record", str(rec), "--text",
                               "we corrected the line"))
    refused(L, "repair of a record with no catalogue item",
            lambda: credit(L, "repair", "apply", "--key", k["ent"],
                           "--record", str(rec), "--commitment", "x"),
            ["names no catalogue item: nothing to repair"])
    refused(L, "a bank deciding a repair",
            lambda: credit(L, "repair", "decide", "--key", k["bank"],
                           "--application", str(rec), "--grant",
                           "--reason", "x"),
            ["only a regulator in scope decides on credit repair"])
    must("ledger audit", L.audit())
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    check("the dispute list is rebuilt the same",
          json.loads(credit(L, "disputes", "--json", "--as-of",
                            "2026-10-20").text) == ls)
    # Opened Thursday 8 October 2026: forward by 2 working days (Friday
    # 9, then the make-up Saturday 10), decide by 5 (9, 10, 12, 13, 14).
    oct8 = at(T_SEP24 + 14 * DAY)
    r = must("a dispute on 8 October", credit(
        L, "dispute", "open", "--key", k["ent"], "--missing",
        "our 2026 insurance was paid", "--item", "insurance.arrears",
        "--issuer", REG, "--statement", "see receipt", "--json", env=oct8))
    d8 = json.loads(r.text)["records"][0]
    ls = json.loads(credit(L, "disputes", "--json", env=oct8).text)
    x = [x for x in ls["disputes"] if x["leaf"] == d8][0]
    check("the make-up Saturday counts as a working day",
          (x["opened"], x["forward_due"], x["decide_due"]) ==
          ("2026-10-08", "2026-10-10", "2026-10-14"), x)
    r = must("disputes as text", credit(L, "disputes", "--overdue",
                                        "--as-of", "2026-10-15", env=oct8))
    check("text: the overdue ones, one a line, marked",
          r.text.count("OVERDUE") == 2 and
          "leaf %d %s 2026-10-08 missing record grounds missing, regime "
          "city: forward by 2026-10-10, decide by 2026-10-14; open, "
          "OVERDUE" % (d8, ENT) in r.text, r)


def submit_json(L, key, rec, env=None):
    r = L.t("submit", "--data", L.data, "--key", key, "--json",
            L.write("ev.json", json.dumps({"records": [rec]})), env=env)
    must("submit " + rec["kind"], r)
    return json.loads(r.text)["records"][0]


def test_events_repair(d):
    L, k = setup(d, env=at(T0))
    must("catalogue", credit(L, "catalogue", "adopt", CAT, "--key", L.op))
    must("scorecard", credit(L, "scorecard", "adopt", SC, "--key", L.op))
    lender = L.register("lender", uscc(8), role="bank",
                        scopes=["credit.loan"])
    # A general penalty decided 2026-03-01: the rule of 2025-06-22 to
    # 2026-04-01 publishes it 3 months at least, 1 year at most.
    pen = submit_json(L, k["reg"], {
        "kind": "credit.event", "subject": ENT, "item": "violation.penalty",
        "severity": "general", "doc": "SH-2026-1", "occurred": "2026-02-01",
        "decided": "2026-03-01"})
    loan = submit_json(L, lender, {
        "kind": "credit.event", "subject": ENT, "item": "loan.overdue",
        "severity": "general", "doc": "LN-1", "occurred": "2026-02-01",
        "decided": "2026-03-01", "amount": 100000,
        "details": {"lender": uscc(8), "contract_no": "C-9"}})
    pub = json.loads(must("a bank without consent: the public part",
                          report(L, ENT, k["bank"], "--purpose",
                                 "post-loan", "--json"), rc=1).text)["public"]
    check("the public part: the penalty until 2027-03-01; the loan data "
          "is private",
          [(x["leaf"], x["until"]) for x in pub["records"]] ==
          [(pen, "2027-03-01")], pub)
    def violation(j):
        return [c["raw"] for c in j["categories"] if c["name"] ==
                "violation"][0]

    sc0 = json.loads(must("score", credit(L, "score", ENT, "--json")).text)
    check("the penalty counts before the repair", violation(sc0) == -50,
          sc0)
    refused(L, "repair of a final item",
            lambda: credit(L, "repair", "apply", "--key", k["ent"],
                           "--record", str(loan), "--commitment", "x"),
            ["credit.repair: item loan.overdue is not repairable (the "
             "catalogue says final)"])
    refused(L, "repair applied by another enterprise",
            lambda: credit(L, "repair", "apply", "--key", k["ent2"],
                           "--record", str(pen), "--commitment", "x"),
            ["credit.repair: the record at leaf %d is about %s, not about "
             "%s" % (pen, ENT, ENT2)])
    app = json.loads(must("apply", credit(
        L, "repair", "apply", "--key", k["ent"], "--record", str(pen),
        "--commitment", "fine paid, we commit to comply",
        "--json")).text)["records"][0]
    refused(L, "a second application while one is pending",
            lambda: credit(L, "repair", "apply", "--key", k["ent"],
                           "--record", str(pen), "--commitment", "x"),
            ["the application at leaf %d is not decided yet" % app])
    refused(L, "a regulator out of scope deciding",
            lambda: credit(L, "repair", "decide", "--key", k["drug"],
                           "--application", str(app), "--grant",
                           "--reason", "x"),
            ["credit.repair: regulator %s is not in scope for "
             "credit.violation" % DRUG])
    refused(L, "a grant before the minimum period",
            lambda: credit(L, "repair", "decide", "--key", k["reg"],
                           "--application", str(app), "--grant",
                           "--reason", "x"),
            ["the minimum publicity period of the record at leaf %d "
             "(violation.penalty) ends on 2026-06-01: no repair before "
             "it" % pen])
    june = at(T0 + 91 * DAY)  # 2026-06-01
    must("granted on 2026-06-01", credit(
        L, "repair", "decide", "--key", k["reg"], "--application",
        str(app), "--grant", "--reason", "obligations performed",
        env=june))
    refused(L, "a second decision",
            lambda: credit(L, "repair", "decide", "--key", k["reg"],
                           "--application", str(app), "--refuse",
                           "--reason", "x", env=june),
            ["the application at leaf %d was decided at leaf" % app])
    mine = json.loads(must("the subject's report", report(
        L, ENT, k["ent"], "--json", env=june)).text)["report"]
    st = {x["leaf"]: x["state"] for x in mine["records"]}
    check("one record every view follows: repaired in the report",
          st[pen].startswith("repaired from 2026-06-01") and
          st[loan] == "", st)
    before = json.loads(must("as of the day before", report(
        L, ENT, k["ent"], "--json", "--as-of", "2026-05-31",
        env=june)).text)["report"]
    check("a repair applies from its effective date",
          {x["leaf"]: x["state"] for x in before["records"]}[pen] == "",
          before)
    pub = json.loads(credit(L, "report", ENT, "--key", k["bank"],
                            "--staff", "s", "--purpose", "post-loan",
                            "--json", env=june).text)["public"]
    check("and in the public part: no longer published",
          pub["records"] == [], pub)
    sc1 = json.loads(must("score after", credit(L, "score", ENT, "--json",
                                                env=june)).text)
    check("and in the score: the penalty no longer counts",
          violation(sc1) == 0 and sc1["score"] == sc0["score"] + 50,
          (sc0, sc1))
    check("the report carries the same score",
          mine["score"]["score"] == sc1["score"] and
          violation(mine["score"]) == 0, mine["score"])
    sc_may = json.loads(credit(L, "score", ENT, "--json", "--as-of",
                               "2026-05-31", env=june).text)
    check("the score as of the day before still counts it",
          violation(sc_may) == -50, sc_may)
    dsp = json.loads(must("dispute the loan data", credit(
        L, "dispute", "open", "--key", k["ent"], "--record", str(loan),
        "--statement", "repaid on time", "--json", env=june)).text)
    ls = json.loads(credit(L, "disputes", "--json", env=june).text)
    check("a credit event's regime gives the deadline: 20 days",
          [(x["regime"], x["decide_due"]) for x in ls["disputes"]] ==
          [("credit-reporting", "2026-06-21")], ls)
    refused(L, "a regulator resolving loan data out of its scope",
            lambda: credit(L, "dispute", "resolve", "--key", k["reg"],
                           "--dispute", str(dsp["records"][0]),
                           "--outcome", "removed", "--statement", "x",
                           env=june),
            ["only the issuer %s or a regulator in scope for credit.loan"
             % uscc(8)])
    sc2 = json.loads(credit(L, "score", ENT, "--json", env=june).text)
    def loan_raw(j):
        return [c["raw"] for c in j["categories"] if c["name"] == "loan"][0]

    check("the open dispute takes the loan data out of the score (the "
          "default scorecard's policy: exclude)",
          loan_raw(sc1) < 0 and loan_raw(sc2) == 0 and
          sc2["score"] == sc1["score"] - loan_raw(sc1), (sc1, sc2))
    r = must("credit audit", credit(L, "audit", env=june))
    n = int(r.text.split("queries: ")[1].split(" ")[0])
    check("the score counts every query record about the subject",
          n > 0 and sc2["queries"] == n, (n, sc2["queries"]))
    must("ledger audit", L.audit())


def test_correction_notices(d):
    L, k = setup(d, env=at(T0))
    must("catalogue", credit(L, "catalogue", "adopt", CAT, "--key", L.op))
    must("scorecard", credit(L, "scorecard", "adopt", SC, "--key", L.op))
    pen = submit_json(L, k["reg"], {
        "kind": "credit.event", "subject": ENT, "item": "violation.penalty",
        "severity": "general", "doc": "SH-2026-1", "occurred": "2026-02-01",
        "decided": "2026-03-01"})
    must("consent", credit(L, "consent", "grant", "--key", k["ent"],
                           "--bank", BANK, "--purpose", "loan-approval",
                           "--until", "2026-12-31"))
    q = json.loads(must("the bank reads", report(
        L, ENT, k["bank"], "--purpose", "loan-approval",
        "--json")).text)["query"]["leaf"]
    must("the subject reads too", report(L, ENT, k["ent"]))
    h = json.loads(must("prove", L.t("ledger", "prove", "--data", L.data,
                                     "--index", str(pen))).text)
    submit_json(L, k["reg"], {
        "kind": "credit.revoke", "target": pen, "doc": "SH-2026-1-R",
        "decided": "2026-03-02", "reason": "issued in error",
        "refs": [{"index": pen, "hash": h["leaf_hash"]}]})
    r = must("the score after the revocation", credit(L, "score", ENT))
    check("one correction notice, to the bank whose report held it",
          r.text.count("correction notice") == 1 and
          "correction notice: leaf %d was in the report of query leaf %d "
          "to %s" % (pen, q, BANK) in r.text, r)


# 11010519491231002X: the standard's example, check character X.
PERSON = "11010519491231002X"


def test_tokens(d):
    L, k = setup(d, env=at(T0))
    tk = L.path("token.key")
    must("token key", credit_nodata(L, "token-key", "--out", tk))
    check("mode 0600", os.stat(tk).st_mode & 0o777 == 0o600)
    with open(tk) as f:
        key = bytes.fromhex(f.read().strip())
    r = must("a token", credit(L, "token", "--key", k["bank"], "--token-key",
                               tk, "--id-number", PERSON, "--role",
                               "guarantor", "--json"))
    j = json.loads(r.text)
    want = hmac.new(key, b"tally/person/v1\x00" + PERSON.encode(),
                    hashlib.sha256).hexdigest()
    check("the token is HMAC-SHA-256 of the number under the key",
          j["token"] == want, (j, want))
    leaf = must("the logged record", L.t("ledger", "get", "--data", L.data,
                                         "--index", str(j["record"])))
    check("the record holds the token and never the number",
          want in leaf.text and PERSON not in leaf.text and
          PERSON.encode().hex() not in leaf.text, leaf)
    for n, why in (("11010519491231002Y", "is wrong"),
                   ("110105194912310021", "check character of the "
                    "identity number is wrong"),
                   ("11010519491231002x", "lowercase x"),
                   ("11010519490231002X", "not a birth date"),
                   ("1101051949123100", "18 characters, not 16")):
        refused(L, "id number %s" % n,
                lambda: credit(L, "token", "--key", k["bank"],
                               "--token-key", tk, "--id-number", n),
                ["--id-number: ", why])
    refused(L, "an auditor asking for a token",
            lambda: credit(L, "token", "--key", k["aud"], "--token-key", tk,
                           "--id-number", PERSON),
            ["only a writer of credit records (regulator, bank, "
             "enterprise) obtains person tokens; this key's role is "
             "auditor"])
    os.chmod(tk, 0o644)
    refused(L, "a token key others can read",
            lambda: credit(L, "token", "--key", k["bank"], "--token-key",
                           tk, "--id-number", PERSON),
            ["must not be readable by group or others"])


def credit_nodata(L, *a):
    return L.t("credit", *a)


def submit_attestation(L, key, subject, env=None):
    r = L.t("submit", "--data", L.data, "--key", key, "--json",
            L.write("att.json", json.dumps({"records": [{
                "kind": "attestation", "subject": subject,
                "type": "market.inspection", "body": {"result": "fail"}}]})),
            env=env)
    must("attestation about " + subject, r)
    return json.loads(r.text)


run_tests([test_auditor_writes_nothing, test_calendar, test_consent,
           test_report_access, test_report_proofs, test_disputes,
           test_events_repair, test_correction_notices, test_tokens])
