/* SPDX-License-Identifier: MIT */
/* tests/crash/crashshim_test.c -- shows that tests/crash/crashshim.so works,
 * using LMDB and plain files directly (test-only).  Run as `crashshim_test
 * SHIM.so`; it re-executes itself as `crashshim_test --child DIR N MODE`
 * under LD_PRELOAD=SHIM.so, and checks kill points, the recovered prefix of
 * commits, the "accepted before sync" check, and the power-loss model:
 * unsynced pages dropped or torn, unsynced names undone, synced ones kept.
 * Skips under ASan. */
#define _GNU_SOURCE /* O_DSYNC's friends, nftw */
#include "tests/tst.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <lmdb.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define CST_ASAN 1
#endif
#ifdef CST_ASAN
static const int cst_asan = 1;
#else
static const int cst_asan = 0;
#endif

#define NCOMMITS 5

static char  cst_shim[4096]; /* absolute path of the shim */
static char  cst_self[4096]; /* absolute path of this program */
static char  cst_root[64];   /* mkdtemp directory */
static char *cst_dirs[1024]; /* every env dir made, for cleanup */
static int   cst_ndirs;

/* ---- the children ------------------------------------------------------ */

#define PG 4096

/* fsync of path (a directory); 0 or errno. */
static int
dir_sync(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY), rc = 0;

	if (fd < 0 || fsync(fd) != 0)
		rc = errno;
	if (fd >= 0)
		close(fd);
	return (rc);
}

/* n pages of c at off (-1: at the fd's offset); 0 or errno. */
static int
pages_write(int fd, int n, char c, off_t off)
{
	static char buf[8 * PG];
	size_t      len = (size_t) n * PG;
	ssize_t     w;

	memset(buf, c, len);
	w = off < 0 ? write(fd, buf, len) : pwrite(fd, buf, len, off);
	return (w == (ssize_t) len ? 0 : EIO);
}

/* The file modes: what a program does to DIR's files (made by the
 * parent: f, 4 pages of 'a'; a, 1 page of 'x') before it exits. */
static int
child_files(const char *dir, const char *mode)
{
	char path[256], path2[256];
	int  fd = -1, rc = 0;

	snprintf(path, sizeof(path), "%s/f", dir);
	if (strncmp(mode, "mkfile", 6) == 0) {
		snprintf(path, sizeof(path), "%s/sub", dir);
		snprintf(path2, sizeof(path2), "%s/sub/f", dir);
		if (mkdir(path, 0700) != 0 ||
		    (fd = open(path2, O_WRONLY | O_CREAT | O_EXCL, 0600)) < 0 ||
		    (rc = pages_write(fd, 1, 'A', -1)) != 0 ||
		    (rc = pages_write(fd, 1, 'B', -1)) != 0 ||
		    (rc = pages_write(fd, 1, 'C', -1)) != 0 || fsync(fd) != 0)
			rc = rc ? rc : errno;
		if (rc == 0 && strcmp(mode, "mkfile+dirsync") == 0 &&
		    ((rc = dir_sync(path)) != 0 || (rc = dir_sync(dir)) != 0))
			rc = errno;
	} else if (strncmp(mode, "overwrite", 9) == 0) {
		int fl = O_WRONLY;

		if (strcmp(mode, "overwrite+dsync") == 0)
			fl |= O_DSYNC;
		if ((fd = open(path, fl)) < 0 ||
		    (rc = pages_write(fd, 4, 'B', 0)) != 0)
			rc = rc ? rc : errno;
		if (rc == 0 && strcmp(mode, "overwrite+fsync") == 0 &&
		    fsync(fd) != 0)
			rc = errno;
	} else if (strcmp(mode, "append") == 0) {
		if ((fd = open(path, O_WRONLY | O_APPEND)) < 0 ||
		    (rc = pages_write(fd, 2, 'N', -1)) != 0)
			rc = rc ? rc : errno;
	} else if (strcmp(mode, "trunc") == 0) {
		if ((fd = open(path, O_WRONLY)) < 0 || ftruncate(fd, PG) != 0)
			rc = errno;
	} else if (strncmp(mode, "rename", 6) == 0) {
		snprintf(path, sizeof(path), "%s/a", dir);
		snprintf(path2, sizeof(path2), "%s/b", dir);
		if (rename(path, path2) != 0)
			rc = errno;
		if (rc == 0 && strcmp(mode, "rename+sync") == 0)
			rc = dir_sync(dir);
	} else if (strcmp(mode, "unlink") == 0) {
		if (unlink(path) != 0)
			rc = errno;
	} else {
		rc = EINVAL;
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0) {
		fprintf(stderr, "child: %s: %s\n", mode, strerror(rc));
		return (1);
	}
	printf("done\n");
	return (0);
}

/* The file modes, space-separated (with spaces at both ends). */
#define FILE_MODES                                                             \
	" mkfile mkfile+dirsync overwrite overwrite+dsync overwrite+fsync "    \
	"append trunc rename rename+sync unlink "

/* The LMDB modes: N commits, "accepted i" on stdout after each. */

static int
child_main(const char *dir, int n, const char *mode)
{
	MDB_env     *env = NULL;
	MDB_txn     *txn = NULL;
	MDB_dbi      dbi;
	unsigned int flags = 0;
	int          rc;

	if (strncmp(mode, "nosync", 6) == 0)
		flags |= MDB_NOSYNC;
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_open(env, dir, flags, 0600)) != 0)
		goto out;
	/* A careful program syncs the directory that LMDB created data.mdb
	 * in; "sync-nodirsync" shows what happens when it does not. */
	if (strcmp(mode, "sync-nodirsync") != 0 && (rc = dir_sync(dir)) != 0)
		goto out;
	for (int i = 0; i < n; i++) {
		char    key[16], line[32];
		MDB_val k, v;
		int     len;

		snprintf(key, sizeof(key), "k%04d", i);
		k.mv_data = key;
		k.mv_size = strlen(key);
		v.mv_data = key;
		v.mv_size = strlen(key);
		if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
		    (rc = mdb_dbi_open(txn, NULL, 0, &dbi)) != 0 ||
		    (rc = mdb_put(txn, dbi, &k, &v, 0)) != 0)
			goto out;
		rc = mdb_txn_commit(txn);
		txn = NULL;
		if (rc != 0)
			goto out;
		if (strcmp(mode, "nosync+sync") == 0 &&
		    (rc = mdb_env_sync(env, 1)) != 0)
			goto out;
		len = snprintf(
		    line, sizeof(line), "%s %d\n",
		    strcmp(mode, "nosync-quiet") == 0 ? "done" : "accepted", i);
		if (write(STDOUT_FILENO, line, (size_t) len) != len) {
			rc = EIO;
			goto out;
		}
	}
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	if (rc != 0)
		fprintf(stderr, "child: %s\n", mdb_strerror(rc));
	return (rc == 0 ? 0 : 1);
}

/* ---- the parent ------------------------------------------------------- */

/* A fresh env dir under cst_root; returned path is owned by cst_dirs. */
static const char *
dir_new(void)
{
	char buf[128];

	if (cst_ndirs == (int) (sizeof(cst_dirs) / sizeof(cst_dirs[0])))
		return (NULL);
	snprintf(buf, sizeof(buf), "%s/e%d", cst_root, cst_ndirs);
	if (mkdir(buf, 0700) != 0)
		return (NULL);
	cst_dirs[cst_ndirs] = strdup(buf);
	return (cst_dirs[cst_ndirs++]);
}

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void) st;
	(void) flag;
	(void) ftw;
	return (remove(path) != 0 ? 0 : 0); /* best effort */
}

static void
dirs_remove(void)
{
	for (int i = 0; i < cst_ndirs; i++)
		free(cst_dirs[i]);
	cst_ndirs = 0;
	if (cst_root[0] != '\0')
		nftw(cst_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Runs the child in dir with TALLY_CRASH_AT=at ("0": never; "exit"), skip as
 * TALLY_CRASH_SKIP, and TALLY_CRASH_POWER=power (NULL: SIGKILL only) with
 * TALLY_CRASH_SEED=seed.  Returns the wait status, or -1.  stdout goes to
 * dir/out.txt, stderr to dir/err.txt. */
static int
child_run(const char *dir, int n, const char *mode, const char *at,
          unsigned long skip, const char *power, unsigned long seed)
{
	char  path[256], num[32], sk[32], sd[32];
	pid_t pid;
	int   status;

	if ((pid = fork()) < 0)
		return (-1);
	if (pid == 0) {
		int out, err;

		snprintf(path, sizeof(path), "%s/out.txt", dir);
		out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		snprintf(path, sizeof(path), "%s/err.txt", dir);
		err = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 ||
		    dup2(err, STDERR_FILENO) < 0)
			_exit(97);
		close(out);
		close(err);
		snprintf(path, sizeof(path), "%s/count", dir);
		snprintf(num, sizeof(num), "%d", n);
		snprintf(sk, sizeof(sk), "%lu", skip);
		snprintf(sd, sizeof(sd), "%lu", seed);
		if (setenv("LD_PRELOAD", cst_shim, 1) != 0 ||
		    setenv("TALLY_CRASH_COUNT_FILE", path, 1) != 0 ||
		    setenv("TALLY_CRASH_AT", at, 1) != 0 ||
		    setenv("TALLY_CRASH_SKIP", sk, 1) != 0 ||
		    setenv("TALLY_CRASH_SEED", sd, 1) != 0 ||
		    (power != NULL &&
		     setenv("TALLY_CRASH_POWER", power, 1) != 0))
			_exit(97);
		execl(cst_self, cst_self, "--child", dir, num, mode,
		      (char *) NULL);
		_exit(96);
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return (-1);
	}
	return (status);
}

/* child_run with SIGKILL at the crash_at-th counted call (0: never). */
static int
child_kill(const char *dir, int n, const char *mode, unsigned long crash_at,
           unsigned long skip)
{
	char at[32];

	snprintf(at, sizeof(at), "%lu", crash_at);
	return (child_run(dir, n, mode, at, skip, NULL, 0));
}

/* child_run with a power loss (power "drop" or "torn") at counted call k
 * (0: as the child exits). */
static int
child_power(const char *dir, int n, const char *mode, unsigned long k,
            const char *power, unsigned long seed)
{
	char at[32];

	snprintf(at, sizeof(at), "%lu", k);
	return (child_run(dir, n, mode, k ? at : "exit", 0, power, seed));
}

/* The first line of dir/name as a number, or -1. */
static long
file_number(const char *dir, const char *name)
{
	char  path[256];
	FILE *f;
	long  v = -1;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return (v);
}

/* Counts lines of dir/name that contain needle. */
static int
file_grep(const char *dir, const char *name, const char *needle)
{
	char  path[256], line[256];
	FILE *f;
	int   n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, needle) != NULL;
	fclose(f);
	return (n);
}

/* Reopens the env in dir (read-write, as recovery would) and returns how
 * many keys k0000.. form a prefix, or -1 if the env cannot be opened or
 * holds anything that is not such a prefix. */
static int
env_prefix(const char *dir)
{
	MDB_env    *env = NULL;
	MDB_txn    *txn = NULL;
	MDB_cursor *cur = NULL;
	MDB_dbi     dbi;
	MDB_val     k, v;
	int         n = 0, rc;

	if (mdb_env_create(&env) != 0 || mdb_env_open(env, dir, 0, 0600) != 0 ||
	    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0 ||
	    mdb_dbi_open(txn, NULL, 0, &dbi) != 0 ||
	    mdb_cursor_open(txn, dbi, &cur) != 0) {
		n = -1;
		goto out;
	}
	for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
		char want[16];

		snprintf(want, sizeof(want), "k%04d", n);
		if (k.mv_size != strlen(want) ||
		    memcmp(k.mv_data, want, k.mv_size) != 0 ||
		    v.mv_size != k.mv_size ||
		    memcmp(v.mv_data, want, v.mv_size) != 0) {
			n = -1;
			goto out;
		}
		n++;
	}
	if (rc != MDB_NOTFOUND)
		n = -1;
out:
	mdb_cursor_close(cur);
	if (txn != NULL)
		mdb_txn_abort(txn);
	mdb_env_close(env);
	return (n);
}

static long cst_count = -1; /* kill points of one durable run */

/* The count is positive and the same on two identical runs. */
static void
test_count_stable(void)
{
	const char *d1 = dir_new(), *d2 = dir_new();
	int         st;

	TST_TRUE(d1 != NULL && d2 != NULL);
	if (d1 == NULL || d2 == NULL)
		return;
	st = child_kill(d1, NCOMMITS, "sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	st = child_kill(d2, NCOMMITS, "sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	cst_count = file_number(d1, "count");
	TST_TRUE(cst_count > 0);
	/* At least a write, a sync and a meta write per commit. */
	TST_TRUE(cst_count >= 3 * NCOMMITS);
	TST_EQ_U(file_number(d2, "count"), cst_count);
	TST_EQ_U(file_grep(d1, "out.txt", "accepted"), NCOMMITS);
	TST_EQ_U(env_prefix(d1), NCOMMITS);
}

/* TALLY_CRASH_SKIP=3: three fewer counted calls, and kill point k is the
 * unskipped run's k + 3. */
static void
test_skip(void)
{
	const char *d1 = dir_new(), *d2 = dir_new(), *d3 = dir_new();
	int         st;

	TST_TRUE(cst_count > 4);
	TST_TRUE(d1 != NULL && d2 != NULL && d3 != NULL);
	if (cst_count <= 4 || d1 == NULL || d2 == NULL || d3 == NULL)
		return;
	st = child_kill(d1, NCOMMITS, "sync", 0, 3);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TST_EQ_U(file_number(d1, "count"), cst_count - 3);
	st = child_kill(d2, NCOMMITS, "sync", 1, 3);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(file_number(d2, "count"), 1);
	st = child_kill(d3, NCOMMITS, "sync", 4, 0);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(file_grep(d2, "out.txt", "accepted"),
	         file_grep(d3, "out.txt", "accepted"));
	TST_EQ_U(env_prefix(d2), env_prefix(d3));
}

/* Killing at every point leaves a reopenable env holding a prefix of the
 * commits: every acknowledged one, at most one more, growing with k. */
static void
test_kill_every_point(void)
{
	int prev = 0, last = -1;

	TST_TRUE(cst_count > 0);
	for (long k = 1; k <= cst_count; k++) {
		const char *dir = dir_new();
		int         st, got, acked;

		TST_TRUE(dir != NULL);
		if (dir == NULL)
			return;
		st = child_kill(dir, NCOMMITS, "sync", (unsigned long) k, 0);
		TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
		TST_EQ_U(file_number(dir, "count"), k);
		got = env_prefix(dir);
		acked = file_grep(dir, "out.txt", "accepted");
		TST_TRUE(got >= 0);
		TST_TRUE(got >= acked && got <= acked + 1);
		TST_TRUE(got >= prev);
		if (tst_case_failed) {
			fprintf(stderr, "  k=%ld: %d commits, %d accepted\n", k,
			        got, acked);
			return;
		}
		prev = got;
		last = got;
	}
	/* The last kill point comes after the last commit's data. */
	TST_TRUE(last >= NCOMMITS - 1);
	/* Past the last point the run completes. */
	{
		const char *dir = dir_new();
		int         st;

		TST_TRUE(dir != NULL);
		if (dir == NULL)
			return;
		st = child_kill(dir, NCOMMITS, "sync",
		                (unsigned long) cst_count + 1, 0);
		TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
		TST_EQ_U(env_prefix(dir), NCOMMITS);
	}
}

/* "accepted" after an unsynced write to data.mdb ends the child with 99. */
static void
test_sync_order(void)
{
	static const char msg[] =
	    "crashshim: acceptance printed before data.mdb was synced";
	const char *dir;
	int         st;

	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_kill(dir, NCOMMITS, "nosync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 99);
	TST_EQ_U(file_grep(dir, "err.txt", msg), 1);
	TST_EQ_U(file_grep(dir, "out.txt", "accepted"), 0);

	/* Durable commits: no complaint. */
	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_kill(dir, NCOMMITS, "sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TST_EQ_U(file_grep(dir, "err.txt", msg), 0);

	/* MDB_NOSYNC plus an explicit sync before printing: no complaint. */
	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_kill(dir, NCOMMITS, "nosync+sync", 0, 0);
	TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	TST_EQ_U(file_grep(dir, "err.txt", msg), 0);
	TST_EQ_U(file_grep(dir, "out.txt", "accepted"), NCOMMITS);
}

/* ---- power loss ------------------------------------------------------- */

/* Makes dir/name: n pages of c. */
static int
file_fill(const char *dir, const char *name, int n, char c)
{
	char path[256];
	int  fd, rc;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) < 0)
		return (errno);
	rc = pages_write(fd, n, c, -1);
	close(fd);
	return (rc);
}

/* What dir/name holds, a character a page: the page's byte if all its
 * bytes are the same, '0' for zeros, '?' if mixed; "-" if absent, "!" if
 * its size is not whole pages.  Returned in a static buffer. */
static const char *
file_pages(const char *dir, const char *name)
{
	static char   out[64];
	unsigned char page[PG];
	char          path[256];
	struct stat   st;
	int           fd, n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fd = open(path, O_RDONLY)) < 0)
		return ("-");
	if (fstat(fd, &st) != 0 || st.st_size % PG != 0) {
		close(fd);
		return ("!");
	}
	while (n < (int) sizeof(out) - 1 &&
	       read(fd, page, PG) == (ssize_t) PG) {
		char c = (char) page[0];

		for (int i = 1; i < PG; i++) {
			if (page[i] != page[0])
				c = '?';
		}
		out[n++] = c == '\0' ? '0' : c;
	}
	out[n] = '\0';
	close(fd);
	return (out);
}

/* Runs file mode `mode` on a fresh dir (f = "aaaa", a = "x") with a power
 * loss at exit; returns the dir, or NULL if the child did not end as a
 * power loss does (SIGKILL, "done" printed). */
static const char *
file_run(const char *mode, const char *power, unsigned long seed)
{
	const char *dir = dir_new();
	int         st;

	if (dir == NULL || file_fill(dir, "f", 4, 'a') != 0 ||
	    file_fill(dir, "a", 1, 'x') != 0)
		return (NULL);
	st = child_power(dir, 1, mode, 0, power, seed);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(file_grep(dir, "out.txt", "done"), 1);
	return (dir);
}

/* A file mode's run with a power loss (power NULL: SIGKILL) at exit
 * leaves name holding want (as file_pages shows it). */
typedef struct file_case {
	const char *mode, *power, *name, *want;
} file_case;

static void
cases_check(const file_case *c, size_t n)
{
	for (size_t i = 0; i < n && !tst_case_failed; i++) {
		const char *dir = file_run(c[i].mode, c[i].power, 0);

		TST_TRUE(dir != NULL);
		if (dir != NULL)
			TST_EQ_STR(file_pages(dir, c[i].name), c[i].want);
		if (tst_case_failed)
			fprintf(stderr, "  %s, %s: %s\n", c[i].mode,
			        c[i].power ? c[i].power : "kill", c[i].name);
	}
}

/* A name is durable once its directory is synced, not before; SIGKILL
 * alone keeps every name. */
static void
test_power_names(void)
{
	static const file_case cases[] = {
	    {"mkfile", "drop", "sub", "-"},
	    {"mkfile", NULL, "sub/f", "ABC"},
	    {"mkfile+dirsync", "drop", "sub/f", "ABC"},
	    {"rename", "drop", "a", "x"},
	    {"rename", "drop", "b", "-"},
	    {"rename+sync", "drop", "a", "-"},
	    {"rename+sync", "drop", "b", "x"},
	    {"unlink", "drop", "f", "aaaa"},
	    {"unlink", NULL, "f", "-"},
	};

	cases_check(cases, sizeof(cases) / sizeof(cases[0]));
}

/* Unsynced pages are lost (drop) or lost page by page (torn: each page
 * whole, the same for the same seed, both outcomes over seeds); synced and
 * O_DSYNC pages stay; a file that grew or shrank gets its synced size
 * back (torn: pages past it are kept or zero). */
static void
test_power_pages(void)
{
	static const file_case cases[] = {
	    {"overwrite", "drop", "f", "aaaa"},
	    {"overwrite", NULL, "f", "BBBB"},
	    {"overwrite+fsync", "drop", "f", "BBBB"},
	    {"overwrite+dsync", "drop", "f", "BBBB"},
	    {"append", "drop", "f", "aaaa"},
	    {"trunc", "drop", "f", "aaaa"},
	    {"trunc", NULL, "f", "a"},
	};
	const char *dir;
	char        first[64] = "";
	int         kept = 0, lost = 0;

	cases_check(cases, sizeof(cases) / sizeof(cases[0]));
	for (unsigned long seed = 1; seed <= 8; seed++) {
		const char *got;

		if ((dir = file_run("overwrite", "torn", seed)) == NULL)
			break;
		got = file_pages(dir, "f");
		TST_EQ_U(strlen(got), 4);
		TST_EQ_U(strspn(got, "aB"), 4);
		for (const char *c = got; *c != '\0'; c++) {
			kept += *c == 'B';
			lost += *c == 'a';
		}
		if (seed == 1)
			snprintf(first, sizeof(first), "%s", got);
	}
	TST_TRUE(kept > 0 && lost > 0);
	TST_TRUE((dir = file_run("overwrite", "torn", 1)) != NULL);
	if (dir != NULL)
		TST_EQ_STR(file_pages(dir, "f"), first);
	for (unsigned long seed = 1; seed <= 8; seed++) {
		const char *got;

		if ((dir = file_run("append", "torn", seed)) == NULL)
			break;
		got = file_pages(dir, "f");
		TST_TRUE(
		    strcmp(got, "aaaa") == 0 || strcmp(got, "aaaaN") == 0 ||
		    strcmp(got, "aaaa0N") == 0 || strcmp(got, "aaaaNN") == 0);
	}
}

/* A power loss (drop, and torn seeded by the point) at every kill point
 * of the LMDB run, and at exit: a reopenable env with every acknowledged
 * commit, at most one more. */
static void
test_power_every_point(void)
{
	static const char *const powers[] = {"drop", "torn"};
	int                      torn_invalid = 0;

	TST_TRUE(cst_count > 0);
	for (long k = 0; k <= cst_count; k++) {
		for (int p = 0; p < 2; p++) {
			const char *dir = dir_new();
			int         st, got, acked;

			TST_TRUE(dir != NULL);
			if (dir == NULL)
				return;
			st = child_power(dir, NCOMMITS, "sync",
			                 (unsigned long) k, powers[p],
			                 (unsigned long) k);
			TST_TRUE(st >= 0 && WIFSIGNALED(st) &&
			         WTERMSIG(st) == SIGKILL);
			got = env_prefix(dir);
			acked = file_grep(dir, "out.txt", "accepted");
			/* Until the first commit syncs it, data.mdb holds
			 * LMDB's two meta pages unsynced: torn, they leave a
			 * file LMDB refuses (MDB_INVALID), as it should. */
			TST_TRUE(got >= 0 || (acked == 0 && p == 1));
			TST_TRUE(got < 0 || (got >= acked && got <= acked + 1));
			torn_invalid += got < 0;
			if (k == 0)
				TST_EQ_U(got, NCOMMITS);
			if (tst_case_failed) {
				fprintf(stderr,
				        "  k=%ld %s: %d commits, %d accepted\n",
				        k, powers[p], got, acked);
				return;
			}
		}
	}
	/* The seeds 1..count tear the first commit at least once. */
	TST_TRUE(torn_invalid > 0);
}

/* What the model catches that SIGKILL cannot: commits that were never
 * synced (MDB_NOSYNC), and a data.mdb whose directory was never synced,
 * are gone after a power loss even though the program finished. */
static void
test_power_lmdb(void)
{
	const char *dir;
	int         st;

	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_power(dir, NCOMMITS, "nosync-quiet", 0, "drop", 0);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(file_grep(dir, "out.txt", "done"), NCOMMITS);
	TST_EQ_U(env_prefix(dir), 0);

	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_run(dir, NCOMMITS, "nosync-quiet", "exit", 0, NULL, 0);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(env_prefix(dir), NCOMMITS);

	TST_TRUE((dir = dir_new()) != NULL);
	if (dir == NULL)
		return;
	st = child_power(dir, NCOMMITS, "sync-nodirsync", 0, "drop", 0);
	TST_TRUE(st >= 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
	TST_EQ_U(file_grep(dir, "out.txt", "accepted"), NCOMMITS);
	TST_EQ_STR(file_pages(dir, "data.mdb"), "-");
	TST_EQ_U(env_prefix(dir), 0);
}

/* TALLY_CRASH_FAIL=k: the k-th counted call fails with EIO and the
 * program goes on; every acknowledged commit stays, and each point fails
 * the run (LMDB reports the error) instead of killing it. */
static void
test_fail_points(void)
{
	TST_TRUE(cst_count > 0);
	for (long k = 1; k <= cst_count; k++) {
		const char *dir = dir_new();
		char        at[32];
		int         st, got, acked;

		TST_TRUE(dir != NULL);
		if (dir == NULL)
			return;
		snprintf(at, sizeof(at), "%ld", k);
		if (setenv("TALLY_CRASH_FAIL", at, 1) != 0)
			return;
		st = child_kill(dir, NCOMMITS, "sync", 0, 0);
		unsetenv("TALLY_CRASH_FAIL");
		got = env_prefix(dir);
		acked = file_grep(dir, "out.txt", "accepted");
		TST_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1);
		TST_EQ_U(file_grep(dir, "err.txt", "child: Input/output error"),
		         1);
		TST_TRUE(acked < NCOMMITS);
		TST_TRUE(got >= acked);
		if (tst_case_failed) {
			fprintf(stderr, "  k=%ld: %d commits, %d accepted\n", k,
			        got, acked);
			return;
		}
	}
}

int
main(int argc, char **argv)
{
	static const tst_case cases[] = {
	    TST_CASE(test_count_stable),      TST_CASE(test_skip),
	    TST_CASE(test_kill_every_point),  TST_CASE(test_sync_order),
	    TST_CASE(test_power_names),       TST_CASE(test_power_pages),
	    TST_CASE(test_power_every_point), TST_CASE(test_power_lmdb),
	    TST_CASE(test_fail_points)};
	int rv;

	if (argc == 5 && strcmp(argv[1], "--child") == 0) {
		char word[64];

		snprintf(word, sizeof(word), " %s ", argv[4]);
		return (strstr(FILE_MODES, word) != NULL
		            ? child_files(argv[2], argv[4])
		            : child_main(argv[2], atoi(argv[3]), argv[4]));
	}
	/* A preloaded library and ASan do not mix; the debug run covers it. */
	if (cst_asan)
		return (tst_run(argv[0], cases, 0));
	if (argc != 2) {
		fprintf(stderr, "usage: %s SHIM.so\n", argv[0]);
		return (2);
	}
	if (realpath(argv[1], cst_shim) == NULL ||
	    realpath("/proc/self/exe", cst_self) == NULL) {
		fprintf(stderr, "%s: cannot resolve %s\n", argv[0], argv[1]);
		return (2);
	}
	snprintf(cst_root, sizeof(cst_root), "/tmp/crashshim.XXXXXX");
	if (mkdtemp(cst_root) == NULL) {
		perror("mkdtemp");
		return (2);
	}
	rv = tst_run(argv[0], cases, sizeof(cases) / sizeof(cases[0]));
	dirs_remove();
	return (rv);
}
