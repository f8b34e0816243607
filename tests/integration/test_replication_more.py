"""More WAL shipping end to end, beyond test_replication.py: an S3 outage and
catch-up, periodic snapshots inside one generation, restore by generation and
segment index, repl-ack sync over S3, the restore tool's errors, every data
type across a restore, and shutdown with an unreachable or a lagging replica.

Most tests end the same way: make sure the replica holds every committed
frame, kill -9 the server, restore, and read the restored file with a fresh
server."""
import calendar
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import IS_REDIS, free_port
from helpers import S3rver, raw_info
from test_replication import TOOL, read_db, replica_status, restore, start, sub, wait_synced

pytestmark = pytest.mark.skipif(IS_REDIS, reason="WAL shipping is Solidis-only")


@pytest.fixture
def tmp():
    d = tempfile.mkdtemp(prefix="solidis-repl-more-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------- helpers

def repl_state(c):
    """One INFO replication reply: wal_frames (int) and replica0's fields."""
    raw = raw_info(c.connection_pool.connection_kwargs["port"], "replication")
    st = {}
    for line in raw.split("\r\n"):
        if line.startswith("wal_frames:"):
            st["wal_frames"] = int(line.split(":", 1)[1])
        elif line.startswith("replica0:"):
            st.update(kv.split("=", 1) for kv in line.split(":", 1)[1].split(","))
    assert "wal_frames" in st and "status" in st, raw
    return st


def wait_generation(c, timeout=10):
    """The generation the replica started with its first snapshot."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        gen = replica_status(c)["generation"]
        if gen:
            assert len(gen) == 16
            return gen
        time.sleep(0.02)
    raise AssertionError("no generation: %r" % replica_status(c))


def s3_server_args(s3, url):
    return ["--replica", url, "--repl-sync-interval", "100ms",
            "--replica-access-key", s3.ACCESS_KEY, "--replica-secret-key", s3.SECRET_KEY]


def restored_client(url, tmp, name, *args, env=None):
    """restore(url) into tmp/name.db and serve it: (server, client)."""
    out = os.path.join(tmp, name + ".db")
    p = restore(url, out, *args, env=env)
    r = read_db(out, os.path.join(tmp, name + "-srv"))
    return r, r.client(), p


def rfc3339(t):
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + ".%03dZ" % int((t % 1) * 1000)


def parse_rfc3339_ms(s):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{3})Z", s)
    assert m, s
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")) * 1000 + int(m.group(2))


def all_keys(c):
    return sorted(k.decode() for k in c.keys("*"))


def round_keys(rounds, n):
    return sorted("r%d:%d" % (r, i) for r in rounds for i in range(n))


def write_round(c, r, n):
    for i in range(n):
        c.set("r%d:%d" % (r, i), "v%d" % i)


# --------------------------------------------------------------------------- 1. S3 outage

def test_s3_outage_then_catch_up(make_server, tmp):
    s3 = S3rver(free_port()).start()
    try:
        url = s3.url("outage")
        s = make_server(*s3_server_args(s3, url), dir=sub(tmp, "data"))
        c = s.client()
        for i in range(100):
            c.set("before%d" % i, i)
        gen = wait_synced(c)["generation"]

        s3.stop()  # by its pid
        for i in range(200):
            c.set("during%d" % i, i)
        deadline = time.time() + 10
        st = repl_state(c)
        while not (st["status"] == "error" and int(st["lag_frames"]) > 0) and time.time() < deadline:
            time.sleep(0.05)
            st = repl_state(c)
        assert st["status"] == "error" and st["last_error"] and int(st["lag_frames"]) > 0, st
        # the server keeps serving, reads and writes
        assert c.get("during199") == b"199" and c.incr("counter") == 1

        s3.start()  # same port and directory: the stored objects are served again
        for i in range(50):
            c.set("after%d" % i, i)
        st = wait_synced(c, timeout=40)
        assert st["status"] == "ok"
        st = wait_synced(c)
        assert st["generation"] == gen  # no frame was lost: the generation goes on
        s.kill9()

        r2, c2, _ = restored_client(url, tmp, "r", env=s3.env)
        try:
            assert c2.dbsize() == 100 + 200 + 50 + 1
            for i in range(100):
                assert c2.get("before%d" % i) == str(i).encode()
            for i in range(200):
                assert c2.get("during%d" % i) == str(i).encode()
            for i in range(50):
                assert c2.get("after%d" % i) == str(i).encode()
            assert c2.get("counter") == b"1"
        finally:
            r2.cleanup()
    finally:
        s3.cleanup()


# --------------------------------------------------------------------------- 2. periodic snapshots

def snapshot_times(url):
    """{snapshot index: as-of unix ms} of the newest generation, from `solidis replicas`."""
    p = subprocess.run([TOOL, "replicas", url], capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    text = p.stdout.decode()
    gens = text.split("generation ")[1:]
    assert gens, text
    snaps = re.findall(r"snapshot (\d+): as of (\S+),", gens[-1])
    return {int(i): parse_rfc3339_ms(t) for i, t in snaps}, text


def test_periodic_snapshots_and_restore_between_them(make_server, tmp):
    rep = os.path.join(tmp, "rep")
    url = "file://" + rep
    s = start(make_server, tmp, url, "--repl-snapshot-interval", "1s")
    c = s.client()
    gen = wait_generation(c)
    rounds, n = 6, 20
    ends = []  # ends[r]: a moment after round r and before round r+1 (>= 300 ms from both)
    for r in range(rounds):
        write_round(c, r, n)
        time.sleep(0.3)
        ends.append(time.time())
        time.sleep(0.3)
    st = wait_synced(c)
    assert st["generation"] == gen
    assert int(st["snapshots"]) > 1, st
    s.kill9()

    snap_files = os.listdir(os.path.join(rep, "generations", gen, "snapshots"))
    assert len([f for f in snap_files if f.endswith(".snap")]) > 1, snap_files
    times, listing = snapshot_times(url)
    assert len(times) > 1, listing

    # latest: everything
    r2, c2, _ = restored_client(url, tmp, "latest")
    try:
        assert all_keys(c2) == round_keys(range(rounds), n)
    finally:
        r2.cleanup()

    # a moment between two snapshots other than the first: the earlier one of
    # the two plus the segments after it, up to that moment
    order = sorted(times)
    pick = None
    for a, b in zip(order, order[1:]):
        for r in range(rounds - 1):
            if a > 0 and times[a] < ends[r] * 1000 < times[b]:
                pick = (a, r)
                break
        if pick:
            break
    assert pick, "no round boundary between two later snapshots: %s, ends %r" % (listing, ends)
    snap, r = pick
    r3, c3, p = restored_client(url, tmp, "pit", "--timestamp", rfc3339(ends[r]))
    try:
        assert ("from snapshot %d " % snap).encode() in p.stderr, p.stderr
        assert all_keys(c3) == round_keys(range(r + 1), n)
    finally:
        r3.cleanup()


# --------------------------------------------------------------------------- 3. --generation/--index

def test_restore_by_generation_and_index(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    gen = wait_generation(c)
    rounds, n = 5, 15
    last_seg = []  # last_seg[r]: the segment that holds the end of round r
    for r in range(rounds):
        write_round(c, r, n)
        st = wait_synced(c)
        assert st["generation"] == gen
        last_seg.append(int(st["next_index"]) - 1)
        time.sleep(0.15)
    assert last_seg == sorted(set(last_seg)), last_seg  # every round ended in a later segment
    s.kill9()

    for r, index in ((2, str(last_seg[2])), (0, "0x%x" % last_seg[0])):
        srv, c2, p = restored_client(url, tmp, "idx%d" % r, "--generation", gen, "--index", index)
        try:
            assert all_keys(c2) == round_keys(range(r + 1), n), (r, index, p.stderr)
        finally:
            srv.cleanup()
    # the last segment is the latest state
    srv, c2, _ = restored_client(url, tmp, "idxlast", "--generation", gen, "--index", str(last_seg[-1]))
    try:
        assert all_keys(c2) == round_keys(range(rounds), n)
    finally:
        srv.cleanup()
    # an index past the end, an unknown generation
    out = os.path.join(tmp, "none.db")
    p = restore(url, out, "--generation", gen, "--index", str(last_seg[-1] + 100), check=False)
    assert p.returncode == 1 and b"not found" in p.stderr and not os.path.exists(out), p.stderr
    p = restore(url, out, "--generation", "0" * 16, check=False)
    assert p.returncode == 1 and b"not found" in p.stderr and not os.path.exists(out), p.stderr


# --------------------------------------------------------------------------- 4. repl-ack sync over S3

def test_repl_ack_sync_over_s3(make_server, tmp, s3rver):
    url = s3rver.url("acksync-%d" % os.getpid())
    s = make_server(*s3_server_args(s3rver, url), "--repl-ack", "sync", dir=sub(tmp, "data"))
    c = s.client()
    c.set("warm", "1")
    wait_synced(c)
    for i in range(60):
        assert c.set("k%d" % i, i) is True
        st = repl_state(c)
        # nothing acknowledged is unshipped
        assert st["status"] == "ok" and st["lag_frames"] == "0", (i, st)
        assert int(st["shipped_lsn"]) >= st["wal_frames"], (i, st)
    assert c.hset("h", "f", "last") == 1
    st = repl_state(c)
    assert st["lag_frames"] == "0" and int(st["shipped_lsn"]) >= st["wal_frames"], st
    s.kill9()
    r2, c2, _ = restored_client(url, tmp, "r", env=s3rver.env)
    try:
        assert c2.hget("h", "f") == b"last"
        assert c2.get("k59") == b"59" and c2.get("k0") == b"0"
        assert c2.dbsize() == 62
    finally:
        r2.cleanup()


# --------------------------------------------------------------------------- 5. restore errors

def run_tool(*args, env=None):
    return subprocess.run([TOOL] + list(args), capture_output=True, timeout=60, env=env)


def test_restore_errors(make_server, tmp, s3rver):
    empty = sub(tmp, "empty")
    out = os.path.join(tmp, "out.db")
    # nothing at the URL: file:// (an empty and a missing directory) and s3://
    for url in ("file://" + empty, "file://" + os.path.join(tmp, "missing")):
        p = run_tool("restore", "-o", out, url)
        assert p.returncode == 1, p
        assert p.stderr.decode().startswith("solidis: no generations at " + url), p.stderr
        assert not os.path.exists(out)
    s3url = s3rver.url("nothing-here-%d" % os.getpid())
    p = run_tool("restore", "-o", out, s3url, env=s3rver.env)
    assert p.returncode == 1 and b"no generations" in p.stderr, p
    assert not os.path.exists(out)
    assert os.listdir(tmp) == ["empty"]  # no temp files left next to the output either

    # a real replica, and an output file that exists: refused, left as it was
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    s.client().set("k", "v")
    wait_synced(s.client())
    s.stop()
    existing = os.path.join(tmp, "existing.db")
    content = os.urandom(5000)
    with open(existing, "wb") as f:
        f.write(content)
    p = run_tool("restore", "-o", existing, url)
    assert p.returncode == 1 and b"exists" in p.stderr, p
    with open(existing, "rb") as f:
        assert f.read() == content
    # a leftover -wal next to the output is refused too (SQLite would replay it)
    with open(out + "-wal", "wb") as f:
        f.write(b"old log")
    p = run_tool("restore", "-o", out, url)
    assert p.returncode == 1 and b"-wal exists" in p.stderr and not os.path.exists(out), p
    os.unlink(out + "-wal")
    assert run_tool("restore", "-q", "-o", out, url).returncode == 0 and os.path.exists(out)

    # usage errors: exit 2, a message, nothing written
    bad = os.path.join(tmp, "bad.db")
    cases = [
        (["restore", url], b"needs -o"),
        (["restore", "-o", bad, url, "--bogus"], b"unknown option '--bogus'"),
        (["restore", "-o", bad, url, "--timestamp", "yesterday"], b"--timestamp wants"),
        (["restore", "-o", bad, url, "--timestamp", "2026-02-30T00:00:00Z"], b"--timestamp wants"),
        (["restore", "-o", bad, url, "--index", "3"], b"--index needs --generation"),
        (["restore", "-o", bad, url, "--generation", "XYZ"], b"--generation wants"),
        (["restore", "-o", bad, url, "--timestamp", "1", "--generation", "0" * 16], b"cannot be combined"),
        (["restore", "-o", bad], b"needs a replica URL"),
        (["restore", "-o"], b"needs a value"),
        (["frobnicate", url], b"unknown command"),
        ([], b"no command"),
    ]
    for args, msg in cases:
        p = run_tool(*args)
        assert p.returncode == 2, (args, p)
        assert msg in p.stderr, (args, p.stderr)
        assert not os.path.exists(bad)


# --------------------------------------------------------------------------- 6. every data type

def test_every_data_type_survives_restore(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    s = start(make_server, tmp, url)
    c = s.client()
    c.set("plain", "value")
    c.set("ttl", "soon", ex=100)
    c.set("pttl", "later", px=500000)
    c.hset("h", mapping={"f1": "a", "f2": "b", "f3": "c"})
    assert c.execute_command("HEXPIRE", "h", 100, "FIELDS", 1, "f1") == [1]
    c.rpush("l", "x", "y", "z")
    c.lpush("l", "w")
    c.sadd("s", "m1", "m2", "m3")
    c.zadd("z", {"a": 1.5, "b": -2, "c": 1e10})
    job = c.execute_command("JOB.ADD", "mailq", "payload-1", "PRIORITY", 3, "RETRIES", 4)
    assert c.publish("news", "hello") == 0
    assert c.publish("news", "world") == 0
    replay = c.execute_command("PUBSUB", "REPLAY", "news", 0)
    assert [m for _, m in replay] == [b"hello", b"world"]
    wait_synced(c)
    s.kill9()

    r2, c2, _ = restored_client(url, tmp, "types")
    try:
        assert c2.get("plain") == b"value" and c2.ttl("plain") == -1
        assert c2.get("ttl") == b"soon" and 80 <= c2.ttl("ttl") <= 100
        assert c2.get("pttl") == b"later" and 480000 <= c2.pttl("pttl") <= 500000
        assert c2.type("h") == b"hash"
        assert c2.hgetall("h") == {b"f1": b"a", b"f2": b"b", b"f3": b"c"}
        ttls = c2.execute_command("HTTL", "h", "FIELDS", 3, "f1", "f2", "f3")
        assert 80 <= ttls[0] <= 100 and ttls[1:] == [-1, -1], ttls
        assert c2.ttl("h") == -1
        assert c2.lrange("l", 0, -1) == [b"w", b"x", b"y", b"z"]
        assert c2.smembers("s") == {b"m1", b"m2", b"m3"}
        assert c2.zrange("z", 0, -1, withscores=True) == [(b"b", -2.0), (b"a", 1.5), (b"c", 1e10)]
        g = c2.execute_command("JOB.GET", job)
        assert g is not None, "job lost"
        g = {g[i].decode(): g[i + 1] for i in range(0, len(g), 2)}
        assert g["state"] == b"ready" and g["payload"] == b"payload-1" and g["queue"] == b"mailq", g
        assert g["priority"] == 3 and g["retries"] == 4, g
        # ... and it can be fetched and acknowledged on the restored server
        fetched = c2.execute_command("JOB.FETCH", "mailq")
        assert fetched == [[job, b"mailq", b"payload-1", 1]], fetched
        assert c2.execute_command("JOB.ACK", job) == 1
        assert c2.execute_command("PUBSUB", "REPLAY", "news", 0) == replay
        assert c2.dbsize() == 7
    finally:
        r2.cleanup()


# --------------------------------------------------------------------------- 7. shutdown

def shutdown(s, c, timeout):
    """SHUTDOWN over the protocol; the exit code (None: still running after timeout)."""
    c.shutdown()
    try:
        s.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return None
    return s.stop()


def test_unreachable_replica_keeps_serving_and_shutdown_is_clean(make_server, tmp):
    # an S3 endpoint nobody listens on: unreachable from the start
    url = "s3://bucket/app?endpoint=http://127.0.0.1:%d&region=us-east-1" % free_port()
    s = make_server("--replica", url, "--repl-sync-interval", "100ms", "--replica-access-key", "K",
                    "--replica-secret-key", "S", dir=sub(tmp, "data"))
    c = s.client()
    for i in range(300):
        c.set("k%d" % i, i)
    assert c.lpush("l", *range(100)) == 100
    deadline = time.time() + 10
    while replica_status(c)["status"] != "error" and time.time() < deadline:
        time.sleep(0.05)
    st = replica_status(c)
    assert st["status"] == "error" and st["last_error"], st
    assert c.get("k299") == b"299" and c.llen("l") == 100 and c.dbsize() == 301
    t0 = time.time()
    rc = shutdown(s, c, timeout=20)
    took = time.time() - t0
    assert rc == 0, (rc, s.read_log()[-2000:])
    assert took < 15, took
    assert "not every replica stored the last writes" in s.read_log()
    # the data is all there locally
    s.start()
    c = s.client()
    assert c.dbsize() == 301 and c.get("k0") == b"0" and c.llen("l") == 100


def test_clean_shutdown_drains_a_lagging_replica(make_server, tmp):
    url = "file://" + os.path.join(tmp, "rep")
    # ship every 10 s: only the shutdown drain can store the writes in time
    s = make_server("--replica", url, "--repl-sync-interval", "10s", dir=sub(tmp, "data"))
    c = s.client()
    c.set("first", "1")
    for i in range(500):
        c.set("k%d" % i, i)
    c.rpush("l", *range(50))
    st = repl_state(c)
    assert int(st["lag_frames"]) > 0 and int(st["shipped_lsn"]) < st["wal_frames"], st
    assert shutdown(s, c, timeout=15) == 0
    r2, c2, _ = restored_client(url, tmp, "r")
    try:
        assert c2.dbsize() == 502
        assert c2.get("first") == b"1" and c2.get("k499") == b"499"
        assert c2.lrange("l", 0, -1) == [str(i).encode() for i in range(50)]
    finally:
        r2.cleanup()


# --------------------------------------------------------------------------- INFO's lag

def test_info_lag_frames_zero_means_every_commit_is_stored(make_server, tmp, s3rver):
    """lag_frames=0 must mean the replica holds every committed frame:
    shipped_lsn >= the last commit's LSN (= wal_frames: no checkpoint here).
    Over S3 an upload takes long enough for INFO to be read during one."""
    url = s3rver.url("lag-%d" % os.getpid())
    s = make_server(*s3_server_args(s3rver, url), dir=sub(tmp, "data"))
    c = s.client()
    c.set("warm", "1")
    wait_synced(c)
    seen = []
    for r in range(40):
        for i in range(20):
            c.set("k%d" % i, r)
        while True:  # wait_synced's condition, read together with wal_frames
            st = repl_state(c)
            if st["status"] == "ok" and st["lag_frames"] == "0":
                break
            time.sleep(0.005)
        if int(st["shipped_lsn"]) < st["wal_frames"]:
            seen.append((r, st["shipped_lsn"], st["wal_frames"]))
            break
    assert not seen, "lag_frames=0 with committed frames unstored (round, shipped_lsn, wal_frames): %r" % seen
