"""Keyspace commands: DEL UNLINK EXISTS TYPE KEYS SCAN RENAME RENAMENX COPY MOVE
RANDOMKEY TOUCH SELECT DBSIZE FLUSHDB FLUSHALL OBJECT.

Written against Redis semantics (validated with SOLIDIS_BIN=/usr/bin/redis-server).
redis-py strips the leading "ERR " from error replies.
"""
import time

import pytest

from conftest import IS_REDIS
from helpers import NOT_INT, err, raw, raw_conn, read_until

DB_RANGE = "DB index is out of range"
SAME = "source and destination objects are the same"


@pytest.fixture
def db1(server, r):
    c = server.client(db=1)
    yield c
    c.close()


def scan_all(r, *opts):
    """Full SCAN iteration; returns (list of all keys returned, number of calls)."""
    cursor = b"0"
    keys = []
    calls = 0
    while True:
        cursor, batch = raw(r, "SCAN", cursor, *opts)
        calls += 1
        assert isinstance(cursor, bytes) and cursor.isdigit(), cursor
        keys.extend(batch)
        if cursor == b"0":
            return keys, calls
        assert calls < 100000


# ---------------------------------------------------------------- DEL / UNLINK / EXISTS

def test_del(r):
    r.mset({"a": 1, "b": 2, "c": 3})
    assert raw(r, "DEL", "a") == 1
    assert r.exists("a") == 0
    assert raw(r, "DEL", "a") == 0
    assert raw(r, "DEL", "b", "c", "missing") == 2
    assert r.dbsize() == 0
    r.set("d", 1)
    assert raw(r, "DEL", "d", "d", "d") == 1
    assert err(r, "DEL") == "wrong number of arguments for 'del' command"


def test_unlink(r):
    r.mset({"a": 1, "b": 2})
    assert raw(r, "UNLINK", "a", "b", "a", "x") == 2
    assert r.exists("a", "b") == 0
    assert raw(r, "UNLINK", "a") == 0


def test_del_then_recreate(r):
    r.set("k", "v", ex=100)
    r.delete("k")
    r.set("k", "w")
    assert r.get("k") == b"w"
    assert r.ttl("k") == -1


def test_exists_counts_duplicates(r):
    r.mset({"a": 1, "b": 2})
    assert raw(r, "EXISTS", "a") == 1
    assert raw(r, "EXISTS", "x") == 0
    assert raw(r, "EXISTS", "a", "a", "a") == 3
    assert raw(r, "EXISTS", "a", "b", "x", "b") == 3
    assert err(r, "EXISTS") == "wrong number of arguments for 'exists' command"


# ---------------------------------------------------------------- TYPE

def test_type(r):
    r.set("s", "v")
    r.set("i", 12)
    assert raw(r, "TYPE", "s") == b"string"
    assert raw(r, "TYPE", "i") == b"string"
    assert raw(r, "TYPE", "missing") == b"none"


# ---------------------------------------------------------------- KEYS

def test_keys_patterns(r):
    names = ["hello", "hallo", "hxllo", "hllo", "heeeello", "Hello", "world",
             "a*b", "axb", "a?b", "[x]", "x", "a\\b"]
    r.mset({n: 1 for n in names})

    def keys(p):
        return sorted(k.decode() for k in r.keys(p))

    assert keys("*") == sorted(names)
    assert keys("h?llo") == ["hallo", "hello", "hxllo"]
    assert keys("h*llo") == ["hallo", "heeeello", "hello", "hllo", "hxllo"]
    assert keys("h[ae]llo") == ["hallo", "hello"]
    assert keys("h[^e]llo") == ["hallo", "hxllo"]
    assert keys("h[a-b]llo") == ["hallo"]
    assert keys("h[a-x]llo") == ["hallo", "hello", "hxllo"]
    assert keys("[Hh]ello") == ["Hello", "hello"]
    assert keys("hello") == ["hello"]           # case sensitive, exact
    assert keys("HELLO") == []
    assert keys("a*b") == ["a*b", "a?b", "a\\b", "axb"]
    assert keys("a\\*b") == ["a*b"]               # escaped star
    assert keys("a\\?b") == ["a?b"]               # escaped question mark
    assert keys("\\[x\\]") == ["[x]"]             # escaped brackets
    assert keys("a\\\\b") == ["a\\b"]             # escaped backslash
    assert keys("?") == ["x"]
    assert keys("*o") == ["Hello", "hallo", "heeeello", "hello", "hllo", "hxllo"]
    assert keys("w*") == ["world"]
    assert keys("nomatch*") == []


def test_keys_empty_and_binary(r):
    assert r.keys("*") == []
    r.set(b"bin\x00key", 1)
    r.set(b"bin\xffkey", 2)
    assert sorted(r.keys(b"bin?key")) == [b"bin\x00key", b"bin\xffkey"]
    assert r.keys(b"bin\x00*") == [b"bin\x00key"]


def test_keys_skips_expired(r):
    r.set("live", 1)
    r.set("dying", 1, px=30)
    time.sleep(0.08)
    assert r.keys("*") == [b"live"]


# ---------------------------------------------------------------- SCAN

def test_scan_full_iteration(r):
    names = {("key:%d" % i).encode() for i in range(1000)}
    r.mset({n: 1 for n in names})
    keys, calls = scan_all(r)
    assert set(keys) == names
    assert calls >= 2  # default COUNT is 10, so 1000 keys can't come back in one call


def test_scan_empty_db(r):
    assert raw(r, "SCAN", "0") == [b"0", []]


def test_scan_match(r):
    r.mset({("user:%d" % i): 1 for i in range(300)})
    r.mset({("other:%d" % i): 1 for i in range(300)})
    keys, _ = scan_all(r, "MATCH", "user:*")
    assert set(keys) == {("user:%d" % i).encode() for i in range(300)}
    keys, _ = scan_all(r, "MATCH", "user:1?", "COUNT", "50")
    assert set(keys) == {("user:1%d" % i).encode() for i in range(10)}
    keys, _ = scan_all(r, "MATCH", "nothing*")
    assert keys == []


def test_scan_count(r):
    r.mset({("k%d" % i): 1 for i in range(500)})
    keys, calls_big = scan_all(r, "COUNT", "1000")
    assert set(keys) == {("k%d" % i).encode() for i in range(500)}
    keys, calls_small = scan_all(r, "COUNT", "5")
    assert set(keys) == {("k%d" % i).encode() for i in range(500)}
    assert calls_small > calls_big
    assert err(r, "SCAN", "0", "COUNT", "0") == "syntax error"
    assert err(r, "SCAN", "0", "COUNT", "-1") == "syntax error"
    assert err(r, "SCAN", "0", "COUNT", "abc") == NOT_INT


def test_scan_type(r):
    r.mset({("s%d" % i): 1 for i in range(50)})
    keys, _ = scan_all(r, "TYPE", "string")
    assert set(keys) == {("s%d" % i).encode() for i in range(50)}
    keys, _ = scan_all(r, "TYPE", "list")
    assert keys == []
    keys, _ = scan_all(r, "TYPE", "STRING", "MATCH", "s1*", "COUNT", "7")
    assert set(keys) == {b"s1"} | {("s1%d" % i).encode() for i in range(10)}


def test_scan_cursor_is_string_integer(server, r):
    r.mset({("k%d" % i): 1 for i in range(100)})
    s = raw_conn(server.port)
    try:
        s.sendall(b"*4\r\n$4\r\nSCAN\r\n$1\r\n0\r\n$5\r\nCOUNT\r\n$1\r\n5\r\n")
        buf = read_until(s, b"\r\n")
        # reply is a 2-element array whose first element is a bulk string cursor
        assert buf.startswith(b"*2\r\n$")
    finally:
        s.close()
    cursor, batch = raw(r, "SCAN", "0", "COUNT", "5")
    assert isinstance(cursor, bytes) and cursor.isdigit() and cursor != b"0"
    assert len(batch) >= 1
    # passing the cursor back (as text) continues the iteration
    cursor2, batch2 = raw(r, "SCAN", cursor.decode(), "COUNT", "5")
    assert cursor2.isdigit()


@pytest.mark.parametrize("cursor", ["abc", "1x", "18446744073709551616", "1.5", "0x10"])
def test_scan_invalid_cursor(r, cursor):
    r.set("a", 1)
    assert err(r, "SCAN", cursor) == "invalid cursor"


def test_scan_option_errors(r):
    assert err(r, "SCAN", "0", "MATCH") == "syntax error"
    assert err(r, "SCAN", "0", "FOO", "bar") == "syntax error"
    assert err(r, "SCAN") == "wrong number of arguments for 'scan' command"


def test_scan_with_concurrent_modification(r):
    stable = {("stable:%d" % i).encode() for i in range(1000)}
    doomed = ["doomed:%d" % i for i in range(500)]
    r.mset({n: 1 for n in stable})
    r.mset({n: 1 for n in doomed})
    seen = set()
    cursor = b"0"
    calls = 0
    while True:
        cursor, batch = raw(r, "SCAN", cursor, "COUNT", "20")
        seen.update(batch)
        calls += 1
        if calls == 5:
            # add many keys and delete some in the middle of the scan
            r.mset({("new:%d" % i): 1 for i in range(2000)})
            r.delete(*doomed)
        if cursor == b"0":
            break
        assert calls < 100000
    assert stable <= seen
    # nothing that never existed is returned
    allowed = stable | {d.encode() for d in doomed} | {("new:%d" % i).encode() for i in range(2000)}
    assert seen <= allowed


# ---------------------------------------------------------------- RENAME / RENAMENX

def test_rename(r):
    r.set("a", "1")
    assert raw(r, "RENAME", "a", "b") == b"OK"
    assert r.exists("a") == 0
    assert r.get("b") == b"1"
    r.set("c", "3")
    assert raw(r, "RENAME", "b", "c") == b"OK"   # overwrites destination
    assert r.get("c") == b"1"
    assert r.dbsize() == 1


def test_rename_errors_and_same_key(r):
    assert err(r, "RENAME", "missing", "x") == "no such key"
    assert err(r, "RENAME", "missing", "missing") == "no such key"
    assert r.exists("x") == 0
    r.set("a", "1")
    assert raw(r, "RENAME", "a", "a") == b"OK"
    assert r.get("a") == b"1"


def test_rename_keeps_ttl(r):
    r.set("a", "1", ex=100)
    r.set("b", "2")
    r.rename("a", "b")
    assert 98 <= r.ttl("b") <= 100
    # and a destination TTL is replaced by the source's (none)
    r.set("c", "3")
    r.set("d", "4", ex=100)
    r.rename("c", "d")
    assert r.ttl("d") == -1
    assert r.get("d") == b"3"


def test_renamenx(r):
    r.set("a", "1")
    r.set("b", "2")
    assert raw(r, "RENAMENX", "a", "b") == 0
    assert r.mget("a", "b") == [b"1", b"2"]
    assert raw(r, "RENAMENX", "a", "c") == 1
    assert r.exists("a") == 0
    assert r.get("c") == b"1"
    assert raw(r, "RENAMENX", "c", "c") == 0
    assert r.get("c") == b"1"
    assert err(r, "RENAMENX", "missing", "z") == "no such key"


def test_rename_binary(r):
    r.set(b"a\x00", b"v\x00")
    r.rename(b"a\x00", b"b\x00")
    assert r.get(b"b\x00") == b"v\x00"
    assert r.exists(b"a\x00") == 0


# ---------------------------------------------------------------- COPY

def test_copy(r):
    r.set("src", "v")
    assert raw(r, "COPY", "src", "dst") == 1
    assert r.mget("src", "dst") == [b"v", b"v"]
    r.set("src", "w")
    assert r.get("dst") == b"v"  # independent copy
    assert raw(r, "COPY", "src", "dst") == 0
    assert r.get("dst") == b"v"
    assert raw(r, "COPY", "src", "dst", "REPLACE") == 1
    assert r.get("dst") == b"w"
    assert raw(r, "COPY", "missing", "dst2") == 0
    assert r.exists("dst2") == 0
    assert err(r, "COPY", "src", "src") == SAME


def test_copy_keeps_ttl(r):
    r.set("src", "v", ex=100)
    r.copy("src", "dst")
    assert 98 <= r.ttl("dst") <= 100
    r.set("plain", "p")
    r.set("t", "x", ex=100)
    raw(r, "COPY", "plain", "t", "REPLACE")
    assert r.ttl("t") == -1
    assert r.get("t") == b"p"


def test_copy_db(r, db1):
    r.set("src", "v")
    assert raw(r, "COPY", "src", "src", "DB", "1") == 1
    assert db1.get("src") == b"v"
    assert raw(r, "COPY", "src", "other", "DB", "1") == 1
    assert db1.get("other") == b"v"
    assert r.exists("other") == 0
    db1.set("taken", "old")
    assert raw(r, "COPY", "src", "taken", "DB", "1") == 0
    assert db1.get("taken") == b"old"
    assert raw(r, "COPY", "src", "taken", "DB", "1", "REPLACE") == 1
    assert db1.get("taken") == b"v"
    assert err(r, "COPY", "src", "x", "DB", "16") == DB_RANGE
    assert err(r, "COPY", "src", "x", "DB", "-1") == DB_RANGE
    assert err(r, "COPY", "src", "x", "DB", "abc") == NOT_INT
    assert err(r, "COPY", "src", "x", "FOO") == "syntax error"
    assert r.get("src") == b"v"


# ---------------------------------------------------------------- MOVE

def test_move(r, db1):
    r.set("k", "v", ex=100)
    assert raw(r, "MOVE", "k", "1") == 1
    assert r.exists("k") == 0
    assert db1.get("k") == b"v"
    assert 98 <= db1.ttl("k") <= 100
    assert raw(r, "MOVE", "k", "1") == 0   # missing in source
    r.set("k", "other")
    assert raw(r, "MOVE", "k", "1") == 0   # exists in target
    assert r.get("k") == b"other"
    assert db1.get("k") == b"v"


def test_move_errors(r):
    r.set("k", "v")
    assert err(r, "MOVE", "k", "0") == SAME
    assert err(r, "MOVE", "k", "16") == DB_RANGE
    assert err(r, "MOVE", "k", "-1") == DB_RANGE
    assert err(r, "MOVE", "k", "abc") == NOT_INT
    assert r.get("k") == b"v"


# ---------------------------------------------------------------- RANDOMKEY / TOUCH

def test_randomkey(r):
    assert raw(r, "RANDOMKEY") is None
    r.set("only", 1)
    assert raw(r, "RANDOMKEY") == b"only"
    names = {("k%d" % i).encode() for i in range(20)}
    r.mset({n: 1 for n in names})
    got = {raw(r, "RANDOMKEY") for _ in range(200)}
    assert got <= names | {b"only"}
    assert len(got) > 3


def test_randomkey_skips_expired(r):
    r.set("dying", 1, px=30)
    time.sleep(0.08)
    assert raw(r, "RANDOMKEY") is None
    r.set("live", 1)
    assert raw(r, "RANDOMKEY") == b"live"


def test_touch(r):
    r.mset({"a": 1, "b": 2})
    assert raw(r, "TOUCH", "a", "b", "c") == 2
    assert raw(r, "TOUCH", "a", "a") == 2
    assert raw(r, "TOUCH", "x") == 0
    assert r.get("a") == b"1"


# ---------------------------------------------------------------- SELECT / DBSIZE / FLUSH*

def test_select(server, r):
    c = server.client(single_connection_client=True)
    try:
        for db in range(16):
            assert raw(c, "SELECT", str(db)) == b"OK"
            c.set("dbkey", "db%d" % db)
        for db in (0, 7, 15):
            c.execute_command("SELECT", db)
            assert c.get("dbkey") == ("db%d" % db).encode()
            assert c.dbsize() == 1
        assert err(c, "SELECT", "16") == DB_RANGE
        assert err(c, "SELECT", "-1") == DB_RANGE
        assert err(c, "SELECT", "abc") == NOT_INT
        # a failed SELECT leaves the current db unchanged
        assert c.get("dbkey") == b"db15"
    finally:
        c.close()


def test_select_raw(server, r):
    r.set("k", "db0")
    s = raw_conn(server.port)
    try:
        s.sendall(b"*2\r\n$6\r\nSELECT\r\n$1\r\n5\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$3\r\ndb5\r\n"
                  b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        assert read_until(s, b"db5\r\n") == b"+OK\r\n+OK\r\n$3\r\ndb5\r\n"
    finally:
        s.close()
    assert r.get("k") == b"db0"
    c5 = server.client(db=5)
    assert c5.get("k") == b"db5"
    c5.close()


def test_dbsize(r, db1):
    assert raw(r, "DBSIZE") == 0
    r.mset({("k%d" % i): 1 for i in range(25)})
    assert raw(r, "DBSIZE") == 25
    db1.set("x", 1)
    assert raw(r, "DBSIZE") == 25
    assert db1.dbsize() == 1
    r.delete("k0", "k1")
    assert raw(r, "DBSIZE") == 23


def test_flushdb(r, db1):
    r.mset({"a": 1, "b": 2})
    db1.set("c", 3)
    assert raw(r, "FLUSHDB") == b"OK"
    assert r.dbsize() == 0
    assert r.get("a") is None
    assert db1.get("c") == b"3"
    r.set("d", 4)
    assert raw(r, "FLUSHDB", "ASYNC") == b"OK"
    assert r.dbsize() == 0
    r.set("e", 5)
    assert raw(r, "FLUSHDB", "SYNC") == b"OK"
    assert r.exists("e") == 0
    assert err(r, "FLUSHDB", "FOO") == "syntax error"
    assert db1.dbsize() == 1


def test_flushall(r, db1, server):
    r.set("a", 1)
    db1.set("b", 2)
    c9 = server.client(db=9)
    c9.set("c", 3)
    assert raw(r, "FLUSHALL") == b"OK"
    assert r.dbsize() == 0
    assert db1.dbsize() == 0
    assert c9.dbsize() == 0
    r.set("a", 1)
    assert raw(r, "FLUSHALL", "SYNC") == b"OK"
    assert r.dbsize() == 0
    c9.close()
    assert err(r, "FLUSHALL", "FOO") == "syntax error"


def test_databases_are_independent(r, db1):
    r.set("k", "zero", ex=100)
    db1.set("k", "one")
    assert r.get("k") == b"zero"
    assert db1.get("k") == b"one"
    assert db1.ttl("k") == -1
    db1.delete("k")
    assert r.get("k") == b"zero"
    assert r.keys("*") == [b"k"]
    assert db1.keys("*") == []


# ---------------------------------------------------------------- OBJECT

@pytest.mark.parametrize("value,enc", [
    (b"123", b"int"),
    (b"-1", b"int"),
    (b"0", b"int"),
    (b"9223372036854775807", b"int"),
    (b"-9223372036854775808", b"int"),
    (b"9223372036854775808", b"embstr"),
    (b"0123", b"embstr"),
    (b" 1", b"embstr"),
    (b"1.5", b"embstr"),
    (b"abc", b"embstr"),
    (b"", b"embstr"),
    (b"x" * 44, b"embstr"),
    (b"x" * 45, b"raw"),
    (b"y" * 1000, b"raw"),
])
def test_object_encoding_set(r, value, enc):
    r.set("k", value)
    assert raw(r, "OBJECT", "ENCODING", "k") == enc
    assert r.get("k") == value


def test_object_encoding_after_modification(r):
    r.set("k", "ab")
    r.append("k", "c")
    assert raw(r, "OBJECT", "ENCODING", "k") == b"raw"
    r.set("k", "abc")
    r.setrange("k", 1, "x")
    assert raw(r, "OBJECT", "ENCODING", "k") == b"raw"
    r.set("n", "abc")
    r.delete("n")
    r.incr("n")
    assert raw(r, "OBJECT", "ENCODING", "n") == b"int"
    r.set("n", "5")
    r.incrby("n", 100)
    assert raw(r, "OBJECT", "ENCODING", "n") == b"int"
    assert raw(r, "OBJECT", "ENCODING", "missing") is None


def test_object_encoding_sorted_set_and_stream(r):
    # listpack up to 128 members of at most 64 bytes, else skiplist
    r.zadd("z", {"a": 1, "x" * 64: 2})
    assert raw(r, "OBJECT", "ENCODING", "z") == b"listpack"
    r.zadd("z2", {"m%d" % i: i for i in range(129)})
    assert raw(r, "OBJECT", "ENCODING", "z2") == b"skiplist"
    r.zadd("z3", {"y" * 65: 1})
    assert raw(r, "OBJECT", "ENCODING", "z3") == b"skiplist"
    r.sadd("si", *range(512))                    # integers: intset up to 512
    assert raw(r, "OBJECT", "ENCODING", "si") == b"intset"
    r.sadd("si2", *range(513))
    assert raw(r, "OBJECT", "ENCODING", "si2") == b"hashtable"
    r.sadd("sbig", "x" * 65)
    assert raw(r, "OBJECT", "ENCODING", "sbig") == b"hashtable"
    r.xadd("x", {"f": "v"})
    assert raw(r, "OBJECT", "ENCODING", "x") == b"stream"


@pytest.mark.skipif(IS_REDIS, reason="listpack sets and lists are Redis 7.2 (7.0 says hashtable / quicklist)")
def test_object_encoding_set_and_list_72(r):
    r.sadd("s", "a", "1")                        # not all integers: listpack up to 128 small members
    assert raw(r, "OBJECT", "ENCODING", "s") == b"listpack"
    r.sadd("s01", "01")                          # "01" is not an integer to Redis
    assert raw(r, "OBJECT", "ENCODING", "s01") == b"listpack"
    r.sadd("s2", *["m%d" % i for i in range(129)])
    assert raw(r, "OBJECT", "ENCODING", "s2") == b"hashtable"
    r.rpush("l", "a")                            # one listpack while it fits in 8 KB
    assert raw(r, "OBJECT", "ENCODING", "l") == b"listpack"
    r.rpush("l2", *["v" * 100 for _ in range(100)])
    assert raw(r, "OBJECT", "ENCODING", "l2") == b"quicklist"
    r.rpush("l3", *range(5000))
    assert raw(r, "OBJECT", "ENCODING", "l3") == b"quicklist"
    r.ltrim("l2", 0, 9)                          # 7.2 converts a list back when it is small again
    assert raw(r, "OBJECT", "ENCODING", "l2") == b"listpack"


def test_object_encoding_hash(r):
    # listpack up to 512 fields with no field or value over 64 bytes, else hashtable
    r.hset("h", mapping={"f%d" % i: "v" for i in range(512)})
    r.hset("h", "x" * 64, "y" * 64)
    assert raw(r, "OBJECT", "ENCODING", "h") == b"hashtable"      # 513 fields
    r.hset("small", mapping={"a": "1", "x" * 64: "y" * 64})
    assert raw(r, "OBJECT", "ENCODING", "small") == b"listpack"
    r.hset("longval", mapping={"a": "1", "b": "y" * 65})
    assert raw(r, "OBJECT", "ENCODING", "longval") == b"hashtable"
    r.hset("longfield", mapping={"a": "1", "x" * 65: "1"})
    assert raw(r, "OBJECT", "ENCODING", "longfield") == b"hashtable"
    r.hset("grown", "n", "1.5")
    assert raw(r, "OBJECT", "ENCODING", "grown") == b"listpack"
    r.hset("grown", "n", "9" * 65)                                  # overwritten, longer
    assert raw(r, "OBJECT", "ENCODING", "grown") == b"hashtable"


def test_object_help_and_errors(r):
    help_lines = raw(r, "OBJECT", "HELP")
    assert isinstance(help_lines, list) and len(help_lines) > 3
    assert all(isinstance(x, bytes) for x in help_lines)
    assert help_lines[0].startswith(b"OBJECT <subcommand>")
    assert any(x.startswith(b"ENCODING") for x in help_lines)
    assert any(x.startswith(b"HELP") for x in help_lines)
    assert err(r, "OBJECT", "foo") == "unknown subcommand 'foo'. Try OBJECT HELP."
    assert err(r, "OBJECT") == "wrong number of arguments for 'object' command"
    assert err(r, "OBJECT", "ENCODING") == "wrong number of arguments for 'object|encoding' command"
