"""Replica targets (replication/target_s3.c, target_file.c) through bin/test-target-probe.

The same behaviour is checked on file:// and on s3:// against a real s3rver:
round trips of binary data from memory and from files, reading an object's
first bytes (get_head), listing with paging, not-found, delete. s3:// alone:
HTTP and connection errors, bad URLs, ranged GETs against servers that ignore
Range or answer 416 and, since s3rver does not check V4 signatures, the
signatures themselves against a reference SigV4 implementation (checked
against AWS's published example).
"""
import hashlib
import hmac
import http.server
import os
import re
import subprocess
import threading
import time
import urllib.parse
import uuid

import pytest

from conftest import ROOT, free_port

PROBE = os.path.join(ROOT, "bin", "test-target-probe")
ODD_NAME = "odd dir/name+&=%~<q>'\".bin"


class Store:
    """One target root (a fresh prefix or directory) and the probe to drive it."""

    def __init__(self, url, env):
        self.url, self.env = url, env

    def run(self, *args, input=None, env=None, timeout=60):
        return subprocess.run([PROBE, self.url] + list(args), input=input, capture_output=True,
                              env=env or self.env, timeout=timeout)

    def ok(self, *args, **kw):
        r = self.run(*args, **kw)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout

    def ls(self, prefix=""):
        """{name: size} as the target lists it."""
        out = {}
        for line in self.ok("ls", prefix).decode().splitlines():
            name, size = line.rsplit(" ", 1)
            assert name not in out, "listed twice: " + name
            out[name] = int(size)
        return out


@pytest.fixture(params=["file", "s3"])
def store(request, tmp_path):
    if request.param == "file":
        return Store("file://%s" % (tmp_path / "root"), dict(os.environ))
    s3 = request.getfixturevalue("s3rver")
    # a multi-level prefix of its own per test: s3rver's bucket is shared
    return Store(s3.url("tests/%s/root" % uuid.uuid4().hex[:12]), s3.env)


@pytest.fixture
def s3(s3rver):
    return Store(s3rver.url("tests/%s" % uuid.uuid4().hex[:12]), s3rver.env)


# --------------------------------------------------------------------------- both backends

def test_put_get_binary_roundtrip(store, tmp_path):
    data = bytes(range(256)) * 64 + b"\0\0end\0"
    name = "generations/00000000000000aa/wal/0000000000000000.seg"
    store.ok("putmem", name, "-", input=data)
    assert store.ok("cat", name) == data
    out = tmp_path / "out.bin"
    store.ok("get", name, str(out))
    assert out.read_bytes() == data
    assert store.ls("generations/") == {name: len(data)}


def test_empty_object(store, tmp_path):
    store.ok("putmem", "empty", "-", input=b"")
    assert store.ok("cat", "empty") == b""
    out = tmp_path / "empty.out"
    store.ok("get", "empty", str(out))
    assert out.read_bytes() == b""
    assert store.ls() == {"empty": 0}


def test_large_file_roundtrip(store, tmp_path):
    src = tmp_path / "big.src"
    data = os.urandom(20 * 1024 * 1024 + 17)
    src.write_bytes(data)
    store.ok("put", "snapshots/big.snap", str(src))
    out = tmp_path / "big.out"
    store.ok("get", "snapshots/big.snap", str(out))
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()
    assert store.ls("snapshots/") == {"snapshots/big.snap": len(data)}
    assert store.ok("head", "snapshots/big.snap", "65536") == data[:65536]


def test_head_is_a_prefix(store):
    data = bytes(range(256)) * 300 + b"\0tail"
    store.ok("putmem", "h/obj", "-", input=data)
    for n in (1, 12, 1000, 65536, len(data) - 1):
        assert store.ok("head", "h/obj", str(n)) == data[:n], n
    assert store.ok("head", "h/obj", "0") == b""


def test_head_of_smaller_object_is_all_of_it(store):
    data = b"short\0object"
    store.ok("putmem", "h/small", "-", input=data)
    for n in (len(data), len(data) + 1, 65536):
        assert store.ok("head", "h/small", str(n)) == data, n


def test_head_missing_object(store):
    r = store.run("head", "nope/missing", "100")
    assert r.returncode == 2, r.stderr


def test_head_empty_object(store):
    # S3 has no satisfiable range of an empty object; s3rver answers one
    # with a byte it never sends: both read as "empty", not as an error
    store.ok("putmem", "h/empty", "-", input=b"")
    for n in ("1", "100", "0"):
        assert store.ok("head", "h/empty", n) == b"", n


def test_list_pages_past_1000(store):
    # s3rver answers at most 1000 keys per page, like S3
    n = 1050
    store.ok("fill", "many/", str(n))
    store.ok("putmem", "other/x", "x")
    store.ok("putmem", "manx", "y")
    got = store.ls("many/")
    assert got == {"many/%05d" % i: len("object %d" % i) for i in range(n)}
    everything = store.ls("")
    assert len(everything) == n + 2 and everything["other/x"] == 1
    assert set(store.ls("man")) == set(got) | {"manx"}


def test_list_empty(store):
    assert store.ls("") == {}
    store.ok("putmem", "a/1", "1")
    assert store.ls("b/") == {}
    assert store.ls("a/2") == {}


def test_missing_object(store, tmp_path):
    r = store.run("cat", "nope/missing")
    assert r.returncode == 2, r.stderr
    out = tmp_path / "never"
    r = store.run("get", "nope/missing", str(out))
    assert r.returncode == 2, r.stderr
    assert not out.exists()


def test_delete(store):
    store.ok("putmem", "d/x", "payload")
    store.ok("rm", "d/x")
    assert store.run("cat", "d/x").returncode == 2
    assert store.ls("d/") == {}
    store.ok("rm", "d/x")  # deleting what is gone is fine


def test_overwrite(store):
    store.ok("putmem", "o", "first version")
    store.ok("putmem", "o", "second")
    assert store.ok("cat", "o") == b"second"
    assert store.ls() == {"o": 6}


def test_names_needing_encoding(store):
    store.ok("putmem", ODD_NAME, "odd")
    assert store.ok("cat", ODD_NAME) == b"odd"
    assert store.ls("odd dir/") == {ODD_NAME: 3}


# --------------------------------------------------------------------------- s3 only

def test_unknown_access_key_is_403(s3):
    env = dict(s3.env, AWS_ACCESS_KEY_ID="NOT-A-KEY", AWS_SECRET_ACCESS_KEY="very-secret-value")
    for args in (("putmem", "k", "v"), ("cat", "k"), ("ls", ""), ("rm", "k")):
        r = s3.run(*args, env=env)
        err = r.stderr.decode()
        assert r.returncode == 1, (args, err)
        assert "HTTP 403 InvalidAccessKeyId" in err, err
        assert "very-secret-value" not in err


def test_missing_bucket_is_an_error_not_not_found(s3rver):
    st = Store("s3://no-such-bucket/p?endpoint=http://127.0.0.1:%d" % s3rver.port, s3rver.env)
    for args in (("cat", "x"), ("ls", ""), ("rm", "x")):
        r = st.run(*args)
        assert r.returncode == 1, (args, r.stderr)
        assert b"HTTP 404 NoSuchBucket" in r.stderr


def test_closed_port_fails_fast(s3rver):
    st = Store("s3://b/p?endpoint=http://127.0.0.1:%d" % free_port(), s3rver.env)
    for args in (("putmem", "x", "y"), ("cat", "x"), ("ls", "")):
        t0 = time.time()
        r = st.run(*args, timeout=20)
        assert time.time() - t0 < 5
        assert r.returncode == 1
        assert b"connect" in r.stderr.lower(), r.stderr


class Answer(http.server.BaseHTTPRequestHandler):
    """Answers every GET with status STATUS and body BODY, whatever its Range
    header says, and records the Range headers it was sent."""
    protocol_version = "HTTP/1.1"
    STATUS, BODY = 200, b""

    def do_GET(self):
        self.server.ranges.append(self.headers.get("Range"))
        self.send_response(self.STATUS)
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        try:
            self.wfile.write(self.BODY)
        except OSError:
            pass  # the client hung up once it had what it asked for

    def log_message(self, *args):
        pass


def serve_answer(status, body):
    handler = type("Handler", (Answer,), {"STATUS": status, "BODY": body})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    srv.ranges = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY="secret", NO_PROXY="127.0.0.1")
    return srv, Store("s3://b/p?endpoint=http://127.0.0.1:%d" % srv.server_address[1], env)


def test_head_stops_a_server_that_ignores_range():
    body = os.urandom(32 * 1024 * 1024)
    srv, st = serve_answer(200, body)
    try:
        assert st.ok("head", "k", "100") == body[:100]
    finally:
        srv.shutdown()
        srv.server_close()
    assert srv.ranges == ["bytes=0-99"]


def test_head_416_is_an_empty_object():
    srv, st = serve_answer(416, b"<Error><Code>InvalidRange</Code></Error>")
    try:
        assert st.ok("head", "k", "64") == b""
        # a whole GET never asks for a range, so a 416 there stays an error
        r = st.run("cat", "k")
        assert r.returncode == 1 and b"HTTP 416 InvalidRange" in r.stderr, r.stderr
    finally:
        srv.shutdown()
        srv.server_close()
    assert srv.ranges == ["bytes=0-63", None]


@pytest.mark.parametrize("url, message", [
    ("s3://", "needs a bucket"),
    ("s3:///prefix", "needs a bucket"),
    ("s3://b/p?endpoint=ftp://h", "http:// or https://"),
    ("s3://b/p?endpiont=http://h", "unknown s3 URL parameter"),
    ("s3://b/p?region", "without a value"),
])
def test_bad_urls(s3rver, url, message):
    r = Store(url, s3rver.env).run("ls", "")
    assert r.returncode == 1 and message in r.stderr.decode(), r.stderr


def test_missing_credentials():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    r = Store("s3://b/p", env).run("ls", "")
    assert r.returncode == 1 and b"no S3 credentials" in r.stderr


# --------------------------------------------------------------------------- SigV4

def _enc(s):
    return urllib.parse.quote(s, safe="~")


def canonical_request(method, raw_path, headers, signed):
    """SigV4 canonical request for S3 (URI encoded once) from what was sent."""
    path, _, query = raw_path.partition("?")
    uri = urllib.parse.quote(urllib.parse.unquote(path), safe="/~")
    params = sorted((_enc(urllib.parse.unquote(k)), _enc(urllib.parse.unquote(v)))
                    for k, _, v in (p.partition("=") for p in query.split("&") if p))
    lower = {k.lower(): " ".join(v.split()) for k, v in headers.items()}
    return "\n".join([method, uri, "&".join("%s=%s" % p for p in params),
                      "".join("%s:%s\n" % (h, lower[h]) for h in signed), ";".join(signed),
                      lower["x-amz-content-sha256"]])


def signature(secret, region, amzdate, creq):
    scope = "%s/%s/s3/aws4_request" % (amzdate[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (amzdate[:8], region, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    return hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()


def test_reference_sigv4_matches_aws_example():
    # "Example: GET Object" from the S3 SigV4 documentation
    headers = {"Host": "examplebucket.s3.amazonaws.com", "Range": "bytes=0-9",
               "x-amz-content-sha256": hashlib.sha256(b"").hexdigest(), "x-amz-date": "20130524T000000Z"}
    creq = canonical_request("GET", "/test.txt", headers, ["host", "range", "x-amz-content-sha256", "x-amz-date"])
    assert signature("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "us-east-1", "20130524T000000Z", creq) == \
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"


class Recorder(http.server.BaseHTTPRequestHandler):
    """Records each request; answers a ListObjectsV2 page that continues once,
    with a token that needs encoding, then a last page."""
    protocol_version = "HTTP/1.1"
    TOKEN = "a+b/c=="

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append((self.command, self.path, dict(self.headers.items()), self.rfile.read(n)))
        body = b""
        if "list-type=2" in self.path:
            more = "continuation-token" not in self.path
            body = ("<ListBucketResult><IsTruncated>%s</IsTruncated>%s"
                    "<Contents><Key>p/q/k%d</Key><Size>3</Size></Contents></ListBucketResult>" % (
                        "true" if more else "false",
                        "<NextContinuationToken>%s</NextContinuationToken>" % self.TOKEN if more else "",
                        len(self.server.seen))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_PUT = do_DELETE = answer

    def log_message(self, *args):
        pass


def test_requests_carry_valid_sigv4():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    srv.seen = []
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDEXAMPLE", AWS_SECRET_ACCESS_KEY=secret,
               AWS_SESSION_TOKEN="session/token+=", NO_PROXY="127.0.0.1")
    st = Store("s3://my-bucket/p/q?endpoint=http://127.0.0.1:%d&region=eu-west-2" % srv.server_address[1], env)
    try:
        st.ok("putmem", ODD_NAME, "abc")
        assert st.ls("a b+") == {"k2": 3, "k3": 3}
        st.ok("cat", ODD_NAME)
        st.ok("head", ODD_NAME, "10")
        st.ok("rm", ODD_NAME)
    finally:
        srv.shutdown()
        srv.server_close()
    methods = [(m, p) for m, p, _, _ in srv.seen]
    obj = "/my-bucket/p/q/" + urllib.parse.quote(ODD_NAME, safe="/~")
    assert methods == [("PUT", obj), ("GET", "/my-bucket?list-type=2&prefix=p%2Fq%2Fa%20b%2B"),
                       ("GET", "/my-bucket?continuation-token=a%2Bb%2Fc%3D%3D&list-type=2&prefix=p%2Fq%2Fa%20b%2B"),
                       ("GET", obj), ("GET", obj), ("DELETE", obj)]
    ranges = [h.get("Range") for _, _, h, _ in srv.seen]
    assert ranges == [None, None, None, None, "bytes=0-9", None]
    for method, path, sent_headers, body in srv.seen:
        headers = {k.lower(): v for k, v in sent_headers.items()}
        auth = headers["authorization"]
        assert auth.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") and "/eu-west-2/s3/aws4_request" in auth
        signed = re.search(r"SignedHeaders=([^,]+)", auth).group(1).split(";")
        # every signed header must be one that was sent, or S3 refuses the request
        assert set(signed) <= set(headers), (signed, headers)
        assert {"host", "x-amz-date", "x-amz-content-sha256", "x-amz-security-token"} <= set(signed)
        assert ("range" in signed) == ("range" in headers)  # a ranged GET signs its Range, as AWS's example does
        assert headers["x-amz-content-sha256"] == "UNSIGNED-PAYLOAD"
        creq = canonical_request(method, path, headers, signed)
        want = signature(secret, "eu-west-2", headers["x-amz-date"], creq)
        assert re.search(r"Signature=(\w+)", auth).group(1) == want, creq
        assert secret not in auth
