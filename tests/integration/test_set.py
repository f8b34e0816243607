"""Set commands: SADD family, random pops, SMOVE, the algebra and its STORE forms,
SINTERCARD, SSCAN, RESP3 reply types, exact error texts.

Written against Redis semantics (validated with SOLIDIS_BIN=/usr/bin/redis-server).
redis-py strips the leading "ERR " from error replies; `err()` returns the rest.
"""
import socket

import pytest
import redis

from conftest import IS_REDIS
from helpers import NOT_INT, SYNTAX, WRONGTYPE, RespClient, err, raw


def members(r, key):
    return sorted(raw(r, "SMEMBERS", key))


# ------------------------------------------------------------ basics

def test_sadd_srem_scard_smembers(r):
    assert raw(r, "SADD", "s", "a", "b", "c") == 3
    assert raw(r, "SADD", "s", "a", "d", "d") == 1
    assert raw(r, "SCARD", "s") == 4
    assert members(r, "s") == [b"a", b"b", b"c", b"d"]
    assert raw(r, "SREM", "s", "a", "zz", "a") == 1
    assert raw(r, "SCARD", "s") == 3
    assert raw(r, "TYPE", "s") == b"set"
    assert raw(r, "SREM", "s", "b", "c", "d") == 3
    assert raw(r, "EXISTS", "s") == 0  # emptied set is deleted
    assert raw(r, "SREM", "s", "x") == 0
    assert raw(r, "SCARD", "nokey") == 0
    assert raw(r, "SMEMBERS", "nokey") == []


def test_sismember_smismember(r):
    r.sadd("s", "a", "b")
    assert raw(r, "SISMEMBER", "s", "a") == 1
    assert raw(r, "SISMEMBER", "s", "x") == 0
    assert raw(r, "SISMEMBER", "nokey", "a") == 0
    assert raw(r, "SMISMEMBER", "s", "a", "x", "b") == [1, 0, 1]
    assert raw(r, "SMISMEMBER", "nokey", "a", "b") == [0, 0]


def test_binary_safe_members(r):
    vals = [b"", b"\x00", b"\x00\x01", b"a\r\nb", bytes(range(256)), b"\xff" * 3]
    assert raw(r, "SADD", "s", *vals) == len(vals)
    assert members(r, "s") == sorted(vals)
    for v in vals:
        assert raw(r, "SISMEMBER", "s", v) == 1
    assert raw(r, "SISMEMBER", "s", b"\x00\x00") == 0
    assert raw(r, "SREM", "s", b"") == 1
    assert raw(r, "SCARD", "s") == len(vals) - 1


def test_integer_like_members_are_strings(r):
    r.sadd("s", "1", "01", "1.0", "-0")
    assert members(r, "s") == sorted([b"1", b"01", b"1.0", b"-0"])
    assert raw(r, "SISMEMBER", "s", "001") == 0


# ------------------------------------------------------------ errors

@pytest.mark.parametrize("args", [
    ("SADD", "s"), ("SREM", "s"), ("SMEMBERS",), ("SMEMBERS", "a", "b"), ("SISMEMBER", "s"),
    ("SMISMEMBER", "s"), ("SCARD",), ("SPOP",), ("SRANDMEMBER",), ("SMOVE", "a", "b"),
    ("SINTER",), ("SUNION",), ("SDIFF",), ("SINTERSTORE", "d"), ("SUNIONSTORE", "d"),
    ("SDIFFSTORE", "d"), ("SINTERCARD", "1"), ("SSCAN", "s"),
])
def test_wrong_arity(r, args):
    assert err(r, *args) == "wrong number of arguments for '%s' command" % args[0].lower()


def test_wrongtype_everywhere(r):
    r.set("str", "x")
    r.sadd("s", "a")
    for args in [("SADD", "str", "a"), ("SREM", "str", "a"), ("SMEMBERS", "str"), ("SISMEMBER", "str", "a"),
                 ("SMISMEMBER", "str", "a"), ("SCARD", "str"), ("SPOP", "str"), ("SPOP", "str", "2"),
                 ("SRANDMEMBER", "str"), ("SRANDMEMBER", "str", "2"), ("SMOVE", "str", "s", "a"),
                 ("SMOVE", "s", "str", "a"), ("SINTER", "s", "str"), ("SINTER", "nokey", "str"),
                 ("SUNION", "s", "str"), ("SDIFF", "s", "str"), ("SINTERSTORE", "d", "s", "str"),
                 ("SUNIONSTORE", "d", "str"), ("SDIFFSTORE", "d", "s", "str"), ("SINTERCARD", "2", "s", "str"),
                 ("SSCAN", "str", "0")]:
        assert err(r, *args) == WRONGTYPE, args
    assert r.get("str") == b"x"
    # SMOVE from a missing source answers 0 before looking at the destination's type
    assert raw(r, "SMOVE", "nokey", "str", "a") == 0


def test_number_errors(r):
    r.sadd("s", "a", "b")
    assert err(r, "SPOP", "s", "x") == "value is out of range, must be positive"
    assert err(r, "SPOP", "s", "-1") == "value is out of range, must be positive"
    assert err(r, "SPOP", "s", "1", "2") == SYNTAX
    assert err(r, "SRANDMEMBER", "s", "1.5") == NOT_INT
    assert err(r, "SRANDMEMBER", "s", "1", "2") == SYNTAX
    assert err(r, "SRANDMEMBER", "s", "-9223372036854775808") == \
        "value is out of range, value must between -9223372036854775807 and 9223372036854775807"
    assert err(r, "SINTERCARD", "0", "s") == "numkeys should be greater than 0"
    assert err(r, "SINTERCARD", "x", "s") == "numkeys should be greater than 0"
    assert err(r, "SINTERCARD", "3", "s", "s") == "Number of keys can't be greater than number of args"
    assert err(r, "SINTERCARD", "1", "s", "LIMIT", "-1") == "LIMIT can't be negative"
    assert err(r, "SINTERCARD", "1", "s", "LIMIT", "x") == "LIMIT can't be negative"
    assert err(r, "SINTERCARD", "1", "s", "FOO") == SYNTAX
    assert err(r, "SINTERCARD", "1", "s", "LIMIT") == SYNTAX
    assert err(r, "SSCAN", "s", "abc") == "invalid cursor"
    assert err(r, "SSCAN", "s", "-1x") == "invalid cursor"
    assert err(r, "SSCAN", "s", "0", "COUNT", "0") == SYNTAX
    assert err(r, "SSCAN", "s", "0", "COUNT", "x") == NOT_INT
    assert err(r, "SSCAN", "s", "0", "FOO", "bar") == SYNTAX
    assert err(r, "SSCAN", "s", "0", "MATCH") == SYNTAX
    # a missing key answers the empty scan before the options are looked at
    assert raw(r, "SSCAN", "nokey", "0", "COUNT", "0") == [b"0", []]


# ------------------------------------------------------------ SPOP / SRANDMEMBER

def test_spop_single_and_count(r):
    r.sadd("s", *[str(i) for i in range(10)])
    got = set()
    v = raw(r, "SPOP", "s")
    assert v is not None and v not in got
    got.add(v)
    popped = raw(r, "SPOP", "s", "4")
    assert len(popped) == 4 and len(set(popped)) == 4 and not (set(popped) & got)
    got |= set(popped)
    assert raw(r, "SCARD", "s") == 5
    rest = raw(r, "SPOP", "s", "100")
    assert len(rest) == 5
    got |= set(rest)
    assert got == {str(i).encode() for i in range(10)}
    assert raw(r, "EXISTS", "s") == 0
    assert raw(r, "SPOP", "s") is None
    assert raw(r, "SPOP", "s", "3") == []
    r.sadd("s", "a")
    assert raw(r, "SPOP", "s", "0") == []
    assert raw(r, "SCARD", "s") == 1


def test_spop_drains_large_set_without_repeats(r):
    n = 500
    r.sadd("s", *["m%d" % i for i in range(n)])
    seen = []
    while True:
        v = raw(r, "SPOP", "s")
        if v is None:
            break
        seen.append(v)
    assert len(seen) == n and len(set(seen)) == n
    assert raw(r, "EXISTS", "s") == 0


def test_random_on_large_set(r):
    n = 3000  # past the exact-uniform size: random picks use a window after a random hash
    r.sadd("s", *["m%d" % i for i in range(n)])
    five = raw(r, "SRANDMEMBER", "s", "5")
    assert len(set(five)) == 5
    assert len(raw(r, "SRANDMEMBER", "s", "-200")) == 200
    seen = []
    for _ in range(300):
        seen.append(raw(r, "SPOP", "s"))
    while True:
        batch = raw(r, "SPOP", "s", "700")
        if not batch:
            break
        seen += batch
    assert len(seen) == n and set(seen) == {("m%d" % i).encode() for i in range(n)}
    assert raw(r, "EXISTS", "s") == 0


@pytest.mark.skipif(IS_REDIS, reason="Redis builds such a reply until memory runs out")
def test_random_picks_with_repeats_are_capped_by_the_reply_limit(r):
    """A negative count on a one-element key asks for a reply of any size,
    built in memory: past proto-max-bulk-len / 7 picks it is refused, and
    the server stays up."""
    r.sadd("rr:s", "a")
    r.zadd("rr:z", {"a": 1})
    r.hset("rr:h", "f", "v")
    huge = -9223372036854775807
    for cmd in (("SRANDMEMBER", "rr:s", huge), ("ZRANDMEMBER", "rr:z", huge), ("HRANDFIELD", "rr:h", huge)):
        with pytest.raises(redis.ResponseError, match="out of range"):
            r.execute_command(*cmd)
    assert r.execute_command("SRANDMEMBER", "rr:missing", huge) == []  # no key: empty, as Redis
    r.config_set("proto-max-bulk-len", "1mb")
    try:
        limit = 1048576 // 7
        for cmd in ("SRANDMEMBER", "ZRANDMEMBER", "HRANDFIELD"):
            key = {"SRANDMEMBER": "rr:s", "ZRANDMEMBER": "rr:z", "HRANDFIELD": "rr:h"}[cmd]
            assert len(r.execute_command(cmd, key, -limit)) == limit
            with pytest.raises(redis.ResponseError, match="proto-max-bulk-len"):
                r.execute_command(cmd, key, -(limit + 1))
    finally:
        r.config_set("proto-max-bulk-len", "512mb")
    assert r.ping()


def test_srandmember(r):
    assert raw(r, "SRANDMEMBER", "nokey") is None
    assert raw(r, "SRANDMEMBER", "nokey", "5") == []
    assert raw(r, "SRANDMEMBER", "nokey", "-5") == []
    vals = {("v%d" % i).encode() for i in range(20)}
    r.sadd("s", *vals)
    assert raw(r, "SRANDMEMBER", "s") in vals
    assert raw(r, "SRANDMEMBER", "s", "0") == []
    five = raw(r, "SRANDMEMBER", "s", "5")
    assert len(five) == 5 and len(set(five)) == 5 and set(five) <= vals
    assert sorted(raw(r, "SRANDMEMBER", "s", "100")) == sorted(vals)
    rep = raw(r, "SRANDMEMBER", "s", "-50")
    assert len(rep) == 50 and set(rep) <= vals
    assert raw(r, "SCARD", "s") == 20  # nothing removed
    # every member shows up over enough draws
    seen = set()
    for _ in range(40):
        seen |= set(raw(r, "SRANDMEMBER", "s", "-20"))
    assert seen == vals


# ------------------------------------------------------------ SMOVE

def test_smove(r):
    r.sadd("src", "a", "b")
    r.sadd("dst", "b", "c")
    assert raw(r, "SMOVE", "src", "dst", "a") == 1
    assert members(r, "src") == [b"b"] and members(r, "dst") == [b"a", b"b", b"c"]
    assert raw(r, "SMOVE", "src", "dst", "zz") == 0
    assert raw(r, "SMOVE", "src", "dst", "b") == 1  # already in dst: still moved
    assert raw(r, "EXISTS", "src") == 0
    assert members(r, "dst") == [b"a", b"b", b"c"]
    assert raw(r, "SMOVE", "dst", "new", "c") == 1
    assert members(r, "new") == [b"c"]
    assert raw(r, "SMOVE", "dst", "dst", "a") == 1
    assert raw(r, "SMOVE", "dst", "dst", "zz") == 0
    assert members(r, "dst") == [b"a", b"b"]


# ------------------------------------------------------------ algebra

def test_sinter_sunion_sdiff(r):
    r.sadd("a", "1", "2", "3", "4")
    r.sadd("b", "3", "4", "5")
    r.sadd("c", "4", "5", "6")
    assert sorted(raw(r, "SINTER", "a", "b")) == [b"3", b"4"]
    assert sorted(raw(r, "SINTER", "a", "b", "c")) == [b"4"]
    assert sorted(raw(r, "SINTER", "a")) == [b"1", b"2", b"3", b"4"]
    assert sorted(raw(r, "SINTER", "a", "a")) == [b"1", b"2", b"3", b"4"]
    assert raw(r, "SINTER", "a", "nokey") == []
    assert sorted(raw(r, "SUNION", "a", "b", "c", "nokey")) == [str(i).encode() for i in range(1, 7)]
    assert sorted(raw(r, "SDIFF", "a", "b")) == [b"1", b"2"]
    assert sorted(raw(r, "SDIFF", "a", "b", "c")) == [b"1", b"2"]
    assert sorted(raw(r, "SDIFF", "a", "nokey")) == [b"1", b"2", b"3", b"4"]
    assert raw(r, "SDIFF", "a", "a") == []
    assert raw(r, "SDIFF", "nokey", "a") == []


def test_store_forms(r):
    r.sadd("a", "1", "2", "3", "4")
    r.sadd("b", "3", "4", "5")
    assert raw(r, "SINTERSTORE", "d", "a", "b") == 2
    assert members(r, "d") == [b"3", b"4"]
    assert raw(r, "SUNIONSTORE", "d", "a", "b") == 5
    assert members(r, "d") == [b"1", b"2", b"3", b"4", b"5"]
    assert raw(r, "SDIFFSTORE", "d", "a", "b") == 2
    assert members(r, "d") == [b"1", b"2"]
    assert raw(r, "SCARD", "d") == 2
    # empty result deletes the destination
    assert raw(r, "SINTERSTORE", "d", "a", "nokey") == 0
    assert raw(r, "EXISTS", "d") == 0
    assert raw(r, "SDIFFSTORE", "d", "a", "a") == 0
    assert raw(r, "EXISTS", "d") == 0
    # destination of another type is replaced
    r.set("d", "string")
    assert raw(r, "SUNIONSTORE", "d", "b") == 3
    assert raw(r, "TYPE", "d") == b"set"
    # destination that is also a source
    assert raw(r, "SUNIONSTORE", "a", "a", "b") == 5
    assert members(r, "a") == [b"1", b"2", b"3", b"4", b"5"]
    assert raw(r, "SDIFFSTORE", "a", "a", "b") == 2
    assert members(r, "a") == [b"1", b"2"]
    assert raw(r, "SINTERSTORE", "b", "b", "b") == 3
    assert members(r, "b") == [b"3", b"4", b"5"]


def test_store_with_larger_sets(r):
    r.sadd("x", *range(0, 2000))
    r.sadd("y", *range(1000, 1500))
    r.sadd("z", *range(1400, 3000))
    assert raw(r, "SINTERSTORE", "d", "x", "y", "z") == 100
    assert sorted(int(v) for v in raw(r, "SMEMBERS", "d")) == list(range(1400, 1500))
    assert raw(r, "SDIFFSTORE", "d", "x", "y") == 1500  # small subtrahend
    assert raw(r, "SDIFFSTORE", "d", "y", "z") == 400   # large subtrahend
    assert sorted(int(v) for v in raw(r, "SMEMBERS", "d")) == list(range(1000, 1400))
    assert raw(r, "SUNIONSTORE", "d", "x", "z") == 3000
    assert raw(r, "SINTERCARD", "2", "x", "z") == 600
    assert raw(r, "SINTERCARD", "2", "x", "z", "LIMIT", "10") == 10
    assert raw(r, "SINTERCARD", "2", "x", "z", "LIMIT", "0") == 600
    assert raw(r, "SINTERCARD", "2", "x", "nokey") == 0
    assert len(raw(r, "SDIFF", "z", "x", "y")) == 1000


# ------------------------------------------------------------ SSCAN

def scan_all(r, key, **kw):
    cursor, out, calls = b"0", [], 0
    while True:
        args = ["SSCAN", key, cursor]
        for k, v in kw.items():
            args += [k.upper(), v]
        cursor, batch = raw(r, *args)
        out += batch
        calls += 1
        if cursor == b"0":
            return out, calls


def test_sscan_small_set_returns_everything(r):
    r.sadd("s", *range(50))
    cursor, batch = raw(r, "SSCAN", "s", "0", "COUNT", "5")
    assert cursor == b"0" and sorted(int(v) for v in batch) == list(range(50))
    cursor, batch = raw(r, "SSCAN", "s", "0", "MATCH", "1*")
    assert sorted(batch) == sorted(str(i).encode() for i in range(50) if str(i).startswith("1"))


def test_sscan_large_set_pages(r):
    n = 3000
    r.sadd("s", *["m%d" % i for i in range(n)])
    got, calls = scan_all(r, "s", count=100)
    assert len(got) == n and len(set(got)) == n
    assert calls > 10
    got, _ = scan_all(r, "s", count=1000, match="m12*")
    assert sorted(got) == sorted(("m%d" % i).encode() for i in range(n) if ("m%d" % i).startswith("m12"))


def test_sscan_guarantee_under_concurrent_changes(r):
    n = 2000
    r.sadd("s", *["k%d" % i for i in range(n)])
    stable = {("k%d" % i).encode() for i in range(0, n, 2)}
    cursor, got, step = b"0", set(), 0
    while True:
        cursor, batch = raw(r, "SSCAN", "s", cursor, "COUNT", "50")
        got |= set(batch)
        # remove some odd members and add new ones while scanning
        r.srem("s", *["k%d" % i for i in range(1 + 2 * step * 10, 1 + 2 * step * 10 + 20, 2)])
        r.sadd("s", *["new%d-%d" % (step, j) for j in range(5)])
        step += 1
        if cursor == b"0":
            break
    assert stable <= got


# ------------------------------------------------------------ TTL, overwrite, persistence

def test_expire_and_overwrite(r):
    r.sadd("s", "a", "b")
    assert r.pexpire("s", 50)
    import time
    time.sleep(0.15)
    assert raw(r, "SCARD", "s") == 0
    assert raw(r, "SISMEMBER", "s", "a") == 0
    assert raw(r, "SADD", "s", "c") == 1
    assert members(r, "s") == [b"c"]
    assert r.ttl("s") == -1
    r.set("s", "now a string")
    assert r.get("s") == b"now a string"
    assert raw(r, "SADD", "s2", "x") == 1
    r.delete("s2")
    assert raw(r, "SADD", "s2", "y") == 1
    assert members(r, "s2") == [b"y"]
    r.rename("s2", "s3")
    assert members(r, "s3") == [b"y"]


def test_copy_and_move(r):
    r.sadd("s", "a", "b", "c")
    assert r.copy("s", "c1") == 1
    assert members(r, "c1") == [b"a", b"b", b"c"] and raw(r, "SCARD", "c1") == 3
    r.srem("s", "a")
    assert members(r, "c1") == [b"a", b"b", b"c"]  # an independent copy
    r.sadd("other", "z")
    assert r.copy("s", "other", replace=True) == 1
    assert members(r, "other") == [b"b", b"c"]
    assert r.move("s", 1) == 1
    r.execute_command("SELECT", 1)
    assert members(r, "s") == [b"b", b"c"]
    r.execute_command("SELECT", 0)

def test_survives_restart(make_server):
    s = make_server()
    c = s.client()
    c.sadd("s", *range(100))
    c.srem("s", *range(50))
    s.restart()
    c = s.client()
    assert c.scard("s") == 50
    assert sorted(int(v) for v in c.smembers("s")) == list(range(50, 100))
    assert c.sismember("s", "75")


# ------------------------------------------------------------ RESP3

def test_resp3_reply_types(server, r):
    r.sadd("s", "a", "b")
    r.sadd("t", "b", "c")
    c = RespClient(server.port, replies="tagged")
    try:
        assert c.call("HELLO", "3")[0] == b"%"
        t, v = c.call("SMEMBERS", "s")
        assert t == b"~" and sorted(x[1] for x in v) == [b"a", b"b"]
        assert c.call("SMEMBERS", "nokey") == (b"~", [])
        assert c.call("SINTER", "s", "t") == (b"~", [(b"$", b"b")])
        assert c.call("SUNION", "s", "t")[0] == b"~"
        assert c.call("SDIFF", "s", "t") == (b"~", [(b"$", b"a")])
        assert c.call("SISMEMBER", "s", "a") == (b":", b"1")
        assert c.call("SMISMEMBER", "s", "a", "x") == (b"*", [(b":", b"1"), (b":", b"0")])
        assert c.call("SRANDMEMBER", "s", "2")[0] == b"*"
        assert c.call("SRANDMEMBER", "nokey") == (b"_", b"")
        assert c.call("SPOP", "nokey") == (b"_", b"")
        assert c.call("SPOP", "nokey", "2") == (b"~", [])
        t, v = c.call("SPOP", "t", "1")
        assert t == b"~" and len(v) == 1
        t, v = c.call("SSCAN", "s", "0")
        assert t == b"*" and v[0] == (b"$", b"0") and v[1][0] == b"*"
    finally:
        c.close()
