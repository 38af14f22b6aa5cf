#!/bin/bash
# SPDX-License-Identifier: MIT
# tests/vectors/note/gen.sh -- regenerates the checkpoint and vkey vectors
# with the openssl command and coreutils only (independent of our code),
# from ../keys/test1.pem and test2.pem.  Run from this directory.
set -eu
k1=../keys/test1.pem
k2=../keys/test2.pem
origin=tally.example/test1
dash=$(printf '\342\200\224')

pubbin() { openssl pkey -in "$1" -pubout -outform DER | tail -c 32; }
# key ID = SHA-256(name || 0x0A || 0x01 || pub)[:4], lower-case hex
keyid() { { printf '%s\n\001' "$1"; pubbin "$2"; } | sha256sum | cut -c1-8; }
vkey() {
	printf '%s+%s+%s' "$1" "$(keyid "$1" "$2")" \
	    "$({ printf '\001'; pubbin "$2"; } | base64 -w0)"
}
# body NAME SIZE ROOTHEX
body() { printf '%s\n%s\n%s\n' "$1" "$2" "$(printf '%s' "$3" | xxd -r -p | base64 -w0)"; }
# sigline NAME KEY BODYFILE [FLIP]: "— name base64(id || sig)"
sigline() {
	openssl pkeyutl -sign -rawin -inkey "$2" -in "$3" -out sig.tmp
	if [ "${4:-}" = flip ]; then
		printf '%s' "$(xxd -p -c 64 sig.tmp | sed 's/0$/Y/;s/[1-9a-f]$/0/;s/Y$/1/')" |
		    xxd -r -p >sig2.tmp
		mv sig2.tmp sig.tmp
	fi
	printf '%s %s %s\n' "$dash" "$1" \
	    "$({ printf '%s' "$(keyid "$1" "$2")" | xxd -r -p; cat sig.tmp; } | base64 -w0)"
	rm -f sig.tmp
}
# A witness-style cosignature line (type 0x04: id || 8-byte time || sig).
witness() {
	{
		printf 'witness %s' "$1" | sha256sum | cut -c1-8 | xxd -r -p
		printf '%016x' "$1" | xxd -r -p
		printf 'w%s' "$1" | sha256sum | cut -c1-64 | xxd -r -p
		printf 'x%s' "$1" | sha256sum | cut -c1-64 | xxd -r -p
	} >w.tmp
	printf '%s witness.example/w%s %s\n' "$dash" "$1" "$(base64 -w0 w.tmp)"
}

root=$(printf 'tally' | sha256sum | cut -c1-64)
empty=$(printf '' | sha256sum | cut -c1-64)

vkey $origin $k1 >test1.vkey.exp
body $origin 1234567 $root >body1.exp
{ cat body1.exp; echo; sigline $origin $k1 body1.exp; } >checkpoint1.note.exp
body $origin 0 $empty >b0.tmp
{ cat b0.tmp; echo; sigline $origin $k1 b0.tmp; } >checkpoint0.note
body $origin 18446744073709551615 $root >bmax.tmp
{ cat bmax.tmp; echo; sigline $origin $k1 bmax.tmp; } >size_max.note
sig1=$(sigline $origin $k1 body1.exp)
{ cat body1.exp; echo; witness 1; echo "$sig1"; witness 2; } >witness.note
{ cat body1.exp; echo; for i in $(seq 1 99); do witness $i; done; echo "$sig1"; } >sigs100.note

# Refused by ldg_checkpoint_verify with test1's vkey.
{ cat body1.exp; echo; sigline $origin $k1 body1.exp flip; } >bad_sig.note
{ cat body1.exp; echo; sigline $origin $k2 body1.exp; } >bad_wrong_key.note
{ cat body1.exp; echo; witness 1; } >bad_only_witness.note
body tally.example/other 1234567 $root >bo.tmp
{ cat bo.tmp; echo; sigline tally.example/other $k1 bo.tmp; } >bad_wrong_origin.note
# Refused by the parser too.
{ cat body1.exp; echo 'extension line'; echo; echo "$sig1"; } >bad_extension.note
{ body $origin 01234567 $root; echo; echo "$sig1"; } >bad_leading_zero.note
{ body $origin 18446744073709551616 $root; echo; echo "$sig1"; } >bad_size_overflow.note
{ body $origin -1 $root; echo; echo "$sig1"; } >bad_size_sign.note
{ body $origin 1234567 "${root%??}"; echo; echo "$sig1"; } >bad_short_root.note
{ sed '3s/^./!/' body1.exp; echo; echo "$sig1"; } >bad_b64_root.note
{ cat body1.exp; echo; echo "$sig1" | sed 's/.$/!/'; } >bad_b64_sig.note
{ cat body1.exp; echo "$sig1"; } >bad_no_blank.note
{ cat body1.exp; echo; echo "$sig1" | sed "s/^$dash/-/"; } >bad_ascii_dash.note
{ cat body1.exp; echo; for i in $(seq 1 100); do witness $i; done; echo "$sig1"; } >bad_sigs101.note
{ cat body1.exp; echo; echo "$sig1"; echo "$sig1"; } >bad_dup_sig.note
{ cat body1.exp; echo; } >bad_no_sigs.note
head -c -1 checkpoint1.note.exp >bad_no_newline.note
sed 's/$/\r/' checkpoint1.note.exp >bad_crlf.note
{ printf ' '; cat checkpoint1.note.exp; } >bad_origin_space.note
{ body 'tally.example/a+b' 1 $root; echo; echo "$sig1"; } >bad_origin_plus.note
{ cat body1.exp; echo; echo "$dash  $(echo "$sig1" | cut -d' ' -f3)"; } >bad_sig_noname.note
: >bad_empty.note

# vkeys
v=$(cat test1.vkey.exp)
printf '  %s\n' "$v" >vkey_space.vkey
name=${v%%+*}; rest=${v#*+}; id=${rest%%+*}; key=${rest#*+}
printf '%s+%s+%s\n' "$name" 00000000 "$key" >bad_id.vkey
printf '%s+%s+%s\n' "$name" "${id^^}" "$key" >bad_upper_hex.vkey
printf '%s+%s+%s\n' other.example "$id" "$key" >bad_name.vkey
printf '%s+%s\n' "$name" "$id" >bad_short.vkey
printf '%s+%s+%s=\n' "$name" "$id" "${key%?}" >bad_b64.vkey
# type byte 0x02 (with a matching ID) and a small-order key (matching ID).
alt() { printf '%s+%s+%s\n' "$1" \
    "$({ printf '%s\n' "$1"; printf '%s' "$2" | xxd -r -p; } | sha256sum | cut -c1-8)" \
    "$(printf '%s' "$2" | xxd -r -p | base64 -w0)"; }
alt "$name" "02$({ pubbin $k1; } | xxd -p -c 64)" >bad_type.vkey
alt "$name" 01$(printf '%064d' 0) >bad_small_order.vkey
rm -f ./*.tmp
