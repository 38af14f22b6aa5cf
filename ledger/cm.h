/* SPDX-License-Identifier: MIT */
/* ledger/cm.h -- shared primitives: errors, byte views, growable buffers,
 * hex/base64, SHA-256 and Ed25519 (OpenSSL), the canonical CBOR reader and
 * writer (libcbor), and JSON <-> canonical CBOR (jansson).  Every module may
 * include this header; it includes no third-party header.  Formats are in
 * docs/format.md.  Thread safety: all functions are reentrant; objects are not
 * shared between threads without the caller's locking. */
#ifndef LEDGER_CM_H
#define LEDGER_CM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CM_MUST_CHECK __attribute__((warn_unused_result))
#define CM_PRINTF(a, b) __attribute__((format(printf, a, b)))
/* For a hot loop specialised by a constant argument at each call. */
#define CM_INLINE_ALWAYS inline __attribute__((always_inline))
#define CM_ALWAYS(x) (x)
#define CM_NEVER(x) (x)

/* ---- errors ------------------------------------------------------------ */
#define CM_ERRORS(X)                                                           \
	X(CM_OK, "success")                                                    \
	X(CM_ENOMEM, "out of memory")                                          \
	X(CM_EINVAL, "invalid argument")                                       \
	X(CM_ENOTFOUND, "not found")                                           \
	X(CM_EEXIST, "already exists")                                         \
	X(CM_EPROTO, "malformed input")                                        \
	X(CM_ENONCANON, "not canonical CBOR")                                  \
	X(CM_ETOOBIG, "too large")                                             \
	X(CM_ECORRUPT, "store corrupt")                                        \
	X(CM_EBADSIG, "signature mismatch")                                    \
	X(CM_EBADKEY, "unacceptable public key")                               \
	X(CM_ECRYPTO, "crypto failure")                                        \
	X(CM_EIO, "I/O error")                                                 \
	X(CM_ECLOSED, "closed")                                                \
	X(CM_EREADONLY, "ledger is read-only")                                 \
	X(CM_EMAPFULL, "map full")                                             \
	X(CM_EBUSY, "busy")                                                    \
	X(CM_EORIGIN, "wrong origin")                                          \
	X(CM_EUNKNOWNKEY, "unknown key")                                       \
	X(CM_EKEYREVOKED, "key not active")                                    \
	X(CM_EDENIED, "not permitted")                                         \
	X(CM_ESEQGAP, "sequence gap")                                          \
	X(CM_ESEQCONFLICT, "sequence conflict")                                \
	X(CM_EDUPLICATE, "already accepted")                                   \
	X(CM_ETIME, "claimed time outside the window")                         \
	X(CM_EREF, "bad reference")                                            \
	X(CM_EKIND, "unknown record kind")                                     \
	X(CM_EPERM, "file permissions too open")                               \
	X(CM_EVERIFY, "verification failed")                                   \
	X(CM_EACCES, "permission denied")                                      \
	X(CM_EROFS, "read-only file system")                                   \
	X(CM_ENOSPC, "no space left on device")

typedef enum cm_err {
#define CM_ENUM(name, msg) name,
	CM_ERRORS(CM_ENUM)
#undef CM_ENUM
	    CM_NERR
} cm_err;

/* The code for an errno value: CM_ENOMEM, CM_EACCES (EACCES, EPERM),
 * CM_EROFS, CM_ENOSPC (ENOSPC, EDQUOT), CM_ENOTFOUND (ENOENT), else
 * CM_EIO.  The one mapping of errno; LMDB's codes map in ldg_lmdb.c. */
cm_err cm_err_from_errno(int e);
/* The message for e; a static string, never NULL. */
const char *cm_strerror(cm_err e);
/* The enum name for e ("CM_EPROTO"); a static string, never NULL. */
const char *cm_errname(cm_err e);

/* A diagnostic: the reason behind an error, one line, for people.  Functions
 * that take a cm_diag * accept NULL.  cm_diag_set keeps the first message set
 * (the innermost cause) unless the diag was cleared. */
typedef struct cm_diag {
	char msg[256];
} cm_diag;
void cm_diag_clear(cm_diag *d);
void cm_diag_set(cm_diag *d, const char *fmt, ...) CM_PRINTF(2, 3);
/* Sets the message and returns e, for "return cm_fail(d, CM_EPROTO, ...)". */
cm_err cm_fail(cm_diag *d, cm_err e, const char *fmt, ...) CM_PRINTF(3, 4);

/* ---- memory and bytes -------------------------------------------------- */
void *cm_malloc(size_t n);
void *cm_calloc(size_t n, size_t size);
void *cm_realloc(void *p, size_t n);
void  cm_free(void *p); /* NULL is a no-op */
char *cm_strdup(const char *s);

/* A borrowed view of bytes; never owns p. */
typedef struct cm_bytes {
	const uint8_t *p;
	size_t         len;
} cm_bytes;
#define CM_BYTES(p, len) ((cm_bytes){(const uint8_t *) (p), (len)})
bool cm_bytes_eq(cm_bytes a, cm_bytes b);
/* a equals the bytes of the C string s (a literal, or a NUL-free string),
 * compared with both lengths: how decoded text meets a constant. */
bool cm_bytes_eq_str(cm_bytes a, const char *s);
int  cm_bytes_cmp(cm_bytes a, cm_bytes b); /* bytewise, shorter first on tie */

/* A growable owned buffer.  Zero-initialise ({0}) before use; release with
 * cm_buf_fini().  On CM_ENOMEM the contents are unchanged. */
typedef struct cm_buf {
	uint8_t *p;
	size_t   len;
	size_t   cap;
} cm_buf;
cm_err   cm_buf_reserve(cm_buf *b, size_t extra);
cm_err   cm_buf_append(cm_buf *b, const void *p, size_t len);
cm_err   cm_buf_append_byte(cm_buf *b, uint8_t c);
cm_err   cm_buf_printf(cm_buf *b, const char *fmt, ...) CM_PRINTF(2, 3);
void     cm_buf_reset(cm_buf *b); /* len = 0, keeps memory */
void     cm_buf_fini(cm_buf *b);  /* frees; a zeroed buf is a no-op */
cm_bytes cm_buf_bytes(const cm_buf *b);
/* Wipes then frees (for secrets). */
void cm_buf_fini_secret(cm_buf *b);
void cm_wipe(void *p, size_t len);

/* Big-endian integers. */
void     cm_put_u64be(uint8_t out[8], uint64_t v);
uint64_t cm_get_u64be(const uint8_t in[8]);
void     cm_put_u32be(uint8_t out[4], uint32_t v);
uint32_t cm_get_u32be(const uint8_t in[4]);

/* ---- text encodings ---------------------------------------------------- */
/* Lower-case hex of in, NUL-terminated, appended to out. */
cm_err cm_hex_encode(cm_buf *out, cm_bytes in);
/* The value of one hex digit [0-9a-fA-F] (a byte value), or -1. */
int cm_hex_value(int c);
/* Decodes exactly: even length, [0-9a-fA-F] only.  Appends to out. */
CM_MUST_CHECK cm_err cm_hex_decode(cm_buf *out, const char *s, size_t len);
/* Standard base64 (RFC 4648 section 4) with padding, NUL-terminated. */
cm_err cm_b64_encode(cm_buf *out, cm_bytes in);
/* Strict: canonical padding, no whitespace, unused bits zero. */
CM_MUST_CHECK cm_err cm_b64_decode(cm_buf *out, const char *s, size_t len);
/* True if s[0..len) is valid UTF-8 (no overlongs, surrogates, > U+10FFFF).
 * U+0000 is valid here. */
bool cm_utf8_valid(const uint8_t *s, size_t len);
/* True if s[0..len) is Tally text (docs/format.md section 1): valid UTF-8
 * holding no U+0000, i.e. no byte 0x00.  The canonical CBOR profile
 * requires it of every text string. */
bool cm_text_valid(const uint8_t *s, size_t len);

/* ---- buffered reading (ledger/cm_base.c) -------------------------------
 * A read window over a read function, for the streaming readers (EPCIS
 * documents, CSV files): one chunk is held, nothing grows. */
/* Fills buf with up to cap bytes; *out_n 0 at the end. */
typedef cm_err (*cm_read_fn)(void *arg, uint8_t *buf, size_t cap,
                             size_t *out_n);
#define CM_READER_CHUNK 65536
typedef struct cm_reader {
	cm_read_fn rd;
	void      *arg;
	uint8_t    buf[CM_READER_CHUNK];
	size_t     off, len;
	uint64_t   pos; /* bytes taken */
	bool       eof;
	cm_err     err; /* the read function's error, once it failed */
} cm_reader;
void cm_reader_init(cm_reader *r, cm_read_fn rd, void *arg);
/* The next byte, or -1 at the end or after a read error (r->err). */
int cm_reader_peek(cm_reader *r);
/* Consumes the byte cm_reader_peek returned (which was not -1). */
static inline void
cm_reader_take(cm_reader *r)
{
	r->off++;
	r->pos++;
}

/* ---- time -------------------------------------------------------------- */
/* Milliseconds since the Unix epoch, UTC (CLOCK_REALTIME).  Only tools and
 * the writer's caller read the clock; validators never do. */
uint64_t cm_now_ms(void);
/* Calendar dates are Asia/Shanghai (UTC+8, no DST since 1991): the first ms
 * of "YYYY-MM-DD" there, or of "YYYY-MM-DDTHH:MM:SS" local.  CM_EPROTO on a
 * malformed or impossible date. */
CM_MUST_CHECK cm_err cm_date_parse(const char *s, uint64_t *out_ms);
#define CM_TZ_OFFSET_MS (8ULL * 3600 * 1000)

/* ---- durable files (ledger/cm_file.c) ---------------------------------- */
/* fsyncs path, a file or a directory.  A file's fsync makes its bytes
 * durable, not its name; a directory's makes the names just created,
 * linked, renamed or removed in it durable.  CM_EIO (path and reason in
 * d). */
cm_err cm_sync_path(const char *path, cm_diag *d);
/* fsyncs the directory that holds path ("." for a bare name), after path
 * was created, linked, renamed or removed.  CM_EIO, CM_ENOMEM. */
cm_err cm_sync_parent(const char *path, cm_diag *d);
/* The system's text for errno value e, into buf (strerror_r). */
void cm_errno_text(int e, char *buf, size_t len);

/* ---- crypto (ledger/cm_crypto.c, the one file that includes OpenSSL) ---- */
#define CM_HASH_LEN 32
#define CM_PUBKEY_LEN 32
#define CM_SIG_LEN 64
#define CM_KEYID_LEN 32
#define CM_ALG_ED25519 0x01 /* alg byte in key IDs and vkeys */

void cm_sha256(const void *p, size_t len, uint8_t out[CM_HASH_LEN]);
/* SHA-256 over the concatenation of n pieces. */
void cm_sha256_parts(const cm_bytes *parts, size_t n, uint8_t out[CM_HASH_LEN]);
/* SHA-256 over bytes given piece by piece (a file read in chunks).  Owned;
 * release with cm_sha256_free (NULL-safe).  final may be called once. */
typedef struct cm_sha256_ctx cm_sha256_ctx;
cm_err                       cm_sha256_new(cm_sha256_ctx **out); /* CM_ENOMEM */
void cm_sha256_update(cm_sha256_ctx *c, const void *p, size_t len);
void cm_sha256_final(cm_sha256_ctx *c, uint8_t out[CM_HASH_LEN]);
void cm_sha256_free(cm_sha256_ctx *c);
/* HMAC-SHA-256 (keyed hashes of natural persons). */
void cm_hmac_sha256(cm_bytes key, cm_bytes msg, uint8_t out[CM_HASH_LEN]);
/* Fills out with len bytes from the OS CSPRNG.  CM_ECRYPTO on failure. */
CM_MUST_CHECK cm_err cm_random(void *out, size_t len);

/* X25519 (RFC 7748), for the service's ephemeral session keys only:
 * Ed25519 identity keys are never converted to X25519.  A private key is
 * 32 random bytes (clamped inside).  cm_x25519_public: its public key.
 * cm_x25519_shared: the shared secret with peer; CM_EBADKEY when it is all
 * zero (a small-order peer key), CM_ECRYPTO on an OpenSSL failure. */
#define CM_X25519_LEN 32
CM_MUST_CHECK cm_err cm_x25519_public(const uint8_t priv[CM_X25519_LEN],
                                      uint8_t       out[CM_X25519_LEN]);
CM_MUST_CHECK cm_err cm_x25519_shared(const uint8_t priv[CM_X25519_LEN],
                                      const uint8_t peer[CM_X25519_LEN],
                                      uint8_t       out[CM_X25519_LEN]);
/* HKDF-SHA-256 (RFC 5869), extract then expand: len <= 255 * 32 bytes of
 * output into out.  CM_EINVAL for a bad len, CM_ECRYPTO on failure. */
CM_MUST_CHECK cm_err cm_hkdf_sha256(cm_bytes salt, cm_bytes ikm, cm_bytes info,
                                    uint8_t *out, size_t len);
/* Compares two equal-length secrets in time independent of their bytes. */
bool cm_ct_eq(const void *a, const void *b, size_t len);

/* An Ed25519 private key.  Owned; release with cm_key_free(). */
typedef struct cm_key cm_key;
cm_err                cm_key_generate(cm_key **out);
void                  cm_key_free(cm_key *k); /* NULL is a no-op; wipes */
/* The 32-byte public key. */
void cm_key_public(const cm_key *k, uint8_t out[CM_PUBKEY_LEN]);
/* PKCS#8 PEM, as `openssl genpkey -algorithm ed25519` writes. */
CM_MUST_CHECK cm_err cm_key_from_pem(cm_bytes pem, cm_key **out);
cm_err               cm_key_to_pem(const cm_key *k, cm_buf *out);
/* Reads a private key file.  CM_EPERM if group or others may read it (the
 * diag names the mode), CM_EIO if unreadable or not a regular file (a FIFO
 * is refused without waiting for a writer), CM_ETOOBIG past 16 KiB,
 * CM_EPROTO if not a PKCS#8 Ed25519 PEM. */
CM_MUST_CHECK cm_err cm_key_load(const char *path, cm_key **out, cm_diag *d);
/* Writes k to path with O_CREAT|O_EXCL and mode 0600, fsyncs file and dir. */
cm_err cm_key_save(const cm_key *k, const char *path, cm_diag *d);
/* Signs "tally/v1/" || purpose || 0x00 || msg. */
cm_err cm_sign(const cm_key *k, const char *purpose, cm_bytes msg,
               uint8_t out[CM_SIG_LEN]);
/* Plain Ed25519 over msg (checkpoint notes). */
cm_err cm_sign_raw(const cm_key *k, cm_bytes msg, uint8_t out[CM_SIG_LEN]);
/* CM_OK if sig is a valid Ed25519 signature by pub over the domain-separated
 * message; CM_EBADSIG otherwise. */
CM_MUST_CHECK cm_err cm_verify(const uint8_t pub[CM_PUBKEY_LEN],
                               const char *purpose, cm_bytes msg,
                               const uint8_t sig[CM_SIG_LEN]);
CM_MUST_CHECK cm_err cm_verify_raw(const uint8_t pub[CM_PUBKEY_LEN],
                                   cm_bytes msg, const uint8_t sig[CM_SIG_LEN]);
/* CM_OK if pub is a canonical encoding of a point that is not of small
 * order; CM_EBADKEY otherwise (the diag says why). */
CM_MUST_CHECK cm_err cm_pubkey_check(const uint8_t pub[CM_PUBKEY_LEN],
                                     cm_diag      *d);
/* Key ID = SHA-256(alg byte || public key). */
void cm_key_id(const uint8_t pub[CM_PUBKEY_LEN], uint8_t out[CM_KEYID_LEN]);
/* Parses a public key: PEM SPKI, or the form "ed25519:<base64 of the 32
 * bytes>", optionally followed by the line "key-id <hex>" that keygen
 * prints (then it must be this key's ID). */
CM_MUST_CHECK cm_err cm_pubkey_parse(cm_bytes text, uint8_t out[CM_PUBKEY_LEN],
                                     cm_diag *d);
/* The one-line form "ed25519:<base64>", NUL-terminated. */
cm_err cm_pubkey_format(const uint8_t pub[CM_PUBKEY_LEN], cm_buf *out);
/* keygen's public key text: "ed25519:<base64>\nkey-id <hex>\n", which
 * cm_pubkey_parse accepts (checking that the key ID is the key's). */
cm_err cm_pubkey_text(const uint8_t pub[CM_PUBKEY_LEN], cm_buf *out);
/* Writes that text to a new file at path (mode 0644; CM_EEXIST if path
 * exists), synced with its directory, like cm_key_save. */
cm_err cm_pubkey_save(const uint8_t pub[CM_PUBKEY_LEN], const char *path,
                      cm_diag *d);

/* ---- canonical CBOR (ledger/cm_cbor.c, the one file using libcbor) ------
 * Profile (docs/format.md): RFC 8949 4.2.1 core deterministic encoding;
 * definite lengths only; map keys are text strings, unique, in bytewise
 * order of their encodings; no floats, no tags; simple values false, true,
 * null only; text is valid UTF-8 without U+0000 (cm_text_valid); nesting
 * depth <= CM_CBOR_MAX_DEPTH; every length <= the input; no trailing
 * bytes. */
#define CM_CBOR_MAX_DEPTH 16

/* CM_OK if in is exactly one item in the profile; CM_ENONCANON (or
 * CM_EPROTO for truncated/ill-formed input) with the rule and byte offset in
 * the diag otherwise. */
CM_MUST_CHECK cm_err cm_cbor_check(cm_bytes in, cm_diag *d);
/* The entries of a top-level map, as cm_cbor_check_map found them while
 * checking: each key's text and each value's whole item, in order. */
#define CM_CBOR_MAP_MAX 32
typedef struct cm_cbor_map {
	cm_bytes item;     /* the whole input */
	size_t   n;        /* entries, when complete */
	bool     complete; /* false: not a map, or more than CM_CBOR_MAP_MAX */
	cm_bytes key[CM_CBOR_MAP_MAX];
	cm_bytes val[CM_CBOR_MAP_MAX];
} cm_cbor_map;
/* cm_cbor_check, and on success the top-level map's entries in *m, so a
 * decoder need not walk the item a second time. */
CM_MUST_CHECK cm_err cm_cbor_check_map(cm_bytes in, cm_cbor_map *m, cm_diag *d);
/* The independent reference implementation of cm_cbor_check, built on
 * libcbor's streaming decoder and kept as an oracle: for every input it
 * returns the same code and the same diag message (tests and the fuzz
 * target compare them).  Slower; not for the append path. */
CM_MUST_CHECK cm_err cm_cbor_check_libcbor(cm_bytes in, cm_diag *d);

typedef enum cm_cbor_type { /* 0-5 are the CBOR major types */
	                    CM_CBOR_UINT,
	                    CM_CBOR_NEGINT,
	                    CM_CBOR_BYTES,
	                    CM_CBOR_TEXT,
	                    CM_CBOR_ARRAY,
	                    CM_CBOR_MAP,
	                    CM_CBOR_FALSE,
	                    CM_CBOR_TRUE,
	                    CM_CBOR_NULL,
	                    CM_CBOR_INVALID
} cm_cbor_type;

/* A pull reader over bytes already accepted by cm_cbor_check.  It is safe
 * on any input (bounds, counts and depth are checked) but checks types, not
 * the profile: minimal heads, UTF-8 and key order are cm_cbor_check's job,
 * which every decoder runs first.  Borrowed: strings point into in. */
typedef struct cm_cbor_rd {
	const uint8_t *p;
	size_t         len;
	size_t         off;
	cm_diag       *d;
} cm_cbor_rd;
void                 cm_cbor_rd_init(cm_cbor_rd *r, cm_bytes in, cm_diag *d);
cm_cbor_type         cm_cbor_rd_peek(const cm_cbor_rd *r);
bool                 cm_cbor_rd_done(const cm_cbor_rd *r); /* off == len */
CM_MUST_CHECK cm_err cm_cbor_rd_uint(cm_cbor_rd *r, uint64_t *out);
/* Any integer that fits int64. */
CM_MUST_CHECK cm_err cm_cbor_rd_int(cm_cbor_rd *r, int64_t *out);
CM_MUST_CHECK cm_err cm_cbor_rd_bytes(cm_cbor_rd *r, cm_bytes *out);
CM_MUST_CHECK cm_err cm_cbor_rd_text(cm_cbor_rd *r, cm_bytes *out);
CM_MUST_CHECK cm_err cm_cbor_rd_bool(cm_cbor_rd *r, bool *out);
CM_MUST_CHECK cm_err cm_cbor_rd_null(cm_cbor_rd *r);
CM_MUST_CHECK cm_err cm_cbor_rd_array(cm_cbor_rd *r, uint64_t *out_n);
CM_MUST_CHECK cm_err cm_cbor_rd_map(cm_cbor_rd *r, uint64_t *out_n);
/* Skips one whole item (any depth); *out (may be NULL) gets its bytes. */
CM_MUST_CHECK cm_err cm_cbor_rd_skip(cm_cbor_rd *r, cm_bytes *out);

/* A writer into a cm_buf (appends).  Maps: the caller writes keys in
 * canonical order (cm_cbor_key_cmp); cm_cbor_wr_finish() runs cm_cbor_check
 * on what was written and returns CM_ENONCANON on a mistake.  Errors are
 * sticky: the first one is kept and returned by finish. */
typedef struct cm_cbor_wr {
	cm_buf *out;
	size_t  start;
	cm_err  err;
} cm_cbor_wr;
void cm_cbor_wr_init(cm_cbor_wr *w, cm_buf *out);
void cm_cbor_wr_uint(cm_cbor_wr *w, uint64_t v);
void cm_cbor_wr_int(cm_cbor_wr *w, int64_t v);
void cm_cbor_wr_bytes(cm_cbor_wr *w, cm_bytes b);
void cm_cbor_wr_text(cm_cbor_wr *w, cm_bytes s);
void cm_cbor_wr_cstr(cm_cbor_wr *w, const char *s);
void cm_cbor_wr_bool(cm_cbor_wr *w, bool v);
void cm_cbor_wr_null(cm_cbor_wr *w);
void cm_cbor_wr_array(cm_cbor_wr *w, uint64_t n);
void cm_cbor_wr_map(cm_cbor_wr *w, uint64_t n);
/* Appends already-encoded canonical bytes (a nested item). */
void                 cm_cbor_wr_raw(cm_cbor_wr *w, cm_bytes item);
CM_MUST_CHECK cm_err cm_cbor_wr_finish(cm_cbor_wr *w, cm_diag *d);
/* Like finish, without the canonical self-check: only for fixed layouts on
 * hot paths whose canonical form tests and fuzzing cover (the record leaf);
 * returns the sticky error. */
CM_MUST_CHECK cm_err cm_cbor_wr_end(cm_cbor_wr *w);
/* Canonical order of two text keys: shorter first, then bytewise. */
int cm_cbor_key_cmp(cm_bytes a, cm_bytes b);

/* ---- JSON (ledger/cm_json.c, the one file using jansson) ----------------
 * JSON -> canonical CBOR: objects become maps (keys sorted canonically;
 * duplicate keys refused), arrays arrays, strings text (valid UTF-8, no NUL),
 * integers that fit int64 integers, true/false/null the simple values.
 * Numbers with a fraction or exponent are refused.  Depth <= 16. */
CM_MUST_CHECK cm_err cm_json_to_cbor(cm_bytes json, cm_buf *out, cm_diag *d);
/* Canonical CBOR -> JSON text (compact, keys in CBOR order, byte strings as
 * lower-case hex strings), NUL-terminated, appended to out. */
CM_MUST_CHECK cm_err cm_cbor_to_json(cm_bytes cbor, cm_buf *out, cm_diag *d);

/* A parsed JSON document, opaque (a jansson value), for tools that need to
 * walk JSON.  Owned; release with cm_json_free(). */
typedef struct cm_json cm_json;
CM_MUST_CHECK cm_err   cm_json_parse(cm_bytes text, cm_json **out, cm_diag *d);
void                   cm_json_free(cm_json *j); /* NULL-safe */
/* Borrowed children, valid while the root lives; NULL if absent/wrong type. */
cm_json    *cm_json_get(const cm_json *obj, const char *key);
cm_json    *cm_json_at(const cm_json *arr, size_t i);
size_t      cm_json_len(const cm_json *arr_or_obj);
bool        cm_json_is_object(const cm_json *j);
bool        cm_json_is_array(const cm_json *j);
bool        cm_json_is_null(const cm_json *j); /* JSON null, not absent */
const char *cm_json_str(const cm_json *j, size_t *out_len); /* NULL if not */
bool        cm_json_int(const cm_json *j, int64_t *out);
/* A value's JSON type.  NULL (an absent child) is CM_JSON_ABSENT. */
typedef enum cm_json_type {
	CM_JSON_ABSENT,
	CM_JSON_OBJECT,
	CM_JSON_ARRAY,
	CM_JSON_STRING,
	CM_JSON_INTEGER, /* fits int64 (larger integers are refused) */
	CM_JSON_REAL,    /* has a fraction or exponent: a double */
	CM_JSON_TRUE,
	CM_JSON_FALSE,
	CM_JSON_NULL
} cm_json_type;
cm_json_type cm_json_typeof(const cm_json *j);
/* The double of a CM_JSON_REAL; false for any other type. */
bool cm_json_real(const cm_json *j, double *out);
/* The i-th member of an object in the document's order: its key (borrowed),
 * its length in *out_len (may be NULL; compare keys with it), and its value
 * in *out_val.  NULL past the end. */
const char *cm_json_key_at(const cm_json *obj, size_t i, cm_json **out_val,
                           size_t *out_len);
/* The canonical CBOR of j (same rules as cm_json_to_cbor). */
CM_MUST_CHECK cm_err cm_json_encode_cbor(const cm_json *j, cm_buf *out,
                                         cm_diag *d);

#endif /* LEDGER_CM_H */
