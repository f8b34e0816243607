/*
 * pubload.c — bin/solidis-pubload, pub/sub load: S subscriber connections on
 * one channel (read by one polling thread) and one publisher connection that
 * pipelines PUBLISHes. Reports publishes/s (first send to last reply) and
 * publish -> receive latency p50/p99 over every delivered message: each
 * payload starts with the monotonic time it was sent.
 *
 * Two phases, one after the other:
 *   saturated  the pipelined publisher as fast as the server answers. Its
 *              latency is mostly queueing: once the server publishes faster
 *              than this tool's one reader thread parses (with 100
 *              subscribers, millions of messages a second), messages wait
 *              in socket buffers and the latency only says by how much the
 *              server outran the reader — a faster server looks worse.
 *   paced      --paced N messages at --rate R per second (default 2000 at
 *              1000/s), each PUBLISH sent on its clock tick: the latency of
 *              a server that keeps up, as a chat message or a cache
 *              invalidation sees it. 0 skips the phase.
 *
 * Works against any Redis-protocol server; bench.sh runs it against a real
 * redis-server and Solidis in turn. Last line, machine-readable:
 *   RESULT subs=S msgs=N pub_per_sec=X p50_ms=X p99_ms=X delivered=N paced_p50_ms=X paced_p99_ms=X
 * Exit status: 0 ok, 1 error (connection, or messages not all delivered).
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <hiredis/hiredis.h>

static double nowMs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int cmpDouble(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct subs {
    redisContext **c;
    int n;
    long expected;       /* messages to receive in all */
    long got;
    double *lat;         /* one latency per delivered message */
    int failed;
} subs;

/* Subscriber thread: poll all subscriber sockets, parse pushed messages. */
static void *readSubscribers(void *arg) {
    subs *s = arg;
    struct pollfd *pf = calloc((size_t)s->n, sizeof(*pf));
    for (int i = 0; i < s->n; i++) pf[i] = (struct pollfd){.fd = s->c[i]->fd, .events = POLLIN};
    double deadline = nowMs() + 120000;
    while (s->got < s->expected && nowMs() < deadline) {
        if (poll(pf, (nfds_t)s->n, 1000) <= 0) continue;
        for (int i = 0; i < s->n; i++) {
            if (!(pf[i].revents & POLLIN)) continue;
            if (redisBufferRead(s->c[i]) != REDIS_OK) { s->failed = 1; goto out; }
            void *rep;
            while (redisGetReplyFromReader(s->c[i], &rep) == REDIS_OK && rep) {
                redisReply *r = rep;
                if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 && r->element[2]->type == REDIS_REPLY_STRING &&
                    strcmp(r->element[0]->str, "message") == 0) {
                    double sent = atof(r->element[2]->str);
                    if (s->got < s->expected) s->lat[s->got++] = nowMs() - sent;
                }
                freeReplyObject(r);
            }
        }
    }
out:
    free(pf);
    return NULL;
}

/* p50 and p99 of the latencies collected so far (sorts them). */
static void percentiles(subs *s, double *p50, double *p99) {
    qsort(s->lat, (size_t)s->got, sizeof(double), cmpDouble);
    *p50 = s->got ? s->lat[s->got / 2] : 0;
    *p99 = s->got ? s->lat[(long)((double)s->got * 0.99)] : 0;
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 6379, nsubs = 1, pipeline = 16, payload = 64;
    long msgs = 100000, paced = 2000;
    double rate = 1000;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--host") && i + 1 < argc) host = argv[++i];
        else if (!strcmp(argv[i], "--subscribers") && i + 1 < argc) nsubs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--messages") && i + 1 < argc) msgs = atol(argv[++i]);
        else if (!strcmp(argv[i], "--pipeline") && i + 1 < argc) pipeline = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--payload") && i + 1 < argc) payload = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--paced") && i + 1 < argc) paced = atol(argv[++i]);
        else if (!strcmp(argv[i], "--rate") && i + 1 < argc) rate = atof(argv[++i]);
        else {
            fprintf(stderr, "usage: %s [--host H] [--port P] [--subscribers S] [--messages N] [--pipeline K] [--payload B]"
                            " [--paced N] [--rate R]\n", argv[0]);
            return 2;
        }
    }
    if (nsubs < 1 || msgs < 1 || pipeline < 1 || payload < 32 || paced < 0 || rate <= 0) {
        fprintf(stderr, "pubload: bad arguments\n");
        return 2;
    }
    char channel[64];
    snprintf(channel, sizeof(channel), "pubload:%d", (int)getpid());
    subs s = {.n = nsubs, .expected = msgs * nsubs};
    s.c = calloc((size_t)nsubs, sizeof(*s.c));
    s.lat = malloc(sizeof(double) * (size_t)s.expected);
    for (int i = 0; i < nsubs; i++) {
        s.c[i] = redisConnect(host, port);
        if (!s.c[i] || s.c[i]->err) { fprintf(stderr, "pubload: connect failed\n"); return 1; }
        redisReply *r = redisCommand(s.c[i], "SUBSCRIBE %s", channel);
        if (!r) { fprintf(stderr, "pubload: subscribe failed\n"); return 1; }
        freeReplyObject(r);
    }
    redisContext *pub = redisConnect(host, port);
    if (!pub || pub->err) { fprintf(stderr, "pubload: connect failed\n"); return 1; }
    pthread_t t;
    pthread_create(&t, NULL, readSubscribers, &s);
    char *buf = malloc((size_t)payload + 1);
    double start = nowMs();
    long sent = 0, answered = 0;
    while (answered < msgs) {
        while (sent < msgs && sent - answered < pipeline) {
            int n = snprintf(buf, (size_t)payload + 1, "%.3f ", nowMs());
            memset(buf + n, 'x', (size_t)(payload - n));
            redisAppendCommand(pub, "PUBLISH %s %b", channel, buf, (size_t)payload);
            sent++;
        }
        void *rep;
        if (redisGetReply(pub, &rep) != REDIS_OK) { fprintf(stderr, "pubload: publish failed\n"); return 1; }
        freeReplyObject(rep);
        answered++;
    }
    double elapsed = nowMs() - start;
    pthread_join(t, NULL);
    long got = s.got;
    bool ok = got == s.expected && !s.failed;
    double p50, p99;
    percentiles(&s, &p50, &p99);
    printf("saturated: subscribers=%d messages=%ld publish/s=%.0f p50=%.3f ms p99=%.3f ms delivered=%ld/%ld\n", nsubs,
           msgs, msgs / (elapsed / 1000.0), p50, p99, got, s.expected);

    /* Paced: one PUBLISH per tick, its reply read before the next tick. */
    double pp50 = 0, pp99 = 0;
    if (paced > 0 && ok) {
        free(s.lat);
        s.got = 0;
        s.expected = paced * nsubs;
        s.lat = malloc(sizeof(double) * (size_t)s.expected);
        pthread_create(&t, NULL, readSubscribers, &s);
        double t0 = nowMs(), interval = 1000.0 / rate;
        for (long i = 0; i < paced; i++) {
            double wait = t0 + (double)i * interval - nowMs();
            if (wait > 0) usleep((useconds_t)(wait * 1000));
            int n = snprintf(buf, (size_t)payload + 1, "%.3f ", nowMs());
            memset(buf + n, 'x', (size_t)(payload - n));
            redisReply *rep = redisCommand(pub, "PUBLISH %s %b", channel, buf, (size_t)payload);
            if (!rep) { fprintf(stderr, "pubload: publish failed\n"); return 1; }
            freeReplyObject(rep);
        }
        pthread_join(t, NULL);
        ok = s.got == s.expected && !s.failed;
        percentiles(&s, &pp50, &pp99);
        printf("paced: %ld messages at %.0f/s p50=%.3f ms p99=%.3f ms delivered=%ld/%ld\n", paced, rate, pp50, pp99,
               s.got, s.expected);
    }
    printf("RESULT subs=%d msgs=%ld pub_per_sec=%.0f p50_ms=%.3f p99_ms=%.3f delivered=%ld paced_p50_ms=%.3f "
           "paced_p99_ms=%.3f\n", nsubs, msgs, msgs / (elapsed / 1000.0), p50, p99, got, pp50, pp99);
    for (int i = 0; i < nsubs; i++) redisFree(s.c[i]);
    redisFree(pub);
    free(s.c);
    free(s.lat);
    free(buf);
    return ok ? 0 : 1;
}
