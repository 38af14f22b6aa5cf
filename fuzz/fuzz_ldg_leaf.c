/* SPDX-License-Identifier: MIT */
/* fuzz/fuzz_ldg_leaf.c -- the ledger's decoders: batch file, signed header,
 * header leaf, record leaf, genesis, identity and attestation records, and
 * the JSON batch reader.  The first byte picks the decoder.  Oracle: what
 * decodes re-encodes to the same bytes (or, where re-encoding needs a
 * private key, is canonical). */
#include "ledger/ldg_impl.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_or_die(const cm_buf *b, cm_bytes in)
{
	if (!cm_bytes_eq(cm_buf_bytes(b), in))
		abort();
}

static void
fuzz_batchfile(cm_bytes in)
{
	ldg_batchfile bf;
	cm_bytes     *recs;
	cm_cbor_rd    r;
	uint64_t      n;
	cm_buf        out = {0};

	if (ldg_batchfile_decode(in, &bf, NULL) != CM_OK)
		return;
	if ((recs = calloc(bf.nrecs + 1, sizeof(*recs))) == NULL)
		return;
	cm_cbor_rd_init(&r, bf.recs_item, NULL);
	if (cm_cbor_rd_array(&r, &n) != CM_OK || n != bf.nrecs)
		abort();
	for (uint64_t i = 0; i < n; i++)
		if (cm_cbor_rd_bytes(&r, &recs[i]) != CM_OK)
			abort();
	if (ldg_batchfile_encode(bf.h.hdr, bf.h.sig.p, recs, n, &out) != CM_OK)
		abort();
	same_or_die(&out, in);
	cm_buf_fini(&out);
	free(recs);
}

static void
fuzz_hdr(cm_bytes in)
{
	ldg_hdr h;
	char    origin[LDG_ORIGIN_MAX + 1];
	cm_buf  out = {0};

	if (ldg_hdr_decode(in, &h, NULL) != CM_OK)
		return;
	if (h.origin.len > LDG_ORIGIN_MAX ||
	    memchr(h.origin.p, 0, h.origin.len) != NULL)
		return;
	memcpy(origin, h.origin.p, h.origin.len);
	origin[h.origin.len] = '\0';
	if (ldg_hdr_encode(origin, h.kid.p, h.seq, h.time, h.n, h.root.p,
	                   &out) != CM_OK)
		abort();
	same_or_die(&out, in);
	cm_buf_fini(&out);
}

static void
fuzz_hleaf(cm_bytes in)
{
	ldg_hleaf hl;
	cm_buf    out = {0};

	if (ldg_hleaf_decode(in, &hl, NULL) != CM_OK)
		return;
	if (ldg_hleaf_encode(&hl, &out) != CM_OK)
		abort();
	same_or_die(&out, in);
	cm_buf_fini(&out);
}

static void
fuzz_rleaf(cm_bytes in)
{
	ldg_rleaf rl;
	cm_buf    out = {0};

	if (ldg_rleaf_decode(in, &rl, NULL) != CM_OK)
		return;
	if (ldg_rleaf_encode(rl.hh.p, rl.hi, rl.pos, rl.rec, &out) != CM_OK)
		abort();
	same_or_die(&out, in);
	cm_buf_fini(&out);
}

static void
fuzz_canonical_if(cm_err rv, cm_bytes in)
{
	if (rv == CM_OK && cm_cbor_check(in, NULL) != CM_OK)
		abort();
}

static void
fuzz_json(cm_bytes in)
{
	ldg_params p;
	cm_buf     out = {0};
	size_t    *offs = NULL, n = 0;

	ldg_params_default(&p);
	if (ldg_json_records(in, &out, &offs, &n, &p, NULL) == CM_OK) {
		for (size_t i = 0; i < n; i++) {
			cm_bytes rec =
			    CM_BYTES(out.p + offs[i], offs[i + 1] - offs[i]);
			cm_bytes kind;

			if (cm_cbor_check(rec, NULL) != CM_OK ||
			    ldg_record_kind(rec, &kind, NULL) != CM_OK)
				abort();
		}
	}
	free(offs);
	cm_buf_fini(&out);
}

/* ldg_record_head finds the same kind as ldg_record_kind, and the refs
 * item it finds in the same scan is the whole "refs" value: one complete
 * canonical item inside the record, or empty when the record has none.
 * The entries it hands the kind's decode are those a reader walk finds. */
static void
record_head_oracle(cm_bytes rec, cm_bytes kind, cm_cbor_map *m)
{
	cm_bytes   k2, refs, key, val, want = CM_BYTES(NULL, 0);
	cm_cbor_rd r;
	uint64_t   n;

	if (ldg_record_head(rec, &k2, &refs, m, NULL) != CM_OK ||
	    !cm_bytes_eq(kind, k2))
		abort();
	cm_cbor_rd_init(&r, rec, NULL);
	if (cm_cbor_rd_map(&r, &n) != CM_OK)
		abort();
	if (m->item.p != rec.p || m->item.len != rec.len ||
	    m->complete != (n <= CM_CBOR_MAP_MAX) || (m->complete && m->n != n))
		abort();
	for (uint64_t i = 0; i < n; i++) {
		if (cm_cbor_rd_text(&r, &key) != CM_OK ||
		    cm_cbor_rd_skip(&r, &val) != CM_OK)
			abort();
		if (m->complete &&
		    (!cm_bytes_eq(key, m->key[i]) || m->key[i].p != key.p ||
		     m->val[i].p != val.p || m->val[i].len != val.len))
			abort();
		if (cm_bytes_eq(key, CM_BYTES("refs", 4)))
			want = val;
	}
	if (refs.len != want.len ||
	    (refs.len > 0 &&
	     (refs.p != want.p || cm_cbor_check(refs, NULL) != CM_OK)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cm_bytes                      in;
	ldg_genesis                   g;
	_Alignas(max_align_t) uint8_t decoded[LDG_DECODED_MAX];
	cm_bytes                      kind;
	cm_cbor_map                   m;

	if (size < 1)
		return (0);
	in = CM_BYTES(data + 1, size - 1);
	switch (data[0] % 8) {
	case 0:
		fuzz_batchfile(in);
		break;
	case 1:
		fuzz_hdr(in);
		break;
	case 2:
		fuzz_hleaf(in);
		break;
	case 3:
		fuzz_rleaf(in);
		break;
	case 4:
		fuzz_canonical_if(ldg_genesis_decode(in, &g, NULL), in);
		break;
	case 5:
	case 6:
		/* As on the append path: a kind decodes only records that
		 * passed the canonical check and name their kind. */
		if (ldg_record_kind(in, &kind, NULL) != CM_OK)
			break;
		record_head_oracle(in, kind, &m);
		if (data[0] % 8 == 5)
			(void) ldg_ident_module.kinds[0].decode(&m, NULL, NULL);
		else
			(void) ldg_attest_module.kinds[0].decode(&m, decoded,
			                                         NULL);
		break;
	default:
		fuzz_json(in);
		break;
	}
	return (0);
}
