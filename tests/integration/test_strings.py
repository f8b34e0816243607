"""String commands: GET/SET family, counters, ranges, binary safety, exact error texts.

Written against Redis semantics (validated with SOLIDIS_BIN=/usr/bin/redis-server).
redis-py strips the leading "ERR " from error replies, so `err()` returns the text
after it; other codes (e.g. WRONGTYPE) would be kept.
"""
import time

import pytest

from conftest import IS_REDIS
from helpers import (LLONG_MAX, LLONG_MIN, NOT_FLOAT, NOT_INT, OVERFLOW, SYNTAX, WRONGTYPE, RespClient, err,
                     now_ms, raw, raw_conn, read_until)

NAN_INF = "increment would produce NaN or Infinity"


# ---------------------------------------------------------------- GET / SET

def test_get_set_basic(r):
    assert r.get("missing") is None
    assert raw(r, "SET", "k", "v") == b"OK"  # +OK
    assert r.get("k") == b"v"
    assert raw(r, "SET", "k", "v2") == b"OK"
    assert r.get("k") == b"v2"
    assert r.set("empty", "") is True
    assert r.get("empty") == b""
    assert r.exists("empty") == 1


def test_set_returns_plain_ok_raw(server, r):
    s = raw_conn(server.port)
    try:
        s.sendall(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        assert read_until(s, b"\r\n") == b"+OK\r\n"
        s.sendall(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        assert read_until(s, b"v\r\n") == b"$1\r\nv\r\n"
        s.sendall(b"*2\r\n$3\r\nGET\r\n$4\r\nnone\r\n")
        assert read_until(s, b"\r\n") == b"$-1\r\n"
    finally:
        s.close()


def test_values_are_kept_verbatim(r):
    for v in [b"007", b"-0", b"1.50", b" 1", b"+1", b"1e3", b"9223372036854775808"]:
        r.set("k", v)
        assert r.get("k") == v


def test_set_nx_xx(r):
    assert raw(r, "SET", "k", "a", "NX") == b"OK"
    assert raw(r, "SET", "k", "b", "NX") is None
    assert r.get("k") == b"a"
    assert raw(r, "SET", "k", "c", "XX") == b"OK"
    assert r.get("k") == b"c"
    assert raw(r, "SET", "other", "c", "XX") is None
    assert r.exists("other") == 0
    # options are case-insensitive
    assert raw(r, "SET", "k2", "x", "nx") == b"OK"
    assert raw(r, "SET", "k2", "y", "xX") == b"OK"
    assert r.get("k2") == b"y"


def test_set_ex_px(r):
    assert raw(r, "SET", "k", "v", "EX", "100") == b"OK"
    assert 98 <= r.ttl("k") <= 100
    assert raw(r, "SET", "k", "v", "PX", "100000") == b"OK"
    assert 98000 <= r.pttl("k") <= 100000
    assert r.get("k") == b"v"


def test_set_exat_pxat(r):
    t = int(time.time()) + 100
    assert raw(r, "SET", "k", "v", "EXAT", t) == b"OK"
    assert raw(r, "EXPIRETIME", "k") == t
    tm = now_ms() + 200000
    assert raw(r, "SET", "k2", "v", "PXAT", tm) == b"OK"
    assert raw(r, "PEXPIRETIME", "k2") == tm
    assert 195 <= r.ttl("k2") <= 200


def test_set_exat_in_past_removes_key(r):
    r.set("k", "old")
    assert raw(r, "SET", "k", "v", "EXAT", int(time.time()) - 10) == b"OK"
    assert r.get("k") is None
    assert r.exists("k") == 0
    assert raw(r, "SET", "k2", "v", "PXAT", 1) == b"OK"
    assert r.get("k2") is None


def test_set_px_short_expires(r):
    raw(r, "SET", "k", "v", "PX", "50")
    assert r.get("k") == b"v"
    time.sleep(0.12)
    assert r.get("k") is None
    assert r.ttl("k") == -2


def test_set_keepttl(r):
    raw(r, "SET", "k", "v", "EX", "100")
    assert raw(r, "SET", "k", "v2", "KEEPTTL") == b"OK"
    assert r.get("k") == b"v2"
    assert 98 <= r.ttl("k") <= 100
    # plain SET drops the TTL
    r.set("k", "v3")
    assert r.ttl("k") == -1
    # KEEPTTL on a key without TTL / new key: no TTL
    assert raw(r, "SET", "n", "v", "KEEPTTL") == b"OK"
    assert r.ttl("n") == -1


def test_set_get_option(r):
    assert raw(r, "SET", "k", "v1", "GET") is None
    assert r.get("k") == b"v1"
    assert raw(r, "SET", "k", "v2", "GET") == b"v1"
    assert r.get("k") == b"v2"
    assert raw(r, "SET", "k", "v3", "GET", "EX", "100") == b"v2"
    assert 98 <= r.ttl("k") <= 100
    assert raw(r, "SET", "k", "v4", "XX", "GET") == b"v3"
    assert r.get("k") == b"v4"
    assert raw(r, "SET", "nokey", "x", "XX", "GET") is None
    assert r.exists("nokey") == 0


def test_set_nx_get_combination(r):
    # allowed since Redis 7.0: returns old value, does not overwrite
    assert raw(r, "SET", "k", "a", "NX", "GET") is None
    assert r.get("k") == b"a"
    assert raw(r, "SET", "k", "b", "NX", "GET") == b"a"
    assert r.get("k") == b"a"


@pytest.mark.parametrize("opts", [
    ("NX", "XX"),
    ("XX", "NX"),
    ("EX", "10", "PX", "10000"),
    ("PX", "10000", "EX", "10"),
    ("EX", "10", "EXAT", "99999999999"),
    ("PXAT", "99999999999999", "EXAT", "99999999999"),
    ("KEEPTTL", "EX", "10"),
    ("PX", "100", "KEEPTTL"),
    ("EX",),
    ("PX",),
    ("EXAT",),
    ("FOO",),
    ("PERSIST",),
    ("NX", "BAR"),
])
def test_set_syntax_errors(r, opts):
    r.set("k", "orig")
    assert err(r, "SET", "k", "new", *opts) == SYNTAX
    assert r.get("k") == b"orig"
    assert r.ttl("k") == -1


@pytest.mark.parametrize("opt,val", [
    ("EX", "0"), ("EX", "-1"), ("PX", "0"), ("PX", "-100"),
    ("EXAT", "0"), ("PXAT", "-5"),
    ("EX", str(LLONG_MAX)), ("PX", str(LLONG_MAX)), ("EXAT", str(LLONG_MAX)),
])
def test_set_invalid_expire_time(r, opt, val):
    r.set("k", "orig")
    assert err(r, "SET", "k", "new", opt, val) == "invalid expire time in 'set' command"
    assert r.get("k") == b"orig"


@pytest.mark.parametrize("val", ["abc", "1.5", "", "10x"])
def test_set_expire_not_integer(r, val):
    assert err(r, "SET", "k", "v", "EX", val) == NOT_INT
    assert err(r, "SET", "k", "v", "PX", val) == NOT_INT
    assert r.exists("k") == 0


def test_set_repeated_expiry_option_last_wins(r):
    # The same expiry option twice is no conflict: the last time is used.
    assert raw(r, "SET", "k", "v", "EX", "10", "EX", "100") == b"OK"
    assert r.ttl("k") == 100
    assert raw(r, "SET", "k", "v", "pxat", "99999999999000", "PXAT", "1") == b"OK"
    assert r.exists("k") == 0
    assert err(r, "SET", "k", "v", "EX", "10", "EX", "abc") == NOT_INT
    assert err(r, "SET", "k", "v", "EX", "10", "EX", "0") == "invalid expire time in 'set' command"
    assert err(r, "SET", "k", "v", "EX", "10", "PX", "100") == SYNTAX
    assert r.exists("k") == 0


def test_set_syntax_error_wins_over_bad_time(r):
    # All options are read before the time is: a later syntax error is the reply.
    r.set("k", "orig")
    for opts in [("EX", "abc", "FOO"), ("EX", "0", "NX", "XX"), ("PXAT", "0", "PX", "10"),
                 ("EX", "-5", "KEEPTTL"), ("EX", "1.5", "PX")]:
        assert err(r, "SET", "k", "new", *opts) == SYNTAX
    assert r.get("k") == b"orig"


def test_wrong_arity(r):
    assert err(r, "GET") == "wrong number of arguments for 'get' command"
    assert err(r, "GET", "a", "b") == "wrong number of arguments for 'get' command"
    assert err(r, "SET", "a") == "wrong number of arguments for 'set' command"
    assert err(r, "INCR") == "wrong number of arguments for 'incr' command"
    assert err(r, "MGET") == "wrong number of arguments for 'mget' command"
    assert err(r, "SETEX", "k", "10") == "wrong number of arguments for 'setex' command"
    assert err(r, "GETDEL") == "wrong number of arguments for 'getdel' command"
    assert err(r, "APPEND", "k") == "wrong number of arguments for 'append' command"
    # connection still usable afterwards
    r.set("ok", "1")
    assert r.get("ok") == b"1"


def test_wrong_arity_raw_text(server, r):
    s = raw_conn(server.port)
    try:
        s.sendall(b"*1\r\n$3\r\nGET\r\n")
        assert read_until(s, b"\r\n") == b"-ERR wrong number of arguments for 'get' command\r\n"
    finally:
        s.close()


# ---------------------------------------------------------------- SETEX / PSETEX / SETNX

def test_setex_psetex(r):
    assert raw(r, "SETEX", "k", "100", "v") == b"OK"
    assert r.get("k") == b"v"
    assert 98 <= r.ttl("k") <= 100
    assert raw(r, "PSETEX", "p", "100000", "w") == b"OK"
    assert r.get("p") == b"w"
    assert 98000 <= r.pttl("p") <= 100000
    # overwrites value and TTL
    assert raw(r, "SETEX", "k", "1000", "v2") == b"OK"
    assert r.get("k") == b"v2"
    assert r.ttl("k") > 900


def test_setex_psetex_errors(r):
    assert err(r, "SETEX", "k", "0", "v") == "invalid expire time in 'setex' command"
    assert err(r, "SETEX", "k", "-5", "v") == "invalid expire time in 'setex' command"
    assert err(r, "PSETEX", "k", "0", "v") == "invalid expire time in 'psetex' command"
    assert err(r, "PSETEX", "k", "-1", "v") == "invalid expire time in 'psetex' command"
    assert err(r, "SETEX", "k", "abc", "v") == NOT_INT
    assert err(r, "PSETEX", "k", "1.5", "v") == NOT_INT
    assert r.exists("k") == 0


def test_psetex_short_expiry(r):
    raw(r, "PSETEX", "k", "50", "v")
    assert r.get("k") == b"v"
    time.sleep(0.12)
    assert r.get("k") is None


def test_setnx(r):
    assert raw(r, "SETNX", "k", "a") == 1
    assert raw(r, "SETNX", "k", "b") == 0
    assert r.get("k") == b"a"


# ---------------------------------------------------------------- GETEX / GETDEL / GETSET

def test_getex_no_options(r):
    assert raw(r, "GETEX", "missing") is None
    r.set("k", "v", ex=100)
    assert raw(r, "GETEX", "k") == b"v"
    assert 98 <= r.ttl("k") <= 100


def test_getex_ex_px_exat_pxat_persist(r):
    r.set("k", "v")
    assert raw(r, "GETEX", "k", "EX", "100") == b"v"
    assert 98 <= r.ttl("k") <= 100
    assert raw(r, "GETEX", "k", "PX", "200000") == b"v"
    assert 198000 <= r.pttl("k") <= 200000
    t = int(time.time()) + 300
    assert raw(r, "GETEX", "k", "EXAT", t) == b"v"
    assert raw(r, "EXPIRETIME", "k") == t
    tm = now_ms() + 400000
    assert raw(r, "GETEX", "k", "PXAT", tm) == b"v"
    assert raw(r, "PEXPIRETIME", "k") == tm
    assert raw(r, "GETEX", "k", "PERSIST") == b"v"
    assert r.ttl("k") == -1
    assert r.get("k") == b"v"


def test_getex_missing_with_options(r):
    assert raw(r, "GETEX", "nokey", "EX", "100") is None
    assert r.exists("nokey") == 0
    assert raw(r, "GETEX", "nokey", "PERSIST") is None
    assert r.exists("nokey") == 0


def test_getex_past_time_deletes(r):
    r.set("k", "v")
    assert raw(r, "GETEX", "k", "PXAT", 1) == b"v"
    assert r.exists("k") == 0
    r.set("k", "v")
    assert raw(r, "GETEX", "k", "EXAT", int(time.time()) - 100) == b"v"
    assert r.get("k") is None


def test_getex_short_px(r):
    r.set("k", "v")
    assert raw(r, "GETEX", "k", "PX", "50") == b"v"
    time.sleep(0.12)
    assert r.get("k") is None


@pytest.mark.parametrize("opts", [
    ("EX", "10", "PX", "1000"),
    ("PERSIST", "EX", "10"),
    ("EX", "10", "PERSIST"),
    ("KEEPTTL",),
    ("NX",),
    ("GET",),
    ("EX",),
    ("FOO",),
])
def test_getex_syntax_errors(r, opts):
    r.set("k", "v", ex=100)
    assert err(r, "GETEX", "k", *opts) == SYNTAX
    assert 98 <= r.ttl("k") <= 100


def test_getex_invalid_expire(r):
    r.set("k", "v")
    for opt, val in [("EX", "0"), ("EX", "-1"), ("PX", "0"), ("EXAT", "0"), ("PXAT", "-1"),
                     ("EX", str(LLONG_MAX))]:
        assert err(r, "GETEX", "k", opt, val) == "invalid expire time in 'getex' command"
    assert err(r, "GETEX", "k", "EX", "abc") == NOT_INT
    assert r.get("k") == b"v"
    assert r.ttl("k") == -1


def test_getex_time_checked_after_the_key(r):
    # GETEX reads the key before the time: a missing key is null and a key of
    # another type WRONGTYPE whatever the time, a bad time only fails on a string.
    assert raw(r, "GETEX", "nokey", "EX", "abc") is None
    assert raw(r, "GETEX", "nokey", "PX", "0") is None
    r.rpush("l", "x")
    assert err(r, "GETEX", "l", "EX", "abc") == WRONGTYPE
    assert err(r, "GETEX", "l", "EXAT", "-1") == WRONGTYPE
    assert r.exists("nokey") == 0 and r.llen("l") == 1
    # the same option twice: last time wins, and is what gets checked
    r.set("k", "v")
    assert raw(r, "GETEX", "k", "EX", "10", "EX", "100") == b"v"
    assert r.ttl("k") == 100
    assert err(r, "GETEX", "k", "EX", "10", "EX", "0") == "invalid expire time in 'getex' command"
    assert err(r, "GETEX", "k", "EX", "abc", "PERSIST") == SYNTAX
    assert r.ttl("k") == 100


def test_getdel(r):
    r.set("k", "v")
    assert raw(r, "GETDEL", "k") == b"v"
    assert r.exists("k") == 0
    assert raw(r, "GETDEL", "k") is None


def test_getset(r):
    assert raw(r, "GETSET", "k", "a") is None
    assert r.get("k") == b"a"
    r.expire("k", 100)
    assert raw(r, "GETSET", "k", "b") == b"a"
    assert r.get("k") == b"b"
    assert r.ttl("k") == -1  # GETSET discards the TTL


# ---------------------------------------------------------------- MGET / MSET / MSETNX

def test_mget_mset(r):
    assert raw(r, "MSET", "a", "1", "b", "2", "c", "3") == b"OK"
    assert raw(r, "MGET", "a", "b", "missing", "c", "a") == [b"1", b"2", None, b"3", b"1"]
    # later duplicates win
    raw(r, "MSET", "d", "x", "d", "y")
    assert r.get("d") == b"y"


def test_mset_clears_ttl(r):
    r.set("a", "1", ex=100)
    raw(r, "MSET", "a", "2")
    assert r.get("a") == b"2"
    assert r.ttl("a") == -1


def test_mset_odd_args(r):
    assert err(r, "MSET", "a", "1", "b") == "wrong number of arguments for 'mset' command"
    assert err(r, "MSET") == "wrong number of arguments for 'mset' command"
    assert err(r, "MSETNX", "a") == "wrong number of arguments for 'msetnx' command"
    assert r.exists("a", "b") == 0


def test_msetnx(r):
    assert raw(r, "MSETNX", "a", "1", "b", "2") == 1
    assert r.mget("a", "b") == [b"1", b"2"]
    # one existing key -> nothing is set
    assert raw(r, "MSETNX", "c", "3", "a", "x") == 0
    assert r.exists("c") == 0
    assert r.get("a") == b"1"


# ---------------------------------------------------------------- INCR family

def test_incr_decr(r):
    assert raw(r, "INCR", "n") == 1
    assert raw(r, "INCR", "n") == 2
    assert raw(r, "DECR", "n") == 1
    assert raw(r, "DECR", "m") == -1
    assert raw(r, "INCRBY", "n", "10") == 11
    assert raw(r, "INCRBY", "n", "-20") == -9
    assert raw(r, "DECRBY", "n", "5") == -14
    assert raw(r, "DECRBY", "n", "-14") == 0
    assert r.get("n") == b"0"
    r.set("s", "41")
    assert r.incr("s") == 42
    assert r.get("s") == b"42"
    r.set("neg", "-5")
    assert r.incrby("neg", 3) == -2


def test_incr_keeps_ttl(r):
    r.set("n", "5", ex=100)
    assert r.incr("n") == 6
    assert 98 <= r.ttl("n") <= 100


def test_incr_limits(r):
    r.set("n", str(LLONG_MAX - 1))
    assert r.incr("n") == LLONG_MAX
    assert err(r, "INCR", "n") == OVERFLOW
    assert r.get("n") == str(LLONG_MAX).encode()
    r.set("n", str(LLONG_MIN + 1))
    assert r.decr("n") == LLONG_MIN
    assert err(r, "DECR", "n") == OVERFLOW
    assert err(r, "INCRBY", "n", "-1") == OVERFLOW
    r.set("n", "1")
    assert err(r, "INCRBY", "n", str(LLONG_MAX)) == OVERFLOW
    assert r.get("n") == b"1"
    assert raw(r, "INCRBY", "z", str(LLONG_MIN)) == LLONG_MIN
    assert raw(r, "DECRBY", "y", str(LLONG_MAX)) == -LLONG_MAX


def test_decrby_llong_min(r):
    # negating LLONG_MIN overflows
    assert err(r, "DECRBY", "n", str(LLONG_MIN)) == "decrement would overflow"
    assert r.exists("n") == 0


@pytest.mark.parametrize("val", [b"abc", b"1.5", b" 1", b"1 ", b"01", b"", b"+1",
                                 b"9223372036854775808", b"-9223372036854775809", b"1\x00"])
def test_incr_non_integer_value(r, val):
    r.set("n", val)
    assert err(r, "INCR", "n") == NOT_INT
    assert err(r, "DECR", "n") == NOT_INT
    assert err(r, "INCRBY", "n", "1") == NOT_INT
    assert r.get("n") == val


@pytest.mark.parametrize("inc", ["abc", "1.0", "", "9223372036854775808", "1e3"])
def test_incrby_bad_increment(r, inc):
    r.set("n", "1")
    assert err(r, "INCRBY", "n", inc) == NOT_INT
    assert err(r, "DECRBY", "n", inc) == NOT_INT
    assert r.get("n") == b"1"


def test_incrbyfloat(r):
    assert raw(r, "INCRBYFLOAT", "f", "10.5") == b"10.5"
    assert raw(r, "INCRBYFLOAT", "f", "0.1") == b"10.6"
    assert raw(r, "INCRBYFLOAT", "f", "-5") == b"5.6"
    assert r.get("f") == b"5.6"
    r.set("g", "5.0e3")
    assert raw(r, "INCRBYFLOAT", "g", "2.0e2") == b"5200"
    r.set("h", "3")
    assert raw(r, "INCRBYFLOAT", "h", "1.5") == b"4.5"
    assert raw(r, "INCRBYFLOAT", "h", "-4.5") == b"0"
    assert raw(r, "INCRBYFLOAT", "i", "1") == b"1"
    assert raw(r, "INCRBYFLOAT", "i", "0.25") == b"1.25"
    # integer ops refuse the float value afterwards
    assert err(r, "INCR", "i") == NOT_INT


def test_incrbyfloat_keeps_ttl(r):
    r.set("f", "1", ex=100)
    assert raw(r, "INCRBYFLOAT", "f", "1.5") == b"2.5"
    assert 98 <= r.ttl("f") <= 100


def test_incrbyfloat_errors(r):
    r.set("s", "abc")
    assert err(r, "INCRBYFLOAT", "s", "1") == NOT_FLOAT
    r.set("f", "1")
    assert err(r, "INCRBYFLOAT", "f", "abc") == NOT_FLOAT
    assert err(r, "INCRBYFLOAT", "f", "") == NOT_FLOAT
    assert err(r, "INCRBYFLOAT", "f", "nan") == NOT_FLOAT
    assert err(r, "INCRBYFLOAT", "f", "inf") == NAN_INF
    assert err(r, "INCRBYFLOAT", "f", "-inf") == NAN_INF
    assert r.get("f") == b"1"
    assert err(r, "INCRBYFLOAT", "new", "inf") == NAN_INF
    assert r.exists("new") == 0



def test_incrbyfloat_key_type_before_increment(r):
    # The key is checked before the increment is parsed, as in Redis.
    r.rpush("l", "x")
    assert err(r, "INCRBYFLOAT", "l", "abc") == WRONGTYPE
    assert err(r, "INCRBYFLOAT", "l", "nan") == WRONGTYPE
    assert r.llen("l") == 1

# ---------------------------------------------------------------- APPEND / STRLEN

def test_append_strlen(r):
    assert r.strlen("k") == 0
    assert raw(r, "APPEND", "k", "Hello") == 5
    assert raw(r, "APPEND", "k", " World") == 11
    assert r.get("k") == b"Hello World"
    assert r.strlen("k") == 11
    assert raw(r, "APPEND", "k", "") == 11
    assert raw(r, "APPEND", "e", "") == 0
    assert r.exists("e") == 1
    assert r.get("e") == b""
    r.set("n", "12")
    assert raw(r, "APPEND", "n", "3") == 3
    assert r.incr("n") == 124


def test_append_keeps_ttl(r):
    r.set("k", "a", ex=100)
    r.append("k", "b")
    assert r.get("k") == b"ab"
    assert 98 <= r.ttl("k") <= 100


def test_strlen_integer_value(r):
    r.set("n", "-12345")
    assert r.strlen("n") == 6
    r.incr("n")
    assert r.strlen("n") == 6
    assert r.get("n") == b"-12344"


# ---------------------------------------------------------------- GETRANGE / SETRANGE

def test_getrange(r):
    r.set("k", "This is a string")
    assert r.getrange("k", 0, 3) == b"This"
    assert r.getrange("k", -3, -1) == b"ing"
    assert r.getrange("k", 0, -1) == b"This is a string"
    assert r.getrange("k", 10, 100) == b"string"
    assert r.getrange("k", 5, 3) == b""
    assert r.getrange("k", 100, 200) == b""
    assert r.getrange("k", -100, 3) == b"This"
    assert r.getrange("k", -1, -3) == b""
    assert r.getrange("missing", 0, -1) == b""
    r.set("n", "12345")
    assert r.getrange("n", 1, 2) == b"23"
    assert err(r, "GETRANGE", "k", "a", "1") == NOT_INT
    assert err(r, "GETRANGE", "k", "0", "1.5") == NOT_INT


def test_setrange(r):
    r.set("k", "Hello World")
    assert r.setrange("k", 6, "Redis") == 11
    assert r.get("k") == b"Hello Redis"
    assert r.setrange("k", 6, "Solidis!!") == 15
    assert r.get("k") == b"Hello Solidis!!"
    # padding with zero bytes
    assert r.setrange("p", 5, "x") == 6
    assert r.get("p") == b"\x00\x00\x00\x00\x00x"
    # empty value on missing key: no key created
    assert r.setrange("none", 10, "") == 0
    assert r.exists("none") == 0
    # empty value on existing key: returns length, no change
    assert r.setrange("k", 100, "") == 15
    assert r.get("k") == b"Hello Solidis!!"
    r.set("n", "12345")
    assert r.setrange("n", 1, "9") == 5
    assert r.get("n") == b"19345"
    assert r.incr("n") == 19346


def test_setrange_keeps_ttl(r):
    r.set("k", "abc", ex=100)
    r.setrange("k", 1, "X")
    assert r.get("k") == b"aXc"
    assert 98 <= r.ttl("k") <= 100


def test_setrange_errors(r):
    assert err(r, "SETRANGE", "k", "-1", "a") == "offset is out of range"
    r.set("k", "abc")
    assert err(r, "SETRANGE", "k", "-1", "a") == "offset is out of range"
    too_big = "string exceeds maximum allowed size (proto-max-bulk-len)"
    assert err(r, "SETRANGE", "k", str(512 * 1024 * 1024), "a") == too_big
    assert err(r, "SETRANGE", "k", str(512 * 1024 * 1024 - 1), "ab") == too_big
    assert err(r, "SETRANGE", "new", str(512 * 1024 * 1024), "a") == too_big
    assert r.exists("new") == 0
    assert err(r, "SETRANGE", "k", "abc", "a") == NOT_INT
    assert r.get("k") == b"abc"


# ---------------------------------------------------------------- binary safety

def test_binary_keys_and_values(r):
    key = b"k\x00ey\xff\r\n"
    val = bytes(range(256)) * 4
    r.set(key, val)
    assert r.get(key) == val
    assert r.get(b"k") is None
    assert r.get(b"k\x00ey") is None
    assert r.strlen(key) == 1024
    assert r.exists(key) == 1
    assert r.getrange(key, 0, 3) == b"\x00\x01\x02\x03"
    r.append(key, b"\x00\r\n")
    assert r.get(key) == val + b"\x00\r\n"
    r.mset({b"\x00": b"\x00\x00", b"\x00\x00": b"\x00"})
    assert r.mget(b"\x00", b"\x00\x00") == [b"\x00\x00", b"\x00"]
    assert set(r.keys(b"*")) == {key, b"\x00", b"\x00\x00"}


def test_large_value(r):
    val = (b"0123456789abcdef\x00" * 61681)[:1024 * 1024]
    assert len(val) == 1024 * 1024
    r.set("big", val)
    assert r.strlen("big") == 1024 * 1024
    assert r.get("big") == val
    assert r.getrange("big", 1024 * 1024 - 5, -1) == val[-5:]
    assert r.append("big", val) == 2 * 1024 * 1024
    assert r.get("big") == val + val


def test_pipelined_commands(r):
    p = r.pipeline(transaction=False)
    for i in range(500):
        p.set("k%d" % i, i)
    for i in range(500):
        p.incr("k%d" % i)
    res = p.execute()
    assert res[:500] == [True] * 500
    assert res[500:] == list(range(1, 501))
    assert r.mget(["k%d" % i for i in range(500)]) == [str(i + 1).encode() for i in range(500)]


# ---------------------------------------------------------------- RESP3

def test_resp3_null_and_hello(server, r):
    rd = RespClient(server.port, replies="tagged")
    try:
        rd.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n")
        t, hello = rd.reply()
        assert t == b"%"
        hello = dict(hello)
        assert hello[(b"$", b"proto")] == (b":", b"3")
        assert (b"$", b"version") in hello and (b"$", b"role") in hello
        # GET on a missing key is the RESP3 null
        rd.send(b"*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n")
        assert rd.line() == b"_"
        assert rd.buf == b""
        rd.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv1\r\n")
        assert rd.reply() == (b"+", b"OK")
        rd.send(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        assert rd.reply() == (b"$", b"v1")
        rd.send(b"*4\r\n$4\r\nMGET\r\n$1\r\nk\r\n$1\r\nx\r\n$1\r\nk\r\n")
        assert rd.reply() == (b"*", [(b"$", b"v1"), (b"_", b""), (b"$", b"v1")])
        rd.send(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\nv2\r\n"
                b"*4\r\n$3\r\nSET\r\n$2\r\nk2\r\n$1\r\nv\r\n$2\r\nXX\r\n")
        assert rd.reply() == (b"+", b"OK")
        assert rd.reply() == (b"_", b"")
        rd.send(b"*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n")
        assert rd.reply() == (b":", b"1")
        # back to RESP2: null bulk again
        rd.send(b"*2\r\n$5\r\nHELLO\r\n$1\r\n2\r\n")
        assert rd.reply()[0] == b"*"
        rd.send(b"*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n")
        assert rd.line() == b"$-1"
    finally:
        rd.close()


def test_inline_commands(server, r):
    s = raw_conn(server.port)
    try:
        s.sendall(b"SET inl hello\r\n")
        assert read_until(s, b"\r\n") == b"+OK\r\n"
        s.sendall(b"GET inl\r\n")
        assert read_until(s, b"hello\r\n") == b"$5\r\nhello\r\n"
    finally:
        s.close()
    assert r.get("inl") == b"hello"
