"""Job functions for tests/integration/test_rq.py: RQ workers import jobs by
module path, so they live in a module of their own (this folder is on sys.path
for the tests; the subprocess worker gets it through PYTHONPATH).

Run as a script, it is a long-running worker (RQ's default, streams path):
    python3 rq_jobs.py PORT QUEUE simple   -> a SimpleWorker: the job runs in
                                              this process (no work horse)
    python3 rq_jobs.py PORT QUEUE fork     -> a Worker (a forked horse per job)
                                              that also runs RQ's scheduler
"""
import sys
import time

from rq import get_current_job


def add(a, b):
    return a + b


def boom():
    raise ValueError("boom %d" % 42)


def own_status():
    """The job's status as the job itself sees it while it runs."""
    return get_current_job().get_status()


def flaky(key, failures):
    """Fails the first `failures` runs (counted in `key`), then answers the run number."""
    n = get_current_job().connection.incr(key)
    if n <= failures:
        raise RuntimeError("attempt %d fails" % n)
    return n


def record(key, name):
    """Appends `name` to the list `key` (the order jobs ran in)."""
    get_current_job().connection.rpush(key, name)
    return name


def progress(steps):
    job = get_current_job()
    for i in range(1, steps + 1):
        job.meta["progress"] = i
        job.save_meta()
    return job.meta.get("tag")


def on_success(job, connection, result, *args, **kwargs):
    connection.rpush("callbacks", "success:%s:%s" % (job.id, result))


def on_failure(job, connection, exc_type, exc_value, traceback):
    connection.rpush("callbacks", "failure:%s:%s" % (job.id, exc_type.__name__))


def sleep_then(key, seconds):
    get_current_job().connection.set(key, "running")
    time.sleep(seconds)
    return "woke"


if __name__ == "__main__":
    import redis
    from rq import Queue, SimpleWorker, Worker

    port, qname, kind = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    conn = redis.Redis(host="127.0.0.1", port=port)
    cls = SimpleWorker if kind == "simple" else Worker
    cls([Queue(qname, connection=conn)], connection=conn).work(burst=False, with_scheduler=kind == "fork")
