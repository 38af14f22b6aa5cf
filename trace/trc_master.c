/* SPDX-License-Identifier: MIT */
/* trace/trc_master.c -- master data and who may say what (docs/trace.md
 * section 6, docs/format.md section 5.9): the record kinds that bind GS1
 * company prefixes and GLNs to enterprises, delegate commissioning and
 * name locations and parties; their indexer trace.master, which also
 * judges each trace.event's standing when it is captured and links
 * non-conformant results of regulators and inspection bodies to the
 * producer; and the capture rule on commissioning.  The state of a
 * binding is judged at the record's position in the log, never later.
 * Written against ledger/ldg.h only. */
#include "ledger/ldg.h"
#include "trace/trc_impl.h"

#include <stdio.h>
#include <string.h>

/* trace_master, one database, by the first byte of the key:
 *   'b' digits                  -> status (1) || u64be(leaf) || USCC
 *   'd' prefix 0x00 USCC(to)    -> u64be(leaf) || USCC(owner then)
 *   'n' name key 0x00 USCC(by)  -> u64be(leaf) || role (1) || name
 *   's' u64be(event leaf)       -> standing (1)
 *   'c' identifier key          -> u64be(leaf) || USCC (first commission)
 *   'i' USCC(producer) u64be(l) -> why (1) || USCC(inspector) */
#define MASTER_DB "trace_master"
#define UL LDG_USCC_LEN

typedef trc_mrec mrec;

static const char *const kind_names[] = {TRC_KIND_BIND,       TRC_KIND_CLAIM,
                                         TRC_KIND_CONFIRM,    TRC_KIND_DELEGATE,
                                         TRC_KIND_UNDELEGATE, TRC_KIND_NAME};

const char *
trc_master_kind(trc_master_op op)
{
	return ((unsigned) op < 6 ? kind_names[op] : "");
}

const char *
trc_bound_name(trc_bound b)
{
	return (b == TRC_BOUND_REGISTERED ? "registered"
	        : b == TRC_BOUND_CLAIMED  ? "claimed, unconfirmed"
	                                  : "unbound");
}

const char *
trc_standing_name(trc_standing s)
{
	return (s == TRC_STANDING_OK            ? "ok"
	        : s == TRC_STANDING_UNCONFIRMED ? "unconfirmed"
	                                        : "third-party claim");
}

const char *
trc_name_standing_name(trc_name_standing s)
{
	static const char *const n[] = {"own", "regulator", "unconfirmed",
	                                "claim"};

	return ((unsigned) s < 4 ? n[s] : "");
}

/* ---- the records' fields (no state) ---- */

/* A company prefix (6-12 digits) or, unless prefix_only, a GLN (13
 * digits with its check digit). */
static cm_err
digits_check(const char *what, cm_bytes k, bool prefix_only, char out[14],
             cm_diag *d)
{
	for (size_t i = 0; i < k.len; i++)
		if (k.p[i] < '0' || k.p[i] > '9')
			return (cm_fail(d, CM_EPROTO,
			                "%s: key must be digits: a company "
			                "prefix (6 to 12) or a GLN (13)",
			                what));
	if (k.len < 6 || k.len > 13)
		return (cm_fail(d, CM_EPROTO,
		                "%s: key has %zu digits: a company prefix has "
		                "6 to 12, a GLN 13",
		                what, k.len));
	if (k.len == 13 && prefix_only)
		return (cm_fail(d, CM_EPROTO,
		                "%s: a delegation names a company prefix (6 to "
		                "12 digits), not a GLN",
		                what));
	if (k.len == 13 &&
	    trc_gs1_check_digit((const char *) k.p, 12) != (char) k.p[12])
		return (cm_fail(d, CM_EPROTO,
		                "%s: GLN %.13s: check digit is %c, want %c",
		                what, (const char *) k.p, k.p[12],
		                trc_gs1_check_digit((const char *) k.p, 12)));
	memcpy(out, k.p, k.len);
	out[k.len] = '\0';
	return (CM_OK);
}

static cm_err
uscc_field(const char *what, const char *field, cm_bytes u, char out[UL + 1],
           cm_diag *d)
{
	cm_diag ud;

	cm_diag_clear(&ud);
	if (ldg_uscc_check(u, &ud) != CM_OK)
		return (
		    cm_fail(d, CM_EPROTO, "%s: %s: %s", what, field, ud.msg));
	memcpy(out, u.p, UL);
	out[UL] = '\0';
	return (CM_OK);
}

/* The name key of a location or party: its canonical key, with a PGLN and
 * an SGLN without extension of one GLN as one ("/414/<GLN>"). */
static size_t
name_key(const char *key, size_t len, char *out)
{
	memcpy(out, key, len);
	out[len] = '\0';
	if (len == 18 && memcmp(key, "/417/", 5) == 0)
		memcpy(out, "/414/", 5);
	return (len);
}

static bool
name_ok(cm_bytes n)
{
	if (n.len == 0 || n.len > TRC_NAME_MAX)
		return (false);
	for (size_t i = 0; i < n.len; i++)
		if (n.p[i] < 0x20 || n.p[i] == 0x7f)
			return (false);
	return (true);
}

/* attrs: [[id, value], ...], at most TRC_ATTRS_MAX, each text 1..256
 * bytes without control characters. */
static cm_err
attrs_check(const char *what, cm_bytes item, cm_diag *d)
{
	cm_cbor_rd r;
	uint64_t   n, two;
	cm_bytes   a, b;

	cm_cbor_rd_init(&r, item, NULL);
	if (cm_cbor_rd_array(&r, &n) != CM_OK || n > TRC_ATTRS_MAX)
		return (cm_fail(d, CM_EPROTO,
		                "%s: attrs must be an array of at most %d "
		                "[id, value] pairs",
		                what, TRC_ATTRS_MAX));
	for (uint64_t i = 0; i < n; i++) {
		if (cm_cbor_rd_array(&r, &two) != CM_OK || two != 2 ||
		    cm_cbor_rd_text(&r, &a) != CM_OK ||
		    cm_cbor_rd_text(&r, &b) != CM_OK || a.len > TRC_ATTR_MAX ||
		    b.len > TRC_ATTR_MAX || !name_ok(CM_BYTES(a.p, a.len)) ||
		    (b.len > 0 && !name_ok(b)))
			return (
			    cm_fail(d, CM_EPROTO,
			            "%s: attrs[%llu] must be [id, value]: "
			            "texts of 1..%d and 0..%d bytes without "
			            "control characters",
			            what, (unsigned long long) i, TRC_ATTR_MAX,
			            TRC_ATTR_MAX));
	}
	return (CM_OK);
}

static cm_err
name_id(const char *what, cm_bytes id, mrec *m, cm_diag *d)
{
	trc_id     tid;
	trc_id_ctx c = {0};
	cm_diag    id_d;

	cm_diag_clear(&id_d);
	c.field = "id";
	if (id.len == 0 || id.len > TRC_ID_TEXT_MAX ||
	    trc_id_parse(id, &c, &tid, &id_d) != CM_OK)
		return (cm_fail(d, CM_EPROTO, "%s: %s", what,
		                id_d.msg[0] ? id_d.msg
		                            : "id: must be an identifier"));
	m->key_len = name_key(tid.key, tid.key_len, m->key);
	return (CM_OK);
}

static cm_err
m_decode(trc_master_op op, const cm_cbor_map *rec, mrec *m, cm_diag *d)
{
	/* Each kind's fields in canonical order. */
	enum { T, TO, ID, KEY, KIND, NAME, ATTRS, OWNER, NF };
	ldg_field   f[NF];
	size_t      n = 0;
	int         at[NF];
	const char *what = kind_names[op];
	cm_bytes    v;
	cm_err      rv;

	memset(m, 0, sizeof(*m));
	m->op = (uint8_t) op;
	for (int i = 0; i < NF; i++)
		at[i] = -1;
#define FIELD(which, nm, req)                                                  \
	(at[which] = (int) n, f[n++] = (ldg_field){nm, req, false, {0}})
	FIELD(T, "t", true);
	if (op == TRC_M_DELEGATE || op == TRC_M_UNDELEGATE)
		FIELD(TO, "to", true);
	if (op == TRC_M_NAME)
		FIELD(ID, "id", true);
	else
		FIELD(KEY, "key", true);
	FIELD(KIND, "kind", true);
	if (op == TRC_M_NAME) {
		FIELD(NAME, "name", true);
		FIELD(ATTRS, "attrs", false);
	}
	if (op == TRC_M_BIND || op == TRC_M_CONFIRM)
		FIELD(OWNER, "owner", true);
#undef FIELD
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, n, d)) !=
	    CM_OK)
		return (rv);
	if (at[KEY] >= 0) {
		if (ldg_field_text(&f[at[KEY]], &v, NULL) != CM_OK)
			return (cm_fail(d, CM_EPROTO, "%s: key must be text",
			                what));
		if ((rv = digits_check(what, v,
		                       op == TRC_M_DELEGATE ||
		                           op == TRC_M_UNDELEGATE,
		                       m->digits, d)) != CM_OK)
			return (rv);
	}
	if (at[OWNER] >= 0 || at[TO] >= 0) {
		int i = at[OWNER] >= 0 ? at[OWNER] : at[TO];

		if (ldg_field_text(&f[i], &v, NULL) != CM_OK)
			return (cm_fail(d, CM_EPROTO, "%s: %s must be text",
			                what, f[i].name));
		if ((rv = uscc_field(what, f[i].name, v, m->uscc, d)) != CM_OK)
			return (rv);
	}
	if (at[ID] >= 0) {
		if (ldg_field_text(&f[at[ID]], &v, NULL) != CM_OK)
			return (
			    cm_fail(d, CM_EPROTO, "%s: id must be text", what));
		if ((rv = name_id(what, v, m, d)) != CM_OK)
			return (rv);
		m->id = v;
	}
	if (at[NAME] >= 0) {
		if (ldg_field_text(&f[at[NAME]], &m->name, NULL) != CM_OK ||
		    !name_ok(m->name))
			return (cm_fail(d, CM_EPROTO,
			                "%s: name must be text of 1..%d bytes "
			                "without control characters",
			                what, TRC_NAME_MAX));
	}
	if (at[ATTRS] >= 0 && f[at[ATTRS]].present &&
	    (rv = attrs_check(what, f[at[ATTRS]].val, d)) != CM_OK)
		return (rv);
	return (CM_OK);
}

#define DECODER(fn, op)                                                        \
	cm_err fn(const cm_cbor_map *rec, void *out, cm_diag *d)               \
	{                                                                      \
		mrec   m;                                                      \
		cm_err rv = m_decode(op, rec, &m, d);                          \
		if (rv == CM_OK && out != NULL)                                \
			memcpy(out, &m, sizeof(m));                            \
		return (rv);                                                   \
	}
DECODER(trc_mk_bind_decode, TRC_M_BIND)
DECODER(trc_mk_claim_decode, TRC_M_CLAIM)
DECODER(trc_mk_confirm_decode, TRC_M_CONFIRM)
DECODER(trc_mk_delegate_decode, TRC_M_DELEGATE)
DECODER(trc_mk_undelegate_decode, TRC_M_UNDELEGATE)
DECODER(trc_mk_name_decode, TRC_M_NAME)
#undef DECODER

cm_err
trc_master_encode(const trc_master_in *in, cm_buf *out, cm_diag *d)
{
	cm_cbor_wr  w;
	cm_buf      b = {0};
	cm_cbor_map m;
	mrec        mr;
	const char *kind = trc_master_kind(in->op);
	bool        to = in->op == TRC_M_DELEGATE || in->op == TRC_M_UNDELEGATE;
	bool        owner = in->op == TRC_M_BIND || in->op == TRC_M_CONFIRM;
	size_t      nf = 3 + (to || owner);
	cm_err      rv;

	if ((unsigned) in->op > TRC_M_NAME)
		return (CM_EINVAL);
	if (in->op == TRC_M_NAME)
		nf = 4 + (in->nattrs > 0);
	if (in->nattrs > TRC_ATTRS_MAX)
		return (cm_fail(d, CM_EPROTO, "%s: more than %d attributes",
		                kind, TRC_ATTRS_MAX));
	cm_cbor_wr_init(&w, &b);
	cm_cbor_wr_map(&w, nf);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	if (to) {
		cm_cbor_wr_cstr(&w, "to");
		cm_cbor_wr_cstr(&w, in->uscc != NULL ? in->uscc : "");
	}
	if (in->op == TRC_M_NAME) {
		cm_cbor_wr_cstr(&w, "id");
		cm_cbor_wr_cstr(&w, in->id != NULL ? in->id : "");
	} else {
		cm_cbor_wr_cstr(&w, "key");
		cm_cbor_wr_cstr(&w, in->key != NULL ? in->key : "");
	}
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, kind);
	if (in->op == TRC_M_NAME) {
		cm_cbor_wr_cstr(&w, "name");
		cm_cbor_wr_cstr(&w, in->name != NULL ? in->name : "");
		if (in->nattrs > 0) {
			cm_cbor_wr_cstr(&w, "attrs");
			cm_cbor_wr_array(&w, in->nattrs);
			for (size_t i = 0; i < in->nattrs; i++) {
				cm_cbor_wr_array(&w, 2);
				cm_cbor_wr_cstr(&w, in->attr_id[i]);
				cm_cbor_wr_cstr(&w, in->attr_val[i]);
			}
		}
	}
	if (owner) {
		cm_cbor_wr_cstr(&w, "owner");
		cm_cbor_wr_cstr(&w, in->uscc != NULL ? in->uscc : "");
	}
	if ((rv = cm_cbor_wr_finish(&w, d)) != CM_OK)
		goto out;
	/* The checks the ledger's decode makes, so a refusal comes here. */
	if ((rv = cm_cbor_check_map(cm_buf_bytes(&b), &m, d)) != CM_OK ||
	    (rv = m_decode(in->op, &m, &mr, d)) != CM_OK)
		goto out;
	rv = cm_buf_append(out, b.p, b.len);
out:
	cm_buf_fini(&b);
	return (rv);
}

/* ---- the index ---- */

static cm_err
mdb(ldg_txn *t, ldg_db *db)
{
	return (ldg_db_find(t, MASTER_DB, db));
}

static cm_err
binding_get(ldg_txn *t, const char *p, size_t n, trc_owner *out)
{
	uint8_t  k[14];
	cm_bytes v;
	ldg_db   db;
	cm_err   rv;

	memset(out, 0, sizeof(*out));
	k[0] = 'b';
	memcpy(k + 1, p, n);
	if ((rv = mdb(t, &db)) != CM_OK ||
	    (rv = ldg_kv_get(t, db, CM_BYTES(k, n + 1), &v)) != CM_OK)
		return (rv);
	if (v.len != 1 + 8 + UL)
		return (CM_ECORRUPT);
	out->status = (trc_bound) v.p[0];
	out->leaf = cm_get_u64be(v.p + 1);
	memcpy(out->uscc, v.p + 9, UL);
	memcpy(out->digits, p, n);
	out->digits[n] = '\0';
	return (CM_OK);
}

/* gln: digits are a location's 13, so a GLN bound exactly comes first. */
static cm_err
owner_lookup(ldg_txn *t, const char *p, size_t n, bool gln, trc_owner *out)
{
	cm_err rv;

	memset(out, 0, sizeof(*out));
	if (gln && n == 13 && (rv = binding_get(t, p, 13, out)) != CM_ENOTFOUND)
		return (rv);
	for (size_t l = n < 12 ? n : 12; l >= 6; l--)
		if ((rv = binding_get(t, p, l, out)) != CM_ENOTFOUND)
			return (rv);
	memset(out, 0, sizeof(*out));
	return (CM_ENOTFOUND);
}

cm_err
trc_owner_of(struct ldg_txn *t, cm_bytes digits, trc_owner *out)
{
	size_t n = 0;

	while (n < digits.len && n < 13 && digits.p[n] >= '0' &&
	       digits.p[n] <= '9')
		n++;
	return (owner_lookup(t, (const char *) digits.p, n, n == 13, out));
}

/* The company-prefix digits of a canonical key's GS1 key (at most 13) and
 * whether it names a location (a GLN).  false for other keys. */
static bool
key_digits(cm_bytes key, const char **p, size_t *n, bool *gln)
{
	const char *s = (const char *) key.p, *e = s + key.len, *v;
	size_t      al;

	if (key.len < 4 || s[0] != '/')
		return (false);
	for (al = 0; s + 1 + al < e && s[1 + al] != '/'; al++)
		;
	if (s + 1 + al >= e || al > 4)
		return (false);
	v = s + 2 + al;
	*gln = (al == 3 &&
	        (memcmp(s + 1, "414", 3) == 0 || memcmp(s + 1, "417", 3) == 0));
	/* A GTIN's indicator digit, an SSCC's extension digit and a GRAI's
	 * leading zero come before the prefix. */
	if ((al == 2 &&
	     (memcmp(s + 1, "01", 2) == 0 || memcmp(s + 1, "00", 2) == 0)) ||
	    (al == 4 && memcmp(s + 1, "8003", 4) == 0))
		v++;
	*p = v;
	for (*n = 0; v + *n < e && *n < 13 && v[*n] >= '0' && v[*n] <= '9';
	     (*n)++)
		;
	return (*n >= 6);
}

cm_err
trc_key_owner(struct ldg_txn *t, cm_bytes key, trc_owner *out)
{
	const char *p;
	size_t      n;
	bool        gln;

	memset(out, 0, sizeof(*out));
	if (!key_digits(key, &p, &n, &gln))
		return (CM_ENOTFOUND);
	return (owner_lookup(t, p, n, gln, out));
}

static size_t
deleg_key(uint8_t *k, const char *prefix, const char *to)
{
	size_t n = strlen(prefix);

	k[0] = 'd';
	memcpy(k + 1, prefix, n);
	k[1 + n] = 0;
	memcpy(k + 2 + n, to, UL);
	return (2 + n + UL);
}

bool
trc_delegated(struct ldg_txn *t, const char *prefix, const char *owner,
              const char *uscc)
{
	uint8_t  k[2 + 13 + UL];
	cm_bytes v;
	ldg_db   db;

	if (strlen(prefix) > 13 || strlen(uscc) != UL || mdb(t, &db) != CM_OK ||
	    ldg_kv_get(t, db, CM_BYTES(k, deleg_key(k, prefix, uscc)), &v) !=
	        CM_OK)
		return (false);
	return (v.len == 8 + UL && memcmp(v.p + 8, owner, UL) == 0);
}

cm_err
trc_standing_of(struct ldg_txn *t, uint64_t leaf, trc_standing *out)
{
	uint8_t  k[9];
	cm_bytes v;
	ldg_db   db;
	cm_err   rv;

	k[0] = 's';
	cm_put_u64be(k + 1, leaf);
	if ((rv = mdb(t, &db)) != CM_OK ||
	    (rv = ldg_kv_get(t, db, CM_BYTES(k, 9), &v)) != CM_OK)
		return (rv);
	if (v.len != 1 || v.p[0] > TRC_STANDING_THIRD_PARTY)
		return (CM_ECORRUPT);
	*out = (trc_standing) v.p[0];
	return (CM_OK);
}

/* ---- the capture rules ---- */

static bool
is_word(const trc_vocab *v, const char *w)
{
	return (v->cbv && cm_bytes_eq_str(v->word, w));
}

static bool
commissions(const trc_event *ev, const trc_event_ref *r)
{
	if (ev->type == TRC_EV_TRANSFORMATION)
		return (r->role == TRC_ROLE_OUTPUT);
	return (ev->type == TRC_EV_OBJECT && ev->action == TRC_ACT_ADD &&
	        r->role == TRC_ROLE_EPC &&
	        is_word(&ev->biz_step, "commissioning"));
}

/* The field refs[i] came from: "epcList[2]", "outputQuantityList[0]". */
static void
ref_field(const trc_event *ev, size_t i, char *out, size_t cap)
{
	const trc_event_ref *r = &ev->refs[i];
	size_t               pos = 0;
	const char          *list;

	for (size_t j = 0; j < i; j++)
		if (ev->refs[j].role == r->role &&
		    ev->refs[j].is_class == r->is_class)
			pos++;
	if (r->role == TRC_ROLE_OUTPUT)
		list = r->is_class ? "outputQuantityList" : "outputEPCList";
	else
		list = r->is_class ? "quantityList" : "epcList";
	snprintf(out, cap, "%s[%zu]%s", list, pos,
	         r->is_class ? ".epcClass" : "");
}

static bool
inspector(const ldg_identity *s)
{
	return (
	    s->role == LDG_ROLE_REGULATOR ||
	    ldg_identity_has_scope(s, CM_BYTES(TRC_SCOPE_INSPECTION,
	                                       strlen(TRC_SCOPE_INSPECTION))));
}

/* "event 3 (urn:uuid:1): " or "trace.event: ". */
static void
ev_name(const trc_event *ev, char *out, size_t cap)
{
	if (ev->index == 0)
		snprintf(out, cap, "trace.event: ");
	else if (ev->event_id.len > 0)
		snprintf(out, cap, "event %zu (%.*s): ", ev->index,
		         (int) (ev->event_id.len > 80 ? 80 : ev->event_id.len),
		         (const char *) ev->event_id.p);
	else
		snprintf(out, cap, "event %zu: ", ev->index);
}

cm_err
trc_master_check(struct ldg_txn *t, const trc_event *ev,
                 const ldg_identity *signer, trc_standing *out, cm_diag *d)
{
	const trc_place *pl[2] = {&ev->read_point, &ev->biz_location};
	bool             unconf = false, third = false;
	trc_owner        o;
	char             who[120], field[48];
	cm_err           rv;

	for (size_t i = 0; i < ev->nrefs; i++) {
		const trc_event_ref *r = &ev->refs[i];

		rv = trc_key_owner(t, CM_BYTES(r->key, r->key_len), &o);
		if (rv == CM_ENOTFOUND) {
			/* GS1 keys only: other codes have no prefix. */
			unconf = unconf || r->key[0] == '/';
			continue;
		}
		if (rv != CM_OK)
			return (rv);
		if (o.status != TRC_BOUND_REGISTERED) {
			unconf = true;
			continue;
		}
		if (!commissions(ev, r) || strcmp(o.uscc, signer->uscc) == 0 ||
		    trc_delegated(t, o.digits, o.uscc, signer->uscc))
			continue;
		ev_name(ev, who, sizeof(who));
		ref_field(ev, i, field, sizeof(field));
		return (
		    cm_fail(d, CM_EDENIED,
		            "%s%s: commissioning %s under company prefix "
		            "%s, registered to %s (leaf %llu), which has "
		            "delegated none to %s",
		            who, field, r->key, o.digits, o.uscc,
		            (unsigned long long) o.leaf,
		            signer->uscc[0] ? signer->uscc : "the operator"));
	}
	for (size_t i = 0; i < 2; i++) {
		const char *p;
		size_t      n;
		bool        gln;

		if (pl[i]->key_len == 0)
			continue;
		if (!key_digits(CM_BYTES(pl[i]->key, pl[i]->key_len), &p, &n,
		                &gln))
			continue;
		rv = owner_lookup(t, p, n, gln, &o);
		if (rv == CM_ENOTFOUND ||
		    (rv == CM_OK && o.status != TRC_BOUND_REGISTERED)) {
			unconf = true;
			continue;
		}
		if (rv != CM_OK)
			return (rv);
		if (strcmp(o.uscc, signer->uscc) != 0 &&
		    signer->role == LDG_ROLE_ENTERPRISE && !inspector(signer))
			third = true;
	}
	if (out != NULL)
		*out = third    ? TRC_STANDING_THIRD_PARTY
		       : unconf ? TRC_STANDING_UNCONFIRMED
		                : TRC_STANDING_OK;
	return (CM_OK);
}

/* ---- names ---- */

/* How a name by `by` (role) of the location with name key k stands now. */
static trc_name_standing
name_rank(ldg_txn *t, cm_bytes k, const char *by, ldg_role role)
{
	const char *p;
	size_t      n;
	bool        gln;
	trc_owner   o;

	if (!key_digits(k, &p, &n, &gln) ||
	    owner_lookup(t, p, n, gln, &o) != CM_OK)
		return (role == LDG_ROLE_REGULATOR ? TRC_NAME_REGULATOR
		                                   : TRC_NAME_UNCONFIRMED);
	if (strcmp(o.uscc, by) == 0)
		return (o.status == TRC_BOUND_REGISTERED
		            ? TRC_NAME_OWN
		            : TRC_NAME_UNCONFIRMED);
	return (role == LDG_ROLE_REGULATOR ? TRC_NAME_REGULATOR
	                                   : TRC_NAME_CLAIM);
}

/* One 'n' entry into *out; false if it is malformed. */
static bool
name_entry(ldg_txn *t, cm_bytes k, cm_bytes v, size_t kl, trc_name *out)
{
	size_t nl;

	if (k.len != 1 + kl + 1 + UL || v.len < 9 ||
	    (nl = v.len - 9) > TRC_NAME_MAX)
		return (false);
	memset(out, 0, sizeof(*out));
	memcpy(out->by, k.p + 2 + kl, UL);
	out->leaf = cm_get_u64be(v.p);
	memcpy(out->name, v.p + 9, nl);
	out->standing =
	    name_rank(t, CM_BYTES(k.p + 1, kl), out->by, (ldg_role) v.p[8]);
	return (true);
}

cm_err
trc_name_of(struct ldg_txn *t, cm_bytes key, trc_name *out)
{
	char        nk[TRC_ID_KEY_MAX + 1];
	uint8_t     pk[TRC_ID_KEY_MAX + 2];
	size_t      kl;
	ldg_db      db;
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	bool        found = false;
	cm_err      rv;

	if (key.len == 0 || key.len > TRC_ID_KEY_MAX)
		return (CM_ENOTFOUND);
	kl = name_key((const char *) key.p, key.len, nk);
	pk[0] = 'n';
	memcpy(pk + 1, nk, kl);
	pk[1 + kl] = 0;
	if ((rv = mdb(t, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(pk, kl + 2), &k, &v);
	     rv == CM_OK && k.len > kl + 2 && memcmp(k.p, pk, kl + 2) == 0;
	     rv = ldg_cursor_next(c, &k, &v)) {
		trc_name n;

		if (!name_entry(t, k, v, kl, &n))
			continue;
		/* The best standing first (the enum's order), then the
		 * latest. */
		if (!found || n.standing < out->standing ||
		    (n.standing == out->standing && n.leaf > out->leaf)) {
			*out = n;
			found = true;
		}
	}
	ldg_cursor_close(c);
	if (rv != CM_OK && rv != CM_ENOTFOUND)
		return (rv);
	return (found ? CM_OK : CM_ENOTFOUND);
}

cm_err
trc_names(struct ldg_txn *t, trc_name_fn fn, void *arg)
{
	ldg_db      db;
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	uint8_t     n0 = 'n';
	cm_err      rv;

	if ((rv = mdb(t, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(&n0, 1), &k, &v);
	     rv == CM_OK && k.len > 2 + UL && k.p[0] == 'n';
	     rv = ldg_cursor_next(c, &k, &v)) {
		size_t   kl = k.len - 2 - UL;
		trc_name n;

		if (!name_entry(t, k, v, kl, &n))
			continue;
		if ((rv = fn(arg, CM_BYTES(k.p + 1, kl), &n)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

cm_err
trc_bindings(struct ldg_txn *t, const char *owner, trc_binding_fn fn, void *arg)
{
	ldg_db      db;
	ldg_cursor *c = NULL, *dc = NULL;
	cm_bytes    k, v, dk, dv;
	uint8_t     b0 = 'b';
	char        dl[TRC_EVENT_LIST_MAX][UL + 1];
	cm_err      rv, drv;

	if ((rv = mdb(t, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	if ((rv = ldg_cursor_open(t, db, &dc)) != CM_OK) {
		ldg_cursor_close(c);
		return (rv);
	}
	for (rv = ldg_cursor_seek(c, CM_BYTES(&b0, 1), &k, &v);
	     rv == CM_OK && k.p[0] == 'b'; rv = ldg_cursor_next(c, &k, &v)) {
		trc_binding b;
		uint8_t     pk[16];
		size_t      n = k.len - 1;

		if (n < 6 || n > 13 || v.len != 1 + 8 + UL)
			continue;
		memset(&b, 0, sizeof(b));
		b.o.status = (trc_bound) v.p[0];
		b.o.leaf = cm_get_u64be(v.p + 1);
		memcpy(b.o.uscc, v.p + 9, UL);
		memcpy(b.o.digits, k.p + 1, n);
		if (owner != NULL && strcmp(owner, b.o.uscc) != 0)
			continue;
		pk[0] = 'd';
		memcpy(pk + 1, k.p + 1, n);
		pk[1 + n] = 0;
		for (drv = ldg_cursor_seek(dc, CM_BYTES(pk, n + 2), &dk, &dv);
		     drv == CM_OK && dk.len == n + 2 + UL &&
		     memcmp(dk.p, pk, n + 2) == 0 &&
		     b.ndeleg < TRC_EVENT_LIST_MAX;
		     drv = ldg_cursor_next(dc, &dk, &dv)) {
			if (dv.len != 8 + UL ||
			    memcmp(dv.p + 8, b.o.uscc, UL) != 0)
				continue;
			memcpy(dl[b.ndeleg], dk.p + n + 2, UL);
			dl[b.ndeleg][UL] = '\0';
			b.deleg[b.ndeleg] = dl[b.ndeleg];
			b.ndeleg++;
		}
		/* The delegation cursor moved: find the binding again. */
		if ((rv = fn(arg, &b)) != CM_OK)
			break;
	}
	ldg_cursor_close(dc);
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

cm_err
trc_inspections(struct ldg_txn *t, const char *uscc, uint64_t size,
                trc_insp_fn fn, void *arg)
{
	ldg_db      db;
	ldg_cursor *c = NULL;
	cm_bytes    k, v;
	uint8_t     pk[1 + UL];
	cm_err      rv;

	if (strlen(uscc) != UL)
		return (CM_EINVAL);
	pk[0] = 'i';
	memcpy(pk + 1, uscc, UL);
	if ((rv = mdb(t, &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	for (rv = ldg_cursor_seek(c, CM_BYTES(pk, sizeof(pk)), &k, &v);
	     rv == CM_OK && k.len == sizeof(pk) + 16 &&
	     memcmp(k.p, pk, sizeof(pk)) == 0;
	     rv = ldg_cursor_next(c, &k, &v)) {
		trc_inspection in;

		if (v.len != 1 + UL)
			continue;
		memset(&in, 0, sizeof(in));
		in.leaf = cm_get_u64be(k.p + sizeof(pk));
		if (in.leaf >= size)
			break;
		in.time_ms = (int64_t) (cm_get_u64be(k.p + sizeof(pk) + 8) ^
		                        (UINT64_C(1) << 63));
		in.why = v.p[0];
		memcpy(in.producer, uscc, UL);
		memcpy(in.inspector, v.p + 1, UL);
		if ((rv = fn(arg, &in)) != CM_OK)
			break;
	}
	ldg_cursor_close(c);
	return (rv == CM_ENOTFOUND ? CM_OK : rv);
}

/* ---- names from an EPCIS document's header ---- */

static bool
name_attr(const char *id, size_t n)
{
	static const char *const ids[] = {"urn:epcglobal:cbv:mda#name",
	                                  "cbvmda:name",
	                                  "https://ref.gs1.org/cbv/mda/name"};

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++)
		if (n == strlen(ids[i]) && memcmp(id, ids[i], n) == 0)
			return (true);
	return (false);
}

static bool
vtype_named(const char *t, size_t n)
{
	static const char *const types[] = {
	    "urn:epcglobal:epcis:vtype:BusinessLocation",
	    "urn:epcglobal:epcis:vtype:ReadPoint",
	    "urn:epcglobal:epcis:vtype:Party"};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (n == strlen(types[i]) && memcmp(t, types[i], n) == 0)
			return (true);
	return (false);
}

/* A JSON string as a NUL-terminated copy into buf; NULL if it is none or
 * does not fit (or holds a NUL). */
static const char *
jstr(const cm_json *v, char *buf, size_t cap)
{
	size_t      n;
	const char *s = cm_json_str(v, &n);

	if (s == NULL || n >= cap || memchr(s, 0, n) != NULL)
		return (NULL);
	memcpy(buf, s, n);
	buf[n] = '\0';
	return (buf);
}

static cm_err
element_name(const cm_json *el, const char *where, trc_rec_fn fn, void *arg,
             cm_diag *d)
{
	static char    ids[TRC_ATTRS_MAX][TRC_ATTR_MAX + 1];
	static char    vals[TRC_ATTRS_MAX][TRC_ATTR_MAX + 1];
	char           idb[TRC_ID_TEXT_MAX + 1], nameb[TRC_NAME_MAX + 1];
	const cm_json *attrs = cm_json_get(el, "attributes");
	trc_master_in  in;
	cm_buf         rec = {0};
	cm_diag        rd;
	cm_err         rv;

	memset(&in, 0, sizeof(in));
	in.op = TRC_M_NAME;
	if (!cm_json_is_object(el) ||
	    (in.id = jstr(cm_json_get(el, "id"), idb, sizeof(idb))) == NULL)
		return (
		    cm_fail(d, CM_EPROTO,
		            "%s: an element needs an id (a string of at most "
		            "%d bytes)",
		            where, TRC_ID_TEXT_MAX));
	if (attrs != NULL && !cm_json_is_array(attrs))
		return (cm_fail(d, CM_EPROTO, "%s: attributes must be an array",
		                where));
	for (size_t i = 0; attrs != NULL && i < cm_json_len(attrs); i++) {
		const cm_json *a = cm_json_at(attrs, i);
		const char    *aid;
		size_t         al;

		if (!cm_json_is_object(a) ||
		    (aid = cm_json_str(cm_json_get(a, "id"), &al)) == NULL)
			return (
			    cm_fail(d, CM_EPROTO,
			            "%s: attributes[%zu] needs an id string",
			            where, i));
		if (name_attr(aid, al)) {
			if ((in.name = jstr(cm_json_get(a, "attribute"), nameb,
			                    sizeof(nameb))) == NULL)
				return (
				    cm_fail(d, CM_EPROTO,
				            "%s: attributes[%zu]: the name "
				            "must be a string of 1..%d bytes",
				            where, i, TRC_NAME_MAX));
			continue;
		}
		/* Attributes that are no strings (objects, numbers) are
		 * not kept. */
		if (cm_json_str(cm_json_get(a, "attribute"), &al) == NULL)
			continue;
		if (in.nattrs == TRC_ATTRS_MAX)
			return (cm_fail(d, CM_EPROTO,
			                "%s: more than %d string attributes",
			                where, TRC_ATTRS_MAX));
		in.attr_id[in.nattrs] = jstr(cm_json_get(a, "id"),
		                             ids[in.nattrs], TRC_ATTR_MAX + 1);
		in.attr_val[in.nattrs] =
		    jstr(cm_json_get(a, "attribute"), vals[in.nattrs],
		         TRC_ATTR_MAX + 1);
		if (in.attr_id[in.nattrs] == NULL ||
		    in.attr_val[in.nattrs] == NULL)
			return (
			    cm_fail(d, CM_EPROTO,
			            "%s: attributes[%zu]: id and value must "
			            "be at most %d bytes",
			            where, i, TRC_ATTR_MAX));
		in.nattrs++;
	}
	if (in.name == NULL)
		return (CM_OK);
	cm_diag_clear(&rd);
	if ((rv = trc_master_encode(&in, &rec, &rd)) == CM_OK)
		rv = fn(arg, cm_buf_bytes(&rec));
	else if (rv == CM_EPROTO)
		rv = cm_fail(d, CM_EPROTO, "%s: %s", where, rd.msg);
	cm_buf_fini(&rec);
	return (rv);
}

cm_err
trc_header_names(const cm_json *header, trc_rec_fn fn, void *arg, cm_diag *d)
{
	const cm_json *md, *vl;
	char           where[128];
	cm_err         rv;

	if (!cm_json_is_object(header))
		return (cm_fail(d, CM_EPROTO, "epcisHeader must be an object"));
	if ((md = cm_json_get(header, "epcisMasterData")) == NULL)
		return (CM_OK);
	vl = cm_json_get(md, "vocabularyList");
	if (!cm_json_is_object(md) || !cm_json_is_array(vl))
		return (
		    cm_fail(d, CM_EPROTO,
		            "epcisMasterData: needs a vocabularyList array"));
	for (size_t i = 0; i < cm_json_len(vl); i++) {
		const cm_json *v = cm_json_at(vl, i), *els;
		const char    *type;
		size_t         tl;

		els = cm_json_get(v, "vocabularyElementList");
		if (!cm_json_is_object(v) ||
		    (type = cm_json_str(cm_json_get(v, "type"), &tl)) == NULL ||
		    (els != NULL && !cm_json_is_array(els)))
			return (cm_fail(d, CM_EPROTO,
			                "epcisMasterData.vocabularyList[%zu]: "
			                "needs a type string and a "
			                "vocabularyElementList array",
			                i));
		if (!vtype_named(type, tl))
			continue;
		for (size_t j = 0; els != NULL && j < cm_json_len(els); j++) {
			snprintf(where, sizeof(where),
			         "epcisMasterData.vocabularyList[%zu]."
			         "vocabularyElementList[%zu]",
			         i, j);
			if ((rv = element_name(cm_json_at(els, j), where, fn,
			                       arg, d)) != CM_OK)
				return (rv);
		}
	}
	return (CM_OK);
}

cm_err
trc_name_stored(struct ldg_txn *t, cm_bytes rec, const char *by, uint64_t *leaf)
{
	cm_cbor_map m;
	mrec        r;
	uint8_t     k[2 + TRC_ID_KEY_MAX + UL];
	cm_bytes    v, lb;
	ldg_rleaf   rl;
	ldg_db      db;
	cm_err      rv;

	*leaf = 0;
	if (strlen(by) != UL || cm_cbor_check_map(rec, &m, NULL) != CM_OK ||
	    m_decode(TRC_M_NAME, &m, &r, NULL) != CM_OK)
		return (CM_EINVAL);
	k[0] = 'n';
	memcpy(k + 1, r.key, r.key_len);
	k[1 + r.key_len] = 0;
	memcpy(k + 2 + r.key_len, by, UL);
	if ((rv = mdb(t, &db)) != CM_OK)
		return (rv);
	rv = ldg_kv_get(t, db, CM_BYTES(k, 2 + r.key_len + UL), &v);
	if (rv == CM_ENOTFOUND)
		return (CM_OK);
	if (rv != CM_OK)
		return (rv);
	if (v.len < 9)
		return (CM_ECORRUPT);
	if (ldg_leaf_get(t, cm_get_u64be(v.p), &lb) != CM_OK ||
	    ldg_rleaf_decode(lb, &rl, NULL) != CM_OK)
		return (CM_ECORRUPT);
	if (cm_bytes_eq(rl.rec, rec))
		*leaf = cm_get_u64be(v.p);
	return (CM_OK);
}

/* ---- may_write and validate ---- */

static bool
has_scope(const ldg_identity *id, const char *s)
{
	return (ldg_identity_has_scope(id, CM_BYTES(s, strlen(s))));
}

bool
trc_mk_authority_may(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	if (id->role == LDG_ROLE_REGULATOR && has_scope(id, TRC_SCOPE_MASTER))
		return (true);
	cm_diag_set(d,
	            "%.*s: only a regulator with the scope %s registers and "
	            "confirms prefixes and GLNs%s",
	            (int) r->kind.len, (const char *) r->kind.p,
	            TRC_SCOPE_MASTER,
	            id->role == LDG_ROLE_ENTERPRISE
	                ? " (an enterprise claims its own: tally trace claim)"
	                : "");
	return (false);
}

bool
trc_mk_enterprise_may(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const mrec *m = r->decoded;

	if (id->role != LDG_ROLE_ENTERPRISE) {
		cm_diag_set(d,
		            "%.*s: only an enterprise writes this, not role %s",
		            (int) r->kind.len, (const char *) r->kind.p,
		            ldg_role_name(id->role));
		return (false);
	}
	if ((m->op == TRC_M_DELEGATE || m->op == TRC_M_UNDELEGATE) &&
	    strcmp(m->uscc, id->uscc) == 0) {
		cm_diag_set(d,
		            "%.*s: an enterprise does not delegate to itself",
		            (int) r->kind.len, (const char *) r->kind.p);
		return (false);
	}
	return (true);
}

bool
trc_mk_name_may(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	(void) r;
	if (id->role == LDG_ROLE_ENTERPRISE || id->role == LDG_ROLE_REGULATOR)
		return (true);
	cm_diag_set(d, "trace.name: role %s names no locations or parties",
	            ldg_role_name(id->role));
	return (false);
}

/* uscc is a registered enterprise before leaf. */
static cm_err
enterprise_check(ldg_txn *t, const char *what, const char *field,
                 const char *uscc, uint64_t leaf, cm_diag *d)
{
	ldg_org o;

	if (ldg_org_get(t, uscc, &o, NULL) != CM_OK || o.reg_index >= leaf)
		return (cm_fail(d, CM_EREF,
		                "%s: %s %s is not a registered organisation",
		                what, field, uscc));
	if (o.role != LDG_ROLE_ENTERPRISE)
		return (cm_fail(d, CM_EDENIED,
		                "%s: %s %s is a %s, not an enterprise", what,
		                field, uscc, ldg_role_name(o.role)));
	return (CM_OK);
}

cm_err
trc_mk_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const mrec *m = r->decoded;
	const char *what = kind_names[m->op], *me = r->signer->uscc;
	trc_owner   o;
	bool        bound;
	cm_err      rv;

	if (m->op == TRC_M_NAME)
		return (CM_OK);
	rv = binding_get(t, m->digits, strlen(m->digits), &o);
	if (rv != CM_OK && rv != CM_ENOTFOUND)
		return (rv);
	bound = rv == CM_OK;
	switch (m->op) {
	case TRC_M_BIND:
		if ((rv = enterprise_check(t, what, "owner", m->uscc, r->index,
		                           d)) != CM_OK)
			return (rv);
		if (bound && o.status == TRC_BOUND_REGISTERED &&
		    strcmp(o.uscc, m->uscc) == 0)
			return (cm_fail(d, CM_EEXIST,
			                "%s: %s is already registered to %s "
			                "(leaf %llu)",
			                what, m->digits, o.uscc,
			                (unsigned long long) o.leaf));
		return (CM_OK);
	case TRC_M_CLAIM:
		if (bound && o.status == TRC_BOUND_REGISTERED)
			return (
			    cm_fail(d, CM_EDENIED,
			            "%s: %s is registered to %s (leaf %llu); "
			            "a claim changes no registration",
			            what, m->digits, o.uscc,
			            (unsigned long long) o.leaf));
		if (bound && strcmp(o.uscc, me) == 0)
			return (cm_fail(d, CM_EEXIST,
			                "%s: %s is already claimed by %s (leaf "
			                "%llu)",
			                what, m->digits, me,
			                (unsigned long long) o.leaf));
		if (bound)
			return (
			    cm_fail(d, CM_EDENIED,
			            "%s: %s is claimed by %s (leaf %llu, "
			            "unconfirmed); a regulator registers it "
			            "to one of you",
			            what, m->digits, o.uscc,
			            (unsigned long long) o.leaf));
		return (CM_OK);
	case TRC_M_CONFIRM:
		if (!bound || o.status != TRC_BOUND_CLAIMED ||
		    strcmp(o.uscc, m->uscc) != 0)
			return (cm_fail(
			    d, CM_EREF,
			    "%s: %s has no unconfirmed claim by %s "
			    "(it is %s%s%s)",
			    what, m->digits, m->uscc,
			    trc_bound_name(bound ? o.status : TRC_BOUND_NONE),
			    bound ? " to " : "", bound ? o.uscc : ""));
		return (CM_OK);
	case TRC_M_DELEGATE:
	case TRC_M_UNDELEGATE:
		if (!bound || strcmp(o.uscc, me) != 0)
			return (cm_fail(
			    d, CM_EDENIED,
			    "%s: company prefix %s is not bound to "
			    "%s (it is %s%s%s)",
			    what, m->digits, me,
			    trc_bound_name(bound ? o.status : TRC_BOUND_NONE),
			    bound ? " to " : "", bound ? o.uscc : ""));
		if (m->op == TRC_M_DELEGATE) {
			if ((rv = enterprise_check(t, what, "to", m->uscc,
			                           r->index, d)) != CM_OK)
				return (rv);
			if (trc_delegated(t, m->digits, me, m->uscc))
				return (cm_fail(d, CM_EEXIST,
				                "%s: %s has delegated %s to %s "
				                "already",
				                what, me, m->digits, m->uscc));
		} else if (!trc_delegated(t, m->digits, me, m->uscc)) {
			return (
			    cm_fail(d, CM_EREF,
			            "%s: %s has no delegation of %s to %s to "
			            "revoke",
			            what, me, m->digits, m->uscc));
		}
		return (CM_OK);
	default:
		return (CM_OK);
	}
}

/* ---- the indexer ---- */

static cm_err
master_put(ldg_txn *t, const ldg_leaf *leaf, const mrec *m)
{
	const ldg_identity *s = leaf->record->signer;
	uint8_t             k[2 + TRC_ID_KEY_MAX + UL + 2], v[9 + TRC_NAME_MAX];
	size_t              n = strlen(m->digits);
	ldg_db              db;
	cm_err              rv;

	if ((rv = mdb(t, &db)) != CM_OK)
		return (rv);
	switch (m->op) {
	case TRC_M_BIND:
	case TRC_M_CONFIRM:
	case TRC_M_CLAIM:
		k[0] = 'b';
		memcpy(k + 1, m->digits, n);
		v[0] = m->op == TRC_M_CLAIM ? TRC_BOUND_CLAIMED
		                            : TRC_BOUND_REGISTERED;
		cm_put_u64be(v + 1, leaf->index);
		memcpy(v + 9, m->op == TRC_M_CLAIM ? s->uscc : m->uscc, UL);
		return (ldg_kv_put(t, db, CM_BYTES(k, n + 1),
		                   CM_BYTES(v, 9 + UL), 0));
	case TRC_M_DELEGATE:
		cm_put_u64be(v, leaf->index);
		memcpy(v + 8, s->uscc, UL);
		return (ldg_kv_put(
		    t, db, CM_BYTES(k, deleg_key(k, m->digits, m->uscc)),
		    CM_BYTES(v, 8 + UL), 0));
	case TRC_M_UNDELEGATE:
		return (ldg_kv_del(
		    t, db, CM_BYTES(k, deleg_key(k, m->digits, m->uscc)),
		    NULL));
	case TRC_M_NAME:
		k[0] = 'n';
		memcpy(k + 1, m->key, m->key_len);
		k[1 + m->key_len] = 0;
		memcpy(k + 2 + m->key_len, s->uscc, UL);
		cm_put_u64be(v, leaf->index);
		v[8] = (uint8_t) s->role;
		memcpy(v + 9, m->name.p, m->name.len);
		return (ldg_kv_put(t, db, CM_BYTES(k, 2 + m->key_len + UL),
		                   CM_BYTES(v, 9 + m->name.len), 0));
	}
	return (CM_OK);
}

/* The producers of the event's products: each GS1 key's registered
 * owner, else the enterprise that commissioned it. */
static cm_err
producers(ldg_txn *t, ldg_db db, const trc_event *ev, const char *self,
          char (*out)[UL + 1], size_t *n)
{
	*n = 0;
	for (size_t i = 0; i < ev->nrefs && *n < TRC_EVENT_LIST_MAX; i++) {
		const trc_event_ref *r = &ev->refs[i];
		char                 who[UL + 1] = "";
		uint8_t              k[1 + TRC_ID_KEY_MAX];
		trc_owner            o;
		cm_bytes             v;
		ldg_org              org;
		bool                 dup = false;

		if (trc_key_owner(t, CM_BYTES(r->key, r->key_len), &o) ==
		        CM_OK &&
		    o.status == TRC_BOUND_REGISTERED) {
			memcpy(who, o.uscc, UL + 1);
		} else {
			k[0] = 'c';
			memcpy(k + 1, r->key, r->key_len);
			if (ldg_kv_get(t, db, CM_BYTES(k, 1 + r->key_len),
			               &v) != CM_OK ||
			    v.len != 8 + UL)
				continue;
			memcpy(who, v.p + 8, UL);
			who[UL] = '\0';
			if (ldg_org_get(t, who, &org, NULL) != CM_OK ||
			    org.role != LDG_ROLE_ENTERPRISE)
				continue;
		}
		if (strcmp(who, self) == 0)
			continue;
		for (size_t j = 0; j < *n && !dup; j++)
			dup = strcmp(out[j], who) == 0;
		if (!dup)
			memcpy(out[(*n)++], who, UL + 1);
	}
	return (CM_OK);
}

static unsigned
nonconformant(const trc_event *ev)
{
	unsigned why = 0;

	if (is_word(&ev->disposition, "non_conformant"))
		why |= TRC_INSP_DISPOSITION;
	for (size_t i = 0; i < ev->npset; i++)
		if (is_word(&ev->pset[i], "non_conformant"))
			why |= TRC_INSP_PERSISTENT;
	if (ev->nsensor_exc > 0)
		why |= TRC_INSP_SENSOR;
	return (why);
}

static cm_err
event_put(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const ldg_identity *s = leaf->record->signer;
	cm_json            *j = NULL;
	trc_event           ev;
	trc_event_ctx       c = {0};
	trc_standing        st = TRC_STANDING_OK;
	cm_bytes            text, id;
	uint8_t             k[1 + UL + 16 + TRC_ID_KEY_MAX], v[8 + UL];
	char                prod[TRC_EVENT_LIST_MAX][UL + 1];
	size_t              np;
	unsigned            why;
	uint8_t             sb;
	ldg_db              db;
	cm_err              rv;

	memset(&ev, 0, sizeof(ev));
	if ((rv = mdb(t, &db)) != CM_OK ||
	    (rv = trc_event_at(t, leaf->index, &text, &id, d)) != CM_OK)
		return (rv);
	if ((rv = cm_json_parse(text, &j, d)) != CM_OK)
		goto out;
	if (s->uscc[0] != '\0')
		c.uscc = CM_BYTES(s->uscc, strlen(s->uscc));
	else
		c.unscoped = true;
	if ((rv = trc_event_check(j, &c, &ev, d)) != CM_OK ||
	    (rv = trc_master_check(t, &ev, s, &st, d)) != CM_OK)
		goto out;
	k[0] = 's';
	cm_put_u64be(k + 1, leaf->index);
	sb = (uint8_t) st;
	if ((rv = ldg_kv_put(t, db, CM_BYTES(k, 9), CM_BYTES(&sb, 1), 0)) !=
	    CM_OK)
		goto out;
	cm_put_u64be(v, leaf->index);
	memcpy(v + 8, s->uscc, UL);
	for (size_t i = 0; i < ev.nrefs && s->uscc[0] != '\0'; i++) {
		if (!commissions(&ev, &ev.refs[i]))
			continue;
		k[0] = 'c';
		memcpy(k + 1, ev.refs[i].key, ev.refs[i].key_len);
		rv = ldg_kv_put(t, db, CM_BYTES(k, 1 + ev.refs[i].key_len),
		                CM_BYTES(v, 8 + UL), LDG_PUT_NOOVERWRITE);
		if (rv != CM_OK && rv != CM_EEXIST)
			goto out;
		rv = CM_OK;
	}
	if ((why = nonconformant(&ev)) == 0 || !inspector(s))
		goto out;
	if ((rv = producers(t, db, &ev, s->uscc, prod, &np)) != CM_OK)
		goto out;
	for (size_t i = 0; i < np; i++) {
		k[0] = 'i';
		memcpy(k + 1, prod[i], UL);
		cm_put_u64be(k + 1 + UL, leaf->index);
		cm_put_u64be(k + 1 + UL + 8,
		             (uint64_t) ev.time_ms ^ (UINT64_C(1) << 63));
		v[0] = (uint8_t) why;
		memcpy(v + 1, s->uscc, UL);
		if ((rv = ldg_kv_put(t, db, CM_BYTES(k, 1 + UL + 16),
		                     CM_BYTES(v, 1 + UL), 0)) != CM_OK)
			goto out;
	}
out:
	trc_event_fini(&ev);
	cm_json_free(j);
	return (rv);
}

cm_err
trc_master_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const ldg_record *r = leaf->record;

	if (r == NULL)
		return (CM_OK);
	if (cm_bytes_eq_str(r->kind, "trace.event"))
		return (event_put(t, leaf, d));
	for (size_t i = 0; i < 6; i++)
		if (cm_bytes_eq_str(r->kind, kind_names[i]))
			return (master_put(t, leaf, r->decoded));
	return (CM_OK);
}

const ldg_dbspec trc_master_dbs[1] = {{MASTER_DB, 0}};
