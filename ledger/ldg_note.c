/* SPDX-License-Identifier: MIT */
/* ledger/ldg_note.c -- checkpoints as C2SP signed notes (tlog-checkpoint,
 * signed-note v1) with Ed25519 keys (type 0x01), and their verifier keys.
 * Parsing is strict: exactly the three checkpoint lines, no extensions, one
 * spelling per value, so a parsed body always re-formats to the same bytes.
 * Formats: docs/format.md. */
#include "ledger/ldg.h"

#include <string.h>

#define NOTE_MAX_SIGS 100
#define NOTE_KEYID_LEN 4
/* "— ": U+2014 EM DASH and a space. */
#define NOTE_DASH "\xe2\x80\x94 "
#define NOTE_DASH_LEN 4

/* A signature line after the basic syntax checks; borrowed from the note. */
typedef struct note_sig {
	cm_bytes name;
	uint8_t  id[NOTE_KEYID_LEN];
	cm_buf   raw; /* id || signature, decoded */
} note_sig;

static bool
name_char_ok(uint8_t c)
{
	return (c >= 0x21 && c <= 0x7e && c != '+');
}

static cm_err
name_check(cm_bytes name, cm_diag *d)
{
	if (name.len == 0 || name.len > LDG_ORIGIN_MAX)
		return (cm_fail(d, CM_EPROTO, "name must be 1..%d bytes",
		                LDG_ORIGIN_MAX));
	for (size_t i = 0; i < name.len; i++) {
		if (!name_char_ok(name.p[i]))
			return (cm_fail(
			    d, CM_EPROTO,
			    "name has a byte 0x%02x at %zu (want 0x21..0x7e, "
			    "no '+')",
			    name.p[i], i));
	}
	return (CM_OK);
}

cm_err
ldg_origin_check(const char *origin, cm_diag *d)
{
	if (origin == NULL)
		return (cm_fail(d, CM_EPROTO, "no origin"));
	return (name_check(
	    CM_BYTES(origin, strnlen(origin, LDG_ORIGIN_MAX + 1)), d));
}

/* SHA-256(name || 0x0A || 0x01 || pub)[:4] */
static void
note_key_id(cm_bytes name, const uint8_t pub[CM_PUBKEY_LEN],
            uint8_t out[NOTE_KEYID_LEN])
{
	static const uint8_t sep[2] = {'\n', CM_ALG_ED25519};
	uint8_t              h[CM_HASH_LEN];
	cm_bytes             parts[3] = {name, CM_BYTES(sep, 2),
	                                 CM_BYTES(pub, CM_PUBKEY_LEN)};

	cm_sha256_parts(parts, 3, h);
	memcpy(out, h, NOTE_KEYID_LEN);
}

cm_err
ldg_vkey_make(const char *name, const uint8_t pub[CM_PUBKEY_LEN], ldg_vkey *out,
              cm_diag *d)
{
	ldg_vkey vk;
	cm_err   rv;

	if ((rv = ldg_origin_check(name, d)) != CM_OK)
		return (CM_EINVAL);
	if ((rv = cm_pubkey_check(pub, d)) != CM_OK)
		return (rv);
	memset(&vk, 0, sizeof(vk));
	memcpy(vk.name, name, strlen(name));
	memcpy(vk.pub, pub, CM_PUBKEY_LEN);
	note_key_id(CM_BYTES(name, strlen(name)), pub, vk.id);
	*out = vk;
	return (CM_OK);
}

cm_err
ldg_vkey_format(const ldg_vkey *vk, cm_buf *out)
{
	uint8_t key[1 + CM_PUBKEY_LEN];
	cm_err  rv;

	key[0] = CM_ALG_ED25519;
	memcpy(key + 1, vk->pub, CM_PUBKEY_LEN);
	if ((rv = cm_buf_printf(out, "%s+", vk->name)) != CM_OK ||
	    (rv = cm_hex_encode(out, CM_BYTES(vk->id, NOTE_KEYID_LEN))) !=
	        CM_OK ||
	    (rv = cm_buf_append_byte(out, '+')) != CM_OK)
		return (rv);
	return (cm_b64_encode(out, CM_BYTES(key, sizeof(key))));
}

static int
lower_hex_val(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return (c - '0');
	if (c >= 'a' && c <= 'f')
		return (c - 'a' + 10);
	return (-1);
}

static bool
char_space(uint8_t c)
{
	return (c == ' ' || c == '\t' || c == '\r' || c == '\n');
}

cm_err
ldg_vkey_parse(cm_bytes text, ldg_vkey *out, cm_diag *d)
{
	const uint8_t *p = text.p, *plus;
	size_t         len = text.len, nlen;
	uint8_t        id[NOTE_KEYID_LEN];
	cm_buf         key = {0};
	ldg_vkey       vk;
	cm_err         rv;

	while (len > 0 && char_space(p[0]))
		p++, len--;
	while (len > 0 && char_space(p[len - 1]))
		len--;
	/* <name>+<8 lower-case hex>+<44 base64 chars of 33 bytes> */
	if (len == 0 || (plus = memchr(p, '+', len)) == NULL) {
		rv = cm_fail(d, CM_EPROTO, "vkey: want <name>+<id>+<key>");
		goto out;
	}
	nlen = (size_t) (plus - p);
	if ((rv = name_check(CM_BYTES(p, nlen), d)) != CM_OK)
		goto out;
	if (len - nlen != 1 + 8 + 1 + 44 || p[nlen + 9] != '+') {
		rv = cm_fail(d, CM_EPROTO, "vkey: want <name>+<id>+<key>");
		goto out;
	}
	for (size_t i = 0; i < NOTE_KEYID_LEN; i++) {
		int hi = lower_hex_val(p[nlen + 1 + 2 * i]);
		int lo = lower_hex_val(p[nlen + 2 + 2 * i]);

		if (hi < 0 || lo < 0) {
			rv = cm_fail(
			    d, CM_EPROTO,
			    "vkey: key ID is not 8 lower-case hex digits");
			goto out;
		}
		id[i] = (uint8_t) (hi << 4 | lo);
	}
	if (cm_b64_decode(&key, (const char *) p + nlen + 10, 44) != CM_OK ||
	    key.len != 1 + CM_PUBKEY_LEN) {
		rv = cm_fail(d, CM_EPROTO, "vkey: bad base64 key");
		goto out;
	}
	if (key.p[0] != CM_ALG_ED25519) {
		rv = cm_fail(d, CM_EPROTO,
		             "vkey: key type 0x%02x is not Ed25519", key.p[0]);
		goto out;
	}
	if ((rv = cm_pubkey_check(key.p + 1, d)) != CM_OK)
		goto out;
	memset(&vk, 0, sizeof(vk));
	memcpy(vk.name, p, nlen);
	memcpy(vk.pub, key.p + 1, CM_PUBKEY_LEN);
	note_key_id(CM_BYTES(p, nlen), vk.pub, vk.id);
	if (memcmp(vk.id, id, NOTE_KEYID_LEN) != 0) {
		rv = cm_fail(d, CM_EPROTO,
		             "vkey: key ID does not match the name and key");
		goto out;
	}
	*out = vk;
	rv = CM_OK;
out:
	cm_buf_fini(&key);
	return (rv);
}

cm_err
ldg_checkpoint_body(const ldg_checkpoint *c, cm_buf *out)
{
	cm_err rv;

	if (ldg_origin_check(c->origin, NULL) != CM_OK)
		return (CM_EINVAL);
	if ((rv = cm_buf_printf(out, "%s\n%llu\n", c->origin,
	                        (unsigned long long) c->size)) != CM_OK ||
	    (rv = cm_b64_encode(out, CM_BYTES(c->root, CM_HASH_LEN))) != CM_OK)
		return (rv);
	return (cm_buf_append_byte(out, '\n'));
}

cm_err
ldg_checkpoint_sign(const ldg_checkpoint *c, const cm_key *k, cm_buf *out)
{
	uint8_t raw[NOTE_KEYID_LEN + CM_SIG_LEN];
	uint8_t pub[CM_PUBKEY_LEN];
	size_t  start = out->len;
	cm_err  rv;

	if ((rv = ldg_checkpoint_body(c, out)) != CM_OK)
		goto out;
	cm_key_public(k, pub);
	note_key_id(CM_BYTES(c->origin, strlen(c->origin)), pub, raw);
	if ((rv = cm_sign_raw(k, CM_BYTES(out->p + start, out->len - start),
	                      raw + NOTE_KEYID_LEN)) != CM_OK)
		goto out;
	if ((rv = cm_buf_printf(out, "\n" NOTE_DASH "%s ", c->origin)) !=
	        CM_OK ||
	    (rv = cm_b64_encode(out, CM_BYTES(raw, sizeof(raw)))) != CM_OK ||
	    (rv = cm_buf_append_byte(out, '\n')) != CM_OK)
		goto out;
out:
	if (rv != CM_OK && out->p != NULL) {
		out->len = start;
		out->p[start] = 0;
	}
	return (rv);
}

/* The next line of note from *off (without its '\n'); false if none. */
static bool
note_line(cm_bytes note, size_t *off, cm_bytes *out)
{
	const uint8_t *nl;

	if (*off >= note.len)
		return (false);
	nl = memchr(note.p + *off, '\n', note.len - *off);
	if (nl == NULL)
		return (false);
	*out = CM_BYTES(note.p + *off, (size_t) (nl - (note.p + *off)));
	*off += out->len + 1;
	return (true);
}

static cm_err
size_parse(cm_bytes s, uint64_t *out, cm_diag *d)
{
	uint64_t v = 0;

	if (s.len == 0 || (s.len > 1 && s.p[0] == '0'))
		return (
		    cm_fail(d, CM_EPROTO,
		            "checkpoint: size is empty or has a leading zero"));
	for (size_t i = 0; i < s.len; i++) {
		unsigned dig = (unsigned) s.p[i] - '0';

		if (dig > 9 || v > (UINT64_MAX - dig) / 10)
			return (cm_fail(
			    d, CM_EPROTO,
			    "checkpoint: size is not a decimal uint64"));
		v = v * 10 + dig;
	}
	*out = v;
	return (CM_OK);
}

/* One signature line "— <name> <base64(id || sig)>". */
static cm_err
sig_line_parse(cm_bytes line, note_sig *out, cm_diag *d)
{
	const uint8_t *sp;
	cm_bytes       rest;

	if (line.len < NOTE_DASH_LEN ||
	    memcmp(line.p, NOTE_DASH, NOTE_DASH_LEN) != 0)
		return (cm_fail(
		    d, CM_EPROTO,
		    "note: signature line does not start with \"" NOTE_DASH
		    "\""));
	rest = CM_BYTES(line.p + NOTE_DASH_LEN, line.len - NOTE_DASH_LEN);
	if ((sp = memchr(rest.p, ' ', rest.len)) == NULL || sp == rest.p)
		return (cm_fail(d, CM_EPROTO,
		                "note: signature line has no key name"));
	out->name = CM_BYTES(rest.p, (size_t) (sp - rest.p));
	if (memchr(out->name.p, '+', out->name.len) != NULL)
		return (cm_fail(d, CM_EPROTO, "note: key name contains '+'"));
	rest.len -= out->name.len + 1;
	rest.p = sp + 1;
	cm_buf_reset(&out->raw);
	if (cm_b64_decode(&out->raw, (const char *) rest.p, rest.len) !=
	        CM_OK ||
	    out->raw.len < NOTE_KEYID_LEN + 1)
		return (cm_fail(d, CM_EPROTO,
		                "note: bad base64 in a signature line"));
	memcpy(out->id, out->raw.p, NOTE_KEYID_LEN);
	return (CM_OK);
}

/* Parses note; if vk is not NULL also verifies its signature. */
static cm_err
note_open(cm_bytes note, const ldg_vkey *vk, ldg_checkpoint *out, cm_diag *d)
{
	ldg_checkpoint c;
	cm_bytes       line, body, origin;
	size_t         off = 0;
	note_sig       sig = {0};
	cm_buf         root = {0};
	unsigned       nsig = 0, nknown = 0;
	cm_err         rv = CM_EPROTO;

	memset(&c, 0, sizeof(c));
	if (note.len == 0 || note.p[note.len - 1] != '\n') {
		rv = cm_fail(d, CM_EPROTO, "note: does not end with a newline");
		goto out;
	}
	for (size_t i = 0; i < note.len; i++) {
		if ((note.p[i] < 0x20 && note.p[i] != '\n') ||
		    note.p[i] == 0x7f) {
			rv = cm_fail(d, CM_EPROTO,
			             "note: control byte 0x%02x at %zu",
			             note.p[i], i);
			goto out;
		}
	}
	if (!cm_utf8_valid(note.p, note.len)) {
		rv = cm_fail(d, CM_EPROTO, "note: not valid UTF-8");
		goto out;
	}
	/* The body: origin, size, root. */
	if (!note_line(note, &off, &line) || name_check(line, NULL) != CM_OK) {
		rv = cm_fail(
		    d, CM_EPROTO,
		    "checkpoint: origin is not 1..255 bytes of 0x21..0x7e "
		    "without '+'");
		goto out;
	}
	memcpy(c.origin, line.p, line.len);
	origin = line;
	if (!note_line(note, &off, &line) ||
	    size_parse(line, &c.size, d) != CM_OK) {
		rv = cm_fail(d, CM_EPROTO, "checkpoint: bad size line");
		goto out;
	}
	if (!note_line(note, &off, &line) ||
	    cm_b64_decode(&root, (const char *) line.p, line.len) != CM_OK ||
	    root.len != CM_HASH_LEN) {
		rv = cm_fail(d, CM_EPROTO,
		             "checkpoint: root is not base64 of 32 bytes");
		goto out;
	}
	memcpy(c.root, root.p, CM_HASH_LEN);
	body = CM_BYTES(note.p, off);
	if (!note_line(note, &off, &line) || line.len != 0) {
		rv = cm_fail(
		    d, CM_EPROTO,
		    "checkpoint: extension line or no blank line after the "
		    "body");
		goto out;
	}
	if (vk != NULL && !cm_bytes_eq_str(origin, vk->name)) {
		rv = cm_fail(d, CM_EBADSIG,
		             "checkpoint: origin %s is not the key's name %s",
		             c.origin, vk->name);
		goto out;
	}
	while (note_line(note, &off, &line)) {
		if (++nsig > NOTE_MAX_SIGS) {
			rv = cm_fail(d, CM_EPROTO,
			             "note: more than %d signature lines",
			             NOTE_MAX_SIGS);
			goto out;
		}
		if ((rv = sig_line_parse(line, &sig, d)) != CM_OK)
			goto out;
		if (vk == NULL || !cm_bytes_eq_str(sig.name, vk->name) ||
		    memcmp(sig.id, vk->id, NOTE_KEYID_LEN) != 0)
			continue; /* someone else's (a witness): ignored */
		if (++nknown > 1) {
			rv =
			    cm_fail(d, CM_EPROTO,
			            "note: two signatures by key %s", vk->name);
			goto out;
		}
		if (sig.raw.len != NOTE_KEYID_LEN + CM_SIG_LEN ||
		    cm_verify_raw(vk->pub, body, sig.raw.p + NOTE_KEYID_LEN) !=
		        CM_OK) {
			rv = cm_fail(d, CM_EBADSIG,
			             "note: bad signature by key %s", vk->name);
			goto out;
		}
	}
	/* note ends with '\n', so every byte was in some line. */
	if (nsig == 0) {
		rv = cm_fail(d, CM_EPROTO, "note: no signature lines");
		goto out;
	}
	if (vk != NULL && nknown == 0) {
		rv = cm_fail(d, CM_EBADSIG, "note: no signature by key %s",
		             vk->name);
		goto out;
	}
	*out = c;
	rv = CM_OK;
out:
	cm_buf_fini(&sig.raw);
	cm_buf_fini(&root);
	return (rv);
}

cm_err
ldg_checkpoint_verify(cm_bytes note, const ldg_vkey *vk, ldg_checkpoint *out,
                      cm_diag *d)
{
	if (vk == NULL)
		return (CM_EINVAL);
	return (note_open(note, vk, out, d));
}

cm_err
ldg_checkpoint_parse(cm_bytes note, ldg_checkpoint *out, cm_diag *d)
{
	return (note_open(note, NULL, out, d));
}
