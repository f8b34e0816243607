"""Expiry: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT), EXPIRETIME PEXPIRETIME
TTL PTTL PERSIST, lazy and active expiry.

Written against Redis semantics (validated with SOLIDIS_BIN=/usr/bin/redis-server).
redis-py strips the leading "ERR " from error replies.
"""
import time

import pytest

from conftest import IS_REDIS
from helpers import LLONG_MAX, LLONG_MIN, NOT_INT, err, now_ms, raw, wait_for

NX_XX = "NX and XX, GT or LT options at the same time are not compatible"
GT_LT = "GT and LT options at the same time are not compatible"


# ---------------------------------------------------------------- basics

def test_expire_and_ttl(r):
    r.set("k", "v")
    assert raw(r, "TTL", "k") == -1
    assert raw(r, "PTTL", "k") == -1
    assert raw(r, "EXPIRE", "k", "100") == 1
    assert 99 <= raw(r, "TTL", "k") <= 100
    assert 98000 < raw(r, "PTTL", "k") <= 100000
    assert r.get("k") == b"v"
    assert raw(r, "EXPIRE", "k", "200") == 1  # overwrite
    assert 199 <= raw(r, "TTL", "k") <= 200


def test_ttl_missing_key(r):
    assert raw(r, "TTL", "missing") == -2
    assert raw(r, "PTTL", "missing") == -2
    assert raw(r, "EXPIRETIME", "missing") == -2
    assert raw(r, "PEXPIRETIME", "missing") == -2


def test_expire_missing_key(r):
    assert raw(r, "EXPIRE", "missing", "100") == 0
    assert raw(r, "PEXPIRE", "missing", "100000") == 0
    assert raw(r, "EXPIREAT", "missing", int(time.time()) + 100) == 0
    assert raw(r, "PEXPIREAT", "missing", now_ms() + 100000) == 0
    assert r.exists("missing") == 0


def test_pexpire(r):
    r.set("k", "v")
    assert raw(r, "PEXPIRE", "k", "150000") == 1
    assert 148000 < raw(r, "PTTL", "k") <= 150000
    assert 149 <= raw(r, "TTL", "k") <= 150


def test_expireat_pexpireat_and_expiretime(r):
    r.set("k", "v")
    t = int(time.time()) + 1000
    assert raw(r, "EXPIREAT", "k", t) == 1
    assert raw(r, "EXPIRETIME", "k") == t
    assert raw(r, "PEXPIRETIME", "k") == t * 1000
    assert 998 <= raw(r, "TTL", "k") <= 1000
    tm = (int(time.time()) + 2000) * 1000
    assert raw(r, "PEXPIREAT", "k", tm) == 1
    assert raw(r, "PEXPIRETIME", "k") == tm
    assert raw(r, "EXPIRETIME", "k") == tm // 1000
    tm2 = now_ms() + 123456
    assert raw(r, "PEXPIREAT", "k", tm2) == 1
    assert raw(r, "PEXPIRETIME", "k") == tm2


def test_expiretime_rounds_to_nearest_second(r):
    # Redis rounds the ms time to the nearest second, as TTL does.
    r.set("k", "v")
    base = (int(time.time()) + 1000) * 1000
    for ms, s in [(0, 0), (499, 0), (500, 1), (700, 1), (999, 1)]:
        assert raw(r, "PEXPIREAT", "k", base + ms) == 1
        assert raw(r, "EXPIRETIME", "k") == base // 1000 + s
        assert raw(r, "PEXPIRETIME", "k") == base + ms


def test_expiretime_no_ttl(r):
    r.set("k", "v")
    assert raw(r, "EXPIRETIME", "k") == -1
    assert raw(r, "PEXPIRETIME", "k") == -1


def test_persist(r):
    r.set("k", "v", ex=100)
    assert raw(r, "PERSIST", "k") == 1
    assert raw(r, "TTL", "k") == -1
    assert raw(r, "EXPIRETIME", "k") == -1
    assert raw(r, "PERSIST", "k") == 0
    assert raw(r, "PERSIST", "missing") == 0
    assert r.get("k") == b"v"


# ---------------------------------------------------------------- past / negative times delete

@pytest.mark.parametrize("cmd,arg", [
    ("EXPIRE", "-1"), ("EXPIRE", "0"), ("PEXPIRE", "-100"), ("PEXPIRE", "0"),
    ("EXPIREAT", "1"), ("EXPIREAT", "-10"), ("PEXPIREAT", "1"), ("PEXPIREAT", "0"),
])
def test_non_positive_or_past_expire_deletes(r, cmd, arg):
    r.set("k", "v")
    assert raw(r, cmd, "k", arg) == 1
    assert r.exists("k") == 0
    assert r.get("k") is None
    assert raw(r, "TTL", "k") == -2
    assert r.dbsize() == 0


def test_expireat_in_the_past_relative_to_now(r):
    r.set("k", "v")
    assert raw(r, "EXPIREAT", "k", int(time.time()) - 5) == 1
    assert r.exists("k") == 0


# ---------------------------------------------------------------- expired keys are invisible

def test_expired_key_invisible_at_once(r):
    r.set("live", "x")
    r.set("k", "v", px=50)
    r.set("n", "10", px=50)
    assert r.get("k") == b"v"
    time.sleep(0.12)
    assert r.get("k") is None
    assert r.exists("k") == 0
    assert raw(r, "TTL", "k") == -2
    assert raw(r, "PTTL", "n") == -2
    assert raw(r, "TYPE", "k") == b"none"
    assert r.strlen("n") == 0
    assert r.mget("k", "n", "live") == [None, None, b"x"]
    assert r.keys("*") == [b"live"]
    assert raw(r, "EXPIRE", "n", "100") == 0
    assert raw(r, "PERSIST", "n") == 0
    # writes treat it as a fresh key
    assert raw(r, "INCR", "n") == 1
    assert raw(r, "SETNX", "k", "new") == 1
    assert r.get("k") == b"new"
    assert raw(r, "TTL", "k") == -1


def test_expired_key_invisible_to_scan_and_rename(r):
    r.set("a", "1", px=40)
    r.set("b", "2")
    time.sleep(0.1)
    cursor, keys = b"0", []
    while True:
        cursor, batch = raw(r, "SCAN", cursor)
        keys += batch
        if cursor == b"0":
            break
    assert keys == [b"b"]
    assert err(r, "RENAME", "a", "c") == "no such key"
    assert raw(r, "RENAMENX", "b", "a") == 1  # destination counts as absent
    assert r.get("a") == b"2"


def test_expired_key_append_and_getset(r):
    r.set("a", "old", px=40)
    r.set("b", "old", px=40)
    r.set("c", "old", px=40)
    time.sleep(0.1)
    assert raw(r, "APPEND", "a", "new") == 3
    assert r.get("a") == b"new"
    assert raw(r, "GETSET", "b", "new") is None
    assert raw(r, "SET", "c", "new", "GET") is None
    assert raw(r, "GETDEL", "c") == b"new"


def test_pexpire_short(r):
    r.set("k", "v")
    assert raw(r, "PEXPIRE", "k", "50") == 1
    assert 0 < raw(r, "PTTL", "k") <= 50
    time.sleep(0.12)
    assert r.get("k") is None
    assert r.exists("k") == 0


def test_ttl_counts_down(r):
    r.set("k", "v", px=1000)
    p1 = raw(r, "PTTL", "k")
    time.sleep(0.2)
    p2 = raw(r, "PTTL", "k")
    assert 900 <= p1 <= 1000
    assert p1 - p2 >= 150
    assert p2 > 0


# ---------------------------------------------------------------- TTL preserved / cleared

def test_set_without_keepttl_clears_ttl(r):
    r.set("k", "v", ex=100)
    r.set("k", "v2")
    assert raw(r, "TTL", "k") == -1
    r.set("k", "v3", ex=100)
    raw(r, "SET", "k", "v4", "KEEPTTL")
    assert 98 <= raw(r, "TTL", "k") <= 100
    r.set("k", "v5", px=50)
    r.set("k", "v6")
    time.sleep(0.12)
    assert r.get("k") == b"v6"


def test_ttl_survives_modifications(r):
    r.set("k", "1", ex=100)
    r.incr("k")
    r.append("k", "0")
    r.setrange("k", 0, "3")
    assert r.get("k") == b"30"
    assert 98 <= raw(r, "TTL", "k") <= 100


def test_ttl_cleared_by_overwriting_commands(r):
    for cmd in (("SET", "k", "x"), ("GETSET", "k", "x"), ("MSET", "k", "x"),
                ("SETEX", "k", "1000", "x")):
        r.set("k", "v", ex=100)
        raw(r, *cmd)
        ttl = raw(r, "TTL", "k")
        if cmd[0] == "SETEX":
            assert ttl > 900
        else:
            assert ttl == -1, cmd


def test_del_and_recreate_has_no_ttl(r):
    r.set("k", "v", ex=100)
    r.delete("k")
    r.set("k", "v")
    assert raw(r, "TTL", "k") == -1


# ---------------------------------------------------------------- NX XX GT LT

def test_expire_nx(r):
    r.set("k", "v")
    assert raw(r, "EXPIRE", "k", "100", "NX") == 1
    assert raw(r, "EXPIRE", "k", "200", "NX") == 0
    assert 99 <= raw(r, "TTL", "k") <= 100


def test_expire_xx(r):
    r.set("k", "v")
    assert raw(r, "EXPIRE", "k", "100", "XX") == 0
    assert raw(r, "TTL", "k") == -1
    r.expire("k", 100)
    assert raw(r, "EXPIRE", "k", "200", "XX") == 1
    assert 199 <= raw(r, "TTL", "k") <= 200


def test_expire_gt(r):
    r.set("k", "v")
    # no TTL counts as infinite: GT never applies
    assert raw(r, "EXPIRE", "k", "100", "GT") == 0
    assert raw(r, "TTL", "k") == -1
    r.expire("k", 100)
    assert raw(r, "EXPIRE", "k", "50", "GT") == 0
    assert 99 <= raw(r, "TTL", "k") <= 100
    assert raw(r, "EXPIRE", "k", "200", "GT") == 1
    assert 199 <= raw(r, "TTL", "k") <= 200


def test_expire_lt(r):
    r.set("k", "v")
    # no TTL counts as infinite: LT always applies
    assert raw(r, "EXPIRE", "k", "100", "LT") == 1
    assert 99 <= raw(r, "TTL", "k") <= 100
    assert raw(r, "EXPIRE", "k", "200", "LT") == 0
    assert 99 <= raw(r, "TTL", "k") <= 100
    assert raw(r, "EXPIRE", "k", "50", "LT") == 1
    assert 49 <= raw(r, "TTL", "k") <= 50


def test_expire_xx_gt_xx_lt(r):
    r.set("k", "v")
    assert raw(r, "EXPIRE", "k", "100", "XX", "GT") == 0
    assert raw(r, "EXPIRE", "k", "100", "XX", "LT") == 0  # XX: key has no TTL
    assert raw(r, "TTL", "k") == -1
    r.expire("k", 100)
    assert raw(r, "EXPIRE", "k", "200", "XX", "GT") == 1
    assert raw(r, "EXPIRE", "k", "300", "LT", "XX") == 0
    assert raw(r, "EXPIRE", "k", "150", "lt", "xx") == 1
    assert 149 <= raw(r, "TTL", "k") <= 150


def test_options_on_other_expire_commands(r):
    r.set("k", "v")
    assert raw(r, "PEXPIRE", "k", "100000", "XX") == 0
    assert raw(r, "PEXPIRE", "k", "100000", "NX") == 1
    assert raw(r, "PEXPIRE", "k", "50000", "GT") == 0
    assert raw(r, "PEXPIRE", "k", "50000", "LT") == 1
    t = int(time.time())
    assert raw(r, "EXPIREAT", "k", t + 10, "GT") == 0
    assert raw(r, "EXPIREAT", "k", t + 1000, "GT") == 1
    assert raw(r, "EXPIRETIME", "k") == t + 1000
    assert raw(r, "EXPIREAT", "k", t + 2000, "NX") == 0
    assert raw(r, "PEXPIREAT", "k", (t + 500) * 1000, "LT") == 1
    assert raw(r, "PEXPIRETIME", "k") == (t + 500) * 1000
    assert raw(r, "PEXPIREAT", "k", (t + 600) * 1000, "XX") == 1
    assert raw(r, "EXPIRETIME", "k") == t + 600


def test_gt_lt_with_negative_time_deletes(r):
    r.set("k", "v", ex=100)
    assert raw(r, "EXPIRE", "k", "-1", "GT") == 0
    assert r.exists("k") == 1
    assert raw(r, "EXPIRE", "k", "-1", "LT") == 1
    assert r.exists("k") == 0


@pytest.mark.parametrize("opts,msg", [
    (("NX", "XX"), NX_XX),
    (("NX", "GT"), NX_XX),
    (("NX", "LT"), NX_XX),
    (("XX", "NX"), NX_XX),
    (("GT", "LT"), GT_LT),
    (("LT", "GT"), GT_LT),
    (("XX", "GT", "LT"), GT_LT),
])
@pytest.mark.parametrize("cmd", ["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
def test_incompatible_options(r, cmd, opts, msg):
    r.set("k", "v")
    assert err(r, cmd, "k", "10000000000000", *opts) == msg
    assert raw(r, "TTL", "k") == -1


def test_unsupported_option(r):
    r.set("k", "v")
    assert err(r, "EXPIRE", "k", "100", "FOO") == "Unsupported option FOO"
    assert err(r, "PEXPIRE", "k", "100", "NX", "bar") == "Unsupported option bar"
    assert raw(r, "TTL", "k") == -1


# ---------------------------------------------------------------- argument errors

def test_expire_not_integer(r):
    r.set("k", "v")
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        for bad in ("abc", "1.5", "", "10s"):
            assert err(r, cmd, "k", bad) == NOT_INT, (cmd, bad)
    assert raw(r, "TTL", "k") == -1


@pytest.mark.parametrize("cmd,val", [
    ("EXPIRE", LLONG_MAX),
    ("EXPIRE", LLONG_MIN),
    ("EXPIRE", LLONG_MAX // 1000 + 1),
    ("PEXPIRE", LLONG_MAX),
    ("EXPIREAT", LLONG_MAX),
    ("EXPIREAT", LLONG_MIN),
])
def test_invalid_expire_time_overflow(r, cmd, val):
    r.set("k", "v")
    assert err(r, cmd, "k", str(val)) == "invalid expire time in '%s' command" % cmd.lower()
    assert r.get("k") == b"v"
    assert raw(r, "TTL", "k") == -1
    # the error is reported even for a missing key
    assert err(r, cmd, "missing", str(val)) == "invalid expire time in '%s' command" % cmd.lower()


def test_expire_wrong_arity(r):
    assert err(r, "EXPIRE", "k") == "wrong number of arguments for 'expire' command"
    assert err(r, "TTL") == "wrong number of arguments for 'ttl' command"
    assert err(r, "PERSIST") == "wrong number of arguments for 'persist' command"
    assert err(r, "EXPIRETIME", "a", "b") == "wrong number of arguments for 'expiretime' command"


# ---------------------------------------------------------------- active expiry

def test_active_expiry_of_many_keys(r):
    n = 20000
    at = now_ms() + 1500  # every key expires at the same absolute time
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.set("tmp:%d" % i, "x", pxat=at)
        if i % 2000 == 1999:
            assert p.execute() == [True] * 2000
    p.execute()
    if now_ms() < at - 200:
        # nothing may go away before its time
        assert r.dbsize() == n
    assert r.get("tmp:%d" % (n - 1)) == b"x" or now_ms() >= at
    # never touch the tmp: keys again: only active expiry can remove them
    live = 0
    deadline = time.time() + 10
    size = None
    while time.time() < deadline:
        r.set("live:%d" % live, live)
        live += 1
        size = r.dbsize()
        if size == live:
            break
        time.sleep(0.05)
    assert size == live, "%d keys still counted after 10s" % (size - live)
    # writes kept working, and non-expiring keys survived
    assert r.mget(["live:%d" % i for i in range(live)]) == [str(i).encode() for i in range(live)]
    assert all(k.startswith(b"live:") for k in r.keys("*"))
    assert r.get("tmp:0") is None and r.get("tmp:%d" % (n - 1)) is None


def test_active_expiry_only_deletes_expired(r):
    r.mset({("keep:%d" % i): 1 for i in range(200)})
    p = r.pipeline(transaction=False)
    for i in range(200):
        p.set("short:%d" % i, 1, px=50)
        p.set("long:%d" % i, 1, ex=100)
    p.execute()
    wait_for(lambda: r.dbsize() <= 400, timeout=5, interval=0.05)
    assert r.dbsize() == 400
    assert r.exists(*["keep:%d" % i for i in range(200)]) == 200
    assert r.exists(*["long:%d" % i for i in range(200)]) == 200
