/* SPDX-License-Identifier: MIT */
/* tools/cli.c -- the shared layer under every `tally` command group:
 * options, exits, files, opening a ledger, JSON output, submitting.
 * Library calls report errors; only this layer turns them into exits. */
#include "tools/cli.h"
#include "credit/crd.h"
#include "trace/trc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- options ---- */

const char *prog_cmd = "tally";

void
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

void *
xalloc(void *p)
{
	if (p == NULL)
		die(EX_USAGE, "out of memory");
	return (p);
}

/* allowed: space-separated option names; a trailing '!' marks a flag. */
void
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
int
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

const char *
opt(const opts *o, const char *name)
{
	const char *v = NULL;

	for (size_t i = 0; i < o->n; i++)
		if (strcmp(o->name[i], name) == 0)
			v = o->val[i];
	return (v);
}

const char *
need(const opts *o, const char *name)
{
	const char *v = opt(o, name);

	if (v == NULL)
		die(EX_USAGE, "missing --%s (see --help)", name);
	return (v);
}

/* The first option of the space-separated list that o holds, or NULL. */
static const char *
opt_first(const opts *o, const char *list)
{
	char pat[64];

	for (size_t i = 0; i < o->n; i++) {
		snprintf(pat, sizeof(pat), " %s ", o->name[i]);
		if (strstr(list, pat) != NULL)
			return (o->name[i]);
	}
	return (NULL);
}

void
opt_exclusive(const opts *o, const char *a, const char *b)
{
	char        la[128], lb[128];
	const char *x, *y;

	snprintf(la, sizeof(la), " %s ", a);
	snprintf(lb, sizeof(lb), " %s ", b);
	if ((x = opt_first(o, la)) != NULL && (y = opt_first(o, lb)) != NULL)
		die(EX_USAGE, "give only one of --%s and --%s", x, y);
}

uint64_t
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

uint64_t
opt_u64(const opts *o, const char *name, uint64_t def)
{
	const char *v = opt(o, name);

	return (v ? parse_u64(v, name) : def);
}

/* The writer's clock: the system clock only.  No option or variable may
 * set it, since whoever sets the writer's clock sets the log time (tests
 * set it from outside the binary: tests/clock/clockshim.c). */
uint64_t
now_ms(void)
{
	return (cm_now_ms());
}

/* ---- files ---- */

void
file_read(const char *path, uint64_t limit, const char *what, cm_buf *out)
{
	bool        in = strcmp(path, "-") == 0;
	const char *name = in ? "stdin" : path;
	size_t      start = out->len;
	struct stat st;
	ssize_t     n;
	int         fd;

	/* A FIFO is read as stdin is: opening it waits for its writer, as
	 * cat's open does, and its bytes are bounded the same.  Only a key
	 * file must be regular (cm_key_load). */
	fd = in ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		die(EX_USAGE, "cannot read %s: %s", name, strerror(errno));
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
	    (uint64_t) st.st_size > limit)
		goto big;
	for (;;) {
		/* Read up to one byte past the limit, in chunks. */
		size_t want = 65536;

		if (out->len - start + want > limit + 1)
			want = (size_t) (limit + 1 - (out->len - start));
		if (cm_buf_reserve(out, want) != CM_OK)
			die(EX_USAGE, "out of memory");
		n = read(fd, out->p + out->len, want);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			die(EX_USAGE, "cannot read %s: %s", name,
			    strerror(errno));
		if (n == 0)
			break;
		out->len += (size_t) n;
		if (out->len - start > limit)
			goto big;
	}
	out->p[out->len] = 0; /* as cm_buf_append leaves it */
	if (!in)
		close(fd);
	return;
big:
	die(EX_NO, "%s is too large (limit %llu bytes for %s)", name,
	    (unsigned long long) limit, what);
}

cm_key *
key_load(const char *path)
{
	cm_key *k = NULL;
	cm_diag d;
	cm_err  rv;

	cm_diag_clear(&d);
	if ((rv = cm_key_load(path, &k, &d)) != CM_OK)
		die(rv == CM_EPERM || rv == CM_ETOOBIG ? EX_NO : EX_USAGE, "%s",
		    d.msg[0] ? d.msg : cm_strerror(rv));
	return (k);
}

void
pubkey_load(const char *path, uint8_t pub[CM_PUBKEY_LEN])
{
	cm_buf  b = {0};
	cm_diag d;

	cm_diag_clear(&d);
	file_read(path, SMALL_FILE_MAX, "a public key file", &b);
	if (cm_pubkey_parse(cm_buf_bytes(&b), pub, &d) != CM_OK)
		die(EX_NO, "%s: %s", path, d.msg);
	cm_buf_fini(&b);
}

void
hex_parse(const char *s, size_t want, uint8_t *out, const char *what)
{
	cm_buf b = {0};

	if (cm_hex_decode(&b, s, strlen(s)) != CM_OK || b.len != want)
		die(EX_USAGE, "%s must be %zu bytes of hex", what, want);
	memcpy(out, b.p, want);
	cm_buf_fini(&b);
}

void
print_hex(FILE *f, const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		fprintf(f, "%02x", p[i]);
}

const char *
text_show(cm_bytes s, char buf[SHOW_MAX])
{
	size_t o = 0, i;
	bool   plain = s.len > 0;

	for (i = 0; i < s.len && plain; i++)
		plain = s.p[i] > 0x20 && s.p[i] < 0x7f && s.p[i] != '"' &&
		        s.p[i] != '\\';
	if (plain && s.len < SHOW_MAX) {
		memcpy(buf, s.p, s.len);
		buf[s.len] = '\0';
		return (buf);
	}
	buf[o++] = '"';
	/* Room for the widest escape, then "...\"" and the NUL. */
	for (i = 0; i < s.len && o + 4 + 5 < SHOW_MAX; i++) {
		uint8_t c = s.p[i];

		if (c == '"' || c == '\\')
			o +=
			    (size_t) snprintf(buf + o, SHOW_MAX - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += (size_t) snprintf(buf + o, SHOW_MAX - o, "\\x%02x",
			                       c);
		else
			buf[o++] = (char) c;
	}
	snprintf(buf + o, SHOW_MAX - o, "%s\"", i < s.len ? "..." : "");
	return (buf);
}

/* ---- opening ---- */

int
exit_for(cm_err rv)
{
	switch (rv) {
	case CM_ENOTFOUND:
	case CM_ECORRUPT:
	case CM_EIO:
	case CM_EACCES:
	case CM_EROFS:
	case CM_ENOSPC:
	case CM_ENOMEM:
	case CM_EBUSY:
	case CM_EMAPFULL:
		return (EX_USAGE);
	default:
		return (EX_NO);
	}
}

/* ldg_open refuses a data.mdb shorter than its last commit before LMDB
 * maps it, but a page can still fail to read once mapped (the file cut
 * short by another process while open, a media error): the first touch
 * raises SIGBUS.  Then we say so and exit 2 rather than die of the signal.
 * Nothing is recovered (LMDB's state is lost with the process), and only
 * async-signal-safe calls run: the message is written beforehand. */
static char   bus_msg[512];
static size_t bus_len;

static void
on_sigbus(int sig)
{
	(void) sig;
	if (bus_len > 0 && write(2, bus_msg, bus_len) < 0)
		bus_len = 0;
	_exit(EX_USAGE);
}

static void
bus_watch(const char *dir)
{
	struct sigaction sa;
	int              n;

	n = snprintf(bus_msg, sizeof(bus_msg),
	             "%s: %s/data.mdb could not be read (SIGBUS: a page past "
	             "the end of the file, or a media error): the ledger is "
	             "damaged; restore it from a backup\n",
	             prog_cmd, dir);
	bus_len = n < 0                          ? 0
	          : (size_t) n < sizeof(bus_msg) ? (size_t) n
	                                         : sizeof(bus_msg) - 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigbus;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

/* The modules (record kinds and indexers) beyond the ledger's own, for
 * every store tally opens and every ledger tally init makes: this is the
 * one place they are listed. */
static const ldg_module *cli_modules[] = {&trc_ledger_module, &crd_module};

ldg_store *
store_open_opts(const char *dir, const ldg_opts *o, bool write)
{
	ldg_store *s = NULL;
	ldg_opts   lo = *o;
	cm_diag    d;
	cm_err     rv;

	cm_diag_clear(&d);
	bus_watch(dir);
	if (lo.modules == NULL) {
		lo.modules = cli_modules;
		lo.nmodules = sizeof(cli_modules) / sizeof(cli_modules[0]);
	}
	if ((rv = ldg_open(dir, &lo, &s, &d)) != CM_OK)
		die(exit_for(rv), "%s", d.msg[0] ? d.msg : cm_strerror(rv));
	if (ldg_lockless(s))
		fprintf(
		    stderr,
		    "%s: note: %s/lock.mdb cannot be opened for writing "
		    "here: reading without LMDB's lock, so no writer may run "
		    "on this ledger meanwhile\n",
		    prog_cmd, dir);
	rv = ldg_write_denied(s);
	if (write && rv == CM_EREADONLY)
		die(EX_NO, "%s is read-only here: no checkpoint key (%s)", dir,
		    o->checkpoint_key ? o->checkpoint_key
		                      : "checkpoint.key in the directory");
	if (write && rv != CM_OK)
		die(exit_for(rv),
		    "%s is read-only here: %s (reading and ledger audit work, "
		    "writing does not)",
		    dir, cm_strerror(rv));
	return (s);
}

ldg_store *
store_open_key(const char *dir, bool readonly, bool write, const char *ckpt_key)
{
	ldg_opts o;

	memset(&o, 0, sizeof(o));
	o.readonly = readonly;
	o.checkpoint_key = ckpt_key;
	return (store_open_opts(dir, &o, write));
}

cm_err
store_init(const char *dir, const cm_key *op, const char *origin,
           const char *ckpt_key, cm_diag *d)
{
	return (ldg_init_modules(
	    dir, op, origin, ckpt_key, NULL, now_ms(), cli_modules,
	    sizeof(cli_modules) / sizeof(cli_modules[0]), d));
}

ldg_store *
store_open(const char *dir, bool readonly)
{
	return (store_open_key(dir, readonly, false, NULL));
}

ldg_txn *
rtxn(ldg_store *s)
{
	ldg_txn *t = NULL;

	if (ldg_read_begin(s, &t) != CM_OK)
		die(EX_USAGE, "cannot begin a read transaction");
	return (t);
}

/* ---- JSON output through canonical CBOR ---- */

void
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
		if (r->checkpoint_err == CM_OK)
			cm_cbor_wr_text(&w, cm_buf_bytes(&r->checkpoint));
		else
			cm_cbor_wr_null(&w);
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
	/* The batch is in the log: only the receipt's checkpoint is missing,
	 * which `ledger checkpoint` shows. */
	if (r->checkpoint_err != CM_OK)
		fprintf(stderr,
		        "%s: header %llu is in the log, but its checkpoint "
		        "could not be read (%s); see tally ledger checkpoint\n",
		        prog_cmd, (unsigned long long) r->header_index,
		        cm_strerror(r->checkpoint_err));
	return (EX_OK);
}

/* ldg_append, or an exit when the commit failed. */
static void
append_commit(ldg_store *s, const cm_bytes *batches, size_t n, ldg_receipt *rc,
              cm_err *st, cm_diag *dg)
{
	cm_err rv = ldg_append(s, batches, n, now_ms(), rc, st, dg);

	/* A failed commit leaves the ledger as it was. */
	if (rv == CM_ENOSPC)
		die(EX_USAGE,
		    "append failed: %s: nothing was appended; free space on "
		    "the ledger's file system and submit again",
		    cm_strerror(rv));
	if (rv != CM_OK)
		die(EX_USAGE, "append failed: %s", cm_strerror(rv));
}

int
append_batches(ldg_store *s, const cm_bytes *batches, size_t n, bool json)
{
	ldg_receipt *rc = xalloc(cm_calloc(n, sizeof(*rc)));
	cm_err      *st = xalloc(cm_calloc(n, sizeof(*st)));
	cm_diag     *dg = xalloc(cm_calloc(n, sizeof(*dg)));
	int          ex = EX_OK;

	append_commit(s, batches, n, rc, st, dg);
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

/* How many sequence numbers sign_and_append tries: each conflict means
 * another writer with the same key committed in between, so this many
 * concurrent writers of one key always get through. */
#define SIGN_ATTEMPTS 8

cm_err
sign_append(ldg_store *s, const cm_key *k, const cm_bytes *recs, size_t n,
            ldg_receipt *rc, cm_diag *d)
{
	uint8_t  pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
	uint64_t seq;
	cm_buf   batch = {0};
	cm_err   st = CM_OK;
	cm_bytes b;

	cm_key_public(k, pub);
	cm_key_id(pub, kid);
	for (int attempt = 1;; attempt++) {
		ldg_txn *t = rtxn(s);

		if (ldg_next_seq(t, kid, &seq) != CM_OK)
			die(EX_USAGE, "cannot read the sequence index");
		ldg_txn_end(t);
		cm_diag_clear(d);
		cm_buf_reset(&batch);
		if (ldg_batch_build(ldg_origin(s), k, seq, now_ms(), recs, n,
		                    &batch, d) != CM_OK)
			die(EX_NO, "cannot build the batch: %s", d->msg);
		b = cm_buf_bytes(&batch);
		memset(rc, 0, sizeof(*rc));
		append_commit(s, &b, 1, rc, &st, d);
		/* tally chose seq, so a conflict is a race it lost: the
		 * number went to another writer's batch; take the next. */
		if (st != CM_ESEQCONFLICT || attempt == SIGN_ATTEMPTS)
			break;
		ldg_receipt_fini(rc);
	}
	if (st == CM_ESEQCONFLICT)
		cm_diag_set(d,
		            "%d sequence numbers in a row (up to %llu) were "
		            "taken by other writers with this key; try again",
		            SIGN_ATTEMPTS, (unsigned long long) seq);
	cm_buf_fini(&batch);
	return (st);
}

int
receipt_show(const ldg_receipt *r, cm_err st, const cm_diag *d, bool json)
{
	return (receipt_print(r, st, d, json));
}

int
sign_and_append(ldg_store *s, const cm_key *k, const cm_bytes *recs, size_t n,
                bool json)
{
	ldg_receipt rc;
	cm_diag     d;
	cm_err      st = sign_append(s, k, recs, n, &rc, &d);
	int         ex = receipt_print(&rc, st, &d, json);

	ldg_receipt_fini(&rc);
	return (ex);
}

/* ---- progress ---- */

void
progress_show(const char *what, uint64_t done, uint64_t total, const char *tail)
{
	int width = 40, fill = total ? (int) (done * width / total) : width;

	if (fill > width)
		fill = width;
	fprintf(stderr, "\r%-8s [%.*s%*s] %s", what, fill,
	        "########################################", width - fill, "",
	        tail);
	if (done >= total)
		fputc('\n', stderr);
	fflush(stderr);
}

/* ---- importing a file in two passes ---- */

void
imp_file_open(imp_file *f, const char *path)
{
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->path = path;
	/* Read twice (check, then import), so not a pipe or stdin. */
	if (strcmp(path, "-") == 0)
		die(EX_USAGE, "import reads its file twice (a check, then the "
		              "import): give a file, not stdin");
	f->fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (f->fd < 0)
		die(EX_USAGE, "cannot read %s: %s", path, strerror(errno));
	if (fstat(f->fd, &st) != 0 || !S_ISREG(st.st_mode))
		die(EX_USAGE,
		    "%s is not a regular file (import reads it twice)", path);
	f->size = (uint64_t) st.st_size;
	f->mtime = (int64_t) st.st_mtime;
	f->bar = isatty(2);
}

void
imp_file_pass(imp_file *f, const char *phase)
{
	struct stat st;

	if (lseek(f->fd, 0, SEEK_SET) != 0)
		die(EX_USAGE, "cannot rewind %s: %s", f->path, strerror(errno));
	if (fstat(f->fd, &st) != 0 || (uint64_t) st.st_size != f->size ||
	    (int64_t) st.st_mtime != f->mtime)
		die(EX_USAGE, "%s changed while it was being imported",
		    f->path);
	cm_sha256_free(f->sha);
	f->sha = NULL;
	if (cm_sha256_new(&f->sha) != CM_OK)
		die(EX_USAGE, "out of memory");
	f->done = 0;
	f->drawn = 0;
	f->phase = phase;
}

static void
imp_file_bar(imp_file *f)
{
	char tail[96];

	snprintf(tail, sizeof(tail), "%.1f/%.1f MB, %llu %ss",
	         (double) f->done / 1e6, (double) f->size / 1e6,
	         (unsigned long long) f->units, f->unit);
	progress_show(f->phase, f->done, f->size, tail);
	f->drawn = f->done;
}

cm_err
imp_file_read(void *arg, uint8_t *buf, size_t cap, size_t *out_n)
{
	imp_file *f = arg;
	ssize_t   n;

	do
		n = read(f->fd, buf, cap);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (cm_err_from_errno(errno));
	/* Not past the size it had: a file growing under the import is
	 * read as it was when the import began. */
	if (f->done + (uint64_t) n > f->size)
		n = (ssize_t) (f->size - f->done);
	cm_sha256_update(f->sha, buf, (size_t) n);
	f->done += (uint64_t) n;
	*out_n = (size_t) n;
	if (f->bar && f->done < f->size && f->done - f->drawn >= (1u << 20))
		imp_file_bar(f);
	return (CM_OK);
}

void
imp_file_end(imp_file *f, uint8_t out[CM_HASH_LEN])
{
	cm_sha256_final(f->sha, out);
	if (f->bar)
		imp_file_bar(f);
}

void
imp_file_close(imp_file *f)
{
	cm_sha256_free(f->sha);
	f->sha = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

void
imp_refuse(const imp_file *f, int pass, const char *msg)
{
	if (pass == 1)
		die(EX_NO, "%s: %s; nothing was written", f->path, msg);
	die(EX_USAGE, "%s changed while it was being imported: %s", f->path,
	    msg);
}

void
imp_signer(ldg_store *s, const cm_key *k, const char *path, ldg_identity *who)
{
	uint8_t  pub[CM_PUBKEY_LEN], kid[CM_KEYID_LEN];
	ldg_txn *t = rtxn(s);

	cm_key_public(k, pub);
	cm_key_id(pub, kid);
	if (ldg_identity_get(t, kid, who) != CM_OK)
		die(EX_NO,
		    "%s is not a registered key in this ledger; nothing was "
		    "written",
		    path);
	if (who->end_index != 0)
		die(EX_NO, "%s is not active (%s); nothing was written", path,
		    who->end_reason);
	ldg_txn_end(t);
}

/* Room a record leaf's own fields take besides the record (the leaf's
 * header hash, indexes and type; docs/format.md section 3). */
#define RLEAF_OVERHEAD 128
/* Room a batch's header takes besides its records. */
#define BATCH_OVERHEAD 4096

void
imp_record_fits(const imp_file *f, const ldg_params *p, size_t len,
                const char *what)
{
	if (len + RLEAF_OVERHEAD > p->max_leaf)
		die(EX_NO,
		    "%s: %s: its record would be %zu bytes, more than this "
		    "ledger's records may be (params.leaf %llu, less %d for "
		    "the leaf's own fields); nothing was written",
		    f->path, what, len, (unsigned long long) p->max_leaf,
		    RLEAF_OVERHEAD);
}

/* The keys of the records in the batch being built, to answer a unit
 * that repeats one as a duplicate. */
typedef struct pending {
	cm_buf    keys;
	size_t   *off;
	size_t    n, cap;
	cm_buf    recs;
	size_t   *roff;
	cm_bytes *views;
} pending;

static bool
pending_has(const pending *p, cm_bytes key)
{
	for (size_t i = 0; i < p->n; i++)
		if (cm_bytes_eq(CM_BYTES(p->keys.p + p->off[i],
		                         p->off[i + 1] - p->off[i]),
		                key))
			return (true);
	return (false);
}

static void
pending_add(pending *p, cm_bytes key, cm_bytes rec)
{
	if (p->n + 1 >= p->cap) {
		p->cap = p->cap ? 2 * p->cap : 256;
		p->off = xalloc(cm_realloc(p->off, p->cap * sizeof(*p->off)));
		p->roff =
		    xalloc(cm_realloc(p->roff, p->cap * sizeof(*p->roff)));
		p->views =
		    xalloc(cm_realloc(p->views, p->cap * sizeof(*p->views)));
	}
	if (p->n == 0)
		p->off[0] = p->roff[0] = 0;
	if (cm_buf_append(&p->keys, key.p, key.len) != CM_OK ||
	    cm_buf_append(&p->recs, rec.p, rec.len) != CM_OK)
		die(EX_USAGE, "out of memory");
	p->n++;
	p->off[p->n] = p->keys.len;
	p->roff[p->n] = p->recs.len;
}

static void
pending_reset(pending *p)
{
	p->n = 0;
	cm_buf_reset(&p->keys);
	cm_buf_reset(&p->recs);
}

static void
pending_fini(pending *p)
{
	cm_buf_fini(&p->keys);
	cm_buf_fini(&p->recs);
	cm_free(p->off);
	cm_free(p->roff);
	cm_free(p->views);
}

/* Widens the span of the units' leaves to lo..hi. */
static void
leaf_span(imp_result *r, uint64_t lo, uint64_t hi)
{
	if (r->lo == 0 || lo < r->lo)
		r->lo = lo;
	if (hi > r->hi)
		r->hi = hi;
}

/* Signs and appends recs as one batch; exits on a refusal, saying what
 * the earlier batches of this import put in the log. */
static void
imp_flush(ldg_store *s, const cm_key *k, const imp_file *f, cm_bytes *recs,
          size_t n, imp_result *r)
{
	ldg_receipt rc;
	cm_diag     d;
	cm_err      st;

	if (n == 0)
		return;
	st = sign_append(s, k, recs, n, &rc, &d);
	if (st != CM_OK && st != CM_EDUPLICATE) {
		if (r->batches == 0)
			die(EX_NO, "%s: refused: %s%s%s; nothing was written",
			    f->path, cm_strerror(st), d.msg[0] ? ": " : "",
			    d.msg);
		die(EX_NO,
		    "%s: batch %llu refused: %s%s%s; the %llu batches before "
		    "it are in the log (records at leaves %llu..%llu): "
		    "import the file again once it is fixed, and what is in "
		    "counts as duplicates",
		    f->path, (unsigned long long) r->batches + 1,
		    cm_strerror(st), d.msg[0] ? ": " : "", d.msg,
		    (unsigned long long) r->batches,
		    (unsigned long long) r->first_leaf,
		    (unsigned long long) r->last_leaf);
	}
	if (r->first_leaf == 0)
		r->first_leaf = rc.first_record;
	r->last_leaf = rc.first_record + rc.nrecords - 1;
	leaf_span(r, rc.first_record, r->last_leaf);
	r->size = rc.size;
	r->batches++;
	ldg_receipt_fini(&rc);
}

void
import_run(ldg_store *s, const cm_key *k, imp_file *f, const imp_ops *ops,
           void *src, size_t batch, imp_result *r)
{
	ldg_params p;
	pending    pd;
	uint8_t    h2[CM_HASH_LEN];
	cm_buf     rec = {0};
	uint64_t   limit;
	ldg_txn   *t;
	cm_bytes   key = {0};
	bool       more = true;

	memset(r, 0, sizeof(*r));
	memset(&pd, 0, sizeof(pd));
	ldg_get_params(s, &p);
	if (batch == 0 || batch > p.max_records)
		die(EX_USAGE, "--batch must be 1 to %llu (params.records)",
		    (unsigned long long) p.max_records);
	limit = p.max_batch_bytes > BATCH_OVERHEAD
	            ? p.max_batch_bytes - BATCH_OVERHEAD
	            : p.max_batch_bytes;
	f->unit = ops->unit;
	/* Pass 1: every unit checked, in the ledger's state now. */
	imp_file_pass(f, "check");
	ops->begin(src, 1);
	t = rtxn(s);
	f->units = 0;
	while (ops->next(src)) {
		ops->check(src, t);
		f->units++;
	}
	ldg_txn_end(t);
	imp_file_end(f, r->hash);
	r->units = f->units;
	/* Pass 2: batches of new units. */
	imp_file_pass(f, "import");
	ops->begin(src, 2);
	f->units = 0;
	while (more) {
		size_t n;

		pending_reset(&pd);
		t = rtxn(s);
		while (pd.n < batch) {
			bool     dup = false;
			uint64_t at = 0;

			if (rec.len == 0) {
				if (!(more = ops->next(src)))
					break;
				f->units++;
				ops->record(src, t, &rec, &key, &dup, &at);
				if (dup)
					leaf_span(r, at, at);
				if (dup || pending_has(&pd, key)) {
					r->duplicates++;
					cm_buf_reset(&rec);
					continue;
				}
			}
			if (pd.recs.len + rec.len > limit && pd.n > 0)
				break; /* rec opens the next batch */
			pending_add(&pd, key, cm_buf_bytes(&rec));
			cm_buf_reset(&rec);
		}
		ldg_txn_end(t);
		n = pd.n;
		for (size_t i = 0; i < n; i++)
			pd.views[i] = CM_BYTES(pd.recs.p + pd.roff[i],
			                       pd.roff[i + 1] - pd.roff[i]);
		imp_flush(s, k, f, pd.views, n, r);
		r->added += n;
		if (rec.len > 0)
			more = true;
	}
	imp_file_end(f, h2);
	if (memcmp(h2, r->hash, CM_HASH_LEN) != 0)
		die(EX_USAGE,
		    "%s changed while it was being imported: what was read is "
		    "in the log (records at leaves %llu..%llu); import it "
		    "again",
		    f->path, (unsigned long long) r->first_leaf,
		    (unsigned long long) r->last_leaf);
	if (ops->finish != NULL) {
		imp_result rows = *r;
		cm_bytes   b;

		ops->finish(src, s, r, &rec);
		if (rec.len > 0) {
			/* The closing record is not one of the units: the
			 * summary's leaves stay the units'. */
			b = cm_buf_bytes(&rec);
			imp_flush(s, k, f, &b, 1, r);
			rows.size = r->size;
			rows.batches = r->batches;
			rows.closing = r->last_leaf;
			*r = rows;
		}
	}
	if (r->size == 0) {
		t = rtxn(s);
		r->size = ldg_size(t);
		ldg_txn_end(t);
	}
	cm_buf_fini(&rec);
	pending_fini(&pd);
}

void
import_print(const imp_file *f, const imp_result *r, bool json)
{
	if (json) {
		cm_buf     b = {0};
		cm_cbor_wr w;

		cm_cbor_wr_init(&w, &b);
		/* Canonical order: shorter keys first, then bytewise. */
		cm_cbor_wr_map(&w, 11);
		cm_cbor_wr_cstr(&w, "hi");
		cm_cbor_wr_uint(&w, r->hi);
		cm_cbor_wr_cstr(&w, "lo");
		cm_cbor_wr_uint(&w, r->lo);
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, r->size);
		cm_cbor_wr_cstr(&w, "added");
		cm_cbor_wr_uint(&w, r->added);
		cm_cbor_wr_cstr(&w, "count");
		cm_cbor_wr_uint(&w, r->units);
		cm_cbor_wr_cstr(&w, "sha256");
		cm_cbor_wr_bytes(&w, CM_BYTES(r->hash, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "batches");
		cm_cbor_wr_uint(&w, r->batches);
		cm_cbor_wr_cstr(&w, "closing");
		cm_cbor_wr_uint(&w, r->closing);
		cm_cbor_wr_cstr(&w, "last_leaf");
		cm_cbor_wr_uint(&w, r->last_leaf);
		cm_cbor_wr_cstr(&w, "duplicates");
		cm_cbor_wr_uint(&w, r->duplicates);
		cm_cbor_wr_cstr(&w, "first_leaf");
		cm_cbor_wr_uint(&w, r->first_leaf);
		json_print(&w, &b);
		cm_buf_fini(&b);
		return;
	}
	printf("%s: %llu %s%s, %llu imported", f->path,
	       (unsigned long long) r->units, f->unit, r->units == 1 ? "" : "s",
	       (unsigned long long) r->added);
	if (r->batches > 0)
		printf(" in %llu batch%s (records at leaves %llu..%llu)",
		       (unsigned long long) r->batches,
		       r->batches == 1 ? "" : "es",
		       (unsigned long long) r->first_leaf,
		       (unsigned long long) r->last_leaf);
	printf(", %llu duplicate%s already in the log",
	       (unsigned long long) r->duplicates,
	       r->duplicates == 1 ? "" : "s");
	if (r->closing != 0)
		printf("; manifest at leaf %llu (rows at leaves %llu..%llu)",
		       (unsigned long long) r->closing,
		       (unsigned long long) r->lo, (unsigned long long) r->hi);
	printf("; tree size %llu\n", (unsigned long long) r->size);
}
