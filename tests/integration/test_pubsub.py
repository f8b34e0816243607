"""Pub/Sub: SUBSCRIBE/PSUBSCRIBE/SSUBSCRIBE and their UN- forms, PUBLISH,
SPUBLISH, PUBSUB introspection, RESP2 subscribed mode, RESP3 push frames,
ordering, the pub/sub output-buffer limit, and Solidis's PUBSUB REPLAY over
the durable message log.

Redis-compatible expectations were checked against redis-server 7.0.15
(SOLIDIS_BIN=/usr/bin/redis-server); REPLAY is Solidis-only.
"""
import time

import pytest
import redis

from conftest import BIN, IS_REDIS
from helpers import Err, Push, RespClient, encode, rss_kb, wait_for

# ASan keeps freed memory in quarantine (256 MB) and adds shadow memory.
RSS_LIMIT_KB = (700 if "asan" in BIN else 300) * 1024


# --------------------------------------------------------------------------- helpers

@pytest.fixture
def conns(server, r):
    """Raw connections closed at the end of the test."""
    made = []

    def make(**kw):
        c = RespClient(server.port, **kw)
        made.append(c)
        return c
    yield make
    for c in made:
        c.close()


# --------------------------------------------------------------------------- basics

def test_subscribe_publish_roundtrip(conns, r):
    sub = conns()
    sub.send_command("SUBSCRIBE", "ch1", "ch2", "ch1")
    assert sub.replies(3) == [[b"subscribe", b"ch1", 1], [b"subscribe", b"ch2", 2], [b"subscribe", b"ch1", 2]]
    assert r.publish("ch1", "hello") == 1
    assert sub.reply() == [b"message", b"ch1", b"hello"]
    assert r.publish("ch2", b"bin\x00\r\nary") == 1
    assert sub.reply() == [b"message", b"ch2", b"bin\x00\r\nary"]
    assert r.publish("other", "x") == 0
    assert sub.nothing_pending()
    # a second subscriber of the same channel: both get it, count 2
    sub2 = conns()
    assert sub2.call("SUBSCRIBE", "ch1") == [b"subscribe", b"ch1", 1]
    assert r.publish("ch1", "two") == 2
    assert sub.reply() == [b"message", b"ch1", b"two"]
    assert sub2.reply() == [b"message", b"ch1", b"two"]


def test_publish_without_subscribers_returns_zero(r):
    assert r.publish("nobody", "x") == 0
    assert r.publish(b"\x00bin", b"") == 0


def test_redis_py_pubsub_client(server, r):
    p = server.client().pubsub()
    p.subscribe("news")
    assert p.get_message(timeout=2) == {"type": "subscribe", "pattern": None, "channel": b"news", "data": 1}
    assert r.publish("news", "flash") == 1
    msg = p.get_message(timeout=2)
    assert msg == {"type": "message", "pattern": None, "channel": b"news", "data": b"flash"}
    p.psubscribe("n*")
    assert p.get_message(timeout=2)["data"] == 2
    p.close()


def test_patterns_with_several_matches(conns, r):
    sub = conns()
    sub.send_command("PSUBSCRIBE", "news.*", "n*", "h?llo", "h[ae]llo")
    assert [x[2] for x in sub.replies(4)] == [1, 2, 3, 4]
    assert sub.call("SUBSCRIBE", "news.art") == [b"subscribe", b"news.art", 5]
    # one channel subscription + two matching patterns: three frames, count 3
    assert r.publish("news.art", "pic") == 3
    got = sub.replies(3)
    assert [b"message", b"news.art", b"pic"] in got
    pm = sorted(tuple(x) for x in got if x[0] == b"pmessage")
    assert pm == [(b"pmessage", b"n*", b"news.art", b"pic"), (b"pmessage", b"news.*", b"news.art", b"pic")]
    assert r.publish("hello", "w") == 2
    assert sorted(x[1] for x in sub.replies(2)) == [b"h?llo", b"h[ae]llo"]
    assert r.publish("hxllo", "w") == 1
    assert sub.reply() == [b"pmessage", b"h?llo", b"hxllo", b"w"]
    assert r.publish("Hello", "w") == 0  # globs are case-sensitive
    assert sub.nothing_pending()
    # two clients on one pattern
    sub2 = conns()
    sub2.call("PSUBSCRIBE", "n*")
    assert r.publish("nx", "1") == 2
    assert r.execute_command("PUBSUB", "NUMPAT") == 4


def test_unsubscribe_all_replies(conns):
    sub = conns()
    # nothing subscribed: one entry with a null channel
    assert sub.call("UNSUBSCRIBE") == [b"unsubscribe", None, 0]
    assert sub.call("PUNSUBSCRIBE") == [b"punsubscribe", None, 0]
    assert sub.call("SUNSUBSCRIBE") == [b"sunsubscribe", None, 0]
    sub.send_command("UNSUBSCRIBE", "a", "b")
    assert sub.replies(2) == [[b"unsubscribe", b"a", 0], [b"unsubscribe", b"b", 0]]
    sub.send_command("SUBSCRIBE", "a", "b", "c")
    sub.replies(3)
    assert sub.call("PSUBSCRIBE", "p*") == [b"psubscribe", b"p*", 4]
    assert sub.call("SSUBSCRIBE", "s1") == [b"ssubscribe", b"s1", 1]
    sub.send_command("UNSUBSCRIBE")
    got = sub.replies(3)
    assert sorted(x[1] for x in got) == [b"a", b"b", b"c"]
    assert [x[0] for x in got] == [b"unsubscribe"] * 3
    assert [x[2] for x in got] == [3, 2, 1]  # the pattern still counts
    assert sub.call("UNSUBSCRIBE") == [b"unsubscribe", None, 1]
    assert sub.call("PUNSUBSCRIBE", "nope") == [b"punsubscribe", b"nope", 1]
    assert sub.call("PUNSUBSCRIBE") == [b"punsubscribe", b"p*", 0]
    # shard subscriptions are counted on their own, and keep subscribed mode on
    assert sub.call("GET", "x").startswith("ERR Can't execute 'get'")
    assert sub.call("SUNSUBSCRIBE") == [b"sunsubscribe", b"s1", 0]
    assert sub.call("GET", "x") is None


def test_resp2_subscribed_mode(conns, r):
    sub = conns()
    assert sub.call("SUBSCRIBE", "c") == [b"subscribe", b"c", 1]
    assert sub.call("GET", "k") == Err(
        "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
    assert sub.call("PUBLISH", "c", "x") == Err(
        "ERR Can't execute 'publish': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
    assert sub.call("PING") == [b"pong", b""]
    assert sub.call("PING", "hi") == [b"pong", b"hi"]
    assert sub.call("PSUBSCRIBE", "x*") == [b"psubscribe", b"x*", 2]
    assert r.publish("c", "still") == 1
    assert sub.reply() == [b"message", b"c", b"still"]
    sub.send_command("UNSUBSCRIBE")
    assert sub.reply() == [b"unsubscribe", b"c", 1]
    assert sub.call("GET", "k").startswith("ERR Can't execute")  # the pattern remains
    assert sub.call("PUNSUBSCRIBE", "x*") == [b"punsubscribe", b"x*", 0]
    # out of subscribed mode: everything works again
    assert sub.call("SET", "k", "v") == "OK"
    assert sub.call("GET", "k") == b"v"
    assert sub.call("PING") == "PONG"
    assert sub.call("PUBLISH", "c", "x") == 0


def test_subscribe_inside_multi_then_ping(conns, r):
    # A SUBSCRIBE queued in MULTI puts the client in subscribed mode during
    # EXEC: a later PING of the same EXEC already answers ["pong", msg].
    sub = conns(replies="bytes")
    out = sub.pipeline(("MULTI",), ("SUBSCRIBE", "q"), ("PING",), ("PING", "hi"), ("UNSUBSCRIBE", "q"),
                       ("PING",), ("EXEC",))
    assert out == (b"+OK\r\n" + b"+QUEUED\r\n" * 5 +
                   b"*5\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nq\r\n:1\r\n"
                   b"*2\r\n$4\r\npong\r\n$0\r\n\r\n*2\r\n$4\r\npong\r\n$2\r\nhi\r\n"
                   b"*3\r\n$11\r\nunsubscribe\r\n$1\r\nq\r\n:0\r\n+PONG\r\n")


def test_resp3_push_frames_interleaved(conns, r):
    sub = conns()
    assert sub.call("HELLO", "3").get(b"proto") == 3
    first = sub.call("SUBSCRIBE", "c3")
    assert isinstance(first, Push) and first == [b"subscribe", b"c3", 1]
    # a RESP3 subscriber may run normal commands
    assert sub.call("SET", "k", "v") == "OK"
    assert sub.call("GET", "k") == b"v"
    assert sub.call("PING") == "PONG"
    assert r.publish("c3", "m1") == 1
    sub.send_command("GET", "k")
    got = sub.replies(2)
    assert isinstance(got[0], Push) and got[0] == [b"message", b"c3", b"m1"]
    assert got[1] == b"v" and not isinstance(got[1], Push)
    unsub = sub.call("UNSUBSCRIBE")
    assert isinstance(unsub, Push) and unsub == [b"unsubscribe", b"c3", 0]
    none = sub.call("UNSUBSCRIBE")
    assert isinstance(none, Push) and none == [b"unsubscribe", None, 0]


# Redis 7.2 (#12326) sends the publisher's own copies after its reply; 7.0,
# the reference server here, sent them before (and inside an EXEC reply).
redis72 = pytest.mark.skipif(IS_REDIS, reason="Redis 7.2 order; the reference redis-server is 7.0")


@redis72
def test_resp3_publisher_subscribed_to_itself(conns):
    c = conns()
    c.call("HELLO", "3")
    assert c.call("SUBSCRIBE", "self") == [b"subscribe", b"self", 1]
    assert c.call("PSUBSCRIBE", "s*") == [b"psubscribe", b"s*", 2]
    c.send_command("PUBLISH", "self", "me")
    got = c.replies(3)
    # the reply first, then the frames
    assert got[0] == 2 and not isinstance(got[0], Push)
    assert all(isinstance(x, Push) for x in got[1:])
    assert sorted(x[0] for x in got[1:]) == [b"message", b"pmessage"]


@redis72
def test_resp3_publish_to_itself_inside_multi(conns):
    c = conns(replies="bytes")
    c.call("HELLO", "3")
    c.call("SUBSCRIBE", "self")
    out = c.pipeline(("MULTI",), ("PING",), ("PUBLISH", "self", "me"), ("PING",), ("EXEC",))
    # a well-formed EXEC reply, the push after it
    assert out == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n+PONG\r\n:1\r\n+PONG\r\n"
    assert c.reply() == b">3\r\n$7\r\nmessage\r\n$4\r\nself\r\n$2\r\nme\r\n"
    assert c.call("PING") == b"+PONG\r\n"


@redis72
def test_resp3_spublish_to_itself(conns):
    c = conns(replies="bytes")
    c.call("HELLO", "3")
    c.call("SSUBSCRIBE", "sh")
    push = b">3\r\n$8\r\nsmessage\r\n$2\r\nsh\r\n$1\r\nm\r\n"
    assert c.call("SPUBLISH", "sh", "m") == b":1\r\n"
    assert c.reply() == push
    out = c.pipeline(("MULTI",), ("SPUBLISH", "sh", "m"), ("PING",), ("EXEC",))
    assert out == b"+OK\r\n+QUEUED\r\n+QUEUED\r\n*2\r\n:1\r\n+PONG\r\n"
    assert c.reply() == push
    assert c.call("PING") == b"+PONG\r\n"


def test_publisher_gone_before_reply_still_delivers(conns, server):
    sub = conns()
    sub.call("SUBSCRIBE", "orphan")
    pub = RespClient(server.port)
    pub.sock.sendall(b"".join(encode("PUBLISH", "orphan", "m%d" % i) for i in range(50)))
    pub.close()  # gone before reading any reply
    got = [sub.reply() for _ in range(50)]
    assert [m[2] for m in got] == [b"m%d" % i for i in range(50)]


def test_client_reply_off_still_publishes(conns):
    sub, pub = conns(), conns()
    sub.call("SUBSCRIBE", "quiet")
    pub.send_command("CLIENT", "REPLY", "OFF")
    pub.send_command("PUBLISH", "quiet", "shh")
    pub.send_command("CLIENT", "REPLY", "ON")
    assert pub.reply() == "OK"  # the first reply is the one of REPLY ON
    assert sub.reply() == [b"message", b"quiet", b"shh"]


def test_ordering_of_many_messages(conns, server):
    sub = conns()
    sub.call("SUBSCRIBE", "seq")
    pub = conns()
    n = 3000
    pub.sock.sendall(b"".join(encode("PUBLISH", "seq", "m%d" % i) for i in range(n)))
    assert pub.replies(n) == [1] * n
    got = [sub.reply() for _ in range(n)]
    assert [m[2] for m in got] == [b"m%d" % i for i in range(n)]
    assert all(m[:2] == [b"message", b"seq"] for m in got)


def test_fan_out_to_many_subscribers_while_publishing_goes_on(conns):
    """A fan-out to many clients is written in slices with the publisher's
    next commands handled in between: every subscriber still gets every
    message once, in order, and the publisher every reply in order."""
    subs = [conns() for _ in range(40)]
    for s in subs:
        assert s.call("SUBSCRIBE", "wide") == [b"subscribe", b"wide", 1]
    pub = conns()
    n, rounds = 50, 8
    for k in range(rounds):  # each round waits for its replies, as clients do
        pub.sock.sendall(b"".join(encode("PUBLISH", "wide", "r%d-%d" % (k, i)) for i in range(n)) +
                         encode("PING"))
        assert pub.replies(n + 1) == [40] * n + ["PONG"]
    want = [b"r%d-%d" % (k, i) for k in range(rounds) for i in range(n)]
    for s in subs:
        got = [s.reply() for _ in range(n * rounds)]
        assert [m[2] for m in got] == want
        assert s.nothing_pending()


def test_shard_channels(conns, r):
    sub = conns()
    sub.send_command("SSUBSCRIBE", "s1", "s2")
    assert sub.replies(2) == [[b"ssubscribe", b"s1", 1], [b"ssubscribe", b"s2", 2]]
    assert sub.call("SUBSCRIBE", "s1") == [b"subscribe", b"s1", 1]  # separate counts
    assert r.execute_command("SPUBLISH", "s1", "shard") == 1
    assert sub.reply() == [b"smessage", b"s1", b"shard"]
    assert r.publish("s1", "plain") == 1
    assert sub.reply() == [b"message", b"s1", b"plain"]
    assert r.execute_command("SPUBLISH", "none", "x") == 0
    assert sorted(r.execute_command("PUBSUB", "SHARDCHANNELS")) == [b"s1", b"s2"]
    assert r.execute_command("PUBSUB", "SHARDCHANNELS", "*2") == [b"s2"]
    assert r.execute_command("PUBSUB", "SHARDNUMSUB", "s1", "zz") == [b"s1", 1, b"zz", 0]
    assert r.execute_command("PUBSUB", "SHARDNUMSUB") == []
    assert sub.call("SUNSUBSCRIBE", "s2") == [b"sunsubscribe", b"s2", 1]


def test_pubsub_introspection(conns, r):
    assert r.execute_command("PUBSUB", "CHANNELS") == []
    assert r.execute_command("PUBSUB", "NUMPAT") == 0
    a, b = conns(), conns()
    a.send_command("SUBSCRIBE", "news.1", "news.2", "sport")
    a.replies(3)
    b.call("SUBSCRIBE", "news.1")
    b.send_command("PSUBSCRIBE", "news.*", "x*")
    b.replies(2)
    a.call("PSUBSCRIBE", "news.*")
    assert sorted(r.execute_command("PUBSUB", "CHANNELS")) == [b"news.1", b"news.2", b"sport"]
    assert sorted(r.execute_command("PUBSUB", "CHANNELS", "news.*")) == [b"news.1", b"news.2"]
    assert r.execute_command("PUBSUB", "CHANNELS", "nothing*") == []
    assert r.execute_command("PUBSUB", "NUMSUB", "news.1", "sport", "none") == [b"news.1", 2, b"sport", 1, b"none", 0]
    assert r.execute_command("PUBSUB", "NUMSUB") == []
    assert r.execute_command("PUBSUB", "NUMPAT") == 2  # unique patterns
    # a client that goes away leaves the registry
    b.close()
    assert wait_for(lambda: r.execute_command("PUBSUB", "NUMSUB", "news.1") == [b"news.1", 1])
    assert r.execute_command("PUBSUB", "NUMPAT") == 1
    a.call("UNSUBSCRIBE", "sport")
    assert sorted(r.execute_command("PUBSUB", "CHANNELS")) == [b"news.1", b"news.2"]
    help_lines = r.execute_command("PUBSUB", "HELP")
    assert help_lines[0].startswith(b"PUBSUB <subcommand>")
    assert b"NUMSUB [<channel> ...]" in help_lines


def test_errors(conns, r):
    c = conns()
    for name in ("SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "PUBLISH", "SPUBLISH", "PUBSUB"):
        assert c.call(name) == Err("ERR wrong number of arguments for '%s' command" % name.lower())
    assert c.call("PUBLISH", "c") == Err("ERR wrong number of arguments for 'publish' command")
    assert c.call("PUBLISH", "c", "m", "extra") == Err("ERR wrong number of arguments for 'publish' command")
    assert c.call("PUBSUB", "foo") == Err("ERR unknown subcommand 'foo'. Try PUBSUB HELP.")
    assert c.call("PUBSUB", "NUMPAT", "x") == Err("ERR wrong number of arguments for 'pubsub|numpat' command")
    assert c.call("PUBSUB", "HELP", "x") == Err("ERR wrong number of arguments for 'pubsub|help' command")
    assert c.call("PUBSUB", "CHANNELS", "a", "b") == Err(
        "ERR unknown subcommand or wrong number of arguments for 'CHANNELS'. Try PUBSUB HELP.")
    assert c.call("PUBSUB", "shardchannels", "a", "b") == Err(
        "ERR unknown subcommand or wrong number of arguments for 'shardchannels'. Try PUBSUB HELP.")
    # the connection is still usable and not in subscribed mode
    assert c.call("PING") == "PONG"


def test_subscriber_disconnect_cleans_up(server, r):
    for _ in range(20):
        s = RespClient(server.port)
        s.send_command("SUBSCRIBE", "churn", "churn2")
        s.replies(2)
        s.send_command("PSUBSCRIBE", "ch*")
        s.close()
    assert wait_for(lambda: r.execute_command("PUBSUB", "NUMSUB", "churn") == [b"churn", 0])
    assert wait_for(lambda: r.execute_command("PUBSUB", "NUMPAT") == 0)
    assert r.publish("churn", "x") == 0


def test_many_channels_one_client(conns, r):
    sub = conns()
    n = 5000
    names = [b"ch:%d" % i for i in range(n)]
    sub.send_command("SUBSCRIBE", *names)
    assert [x[2] for x in sub.replies(n)] == list(range(1, n + 1))
    assert len(r.execute_command("PUBSUB", "CHANNELS")) == n
    assert r.publish("ch:4321", "hit") == 1
    assert sub.reply() == [b"message", b"ch:4321", b"hit"]
    sub.send_command("UNSUBSCRIBE")
    got = sub.replies(n)
    assert sorted(x[1] for x in got) == sorted(names)
    assert [x[2] for x in got] == list(range(n - 1, -1, -1))
    assert r.execute_command("PUBSUB", "CHANNELS") == []
    assert sub.call("PING") == "PONG"


# --------------------------------------------------------------------------- slow subscriber

def test_slow_subscriber_is_disconnected(conns, server, r):
    slow = conns()  # never reads
    assert slow.call("SUBSCRIBE", "big") == [b"subscribe", b"big", 1]
    # a pattern too: the client is closed while its channel frame is pushed,
    # and the pattern pass of the same fan-out must skip it
    assert slow.call("PSUBSCRIBE", "b*") == [b"psubscribe", b"b*", 2]
    fast = conns()
    assert fast.call("SUBSCRIBE", "big") == [b"subscribe", b"big", 1]
    payload = b"x" * (1 << 20)
    frame_len = len(encode("message", "big", payload)) - 1  # roughly one frame
    got = 0
    disconnected_after = None
    for i in range(120):
        n = r.publish("big", payload)
        # the fast subscriber keeps up
        m = fast.reply()
        assert m[0] == b"message" and len(m[2]) == len(payload)
        got += 1
        if n == 1:
            disconnected_after = i
            break
        assert n == 3
    assert disconnected_after is not None, "slow subscriber never disconnected"
    # the limit is 32 MB plus what the kernel buffers took
    assert 10 <= disconnected_after <= 40, disconnected_after  # two frames per publish
    assert r.execute_command("PUBSUB", "NUMSUB", "big") == [b"big", 1]
    assert r.execute_command("PUBSUB", "NUMPAT") == 0
    # the slow socket gets EOF after whatever was already sent
    slow.sock.settimeout(10)
    total = 0
    while True:
        try:
            chunk = slow.sock.recv(1 << 20)
        except ConnectionResetError:
            break
        if not chunk:
            break
        total += len(chunk)
    assert total < 40 * frame_len
    assert rss_kb(server.proc.pid) < RSS_LIMIT_KB
    assert r.ping()
    assert r.publish("big", "small") == 1
    assert fast.reply() == [b"message", b"big", b"small"]


# --------------------------------------------------------------------------- REPLAY (Solidis)

solidis_only = pytest.mark.skipif(IS_REDIS, reason="PUBSUB REPLAY is a Solidis extension")


@solidis_only
def test_replay_after_reconnect(server, r):
    sub = RespClient(server.port)
    sub.call("SUBSCRIBE", "feed")
    assert r.publish("feed", "seen") == 1
    assert sub.reply() == [b"message", b"feed", b"seen"]
    sub.close()
    assert wait_for(lambda: r.execute_command("PUBSUB", "NUMSUB", "feed") == [b"feed", 0])
    # published while the subscriber is away
    for i in range(5):
        assert r.publish("feed", "missed%d" % i) == 0
    r.publish("other", "noise")
    sub = RespClient(server.port)
    sub.call("SUBSCRIBE", "feed")
    sub.send_command("UNSUBSCRIBE")
    sub.reply()
    all_msgs = sub.call("PUBSUB", "REPLAY", "feed", "0")
    assert [p for _, p in all_msgs] == [b"seen"] + [b"missed%d" % i for i in range(5)]
    ids = [i for i, _ in all_msgs]
    assert ids == sorted(ids) and len(set(ids)) == 6
    # since the id of the last message seen live
    since_seen = sub.call("PUBSUB", "REPLAY", "feed", ids[0])
    assert [p for _, p in since_seen] == [b"missed%d" % i for i in range(5)]
    page = sub.call("PUBSUB", "REPLAY", "feed", ids[0], "COUNT", "2")
    assert page == all_msgs[1:3]
    assert sub.call("PUBSUB", "REPLAY", "feed", ids[-1]) == []
    assert sub.call("PUBSUB", "REPLAY", "nochannel", "0") == []
    assert sub.call("PUBSUB", "replay", "feed", "-1", "count", "1") == all_msgs[:1]
    sub.close()


@solidis_only
def test_replay_errors(r):
    c = r.execute_command
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'pubsub|replay'"):
        c("PUBSUB", "REPLAY", "ch")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        c("PUBSUB", "REPLAY", "ch", "abc")
    with pytest.raises(redis.ResponseError, match="value is not an integer or out of range"):
        c("PUBSUB", "REPLAY", "ch", "0", "COUNT", "x")
    with pytest.raises(redis.ResponseError, match="COUNT must be > 0"):
        c("PUBSUB", "REPLAY", "ch", "0", "COUNT", "0")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        c("PUBSUB", "REPLAY", "ch", "0", "LIMIT", "1")
    with pytest.raises(redis.ResponseError, match="syntax error"):
        c("PUBSUB", "REPLAY", "ch", "0", "COUNT")


@solidis_only
def test_retention_trims_old_messages(make_server):
    """Rows older than the retention (60 s) go, in bounded slices, in the
    background; the newest row always stays (ids never go back)."""
    import os
    import sqlite3
    s = make_server()
    c = s.client()
    c.publish("keep", "fresh")  # creates the table
    c.close()
    s.stop()
    path = os.path.join(s.dir, "solidis.db")
    db = sqlite3.connect(path)
    old = int(time.time() * 1000) - 3600 * 1000
    db.executemany("INSERT INTO pubsub_messages(channel, payload, created_at) VALUES(?, ?, ?)",
                   [(b"old", b"m%d" % i, old) for i in range(2500)])
    db.commit()
    (max_id,) = db.execute("SELECT max(id) FROM pubsub_messages").fetchone()
    db.close()
    s.start()
    c = s.client()
    # expired rows are hidden from REPLAY at once
    assert c.execute_command("PUBSUB", "REPLAY", "old", "0") == []

    def old_rows():
        with sqlite3.connect(path) as d:
            return [row[0] for row in d.execute("SELECT id FROM pubsub_messages WHERE channel=x'6f6c64'")]
    # 2500 rows take several slices; only the newest one is kept
    assert wait_for(lambda: old_rows() == [max_id], timeout=10), len(old_rows())
    assert [p for _, p in c.execute_command("PUBSUB", "REPLAY", "keep", "0")] == [b"fresh"]
    c.publish("keep", "later")
    got = c.execute_command("PUBSUB", "REPLAY", "keep", "0")
    assert [p for _, p in got] == [b"fresh", b"later"] and got[-1][0] == max_id + 1
    c.close()


@solidis_only
def test_replay_survives_restart_and_ids_keep_growing(make_server):
    s = make_server()
    c = s.client()
    c.publish("durable", "one")
    c.publish("durable", "two")
    before = c.execute_command("PUBSUB", "REPLAY", "durable", "0")
    assert [p for _, p in before] == [b"one", b"two"]
    c.close()
    s.kill9()
    s.start()
    c = s.client()
    after = c.execute_command("PUBSUB", "REPLAY", "durable", "0")
    assert after == before
    c.publish("durable", "three")
    last = c.execute_command("PUBSUB", "REPLAY", "durable", before[-1][0])
    assert [p for _, p in last] == [b"three"] and last[0][0] > before[-1][0]
    c.close()


@solidis_only
def test_pubsub_retention_option(r):
    assert r.config_get("pubsub-retention") == {"pubsub-retention": "60"}
    r.config_set("pubsub-retention", 0)
    try:
        r.publish("ret-ch", "not kept")
        assert r.execute_command("PUBSUB", "REPLAY", "ret-ch", 0) == []
    finally:
        r.config_set("pubsub-retention", 60)
    r.publish("ret-ch", "kept")
    assert [p for _, p in r.execute_command("PUBSUB", "REPLAY", "ret-ch", 0)] == [b"kept"]
