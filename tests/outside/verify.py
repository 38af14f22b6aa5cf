#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/outside/verify.py -- an outside verifier of a Tally data directory,
# written only from docs/format.md, with the Python standard library, the
# `openssl` command (Ed25519) and `mdb_dump` (LMDB).  It replays the log
# (leaf hashes, tree, checkpoints, genesis, identities, batch signatures,
# sequences, key validity by position, in-batch roots, record leaves).
#
# Usage: verify.py DATA_DIR [--checkpoint NOTE_FILE]... [--vkey VKEY]
# Exit 0 if every check passed, 1 if any failed, 2 on usage or I/O errors.
# Last line: "outside_verify: N passed, N failed".
#
# Test helper (for the suite's negative tests; needs mdb_load):
#   verify.py --tamper SRC_DIR DST_DIR DB INDEX [OFFSET]
# copies SRC_DIR to the new DST_DIR through `mdb_dump -a` / `mdb_load`,
# flipping the low bit of byte OFFSET (default: the last byte) of the value
# with key u64be(INDEX) (or the key 0x<hex>) in database DB ("entries",
# "checkpoints", "nodes").

import argparse
import base64
import binascii
import concurrent.futures
import hashlib
import json
import re
import os
import shutil
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------------------
# Constants from docs/format.md

T_GENESIS_LEAF = "tally/genesis-leaf/v1"
T_GENESIS = "tally/genesis/v1"
T_BATCH = "tally/batch/v1"
T_HDR = "tally/batch-header/v1"
T_HLEAF = "tally/header-leaf/v2"
T_HLEAF_V1 = "tally/header-leaf/v1"  # earlier form, no clock: still read
T_RLEAF = "tally/record-leaf/v1"
T_RECORD = "tally/record/v1"
# The access records of credit (format.md 5.8): their own fields (text
# unless said) and the roles that sign them.
CREDIT_ACCESS = {
    "credit.consent": ({"op": ("text", True), "bank": ("text", True),
                        "purpose": ("text", False),
                        "until": ("text", False)}, ("enterprise",)),
    "credit.query": ({"size": ("uint", True), "as_of": ("text", True),
                      "staff": ("text", True), "answer": (32, True),
                      "consent": ("uint", False),
                      "purpose": ("text", True), "subject": ("text", True)},
                     ("enterprise", "regulator", "bank", "auditor")),
    "credit.dispute": ({"op": ("text", True), "item": ("text", False),
                        "issuer": ("text", False),
                        "record": ("uint", False),
                        "dispute": ("uint", False),
                        "grounds": ("text", False),
                        "missing": ("text", False),
                        "outcome": ("text", False),
                        "statement": ("text", True),
                        "correction": ("uint", False)},
                       ("enterprise", "regulator", "bank")),
    "credit.statement": ({"text": ("text", True), "record": ("uint", True)},
                         ("enterprise",)),
    "credit.repair": ({"op": ("text", True), "grant": ("bool", False),
                       "reason": ("text", False), "record": ("uint", False),
                       "commitment": ("text", False),
                       "application": ("uint", False)},
                      ("enterprise", "regulator")),
    "credit.token": ({"role": ("text", True), "token": (32, True),
                      "key_id": (32, True)},
                     ("enterprise", "regulator", "bank")),
}
# Trace's master-data records (format.md 5.9): their own fields and the
# roles that sign them (scopes and state are not recomputed here).
TRACE_MASTER = {
    "trace.bind": ({"key": ("text", True), "owner": ("text", True)},
                   ("regulator",)),
    "trace.claim": ({"key": ("text", True)}, ("enterprise",)),
    "trace.confirm": ({"key": ("text", True), "owner": ("text", True)},
                      ("regulator",)),
    "trace.delegate": ({"key": ("text", True), "to": ("text", True)},
                       ("enterprise",)),
    "trace.undelegate": ({"key": ("text", True), "to": ("text", True)},
                         ("enterprise",)),
    "trace.name": ({"id": ("text", True), "name": ("text", True),
                    "attrs": ("array", False)},
                   ("enterprise", "regulator")),
}
T_IDENTITY = "tally/identity/v1"
T_POP = "tally/identity-pop/v1"

MAX_DEPTH = 16
SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
EM_DASH = "\u2014 "


class UsageError(Exception):
    pass


class Bad(Exception):
    """A failed check; the message says why."""


# ---------------------------------------------------------------------------
# Canonical CBOR (docs/format.md section 2), decoding only


class CborError(Bad):
    pass


def _arg(b, off, ai):
    """The argument of the head at b[off] with additional info ai, and the
    head length; checks truncation and minimality (rule 3)."""
    if ai < 24:
        return ai, 1
    n = {24: 1, 25: 2, 26: 4, 27: 8}[ai]
    if off + 1 + n > len(b):
        raise CborError("truncated head at offset %d" % off)
    v = int.from_bytes(b[off + 1:off + 1 + n], "big")
    low = {24: 24, 25: 0x100, 26: 0x10000, 27: 0x100000000}[ai]
    if v < low:
        raise CborError("head at offset %d is not minimal" % off)
    return v, 1 + n


def _item(b, off, depth):
    """Decodes one item at b[off]; returns (value, end offset)."""
    if off >= len(b):
        raise CborError("truncated: item expected at offset %d" % off)
    ib = b[off]
    major, ai = ib >> 5, ib & 0x1F
    if 28 <= ai <= 30:
        raise CborError("reserved additional info at offset %d" % off)
    if ai == 31:
        raise CborError("indefinite length or break at offset %d" % off)
    if major == 6:
        raise CborError("tag at offset %d" % off)
    if major == 7:
        if ai == 20:
            return False, off + 1
        if ai == 21:
            return True, off + 1
        if ai == 22:
            return None, off + 1
        if 25 <= ai <= 27:
            raise CborError("float at offset %d" % off)
        raise CborError("simple value not allowed at offset %d" % off)
    v, hl = _arg(b, off, ai)
    p = off + hl
    if major == 0:
        return v, p
    if major == 1:
        return -1 - v, p
    if major in (2, 3):
        if v > len(b) - p:
            raise CborError("string at offset %d beyond the input" % off)
        s = bytes(b[p:p + v])
        if major == 3:
            try:
                s = s.decode("utf-8", "strict")
            except UnicodeDecodeError:
                raise CborError("invalid UTF-8 at offset %d" % off)
            # Text holds no U+0000 (section 1, rule 11), keys included.
            if "\x00" in s:
                raise CborError("text holds U+0000 at offset %d" % off)
        return s, p + v
    if depth >= MAX_DEPTH:
        raise CborError("nesting deeper than %d at offset %d" %
                        (MAX_DEPTH, off))
    if major == 4:
        if v > len(b) - p:
            raise CborError("array count beyond the input at %d" % off)
        out = []
        for _ in range(v):
            x, p = _item(b, p, depth + 1)
            out.append(x)
        return out, p
    # major 5: map
    if v > (len(b) - p) // 2:
        raise CborError("map count beyond the input at %d" % off)
    out = {}
    prev = None
    for _ in range(v):
        kstart = p
        if p >= len(b) or b[p] >> 5 != 3:
            raise CborError("map key is not text at offset %d" % p)
        k, p = _item(b, p, depth + 1)
        kenc = bytes(b[kstart:p])
        if prev is not None:
            if kenc == prev:
                raise CborError("duplicate map key %r" % k)
            # Bytewise order of encodings (rule 7).
            if kenc < prev:
                raise CborError("map keys out of order at %r" % k)
        prev = kenc
        val, p = _item(b, p, depth + 1)
        out[k] = val
    return out, p


def cbor_decode(b):
    """The value of b, which must be exactly one canonical item."""
    v, end = _item(b, 0, 0)
    if end != len(b):
        raise CborError("trailing bytes at offset %d" % end)
    return v


def cbor_map_raw(b):
    """{key: raw encoded value} of a canonical map b (already checked)."""
    ib = b[0]
    if ib >> 5 != 5:
        raise CborError("not a map")
    n, p = _arg(b, 0, ib & 0x1F)
    out = {}
    for _ in range(n):
        k, p = _item(b, p, 1)
        _, end = _item(b, p, 1)
        out[k] = bytes(b[p:end])
        p = end
    return out


def cbor_uint_enc(v):
    """Shortest head of major type 0 (for rebuilding the PoP statement)."""
    return _head(0, v)


def _head(major, v):
    if v < 24:
        return bytes([major << 5 | v])
    for ai, n in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if v < (1 << (8 * n)):
            return bytes([major << 5 | ai]) + v.to_bytes(n, "big")
    raise ValueError(v)


def cbor_text(s):
    e = s.encode("utf-8")
    return _head(3, len(e)) + e


def cbor_bytes(b):
    return _head(2, len(b)) + b


def batch_file_size(hdr, sig, recs):
    """The size of the batch file {"t", "hdr", "sig", "recs"} (canonical,
    so a function of its parts) without building it."""
    return (1 + len(cbor_text("t")) + len(cbor_text(T_BATCH)) +
            len(cbor_text("hdr")) + len(cbor_bytes(hdr)) +
            len(cbor_text("sig")) + len(cbor_bytes(sig)) +
            len(cbor_text("recs")) + len(_head(4, len(recs))) +
            sum(len(_head(2, len(r))) + len(r) for r in recs))


# Typed fields.  spec: name -> (kind, required) with kind one of "uint",
# "text", "bytes", "map", "array", "any", or an int (byte string of that
# length).
def fields(m, spec, t, what):
    if not isinstance(m, dict):
        raise Bad("%s: not a map" % what)
    for k in m:
        if k not in spec:
            raise Bad("%s: unknown field %r" % (what, k))
    for k, (kind, req) in spec.items():
        if k not in m:
            if req:
                raise Bad("%s: missing field %r" % (what, k))
            continue
        v = m[k]
        ok = True
        if kind == "uint":
            ok = isinstance(v, int) and not isinstance(v, bool) and v >= 0
        elif kind == "text":
            ok = isinstance(v, str)
        elif kind == "bytes":
            ok = isinstance(v, bytes)
        elif kind == "map":
            ok = isinstance(v, dict)
        elif kind == "array":
            ok = isinstance(v, list)
        elif kind == "bool":
            ok = isinstance(v, bool)
        elif isinstance(kind, int):
            ok = isinstance(v, bytes) and len(v) == kind
        if not ok:
            raise Bad("%s: field %r must be %s" % (what, k, kind))
    if t is not None and m.get("t") != t:
        raise Bad("%s: \"t\" is %r, want %r" % (what, m.get("t"), t))
    return m


# ---------------------------------------------------------------------------
# Hashes, Merkle tree (section 6)


def sha256(b):
    return hashlib.sha256(b).digest()


def leaf_hash(b):
    return sha256(b"\x00" + b)


def node_hash(left, right):
    return sha256(b"\x01" + left + right)


def mth(hashes):
    """RFC 6962 MTH over a list of leaf hashes."""
    n = len(hashes)
    if n == 0:
        return sha256(b"")
    if n == 1:
        return hashes[0]
    k = 1
    while k * 2 < n:
        k *= 2
    return node_hash(mth(hashes[:k]), mth(hashes[k:]))


class Tree:
    """Complete-subtree hashes by level, for roots at any past size."""

    def __init__(self, leaf_hashes):
        self.levels = [list(leaf_hashes)]
        while len(self.levels[-1]) > 1:
            lv = self.levels[-1]
            self.levels.append([node_hash(lv[2 * i], lv[2 * i + 1])
                                for i in range(len(lv) // 2)])

    def root(self, size):
        if size == 0:
            return sha256(b"")
        acc = None
        pos = size
        level = 0
        while (1 << level) <= size:
            if size & (1 << level):
                pos -= 1 << level
                h = self.levels[level][pos >> level]
                acc = h if acc is None else node_hash(h, acc)
            level += 1
        return acc


TILE_OFFSET = (0, 16, 24, 28)   # first slot of each level in a tile
TILE_SLOTS = 30


def stored_tiles(leaf_hashes):
    """The `nodes` database as it must be (section 10.2): key (stratum
    byte, u64be tile) -> u32be bitmap || 30 slots of 32 bytes."""
    tiles = {}

    def put(level, n, h):
        s, r = divmod(level, 4)
        width = 16 >> r
        key = bytes([s]) + (n // width).to_bytes(8, "big")
        slot = TILE_OFFSET[r] + n % width
        bits, slots = tiles.get(key, (0, [bytes(32)] * TILE_SLOTS))
        slots = list(slots)
        slots[slot] = h
        tiles[key] = (bits | 1 << slot, slots)

    stack = []  # (level, hash) of the right edge's complete subtrees
    for m, h in enumerate(leaf_hashes):
        put(0, m, h)
        level, cur, n = 0, h, m
        while n & 1:
            lvl, left = stack.pop()
            cur = node_hash(left, cur)
            level += 1
            n >>= 1
            put(level, n, cur)
        stack.append((level, cur))
    return sorted((k, bits.to_bytes(4, "big") + b"".join(slots))
                  for k, (bits, slots) in tiles.items())


# ---------------------------------------------------------------------------
# Ed25519 public key acceptance (section 3), pure Python

P = 2 ** 255 - 19
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)


def _sqrt(a):
    a %= P
    x = pow(a, (P + 3) // 8, P)
    if (x * x - a) % P != 0:
        x = x * SQRT_M1 % P
    if (x * x - a) % P != 0:
        return None
    return x


def _small_order_ys():
    ys = {0, 1, P - 1}
    # Order-8 points: 2P has y = 0, i.e. x^2 = -y^2, so
    # d*y^4 + 2*y^2 - 1 = 0 and y^2 = (-1 +- sqrt(1 + d)) / d.
    s = _sqrt(1 + D)
    if s is not None:
        inv_d = pow(D, P - 2, P)
        for y2 in ((-1 + s) * inv_d % P, (-1 - s) * inv_d % P):
            y = _sqrt(y2)
            if y is not None:
                ys.add(y)
                ys.add(P - y)
    return ys


SMALL_ORDER_Y = _small_order_ys()


def pubkey_ok(pub):
    """None if acceptable, else the reason."""
    if len(pub) != 32:
        return "public key is not 32 bytes"
    v = int.from_bytes(pub, "little")
    sign = v >> 255
    y = v & ((1 << 255) - 1)
    if y >= P:
        return "public key is not canonical (y >= p)"
    if y in SMALL_ORDER_Y:
        return "public key is of small order or not canonical"
    # x^2 = (y^2 - 1) / (d y^2 + 1)
    u = (y * y - 1) % P
    w = (D * y * y + 1) % P
    x = _sqrt(u * pow(w, P - 2, P))
    if x is None:
        return "public key is not on the curve"
    if x == 0 and sign:
        return "public key is not canonical (x = 0, sign set)"
    return None


def key_id(pub):
    return sha256(b"\x01" + pub)


def note_key_id(name, pub):
    return sha256(name.encode() + b"\x0a\x01" + pub)[:4]


# ---------------------------------------------------------------------------
# Ed25519 verification through `openssl pkeyutl`, in parallel


class Verifier:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="outside_verify.")
        self.keys = {}
        self.jobs = []  # (leaf, what, pub, msg, sig)

    def close(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def _keyfile(self, pub):
        if pub not in self.keys:
            path = os.path.join(self.dir, "k%d.der" % len(self.keys))
            with open(path, "wb") as f:
                f.write(SPKI_PREFIX + pub)
            self.keys[pub] = path
        return self.keys[pub]

    def add(self, leaf, what, pub, purpose, msg, sig):
        """Queues a check; purpose None = plain Ed25519 (notes)."""
        if purpose is not None:
            msg = b"tally/v1/" + purpose.encode() + b"\x00" + msg
        self.jobs.append((leaf, what, pub, msg, sig))

    def _one(self, i, job):
        leaf, what, pub, msg, sig = job
        if pubkey_ok(pub) is not None or len(sig) != 64:
            return False
        mp = os.path.join(self.dir, "m%d" % i)
        sp = os.path.join(self.dir, "s%d" % i)
        with open(mp, "wb") as f:
            f.write(msg)
        with open(sp, "wb") as f:
            f.write(sig)
        r = subprocess.run(
            ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
             self._keys_ro[pub], "-keyform", "DER", "-rawin", "-in", mp,
             "-sigfile", sp], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.unlink(mp)
        os.unlink(sp)
        return r.returncode == 0 and b"Verified Successfully" in r.stdout

    def run(self):
        """Returns [(leaf, what)] of the signatures that failed."""
        for job in self.jobs:
            self._keyfile(job[2])
        self._keys_ro = dict(self.keys)
        workers = max(2, 2 * (os.cpu_count() or 1))
        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            res = list(ex.map(self._one, range(len(self.jobs)), self.jobs))
        return [(j[0], j[1]) for j, ok in zip(self.jobs, res) if not ok]


# ---------------------------------------------------------------------------
# LMDB through mdb_dump (hex form)


def mdb_dump(datadir, name, required=True):
    """[(key bytes, value bytes)] of named database name, in key order."""
    r = subprocess.run(["mdb_dump", "-s", name, datadir],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        if not required:
            return None
        raise UsageError("mdb_dump -s %s %s failed: %s" %
                         (name, datadir, r.stderr.decode(errors="replace")
                          .strip()))
    lines = r.stdout.decode("ascii").split("\n")
    i = 0
    while i < len(lines) and lines[i] != "HEADER=END":
        if lines[i].startswith("format=") and lines[i] != "format=bytevalue":
            raise UsageError("mdb_dump: unexpected %s" % lines[i])
        i += 1
    i += 1
    out = []
    while i < len(lines) and lines[i] != "DATA=END":
        k = lines[i]
        v = lines[i + 1] if i + 1 < len(lines) else None
        if v is None or not k.startswith(" ") or not v.startswith(" "):
            raise UsageError("mdb_dump: cannot parse the %s dump" % name)
        out.append((binascii.unhexlify(k[1:]), binascii.unhexlify(v[1:])))
        i += 2
    if i >= len(lines):
        raise UsageError("mdb_dump: the %s dump has no DATA=END" % name)
    return out


# ---------------------------------------------------------------------------
# Checkpoint notes and vkeys (section 7)


def b64_strict(s):
    try:
        b = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None
    if base64.b64encode(b).decode() != s:
        return None
    return b


def name_ok(s):
    return 1 <= len(s) <= 255 and all(0x21 <= ord(c) <= 0x7E and c != "+"
                                      for c in s)


def note_parse(note):
    """(origin, size, root, body bytes, [(name, raw bytes)]) or Bad."""
    if not note.endswith(b"\n"):
        raise Bad("note does not end with a newline")
    for c in note:
        if (c < 0x20 and c != 0x0A) or c == 0x7F:
            raise Bad("note holds a control byte 0x%02x" % c)
    try:
        text = note.decode("utf-8")
    except UnicodeDecodeError:
        raise Bad("note is not valid UTF-8")
    lines = text.split("\n")[:-1]
    if len(lines) < 5:
        raise Bad("note too short")
    origin, size_s, root_s, blank = lines[0:4]
    if not name_ok(origin):
        raise Bad("bad origin line")
    if not size_s.isdigit() or not size_s.isascii() or \
            (len(size_s) > 1 and size_s[0] == "0") or \
            int(size_s) >= 2 ** 64:
        raise Bad("bad size line")
    root = b64_strict(root_s)
    if root is None or len(root) != 32:
        raise Bad("root is not base64 of 32 bytes")
    if blank != "":
        raise Bad("extension line or no blank line after the body")
    body = (origin + "\n" + size_s + "\n" + root_s + "\n").encode()
    sigs = []
    for ln in lines[4:]:
        if not ln.startswith(EM_DASH):
            raise Bad("signature line does not start with an em dash")
        rest = ln[len(EM_DASH):]
        sp = rest.find(" ")
        if sp <= 0:
            raise Bad("signature line has no key name")
        name, b64 = rest[:sp], rest[sp + 1:]
        if "+" in name:
            raise Bad("key name contains '+'")
        raw = b64_strict(b64)
        if raw is None or len(raw) < 5:
            raise Bad("bad base64 in a signature line")
        sigs.append((name, raw))
    if not sigs or len(sigs) > 100:
        raise Bad("note has %d signature lines (1..100)" % len(sigs))
    return origin, int(size_s), root, body, sigs


def vkey_parse(text):
    s = text.strip()
    # The name holds no '+' and the ID is 8 hex digits; the base64 key
    # may itself contain '+'.
    parts = s.split("+", 2)
    if len(parts) != 3 or not name_ok(parts[0]):
        raise Bad("vkey: want <name>+<id>+<key>")
    name, hid, b64 = parts
    if len(hid) != 8 or any(c not in "0123456789abcdef" for c in hid):
        raise Bad("vkey: key ID is not 8 lower-case hex digits")
    raw = b64_strict(b64)
    if raw is None or len(raw) != 33:
        raise Bad("vkey: bad base64 key")
    if raw[0] != 0x01:
        raise Bad("vkey: key type 0x%02x is not Ed25519" % raw[0])
    why = pubkey_ok(raw[1:])
    if why:
        raise Bad("vkey: " + why)
    if note_key_id(name, raw[1:]) != bytes.fromhex(hid):
        raise Bad("vkey: key ID does not match the name and key")
    return name, raw[1:]


# ---------------------------------------------------------------------------
# USCC (section 12)

USCC_ALPHA = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_PAIRS = {"1": "1239", "2": "19", "3": "123459", "4": "19",
              "5": "1239", "6": "129", "7": "129", "8": "19", "9": "123",
              "A": "19", "N": "1239", "Y": "1"}


def uscc_valid(code):
    if len(code) != 18 or any(c not in USCC_ALPHA for c in code):
        return False
    if code[1] not in USCC_PAIRS.get(code[0], ""):
        return False
    if not code[2:8].isdigit():
        return False
    org = code[8:16]
    vals = []
    for c in org:
        if c.isdigit():
            vals.append(int(c))
        elif "A" <= c <= "Z":
            vals.append(ord(c) - ord("A") + 10)
        else:
            return False
    c9 = 11 - sum(w * v for w, v in zip((3, 7, 9, 10, 5, 8, 4, 2),
                                         vals)) % 11
    want9 = "X" if c9 == 10 else "0" if c9 == 11 else str(c9)
    if code[16] != want9:
        return False
    s = sum(USCC_ALPHA.index(code[i]) * pow(3, i, 31) for i in range(17))
    return code[17] == USCC_ALPHA[(31 - s % 31) % 31]


# ---------------------------------------------------------------------------
# The replay


class Ledger:
    def __init__(self, entries, sigs):
        self.entries = entries
        self.sigs = sigs
        self.bad = {}  # leaf -> first reason
        self.keys = {}  # kid -> state dict
        self.orgs = {}  # uscc -> organisation: role, name, scopes, keys
        self.exceptions = set()
        self.credit_last = {}  # (kind, scope line) -> last version
        self.last_seq = {}
        self.nbatches = 0
        self.nrecords = 0

    def fail(self, leaf, why):
        self.bad.setdefault(leaf, why)

    def admitted(self, uscc):
        return uscc_valid(uscc) or uscc in self.exceptions

    # -- genesis --
    def genesis(self):
        leaf = self.entries[0]
        m = fields(cbor_decode(leaf), {"t": ("text", True),
                                       "sig": (64, True),
                                       "stmt": ("bytes", True)},
                   T_GENESIS_LEAF, "genesis leaf")
        st = fields(cbor_decode(m["stmt"]), {
            "t": ("text", True), "op": (32, True), "ckpt": (32, True),
            "time": ("uint", True), "suite": ("map", True),
            "origin": ("text", True), "params": ("map", True)},
            T_GENESIS, "genesis statement")
        suite = fields(st["suite"], {"sig": ("text", True),
                                     "hash": ("text", True)}, None,
                       "genesis suite")
        if suite["sig"] != "ed25519" or suite["hash"] != "sha-256":
            raise Bad("genesis: suite %s + %s not implemented" %
                      (suite["sig"], suite["hash"]))
        p = fields(st["params"], {k: ("uint", True) for k in
                                  ("body", "leaf", "batch", "window",
                                   "records")}, None, "genesis params")
        if not (1024 <= p["leaf"] <= 65535 and 1 <= p["records"] <= 10000
                and p["batch"] <= 16 << 20 and p["body"] <= p["leaf"]):
            raise Bad("genesis: parameters out of range")
        if not 1000 <= p["window"] <= 86400000:
            raise Bad("genesis: window %d ms out of range" % p["window"])
        if not name_ok(st["origin"]):
            raise Bad("genesis: bad origin")
        for k in ("op", "ckpt"):
            why = pubkey_ok(st[k])
            if why:
                raise Bad("genesis %s key: %s" % (k, why))
        self.origin = st["origin"]
        self.op_pub = st["op"]
        self.ckpt_pub = st["ckpt"]
        self.params = p
        self.gtime = st["time"]
        self.sigs.add(0, "genesis signature", self.op_pub, "genesis",
                      m["stmt"], m["sig"])
        opkid = key_id(self.op_pub)
        self.keys[opkid] = {"pub": self.op_pub, "role": "operator",
                            "uscc": "", "name": "operator", "label": "",
                            "scopes": [], "reg": 0, "end": 0}
        self.op_kid = opkid
        self.ckpt_kid = key_id(self.ckpt_pub)

    # -- a batch: header leaf at h --
    def batch(self, h, prev_ltime):
        """Checks header leaf h and its records; returns (next index,
        ltime)."""
        leaf = self.entries[h]
        self.nbatches += 1
        try:
            m = cbor_decode(leaf)
            v1 = isinstance(m, dict) and m.get("t") == T_HLEAF_V1
            spec = {"t": ("text", True), "hdr": ("bytes", True),
                    "sig": (64, True), "first": ("uint", True),
                    "ltime": ("uint", True)}
            if not v1:
                spec["clock"] = ("uint", True)
            m = fields(m, spec, T_HLEAF_V1 if v1 else T_HLEAF,
                       "header leaf")
            hdr = fields(cbor_decode(m["hdr"]), {
                "n": ("uint", True), "t": ("text", True),
                "kid": (32, True), "seq": ("uint", True),
                "root": (32, True), "time": ("uint", True),
                "origin": ("text", True)}, T_HDR, "batch header")
        except Bad as e:
            # Without a header the rest of the log cannot be framed.
            self.fail(h, str(e))
            return None, prev_ltime
        n = hdr["n"]
        ltime = m["ltime"]
        if n < 1 or n > self.params["records"]:
            self.fail(h, "header counts %d records" % n)
        if h + n > len(self.entries) - 1:
            self.fail(h, "header counts %d records, the log ends first" % n)
            return None, ltime
        if m["first"] != h + 1:
            self.fail(h, "first is %d, want %d" % (m["first"], h + 1))
        clock = m["ltime"] if v1 else m["clock"]  # format.md 8.2
        if ltime != max(prev_ltime, clock):
            self.fail(h, "log time %d is not max(previous %d, clock %d)" %
                      (ltime, prev_ltime, clock))
        if len(leaf) > self.params["leaf"]:
            self.fail(h, "header leaf is %d bytes" % len(leaf))
        if hdr["seq"] < 1:
            self.fail(h, "seq 0")
        if hdr["origin"] != self.origin:
            self.fail(h, "header names origin %r" % hdr["origin"])
        w = self.params["window"]
        if abs(hdr["time"] - clock) > w:
            self.fail(h, "claimed time %d outside the window around the "
                      "writer's clock %d" % (hdr["time"], clock))
        kid = hdr["kid"]
        signer = self.keys.get(kid)
        if signer is None:
            self.fail(h, "unknown key %s" % kid.hex())
        else:
            if signer["end"] != 0:
                self.fail(h, "key %s was ended at leaf %d, before this "
                          "header" % (kid.hex()[:16], signer["end"]))
            self.sigs.add(h, "batch header signature", signer["pub"],
                          "batch-header", m["hdr"], m["sig"])
        last = self.last_seq.get(kid, 0)
        if hdr["seq"] != last + 1:
            self.fail(h, "sequence: got %d, want %d" % (hdr["seq"],
                                                       last + 1))
        self.last_seq[kid] = max(last, hdr["seq"])
        hh = leaf_hash(leaf)
        recs = []
        for pos in range(n):
            j = h + 1 + pos
            self.nrecords += 1
            try:
                rec = self.record_leaf(j, h, hh, pos)
            except Bad as e:
                self.fail(j, str(e))
                recs.append(None)
                continue
            recs.append(rec)
            try:
                self.record(j, h, rec, signer, ltime)
            except Bad as e:
                self.fail(j, str(e))
        if None not in recs:
            root = mth([leaf_hash(r) for r in recs])
            if root != hdr["root"]:
                self.fail(h, "in-batch root does not match the records")
            # The batch file the submitter sent (section 4, batch-file) is
            # rebuilt from the leaves: its size is bounded by params.batch.
            size = batch_file_size(m["hdr"], m["sig"], recs)
            if size > self.params["batch"]:
                self.fail(h, "the batch file was %d bytes (params.batch %d)"
                          % (size, self.params["batch"]))
        return h + 1 + n, ltime

    def record_leaf(self, j, h, hh, pos):
        """The record bytes of record leaf j, or Bad if the leaf cannot give
        them; a leaf that gives them but is wrong is marked bad here."""
        leaf = self.entries[j]
        m = fields(cbor_decode(leaf), {
            "t": ("text", True), "hh": (32, True), "hi": ("uint", True),
            "pos": ("uint", True), "rec": ("bytes", True)}, T_RLEAF,
            "record leaf")
        try:
            self.record_leaf_links(j, h, hh, pos, leaf, m)
        except Bad as e:
            self.fail(j, str(e))
        return m["rec"]

    def record_leaf_links(self, j, h, hh, pos, leaf, m):
        if m["hi"] != h:
            raise Bad("record leaf names header %d, want %d" % (m["hi"], h))
        if m["hh"] != hh:
            raise Bad("record leaf's header hash does not match leaf %d" % h)
        if m["pos"] != pos:
            raise Bad("record leaf position %d, want %d" % (m["pos"], pos))
        if len(leaf) > self.params["leaf"]:
            raise Bad("record leaf is %d bytes" % len(leaf))

    def record(self, j, h, rec, signer, ltime):
        r = cbor_decode(rec)
        if not isinstance(r, dict) or r.get("t") != T_RECORD or \
                not isinstance(r.get("kind"), str):
            raise Bad("record: needs \"t\": %s and a text \"kind\"" %
                      T_RECORD)
        if "refs" in r:
            self.refs(r["refs"], h)
        if signer is None:
            return
        if r["kind"] == "identity":
            self.identity(j, rec, r, signer, ltime)
        elif r["kind"] == "attestation":
            self.attestation(rec, r, signer)
        elif r["kind"] == "trace.event":
            self.trace_event(r, signer)
        elif r["kind"] in ("credit.catalogue", "credit.scorecard",
                           "credit.calendar"):
            self.credit_adopt(r, signer)
        elif r["kind"] in ("credit.event", "credit.revoke",
                           "credit.confirm"):
            self.credit_event(r, signer)
        elif r["kind"] == "credit.import":
            self.credit_import(r, signer, h)
        elif r["kind"] in CREDIT_ACCESS:
            self.credit_access(r, signer)
        elif r["kind"] in TRACE_MASTER:
            self.trace_master(r, signer)
        else:
            raise Bad("unknown record kind %r" % r["kind"])

    def refs(self, refs, h):
        if not isinstance(refs, list):
            raise Bad("refs must be an array")
        for ref in refs:
            fields(ref, {"h": ("bytes", True), "i": ("uint", True)}, None,
                   "reference")
            if len(ref["h"]) != 32 or ref["i"] >= h or \
                    leaf_hash(self.entries[ref["i"]]) != ref["h"]:
                raise Bad("bad reference to leaf %d" % ref["i"])

    def attestation(self, rec, r, signer):
        fields(r, {"t": ("text", True), "body": ("map", True),
                   "kind": ("text", True), "refs": ("array", False),
                   "type": ("text", True), "subject": ("text", True)},
               T_RECORD, "attestation")
        body = len(cbor_map_raw(rec)["body"])
        if body > self.params["body"]:
            raise Bad("attestation body is %d bytes (params.body %d)" %
                      (body, self.params["body"]))
        tb = r["type"].encode()
        if not 1 <= len(tb) <= 64:
            raise Bad("attestation type must be 1..64 bytes")
        role = signer["role"]
        if role == "enterprise":
            if r["subject"] != signer["uscc"]:
                raise Bad("an enterprise attests only about its own USCC")
        elif role == "regulator":
            scope = tb.split(b".", 1)[0]
            if not 1 <= len(scope) <= 32 or \
                    scope.decode("utf-8", "replace") not in signer["scopes"]:
                raise Bad("regulator lacks scope %r" % scope)
        else:
            raise Bad("role %s may not write attestations" % role)
        if not self.admitted(r["subject"]):
            raise Bad("subject %r is not an admitted USCC" % r["subject"])

    def trace_event(self, r, signer):
        """format.md 5.4, as far as an outsider checks it: the fields, the
        role, the event text one JSON object of an EPCIS 2.0 type, the id
        an ni: SHA-256 hash ID.  The EPCIS rules and the hash itself are
        not recomputed here (docs/trace.md sections 2-3)."""
        fields(r, {"t": ("text", True), "kind": ("text", True),
                   "refs": ("array", False), "event": ("text", True),
                   "id": ("text", True)}, T_RECORD, "trace.event")
        if signer["role"] not in ("enterprise", "regulator"):
            raise Bad("role %s may not write trace events" % signer["role"])
        try:
            ev = json.loads(r["event"])
        except ValueError as e:
            raise Bad("trace.event: event is not JSON: %s" % e)
        if not isinstance(ev, dict) or ev.get("type") not in (
                "ObjectEvent", "AggregationEvent", "TransactionEvent",
                "TransformationEvent", "AssociationEvent"):
            raise Bad("trace.event: event is not an EPCIS 2.0 event")
        hexpart = r["id"][len("ni:///sha-256;"):-len("?ver=CBV2.0")]
        if not (r["id"].startswith("ni:///sha-256;") and
                r["id"].endswith("?ver=CBV2.0") and len(hexpart) == 64 and
                all(c in "0123456789abcdef" for c in hexpart)):
            raise Bad("trace.event: id is not an ni:///sha-256 hash ID")

    def credit_adopt(self, r, signer):
        """format.md 5.5, as far as an outsider checks it: the fields, the
        operator only, sha256 the text's, the text's header lines the
        record's version and effective date, versions rising per kind
        (scorecards per scope, the text's fourth line).  The text's own
        rules, its canonical form and the scorecard's check against the
        catalogue are not recomputed here (docs/credit.md)."""
        kind = r["kind"]
        fields(r, {"t": ("text", True), "kind": ("text", True),
                   "text": ("text", True), "sha256": (32, True),
                   "version": ("uint", True), "effective": ("text", True)},
               T_RECORD, kind)
        if signer["role"] != "operator":
            raise Bad("only the operator adopts a %s" % kind[7:])
        text = r["text"].encode()
        if hashlib.sha256(text).digest() != r["sha256"]:
            raise Bad("%s: sha256 is not the SHA-256 of the text" % kind)
        lines = text.split(b"\n")
        head = [b"format tally-" + kind.replace(".", "-").encode() + b" 1",
                b"version %d" % r["version"],
                b"effective " + r["effective"].encode()]
        if lines[:3] != head:
            raise Bad("%s: the text's header is not the record's" % kind)
        scope = lines[3] if kind == "credit.scorecard" and \
            len(lines) > 3 else b""
        last = self.credit_last.get((kind, scope), 0)
        if r["version"] <= last:
            raise Bad("%s version %d is not newer than version %d" %
                      (kind, r["version"], last))
        self.credit_last[(kind, scope)] = r["version"]

    def credit_event(self, r, signer):
        """format.md 5.6, as far as an outsider checks it: the fields and
        their types, the roles that write events, dates YYYY-MM-DD in
        order, a target also among refs.  The catalogue rules (item,
        severity, fields, scopes, the future) are not recomputed here."""
        kind = r["kind"]
        date = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
        if kind == "credit.event":
            fields(r, {"t": ("text", True), "kind": ("text", True),
                       "subject": ("text", True), "item": ("text", True),
                       "severity": ("text", True), "doc": ("text", True),
                       "occurred": ("text", True), "decided": ("text", True),
                       "ended": ("text", False), "until": ("text", False),
                       "amount": ("uint", False), "amends": ("uint", False),
                       "details": ("map", False), "refs": ("array", False)},
                   T_RECORD, kind)
            if r["severity"] not in ("light", "general", "serious"):
                raise Bad("credit.event: severity %r" % r["severity"])
            for k in ("occurred", "decided", "ended", "until"):
                if k in r and not date.match(r[k]):
                    raise Bad("credit.event: %s is not a date" % k)
            if r["occurred"] > r["decided"] or \
                    r.get("ended", "9999") < r["occurred"] or \
                    r.get("until", "9999") < r["decided"]:
                raise Bad("credit.event: dates out of order")
            target = r.get("amends")
        else:
            rev = kind == "credit.revoke"
            fields(r, {"t": ("text", True), "kind": ("text", True),
                       "target": ("uint", True), "refs": ("array", True),
                       "doc": ("text", rev), "decided": ("text", rev),
                       "reason": ("text", rev)}, T_RECORD, kind)
            if not rev and len(r) != 4:
                raise Bad("credit.confirm: only target and refs")
            target = r["target"]
        if target is not None and \
                target not in [x["i"] for x in r.get("refs", [])]:
            raise Bad("%s: the target is not in refs" % kind)
        if signer["role"] not in ("regulator", "bank", "enterprise"):
            raise Bad("%s: role %s writes no credit events" %
                      (kind, signer["role"]))

    def credit_import(self, r, signer, h):
        """format.md 5.7: the manifest's fields, its leaf range (0..0 for
        no rows) before its own batch (header leaf h), and the roles that
        import events."""
        fields(r, {"t": ("text", True), "kind": ("text", True),
                   "last": ("uint", True), "rows": ("uint", True),
                   "first": ("uint", True), "sha256": ("bytes", True)},
               T_RECORD, "credit.import")
        if len(r["sha256"]) != 32:
            raise Bad("credit.import: sha256 is not 32 bytes")
        if (r["first"], r["last"]) != (0, 0) if r["rows"] == 0 else \
                not 0 < r["first"] <= r["last"] < h:
            raise Bad("credit.import: first..last must be the rows' "
                      "leaves, before its batch")
        if signer["role"] not in ("regulator", "bank", "enterprise"):
            raise Bad("credit.import: role %s imports no credit events" %
                      signer["role"])
    def credit_access(self, r, signer):
        """format.md 5.8, as far as an outsider checks it: each access
        record's fields and types and the roles that may sign it.  The
        state rules (a consent in force, the subject's own records, the
        deadlines) are not recomputed here (docs/credit.md)."""
        kind = r["kind"]
        spec, roles = CREDIT_ACCESS[kind]
        f = {"t": ("text", True), "kind": ("text", True)}
        f.update(spec)
        fields(r, f, T_RECORD, kind)
        if signer["role"] not in roles:
            raise Bad("%s: role %s may not write it" % (kind,
                                                       signer["role"]))

    def trace_master(self, r, signer):
        """format.md 5.9, as far as an outsider checks it: the fields and
        types, and the roles that may sign each kind."""
        kind = r["kind"]
        spec, roles = TRACE_MASTER[kind]
        f = {"t": ("text", True), "kind": ("text", True)}
        f.update(spec)
        fields(r, f, T_RECORD, kind)
        if signer["role"] not in roles:
            raise Bad("%s: role %s may not write it" % (kind,
                                                       signer["role"]))

    def newkey(self, j, pub, origin, pop):
        why = pubkey_ok(pub)
        if why:
            raise Bad("new key: " + why)
        kid = key_id(pub)
        if kid in (self.ckpt_kid, self.op_kid):
            raise Bad("the checkpoint and operator keys cannot be "
                      "registered")
        if kid in self.keys:
            raise Bad("key already registered")
        if len(pop) != 64:
            raise Bad("proof of possession must be 64 bytes")
        # pop-stmt {"t", "pub", "origin"}, canonical.
        stmt = (b"\xa3" + cbor_text("t") + cbor_text(T_POP) +
                cbor_text("pub") + cbor_bytes(pub) + cbor_text("origin") +
                cbor_text(origin))
        self.sigs.add(j, "proof of possession", pub, "identity-pop", stmt,
                      pop)
        return kid

    def identity(self, j, rec, r, signer, ltime):
        fields(r, {"t": ("text", True), "sig": (64, True),
                   "kind": ("text", True), "stmt": ("bytes", True)},
               T_RECORD, "identity record")
        if signer["role"] != "operator":
            raise Bad("only the operator writes identity records")
        st = cbor_decode(r["stmt"])
        allowed = {
            "register": {"pop", "pub", "name", "role", "uscc", "scopes",
                         "label"},
            "rotate": {"kid", "pop", "pub"},
            "revoke": {"kid", "reason", "since"},
            "except": {"uscc", "reason"},
        }
        fields(st, {"t": ("text", True), "op": ("text", True),
                    "kid": (32, False), "pop": ("bytes", False),
                    "pub": (32, False), "name": ("text", False),
                    "role": ("text", False), "uscc": ("text", False),
                    "label": ("text", False),
                    "since": ("uint", False), "origin": ("text", True),
                    "reason": ("text", False), "scopes": ("array", False)},
               T_IDENTITY, "identity statement")
        op = st["op"]
        if op not in allowed:
            raise Bad("identity: unknown op %r" % op)
        for k in st:
            if k not in ("t", "op", "origin") and k not in allowed[op]:
                raise Bad("identity %s: unexpected %r" % (op, k))
        for k in allowed[op] - {"since", "label"}:
            if k not in st:
                raise Bad("identity %s: missing %r" % (op, k))
        if st["origin"] != self.origin:
            raise Bad("identity statement names another origin")
        self.sigs.add(j, "identity statement signature", self.op_pub,
                      "identity", r["stmt"], r["sig"])
        if op == "register":
            if st["role"] not in ("regulator", "bank", "enterprise",
                                  "auditor"):
                raise Bad("role %r cannot be registered" % st["role"])
            if not 1 <= len(st["name"].encode()) <= 256 or \
                    "\x00" in st["name"]:
                raise Bad("identity name must be 1..256 bytes")
            if len(st["scopes"]) > 16 or any(
                    not isinstance(s, str) or not 1 <= len(s.encode()) <= 32
                    or "\x00" in s for s in st["scopes"]):
                raise Bad("bad scopes")
            label = st.get("label", "")
            if "label" in st and (not 1 <= len(label.encode()) <= 64 or
                                  "\x00" in label):
                raise Bad("label must be 1..64 bytes without NUL")
            if not self.admitted(st["uscc"]):
                raise Bad("USCC %r not admitted" % st["uscc"])
            org = self.orgs.get(st["uscc"])
            if org is not None:
                # A further key of the organisation: its role and name,
                # some of its scopes, a label free among its active keys.
                if st["role"] != org["role"]:
                    raise Bad("%s is registered as %s; a further key "
                              "keeps its role" % (st["uscc"], org["role"]))
                if st["name"] != org["name"]:
                    raise Bad("%s is registered under another name" %
                              st["uscc"])
                for sc in st["scopes"]:
                    if sc not in org["scopes"]:
                        raise Bad("scope %r is not one of %s's scopes" %
                                  (sc, st["uscc"]))
                for k in org["keys"]:
                    if self.keys[k]["end"] == 0 and \
                            self.keys[k]["label"] == label:
                        raise Bad("%s already has an active key labelled "
                                  "%r" % (st["uscc"], label))
            kid = self.newkey(j, st["pub"], st["origin"], st["pop"])
            self.keys[kid] = {"pub": st["pub"], "role": st["role"],
                              "uscc": st["uscc"], "name": st["name"],
                              "label": label,
                              "scopes": list(st["scopes"]), "reg": j,
                              "end": 0}
            if org is None:
                org = self.orgs[st["uscc"]] = {
                    "role": st["role"], "name": st["name"],
                    "scopes": list(st["scopes"]), "reg": j, "keys": []}
            org["keys"].append(kid)
        elif op in ("rotate", "revoke"):
            cur = self.keys.get(st["kid"])
            if cur is None:
                raise Bad("%s: unknown key" % op)
            if cur["role"] == "operator":
                raise Bad("%s: the operator key is fixed" % op)
            if cur["end"] != 0:
                raise Bad("%s: key already ended" % op)
            if op == "rotate":
                kid = self.newkey(j, st["pub"], st["origin"], st["pop"])
                new = dict(cur)
                new.update(pub=st["pub"], reg=j, end=0)
                cur["end"] = j
                self.keys[kid] = new
                if cur["uscc"]:
                    self.orgs[cur["uscc"]]["keys"].append(kid)
            else:
                if st["reason"] not in ("retired", "compromised"):
                    raise Bad("revoke: bad reason")
                if "since" in st and (st["reason"] != "compromised" or
                                      st["since"] > ltime):
                    raise Bad("revoke: bad since")
                cur["end"] = j
        else:
            if len(st["uscc"].encode()) != 18:
                raise Bad("except: a USCC has 18 characters")
            # Only for a code that fails the check, and only once (5.1).
            if self.admitted(st["uscc"]):
                raise Bad("except: %s is valid or already admitted" %
                          st["uscc"])
            if len(st["reason"].encode()) > 256 or "\x00" in st["reason"]:
                raise Bad("except: reason over 256 bytes or holds NUL")
            self.exceptions.add(st["uscc"])

    def replay(self):
        n = len(self.entries)
        try:
            self.genesis()
        except Bad as e:
            self.fail(0, str(e))
            return
        i, ltime = 1, self.gtime
        while i < n:
            nxt, ltime = self.batch(i, ltime)
            if nxt is None:
                # The log cannot be framed past here: every later leaf fails.
                for j in range(i + 1, n):
                    self.fail(j, "follows an unreadable header leaf %d" % i)
                return
            i = nxt


# ---------------------------------------------------------------------------
# Test helper: a tampered copy


def tamper(argv):
    if len(argv) not in (4, 5):
        raise UsageError("usage: verify.py --tamper SRC DST DB INDEX "
                         "[OFFSET]")
    src, dst, db = argv[0], argv[1], argv[2]
    # INDEX is a number (key u64be), or 0x<hex> for any other key.
    key = (bytes.fromhex(argv[3][2:]) if argv[3].startswith("0x")
           else int(argv[3]).to_bytes(8, "big"))
    offset = int(argv[4]) if len(argv) == 5 else -1
    if os.path.exists(dst):
        raise UsageError("%s exists" % dst)
    r = subprocess.run(["mdb_dump", "-a", src], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise UsageError("mdb_dump -a %s failed" % src)
    lines = r.stdout.decode("ascii").split("\n")
    cur, in_data, is_key, done = None, False, True, False
    want = " " + key.hex()
    for i, ln in enumerate(lines):
        if ln.startswith("database="):
            cur = ln[len("database="):]
        elif ln == "HEADER=END":
            in_data, is_key = True, True
        elif ln == "DATA=END":
            in_data = False
        elif in_data:
            if is_key and cur == db and ln == want and not done:
                val = bytearray(binascii.unhexlify(lines[i + 1][1:]))
                val[offset] ^= 0x01
                lines[i + 1] = " " + val.hex()
                done = True
            is_key = not is_key
    if not done:
        raise UsageError("no key %s in database %s" % (key.hex(), db))
    os.mkdir(dst, 0o700)
    r = subprocess.run(["mdb_load", "-f", "/dev/stdin", dst],
                       input="\n".join(lines).encode("ascii"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise UsageError("mdb_load failed: %s" %
                         r.stderr.decode(errors="replace").strip())
    print("tampered copy of %s in %s (%s key %s)" % (src, dst, db, key.hex()))
    return 0


# ---------------------------------------------------------------------------
# Main


def main(argv):
    if argv[:1] == ["--tamper"]:
        return tamper(argv[1:])
    ap = argparse.ArgumentParser(
        prog="verify.py",
        description="Outside verifier of a Tally data directory "
        "(docs/format.md).")
    ap.add_argument("datadir")
    ap.add_argument("--checkpoint", action="append", default=[],
                    metavar="NOTE_FILE")
    ap.add_argument("--vkey", metavar="VKEY")
    try:
        args = ap.parse_args(argv)
    except SystemExit as e:
        if e.code == 0:
            return 0
        raise UsageError("usage error")
    if not os.path.isfile(os.path.join(args.datadir, "data.mdb")):
        raise UsageError("%s holds no data.mdb" % args.datadir)
    for tool in ("mdb_dump", "openssl"):
        if shutil.which(tool) is None:
            raise UsageError("%s is not installed" % tool)
    notes = []
    for path in args.checkpoint:
        with open(path, "rb") as f:
            notes.append((path, f.read()))
    vkey_text = None
    if args.vkey is not None:
        if os.path.isfile(args.vkey):
            with open(args.vkey, "r", encoding="utf-8") as f:
                vkey_text = f.read()
        else:
            vkey_text = args.vkey

    rows = mdb_dump(args.datadir, "entries")
    ckpts = mdb_dump(args.datadir, "checkpoints")
    nodes = mdb_dump(args.datadir, "nodes", required=False)

    passed = failed = 0
    failures = []

    def result(name, why):
        nonlocal passed, failed
        if why is None:
            passed += 1
        else:
            failed += 1
            failures.append("FAIL %s: %s" % (name, why))

    # Entries: keys 0, 1, 2, ... without a gap.
    entries = []
    for k, v in rows:
        if len(k) != 8 or int.from_bytes(k, "big") != len(entries):
            result("entries", "key %s where leaf %d was expected" %
                   (k.hex(), len(entries)))
            break
        entries.append(v)
    size = len(entries)
    sigs = Verifier()
    try:
        led = Ledger(entries, sigs)
        if size == 0:
            result("leaf 0", "the log is empty (no genesis)")
        else:
            led.replay()
        for leaf, what in sigs.run():
            led.fail(leaf, what + " does not verify")
        hashes = [leaf_hash(e) for e in entries]
        tree = Tree(hashes) if hashes else None
        for i in range(size):
            result("leaf %d" % i, led.bad.get(i))
        first_bad = min(led.bad) if led.bad else None
        genesis_ok = size > 0 and 0 not in led.bad

        # The verifier key: from genesis; --vkey must name the same key.
        vk = None
        if genesis_ok:
            vk = (led.origin, led.ckpt_pub)
        if vkey_text is not None:
            why = None
            try:
                name, pub = vkey_parse(vkey_text)
                if vk is not None and (name, pub) != vk:
                    why = "the vkey is not the genesis checkpoint key"
                vk = (name, pub)
            except Bad as e:
                why = str(e)
            result("vkey", why)

        def note_check(note, want_size=None):
            if vk is None:
                raise Bad("no verifier key (genesis unreadable)")
            origin, nsize, root, body, lines = note_parse(note)
            name, pub = vk
            if origin != name:
                raise Bad("origin %s is not the key's name %s" %
                          (origin, name))
            kid = note_key_id(name, pub)
            mine = [raw for (nm, raw) in lines
                    if nm == name and raw[:4] == kid]
            if len(mine) != 1:
                raise Bad("%d signatures by the checkpoint key" % len(mine))
            if len(mine[0]) != 68:
                raise Bad("signature is not 4 + 64 bytes")
            if want_size is not None and nsize != want_size:
                raise Bad("note size %d stored under key %d" %
                          (nsize, want_size))
            if nsize > size:
                raise Bad("size %d beyond the log's %d leaves" %
                          (nsize, size))
            if tree is None or tree.root(nsize) != root:
                raise Bad("root at size %d does not match the "
                          "recomputed root" % nsize)
            return nsize, pub, body, mine[0][4:]

        # Stored checkpoints (one check each), then the given notes.
        nsigs = Verifier()
        pending = []
        latest = None
        for k, v in ckpts:
            name = "checkpoint %d" % int.from_bytes(k, "big")
            latest = int.from_bytes(k, "big")
            try:
                if len(k) != 8:
                    raise Bad("key is not 8 bytes")
                nsize, pub, body, sig = note_check(v, latest)
                nsigs.add(name, name, pub, None, body, sig)
                pending.append(name)
            except Bad as e:
                result(name, str(e))
        if latest is not None and latest != size:
            result("latest checkpoint", "entries extend past the latest "
                   "checkpoint (%d > %d)" % (size, latest))
        if not ckpts:
            result("checkpoints", "no stored checkpoint")
        for path, note in notes:
            name = "--checkpoint %s" % path
            try:
                nsize, pub, body, sig = note_check(note)
                nsigs.add(name, name, pub, None, body, sig)
                pending.append(name)
            except Bad as e:
                result(name, str(e))
        badnotes = {n for n, _ in nsigs.run()}
        for name in pending:
            result(name, "signature does not verify"
                   if name in badnotes else None)
        nsigs.close()

        # The derived `nodes` database, when present.
        if nodes is not None:
            want = stored_tiles(hashes)
            got = list(nodes)
            why = None
            if len(got) != len(want):
                why = "%d stored tiles, want %d" % (len(got), len(want))
            else:
                for (k, v), (wk, wv) in zip(got, want):
                    if k != wk or v != wv:
                        why = "tile %s differs" % k.hex()
                        break
            result("nodes", why)
    finally:
        sigs.close()

    for line in failures:
        print(line)
    print("data directory: %s" % args.datadir)
    if size > 0 and genesis_ok:
        print("origin: %s" % led.origin)
    print("tree size: %d" % size)
    if size > 0:
        print("root: %s" % tree.root(size).hex())
    print("batches: %d, records: %d, keys: %d" %
          (led.nbatches, led.nrecords, len(led.keys)))
    print("stored checkpoints: %d (latest size %s)" %
          (len(ckpts), latest))
    print("signatures checked: %d" % (len(sigs.jobs) + len(pending)))
    if first_bad is not None:
        print("first bad leaf: %d (%s)" % (first_bad, led.bad[first_bad]))
    print("outside_verify: %d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as e:
        print("outside_verify: %s" % e, file=sys.stderr)
        print("outside_verify: 0 passed, 0 failed")
        sys.exit(2)
    except OSError as e:
        print("outside_verify: %s" % e, file=sys.stderr)
        print("outside_verify: 0 passed, 0 failed")
        sys.exit(2)
