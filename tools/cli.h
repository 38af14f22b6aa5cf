/* SPDX-License-Identifier: MIT */
/* tools/cli.h -- the shared layer of the `tally` command.  Each command
 * group lives in tools/cli_<group>.c behind one entry point declared here;
 * tools/tally.c only dispatches.  Exit codes: 0 success, 1 a negative
 * answer (invalid, not found, refused), 2 usage or I/O error; errors go to
 * stderr on one line (docs/cli.md).  This layer may exit: it is a program. */
#ifndef TOOLS_CLI_H
#define TOOLS_CLI_H
#include "ledger/ldg.h"

#include <stdio.h>

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

/* "tally <group>": the prefix of every message. */
extern const char *prog_cmd;

/* Prints "prog_cmd: message" on stderr and exits with code. */
void die(int code, const char *fmt, ...) CM_PRINTF(2, 3)
    __attribute__((noreturn));
/* p, or an exit on out of memory. */
void *xalloc(void *p);
/* allowed: space-separated option names; a trailing '!' marks a flag. */
void opts_parse(int argc, char **argv, const char *allowed, opts *o);
/* A command group ("tally ledger ..."): the subcommand is argv[0].
 * Returns -1 to go on, or the exit code after printing the usage (for
 * --help, or for a missing subcommand). */
int group_parse(int argc, char **argv, const char *allowed, const char *usage,
                opts *o);
/* The option's last value, or NULL. */
const char *opt(const opts *o, const char *name);
/* The same, or a usage exit when it is missing. */
const char *need(const opts *o, const char *name);
/* a and b are the space-separated options of two forms of a command: a
 * usage exit ("give only one of --x and --y") when both forms are given. */
void     opt_exclusive(const opts *o, const char *a, const char *b);
uint64_t parse_u64(const char *s, const char *what);
uint64_t opt_u64(const opts *o, const char *name, uint64_t def);
/* The writer's clock (the system clock; nothing else). */
uint64_t now_ms(void);

/* ---- files and keys ---- */
/* What each input may hold (docs/cli.md section 1, Limits).  A batch file
 * is bounded by its ledger's params.batch, a JSON batch by JSON_BATCH_MAX
 * of it; a key file by cm_key_load's own bound. */
#define SMALL_FILE_MAX 4096     /* --pubkey, --pop, --vkey files */
#define NOTE_FILE_MAX 65536     /* checkpoint notes: 100 signatures fit */
#define LEAF_FILE_MAX 65535     /* --leaf: the largest params.leaf */
#define BUNDLE_FILE_MAX 1048576 /* record bundles (cli_proof.c) */
#define JSON_BATCH_MAX(batch_bytes) (4 * (uint64_t) (batch_bytes))

/* Appends the whole file (or stdin for "-") to out; what names the input
 * ("a batch file") in the message when it holds more than limit bytes
 * (exit 1: "F is too large (limit N bytes for a batch file)").  A FIFO is
 * read as stdin is, bounded the same. */
void file_read(const char *path, uint64_t limit, const char *what, cm_buf *out);
cm_key *key_load(const char *path);
void    pubkey_load(const char *path, uint8_t pub[CM_PUBKEY_LEN]);
void    hex_parse(const char *s, size_t want, uint8_t *out, const char *what);
void    print_hex(FILE *f, const uint8_t *p, size_t len);
/* s for a message, never raw: as is when it is printable ASCII without
 * space, '"' or '\\'; else quoted, with \\, \" and \xHH for other bytes
 * (and cut with "..." to fit).  Returns buf. */
#define SHOW_MAX 160
const char *text_show(cm_bytes s, char buf[SHOW_MAX]);

/* ---- opening a ledger ---- */
/* The exit code for a failure of opening or using a ledger: 2 when it
 * cannot be opened or read (missing, not a ledger, an interrupted init,
 * damaged, permission denied, read-only or full storage, out of memory),
 * 1 when it opens but refuses (stale indexes, a key that is not its own,
 * a key file too open). */
int exit_for(cm_err rv);
/* Opens DIR with o, or exits (exit_for).  A command that writes (write)
 * exits here when the ledger is read-only: 1 without its checkpoint key,
 * 2 on storage this process may not write.  Notes on stderr when the
 * ledger is read without LMDB's lock.  From here on a SIGBUS (a mapped
 * page that cannot be read) is reported as DIR's damaged data file and
 * exits 2. */
ldg_store *store_open_opts(const char *dir, const ldg_opts *o, bool write);
/* The same with opts readonly and checkpoint_key (NULL: the key in DIR). */
ldg_store *store_open_key(const char *dir, bool readonly, bool write,
                          const char *ckpt_key);
ldg_store *store_open(const char *dir, bool readonly);
/* ldg_init for a ledger the CLI will open: with its modules (the same
 * list store_open_opts passes), at the clock's time. */
cm_err   store_init(const char *dir, const cm_key *op, const char *origin,
                    const char *ckpt_key, cm_diag *d);
ldg_txn *rtxn(ldg_store *s);

/* ---- output and submitting ---- */
/* Finishes w (writing into cbor) and prints it as one line of JSON. */
void json_print(cm_cbor_wr *w, cm_buf *cbor);
/* Appends the batches in one commit and prints a receipt for each. */
int append_batches(ldg_store *s, const cm_bytes *batches, size_t n, bool json);
/* Signs recs with k at its next sequence number and appends them. */
int sign_and_append(ldg_store *s, const cm_key *k, const cm_bytes *recs,
                    size_t n, bool json);
/* The same without printing: the batch's status (CM_OK, CM_EDUPLICATE for
 * a resend, or the refusal with d), its receipt in *rc (release with
 * ldg_receipt_fini).  Exits when the commit fails. */
cm_err sign_append(ldg_store *s, const cm_key *k, const cm_bytes *recs,
                   size_t n, ldg_receipt *rc, cm_diag *d);
/* A progress bar on stderr: what, a bar of done/total, then tail; a new
 * line once done reaches total.  Callers draw it only on a terminal. */
void progress_show(const char *what, uint64_t done, uint64_t total,
                   const char *tail);

/* ---- importing a file in two passes (docs/cli.md section 1, Imports) ----
 * A first pass checks every unit (an event, a row) and refuses the whole
 * file on the first bad one, writing nothing; a second pass submits the
 * units as signed batches, leaving out those the log already holds (a
 * re-run after an interruption sends only what is missing).  The file is
 * read in chunks (constant memory), hashed each pass, and shown as a
 * progress bar on stderr when stderr is a terminal. */
typedef struct imp_file {
	const char    *path;
	int            fd;
	uint64_t       size; /* when opened: what is imported */
	int64_t        mtime;
	uint64_t       done;  /* bytes read in this pass */
	uint64_t       units; /* units read in this pass */
	const char    *unit;  /* "event", "row" */
	const char    *phase;
	bool           bar;
	uint64_t       drawn;
	cm_sha256_ctx *sha;
} imp_file;
/* Opens path, a regular file (exits otherwise). */
void imp_file_open(imp_file *f, const char *path);
/* Rewinds for a pass named phase (exits if the file changed). */
void imp_file_pass(imp_file *f, const char *phase);
/* A cm_read_fn over the file (for the streaming readers). */
cm_err imp_file_read(void *arg, uint8_t *buf, size_t cap, size_t *out_n);
/* Ends a pass: the SHA-256 of the bytes it read. */
void imp_file_end(imp_file *f, uint8_t out[CM_HASH_LEN]);
void imp_file_close(imp_file *f);
/* Refuses the file: in pass 1, exit 1 "F: msg; nothing was written"; in
 * pass 2 (the file checked before), exit 2: it changed meanwhile. */
void imp_refuse(const imp_file *f, int pass, const char *msg)
    __attribute__((noreturn));
/* The identity of k, which must be a registered, active key of s (exit 1
 * otherwise, naming path). */
void imp_signer(ldg_store *s, const cm_key *k, const char *path,
                ldg_identity *who);
/* Exits (1, nothing written) when a record of len bytes does not fit a
 * record leaf of the ledger; what names the unit. */
void imp_record_fits(const imp_file *f, const ldg_params *p, size_t len,
                     const char *what);

typedef struct imp_result {
	uint64_t units;      /* in the file */
	uint64_t added;      /* records written (not counting finish's) */
	uint64_t duplicates; /* units the log or the batch already held */
	uint64_t batches;
	uint64_t first_leaf, last_leaf; /* records written; 0: none */
	/* The leaves of every unit's record: written now, or found in the
	 * log as a duplicate (0 and 0: none). */
	uint64_t lo, hi;
	uint64_t closing;           /* the finish record's leaf (0: none) */
	uint64_t size;              /* the tree size after */
	uint8_t  hash[CM_HASH_LEN]; /* SHA-256 of the file */
} imp_result;

typedef struct imp_ops {
	const char *unit;
	/* A pass (1 check, 2 import) begins, over the rewound file. */
	void (*begin)(void *src, int pass);
	/* Reads the next unit of the pass: false at the end.  Exits on a
	 * malformed file, naming the place. */
	bool (*next)(void *src);
	/* Pass 1: checks the unit in t's state; exits with the unit's
	 * position and the reason on a refusal. */
	void (*check)(void *src, ldg_txn *t);
	/* Pass 2: appends the unit's record to rec and sets *key (a view
	 * that names it among the batch's), or sets *dup and *dup_leaf (the
	 * record's leaf) when the log in t holds it already (nothing
	 * appended). */
	void (*record)(void *src, ldg_txn *t, cm_buf *rec, cm_bytes *key,
	               bool *dup, uint64_t *dup_leaf);
	/* After the last unit: a closing record in rec (credit's manifest),
	 * or nothing; NULL for none. */
	void (*finish)(void *src, ldg_store *s, const imp_result *r,
	               cm_buf *rec);
} imp_ops;
/* Runs both passes over f with ops on src, batch records a batch, signed
 * by k; fills r.  Exits on any refusal (docs/cli.md). */
void import_run(ldg_store *s, const cm_key *k, imp_file *f, const imp_ops *ops,
                void *src, size_t batch, imp_result *r);
/* The summary on stdout: units, imported in batches (leaf range),
 * duplicates, tree size; with json one line of JSON. */
void import_print(const imp_file *f, const imp_result *r, bool json);
/* Prints a receipt (or the refusal) as sign_and_append does; the exit
 * code. */
int receipt_show(const ldg_receipt *r, cm_err st, const cm_diag *d, bool json);
/* Writes the record bundle of record leaf ri (docs/cli.md section 9)
 * into w, against the latest checkpoint. */
void record_bundle_write(cm_cbor_wr *w, ldg_txn *t, uint64_t ri);

/* ---- the command groups ---- */
int cli_init(int argc, char **argv);   /* cli_init.c */
int cli_keygen(int argc, char **argv); /* cli_init.c */
int cli_id(int argc, char **argv);     /* cli_id.c */
int cli_batch(int argc, char **argv);  /* cli_batch.c */
int cli_submit(int argc, char **argv); /* cli_batch.c */
int cli_ledger(int argc, char **argv); /* cli_ledger.c */
int cli_proof(int argc, char **argv);  /* cli_proof.c */
int cli_trace(int argc, char **argv);  /* cli_trace.c */
/* tally trace's master-data commands (cli_trace_master.c): the exit code,
 * or -1 when argv[0] is none of them; their usage lines. */
int               cli_trace_master(int argc, char **argv);
extern const char cli_trace_master_usage[];
int               cli_credit(int argc, char **argv); /* cli_credit.c */
/* tally credit score|public|list (cli_credit_score.c); argv[0] is the
 * command. */
int cli_credit_score(int argc, char **argv);
int credit_import(const opts *o); /* cli_credit_import.c */
/* The access commands of tally credit (cli_credit_access.c): the exit
 * code, or -1 when argv[0] is none of them. */
int cli_credit_access(int argc, char **argv);
/* Their usage lines, which tally credit --help prints after its own. */
extern const char cli_credit_access_usage[];
/* [recall] tally trace verify|alerts|recall|acknowledge|lift|recalls
 * (cli_trace_recall.c): the exit code, or -1 when argv[0] is none of
 * them; their usage, which tally trace --help prints after its own. */
int               cli_trace_recall(int argc, char **argv);
extern const char cli_trace_recall_usage[];

#endif
