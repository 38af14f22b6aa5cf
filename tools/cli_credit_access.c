/* SPDX-License-Identifier: MIT */
/* tools/cli_credit_access.c -- the access commands of `tally credit`:
 * consent, the full report (every read a query record, the answer
 * released only after its commit), the audit replay, disputes,
 * statements, credit repair and person tokens.  Each write is checked
 * here first where the CLI can (options, the identity number), so a
 * refusal names the option, then signed and appended; the ledger checks
 * it again (credit/crd_access.c, crd_dispute.c, crd_person.c). */
#include "credit/crd.h"
#include "tools/cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

const char cli_credit_access_usage[] =
    "       tally credit consent grant --data DIR --key ENTKEY --bank "
    "USCC\n"
    "                --purpose CODE --until DATE [--json]\n"
    "       tally credit consent revoke --data DIR --key ENTKEY --bank "
    "USCC\n"
    "                [--purpose CODE] [--json]\n"
    "       tally credit report USCC --data DIR [--key KEY --staff ID]\n"
    "                [--purpose CODE] [--as-of DATE] [--size N] "
    "[--json]\n"
    "                [--proofs]\n"
    "       tally credit audit --data DIR\n"
    "       tally credit dispute open --data DIR --key ENTKEY "
    "--statement TEXT\n"
    "                (--record LEAF [--grounds G] |\n"
    "                 --missing TEXT --item ITEM --issuer USCC) "
    "[--json]\n"
    "       tally credit dispute resolve --data DIR --key KEY --dispute "
    "LEAF\n"
    "                --outcome removed|corrected|unresolved --statement "
    "TEXT\n"
    "                [--correction LEAF] [--json]\n"
    "       tally credit dispute escalate --data DIR --key REGKEY\n"
    "                --dispute LEAF --statement TEXT [--json]\n"
    "       tally credit disputes --data DIR [--overdue] [--as-of DATE]\n"
    "                [--json]\n"
    "       tally credit statement --data DIR --key ENTKEY --record "
    "LEAF\n"
    "                --text TEXT [--json]\n"
    "       tally credit repair apply --data DIR --key ENTKEY --record "
    "LEAF\n"
    "                --commitment TEXT [--json]\n"
    "       tally credit repair decide --data DIR --key REGKEY\n"
    "                --application LEAF (--grant|--refuse) --reason "
    "TEXT\n"
    "                [--json]\n"
    "       tally credit token --data DIR --key WRITERKEY --token-key "
    "FILE\n"
    "                --id-number N [--role "
    "legal-representative|guarantor]\n"
    "                [--json]\n"
    "       tally credit token-key --out FILE\n"
    "consent: an enterprise lets one bank read its full report for one\n"
    "purpose (loan-approval, post-loan, guarantee-review) until DATE.\n"
    "report: with --key, writes the reader's query record first and "
    "prints\n"
    "the report only after its commit (a bank needs a consent in force, "
    "or\n"
    "gets the public part and exit 1); without --key, the local read.\n"
    "audit: replays every query record (access, consent, answer).\n"
    "disputes: every dispute with its deadlines and state on DATE "
    "(default:\n"
    "the log's last day); --overdue only those past their decide "
    "deadline.\n"
    "token: the person token of an identity number, logged as a record.\n";

/* ---- options ---- */

static const char *
need_uscc(const opts *o, const char *name)
{
	const char *v = need(o, name);
	cm_diag     d;

	cm_diag_clear(&d);
	if (ldg_uscc_check(CM_BYTES(v, strlen(v)), &d) != CM_OK)
		die(EX_NO, "--%s %s is not a valid USCC: %s", name, v, d.msg);
	return (v);
}

static crd_purpose
purpose_arg(const char *v, bool bank_only)
{
	int p = crd_purpose_parse(CM_BYTES(v, strlen(v)));

	if (p < 0 || (bank_only && p >= CRD_NPURPOSE_BANK))
		die(EX_NO,
		    "--purpose %s is not a purpose code (loan-approval, "
		    "post-loan, guarantee-review%s)",
		    v, bank_only ? "" : ", self, supervision, audit");
	return ((crd_purpose) p);
}

static crd_day
day_arg(const char *v, const char *name)
{
	crd_day day;

	if (crd_day_parse(v, strlen(v), &day) != CM_OK)
		die(EX_NO, "--%s %s is not a date YYYY-MM-DD", name, v);
	return (day);
}

/* A free text option: 1..max bytes. */
static const char *
need_text(const opts *o, const char *name, size_t max)
{
	const char *v = need(o, name);

	if (v[0] == '\0' || strlen(v) > max)
		die(EX_NO, "--%s must be 1 to %zu bytes", name, max);
	return (v);
}

/* ---- writing one record ---- */

static void
record_head(cm_cbor_wr *w, cm_buf *rec, size_t n)
{
	cm_cbor_wr_init(w, rec);
	cm_cbor_wr_map(w, n);
	cm_cbor_wr_cstr(w, "t");
	cm_cbor_wr_cstr(w, "tally/record/v1");
}

static void
wr_kv(cm_cbor_wr *w, const char *k, const char *v)
{
	cm_cbor_wr_cstr(w, k);
	cm_cbor_wr_cstr(w, v);
}

static void
wr_ku(cm_cbor_wr *w, const char *k, uint64_t v)
{
	cm_cbor_wr_cstr(w, k);
	cm_cbor_wr_uint(w, v);
}

/* Signs the one record rec with KEY and appends it; the receipt. */
static int
write_one(const opts *o, cm_cbor_wr *w, cm_buf *rec)
{
	ldg_store *s;
	cm_key    *k;
	cm_bytes   r;
	cm_diag    d;
	int        ex;

	cm_diag_clear(&d);
	if (cm_cbor_wr_finish(w, &d) != CM_OK)
		die(EX_USAGE, "internal: record: %s", d.msg);
	s = store_open(need(o, "data"), false);
	k = key_load(need(o, "key"));
	r = cm_buf_bytes(rec);
	ex = sign_and_append(s, k, &r, 1, opt(o, "json") != NULL);
	cm_key_free(k);
	ldg_close(s);
	cm_buf_fini(rec);
	return (ex);
}

/* ---- consent ---- */

static int
consent(const opts *o, bool grant)
{
	const char *bank = need_uscc(o, "bank");
	bool        purpose = grant || opt(o, "purpose") != NULL;
	crd_purpose p = purpose ? purpose_arg(need(o, "purpose"), true)
	                        : CRD_P_LOAN_APPROVAL;
	cm_buf      rec = {0};
	cm_cbor_wr  w;
	char        until[11];

	if (!grant && opt(o, "until") != NULL)
		die(EX_USAGE, "consent revoke takes no --until");
	if (grant)
		crd_day_format(day_arg(need(o, "until"), "until"), until);
	/* keys: t, op, bank, kind, [until,] [purpose] */
	record_head(&w, &rec, 4 + grant + purpose);
	wr_kv(&w, "op", grant ? "grant" : "revoke");
	wr_kv(&w, "bank", bank);
	wr_kv(&w, "kind", CRD_KIND_CONSENT);
	if (grant)
		wr_kv(&w, "until", until);
	if (purpose)
		wr_kv(&w, "purpose", crd_purpose_name(p));
	return (write_one(o, &w, &rec));
}

/* ---- report ---- */

/* The log time of leaf i (a record, header or genesis leaf). */
static uint64_t
leaf_time(ldg_txn *t, uint64_t i)
{
	cm_bytes    leaf, hb;
	ldg_rleaf   rl;
	ldg_hleaf   hl;
	ldg_genesis g;

	if (ldg_leaf_get(t, i, &leaf) != CM_OK)
		die(EX_USAGE, "cannot read leaf %llu", (unsigned long long) i);
	if (ldg_rleaf_decode(leaf, &rl, NULL) == CM_OK &&
	    ldg_leaf_get(t, rl.hi, &hb) == CM_OK &&
	    ldg_hleaf_decode(hb, &hl, NULL) == CM_OK)
		return (hl.log_time);
	if (ldg_hleaf_decode(leaf, &hl, NULL) == CM_OK)
		return (hl.log_time);
	if (ldg_genesis_decode(leaf, &g, NULL) == CM_OK)
		return (g.log_time);
	die(EX_USAGE, "internal: leaf %llu has no log time",
	    (unsigned long long) i);
}

static void
print_text(const cm_json *j, const char *key)
{
	size_t      n;
	const char *s = cm_json_str(cm_json_get(j, key), &n);

	if (s != NULL)
		fwrite(s, 1, n, stdout);
}

/* One report section as text lines. */
static void
section_text(const cm_json *rep, const char *key, const char *title)
{
	const cm_json *a = cm_json_get(rep, key);
	size_t         n = cm_json_len(a);

	printf("%s (%zu):\n", title, n);
	for (size_t i = 0; i < n; i++) {
		const cm_json *e = cm_json_at(a, i);
		int64_t        leaf = 0, about = -1;
		size_t         len;
		const char    *s;

		(void) cm_json_int(cm_json_get(e, "leaf"), &leaf);
		(void) cm_json_int(cm_json_get(e, "about"), &about);
		printf("  leaf %lld ", (long long) leaf);
		print_text(e, "date");
		printf(" ");
		print_text(e, "kind");
		if ((s = cm_json_str(cm_json_get(e, "what"), &len)) && len) {
			printf(": ");
			fwrite(s, 1, len, stdout);
		}
		if (about >= 0)
			printf(" (about leaf %lld)", (long long) about);
		if ((s = cm_json_str(cm_json_get(e, "by"), &len)) && len) {
			printf(" by ");
			fwrite(s, 1, len, stdout);
		}
		if ((s = cm_json_str(cm_json_get(e, "state"), &len)) && len) {
			printf(" [");
			fwrite(s, 1, len, stdout);
			printf("]");
		}
		if ((s = cm_json_str(cm_json_get(e, "text"), &len)) && len) {
			printf("\n    \"");
			fwrite(s, 1, len, stdout);
			printf("\"");
		}
		printf("\n");
	}
}

static void
report_text(cm_bytes body_json, const ldg_receipt *rc, const uint8_t *sha,
            bool local)
{
	cm_json       *rep = NULL;
	const cm_json *rd, *since;
	cm_diag        d;
	int64_t        size = 0, consent = -1;

	cm_diag_clear(&d);
	if (cm_json_parse(body_json, &rep, &d) != CM_OK)
		die(EX_USAGE, "internal: report: %s", d.msg);
	rd = cm_json_get(rep, "reader");
	(void) cm_json_int(cm_json_get(rep, "size"), &size);
	(void) cm_json_int(cm_json_get(rd, "consent"), &consent);
	printf("credit report of ");
	print_text(rep, "subject");
	if (cm_json_str(cm_json_get(rep, "name"), NULL) != NULL) {
		printf(" (");
		print_text(rep, "name");
		printf(")");
	}
	printf("\nas of ");
	print_text(rep, "as_of");
	printf(", over the first %lld leaves\n", (long long) size);
	if (local) {
		printf(
		    "read locally (--data without --key): no query record\n");
	} else {
		printf("read by ");
		print_text(rd, "uscc");
		printf(" (");
		print_text(rd, "role");
		printf(", staff ");
		print_text(rd, "staff");
		printf(") for ");
		print_text(rd, "purpose");
		if (consent >= 0)
			printf(" under the consent at leaf %lld",
			       (long long) consent);
		printf("\nquery record: leaf %llu (header %llu), log time "
		       "%llu, tree size %llu\nanswer sha256 ",
		       (unsigned long long) rc->first_record,
		       (unsigned long long) rc->header_index,
		       (unsigned long long) rc->log_time,
		       (unsigned long long) rc->size);
		print_hex(stdout, sha, CM_HASH_LEN);
		printf("\n");
	}
	section_text(rep, "records", "records");
	section_text(rep, "disputes", "disputes");
	section_text(rep, "statements", "statements");
	section_text(rep, "repairs", "repairs");
	section_text(rep, "queries", "queries");
	since = cm_json_get(rep, "since");
	if (since != NULL && !cm_json_is_null(since)) {
		int64_t last = -1, from = 0;
		size_t  n = cm_json_len(cm_json_get(since, "leaves"));

		(void) cm_json_int(cm_json_get(since, "last"), &last);
		(void) cm_json_int(cm_json_get(since, "from"), &from);
		if (last < 0)
			printf("since this bank's last query: its first query "
			       "of this subject\n");
		else {
			printf("since this bank's last query (leaf %lld, over "
			       "%lld leaves): %zu changed:",
			       (long long) last, (long long) from, n);
			for (size_t i = 0; i < n; i++) {
				int64_t l = 0;

				(void) cm_json_int(
				    cm_json_at(cm_json_get(since, "leaves"), i),
				    &l);
				printf(" %lld", (long long) l);
			}
			printf("\n");
		}
	}
	if (rc != NULL && rc->checkpoint.len > 0)
		fwrite(rc->checkpoint.p, 1, rc->checkpoint.len, stdout);
	cm_json_free(rep);
}

/* The public part, for a reader without access: printed, nothing
 * written. */
static void
public_print(ldg_txn *t, const char *subject, crd_day as_of, uint64_t size,
             bool json)
{
	cm_buf  b = {0}, j = {0};
	cm_diag d;

	cm_diag_clear(&d);
	if (crd_public_build(t, subject, as_of, size, &b, &d) != CM_OK ||
	    cm_cbor_to_json(cm_buf_bytes(&b), &j, &d) != CM_OK)
		die(EX_USAGE, "internal: public part: %s", d.msg);
	if (json)
		printf("{\"public\":%s}\n", (char *) j.p);
	else
		printf("public part of %s: %s\n", subject, (char *) j.p);
	cm_buf_fini(&b);
	cm_buf_fini(&j);
}

/* Every leaf the report cites and the query record, as record bundles. */
static void
proofs_write(cm_cbor_wr *w, ldg_store *s, const char *subject, uint64_t size,
             uint64_t consent, uint64_t query)
{
	ldg_txn  *t = rtxn(s);
	uint64_t *v = NULL;
	size_t    n = 0;

	if (crd_report_leaves(t, subject, size, &v, &n) != CM_OK)
		die(EX_USAGE, "cannot read the report's leaves");
	cm_cbor_wr_array(w, n + (consent != 0) + 1);
	for (size_t i = 0; i < n; i++)
		record_bundle_write(w, t, v[i]);
	if (consent != 0)
		record_bundle_write(w, t, consent);
	record_bundle_write(w, t, query);
	cm_free(v);
	ldg_txn_end(t);
}

static int
report(const opts *o)
{
	const char  *subject;
	const char  *keyf = opt(o, "key");
	ldg_store   *s;
	ldg_txn     *t;
	cm_key      *k = NULL;
	ldg_identity id;
	crd_reader   rd;
	crd_day      as_of, today;
	uint64_t     size, cur, last;
	uint8_t      pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN], sha[CM_HASH_LEN];
	cm_buf       body = {0}, rec = {0}, j = {0};
	ldg_receipt  rc;
	cm_diag      d;
	cm_bytes     r;
	cm_err       st;
	bool         json = opt(o, "json") != NULL;
	bool         proofs = opt(o, "proofs") != NULL;

	if (o->npos != 1)
		die(EX_USAGE, "report needs one USCC (see --help)");
	subject = o->pos[0];
	cm_diag_clear(&d);
	if (ldg_uscc_check(CM_BYTES(subject, strlen(subject)), &d) != CM_OK)
		die(EX_NO, "%s is not a valid USCC: %s", subject, d.msg);
	if (keyf == NULL && (opt(o, "staff") || opt(o, "purpose") || proofs))
		die(EX_USAGE, "--staff, --purpose and --proofs go with --key "
		              "(a reader's query record)");
	memset(&rd, 0, sizeof(rd));
	s = store_open(need(o, "data"), keyf == NULL);
	t = rtxn(s);
	cur = ldg_size(t);
	size = opt_u64(o, "size", cur);
	if (size == 0 || size > cur)
		die(EX_NO, "--size must be 1 to the ledger's %llu leaves",
		    (unsigned long long) cur);
	last = leaf_time(t, cur - 1);
	as_of = opt(o, "as-of") != NULL ? day_arg(opt(o, "as-of"), "as-of")
	                                : crd_day_of_ms(leaf_time(t, size - 1));
	if (keyf == NULL) {
		/* The local administrator's read: whoever holds the
		 * directory reads every leaf anyway. */
		rd.role = LDG_ROLE_OPERATOR;
		rd.purpose = CRD_P_AUDIT;
		if (crd_report_build(t, subject, as_of, size, &rd, &body, &d) !=
		        CM_OK ||
		    cm_cbor_to_json(cm_buf_bytes(&body), &j, &d) != CM_OK)
			die(EX_USAGE, "cannot build the report: %s", d.msg);
		if (json)
			printf("{\"report\":%s}\n", (char *) j.p);
		else
			report_text(CM_BYTES(j.p, j.len), NULL, NULL, true);
		goto done;
	}
	k = key_load(keyf);
	cm_key_public(k, pub);
	cm_key_id(pub, kid);
	if (ldg_identity_get(t, kid, &id) != CM_OK)
		die(EX_NO, "%s is not a registered key", keyf);
	rd.role = id.role;
	memcpy(rd.uscc, id.uscc, sizeof(rd.uscc));
	rd.staff = CM_BYTES(need_text(o, "staff", CRD_STAFF_MAX),
	                    strlen(opt(o, "staff")));
	rd.purpose = opt(o, "purpose") != NULL
	                 ? purpose_arg(opt(o, "purpose"), false)
	             : id.role == LDG_ROLE_ENTERPRISE ? CRD_P_SELF
	             : id.role == LDG_ROLE_REGULATOR  ? CRD_P_SUPERVISION
	             : id.role == LDG_ROLE_AUDITOR    ? CRD_P_AUDIT
	                                              : CRD_NPURPOSE;
	if (rd.purpose == CRD_NPURPOSE && id.role == LDG_ROLE_BANK)
		die(EX_USAGE, "a bank names its --purpose (loan-approval, "
		              "post-loan, guarantee-review)");
	if (rd.purpose == CRD_NPURPOSE) /* refused below, with the reason */
		rd.purpose = CRD_P_AUDIT;
	/* The day the ledger will log the query on. */
	today = crd_day_of_ms(now_ms() > last ? now_ms() : last);
	if (as_of > today)
		die(EX_NO, "--as-of is after today");
	if (crd_access_check(t, &id, subject, rd.purpose, cur, today,
	                     &rd.consent, &d) != CM_OK) {
		/* Refused: the public part only, and nothing written. */
		if (id.role == LDG_ROLE_BANK)
			public_print(t, subject, as_of, size, json);
		die(EX_NO, "refused: %s", d.msg);
	}
	if (crd_report_build(t, subject, as_of, size, &rd, &body, &d) !=
	        CM_OK ||
	    cm_cbor_to_json(cm_buf_bytes(&body), &j, &d) != CM_OK)
		die(EX_USAGE, "cannot build the report: %s", d.msg);
	ldg_txn_end(t);
	t = NULL;
	cm_sha256(body.p, body.len, sha);
	if (crd_query_build(subject, &rd, as_of, size, sha, &rec, &d) != CM_OK)
		die(EX_USAGE, "internal: query record: %s", d.msg);
	if (!ldg_writable(s))
		die(EX_NO,
		    "%s is read-only here: a read with --key writes its "
		    "query record",
		    need(o, "data"));
	r = cm_buf_bytes(&rec);
	st = sign_append(s, k, &r, 1, &rc, &d);
	if (st != CM_OK) /* the ledger refused the query record */
		exit(receipt_show(&rc, st, &d, false));
	/* Durably committed: only now is the answer released. */
	if (json) {
		cm_buf     out = {0};
		cm_cbor_wr w;

		/* keys: query, answer, proofs, report */
		cm_cbor_wr_init(&w, &out);
		cm_cbor_wr_map(&w, 3 + proofs);
		cm_cbor_wr_cstr(&w, "query");
		/* keys: leaf, size, header, log_time, checkpoint */
		cm_cbor_wr_map(&w, 5);
		wr_ku(&w, "leaf", rc.first_record);
		wr_ku(&w, "size", rc.size);
		wr_ku(&w, "header", rc.header_index);
		wr_ku(&w, "log_time", rc.log_time);
		cm_cbor_wr_cstr(&w, "checkpoint");
		cm_cbor_wr_text(&w, cm_buf_bytes(&rc.checkpoint));
		cm_cbor_wr_cstr(&w, "answer");
		cm_cbor_wr_bytes(&w, CM_BYTES(sha, CM_HASH_LEN));
		if (proofs) {
			cm_cbor_wr_cstr(&w, "proofs");
			proofs_write(&w, s, subject, size, rd.consent,
			             rc.first_record);
		}
		cm_cbor_wr_cstr(&w, "report");
		cm_cbor_wr_raw(&w, cm_buf_bytes(&body));
		json_print(&w, &out);
		cm_buf_fini(&out);
	} else {
		report_text(CM_BYTES(j.p, j.len), &rc, sha, false);
		if (proofs) {
			cm_buf     out = {0};
			cm_cbor_wr w;

			cm_cbor_wr_init(&w, &out);
			proofs_write(&w, s, subject, size, rd.consent,
			             rc.first_record);
			printf(
			    "proofs (record bundles: tally proof record):\n");
			json_print(&w, &out);
			cm_buf_fini(&out);
		}
	}
	ldg_receipt_fini(&rc);
done:
	ldg_txn_end(t);
	cm_key_free(k);
	ldg_close(s);
	cm_buf_fini(&body);
	cm_buf_fini(&rec);
	cm_buf_fini(&j);
	return (EX_OK);
}

static int
audit(const opts *o)
{
	ldg_store *s = store_open(need(o, "data"), true);
	ldg_txn   *t = rtxn(s);
	cm_buf     rep = {0};
	uint64_t   nq, bad;
	cm_diag    d;
	cm_err     rv;

	cm_diag_clear(&d);
	if ((rv = crd_audit(t, &rep, &nq, &bad, &d)) != CM_OK)
		die(exit_for(rv), "credit audit failed: %s",
		    d.msg[0] ? d.msg : cm_strerror(rv));
	if (rep.len > 0)
		fwrite(rep.p, 1, rep.len, stdout);
	printf("queries: %llu query records replayed, %llu without access or "
	       "with another answer\n",
	       (unsigned long long) nq, (unsigned long long) bad);
	cm_buf_fini(&rep);
	ldg_txn_end(t);
	ldg_close(s);
	return (bad == 0 ? EX_OK : EX_NO);
}

/* ---- disputes, statements, repair ---- */

static uint64_t
need_leaf(const opts *o, const char *name)
{
	return (parse_u64(need(o, name), name));
}

static int
dispute_open(const opts *o)
{
	bool        missing = opt(o, "missing") != NULL;
	const char *stmt = need_text(o, "statement", CRD_STATEMENT_MAX);
	const char *grounds;
	cm_buf      rec = {0};
	cm_cbor_wr  w;

	opt_exclusive(o, "record", "missing item issuer");
	if (!missing && opt(o, "record") == NULL)
		die(EX_USAGE, "dispute open needs --record LEAF or --missing "
		              "TEXT --item ITEM --issuer USCC");
	grounds = missing             ? "missing"
	          : opt(o, "grounds") ? opt(o, "grounds")
	                              : "inaccurate";
	if (missing) {
		const char *text = need_text(o, "missing", CRD_STATEMENT_MAX);
		const char *item = need(o, "item");
		const char *issuer = need_uscc(o, "issuer");

		if (opt(o, "grounds") && strcmp(opt(o, "grounds"), "missing"))
			die(EX_USAGE, "a missing record is disputed on grounds "
			              "missing");
		/* keys: t, op, item, kind, issuer, grounds, missing,
		 * statement */
		record_head(&w, &rec, 8);
		wr_kv(&w, "op", "open");
		wr_kv(&w, "item", item);
		wr_kv(&w, "kind", CRD_KIND_DISPUTE);
		wr_kv(&w, "issuer", issuer);
		wr_kv(&w, "grounds", grounds);
		wr_kv(&w, "missing", text);
	} else {
		/* keys: t, op, kind, record, grounds, statement */
		record_head(&w, &rec, 6);
		wr_kv(&w, "op", "open");
		wr_kv(&w, "kind", CRD_KIND_DISPUTE);
		wr_ku(&w, "record", need_leaf(o, "record"));
		wr_kv(&w, "grounds", grounds);
	}
	wr_kv(&w, "statement", stmt);
	return (write_one(o, &w, &rec));
}

static int
dispute_answer(const opts *o, bool resolve)
{
	const char *stmt = need_text(o, "statement", CRD_STATEMENT_MAX);
	const char *outcome = resolve ? need(o, "outcome") : NULL;
	bool        corr = opt(o, "correction") != NULL;
	cm_buf      rec = {0};
	cm_cbor_wr  w;

	if (resolve && strcmp(outcome, "removed") != 0 &&
	    strcmp(outcome, "corrected") != 0 &&
	    strcmp(outcome, "unresolved") != 0)
		die(EX_NO, "--outcome must be removed, corrected or "
		           "unresolved");
	if (corr && (!resolve || strcmp(outcome, "corrected") != 0))
		die(EX_USAGE, "--correction goes with --outcome corrected");
	/* keys: t, op, kind, dispute, [outcome,] statement, [correction] */
	record_head(&w, &rec, 5 + resolve + corr);
	wr_kv(&w, "op", resolve ? "resolve" : "escalate");
	wr_kv(&w, "kind", CRD_KIND_DISPUTE);
	wr_ku(&w, "dispute", need_leaf(o, "dispute"));
	if (resolve)
		wr_kv(&w, "outcome", outcome);
	wr_kv(&w, "statement", stmt);
	if (corr)
		wr_ku(&w, "correction", need_leaf(o, "correction"));
	return (write_one(o, &w, &rec));
}

static int
statement(const opts *o)
{
	const char *text = need_text(o, "text", CRD_STATEMENT_MAX);
	cm_buf      rec = {0};
	cm_cbor_wr  w;

	/* keys: t, kind, text, record */
	record_head(&w, &rec, 4);
	wr_kv(&w, "kind", CRD_KIND_STATEMENT);
	wr_kv(&w, "text", text);
	wr_ku(&w, "record", need_leaf(o, "record"));
	return (write_one(o, &w, &rec));
}

static int
repair(const opts *o, bool apply)
{
	cm_buf     rec = {0};
	cm_cbor_wr w;

	if (apply) {
		const char *c = need_text(o, "commitment", CRD_STATEMENT_MAX);

		/* keys: t, op, kind, record, commitment */
		record_head(&w, &rec, 5);
		wr_kv(&w, "op", "apply");
		wr_kv(&w, "kind", CRD_KIND_REPAIR);
		wr_ku(&w, "record", need_leaf(o, "record"));
		wr_kv(&w, "commitment", c);
	} else {
		const char *reason = need_text(o, "reason", CRD_STATEMENT_MAX);
		bool        grant = opt(o, "grant") != NULL;

		opt_exclusive(o, "grant", "refuse");
		if (!grant && opt(o, "refuse") == NULL)
			die(EX_USAGE,
			    "repair decide needs --grant or --refuse");
		/* keys: t, op, kind, grant, reason, application */
		record_head(&w, &rec, 6);
		wr_kv(&w, "op", "decide");
		wr_kv(&w, "kind", CRD_KIND_REPAIR);
		cm_cbor_wr_cstr(&w, "grant");
		cm_cbor_wr_bool(&w, grant);
		wr_kv(&w, "reason", reason);
		wr_ku(&w, "application", need_leaf(o, "application"));
	}
	return (write_one(o, &w, &rec));
}

typedef struct list_ctx {
	bool       overdue, json;
	crd_day    day;
	cm_cbor_wr w;
	size_t     n;
	cm_buf     items; /* JSON: the array's items, CBOR */
} list_ctx;

static void
due_text(char out[24], crd_day d)
{
	if (d == CRD_DAY_OPEN)
		snprintf(out, 24, "-");
	else
		crd_day_format(d, out);
}

static cm_err
list_fn(void *arg, const crd_dispute_info *di)
{
	list_ctx *c = arg;
	bool      late = di->state == CRD_DISPUTE_OPEN &&
	            di->decide_due != CRD_DAY_OPEN && di->decide_due < c->day;
	char       opened[11], fwd[24], dec[24];
	cm_cbor_wr w;

	if (c->overdue && !late)
		return (CM_OK);
	crd_day_format(di->opened, opened);
	due_text(fwd, di->forward_due);
	due_text(dec, di->decide_due);
	c->n++;
	if (!c->json) {
		printf("leaf %llu %s %s ", (unsigned long long) di->leaf,
		       di->subject, opened);
		if (di->record == UINT64_MAX)
			printf("missing record");
		else
			printf("record %llu", (unsigned long long) di->record);
		printf(" grounds %s, regime %s: forward by %s, decide by %s%s; "
		       "%s",
		       di->grounds, di->regime[0] ? di->regime : "none", fwd,
		       dec,
		       di->outside ? " (outside the calendar)"
		       : !di->calendar && di->regime[0] ? " (no calendar)"
		                                        : "",
		       crd_dispute_state_name(di->state));
		if (di->resolved)
			printf(" at leaf %llu",
			       (unsigned long long) di->resolved);
		if (di->escalated)
			printf(", escalated at leaf %llu",
			       (unsigned long long) di->escalated);
		printf("%s\n", late ? ", OVERDUE" : "");
		return (CM_OK);
	}
	/* keys: late, leaf, state, opened, record, regime, grounds,
	 * subject, resolved, escalated, decide_due, forward_due */
	cm_cbor_wr_init(&w, &c->items);
	cm_cbor_wr_map(&w, 12);
	cm_cbor_wr_cstr(&w, "late");
	cm_cbor_wr_bool(&w, late);
	wr_ku(&w, "leaf", di->leaf);
	wr_kv(&w, "state", crd_dispute_state_name(di->state));
	wr_kv(&w, "opened", opened);
	cm_cbor_wr_cstr(&w, "record");
	if (di->record == UINT64_MAX)
		cm_cbor_wr_null(&w);
	else
		cm_cbor_wr_uint(&w, di->record);
	wr_kv(&w, "regime", di->regime);
	wr_kv(&w, "grounds", di->grounds);
	wr_kv(&w, "subject", di->subject);
	wr_ku(&w, "resolved", di->resolved);
	wr_ku(&w, "escalated", di->escalated);
	wr_kv(&w, "decide_due", dec);
	wr_kv(&w, "forward_due", fwd);
	return (cm_cbor_wr_end(&w));
}

static int
disputes(const opts *o)
{
	ldg_store *s = store_open(need(o, "data"), true);
	ldg_txn   *t = rtxn(s);
	uint64_t   size = ldg_size(t);
	list_ctx   c;
	cm_diag    d;
	cm_err     rv;

	memset(&c, 0, sizeof(c));
	c.overdue = opt(o, "overdue") != NULL;
	c.json = opt(o, "json") != NULL;
	/* Never the wall clock: the day of the log's last leaf. */
	c.day = opt(o, "as-of") != NULL ? day_arg(opt(o, "as-of"), "as-of")
	                                : crd_day_of_ms(leaf_time(t, size - 1));
	cm_diag_clear(&d);
	if ((rv = crd_disputes_each(t, size, c.day, list_fn, &c, &d)) != CM_OK)
		die(exit_for(rv), "cannot list disputes: %s",
		    d.msg[0] ? d.msg : cm_strerror(rv));
	if (c.json) {
		cm_buf     b = {0};
		cm_cbor_wr w;
		char       day[11];

		crd_day_format(c.day, day);
		/* keys: as_of, disputes */
		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 2);
		wr_kv(&w, "as_of", day);
		cm_cbor_wr_cstr(&w, "disputes");
		cm_cbor_wr_array(&w, c.n);
		cm_cbor_wr_raw(&w, cm_buf_bytes(&c.items));
		json_print(&w, &b);
		cm_buf_fini(&b);
	} else if (c.n == 0)
		printf("no %sdisputes\n", c.overdue ? "overdue " : "");
	cm_buf_fini(&c.items);
	ldg_txn_end(t);
	ldg_close(s);
	return (EX_OK);
}

/* ---- person tokens ---- */

/* The operator's HMAC key file: hex of at least CRD_TOKEN_KEY_MIN bytes,
 * mode 0600 or tighter, as private keys are. */
static void
token_key_load(const char *path, cm_buf *key)
{
	cm_buf      b = {0};
	struct stat st;
	size_t      n;

	if (stat(path, &st) != 0)
		die(EX_USAGE, "cannot read %s: %s", path, strerror(errno));
	if ((st.st_mode & 077) != 0)
		die(EX_NO,
		    "%s: the token key file must not be readable by "
		    "group or others (chmod 600)",
		    path);
	file_read(path, SMALL_FILE_MAX, "a token key file", &b);
	n = b.len;
	while (n > 0 && (b.p[n - 1] == '\n' || b.p[n - 1] == ' '))
		n--;
	if (cm_hex_decode(key, (const char *) b.p, n) != CM_OK ||
	    key->len < CRD_TOKEN_KEY_MIN)
		die(EX_NO,
		    "%s: a token key file holds at least %d bytes of "
		    "hex",
		    path, CRD_TOKEN_KEY_MIN);
	cm_buf_fini_secret(&b);
}

static int
token_key_new(const opts *o)
{
	const char *path = need(o, "out");
	uint8_t     k[CRD_TOKEN_KEY_MIN];
	cm_buf      hex = {0};
	cm_diag     d;
	int         fd;

	if (cm_random(k, sizeof(k)) != CM_OK ||
	    cm_hex_encode(&hex, CM_BYTES(k, sizeof(k))) != CM_OK ||
	    cm_buf_append_byte(&hex, '\n') != CM_OK)
		die(EX_USAGE, "cannot make a key");
	cm_wipe(k, sizeof(k));
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die(EX_USAGE, "cannot create %s: %s", path, strerror(errno));
	if (write(fd, hex.p, hex.len) != (ssize_t) hex.len || fsync(fd) != 0 ||
	    close(fd) != 0)
		die(EX_USAGE, "cannot write %s: %s", path, strerror(errno));
	cm_diag_clear(&d);
	if (cm_sync_parent(path, &d) != CM_OK)
		die(EX_USAGE, "%s", d.msg);
	cm_buf_fini_secret(&hex);
	printf("token key written to %s (mode 0600); keep it outside the "
	       "ledger's directory\n",
	       path);
	return (EX_OK);
}

static int
token(const opts *o)
{
	const char *idn = need(o, "id-number");
	const char *role =
	    opt(o, "role") ? opt(o, "role") : "legal-representative";
	cm_buf      key = {0}, rec = {0};
	uint8_t     kid[CM_HASH_LEN], tok[CM_HASH_LEN];
	ldg_receipt rc;
	ldg_store  *s;
	cm_key     *k;
	cm_bytes    r;
	cm_diag     d;
	cm_err      st;

	cm_diag_clear(&d);
	if (crd_person_id_check(CM_BYTES(idn, strlen(idn)), &d) != CM_OK)
		die(EX_NO, "--id-number: %s", d.msg);
	if (strcmp(role, "legal-representative") != 0 &&
	    strcmp(role, "guarantor") != 0)
		die(EX_NO, "--role must be legal-representative or guarantor");
	token_key_load(need(o, "token-key"), &key);
	crd_person_key_id(cm_buf_bytes(&key), kid);
	crd_person_token(cm_buf_bytes(&key), CM_BYTES(idn, strlen(idn)), tok);
	cm_buf_fini_secret(&key);
	if (crd_token_build(kid, tok, role, &rec, &d) != CM_OK)
		die(EX_USAGE, "internal: token record: %s", d.msg);
	s = store_open(need(o, "data"), false);
	k = key_load(need(o, "key"));
	r = cm_buf_bytes(&rec);
	st = sign_append(s, k, &r, 1, &rc, &d);
	if (st != CM_OK)
		exit(receipt_show(&rc, st, &d, false));
	/* Logged: only now the token. */
	if (opt(o, "json") != NULL) {
		printf("{\"token\":\"");
		print_hex(stdout, tok, CM_HASH_LEN);
		printf("\",\"key_id\":\"");
		print_hex(stdout, kid, CM_HASH_LEN);
		printf("\",\"record\":%llu}\n",
		       (unsigned long long) rc.first_record);
	} else {
		print_hex(stdout, tok, CM_HASH_LEN);
		printf("\n");
		fprintf(stderr, "%s: logged at leaf %llu (key ID ", prog_cmd,
		        (unsigned long long) rc.first_record);
		print_hex(stderr, kid, 8);
		fprintf(stderr, "...)\n");
	}
	ldg_receipt_fini(&rc);
	cm_key_free(k);
	ldg_close(s);
	cm_buf_fini(&rec);
	return (EX_OK);
}

/* ---- dispatch ---- */

/* Each command and the options it takes (a trailing '!' marks a flag):
 * another is a usage error, not silently ignored. */
static const struct {
	const char *word;
	bool        two; /* a subcommand word follows */
	const char *allowed;
} cmds[] = {
    {"consent", true, " data key bank purpose until json! "},
    {"dispute", true,
     " data key record missing item issuer grounds statement dispute "
     "outcome correction json! "},
    {"repair", true,
     " data key record commitment application grant! refuse! reason "
     "json! "},
    {"report", false, " data key staff as-of size json! purpose proofs! "},
    {"audit", false, " data "},
    {"disputes", false, " data overdue! as-of json! "},
    {"statement", false, " data key record text json! "},
    {"token", false, " data key token-key id-number role json! "},
    {"token-key", false, " out "},
};

int
cli_credit_access(int argc, char **argv)
{
	const char *usage = cli_credit_access_usage;
	const char *what = argc > 0 ? argv[0] : "";
	const char *sub = argc > 1 ? argv[1] : "";
	size_t      i, n = sizeof(cmds) / sizeof(cmds[0]);
	opts        o;
	int         ex;

	for (i = 0; i < n && strcmp(what, cmds[i].word) != 0; i++)
		;
	if (i == n)
		return (-1);
	if (cmds[i].two) {
		if ((ex = group_parse(argc - 1, argv + 1, cmds[i].allowed,
		                      usage, &o)) >= 0)
			return (ex);
	} else {
		opts_parse(argc - 1, argv + 1, cmds[i].allowed, &o);
		if (o.help) {
			fputs(usage, stdout);
			return (EX_OK);
		}
	}
	if (o.npos != 0 && strcmp(what, "report") != 0)
		die(EX_USAGE,
		    "credit %s takes no arguments besides options "
		    "(see --help)",
		    what);
	if (strcmp(what, "consent") == 0) {
		if (strcmp(sub, "grant") == 0 || strcmp(sub, "revoke") == 0)
			return (consent(&o, strcmp(sub, "grant") == 0));
	} else if (strcmp(what, "dispute") == 0) {
		if (strcmp(sub, "open") == 0)
			return (dispute_open(&o));
		if (strcmp(sub, "resolve") == 0 || strcmp(sub, "escalate") == 0)
			return (
			    dispute_answer(&o, strcmp(sub, "resolve") == 0));
	} else if (strcmp(what, "repair") == 0) {
		if (strcmp(sub, "apply") == 0 || strcmp(sub, "decide") == 0)
			return (repair(&o, strcmp(sub, "apply") == 0));
	} else if (strcmp(what, "report") == 0)
		return (report(&o));
	else if (strcmp(what, "audit") == 0)
		return (audit(&o));
	else if (strcmp(what, "disputes") == 0)
		return (disputes(&o));
	else if (strcmp(what, "statement") == 0)
		return (statement(&o));
	else if (strcmp(what, "token") == 0)
		return (token(&o));
	else if (strcmp(what, "token-key") == 0)
		return (token_key_new(&o));
	die(EX_USAGE,
	    "unknown credit %s command \"%s\" (see tally credit "
	    "--help)",
	    what, sub);
}
