/* SPDX-License-Identifier: MIT */
/* tools/tally.c -- the `tally` command: dispatches to one command group
 * (tools/cli_<group>.c, over the shared layer in tools/cli.h).  Exit codes:
 * 0 success, 1 a negative answer (invalid, not found, refused), 2 usage or
 * I/O error.  Shapes and codes: docs/cli.md. */
#include "tools/cli.h"

#include <string.h>

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
    "  proof     verify inclusion, consistency and record proofs offline\n"
    "  trace     EPCIS 2.0 events: hash, history, import, export; master\n"
    "            data: bind, claim, confirm, delegate, undelegate, name,\n"
    "            parties\n"
    "  credit    catalogue and scorecard: adopt, show\n\n"
    "Exit codes: 0 success, 1 a negative answer (invalid, not found,\n"
    "refused), 2 usage or I/O error.  docs/cli.md has every JSON shape.\n";

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int, char **);
	} cmds[] = {{"init", cli_init},     {"keygen", cli_keygen},
	            {"id", cli_id},         {"batch", cli_batch},
	            {"submit", cli_submit}, {"ledger", cli_ledger},
	            {"proof", cli_proof},   {"trace", cli_trace},
	            {"credit", cli_credit}};
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
