"""The job queue against its specification, cases a review found wrong:
state transitions a command must refuse, leases that ran out, malformed job
ids and repeated options. The life of a job is in test_job.py, administration
and most bad input in test_job_admin.py.

Solidis only (redis-server has no JOB commands); every test uses queues of its
own (the `q` fixture).
"""
import time

import pytest
import redis

from conftest import IS_REDIS
from helpers import J, Fetcher, add, fetch, get, stats, wait_blocked

pytestmark = pytest.mark.skipif(IS_REDIS, reason="JOB.* is Solidis-only")


def err(r, *args):
    with pytest.raises(redis.ResponseError) as e:
        J(r, *args)
    return str(e.value)


def test_ack_of_a_waiting_job_is_refused(r, q):
    """ACK acknowledges a job a worker ran; a ready or delayed job was never
    handed out, so ACK must not mark it done behind the workers' backs."""
    ready = add(r, q, "r")
    later = add(r, q, "d", "DELAY", 60000)
    assert J(r, "JOB.ACK", ready) == 0
    assert J(r, "JOB.ACK", later, ready) == 0
    assert get(r, ready)["state"] == b"ready" and get(r, later)["state"] == b"delayed"
    st = stats(r, q)
    assert (st["ready"], st["delayed"], st["done"], st["completed"]) == (1, 1, 0, 0)
    assert fetch(r, q)[0][0] == ready  # still there for a worker
    assert J(r, "JOB.ACK", ready) == 1


def test_extend_of_a_lapsed_lease_is_refused(r, q):
    """Once a lease has run out the job belongs to the queue again, whether or
    not the 100 ms maintenance task has moved it yet: EXTEND answers 0 and the
    job is handed out again, never silently revived."""
    for round in range(5):
        jid = add(r, q, "x%d" % round)
        assert fetch(r, q, "LEASE", 1)[0][0] == jid
        time.sleep(0.005)
        assert J(r, "JOB.EXTEND", jid, 60000) == 0, "round %d" % round
        job = fetch(r, q, "LEASE", 60000)[0]
        assert job[0] == jid and job[3] == 2
        assert J(r, "JOB.EXTEND", jid, 60000) == 1  # a live lease is renewed
        assert J(r, "JOB.ACK", jid) == 1


@pytest.mark.parametrize("cmd", [
    ("JOB.ACK", "{id}"), ("JOB.NACK", "{id}"), ("JOB.NACK", "{id}", "ERROR", "e"), ("JOB.EXTEND", "{id}", 100),
    ("JOB.CANCEL", "{id}"), ("JOB.RETRY", "{id}"), ("JOB.GET", "{id}"),
])
@pytest.mark.parametrize("bad", ["bogus", "", "123", "12345678-1234567", "1795663842927_000000", "-000000-000001"])
def test_malformed_ids_are_errors(r, cmd, bad):
    args = [bad if a == "{id}" else a for a in cmd]
    assert err(r, *args) == "invalid job id '%s'" % bad


def test_well_formed_unknown_ids_are_not_errors(r, q):
    none = "0000000000001-000000"
    assert J(r, "JOB.ACK", none) == 0 and J(r, "JOB.NACK", none) == 0
    assert J(r, "JOB.EXTEND", none, 100) == 0 and J(r, "JOB.CANCEL", none) == 0
    assert J(r, "JOB.RETRY", none) == 0 and J(r, "JOB.GET", none) is None


def test_ack_with_a_malformed_id_acknowledges_nothing(r, q):
    a, b = add(r, q, "a"), add(r, q, "b")
    fetch(r, q, "COUNT", 2)
    assert err(r, "JOB.ACK", a, "oops", b) == "invalid job id 'oops'"
    assert get(r, a)["state"] == b"running" and get(r, b)["state"] == b"running"
    assert J(r, "JOB.ACK", a, b) == 2


def test_repeated_options_are_errors(r, q):
    """'PRIORITY 1 PRIORITY 9' is a mistake, not 'the last one wins'."""
    def twice(*args):
        return err(r, *args).endswith("given more than once")
    for opt, val in (("DELAY", 5), ("AT", 5), ("PRIORITY", 1), ("RETRIES", 1), ("BACKOFF", 1), ("TIMEOUT", 1),
                     ("TTL", 1), ("UNIQUE", "k"), ("LIMIT", "k")):
        extra = (1,) if opt == "LIMIT" else ()
        assert err(r, "JOB.ADD", q, "p", opt, val, *extra, opt.lower(), val, *extra) == \
            "option '%s' given more than once" % opt.lower()
        assert twice("JOB.CRON", q, "@every 1h", q, "p", opt, val, *extra, opt, val, *extra) or opt in ("DELAY", "AT")
    assert twice("JOB.ADD", q, "p", "UNIQUE", "a", "FOR", 5, "UNIQUE", "b")
    assert stats(r, q)["added"] == 0 and J(r, "JOB.CRON", "LIST") == []
    for opt, val in (("COUNT", 2), ("LEASE", 100), ("BLOCK", 10), ("WORKER", "w")):
        assert twice("JOB.FETCH", q, opt, val, "COUNT", 1, opt, val)
    jid = add(r, q, "x")
    fetch(r, q)
    assert twice("JOB.NACK", jid, "ERROR", "a", "ERROR", "b")
    assert twice("JOB.NACK", jid, "DELAY", 1, "DELAY", 2)
    assert get(r, jid)["state"] == b"running"
    assert twice("JOB.LIST", q, "ready", "COUNT", 1, "COUNT", 2)
    assert twice("JOB.LIST", q, "ready", "CURSOR", 0, "CURSOR", 0)


@pytest.mark.parametrize("free", ["ack", "nack", "nack-dead", "cancel", "lease", "purge"])
def test_freed_limit_slot_wakes_fetchers_of_other_queues(server, r, q, free):
    """A LIMIT key is shared by all queues of a database: when a job of queue A
    gives its slot back, a fetcher parked on queue B, whose ready job waits for
    that slot, must be woken (it stayed parked until its BLOCK ran out)."""
    a, b, key = q + "-a", q + "-b", q + "-key"
    holder = add(r, a, "holder", "LIMIT", key, 1, "RETRIES", 0 if free == "nack-dead" else 3)
    assert fetch(r, a, "LEASE", 150 if free == "lease" else 60000)[0][0] == holder
    waiting = add(r, b, "waiting", "LIMIT", key, 1)
    assert fetch(r, b) is None  # the slot is taken
    f = Fetcher(server, b, "BLOCK", 1500)
    f.start()
    wait_blocked(r, 1)
    t = time.time()
    if free == "ack":
        assert J(r, "JOB.ACK", holder) == 1
    elif free.startswith("nack"):
        assert J(r, "JOB.NACK", holder, "DELAY", 60000) == 1
    elif free == "cancel":
        assert J(r, "JOB.CANCEL", holder) == 1
    elif free == "purge":
        assert J(r, "JOB.PURGE", a, "running") == 1
    f.join(3)
    assert f.result is not None and f.result[0][0] == waiting, free
    assert f.done_at - t < (0.6 if free == "lease" else 0.3)
    assert J(r, "JOB.ACK", waiting) == 1


@pytest.mark.parametrize("death", ["nack", "lease"])
def test_retried_dead_job_holds_its_unique_key_again(r, q, death):
    """UNIQUE holds while a job is queued or running: a dead job made ready
    again by RETRY must still stop a second ADD with its key. While it is dead
    an ADD may take the key (the dead job then comes back without it)."""
    jid = add(r, q, "u", "UNIQUE", "k", "RETRIES", 0)
    assert fetch(r, q, "LEASE", 50)[0][0] == jid
    if death == "nack":
        assert J(r, "JOB.NACK", jid) == 1
    else:
        deadline = time.time() + 5
        while get(r, jid)["state"] != b"dead" and time.time() < deadline:
            time.sleep(0.02)
    assert get(r, jid)["state"] == b"dead"
    assert J(r, "JOB.RETRY", jid) == 1
    assert add(r, q, "again", "UNIQUE", "k") == jid  # the retried job still holds the key
    assert stats(r, q)["ready"] == 1
    # dead again; this time a new ADD takes the key before the RETRY
    assert fetch(r, q)[0][0] == jid
    assert J(r, "JOB.NACK", jid) == 1
    other = add(r, q, "new", "UNIQUE", "k")
    assert other != jid
    assert J(r, "JOB.RETRY", jid) == 1
    assert add(r, q, "third", "UNIQUE", "k") == other  # the key stays with the new job
    assert stats(r, q)["ready"] == 2
