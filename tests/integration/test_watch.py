"""Transactions with optimistic locking: WATCH / UNWATCH.

WATCH conflicts from other connections, the same connection, other transactions,
expiry and FLUSHALL/FLUSHDB; which writes invalidate a watched key and which
reads and no-ops do not; watches across databases; how UNWATCH, DISCARD and EXEC
clear them; a CAS counter under concurrent clients; and clients that disconnect
while watching.

Every expectation was checked against a real Redis first:
    SOLIDIS_BIN=/usr/bin/redis-server /usr/bin/python3 -m pytest -q tests/integration/test_watch.py
(redis-server 7.0.15 here). Only strings and generic key commands are used. The
`raw` and `other` fixtures are in conftest.py.
"""
import threading
import time

import pytest
import redis

from helpers import EXECABORT, RespClient


# --------------------------------------------------------------------------- helpers

def watched_exec(raw, other_cmds, watch=("k",), setup=()):
    """WATCH on raw, run other_cmds on a second connection, then MULTI/SET/EXEC.
    Returns the raw EXEC reply."""
    for c in setup:
        raw.call(*c)
    assert raw.call("WATCH", *watch) == b"+OK\r\n"
    for c in other_cmds:
        other_cmd(raw, c)
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    return raw.call("EXEC")


_others = {}


def other_cmd(raw, c):
    """Run one command on a second raw connection tied to raw's server port."""
    port = raw.sock.getpeername()[1]
    o = _others.get(id(raw))
    if o is None:
        o = _others[id(raw)] = RespClient(port, replies="bytes")
    return o.call(*c)


@pytest.fixture(autouse=True)
def _close_others():
    yield
    for o in _others.values():
        o.close()
    _others.clear()


# --------------------------------------------------------------------------- WATCH

def test_watch_conflict_from_second_connection_raw_null(raw, r):
    r.set("k", "1")
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert other_cmd(raw, ("SET", "k", "2")) == b"+OK\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "k", "mine") == b"+QUEUED\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"  # RESP2 null array
    assert r.get("k") == b"2"
    assert r.exists("out") == 0
    # watches are gone after the failed EXEC
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_watch_conflict_resp3_null(raw, r):
    hello = raw.call("HELLO", "3")
    assert hello.startswith(b"%")
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    r.set("k", "x")
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "k", "y") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"_\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("GET", "nope") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n_\r\n"
    assert r.get("k") == b"x"


def test_watch_conflict_redis_py_watcherror(server, r, other):
    r.set("k", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("k")
        assert p.get("k") == b"1"  # immediate mode after WATCH
        other.set("k", "2")
        p.multi()
        p.set("k", "3")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.get("k") == b"2"


def test_watch_without_conflict_succeeds(server, r, other):
    r.set("k", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("k", "other")
        v = int(p.get("k"))
        other.set("unrelated", "x")
        other.get("k")
        p.multi()
        p.set("k", v + 1)
        p.get("k")
        assert p.execute() == [True, b"2"]
    assert r.get("k") == b"2"


def test_watch_reply_and_duplicates(raw):
    assert raw.call("WATCH", "a", "b", "a") == b"+OK\r\n"
    assert raw.call("WATCH", "a") == b"+OK\r\n"
    assert raw.call("UNWATCH") == b"+OK\r\n"
    assert raw.call("UNWATCH") == b"+OK\r\n"


def test_watch_own_modification_aborts(raw, r):
    r.set("k", "1")
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert raw.call("SET", "k", "2") == b"+OK\r\n"  # same connection, before MULTI
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"
    assert r.exists("out") == 0


def test_watch_modification_between_multi_and_exec_aborts(raw, r):
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    r.set("k", "x")  # created while the watcher is queueing
    assert raw.call("INCR", "n") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"
    assert r.exists("out", "n") == 0


def test_watch_touched_by_another_transaction_aborts(raw, r, other):
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    p = other.pipeline(transaction=True)
    p.set("k", "1").incr("z")
    assert p.execute() == [True, 1]
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"


@pytest.mark.parametrize("setup,cmds", [
    ([("SET", "k", "1")], [("SET", "k", "1")]),            # same value still counts
    ([("SET", "k", "1")], [("DEL", "k")]),
    ([("SET", "k", "1")], [("UNLINK", "k")]),
    ([("SET", "k", "1")], [("EXPIRE", "k", "100")]),
    ([("SET", "k", "1")], [("EXPIRE", "k", "-1")]),        # expire in the past deletes
    ([("SET", "k", "1", "EX", "100")], [("PERSIST", "k")]),
    ([("SET", "k", "1")], [("APPEND", "k", "x")]),
    ([("SET", "k", "1")], [("SETRANGE", "k", "0", "2")]),
    ([("SET", "k", "1")], [("INCRBY", "k", "0")]),
    ([("SET", "k", "1")], [("GETDEL", "k")]),
    ([("SET", "k", "1")], [("GETSET", "k", "1")]),
    ([], [("MSET", "j", "1", "k", "2")]),
    ([], [("SETNX", "k", "1")]),
    ([], [("INCR", "k")]),
    ([], [("SET", "k", "1"), ("DEL", "k")]),               # absent before and after
    ([("SET", "k", "1")], [("RENAME", "k", "dst")]),       # source of a rename
    ([("SET", "src", "1")], [("RENAME", "src", "k")]),     # destination of a rename
    ([("SET", "src", "1")], [("COPY", "src", "k")]),
    ([("SET", "k", "1")], [("FLUSHDB",)]),
], ids=lambda v: "+".join(c[0] for c in v) if v and isinstance(v[0], tuple) else "none")
def test_watch_writes_abort(raw, r, setup, cmds):
    assert watched_exec(raw, cmds, setup=setup) == b"*-1\r\n"
    assert r.exists("out") == 0


@pytest.mark.parametrize("setup,cmds", [
    ([("SET", "k", "1")], [("GET", "k"), ("EXISTS", "k"), ("TTL", "k"), ("STRLEN", "k"),
                           ("TYPE", "k"), ("MGET", "k", "x")]),
    ([("SET", "k", "1")], [("SET", "k", "2", "NX")]),      # failed conditional set
    ([], [("SET", "k", "2", "XX")]),
    ([], [("DEL", "k")]),                                  # deleting a missing key
    ([("SET", "k", "1")], [("PERSIST", "k")]),             # no TTL: no-op
    ([("SET", "k", "abc")], [("INCR", "k")]),              # fails: not an integer
    ([], [("SET", "k2", "1"), ("DEL", "k2")]),             # a different key
    ([], [("SELECT", "1"), ("SET", "k", "1")]),            # same name, other db
    ([("SET", "k", "1")], [("SELECT", "1"), ("FLUSHDB",)]),  # flush of another db
    ([], [("FLUSHALL",)]),                                 # watched key did not exist
    ([], [("FLUSHDB",)]),
], ids=lambda v: "+".join(c[0] for c in v) if v and isinstance(v[0], tuple) else "none")
def test_watch_reads_and_noops_do_not_abort(raw, r, setup, cmds):
    assert watched_exec(raw, cmds, setup=setup) == b"*1\r\n+OK\r\n"
    assert r.get("out") == b"1"


def test_watch_multiple_keys_one_touched(raw, r):
    assert watched_exec(raw, [("SET", "c", "1")], watch=("a", "b", "c")) == b"*-1\r\n"


def test_watch_in_selected_db(raw, r):
    assert raw.call("SELECT", "1") == b"+OK\r\n"
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert other_cmd(raw, ("SET", "k", "db0")) == b"+OK\r\n"      # db 0: unrelated
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert other_cmd(raw, ("SELECT", "1")) == b"+OK\r\n"
    assert other_cmd(raw, ("SET", "k", "db1")) == b"+OK\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "2") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"
    assert raw.call("GET", "out") == b"$1\r\n1\r\n"


def test_watched_key_that_expires_aborts_exec(raw, r):
    r.set("k", "v", px=100)
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    time.sleep(0.25)
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"
    assert r.exists("out", "k") == 0


def test_watched_key_that_expires_and_is_read_aborts_exec(raw, r):
    r.set("k", "v", px=100)
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    time.sleep(0.25)
    assert r.get("k") is None  # the expired key is actually removed now
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"


def test_watched_key_that_expires_while_queueing_aborts_exec(raw, r):
    r.set("k", "v", px=100)
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    time.sleep(0.25)
    assert raw.call("EXEC") == b"*-1\r\n"
    assert r.exists("out") == 0


def test_watch_many_keys(raw, r):
    keys = ["w%d" % i for i in range(1000)]
    r.set("w500", "1")
    assert raw.call("WATCH", *keys) == b"+OK\r\n"
    assert raw.pipeline(("MULTI",), ("SET", "out", "1"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    assert raw.call("WATCH", *keys) == b"+OK\r\n"
    r.set("w999", "x")
    assert raw.pipeline(("MULTI",), ("SET", "out", "2"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*-1\r\n"
    assert r.get("out") == b"1"


def test_watched_key_with_ttl_still_alive_does_not_abort(raw, r):
    r.set("k", "v", px=5000)
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"


def test_key_already_expired_when_watched_does_not_abort(raw, r):
    r.set("k", "v", px=50)
    time.sleep(0.15)
    assert raw.call("WATCH", "k") == b"+OK\r\n"   # logically absent already
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"


def test_unwatch_clears_watches(raw, r):
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    r.set("k", "x")  # already dirty
    assert raw.call("UNWATCH") == b"+OK\r\n"
    r.set("k", "y")
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"


def test_unwatch_clears_watches_redis_py(r, other):
    with r.pipeline(transaction=True) as p:
        p.watch("k")
        p.unwatch()
        other.set("k", "x")
        p.multi()
        p.set("out", "1")
        assert p.execute() == [True]


def test_unwatch_inside_multi_is_queued(raw, r):
    """UNWATCH inside MULTI is queued like any command; EXEC checks the watches first."""
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    r.set("k", "x")
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("UNWATCH") == b"+QUEUED\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*-1\r\n"
    assert r.exists("out") == 0
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("UNWATCH") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"


def test_discard_clears_watches(raw, r):
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("DISCARD") == b"+OK\r\n"
    r.set("k", "x")
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "out", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"


def test_exec_clears_watches(raw, r):
    # successful EXEC
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert raw.pipeline(("MULTI",), ("EXEC",)) == b"+OK\r\n*0\r\n"
    r.set("k", "1")
    assert raw.pipeline(("MULTI",), ("SET", "out", "1"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    # aborted EXEC (watch conflict)
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    r.set("k", "2")
    assert raw.pipeline(("MULTI",), ("EXEC",)) == b"+OK\r\n*-1\r\n"
    r.set("k", "3")
    assert raw.pipeline(("MULTI",), ("SET", "out", "2"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    # EXECABORT
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("NOSUCH").startswith(b"-ERR unknown command")
    assert raw.call("EXEC") == EXECABORT
    r.set("k", "4")
    assert raw.pipeline(("MULTI",), ("SET", "out", "3"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    assert r.get("out") == b"3"


def test_execabort_wins_over_watch_conflict(raw, r):
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    r.set("k", "x")
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("NOSUCH").startswith(b"-ERR unknown command")
    assert raw.call("EXEC") == EXECABORT


def test_flushall_by_another_client_aborts_watching_exec(server, r, other):
    r.set("k", "1")
    with r.pipeline(transaction=True) as p:
        p.watch("k")
        other.flushall()
        p.multi()
        p.set("out", "1")
        with pytest.raises(redis.WatchError):
            p.execute()
    assert r.exists("out", "k") == 0


def test_flushall_does_not_abort_watch_on_missing_key(raw, r):
    """FLUSHALL only invalidates watched keys that existed (Redis touchAllWatchedKeysInDb)."""
    r.set("other", "1")
    assert watched_exec(raw, [("FLUSHALL",)], watch=("k",)) == b"*1\r\n+OK\r\n"
    assert r.keys("*") == [b"out"]


def test_cas_counter_with_concurrent_clients(server, r):
    """Optimistic-locking increments from several connections never lose an update."""
    r.set("counter", 0)
    workers, per_worker = 4, 40
    errors, conflicts = [], [0]

    def work():
        c = server.client()
        try:
            done = 0
            deadline = time.time() + 5
            while done < per_worker and time.time() < deadline:
                with c.pipeline(transaction=True) as p:
                    try:
                        p.watch("counter")
                        v = int(p.get("counter"))
                        p.multi()
                        p.set("counter", v + 1)
                        p.execute()
                        done += 1
                    except redis.WatchError:
                        conflicts[0] += 1
            if done < per_worker:
                errors.append("worker finished only %d" % done)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))
        finally:
            c.close()

    ts = [threading.Thread(target=work) for _ in range(workers)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert not errors
    assert r.get("counter") == str(workers * per_worker).encode()


def test_client_disconnecting_with_watches(server, r):
    r.set("k", "1")
    gone = [RespClient(server.port, replies="bytes") for _ in range(5)]
    for g in gone:
        assert g.call("WATCH", "k", "j") == b"+OK\r\n"
    survivor = RespClient(server.port, replies="bytes")
    try:
        assert survivor.call("WATCH", "k") == b"+OK\r\n"
        for g in gone[:3]:
            g.close()
        time.sleep(0.1)
        r.set("k", "2")  # touches the watches of the survivor and of the vanished clients
        for g in gone[3:]:
            assert g.pipeline(("MULTI",), ("EXEC",)) == b"+OK\r\n*-1\r\n"
            g.close()
        time.sleep(0.1)
        r.set("j", "3")
        assert survivor.pipeline(("MULTI",), ("SET", "out", "1"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*-1\r\n"
        # a fresh watch on the same key still works normally
        assert survivor.call("WATCH", "k") == b"+OK\r\n"
        assert survivor.pipeline(("MULTI",), ("SET", "out", "2"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    finally:
        survivor.close()
    assert r.get("out") == b"2"
    assert r.ping() is True
