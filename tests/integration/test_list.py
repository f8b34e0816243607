"""List commands, blocking pops and the reliable-queue pattern.

Every expectation here was checked against a real redis-server
(SOLIDIS_BIN=/usr/bin/redis-server).
"""
import random
import socket
import threading
import time

import pytest
import redis

from conftest import IS_REDIS
from helpers import WRONGTYPE, encode, raw_conn, read_until


def err(fn, *args):
    with pytest.raises(redis.ResponseError) as e:
        fn(*args)
    return str(e.value)


# ---- push / pop -------------------------------------------------------------

def test_push_and_range(r):
    assert r.rpush("l", "a", "b", "c") == 3
    assert r.lpush("l", "x", "y") == 5
    assert r.lrange("l", 0, -1) == [b"y", b"x", b"a", b"b", b"c"]
    assert r.llen("l") == 5
    assert r.type("l") == b"list"
    assert r.llen("nokey") == 0


def test_pushx(r):
    assert r.lpushx("l", "a") == 0
    assert r.rpushx("l", "a") == 0
    assert r.exists("l") == 0
    r.rpush("l", "m")
    assert r.lpushx("l", "b", "c") == 3
    assert r.execute_command("RPUSHX", "l", "d", "e") == 5
    assert r.lrange("l", 0, -1) == [b"c", b"b", b"m", b"d", b"e"]


def test_pop(r):
    r.rpush("l", *"abcdefg")
    assert r.lpop("l") == b"a"
    assert r.rpop("l") == b"g"
    assert r.lpop("l", 2) == [b"b", b"c"]
    assert r.rpop("l", 2) == [b"f", b"e"]
    assert r.rpop("l", 0) == []
    assert r.lpop("l", 100) == [b"d"]
    assert r.exists("l") == 0  # emptied lists are deleted
    assert r.lpop("l") is None
    assert r.lpop("l", 2) is None
    assert r.execute_command("LPOP", "l", 0) is None


def test_pop_errors(r):
    r.rpush("l", "a")
    for bad in ("-1", "abc"):
        assert err(r.execute_command, "LPOP", "l", bad) == "value is out of range, must be positive"
        assert err(r.execute_command, "RPOP", "nokey", bad) == "value is out of range, must be positive"
    assert "wrong number of arguments" in err(r.execute_command, "LPOP", "l", 1, 2)
    assert "wrong number of arguments" in err(r.execute_command, "LPOP")
    assert r.lrange("l", 0, -1) == [b"a"]


def test_binary_and_empty_elements(r):
    vals = [b"", b"\x00\x01\xff", b"a\r\nb", b"x" * 10000]
    r.rpush("l", *vals)
    assert r.lrange("l", 0, -1) == vals
    assert r.lindex("l", 0) == b""
    assert r.lrem("l", 0, b"") == 1
    assert r.lpos("l", b"\x00\x01\xff") == 0
    assert r.rpop("l") == b"x" * 10000


# ---- reads ------------------------------------------------------------------

def test_lindex(r):
    r.rpush("l", "a", "b", "c")
    assert r.lindex("l", 0) == b"a"
    assert r.lindex("l", 2) == b"c"
    assert r.lindex("l", -1) == b"c"
    assert r.lindex("l", -3) == b"a"
    assert r.lindex("l", 3) is None
    assert r.lindex("l", -4) is None
    assert r.lindex("nokey", 0) is None
    assert err(r.lindex, "l", "x") == "value is not an integer or out of range"
    assert r.lindex("nokey", "x") is None  # key checked before the index


def test_lrange_bounds(r):
    r.rpush("l", *"abcde")
    assert r.lrange("l", -3, -1) == [b"c", b"d", b"e"]
    assert r.lrange("l", 2, 1) == []
    assert r.lrange("l", -100, 100) == [b"a", b"b", b"c", b"d", b"e"]
    assert r.lrange("l", 4, 100) == [b"e"]
    assert r.lrange("l", 5, 10) == []
    assert r.lrange("l", 1, -2) == [b"b", b"c", b"d"]
    assert r.lrange("l", 0, -6) == []
    assert r.lrange("nokey", 0, -1) == []
    assert err(r.lrange, "l", "a", 1) == "value is not an integer or out of range"
    assert err(r.lrange, "nokey", 0, "b") == "value is not an integer or out of range"


def test_lpos(r):
    r.rpush("l", "a", "b", "c", "1", "2", "3", "c", "c")
    assert r.lpos("l", "a") == 0
    assert r.lpos("l", "c") == 2
    assert r.lpos("l", "c", rank=2) == 6
    assert r.lpos("l", "c", rank=-1) == 7
    assert r.lpos("l", "c", rank=-2) == 6
    assert r.lpos("l", "c", rank=10) is None
    assert r.lpos("l", "c", count=0) == [2, 6, 7]
    assert r.lpos("l", "c", count=2) == [2, 6]
    assert r.lpos("l", "c", count=0, rank=-1) == [7, 6, 2]
    assert r.lpos("l", "c", count=0, rank=2, maxlen=7) == [6]
    assert r.lpos("l", "c", maxlen=2) is None
    assert r.lpos("l", "c", maxlen=3, count=0) == [2]
    assert r.lpos("l", "c", rank=-1, maxlen=1) == 7
    assert r.lpos("l", "zz") is None
    assert r.lpos("l", "zz", count=0) == []
    assert r.lpos("nokey", "a") is None
    assert r.lpos("nokey", "a", count=1) == []


def test_lpos_errors(r):
    r.rpush("l", "a")
    e = err(r.lpos, "l", "a", 0)
    assert e.startswith("RANK can't be zero: use 1 to start from the first match, 2 from the second")
    assert err(r.execute_command, "LPOS", "l", "a", "RANK", "x") == "value is not an integer or out of range"
    assert err(r.execute_command, "LPOS", "l", "a", "COUNT", "-1") == "COUNT can't be negative"
    assert err(r.execute_command, "LPOS", "l", "a", "MAXLEN", "-1") == "MAXLEN can't be negative"
    assert err(r.execute_command, "LPOS", "l", "a", "FOO") == "syntax error"
    assert err(r.execute_command, "LPOS", "l", "a", "RANK") == "syntax error"
    assert "wrong number of arguments" in err(r.execute_command, "LPOS", "l")


# ---- in-place writes --------------------------------------------------------

def test_lset(r):
    r.rpush("l", "a", "b", "c")
    assert r.lset("l", 0, "A") is True
    assert r.lset("l", -1, "C") is True
    assert r.lrange("l", 0, -1) == [b"A", b"b", b"C"]
    assert err(r.lset, "l", 3, "z") == "index out of range"
    assert err(r.lset, "l", -4, "z") == "index out of range"
    assert err(r.lset, "l", "x", "z") == "value is not an integer or out of range"
    assert err(r.lset, "nokey", 0, "z") == "no such key"
    assert err(r.lset, "nokey", "x", "z") == "no such key"


def test_lrem(r):
    r.rpush("l", "a", "b", "c", "a", "d", "a", "e")
    assert r.lrem("l", 1, "a") == 1
    assert r.lrange("l", 0, -1) == [b"b", b"c", b"a", b"d", b"a", b"e"]
    assert r.lrem("l", -1, "a") == 1
    assert r.lrange("l", 0, -1) == [b"b", b"c", b"a", b"d", b"e"]
    r.rpush("l", "a", "a")
    assert r.lrem("l", 0, "a") == 3
    assert r.lrange("l", 0, -1) == [b"b", b"c", b"d", b"e"]
    assert r.lrem("l", 0, "zz") == 0
    assert r.lrem("nokey", 1, "a") == 0
    assert err(r.lrem, "l", "x", "a") == "value is not an integer or out of range"
    r.rpush("r", "a", "b", "a")
    assert r.lrem("r", -9223372036854775808, "a") == 2
    assert r.lrem("r", 0, "b") == 1
    assert r.exists("r") == 0


def test_ltrim(r):
    r.rpush("l", *"123456789")
    assert r.ltrim("l", 1, -2) is True
    assert r.lrange("l", 0, -1) == [b"2", b"3", b"4", b"5", b"6", b"7", b"8"]
    r.ltrim("l", -3, 100)
    assert r.lrange("l", 0, -1) == [b"6", b"7", b"8"]
    r.ltrim("l", 0, -1)
    assert r.lrange("l", 0, -1) == [b"6", b"7", b"8"]
    r.ltrim("l", 0, 0)
    assert r.lrange("l", 0, -1) == [b"6"]
    assert r.llen("l") == 1
    r.ltrim("l", 5, 10)
    assert r.exists("l") == 0
    r.rpush("l", 1, 2, 3)
    r.ltrim("l", 2, 1)
    assert r.exists("l") == 0
    assert r.ltrim("nokey", 0, 1) is True
    assert err(r.ltrim, "l", "a", 1) == "value is not an integer or out of range"


def test_linsert(r):
    r.rpush("l", "a", "b", "c")
    assert r.linsert("l", "BEFORE", "b", "x") == 4
    assert r.linsert("l", "AFTER", "b", "y") == 5
    assert r.linsert("l", "before", "a", "h") == 6
    assert r.linsert("l", "after", "c", "t") == 7
    assert r.lrange("l", 0, -1) == [b"h", b"a", b"x", b"b", b"y", b"c", b"t"]
    assert r.linsert("l", "AFTER", "zz", "q") == -1
    assert r.linsert("nokey", "BEFORE", "a", "b") == 0
    assert err(r.execute_command, "LINSERT", "l", "MIDDLE", "a", "q") == "syntax error"
    assert err(r.execute_command, "LINSERT", "nokey", "MIDDLE", "a", "q") == "syntax error"
    assert r.llen("l") == 7


def test_linsert_many_at_one_spot(r):
    """Repeated inserts at the same place exhaust any gap and renumber."""
    model = [b"L", b"P", b"R"]
    r.rpush("l", *model)
    for i in range(200):
        v = b"%d" % i
        if i % 2:
            assert r.linsert("l", "BEFORE", "P", v) == len(model) + 1
            model.insert(model.index(b"P"), v)
        else:
            assert r.linsert("l", "AFTER", "P", v) == len(model) + 1
            model.insert(model.index(b"P") + 1, v)
    assert r.lrange("l", 0, -1) == model
    r.lpush("l", "head")
    r.rpush("l", "tail")
    model = [b"head"] + model + [b"tail"]
    assert r.lrange("l", 0, -1) == model
    assert r.lindex("l", 150) == model[150]
    assert r.lindex("l", -150) == model[-150]


def test_random_ops_match_model(r):
    rnd = random.Random(1234)
    model = []
    vals = [b"a", b"b", b"c", b"d"]
    for step in range(1500):
        op = rnd.randrange(11)
        v = rnd.choice(vals)
        if op == 0:
            assert r.lpush("l", v) == len(model) + 1
            model.insert(0, v)
        elif op == 1:
            assert r.rpush("l", v, v) == len(model) + 2
            model += [v, v]
        elif op == 2:
            got = r.lpop("l")
            assert got == (model.pop(0) if model else None)
        elif op == 3:
            n = rnd.randrange(1, 4)
            got = r.rpop("l", n)
            if model:
                exp = model[::-1][:n]
                del model[len(model) - len(exp):]
                assert got == exp
            else:
                assert got is None
        elif op == 4 and model:
            piv = rnd.choice(model)
            where = rnd.choice(["BEFORE", "AFTER"])
            assert r.linsert("l", where, piv, v) == len(model) + 1
            i = model.index(piv)
            model.insert(i if where == "BEFORE" else i + 1, v)
        elif op == 5:
            c = rnd.randrange(-2, 3)
            removed = r.lrem("l", c, v)
            idxs = [i for i, x in enumerate(model) if x == v]
            if c < 0:
                idxs = idxs[::-1][:-c]
            elif c > 0:
                idxs = idxs[:c]
            assert removed == len(idxs)
            for i in sorted(idxs, reverse=True):
                del model[i]
        elif op == 6 and model:
            i = rnd.randrange(-len(model), len(model))
            r.lset("l", i, b"s%d" % step)
            model[i] = b"s%d" % step
        elif op == 7 and len(model) > 6:
            a, b = rnd.randrange(-3, 3), rnd.randrange(-3, 3)
            r.ltrim("l", a, b)
            n = len(model)
            s, e = (a + n if a < 0 else a), (b + n if b < 0 else b)
            s = max(s, 0)
            model = [] if s > e or s >= n else model[s:min(e, n - 1) + 1]
        elif op == 8:
            i = rnd.randrange(-len(model) - 1, len(model) + 1)
            exp = model[i] if -len(model) <= i < len(model) else None
            assert r.lindex("l", i) == exp
        elif op == 9 and model:
            assert r.lpos("l", v, rank=-1, count=0) == [i for i in range(len(model) - 1, -1, -1) if model[i] == v]
        elif op == 10:
            assert r.lmove("l", "l", "LEFT", "RIGHT") == (model[0] if model else None)
            if model:
                model.append(model.pop(0))
        assert r.llen("l") == len(model)
        # the ends are read through the index from each side: stale rows would show
        assert r.lindex("l", 0) == (model[0] if model else None)
        assert r.lindex("l", -1) == (model[-1] if model else None)
    assert r.lrange("l", 0, -1) == model


# ---- moves ------------------------------------------------------------------

def test_lmove_and_rpoplpush(r):
    r.rpush("src", "a", "b", "c")
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == b"a"
    assert r.lmove("src", "dst", "RIGHT", "LEFT") == b"c"
    assert r.lrange("src", 0, -1) == [b"b"]
    assert r.lrange("dst", 0, -1) == [b"c", b"a"]
    assert r.lmove("src", "dst", "LEFT", "RIGHT") == b"b"
    assert r.exists("src") == 0
    assert r.lmove("src", "dst", "LEFT", "RIGHT") is None
    assert r.rpoplpush("dst", "d2") == b"b"
    assert r.lrange("d2", 0, -1) == [b"b"]
    assert r.rpoplpush("nokey", "d2") is None
    assert err(r.lmove, "dst", "d2", "UP", "LEFT") == "syntax error"
    assert err(r.lmove, "dst", "d2", "LEFT", "DOWN") == "syntax error"


def test_lmove_same_key(r):
    r.rpush("l", "a", "b", "c")
    assert r.lmove("l", "l", "LEFT", "RIGHT") == b"a"
    assert r.lrange("l", 0, -1) == [b"b", b"c", b"a"]
    assert r.rpoplpush("l", "l") == b"a"
    assert r.lrange("l", 0, -1) == [b"a", b"b", b"c"]
    r.rpush("one", "x")
    assert r.lmove("one", "one", "LEFT", "LEFT") == b"x"
    assert r.lmove("one", "one", "RIGHT", "LEFT") == b"x"
    assert r.lrange("one", 0, -1) == [b"x"]
    assert r.llen("one") == 1


def test_lmpop(r):
    r.rpush("m1", "a", "b", "c", "d")
    r.rpush("m2", "e", "f")
    assert r.execute_command("LMPOP", 2, "nokey", "m1", "LEFT") == [b"m1", [b"a"]]
    assert r.execute_command("LMPOP", 2, "nokey", "m1", "RIGHT", "COUNT", 2) == [b"m1", [b"d", b"c"]]
    assert r.execute_command("LMPOP", 2, "m1", "m2", "LEFT", "COUNT", 10) == [b"m1", [b"b"]]
    assert r.execute_command("LMPOP", 2, "m1", "m2", "LEFT", "COUNT", 10) == [b"m2", [b"e", b"f"]]
    assert r.execute_command("LMPOP", 1, "m1", "LEFT") is None
    assert r.exists("m1", "m2") == 0


def test_lmpop_errors(r):
    c = r.execute_command
    assert err(c, "LMPOP", 0, "k", "LEFT") == "numkeys should be greater than 0"
    assert err(c, "LMPOP", -1, "k", "LEFT") == "numkeys should be greater than 0"
    assert err(c, "LMPOP", "x", "k", "LEFT") == "numkeys should be greater than 0"
    assert err(c, "LMPOP", 2, "k", "LEFT") == "syntax error"
    assert err(c, "LMPOP", 9223372036854775807, "k", "LEFT") == "syntax error"
    assert err(c, "LMPOP", 1, "k", "UP") == "syntax error"
    assert err(c, "LMPOP", 1, "k", "LEFT", "COUNT", 0) == "count should be greater than 0"
    assert err(c, "LMPOP", 1, "k", "LEFT", "COUNT", "x") == "count should be greater than 0"
    assert err(c, "LMPOP", 1, "k", "LEFT", "COUNT", 1, "COUNT", 2) == "syntax error"
    assert err(c, "LMPOP", 1, "k", "LEFT", "FOO") == "syntax error"
    assert "wrong number of arguments" in err(c, "LMPOP", 1, "k")


# ---- types, arity, lifecycle ------------------------------------------------

def test_wrongtype(r):
    r.set("s", "str")
    r.rpush("l", "a")
    c = r.execute_command
    cmds = [
        ("LPUSH", "s", "a"), ("RPUSH", "s", "a"), ("LPUSHX", "s", "a"), ("RPUSHX", "s", "a"),
        ("LPOP", "s"), ("RPOP", "s", 2), ("LLEN", "s"), ("LRANGE", "s", 0, 1), ("LINDEX", "s", 0),
        ("LSET", "s", 0, "a"), ("LREM", "s", 0, "a"), ("LTRIM", "s", 0, 1),
        ("LINSERT", "s", "BEFORE", "a", "b"), ("LPOS", "s", "a"),
        ("LMOVE", "s", "l", "LEFT", "RIGHT"), ("LMOVE", "l", "s", "LEFT", "RIGHT"),
        ("RPOPLPUSH", "s", "l"), ("RPOPLPUSH", "l", "s"),
        ("LMPOP", 2, "s", "l", "LEFT"), ("BLPOP", "s", 0), ("BRPOP", "s", "l", 0),
        ("BLMPOP", 0, 1, "s", "LEFT"), ("BLMOVE", "s", "l", "LEFT", "LEFT", 0),
        ("BLMOVE", "l", "s", "LEFT", "LEFT", 0), ("BRPOPLPUSH", "s", "l", 0),
    ]
    for cmd in cmds:
        assert err(c, *cmd) == WRONGTYPE, cmd
    assert r.get("s") == b"str"
    assert r.lrange("l", 0, -1) == [b"a"]
    # a missing source wins over a wrong-type destination; a non-empty list
    # before a wrong-type key is served
    assert r.lmove("nokey", "s", "LEFT", "LEFT") is None
    assert c("LMPOP", 2, "l", "s", "LEFT") == [b"l", [b"a"]]


def test_arity(r):
    c = r.execute_command
    for cmd in [("LPUSH",), ("LPUSH", "l"), ("RPUSHX", "l"), ("LLEN",), ("LLEN", "a", "b"),
                ("LRANGE", "l", 0), ("LINDEX", "l"), ("LSET", "l", 0), ("LREM", "l", 0),
                ("LTRIM", "l", 0), ("LINSERT", "l", "BEFORE", "a"), ("LMOVE", "a", "b", "LEFT"),
                ("RPOPLPUSH", "a"), ("BLPOP", "l"), ("BRPOP",), ("BLMOVE", "a", "b", "LEFT", "LEFT"),
                ("BRPOPLPUSH", "a", "b"), ("BLMPOP", 0, 1, "k")]:
        assert "wrong number of arguments" in err(c, *cmd), cmd


def test_overwrite_delete_expire(r):
    r.rpush("l", "a", "b")
    r.set("l", "str")  # overwriting drops the elements
    assert r.get("l") == b"str"
    r.delete("l")
    r.rpush("l", "c")
    assert r.lrange("l", 0, -1) == [b"c"]
    r.delete("l")
    assert r.lrange("l", 0, -1) == []
    r.rpush("l", "d")
    assert r.lrange("l", 0, -1) == [b"d"]
    r.rpush("e", "x", "y")
    r.pexpire("e", 50)
    time.sleep(0.15)
    assert r.llen("e") == 0
    assert r.lrange("e", 0, -1) == []
    assert r.rpush("e", "z") == 1
    assert r.lrange("e", 0, -1) == [b"z"]
    assert r.ttl("e") == -1


def test_rename_keeps_elements(r):
    r.rpush("a", "1", "2")
    r.rename("a", "b")
    assert r.lrange("b", 0, -1) == [b"1", b"2"]
    r.rpush("c", "x")
    r.rename("b", "c")
    assert r.lrange("c", 0, -1) == [b"1", b"2"]


def test_survives_restart(make_server):
    s = make_server()
    c = s.client()
    c.rpush("l", *[b"v%d" % i for i in range(50)])
    c.linsert("l", "BEFORE", "v10", "ins")
    c.lpop("l")
    c.close()
    s.restart()
    c = s.client()
    exp = [b"v%d" % i for i in range(1, 50)]
    exp.insert(9, b"ins")
    assert c.lrange("l", 0, -1) == exp
    assert c.llen("l") == 50
    c.close()


def test_large_list(r):
    n = 100_000
    p = r.pipeline(transaction=False)
    for start in range(0, n, 5000):
        p.rpush("big", *range(start, start + 5000))
    p.execute()
    assert r.llen("big") == n
    assert r.lindex("big", 0) == b"0"
    assert r.lindex("big", -1) == b"99999"
    assert r.lindex("big", 50000) == b"50000"
    assert r.lindex("big", -50001) == b"49999"
    assert r.lrange("big", 0, 4) == [b"0", b"1", b"2", b"3", b"4"]
    assert r.lrange("big", -3, -1) == [b"99997", b"99998", b"99999"]
    assert r.lrange("big", 99990, 100010) == [b"%d" % i for i in range(99990, 100000)]
    assert r.lset("big", -2, "changed") is True
    assert r.lrange("big", -3, -1) == [b"99997", b"changed", b"99999"]
    assert r.lset("big", 3, "front") is True
    assert r.lindex("big", 3) == b"front"
    assert r.lpush("big", "h") == n + 1
    assert r.rpop("big", 2) == [b"99999", b"changed"]
    assert r.lindex("big", 0) == b"h"
    r.ltrim("big", 1, -3)
    assert r.llen("big") == n - 4
    assert r.lrange("big", 0, 1) == [b"0", b"1"]
    assert r.lindex("big", -1) == b"99995"


# ---- RESP3 and raw replies ----------------------------------------------------

def test_resp3_and_null_kinds(server, r):
    r.rpush("l", "a", "b")
    r.set("s", "x")
    s = raw_conn(server.port)
    try:
        for resp, nullarr, nullbulk in ((2, b"*-1\r\n", b"$-1\r\n"), (3, b"_\r\n", b"_\r\n")):
            s.sendall(encode("HELLO", resp))
            read_until(s, b"proto", timeout=2)
            time.sleep(0.05)
            s.setblocking(False)
            try:
                s.recv(65536)
            except BlockingIOError:
                pass
            s.setblocking(True)
            checks = [
                (("LPOP", "nokey"), nullbulk),
                (("LPOP", "nokey", 2), nullarr),
                (("LINDEX", "l", 5), nullbulk),
                (("LPOS", "l", "zz"), nullbulk),
                (("LMOVE", "nokey", "x", "LEFT", "LEFT"), nullbulk),
                (("LMPOP", 1, "nokey", "LEFT"), nullarr),
                (("LRANGE", "l", 0, -1), b"*2\r\n$1\r\na\r\n$1\r\nb\r\n"),
                (("LPOS", "l", "b", "COUNT", 0), b"*1\r\n:1\r\n"),
                (("LMPOP", 1, "l", "RIGHT", "COUNT", 1), b"*2\r\n$1\r\nl\r\n*1\r\n$1\r\nb\r\n"),
                (("RPUSH", "l", "b"), b":2\r\n"),
                (("BLPOP", "nokey", "l", 0), b"*2\r\n$1\r\nl\r\n$1\r\na\r\n"),
                (("LPUSH", "l", "a"), b":2\r\n"),
            ]
            for cmd, exp in checks:
                s.sendall(encode(*cmd))
                assert read_until(s, len(exp), timeout=5) == exp, (resp, cmd)
    finally:
        s.close()


# ---- blocking -----------------------------------------------------------------

def wait_blocked(r, n, timeout=5.0):
    """Wait until n clients are blocked (INFO blocked_clients when the server
    reports it, else by CLIENT LIST cmd=)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        info = r.info("clients")
        if info.get("blocked_clients", 0) >= n:
            return
        cmds = [c.get("cmd", "") for c in r.client_list()]
        if not info.get("blocked_clients") and sum(c.startswith("b") for c in cmds) >= n:
            time.sleep(0.05)
            return
        time.sleep(0.01)
    raise AssertionError("clients did not block")


class Waiter(threading.Thread):
    def __init__(self, server, *cmd):
        super().__init__(daemon=True)
        self.c = server.client()
        self.cmd = cmd
        self.result = "pending"
        self.error = None
        self.took = None
        self.id = self.c.client_id()

    def run(self):
        t = time.time()
        try:
            res = self.c.execute_command(*self.cmd)
            self.result = list(res) if isinstance(res, tuple) else res
        except Exception as e:  # noqa: BLE001 - reported to the test
            self.error = e
        self.took = time.time() - t
        self.c.close()


def test_blocking_fifo_waiters(server, r):
    ws = []
    for i in range(3):
        w = Waiter(server, "BLPOP", "q", 5)
        w.start()
        wait_blocked(r, i + 1)
        ws.append(w)
    r.rpush("q", "one", "two")
    ws[0].join(5)
    ws[1].join(5)
    assert ws[0].result == [b"q", b"one"]
    assert ws[1].result == [b"q", b"two"]
    assert ws[2].result == "pending"
    assert r.exists("q") == 0
    r.lpush("q", "three")
    ws[2].join(5)
    assert ws[2].result == [b"q", b"three"]
    assert r.exists("q") == 0


def test_push_wakes_waiter_at_once(server, r):
    w = Waiter(server, "BRPOP", "k1", "k2", 10)
    w.start()
    wait_blocked(r, 1)
    t = time.time()
    r.rpush("k2", "a", "b")
    w.join(5)
    assert w.result == [b"k2", b"b"]
    assert time.time() - t < 1.0
    assert r.lrange("k2", 0, -1) == [b"a"]


def test_timeout_zero_waits_forever(server, r):
    w = Waiter(server, "BLPOP", "q", 0)
    w.start()
    wait_blocked(r, 1)
    time.sleep(0.3)
    assert w.result == "pending"
    r.rpush("q", "late")
    w.join(5)
    assert w.result == [b"q", b"late"]
    assert w.took >= 0.3


def test_fractional_timeout(server, r):
    c = server.client()
    t = time.time()
    assert c.blpop("q", 0.2) is None
    took = time.time() - t
    assert 0.15 <= took < 2.0
    t = time.time()
    assert c.execute_command("BLMPOP", 0.2, 2, "q", "q2", "LEFT", "COUNT", 2) is None
    assert c.brpoplpush("q", "d", 0.2) is None
    assert 0.3 <= time.time() - t < 3.0
    assert err(c.execute_command, "BLPOP", "q", -1) == "timeout is negative"
    assert err(c.execute_command, "BLPOP", "q", "abc") == "timeout is not a float or out of range"
    c.close()


def test_blmpop_and_blmove_wake(server, r):
    w = Waiter(server, "BLMPOP", 5, 2, "a", "b", "RIGHT", "COUNT", 3)
    w.start()
    wait_blocked(r, 1)
    r.rpush("b", "1", "2", "3", "4")
    w.join(5)
    assert w.result == [b"b", [b"4", b"3", b"2"]]
    w = Waiter(server, "BLMOVE", "src", "dst", "LEFT", "RIGHT", 5)
    w.start()
    wait_blocked(r, 1)
    r.rpush("dst", "d0")
    r.rpush("src", "s1", "s2")
    w.join(5)
    assert w.result == b"s1"
    assert r.lrange("src", 0, -1) == [b"s2"]
    assert r.lrange("dst", 0, -1) == [b"d0", b"s1"]


def test_blmove_chain(server, r):
    """A BLMOVE push feeds another waiter in the same step."""
    w1 = Waiter(server, "BLPOP", "stage2", 5)
    w1.start()
    wait_blocked(r, 1)
    w2 = Waiter(server, "BRPOPLPUSH", "stage1", "stage2", 5)
    w2.start()
    wait_blocked(r, 2)
    r.lpush("stage1", "job")
    w2.join(5)
    w1.join(5)
    assert w2.result == b"job"
    assert w1.result == [b"stage2", b"job"]
    assert r.exists("stage1", "stage2") == 0


def test_reliable_queue(server, r):
    # a worker waits, a job arrives, the worker takes it into its processing list
    w = Waiter(server, "BLMOVE", "jobs", "processing", "RIGHT", "LEFT", 5)
    w.start()
    wait_blocked(r, 1)
    r.lpush("jobs", "job1", "job2")
    w.join(5)
    assert w.result == b"job1"
    assert r.lrange("processing", 0, -1) == [b"job1"]
    assert r.lrem("processing", 1, "job1") == 1  # done
    assert r.exists("processing") == 0
    # a worker that dies mid-job leaves its job in the processing list
    worker = server.client()
    assert worker.blmove("jobs", "processing", 5, "RIGHT", "LEFT") == b"job2"
    worker.connection_pool.disconnect()
    assert r.lrange("processing", 0, -1) == [b"job2"]
    # a worker killed while blocked takes nothing with it
    dead = Waiter(server, "BLMOVE", "jobs", "processing", "RIGHT", "LEFT", 0)
    dead.start()
    wait_blocked(r, 1)
    r.client_kill_filter(_id=dead.id)
    dead.join(5)
    assert dead.error is not None
    time.sleep(0.1)
    r.lpush("jobs", "job3")
    time.sleep(0.1)
    assert r.lrange("jobs", 0, -1) == [b"job3"]
    assert r.lrange("processing", 0, -1) == [b"job2"]
    # recovery: another worker re-queues the stale job
    assert r.lmove("processing", "jobs", "RIGHT", "LEFT") == b"job2"
    assert r.lrange("jobs", 0, -1) == [b"job2", b"job3"]


def test_blocking_in_multi_returns_at_once(server, r):
    p = r.pipeline(transaction=True)
    p.blpop("nokey", 0)
    p.brpoplpush("nokey", "d", 0)
    p.execute_command("BLMPOP", 0, 1, "nokey", "LEFT")
    p.blmove("nokey", "d", 0, "LEFT", "LEFT")
    t = time.time()
    assert p.execute() == [None, None, None, None]
    assert time.time() - t < 1.0
    s = raw_conn(server.port)
    try:
        s.sendall(b"MULTI\r\nBLPOP nokey 0\r\nBLMOVE nokey d LEFT LEFT 0\r\nEXEC\r\n")
        exp = b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n*-1\r\n$-1\r\n"
        assert read_until(s, len(exp), timeout=5) == exp
    finally:
        s.close()


def test_client_unblock(server, r):
    w = Waiter(server, "BLPOP", "q", 0)
    w.start()
    wait_blocked(r, 1)
    assert r.client_unblock(w.id) is True
    w.join(5)
    assert w.result is None
    w = Waiter(server, "BRPOP", "q", 0)
    w.start()
    wait_blocked(r, 1)
    assert r.client_unblock(w.id, error=True) is True
    w.join(5)
    assert isinstance(w.error, redis.ResponseError)
    assert str(w.error) == "UNBLOCKED client unblocked via CLIENT UNBLOCK"
    assert r.client_unblock(w.id) is False
    assert r.client_unblock(r.client_id()) is False


def test_waiter_survives_wrongtype_touch(server, r):
    w = Waiter(server, "BLPOP", "q", 5)
    w.start()
    wait_blocked(r, 1)
    r.set("q", "str")  # not a list: the waiter keeps waiting
    time.sleep(0.2)
    assert w.result == "pending" and w.error is None
    r.delete("q")
    r.rpush("q", "v")
    w.join(5)
    assert w.result == [b"q", b"v"]
