"""Keyspace notifications (notify-keyspace-events), checked against Redis.

Events arrive on __keyspace@<db>__:<key> (message: the event) and
__keyevent@<db>__:<event> (message: the key) for the classes configured.
"""
import time

import pytest

from helpers import drain, psubscribed


@pytest.fixture
def events(server, r):
    r.config_set("notify-keyspace-events", "KEA")
    yield from psubscribed(server, "__key*@0__:*")
    r.config_set("notify-keyspace-events", "")


def flags(r):
    v = r.config_get("notify-keyspace-events")["notify-keyspace-events"]
    return v.decode() if isinstance(v, bytes) else v


def test_config_flags_round_trip(r):
    r.config_set("notify-keyspace-events", "KEA")
    assert flags(r) == "AKE"
    r.config_set("notify-keyspace-events", "Ex")
    assert flags(r) == "xE"
    with pytest.raises(Exception, match="Invalid event class character"):
        r.config_set("notify-keyspace-events", "Q")
    r.config_set("notify-keyspace-events", "")
    assert flags(r) == ""


def test_config_flags_normalised_order(r):
    # Redis lists 'A' or the class letters, then K, E and m; 'n' only without 'A'.
    for given, want in (("KEAm", "AKEm"), ("Em", "Em"), ("mlK$", "$lKm"), ("nEg", "gnE"),
                        ("KEAmn", "AKEm"), ("Kg$lshzxetdm", "AKm"), ("dtexzhs$gK", "g$shzxetdK")):
        r.config_set("notify-keyspace-events", given)
        assert flags(r) == want, given
    r.config_set("notify-keyspace-events", "")


def test_set_del_expire_events(r, events):
    r.set("k", "v")
    r.expire("k", 100)
    r.delete("k")
    got = drain(events, 6)
    assert (b"__keyspace@0__:k", b"set") in got
    assert (b"__keyevent@0__:set", b"k") in got
    assert (b"__keyspace@0__:k", b"expire") in got
    assert (b"__keyevent@0__:expire", b"k") in got
    assert (b"__keyspace@0__:k", b"del") in got
    assert (b"__keyevent@0__:del", b"k") in got
    # order of the keyspace events follows the commands
    ks = [d for c, d in got if c == b"__keyspace@0__:k"]
    assert ks == [b"set", b"expire", b"del"]


def test_type_events(r, events):
    r.hset("h", "f", "v")
    r.lpush("l", "a")
    r.rpush("l", "b")
    r.sadd("s", "m")
    r.zadd("z", {"m": 1})
    r.incr("n")
    got = drain(events, 12)
    for key, event in ((b"h", b"hset"), (b"l", b"lpush"), (b"l", b"rpush"), (b"s", b"sadd"),
                       (b"z", b"zadd"), (b"n", b"incrby")):
        assert (b"__keyspace@0__:" + key, event) in got, (key, event, got)
        assert (b"__keyevent@0__:" + event, key) in got, (key, event, got)


def test_expired_event_from_active_expiry(r, events):
    r.set("gone", "v", px=50)
    got = drain(events, 6, timeout=5)   # set, expire, then expired, each on two channels
    assert (b"__keyevent@0__:expired", b"gone") in got, got
    assert (b"__keyspace@0__:gone", b"expired") in got


def test_overwriting_an_unswept_expired_string_reports_expired_first(r, events):
    """SET on a key whose time has passed but that no sweep has removed yet:
    Redis expires it on access ("expired"), then sets it."""
    assert r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "0") == b"OK"
    try:
        r.set("ov:k", "old", px=20)
        assert len(drain(events, 4)) == 4  # set + expire, on both channels
        time.sleep(0.1)
        r.set("ov:k", "new")
        got = drain(events, 4)
        assert got == [(b"__keyspace@0__:ov:k", b"expired"), (b"__keyevent@0__:expired", b"ov:k"),
                       (b"__keyspace@0__:ov:k", b"set"), (b"__keyevent@0__:set", b"ov:k")], got
        assert r.get("ov:k") == b"new" and r.ttl("ov:k") == -1
        r.set("ov:t", "old", px=20)
        drain(events, 4)
        time.sleep(0.1)
        r.set("ov:t", "new", keepttl=True)  # the old, passed TTL is not kept
        assert [d for _, d in drain(events, 4)] == [b"expired", b"ov:t", b"set", b"ov:t"]
        assert r.get("ov:t") == b"new" and r.ttl("ov:t") == -1
    finally:
        r.execute_command("DEBUG", "SET-ACTIVE-EXPIRE", "1")


def test_new_key_events(server, r):
    """Class n: "new" whenever a command creates a key, before the command's
    own event; not for an overwrite. Not part of 'A'."""
    r.config_set("notify-keyspace-events", "En")
    sub = server.client()
    ps = sub.pubsub()
    ps.psubscribe("__keyevent@*__:*")
    assert ps.get_message(timeout=2)["type"] == "psubscribe"
    try:
        r.set("nk:a", "1")
        r.set("nk:a", "2")                      # overwrite: no event
        r.incr("nk:i")
        r.lpush("nk:l", "x")
        r.lmove("nk:l", "nk:l2", "LEFT", "LEFT")
        r.zadd("nk:z", {"m": 1})
        r.hset("nk:h", "f", "v")
        r.rename("nk:a", "nk:b")
        r.copy("nk:b", "nk:c")
        r.move("nk:c", 1)
        got = [(c.split(b"__:")[1], d) for c, d in drain(ps, 9)]
        assert got == [(b"new", b"nk:a"), (b"new", b"nk:i"), (b"new", b"nk:l"), (b"new", b"nk:l2"),
                       (b"new", b"nk:z"), (b"new", b"nk:h"), (b"new", b"nk:b"), (b"new", b"nk:c"),
                       (b"new", b"nk:c")], got
        assert ps.get_message(timeout=0.2) is None
        r.config_set("notify-keyspace-events", "Egn")
        r.lpush("nk:l3", "x")
        r.lmove("nk:l3", "nk:l4", "LEFT", "LEFT")
        got = [(c.split(b"__:")[1], d) for c, d in drain(ps, 3)]
        # the destination's "new" comes first; the source's "del" last (g)
        assert got == [(b"new", b"nk:l3"), (b"new", b"nk:l4"), (b"del", b"nk:l3")], got
        r.config_set("notify-keyspace-events", "EA")
        r.set("nk:d", "1")
        got = [(c.split(b"__:")[1], d) for c, d in drain(ps, 1)]
        assert got == [(b"set", b"nk:d")], got
    finally:
        ps.close()
        sub.close()
        r.config_set("notify-keyspace-events", "")


def test_no_events_when_disabled(server, r):
    r.config_set("notify-keyspace-events", "")
    sub = server.client()
    ps = sub.pubsub()
    ps.psubscribe("__key*@0__:*")
    assert ps.get_message(timeout=2)["type"] == "psubscribe"
    r.set("quiet", 1)
    assert drain(ps, 1, timeout=0.3) == []
    ps.close()
    sub.close()


def test_events_of_a_failed_exec_command_only_for_what_ran(r, events):
    p = r.pipeline(transaction=True)
    p.set("t", "1")
    p.incr("t")
    p.execute()
    got = drain(events, 4)
    assert [d for c, d in got if c == b"__keyspace@0__:t"] == [b"set", b"incrby"]


def test_removal_events_and_del_when_emptied(r, events):
    r.rpush("l", "a")
    r.lpop("l")
    r.sadd("s", "m")
    r.srem("s", "m")
    r.hset("h", "f", "v")
    r.hdel("h", "f")
    r.zadd("z", {"m": 1})
    r.zrem("z", "m")
    r.set("a", 1)
    r.rename("a", "b")
    got = drain(events, 30)
    def ks(key):
        return [d for c, d in got if c == b"__keyspace@0__:" + key]
    assert ks(b"l") == [b"rpush", b"lpop", b"del"]
    assert ks(b"s") == [b"sadd", b"srem", b"del"]
    assert ks(b"h") == [b"hset", b"hdel", b"del"]
    assert ks(b"z") == [b"zadd", b"zrem", b"del"]
    assert ks(b"a") == [b"set", b"rename_from"]
    assert ks(b"b") == [b"rename_to"]
