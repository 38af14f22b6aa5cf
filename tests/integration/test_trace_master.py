# SPDX-License-Identifier: MIT
# tests/integration/test_trace_master.py -- trace's master data through the
# real tally binary on real ledgers, with several parties: a regulator
# registers a brand owner's company prefix and GLN, a contract
# manufacturer commissions under the brand's prefix by delegation, a third
# party is refused commissioning there and its event at the brand's GLN is
# stored as a third-party claim, unregistered codes stand "unconfirmed";
# names from the CLI and from an EPCIS document's epcisHeader; every
# refusal exits 1 with its reason and changes nothing.
# Run: python3 tests/integration/test_trace_master.py out/debug/tools/tally

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, check, must, refused, uscc  # noqa: E402

REG = uscc(11, "11440300")     # market regulator, scope trace.master
REG2 = uscc(12, "11440300")    # a regulator without it
BRAND = uscc(21)               # brand owner, prefix 0614141
CM = uscc(22)                  # contract manufacturer
THIRD = uscc(23)               # another enterprise
INSP = uscc(24)                # an inspection body (scope trace.inspection)
BANK = uscc(25, "91350100")
UNREG = uscc(26)               # never registered
PREFIX = "0614141"
HERE = os.path.dirname(os.path.abspath(__file__))


def gs1_check(digits):
    s = sum(int(c) * (3 if i % 2 == 0 else 1)
            for i, c in enumerate(reversed(digits)))
    return str((10 - s % 10) % 10)


def gln(prefix, loc):
    body = prefix + loc
    return body + gs1_check(body)


BRAND_GLN = gln(PREFIX, "00001")        # 0614141000012-like
CM_GLN = gln("0712345", "00001")
THIRD_GLN = gln("0812345", "00001")


def sgln(prefix, loc):
    return "urn:epc:id:sgln:%s.%s.0" % (prefix, loc)


def sgtin(prefix, item, serial):
    return "urn:epc:id:sgtin:%s.%s.%s" % (prefix, item, serial)


def event(epcs, step="commissioning", action="ADD", where=None,
          disposition="active", eid=None, when="2026-11-01T08:00:00+08:00",
          etype="ObjectEvent", extra=None):
    ev = {"type": etype, "eventTime": when, "eventTimeZoneOffset": "+08:00"}
    if etype == "TransformationEvent":
        ev["inputEPCList"] = epcs[0]
        ev["outputEPCList"] = epcs[1]
    else:
        ev["epcList"] = epcs
        ev["action"] = action
    if step:
        ev["bizStep"] = step
    if disposition:
        ev["disposition"] = disposition
    if where:
        ev["readPoint"] = {"id": where}
        ev["bizLocation"] = {"id": where}
    if eid:
        ev["eventID"] = eid
    if extra:
        ev.update(extra)
    return ev


def doc(events, header=None):
    d = {"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/"
                      "epcis-context.jsonld"],
         "type": "EPCISDocument", "schemaVersion": "2.0",
         "creationDate": "2026-11-01T00:00:00Z",
         "epcisBody": {"eventList": events}}
    if header is not None:
        d["epcisHeader"] = header
    return json.dumps(d, indent=1)


def imp(L, key, events, name="doc.jsonld", header=None, *extra):
    return L.t("trace", "import", L.write(name, doc(events, header)),
               "--data", L.data, "--key", key, *extra)


def submit_event(L, key, ev, name="b.json"):
    """The event as one trace.event record of a JSON batch (tally submit:
    the ledger's own checks, without import's first pass)."""
    text = json.dumps(ev)
    h = must("hash", L.t("trace", "hash", L.write("ev.json", text)))
    b = json.dumps({"records": [{"kind": "trace.event", "event": text,
                                 "id": h.text.strip()}]})
    return L.t("submit", "--data", L.data, "--key", key,
               L.write(name, b))


def master(L, key, *args):
    return L.t("trace", *args, "--data", L.data, "--key", key)


def parties(L, *args):
    r = must("parties", L.t("trace", "parties", *args, "--data", L.data,
                            "--json"))
    return json.loads(r.text)


def history(L, ident):
    r = must("history " + ident, L.t("trace", "history", ident, "--data",
                                     L.data, "--json"))
    return json.loads(r.text)["events"]


def fixture(d):
    """A ledger with the parties; the brand's prefix and GLN registered,
    the contract manufacturer's GLN registered, a delegation to it."""
    L = Ledger(d)
    k = {"reg": L.register("reg", REG, "regulator", ["trace.master"]),
         "reg2": L.register("reg2", REG2, "regulator", ["market"]),
         "brand": L.register("brand", BRAND),
         "cm": L.register("cm", CM),
         "third": L.register("third", THIRD),
         "insp": L.register("insp", INSP, "enterprise",
                            ["trace.inspection"]),
         "bank": L.register("bank", BANK, "bank")}
    must("bind the brand's prefix",
         master(L, k["reg"], "bind", PREFIX, "--owner", BRAND))
    must("bind the manufacturer's GLN",
         master(L, k["reg"], "bind", CM_GLN, "--owner", CM))
    must("bind the third party's GLN",
         master(L, k["reg"], "bind", THIRD_GLN, "--owner", THIRD))
    must("delegate to the manufacturer",
         master(L, k["brand"], "delegate", PREFIX, "--to", CM))
    return L, k


def test_records_and_refusals(d):
    L, k = fixture(d)
    p = parties(L)
    b = {x["key"]: x for x in p["bindings"]}
    check("the prefix is registered to the brand, delegated to the "
          "manufacturer",
          b[PREFIX]["owner"] == BRAND and
          b[PREFIX]["status"] == "registered" and
          b[PREFIX]["delegates"] == [CM] and b[PREFIX]["type"] == "prefix",
          p)
    check("the GLNs are registered", b[CM_GLN]["owner"] == CM and
          b[CM_GLN]["type"] == "gln" and b[THIRD_GLN]["owner"] == THIRD, p)
    # Longest match: a GS1 key's owner by its company prefix.
    o = parties(L, sgtin(PREFIX, "107346", "1"))
    check("an SGTIN under the prefix is the brand's",
          o["owner"]["uscc"] == BRAND and o["owner"]["key"] == PREFIX, o)
    o = parties(L, BRAND_GLN)
    check("a GLN under the prefix is the brand's (no GLN of its own)",
          o["owner"]["uscc"] == BRAND and o["owner"]["key"] == PREFIX, o)
    must("a longer prefix registered to another",
         master(L, k["reg"], "bind", PREFIX + "99", "--owner", THIRD))
    o = parties(L, sgtin(PREFIX + "99", "1073", "1"))
    check("longest match: the longer prefix wins",
          o["owner"]["uscc"] == THIRD and o["owner"]["key"] == PREFIX + "99",
          o)
    o = parties(L, sgtin(PREFIX, "107346", "1"))
    check("and the shorter still holds its other keys",
          o["owner"]["uscc"] == BRAND, o)
    r = L.t("trace", "parties", sgtin("0999999", "107346", "1"), "--data",
            L.data)
    check("an unregistered prefix: exit 1, unconfirmed",
          r.rc == 1 and "unconfirmed" in r.text, r)

    # Who may write each.
    refused(L, "an enterprise registers",
            lambda: master(L, k["brand"], "bind", "0777777", "--owner",
                           BRAND),
            ["not permitted", "trace.bind: only a regulator with the scope "
             "trace.master registers and confirms prefixes and GLNs (an "
             "enterprise claims its own: tally trace claim)"])
    refused(L, "a regulator without the scope registers",
            lambda: master(L, k["reg2"], "bind", "0777777", "--owner",
                           BRAND),
            "trace.bind: only a regulator with the scope trace.master")
    refused(L, "a regulator without the scope confirms",
            lambda: master(L, k["reg2"], "confirm", "0777777", "--owner",
                           BRAND),
            "trace.confirm: only a regulator with the scope trace.master")
    refused(L, "a regulator claims",
            lambda: master(L, k["reg"], "claim", "0777777"),
            "trace.claim: only an enterprise writes this, not role "
            "regulator")
    refused(L, "a bank names",
            lambda: master(L, k["bank"], "name", BRAND_GLN, "--name", "x"),
            "trace.name: role bank names no locations or parties")
    refused(L, "a bank delegates",
            lambda: master(L, k["bank"], "delegate", PREFIX, "--to", CM),
            "trace.delegate: only an enterprise writes this, not role bank")

    # Malformed fields: refused before anything is sent.
    refused(L, "a key with a letter",
            lambda: master(L, k["reg"], "bind", "06141x1", "--owner",
                           BRAND),
            "trace.bind: key must be digits: a company prefix (6 to 12) or "
            "a GLN (13); nothing was written")
    refused(L, "a key of 5 digits",
            lambda: master(L, k["reg"], "bind", "06141", "--owner", BRAND),
            "trace.bind: key has 5 digits: a company prefix has 6 to 12, a "
            "GLN 13")
    bad = BRAND_GLN[:12] + str((int(BRAND_GLN[12]) + 1) % 10)
    refused(L, "a GLN with a wrong check digit",
            lambda: master(L, k["reg"], "bind", bad, "--owner", BRAND),
            "trace.bind: GLN %s: check digit is %s, want %s" %
            (bad, bad[12], BRAND_GLN[12]))
    refused(L, "an invalid owner USCC",
            lambda: master(L, k["reg"], "bind", "0777777", "--owner",
                           BRAND[:17] + "0" if BRAND[17] != "0" else
                           BRAND[:17] + "1"),
            "trace.bind: owner: ")
    refused(L, "a name with a line break",
            lambda: master(L, k["brand"], "name", BRAND_GLN, "--name",
                           "a\nb"),
            "trace.name: name must be text of 1..200 bytes without control "
            "characters")
    refused(L, "a name of a malformed GLN",
            lambda: master(L, k["brand"], "name", bad, "--name", "x"),
            "trace.name: id: ")
    refused(L, "a delegation of a GLN",
            lambda: master(L, k["brand"], "delegate", BRAND_GLN, "--to",
                           CM),
            "trace.delegate: a delegation names a company prefix (6 to 12 "
            "digits), not a GLN")

    # State rules.
    refused(L, "registering to an unregistered organisation",
            lambda: master(L, k["reg"], "bind", "0777777", "--owner",
                           UNREG),
            "trace.bind: owner %s is not a registered organisation" % UNREG)
    refused(L, "registering to a bank",
            lambda: master(L, k["reg"], "bind", "0777777", "--owner", BANK),
            "trace.bind: owner %s is a bank, not an enterprise" % BANK)
    refused(L, "registering twice",
            lambda: master(L, k["reg"], "bind", PREFIX, "--owner", BRAND),
            "trace.bind: %s is already registered to %s" % (PREFIX, BRAND))
    refused(L, "claiming a registered prefix",
            lambda: master(L, k["third"], "claim", PREFIX),
            "trace.claim: %s is registered to %s (leaf " % (PREFIX, BRAND))
    must("a claim of an unbound prefix", master(L, k["third"], "claim",
                                                "0888888"))
    refused(L, "claiming it again",
            lambda: master(L, k["third"], "claim", "0888888"),
            "trace.claim: 0888888 is already claimed by %s" % THIRD)
    refused(L, "another's claim of it",
            lambda: master(L, k["cm"], "claim", "0888888"),
            "trace.claim: 0888888 is claimed by %s (leaf" % THIRD)
    o = parties(L, sgtin("0888888", "123456", "1"))
    check("a claimed prefix is claimed, unconfirmed",
          o["owner"]["status"] == "claimed" and o["owner"]["uscc"] == THIRD,
          o)
    refused(L, "confirming a claim of another enterprise",
            lambda: master(L, k["reg"], "confirm", "0888888", "--owner",
                           CM),
            "trace.confirm: 0888888 has no unconfirmed claim by %s (it is "
            "claimed, unconfirmed to %s)" % (CM, THIRD))
    refused(L, "confirming what nobody claimed",
            lambda: master(L, k["reg"], "confirm", "0777777", "--owner",
                           CM),
            "trace.confirm: 0777777 has no unconfirmed claim by %s (it is "
            "unbound)" % CM)
    must("a regulator confirms the claim",
         master(L, k["reg"], "confirm", "0888888", "--owner", THIRD))
    o = parties(L, sgtin("0888888", "123456", "1"))
    check("confirmed: registered", o["owner"]["status"] == "registered" and
          o["owner"]["uscc"] == THIRD, o)
    refused(L, "confirming it again",
            lambda: master(L, k["reg"], "confirm", "0888888", "--owner",
                           THIRD),
            "has no unconfirmed claim by %s (it is registered to" % THIRD)
    refused(L, "a delegation by one who does not own the prefix",
            lambda: master(L, k["third"], "delegate", PREFIX, "--to", CM),
            "trace.delegate: company prefix %s is not bound to %s (it is "
            "registered to %s)" % (PREFIX, THIRD, BRAND))
    refused(L, "a delegation to itself",
            lambda: master(L, k["brand"], "delegate", PREFIX, "--to",
                           BRAND),
            "trace.delegate: an enterprise does not delegate to itself")
    refused(L, "a delegation twice",
            lambda: master(L, k["brand"], "delegate", PREFIX, "--to", CM),
            "trace.delegate: %s has delegated %s to %s already" %
            (BRAND, PREFIX, CM))
    refused(L, "a delegation to a bank",
            lambda: master(L, k["brand"], "delegate", PREFIX, "--to", BANK),
            "trace.delegate: to %s is a bank, not an enterprise" % BANK)
    refused(L, "revoking a delegation never made",
            lambda: master(L, k["brand"], "undelegate", PREFIX, "--to",
                           THIRD),
            "trace.undelegate: %s has no delegation of %s to %s to revoke" %
            (BRAND, PREFIX, THIRD))
    refused(L, "usage: bind without --owner",
            lambda: master(L, k["reg"], "bind", PREFIX),
            "missing --owner", rc=2)
    must("audit replays the master data", L.audit())
    must("reindex", L.t("ledger", "reindex", "--data", L.data))
    check("reindex rebuilds the same master data", parties(L)["bindings"] ==
          parties(L)["bindings"] and
          len(parties(L)["bindings"]) == len(p["bindings"]) + 2,
          parties(L))


def test_capture_rules(d):
    L, k = fixture(d)
    own = event([sgtin(PREFIX, "107346", "1")], where=sgln(PREFIX, "00001"),
                eid="urn:uuid:own")
    must("the brand commissions under its prefix, at its GLN",
         imp(L, k["brand"], [own]))
    byd = event([sgtin(PREFIX, "107346", "2")], where=sgln("0712345",
                                                           "00001"))
    must("the manufacturer commissions under it by delegation",
         imp(L, k["cm"], [byd], "cm.jsonld"))
    bad = event([sgtin("0999999", "107346", "1"),
                 sgtin(PREFIX, "107346", "3")], where=sgln("0812345",
                                                           "00001"),
                eid="urn:uuid:bad")
    refused(L, "a third party commissions under the brand's prefix "
               "(import)",
            lambda: imp(L, k["third"], [event(["urn:epc:id:sgtin:"
                                                "0999999.107346.9"]), bad],
                        "bad.jsonld"),
            ["event 2 (urn:uuid:bad): epcList[1]: commissioning "
             "/01/10614141073464/21/3 under company prefix %s, registered "
             "to %s (leaf " % (PREFIX, BRAND),
             "which has delegated none to %s" % THIRD,
             "; nothing was written"])
    refused(L, "the same through submit",
            lambda: submit_event(L, k["third"], bad),
            ["record 0: trace.event: epcList[1]: commissioning "
             "/01/10614141073464/21/3 under company prefix %s" % PREFIX])
    tr = event([[sgtin("0999999", "107346", "1")],
                [sgtin(PREFIX, "107346", "4")]], etype="TransformationEvent",
               step=None, disposition=None)
    refused(L, "a transformation's output under another's prefix",
            lambda: imp(L, k["third"], [tr], "tr.jsonld"),
            "event 1: outputEPCList[0]: commissioning "
            "/01/10614141073464/21/4 under company prefix %s" % PREFIX)
    obs = event([sgtin(PREFIX, "107346", "1")], step="receiving",
                action="OBSERVE", where=sgln(PREFIX, "00001"),
                eid="urn:uuid:third-at-brand")
    must("a third party's event at the brand's GLN is stored",
         imp(L, k["third"], [obs], "obs.jsonld"))
    must("the brand undelegates", master(L, k["brand"], "undelegate",
                                         PREFIX, "--to", CM))
    refused(L, "after the delegation ends the manufacturer is refused",
            lambda: imp(L, k["cm"], [event([sgtin(PREFIX, "107346", "5")])],
                        "cm2.jsonld"),
            "which has delegated none to %s" % CM)
    un = event([sgtin("0999999", "107346", "7")], where=sgln("0999999",
                                                             "00001"))
    must("unregistered codes are accepted", imp(L, k["third"], [un],
                                                "un.jsonld"))
    h = history(L, sgtin(PREFIX, "107346", "1"))
    check("the brand's own event stands ok, the third party's is a claim",
          [e["standing"] for e in h] == ["ok", "third-party claim"], h)
    check("the manufacturer's delegated event stands ok",
          [e["standing"] for e in history(L, sgtin(PREFIX, "107346", "2"))]
          == ["ok"], history(L, sgtin(PREFIX, "107346", "2")))
    check("unregistered codes stand unconfirmed",
          [e["standing"] for e in history(L, sgtin("0999999", "107346",
                                                   "7"))] == ["unconfirmed"])
    # A regulator's event at the brand's GLN is no third-party claim.
    insp = event([sgtin(PREFIX, "107346", "1")], step="inspecting",
                 action="OBSERVE", where=sgln(PREFIX, "00001"),
                 when="2026-11-02T08:00:00+08:00")
    must("a regulator inspects at the brand's GLN",
         imp(L, k["reg"], [insp], "insp.jsonld"))
    check("and stands ok", history(L, sgtin(PREFIX, "107346", "1"))[-1]
          ["standing"] == "ok")
    r = must("history as text", L.t("trace", "history", sgtin(
        PREFIX, "107346", "1"), "--data", L.data))
    lines = r.text.splitlines()
    check("text history ends each event with its standing",
          lines[1].endswith(" standing ok") and
          lines[2].endswith(" standing third-party claim"), r.text)
    must("audit", L.audit())


def header_with(elements, vtype="urn:epcglobal:epcis:vtype:BusinessLocation"):
    return {"epcisMasterData": {"vocabularyList": [
        {"type": vtype, "vocabularyElementList": elements}]}}


def named(ident, name, **attrs):
    a = [{"id": "urn:epcglobal:cbv:mda#name", "attribute": name}]
    for k, v in attrs.items():
        a.append({"id": "urn:epcglobal:cbv:mda#" + k, "attribute": v})
    return {"id": ident, "attributes": a}


def test_names(d):
    L, k = fixture(d)
    must("the brand names its GLN", master(L, k["brand"], "name", BRAND_GLN,
                                           "--name", "Brand plant",
                                           "--attr", "city=Shenzhen"))
    must("the third party names the brand's GLN too",
         master(L, k["third"], "name", sgln(PREFIX, "00001"), "--name",
                "Our depot"))
    o = parties(L, BRAND_GLN)
    check("the owner's name wins over another's claim",
          o["name"]["name"] == "Brand plant" and
          o["name"]["standing"] == "own" and o["name"]["by"] == BRAND, o)
    p = parties(L)
    got = sorted((n["name"], n["standing"]) for n in p["names"])
    check("both names are kept, each with its standing",
          got == [("Brand plant", "own"), ("Our depot", "claim")], p)
    # Names from an EPCIS document's header: the manufacturer names its
    # own GLN (own) and the brand's (a claim); an unregistered one is
    # unconfirmed; other vocabularies and unnamed elements pass.
    hdr = {"epcisMasterData": {"vocabularyList": [
        {"type": "urn:epcglobal:epcis:vtype:BusinessLocation",
         "vocabularyElementList": [
             named(sgln("0712345", "00001"), "CM line 1", city="Dongguan"),
             named(sgln(PREFIX, "00001"), "CM says: brand"),
             named(sgln("0999999", "00001"), "Somewhere"),
             {"id": sgln("0999999", "00002")}]},
        {"type": "urn:epcglobal:epcis:vtype:EPCClass",
         "vocabularyElementList": [named("urn:epc:idpat:sgtin:0614141."
                                         "107346.*", "Widget")]}]}}
    ev = event([sgtin(PREFIX, "107346", "8")], where=sgln("0712345",
                                                          "00001"))
    r = must("import with master data in the header",
             imp(L, k["cm"], [ev], "h.jsonld", hdr, "--json"))
    check("the names are reported on stderr",
          "epcisHeader: 3 names (records at leaves" in r.err, r)
    check("the events are counted as before",
          json.loads(r.text)["count"] == 1, r)
    p = parties(L)
    got = sorted((n["key"], n["name"], n["standing"], n["by"])
                 for n in p["names"])
    check("the header's names, each with its standing", got == sorted([
        ("/414/%s" % BRAND_GLN, "Brand plant", "own", BRAND),
        ("/414/%s" % BRAND_GLN, "Our depot", "claim", THIRD),
        ("/414/%s" % BRAND_GLN, "CM says: brand", "claim", CM),
        ("/414/%s" % CM_GLN, "CM line 1", "own", CM),
        ("/414/%s" % gln("0999999", "00001"), "Somewhere", "unconfirmed",
         CM)]), got)
    r = must("history names the place",
             L.t("trace", "history", sgtin(PREFIX, "107346", "8"),
                 "--data", L.data))
    check("text: the name before the key",
          'bizLocation "CM line 1" (/414/%s)' % CM_GLN in r.text, r.text)
    h = history(L, sgtin(PREFIX, "107346", "8"))
    check("JSON: the name, by whom, its standing",
          h[0]["bizLocationName"] == {"by": CM, "name": "CM line 1",
                                      "standing": "own"}, h)
    r = must("the same document again", imp(L, k["cm"], [ev], "h.jsonld",
                                            hdr))
    check("sends no name twice",
          "epcisHeader: 3 names in the log already" in r.err, r)
    for name, bad, why in (
            ("an element without an id", header_with([{"attributes": []}]),
             "epcisHeader: epcisMasterData.vocabularyList[0]."
             "vocabularyElementList[0]: an element needs an id"),
            ("a malformed GLN", header_with([named(
                "urn:epc:id:sgln:0614141.0000X.0", "x")]),
             "epcisHeader: epcisMasterData.vocabularyList[0]."
             "vocabularyElementList[0]: trace.name: id: "),
            ("a name with a line break", header_with([named(
                sgln(PREFIX, "00001"), "a\nb")]),
             "trace.name: name must be text of 1..200 bytes"),
            ("no vocabularyList", {"epcisMasterData": {}},
             "epcisHeader: epcisMasterData: needs a vocabularyList array"),
            ("too many attributes", header_with([named(
                sgln(PREFIX, "00001"), "x",
                **{"a%d" % i: "v" for i in range(17)})]),
             "more than 16 string attributes")):
        refused(L, "header: " + name,
                lambda: imp(L, k["cm"], [event([sgtin(
                    PREFIX, "107346", "9")])], "bad.jsonld", bad),
                [why, "; nothing was written"])


def test_repeated_event_ids(d):
    L, k = fixture(d)
    a = event([sgtin(PREFIX, "107346", "20")], eid="urn:uuid:same")
    b = event([sgtin(PREFIX, "107346", "21")], eid="urn:uuid:same")
    refused(L, "one eventID on two events of a document",
            lambda: imp(L, k["brand"], [event([sgtin(
                PREFIX, "107346", "19")]), a, b], "ids.jsonld"),
            ["event 3 (urn:uuid:same): eventID urn:uuid:same is the "
             "eventID of event 2 too, another event (another hash ID); "
             "nothing was written"])
    r = must("the same event twice is a duplicate, not a refusal",
             imp(L, k["brand"], [a, a], "twice.jsonld", None, "--json"))
    s = json.loads(r.text)
    check("one imported, one duplicate",
          s["added"] == 1 and s["duplicates"] == 1, s)


def test_inspections_in_credit(d):
    L, k = fixture(d)
    CAT = os.path.join(HERE, "..", "..", "credit", "data")
    for what, f in (("catalogue", "default.catalogue"),
                    ("scorecard", "default.scorecard")):
        must("adopt the default " + what,
             L.t("credit", what, "adopt", os.path.join(CAT, f), "--data",
                 L.data, "--key", L.op))
    must("the brand commissions", imp(L, k["brand"], [
        event([sgtin(PREFIX, "107346", "30"),
               sgtin(PREFIX, "107346", "31")],
              where=sgln(PREFIX, "00001"))], "c.jsonld"))
    must("an unregistered maker commissions", imp(L, k["third"], [
        event([sgtin("0999999", "107346", "30")])], "u.jsonld"))

    def inspect(key, epcs, name, **kw):
        r = must("inspection " + name, imp(L, key, [event(
            epcs, step="inspecting", action="OBSERVE",
            where=sgln(PREFIX, "00001"), **kw)], name + ".jsonld",
            None, "--json"))
        return json.loads(r.text)["first_leaf"]
    failed = inspect(k["reg"], [sgtin(PREFIX, "107346", "30")], "reg",
                     disposition="non_conformant",
                     when="2026-11-03T10:00:00+08:00")
    own = inspect(k["brand"], [sgtin(PREFIX, "107346", "31")], "own",
                  disposition="non_conformant",
                  when="2026-11-03T11:00:00+08:00")
    sensor = inspect(k["insp"], [sgtin(PREFIX, "107346", "31")], "body",
                     when="2026-11-04T10:00:00+08:00",
                     extra={"sensorElementList": [{"sensorReport": [
                         {"type": "gs1:MT-Temperature", "value": 31.5,
                          "uom": "CEL",
                          "exception": "ALARM_CONDITION"}]}]})
    ok = inspect(k["reg"], [sgtin(PREFIX, "107346", "31")], "pass",
                 disposition="conformant",
                 when="2026-11-05T10:00:00+08:00")
    third = inspect(k["reg"], [sgtin("0999999", "107346", "30")], "third",
                    disposition="non_conformant",
                    when="2026-11-05T11:00:00+08:00")

    def score(u, *extra):
        r = must("score " + u, L.t("credit", "score", u, "--data", L.data,
                                   "--json", *extra))
        return json.loads(r.text)
    s = score(BRAND)
    leaves = sorted(x["leaf"] for x in s["reasons"])
    check("the regulator's failed inspection and the inspection body's "
          "sensor exception count against the brand, each with its leaf",
          leaves == sorted([failed, sensor]), s)
    check("as the catalogue's inspection item, flagged inspection",
          all(x["item"] == "quality.sampling-failure" and
              "inspection" in x["flags"] for x in s["reasons"]), s)
    check("the brand's own result and a conformant one do not count",
          own not in leaves and ok not in leaves, s)
    t = score(THIRD)
    check("an unregistered product's failure counts against its "
          "commissioner", [x["leaf"] for x in t["reasons"]] == [third], t)
    before = score(BRAND, "--size", str(sensor))
    check("as of a tree size before the second, only the first",
          [x["leaf"] for x in before["reasons"]] == [failed], before)
    r = must("score as text", L.t("credit", "score", BRAND, "--data",
                                  L.data))
    check("the text names the inspection's leaf",
          "leaf %d" % failed in r.text, r.text)


if __name__ == "__main__":
    harness.run_tests([test_records_and_refusals, test_capture_rules,
                       test_names, test_repeated_event_ids,
                       test_inspections_in_credit])
