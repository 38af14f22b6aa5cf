/* SPDX-License-Identifier: MIT */
/* tools/tally_bench.c -- tally-bench: throughput and latency of the
 * production append path (ldg_append) against raw durable LMDB appends, and
 * inclusion-proof latency on a large ledger.  Every figure is measured on
 * this machine at run time; docs/benchmarks.md records a run. */
#include "ledger/ldg.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#define BENCH_USCC "91350100M000100Y43"
#define PROOF_BATCH 10000 /* records per batch when building part (c) */
#define VERIFY_SAMPLE 1000
#define VERIFY_ROUNDS 2000
#define B_ROUNDS                                                               \
	5 /* (a) and (b) are measured in this many interleaved rounds */

/* (d): the page counts probed, and repetitions of each. */
#define DISK_K 6
static const unsigned disk_k[DISK_K] = {1, 2, 4, 8, 16, 32};
#define DISK_REPS 200

typedef struct opts {
	const char *dir;
	const char *proof_dir;
	bool        keep, json, quick;
	long long   batches, records, single, proof_leaves, proofs, group;
	long long   threads; /* ldg_opts.threads; 0: the CPUs online */
	char        parts[8];
} opts;

/* A ledger with the operator and one registered enterprise. */
typedef struct bench_ledger {
	char       dir[PATH_MAX];
	ldg_store *s;
	cm_key    *op, *ent;
	char       origin[LDG_ORIGIN_MAX + 1];
	uint64_t   seq;   /* the enterprise's next batch seq */
	uint64_t   nmade; /* records made so far (their serial numbers) */
	uint64_t   rng;
} bench_ledger;

/* Sizes seen: min, sum, max, count. */
typedef struct sizes {
	uint64_t min, max, sum, n;
} sizes;

typedef struct lat_stats {
	uint64_t p50, p99, max, mean;
} lat_stats;

typedef struct results {
	/* machine */
	char     fs[32], cpu[128], kernel[256], date[32];
	long     ncpu;
	unsigned env_flags;
	bool     durable;
	/* (a) */
	bool     ran_a;
	uint64_t a_batches, a_records, a_ns, a_raw_ns;
	uint64_t a_pipe_ns; /* the same count, prepared ahead */
	uint64_t a_pipe_wr,
	    a_raw_wr; /* bytes written (wchar): pipelined, raw */
	uint64_t a_p50_ns, a_max_ns;
	sizes    a_rec, a_leaf, a_batch;
	/* (b) */
	bool     ran_b;
	uint64_t b_n, b_ns, b_raw_ns, b_verify_ns, b_sign_ns, b_p50_ns;
	uint64_t b_max_ns;
	uint64_t b_group, b_group_ns; /* the same, G batches per ldg_append */
	uint64_t b_pipe_ns;           /* one commit each, prepared ahead */
	uint64_t b_pipe_wr, b_raw_wr; /* bytes written (wchar) */
	uint64_t b_ready_ns, b_ready_calls; /* pipelined, ready ones grouped */
	/* (d) the disk: mean ns of one fdatasync after k page writes */
	bool     ran_d;
	uint64_t d_contig_ns[DISK_K], d_scatter_ns[DISK_K];
	/* audit of the (a)/(b) ledger */
	bool     audited;
	cm_err   audit_rv;
	uint64_t audit_bad, audit_ns;
	char     audit_msg[1024];
	/* (c) */
	bool      ran_c, c_built;
	uint64_t  c_leaves, c_build_ns, c_append_ns, c_batches, c_map_used;
	uint64_t  c_proofs;
	lat_stats c_pass[2]; /* first pass (fresh process), second pass */
	char      c_fs[32];
	uint64_t  c_verified, c_verify_fail, c_node_reads;
	sizes     c_rec;
} results;

static void
usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: tally-bench [options]\n"
	    "Measures the production append path of a Tally ledger.\n"
	    "  (a) batches of R records, one durable commit per batch, "
	    "against raw\n"
	    "      LMDB appends of the same record-leaf bytes, R per commit "
	    "(target\n"
	    "      production >= 40%% of raw);\n"
	    "  (b) single-record batches against 1/(t_commit + t_verify), "
	    "where\n"
	    "      t_commit is a raw durable one-value commit and t_verify "
	    "one Ed25519\n"
	    "      check (target >= 80%%, one commit per batch); also\n"
	    "      grouped G per commit, and ready-grouped: each commit takes\n"
	    "      the batches prepared while the last one synced;\n"
	    "  (c) inclusion proofs on a ledger of --proof-leaves leaves "
	    "built through\n"
	    "      ldg_append in batches of %d records (target p99 < 50 us);\n"
	    "  (d) only when asked: the disk's fdatasync time after k page\n"
	    "      writes, adjacent and scattered (what (b)'s commits pay).\n"
	    "options:\n"
	    "  --dir DIR          work here (default: a fresh "
	    "./bench-tmp-XXXXXX)\n"
	    "  --keep             keep the ledgers afterwards\n"
	    "  --batches N        (a) number of batches (default 50)\n"
	    "  --records R        (a) records per batch (default 1000)\n"
	    "  --group G          (b) also append them G per commit "
	    "(default 8)\n"
	    "  --threads T        threads of the append path "
	    "(ldg_opts.threads; "
	    "default: the CPUs online, 1: none)\n"
	    "  --single N         (b) number of single-record batches "
	    "(default 500)\n"
	    "  --proof-leaves N   (c) ledger size in leaves (default "
	    "10000000)\n"
	    "  --proofs N         (c) number of timed proofs (default "
	    "100000)\n"
	    "  --proof-dir DIR    (c) use the ledger in DIR if it exists, "
	    "else build\n"
	    "                     it there and keep it\n"
	    "  --parts LIST       which parts to run, e.g. ab, c or abd "
	    "(default abc)\n"
	    "  --quick            small sizes for CI smoke runs\n"
	    "  --json             print the results as one JSON object\n"
	    "  --help             this text\n",
	    PROOF_BATCH);
}

/* The work directory, named when a failure leaves it behind. */
static const char *work_dir;

static void
die(const char *what, cm_err rv, const cm_diag *d)
{
	fprintf(stderr, "tally-bench: %s: %s%s%s\n", what, cm_strerror(rv),
	        d && d->msg[0] ? ": " : "", d ? d->msg : "");
	if (work_dir != NULL)
		fprintf(stderr, "tally-bench: work directory kept: %s\n",
		        work_dir);
	exit(1);
}

static void
check(cm_err rv, const char *what, const cm_diag *d)
{
	if (rv != CM_OK)
		die(what, rv, d);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

/* Bytes this process has passed to write calls (wchar in /proc/self/io):
 * LMDB writes whole 4 KiB pages, so the difference over a run, divided by
 * its commits, is the pages each commit wrote.  0 when not available. */
static uint64_t
io_wchar(void)
{
	FILE              *f = fopen("/proc/self/io", "r");
	char               line[128];
	unsigned long long v = 0;

	if (f == NULL)
		return (0);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "wchar: %llu", &v) == 1)
			break;
	fclose(f);
	return ((uint64_t) v);
}

/* xorshift64*: reproducible, not for secrets. */
static uint64_t
rng_next(uint64_t *st)
{
	uint64_t x = *st;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return (x * 0x2545F4914F6CDD1DULL);
}

static uint64_t
rng_below(uint64_t *st, uint64_t n)
{
	return (rng_next(st) % n);
}

static void
sizes_add(sizes *z, uint64_t v)
{
	if (z->n == 0 || v < z->min)
		z->min = v;
	if (v > z->max)
		z->max = v;
	z->sum += v;
	z->n++;
}

static double
sizes_mean(const sizes *z)
{
	return (z->n ? (double) z->sum / (double) z->n : 0.0);
}

static int
u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

	return (x < y ? -1 : x > y);
}

/* The q-th percentile (0..100) of v[0..n), sorting v. */
static uint64_t
percentile(uint64_t *v, size_t n, unsigned q)
{
	if (n == 0)
		return (0);
	qsort(v, n, sizeof(*v), u64_cmp);
	return (v[(n - 1) * q / 100]);
}

static double
rate(uint64_t count, uint64_t ns)
{
	return (ns ? (double) count * 1e9 / (double) ns : 0.0);
}

/* ---- the machine ---- */

static void
fs_name(const char *dir, char *out, size_t cap)
{
	static const struct {
		unsigned long magic;
		const char   *name;
	} names[] = {{0xEF53, "ext4"},        {0x58465342, "xfs"},
	             {0x9123683E, "btrfs"},   {0x01021994, "tmpfs"},
	             {0x794C7630, "overlay"}, {0x2FC12FC1, "zfs"},
	             {0x6969, "nfs"},         {0x65735546, "fuse"},
	             {0xF2F52010, "f2fs"}};
	struct statfs st;

	if (statfs(dir, &st) != 0) {
		snprintf(out, cap, "unknown (%s)", strerror(errno));
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((unsigned long) st.f_type == names[i].magic) {
			snprintf(out, cap, "%s", names[i].name);
			return;
		}
	snprintf(out, cap, "0x%lx", (unsigned long) st.f_type);
}

static void
machine_describe(results *r, const char *dir)
{
	FILE          *f;
	char           line[512];
	struct utsname u;
	time_t         now = time(NULL);
	struct tm      tm;

	r->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(r->cpu, sizeof(r->cpu), "unknown");
	if ((f = fopen("/proc/cpuinfo", "r")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			char *colon = strchr(line, ':');

			if (strncmp(line, "model name", 10) != 0 ||
			    colon == NULL)
				continue;
			colon += strspn(colon + 1, " \t") + 1;
			colon[strcspn(colon, "\n")] = '\0';
			snprintf(r->cpu, sizeof(r->cpu), "%s", colon);
			break;
		}
		fclose(f);
	}
	if (uname(&u) == 0)
		snprintf(r->kernel, sizeof(r->kernel), "%s %s %s", u.sysname,
		         u.release, u.machine);
	gmtime_r(&now, &tm);
	strftime(r->date, sizeof(r->date), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fs_name(dir, r->fs, sizeof(r->fs));
}

/* LMDB environment flag names, for display only (values from lmdb.h,
 * which only ledger/ldg_lmdb.c includes). */
static void
env_flags_print(FILE *f, unsigned flags)
{
	static const struct {
		unsigned    bit;
		const char *name;
	} names[] = {{0x01, "FIXEDMAP"},      {0x4000, "NOSUBDIR"},
	             {0x10000, "NOSYNC"},     {0x20000, "RDONLY"},
	             {0x40000, "NOMETASYNC"}, {0x80000, "WRITEMAP"},
	             {0x100000, "MAPASYNC"},  {0x200000, "NOTLS"},
	             {0x400000, "NOLOCK"},    {0x800000, "NORDAHEAD"},
	             {0x1000000, "NOMEMINIT"}};
	const char *sep = "";

	fprintf(f, "0x%x (", flags);
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (flags & names[i].bit) {
			fprintf(f, "%sMDB_%s", sep, names[i].name);
			sep = "|";
		}
	fprintf(f, "%s)", *sep ? "" : "none");
}

/* ---- directories ---- */

static void
path_make(char *out, size_t cap, const char *dir, const char *name)
{
	if ((size_t) snprintf(out, cap, "%s/%s", dir, name) >= cap) {
		fprintf(stderr, "tally-bench: path too long: %s/%s\n", dir,
		        name);
		exit(1);
	}
}

/* Removes path and everything under it (no symlinks followed). */
static void
tree_remove(const char *path)
{
	struct stat    st;
	DIR           *dp;
	struct dirent *e;
	char           sub[PATH_MAX];

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && (dp = opendir(path)) != NULL) {
		while ((e = readdir(dp)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			path_make(sub, sizeof(sub), path, e->d_name);
			tree_remove(sub);
		}
		closedir(dp);
	}
	if (remove(path) != 0)
		fprintf(stderr, "tally-bench: cannot remove %s: %s\n", path,
		        strerror(errno));
}

static bool
file_exists(const char *path)
{
	struct stat st;

	return (stat(path, &st) == 0);
}

/* ---- records and batches ---- */

/* An attestation record by the enterprise about itself.  Full records
 * carry a JSON-like invoice body (about 300 bytes of CBOR in all); small
 * ones ({"n": serial}) are for building a large ledger. */
static void
record_make(bench_ledger *bl, bool small, cm_buf *out)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz ";
	char              json[1024], memo[128];
	cm_buf            body = {0};
	cm_cbor_wr        w;
	cm_diag           d;
	uint64_t          n = bl->nmade++;
	size_t            mlen;

	cm_diag_clear(&d);
	if (small) {
		snprintf(json, sizeof(json), "{\"n\":%llu}",
		         (unsigned long long) n);
	} else {
		mlen = 30 + (size_t) rng_below(&bl->rng, 51);
		for (size_t i = 0; i < mlen; i++)
			memo[i] = alpha[rng_below(&bl->rng, sizeof(alpha) - 1)];
		memo[mlen] = '\0';
		snprintf(
		    json, sizeof(json),
		    "{\"invoice\":\"INV-2024-%08llu\",\"amount_fen\":%llu,"
		    "\"currency\":\"CNY\",\"date\":\"2024-05-%02u\","
		    "\"buyer\":\"Fuzhou Bench Trading Co., Ltd.\","
		    "\"items\":[{\"sku\":\"SKU-%05u\",\"qty\":%u,"
		    "\"price_fen\":%u}],\"memo\":\"%s\"}",
		    (unsigned long long) n,
		    (unsigned long long) (100 + rng_below(&bl->rng, 10000000)),
		    (unsigned) (1 + n % 28),
		    (unsigned) rng_below(&bl->rng, 100000),
		    (unsigned) (1 + rng_below(&bl->rng, 500)),
		    (unsigned) (100 + rng_below(&bl->rng, 1000000)), memo);
	}
	check(cm_json_to_cbor(CM_BYTES(json, strlen(json)), &body, &d),
	      "record body", &d);
	/* Canonical key order: "t", then the 4-byte keys, then "subject". */
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, "tally/record/v1");
	cm_cbor_wr_cstr(&w, "body");
	cm_cbor_wr_raw(&w, cm_buf_bytes(&body));
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, "attestation");
	cm_cbor_wr_cstr(&w, "type");
	cm_cbor_wr_cstr(&w, small ? "bench.n" : "bench.invoice");
	cm_cbor_wr_cstr(&w, "subject");
	cm_cbor_wr_cstr(&w, BENCH_USCC);
	check(cm_cbor_wr_finish(&w, &d), "record encoding", &d);
	cm_buf_fini(&body);
}

/* Builds and signs the enterprise's next batch of nrec records into out
 * (reset first); record sizes go to z (may be NULL). */
static void
batch_make(bench_ledger *bl, size_t nrec, bool small, sizes *z, cm_buf *out)
{
	cm_buf    recs = {0};
	size_t   *offs = NULL;
	cm_bytes *views = NULL;
	cm_diag   d;

	cm_diag_clear(&d);
	if ((offs = cm_calloc(nrec + 1, sizeof(*offs))) == NULL ||
	    (views = cm_calloc(nrec, sizeof(*views))) == NULL)
		die("batch", CM_ENOMEM, NULL);
	for (size_t i = 0; i < nrec; i++) {
		offs[i] = recs.len;
		record_make(bl, small, &recs);
		if (z != NULL)
			sizes_add(z, recs.len - offs[i]);
	}
	offs[nrec] = recs.len;
	for (size_t i = 0; i < nrec; i++)
		views[i] = CM_BYTES(recs.p + offs[i], offs[i + 1] - offs[i]);
	cm_buf_reset(out);
	check(ldg_batch_build(bl->origin, bl->ent, bl->seq++, cm_now_ms(),
	                      views, nrec, out, &d),
	      "batch build", &d);
	cm_free(views);
	cm_free(offs);
	cm_buf_fini(&recs);
}

/* ldg_append of one batch (one durable commit); dies unless accepted.  The
 * receipt's header index and record count go to out_rc (may be NULL). */
static void
batch_append(bench_ledger *bl, cm_bytes batch, ldg_receipt *out_rc)
{
	ldg_receipt rc;
	cm_err      st = CM_OK, rv;
	cm_diag     d;

	memset(&rc, 0, sizeof(rc));
	cm_diag_clear(&d);
	rv = ldg_append(bl->s, &batch, 1, cm_now_ms(), &rc, &st, &d);
	if (rv != CM_OK)
		die("ldg_append", rv, &d);
	if (st != CM_OK)
		die("ldg_append refused the batch", st, &d);
	if (out_rc != NULL) {
		*out_rc = rc;
		memset(&out_rc->checkpoint, 0, sizeof(out_rc->checkpoint));
	}
	ldg_receipt_fini(&rc);
}

/* ldg_init, ldg_open, and the enterprise registered by the operator. */
static unsigned bench_threads; /* --threads */

static void
ledger_setup(bench_ledger *bl, const char *dir, uint64_t seed)
{
	ldg_id_register reg;
	cm_buf          pop = {0}, rec = {0}, batch = {0};
	ldg_txn        *t = NULL;
	uint8_t         op_pub[CM_PUBKEY_LEN], op_kid[CM_KEYID_LEN];
	uint64_t        op_seq;
	cm_bytes        rv_rec;
	cm_diag         d;

	memset(bl, 0, sizeof(*bl));
	cm_diag_clear(&d);
	snprintf(bl->dir, sizeof(bl->dir), "%s", dir);
	bl->rng = seed | 1;
	check(cm_key_generate(&bl->op), "operator key", NULL);
	check(cm_key_generate(&bl->ent), "enterprise key", NULL);
	check(ldg_init(dir, bl->op, NULL, NULL, NULL, 0, &d), "ldg_init", &d);
	{
		ldg_opts lo;

		memset(&lo, 0, sizeof(lo));
		lo.threads = bench_threads;
		check(ldg_open(dir, &lo, &bl->s, &d), "ldg_open", &d);
	}
	snprintf(bl->origin, sizeof(bl->origin), "%s", ldg_origin(bl->s));

	check(ldg_pop_make(bl->origin, bl->ent, &pop), "ldg_pop_make", NULL);
	memset(&reg, 0, sizeof(reg));
	reg.role = LDG_ROLE_ENTERPRISE;
	reg.name = "Fuzhou Bench Enterprise Co., Ltd.";
	reg.uscc = BENCH_USCC;
	reg.scopes = NULL;
	reg.nscopes = 0;
	cm_key_public(bl->ent, reg.pub);
	reg.pop = cm_buf_bytes(&pop);
	check(ldg_id_register_record(bl->origin, bl->op, &reg, &rec, &d),
	      "ldg_id_register_record", &d);
	cm_key_public(bl->op, op_pub);
	cm_key_id(op_pub, op_kid);
	check(ldg_read_begin(bl->s, &t), "read txn", NULL);
	check(ldg_next_seq(t, op_kid, &op_seq), "ldg_next_seq", NULL);
	ldg_txn_end(t);
	rv_rec = cm_buf_bytes(&rec);
	check(ldg_batch_build(bl->origin, bl->op, op_seq, cm_now_ms(), &rv_rec,
	                      1, &batch, &d),
	      "ldg_batch_build (register)", &d);
	batch_append(bl, cm_buf_bytes(&batch), NULL);
	bl->seq = 1;
	cm_buf_fini(&pop);
	cm_buf_fini(&rec);
	cm_buf_fini(&batch);
}

static void
ledger_close(bench_ledger *bl)
{
	ldg_close(bl->s);
	cm_key_free(bl->op);
	cm_key_free(bl->ent);
	bl->s = NULL;
	bl->op = bl->ent = NULL;
}

/* Copies leaves [first, first + n) of the ledger into one buffer; views in
 * *out_views (owned, cm_free) point into buf. */
static void
leaves_copy(bench_ledger *bl, const uint64_t *firsts, const uint64_t *counts,
            size_t nruns, cm_buf *buf, cm_bytes **out_views, size_t *out_n,
            sizes *z)
{
	ldg_txn  *t = NULL;
	size_t    total = 0, k = 0;
	size_t   *offs;
	cm_bytes *views;

	for (size_t i = 0; i < nruns; i++)
		total += counts[i];
	if ((offs = cm_calloc(total + 1, sizeof(*offs))) == NULL ||
	    (views = cm_calloc(total ? total : 1, sizeof(*views))) == NULL)
		die("leaves", CM_ENOMEM, NULL);
	check(ldg_read_begin(bl->s, &t), "read txn", NULL);
	for (size_t i = 0; i < nruns; i++)
		for (uint64_t j = 0; j < counts[i]; j++) {
			cm_bytes leaf;

			check(ldg_leaf_get(t, firsts[i] + j, &leaf),
			      "ldg_leaf_get", NULL);
			offs[k++] = buf->len;
			if (cm_buf_append(buf, leaf.p, leaf.len) != CM_OK)
				die("leaves", CM_ENOMEM, NULL);
			if (z != NULL)
				sizes_add(z, leaf.len);
		}
	ldg_txn_end(t);
	offs[total] = buf->len;
	for (size_t i = 0; i < total; i++)
		views[i] = CM_BYTES(buf->p + offs[i], offs[i + 1] - offs[i]);
	cm_free(offs);
	*out_views = views;
	*out_n = total;
}

/* The raw baseline for one round: the leaves of the given runs of the
 * ledger (sizes to z, may be NULL), appended per_commit per durable commit
 * into a fresh environment named name under root, then removed; adds the
 * time to *ns and the bytes written to *wr. */
static void
raw_round(bench_ledger *bl, const char *root, const char *name,
          const uint64_t *firsts, const uint64_t *counts, size_t nruns,
          size_t per_commit, sizes *z, uint64_t *ns, uint64_t *wr)
{
	char      dir[PATH_MAX];
	cm_buf    buf = {0};
	cm_bytes *leaves = NULL;
	size_t    n = 0;
	uint64_t  t = 0, w;
	cm_diag   d;

	cm_diag_clear(&d);
	leaves_copy(bl, firsts, counts, nruns, &buf, &leaves, &n, z);
	path_make(dir, sizeof(dir), root, name);
	w = io_wchar();
	check(ldg_bench_raw_append(dir, leaves, n, per_commit, &t, &d),
	      "ldg_bench_raw_append", &d);
	*wr += io_wchar() - w;
	*ns += t;
	tree_remove(dir);
	cm_free(leaves);
	cm_buf_fini(&buf);
}

/* ---- (b) pipelined: the writer commits batch i while a second thread
 * prepares batch i+1 (ldg_prepare), as tallyd's writer runs. ---- */

#define PIPE_DEPTH 2
#define ADAPT_MAX 64 /* (b) ready-grouped: at most this many per commit */

typedef struct pipe_ctx {
	ldg_store      *s;
	const cm_buf   *batches;
	size_t          n;
	ldg_prepared  **prep;
	size_t          depth; /* how far the producer may run ahead */
	size_t          produced, consumed;
	pthread_mutex_t mu;
	pthread_cond_t  cv;
} pipe_ctx;

static void *
pipe_producer(void *arg)
{
	pipe_ctx *pc = arg;

	for (size_t i = 0; i < pc->n; i++) {
		ldg_prepared *p = NULL;
		cm_diag       d;

		cm_diag_clear(&d);
		pthread_mutex_lock(&pc->mu);
		while (i >= pc->consumed + pc->depth)
			pthread_cond_wait(&pc->cv, &pc->mu);
		pthread_mutex_unlock(&pc->mu);
		check(ldg_prepare(pc->s, cm_buf_bytes(&pc->batches[i]), &p, &d),
		      "ldg_prepare", &d);
		pthread_mutex_lock(&pc->mu);
		pc->prep[i] = p;
		pc->produced = i + 1;
		pthread_cond_broadcast(&pc->cv);
		pthread_mutex_unlock(&pc->mu);
	}
	return (NULL);
}

/* Appends n batches with ldg_append_prepared while a second thread runs
 * ldg_prepare ahead.  With maxgroup 1, one batch (one durable commit) per
 * call; with more, each call takes every batch already prepared, up to
 * maxgroup, as tallyd's writer will (*out_calls: the calls made).  Returns
 * the elapsed ns. */
static uint64_t
pipe_run(ldg_store *s, const cm_buf *batches, size_t n, size_t maxgroup,
         uint64_t *out_calls)
{
	pipe_ctx     pc;
	pthread_t    th;
	uint64_t     t0, calls = 0;
	ldg_receipt *rc = cm_calloc(maxgroup, sizeof(*rc));
	cm_err      *st = cm_calloc(maxgroup, sizeof(*st));
	cm_diag     *d = cm_calloc(maxgroup, sizeof(*d));

	memset(&pc, 0, sizeof(pc));
	pc.s = s;
	pc.batches = batches;
	pc.n = n;
	pc.depth = maxgroup > PIPE_DEPTH ? maxgroup : PIPE_DEPTH;
	if ((pc.prep = cm_calloc(n, sizeof(*pc.prep))) == NULL || rc == NULL ||
	    st == NULL || d == NULL)
		die("pipelined", CM_ENOMEM, NULL);
	pthread_mutex_init(&pc.mu, NULL);
	pthread_cond_init(&pc.cv, NULL);
	t0 = now_ns();
	if (pthread_create(&th, NULL, pipe_producer, &pc) != 0)
		die("pipelined: pthread_create", CM_EIO, NULL);
	for (size_t i = 0, m; i < n; i += m) {
		pthread_mutex_lock(&pc.mu);
		while (pc.produced <= i)
			pthread_cond_wait(&pc.cv, &pc.mu);
		m = pc.produced - i < maxgroup ? pc.produced - i : maxgroup;
		pthread_mutex_unlock(&pc.mu);
		for (size_t j = 0; j < m; j++) {
			memset(&rc[j], 0, sizeof(rc[j]));
			cm_diag_clear(&d[j]);
		}
		check(ldg_append_prepared(s, &pc.prep[i], m, cm_now_ms(), rc,
		                          st, d),
		      "ldg_append_prepared", &d[0]);
		calls++;
		for (size_t j = 0; j < m; j++) {
			check(st[j], "pipelined batch", &d[j]);
			ldg_receipt_fini(&rc[j]);
			ldg_prepared_free(pc.prep[i + j]);
			pc.prep[i + j] = NULL;
		}
		pthread_mutex_lock(&pc.mu);
		pc.consumed = i + m;
		pthread_cond_broadcast(&pc.cv);
		pthread_mutex_unlock(&pc.mu);
	}
	t0 = now_ns() - t0;
	pthread_join(th, NULL);
	pthread_cond_destroy(&pc.cv);
	pthread_mutex_destroy(&pc.mu);
	cm_free(pc.prep);
	cm_free(rc);
	cm_free(st);
	cm_free(d);
	if (out_calls != NULL)
		*out_calls = calls;
	return (t0);
}

/* ---- (a) and (b) ---- */

static void
part_ab(const opts *o, const char *root, bool run_a, bool run_b, results *r)
{
	bench_ledger bl;
	char         ldir[PATH_MAX];
	cm_buf      *batches = NULL;
	uint64_t    *lat = NULL, *firsts = NULL, *counts = NULL;
	size_t       nb = (size_t) o->batches, nr = (size_t) o->records;
	size_t       ns = (size_t) o->single;
	ldg_stats    st;
	cm_diag      d;
	uint64_t     t0, wr;

	cm_diag_clear(&d);
	path_make(ldir, sizeof(ldir), root, "ledger-ab");
	ledger_setup(&bl, ldir, 0x7a11bE7c4ULL);
	check(ldg_stats_get(bl.s, &st), "ldg_stats_get", NULL);
	r->env_flags = st.env_flags;
	r->durable = st.durable;

	if (run_a) {
		/* Interleaved rounds, as in (b): each round appends its share
		 * of the batches, then the same leaf bytes raw, in a fresh
		 * environment, so both see the same state of the disk. */
		size_t rounds = nb >= B_ROUNDS ? B_ROUNDS : 1, done = 0;

		cm_buf *pb = cm_calloc(nb, sizeof(*pb));

		fprintf(stderr, "(a) signing %zu batches of %zu records...\n",
		        nb, nr);
		if (pb == NULL ||
		    (batches = cm_calloc(nb, sizeof(*batches))) == NULL ||
		    (lat = cm_calloc(nb, sizeof(*lat))) == NULL ||
		    (firsts = cm_calloc(nb, sizeof(*firsts))) == NULL ||
		    (counts = cm_calloc(nb, sizeof(*counts))) == NULL)
			die("(a)", CM_ENOMEM, NULL);
		fprintf(stderr,
		        "(a) %zu rounds of serial and pipelined appends, "
		        "then raw...\n",
		        rounds);
		for (size_t rd = 0; rd < rounds; rd++) {
			size_t k = nb / rounds + (rd < nb % rounds ? 1 : 0);

			/* Signed in the order they are appended (seq), outside
			 * the timed regions. */
			for (size_t i = done; i < done + k; i++) {
				batch_make(&bl, nr, false, &r->a_rec,
				           &batches[i]);
				sizes_add(&r->a_batch, batches[i].len);
			}
			t0 = now_ns();
			for (size_t i = done; i < done + k; i++) {
				ldg_receipt rc;
				uint64_t    b0 = now_ns();

				batch_append(&bl, cm_buf_bytes(&batches[i]),
				             &rc);
				lat[i] = now_ns() - b0;
				firsts[i] = rc.first_record;
				counts[i] = rc.nrecords;
			}
			r->a_ns += now_ns() - t0;
			/* Pipelined: the same number of batches again, the
			 * next one prepared on a second thread while the writer
			 * appends and commits this one. */
			for (size_t i = done; i < done + k; i++)
				batch_make(&bl, nr, false, NULL, &pb[i]);
			wr = io_wchar();
			r->a_pipe_ns += pipe_run(bl.s, pb + done, k, 1, NULL);
			r->a_pipe_wr += io_wchar() - wr;
			/* The raw baseline: the same record-leaf bytes, read
			 * back, R per durable commit. */
			raw_round(&bl, root, "raw-a", firsts + done,
			          counts + done, k, nr, &r->a_leaf,
			          &r->a_raw_ns, &r->a_raw_wr);
			done += k;
		}
		r->a_batches = nb;
		r->a_records = (uint64_t) nb * nr;
		r->a_max_ns = percentile(lat, nb, 100);
		r->a_p50_ns = percentile(lat, nb, 50);
		for (size_t i = 0; i < nb; i++) {
			cm_buf_fini(&batches[i]);
			cm_buf_fini(&pb[i]);
		}
		cm_free(batches);
		cm_free(pb);
		batches = NULL;
		r->ran_a = true;
	}

	if (run_b) {
		/* Interleaved rounds: each round measures serial, pipelined
		 * and grouped production appends, raw commits, verifies and
		 * signs back to back, so that the disk's drift (its flush time
		 * varies by 2x within minutes here) hits all of them alike. */
		uint8_t   pub[CM_PUBKEY_LEN], sig[CM_SIG_LEN], sig2[CM_SIG_LEN];
		uint8_t   msg[160];
		size_t    rounds = ns >= B_ROUNDS ? B_ROUNDS : 1, done = 0;
		size_t    g = (size_t) o->group;
		cm_bytes *gb = cm_calloc(g, sizeof(*gb));
		ldg_receipt *grc = cm_calloc(g, sizeof(*grc));
		cm_err      *gst = cm_calloc(g, sizeof(*gst));

		cm_free(lat);
		cm_free(firsts);
		cm_free(counts);
		if ((batches = cm_calloc(ns, sizeof(*batches))) == NULL ||
		    (lat = cm_calloc(ns, sizeof(*lat))) == NULL ||
		    (firsts = cm_calloc(ns, sizeof(*firsts))) == NULL ||
		    (counts = cm_calloc(ns, sizeof(*counts))) == NULL ||
		    gb == NULL || grc == NULL || gst == NULL)
			die("(b)", CM_ENOMEM, NULL);
		for (size_t i = 0; i < sizeof(msg); i++)
			msg[i] = (uint8_t) (i * 7 + 1);
		cm_key_public(bl.ent, pub);
		check(cm_sign(bl.ent, "batch-header",
		              CM_BYTES(msg, sizeof(msg)), sig),
		      "cm_sign", NULL);
		fprintf(stderr, "(b) %zu rounds of single-record batches...\n",
		        rounds);
		for (size_t rd = 0; rd < rounds; rd++) {
			size_t   k = ns / rounds + (rd < ns % rounds ? 1 : 0);
			uint64_t tv;

			/* Serial: one ldg_append (prepare, apply, sign,
			 * commit) after another. */
			for (size_t i = 0; i < k; i++)
				batch_make(&bl, 1, false, NULL, &batches[i]);
			t0 = now_ns();
			for (size_t i = 0; i < k; i++) {
				ldg_receipt rc;
				uint64_t    b0 = now_ns();

				batch_append(&bl, cm_buf_bytes(&batches[i]),
				             &rc);
				lat[done + i] = now_ns() - b0;
				firsts[done + i] = rc.first_record;
				counts[done + i] = rc.nrecords;
			}
			r->b_ns += now_ns() - t0;

			/* Pipelined: one commit each, the next prepared on a
			 * second thread. */
			for (size_t i = 0; i < k; i++)
				batch_make(&bl, 1, false, NULL, &batches[i]);
			wr = io_wchar();
			r->b_pipe_ns += pipe_run(bl.s, batches, k, 1, NULL);
			r->b_pipe_wr += io_wchar() - wr;

			/* Grouped: G per ldg_append, one commit per group, as
			 * tallyd's writer groups the batches that wait while
			 * a commit syncs. */
			for (size_t i = 0; i < k; i++)
				batch_make(&bl, 1, false, NULL, &batches[i]);
			t0 = now_ns();
			for (size_t i = 0; i < k; i += g) {
				size_t m = k - i < g ? k - i : g;

				for (size_t j = 0; j < m; j++)
					gb[j] = cm_buf_bytes(&batches[i + j]);
				check(ldg_append(bl.s, gb, m, cm_now_ms(), grc,
				                 gst, NULL),
				      "ldg_append (grouped)", NULL);
				for (size_t j = 0; j < m; j++) {
					check(gst[j], "grouped batch", NULL);
					ldg_receipt_fini(&grc[j]);
				}
			}
			r->b_group_ns += now_ns() - t0;

			/* Ready-grouped: pipelined, and each commit takes
			 * every batch prepared while the last one synced (at
			 * most ADAPT_MAX), as tallyd's writer will. */
			for (size_t i = 0; i < k; i++)
				batch_make(&bl, 1, false, NULL, &batches[i]);
			{
				uint64_t calls = 0;

				r->b_ready_ns += pipe_run(bl.s, batches, k,
				                          ADAPT_MAX, &calls);
				r->b_ready_calls += calls;
			}

			/* t_commit: raw durable commits of one value each,
			 * over this round's serial leaves. */
			raw_round(&bl, root, "raw-b", firsts + done,
			          counts + done, k, 1, NULL, &r->b_raw_ns,
			          &r->b_raw_wr);

			/* t_verify: one Ed25519 check of a header-sized
			 * message; t_sign: the checkpoint note each commit
			 * signs (not in the bound; shown for the gap). */
			tv = now_ns();
			for (int i = 0; i < VERIFY_ROUNDS / B_ROUNDS; i++)
				check(cm_verify(pub, "batch-header",
				                CM_BYTES(msg, sizeof(msg)),
				                sig),
				      "cm_verify", NULL);
			r->b_verify_ns += now_ns() - tv;
			tv = now_ns();
			for (int i = 0; i < VERIFY_ROUNDS / B_ROUNDS; i++)
				check(cm_sign_raw(bl.ent, CM_BYTES(msg, 100),
				                  sig2),
				      "cm_sign_raw", NULL);
			r->b_sign_ns += now_ns() - tv;
			for (size_t i = 0; i < k; i++)
				cm_buf_fini(&batches[i]);
			done += k;
		}
		r->b_verify_ns /=
		    (uint64_t) rounds * (VERIFY_ROUNDS / B_ROUNDS);
		r->b_sign_ns /= (uint64_t) rounds * (VERIFY_ROUNDS / B_ROUNDS);
		r->b_n = ns;
		r->b_group = g;
		r->b_max_ns = percentile(lat, ns, 100);
		r->b_p50_ns = percentile(lat, ns, 50);
		cm_free(gb);
		cm_free(grc);
		cm_free(gst);
		r->ran_b = true;
	}

	/* The audit replays every leaf into a scratch store. */
	{
		cm_buf report = {0};

		fprintf(stderr, "auditing the (a)/(b) ledger...\n");
		cm_diag_clear(&d);
		t0 = now_ns();
		r->audit_rv =
		    ldg_audit(bl.s, NULL, 0, &r->audit_bad, &report, &d);
		r->audit_ns = now_ns() - t0;
		r->audited = true;
		snprintf(r->audit_msg, sizeof(r->audit_msg), "%.*s%s%s",
		         (int) (report.len > 900 ? 900 : report.len),
		         report.p ? (const char *) report.p : "",
		         d.msg[0] ? " diag: " : "", d.msg);
		for (char *p = r->audit_msg; *p; p++)
			if (*p == '\n' || *p == '"' || *p == '\\')
				*p = ' ';
		cm_buf_fini(&report);
	}
	cm_free(batches);
	cm_free(lat);
	cm_free(firsts);
	cm_free(counts);
	ledger_close(&bl);
	if (!o->keep)
		tree_remove(ldir);
}

/* ---- (c) ---- */

static void
ledger_c_build(const char *dir, uint64_t target, results *r)
{
	bench_ledger bl;
	cm_buf       batch = {0};
	ldg_txn     *t = NULL;
	uint64_t     size, t0, last_report;

	ledger_setup(&bl, dir, 0xc0ffee11ULL);
	check(ldg_read_begin(bl.s, &t), "read txn", NULL);
	size = ldg_size(t);
	ldg_txn_end(t);
	t0 = last_report = now_ns();
	while (size + 2 <= target) {
		uint64_t    nrec = target - size - 1, a0;
		ldg_receipt rc;

		if (nrec > PROOF_BATCH)
			nrec = PROOF_BATCH;
		batch_make(&bl, (size_t) nrec, true, &r->c_rec, &batch);
		a0 = now_ns();
		batch_append(&bl, cm_buf_bytes(&batch), &rc);
		r->c_append_ns += now_ns() - a0;
		r->c_batches++;
		size = rc.first_record + rc.nrecords;
		if (now_ns() - last_report > 30000000000ULL) {
			last_report = now_ns();
			fprintf(stderr,
			        "(c) %llu leaves, %.0f s, %.0f leaves/s\n",
			        (unsigned long long) size,
			        (double) (last_report - t0) / 1e9,
			        rate(size, last_report - t0));
		}
	}
	r->c_build_ns = now_ns() - t0;
	r->c_built = true;
	cm_buf_fini(&batch);
	ledger_close(&bl);
}

/* Times n proofs of fresh random (index, past size) pairs. */
static void
proofs_time(ldg_txn *t, uint64_t size, size_t n, uint64_t *rng, uint64_t *idx,
            uint64_t *sz, uint64_t *lat, cm_buf *proof, lat_stats *out)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		sz[i] = 1 + rng_below(rng, size);
		idx[i] = rng_below(rng, sz[i]);
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t p0;
		cm_err   rv;

		cm_buf_reset(proof);
		p0 = now_ns();
		rv = ldg_prove_inclusion(t, idx[i], sz[i], proof);
		lat[i] = now_ns() - p0;
		check(rv, "ldg_prove_inclusion", NULL);
		sum += lat[i];
	}
	out->mean = n ? sum / n : 0;
	out->max = percentile(lat, n, 100);
	out->p99 = percentile(lat, n, 99);
	out->p50 = percentile(lat, n, 50);
}

/* (d) What a durable commit's page count costs on this disk: a 4 MiB file
 * of the bench's filesystem, then for each k, DISK_REPS times: k 4 KiB
 * pwrites (adjacent, or at pseudo-random page numbers) and one fdatasync,
 * the pattern of an LMDB commit's data pages.  Explains (b): a production
 * commit writes more pages than the raw one-value commit. */
static void
part_d(const char *root, results *r)
{
	enum { PAGES = 1024 };
	char     path[PATH_MAX];
	uint8_t  page[4096];
	uint64_t rng = 0x5eed;
	int      fd;

	path_make(path, sizeof(path), root, "disk-probe");
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		die("(d) open", CM_EIO, NULL);
	memset(page, 0x5a, sizeof(page));
	for (off_t i = 0; i < PAGES; i++)
		if (pwrite(fd, page, sizeof(page), i * 4096) != 4096)
			die("(d) pwrite", CM_EIO, NULL);
	if (fsync(fd) != 0)
		die("(d) fsync", CM_EIO, NULL);
	for (int scatter = 0; scatter < 2; scatter++) {
		for (size_t ki = 0; ki < DISK_K; ki++) {
			uint64_t t0 = now_ns();

			for (int rep = 0; rep < DISK_REPS; rep++) {
				off_t base =
				    (off_t) rng_below(&rng, PAGES - disk_k[ki]);

				for (unsigned j = 0; j < disk_k[ki]; j++) {
					off_t pg =
					    scatter
					        ? (off_t) rng_below(&rng, PAGES)
					        : base + (off_t) j;

					if (pwrite(fd, page, sizeof(page),
					           pg * 4096) != 4096)
						die("(d) pwrite", CM_EIO, NULL);
				}
				if (fdatasync(fd) != 0)
					die("(d) fdatasync", CM_EIO, NULL);
			}
			(scatter ? r->d_scatter_ns : r->d_contig_ns)[ki] =
			    (now_ns() - t0) / DISK_REPS;
		}
	}
	close(fd);
	unlink(path);
	r->ran_d = true;
}

static void
part_c(const opts *o, const char *root, results *r)
{
	char       ldir[PATH_MAX], data[PATH_MAX + 16];
	ldg_store *s = NULL;
	ldg_txn   *t = NULL;
	ldg_opts   lo;
	ldg_stats  st;
	cm_buf     proof = {0};
	uint64_t  *lat = NULL, *idx = NULL, *sz = NULL, size, rng = 0x5eed;
	size_t     n = (size_t) o->proofs, step;
	cm_diag    d;

	cm_diag_clear(&d);
	if (o->proof_dir != NULL)
		snprintf(ldir, sizeof(ldir), "%s", o->proof_dir);
	else
		path_make(ldir, sizeof(ldir), root, "ledger-c");
	snprintf(data, sizeof(data), "%s/data.mdb", ldir);
	if (!file_exists(data)) {
		fprintf(stderr, "(c) building a ledger of %lld leaves in %s\n",
		        o->proof_leaves, ldir);
		ledger_c_build(ldir, (uint64_t) o->proof_leaves, r);
	} else {
		fprintf(stderr, "(c) using the existing ledger in %s\n", ldir);
	}
	fs_name(ldir, r->c_fs, sizeof(r->c_fs));
	memset(&lo, 0, sizeof(lo));
	lo.readonly = true;
	check(ldg_open(ldir, &lo, &s, &d), "ldg_open (c)", &d);
	check(ldg_stats_get(s, &st), "ldg_stats_get", NULL);
	r->c_map_used = st.map_used;
	if ((lat = cm_calloc(n ? n : 1, sizeof(*lat))) == NULL ||
	    (idx = cm_calloc(n ? n : 1, sizeof(*idx))) == NULL ||
	    (sz = cm_calloc(n ? n : 1, sizeof(*sz))) == NULL)
		die("(c)", CM_ENOMEM, NULL);

	/* Timed: n proofs of random (index, past size) in one read txn,
	 * twice: the first pass also pays for first touches of the map. */
	check(ldg_read_begin(s, &t), "read txn", NULL);
	size = ldg_size(t);
	r->c_leaves = size;
	if (cm_buf_reserve(&proof, 64 * CM_HASH_LEN) != CM_OK)
		die("(c)", CM_ENOMEM, NULL);
	fprintf(stderr, "(c) timing 2 x %zu proofs on %llu leaves...\n", n,
	        (unsigned long long) size);
	proofs_time(t, size, n, &rng, idx, sz, lat, &proof, &r->c_pass[0]);
	r->c_node_reads = ldg_node_reads(t);
	proofs_time(t, size, n, &rng, idx, sz, lat, &proof, &r->c_pass[1]);
	r->c_proofs = n;

	/* Untimed: verify a sample against ldg_root_at. */
	step = n > VERIFY_SAMPLE ? n / VERIFY_SAMPLE : 1;
	for (size_t i = 0; i < n; i += step) {
		uint8_t  rt[CM_HASH_LEN], lh[CM_HASH_LEN];
		cm_bytes leaf;

		cm_buf_reset(&proof);
		check(ldg_prove_inclusion(t, idx[i], sz[i], &proof),
		      "ldg_prove_inclusion", NULL);
		check(ldg_leaf_get(t, idx[i], &leaf), "ldg_leaf_get", NULL);
		ldg_leaf_hash(leaf, lh);
		check(ldg_root_at(t, sz[i], rt), "ldg_root_at", NULL);
		if (ldg_verify_inclusion(lh, idx[i], sz[i], proof.p,
		                         proof.len / CM_HASH_LEN, rt) != CM_OK)
			r->c_verify_fail++;
		r->c_verified++;
	}
	ldg_txn_end(t);
	r->ran_c = true;
	cm_buf_fini(&proof);
	cm_free(lat);
	cm_free(idx);
	cm_free(sz);
	ldg_close(s);
	if (!o->keep && o->proof_dir == NULL)
		tree_remove(ldir);
}

/* ---- output ---- */

/* 4 KiB pages per commit from bytes written over n commits. */
static double
pages_per(uint64_t bytes, uint64_t n)
{
	return (n > 0 ? (double) bytes / 4096.0 / (double) n : 0.0);
}

static void
print_text(const opts *o, const results *r)
{
	printf("tally-bench  %s\n", r->date);
	printf("machine      %ld cpus, %s; %s\n", r->ncpu, r->cpu, r->kernel);
	printf("directory    %s (filesystem %s)\n", o->dir, r->fs);
	if (r->ran_c && o->proof_dir != NULL)
		printf("(c) ledger   %s (filesystem %s)\n", o->proof_dir,
		       r->c_fs);
	if (r->ran_a || r->ran_b) {
		printf("lmdb flags   ");
		env_flags_print(stdout, r->env_flags);
		printf("; durable: %s\n", r->durable ? "yes" : "NO");
	}
	if (r->ran_a) {
		double prod = rate(r->a_records, r->a_ns);
		double raw = rate(r->a_records, r->a_raw_ns);

		printf("\n(a) %llu batches x %lld records, one durable commit "
		       "per batch, serial and pipelined\n",
		       (unsigned long long) r->a_batches, o->records);
		printf("    record bytes   min %llu  mean %.1f  max %llu\n",
		       (unsigned long long) r->a_rec.min, sizes_mean(&r->a_rec),
		       (unsigned long long) r->a_rec.max);
		printf("    leaf bytes     min %llu  mean %.1f  max %llu\n",
		       (unsigned long long) r->a_leaf.min,
		       sizes_mean(&r->a_leaf),
		       (unsigned long long) r->a_leaf.max);
		printf("    batch bytes    mean %.0f\n",
		       sizes_mean(&r->a_batch));
		printf("    serial         %.0f records/s  (%.3f s; one "
		       "ldg_append after another; per batch "
		       "p50 %.2f ms, max %.2f ms)\n",
		       prod, (double) r->a_ns / 1e9, (double) r->a_p50_ns / 1e6,
		       (double) r->a_max_ns / 1e6);
		printf("    raw LMDB       %.0f records/s  (%.3f s; same leaf "
		       "bytes, %lld per commit)\n",
		       raw, (double) r->a_raw_ns / 1e9, o->records);
		printf("    serial ratio   %.1f%% of raw\n",
		       raw > 0 ? 100.0 * prod / raw : 0.0);
		if (r->a_pipe_ns > 0) {
			double pp = rate(r->a_records, r->a_pipe_ns);

			printf("    pipelined      %.0f records/s  (%.3f s; "
			       "ldg_prepare of the next batch on a second "
			       "thread, as tallyd's writer runs)\n",
			       pp, (double) r->a_pipe_ns / 1e9);
			printf("    ratio          %.1f%%  (pipelined; target "
			       ">= 40%%: %s)\n",
			       raw > 0 ? 100.0 * pp / raw : 0.0,
			       pp >= 0.4 * raw ? "met" : "MISSED");
			printf("    pages written  %.1f per production commit "
			       "(pipelined), %.1f per raw commit\n",
			       pages_per(r->a_pipe_wr, r->a_batches),
			       pages_per(r->a_raw_wr, r->a_batches));
		}
	}
	if (r->ran_b) {
		double tc = (double) r->b_raw_ns / (double) r->b_n;
		double tv = (double) r->b_verify_ns;
		double prod = rate(r->b_n, r->b_ns);
		double bound = 1e9 / (tc + tv);

		printf("\n(b) %llu single-record batches, one durable commit "
		       "each, serial and pipelined; then grouped, and "
		       "ready-grouped\n",
		       (unsigned long long) r->b_n);
		printf("    serial         %.1f batches/s  (%.3f s; one "
		       "ldg_append after another; p50 %.3f ms, max %.3f ms)\n",
		       prod, (double) r->b_ns / 1e9, (double) r->b_p50_ns / 1e6,
		       (double) r->b_max_ns / 1e6);
		printf("    t_commit       %.1f us  (raw durable one-value "
		       "commit)\n",
		       tc / 1e3);
		printf("    t_verify       %.1f us  (cm_verify, mean of %d)\n",
		       tv / 1e3, VERIFY_ROUNDS);
		printf("    1/(tc+tv)      %.1f /s\n", bound);
		printf(
		    "    t_sign         %.1f us  (cm_sign_raw: the checkpoint "
		    "note each commit signs; not in the bound)\n",
		    (double) r->b_sign_ns / 1e3);
		printf("    serial ratio   %.1f%% of 1/(tc+tv)\n",
		       100.0 * prod / bound);
		if (r->b_pipe_ns > 0) {
			double pp = rate(r->b_n, r->b_pipe_ns);

			printf(
			    "    pipelined      %.1f batches/s  (%.3f s; one "
			    "commit each; ldg_prepare of the next batch on "
			    "a second thread, as tallyd's writer runs)\n",
			    pp, (double) r->b_pipe_ns / 1e9);
			printf("    ratio          %.1f%%  (pipelined; target "
			       ">= 80%%: %s)\n",
			       100.0 * pp / bound,
			       pp >= 0.8 * bound ? "met" : "MISSED");
			printf("    pages written  %.1f per production commit "
			       "(pipelined), %.1f per raw commit\n",
			       pages_per(r->b_pipe_wr, r->b_n),
			       pages_per(r->b_raw_wr, r->b_n));
		}
		if (r->b_group > 0) {
			double gp = rate(r->b_n, r->b_group_ns);

			printf("    grouped        %.1f batches/s  (%llu "
			       "single-record batches per commit, as tallyd "
			       "groups waiting batches): %.1f%% of 1/(tc+tv)\n",
			       gp, (unsigned long long) r->b_group,
			       100.0 * gp / bound);
		}
		if (r->b_ready_calls > 0) {
			double rp = rate(r->b_n, r->b_ready_ns);

			printf("    ready-grouped  %.1f batches/s  (pipelined; "
			       "each commit takes the batches prepared while "
			       "the last synced, %.1f on average): %.1f%% of "
			       "1/(tc+tv)\n",
			       rp, (double) r->b_n / (double) r->b_ready_calls,
			       100.0 * rp / bound);
		}
	}
	if (r->ran_d) {
		printf(
		    "\n(d) the disk: one fdatasync after k 4 KiB page writes "
		    "(mean of %d, us)\n    k           ",
		    DISK_REPS);
		for (size_t i = 0; i < DISK_K; i++)
			printf("%8u", disk_k[i]);
		printf("\n    adjacent    ");
		for (size_t i = 0; i < DISK_K; i++)
			printf("%8.0f", (double) r->d_contig_ns[i] / 1e3);
		printf("\n    scattered   ");
		for (size_t i = 0; i < DISK_K; i++)
			printf("%8.0f", (double) r->d_scatter_ns[i] / 1e3);
		printf("\n");
	}
	if (r->audited)
		printf("\naudit        %s in %.2f s: %s\n",
		       cm_errname(r->audit_rv), (double) r->audit_ns / 1e9,
		       r->audit_msg);
	if (r->ran_c) {
		printf("\n(c) inclusion proofs on %llu leaves\n",
		       (unsigned long long) r->c_leaves);
		if (r->c_built)
			printf("    built through ldg_append: %llu batches of "
			       "<= %d records in %.1f s (%.1f s in "
			       "ldg_append; %.0f leaves/s); record bytes "
			       "min %llu mean %.1f max %llu\n",
			       (unsigned long long) r->c_batches, PROOF_BATCH,
			       (double) r->c_build_ns / 1e9,
			       (double) r->c_append_ns / 1e9,
			       rate(r->c_leaves, r->c_build_ns),
			       (unsigned long long) r->c_rec.min,
			       sizes_mean(&r->c_rec),
			       (unsigned long long) r->c_rec.max);
		printf("    map used       %.2f GiB\n",
		       (double) r->c_map_used / (double) (1ULL << 30));
		for (int i = 0; i < 2; i++)
			printf("    %s %llu proofs: p50 %.2f us  p99 %.2f us  "
			       "max %.2f us  mean %.2f us  (target p99 < 50 "
			       "us: %s)\n",
			       i == 0 ? "first pass " : "second pass",
			       (unsigned long long) r->c_proofs,
			       (double) r->c_pass[i].p50 / 1e3,
			       (double) r->c_pass[i].p99 / 1e3,
			       (double) r->c_pass[i].max / 1e3,
			       (double) r->c_pass[i].mean / 1e3,
			       r->c_pass[i].p99 < 50000 ? "met" : "MISSED");
		printf("    node reads     %.1f per proof\n",
		       r->c_proofs
		           ? (double) r->c_node_reads / (double) r->c_proofs
		           : 0.0);
		printf("    verified       %llu sample proofs against "
		       "ldg_root_at, %llu failed\n",
		       (unsigned long long) r->c_verified,
		       (unsigned long long) r->c_verify_fail);
	}
}

static void
print_json(const opts *o, const results *r)
{
	printf("{\"date\":\"%s\",\"ncpu\":%ld,\"cpu\":\"%s\",\"kernel\":\"%s\","
	       "\"dir\":\"%s\",\"fs\":\"%s\"",
	       r->date, r->ncpu, r->cpu, r->kernel, o->dir, r->fs);
	if (r->ran_a || r->ran_b)
		printf(",\"env_flags\":%u,\"durable\":%s", r->env_flags,
		       r->durable ? "true" : "false");
	if (r->ran_a)
		printf(
		    ",\"a\":{\"batches\":%llu,\"records_per_batch\":%lld,"
		    "\"record_bytes\":{\"min\":%llu,\"mean\":%.1f,"
		    "\"max\":%llu},\"leaf_bytes\":{\"min\":%llu,"
		    "\"mean\":%.1f,\"max\":%llu},\"prod_ns\":%llu,"
		    "\"raw_ns\":%llu,\"prod_records_per_s\":%.1f,"
		    "\"raw_records_per_s\":%.1f,\"serial_ratio\":%.4f,"
		    "\"batch_p50_ns\":%llu,\"batch_max_ns\":%llu,"
		    "\"pipelined_ns\":%llu,\"pipelined_records_per_s\":%.1f,"
		    "\"ratio\":%.4f,\"rounds\":%d,\"pages_per_commit\":%.1f,"
		    "\"raw_pages_per_commit\":%.1f}",
		    (unsigned long long) r->a_batches, o->records,
		    (unsigned long long) r->a_rec.min, sizes_mean(&r->a_rec),
		    (unsigned long long) r->a_rec.max,
		    (unsigned long long) r->a_leaf.min, sizes_mean(&r->a_leaf),
		    (unsigned long long) r->a_leaf.max,
		    (unsigned long long) r->a_ns,
		    (unsigned long long) r->a_raw_ns,
		    rate(r->a_records, r->a_ns),
		    rate(r->a_records, r->a_raw_ns),
		    r->a_raw_ns ? (double) r->a_raw_ns / (double) r->a_ns : 0.0,
		    (unsigned long long) r->a_p50_ns,
		    (unsigned long long) r->a_max_ns,
		    (unsigned long long) r->a_pipe_ns,
		    rate(r->a_records, r->a_pipe_ns),
		    r->a_pipe_ns ? (double) r->a_raw_ns / (double) r->a_pipe_ns
		                 : 0.0,
		    B_ROUNDS, pages_per(r->a_pipe_wr, r->a_batches),
		    pages_per(r->a_raw_wr, r->a_batches));
	if (r->ran_b) {
		double tc = (double) r->b_raw_ns / (double) r->b_n;
		double bound = 1e9 / (tc + (double) r->b_verify_ns);

		printf(",\"b\":{\"n\":%llu,\"prod_ns\":%llu,"
		       "\"prod_per_s\":%.2f,\"t_commit_ns\":%.0f,"
		       "\"t_verify_ns\":%llu,\"t_sign_ns\":%llu,"
		       "\"bound_per_s\":%.2f,"
		       "\"serial_ratio\":%.4f,\"p50_ns\":%llu,"
		       "\"max_ns\":%llu,\"pipelined_ns\":%llu,"
		       "\"pipelined_per_s\":%.2f,\"ratio\":%.4f,"
		       "\"group\":%llu,\"grouped_ns\":%llu,"
		       "\"grouped_per_s\":%.2f,\"rounds\":%d,"
		       "\"pages_per_commit\":%.1f,"
		       "\"raw_pages_per_commit\":%.1f,"
		       "\"ready_grouped_ns\":%llu,"
		       "\"ready_grouped_per_s\":%.2f,"
		       "\"ready_grouped_mean_group\":%.2f}",
		       (unsigned long long) r->b_n,
		       (unsigned long long) r->b_ns, rate(r->b_n, r->b_ns), tc,
		       (unsigned long long) r->b_verify_ns,
		       (unsigned long long) r->b_sign_ns, bound,
		       rate(r->b_n, r->b_ns) / bound,
		       (unsigned long long) r->b_p50_ns,
		       (unsigned long long) r->b_max_ns,
		       (unsigned long long) r->b_pipe_ns,
		       rate(r->b_n, r->b_pipe_ns),
		       rate(r->b_n, r->b_pipe_ns) / bound,
		       (unsigned long long) r->b_group,
		       (unsigned long long) r->b_group_ns,
		       rate(r->b_n, r->b_group_ns), B_ROUNDS,
		       pages_per(r->b_pipe_wr, r->b_n),
		       pages_per(r->b_raw_wr, r->b_n),
		       (unsigned long long) r->b_ready_ns,
		       rate(r->b_n, r->b_ready_ns),
		       r->b_ready_calls
		           ? (double) r->b_n / (double) r->b_ready_calls
		           : 0.0);
	}
	if (r->ran_d) {
		printf(",\"d\":{\"reps\":%d,\"k\":[", DISK_REPS);
		for (size_t i = 0; i < DISK_K; i++)
			printf("%s%u", i ? "," : "", disk_k[i]);
		printf("],\"adjacent_ns\":[");
		for (size_t i = 0; i < DISK_K; i++)
			printf("%s%llu", i ? "," : "",
			       (unsigned long long) r->d_contig_ns[i]);
		printf("],\"scattered_ns\":[");
		for (size_t i = 0; i < DISK_K; i++)
			printf("%s%llu", i ? "," : "",
			       (unsigned long long) r->d_scatter_ns[i]);
		printf("]}");
	}
	if (r->audited)
		printf(",\"audit\":{\"result\":\"%s\",\"ns\":%llu,"
		       "\"report\":\"%s\"}",
		       cm_errname(r->audit_rv),
		       (unsigned long long) r->audit_ns, r->audit_msg);
	if (r->ran_c)
		printf(",\"c\":{\"leaves\":%llu,\"built\":%s,\"build_ns\":%llu,"
		       "\"append_ns\":%llu,\"batches\":%llu,"
		       "\"map_used\":%llu,\"proofs\":%llu,\"p50_ns\":%llu,"
		       "\"p99_ns\":%llu,\"max_ns\":%llu,\"mean_ns\":%llu,"
		       "\"second\":{\"p50_ns\":%llu,\"p99_ns\":%llu,"
		       "\"max_ns\":%llu,\"mean_ns\":%llu},"
		       "\"node_reads_per_proof\":%.2f,"
		       "\"verified\":%llu,\"verify_failed\":%llu}",
		       (unsigned long long) r->c_leaves,
		       r->c_built ? "true" : "false",
		       (unsigned long long) r->c_build_ns,
		       (unsigned long long) r->c_append_ns,
		       (unsigned long long) r->c_batches,
		       (unsigned long long) r->c_map_used,
		       (unsigned long long) r->c_proofs,
		       (unsigned long long) r->c_pass[0].p50,
		       (unsigned long long) r->c_pass[0].p99,
		       (unsigned long long) r->c_pass[0].max,
		       (unsigned long long) r->c_pass[0].mean,
		       (unsigned long long) r->c_pass[1].p50,
		       (unsigned long long) r->c_pass[1].p99,
		       (unsigned long long) r->c_pass[1].max,
		       (unsigned long long) r->c_pass[1].mean,
		       r->c_proofs
		           ? (double) r->c_node_reads / (double) r->c_proofs
		           : 0.0,
		       (unsigned long long) r->c_verified,
		       (unsigned long long) r->c_verify_fail);
	printf("}\n");
}

/* ---- main ---- */

static long long
arg_count(const char *name, const char *v, long long min)
{
	char     *end;
	long long n;

	errno = 0;
	n = v ? strtoll(v, &end, 10) : 0;
	if (v == NULL || errno != 0 || *end != '\0' || end == v || n < min) {
		fprintf(stderr, "tally-bench: %s needs a number >= %lld\n",
		        name, min);
		exit(2);
	}
	return (n);
}

static void
opts_parse(int argc, char **argv, opts *o)
{
	memset(o, 0, sizeof(*o));
	o->batches = o->records = o->single = -1;
	o->group = 8;
	o->proof_leaves = o->proofs = -1;
	snprintf(o->parts, sizeof(o->parts), "abc");
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			exit(0);
		} else if (strcmp(a, "--keep") == 0) {
			o->keep = true;
		} else if (strcmp(a, "--json") == 0) {
			o->json = true;
		} else if (strcmp(a, "--quick") == 0) {
			o->quick = true;
		} else if (strcmp(a, "--dir") == 0 && v != NULL) {
			o->dir = v;
			i++;
		} else if (strcmp(a, "--proof-dir") == 0 && v != NULL) {
			o->proof_dir = v;
			i++;
		} else if (strcmp(a, "--parts") == 0 && v != NULL &&
		           strlen(v) < sizeof(o->parts) &&
		           strspn(v, "abcd") == strlen(v)) {
			snprintf(o->parts, sizeof(o->parts), "%s", v);
			i++;
		} else if (strcmp(a, "--batches") == 0) {
			o->batches = arg_count(a, v, 1);
			i++;
		} else if (strcmp(a, "--records") == 0) {
			o->records = arg_count(a, v, 1);
			i++;
		} else if (strcmp(a, "--single") == 0) {
			o->single = arg_count(a, v, 1);
			i++;
		} else if (strcmp(a, "--group") == 0) {
			o->group = arg_count(a, v, 1);
			i++;
		} else if (strcmp(a, "--threads") == 0) {
			o->threads = arg_count(a, v, 1);
			bench_threads = (unsigned) o->threads;
			i++;
		} else if (strcmp(a, "--proof-leaves") == 0) {
			o->proof_leaves = arg_count(a, v, 4);
			i++;
		} else if (strcmp(a, "--proofs") == 0) {
			o->proofs = arg_count(a, v, 1);
			i++;
		} else {
			fprintf(stderr, "tally-bench: bad argument %s\n", a);
			usage(stderr);
			exit(2);
		}
	}
	if (o->batches < 0)
		o->batches = o->quick ? 3 : 50;
	if (o->records < 0)
		o->records = o->quick ? 200 : 1000;
	if (o->single < 0)
		o->single = o->quick ? 20 : 500;
	if (o->proof_leaves < 0)
		o->proof_leaves = o->quick ? 30000 : 10000000;
	if (o->proofs < 0)
		o->proofs = o->quick ? 2000 : 100000;
	if (o->records > 10000) {
		fprintf(stderr, "tally-bench: --records is at most 10000 (the "
		                "ledger's max_records)\n");
		exit(2);
	}
}

int
main(int argc, char **argv)
{
	opts    o;
	results r;
	char    tmpl[] = "./bench-tmp-XXXXXX";
	bool    made_root = false;
	bool    run_a, run_b, run_c;
	cm_diag d;
	int     status = 0;

	opts_parse(argc, argv, &o);
	memset(&r, 0, sizeof(r));
	cm_diag_clear(&d);
	check(ldg_uscc_check(CM_BYTES(BENCH_USCC, strlen(BENCH_USCC)), &d),
	      "the benchmark USCC", &d);
	if (o.dir == NULL) {
		if (mkdtemp(tmpl) == NULL) {
			fprintf(stderr, "tally-bench: mkdtemp: %s\n",
			        strerror(errno));
			return (1);
		}
		o.dir = tmpl;
		made_root = true;
	} else if (mkdir(o.dir, 0700) == 0) {
		made_root = true;
	} else if (errno != EEXIST) {
		fprintf(stderr, "tally-bench: cannot create %s: %s\n", o.dir,
		        strerror(errno));
		return (1);
	}
	work_dir = o.dir;
	machine_describe(&r, o.dir);
	run_a = strchr(o.parts, 'a') != NULL;
	run_b = strchr(o.parts, 'b') != NULL;
	run_c = strchr(o.parts, 'c') != NULL;
	if (run_a || run_b)
		part_ab(&o, o.dir, run_a, run_b, &r);
	if (strchr(o.parts, 'd') != NULL)
		part_d(o.dir, &r);
	if (run_c)
		part_c(&o, o.dir, &r);
	if (o.json)
		print_json(&o, &r);
	else
		print_text(&o, &r);
	if (made_root && !o.keep)
		tree_remove(o.dir);
	if ((r.audited && r.audit_rv != CM_OK) || r.c_verify_fail != 0 ||
	    ((run_a || run_b) && !r.durable))
		status = 1;
	return (status);
}
