/* SPDX-License-Identifier: MIT */
/* tests/crash/crashshim_power.c -- the power-loss model of crashshim.so
 * (test-only).  For every regular file the process writes it keeps what
 * the file held at its last completed fsync/fdatasync (the durable size
 * and, for each 4096-byte page written since, the page as it was), and for
 * every directory the name changes made since that directory's last fsync.
 * pw_fail() puts that durable state back on disk, in the process, before
 * the shim kills it: pages written since their sync are put back (PW_DROP)
 * or put back or kept page by page (PW_TORN, from a seeded generator), and
 * the unsynced name changes are undone (PW_TORN keeps a prefix of them, as
 * a journalling file system commits them in order).  Writes through an
 * O_DSYNC/O_SYNC descriptor (LMDB's meta page) are durable when they
 * return.  lock.mdb is not modelled: LMDB rebuilds it on open.  The rest
 * of the design, and its limits: tests/crash/README.md. */
#define _GNU_SOURCE
#include "tests/crash/crashshim.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PW_PAGE 4096
#define PW_MAXBYTES ((size_t) 1 << 30) /* copies held, all told */

int pw_mode;

typedef struct pw_page {
	uint64_t       no;
	unsigned char *b; /* the page at the last sync, zeros past dsize;
	                   * NULL: the page lies wholly past dsize */
} pw_page;

typedef struct pw_file {
	dev_t dev;
	ino_t ino;
	int   fd;       /* O_RDWR, never closed: reads and puts back pages
	                 * and keeps the inode from being reused */
	int      skip;  /* lock.mdb */
	int      dirty; /* written since its last sync */
	off_t    dsize; /* size at the last sync (when dirty) */
	pw_page *pages; /* sorted by no */
	size_t   n, cap;
} pw_file;

typedef struct pw_dir {
	dev_t dev;
	ino_t ino;
	int   fd; /* O_RDONLY directory, never closed: undo works by inode
	           * even after the directory was renamed */
} pw_dir;

#define PW_OLD_NONE 0
#define PW_OLD_FILE 1
#define PW_OLD_DIR 2

struct pw_op {
	pw_kind kind;
	int     d1, d2; /* directories of n1 and n2 (rename, link) */
	char   *n1, *n2;
	int     pend1, pend2; /* until d1 / d2 is fsynced */
	int     old;          /* what n1 (unlink, rmdir) or n2
	                       * (rename's target) held before */
	mode_t         mode;
	unsigned char *bytes; /* PW_OLD_FILE: its durable content */
	size_t         len;
};

static pw_file          **pw_files;
static size_t             pw_nfiles, pw_capfiles;
static pw_dir            *pw_dirs;
static size_t             pw_ndirs, pw_capdirs;
static pw_op            **pw_ops;
static size_t             pw_nops, pw_capops;
static size_t             pw_held; /* bytes of page and file copies */
static unsigned long long pw_rng;

void
pw_setup(int mode, unsigned long long seed)
{
	pw_mode = mode;
	pw_rng = seed;
}

/* splitmix64: the same seed tears the same pages in the same run. */
static uint64_t
rng_next(void)
{
	uint64_t z = (pw_rng += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return (z ^ (z >> 31));
}

static void *
xalloc(size_t n)
{
	void *p = calloc(1, n > 0 ? n : 1);

	if (p == NULL)
		shim_die("out of memory");
	return (p);
}

static void
held_add(size_t n)
{
	pw_held += n;
	if (pw_held > PW_MAXBYTES)
		shim_die("more than %zu bytes of unsynced data to model",
		         PW_MAXBYTES);
}

/* p (of *cap elements of size bytes) with room for need; the old pointer
 * is invalid after the call. */
static void *
grow(void *p, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ? *cap : 16;

	if (need <= *cap)
		return (p);
	while (n < need)
		n *= 2;
	if ((p = realloc(p, n * size)) == NULL)
		shim_die("out of memory");
	*cap = n;
	return (p);
}

/* Reads up to len bytes at off (fewer past the end: zeros). */
static void
read_at(int fd, unsigned char *buf, size_t len, off_t off)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = pread(fd, buf + got, len - got, off + (off_t) got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			shim_die("pread: %s", strerror(errno));
		if (r == 0)
			break;
		got += (size_t) r;
	}
	memset(buf + got, 0, len - got);
}

static void
write_at(int fd, const unsigned char *buf, size_t len, off_t off)
{
	while (len > 0) {
		ssize_t r = real.pwrite(fd, buf, len, off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			shim_die("restoring a page: %s", strerror(errno));
		buf += r;
		len -= (size_t) r;
		off += r;
	}
}

static int
name_is(const char *path, const char *base)
{
	size_t n = strlen(path), m = strlen(base);

	return (n >= m && strcmp(path + n - m, base) == 0 &&
	        (n == m || path[n - m - 1] == '/'));
}

/* ---- files ---- */

static pw_file *
file_find(dev_t dev, ino_t ino)
{
	for (size_t i = 0; i < pw_nfiles; i++) {
		if (pw_files[i]->dev == dev && pw_files[i]->ino == ino)
			return (pw_files[i]);
	}
	return (NULL);
}

/* The model of the regular file open on fd (made on first sight: what it
 * holds then is taken as durable), or NULL if fd is not a regular file. */
static pw_file *
file_get(int fd)
{
	char        link[64], path[4096];
	struct stat st;
	pw_file    *f;
	ssize_t     n;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return (NULL);
	if ((f = file_find(st.st_dev, st.st_ino)) != NULL)
		return (f);
	f = xalloc(sizeof(*f));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->fd = -1;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	path[n > 0 ? n : 0] = '\0';
	/* Never open lock.mdb a second time: closing any descriptor of it
	 * would drop LMDB's fcntl locks. */
	f->skip = name_is(path, "lock.mdb");
	if (!f->skip &&
	    (f->fd = real.openat(AT_FDCWD, link,
	                         O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0)
		shim_die("cannot reopen %s to model it: %s", path,
		         strerror(errno));
	pw_files =
	    grow(pw_files, &pw_capfiles, pw_nfiles + 1, sizeof(*pw_files));
	pw_files[pw_nfiles++] = f;
	return (f);
}

static void
file_dirty(pw_file *f)
{
	struct stat st;

	if (f->dirty)
		return;
	if (fstat(f->fd, &st) != 0)
		shim_die("fstat: %s", strerror(errno));
	f->dirty = 1;
	f->dsize = st.st_size;
	f->n = 0;
}

static void
file_clean(pw_file *f)
{
	for (size_t i = 0; i < f->n; i++) {
		if (f->pages[i].b != NULL)
			pw_held -= PW_PAGE;
		free(f->pages[i].b);
	}
	f->n = 0;
	f->dirty = 0;
}

/* Index of page no in f, or where it would go. */
static size_t
page_find(const pw_file *f, uint64_t no)
{
	size_t lo = 0, hi = f->n;

	if (f->n > 0 && f->pages[f->n - 1].no < no)
		return (f->n); /* the common case: appending */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->pages[mid].no < no)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (lo);
}

/* Keeps the durable copy of every page of [off, off + len) not kept yet. */
static void
file_capture(pw_file *f, off_t off, uint64_t len)
{
	uint64_t first, last;

	if (len == 0)
		return;
	file_dirty(f);
	first = (uint64_t) off / PW_PAGE;
	last = ((uint64_t) off + len - 1) / PW_PAGE;
	for (uint64_t no = first; no <= last; no++) {
		size_t   i = page_find(f, no);
		uint64_t at = no * PW_PAGE;
		pw_page  p = {no, NULL};

		if (i < f->n && f->pages[i].no == no)
			continue;
		if (at < (uint64_t) f->dsize) {
			uint64_t keep = (uint64_t) f->dsize - at;

			held_add(PW_PAGE);
			p.b = xalloc(PW_PAGE);
			read_at(f->fd, p.b, keep < PW_PAGE ? keep : PW_PAGE,
			        (off_t) at);
		}
		f->pages = grow(f->pages, &f->cap, f->n + 1, sizeof(pw_page));
		memmove(&f->pages[i + 1], &f->pages[i],
		        (f->n - i) * sizeof(pw_page));
		f->pages[i] = p;
		f->n++;
	}
}

static int
fd_dsync(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return (fl >= 0 && (fl & (O_DSYNC | O_SYNC)) != 0);
}

void
pw_write_before(int fd, off_t off, size_t len)
{
	pw_file *f;

	if (pw_mode == PW_OFF || fd_dsync(fd) || (f = file_get(fd)) == NULL ||
	    f->skip)
		return;
	file_capture(f, off, len);
}

/* An O_DSYNC write is durable when it returns: the durable copies of the
 * pages it wrote take its bytes, and the durable size its end. */
static void
dsync_patch(pw_file *f, off_t off, const struct iovec *iov, int n, size_t rv)
{
	uint64_t pos = (uint64_t) off;

	for (int k = 0; k < n && rv > 0; k++) {
		const unsigned char *src = iov[k].iov_base;
		size_t len = iov[k].iov_len < rv ? iov[k].iov_len : rv;

		rv -= len;
		while (len > 0) {
			uint64_t no = pos / PW_PAGE, in = pos % PW_PAGE;
			size_t   i = page_find(f, no);
			size_t   c = PW_PAGE - in < len ? PW_PAGE - in : len;

			if (i < f->n && f->pages[i].no == no) {
				if (f->pages[i].b == NULL) {
					held_add(PW_PAGE);
					f->pages[i].b = xalloc(PW_PAGE);
				}
				memcpy(f->pages[i].b + in, src, c);
			}
			pos += c;
			src += c;
			len -= c;
		}
	}
	if ((off_t) pos > f->dsize)
		f->dsize = (off_t) pos;
}

void
pw_write_after(int fd, off_t off, const struct iovec *iov, int n, ssize_t rv)
{
	pw_file *f;

	if (pw_mode == PW_OFF || rv <= 0 || !fd_dsync(fd) ||
	    (f = file_get(fd)) == NULL || f->skip || !f->dirty)
		return;
	dsync_patch(f, off, iov, n, (size_t) rv);
}

void
pw_truncate_before(int fd, off_t len)
{
	pw_file    *f;
	struct stat st;
	off_t       end;

	if (pw_mode == PW_OFF || (f = file_get(fd)) == NULL || f->skip ||
	    fstat(fd, &st) != 0)
		return;
	file_dirty(f);
	end = st.st_size < f->dsize ? st.st_size : f->dsize;
	if (len < end)
		file_capture(f, len, (uint64_t) (end - len));
	else if (len > st.st_size) /* growing: the new pages count too */
		file_capture(f, st.st_size, (uint64_t) (len - st.st_size));
}

/* Puts f back as it was at its last sync (PW_TORN: page by page, either
 * as it was or as it is now; a kept page past the durable size grows the
 * file to cover it, and pages between hold zeros). */
static void
file_restore(pw_file *f)
{
	struct stat st;
	off_t       size = f->dsize;
	char       *keep;

	if (!f->dirty || f->n == 0) {
		if (f->dirty && real.ftruncate(f->fd, f->dsize) != 0)
			shim_die("ftruncate: %s", strerror(errno));
		return;
	}
	if (fstat(f->fd, &st) != 0)
		shim_die("fstat: %s", strerror(errno));
	keep = xalloc(f->n);
	for (size_t i = 0; i < f->n; i++) {
		off_t end = (off_t) (f->pages[i].no + 1) * PW_PAGE;

		keep[i] = pw_mode == PW_TORN && (rng_next() & 1);
		if (end > st.st_size)
			end = st.st_size;
		if (keep[i] && end > size)
			size = end;
	}
	for (size_t i = 0; i < f->n; i++) {
		static const unsigned char zeros[PW_PAGE];
		off_t  at = (off_t) f->pages[i].no * PW_PAGE;
		size_t len = PW_PAGE;

		if (keep[i] || at >= size)
			continue;
		if (at + (off_t) len > size)
			len = (size_t) (size - at);
		write_at(f->fd, f->pages[i].b ? f->pages[i].b : zeros, len, at);
	}
	free(keep);
	if (real.ftruncate(f->fd, size) != 0)
		shim_die("ftruncate: %s", strerror(errno));
}

void
pw_sync_after(int fd)
{
	struct stat st;

	if (pw_mode == PW_OFF || fstat(fd, &st) != 0)
		return;
	if (S_ISREG(st.st_mode)) {
		pw_file *f = file_find(st.st_dev, st.st_ino);

		if (f != NULL)
			file_clean(f);
		return;
	}
	if (!S_ISDIR(st.st_mode))
		return;
	for (size_t i = 0; i < pw_nops; i++) {
		pw_op *op = pw_ops[i];

		if (pw_dirs[op->d1].dev == st.st_dev &&
		    pw_dirs[op->d1].ino == st.st_ino)
			op->pend1 = 0;
		if (op->d2 >= 0 && pw_dirs[op->d2].dev == st.st_dev &&
		    pw_dirs[op->d2].ino == st.st_ino)
			op->pend2 = 0;
	}
}

void
pw_sync_all(void)
{
	if (pw_mode == PW_OFF)
		return;
	for (size_t i = 0; i < pw_nfiles; i++)
		file_clean(pw_files[i]);
	for (size_t i = 0; i < pw_nops; i++)
		pw_ops[i]->pend1 = pw_ops[i]->pend2 = 0;
}

void
pw_mmap_check(int fd, int prot, int flags)
{
	pw_file *f;

	if (pw_mode == PW_OFF || fd < 0 || (prot & PROT_WRITE) == 0 ||
	    (flags & MAP_SHARED) == 0 || (f = file_get(fd)) == NULL || f->skip)
		return;
	shim_die("a shared writable mapping (fd %d): power loss through it "
	         "is not modelled",
	         fd);
}

/* ---- names ---- */

/* The directory that holds path (relative to dirfd) and, in *base, the
 * last component (owned by the caller); -1 if there is none to model. */
static int
dir_get(int dirfd, const char *path, char **base)
{
	char       *p = strdup(path), *slash;
	const char *dir = ".";
	struct stat st;
	int         fd;
	size_t      n;

	if (p == NULL)
		shim_die("out of memory");
	n = strlen(p);
	while (n > 1 && p[n - 1] == '/')
		p[--n] = '\0';
	if ((slash = strrchr(p, '/')) != NULL) {
		*slash = '\0';
		dir = slash == p ? "/" : p;
	}
	*base = strdup(slash ? slash + 1 : p);
	if (*base == NULL)
		shim_die("out of memory");
	fd = real.openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(p);
	if (fd < 0 || fstat(fd, &st) != 0) {
		if (fd >= 0)
			close(fd);
		free(*base);
		*base = NULL;
		return (-1);
	}
	if (**base == '\0' || strcmp(*base, ".") == 0 ||
	    strcmp(*base, "..") == 0)
		shim_die("cannot model a name change of %s", path);
	for (size_t i = 0; i < pw_ndirs; i++) {
		if (pw_dirs[i].dev == st.st_dev &&
		    pw_dirs[i].ino == st.st_ino) {
			close(fd);
			return ((int) i);
		}
	}
	pw_dirs = grow(pw_dirs, &pw_capdirs, pw_ndirs + 1, sizeof(*pw_dirs));
	pw_dirs[pw_ndirs].dev = st.st_dev;
	pw_dirs[pw_ndirs].ino = st.st_ino;
	pw_dirs[pw_ndirs].fd = fd;
	return ((int) pw_ndirs++);
}

/* What name (in directory d) holds, durably, so undoing its removal can
 * put it back. */
static void
old_capture(pw_op *op, int d, const char *name)
{
	struct stat st;
	pw_file    *f;
	int         fd;

	if (fstatat(pw_dirs[d].fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return;
	op->mode = st.st_mode & 07777;
	if (S_ISDIR(st.st_mode)) {
		op->old = PW_OLD_DIR; /* rmdir and rename need it empty */
		return;
	}
	if (!S_ISREG(st.st_mode))
		shim_die("cannot model removing %s (not a file)", name);
	op->old = PW_OLD_FILE;
	if (name_is(name, "lock.mdb"))
		return; /* not modelled; put back empty */
	f = file_find(st.st_dev, st.st_ino);
	op->len = (size_t) (f != NULL && f->dirty ? f->dsize : st.st_size);
	held_add(op->len);
	op->bytes = xalloc(op->len);
	fd = real.openat(pw_dirs[d].fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		shim_die("cannot read %s: %s", name, strerror(errno));
	read_at(fd, op->bytes, op->len, 0);
	close(fd);
	for (size_t i = 0; f != NULL && f->dirty && i < f->n; i++) {
		uint64_t at = f->pages[i].no * PW_PAGE;

		if (f->pages[i].b != NULL && at < op->len)
			memcpy(op->bytes + at, f->pages[i].b,
			       op->len - at < PW_PAGE ? op->len - at : PW_PAGE);
	}
}

static void
op_free(pw_op *op)
{
	if (op == NULL)
		return;
	if (op->bytes != NULL)
		pw_held -= op->len;
	free(op->bytes);
	free(op->n1);
	free(op->n2);
	free(op);
}

pw_op *
pw_ns_before(pw_kind kind, int dirfd, const char *path, int dirfd2,
             const char *path2)
{
	pw_op *op;

	if (pw_mode == PW_OFF)
		return (NULL);
	op = xalloc(sizeof(*op));
	op->kind = kind;
	op->d2 = -1;
	if ((op->d1 = dir_get(dirfd, path, &op->n1)) < 0 ||
	    (path2 != NULL && (op->d2 = dir_get(dirfd2, path2, &op->n2)) < 0)) {
		op_free(op);
		return (NULL); /* the call will fail: nothing to model */
	}
	op->pend1 = 1;
	op->pend2 = op->d2 >= 0 && op->d2 != op->d1;
	if (kind == PW_UNLINK || kind == PW_RMDIR)
		old_capture(op, op->d1, op->n1);
	else if (kind == PW_RENAME)
		old_capture(op, op->d2, op->n2);
	return (op);
}

void
pw_ns_after(pw_op *op, int ok)
{
	if (op == NULL)
		return;
	if (!ok) {
		op_free(op);
		return;
	}
	pw_ops = grow(pw_ops, &pw_capops, pw_nops + 1, sizeof(*pw_ops));
	pw_ops[pw_nops++] = op;
}

pw_op *
pw_open_before(int dirfd, const char *path, int flags)
{
	struct stat st;
	pw_op      *op;

	if (pw_mode == PW_OFF)
		return (NULL);
	if (fstatat(dirfd, path, &st, 0) == 0) {
		/* O_TRUNC of an existing file changes its content. */
		if ((flags & O_TRUNC) != 0 && S_ISREG(st.st_mode) &&
		    st.st_size > 0 && !name_is(path, "lock.mdb")) {
			int fd = real.openat(dirfd, path, O_RDONLY | O_CLOEXEC);
			pw_file *f = fd >= 0 ? file_get(fd) : NULL;

			if (f != NULL)
				pw_truncate_before(f->fd, 0);
			if (fd >= 0)
				close(fd);
		}
		return (NULL);
	}
	if ((flags & O_CREAT) == 0)
		return (NULL);
	op = pw_ns_before(PW_CREATE, dirfd, path, AT_FDCWD, NULL);
	return (op);
}

void
pw_open_after(pw_op *op, int fd)
{
	pw_ns_after(op, fd >= 0);
}

/* Removes name in dirfd and everything under it. */
static void
rm_tree(int dirfd, const char *name)
{
	int            fd = real.openat(dirfd, name,
	                                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	DIR           *dp;
	struct dirent *e;

	if (fd < 0) {
		if (errno != ENOENT && real.unlinkat(dirfd, name, 0) != 0 &&
		    errno != ENOENT)
			shim_die("cannot remove %s: %s", name, strerror(errno));
		return;
	}
	if ((dp = fdopendir(fd)) == NULL)
		shim_die("fdopendir: %s", strerror(errno));
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			rm_tree(fd, e->d_name);
	}
	closedir(dp);
	if (real.unlinkat(dirfd, name, AT_REMOVEDIR) != 0)
		shim_die("cannot remove %s: %s", name, strerror(errno));
}

/* Puts back what name held before op (its old file or empty directory). */
static void
old_restore(const pw_op *op, int dirfd, const char *name)
{
	int fd;

	if (op->old == PW_OLD_DIR) {
		if (real.mkdirat(dirfd, name, op->mode) != 0)
			shim_die("cannot recreate %s: %s", name,
			         strerror(errno));
		return;
	}
	if (op->old != PW_OLD_FILE)
		return;
	fd = real.openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
	                 op->mode);
	if (fd < 0)
		shim_die("cannot recreate %s: %s", name, strerror(errno));
	if (op->len > 0)
		write_at(fd, op->bytes, op->len, 0);
	close(fd);
}

static void
op_undo(const pw_op *op)
{
	int d1 = pw_dirs[op->d1].fd;

	switch (op->kind) {
	case PW_CREATE:
	case PW_LINK:
		if (real.unlinkat(d1, op->n1, 0) != 0 && errno != ENOENT)
			shim_die("cannot undo %s: %s", op->n1, strerror(errno));
		break;
	case PW_MKDIR:
		rm_tree(d1, op->n1);
		break;
	case PW_UNLINK:
	case PW_RMDIR:
		old_restore(op, d1, op->n1);
		break;
	case PW_RENAME:
		if (real.renameat(pw_dirs[op->d2].fd, op->n2, d1, op->n1) != 0)
			shim_die("cannot undo the rename of %s to %s: %s",
			         op->n1, op->n2, strerror(errno));
		old_restore(op, pw_dirs[op->d2].fd, op->n2);
		break;
	}
}

void
pw_fail(void)
{
	size_t *pend, np = 0, keep = 0;

	if (pw_mode == PW_OFF)
		return;
	/* Contents first, by inode (the names may be about to change), then
	 * the names, newest first. */
	for (size_t i = 0; i < pw_nfiles; i++) {
		if (!pw_files[i]->skip)
			file_restore(pw_files[i]);
	}
	pend = xalloc(sizeof(*pend) * (pw_nops + 1));
	for (size_t i = 0; i < pw_nops; i++) {
		if (pw_ops[i]->pend1 || pw_ops[i]->pend2)
			pend[np++] = i;
	}
	if (pw_mode == PW_TORN)
		keep = (size_t) (rng_next() % (np + 1));
	for (size_t i = np; i > keep; i--)
		op_undo(pw_ops[pend[i - 1]]);
	free(pend);
}
