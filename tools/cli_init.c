/* SPDX-License-Identifier: MIT */
/* tools/cli_init.c -- `tally init` (create a ledger) and `tally keygen`
 * (make a key). */
#include "tools/cli.h"

#include <string.h>
#include <sys/stat.h>

static const char usage_init[] =
    "usage: tally init --data DIR --operator-key FILE [--origin NAME]\n"
    "                  [--checkpoint-key FILE]\n"
    "Creates a ledger in DIR (absent or empty).  The operator key file is\n"
    "used if it exists, else created (mode 0600).  The checkpoint key is\n"
    "made in DIR (mode 0600) unless --checkpoint-key names another place.\n"
    "Origin defaults to tally.invalid/<16 random hex>.\n";

int
cli_init(int argc, char **argv)
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
	rv = store_init(dir, op, opt(&o, "origin"), opt(&o, "checkpoint-key"),
	                &d);
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
    "Writes a new Ed25519 private key to FILE (PKCS#8 PEM, mode 0600) and\n"
    "its public key to FILE.pub (mode 0644), and prints the public key as\n"
    "FILE.pub holds it: \"ed25519:<base64>\" and \"key-id <hex>\".  Either\n"
    "file, or the output saved as it is, is a valid --pubkey.  Neither\n"
    "file may exist already.\n";

int
cli_keygen(int argc, char **argv)
{
	opts        o;
	cm_key     *k = NULL;
	cm_diag     d;
	uint8_t     pub[CM_PUBKEY_LEN];
	cm_buf      text = {0}, pubpath = {0};
	const char *out;
	struct stat st;

	opts_parse(argc, argv, " out ", &o);
	if (o.help) {
		fputs(usage_keygen, stdout);
		return (EX_OK);
	}
	out = need(&o, "out");
	if (cm_buf_printf(&pubpath, "%s.pub", out) != CM_OK)
		die(EX_USAGE, "out of memory");
	/* Both names are checked first, so a refusal writes neither. */
	if (lstat((char *) pubpath.p, &st) == 0)
		die(EX_USAGE, "public key file %s already exists",
		    (char *) pubpath.p);
	cm_diag_clear(&d);
	if (cm_key_generate(&k) != CM_OK)
		die(EX_USAGE, "cannot make a key");
	if (cm_key_save(k, out, &d) != CM_OK)
		die(EX_USAGE, "%s", d.msg);
	cm_key_public(k, pub);
	if (cm_pubkey_save(pub, (char *) pubpath.p, &d) != CM_OK)
		die(EX_USAGE, "%s (the private key %s was written)", d.msg,
		    out);
	if (cm_pubkey_text(pub, &text) != CM_OK)
		die(EX_USAGE, "out of memory");
	fwrite(text.p, 1, text.len, stdout);
	cm_buf_fini(&text);
	cm_buf_fini(&pubpath);
	cm_key_free(k);
	return (EX_OK);
}
