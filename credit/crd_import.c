/* SPDX-License-Identifier: MIT */
/* credit/crd_import.c -- the record kind credit.import: the manifest that
 * ends a CSV import (tally credit import), naming the file by its SHA-256,
 * its event rows and the leaves its events are in, so that a reader can
 * tell which records came from which file.  Reached through ledger/ldg.h
 * only.  Format: docs/format.md section 5.7. */
#include "credit/crd_impl.h"

#include <string.h>

cm_err
crd_import_encode(const crd_import *m, cm_buf *out)
{
	cm_cbor_wr w;

	/* Canonical order: shorter keys first, then bytewise. */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 6);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, CRD_KIND_IMPORT);
	cm_cbor_wr_cstr(&w, "last");
	cm_cbor_wr_uint(&w, m->last);
	cm_cbor_wr_cstr(&w, "rows");
	cm_cbor_wr_uint(&w, m->rows);
	cm_cbor_wr_cstr(&w, "first");
	cm_cbor_wr_uint(&w, m->first);
	cm_cbor_wr_cstr(&w, "sha256");
	cm_cbor_wr_bytes(&w, CM_BYTES(m->sha, CM_HASH_LEN));
	return (cm_cbor_wr_finish(&w, NULL));
}

static cm_err
import_fields(const cm_cbor_map *rec, crd_import *out, cm_diag *d)
{
	enum { T, KIND, LAST, ROWS, FIRST, SHA, NF };
	ldg_field f[NF] = {{"t", true},    {"kind", true},  {"last", true},
	                   {"rows", true}, {"first", true}, {"sha256", true}};
	cm_err    rv;

	memset(out, 0, sizeof(*out));
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = ldg_field_uint(&f[LAST], &out->last, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[ROWS], &out->rows, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[FIRST], &out->first, d)) != CM_OK ||
	    (rv = ldg_field_fixed(&f[SHA], CM_HASH_LEN, out->sha, d)) != CM_OK)
		return (rv);
	/* No rows, no leaves; rows, a range. */
	if (out->rows == 0 ? out->first != 0 || out->last != 0
	                   : out->first == 0 || out->first > out->last)
		return (cm_fail(d, CM_EPROTO,
		                "%s: first..last must be the leaves of the "
		                "rows (0..0 for none)",
		                CRD_KIND_IMPORT));
	return (CM_OK);
}

cm_err
crd_import_decode(cm_bytes rec, crd_import *out, cm_diag *d)
{
	cm_cbor_map m;
	cm_err      rv;

	if ((rv = cm_cbor_check_map(rec, &m, d)) != CM_OK)
		return (rv);
	return (import_fields(&m, out, d));
}

cm_err
crd_im_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	crd_import m;
	cm_err     rv;

	if ((rv = import_fields(rec, &m, d)) == CM_OK && out != NULL)
		memcpy(out, &m, sizeof(m));
	return (rv);
}

/* The manifest's writer is the importer: any role that writes events. */
bool
crd_im_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	(void) r;
	if (id->role == LDG_ROLE_REGULATOR || id->role == LDG_ROLE_BANK ||
	    id->role == LDG_ROLE_ENTERPRISE)
		return (true);
	cm_diag_set(d, "%s: role %s imports no credit events", CRD_KIND_IMPORT,
	            ldg_role_name(id->role));
	return (false);
}

/* The rows' leaves come before the manifest's batch. */
cm_err
crd_im_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const crd_import *m = r->decoded;

	(void) t;
	if (m->last >= r->header_index)
		return (cm_fail(d, CM_EREF,
		                "%s: leaf %llu is not before this batch "
		                "(header %llu)",
		                CRD_KIND_IMPORT, (unsigned long long) m->last,
		                (unsigned long long) r->header_index));
	return (CM_OK);
}
