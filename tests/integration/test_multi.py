"""Transactions: MULTI / EXEC / DISCARD (WATCH / UNWATCH are in test_watch.py).

Exact replies (raw RESP where the wire format matters), queue-time errors
(-EXECABORT), per-command runtime errors inside EXEC, isolation, SELECT inside a
transaction, big pipelines, atomicity as seen by a concurrent reader, and clients
that vanish mid-transaction.

Every expectation was checked against a real Redis first:
    SOLIDIS_BIN=/usr/bin/redis-server /usr/bin/python3 -m pytest -q tests/integration/test_multi.py
(redis-server 7.0.15 here; the transaction code paths exercised are the same in 7.2).
Only strings and generic key commands are used. The `raw` and `other` fixtures
are in conftest.py.
"""
import threading
import time

import pytest
import redis

from helpers import EXECABORT, RespClient, encode

NOT_INT = b"-ERR value is not an integer or out of range\r\n"


# --------------------------------------------------------------------------- helpers

def single(server):
    return server.client(single_connection_client=True)


# --------------------------------------------------------------------------- wire format

def test_multi_queued_exec_raw_one_at_a_time(raw):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call("GET", "missing") == b"+QUEUED\r\n"
    assert raw.call("INCR", "a") == b"+QUEUED\r\n"
    assert raw.call("PING") == b"+QUEUED\r\n"
    assert raw.call("ECHO", "hi") == b"+QUEUED\r\n"
    assert raw.call("GET", "a") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == (b"*6\r\n+OK\r\n$-1\r\n:2\r\n+PONG\r\n$2\r\nhi\r\n"
                                b"$1\r\n2\r\n")
    # back to normal mode
    assert raw.call("GET", "a") == b"$1\r\n2\r\n"


def test_multi_exec_pipelined_in_one_write(raw):
    out = raw.pipeline(("MULTI",), ("SET", "k", "v"), ("APPEND", "k", "w"),
                       ("GET", "k"), ("STRLEN", "k"), ("EXEC",), ("GET", "k"))
    assert out == (b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
                   b"*4\r\n+OK\r\n:2\r\n$2\r\nvw\r\n:2\r\n"
                   b"$2\r\nvw\r\n")


def test_empty_transaction(raw):
    assert raw.pipeline(("MULTI",), ("EXEC",)) == b"+OK\r\n*0\r\n"
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_exec_without_multi(raw):
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert raw.call("PING") == b"+PONG\r\n"


def test_discard_without_multi(raw):
    assert raw.call("DISCARD") == b"-ERR DISCARD without MULTI\r\n"
    assert raw.call("PING") == b"+PONG\r\n"


def test_discard_drops_the_queue(raw, r):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "k", "v") == b"+QUEUED\r\n"
    assert raw.call("INCR", "n") == b"+QUEUED\r\n"
    assert raw.call("DISCARD") == b"+OK\r\n"
    assert raw.call("GET", "k") == b"$-1\r\n"
    assert r.exists("k", "n") == 0
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert raw.call("DISCARD") == b"-ERR DISCARD without MULTI\r\n"
    # a new transaction works after DISCARD
    assert raw.pipeline(("MULTI",), ("SET", "k", "w"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    assert r.get("k") == b"w"


def test_nested_multi_is_an_error_but_the_transaction_survives(raw, r):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call("MULTI") == b"-ERR MULTI calls can not be nested\r\n"
    assert raw.call("SET", "b", "2") == b"+QUEUED\r\n"
    # the nested MULTI does not flag the transaction: EXEC runs both commands
    assert raw.call("EXEC") == b"*2\r\n+OK\r\n+OK\r\n"
    assert r.mget("a", "b") == [b"1", b"2"]


def test_watch_inside_multi_is_an_error_but_the_transaction_runs(raw, r):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call("WATCH", "x") == b"-ERR WATCH inside MULTI is not allowed\r\n"
    assert raw.call("SET", "b", "2") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*2\r\n+OK\r\n+OK\r\n"
    assert r.mget("a", "b") == [b"1", b"2"]
    # and the refused WATCH did not watch anything: touching x changes nothing
    assert raw.call("MULTI") == b"+OK\r\n"
    r.set("x", "changed")
    assert raw.call("SET", "c", "3") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"
    assert r.get("c") == b"3"


def test_transaction_commands_with_wrong_arity(raw):
    assert raw.call("MULTI", "x") == b"-ERR wrong number of arguments for 'multi' command\r\n"
    assert raw.call("WATCH") == b"-ERR wrong number of arguments for 'watch' command\r\n"
    assert raw.call("PING") == b"+PONG\r\n"


def test_transaction_commands_with_wrong_arity_outside_multi(raw, r):
    # The arity check comes before "without MULTI"; a rejected EXEC is an EXECABORT.
    assert raw.call("EXEC", "x") == (b"-EXECABORT Transaction discarded because of: "
                                     b"wrong number of arguments for 'exec' command\r\n")
    assert raw.call("DISCARD", "x") == b"-ERR wrong number of arguments for 'discard' command\r\n"
    assert raw.call("UNWATCH", "x") == b"-ERR wrong number of arguments for 'unwatch' command\r\n"
    # UNWATCH x did not drop the watch: the transaction still aborts.
    assert raw.call("WATCH", "w") == b"+OK\r\n"
    assert raw.call("UNWATCH", "x").startswith(b"-ERR wrong number")
    r.set("w", "changed")
    assert raw.pipeline(("MULTI",), ("SET", "w", "mine"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*-1\r\n"
    assert r.get("w") == b"changed"


# --------------------------------------------------------------------------- queue-time errors

def test_unknown_command_inside_multi_aborts_exec(raw, r):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call("NOSUCHCMD", "x") == (
        b"-ERR unknown command 'NOSUCHCMD', with args beginning with: 'x' \r\n")
    assert raw.call("SET", "b", "2") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == EXECABORT
    assert r.mget("a", "b") == [None, None]
    # the transaction is over
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "x") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == b"*1\r\n+OK\r\n"
    assert r.get("a") == b"x"


@pytest.mark.parametrize("cmd", [("SAVE",), ("SHUTDOWN", "NOSAVE")])
def test_no_multi_commands_are_refused_and_abort_exec(raw, r, cmd):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call(*cmd) == b"-ERR Command not allowed inside a transaction\r\n"
    assert raw.call("EXEC") == EXECABORT
    assert r.get("a") is None
    assert raw.call("PING") == b"+PONG\r\n"  # the server is still up


@pytest.mark.parametrize("bad,err", [
    (("GET",), b"-ERR wrong number of arguments for 'get' command\r\n"),
    (("SET", "k"), b"-ERR wrong number of arguments for 'set' command\r\n"),
    (("INCR", "a", "b"), b"-ERR wrong number of arguments for 'incr' command\r\n"),
    (("EXPIRE", "k"), b"-ERR wrong number of arguments for 'expire' command\r\n"),
], ids=["GET", "SET", "INCR", "EXPIRE"])
def test_wrong_arity_inside_multi_aborts_exec(raw, r, bad, err):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call(*bad) == err
    assert raw.call("SET", "b", "2") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == EXECABORT
    assert r.exists("a", "b") == 0


def test_redis_py_pipeline_reports_execabort(server, r):
    p = r.pipeline(transaction=True)
    p.set("a", "1")
    p.execute_command("NOSUCHCMD")
    p.set("b", "2")
    # redis-py re-raises the queue-time error after EXEC answered -EXECABORT
    with pytest.raises(redis.ResponseError, match="unknown command 'NOSUCHCMD'"):
        p.execute()
    assert r.exists("a", "b") == 0


def test_discard_after_a_queue_error(raw, r):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("NOSUCH").startswith(b"-ERR unknown command 'NOSUCH'")
    assert raw.call("DISCARD") == b"+OK\r\n"
    assert raw.call("SET", "k", "v") == b"+OK\r\n"
    assert r.get("k") == b"v"


@pytest.mark.parametrize("bad,err", [
    (("MULTI", "x"), b"-ERR wrong number of arguments for 'multi' command\r\n"),
    (("WATCH",), b"-ERR wrong number of arguments for 'watch' command\r\n"),
    (("UNWATCH", "x"), b"-ERR wrong number of arguments for 'unwatch' command\r\n"),
    (("DISCARD", "x"), b"-ERR wrong number of arguments for 'discard' command\r\n"),
], ids=["MULTI", "WATCH", "UNWATCH", "DISCARD"])
def test_transaction_command_with_wrong_arity_inside_multi_flags_it(raw, r, bad, err):
    """Arity is checked before the command's own MULTI logic, so e.g. MULTI x inside
    MULTI is an arity error (not 'can not be nested') and it flags the transaction."""
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call(*bad) == err
    assert raw.call("EXEC") == EXECABORT
    assert r.exists("a") == 0
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"


def test_exec_with_arguments_inside_multi_aborts(raw, r):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "a", "1") == b"+QUEUED\r\n"
    assert raw.call("EXEC", "x") == (
        b"-EXECABORT Transaction discarded because of: "
        b"wrong number of arguments for 'exec' command\r\n")
    assert r.exists("a") == 0
    assert raw.call("EXEC") == b"-ERR EXEC without MULTI\r\n"


# --------------------------------------------------------------------------- runtime errors

def test_runtime_errors_are_per_command(raw, r):
    r.set("s", "abc")
    assert raw.call("MULTI") == b"+OK\r\n"
    for c in (("SET", "a", "1"), ("INCR", "s"), ("INCR", "a"), ("SET", "b", "x", "y"),
              ("SET", "c", "3"), ("GET", "a")):
        assert raw.call(*c) == b"+QUEUED\r\n"
    assert raw.call("EXEC") == (b"*6\r\n+OK\r\n" + NOT_INT + b":2\r\n-ERR syntax error\r\n"
                                b"+OK\r\n$1\r\n2\r\n")
    assert r.mget("a", "b", "c", "s") == [b"2", None, b"3", b"abc"]


def test_runtime_option_errors_are_queued_then_fail(raw, r):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "k", "v", "EX", "0") == b"+QUEUED\r\n"
    assert raw.call("SET", "k", "v", "EX", "abc") == b"+QUEUED\r\n"
    assert raw.call("SET", "k", "ok") == b"+QUEUED\r\n"
    assert raw.call("INCRBY", "k2", "notanumber") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == (b"*4\r\n-ERR invalid expire time in 'set' command\r\n"
                                + NOT_INT + b"+OK\r\n" + NOT_INT)
    assert r.get("k") == b"ok"
    assert r.exists("k2") == 0


def test_runtime_error_via_redis_py_pipeline(r):
    r.set("s", "abc")
    p = r.pipeline(transaction=True)
    p.set("a", "1").incr("s").incr("a").get("a")
    res = p.execute(raise_on_error=False)
    assert res[0] is True
    assert isinstance(res[1], redis.ResponseError)
    assert str(res[1]) == "value is not an integer or out of range"
    assert res[2:] == [2, b"2"]
    # with raise_on_error (default) the error is raised, but the other commands applied
    r.delete("a")
    p = r.pipeline(transaction=True)
    p.set("a", "1").incr("s").incr("a")
    with pytest.raises(redis.ResponseError):
        p.execute()
    assert r.get("a") == b"2"
    assert r.get("s") == b"abc"


# --------------------------------------------------------------------------- isolation

def test_queued_commands_are_invisible_until_exec(raw, other):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("SET", "k", "v") == b"+QUEUED\r\n"
    assert raw.call("INCR", "n") == b"+QUEUED\r\n"
    assert other.get("k") is None
    assert other.exists("n") == 0
    assert raw.call("EXEC") == b"*2\r\n+OK\r\n:1\r\n"
    assert other.get("k") == b"v"
    assert other.get("n") == b"1"


def test_queued_commands_see_state_at_exec_time(raw, other):
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("INCR", "n") == b"+QUEUED\r\n"
    assert raw.call("GET", "k") == b"+QUEUED\r\n"
    other.set("n", "41")
    other.set("k", "late")
    assert raw.call("EXEC") == b"*2\r\n:42\r\n$4\r\nlate\r\n"


def test_two_clients_queue_interleaved(server, r):
    a, b = RespClient(server.port, replies="bytes"), RespClient(server.port, replies="bytes")
    try:
        assert a.call("MULTI") == b"+OK\r\n"
        assert b.call("MULTI") == b"+OK\r\n"
        assert a.call("SET", "k", "a") == b"+QUEUED\r\n"
        assert b.call("SET", "k", "b") == b"+QUEUED\r\n"
        assert a.call("INCR", "n") == b"+QUEUED\r\n"
        assert b.call("INCR", "n") == b"+QUEUED\r\n"
        assert b.call("GET", "k") == b"+QUEUED\r\n"
        assert b.call("EXEC") == b"*3\r\n+OK\r\n:1\r\n$1\r\nb\r\n"
        assert a.call("GET", "k") == b"+QUEUED\r\n"
        assert a.call("EXEC") == b"*3\r\n+OK\r\n:2\r\n$1\r\na\r\n"
        assert r.get("k") == b"a"
    finally:
        a.close()
        b.close()


def test_key_commands_inside_multi(raw):
    out = raw.pipeline(("MULTI",), ("SET", "k", "v"), ("EXPIRE", "k", "100"), ("TTL", "k"),
                       ("EXISTS", "k", "k2"), ("DEL", "k"), ("TYPE", "k"), ("DBSIZE",),
                       ("EXEC",))
    assert out == (b"+OK\r\n" + b"+QUEUED\r\n" * 7 +
                   b"*7\r\n+OK\r\n:1\r\n:100\r\n:1\r\n:1\r\n+none\r\n:0\r\n")


def test_flushall_inside_multi(raw, r):
    r.set("q", "1")
    out = raw.pipeline(("MULTI",), ("SET", "before", "1"), ("FLUSHALL",), ("GET", "q"),
                       ("SET", "after", "1"), ("EXEC",))
    assert out == b"+OK\r\n" + b"+QUEUED\r\n" * 4 + b"*4\r\n+OK\r\n+OK\r\n$-1\r\n+OK\r\n"
    assert r.keys("*") == [b"after"]


def test_big_value_in_transaction(raw, r):
    big = b"x" * (1 << 20)
    out = raw.pipeline(("MULTI",), ("SET", "big", big), ("GET", "big"), ("STRLEN", "big"),
                       ("EXEC",))
    assert out == (b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+OK\r\n$1048576\r\n" + big
                   + b"\r\n:1048576\r\n")
    assert r.strlen("big") == 1 << 20


# --------------------------------------------------------------------------- SELECT

def test_select_inside_multi_applies_to_following_commands(raw, r):
    out = raw.pipeline(("MULTI",), ("SET", "k", "db0"), ("SELECT", "1"), ("SET", "k", "db1"),
                       ("GET", "k"), ("EXEC",))
    assert out == (b"+OK\r\n" + b"+QUEUED\r\n" * 4 +
                   b"*4\r\n+OK\r\n+OK\r\n+OK\r\n$3\r\ndb1\r\n")
    # still on db 1 after EXEC
    assert raw.call("GET", "k") == b"$3\r\ndb1\r\n"
    assert r.get("k") == b"db0"
    assert raw.call("SELECT", "0") == b"+OK\r\n"
    assert raw.call("GET", "k") == b"$3\r\ndb0\r\n"


def test_select_inside_multi_redis_py(server, r):
    c = server.client()
    try:
        p = c.pipeline(transaction=True)
        p.select(2).set("k", "two").get("k")
        assert p.execute() == [True, True, b"two"]
        # the pipeline's connection went back to the pool still on db 2
        conn = c.connection_pool.get_connection("GET")
        try:
            conn.send_command("GET", "k")
            assert conn.read_response() == b"two"
        finally:
            c.connection_pool.release(conn)
        assert r.get("k") is None         # db 0 untouched
        with server.client(db=2) as d2:
            assert d2.get("k") == b"two"
    finally:
        c.close()


def test_select_errors_inside_multi_are_runtime_errors(raw, r):
    out = raw.pipeline(("MULTI",), ("SELECT", "99"), ("SELECT", "x"), ("SET", "k", "v"),
                       ("EXEC",))
    assert out == (b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n"
                   b"*3\r\n-ERR DB index is out of range\r\n" + NOT_INT + b"+OK\r\n")
    assert r.get("k") == b"v"  # still db 0


def test_select_in_discarded_or_aborted_transaction_does_not_apply(raw, r):
    r.set("k", "db0")
    assert raw.pipeline(("MULTI",), ("SELECT", "1"), ("DISCARD",)) == b"+OK\r\n+QUEUED\r\n+OK\r\n"
    assert raw.call("GET", "k") == b"$3\r\ndb0\r\n"
    assert raw.pipeline(("MULTI",), ("SELECT", "1"), ("NOSUCH",), ("EXEC",)).endswith(EXECABORT)
    assert raw.call("GET", "k") == b"$3\r\ndb0\r\n"
    assert raw.call("WATCH", "k") == b"+OK\r\n"
    r.set("k", "db0b")
    assert raw.pipeline(("MULTI",), ("SELECT", "1"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*-1\r\n"
    assert raw.call("GET", "k") == b"$4\r\ndb0b\r\n"


# --------------------------------------------------------------------------- redis-py pipelines

def test_pipeline_transaction_1000_incrs(r):
    p = r.pipeline(transaction=True)
    for _ in range(1000):
        p.incr("n")
    res = p.execute()
    assert res == list(range(1, 1001))
    assert r.get("n") == b"1000"


def test_pipeline_transaction_mixed_results(r):
    r.set("s", "hello")
    p = r.pipeline(transaction=True)
    p.set("a", "1").get("a").get("missing").incrby("a", 5).append("s", " world")
    p.exists("a", "s", "missing").delete("a").strlen("s").getrange("s", 0, 4)
    assert p.execute() == [True, b"1", None, 6, 11, 2, 1, 11, b"hello"]


# --------------------------------------------------------------------------- atomicity

def test_readers_never_see_a_half_applied_transaction(server, r):
    r.mset({"a": 0, "b": 0})
    stop = threading.Event()
    writer_errors, txs = [], [0]

    def writer():
        w = RespClient(server.port, replies="bytes")
        try:
            i = 0
            while not stop.is_set():
                i += 1
                out = w.pipeline(("MULTI",), ("SET", "a", i), ("SET", "b", i), ("EXEC",))
                if out != b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n+OK\r\n":
                    writer_errors.append(out)
                    return
                txs[0] = i
        finally:
            w.close()

    t = threading.Thread(target=writer)
    t.start()
    reader = single(server)
    bad, reads, distinct = [], 0, set()
    try:
        deadline = time.time() + 1.5
        while time.time() < deadline:
            a, b = reader.mget("a", "b")
            reads += 1
            distinct.add(a)
            if a != b:
                bad.append((a, b))
            # also a read-only transaction must be consistent
            if reads % 10 == 0:
                p = reader.pipeline(transaction=True)
                a2, b2 = p.get("a").get("b").execute()
                if a2 != b2:
                    bad.append(("multi", a2, b2))
    finally:
        stop.set()
        t.join(10)
        reader.close()
    assert not writer_errors
    assert not bad, bad[:5]
    assert txs[0] > 10 and reads > 10
    assert len(distinct) > 1  # the reader really saw the writer progress
    assert r.get("a") == r.get("b") == str(txs[0]).encode()


# --------------------------------------------------------------------------- disconnects

def test_client_disconnecting_with_queued_commands(server, r):
    c = RespClient(server.port, replies="bytes")
    assert c.pipeline(("MULTI",), ("SET", "k", "v"), ("INCR", "n")) == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n"
    c.close()
    time.sleep(0.1)
    assert r.exists("k", "n") == 0
    # others unaffected, transactions still work
    other = RespClient(server.port, replies="bytes")
    try:
        assert other.pipeline(("MULTI",), ("SET", "k", "w"), ("EXEC",)) == b"+OK\r\n+QUEUED\r\n*1\r\n+OK\r\n"
    finally:
        other.close()
    assert r.get("k") == b"w"


def test_client_disconnecting_right_after_exec_is_all_or_nothing(server, r):
    n = 200
    for round_ in range(5):
        c = RespClient(server.port, replies="bytes")
        cmds = [("MULTI",)] + [("SET", "k%d" % i, round_) for i in range(n)] + [("EXEC",)]
        c.send(b"".join(encode(*x) for x in cmds))
        c.close()
        time.sleep(0.05)
        vals = set(r.mget(["k%d" % i for i in range(n)]))
        assert len(vals) == 1, "partial transaction seen: %r" % sorted(vals, key=repr)[:5]
    assert r.ping() is True


# --------------------------------------------------------------------------- introspection / other commands

def test_client_list_shows_multi_state(server, raw, other):
    assert raw.call("CLIENT", "SETNAME", "txclient") == b"+OK\r\n"
    assert raw.pipeline(("MULTI",), ("SET", "a", "1"), ("SET", "b", "2")) == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n"
    line = [l for l in other.client_list() if l["name"] == "txclient"][0]
    assert "x" in line["flags"]
    assert line["multi"] == "2"
    assert raw.call("EXEC") == b"*2\r\n+OK\r\n+OK\r\n"
    line = [l for l in other.client_list() if l["name"] == "txclient"][0]
    assert "x" not in line["flags"]
    assert line["multi"] == "-1"


def test_connection_commands_inside_multi(raw):
    out = raw.pipeline(("MULTI",), ("CLIENT", "SETNAME", "foo"), ("CLIENT", "GETNAME"),
                       ("EXEC",))
    assert out == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n+OK\r\n$3\r\nfoo\r\n"
    assert raw.call("CLIENT", "GETNAME") == b"$3\r\nfoo\r\n"


def test_info_inside_multi(raw):
    assert raw.pipeline(("MULTI",), ("INFO", "server")) == b"+OK\r\n+QUEUED\r\n"
    out = raw.call("EXEC")
    assert out.startswith(b"*1\r\n$")
    assert b"redis_version:" in out
