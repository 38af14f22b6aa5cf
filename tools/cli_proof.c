/* SPDX-License-Identifier: MIT */
/* tools/cli_proof.c -- `tally proof`: offline verification of inclusion and
 * consistency proofs and of record bundles, with no ledger at hand. */
#include "tools/cli.h"

#include <string.h>
#include <sys/stat.h>

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
		file_read(text, SMALL_FILE_MAX, "a vkey file", &b);
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
	file_read(path, NOTE_FILE_MAX, "a checkpoint note", &b);
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

/* True if the space-separated list holds the name k[0..len). */
static bool
list_has(const char *list, const char *k, size_t len)
{
	for (const char *p = list + strspn(list, " "); *p != '\0';
	     p += strspn(p, " ")) {
		size_t l = strcspn(p, " ");

		if (l == len && memcmp(p, k, len) == 0)
			return (true);
		p += l;
	}
	return (false);
}

/* obj holds exactly the keys of the space-separated list (what names it). */
static void
jkeys(const cm_json *obj, const char *keys, const char *what)
{
	char        name[64], show[SHOW_MAX];
	const char *k;
	size_t      len;

	for (size_t i = 0; (k = cm_json_key_at(obj, i, NULL, &len)) != NULL;
	     i++) {
		if (!list_has(keys, k, len))
			die(EX_NO, "invalid: %s has an unknown key %s", what,
			    text_show(CM_BYTES(k, len), show));
	}
	for (const char *p = keys + strspn(keys, " "); *p != '\0';
	     p += strspn(p, " ")) {
		int l = (int) strcspn(p, " ");

		snprintf(name, sizeof(name), "%.*s", l, p);
		if (cm_json_get(obj, name) == NULL)
			die(EX_NO, "invalid: %s has no %s", what, name);
		p += l;
	}
}

/* A bundle is checked whole before any step: the keys of it and of each
 * leaf object, "size", "checkpoint", and "identity" an object or null; the
 * leaf objects' fields and "batch_path" are typed where they are read
 * (every one is read before "valid"). */
static void
bundle_shape(const cm_json *b)
{
	static const char *const leaves[] = {"header", "record", "genesis",
	                                     "identity"};

	if (!cm_json_is_object(b))
		die(EX_NO, "invalid: a bundle is a JSON object");
	jkeys(b, " size header record genesis identity batch_path checkpoint ",
	      "the bundle");
	(void) jint(b, "size");
	if (cm_json_str(cm_json_get(b, "checkpoint"), NULL) == NULL)
		die(EX_NO, "invalid: bundle field checkpoint must be a string");
	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
		cm_json *l = cm_json_get(b, leaves[i]);
		char     what[32];

		if (i == 3 && cm_json_is_null(l))
			continue;
		if (!cm_json_is_object(l))
			die(EX_NO, "invalid: bundle field %s must be %s",
			    leaves[i],
			    i == 3 ? "a leaf object or null" : "a leaf object");
		snprintf(what, sizeof(what), "bundle field %s", leaves[i]);
		jkeys(l, " leaf index proof ", what);
	}
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
	uint64_t       ri, hi, gi;
	ldg_rleaf      r;
	ldg_hleaf      h;
	ldg_hdr        hdr;
	ldg_genesis    g;
	uint8_t        lh[CM_HASH_LEN], pub[CM_PUBKEY_LEN], k2[CM_KEYID_LEN];
	size_t         nlen;
	const char    *ns;

	cm_diag_clear(&d);
	vkey_arg(need(o, "vkey"), &vk);
	file_read(need(o, "bundle"), BUNDLE_FILE_MAX, "a record bundle", &text);
	if (cm_json_parse(cm_buf_bytes(&text), &b, &d) != CM_OK)
		die(EX_NO, "invalid: bundle: %s", d.msg);
	bundle_shape(b);
	ns = cm_json_str(cm_json_get(b, "checkpoint"), &nlen);
	cm_buf_append(&note, ns, nlen);
	if (ldg_checkpoint_verify(cm_buf_bytes(&note), &vk, &c, &d) != CM_OK)
		die(EX_NO, "invalid: checkpoint: %s", d.msg);
	if (jint(b, "size") != c.size)
		die(EX_NO,
		    "invalid: bundle field size is %llu, the checkpoint's "
		    "size %llu",
		    (unsigned long long) jint(b, "size"),
		    (unsigned long long) c.size);
	ri = bundle_leaf_check(b, "record", &c, &rl);
	hi = bundle_leaf_check(b, "header", &c, &hl);
	gi = bundle_leaf_check(b, "genesis", &c, &gl);
	if (gi != 0)
		die(EX_NO, "invalid: genesis must be leaf 0");
	if (ldg_rleaf_decode(cm_buf_bytes(&rl), &r, &d) != CM_OK)
		die(EX_NO, "invalid: record leaf: %s", d.msg);
	ldg_leaf_hash(cm_buf_bytes(&hl), lh);
	if (r.hi != hi || memcmp(r.hh.p, lh, CM_HASH_LEN) != 0 ||
	    ri != hi + 1 + r.pos)
		die(EX_NO, "invalid: the record does not name this header");
	if (ldg_hleaf_decode(cm_buf_bytes(&hl), &h, &d) != CM_OK ||
	    ldg_hdr_decode(h.hdr, &hdr, &d) != CM_OK)
		die(EX_NO, "invalid: header leaf: %s", d.msg);
	if (!cm_bytes_eq(hdr.origin, CM_BYTES(c.origin, strlen(c.origin))))
		die(EX_NO, "invalid: the header names another origin");
	jhashes(b, "batch_path", &path);
	ldg_leaf_hash(r.rec, lh);
	if (ldg_verify_inclusion(lh, r.pos, hdr.n, path.p,
	                         path.len / CM_HASH_LEN, hdr.root.p) != CM_OK)
		die(EX_NO, "invalid: the record is not in its batch");
	/* The signer's key: the operator's from genesis, or the key the
	 * registration leaf (itself signed by the operator) gives. */
	if (ldg_genesis_decode(cm_buf_bytes(&gl), &g, &d) != CM_OK)
		die(EX_NO, "invalid: genesis: %s", d.msg);
	if (cm_verify(g.op_pub, "genesis", g.stmt, g.sig.p) != CM_OK)
		die(EX_NO, "invalid: genesis: bad signature");
	memcpy(pub, g.op_pub, CM_PUBKEY_LEN);
	if (!cm_json_is_null(cm_json_get(b, "identity"))) {
		if (bundle_leaf_check(b, "identity", &c, &il) >= hi)
			die(EX_NO, "invalid: the signer's key was registered "
			           "after the batch");
		if (ldg_identity_leaf_key(cm_buf_bytes(&il), g.op_pub, pub,
		                          &d) != CM_OK)
			die(EX_NO, "invalid: identity leaf: %s", d.msg);
	}
	cm_key_id(pub, k2);
	if (memcmp(hdr.kid.p, k2, CM_KEYID_LEN) != 0)
		die(EX_NO, "invalid: the identity given is not the signer's");
	if (cm_verify(pub, "batch-header", h.hdr, h.sig.p) != CM_OK)
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

int
cli_proof(int argc, char **argv)
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

		opt_exclusive(&o, "leaf", "leaf-hash");
		opt_exclusive(&o, "checkpoint", "size root");
		if (opt(&o, "leaf") != NULL) {
			cm_buf leaf = {0};

			file_read(opt(&o, "leaf"), LEAF_FILE_MAX, "a leaf",
			          &leaf);
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

		opt_exclusive(&o, "checkpoint1 checkpoint2",
		              "size1 size2 root1 root2");
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
