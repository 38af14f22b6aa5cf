# SPDX-License-Identifier: MIT
# tests/integration/test_trace_recall.py -- tally trace verify, alerts and
# the recall records through the real binary on real ledgers: each status
# from its events, lot and expiry against the commissioning ilmd (Digital
# Link, element strings, raw scans), the alerts the log records (a double
# sale, a sale after a recall, a sale after expiry; not after a return,
# not for partially_dispensed), as of earlier tree sizes, and durable
# (reindex and audit rebuild them).
# Run: python3 tests/integration/test_trace_recall.py out/debug/tools/tally

import json
import os
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, at, check, must, refused  # noqa: E402

ENT = "914403001922038216"    # the manufacturer
SHOP = "91350100M000100Y43"   # a retailer
NOW = 1772323200000           # 2026-03-01T00:00:00Z, the log time
CTX = ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"]
GTIN = "10614141073464"
DL = "https://id.gs1.org/01/%s" % GTIN


def serial(s, lot=None):
    return "%s%s/21/%s" % (DL, "/10/%s" % lot if lot else "", s)


def event(epcs, time, action="OBSERVE", step=None, disp=None, ilmd=None,
          qty=None):
    e = {"type": "ObjectEvent", "eventTime": time,
         "eventTimeZoneOffset": "+00:00", "action": action}
    if epcs is not None:
        e["epcList"] = epcs
    if qty is not None:
        e["quantityList"] = [{"epcClass": c, "quantity": n}
                             for c, n in qty]
    if step:
        e["bizStep"] = step
    if disp:
        e["disposition"] = disp
    if ilmd:
        e["ilmd"] = ilmd
    return e


def commission(epcs, time, lot="L1", expiry="2026-06-30", best=None):
    ilmd = {"cbvmda:lotNumber": lot, "cbvmda:itemExpirationDate": expiry}
    if best:
        ilmd["cbvmda:bestBeforeDate"] = best
    return event(epcs, time, "ADD", "commissioning", "active", ilmd)


def sale(epcs, time, disp="retail_sold", step="retail_selling"):
    return event(epcs, time, "OBSERVE", step, disp)


def doc(events):
    return json.dumps({"@context": CTX, "type": "EPCISDocument",
                       "schemaVersion": "2.0",
                       "creationDate": "2026-01-01T00:00:00Z",
                       "epcisBody": {"eventList": events}})


class Chain:
    """A ledger with the manufacturer and the retailer registered; add()
    imports events as one batch signed by who."""

    def __init__(self, d, now=NOW):
        self.L = Ledger(d, env=at(now))
        self.ent = self.L.register("ent", ENT, org="Demo Pharma")
        self.shop = self.L.register("shop", SHOP, org="Corner Shop")
        self.n = 0

    def add(self, events, who=None, env=None):
        self.n += 1
        p = self.L.write("d%d.jsonld" % self.n, doc(events))
        r = self.L.t("trace", "import", p, "--data", self.L.data, "--key",
                     who or self.ent, "--json", env=env)
        must("import %d" % self.n, r)
        return json.loads(r.text)

    def verify(self, i, *extra, rc=None):
        r = self.L.t("trace", "verify", i, "--data", self.L.data, "--json",
                     *extra)
        if rc is not None:
            must("verify %s" % i, r, rc)
        return json.loads(r.text) if r.rc in (0, 1) and r.out else None, r

    def alerts(self, *extra):
        r = must("alerts", self.L.t("trace", "alerts", "--data",
                                    self.L.data, "--json", *extra))
        return json.loads(r.text)


def test_statuses(d):
    """Each status from the events that set it (docs/trace.md,
    Verification), for serials of one lot."""
    c = Chain(d)
    s = {k: serial(k) for k in ("1", "2", "3", "4", "5", "6", "7", "8",
                                "9")}
    c.add([commission(list(s.values()), "2026-01-05T08:00:00Z")])
    c.add([event([s["2"]], "2026-01-06T08:00:00Z", step="shipping",
                 disp="in_transit"),
           event([s["3"]], "2026-01-06T08:00:00Z", disp="recalled"),
           sale([s["4"]], "2026-01-07T08:00:00Z"),
           event([s["5"]], "2026-01-07T08:00:00Z", step="dispensing",
                 disp="dispensed"),
           event([s["6"]], "2026-01-07T08:00:00Z", step="dispensing",
                 disp="partially_dispensed"),
           event([s["7"]], "2026-01-07T08:00:00Z", step="destroying",
                 disp="destroyed"),
           event([s["8"]], "2026-01-07T08:00:00Z", "DELETE",
                 "decommissioning", "inactive"),
           event([s["9"]], "2026-01-07T08:00:00Z", disp="expired")])
    want = {"1": "active", "2": "in transit", "3": "recalled", "4": "sold",
            "5": "dispensed", "6": "partially dispensed",
            "7": "destroyed", "8": "decommissioned", "9": "expired"}
    for k, st in want.items():
        v, r = c.verify(s[k], rc=0)
        check("serial %s is %s" % (k, st), v and v["status"] == st, r)
    v, r = c.verify(s["1"], rc=0)
    check("commissioned by the manufacturer, with its name",
          v["commissioned"]["by"] == ENT and
          v["commissioned"]["name"] == "Demo Pharma" and
          v["known"] and v["events"] == 1 and v["genuine"], v)
    check("lot and expiry from the ilmd",
          v["lot"]["recorded"] == "L1" and
          v["expiry"]["recorded"] == "2026-06-30" and
          v["lot"]["check"] == "none", v)
    # Unknown, and never commissioned: exit 1.
    v, r = c.verify(serial("404"), rc=1)
    check("an unknown code", v["status"] == "unknown" and
          not v["known"] and not v["genuine"], v)
    c.add([event([serial("77")], "2026-01-08T08:00:00Z",
                 step="receiving")], who=c.shop)
    v, r = c.verify(serial("77"), rc=1)
    check("a code with events but no commissioning",
          v["status"] == "never commissioned" and v["known"] and
          v["commissioned"] is None, v)
    # Text form.
    r = must("verify text", c.L.t("trace", "verify", s["4"], "--data",
                                  c.L.data))
    check("text names the status, the commissioner and the lot",
          "status: sold" in r.text and
          "by Demo Pharma (%s)" % ENT in r.text and "lot: L1" in r.text
          and "genuine: yes" in r.text, r.text)


def test_expiry_and_scans(d):
    """Lot and expiry a scan carries against the commissioning ilmd; an
    item past its expiry at the log time is expired."""
    c = Chain(d)
    one = serial("A1")
    c.add([commission([one], "2026-01-05T08:00:00Z", lot="L7",
                      expiry="2026-02-28", best="2026-02-15")])
    cases = [
        ("(01)%s(17)260228(10)L7(21)A1" % GTIN, "ok", "ok", 0),
        ("(01)%s(17)260200(10)L7(21)A1" % GTIN, "ok", "ok", 0),
        ("(01)%s(17)260227(10)L7(21)A1" % GTIN, "mismatch", "ok", 1),
        ("(01)%s(10)L8(21)A1" % GTIN, "none", "mismatch", 1),
        ("]d201%s17260228" "10L7\x1d21A1" % GTIN, "ok", "ok", 0),
        ("%s/10/L7/21/A1?17=260228" % DL, "ok", "ok", 0),
        ("%s/10/L9/21/A1" % DL, "none", "mismatch", 1),
    ]
    for scan, exp, lot, rc in cases:
        v, r = c.verify(scan, rc=rc)
        check("%r: expiry %s, lot %s" % (scan, exp, lot),
              v and v["expiry"]["check"] == exp and
              v["lot"]["check"] == lot and v["genuine"] == (rc == 0), r)
    v, r = c.verify("(01)%s(15)260215(21)A1" % GTIN, rc=0)
    check("best before checked", v["bestBefore"]["check"] == "ok" and
          v["bestBefore"]["recorded"] == "2026-02-15", v)
    v, r = c.verify(one, rc=0)
    check("past its expiry at the log time (2026-03-01): expired",
          v["status"] == "expired", v)
    refused(c.L, "verify of a malformed code",
            lambda: c.L.t("trace", "verify", "(01)10614141073465(21)1",
                          "--data", c.L.data),
            "ID: GTIN (AI 01): check digit is 5, want 4")
    refused(c.L, "verify beyond the tree size",
            lambda: c.L.t("trace", "verify", one, "--data", c.L.data,
                          "--size", "999"),
            "--size must be 1 to the tree size")


def test_double_sale(d):
    """A second sale of one serial is an alert, recorded in the write
    transaction; verify shows it; not before its leaf (--size); reindex
    and audit rebuild the same."""
    c = Chain(d)
    one = serial("D1")
    c.add([commission([one], "2026-01-05T08:00:00Z",
                      expiry="2027-01-01")])
    r1 = c.add([sale([one], "2026-01-10T10:00:00Z")], who=c.shop)
    size1 = c.L.size()
    check("no alert after one sale", c.alerts()["alerts"] == [], "")
    r2 = c.add([sale([one], "2026-01-11T10:00:00Z")], who=c.shop)
    al = c.alerts()["alerts"]
    check("one alert: a double sale naming both leaves",
          len(al) == 1 and al[0]["kind"] == "double" and
          al[0]["leaf"] == r2["lo"] and
          al[0]["other"] == r1["lo"] and al[0]["id"] == one,
          (al, r1, r2))
    v, r = c.verify(one, rc=0)
    check("verify shows the alert", v["status"] == "sold" and
          len(v["alerts"]) == 1 and v["alerts"][0]["kind"] == "double",
          v)
    v, r = c.verify(one, "--size", str(size1), rc=0)
    check("as of the size before the second sale: no alert",
          v["alerts"] == [] and v["size"] == size1, v)
    check("--since after it lists nothing",
          c.alerts("--since", str(c.L.size()))["alerts"] == [], "")
    r = must("alerts text", c.L.t("trace", "alerts", "--data", c.L.data))
    check("text names the other sale", "a second sale or dispensing "
          "(the other at leaf %d)" % r1["lo"] in r.text, r.text)
    before = c.alerts()
    must("reindex", c.L.t("ledger", "reindex", "--data", c.L.data))
    check("reindex rebuilds the same alerts", c.alerts() == before, "")
    r = must("audit compares the alert indexes", c.L.audit())


def test_sale_after_recall_and_expiry(d):
    """A sale of stock whose disposition is recalled, and of stock past
    its expiry on the sale's date, are alerts."""
    c = Chain(d)
    a, b = serial("R1"), serial("E1")
    c0 = c.add([commission([a], "2026-01-05T08:00:00Z",
                           expiry="2027-01-01"),
                commission([b], "2026-01-05T08:00:00Z",
                           expiry="2026-01-31")])
    rr = c.add([event([a], "2026-01-08T08:00:00Z", disp="recalled")])
    s1 = c.add([sale([a], "2026-01-09T08:00:00Z")], who=c.shop)
    s2 = c.add([sale([b], "2026-02-01T08:00:00Z")], who=c.shop)
    al = c.alerts()["alerts"]
    kinds = sorted((x["kind"], x["leaf"], x["other"], x["detail"])
                   for x in al)
    check("a recalled sale and an expired sale",
          kinds == sorted([("recalled", s1["lo"], rr["lo"],
                            None),
                           ("expired", s2["lo"], c0["hi"],
                            "2026-01-31")]), al)
    v, r = c.verify(a, rc=0)
    check("verify shows the recalled sale", v["status"] == "sold" and
          [x["kind"] for x in v["alerts"]] == ["recalled"], v)


def test_not_alerts(d):
    """A sale after a return (receiving back) is not an alert;
    partially_dispensed twice is not; a sale before expiry is not."""
    c = Chain(d)
    a, p = serial("N1"), serial("P1")
    c.add([commission([a, p], "2026-01-05T08:00:00Z",
                      expiry="2027-01-01")])
    c.add([sale([a], "2026-01-10T08:00:00Z")], who=c.shop)
    c.add([event([a], "2026-01-11T08:00:00Z", step="receiving",
                 disp="returned")], who=c.shop)
    c.add([sale([a], "2026-01-12T08:00:00Z")], who=c.shop)
    c.add([event([p], "2026-01-10T08:00:00Z", step="dispensing",
                 disp="partially_dispensed")], who=c.shop)
    c.add([event([p], "2026-01-11T08:00:00Z", step="dispensing",
                 disp="partially_dispensed")], who=c.shop)
    check("no alerts", c.alerts()["alerts"] == [], c.alerts())
    v, r = c.verify(p, rc=0)
    check("partially dispensed", v["status"] == "partially dispensed", v)
    v, r = c.verify(a, rc=0)
    check("sold again after the return", v["status"] == "sold" and
          v["alerts"] == [], v)


if __name__ == "__main__":
    harness.run_tests([test_statuses, test_expiry_and_scans,
                       test_double_sale, test_sale_after_recall_and_expiry,
                       test_not_alerts])
