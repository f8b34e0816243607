"""Hostile and careless clients: odd but legal frames, clients that vanish or never
read, and the memory a client can make the server hold. Each case checks the exact
reply Redis gives and that the server stays up.

Checked against redis-server 7.0.15 where the behaviour exists there:
SOLIDIS_BIN=/usr/bin/redis-server.
"""
import time

import pytest

from helpers import Err, RespClient, encode


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
