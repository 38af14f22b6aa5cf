#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/vectors/ledger_v1/make.py -- how the two ledgers in this folder were
# made: with a tally from before several keys per organisation (commit
# e43b809, identity indexer version 1: one active key per USCC, id_orgs
# naming the latest key), using the golden keys (tests/golden/keys) and a
# fixed clock.  Each is kept as `mdb_dump -a` text, which `mdb_load` turns
# back into a data directory (tests/integration/test_keys.py does).
#   clean.dump       an enterprise and a regulator registered, one
#                    attestation, the regulator's key rotated: valid under
#                    today's rules too, its identity indexes in the old layout
#   reregister.dump  an enterprise registered, revoked, and its USCC then
#                    registered again as a bank under another name (leaf 5):
#                    accepted then, refused now (an organisation keeps its
#                    role and name)
# Usage: make.py OLD_TALLY OUTDIR   (not run by the tests)
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
KEYS = os.path.join(HERE, "..", "..", "golden", "keys")
ENT = "914403001922038216"
REG = "91350100M000100Y43"
ORIGIN = "fixture.test/v1"


def main(tally, outdir):
    tmp = tempfile.mkdtemp(prefix="ledger-v1-")
    env = dict(os.environ, TALLY_NOW_MS="1767225600000")

    def t(*args):
        p = subprocess.run([tally] + list(args), cwd=tmp, env=env,
                           capture_output=True, text=True)
        if p.returncode != 0:
            sys.exit("%s: %s" % (" ".join(args), p.stderr))
        return p.stdout

    for name in os.listdir(KEYS):
        shutil.copyfile(os.path.join(KEYS, name), os.path.join(tmp, name))
        os.chmod(os.path.join(tmp, name), 0o600)

    def ledger(name):
        data = os.path.join(tmp, name)
        t("init", "--data", data, "--operator-key", "op.pem",
          "--checkpoint-key", "ck.pem", "--origin", ORIGIN)
        shutil.copyfile(os.path.join(tmp, "ck.pem"),
                        os.path.join(data, "checkpoint.key"))
        os.chmod(os.path.join(data, "checkpoint.key"), 0o600)
        return data

    def register(data, key, role, name, code, scopes=()):
        t("id", "pop", "--key", key + ".pem", "--data", data, "--out",
          key + ".pop")
        a = ["id", "register", "--data", data, "--signer", "op.pem",
             "--role", role, "--name", name, "--uscc", code, "--pubkey",
             key + ".pub", "--pop", key + ".pop"]
        for s in scopes:
            a += ["--scope", s]
        t(*a)

    def dump(data, name):
        p = subprocess.run(["mdb_dump", "-a", data], capture_output=True)
        if p.returncode != 0:
            sys.exit("mdb_dump failed")
        # mdb_load (lmdb-utils 0.9) warns about this header line; drop it.
        keep = [l for l in p.stdout.split(b"\n")
                if not l.startswith(b"db_pagesize=")]
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(b"\n".join(keep))

    data = ledger("clean")
    register(data, "ent", "enterprise", "Golden Foods Co", ENT)
    register(data, "reg", "regulator", "Golden Tax Bureau", REG,
             ["tax", "market"])
    with open(os.path.join(tmp, "a.json"), "w") as f:
        json.dump({"records": [{"kind": "attestation", "subject": ENT,
                                "type": "supply.batch",
                                "body": {"lot": "A-1"}}]}, f)
    t("submit", "--data", data, "--key", "ent.pem", "a.json")
    # The regulator's key is rotated to a fresh key (not kept: nothing
    # signs with it later).
    t("keygen", "--out", "reg2.pem")
    subprocess.run(["openssl", "pkey", "-in", os.path.join(tmp, "reg2.pem"),
                    "-pubout", "-out", os.path.join(tmp, "reg2.pub")],
                   check=True)
    t("id", "pop", "--key", "reg2.pem", "--data", data, "--out", "reg2.pop")
    t("id", "rotate", "--data", data, "--signer", "op.pem", "--uscc", REG,
      "--pubkey", "reg2.pub", "--pop", "reg2.pop")
    dump(data, "clean.dump")

    data = ledger("reregister")
    register(data, "ent", "enterprise", "Golden Foods Co", ENT)
    t("id", "revoke", "--data", data, "--signer", "op.pem", "--uscc", ENT)
    register(data, "reg", "bank", "Golden Bank", ENT)
    dump(data, "reregister.dump")
    shutil.rmtree(tmp)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: make.py OLD_TALLY OUTDIR")
    main(os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2]))
