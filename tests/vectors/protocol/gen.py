# SPDX-License-Identifier: MIT
# tests/vectors/protocol/gen.py -- writes the protocol's test vectors
# (docs/protocol.md section 9) from tests/integration/svcwire.py, an
# implementation independent of services/: each vector is one line
# "name hex" in vectors.txt.  The C test (tests/services/svc_proto_test.c)
# checks that the server's code encodes, decodes and derives exactly
# these bytes; the integration test sends the plain requests to a real
# tallyd.  The session keys come from fixed inputs: the X25519 shared
# secret is RFC 7748 section 6.1's (Alice's private key, Bob's public key).
# Usage: python3 tests/vectors/protocol/gen.py > tests/vectors/protocol/vectors.txt

import hashlib
import hmac
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "integration"))
import svcwire as w  # noqa: E402

ALICE = bytes.fromhex("77076d0a7318a57d3c16c17251b26645"
                      "df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PUB = bytes.fromhex("8520f0098930a754748b7ddcb43ef75a"
                          "0dbf3a0d26381af4eba4a98eaa9b4e6a")
BOB_PUB = bytes.fromhex("de9edb7d7b7dc1b4d35b61c2ece43537"
                        "3f8343c85b78674dadfc7e146f882b4f")
SHARED = bytes.fromhex("4a5d9d5ba4ce2de1728e3bf480350f25"
                       "e07e21c947d19e3376f09b3c1e161742")


def hkdf(salt, ikm, info, n):
    prk = hmac.new(salt, ikm, hashlib.sha256).digest()
    t, out, i = b"", b"", 0
    while len(out) < n:
        i += 1
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        out += t
    return out[:n]


def main():
    v = []
    v.append(("plain_checkpoint", w.request("checkpoint")))
    v.append(("plain_consistency", w.request("consistency",
                                             {"from": 1, "to": 300})))
    v.append(("plain_submit", w.request("submit",
                                        {"batch": bytes(range(40))})))
    # A session: the client (Alice's ephemeral key) and the server (Bob's).
    origin, kid = "example.test/log1", bytes([0x33]) * 32
    nonce = bytes(range(40))
    life = 3600
    tr = w.pack([origin, kid, nonce, ALICE_PUB, BOB_PUB, life])
    sig = bytes([0x55]) * 64
    th = hashlib.sha256(tr).digest()
    sid = hashlib.sha256(b"tally/v1/session-id\x00" + tr + sig).digest()[:16]
    c2s = hkdf(nonce, SHARED, b"tally/v1/c2s\x00" + th, 32)
    s2c = hkdf(nonce, SHARED, b"tally/v1/s2c\x00" + th, 32)
    keys = {"sid": sid, "c2s": c2s, "s2c": s2c}
    v += [("transcript", tr), ("session_sig", sig), ("session_nonce", nonce),
          ("session_kid", kid), ("session_sid", sid), ("session_c2s", c2s),
          ("session_s2c", s2c)]
    req, rmac = w.session_request(keys, 7, "inclusion", {"index": 3,
                                                         "size": 10})
    v.append(("session_request", req))
    v.append(("session_request_mac", rmac))
    body = w.pack(0) + w.pack("ok") + w.pack({"size": 10})
    resp = (b"\x95" + body + w.pack(7) +
            w.pack(w.resp_mac(s2c, sid, 7, rmac, body)))
    v.append(("session_response", resp))
    for name, b in v:
        print(name, b.hex())


main()
