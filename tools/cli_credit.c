/* SPDX-License-Identifier: MIT */
/* tools/cli_credit.c -- `tally credit`: the operator adopts catalogues and
 * scorecards (credit/crd.h: the file is parsed here first, so a refusal
 * names its line and column, then signed and appended as a
 * credit.catalogue or credit.scorecard record, which the ledger checks
 * again), and anyone reading the ledger shows the one adopted at a size. */
#include "credit/crd.h"
#include "tools/cli.h"

#include <string.h>

static const char usage_credit[] =
    "usage: tally credit catalogue adopt FILE --data DIR --key OPKEY [--json]\n"
    "       tally credit catalogue show --data DIR [--size N] [--json]\n"
    "       tally credit scorecard adopt FILE --data DIR --key OPKEY [--json]\n"
    "       tally credit scorecard show --data DIR [--public] [--size N]\n"
    "                                   [--json]\n"
    "       tally credit score|public USCC --data DIR [--as-of DATE]\n"
    "                                   [--size N] [--json]\n"
    "       tally credit list (--grade G | --category C [--since DATE])\n"
    "                                   --data DIR [--as-of DATE] [--json]\n"
    "       tally credit import FILE.csv --data DIR --key KEYFILE\n"
    "                           [--batch N] [--json]\n"
    "       tally credit calendar adopt FILE --data DIR --key OPKEY [--json]\n"
    "       tally credit calendar show --data DIR [--size N] [--json]\n"
    "adopt: parses FILE (docs/credit.md), refusing it with its line and\n"
    "column, and appends its canonical text signed by the operator's key;\n"
    "the ledger refuses a version not newer than the last adopted (a\n"
    "scorecard: of its scope) and a scorecard that names items, severities\n"
    "or categories the adopted catalogue lacks.  Prints the receipt.\n"
    "show: the catalogue or scorecard (--public: the public one) adopted\n"
    "in the first N leaves (default: all), as its canonical text under\n"
    "comment lines saying where it was adopted, or with --json as\n"
    "{leaf, version, effective, sha256, text}.  Exit 1 if none is.\n"
    "score, public, list: see tally credit score --help.\n"
    "import: credit events, one per row of a CSV file with a header row\n"
    "(the columns: docs/credit.md section 6).  Every row is checked first\n"
    "and the whole file refused on the first bad one (its row, line,\n"
    "column and reason; nothing is written); then the rows go in as\n"
    "batches of N (default 1000) signed by KEYFILE, and a credit.import\n"
    "manifest (the file's SHA-256, its rows and their leaves) ends them.\n"
    "Rows the log holds already count as duplicates and are not sent\n"
    "again, so an interrupted import is finished by running it again.\n"
    "The calendar lists the holidays and make-up working days that\n"
    "dispute deadlines in working days count by "
    "(docs/credit.md).\n";

static int
credit_adopt(const opts *o, crd_which which)
{
	cm_buf     text = {0}, rec = {0};
	cm_diag    d;
	ldg_store *s;
	cm_key    *k;
	cm_bytes   r;
	int        ex;

	if (o->npos != 1)
		die(EX_USAGE, "adopt needs one FILE (see --help)");
	file_read(o->pos[0], CRD_FILE_MAX,
	          which == CRD_CATALOGUE  ? "a catalogue"
	          : which == CRD_CALENDAR ? "a calendar"
	                                  : "a scorecard",
	          &text);
	cm_diag_clear(&d);
	if (crd_adopt_build(which, cm_buf_bytes(&text), &rec, &d) != CM_OK)
		die(EX_NO, "%s: %s", o->pos[0], d.msg);
	s = store_open(need(o, "data"), false);
	k = key_load(need(o, "key"));
	r = cm_buf_bytes(&rec);
	ex = sign_and_append(s, k, &r, 1, opt(o, "json") != NULL);
	cm_key_free(k);
	ldg_close(s);
	cm_buf_fini(&rec);
	cm_buf_fini(&text);
	return (ex);
}

static int
credit_show(const opts *o, crd_which which)
{
	ldg_store  *s = store_open(need(o, "data"), true);
	ldg_txn    *t = rtxn(s);
	uint64_t    size = opt_u64(o, "size", ldg_size(t));
	crd_adopted a;
	char        eff[11];
	cm_buf      hex = {0};
	cm_err      rv;

	if (size > ldg_size(t))
		die(EX_NO, "size %llu is past the ledger's %llu leaves",
		    (unsigned long long) size,
		    (unsigned long long) ldg_size(t));
	if ((rv = crd_adopted_get(t, which, size, &a)) == CM_ENOTFOUND)
		die(EX_NO, "no %s is adopted in the first %llu leaves",
		    crd_which_name(which), (unsigned long long) size);
	if (rv != CM_OK)
		die(exit_for(rv), "cannot read the %s index: %s",
		    crd_which_name(which), cm_strerror(rv));
	crd_day_format(a.effective, eff);
	if (opt(o, "json") != NULL) {
		cm_buf     b = {0};
		cm_cbor_wr w;

		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 5);
		cm_cbor_wr_cstr(&w, "leaf");
		cm_cbor_wr_uint(&w, a.leaf);
		cm_cbor_wr_cstr(&w, "text");
		cm_cbor_wr_text(&w, a.text);
		cm_cbor_wr_cstr(&w, "sha256");
		cm_cbor_wr_bytes(&w, CM_BYTES(a.sha, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "version");
		cm_cbor_wr_uint(&w, a.version);
		cm_cbor_wr_cstr(&w, "effective");
		cm_cbor_wr_cstr(&w, eff);
		json_print(&w, &b);
		cm_buf_fini(&b);
	} else {
		if (cm_hex_encode(&hex, CM_BYTES(a.sha, CM_HASH_LEN)) != CM_OK)
			die(EX_USAGE, "out of memory");
		printf("# %s version %u, effective %s, adopted at leaf %llu\n"
		       "# sha256 %s\n",
		       crd_which_name(which), a.version, eff,
		       (unsigned long long) a.leaf, (char *) hex.p);
		if (fwrite(a.text.p, 1, a.text.len, stdout) != a.text.len)
			die(EX_USAGE, "cannot write the output");
		cm_buf_fini(&hex);
	}
	ldg_txn_end(t);
	ldg_close(s);
	return (EX_OK);
}

int
cli_credit(int argc, char **argv)
{
	opts        o;
	const char *what = argc > 0 ? argv[0] : "";
	const char *sub = argc > 1 ? argv[1] : "";
	bool        sc = strcmp(what, "scorecard") == 0;
	bool        cal = strcmp(what, "calendar") == 0;
	crd_which   which = sc    ? CRD_SCORECARD_FULL
	                    : cal ? CRD_CALENDAR
	                          : CRD_CATALOGUE;
	int         ex;

	if (strcmp(what, "--help") == 0 || strcmp(what, "-h") == 0) {
		fputs(usage_credit, stdout);
		fputs(cli_credit_access_usage, stdout);
		return (EX_OK);
	}
	if (strcmp(what, "score") == 0 || strcmp(what, "public") == 0 ||
	    strcmp(what, "list") == 0)
		return (cli_credit_score(argc, argv));
	if (strcmp(what, "import") == 0) {
		if ((ex = group_parse(argc, argv, " data key batch json! ",
		                      usage_credit, &o)) >= 0)
			return (ex);
		return (credit_import(&o));
	}
	if ((ex = cli_credit_access(argc, argv)) >= 0)
		return (ex);
	if (argc > 0 && strcmp(what, "catalogue") != 0 && !sc && !cal)
		die(EX_USAGE,
		    "unknown credit command \"%s\" (see tally credit --help)",
		    what);
	/* "catalogue adopt ...": the subcommand is the second word. */
	if ((ex = group_parse(argc > 0 ? argc - 1 : 0, argv + (argc > 0),
	                      " data key size json! public! ", usage_credit,
	                      &o)) >= 0)
		return (ex);
	if (strcmp(sub, "adopt") == 0) {
		if (opt(&o, "size") != NULL || opt(&o, "public") != NULL)
			die(EX_USAGE, "adopt takes no --size or --public (see "
			              "--help)");
		return (credit_adopt(&o, which));
	}
	if (strcmp(sub, "show") == 0) {
		if (opt(&o, "key") != NULL || o.npos != 0)
			die(EX_USAGE,
			    "show takes no --key or FILE (see --help)");
		if (!sc && opt(&o, "public") != NULL)
			die(EX_USAGE, "--public is for scorecard show");
		return (credit_show(&o, sc && opt(&o, "public") != NULL
		                            ? CRD_SCORECARD_PUBLIC
		                            : which));
	}
	die(EX_USAGE,
	    "unknown credit %s command \"%s\" (see tally credit --help)", what,
	    sub);
}
