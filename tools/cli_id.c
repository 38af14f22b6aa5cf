/* SPDX-License-Identifier: MIT */
/* tools/cli_id.c -- `tally id`: identities (proof of possession,
 * register, rotate, revoke, except, show, list) and USCC checks. */
#include "tools/cli.h"

#include <string.h>

static const char usage_id[] =
    "usage: tally id COMMAND ...\n"
    "  pop --key NEWKEY (--data DIR | --origin O) [--out FILE]\n"
    "      proof of possession of a new key, for register and rotate\n"
    "  register --data DIR --signer KEY --role ROLE [--scope S]... --name N\n"
    "           --uscc CODE --pubkey FILE --pop FILE [--json]\n"
    "      ROLE is regulator, bank or enterprise; signed by the operator\n"
    "  rotate --data DIR --signer KEY (--uscc CODE | --key-id HEX)\n"
    "         --pubkey FILE --pop FILE [--json]\n"
    "  revoke --data DIR --signer KEY (--uscc CODE | --key-id HEX)\n"
    "         [--compromised-since MS] [--json]\n"
    "  except --data DIR --signer KEY --uscc CODE --reason TEXT [--json]\n"
    "      admits one code that fails the GB 32100 check\n"
    "  show --data DIR (--uscc CODE | --key-id HEX) [--json]\n"
    "  list --data DIR [--json]\n"
    "  check CODE...   (exit 0 only if every code is valid)\n"
    "Commands that write take --checkpoint-key FILE when the checkpoint key\n"
    "is not DIR/checkpoint.key.\n";

static void
identity_out(const ldg_identity *id, bool json)
{
	if (json) {
		cm_buf     b = {0};
		cm_cbor_wr w;

		/* keys: end, name, role, uscc, key_id, pubkey, scopes,
		 * status, registered, compromised_since */
		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 10);
		cm_cbor_wr_cstr(&w, "end");
		cm_cbor_wr_uint(&w, id->end_index);
		cm_cbor_wr_cstr(&w, "name");
		cm_cbor_wr_cstr(&w, id->name);
		cm_cbor_wr_cstr(&w, "role");
		cm_cbor_wr_cstr(&w, ldg_role_name(id->role));
		cm_cbor_wr_cstr(&w, "uscc");
		cm_cbor_wr_cstr(&w, id->uscc);
		cm_cbor_wr_cstr(&w, "key_id");
		cm_cbor_wr_bytes(&w, CM_BYTES(id->key_id, CM_KEYID_LEN));
		cm_cbor_wr_cstr(&w, "pubkey");
		cm_cbor_wr_bytes(&w, CM_BYTES(id->pub, CM_PUBKEY_LEN));
		cm_cbor_wr_cstr(&w, "scopes");
		cm_cbor_wr_array(&w, id->nscopes);
		for (size_t i = 0; i < id->nscopes; i++)
			cm_cbor_wr_cstr(&w, id->scopes[i]);
		cm_cbor_wr_cstr(&w, "status");
		cm_cbor_wr_cstr(&w, id->end_index ? id->end_reason : "active");
		cm_cbor_wr_cstr(&w, "registered");
		cm_cbor_wr_uint(&w, id->reg_index);
		cm_cbor_wr_cstr(&w, "compromised_since");
		cm_cbor_wr_uint(&w, id->compromised_since);
		json_print(&w, &b);
		cm_buf_fini(&b);
		return;
	}
	print_hex(stdout, id->key_id, CM_KEYID_LEN);
	printf(" %s %s \"%s\" registered at %llu", ldg_role_name(id->role),
	       id->uscc[0] ? id->uscc : "-", id->name,
	       (unsigned long long) id->reg_index);
	if (id->end_index)
		printf(", %s at %llu", id->end_reason,
		       (unsigned long long) id->end_index);
	if (id->compromised_since)
		printf(" (compromised since %llu)",
		       (unsigned long long) id->compromised_since);
	for (size_t i = 0; i < id->nscopes; i++)
		printf("%s%s", i ? "," : " scopes ", id->scopes[i]);
	printf("\n");
}

static void
identity_find(ldg_txn *t, const opts *o, ldg_identity *out)
{
	const char *u = opt(o, "uscc"), *k = opt(o, "key-id");
	uint8_t     kid[CM_KEYID_LEN];
	cm_err      rv;

	if ((u == NULL) == (k == NULL))
		die(EX_USAGE, "give exactly one of --uscc and --key-id");
	if (u != NULL) {
		rv = ldg_identity_by_uscc(t, u, out);
	} else {
		hex_parse(k, CM_KEYID_LEN, kid, "--key-id");
		rv = ldg_identity_get(t, kid, out);
	}
	if (rv == CM_ENOTFOUND)
		die(EX_NO, "no such identity");
	if (rv != CM_OK)
		die(EX_USAGE, "cannot read identities: %s", cm_strerror(rv));
}

static void
pop_read(const char *path, cm_buf *out)
{
	cm_buf b = {0};
	size_t n;

	file_read(path, &b);
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
			cm_diag_clear(&d);
			if (ldg_uscc_check(CM_BYTES(o.pos[i], strlen(o.pos[i])),
			                   &d) == CM_OK) {
				printf("%s valid\n", o.pos[i]);
			} else {
				printf("%s invalid: %s\n", o.pos[i], d.msg);
				ex = EX_NO;
			}
		}
		return (ex);
	}
	opts_parse(
	    argc - (argc > 0), argv + (argc > 0),
	    " data signer role scope name uscc pubkey pop key out origin "
	    "key-id compromised-since reason json! checkpoint-key ",
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
			die(EX_USAGE, "--role must be regulator, bank or "
			              "enterprise");
		r.name = need(&o, "name");
		r.uscc = need(&o, "uscc");
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
		identity_find(t, &o, &id);
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
		ldg_identity id;

		t = rtxn(s);
		identity_find(t, &o, &id);
		identity_out(&id, json);
	} else if (strcmp(sub, "list") == 0) {
		ldg_db      db;
		ldg_cursor *c = NULL;
		cm_bytes    k;

		t = rtxn(s);
		if (ldg_db_find(t, "id_keys", &db) != CM_OK ||
		    ldg_cursor_open(t, db, &c) != CM_OK)
			die(EX_USAGE, "cannot read identities");
		for (rv = ldg_cursor_first(c, &k, NULL); rv == CM_OK;
		     rv = ldg_cursor_next(c, &k, NULL)) {
			ldg_identity id;

			if (k.len == CM_KEYID_LEN &&
			    ldg_identity_get(t, k.p, &id) == CM_OK)
				identity_out(&id, json);
		}
		ldg_cursor_close(c);
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
