/* SPDX-License-Identifier: MIT */
/* ledger/ldg_maint.c -- audit, reindex, backup and stats.  Audit replays
 * every batch through the production validation into a scratch environment
 * and compares every database byte for byte; checkpoints are verified at
 * their sizes.  Rewriting entries and nodes together is caught only by
 * checkpoints held outside the data directory (docs/cli.md "audit"). */
#include "ledger/ldg_impl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void
rm_scratch(const char *dir)
{
	static const char *const files[] = {"data.mdb", "lock.mdb"};
	cm_buf                   path = {0};

	for (size_t i = 0; i < 2; i++) {
		cm_buf_reset(&path);
		if (cm_buf_printf(&path, "%s/%s", dir, files[i]) == CM_OK)
			unlink((char *) path.p);
	}
	cm_buf_fini(&path);
	rmdir(dir);
}

static cm_err
db_compare(ldg_txn *a, ldg_txn *b, const char *name, cm_diag *d)
{
	ldg_db      da, db;
	ldg_cursor *ca = NULL, *cb = NULL;
	cm_bytes    ka, va, kb, vb;
	cm_err      ra, rb, rv = CM_OK;
	uint64_t    n = 0;

	ra = ldg_db_find(a, name, &da);
	rb = ldg_db_find(b, name, &db);
	if (ra != CM_OK || rb != CM_OK)
		return (ra == rb
		            ? CM_OK
		            : cm_fail(d, CM_ECORRUPT,
		                      "database %s missing on one side", name));
	if ((rv = ldg_cursor_open(a, da, &ca)) != CM_OK ||
	    (rv = ldg_cursor_open(b, db, &cb)) != CM_OK)
		goto out;
	ra = ldg_cursor_first(ca, &ka, &va);
	rb = ldg_cursor_first(cb, &kb, &vb);
	for (;; n++) {
		if (ra != CM_OK || rb != CM_OK) {
			if (ra != rb)
				rv = cm_fail(
				    d, CM_ECORRUPT,
				    "derived database %s: %s entries than a "
				    "rebuild (differs at entry %llu)",
				    name, ra == CM_OK ? "more" : "fewer",
				    (unsigned long long) n);
			break;
		}
		if (!cm_bytes_eq(ka, kb) || !cm_bytes_eq(va, vb)) {
			rv = cm_fail(
			    d, CM_ECORRUPT,
			    "derived database %s differs from a rebuild at "
			    "entry %llu",
			    name, (unsigned long long) n);
			break;
		}
		ra = ldg_cursor_next(ca, &ka, &va);
		rb = ldg_cursor_next(cb, &kb, &vb);
	}
out:
	ldg_cursor_close(ca);
	ldg_cursor_close(cb);
	return (rv);
}

static cm_err
checkpoints_audit(ldg_txn *t, const cm_bytes *notes, size_t nnotes,
                  cm_buf *report, cm_diag *d)
{
	ldg_cursor    *c = NULL;
	cm_bytes       k, v;
	ldg_checkpoint cp;
	uint8_t        root[CM_HASH_LEN];
	uint64_t       n = 0, size = ldg_size(t);
	cm_err         rv, rc;

	if ((rv = ldg_cursor_open(t, t->s->db_ckpt, &c)) != CM_OK)
		return (rv);
	for (rc = ldg_cursor_first(c, &k, &v); rc == CM_OK;
	     rc = ldg_cursor_next(c, &k, &v), n++) {
		if (k.len != 8 ||
		    ldg_checkpoint_verify(v, &t->s->vkey, &cp, d) != CM_OK ||
		    cp.size != cm_get_u64be(k.p) || cp.size > size ||
		    ldg_root_at(t, cp.size, root) != CM_OK ||
		    memcmp(root, cp.root, CM_HASH_LEN) != 0) {
			rv = cm_fail(
			    d, CM_ECORRUPT,
			    "stored checkpoint %llu does not verify or does "
			    "not match the tree",
			    (unsigned long long) (k.len == 8 ? cm_get_u64be(k.p)
			                                     : 0));
			goto out;
		}
	}
	cm_buf_printf(report, "stored checkpoints: %llu verified\n",
	              (unsigned long long) n);
	for (size_t i = 0; i < nnotes; i++) {
		cm_diag inner;

		cm_diag_clear(&inner);
		if (ldg_checkpoint_verify(notes[i], &t->s->vkey, &cp, &inner) !=
		    CM_OK) {
			rv = cm_fail(d, CM_EVERIFY, "given checkpoint %zu: %s",
			             i + 1, inner.msg);
			goto out;
		}
		if (cp.size > size || ldg_root_at(t, cp.size, root) != CM_OK ||
		    memcmp(root, cp.root, CM_HASH_LEN) != 0) {
			rv = cm_fail(
			    d, CM_EVERIFY,
			    "given checkpoint %zu (size %llu) is not "
			    "consistent with this log: the log was rewritten "
			    "or forked",
			    i + 1, (unsigned long long) cp.size);
			goto out;
		}
	}
	cm_buf_printf(report, "given checkpoints: %zu consistent\n", nnotes);
out:
	ldg_cursor_close(c);
	return (rv);
}

cm_err
ldg_audit(ldg_store *s, const cm_bytes *notes, size_t nnotes, uint64_t *out_bad,
          cm_buf *report, cm_diag *d)
{
	char        tmpl[4096];
	const char *tmp = getenv("TMPDIR");
	ldg_store  *x = NULL;
	ldg_txn    *src = NULL, *dst = NULL;
	cm_err      rv;

	*out_bad = UINT64_MAX;
	snprintf(tmpl, sizeof(tmpl), "%s/tally-audit-XXXXXX",
	         tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL)
		return (cm_fail(d, CM_EIO,
		                "cannot make a scratch directory: "
		                "%s",
		                strerror(errno)));
	/* The scratch store: same modules and identity, no signing key. */
	if ((x = cm_calloc(1, sizeof(*x))) == NULL) {
		rv = CM_ENOMEM;
		goto out;
	}
	*x = *s;
	x->env = NULL;
	x->dir = NULL;
	x->ckpt_key = NULL;
	x->writable = true;
	for (size_t i = 0; i < x->ndbs; i++)
		x->dbs[i].open = false;
	if ((rv = ldg_env_open(tmpl, false, 0, &x->env, d)) != CM_OK ||
	    (rv = ldg_txn_begin(x, NULL, true, &dst)) != CM_OK ||
	    (rv = ldg_dbs_open(x, dst, true)) != CM_OK)
		goto out;
	x->db_entries = x->dbs[0].dbi;
	x->db_ckpt = x->dbs[1].dbi;
	x->db_nodes = x->dbs[2].dbi;
	x->db_meta = x->dbs[3].dbi;
	x->db_time = x->dbs[4].dbi;
	if ((rv = ldg_read_begin(s, &src)) != CM_OK)
		goto out;
	if ((rv = ldg_replay(src, dst, false, out_bad, d)) != CM_OK ||
	    (rv = ldg_tiles_flush(dst, false)) != CM_OK)
		goto out;
	cm_buf_printf(
	    report,
	    "leaves: %llu replayed (canonical form, genesis, signatures, "
	    "sequences, key status, kinds, references, log time)\n",
	    (unsigned long long) ldg_size(src));
	for (size_t i = 0; i < s->ndbs; i++) {
		if (strcmp(s->dbs[i].name, LDG_DB_CHECKPOINTS) == 0)
			continue; /* the scratch store signs nothing */
		if (strcmp(s->dbs[i].name, LDG_DB_META) == 0)
			continue; /* holds the format and indexer marks */
		if ((rv = db_compare(src, dst, s->dbs[i].name, d)) != CM_OK)
			goto out;
	}
	cm_buf_printf(report, "databases: %zu compared with a rebuild\n",
	              s->ndbs - 2);
	if ((rv = checkpoints_audit(src, notes, nnotes, report, d)) != CM_OK)
		goto out;
	cm_buf_printf(
	    report,
	    "note: rewriting entries and nodes together is caught only by "
	    "checkpoints held outside the data directory (--checkpoint)\n");
out:
	ldg_txn_end(dst);
	ldg_txn_end(src);
	if (x != NULL) {
		ldg_env_close(x->env);
		cm_free(x);
	}
	rm_scratch(tmpl);
	return (rv);
}

cm_err
ldg_reindex(ldg_store *s, cm_diag *d)
{
	ldg_txn *t = NULL;
	uint64_t bad;
	cm_buf   note = {0};
	cm_err   rv;

	if ((rv = ldg_write_denied(s)) == CM_EACCES || rv == CM_EROFS)
		return (cm_fail(d, rv, "cannot write %s: %s", s->dir,
		                cm_strerror(rv)));
	if (rv != CM_OK)
		return (cm_fail(d, CM_EREADONLY,
		                "reindex needs the checkpoint "
		                "key (the ledger is read-only)"));
	if ((rv = ldg_txn_begin(s, NULL, true, &t)) != CM_OK)
		goto out;
	for (size_t i = 0; i < s->ndbs; i++) {
		if (s->dbs[i].dbi == s->db_entries ||
		    s->dbs[i].dbi == s->db_ckpt || !s->dbs[i].open)
			continue;
		if ((rv = ldg_db_clear(t, s->dbs[i].dbi)) != CM_OK)
			goto out;
	}
	if ((rv = ldg_meta_put(t, "format", CM_BYTES("1", 1))) != CM_OK)
		goto out;
	if ((rv = ldg_replay(t, t, true, &bad, d)) != CM_OK) {
		cm_diag_set(d, "at leaf %llu", (unsigned long long) bad);
		goto out;
	}
	/* The rebuilt tree must give the latest checkpoint's root. */
	{
		uint64_t       size;
		ldg_checkpoint cp;
		uint8_t        root[CM_HASH_LEN];

		if ((rv = ldg_checkpoint_get(t, UINT64_MAX, &note, &size)) !=
		        CM_OK ||
		    (rv = ldg_checkpoint_verify(cm_buf_bytes(&note), &s->vkey,
		                                &cp, d)) != CM_OK ||
		    (rv = ldg_root_at(t, cp.size, root)) != CM_OK)
			goto out;
		if (memcmp(root, cp.root, CM_HASH_LEN) != 0) {
			rv = cm_fail(d, CM_ECORRUPT,
			             "rebuilt tree does not "
			             "match the latest checkpoint");
			goto out;
		}
	}
	rv = ldg_txn_commit(t);
	t = NULL;
out:
	ldg_txn_end(t);
	cm_buf_fini(&note);
	return (rv);
}

/* 0 and *out, or errno. */
static int
dir_empty(const char *dir, bool *out)
{
	DIR           *dp = opendir(dir);
	struct dirent *e;

	if (dp == NULL)
		return (errno);
	*out = true;
	while (*out && (e = readdir(dp)) != NULL)
		*out =
		    strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(dp);
	return (0);
}

cm_err
ldg_backup(ldg_store *s, const char *dir, cm_diag *d)
{
	char        tmp[4096], path[4096 + 16];
	struct stat st;
	int         e;
	cm_err      rv;

	if (stat(dir, &st) == 0) {
		bool empty = false;

		if (!S_ISDIR(st.st_mode))
			return (
			    cm_fail(d, CM_EEXIST,
			            "%s is a file, not a directory; refusing "
			            "to back up onto it",
			            dir));
		if ((e = dir_empty(dir, &empty)) != 0)
			return (cm_fail(d, cm_err_from_errno(e),
			                "cannot read %s: %s", dir,
			                strerror(e)));
		if (!empty)
			return (cm_fail(d, CM_EEXIST,
			                "%s is not empty; refusing to back up "
			                "into it",
			                dir));
	}
	/* The copy is made aside and renamed into place: a backup killed
	 * half-way leaves DIR2 absent or empty, never a partial copy. */
	snprintf(tmp, sizeof(tmp), "%s.partial-%ld", dir, (long) getpid());
	if (mkdir(tmp, 0700) != 0)
		return (cm_fail(d, cm_err_from_errno(errno),
		                "cannot create %s: %s", tmp, strerror(errno)));
	/* mdb_env_copy2 takes a read snapshot: writers go on meanwhile.  Only
	 * data.mdb is written: the checkpoint key never leaves DIR. */
	if ((rv = ldg_env_copy(s->env, tmp, d)) != CM_OK)
		goto out;
	/* The copy is as confidential as the original, and durable: its
	 * bytes, its name in tmp, then tmp's new name in the parent. */
	snprintf(path, sizeof(path), "%s/data.mdb", tmp);
	if (chmod(path, 0600) != 0) {
		rv = cm_fail(d, CM_EIO, "cannot finish %s: %s", path,
		             strerror(errno));
		goto out;
	}
	if ((rv = cm_sync_path(path, d)) != CM_OK ||
	    (rv = cm_sync_path(tmp, d)) != CM_OK)
		goto out;
	if (rename(tmp, dir) != 0) {
		rv = cm_fail(d, CM_EIO, "cannot rename %s to %s: %s", tmp, dir,
		             strerror(errno));
		goto out;
	}
	/* In place and whole; only its name may not be durable yet. */
	return (cm_sync_parent(dir, d));
out:
	rm_scratch(tmp);
	return (rv);
}

cm_err
ldg_stats_get(ldg_store *s, ldg_stats *out)
{
	ldg_txn *t = NULL;
	cm_err   rv;

	memset(out, 0, sizeof(*out));
	ldg_env_info(s->env, &out->map_size, &out->map_used, &out->readers,
	             &out->max_readers, &out->env_flags);
	out->durable = ldg_env_flags_durable(out->env_flags);
	if ((rv = ldg_read_begin(s, &t)) != CM_OK)
		return (rv);
	out->size = ldg_size(t);
	if ((rv = ldg_root_at(t, out->size, out->root)) != CM_OK ||
	    (rv = ldg_last_log_time(t, &out->last_log_time)) != CM_OK)
		goto out;
	for (size_t i = 0; i < s->ndbs && i < 64; i++) {
		snprintf(out->dbs[i].name, sizeof(out->dbs[i].name), "%s",
		         s->dbs[i].name);
		if (s->dbs[i].open)
			ldg_db_count(t, s->dbs[i].dbi, &out->dbs[i].entries);
		out->ndbs++;
	}
out:
	ldg_txn_end(t);
	return (rv);
}
