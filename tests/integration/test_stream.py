"""Streams: XADD XLEN XRANGE XREVRANGE XDEL XTRIM, and streams as keys.

Every expectation holds against a real Redis too:
    SOLIDIS_BIN=/usr/bin/redis-server /usr/bin/python3 -m pytest -q -p no:cacheprovider \
        tests/integration/test_stream.py
Solidis trims "~" exactly where Redis frees only whole radix-tree nodes, so the
tests of "~" use thresholds where both agree (a small stream kept whole, or
trimmed to nothing), and the exact-trim behaviour is a Solidis-only test.
XREAD, consumer groups, XINFO and XSETID are not implemented.
"""
import time

import pytest
import redis

from conftest import IS_REDIS
from helpers import RespClient, WRONGTYPE, drain, err, psubscribed, raw as rawcmd

INVALID_ID = "Invalid stream ID specified as stream command argument"
TOP_ITEM = "The ID specified in XADD is equal or smaller than the target stream top item"
ZERO_ID = "The ID specified in XADD must be greater than 0-0"
U64 = 18446744073709551615


def entries(r, *args):
    return rawcmd(r, *args)


# --------------------------------------------------------------------------- XADD ids

def test_xadd_explicit_partial_and_auto_ids(r):
    assert r.xadd("s", {"a": "1"}, id="1-1") == b"1-1"
    assert r.xadd("s", {"a": "2"}, id="1-*") == b"1-2"
    assert r.xadd("s", {"a": "3"}, id="5-*") == b"5-0"
    assert r.xadd("s", {"a": "4"}, id="7") == b"7-0"
    before = int(time.time() * 1000)
    ms, seq = r.xadd("s", {"a": "5"}).split(b"-")
    assert int(ms) >= before - 5 and seq == b"0"
    assert r.xlen("s") == 5
    # an auto id never goes back in time: after a far-future id it takes the next seq
    r.xadd("s", {"a": "6"}, id="%d-5" % (int(time.time() * 1000) + 10 ** 7))
    last = r.xadd("s", {"a": "7"})
    assert last.endswith(b"-6")


def test_xadd_id_errors(r):
    r.xadd("s", {"a": "1"}, id="5-5")
    for bad in ("5-5", "5-4", "4-9", "4", "4-*"):
        assert err(r, "XADD", "s", bad, "f", "v") == TOP_ITEM, bad
    assert err(r, "XADD", "s", "0-0", "f", "v") == ZERO_ID
    assert err(r, "XADD", "new", "0", "f", "v") == ZERO_ID
    assert r.exists("new") == 0
    for bad in ("-", "+", "foo", "1-2-3", "1-x", "-1", "", "18446744073709551616-0", "1-18446744073709551616",
                "1" * 130):
        assert err(r, "XADD", "s", bad, "f", "v") == INVALID_ID, bad
    assert r.xadd("z", {"f": "v"}, id="0-*") == b"0-1"
    assert r.xadd("s", {"f": "v"}, id="5-*") == b"5-6"


def test_xadd_last_possible_id(r):
    assert r.xadd("s", {"f": "v"}, id="%d-*" % U64) == b"%d-0" % U64
    assert rawcmd(r, "XADD", "s", "%d-%d" % (U64, U64), "f", "v") == b"%d-%d" % (U64, U64)
    with pytest.raises(redis.ResponseError, match="exhausted the last possible ID"):
        r.xadd("s", {"f": "v"})
    with pytest.raises(redis.ResponseError, match="exhausted the last possible ID"):
        r.xadd("s", {"f": "v"}, id="%d-*" % U64)


@pytest.mark.skipif(IS_REDIS, reason="7.2 behaviour: Redis 7.0 answers 'Elements are too large to be stored'")
def test_xadd_seq_exhausted_for_ms_star(r):
    r.xadd("s", {"f": "v"}, id="5-%d" % U64)
    assert err(r, "XADD", "s", "5-*", "f", "v") == TOP_ITEM
    assert r.xadd("s", {"f": "v"}, id="6-*") == b"6-0"


def test_xadd_arity_and_syntax(r):
    arity = "wrong number of arguments for 'xadd' command"
    for args in (("s", "*", "f"), ("s", "1-1", "a", "b", "c"), ("s", "MAXLEN", "5"),
                 ("s", "NOMKSTREAM", "*", "f")):
        assert err(r, "XADD", *args) == arity, args
    assert err(r, "XADD", "s", "MAXLEN", "-1", "*", "f", "v") == "The MAXLEN argument must be >= 0."
    assert err(r, "XADD", "s", "MAXLEN", "x", "*", "f", "v") == "value is not an integer or out of range"
    assert err(r, "XADD", "s", "MAXLEN", "1", "MINID", "1", "*", "f", "v") == \
        "syntax error, MAXLEN and MINID options at the same time are not compatible"
    assert err(r, "XADD", "s", "MAXLEN", "1", "LIMIT", "5", "*", "f", "v") == \
        "syntax error, LIMIT cannot be used without the special ~ option"
    assert err(r, "XADD", "s", "LIMIT", "5", "*", "f", "v") == \
        "syntax error, LIMIT cannot be used without specifying a trimming strategy"
    assert err(r, "XADD", "s", "MAXLEN", "~", "1", "LIMIT", "-1", "*", "f", "v") == "The LIMIT argument must be >= 0."
    assert err(r, "XADD", "s", "MINID", "-", "*", "f", "v") == INVALID_ID
    assert err(r, "XADD", "s", "MINID", "5-*", "*", "f", "v") == INVALID_ID
    assert err(r, "XADD", "s", "BOGUS", "f", "v") == INVALID_ID  # not an option, so an id
    assert r.exists("s") == 0


def test_xadd_same_field_twice_and_binary(r):
    r.execute_command("XADD", "s", "1-1", "f", "v1", "f", "v2")
    r.execute_command("XADD", "s", "1-2", "", "", b"\x00\xff k", b"a\r\nb")
    assert entries(r, "XRANGE", "s", "-", "+") == [
        [b"1-1", [b"f", b"v1", b"f", b"v2"]],
        [b"1-2", [b"", b"", b"\x00\xff k", b"a\r\nb"]],
    ]


def test_xadd_nomkstream(r):
    assert rawcmd(r, "XADD", "s", "NOMKSTREAM", "*", "f", "v") is None
    assert r.exists("s") == 0
    r.xadd("s", {"f": "v"}, id="1-1")
    assert r.xadd("s", {"f": "v"}, id="2-1", nomkstream=True) == b"2-1"
    assert r.xlen("s") == 2


def test_xadd_trims(r):
    for i in range(1, 6):
        r.xadd("s", {"i": str(i)}, id="%d-0" % i)
    assert r.xadd("s", {"i": "6"}, id="6-0", maxlen=3, approximate=False) == b"6-0"
    assert [e[0] for e in entries(r, "XRANGE", "s", "-", "+")] == [b"4-0", b"5-0", b"6-0"]
    assert rawcmd(r, "XADD", "s", "MAXLEN", "=", "2", "7-0", "i", "7") == b"7-0"
    assert r.xlen("s") == 2
    assert rawcmd(r, "XADD", "s", "MINID", "7", "8-0", "i", "8") == b"8-0"
    assert [e[0] for e in entries(r, "XRANGE", "s", "-", "+")] == [b"7-0", b"8-0"]
    # MAXLEN 0 trims the new entry too: the stream stays, empty, and remembers its id
    assert rawcmd(r, "XADD", "s", "MAXLEN", "0", "9-0", "i", "9") == b"9-0"
    assert r.xlen("s") == 0 and r.exists("s") == 1 and r.type("s") == b"stream"
    assert err(r, "XADD", "s", "9-0", "f", "v") == TOP_ITEM
    # "~" with a threshold both trim alike (nothing to drop on a small stream)
    assert rawcmd(r, "XADD", "s", "MAXLEN", "~", "10", "10-0", "i", "10") == b"10-0"
    assert rawcmd(r, "XADD", "s", "MAXLEN", "~", "10", "LIMIT", "0", "11-0", "i", "11") == b"11-0"
    assert r.xlen("s") == 2


# --------------------------------------------------------------------------- XRANGE / XREVRANGE

@pytest.fixture
def s5(r):
    for ms, seq in ((1, 0), (1, 1), (2, 0), (3, 5), (4, 0)):
        r.xadd("s", {"k": "%d-%d" % (ms, seq)}, id="%d-%d" % (ms, seq))
    return r


def ids(r, *args):
    return [e[0].decode() for e in entries(r, *args)]


def test_xrange_bounds(s5):
    r = s5
    assert ids(r, "XRANGE", "s", "-", "+") == ["1-0", "1-1", "2-0", "3-5", "4-0"]
    assert ids(r, "XREVRANGE", "s", "+", "-") == ["4-0", "3-5", "2-0", "1-1", "1-0"]
    assert ids(r, "XRANGE", "s", "1", "1") == ["1-0", "1-1"]        # ms alone: ms-0 .. ms-max
    assert ids(r, "XRANGE", "s", "1-1", "3") == ["1-1", "2-0", "3-5"]
    assert ids(r, "XRANGE", "s", "(1-1", "(4-0") == ["2-0", "3-5"]
    assert ids(r, "XRANGE", "s", "(1-1", "(4") == ["2-0", "3-5", "4-0"]    # (4 ends before 4-max
    assert ids(r, "XRANGE", "s", "(1", "+") == ["1-1", "2-0", "3-5", "4-0"]  # (1 is after 1-0
    assert ids(r, "XREVRANGE", "s", "(3-5", "(1-0") == ["2-0", "1-1"]
    assert ids(r, "XRANGE", "s", "3", "2") == []
    assert ids(r, "XREVRANGE", "s", "2", "3") == []
    assert ids(r, "XRANGE", "s", "%d" % U64, "+") == []
    assert ids(r, "XRANGE", "nokey", "-", "+") == []
    assert entries(r, "XRANGE", "s", "2", "2") == [[b"2-0", [b"k", b"2-0"]]]


def test_xrange_count(s5):
    r = s5
    assert ids(r, "XRANGE", "s", "-", "+", "COUNT", "2") == ["1-0", "1-1"]
    assert ids(r, "XREVRANGE", "s", "+", "-", "COUNT", "1") == ["4-0"]
    assert ids(r, "XREVRANGE", "s", "+", "-", "count", "1", "COUNT", "3") == ["4-0", "3-5", "2-0"]
    assert ids(r, "XRANGE", "s", "-", "+", "COUNT", "100") == ["1-0", "1-1", "2-0", "3-5", "4-0"]
    assert rawcmd(r, "XRANGE", "s", "-", "+", "COUNT", "0") is None
    assert rawcmd(r, "XRANGE", "s", "-", "+", "COUNT", "-3") is None
    assert rawcmd(r, "XRANGE", "nokey", "-", "+", "COUNT", "0") == []


def test_xrange_errors(s5):
    r = s5
    for start in ("foo", "(", "(-", "(+", "1-2-3", "-1"):
        assert err(r, "XRANGE", "s", start, "+") == INVALID_ID, start
    assert err(r, "XRANGE", "s", "-", "(+") == INVALID_ID
    assert err(r, "XRANGE", "s", "(%d-%d" % (U64, U64), "+") == "invalid start ID for the interval"
    assert err(r, "XRANGE", "s", "-", "(0-0") == "invalid end ID for the interval"
    assert err(r, "XRANGE", "s", "-", "+", "COUNT") == "syntax error"
    assert err(r, "XRANGE", "s", "-", "+", "LIMIT", "1") == "syntax error"
    assert err(r, "XRANGE", "s", "-", "+", "COUNT", "x") == "value is not an integer or out of range"
    assert err(r, "XRANGE", "s", "-") == "wrong number of arguments for 'xrange' command"
    assert err(r, "XREVRANGE", "s", "+") == "wrong number of arguments for 'xrevrange' command"


RESP_RANGE = (b"*2\r\n*2\r\n$3\r\n1-1\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$0\r\n\r\n"
              b"*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n")


@pytest.mark.parametrize("resp", [2, 3])
def test_reply_shapes(server, r, resp):
    c = RespClient(server.port, replies="bytes")
    try:
        if resp == 3:
            c.call("HELLO", "3")
        null_array = b"*-1\r\n" if resp == 2 else b"_\r\n"
        null_bulk = b"$-1\r\n" if resp == 2 else b"_\r\n"
        assert c.call("XADD", "s", "1-1", "a", "1", "b", "") == b"$3\r\n1-1\r\n"
        assert c.call("XADD", "s", "2", "c", "3") == b"$3\r\n2-0\r\n"
        assert c.call("XLEN", "s") == b":2\r\n"
        assert c.call("XRANGE", "s", "-", "+") == RESP_RANGE
        assert c.call("XREVRANGE", "s", "+", "-", "COUNT", "1") == \
            b"*1\r\n*2\r\n$3\r\n2-0\r\n*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
        assert c.call("XRANGE", "s", "-", "+", "COUNT", "0") == null_array
        assert c.call("XRANGE", "s", "3", "+") == b"*0\r\n"
        assert c.call("XRANGE", "nokey", "-", "+") == b"*0\r\n"
        assert c.call("XADD", "nokey", "NOMKSTREAM", "*", "a", "b") == null_bulk
        assert c.call("XDEL", "s", "1-1", "9-9") == b":1\r\n"
        assert c.call("XTRIM", "s", "MAXLEN", "0") == b":1\r\n"
        assert c.call("XTRIM", "nokey", "MAXLEN", "0") == b":0\r\n"
        assert c.call("XLEN", "nokey") == b":0\r\n"
        assert c.call("TYPE", "s") == b"+stream\r\n"
    finally:
        c.close()


# --------------------------------------------------------------------------- XDEL / XTRIM

def test_xdel(s5):
    r = s5
    assert r.xdel("s", "1-1", "1-1", "9-9") == 1
    assert r.xdel("s", "2") == 1                    # ms alone is ms-0
    assert r.xlen("s") == 3
    assert ids(r, "XRANGE", "s", "-", "+") == ["1-0", "3-5", "4-0"]
    assert err(r, "XDEL", "s", "3-5", "foo") == INVALID_ID  # all ids checked first
    assert err(r, "XDEL", "s", "-") == INVALID_ID
    assert r.xlen("s") == 3
    assert r.xdel("nokey", "foo") == 0               # no key: no id check
    assert r.xdel("s", "1-0", "3-5", "4-0") == 3
    assert r.xlen("s") == 0 and r.exists("s") == 1 and r.type("s") == b"stream"
    assert ids(r, "XRANGE", "s", "-", "+") == []
    assert err(r, "XDEL", "s") == "wrong number of arguments for 'xdel' command"


def test_last_id_survives_xdel_and_xtrim(r):
    r.xadd("s", {"f": "v"}, id="5-5")
    r.xdel("s", "5-5")
    assert err(r, "XADD", "s", "5-5", "f", "v") == TOP_ITEM
    assert r.xadd("s", {"f": "v"}, id="5-*") == b"5-6"
    r.xtrim("s", maxlen=0)
    assert err(r, "XADD", "s", "5-6", "f", "v") == TOP_ITEM
    assert r.xadd("s", {"f": "v"}, id="5-*") == b"5-7"
    assert r.xlen("s") == 1


def test_xtrim(s5):
    r = s5
    assert r.xtrim("s", maxlen=10) == 0
    assert rawcmd(r, "XTRIM", "s", "MAXLEN", "=", "4") == 1
    assert ids(r, "XRANGE", "s", "-", "+") == ["1-1", "2-0", "3-5", "4-0"]
    assert rawcmd(r, "XTRIM", "s", "MINID", "3") == 2
    assert ids(r, "XRANGE", "s", "-", "+") == ["3-5", "4-0"]
    assert rawcmd(r, "XTRIM", "s", "MINID", "3-5") == 0
    assert rawcmd(r, "XTRIM", "s", "MINID", "=", "3-6") == 1
    assert rawcmd(r, "XTRIM", "s", "MINID", "0") == 0
    assert rawcmd(r, "XTRIM", "s", "MAXLEN", "~", "5") == 0
    assert rawcmd(r, "XTRIM", "s", "MAXLEN", "~", "0") == 1   # the whole (only) node goes in Redis too
    assert r.xlen("s") == 0 and r.exists("s") == 1
    assert rawcmd(r, "XTRIM", "s", "MAXLEN", "0") == 0
    assert rawcmd(r, "XTRIM", "nokey", "MINID", "5") == 0


def test_xtrim_errors(s5):
    r = s5
    assert err(r, "XTRIM", "s", "FOO", "1") == "syntax error"
    assert err(r, "XTRIM", "s", "MAXLEN", "~") == "value is not an integer or out of range"
    assert err(r, "XTRIM", "s", "MINID", "~") == INVALID_ID
    assert err(r, "XTRIM", "s", "NOMKSTREAM", "MAXLEN", "1") == "syntax error"
    assert err(r, "XTRIM", "s", "LIMIT", "1") == \
        "syntax error, LIMIT cannot be used without specifying a trimming strategy"
    assert err(r, "XTRIM", "s", "LIMIT", "0") == "syntax error, XTRIM must be called with a trimming strategy"
    assert err(r, "XTRIM", "s", "MAXLEN", "1", "LIMIT", "1") == \
        "syntax error, LIMIT cannot be used without the special ~ option"
    assert err(r, "XTRIM", "s", "MAXLEN", "=", "1", "LIMIT", "1") == \
        "syntax error, LIMIT cannot be used without the special ~ option"
    assert err(r, "XTRIM", "s", "MAXLEN", "-1") == "The MAXLEN argument must be >= 0."
    assert err(r, "XTRIM", "s", "MAXLEN", "~", "1", "LIMIT", "-1") == "The LIMIT argument must be >= 0."
    assert err(r, "XTRIM", "s", "MAXLEN", "x") == "value is not an integer or out of range"
    assert err(r, "XTRIM", "s", "MINID", "-") == INVALID_ID
    assert err(r, "XTRIM", "s", "MINID", "1", "MAXLEN", "1") == \
        "syntax error, MAXLEN and MINID options at the same time are not compatible"
    assert err(r, "XTRIM", "s", "MAXLEN", "1", "*") == "syntax error"
    assert err(r, "XTRIM", "s", "MAXLEN") == "wrong number of arguments for 'xtrim' command"
    assert r.xlen("s") == 5


@pytest.mark.skipif(IS_REDIS, reason="Solidis trims '~' exactly; Redis frees whole nodes only")
def test_approximate_trim_is_exact_and_limited(r):
    for i in range(1, 31):
        r.xadd("s", {"i": str(i)}, id="%d-0" % i)
    assert rawcmd(r, "XTRIM", "s", "MAXLEN", "~", "25") == 5
    assert rawcmd(r, "XTRIM", "s", "MAXLEN", "~", "0", "LIMIT", "4") == 4
    assert rawcmd(r, "XTRIM", "s", "MINID", "~", "20", "LIMIT", "3") == 3
    assert ids(r, "XRANGE", "s", "-", "+")[0] == "13-0"
    assert r.xadd("s", {"i": "x"}, id="31-0", maxlen=10, approximate=True) == b"31-0"
    assert r.xlen("s") == 10


# --------------------------------------------------------------------------- streams as keys

def test_type_encoding_scan_dbsize(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    r.set("str", "x")
    r.hset("h", "f", "v")
    assert r.type("s") == b"stream"
    assert r.object("encoding", "s") == b"stream"
    assert r.dbsize() == 3
    assert r.scan(0, _type="stream") == (0, [b"s"])
    assert r.keys("*") and sorted(r.keys("*")) == [b"h", b"s", b"str"]
    assert r.exists("s") == 1


def test_wrongtype_both_ways(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    for cmd in (("GET", "s"), ("APPEND", "s", "x"), ("INCR", "s"), ("HSET", "s", "a", "b"), ("LPUSH", "s", "a"),
                ("LLEN", "s"), ("SADD", "s", "a"), ("SCARD", "s"), ("ZADD", "s", "1", "a"), ("HGETALL", "s")):
        assert err(r, *cmd) == WRONGTYPE, cmd
    r.set("str", "x")
    r.lpush("l", "a")
    for key in ("str", "l"):
        for cmd in (("XADD", key, "*", "f", "v"), ("XADD", key, "MAXLEN", "0", "5", "f", "v"), ("XLEN", key),
                    ("XRANGE", key, "-", "+"), ("XREVRANGE", key, "+", "-", "COUNT", "0"),
                    ("XDEL", key, "foo"), ("XTRIM", key, "MAXLEN", "0")):
            assert err(r, *cmd) == WRONGTYPE, cmd
    # argument errors come first where Redis checks them first
    assert err(r, "XADD", "str", "0-0", "f", "v") == ZERO_ID
    assert err(r, "XADD", "str", "foo", "f", "v") == INVALID_ID
    assert err(r, "XRANGE", "str", "foo", "+") == INVALID_ID
    assert err(r, "XTRIM", "str", "FOO", "1") == "syntax error"


def test_set_overwrites_a_stream(r):
    r.xadd("s", {"f": "v"}, id="5-5")
    r.set("s", "x")
    assert r.get("s") == b"x"
    r.delete("s")
    assert r.xadd("s", {"f": "v"}, id="1-1") == b"1-1"  # a new stream: its last id is gone too


def test_del_unlink_flush(r):
    r.xadd("a", {"f": "v"}, id="5-5")
    r.xadd("b", {"f": "v"}, id="5-5")
    r.xadd("c", {"f": "v"}, id="5-5")
    assert r.delete("a") == 1
    assert r.unlink("b") == 1
    assert r.exists("a", "b") == 0 and r.xlen("a") == 0
    assert r.xadd("a", {"f": "v"}, id="1-1") == b"1-1"
    r.flushdb()
    assert r.dbsize() == 0
    assert r.xadd("c", {"f": "v"}, id="1-1") == b"1-1"


def test_expire_ttl_persist(r):
    r.xadd("s", {"f": "v"}, id="1-1")
    assert r.expire("s", 100) is True
    assert 0 < r.ttl("s") <= 100
    assert r.persist("s") is True
    assert r.ttl("s") == -1
    r.pexpire("s", 50)
    time.sleep(0.2)
    assert r.exists("s") == 0 and r.xlen("s") == 0
    assert r.xadd("s", {"f": "v"}, id="1-1") == b"1-1"


def test_rename_copy_move(r):
    r.xadd("s", {"f": "v"}, id="5-5")
    r.xadd("s", {"g": "w"}, id="6-0")
    r.xdel("s", "6-0")
    assert r.rename("s", "t") is True
    assert r.exists("s") == 0
    assert entries(r, "XRANGE", "t", "-", "+") == [[b"5-5", [b"f", b"v"]]]
    assert err(r, "XADD", "t", "6-0", "f", "v") == TOP_ITEM   # the last id travels
    assert r.copy("t", "u") is True
    assert entries(r, "XRANGE", "u", "-", "+") == [[b"5-5", [b"f", b"v"]]]
    assert err(r, "XADD", "u", "6-0", "f", "v") == TOP_ITEM   # and is copied
    r.xadd("u", {"x": "y"}, id="7-0")
    assert r.xlen("u") == 2 and r.xlen("t") == 1             # copies are independent
    r.set("str", "x")
    assert r.copy("u", "str", replace=True) is True
    assert r.type("str") == b"stream" and r.xlen("str") == 2
    assert r.move("u", 1) is True
    r2 = r.connection_pool.connection_kwargs
    c = redis.Redis(host=r2["host"], port=r2["port"], db=1)
    try:
        assert c.xlen("u") == 2
        assert err(c, "XADD", "u", "7-0", "f", "v") == TOP_ITEM
        c.flushdb()
    finally:
        c.close()


def test_last_id_and_entries_survive_restart(make_server):
    s = make_server()
    c = s.client()
    c.xadd("s", {"f": "v"}, id="5-5")
    c.xadd("s", {"g": "w"}, id="6-1")
    c.xdel("s", "6-1")
    c.xadd("e", {"f": "v"}, id="3-3")
    c.xtrim("e", maxlen=0)
    c.close()
    s.restart()
    c = s.client()
    assert entries(c, "XRANGE", "s", "-", "+") == [[b"5-5", [b"f", b"v"]]]
    assert err(c, "XADD", "s", "6-1", "f", "v") == TOP_ITEM
    assert c.xadd("s", {"f": "v"}, id="6-*") == b"6-2"
    assert c.exists("e") == 1 and c.xlen("e") == 0 and c.type("e") == b"stream"
    assert c.xadd("e", {"f": "v"}, id="3-*") == b"3-4"
    c.close()


# --------------------------------------------------------------------------- notifications, WATCH

@pytest.fixture
def events(server, r):
    yield from psubscribed(server, "__keyspace@0__:*")
    r.config_set("notify-keyspace-events", "")


def keyspace(got):
    return [(c.split(b":", 1)[1].decode(), d.decode()) for c, d in got]


def test_keyspace_events(r, events):
    r.config_set("notify-keyspace-events", "Kt")   # the stream class only
    r.xadd("s", {"f": "v"}, id="1-1")
    r.xadd("s", {"f": "v"}, id="2-1")
    r.xadd("s", {"f": "v"}, id="3-1", maxlen=1, approximate=False)
    r.xadd("s", {"f": "v"}, id="4-1", maxlen=5, approximate=False)   # nothing trimmed: no xtrim
    r.xdel("s", "9-9")                                                # nothing deleted: no event
    r.xdel("s", "3-1")
    r.xtrim("s", maxlen=10)
    r.xtrim("s", maxlen=0)
    r.delete("s")                                                     # generic class: not asked for
    rawcmd(r, "XADD", "n", "NOMKSTREAM", "*", "f", "v")
    r.set("marker", "x")
    r.config_set("notify-keyspace-events", "Kg")
    r.delete("marker")
    got = keyspace(drain(events, 7))
    assert got == [("s", "xadd"), ("s", "xadd"), ("s", "xadd"), ("s", "xtrim"), ("s", "xadd"),
                   ("s", "xdel"), ("s", "xtrim")]
    assert keyspace(drain(events, 1)) == [("marker", "del")]


def test_generic_events_on_streams(r, events):
    r.config_set("notify-keyspace-events", "KA")
    r.xadd("s", {"f": "v"}, id="1-1")
    r.expire("s", 100)
    r.rename("s", "t")
    r.delete("t")
    got = keyspace(drain(events, 5))
    assert got == [("s", "xadd"), ("s", "expire"), ("s", "rename_from"), ("t", "rename_to"), ("t", "del")]


@pytest.mark.parametrize("cmd,aborts", [
    (("XADD", "s", "*", "f", "v"), True),
    (("XDEL", "s", "1-1"), True),
    (("XTRIM", "s", "MAXLEN", "0"), True),
    (("DEL", "s"), True),
    (("XDEL", "s", "9-9"), False),         # no-ops and reads leave WATCH alone
    (("XTRIM", "s", "MAXLEN", "5"), False),
    (("XRANGE", "s", "-", "+"), False),
    (("XLEN", "s"), False),
])
def test_watch_sees_stream_writes_only(raw, r, other, cmd, aborts):
    r.xadd("s", {"f": "v"}, id="1-1")
    assert raw.call("WATCH", "s") == b"+OK\r\n"
    rawcmd(other, *cmd)
    assert raw.call("MULTI") == b"+OK\r\n"
    assert raw.call("XLEN", "s") == b"+QUEUED\r\n"
    assert raw.call("EXEC") == (b"*-1\r\n" if aborts else b"*1\r\n:1\r\n")


def test_stream_commands_in_multi(r):
    p = r.pipeline(transaction=True)
    p.xadd("s", {"a": "1"}, id="1-1")
    p.xadd("s", {"a": "2"}, id="1-1")
    p.xlen("s")
    p.xrevrange("s", count=1)
    res = p.execute(raise_on_error=False)
    assert res[0] == b"1-1" and isinstance(res[1], redis.ResponseError) and res[2] == 1
    assert res[3] == [(b"1-1", {b"a": b"1"})]


def test_unimplemented_stream_commands_unknown(r):
    if IS_REDIS:
        pytest.skip("Redis has them")
    for cmd in (("XREAD", "STREAMS", "s", "0"), ("XGROUP", "CREATE", "s", "g", "$"), ("XINFO", "STREAM", "s"),
                ("XSETID", "s", "1-1"), ("XACK", "s", "g", "1-1")):
        with pytest.raises(redis.ResponseError, match="unknown command"):
            r.execute_command(*cmd)
