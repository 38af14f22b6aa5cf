/* SPDX-License-Identifier: MIT */
/* ledger/ldg_lmdb.c -- the one file that includes <lmdb.h>.  Maps LMDB's
 * codes (and errno) to cm_err, looks at data.mdb's meta pages before LMDB
 * maps the file, fixes the open parameters every process uses (durable
 * syncs, MDB_NOTLS, maxreaders, maxdbs), opens read-only storage without
 * the lock file, adopts maps grown by other processes and clears stale
 * readers.  Design: docs/format.md "Storage". */
#include "ledger/ldg_impl.h"

#include <errno.h>
#include <fcntl.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h> /* the benchmark section */
#include <unistd.h>

/* maplock: LMDB leaves it to the caller to make sure no transaction of the
 * process is open while mdb_env_set_mapsize remaps the file (a reader's
 * pointers would dangle).  Every top-level txn holds it shared for its
 * lifetime; growing or adopting a new map size takes it exclusively.  So
 * one thread may prepare batches (ldg_prepare) or answer queries while
 * another appends. */
struct ldg_env {
	MDB_env         *env;
	bool             readonly;
	bool             lockless; /* MDB_NOLOCK: lock.mdb not writable */
	char            *dir;      /* for statvfs when a write fails */
	pthread_rwlock_t maplock;
};

struct ldg_cursor {
	MDB_cursor *c;
	ldg_txn    *t;
};

static cm_err
err_from_mdb(int rc)
{
	switch (rc) {
	case MDB_SUCCESS:
		return (CM_OK);
	case MDB_NOTFOUND:
		return (CM_ENOTFOUND);
	case MDB_KEYEXIST:
		return (CM_EEXIST);
	case MDB_MAP_FULL:
	case MDB_TXN_FULL:
		return (CM_EMAPFULL);
	case MDB_READERS_FULL:
	case MDB_MAP_RESIZED:
		return (CM_EBUSY);
	case MDB_CORRUPTED:
	case MDB_PAGE_NOTFOUND:
	case MDB_INVALID:
	case MDB_VERSION_MISMATCH:
	case MDB_BAD_TXN:
	case MDB_INCOMPATIBLE:
		return (CM_ECORRUPT);
	default:
		/* LMDB's other failures are errno values. */
		return (cm_err_from_errno(rc));
	}
}

/* LMDB reports a short write as EIO ("short write, filesystem full?" in
 * mdb.c): a pwritev of several pages that fills the file system returns
 * the bytes it wrote, not ENOSPC.  After such a write the file system has
 * less free space than the rest of that write (at most 64 pages plus one
 * leaf's overflow pages, well under 1 MiB), so an EIO with less than 1 MiB
 * free is taken as ENOSPC.  Root may use the blocks reserved for it. */
static int
write_cause(const ldg_env *e, int rc)
{
	struct statvfs sv;
	uint64_t       avail;

	if (rc != EIO || e->dir == NULL || statvfs(e->dir, &sv) != 0)
		return (rc);
	avail = (uint64_t) (geteuid() == 0 ? sv.f_bfree : sv.f_bavail) *
	        sv.f_frsize;
	return (avail < (1u << 20) ? ENOSPC : rc);
}

/* LMDB takes non-const pointers for keys it only reads: the casts live here
 * and only here. */
static MDB_val
val_of(cm_bytes b)
{
	MDB_val v;

	v.mv_size = b.len;
	v.mv_data = (void *) (uintptr_t) b.p;
	return (v);
}

static cm_bytes
bytes_of(const MDB_val *v)
{
	return (CM_BYTES(v->mv_data, v->mv_size));
}

bool
ldg_env_flags_durable(unsigned flags)
{
	return ((flags & (MDB_NOSYNC | MDB_NOMETASYNC | MDB_MAPASYNC |
	                  MDB_WRITEMAP)) == 0);
}

/* ---- data.mdb, read before LMDB maps it ----
 *
 * LMDB maps data.mdb and trusts its meta pages: a file shorter than the
 * pages its newest meta page records (truncated by a copy, a tool or a
 * failing disk) is mapped all the same, and the first touch of a missing
 * page kills the process with SIGBUS, in every command and audit too.
 * LMDB's API tells nothing before the map (mdb_env_info needs an open
 * environment, and mapping past the end is allowed: only touching faults),
 * so we read the two meta pages with pread, which reports a short file
 * instead of faulting, and refuse a file that ends before a page its
 * newest commit certainly holds: the roots of its two B-trees (the free
 * list and the main tree, whose root every commit rewrites).  A live page
 * was written by the commit that made it, before that commit's meta page,
 * so an undamaged file always reaches past both roots.  The file may end
 * before the meta page's last page number, though: pages LMDB allocates
 * and frees within one commit ("loose" pages, overflow pages of a value
 * replaced in the commit that wrote it) are counted there but never
 * written, so that bound would refuse sound ledgers.  A cut that leaves
 * both roots but loses other pages is caught when a page is touched: the
 * CLI turns that SIGBUS into the same advice (ldg.h).
 *
 * The layout is LMDB's data format version 1 (mdb.c: MDB_page's header,
 * then MDB_meta), with pgno_t and txnid_t as size_t as in Debian's build
 * (no MDB_VL32).  LMDB reads meta page 1 at the page size that meta page
 * 0 records, and uses the one with the larger transaction ID. */
#define LMDB_MAGIC 0xBEEFC0DEu
#define LMDB_DATA_VERSION 1u
#define LMDB_P_META 0x08u

struct lmdb_page_head {
	size_t   pgno;
	uint16_t pad;
	uint16_t flags;
	uint16_t lower;
	uint16_t upper;
};

#define LMDB_P_INVALID ((size_t) -1) /* the root of an empty tree */

struct lmdb_db {
	uint32_t pad; /* the free DB's: the page size */
	uint16_t flags;
	uint16_t depth;
	size_t   branch_pages, leaf_pages, overflow_pages, entries, root;
};

struct lmdb_meta {
	uint32_t       magic;
	uint32_t       version;
	void          *address;
	size_t         mapsize;
	struct lmdb_db dbs[2]; /* free, main */
	size_t         last_pg;
	size_t         txnid;
};

/* Meta page i of fd (at off): 0, or an errno or MDB code. */
static int
meta_read(int fd, off_t off, struct lmdb_meta *out)
{
	unsigned char
	    buf[sizeof(struct lmdb_page_head) + sizeof(struct lmdb_meta)];
	struct lmdb_page_head h;
	ssize_t               n;

	do
		n = pread(fd, buf, sizeof(buf), off);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return (errno);
	if ((size_t) n < sizeof(buf))
		return (MDB_INVALID);
	memcpy(&h, buf, sizeof(h));
	memcpy(out, buf + sizeof(h), sizeof(*out));
	if ((h.flags & LMDB_P_META) == 0 || out->magic != LMDB_MAGIC)
		return (MDB_INVALID);
	if (out->version != LMDB_DATA_VERSION)
		return (MDB_VERSION_MISMATCH);
	return (0);
}

static cm_err
probe_fd(const char *dir, int fd, ldg_data_state *out, cm_diag *d)
{
	struct stat      st;
	struct lmdb_meta m[2];
	uint64_t         psize, need;
	size_t           root;
	int              rc, newest;

	if (fstat(fd, &st) != 0)
		return (cm_fail(d, err_from_mdb(errno),
		                "cannot read %s/data.mdb: %s", dir,
		                strerror(errno)));
	if (!S_ISREG(st.st_mode))
		return (cm_fail(d, CM_ECORRUPT,
		                "%s/data.mdb is not a regular file", dir));
	if (st.st_size == 0)
		return (cm_fail(
		    d, CM_ECORRUPT,
		    "%s/data.mdb is empty (0 bytes): if an init was "
		    "interrupted, "
		    "remove the directory and run tally init again; if it held "
		    "a ledger, restore it from a backup",
		    dir));
	if ((rc = meta_read(fd, 0, &m[0])) == 0) {
		psize = m[0].dbs[0].pad;
		if (psize < 512 || psize > 65536 || (psize & (psize - 1)) != 0)
			return (
			    cm_fail(d, CM_ECORRUPT,
			            "%s/data.mdb is damaged: its first meta "
			            "page gives page size %llu; restore the "
			            "ledger from a backup",
			            dir, (unsigned long long) psize));
		rc = meta_read(fd, (off_t) psize, &m[1]);
		/* LMDB writes both meta pages at once when it creates the
		 * file and syncs them with the first commit: a power loss
		 * before that may keep page 0 alone. */
		if (rc == MDB_INVALID && m[0].txnid == 0) {
			*out = LDG_DATA_FRESH;
			return (CM_OK);
		}
	}
	/* The same loss may keep neither (zeros, or a later page only). */
	if (rc == MDB_INVALID)
		return (
		    cm_fail(d, CM_ECORRUPT,
		            "%s/data.mdb has no valid meta pages (%llu bytes): "
		            "if an init was interrupted, remove the directory "
		            "and run tally init again; if it held a ledger, "
		            "restore it from a backup",
		            dir, (unsigned long long) st.st_size));
	if (rc != 0)
		return (cm_fail(d, err_from_mdb(rc),
		                "cannot read %s/data.mdb: %s", dir,
		                mdb_strerror(rc)));
	newest = m[0].txnid < m[1].txnid;
	if (m[newest].txnid == 0) {
		/* The two meta pages LMDB writes when it creates a file. */
		*out = LDG_DATA_FRESH;
		return (CM_OK);
	}
	root = 0;
	for (int i = 0; i < 2; i++) {
		size_t r = m[newest].dbs[i].root;

		if (r != LMDB_P_INVALID && r > root)
			root = r;
	}
	if (root >= UINT64_MAX / psize - 1)
		need = UINT64_MAX;
	else
		need = ((uint64_t) root + 1) * psize;
	/* The size is taken again now, after the meta pages: a writer in
	 * another process may have committed since the first look, and its
	 * pages are written before its meta page, so the file seen after the
	 * meta page holds every page that meta page names. */
	if (fstat(fd, &st) != 0)
		return (cm_fail(d, err_from_mdb(errno),
		                "cannot read %s/data.mdb: %s", dir,
		                strerror(errno)));
	if ((uint64_t) st.st_size < need)
		return (cm_fail(
		    d, CM_ECORRUPT,
		    "%s/data.mdb is damaged: it has %llu bytes but "
		    "its last commit (transaction %llu) has a tree "
		    "root at page %llu, which needs %llu; restore the "
		    "ledger from a backup",
		    dir, (unsigned long long) st.st_size,
		    (unsigned long long) m[newest].txnid,
		    (unsigned long long) root, (unsigned long long) need));
	*out = LDG_DATA_OK;
	return (CM_OK);
}

cm_err
ldg_env_probe(const char *dir, ldg_data_state *out, cm_diag *d)
{
	cm_buf path = {0};
	int    fd, e;
	cm_err rv;

	if (cm_buf_printf(&path, "%s/data.mdb", dir) != CM_OK) {
		cm_buf_fini(&path);
		return (CM_ENOMEM);
	}
	fd = open((char *) path.p, O_RDONLY | O_CLOEXEC);
	e = errno;
	cm_buf_fini(&path);
	if (fd >= 0) {
		rv = probe_fd(dir, fd, out, d);
		close(fd);
		return (rv);
	}
	if (e == ENOENT) {
		struct stat st;

		if (stat(dir, &st) != 0)
			return (
			    cm_fail(d, CM_ENOTFOUND, "%s does not exist", dir));
		*out = LDG_DATA_ABSENT;
		return (CM_OK);
	}
	if (e == ENOTDIR)
		return (cm_fail(d, CM_ENOTFOUND, "%s is not a directory", dir));
	/* Without search permission on dir, data.mdb cannot even be looked
	 * up: name the directory, not the file. */
	if (e == EACCES && faccessat(AT_FDCWD, dir, X_OK, AT_EACCESS) != 0)
		return (cm_fail(d, CM_EACCES, "cannot read %s: %s", dir,
		                strerror(e)));
	return (cm_fail(d, err_from_mdb(e), "cannot read %s/data.mdb: %s", dir,
	                strerror(e)));
}

/* Which file of dir a writer may not write, for the message. */
static const char *
unwritable_file(const char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	cm_buf                   path = {0};
	const char              *which = "the directory";

	for (size_t i = 0; i < 2 && which[0] == 't'; i++) {
		cm_buf_reset(&path);
		if (cm_buf_printf(&path, "%s/%s", dir, files[i]) != CM_OK)
			break;
		if (faccessat(AT_FDCWD, (char *) path.p, W_OK, AT_EACCESS) !=
		        0 &&
		    errno != ENOENT)
			which = files[i];
	}
	cm_buf_fini(&path);
	return (which);
}

static int
env_try(ldg_env *e, const char *dir, unsigned flags, uint64_t mapsize)
{
	int rc;

	if ((rc = mdb_env_create(&e->env)) != 0)
		return (rc);
	if ((rc = mdb_env_set_maxdbs(e->env, LDG_MAX_DBS)) != 0 ||
	    (rc = mdb_env_set_maxreaders(e->env, LDG_MAX_READERS)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env, mapsize)) != 0 ||
	    (rc = mdb_env_open(e->env, dir, flags, 0600)) != 0) {
		/* A failed open leaves the handle fit only for closing. */
		mdb_env_close(e->env);
		e->env = NULL;
	}
	return (rc);
}

cm_err
ldg_env_open(const char *dir, bool readonly, uint64_t mapsize, ldg_env **out,
             cm_diag *d)
{
	ldg_env       *e;
	ldg_data_state state;
	cm_err         rv;
	int            rc, dead;
	unsigned       flags = MDB_NOTLS | (readonly ? MDB_RDONLY : 0);

	if (mapsize == 0)
		mapsize = LDG_DEFAULT_MAPSIZE;
	/* Nothing maps a file that does not reach its last commit, and
	 * nothing writes LMDB's meta pages into an empty data.mdb. */
	if ((rv = ldg_env_probe(dir, &state, d)) != CM_OK)
		return (rv);
	if (state == LDG_DATA_ABSENT && readonly)
		return (cm_fail(d, CM_ENOTFOUND,
		                "%s is not a Tally ledger (no data.mdb)", dir));
	if ((e = cm_calloc(1, sizeof(*e))) == NULL)
		return (CM_ENOMEM);
	e->readonly = readonly;
	if ((e->dir = cm_strdup(dir)) == NULL ||
	    pthread_rwlock_init(&e->maplock, NULL) != 0) {
		cm_free(e->dir);
		cm_free(e);
		return (CM_ENOMEM);
	}
	/* Mode 0600: the data directory is confidential. */
	rc = env_try(e, dir, flags, mapsize);
	if (readonly && (rc == EACCES || rc == EPERM || rc == EROFS)) {
		/* data.mdb was readable above, so it is lock.mdb that this
		 * process may not open for writing (another user's ledger, a
		 * read-only mount whose lock.mdb LMDB will not skip): read
		 * without the lock.  Readers then do not register, so no
		 * writer may run on this directory meanwhile (docs/cli.md). */
		rc = env_try(e, dir, flags | MDB_NOLOCK, mapsize);
		e->lockless = rc == 0;
	}
	if (rc != 0)
		goto fail;
	/* LMDB syncs what it writes to data.mdb, never the directory: when
	 * this open created the file, sync dir too, so that the file's name
	 * survives a power loss as its content does. */
	if (state == LDG_DATA_ABSENT && (rv = cm_sync_path(dir, d)) != CM_OK) {
		ldg_env_close(e);
		return (rv);
	}
	mdb_reader_check(e->env, &dead);
	*out = e;
	return (CM_OK);
fail:
	rv = err_from_mdb(rc);
	if (rv == CM_EACCES && !readonly)
		cm_diag_set(d,
		            "cannot open %s for writing: %s (this user may "
		            "not write %s)",
		            dir, mdb_strerror(rc), unwritable_file(dir));
	else if (rv == CM_EROFS && !readonly)
		cm_diag_set(d, "cannot open %s for writing: %s", dir,
		            mdb_strerror(rc));
	else if (rv == CM_ENOMEM)
		cm_diag_set(d,
		            "cannot map %s/data.mdb: %s (the map reserves %llu "
		            "MiB of address space; see ulimit -v)",
		            dir, mdb_strerror(rc),
		            (unsigned long long) (mapsize >> 20));
	else if (rv == CM_ECORRUPT)
		cm_diag_set(d,
		            "%s/data.mdb is damaged: %s; restore the ledger "
		            "from a backup",
		            dir, mdb_strerror(rc));
	else
		cm_diag_set(d, "cannot open the ledger in %s: %s", dir,
		            mdb_strerror(rc));
	pthread_rwlock_destroy(&e->maplock);
	cm_free(e->dir);
	cm_free(e);
	return (rv);
}

bool
ldg_env_lockless(const ldg_env *e)
{
	return (e->lockless);
}

void
ldg_env_close(ldg_env *e)
{
	if (e == NULL)
		return;
	mdb_env_close(e->env);
	pthread_rwlock_destroy(&e->maplock);
	cm_free(e->dir);
	cm_free(e);
}

cm_err
ldg_env_txn_begin(ldg_store *s, ldg_txn *parent, bool write, ldg_txn **out)
{
	ldg_txn *t;
	MDB_txn *txn = NULL;
	int      rc, dead;

	if (write && !s->writable)
		return (CM_EREADONLY);
	if ((t = cm_calloc(1, sizeof(*t))) == NULL)
		return (CM_ENOMEM);
	/* A child runs under its parent's hold of maplock. */
	if (parent == NULL)
		pthread_rwlock_rdlock(&s->env->maplock);
	for (int attempt = 0; attempt < 3; attempt++) {
		rc = mdb_txn_begin(s->env->env,
		                   parent ? (MDB_txn *) parent->mdb : NULL,
		                   write ? 0 : MDB_RDONLY, &txn);
		if (rc == MDB_MAP_RESIZED && parent == NULL) {
			/* Another process grew the map: adopt its size once no
			 * other txn of this process is open. */
			pthread_rwlock_unlock(&s->env->maplock);
			pthread_rwlock_wrlock(&s->env->maplock);
			rc = mdb_env_set_mapsize(s->env->env, 0);
			pthread_rwlock_unlock(&s->env->maplock);
			pthread_rwlock_rdlock(&s->env->maplock);
			if (rc != 0)
				break;
			continue;
		}
		if (rc == MDB_READERS_FULL) {
			mdb_reader_check(s->env->env, &dead);
			continue;
		}
		break;
	}
	if (rc != 0) {
		if (parent == NULL)
			pthread_rwlock_unlock(&s->env->maplock);
		cm_free(t);
		return (err_from_mdb(rc));
	}
	t->s = s;
	t->mdb = txn;
	t->parent = parent;
	t->write = write;
	*out = t;
	return (CM_OK);
}

cm_err
ldg_env_txn_commit(ldg_txn *t)
{
	int rc;

	rc = mdb_txn_commit((MDB_txn *) t->mdb);
	if (t->parent == NULL)
		pthread_rwlock_unlock(&t->s->env->maplock);

	/* Commit frees the handle, even on failure. */
	if (t->parent != NULL)
		t->parent->node_reads += t->node_reads;
	rc = write_cause(t->s->env, rc);
	cm_free(t);
	return (err_from_mdb(rc));
}

void
ldg_txn_end(ldg_txn *t)
{
	if (t == NULL)
		return;
	mdb_txn_abort((MDB_txn *) t->mdb);
	if (t->parent == NULL)
		pthread_rwlock_unlock(&t->s->env->maplock);
	cm_free(t);
}

cm_err
ldg_env_dbi(ldg_txn *t, const char *name, unsigned flags, bool create,
            ldg_db *out)
{
	unsigned mflags = (create ? MDB_CREATE : 0) |
	                  ((flags & LDG_DB_DUPSORT) ? MDB_DUPSORT : 0);
	MDB_dbi dbi;
	int     rc = mdb_dbi_open((MDB_txn *) t->mdb, name, mflags, &dbi);

	if (rc != 0)
		return (err_from_mdb(rc));
	*out = dbi;
	return (CM_OK);
}

cm_err
ldg_env_grow(ldg_env *e)
{
	MDB_envinfo info;
	int         rc;

	/* Waits until no txn of this process is open (maplock). */
	pthread_rwlock_wrlock(&e->maplock);
	if (mdb_env_info(e->env, &info) != 0)
		rc = EIO;
	else
		rc = mdb_env_set_mapsize(e->env, info.me_mapsize * 2);
	pthread_rwlock_unlock(&e->maplock);
	return (err_from_mdb(rc));
}

cm_err
ldg_env_copy(ldg_env *e, const char *dir, cm_diag *d)
{
	int rc;

	/* The copy reads through a txn of its own: hold the map stable. */
	pthread_rwlock_rdlock(&e->maplock);
	rc = mdb_env_copy2(e->env, dir, 0);
	pthread_rwlock_unlock(&e->maplock);

	if (rc != 0)
		return (cm_fail(d, err_from_mdb(rc), "backup to %s failed: %s",
		                dir, mdb_strerror(rc)));
	return (CM_OK);
}

void
ldg_env_info(ldg_env *e, uint64_t *out_mapsize, uint64_t *out_used,
             unsigned *out_readers, unsigned *out_maxreaders,
             unsigned *out_flags)
{
	MDB_envinfo info;
	MDB_stat    st;
	unsigned    flags = 0;

	memset(&info, 0, sizeof(info));
	memset(&st, 0, sizeof(st));
	mdb_env_info(e->env, &info);
	mdb_env_stat(e->env, &st);
	mdb_env_get_flags(e->env, &flags);
	*out_mapsize = info.me_mapsize;
	*out_used = (uint64_t) (info.me_last_pgno + 1) * st.ms_psize;
	*out_readers = info.me_numreaders;
	*out_maxreaders = info.me_maxreaders;
	*out_flags = flags;
}

cm_err
ldg_db_count(ldg_txn *t, ldg_db db, uint64_t *out)
{
	MDB_stat st;
	int      rc = mdb_stat((MDB_txn *) t->mdb, db, &st);

	if (rc != 0)
		return (err_from_mdb(rc));
	*out = st.ms_entries;
	return (CM_OK);
}

static bool
db_authoritative(ldg_txn *t, ldg_db db)
{
	return (db == t->s->db_entries || db == t->s->db_ckpt);
}

cm_err
ldg_db_clear(ldg_txn *t, ldg_db db)
{
	if (db_authoritative(t, db))
		return (CM_EDENIED);
	return (err_from_mdb(mdb_drop((MDB_txn *) t->mdb, db, 0)));
}

/* ---- the public KV API ---- */

cm_err
ldg_kv_put(ldg_txn *t, ldg_db db, cm_bytes key, cm_bytes val, unsigned flags)
{
	MDB_val  k = val_of(key), v = val_of(val);
	unsigned mflags = 0;

	if (!t->write)
		return (CM_EREADONLY);
	if (flags & LDG_PUT_APPEND)
		mflags |= MDB_APPEND;
	if (flags & LDG_PUT_NOOVERWRITE)
		mflags |= MDB_NOOVERWRITE;
	/* entries and checkpoints only ever grow: never overwrite there. */
	if (db_authoritative(t, db))
		mflags |= MDB_NOOVERWRITE;
	/* A big transaction spills dirty pages to the file: a put can fail
	 * as a commit does. */
	return (err_from_mdb(write_cause(
	    t->s->env, mdb_put((MDB_txn *) t->mdb, db, &k, &v, mflags))));
}

cm_err
ldg_kv_get(ldg_txn *t, ldg_db db, cm_bytes key, cm_bytes *out)
{
	MDB_val k = val_of(key), v;
	int     rc = mdb_get((MDB_txn *) t->mdb, db, &k, &v);

	if (rc != 0)
		return (err_from_mdb(rc));
	*out = bytes_of(&v);
	return (CM_OK);
}

cm_err
ldg_kv_del(ldg_txn *t, ldg_db db, cm_bytes key, const cm_bytes *val)
{
	MDB_val k = val_of(key), v;

	if (!t->write)
		return (CM_EREADONLY);
	if (db_authoritative(t, db))
		return (CM_EDENIED);
	if (val != NULL)
		v = val_of(*val);
	return (
	    err_from_mdb(mdb_del((MDB_txn *) t->mdb, db, &k, val ? &v : NULL)));
}

cm_err
ldg_cursor_open(ldg_txn *t, ldg_db db, ldg_cursor **out)
{
	ldg_cursor *c;
	int         rc;

	if ((c = cm_calloc(1, sizeof(*c))) == NULL)
		return (CM_ENOMEM);
	if ((rc = mdb_cursor_open((MDB_txn *) t->mdb, db, &c->c)) != 0) {
		cm_free(c);
		return (err_from_mdb(rc));
	}
	c->t = t;
	*out = c;
	return (CM_OK);
}

void
ldg_cursor_close(ldg_cursor *c)
{
	if (c == NULL)
		return;
	mdb_cursor_close(c->c);
	cm_free(c);
}

static cm_err
cursor_op(ldg_cursor *c, MDB_val *k, MDB_val *v, MDB_cursor_op op,
          cm_bytes *out_key, cm_bytes *out_val)
{
	int rc = mdb_cursor_get(c->c, k, v, op);

	if (rc != 0)
		return (err_from_mdb(rc));
	if (out_key != NULL)
		*out_key = bytes_of(k);
	if (out_val != NULL)
		*out_val = bytes_of(v);
	return (CM_OK);
}

cm_err
ldg_cursor_seek(ldg_cursor *c, cm_bytes key, cm_bytes *out_key,
                cm_bytes *out_val)
{
	MDB_val k = val_of(key), v = {0, NULL};

	return (cursor_op(c, &k, &v, MDB_SET_RANGE, out_key, out_val));
}

cm_err
ldg_cursor_first(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val)
{
	MDB_val k = {0, NULL}, v = {0, NULL};

	return (cursor_op(c, &k, &v, MDB_FIRST, out_key, out_val));
}

cm_err
ldg_cursor_last(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val)
{
	MDB_val k = {0, NULL}, v = {0, NULL};

	return (cursor_op(c, &k, &v, MDB_LAST, out_key, out_val));
}

cm_err
ldg_cursor_next(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val)
{
	MDB_val k = {0, NULL}, v = {0, NULL};

	return (cursor_op(c, &k, &v, MDB_NEXT, out_key, out_val));
}

cm_err
ldg_cursor_prev(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val)
{
	MDB_val k = {0, NULL}, v = {0, NULL};

	return (cursor_op(c, &k, &v, MDB_PREV, out_key, out_val));
}

cm_err
ldg_cursor_next_dup(ldg_cursor *c, cm_bytes *out_key, cm_bytes *out_val)
{
	MDB_val k = {0, NULL}, v = {0, NULL};

	return (cursor_op(c, &k, &v, MDB_NEXT_DUP, out_key, out_val));
}

/* ---- benchmark support ----------------------------------------------------
 * Not part of the ledger: the raw-LMDB baseline that tally-bench measures the
 * production append path against (docs/benchmarks.md).  It lives here only
 * because this is the one file that may call LMDB; nothing in the ledger
 * calls it. */

static uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t) ts.tv_sec * 1000000000u + (uint64_t) ts.tv_nsec);
}

cm_err
ldg_bench_raw_append(const char *dir, const cm_bytes *vals, size_t n,
                     size_t per_commit, uint64_t *out_ns, cm_diag *d)
{
	MDB_env *env = NULL;
	MDB_txn *txn = NULL;
	MDB_dbi  dbi;
	uint64_t t0;
	int      rc;

	*out_ns = 0;
	if (per_commit == 0)
		return (cm_fail(d, CM_EINVAL, "per_commit must be at least 1"));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST)
		return (cm_fail(d, CM_EIO, "cannot create %s: %s", dir,
		                strerror(errno)));
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, 4)) != 0 ||
	    (rc = mdb_env_set_mapsize(env, LDG_DEFAULT_MAPSIZE)) != 0 ||
	    (rc = mdb_env_open(env, dir, MDB_NOTLS, 0600)) != 0)
		goto out;
	/* Create the database in its own commit, outside the timing. */
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0 ||
	    (rc = mdb_dbi_open(txn, LDG_DB_ENTRIES, MDB_CREATE, &dbi)) != 0)
		goto out;
	rc = mdb_txn_commit(txn);
	txn = NULL;
	if (rc != 0)
		goto out;
	t0 = bench_now_ns();
	for (size_t i = 0; i < n; i++) {
		uint8_t key[8];
		MDB_val k, v;

		if (txn == NULL &&
		    (rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
			goto out;
		cm_put_u64be(key, i);
		k.mv_size = sizeof(key);
		k.mv_data = key;
		v = val_of(vals[i]);
		if ((rc = mdb_put(txn, dbi, &k, &v, MDB_APPEND)) != 0)
			goto out;
		if ((i + 1) % per_commit == 0 || i + 1 == n) {
			rc = mdb_txn_commit(txn);
			txn = NULL;
			if (rc != 0)
				goto out;
		}
	}
	*out_ns = bench_now_ns() - t0;
out:
	if (txn != NULL)
		mdb_txn_abort(txn);
	if (rc != 0)
		cm_diag_set(d, "raw LMDB append in %s: %s", dir,
		            mdb_strerror(rc));
	if (env != NULL)
		mdb_env_close(env);
	return (err_from_mdb(rc));
}
