/* SPDX-License-Identifier: MIT */
/* tools/cli_trace.c -- `tally trace`: supply-chain trace commands.  `hash`
 * prints the CBV 2.0 event hash ID of each event of an EPCIS JSON-LD
 * document (trace/trc_hash.c), touching no ledger. */
#include "tools/cli.h"
#include "trace/trc.h"

#include <string.h>

/* An EPCIS document file: large capture documents fit. */
#define EPCIS_FILE_MAX (64u << 20)

static const char usage_trace[] =
    "usage: tally trace hash FILE [--prehash]\n"
    "Reads an EPCIS 2.0 JSON-LD document (an EPCISDocument, an\n"
    "EPCISQueryDocument, or one event; FILE - is stdin) and prints the CBV\n"
    "2.0 event hash ID of each event, one line per event in document\n"
    "order, or with --prehash each event's pre-hash string.  Reads no\n"
    "ledger.  Exit 0 when every event is hashed; 1 when the document or an\n"
    "event is refused (then nothing is printed); 2 usage or I/O error.\n";

static int
trace_hash(const opts *o)
{
	cm_buf         text = {0}, out = {0};
	cm_json       *doc = NULL;
	const cm_json *list, *one[1];
	size_t         n;
	cm_diag        d;
	bool           pre = opt(o, "prehash") != NULL;
	const char    *type;
	size_t         tl;

	if (o->npos != 1)
		die(EX_USAGE, "hash needs one FILE (see --help)");
	file_read(o->pos[0], EPCIS_FILE_MAX, "an EPCIS document", &text);
	cm_diag_clear(&d);
	if (cm_json_parse(cm_buf_bytes(&text), &doc, &d) != CM_OK)
		die(EX_NO, "%s: %s", o->pos[0], d.msg);
	type = cm_json_str(cm_json_get(doc, "type"), &tl);
	if (cm_json_get(doc, "epcisBody") == NULL && type != NULL &&
	    !(tl >= 5 && memcmp(type, "EPCIS", 5) == 0)) {
		one[0] = doc; /* a single event */
		list = NULL;
		n = 1;
	} else if ((list = trc_hash_events(doc, &d)) == NULL) {
		die(EX_NO, "%s: %s", o->pos[0], d.msg);
	} else {
		n = cm_json_len(list);
	}
	/* All events first, so a refusal prints nothing. */
	for (size_t i = 0; i < n; i++) {
		const cm_json *ev = list != NULL ? cm_json_at(list, i) : one[0];
		cm_buf         p = {0};
		cm_err         rv;

		rv = trc_hash_prehash(doc, ev, &p, &d);
		if (rv == CM_ENOMEM)
			die(EX_USAGE, "out of memory");
		if (rv != CM_OK)
			die(EX_NO, "%s: event %zu: %s", o->pos[0], i + 1,
			    d.msg);
		if ((pre ? cm_buf_append(&out, p.p, p.len)
		         : trc_hash_id(cm_buf_bytes(&p), &out)) != CM_OK)
			die(EX_USAGE, "out of memory");
		cm_buf_fini(&p);
		if (cm_buf_append_byte(&out, '\n') != CM_OK)
			die(EX_USAGE, "out of memory");
	}
	if (out.len > 0 && fwrite(out.p, 1, out.len, stdout) != out.len)
		die(EX_USAGE, "cannot write the output");
	cm_buf_fini(&out);
	cm_buf_fini(&text);
	cm_json_free(doc);
	return (EX_OK);
}

int
cli_trace(int argc, char **argv)
{
	opts        o;
	const char *sub = argc > 0 ? argv[0] : "";
	int         ex;

	if ((ex = group_parse(argc, argv, " prehash! ", usage_trace, &o)) >= 0)
		return (ex);
	if (strcmp(sub, "hash") == 0)
		return (trace_hash(&o));
	die(EX_USAGE, "unknown trace command \"%s\" (see tally trace --help)",
	    sub);
}
