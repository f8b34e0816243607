"""The job-queue clients against a real server: bin/solidis-jobs (add, stats, list,
get, retry, and `work --exec` on the solidis_worker C library in clients/c/).

The command-line checks (usage, exit codes) need no server. Everything else needs
the JOB.* engine: those tests are skipped when the server answers "unknown
command" to JOB.STATS (and so always against redis-server).
"""
import contextlib
import os
import signal
import subprocess
import time

import pytest
import redis

from conftest import ROOT, free_port

JOBS_BIN = os.environ.get("SOLIDIS_JOBS_BIN", os.path.join(ROOT, "bin", "solidis-jobs"))


@pytest.fixture(scope="module", autouse=True)
def jobs_bin():
    if "SOLIDIS_JOBS_BIN" not in os.environ:
        subprocess.run(["make", "-s", "-C", ROOT, "bin/solidis-jobs"], check=True, capture_output=True)
    assert os.access(JOBS_BIN, os.X_OK)


def has_jobs(server):
    c = server.client()
    try:
        c.execute_command("JOB.STATS")
        return True
    except redis.ResponseError as e:
        if "unknown command" in str(e).lower():
            return False
        raise
    finally:
        c.close()


@pytest.fixture
def jq(server):
    """A client of a server with the JOB.* commands; skips otherwise."""
    if not has_jobs(server):
        pytest.skip("the server has no JOB.* commands (JOB.STATS: unknown command)")
    c = server.client()
    yield c
    c.close()


@pytest.fixture
def q(request):
    """A queue name of this test's own (FLUSHALL does not empty job queues)."""
    return "%s-%d" % (request.node.name.replace("test_", "", 1), int(time.time() * 1000) % 100000)


def run(server, *args, input=None, timeout=20, port=None):
    p = subprocess.run([JOBS_BIN, "--port", str(port or server.port)] + [str(a) for a in args],
                       input=input, capture_output=True, timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def start_worker(port, *args, cwd=None):
    return subprocess.Popen([JOBS_BIN, "--port", str(port), "work"] + [str(a) for a in args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)


@contextlib.contextmanager
def worker(port, *args, cwd=None):
    """A `solidis-jobs work` process, killed by its pid if the test leaves it running."""
    w = start_worker(port, *args, cwd=cwd)
    try:
        yield w
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()


def info(r, job_id):
    """JOB.GET as a dict of str -> bytes/int (RESP2 flat map)."""
    v = r.execute_command("JOB.GET", job_id)
    assert v is not None, "no job %r" % job_id
    if isinstance(v, dict):
        return {k.decode(): x for k, x in v.items()}
    return {v[i].decode(): v[i + 1] for i in range(0, len(v), 2)}


def state(r, job_id):
    return info(r, job_id)["state"].decode()


def add(r, queue, payload, *opts):
    return r.execute_command("JOB.ADD", queue, payload, *opts).decode()


def wait_for(pred, timeout=10, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting for " + what)


# ---------------------------------------------------------------- no server


def test_help():
    p = subprocess.run([JOBS_BIN, "--help"], capture_output=True)
    assert p.returncode == 0
    out = p.stdout.decode()
    assert out.startswith("usage: solidis-jobs")
    for word in ("add QUEUE PAYLOAD", "stats [QUEUE]", "list QUEUE STATE", "retry ID", "work QUEUE", "--exec"):
        assert word in out


@pytest.mark.parametrize("args, msg", [
    ([], "usage: solidis-jobs"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["add", "q"], "usage: solidis-jobs add QUEUE PAYLOAD"),
    (["add", "q", "p", "extra"], "usage: solidis-jobs add QUEUE PAYLOAD"),
    (["add", "q", "p", "--priority", "high"], "--priority needs an integer, got 'high'"),
    (["add", "q", "p", "--delay", "5", "--at", "1"], "either --delay or --at"),
    (["add", "q", "p", "--bogus", "1"], "unknown option '--bogus'"),
    (["add", "q", "p", "--delay"], "option '--delay' needs a value"),
    (["--port", "0", "stats"], "--port needs an integer >= 1"),
    (["--port", "70000", "stats"], "--port must be at most 65535"),
    (["stats", "a", "b"], "usage: solidis-jobs stats [QUEUE]"),
    (["stats", "--priority", "1"], "stats does not take --delay"),
    (["list", "q"], "usage: solidis-jobs list QUEUE STATE"),
    (["retry"], "usage: solidis-jobs retry ID"),
    (["work", "q"], "work needs --exec CMD"),
    (["work", "--exec", "true"], "usage: solidis-jobs work QUEUE"),
    (["work", "q", "--exec", "true", "--lease", "-5"], "--lease needs an integer >= 1"),
    (["add", "q", "p", "--exec", "true"], "add does not take --exec"),
])
def test_usage_errors_exit_2(args, msg):
    p = subprocess.run([JOBS_BIN] + args, capture_output=True)
    assert p.returncode == 2, p
    assert msg in p.stderr.decode()


def test_connection_refused_exits_1():
    port = free_port()
    p = subprocess.run([JOBS_BIN, "--port", str(port), "stats"], capture_output=True, timeout=20)
    assert p.returncode == 1
    assert "cannot connect to 127.0.0.1:%d" % port in p.stderr.decode()


# ------------------------------------------------------- add / stats / list


def test_add_prints_the_id(server, jq, q):
    rc, out, err = run(server, "add", q, "hello world")
    assert rc == 0, err
    job_id = out.strip()
    assert out == job_id + "\n"
    i = info(jq, job_id)
    assert i["queue"] == q.encode()
    assert i["payload"] == b"hello world"
    assert i["state"] == b"ready"


def test_add_options_reach_the_server(server, jq, q):
    rc, out, err = run(server, "add", q, "later", "--delay", "60000", "--priority", "7", "--retries", "2")
    assert rc == 0, err
    i = info(jq, out.strip())
    assert i["state"] == b"delayed"
    assert int(i["priority"]) == 7
    assert int(i["retries"]) == 2
    # ... and the server's own validation comes back as exit 1 with its message
    rc, out, err = run(server, "add", q, "x", "--retries", "-1")
    assert rc == 1
    assert err.startswith("solidis-jobs: ERR")


def test_add_payload_from_stdin_is_binary_safe(server, jq, q):
    payload = b"\x00bin\r\nary\xff" * 50
    rc, out, err = run(server, "add", q, "-", input=payload)
    assert rc == 0, err
    jobs = jq.execute_command("JOB.FETCH", q, "COUNT", 1)
    assert jobs[0][0].decode() == out.strip()
    assert jobs[0][2] == payload


def test_stats_is_readable(server, jq, q):
    for i in range(3):
        add(jq, q, "m%d" % i)
    add(jq, q + "-other", "o")
    add(jq, q, "later", "DELAY", 60000)
    rc, out, err = run(server, "stats", q)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == "queue " + q
    ready = [ln for ln in lines if ln.strip().startswith("ready:")]
    assert len(ready) == 1 and ready[0].split()[-1] == "3", out
    delayed = [ln for ln in lines if ln.strip().startswith("delayed:")]
    assert len(delayed) == 1 and delayed[0].split()[-1] == "1", out
    assert any(ln.split()[:2] == ["throughput:", "0"] for ln in lines), out
    rc, out, err = run(server, "stats")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0].endswith(" queues on 127.0.0.1:%d" % server.port)
    assert lines[1].split()[:7] == ["queue", "ready", "delayed", "running", "done", "dead", "cancelled"]
    rows = {ln.split()[0]: ln.split()[1:7] for ln in lines[2:-1]}
    assert rows[q] == ["3", "1", "0", "0", "0", "0"], out
    assert rows[q + "-other"] == ["1", "0", "0", "0", "0", "0"], out
    assert int(rows["total"][0]) >= 4
    assert lines[-1].startswith("since the queues were created: ")


def test_list_shows_ids_and_a_summary(server, jq, q):
    ids = [add(jq, q, "m%d" % i) for i in range(3)]
    rc, out, err = run(server, "list", q, "ready")
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[-1] == "3 ready jobs in " + q
    for job_id in ids:
        assert sum(ln.split()[0] == job_id for ln in lines[:-1]) == 1, out
    rc, out, err = run(server, "list", q, "ready", "--count", "2")
    assert rc == 0, err
    assert out.splitlines()[-1].startswith("2 ready jobs in %s shown" % q)
    rc, out, err = run(server, "list", q, "dead")
    assert (rc, out) == (0, "no dead jobs in %s\n" % q)
    rc, out, err = run(server, "list", q, "bogus")
    assert rc == 1 and "solidis-jobs: ERR" in err


def test_get_shows_the_job(server, jq, q):
    job_id = add(jq, q, "payload-text", "PRIORITY", 3)
    rc, out, err = run(server, "get", job_id)
    assert rc == 0, err
    assert out.startswith("job %s\n" % job_id)
    assert "payload-text" in out
    assert any(ln.split() == ["state:", "ready"] for ln in out.splitlines()), out


def dead_job(r, queue):
    job_id = add(r, queue, "doomed", "RETRIES", 0)
    jobs = r.execute_command("JOB.FETCH", queue, "COUNT", 1)
    assert jobs[0][0].decode() == job_id
    r.execute_command("JOB.NACK", job_id, "ERROR", "broke")
    assert state(r, job_id) == "dead"
    return job_id


def test_retry_moves_dead_to_ready(server, jq, q):
    job_id = dead_job(jq, q)
    rc, out, err = run(server, "list", q, "dead")
    assert rc == 0 and out.split()[0] == job_id
    rc, out, err = run(server, "retry", job_id)
    assert rc == 0, err
    assert out == "job %s: dead -> ready\n" % job_id
    assert state(jq, job_id) == "ready"
    rc, out, err = run(server, "retry", job_id)  # no longer dead
    assert rc == 1
    assert job_id in err or "ERR" in err


# ----------------------------------------------------------------- work


def test_work_acks_on_exit_0(server, jq, q, tmp_path):
    ids = [add(jq, q, "payload-%d" % i) for i in range(3)]
    out_file = tmp_path / "out"
    cmd = 'printf "%s %s %s " "$SOLIDIS_JOB_ID" "$SOLIDIS_JOB_QUEUE" "$SOLIDIS_JOB_ATTEMPT" >> {0}; ' \
          'cat >> {0}; echo >> {0}'.format(out_file)
    rc, out, err = run(server, "work", q, "--exec", cmd, "--max-jobs", 3)
    assert rc == 0, err
    got = out_file.read_text().splitlines()
    assert got == ["%s %s 1 payload-%d" % (job_id, q, i) for i, job_id in enumerate(ids)]
    for job_id in ids:
        assert state(jq, job_id) == "done"
        assert int(info(jq, job_id)["attempts"]) == 1
    assert sum(" ok (" in ln for ln in out.splitlines()) == 3, out
    assert "stopped (--max-jobs reached): 3 jobs" in out
    assert "3 ok, 0 failed" in out


def test_work_nacks_with_stderr(server, jq, q):
    last = add(jq, q, "x", "RETRIES", 0)
    again = add(jq, q, "y", "RETRIES", 3, "BACKOFF", 60000)
    cmd = 'echo "first line" >&2; echo "boom: $(cat)" >&2; exit 3'
    rc, out, err = run(server, "work", q, "--exec", cmd, "--max-jobs", 2)
    assert rc == 0, err
    assert "boom: x" in err  # the command's stderr is passed through too
    i = info(jq, last)
    assert i["state"] == b"dead"
    assert i["last_error"] == b"first line\nboom: x"
    i = info(jq, again)
    assert i["state"] == b"delayed"  # waiting out its backoff
    assert int(i["attempts"]) == 1
    assert i["last_error"] == b"first line\nboom: y"
    assert sum("failed, exit status 3" in ln and ": first line" in ln for ln in out.splitlines()) == 2, out
    assert "0 ok, 2 failed" in out


def test_work_failure_without_stderr_reports_the_exit(server, jq, q):
    job_id = add(jq, q, "x", "RETRIES", 0)
    rc, out, err = run(server, "work", q, "--exec", "kill -9 $$", "--max-jobs", 1)
    assert rc == 0, err
    assert info(jq, job_id)["last_error"] == b"killed by signal 9 (Killed)"


def test_sigterm_mid_job_finishes_it_then_exits_0(server, jq, q, tmp_path):
    first = add(jq, q, "one")
    second = add(jq, q, "two")
    cmd = "touch started; sleep 1; cat > done"
    with worker(server.port, q, "--exec", cmd, cwd=tmp_path) as w:
        wait_for(lambda: (tmp_path / "started").exists(), what="the job to start")
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=15)
    assert w.returncode == 0, err
    assert (tmp_path / "done").read_text() == "one"
    assert state(jq, first) == "done"
    assert state(jq, second) == "ready"  # not fetched after the signal
    assert b"stopped (signal): 1 job" in out


def test_sigterm_while_idle_stops_promptly(server, jq, q):
    with worker(server.port, q, "--exec", "true", "--block", 20000) as w:
        time.sleep(0.5)  # parked in JOB.FETCH ... BLOCK 20000
        t0 = time.time()
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=15)
        took = time.time() - t0
    assert w.returncode == 0, err
    assert took < 3, took  # CLIENT UNBLOCK, not the 20 s BLOCK
    assert b"stopped (signal): 0 jobs" in out


def test_second_sigterm_terminates_the_command(server, jq, q, tmp_path):
    job_id = add(jq, q, "slow")
    with worker(server.port, q, "--exec", "touch started; sleep 30", cwd=tmp_path) as w:
        wait_for(lambda: (tmp_path / "started").exists(), what="the job to start")
        w.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=15)
    assert w.returncode == 0, err
    i = info(jq, job_id)
    assert i["state"] != b"running"
    assert i["last_error"].startswith(b"killed by signal 15")


def test_heartbeat_keeps_the_lease(server, jq, q, tmp_path):
    job_id = add(jq, q, "long")
    with worker(server.port, q, "--exec", "touch started; sleep 2", "--lease", 400, "--max-jobs", 1,
                cwd=tmp_path) as w:
        wait_for(lambda: (tmp_path / "started").exists(), what="the job to start")
        # Without JOB.EXTEND the 400 ms lease would run out and this fetch get the job.
        other = jq.execute_command("JOB.FETCH", q, "COUNT", 1, "LEASE", 400, "BLOCK", 1800)
        assert other is None or other == []
        out, err = w.communicate(timeout=15)
    assert w.returncode == 0, err
    i = info(jq, job_id)
    assert i["state"] == b"done"
    assert int(i["attempts"]) == 1


def test_worker_reconnects_after_server_restart(make_server, q, tmp_path):
    s = make_server()
    if not has_jobs(s):
        pytest.skip("the server has no JOB.* commands (JOB.STATS: unknown command)")
    out_file = tmp_path / "out"
    with worker(s.port, q, "--exec", "cat >> %s; echo >> %s" % (out_file, out_file), "--block", 1000) as w:
        c = s.client()
        add(c, q, "before")
        wait_for(lambda: out_file.exists() and "before" in out_file.read_text(), what="the first job")
        c.close()
        s.kill9()
        time.sleep(0.5)
        s.start()
        c = s.client()
        job_id = add(c, q, "after")
        wait_for(lambda: "after" in out_file.read_text(), timeout=15, what="the job after the restart")
        wait_for(lambda: state(c, job_id) == "done", what="the ACK after the restart")
        c.close()
        w.send_signal(signal.SIGTERM)
        out, err = w.communicate(timeout=15)
    assert w.returncode == 0, err
    assert out_file.read_text().split() == ["before", "after"]
    assert b"connection lost" in err
    assert b"reconnected" in err
    assert b"1 reconnect" in out


def test_password(make_server, q):
    s = make_server("--requirepass", "s3cret")
    c = s.client(password="s3cret")
    try:
        c.execute_command("JOB.STATS")
    except redis.ResponseError as e:
        if "unknown command" in str(e).lower():
            pytest.skip("the server has no JOB.* commands")
        raise
    finally:
        c.close()
    rc, out, err = run(s, "--password", "s3cret", "add", q, "x")
    assert rc == 0, err
    env = dict(os.environ, SOLIDIS_PASSWORD="s3cret")
    p = subprocess.run([JOBS_BIN, "--port", str(s.port), "stats", q], capture_output=True, env=env, timeout=20)
    assert p.returncode == 0, p
    rc, out, err = run(s, "stats")
    assert rc == 1 and "NOAUTH" in err
    t0 = time.time()
    rc, out, err = run(s, "--password", "wrong", "work", q, "--exec", "true")
    assert rc == 1  # fatal, not retried forever
    assert "AUTH refused" in err
    assert time.time() - t0 < 5
