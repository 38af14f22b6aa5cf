/* SPDX-License-Identifier: MIT */
/* tests/trace/trc_event_test.c -- the event validator: every event of the
 * gs1/EPCIS examples (tests/vectors/epcis/) and of the hash vectors
 * (tests/vectors/epcis-hash/) is accepted with what the indexes need; each
 * rule has a refusal with its exact message naming the event and the
 * field; CBV words and URIs, custom URIs and extensions. */
#include "tests/tst.h"
#include "tests/tst_file.h"
#include "trace/trc.h"

#define USCC "91350100M000100Y43"

static const char *const examples[] = {
    "tests/vectors/epcis/AssociationEvent-f.jsonld",
    "tests/vectors/epcis/ErrorDeclarationAndCorrectiveEvent.jsonld",
    "tests/vectors/epcis/Example-TransactionEvents-2020_07_03y.jsonld",
    "tests/vectors/epcis/Example_9.6.1-ObjectEvent.jsonld",
    "tests/vectors/epcis/Example_9.6.2-ObjectEvent.jsonld",
    "tests/vectors/epcis/Example_9.6.3-AggregationEvent.jsonld",
    "tests/vectors/epcis/Example_9.6.4-TransformationEvent.jsonld",
    "tests/vectors/epcis/SensorDataExample11.jsonld",
    "tests/vectors/epcis-hash/ObjectEvent_all_possible_fields.json",
    "tests/vectors/epcis-hash/AggregationEvent_all_possible_fields.json",
    "tests/vectors/epcis-hash/AssociationEvent_all_possible_fields.json",
    "tests/vectors/epcis-hash/TransformationEvent_all_possible_fields.json",
};

static int accepted;

static void
test_examples(void)
{
	for (size_t f = 0; f < sizeof(examples) / sizeof(examples[0]); f++) {
		cm_buf         text = {0};
		cm_json       *doc = NULL;
		const cm_json *list;
		cm_diag        d;

		TST_TRUE(tst_file_read(examples[f], &text));
		cm_diag_clear(&d);
		TST_OK(cm_json_parse(cm_buf_bytes(&text), &doc, &d));
		list = trc_hash_events(doc, &d);
		TST_TRUE(list != NULL && cm_json_len(list) > 0);
		for (size_t i = 0; list != NULL && i < cm_json_len(list); i++) {
			trc_event_ctx c = {doc, i + 1, CM_BYTES(USCC, 18)};
			trc_event     ev;
			cm_err        rv;

			cm_diag_clear(&d);
			rv = trc_event_check(cm_json_at(list, i), &c, &ev, &d);
			if (rv != CM_OK)
				fprintf(stderr, "%s: %s\n", examples[f], d.msg);
			TST_OK(rv);
			TST_TRUE(memcmp(ev.hash_id, "ni:///sha-256;", 14) == 0);
			accepted += rv == CM_OK;
			trc_event_fini(&ev);
		}
		cm_json_free(doc);
		cm_buf_fini(&text);
	}
	/* 8 documents of 11 events, 4 of one event each */
	TST_EQ_U(accepted, 15);
}

static cm_json *doc; /* the last document check_text read */

/* Checks the first event of a document text (or the text as one event);
 * ev's views borrow from doc until the next call. */
static cm_err
check_text(const char *text, trc_event *ev, cm_diag *d)
{
	const cm_json *list;
	trc_event_ctx  c = {0};
	cm_err         rv;

	cm_diag_clear(d);
	memset(ev, 0, sizeof(*ev));
	cm_json_free(doc);
	doc = NULL;
	if (cm_json_parse(CM_BYTES(text, strlen(text)), &doc, d) != CM_OK)
		return (CM_EINVAL);
	list = trc_hash_events(doc, NULL);
	c.doc = list != NULL ? doc : NULL;
	c.index = 1;
	c.uscc = CM_BYTES(USCC, 18);
	rv = trc_event_check(list != NULL ? cm_json_at(list, 0) : doc, &c, ev,
	                     d);
	return (rv);
}

#define HEAD                                                                   \
	"\"eventTime\":\"2024-01-02T03:04:05.678+08:00\","                     \
	"\"eventTimeZoneOffset\":\"+08:00\",\"eventID\":\"urn:uuid:e1\","

#define SGTIN "\"urn:epc:id:sgtin:0614141.107346.2017\""
#define SSCC "\"urn:epc:id:sscc:0614141.1234567890\""
#define LGTIN "\"urn:epc:class:lgtin:4012345.012345.998877\""

#define OBJ(rest) "{\"type\":\"ObjectEvent\"," HEAD rest "}"
#define AGG(rest) "{\"type\":\"AggregationEvent\"," HEAD rest "}"
#define ASSOC(rest) "{\"type\":\"AssociationEvent\"," HEAD rest "}"
#define TRF(rest) "{\"type\":\"TransformationEvent\"," HEAD rest "}"
#define TRX(rest) "{\"type\":\"TransactionEvent\"," HEAD rest "}"
#define DOC(ev)                                                                \
	"{\"@context\":[\"https://ref.gs1.org/standards/epcis/2.0.0/"          \
	"epcis-context.jsonld\",{\"example\":\"http://ns.example.com/"         \
	"epcis/\"}],\"type\":\"EPCISDocument\",\"schemaVersion\":\"2.0\","     \
	"\"epcisBody\":{\"eventList\":[" ev "]}}"

static const struct refusal {
	const char *text, *want;
} refusals[] = {
    {OBJ("\"action\":\"ADD\""),
     "event 1 (urn:uuid:e1): ObjectEvent needs epcList, a non-empty "
     "quantityList, or a sensorElementList with a readPoint"},
    {OBJ("\"epcList\":[]"), "event 1 (urn:uuid:e1): action is missing"},
    {OBJ("\"epcList\":[],\"action\":\"MOVE\""),
     "event 1 (urn:uuid:e1): action: must be ADD, OBSERVE or DELETE"},
    {"{\"type\":\"ObjectEvent\",\"eventTimeZoneOffset\":\"+08:00\","
     "\"epcList\":[],\"action\":\"ADD\"}",
     "event 1: eventTime is missing"},
    {"{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-01-02T03:04:05Z\","
     "\"epcList\":[],\"action\":\"ADD\"}",
     "event 1: eventTimeZoneOffset is missing"},
    {"{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-01-02T03:04:05\","
     "\"eventTimeZoneOffset\":\"+08:00\",\"epcList\":[],\"action\":\"ADD\"}",
     "event 1: eventTime: not a date-time with a zone "
     "(YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm))"},
    {"{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-01-02T03:04:05Z\","
     "\"eventTimeZoneOffset\":\"+14:30\",\"epcList\":[],\"action\":\"ADD\"}",
     "event 1: eventTimeZoneOffset: not +hh:mm or -hh:mm (-14:00 to "
     "+14:00)"},
    {"{\"type\":\"Event\"," HEAD "\"action\":\"ADD\"}",
     "event 1 (urn:uuid:e1): type: \"Event\" is not an EPCIS 2.0 event "
     "type"},
    /* identifiers: malformed, check digit, instance vs class */
    {OBJ("\"epcList\":[" SGTIN ",\"https://id.gs1.org/01/10614141073465/"
         "21/1\"],\"action\":\"OBSERVE\""),
     "event 1 (urn:uuid:e1): epcList[1]: GTIN (AI 01): check digit is 5, "
     "want 4"},
    {OBJ("\"epcList\":[\"urn:epc:id:sgtin:0614141.10734.2017\"],"
         "\"action\":\"OBSERVE\""),
     NULL},
    {OBJ("\"epcList\":[" SGTIN "," SGTIN "],\"action\":\"OBSERVE\""),
     "event 1 (urn:uuid:e1): epcList[1]: repeats epcList[0]"},
    /* one item written two ways is one item */
    {OBJ("\"epcList\":[\"https://id.gs1.org/01/10614141073464/21/2017\","
         "\"urn:epc:id:sscc:0614141.1234567890\"," SGTIN "],"
         "\"action\":\"OBSERVE\""),
     "event 1 (urn:uuid:e1): epcList[2]: repeats epcList[0]"},
    {OBJ("\"epcList\":[\"urn:epc:idpat:sgtin:4012345.098765.*\"],"
         "\"action\":\"OBSERVE\""),
     NULL},
    {OBJ("\"quantityList\":[{\"epcClass\":" SGTIN ",\"quantity\":2}],"
         "\"action\":\"OBSERVE\""),
     NULL},
    {OBJ("\"quantityList\":[{\"epcClass\":" LGTIN ",\"quantity\":\"2\"}],"
         "\"action\":\"OBSERVE\""),
     "event 1 (urn:uuid:e1): quantityList[0].quantity: must be a number"},
    {OBJ("\"quantityList\":[{\"epcClass\":" LGTIN ",\"quantity\":2,"
         "\"uom\":\"kg\"}],\"action\":\"OBSERVE\""),
     "event 1 (urn:uuid:e1): quantityList[0].uom: not a UN/ECE Rec 20 code "
     "(2-3 of A-Z, 0-9)"},
    /* ilmd only on ObjectEvent ADD or TransformationEvent */
    {OBJ("\"epcList\":[" SGTIN "],\"action\":\"OBSERVE\",\"ilmd\":"
         "{\"cbvmda:lotNumber\":\"L1\"}"),
     "event 1 (urn:uuid:e1): ilmd: only an ObjectEvent with action ADD (or "
     "a TransformationEvent) carries ilmd"},
    {AGG("\"parentID\":" SSCC ",\"childEPCs\":[" SGTIN "],\"action\":"
         "\"ADD\",\"ilmd\":{}"),
     "event 1 (urn:uuid:e1): ilmd: not a field of AggregationEvent"},
    /* aggregation and association */
    {AGG("\"childEPCs\":[" SGTIN "],\"action\":\"ADD\""),
     "event 1 (urn:uuid:e1): parentID is missing (an AggregationEvent "
     "with action ADD needs one)"},
    {AGG("\"action\":\"DELETE\""),
     "event 1 (urn:uuid:e1): parentID is missing (an AggregationEvent "
     "with action DELETE needs one)"},
    {AGG("\"parentID\":" SSCC ",\"action\":\"OBSERVE\""),
     "event 1 (urn:uuid:e1): childEPCs or childQuantityList is needed (an "
     "AggregationEvent with action OBSERVE names its children)"},
    {ASSOC("\"childEPCs\":[" SGTIN "],\"action\":\"DELETE\""),
     "event 1 (urn:uuid:e1): parentID is missing (an AssociationEvent "
     "with action DELETE needs one)"},
    {ASSOC("\"parentID\":" SSCC ",\"action\":\"ADD\""),
     "event 1 (urn:uuid:e1): childEPCs or childQuantityList is needed (an "
     "AssociationEvent with action ADD names its children)"},
    {ASSOC("\"parentID\":" SSCC ",\"childEPCs\":[],\"action\":\"OBSERVE\""),
     "event 1 (urn:uuid:e1): childEPCs or childQuantityList is needed (an "
     "AssociationEvent with action OBSERVE names its children)"},
    {AGG("\"parentID\":" LGTIN ",\"childEPCs\":[" SGTIN "],\"action\":"
         "\"ADD\""),
     NULL},
    /* transformation and transaction */
    {TRF("\"inputEPCList\":[" SGTIN "]"),
     "event 1 (urn:uuid:e1): TransformationEvent needs inputs and outputs, "
     "or a transformationID and inputs or outputs"},
    {TRF("\"transformationID\":\"urn:uuid:t1\""),
     "event 1 (urn:uuid:e1): TransformationEvent needs inputs and outputs, "
     "or a transformationID and inputs or outputs"},
    {TRF("\"inputEPCList\":[" SGTIN "],\"outputEPCList\":[" SSCC "],"
         "\"action\":\"ADD\""),
     "event 1 (urn:uuid:e1): action: not a field of TransformationEvent"},
    {TRX("\"epcList\":[" SGTIN "],\"action\":\"ADD\""),
     "event 1 (urn:uuid:e1): bizTransactionList is missing (a "
     "TransactionEvent needs one)"},
    /* vocabularies */
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"bizStep\":\"shiping\""),
     "event 1 (urn:uuid:e1): bizStep: \"shiping\" is not a CBV business "
     "step (custom values are URIs)"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"disposition\":"
         "\"https://ref.gs1.org/cbv/Disp-lost\""),
     "event 1 (urn:uuid:e1): disposition: "
     "\"https://ref.gs1.org/cbv/Disp-lost\" is not a CBV disposition"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"bizStep\":"
         "\"urn:epcglobal:cbv:bizstep:shipping\""),
     "event 1 (urn:uuid:e1): bizStep: write the CBV business step as its "
     "word (\"shipping\"), not as a CBV 1.x URN"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"bizTransactionList\":[{"
         "\"type\":\"order\",\"bizTransaction\":\"urn:x:1\"}]"),
     "event 1 (urn:uuid:e1): bizTransactionList[0].type: \"order\" is not "
     "a CBV business transaction type (custom values are URIs)"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"sourceList\":[{\"type\":"
         "\"owner\",\"source\":\"urn:epc:id:pgln:4000001.00012\"}]"),
     "event 1 (urn:uuid:e1): sourceList[0].type: \"owner\" is not a CBV "
     "source/destination type (custom values are URIs)"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"errorDeclaration\":{"
         "\"declarationTime\":\"2024-01-03T00:00:00Z\",\"reason\":"
         "\"wrong\"}"),
     "event 1 (urn:uuid:e1): errorDeclaration.reason: \"wrong\" is not a "
     "CBV error reason (custom values are URIs)"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"errorDeclaration\":{"
         "\"reason\":\"incorrect_data\"}"),
     "event 1 (urn:uuid:e1): errorDeclaration: declarationTime is missing"},
    {OBJ("\"epcList\":[],\"action\":\"OBSERVE\",\"readPoint\":{\"id\":"
         "\"urn:epc:id:sgln:0614141.00777.0\"},\"sensorElementList\":[{"
         "\"sensorReport\":[{\"type\":\"Temperature\",\"exception\":"
         "\"HOT\"}]}]"),
     "event 1 (urn:uuid:e1): sensorElementList[0].sensorReport[0]."
     "exception: \"HOT\" is not a GS1 sensor alert type (custom values are "
     "URIs)"},
    {OBJ("\"epcList\":[],\"action\":\"OBSERVE\",\"sensorElementList\":[{"
         "\"sensorReport\":[{\"type\":\"Temp\",\"value\":3}]}]"),
     "event 1 (urn:uuid:e1): sensorElementList[0].sensorReport[0].type: "
     "\"Temp\" is not a GS1 measurement type (custom values are URIs)"},
    {OBJ("\"epcList\":[],\"action\":\"OBSERVE\",\"sensorElementList\":[{"
         "\"sensorReport\":[{\"value\":3}]}]"),
     "event 1 (urn:uuid:e1): sensorElementList[0].sensorReport[0]: type is "
     "missing"},
    /* extensions: namespaced and declared */
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"myField\":1"),
     "event 1 (urn:uuid:e1): event: unknown field \"myField\" (extensions "
     "need a namespace: prefix:name)"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"acme:myField\":1"),
     "event 1 (urn:uuid:e1): event: \"acme:myField\": prefix \"acme\" is "
     "not declared in @context"},
    {DOC(OBJ("\"epcList\":[],\"action\":\"ADD\",\"example:f\":{"
             "\"acme:g\":1}")),
     "event 1 (urn:uuid:e1): event: \"acme:g\": prefix \"acme\" is not "
     "declared in @context"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"readPoint\":{\"id\":"
         "\"urn:epc:id:sgln:0614141.00777.0\",\"acme:x\":1}"),
     "event 1 (urn:uuid:e1): readPoint: \"acme:x\": prefix \"acme\" is not "
     "declared in @context"},
    {OBJ("\"epcList\":[],\"action\":\"ADD\",\"ilmd\":{\"lotNumber\":\"L\"}"),
     "event 1 (urn:uuid:e1): ilmd: unknown field \"lotNumber\" (extensions "
     "need a namespace: prefix:name)"},
    {"{\"type\":\"ObjectEvent\",\"eventTime\":\"2024-01-02T03:04:05Z\","
     "\"eventTimeZoneOffset\":\"+00:00\",\"eventID\":\"not a uri\","
     "\"epcList\":[],\"action\":\"ADD\"}",
     "event 1 (not a uri): eventID: not a URI"},
};

/* NULL wants: the message is checked by prefix only, from trc_id. */
static const char *const id_prefix[] = {
    "event 1 (urn:uuid:e1): epcList[0]: ",
    "event 1 (urn:uuid:e1): epcList[0]: ",
    "event 1 (urn:uuid:e1): quantityList[0].epcClass: ",
    "event 1 (urn:uuid:e1): parentID: ",
};

static void
test_refusals(void)
{
	size_t np = 0;

	for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
		trc_event ev;
		cm_diag   d;
		cm_err    rv = check_text(refusals[i].text, &ev, &d);
		size_t    n = strlen(d.msg);

		if (rv != CM_EPROTO)
			fprintf(stderr, "case %zu accepted: %s\n", i,
			        refusals[i].text);
		TST_ERR(rv, CM_EPROTO);
		trc_event_fini(&ev);
		if (refusals[i].want != NULL) {
			size_t w = strlen(refusals[i].want);

			if (n != w || memcmp(d.msg, refusals[i].want, w) != 0)
				fprintf(stderr, "case %zu: got  %s\n want %s\n",
				        i, d.msg, refusals[i].want);
			TST_TRUE(n == w &&
			         memcmp(d.msg, refusals[i].want, w) == 0);
		} else {
			/* trc_id's own reason follows the field (its tests
			 * check the wording) */
			const char *p =
			    np < sizeof(id_prefix) / sizeof(id_prefix[0])
			        ? id_prefix[np++]
			        : "";

			TST_TRUE(n > strlen(p) &&
			         memcmp(d.msg, p, strlen(p)) == 0);
		}
	}
}

static void
test_fields(void)
{
	trc_event ev;
	cm_diag   d;

	/* CBV words bare and as Web URIs; custom URIs; extensions kept */
	TST_OK(check_text(
	    DOC(OBJ(
	        "\"epcList\":[" SGTIN "],\"action\":\"ADD\",\"bizStep\":"
	        "\"https://ref.gs1.org/cbv/BizStep-commissioning\","
	        "\"disposition\":\"http://acme.example/disp/fresh\","
	        "\"example:f\":{\"example:g\":[1,2]},"
	        "\"ilmd\":{\"cbvmda:lotNumber\":\"LOT7\","
	        "\"cbvmda:itemExpirationDate\":\"2026-12-31\"},"
	        "\"readPoint\":{\"id\":\"urn:epc:id:sgln:0614141.00777.0\","
	        "\"example:r\":\"x\"},"
	        "\"sourceList\":[{\"type\":\"owning_party\",\"source\":"
	        "\"urn:epc:id:pgln:4012345.00011\"}],"
	        "\"destinationList\":[{\"type\":\"https://acme.example/t\","
	        "\"destination\":\"https://id.gs1.org/414/4012345000115\"}]")),
	    &ev, &d));
	TST_EQ_U(ev.type, TRC_EV_OBJECT);
	TST_EQ_U(ev.action, TRC_ACT_ADD);
	TST_TRUE(ev.biz_step.cbv);
	TST_TRUE(ev.disposition.cbv == false);
	TST_EQ_U(ev.next, 2); /* example:f and readPoint's example:r */
	TST_EQ_U(ev.nrefs, 1);
	TST_EQ_STR(ev.refs[0].key, "/01/10614141073464/21/2017");
	TST_EQ_STR(ev.read_point.key, "/414/0614141007776");
	TST_EQ_U(ev.nparties, 2);
	/* a PGLN and an SGLN with extension 0 are one party */
	TST_EQ_STR(ev.parties[0].who.key, "/414/4012345000115");
	TST_EQ_STR(ev.parties[1].who.key, "/414/4012345000115");
	TST_TRUE(ev.parties[1].dest && !ev.parties[1].type.cbv);
	/* 2024-01-02T03:04:05.678+08:00 */
	TST_EQ_U(ev.time_ms, 1704135845678ull);
	TST_EQ_U(ev.tz_min, 480);
	TST_TRUE(ev.lot.len == 4 && memcmp(ev.lot.p, "LOT7", 4) == 0 ? true
	                                                             : false);
	trc_event_fini(&ev);

	/* roles, quantities, transformation, sensor exception, error */
	TST_OK(check_text(
	    TRF("\"inputEPCList\":[" SGTIN "],\"inputQuantityList\":[{"
	        "\"epcClass\":" LGTIN ",\"quantity\":2.5,\"uom\":\"KGM\"}],"
	        "\"outputEPCList\":[" SSCC
	        "],\"transformationID\":\"urn:uuid:t\","
	        "\"sensorElementList\":[{\"sensorReport\":[{\"type\":"
	        "\"Temperature\",\"value\":9,\"exception\":\"ALARM_CONDITION\"}"
	        ","
	        "{\"type\":\"gs1:RelativeHumidity\",\"value\":3}]}],"
	        "\"errorDeclaration\":{\"declarationTime\":"
	        "\"2024-01-03T00:00:00Z\",\"reason\":\"did_not_occur\","
	        "\"correctiveEventIDs\":[\"urn:uuid:e2\"]}"),
	    &ev, &d));
	TST_EQ_U(ev.nrefs, 3);
	TST_EQ_U(ev.refs[0].role, TRC_ROLE_INPUT);
	TST_TRUE(ev.refs[1].is_class && ev.refs[1].quantity == 2.5);
	TST_EQ_STR(ev.refs[1].uom, "KGM");
	TST_EQ_STR(ev.refs[1].lot, "998877");
	TST_EQ_U(ev.refs[2].role, TRC_ROLE_OUTPUT);
	TST_EQ_U(ev.nsensor_reports, 2);
	TST_EQ_U(ev.nsensor_exc, 1);
	TST_TRUE(ev.has_error && ev.error_reason.cbv && ev.ncorrective == 1);
	TST_EQ_U(ev.error_time_ms, 1704240000000ull);
	trc_event_fini(&ev);

	/* an empty epcList is enough (the schema: minItems 0) */
	TST_OK(
	    check_text(OBJ("\"epcList\":[],\"action\":\"OBSERVE\""), &ev, &d));
	trc_event_fini(&ev);
	/* a sensor-only ObjectEvent needs a readPoint */
	TST_OK(check_text(
	    OBJ("\"action\":\"OBSERVE\",\"readPoint\":{\"id\":"
	        "\"urn:epc:id:sgln:0614141.00777.0\"},\"sensorElementList\":[{"
	        "\"sensorReport\":[{\"type\":\"Temperature\",\"value\":3}]}]"),
	    &ev, &d));
	trc_event_fini(&ev);

	/* the bounds refuse, not cut */
	{
		cm_buf b = {0};

		TST_OK(cm_buf_printf(&b, "%s",
		                     "{\"type\":\"ObjectEvent\"," HEAD
		                     "\"epcList\":[],\"action\":\"ADD\","
		                     "\"bizTransactionList\":["));
		for (int i = 0; i <= TRC_EVENT_LIST_MAX; i++)
			TST_OK(cm_buf_printf(
			    &b, "%s{\"bizTransaction\":\"urn:x:%d\"}",
			    i ? "," : "", i));
		TST_OK(cm_buf_printf(&b, "]}"));
		TST_OK(cm_buf_append_byte(&b, 0));
		TST_ERR(check_text((const char *) b.p, &ev, &d), CM_EPROTO);
		TST_EQ_STR(d.msg, "event 1 (urn:uuid:e1): bizTransactionList: "
		                  "more than 32 entries");
		trc_event_fini(&ev);
		cm_buf_fini(&b);
	}
	TST_ERR(check_text(OBJ("\"epcList\":{},\"action\":\"ADD\""), &ev, &d),
	        CM_EPROTO);
	TST_EQ_STR(d.msg, "event 1 (urn:uuid:e1): epcList: must be an array");
	trc_event_fini(&ev);

	/* the hash ID is the event's (an ni: eventID kept as given) */
	TST_OK(check_text(OBJ("\"epcList\":[],\"action\":\"ADD\""), &ev, &d));
	TST_TRUE(strlen(ev.hash_id) == 89);
	trc_event_fini(&ev);
	cm_json_free(doc);
	doc = NULL;
}

TST_MAIN(TST_CASE(test_examples), TST_CASE(test_refusals),
         TST_CASE(test_fields))
