/* SPDX-License-Identifier: MIT */
/* tests/ledger/ldg_codec_test.c -- the leaves' codecs: typed fields, the
 * refusal of other types, unknown fields, other crypto suites and windows
 * out of bounds, and round trips of batch files, headers, header and record
 * leaves. */
#include "ledger/ldg_impl.h"
#include "tests/tst.h"

static void
wr_params(cm_cbor_wr *w, uint64_t window)
{
	cm_cbor_wr_map(w, 5);
	cm_cbor_wr_cstr(w, "body");
	cm_cbor_wr_uint(w, 16384);
	cm_cbor_wr_cstr(w, "leaf");
	cm_cbor_wr_uint(w, 65535);
	cm_cbor_wr_cstr(w, "batch");
	cm_cbor_wr_uint(w, 16u << 20);
	cm_cbor_wr_cstr(w, "window");
	cm_cbor_wr_uint(w, window);
	cm_cbor_wr_cstr(w, "records");
	cm_cbor_wr_uint(w, 10000);
}

/* A genesis leaf with the given suite and window, signed by op. */
static void
genesis_with(const cm_key *op, const char *sig, const char *hash,
             uint64_t window, cm_buf *out)
{
	cm_buf     stmt = {0};
	cm_cbor_wr w;
	uint8_t    pub[CM_PUBKEY_LEN], s[CM_SIG_LEN];

	cm_key_public(op, pub);
	cm_cbor_wr_init(&w, &stmt);
	cm_cbor_wr_map(&w, 7);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_GENESIS_STMT);
	cm_cbor_wr_cstr(&w, "op");
	cm_cbor_wr_bytes(&w, CM_BYTES(pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "ckpt");
	cm_cbor_wr_bytes(&w, CM_BYTES(pub, CM_PUBKEY_LEN));
	cm_cbor_wr_cstr(&w, "time");
	cm_cbor_wr_uint(&w, 1);
	cm_cbor_wr_cstr(&w, "suite");
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_cstr(&w, sig);
	cm_cbor_wr_cstr(&w, "hash");
	cm_cbor_wr_cstr(&w, hash);
	cm_cbor_wr_cstr(&w, "origin");
	cm_cbor_wr_cstr(&w, "test.invalid/codec");
	cm_cbor_wr_cstr(&w, "params");
	wr_params(&w, window);
	TST_OK(cm_cbor_wr_finish(&w, NULL));
	TST_OK(cm_sign(op, "genesis", cm_buf_bytes(&stmt), s));
	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 3);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_GENESIS);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_bytes(&w, CM_BYTES(s, CM_SIG_LEN));
	cm_cbor_wr_cstr(&w, "stmt");
	cm_cbor_wr_bytes(&w, cm_buf_bytes(&stmt));
	TST_OK(cm_cbor_wr_finish(&w, NULL));
	cm_buf_fini(&stmt);
}

static void
test_genesis_suites(void)
{
	cm_key     *op = NULL;
	cm_buf      leaf = {0};
	ldg_genesis g;
	cm_diag     d;

	TST_OK(cm_key_generate(&op));
	genesis_with(op, "ed25519", "sha-256", 600000, &leaf);
	TST_OK(ldg_genesis_decode(cm_buf_bytes(&leaf), &g, NULL));
	TST_EQ_STR(g.origin, "test.invalid/codec");
	TST_EQ_U(g.params.max_records, 10000);
	/* Others are refused: SM2 + SM3 is for a later ledger. */
	cm_buf_reset(&leaf);
	genesis_with(op, "sm2", "sm3", 600000, &leaf);
	cm_diag_clear(&d);
	TST_ERR(ldg_genesis_decode(cm_buf_bytes(&leaf), &g, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "sm2 + sm3 not supported") != NULL);
	cm_buf_reset(&leaf);
	genesis_with(op, "ed25519", "sha-512", 600000, &leaf);
	TST_ERR(ldg_genesis_decode(cm_buf_bytes(&leaf), &g, NULL), CM_EPROTO);
	cm_buf_fini(&leaf);
	cm_key_free(op);
}

/* A genesis read from a ledger (open, audit) with a window out of bounds
 * is refused like one being made (ldg_init, in ldg_store_test): one second
 * to one day, inclusive. */
static void
test_genesis_window_bounds(void)
{
	static const struct {
		uint64_t window;
		bool     ok;
	} cases[] = {{0, false},
	             {LDG_WINDOW_MIN - 1, false},
	             {LDG_WINDOW_MIN, true},
	             {600000, true},
	             {LDG_WINDOW_MAX, true},
	             {LDG_WINDOW_MAX + 1ull, false},
	             {UINT64_MAX, false}};
	cm_key     *op = NULL;
	cm_buf      leaf = {0};
	ldg_genesis g;
	ldg_params  p;

	TST_OK(cm_key_generate(&op));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cm_diag d = {{0}};

		cm_buf_reset(&leaf);
		genesis_with(op, "ed25519", "sha-256", cases[i].window, &leaf);
		if (cases[i].ok) {
			TST_OK(ldg_genesis_decode(cm_buf_bytes(&leaf), &g, &d));
			TST_EQ_U(g.params.window_ms, cases[i].window);
			continue;
		}
		TST_ERR(ldg_genesis_decode(cm_buf_bytes(&leaf), &g, &d),
		        CM_EPROTO);
		TST_TRUE(strstr(d.msg, "genesis: window") != NULL);
		TST_TRUE(strstr(d.msg, "out of range (1000..86400000)") !=
		         NULL);
		/* ldg_params_check is the same rule. */
		ldg_params_default(&p);
		p.window_ms = cases[i].window;
		TST_ERR(ldg_params_check(&p, NULL), CM_EINVAL);
	}
	ldg_params_default(&p);
	TST_OK(ldg_params_check(&p, NULL));
	cm_buf_fini(&leaf);
	cm_key_free(op);
}

/* A five-member header leaf (no clock) of type t. */
static void
hleaf_five(const char *t, cm_bytes hdr, const uint8_t *sig, cm_buf *out)
{
	cm_cbor_wr w;

	cm_cbor_wr_init(&w, out);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, t);
	cm_cbor_wr_cstr(&w, "hdr");
	cm_cbor_wr_bytes(&w, hdr);
	cm_cbor_wr_cstr(&w, "sig");
	cm_cbor_wr_bytes(&w, CM_BYTES(sig, CM_SIG_LEN));
	cm_cbor_wr_cstr(&w, "first");
	cm_cbor_wr_uint(&w, 2);
	cm_cbor_wr_cstr(&w, "ltime");
	cm_cbor_wr_uint(&w, 5);
	TST_OK(cm_cbor_wr_finish(&w, NULL));
}

/* A header leaf (v2) holds the writer's clock reading beside the log time,
 * and one without it is refused; the earlier v1 form (no clock) is still
 * read, its clock being its log time, and re-encodes to the same bytes;
 * a v1 leaf with a clock is refused. */
static void
test_hleaf_clock(void)
{
	uint8_t   sig[CM_SIG_LEN] = {7}, kid[CM_KEYID_LEN] = {1};
	uint8_t   root[CM_HASH_LEN] = {2};
	cm_buf    hdr = {0}, hl = {0}, five = {0}, again = {0};
	ldg_hleaf v;
	cm_diag   d = {{0}};

	TST_OK(ldg_hdr_encode("o.test/x", kid, 1, 1000, 1, root, &hdr));
	memset(&v, 0, sizeof(v));
	v.hdr = cm_buf_bytes(&hdr);
	v.sig = CM_BYTES(sig, CM_SIG_LEN);
	v.clock = UINT64_MAX - 1;
	v.first = 2;
	v.log_time = UINT64_MAX;
	TST_OK(ldg_hleaf_encode(&v, &hl));
	TST_OK(cm_cbor_check(cm_buf_bytes(&hl), NULL));
	memset(&v, 0, sizeof(v));
	TST_OK(ldg_hleaf_decode(cm_buf_bytes(&hl), &v, NULL));
	TST_TRUE(!v.v1);
	TST_EQ_U(v.clock, UINT64_MAX - 1);
	TST_EQ_U(v.first, 2);
	TST_EQ_U(v.log_time, UINT64_MAX);
	TST_TRUE(cm_bytes_eq(v.hdr, cm_buf_bytes(&hdr)));
	/* v2 without a clock: refused. */
	hleaf_five(LDG_T_HLEAF, cm_buf_bytes(&hdr), sig, &five);
	TST_ERR(ldg_hleaf_decode(cm_buf_bytes(&five), &v, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "missing field \"clock\"") != NULL);
	/* v1: read, clock = log time, the same bytes again. */
	cm_buf_reset(&five);
	hleaf_five(LDG_T_HLEAF_V1, cm_buf_bytes(&hdr), sig, &five);
	TST_OK(ldg_hleaf_decode(cm_buf_bytes(&five), &v, NULL));
	TST_TRUE(v.v1);
	TST_EQ_U(v.clock, 5);
	TST_EQ_U(v.log_time, 5);
	TST_OK(ldg_hleaf_encode(&v, &again));
	TST_TRUE(cm_bytes_eq(cm_buf_bytes(&again), cm_buf_bytes(&five)));
	/* v1 with a clock: an unknown field there. */
	v.v1 = false;
	cm_buf_reset(&again);
	TST_OK(ldg_hleaf_encode(&v, &again));
	for (size_t i = 0; i + 14 <= again.len; i++)
		if (memcmp(again.p + i, "header-leaf/v2", 14) == 0)
			again.p[i + 13] = '1';
	cm_diag_clear(&d);
	TST_ERR(ldg_hleaf_decode(cm_buf_bytes(&again), &v, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "unknown field \"clock\"") != NULL);
	cm_buf_fini(&hdr);
	cm_buf_fini(&hl);
	cm_buf_fini(&five);
	cm_buf_fini(&again);
}

static void
test_types_and_fields(void)
{
	uint8_t    kid[CM_KEYID_LEN] = {1}, root[CM_HASH_LEN] = {2};
	cm_buf     hdr = {0}, hl = {0}, rl = {0}, other = {0};
	ldg_hdr    h;
	ldg_hleaf  hlv;
	ldg_rleaf  rlv;
	cm_diag    d;
	cm_cbor_wr w;

	TST_OK(ldg_hdr_encode("o.test/x", kid, 7, 1000, 3, root, &hdr));
	TST_OK(ldg_hdr_decode(cm_buf_bytes(&hdr), &h, NULL));
	TST_EQ_U(h.seq, 7);
	TST_EQ_U(h.n, 3);
	/* A header leaf is not a record leaf, nor the other way round. */
	memset(&hlv, 0, sizeof(hlv));
	hlv.hdr = cm_buf_bytes(&hdr);
	hlv.sig = CM_BYTES(root, 32);
	hlv.clock = 8;
	hlv.first = 5;
	hlv.log_time = 9;
	TST_OK(ldg_hleaf_encode(&hlv, &hl));
	cm_diag_clear(&d);
	TST_ERR(ldg_rleaf_decode(cm_buf_bytes(&hl), &rlv, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "where tally/record-leaf/v1 was expected") !=
	         NULL);
	/* Header leaf: sig must be 64 bytes. */
	TST_ERR(ldg_hleaf_decode(cm_buf_bytes(&hl), &hlv, NULL), CM_EPROTO);
	TST_OK(ldg_rleaf_encode(root, 4, 0, cm_buf_bytes(&hdr), &rl));
	TST_OK(ldg_rleaf_decode(cm_buf_bytes(&rl), &rlv, NULL));
	TST_EQ_U(rlv.hi, 4);
	/* seq 0 is refused; so are unknown fields. */
	cm_buf_reset(&hdr);
	TST_OK(ldg_hdr_encode("o.test/x", kid, 0, 1000, 3, root, &hdr));
	cm_diag_clear(&d);
	TST_ERR(ldg_hdr_decode(cm_buf_bytes(&hdr), &h, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "seq starts at 1") != NULL);
	cm_cbor_wr_init(&w, &other);
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_RLEAF);
	cm_cbor_wr_cstr(&w, "zz");
	cm_cbor_wr_uint(&w, 1);
	TST_OK(cm_cbor_wr_finish(&w, NULL));
	cm_diag_clear(&d);
	TST_ERR(ldg_rleaf_decode(cm_buf_bytes(&other), &rlv, &d), CM_EPROTO);
	TST_TRUE(strstr(d.msg, "unknown field \"zz\"") != NULL);
	cm_buf_fini(&hdr);
	cm_buf_fini(&hl);
	cm_buf_fini(&rl);
	cm_buf_fini(&other);
}

/* U+0000 in any text is refused by the canonical check every decoder
 * runs first (format.md rule 11): in a record's type, where the scope
 * check would otherwise see "tax", and in a header's origin.  The writer
 * cannot produce it either. */
static void
test_text_nul(void)
{
	uint8_t    kid[CM_KEYID_LEN] = {1}, root[CM_HASH_LEN] = {2};
	cm_buf     rec = {0}, hdr = {0};
	cm_bytes   kind;
	cm_cbor_wr w;
	cm_diag    d;
	ldg_hdr    h;
	uint8_t   *x;

	cm_cbor_wr_init(&w, &rec);
	cm_cbor_wr_map(&w, 5);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_RECORD);
	cm_cbor_wr_cstr(&w, "body");
	cm_cbor_wr_map(&w, 0);
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, "attestation");
	cm_cbor_wr_cstr(&w, "type");
	cm_cbor_wr_text(&w, CM_BYTES("tax\0.x", 6));
	cm_cbor_wr_cstr(&w, "subject");
	cm_cbor_wr_cstr(&w, "91350100M000100Y43");
	TST_OK(cm_cbor_wr_end(&w));
	cm_diag_clear(&d);
	TST_ERR(ldg_record_head(cm_buf_bytes(&rec), &kind, NULL, NULL, &d),
	        CM_ENONCANON);
	TST_EQ_STR(
	    d.msg,
	    "record: non-canonical: text at offset 47 holds U+0000 (NUL)");
	cm_cbor_wr_init(&w, &rec);
	cm_cbor_wr_text(&w, CM_BYTES("tax\0.x", 6));
	TST_ERR(cm_cbor_wr_finish(&w, NULL), CM_ENONCANON);

	TST_OK(ldg_hdr_encode("o.test/x", kid, 7, 1000, 3, root, &hdr));
	/* "origin" sorts last: its text ends the header. */
	x = hdr.p + hdr.len - 1;
	TST_TRUE(*x == 'x');
	*x = 0;
	cm_diag_clear(&d);
	TST_ERR(ldg_hdr_decode(cm_buf_bytes(&hdr), &h, &d), CM_ENONCANON);
	TST_TRUE(strstr(d.msg, "batch header: non-canonical: text at offset") ==
	         d.msg);
	TST_TRUE(strstr(d.msg, "holds U+0000 (NUL)") != NULL);
	cm_buf_fini(&rec);
	cm_buf_fini(&hdr);
}

static void
test_batch_build_round_trip(void)
{
	cm_key       *k = NULL;
	cm_buf        rec = {0}, batch = {0}, again = {0};
	cm_bytes      rb[2];
	ldg_batchfile bf;
	cm_cbor_wr    w;
	uint8_t       pub[CM_PUBKEY_LEN];

	TST_OK(cm_key_generate(&k));
	cm_cbor_wr_init(&w, &rec);
	cm_cbor_wr_map(&w, 2);
	cm_cbor_wr_cstr(&w, "t");
	cm_cbor_wr_cstr(&w, LDG_T_RECORD);
	cm_cbor_wr_cstr(&w, "kind");
	cm_cbor_wr_cstr(&w, "toy");
	TST_OK(cm_cbor_wr_finish(&w, NULL));
	rb[0] = rb[1] = cm_buf_bytes(&rec);
	TST_OK(ldg_batch_build("o.test/x", k, 1, 5, rb, 2, &batch, NULL));
	TST_OK(ldg_batchfile_decode(cm_buf_bytes(&batch), &bf, NULL));
	TST_EQ_U(bf.nrecs, 2);
	cm_key_public(k, pub);
	TST_OK(cm_verify(pub, "batch-header", bf.h.hdr, bf.h.sig.p));
	TST_OK(ldg_batchfile_encode(bf.h.hdr, bf.h.sig.p, rb, 2, &again));
	TST_TRUE(cm_bytes_eq(cm_buf_bytes(&again), cm_buf_bytes(&batch)));
	/* A record that is not canonical is refused before signing. */
	rb[1] = CM_BYTES("\xa1\x61t\x18\x01", 5);
	cm_buf_reset(&batch);
	TST_ERR(ldg_batch_build("o.test/x", k, 1, 5, rb, 2, &batch, NULL),
	        CM_ENONCANON);
	cm_buf_fini(&rec);
	cm_buf_fini(&batch);
	cm_buf_fini(&again);
	cm_key_free(k);
}

/* The record leaf skips the writer's self-check (hot path): check here
 * that it is canonical at every head width. */
static void
test_rleaf_canonical(void)
{
	static const uint64_t ints[] = {
	    0,     23,    24,          255,         256,
	    65535, 65536, 4294967295u, 4294967296u, UINT64_MAX};
	static const size_t lens[] = {0, 23, 24, 255, 256, 65536};
	uint8_t             hh[CM_HASH_LEN] = {9};
	static uint8_t      rec[65536];
	cm_buf              leaf = {0};

	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++)
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			cm_buf_reset(&leaf);
			TST_OK(ldg_rleaf_encode(hh, ints[i], ints[9 - i],
			                        CM_BYTES(rec, lens[j]), &leaf));
			TST_OK(cm_cbor_check(cm_buf_bytes(&leaf), NULL));
		}
	cm_buf_fini(&leaf);
}

/* ldg_fields_from_map gives ldg_fields_decode's answers: the same code,
 * message and values, for a good map, an unknown key, a missing field, a
 * wrong "t", and a map too large to index (decoded by the walk). */
static void
test_fields_from_map(void)
{
	static const char *const keys[][6] = {
	    {"t", "body", "kind", NULL},
	    {"t", "zzz", "body", "kind", NULL},
	    {"t", "kind", NULL},
	    {"t", "body", "kind", NULL},
	};
	cm_buf      b = {0};
	cm_cbor_wr  w;
	cm_cbor_map m;
	char        key[8];

	for (size_t c = 0; c < 5; c++) {
		ldg_field f1[3] = {{"t", true}, {"body", true}, {"kind", true}};
		ldg_field f2[3] = {{"t", true}, {"body", true}, {"kind", true}};
		cm_diag   d1 = {{0}}, d2 = {{0}};
		size_t    n = 0;
		cm_err    r1, r2;

		cm_buf_reset(&b);
		cm_cbor_wr_init(&w, &b);
		if (c < 4) {
			while (keys[c][n] != NULL)
				n++;
			cm_cbor_wr_map(&w, n);
			for (size_t i = 0; i < n; i++) {
				cm_cbor_wr_cstr(&w, keys[c][i]);
				if (strcmp(keys[c][i], "t") == 0)
					cm_cbor_wr_cstr(&w, c == 3
					                        ? "other/v1"
					                        : LDG_T_RECORD);
				else
					cm_cbor_wr_uint(&w, i);
			}
		} else {
			cm_cbor_wr_map(&w, CM_CBOR_MAP_MAX + 2);
			cm_cbor_wr_cstr(&w, "t");
			cm_cbor_wr_cstr(&w, LDG_T_RECORD);
			for (int i = 0; i < CM_CBOR_MAP_MAX + 1; i++) {
				snprintf(key, sizeof(key), "k%02d", i);
				cm_cbor_wr_cstr(&w, key);
				cm_cbor_wr_uint(&w, (uint64_t) i);
			}
		}
		TST_OK(cm_cbor_wr_finish(&w, NULL));
		TST_OK(cm_cbor_check_map(cm_buf_bytes(&b), &m, NULL));
		TST_TRUE(m.complete == (c < 4));
		r1 = ldg_fields_decode(cm_buf_bytes(&b), LDG_T_RECORD, f1, 3,
		                       &d1);
		r2 = ldg_fields_from_map(&m, LDG_T_RECORD, f2, 3, &d2);
		TST_ERR(r2, r1);
		TST_EQ_STR(d2.msg, d1.msg);
		TST_TRUE((r1 == CM_OK) == (c == 0));
		for (size_t i = 0; i < 3; i++) {
			TST_TRUE(f1[i].present == f2[i].present);
			TST_TRUE(f1[i].val.p == f2[i].val.p &&
			         f1[i].val.len == f2[i].val.len);
		}
	}
	cm_buf_fini(&b);
}

/* ldg_record_head gives the same kind and refs whether the check could
 * note the record's entries (34 keys: it could not, so they are walked) or
 * not, and refuses a record that is not a map. */
static void
test_record_head_many_keys(void)
{
	for (int extra = 2; extra <= 30; extra += 28) {
		cm_buf      b = {0};
		cm_cbor_wr  w;
		cm_cbor_map m;
		cm_bytes    kind = {0}, refs = {0};
		char        key[8];

		cm_cbor_wr_init(&w, &b);
		cm_cbor_wr_map(&w, (uint64_t) extra + 4);
		cm_cbor_wr_cstr(&w, "t");
		cm_cbor_wr_cstr(&w, LDG_T_RECORD);
		for (int i = 0; i < extra; i++) {
			snprintf(key, sizeof(key), "x%02d", i);
			cm_cbor_wr_cstr(&w, key);
			cm_cbor_wr_uint(&w, (uint64_t) i);
		}
		cm_cbor_wr_cstr(&w, "body");
		cm_cbor_wr_map(&w, 0);
		cm_cbor_wr_cstr(&w, "kind");
		cm_cbor_wr_cstr(&w, "toy");
		cm_cbor_wr_cstr(&w, "refs");
		cm_cbor_wr_array(&w, 1);
		cm_cbor_wr_uint(&w, 5);
		TST_OK(cm_cbor_wr_finish(&w, NULL));
		TST_OK(
		    ldg_record_head(cm_buf_bytes(&b), &kind, &refs, &m, NULL));
		TST_TRUE(m.complete == (extra + 4 <= CM_CBOR_MAP_MAX));
		TST_TRUE(cm_bytes_eq(kind, CM_BYTES("toy", 3)));
		TST_TRUE(cm_bytes_eq(refs, CM_BYTES("\x81\x05", 2)));
		cm_buf_fini(&b);
	}
	{
		cm_bytes kind, refs;
		cm_diag  d = {{0}};

		TST_ERR(ldg_record_head(CM_BYTES("\x82\x01\x02", 3), &kind,
		                        &refs, NULL, &d),
		        CM_EPROTO);
		TST_EQ_STR(d.msg, "record: not a map");
	}
}

TST_MAIN(TST_CASE(test_genesis_suites), TST_CASE(test_genesis_window_bounds),
         TST_CASE(test_hleaf_clock), TST_CASE(test_types_and_fields),
         TST_CASE(test_record_head_many_keys), TST_CASE(test_fields_from_map),
         TST_CASE(test_rleaf_canonical), TST_CASE(test_batch_build_round_trip),
         TST_CASE(test_text_nul))
