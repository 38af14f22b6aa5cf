/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_trc_stream.c -- the streaming EPCIS reader on arbitrary bytes.
 * The first byte picks the read size (1-64 bytes a read), the rest is the
 * document.  Oracles: the items and the outcome do not depend on how the
 * input is cut into reads; skipping events changes neither the members nor
 * the outcome when the events are valid JSON; a document read to the end
 * whose events parse is valid JSON as a whole (jansson), holds that many
 * events in its event list, and each span is that event's bytes. */
#include "trace/trc.h"

#include "tests/tst_src.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
	cm_err  rv;
	cm_diag d;
	uint8_t digest[CM_HASH_LEN];  /* of every item */
	uint8_t mdigest[CM_HASH_LEN]; /* of the members only */
	size_t  nevents;
	bool    events_json; /* every event span parses */
	int     list;
} run;

static void
scan(const uint8_t *p, size_t len, size_t step, bool skip, run *r)
{
	tst_src     s = {p, len, 0, step, CM_OK};
	trc_stream *t = NULL;
	cm_buf      all = {0}, mem = {0};
	trc_item    it;

	memset(r, 0, sizeof(*r));
	r->events_json = true;
	cm_diag_clear(&r->d);
	if (trc_stream_new(tst_src_read, &s, 4096, 4096, &t) != CM_OK)
		abort();
	trc_stream_skip_events(t, skip);
	for (;;) {
		uint8_t hd[24];
		cm_buf *b;

		r->rv = trc_stream_next(t, &it, &r->d);
		if (r->rv != CM_OK || it.kind == TRC_ITEM_END)
			break;
		b = it.kind == TRC_ITEM_MEMBER ? &mem : &all;
		cm_put_u64be(hd, it.kind);
		cm_put_u64be(hd + 8, it.offset);
		cm_put_u64be(hd + 16, it.value.len);
		if (cm_buf_append(b, hd, sizeof(hd)) != CM_OK ||
		    cm_buf_append(b, it.name, it.name_len) != CM_OK ||
		    cm_buf_append(b, it.value.p, it.value.len) != CM_OK)
			abort();
		if (it.kind == TRC_ITEM_EVENT) {
			cm_json *j = NULL;

			r->nevents++;
			if (it.index != r->nevents || it.value.len == 0 ||
			    it.value.p[0] != '{' ||
			    memcmp(p + it.offset, it.value.p, it.value.len) !=
			        0)
				abort();
			if (cm_json_parse(it.value, &j, NULL) != CM_OK)
				r->events_json = false;
			cm_json_free(j);
		} else if (it.value.len == 0 ||
		           memcmp(p + it.offset, it.value.p, it.value.len) !=
		               0) {
			abort();
		}
	}
	if (trc_stream_next(t, &it, NULL) != CM_OK || it.kind != TRC_ITEM_END)
		abort(); /* after the end or an error: the end */
	r->list = trc_stream_list(t);
	cm_sha256(all.p, all.len, r->digest);
	cm_sha256(mem.p, mem.len, r->mdigest);
	cm_buf_fini(&all);
	cm_buf_fini(&mem);
	trc_stream_free(t);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run            a, b, c;
	cm_json       *doc = NULL;
	const cm_json *body, *list;

	if (size == 0)
		return (0);
	scan(data + 1, size - 1, 1 + data[0] % 64, false, &a);
	scan(data + 1, size - 1, 65536, false, &b);
	if (a.rv != b.rv || strcmp(a.d.msg, b.d.msg) != 0 ||
	    memcmp(a.digest, b.digest, CM_HASH_LEN) != 0 ||
	    memcmp(a.mdigest, b.mdigest, CM_HASH_LEN) != 0 ||
	    a.nevents != b.nevents)
		abort();
	if (a.rv != CM_OK || !a.events_json)
		return (0);
	/* The quick look sees the same members. */
	scan(data + 1, size - 1, 1 + data[0] % 64, true, &c);
	if (c.rv != CM_OK || c.nevents != 0 ||
	    memcmp(a.mdigest, c.mdigest, CM_HASH_LEN) != 0 || c.list != a.list)
		abort();
	if (cm_json_parse(CM_BYTES(data + 1, size - 1), &doc, NULL) != CM_OK ||
	    !cm_json_is_object(doc))
		abort();
	body = cm_json_get(doc, "epcisBody");
	list = a.list == TRC_LIST_BODY ? cm_json_get(body, "eventList")
	       : a.list == TRC_LIST_QUERY
	           ? cm_json_get(cm_json_get(cm_json_get(body, "queryResults"),
	                                     "resultsBody"),
	                         "eventList")
	           : NULL;
	if ((a.list == TRC_LIST_NONE) != (list == NULL) ||
	    (list != NULL && cm_json_len(list) != a.nevents))
		abort();
	cm_json_free(doc);
	return (0);
}
