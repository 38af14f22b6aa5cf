#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/outside/test_outside.py -- runs the outside verifier on a ledger
# (the demo's) and on copies with one bit flipped in each authoritative or
# derived database: the verifier and `tally ledger audit` must both accept
# the original and refuse every tampered copy.  Both must also refuse a
# ledger an older tally wrote that breaks today's identity rules
# (tests/vectors/ledger_v1).
# Usage: test_outside.py TALLY LEDGER_DIR SAVED_CHECKPOINT VKEY
import os, subprocess, sys, tempfile

tally, ledger, saved, vkey = sys.argv[1:5]
here = os.path.dirname(os.path.abspath(__file__))
verify = [sys.executable, os.path.join(here, 'verify.py')]
passed = failed = 0


def check(name, cond, detail=''):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f'FAIL {name}: {detail}')


def run(args):
    return subprocess.run(args, capture_output=True, text=True)


r = run(verify + [ledger, '--checkpoint', saved, '--vkey', vkey])
check('original verifies', r.returncode == 0, r.stdout[-400:])
r = run([tally, 'ledger', 'audit', '--data', ledger, '--checkpoint', saved])
check('original audits', r.returncode == 0, r.stdout[-400:])
r = run(verify)
check('usage error exits 2', r.returncode == 2, r.returncode)

size = int(open(saved).read().split('\n')[1])
cases = [('entries', '0', '20'), ('entries', '1', '30'),
         ('entries', str(size - 1), '25'), ('checkpoints', str(size), '5'),
         ('nodes', '0x' + '00' * 9, '100')]
for db, key, off in cases:
    with tempfile.TemporaryDirectory() as tmp:
        dst = os.path.join(tmp, 't')
        args = verify + ['--tamper', ledger, dst, db, key]
        if off is not None:
            args.append(off)
        r = run(args)
        if r.returncode != 0:
            check(f'tamper {db} {key}', False, r.stderr[-300:])
            continue
        r = run(verify + [dst, '--checkpoint', saved, '--vkey', vkey])
        check(f'verifier refuses tampered {db} {key}', r.returncode == 1,
              f'exit {r.returncode}')
        r = run([tally, 'ledger', 'audit', '--data', dst, '--checkpoint',
                 saved])
        check(f'audit refuses tampered {db} {key}', r.returncode != 0,
              f'exit {r.returncode}: {r.stdout[-300:]}')

# ---- a ledger an older tally accepted and this one refuses ----
V1 = os.path.join(here, '..', 'vectors', 'ledger_v1')
with tempfile.TemporaryDirectory() as tmp:
    # A USCC registered again, as a bank under another name, after its
    # key was revoked: the batch of header leaf 5, its record at leaf 6.
    dst = os.path.join(tmp, 'rereg')
    os.mkdir(dst, 0o700)
    r = run(['mdb_load', '-f', os.path.join(V1, 'reregister.dump'), dst])
    check('load the v1 re-registration', r.returncode == 0, r.stderr)
    r = run(verify + [dst])
    check('v1 re-registration: the verifier refuses leaf 6',
          r.returncode == 1 and 'first bad leaf: 6 ' in r.stdout,
          r.stdout[-400:])
    r = run([tally, 'ledger', 'audit', '--readonly', '--data', dst])
    check('v1 re-registration: audit refuses its batch',
          r.returncode == 1 and 'audit FAILED at leaf 5: record 0: ' in
          r.stdout and 'keeps its role' in r.stdout, r.stdout[-400:])

print(f'test_outside: {passed} passed, {failed} failed')
sys.exit(1 if failed else 0)
