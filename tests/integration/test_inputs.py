# SPDX-License-Identifier: MIT
# tests/integration/test_inputs.py -- input bounds and exact arguments
# (docs/cli.md section 1, Limits): every file and stdin read is bounded by
# what it may hold, a FIFO too, and a FIFO as a key file is refused without
# waiting for a writer; conflicting options are a usage error; a record
# bundle is checked whole; JSON and submit mistakes get their true message.  Each refusal: exit code, the exact message, and
# nothing written (mdb_dump of every database, before and after).
# Run: python3 tests/integration/test_inputs.py out/debug/tools/tally

import json
import os
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, batch_json, check, must, refused  # noqa: E402

ENT = "914403001922038216"
OTHER = "91350100M000100Y43"
BATCH_MAX = 16 << 20   # default genesis params.batch
T = 20                 # seconds: a command that waits on a FIFO fails


def base(d):
    L = Ledger(d)
    ent = L.register("ent", ENT)
    return L, ent


def sparse(L, name, size):
    """A file of size bytes (holes: nothing is written)."""
    p = L.path(name)
    with open(p, "wb") as f:
        f.truncate(size)
    return p


def fifo(L, name):
    p = L.path(name)
    os.mkfifo(p)
    return p


def feed(path, n):
    """A thread that opens the FIFO path for writing (that waits for the
    reader) and writes n bytes; the reader may stop early."""
    def run():
        try:
            with open(path, "wb") as f:
                f.write(b"x" * n)
        except BrokenPipeError:
            pass
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def exact(name, r, rc, err):
    """Exit rc, exactly the one line err on stderr, nothing on stdout."""
    check("%s: exit %d, message %r" % (name, rc, err),
          r.rc == rc and r.err == err + "\n" and r.out == b"", (r, err))


def test_bounded_batch_files(d):
    L, ent = base(d)
    pre = "tally submit: "
    big = sparse(L, "big.cbor", BATCH_MAX + 1)
    r = refused(L, "batch file past params.batch",
                lambda: L.submit(big), "too large", rc=1)
    exact("batch file past params.batch", r, 1, pre + big +
          " is too large (limit 16777216 bytes for a batch file, the "
          "ledger's params.batch)")
    r = refused(L, "/dev/zero as a batch file",
                lambda: L.t("submit", "--data", L.data, "/dev/zero",
                            timeout=T), "too large", rc=1)
    exact("/dev/zero as a batch file", r, 1, pre + "/dev/zero is too large "
          "(limit 16777216 bytes for a batch file, the ledger's "
          "params.batch)")
    r = refused(L, "stdin past the JSON batch bound",
                lambda: L.t("submit", "--data", L.data, "--key", ent, "-",
                            stdin=b" " * (4 * BATCH_MAX + 1), timeout=T),
                "too large", rc=1)
    exact("stdin past the JSON batch bound", r, 1, pre + "stdin is too large "
          "(limit 67108864 bytes for a JSON batch)")
    # at the limit is not refused for its size
    ok = sparse(L, "at.cbor", BATCH_MAX)
    r = L.submit(ok)
    check("a batch file of exactly params.batch is read (and refused as "
          "CBOR)", r.rc == 1 and "too large" not in r.err and
          "refused: " in r.err, r)
    # a FIFO is read as stdin is, up to the same bound
    f = fifo(L, "f.cbor")
    w = feed(f, BATCH_MAX + 1)
    r = refused(L, "FIFO past params.batch",
                lambda: L.t("submit", "--data", L.data, f, timeout=T),
                "too large", rc=1)
    w.join(T)
    exact("FIFO past params.batch", r, 1, pre + f + " is too large (limit "
          "16777216 bytes for a batch file, the ledger's params.batch)")


def test_bounded_keys(d):
    L, ent = base(d)
    f = fifo(L, "key.fifo")
    r = refused(L, "FIFO as --key", lambda: L.t(
        "submit", "--data", L.data, "--key", f,
        L.write("b.json", batch_json(ENT)), timeout=T), "regular", rc=2)
    exact("FIFO as --key", r, 2,
          "tally submit: key file %s is not a regular file" % f)
    r = refused(L, "FIFO as --signer", lambda: L.t(
        "id", "revoke", "--data", L.data, "--signer", f, "--uscc", ENT,
        timeout=T), "regular", rc=2)
    exact("FIFO as --signer", r, 2,
          "tally id: key file %s is not a regular file" % f)
    big = L.write("big.pem", b"-" * 16385)
    os.chmod(big, 0o600)
    r = refused(L, "key file past 16 KiB", lambda: L.t(
        "submit", "--data", L.data, "--key", big,
        L.write("b.json", batch_json(ENT))), "too large")
    exact("key file past 16 KiB", r, 1, "tally submit: key file %s is too "
          "large (limit 16384 bytes for a key file)" % big)
    L.keygen("new")
    must("pop new", L.t("id", "pop", "--key", L.path("new.pem"), "--data",
                        L.data, "--out", L.path("new.pop")))

    def reg(pub, pop):
        return lambda: L.t("id", "register", "--data", L.data, "--signer",
                           L.op, "--role", "enterprise", "--name", "N",
                           "--uscc", OTHER, "--pubkey", pub, "--pop", pop,
                           timeout=T)
    r = refused(L, "/dev/zero as --pubkey",
                reg("/dev/zero", L.path("new.pop")), "too large")
    exact("/dev/zero as --pubkey", r, 1, "tally id: /dev/zero is too large "
          "(limit 4096 bytes for a public key file)")
    r = refused(L, "/dev/zero as --pop",
                reg(L.path("new.pub"), "/dev/zero"), "too large")
    exact("/dev/zero as --pop", r, 1, "tally id: /dev/zero is too large "
          "(limit 4096 bytes for a proof of possession file)")
    must("the good registration goes in",
         reg(L.path("new.pub"), L.path("new.pop"))())


def test_bounded_proof_inputs(d):
    L, ent = base(d)
    must("a record", L.submit_json(ent, batch_json(ENT)))
    vk = L.write("vkey", L.t("ledger", "pubkey", "--data", L.data).out)
    cp = L.write("cp", L.checkpoint())
    r = L.t("proof", "inclusion", "--leaf", "/dev/zero", "--index", 0,
            "--size", 1, "--root", "00" * 32, timeout=T)
    exact("/dev/zero as --leaf", r, 1, "tally proof: /dev/zero is too "
          "large (limit 65535 bytes for a leaf)")
    r = L.t("proof", "inclusion", "--leaf-hash", "00" * 32, "--index", 0,
            "--checkpoint", "/dev/zero", "--vkey", vk, timeout=T)
    exact("/dev/zero as --checkpoint", r, 1, "tally proof: /dev/zero is too "
          "large (limit 65536 bytes for a checkpoint note)")
    big = sparse(L, "big.json", (1 << 20) + 1)
    r = L.t("proof", "record", "--bundle", big, "--vkey", vk, timeout=T)
    exact("bundle past 1 MiB", r, 1, "tally proof: %s is too large "
          "(limit 1048576 bytes for a record bundle)" % big)
    r = L.t("proof", "record", "--bundle", cp, "--vkey", "/dev/zero",
            timeout=T)
    exact("/dev/zero as --vkey", r, 1, "tally proof: /dev/zero is too "
          "large (limit 4096 bytes for a vkey file)")
    f = fifo(L, "vk.fifo")
    w = feed(f, 4097)
    r = L.t("proof", "record", "--bundle", cp, "--vkey", f, timeout=T)
    w.join(T)
    exact("FIFO as --vkey, past 4 KiB", r, 1, "tally proof: %s is too large "
          "(limit 4096 bytes for a vkey file)" % f)
    r = refused(L, "audit --checkpoint /dev/zero", lambda: L.t(
        "ledger", "audit", "--data", L.data, "--checkpoint", "/dev/zero",
        timeout=T), "too large")
    exact("audit --checkpoint /dev/zero", r, 1, "tally ledger: /dev/zero is "
          "too large (limit 65536 bytes for a checkpoint note)")


def test_conflicting_options(d):
    L, ent = base(d)
    must("a record", L.submit_json(ent, batch_json(ENT)))
    vk = L.write("vkey", L.t("ledger", "pubkey", "--data", L.data).out)
    cp = L.write("cp", L.checkpoint())
    leaf = L.write("leaf", L.t("ledger", "get", "--data", L.data, "--index",
                               0, "--raw").out)
    h = "00" * 32
    cases = [
        (["proof", "inclusion", "--leaf", leaf, "--leaf-hash", h, "--index",
          0, "--size", 1, "--root", h], "--leaf and --leaf-hash"),
        (["proof", "inclusion", "--leaf-hash", h, "--index", 0,
          "--checkpoint", cp, "--vkey", vk, "--root", h],
         "--checkpoint and --root"),
        (["proof", "inclusion", "--leaf-hash", h, "--index", 0,
          "--size", 3, "--checkpoint", cp, "--vkey", vk],
         "--checkpoint and --size"),
        (["proof", "consistency", "--checkpoint1", cp, "--checkpoint2", cp,
          "--vkey", vk, "--size1", 1], "--checkpoint1 and --size1"),
        (["proof", "consistency", "--root2", h, "--checkpoint2", cp,
          "--checkpoint1", cp, "--vkey", vk], "--checkpoint2 and --root2"),
        (["ledger", "prove", "--data", L.data, "--index", 1, "--from", 0,
          "--to", 2], "--index and --from"),
        (["ledger", "prove", "--data", L.data, "--record", 4, "--index", 1],
         "--record and --index"),
        (["ledger", "prove", "--data", L.data, "--record", 4, "--to", 3],
         "--record and --to"),
        (["ledger", "prove", "--data", L.data, "--from", 1, "--to", 3,
          "--size", 2], "--size and --from"),
        (["id", "show", "--data", L.data, "--uscc", ENT, "--key-id", h],
         "--uscc and --key-id"),
        (["id", "revoke", "--data", L.data, "--signer", L.op, "--key-id", h,
          "--uscc", ENT], "--uscc and --key-id"),
    ]
    for args, pair in cases:
        r = refused(L, " ".join(str(a) for a in args[:2]) + " " + pair,
                    lambda: L.t(*args), "give only one", rc=2)
        exact(pair, r, 2, "tally %s: give only one of %s" % (args[0], pair))
    r = L.t("id", "show", "--data", L.data)
    exact("id show with neither", r, 2,
          "tally id: give --uscc CODE or --key-id HEX")
    # each form alone still works
    must("prove --index", L.t("ledger", "prove", "--data", L.data,
                              "--index", 1, "--size", 2))
    must("prove --record", L.t("ledger", "prove", "--data", L.data,
                               "--record", 4))


def test_bundle_whole(d):
    L, ent = base(d)
    must("a record", L.submit_json(ent, batch_json(ENT)))
    vk = L.write("vkey", L.t("ledger", "pubkey", "--data", L.data).out)
    r = must("prove --record 4", L.t("ledger", "prove", "--data", L.data,
                                     "--record", 4))
    b = json.loads(r.out)
    good = L.write("good.json", r.out)
    must("the bundle as printed is valid",
         L.t("proof", "record", "--bundle", good, "--vkey", vk))

    def without(obj, key):
        o = dict(obj)
        del o[key]
        return o
    pre = "tally proof: invalid: "
    cases = [
        ("size wrong", dict(b, size=b["size"] + 1),
         "bundle field size is %d, the checkpoint's size %d" %
         (b["size"] + 1, b["size"])),
        ("size a string", dict(b, size=str(b["size"])),
         "bundle field size must be an integer"),
        ("size missing", without(b, "size"), "the bundle has no size"),
        ("unknown key", dict(b, note="x"), "the bundle has an unknown key "
         "note"),
        ("unknown key, escaped", dict(b, **{"\u00e9\n": 1}),
         'the bundle has an unknown key "\\xc3\\xa9\\x0a"'),
        ("identity missing", without(b, "identity"),
         "the bundle has no identity"),
        ("identity a number", dict(b, identity=5),
         "bundle field identity must be a leaf object or null"),
        ("header not an object", dict(b, header=[1]),
         "bundle field header must be a leaf object"),
        ("leaf object with an unknown key",
         dict(b, record=dict(b["record"], size=1)),
         "bundle field record has an unknown key size"),
        ("leaf object without proof",
         dict(b, genesis=without(b["genesis"], "proof")),
         "bundle field genesis has no proof"),
        ("checkpoint not a string", dict(b, checkpoint=1),
         "bundle field checkpoint must be a string"),
        ("not an object", [b], "a bundle is a JSON object"),
    ]
    for k, (name, bundle, msg) in enumerate(cases):
        p = L.write("b%d.json" % k, json.dumps(bundle))
        r = L.t("proof", "record", "--bundle", p, "--vkey", vk)
        exact("bundle: " + name, r, 1, pre + msg)


def test_submit_mistakes(d):
    L, ent = base(d)
    js = L.write("b.json", batch_json(ENT))
    _, good = L.sign(ent, batch_json(ENT, tag=1), "good", seq=1)
    r = refused(L, "JSON batch without --key",
                lambda: L.submit(good, js), "--key", rc=2)
    exact("JSON batch without --key", r, 2, "tally submit: %s is a JSON "
          "batch: give --key KEYFILE to sign and submit it" % js)
    r = refused(L, "batch sign --origin against --data", lambda: L.t(
        "batch", "sign", "--key", ent, "--origin", "other.test/x", "--data",
        L.data, js), "disagrees", rc=2)
    exact("batch sign --origin against --data", r, 2, "tally batch: --origin "
          "other.test/x disagrees with the ledger in %s (origin %s); give "
          "one of them" % (L.data, L.origin))
    rec = {"subject": ENT, "type": "self.x", "body": {}}
    for name, kind, msg in [("kind a number", 1, '"kind" must be text'),
                            ("kind null", None, '"kind" must be text'),
                            ("kind missing", "-", 'needs "kind"')]:
        r2 = dict(rec) if kind == "-" else dict(rec, kind=kind)
        p = L.write("k.json", json.dumps({"records": [r2]}))
        r = refused(L, name, lambda: L.t("submit", "--data", L.data,
                                         "--key", ent, p), msg)
        exact(name, r, 1, "tally submit: %s: records[0]: %s" % (p, msg))
    # the origin agreeing with --data is fine, and the good batch goes in
    r = L.t("batch", "sign", "--key", ent, "--origin", L.origin, "--data",
            L.data, js)
    check("batch sign with the ledger's own --origin", r.rc == 0, r)
    must("the good batch still goes in", L.submit(good))


harness.run_tests([
    test_bounded_batch_files, test_bounded_keys, test_bounded_proof_inputs,
    test_conflicting_options, test_bundle_whole, test_submit_mistakes,
])
