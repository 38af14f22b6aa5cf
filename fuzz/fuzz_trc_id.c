/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_trc_id.c -- trc_id_parse on arbitrary bytes (as a scan, so
 * every form is reachable; the length picks the company-prefix length
 * master data answers, and whether a USCC scopes restricted GTINs).  Oracle: a
 * refusal carries a reason; an accepted identifier's key is printable ASCII,
 * and each form it formats to parses back to the same key (parse -> format ->
 * parse). */
#include "trace/trc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static unsigned
gcp_from_arg(void *arg, const char *p, size_t len)
{
	(void) p;
	(void) len;
	return (*(const unsigned *) arg);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const trc_id_form forms[] = {TRC_FORM_DL, TRC_FORM_URN,
	                                    TRC_FORM_ORIGINAL};
	unsigned   gcp = 6 + (unsigned) (size % 8); /* 13: invalid */
	trc_id_ctx ctx = {.scans = true, .gcp_len = gcp_from_arg, .arg = &gcp};
	trc_id     id, again;
	cm_diag    d;

	if (size % 2 == 1)
		ctx.uscc = CM_BYTES("91350100M000100Y43", 18);
	cm_diag_clear(&d);
	if (trc_id_parse(CM_BYTES(data, size), &ctx, &id, &d) != CM_OK) {
		if (d.msg[0] == '\0')
			abort();
		return (0);
	}
	if (id.key_len == 0 || id.key_len > TRC_ID_KEY_MAX ||
	    id.orig_len != size || memcmp(id.orig, data, size) != 0)
		abort();
	for (size_t i = 0; i < id.key_len; i++)
		if ((uint8_t) id.key[i] <= 0x20 || (uint8_t) id.key[i] >= 0x7f)
			abort();
	for (size_t f = 0; f < sizeof(forms) / sizeof(forms[0]); f++) {
		cm_buf b = {0};

		if (trc_id_format(&id, forms[f], &b) != CM_OK)
			abort();
		if (trc_id_parse(cm_buf_bytes(&b), &ctx, &again, &d) != CM_OK ||
		    again.key_len != id.key_len ||
		    memcmp(again.key, id.key, id.key_len) != 0)
			abort();
		cm_buf_fini(&b);
	}
	return (0);
}
