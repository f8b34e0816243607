"""Integration-test harness: starts the real server binary on a free port with a
temporary data directory and stops it by its own pid.

SOLIDIS_BIN picks the binary (default bin/solidis-server next to this repo). The same
tests can be pointed at a real redis-server (SOLIDIS_BIN=/usr/bin/redis-server) to check
that a test encodes Redis's behaviour and not ours.
"""
import os, signal, socket, subprocess, tempfile, time, shutil
import pytest
import redis

# Helpers tests import from here (raw_conn, read_until) now live in helpers.py
# with the rest of the shared ones.
from helpers import raw_conn, read_until  # noqa: F401
from helpers import RespClient, S3rver, now_ms

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("SOLIDIS_BIN", os.path.join(ROOT, "bin", "solidis-server"))
IS_REDIS = os.path.basename(BIN).startswith("redis")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def check_sanitizer_log(text):
    """Under `make asan` a sanitizer report in the server log fails the test."""
    for mark in SANITIZER_MARKS:
        if mark in text:
            at = text.index(mark)
            raise AssertionError("sanitizer report in server log:\n" + text[max(0, at - 200):at + 4000])


class Server:
    """One running server process. Restartable on the same dir and port."""

    def __init__(self, extra_args=(), dir=None, port=None, preexec=None):
        self.dir = dir or tempfile.mkdtemp(prefix="solidis-test-")
        self.own_dir = dir is None
        self.port = port or free_port()
        self.extra = list(extra_args)
        self.preexec = preexec  # run in the child before exec (limits, signal dispositions)
        self.proc = None

    def args(self):
        a = [BIN, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir]
        if IS_REDIS:
            a += ["--save", "", "--appendonly", "yes", "--enable-debug-command", "yes"]
        return a + self.extra

    def start(self, timeout=10):
        self.log = open(os.path.join(self.dir, "server.log"), "ab")
        self.proc = subprocess.Popen(self.args(), stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=self.preexec)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited with %s; log:\n%s" % (self.proc.returncode, self.read_log()))
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError("server did not start; log:\n" + self.read_log())

    def read_log(self):
        try:
            with open(os.path.join(self.dir, "server.log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Stop by our own pid; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        self.log.close()
        check_sanitizer_log(self.read_log())
        return rc

    def kill9(self):
        return self.stop(signal.SIGKILL)

    def restart(self):
        self.stop()
        return self.start()

    def client(self, **kw):
        kw.setdefault("decode_responses", False)
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=30, **kw)

    def cli(self, *args, input=None, timeout=30):
        """Run redis-cli against the server; returns CompletedProcess (bytes)."""
        return subprocess.run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.port)] + list(args),
                              input=input, capture_output=True, timeout=timeout)

    def cleanup(self):
        self.stop()
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    """One server per test module; tests FLUSHALL what they need through `r`."""
    s = Server().start()
    yield s
    s.cleanup()


@pytest.fixture
def r(server):
    c = server.client()
    c.flushall()
    yield c
    c.close()


@pytest.fixture
def raw(server, r):
    """A raw connection (RespClient answering the exact reply bytes) on a freshly
    flushed server (r does the FLUSHALL). Not helpers.raw(), which modules that
    want it import by name."""
    c = RespClient(server.port, replies="bytes")
    yield c
    c.close()


@pytest.fixture
def other(server, r):
    """A second client (separate connection) for conflicts and visibility checks."""
    c = server.client(single_connection_client=True)
    yield c
    c.close()


@pytest.fixture
def q(request, r):
    """A queue name nobody else uses (for the JOB.* tests: FLUSHALL does not touch jobs)."""
    return "q-%s-%d" % (request.node.name, now_ms())


@pytest.fixture
def make_server():
    """Factory for tests that need their own server (config, restarts, kill -9)."""
    made = []

    def make(*extra, **kw):
        s = Server(extra, **kw)
        made.append(s)
        return s.start()
    yield make
    for s in made:
        s.cleanup()


@pytest.fixture(scope="module")
def s3rver():
    """A local S3-compatible server (helpers.S3rver) for one test module: .url(prefix),
    .port, .bucket, .env (credentials). Tests keep apart by prefix."""
    s = S3rver(free_port()).start()
    yield s
    s.cleanup()
