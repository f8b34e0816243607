"""Connection and server commands: PING/ECHO/HELLO/AUTH/SELECT/QUIT/RESET, CLIENT *,
COMMAND *, INFO, CONFIG, DBSIZE/FLUSH*, TIME/LASTSAVE/SAVE/BGSAVE, DEBUG SLEEP,
SHUTDOWN, and RESP3 reply types on the wire.

Checked against redis-server 7.0.15 (SOLIDIS_BIN=/usr/bin/redis-server); where 7.0
and 7.2 differ the test follows 7.2 and is skipped on the installed Redis.
"""
import os
import re
import socket
import time

import pytest

from conftest import IS_REDIS
from helpers import Err, Map, RespClient, Status, encode, info_sections, parse_info, wait_for


# --------------------------------------------------------------------------- helpers

def pairs(flat):
    """RESP2 flat [k1, v1, k2, v2, ...] -> dict."""
    assert len(flat) % 2 == 0, flat
    return dict(zip(flat[::2], flat[1::2]))


def client_fields(line):
    if isinstance(line, bytes):
        line = line.decode()
    return dict(tok.split("=", 1) for tok in line.strip().split(" ") if "=" in tok)


def debug_args():
    """Redis 7 refuses DEBUG unless enabled; Solidis has no such option."""
    return ["--enable-debug-command", "yes"] if IS_REDIS else []


@pytest.fixture
def c(server, r):
    """A raw connection on a flushed server."""
    conn = RespClient(server.port)
    yield conn
    conn.close()


# --------------------------------------------------------------------------- PING / ECHO

def test_ping_and_echo(c):
    assert c.call("PING") == Status("PONG")
    assert c.call("PING", "hello world") == b"hello world"
    assert c.call("PING", "") == b""
    assert c.call("ECHO", "x\r\ny\x00") == b"x\r\ny\x00"
    assert c.call("echo", "") == b""
    assert c.call("ECHO") == Err("ERR wrong number of arguments for 'echo' command")
    assert c.call("PING", "a", "b") == Err("ERR wrong number of arguments for 'ping' command")


# --------------------------------------------------------------------------- HELLO

HELLO_KEYS = [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]


def test_hello_resp2(c):
    rep = c.call("HELLO")
    assert isinstance(rep, list) and len(rep) == 14
    assert rep[::2] == HELLO_KEYS
    d = pairs(rep)
    assert d[b"proto"] == 2
    assert d[b"id"] == c.call("CLIENT", "ID")
    assert d[b"mode"] == b"standalone"
    assert d[b"role"] == b"master"
    assert d[b"modules"] == []
    assert d[b"server"]
    info = parse_info(c.call("INFO", "server"))
    assert d[b"version"].decode() == info["redis_version"]
    rep = c.call("HELLO", "2")
    assert pairs(rep)[b"proto"] == 2


def test_hello_resp3_map_and_back(c):
    c.send(encode("HELLO", "3"))
    assert c.sock.recv(1, socket.MSG_PEEK) == b"%", "HELLO 3 must answer with a RESP3 map"
    rep = c.reply()
    assert isinstance(rep, Map) and len(rep) == 7
    assert [k for k, _ in rep] == HELLO_KEYS
    assert rep.get(b"proto") == 3
    assert rep.get(b"id") == c.call("CLIENT", "ID")
    assert rep.get(b"modules") == []
    assert c.call_bytes("GET", "hello:missing") == b"_\r\n"
    assert pairs(c.call("HELLO", "2"))[b"proto"] == 2
    assert c.call_bytes("GET", "hello:missing") == b"$-1\r\n"


def test_hello_errors(c):
    assert c.call("HELLO", "4") == Err("NOPROTO unsupported protocol version")
    assert c.call("HELLO", "1") == Err("NOPROTO unsupported protocol version")
    assert c.call("HELLO", "abc") == Err("ERR Protocol version is not an integer or out of range")
    assert c.call("HELLO", "3", "SETNAME", "bad name") == Err(
        "ERR Client names cannot contain spaces, newlines or special characters.")
    # a failed HELLO leaves the connection in RESP2
    assert c.call_bytes("GET", "hello:missing") == b"$-1\r\n"


def test_hello_setname(c):
    rep = c.call("HELLO", "3", "SETNAME", "helloname")
    assert rep.get(b"proto") == 3
    assert c.call("CLIENT", "GETNAME") == b"helloname"
    info = client_fields(c.call("CLIENT", "INFO"))
    assert info["name"] == "helloname"
    assert info["resp"] == "3"


def test_hello_auth(make_server):
    s = make_server("--requirepass", "pw")
    c = RespClient(s.port)
    rep = c.call("HELLO", "3")
    assert isinstance(rep, Err)
    assert rep.startswith("NOAUTH HELLO must be called with the client already authenticated")
    assert c.call("HELLO", "2", "AUTH", "default", "nope") == Err(
        "WRONGPASS invalid username-password pair or user is disabled.")
    assert c.call("GET", "x") == Err("NOAUTH Authentication required.")
    rep = c.call("HELLO", "3", "AUTH", "default", "pw", "SETNAME", "authed")
    assert isinstance(rep, Map) and rep.get(b"proto") == 3
    assert c.call("GET", "x") is None
    assert c.call("CLIENT", "GETNAME") == b"authed"
    c.close()


@pytest.mark.skipif(IS_REDIS, reason="7.2 wording ('HELLO <proto> AUTH'); Redis 7.0 says 'HELLO AUTH'")
def test_hello_noauth_text_72(make_server):
    s = make_server("--requirepass", "pw")
    c = RespClient(s.port)
    assert c.call("HELLO", "3") == Err(
        "NOAUTH HELLO must be called with the client already authenticated, otherwise the "
        "HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and "
        "select the RESP protocol version at the same time")
    c.close()


# --------------------------------------------------------------------------- AUTH

def test_auth_requirepass(make_server):
    s = make_server("--requirepass", "pw")
    c = RespClient(s.port)
    c.send(b"GET x\r\n")  # inline too
    assert c.reply() == Err("NOAUTH Authentication required.")
    assert c.call("SET", "x", "1") == Err("NOAUTH Authentication required.")
    assert c.call("PING") == Err("NOAUTH Authentication required.")
    assert c.call("AUTH", "wrong") == Err("WRONGPASS invalid username-password pair or user is disabled.")
    assert c.call("AUTH", "default", "wrong") == Err(
        "WRONGPASS invalid username-password pair or user is disabled.")
    assert c.call("AUTH", "a", "b", "c") == Err("ERR syntax error")
    assert c.call("AUTH", "pw") == Status("OK")
    assert c.call("SET", "x", "1") == Status("OK")
    c.close()
    c = RespClient(s.port)
    assert c.call("AUTH", "default", "pw") == Status("OK")
    assert c.call("GET", "x") == b"1"
    c.close()
    # redis-cli with -a
    p = s.cli("-a", "pw", "--no-auth-warning", "GET", "x")
    assert p.returncode == 0 and p.stdout.strip() == b"1", p
    p = s.cli("GET", "x")
    assert b"NOAUTH" in p.stdout + p.stderr
    # QUIT is allowed without authentication
    c = RespClient(s.port)
    assert c.call("QUIT") == Status("OK")
    assert c.closed()
    c.close()


def test_auth_without_requirepass(c):
    assert c.call("AUTH", "whatever") == Err(
        "ERR AUTH <password> called without any password configured for the default user. "
        "Are you sure your configuration is correct?")
    # default user has no password: any password for 'default' is accepted by AUTH user pass
    assert c.call("AUTH", "default", "whatever") == Status("OK")
    assert c.call("PING") == Status("PONG")


# --------------------------------------------------------------------------- SELECT / DBSIZE / FLUSH

def test_select_and_dbsize(c):
    assert c.call("SET", "a", "0") == "OK"
    assert c.call("SELECT", "1") == "OK"
    assert c.call("GET", "a") is None
    assert c.call("MSET", "a", "1", "b", "1") == "OK"
    assert c.call("DBSIZE") == 2
    assert c.call("SELECT", "15") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("SELECT", "16") == Err("ERR DB index is out of range")
    assert c.call("SELECT", "-1") == Err("ERR DB index is out of range")
    assert c.call("SELECT", "abc") == Err("ERR value is not an integer or out of range")
    assert c.call("DBSIZE") == 0, "a failed SELECT keeps the current db (15)"
    assert c.call("SELECT", "0") == "OK"
    assert c.call("GET", "a") == b"0"
    assert c.call("DBSIZE") == 1
    assert c.call("DBSIZE", "x") == Err("ERR wrong number of arguments for 'dbsize' command")


def test_databases_option(make_server):
    s = make_server("--databases", "4")
    c = RespClient(s.port)
    assert c.call("SELECT", "3") == "OK"
    assert c.call("SELECT", "4") == Err("ERR DB index is out of range")
    assert c.call("CONFIG", "GET", "databases") == [b"databases", b"4"]
    c.close()


def test_flushdb_and_flushall(c):
    for db in ("0", "1", "2"):
        assert c.call("SELECT", db) == "OK"
        assert c.call("MSET", "x", db, "y", db) == "OK"
    assert c.call("SELECT", "1") == "OK"
    assert c.call("FLUSHDB") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("SELECT", "0") == "OK"
    assert c.call("DBSIZE") == 2, "FLUSHDB only empties the selected db"
    assert c.call("FLUSHDB", "ASYNC") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("SELECT", "2") == "OK"
    assert c.call("GET", "x") == b"2"
    assert c.call("FLUSHALL", "SYNC") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("SET", "z", "1") == "OK"
    assert c.call("SELECT", "0") == "OK"
    assert c.call("SET", "z", "1") == "OK"
    assert c.call("FLUSHALL", "ASYNC") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("SELECT", "2") == "OK"
    assert c.call("DBSIZE") == 0
    assert c.call("FLUSHALL", "bogus") == Err("ERR syntax error")
    assert c.call("FLUSHDB", "SYNC", "ASYNC") == Err("ERR syntax error")
    assert c.call("FLUSHALL") == "OK"


# --------------------------------------------------------------------------- QUIT / RESET

def test_quit(server, r):
    c = RespClient(server.port)
    c.send(encode("SET", "quit:before", "1") + encode("QUIT") + encode("SET", "quit:after", "1"))
    assert c.reply() == "OK"
    assert c.reply() == Status("OK")
    assert c.closed(), "QUIT closes the connection after replying"
    c.close()
    assert r.get("quit:before") == b"1"
    assert r.exists("quit:after") == 0, "commands after QUIT are not executed"


def test_reset(c):
    assert c.call("HELLO", "3", "SETNAME", "before-reset").get(b"proto") == 3
    assert c.call("SELECT", "2") == "OK"
    assert c.call("SET", "in-db2", "1") == "OK"
    c.send(encode("CLIENT", "REPLY", "OFF"))  # no reply; RESET turns replies back on
    c.send(encode("RESET"))
    assert c.reply() == Status("RESET")
    info = client_fields(c.call("CLIENT", "INFO"))
    assert info["name"] == ""
    assert info["db"] == "0"
    assert info["resp"] == "2"
    assert c.call("GET", "in-db2") is None
    assert c.call_bytes("CLIENT", "GETNAME") == b"$-1\r\n"


def test_reset_deauthenticates(make_server):
    s = make_server("--requirepass", "pw")
    c = RespClient(s.port)
    assert c.call("AUTH", "pw") == "OK"
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("RESET") == Status("RESET")
    assert c.call("GET", "k") == Err("NOAUTH Authentication required.")
    c.close()


def test_reset_forgets_watched_keys(server, r, c):
    assert c.call("WATCH", "w:k") == "OK"
    r.set("w:k", "changed")  # would abort an EXEC of the watching client
    assert c.call("RESET") == Status("RESET")
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "w:after", "1") == Status("QUEUED")
    assert c.call("EXEC") == [Status("OK")], "RESET must unwatch, as in Redis"
    assert r.get("w:after") == b"1"


def test_requirepass_set_later_keeps_open_connections_authenticated(server, r, c):
    """Redis checks the password when a connection authenticates; connections
    opened while none was required stay in. New ones and RESET must AUTH."""
    other = RespClient(server.port)
    try:
        assert c.call("SET", "rp:k", "1") == "OK"
        assert c.call("CONFIG", "SET", "requirepass", "pw") == "OK"
        assert c.call("GET", "rp:k") == b"1"
        assert other.call("GET", "rp:k") == b"1"
        fresh = RespClient(server.port)
        assert fresh.call("GET", "rp:k") == Err("NOAUTH Authentication required.")
        fresh.close()
        assert other.call("RESET") == Status("RESET")
        assert other.call("GET", "rp:k") == Err("NOAUTH Authentication required.")
    finally:
        assert c.call("CONFIG", "SET", "requirepass", "") == "OK"
        other.close()


def test_arity_and_exec_refusals_come_in_redis_order(make_server):
    s = make_server("--requirepass", "pw")
    c = RespClient(s.port)
    # A wrong argument count is answered before authentication is checked.
    assert c.call("GET") == Err("ERR wrong number of arguments for 'get' command")
    assert c.call("SUBSCRIBE") == Err("ERR wrong number of arguments for 'subscribe' command")
    assert c.call("GET", "k") == Err("NOAUTH Authentication required.")
    # EXEC's refusals are worded as the transaction's abort.
    assert c.call("EXEC") == Err("EXECABORT Transaction discarded because of: NOAUTH Authentication required.")
    assert c.call("EXEC", "x") == Err(
        "EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command")
    assert c.call("AUTH", "pw") == "OK"
    c.send(encode("SUBSCRIBE", "ch"))
    assert c.reply() == [b"subscribe", b"ch", 1]
    assert c.call("EXEC") == Err(
        "EXECABORT Transaction discarded because of: Can't execute 'exec': only (P|S)SUBSCRIBE / "
        "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context")
    assert c.call("GET") == Err("ERR wrong number of arguments for 'get' command")
    c.close()


def test_client_reply_off_still_confirms_subscriptions(c):
    """(Un)subscribe confirmations are pushes: Redis sends them with replies off."""
    c.send(encode("CLIENT", "REPLY", "OFF"))
    c.send(encode("SUBSCRIBE", "ro:ch"))
    assert c.reply() == [b"subscribe", b"ro:ch", 1]
    c.send(encode("UNSUBSCRIBE", "ro:ch"))
    assert c.reply() == [b"unsubscribe", b"ro:ch", 0]
    c.send(encode("SET", "ro:k", "1"))
    c.send(encode("CLIENT", "REPLY", "SKIP"))
    c.send(encode("SUBSCRIBE", "ro:ch2"))
    assert c.reply() == [b"subscribe", b"ro:ch2", 1]
    assert c.nothing_pending()


# --------------------------------------------------------------------------- CLIENT

def test_client_id_setname_getname(server, c):
    cid = c.call("CLIENT", "ID")
    assert isinstance(cid, int) and cid > 0
    other = RespClient(server.port)
    assert other.call("CLIENT", "ID") != cid, "ids are unique"
    other.close()
    assert c.call("CLIENT", "GETNAME") is None
    assert c.call("CLIENT", "SETNAME", "my-conn") == "OK"
    assert c.call("CLIENT", "GETNAME") == b"my-conn"
    for bad in ("a b", "a\nb", "caf\u00e9"):
        assert c.call("CLIENT", "SETNAME", bad) == Err(
            "ERR Client names cannot contain spaces, newlines or special characters.")
    assert c.call("CLIENT", "GETNAME") == b"my-conn"
    assert c.call("CLIENT", "SETNAME", "") == "OK"
    assert c.call("CLIENT", "GETNAME") is None
    assert c.call("CLIENT", "SETNAME", "x", "y") == Err(
        "ERR wrong number of arguments for 'client|setname' command")


def test_client_info_and_list(server, c):
    cid = c.call("CLIENT", "ID")
    assert c.call("CLIENT", "SETNAME", "lister") == "OK"
    assert c.call("SELECT", "3") == "OK"
    info = c.call("CLIENT", "INFO")
    assert info.endswith(b"\n") and info.count(b"\n") == 1
    f = client_fields(info)
    for k in ("id", "addr", "laddr", "fd", "name", "age", "idle", "flags", "db", "sub", "psub",
              "multi", "cmd", "user", "resp"):
        assert k in f, "CLIENT INFO lacks %s: %r" % (k, info)
    assert f["id"] == str(cid)
    assert f["name"] == "lister"
    assert f["db"] == "3"
    assert f["cmd"] == "client|info"
    assert f["user"] == "default"
    assert f["resp"] == "2"
    local = c.sock.getsockname()
    assert f["addr"] == "%s:%d" % local
    assert f["laddr"] == "127.0.0.1:%d" % server.port

    other = RespClient(server.port)
    assert other.call("CLIENT", "SETNAME", "other") == "OK"
    oid = other.call("CLIENT", "ID")
    listing = c.call("CLIENT", "LIST").decode()
    lines = [client_fields(l) for l in listing.splitlines() if l]
    by_id = {l["id"]: l for l in lines}
    assert by_id[str(cid)]["name"] == "lister"
    assert by_id[str(oid)]["name"] == "other"
    assert by_id[str(oid)]["cmd"] == "client|id"
    only = c.call("CLIENT", "LIST", "ID", str(oid)).decode().splitlines()
    assert len(only) == 1 and client_fields(only[0])["id"] == str(oid)
    assert c.call("CLIENT", "LIST", "ID", "abc") == Err("ERR Invalid client ID")
    normal = c.call("CLIENT", "LIST", "TYPE", "normal").decode()
    assert "id=%d " % cid in normal and "id=%d " % oid in normal
    other.close()


def test_client_list_and_kill_by_type_and_user(server, c):
    """TYPE pubsub is a subscribed client, normal every other one; master and
    replica match nobody; unknown types and users are errors."""
    sub = RespClient(server.port)
    sub.send(encode("SUBSCRIBE", "ck:ch"))
    assert sub.reply() == [b"subscribe", b"ck:ch", 1]
    blocked = RespClient(server.port)
    blocked_id = blocked.call("CLIENT", "ID")
    blocked.send(encode("BLPOP", "ck:none", "0"))
    ids = lambda text: sorted(int(f[3:]) for line in text.decode().splitlines() for f in line.split() if f.startswith("id="))
    pubsub_ids = ids(c.call("CLIENT", "LIST", "TYPE", "pubsub"))
    normal_ids = ids(c.call("CLIENT", "LIST", "TYPE", "normal"))
    assert len(pubsub_ids) == 1 and pubsub_ids[0] not in normal_ids
    assert c.call("CLIENT", "ID") in normal_ids and blocked_id in normal_ids
    assert c.call("CLIENT", "LIST", "TYPE", "master") == b""
    assert c.call("CLIENT", "LIST", "TYPE", "bogus") == Err("ERR Unknown client type 'bogus'")
    assert c.call("CLIENT", "KILL", "TYPE", "bogus") == Err("ERR Unknown client type 'bogus'")
    assert c.call("CLIENT", "KILL", "USER", "nobody") == Err("ERR No such user 'nobody'")
    assert c.call("CLIENT", "KILL", "TYPE", "replica") == 0
    assert c.call("CLIENT", "KILL", "TYPE", "pubsub") == 1
    assert sub.closed()
    assert c.call("CLIENT", "KILL", "ID", str(blocked_id), "USER", "default", "TYPE", "normal") == 1
    assert blocked.closed()
    assert c.call("PING") == "PONG"
    sub.close()
    blocked.close()


@pytest.mark.skipif(IS_REDIS, reason="CLIENT KILL MAXAGE is Redis 7.4")
def test_client_kill_maxage(server, c):
    other = RespClient(server.port)
    assert other.call("PING") == "PONG"
    assert c.call("CLIENT", "KILL", "MAXAGE", "3600") == 0      # nobody is an hour old
    assert c.call("CLIENT", "KILL", "MAXAGE", "-1") == Err("ERR syntax error")
    other_id = other.call("CLIENT", "ID")
    assert c.call("CLIENT", "KILL", "ID", str(other_id), "MAXAGE", "0") == 1
    assert other.closed()
    assert c.call("PING") == "PONG"
    other.close()


def test_client_kill(server, c):
    v1 = RespClient(server.port)
    v2 = RespClient(server.port)
    v3 = RespClient(server.port)
    id1 = v1.call("CLIENT", "ID")
    addr2 = "%s:%d" % v2.sock.getsockname()
    addr3 = "%s:%d" % v3.sock.getsockname()
    assert c.call("CLIENT", "KILL", "ID", str(id1)) == 1
    assert v1.closed(), "killed client is disconnected"
    assert c.call("CLIENT", "KILL", "ID", str(id1)) == 0
    assert c.call("CLIENT", "KILL", "ADDR", addr2) == 1
    assert v2.closed()
    assert c.call("CLIENT", "KILL", addr3) == Status("OK")  # old form
    assert v3.closed()
    assert c.call("CLIENT", "KILL", "1.2.3.4:5") == Err("ERR No such client")
    assert c.call("CLIENT", "KILL", "ADDR", "1.2.3.4:5") == 0
    assert c.call("CLIENT", "KILL", "ID", "abc") == Err("ERR client-id should be greater than 0")
    # SKIPME yes is the default: a client does not kill itself by address...
    me = "%s:%d" % c.sock.getsockname()
    assert c.call("CLIENT", "KILL", "ADDR", me) == 0
    assert c.call("PING") == "PONG"
    # ...unless asked to
    c.send(encode("CLIENT", "KILL", "ADDR", me, "SKIPME", "no"))
    assert c.closed()
    for v in (v1, v2, v3):
        v.close()
    fresh = RespClient(server.port)
    assert fresh.call("PING") == "PONG"
    fresh.close()


def test_client_reply_off_on_skip(server, r, c):
    c.send(encode("CLIENT", "REPLY", "OFF"))
    c.send(encode("SET", "rep:a", "1"))
    c.send(encode("INCR", "rep:a"))
    assert c.nothing_pending(), "no replies while CLIENT REPLY OFF"
    assert c.call("CLIENT", "REPLY", "ON") == Status("OK")
    assert c.call("GET", "rep:a") == b"2", "commands ran while replies were off"
    c.send(encode("CLIENT", "REPLY", "SKIP"))
    c.send(encode("INCR", "rep:a"))  # reply skipped
    assert c.call("INCR", "rep:a") == 4, "only the one command after SKIP is silent"
    assert c.call("CLIENT", "REPLY", "maybe") == Err("ERR syntax error")
    assert r.get("rep:a") == b"4"


def test_client_no_evict(c):
    assert c.call("CLIENT", "NO-EVICT", "on") == Status("OK")
    assert "e" in client_fields(c.call("CLIENT", "INFO"))["flags"]
    assert c.call("CLIENT", "NO-EVICT", "off") == Status("OK")
    assert "e" not in client_fields(c.call("CLIENT", "INFO"))["flags"]
    assert c.call("CLIENT", "NO-EVICT", "maybe") == Err("ERR syntax error")


@pytest.mark.skipif(IS_REDIS, reason="CLIENT SETINFO is new in Redis 7.2")
def test_client_setinfo(server, c):
    assert c.call("CLIENT", "SETINFO", "lib-name", "solidis-tests") == Status("OK")
    assert c.call("CLIENT", "SETINFO", "LIB-VER", "1.2.3") == Status("OK")
    f = client_fields(c.call("CLIENT", "INFO"))
    assert f["lib-name"] == "solidis-tests"
    assert f["lib-ver"] == "1.2.3"
    listing = c.call("CLIENT", "LIST").decode()
    assert "lib-name=solidis-tests lib-ver=1.2.3" in listing
    rep = c.call("CLIENT", "SETINFO", "lib-name", "has space")
    assert isinstance(rep, Err) and rep.startswith("ERR ")
    rep = c.call("CLIENT", "SETINFO", "bogus-attr", "x")
    assert isinstance(rep, Err) and rep.startswith("ERR ")
    assert client_fields(c.call("CLIENT", "INFO"))["lib-name"] == "solidis-tests"


def connect_when_slot_free(port, timeout=5):
    """A working connection; retries while the server still counts a just-closed one."""
    deadline = time.time() + timeout
    while True:
        n = RespClient(port)
        rep = n.call("PING")
        if rep == "PONG" or time.time() > deadline:
            assert rep == "PONG", rep
            return n
        n.close()
        time.sleep(0.05)


def test_maxclients(make_server):
    s = make_server("--maxclients", "3")
    held = [connect_when_slot_free(s.port) for _ in range(3)]
    extra = RespClient(s.port)
    extra.send(encode("PING"))
    assert extra.reply() == Err("ERR max number of clients reached")
    assert extra.closed()
    extra.close()
    for h in held:
        assert h.call("PING") == "PONG"
    held.pop().close()
    held.append(connect_when_slot_free(s.port))  # the freed slot becomes usable
    for h in held:
        h.close()


def test_timeout_closes_idle_clients(make_server):
    s = make_server("--timeout", "1")
    idle = RespClient(s.port)
    busy = RespClient(s.port)
    assert idle.call("PING") == "PONG"
    t0 = time.time()
    closed = False
    while time.time() - t0 < 5:
        assert busy.call("PING") == "PONG", "an active client must not time out"
        if idle.closed(0.25):
            closed = True
            break
    assert closed, "idle client was not disconnected after timeout 1"
    assert time.time() - t0 >= 0.9
    idle.close()
    busy.close()


# --------------------------------------------------------------------------- COMMAND

def test_command_count_list(c):
    count = c.call("COMMAND", "COUNT")
    assert isinstance(count, int) and count > 20
    names = c.call("COMMAND", "LIST")
    assert len(names) == len(set(names))
    top = [n for n in names if b"|" not in n]
    assert len(top) == count
    for n in (b"get", b"set", b"ping", b"hello", b"client", b"config", b"info", b"command"):
        assert n in names
    everything = c.call("COMMAND")
    assert len(everything) == count
    assert sorted(e[0] for e in everything) == sorted(top)


def strs(items):
    """Flags and ACL categories come as simple strings; normalise to str."""
    return [x.decode() if isinstance(x, bytes) else str(x) for x in items]


def test_command_info(c):
    (get,) = c.call("COMMAND", "INFO", "GET")
    assert get[0] == b"get"
    assert get[1] == 2
    assert {"readonly", "fast"} <= set(strs(get[2]))
    assert get[3:6] == [1, 1, 1]
    setc, mset, missing = c.call("COMMAND", "INFO", "set", "mset", "no-such-command")
    assert setc[0] == b"set" and setc[1] == -3 and setc[3:6] == [1, 1, 1]
    assert "write" in strs(setc[2]) and "readonly" not in strs(setc[2])
    assert mset[0] == b"mset" and mset[1] == -3 and mset[3:6] == [1, -1, 2]
    assert missing is None
    (ping,) = c.call("COMMAND", "INFO", "ping")
    assert ping[1] == -1 and ping[3:6] == [0, 0, 0]


def test_command_docs(c):
    rep = c.call("COMMAND", "DOCS", "get")
    assert len(rep) == 2 and rep[0] == b"get"
    doc = pairs(rep[1])
    assert doc[b"summary"]
    assert doc[b"group"] == b"string"
    assert doc[b"since"] == b"1.0.0"
    assert c.call("COMMAND", "DOCS", "no-such-command") == []


# --------------------------------------------------------------------------- INFO

def test_info_sections_and_fields(server, c):
    text = c.call("INFO").decode()
    sections = info_sections(text)
    for s in ("server", "clients", "memory", "persistence", "stats", "replication", "cpu", "keyspace"):
        assert s in sections, (s, sections)
    assert "\r\n" in text, "INFO lines end with CRLF"
    f = parse_info(text)
    assert re.fullmatch(r"\d+\.\d+\.\d+", f["redis_version"])
    assert f["redis_mode"] == "standalone"
    assert int(f["process_id"]) == server.proc.pid
    assert int(f["tcp_port"]) == server.port
    assert int(f["uptime_in_seconds"]) >= 0
    assert re.fullmatch(r"[0-9a-f]{40}", f["run_id"])
    assert int(f["connected_clients"]) >= 1
    assert int(f["used_memory"]) > 0
    assert f["loading"] == "0"
    assert int(f["total_commands_processed"]) > 0
    assert int(f["total_connections_received"]) >= 1
    assert f["role"] == "master"
    assert int(f["connected_slaves"]) == 0
    float(f["used_cpu_sys"]), float(f["used_cpu_user"])


def test_info_single_and_multiple_sections(c):
    server_only = c.call("INFO", "server").decode()
    assert info_sections(server_only) == ["server"]
    assert "redis_version:" in server_only and "connected_clients:" not in server_only
    two = c.call("INFO", "SERVER", "clients").decode()
    assert info_sections(two) == ["server", "clients"]
    assert c.call("INFO", "no-such-section") == b""
    default = set(info_sections(c.call("INFO")))
    assert default <= set(info_sections(c.call("INFO", "all")))
    assert default <= set(info_sections(c.call("INFO", "everything")))
    assert info_sections(c.call("INFO", "default")) == info_sections(c.call("INFO"))


def test_info_keyspace_after_writes(c):
    assert c.call("INFO", "keyspace").decode().strip() == "# Keyspace"
    assert c.call("MSET", "a", "1", "b", "2") == "OK"
    assert c.call("SET", "c", "3", "EX", "1000") == "OK"
    assert c.call("SELECT", "2") == "OK"
    assert c.call("SET", "d", "4", "PX", "500000") == "OK"
    assert c.call("SET", "e", "4") == "OK"
    ks = parse_info(c.call("INFO", "keyspace"))
    assert re.fullmatch(r"keys=3,expires=1,avg_ttl=\d+", ks["db0"]), ks
    assert re.fullmatch(r"keys=2,expires=1,avg_ttl=\d+", ks["db2"]), ks
    assert "db1" not in ks
    assert c.call("FLUSHDB") == "OK"
    ks = parse_info(c.call("INFO", "keyspace"))
    assert "db2" not in ks and "db0" in ks


def test_info_stats_count_commands(server, c):
    before = int(parse_info(c.call("INFO", "stats"))["total_commands_processed"])
    for i in range(25):
        c.call("PING")
    after = int(parse_info(c.call("INFO", "stats"))["total_commands_processed"])
    assert after - before >= 26
    clients = int(parse_info(c.call("INFO", "clients"))["connected_clients"])
    extra = [RespClient(server.port) for _ in range(3)]
    for e in extra:
        assert e.call("PING") == "PONG"
    assert int(parse_info(c.call("INFO", "clients"))["connected_clients"]) >= clients + 3
    for e in extra:
        e.close()


@pytest.mark.skipif(IS_REDIS, reason="Solidis-only INFO fields")
def test_info_solidis_fields(c):
    f = parse_info(c.call("INFO", "server"))
    assert f["redis_version"] == "7.2.4"
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", f["solidis_version"])
    assert pairs(c.call("HELLO"))[b"version"] == b"7.2.4"


# --------------------------------------------------------------------------- CONFIG

def test_config_get(server, c):
    got = pairs(c.call("CONFIG", "GET", "*max*"))
    assert b"maxclients" in got and b"proto-max-bulk-len" in got
    assert int(got[b"maxclients"]) > 0
    assert int(got[b"proto-max-bulk-len"]) == 512 * 1024 * 1024
    assert all(b"max" in k for k in got)
    assert c.call("CONFIG", "GET", "port") == [b"port", str(server.port).encode()]
    both = pairs(c.call("CONFIG", "GET", "port", "databases"))
    assert both == {b"port": str(server.port).encode(), b"databases": b"16"}
    assert c.call("CONFIG", "GET", "no-such-option") == []
    d = pairs(c.call("CONFIG", "GET", "dir"))[b"dir"].decode()
    assert os.path.realpath(d) == os.path.realpath(server.dir)
    assert pairs(c.call("CONFIG", "GET", "bind"))[b"bind"] == b"127.0.0.1"
    assert pairs(c.call("CONFIG", "GET", "appendfsync"))[b"appendfsync"] in (b"always", b"everysec", b"no")
    # names are case-insensitive (Redis 7.0 echoes the name as asked, so check the value)
    assert [v for k, v in pairs(c.call("CONFIG", "GET", "PORT")).items()] == [str(server.port).encode()]


def test_config_set_runtime(server, c):
    old = pairs(c.call("CONFIG", "GET", "timeout", "loglevel", "appendfsync", "maxclients"))
    try:
        assert c.call("CONFIG", "SET", "timeout", "300") == "OK"
        assert c.call("CONFIG", "GET", "timeout") == [b"timeout", b"300"]
        assert c.call("CONFIG", "SET", "loglevel", "warning", "maxclients", "500") == "OK"
        got = pairs(c.call("CONFIG", "GET", "loglevel", "maxclients"))
        assert got == {b"loglevel": b"warning", b"maxclients": b"500"}
        assert c.call("CONFIG", "SET", "appendfsync", "always") == "OK"
        assert c.call("CONFIG", "GET", "appendfsync") == [b"appendfsync", b"always"]
        assert c.call("SET", "cfg:k", "v") == "OK"
        assert c.call("GET", "cfg:k") == b"v"
        assert c.call("CONFIG", "SET", "xyz", "1") == Err(
            "ERR Unknown option or number of arguments for CONFIG SET - 'xyz'")
        assert c.call("CONFIG", "SET", "timeout", "abc") == Err(
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - "
            "argument couldn't be parsed into an integer")
        rep = c.call("CONFIG", "SET", "appendfsync", "sometimes")
        assert isinstance(rep, Err) and rep.startswith(
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - ")
        # all-or-nothing: an unknown name in the same call leaves timeout untouched
        assert c.call("CONFIG", "SET", "timeout", "5", "xyz", "1") == Err(
            "ERR Unknown option or number of arguments for CONFIG SET - 'xyz'")
        assert c.call("CONFIG", "GET", "timeout") == [b"timeout", b"300"]
        assert c.call("CONFIG", "SET", "timeout") == Err(
            "ERR wrong number of arguments for 'config|set' command")
    finally:
        assert c.call("CONFIG", "SET", *[x for kv in old.items() for x in kv]) == "OK"


# --------------------------------------------------------------------------- TIME / SAVE

def test_time(c):
    sec, usec = c.call("TIME")
    assert abs(int(sec) - time.time()) < 5
    assert 0 <= int(usec) < 1000000
    t1 = c.call("TIME")
    assert (int(t1[0]), int(t1[1])) >= (int(sec), int(usec))


def wait_bgsave_done(c, timeout=10):
    def done():
        return parse_info(c.call("INFO", "persistence")).get("rdb_bgsave_in_progress", "0") == "0"
    assert wait_for(done, timeout, interval=0.05), "BGSAVE still in progress"


def test_lastsave_save_bgsave(c):
    t0 = int(time.time())
    assert c.call("SET", "save:k", "v") == "OK"
    last = c.call("LASTSAVE")
    assert isinstance(last, int) and last <= t0 + 1
    assert c.call("SAVE") == Status("OK")
    after = c.call("LASTSAVE")
    assert t0 - 1 <= after <= int(time.time()) + 1
    assert after >= last
    assert c.call("BGSAVE") == Status("Background saving started")
    wait_bgsave_done(c)
    assert c.call("LASTSAVE") >= after
    assert c.call("GET", "save:k") == b"v"


def test_debug_sleep(make_server):
    s = make_server(*debug_args())
    c = RespClient(s.port)
    assert c.call("DEBUG", "SLEEP", "0") == Status("OK")
    t = time.time()
    assert c.call("DEBUG", "SLEEP", "0.2") == Status("OK")
    assert time.time() - t >= 0.19
    assert c.call("PING") == "PONG"
    c.close()


# --------------------------------------------------------------------------- SHUTDOWN

@pytest.mark.parametrize("mode", [[], ["NOSAVE"], ["SAVE"]], ids=["plain", "nosave", "save"])
def test_shutdown_exits_zero(make_server, mode):
    s = make_server()
    c = RespClient(s.port)
    assert c.call("SET", "k", "v") == "OK"
    assert c.call("SHUTDOWN", "bogus") == Err("ERR syntax error")
    assert c.call("PING") == "PONG", "a rejected SHUTDOWN leaves the server running"
    c.send(encode("SHUTDOWN", *mode))
    assert c.closed(10), "SHUTDOWN closes the connection without a reply"
    assert c.buf == b""
    c.close()
    rc = s.proc.wait(20)
    assert rc == 0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", s.port), timeout=1).close()


# --------------------------------------------------------------------------- RESP3 on the wire

def test_resp3_reply_types(server, c):
    assert c.call("HELLO", "3").get(b"proto") == 3
    assert c.call_bytes("CONFIG", "GET", "port") == (
        b"%%1\r\n$4\r\nport\r\n$%d\r\n%d\r\n" % (len(str(server.port)), server.port))
    assert c.call_bytes("CONFIG", "GET", "no-such-option") == b"%0\r\n"
    assert c.call_bytes("GET", "r3:missing") == b"_\r\n"
    assert c.call_bytes("CLIENT", "GETNAME") == b"_\r\n"
    assert c.call_bytes("SET", "r3:s", "v") == b"+OK\r\n"
    assert c.call_bytes("GET", "r3:s") == b"$1\r\nv\r\n"
    assert c.call_bytes("EXISTS", "r3:s") == b":1\r\n"
    assert c.call_bytes("MGET", "r3:s", "r3:missing") == b"*2\r\n$1\r\nv\r\n_\r\n"
    assert c.call_bytes("INCR", "r3:s").startswith(b"-ERR ")
    assert c.call_bytes("PING") == b"+PONG\r\n"
    # the same commands in RESP2
    assert pairs(c.call("HELLO", "2"))[b"proto"] == 2
    assert c.call_bytes("CONFIG", "GET", "no-such-option") == b"*0\r\n"
    assert c.call_bytes("GET", "r3:missing") == b"$-1\r\n"
    assert c.call_bytes("MGET", "r3:s", "r3:missing") == b"*2\r\n$1\r\nv\r\n$-1\r\n"


def test_resp3_collection_types(c):
    assert c.call("HELLO", "3").get(b"proto") == 3
    assert c.call_bytes("HSET", "r3:h", "f", "v") == b":1\r\n"
    assert c.call_bytes("HGETALL", "r3:h") == b"%1\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert c.call_bytes("SADD", "r3:set", "m") == b":1\r\n"
    assert c.call_bytes("SMEMBERS", "r3:set") == b"~1\r\n$1\r\nm\r\n"
    assert c.call_bytes("ZADD", "r3:z", "1.5", "m") == b":1\r\n"
    assert c.call_bytes("ZSCORE", "r3:z", "m") == b",1.5\r\n"
    assert c.call_bytes("RPUSH", "r3:l", "a") == b":1\r\n"
    assert c.call_bytes("LRANGE", "r3:l", "0", "-1") == b"*1\r\n$1\r\na\r\n"
    assert c.call_bytes("GET", "r3:h").startswith(b"-WRONGTYPE ")
    assert pairs(c.call("HELLO", "2"))[b"proto"] == 2
    assert c.call_bytes("HGETALL", "r3:h") == b"*2\r\n$1\r\nf\r\n$1\r\nv\r\n"
    assert c.call_bytes("SMEMBERS", "r3:set") == b"*1\r\n$1\r\nm\r\n"
    assert c.call_bytes("ZSCORE", "r3:z", "m") == b"$3\r\n1.5\r\n"
