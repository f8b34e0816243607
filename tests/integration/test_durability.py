"""Durability and tool compatibility of Solidis (data in WAL-mode SQLite, one batched
writer thread): restarts, SHUTDOWN, kill -9 under a write load with
appendfsync always, redis-cli --pipe mass insert, redis-benchmark.

These encode Solidis's promises with Solidis's options, so they are skipped when
SOLIDIS_BIN points at redis-server. (They do hold for Redis with AOF on; to run
them there anyway set SOLIDIS_DURABILITY_ON_REDIS=1.)
"""
import os
import random
import subprocess
import threading
import time

import pytest
import redis

from conftest import IS_REDIS
from helpers import encode

pytestmark = pytest.mark.skipif(
    IS_REDIS and not os.environ.get("SOLIDIS_DURABILITY_ON_REDIS"),
    reason="Solidis durability guarantees with Solidis options")


def restart_client(s, timeout=20):
    """Start the (stopped) server again and return a client once it answers
    (Redis replies -LOADING while it reads its files back)."""
    s.start()
    c = s.client()
    deadline = time.time() + timeout
    while True:
        try:
            c.ping()
            return c
        except redis.BusyLoadingError:
            if time.time() > deadline:
                raise
            time.sleep(0.05)


def fill(c):
    """Strings in two databases, plus expiry, deletions and a 1 MiB value."""
    c.set("str", "hello")
    c.set(b"bin\x00key", b"\x00\x01\xff\r\n")
    c.set("big", b"B" * (1 << 20))
    c.set("ttl", "soon", ex=1000)
    c.set("gone", "x", px=50)
    c.set("deleted", "x")
    c.delete("deleted")
    c.set("persisted", "x", ex=1000)
    c.persist("persisted")
    c.incrby("counter", 41)
    c.incr("counter")
    c.append("str", " world")
    c.mset({"m:%d" % i: str(i) for i in range(500)})
    c.execute_command("SELECT", "3")
    c.set("in-db3", "three")
    c.execute_command("SELECT", "0")


def check(c):
    assert c.get("str") == b"hello world"
    assert c.get(b"bin\x00key") == b"\x00\x01\xff\r\n"
    assert c.get("big") == b"B" * (1 << 20)
    assert 900 < c.ttl("ttl") <= 1000
    assert c.ttl("persisted") == -1
    assert c.exists("gone") == 0, "a key that expired before the restart came back"
    assert c.exists("deleted") == 0, "a deleted key came back"
    assert c.get("counter") == b"42"
    assert c.mget(["m:0", "m:250", "m:499"]) == [b"0", b"250", b"499"]
    assert c.ttl("str") == -1
    assert c.dbsize() == 6 + 500
    c.execute_command("SELECT", "3")
    assert c.get("in-db3") == b"three"
    assert c.dbsize() == 1


def test_data_survives_sigterm_restart(make_server):
    s = make_server()
    c = s.client()
    fill(c)
    time.sleep(0.1)  # let 'gone' expire
    c.close()
    assert s.stop() == 0, "SIGTERM must exit 0; log:\n" + s.read_log()
    c = restart_client(s)
    check(c)
    # a second restart after more writes
    c.execute_command("SELECT", "0")
    c.set("after-first-restart", "yes")
    c.close()
    assert s.stop() == 0
    c = restart_client(s)
    assert c.get("after-first-restart") == b"yes"
    assert c.get("counter") == b"42"
    c.close()


def test_collection_types_survive_restart(make_server):
    s = make_server()
    c = s.client()
    c.hset("hash", mapping={"f1": "v1", "f2": "v2"})
    c.rpush("list", "a", "b", "c")
    c.lpush("list", "z")
    c.sadd("set", "x", "y")
    c.zadd("zset", {"m1": 1.5, "m2": -2})
    c.expire("hash", 1000)
    c.close()
    assert s.stop() == 0
    c = restart_client(s)
    assert c.hgetall("hash") == {b"f1": b"v1", b"f2": b"v2"}
    assert 900 < c.ttl("hash") <= 1000
    assert c.lrange("list", 0, -1) == [b"z", b"a", b"b", b"c"]
    assert c.smembers("set") == {b"x", b"y"}
    assert c.zrange("zset", 0, -1, withscores=True) == [(b"m2", -2.0), (b"m1", 1.5)]
    c.close()


def test_flushall_survives_restart(make_server):
    s = make_server()
    c = s.client()
    c.mset({"a": "1", "b": "2"})
    c.execute_command("SELECT", "1")
    c.set("c", "3")
    c.flushall()
    c.execute_command("SELECT", "0")
    c.set("after-flush", "1")
    c.close()
    assert s.stop() == 0
    c = restart_client(s)
    assert c.dbsize() == 1
    assert c.get("after-flush") == b"1"
    assert c.exists("a", "b") == 0
    c.execute_command("SELECT", "1")
    assert c.dbsize() == 0
    c.close()


def test_shutdown_via_redis_cli(make_server):
    s = make_server()
    c = s.client()
    c.set("before-shutdown", "kept")
    c.mset({"s:%d" % i: i for i in range(100)})
    c.close()
    p = s.cli("SHUTDOWN")
    assert p.returncode == 0, p
    assert s.proc.wait(20) == 0, "SHUTDOWN must exit 0; log:\n" + s.read_log()
    s.stop()
    c = restart_client(s)
    assert c.get("before-shutdown") == b"kept"
    assert c.dbsize() == 101
    c.close()


def writer(port, tid, stop, acked, counters, errors, pipelined):
    """Writes until stop is set or the server dies; records only acknowledged writes."""
    c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10)
    rnd = random.Random(tid)
    i = 0
    try:
        while not stop.is_set():
            if pipelined:
                p = c.pipeline(transaction=False)
                batch = []
                for _ in range(20):
                    v = b"t%d:%d:" % (tid, i) + b"p" * rnd.randrange(0, 200)
                    p.set(b"w:%d:%d" % (tid, i), v)
                    batch.append((i, v))
                    i += 1
                res = p.execute()
                assert all(x is True for x in res), res
                acked.extend(batch)
            else:
                v = b"t%d:%d:" % (tid, i) + b"v" * rnd.randrange(0, 200)
                assert c.set(b"w:%d:%d" % (tid, i), v) is True
                acked.append((i, v))
                i += 1
                counters.append(c.incr(b"ctr:%d" % tid))
    except (redis.ConnectionError, redis.TimeoutError, ConnectionError, OSError):
        pass  # the server was killed under us
    except Exception as e:  # anything else is a real failure
        errors.append(repr(e))
    finally:
        try:
            c.close()
        except Exception:
            pass


def test_acknowledged_writes_survive_kill9(make_server):
    s = make_server("--appendfsync", "always")
    nthreads = 4
    stop = threading.Event()
    acked = [[] for _ in range(nthreads)]
    counters = [[] for _ in range(nthreads)]
    errors = []
    threads = [threading.Thread(target=writer,
                                args=(s.port, t, stop, acked[t], counters[t], errors, t == 0))
               for t in range(nthreads)]
    for t in threads:
        t.start()
    deadline = time.time() + 10
    while time.time() < deadline and min(len(a) for a in acked) < 200:
        time.sleep(0.05)
    time.sleep(0.3)  # kill squarely in the middle of the load
    assert all(t.is_alive() for t in threads), "writers stopped early: %r" % errors
    assert s.kill9() == -9
    stop.set()
    for t in threads:
        t.join(15)
    assert not errors, errors
    assert min(len(a) for a in acked) >= 200, [len(a) for a in acked]

    c = restart_client(s)
    total = 0
    for t in range(nthreads):
        keys = [b"w:%d:%d" % (t, i) for i, _ in acked[t]]
        got = []
        for j in range(0, len(keys), 1000):
            got += c.mget(keys[j:j + 1000])
        missing = [k for k, g, (_, v) in zip(keys, got, acked[t]) if g != v]
        assert not missing, "thread %d: %d acknowledged writes lost, first %r" % (
            t, len(missing), missing[:3])
        total += len(keys)
        if counters[t]:
            last = counters[t][-1]
            now = int(c.get(b"ctr:%d" % t))
            # the last INCR may have committed without its reply reaching us
            assert last <= now <= last + 1, (t, last, now)
    assert c.dbsize() >= total
    c.close()


def test_redis_cli_pipe_mass_insert(make_server, tmp_path):
    s = make_server()
    n = 50000
    path = tmp_path / "mass.resp"
    with open(path, "wb") as f:
        f.write(b"".join(encode("SET", "mass:%d" % i, "value-%d" % i) for i in range(n)))
    with open(path, "rb") as f:
        p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(s.port), "--pipe"],
                           stdin=f, capture_output=True, timeout=60)
    out = p.stdout.decode()
    assert p.returncode == 0, out + p.stderr.decode()
    assert "errors: 0, replies: %d" % n in out, out
    c = s.client()
    assert c.dbsize() == n
    assert c.get("mass:0") == b"value-0"
    assert c.get("mass:%d" % (n - 1)) == b"value-%d" % (n - 1)
    c.close()
    assert s.stop() == 0
    c = restart_client(s)
    assert c.dbsize() == n
    assert c.get("mass:31337") == b"value-31337"
    c.close()


def test_redis_cli_pipe_reports_errors(make_server, tmp_path):
    s = make_server()
    data = (encode("SET", "a", "1") + encode("INCR", "a") + encode("SET", "b", "x") +
            encode("INCR", "b") + encode("GET", "a"))
    p = subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(s.port), "--pipe"],
                       input=data, capture_output=True, timeout=30)
    out = p.stdout.decode() + p.stderr.decode()
    assert "errors: 1, replies: 5" in out, out
    assert "ERR value is not an integer or out of range" in out, out
    c = s.client()
    assert c.get("a") == b"2"
    assert c.get("b") == b"x"
    c.close()


def test_redis_benchmark(make_server):
    s = make_server()
    p = subprocess.run(["redis-benchmark", "-h", "127.0.0.1", "-p", str(s.port),
                        "-t", "set,get", "-n", "20000", "-q"],
                       capture_output=True, timeout=120)
    out = p.stdout.decode("utf-8", "replace")
    assert p.returncode == 0, out + p.stderr.decode("utf-8", "replace")
    assert "SET: " in out and "GET: " in out, out
    assert out.count("requests per second") >= 2, out
    c = s.client()
    # without -r every SET writes the literal key 'key:__rand_int__' with a 3-byte value (-d 3)
    assert len(c.get("key:__rand_int__")) == 3
    assert c.dbsize() == 1
    assert c.ping() is True
    c.close()


# The writer's WAL goes through a buffering VFS (server/walbuf.c): each commit's
# frames reach the file in a few large writes. These check what that must keep:
# commits far past the buffer and write-size bounds are whole for readers at once
# and after kill -9, and appendfsync decides which commits reach the disk.

def test_large_commits_are_whole_for_readers_and_after_kill9(make_server):
    import sqlite3
    s = make_server()
    a, b = s.client(), s.client()
    big = os.urandom(20 << 20)  # one commit of ~5000 frames: past the 8 MiB buffer bound
    assert a.set("big", big) is True
    assert b.get("big") == big  # another connection sees all of it at once
    values = {"k:%d" % i: os.urandom(1000) for i in range(3000)}
    assert a.mset(values) is True  # ~3 MB in one command
    with a.pipeline(transaction=True) as p:  # and in one EXEC
        for i in range(500):
            p.hset("h", "f%d" % i, "v" * 2000)
        p.execute()
    assert b.get("k:2999") == values["k:2999"]
    assert b.hlen("h") == 500
    a.close()
    b.close()
    assert s.kill9() == -9
    db = os.path.join(s.dir, "solidis.db")
    conn = sqlite3.connect(db)  # recovers the WAL as the server would
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    c = restart_client(s)
    assert c.get("big") == big
    assert c.mget(list(values)) == list(values.values())
    assert c.hget("h", "f499") == b"v" * 2000
    c.close()


def wal_fsyncs(c):
    return c.info("persistence")["solidis_wal_fsyncs"]


def test_appendfsync_decides_which_commits_reach_the_disk(make_server):
    s = make_server("--appendfsync", "always")
    c = s.client()
    before = wal_fsyncs(c)
    for i in range(50):
        c.set("k%d" % i, i)  # one commit each
    assert wal_fsyncs(c) - before >= 50, "appendfsync always must sync every commit"
    c.config_set("appendfsync", "no")
    before = wal_fsyncs(c)
    for i in range(200):
        c.set("k%d" % i, i)
    assert wal_fsyncs(c) - before <= 2, "appendfsync no synced commits"
    c.config_set("appendfsync", "always")
    before = wal_fsyncs(c)
    for i in range(20):
        c.incr("n")
    assert wal_fsyncs(c) - before >= 20
    c.close()


def test_database_made_with_4k_pages_keeps_working(make_server, tmp_path):
    """New files get 2 KiB pages; a file from before (SQLite's 4 KiB default)
    is opened as it is, through the same WAL writer, and survives kill -9."""
    import sqlite3
    data = tmp_path / "data"
    data.mkdir()
    conn = sqlite3.connect(str(data / "solidis.db"))
    conn.execute("PRAGMA page_size=4096")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE older(x)")  # a non-empty file fixes its page size
    conn.commit()
    conn.close()
    s = make_server(dir=str(data))
    c = s.client()
    big = os.urandom(3 << 20)
    c.set("big", big)
    c.mset({"k%d" % i: "v%d" % i for i in range(2000)})
    c.zadd("z", {"m%d" % i: i for i in range(1000)})
    c.close()
    assert s.kill9() == -9
    c = restart_client(s)
    assert c.get("big") == big
    assert c.get("k1999") == b"v1999"
    assert c.zcard("z") == 1000
    c.close()
    s.stop()
    conn = sqlite3.connect(str(data / "solidis.db"))
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 4096
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def test_new_database_uses_2k_pages(make_server):
    import sqlite3
    s = make_server()
    c = s.client()
    c.set("a", "b")
    c.close()
    s.stop()
    conn = sqlite3.connect(os.path.join(s.dir, "solidis.db"))
    assert conn.execute("PRAGMA page_size").fetchone()[0] == 2048
    conn.close()


def limit_file_size(limit):
    """preexec for a server whose files may not grow past `limit` bytes (the soft
    limit; the hard one stays, so the test may lift it): writes past it fail with
    EFBIG (SIGXFSZ ignored, as the disposition survives exec)."""
    import resource
    import signal

    def apply():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, resource.RLIM_INFINITY))
    return apply


def test_a_commit_the_disk_refuses_fails_alone_and_loses_nothing(make_server):
    """The WAL writes of a commit go out when it commits (server/walbuf.c). When
    the file system refuses them, here a file size limit, that commit gets an
    error, the server stays up, earlier data is intact, and once there is room
    the same write succeeds and survives a restart."""
    import resource
    import sqlite3
    s = make_server(preexec=limit_file_size(16 << 20))
    c = s.client()
    c.mset({"k%d" % i: "v%d" % i for i in range(1000)})
    big = os.urandom(24 << 20)  # its WAL frames pass 16 MiB
    with pytest.raises(redis.ResponseError) as e:
        c.set("big", big)
    assert "storage" in str(e.value) or "commit" in str(e.value), str(e.value)
    assert c.ping() is True
    assert c.exists("big") == 0
    assert c.get("k999") == b"v999"
    c.set("after", "1")  # small commits still work past the failed one
    assert c.get("after") == b"1"
    resource.prlimit(s.proc.pid, resource.RLIMIT_FSIZE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))  # room again
    assert c.set("big", big) is True
    assert c.get("big") == big
    c.close()
    assert s.kill9() == -9
    conn = sqlite3.connect(os.path.join(s.dir, "solidis.db"))
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    s.preexec = None
    c = restart_client(s)
    assert c.get("big") == big
    assert c.get("after") == b"1"
    assert c.mget(["k0", "k999"]) == [b"v0", b"v999"]
    c.close()
