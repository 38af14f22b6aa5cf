# SPDX-License-Identifier: MIT
# tests/integration/test_trace.py -- trace.event records through the real
# tally binary: an enterprise's event is accepted and read back as it was
# given; refusals (role, invalid event, wrong hash ID, event not text)
# exit 1 with the reason and change nothing.
# Run: python3 tests/integration/test_trace.py out/debug/tools/tally

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
from harness import Ledger, check, must, refused  # noqa: E402

ENT = "914403001922038216"
BANK = "91350100M000100Y43"
HERE = os.path.dirname(os.path.abspath(__file__))
VERIFY = os.path.join(HERE, "..", "outside", "verify.py")
EXAMPLE = os.path.join(HERE, "..", "vectors", "epcis",
                       "Example_9.6.1-ObjectEvent.jsonld")


def event_text(mutate=None):
    """The example's first event with the document's @context, as JSON
    text (spacing and order as json.dumps writes them)."""
    with open(EXAMPLE) as f:
        doc = json.load(f)
    ev = dict(doc["epcisBody"]["eventList"][0])
    ev["@context"] = doc["@context"]
    if mutate:
        mutate(ev)
    return json.dumps(ev, indent=1)


def hash_id(L, text):
    r = must("trace hash", L.t("trace", "hash", L.write("ev.json", text)))
    return r.text.strip()


def batch(text, hid):
    return json.dumps({"records": [{"kind": "trace.event", "event": text,
                                    "id": hid}]})


def test_accepted(d):
    L = Ledger(d)
    ent = L.register("ent", ENT)
    text = event_text()
    hid = hash_id(L, text)
    r = must("submit an event",
             L.t("submit", "--data", L.data, "--key", ent, "--json",
                 L.write("b.json", batch(text, hid))))
    out = json.loads(r.text)
    idx = out["records"][0]
    g = must("get", L.t("ledger", "get", "--data", L.data, "--index",
                        str(idx)))
    leaf = json.loads(g.text)
    rec = cbor_decode(bytes.fromhex(leaf["rec"]))
    check("the event comes back as given, byte for byte",
          rec.get("event") == text and rec.get("kind") == "trace.event"
          and rec.get("id") == hid, g.text[:400])
    must("audit replays it", L.audit())
    v = subprocess.run([sys.executable, VERIFY, L.data],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    check("the outside verifier accepts it", v.returncode == 0,
          v.stdout[-400:] + v.stderr[-400:])


def test_refusals(d):
    L = Ledger(d)
    ent = L.register("ent", ENT)
    bank = L.register("bank", BANK, role="bank")
    text = event_text()
    hid = hash_id(L, text)
    refused(L, "a bank's event",
            lambda: L.submit_json(bank, batch(text, hid)),
            "role bank may not write trace events")

    def bad_digit(ev):
        ev["epcList"][0] = "https://id.gs1.org/01/10614141073465/21/1"
    bad = event_text(bad_digit)
    refused(L, "a wrong check digit",
            lambda: L.submit_json(ent, batch(bad, hid)),
            "record 0: event (ni:///sha-256;")
    refused(L, "a wrong check digit (the field)",
            lambda: L.submit_json(ent, batch(bad, hid)),
            "epcList[0]: GTIN (AI 01): check digit is 5, want 4")

    def no_parent(ev):
        ev["type"] = "AggregationEvent"
        ev["childEPCs"] = ev.pop("epcList")
        ev["action"] = "ADD"
        ev.pop("example:myField", None)
    refused(L, "an aggregation without parent",
            lambda: L.submit_json(ent, batch(event_text(no_parent), hid)),
            "parentID is missing (an AggregationEvent with action ADD "
            "needs one)")
    refused(L, "a wrong hash ID",
            lambda: L.submit_json(ent, batch(text, "ni:///sha-256;00")),
            "trace.event: id is not the event's hash ID")
    refused(L, "an event that is not JSON",
            lambda: L.submit_json(ent, batch("{\"type\":", hid)),
            "trace.event: event: JSON")
    refused(L, "an event as an object, not text",
            lambda: L.submit_json(ent, json.dumps({"records": [{
                "kind": "trace.event", "event": {"type": "ObjectEvent"},
                "id": hid}]})),
            "trace.event: event must be text (the event's JSON as a "
            "string)")
    refused(L, "an id that is not text",
            lambda: L.submit_json(ent, json.dumps({"records": [{
                "kind": "trace.event", "event": text, "id": 7}]})),
            "trace.event: id must be text (the event's hash ID)")
    refused(L, "an event without id",
            lambda: L.submit_json(ent, json.dumps({"records": [{
                "kind": "trace.event", "event": text}]})),
            "id")


def test_indexes_reindex_audit(d):
    """The trace indexes of format.md 10.2 through the real binary: two
    events on one object, in URN and Digital Link forms, give two
    trace_obj entries and two trace_hash keys; reindex rebuilds them and
    audit compares them with a rebuild."""
    L = Ledger(d)
    ent = L.register("ent", ENT)

    def urn_later(ev):
        ev["epcList"] = ["urn:epc:id:sgtin:0614141.107346.2017"]
        ev["eventTime"] = "2026-01-02T00:00:00Z"
        ev.pop("example:myField", None)
        ev.pop("eventID", None)

    def dl_earlier(ev):
        ev["epcList"] = ["https://id.gs1.org/01/10614141073464/21/2017"]
        ev["eventTime"] = "2026-01-01T00:00:00Z"
        ev.pop("example:myField", None)
        ev.pop("eventID", None)
    for i, m in enumerate((urn_later, dl_earlier)):
        text = event_text(m)
        must("submit event %d" % i,
             L.submit_json(ent, batch(text, hash_id(L, text)),
                           name="b%d.json" % i))

    def dbs():
        r = must("stats", L.t("ledger", "stats", "--data", L.data,
                              "--json"))
        return json.loads(r.text)["dbs"]
    before = dbs()
    check("one object key per event, one hash ID each",
          before.get("trace_obj") == 2 and before.get("trace_hash") == 2,
          str(before))
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    check("reindex rebuilds the same counts", dbs() == before,
          str(dbs()))

    def hist(i, form):
        r = must("history", L.t("trace", "history", "--data", L.data,
                                "--json", "--id-form", form, i))
        return json.loads(r.text)
    a = hist("urn:epc:id:sgtin:0614141.107346.2017", "urn")
    b = hist("https://example.com/01/10614141073464/21/2017", "dl")
    check("URN and Digital Link forms give one history",
          a["events"] == b["events"] and len(a["events"]) == 2 and
          a["id"] == "urn:epc:id:sgtin:0614141.107346.2017" and
          b["id"] == "https://id.gs1.org/01/10614141073464/21/2017", (a, b))
    check("in time order: the late-arriving earlier event first",
          [e["time"] for e in a["events"]] ==
          ["2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"] and
          a["events"][0]["leaf"] > a["events"][1]["leaf"], a)
    refused(L, "history of a malformed ID",
            lambda: L.t("trace", "history", "--data", L.data,
                        "https://id.gs1.org/01/10614141073465/21/1"),
            "ID: GTIN (AI 01): check digit is 5, want 4")
    r = must("audit compares the trace indexes too", L.audit())
    # Every database but checkpoints and meta, the trace ones included.
    want = "databases: %d compared with a rebuild" % (len(before) - 2)
    check("audit compared every database", want in r.text, r.text)


def test_duplicates_and_declarations(d):
    """docs/trace.md 4.1 through the real binary: a duplicate is refused
    naming the first capture's leaf; an eventID reused for another event
    is refused; an error declaration by the original's submitter is
    accepted, by another enterprise refused; each refusal writes
    nothing; reindex and audit pass with the declaration."""
    L = Ledger(d)
    ent = L.register("ent", ENT)
    other = L.register("other", "91350100M000100Y43")

    def with_id(ev):
        ev["eventID"] = "urn:uuid:1"
    text = event_text(with_id)
    hid = hash_id(L, text)
    r = must("first capture", L.t("submit", "--data", L.data, "--key", ent,
                                  "--json", L.write("b.json",
                                                    batch(text, hid))))
    first = json.loads(r.text)["records"][0]
    refused(L, "a duplicate", lambda: L.submit_json(ent, batch(text, hid)),
            "a duplicate: the event with hash ID %s is already captured "
            "at leaf %d" % (hid, first))

    def reused(ev):
        ev["eventID"] = "urn:uuid:1"
        ev["eventTime"] = "2026-01-05T00:00:00Z"
    t2 = event_text(reused)
    refused(L, "an eventID reused",
            lambda: L.submit_json(ent, batch(t2, hash_id(L, t2))),
            "eventID urn:uuid:1 is already the eventID of another event "
            "(leaf %d, hash ID %s)" % (first, hid))

    def declared(ev):
        with_id(ev)
        ev["errorDeclaration"] = {
            "declarationTime": "2026-01-06T00:00:00Z",
            "reason": "incorrect_data",
            "correctiveEventIDs": ["urn:uuid:2"]}
    t3 = event_text(declared)
    check("a declaration hashes as its original", hash_id(L, t3) == hid)
    refused(L, "a declaration by another enterprise",
            lambda: L.submit_json(other, batch(t3, hid)),
            "only the submitter of the event at leaf %d (%s) or a "
            "regulator may declare it an error" % (first, ENT))
    must("a declaration by the submitter",
         L.submit_json(ent, batch(t3, hid), name="d.json"))
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    must("audit", L.audit())
    r = must("declaration leaf", L.t("submit", "--data", L.data, "--key",
                                     ent, "--json",
                                     L.write("d2.json", batch(t3, hid))))
    decl2 = json.loads(r.text)["records"][0]
    h = must("history", L.t("trace", "history", "--data", L.data,
                            "urn:epc:id:sgtin:0614141.107346.2017"))
    lines = h.text.splitlines()
    check("history names the object and the tree size",
          lines[0] == "history of https://id.gs1.org/01/10614141073464/21/"
          "2017 at tree size %d: 1 event" % L.size(), h.text)
    check("the original, once, with its eventID and hash ID",
          lines[1].startswith("leaf %d 2005-04-04T02:33:31.116Z ObjectEvent "
                              "OBSERVE bizStep shipping" % first)
          and "eventID urn:uuid:1 hashID %s" % hid in lines[1], h.text)
    check("marked by both declarations",
          lines[2:] == ["  declared an error at leaf %d: "
                        "2026-01-06T00:00:00.000Z reason incorrect_data "
                        "corrective urn:uuid:2" % x
                        for x in (first + 2, decl2)], h.text)
    j = json.loads(must("history --json", L.t(
        "trace", "history", "--data", L.data, "--json",
        "https://id.gs1.org/01/10614141073464/21/2017")).text)
    ev = j["events"][0]
    check("JSON: one event, its declarations",
          len(j["events"]) == 1 and j["size"] == L.size() and
          ev["leaf"] == first and ev["hashID"] == hid and
          ev["eventID"] == "urn:uuid:1" and
          [x["leaf"] for x in ev["declared"]] == [first + 2, decl2] and
          ev["declared"][0]["reason"] == "incorrect_data" and
          ev["declared"][0]["corrective"] == ["urn:uuid:2"], j)


if __name__ == "__main__":
    harness.run_tests([test_accepted, test_refusals,
                       test_indexes_reindex_audit,
                       test_duplicates_and_declarations])
