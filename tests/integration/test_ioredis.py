"""ioredis (npm, pinned in the Makefile; `make npm-deps` installs it into
tests/node_modules) end to end: ioredis_check.js runs its checks against the test
server, and the example producer/worker clients run against one too.

Same tests against Redis: SOLIDIS_BIN=/usr/bin/redis-server (JOB.* left out).
"""
import os
import signal
import subprocess
import sys

import pytest

from conftest import IS_REDIS, ROOT
from helpers import stats, wait_for

HERE = os.path.dirname(os.path.abspath(__file__))
NODE_MODULES = os.path.join(ROOT, "tests", "node_modules")


def node_env():
    if not os.path.isfile(os.path.join(NODE_MODULES, "ioredis", "package.json")):
        pytest.fail("ioredis is not installed: run `make npm-deps`")
    # The example in clients/node requires "ioredis" from outside tests/.
    return dict(os.environ, NODE_PATH=NODE_MODULES)


def test_ioredis_checks(server):
    args = ["node", os.path.join(HERE, "ioredis_check.js"), str(server.port)] + (["redis"] if IS_REDIS else [])
    p = subprocess.run(args, capture_output=True, text=True, timeout=60, env=node_env())
    out = p.stdout + p.stderr
    assert p.returncode == 0, out
    names = ["strings", "hashes", "lists", "sets", "sorted sets", "pipeline", "multi/exec", "watch",
             "blpop", "pub/sub", "scan", "connection options"] + ([] if IS_REDIS else ["JOB.* through call()"])
    assert [l[3:] for l in p.stdout.splitlines() if l.startswith("ok ")] == names, out
    assert "all %d passed" % len(names) in p.stdout


def run_example(cmd, r, q_count, env=None):
    """`produce` then `work` (until its jobs are done, then SIGTERM) for one of the
    example producer/worker clients, which use the "emails" queue (on a server of
    their own: FLUSHALL leaves jobs)."""
    p = subprocess.run(cmd("produce"), capture_output=True, text=True, timeout=30, env=env)
    assert p.returncode == 0, p.stdout + p.stderr
    assert p.stdout.count("added ") == q_count
    s = stats(r, "emails")
    # q_count jobs, the unique daily report, and the digest delayed by a minute.
    assert s["ready"] == q_count + 1 and s["delayed"] == 1
    w = subprocess.Popen(cmd("work"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        # All done but user13's job, which failed and waits for its retry.
        assert wait_for(lambda: stats(r, "emails")["done"] == q_count, timeout=15)
        s = stats(r, "emails")
        assert s["ready"] == 0 and s["running"] == 0 and s["delayed"] == 2 and s["retried"] >= 1
    finally:
        w.send_signal(signal.SIGTERM)
        out, _ = w.communicate(timeout=10)
    assert w.returncode == 0, out
    assert "mailbox full" in out and "stopping after the current job" in out
    return out


@pytest.mark.skipif(IS_REDIS, reason="JOB.* is Solidis's")
def test_python_example_producer_worker(make_server):
    server = make_server()
    r = server.client()  # closed with the server
    script = os.path.join(ROOT, "clients", "python", "producer_worker.py")
    out = run_example(lambda mode: [sys.executable, script, mode, "--port", str(server.port), "--count", "15"], r, 15)
    assert out.count("  sending") == 15


@pytest.mark.skipif(IS_REDIS, reason="JOB.* is Solidis's")
def test_node_example_producer_worker(make_server):
    server = make_server()
    r = server.client()  # closed with the server
    script = os.path.join(ROOT, "clients", "node", "producer_worker.js")
    out = run_example(lambda mode: ["node", script, mode, str(server.port)] + (["15"] if mode == "produce" else []),
                      r, 15, env=node_env())
    assert out.count("  sending") == 15
