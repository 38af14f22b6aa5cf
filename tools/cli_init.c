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

int
cli_keygen(int argc, char **argv)
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
