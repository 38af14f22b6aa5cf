/* SPDX-License-Identifier: MIT */
/* tools/cli_ledger.c -- `tally ledger`: read leaves, checkpoints and proofs,
 * record bundles, audit, stats, reindex, backup, size-at. */
#include "tools/cli.h"

#include <string.h>
#include <unistd.h>

static void
wr_hashes(cm_cbor_wr *w, const cm_buf *proof)
{
	cm_cbor_wr_array(w, proof->len / CM_HASH_LEN);
	for (size_t i = 0; i < proof->len; i += CM_HASH_LEN)
		cm_cbor_wr_bytes(w, CM_BYTES(proof->p + i, CM_HASH_LEN));
}

/* Writes "checkpoint": the stored note for size, or null. */
static void
wr_checkpoint(cm_cbor_wr *w, ldg_txn *t, uint64_t size)
{
	cm_buf note = {0};

	cm_cbor_wr_cstr(w, "checkpoint");
	if (ldg_checkpoint_get(t, size, &note, NULL) == CM_OK)
		cm_cbor_wr_text(w, cm_buf_bytes(&note));
	else
		cm_cbor_wr_null(w);
	cm_buf_fini(&note);
}

static void
prove_leaf(ldg_txn *t, uint64_t index, uint64_t size, cm_buf *proof,
           uint8_t root[CM_HASH_LEN], uint8_t lh[CM_HASH_LEN], cm_bytes *leaf)
{
	if (ldg_leaf_get(t, index, leaf) != CM_OK)
		die(EX_NO, "no leaf %llu", (unsigned long long) index);
	if (size <= index || size > ldg_size(t))
		die(EX_NO,
		    "size %llu does not hold leaf %llu (tree size "
		    "%llu)",
		    (unsigned long long) size, (unsigned long long) index,
		    (unsigned long long) ldg_size(t));
	ldg_leaf_hash(*leaf, lh);
	cm_buf_reset(proof);
	if (ldg_prove_inclusion(t, index, size, proof) != CM_OK ||
	    ldg_root_at(t, size, root) != CM_OK)
		die(EX_USAGE, "cannot build the proof");
	/* prove checks its own proof against the stored root. */
	if (ldg_verify_inclusion(lh, index, size, proof->p,
	                         proof->len / CM_HASH_LEN, root) != CM_OK)
		die(EX_USAGE, "internal: the inclusion proof does not verify");
}

static void
bundle_leaf(cm_cbor_wr *w, ldg_txn *t, uint64_t index, uint64_t size)
{
	cm_buf   proof = {0};
	uint8_t  root[CM_HASH_LEN], lh[CM_HASH_LEN];
	cm_bytes leaf;

	prove_leaf(t, index, size, &proof, root, lh, &leaf);
	cm_cbor_wr_map(w, 3);
	cm_cbor_wr_cstr(w, "leaf");
	cm_cbor_wr_bytes(w, leaf);
	cm_cbor_wr_cstr(w, "index");
	cm_cbor_wr_uint(w, index);
	cm_cbor_wr_cstr(w, "proof");
	wr_hashes(w, &proof);
	cm_buf_fini(&proof);
}

/* The leaves that establish the signer's key: genesis (the operator) and,
 * for other signers, the identity record leaf that registered the key. */
void
record_bundle_write(cm_cbor_wr *w, ldg_txn *t, uint64_t ri)
{
	cm_bytes     leaf, hleaf_b;
	cm_buf       path = {0}, note = {0};
	ldg_rleaf    rl;
	ldg_hleaf    hl;
	ldg_hdr      h;
	uint64_t     size;
	ldg_identity id;
	uint8_t(*hashes)[CM_HASH_LEN];

	if (ldg_leaf_get(t, ri, &leaf) != CM_OK)
		die(EX_NO, "no leaf %llu", (unsigned long long) ri);
	if (ldg_rleaf_decode(leaf, &rl, NULL) != CM_OK)
		die(EX_NO, "leaf %llu is not a record",
		    (unsigned long long) ri);
	if (ldg_leaf_get(t, rl.hi, &hleaf_b) != CM_OK ||
	    ldg_hleaf_decode(hleaf_b, &hl, NULL) != CM_OK ||
	    ldg_hdr_decode(hl.hdr, &h, NULL) != CM_OK)
		die(EX_USAGE, "internal: bad header leaf %llu",
		    (unsigned long long) rl.hi);
	/* The in-batch path over the batch's record bytes. */
	hashes = xalloc(cm_calloc(h.n, CM_HASH_LEN));
	for (uint64_t j = 0; j < h.n; j++) {
		cm_bytes  l;
		ldg_rleaf r2;

		if (ldg_leaf_get(t, rl.hi + 1 + j, &l) != CM_OK ||
		    ldg_rleaf_decode(l, &r2, NULL) != CM_OK)
			die(EX_USAGE, "internal: bad record leaf");
		ldg_leaf_hash(r2.rec, hashes[j]);
	}
	if (ldg_merkle_path((const uint8_t(*)[CM_HASH_LEN]) hashes, h.n, rl.pos,
	                    &path) != CM_OK)
		die(EX_USAGE, "internal: in-batch path");
	cm_free(hashes);
	if (ldg_checkpoint_get(t, UINT64_MAX, &note, &size) != CM_OK)
		die(EX_USAGE, "no checkpoint");
	if (ldg_identity_get(t, h.kid.p, &id) != CM_OK)
		die(EX_USAGE, "internal: signer unknown");
	/* keys: size, header, record, genesis, identity, batch_path,
	 * checkpoint */
	cm_cbor_wr_map(w, 7);
	cm_cbor_wr_cstr(w, "size");
	cm_cbor_wr_uint(w, size);
	cm_cbor_wr_cstr(w, "header");
	bundle_leaf(w, t, rl.hi, size);
	cm_cbor_wr_cstr(w, "record");
	bundle_leaf(w, t, ri, size);
	cm_cbor_wr_cstr(w, "genesis");
	bundle_leaf(w, t, 0, size);
	cm_cbor_wr_cstr(w, "identity");
	if (id.role == LDG_ROLE_OPERATOR)
		cm_cbor_wr_null(w);
	else
		bundle_leaf(w, t, id.reg_index, size);
	cm_cbor_wr_cstr(w, "batch_path");
	wr_hashes(w, &path);
	cm_cbor_wr_cstr(w, "checkpoint");
	cm_cbor_wr_text(w, cm_buf_bytes(&note));
	cm_buf_fini(&path);
	cm_buf_fini(&note);
}

static void
bundle_record(ldg_txn *t, uint64_t ri)
{
	cm_buf     cbor = {0};
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, &cbor);
	record_bundle_write(&w, t, ri);
	json_print(&w, &cbor);
	cm_buf_fini(&cbor);
}

static const char usage_ledger[] =
    "usage: tally ledger COMMAND --data DIR ...\n"
    "  get --index I [--raw|--json]    one leaf (JSON by default)\n"
    "  checkpoint                      the latest stored checkpoint note\n"
    "  pubkey                          the checkpoint verifier key\n"
    "  prove --index I [--size N]      inclusion proof (JSON)\n"
    "  prove --from M --to N           consistency proof (JSON)\n"
    "  prove --record I                a record's authenticity bundle\n"
    "  audit [--checkpoint FILE]... [--readonly]\n"
    "      replays and checks everything; without --readonly, when the\n"
    "      checkpoint key is present, also the checks made before writing\n"
    "  stats [--json]                  size, root, map, readers, databases\n"
    "  reindex [--checkpoint-key FILE] rebuild every derived database\n"
    "  backup --out DIR2               hot copy without private keys\n"
    "  size-at --date YYYY-MM-DD[THH:MM:SS]  tree size as of a Shanghai "
    "time\n";

static int
ledger_prove(ldg_store *s, const opts *o)
{
	ldg_txn   *t = rtxn(s);
	cm_buf     cbor = {0}, proof = {0};
	cm_cbor_wr w;
	uint8_t    root[CM_HASH_LEN], root2[CM_HASH_LEN], lh[CM_HASH_LEN];
	cm_bytes   leaf;

	/* Three forms; --size belongs to --index. */
	opt_exclusive(o, "record", "index size from to");
	opt_exclusive(o, "index size", "from to");
	if (opt(o, "record") != NULL) {
		bundle_record(t, opt_u64(o, "record", 0));
	} else if (opt(o, "index") != NULL) {
		uint64_t i = opt_u64(o, "index", 0);
		uint64_t size = opt_u64(o, "size", ldg_size(t));

		prove_leaf(t, i, size, &proof, root, lh, &leaf);
		/* keys: root, size, index, proof, leaf_hash, checkpoint */
		cm_cbor_wr_init(&w, &cbor);
		cm_cbor_wr_map(&w, 6);
		cm_cbor_wr_cstr(&w, "root");
		cm_cbor_wr_bytes(&w, CM_BYTES(root, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, size);
		cm_cbor_wr_cstr(&w, "index");
		cm_cbor_wr_uint(&w, i);
		cm_cbor_wr_cstr(&w, "proof");
		wr_hashes(&w, &proof);
		cm_cbor_wr_cstr(&w, "leaf_hash");
		cm_cbor_wr_bytes(&w, CM_BYTES(lh, CM_HASH_LEN));
		wr_checkpoint(&w, t, size);
		json_print(&w, &cbor);
	} else {
		uint64_t m = opt_u64(o, "from", 0), n = opt_u64(o, "to", 0);

		if (opt(o, "from") == NULL || opt(o, "to") == NULL)
			die(EX_USAGE, "give --index I, --from M --to N, or "
			              "--record I");
		if (m > n || n > ldg_size(t))
			die(EX_NO, "sizes must satisfy from <= to <= %llu",
			    (unsigned long long) ldg_size(t));
		if (ldg_prove_consistency(t, m, n, &proof) != CM_OK ||
		    ldg_root_at(t, m, root) != CM_OK ||
		    ldg_root_at(t, n, root2) != CM_OK)
			die(EX_USAGE, "cannot build the proof");
		if (ldg_verify_consistency(m, n, root, root2, proof.p,
		                           proof.len / CM_HASH_LEN) != CM_OK)
			die(EX_USAGE, "internal: the consistency proof does "
			              "not verify");
		/* keys: size1, size2, root1, root2, proof */
		cm_cbor_wr_init(&w, &cbor);
		cm_cbor_wr_map(&w, 5);
		cm_cbor_wr_cstr(&w, "proof");
		wr_hashes(&w, &proof);
		cm_cbor_wr_cstr(&w, "root1");
		cm_cbor_wr_bytes(&w, CM_BYTES(root, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "root2");
		cm_cbor_wr_bytes(&w, CM_BYTES(root2, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "size1");
		cm_cbor_wr_uint(&w, m);
		cm_cbor_wr_cstr(&w, "size2");
		cm_cbor_wr_uint(&w, n);
		json_print(&w, &cbor);
	}
	cm_buf_fini(&cbor);
	cm_buf_fini(&proof);
	ldg_txn_end(t);
	return (EX_OK);
}

static int
ledger_stats(ldg_store *s, bool json)
{
	ldg_stats st;

	if (ldg_stats_get(s, &st) != CM_OK)
		die(EX_USAGE, "cannot read stats");
	if (json) {
		cm_buf     b = {0};
		cm_cbor_wr w;

		/* keys: dbs, root, size, readers, durable, map_size,
		 * map_used, max_readers, last_log_time */
		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, 9);
		cm_cbor_wr_cstr(&w, "dbs");
		cm_cbor_wr_map(&w, st.ndbs);
		/* database names sort canonically only by luck: sort here */
		{
			size_t ord[64];

			for (size_t i = 0; i < st.ndbs; i++)
				ord[i] = i;
			for (size_t i = 1; i < st.ndbs; i++)
				for (size_t j = i; j > 0; j--) {
					const char *a = st.dbs[ord[j - 1]].name;
					const char *c = st.dbs[ord[j]].name;

					if (cm_cbor_key_cmp(
					        CM_BYTES(a, strlen(a)),
					        CM_BYTES(c, strlen(c))) <= 0)
						break;
					size_t x = ord[j];
					ord[j] = ord[j - 1];
					ord[j - 1] = x;
				}
			for (size_t i = 0; i < st.ndbs; i++) {
				cm_cbor_wr_cstr(&w, st.dbs[ord[i]].name);
				cm_cbor_wr_uint(&w, st.dbs[ord[i]].entries);
			}
		}
		cm_cbor_wr_cstr(&w, "root");
		cm_cbor_wr_bytes(&w, CM_BYTES(st.root, CM_HASH_LEN));
		cm_cbor_wr_cstr(&w, "size");
		cm_cbor_wr_uint(&w, st.size);
		cm_cbor_wr_cstr(&w, "durable");
		cm_cbor_wr_bool(&w, st.durable);
		cm_cbor_wr_cstr(&w, "readers");
		cm_cbor_wr_uint(&w, st.readers);
		cm_cbor_wr_cstr(&w, "map_size");
		cm_cbor_wr_uint(&w, st.map_size);
		cm_cbor_wr_cstr(&w, "map_used");
		cm_cbor_wr_uint(&w, st.map_used);
		cm_cbor_wr_cstr(&w, "max_readers");
		cm_cbor_wr_uint(&w, st.max_readers);
		cm_cbor_wr_cstr(&w, "last_log_time");
		cm_cbor_wr_uint(&w, st.last_log_time);
		json_print(&w, &b);
		cm_buf_fini(&b);
		return (EX_OK);
	}
	printf("size %llu\nroot ", (unsigned long long) st.size);
	print_hex(stdout, st.root, CM_HASH_LEN);
	printf("\nlast log time %llu\nmap used %llu of %llu bytes\n"
	       "readers %u of %u\nsync flags %s (env flags 0x%x)\n",
	       (unsigned long long) st.last_log_time,
	       (unsigned long long) st.map_used,
	       (unsigned long long) st.map_size, st.readers, st.max_readers,
	       st.durable ? "durable" : "NOT DURABLE", st.env_flags);
	for (size_t i = 0; i < st.ndbs; i++)
		printf("db %s %llu\n", st.dbs[i].name,
		       (unsigned long long) st.dbs[i].entries);
	return (EX_OK);
}

/* A progress bar on stderr, only when stderr is a terminal. */
static void
progress_bar(void *arg, const char *what, uint64_t done, uint64_t total)
{
	char tail[64];

	(void) arg;
	snprintf(tail, sizeof(tail), "%llu/%llu leaves",
	         (unsigned long long) done, (unsigned long long) total);
	progress_show(what, done, total, tail);
}

int
cli_ledger(int argc, char **argv)
{
	opts        o;
	const char *sub = argc > 0 ? argv[0] : "";
	ldg_store  *s;
	cm_diag     d;
	int         ex = EX_OK;

	if ((ex = group_parse(argc, argv,
	                      " data index raw! json! size from to record "
	                      "checkpoint readonly! out date checkpoint-key ",
	                      usage_ledger, &o)) >= 0)
		return (ex);
	ex = EX_OK;
	cm_diag_clear(&d);
	if (strcmp(sub, "reindex") == 0) {
		ldg_opts lo;

		memset(&lo, 0, sizeof(lo));
		lo.reindex = true;
		lo.checkpoint_key = opt(&o, "checkpoint-key");
		s = store_open_opts(need(&o, "data"), &lo, false);
	} else if (strcmp(sub, "audit") == 0 && opt(&o, "readonly") == NULL) {
		/* Opening for writing (when the key is here) also runs the
		 * open-time checks: the latest checkpoint's root against the
		 * stored tree, and the indexers' marks. */
		s = store_open_key(need(&o, "data"), false, false,
		                   opt(&o, "checkpoint-key"));
	} else {
		s = store_open(need(&o, "data"), true);
	}
	if (isatty(2) && opt(&o, "json") == NULL)
		ldg_set_progress(s, progress_bar, NULL);
	if (strcmp(sub, "get") == 0) {
		ldg_txn *t = rtxn(s);
		cm_bytes leaf;
		uint64_t i = opt_u64(&o, "index", UINT64_MAX);

		if (i == UINT64_MAX)
			die(EX_USAGE, "missing --index");
		if (ldg_leaf_get(t, i, &leaf) != CM_OK)
			die(EX_NO, "no leaf %llu (size %llu)",
			    (unsigned long long) i,
			    (unsigned long long) ldg_size(t));
		bool         flag = false;
		ldg_identity signer;

		/* A batch signed after its key's reported compromise stays in
		 * the log; queries flag it (on stderr, so output is the leaf).
		 */
		if (ldg_batch_flagged(t, i, &flag, &signer) == CM_OK && flag)
			fprintf(
			    stderr,
			    "%s: flagged: batch signed at or after %llu, when "
			    "its key (%s %s) was reported compromised\n",
			    prog_cmd,
			    (unsigned long long) signer.compromised_since,
			    ldg_role_name(signer.role), signer.uscc);
		if (opt(&o, "raw") != NULL) {
			fwrite(leaf.p, 1, leaf.len, stdout);
		} else {
			cm_buf j = {0};

			if (cm_cbor_to_json(leaf, &j, &d) != CM_OK)
				die(EX_USAGE, "cannot show leaf: %s", d.msg);
			printf("%s\n", (char *) j.p);
			cm_buf_fini(&j);
		}
		ldg_txn_end(t);
	} else if (strcmp(sub, "checkpoint") == 0) {
		ldg_txn *t = rtxn(s);
		cm_buf   note = {0};

		if (ldg_checkpoint_get(t, UINT64_MAX, &note, NULL) != CM_OK)
			die(EX_NO, "no checkpoint");
		fwrite(note.p, 1, note.len, stdout);
		cm_buf_fini(&note);
		ldg_txn_end(t);
	} else if (strcmp(sub, "pubkey") == 0) {
		ldg_vkey vk;
		cm_buf   b = {0};

		ldg_checkpoint_vkey(s, &vk);
		if (ldg_vkey_format(&vk, &b) != CM_OK)
			die(EX_USAGE, "out of memory");
		printf("%s\n", (char *) b.p);
		cm_buf_fini(&b);
	} else if (strcmp(sub, "prove") == 0) {
		ex = ledger_prove(s, &o);
	} else if (strcmp(sub, "audit") == 0) {
		cm_buf   *notes = xalloc(cm_calloc(o.n + 1, sizeof(cm_buf)));
		cm_bytes *nb = xalloc(cm_calloc(o.n + 1, sizeof(cm_bytes)));
		size_t    nn = 0;
		uint64_t  bad;
		cm_buf    report = {0};

		for (size_t i = 0; i < o.n; i++)
			if (strcmp(o.name[i], "checkpoint") == 0) {
				file_read(o.val[i], NOTE_FILE_MAX,
				          "a checkpoint note", &notes[nn]);
				nb[nn] = cm_buf_bytes(&notes[nn]);
				nn++;
			}
		cm_err arv = ldg_audit(s, nb, nn, &bad, &report, &d);

		if (arv != CM_OK) {
			if (d.msg[0] == '\0')
				cm_diag_set(&d, "%s", cm_strerror(arv));
			if (report.p != NULL)
				fputs((char *) report.p, stdout);
			if (bad != UINT64_MAX)
				printf("audit FAILED at leaf %llu: %s\n",
				       (unsigned long long) bad, d.msg);
			else
				printf("audit FAILED: %s\n", d.msg);
			ex = EX_NO;
		} else {
			if (report.p != NULL)
				fputs((char *) report.p, stdout);
			printf("audit passed\n");
		}
		for (size_t i = 0; i < nn; i++)
			cm_buf_fini(&notes[i]);
		cm_free(notes);
		cm_free(nb);
		cm_buf_fini(&report);
	} else if (strcmp(sub, "stats") == 0) {
		ex = ledger_stats(s, opt(&o, "json") != NULL);
	} else if (strcmp(sub, "reindex") == 0) {
		cm_err rv = ldg_reindex(s, &d);

		if (rv != CM_OK)
			die(exit_for(rv), "reindex failed: %s", d.msg);
		printf("reindexed\n");
	} else if (strcmp(sub, "backup") == 0) {
		const char *out = need(&o, "out");
		ldg_store  *c;
		ldg_stats   st;
		cm_err      rv = ldg_backup(s, out, &d);

		if (rv != CM_OK)
			die(exit_for(rv), "%s", d.msg);
		c = store_open(out, true);
		if (ldg_stats_get(c, &st) != CM_OK)
			die(EX_USAGE, "cannot read the copy");
		printf("backup %s: size %llu root ", out,
		       (unsigned long long) st.size);
		print_hex(stdout, st.root, CM_HASH_LEN);
		printf("\n(no private key copied: the copy is read-only; "
		       "restoring it for writing needs a new origin)\n");
		ldg_close(c);
	} else if (strcmp(sub, "size-at") == 0) {
		ldg_txn *t = rtxn(s);
		uint64_t ms, size;

		if (cm_date_parse(need(&o, "date"), &ms) != CM_OK)
			die(EX_USAGE, "--date is YYYY-MM-DD or "
			              "YYYY-MM-DDTHH:MM:SS (Asia/Shanghai)");
		/* Dates mean the end of that day or second in Shanghai. */
		ms += strlen(need(&o, "date")) == 10 ? 86400000 - 1 : 999;
		if (ldg_size_at_time(t, ms, &size) != CM_OK)
			die(EX_NO, "the ledger did not exist then");
		printf("%llu\n", (unsigned long long) size);
		ldg_txn_end(t);
	} else {
		die(EX_USAGE,
		    "unknown ledger command \"%s\" (see tally ledger "
		    "--help)",
		    sub);
	}
	ldg_close(s);
	return (ex);
}
