/* SPDX-License-Identifier: MIT */
/* credit/crd_adopt.c -- the record kinds credit.catalogue and
 * credit.scorecard (the operator adopts a file: its canonical text, SHA-256,
 * version and effective date) and their indexer, which keeps every adopted
 * text under its leaf index so that "the one adopted before leaf N" is one
 * cursor seek.  Reached through ledger/ldg.h only.  Format: docs/format.md
 * (credit records). */
#include "credit/crd_impl.h"

#include <string.h>

#define CAT_DB "crd_catalogue"
#define SC_DB "crd_scorecard"
#define CAL_DB "crd_calendar"
#define VAL_HDR (4 + 4 + CM_HASH_LEN) /* version, effective, sha256 */

/* The three adopted files: catalogue, scorecard, working-day calendar. */
typedef enum ftype { F_CAT, F_SC, F_CAL } ftype;

typedef struct adopt {
	cm_bytes text;
	uint32_t version;
	crd_day  effective;
	ftype    ft;
	bool     public_;
	uint8_t  sha[CM_HASH_LEN];
} adopt;

static const char *const kind_names[] = {CRD_KIND_CATALOGUE, CRD_KIND_SCORECARD,
                                         CRD_KIND_CALENDAR};

/* Parses text as a file of type ft into its canonical form, version,
 * effective date and (scorecards) scope. */
static cm_err
file_parse(ftype ft, cm_bytes text, cm_buf *canon, uint32_t *version,
           crd_day *effective, bool *public_, cm_diag *d)
{
	crd_catalogue *c = NULL;
	crd_scorecard *s = NULL;
	crd_calendar  *k = NULL;
	cm_err         rv;

	*public_ = false;
	if (ft == F_CAT && (rv = crd_catalogue_decode(text, &c, d)) == CM_OK) {
		rv = crd_catalogue_encode(c, canon);
		*version = c->version;
		*effective = c->effective;
	} else if (ft == F_SC &&
	           (rv = crd_scorecard_decode(text, &s, d)) == CM_OK) {
		rv = crd_scorecard_encode(s, canon);
		*version = s->version;
		*effective = s->effective;
		*public_ = s->public_;
	} else if (ft == F_CAL &&
	           (rv = crd_calendar_decode(text, &k, d)) == CM_OK) {
		rv = crd_calendar_encode(k, canon);
		*version = k->version;
		*effective = k->effective;
	}
	crd_catalogue_free(c);
	crd_scorecard_free(s);
	crd_calendar_free(k);
	return (rv);
}

static cm_err
build(ftype ft, cm_bytes text, cm_buf *out, cm_diag *d)
{
	cm_buf     canon = {0};
	cm_cbor_wr w;
	uint8_t    sha[CM_HASH_LEN];
	char       eff[11];
	uint32_t   version;
	crd_day    effective;
	bool       pub;
	cm_err     rv;

	if ((rv = file_parse(ft, text, &canon, &version, &effective, &pub,
	                     d)) != CM_OK)
		goto out;
	crd_day_format(effective, eff);
	cm_sha256(canon.p, canon.len, sha);
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 6);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, kind_names[ft]);
	cm_cbor_wr_cstr(&w, "text");
	cm_cbor_wr_text(&w, cm_buf_bytes(&canon));
	cm_cbor_wr_cstr(&w, "sha256");
	cm_cbor_wr_bytes(&w, CM_BYTES(sha, sizeof(sha)));
	cm_cbor_wr_cstr(&w, "version");
	cm_cbor_wr_uint(&w, version);
	cm_cbor_wr_cstr(&w, "effective");
	cm_cbor_wr_cstr(&w, eff);
	rv = cm_cbor_wr_finish(&w, d);
out:
	cm_buf_fini(&canon);
	return (rv);
}

cm_err
crd_record_build(bool scorecard, cm_bytes text, cm_buf *out, cm_diag *d)
{
	return (build(scorecard ? F_SC : F_CAT, text, out, d));
}

cm_err
crd_adopt_build(crd_which which, cm_bytes text, cm_buf *out, cm_diag *d)
{
	return (build(which == CRD_CATALOGUE  ? F_CAT
	              : which == CRD_CALENDAR ? F_CAL
	                                      : F_SC,
	              text, out, d));
}

/* Decodes the record; the text must be the canonical form of a file that
 * parses, and the other fields must be its hash, version and date. */
static cm_err
adopt_fields(const cm_cbor_map *rec, ftype ft, adopt *a, cm_diag *d)
{
	enum { T, KIND, TEXT, SHA, VERSION, EFFECTIVE, NF };
	ldg_field   f[NF] = {{.name = "t", .required = true},
	                     {.name = "kind", .required = true},
	                     {.name = "text", .required = true},
	                     {.name = "sha256", .required = true},
	                     {.name = "version", .required = true},
	                     {.name = "effective", .required = true}};
	const char *what = kind_names[ft];
	cm_buf      canon = {0};
	cm_bytes    sha, eff;
	uint64_t    version;
	cm_diag     pd;
	cm_err      rv;

	memset(a, 0, sizeof(*a));
	a->ft = ft;
	if ((rv = ldg_fields_from_map(rec, "tally/record/v1", f, NF, d)) !=
	        CM_OK ||
	    (rv = ldg_field_text(&f[TEXT], &a->text, d)) != CM_OK ||
	    (rv = ldg_field_bytes(&f[SHA], &sha, d)) != CM_OK ||
	    (rv = ldg_field_uint(&f[VERSION], &version, d)) != CM_OK ||
	    (rv = ldg_field_text(&f[EFFECTIVE], &eff, d)) != CM_OK)
		return (rv);
	cm_diag_clear(&pd);
	rv = file_parse(ft, a->text, &canon, &a->version, &a->effective,
	                &a->public_, &pd);
	if (rv == CM_EPROTO || rv == CM_ETOOBIG) {
		rv = cm_fail(d, CM_EPROTO, "%s: text: %s", what, pd.msg);
		goto out;
	}
	if (rv != CM_OK)
		goto out;
	cm_sha256(a->text.p, a->text.len, a->sha);
	if (!cm_bytes_eq(cm_buf_bytes(&canon), a->text))
		rv = cm_fail(d, CM_EPROTO, "%s: text is not canonical", what);
	else if (sha.len != CM_HASH_LEN ||
	         memcmp(sha.p, a->sha, CM_HASH_LEN) != 0)
		rv = cm_fail(d, CM_EPROTO,
		             "%s: sha256 is not the SHA-256 of the text", what);
	else if (version != a->version)
		rv = cm_fail(d, CM_EPROTO,
		             "%s: version %llu differs from the text's %u",
		             what, (unsigned long long) version, a->version);
	else {
		crd_day day;

		if (crd_day_parse((const char *) eff.p, eff.len, &day) !=
		        CM_OK ||
		    day != a->effective)
			rv = cm_fail(d, CM_EPROTO,
			             "%s: effective differs from the text's",
			             what);
	}
out:
	cm_buf_fini(&canon);
	return (rv);
}

static cm_err
cat_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	adopt a;

	return (adopt_fields(rec, F_CAT, out != NULL ? out : &a, d));
}

static cm_err
sc_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	adopt a;

	return (adopt_fields(rec, F_SC, out != NULL ? out : &a, d));
}

static cm_err
cal_decode(const cm_cbor_map *rec, void *out, cm_diag *d)
{
	adopt a;

	return (adopt_fields(rec, F_CAL, out != NULL ? out : &a, d));
}

static crd_which
adopt_which(const adopt *a)
{
	return (a->ft == F_CAT   ? CRD_CATALOGUE
	        : a->ft == F_CAL ? CRD_CALENDAR
	        : a->public_     ? CRD_SCORECARD_PUBLIC
	                         : CRD_SCORECARD_FULL);
}

static bool
adopt_may_write(const ldg_identity *id, const ldg_record *r, cm_diag *d)
{
	const adopt *a = r->decoded;

	if (id->role == LDG_ROLE_OPERATOR)
		return (true);
	cm_diag_set(d, "only the operator adopts a %s; this key's role is %s",
	            a->ft == F_CAT   ? "catalogue"
	            : a->ft == F_CAL ? "calendar"
	                             : "scorecard",
	            ldg_role_name(id->role));
	return (false);
}

/* The index key: scope byte (scorecards: 0 full, 1 public) || leaf. */
static size_t
adopt_key(crd_which which, uint64_t leaf, uint8_t key[9])
{
	if (which == CRD_CATALOGUE || which == CRD_CALENDAR) {
		cm_put_u64be(key, leaf);
		return (8);
	}
	key[0] = which == CRD_SCORECARD_PUBLIC;
	cm_put_u64be(key + 1, leaf);
	return (9);
}

static const char *
adopt_db(crd_which which)
{
	return (which == CRD_CATALOGUE  ? CAT_DB
	        : which == CRD_CALENDAR ? CAL_DB
	                                : SC_DB);
}

cm_err
crd_adopted_get(ldg_txn *t, crd_which which, uint64_t before, crd_adopted *out)
{
	ldg_cursor *c = NULL;
	uint8_t     key[9];
	size_t      klen = adopt_key(which, before, key);
	cm_bytes    k, v;
	ldg_db      db;
	cm_err      rv;

	memset(out, 0, sizeof(*out));
	if ((rv = ldg_db_find(t, adopt_db(which), &db)) != CM_OK ||
	    (rv = ldg_cursor_open(t, db, &c)) != CM_OK)
		return (rv);
	rv = ldg_cursor_seek(c, CM_BYTES(key, klen), &k, &v);
	if (rv == CM_OK)
		rv = ldg_cursor_prev(c, &k, &v);
	else if (rv == CM_ENOTFOUND)
		rv = ldg_cursor_last(c, &k, &v);
	if (rv != CM_OK)
		goto out;
	/* The entry before `before`: none if it lies in the other scope. */
	if (klen == 9 && k.len == 9 && k.p[0] != key[0]) {
		rv = CM_ENOTFOUND;
		goto out;
	}
	if (k.len != klen || v.len < VAL_HDR) {
		rv = CM_ECORRUPT;
		goto out;
	}
	out->leaf = cm_get_u64be(k.p + klen - 8);
	out->version = cm_get_u32be(v.p);
	out->effective = (crd_day) cm_get_u32be(v.p + 4);
	memcpy(out->sha, v.p + 8, CM_HASH_LEN);
	out->text = CM_BYTES(v.p + VAL_HDR, v.len - VAL_HDR);
out:
	ldg_cursor_close(c);
	return (rv);
}

static cm_err
adopt_validate(ldg_txn *t, const ldg_record *r, cm_diag *d)
{
	const adopt   *a = r->decoded;
	crd_which      which = adopt_which(a);
	crd_adopted    last, cat;
	crd_catalogue *c = NULL;
	crd_scorecard *s = NULL;
	cm_err         rv;

	rv = crd_adopted_get(t, which, r->index, &last);
	if (rv == CM_OK && last.version >= a->version)
		return (cm_fail(d, CM_EINVAL,
		                "%s version %u is not newer than version %u "
		                "adopted at leaf %llu",
		                crd_which_name(which), a->version, last.version,
		                (unsigned long long) last.leaf));
	if (rv != CM_OK && rv != CM_ENOTFOUND)
		return (rv);
	if (a->ft != F_SC)
		return (CM_OK);
	if ((rv = crd_adopted_get(t, CRD_CATALOGUE, r->index, &cat)) ==
	    CM_ENOTFOUND)
		return (cm_fail(d, CM_EREF,
		                "no catalogue is adopted yet: adopt one before "
		                "a scorecard"));
	if (rv != CM_OK)
		return (rv);
	/* Both texts parsed when they were adopted; a failure now is a
	 * damaged index. */
	if (crd_catalogue_decode(cat.text, &c, NULL) != CM_OK ||
	    crd_scorecard_decode(a->text, &s, NULL) != CM_OK)
		rv = CM_ECORRUPT;
	else
		rv = crd_scorecard_check(s, c, d);
	crd_catalogue_free(c);
	crd_scorecard_free(s);
	return (rv);
}

static cm_err
adopt_index(ldg_txn *t, const ldg_leaf *leaf, cm_diag *d)
{
	const adopt *a;
	crd_which    which;
	uint8_t      key[9];
	size_t       klen;
	cm_buf       val = {0};
	ldg_db       db;
	cm_err       rv;

	(void) d;
	if (leaf->record == NULL ||
	    (!cm_bytes_eq_str(leaf->record->kind, CRD_KIND_CATALOGUE) &&
	     !cm_bytes_eq_str(leaf->record->kind, CRD_KIND_SCORECARD) &&
	     !cm_bytes_eq_str(leaf->record->kind, CRD_KIND_CALENDAR)))
		return (CM_OK);
	a = leaf->record->decoded;
	which = adopt_which(a);
	klen = adopt_key(which, leaf->index, key);
	if ((rv = ldg_db_find(t, adopt_db(which), &db)) != CM_OK ||
	    (rv = cm_buf_reserve(&val, VAL_HDR + a->text.len)) != CM_OK)
		goto out;
	cm_put_u32be(val.p, a->version);
	cm_put_u32be(val.p + 4, (uint32_t) a->effective);
	memcpy(val.p + 8, a->sha, CM_HASH_LEN);
	memcpy(val.p + VAL_HDR, a->text.p, a->text.len);
	val.len = VAL_HDR + a->text.len;
	rv = ldg_kv_put(t, db, CM_BYTES(key, klen), cm_buf_bytes(&val), 0);
out:
	cm_buf_fini(&val);
	return (rv);
}

const char *
crd_which_name(crd_which w)
{
	return (w == CRD_CATALOGUE          ? "catalogue"
	        : w == CRD_SCORECARD_PUBLIC ? "public scorecard"
	        : w == CRD_CALENDAR         ? "calendar"
	                                    : "scorecard");
}

/* The kinds and indexers of the whole credit module: these here, and
 * those of the access records (credit/crd_access.c, CRD_ACCESS_KINDS). */
static const ldg_kind crd_kinds[] = {
    {CRD_KIND_CATALOGUE, sizeof(adopt), cat_decode, adopt_may_write,
     adopt_validate},
    {CRD_KIND_SCORECARD, sizeof(adopt), sc_decode, adopt_may_write,
     adopt_validate},
    {CRD_KIND_CALENDAR, sizeof(adopt), cal_decode, adopt_may_write,
     adopt_validate},
    {CRD_KIND_EVENT, sizeof(crd_ev_rec), crd_ev_decode, crd_ev_may_write,
     crd_ev_validate},
    {CRD_KIND_REVOKE, sizeof(crd_ev_rec), crd_rv_decode, crd_ev_may_write,
     crd_ev_validate},
    {CRD_KIND_CONFIRM, sizeof(crd_ev_rec), crd_cf_decode, crd_ev_may_write,
     crd_ev_validate},
    {CRD_KIND_IMPORT, sizeof(crd_import), crd_im_decode, crd_im_may_write,
     crd_im_validate},
    CRD_ACCESS_KINDS};
static const ldg_dbspec  crd_dbs[] = {{CAT_DB, 0}, {SC_DB, 0}, {CAL_DB, 0}};
static const ldg_indexer crd_indexers[] = {
    {"credit.adopted", 2, crd_dbs, 3, adopt_index},
    {"credit.events", 2, crd_ev_dbs, 4, crd_ev_index},
    CRD_ACCESS_INDEXERS};
const ldg_module crd_module = {"credit",
                               crd_kinds,
                               sizeof(crd_kinds) / sizeof(crd_kinds[0]),
                               crd_indexers,
                               sizeof(crd_indexers) / sizeof(crd_indexers[0]),
                               NULL,
                               NULL};
