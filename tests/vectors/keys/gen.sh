#!/bin/sh
# SPDX-License-Identifier: MIT
# tests/vectors/keys/gen.sh -- regenerates the key vectors with the openssl
# command and coreutils only (independent of our code).  test1 is RFC 8032
# section 7.1 TEST 1; test2 is TEST 2.  Run from this directory.
set -eu
pkcs8=302e020100300506032b657004220420
x25519=302e020100300506032b656e04220420
seed1=9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60
seed2=4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb

mkpem() { printf '%s%s' "$1" "$2" | xxd -r -p | openssl pkey -inform DER -out "$3"; }
mkpem $pkcs8 $seed1 test1.pem
mkpem $pkcs8 $seed2 test2.pem
mkpem $x25519 $seed1 bad_x25519.pem
openssl pkey -in test1.pem -pubout -out test1.spki.pem
openssl pkey -in test1.pem -pubout -outform DER | tail -c 32 >test1.pub.bin
printf 'ed25519:%s\n' "$(base64 -w0 test1.pub.bin)" >test1.pub.exp
# cm_key_id = SHA-256(0x01 || pub)
{ printf '\001'; cat test1.pub.bin; } | sha256sum | cut -c1-64 >test1.keyid.exp
# RFC 8032 TEST 2: test2 signs the one byte 0x72.
printf 'r' >r.msg
openssl pkeyutl -sign -rawin -inkey test2.pem -in r.msg -out sig.bin
xxd -p -c 64 sig.bin >test2.rsig.exp
# cm_sign domain separation: "tally/v1/" || "test" || 0x00 || "hello"
printf 'tally/v1/test\000hello' >dom.msg
openssl pkeyutl -sign -rawin -inkey test1.pem -in dom.msg -out sig.bin
xxd -p -c 64 sig.bin >test1.domsig.exp
rm -f r.msg dom.msg sig.bin test1.pub.bin

# Refused public keys, one-line form.
pub() { printf 'ed25519:%s\n' "$(printf '%s' "$2" | xxd -r -p | base64 -w0)" >"$1"; }
ff30=ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff
z31=00000000000000000000000000000000000000000000000000000000000000
y8a=26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc
y8b=c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03
# The 8 points of small order, canonical encodings.
pub bad_small_zero.pub ${z31}00
pub bad_small_zero_neg.pub ${z31}80
pub bad_small_one.pub 01${z31}
pub bad_small_minus1.pub ec${ff30}7f
pub bad_small_8a.pub ${y8a}05
pub bad_small_8a_neg.pub ${y8a}85
pub bad_small_8b.pub ${y8b}7a
pub bad_small_8b_neg.pub ${y8b}fa
# Non-canonical: y = p, y = p + 1, y = 2^255 - 1, x = 0 with the sign bit.
pub bad_noncanon_p.pub ed${ff30}7f
pub bad_noncanon_p1.pub ee${ff30}7f
pub bad_noncanon_max.pub ff${ff30}7f
pub bad_noncanon_one_neg.pub 01${z31%??}80
pub bad_noncanon_minus1_neg.pub ec${ff30}ff
# y = 2 is not on the curve.
pub bad_offcurve.pub 02${z31}
# Short and long base64, another algorithm's PEM.
printf 'ed25519:%s\n' "$(printf '%s' "${y8a}" | xxd -r -p | base64 -w0)" >bad_short.pub
printf 'ed448:AAAA\n' >bad_tag.pub
openssl pkey -in bad_x25519.pem -pubout -out bad_x25519.spki.pem
