#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/ledger/merkle_crosscheck.py -- an independent RFC 6962 / RFC 9162
# Merkle implementation (recursive definitions, hashlib only), compared line
# by line with what tests/ledger/merkle_dump prints from ledger/ldg_merkle.c.
#
#   merkle_crosscheck.py DUMPER N     compare roots and proofs for sizes <= N
#   merkle_crosscheck.py --vectors    print the RFC 6962 8-leaf tree's lines
#   merkle_crosscheck.py --seeds DIR  write the fuzz seed corpora under DIR
#
# The last line of a comparison is "merkle_crosscheck: N passed, N failed".
import hashlib
import os
import struct
import subprocess
import sys

# The 8-leaf tree of RFC 6962's reference tests (certificate-transparency).
RFC_LEAVES = [bytes.fromhex(h) for h in (
    "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
    "606162636465666768696a6b6c6d6e6f")]
RFC_ROOT8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"


def leaf_hash(data):
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left, right):
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    """MTH, PATH and PROOF straight from RFC 6962 section 2.1, memoised."""

    def __init__(self, leaves):
        self.h = [leaf_hash(x) for x in leaves]
        self.memo = {}

    def mth(self, lo, hi):
        if hi == lo:
            return hashlib.sha256(b"").digest()
        key = (lo, hi)
        r = self.memo.get(key)
        if r is None:
            if hi - lo == 1:
                r = self.h[lo]
            else:
                k = split(hi - lo)
                r = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
            self.memo[key] = r
        return r

    def path(self, m, lo, hi):
        if hi - lo <= 1:
            return []
        k = split(hi - lo)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, whole):
        n = hi - lo
        if m == n:
            return [] if whole else [self.mth(lo, hi)]
        k = split(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, whole) + [self.mth(lo + k, hi)]
        return (self.subproof(m - k, lo + k, hi, False) +
                [self.mth(lo, lo + k)])

    def proof(self, m, n):
        if m == 0 or m == n:
            return []
        return self.subproof(m, 0, n, True)


def hexs(hashes):
    return "".join(h.hex() for h in hashes) if hashes else "-"


def tree_lines(name, tree, n_max):
    """The lines merkle_dump prints for one tree, in the same order."""
    for n in range(n_max + 1):
        root = tree.mth(0, n).hex()
        yield "%s root %d %s" % (name, n, root)
        yield "%s mroot %d %s" % (name, n, root)
    for n in range(1, n_max + 1):
        for i in range(n):
            p = hexs(tree.path(i, 0, n))
            yield "%s incl %d %d %s" % (name, i, n, p)
            yield "%s path %d %d %s" % (name, i, n, p)
    for n in range(n_max + 1):
        for m in range(n + 1):
            yield "%s cons %d %d %s" % (name, m, n, hexs(tree.proof(m, n)))


def synth_leaves(n):
    return [struct.pack(">Q", i) for i in range(n)]


def crosscheck(dumper, n_max):
    passed = failed = 0
    rfc = Tree(RFC_LEAVES)
    if rfc.mth(0, 8).hex() == RFC_ROOT8:
        passed += 1
    else:
        failed += 1
        print("rfc6962 root of size 8 is not the published one")
    want = list(tree_lines("rfc", rfc, 8))
    want += tree_lines("synth", Tree(synth_leaves(n_max)), n_max)
    out = subprocess.run([dumper, str(n_max)], stdout=subprocess.PIPE,
                         check=False)
    got = out.stdout.decode("ascii", "replace").splitlines()
    if out.returncode != 0:
        failed += 1
        print("%s exited with %d" % (dumper, out.returncode))
    for i, w in enumerate(want):
        g = got[i] if i < len(got) else "(missing)"
        if g == w:
            passed += 1
        else:
            failed += 1
            if failed <= 10:
                print("line %d:\n  got  %s\n  want %s" % (i + 1, g, w))
    if len(got) != len(want):
        failed += 1
        print("got %d lines, want %d" % (len(got), len(want)))
    print("merkle_crosscheck: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


# ---- fuzz seeds: the golden proofs of the RFC tree and their corruptions,
# the same set as tests/ledger/ldg_merkle_test.c checks.  Layouts:
#   inclusion:   u64be index, u64be size, root, leaf hash, proof hashes
#   consistency: u64be size1, u64be size2, root1, root2, proof hashes


def flip(h, which):
    """Flips one bit of hash number which (the test's flip_bit)."""
    b = bytearray(h)
    b[(which * 5) % 32] ^= 1 << (which % 8)
    return bytes(b)


def incl_variants(tree, i, n):
    root, leaf, p = tree.mth(0, n), tree.h[i], tree.path(i, 0, n)
    yield "ok", (i, n, root, leaf, p)
    yield "flip_root", (i, n, flip(root, 0), leaf, p)
    yield "flip_leaf", (i, n, root, flip(leaf, 1), p)
    for j in range(len(p)):
        q = list(p)
        q[j] = flip(q[j], 2 + j)
        yield "flip_p%d" % j, (i, n, root, leaf, q)
    if p:
        yield "trunc", (i, n, root, leaf, p[:-1])
    yield "ext", (i, n, root, leaf, p + [leaf])
    yield "idx_next", (i + 1, n, root, leaf, p)
    if i > 0:
        yield "idx_prev", (i - 1, n, root, leaf, p)
    yield "size_next", (i, n + 1, root, leaf, p)
    if n > 1:
        yield "size_prev", (i, n - 1, root, leaf, p)


def cons_variants(tree, m, n):
    r1, r2, p = tree.mth(0, m), tree.mth(0, n), tree.proof(m, n)
    yield "ok", (m, n, r1, r2, p)
    if m > 0:
        # Anything is consistent with the empty tree: no root flips there.
        yield "flip_root1", (m, n, flip(r1, 0), r2, p)
        yield "flip_root2", (m, n, r1, flip(r2, 1), p)
    for j in range(len(p)):
        q = list(p)
        q[j] = flip(q[j], 2 + j)
        yield "flip_p%d" % j, (m, n, r1, r2, q)
    if p:
        yield "trunc", (m, n, r1, r2, p[:-1])
    yield "ext", (m, n, r1, r2, p + [r1])
    if m > 0:
        yield "m_next", (m + 1, n, r1, r2, p)
        if m > 1:
            yield "m_prev", (m - 1, n, r1, r2, p)
        yield "n_next", (m, n + 1, r1, r2, p)
        yield "n_prev", (m, n - 1, r1, r2, p)
    if 0 < m < n:
        yield "swap_roots", (m, n, r2, r1, p)
    if m < n:
        yield "swap_sizes", (n, m, r1, r2, p)


def write_seeds(top):
    rfc = Tree(RFC_LEAVES)
    count = 0
    d = os.path.join(top, "ldg_inclusion")
    os.makedirs(d, exist_ok=True)
    for n in range(1, 9):
        for i in range(n):
            for tag, (a, b, h1, h2, p) in incl_variants(rfc, i, n):
                blob = struct.pack(">QQ", a, b) + h1 + h2 + b"".join(p)
                name = "rfc_i%d_n%d_%s" % (i, n, tag)
                with open(os.path.join(d, name), "wb") as f:
                    f.write(blob)
                count += 1
    d = os.path.join(top, "ldg_consistency")
    os.makedirs(d, exist_ok=True)
    for n in range(1, 9):
        for m in range(n + 1):
            for tag, (a, b, h1, h2, p) in cons_variants(rfc, m, n):
                blob = struct.pack(">QQ", a, b) + h1 + h2 + b"".join(p)
                name = "rfc_m%d_n%d_%s" % (m, n, tag)
                with open(os.path.join(d, name), "wb") as f:
                    f.write(blob)
                count += 1
    # test_verifier_edges' cases.
    a, b, big, mx = b"\xa5" * 32, b"\x5a" * 32, b"\x33" * 32, 2**64 - 1
    edges = {
        "ldg_inclusion": [
            (0, 1, a, a, []), (0, 1, a, a, [b]), (1, 1, a, a, []),
            (0, 0, a, a, []), (0, 2, a, a, []), (mx, mx, a, a, [big] * 64),
            (mx - 1, mx, a, a, [big] * 64), (12345, mx, a, a, [big] * 1000)],
        "ldg_consistency": [
            (3, 3, a, a, []), (3, 3, a, b, []), (3, 3, a, a, [a]),
            (0, 0, a, a, []), (0, 0, a, b, []), (0, 5, a, b, []),
            (0, 5, a, b, [a]), (5, 3, a, b, []), (5, 3, a, b, [big] * 3),
            (3, 5, a, b, []), (4, 8, a, b, []), (1, mx, a, b, [big] * 1000),
            (mx - 1, mx, a, b, [big] * 64)],
    }
    for sub, cases in edges.items():
        for k, (x, y, h1, h2, p) in enumerate(cases):
            blob = struct.pack(">QQ", x, y) + h1 + h2 + b"".join(p)
            with open(os.path.join(top, sub, "edge_%d" % k), "wb") as f:
                f.write(blob)
            count += 1
    print("wrote %d seeds under %s" % (count, top))
    return 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--vectors":
        for line in tree_lines("rfc", Tree(RFC_LEAVES), 8):
            print(line)
        return 0
    if len(argv) == 3 and argv[1] == "--seeds":
        return write_seeds(argv[2])
    if len(argv) == 3:
        return crosscheck(argv[1], int(argv[2]))
    sys.stderr.write("usage: merkle_crosscheck.py DUMPER N | --vectors"
                     " | --seeds DIR\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
