"""The native job queue (JOB.*), administration: cancel, pause and resume, list
and purge, stats, databases, cron schedules, durability across kill -9, bad
input, the INFO jobs section and the retention options, against a live server.
The life of a single job (add, fetch, ack, retries, leases, blocking, limits) is
in test_job.py.

Solidis only (redis-server has no JOB commands). FLUSHALL does not touch jobs,
so every test works on queues of its own (the `q` fixture, in conftest.py); the
JOB.* client helpers are in helpers.py.
"""
import threading
import time

import pytest
import redis

from conftest import IS_REDIS
from helpers import J, Fetcher, add, as_map, fetch, get, now_ms, stats, wait_blocked

pytestmark = pytest.mark.skipif(IS_REDIS, reason="JOB.* is Solidis-only")


def err(fn, *args):
    with pytest.raises(redis.ResponseError) as e:
        fn(*args)
    return str(e.value)


# ---- cancel, pause, list, purge, stats --------------------------------------

def test_cancel(r, q):
    a = add(r, q, "a", "UNIQUE", "u")
    b = add(r, q, "b")
    assert J(r, "JOB.CANCEL", a) == 1
    assert J(r, "JOB.CANCEL", a) == 0
    assert get(r, a)["state"] == b"cancelled"
    assert add(r, q, "a2", "UNIQUE", "u") != a  # the key is free again
    assert fetch(r, q)[0][0] == b
    assert J(r, "JOB.CANCEL", b) == 1  # running: its ACK no longer counts
    assert J(r, "JOB.ACK", b) == 0
    assert J(r, "JOB.CANCEL", "0000000000001-000000") == 0
    st = stats(r, q)
    assert st["cancelled"] == 2 and st["running"] == 0
    _, jobs = J(r, "JOB.LIST", q, "cancelled", "COUNT", 1)
    assert as_map(jobs[0])["id"] == a
    assert J(r, "JOB.PURGE", q, "cancelled") == 2
    assert J(r, "JOB.PURGE", q, "done") == 0
    assert stats(r, q)["cancelled"] == 0 and get(r, a) is None


def test_pause_and_resume(server, r, q):
    add(r, q, "x")
    assert J(r, "JOB.PAUSE", q) == b"OK"
    assert fetch(r, q) is None
    assert stats(r, q)["paused"] == 1
    f = Fetcher(server, q, "BLOCK", 3000)
    f.start()
    wait_blocked(r, 1)
    t = time.time()
    assert J(r, "JOB.RESUME", q) == b"OK"
    f.join(3)
    assert f.result[0][2] == b"x" and f.done_at - t < 0.2
    assert J(r, "JOB.PAUSE", q + "-new") == b"OK"  # a queue can be paused before its first job
    add(r, q + "-new", "y")
    assert fetch(r, q + "-new") is None


def test_list_paging_and_purge(r, q):
    ids = [add(r, q, "j%d" % i) for i in range(25)]
    seen, cursor, pages = [], b"0", 0
    while True:
        cursor, jobs = J(r, "JOB.LIST", q, "ready", "CURSOR", cursor, "COUNT", 10)
        seen += [as_map(j)["id"] for j in jobs]
        pages += 1
        if cursor == b"0":
            break
    assert seen == ids and pages == 3
    same = [add(r, q + "-same", "s", "AT", 1000) for _ in range(12)]  # equal sort keys
    seen, cursor = [], b"0"
    while True:
        cursor, jobs = J(r, "JOB.LIST", q + "-same", "ready", "CURSOR", cursor, "COUNT", 5)
        seen += [as_map(j)["id"] for j in jobs]
        if cursor == b"0":
            break
    assert seen == same
    later = [add(r, q, "d", "DELAY", 60000) for _ in range(2)]
    _, jobs = J(r, "JOB.LIST", q, "DELAYED")
    assert [as_map(j)["id"] for j in jobs] == later
    fetch(r, q, "COUNT", 2)
    _, jobs = J(r, "JOB.LIST", q, "running")
    assert sorted(as_map(j)["id"] for j in jobs) == ids[:2]
    assert J(r, "JOB.LIST", q, "done") == [b"0", []]
    assert J(r, "JOB.PURGE", q, "ready") == 23
    assert J(r, "JOB.PURGE", q, "delayed") == 2
    assert J(r, "JOB.PURGE", q, "running") == 2
    assert J(r, "JOB.PURGE", q, "ready") == 0
    st = stats(r, q)
    assert (st["ready"], st["delayed"], st["running"]) == (0, 0, 0)
    assert get(r, ids[0]) is None


def test_stats(r, q):
    empty = stats(r, q)
    assert empty["ready"] == 0 and empty["added"] == 0 and empty["throughput"] == b"0"
    for i in range(5):
        add(r, q, "x%d" % i)
    add(r, q, "later", "DELAY", 60000)
    time.sleep(0.05)
    for j in fetch(r, q, "COUNT", 3):
        J(r, "JOB.ACK", j[0])
    fetch(r, q)
    st = stats(r, q)
    assert (st["ready"], st["delayed"], st["running"], st["done"]) == (1, 1, 1, 3)
    assert st["added"] == 6 and st["completed"] == 3
    assert 50 <= st["oldest_ready_age_ms"] < 2000
    assert float(st["throughput"]) > 0
    everything = stats(r)
    assert q.encode() in everything["queues"]
    assert everything["done"] >= 3 and everything["added"] >= 6


STATES = ("ready", "delayed", "running", "done", "dead", "cancelled")


def listed(r, q, state):
    """How many jobs JOB.LIST shows in a state (walks every page)."""
    n, cursor = 0, b"0"
    while True:
        cursor, jobs = J(r, "JOB.LIST", q, state, "CURSOR", cursor, "COUNT", 100)
        n += len(jobs)
        if cursor == b"0":
            return n


def assert_counts_match(r, q, expect):
    st = stats(r, q)
    assert {s: st[s] for s in STATES} == {s: listed(r, q, s) for s in STATES} == expect


def test_stats_counts_follow_every_transition(r, q):
    """JOB.STATS keeps per-state counters instead of counting rows; after each
    kind of state change they must equal what JOB.LIST finds."""
    z = dict.fromkeys(STATES, 0)
    ready = [add(r, q, "r%d" % i, "RETRIES", 1) for i in range(6)]
    later = [add(r, q, "d%d" % i, "DELAY", 60000) for i in range(3)]
    assert_counts_match(r, q, {**z, "ready": 6, "delayed": 3})
    assert J(r, "JOB.ACK", ready[0], later[0]) == 0  # waiting jobs: nothing ran, nothing to acknowledge
    assert_counts_match(r, q, {**z, "ready": 6, "delayed": 3})
    assert fetch(r, q, "LEASE", 60000)[0][0] == ready[0]
    assert J(r, "JOB.ACK", ready[0]) == 1
    assert J(r, "JOB.CANCEL", ready[1]) == 1 and J(r, "JOB.CANCEL", later[1]) == 1
    assert_counts_match(r, q, {**z, "ready": 4, "delayed": 2, "done": 1, "cancelled": 2})
    got = [j[0] for j in fetch(r, q, "COUNT", 4, "LEASE", 60000)]
    assert got == ready[2:]
    assert_counts_match(r, q, {**z, "running": 4, "delayed": 2, "done": 1, "cancelled": 2})
    assert J(r, "JOB.ACK", got[0], got[0], "0000000000000-000000") == 1  # twice, unknown
    assert J(r, "JOB.NACK", got[1], "DELAY", 60000) == 1  # retry later: DELAYED
    assert J(r, "JOB.NACK", got[2], "DELAY", 0) == 1  # retry now: READY
    assert J(r, "JOB.CANCEL", got[3]) == 1
    assert_counts_match(r, q, {**z, "ready": 1, "delayed": 3, "done": 2, "cancelled": 3})
    again = fetch(r, q, "LEASE", 60000)[0]
    assert again[0] == got[2] and again[3] == 2
    assert J(r, "JOB.NACK", got[2], "ERROR", "boom") == 1  # out of retries: DEAD
    assert_counts_match(r, q, {**z, "delayed": 3, "done": 2, "dead": 1, "cancelled": 3})
    assert J(r, "JOB.RETRY", got[2]) == 1
    assert_counts_match(r, q, {**z, "ready": 1, "delayed": 3, "done": 2, "cancelled": 3})
    # Leases running out: back to READY with attempts left, DEAD without.
    short = fetch(r, q, "LEASE", 50)[0][0]
    assert short == got[2]
    fresh = add(r, q, "once", "RETRIES", 0)
    assert fetch(r, q, "LEASE", 50)[0][0] == fresh
    time.sleep(0.3)
    assert fetch(r, q + "-other") is None  # a FETCH runs the due lease expiry
    assert get(r, short)["state"] == b"ready" and get(r, fresh)["state"] == b"dead"
    assert_counts_match(r, q, {**z, "ready": 1, "delayed": 3, "done": 2, "dead": 1, "cancelled": 3})
    # A delayed job coming due, and a waiting job whose TTL ran out.
    soon = add(r, q, "soon", "DELAY", 100)
    add(r, q, "short-lived", "TTL", 100, "DELAY", 50)
    time.sleep(0.4)
    assert [j[0] for j in fetch(r, q, "COUNT", 10, "LEASE", 60000)] == [short, soon]
    assert_counts_match(r, q, {**z, "running": 2, "delayed": 3, "done": 2, "dead": 1, "cancelled": 3})
    assert J(r, "JOB.ACK", short, soon) == 2
    assert J(r, "JOB.PURGE", q, "done") == 4 and J(r, "JOB.PURGE", q, "delayed") == 3
    assert_counts_match(r, q, {**z, "dead": 1, "cancelled": 3})
    st = stats(r, q)
    assert (st["added"], st["completed"], st["retried"], st["failed"], st["expired"]) == (12, 4, 3, 2, 1)


def test_queues_live_in_databases(server, q):
    c0 = server.client(db=0)
    c1 = server.client(db=1)
    jid = add(c1, q, "in db 1")
    assert fetch(c0, q) is None and get(c0, jid) is None
    assert fetch(c1, q)[0][0] == jid
    c0.flushall()  # jobs are not keys
    assert get(c1, jid)["state"] == b"running"


def test_help(r):
    lines = J(r, "JOB.HELP")
    assert len(lines) > 20 and any(l.startswith(b"FETCH") for l in lines)


# ---- cron -------------------------------------------------------------------

def cron_list(r):
    return {as_map(c)["name"]: as_map(c) for c in J(r, "JOB.CRON", "LIST")}


def test_cron_expressions(r, q):
    now = now_ms()
    ok = {
        "every5": ("*/5 * * * *", 300000),
        "hourly": ("@hourly", 3600000),
        "daily": ("@daily", 86400000),
        "list": ("0,15,30,45 * * * *", 900000),
        "range": ("10-20/5 8-18 * jan-dec mon-fri", None),
        "leap": ("0 0 29 2 *", None),
        "sunday7": ("0 12 * * 7", None),
        "interval": ("@every 1h30m", None),
    }
    for name, (expr, _) in ok.items():
        assert J(r, "JOB.CRON", q + name, expr, q, "payload", "PRIORITY", 3) == b"OK"
    cl = cron_list(r)
    for name, (expr, period) in ok.items():
        c = cl[(q + name).encode()]
        assert c["schedule"] == expr.encode() and c["queue"] == q.encode() and c["last_run"] is None
        nxt = c["next_run"]
        assert nxt > now
        if period:
            assert nxt % period == 0 and nxt - now <= period
    assert abs(cl[(q + "interval").encode()]["next_run"] - now - 5400000) < 2000
    t = time.gmtime(cl[(q + "leap").encode()]["next_run"] / 1000)
    assert (t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min) == (2, 29, 0, 0)
    t = time.gmtime(cl[(q + "sunday7").encode()]["next_run"] / 1000)
    assert t.tm_wday == 6 and t.tm_hour == 12  # Python: Monday=0, Sunday=6
    t = time.gmtime(cl[(q + "range").encode()]["next_run"] / 1000)
    assert t.tm_wday < 5 and 8 <= t.tm_hour <= 18 and t.tm_min in (10, 15, 20)
    for bad in ("* * * *", "60 * * * *", "* 24 * * *", "* * 0 * *", "*/0 * * * *", "5-1 * * * *",
                "@every 10", "@every 500ms", "@weekdays", "a b c d e", "* * * * * *", "1,,2 * * * *"):
        assert "invalid cron expression" in err(J, r, "JOB.CRON", q + "bad", bad, q, "p"), bad
    assert "never fires" in err(J, r, "JOB.CRON", q + "bad", "0 0 31 2 *", q, "p")
    assert J(r, "JOB.CRON", "DEL", q + "hourly") == 1
    assert J(r, "JOB.CRON", "DEL", q + "hourly") == 0
    assert (q + "hourly").encode() not in cron_list(r)
    for name in ok:
        J(r, "JOB.CRON", "DEL", q + name)


def cron_field(text, lo, hi, names=()):
    """The values a cron field allows (a small reference implementation)."""
    out = set()
    for item in text.split(","):
        base, _, step = item.partition("/")
        if base == "*":
            a, b = lo, hi
        else:
            ends = [names.index(x.lower()) + (1 if len(names) == 12 else 0) if x.isalpha() else int(x)
                    for x in base.split("-")]
            a, b = ends[0], ends[-1] if "-" in base else (hi if step else ends[0])
        out.update(range(a, b + 1, int(step or 1)))
    return out


def reference_next(expr, after_ms):
    f = expr.split()
    mins, hours = cron_field(f[0], 0, 59), cron_field(f[1], 0, 23)
    mdays = cron_field(f[2], 1, 31)
    months = cron_field(f[3], 1, 12, ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    wdays = {d % 7 for d in cron_field(f[4], 0, 6 if f[4] == "*" else 7, ["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}
    t = (after_ms // 60000 + 1) * 60
    for _ in range(400 * 24 * 60):
        g = time.gmtime(t)
        md, wd = g.tm_mday in mdays, (g.tm_wday + 1) % 7 in wdays
        day = (md and wd) if f[2][0] == "*" or f[4][0] == "*" else (md or wd)
        if g.tm_min in mins and g.tm_hour in hours and g.tm_mon in months and day:
            return t * 1000
        t += 60
    return None


def test_cron_next_run_matches_a_reference(r, q):
    exprs = ["0 0 13 * 5", "30 4 1,15 * fri", "*/7 */5 * * *", "0 0 * * 1-5", "15 10 * feb,mar sun",
             "5-10/2 0-23/6 */3 * *", "0 12 * * 5-7", "59 23 31 * *", "0 0 1 1 *", "1 2 3 4 *"]
    t0 = now_ms()
    for i, e in enumerate(exprs):
        J(r, "JOB.CRON", "%s-%d" % (q, i), e, q, "p")
    t1 = now_ms()
    cl = cron_list(r)
    for i, e in enumerate(exprs):
        nxt = cl[("%s-%d" % (q, i)).encode()]["next_run"]
        assert nxt in (reference_next(e, t0), reference_next(e, t1)), e
        J(r, "JOB.CRON", "DEL", "%s-%d" % (q, i))


def test_cron_ticks_reach_a_blocked_worker(server, r, q):
    assert J(r, "JOB.CRON", q, "@every 1s", q, "tick", "RETRIES", 5) == b"OK"
    next_run = cron_list(r)[q.encode()]["next_run"]
    job = fetch(r, q, "BLOCK", 3000)
    late = now_ms() - next_run
    assert job[0][2] == b"tick" and 0 <= late <= 50
    assert get(r, job[0][0])["retries"] == 5
    c = cron_list(r)[q.encode()]
    assert c["last_id"] == job[0][0] and c["next_run"] == next_run + 1000
    J(r, "JOB.CRON", "DEL", q)


def test_cron_ticks_across_a_restart(make_server):
    s = make_server()
    c = s.client()
    q = "cron-restart"
    start = now_ms()
    assert J(c, "JOB.CRON", "t", "@every 2s", q, "tick") == b"OK"
    first = cron_list(c)[b"t"]["next_run"]
    assert 1990 <= first - start <= 2100
    c.close()
    s.stop()  # down across the first tick
    while now_ms() < first + 400:
        time.sleep(0.05)
    s.start()
    c = s.client()
    time.sleep(0.3)
    st = stats(c, q)
    assert st["added"] == 1  # the missed tick, once
    cl = cron_list(c)[b"t"]
    assert cl["next_run"] == first + 2000 and cl["last_run"] >= first + 400
    while now_ms() < first + 2000 + 300:
        time.sleep(0.05)
    assert stats(c, q)["added"] == 2
    c.close()
    s.stop()  # a restart between ticks adds nothing
    s.start()
    c = s.client()
    time.sleep(0.3)
    assert stats(c, q)["added"] == 2
    # redeclaring an unchanged schedule keeps its next run
    assert J(c, "JOB.CRON", "t", "@every 2s", q, "tick") == b"OK"
    assert cron_list(c)[b"t"]["next_run"] == first + 4000


# ---- durability -------------------------------------------------------------

def test_server_kill9_loses_no_acknowledged_add(make_server):
    s = make_server("--appendfsync", "always")
    acked = []
    lock = threading.Lock()
    stop = threading.Event()

    def produce(k):
        c = s.client()
        i = 0
        while not stop.is_set():
            try:
                jid = add(c, "durable", "p%d-%d" % (k, i))
            except (redis.ConnectionError, redis.TimeoutError):
                return
            with lock:
                acked.append(jid)
            i += 1

    c = s.client()
    running = add(c, "durable", "running")
    fetch(c, "durable", "LEASE", 600000)
    ts = [threading.Thread(target=produce, args=(k,)) for k in range(4)]
    for t in ts:
        t.start()
    time.sleep(0.5)
    s.kill9()
    stop.set()
    for t in ts:
        t.join(5)
    assert len(acked) > 50
    s.start()
    c = s.client()
    for jid in acked:
        g = get(c, jid)
        assert g is not None and g["state"] == b"ready"
    assert get(c, running)["state"] == b"running"
    st = stats(c, "durable")
    assert st["ready"] >= len(acked) and st["running"] == 1
    assert add(c, "durable", "after") > max(acked)  # ids never go back


# ---- bad input --------------------------------------------------------------

def test_bad_input(r, q):
    arity = "wrong number of arguments"
    assert arity in err(J, r, "JOB.ADD", q)
    assert arity in err(J, r, "JOB.FETCH")
    assert arity in err(J, r, "JOB.ACK")
    assert arity in err(J, r, "JOB.EXTEND", "id")
    assert arity in err(J, r, "JOB.LIST", q)
    assert arity in err(J, r, "JOB.CRON", "name", "* * * * *", q)
    assert err(J, r, "JOB.ADD", q, "p", "SOON", 5) == "unknown option 'SOON'"
    assert err(J, r, "JOB.ADD", q, "p", "DELAY") == "syntax error"
    assert err(J, r, "JOB.ADD", q, "p", "DELAY", "abc") == "value is not an integer or out of range"
    assert err(J, r, "JOB.ADD", q, "p", "DELAY", "99999999999999999999") == "value is not an integer or out of range"
    assert "DELAY must be between 0 and" in err(J, r, "JOB.ADD", q, "p", "DELAY", -1)
    assert "DELAY must be between 0 and" in err(J, r, "JOB.ADD", q, "p", "DELAY", 2 ** 62)
    assert "AT must be between" in err(J, r, "JOB.ADD", q, "p", "AT", -5)
    assert "cannot be used together" in err(J, r, "JOB.ADD", q, "p", "DELAY", 1, "AT", 1)
    assert "PRIORITY must be between" in err(J, r, "JOB.ADD", q, "p", "PRIORITY", 2 ** 40)
    assert "RETRIES must be between" in err(J, r, "JOB.ADD", q, "p", "RETRIES", -1)
    assert "TIMEOUT must be between 1" in err(J, r, "JOB.ADD", q, "p", "TIMEOUT", 0)
    assert "TTL must be between 1" in err(J, r, "JOB.ADD", q, "p", "TTL", 0)
    assert "FOR must be between 1" in err(J, r, "JOB.ADD", q, "p", "UNIQUE", "k", "FOR", 0)
    assert err(J, r, "JOB.ADD", q, "p", "UNIQUE", "k", "FOR") == "syntax error"
    assert err(J, r, "JOB.ADD", q, "p", "LIMIT", "k") == "syntax error"
    assert "LIMIT must be between 1" in err(J, r, "JOB.ADD", q, "p", "LIMIT", "k", 0)
    assert "COUNT must be between 1 and 1000" in err(J, r, "JOB.FETCH", q, "COUNT", 0)
    assert "LEASE must be between 1" in err(J, r, "JOB.FETCH", q, "LEASE", -1)
    assert err(J, r, "JOB.FETCH", q, "BLOCK", -1) == "timeout is negative"
    assert err(J, r, "JOB.FETCH", q, "BLOCK", "x") == "timeout is not an integer or out of range"
    assert err(J, r, "JOB.FETCH", q, "BLOCK") == "syntax error"
    assert err(J, r, "JOB.FETCH", q, "COUNT", 1, "NOW", 1) == "unknown option 'NOW'"
    assert "lease must be between 1" in err(J, r, "JOB.EXTEND", "id", 0)
    assert err(J, r, "JOB.NACK", "id", "AGAIN") == "unknown option 'AGAIN'"
    assert err(J, r, "JOB.NACK", "id", "ERROR") == "syntax error"
    assert err(J, r, "JOB.LIST", q, "sleeping") == "unknown state 'sleeping'"
    assert err(J, r, "JOB.LIST", q, "ready", "CURSOR", "zz") == "invalid cursor"
    assert "COUNT must be between" in err(J, r, "JOB.LIST", q, "ready", "COUNT", 0)
    assert err(J, r, "JOB.PURGE", q, "all") == "unknown state 'all'"
    assert err(J, r, "JOB.STATS", q, "extra") == "syntax error"
    assert err(J, r, "JOB.CRON", "LIST", "x") == "syntax error"
    assert err(J, r, "JOB.CRON", "n", "@daily", q, "p", "DELAY", 5) == "unknown option 'DELAY'"
    # nothing was added by any of that
    assert stats(r, q)["added"] == 0


def test_info_jobs_section(r):
    before = r.info("jobs")
    r.execute_command("JOB.ADD", "info-q", "a")
    r.execute_command("JOB.ADD", "info-q", "b", "DELAY", 60000)
    after = r.info("jobs")
    assert after["jobs_ready"] == before.get("jobs_ready", 0) + 1
    assert after["jobs_delayed"] == before.get("jobs_delayed", 0) + 1
    assert after["jobs_added"] == before.get("jobs_added", 0) + 2
    assert "job_crons" in after
    assert "jobs_ready" in r.info("everything")


def test_retention_options(r):
    assert r.config_get("job-retention") == {"job-retention": "86400"}
    assert r.config_get("job-dead-retention") == {"job-dead-retention": "604800"}
    with pytest.raises(redis.ResponseError, match="between 0 and"):
        r.config_set("job-retention", -1)
    r.config_set("job-retention", 0)
    try:
        jid = r.execute_command("JOB.ADD", "ret-q", "p")
        got = r.execute_command("JOB.FETCH", "ret-q", "LEASE", 5000)
        assert got[0][0] == jid
        assert r.execute_command("JOB.ACK", jid) == 1
        deadline = time.time() + 5
        while time.time() < deadline and r.execute_command("JOB.GET", jid) is not None:
            time.sleep(0.1)
        assert r.execute_command("JOB.GET", jid) is None   # done job deleted by retention 0
    finally:
        r.config_set("job-retention", 86400)
