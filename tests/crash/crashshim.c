/* SPDX-License-Identifier: MIT */
/* tests/crash/crashshim.c -- test-only LD_PRELOAD library: simulated power
 * loss just before the N-th write or sync to a regular file, and a check
 * that a program never prints "accepted" while data.mdb has unsynced writes.
 * Never linked into a program.  Usage is in tests/crash/crashshim_test.c and
 * in the lead's notes; environment:
 *   TALLY_CRASH_AT=N          SIGKILL instead of the N-th counted call
 *   TALLY_CRASH_SKIP=M        the first M eligible calls are not counted
 *   TALLY_CRASH_COUNT_FILE=p  write the number of counted calls to p at
 *                             exit and when killing (the killed call counts)
 * Counted calls: write, pwrite, pwrite64, writev, pwritev, pwritev64 to a
 * regular file other than fd 1 and 2; fsync and fdatasync of a regular file
 * or directory; sync_file_range of a regular file; every msync; rename. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

typedef ssize_t (*write_fn)(int, const void *, size_t);
typedef ssize_t (*pwrite_fn)(int, const void *, size_t, off_t);
typedef ssize_t (*pwrite64_fn)(int, const void *, size_t, off64_t);
typedef ssize_t (*writev_fn)(int, const struct iovec *, int);
typedef ssize_t (*pwritev_fn)(int, const struct iovec *, int, off_t);
typedef ssize_t (*pwritev64_fn)(int, const struct iovec *, int, off64_t);
typedef int (*fsync_fn)(int);
typedef int (*msync_fn)(void *, size_t, int);
typedef int (*sfr_fn)(int, off64_t, off64_t, unsigned int);
typedef int (*rename_fn)(const char *, const char *);

static struct {
	write_fn     write;
	pwrite_fn    pwrite;
	pwrite64_fn  pwrite64;
	writev_fn    writev;
	pwritev_fn   pwritev;
	pwritev64_fn pwritev64;
	fsync_fn     fsync;
	fsync_fn     fdatasync;
	msync_fn     msync;
	sfr_fn       sync_file_range;
	rename_fn    rename;
} real;

static unsigned long shim_seen;  /* eligible calls, skipped ones too */
static unsigned long shim_skip;  /* TALLY_CRASH_SKIP */
static unsigned long shim_at;    /* TALLY_CRASH_AT, 0 = never */
static const char   *shim_count; /* TALLY_CRASH_COUNT_FILE or NULL */

/* Files named data.mdb, by inode, and whether each has writes that no
 * completed fsync/fdatasync has covered yet.  Writes through an O_DSYNC fd
 * (LMDB's meta-page fd) are durable when they return, so they do not
 * count as unsynced. */
#define SHIM_NDATA 16
static struct {
	dev_t dev;
	ino_t ino;
	int   dirty;
} shim_data[SHIM_NDATA];
static int shim_ndata;

/* dlsym returns void *; converting that to a function pointer is not ISO C,
 * so copy the bits. */
static void
sym_load(void *dst, size_t len, const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "crashshim: dlsym(%s) failed\n", name);
		_exit(98);
	}
	memcpy(dst, &p, len);
}

static unsigned long
env_number(const char *name)
{
	const char *s = getenv(name);

	return (s != NULL ? strtoul(s, NULL, 10) : 0);
}

__attribute__((constructor)) static void
shim_init(void)
{
	if (real.write != NULL)
		return;
	sym_load(&real.pwrite, sizeof(real.pwrite), "pwrite");
	sym_load(&real.pwrite64, sizeof(real.pwrite64), "pwrite64");
	sym_load(&real.writev, sizeof(real.writev), "writev");
	sym_load(&real.pwritev, sizeof(real.pwritev), "pwritev");
	sym_load(&real.pwritev64, sizeof(real.pwritev64), "pwritev64");
	sym_load(&real.fsync, sizeof(real.fsync), "fsync");
	sym_load(&real.fdatasync, sizeof(real.fdatasync), "fdatasync");
	sym_load(&real.msync, sizeof(real.msync), "msync");
	sym_load(&real.sync_file_range, sizeof(real.sync_file_range),
	         "sync_file_range");
	sym_load(&real.rename, sizeof(real.rename), "rename");
	shim_skip = env_number("TALLY_CRASH_SKIP");
	shim_at = env_number("TALLY_CRASH_AT");
	shim_count = getenv("TALLY_CRASH_COUNT_FILE");
	/* Last: real.write != NULL means "initialised". */
	sym_load(&real.write, sizeof(real.write), "write");
}

static unsigned long
count_now(void)
{
	unsigned long seen = __atomic_load_n(&shim_seen, __ATOMIC_SEQ_CST);

	return (seen > shim_skip ? seen - shim_skip : 0);
}

static void
count_save(void)
{
	char buf[32];
	int  fd, len;

	if (shim_count == NULL || real.write == NULL)
		return;
	len = snprintf(buf, sizeof(buf), "%lu\n", count_now());
	fd = open(shim_count, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	if (real.write(fd, buf, (size_t) len) != len)
		fprintf(stderr, "crashshim: cannot write %s\n", shim_count);
	close(fd);
}

__attribute__((destructor)) static void
shim_fini(void)
{
	count_save();
}

/* Counts one eligible call; does not return if it is the one to crash. */
static void
call_count(void)
{
	unsigned long seen =
	    __atomic_add_fetch(&shim_seen, 1, __ATOMIC_SEQ_CST);

	if (shim_at == 0 || seen <= shim_skip || seen - shim_skip != shim_at)
		return;
	count_save();
	kill(getpid(), SIGKILL);
	for (;;)
		pause();
}

/* 1 if fd is a regular file (or, when dirs, a directory) other than fd 1
 * and 2. */
static int
fd_counted(int fd, int dirs)
{
	struct stat st;

	if (fd == STDOUT_FILENO || fd == STDERR_FILENO || fstat(fd, &st) != 0)
		return (0);
	return (S_ISREG(st.st_mode) || (dirs && S_ISDIR(st.st_mode)));
}

/* The shim_data slot for fd if it is open on a file named data.mdb, else
 * -1. */
static int
data_slot(int fd)
{
	char        link[64], path[4096];
	ssize_t     n;
	struct stat st;
	int         i;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 9 || fstat(fd, &st) != 0)
		return (-1);
	path[n] = '\0';
	if (strcmp(path + n - 9, "/data.mdb") != 0)
		return (-1);
	for (i = 0; i < shim_ndata; i++) {
		if (shim_data[i].dev == st.st_dev &&
		    shim_data[i].ino == st.st_ino)
			return (i);
	}
	if (shim_ndata == SHIM_NDATA)
		return (-1);
	shim_data[i].dev = st.st_dev;
	shim_data[i].ino = st.st_ino;
	shim_data[i].dirty = 0;
	shim_ndata++;
	return (i);
}

/* Before a write of any kind to fd. */
static void
write_before(int fd)
{
	shim_init();
	if (fd_counted(fd, 0))
		call_count();
}

/* After a write to fd that wrote something. */
static void
write_after(int fd, ssize_t rv)
{
	int slot, fl;

	if (rv <= 0 || fd == STDOUT_FILENO || fd == STDERR_FILENO)
		return;
	if ((slot = data_slot(fd)) < 0)
		return;
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & (O_DSYNC | O_SYNC)) != 0)
		return;
	shim_data[slot].dirty = 1;
}

/* After a completed fsync/fdatasync of fd. */
static void
sync_after(int fd, int rv)
{
	int slot;

	if (rv == 0 && (slot = data_slot(fd)) >= 0)
		shim_data[slot].dirty = 0;
}

/* On a write to stdout: refuse an acceptance that is not yet durable. */
static void
stdout_check(int fd, const void *buf, size_t len)
{
	if (fd != STDOUT_FILENO || buf == NULL ||
	    memmem(buf, len, "accepted", 8) == NULL)
		return;
	for (int i = 0; i < shim_ndata; i++) {
		if (shim_data[i].dirty) {
			static const char msg[] =
			    "crashshim: acceptance printed "
			    "before data.mdb was synced\n";

			if (real.write(STDERR_FILENO, msg, sizeof(msg) - 1) < 0)
				_exit(99);
			_exit(99);
		}
	}
}

static void
stdout_checkv(int fd, const struct iovec *iov, int n)
{
	for (int i = 0; fd == STDOUT_FILENO && i < n; i++)
		stdout_check(fd, iov[i].iov_base, iov[i].iov_len);
}

ssize_t
write(int fd, const void *buf, size_t len)
{
	ssize_t rv;

	write_before(fd);
	stdout_check(fd, buf, len);
	rv = real.write(fd, buf, len);
	write_after(fd, rv);
	return (rv);
}

ssize_t
pwrite(int fd, const void *buf, size_t len, off_t off)
{
	ssize_t rv;

	write_before(fd);
	stdout_check(fd, buf, len);
	rv = real.pwrite(fd, buf, len, off);
	write_after(fd, rv);
	return (rv);
}

ssize_t
pwrite64(int fd, const void *buf, size_t len, off64_t off)
{
	ssize_t rv;

	write_before(fd);
	stdout_check(fd, buf, len);
	rv = real.pwrite64(fd, buf, len, off);
	write_after(fd, rv);
	return (rv);
}

ssize_t
writev(int fd, const struct iovec *iov, int n)
{
	ssize_t rv;

	write_before(fd);
	stdout_checkv(fd, iov, n);
	rv = real.writev(fd, iov, n);
	write_after(fd, rv);
	return (rv);
}

ssize_t
pwritev(int fd, const struct iovec *iov, int n, off_t off)
{
	ssize_t rv;

	write_before(fd);
	stdout_checkv(fd, iov, n);
	rv = real.pwritev(fd, iov, n, off);
	write_after(fd, rv);
	return (rv);
}

ssize_t
pwritev64(int fd, const struct iovec *iov, int n, off64_t off)
{
	ssize_t rv;

	write_before(fd);
	stdout_checkv(fd, iov, n);
	rv = real.pwritev64(fd, iov, n, off);
	write_after(fd, rv);
	return (rv);
}

int
fsync(int fd)
{
	int rv;

	shim_init();
	if (fd_counted(fd, 1))
		call_count();
	rv = real.fsync(fd);
	sync_after(fd, rv);
	return (rv);
}

int
fdatasync(int fd)
{
	int rv;

	shim_init();
	if (fd_counted(fd, 1))
		call_count();
	rv = real.fdatasync(fd);
	sync_after(fd, rv);
	return (rv);
}

/* Not a durable sync (no disk cache flush), so it clears nothing. */
int
sync_file_range(int fd, off64_t off, off64_t len, unsigned int flags)
{
	shim_init();
	if (fd_counted(fd, 0))
		call_count();
	return (real.sync_file_range(fd, off, len, flags));
}

int
msync(void *addr, size_t len, int flags)
{
	shim_init();
	call_count();
	return (real.msync(addr, len, flags));
}

int
rename(const char *from, const char *to)
{
	shim_init();
	call_count();
	return (real.rename(from, to));
}
