/* SPDX-License-Identifier: MIT */
/* tests/trace/trc_hash_test.c -- the event hash against the published
 * vectors (tests/vectors/epcis-hash/, see its README): for every event of
 * every JSON-LD vector document, the pre-hash string byte for byte and the
 * hash ID; then the refusals. */
#include "tests/tst.h"
#include "tests/tst_file.h"
#include "trace/trc.h"

#define VEC "tests/vectors/epcis-hash/"

static const char *const vectors[] = {
    "epcisDocWithVariousEventTypes.jsonld",
    "ObjectEvent_all_possible_fields.json",
    "TimeStampRoundOff.jsonld",
    "ReferenceEventHashAlgorithm2.jsonld",
    "epcisDocWithXMLstartTagAndErrorDeclaration.jsonld",
    "ReferenceEventHashAlgorithm3.jsonld",
    "epcisDocWithSensorComponent.jsonld",
    "epcisDocWithAllGS1Keys.jsonld",
    "epcisQueryDocument.jsonld",
    "AggregationEvent_all_possible_fields.json",
    "AssociationEvent_all_possible_fields.json",
    "TransformationEvent_all_possible_fields.json",
};

static int events_checked;

/* The i-th line of text (without its newline) as a view. */
static cm_bytes
line_at(const cm_buf *text, size_t i)
{
	size_t s = 0;

	for (size_t k = 0; k < i; k++) {
		const uint8_t *nl = memchr(text->p + s, '\n', text->len - s);

		if (nl == NULL)
			return (CM_BYTES(NULL, 0));
		s = (size_t) (nl - text->p) + 1;
	}
	{
		const uint8_t *nl = memchr(text->p + s, '\n', text->len - s);
		size_t         e = nl ? (size_t) (nl - text->p) : text->len;

		return (CM_BYTES(text->p + s, e - s));
	}
}

static void
check_vector(const char *name)
{
	char           path[256], base[200];
	cm_buf         doc = {0}, pre = {0}, hashes = {0};
	cm_json       *j = NULL;
	const cm_json *list;
	cm_diag        d;
	size_t         dot;

	snprintf(base, sizeof(base), "%s", name);
	dot = strcspn(base, ".");
	base[dot] = '\0';
	snprintf(path, sizeof(path), VEC "%s", name);
	TST_TRUE(tst_file_read(path, &doc));
	snprintf(path, sizeof(path), VEC "%s.prehashes", base);
	TST_TRUE(tst_file_read(path, &pre));
	snprintf(path, sizeof(path), VEC "%s.hashes", base);
	TST_TRUE(tst_file_read(path, &hashes));
	cm_diag_clear(&d);
	TST_OK(cm_json_parse(cm_buf_bytes(&doc), &j, &d));
	list = trc_hash_events(j, &d);
	TST_TRUE(list != NULL && cm_json_len(list) > 0);
	for (size_t i = 0; i < cm_json_len(list); i++) {
		cm_buf   got = {0}, id = {0};
		cm_bytes want = line_at(&pre, i), want_id = line_at(&hashes, i);

		TST_OK(trc_hash_prehash(j, cm_json_at(list, i), &got, &d));
		TST_OK(trc_hash_id(cm_buf_bytes(&got), &id));
		if (!cm_bytes_eq(cm_buf_bytes(&got), want) ||
		    !cm_bytes_eq(cm_buf_bytes(&id), want_id)) {
			fprintf(stderr, "%s event %zu:\n got %.*s\nwant %.*s\n",
			        name, i, (int) got.len, (const char *) got.p,
			        (int) want.len, (const char *) want.p);
			tst_case_failed = 1;
		}
		events_checked++;
		cm_buf_fini(&got);
		cm_buf_fini(&id);
	}
	/* As many events as lines. */
	TST_TRUE(line_at(&hashes, cm_json_len(list)).len == 0);
	cm_json_free(j);
	cm_buf_fini(&doc);
	cm_buf_fini(&pre);
	cm_buf_fini(&hashes);
}

static void
test_vectors(void)
{
	events_checked = 0;
	for (size_t i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++)
		check_vector(vectors[i]);
	printf("epcis-hash vectors: %d events\n", events_checked);
}

/* An event as JSON text: its pre-hash, or the refusal's message. */
static void
refused(const char *event, const char *want, int line)
{
	cm_json *j = NULL;
	cm_buf   out = {0};
	cm_diag  d;
	cm_err   rv;

	cm_diag_clear(&d);
	if (cm_json_parse(CM_BYTES(event, strlen(event)), &j, &d) != CM_OK) {
		fprintf(stderr, "%s:%d: bad test JSON\n", __FILE__, line);
		tst_case_failed = 1;
		return;
	}
	/* Something already in out stays as it was. */
	TST_OK(cm_buf_append(&out, "kept", 4));
	rv = trc_hash_prehash(NULL, j, &out, &d);
	if (rv != CM_EPROTO || strcmp(d.msg, want) != 0 ||
	    !cm_bytes_eq_str(cm_buf_bytes(&out), "kept")) {
		fprintf(stderr, "%s:%d: %s -> %s \"%s\", want \"%s\"\n",
		        __FILE__, line, event, cm_errname(rv), d.msg, want);
		tst_case_failed = 1;
	}
	cm_buf_fini(&out);
	cm_json_free(j);
}
#define REFUSED(event, want) refused(event, want, __LINE__)

static void
test_refusals(void)
{
	cm_diag  d;
	cm_json *j = NULL;

	REFUSED("[]", "event is not a JSON object");
	REFUSED("{\"eventTime\":\"2020-01-01T00:00:00Z\"}",
	        "event has no type");
	REFUSED("{\"type\":\"ObjectEvent\"}", "ObjectEvent has no eventTime");
	REFUSED(
	    "{\"type\":\"ThingEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\"}",
	    "unknown event type \"ThingEvent\"");
	REFUSED(
	    "{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00\"}",
	    "eventTime is not a date-time with a zone "
	    "(YYYY-MM-DDThh:mm:ss[.f]Z or +hh:mm)");
	REFUSED(
	    "{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-02-30T00:00:00Z\"}",
	    "eventTime is not a date-time with a zone "
	    "(YYYY-MM-DDThh:mm:ss[.f]Z or +hh:mm)");
	REFUSED(
	    "{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\","
	    "\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"
	    "]}",
	    "extension nested deeper than 24 levels");
	/* Not a document. */
	cm_diag_clear(&d);
	TST_OK(cm_json_parse(CM_BYTES("{\"epcisBody\":{}}", 16), &j, &d));
	TST_TRUE(trc_hash_events(j, &d) == NULL);
	TST_EQ_STR(d.msg, "not an EPCIS document: no epcisBody.eventList (or "
	                  "epcisBody.queryResults.resultsBody.eventList)");
	cm_json_free(j);
}

/* The rules the vectors do not reach: rounding that carries into the next
 * day, offsets, numbers in text, CURIEs without a context prefix. */
static void
test_rules(void)
{
	static const struct {
		const char *event, *want;
	} cases[] = {
	    {"{\"type\":\"ObjectEvent\",\"eventTime\":"
	     "\"2020-12-31T23:59:59.9996+00:00\"}",
	     "eventType=ObjectEventeventTime=2021-01-01T00:00:00.000Z"},
	    {"{\"type\":\"ObjectEvent\",\"eventTime\":"
	     "\"2020-03-01T01:30:00-02:30\",\"ext:n\":\"+007.50\","
	     "\"ext:m\":1.5e-7,\"ext:k\":-0.0}",
	     "eventType=ObjectEventeventTime=2020-03-01T04:00:00.000Z"
	     "ext:k=0ext:m=1.5e-07ext:n=7.5"},
	    {"{\"type\":\"ObjectEvent\",\"eventTime\":"
	     "\"2024-02-29T12:00:00Z\",\"eventID\":\"urn:uuid:1\","
	     "\"recordTime\":\"2024-02-29T12:00:00Z\","
	     "\"errorDeclaration\":{\"reason\":\"x\"}}",
	     "eventType=ObjectEventeventTime=2024-02-29T12:00:00.000Z"},
	    /* Integral doubles with all their digits, as Python's int(). */
	    {"{\"type\":\"ObjectEvent\",\"eventTime\":"
	     "\"2024-02-29T12:00:00Z\",\"ext:a\":1e70,\"ext:b\":\"1e23\"}",
	     "eventType=ObjectEventeventTime=2024-02-29T12:00:00.000Z"
	     "ext:a="
	     "1000000000000000072531436381529235126158374409646521955518210"
	     "1554790400ext:b=99999999999999991611392"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cm_json *j = NULL;
		cm_buf   out = {0};
		cm_diag  d;

		cm_diag_clear(&d);
		TST_OK(cm_json_parse(
		    CM_BYTES(cases[i].event, strlen(cases[i].event)), &j, &d));
		TST_OK(trc_hash_prehash(NULL, j, &out, &d));
		TST_TRUE(cm_bytes_eq_str(cm_buf_bytes(&out), cases[i].want));
		if (!cm_bytes_eq_str(cm_buf_bytes(&out), cases[i].want))
			fprintf(stderr, " got %.*s\n", (int) out.len,
			        (const char *) out.p);
		cm_buf_fini(&out);
		cm_json_free(j);
	}
}

/* An eventID that is a hash is the event's ID as given, matching or not;
 * any other eventID gives way to the computed hash. */
static void
test_event_id(void)
{
	static const char ev[] =
	    "{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\","
	    "\"eventID\":\"ni:///sha-256;00?ver=CBV2.0\"}";
	static const char ev2[] =
	    "{\"type\":\"ObjectEvent\",\"eventTime\":\"2020-01-01T00:00:00Z\","
	    "\"eventID\":\"urn:uuid:1\"}";
	cm_json *j = NULL;
	cm_buf   out = {0}, pre = {0}, id = {0};
	cm_diag  d;

	cm_diag_clear(&d);
	TST_OK(cm_json_parse(CM_BYTES(ev, strlen(ev)), &j, &d));
	TST_OK(trc_hash_event_id(NULL, j, &out, &d));
	TST_TRUE(
	    cm_bytes_eq_str(cm_buf_bytes(&out), "ni:///sha-256;00?ver=CBV2.0"));
	cm_json_free(j);
	cm_buf_reset(&out);
	TST_OK(cm_json_parse(CM_BYTES(ev2, strlen(ev2)), &j, &d));
	TST_OK(trc_hash_event_id(NULL, j, &out, &d));
	TST_OK(trc_hash_prehash(NULL, j, &pre, &d));
	TST_OK(trc_hash_id(cm_buf_bytes(&pre), &id));
	TST_TRUE(cm_bytes_eq(cm_buf_bytes(&out), cm_buf_bytes(&id)));
	TST_TRUE(out.len == 14 + 64 + 11);
	cm_json_free(j);
	cm_buf_fini(&out);
	cm_buf_fini(&pre);
	cm_buf_fini(&id);
}

TST_MAIN(TST_CASE(test_vectors), TST_CASE(test_refusals), TST_CASE(test_rules),
         TST_CASE(test_event_id))
