#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/outside/test_outside.py -- runs the outside verifier on a ledger
# (the demo's) and on copies with one bit flipped in each authoritative or
# derived database: the verifier and `tally ledger audit` must both accept
# the original and refuse every tampered copy.
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

print(f'test_outside: {passed} passed, {failed} failed')
sys.exit(1 if failed else 0)
