#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/integration/test_credit.py -- tally credit on real ledgers: the
# operator adopts the default catalogue and scorecards (credit/data/), show
# gives them back at each size, and every refusal (a key that is not the
# operator's, a file that does not parse, a scorecard naming unknown items
# or adopted before any catalogue, a version not newer) prints its reason,
# exits 1 and changes nothing.  Reindex rebuilds the index.
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Ledger, check, must, refused, run_tests,  # noqa: E402
                     uscc)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
DATA = os.path.join(ROOT, "credit", "data")
CAT = os.path.join(DATA, "default.catalogue")
SC = os.path.join(DATA, "default.scorecard")
PUB = os.path.join(DATA, "public.scorecard")
VERIFY = os.path.join(ROOT, "tests", "outside", "verify.py")


def read(p):
    with open(p, "rb") as f:
        return f.read()


def adopt(L, what, path, key=None):
    return L.t("credit", what, "adopt", path, "--data", L.data, "--key",
               key or L.op)


def show(L, what, *extra):
    return L.t("credit", what, "show", "--data", L.data, *extra)


def bump(path, version, L, name):
    """path's text with its version line set to version, as a new file."""
    t = read(path).replace(b"\nversion 1\n", b"\nversion %d\n" % version, 1)
    return L.write(name, t)


def test_adopt_and_show(d):
    L = Ledger(d)
    r = must("adopt the default catalogue", adopt(L, "catalogue", CAT))
    check("a receipt", b"accepted" in r.out, r)
    size_cat = L.size()
    must("adopt the default scorecard", adopt(L, "scorecard", SC))
    r = show(L, "scorecard", "--public")
    check("no public scorecard yet: the full one is not it",
          r.rc == 1 and "no public scorecard is adopted" in r.err, r)
    must("adopt the public scorecard", adopt(L, "scorecard", PUB))
    j = json.loads(must("show the catalogue", show(L, "catalogue",
                                                    "--json")).out)
    check("catalogue version and date",
          (j["version"], j["effective"]) == (1, "2026-01-01"), j)
    check("stored text is canonical: no comments",
          "#" not in j["text"] and j["text"].startswith(
              "format tally-credit-catalogue 1\nversion 1\n"), j)
    r = must("show the catalogue as text", show(L, "catalogue"))
    lines = r.out.split(b"\n")
    check("text show: comment lines, then the canonical text",
          lines[0].startswith(b"# catalogue version 1, effective "
                              b"2026-01-01, adopted at leaf ") and
          lines[1].startswith(b"# sha256 ") and
          b"\n".join(lines[2:]) == j["text"].encode(), r)
    full = json.loads(must("show the scorecard", show(L, "scorecard",
                                                      "--json")).out)
    pub = json.loads(must("show the public scorecard", show(
        L, "scorecard", "--public", "--json")).out)
    check("full and public are kept apart",
          "scope full\n" in full["text"] and "scope public\n" in pub["text"]
          and pub["leaf"] > full["leaf"], (full, pub))
    # The text show is itself a valid file: adopting it again (with a
    # newer version) works.
    t2 = r.out.replace(b"\nversion 1\n", b"\nversion 2\n", 1)
    must("re-adopt the shown text as version 2",
         adopt(L, "catalogue", L.write("shown.catalogue", t2)))
    j2 = json.loads(show(L, "catalogue", "--json").out)
    check("now version 2", j2["version"] == 2, j2)
    j1 = json.loads(must("show at the earlier size", show(
        L, "catalogue", "--size", str(size_cat), "--json")).out)
    check("the catalogue adopted by then is version 1", j1 == j, (j1, j))
    r = show(L, "catalogue", "--size", "1")
    check("none adopted in the first leaf", r.rc == 1 and
          "no catalogue is adopted in the first 1 leaves" in r.err, r)
    r = show(L, "catalogue", "--size", "999")
    check("a size past the ledger", r.rc == 1 and "past the ledger" in r.err,
          r)
    must("audit", L.audit())
    p = subprocess.run([sys.executable, VERIFY, L.data], capture_output=True,
                       text=True)
    check("the outside verifier accepts the adoptions", p.returncode == 0,
          p.stdout + p.stderr)
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    check("the index is rebuilt the same",
          json.loads(show(L, "catalogue", "--json").out) == j2 and
          json.loads(show(L, "scorecard", "--json").out) == full)


def test_refusals(d):
    L = Ledger(d)
    ent = L.register("ent", uscc(1))
    refused(L, "scorecard before any catalogue",
            lambda: adopt(L, "scorecard", SC),
            ["refused", "no catalogue is adopted yet"])
    refused(L, "an enterprise key", lambda: adopt(L, "catalogue", CAT, ent),
            ["refused", "only the operator adopts a catalogue; this key's "
             "role is enterprise"])
    bad = L.write("bad.catalogue", read(CAT).replace(
        b"category loan negative", b"category loan negativ", 1))
    refused(L, "a catalogue that does not parse",
            lambda: adopt(L, "catalogue", bad),
            ["bad.catalogue: line ", "unknown polarity 'negativ'"])
    must("adopt the catalogue", adopt(L, "catalogue", CAT))
    refused(L, "the same version again", lambda: adopt(L, "catalogue", CAT),
            ["refused", "catalogue version 1 is not newer than version 1"])
    unk = L.write("unk.scorecard", read(SC).replace(
        b"points quality.sampling-failure general -80",
        b"points quality.recall general -80", 1))
    refused(L, "a scorecard naming an unknown item",
            lambda: adopt(L, "scorecard", unk),
            ["refused", "points for 'quality.recall': no such item"])
    must("adopt the scorecard", adopt(L, "scorecard", SC))
    refused(L, "an older scorecard version", lambda: adopt(L, "scorecard",
                                                            SC),
            ["scorecard version 1 is not newer"])
    must("a public scorecard of version 1 still goes in",
         adopt(L, "scorecard", PUB))
    r = L.t("credit", "catalogue", "adopt", CAT, "--data", L.data)
    check("adopt without --key", r.rc == 2 and "missing --key" in r.err, r)
    r = L.t("credit", "catalogue", "adopt", "--data", L.data, "--key", L.op)
    check("adopt without FILE", r.rc == 2 and "needs one FILE" in r.err, r)
    r = L.t("credit", "ledger", "show", "--data", L.data)
    check("an unknown credit command", r.rc == 2 and
          "unknown credit command" in r.err, r)
    r = L.t("credit", "catalogue", "show", "--data", L.data, "--public")
    check("--public on the catalogue", r.rc == 2, r)


def test_help(d):
    L = Ledger(d, init=False)
    for a in (["credit", "--help"], ["credit", "catalogue", "--help"],
              ["credit", "scorecard", "show", "--help"]):
        r = L.t(*a)
        check("%s prints the usage" % " ".join(a), r.rc == 0 and
              r.out.startswith(b"usage: tally credit catalogue adopt"), r)
    r = L.t("credit")
    check("no subcommand: usage on stderr, exit 2",
          r.rc == 2 and r.err.startswith("usage: tally credit"), r)


run_tests([test_adopt_and_show, test_refusals, test_help])
