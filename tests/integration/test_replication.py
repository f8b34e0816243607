"""WAL shipping end to end: a real server ships to file:// and s3:// (s3rver),
gets killed, and `bin/solidis restore` rebuilds what it acknowledged."""
import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from conftest import IS_REDIS, ROOT, Server
from helpers import raw_info

pytestmark = pytest.mark.skipif(IS_REDIS, reason="WAL shipping is Solidis-only")

TOOL = os.path.join(ROOT, "bin", "solidis")


def info_replication(c):
    return c.info("replication")


def replica_status(c, i=0):
    """INFO replication's replicaN line as a dict of strings."""
    raw = raw_info(c.connection_pool.connection_kwargs["port"], "replication")
    for line in raw.split("\r\n"):
        if line.startswith("replica%d:" % i):
            return dict(kv.split("=", 1) for kv in line.split(":", 1)[1].split(","))
    raise AssertionError("no replica%d line in:\n%s" % (i, raw))


def wait_synced(c, timeout=15):
    """Until the replica holds every frame committed so far."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        st = replica_status(c)
        if st["status"] == "ok" and st["lag_frames"] == "0" and int(st["shipped_lsn"]) > 0:
            return st
        time.sleep(0.05)
    raise AssertionError("replica never caught up: %r" % replica_status(c))


def restore(url, out, *args, env=None, check=True):
    p = subprocess.run([TOOL, "restore", "-o", out, url] + list(args), capture_output=True, timeout=120,
                       env=env)
    if check:
        assert p.returncode == 0, p.stderr.decode()
    return p


def read_db(path, port_dir):
    """Start a server on a restored file and return a client for it."""
    os.makedirs(port_dir, exist_ok=True)
    shutil.copy(path, os.path.join(port_dir, "solidis.db"))
    s = Server(dir=port_dir).start()
    return s


def sub(tmp, name):
    """A fresh directory under tmp (servers need theirs to exist)."""
    path = os.path.join(tmp, name)
    os.makedirs(path, exist_ok=True)
    return path


@contextlib.contextmanager
def served(path, port_dir):
    """A client of a server started on a restored file, stopped afterwards."""
    srv = read_db(path, port_dir)
    try:
        yield srv.client()
    finally:
        srv.cleanup()


@contextlib.contextmanager
def restored(url, tmp, name="r.db", env=None):
    """Restore the newest state of `url` into tmp/name (the restore must succeed)
    and yield a client of a server started on the result."""
    out = os.path.join(tmp, name)
    restore(url, out, env=env)
    with served(out, os.path.join(tmp, "r2")) as c:
        yield c


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="solidis-repl-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def start(make_server, tmp, url, *extra):
    return make_server("--replica", url, "--repl-sync-interval", "100ms", *extra, dir=sub(tmp, "data"))


def test_config_and_info(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client(decode_responses=True)
    assert c.config_get("replica") == {"replica": url}
    assert c.config_get("repl-sync-interval") == {"repl-sync-interval": "100ms"}
    assert c.config_get("repl-retention") == {"repl-retention": "1d"}
    assert c.config_get("repl-ack") == {"repl-ack": "async"}
    c.set("a", "1")
    st = wait_synced(c)
    assert st["url"] == url and len(st["generation"]) == 16
    assert int(st["snapshots"]) >= 1
    info = c.info("replication")
    assert info["repl_replicas"] == 1 and "wal_frames" in info


def test_bad_replica_url_refuses_to_start(tmp):
    s = Server(["--replica", "ftp://nowhere/x"], dir=sub(tmp, "d"))
    with pytest.raises(RuntimeError, match="unsupported replica URL"):
        s.start()
    s.cleanup()
    s = Server(["--repl-sync-interval", "soon"], dir=sub(tmp, "d2"))
    with pytest.raises(RuntimeError, match="duration"):
        s.start()
    s.cleanup()


def test_kill9_then_restore_has_every_synced_write(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    for i in range(2000):
        c.set("k%d" % i, "v%d" % i)
    c.hset("h", mapping={"f1": "a", "f2": "b"})
    c.rpush("l", "x", "y", "z")
    c.zadd("z", {"m": 1.5})
    wait_synced(c)
    s.kill9()
    out = os.path.join(tmp, "restored.db")
    p = restore(url, out)
    assert os.path.exists(out)
    db = sqlite3.connect(out)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with served(out, os.path.join(tmp, "r2")) as c2:
        assert c2.dbsize() == 2003
        assert c2.get("k0") == b"v0" and c2.get("k1999") == b"v1999"
        assert c2.hgetall("h") == {b"f1": b"a", b"f2": b"b"}
        assert c2.lrange("l", 0, -1) == [b"x", b"y", b"z"]
        assert c2.zscore("z", "m") == 1.5
    # restore never overwrites
    p = restore(url, out, check=False)
    assert p.returncode != 0 and b"exists" in p.stderr


@contextlib.contextmanager
def write_load(s, prefix, n):
    """n clients SET <prefix><t>:<i> = i in a loop until the block ends or
    the server goes away; yields each client's acknowledged i's, in order."""
    stop = threading.Event()
    acked = [[] for _ in range(n)]
    threads = [threading.Thread(target=_writer_load, args=(s.client(), "%s%d:" % (prefix, t), acked[t], stop))
               for t in range(n)]
    for t in threads:
        t.start()
    try:
        yield acked
    finally:
        stop.set()
        for t in threads:
            t.join()


def _writer_load(c, prefix, acked, stop):
    i = 0
    while not stop.is_set():
        try:
            c.set("%s%d" % (prefix, i), i)
        except (redis.ConnectionError, redis.TimeoutError):
            return
        acked.append(i)
        i += 1


def test_repl_ack_sync_kill9_loses_no_acknowledged_write(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url, "--repl-ack", "sync")
    c0 = s.client()
    c0.set("warm", "1")
    wait_synced(c0)
    with write_load(s, "w", 4) as acked:
        time.sleep(1.5)
        s.kill9()  # mid-load: some writes are committed locally but not yet replicated
    assert sum(len(a) for a in acked) > 100
    with restored(url, tmp, "restored.db") as c2:
        for t in range(4):
            if acked[t]:
                last = acked[t][-1]
                assert c2.get("w%d:%d" % (t, last)) == str(last).encode(), "acknowledged write lost"
                assert c2.get("w%d:0" % t) == b"0"


def test_point_in_time_restore(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    for i in range(50):
        c.set("a%d" % i, i)
    time.sleep(0.3)
    t_mid = time.time()
    time.sleep(0.3)
    for i in range(50):
        c.set("b%d" % i, i)
    c.delete("a0")
    wait_synced(c)
    s.stop()
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t_mid)) + ".%03dZ" % int((t_mid % 1) * 1000)
    out = os.path.join(tmp, "pit.db")
    restore(url, out, "--timestamp", stamp)
    with served(out, os.path.join(tmp, "r2")) as c2:
        assert c2.dbsize() == 50
        assert c2.get("a0") == b"0" and c2.get("a49") == b"49"
        assert c2.get("b0") is None
    latest = os.path.join(tmp, "latest.db")
    restore(url, latest)
    with served(latest, os.path.join(tmp, "r3")) as c3:
        assert c3.dbsize() == 99 and c3.get("a0") is None and c3.get("b49") == b"49"
    # a timestamp before the first snapshot has nothing to restore
    p = restore(url, os.path.join(tmp, "early.db"), "--timestamp", "2001-01-01T00:00:00Z", check=False)
    assert p.returncode != 0 and not os.path.exists(os.path.join(tmp, "early.db"))


def _segments(rep):
    segs = []
    for root, _, files in os.walk(rep):
        segs += [os.path.join(root, f) for f in files if f.endswith(".seg")]
    return sorted(segs)


def test_corrupt_or_missing_segment_is_reported(make_server, tmp):
    rep = os.path.join(tmp, "rep")
    url = "file://" + rep
    s = start(make_server, tmp, url)
    c = s.client()
    for batch in range(4):
        for i in range(20):
            c.set("k%d-%d" % (batch, i), "x" * 100)
        wait_synced(c)
        time.sleep(0.15)
    s.stop()
    segs = _segments(rep)
    assert len(segs) >= 3
    # flip one byte in the middle of a segment
    victim = segs[1]
    data = bytearray(open(victim, "rb").read())
    data[len(data) // 2] ^= 0xFF
    saved = open(victim, "rb").read()
    open(victim, "wb").write(bytes(data))
    out = os.path.join(tmp, "bad.db")
    p = restore(url, out, check=False)
    assert p.returncode != 0
    assert b"checksum" in p.stderr or b"corrupt" in p.stderr or b"decompress" in p.stderr, p.stderr
    assert not os.path.exists(out)
    # a missing segment is a gap, never silently skipped
    open(victim, "wb").write(saved)
    os.rename(victim, victim + ".away")
    p = restore(url, out, check=False)
    assert p.returncode != 0 and b"missing" in p.stderr, p.stderr
    assert not os.path.exists(out)
    os.rename(victim + ".away", victim)
    restore(url, out)


def test_replica_outage_then_catch_up(make_server, tmp):
    rep = os.path.join(tmp, "rep")
    url = "file://" + rep
    s = start(make_server, tmp, url)
    c = s.client()
    c.set("before", "1")
    wait_synced(c)
    # take the target away: a regular file where the directory was
    os.rename(rep, rep + ".away")
    open(rep, "w").close()
    for i in range(200):
        c.set("during%d" % i, i)
    deadline = time.time() + 10
    while replica_status(c)["status"] != "error" and time.time() < deadline:
        time.sleep(0.05)
    st = replica_status(c)
    assert st["status"] == "error" and st["last_error"], st
    assert c.get("during199") == b"199"  # the server keeps serving
    os.unlink(rep)
    os.rename(rep + ".away", rep)
    st = wait_synced(c, timeout=40)
    assert st["status"] == "ok"
    s.kill9()
    with restored(url, tmp, "after.db") as c2:
        assert c2.get("before") == b"1" and c2.get("during199") == b"199"


def test_clean_restart_continues_generation_unclean_starts_new_and_retention_drops_old(make_server, tmp):
    rep = os.path.join(tmp, "rep")
    url = "file://" + rep
    s = start(make_server, tmp, url, "--repl-retention", "1s")
    c = s.client()
    c.set("x", "1")
    st1 = wait_synced(c)
    gen1 = st1["generation"]
    # a clean stop left the database exactly at the last segment: same generation
    s.restart()
    c = s.client()
    c.set("x", "2")
    c.set("y", "after-clean-restart")
    st = wait_synced(c)
    assert st["generation"] == gen1 and int(st["next_index"]) > int(st1["next_index"])
    assert int(st["snapshots"]) == 0  # no new snapshot was needed
    assert "continuing generation" in s.read_log()
    # an unclean stop (kill -9) breaks continuity: a new generation
    s.kill9()
    s.start()
    c = s.client()
    c.set("x", "3")
    gen2 = wait_synced(c)["generation"]
    assert gen2 > gen1
    listing = subprocess.run([TOOL, "replicas", url], capture_output=True, timeout=30)
    assert listing.returncode == 0, listing.stderr
    assert gen2.encode() in listing.stdout
    # gen1 was superseded more than 1 s ago: retention deletes it
    deadline = time.time() + 15
    while os.path.exists(os.path.join(rep, "generations", gen1)) and time.time() < deadline:
        time.sleep(0.2)
    assert not os.path.exists(os.path.join(rep, "generations", gen1))
    assert os.path.exists(os.path.join(rep, "generations", gen2))
    s.stop()
    with restored(url, tmp) as c2:
        assert c2.get("x") == b"3" and c2.get("y") == b"after-clean-restart"


def test_clean_restart_generation_restores_across_the_restart(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    for i in range(100):
        c.set("a%d" % i, i)
    wait_synced(c)
    s.restart()
    c = s.client()
    for i in range(100):
        c.set("b%d" % i, i)
    c.delete("a0")
    gen = wait_synced(c)["generation"]
    s.kill9()
    out = os.path.join(tmp, "r.db")
    p = restore(url, out)
    assert b"from snapshot 0" in p.stderr, p.stderr  # one snapshot, then segments across the restart
    with served(out, os.path.join(tmp, "r2")) as c2:
        assert c2.dbsize() == 199 and c2.get("a0") is None and c2.get("b99") == b"99"
    assert gen.encode() in p.stderr


def test_database_changed_while_stopped_starts_new_generation(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    c.set("k", "1")
    gen1 = wait_synced(c)["generation"]
    s.stop()
    db = sqlite3.connect(os.path.join(tmp, "data", "solidis.db"))
    db.execute("DELETE FROM keys WHERE key = ?", (b"k",))  # an offline edit the replica never saw
    db.commit()
    db.close()
    s.start()
    c = s.client()
    assert c.get("k") is None
    c.set("j", "2")
    gen2 = wait_synced(c)["generation"]
    assert gen2 > gen1
    s.kill9()
    with restored(url, tmp) as c2:
        assert c2.get("k") is None and c2.get("j") == b"2"


def test_restore_if_empty_at_start(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    c.set("boot", "strap")
    wait_synced(c)
    s.kill9()
    fresh = sub(tmp, "fresh")
    s2 = make_server("--restore-if-empty", url, dir=fresh)
    assert s2.client().get("boot") == b"strap"
    # a data file that exists is left alone
    s2.client().set("boot", "local")
    s2.restart()
    assert s2.client().get("boot") == b"local"


def test_wal_stays_bounded_under_load(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    p = subprocess.run(["redis-benchmark", "-p", str(s.port), "-t", "set", "-n", "150000", "-r", "1000000",
                        "-d", "100", "-c", "20", "-q"], capture_output=True, timeout=120)
    assert p.returncode == 0
    c = s.client()
    wait_synced(c, timeout=30)
    info = c.info("replication")
    # checkpoints keep running: the WAL is far smaller than everything written
    st = replica_status(c)
    assert int(st["frames_shipped"]) > info["wal_frames"]
    assert info["wal_frames"] < 100000


def test_s3_replica_roundtrip(make_server, tmp, s3rver):
    url = s3rver.url("solidis-%d" % os.getpid())
    env = dict(os.environ, **s3rver.env)
    s = Server(["--replica", url, "--repl-sync-interval", "100ms", "--replica-access-key",
                s3rver.env["AWS_ACCESS_KEY_ID"], "--replica-secret-key", s3rver.env["AWS_SECRET_ACCESS_KEY"]],
               dir=sub(tmp, "data")).start()
    try:
        c = s.client()
        for i in range(500):
            c.set("s3k%d" % i, i)
        wait_synced(c)
        s.kill9()
        with restored(url, tmp, "s3.db", env=env) as c2:
            assert c2.dbsize() == 500 and c2.get("s3k499") == b"499"
        listing = subprocess.run([TOOL, "replicas", url], capture_output=True, timeout=30, env=env)
        assert listing.returncode == 0 and b"snapshot" in listing.stdout.lower(), listing
    finally:
        s.cleanup()


def test_s3_wrong_credentials_reported_in_info(make_server, tmp, s3rver):
    url = s3rver.url("badcreds")
    # s3rver checks the access key only (not the signature's secret)
    s = make_server("--replica", url, "--replica-access-key", "WRONG", "--replica-secret-key", "wrong",
                    dir=sub(tmp, "data"))
    c = s.client()
    c.set("k", "v")
    deadline = time.time() + 15
    while time.time() < deadline:
        st = replica_status(c)
        if st["status"] == "error" and "403" in st["last_error"]:
            break
        time.sleep(0.1)
    assert st["status"] == "error" and "403" in st["last_error"], st
    assert c.get("k") == b"v"


def test_unreachable_replica_past_max_wal_size_starts_new_generation(make_server, tmp):
    rep = os.path.join(tmp, "rep")
    url = "file://" + rep
    s = start(make_server, tmp, url, "--repl-max-wal-size", "1mb")
    c = s.client()
    c.set("first", "1")
    gen1 = wait_synced(c)["generation"]
    os.rename(rep, rep + ".away")
    open(rep, "w").close()
    # enough writes to pass the checkpoint threshold while the replica is down
    p = subprocess.run(["redis-benchmark", "-p", str(s.port), "-t", "set", "-n", "60000", "-r", "1000000",
                        "-d", "200", "-c", "20", "-q"], capture_output=True, timeout=120)
    assert p.returncode == 0
    c.set("last", "2")
    info = c.info("replication")
    assert info["wal_frames"] < 16000 + 5000, info  # checkpointed anyway: the disk is kept
    assert "repl-max-wal-size" in s.read_log()
    os.unlink(rep)
    os.rename(rep + ".away", rep)
    st = wait_synced(c, timeout=40)
    assert st["generation"] > gen1  # continuity was lost: a new generation with its own snapshot
    s.kill9()
    with restored(url, tmp) as c2:
        assert c2.get("first") == b"1" and c2.get("last") == b"2"


def test_kill9_under_load_keeps_every_write_acknowledged_before_a_sync(make_server, tmp):
    """async: kill -9 mid-load; every write acknowledged before a sync that
    INFO reported as complete is in the restored database."""
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    c.set("warm", "1")
    wait_synced(c)
    with write_load(s, "u", 3) as acked:
        time.sleep(0.7)
        marks = [len(a) for a in acked]  # acknowledged so far ...
        st = replica_status(c)
        committed = int(st["shipped_lsn"]) + int(st["lag_frames"])  # ... so committed at or before this LSN
        deadline = time.time() + 20
        while int(replica_status(c)["shipped_lsn"]) < committed and time.time() < deadline:
            time.sleep(0.02)
        assert int(replica_status(c)["shipped_lsn"]) >= committed
        time.sleep(0.2)  # the load goes on past the sync
        s.kill9()
    assert all(m > 10 for m in marks), marks
    with restored(url, tmp, "restored.db") as c2:
        for t in range(3):
            last = acked[t][marks[t] - 1]
            assert c2.get("u%d:%d" % (t, last)) == str(last).encode()
            assert c2.get("u%d:0" % t) == b"0"
