"""Keyspace notifications of the write commands beyond the basics of
test_notify.py: in-place list writes, moves and multi-key pops, SPOP SMOVE
and the set STORE forms, ZREMRANGEBY*, the zset pops and STORE forms, HINCRBY*
and HSETNX, INCR*/APPEND/SETRANGE/GETEX/GETDEL, MOVE, COPY and the EXPIRE
variants, and Redis 7.4's hash-field expiry events (Solidis only here: the
reference redis-server is 7.0).

Each test runs commands and compares the events they produced, in order,
with what redis-server 7.0.15 emits for them (checked with
SOLIDIS_BIN=/usr/bin/redis-server): the event name, the key, the database,
and that nothing is emitted for a command that changed nothing. Every event
must arrive on both channels, __keyspace@<db>__:<key> and
__keyevent@<db>__:<event>, in the same order.
"""
import time

import pytest

from conftest import IS_REDIS
from helpers import RespClient, wait_for

SENTINEL = "ks-more-sentinel"
solidis_only = pytest.mark.skipif(IS_REDIS, reason="hash field TTLs are Redis 7.4 (reference is 7.0)")


class Events:
    """A subscriber to every keyspace and keyevent channel of every database."""

    def __init__(self, server):
        self.conn = server.client()
        self.ps = self.conn.pubsub()
        self.ps.psubscribe("__keyspace@*__:*", "__keyevent@*__:*")
        self.ps.subscribe(SENTINEL)
        for _ in range(3):
            assert self.ps.get_message(timeout=2)["type"] in ("psubscribe", "subscribe")

    def read(self, r, timeout=5.0):
        """Everything emitted so far: [(db, key, event)] from the keyspace
        channels, after checking the keyevent channels said the same. A
        PUBLISH to the sentinel channel marks the end: events are published
        before the replies of their commands, so all of them come first."""
        r.publish(SENTINEL, "end")
        ks, ke = [], []
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self.ps.get_message(timeout=0.5)
            if not m or m["type"] not in ("message", "pmessage"):
                continue
            ch = m["channel"].decode()
            if ch == SENTINEL:
                assert ks == ke, (ks, ke)
                return ks
            prefix, name = ch.split("__:", 1)
            kind, db = prefix[2:].split("@")
            if kind == "keyspace":
                ks.append((int(db), name, m["data"].decode()))
            else:
                ke.append((int(db), m["data"].decode(), name))
        raise AssertionError("no sentinel; got %r / %r" % (ks, ke))

    def wait(self, want, timeout=5.0):
        """For background events (the sweeper): read until `want` keyspace
        events arrived or the time is up."""
        got = []
        deadline = time.time() + timeout
        while len(got) < want and time.time() < deadline:
            m = self.ps.get_message(timeout=0.1)
            if m and m["type"] == "pmessage" and m["channel"].startswith(b"__keyspace@"):
                name = m["channel"].decode().split("__:", 1)[1]
                got.append((name, m["data"].decode()))
        return got

    def close(self):
        self.ps.close()
        self.conn.close()


@pytest.fixture
def ev(server, r):
    r.config_set("notify-keyspace-events", "KEA")
    e = Events(server)
    yield e
    e.close()
    r.config_set("notify-keyspace-events", "")


def db0(events):
    """[(key, event)] of database 0 (asserting nothing came from another)."""
    assert all(db == 0 for db, _, _ in events), events
    return [(k, e) for _, k, e in events]


def run(r, ev, *cmds):
    """Run commands (errors are returned, not raised) and return their db 0 events."""
    for c in cmds:
        try:
            r.execute_command(*c)
        except Exception:  # noqa: BLE001 - a failing command must emit nothing
            pass
    return db0(ev.read(r))


# --------------------------------------------------------------------------- lists

def test_lset_ltrim_linsert_lrem(r, ev):
    r.rpush("l", "a", "b", "a", "c")
    ev.read(r)
    assert run(r, ev, ("LSET", "l", "0", "x"), ("LSET", "l", "-1", "c"), ("LSET", "l", "9", "x")) == \
        [("l", "lset"), ("l", "lset")]  # same value still "lset"; out of range nothing
    # LTRIM announces every trim of an existing list, even a no-op
    assert run(r, ev, ("LTRIM", "l", "0", "-1"), ("LTRIM", "missing", "0", "1")) == [("l", "ltrim")]
    assert run(r, ev, ("LINSERT", "l", "BEFORE", "b", "y"), ("LINSERT", "l", "AFTER", "zz", "y"),
               ("LINSERT", "missing", "BEFORE", "a", "y")) == [("l", "linsert")]
    assert r.lrange("l", 0, -1) == [b"x", b"y", b"b", b"a", b"c"]
    assert run(r, ev, ("LREM", "l", "0", "zz"), ("LREM", "l", "-1", "a"), ("LREM", "missing", "0", "a")) == \
        [("l", "lrem")]
    # emptying: the type's event, then "del"
    assert run(r, ev, ("LTRIM", "l", "5", "10")) == [("l", "ltrim"), ("l", "del")]
    assert r.exists("l") == 0
    r.rpush("m", "a", "a")
    ev.read(r)
    assert run(r, ev, ("LREM", "m", "0", "a")) == [("m", "lrem"), ("m", "del")]


def test_lmove_and_rpoplpush(r, ev):
    r.rpush("s", "a", "b")
    r.rpush("d", "x")
    ev.read(r)
    # the push on the destination comes first, then the pop on the source
    assert run(r, ev, ("LMOVE", "s", "d", "LEFT", "RIGHT")) == [("d", "rpush"), ("s", "lpop")]
    assert run(r, ev, ("RPOPLPUSH", "s", "new")) == [("new", "lpush"), ("s", "rpop"), ("s", "del")]
    assert r.lrange("new", 0, -1) == [b"b"] and r.lrange("d", 0, -1) == [b"x", b"a"]
    # rotating one list: both events on the same key, no "del"
    assert run(r, ev, ("LMOVE", "d", "d", "RIGHT", "LEFT")) == [("d", "lpush"), ("d", "rpop")]
    assert r.lrange("d", 0, -1) == [b"a", b"x"]
    # nothing moved: nothing said (missing source, wrong-type destination)
    r.set("str", "v")
    ev.read(r)
    assert run(r, ev, ("LMOVE", "missing", "d", "LEFT", "LEFT"), ("LMOVE", "d", "str", "LEFT", "LEFT"),
               ("RPOPLPUSH", "missing", "d")) == []
    assert r.llen("d") == 2


def test_multi_key_pops(r, ev):
    r.rpush("a", "1", "2", "3")
    ev.read(r)
    assert run(r, ev, ("LMPOP", "2", "none", "a", "RIGHT", "COUNT", "2")) == [("a", "rpop")]
    assert run(r, ev, ("LPOP", "a", "0"), ("LMPOP", "1", "none", "LEFT")) == []
    assert run(r, ev, ("BLPOP", "none", "a", "0")) == [("a", "lpop"), ("a", "del")]
    r.rpush("b", "1", "2")
    ev.read(r)
    assert run(r, ev, ("BRPOP", "b", "0"), ("LPOP", "b", "5")) == [("b", "rpop"), ("b", "lpop"), ("b", "del")]


def blocked_then(server, r, block_cmd, *cmds):
    """Block a client on block_cmd, run cmds once it waits, return its reply."""
    c = RespClient(server.port)
    try:
        c.send_command(*block_cmd)
        assert wait_for(lambda: r.info("clients")["blocked_clients"] == 1)
        for cmd in cmds:
            r.execute_command(*cmd)
        return c.reply()
    finally:
        c.close()


def test_served_blocked_pops(server, r, ev):
    assert blocked_then(server, r, ("BLMOVE", "s", "d", "RIGHT", "LEFT", "5"), ("RPUSH", "s", "a")) == b"a"
    assert db0(ev.read(r)) == [("s", "rpush"), ("d", "lpush"), ("s", "rpop"), ("s", "del")]
    assert blocked_then(server, r, ("BLPOP", "q", "5"), ("RPUSH", "q", "a", "b")) == [b"q", b"a"]
    assert db0(ev.read(r)) == [("q", "rpush"), ("q", "lpop")]
    assert blocked_then(server, r, ("BZPOPMAX", "z", "5"), ("ZADD", "z", "1", "m")) == [b"z", b"m", b"1"]
    assert db0(ev.read(r)) == [("z", "zadd"), ("z", "zpopmax"), ("z", "del")]


# --------------------------------------------------------------------------- sets

def test_spop(r, ev):
    r.sadd("s", "a", "b", "c", "d")
    ev.read(r)
    assert run(r, ev, ("SPOP", "s"), ("SPOP", "s", "0"), ("SPOP", "s", "2"), ("SPOP", "missing")) == \
        [("s", "spop"), ("s", "spop")]
    assert r.scard("s") == 1
    assert run(r, ev, ("SPOP", "s")) == [("s", "spop"), ("s", "del")]
    r.sadd("t", "a", "b")
    ev.read(r)
    assert run(r, ev, ("SPOP", "t", "5")) == [("t", "spop"), ("t", "del")]


def test_smove(r, ev):
    r.sadd("s", "a", "b")
    r.sadd("d", "b")
    ev.read(r)
    assert run(r, ev, ("SMOVE", "s", "d", "a")) == [("s", "srem"), ("d", "sadd")]
    # already in the destination: only the source changes (and goes)
    assert run(r, ev, ("SMOVE", "s", "d", "b")) == [("s", "srem"), ("s", "del")]
    assert r.smembers("d") == {b"a", b"b"}
    r.set("str", "v")
    ev.read(r)
    assert run(r, ev, ("SMOVE", "d", "d", "a"), ("SMOVE", "d", "x", "zz"), ("SMOVE", "d", "str", "a")) == []
    assert run(r, ev, ("SMOVE", "d", "fresh", "a")) == [("d", "srem"), ("fresh", "sadd")]


def test_set_store_forms(r, ev):
    r.sadd("a", "1", "2")
    r.sadd("b", "2", "3")
    r.set("dst", "x")
    ev.read(r)
    assert run(r, ev, ("SINTERSTORE", "dst", "a", "b"), ("SUNIONSTORE", "u", "a", "b"),
               ("SDIFFSTORE", "df", "a", "b")) == [("dst", "sinterstore"), ("u", "sunionstore"), ("df", "sdiffstore")]
    assert r.smembers("dst") == {b"2"} and r.smembers("df") == {b"1"}
    # an empty result deletes an existing destination ("del"), else says nothing
    assert run(r, ev, ("SDIFFSTORE", "dst", "b", "b"), ("SINTERSTORE", "none", "a", "missing"),
               ("SUNIONSTORE", "none", "x", "y")) == [("dst", "del")]
    # the destination among the sources
    assert run(r, ev, ("SINTERSTORE", "a", "a", "b")) == [("a", "sinterstore")]
    assert r.smembers("a") == {b"2"}


# --------------------------------------------------------------------------- sorted sets

def test_zremrange(r, ev):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    ev.read(r)
    assert run(r, ev, ("ZREMRANGEBYSCORE", "z", "10", "20"), ("ZREMRANGEBYSCORE", "z", "1", "1"),
               ("ZREMRANGEBYRANK", "z", "0", "0"), ("ZREMRANGEBYRANK", "z", "5", "6"),
               ("ZREMRANGEBYLEX", "z", "[x", "[z")) == [("z", "zremrangebyscore"), ("z", "zremrangebyrank")]
    assert run(r, ev, ("ZREMRANGEBYLEX", "z", "-", "+")) == [("z", "zremrangebylex"), ("z", "del")]


def test_zpops(r, ev):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    ev.read(r)
    assert run(r, ev, ("ZPOPMIN", "z"), ("ZPOPMAX", "z", "0"), ("ZPOPMAX", "z", "2"), ("ZPOPMIN", "missing")) == \
        [("z", "zpopmin"), ("z", "zpopmax")]
    assert run(r, ev, ("BZPOPMIN", "missing", "z", "0")) == [("z", "zpopmin"), ("z", "del")]
    r.zadd("y", {"a": 1, "b": 2})
    ev.read(r)
    assert run(r, ev, ("ZMPOP", "1", "y", "MAX"), ("ZMPOP", "1", "y", "MIN", "COUNT", "5"),
               ("ZMPOP", "1", "y", "MIN")) == [("y", "zpopmax"), ("y", "zpopmin"), ("y", "del")]


def test_zset_store_forms(r, ev):
    r.zadd("a", {"x": 1, "y": 2})
    r.zadd("b", {"y": 1})
    r.sadd("s", "x")
    r.set("d", "string")
    ev.read(r)
    assert run(r, ev, ("ZUNIONSTORE", "d", "2", "a", "b"), ("ZINTERSTORE", "i", "2", "a", "s"),
               ("ZDIFFSTORE", "df", "2", "a", "b"), ("ZRANGESTORE", "rg", "a", "(1", "+inf", "BYSCORE")) == \
        [("d", "zunionstore"), ("i", "zinterstore"), ("df", "zdiffstore"), ("rg", "zrangestore")]
    assert r.zrange("rg", 0, -1) == [b"y"]
    # empty results: "del" for an existing destination only
    assert run(r, ev, ("ZINTERSTORE", "d", "2", "a", "missing"), ("ZDIFFSTORE", "df", "2", "a", "a"),
               ("ZRANGESTORE", "rg", "a", "5", "6"), ("ZRANGESTORE", "none", "missing", "0", "-1")) == \
        [("d", "del"), ("df", "del"), ("rg", "del")]


# --------------------------------------------------------------------------- hashes

def test_hash_increments_and_hsetnx(r, ev):
    assert run(r, ev, ("HINCRBY", "h", "f", "1"), ("HINCRBYFLOAT", "h", "g", "1.5"),
               ("HSETNX", "h", "f", "x"), ("HSETNX", "h", "n", "x"), ("HSETNX", "new", "f", "x")) == \
        [("h", "hincrby"), ("h", "hincrbyfloat"), ("h", "hset"), ("new", "hset")]
    r.hset("bad", "f", "abc")
    ev.read(r)
    assert run(r, ev, ("HINCRBY", "bad", "f", "1"), ("HINCRBYFLOAT", "bad", "f", "1")) == []


def test_hdel_emptying_the_hash(r, ev):
    r.hset("h", mapping={"f": 1, "g": 2})
    ev.read(r)
    assert run(r, ev, ("HDEL", "h", "zz"), ("HDEL", "missing", "f"), ("HDEL", "h", "f")) == [("h", "hdel")]
    assert run(r, ev, ("HDEL", "h", "g", "zz")) == [("h", "hdel"), ("h", "del")]


# --------------------------------------------------------------------------- strings

def test_string_writes(r, ev):
    assert run(r, ev, ("INCR", "n"), ("DECRBY", "n", "3"), ("DECR", "n"), ("INCRBY", "n", "0"),
               ("INCRBYFLOAT", "n", "1.5")) == [("n", "incrby")] * 4 + [("n", "incrbyfloat")]
    # APPEND: "append" also when it creates the key, and for an empty suffix
    assert run(r, ev, ("APPEND", "a", "x"), ("APPEND", "a", "")) == [("a", "append"), ("a", "append")]
    # SETRANGE with nothing to write changes nothing
    assert run(r, ev, ("SETRANGE", "s", "0", ""), ("SETRANGE", "s", "2", "ab"), ("SETRANGE", "s", "0", "")) == \
        [("s", "setrange")]
    r.set("bad", "abc")
    ev.read(r)
    assert run(r, ev, ("INCR", "bad"), ("INCRBYFLOAT", "bad", "1")) == []


def test_getex_getdel(r, ev):
    r.set("k", "v")
    r.set("p", "v")
    ev.read(r)
    assert run(r, ev, ("GETEX", "k", "EX", "100"), ("GETEX", "k", "PERSIST"), ("GETEX", "k", "PERSIST"),
               ("GETEX", "k"), ("GETEX", "missing", "EX", "10")) == [("k", "expire"), ("k", "persist")]
    assert r.ttl("k") == -1
    assert run(r, ev, ("GETEX", "k", "PXAT", "1"), ("GETDEL", "p"), ("GETDEL", "p")) == [("k", "del"), ("p", "del")]
    assert r.exists("k", "p") == 0


# --------------------------------------------------------------------------- keys

def test_move_and_copy(r, ev):
    r.set("k", "v")
    r.rpush("l", "a")
    r.set("y", "old")
    ev.read(r)
    r.execute_command("MOVE", "k", "3")
    assert ev.read(r) == [(0, "k", "move_from"), (3, "k", "move_to")]
    r.execute_command("MOVE", "missing", "3")
    assert ev.read(r) == []
    assert r.execute_command("COPY", "l", "y") == 0  # exists, no REPLACE
    assert ev.read(r) == []
    r.execute_command("COPY", "l", "y", "REPLACE")
    r.execute_command("COPY", "l", "l", "DB", "2")
    assert ev.read(r) == [(0, "y", "copy_to"), (2, "l", "copy_to")]
    assert r.lrange("y", 0, -1) == [b"a"]
    assert r.exists("k") == 0


def test_expire_variants(r, ev):
    r.set("k", "v")
    ev.read(r)
    assert run(r, ev, ("EXPIRE", "k", "10", "XX"), ("EXPIRE", "k", "10", "GT"),  # no TTL yet: both refused
               ("PEXPIREAT", "k", "99999999999999", "NX"), ("EXPIRE", "k", "5", "GT"),
               ("EXPIRE", "k", "30", "LT"), ("PERSIST", "k"), ("PERSIST", "k"),
               ("EXPIRE", "missing", "10")) == [("k", "expire"), ("k", "expire"), ("k", "persist")]
    # a time in the past deletes the key: "del", not "expire"
    assert run(r, ev, ("EXPIREAT", "k", "1")) == [("k", "del")]
    r.set("j", "v")
    ev.read(r)
    assert run(r, ev, ("PEXPIRE", "j", "-1")) == [("j", "del")]


def test_events_inside_multi(r, ev):
    p = r.pipeline(transaction=True)
    p.rpush("l", "a")
    p.lset("l", 0, "b")
    p.ltrim("l", 1, 0)
    p.sadd("s", "m")
    p.spop("s")
    p.execute()
    assert db0(ev.read(r)) == [("l", "rpush"), ("l", "lset"), ("l", "ltrim"), ("l", "del"),
                               ("s", "sadd"), ("s", "spop"), ("s", "del")]


# --------------------------------------------------------------------------- hash field TTLs (Redis 7.4)

@solidis_only
def test_hexpire_hpersist_events(r, ev):
    r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    ev.read(r)
    assert r.execute_command("HEXPIRE", "h", "100", "FIELDS", "2", "a", "zz") == [1, -2]
    assert r.execute_command("HEXPIRE", "h", "100", "NX", "FIELDS", "1", "a") == [0]  # condition not met
    assert r.execute_command("HEXPIRE", "missing", "100", "FIELDS", "1", "a") == [-2]
    assert db0(ev.read(r)) == [("h", "hexpire")]
    assert r.execute_command("HPERSIST", "h", "FIELDS", "2", "a", "b") == [1, -1]
    assert r.execute_command("HPERSIST", "h", "FIELDS", "1", "a") == [-1]
    assert db0(ev.read(r)) == [("h", "hpersist")]
    # a time not in the future deletes the field: "hdel", and "del" for the last
    assert r.execute_command("HEXPIREAT", "h", "1", "FIELDS", "2", "a", "b") == [2, 2]
    assert db0(ev.read(r)) == [("h", "hdel")]
    assert r.execute_command("HPEXPIREAT", "h", "1", "FIELDS", "1", "c") == [2]
    assert db0(ev.read(r)) == [("h", "hdel"), ("h", "del")]
    assert r.exists("h") == 0


@solidis_only
def test_hexpired_from_the_sweeper(r, ev):
    r.hset("h", mapping={"a": 1, "b": 2})
    r.hset("g", mapping={"a": 1})
    assert r.execute_command("HPEXPIRE", "h", "30", "FIELDS", "1", "a") == [1]
    assert r.execute_command("HPEXPIRE", "g", "30", "FIELDS", "1", "a") == [1]
    got = ev.wait(7)  # hset hset hexpire hexpire, then hexpired h, hexpired g, del g
    assert got[:4] == [("h", "hset"), ("g", "hset"), ("h", "hexpire"), ("g", "hexpire")], got
    # the sweeper's order between the two keys is its own; per key it is fixed
    assert sorted(got[4:]) == [("g", "del"), ("g", "hexpired"), ("h", "hexpired")], got
    assert got.index(("g", "hexpired")) < got.index(("g", "del"))
    assert r.hgetall("h") == {b"b": b"2"} and r.exists("g") == 0


@solidis_only
def test_hexpired_when_a_write_meets_expired_fields(r, ev):
    # The write lands right after the field's time, usually before the
    # sweeper's next pass (every 100 ms): the write then deletes the field
    # itself. Either way "hexpired" comes before the write's own event.
    r.hset("h", mapping={"a": 1, "b": 2})
    ev.read(r)
    r.execute_command("HPEXPIRE", "h", "20", "FIELDS", "1", "a")
    time.sleep(0.03)
    r.hset("h", "c", "3")
    assert db0(ev.read(r)) == [("h", "hexpire"), ("h", "hexpired"), ("h", "hset")]
    assert r.hgetall("h") == {b"b": b"2", b"c": b"3"}
    # the same when the expired field was the last one: "del" follows
    r.hset("g", "a", "1")
    r.execute_command("HPEXPIRE", "g", "20", "FIELDS", "1", "a")
    time.sleep(0.03)
    r.hset("g", "n", "1")
    assert db0(ev.read(r)) == [("g", "hset"), ("g", "hexpire"), ("g", "hexpired"), ("g", "del"), ("g", "hset")]
    assert r.hgetall("g") == {b"n": b"1"}
