"""Hash commands: HSET family, reads, counters, HSCAN, HRANDFIELD, RESP3 shapes, and the
Redis 7.4 per-field TTLs (HEXPIRE family, which Redis 7.0 lacks: those tests are skipped
when run against redis-server and follow the Redis 7.4 documentation instead).

Validated with SOLIDIS_BIN=/usr/bin/redis-server (7.0.15) for everything 7.0 has.
redis-py strips the leading "ERR " from error replies.
"""
import os
import time

import pytest
import redis

from conftest import IS_REDIS
from helpers import (LLONG_MAX, LLONG_MIN, NOT_FLOAT, NOT_INT, OVERFLOW, SYNTAX, WRONGTYPE,
                     RespClient, err, now_ms, plain, raw, wait_for)

HASH_NOT_INT = "hash value is not an integer"
HASH_NOT_FLOAT = "hash value is not a float"

needs_74 = pytest.mark.skipif(IS_REDIS, reason="hash field TTLs are Redis 7.4; reference is 7.0")


# --------------------------------------------------------------------- HSET / HGET

def test_hset_hget_basic(r):
    assert r.hset("h", mapping={"a": "1", "b": "2"}) == 2
    assert raw(r, "HSET", "h", "a", "10", "c", "3") == 1   # one new, one overwritten
    assert r.hget("h", "a") == b"10"
    assert r.hget("h", "c") == b"3"
    assert r.hget("h", "nope") is None
    assert r.hget("missing", "a") is None
    assert r.type("h") == b"hash"
    assert r.hlen("h") == 3


def test_hset_same_field_twice_in_one_call(r):
    assert raw(r, "HSET", "h", "f", "1", "f", "2") == 1
    assert r.hget("h", "f") == b"2"
    assert r.hlen("h") == 1


def test_hset_arity(r):
    assert err(r, "HSET", "h", "f") == "wrong number of arguments for 'hset' command"
    assert err(r, "HSET", "h", "f", "v", "g") == "wrong number of arguments for 'hset' command"
    assert err(r, "HSET", "h") == "wrong number of arguments for 'hset' command"
    assert err(r, "HMSET", "h", "f") == "wrong number of arguments for 'hmset' command"
    assert err(r, "HMSET", "h", "f", "v", "g") == "wrong number of arguments for 'hmset' command"
    assert err(r, "HGET", "h") == "wrong number of arguments for 'hget' command"
    assert err(r, "HGET", "h", "a", "b") == "wrong number of arguments for 'hget' command"
    assert err(r, "HMGET", "h") == "wrong number of arguments for 'hmget' command"
    assert err(r, "HDEL", "h") == "wrong number of arguments for 'hdel' command"
    assert err(r, "HLEN") == "wrong number of arguments for 'hlen' command"
    assert err(r, "HGETALL", "h", "x") == "wrong number of arguments for 'hgetall' command"
    assert err(r, "HSETNX", "h", "f") == "wrong number of arguments for 'hsetnx' command"
    assert err(r, "HINCRBY", "h", "f") == "wrong number of arguments for 'hincrby' command"
    assert err(r, "HINCRBYFLOAT", "h", "f") == "wrong number of arguments for 'hincrbyfloat' command"
    assert err(r, "HSTRLEN", "h") == "wrong number of arguments for 'hstrlen' command"
    assert err(r, "HEXISTS", "h") == "wrong number of arguments for 'hexists' command"
    assert err(r, "HSCAN", "h") == "wrong number of arguments for 'hscan' command"
    assert err(r, "HRANDFIELD") == "wrong number of arguments for 'hrandfield' command"
    assert r.exists("h") == 0


def test_hmset_hmget(r):
    assert raw(r, "HMSET", "h", "a", "1", "b", "2") == b"OK"
    assert raw(r, "HMSET", "h", "b", "3") == b"OK"
    assert r.hmget("h", ["a", "b", "zz", "a"]) == [b"1", b"3", None, b"1"]
    assert r.hmget("missing", ["a", "b"]) == [None, None]


def test_binary_safe_fields_and_values(r):
    f, v = b"f\x00\xff\r\n", b"v\x00\x01\r\nend"
    assert r.hset("h", f, v) == 1
    assert r.hget("h", f) == v
    assert r.hget("h", b"f") is None
    assert r.hgetall("h") == {f: v}
    assert r.hset("h", "", "") == 1           # empty field and value
    assert r.hget("h", "") == b""
    assert r.hstrlen("h", "") == 0
    assert r.hexists("h", "") is True
    assert r.hlen("h") == 2


def test_hgetall_hkeys_hvals_insertion_order(r):
    # Small hashes keep insertion order (Redis' listpack order); an overwrite keeps
    # the field's place, a delete + re-add moves it to the end.
    r.hset("h", mapping={"z": "1", "a": "2", "m": "3"})
    r.hset("h", "a", "20")
    assert r.hkeys("h") == [b"z", b"a", b"m"]
    r.hdel("h", "z")
    r.hset("h", "z", "9")
    assert r.hkeys("h") == [b"a", b"m", b"z"]
    assert r.hvals("h") == [b"20", b"3", b"9"]
    assert raw(r, "HGETALL", "h") == [b"a", b"20", b"m", b"3", b"z", b"9"]
    assert raw(r, "HGETALL", "missing") == []
    assert r.hkeys("missing") == []
    assert r.hvals("missing") == []


def test_hdel(r):
    r.hset("h", mapping={"a": 1, "b": 2, "c": 3})
    assert r.hdel("h", "a", "zz", "a") == 1
    assert r.hdel("h", "zz") == 0
    assert r.hdel("missing", "a") == 0
    assert r.hlen("h") == 2
    assert r.hdel("h", "b", "c") == 2
    assert r.exists("h") == 0                # the last field takes the key with it
    assert r.type("h") == b"none"


def test_hlen_hexists_hstrlen(r):
    r.hset("h", mapping={"a": "hello", "n": "12345"})
    assert r.hlen("h") == 2
    assert r.hlen("missing") == 0
    assert r.hexists("h", "a") is True
    assert r.hexists("h", "b") is False
    assert r.hexists("missing", "a") is False
    assert r.hstrlen("h", "a") == 5
    assert r.hstrlen("h", "n") == 5
    assert r.hstrlen("h", "b") == 0
    assert r.hstrlen("missing", "a") == 0


def test_hsetnx(r):
    assert r.hsetnx("h", "a", "1") == 1
    assert r.hsetnx("h", "a", "2") == 0
    assert r.hget("h", "a") == b"1"
    assert r.hsetnx("h", "b", "2") == 1
    assert r.hlen("h") == 2


def test_hash_survives_many_fields(r):
    n = 2000
    r.hset("big", mapping={"f%d" % i: "v%d" % i for i in range(n)})
    assert r.hlen("big") == n
    assert r.hget("big", "f1234") == b"v1234"
    assert len(r.hgetall("big")) == n
    assert r.hdel("big", *["f%d" % i for i in range(0, n, 2)]) == n // 2
    assert r.hlen("big") == n // 2
    assert sorted(r.hkeys("big")) == sorted(b"f%d" % i for i in range(1, n, 2))


# ------------------------------------------------------------------------ counters

def test_hincrby(r):
    assert r.hincrby("h", "n", 5) == 5            # creates key and field
    assert r.hincrby("h", "n", -7) == -2
    assert r.hget("h", "n") == b"-2"
    r.hset("h", "s", "abc")
    assert err(r, "HINCRBY", "h", "s", "1") == HASH_NOT_INT
    r.hset("h", "f", "1.5")
    assert err(r, "HINCRBY", "h", "f", "1") == HASH_NOT_INT
    r.hset("h", "sp", " 1")
    assert err(r, "HINCRBY", "h", "sp", "1") == HASH_NOT_INT
    assert err(r, "HINCRBY", "h", "n", "x") == NOT_INT
    assert err(r, "HINCRBY", "h", "n", "1.0") == NOT_INT
    assert err(r, "HINCRBY", "h", "n", "99999999999999999999") == NOT_INT
    r.hset("h", "big", str(LLONG_MAX))
    assert err(r, "HINCRBY", "h", "big", "1") == OVERFLOW
    assert r.hget("h", "big") == str(LLONG_MAX).encode()
    r.hset("h", "small", str(LLONG_MIN))
    assert err(r, "HINCRBY", "h", "small", "-1") == OVERFLOW
    assert r.hincrby("h", "small", 1) == LLONG_MIN + 1
    assert err(r, "HINCRBY", "missing", "n", "nope") == NOT_INT
    assert r.exists("missing") == 0


def test_hincrbyfloat(r):
    assert raw(r, "HINCRBYFLOAT", "h", "f", "1.5") == b"1.5"
    assert raw(r, "HINCRBYFLOAT", "h", "f", "0.1") == b"1.6"
    assert raw(r, "HINCRBYFLOAT", "h", "f", "-1.6") == b"0"
    assert raw(r, "HINCRBYFLOAT", "h", "f", "2.5e3") == b"2500"
    assert raw(r, "HINCRBYFLOAT", "h", "i", "3") == b"3"
    r.hset("h", "n", "10")
    assert raw(r, "HINCRBYFLOAT", "h", "n", "0.25") == b"10.25"
    r.hset("h", "s", "abc")
    assert err(r, "HINCRBYFLOAT", "h", "s", "1") == HASH_NOT_FLOAT
    assert err(r, "HINCRBYFLOAT", "h", "f", "abc") == NOT_FLOAT
    assert err(r, "HINCRBYFLOAT", "h", "f", "") == NOT_FLOAT
    assert err(r, "HINCRBYFLOAT", "h", "f", "inf") == "value is NaN or Infinity"
    r.hset("h", "inf", "inf")
    assert err(r, "HINCRBYFLOAT", "h", "inf", "1") == "increment would produce NaN or Infinity"
    assert r.hget("h", "f") == b"2500"


# ----------------------------------------------------------------------- WRONGTYPE

@pytest.mark.parametrize("args", [
    ("HGET", "s", "a"), ("HSET", "s", "a", "1"), ("HSETNX", "s", "a", "1"), ("HMSET", "s", "a", "1"),
    ("HMGET", "s", "a", "b"), ("HGETALL", "s"), ("HKEYS", "s"), ("HVALS", "s"), ("HDEL", "s", "a"),
    ("HLEN", "s"), ("HEXISTS", "s", "a"), ("HSTRLEN", "s", "a"), ("HINCRBY", "s", "a", "1"),
    ("HINCRBYFLOAT", "s", "a", "1"), ("HSCAN", "s", "0"), ("HRANDFIELD", "s"), ("HRANDFIELD", "s", "2"),
])
def test_wrongtype(r, args):
    r.set("s", "v")
    assert err(r, *args) == WRONGTYPE
    assert r.get("s") == b"v"


def test_string_commands_on_hash(r):
    r.hset("h", "a", "1")
    assert err(r, "GET", "h") == WRONGTYPE
    assert err(r, "INCR", "h") == WRONGTYPE


def test_set_overwrites_hash_and_fields_are_gone(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.set("h", "str")
    assert r.get("h") == b"str"
    assert err(r, "HGET", "h", "a") == WRONGTYPE
    r.delete("h")
    assert r.hset("h", "c", "3") == 1
    assert r.hgetall("h") == {b"c": b"3"}        # nothing of the old hash leaks back


def test_del_rename_move_keep_fields_consistent(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.rename("h", "h2")
    assert r.hgetall("h2") == {b"a": b"1", b"b": b"2"}
    assert r.exists("h") == 0
    r.hset("h3", "x", "y")
    r.rename("h2", "h3")                         # overwrite another hash
    assert r.hgetall("h3") == {b"a": b"1", b"b": b"2"}
    assert r.move("h3", 1) is True
    r2 = redis.Redis(connection_pool=redis.ConnectionPool(
        host="127.0.0.1", port=r.connection_pool.connection_kwargs["port"], db=1))
    try:
        assert r2.hgetall("h3") == {b"a": b"1", b"b": b"2"}
        assert r2.hset("h3", "c", "3") == 1
        assert r2.hlen("h3") == 3
    finally:
        r2.close()
    assert r.delete("h3") == 0


# ------------------------------------------------------------------------- HSCAN

def hscan_all(r, key, **kw):
    cursor, out, calls = 0, [], 0
    while True:
        cursor, page = r.hscan(key, cursor, **kw)
        out.extend(page.items())
        calls += 1
        if cursor == 0:
            return out, calls


def test_hscan_small_hash_in_one_call(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    cursor, page = raw(r, "HSCAN", "h", "0")
    assert cursor == b"0"
    assert dict(zip(page[::2], page[1::2])) == {b"a": b"1", b"b": b"2", b"c": b"3"}
    assert raw(r, "HSCAN", "missing", "0") == [b"0", []]
    assert raw(r, "HSCAN", "missing", "0", "COUNT", "0") == [b"0", []]  # key checked first


def test_hscan_listpack_sized_hash_in_one_call(r):
    # Redis answers a listpack hash (up to 512 fields, none and no value over
    # 64 bytes) whole from cursor 0, whatever COUNT says; a bigger one by pages.
    r.hset("h", mapping={"f%d" % i: "v" for i in range(512)})
    cursor, page = raw(r, "HSCAN", "h", "0", "COUNT", "5")
    assert cursor == b"0" and len(page) == 1024
    r.hset("h", "one-more", "v")
    cursor, page = raw(r, "HSCAN", "h", "0", "COUNT", "5")
    assert cursor != b"0" and len(page) < 1026
    for field, value in [("f", "x" * 65), ("y" * 65, "v")]:
        r.delete("s")
        r.hset("s", mapping={"f%d" % i: "v" for i in range(20)})
        r.hset("s", field, value)
        cursor, page = raw(r, "HSCAN", "s", "0", "COUNT", "5")
        assert cursor != b"0" and len(page) < 42
    r.delete("s")
    r.hset("s", mapping={"f%d" % i: "v" for i in range(20)})
    r.hset("s", "x" * 64, "y" * 64)
    cursor, page = raw(r, "HSCAN", "s", "0", "COUNT", "5")
    assert cursor == b"0" and len(page) == 42


@needs_74
def test_object_encoding_hash_with_field_ttls(r):
    # Redis 7.4: a listpack hash whose fields got a TTL is "listpackex", also
    # after HPERSIST; a big one stays "hashtable".
    r.hset("h", mapping={"a": "1", "b": "2"})
    assert raw(r, "HEXPIRE", "h", "100", "FIELDS", "1", "a") == [1]
    assert raw(r, "OBJECT", "ENCODING", "h") == b"listpackex"
    assert raw(r, "HPERSIST", "h", "FIELDS", "1", "a") == [1]
    assert raw(r, "OBJECT", "ENCODING", "h") == b"listpackex"
    r.hset("big", mapping={"f%d" % i: "v" for i in range(513)})
    assert raw(r, "HEXPIRE", "big", "100", "FIELDS", "1", "f1") == [1]
    assert raw(r, "OBJECT", "ENCODING", "big") == b"hashtable"


def test_hscan_full_iteration_count_match(r):
    n = 1000
    r.hset("h", mapping={"f%04d" % i: str(i) for i in range(n)})
    items, calls = hscan_all(r, "h", count=50)
    assert calls > 1
    got = dict(items)
    assert len(got) == n
    assert got[b"f0123"] == b"123"
    items, _ = hscan_all(r, "h", match="f00*", count=100)
    assert sorted(k for k, _ in items) == [b"f%04d" % i for i in range(100)]


def test_hscan_returns_fields_present_for_whole_scan(r):
    n = 600
    r.hset("h", mapping={"f%d" % i: "v" for i in range(n)})
    stable = {b"f%d" % i for i in range(n) if i % 3}
    seen, cursor, step = set(), 0, 0
    while True:
        cursor, page = r.hscan("h", cursor, count=25)
        seen.update(page)
        step += 1
        # Meanwhile: delete some never-stable fields, add new ones, overwrite stable ones.
        r.hdel("h", "f%d" % (3 * step))
        r.hset("h", mapping={"new%d" % step: "x", "f%d" % (3 * step + 1): "changed"})
        if cursor == 0:
            break
    assert stable <= seen


@needs_74
def test_mixed_overwrites_and_new_fields_keep_every_field_once(r):
    """HSET/HMSET/HINCRBY/HSETNX mixing overwrites and new fields on a large
    hash (past the one-call HSCAN size), also after expired fields were
    purged: counts, values and a full HSCAN agree, each field exactly once."""
    r.hset("h", mapping={"f%03d" % i: "a" for i in range(600)})
    assert raw(r, "HPEXPIRE", "h", 1, "FIELDS", 10, *["f%03d" % i for i in range(590, 600)]) == [1] * 10
    time.sleep(0.05)
    # one HSET: 50 overwrites, 20 new fields, one of them given twice
    args = {"f%03d" % i: "b" for i in range(0, 100, 2)}
    args.update({"n%02d" % i: "new" for i in range(20)})
    assert raw(r, "HSET", "h", *[x for kv in args.items() for x in kv], "n00", "again") == 20
    assert raw(r, "HINCRBY", "h", "cnt", 5) == 5 and raw(r, "HINCRBY", "h", "cnt", 2) == 7
    assert raw(r, "HSETNX", "h", "f003", "x") == 0 and raw(r, "HSETNX", "h", "nx", "y") == 1
    assert raw(r, "HMSET", "h", "f005", "c", "m1", "d") == b"OK"
    want = {"f%03d" % i: "a" for i in range(590)}
    want.update({"f%03d" % i: "b" for i in range(0, 100, 2)})
    want.update({"n%02d" % i: "new" for i in range(20)})
    want.update({"n00": "again", "cnt": "7", "nx": "y", "f005": "c", "m1": "d"})
    assert r.hlen("h") == len(want)
    items, calls = hscan_all(r, "h", count=40)
    assert calls > 1
    assert len(items) == len(want)  # no field twice
    assert {k.decode(): v.decode() for k, v in items} == want


def test_hscan_errors(r):
    r.hset("h", mapping={"f%d" % i: "v" for i in range(200)})
    assert err(r, "HSCAN", "h", "abc") == "invalid cursor"
    assert err(r, "HSCAN", "h", "-1x") == "invalid cursor"
    assert err(r, "HSCAN", "h", " 0") == "invalid cursor"
    assert err(r, "HSCAN", "h", "0", "COUNT", "0") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "COUNT", "-1") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "COUNT", "x") == NOT_INT
    assert err(r, "HSCAN", "h", "0", "COUNT") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "MATCH") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "TYPE", "string") == SYNTAX
    assert err(r, "HSCAN", "h", "0", "BOGUS", "1") == SYNTAX


@needs_74
def test_hscan_novalues(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    cursor, page = raw(r, "HSCAN", "h", "0", "NOVALUES")
    assert cursor == b"0" and sorted(page) == [b"a", b"b"]
    r.hset("big", mapping={"f%d" % i: "v" for i in range(300)})
    cursor, seen = 0, []
    while True:
        cursor, page = raw(r, "HSCAN", "big", cursor, "COUNT", "40", "NOVALUES", "MATCH", "f1*")
        seen += page
        if cursor == b"0":
            break
    assert sorted(seen) == sorted(b"f%d" % i for i in range(300) if str(i).startswith("1"))


# ---------------------------------------------------------------------- HRANDFIELD

def test_hrandfield_single(r):
    assert r.hrandfield("missing") is None
    fields = {b"a", b"b", b"c"}
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    seen = {r.hrandfield("h") for _ in range(60)}
    assert seen == fields                      # all three come up


def test_hrandfield_count(r):
    data = {b"f%d" % i: b"v%d" % i for i in range(20)}
    r.hset("h", mapping=data)
    # positive: distinct, at most the hash size
    for count in (1, 5, 19, 20, 50):
        got = raw(r, "HRANDFIELD", "h", str(count))
        assert len(got) == min(count, 20)
        assert len(set(got)) == len(got)
        assert set(got) <= set(data)
    # negative: exactly |count|, repeats allowed
    got = raw(r, "HRANDFIELD", "h", "-100")
    assert len(got) == 100 and set(got) <= set(data)
    assert len(set(got)) > 1
    # with values: pairs that match
    got = raw(r, "HRANDFIELD", "h", "5", "WITHVALUES")
    assert len(got) == 10
    assert all(data[f] == v for f, v in zip(got[::2], got[1::2]))
    got = raw(r, "HRANDFIELD", "h", "-30", "withvalues")
    assert len(got) == 60
    assert all(data[f] == v for f, v in zip(got[::2], got[1::2]))
    got = raw(r, "HRANDFIELD", "h", "30", "WITHVALUES")
    assert dict(zip(got[::2], got[1::2])) == data
    assert raw(r, "HRANDFIELD", "h", "0") == []
    assert raw(r, "HRANDFIELD", "missing", "5") == []
    assert raw(r, "HRANDFIELD", "missing", "-5", "WITHVALUES") == []
    # a sample is spread over the hash, not stuck at one end
    seen = set()
    for _ in range(30):
        seen.update(raw(r, "HRANDFIELD", "h", "3"))
    assert len(seen) > 10


def test_hrandfield_errors(r):
    r.hset("h", "a", "1")
    assert err(r, "HRANDFIELD", "h", "x") == NOT_INT
    assert err(r, "HRANDFIELD", "h", "1", "foo") == SYNTAX
    assert err(r, "HRANDFIELD", "h", "1", "WITHVALUES", "x") == SYNTAX
    assert err(r, "HRANDFIELD", "h", str(LLONG_MIN)) == \
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    assert err(r, "HRANDFIELD", "h", str(LLONG_MAX), "WITHVALUES") == "value is out of range"
    assert err(r, "HRANDFIELD", "h", str(-LLONG_MAX // 2 - 1), "WITHVALUES") == "value is out of range"


# ------------------------------------------------------------------------- RESP3

def test_resp3_shapes(server, r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    c = RespClient(server.port, replies="tagged")
    try:
        t, _ = c.call("HELLO", "3")
        assert t == b"%"
        c.send_command("HGETALL", "h")
        line = c.line()
        assert line == b"%2"                        # a map, not a flat array
        c.buf = line + b"\r\n" + c.buf
        assert plain(c.reply()) == {b"a": b"1", b"b": b"2"}
        assert c.call("HGETALL", "missing") == (b"%", [])
        assert c.call("HGET", "h", "zz") == (b"_", b"")
        assert c.call("HGET", "missing", "a") == (b"_", b"")
        assert c.call("HRANDFIELD", "missing") == (b"_", b"")
        assert c.call("HKEYS", "h")[0] == b"*"
        assert c.call("HMGET", "h", "a", "zz") == (b"*", [(b"$", b"1"), (b"_", b"")])
        t, pairs = c.call("HRANDFIELD", "h", "2", "WITHVALUES")
        assert t == b"*" and len(pairs) == 2
        assert all(p[0] == b"*" and len(p[1]) == 2 for p in pairs)   # [field, value] pairs
        assert {plain(p)[0]: plain(p)[1] for p in pairs} == {b"a": b"1", b"b": b"2"}
        t, pairs = c.call("HRANDFIELD", "h", "-3", "WITHVALUES")
        assert len(pairs) == 3 and all(p[0] == b"*" for p in pairs)
        assert plain(c.call("HSCAN", "h", "0"))[0] == b"0"
        assert c.call("HSCAN", "h", "0")[1][1][0] == b"*"           # still a flat array
        assert c.call("HINCRBYFLOAT", "h", "f", "1.5") == (b"$", b"1.5")
        assert c.call("HSET", "s", "x") == (b"-", b"ERR wrong number of arguments for 'hset' command")
    finally:
        c.close()


# ---------------------------------------------------------- key TTLs and sessions

def test_session_store_pattern(r):
    sid = "session:abc123"
    assert r.hset(sid, mapping={"user": "42", "csrf": "tok", "theme": "dark"}) == 3
    assert r.expire(sid, 1) is True
    assert r.hgetall(sid) == {b"user": b"42", b"csrf": b"tok", b"theme": b"dark"}
    assert 0 < r.ttl(sid) <= 1
    assert r.hset(sid, "last_seen", "now") == 1      # HSET keeps the key's TTL
    assert r.ttl(sid) > 0
    assert r.hincrby(sid, "hits", 1) == 1
    assert r.ttl(sid) > 0
    assert r.pexpire(sid, 150) is True
    time.sleep(0.25)
    assert r.hgetall(sid) == {}
    assert r.hget(sid, "user") is None
    assert r.hlen(sid) == 0
    assert r.exists(sid) == 0
    assert r.hset(sid, "user", "7") == 1             # a fresh hash, nothing left over
    assert r.hgetall(sid) == {b"user": b"7"}
    assert r.ttl(sid) == -1


def test_multi_exec_reads_see_writes(r):
    p = r.pipeline(transaction=True)
    p.hset("h", "a", "1")
    p.hget("h", "a")
    p.hincrby("h", "n", 2)
    p.hgetall("h")
    p.hlen("h")
    p.hmget("h", "a", "n", "zz")
    assert p.execute() == [1, b"1", 2, {b"a": b"1", b"n": b"2"}, 2, [b"1", b"2", None]]


def test_hash_survives_restart(make_server):
    s = make_server()
    c = s.client()
    c.hset("h", mapping={"a": "1", "b": "2"})
    c.hincrby("h", "n", 5)
    c.close()
    s.restart()
    c = s.client()
    assert c.hgetall("h") == {b"a": b"1", b"b": b"2", b"n": b"5"}
    assert c.hset("h", "c", "3") == 1
    assert c.hkeys("h") == [b"a", b"b", b"n", b"c"]
    c.close()


# ------------------------------------------------------------ per-field TTLs (7.4)

@needs_74
def test_hexpire_replies_and_reads(r):
    r.hset("h", mapping={"f1": "v1", "f2": "v2", "f3": "v3"})
    assert raw(r, "HEXPIRE", "h", "100", "FIELDS", "2", "f1", "ghost") == [1, -2]
    assert raw(r, "HTTL", "h", "FIELDS", "3", "f1", "f2", "ghost") == [100, -1, -2]
    pttl = raw(r, "HPTTL", "h", "FIELDS", "1", "f1")[0]
    assert 99000 < pttl <= 100000
    at = raw(r, "HPEXPIRETIME", "h", "FIELDS", "1", "f1")[0]
    assert abs(at - (now_ms() + 100000)) < 2000
    assert raw(r, "HEXPIRETIME", "h", "FIELDS", "1", "f1") == [(at + 999) // 1000]
    assert raw(r, "HEXPIRETIME", "h", "FIELDS", "2", "f2", "nope") == [-1, -2]
    assert raw(r, "HPEXPIREAT", "h", str(at + 5000), "FIELDS", "1", "f1") == [1]
    assert raw(r, "HPEXPIRETIME", "h", "FIELDS", "1", "f1") == [at + 5000]
    assert raw(r, "HEXPIREAT", "h", str(at // 1000 + 60), "FIELDS", "1", "f1") == [1]
    assert raw(r, "HPEXPIRETIME", "h", "FIELDS", "1", "f1") == [(at // 1000 + 60) * 1000]
    assert raw(r, "HPEXPIRE", "h", "50000", "FIELDS", "1", "f1") == [1]
    assert 0 < raw(r, "HPTTL", "h", "FIELDS", "1", "f1")[0] <= 50000
    # a field with a TTL still reads normally until it expires
    assert r.hget("h", "f1") == b"v1"
    assert r.hlen("h") == 3


@needs_74
def test_hexpire_conditions(r):
    r.hset("h", mapping={"f1": "v", "f2": "v"})
    assert raw(r, "HEXPIRE", "h", "100", "FIELDS", "1", "f1") == [1]
    assert raw(r, "HEXPIRE", "h", "200", "NX", "FIELDS", "2", "f1", "f2") == [0, 1]
    assert raw(r, "HPERSIST", "h", "FIELDS", "2", "f1", "f2") == [1, 1]
    assert raw(r, "HTTL", "h", "FIELDS", "1", "f1") == [-1]
    # no TTL counts as infinite: XX and GT fail, LT succeeds
    t = now_ms() + 100000
    assert raw(r, "HPEXPIREAT", "h", str(t), "XX", "FIELDS", "1", "f1") == [0]
    assert raw(r, "HPEXPIREAT", "h", str(t), "GT", "FIELDS", "1", "f1") == [0]
    assert raw(r, "HPEXPIREAT", "h", str(t), "LT", "FIELDS", "1", "f1") == [1]
    assert raw(r, "HPEXPIREAT", "h", str(t - 1), "GT", "FIELDS", "1", "f1") == [0]
    assert raw(r, "HPEXPIREAT", "h", str(t), "GT", "FIELDS", "1", "f1") == [0]   # equal is not greater
    assert raw(r, "HPEXPIREAT", "h", str(t), "LT", "FIELDS", "1", "f1") == [0]   # nor less
    assert raw(r, "HPEXPIREAT", "h", str(t + 1), "gt", "FIELDS", "1", "f1") == [1]
    assert raw(r, "HPEXPIREAT", "h", str(t + 2), "LT", "FIELDS", "1", "f1") == [0]
    assert raw(r, "HPEXPIREAT", "h", str(t), "lt", "FIELDS", "1", "f1") == [1]
    assert raw(r, "HPEXPIRETIME", "h", "FIELDS", "1", "f1") == [t]
    assert raw(r, "HEXPIRE", "h", "100", "xx", "FIELDS", "2", "f1", "f2") == [1, 0]
    assert raw(r, "HTTL", "h", "FIELDS", "2", "f1", "f2") == [100, -1]
    assert raw(r, "HEXPIRE", "h", "100", "NX", "FIELDS", "1", "f1") == [0]
    # a condition that fails does not delete, even with a time in the past
    assert raw(r, "HEXPIRE", "h", "0", "XX", "FIELDS", "1", "f2") == [0]
    assert raw(r, "HEXPIRE", "h", "0", "GT", "FIELDS", "1", "f2") == [0]
    assert r.hget("h", "f2") == b"v"
    assert raw(r, "HEXPIRE", "h", "0", "LT", "FIELDS", "1", "f2") == [2]
    assert r.hget("h", "f2") is None


@needs_74
def test_hexpire_past_time_deletes_field_and_key(r):
    r.hset("h", mapping={"a": "1", "b": "2", "c": "3"})
    assert raw(r, "HEXPIRE", "h", "0", "FIELDS", "1", "a") == [2]
    assert raw(r, "HPEXPIREAT", "h", str(now_ms() - 1000), "FIELDS", "2", "b", "zz") == [2, -2]
    assert r.hgetall("h") == {b"c": b"3"}
    assert r.hlen("h") == 1
    assert raw(r, "HEXPIREAT", "h", "1", "FIELDS", "1", "c") == [2]
    assert r.exists("h") == 0                    # last field gone: key gone


@needs_74
def test_field_ttl_on_missing_key(r):
    assert raw(r, "HEXPIRE", "nokey", "100", "FIELDS", "2", "a", "b") == [-2, -2]
    assert raw(r, "HTTL", "nokey", "FIELDS", "1", "a") == [-2]
    assert raw(r, "HPEXPIRETIME", "nokey", "FIELDS", "1", "a") == [-2]
    assert raw(r, "HPERSIST", "nokey", "FIELDS", "2", "a", "b") == [-2, -2]
    assert r.exists("nokey") == 0


@needs_74
def test_field_ttl_errors(r):
    r.set("s", "v")
    assert err(r, "HEXPIRE", "s", "notanum", "FIELDS", "1", "f") == WRONGTYPE   # type checked first
    assert err(r, "HTTL", "s", "FIELDS", "1", "f") == WRONGTYPE
    assert err(r, "HPERSIST", "s", "FIELDS", "1", "f") == WRONGTYPE
    r.hset("h", "f", "v")
    assert err(r, "HEXPIRE", "h", "notanum", "FIELDS", "1", "f") == NOT_INT
    assert err(r, "HEXPIRE", "h", "-1", "FIELDS", "1", "f") == "invalid expire time, must be >= 0"
    assert err(r, "HEXPIRE", "h", "70368744177664", "FIELDS", "1", "f") == \
        "invalid expire time in 'hexpire' command"
    assert err(r, "HPEXPIREAT", "h", "70368744177664", "FIELDS", "1", "f") == \
        "invalid expire time in 'hpexpireat' command"
    assert err(r, "HEXPIRE", "h", "100", "BADCOND", "FIELDS", "1", "f") == \
        "Mandatory argument FIELDS is missing or not at the right position"
    assert err(r, "HEXPIRE", "h", "100", "NX", "XX", "FIELDS", "1", "f") == \
        "Mandatory argument FIELDS is missing or not at the right position"
    assert err(r, "HTTL", "h", "NOTFIELDS", "1", "f") == \
        "Mandatory argument FIELDS is missing or not at the right position"
    assert err(r, "HEXPIRE", "h", "100", "FIELDS", "0", "f") == "Parameter `numFields` should be greater than 0"
    assert err(r, "HEXPIRE", "h", "100", "FIELDS", "x", "f") == "Parameter `numFields` should be greater than 0"
    assert err(r, "HTTL", "h", "FIELDS", "0", "f") == "Number of fields must be a positive integer"
    assert err(r, "HPERSIST", "h", "FIELDS", "-1", "f") == "Number of fields must be a positive integer"
    assert err(r, "HEXPIRE", "h", "100", "FIELDS", "2", "f") == \
        "The `numfields` parameter must match the number of arguments"
    assert err(r, "HTTL", "h", "FIELDS", "1", "f", "g") == \
        "The `numfields` parameter must match the number of arguments"
    assert err(r, "HEXPIRE", "h", "100", "FIELDS", "1") == "wrong number of arguments for 'hexpire' command"
    assert err(r, "HTTL", "h", "FIELDS", "1") == "wrong number of arguments for 'httl' command"
    assert err(r, "HPERSIST", "h", "FIELDS", "1") == "wrong number of arguments for 'hpersist' command"
    assert raw(r, "HTTL", "h", "FIELDS", "1", "f") == [-1]       # nothing changed


@needs_74
def test_expired_fields_invisible_to_every_read(r):
    r.hset("h", mapping={"keep": "k", "gone": "g", "gone2": "g2"})
    assert raw(r, "HPEXPIRE", "h", "80", "FIELDS", "2", "gone", "gone2") == [1, 1]
    time.sleep(0.12)
    assert r.hget("h", "gone") is None
    assert r.hmget("h", "keep", "gone") == [b"k", None]
    assert r.hexists("h", "gone") is False
    assert r.hstrlen("h", "gone") == 0
    assert r.hlen("h") == 1
    assert r.hgetall("h") == {b"keep": b"k"}
    assert r.hkeys("h") == [b"keep"]
    assert r.hvals("h") == [b"k"]
    assert r.hscan("h", 0) == (0, {b"keep": b"k"})
    assert {r.hrandfield("h") for _ in range(10)} == {b"keep"}
    assert raw(r, "HRANDFIELD", "h", "-5") == [b"keep"] * 5
    assert raw(r, "HRANDFIELD", "h", "5") == [b"keep"]
    assert raw(r, "HTTL", "h", "FIELDS", "2", "gone", "keep") == [-2, -1]
    assert raw(r, "HPERSIST", "h", "FIELDS", "1", "gone") == [-2]
    assert raw(r, "HEXPIRE", "h", "10", "FIELDS", "1", "gone") == [-2]
    # writes treat them as absent too
    assert r.hsetnx("h", "gone", "new") == 1
    assert r.hget("h", "gone") == b"new"
    assert raw(r, "HTTL", "h", "FIELDS", "1", "gone") == [-1]
    assert r.hincrby("h", "gone2", 5) == 5
    assert r.hlen("h") == 3


@needs_74
def test_hset_clears_ttl_hincrby_keeps_it(r):
    r.hset("h", mapping={"a": "1", "n": "1", "f": "1.5"})
    assert raw(r, "HEXPIRE", "h", "100", "FIELDS", "3", "a", "n", "f") == [1, 1, 1]
    assert r.hincrby("h", "n", 1) == 2
    assert raw(r, "HINCRBYFLOAT", "h", "f", "1") == b"2.5"
    assert r.hsetnx("h", "a", "x") == 0
    assert raw(r, "HTTL", "h", "FIELDS", "3", "a", "n", "f") == [100, 100, 100]
    assert r.hset("h", "a", "2") == 0
    assert raw(r, "HMSET", "h", "n", "3") == b"OK"
    assert raw(r, "HTTL", "h", "FIELDS", "3", "a", "n", "f") == [-1, -1, 100]
    r.hdel("h", "f")
    r.hset("h", "f", "new")
    assert raw(r, "HTTL", "h", "FIELDS", "1", "f") == [-1]


@needs_74
def test_field_ttl_and_key_ttl_are_independent(r):
    r.hset("h", mapping={"a": "1", "b": "2"})
    r.expire("h", 100)
    assert raw(r, "HEXPIRE", "h", "50", "FIELDS", "1", "a") == [1]
    assert r.ttl("h") == 100
    assert r.persist("h") is True
    assert raw(r, "HTTL", "h", "FIELDS", "1", "a") == [50]
    r.pexpire("h", 100)
    time.sleep(0.2)
    assert raw(r, "HTTL", "h", "FIELDS", "1", "a") == [-2]
    assert r.exists("h") == 0


@needs_74
def test_sweeper_deletes_expired_fields_and_empty_keys(r):
    r.hset("h", mapping={"f%d" % i: "v" for i in range(2500)})
    r.hset("h", "keep", "k")
    assert raw(r, "HPEXPIRE", "h", "100", "FIELDS", "2500", *["f%d" % i for i in range(2500)]) == [1] * 2500
    r.hset("lone", "a", "1")
    assert raw(r, "HPEXPIRE", "lone", "100", "FIELDS", "1", "a") == [1]
    assert r.exists("lone") == 1
    assert r.hlen("h") == 2501
    wait_for(lambda: not r.exists("lone"), timeout=5, interval=0.05)
    assert r.exists("lone") == 0                 # swept without anyone touching it
    assert r.hlen("h") == 1
    assert r.hgetall("h") == {b"keep": b"k"}
    # the count survived the sweep: emptying the hash deletes it
    assert r.hdel("h", "keep") == 1
    assert r.exists("h") == 0


@needs_74
def test_field_ttl_survives_restart(make_server):
    s = make_server()
    c = s.client()
    c.hset("h", mapping={"a": "1", "b": "2"})
    assert raw(c, "HEXPIRE", "h", "1000", "FIELDS", "1", "a") == [1]
    assert raw(c, "HPEXPIRE", "h", "100", "FIELDS", "1", "b") == [1]
    c.close()
    s.restart()
    c = s.client()
    time.sleep(0.15)
    assert 990 <= raw(c, "HTTL", "h", "FIELDS", "1", "a")[0] <= 1000
    assert c.hgetall("h") == {b"a": b"1"}
    assert c.hlen("h") == 1
    c.close()


@needs_74
def test_expired_fields_are_absent_to_writes_before_any_sweep(r):
    """With the sweeper paused, an expired field is still a row; every write
    must treat it as gone, also on hashes made by COPY and RENAME (the keys
    row of a hash says whether its fields ever had a TTL)."""
    assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
    try:
        r.hset("src", mapping={"keep": "k", "gone": "g"})
        r.hset("plain", mapping={"a": "1"})
        assert raw(r, "HPEXPIRE", "src", "60", "FIELDS", "1", "gone") == [1]
        assert r.copy("src", "copied") is True
        r.rename("src", "renamed")
        time.sleep(0.12)
        for k in ("copied", "renamed"):
            assert r.hlen(k) == 1
            assert r.hsetnx(k, "gone", "new") == 1
            assert r.hlen(k) == 2 and r.hget(k, "gone") == b"new"
            assert r.hdel(k, "keep", "gone") == 2
            assert r.exists(k) == 0
        assert r.hsetnx("plain", "a", "x") == 0 and r.hlen("plain") == 1
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def _edit_stopped_file(s, *statements, check=None):
    """Stop the server, run SQL on its file as another program would, start it."""
    import sqlite3
    s.stop()
    db = sqlite3.connect(os.path.join(s.dir, "solidis.db"))
    if check:
        assert db.execute(check[0]).fetchone() == check[1]
    for sql in statements:
        db.execute(sql)
    db.commit()
    db.close()
    s.restart()
    c = s.client()
    c.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0")
    return c


@needs_74
def test_field_ttls_of_files_from_before_the_keys_mark(make_server):
    """Hashes with field TTLs written without the keys.enc mark (by builds
    from before it, or by an older build run on the file since) are marked
    when the server starts."""
    s = make_server()
    c = s.client()
    c.hset("h", mapping={"keep": "k", "gone": "g"})
    assert raw(c, "HPEXPIRE", "h", "1500", "FIELDS", "1", "gone") == [1]
    c.close()
    c = _edit_stopped_file(s, "UPDATE keys SET enc=NULL", "DELETE FROM meta WHERE name='hash_field_ttl_marks'",
                           check=("SELECT enc FROM keys WHERE key=x'68'", (1,)))
    wait_for(lambda: raw(c, "HTTL", "h", "FIELDS", "1", "gone") == [-2], timeout=5, interval=0.05)
    assert c.hlen("h") == 1
    assert c.hsetnx("h", "gone", "new") == 1 and c.hlen("h") == 2
    # An older build run on the file since: it set a TTL without the mark,
    # and (like every older build) re-created a job-count trigger this one
    # drops, which is how the next start knows to mark again.
    assert raw(c, "HPEXPIRE", "h", "1500", "FIELDS", "1", "gone") == [1]
    c.close()
    c = _edit_stopped_file(s, "UPDATE keys SET enc=NULL",
                           "CREATE TRIGGER jobs_count_insert AFTER INSERT ON jobs BEGIN SELECT 1; END",
                           check=("SELECT count(*) FROM meta WHERE name='hash_field_ttl_marks'", (1,)))
    wait_for(lambda: raw(c, "HTTL", "h", "FIELDS", "1", "gone") == [-2], timeout=5, interval=0.05)
    assert c.hlen("h") == 1
    c.close()
