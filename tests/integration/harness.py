# SPDX-License-Identifier: MIT
# tests/integration/harness.py -- tiny harness for the CLI integration
# tests: a check() counter, each test function in a fresh temp directory,
# helpers to run the tally binary (at a clock reading of the test's choice:
# env=at(ms), tests/fakeclock.py) and to set up a ledger.  The last line
# printed is "<file>: N passed, N failed"; exit status 1 if any failed.

import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))
import fakeclock  # noqa: E402

at = fakeclock.at
_passed = 0
_failed = 0
_file = os.path.basename(sys.argv[0]) if sys.argv else "?"
TALLY = None
VERBOSE = os.environ.get("TALLY_IT_VERBOSE") == "1"


def check(name, cond, detail=""):
    """Counts one check; prints failures (and passes when verbose)."""
    global _passed, _failed
    if cond:
        _passed += 1
        if VERBOSE:
            print("ok   %s" % name)
    else:
        _failed += 1
        d = detail if isinstance(detail, str) else repr(detail)
        if len(d) > 2000:
            d = d[:2000] + "..."
        print("FAIL %s: %s" % (name, d), flush=True)
    return bool(cond)


def finish():
    """Prints the summary line and exits."""
    print("%s: %d passed, %d failed" % (_file, _passed, _failed), flush=True)
    sys.exit(1 if _failed or _passed == 0 else 0)


def setup():
    """Reads the tally binary path from argv; fails loudly if missing."""
    global TALLY
    if len(sys.argv) < 2:
        print("usage: python3 %s PATH/TO/tally" % _file, file=sys.stderr)
        check("binary argument given", False, "no path to tally")
        finish()
    TALLY = os.path.abspath(sys.argv[1])
    if not (os.path.isfile(TALLY) and os.access(TALLY, os.X_OK)):
        print("FATAL: tally binary %s is missing or not executable (build "
              "with ninja)" % TALLY, file=sys.stderr)
        check("tally binary exists", False, TALLY)
        finish()
    try:
        fakeclock.use(TALLY)
    except RuntimeError as e:
        check("clock shim exists", False, str(e))
        finish()
    return TALLY


def run_tests(fns):
    """Runs each function with a fresh temp directory as its argument."""
    setup()
    for fn in fns:
        d = tempfile.mkdtemp(prefix="tally-it-%s-" % fn.__name__)
        t0 = time.time()
        before = _failed
        try:
            fn(d)
        except Exception:
            check("%s raised no exception" % fn.__name__, False,
                  traceback.format_exc())
        dt = time.time() - t0
        if _failed != before and os.environ.get("TALLY_IT_KEEP") == "1":
            print("  (kept %s)" % d)
        else:
            shutil.rmtree(d, ignore_errors=True)
        print("%-40s %s (%.1f s)" % (fn.__name__,
              "ok" if _failed == before else "FAILED", dt), flush=True)
    finish()


class Res:
    def __init__(self, rc, out, err):
        self.rc = rc
        self.out = out          # bytes
        self.err = err          # str

    @property
    def text(self):
        return self.out.decode("utf-8", "replace")

    def __repr__(self):
        return "rc=%s stdout=%r stderr=%r" % (self.rc, self.text[:600],
                                             self.err[:600])


def tally(*args, env=None, cwd=None, stdin=None, timeout=120, exe=None):
    """Runs tally with args; returns Res (stdout bytes, stderr text)."""
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    if env:
        e.update({k: str(v) for k, v in env.items()})
    p = subprocess.run([exe or TALLY] + [str(a) for a in args], env=e,
                       cwd=cwd, input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout)
    return Res(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def must(name, r, rc=0):
    """Checks an exit code; returns r so calls chain."""
    check("%s exits %d" % (name, rc), r.rc == rc, r)
    return r


def refused(L, name, fn, substrs, rc=1):
    """Runs fn(); checks exit rc, each substring on stderr, no change to
    the ledger (mdb_dump of every database and the latest checkpoint)."""
    subs = substrs if isinstance(substrs, (list, tuple)) else [substrs]
    check("%s: the test names the reason" % name, all(subs) and subs)
    before = L.snapshot()
    r = fn()
    check("%s: exit %d" % (name, rc), r.rc == rc, r)
    for s in subs:
        check("%s: message has %r" % (name, s), s in r.err, r)
    after = L.snapshot()
    check("%s: nothing changed" % name, before == after,
          "snapshot differs (%d vs %d bytes)" % (len(before), len(after)))
    check("%s: no acceptance printed" % name,
          b"accepted" not in r.out, r)
    return r


# GB 32100 unified social credit codes
_USCC_CH = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_W = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def uscc(n, prefix="91440300"):
    """The n-th valid test USCC (organisation code check digit too)."""
    body = "%08d" % (n * 7919 % 100000000)
    t = sum(int(c, 36) * w for c, w in zip(body, [3, 7, 9, 10, 5, 8, 4, 2]))
    c = 11 - t % 11
    org = body + ("X" if c == 10 else "0" if c == 11 else str(c))
    p17 = prefix + org
    s = sum(_USCC_CH.index(c) * w for c, w in zip(p17, _USCC_W))
    return p17 + _USCC_CH[(31 - s % 31) % 31]


def batch_json(subject, n=1, typ="self.tax-paid", tag=0, refs=None):
    """A JSON batch of n attestation records about subject."""
    import json
    recs = []
    for i in range(n):
        r = {"kind": "attestation", "subject": subject, "type": typ,
             "body": {"amount_fen": 100 + i, "tag": tag}}
        if refs is not None:
            r["refs"] = refs
        recs.append(r)
    return json.dumps({"records": recs}, separators=(",", ":"))


class Ledger:
    """A ledger in dir/dl with operator key dir/op.pem."""

    def __init__(self, d, origin="example.test/log1", env=None, exe=None,
                 init=True):
        self.d = d
        self.data = os.path.join(d, "dl")
        self.op = os.path.join(d, "op.pem")
        self.origin = origin
        self.env = env
        self.exe = exe
        os.makedirs(d, exist_ok=True)
        if init:
            must("init", self.t("init", "--data", self.data,
                                "--operator-key", self.op,
                                "--origin", origin))

    def t(self, *args, env=None, **kw):
        e = dict(self.env or {})
        e.update(env or {})
        return tally(*args, env=e, exe=self.exe, **kw)

    def path(self, name):
        return os.path.join(self.d, name)

    def write(self, name, content):
        p = self.path(name)
        with open(p, "wb" if isinstance(content, bytes) else "w") as f:
            f.write(content)
        return p

    def keygen(self, name):
        """Makes name.pem, name.pub (PEM public key) if absent."""
        key = self.path(name + ".pem")
        if not os.path.exists(key):
            must("keygen " + name, self.t("keygen", "--out", key))
        pub = self.path(name + ".pub")
        if not os.path.exists(pub):
            p = subprocess.run(["openssl", "pkey", "-in", key, "-pubout",
                                "-out", pub], stderr=subprocess.PIPE)
            check("openssl pubout " + name, p.returncode == 0, p.stderr)
        return key

    def register(self, name, code, role="enterprise", scopes=(), rc=0,
                 org=None, label=None):
        """Registers key name.pem (made if absent) for code; the
        organisation's name is org, default name (a further key of an
        organisation repeats it)."""
        key = self.keygen(name)
        pop = self.path(name + ".pop")
        must("pop " + name, self.t("id", "pop", "--key", key, "--data",
                                   self.data, "--out", pop))
        a = ["id", "register", "--data", self.data, "--signer", self.op,
             "--role", role, "--name", org or name, "--uscc", code,
             "--pubkey", self.path(name + ".pub"), "--pop", pop]
        if label is not None:
            a += ["--label", label]
        for s in scopes:
            a += ["--scope", s]
        r = self.t(*a)
        must("register %s %s" % (name, code), r, rc)
        return key

    def submit_json(self, key, js, name="b.json", env=None):
        return self.t("submit", "--data", self.data, "--key", key,
                      self.write(name, js), env=env)

    def sign(self, key, js, name="b", seq=None, when=None, origin=None,
             with_data=True):
        """batch sign into name.cbor; returns (Res, path)."""
        a = ["batch", "sign", "--key", key, "--origin",
             origin or self.origin]
        if seq is not None:
            a += ["--seq", seq]
        if when is not None:
            a += ["--time", when]
        if with_data:
            a += ["--data", self.data]
        a.append(self.write(name + ".json", js))
        r = self.t(*a)
        must("batch sign " + name, r)
        p = self.path(name + ".cbor")
        with open(p, "wb") as f:
            f.write(r.out)
        return r, p

    def submit(self, *files, env=None):
        return self.t("submit", "--data", self.data, *files, env=env)

    def checkpoint(self, data=None):
        r = self.t("ledger", "checkpoint", "--data", data or self.data)
        must("ledger checkpoint", r)
        return r.out

    def size(self, data=None):
        lines = self.checkpoint(data).split(b"\n")
        return int(lines[1])

    def audit(self, *extra, data=None):
        return self.t("ledger", "audit", "--data", data or self.data, *extra)

    def snapshot(self, data=None):
        """mdb_dump of every database plus the latest checkpoint."""
        d = data or self.data
        p = subprocess.run(["mdb_dump", "-a", d], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        check("mdb_dump -a works", p.returncode == 0, p.stderr)
        return p.stdout + b"\n--checkpoint--\n" + self.checkpoint(d)
