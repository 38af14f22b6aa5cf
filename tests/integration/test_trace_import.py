# SPDX-License-Identifier: MIT
# tests/integration/test_trace_import.py -- tally trace import and export
# through the real binary on real ledgers: every example document imports
# with the hash IDs tally trace hash gives; export then import into a fresh
# ledger gives the same stored events and hash IDs; a document with a bad
# event is refused whole (its position, eventID, reason) and writes
# nothing; a re-run after an interruption sends only what is missing; the
# selections of export; the progress bar only on a terminal.
# Run: python3 tests/integration/test_trace_import.py out/debug/tools/tally

import glob
import json
import os
import pty
import subprocess
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "outside"))
import harness  # noqa: E402
from verify import cbor_decode  # noqa: E402  (an independent decoder)
from harness import Ledger, check, must, refused  # noqa: E402

ENT = "914403001922038216"
ENT2 = "91350100M000100Y43"
HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "vectors", "epcis")
SHARED = os.path.join(HERE, "..", "..", "..", "shared", "epcis-examples")
QUERY = os.path.join(HERE, "..", "vectors", "epcis-hash",
                     "epcisQueryDocument.jsonld")
ONE = os.path.join(VECTORS, "Example_9.6.1-ObjectEvent.jsonld")


def examples():
    docs = sorted(glob.glob(os.path.join(VECTORS, "*.jsonld")))
    shared = sorted(glob.glob(os.path.join(SHARED, "*.jsonld")))
    check("the shared examples are there", len(shared) > 0, SHARED)
    return docs + shared + [QUERY]


def hashes(L, path):
    r = must("trace hash " + os.path.basename(path),
             L.t("trace", "hash", path))
    return r.text.split()


def imp(L, key, path, *extra):
    return L.t("trace", "import", path, "--data", L.data, "--key", key,
               *extra)


def stored(L, first, last):
    """The (event text, hash ID) of each trace.event record in leaves
    first..last, in leaf order."""
    out = []
    for i in range(first, last + 1):
        g = must("get %d" % i, L.t("ledger", "get", "--data", L.data,
                                   "--index", str(i)))
        leaf = json.loads(g.text)
        if "rec" not in leaf:
            continue
        rec = cbor_decode(bytes.fromhex(leaf["rec"]))
        if rec.get("kind") == "trace.event":
            out.append((rec["event"], rec["id"]))
    return out


def summary(r):
    return json.loads(r.text)


def size(L):
    r = must("stats", L.t("ledger", "stats", "--data", L.data, "--json"))
    return json.loads(r.text)["size"]


def shim():
    return os.path.join(os.path.dirname(os.path.dirname(harness.TALLY)),
                        "tests", "crash", "crashshim.so")


def test_examples_import(d):
    """Every example imports; the stored hash IDs are tally trace hash's,
    in document order; each stored event is one JSON object that stands
    alone (with the document's @context) and keeps its extensions."""
    L = Ledger(d)
    ent = L.register("ent", ENT)
    for path in examples():
        name = os.path.basename(path)
        want = hashes(L, path)
        r = must("import " + name, imp(L, ent, path, "--json"))
        s = summary(r)
        if s["added"] == 0:
            # The query document repeats events imported before it.
            check("%s: all duplicates" % name,
                  s["duplicates"] == s["count"] == len(want), r.text)
            continue
        check("%s: every event imported" % name,
              s["count"] == s["added"] == len(want) and
              s["duplicates"] == 0 and s["batches"] == 1, r.text)
        got = stored(L, s["first_leaf"], s["last_leaf"])
        check("%s: the stored hash IDs are trace hash's" % name,
              [h for _, h in got] == want, (got, want))
        with open(path) as f:
            doc = json.load(f)
        evs = doc["epcisBody"].get("eventList") or \
            doc["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
        for (text, _), ev in zip(got, evs):
            j = json.loads(text)
            ctx = j.pop("@context")
            check("%s: the event is stored with the document's @context"
                  % name, ctx == doc["@context"], text[:300])
            check("%s: the event's members are kept, extensions too"
                  % name, j == ev, text[:300])
    must("audit replays the imports", L.audit())


def test_round_trip(d):
    """Export, then import into a fresh ledger: the same stored event
    texts and hash IDs, and the export's trace hash is the originals'."""
    L = Ledger(os.path.join(d, "a"))
    ent = L.register("ent", ENT)
    want = []
    for path in examples():
        want += hashes(L, path)
        must("import", imp(L, ent, path))
    exp = os.path.join(d, "export.jsonld")
    must("export", L.t("trace", "export", "--data", L.data, "--out", exp))
    # The query document's events are duplicates: each hash once.
    uniq = list(dict.fromkeys(want))
    check("the export's hash IDs are the originals'",
          hashes(L, exp) == uniq, (hashes(L, exp), uniq))
    M = Ledger(os.path.join(d, "b"), origin="example.test/log2")
    M.register("ent", ENT)
    # The same key file signs in the second ledger.
    key = M.path("ent.pem")
    r = must("import the export", M.t("trace", "import", exp, "--data",
                                      M.data, "--key", key, "--json"))
    s = summary(r)
    a = stored(L, 0, size(L) - 1)
    b = stored(M, s["first_leaf"], s["last_leaf"])
    check("the same events, byte for byte, and the same hash IDs",
          a == b and len(a) == len(uniq), (len(a), len(b)))
    exp2 = os.path.join(d, "export2.jsonld")
    must("export again", M.t("trace", "export", "--data", M.data, "--out",
                             exp2))
    with open(exp) as f1, open(exp2) as f2:
        one = json.load(f1)["epcisBody"]["eventList"]
        two = json.load(f2)["epcisBody"]["eventList"]
    check("the second export holds the same events", one == two)
    r = M.t("trace", "export", "--data", M.data, "--out", exp2)
    check("export never overwrites", r.rc == 2 and "exists" in r.err, r)


def bad_doc(bad_at=3, n=5, tag=0):
    """A document of n events made from the 9.6.1 example's first, the
    event at position bad_at with a wrong check digit."""
    with open(ONE) as f:
        doc = json.load(f)
    base = doc["epcisBody"]["eventList"][0]
    evs = []
    for i in range(n):
        ev = json.loads(json.dumps(base))
        ev["eventID"] = "urn:uuid:00000000-0000-4000-%04d-%012d" % (
            8000 + tag, i)
        ev["eventTime"] = "2026-01-%02dT00:00:%02d.000Z" % (tag + 1, i)
        if i + 1 == bad_at:
            ev["epcList"][0] = "https://id.gs1.org/01/10614141073465/21/1"
        evs.append(ev)
    doc["epcisBody"]["eventList"] = evs
    return doc


def test_refusals(d):
    L = Ledger(d)
    ent = L.register("ent", ENT)
    bank = L.register("bank", ENT2, role="bank")
    p = L.write("bad.jsonld", json.dumps(bad_doc(), indent=1))
    refused(L, "a bad third event", lambda: imp(L, ent, p),
            ["bad.jsonld: event 3 (urn:uuid:00000000-0000-4000-8000-"
             "000000000002): epcList[0]: GTIN (AI 01): check digit is 5, "
             "want 4", "nothing was written"])
    good = L.write("good.jsonld", json.dumps(bad_doc(bad_at=0)))
    refused(L, "a bank's import", lambda: imp(L, bank, good),
            "role bank may not write trace events; nothing was written")
    stranger = L.keygen("stranger")
    refused(L, "an unregistered key", lambda: imp(L, stranger, good),
            "is not a registered key in this ledger; nothing was written")
    cases = [
        ("truncated.jsonld", '{"type":"EPCISDocument","epcisBody":'
         '{"eventList":[{}', "EPCIS document: the document ends early at "
         "byte 52; nothing was written"),
        ("notepcis.jsonld", '{"type":"Foo","epcisBody":{"eventList":[]}}',
         "not an EPCIS document: its type is not EPCISDocument or "
         "EPCISQueryDocument"),
        ("notype.jsonld", '{"epcisBody":{"eventList":[]}}',
         "not an EPCIS document: it has no type"),
        ("nolist.jsonld", '{"type":"EPCISDocument","epcisBody":{}}',
         "an EPCISDocument has no epcisBody.eventList"),
        ("badjson.jsonld", '{"type":"EPCISDocument","epcisBody":'
         '{"eventList":[{"type":"ObjectEvent",}]}}',
         "event 1: JSON: "),
        ("notobj.jsonld", '{"type":"EPCISDocument","epcisBody":'
         '{"eventList":["x"]}}',
         "an event that is not a JSON object at byte 50"),
        ("twice.jsonld", '{"type":"EPCISDocument","type":"x"}',
         "a member name used twice at byte 24"),
    ]
    for name, text, msg in cases:
        path = L.write(name, text)
        refused(L, name, lambda path=path: imp(L, ent, path), msg)
    # An event larger than a record leaf may be.
    big = bad_doc(bad_at=0, n=1)
    big["epcisBody"]["eventList"][0]["example:myField"] = "x" * 70000
    path = L.write("big.jsonld", json.dumps(big))
    refused(L, "an event too large", lambda: imp(L, ent, path),
            "EPCIS document: event 1 at byte ")
    refused(L, "stdin", lambda: imp(L, ent, "-"),
            "give a file, not stdin", rc=2)
    refused(L, "a bad --batch", lambda: imp(L, ent, good, "--batch", "0"),
            "--batch must be 1 to 10000", rc=2)


def test_state_refusals(d):
    """Refusals that need the log: an eventID another event holds, and an
    error declaration of another enterprise's event."""
    L = Ledger(d)
    ent = L.register("ent", ENT)
    ent2 = L.register("ent2", ENT2)
    doc = bad_doc(bad_at=0, n=2)
    must("import two events", imp(L, ent, L.write("a.jsonld",
                                                  json.dumps(doc))))
    other = bad_doc(bad_at=0, n=3)
    # Event 3 takes event 1's eventID, with other contents.
    other["epcisBody"]["eventList"][2]["eventID"] = \
        doc["epcisBody"]["eventList"][0]["eventID"]
    p = L.write("reuse.jsonld", json.dumps(other))
    refused(L, "an eventID already used", lambda: imp(L, ent, p),
            ["reuse.jsonld: event 3 (urn:uuid:00000000-0000-4000-8000-"
             "000000000000): trace.event: eventID urn:uuid:00000000-0000-"
             "4000-8000-000000000000 is already the eventID of another "
             "event (leaf ", "nothing was written"])
    decl = bad_doc(bad_at=0, n=1)
    ev = decl["epcisBody"]["eventList"][0]
    ev["eventID"] = "urn:uuid:00000000-0000-4000-8000-999999999999"
    ev["errorDeclaration"] = {"declarationTime": "2026-02-01T00:00:00Z",
                              "reason": "incorrect_data"}
    p = L.write("decl.jsonld", json.dumps(decl))
    refused(L, "another enterprise's declaration", lambda: imp(L, ent2, p),
            "or a regulator may declare it an error")
    r = must("its submitter declares it", imp(L, ent, p, "--json"))
    check("the declaration is imported", summary(r)["added"] == 1, r)
    before = L.snapshot()
    r = must("the declaration sent again", imp(L, ent, p, "--json"))
    check("a declaration sent again is a duplicate",
          summary(r)["duplicates"] == 1 and summary(r)["added"] == 0 and
          L.snapshot() == before, r)


def test_resume(d):
    """An import interrupted after its first batch: the re-run sends only
    the rest; a third run writes nothing."""
    L = Ledger(d)
    ent = L.register("ent", ENT)
    doc = bad_doc(bad_at=0, n=7)
    p = L.write("doc.jsonld", json.dumps(doc))
    # Killed at the durable commit of its second batch (batches of 3): the
    # first batch is in, nothing after it.
    n = L.t("trace", "import", p, "--data", L.data, "--key", ent,
            "--batch", "3",
            env={"LD_PRELOAD": shim(),
                 "TALLY_CRASH_COUNT_FILE": L.path("count")})
    must("the counting run", n)
    with open(L.path("count")) as f:
        total = int(f.read())
    # Crash at the first counted call of the second batch's commit:
    # run once more on a fresh ledger and stop halfway through its calls.
    M = Ledger(os.path.join(d, "m"))
    key = M.register("ent", ENT)
    q = M.write("doc.jsonld", json.dumps(doc))
    r = M.t("trace", "import", q, "--data", M.data, "--key", key,
            "--batch", "3",
            env={"LD_PRELOAD": shim(),
                 "TALLY_CRASH_AT": str(total * 2 // 3)})
    check("the import was killed", r.rc != 0, r)
    r = must("the re-run", M.t("trace", "import", q, "--data", M.data,
                               "--key", key, "--batch", "3", "--json"))
    s = summary(r)
    check("the re-run sends what is missing",
          s["count"] == 7 and s["added"] + s["duplicates"] == 7 and
          s["duplicates"] > 0 and s["added"] > 0, r.text)
    before = M.snapshot()
    r = must("a third run", M.t("trace", "import", q, "--data", M.data,
                                "--key", key, "--json"))
    s = summary(r)
    check("a third run finds every event a duplicate and writes nothing",
          s["duplicates"] == 7 and s["added"] == 0 and s["batches"] == 0
          and M.snapshot() == before, r.text)
    must("audit", M.audit())
    # The text summary says so.
    r = must("text summary", M.t("trace", "import", q, "--data", M.data,
                                 "--key", key))
    check("the text summary", r.text.endswith(
        "doc.jsonld: 7 events, 0 imported, 7 duplicates already in the "
        "log; tree size %d\n" % size(M)), r.text)
    # A document repeating an event: the second is a duplicate.
    rep = bad_doc(bad_at=0, n=2)
    rep["epcisBody"]["eventList"].append(rep["epcisBody"]["eventList"][1])
    r = must("a repeated event", imp(L, ent, L.write(
        "rep.jsonld", json.dumps(rep)), "--json"))
    s = summary(r)
    check("a repeat within one batch is a duplicate",
          s["count"] == 3 and s["duplicates"] == 3 - s["added"], r.text)


def test_context_after_body(d):
    """@context after epcisBody: found first, so the events' prefixes are
    declared; the stored events are the ones a document with @context
    first gives."""
    L = Ledger(d)
    ent = L.register("ent", ENT)
    with open(ONE) as f:
        doc = json.load(f)
    late = {"type": doc["type"], "epcisBody": doc["epcisBody"],
            "schemaVersion": "2.0", "creationDate": doc["creationDate"],
            "@context": doc["@context"]}
    p = L.write("late.jsonld", json.dumps(late, indent=2))
    want = hashes(L, ONE)
    r = must("import with @context last", imp(L, ent, p, "--json"))
    s = summary(r)
    got = stored(L, s["first_leaf"], s["last_leaf"])
    check("the hash IDs are those of the document",
          [h for _, h in got] == want, got)
    check("the events carry the late @context",
          all(json.loads(t)["@context"] == doc["@context"] for t, _ in got))


def test_export_selection(d):
    L = Ledger(d)
    ent = L.register("ent", ENT)
    doc = bad_doc(bad_at=0, n=4)
    doc["epcisBody"]["eventList"][3]["epcList"] = [
        "urn:epc:id:sgtin:0614141.107346.2019"]
    s = summary(must("import", imp(L, ent, L.write(
        "a.jsonld", json.dumps(doc)), "--json")))
    size = s["size"]

    def export(*a):
        r = must("export " + " ".join(a),
                 L.t("trace", "export", "--data", L.data, *a))
        return json.loads(r.text), r

    j, r = export()
    check("all four", len(j["epcisBody"]["eventList"]) == 4 and
          j["type"] == "EPCISDocument" and "@context" in j and
          "4 events at tree size %d" % size in r.err, r)
    j, r = export("--id", "https://id.gs1.org/01/10614141073464/21/2019")
    check("one object's events",
          [e["eventID"] for e in j["epcisBody"]["eventList"]] ==
          [doc["epcisBody"]["eventList"][3]["eventID"]], j)
    j, r = export("--from", str(s["first_leaf"] + 1), "--to",
                  str(s["first_leaf"] + 2))
    check("a leaf range", [e["eventID"] for e in j["epcisBody"]["eventList"]]
          == [e["eventID"] for e in doc["epcisBody"]["eventList"][1:3]], j)
    more = bad_doc(bad_at=0, n=6, tag=1)
    must("more", imp(L, ent, L.write("b.jsonld", json.dumps(more))))
    j, r = export("--size", str(size))
    check("as of the earlier size", len(j["epcisBody"]["eventList"]) == 4,
          r)
    for a, msg in [(("--size", "0"), "--size must be 1 to the tree size"),
                   (("--from", "5", "--to", "2"), "is not a leaf range"),
                   (("--id", "urn:epc:id:sgtin:bad"), "--id: ")]:
        r = L.t("trace", "export", "--data", L.data, *a)
        check("export %s refused" % " ".join(a),
              r.rc == 1 and msg in r.err and r.out == b"", r)
    r = L.t("trace", "export", "--data", L.data, "--id", "x:y", "--from",
            "1")
    check("--id with --from is a usage error", r.rc == 2, r)


def test_progress_bar(d):
    """The bar goes to stderr only when stderr is a terminal."""
    L = Ledger(d)
    ent = L.register("ent", ENT)
    p = L.write("a.jsonld", json.dumps(bad_doc(bad_at=0, n=3)))
    r = must("import, stderr a pipe", imp(L, ent, p))
    check("no bar when stderr is not a terminal", r.err == "", r)
    q = L.write("b.jsonld", json.dumps(bad_doc(bad_at=0, n=4)))
    master, slave = pty.openpty()
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    proc = subprocess.run([harness.TALLY, "trace", "import", q, "--data",
                           L.data, "--key", ent], stdout=subprocess.PIPE,
                          stderr=slave, env=e, timeout=60)
    os.close(slave)
    out = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    check("import on a terminal exits 0", proc.returncode == 0, proc)
    check("a bar for each pass on the terminal",
          b"check" in out and b"import" in out and b"4 events" in out and
          b"[####" in out, out)


if __name__ == "__main__":
    harness.run_tests([test_examples_import, test_round_trip, test_refusals,
                       test_state_refusals, test_resume,
                       test_context_after_body, test_export_selection,
                       test_progress_bar])
