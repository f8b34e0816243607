/*
 * jobload.c — bin/solidis-jobload, end-to-end job-queue load: P producer
 * connections add jobs while W worker connections fetch and acknowledge them,
 * each connection on its own thread. Reports jobs/s (first ADD to the last
 * ACK) and the ADD -> FETCH latency (p50/p90/p99/max): every payload starts
 * with the monotonic time its ADD was sent and its sequence number, padded to
 * --payload bytes, so the worker that fetches it knows both. The sequence
 * numbers also prove delivery: each job fetched once, none missing.
 *
 * Two workloads, same shape:
 *   default  Solidis's queue: JOB.ADD q payload / JOB.FETCH q COUNT b LEASE ms
 *            BLOCK 1000 / JOB.ACK id...  (durable, leased, retried)
 *   --redis  the classic reliable queue on any Redis: LPUSH q payload /
 *            BLMOVE q q:processing:W RIGHT LEFT 1 / LREM q:processing:W 1 payload
 * --pipeline n keeps n ADDs (LPUSHes) in flight per producer; --batch n has
 * workers take up to n jobs per round (FETCH COUNT n + one ACK of n ids, or
 * BLMOVE + n-1 pipelined LMOVEs + n pipelined LREMs). Defaults 1 and 1: one
 * job per round trip, as a plain worker does.
 *
 * The servers are started by the caller (tests/bench/bench.sh): point --port
 * at them. The queue name is unique per run and cleaned up afterwards. The
 * last line is machine-readable:
 *   RESULT mode=solidis jobs=N jobs_per_sec=X p50_ms=X p99_ms=X dup=N missing=N
 * Exit status: 0 ok, 1 server/connection error or lost/duplicated jobs, 2 usage.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

typedef struct config {
    const char *host;
    int port;
    const char *password;
    bool redis;
    long long jobs;
    int producers, workers;
    int payload;
    long long lease;
    int pipeline, batch;
    bool quiet;
    char queue[128];
} config;

static config C = {
    .host = "127.0.0.1", .port = 6379, .jobs = 200000, .producers = 4, .workers = 8,
    .payload = 100, .lease = 30000, .pipeline = 1, .batch = 1,
};

static pthread_barrier_t start_line;
static long long t_start_us;           /* set by the first producer */
static long long t_adds_done_us;       /* last producer finished */
static long long t_end_us;             /* the ACK that completed the run */
static long long done_count;           /* __atomic: jobs acknowledged */
static int producers_left;             /* __atomic */
static unsigned char *seen;            /* per sequence number: times fetched */

static long long nowUs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void die(const char *who, redisContext *c, const char *what) {
    fprintf(stderr, "solidis-jobload: %s: %s%s%s\n", who, what, c && c->err ? ": " : "", c && c->err ? c->errstr : "");
    exit(1);
}

static redisContext *connectTo(const char *who) {
    struct timeval tv = {30, 0};
    redisContext *c = redisConnectWithTimeout(C.host, C.port, tv);
    if (!c || c->err) die(who, c, "cannot connect");
    redisSetTimeout(c, tv);
    if (C.password && C.password[0]) {
        redisReply *r = redisCommand(c, "AUTH %s", C.password);
        if (!r) die(who, c, "AUTH");
        if (r->type == REDIS_REPLY_ERROR) die(who, NULL, r->str);
        freeReplyObject(r);
    }
    return c;
}

static redisReply *getReply(redisContext *c, const char *who) {
    void *r = NULL;
    if (redisGetReply(c, &r) != REDIS_OK || !r) die(who, c, "connection lost");
    redisReply *rep = r;
    if (rep->type == REDIS_REPLY_ERROR) die(who, NULL, rep->str);
    return rep;
}

/* ------------------------------------------------------------ producers */

typedef struct producer {
    pthread_t t;
    int idx;
} producer;

static void *producerMain(void *arg) {
    producer *p = arg;
    redisContext *c = connectTo("producer");
    char *payload = malloc((size_t)C.payload + 64);
    memset(payload, 'x', (size_t)C.payload + 64);
    const char *cmd = C.redis ? "LPUSH" : "JOB.ADD";
    const char *argv[3] = {cmd, C.queue, payload};
    size_t lens[3] = {strlen(cmd), strlen(C.queue), 0};
    pthread_barrier_wait(&start_line);
    long long expect = 0;
    for (long long seq = p->idx; seq < C.jobs; seq += C.producers) {
        int n = snprintf(payload, 64, "t=%lld;n=%lld;", nowUs(), seq);
        payload[n] = 'x'; /* overwrite snprintf's NUL: padding continues */
        lens[2] = (size_t)(n > C.payload ? n : C.payload);
        if (redisAppendCommandArgv(c, 3, argv, lens) != REDIS_OK) die("producer", c, "append");
        if (++expect == C.pipeline) {
            for (; expect > 0; expect--) freeReplyObject(getReply(c, "producer"));
        }
    }
    for (; expect > 0; expect--) freeReplyObject(getReply(c, "producer"));
    if (__atomic_sub_fetch(&producers_left, 1, __ATOMIC_SEQ_CST) == 0) t_adds_done_us = nowUs();
    free(payload);
    redisFree(c);
    return NULL;
}

/* -------------------------------------------------------------- workers */

typedef struct worker {
    pthread_t t;
    int idx;
    long long *lat; /* ADD -> FETCH, microseconds */
    size_t nlat, cap;
    long long fetched;
} worker;

static void record(worker *w, const char *payload, size_t len, long long now) {
    long long t = 0, seq = -1;
    if (len < 4 || sscanf(payload, "t=%lld;n=%lld;", &t, &seq) != 2 || seq < 0 || seq >= C.jobs) {
        fprintf(stderr, "solidis-jobload: worker: unexpected payload '%.*s'\n", (int)(len > 40 ? 40 : len), payload);
        exit(1);
    }
    __atomic_add_fetch(&seen[seq], 1, __ATOMIC_RELAXED);
    if (w->nlat == w->cap) {
        w->cap = w->cap ? w->cap * 2 : 4096;
        w->lat = realloc(w->lat, w->cap * sizeof *w->lat);
        if (!w->lat) die("worker", NULL, "out of memory");
    }
    w->lat[w->nlat++] = now - t;
    w->fetched++;
}

static void finished(long long n) {
    if (__atomic_add_fetch(&done_count, n, __ATOMIC_SEQ_CST) >= C.jobs) {
        long long zero = 0, now = nowUs();
        __atomic_compare_exchange_n(&t_end_us, &zero, now, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

static bool allDone(void) {
    return __atomic_load_n(&done_count, __ATOMIC_SEQ_CST) >= C.jobs;
}

static void *solidisWorker(worker *w) {
    redisContext *c = connectTo("worker");
    char count[16], lease[32];
    snprintf(count, sizeof count, "%d", C.batch);
    snprintf(lease, sizeof lease, "%lld", C.lease);
    const char *fetch[] = {"JOB.FETCH", C.queue, "COUNT", count, "LEASE", lease, "BLOCK", "1000"};
    const char **ack = malloc(sizeof *ack * (size_t)(C.batch + 1));
    size_t *acklen = malloc(sizeof *acklen * (size_t)(C.batch + 1));
    ack[0] = "JOB.ACK";
    acklen[0] = 7;
    pthread_barrier_wait(&start_line);
    while (!allDone()) {
        redisReply *r = redisCommandArgv(c, 8, fetch, NULL);
        if (!r) die("worker", c, "JOB.FETCH: connection lost");
        if (r->type == REDIS_REPLY_ERROR) die("worker: JOB.FETCH", NULL, r->str);
        long long now = nowUs();
        if (r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
            freeReplyObject(r);
            continue;
        }
        int n = 0;
        for (size_t i = 0; i < r->elements && n < C.batch; i++) {
            const redisReply *j = r->element[i];
            if (j->type != REDIS_REPLY_ARRAY || j->elements < 4 || j->element[2]->type != REDIS_REPLY_STRING)
                die("worker", NULL, "JOB.FETCH: unexpected reply shape");
            record(w, j->element[2]->str, j->element[2]->len, now);
            n++;
            ack[n] = j->element[0]->str;
            acklen[n] = j->element[0]->len;
        }
        redisReply *a = redisCommandArgv(c, n + 1, ack, acklen);
        if (!a) die("worker", c, "JOB.ACK: connection lost");
        if (a->type == REDIS_REPLY_ERROR) die("worker: JOB.ACK", NULL, a->str);
        freeReplyObject(a);
        freeReplyObject(r);
        finished(n);
    }
    free(ack);
    free(acklen);
    redisFree(c);
    return NULL;
}

/* --batch n: after the blocking BLMOVE, up to n-1 more LMOVEs and then the
 * n LREMs go out pipelined (the fair counterpart of FETCH COUNT / ACK ids). */
static void *redisWorker(worker *w) {
    redisContext *c = connectTo("worker");
    char proc[200];
    snprintf(proc, sizeof proc, "%s:processing:%d", C.queue, w->idx);
    const char *move[] = {"BLMOVE", C.queue, proc, "RIGHT", "LEFT", "1"};
    const char *more[] = {"LMOVE", C.queue, proc, "RIGHT", "LEFT"};
    redisReply **got = malloc(sizeof *got * (size_t)C.batch);
    pthread_barrier_wait(&start_line);
    while (!allDone()) {
        redisReply *r = redisCommandArgv(c, 6, move, NULL);
        if (!r) die("worker", c, "BLMOVE: connection lost");
        if (r->type == REDIS_REPLY_ERROR) die("worker: BLMOVE", NULL, r->str);
        if (r->type != REDIS_REPLY_STRING) {
            freeReplyObject(r);
            continue;
        }
        int n = 0;
        got[n++] = r;
        for (int i = 1; i < C.batch; i++)
            if (redisAppendCommandArgv(c, 5, more, NULL) != REDIS_OK) die("worker", c, "append LMOVE");
        for (int i = 1; i < C.batch; i++) {
            redisReply *m = getReply(c, "worker: LMOVE");
            if (m->type == REDIS_REPLY_STRING) got[n++] = m;
            else freeReplyObject(m);
        }
        long long now = nowUs();
        for (int i = 0; i < n; i++) {
            record(w, got[i]->str, got[i]->len, now);
            const char *rem[] = {"LREM", proc, "1", got[i]->str};
            size_t remlen[] = {4, strlen(proc), 1, got[i]->len};
            if (redisAppendCommandArgv(c, 4, rem, remlen) != REDIS_OK) die("worker", c, "append LREM");
        }
        for (int i = 0; i < n; i++) {
            freeReplyObject(getReply(c, "worker: LREM"));
            freeReplyObject(got[i]);
        }
        finished(n);
    }
    free(got);
    redisFree(c);
    return NULL;
}

static void *workerMain(void *arg) {
    return C.redis ? redisWorker(arg) : solidisWorker(arg);
}

/* ----------------------------------------------------------------- main */

static int cmpLL(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return x < y ? -1 : x > y;
}

static double pct(const long long *v, size_t n, double p) {
    if (!n) return 0;
    size_t i = (size_t)(p * (double)(n - 1) + 0.5);
    return v[i] / 1000.0;
}

static void usage(int rc) {
    fprintf(rc ? stderr : stdout,
            "usage: solidis-jobload [--host H] [--port P] [--password PW] [--redis]\n"
            "                       [--jobs N] [--producers P] [--workers W] [--payload BYTES]\n"
            "                       [--lease MS] [--pipeline N] [--batch N] [--quiet]\n"
            "  default: JOB.ADD -> JOB.FETCH (LEASE, BLOCK) -> JOB.ACK against Solidis\n"
            "  --redis: LPUSH -> BLMOVE to a per-worker processing list -> LREM (any Redis)\n"
            "  defaults: --jobs 200000 --producers 4 --workers 8 --payload 100 --lease 30000\n"
            "            --pipeline 1 (ADDs/LPUSHes in flight per producer)\n"
            "            --batch 1 (jobs per worker round: JOB.FETCH COUNT and ids per JOB.ACK; with --redis\n"
            "            BLMOVE plus batch-1 pipelined LMOVEs, then the LREMs pipelined)\n");
    exit(rc);
}

static long long num(const char *name, const char *v, long long min, long long max) {
    char *end;
    errno = 0;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || errno || end == v || *end || n < min || n > max) {
        fprintf(stderr, "solidis-jobload: %s needs an integer in [%lld, %lld]\n", name, min, max);
        exit(2);
    }
    return n;
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) usage(0);
        else if (!strcmp(a, "--redis")) C.redis = true;
        else if (!strcmp(a, "--quiet")) C.quiet = true;
        else if (!strcmp(a, "--host") && v) C.host = v, i++;
        else if (!strcmp(a, "--password") && v) C.password = v, i++;
        else if (!strcmp(a, "--port")) C.port = (int)num(a, v, 1, 65535), i++;
        else if (!strcmp(a, "--jobs")) C.jobs = num(a, v, 1, 100000000), i++;
        else if (!strcmp(a, "--producers")) C.producers = (int)num(a, v, 1, 1024), i++;
        else if (!strcmp(a, "--workers")) C.workers = (int)num(a, v, 1, 1024), i++;
        else if (!strcmp(a, "--payload")) C.payload = (int)num(a, v, 32, 1 << 20), i++;
        else if (!strcmp(a, "--lease")) C.lease = num(a, v, 1, 86400000), i++;
        else if (!strcmp(a, "--pipeline")) C.pipeline = (int)num(a, v, 1, 10000), i++;
        else if (!strcmp(a, "--batch")) C.batch = (int)num(a, v, 1, 10000), i++;
        else {
            fprintf(stderr, "solidis-jobload: unknown or incomplete option '%s'\n", a);
            usage(2);
        }
    }
    snprintf(C.queue, sizeof C.queue, "jobload:%d:%lld", (int)getpid(), nowUs());
    seen = calloc((size_t)C.jobs, 1);
    producer *ps = calloc((size_t)C.producers, sizeof *ps);
    worker *ws = calloc((size_t)C.workers, sizeof *ws);
    if (!seen || !ps || !ws) die("main", NULL, "out of memory");
    producers_left = C.producers;

    /* Fail early and clearly if the server lacks the commands. */
    redisContext *c = connectTo("main");
    redisReply *r = C.redis ? redisCommand(c, "LLEN %s", C.queue) : redisCommand(c, "JOB.STATS %s", C.queue);
    if (!r) die("main", c, "connection lost");
    if (r->type == REDIS_REPLY_ERROR) die(C.redis ? "LLEN" : "JOB.STATS", NULL, r->str);
    freeReplyObject(r);

    if (!C.quiet) {
        if (C.redis)
            printf("solidis-jobload: redis reliable queue LPUSH -> BLMOVE -> LREM at %s:%d\n", C.host, C.port);
        else
            printf("solidis-jobload: JOB.ADD -> JOB.FETCH (LEASE %lld) -> JOB.ACK at %s:%d\n", C.lease, C.host, C.port);
        printf("  jobs %lld, producers %d (pipeline %d), workers %d (batch %d), payload %d bytes\n", C.jobs,
               C.producers, C.pipeline, C.workers, C.batch, C.payload);
        fflush(stdout);
    }

    pthread_barrier_init(&start_line, NULL, (unsigned)(C.producers + C.workers + 1));
    for (int i = 0; i < C.workers; i++) {
        ws[i].idx = i;
        if (pthread_create(&ws[i].t, NULL, workerMain, &ws[i])) die("main", NULL, "pthread_create");
    }
    for (int i = 0; i < C.producers; i++) {
        ps[i].idx = i;
        if (pthread_create(&ps[i].t, NULL, producerMain, &ps[i])) die("main", NULL, "pthread_create");
    }
    pthread_barrier_wait(&start_line);
    t_start_us = nowUs();
    for (int i = 0; i < C.producers; i++) pthread_join(ps[i].t, NULL);
    for (int i = 0; i < C.workers; i++) pthread_join(ws[i].t, NULL);

    size_t n = 0;
    for (int i = 0; i < C.workers; i++) n += ws[i].nlat;
    long long *lat = malloc((n ? n : 1) * sizeof *lat);
    size_t k = 0;
    for (int i = 0; i < C.workers; i++) {
        memcpy(lat + k, ws[i].lat, ws[i].nlat * sizeof *lat);
        k += ws[i].nlat;
        free(ws[i].lat);
    }
    qsort(lat, n, sizeof *lat, cmpLL);
    long long dup = 0, missing = 0;
    for (long long i = 0; i < C.jobs; i++) {
        if (seen[i] == 0) missing++;
        else if (seen[i] > 1) dup += seen[i] - 1;
    }
    double secs = (t_end_us - t_start_us) / 1e6;
    double rate = secs > 0 ? C.jobs / secs : 0;
    double p50 = pct(lat, n, 0.50), p90 = pct(lat, n, 0.90), p99 = pct(lat, n, 0.99), mx = n ? lat[n - 1] / 1000.0 : 0;

    /* Clean up: the queue (and, for Solidis, its finished jobs if PURGE exists). */
    if (C.redis) {
        r = redisCommand(c, "DEL %s", C.queue);
        if (r) freeReplyObject(r);
        for (int i = 0; i < C.workers; i++) {
            r = redisCommand(c, "DEL %s:processing:%d", C.queue, i);
            if (r) freeReplyObject(r);
        }
    } else {
        static const char *const states[] = {"done", "ready", "dead", NULL};
        for (int i = 0; states[i]; i++) {
            r = redisCommand(c, "JOB.PURGE %s %s", C.queue, states[i]);
            if (r) freeReplyObject(r);
        }
    }
    redisFree(c);

    if (!C.quiet) {
        printf("  throughput   %.0f jobs/s  (%.2f s; all ADDs answered at %.2f s)\n", rate, secs,
               (t_adds_done_us - t_start_us) / 1e6);
        printf("  ADD->FETCH   p50 %.2f ms  p90 %.2f ms  p99 %.2f ms  max %.2f ms\n", p50, p90, p99, mx);
        printf("  delivery     %lld fetched, %lld duplicate%s, %lld missing\n", (long long)n, dup, dup == 1 ? "" : "s",
               missing);
    }
    printf("RESULT mode=%s jobs=%lld producers=%d workers=%d jobs_per_sec=%.0f p50_ms=%.3f p99_ms=%.3f dup=%lld "
           "missing=%lld\n",
           C.redis ? "redis" : "solidis", C.jobs, C.producers, C.workers, rate, p50, p99, dup, missing);
    free(lat);
    free(seen);
    free(ps);
    free(ws);
    return dup || missing ? 1 : 0;
}
