"""CLIENT PUBSUB-IDS ON|OFF (Solidis): a client that opts in gets each live
message with its id in the durable message log (the id PUBSUB REPLAY reports
and takes as since-id) as one more trailing element — RESP2 `message` arrays
get a 4th element and `pmessage` a 5th, RESP3 push frames one more field.
Messages without a log id (keyspace notifications, pubsub-retention 0) carry
a null there; `smessage` frames (SPUBLISH is not logged) never change. Off by
default: plain Redis shapes, which the first test also checks against
redis-server.
"""
import pytest

from conftest import IS_REDIS
from helpers import Err, Push, RespClient

solidis_only = pytest.mark.skipif(IS_REDIS, reason="CLIENT PUBSUB-IDS is a Solidis extension")


@pytest.fixture
def conns(server, r):
    made = []

    def make(resp=2, ids=None, replies="values"):
        c = RespClient(server.port)
        made.append(c)
        if resp == 3:
            assert c.call("HELLO", "3").get(b"proto") == 3
        if ids is not None:
            assert c.call("CLIENT", "PUBSUB-IDS", ids) == "OK"
        c.mode = replies
        return c
    yield make
    for c in made:
        c.close()


def replay_ids(r, channel, since=0):
    return [m[0] for m in r.execute_command("PUBSUB", "REPLAY", channel, since)]


def test_default_shapes_are_redis_shapes(conns, r):
    sub = conns()
    assert sub.call("SUBSCRIBE", "ch") == [b"subscribe", b"ch", 1]
    assert sub.call("PSUBSCRIBE", "c*") == [b"psubscribe", b"c*", 2]
    assert r.publish("ch", "hi") == 2
    assert sub.replies(2) == [[b"message", b"ch", b"hi"], [b"pmessage", b"c*", b"ch", b"hi"]]
    sub3 = conns(resp=3)
    assert sub3.call("SUBSCRIBE", "ch") == Push([b"subscribe", b"ch", 1])
    assert r.publish("ch", "again") == 3
    assert sub3.reply() == Push([b"message", b"ch", b"again"])


@solidis_only
def test_resp2_message_and_pmessage_carry_the_log_id(conns, r):
    sub = conns(ids="ON")
    sub.send_command("SUBSCRIBE", "feed")
    assert sub.reply() == [b"subscribe", b"feed", 1]
    sub.send_command("PSUBSCRIBE", "fe*")
    assert sub.reply() == [b"psubscribe", b"fe*", 2]
    assert r.publish("feed", "one") == 2
    assert r.publish("feed", "two") == 2
    got = sub.replies(4)
    m1, p1, m2, p2 = got
    assert m1[:3] == [b"message", b"feed", b"one"] and len(m1) == 4
    assert p1[:4] == [b"pmessage", b"fe*", b"feed", b"one"] and len(p1) == 5
    assert m2[:3] == [b"message", b"feed", b"two"] and p2[:4] == [b"pmessage", b"fe*", b"feed", b"two"]
    # integers, the same id on both frames of one message, growing, and the
    # very ids REPLAY reports and takes as since-id
    assert isinstance(m1[3], int) and m1[3] == p1[4] and m2[3] == p2[4] and m2[3] > m1[3]
    assert replay_ids(r, "feed") == [m1[3], m2[3]]
    assert r.execute_command("PUBSUB", "REPLAY", "feed", m1[3]) == [[m2[3], b"two"]]
    # the wire form: ":<id>" after the payload
    assert r.publish("feed", "raw") == 2
    raw = sub.reply("bytes")
    assert raw.startswith(b"*4\r\n$7\r\nmessage\r\n$4\r\nfeed\r\n$3\r\nraw\r\n:")
    assert raw == b"*4\r\n$7\r\nmessage\r\n$4\r\nfeed\r\n$3\r\nraw\r\n:%d\r\n" % replay_ids(r, "feed")[-1]


@solidis_only
def test_resp3_push_frames_get_one_more_field(conns, r):
    sub = conns(resp=3, ids="ON")
    assert sub.call("SUBSCRIBE", "news") == Push([b"subscribe", b"news", 1])
    assert sub.call("PSUBSCRIBE", "n*") == Push([b"psubscribe", b"n*", 2])
    assert r.publish("news", "x") == 2
    m, p = sub.replies(2)
    assert isinstance(m, Push) and isinstance(p, Push)
    (msg_id,) = replay_ids(r, "news")
    assert m == [b"message", b"news", b"x", msg_id]
    assert p == [b"pmessage", b"n*", b"news", b"x", msg_id]
    # a RESP3 subscriber may publish: its own copy comes with the id too, after the count (7.2)
    sub.send_command("PUBLISH", "news", "self")
    count, own_m, own_p = sub.replies(3)
    self_id = replay_ids(r, "news")[-1]
    assert own_m == [b"message", b"news", b"self", self_id] and own_p[-1] == self_id and count == 2


@solidis_only
def test_only_opted_in_clients_get_ids(conns, r):
    plain2, ids2 = conns(), conns(ids="ON")
    plain3, ids3 = conns(resp=3), conns(resp=3, ids="on")  # ON/OFF in any case
    for c in (plain2, ids2, plain3, ids3):
        c.call("SUBSCRIBE", "mix")
    assert r.publish("mix", "m") == 4
    (msg_id,) = replay_ids(r, "mix")
    assert plain2.reply() == [b"message", b"mix", b"m"]
    assert ids2.reply() == [b"message", b"mix", b"m", msg_id]
    assert plain3.reply() == Push([b"message", b"mix", b"m"])
    assert ids3.reply() == Push([b"message", b"mix", b"m", msg_id])


@solidis_only
def test_off_and_reset_give_plain_frames_again(conns, r):
    sub = conns(resp=3, ids="ON")
    assert sub.call("CLIENT", "PUBSUB-IDS", "OFF") == "OK"
    sub.call("SUBSCRIBE", "c")
    assert r.publish("c", "1") == 1
    assert sub.reply() == Push([b"message", b"c", b"1"])
    # ON while subscribed (RESP3 may run any command), then RESET: off again
    assert sub.call("CLIENT", "PUBSUB-IDS", "ON") == "OK"
    assert r.publish("c", "2") == 1
    assert sub.reply() == Push([b"message", b"c", b"2", replay_ids(r, "c")[-1]])
    assert sub.call("RESET") == "RESET"
    sub.call("HELLO", "3")
    sub.call("SUBSCRIBE", "c")
    assert r.publish("c", "3") == 1
    assert sub.reply() == Push([b"message", b"c", b"3"])
    # the setting outlives unsubscribing from everything
    assert sub.call("CLIENT", "PUBSUB-IDS", "ON") == "OK"
    assert sub.call("UNSUBSCRIBE") == Push([b"unsubscribe", b"c", 0])
    assert sub.call("SUBSCRIBE", "c") == Push([b"subscribe", b"c", 1])
    assert r.publish("c", "4") == 1
    assert sub.reply() == Push([b"message", b"c", b"4", replay_ids(r, "c")[-1]])


@solidis_only
def test_messages_without_a_log_id_carry_null(conns, r):
    sub2, sub3 = conns(ids="ON", replies="tagged"), conns(resp=3, ids="ON", replies="tagged")
    # keyspace notifications are not logged
    r.config_set("notify-keyspace-events", "KEA")
    try:
        for c in (sub2, sub3):
            c.call("SUBSCRIBE", "__keyspace@0__:k")
        r.set("k", "v")
        assert sub2.reply() == (b"*", [(b"$", b"message"), (b"$", b"__keyspace@0__:k"), (b"$", b"set"), (b"$", None)])
        assert sub3.reply() == (b">", [(b"$", b"message"), (b"$", b"__keyspace@0__:k"), (b"$", b"set"), (b"_", b"")])
    finally:
        r.config_set("notify-keyspace-events", "")
    # nor are messages while pubsub-retention is 0
    r.config_set("pubsub-retention", "0")
    try:
        sub2.call("SUBSCRIBE", "nolog")
        assert r.publish("nolog", "x") == 1
        assert sub2.reply() == (b"*", [(b"$", b"message"), (b"$", b"nolog"), (b"$", b"x"), (b"$", None)])
    finally:
        r.config_set("pubsub-retention", "60")
    # SPUBLISH: smessage keeps Redis's shape
    sub3.call("SSUBSCRIBE", "shard")
    assert r.execute_command("SPUBLISH", "shard", "s") == 1
    assert sub3.reply() == (b">", [(b"$", b"smessage"), (b"$", b"shard"), (b"$", b"s")])


@solidis_only
def test_errors_and_command_table(conns, r):
    c = conns()
    assert c.call("CLIENT", "PUBSUB-IDS", "maybe") == Err("ERR syntax error")
    assert c.call("CLIENT", "PUBSUB-IDS") == Err("ERR wrong number of arguments for 'client|pubsub-ids' command")
    assert c.call("CLIENT", "PUBSUB-IDS", "ON", "x") == \
        Err("ERR wrong number of arguments for 'client|pubsub-ids' command")
    help_lines = c.call("CLIENT", "HELP")
    assert "PUBSUB-IDS (ON|OFF)" in help_lines
    # RESP2 subscribed mode allows only (P|S)(UN)SUBSCRIBE PING QUIT RESET, as Redis
    assert c.call("SUBSCRIBE", "x") == [b"subscribe", b"x", 1]
    assert c.call("CLIENT", "PUBSUB-IDS", "ON").startswith(
        "ERR Can't execute 'client|pubsub-ids': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE")
