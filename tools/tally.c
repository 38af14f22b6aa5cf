/* SPDX-License-Identifier: MIT */
/* tools/tally.c -- the `tally` command: create and operate a ledger, keys
 * and identities, sign and submit batches, read leaves, checkpoints and
 * proofs, verify proofs offline, audit.  Exit codes: 0 success, 1 a
 * negative answer (invalid, not found, refused), 2 usage or I/O error.
 * Errors go to stderr on one line.  Shapes and codes: docs/cli.md. */
#include "ledger/ldg.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EX_OK 0
#define EX_NO 1
#define EX_USAGE 2

/* ---- options ---- */

#define MAX_OPTS 32
#define MAX_MULTI 32

typedef struct opts {
	const char *name[MAX_OPTS];
	const char *val[MAX_OPTS];
	size_t      n;
	const char *pos[MAX_MULTI]; /* positional arguments */
	size_t      npos;
	bool        help;
} opts;

static const char *prog_cmd = "tally";

static void die(int code, const char *fmt, ...) CM_PRINTF(2, 3)
    __attribute__((noreturn));

static void
die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void *
xalloc(void *p)
{
	if (p == NULL)
		die(EX_USAGE, "out of memory");
	return (p);
}

/* allowed: space-separated option names; a trailing '!' marks a flag. */
static void
opts_parse(int argc, char **argv, const char *allowed, opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		char        pat[64];
		bool        flag;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = true;
			continue;
		}
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (o->npos == MAX_MULTI)
				die(EX_USAGE, "too many arguments");
			o->pos[o->npos++] = a;
			continue;
		}
		snprintf(pat, sizeof(pat), " %s! ", a + 2);
		flag = strstr(allowed, pat) != NULL;
		snprintf(pat, sizeof(pat), " %s ", a + 2);
		if (!flag && strstr(allowed, pat) == NULL)
			die(EX_USAGE, "unknown option %s (see --help)", a);
		if (o->n == MAX_OPTS)
			die(EX_USAGE, "too many options");
		o->name[o->n] = a + 2;
		if (flag) {
			o->val[o->n++] = "1";
		} else {
			if (i + 1 >= argc)
				die(EX_USAGE, "option %s needs a value", a);
			o->val[o->n++] = argv[++i];
		}
	}
}

/* A command group ("tally ledger ..."): the subcommand is argv[0].
 * Returns -1 to go on, or the exit code after printing the usage (for
 * --help, or for a missing subcommand). */
static int
group_parse(int argc, char **argv, const char *allowed, const char *usage,
            opts *o)
{
	if (argc > 0 &&
	    (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		fputs(usage, stdout);
		return (EX_OK);
	}
	opts_parse(argc - (argc > 0), argv + (argc > 0), allowed, o);
	if (o->help || argc == 0) {
		fputs(usage, o->help ? stdout : stderr);
		return (o->help ? EX_OK : EX_USAGE);
	}
	return (-1);
}

static const char *
opt(const opts *o, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->name[i], name) == 0)
			v = o->val[i];
	return (v);
}

static const char *
need(const opts *o, const char *name)
{
	const char *v = opt(o, name);

	if (v == NULL)
		die(EX_USAGE, "missing --%s (see --help)", name);
	return (v);
}

static uint64_t
parse_u64(const char *s, const char *what)
{
	char              *end;
	unsigned long long v;

	errno = 0;
	if (s[0] < '0' || s[0] > '9')
		die(EX_USAGE, "%s must be a non-negative integer: %s", what, s);
	v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		die(EX_USAGE, "%s must be a non-negative integer: %s", what, s);
	return ((uint64_t) v);
}

static uint64_t
opt_u64(const opts *o, const char *name, uint64_t def)
{
	const char *v = opt(o, name);

	return (v ? parse_u64(v, name) : def);
}

/* The writer's clock; TALLY_NOW_MS injects one (tests, determinism). */
static uint64_t
now_ms(void)
{
	const char *v = getenv("TALLY_NOW_MS");

	return (v && *v ? parse_u64(v, "TALLY_NOW_MS") : cm_now_ms());
}

/* ---- files ---- */

static void
file_read(const char *path, cm_buf *out)
{
	FILE  *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char   chunk[65536];
	size_t n;

	if (f == NULL)
		die(EX_USAGE, "cannot read %s: %s", path, strerror(errno));
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (cm_buf_append(out, chunk, n) != CM_OK)
			die(EX_USAGE, "out of memory");
	if (ferror(f))
		die(EX_USAGE, "cannot read %s", path);
	if (f != stdin)
		fclose(f);
}

static cm_key *
key_load(const char *path)
{
	cm_key *k = NULL;
	cm_diag d;
	cm_err  rv;

	cm_diag_clear(&d);
	if ((rv = cm_key_load(path, &k, &d)) != CM_OK)
		die(rv == CM_EPERM ? EX_NO : EX_USAGE, "%s",
		    d.msg[0] ? d.msg : cm_strerror(rv));
	return (k);
}

static void
pubkey_load(const char *path, uint8_t pub[CM_PUBKEY_LEN])
{
	cm_buf  b = {0};
	cm_diag d;

	cm_diag_clear(&d);
	file_read(path, &b);
	if (cm_pubkey_parse(cm_buf_bytes(&b), pub, &d) != CM_OK)
		die(EX_NO, "%s: %s", path, d.msg);
	cm_buf_fini(&b);
}

static void
hex_parse(const char *s, size_t want, uint8_t *out, const char *what)
{
	cm_buf b = {0};

	if (cm_hex_decode(&b, s, strlen(s)) != CM_OK || b.len != want)
		die(EX_USAGE, "%s must be %zu bytes of hex", what, want);
	memcpy(out, b.p, want);
	cm_buf_fini(&b);
}

static void
print_hex(FILE *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

/* ---- opening ---- */

/* Opens DIR; a command that writes gives --checkpoint-key (NULL: the key
 * in DIR) and fails here with exit 1 when the ledger is read-only. */
static ldg_store *
store_open_key(const char *dir, bool readonly, bool write, const char *ckpt_key)
{
	ldg_store *s = NULL;
	ldg_opts   o;
	cm_diag    d;
	cm_err     rv;

	memset(&o, 0, sizeof(o));
	o.readonly = readonly;
	o.checkpoint_key = ckpt_key;
	cm_diag_clear(&d);
	if ((rv = ldg_open(dir, &o, &s, &d)) != CM_OK)
		die(rv == CM_ENOTFOUND || rv == CM_EIO ? EX_USAGE : EX_NO, "%s",
		    d.msg[0] ? d.msg : cm_strerror(rv));
	if (write && !ldg_writable(s))
		die(EX_NO, "%s is read-only here: no checkpoint key (%s)", dir,
		    ckpt_key ? ckpt_key : "checkpoint.key in the directory");
	return (s);
}

static ldg_store *
store_open(const char *dir, bool readonly)
{
	return (store_open_key(dir, readonly, false, NULL));
}

static ldg_txn *
rtxn(ldg_store *s)
{
	ldg_txn *t = NULL;

	if (ldg_read_begin(s, &t) != CM_OK)
		die(EX_USAGE, "cannot begin a read transaction");
	return (t);
}

/* ---- JSON output through canonical CBOR ---- */

static void
json_print(cm_cbor_wr *w, cm_buf *cbor)
{
	cm_buf  j = {0};
	cm_diag d;

	cm_diag_clear(&d);
	if (cm_cbor_wr_finish(w, &d) != CM_OK ||
	    cm_cbor_to_json(cm_buf_bytes(cbor), &j, &d) != CM_OK)
		die(EX_USAGE, "internal: JSON output: %s", d.msg);
	printf("%s\n", (char *) j.p);
	cm_buf_fini(&j);
}

/* ---- submitting ---- */

static int
receipt_print(const ldg_receipt *r, cm_err st, const cm_diag *d, bool json)
{
	if (st != CM_OK && st != CM_EDUPLICATE) {
		fprintf(stderr, "%s: refused: %s%s%s\n", prog_cmd,
		        cm_strerror(st), d->msg[0] ? ": " : "", d->msg);
		return (EX_NO);
	}
	if (json) {
		cm_buf     b = {0};
		cm_cbor_wr w;

		/* keys: seq, size, key_id, status, records, log_time,
		 * checkpoint, header_index */
		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 8);
		cm_cbor_wr_cstr(&w, "seq");
		cm_cbor_wr_uint(&w, r->seq);
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, r->size);
		cm_cbor_wr_cstr(&w, "key_id");
		cm_cbor_wr_bytes(&w, CM_BYTES(r->key_id, CM_KEYID_LEN));
		cm_cbor_wr_cstr(&w, "status");
		cm_cbor_wr_cstr(&w,
		                r->already ? "already accepted" : "accepted");
		cm_cbor_wr_cstr(&w, "records");
		cm_cbor_wr_array(&w, r->nrecords);
		for (uint64_t i = 0; i < r->nrecords; i++)
			cm_cbor_wr_uint(&w, r->first_record + i);
		cm_cbor_wr_cstr(&w, "log_time");
		cm_cbor_wr_uint(&w, r->log_time);
		cm_cbor_wr_cstr(&w, "checkpoint");
		cm_cbor_wr_text(&w, cm_buf_bytes(&r->checkpoint));
		cm_cbor_wr_cstr(&w, "header_index");
		cm_cbor_wr_uint(&w, r->header_index);
		json_print(&w, &b);
		cm_buf_fini(&b);
	} else {
		printf("%s: header %llu, records %llu..%llu, seq %llu, "
		       "log time %llu, size %llu\n",
		       r->already ? "already accepted" : "accepted",
		       (unsigned long long) r->header_index,
		       (unsigned long long) r->first_record,
		       (unsigned long long) (r->first_record + r->nrecords - 1),
		       (unsigned long long) r->seq,
		       (unsigned long long) r->log_time,
		       (unsigned long long) r->size);
		fwrite(r->checkpoint.p, 1, r->checkpoint.len, stdout);
	}
	fflush(stdout);
	return (EX_OK);
}

static int
append_batches(ldg_store *s, const cm_bytes *batches, size_t n, bool json)
{
	ldg_receipt *rc = xalloc(cm_calloc(n, sizeof(*rc)));
	cm_err      *st = xalloc(cm_calloc(n, sizeof(*st)));
	cm_diag     *dg = xalloc(cm_calloc(n, sizeof(*dg)));
	int          ex = EX_OK;
	cm_err       rv;

	rv = ldg_append(s, batches, n, now_ms(), rc, st, dg);
	if (rv != CM_OK)
		die(EX_USAGE, "append failed: %s", cm_strerror(rv));
	for (size_t i = 0; i < n; i++) {
		int e = receipt_print(&rc[i], st[i], &dg[i], json);

		if (e != EX_OK)
			ex = e;
		ldg_receipt_fini(&rc[i]);
	}
	cm_free(rc);
	cm_free(st);
	cm_free(dg);
	return (ex);
}

/* Signs recs with k at its next sequence number and appends them. */
static int
sign_and_append(ldg_store *s, const cm_key *k, const cm_bytes *recs, size_t n,
                bool json)
{
	uint8_t  pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
	uint64_t seq;
	ldg_txn *t = rtxn(s);
	cm_buf   batch = {0};
	cm_diag  d;
	cm_bytes b;
	int      ex;

	cm_diag_clear(&d);
	cm_key_public(k, pub);
	cm_key_id(pub, kid);
	if (ldg_next_seq(t, kid, &seq) != CM_OK)
		die(EX_USAGE, "cannot read the sequence index");
	ldg_txn_end(t);
	if (ldg_batch_build(ldg_origin(s), k, seq, now_ms(), recs, n, &batch,
	                    &d) != CM_OK)
		die(EX_NO, "cannot build the batch: %s", d.msg);
	b = cm_buf_bytes(&batch);
	ex = append_batches(s, &b, 1, json);
	cm_buf_fini(&batch);
	return (ex);
}

/* ---- commands ---- */

static const char usage_init[] =
    "usage: tally init --data DIR --operator-key FILE [--origin NAME]\n"
    "                  [--checkpoint-key FILE]\n"
    "Creates a ledger in DIR (absent or empty).  The operator key file is\n"
    "used if it exists, else created (mode 0600).  The checkpoint key is\n"
    "made in DIR (mode 0600) unless --checkpoint-key names another place.\n"
    "Origin defaults to tally.invalid/<16 random hex>.\n";

static int
cmd_init(int argc, char **argv)
{
	opts        o;
	cm_key     *op = NULL;
	cm_diag     d;
	const char *dir, *kp;
	struct stat st;
	cm_err      rv;

	opts_parse(argc, argv, " data operator-key origin checkpoint-key ", &o);
	if (o.help) {
		fputs(usage_init, stdout);
		return (EX_OK);
	}
	dir = need(&o, "data");
	kp = need(&o, "operator-key");
	cm_diag_clear(&d);
	if (stat(kp, &st) == 0) {
		op = key_load(kp);
	} else {
		if (cm_key_generate(&op) != CM_OK ||
		    cm_key_save(op, kp, &d) != CM_OK)
			die(EX_USAGE, "cannot create %s: %s", kp, d.msg);
	}
	rv = ldg_init(dir, op, opt(&o, "origin"), opt(&o, "checkpoint-key"),
	              NULL, now_ms(), &d);
	cm_key_free(op);
	if (rv != CM_OK)
		die(rv == CM_EEXIST || rv == CM_EINVAL ? EX_NO : EX_USAGE, "%s",
		    d.msg);
	{
		ldg_store *s = store_open(dir, true);
		ldg_vkey   vk;
		cm_buf     b = {0};

		ldg_checkpoint_vkey(s, &vk);
		if (ldg_vkey_format(&vk, &b) != CM_OK)
			die(EX_USAGE, "out of memory");
		printf("created ledger %s in %s\nverifier key %s\n",
		       ldg_origin(s), dir, (char *) b.p);
		cm_buf_fini(&b);
		ldg_close(s);
	}
	return (EX_OK);
}

static const char usage_keygen[] =
    "usage: tally keygen --out FILE\n"
    "Writes a new Ed25519 private key (PKCS#8 PEM, mode 0600) and prints\n"
    "its public key (ed25519:<base64>) and key ID (hex).\n";

static int
cmd_keygen(int argc, char **argv)
{
	opts    o;
	cm_key *k = NULL;
	cm_diag d;
	uint8_t pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
	cm_buf  b = {0};

	opts_parse(argc, argv, " out ", &o);
	if (o.help) {
		fputs(usage_keygen, stdout);
		return (EX_OK);
	}
	cm_diag_clear(&d);
	if (cm_key_generate(&k) != CM_OK ||
	    cm_key_save(k, need(&o, "out"), &d) != CM_OK)
		die(EX_USAGE, "%s", d.msg[0] ? d.msg : "cannot make a key");
	cm_key_public(k, pub);
	cm_key_id(pub, kid);
	if (cm_pubkey_format(pub, &b) != CM_OK)
		die(EX_USAGE, "out of memory");
	printf("%s\nkey-id ", (char *) b.p);
	print_hex(stdout, kid, CM_KEYID_LEN);
	printf("\n");
	cm_buf_fini(&b);
	cm_key_free(k);
	return (EX_OK);
}

/* ---- id ---- */

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

static int
cmd_id(int argc, char **argv)
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

/* ---- batch sign / submit ---- */

static const char usage_batch[] =
    "usage: tally batch sign --key KEYFILE (--data DIR | --origin O --seq N)\n"
    "                        [--seq N] [--time MS] FILE.json > batch.cbor\n"
    "FILE.json is {\"records\":[{\"kind\":\"attestation\",\"subject\":USCC,\n"
    "\"type\":T,\"body\":{...}}]}.  Without --seq the next sequence number\n"
    "is read from --data DIR.\n";

static void
json_batch_sign(const char *path, const cm_key *k, const char *origin,
                uint64_t seq, uint64_t time_ms, const ldg_params *p,
                cm_buf *out)
{
	cm_buf    json = {0}, recs = {0};
	size_t   *offs = NULL, n = 0;
	cm_bytes *rv;
	cm_diag   d;

	cm_diag_clear(&d);
	file_read(path, &json);
	if (ldg_json_records(cm_buf_bytes(&json), &recs, &offs, &n, p, &d) !=
	    CM_OK)
		die(EX_NO, "%s: %s", path, d.msg);
	rv = xalloc(cm_calloc(n, sizeof(*rv)));
	for (size_t i = 0; i < n; i++)
		rv[i] = CM_BYTES(recs.p + offs[i], offs[i + 1] - offs[i]);
	if (ldg_batch_build(origin, k, seq, time_ms, rv, n, out, &d) != CM_OK)
		die(EX_NO, "%s: %s", path, d.msg);
	cm_free(rv);
	cm_free(offs);
	cm_buf_fini(&recs);
	cm_buf_fini(&json);
}

static int
cmd_batch(int argc, char **argv)
{
	opts        o;
	cm_key     *k;
	ldg_params  p;
	cm_buf      out = {0};
	uint64_t    seq;
	const char *data;
	char        origin[LDG_ORIGIN_MAX + 1];

	if (argc == 0 || strcmp(argv[0], "sign") != 0) {
		bool h = argc > 0 && strcmp(argv[0], "--help") == 0;

		fputs(usage_batch, h ? stdout : stderr);
		return (h ? EX_OK : EX_USAGE);
	}
	opts_parse(argc - 1, argv + 1, " key origin seq time data ", &o);
	if (o.help) {
		fputs(usage_batch, stdout);
		return (EX_OK);
	}
	if (o.npos != 1)
		die(EX_USAGE, "give one FILE.json");
	k = key_load(need(&o, "key"));
	ldg_params_default(&p);
	data = opt(&o, "data");
	if (opt(&o, "origin") != NULL)
		snprintf(origin, sizeof(origin), "%s", opt(&o, "origin"));
	seq = opt_u64(&o, "seq", 0);
	if (opt(&o, "seq") != NULL && seq == 0)
		die(EX_USAGE, "--seq starts at 1");
	if (data != NULL) {
		/* The ledger gives the origin, its limits and the next seq. */
		ldg_store *s = store_open(data, true);
		ldg_txn   *t = rtxn(s);
		uint8_t    pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];

		cm_key_public(k, pub);
		cm_key_id(pub, kid);
		if (seq == 0 && ldg_next_seq(t, kid, &seq) != CM_OK)
			die(EX_USAGE, "cannot read the sequence index");
		ldg_get_params(s, &p);
		if (opt(&o, "origin") == NULL)
			snprintf(origin, sizeof(origin), "%s", ldg_origin(s));
		ldg_txn_end(t);
		ldg_close(s);
	} else if (seq == 0 || opt(&o, "origin") == NULL) {
		die(EX_USAGE, "give --data DIR, or --origin O and --seq N");
	}
	json_batch_sign(o.pos[0], k, origin, seq, opt_u64(&o, "time", now_ms()),
	                &p, &out);
	if (isatty(1))
		die(EX_USAGE, "refusing to write CBOR to a terminal; redirect "
		              "stdout to a file");
	if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout))
		die(EX_USAGE, "cannot write the batch");
	cm_buf_fini(&out);
	cm_key_free(k);
	return (EX_OK);
}

static const char usage_submit[] =
    "usage: tally submit --data DIR [--json] BATCH.cbor...\n"
    "       tally submit --data DIR --key KEYFILE [--json] FILE.json\n"
    "Appends signed batches in one durable commit and prints a receipt per\n"
    "batch: header index, record indexes, sequence, log time, new tree\n"
    "size and the checkpoint signed at that commit.  A byte-identical\n"
    "resend prints the original receipt (\"already accepted\", exit 0).\n"
    "--checkpoint-key FILE: the checkpoint key, when not in DIR.\n";

static int
cmd_submit(int argc, char **argv)
{
	opts       o;
	ldg_store *s;
	int        ex;

	opts_parse(argc, argv, " data key json! checkpoint-key ", &o);
	if (o.help) {
		fputs(usage_submit, stdout);
		return (EX_OK);
	}
	if (o.npos == 0)
		die(EX_USAGE, "give a batch file (see --help)");
	s = store_open_key(need(&o, "data"), false, true,
	                   opt(&o, "checkpoint-key"));
	if (opt(&o, "key") != NULL) {
		cm_key    *k = key_load(opt(&o, "key"));
		cm_buf     out = {0};
		ldg_params p;
		ldg_txn   *t = rtxn(s);
		uint8_t    pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
		uint64_t   seq;
		cm_bytes   b;

		if (o.npos != 1)
			die(EX_USAGE, "give one FILE.json with --key");
		cm_key_public(k, pub);
		cm_key_id(pub, kid);
		if (ldg_next_seq(t, kid, &seq) != CM_OK)
			die(EX_USAGE, "cannot read the sequence index");
		ldg_txn_end(t);
		ldg_get_params(s, &p);
		json_batch_sign(o.pos[0], k, ldg_origin(s), seq, now_ms(), &p,
		                &out);
		b = cm_buf_bytes(&out);
		ex = append_batches(s, &b, 1, opt(&o, "json") != NULL);
		cm_buf_fini(&out);
		cm_key_free(k);
	} else {
		cm_buf   *files = xalloc(cm_calloc(o.npos, sizeof(*files)));
		cm_bytes *b = xalloc(cm_calloc(o.npos, sizeof(*b)));

		for (size_t i = 0; i < o.npos; i++) {
			file_read(o.pos[i], &files[i]);
			b[i] = cm_buf_bytes(&files[i]);
		}
		ex = append_batches(s, b, o.npos, opt(&o, "json") != NULL);
		for (size_t i = 0; i < o.npos; i++)
			cm_buf_fini(&files[i]);
		cm_free(files);
		cm_free(b);
	}
	ldg_close(s);
	return (ex);
}

/* ---- proofs ---- */

static void
wr_hashes(cm_cbor_wr *w, const cm_buf *proof)
{
	cm_cbor_wr_array(w, proof->len / CM_HASH_LEN);
	for (size_t i = 0; i < proof->len; i += CM_HASH_LEN)
		cm_cbor_wr_bytes(w, CM_BYTES(proof->p + i, CM_HASH_LEN));
}

/* Writes "checkpoint": the stored note for size, or null. */
static void
wr_checkpoint(cm_cbor_wr *w, ldg_txn *t, uint64_t size)
{
	cm_buf note = {0};

	cm_cbor_wr_cstr(w, "checkpoint");
	if (ldg_checkpoint_get(t, size, &note, NULL) == CM_OK)
		cm_cbor_wr_text(w, cm_buf_bytes(&note));
	else
		cm_cbor_wr_null(w);
	cm_buf_fini(&note);
}

static void
prove_leaf(ldg_txn *t, uint64_t index, uint64_t size, cm_buf *proof,
           uint8_t root[CM_HASH_LEN], uint8_t lh[CM_HASH_LEN], cm_bytes *leaf)
{
	if (ldg_leaf_get(t, index, leaf) != CM_OK)
		die(EX_NO, "no leaf %llu", (unsigned long long) index);
	if (size <= index || size > ldg_size(t))
		die(EX_NO,
		    "size %llu does not hold leaf %llu (tree size "
		    "%llu)",
		    (unsigned long long) size, (unsigned long long) index,
		    (unsigned long long) ldg_size(t));
	ldg_leaf_hash(*leaf, lh);
	cm_buf_reset(proof);
	if (ldg_prove_inclusion(t, index, size, proof) != CM_OK ||
	    ldg_root_at(t, size, root) != CM_OK)
		die(EX_USAGE, "cannot build the proof");
	/* prove checks its own proof against the stored root. */
	if (ldg_verify_inclusion(lh, index, size, proof->p,
	                         proof->len / CM_HASH_LEN, root) != CM_OK)
		die(EX_USAGE, "internal: the inclusion proof does not verify");
}

static void
bundle_leaf(cm_cbor_wr *w, ldg_txn *t, uint64_t index, uint64_t size)
{
	cm_buf   proof = {0};
	uint8_t  root[CM_HASH_LEN], lh[CM_HASH_LEN];
	cm_bytes leaf;

	prove_leaf(t, index, size, &proof, root, lh, &leaf);
	cm_cbor_wr_map(w, 3);
	cm_cbor_wr_cstr(w, "leaf");
	cm_cbor_wr_bytes(w, leaf);
	cm_cbor_wr_cstr(w, "index");
	cm_cbor_wr_uint(w, index);
	cm_cbor_wr_cstr(w, "proof");
	wr_hashes(w, &proof);
	cm_buf_fini(&proof);
}

/* The leaves that establish the signer's key: genesis (the operator) and,
 * for other signers, the identity record leaf that registered the key. */
static void
bundle_record(ldg_txn *t, uint64_t ri)
{
	cm_bytes     leaf, hleaf_b;
	cm_buf       cbor = {0}, path = {0}, note = {0};
	cm_cbor_wr   w;
	ldg_field    rf[5] = {{"t", true},
	                      {"hh", true},
	                      {"hi", true},
	                      {"pos", true},
	                      {"rec", true}};
	ldg_field    hf[5] = {{"t", true},
	                      {"hdr", true},
	                      {"sig", true},
	                      {"first", true},
	                      {"ltime", true}};
	ldg_field    sf[7] = {{"t", true},     {"n", true},    {"kid", true},
	                      {"seq", true},   {"root", true}, {"time", true},
	                      {"origin", true}};
	uint64_t     hi, pos, n, size;
	cm_bytes     hdr, kid;
	ldg_identity id;
	uint8_t(*hashes)[CM_HASH_LEN];

	if (ldg_leaf_get(t, ri, &leaf) != CM_OK)
		die(EX_NO, "no leaf %llu", (unsigned long long) ri);
	if (ldg_fields_decode(leaf, "tally/record-leaf/v1", rf, 5, NULL) !=
	        CM_OK ||
	    ldg_field_uint(&rf[2], &hi, NULL) != CM_OK ||
	    ldg_field_uint(&rf[3], &pos, NULL) != CM_OK)
		die(EX_NO, "leaf %llu is not a record",
		    (unsigned long long) ri);
	if (ldg_leaf_get(t, hi, &hleaf_b) != CM_OK ||
	    ldg_fields_decode(hleaf_b, "tally/header-leaf/v1", hf, 5, NULL) !=
	        CM_OK ||
	    ldg_field_bytes(&hf[1], &hdr, NULL) != CM_OK ||
	    ldg_fields_decode(hdr, "tally/batch-header/v1", sf, 7, NULL) !=
	        CM_OK ||
	    ldg_field_uint(&sf[1], &n, NULL) != CM_OK ||
	    ldg_field_bytes(&sf[2], &kid, NULL) != CM_OK)
		die(EX_USAGE, "internal: bad header leaf %llu",
		    (unsigned long long) hi);
	/* The in-batch path over the batch's record bytes. */
	hashes = xalloc(cm_calloc(n, CM_HASH_LEN));
	for (uint64_t j = 0; j < n; j++) {
		cm_bytes  l, rec;
		ldg_field f2[5] = {{"t", true},
		                   {"hh", true},
		                   {"hi", true},
		                   {"pos", true},
		                   {"rec", true}};

		if (ldg_leaf_get(t, hi + 1 + j, &l) != CM_OK ||
		    ldg_fields_decode(l, NULL, f2, 5, NULL) != CM_OK ||
		    ldg_field_bytes(&f2[4], &rec, NULL) != CM_OK)
			die(EX_USAGE, "internal: bad record leaf");
		ldg_leaf_hash(rec, hashes[j]);
	}
	if (ldg_merkle_path((const uint8_t(*)[CM_HASH_LEN]) hashes, n, pos,
	                    &path) != CM_OK)
		die(EX_USAGE, "internal: in-batch path");
	cm_free(hashes);
	if (ldg_checkpoint_get(t, UINT64_MAX, &note, &size) != CM_OK)
		die(EX_USAGE, "no checkpoint");
	if (ldg_identity_get(t, kid.p, &id) != CM_OK)
		die(EX_USAGE, "internal: signer unknown");
	/* keys: size, header, record, genesis, identity, batch_path,
	 * checkpoint */
	cm_cbor_wr_init(&w, &cbor);
	cm_cbor_wr_map(&w, 7);
	cm_cbor_wr_cstr(&w, "size");
	cm_cbor_wr_uint(&w, size);
	cm_cbor_wr_cstr(&w, "header");
	bundle_leaf(&w, t, hi, size);
	cm_cbor_wr_cstr(&w, "record");
	bundle_leaf(&w, t, ri, size);
	cm_cbor_wr_cstr(&w, "genesis");
	bundle_leaf(&w, t, 0, size);
	cm_cbor_wr_cstr(&w, "identity");
	if (id.role == LDG_ROLE_OPERATOR)
		cm_cbor_wr_null(&w);
	else
		bundle_leaf(&w, t, id.reg_index, size);
	cm_cbor_wr_cstr(&w, "batch_path");
	wr_hashes(&w, &path);
	cm_cbor_wr_cstr(&w, "checkpoint");
	cm_cbor_wr_text(&w, cm_buf_bytes(&note));
	json_print(&w, &cbor);
	cm_buf_fini(&cbor);
	cm_buf_fini(&path);
	cm_buf_fini(&note);
}

/* ---- ledger ---- */

static const char usage_ledger[] =
    "usage: tally ledger COMMAND --data DIR ...\n"
    "  get --index I [--raw|--json]    one leaf (JSON by default)\n"
    "  checkpoint                      the latest stored checkpoint note\n"
    "  pubkey                          the checkpoint verifier key\n"
    "  prove --index I [--size N]      inclusion proof (JSON)\n"
    "  prove --from M --to N           consistency proof (JSON)\n"
    "  prove --record I                a record's authenticity bundle\n"
    "  audit [--checkpoint FILE]... [--readonly]\n"
    "      replays and checks everything; without --readonly, when the\n"
    "      checkpoint key is present, also the checks made before writing\n"
    "  stats [--json]                  size, root, map, readers, databases\n"
    "  reindex [--checkpoint-key FILE] rebuild every derived database\n"
    "  backup --out DIR2               hot copy without private keys\n"
    "  size-at --date YYYY-MM-DD[THH:MM:SS]  tree size as of a Shanghai "
    "time\n";

static int
ledger_prove(ldg_store *s, const opts *o)
{
	ldg_txn   *t = rtxn(s);
	cm_buf     cbor = {0}, proof = {0};
	cm_cbor_wr w;
	uint8_t    root[CM_HASH_LEN], root2[CM_HASH_LEN], lh[CM_HASH_LEN];
	cm_bytes   leaf;

	if (opt(o, "record") != NULL) {
		bundle_record(t, opt_u64(o, "record", 0));
	} else if (opt(o, "index") != NULL) {
		uint64_t i = opt_u64(o, "index", 0);
		uint64_t size = opt_u64(o, "size", ldg_size(t));

		prove_leaf(t, i, size, &proof, root, lh, &leaf);
		/* keys: root, size, index, proof, leaf_hash, checkpoint */
		cm_cbor_wr_init(&w, &cbor);
		cm_cbor_wr_map(&w, 6);
		cm_cbor_wr_cstr(&w, "root");
		cm_cbor_wr_bytes(&w, CM_BYTES(root, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, size);
		cm_cbor_wr_cstr(&w, "index");
		cm_cbor_wr_uint(&w, i);
		cm_cbor_wr_cstr(&w, "proof");
		wr_hashes(&w, &proof);
		cm_cbor_wr_cstr(&w, "leaf_hash");
		cm_cbor_wr_bytes(&w, CM_BYTES(lh, CM_HASH_LEN));
		wr_checkpoint(&w, t, size);
		json_print(&w, &cbor);
	} else {
		uint64_t m = opt_u64(o, "from", 0), n = opt_u64(o, "to", 0);

		if (opt(o, "from") == NULL || opt(o, "to") == NULL)
			die(EX_USAGE, "give --index I, --from M --to N, or "
			              "--record I");
		if (m > n || n > ldg_size(t))
			die(EX_NO, "sizes must satisfy from <= to <= %llu",
			    (unsigned long long) ldg_size(t));
		if (ldg_prove_consistency(t, m, n, &proof) != CM_OK ||
		    ldg_root_at(t, m, root) != CM_OK ||
		    ldg_root_at(t, n, root2) != CM_OK)
			die(EX_USAGE, "cannot build the proof");
		if (ldg_verify_consistency(m, n, root, root2, proof.p,
		                           proof.len / CM_HASH_LEN) != CM_OK)
			die(EX_USAGE, "internal: the consistency proof does "
			              "not verify");
		/* keys: size1, size2, root1, root2, proof */
		cm_cbor_wr_init(&w, &cbor);
		cm_cbor_wr_map(&w, 5);
		cm_cbor_wr_cstr(&w, "proof");
		wr_hashes(&w, &proof);
		cm_cbor_wr_cstr(&w, "root1");
		cm_cbor_wr_bytes(&w, CM_BYTES(root, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "root2");
		cm_cbor_wr_bytes(&w, CM_BYTES(root2, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "size1");
		cm_cbor_wr_uint(&w, m);
		cm_cbor_wr_cstr(&w, "size2");
		cm_cbor_wr_uint(&w, n);
		json_print(&w, &cbor);
	}
	cm_buf_fini(&cbor);
	cm_buf_fini(&proof);
	ldg_txn_end(t);
	return (EX_OK);
}

static int
ledger_stats(ldg_store *s, bool json)
{
	ldg_stats st;

	if (ldg_stats_get(s, &st) != CM_OK)
		die(EX_USAGE, "cannot read stats");
	if (json) {
		cm_buf     b = {0};
		cm_cbor_wr w;

		/* keys: dbs, root, size, readers, durable, map_size,
		 * map_used, max_readers, last_log_time */
		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 9);
		cm_cbor_wr_cstr(&w, "dbs");
		cm_cbor_wr_map(&w, st.ndbs);
		/* database names sort canonically only by luck: sort here */
		{
			size_t ord[64];

			for (size_t i = 0; i < st.ndbs; i++)
				ord[i] = i;
			for (size_t i = 1; i < st.ndbs; i++)
				for (size_t j = i; j > 0; j--) {
					const char *a = st.dbs[ord[j - 1]].name;
					const char *c = st.dbs[ord[j]].name;

					if (cm_cbor_key_cmp(
					        CM_BYTES(a, strlen(a)),
					        CM_BYTES(c, strlen(c))) <= 0)
						break;
					size_t x = ord[j];
					ord[j] = ord[j - 1];
					ord[j - 1] = x;
				}
			for (size_t i = 0; i < st.ndbs; i++) {
				cm_cbor_wr_cstr(&w, st.dbs[ord[i]].name);
				cm_cbor_wr_uint(&w, st.dbs[ord[i]].entries);
			}
		}
		cm_cbor_wr_cstr(&w, "root");
		cm_cbor_wr_bytes(&w, CM_BYTES(st.root, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, st.size);
		cm_cbor_wr_cstr(&w, "durable");
		cm_cbor_wr_bool(&w, st.durable);
		cm_cbor_wr_cstr(&w, "readers");
		cm_cbor_wr_uint(&w, st.readers);
		cm_cbor_wr_cstr(&w, "map_size");
		cm_cbor_wr_uint(&w, st.map_size);
		cm_cbor_wr_cstr(&w, "map_used");
		cm_cbor_wr_uint(&w, st.map_used);
		cm_cbor_wr_cstr(&w, "max_readers");
		cm_cbor_wr_uint(&w, st.max_readers);
		cm_cbor_wr_cstr(&w, "last_log_time");
		cm_cbor_wr_uint(&w, st.last_log_time);
		json_print(&w, &b);
		cm_buf_fini(&b);
		return (EX_OK);
	}
	printf("size %llu\nroot ", (unsigned long long) st.size);
	print_hex(stdout, st.root, CM_HASH_LEN);
	printf("\nlast log time %llu\nmap used %llu of %llu bytes\n"
	       "readers %u of %u\nsync flags %s (env flags 0x%x)\n",
	       (unsigned long long) st.last_log_time,
	       (unsigned long long) st.map_used,
	       (unsigned long long) st.map_size, st.readers, st.max_readers,
	       st.durable ? "durable" : "NOT DURABLE", st.env_flags);
	for (size_t i = 0; i < st.ndbs; i++)
		printf("db %s %llu\n", st.dbs[i].name,
		       (unsigned long long) st.dbs[i].entries);
	return (EX_OK);
}

/* A progress bar on stderr, only when stderr is a terminal. */
static void
progress_bar(void *arg, const char *what, uint64_t done, uint64_t total)
{
	int width = 40, fill = total ? (int) (done * width / total) : width;

	(void) arg;
	fprintf(stderr, "\r%-8s [%.*s%*s] %llu/%llu leaves", what, fill,
	        "########################################", width - fill, "",
	        (unsigned long long) done, (unsigned long long) total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
}

static int
cmd_ledger(int argc, char **argv)
{
	opts        o;
	const char *sub = argc > 0 ? argv[0] : "";
	ldg_store  *s;
	cm_diag     d;
	int         ex = EX_OK;

	if ((ex = group_parse(argc, argv,
	                      " data index raw! json! size from to record "
	                      "checkpoint readonly! out date checkpoint-key ",
	                      usage_ledger, &o)) >= 0)
		return (ex);
	ex = EX_OK;
	cm_diag_clear(&d);
	if (strcmp(sub, "reindex") == 0) {
		ldg_opts lo;

		memset(&lo, 0, sizeof(lo));
		lo.reindex = true;
		lo.checkpoint_key = opt(&o, "checkpoint-key");
		if (ldg_open(need(&o, "data"), &lo, &s, &d) != CM_OK)
			die(EX_NO, "%s", d.msg);
	} else if (strcmp(sub, "audit") == 0 && opt(&o, "readonly") == NULL) {
		/* Opening for writing (when the key is here) also runs the
		 * open-time checks: the latest checkpoint's root against the
		 * stored tree, and the indexers' marks. */
		s = store_open_key(need(&o, "data"), false, false,
		                   opt(&o, "checkpoint-key"));
	} else {
		s = store_open(need(&o, "data"), true);
	}
	if (isatty(2) && opt(&o, "json") == NULL)
		ldg_set_progress(s, progress_bar, NULL);
	if (strcmp(sub, "get") == 0) {
		ldg_txn *t = rtxn(s);
		cm_bytes leaf;
		uint64_t i = opt_u64(&o, "index", UINT64_MAX);

		if (i == UINT64_MAX)
			die(EX_USAGE, "missing --index");
		if (ldg_leaf_get(t, i, &leaf) != CM_OK)
			die(EX_NO, "no leaf %llu (size %llu)",
			    (unsigned long long) i,
			    (unsigned long long) ldg_size(t));
		bool         flag = false;
		ldg_identity signer;

		/* A batch signed after its key's reported compromise stays in
		 * the log; queries flag it (on stderr, so output is the leaf).
		 */
		if (ldg_batch_flagged(t, i, &flag, &signer) == CM_OK && flag)
			fprintf(
			    stderr,
			    "%s: flagged: batch signed at or after %llu, when "
			    "its key (%s %s) was reported compromised\n",
			    prog_cmd,
			    (unsigned long long) signer.compromised_since,
			    ldg_role_name(signer.role), signer.uscc);
		if (opt(&o, "raw") != NULL) {
			fwrite(leaf.p, 1, leaf.len, stdout);
		} else {
			cm_buf j = {0};

			if (cm_cbor_to_json(leaf, &j, &d) != CM_OK)
				die(EX_USAGE, "cannot show leaf: %s", d.msg);
			printf("%s\n", (char *) j.p);
			cm_buf_fini(&j);
		}
		ldg_txn_end(t);
	} else if (strcmp(sub, "checkpoint") == 0) {
		ldg_txn *t = rtxn(s);
		cm_buf   note = {0};

		if (ldg_checkpoint_get(t, UINT64_MAX, &note, NULL) != CM_OK)
			die(EX_NO, "no checkpoint");
		fwrite(note.p, 1, note.len, stdout);
		cm_buf_fini(&note);
		ldg_txn_end(t);
	} else if (strcmp(sub, "pubkey") == 0) {
		ldg_vkey vk;
		cm_buf   b = {0};

		ldg_checkpoint_vkey(s, &vk);
		if (ldg_vkey_format(&vk, &b) != CM_OK)
			die(EX_USAGE, "out of memory");
		printf("%s\n", (char *) b.p);
		cm_buf_fini(&b);
	} else if (strcmp(sub, "prove") == 0) {
		ex = ledger_prove(s, &o);
	} else if (strcmp(sub, "audit") == 0) {
		cm_buf   *notes = xalloc(cm_calloc(o.n + 1, sizeof(cm_buf)));
		cm_bytes *nb = xalloc(cm_calloc(o.n + 1, sizeof(cm_bytes)));
		size_t    nn = 0;
		uint64_t  bad;
		cm_buf    report = {0};

		for (size_t i = 0; i < o.n; i++)
			if (strcmp(o.name[i], "checkpoint") == 0) {
				file_read(o.val[i], &notes[nn]);
				nb[nn] = cm_buf_bytes(&notes[nn]);
				nn++;
			}
		cm_err arv = ldg_audit(s, nb, nn, &bad, &report, &d);

		if (arv != CM_OK) {
			if (d.msg[0] == '\0')
				cm_diag_set(&d, "%s", cm_strerror(arv));
			if (report.p != NULL)
				fputs((char *) report.p, stdout);
			if (bad != UINT64_MAX)
				printf("audit FAILED at leaf %llu: %s\n",
				       (unsigned long long) bad, d.msg);
			else
				printf("audit FAILED: %s\n", d.msg);
			ex = EX_NO;
		} else {
			if (report.p != NULL)
				fputs((char *) report.p, stdout);
			printf("audit passed\n");
		}
		for (size_t i = 0; i < nn; i++)
			cm_buf_fini(&notes[i]);
		cm_free(notes);
		cm_free(nb);
		cm_buf_fini(&report);
	} else if (strcmp(sub, "stats") == 0) {
		ex = ledger_stats(s, opt(&o, "json") != NULL);
	} else if (strcmp(sub, "reindex") == 0) {
		if (ldg_reindex(s, &d) != CM_OK)
			die(EX_NO, "reindex failed: %s", d.msg);
		printf("reindexed\n");
	} else if (strcmp(sub, "backup") == 0) {
		const char *out = need(&o, "out");
		ldg_store  *c;
		ldg_stats   st;

		if (ldg_backup(s, out, &d) != CM_OK)
			die(EX_NO, "%s", d.msg);
		c = store_open(out, true);
		if (ldg_stats_get(c, &st) != CM_OK)
			die(EX_USAGE, "cannot read the copy");
		printf("backup %s: size %llu root ", out,
		       (unsigned long long) st.size);
		print_hex(stdout, st.root, CM_HASH_LEN);
		printf("\n(no private key copied: the copy is read-only; "
		       "restoring it for writing needs a new origin)\n");
		ldg_close(c);
	} else if (strcmp(sub, "size-at") == 0) {
		ldg_txn *t = rtxn(s);
		uint64_t ms, size;

		if (cm_date_parse(need(&o, "date"), &ms) != CM_OK)
			die(EX_USAGE, "--date is YYYY-MM-DD or "
			              "YYYY-MM-DDTHH:MM:SS (Asia/Shanghai)");
		/* Dates mean the end of that day or second in Shanghai. */
		ms += strlen(need(&o, "date")) == 10 ? 86400000 - 1 : 999;
		if (ldg_size_at_time(t, ms, &size) != CM_OK)
			die(EX_NO, "the ledger did not exist then");
		printf("%llu\n", (unsigned long long) size);
		ldg_txn_end(t);
	} else {
		die(EX_USAGE,
		    "unknown ledger command \"%s\" (see tally ledger "
		    "--help)",
		    sub);
	}
	ldg_close(s);
	return (ex);
}

/* ---- offline proof verification ---- */

static const char usage_proof[] =
    "usage: tally proof inclusion (--leaf-hash HEX | --leaf FILE) --index I\n"
    "           (--size N --root HEX | --checkpoint FILE --vkey VKEY)\n"
    "           [--proof HEX,HEX,...]\n"
    "       tally proof consistency --size1 M --size2 N --root1 HEX\n"
    "           --root2 HEX [--proof HEX,...]\n"
    "       tally proof consistency --checkpoint1 F1 --checkpoint2 F2\n"
    "           --vkey VKEY [--proof HEX,...]\n"
    "       tally proof record --bundle FILE --vkey VKEY\n"
    "Offline: exit 0 valid, 1 invalid (any hash not 32 bytes included).\n";

static void
hashes_parse(const char *s, cm_buf *out)
{
	const char *p = s;

	if (s == NULL || *s == '\0')
		return;
	for (;;) {
		const char *c = strchr(p, ',');
		size_t      n = c ? (size_t) (c - p) : strlen(p);
		size_t      before = out->len;

		if (cm_hex_decode(out, p, n) != CM_OK ||
		    out->len - before != CM_HASH_LEN)
			die(EX_NO, "invalid: proof hashes must be 32 bytes of "
			           "hex");
		if (c == NULL)
			break;
		p = c + 1;
	}
}

static void
hash_arg(const char *s, uint8_t out[CM_HASH_LEN], const char *what)
{
	cm_buf b = {0};

	if (cm_hex_decode(&b, s, strlen(s)) != CM_OK || b.len != CM_HASH_LEN)
		die(EX_NO, "invalid: %s must be 32 bytes of hex", what);
	memcpy(out, b.p, CM_HASH_LEN);
	cm_buf_fini(&b);
}

static void
vkey_arg(const char *text, ldg_vkey *vk)
{
	cm_diag     d;
	cm_buf      b = {0};
	struct stat st;

	cm_diag_clear(&d);
	if (stat(text, &st) == 0)
		file_read(text, &b);
	else
		cm_buf_append(&b, text, strlen(text));
	if (ldg_vkey_parse(cm_buf_bytes(&b), vk, &d) != CM_OK)
		die(EX_USAGE, "--vkey: %s", d.msg);
	cm_buf_fini(&b);
}

static void
checkpoint_arg(const char *path, const ldg_vkey *vk, ldg_checkpoint *c)
{
	cm_buf  b = {0};
	cm_diag d;

	cm_diag_clear(&d);
	file_read(path, &b);
	if (ldg_checkpoint_verify(cm_buf_bytes(&b), vk, c, &d) != CM_OK)
		die(EX_NO, "invalid: checkpoint %s: %s", path, d.msg);
	cm_buf_fini(&b);
}

/* Bundle helpers: JSON fields of hex. */
static void
jhex(const cm_json *obj, const char *key, cm_buf *out)
{
	size_t      n;
	const char *s = cm_json_str(cm_json_get(obj, key), &n);

	cm_buf_reset(out);
	if (s == NULL || cm_hex_decode(out, s, n) != CM_OK)
		die(EX_NO, "invalid: bundle field %s must be hex", key);
}

static void
jhashes(const cm_json *obj, const char *key, cm_buf *out)
{
	cm_json *arr = cm_json_get(obj, key);

	cm_buf_reset(out);
	if (!cm_json_is_array(arr))
		die(EX_NO, "invalid: bundle field %s must be an array", key);
	for (size_t i = 0; i < cm_json_len(arr); i++) {
		size_t      n, before = out->len;
		const char *s = cm_json_str(cm_json_at(arr, i), &n);

		if (s == NULL || cm_hex_decode(out, s, n) != CM_OK ||
		    out->len - before != CM_HASH_LEN)
			die(EX_NO, "invalid: %s[%zu] must be 32 bytes of hex",
			    key, i);
	}
}

static uint64_t
jint(const cm_json *obj, const char *key)
{
	int64_t v;

	if (!cm_json_int(cm_json_get(obj, key), &v) || v < 0)
		die(EX_NO, "invalid: bundle field %s must be an integer", key);
	return ((uint64_t) v);
}

/* Verifies one {leaf, index, proof} against the checkpoint; leaf to out. */
static uint64_t
bundle_leaf_check(const cm_json *b, const char *key, const ldg_checkpoint *c,
                  cm_buf *out)
{
	cm_json *l = cm_json_get(b, key);
	cm_buf   proof = {0};
	uint8_t  lh[CM_HASH_LEN];
	uint64_t idx;

	if (!cm_json_is_object(l))
		die(EX_NO, "invalid: bundle has no %s", key);
	jhex(l, "leaf", out);
	jhashes(l, "proof", &proof);
	idx = jint(l, "index");
	ldg_leaf_hash(cm_buf_bytes(out), lh);
	if (ldg_verify_inclusion(lh, idx, c->size, proof.p,
	                         proof.len / CM_HASH_LEN, c->root) != CM_OK)
		die(EX_NO, "invalid: the %s leaf's inclusion proof fails", key);
	cm_buf_fini(&proof);
	return (idx);
}

static int
proof_record(const opts *o)
{
	ldg_vkey       vk;
	ldg_checkpoint c;
	cm_buf         text = {0}, note = {0}, rl = {0}, hl = {0}, gl = {0};
	cm_buf         il = {0}, path = {0};
	cm_json       *b = NULL;
	cm_diag        d;
	uint64_t       ri, hi, gi, hidx, pos, n;
	ldg_field      rf[5] = {{"t", true},
	                        {"hh", true},
	                        {"hi", true},
	                        {"pos", true},
	                        {"rec", true}};
	ldg_field      hf[5] = {{"t", true},
	                        {"hdr", true},
	                        {"sig", true},
	                        {"first", true},
	                        {"ltime", true}};
	ldg_field      sf[7] = {{"t", true},     {"n", true},    {"kid", true},
	                        {"seq", true},   {"root", true}, {"time", true},
	                        {"origin", true}};
	ldg_field      gf[3] = {{"t", true}, {"sig", true}, {"stmt", true}};
	cm_bytes       hh, rec, hdr, sig, kid, root, origin, stmt;
	uint8_t        lh[CM_HASH_LEN], pub[CM_PUBKEY_LEN], k2[CM_KEYID_LEN];
	size_t         nlen;
	const char    *ns;

	cm_diag_clear(&d);
	vkey_arg(need(o, "vkey"), &vk);
	file_read(need(o, "bundle"), &text);
	if (cm_json_parse(cm_buf_bytes(&text), &b, &d) != CM_OK)
		die(EX_NO, "invalid: bundle: %s", d.msg);
	ns = cm_json_str(cm_json_get(b, "checkpoint"), &nlen);
	if (ns == NULL)
		die(EX_NO, "invalid: bundle has no checkpoint");
	cm_buf_append(&note, ns, nlen);
	if (ldg_checkpoint_verify(cm_buf_bytes(&note), &vk, &c, &d) != CM_OK)
		die(EX_NO, "invalid: checkpoint: %s", d.msg);
	ri = bundle_leaf_check(b, "record", &c, &rl);
	hi = bundle_leaf_check(b, "header", &c, &hl);
	gi = bundle_leaf_check(b, "genesis", &c, &gl);
	if (gi != 0)
		die(EX_NO, "invalid: genesis must be leaf 0");
	if (ldg_fields_decode(cm_buf_bytes(&rl), "tally/record-leaf/v1", rf, 5,
	                      &d) != CM_OK ||
	    ldg_field_bytes(&rf[1], &hh, &d) != CM_OK ||
	    ldg_field_uint(&rf[2], &hidx, &d) != CM_OK ||
	    ldg_field_uint(&rf[3], &pos, &d) != CM_OK ||
	    ldg_field_bytes(&rf[4], &rec, &d) != CM_OK)
		die(EX_NO, "invalid: record leaf: %s", d.msg);
	ldg_leaf_hash(cm_buf_bytes(&hl), lh);
	if (hidx != hi || hh.len != CM_HASH_LEN ||
	    memcmp(hh.p, lh, CM_HASH_LEN) != 0 || ri != hi + 1 + pos)
		die(EX_NO, "invalid: the record does not name this header");
	if (ldg_fields_decode(cm_buf_bytes(&hl), "tally/header-leaf/v1", hf, 5,
	                      &d) != CM_OK ||
	    ldg_field_bytes(&hf[1], &hdr, &d) != CM_OK ||
	    ldg_field_bytes(&hf[2], &sig, &d) != CM_OK ||
	    ldg_fields_decode(hdr, "tally/batch-header/v1", sf, 7, &d) !=
	        CM_OK ||
	    ldg_field_uint(&sf[1], &n, &d) != CM_OK ||
	    ldg_field_bytes(&sf[2], &kid, &d) != CM_OK ||
	    ldg_field_bytes(&sf[4], &root, &d) != CM_OK ||
	    ldg_field_text(&sf[6], &origin, &d) != CM_OK)
		die(EX_NO, "invalid: header leaf: %s", d.msg);
	if (!cm_bytes_eq(origin, CM_BYTES(c.origin, strlen(c.origin))))
		die(EX_NO, "invalid: the header names another origin");
	jhashes(b, "batch_path", &path);
	ldg_leaf_hash(rec, lh);
	if (root.len != CM_HASH_LEN ||
	    ldg_verify_inclusion(lh, pos, n, path.p, path.len / CM_HASH_LEN,
	                         root.p) != CM_OK)
		die(EX_NO, "invalid: the record is not in its batch");
	/* The signer's key: the operator's from genesis, or the key the
	 * registration leaf (itself signed by the operator) gives. */
	{
		ldg_field s2[7] = {{"t", true},     {"op", true},
		                   {"ckpt", true},  {"time", true},
		                   {"suite", true}, {"origin", true},
		                   {"params", true}};
		uint8_t   op[CM_PUBKEY_LEN];
		cm_bytes  gsig;

		if (ldg_fields_decode(cm_buf_bytes(&gl),
		                      "tally/genesis-leaf/v1", gf, 3,
		                      &d) != CM_OK ||
		    ldg_field_bytes(&gf[1], &gsig, &d) != CM_OK ||
		    ldg_field_bytes(&gf[2], &stmt, &d) != CM_OK ||
		    ldg_fields_decode(stmt, "tally/genesis/v1", s2, 7, &d) !=
		        CM_OK ||
		    ldg_field_fixed(&s2[1], CM_PUBKEY_LEN, op, &d) != CM_OK ||
		    gsig.len != CM_SIG_LEN ||
		    cm_verify(op, "genesis", stmt, gsig.p) != CM_OK)
			die(EX_NO, "invalid: genesis: %s",
			    d.msg[0] ? d.msg : "bad signature");
		memcpy(pub, op, CM_PUBKEY_LEN);
		if (cm_json_is_object(cm_json_get(b, "identity"))) {
			ldg_field r2[4] = {{"t", true},
			                   {"sig", true},
			                   {"kind", true},
			                   {"stmt", true}};
			ldg_field i2[12] = {
			    {"t", true},       {"op", true},
			    {"kid", false},    {"pop", false},
			    {"pub", false},    {"name", false},
			    {"role", false},   {"uscc", false},
			    {"since", false},  {"origin", false},
			    {"reason", false}, {"scopes", false}};
			ldg_field l2[5] = {{"t", true},
			                   {"hh", true},
			                   {"hi", true},
			                   {"pos", true},
			                   {"rec", true}};
			cm_bytes  irec, isig, ist;

			if (bundle_leaf_check(b, "identity", &c, &il) >= hi)
				die(EX_NO, "invalid: the signer's key was "
				           "registered after the batch");
			if (ldg_fields_decode(cm_buf_bytes(&il),
			                      "tally/record-leaf/v1", l2, 5,
			                      &d) != CM_OK ||
			    ldg_field_bytes(&l2[4], &irec, &d) != CM_OK ||
			    ldg_fields_decode(irec, "tally/record/v1", r2, 4,
			                      &d) != CM_OK ||
			    ldg_field_bytes(&r2[1], &isig, &d) != CM_OK ||
			    ldg_field_bytes(&r2[3], &ist, &d) != CM_OK ||
			    ldg_fields_decode(ist, "tally/identity/v1", i2, 12,
			                      &d) != CM_OK ||
			    ldg_field_fixed(&i2[4], CM_PUBKEY_LEN, pub, &d) !=
			        CM_OK ||
			    isig.len != CM_SIG_LEN ||
			    cm_verify(op, "identity", ist, isig.p) != CM_OK)
				die(EX_NO, "invalid: identity leaf: %s",
				    d.msg[0] ? d.msg : "bad signature");
		}
	}
	cm_key_id(pub, k2);
	if (kid.len != CM_KEYID_LEN || memcmp(kid.p, k2, CM_KEYID_LEN) != 0)
		die(EX_NO, "invalid: the identity given is not the signer's");
	if (sig.len != CM_SIG_LEN ||
	    cm_verify(pub, "batch-header", hdr, sig.p) != CM_OK)
		die(EX_NO, "invalid: the batch signature does not verify");
	printf("valid: record %llu of %s at size %llu, signed by key ",
	       (unsigned long long) ri, c.origin, (unsigned long long) c.size);
	print_hex(stdout, k2, CM_KEYID_LEN);
	printf("\n");
	cm_json_free(b);
	cm_buf_fini(&text);
	cm_buf_fini(&note);
	cm_buf_fini(&rl);
	cm_buf_fini(&hl);
	cm_buf_fini(&gl);
	cm_buf_fini(&il);
	cm_buf_fini(&path);
	return (EX_OK);
}

static int
cmd_proof(int argc, char **argv)
{
	opts        o;
	const char *sub = argc > 0 ? argv[0] : "";
	cm_buf      proof = {0};
	ldg_vkey    vk;
	int         ex;

	if ((ex = group_parse(argc, argv,
	                      " leaf-hash leaf index size root checkpoint vkey "
	                      "proof size1 size2 root1 root2 checkpoint1 "
	                      "checkpoint2 bundle ",
	                      usage_proof, &o)) >= 0)
		return (ex);
	hashes_parse(opt(&o, "proof"), &proof);
	if (strcmp(sub, "inclusion") == 0) {
		uint8_t        lh[CM_HASH_LEN], root[CM_HASH_LEN];
		uint64_t       size;
		ldg_checkpoint c;

		if (opt(&o, "leaf") != NULL) {
			cm_buf leaf = {0};

			file_read(opt(&o, "leaf"), &leaf);
			ldg_leaf_hash(cm_buf_bytes(&leaf), lh);
			cm_buf_fini(&leaf);
		} else {
			hash_arg(need(&o, "leaf-hash"), lh, "--leaf-hash");
		}
		if (opt(&o, "checkpoint") != NULL) {
			vkey_arg(need(&o, "vkey"), &vk);
			checkpoint_arg(opt(&o, "checkpoint"), &vk, &c);
			size = c.size;
			memcpy(root, c.root, CM_HASH_LEN);
		} else {
			size = parse_u64(need(&o, "size"), "--size");
			hash_arg(need(&o, "root"), root, "--root");
		}
		if (ldg_verify_inclusion(
		        lh, parse_u64(need(&o, "index"), "--index"), size,
		        proof.p, proof.len / CM_HASH_LEN, root) != CM_OK) {
			cm_buf_fini(&proof);
			printf("invalid\n");
			return (EX_NO);
		}
	} else if (strcmp(sub, "consistency") == 0) {
		uint8_t  r1[CM_HASH_LEN], r2[CM_HASH_LEN];
		uint64_t s1, s2;

		if (opt(&o, "checkpoint1") != NULL) {
			ldg_checkpoint c1, c2;

			vkey_arg(need(&o, "vkey"), &vk);
			checkpoint_arg(opt(&o, "checkpoint1"), &vk, &c1);
			checkpoint_arg(need(&o, "checkpoint2"), &vk, &c2);
			s1 = c1.size, s2 = c2.size;
			memcpy(r1, c1.root, CM_HASH_LEN);
			memcpy(r2, c2.root, CM_HASH_LEN);
		} else {
			s1 = parse_u64(need(&o, "size1"), "--size1");
			s2 = parse_u64(need(&o, "size2"), "--size2");
			hash_arg(need(&o, "root1"), r1, "--root1");
			hash_arg(need(&o, "root2"), r2, "--root2");
		}
		if (ldg_verify_consistency(s1, s2, r1, r2, proof.p,
		                           proof.len / CM_HASH_LEN) != CM_OK) {
			cm_buf_fini(&proof);
			printf("invalid\n");
			return (EX_NO);
		}
	} else if (strcmp(sub, "record") == 0) {
		cm_buf_fini(&proof);
		return (proof_record(&o));
	} else {
		die(EX_USAGE, "unknown proof command \"%s\"", sub);
	}
	printf("valid\n");
	cm_buf_fini(&proof);
	return (EX_OK);
}

/* ---- main ---- */

static const char usage_main[] =
    "usage: tally COMMAND [--help] ...\n"
    "Tally: an append-only, signed, provable ledger of credit events and\n"
    "food/drug supply-chain records.\n\n"
    "  init      create a ledger\n"
    "  keygen    make an Ed25519 key\n"
    "  id        identities: pop, register, rotate, revoke, except, show,\n"
    "            list, check (USCC)\n"
    "  batch     batch sign: sign a JSON batch into a CBOR batch file\n"
    "  submit    append signed batches, print receipts\n"
    "  ledger    get, checkpoint, pubkey, prove, audit, stats, reindex,\n"
    "            backup, size-at\n"
    "  proof     verify inclusion, consistency and record proofs offline\n\n"
    "Exit codes: 0 success, 1 a negative answer (invalid, not found,\n"
    "refused), 2 usage or I/O error.  docs/cli.md has every JSON shape.\n";

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {{"init", cmd_init},     {"keygen", cmd_keygen},
	            {"id", cmd_id},         {"batch", cmd_batch},
	            {"submit", cmd_submit}, {"ledger", cmd_ledger},
	            {"proof", cmd_proof}};
	static char name[64];

	if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		fputs(usage_main, argc < 2 ? stderr : stdout);
		return (argc < 2 ? EX_USAGE : EX_OK);
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(argv[1], cmds[i].name) == 0) {
			snprintf(name, sizeof(name), "tally %s", argv[1]);
			prog_cmd = name;
			return (cmds[i].fn(argc - 2, argv + 2));
		}
	die(EX_USAGE, "unknown command \"%s\" (see tally --help)", argv[1]);
}
