"""The native job queue (JOB.*), the life of a job: add, fetch, ack, nack,
retries and backoff, leases, blocking fetches, unique keys, concurrency limits and
TTL, against a live server with real redis-py clients, several connections and
threads. Queue administration, cron, durability and bad input are in
test_job_admin.py.

Solidis only (redis-server has no JOB commands). FLUSHALL does not touch jobs,
so every test works on queues of its own (the `q` fixture, in conftest.py); the
JOB.* client helpers are in helpers.py.
"""
import socket
import threading
import time

import pytest
import redis

from conftest import IS_REDIS, raw_conn, read_until
from helpers import J, Fetcher, add, as_map, fetch, get, now_ms, stats, wait_blocked

pytestmark = pytest.mark.skipif(IS_REDIS, reason="JOB.* is Solidis-only")


# ---- add / fetch / ack ------------------------------------------------------

def test_ids_are_unique_time_ordered_strings(r, q):
    ids = [add(r, q, "job%d" % i) for i in range(50)]
    assert len(set(ids)) == 50
    assert ids == sorted(ids)
    ms, seq = ids[0].split(b"-")
    assert len(ms) == 13 and len(seq) == 6
    assert abs(int(ms) - now_ms()) < 5000


def test_fetch_reply_shape_and_empty(r, q):
    assert fetch(r, q) is None
    jid = add(r, q, b"\x00bin\xffary")
    jobs = fetch(r, q)
    assert jobs == [[jid, q.encode(), b"\x00bin\xffary", 1]]
    assert fetch(r, q) is None  # handed out once
    assert J(r, "JOB.ACK", jid) == 1
    assert J(r, "JOB.ACK", jid) == 0
    g = get(r, jid)
    assert g["state"] == b"done" and g["attempts"] == 1
    assert g["finished_at"] >= g["started_at"] >= g["created_at"]
    # empty queue names, payloads and keys are values like any other
    e = add(r, "", "", "UNIQUE", "", "LIMIT", "", 1)
    assert fetch(r, "") == [[e, b"", b"", 1]]
    assert get(r, e)["payload"] == b"" and get(r, e)["limit_key"] == b""
    assert J(r, "JOB.NACK", e, "DELAY", 0, "ERROR", "") == 1
    assert J(r, "JOB.PURGE", "", "ready") == 1


def test_fetch_count_and_queue_order(r, q):
    q2 = q + "-b"
    a = [add(r, q, "a%d" % i) for i in range(3)]
    b = [add(r, q2, "b%d" % i) for i in range(3)]
    got = fetch(r, q2, q, "COUNT", 4)
    assert [j[0] for j in got] == b + a[:1]
    assert [j[1] for j in got] == [q2.encode()] * 3 + [q.encode()]
    got = fetch(r, q, q2, "COUNT", 10)
    assert [j[0] for j in got] == a[1:]
    assert J(r, "JOB.ACK", *(b + a + ["1-000000"])) == 6


def test_priority_then_age(r, q):
    low = add(r, q, "low", "PRIORITY", 10)
    first = add(r, q, "first")
    urgent = add(r, q, "urgent", "PRIORITY", -5)
    second = add(r, q, "second")
    order = [fetch(r, q)[0][0] for _ in range(4)]
    assert order == [urgent, first, second, low]


def test_ack_many_and_get_fields(r, q):
    ids = [add(r, q, "x", "RETRIES", 7, "TIMEOUT", 5000) for _ in range(3)]
    fetch(r, q, "COUNT", 3, "WORKER", "w-1")
    g = get(r, ids[0])
    assert g["state"] == b"running" and g["worker"] == b"w-1"
    assert g["retries"] == 7 and g["payload"] == b"x" and g["queue"] == q.encode()
    assert 4900 <= g["lease_until"] - g["started_at"] <= 5000  # TIMEOUT is the lease
    assert g["last_error"] is None and g["finished_at"] is None
    assert set(g) >= {"id", "priority", "run_at", "updated_at", "unique", "limit_key", "limit", "expires_at"}
    assert J(r, "JOB.ACK", *ids) == 3
    assert get(r, "0000000000001-000000") is None
    with pytest.raises(redis.ResponseError, match="invalid job id 'garbage'"):
        get(r, "garbage")


def test_get_is_a_map_in_resp3(server, q):
    c = server.client()
    jid = add(c, q, "hello").decode()
    s = raw_conn(server.port)
    s.sendall(b"HELLO 3\r\n")
    read_until(s, b"modules")
    cmd = "*2\r\n$7\r\nJOB.GET\r\n$%d\r\n%s\r\n" % (len(jid), jid)
    s.sendall(cmd.encode())
    out = read_until(s, b"expires_at\r\n_\r\n")
    assert out.startswith(b"%19\r\n")
    assert b"$5\r\nstate\r\n$5\r\nready\r\n" in out
    assert b"$7\r\npayload\r\n$5\r\nhello\r\n" in out
    s.sendall(b"*2\r\n$9\r\nJOB.STATS\r\n$%d\r\n%s\r\n" % (len(q), q.encode()))
    out = read_until(s, b"expired\r\n:0\r\n")
    assert out.startswith(b"%14\r\n") and b"throughput\r\n," in out
    s.close()


def test_lease_is_longer_of_lease_and_timeout(r, q):
    a = add(r, q, "a")
    b = add(r, q, "b", "TIMEOUT", 60000)
    fetch(r, q, "COUNT", 2, "LEASE", 2000)
    ga, gb = get(r, a), get(r, b)
    assert ga["lease_until"] - ga["started_at"] == 2000
    assert gb["lease_until"] - gb["started_at"] == 60000
    c = add(r, q, "c")
    fetch(r, q)
    gc = get(r, c)
    assert gc["lease_until"] - gc["started_at"] == 30000  # default


def test_claim_reply_from_the_candidate_and_from_a_second_read(r, q):
    """FETCH answers from the row it read as a candidate; a job found past the
    ones it expected to claim (here behind a full LIMIT) is read again."""
    key = q + ":limit"  # LIMIT keys are shared by all queues
    held = add(r, q, "held", "LIMIT", key, 1)
    assert fetch(r, q)[0][0] == held
    blocked = add(r, q, "blocked", "LIMIT", key, 1)
    free = add(r, q, "free" * 100, "TIMEOUT", 45000)
    job = fetch(r, q, "COUNT", 1, "LEASE", 1000)[0]  # `free` is the 2nd candidate
    assert job == [free, q.encode(), b"free" * 100, 1]
    g = get(r, free)
    assert g["lease_until"] - g["started_at"] == 45000 and g["attempts"] == 1
    assert J(r, "JOB.NACK", free, "DELAY", 0) == 1
    job = fetch(r, q, "COUNT", 5)  # now the first candidate: attempt 2, payload as stored
    assert job == [[free, q.encode(), b"free" * 100, 2]]
    assert get(r, blocked)["state"] == b"ready"
    assert J(r, "JOB.ACK", held, free) == 2


def test_lease_from_a_timeout_expires_on_time(server, r, q):
    jid = add(r, q, "x", "TIMEOUT", 300)
    t0 = time.monotonic()
    assert fetch(r, q, "LEASE", 100)[0][0] == jid  # TIMEOUT is the longer: 300 ms
    c = server.client()
    again = J(c, "JOB.FETCH", q, "BLOCK", 5000)
    waited = time.monotonic() - t0
    assert again[0][0] == jid and again[0][3] == 2
    assert 0.25 <= waited < 1.5, waited


def test_fetch_and_ack_many_with_limit_expired_and_bad_ids(r, q):
    """FETCH of many jobs past a LIMIT job and an expired one, then ACK of
    them with unknown and repeated ids mixed in: order, payloads, attempts,
    leases and the queue's counters stay exact."""
    key = q + ":limit"
    ids = []
    for i in range(20):
        if i == 5:
            ids.append(add(r, q, "limited", "LIMIT", key, 1))
        elif i == 11:
            add(r, q, "expiring", "TTL", 1)  # gone by the time of the FETCH
        else:
            ids.append(add(r, q, "p%d" % i, "TIMEOUT", 1000 + i))
    time.sleep(0.01)
    got = fetch(r, q, "COUNT", 18, "LEASE", 500)
    assert [j[0] for j in got] == ids[:18]
    assert [j[2] for j in got] == [b"limited" if i == 5 else b"p%d" % i for i in range(20) if i != 11][:18]
    assert all(j[3] == 1 for j in got)
    g = get(r, ids[7])
    assert g["state"] == b"running" and g["lease_until"] - g["started_at"] == 1007
    s = stats(r, q)
    assert s["running"] == 18 and s["ready"] == 1 and s["expired"] == 1
    acks = [ids[0], ids[1], ids[1]] + ids[2:18] + ["1-000000"]
    assert J(r, "JOB.ACK", *acks) == 18
    s = stats(r, q)
    assert s["running"] == 0 and s["done"] == 18 and s["completed"] == 18
    assert J(r, "JOB.ACK", *ids[:18]) == 0
    assert fetch(r, q)[0][0] == ids[18]


# ---- failures, retries, leases ---------------------------------------------

def test_nack_with_delay_and_error(r, q):
    jid = add(r, q, "x")
    fetch(r, q)
    assert J(r, "JOB.NACK", jid, "DELAY", 0, "ERROR", "boom: disk full") == 1
    assert J(r, "JOB.NACK", jid) == 0  # not running any more
    g = get(r, jid)
    assert g["state"] == b"ready" and g["last_error"] == b"boom: disk full"
    job = fetch(r, q)[0]
    assert job[0] == jid and job[3] == 2
    assert J(r, "JOB.NACK", jid, "DELAY", 100000) == 1
    g = get(r, jid)
    assert g["state"] == b"delayed" and 99000 < g["run_at"] - g["updated_at"] <= 100000
    assert fetch(r, q) is None
    assert stats(r, q)["retried"] == 2


def test_backoff_schedule_then_dead(r, q):
    jid = add(r, q, "x", "RETRIES", 3, "BACKOFF", 100)
    delays = []
    for attempt in range(1, 4):
        job = fetch(r, q, "BLOCK", 2000)[0]
        assert job[0] == jid and job[3] == attempt
        assert J(r, "JOB.NACK", jid, "ERROR", "fail %d" % attempt) == 1
        g = get(r, jid)
        assert g["state"] == b"delayed"
        delays.append(g["run_at"] - g["updated_at"])
    # 100, 200, 400 ms, each plus up to 20% jitter
    for d, base in zip(delays, (100, 200, 400)):
        assert base <= d <= base * 1.2 + 1, delays
    job = fetch(r, q, "BLOCK", 2000)[0]
    assert job[3] == 4
    assert J(r, "JOB.NACK", jid, "ERROR", "last") == 1
    g = get(r, jid)
    assert g["state"] == b"dead" and g["last_error"] == b"last" and g["unique"] is None
    assert fetch(r, q) is None
    st = stats(r, q)
    assert st["dead"] == 1 and st["failed"] == 1 and st["retried"] == 3


def test_dead_list_and_retry(r, q):
    jid = add(r, q, "x", "RETRIES", 0)
    fetch(r, q)
    J(r, "JOB.NACK", jid, "ERROR", "nope")
    cursor, jobs = J(r, "JOB.LIST", q, "dead")
    assert cursor == b"0" and [as_map(j)["id"] for j in jobs] == [jid]
    assert as_map(jobs[0])["last_error"] == b"nope"
    assert J(r, "JOB.RETRY", jid) == 1
    assert J(r, "JOB.RETRY", jid) == 0  # no longer dead
    assert get(r, jid)["state"] == b"ready" and get(r, jid)["attempts"] == 0
    job = fetch(r, q)[0]
    assert job[0] == jid and job[3] == 1
    assert J(r, "JOB.ACK", jid) == 1


def test_lease_expiry_redelivers(r, q):
    jid = add(r, q, "x")
    assert fetch(r, q, "LEASE", 150)[0][3] == 1
    assert fetch(r, q) is None
    t = time.time()
    job = fetch(r, q, "BLOCK", 3000)  # a blocked fetcher is woken by the expiry itself
    waited = time.time() - t
    assert job[0][0] == jid and job[0][3] == 2
    assert waited < 0.3
    assert get(r, jid)["last_error"] == b"lease expired"
    assert J(r, "JOB.ACK", jid) == 1


def test_lease_expiry_past_retries_is_dead(r, q):
    jid = add(r, q, "x", "RETRIES", 0)
    fetch(r, q, "LEASE", 50)
    time.sleep(0.25)  # the background task moves it without any fetch
    g = get(r, jid)
    assert g["state"] == b"dead" and g["last_error"] == b"lease expired"


def test_extend_keeps_the_lease(r, q):
    jid = add(r, q, "x")
    fetch(r, q, "LEASE", 200)
    for _ in range(4):
        time.sleep(0.1)
        assert J(r, "JOB.EXTEND", jid, 200) == 1
    assert fetch(r, q) is None
    assert get(r, jid)["state"] == b"running"
    assert J(r, "JOB.EXTEND", "0000000000001-000000", 100) == 0
    J(r, "JOB.ACK", jid)
    assert J(r, "JOB.EXTEND", jid, 100) == 0


def test_worker_killed_mid_job_redelivers(server, r, q):
    jid = add(r, q, "precious").decode()
    s = raw_conn(server.port)
    s.sendall(("*6\r\n$9\r\nJOB.FETCH\r\n$%d\r\n%s\r\n$5\r\nLEASE\r\n$3\r\n300\r\n$5\r\nBLOCK\r\n$1\r\n0\r\n"
               % (len(q), q)).encode())
    assert jid.encode() in read_until(s, b"precious\r\n:1\r\n")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    s.close()  # the worker dies holding the job (RST, like kill -9)
    other = server.client()
    job = fetch(other, q, "BLOCK", 3000)
    assert job[0][0] == jid.encode() and job[0][2] == b"precious" and job[0][3] == 2
    assert J(other, "JOB.ACK", jid) == 1


# ---- blocking ---------------------------------------------------------------

def test_blocked_fetch_woken_by_add(server, r, q):
    f = Fetcher(server, q, "BLOCK", 5000)
    f.start()
    wait_blocked(r, 1)
    t = time.time()
    jid = add(r, q, "wake")
    f.join(5)
    assert f.result[0][0] == jid
    assert f.done_at - t < 0.1


def test_block_timeout_returns_null(r, q):
    t = time.time()
    assert fetch(r, q, "BLOCK", 150) is None
    assert 0.14 <= time.time() - t < 0.6


def test_blocked_fetchers_are_served_fifo_once(server, r, q):
    fs = []
    for i in range(3):
        f = Fetcher(server, q, "BLOCK", 5000)
        f.start()
        wait_blocked(r, i + 1)
        fs.append(f)
    ids = [add(r, q, "j%d" % i) for i in range(3)]
    for f in fs:
        f.join(5)
    assert [f.result[0][0] for f in fs] == ids


def test_fetch_block_inside_multi_does_not_block(r, q):
    p = r.pipeline(transaction=True)
    p.execute_command("JOB.FETCH", q, "BLOCK", 0)
    assert p.execute() == [None]


def test_delayed_jobs_run_on_time_and_in_order(server, r, q):
    base = now_ms()
    plan = {}
    for delay in (450, 150, 300, 50, 600):
        plan[add(r, q, str(delay), "DELAY", delay)] = base + delay
    at = base + 700
    plan[add(r, q, "at", "AT", at)] = at
    assert stats(r, q)["delayed"] == 6
    assert fetch(r, q) is None
    got = []
    c = server.client()
    while len(got) < len(plan):
        job = fetch(c, q, "BLOCK", 2000)
        got.append((job[0][0], now_ms()))
        J(c, "JOB.ACK", job[0][0])
    assert [g[0] for g in got] == sorted(plan, key=plan.get)
    for jid, t in got:
        assert -5 <= t - plan[jid] <= 50, (t - plan[jid])


def test_exactly_once_under_parallel_workers(server, r, q):
    n = 400
    ids = set(add(r, q, "x") for _ in range(n))
    seen = []
    lock = threading.Lock()

    def work():
        c = server.client()
        while True:
            jobs = fetch(c, q, "COUNT", 3, "BLOCK", 200)
            if not jobs:
                return
            J(c, "JOB.ACK", *[j[0] for j in jobs])
            with lock:
                seen.extend(j[0] for j in jobs)

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert len(seen) == n and set(seen) == ids
    st = stats(r, q)
    assert st["done"] == n and st["completed"] == n and st["ready"] == 0 and st["running"] == 0


# ---- unique, limits, ttl ----------------------------------------------------

def test_unique_keys(r, q):
    a = add(r, q, "x", "UNIQUE", "user:1")
    assert add(r, q, "y", "UNIQUE", "user:1") == a
    b = add(r, q + "-other", "x", "UNIQUE", "user:1")  # unique per queue
    assert b != a
    assert get(r, a)["unique"] == b"user:1"
    fetch(r, q)
    assert add(r, q, "z", "UNIQUE", "user:1") == a  # still running
    J(r, "JOB.ACK", a)
    c = add(r, q, "z", "UNIQUE", "user:1")
    assert c != a and get(r, c)["payload"] == b"z"
    d = add(r, q, "d", "UNIQUE", "k2", "FOR", 100)
    assert add(r, q, "d", "UNIQUE", "k2", "FOR", 100) == d
    time.sleep(0.15)
    e = add(r, q, "e", "UNIQUE", "k2")
    assert e != d  # FOR ran out while d was still queued
    assert add(r, q, "e", "UNIQUE", "k2") == e
    assert stats(r, q)["ready"] == 3


def test_limit_under_parallel_workers(server, r, q):
    for i in range(24):
        add(r, q, "a%d" % i, "LIMIT", "acct:a", 2)
        if i % 2 == 0:
            add(r, q, "b%d" % i, "LIMIT", "acct:b", 1)
        if i % 3 == 0:
            add(r, q, "free%d" % i)
    total = 24 + 12 + 8
    running = {"a": 0, "b": 0, "f": 0}
    peak = {"a": 0, "b": 0, "f": 0}
    done = []
    lock = threading.Lock()

    def work():
        c = server.client()
        while True:
            jobs = fetch(c, q, "BLOCK", 300)
            if not jobs:
                return
            k = jobs[0][2][:1].decode()
            with lock:
                running[k] += 1
                peak[k] = max(peak[k], running[k])
            time.sleep(0.02)
            with lock:
                running[k] -= 1
                done.append(jobs[0][0])
            J(c, "JOB.ACK", jobs[0][0])

    ts = [threading.Thread(target=work) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert len(done) == total and len(set(done)) == total
    assert peak["a"] == 2 and peak["b"] == 1
    assert get(r, done[0])["limit"] in (1, 2, None)


def test_limit_skips_to_other_jobs_and_wakes_on_ack(server, r, q):
    a1 = add(r, q, "a1", "LIMIT", "k", 1)
    a2 = add(r, q, "a2", "LIMIT", "k", 1)
    free = add(r, q, "free")
    assert fetch(r, q)[0][0] == a1
    assert fetch(r, q)[0][0] == free  # a2 waits for a1
    f = Fetcher(server, q, "BLOCK", 3000)
    f.start()
    wait_blocked(r, 1)
    assert f.result is None
    J(r, "JOB.ACK", a1)
    f.join(3)
    assert f.result[0][0] == a2


def test_limit_pages_past_many_blocked_jobs_with_equal_keys(r, q):
    # same priority and run_at for all: the scan's cursor must page by id
    held = [add(r, q, "h%d" % i, "AT", 1000, "LIMIT", "one", 1) for i in range(30)]
    free = add(r, q, "free", "AT", 1000)
    assert fetch(r, q)[0][0] == held[0]
    assert fetch(r, q)[0][0] == free
    assert fetch(r, q) is None
    J(r, "JOB.ACK", held[0])
    assert fetch(r, q, "COUNT", 5)[0][0] == held[1]  # one at a time


def test_ttl_drops_jobs_that_waited_too_long(r, q):
    add(r, q, "stale", "TTL", 100)
    keep = add(r, q, "fresh", "TTL", 100000)
    late = add(r, q, "delayed", "DELAY", 200, "TTL", 1000)  # TTL counts from its run time
    time.sleep(0.3)
    got = fetch(r, q, "COUNT", 5)
    assert sorted(j[0] for j in got) == sorted([keep, late])
    assert stats(r, q)["expired"] == 1
