#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/outside/rawlog.py -- a raw writer for the tests: builds batch files
# and ledgers from bytes without any of tally's checks, from docs/format.md,
# with the Python standard library, `openssl` (Ed25519 signing) and
# `mdb_dump` / `mdb_load`.  It lets a test put into a ledger what tally
# refuses to write, so that `tally ledger audit` and verify.py can both be
# asked about the same ledger (tests/outside/README.md, "Agreement").
#
# - enc(value): canonical CBOR of dicts (str keys), lists, str, bytes,
#   ints, bools and None; Raw(b) is put in verbatim and Text(b) is a text
#   string of exactly the bytes b (to build what the profile refuses).
# - batch(...), attestation(...), id_register(...) ...: batch files and
#   records, signed with PEM key files through openssl.
# - Log(dir): the authoritative databases of a ledger as bytes; append()
#   adds a batch as tally's writer would (header leaf, record leaves,
#   nodes, a signed checkpoint, the indexers' marks) and save() writes a
#   new data directory.  The other derived databases are left as they
#   were: `tally ledger reindex` rebuilds them, or an audit --readonly
#   replays around them.  init() makes leaf 0 with any genesis params.

import base64
import binascii
import os
import shutil
import subprocess
import tempfile
import time

import verify  # tests/outside/verify.py: hashes and the tile layout

T_BATCH = "tally/batch/v1"
T_HDR = "tally/batch-header/v1"
T_RECORD = "tally/record/v1"
T_IDENTITY = "tally/identity/v1"
DEFAULT_PARAMS = {"body": 16384, "leaf": 65535, "batch": 16777216,
                  "window": 600000, "records": 10000}


# ---------------------------------------------------------------------------
# CBOR encoding


class Raw(bytes):
    """An item already encoded: written as it is."""


class Text(bytes):
    """A text string holding exactly these bytes (NUL, bad UTF-8 ...)."""


class Map(list):
    """A map written in the given order of (key, value) pairs."""


def head(major, v):
    return verify._head(major, v)


def enc(v):
    if isinstance(v, Raw):
        return bytes(v)
    if isinstance(v, Text):
        return head(3, len(v)) + bytes(v)
    if isinstance(v, bool):
        return b"\xf5" if v else b"\xf4"
    if v is None:
        return b"\xf6"
    if isinstance(v, int):
        return head(0, v) if v >= 0 else head(1, -1 - v)
    if isinstance(v, bytes):
        return head(2, len(v)) + v
    if isinstance(v, str):
        return verify.cbor_text(v)
    if isinstance(v, Map):
        return head(5, len(v)) + b"".join(enc(k) + enc(x) for k, x in v)
    if isinstance(v, list):
        return head(4, len(v)) + b"".join(enc(x) for x in v)
    if isinstance(v, dict):
        items = sorted((enc(k), enc(x)) for k, x in v.items())
        return head(5, len(items)) + b"".join(k + x for k, x in items)
    raise TypeError(type(v))


# ---------------------------------------------------------------------------
# Keys and signatures through openssl


def _openssl(args, data=None):
    r = subprocess.run(["openssl"] + args, input=data,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("openssl %s: %s" %
                           (args[0], r.stderr.decode(errors="replace")))
    return r.stdout


def pubkey(pem):
    """The 32-byte Ed25519 public key of a PKCS#8 PEM file."""
    der = _openssl(["pkey", "-in", pem, "-pubout", "-outform", "DER"])
    if der[:12] != verify.SPKI_PREFIX or len(der) != 44:
        raise RuntimeError("%s is not an Ed25519 key" % pem)
    return der[12:]


def sign(pem, msg, purpose=None):
    """Ed25519 over "tally/v1/" purpose 0x00 msg (or msg, purpose None)."""
    if purpose is not None:
        msg = b"tally/v1/" + purpose.encode() + b"\x00" + msg
    with tempfile.NamedTemporaryFile() as f:
        f.write(msg)
        f.flush()
        sig = _openssl(["pkeyutl", "-sign", "-inkey", pem, "-rawin", "-in",
                        f.name])
    if len(sig) != 64:
        raise RuntimeError("openssl gave a %d-byte signature" % len(sig))
    return sig


def key_id(pem):
    return verify.key_id(pubkey(pem))


# ---------------------------------------------------------------------------
# Records and batch files (format.md sections 4, 6.3)


def root(recs):
    return verify.mth([verify.leaf_hash(r) for r in recs])


def batch(key, origin, seq, time_ms, recs, n=None, kid=None, hdr=None,
          sig=None):
    """A batch file signed by the PEM key: recs are record bytes; n, kid,
    hdr (the header's bytes) and sig override what would be computed."""
    if hdr is None:
        hdr = enc({"n": len(recs) if n is None else n, "t": T_HDR,
                   "kid": key_id(key) if kid is None else kid, "seq": seq,
                   "root": root(recs), "time": time_ms, "origin": origin})
    if sig is None:
        sig = sign(key, hdr, "batch-header")
    return enc({"t": T_BATCH, "hdr": hdr, "sig": sig, "recs": list(recs)})


def attestation(subject, typ, body=None, refs=None, **extra):
    r = {"t": T_RECORD, "kind": "attestation", "subject": subject,
         "type": typ, "body": {"amount_fen": 100} if body is None else body}
    if refs is not None:
        r["refs"] = refs
    r.update(extra)
    return enc(r)


def pop(newkey, origin):
    st = enc(Map([("t", "tally/identity-pop/v1"), ("pub", pubkey(newkey)),
                  ("origin", origin)]))
    return sign(newkey, st, "identity-pop")


def identity(op, stmt):
    """An identity record: the statement (a dict or bytes) signed by op."""
    st = stmt if isinstance(stmt, bytes) else enc(stmt)
    return enc({"t": T_RECORD, "kind": "identity", "stmt": st,
                "sig": sign(op, st, "identity")})


def id_register(op, origin, newkey, name, role, uscc, scopes=()):
    return identity(op, {"t": T_IDENTITY, "op": "register",
                         "pop": pop(newkey, origin),
                         "pub": pubkey(newkey), "name": name, "role": role,
                         "uscc": uscc, "origin": origin,
                         "scopes": list(scopes)})


def id_except(op, origin, uscc, reason):
    return identity(op, {"t": T_IDENTITY, "op": "except", "uscc": uscc,
                         "origin": origin, "reason": reason})


def batch_parts(b):
    """(hdr bytes, sig bytes, [record bytes]) of a batch file, read without
    judging it: only the four members are needed to frame leaves."""
    m = verify.cbor_decode(b)
    return m["hdr"], m["sig"], m["recs"]


# ---------------------------------------------------------------------------
# Ledgers through mdb_dump / mdb_load


def dump(datadir):
    """{database: [(key, value)]} of every named database."""
    r = subprocess.run(["mdb_dump", "-a", datadir], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("mdb_dump -a %s: %s" %
                           (datadir, r.stderr.decode(errors="replace")))
    dbs, cur, flags, rows, in_data = {}, None, {}, None, False
    lines = r.stdout.decode("ascii").split("\n")
    i = 0
    while i < len(lines):
        ln = lines[i]
        if not in_data:
            if ln.startswith("database="):
                cur = ln[len("database="):]
            elif ln.endswith("=1"):   # duplicates=1, integerkey=1 ...
                flags.setdefault(cur, []).append(ln)
            elif ln == "HEADER=END":
                in_data, rows = True, []
        elif ln == "DATA=END":
            dbs[cur] = rows
            in_data = False
        else:
            rows.append((binascii.unhexlify(ln[1:]),
                         binascii.unhexlify(lines[i + 1][1:])))
            i += 1
        i += 1
    return dbs, flags


def _load(datadir, dbs, flags):
    os.mkdir(datadir, 0o700)
    out = []
    for name in sorted(dbs):
        # The map size only bounds what mdb_load may write; tally sets its
        # own when it opens the directory.
        out += ["VERSION=3", "format=bytevalue", "database=" + name,
                "type=btree", "mapsize=1073741824"]
        out += flags.get(name, [])
        out.append("HEADER=END")
        for k, v in sorted(dbs[name]):
            out += [" " + k.hex(), " " + v.hex()]
        out.append("DATA=END")
    r = subprocess.run(["mdb_load", "-f", "/dev/stdin", datadir],
                       input=("\n".join(out) + "\n").encode("ascii"),
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if r.returncode != 0:
        raise RuntimeError("mdb_load %s: %s" %
                           (datadir, r.stderr.decode(errors="replace")))
    for f in os.listdir(datadir):
        os.chmod(os.path.join(datadir, f), 0o600)


def note(origin, size, root_hash, ckpt_key):
    """The checkpoint note (format.md 7.1), signed with ckpt_key."""
    body = ("%s\n%d\n%s\n" % (origin, size,
                              base64.b64encode(root_hash).decode())).encode()
    raw = verify.note_key_id(origin, pubkey(ckpt_key)) + sign(ckpt_key,
                                                              body)
    return (body + ("\n" + verify.EM_DASH + origin + " ").encode() +
            base64.b64encode(raw) + b"\n")


class Log:
    """A ledger's databases, held as bytes, and written back by save()."""

    def __init__(self, datadir=None, ckpt_key=None):
        self.dbs, self.flags = dump(datadir) if datadir else ({}, {})
        for name in ("entries", "checkpoints", "nodes", "meta"):
            self.dbs.setdefault(name, [])
        self.ckpt_key = ckpt_key or os.path.join(datadir, "checkpoint.key")

    def leaves(self):
        return [v for _, v in sorted(self.dbs["entries"])]

    def origin(self):
        g = verify.cbor_decode(self.leaves()[0])
        return verify.cbor_decode(g["stmt"])["origin"]

    def ltime(self):
        """The last log time: of the last header leaf, else genesis."""
        leaves = self.leaves()
        g = verify.cbor_decode(leaves[0])
        t = verify.cbor_decode(g["stmt"])["time"]
        for leaf in leaves[1:]:
            m = verify.cbor_decode(leaf)
            if m.get("t") in (verify.T_HLEAF, verify.T_HLEAF_V1):
                t = m["ltime"]
        return t

    def _put_leaves(self, new):
        size = len(self.dbs["entries"])
        for k, leaf in enumerate(new):
            self.dbs["entries"].append(((size + k).to_bytes(8, "big"),
                                        leaf))
        hashes = [verify.leaf_hash(x) for x in self.leaves()]
        self.dbs["nodes"] = verify.stored_tiles(hashes)
        size = len(hashes)
        self.dbs["checkpoints"].append((size.to_bytes(8, "big"), note(
            self.origin(), size, verify.Tree(hashes).root(size),
            self.ckpt_key)))
        self.dbs["meta"] = [(k, v[:4] + size.to_bytes(8, "big"))
                            if k.startswith(b"idx/") else (k, v)
                            for k, v in self.dbs["meta"]]
        return size

    def append(self, batch_file, clock=None, ltime=None):
        """Appends the batch as tally's writer would, judging nothing:
        the writer's clock reading clock (None: now) and the log time
        ltime (None: max(last log time, clock)).  Returns (first leaf,
        new size)."""
        hdr, sig, recs = batch_parts(batch_file)
        if clock is None:
            clock = int(time.time() * 1000)
        if ltime is None:
            ltime = max(self.ltime(), clock)
        h = len(self.dbs["entries"])
        hleaf = enc({"t": verify.T_HLEAF, "hdr": hdr, "sig": sig,
                     "clock": clock, "first": h + 1, "ltime": ltime})
        hh = verify.leaf_hash(hleaf)
        rleaves = [enc({"t": "tally/record-leaf/v1", "hh": hh, "hi": h,
                        "pos": pos, "rec": rec})
                   for pos, rec in enumerate(recs)]
        return h, self._put_leaves([hleaf] + rleaves)

    def init(self, op, origin, time_ms, params=None):
        """Leaf 0 (and the first checkpoint) for an empty Log."""
        p = dict(DEFAULT_PARAMS)
        p.update(params or {})
        st = enc({"t": "tally/genesis/v1", "op": pubkey(op),
                  "ckpt": pubkey(self.ckpt_key), "time": time_ms,
                  "suite": {"sig": "ed25519", "hash": "sha-256"},
                  "origin": origin, "params": p})
        self._put_leaves([enc({"t": "tally/genesis-leaf/v1", "stmt": st,
                               "sig": sign(op, st, "genesis")})])

    def save(self, datadir, with_key=True):
        """Writes the databases into the new directory datadir, with a copy
        of the checkpoint key as datadir/checkpoint.key."""
        _load(datadir, self.dbs, self.flags)
        if with_key:
            dst = os.path.join(datadir, "checkpoint.key")
            shutil.copyfile(self.ckpt_key, dst)
            os.chmod(dst, 0o600)
