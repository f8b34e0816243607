/*
 * solidis_worker.c — the worker loop behind solidis_worker.h.
 *
 * Two connections, two threads:
 *   - the caller's thread owns the main connection: JOB.FETCH (blocking, one
 *     job, with a lease), runs the handler, then JOB.ACK or JOB.NACK;
 *   - a heartbeat thread owns a second connection: while a handler runs it
 *     sends JOB.EXTEND every heartbeat_ms, and once a stop is requested while
 *     the main connection is parked in JOB.FETCH it sends CLIENT UNBLOCK so the
 *     worker stops at once instead of after BLOCK ms.
 * hiredis contexts are not thread-safe, hence one per thread. The threads
 * share a few fields under `mu`; a non-blocking pipe wakes the heartbeat
 * thread (from the main thread and from the signal handler: write() is
 * async-signal-safe, condition variables are not).
 *
 * A fetched job is always finished: even when a stop arrives during the
 * fetch, a job that came back is handled and acknowledged before
 * swWorkerRun() returns. Connection losses are retried with exponential
 * backoff and jitter (100 ms doubling to 5 s).
 */
#include "solidis_worker.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000
#define UNBLOCK_EVERY_MS 100
#define HB_TIMEOUT_MS 5000
#define ACK_TRIES_WHEN_STOPPING 5

struct swWorker {
    swOptions o; /* host, password, worker_name point at copies below */
    char *host, *password, *worker_name;
    char **queues;
    int nqueues;
    swHandler handler;
    void *userdata;

    redisContext *c; /* main connection, main thread only */
    int main_fails;  /* consecutive failed connects of the main connection */
    bool connected_once;

    /* current handler's verdict (main thread only) */
    char *fail_text;
    size_t fail_len;
    long long retry_delay_ms;
    bool in_handler;

    /* shared with the heartbeat thread, under mu */
    pthread_mutex_t mu;
    char *hb_job;           /* job whose lease the heartbeat renews; NULL none */
    long long hb_next;      /* monotonic ms of the next JOB.EXTEND */
    bool in_fetch;          /* main connection is waiting for JOB.FETCH */
    long long main_cid;     /* CLIENT ID of the main connection, 0 unknown */
    bool quit;
    pthread_t hb_thread;
    bool hb_started;

    pthread_mutex_t log_mu;
    int wake[2];            /* wakes the heartbeat thread */
    int stop_requests;      /* __atomic; incremented by swWorkerStop */

    swStats stats;
    char err[512];
    unsigned int seed;
};

static swWorker *signal_worker; /* the worker swWorkerHandleSignals() bound */

/* ---------------------------------------------------------------- helpers */

static long long monoMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *dupStr(const char *s) {
    return s ? strdup(s) : NULL;
}

static void wlog(swWorker *w, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void wlog(swWorker *w, int level, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&w->log_mu);
    if (w->o.log)
        w->o.log(w->userdata, level, msg);
    else if (level >= SW_LOG_WARN)
        fprintf(stderr, "solidis-worker: %s\n", msg);
    pthread_mutex_unlock(&w->log_mu);
}

static bool stopping(const swWorker *w) {
    return __atomic_load_n(&w->stop_requests, __ATOMIC_SEQ_CST) > 0;
}

/* Exponential backoff with +-25% jitter for the n-th consecutive failure. */
static long long backoffMs(int n, unsigned int *seed) {
    long long d = BACKOFF_MIN_MS;
    for (int i = 1; i < n && d < BACKOFF_MAX_MS; i++) d *= 2;
    if (d > BACKOFF_MAX_MS) d = BACKOFF_MAX_MS;
    long long jitter = d / 4;
    return d - jitter + (long long)(rand_r(seed) % (unsigned int)(2 * jitter + 1));
}

/* Sleep ms, waking early when a stop is requested. */
static void sleepUnlessStopped(swWorker *w, long long ms) {
    long long end = monoMs() + ms;
    while (!stopping(w)) {
        long long left = end - monoMs();
        if (left <= 0) return;
        if (left > 20) left = 20;
        struct timespec ts = {0, left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void wakeHeartbeat(swWorker *w) {
    int saved = errno;
    ssize_t n = write(w->wake[1], "x", 1); /* full pipe: already awake */
    (void)n;
    errno = saved;
}

/* An error reply the server may give while it is busy or starting. */
static bool transientError(const char *e) {
    static const char *const prefixes[] = {"LOADING", "BUSY", "TRYAGAIN", "MASTERDOWN", "CLUSTERDOWN", NULL};
    for (int i = 0; prefixes[i]; i++)
        if (strncmp(e, prefixes[i], strlen(prefixes[i])) == 0) return true;
    return false;
}

/* ------------------------------------------------------------- connecting */

/* Connect and AUTH. On failure returns NULL, fills err, and sets *fatal when
 * retrying cannot help (the server refused the password). */
static redisContext *connectCtx(const char *host, int port, const char *password, int timeout_ms, char *err,
                                size_t errlen, bool *fatal) {
    if (fatal) *fatal = false;
    if (timeout_ms <= 0) timeout_ms = 5000;
    struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        if (errlen) snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, c ? c->errstr : "out of memory");
        if (c) redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    redisEnableKeepAlive(c);
    if (password && password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", password);
        if (!r) {
            if (errlen) snprintf(err, errlen, "connection to %s:%d lost during AUTH: %s", host, port, c->errstr);
            redisFree(c);
            return NULL;
        }
        if (r->type == REDIS_REPLY_ERROR) {
            if (errlen) snprintf(err, errlen, "AUTH refused by %s:%d: %s", host, port, r->str);
            if (fatal) *fatal = !transientError(r->str);
            freeReplyObject(r);
            redisFree(c);
            return NULL;
        }
        freeReplyObject(r);
    }
    return c;
}

redisContext *swConnect(const char *host, int port, const char *password, int timeout_ms, char *err,
                        size_t errlen) {
    return connectCtx(host ? host : "127.0.0.1", port > 0 ? port : 6379, password, timeout_ms, err, errlen, NULL);
}

static void dropMain(swWorker *w, const char *during) {
    wlog(w, SW_LOG_WARN, "connection lost during %s: %s", during, w->c->errstr[0] ? w->c->errstr : "closed");
    redisFree(w->c);
    w->c = NULL;
    pthread_mutex_lock(&w->mu);
    w->main_cid = 0;
    pthread_mutex_unlock(&w->mu);
}

/* Make sure the main connection is up. 0 ok, -1 retry later (after backoff,
 * already slept), -2 fatal (w->err set). */
static int ensureMain(swWorker *w) {
    if (w->c) return 0;
    char err[256];
    bool fatal;
    redisContext *c = connectCtx(w->o.host, w->o.port, w->o.password, w->o.connect_timeout_ms, err, sizeof err,
                                 &fatal);
    if (!c) {
        if (fatal) {
            snprintf(w->err, sizeof w->err, "%s", err);
            return -2;
        }
        w->main_fails++;
        long long d = backoffMs(w->main_fails, &w->seed);
        wlog(w, SW_LOG_WARN, "%s; retrying in %lld ms", err, d);
        sleepUnlessStopped(w, d);
        return -1;
    }
    /* FETCH blocks up to block_ms: allow that plus slack before calling the
     * server unresponsive. */
    long long t = w->o.block_ms + 10000;
    struct timeval tv = {(time_t)(t / 1000), (suseconds_t)((t % 1000) * 1000)};
    redisSetTimeout(c, tv);
    long long cid = 0;
    redisReply *r = redisCommand(c, "CLIENT ID");
    if (r && r->type == REDIS_REPLY_INTEGER) cid = r->integer;
    if (r) freeReplyObject(r);
    if (!r) {
        wlog(w, SW_LOG_WARN, "connection lost after connect: %s", c->errstr);
        redisFree(c);
        w->main_fails++;
        sleepUnlessStopped(w, backoffMs(w->main_fails, &w->seed));
        return -1;
    }
    w->c = c;
    if (w->connected_once) {
        w->stats.reconnects++;
        wlog(w, SW_LOG_INFO, "reconnected to %s:%d", w->o.host, w->o.port);
    } else {
        wlog(w, SW_LOG_DEBUG, "connected to %s:%d as %s", w->o.host, w->o.port, w->o.worker_name);
    }
    w->connected_once = true;
    w->main_fails = 0;
    pthread_mutex_lock(&w->mu);
    w->main_cid = cid;
    pthread_mutex_unlock(&w->mu);
    return 0;
}

/* -------------------------------------------------------------- heartbeat */

static void *heartbeatMain(void *arg) {
    swWorker *w = arg;
    redisContext *hc = NULL;
    int fails = 0;
    long long next_connect = 0, last_unblock = 0;
    unsigned int seed = w->seed ^ 0x9e3779b9u;

    for (;;) {
        pthread_mutex_lock(&w->mu);
        bool quit = w->quit;
        char *job = w->hb_job ? strdup(w->hb_job) : NULL;
        long long next = w->hb_next;
        bool in_fetch = w->in_fetch;
        long long cid = w->main_cid;
        pthread_mutex_unlock(&w->mu);
        if (quit) {
            free(job);
            break;
        }

        long long now = monoMs();
        bool want_unblock = stopping(w) && in_fetch && cid > 0 && now - last_unblock >= UNBLOCK_EVERY_MS;
        bool want_extend = job && now >= next;
        if ((want_unblock || want_extend) && !hc && now >= next_connect) {
            char err[256];
            hc = connectCtx(w->o.host, w->o.port, w->o.password, HB_TIMEOUT_MS, err, sizeof err, NULL);
            if (!hc) {
                fails++;
                next_connect = now + backoffMs(fails, &seed);
                if (job) wlog(w, SW_LOG_WARN, "heartbeat: %s", err);
            } else {
                fails = 0;
            }
        }
        if (hc && want_unblock) {
            last_unblock = now;
            char id[32];
            snprintf(id, sizeof id, "%lld", cid);
            const char *argv[] = {"CLIENT", "UNBLOCK", id};
            redisReply *r = redisCommandArgv(hc, 3, argv, NULL);
            if (r) freeReplyObject(r);
            else {
                redisFree(hc);
                hc = NULL;
            }
        }
        if (want_extend) {
            bool ok = false, refused = false;
            char why[256] = "";
            if (hc) {
                char ms[32];
                snprintf(ms, sizeof ms, "%lld", w->o.lease_ms);
                const char *argv[] = {"JOB.EXTEND", job, ms};
                redisReply *r = redisCommandArgv(hc, 3, argv, NULL);
                if (!r) {
                    snprintf(why, sizeof why, "connection lost: %s", hc->errstr);
                    redisFree(hc);
                    hc = NULL;
                } else {
                    if (r->type == REDIS_REPLY_ERROR) {
                        refused = true;
                        snprintf(why, sizeof why, "%s", r->str);
                    } else if (r->type == REDIS_REPLY_INTEGER && r->integer == 0) {
                        refused = true;
                        snprintf(why, sizeof why, "the job is no longer leased to this worker");
                    } else {
                        ok = true;
                    }
                    freeReplyObject(r);
                }
            }
            pthread_mutex_lock(&w->mu);
            bool current = w->hb_job && strcmp(w->hb_job, job) == 0;
            if (current) {
                long long period = w->o.heartbeat_ms;
                /* After a failure retry sooner, but do not spin. */
                if (!ok && !refused && period > 500) period = 500;
                w->hb_next = monoMs() + period;
                if (refused) w->hb_next = monoMs() + w->o.lease_ms; /* don't nag every period */
            }
            pthread_mutex_unlock(&w->mu);
            if (current && refused) wlog(w, SW_LOG_WARN, "job %s: lease not extended: %s", job, why);
            else if (current && !ok && hc == NULL && why[0]) wlog(w, SW_LOG_WARN, "job %s: heartbeat %s", job, why);
        }
        free(job);

        /* Sleep until the next thing to do, or until woken. */
        pthread_mutex_lock(&w->mu);
        int timeout = -1;
        now = monoMs();
        if (w->hb_job) {
            long long t = w->hb_next - now;
            if (!hc && next_connect > now && next_connect - now > t) t = next_connect - now;
            timeout = t < 0 ? 0 : (int)(t > 60000 ? 60000 : t);
        }
        if (stopping(w) && w->in_fetch && w->main_cid > 0) {
            long long t = last_unblock + UNBLOCK_EVERY_MS - now;
            if (t < 0) t = 0;
            if (timeout < 0 || t < timeout) timeout = (int)t;
        }
        pthread_mutex_unlock(&w->mu);
        struct pollfd p = {w->wake[0], POLLIN, 0};
        if (poll(&p, 1, timeout) > 0) {
            char buf[64];
            while (read(w->wake[0], buf, sizeof buf) > 0) {
            }
        }
    }
    if (hc) redisFree(hc);
    return NULL;
}

static void heartbeatSet(swWorker *w, const char *job) {
    pthread_mutex_lock(&w->mu);
    free(w->hb_job);
    w->hb_job = job ? strdup(job) : NULL;
    w->hb_next = monoMs() + w->o.heartbeat_ms;
    pthread_mutex_unlock(&w->mu);
    wakeHeartbeat(w);
}

/* ------------------------------------------------------------ the worker */

void swOptionsInit(swOptions *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 6379;
    o->lease_ms = 30000;
    o->block_ms = 5000;
    o->connect_timeout_ms = 5000;
}

swWorker *swWorkerNew(const swOptions *o, const char *const *queues, int nqueues, swHandler handler,
                      void *userdata) {
    if (!o || !queues || nqueues <= 0 || !handler || o->lease_ms <= 0 || o->block_ms < 0) return NULL;
    swWorker *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->o = *o;
    w->host = dupStr(o->host && o->host[0] ? o->host : "127.0.0.1");
    w->password = dupStr(o->password);
    if (o->worker_name && o->worker_name[0]) {
        w->worker_name = dupStr(o->worker_name);
    } else {
        char host[256] = "worker";
        gethostname(host, sizeof host - 1);
        host[sizeof host - 1] = '\0';
        char name[300];
        snprintf(name, sizeof name, "%s:%d", host, (int)getpid());
        w->worker_name = dupStr(name);
    }
    w->o.host = w->host;
    w->o.password = w->password;
    w->o.worker_name = w->worker_name;
    if (w->o.port <= 0) w->o.port = 6379;
    if (w->o.heartbeat_ms <= 0) w->o.heartbeat_ms = w->o.lease_ms / 3;
    if (w->o.heartbeat_ms < 10) w->o.heartbeat_ms = 10;
    if (w->o.connect_timeout_ms <= 0) w->o.connect_timeout_ms = 5000;
    w->queues = calloc((size_t)nqueues, sizeof *w->queues);
    w->nqueues = nqueues;
    w->handler = handler;
    w->userdata = userdata;
    w->retry_delay_ms = -1;
    w->seed = (unsigned int)(getpid() ^ monoMs());
    w->wake[0] = w->wake[1] = -1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_mutex_init(&w->log_mu, NULL);
    bool ok = w->host && w->worker_name && w->queues && (!o->password || w->password);
    for (int i = 0; ok && i < nqueues; i++) {
        w->queues[i] = queues[i] ? strdup(queues[i]) : NULL;
        ok = w->queues[i] != NULL;
    }
    if (ok && pipe2(w->wake, O_NONBLOCK | O_CLOEXEC) != 0) ok = false;
    if (!ok) {
        swWorkerFree(w);
        return NULL;
    }
    return w;
}

void swWorkerFree(swWorker *w) {
    if (!w) return;
    if (signal_worker == w) signal_worker = NULL;
    if (w->c) redisFree(w->c);
    for (int i = 0; w->queues && i < w->nqueues; i++) free(w->queues[i]);
    free(w->queues);
    free(w->host);
    free(w->password);
    free(w->worker_name);
    free(w->fail_text);
    free(w->hb_job);
    if (w->wake[0] >= 0) close(w->wake[0]);
    if (w->wake[1] >= 0) close(w->wake[1]);
    pthread_mutex_destroy(&w->mu);
    pthread_mutex_destroy(&w->log_mu);
    free(w);
}

void swWorkerStop(swWorker *w) {
    if (!w) return;
    __atomic_add_fetch(&w->stop_requests, 1, __ATOMIC_SEQ_CST);
    wakeHeartbeat(w);
}

int swWorkerStopRequests(const swWorker *w) {
    return __atomic_load_n(&w->stop_requests, __ATOMIC_SEQ_CST);
}

static void onStopSignal(int sig) {
    (void)sig;
    swWorkerStop(signal_worker);
}

int swWorkerHandleSignals(swWorker *w) {
    signal_worker = w;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = onStopSignal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0) return -1;
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

void swJobFail(swWorker *w, const char *text, size_t len) {
    if (!w || !w->in_handler) return;
    char *copy = malloc(len + 1);
    if (!copy) return;
    memcpy(copy, text, len);
    copy[len] = '\0';
    free(w->fail_text);
    w->fail_text = copy;
    w->fail_len = len;
}

void swJobRetryIn(swWorker *w, long long delay_ms) {
    if (w && w->in_handler && delay_ms >= 0) w->retry_delay_ms = delay_ms;
}

const char *swWorkerError(const swWorker *w) {
    return w->err;
}

const swStats *swWorkerGetStats(const swWorker *w) {
    return &w->stats;
}

typedef struct fetched {
    redisReply *reply; /* owns the strings job points at */
    char idbuf[32];    /* an integer id as text */
    swJob job;
} fetched;

/* A bulk/status reply's text (hiredis NUL-terminates it), or an integer's in
 * buf; NULL for anything else. */
static const char *replyText(const redisReply *r, char *buf, size_t cap) {
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS) return r->str;
    if (r->type == REDIS_REPLY_INTEGER && buf) {
        snprintf(buf, cap, "%lld", r->integer);
        return buf;
    }
    return NULL;
}

/* Fill f from one [id, queue, payload, attempt] element. */
static bool parseJob(const redisReply *e, fetched *f) {
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 4) return false;
    const redisReply *p = e->element[2], *a = e->element[3];
    f->job.id = replyText(e->element[0], f->idbuf, sizeof f->idbuf);
    f->job.queue = replyText(e->element[1], NULL, 0);
    if (!f->job.id || !f->job.queue || p->type != REDIS_REPLY_STRING) return false;
    f->job.payload = p->str;
    f->job.payload_len = p->len;
    f->job.attempt = a->type == REDIS_REPLY_INTEGER ? a->integer
                     : a->type == REDIS_REPLY_STRING ? strtoll(a->str, NULL, 10)
                                                     : 0;
    return true;
}

/* One JOB.FETCH. 1 = a job in f (free f->reply), 0 = none, -1 = connection
 * lost, -2 = fatal (w->err set). */
static int fetchOne(swWorker *w, fetched *f) {
    int argc = 0;
    const char *argv[16 + 64];
    char lease[32], block[32];
    const char **av = argv;
    const char **heap = NULL;
    if (w->nqueues + 9 > (int)(sizeof argv / sizeof argv[0])) {
        heap = malloc(sizeof *heap * (size_t)(w->nqueues + 9));
        if (!heap) return -1;
        av = heap;
    }
    av[argc++] = "JOB.FETCH";
    for (int i = 0; i < w->nqueues; i++) av[argc++] = w->queues[i];
    snprintf(lease, sizeof lease, "%lld", w->o.lease_ms);
    snprintf(block, sizeof block, "%lld", w->o.block_ms);
    av[argc++] = "COUNT";
    av[argc++] = "1";
    av[argc++] = "LEASE";
    av[argc++] = lease;
    av[argc++] = "BLOCK";
    av[argc++] = block;
    av[argc++] = "WORKER";
    av[argc++] = w->o.worker_name;

    /* in_fetch is set before the last stop check: a stop requested after
     * that check finds in_fetch set and the heartbeat unblocks us. */
    pthread_mutex_lock(&w->mu);
    w->in_fetch = true;
    pthread_mutex_unlock(&w->mu);
    redisReply *r = NULL;
    bool sent = !stopping(w);
    if (sent) r = redisCommandArgv(w->c, argc, av, NULL);
    pthread_mutex_lock(&w->mu);
    w->in_fetch = false;
    pthread_mutex_unlock(&w->mu);
    free(heap);
    if (!sent) return 0;
    if (!r) {
        dropMain(w, "JOB.FETCH");
        return -1;
    }
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR) {
        if (strncmp(r->str, "UNBLOCKED", 9) == 0) {
            rc = 0;
        } else if (transientError(r->str)) {
            wlog(w, SW_LOG_WARN, "JOB.FETCH: %s", r->str);
            rc = -1;
            redisFree(w->c);
            w->c = NULL;
        } else if (strcasestr(r->str, "unknown command")) {
            snprintf(w->err, sizeof w->err, "the server does not know JOB.FETCH (is it Solidis with the job queue?): %s",
                     r->str);
            rc = -2;
        } else {
            snprintf(w->err, sizeof w->err, "JOB.FETCH refused: %s", r->str);
            rc = -2;
        }
        freeReplyObject(r);
        return rc;
    }
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0) {
        /* An array of jobs; tolerate a bare [id, queue, payload, attempt] too. */
        const redisReply *e = r->element[0]->type == REDIS_REPLY_ARRAY ? r->element[0] : r;
        if (parseJob(e, f)) {
            f->reply = r;
            return 1;
        }
        snprintf(w->err, sizeof w->err, "JOB.FETCH: unexpected reply shape");
        freeReplyObject(r);
        return -2;
    }
    freeReplyObject(r); /* nil: timed out */
    return 0;
}

/* ACK or NACK the job, across reconnects. */
static void finishJob(swWorker *w, const swJob *job, bool ok) {
    const char *argv[6];
    int argc = 0;
    size_t lens[6];
    char delay[32];
    const char *err = w->fail_text ? w->fail_text : "handler failed";
    size_t errlen = w->fail_text ? w->fail_len : strlen(err);
    argv[argc] = ok ? "JOB.ACK" : "JOB.NACK";
    lens[argc] = strlen(argv[argc]);
    argc++;
    argv[argc] = job->id;
    lens[argc++] = strlen(job->id);
    if (!ok) {
        if (w->retry_delay_ms >= 0) {
            snprintf(delay, sizeof delay, "%lld", w->retry_delay_ms);
            argv[argc] = "DELAY";
            lens[argc++] = 5;
            argv[argc] = delay;
            lens[argc] = strlen(delay);
            argc++;
        }
        argv[argc] = "ERROR";
        lens[argc++] = 5;
        argv[argc] = err;
        lens[argc++] = errlen;
    }
    int tries = 0;
    for (;;) {
        if (stopping(w) && tries >= ACK_TRIES_WHEN_STOPPING) {
            wlog(w, SW_LOG_WARN, "job %s: giving up on %s while stopping; the server redelivers it when its lease runs out",
                 job->id, argv[0]);
            return;
        }
        tries++;
        int c = ensureMain(w);
        if (c == -2) {
            wlog(w, SW_LOG_ERROR, "job %s: cannot %s: %s", job->id, argv[0], w->err);
            return;
        }
        if (c == -1) {
            /* ensureMain's backoff sleep ends early once stopping: pace the
             * remaining tries anyway. */
            if (stopping(w)) nanosleep(&(struct timespec){0, 200000000L}, NULL);
            continue;
        }
        redisReply *r = redisCommandArgv(w->c, argc, argv, lens);
        if (!r) {
            dropMain(w, argv[0]);
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR && transientError(r->str)) {
            freeReplyObject(r);
            nanosleep(&(struct timespec){0, 200000000L}, NULL);
            continue;
        }
        if (r->type == REDIS_REPLY_ERROR || (r->type == REDIS_REPLY_INTEGER && r->integer == 0)) {
            w->stats.lost++;
            wlog(w, SW_LOG_WARN, "job %s: %s refused: %s", job->id, argv[0],
                 r->type == REDIS_REPLY_ERROR ? r->str : "the job is no longer leased to this worker (lease expired?)");
        } else if (ok) {
            w->stats.acked++;
        } else {
            w->stats.nacked++;
        }
        freeReplyObject(r);
        return;
    }
}

static void runJob(swWorker *w, fetched *f) {
    w->stats.fetched++;
    free(w->fail_text);
    w->fail_text = NULL;
    w->fail_len = 0;
    w->retry_delay_ms = -1;
    heartbeatSet(w, f->job.id);
    w->in_handler = true;
    int rc = w->handler(w, &f->job, w->userdata);
    w->in_handler = false;
    heartbeatSet(w, NULL);
    finishJob(w, &f->job, rc == 0);
    free(w->fail_text);
    w->fail_text = NULL;
}

int swWorkerRun(swWorker *w) {
    w->err[0] = '\0';
    pthread_mutex_lock(&w->mu);
    w->quit = false;
    pthread_mutex_unlock(&w->mu);
    /* Stop signals are handled on the caller's thread (the heartbeat thread
     * is woken through the pipe either way): block them in the new thread. */
    sigset_t all, old;
    sigemptyset(&all);
    sigaddset(&all, SIGTERM);
    sigaddset(&all, SIGINT);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    int e = pthread_create(&w->hb_thread, NULL, heartbeatMain, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (e != 0) {
        snprintf(w->err, sizeof w->err, "cannot start the heartbeat thread: %s", strerror(e));
        return -1;
    }
    w->hb_started = true;

    int rc = 0;
    long long done = 0;
    while (!stopping(w)) {
        int c = ensureMain(w);
        if (c == -2) {
            rc = -1;
            break;
        }
        if (c == -1) continue;
        fetched f;
        memset(&f, 0, sizeof f);
        int got = fetchOne(w, &f);
        if (got == -2) {
            rc = -1;
            break;
        }
        if (got == -1) {
            w->main_fails++;
            sleepUnlessStopped(w, backoffMs(w->main_fails, &w->seed));
            continue;
        }
        if (got == 1) {
            runJob(w, &f);
            freeReplyObject(f.reply);
            done++;
            if (w->o.max_jobs > 0 && done >= w->o.max_jobs) break;
        }
    }

    pthread_mutex_lock(&w->mu);
    w->quit = true;
    pthread_mutex_unlock(&w->mu);
    wakeHeartbeat(w);
    pthread_join(w->hb_thread, NULL);
    w->hb_started = false;
    if (w->c) {
        redisFree(w->c);
        w->c = NULL;
    }
    return rc;
}
