/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_trc_hash.c -- the event pre-hash builder on arbitrary JSON: a
 * document's events, or the value itself as one event.  Oracle: a refusal
 * carries a reason and leaves the output as it was; an accepted event's
 * pre-hash starts "eventType=", is the same when built twice, and its ID
 * is the 89-byte ni: form. */
#include "trace/trc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one(const cm_json *doc, const cm_json *ev)
{
	cm_buf  a = {0}, b = {0}, id = {0};
	cm_diag d;

	cm_diag_clear(&d);
	if (trc_hash_prehash(doc, ev, &a, &d) != CM_OK) {
		if (d.msg[0] == '\0' || a.len != 0)
			abort();
		return;
	}
	if (trc_hash_prehash(doc, ev, &b, &d) != CM_OK || a.len < 10 ||
	    memcmp(a.p, "eventType=", 10) != 0 || a.len != b.len ||
	    memcmp(a.p, b.p, a.len) != 0)
		abort();
	if (trc_hash_id(cm_buf_bytes(&a), &id) != CM_OK || id.len != 89)
		abort();
	cm_buf_fini(&a);
	cm_buf_fini(&b);
	cm_buf_fini(&id);
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
			one(j, cm_json_at(list, i));
	} else {
		one(NULL, j);
	}
	cm_json_free(j);
	return (0);
}
