/* SPDX-License-Identifier: MIT */
/* services/svc_ops.c -- the operations: each checks its arguments (names,
 * types, sizes; unknown arguments are refused), its caller's role (the
 * table below, docs/protocol.md section 7), then reads the ledger on a
 * read transaction of its own or hands a prepared batch to the writer. */
#include "services/svc_impl.h"

#include <stdio.h>
#include <string.h>

/* Who may call an operation. */
#define R_PUBLIC 0x01u  /* no session */
#define R_SESSION 0x02u /* any session */

typedef struct op {
	const char *name;
	unsigned    who;
	const char *args; /* space-separated argument names it takes */
	bool (*run)(svc_job *j, svc_out *o);
} op;

/* ---- arguments ---- */

static bool
args_known(svc_job *j, const char *allowed, svc_out *o)
{
	const svc_val *a = j->req.args;

	for (size_t i = 0; i < a->n; i++) {
		cm_bytes    k = a->v[2 * i].s;
		const char *p = allowed;
		bool        ok = false;

		while (*p != '\0' && !ok) {
			size_t n = strcspn(p, " ");

			ok = n == k.len && memcmp(p, k.p, n) == 0;
			p += n;
			p += *p == ' ';
		}
		if (!ok) {
			char   show[40];
			size_t m = k.len < 32 ? k.len : 32;

			for (size_t c = 0; c < m; c++)
				show[c] = (k.p[c] > 0x20 && k.p[c] < 0x7f)
				              ? (char) k.p[c]
				              : '?';
			show[m] = '\0';
			svc_out_fail(o, SVC_EREQUEST, CM_EPROTO,
			             "unknown argument \"%s\"", show);
			return (false);
		}
	}
	return (true);
}

/* An optional unsigned argument: *out = def when absent. */
static bool
arg_uint(svc_job *j, const char *name, bool required, uint64_t def,
         uint64_t *out, svc_out *o)
{
	const svc_val *v = svc_map_get(j->req.args, name);

	*out = def;
	if (v == NULL && !required)
		return (true);
	if (v == NULL || v->type != SVC_UINT) {
		svc_out_fail(o, SVC_EREQUEST, CM_EPROTO,
		             "argument \"%s\" must be an unsigned integer",
		             name);
		return (false);
	}
	*out = v->u;
	return (true);
}

static bool
arg_bin(svc_job *j, const char *name, cm_bytes *out, svc_out *o)
{
	const svc_val *v = svc_map_get(j->req.args, name);

	if (v == NULL || v->type != SVC_BIN) {
		svc_out_fail(o, SVC_EREQUEST, CM_EPROTO,
		             "argument \"%s\" must be given as bin", name);
		return (false);
	}
	*out = v->s;
	return (true);
}

static ldg_txn *
txn_begin(svc_job *j, svc_out *o)
{
	ldg_txn *t = NULL;
	cm_err   rv = ldg_read_begin(j->sv->s, &t);

	if (rv != CM_OK)
		svc_out_fail(o, SVC_EINTERNAL, rv, "cannot read the ledger: %s",
		             cm_strerror(rv));
	return (t);
}

static void
wr_hashes(svc_mp_wr *w, const cm_buf *b)
{
	svc_mp_array(w, b->len / CM_HASH_LEN);
	for (size_t i = 0; i + CM_HASH_LEN <= b->len; i += CM_HASH_LEN)
		svc_mp_bin(w, CM_BYTES(b->p + i, CM_HASH_LEN));
}

static bool
out_ok(svc_out *o, svc_mp_wr *w)
{
	if (svc_mp_end(w) != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, CM_ENOMEM, "out of memory");
		return (false);
	}
	o->status = SVC_OK;
	snprintf(o->message, sizeof(o->message), "ok");
	return (true);
}

/* ---- submit ---- */

void
svc_receipt_write(svc_mp_wr *w, const ldg_receipt *r)
{
	svc_mp_map(w, 9);
	svc_mp_cstr(w, "header_index");
	svc_mp_uint(w, r->header_index);
	svc_mp_cstr(w, "first_record");
	svc_mp_uint(w, r->first_record);
	svc_mp_cstr(w, "nrecords");
	svc_mp_uint(w, r->nrecords);
	svc_mp_cstr(w, "seq");
	svc_mp_uint(w, r->seq);
	svc_mp_cstr(w, "log_time");
	svc_mp_uint(w, r->log_time);
	svc_mp_cstr(w, "size");
	svc_mp_uint(w, r->size);
	svc_mp_cstr(w, "already");
	svc_mp_bool(w, r->already);
	svc_mp_cstr(w, "key_id");
	svc_mp_bin(w, CM_BYTES(r->key_id, CM_KEYID_LEN));
	svc_mp_cstr(w, "checkpoint");
	if (r->checkpoint_err == CM_OK)
		svc_mp_str(w, cm_buf_bytes(&r->checkpoint));
	else
		svc_mp_nil(w);
}

/* The batch header's key ID and sequence number (for the writer's order
 * and the log); the batch passed ldg_prepare, so it decodes. */
static void
batch_key(cm_bytes batch, uint8_t kid[CM_KEYID_LEN], uint64_t *seq)
{
	cm_cbor_map m;
	ldg_hdr     h;

	memset(kid, 0, CM_KEYID_LEN);
	*seq = 0;
	if (cm_cbor_check_map(batch, &m, NULL) != CM_OK || !m.complete)
		return;
	for (size_t i = 0; i < m.n; i++) {
		cm_cbor_rd r;
		cm_bytes   hdr;

		if (!cm_bytes_eq_str(m.key[i], "hdr"))
			continue;
		cm_cbor_rd_init(&r, m.val[i], NULL);
		if (cm_cbor_rd_bytes(&r, &hdr) != CM_OK ||
		    ldg_hdr_decode(hdr, &h, NULL) != CM_OK ||
		    h.kid.len != CM_KEYID_LEN)
			return;
		memcpy(kid, h.kid.p, CM_KEYID_LEN);
		*seq = h.seq;
	}
}

static bool
op_submit(svc_job *j, svc_out *o)
{
	cm_bytes batch;
	cm_diag  d;
	cm_err   rv;

	if (!arg_bin(j, "batch", &batch, o))
		return (false);
	cm_diag_clear(&d);
	/* Every stateless check, the signature included, here on a worker,
	 * while the writer commits the group before. */
	rv = ldg_prepare(j->sv->s, batch, &j->prep, &d);
	if (rv != CM_OK) {
		svc_out_refuse(o, rv, &d);
		return (false);
	}
	batch_key(batch, j->kid, &j->seq);
	if (j->who_text[0] == '\0') {
		char *p = j->who_text;

		p += snprintf(p, 8, "batch:");
		for (int i = 0; i < 4; i++)
			p += snprintf(p, 3, "%02x", j->kid[i]);
	}
	svc_writer_push(j->sv, j);
	return (true);
}

/* ---- checkpoints and proofs ---- */

static bool
op_checkpoint(svc_job *j, svc_out *o)
{
	ldg_txn  *t;
	cm_buf    note = {0};
	uint64_t  want, size = 0;
	svc_mp_wr w;
	cm_err    rv;

	if (!arg_uint(j, "size", false, UINT64_MAX, &want, o) ||
	    (t = txn_begin(j, o)) == NULL)
		return (false);
	rv = ldg_checkpoint_get(t, want, &note, &size);
	ldg_txn_end(t);
	if (rv == CM_ENOTFOUND) {
		svc_out_fail(o, SVC_ENOTFOUND, rv,
		             want == UINT64_MAX
		                 ? "no checkpoint"
		                 : "no checkpoint was signed at size %llu",
		             (unsigned long long) want);
	} else if (rv != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, rv, "%s", cm_strerror(rv));
	} else {
		svc_mp_init(&w, &o->result);
		svc_mp_map(&w, 2);
		svc_mp_cstr(&w, "note");
		svc_mp_str(&w, cm_buf_bytes(&note));
		svc_mp_cstr(&w, "size");
		svc_mp_uint(&w, size);
		out_ok(o, &w);
	}
	cm_buf_fini(&note);
	return (false);
}

static bool
op_consistency(svc_job *j, svc_out *o)
{
	ldg_txn  *t;
	cm_buf    proof = {0};
	uint64_t  m, n;
	uint8_t   r1[CM_HASH_LEN], r2[CM_HASH_LEN];
	svc_mp_wr w;

	if (!arg_uint(j, "from", true, 0, &m, o) ||
	    !arg_uint(j, "to", true, 0, &n, o) || (t = txn_begin(j, o)) == NULL)
		return (false);
	if (m > n || n > ldg_size(t)) {
		svc_out_fail(o, SVC_EREFUSED, CM_EINVAL,
		             "sizes must satisfy from <= to <= %llu",
		             (unsigned long long) ldg_size(t));
	} else if (ldg_prove_consistency(t, m, n, &proof) != CM_OK ||
	           ldg_root_at(t, m, r1) != CM_OK ||
	           ldg_root_at(t, n, r2) != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, CM_EIO,
		             "cannot build the proof");
	} else {
		svc_mp_init(&w, &o->result);
		svc_mp_map(&w, 5);
		svc_mp_cstr(&w, "size1");
		svc_mp_uint(&w, m);
		svc_mp_cstr(&w, "size2");
		svc_mp_uint(&w, n);
		svc_mp_cstr(&w, "root1");
		svc_mp_bin(&w, CM_BYTES(r1, CM_HASH_LEN));
		svc_mp_cstr(&w, "root2");
		svc_mp_bin(&w, CM_BYTES(r2, CM_HASH_LEN));
		svc_mp_cstr(&w, "proof");
		wr_hashes(&w, &proof);
		out_ok(o, &w);
	}
	ldg_txn_end(t);
	cm_buf_fini(&proof);
	return (false);
}

static bool
op_inclusion(svc_job *j, svc_out *o)
{
	ldg_txn  *t;
	cm_buf    proof = {0};
	uint64_t  i, size;
	uint8_t   root[CM_HASH_LEN], lh[CM_HASH_LEN];
	cm_bytes  leaf;
	svc_mp_wr w;

	if (!arg_uint(j, "index", true, 0, &i, o) ||
	    (t = txn_begin(j, o)) == NULL)
		return (false);
	if (!arg_uint(j, "size", false, ldg_size(t), &size, o)) {
		ldg_txn_end(t);
		return (false);
	}
	if (ldg_leaf_get(t, i, &leaf) != CM_OK) {
		svc_out_fail(o, SVC_ENOTFOUND, CM_ENOTFOUND, "no leaf %llu",
		             (unsigned long long) i);
	} else if (size <= i || size > ldg_size(t)) {
		svc_out_fail(o, SVC_EREFUSED, CM_EINVAL,
		             "size %llu does not hold leaf %llu (tree size "
		             "%llu)",
		             (unsigned long long) size, (unsigned long long) i,
		             (unsigned long long) ldg_size(t));
	} else if (ldg_prove_inclusion(t, i, size, &proof) != CM_OK ||
	           ldg_root_at(t, size, root) != CM_OK) {
		svc_out_fail(o, SVC_EINTERNAL, CM_EIO,
		             "cannot build the proof");
	} else {
		cm_buf note = {0};
		bool   has = ldg_checkpoint_get(t, size, &note, NULL) == CM_OK;

		ldg_leaf_hash(leaf, lh);
		svc_mp_init(&w, &o->result);
		svc_mp_map(&w, 6);
		svc_mp_cstr(&w, "index");
		svc_mp_uint(&w, i);
		svc_mp_cstr(&w, "size");
		svc_mp_uint(&w, size);
		svc_mp_cstr(&w, "root");
		svc_mp_bin(&w, CM_BYTES(root, CM_HASH_LEN));
		svc_mp_cstr(&w, "leaf_hash");
		svc_mp_bin(&w, CM_BYTES(lh, CM_HASH_LEN));
		svc_mp_cstr(&w, "proof");
		wr_hashes(&w, &proof);
		svc_mp_cstr(&w, "checkpoint");
		if (has)
			svc_mp_str(&w, cm_buf_bytes(&note));
		else
			svc_mp_nil(&w);
		out_ok(o, &w);
		cm_buf_fini(&note);
	}
	ldg_txn_end(t);
	cm_buf_fini(&proof);
	return (false);
}

static bool
op_hello(svc_job *j, svc_out *o)
{
	svc_op_hello(j, o);
	return (false);
}

static bool
op_session(svc_job *j, svc_out *o)
{
	svc_op_session(j, o);
	return (false);
}

/* The operations and who may call them (docs/protocol.md section 7). */
static const op ops[] = {
    {"hello", R_PUBLIC, "kid epk", op_hello},
    {"session", R_PUBLIC, "kid epk nonce sepk lifetime sig", op_session},
    {"submit", R_PUBLIC | R_SESSION, "batch", op_submit},
    {"checkpoint", R_PUBLIC | R_SESSION, "size", op_checkpoint},
    {"consistency", R_PUBLIC | R_SESSION, "from to", op_consistency},
    {"inclusion", R_SESSION, "index size", op_inclusion},
};

bool
svc_ops_run(svc_job *j, svc_out *o)
{
	const op *p = NULL;

	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (cm_bytes_eq_str(j->req.op, ops[i].name))
			p = &ops[i];
	if (p == NULL) {
		svc_out_fail(o, SVC_EREQUEST, CM_EPROTO, "unknown operation");
		return (false);
	}
	if (!(p->who & (j->req.session ? R_SESSION : R_PUBLIC))) {
		svc_out_fail(o, j->req.session ? SVC_EDENIED : SVC_EAUTH,
		             CM_EDENIED,
		             j->req.session ? "%s is not an operation of a "
		                              "session"
		                            : "%s needs a session (hello, then "
		                              "session)",
		             p->name);
		return (false);
	}
	if (!args_known(j, p->args, o))
		return (false);
	return (p->run(j, o));
}
