# SPDX-License-Identifier: MIT
# tests/integration/test_damaged.py -- damaged, restricted and read-only
# ledgers: data.mdb cut short (before an open, and while a command has it
# open), an empty data.mdb, what an interrupted init leaves (killed at each
# call by the crash shim, or torn by a power loss), a directory this user may not read, read-only
# storage (a read-only tmpfs mount; a lock.mdb this user may not write), a
# full file system, too little address space, backup onto a file.  Each
# gets its own message and exit code, never a signal, and nothing written.
# Mounting needs root (CI runs as root): without it those tests print why
# and check nothing.  Another user is nobody, through setpriv, when root.
# Run: python3 tests/integration/test_damaged.py out/debug/tools/tally

import errno
import hashlib
import os
import resource
import shutil
import struct
import subprocess
import sys
import threading

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Ledger, Res, batch_json, check, must  # noqa: E402

ENT = "914403001922038216"
ROOT = os.geteuid() == 0
# Another user: root ignores file modes, so the reads run as nobody.
OTHER = (["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
         if ROOT else [])
READERS = [("ledger", "audit", "--readonly"), ("ledger", "audit"),
           ("ledger", "get", "--index", "0"), ("ledger", "checkpoint"),
           ("ledger", "stats")]


def files(d):
    """Every file of d with its size and SHA-256 (lock.mdb by name only:
    LMDB's readers write their slots into it)."""
    out = {}
    for n in sorted(os.listdir(d)):
        p = os.path.join(d, n)
        if n == "lock.mdb":
            out[n] = "present"
            continue
        with open(p, "rb") as f:
            b = f.read()
        out[n] = (len(b), hashlib.sha256(b).hexdigest())
    return out


def meta(path):
    """(page size, transaction ID, highest root page, bytes it needs) of
    data.mdb's newest meta page (LMDB data format 1 on a 64-bit build: the
    page header is 16 bytes; the page size at 40, the free tree's root at
    80, the main tree's at 128, txnid at 144; an empty tree's root is
    2^64-1)."""
    with open(path, "rb") as f:
        b = f.read(65536 * 2)
    psize = struct.unpack_from("<I", b, 40)[0]
    metas = []
    for off in (0, psize):
        free_root = struct.unpack_from("<Q", b, off + 80)[0]
        main_root = struct.unpack_from("<Q", b, off + 128)[0]
        txn = struct.unpack_from("<Q", b, off + 144)[0]
        roots = [r for r in (free_root, main_root) if r != 2 ** 64 - 1]
        metas.append((txn, max(roots, default=0)))
    txn, root = max(metas)
    return psize, txn, root, (root + 1) * psize


def grown(d):
    """A ledger of some hundred kilobytes: ENT registered, 4 batches."""
    L = Ledger(d)
    key = L.register("ent", ENT)
    for i in range(4):
        must("grow %d" % i, L.submit_json(key, batch_json(ENT, n=200,
                                                          tag=i)))
    return L, key


def run_each(L, data, argvs, name, rc, err, key=None):
    """Runs each reader (and a submit when key is given) on data: exit rc,
    stderr exactly err (with the command word), no signal."""
    for a in argvs:
        r = L.t(*a, "--data", data)
        what = "%s: %s" % (name, " ".join(a))
        check(what + ": no signal", r.rc >= 0, r)
        check(what + ": exit %d" % rc, r.rc == rc, r)
        check(what + ": message", r.err == "tally ledger: " + err + "\n", r)
    if key is not None:
        r = L.t("submit", "--data", data, "--key", key,
                L.write("one.json", batch_json(ENT)))
        check("%s: submit: exit %d" % (name, rc), r.rc == rc, r)
        check("%s: submit: message" % name,
              r.err == "tally submit: " + err + "\n", r)


def as_other(*args, cwd=None):
    p = subprocess.run(OTHER + [harness.TALLY] + [str(a) for a in args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       cwd=cwd, timeout=120)
    return Res(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))


def mount_tmpfs(where, size, name):
    """Mounts a tmpfs of size at where; False (and says why) if it
    cannot."""
    os.makedirs(where, exist_ok=True)
    p = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%s" % size,
                        "tmpfs", where], stderr=subprocess.PIPE)
    if p.returncode != 0:
        print("  SKIP %s: cannot mount a tmpfs (%s): %s" % (
            name, "not root" if not ROOT else "mount failed",
            p.stderr.decode("utf-8", "replace").strip()))
        return False
    return True


def umount(where):
    subprocess.run(["umount", where])


def test_truncated(d):
    """truncate -s 65536 data.mdb: refused before LMDB maps the file."""
    L, key = grown(d)
    cut = os.path.join(d, "cut")
    shutil.copytree(L.data, cut)
    psize, txn, root, need = meta(os.path.join(cut, "data.mdb"))
    check("the last commit's roots lie past 64 KiB", need > 65536, need)
    os.truncate(os.path.join(cut, "data.mdb"), 65536)
    before = files(cut)
    msg = ("%s/data.mdb is damaged: it has 65536 bytes but its last commit "
           "(transaction %d) has a tree root at page %d, which needs %d; "
           "restore the ledger from a backup" % (cut, txn, root, need))
    run_each(L, cut, READERS + [("ledger", "reindex"),
                                ("ledger", "backup", "--out",
                                 os.path.join(d, "bk"))],
             "truncated", 2, msg, key=key)
    check("truncated: nothing written", files(cut) == before)
    check("truncated: no backup made", not os.path.exists(
        os.path.join(d, "bk")))


def test_cut_while_open(d):
    """data.mdb cut short after the open checked it (audit waits on a
    FIFO for its --checkpoint): the SIGBUS is reported, exit 2."""
    L, _ = grown(d)
    cut = os.path.join(d, "cut")
    shutil.copytree(L.data, cut)
    saved = L.checkpoint()
    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo)
    p = subprocess.Popen([harness.TALLY, "ledger", "audit", "--readonly",
                          "--data", cut, "--checkpoint", fifo],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def unblock():
        # Should tally end before it opens the FIFO, let our open return.
        p.wait()
        try:
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        except OSError:
            pass

    threading.Thread(target=unblock, daemon=True).start()
    try:
        with open(fifo, "wb") as f:
            # tally has the ledger open and reads its --checkpoint now.
            os.truncate(os.path.join(cut, "data.mdb"), 65536)
            f.write(saved)
    except BrokenPipeError:
        pass
    out, err = p.communicate(timeout=120)
    r = Res(p.returncode, out, err.decode("utf-8", "replace"))
    check("cut while open: no signal", r.rc >= 0, r)
    check("cut while open: exit 2", r.rc == 2, r)
    check("cut while open: message", r.err ==
          "tally ledger: %s/data.mdb could not be read (SIGBUS: a page past "
          "the end of the file, or a media error): the ledger is damaged; "
          "restore it from a backup\n" % cut, r)
    check("cut while open: no verdict", b"audit passed" not in r.out, r)


def test_empty_data(d):
    """An empty data.mdb: its own message; a writer does not make it an
    empty LMDB environment."""
    L = Ledger(d)
    key = L.register("ent", ENT)
    empty = os.path.join(d, "empty")
    shutil.copytree(L.data, empty)
    os.truncate(os.path.join(empty, "data.mdb"), 0)
    before = files(empty)
    msg = ("%s/data.mdb is empty (0 bytes): if an init was interrupted, "
           "remove the directory and run tally init again; if it held a "
           "ledger, restore it from a backup" % empty)
    run_each(L, empty, READERS, "empty data.mdb", 2, msg, key=key)
    r = L.t("init", "--data", empty, "--operator-key", L.op)
    check("empty data.mdb: init refused, exit 1", r.rc == 1, r)
    check("empty data.mdb: init says why",
          r.err == "tally init: %s; refusing to init\n" % msg, r)
    check("empty data.mdb: nothing written", files(empty) == before,
          files(empty))


def shim_and_ledger(d):
    """The crash shim's path and a Ledger in d not initialised yet (its
    operator key made); (None, None) if the shim is not built."""
    shim = os.path.join(os.path.dirname(os.path.dirname(harness.TALLY)),
                        "tests", "crash", "crashshim.so")
    if not check("crash shim exists (ninja it)", os.path.isfile(shim), shim):
        return None, None
    L = Ledger(d, init=False)
    L.keygen("op")
    return shim, L


def init_left(L, data, what, msg, init, readers):
    """What an interrupted init left in data: each reader exits 2 with
    msg, init again is refused (exit 1) saying why, nothing is written,
    and the advice (remove the directory, init again) works."""
    before = files(data)
    run_each(L, data, readers, what, 2, msg)
    r = init()
    check(what + ": init again refused, exit 1", r.rc == 1, r)
    check(what + ": init again says why",
          r.err == "tally init: %s; refusing to init\n" % msg, r)
    check(what + ": nothing written", files(data) == before)
    shutil.rmtree(data)
    must(what + ": init after removing", init())
    must(what + ": that ledger audits", L.audit())


def test_interrupted_init(d):
    """init killed at each counted call (crash shim): every state it can
    leave gets its message; removing the directory is advised only where
    nothing was committed, and following the advice works."""
    shim, L = shim_and_ledger(d)
    if shim is None:
        return
    data = L.data
    cnt = os.path.join(d, "count")

    def init(env=None):
        return L.t("init", "--data", data, "--operator-key", L.op,
                   "--origin", "damaged.test/init", env=env)

    must("init under the shim", init({"LD_PRELOAD": shim,
                                      "TALLY_CRASH_COUNT_FILE": cnt}))
    with open(cnt) as f:
        n = int(f.read().strip())
    interrupted = ("%s holds an interrupted init (nothing was committed): "
                   "remove the directory and run tally init again" % data)
    empty = ("%s/data.mdb is empty (0 bytes): if an init was interrupted, "
             "remove the directory and run tally init again; if it held a "
             "ledger, restore it from a backup" % data)
    seen = {}
    for k in range(1, n + 1):
        shutil.rmtree(data, ignore_errors=True)
        r = init({"LD_PRELOAD": shim, "TALLY_CRASH_AT": k})
        if r.rc == 0 or not os.path.isdir(data) or not os.listdir(data):
            continue
        names = os.listdir(data)
        if "data.mdb" not in names:
            kind, msg = "no data.mdb", interrupted
        elif os.path.getsize(os.path.join(data, "data.mdb")) == 0:
            kind, msg = "empty data.mdb", empty
        elif meta(os.path.join(data, "data.mdb"))[1] == 0:
            kind, msg = "data.mdb at transaction 0", interrupted
        else:
            continue  # the genesis commit is in: a ledger
        if kind in seen:
            continue
        seen[kind] = k
        init_left(L, data, "init killed at %d/%d (%s)" % (k, n, kind),
                  msg, init, [("ledger", "checkpoint"),
                              ("ledger", "audit", "--readonly")])
    check("init left every interrupted state",
          sorted(seen) == ["data.mdb at transaction 0", "empty data.mdb",
                           "no data.mdb"], seen)


def test_torn_init(d):
    """What a power loss before init's one commit keeps of LMDB's two
    initial meta pages (written together, synced by that commit): page 0
    alone is an interrupted init; neither valid is named as either.  Exit
    2 for readers, init refused (exit 1), nothing written, and the advice
    works."""
    shim, L = shim_and_ledger(d)
    if shim is None:
        return
    data = L.data

    def init(env=None):
        return L.t("init", "--data", data, "--operator-key", L.op,
                   "--origin", "damaged.test/torn", env=env)

    # a directory where init stopped with data.mdb at transaction 0
    fresh = None
    for k in range(1, 20):
        shutil.rmtree(data, ignore_errors=True)
        init({"LD_PRELOAD": shim, "TALLY_CRASH_AT": k})
        p = os.path.join(data, "data.mdb")
        if os.path.isfile(p) and os.path.getsize(p) >= 8192 and \
                meta(p)[1] == 0:
            fresh = os.path.join(d, "fresh")
            shutil.copytree(data, fresh)
            break
    if not check("init stops once with data.mdb at transaction 0", fresh,
                 k):
        return
    interrupted = ("holds an interrupted init (nothing was committed): "
                   "remove the directory and run tally init again")
    nometa = ("data.mdb has no valid meta pages (8192 bytes): if an init "
              "was interrupted, remove the directory and run tally init "
              "again; if it held a ledger, restore it from a backup")
    for kind, msg in (("meta page 0 only", "%s " + interrupted),
                      ("meta page 0 lost", "%s/" + nometa)):
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(fresh, data)
        p = os.path.join(data, "data.mdb")
        if kind == "meta page 0 only":
            os.truncate(p, 4096)
        else:
            with open(p, "r+b") as f:
                f.write(bytes(4096))
        msg = msg % data
        init_left(L, data, "torn init, %s" % kind, msg, init,
                  [("ledger", "checkpoint"), ("ledger", "audit", "--readonly"),
                   ("ledger", "audit")])


def test_unreadable_dir(d):
    """Another user's ledger: a directory it may not enter, a data.mdb it
    may not read.  Exit 2, the real cause."""
    L = Ledger(d)
    os.chmod(d, 0o755)      # the other user reaches L.data, not into it
    if not ROOT:
        os.chmod(L.data, 0)
    before = files(L.data) if ROOT else None
    for a in READERS[:1] + READERS[2:]:
        r = as_other(*a, "--data", L.data)
        what = "unreadable directory: %s" % " ".join(a)
        check(what + ": exit 2", r.rc == 2, r)
        check(what + ": message", r.err == "tally ledger: cannot read %s: "
              "Permission denied\n" % L.data, r)
    if not ROOT:
        os.chmod(L.data, 0o755)
        os.chmod(os.path.join(L.data, "data.mdb"), 0)
    else:
        os.chmod(L.data, 0o755)     # data.mdb stays 0600 root
        check("unreadable directory: nothing written",
              files(L.data) == before)
    r = as_other("ledger", "checkpoint", "--data", L.data)
    check("unreadable data.mdb: exit 2", r.rc == 2, r)
    check("unreadable data.mdb: message", r.err ==
          "tally ledger: cannot read %s/data.mdb: Permission denied\n" %
          L.data, r)
    if not ROOT:
        os.chmod(os.path.join(L.data, "data.mdb"), 0o600)


def test_unwritable_lock(d):
    """A ledger this user may read but whose lock.mdb it may not open for
    writing: reads and audit work without LMDB's lock, with a note."""
    L, _ = grown(d)
    os.chmod(d, 0o755)
    os.chmod(L.data, 0o755)
    os.chmod(os.path.join(L.data, "data.mdb"), 0o644)
    lock = os.path.join(L.data, "lock.mdb")
    if not ROOT:
        os.chmod(lock, 0o400)
    want = {a: must("owner: " + " ".join(a), L.t(*a, "--data", L.data))
            for a in [READERS[0], READERS[2], READERS[3]]}
    with open(lock, "rb") as f:
        lock0 = f.read()
    before = files(L.data)
    note = ("tally ledger: note: %s/lock.mdb cannot be opened for writing "
            "here: reading without LMDB's lock, so no writer may run on "
            "this ledger meanwhile\n" % L.data)
    for a, w in want.items():
        r = as_other(*a, "--data", L.data)
        what = "lock.mdb not writable: %s" % " ".join(a)
        check(what + ": exit 0", r.rc == 0, r)
        check(what + ": the owner's answer", r.out == w.out, r)
        check(what + ": the note", r.err == note, r)
    check("lock.mdb not writable: nothing written", files(L.data) == before)
    with open(lock, "rb") as f:
        check("lock.mdb not writable: lock.mdb untouched", f.read() == lock0)


def test_readonly_mount(d):
    """A ledger (with its key) and a backup on a read-only tmpfs: reading
    and audit work; writers are told why they cannot."""
    L, key = grown(d)
    mnt = os.path.join(d, "mnt")
    if not mount_tmpfs(mnt, "32m", "read-only mount"):
        return
    try:
        full = os.path.join(mnt, "dl")
        bk = os.path.join(mnt, "bk")
        shutil.copytree(L.data, full)
        must("backup onto the tmpfs", L.t("ledger", "backup", "--data",
                                          L.data, "--out", bk))
        p = subprocess.run(["mount", "-o", "remount,ro", mnt],
                           stderr=subprocess.PIPE)
        if not check("remount read-only", p.returncode == 0, p.stderr):
            return
        before = {x: files(x) for x in (full, bk)}
        for data in (full, bk):
            for a in READERS[:4]:
                want = L.t(*a, "--data", L.data)
                r = L.t(*a, "--data", data)
                what = "read-only mount %s: %s" % (
                    os.path.basename(data), " ".join(a))
                check(what + ": exit 0", r.rc == 0, r)
                check(what + ": the original's answer", r.out == want.out,
                      (r, want))
                check(what + ": nothing on stderr", r.err == "", r)
        r = L.t("submit", "--data", full, "--key", key,
                L.write("one.json", batch_json(ENT)))
        check("read-only mount: submit exit 2", r.rc == 2, r)
        check("read-only mount: submit says why", r.err ==
              "tally submit: %s is read-only here: read-only file system "
              "(reading and ledger audit work, writing does not)\n" % full, r)
        r = L.t("ledger", "reindex", "--data", full)
        check("read-only mount: reindex exit 2", r.rc == 2, r)
        check("read-only mount: reindex says why", r.err ==
              "tally ledger: reindex failed: cannot write %s: read-only "
              "file system\n" % full, r)
        check("read-only mount: nothing written",
              {x: files(x) for x in (full, bk)} == before)
    finally:
        umount(mnt)


def fill(path, leave=0):
    """Fills the file system of path with a file, leaving leave bytes
    (tmpfs counts whole pages: truncating gives them back)."""
    with open(path, "wb", buffering=0) as f:
        for chunk in (b"\0" * 65536, b"\0" * 4096):
            while True:
                try:
                    f.write(chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break
    if leave:
        os.truncate(path, os.path.getsize(path) - leave)


def test_full_disk(d):
    """A full file system: no space left on device, exit 2, the ledger as
    it was (same checkpoint, same databases, audit passes); appends work
    once space is freed.  Both a write that finds no space and a write
    cut short by it (one page left: LMDB calls that an I/O error)."""
    mnt = os.path.join(d, "mnt")
    if not mount_tmpfs(mnt, "1m", "full disk"):
        return
    try:
        L = Ledger(os.path.join(mnt, "l"))
        key = L.register("ent", ENT)
        size0, cp0, snap0 = L.size(), L.checkpoint(), L.snapshot()
        msg = ("tally submit: append failed: no space left on device: "
               "nothing was appended; free space on the ledger's file "
               "system and submit again\n")
        js = L.write("one.json", batch_json(ENT))
        filler = os.path.join(mnt, "fill")
        for leave in (0, 4096):
            what = "full disk (%d bytes left)" % leave
            fill(filler, leave)
            r = L.t("submit", "--data", L.data, "--key", key, js)
            check(what + ": exit 2", r.rc == 2, r)
            check(what + ": no space left on device", r.err == msg, r)
            check(what + ": nothing printed", r.out == b"", r)
            check(what + ": same checkpoint", L.checkpoint() == cp0)
            check(what + ": same databases", L.snapshot() == snap0)
            must(what + ": audit passes", L.audit())
            os.unlink(filler)
        must("space freed: submit", L.t("submit", "--data", L.data,
                                        "--key", key, js))
        check("space freed: the batch is in", L.size() == size0 + 2,
              (L.size(), size0))
        must("space freed: audit passes", L.audit())
    finally:
        umount(mnt)


def test_out_of_memory(d):
    """Too little address space for LMDB's 64 GiB map: out of memory,
    exit 2, not the advice to remove the directory."""
    L = Ledger(d)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    p = subprocess.run([harness.TALLY, "ledger", "checkpoint", "--data",
                        L.data], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, preexec_fn=limit, timeout=120)
    r = Res(p.returncode, p.stdout, p.stderr.decode("utf-8", "replace"))
    check("out of memory: exit 2", r.rc == 2, r)
    check("out of memory: message", r.err ==
          "tally ledger: cannot map %s/data.mdb: Cannot allocate memory (the "
          "map reserves 65536 MiB of address space; see ulimit -v)\n" %
          L.data, r)


def test_backup_onto_file(d):
    """backup --out naming a regular file: refused as such, the file and
    its directory as they were."""
    L = Ledger(d)
    f = L.write("afile", "keep me\n")
    before = sorted(os.listdir(d))
    r = L.t("ledger", "backup", "--data", L.data, "--out", f)
    check("backup onto a file: exit 1", r.rc == 1, r)
    check("backup onto a file: message", r.err == "tally ledger: %s is a "
          "file, not a directory; refusing to back up onto it\n" % f, r)
    with open(f) as fh:
        check("backup onto a file: the file as it was",
              fh.read() == "keep me\n")
    check("backup onto a file: nothing made beside it",
          sorted(os.listdir(d)) == before, os.listdir(d))


harness.run_tests([test_truncated, test_cut_while_open, test_empty_data,
                   test_torn_init,
                   test_interrupted_init, test_unreadable_dir,
                   test_unwritable_lock, test_readonly_mount, test_full_disk,
                   test_out_of_memory, test_backup_onto_file])
