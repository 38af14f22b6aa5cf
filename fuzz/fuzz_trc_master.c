/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_trc_master.c -- the master-data records' decoders (trace.bind,
 * claim, confirm, delegate, undelegate, name) on arbitrary bytes.  Oracle:
 * a refusal is CM_EPROTO or CM_ENONCANON with a message; what a decoder
 * accepts has its bounds (6 to 13 digits, a name key), and
 * trc_master_encode of what it decoded gives back the same bytes (for a
 * trace.name without attributes: those are checked, not kept). */
#include "trace/trc_impl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef cm_err (*decode_fn)(const cm_cbor_map *rec, void *out, cm_diag *d);

/* Whether the record's "kind" is op's kind (its CBOR text is in it). */
static bool
own_kind(const uint8_t *p, size_t n, trc_master_op op)
{
	const char *k = trc_master_kind(op);
	size_t      kl = strlen(k);

	for (size_t i = 0; i + 1 + kl <= n; i++)
		if (p[i] == 0x60 + kl && memcmp(p + i + 1, k, kl) == 0)
			return (true);
	return (false);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const decode_fn dec[] = {
	    trc_mk_bind_decode,       trc_mk_claim_decode,
	    trc_mk_confirm_decode,    trc_mk_delegate_decode,
	    trc_mk_undelegate_decode, trc_mk_name_decode};
	cm_cbor_map m;
	cm_diag     d;

	cm_diag_clear(&d);
	if (cm_cbor_check_map(CM_BYTES(data, size), &m, &d) != CM_OK)
		return (0);
	for (size_t op = 0; op < sizeof(dec) / sizeof(dec[0]); op++) {
		trc_mrec      r;
		trc_master_in in;
		cm_buf        b = {0};
		char          id[TRC_ID_TEXT_MAX + 1], name[TRC_NAME_MAX + 1];
		cm_err        rv;

		cm_diag_clear(&d);
		rv = dec[op](&m, &r, &d);
		if (rv != CM_OK) {
			if ((rv != CM_EPROTO && rv != CM_ENONCANON) ||
			    d.msg[0] == '\0')
				abort();
			continue;
		}
		memset(&in, 0, sizeof(in));
		in.op = (trc_master_op) op;
		in.key = r.digits;
		in.uscc = r.uscc;
		if (op == TRC_M_NAME) {
			/* Attributes are not kept decoded: round trip
			 * without them only. */
			if (r.id.len > TRC_ID_TEXT_MAX ||
			    r.name.len > TRC_NAME_MAX || r.key_len == 0)
				abort();
			memcpy(id, r.id.p, r.id.len);
			id[r.id.len] = '\0';
			memcpy(name, r.name.p, r.name.len);
			name[r.name.len] = '\0';
			in.id = id;
			in.name = name;
		} else if (strlen(r.digits) < 6 || strlen(r.digits) > 13) {
			abort();
		}
		if (trc_master_encode(&in, &b, &d) != CM_OK)
			abort();
		/* The decoders leave "kind" to the ledger's dispatch: bind
		 * and confirm have one shape, as do the delegations. */
		if (own_kind(data, size, (trc_master_op) op) &&
		    (op != TRC_M_NAME || b.len == size) &&
		    (b.len != size || memcmp(b.p, data, size) != 0))
			abort();
		cm_buf_fini(&b);
	}
	return (0);
}
