#!/usr/bin/python3
"""producer_worker.py — Solidis's job queue (JOB.*) from Python, with redis-py.

No special client is needed: every JOB.* command goes through
redis-py's execute_command.

    python3 producer_worker.py produce [--port 6379] [--count 10]   # enqueue jobs on "emails"
    python3 producer_worker.py work    [--port 6379]                # handle them; Ctrl-C / SIGTERM
                                                                    # stops after the current job

The commands used:
    JOB.ADD queue payload [DELAY ms] [PRIORITY n] [RETRIES n] ...   -> job id
    JOB.FETCH queue [queue ...] COUNT n LEASE ms BLOCK ms          -> [[id, queue, payload, attempt], ...]
                                                                      or None when BLOCK ran out
    JOB.ACK id ...                    done
    JOB.NACK id ERROR text            failed: retried later with backoff, dead after RETRIES
    JOB.EXTEND id ms                  heartbeat: keep the lease while a long job runs
A job whose lease runs out (the worker died) goes back to ready on its own.
"""
import argparse
import json
import signal
import threading

import redis

QUEUE = "emails"
LEASE_MS = 30000


def produce(r, count):
    for i in range(count):
        payload = json.dumps({"to": "user%d@example.com" % i, "subject": "hello"})
        # Lower PRIORITY numbers run first; failed jobs are retried up to 5 times.
        job_id = r.execute_command("JOB.ADD", QUEUE, payload, "PRIORITY", i % 3, "RETRIES", 5)
        print("added", job_id.decode())
    # One in a minute, and one that nobody else may enqueue twice while it is pending.
    r.execute_command("JOB.ADD", QUEUE, json.dumps({"digest": True}), "DELAY", 60000)
    r.execute_command("JOB.ADD", QUEUE, json.dumps({"report": "daily"}), "UNIQUE", "daily-report")


def handle(payload):
    """Your work. Raise to fail the job."""
    job = json.loads(payload)
    if "to" in job and job["to"].startswith("user13@"):
        raise RuntimeError("mailbox full")
    print("  sending", job)


def work(r):
    stopping = threading.Event()

    def stop(signum, frame):
        print("stopping after the current job")
        stopping.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    while not stopping.is_set():
        # BLOCK waits on the server (no polling); 2 s bounds how long a stop waits.
        jobs = r.execute_command("JOB.FETCH", QUEUE, "COUNT", 1, "LEASE", LEASE_MS, "BLOCK", 2000)
        for job_id, queue, payload, attempt in jobs or []:
            print("job", job_id.decode(), "attempt", attempt)
            # Heartbeat: renew the lease every third of it while the handler runs.
            done = threading.Event()

            def heartbeat():
                while not done.wait(LEASE_MS / 3000):
                    r.execute_command("JOB.EXTEND", job_id, LEASE_MS)
            hb = threading.Thread(target=heartbeat, daemon=True)
            hb.start()
            try:
                handle(payload)
            except Exception as e:
                r.execute_command("JOB.NACK", job_id, "ERROR", "%s: %s" % (type(e).__name__, e))
                print("  failed:", e)
            else:
                r.execute_command("JOB.ACK", job_id)
            finally:
                done.set()
                hb.join()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["produce", "work"])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=6379)
    ap.add_argument("--password")
    ap.add_argument("--count", type=int, default=20)
    a = ap.parse_args()
    # socket_timeout must exceed JOB.FETCH's BLOCK.
    r = redis.Redis(host=a.host, port=a.port, password=a.password, socket_timeout=10)
    if a.mode == "produce":
        produce(r, a.count)
    else:
        work(r)


if __name__ == "__main__":
    main()
