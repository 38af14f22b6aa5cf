/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_trc_event.c -- the event validator on arbitrary JSON: a
 * document's events, or the value itself as one event.  Oracle: a refusal
 * names the event; an accepted event has a type, an 89-byte ni: hash ID
 * unless its eventID is an ni: hash, at most the bounded counts, and is
 * accepted the same way twice. */
#include "trace/trc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const cm_json *doc, const cm_json *e, size_t i)
{
	trc_event_ctx c = {doc, i + 1, CM_BYTES("91350100M000100Y43", 18)};
	trc_event     a, b;
	cm_diag       d;
	cm_err        rv;

	cm_diag_clear(&d);
	rv = trc_event_check(e, &c, &a, &d);
	if (rv != CM_OK) {
		if (rv != CM_EPROTO || memcmp(d.msg, "event ", 6) != 0)
			abort();
		trc_event_fini(&a);
		return;
	}
	if (trc_event_check(e, &c, &b, &d) != CM_OK || a.nrefs != b.nrefs ||
	    a.type != b.type || a.time_ms != b.time_ms ||
	    strcmp(a.hash_id, b.hash_id) != 0 || a.index != i + 1 ||
	    a.nparties > TRC_EVENT_LIST_MAX || a.nbiztx > TRC_EVENT_LIST_MAX ||
	    a.nsensor_exc > TRC_EVENT_LIST_MAX ||
	    (memcmp(a.hash_id, "ni:", 3) != 0))
		abort();
	for (size_t k = 0; k < a.nrefs; k++)
		if (a.refs[k].key_len == 0 ||
		    a.refs[k].key_len > TRC_ID_KEY_MAX ||
		    memcmp(a.refs[k].key, b.refs[k].key, a.refs[k].key_len) !=
		        0)
			abort();
	trc_event_fini(&a);
	trc_event_fini(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cm_json       *j = NULL;
	const cm_json *list;
	cm_diag        d;

	cm_diag_clear(&d);
	if (cm_json_parse(CM_BYTES(data, size), &j, &d) != CM_OK)
		return (0);
	list = trc_hash_events(j, NULL);
	if (list != NULL) {
		for (size_t i = 0; i < cm_json_len(list); i++)
			one(j, cm_json_at(list, i), i);
	} else {
		one(NULL, j, 0);
	}
	cm_json_free(j);
	return (0);
}
