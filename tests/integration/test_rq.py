"""RQ (python3-rq 1.13, Debian) end to end against the server: real queues, a real
worker (in-process Worker(...).work(burst=True), which forks a work horse per job,
and a subprocess SimpleWorker for kill -9), the registries RQ keeps, its scheduler.

RQ >= 1.12 keeps results in Redis Streams when the server says redis_version >= 5
(XADD ... MAXLEN ~ 10, XREVRANGE + - COUNT 1, XLEN): the tests run RQ on that,
its default path; test_results_in_streams reads the stream itself.
Queue.empty() runs a Lua script (EVALSHA), which Solidis does not implement by
design.

Same tests against Redis: SOLIDIS_BIN=/usr/bin/redis-server.
"""
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

import pytest

from conftest import IS_REDIS
from helpers import wait_for

rq = pytest.importorskip("rq")  # python3-rq (make deps)
from rq import Queue, Retry, SimpleWorker, Worker  # noqa: E402
from rq.job import Job, JobStatus  # noqa: E402
from rq.registry import (CanceledJobRegistry, DeferredJobRegistry, FailedJobRegistry,  # noqa: E402
                         FinishedJobRegistry, ScheduledJobRegistry, StartedJobRegistry)

from rq.command import send_shutdown_command, send_stop_job_command  # noqa: E402

import rq_jobs  # noqa: E402
from rq.results import Result  # noqa: E402

# job.exc_info (deprecated) reads the traceback from the latest result in the stream.
pytestmark = pytest.mark.filterwarnings("ignore:job.exc_info is deprecated:DeprecationWarning")

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture
def conn(server, r):
    """A connection on a flushed server (RQ's default: results in streams)."""
    c = server.client()
    yield c
    c.close()


def work(conn, *queues, **kw):
    """One burst of a real (forking) RQ worker on these queues; True when it ran jobs."""
    w = Worker(list(queues), connection=conn)
    return w.work(burst=True, **kw)


def worker_process(server, qname, kind):
    """A long-running worker in a subprocess (rq_jobs.py as a script)."""
    return subprocess.Popen([sys.executable, os.path.join(HERE, "rq_jobs.py"), str(server.port), qname, kind],
                            env=dict(os.environ, PYTHONPATH=HERE),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_result_and_status_transitions(conn):
    q = Queue("default", connection=conn)
    j = q.enqueue(rq_jobs.add, 2, 3)
    s = q.enqueue(rq_jobs.own_status)
    assert j.get_status() == JobStatus.QUEUED
    assert q.count == 2 and len(q) == 2
    assert q.job_ids == [j.id, s.id]
    assert Job.exists(j.id, connection=conn)

    assert work(conn, q) is True
    assert j.get_status() == JobStatus.FINISHED
    assert j.return_value(refresh=True) == 5
    assert Job.fetch(j.id, connection=conn).return_value() == 5
    # While it ran, the job saw itself as started.
    assert s.get_status() == JobStatus.FINISHED and s.return_value() == JobStatus.STARTED
    j.refresh()
    assert j.started_at is not None and j.ended_at is not None and j.ended_at >= j.started_at
    assert q.count == 0
    assert set(FinishedJobRegistry(queue=q).get_job_ids()) == {j.id, s.id}
    assert StartedJobRegistry(queue=q).get_job_ids() == []
    # An idle burst does nothing.
    assert work(conn, q) is False


def test_failed_job_lands_in_failed_registry(conn):
    q = Queue("default", connection=conn)
    j = q.enqueue(rq_jobs.boom)
    work(conn, q)
    assert j.get_status() == JobStatus.FAILED
    reg = FailedJobRegistry(queue=q)
    assert reg.get_job_ids() == [j.id] and j in reg and reg.count == 1
    j.refresh()
    assert "ValueError: boom 42" in j.exc_info
    assert j.return_value() is None
    # Requeue from the registry, and it fails again the same way.
    reg.requeue(j.id)
    assert j.get_status() == JobStatus.QUEUED and q.job_ids == [j.id] and reg.count == 0
    work(conn, q)
    assert j.get_status() == JobStatus.FAILED and reg.get_job_ids() == [j.id]


def test_retry(conn):
    q = Queue("default", connection=conn)
    ok = q.enqueue(rq_jobs.flaky, "runs:ok", 2, retry=Retry(max=3))
    bad = q.enqueue(rq_jobs.flaky, "runs:bad", 10, retry=Retry(max=2))
    work(conn, q)
    assert ok.get_status() == JobStatus.FINISHED and ok.return_value(refresh=True) == 3
    assert conn.get("runs:ok") == b"3"
    # First run + 2 retries, then it stays failed.
    assert bad.get_status() == JobStatus.FAILED and conn.get("runs:bad") == b"3"
    bad.refresh()
    assert bad.retries_left == 0 and "attempt 3 fails" in bad.exc_info
    assert FailedJobRegistry(queue=q).get_job_ids() == [bad.id]


def test_enqueue_in_and_at_run_with_scheduler(conn):
    q = Queue("default", connection=conn)
    later = q.enqueue_in(timedelta(seconds=1), rq_jobs.add, 1, 2)
    at = q.enqueue_at(datetime.now(timezone.utc) + timedelta(seconds=1), rq_jobs.add, 3, 4)
    far = q.enqueue_in(timedelta(hours=1), rq_jobs.add, 5, 6)
    reg = ScheduledJobRegistry(queue=q)
    assert later.get_status() == JobStatus.SCHEDULED and at.get_status() == JobStatus.SCHEDULED
    assert set(reg.get_job_ids()) == {later.id, at.id, far.id}
    assert q.count == 0
    # Not due yet: the scheduler moves nothing.
    assert work(conn, q, with_scheduler=True) is False
    assert later.get_status() == JobStatus.SCHEDULED
    time.sleep(1.1)
    assert work(conn, q, with_scheduler=True) is True
    assert later.get_status() == JobStatus.FINISHED and later.return_value(refresh=True) == 3
    assert at.get_status() == JobStatus.FINISHED and at.return_value(refresh=True) == 7
    assert reg.get_job_ids() == [far.id] and far.get_status() == JobStatus.SCHEDULED


def test_depends_on(conn):
    q = Queue("default", connection=conn)
    a = q.enqueue(rq_jobs.record, "order", "a")
    b = q.enqueue(rq_jobs.record, "order", "b", depends_on=a)
    c = q.enqueue(rq_jobs.record, "order", "c", depends_on=[a, b])
    bad = q.enqueue(rq_jobs.boom)
    d = q.enqueue(rq_jobs.record, "order", "d", depends_on=bad)
    assert b.get_status() == JobStatus.DEFERRED and c.get_status() == JobStatus.DEFERRED
    assert set(DeferredJobRegistry(queue=q).get_job_ids()) == {b.id, c.id, d.id}
    assert q.job_ids == [a.id, bad.id]
    work(conn, q)
    assert conn.lrange("order", 0, -1) == [b"a", b"b", b"c"]
    assert all(j.get_status() == JobStatus.FINISHED for j in (a, b, c))
    # A failed dependency keeps its dependent deferred.
    assert bad.get_status() == JobStatus.FAILED and d.get_status() == JobStatus.DEFERRED
    assert DeferredJobRegistry(queue=q).get_job_ids() == [d.id]


def test_ttl_and_result_ttl(conn):
    q = Queue("default", connection=conn)
    gone = q.enqueue(rq_jobs.add, 1, 1, result_ttl=0)
    short = q.enqueue(rq_jobs.add, 2, 2, result_ttl=1)
    forever = q.enqueue(rq_jobs.add, 3, 3, result_ttl=-1)
    doomed = q.enqueue(rq_jobs.add, 4, 4, ttl=1)
    assert 0 < conn.ttl(doomed.key) <= 1
    time.sleep(1.1)
    # The job with ttl=1 expired while queued: RQ skips its id.
    assert not Job.exists(doomed.id, connection=conn)
    work(conn, q)
    assert not Job.exists(gone.id, connection=conn)      # result_ttl=0: deleted at once
    assert short.return_value(refresh=True) == 4 and 0 < conn.ttl(short.key) <= 1
    assert forever.return_value(refresh=True) == 6 and conn.ttl(forever.key) == -1
    assert wait_for(lambda: not Job.exists(short.id, connection=conn), timeout=3)
    assert Job.exists(forever.id, connection=conn)


def test_meta(conn):
    q = Queue("default", connection=conn)
    j = q.enqueue(rq_jobs.progress, 3, meta={"tag": "blue"})
    assert Job.fetch(j.id, connection=conn).meta == {"tag": "blue"}
    work(conn, q)
    assert j.return_value(refresh=True) == "blue"
    assert j.get_meta() == {"tag": "blue", "progress": 3}
    j.meta["seen"] = True
    j.save_meta()
    assert Job.fetch(j.id, connection=conn).meta == {"tag": "blue", "progress": 3, "seen": True}


def test_cancel(conn):
    q = Queue("default", connection=conn)
    keep = q.enqueue(rq_jobs.record, "ran", "keep")
    j = q.enqueue(rq_jobs.record, "ran", "cancelled")
    j.cancel()
    assert j.get_status() == JobStatus.CANCELED
    assert q.job_ids == [keep.id]
    assert CanceledJobRegistry(queue=q).get_job_ids() == [j.id]
    work(conn, q)
    assert conn.lrange("ran", 0, -1) == [b"keep"]
    assert j.get_status() == JobStatus.CANCELED


def test_queue_count_remove_and_delete(conn):
    q = Queue("counted", connection=conn)
    jobs = [q.enqueue(rq_jobs.add, i, i) for i in range(5)]
    assert q.count == 5 and not q.is_empty()
    assert q.job_ids == [j.id for j in jobs]
    assert q.get_job_ids(offset=1, length=2) == [jobs[1].id, jobs[2].id]
    q.remove(jobs[0])
    assert q.count == 4 and q.fetch_job(jobs[1].id).id == jobs[1].id
    assert "counted" in [x.name for x in Queue.all(connection=conn)]
    # Without its jobs (delete_jobs=True would run the Lua script of empty()).
    q.delete(delete_jobs=False)
    assert q.count == 0 and q.is_empty()
    assert "counted" not in [x.name for x in Queue.all(connection=conn)]


def test_queue_empty(conn):
    if not IS_REDIS:
        pytest.skip("Queue.empty() (and delete(delete_jobs=True)) runs a Lua script; "
                    "EVAL/EVALSHA are not implemented by design")
    q = Queue("default", connection=conn)
    for i in range(3):
        q.enqueue(rq_jobs.add, i, i)
    assert q.empty() == 3 and q.count == 0


def test_enqueue_many_at_front_position_callbacks_delete(conn):
    q = Queue("default", connection=conn)
    many = q.enqueue_many([Queue.prepare_data(rq_jobs.record, ("order", "m%d" % i), job_id="m%d" % i)
                           for i in range(3)])
    assert [j.id for j in many] == ["m0", "m1", "m2"] and q.job_ids == ["m0", "m1", "m2"]
    first = q.enqueue(rq_jobs.record, "order", "first", at_front=True)
    assert q.job_ids[0] == first.id
    assert first.get_position() == 0 and many[2].get_position() == 3
    ok = q.enqueue(rq_jobs.add, 1, 2, on_success=rq_jobs.on_success)
    bad = q.enqueue(rq_jobs.boom, on_failure=rq_jobs.on_failure)
    doomed = q.enqueue(rq_jobs.record, "order", "deleted")
    doomed.delete()
    assert not Job.exists(doomed.id, connection=conn) and doomed.id not in q.job_ids
    assert [j.id if j else None for j in Job.fetch_many([ok.id, "nope"], connection=conn)] == [ok.id, None]
    work(conn, q)
    assert conn.lrange("order", 0, -1) == [b"first", b"m0", b"m1", b"m2"]
    assert conn.lrange("callbacks", 0, -1) == [("success:%s:3" % ok.id).encode(),
                                               ("failure:%s:ValueError" % bad.id).encode()]


def test_queues_in_priority_order(conn):
    high, default, low = (Queue(n, connection=conn) for n in ("high", "default", "low"))
    for i in range(2):
        low.enqueue(rq_jobs.record, "order", "low%d" % i)
        default.enqueue(rq_jobs.record, "order", "default%d" % i)
        high.enqueue(rq_jobs.record, "order", "high%d" % i)
    work(conn, high, default, low)
    assert conn.lrange("order", 0, -1) == [b"high0", b"high1", b"default0", b"default1", b"low0", b"low1"]


def test_worker_killed_mid_job(server, conn):
    q = Queue("slow", connection=conn)
    j = q.enqueue(rq_jobs.sleep_then, "slow:flag", 30, job_timeout=60)
    w = worker_process(server, "slow", "simple")
    try:
        assert wait_for(lambda: conn.get("slow:flag") == b"running", timeout=10)
        assert j.get_status() == JobStatus.STARTED
        assert len(Worker.all(connection=conn)) == 1
    finally:
        w.kill()  # SIGKILL: nothing of RQ's runs after this
        w.wait()
    assert w.returncode == -signal.SIGKILL
    started = StartedJobRegistry(queue=q)
    assert started.get_job_ids() == [j.id] and j.get_status() == JobStatus.STARTED
    # Not expired yet, so a cleanup now leaves it.
    started.cleanup()
    assert started.get_job_ids() == [j.id]
    # Once its heartbeat deadline has passed, the cleanup RQ's workers run moves it
    # to the FailedJobRegistry.
    started.cleanup(timestamp=time.time() + 3600)
    assert started.get_job_ids() == []
    assert FailedJobRegistry(queue=q).get_job_ids() == [j.id]
    assert j.get_status() == JobStatus.FAILED
    j.refresh()
    assert "Moved to FailedJobRegistry" in j.exc_info


def test_running_worker_scheduler_and_commands(server, conn):
    """A long-running forking worker with its scheduler process: a job enqueued in
    a second runs; RQ's worker commands arrive over pub/sub (the worker listens on
    rq:pubsub:<name> in a thread): stop-job kills the horse, shutdown stops it."""
    q = Queue("live", connection=conn)
    w = worker_process(server, "live", "fork")
    try:
        assert wait_for(lambda: len(Worker.all(connection=conn)) == 1, timeout=10)
        name = Worker.all(connection=conn)[0].name
        assert wait_for(lambda: conn.pubsub_numsub("rq:pubsub:" + name)[0][1] == 1, timeout=5)
        soon = q.enqueue_in(timedelta(seconds=1), rq_jobs.add, 40, 2)
        assert wait_for(lambda: soon.get_status() == JobStatus.FINISHED, timeout=10)
        assert soon.return_value(refresh=True) == 42

        slow = q.enqueue(rq_jobs.sleep_then, "live:flag", 30)
        assert wait_for(lambda: conn.get("live:flag") == b"running", timeout=10)
        send_stop_job_command(conn, slow.id)
        assert wait_for(lambda: slow.get_status() == JobStatus.STOPPED, timeout=10)
        assert FailedJobRegistry(queue=q).get_job_ids() == [slow.id]

        send_shutdown_command(conn, name)
        assert w.wait(timeout=10) == 0
    finally:
        if w.poll() is None:
            w.kill()
            w.wait()
    assert Worker.all(connection=conn) == []


def test_two_workers_share_a_queue(server, conn):
    """Two long-running workers blocked in BLPOP on one queue: every job runs
    exactly once."""
    q = Queue("shared", connection=conn)
    workers = [worker_process(server, "shared", "simple") for _ in range(2)]
    try:
        assert wait_for(lambda: len(Worker.all(connection=conn)) == 2, timeout=10)
        jobs = [q.enqueue(rq_jobs.record, "ran", "j%d" % i) for i in range(60)]
        reg = FinishedJobRegistry(queue=q)
        assert wait_for(lambda: reg.count == 60, timeout=20)
    finally:
        for w in workers:
            w.terminate()  # SIGTERM: RQ's warm shutdown
        rcs = [w.wait(timeout=10) for w in workers]
    ran = conn.lrange("ran", 0, -1)
    assert sorted(ran) == sorted(b"j%d" % i for i in range(60))
    assert all(j.get_status() == JobStatus.FINISHED for j in jobs)
    assert rcs == [0, 0] and Worker.all(connection=conn) == []


def test_results_in_streams(conn):
    """RQ's result path: the worker XADDs each result (MAXLEN ~ 10) to rq:results:<id>;
    Result / latest_result() / return_value() read it back with XREVRANGE and XLEN."""
    q = Queue("default", connection=conn)
    j = q.enqueue(rq_jobs.add, 20, 22)
    bad = q.enqueue(rq_jobs.boom)
    assert work(conn, q)
    key = Result.get_key(j.id)
    assert conn.type(key) == b"stream" and conn.xlen(key) == 1
    assert j.get_status() == JobStatus.FINISHED
    assert j.return_value(refresh=True) == 42
    latest = j.latest_result()
    assert latest.type == Result.Type.SUCCESSFUL and latest.return_value == 42
    assert Result.count(j) == 1 and [x.return_value for x in Result.all(j)] == [42]
    failed = bad.latest_result()
    assert failed.type == Result.Type.FAILED and "ValueError: boom 42" in failed.exc_string
    assert bad.return_value() is None
    # each run adds a result; all() is newest first, latest_result() the newest
    for _ in range(2):
        q.enqueue_job(j)
        assert work(conn, q)
    results = Result.all(j)
    assert Result.count(j) == 3 and len({x.id for x in results}) == 3
    assert [x.id for x in results] == sorted((x.id for x in results), key=lambda i: [int(p) for p in i.split("-")],
                                             reverse=True)
    assert j.latest_result().id == results[0].id
    assert all(x.type == Result.Type.SUCCESSFUL and x.return_value == 42 for x in results)
    Result.delete_all(j)
    assert conn.exists(key) == 0 and j.latest_result() is None and Result.all(j) == []
