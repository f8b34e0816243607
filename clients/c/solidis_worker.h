/*
 * solidis_worker.h — a job worker for Solidis's JOB.* commands, on hiredis.
 *
 * A worker fetches one job at a time (JOB.FETCH ... COUNT 1 LEASE ms BLOCK ms),
 * runs your handler, then acknowledges it (JOB.ACK) or hands it back for a
 * retry (JOB.NACK ... ERROR text). While the handler runs, a heartbeat thread
 * on a second connection renews the lease (JOB.EXTEND) so long jobs are not
 * redelivered. A lost connection is re-established with exponential backoff;
 * the job in hand is still acknowledged once the server is back (if its lease
 * ran out meanwhile the server has redelivered it: delivery is at least once).
 *
 * Stopping: swWorkerStop() (async-signal-safe; swWorkerHandleSignals() wires
 * it to SIGTERM and SIGINT) lets the current job finish and be acknowledged,
 * fetches nothing more, and makes swWorkerRun() return 0.
 *
 *     static int handle(swWorker *w, const swJob *job, void *ud) {
 *         if (send_email(job->payload, job->payload_len) != 0) {
 *             swJobFail(w, "smtp refused", 12);   // optional error text
 *             return -1;                          // -> JOB.NACK
 *         }
 *         return 0;                               // -> JOB.ACK
 *     }
 *     swOptions o; swOptionsInit(&o); o.port = 6380;
 *     const char *queues[] = {"emails"};
 *     swWorker *w = swWorkerNew(&o, queues, 1, handle, NULL);
 *     swWorkerHandleSignals(w);
 *     int rc = swWorkerRun(w);                    // blocks until stopped
 *     if (rc != 0) fprintf(stderr, "%s\n", swWorkerError(w));
 *     swWorkerFree(w);
 *
 * Memory: everything the library hands out (swJob, error strings, stats) is
 * owned by the library; a swJob and its strings are valid only during the
 * handler call. Strings you pass in (options, queue names, error text) are
 * copied. The worker itself is freed with swWorkerFree().
 *
 * Threads: swWorkerRun() runs the handler on the calling thread. One worker
 * object is driven by one thread; run several workers for concurrency.
 */
#ifndef SOLIDIS_WORKER_H
#define SOLIDIS_WORKER_H

#include <stddef.h>
#include <hiredis/hiredis.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels passed to swOptions.log. */
enum { SW_LOG_DEBUG = 0, SW_LOG_INFO = 1, SW_LOG_WARN = 2, SW_LOG_ERROR = 3 };

typedef struct swOptions {
    const char *host;        /* default "127.0.0.1" */
    int port;                /* default 6379 */
    const char *password;    /* NULL or "": no AUTH */
    long long lease_ms;      /* LEASE for each fetch; default 30000 */
    long long block_ms;      /* BLOCK for each fetch; default 5000 */
    long long heartbeat_ms;  /* JOB.EXTEND period while a handler runs; 0 = lease_ms / 3 */
    const char *worker_name; /* WORKER name; NULL = "hostname:pid" */
    long long max_jobs;      /* stop after this many jobs; 0 = no limit */
    int connect_timeout_ms;  /* default 5000 */
    /* Diagnostics (connection lost, reconnected, lease lost...). NULL: lines
     * on stderr for WARN and above. msg has no trailing newline. Called from
     * the worker's thread and from its heartbeat thread (never both at once). */
    void (*log)(void *userdata, int level, const char *msg);
} swOptions;

/* A fetched job. Owned by the library; valid during the handler call only. */
typedef struct swJob {
    const char *id;          /* NUL-terminated */
    const char *queue;       /* NUL-terminated */
    const char *payload;     /* binary-safe; also NUL-terminated */
    size_t payload_len;
    long long attempt;       /* 1 on the first delivery */
} swJob;

typedef struct swWorker swWorker;

/* Return 0 to acknowledge the job, anything else to NACK it (retried with the
 * job's backoff, or dead after its RETRIES). userdata is swWorkerNew's. */
typedef int (*swHandler)(swWorker *w, const swJob *job, void *userdata);

typedef struct swStats {
    long long fetched;       /* jobs handed to the handler */
    long long acked;         /* ACKs the server accepted */
    long long nacked;        /* NACKs the server accepted */
    long long lost;          /* ACK/NACK the server refused (lease ran out, job gone) */
    long long reconnects;    /* connections re-established after a loss */
} swStats;

void swOptionsInit(swOptions *o);

/* Connect (and AUTH if password is set); the reply-read timeout is
 * timeout_ms too. Returns a context the caller frees with redisFree(), or NULL
 * with a message in err (if errlen > 0). For producers and tools. */
redisContext *swConnect(const char *host, int port, const char *password, int timeout_ms, char *err,
                        size_t errlen);

/* NULL on bad arguments (no queues, no handler) or out of memory.
 * Nothing connects before swWorkerRun(). */
swWorker *swWorkerNew(const swOptions *o, const char *const *queues, int nqueues, swHandler handler,
                      void *userdata);

/* Fetch and handle jobs until stopped (returns 0) or a fatal error: the
 * server refuses the password or lacks the JOB.* commands (returns -1, see
 * swWorkerError). Connection losses are not fatal: they are retried. */
int swWorkerRun(swWorker *w);

/* Ask a running worker to stop after the current job. Async-signal-safe and
 * callable from any thread. */
void swWorkerStop(swWorker *w);

/* How many times stop was requested (tools escalate on the second). */
int swWorkerStopRequests(const swWorker *w);

/* Install SIGTERM and SIGINT handlers that call swWorkerStop(w), and ignore
 * SIGPIPE. One worker per process can own the signals. Returns 0 or -1. */
int swWorkerHandleSignals(swWorker *w);

/* Inside a handler: the error text sent with the NACK if the handler fails
 * (copied; the last call wins). Default: "handler failed". */
void swJobFail(swWorker *w, const char *text, size_t len);

/* Inside a handler: NACK with DELAY ms instead of the job's own backoff. */
void swJobRetryIn(swWorker *w, long long delay_ms);

/* The last fatal error, "" if none. Owned by the worker. */
const char *swWorkerError(const swWorker *w);

/* Counters so far. Owned by the worker. */
const swStats *swWorkerGetStats(const swWorker *w);

void swWorkerFree(swWorker *w);

#ifdef __cplusplus
}
#endif

#endif
