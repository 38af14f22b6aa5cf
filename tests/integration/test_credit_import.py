# SPDX-License-Identifier: MIT
# tests/integration/test_credit_import.py -- tally credit import through the
# real binary on real ledgers, at a fixed clock (2026-12-04 in
# Asia/Shanghai): a CSV file of events goes in as credit.event records
# ending with a credit.import manifest (the file's SHA-256, its rows, their
# leaves); every column malformed in turn, and the header's and the file's
# faults, refuse the whole file naming row, line, column and reason, and
# write nothing; a run again writes nothing; a run killed halfway is
# finished by running it again, with one manifest.
# Run: python3 tests/integration/test_credit_import.py out/debug/tools/tally

import hashlib
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "outside"))
import harness  # noqa: E402
from verify import cbor_decode  # noqa: E402  (an independent decoder)
from harness import Ledger, at, check, must, refused, uscc  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
CAT = os.path.join(ROOT, "credit", "data", "default.catalogue")
VERIFY = os.path.join(ROOT, "tests", "outside", "verify.py")
# 2026-12-04 10:00 in Asia/Shanghai (02:00 UTC).
NOW = 1796349600000
ENT = uscc(1)
OTHER = uscc(3)

HEADER = ["subject", "item", "severity", "doc", "occurred", "decided",
          "ended", "until", "amount", "evidence", "amends",
          "detail.legal_basis"]


def row(**kw):
    r = {"subject": ENT, "item": "violation.penalty", "severity": "general",
         "doc": "SHSC-2026-0042", "occurred": "2026-05-01",
         "decided": "2026-06-01", "ended": "", "until": "",
         "amount": "5000000", "evidence": "", "amends": "",
         "detail.legal_basis": "Food Safety Law Art. 124"}
    r.update(kw)
    return r


def csv_text(rows, header=HEADER, eol="\r\n"):
    def q(v):
        if any(c in v for c in ',"\r\n'):
            return '"' + v.replace('"', '""') + '"'
        return v
    lines = [",".join(q(h) for h in header)]
    for r in rows:
        lines.append(",".join(q(r.get(h, "")) for h in header))
    return eol.join(lines) + eol


def setup(d):
    L = Ledger(d, env=at(NOW))
    must("adopt catalogue", L.t("credit", "catalogue", "adopt", CAT,
                                "--data", L.data, "--key", L.op))
    samr = L.register("samr", uscc(2), role="regulator",
                      scopes=["credit.violation", "credit.quality"])
    L.register("ent", ENT)
    return L, samr


def imp(L, key, path, *extra, env=None):
    return L.t("credit", "import", path, "--data", L.data, "--key", key,
               *extra, env=env)


def record(L, i):
    g = must("get %d" % i, L.t("ledger", "get", "--data", L.data,
                               "--index", str(i)))
    leaf = json.loads(g.text)
    return cbor_decode(bytes.fromhex(leaf["rec"])) if "rec" in leaf else None


def size(L):
    r = must("stats", L.t("ledger", "stats", "--data", L.data, "--json"))
    return json.loads(r.text)["size"]


def test_import(d):
    L, samr = setup(d)
    rows = [row(doc="A-1"),
            row(doc="A-2", **{"detail.legal_basis":
                              'Art. 124, "quoted"\r\nsecond line'}),
            row(doc="A-3", subject=OTHER, amount="", ended="2026-07-01")]
    text = csv_text(rows)
    p = L.write("events.csv", text.encode())
    r = must("import", imp(L, samr, p, "--json"))
    s = json.loads(r.text)
    check("three rows imported in one batch and a manifest",
          s["count"] == 3 and s["added"] == 3 and s["duplicates"] == 0 and
          s["batches"] == 2 and s["closing"] > s["hi"], r.text)
    got = [record(L, i) for i in range(s["lo"], s["hi"] + 1)]
    check("the rows are credit.event records, in file order",
          [g["doc"] for g in got] == ["A-1", "A-2", "A-3"] and
          all(g["kind"] == "credit.event" for g in got), got)
    check("a quoted field keeps its comma, quotes and line break",
          got[1]["details"]["legal_basis"] ==
          'Art. 124, "quoted"\r\nsecond line', got[1])
    check("empty cells are absent fields, filled ones are there",
          "amount" not in got[2] and got[2]["ended"] == "2026-07-01" and
          got[0]["amount"] == 5000000 and "ended" not in got[0], got)
    m = record(L, s["closing"])
    check("the manifest names the file, its rows and their leaves",
          m["kind"] == "credit.import" and
          m["sha256"] == hashlib.sha256(text.encode()).digest() and
          m["rows"] == 3 and m["first"] == s["lo"] and
          m["last"] == s["hi"], m)
    must("audit", L.audit())
    v = subprocess.run([sys.executable, VERIFY, L.data],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check("the outside verifier accepts the events and the manifest",
          v.returncode == 0, v.stdout[-400:] + v.stderr[-400:])
    before = L.snapshot()
    r = must("import again", imp(L, samr, p, "--json"))
    s2 = json.loads(r.text)
    check("a second run finds every row and the manifest, writes nothing",
          s2["duplicates"] == 3 and s2["added"] == 0 and
          s2["closing"] == 0 and L.snapshot() == before, r.text)
    r = must("text summary", imp(L, samr, p))
    check("the text summary", r.text == "%s: 3 rows, 0 imported, 3 "
          "duplicates already in the log; tree size %d\n" % (p, size(L)),
          r.text)
    # A file that is only its header: a manifest of no rows.
    e = L.write("empty.csv", csv_text([]))
    r = must("a header only", imp(L, samr, e, "--json"))
    s3 = json.loads(r.text)
    m = record(L, s3["closing"])
    check("no rows: a manifest of 0 rows, leaves 0..0",
          s3["count"] == 0 and m["rows"] == 0 and m["first"] == 0 and
          m["last"] == 0, (r.text, m))


def test_every_column_malformed(d):
    """Each column malformed in turn, in the third row of three: the whole
    file is refused with the row, line, column and reason."""
    L, samr = setup(d)
    cases = [
        ("subject", {"subject": "91350100M000100Y4X"},
         "column 1 (subject): credit.event: subject: "),
        ("item", {"item": "violation.nothing"},
         "column 2 (item): credit.event: item 'violation.nothing' is not "
         "in catalogue version"),
        ("severity", {"severity": "grave"},
         "column 3 (severity): not a severity (light, general or serious)"),
        ("doc", {"doc": ""},
         "column 4 (doc): credit.event: doc must be text of 1..64 bytes"),
        ("doc", {"doc": "x" * 65},
         "column 4 (doc): credit.event: doc must be text of 1..64 bytes"),
        ("occurred", {"occurred": "2026-13-01"},
         "column 5 (occurred): not a date YYYY-MM-DD"),
        ("occurred", {"occurred": ""}, "column 5 (occurred): is required"),
        ("occurred", {"occurred": "2026-06-02"},
         "column 5 (occurred): credit.event: occurred 2026-06-02 is after "
         "decided 2026-06-01"),
        ("decided", {"decided": "1 June"},
         "column 6 (decided): not a date YYYY-MM-DD"),
        ("decided", {"decided": "2026-12-05"},
         "column 6 (decided): credit.event: decided 2026-12-05 is in the "
         "future (the log's date is 2026-12-04)"),
        ("ended", {"ended": "2026/07/01"},
         "column 7 (ended): not a date YYYY-MM-DD"),
        ("ended", {"ended": "2026-12-31"},
         "column 7 (ended): credit.event: ended 2026-12-31 is in the "
         "future"),
        ("until", {"until": "soon"},
         "column 8 (until): not a date YYYY-MM-DD"),
        ("amount", {"amount": "12.50"},
         "column 9 (amount): not an amount in fen (digits, at most 19)"),
        ("amount", {"amount": "-5"},
         "column 9 (amount): not an amount in fen"),
        ("evidence", {"evidence": "3;x"},
         "column 10 (evidence): not leaf indexes separated by ';'"),
        ("evidence", {"evidence": "99999"},
         "column 10 (evidence): leaf 99999 is not in the log"),
        ("amends", {"amends": "first"},
         "column 11 (amends): not a leaf index"),
        ("amends", {"amends": "99999"},
         "column 11 (amends): leaf 99999 is not in the log"),
        ("detail.legal_basis", {"detail.legal_basis": "y" * 241},
         "column 12 (detail.legal_basis): credit.event: details values "
         "must be text of 1..240 bytes"),
    ]
    for col, bad, msg in cases:
        rows = [row(doc="B-1"), row(doc="B-2"), row(**dict({"doc": "B-3"},
                                                          **bad))]
        p = L.write("bad.csv", csv_text(rows))
        refused(L, "%s malformed (%s)" % (col, msg[:30]),
                lambda p=p: imp(L, samr, p),
                ["bad.csv: row 4 (line 4), " + msg, "nothing was written"])
    # Columns the rows cannot have.
    forbidden = HEADER + ["detail.religion"]
    p = L.write("forbid.csv", csv_text([row(**{"detail.religion": "x"})],
                                       header=forbidden))
    refused(L, "a forbidden field", lambda: imp(L, samr, p),
            "row 2 (line 2), column 13 (detail.religion): credit.event: "
            "field religion is forbidden by the catalogue")
    p = L.write("amt.csv", csv_text([row(item="violation.serious-list",
                                         severity="serious")]))
    refused(L, "an amount the item has not", lambda: imp(L, samr, p),
            "row 2 (line 2), column 9 (amount): credit.event: item "
            "violation.serious-list has no amount field")


def test_file_faults(d):
    L, samr = setup(d)
    good = csv_text([row(doc="C-1")])
    cases = [
        ("unknown column", csv_text([row()], header=HEADER + ["colour"]),
         "row 1 (line 1), column 13 (colour): not a column of credit "
         "events"),
        ("missing column", csv_text([row()], header=HEADER[1:]),
         "row 1 (line 1): the header has no column subject"),
        ("a column twice", csv_text([row()], header=HEADER + ["doc"]),
         "row 1 (line 1), column 13 (doc): the column is named twice"),
        ("a short row", good + "x,y\r\n",
         "row 3 (line 3): 2 fields, where the header has 12"),
        ("a stray quote", good + 'a"b\r\n',
         "row 3 (line 3), column 1: a quote inside a field that is not "
         "quoted"),
        ("an open quote", good + '"never closed\r\n',
         "row 3 (line 3), column 1: a quoted field does not end"),
        ("an empty line", good + "\r\n" + good.split("\r\n", 1)[1],
         "row 3 (line 3), column 1: an empty line"),
        ("not UTF-8", good.replace("Food", "F\xffod"),
         "row 2 (line 2), column 12: not UTF-8 text"),
        ("empty file", "", "the file is empty: it needs a header row"),
    ]
    for name, text, msg in cases:
        data = text.encode("latin-1") if "\xff" in text else text.encode()
        p = L.write("f.csv", data)
        refused(L, name, lambda p=p: imp(L, samr, p),
                [msg, "nothing was written"])
    bank = L.register("bank", uscc(5), role="bank", scopes=["credit.loan"])
    p = L.write("g.csv", good)
    refused(L, "a writer without the category's scope",
            lambda: imp(L, bank, p), ["row 2 (line 2): credit.event: ",
                                      "nothing was written"])
    refused(L, "stdin", lambda: imp(L, samr, "-"),
            "give a file, not stdin", rc=2)


def test_resume(d):
    """Killed halfway through its batches, the import is finished by
    running it again: every row once, one manifest over all of them."""
    shim = os.path.join(os.path.dirname(os.path.dirname(harness.TALLY)),
                        "tests", "crash", "crashshim.so")
    rows = [row(doc="R-%d" % i) for i in range(7)]
    text = csv_text(rows, eol="\n")
    L, samr = setup(os.path.join(d, "count"))
    p = L.write("r.csv", text)
    e = at(NOW)
    e.update({"LD_PRELOAD": e["LD_PRELOAD"] + ":" + shim,
              "TALLY_CRASH_COUNT_FILE": L.path("count")})
    must("the counting run", imp(L, samr, p, "--batch", "3", env=e))
    with open(L.path("count")) as f:
        total = int(f.read())
    M, key = setup(os.path.join(d, "m"))
    q = M.write("r.csv", text)
    e = at(NOW)
    e.update({"LD_PRELOAD": e["LD_PRELOAD"] + ":" + shim,
              "TALLY_CRASH_AT": str(total // 2)})
    r = imp(M, key, q, "--batch", "3", env=e)
    check("the import was killed", r.rc != 0, r)
    r = must("the re-run", imp(M, key, q, "--batch", "3", "--json"))
    s = json.loads(r.text)
    check("the re-run sends what is missing",
          s["count"] == 7 and s["added"] + s["duplicates"] == 7 and
          s["duplicates"] > 0 and s["added"] > 0 and s["closing"] > 0,
          r.text)
    docs = []
    manifests = []
    for i in range(size(M)):
        rec = record(M, i)
        if rec and rec.get("kind") == "credit.event":
            docs.append(rec["doc"])
        if rec and rec.get("kind") == "credit.import":
            manifests.append(rec)
    check("every row once, in order", docs == ["R-%d" % i for i in range(7)],
          docs)
    check("one manifest, over every row's leaf",
          len(manifests) == 1 and manifests[0]["rows"] == 7 and
          manifests[0]["first"] == s["lo"] and
          manifests[0]["last"] == s["hi"], manifests)
    must("audit", M.audit())


if __name__ == "__main__":
    harness.run_tests([test_import, test_every_column_malformed,
                       test_file_faults, test_resume])
