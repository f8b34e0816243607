"""Wire-protocol tests: inline and multibulk parsing, pipelining, binary safety,
protocol errors (exact Redis texts), hostile clients, and many idle connections.

Every hostile case ends by checking, through a fresh client, that data written
before by another client is still there and the server still answers.

Checked against redis-server 7.0.15: SOLIDIS_BIN=/usr/bin/redis-server.
"""
import os
import random
import re
import resource
import shutil
import socket
import subprocess
import threading
import time

import pytest

from conftest import ROOT
from helpers import Err, RespClient, Status, encode, parse_info, raw_conn, read_until, rss_kb


# --------------------------------------------------------------------------- helpers

def write_sentinel(server):
    """Data written by 'another client' before a hostile case: two dbs, a binary value
    (strings only, so these tests exercise the protocol and nothing else)."""
    c = RespClient(server.port)
    assert c.call("SET", "sentinel:str", "still-here") == "OK"
    assert c.call("SET", b"sentinel:bin\x00", b"\x00\xff\r\n") == "OK"
    assert c.call("MSET", "sentinel:a", "1", "sentinel:b", "2", "sentinel:c", "3") == "OK"
    assert c.call("SELECT", "1") == "OK"
    assert c.call("SET", "sentinel:db1", "one") == "OK"
    c.close()


def assert_sentinel_intact(server):
    """A fresh client still reads everything write_sentinel() wrote."""
    c = RespClient(server.port)
    assert c.call("PING") == "PONG"
    assert c.call("GET", "sentinel:str") == b"still-here"
    assert c.call("GET", b"sentinel:bin\x00") == b"\x00\xff\r\n"
    assert c.call("MGET", "sentinel:a", "sentinel:b", "sentinel:c") == [b"1", b"2", b"3"]
    assert c.call("SELECT", "1") == "OK"
    assert c.call("GET", "sentinel:db1") == b"one"
    c.close()


def connected_clients(server):
    c = RespClient(server.port)
    info = parse_info(c.call("INFO", "clients"))
    c.close()
    assert "connected_clients" in info, info
    return int(info["connected_clients"])


def local_port(sock):
    return sock.getsockname()[1]


def wait_gone(server, ports, timeout=10):
    """Poll CLIENT LIST until none of our (closed) local ports is listed; returns the
    ports still listed when the time ran out."""
    want = {"127.0.0.1:%d" % p for p in ports}
    deadline = time.time() + timeout
    while True:
        c = RespClient(server.port)
        listing = c.call("CLIENT", "LIST").decode()
        c.close()
        addrs = set(re.findall(r"\baddr=(\S+)", listing))
        left = want & addrs
        if not left or time.time() > deadline:
            return sorted(left)
        time.sleep(0.05)


PROTO_ERR = "ERR Protocol error: "


# --------------------------------------------------------------------------- inline

def test_inline_commands_basic(server, r):
    c = RespClient(server.port)
    # CRLF and bare LF both end an inline command; empty lines are ignored.
    c.send(b"PING\r\n\r\n\nSET inl:k hello\nGET inl:k\r\n  ping  \r\n")
    assert c.reply() == Status("PONG")
    assert c.reply() == Status("OK")
    assert c.reply() == b"hello"
    assert c.reply() == Status("PONG")  # command names are case-insensitive, blanks trimmed
    c.close()
    assert r.get("inl:k") == b"hello"


def test_inline_echo_two_args_is_arity_error(server, r):
    c = RespClient(server.port)
    c.send(b"ECHO  spaced   out \r\n")
    assert c.reply() == Err("ERR wrong number of arguments for 'echo' command")
    c.send(b"ECHO \t  spaced\t \r\n")
    assert c.reply() == b"spaced"
    c.close()


def test_inline_quotes_and_escapes(server, r):
    c = RespClient(server.port)
    c.send(b'SET "a b" \'c d\'\r\n')
    assert c.reply() == "OK"
    c.send(b'GET "a b"\r\n')
    assert c.reply() == b"c d"
    c.send(b'ECHO "\\x41\\x42\\n\\t\\r\\\\\\"\\xff\\x00z"\r\n')
    assert c.reply() == b'AB\n\t\r\\"\xff\x00z'
    c.send(b"ECHO 'it\\'s'\r\n")  # only \' is an escape inside single quotes
    assert c.reply() == b"it's"
    c.send(b"ECHO 'a\\nb'\r\n")
    assert c.reply() == b"a\\nb"
    c.send(b'ECHO ""\r\n')
    assert c.reply() == b""
    c.send(b'ECHO "\\xZZ"\r\n')  # not a valid hex escape: kept as 'xZZ'
    assert c.reply() == b"xZZ"
    c.send(b"SET 'x\"y' \"caf\\xc3\\xa9\"\r\n")
    assert c.reply() == "OK"
    c.close()
    assert r.get("a b") == b"c d"
    assert r.get('x"y') == "caf\u00e9".encode()


@pytest.mark.parametrize("line", [
    b'ECHO "abc\r\n',
    b"ECHO 'abc\r\n",
    b'ECHO "a"b\r\n',   # closing quote must be followed by a space
    b"SET k 'v'x\r\n",
])
def test_inline_unbalanced_quotes_closes(server, r, line):
    write_sentinel(server)
    c = RespClient(server.port)
    c.send(b"SET uq:before 1\r\n" + line + b"SET uq:after 1\r\n")
    assert c.reply() == "OK"
    assert c.reply() == Err(PROTO_ERR + "unbalanced quotes in request")
    assert c.closed(), "connection must be closed after a protocol error"
    c.close()
    assert r.get("uq:before") == b"1"
    assert r.exists("uq:after") == 0, "bytes after a protocol error must not be executed"
    assert r.exists("k") == 0
    assert_sentinel_intact(server)


def test_inline_too_big(server, r):
    write_sentinel(server)
    c = RespClient(server.port)
    c.send(b"a" * (70 * 1024))  # no newline, more than 64 KiB
    assert c.reply() == Err(PROTO_ERR + "too big inline request")
    assert c.closed()
    c.close()
    assert_sentinel_intact(server)


def test_inline_pipelined(server, r):
    c = RespClient(server.port)
    n = 2000
    c.send(b"".join(b"INCR inl:ctr\r\n" for _ in range(n)) + b"GET inl:ctr\n")
    for i in range(1, n + 1):
        assert c.reply() == i
    assert c.reply() == str(n).encode()
    c.close()


# --------------------------------------------------------------------------- multibulk

def test_multibulk_byte_by_byte(server, r):
    c = RespClient(server.port)
    data = encode("SET", "bb:key", "value with\r\nCRLF") + encode("GET", "bb:key")
    for i in range(len(data)):
        c.send(data[i:i + 1])
        if i % 7 == 0:
            time.sleep(0.001)  # make sure the server really sees many tiny reads
    assert c.reply() == "OK"
    assert c.reply() == b"value with\r\nCRLF"
    # inline, byte by byte too
    for b in b"ECHO 'one byte'\r\n":
        c.send(bytes([b]))
        time.sleep(0.0005)
    assert c.reply() == b"one byte"
    c.close()


def test_multibulk_split_everywhere(server, r):
    """Many commands, split into chunks of every size from 1 to 13 bytes."""
    c = RespClient(server.port)
    cmds = [encode("SET", "sp:%d" % i, "x" * i + "\r\n" + str(i)) for i in range(60)]
    data = b"".join(cmds) + encode("DBSIZE")
    pos, size = 0, 1
    while pos < len(data):
        c.send(data[pos:pos + size])
        pos += size
        size = size % 13 + 1
        if pos % 50 < 13:
            time.sleep(0.0005)
    for _ in range(60):
        assert c.reply() == "OK"
    assert c.reply() == 60
    for i in (0, 1, 17, 59):
        assert r.get("sp:%d" % i) == ("x" * i + "\r\n" + str(i)).encode()
    c.close()


def test_pipeline_10000_in_one_write(server, r):
    n = 10000
    parts = []
    for i in range(n // 2):
        parts.append(encode("SET", "pl:%d" % i, "val:%d" % i))
        parts.append(encode("GET", "pl:%d" % i))
    data = b"".join(parts) + encode("DBSIZE")
    c = RespClient(server.port, timeout=30)
    replies = []
    errors = []

    def reader():
        try:
            for _ in range(n + 1):
                replies.append(c.reply())
        except Exception as e:  # surfaced by the assertions below
            errors.append(e)

    t = threading.Thread(target=reader)
    t.start()
    c.send(data)  # a single sendall of the whole pipeline
    t.join(30)
    assert not t.is_alive(), "replies did not all arrive"
    assert not errors, errors
    assert len(replies) == n + 1
    for i in range(n // 2):
        assert replies[2 * i] == "OK", (i, replies[2 * i])
        assert replies[2 * i + 1] == b"val:%d" % i, (i, replies[2 * i + 1])
    assert replies[n] == n // 2
    c.close()


def test_empty_and_null_multibulk_are_ignored(server, r):
    c = RespClient(server.port)
    c.send(b"*0\r\n*-1\r\n" + encode("PING"))
    assert c.reply() == "PONG"
    c.send(encode("ECHO", ""))
    assert c.reply() == b""
    c.close()


# --------------------------------------------------------------------------- binary safety

def test_binary_safe_keys_and_values(server, r):
    all_bytes = bytes(range(256))
    c = RespClient(server.port)
    key = b"bin:\x00\r\n\xff" + all_bytes
    val = all_bytes * 3 + b"\r\n$5\r\n*1\r\n"  # looks like protocol, must stay data
    assert c.call("SET", key, val) == "OK"
    assert c.call("GET", key) == val
    assert c.call("STRLEN", key) == len(val)
    assert c.call("ECHO", b"\x00") == b"\x00"
    assert c.call("ECHO", b"") == b""
    assert c.call("EXISTS", b"bin:\x00\r\n\xff") == 0, "key must not be truncated at NUL"
    big = os.urandom(1 << 20) + b"\x00\r\n"
    assert c.call("SET", b"bin:big", big) == "OK"
    assert c.call("GET", b"bin:big") == big
    assert c.call("EXISTS", key, b"bin:big") == 2
    assert c.call("DBSIZE") == 2
    c.close()
    assert r.get(key) == val


# --------------------------------------------------------------------------- protocol errors

PROTOCOL_ERRORS = [
    (b"*abc\r\n", "invalid multibulk length"),
    (b"*-5x\r\n", "invalid multibulk length"),
    (b"*2147483648\r\n", "invalid multibulk length"),
    (b"*1\r\n$-5\r\n", "invalid bulk length"),
    (b"*1\r\n$-1\r\n", "invalid bulk length"),
    (b"*1\r\n$abc\r\n", "invalid bulk length"),
    (b"*1\r\n$9999999999999999999999\r\n", "invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "invalid bulk length"),  # default proto-max-bulk-len 512mb
    (b"*1\r\n:5\r\n", "expected '$', got ':'"),
    (b"*2\r\n$4\r\nECHO\r\n+x\r\n", "expected '$', got '+'"),
    (b"*" + b"1" * 70000, "too big mbulk count string"),
    (b"*1\r\n$" + b"1" * 70000, "too big bulk count string"),
]


@pytest.mark.parametrize("bad,msg", PROTOCOL_ERRORS,
                         ids=[m + ":" + repr(b[:12]) for b, m in PROTOCOL_ERRORS])
def test_protocol_error_replies_and_closes(server, r, bad, msg):
    write_sentinel(server)
    c = RespClient(server.port)
    # A trailing command is appended to prove nothing after the error runs, except
    # after an unterminated count line where it would end the line.
    after = b"" if b"\r\n" not in bad[-2:] else encode("SET", "pe:after", "1")
    c.send(encode("SET", "pe:before", "1") + bad + after)
    assert c.reply() == "OK"
    assert c.reply() == Err(PROTO_ERR + msg)
    assert c.closed(), "server must close the connection after a protocol error"
    c.close()
    assert r.get("pe:before") == b"1"
    assert r.exists("pe:after") == 0
    assert_sentinel_intact(server)


def test_huge_bulk_rejected_before_payload(make_server):
    """A bulk longer than proto-max-bulk-len is refused as soon as its header arrives."""
    s = make_server("--proto-max-bulk-len", "1048576")
    write_sentinel(s)
    c = RespClient(s.port)
    c.send(b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$1048577\r\n")  # header only, no payload sent
    assert c.reply() == Err(PROTO_ERR + "invalid bulk length")
    assert c.closed()
    c.close()
    # exactly the limit is fine
    ok = RespClient(s.port)
    payload = b"\xab" * 1048576
    assert ok.call("SET", "big", payload) == "OK"
    assert ok.call("STRLEN", "big") == 1048576
    ok.close()
    assert_sentinel_intact(s)


def test_huge_multibulk_count_is_not_preallocated(server, r):
    """*2147483647 is a legal count (<= INT_MAX); the server must wait for the
    arguments without reserving room for all of them up front."""
    write_sentinel(server)
    before = rss_kb(server.proc.pid)
    conns = []
    for _ in range(20):
        c = RespClient(server.port)
        c.send(b"*2147483647\r\n$4\r\nECHO\r\n")
        conns.append(c)
    c = RespClient(server.port)
    c.send(b"*1048577\r\n")
    conns.append(c)
    ports = [local_port(c.sock) for c in conns]
    time.sleep(0.3)
    for c in conns:
        assert not c.closed(timeout=0.05), "a count within INT_MAX is not an error"
        assert c.buf == b"", "no reply before the command is complete"
    assert_sentinel_intact(server)
    grown_mb = (rss_kb(server.proc.pid) - before) / 1024
    assert grown_mb < 100, "server RSS grew by %.0f MB for 21 unfinished headers" % grown_mb
    for c in conns:
        c.close()
    assert wait_gone(server, ports) == [], "closed connections were not reaped"


def test_half_command_then_disconnect(server, r):
    write_sentinel(server)
    halves = [
        b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5\r\nab",   # payload cut short
        b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n",            # last arg missing
        b"*3\r\n$3\r\nSET\r\n$4\r\nha",                  # inside a key
        b"*3\r\n$3",                                        # inside a length
        b"*3",                                              # inside the count
        b"SET half value",                                  # inline without newline
        b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$100000\r\n" + b"z" * 50000,  # big bulk, half sent
    ]
    ports = []
    for h in halves:
        c = RespClient(server.port)
        ports.append(local_port(c.sock))
        c.send(encode("SET", "half:ok", "1") + h)
        assert c.reply() == "OK"
        c.close()
    # one more that closes only the writing side, then waits for the server to hang up
    c = RespClient(server.port)
    c.send(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$5\r\nab")
    c.sock.shutdown(socket.SHUT_WR)
    assert c.closed(), "server should close a half-closed connection with an incomplete command"
    c.close()
    assert wait_gone(server, ports) == [], "dead connections were not reaped"
    assert r.exists("half") == 0, "an incomplete command must never run"
    assert r.get("half:ok") == b"1"
    assert_sentinel_intact(server)


def test_garbage_bytes(server, r):
    write_sentinel(server)
    rnd = random.Random(1234)
    blobs = [b"\x00\x01\xff garbage\r\n", b"\xff" * 1000, b"\r\n" * 500 + b"\x00",
             b"*\xff\xfe\r\n", b"$5\r\nhello\r\n", b"GET\x00 a\r\n",
             bytes(rnd.randrange(256) for _ in range(20000))]
    blobs += [bytes(rnd.randrange(256) for _ in range(rnd.randrange(1, 3000))) for _ in range(30)]
    for b in blobs:
        c = RespClient(server.port)
        try:
            c.send(b)
            time.sleep(0.002)
        except OSError:
            pass  # the server may already have hung up on us: that is fine
        c.close()
    assert_sentinel_intact(server)
    # blank lines are not garbage: they are skipped and the connection stays in sync
    c = RespClient(server.port)
    c.send(b"\r\n\r\n   \r\n")
    assert c.call("GET", "sentinel:str") == b"still-here"
    c.close()


# --------------------------------------------------------------------------- error texts

def test_unknown_command_text(server, r):
    c = RespClient(server.port)
    c.send(b"foo a b\r\n")
    assert c.read_raw(b"\r\n") == b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
    c.send(encode("foo", "a", "b"))
    assert c.read_raw(b"\r\n") == b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n"
    c.send(encode("FooBar"))
    assert c.read_raw(b"\r\n") == b"-ERR unknown command 'FooBar', with args beginning with: \r\n"
    c.send(b"foo 'a b'\r\n")
    assert c.read_raw(b"\r\n") == b"-ERR unknown command 'foo', with args beginning with: 'a b' \r\n"
    # connection is still usable
    assert c.call("PING") == "PONG"
    c.close()


def test_unknown_command_text_truncation_and_newlines(server, r):
    c = RespClient(server.port)
    # the name is cut to 128 bytes; the args part stops once it reaches 128 bytes
    assert c.call("F" * 200, "a" * 200, "b") == Err(
        "ERR unknown command '%s', with args beginning with: '%s' " % ("F" * 128, "a" * 128))
    assert c.call("foo", "a" * 100, "b" * 100, "c") == Err(
        "ERR unknown command 'foo', with args beginning with: '%s' '%s' " % ("a" * 100, "b" * 25))
    # CR/LF inside an echoed argument must not break the reply framing
    assert c.call("foo", "x\r\ny") == Err("ERR unknown command 'foo', with args beginning with: 'x  y' ")
    assert c.call("PING") == "PONG"
    c.close()


def test_wrong_arity_text(server, r):
    c = RespClient(server.port)
    assert c.call("GET") == Err("ERR wrong number of arguments for 'get' command")
    assert c.call("gEt") == Err("ERR wrong number of arguments for 'get' command")
    assert c.call("GET", "a", "b") == Err("ERR wrong number of arguments for 'get' command")
    assert c.call("SET", "a") == Err("ERR wrong number of arguments for 'set' command")
    assert c.call("PING", "a", "b") == Err("ERR wrong number of arguments for 'ping' command")
    assert c.call("CONFIG", "GET") == Err("ERR wrong number of arguments for 'config|get' command")
    assert c.call("CONFIG", "xyz") == Err("ERR unknown subcommand 'xyz'. Try CONFIG HELP.")
    assert c.call("CLIENT", "foo") == Err("ERR unknown subcommand 'foo'. Try CLIENT HELP.")
    assert c.call("EXISTS", "a") == 0, "no side effects, connection still in sync"
    c.close()


def test_auth_limits_on_unauthenticated_clients(make_server):
    """Before AUTH, Redis refuses >10 args and bulks >16 KiB (protects against
    unauthenticated memory use)."""
    s = make_server("--requirepass", "pw")
    c = RespClient(s.port)
    c.send(b"*11\r\n")
    assert c.reply() == Err(PROTO_ERR + "unauthenticated multibulk length")
    assert c.closed()
    c.close()
    c = RespClient(s.port)
    c.send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n")
    assert c.reply() == Err(PROTO_ERR + "unauthenticated bulk length")
    assert c.closed()
    c.close()
    c = RespClient(s.port)
    assert c.call("GET", "x") == Err("NOAUTH Authentication required.")
    assert c.call("AUTH", "pw") == "OK"
    assert c.call("ECHO", "a" * 20000) == b"a" * 20000  # limits are lifted after AUTH
    assert c.call("MSET", *(["k", "v"] * 10)) == "OK"
    c.close()


# --------------------------------------------------------------------------- many clients

def test_1000_idle_connections(server, r):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200:
        pytest.skip("ulimit -n is %d; need at least 1200" % soft)
    write_sentinel(server)
    worker = RespClient(server.port)
    conns = []
    try:
        for i in range(1000):
            conns.append(raw_conn(server.port))
            if i % 100 == 0:  # another client keeps working while connections pile up
                assert worker.call("SET", "idle:%d" % i, str(i)) == "OK"
                assert worker.call("GET", "idle:%d" % i) == str(i).encode()
        assert connected_clients(server) >= 1001
        assert worker.call("INCR", "idle:ctr") == 1
        # a few of the idle ones still work
        for s in random.Random(7).sample(conns, 10) + [conns[0], conns[-1]]:
            s.sendall(encode("PING"))
            assert read_until(s, b"\r\n") == b"+PONG\r\n"
    finally:
        ports = [local_port(s) for s in conns]
        for s in conns:
            s.close()
    worker.close()
    assert wait_gone(server, ports) == [], "closed connections were not reaped"
    assert r.get("idle:900") == b"900"
    assert_sentinel_intact(server)


# --------------------------------------------------------------------------- hiredis

def hiredis_binary(tmp_path):
    built = os.path.join(ROOT, "bin", "test-hiredis-pipeline")
    if os.path.exists(built) and os.access(built, os.X_OK):
        return built
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler and no bin/test-hiredis-pipeline")
    out = str(tmp_path / "test-hiredis-pipeline")
    src = os.path.join(os.path.dirname(__file__), "hiredis_pipeline.c")
    p = subprocess.run([cc, "-O2", "-Wall", "-o", out, src, "-lhiredis"], capture_output=True)
    if p.returncode != 0:
        if b"hiredis" in p.stderr and (b"No such file" in p.stderr or b"cannot find" in p.stderr):
            pytest.skip("hiredis development files not installed")
        raise AssertionError("compiling hiredis_pipeline.c failed:\n" + p.stderr.decode())
    return out


def test_hiredis_pipeline(server, r, tmp_path):
    exe = hiredis_binary(tmp_path)
    p = subprocess.run([exe, str(server.port)], capture_output=True, timeout=60)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()
    assert p.stdout.strip() == b"hiredis pipeline ok"
    assert r.dbsize() == 10001
    assert r.get("k:9999") == b"v:9999"
    assert r.get(b"bin\x00key") == b"a\x00\r\n\xffz"
