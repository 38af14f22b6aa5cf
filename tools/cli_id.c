/* SPDX-License-Identifier: MIT */
/* tools/cli_id.c -- `tally id`: identities (proof of possession,
 * register, rotate, revoke, except, show, list) and USCC checks. */
#include "tools/cli.h"

#include <stdlib.h>
#include <string.h>

static const char usage_id[] =
    "usage: tally id COMMAND ...\n"
    "  pop --key NEWKEY (--data DIR | --origin O) [--out FILE]\n"
    "      proof of possession of a new key, for register and rotate\n"
    "  register --data DIR --signer KEY --role ROLE [--scope S]... --name N\n"
    "           --uscc CODE [--label TEXT] --pubkey FILE --pop FILE [--json]\n"
    "      ROLE is regulator, bank, enterprise or auditor (reads, writes\n"
    "      only its query records); signed by the operator;\n"
    "      a further key of an organisation repeats its role and name\n"
    "  rotate --data DIR --signer KEY (--uscc CODE | --key-id HEX)\n"
    "         --pubkey FILE --pop FILE [--json]\n"
    "  revoke --data DIR --signer KEY (--uscc CODE | --key-id HEX)\n"
    "         [--compromised-since MS] [--json]\n"
    "      --uscc only for an organisation with one active key\n"
    "  except --data DIR --signer KEY --uscc CODE --reason TEXT [--json]\n"
    "      admits one code that fails the GB 32100 check\n"
    "  show --data DIR (--uscc CODE | --key-id HEX) [--json]\n"
    "      an organisation with all its keys, or one key with its\n"
    "      organisation\n"
    "  list --data DIR [--json]   (every organisation and its keys)\n"
    "  check CODE...   (exit 0 only if every code is valid)\n"
    "Commands that write take --checkpoint-key FILE when the checkpoint key\n"
    "is not DIR/checkpoint.key.\n";

/* ---- showing organisations and their keys ---- */

/* The keys of one organisation, in registration order. */
typedef struct keyset {
	ldg_identity *k;
	size_t        n, cap;
} keyset;

static cm_err
keyset_add(void *arg, const ldg_identity *id)
{
	keyset *ks = arg;

	if (ks->n == ks->cap) {
		ks->cap = ks->cap ? 2 * ks->cap : 4;
		ks->k = xalloc(realloc(ks->k, ks->cap * sizeof(*ks->k)));
	}
	ks->k[ks->n++] = *id;
	return (CM_OK);
}

/* A failed identity read: not found and a stale index are answers (exit
 * 1), anything else an error (exit 2). */
static void
ids_die(cm_err rv, const cm_diag *d)
{
	if (rv == CM_ENOTFOUND)
		die(EX_NO, "no such identity");
	if (rv == CM_EINVAL)
		die(EX_NO, "%s", d->msg);
	die(EX_USAGE, "cannot read identities: %s",
	    d->msg[0] ? d->msg : cm_strerror(rv));
}

static void
scopes_text(const char (*scopes)[LDG_SCOPE_MAX + 1], size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? "," : " scopes ", scopes[i]);
}

static void
key_json(cm_cbor_wr *w, const ldg_identity *id)
{
	/* keys: end, label, key_id, pubkey, scopes, status, registered,
	 * compromised_since */
	cm_cbor_wr_map(w, 8);
	cm_cbor_wr_cstr(w, "end");
	cm_cbor_wr_uint(w, id->end_index);
	cm_cbor_wr_cstr(w, "label");
	cm_cbor_wr_cstr(w, id->label);
	cm_cbor_wr_cstr(w, "key_id");
	cm_cbor_wr_bytes(w, CM_BYTES(id->key_id, CM_KEYID_LEN));
	cm_cbor_wr_cstr(w, "pubkey");
	cm_cbor_wr_bytes(w, CM_BYTES(id->pub, CM_PUBKEY_LEN));
	ldg_scopes_write(w, id->scopes, id->nscopes);
	cm_cbor_wr_cstr(w, "status");
	cm_cbor_wr_cstr(w, id->end_index ? id->end_reason : "active");
	cm_cbor_wr_cstr(w, "registered");
	cm_cbor_wr_uint(w, id->reg_index);
	cm_cbor_wr_cstr(w, "compromised_since");
	cm_cbor_wr_uint(w, id->compromised_since);
}

static void
key_text(const ldg_identity *id)
{
	printf("  ");
	print_hex(stdout, id->key_id, CM_KEYID_LEN);
	if (id->label[0])
		printf(" label \"%s\"", id->label);
	printf(" registered at %llu", (unsigned long long) id->reg_index);
	if (id->end_index)
		printf(", %s at %llu", id->end_reason,
		       (unsigned long long) id->end_index);
	if (id->compromised_since)
		printf(" (compromised since %llu)",
		       (unsigned long long) id->compromised_since);
	scopes_text(id->scopes, id->nscopes);
	printf("\n");
}

/* An organisation and the keys in ks: one JSON object, or its line and one
 * indented line per key. */
static void
org_out(const ldg_org *o, const keyset *ks, bool json)
{
	if (json) {
		cm_buf     b = {0};
		cm_cbor_wr w;

		/* keys: keys, name, role, uscc, scopes, registered */
		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 6);
		cm_cbor_wr_cstr(&w, "keys");
		cm_cbor_wr_array(&w, ks->n);
		for (size_t i = 0; i < ks->n; i++)
			key_json(&w, &ks->k[i]);
		cm_cbor_wr_cstr(&w, "name");
		cm_cbor_wr_cstr(&w, o->name);
		cm_cbor_wr_cstr(&w, "role");
		cm_cbor_wr_cstr(&w, ldg_role_name(o->role));
		cm_cbor_wr_cstr(&w, "uscc");
		cm_cbor_wr_cstr(&w, o->uscc);
		ldg_scopes_write(&w, o->scopes, o->nscopes);
		cm_cbor_wr_cstr(&w, "registered");
		cm_cbor_wr_uint(&w, o->reg_index);
		json_print(&w, &b);
		cm_buf_fini(&b);
		return;
	}
	printf("%s %s \"%s\" registered at %llu", o->uscc[0] ? o->uscc : "-",
	       ldg_role_name(o->role), o->name,
	       (unsigned long long) o->reg_index);
	scopes_text(o->scopes, o->nscopes);
	printf("\n");
	for (size_t i = 0; i < ks->n; i++)
		key_text(&ks->k[i]);
}

/* The organisation a key belongs to; the operator, who has none, is shown
 * as one of its own (no USCC, registered by genesis). */
static void
org_of(ldg_txn *t, const ldg_identity *id, ldg_org *out)
{
	cm_diag d;
	cm_err  rv;

	cm_diag_clear(&d);
	if (id->role != LDG_ROLE_OPERATOR) {
		if ((rv = ldg_org_get(t, id->uscc, out, &d)) != CM_OK)
			ids_die(rv == CM_ENOTFOUND ? CM_ECORRUPT : rv, &d);
		return;
	}
	memset(out, 0, sizeof(*out));
	out->role = id->role;
	memcpy(out->name, id->name, sizeof(out->name));
	out->reg_index = id->reg_index;
}

/* An organisation with all its keys, active and ended. */
static void
org_show(ldg_txn *t, const ldg_org *o, bool json)
{
	keyset  ks = {0};
	cm_diag d;
	cm_err  rv;

	cm_diag_clear(&d);
	if ((rv = ldg_org_keys(t, o->uscc, 0, keyset_add, &ks, &d)) != CM_OK)
		ids_die(rv, &d);
	org_out(o, &ks, json);
	free(ks.k);
}

typedef struct list_ctx {
	ldg_txn *t;
	bool     json;
} list_ctx;

static cm_err
org_list_one(void *arg, const ldg_org *o)
{
	const list_ctx *lc = arg;

	org_show(lc->t, o, lc->json);
	return (CM_OK);
}

static void
key_by_id(ldg_txn *t, const char *hex, ldg_identity *out)
{
	uint8_t kid[CM_KEYID_LEN];
	cm_diag d;
	cm_err  rv;

	cm_diag_clear(&d);
	hex_parse(hex, CM_KEYID_LEN, kid, "--key-id");
	if ((rv = ldg_identity_get(t, kid, out)) != CM_OK)
		ids_die(rv, &d);
}

/* rotate, revoke and show take exactly one of --uscc and --key-id. */
static void
uscc_or_key_id(const opts *o)
{
	opt_exclusive(o, "uscc", "key-id");
	if (opt(o, "uscc") == NULL && opt(o, "key-id") == NULL)
		die(EX_USAGE, "give --uscc CODE or --key-id HEX");
}

/* The key that rotate or revoke names: --key-id, or --uscc when that
 * organisation has exactly one active key. */
static void
key_pick(ldg_txn *t, const opts *o, ldg_identity *out)
{
	const char *u = opt(o, "uscc"), *k = opt(o, "key-id");
	keyset      ks = {0};
	ldg_org     org;
	cm_buf      list = {0};
	cm_diag     d;
	cm_err      rv;

	uscc_or_key_id(o);
	if (k != NULL) {
		key_by_id(t, k, out);
		return;
	}
	cm_diag_clear(&d);
	if ((rv = ldg_org_get(t, u, &org, &d)) != CM_OK ||
	    (rv = ldg_org_keys(t, u, LDG_KEYS_ACTIVE, keyset_add, &ks, &d)) !=
	        CM_OK)
		ids_die(rv, &d);
	if (ks.n == 0)
		die(EX_NO, "%s has no active key", u);
	if (ks.n > 1) {
		/* One line: the first keys, enough to choose from. */
		for (size_t i = 0; i < ks.n && i < 8; i++) {
			char hex[2 * CM_KEYID_LEN + 1];

			for (size_t j = 0; j < CM_KEYID_LEN; j++)
				snprintf(hex + 2 * j, 3, "%02x",
				         ks.k[i].key_id[j]);
			if (cm_buf_printf(
			        &list, "%s%s %s%s%s", i ? ", " : "", hex,
			        ks.k[i].label[0] ? "\"" : "(",
			        ks.k[i].label[0] ? ks.k[i].label : "no label",
			        ks.k[i].label[0] ? "\"" : ")") != CM_OK)
				die(EX_USAGE, "out of memory");
		}
		die(EX_USAGE,
		    "%s has %zu active keys; choose one with --key-id: "
		    "%s%s",
		    u, ks.n, (char *) list.p,
		    ks.n > 8 ? ", ... (tally id show --uscc lists them all)"
		             : "");
	}
	*out = ks.k[0];
	free(ks.k);
}

static void
pop_read(const char *path, cm_buf *out)
{
	cm_buf b = {0};
	size_t n;

	file_read(path, SMALL_FILE_MAX, "a proof of possession file", &b);
	n = b.len;
	while (n > 0 && (b.p[n - 1] == '\n' || b.p[n - 1] == ' '))
		n--;
	if (cm_hex_decode(out, (const char *) b.p, n) != CM_OK ||
	    out->len != CM_SIG_LEN)
		die(EX_NO, "%s: a proof of possession is 128 hex digits", path);
	cm_buf_fini(&b);
}

static int
id_submit(ldg_store *s, const char *signer, cm_buf *rec, cm_diag *d, cm_err rv,
          bool json)
{
	cm_key  *k;
	cm_bytes r;
	int      ex;

	if (rv != CM_OK)
		die(EX_NO, "%s", d->msg[0] ? d->msg : cm_strerror(rv));
	k = key_load(signer);
	r = cm_buf_bytes(rec);
	ex = sign_and_append(s, k, &r, 1, json);
	cm_key_free(k);
	return (ex);
}

int
cli_id(int argc, char **argv)
{
	opts        o;
	const char *sub = argc > 0 ? argv[0] : "";
	cm_diag     d;
	cm_buf      rec = {0}, pop = {0};
	ldg_store  *s = NULL;
	ldg_txn    *t = NULL;
	cm_key     *signer = NULL;
	int         ex = EX_OK;
	cm_err      rv;

	if (argc > 0 &&
	    (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		fputs(usage_id, stdout);
		return (EX_OK);
	}

	cm_diag_clear(&d);
	if (strcmp(sub, "check") == 0) {
		opts_parse(argc - 1, argv + 1, " ", &o);
		if (o.help || o.npos == 0) {
			fputs("usage: tally id check CODE...\n",
			      o.help ? stdout : stderr);
			return (o.help ? EX_OK : EX_USAGE);
		}
		for (size_t i = 0; i < o.npos; i++) {
			cm_bytes code = CM_BYTES(o.pos[i], strlen(o.pos[i]));
			char     show[SHOW_MAX];

			cm_diag_clear(&d);
			/* The code as typed, unless it holds bytes that a
			 * terminal would act on or mangle: then escaped. */
			text_show(code, show);
			if (ldg_uscc_check(code, &d) == CM_OK) {
				printf("%s valid\n", show);
			} else {
				printf("%s invalid: %s\n", show, d.msg);
				ex = EX_NO;
			}
		}
		return (ex);
	}
	opts_parse(
	    argc - (argc > 0), argv + (argc > 0),
	    " data signer role scope name uscc label pubkey pop key out "
	    "origin key-id compromised-since reason json! checkpoint-key ",
	    &o);
	if (o.help || argc == 0) {
		fputs(usage_id, o.help ? stdout : stderr);
		return (o.help ? EX_OK : EX_USAGE);
	}
	bool json = opt(&o, "json") != NULL;
	if (strcmp(sub, "pop") == 0) {
		cm_key     *nk = key_load(need(&o, "key"));
		const char *origin = opt(&o, "origin");
		const char *outp = opt(&o, "out");
		cm_buf      hex = {0};

		if (origin == NULL) {
			s = store_open(need(&o, "data"), true);
			origin = ldg_origin(s);
		}
		if (ldg_pop_make(origin, nk, &pop) != CM_OK ||
		    cm_hex_encode(&hex, cm_buf_bytes(&pop)) != CM_OK)
			die(EX_USAGE, "cannot sign");
		if (outp != NULL) {
			FILE *f = fopen(outp, "w");

			if (f == NULL ||
			    fprintf(f, "%s\n", (char *) hex.p) < 0 ||
			    fclose(f) != 0)
				die(EX_USAGE, "cannot write %s", outp);
		} else {
			printf("%s\n", (char *) hex.p);
		}
		cm_buf_fini(&hex);
		cm_key_free(nk);
		goto out;
	}
	bool reads = strcmp(sub, "show") == 0 || strcmp(sub, "list") == 0;
	s = store_open_key(need(&o, "data"), reads, !reads,
	                   opt(&o, "checkpoint-key"));
	if (strcmp(sub, "register") == 0) {
		ldg_id_register r;
		const char     *scopes[MAX_OPTS];
		size_t          ns = 0;

		memset(&r, 0, sizeof(r));
		for (size_t i = 0; i < o.n; i++)
			if (strcmp(o.name[i], "scope") == 0)
				scopes[ns++] = o.val[i];
		r.role = ldg_role_parse(need(&o, "role"));
		if (r.role == LDG_ROLE_NONE || r.role == LDG_ROLE_OPERATOR)
			die(EX_USAGE, "--role must be regulator, bank, "
			              "enterprise or auditor");
		r.name = need(&o, "name");
		r.uscc = need(&o, "uscc");
		r.label = opt(&o, "label");
		if (r.label != NULL && r.label[0] == '\0')
			die(EX_USAGE, "--label must not be empty (leave it out "
			              "for a key without a label)");
		r.scopes = scopes;
		r.nscopes = ns;
		pubkey_load(need(&o, "pubkey"), r.pub);
		pop_read(need(&o, "pop"), &pop);
		r.pop = cm_buf_bytes(&pop);
		signer = key_load(need(&o, "signer"));
		rv =
		    ldg_id_register_record(ldg_origin(s), signer, &r, &rec, &d);
		ex = id_submit(s, need(&o, "signer"), &rec, &d, rv, json);
	} else if (strcmp(sub, "rotate") == 0 || strcmp(sub, "revoke") == 0) {
		ldg_identity id;
		uint8_t      pub[CM_PUBKEY_LEN];

		t = rtxn(s);
		key_pick(t, &o, &id);
		ldg_txn_end(t);
		t = NULL;
		signer = key_load(need(&o, "signer"));
		if (strcmp(sub, "rotate") == 0) {
			pubkey_load(need(&o, "pubkey"), pub);
			pop_read(need(&o, "pop"), &pop);
			rv = ldg_id_rotate_record(ldg_origin(s), signer,
			                          id.key_id, pub,
			                          cm_buf_bytes(&pop), &rec, &d);
		} else {
			rv = ldg_id_revoke_record(
			    ldg_origin(s), signer, id.key_id,
			    opt_u64(&o, "compromised-since", 0), &rec, &d);
		}
		ex = id_submit(s, need(&o, "signer"), &rec, &d, rv, json);
	} else if (strcmp(sub, "except") == 0) {
		signer = key_load(need(&o, "signer"));
		rv = ldg_id_except_record(ldg_origin(s), signer,
		                          need(&o, "uscc"), need(&o, "reason"),
		                          &rec, &d);
		ex = id_submit(s, need(&o, "signer"), &rec, &d, rv, json);
	} else if (strcmp(sub, "show") == 0) {
		const char  *u = opt(&o, "uscc"), *k = opt(&o, "key-id");
		ldg_identity id;
		ldg_org      org;
		keyset       one = {&id, 1, 1};

		uscc_or_key_id(&o);
		t = rtxn(s);
		if (u != NULL) {
			if ((rv = ldg_org_get(t, u, &org, &d)) != CM_OK)
				ids_die(rv, &d);
			org_show(t, &org, json);
		} else {
			key_by_id(t, k, &id);
			org_of(t, &id, &org);
			org_out(&org, &one, json);
		}
	} else if (strcmp(sub, "list") == 0) {
		uint8_t      pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
		ldg_identity op;
		ldg_org      org;
		keyset       one = {&op, 1, 1};
		list_ctx     lc;

		/* The operator first, then the organisations by USCC. */
		t = rtxn(s);
		ldg_operator_pub(s, pub);
		cm_key_id(pub, kid);
		if ((rv = ldg_identity_get(t, kid, &op)) != CM_OK)
			ids_die(rv, &d);
		org_of(t, &op, &org);
		org_out(&org, &one, json);
		lc.t = t;
		lc.json = json;
		if ((rv = ldg_org_each(t, org_list_one, &lc, &d)) != CM_OK)
			ids_die(rv, &d);
	} else {
		die(EX_USAGE, "unknown id command \"%s\" (see tally id --help)",
		    sub);
	}
out:
	ldg_txn_end(t);
	cm_key_free(signer);
	ldg_close(s);
	cm_buf_fini(&rec);
	cm_buf_fini(&pop);
	return (ex);
}
