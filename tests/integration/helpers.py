"""Helpers shared by the integration tests: `from helpers import ...`.

pytest puts this folder on sys.path for conftest.py (rootdir-relative "prepend"
import mode), so the plain import works from every test module, as `from conftest
import ...` does.

- redis-py level: raw() sends one command past redis-py's reply callbacks, err()
  returns the error text a command must fail with.
- wire level: encode() builds a RESP multibulk; RespClient is a plain socket with
  a RESP2/RESP3 reply parser that answers values, (type, payload) trees or the
  exact bytes of each reply.
- polling, INFO text, process memory.
- job queue (JOB.*): J() and add/fetch/get/stats wrappers, as_map() for flat
  field lists, a Fetcher thread for blocking fetches and wait_blocked().
- S3rver: a local S3-compatible server for the replication tests.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest
import redis

# Error texts as redis-py reports them: it strips a leading "ERR " and keeps other
# codes (WRONGTYPE ...).
NOT_INT = "value is not an integer or out of range"
NOT_FLOAT = "value is not a valid float"
OVERFLOW = "increment or decrement would overflow"
SYNTAX = "syntax error"
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
LLONG_MAX = 9223372036854775807
LLONG_MIN = -9223372036854775808


# --------------------------------------------------------------------------- redis-py

def raw(r, *args):
    """Send one command and return the reply as parsed by the protocol layer only
    (no redis-py response callbacks: +OK stays b"OK", floats stay bulk strings).
    Works on pooled and on single_connection_client clients."""
    if r.connection is not None:  # single_connection_client
        r.connection.send_command(*args)
        return r.connection.read_response()
    conn = r.connection_pool.get_connection(args[0])
    try:
        conn.send_command(*args)
        return conn.read_response()
    finally:
        r.connection_pool.release(conn)


def err(r, *args):
    """Run a command that must fail; return the error text (without the 'ERR ' prefix)."""
    with pytest.raises(redis.ResponseError) as e:
        raw(r, *args)
    return str(e.value)


def now_ms():
    return int(time.time() * 1000)


def drain(ps, want, timeout=3.0):
    """Collect the (channel, data) pairs of a redis-py pubsub until `want`
    messages arrived or `timeout` seconds passed."""
    got = []
    deadline = time.time() + timeout
    while len(got) < want and time.time() < deadline:
        m = ps.get_message(timeout=0.1)
        if m and m["type"] in ("message", "pmessage"):
            got.append((m["channel"], m["data"]))
    return got


def psubscribed(server, pattern):
    """Generator for a fixture: a redis-py pubsub of a new connection,
    subscribed to `pattern`; closed after the test."""
    sub = server.client()
    ps = sub.pubsub()
    ps.psubscribe(pattern)
    assert ps.get_message(timeout=2)["type"] == "psubscribe"
    yield ps
    ps.close()
    sub.close()


def wait_for(pred, timeout=5.0, interval=0.02):
    """Poll pred() until it is true or `timeout` seconds have passed; returns its
    last answer (so `assert wait_for(...)` fails on a timeout)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(interval)
    return pred()


# --------------------------------------------------------------------------- INFO, /proc

def parse_info(text):
    """INFO text -> {field: value as str}."""
    if isinstance(text, bytes):
        text = text.decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and ":" in line:
            k, v = line.split(":", 1)
            out[k] = v
    return out


def info_sections(text):
    """INFO text -> its section names, lower case, in order."""
    if isinstance(text, bytes):
        text = text.decode()
    return [l[2:].strip().lower() for l in text.splitlines() if l.startswith("# ")]


def rss_kb(pid):
    """Resident memory of a process, from /proc (kB)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for pid %d" % pid)


# --------------------------------------------------------------------------- wire level

def raw_conn(port):
    """A plain socket for protocol-level tests."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def read_until(sock, n_bytes_or_marker, timeout=10):
    """Read until the buffer contains the marker (bytes) or reaches n bytes, or EOF."""
    sock.settimeout(timeout)
    buf = b""
    while True:
        if isinstance(n_bytes_or_marker, bytes) and n_bytes_or_marker in buf:
            return buf
        if isinstance(n_bytes_or_marker, int) and len(buf) >= n_bytes_or_marker:
            return buf
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return buf
        if not chunk:
            return buf
        buf += chunk


# The reply to EXEC after a command failed to queue (raw wire bytes).
EXECABORT = b"-EXECABORT Transaction discarded because of previous errors.\r\n"


def encode(*args):
    """Encode one command as a RESP multibulk (str and numbers as their text)."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Err(str):
    """An error reply (text without the leading '-')."""


class Status(str):
    """A simple-string reply (text without the leading '+')."""


class Push(list):
    """A RESP3 push frame ('>')."""


class SetReply(list):
    """A RESP3 set reply ('~')."""


class Map(list):
    """A RESP3 map reply ('%'), as a list of (key, value) pairs in wire order."""

    def get(self, key, default=None):
        for k, v in self:
            if k == key:
                return v
        return default


LINE_TYPES = (b"+", b"-", b":", b"_", b",", b"#", b"(")
BULK_TYPES = (b"$", b"=", b"!")
ARRAY_TYPES = (b"*", b"~", b">")
MAP_TYPES = (b"%", b"|")


class RespClient:
    """A plain socket plus an incremental RESP2/RESP3 reply parser.

    `replies` picks what reply() and call() answer:
      "values": Status / Err for simple strings and errors, int, bytes or None for
                bulk strings, lists for arrays (Push for '>', SetReply for '~'), Map
                for '%', None for '_', float for ',', bool for '#';
      "tagged": (type byte, payload) trees, so frame kinds can be asserted: a line
                reply is (t, rest of the line), a bulk (t, bytes or None), an
                array (t, [trees] or None), a map (t, [(key tree, value tree)]);
      "bytes":  the exact bytes of each reply (pipeline() joins them).
    `buf` always holds what was received and not yet consumed.
    """

    def __init__(self, port, timeout=10, replies="values", nodelay=True, rcvbuf=None):
        assert replies in ("values", "tagged", "bytes"), replies
        self.sock = raw_conn(port)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        if nodelay:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timeout = timeout
        self.mode = replies
        self.buf = b""

    # ---- sending

    def send(self, data):
        self.sock.sendall(data)

    def send_command(self, *args):
        self.send(encode(*args))

    def call(self, *args):
        self.send_command(*args)
        return self.reply()

    def call_bytes(self, *args):
        """Send a command and return the exact bytes of its (single) reply."""
        self.send_command(*args)
        return self.reply("bytes")

    def pipeline(self, *cmds):
        """Send all commands in one write; return their replies (a list; in "bytes"
        mode the concatenated bytes)."""
        self.send(b"".join(encode(*c) for c in cmds))
        got = self.replies(len(cmds))
        return b"".join(got) if self.mode == "bytes" else got

    # ---- reading

    def reply(self, mode=None):
        """Read one reply, as `mode` or the client's `replies` says."""
        mode = mode or self.mode
        value, end = self._parse(0, mode)
        got, self.buf = self.buf[:end], self.buf[end:]
        return got if mode == "bytes" else value

    def replies(self, n):
        return [self.reply() for _ in range(n)]

    def line(self):
        """Consume and return one line, without its CRLF."""
        eol = self._eol(0)
        got, self.buf = self.buf[:eol], self.buf[eol + 2:]
        return got

    def read_raw(self, marker):
        """Raw bytes up to and including the first marker."""
        while marker not in self.buf:
            self._fill()
        i = self.buf.index(marker) + len(marker)
        got, self.buf = self.buf[:i], self.buf[i:]
        return got

    def nothing_pending(self, wait=0.2):
        """True when nothing is buffered and nothing arrives within `wait` seconds."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        self.buf += chunk
        return False

    def closed(self, timeout=5):
        """True when the server closes the connection within `timeout` seconds
        (pending bytes are drained into buf)."""
        self.sock.settimeout(timeout)
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        finally:
            self.sock.settimeout(self.timeout)
        return False

    def close(self):
        self.sock.close()

    # ---- the parser: works on offsets into buf and consumes nothing itself

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise ConnectionError("connection closed by server; buffered %r" % self.buf[:200])
        self.buf += chunk

    def _eol(self, pos):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            self._fill()

    def _parse(self, pos, mode):
        """Parse the reply starting at buf[pos]; return (reply, offset after it).
        In "bytes" mode the reply is None: the caller slices buf."""
        eol = self._eol(pos)
        t, rest = self.buf[pos:pos + 1], self.buf[pos + 1:eol]
        end = eol + 2
        if t in BULK_TYPES:
            n = int(rest)
            data = None
            if n >= 0:
                while len(self.buf) < end + n + 2:
                    self._fill()
                data, end = self.buf[end:end + n], end + n + 2
            if mode == "tagged":
                return (t, data), end
            if t == b"!" and data is not None:
                return Err(data.decode("utf-8", "replace")), end
            return data, end
        if t in ARRAY_TYPES or t in MAP_TYPES:
            n = int(rest)
            if n < 0 and t in ARRAY_TYPES:
                return ((t, None) if mode == "tagged" else None), end
            items = []
            for _ in range(max(n, 0) * (2 if t in MAP_TYPES else 1)):
                item, end = self._parse(end, mode)
                items.append(item)
            if mode == "bytes":
                return None, end
            if t in MAP_TYPES:
                if t == b"|" and mode == "values":
                    raise AssertionError("unexpected attribute reply %r" % self.buf[pos:end])
                kv = list(zip(items[::2], items[1::2]))
                return ((t, kv) if mode == "tagged" else Map(kv)), end
            if mode == "tagged":
                return (t, items), end
            return {b"~": SetReply, b">": Push}.get(t, list)(items), end
        if t not in LINE_TYPES:
            raise AssertionError("unexpected reply line %r" % self.buf[pos:eol])
        if mode == "tagged":
            return (t, rest), end
        if mode == "bytes":
            return None, end
        if t == b"+":
            return Status(rest.decode()), end
        if t == b"-":
            return Err(rest.decode("utf-8", "replace")), end
        if t in (b":", b"("):
            return int(rest), end
        if t == b"_":
            return None, end
        if t == b",":
            return float(rest), end
        return rest == b"t", end


def plain(tree):
    """Strip the type tags of a "tagged" reply: bulk -> bytes, arrays -> lists,
    maps -> dicts."""
    t, v = tree
    if t in MAP_TYPES:
        return {plain(k): plain(x) for k, x in v}
    if isinstance(v, list):
        return [plain(x) for x in v]
    return v


# --------------------------------------------------------------------------- job queue (JOB.*)

def as_map(flat):
    return {flat[i].decode(): flat[i + 1] for i in range(0, len(flat), 2)}


def J(r, *args):
    return r.execute_command(*args)


def add(r, q, payload="p", *opts):
    return J(r, "JOB.ADD", q, payload, *opts)


def fetch(r, *args):
    return J(r, "JOB.FETCH", *args)


def get(r, id):
    g = J(r, "JOB.GET", id)
    return None if g is None else as_map(g)


def stats(r, *q):
    return as_map(J(r, "JOB.STATS", *q))


class Fetcher(threading.Thread):
    def __init__(self, server, *args):
        super().__init__(daemon=True)
        self.c = server.client()
        self.args = args
        self.result = None
        self.done_at = None

    def run(self):
        self.result = J(self.c, "JOB.FETCH", *self.args)
        self.done_at = time.time()


def blocked_clients(r):
    return r.info("clients")["blocked_clients"]


def wait_blocked(r, n):
    for _ in range(200):
        if blocked_clients(r) >= n:
            return
        time.sleep(0.005)
    raise AssertionError("clients did not block")


# --------------------------------------------------------------------------- s3rver

S3RVER_BIN = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "node_modules", ".bin", "s3rver"))


class S3rver:
    """s3rver (npm, installed by `make npm-deps`) on 127.0.0.1:`port` with one
    bucket, storing into a temporary directory; stopped by its own pid.

    .url(prefix) is the s3:// replica URL for a prefix inside the bucket;
    .env is os.environ plus s3rver's credentials, for the processes that talk
    to it. s3rver checks that the access key exists (403 otherwise) but does
    not verify V4 signatures.
    """

    ACCESS_KEY = SECRET_KEY = "S3RVER"

    def __init__(self, port, bucket="solidis-test"):
        self.port = port
        self.bucket = bucket
        self.dir = tempfile.mkdtemp(prefix="solidis-s3rver-")
        self.proc = None
        self.env = {k: v for k, v in os.environ.items() if k != "AWS_SESSION_TOKEN"}
        self.env.update(AWS_ACCESS_KEY_ID=self.ACCESS_KEY, AWS_SECRET_ACCESS_KEY=self.SECRET_KEY,
                        NO_PROXY="127.0.0.1,localhost")

    def url(self, prefix=""):
        return "s3://%s/%s?endpoint=http://127.0.0.1:%d&region=us-east-1" % (self.bucket, prefix, self.port)

    def start(self, timeout=20):
        if not os.access(S3RVER_BIN, os.X_OK):
            pytest.fail("s3rver is not installed: run `make npm-deps`")
        data = os.path.join(self.dir, "data")
        os.makedirs(data, exist_ok=True)
        # s3rver makes list continuation tokens with DES, which OpenSSL 3
        # only offers through its legacy provider.
        env = dict(os.environ, NODE_OPTIONS="--openssl-legacy-provider")
        self.log = open(os.path.join(self.dir, "s3rver.log"), "ab")
        self.proc = subprocess.Popen(
            [S3RVER_BIN, "--directory", data, "--address", "127.0.0.1", "--port", str(self.port),
             "--configure-bucket", self.bucket, "--silent"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("s3rver exited with %s; log:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("s3rver did not start; log:\n" + self.read_log())

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "s3rver.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        self.log.close()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def raw_info(port, section):
    """INFO <section> as the server sent it (redis-py parses its lines, which
    breaks on values such as replica0:url=...,status=...)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"INFO %s\r\n" % section.encode())
        data = b""
        while b"\r\n" not in data:
            data += sock.recv(65536)
        head, rest = data.split(b"\r\n", 1)
        n = int(head[1:])
        while len(rest) < n + 2:
            rest += sock.recv(65536)
        return rest[:n].decode()
