/* SPDX-License-Identifier: MIT */
/* tools/cli_batch.c -- `tally batch sign` (a JSON batch into a signed CBOR
 * batch file) and `tally submit` (append batches, print receipts). */
#include "tools/cli.h"

#include <string.h>
#include <unistd.h>

static const char usage_batch[] =
    "usage: tally batch sign --key KEYFILE (--data DIR | --origin O --seq N)\n"
    "                        [--seq N] [--time MS] FILE.json > batch.cbor\n"
    "FILE.json is {\"records\":[{\"kind\":\"attestation\",\"subject\":USCC,\n"
    "\"type\":T,\"body\":{...}}]}.  Without --seq the next sequence number\n"
    "is read from --data DIR.\n";

/* The JSON batch at path as canonical records: *out views recs. */
static size_t
json_records(const char *path, const ldg_params *p, cm_buf *recs,
             cm_bytes **out)
{
	cm_buf  json = {0};
	size_t *offs = NULL, n = 0;
	cm_diag d;

	cm_diag_clear(&d);
	file_read(path, JSON_BATCH_MAX(p->max_batch_bytes), "a JSON batch",
	          &json);
	if (ldg_json_records(cm_buf_bytes(&json), recs, &offs, &n, p, &d) !=
	    CM_OK)
		die(EX_NO, "%s: %s", path, d.msg);
	*out = xalloc(cm_calloc(n, sizeof(**out)));
	for (size_t i = 0; i < n; i++)
		(*out)[i] = CM_BYTES(recs->p + offs[i], offs[i + 1] - offs[i]);
	cm_free(offs);
	cm_buf_fini(&json);
	return (n);
}

int
cli_batch(int argc, char **argv)
{
	opts        o;
	cm_key     *k;
	ldg_params  p;
	cm_buf      out = {0}, recs = {0};
	cm_bytes   *rv;
	cm_diag     d;
	size_t      n;
	uint64_t    seq;
	const char *data, *given = NULL;
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
	if ((given = opt(&o, "origin")) != NULL)
		snprintf(origin, sizeof(origin), "%s", given);
	seq = opt_u64(&o, "seq", 0);
	if (opt(&o, "seq") != NULL && seq == 0)
		die(EX_USAGE, "--seq starts at 1");
	if (data != NULL) {
		/* The ledger gives the origin, its limits and the next seq. */
		ldg_store *s = store_open(data, true);
		ldg_txn   *t = rtxn(s);
		uint8_t    pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];

		if (given != NULL && strcmp(given, ldg_origin(s)) != 0)
			die(EX_USAGE,
			    "--origin %s disagrees with the ledger in %s "
			    "(origin %s); give one of them",
			    given, data, ldg_origin(s));
		cm_key_public(k, pub);
		cm_key_id(pub, kid);
		if (seq == 0 && ldg_next_seq(t, kid, &seq) != CM_OK)
			die(EX_USAGE, "cannot read the sequence index");
		ldg_get_params(s, &p);
		snprintf(origin, sizeof(origin), "%s", ldg_origin(s));
		ldg_txn_end(t);
		ldg_close(s);
	} else if (seq == 0 || given == NULL) {
		die(EX_USAGE, "give --data DIR, or --origin O and --seq N");
	}
	n = json_records(o.pos[0], &p, &recs, &rv);
	cm_diag_clear(&d);
	if (ldg_batch_build(origin, k, seq, opt_u64(&o, "time", now_ms()), rv,
	                    n, &out, &d) != CM_OK)
		die(EX_NO, "%s: %s", o.pos[0], d.msg);
	if (isatty(1))
		die(EX_USAGE, "refusing to write CBOR to a terminal; redirect "
		              "stdout to a file");
	if (fwrite(out.p, 1, out.len, stdout) != out.len || fflush(stdout))
		die(EX_USAGE, "cannot write the batch");
	cm_free(rv);
	cm_buf_fini(&recs);
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

/* A batch file is canonical CBOR, a map; JSON text opens with '{'. */
static bool
looks_json(cm_bytes b)
{
	size_t i = 0;

	while (i < b.len && (b.p[i] == ' ' || b.p[i] == '\t' ||
	                     b.p[i] == '\r' || b.p[i] == '\n'))
		i++;
	return (i < b.len && b.p[i] == '{');
}

int
cli_submit(int argc, char **argv)
{
	opts       o;
	ldg_store *s;
	ldg_params p;
	int        ex;

	opts_parse(argc, argv, " data key json! checkpoint-key ", &o);
	if (o.help) {
		fputs(usage_submit, stdout);
		return (EX_OK);
	}
	if (o.npos == 0)
		die(EX_USAGE, "give a batch file (see --help)");
	if (opt(&o, "key") != NULL && o.npos != 1)
		die(EX_USAGE, "give one FILE.json with --key");
	s = store_open_key(need(&o, "data"), false, true,
	                   opt(&o, "checkpoint-key"));
	ldg_get_params(s, &p);
	if (opt(&o, "key") != NULL) {
		cm_key   *k = key_load(opt(&o, "key"));
		cm_buf    recs = {0};
		cm_bytes *rv;
		size_t    n = json_records(o.pos[0], &p, &recs, &rv);

		ex = sign_and_append(s, k, rv, n, opt(&o, "json") != NULL);
		cm_free(rv);
		cm_buf_fini(&recs);
		cm_key_free(k);
	} else {
		cm_buf   *files = xalloc(cm_calloc(o.npos, sizeof(*files)));
		cm_bytes *b = xalloc(cm_calloc(o.npos, sizeof(*b)));

		/* Every file is read and looked at before anything is
		 * appended. */
		for (size_t i = 0; i < o.npos; i++) {
			file_read(o.pos[i], p.max_batch_bytes,
			          "a batch file, the ledger's params.batch",
			          &files[i]);
			b[i] = cm_buf_bytes(&files[i]);
			if (looks_json(b[i]))
				die(EX_USAGE,
				    "%s is a JSON batch: give --key KEYFILE to "
				    "sign and submit it",
				    o.pos[i]);
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
