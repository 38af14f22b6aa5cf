/* SPDX-License-Identifier: MIT */
/* tests/services/svc_proto_test.c -- the msgpack wrapper's bounds and
 * round trips, the framing, the MACs and the session key derivation,
 * against tests/vectors/protocol/vectors.txt (made by gen.py there from an
 * independent Python implementation). */
#include "services/svc.h"
#include "tests/tst.h"
#include "tests/tst_file.h"

#define VEC "tests/vectors/protocol/vectors.txt"

/* The vector called name, decoded, into out. */
static void
vec(const char *name, cm_buf *out)
{
	cm_buf b = {0};
	size_t n = strlen(name);
	bool   found = false;

	cm_buf_reset(out);
	TST_TRUE(tst_file_read(VEC, &b));
	for (size_t i = 0; i < b.len && !found;) {
		size_t e = i;

		while (e < b.len && b.p[e] != '\n')
			e++;
		if (e - i > n + 1 && memcmp(b.p + i, name, n) == 0 &&
		    b.p[i + n] == ' ') {
			TST_OK(cm_hex_decode(out,
			                     (const char *) b.p + i + n + 1,
			                     e - i - n - 1));
			found = true;
		}
		i = e + 1;
	}
	TST_TRUE(found);
	cm_buf_fini(&b);
}

static cm_err
dec(const char *hex_or_raw, size_t len)
{
	svc_doc doc;
	cm_err  rv = svc_mp_decode(CM_BYTES(hex_or_raw, len), &doc, NULL);

	svc_doc_fini(&doc);
	return (rv);
}

static void
test_mp_bounds(void)
{
	uint8_t deep[32];
	uint8_t many[SVC_MP_NODES + 8];

	TST_ERR(dec("", 0), CM_EPROTO);
	TST_ERR(dec("\xc1", 1), CM_EPROTO);                   /* never used */
	TST_ERR(dec("\xca\0\0\0\0", 5), CM_EPROTO);           /* float */
	TST_ERR(dec("\xd4\x01\x00", 3), CM_EPROTO);           /* fixext */
	TST_ERR(dec("\xdd\xff\xff\xff\xff", 5), CM_EPROTO);   /* count lies */
	TST_ERR(dec("\xdb\xff\xff\xff\xff", 5), CM_EPROTO);   /* length lies */
	TST_ERR(dec("\xa2\xc3\x28", 3), CM_EPROTO);           /* not UTF-8 */
	TST_ERR(dec("\xa1\x00", 2), CM_EPROTO);               /* U+0000 */
	TST_ERR(dec("\x81\x01\x02", 3), CM_EPROTO);           /* key not text */
	TST_ERR(dec("\x82\xa1x\x01\xa1x\x02", 7), CM_EPROTO); /* repeated */
	TST_ERR(dec("\x01\x02", 2), CM_EPROTO);               /* trailing */
	TST_OK(dec("\x82\xa1x\x01\xa1y\x02", 7));
	TST_OK(dec("\xc4\x00", 2)); /* empty bin */
	memset(deep, 0x91, sizeof(deep));
	deep[SVC_MP_DEPTH] = 0xc0;
	TST_OK(dec((const char *) deep, SVC_MP_DEPTH + 1));
	deep[SVC_MP_DEPTH] = 0x91;
	deep[SVC_MP_DEPTH + 1] = 0xc0;
	TST_ERR(dec((const char *) deep, SVC_MP_DEPTH + 2), CM_ETOOBIG);
	/* An array of SVC_MP_NODES nils is one node too many. */
	many[0] = 0xdc;
	many[1] = SVC_MP_NODES >> 8;
	many[2] = SVC_MP_NODES & 0xff;
	memset(many + 3, 0xc0, SVC_MP_NODES);
	TST_ERR(dec((const char *) many, 3 + SVC_MP_NODES), CM_ETOOBIG);
	many[2] = (SVC_MP_NODES - 1) & 0xff;
	many[1] = (SVC_MP_NODES - 1) >> 8;
	TST_OK(dec((const char *) many, 3 + SVC_MP_NODES - 1));
}

static void
test_mp_roundtrip(void)
{
	cm_buf         b = {0};
	svc_mp_wr      w;
	svc_doc        doc;
	const svc_val *r;
	uint8_t        big[70000];

	memset(big, 7, sizeof(big));
	svc_mp_init(&w, &b);
	svc_mp_map(&w, 6);
	svc_mp_cstr(&w, "u");
	svc_mp_uint(&w, UINT64_MAX);
	svc_mp_cstr(&w, "i");
	svc_mp_int(&w, INT64_MIN);
	svc_mp_cstr(&w, "s");
	svc_mp_cstr(&w, "");
	svc_mp_cstr(&w, "b");
	svc_mp_bin(&w, CM_BYTES(big, sizeof(big)));
	svc_mp_cstr(&w, "a");
	svc_mp_array(&w, 2);
	svc_mp_bool(&w, true);
	svc_mp_nil(&w);
	svc_mp_cstr(&w, "m");
	svc_mp_map(&w, 0);
	TST_OK(svc_mp_end(&w));
	TST_OK(svc_mp_decode(cm_buf_bytes(&b), &doc, NULL));
	r = doc.root;
	TST_TRUE(r->type == SVC_MAP && r->n == 6);
	TST_TRUE(svc_map_get(r, "u")->u == UINT64_MAX);
	TST_TRUE(svc_map_get(r, "i")->type == SVC_INT &&
	         svc_map_get(r, "i")->i == INT64_MIN);
	TST_TRUE(svc_map_get(r, "s")->type == SVC_STR &&
	         svc_map_get(r, "s")->s.len == 0);
	TST_TRUE(svc_map_get(r, "b")->s.len == sizeof(big) &&
	         memcmp(svc_map_get(r, "b")->s.p, big, sizeof(big)) == 0);
	TST_TRUE(svc_map_get(r, "a")->n == 2 && svc_map_get(r, "a")->v[0].b &&
	         svc_map_get(r, "a")->v[1].type == SVC_NIL);
	TST_TRUE(svc_map_get(r, "m")->type == SVC_MAP);
	TST_TRUE(svc_map_get(r, "x") == NULL);
	svc_doc_fini(&doc);
	cm_buf_fini(&b);
}

/* The plain vectors: encoded as the Python side did, and decoded. */
static void
test_plain_vectors(void)
{
	cm_buf    v = {0}, out = {0};
	svc_req   r;
	uint8_t   batch[40];
	cm_buf    args = {0};
	svc_mp_wr w;

	vec("plain_checkpoint", &v);
	TST_OK(svc_req_encode(&out, NULL, 0, "checkpoint", CM_BYTES("\x80", 1),
	                      NULL));
	TST_TRUE(out.len == v.len && memcmp(out.p, v.p, v.len) == 0);
	TST_OK(svc_req_decode(cm_buf_bytes(&v), &r, NULL));
	TST_TRUE(!r.session && cm_bytes_eq_str(r.op, "checkpoint") &&
	         r.args->n == 0);
	svc_req_fini(&r);
	for (size_t i = 0; i < sizeof(batch); i++)
		batch[i] = (uint8_t) i;
	svc_mp_init(&w, &args);
	svc_mp_map(&w, 1);
	svc_mp_cstr(&w, "batch");
	svc_mp_bin(&w, CM_BYTES(batch, sizeof(batch)));
	TST_OK(svc_mp_end(&w));
	vec("plain_submit", &v);
	TST_OK(
	    svc_req_encode(&out, NULL, 0, "submit", cm_buf_bytes(&args), NULL));
	TST_TRUE(out.len == v.len && memcmp(out.p, v.p, v.len) == 0);
	vec("plain_consistency", &v);
	TST_OK(svc_req_decode(cm_buf_bytes(&v), &r, NULL));
	TST_TRUE(svc_map_get(r.args, "to")->u == 300);
	svc_req_fini(&r);
	/* Shapes refused. */
	TST_ERR(svc_req_decode(CM_BYTES("\x92\x01\xa1x", 4), &r, NULL),
	        CM_EPROTO);
	TST_ERR(svc_req_decode(CM_BYTES("\x93\x02\xa1x\x80", 5), &r, NULL),
	        CM_EPROTO);
	TST_ERR(svc_req_decode(CM_BYTES("\x93\x01\xa0\x80", 4), &r, NULL),
	        CM_EPROTO); /* empty op */
	TST_ERR(svc_req_decode(CM_BYTES("\x93\x01\x01\x80", 4), &r, NULL),
	        CM_EPROTO); /* op not a string */
	cm_buf_fini(&v);
	cm_buf_fini(&out);
	cm_buf_fini(&args);
}

static void
test_session_vectors(void)
{
	static const char *alice =
	    "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
	static const char *bob_pub =
	    "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
	cm_buf        v = {0}, tr = {0}, x = {0}, args = {0}, out = {0};
	uint8_t       priv[32], bpub[32], apub[32], mac[SVC_MAC_LEN];
	uint8_t       nonce[SVC_NONCE_LEN], kid[32], sig[64];
	svc_sess_keys k;
	svc_req       r;
	svc_resp      rs;
	svc_mp_wr     w;

	TST_OK(cm_hex_decode(&x, alice, 64));
	memcpy(priv, x.p, 32);
	cm_buf_reset(&x);
	TST_OK(cm_hex_decode(&x, bob_pub, 64));
	memcpy(bpub, x.p, 32);
	TST_OK(cm_x25519_public(priv, apub));
	vec("session_nonce", &v);
	memcpy(nonce, v.p, SVC_NONCE_LEN);
	vec("session_kid", &v);
	memcpy(kid, v.p, 32);
	vec("session_sig", &v);
	memcpy(sig, v.p, 64);
	TST_OK(svc_transcript("example.test/log1", kid, nonce, apub, bpub, 3600,
	                      &tr));
	vec("transcript", &v);
	TST_TRUE(tr.len == v.len && memcmp(tr.p, v.p, v.len) == 0);
	TST_OK(svc_sess_derive(priv, bpub, nonce, cm_buf_bytes(&tr), sig, &k));
	vec("session_sid", &v);
	TST_TRUE(v.len == SVC_SID_LEN && memcmp(k.sid, v.p, v.len) == 0);
	vec("session_c2s", &v);
	TST_TRUE(memcmp(k.c2s, v.p, 32) == 0);
	vec("session_s2c", &v);
	TST_TRUE(memcmp(k.s2c, v.p, 32) == 0);
	/* The request: same bytes, decodes, its MAC checks. */
	svc_mp_init(&w, &args);
	svc_mp_map(&w, 2);
	svc_mp_cstr(&w, "index");
	svc_mp_uint(&w, 3);
	svc_mp_cstr(&w, "size");
	svc_mp_uint(&w, 10);
	TST_OK(svc_mp_end(&w));
	TST_OK(
	    svc_req_encode(&out, &k, 7, "inclusion", cm_buf_bytes(&args), mac));
	vec("session_request", &v);
	TST_TRUE(out.len == v.len && memcmp(out.p, v.p, v.len) == 0);
	vec("session_request_mac", &v);
	TST_TRUE(memcmp(mac, v.p, SVC_MAC_LEN) == 0);
	vec("session_request", &v);
	TST_OK(svc_req_decode(cm_buf_bytes(&v), &r, NULL));
	TST_TRUE(r.session && r.counter == 7 &&
	         memcmp(r.sid, k.sid, SVC_SID_LEN) == 0);
	{
		uint8_t m2[SVC_MAC_LEN];

		svc_req_mac(k.c2s, r.maced, m2);
		TST_TRUE(memcmp(m2, r.mac, SVC_MAC_LEN) == 0);
		/* One flipped bit anywhere in what it covers breaks it. */
		((uint8_t *) v.p)[r.maced.len - 1] ^= 1;
		svc_req_mac(k.c2s, r.maced, m2);
		TST_TRUE(memcmp(m2, r.mac, SVC_MAC_LEN) != 0);
	}
	svc_req_fini(&r);
	/* The response. */
	cm_buf_reset(&args);
	svc_mp_init(&w, &args);
	svc_mp_map(&w, 1);
	svc_mp_cstr(&w, "size");
	svc_mp_uint(&w, 10);
	TST_OK(svc_mp_end(&w));
	TST_OK(svc_resp_encode(&out, SVC_OK, "ok", cm_buf_bytes(&args), &k, 7,
	                       mac));
	vec("session_response", &v);
	TST_TRUE(out.len == v.len && memcmp(out.p, v.p, v.len) == 0);
	TST_OK(svc_resp_decode(cm_buf_bytes(&v), &rs, NULL));
	{
		uint8_t m2[SVC_MAC_LEN];

		svc_resp_mac(k.s2c, k.sid, 7, mac, rs.maced, m2);
		TST_TRUE(rs.session && rs.counter == 7 &&
		         memcmp(m2, rs.mac, SVC_MAC_LEN) == 0);
		/* Bound to the request: another request MAC, another MAC. */
		mac[0] ^= 1;
		svc_resp_mac(k.s2c, k.sid, 7, mac, rs.maced, m2);
		TST_TRUE(memcmp(m2, rs.mac, SVC_MAC_LEN) != 0);
	}
	svc_resp_fini(&rs);
	/* A small-order peer key gives no session. */
	memset(bpub, 0, 32);
	TST_ERR(svc_sess_derive(priv, bpub, nonce, cm_buf_bytes(&tr), sig, &k),
	        CM_EBADKEY);
	cm_buf_fini(&v);
	cm_buf_fini(&tr);
	cm_buf_fini(&x);
	cm_buf_fini(&args);
	cm_buf_fini(&out);
}

static void
test_url_check(void)
{
	TST_OK(svc_tp_url_check("tcp://127.0.0.1:7700", false, NULL));
	TST_OK(svc_tp_url_check("tcp://localhost:7700", false, NULL));
	TST_OK(svc_tp_url_check("tcp://[::1]:7700", false, NULL));
	TST_OK(svc_tp_url_check("ipc:///tmp/x", false, NULL));
	TST_ERR(svc_tp_url_check("tcp://0.0.0.0:7700", false, NULL), CM_EINVAL);
	TST_ERR(svc_tp_url_check("tcp://:7700", false, NULL), CM_EINVAL);
	TST_ERR(svc_tp_url_check("tcp://127.evil.com:7700", false, NULL),
	        CM_EINVAL);
	TST_OK(svc_tp_url_check("tcp://0.0.0.0:7700", true, NULL));
	TST_ERR(svc_tp_url_check("tls+tcp://127.0.0.1:7700", true, NULL),
	        CM_EINVAL);
	TST_ERR(svc_tp_url_check("ipc://", false, NULL), CM_EINVAL);
	TST_ERR(svc_tp_url_check("ws://127.0.0.1:1", false, NULL), CM_EINVAL);
}

TST_MAIN(TST_CASE(test_mp_bounds), TST_CASE(test_mp_roundtrip),
         TST_CASE(test_plain_vectors), TST_CASE(test_session_vectors),
         TST_CASE(test_url_check))
