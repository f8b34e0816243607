"""Hostile and careless clients: odd but legal frames, clients that vanish or never
read, and the memory a client can make the server hold. Each case checks the exact
reply Redis gives and that the server stays up.

Checked against redis-server 7.0.15 where the behaviour exists there:
SOLIDIS_BIN=/usr/bin/redis-server.
"""
import socket
import time

import pytest

from conftest import IS_REDIS
from helpers import Err, RespClient, encode, rss_kb


def test_negative_multibulk_count_is_an_empty_request(server, r):
    """Redis treats any multibulk count <= 0 ('*-5', '*-9223372036854775808') as
    an empty request, like '*0' and '*-1': nothing runs, no reply, and the
    connection stays in sync."""
    c = RespClient(server.port)
    c.send(encode("SET", "neg:a", "1") + b"*-5\r\n" + b"*-2\r\n" + encode("GET") +
           b"*-9223372036854775808\r\n" + encode("GET", "neg:a"))
    assert c.reply() == "OK"
    assert c.reply() == Err("ERR wrong number of arguments for 'get' command")
    assert c.reply() == b"1"
    # many of them in a row (more than the reader's compaction threshold)
    c.send(b"*-3\r\n" * 5000 + encode("PING"))
    assert c.reply() == "PONG"
    assert c.nothing_pending()
    c.close()


def send_until_closed(sock, chunk, max_bytes):
    """Send `chunk` until the server hangs up or `max_bytes` went out; returns the
    bytes sent and whether the server closed the connection."""
    sock.settimeout(5)
    sent = 0
    try:
        while sent < max_bytes:
            sock.sendall(chunk)
            sent += len(chunk)
    except (ConnectionResetError, BrokenPipeError):
        return sent, True
    except socket.timeout:
        return sent, False
    return sent, False


def hung_up(sock, timeout=5):
    """True when the server closes the connection within `timeout` seconds
    (whatever it sent before is read and dropped)."""
    deadline = time.time() + timeout
    sock.settimeout(timeout)
    try:
        while sock.recv(1 << 20):
            if time.time() > deadline:
                return False
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False
    return True


@pytest.mark.skipif(IS_REDIS, reason="Redis 7.2.8 behaviour (CVE-2025-21605); 7.0.15 lacks it")
def test_unauthenticated_client_that_never_reads_is_closed(make_server):
    """A client that is not authenticated, pipelines commands and never reads
    its replies must not make the server keep every NOAUTH error: it is closed
    once a little output waits, as Redis 7.2.8 does (CVE-2025-21605)."""
    s = make_server("--requirepass", "pw")
    before = rss_kb(s.proc.pid)
    sock = socket.create_connection(("127.0.0.1", s.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    # 7 bytes in, 34 bytes of "-NOAUTH Authentication required." out
    sent, closed = send_until_closed(sock, b"GET x\r\n" * 10000, 30 << 20)
    sock.close()
    assert closed, "server kept reading and buffering replies (%d MB sent)" % (sent >> 20)
    grown_mb = (rss_kb(s.proc.pid) - before) / 1024
    assert grown_mb < 50, "server RSS grew by %.0f MB" % grown_mb
    c = RespClient(s.port)
    assert c.call("AUTH", "pw") == "OK"
    # an authenticated client is a normal client: no output limit (Redis's
    # default client-output-buffer-limit normal 0 0 0)
    c.send(encode("SET", "big", "x" * 100000) + encode("GET", "big") * 100)
    assert c.reply() == "OK"
    assert c.replies(100)[-1] == b"x" * 100000
    assert c.call("PING") == "PONG"
    c.close()


def client_fields(port, name):
    """CLIENT LIST fields of the client named `name`, seen from another connection."""
    c = RespClient(port)
    listing = c.call("CLIENT", "LIST").decode().splitlines()
    c.close()
    line = next(l for l in listing if " name=%s " % name in l)
    return dict(kv.split("=", 1) for kv in line.split())


@pytest.mark.skipif(IS_REDIS, reason="Redis 7.4 counts MULTI queues; no Redis counts partial argv")
@pytest.mark.parametrize("how", ["multi", "partial"])
def test_query_buffer_limit_counts_input_that_left_the_buffer(make_server, how):
    """client-query-buffer-limit bounds what a client's unexecuted input holds,
    also once it has left the query buffer: a MULTI queue (as Redis 7.4) and the
    arguments of a multibulk request still arriving ('*2147483647' followed by
    arguments for ever). Both grew the server without bound."""
    s = make_server("--client-query-buffer-limit", "2mb")
    before = rss_kb(s.proc.pid)
    sock = socket.create_connection(("127.0.0.1", s.port))
    if how == "multi":
        sock.sendall(encode("MULTI"))
        chunk = encode("SET", "qbl:k", "v" * 10000) * 10
    else:
        sock.sendall(b"*2147483647\r\n" + encode("SET")[4:])
        chunk = b"$1\r\na\r\n" * 10000
    sent, closed = send_until_closed(sock, chunk, 50 << 20)
    sock.close()
    assert closed, "not closed after %d MB" % (sent >> 20)
    assert sent < 30 << 20
    assert (rss_kb(s.proc.pid) - before) / 1024 < 50
    c = RespClient(s.port)
    assert c.call("EXISTS", "qbl:k") == 0
    # within the limit all is well, and the count starts again after EXEC
    for _ in range(3):
        assert c.call("MULTI") == "OK"
        for i in range(15):
            assert c.call("SET", "qbl:k%d" % i, "v" * 100000) == "QUEUED"
        assert c.call("EXEC") == ["OK"] * 15
    assert c.call("STRLEN", "qbl:k14") == 100000
    c.close()


def test_client_list_shows_queued_and_partial_argument_memory(server, r):
    """CLIENT LIST reports the memory of a MULTI queue (multi-mem) and of an
    incomplete request's arguments (argv-mem), as Redis does."""
    c = RespClient(server.port)
    assert c.call("CLIENT", "SETNAME", "multi-mem") == "OK"
    assert c.call("MULTI") == "OK"
    assert c.call("SET", "mm:k", "v" * 5000) == "QUEUED"
    assert int(client_fields(server.port, "multi-mem")["multi-mem"]) >= 5000
    assert c.call("DISCARD") == "OK"
    assert int(client_fields(server.port, "multi-mem")["multi-mem"]) == 0
    c.close()
    p = RespClient(server.port)
    assert p.call("CLIENT", "SETNAME", "argv-mem") == "OK"
    p.send(b"*3\r\n$3\r\nSET\r\n$4000\r\n" + b"k" * 4000 + b"\r\n$5\r\nval")  # value unfinished
    time.sleep(0.1)
    assert int(client_fields(server.port, "argv-mem")["argv-mem"]) >= 4000
    p.send(b"ue\r\n")
    assert p.reply() == "OK"
    assert int(client_fields(server.port, "argv-mem")["argv-mem"]) == 0
    p.close()


def test_timeout_spares_subscribers(make_server):
    """`timeout` closes idle clients but, as in Redis, never a subscriber (RESP2
    or RESP3, channels or patterns), which idles while it waits for messages;
    once it unsubscribes from everything it is an ordinary client again."""
    s = make_server("--timeout", "1")
    sub = RespClient(s.port)
    assert sub.call("SUBSCRIBE", "ch") == [b"subscribe", b"ch", 1]
    psub = RespClient(s.port)
    assert psub.call("HELLO", "3")[0][0] == b"server"
    assert psub.call("PSUBSCRIBE", "p*")[:3] == [b"psubscribe", b"p*", 1]
    left = RespClient(s.port)
    assert left.call("SUBSCRIBE", "ch") == [b"subscribe", b"ch", 1]
    assert left.call("UNSUBSCRIBE") == [b"unsubscribe", b"ch", 0]
    idle = RespClient(s.port)
    assert idle.call("PING") == "PONG"
    assert idle.closed(4), "an idle client is closed after timeout 1"
    assert left.closed(1), "a client with no subscription left is an idle client"
    assert not sub.closed(0.5) and not psub.closed(0.1)
    p = RespClient(s.port)
    assert p.call("PUBLISH", "ch", "hi") == 1
    assert p.call("PUBLISH", "px", "hi") == 1
    assert sub.reply() == [b"message", b"ch", b"hi"]
    assert psub.reply()[:4] == [b"pmessage", b"p*", b"px", b"hi"]
    for c in (sub, psub, left, idle, p):
        c.close()


def test_client_list_line_is_complete_with_a_long_name(server, r):
    """A long client name (any length is allowed) must not cut the CLIENT
    INFO/LIST line short: every field and the newline follow the name."""
    c = RespClient(server.port)
    name = "n" * 5000
    assert c.call("CLIENT", "SETNAME", name) == "OK"
    info = c.call("CLIENT", "INFO").decode()
    assert info.endswith("\n") and info.count("\n") == 1
    fields = dict(kv.split("=", 1) for kv in info.split())
    assert fields["name"] == name
    assert fields["resp"] == "2" and fields["cmd"] == "client|info"
    listing = c.call("CLIENT", "LIST").decode()
    line = next(l for l in listing.splitlines() if " name=%s " % name in l)
    assert " resp=2" in line
    by_id = c.call("CLIENT", "LIST", "ID", fields["id"]).decode()
    assert by_id.endswith(" resp=2\n") or " resp=2 " in by_id
    assert dict(kv.split("=", 1) for kv in by_id.split())["name"] == name
    c.close()


@pytest.mark.skipif(IS_REDIS, reason="Redis runs EXEC before it reads the disconnect: no such window")
def test_subscribe_in_exec_of_a_client_that_left(server, r):
    """A client queues SUBSCRIBE/PSUBSCRIBE in a transaction and disconnects
    while its EXEC runs: the subscriptions take effect after it went away and
    must not keep the gone client registered (a PUBLISH then used freed
    memory)."""
    c = RespClient(server.port)
    slow = encode("RPUSH", "sg:list", *(["x" * 10] * 300000))  # keeps the writer busy
    raced = 0
    for attempt in range(5):
        assert c.call("DEL", "sg:list") in (0, 1)
        s = RespClient(server.port)
        assert s.call("CLIENT", "SETNAME", "sg-gone") == "OK"
        s.send(encode("MULTI") + slow + encode("SUBSCRIBE", "sg:ch") + encode("PSUBSCRIBE", "sg:*") +
               encode("EXEC"))
        deadline = time.time() + 10
        while b"name=sg-gone age" in c.call("CLIENT", "LIST") and time.time() < deadline:
            line = [l for l in c.call("CLIENT", "LIST").split(b"\n") if b"name=sg-gone " in l]
            if line and b"cmd=exec" in line[0]:
                break
        s.close()
        if c.call("LLEN", "sg:list") == 0:
            raced += 1  # closed before the EXEC committed: the case under test
        while c.call("LLEN", "sg:list") == 0 and time.time() < deadline:
            time.sleep(0.01)
        time.sleep(0.05)
        assert c.call("PUBLISH", "sg:ch", "hello") == 0
        assert c.call("PUBSUB", "NUMSUB", "sg:ch") == [b"sg:ch", 0]
        assert c.call("PUBSUB", "NUMPAT") == 0
        if raced >= 2:
            break
    assert raced, "the client never closed before its EXEC committed"
    assert c.call("PING") == "PONG"
    c.close()


@pytest.mark.parametrize("start", [b"+", b":", b"-", b"*"])
def test_unterminated_element_line_is_refused_at_64k(server, r, start):
    """An element that is not a bulk ('+', ':', '-', a nested '*') whose line
    never ends is refused once 64 KB arrived, as Redis does (it reads to the CR
    before it looks at the type); it was buffered up to the 1 GB query buffer
    limit."""
    c = RespClient(server.port)
    c.send(encode("SET", "ue:before", "1") + b"*2\r\n$4\r\nECHO\r\n" + start + b"1" * 70000)
    assert c.reply() == "OK"
    assert c.reply() == Err("ERR Protocol error: too big bulk count string")
    assert c.closed()
    c.close()
    assert r.get("ue:before") == b"1"


def drain(sock, nbytes, timeout):
    """Read exactly nbytes within `timeout` seconds; returns them."""
    sock.settimeout(timeout)
    deadline = time.time() + timeout
    got = []
    n = 0
    while n < nbytes and time.time() < deadline:
        d = sock.recv(1 << 20)
        if not d:
            break
        got.append(d)
        n += len(d)
    return b"".join(got)


@pytest.mark.parametrize("inline", [False, True])
def test_input_piled_up_while_blocked_is_parsed_in_linear_time(server, r, inline):
    """A blocked client keeps being read; what it sends meanwhile waits in its
    query buffer. Once it is served, that input must be parsed in time linear
    in its size: 3M pipelined PINGs (40 MB) took about half a minute of the net
    thread (every other client stalled), as each consumed KB moved the whole
    remaining buffer; 5M inline PINGs (30 MB) over 10 s."""
    n = 5000000 if inline else 3000000
    s = socket.create_connection(("127.0.0.1", server.port))
    s.sendall(encode("BLPOP", "lin:list", "0"))
    s.sendall((b"PING\r\n" if inline else encode("PING")) * n)
    c = RespClient(server.port)
    time.sleep(0.3)  # let the server read it all into the blocked client's buffer
    t0 = time.time()
    assert c.call("RPUSH", "lin:list", "x") == 1
    popped = b"*2\r\n$8\r\nlin:list\r\n$1\r\nx\r\n"
    got = drain(s, len(popped) + 7 * n, 20)
    took = time.time() - t0
    assert got == popped + b"+PONG\r\n" * n
    assert took < 8, "%d pipelined PINGs took %.1fs" % (n, took)
    assert c.call("PING") == "PONG"
    s.close()
    c.close()


@pytest.mark.parametrize("resp", [2, 3])
def test_pubsub_output_limit_covers_command_replies(server, r, resp):
    """client-output-buffer-limit pubsub (32mb hard by default) covers all the
    output of a subscriber, not only its messages: a subscribed client that
    pipelines commands and never reads is closed, as in Redis."""
    big = b"x" * (1 << 20)
    assert r.set("obl:big", big)
    sock = socket.create_connection(("127.0.0.1", server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    if resp == 3:
        sock.sendall(encode("HELLO", "3") + encode("SUBSCRIBE", "obl:ch"))
        cmd = encode("GET", "obl:big")
    else:  # RESP2 subscribed mode allows PING: it echoes its argument
        sock.sendall(encode("SUBSCRIBE", "obl:ch"))
        cmd = encode("PING", big)
    before = rss_kb(server.proc.pid)
    # 100 MB of replies at most (bounded, so that a server without the limit
    # only holds them instead of running out of memory)
    sent, closed = send_until_closed(sock, cmd * 100, len(cmd) * 100)
    closed = closed or hung_up(sock)
    sock.close()
    assert closed, "a subscriber's output grew past the pubsub limit"
    assert (rss_kb(server.proc.pid) - before) / 1024 < 200
    c = RespClient(server.port)
    assert c.call("PUBSUB", "NUMSUB", "obl:ch") == [b"obl:ch", 0]
    c.close()
