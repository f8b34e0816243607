"""Sorted-set commands: ZADD options and errors, ordering, ranges by rank/score/lex,
ranks, pops (blocking too), the algebra and its STORE forms, ZRANDMEMBER, ZSCAN,
RESP3 reply types, a 100,000-member set and the scheduled-job pattern.

Written against Redis semantics (validated with SOLIDIS_BIN=/usr/bin/redis-server;
the reference is 7.0, so the 7.2-only ZRANK WITHSCORE and shortest-double checks are
skipped there). redis-py strips the leading "ERR " from errors; `err()` returns the rest.
"""
import math
import threading
import time

import pytest
import redis

from conftest import IS_REDIS
from helpers import NOT_FLOAT, NOT_INT, SYNTAX, WRONGTYPE, RespClient, err, raw, wait_blocked

RANGE_FLOAT = "min or max is not a float"
RANGE_LEX = "min or max not valid string range item"


def zr(r, key, *extra):
    return raw(r, "ZRANGE", key, 0, -1, *extra)


# ------------------------------------------------------------ ZADD

def test_zadd_basic_and_update(r):
    assert raw(r, "ZADD", "z", 1, "a", 2, "b", 3, "c") == 3
    assert raw(r, "ZADD", "z", 10, "a", 4, "d") == 1  # a updated, d added
    assert zr(r, "z", "WITHSCORES") == [b"b", b"2", b"c", b"3", b"d", b"4", b"a", b"10"]
    assert raw(r, "ZCARD", "z") == 4
    assert raw(r, "TYPE", "z") == b"zset"
    assert raw(r, "ZADD", "z", 1, "x", 2, "x") == 1  # last one wins
    assert raw(r, "ZSCORE", "z", "x") == b"2"


def test_zadd_flags(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert raw(r, "ZADD", "z", "NX", 5, "a", 3, "c") == 1
    assert raw(r, "ZSCORE", "z", "a") == b"1"
    assert raw(r, "ZADD", "z", "XX", 5, "a", 9, "new") == 0
    assert raw(r, "ZSCORE", "z", "a") == b"5" and raw(r, "ZSCORE", "z", "new") is None
    assert raw(r, "ZADD", "z", "XX", "CH", 6, "a", 6, "a") == 1
    assert raw(r, "ZADD", "z", "CH", 6, "a", 7, "b", 1, "d") == 2  # b changed, d added, a same
    assert raw(r, "ZADD", "z", "GT", "CH", 1, "a", 8, "b", 1, "e") == 2  # b up, e added
    assert raw(r, "ZSCORE", "z", "a") == b"6" and raw(r, "ZSCORE", "z", "b") == b"8"
    assert raw(r, "ZADD", "z", "LT", "CH", 100, "a", 0, "b") == 1
    assert raw(r, "ZSCORE", "z", "a") == b"6" and raw(r, "ZSCORE", "z", "b") == b"0"
    assert raw(r, "ZADD", "z", "XX", "GT", 50, "a", 50, "nope") == 0
    assert raw(r, "ZSCORE", "z", "a") == b"50"
    assert raw(r, "ZADD", "nokey", "XX", 1, "a") == 0
    assert raw(r, "EXISTS", "nokey") == 0
    assert raw(r, "ZADD", "nokey", "GT", 1, "a") == 1


def test_zadd_rescoring_existing_members_keeps_the_score_order(r):
    """Plain ZADD and CH on an existing set re-score members in place (one
    UPDATE each): the count, the reply and the by-score order stay exact,
    also for the same member twice, -0 against 0, and infinities."""
    r.zadd("z", {f"m{i}": i for i in range(200)})
    assert raw(r, "ZADD", "z", *[x for i in range(0, 200, 2) for x in (1000 - i, f"m{i}")]) == 0
    assert raw(r, "ZADD", "z", "CH", 5, "new", 5, "new", 3, "m3", 7, "m5") == 2  # new added, m5 changed
    assert raw(r, "ZCARD", "z") == 201
    assert raw(r, "ZADD", "z", "CH", "-0", "m0") == 1  # 1000 -> -0
    assert raw(r, "ZADD", "z", "CH", 0, "m0", "-0", "m0") == 0  # -0 == 0: nothing changed
    assert raw(r, "ZADD", "z", "CH", "+inf", "m1", "-inf", "m7") == 2
    assert raw(r, "ZADD", "z", "XX", "CH", 4, "m9", 4, "absent") == 1
    got = r.zrange("z", 0, -1, withscores=True)
    want = {f"m{i}": float(1000 - i if i % 2 == 0 else i) for i in range(200)}
    want.update({"new": 5.0, "m0": 0.0, "m5": 7.0, "m1": float("inf"), "m7": float("-inf"), "m9": 4.0})
    assert len(got) == 201
    assert {m.decode(): s for m, s in got} == want
    assert [s for _, s in got] == sorted(s for _, s in got)
    assert r.zrangebyscore("z", 4, 7) == [b"m9", b"new", b"m5"]


def test_zadd_incr_and_zincrby(r):
    assert raw(r, "ZADD", "z", "INCR", 2.5, "a") == b"2.5"
    assert raw(r, "ZADD", "z", "INCR", -1, "a") == b"1.5"
    assert raw(r, "ZADD", "z", "NX", "INCR", 1, "a") is None
    assert raw(r, "ZADD", "z", "XX", "INCR", 1, "nope") is None
    assert raw(r, "ZADD", "z", "GT", "INCR", -1, "a") is None
    assert raw(r, "ZADD", "z", "LT", "INCR", -1, "a") == b"0.5"
    assert raw(r, "ZADD", "nokey", "XX", "INCR", 1, "a") is None
    assert raw(r, "ZINCRBY", "z", 3, "a") == b"3.5"
    assert raw(r, "ZINCRBY", "z", 3, "b") == b"3"
    assert raw(r, "ZINCRBY", "z", "-inf", "b") == b"-inf"
    assert err(r, "ZINCRBY", "z", "+inf", "b") == "resulting score is not a number (NaN)"
    assert raw(r, "ZSCORE", "z", "b") == b"-inf"
    assert err(r, "ZINCRBY", "z", "abc", "b") == NOT_FLOAT
    assert err(r, "ZINCRBY", "z", "nx", "b") == SYNTAX  # options are parsed, like Redis


def test_zadd_errors(r):
    assert err(r, "ZADD", "z", "NX", "XX", 1, "a") == "XX and NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "GT", "LT", 1, "a") == "GT, LT, and/or NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "GT", "NX", 1, "a") == "GT, LT, and/or NX options at the same time are not compatible"
    assert err(r, "ZADD", "z", "INCR", 1, "a", 2, "b") == "INCR option supports a single increment-element pair"
    assert err(r, "ZADD", "z", 1, "a", 2) == SYNTAX
    assert err(r, "ZADD", "z", "NX", "CH") == SYNTAX
    assert err(r, "ZADD", "z", "nan", "a") == NOT_FLOAT
    assert err(r, "ZADD", "z", "1x", "a") == NOT_FLOAT
    assert err(r, "ZADD", "z", " 1", "a") == NOT_FLOAT
    assert err(r, "ZADD", "z", 1, "a", "bad", "b") == NOT_FLOAT
    assert raw(r, "EXISTS", "z") == 0  # all-or-nothing: nothing was added


def test_ordering_scores_then_bytes(r):
    r.zadd("z", {"b": 0, "a": 0, "\x00": 0, "": 0, "ab": 0, "\xff": 0, "m": -1.5, "n": 1e300,
                 "i": float("inf"), "j": float("-inf"), "k": -0.0001})
    assert zr(r, "z") == [b"j", b"m", b"k", b"", b"\x00", b"a", b"ab", b"b", b"\xc3\xbf", b"n", b"i"]
    assert raw(r, "ZSCORE", "z", "i") == b"inf" and raw(r, "ZSCORE", "z", "j") == b"-inf"
    assert float(raw(r, "ZSCORE", "z", "n")) == 1e300
    if not IS_REDIS:
        assert raw(r, "ZSCORE", "z", "n") == b"1e+300"
    assert raw(r, "ZREVRANGE", "z", 0, 2) == [b"i", b"n", b"\xc3\xbf"]


def test_score_formatting_shortest_roundtrip(r):
    r.zadd("z", {"a": 0.1, "b": 1.1, "c": 3.0, "d": -2.5, "e": 123456789012.25})
    got = dict(zip(*[iter(zr(r, "z", "WITHSCORES"))] * 2))
    assert {k: float(v) for k, v in got.items()} == {b"a": 0.1, b"b": 1.1, b"c": 3.0, b"d": -2.5, b"e": 123456789012.25}
    assert got[b"c"] == b"3" and got[b"d"] == b"-2.5"
    if not IS_REDIS:  # 7.2 prints the shortest text that reads back the same
        assert got[b"a"] == b"0.1" and got[b"b"] == b"1.1"


# ------------------------------------------------------------ reads

def test_zscore_zmscore_zcard(r):
    r.zadd("z", {"a": 1.5, "b": 2})
    assert raw(r, "ZSCORE", "z", "a") == b"1.5"
    assert raw(r, "ZSCORE", "z", "x") is None
    assert raw(r, "ZSCORE", "nokey", "x") is None
    assert raw(r, "ZMSCORE", "z", "a", "x", "b") == [b"1.5", None, b"2"]
    assert raw(r, "ZMSCORE", "nokey", "a", "b") == [None, None]
    assert raw(r, "ZCARD", "z") == 2 and raw(r, "ZCARD", "nokey") == 0


def test_zrange_by_rank(r):
    r.zadd("z", {c: i for i, c in enumerate("abcdef")})
    assert zr(r, "z") == [b"a", b"b", b"c", b"d", b"e", b"f"]
    assert raw(r, "ZRANGE", "z", 1, 2) == [b"b", b"c"]
    assert raw(r, "ZRANGE", "z", -2, -1) == [b"e", b"f"]
    assert raw(r, "ZRANGE", "z", -100, 1) == [b"a", b"b"]
    assert raw(r, "ZRANGE", "z", 4, 100) == [b"e", b"f"]
    assert raw(r, "ZRANGE", "z", 3, 2) == []
    assert raw(r, "ZRANGE", "z", 6, 10) == []
    assert raw(r, "ZRANGE", "z", 0, 1, "REV") == [b"f", b"e"]
    assert raw(r, "ZREVRANGE", "z", 1, 2, "WITHSCORES") == [b"e", b"4", b"d", b"3"]
    assert raw(r, "ZRANGE", "nokey", 0, -1) == []


def test_zrange_by_score(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5})
    assert raw(r, "ZRANGE", "z", "(1", 3, "BYSCORE") == [b"b", b"c"]
    assert raw(r, "ZRANGE", "z", 2, "(4", "BYSCORE", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZRANGE", "z", "+inf", "(3", "BYSCORE", "REV") == [b"e", b"d"]
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 1, 2) == [b"b", b"c"]
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 1, -1) == [b"b", b"c", b"d", b"e"]
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", -1, 2) == []
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 5, 2) == []
    assert raw(r, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", 0, 0) == []
    assert raw(r, "ZRANGEBYSCORE", "z", "(1", "(5") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGEBYSCORE", "z", "(+inf", "+inf") == []
    assert raw(r, "ZRANGEBYSCORE", "z", "-inf", "(-inf") == []
    assert raw(r, "ZRANGEBYSCORE", "z", 3, 3) == [b"c"]
    assert raw(r, "ZRANGEBYSCORE", "z", "(3", "(3") == []
    assert raw(r, "ZRANGEBYSCORE", "z", 5, 1) == []
    assert raw(r, "ZRANGEBYSCORE", "z", "-inf", "+inf", "WITHSCORES", "LIMIT", 3, 5) == [b"d", b"4", b"e", b"5"]
    assert raw(r, "ZREVRANGEBYSCORE", "z", "(5", 2, "LIMIT", 1, 1) == [b"c"]
    assert raw(r, "ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES") == \
        [b"e", b"5", b"d", b"4", b"c", b"3", b"b", b"2", b"a", b"1"]
    # ties broken by member bytes in both directions
    r.zadd("t", {"b": 1, "a": 1, "c": 1})
    assert raw(r, "ZRANGEBYSCORE", "t", 1, 1) == [b"a", b"b", b"c"]
    assert raw(r, "ZREVRANGEBYSCORE", "t", 1, 1) == [b"c", b"b", b"a"]


def test_zrange_by_lex_and_zlexcount(r):
    r.zadd("z", {c: 0 for c in "abcdefg"})
    assert raw(r, "ZRANGEBYLEX", "z", "-", "+") == [c.encode() for c in "abcdefg"]
    assert raw(r, "ZRANGEBYLEX", "z", "[b", "(e") == [b"b", b"c", b"d"]
    assert raw(r, "ZRANGEBYLEX", "z", "(b", "[e", "LIMIT", 1, 2) == [b"d", b"e"]
    assert raw(r, "ZRANGEBYLEX", "z", "(a", "(b") == []
    assert raw(r, "ZRANGEBYLEX", "z", "+", "-") == []
    assert raw(r, "ZRANGEBYLEX", "z", "[e", "[b") == []
    assert raw(r, "ZREVRANGEBYLEX", "z", "+", "[e") == [b"g", b"f", b"e"]
    assert raw(r, "ZREVRANGEBYLEX", "z", "(e", "-", "LIMIT", 0, 2) == [b"d", b"c"]
    assert raw(r, "ZRANGE", "z", "[c", "[a", "BYLEX", "REV") == [b"c", b"b", b"a"]
    assert raw(r, "ZLEXCOUNT", "z", "-", "+") == 7
    assert raw(r, "ZLEXCOUNT", "z", "[b", "(d") == 2
    assert raw(r, "ZLEXCOUNT", "z", "(a", "[a") == 0
    assert raw(r, "ZLEXCOUNT", "nokey", "-", "+") == 0
    # prefixes and binary bytes order as memcmp
    r.zadd("p", {"a": 0, "a\x00": 0, "aa": 0, "b": 0})
    assert raw(r, "ZRANGEBYLEX", "p", "(a", "(b") == [b"a\x00", b"aa"]
    assert raw(r, "ZRANGEBYLEX", "p", "[a", "[a") == [b"a"]


def test_zcount(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "i": float("inf")})
    assert raw(r, "ZCOUNT", "z", "-inf", "+inf") == 4
    assert raw(r, "ZCOUNT", "z", "(1", 3) == 2
    assert raw(r, "ZCOUNT", "z", "(1", "(3") == 1
    assert raw(r, "ZCOUNT", "z", "inf", "inf") == 1
    assert raw(r, "ZCOUNT", "nokey", 0, 1) == 0


def test_range_errors(r):
    r.zadd("z", {"a": 1})
    assert err(r, "ZRANGEBYSCORE", "z", "a", 1) == RANGE_FLOAT
    assert err(r, "ZRANGEBYSCORE", "z", 1, "nan") == RANGE_FLOAT
    assert err(r, "ZRANGEBYSCORE", "z", "((1", 2) == RANGE_FLOAT
    assert err(r, "ZCOUNT", "z", 1, "x") == RANGE_FLOAT
    assert err(r, "ZRANGEBYLEX", "z", "a", "+") == RANGE_LEX
    assert err(r, "ZRANGEBYLEX", "z", "-a", "+") == RANGE_LEX
    assert err(r, "ZRANGEBYLEX", "z", "", "+") == RANGE_LEX
    assert err(r, "ZLEXCOUNT", "z", "[a", "x") == RANGE_LEX
    assert err(r, "ZRANGE", "z", 0, 1, "LIMIT", 0, 1) == \
        "syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX"
    assert err(r, "ZRANGE", "z", "-", "+", "BYLEX", "WITHSCORES") == \
        "syntax error, WITHSCORES not supported in combination with BYLEX"
    assert err(r, "ZRANGE", "z", 0, 1, "BYSCORE", "BYLEX") == SYNTAX
    assert err(r, "ZRANGE", "z", 0, 1, "REV", "REV") == SYNTAX
    assert err(r, "ZRANGE", "z", 0, 1, "LIMIT", 1) == SYNTAX
    assert err(r, "ZRANGE", "z", "a", 1) == NOT_INT
    assert err(r, "ZRANGEBYSCORE", "z", 0, 1, "LIMIT", "x", 1) == NOT_INT
    assert err(r, "ZREVRANGE", "z", 0, 1, "BYSCORE") == SYNTAX
    assert err(r, "ZRANGEBYSCORE", "z", 0, 1, "REV") == SYNTAX
    assert err(r, "ZRANGESTORE", "d", "z", 0, 1, "WITHSCORES") == SYNTAX


def test_zrank_zrevrank(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 3})
    assert raw(r, "ZRANK", "z", "a") == 0
    assert raw(r, "ZRANK", "z", "d") == 3
    assert raw(r, "ZREVRANK", "z", "a") == 3
    assert raw(r, "ZREVRANK", "z", "d") == 0
    assert raw(r, "ZRANK", "z", "x") is None
    assert raw(r, "ZRANK", "nokey", "x") is None
    assert err(r, "ZRANK", "z", "a", "b", "c") == "wrong number of arguments for 'zrank' command"
    if not IS_REDIS:  # WITHSCORE is new in 7.2
        assert raw(r, "ZRANK", "z", "c", "WITHSCORE") == [2, b"3"]
        assert raw(r, "ZREVRANK", "z", "c", "withscore") == [1, b"3"]
        assert raw(r, "ZRANK", "z", "x", "WITHSCORE") is None
        assert raw(r, "ZRANK", "nokey", "x", "WITHSCORE") is None
        assert err(r, "ZRANK", "z", "a", "foo") == SYNTAX


# ------------------------------------------------------------ removals

def test_zrem_and_empty_key_deleted(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert raw(r, "ZREM", "z", "a", "x", "a") == 1
    assert raw(r, "ZREM", "z", "b") == 1
    assert raw(r, "EXISTS", "z") == 0
    assert raw(r, "ZREM", "z", "b") == 0


def test_zremrange(r):
    r.zadd("z", {c: i for i, c in enumerate("abcdefgh")})
    assert raw(r, "ZREMRANGEBYRANK", "z", 0, 1) == 2
    assert raw(r, "ZREMRANGEBYRANK", "z", -1, -1) == 1
    assert raw(r, "ZREMRANGEBYRANK", "z", 5, 1) == 0
    assert zr(r, "z") == [b"c", b"d", b"e", b"f", b"g"]
    assert raw(r, "ZREMRANGEBYSCORE", "z", "(2", 4) == 2
    assert zr(r, "z") == [b"c", b"f", b"g"]
    assert raw(r, "ZCARD", "z") == 3
    r.zadd("l", {c: 0 for c in "abcdef"})
    assert raw(r, "ZREMRANGEBYLEX", "l", "(b", "[d") == 2
    assert raw(r, "ZREMRANGEBYLEX", "l", "[e", "+") == 2
    assert zr(r, "l") == [b"a", b"b"]
    assert raw(r, "ZREMRANGEBYLEX", "l", "-", "+") == 2
    assert raw(r, "EXISTS", "l") == 0
    assert raw(r, "ZREMRANGEBYSCORE", "z", "-inf", "+inf") == 3
    assert raw(r, "EXISTS", "z") == 0
    assert raw(r, "ZREMRANGEBYRANK", "nokey", 0, -1) == 0
    assert err(r, "ZREMRANGEBYRANK", "z", "a", 1) == NOT_INT
    assert err(r, "ZREMRANGEBYSCORE", "z", "a", 1) == RANGE_FLOAT
    assert err(r, "ZREMRANGEBYLEX", "z", "a", "+") == RANGE_LEX


# ------------------------------------------------------------ pops

def test_zpopmin_zpopmax(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert raw(r, "ZPOPMIN", "z") == [b"a", b"1"]
    assert raw(r, "ZPOPMAX", "z") == [b"d", b"4"]
    assert raw(r, "ZPOPMIN", "z", 0) == []
    assert raw(r, "ZPOPMIN", "z", 10) == [b"b", b"2", b"c", b"3"]
    assert raw(r, "EXISTS", "z") == 0
    assert raw(r, "ZPOPMIN", "z") == []
    assert raw(r, "ZPOPMAX", "z", 3) == []
    assert err(r, "ZPOPMIN", "z", -1) == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", "x") == "value is out of range, must be positive"
    assert err(r, "ZPOPMIN", "z", 1, 2) == SYNTAX


def test_zmpop(r):
    r.zadd("a", {"x": 1, "y": 2, "z": 3})
    assert raw(r, "ZMPOP", 2, "nokey", "a", "MIN") == [b"a", [[b"x", b"1"]]]
    assert raw(r, "ZMPOP", 1, "a", "MAX", "COUNT", 10) == [b"a", [[b"z", b"3"], [b"y", b"2"]]]
    assert raw(r, "EXISTS", "a") == 0
    assert raw(r, "ZMPOP", 2, "a", "nokey", "MIN") is None
    assert err(r, "ZMPOP", 0, "a", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", "x", "a", "MIN") == "numkeys should be greater than 0"
    assert err(r, "ZMPOP", 2, "a", "MIN") == SYNTAX
    assert err(r, "ZMPOP", 1, "a", "MIDDLE") == SYNTAX
    assert err(r, "ZMPOP", 1, "a", "MIN", "COUNT", 0) == "count should be greater than 0"
    assert err(r, "ZMPOP", 1, "a", "MIN", "COUNT", 1, "COUNT", 1) == SYNTAX
    r.set("s", "x")
    assert err(r, "ZMPOP", 2, "s", "a", "MIN") == WRONGTYPE


# ------------------------------------------------------------ STORE and algebra

def test_zrangestore(r):
    r.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert raw(r, "ZRANGESTORE", "d", "z", 1, 2) == 2
    assert zr(r, "d", "WITHSCORES") == [b"b", b"2", b"c", b"3"]
    assert raw(r, "ZRANGESTORE", "d", "z", "(1", "+inf", "BYSCORE", "LIMIT", 1, 1) == 1
    assert zr(r, "d") == [b"c"]
    assert raw(r, "ZRANGESTORE", "d", "z", "[b", "[a", "BYLEX", "REV") == 2
    assert raw(r, "ZRANGESTORE", "d", "nokey", 0, -1) == 0
    assert raw(r, "EXISTS", "d") == 0
    assert raw(r, "ZRANGESTORE", "z", "z", 0, 0) == 1  # source is destination
    assert zr(r, "z", "WITHSCORES") == [b"a", b"1"]


def test_zunion_zinter_zdiff(r):
    r.zadd("a", {"x": 1, "y": 2, "z": 3})
    r.zadd("b", {"y": 10, "z": 20, "w": 30})
    r.sadd("s", "y", "w", "q")
    assert raw(r, "ZUNION", 2, "a", "b", "WITHSCORES") == \
        [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert raw(r, "ZUNION", 2, "a", "b", "WEIGHTS", 2, 0.5, "WITHSCORES") == \
        [b"x", b"2", b"y", b"9", b"w", b"15", b"z", b"16"]
    assert raw(r, "ZUNION", 2, "a", "b", "AGGREGATE", "MIN") == [b"x", b"y", b"z", b"w"]
    assert raw(r, "ZUNION", 2, "a", "b", "AGGREGATE", "MAX", "WITHSCORES") == \
        [b"x", b"1", b"y", b"10", b"z", b"20", b"w", b"30"]
    assert raw(r, "ZUNION", 3, "a", "s", "nokey", "WITHSCORES") == \
        [b"q", b"1", b"w", b"1", b"x", b"1", b"y", b"3", b"z", b"3"]
    assert raw(r, "ZINTER", 2, "a", "b", "WITHSCORES") == [b"y", b"12", b"z", b"23"]
    assert raw(r, "ZINTER", 3, "a", "b", "s", "WITHSCORES") == [b"y", b"13"]
    assert raw(r, "ZINTER", 2, "a", "a", "WEIGHTS", 1, 2, "WITHSCORES") == [b"x", b"3", b"y", b"6", b"z", b"9"]
    assert raw(r, "ZINTER", 2, "a", "nokey") == []
    assert raw(r, "ZDIFF", 2, "a", "b", "WITHSCORES") == [b"x", b"1"]
    assert raw(r, "ZDIFF", 2, "b", "s", "WITHSCORES") == [b"z", b"20"]
    assert raw(r, "ZDIFF", 2, "a", "a") == []
    assert raw(r, "ZDIFF", 1, "nokey") == []
    assert raw(r, "ZINTERCARD", 2, "b", "s") == 2
    assert raw(r, "ZINTERCARD", 2, "b", "s", "LIMIT", 1) == 1
    # inf * 0 and inf + -inf are 0, as in Redis
    r.zadd("i1", {"m": float("inf")})
    r.zadd("i2", {"m": float("-inf")})
    assert raw(r, "ZUNION", 2, "i1", "i2", "WITHSCORES") == [b"m", b"0"]
    assert raw(r, "ZUNION", 1, "i1", "WEIGHTS", 0, "WITHSCORES") == [b"m", b"0"]


def test_zset_algebra_errors(r):
    r.zadd("a", {"x": 1})
    r.set("str", "v")
    assert err(r, "ZUNION", 0, "a") == "at least 1 input key is needed for 'zunion' command"
    assert err(r, "ZUNIONSTORE", "d", 0, "a") == "at least 1 input key is needed for 'zunionstore' command"
    assert err(r, "ZINTERCARD", 0, "a") == "at least 1 input key is needed for 'zintercard' command"
    assert err(r, "ZUNION", "x", "a") == NOT_INT
    assert err(r, "ZUNION", 3, "a", "b") == SYNTAX
    assert err(r, "ZUNION", 2, "a", "b", "WEIGHTS", 1) == SYNTAX
    assert err(r, "ZUNION", 2, "a", "b", "WEIGHTS", 1, "x") == "weight value is not a float"
    assert err(r, "ZUNION", 1, "a", "AGGREGATE", "AVG") == SYNTAX
    assert err(r, "ZDIFF", 1, "a", "WEIGHTS", 1) == SYNTAX
    assert err(r, "ZUNIONSTORE", "d", 1, "a", "WITHSCORES") == SYNTAX
    assert err(r, "ZINTERCARD", 1, "a", "LIMIT", -1) == "LIMIT can't be negative"
    assert err(r, "ZINTERCARD", 1, "a", "WITHSCORES") == SYNTAX
    assert err(r, "ZUNION", 2, "a", "str") == WRONGTYPE
    assert err(r, "ZINTERSTORE", "d", 2, "str", "a") == WRONGTYPE


def test_zset_store_forms(r):
    r.zadd("a", {"x": 1, "y": 2, "z": 3})
    r.zadd("b", {"y": 10, "z": 20, "w": 30})
    assert raw(r, "ZUNIONSTORE", "d", 2, "a", "b", "WEIGHTS", 1, 2) == 4
    assert zr(r, "d", "WITHSCORES") == [b"x", b"1", b"y", b"22", b"z", b"43", b"w", b"60"]
    assert raw(r, "ZINTERSTORE", "d", 2, "a", "b", "AGGREGATE", "MIN") == 2
    assert zr(r, "d", "WITHSCORES") == [b"y", b"2", b"z", b"3"]
    assert raw(r, "ZDIFFSTORE", "d", 2, "a", "b") == 1
    assert zr(r, "d", "WITHSCORES") == [b"x", b"1"]
    assert raw(r, "ZINTERSTORE", "d", 2, "a", "nokey") == 0
    assert raw(r, "EXISTS", "d") == 0
    r.set("d", "string")
    assert raw(r, "ZUNIONSTORE", "d", 1, "a") == 3
    assert raw(r, "TYPE", "d") == b"zset"
    assert raw(r, "ZUNIONSTORE", "a", 2, "a", "b") == 4  # destination is a source
    assert zr(r, "a", "WITHSCORES") == [b"x", b"1", b"y", b"12", b"z", b"23", b"w", b"30"]
    assert raw(r, "ZCARD", "a") == 4


# ------------------------------------------------------------ ZRANDMEMBER / ZSCAN

def test_zrandmember(r):
    assert raw(r, "ZRANDMEMBER", "nokey") is None
    assert raw(r, "ZRANDMEMBER", "nokey", 3) == []
    scores = {("m%d" % i).encode(): i for i in range(20)}
    r.zadd("z", scores)
    assert raw(r, "ZRANDMEMBER", "z") in scores
    assert raw(r, "ZRANDMEMBER", "z", 0) == []
    five = raw(r, "ZRANDMEMBER", "z", 5)
    assert len(set(five)) == 5 and set(five) <= set(scores)
    assert sorted(raw(r, "ZRANDMEMBER", "z", 50)) == sorted(scores)
    rep = raw(r, "ZRANDMEMBER", "z", -40, "WITHSCORES")
    assert len(rep) == 80
    for m, s in zip(rep[::2], rep[1::2]):
        assert scores[m] == float(s)
    seen = set()
    for _ in range(30):
        seen |= set(raw(r, "ZRANDMEMBER", "z", -20))
    assert seen == set(scores)
    assert err(r, "ZRANDMEMBER", "z", 1, "FOO") == SYNTAX
    assert err(r, "ZRANDMEMBER", "z", "x") == NOT_INT
    assert err(r, "ZRANDMEMBER", "z", 1, "WITHSCORES", "x") == SYNTAX
    assert err(r, "ZRANDMEMBER", "z", -9223372036854775807, "WITHSCORES") == "value is out of range"


def test_zscan(r):
    r.zadd("small", {"a": 1, "b": 2.5})
    assert raw(r, "ZSCAN", "small", 0, "COUNT", 1) == [b"0", [b"a", b"1", b"b", b"2.5"]]
    assert raw(r, "ZSCAN", "small", 0, "MATCH", "b*") == [b"0", [b"b", b"2.5"]]
    assert raw(r, "ZSCAN", "nokey", 0) == [b"0", []]
    assert err(r, "ZSCAN", "small", "x") == "invalid cursor"
    assert err(r, "ZSCAN", "small", 0, "COUNT", 0) == SYNTAX
    n = 1000
    r.zadd("big", {"k%d" % i: i for i in range(n)})
    cursor, got, calls = b"0", {}, 0
    while True:
        cursor, batch = raw(r, "ZSCAN", "big", cursor, "COUNT", 100)
        got.update(dict(zip(batch[::2], batch[1::2])))
        calls += 1
        if cursor == b"0":
            break
    assert calls > 5 and len(got) == n
    assert all(float(got[("k%d" % i).encode()]) == i for i in range(n))


# ------------------------------------------------------------ arity / WRONGTYPE

@pytest.mark.parametrize("args", [
    ("ZADD", "z", 1), ("ZINCRBY", "z", 1), ("ZREM", "z"), ("ZSCORE", "z"), ("ZMSCORE", "z"), ("ZCARD",),
    ("ZCOUNT", "z", 0), ("ZLEXCOUNT", "z", "-"), ("ZRANGE", "z", 0), ("ZRANGEBYSCORE", "z", 0),
    ("ZREVRANGEBYSCORE", "z", 0), ("ZRANGEBYLEX", "z", "-"), ("ZREVRANGEBYLEX", "z", "+"),
    ("ZREVRANGE", "z", 0), ("ZRANK", "z"), ("ZREVRANK", "z"), ("ZPOPMIN",), ("ZPOPMAX",),
    ("ZMPOP", 1, "z"), ("ZREMRANGEBYSCORE", "z", 0), ("ZREMRANGEBYRANK", "z", 0), ("ZREMRANGEBYLEX", "z", "-"),
    ("ZRANGESTORE", "d", "z", 0), ("ZUNIONSTORE", "d", 1), ("ZINTERSTORE", "d", 1), ("ZDIFFSTORE", "d", 1),
    ("ZUNION", 1), ("ZINTER", 1), ("ZDIFF", 1), ("ZINTERCARD", 1), ("ZRANDMEMBER",), ("ZSCAN", "z"),
    ("BZPOPMIN", "z"), ("BZPOPMAX", "z"), ("BZMPOP", 0, 1, "z"),
])
def test_wrong_arity(r, args):
    assert err(r, *args) == "wrong number of arguments for '%s' command" % args[0].lower()


def test_wrongtype_everywhere(r):
    r.set("str", "x")
    r.zadd("z", {"a": 1})
    for args in [("ZADD", "str", 1, "a"), ("ZINCRBY", "str", 1, "a"), ("ZREM", "str", "a"), ("ZSCORE", "str", "a"),
                 ("ZMSCORE", "str", "a"), ("ZCARD", "str"), ("ZCOUNT", "str", 0, 1), ("ZLEXCOUNT", "str", "-", "+"),
                 ("ZRANGE", "str", 0, 1), ("ZRANGEBYSCORE", "str", 0, 1), ("ZRANGEBYLEX", "str", "-", "+"),
                 ("ZREVRANGE", "str", 0, 1), ("ZRANK", "str", "a"), ("ZREVRANK", "str", "a"), ("ZPOPMIN", "str"),
                 ("ZPOPMAX", "str", 2), ("ZREMRANGEBYRANK", "str", 0, 1), ("ZREMRANGEBYSCORE", "str", 0, 1),
                 ("ZREMRANGEBYLEX", "str", "-", "+"), ("ZRANGESTORE", "d", "str", 0, 1), ("ZRANDMEMBER", "str"),
                 ("ZRANDMEMBER", "str", 2), ("ZSCAN", "str", 0), ("ZUNION", 2, "z", "str"),
                 ("BZPOPMIN", "str", 0), ("BZMPOP", 0, 1, "str", "MIN")]:
        assert err(r, *args) == WRONGTYPE, args
    r.sadd("set", "a")
    assert err(r, "ZADD", "set", 1, "a") == WRONGTYPE
    assert err(r, "SADD", "z", "a") == WRONGTYPE
    assert r.get("str") == b"x"


# ------------------------------------------------------------ big set, job pattern

def test_hundred_thousand_members(server, r):
    n = 100_000
    t0 = time.time()
    pipe = r.pipeline(transaction=False)
    for i in range(n):
        pipe.execute_command("ZADD", "big", i * 2, "job:%06d" % i)
        if i % 10000 == 9999:
            assert sum(pipe.execute()) == 10000
    pipe.execute()
    assert raw(r, "ZCARD", "big") == n
    assert raw(r, "ZRANGEBYSCORE", "big", 100000, "+inf", "LIMIT", 0, 3) == \
        [b"job:050000", b"job:050001", b"job:050002"]
    assert raw(r, "ZRANGEBYSCORE", "big", "(100000", 100010, "WITHSCORES") == \
        [b"job:050001", b"100002", b"job:050002", b"100004", b"job:050003", b"100006",
         b"job:050004", b"100008", b"job:050005", b"100010"]
    assert raw(r, "ZREVRANGEBYSCORE", "big", "+inf", "-inf", "LIMIT", 10, 2) == [b"job:099989", b"job:099988"]
    assert raw(r, "ZRANK", "big", "job:000000") == 0
    assert raw(r, "ZRANK", "big", "job:012345") == 12345
    assert raw(r, "ZREVRANK", "big", "job:099990") == 9
    assert raw(r, "ZCOUNT", "big", 1000, 1999) == 500
    assert raw(r, "ZRANGE", "big", -2, -1) == [b"job:099998", b"job:099999"]
    assert raw(r, "ZPOPMIN", "big", 3) == [b"job:000000", b"0", b"job:000001", b"2", b"job:000002", b"4"]
    assert raw(r, "ZPOPMAX", "big") == [b"job:099999", b"199998"]
    assert raw(r, "ZCARD", "big") == n - 4
    assert raw(r, "ZRANK", "big", "job:000003") == 0
    assert raw(r, "ZSCORE", "big", "job:077777") == b"155554"
    # point reads stay fast on the big set
    t1 = time.time()
    for i in range(200):
        assert raw(r, "ZSCORE", "big", "job:%06d" % (i * 97 + 3)) is not None
        raw(r, "ZRANGEBYSCORE", "big", i * 500, "+inf", "LIMIT", 0, 10)
    assert time.time() - t1 < 5
    assert time.time() - t0 < 60


def test_scheduled_job_pattern(r):
    """ZADD by due time; a poller takes due jobs with ZRANGEBYSCORE -inf now LIMIT 0 10 and
    removes them with ZREM inside MULTI/EXEC (redis-py transaction pipeline)."""
    now = 1_700_000_000_000
    for i in range(25):
        r.zadd("schedule", {"job-%02d" % i: now - 1000 + i * 100})  # 10 due, 15 future
    taken = []
    while True:
        due = raw(r, "ZRANGEBYSCORE", "schedule", "-inf", now, "LIMIT", 0, 10)
        if not due:
            break
        pipe = r.pipeline(transaction=True)
        pipe.zrem("schedule", *due)
        pipe.zcard("schedule")
        removed, left = pipe.execute()
        assert removed == len(due)
        taken += due
    assert taken == [("job-%02d" % i).encode() for i in range(11)]  # score == now is due too
    assert r.zcard("schedule") == 14
    # WATCH-guarded variant: a concurrent taker makes our EXEC fail
    other = redis.Redis(host="127.0.0.1", port=r.connection_pool.connection_kwargs["port"])
    with r.pipeline(transaction=True) as pipe:
        pipe.watch("schedule")
        nxt = pipe.zrangebyscore("schedule", "-inf", "+inf", start=0, num=1)
        other.zrem("schedule", nxt[0])
        pipe.multi()
        pipe.zrem("schedule", nxt[0])
        with pytest.raises(redis.WatchError):
            pipe.execute()
    other.close()
    assert r.zcard("schedule") == 13


# ------------------------------------------------------------ blocking

def test_bzpopmin_immediate_and_timeout(r):
    r.zadd("q", {"a": 1, "b": 2})
    assert raw(r, "BZPOPMIN", "nokey", "q", 0) == [b"q", b"a", b"1"]
    assert raw(r, "BZPOPMAX", "q", 0) == [b"q", b"b", b"2"]
    t0 = time.time()
    assert raw(r, "BZPOPMIN", "q", 0.2) is None
    assert 0.15 < time.time() - t0 < 2
    assert raw(r, "BZMPOP", 0.1, 1, "q", "MIN") is None
    assert err(r, "BZPOPMIN", "q", -1) == "timeout is negative"
    assert err(r, "BZPOPMIN", "q", "x") == "timeout is not a float or out of range"
    r.zadd("q", {"c": 3, "d": 4})
    assert raw(r, "BZMPOP", 0, 2, "nokey", "q", "MAX", "COUNT", 5) == [b"q", [[b"d", b"4"], [b"c", b"3"]]]
    assert err(r, "BZMPOP", 0, 0, "q", "MIN") == "numkeys should be greater than 0"


def _blocked_call(server, args, out, key):
    c = server.client()
    try:
        out[key] = raw(c, *args)
    finally:
        c.close()


def test_bzpopmin_wakes_on_zadd(server, r):
    out = {}
    t = threading.Thread(target=_blocked_call, args=(server, ("BZPOPMIN", "w1", "w2", 5), out, "a"))
    t.start()
    time.sleep(0.2)
    assert "a" not in out
    r.zadd("w2", {"m": 7, "n": 8})
    t.join(5)
    assert out["a"] == [b"w2", b"m", b"7"]
    assert r.zrange("w2", 0, -1) == [b"n"]


def test_blocked_clients_served_in_order(server, r):
    out = {}
    threads = []
    for i in range(3):
        t = threading.Thread(target=_blocked_call, args=(server, ("BZPOPMAX", "fifo", 5), out, i))
        t.start()
        threads.append(t)
        time.sleep(0.15)
    r.zadd("fifo", {"x": 1, "y": 2})
    time.sleep(0.3)
    assert out.get(0) == [b"fifo", b"y", b"2"]
    assert out.get(1) == [b"fifo", b"x", b"1"]
    assert 2 not in out
    r.zadd("fifo", {"z": 3})
    for t in threads:
        t.join(5)
    assert out[2] == [b"fifo", b"z", b"3"]
    assert r.exists("fifo") == 0


def test_bzmpop_wakes(server, r):
    out = {}
    t = threading.Thread(target=_blocked_call, args=(server, ("BZMPOP", 5, 2, "m1", "m2", "MIN", "COUNT", 2), out, "a"))
    t.start()
    time.sleep(0.2)
    r.zadd("m1", {"a": 1, "b": 2, "c": 3})
    t.join(5)
    assert out["a"] == [b"m1", [[b"a", b"1"], [b"b", b"2"]]]


def test_bzpop_waiter_survives_wrongtype_touch(server, r):
    # a list pushed on the key does not wake a sorted-set waiter (no WRONGTYPE)
    out = {}
    t = threading.Thread(target=_blocked_call, args=(server, ("BZPOPMIN", "wt", 5), out, "a"))
    t.start()
    wait_blocked(r, 1)
    r.rpush("wt", "x")
    time.sleep(0.3)
    assert "a" not in out
    r.delete("wt")
    r.zadd("wt", {"m": 1})
    t.join(5)
    assert out["a"] == [b"wt", b"m", b"1"]


def test_blocking_inside_multi_returns_at_once(r):
    pipe = r.pipeline(transaction=True)
    pipe.execute_command("BZPOPMIN", "empty", 0)
    pipe.execute_command("BZMPOP", 0, 1, "empty", "MIN")
    pipe.zadd("full", {"a": 1})
    pipe.execute_command("BZPOPMIN", "full", 0)
    t0 = time.time()
    res = pipe.execute()
    assert time.time() - t0 < 2
    assert res[0] is None and res[1] is None and tuple(res[3]) == (b"full", b"a", 1.0)


def test_copy_rename_delete(r):
    r.zadd("z", {"a": 1, "b": 2})
    assert r.copy("z", "z2") == 1
    r.zadd("z", {"a": 5})
    assert zr(r, "z2", "WITHSCORES") == [b"a", b"1", b"b", b"2"] and raw(r, "ZCARD", "z2") == 2
    r.rename("z2", "z3")
    assert raw(r, "ZSCORE", "z3", "b") == b"2"
    r.set("z3", "x")  # overwriting with a string drops the members
    r.delete("z3")
    assert raw(r, "ZADD", "z3", 9, "q") == 1
    assert zr(r, "z3") == [b"q"]
    r.zadd("e", {"a": 1})
    r.pexpire("e", 30)
    time.sleep(0.1)
    assert raw(r, "ZCARD", "e") == 0 and raw(r, "ZSCORE", "e", "a") is None
    assert raw(r, "ZADD", "e", 2, "b") == 1 and zr(r, "e") == [b"b"]


# ------------------------------------------------------------ persistence

def test_survives_restart(make_server):
    s = make_server()
    c = s.client()
    c.zadd("z", {"m%d" % i: i / 4 for i in range(200)})
    c.zrem("z", "m0", "m1")
    s.restart()
    c = s.client()
    assert c.zcard("z") == 198
    assert c.zscore("z", "m199") == 49.75
    assert c.zrank("z", "m2") == 0


# ------------------------------------------------------------ RESP3

def B(v):
    return (b"$", v)


def D(v):
    return (b",", v)


def test_resp3_reply_types(server, r):
    r.zadd("z", {"a": 1.5, "b": 2, "c": float("inf")})
    r.zadd("y", {"a": 1})
    c = RespClient(server.port, replies="tagged")
    try:
        assert c.call("HELLO", "3")[0] == b"%"
        assert c.call("ZSCORE", "z", "a") == D(b"1.5")
        assert c.call("ZSCORE", "z", "c") == D(b"inf")
        assert c.call("ZSCORE", "z", "x") == (b"_", b"")
        assert c.call("ZMSCORE", "z", "a", "x") == (b"*", [D(b"1.5"), (b"_", b"")])
        assert c.call("ZINCRBY", "z", 1, "b") == D(b"3")
        assert c.call("ZADD", "z", "INCR", 0, "b") == D(b"3")
        assert c.call("ZRANGE", "z", 0, 1, "WITHSCORES") == \
            (b"*", [(b"*", [B(b"a"), D(b"1.5")]), (b"*", [B(b"b"), D(b"3")])])
        assert c.call("ZRANGE", "z", 0, 0) == (b"*", [B(b"a")])
        assert c.call("ZRANGEBYSCORE", "z", 2, "+inf", "WITHSCORES") == \
            (b"*", [(b"*", [B(b"b"), D(b"3")]), (b"*", [B(b"c"), D(b"inf")])])
        assert c.call("ZUNION", 2, "z", "y", "WITHSCORES")[1][0] == (b"*", [B(b"a"), D(b"2.5")])
        assert c.call("ZRANDMEMBER", "y", 1, "WITHSCORES") == (b"*", [(b"*", [B(b"a"), D(b"1")])])
        assert c.call("ZSCAN", "y", 0) == (b"*", [B(b"0"), (b"*", [B(b"a"), B(b"1")])])
        if not IS_REDIS:
            assert c.call("ZRANK", "z", "b", "WITHSCORE") == (b"*", [(b":", b"1"), D(b"3")])
            assert c.call("ZRANK", "z", "x", "WITHSCORE") == (b"_", b"")
        assert c.call("ZPOPMIN", "z") == (b"*", [B(b"a"), D(b"1.5")])
        assert c.call("ZPOPMIN", "z", 1) == (b"*", [(b"*", [B(b"b"), D(b"3")])])
        assert c.call("ZPOPMIN", "nokey") == (b"*", [])
        assert c.call("ZMPOP", 1, "z", "MAX") == (b"*", [B(b"z"), (b"*", [(b"*", [B(b"c"), D(b"inf")])])])
        assert c.call("ZMPOP", 1, "z", "MAX") == (b"_", b"")
        assert c.call("BZPOPMIN", "y", 0) == (b"*", [B(b"y"), B(b"a"), D(b"1")])
        assert c.call("BZPOPMIN", "y", 0.05) == (b"_", b"")
    finally:
        c.close()
