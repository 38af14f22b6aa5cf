# SPDX-License-Identifier: MIT
# tests/integration/test_tallyd.py -- a real tallyd on loopback (tcp and
# ipc) over real ledgers, driven by an independent client (svcwire.py:
# msgpack, framing and MACs in Python, nng through ctypes): plain requests,
# every refusal with its status and message and nothing written, malformed
# and oversized messages, a client that connects and never sends, listener
# refusals, SIGTERM during a burst of submissions (every acknowledged batch
# present after a restart, audit clean).  tallyd is found beside tally.
# Usage: python3 tests/integration/test_tallyd.py out/debug/tools/tally

import os
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
import svcwire as w  # noqa: E402
from harness import Ledger, batch_json, check, must, uscc  # noqa: E402

ST_OK, ST_REQUEST, ST_AUTH, ST_DENIED, ST_REFUSED, ST_NOTFOUND = range(6)


def tallyd_path():
    return os.path.join(os.path.dirname(harness.TALLY), "tallyd")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Server:
    """tallyd on L's ledger, on a fresh loopback tcp port and an ipc
    socket; its stderr (one line per request) in log."""

    def __init__(self, L, extra=()):
        self.L = L
        self.port = free_port()
        self.tcp = "tcp://127.0.0.1:%d" % self.port
        self.ipc = "ipc://" + L.path("tallyd.sock")
        self.logf = L.path("tallyd.%d.log" % self.port)
        self.p = subprocess.Popen(
            [tallyd_path(), "--data", L.data, "--listen", self.tcp,
             "--listen", self.ipc] + list(extra),
            stdout=subprocess.DEVNULL, stderr=open(self.logf, "w"))
        t0 = time.time()
        while time.time() - t0 < 20:
            if "serving" in self.log() or self.p.poll() is not None:
                break
            time.sleep(0.05)
        check("tallyd starts", "serving" in self.log(), self.log())

    def log(self):
        with open(self.logf) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        if self.p.poll() is None:
            self.p.send_signal(sig)
        try:
            rc = self.p.wait(30)
        except subprocess.TimeoutExpired:
            g = subprocess.run(["gdb", "-p", str(self.p.pid), "-batch", "-ex",
                                "thread apply all bt 12"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL)
            print(g.stdout.decode(errors="replace")[-6000:])
            self.p.kill()
            rc = self.p.wait()
            check("tallyd stops within 30 s of SIGTERM", False, self.log())
        return rc


def call(url, op, args=None, raw=None, timeout_ms=10000):
    r = w.Req(url, timeout_ms=timeout_ms)
    try:
        return w.response(r.call(raw if raw is not None else
                                 w.request(op, args)))
    finally:
        r.close()


def enterprise(L, name="ent", n=1):
    code = uscc(n)
    key = L.register(name, code)
    return key, code


def signed(L, key, js, name, seq=None):
    return open(L.sign(key, js, name=name, seq=seq)[1], "rb").read()


def test_plain_tcp_ipc(d):
    L = Ledger(d)
    key, code = enterprise(L)
    b1 = signed(L, key, batch_json(code, 2), "b1")
    S = Server(L)
    try:
        for url in (S.tcp, S.ipc):
            st, msg, res, _, _ = call(url, "checkpoint")
            check("checkpoint over %s" % url[:3], st == ST_OK, (st, msg))
            check("checkpoint note as tally prints it",
                  res["note"].encode() == L.checkpoint(), res)
            check("checkpoint size", res["size"] == L.size(), res)
        st, msg, res, _, _ = call(S.tcp, "submit", {"batch": b1})
        check("submit accepted", st == ST_OK and msg == "accepted",
              (st, msg, res))
        check("receipt: records 4..5 after header 3",
              res["header_index"] == 3 and res["first_record"] == 4 and
              res["nrecords"] == 2 and res["seq"] == 1 and
              res["already"] is False, res)
        check("receipt's checkpoint is the ledger's",
              res["checkpoint"].encode() == L.checkpoint() and
              res["size"] == 6, res)
        st, msg, res, _, _ = call(S.ipc, "submit", {"batch": b1})
        check("resend: already accepted with the same receipt",
              st == ST_OK and msg == "already accepted" and
              res["already"] is True and res["header_index"] == 3, res)
        st, msg, res, _, _ = call(S.tcp, "consistency", {"from": 3,
                                                         "to": 6})
        check("consistency proof", st == ST_OK and res["size1"] == 3 and
              res["size2"] == 6 and len(res["proof"]) >= 1, (st, msg))
        r = L.t("ledger", "prove", "--data", L.data, "--from", "3",
                "--to", "6")
        import json
        j = json.loads(r.text)
        check("the proof is the one tally gives",
              [h.hex() for h in res["proof"]] == j["proof"] and
              res["root2"].hex() == j["root2"], (res, j))
        # The plain test vectors of docs/protocol.md, sent as they are.
        vec = dict(l.split() for l in open(os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "..", "vectors",
            "protocol", "vectors.txt")))
        st, msg, res, _, _ = call(S.tcp, None, raw=bytes.fromhex(
            vec["plain_checkpoint"]))
        check("vector plain_checkpoint answered", st == ST_OK and
              res["size"] == 6, (st, msg))
        st, msg, res, _, _ = call(S.tcp, None, raw=bytes.fromhex(
            vec["plain_consistency"]))
        check("vector plain_consistency: refused, 300 > the size",
              st == ST_REFUSED and "from <= to <= 6" in msg, (st, msg))
        log = S.log()
        check("one log line per request: submit accepted",
              " submit SVC_OK " in log and " checkpoint SVC_OK " in log,
              log)
        check("log names the batch's key", "batch:" in log, log)
    finally:
        check("SIGTERM: exit 0", S.stop() == 0, S.log())
    check("stopped cleanly", "tallyd: stopped" in S.log(), S.log())
    r = L.audit()
    check("audit clean after", r.rc == 0, r)


def test_refusals_write_nothing(d):
    L = Ledger(d)
    key, code = enterprise(L)
    good = signed(L, key, batch_json(code), "good")
    gap = signed(L, key, batch_json(code), "gap", seq=3)
    other = Ledger(os.path.join(d, "o"), origin="example.test/other")
    okey, ocode = enterprise(other, "oent")
    foreign = signed(other, okey, batch_json(ocode), "foreign")
    tampered = bytearray(good)
    tampered[-3] ^= 1
    S = Server(L)
    cases = [
        ("unknown operation", None, w.request("frobnicate"), ST_REQUEST,
         "unknown operation"),
        ("version 2", None, w.pack([2, "checkpoint", {}]), ST_REQUEST,
         "protocol version 2 not supported"),
        ("not an array", None, w.pack({"op": "checkpoint"}), ST_REQUEST,
         "a request is a msgpack array of 3 or 6 elements"),
        ("truncated", None, w.request("checkpoint")[:-1], ST_REQUEST,
         "msgpack"),
        ("a count past the end", None, b"\x93\x01\xa4subm\xdf\xff\xff\xff"
         b"\xff", ST_REQUEST, "exceeds the bytes left"),
        ("trailing bytes", None, w.request("checkpoint") + b"\x00",
         ST_REQUEST, "bytes after the value"),
        ("a float", None, b"\x93\x01\xcb" + b"\x00" * 8 + b"\x80",
         ST_REQUEST, "a float"),
        ("an ext type", None, b"\x93\x01\xd4\x01\x00\x80", ST_REQUEST,
         "is not used"),
        ("deep nesting", None, b"\x93\x01\xa1x" + b"\x91" * 20 + b"\xc0",
         ST_REQUEST, "nested deeper than 8"),
        ("a repeated key", None, b"\x93\x01\xaacheckpoint\x82\xa4size\x01"
         b"\xa4size\x02", ST_REQUEST, "repeats a key"),
        ("a string that is not text", None, b"\x93\x01\xa2\xff\xfe\x80",
         ST_REQUEST, "not UTF-8"),
        ("args not a map", None, w.pack([1, "checkpoint", []]), ST_REQUEST,
         "the arguments are not a map"),
        ("unknown argument", "checkpoint", {"sise": 1}, ST_REQUEST,
         "unknown argument \"sise\""),
        ("size not an integer", "checkpoint", {"size": "1"}, ST_REQUEST,
         "must be an unsigned integer"),
        ("no checkpoint at a size", "checkpoint", {"size": 2}, ST_NOTFOUND,
         "no checkpoint was signed at size 2"),
        ("batch not bin", "submit", {"batch": "x"}, ST_REQUEST,
         "argument \"batch\" must be given as bin"),
        ("garbage batch", "submit", {"batch": b"\x01\x02"}, ST_REFUSED,
         "not canonical CBOR"),
        ("another log's batch", "submit", {"batch": foreign}, ST_REFUSED,
         "wrong origin"),
        ("tampered batch", "submit", {"batch": bytes(tampered)},
         ST_REFUSED, ""),
        ("sequence gap", "submit", {"batch": gap}, ST_REFUSED,
         "sequence gap"),
        ("consistency backwards", "consistency", {"from": 3, "to": 2},
         ST_REFUSED, "sizes must satisfy from <= to"),
        ("inclusion without a session", "inclusion", {"index": 1},
         ST_AUTH, "inclusion needs a session"),
        ("session op unknown key", "hello", {"kid": b"\x00" * 32,
                                             "epk": b"\x09" * 32},
         ST_AUTH, "unknown key"),
    ]
    try:
        before = L.snapshot()
        for name, op, args, want, sub in cases:
            if op is None:
                st, msg, res, _, _ = call(S.tcp, None, raw=args)
            else:
                st, msg, res, _, _ = call(S.tcp, op, args)
            check("%s: status %d" % (name, want), st == want,
                  (st, msg, res))
            check("%s: message has %r" % (name, sub), sub in msg, msg)
            check("%s: result names the code" % name,
                  isinstance(res, dict) and res.get("code", "").startswith(
                      "CM_E"), res)
        check("refusals: nothing written", L.snapshot() == before,
              "ledger changed")
        st, msg, res, _, _ = call(S.tcp, "submit", {"batch": good})
        check("after them the good batch is accepted", st == ST_OK,
              (st, msg))
        check("every refusal logged", S.log().count(" SVC_E") >=
              len(cases), S.log())
    finally:
        check("SIGTERM: exit 0", S.stop() == 0, S.log())


def test_oversized_and_silent(d):
    L = Ledger(d)
    key, code = enterprise(L)
    good = signed(L, key, batch_json(code), "good")
    S = Server(L)
    try:
        before = L.snapshot()
        # Over params.batch (16 MiB) but under the transport's limit: an
        # answer.
        big = b"\xa0" * (16 * 1024 * 1024 + 16)
        st, msg, res, _, _ = call(S.tcp, "submit", {"batch": big})
        check("a batch over params.batch: refused, too large",
              st == ST_REFUSED and "too large" in msg, (st, msg))
        # Over the transport's limit: nng drops the connection; the client
        # hears nothing and its receive times out.
        # (In a child process: libnng's REQ socket may hang in nng_close
        # after a send the peer cut short, so the child is killed.)
        probe = ("import sys; sys.path.insert(0, %r)\n"
                 "import svcwire as w\n"
                 "huge = w.request('submit', {'batch': b'\\0' * "
                 "(16 * 1024 * 1024 + 70000)})\n"
                 "r = w.Req(%r, timeout_ms=1500)\n"
                 "try:\n"
                 "    r.call(huge)\n"
                 "    print('an answer', flush=True)\n"
                 "except w.NngError as e:\n"
                 "    print(e, flush=True)\n"
                 "import os; os._exit(0)\n" %
                 (os.path.dirname(os.path.abspath(__file__)), S.tcp))
        try:
            pr = subprocess.run([sys.executable, "-c", probe],
                                stdout=subprocess.PIPE, timeout=60)
            got = pr.stdout.decode()
        except subprocess.TimeoutExpired:
            got = "the probe hung"
        check("a message over recv-size-max: no answer (timed out)",
              "timed out" in got.lower(), got)
        # A client that connects and never sends holds nothing up.
        s = socket.create_connection(("127.0.0.1", S.port))
        st, msg, res, _, _ = call(S.tcp, "checkpoint")
        check("with a silent client connected, others are served",
              st == ST_OK, (st, msg))
        check("nothing written by the oversized ones",
              L.snapshot() == before, "ledger changed")
        st, msg, res, _, _ = call(S.ipc, "submit", {"batch": good})
        check("then a good batch is accepted", st == ST_OK, (st, msg))
        t0 = time.time()
        rc = S.stop()
        check("SIGTERM with a silent client connected: exit 0 promptly",
              rc == 0 and time.time() - t0 < 10, (rc, S.log()))
        s.close()
    finally:
        S.stop()


def test_listen_refusals(d):
    L = Ledger(d)
    exe = tallyd_path()
    for url, sub in [
            ("tcp://0.0.0.0:%d" % free_port(), "not a loopback address"),
            ("tcp://10.1.2.3:7700", "give --insecure"),
            ("tls+tcp://127.0.0.1:7700", "TLS listeners are not supported"),
            ("http://127.0.0.1:7700", "give a tcp://HOST:PORT"),
            ("tcp://127.0.0.1", "no port")]:
        p = subprocess.run([exe, "--data", L.data, "--listen", url],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30)
        err = p.stderr.decode()
        check("listen %s: exit 2" % url, p.returncode == 2, err)
        check("listen %s: says %r" % (url, sub), sub in err, err)
    p = subprocess.run([exe, "--data", L.data], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=30)
    check("no --listen: usage, exit 2", p.returncode == 2 and
          b"usage: tallyd" in p.stderr, p.stderr)
    # Without the checkpoint key the ledger is read-only: refused.
    os.rename(os.path.join(L.data, "checkpoint.key"), L.path("ck"))
    p = subprocess.run([exe, "--data", L.data, "--listen",
                        "tcp://127.0.0.1:%d" % free_port()],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=30)
    check("read-only ledger: exit 2, says so", p.returncode == 2 and
          b"read-only" in p.stderr, p.stderr)
    p = subprocess.run([exe, "--help"], stdout=subprocess.PIPE, timeout=30)
    check("--help: exit 0, names --listen", p.returncode == 0 and
          b"--listen URL" in p.stdout, p.stdout)


def test_sigterm_burst(d):
    """SIGTERM while 4 clients submit: every acknowledged batch is in the
    log after a restart (a resend says already accepted), audit clean."""
    L = Ledger(d)
    nkeys, per = 4, 12
    keys = []
    for i in range(nkeys):
        key, code = enterprise(L, "e%d" % i, n=10 + i)
        keys.append([signed(L, key, batch_json(code, 3, tag=s), "e%d-%d" %
                            (i, s), seq=s) for s in range(1, per + 1)])
    S = Server(L)
    acked = []
    lock = threading.Lock()

    def client(batches):
        for b in batches:
            try:
                st, msg, res, _, _ = call(S.tcp, "submit", {"batch": b},
                                          timeout_ms=5000)
            except w.NngError:
                return
            if st == ST_OK:
                with lock:
                    acked.append(b)
            elif st != ST_REFUSED:
                return
            else:
                with lock:
                    acked.append(None)
    ts = [threading.Thread(target=client, args=(k,)) for k in keys]
    for t in ts:
        t.start()
    while True:
        with lock:
            if len(acked) >= 6:
                break
        time.sleep(0.005)
    check("SIGTERM mid-burst: exit 0", S.stop() == 0, S.log())
    for t in ts:
        t.join(30)
    ok = [b for b in acked if b is not None]
    check("some batches acknowledged before the stop", len(ok) >= 6,
          len(ok))
    check("no acknowledged batch was refused", None not in acked, acked)
    check("the drain was logged", "stopping (draining" in S.log(), S.log())
    S2 = Server(L)
    try:
        for b in ok:
            st, msg, res, _, _ = call(S2.tcp, "submit", {"batch": b})
            check("acknowledged batch present after restart",
                  st == ST_OK and res["already"] is True, (st, msg))
    finally:
        check("restart: SIGTERM exit 0", S2.stop() == 0, S2.log())
    r = L.audit()
    check("audit clean after the burst", r.rc == 0, r)


if __name__ == "__main__":
    harness.run_tests([test_plain_tcp_ipc, test_refusals_write_nothing,
                       test_oversized_and_silent, test_listen_refusals,
                       test_sigterm_burst])
