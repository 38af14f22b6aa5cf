/* SPDX-License-Identifier: MIT */
/* tests/trace/trc_stream_test.c -- the streaming EPCIS reader: the events
 * of every example document, with the hash IDs jansson's whole-document
 * reading gives; an @context after epcisBody; a query document; a long
 * generated document read through a small window; every refusal with its
 * message. */
#include "tests/tst.h"
#include "tests/tst_file.h"
#include "tests/tst_src.h"
#include "trace/trc.h"

#include <stdio.h>

/* Every event of path through the reader (in 7-byte reads), against the
 * whole document read by jansson: same count, same hash IDs. */
static void
one_doc(const char *path)
{
	cm_buf         text = {0};
	cm_json       *doc = NULL;
	const cm_json *list;
	trc_stream    *t = NULL;
	trc_item       it;
	size_t         n = 0;
	tst_src        s;
	cm_diag        d;

	TST_TRUE(tst_file_read(path, &text));
	TST_OK(cm_json_parse(cm_buf_bytes(&text), &doc, NULL));
	list = trc_hash_events(doc, NULL);
	TST_TRUE(list != NULL);
	s = (tst_src){text.p, text.len, 0, 7, CM_OK};
	TST_OK(trc_stream_new(tst_src_read, &s, 1 << 20, 1 << 20, &t));
	for (;;) {
		cm_json *ev = NULL;
		cm_buf   h1 = {0}, h2 = {0};

		cm_diag_clear(&d);
		TST_OK(trc_stream_next(t, &it, &d));
		if (it.kind != TRC_ITEM_EVENT) {
			if (it.kind == TRC_ITEM_END)
				break;
			TST_TRUE(memcmp(text.p + it.offset, it.value.p,
			                it.value.len) == 0);
			continue;
		}
		n++;
		TST_EQ_U(it.index, n);
		TST_TRUE(memcmp(text.p + it.offset, it.value.p, it.value.len) ==
		         0);
		TST_OK(cm_json_parse(it.value, &ev, &d));
		TST_OK(trc_hash_event_id(doc, ev, &h1, &d));
		TST_OK(
		    trc_hash_event_id(doc, cm_json_at(list, n - 1), &h2, &d));
		TST_TRUE(h1.len == h2.len && h1.len > 0 &&
		         memcmp(h1.p, h2.p, h1.len) == 0);
		cm_buf_fini(&h1);
		cm_buf_fini(&h2);
		cm_json_free(ev);
	}
	TST_EQ_U(n, cm_json_len(list));
	TST_EQ_U(trc_stream_offset(t), text.len);
	trc_stream_free(t);
	cm_json_free(doc);
	cm_buf_fini(&text);
}

static void
examples(void)
{
	static const char *docs[] = {
	    "AssociationEvent-f.jsonld",
	    "ErrorDeclarationAndCorrectiveEvent.jsonld",
	    "Example-TransactionEvents-2020_07_03y.jsonld",
	    "Example_9.6.1-ObjectEvent.jsonld",
	    "Example_9.6.2-ObjectEvent.jsonld",
	    "Example_9.6.3-AggregationEvent.jsonld",
	    "Example_9.6.4-TransformationEvent.jsonld",
	    "SensorDataExample11.jsonld"};
	char path[256];

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		snprintf(path, sizeof(path), "tests/vectors/epcis/%s", docs[i]);
		one_doc(path);
	}
	one_doc("tests/vectors/epcis-hash/epcisQueryDocument.jsonld");
}

/* Reads doc (in step-byte reads) to its end or first error; the items'
 * kinds as letters (m member, e event) into shape, the error's message
 * into d. */
static cm_err
read_all(const char *doc, size_t step, bool skip, size_t mmax, size_t emax,
         char *shape, size_t cap, cm_diag *d)
{
	tst_src     s = {(const uint8_t *) doc, strlen(doc), 0, step, CM_OK};
	trc_stream *t = NULL;
	trc_item    it;
	size_t      k = 0;
	cm_err      rv;

	cm_diag_clear(d);
	if (trc_stream_new(tst_src_read, &s, mmax, emax, &t) != CM_OK)
		return (CM_ENOMEM);
	trc_stream_skip_events(t, skip);
	while ((rv = trc_stream_next(t, &it, d)) == CM_OK &&
	       it.kind != TRC_ITEM_END)
		if (k + 1 < cap)
			shape[k++] = it.kind == TRC_ITEM_MEMBER ? 'm' : 'e';
	shape[k] = 0;
	trc_stream_free(t);
	return (rv);
}

static void
context_after_body(void)
{
	const char *doc =
	    "{\"epcisBody\":{\"eventList\":[{\"a\":\"]}\\\"\"},{\"b\":[1,{}]}"
	    "]},\"@context\":[\"x\"],\"type\":\"EPCISDocument\"}";
	tst_src     s = {(const uint8_t *) doc, strlen(doc), 0, 3, CM_OK};
	trc_stream *t = NULL;
	trc_item    it;
	char        shape[16];
	cm_diag     d;

	TST_OK(read_all(doc, 1, false, 100, 100, shape, sizeof(shape), &d));
	TST_EQ_STR(shape, "eemm");
	/* A quick look: the members only. */
	TST_OK(read_all(doc, 1, true, 100, 100, shape, sizeof(shape), &d));
	TST_EQ_STR(shape, "mm");
	TST_OK(trc_stream_new(tst_src_read, &s, 100, 100, &t));
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_EVENT && it.index == 1 &&
	         cm_bytes_eq_str(it.value, "{\"a\":\"]}\\\"\"}"));
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_EVENT && it.index == 2 &&
	         cm_bytes_eq_str(it.value, "{\"b\":[1,{}]}"));
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_MEMBER &&
	         cm_bytes_eq_str(CM_BYTES(it.name, it.name_len), "@context") &&
	         cm_bytes_eq_str(it.value, "[\"x\"]"));
	TST_EQ_U(trc_stream_list(t), TRC_LIST_BODY);
	trc_stream_free(t);
}

static void
query_and_escapes(void)
{
	const char *q = "{\"type\":\"EPCISQueryDocument\",\"epcisBody\":{"
	                "\"queryResults\":{\"queryName\":\"q\",\"resultsBody\""
	                ":{\"eventList\":[{\"x\":1}]}}}}";
	/* A key written with escapes is the key. */
	const char *e = "{\"\\u0065pcisBody\" : { \"eventList\" : [ {} ] } ,"
	                "\"t\\ud83d\\ude00\\n\":null}";
	tst_src     s = {(const uint8_t *) e, strlen(e), 0, 2, CM_OK};
	trc_stream *t = NULL;
	trc_item    it;
	char        shape[16];
	cm_diag     d;

	TST_OK(read_all(q, 5, false, 100, 100, shape, sizeof(shape), &d));
	TST_EQ_STR(shape, "me");
	TST_OK(trc_stream_new(tst_src_read, &s, 100, 100, &t));
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_EVENT && cm_bytes_eq_str(it.value, "{}"));
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_MEMBER &&
	         cm_bytes_eq_str(CM_BYTES(it.name, it.name_len),
	                         "t\xf0\x9f\x98\x80\n"));
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_END);
	TST_EQ_U(trc_stream_list(t), TRC_LIST_BODY);
	trc_stream_free(t);
}

/* A document of 200,000 events made on the fly, read through the reader's
 * bounded window: the reader never holds more than one event. */
static size_t
event_piece(void *arg, size_t i, char *out, size_t cap)
{
	(void) arg;
	if (i == 0)
		return ((size_t) snprintf(out, cap,
		                          "{\"type\":\"EPCISDocument\","
		                          "\"epcisBody\":{\"eventList\":["));
	if (i <= 200000)
		return ((size_t) snprintf(
		    out, cap, "%s{\"type\":\"ObjectEvent\",\"n\":%zu}",
		    i > 1 ? "," : "", i));
	return (i == 200001 ? (size_t) snprintf(out, cap, "]}}\n") : 0);
}

static void
many_events(void)
{
	tst_gen     g = {event_piece, NULL, 0, 0, 0, false, {0}};
	trc_stream *t = NULL;
	trc_item    it;
	size_t      n = 0;
	cm_diag     d;
	char        want[64];

	/* Events of up to 64 bytes: a larger one would be refused. */
	TST_OK(trc_stream_new(tst_gen_read, &g, 64, 64, &t));
	for (;;) {
		TST_OK(trc_stream_next(t, &it, &d));
		if (it.kind == TRC_ITEM_END)
			break;
		if (it.kind != TRC_ITEM_EVENT)
			continue;
		n++;
		if (n == 123456) {
			snprintf(want, sizeof(want),
			         "{\"type\":\"ObjectEvent\",\"n\":%zu}", n);
			TST_TRUE(it.index == n &&
			         cm_bytes_eq_str(it.value, want));
		}
	}
	TST_EQ_U(n, 200000);
	trc_stream_free(t);
}

static void
refusals(void)
{
	static const struct {
		const char *doc, *msg;
		cm_err      rv;
	} c[] = {
	    {"[]",
	     "EPCIS document: an EPCIS document must be a JSON object "
	     "at byte 0",
	     CM_EPROTO},
	    {"", "EPCIS document: the document ends early at byte 0",
	     CM_EPROTO},
	    {"{\"a\":1,\"a\":2}",
	     "EPCIS document: a member name used twice at byte 7", CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[],\"eventList\":[]}}",
	     "EPCIS document: a member name used twice at byte 29", CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[],\"queryResults\":{"
	     "\"resultsBody\":{\"eventList\":[]}}}}",
	     "EPCIS document: a second event list at byte 72", CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[1]}}",
	     "EPCIS document: an event that is not a JSON object at byte 27",
	     CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[{\"x\":1]}}",
	     "EPCIS document: a bracket that does not match at byte 33",
	     CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[{}{}]}}",
	     "EPCIS document: ',' or ']' was expected in the event list at "
	     "byte 29",
	     CM_EPROTO},
	    {"{\"epcisBody\":[]}",
	     "EPCIS document: epcisBody must be an object at byte 13",
	     CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":{}}}",
	     "EPCIS document: eventList must be an array at byte 26",
	     CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[{}]}} x",
	     "EPCIS document: bytes after the document at byte 33", CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[{}]",
	     "EPCIS document: the document ends early at byte 30", CM_EPROTO},
	    {"{\"type\":tru}",
	     "EPCIS document: the value at byte 8: JSON: invalid token near "
	     "'tru' (line 1, column 3)",
	     CM_EPROTO},
	    {"{\"a\" 1}", "EPCIS document: ':' was expected at byte 5",
	     CM_EPROTO},
	    {"{\"a\":1 \"b\":2}",
	     "EPCIS document: ',' or '}' was expected at byte 7", CM_EPROTO},
	    {"{\"\\u0000\":1}", "EPCIS document: \\u0000 in a key at byte 8",
	     CM_EPROTO},
	    {"{\"\\ud800x\":1}",
	     "EPCIS document: a lone surrogate in a key at byte 8", CM_EPROTO},
	    {"{\"\\q\":1}", "EPCIS document: a bad escape in a key at byte 4",
	     CM_EPROTO},
	    {"{\"\xff\":1}",
	     "EPCIS document: a key that is not UTF-8 at byte 1", CM_EPROTO},
	    {"{\"a\nb\":1}",
	     "EPCIS document: a control character in a key at byte 4",
	     CM_EPROTO},
	    {"{\"epcisBody\":{\"eventList\":[{\"a\":\"0123456789012345678901234"
	     "567890123456789\"}]}}",
	     "EPCIS document: event 1 at byte 27 is larger than 40 bytes",
	     CM_ETOOBIG},
	    {"{\"epcisHeader\":\"01234567890123456789012345678901234567890\"}",
	     "EPCIS document: a member's value at byte 15 is larger than 40 "
	     "bytes",
	     CM_ETOOBIG},
	};
	char    shape[16], deep[600];
	cm_diag d;
	size_t  k = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		TST_ERR(read_all(c[i].doc, 3, false, 40, 40, shape,
		                 sizeof(shape), &d),
		        c[i].rv);
		if (strcmp(d.msg, c[i].msg) != 0)
			fprintf(stderr, "case %zu: got \"%s\"\n", i, d.msg);
		TST_EQ_STR(d.msg, c[i].msg);
	}
	/* Nesting past TRC_STREAM_DEPTH_MAX inside a member. */
	k += (size_t) snprintf(deep, sizeof(deep), "{\"x\":");
	for (int i = 0; i <= TRC_STREAM_DEPTH_MAX; i++)
		deep[k++] = '[';
	deep[k] = 0;
	TST_ERR(read_all(deep, 64, false, 1000, 1000, shape, sizeof(shape), &d),
	        CM_EPROTO);
	TST_EQ_STR(d.msg, "EPCIS document: nesting too deep at byte 133");
	/* A key longer than TRC_STREAM_KEY_MAX. */
	k = 0;
	deep[k++] = '{';
	deep[k++] = '"';
	for (int i = 0; i < 300; i++)
		deep[k++] = 'k';
	deep[k++] = '"';
	deep[k] = 0;
	TST_ERR(read_all(deep, 64, false, 1000, 1000, shape, sizeof(shape), &d),
	        CM_EPROTO);
	TST_EQ_STR(d.msg, "EPCIS document: a member name longer than 256 "
	                  "bytes at byte 1");
}

static void
read_error(void)
{
	const char *doc = "{\"epcisBody\":{\"eventList\":[{}";
	tst_src     s = {(const uint8_t *) doc, strlen(doc), 0, 4, CM_EIO};
	trc_stream *t = NULL;
	trc_item    it;
	cm_diag     d;

	cm_diag_clear(&d);
	TST_OK(trc_stream_new(tst_src_read, &s, 100, 100, &t));
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_EVENT);
	TST_ERR(trc_stream_next(t, &it, &d), CM_EIO);
	TST_EQ_STR(d.msg, "EPCIS document: read failed at byte 29: I/O error");
	/* After an error: the end, every time. */
	TST_OK(trc_stream_next(t, &it, &d));
	TST_TRUE(it.kind == TRC_ITEM_END);
	trc_stream_free(t);
}

TST_MAIN(TST_CASE(examples), TST_CASE(context_after_body),
         TST_CASE(query_and_escapes), TST_CASE(many_events), TST_CASE(refusals),
         TST_CASE(read_error))
