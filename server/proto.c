/*
 * proto.c — turning bytes from a client into requests.
 *
 * Multibulk requests ("*N\r\n$len\r\n...") are parsed by hiredis's redisReader
 * with our own object functions, which build an argv instead of redisReply
 * trees. Anything not starting with '*' is an inline (telnet-style) command,
 * parsed here with quotes and escapes. The reader's buffer is the client's
 * query buffer for both forms.
 *
 * hiredis 0.14 accepts things Redis refuses (nested arrays, non-string
 * elements, lengths with junk) and would wait for any declared bulk length.
 * To keep Redis's behaviour we validate each multibulk header before hiredis
 * sees it, and each pending bulk header while a request is incomplete, so an
 * oversized length is refused at once rather than buffered.
 *
 * hiredis trims its buffer (a memmove of everything it holds) each time it
 * has consumed 1 KB, so it only ever holds a window of the client's input:
 * the rest waits in the client's own buffer (`qbuf`, trimmed when half of it
 * is consumed). When hiredis held all of it — megabytes of pipelined commands
 * pile up while a client waits for its write or is blocked — parsing took
 * time quadratic in their size, stalling the net thread (53 MB of PINGs sent
 * by a blocked client: a minute once it was served).
 *
 * Net thread only.
 */
#include "net.h"
#include "config.h"
#include "multi.h"
#include <ctype.h>
#include <hiredis/sds.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PROTO_INLINE_MAX_SIZE (64 * 1024)
#define PROTO_MAX_MULTIBULK 2147483647LL
#define PROTO_UNAUTH_MAX_MULTIBULK 10
#define PROTO_UNAUTH_MAX_BULK 16384

typedef struct argvbuild {
    int argc, cap;
    char **argv;
    size_t *lens;
    size_t bytes;       /* ARG_BYTES of the arguments so far */
} argvbuild;

/* What one argument of `len` bytes costs while it waits to run: the copy and
 * its argv and length slots (Redis counts the bytes and the argv slot). */
#define ARG_BYTES(len) ((len) + sizeof(char *) + sizeof(size_t))

static const char *parse_error; /* set by object functions on refusal */
static long long bulk_limit;    /* for the request being parsed (auth-dependent) */
static char empty_marker;       /* "*-1" / "*0": nothing to run */

/* The declared count may be huge (Redis accepts up to INT_MAX and waits for
 * the arguments), so argv grows as arguments arrive, not up front. */
static void *createArray(const redisReadTask *t, int elements) {
    if (t->parent) { parse_error = "expected '$', got '*'"; return NULL; }
    if (elements <= 0) return &empty_marker;
    argvbuild *a = calloc(1, sizeof(*a));
    if (!a) return NULL;
    a->cap = elements < 64 ? elements : 64;
    a->argv = malloc(sizeof(char *) * (size_t)a->cap);
    a->lens = malloc(sizeof(size_t) * (size_t)a->cap);
    if (!a->argv || !a->lens) { free(a->argv); free(a->lens); free(a); return NULL; }
    return a;
}

static void *createString(const redisReadTask *t, char *s, size_t len) {
    if (!t->parent) { parse_error = "expected '*'"; return NULL; }
    if (t->type != REDIS_REPLY_STRING) {
        parse_error = t->type == REDIS_REPLY_STATUS ? "expected '$', got '+'" : "expected '$', got '-'";
        return NULL;
    }
    if ((long long)len > bulk_limit) {
        parse_error = bulk_limit == PROTO_UNAUTH_MAX_BULK ? "unauthenticated bulk length" : "invalid bulk length";
        return NULL;
    }
    argvbuild *a = t->parent->obj;
    if (t->idx >= a->cap) {
        int cap = a->cap * 2 > t->idx ? a->cap * 2 : t->idx + 1;
        char **argv = realloc(a->argv, sizeof(char *) * (size_t)cap);
        if (!argv) return NULL;
        a->argv = argv;
        size_t *lens = realloc(a->lens, sizeof(size_t) * (size_t)cap);
        if (!lens) return NULL;
        a->lens = lens;
        a->cap = cap;
    }
    char *p = malloc(len + 1);
    if (!p) return NULL;
    memcpy(p, s, len);
    p[len] = '\0';
    a->argv[t->idx] = p;
    a->lens[t->idx] = len;
    a->argc = t->idx + 1;
    a->bytes += ARG_BYTES(len);
    return p;
}

static void *createInteger(const redisReadTask *t, long long v) {
    (void)t; (void)v;
    parse_error = "expected '$', got ':'";
    return NULL;
}

static void *createNil(const redisReadTask *t) {
    if (t->parent) { parse_error = "invalid bulk length"; return NULL; }
    return &empty_marker;
}

static void argvFree(argvbuild *a) {
    for (int i = 0; i < a->argc; i++) free(a->argv[i]);
    free(a->argv);
    free(a->lens);
    free(a);
}

/* hiredis frees only the root object, when a request fails half-way; the
 * strings belong to it. */
static void freeObject(void *o) {
    if (o != &empty_marker) argvFree(o);
}

static redisReplyObjectFunctions fns = {createString, createArray, createInteger, createNil, freeObject};

redisReader *protoReaderCreate(void) {
    redisReader *r = redisReaderCreateWithFunctions(&fns);
    if (r) r->maxbuf = 64 * 1024;
    return r;
}

#define PROTO_WINDOW (16 * 1024)

static size_t qbufLeft(const client *c) { return c->qbuf ? sdslen(c->qbuf) - c->qpos : 0; }

size_t protoQueryBufLen(client *c) { return c->reader->len - c->reader->pos + qbufLeft(c); }

void protoFeed(client *c, const char *buf, size_t n) {
    if (!c->qbuf) c->qbuf = sdsempty();
    c->qbuf = sdscatlen(c->qbuf, buf, n);
    if (!c->qbuf) abort();
}

void protoFree(client *c) {
    if (c->reader) redisReaderFree(c->reader);
    sdsfree(c->qbuf);
}

/* Move up to `n` (at least 1) more bytes of the client's buffer to hiredis.
 * Returns false when there are none. */
static bool feedReader(client *c, size_t n) {
    size_t left = qbufLeft(c);
    if (!left) return false;
    if (n == 0) n = 1;
    if (n > left) n = left;
    redisReaderFeed(c->reader, c->qbuf + c->qpos, n);
    c->qpos += n;
    if (c->qpos == sdslen(c->qbuf)) {
        if (sdsalloc(c->qbuf) > 1024 * 1024) { sdsfree(c->qbuf); c->qbuf = NULL; }
        else sdsclear(c->qbuf);
        c->qpos = 0;
    } else if (c->qpos >= sdslen(c->qbuf) / 2) { /* (sdsrange takes ints) */
        size_t rest = sdslen(c->qbuf) - c->qpos;
        memmove(c->qbuf, c->qbuf + c->qpos, rest);
        sdssetlen(c->qbuf, rest);
        c->qbuf[rest] = '\0';
        c->qpos = 0;
    }
    return true;
}

/* Arguments of a multibulk request still being received: they have left the
 * query buffer, so a request declaring 2^31 arguments and sending them for
 * ever would hold unbounded memory that the query buffer limit never sees. */
size_t protoPartialArgvBytes(client *c) {
    const redisReader *rd = c->reader;
    if (rd->ridx < 0 || !rd->rstack[0].obj || rd->rstack[0].obj == &empty_marker) return 0;
    return ((const argvbuild *)rd->rstack[0].obj)->bytes;
}

size_t requestArgvBytes(const request *r) {
    size_t n = 0;
    for (int i = 0; i < r->argc; i++) n += ARG_BYTES(r->argvlen[i]);
    return n;
}

/* Parse a decimal header line at p (after the type byte). Returns 1 with *v,
 * 0 when the line is incomplete, -1 when it is not a valid number. */
static int headerNumber(const char *p, const char *end, long long *v) {
    const char *nl = memchr(p, '\r', (size_t)(end - p));
    if (!nl || nl + 1 >= end) return 0;
    return string2ll(p, (size_t)(nl - p), v) ? 1 : -1;
}

/* hiredis trims its buffer only inside redisReaderGetReply, which inline
 * requests and skipped empty counts never reach: trim consumed bytes here so
 * such clients do not grow their buffer forever. */
static void compactQuery(redisReader *rd) {
    if (rd->pos < 1024) return;
    sdsrange(rd->buf, (int)rd->pos, -1);
    rd->pos = 0;
    rd->len = sdslen(rd->buf);
}

int protoNextRequest(client *c, request *r, char *err, size_t errlen) {
    redisReader *rd = c->reader;
    bool unauth = clientNeedsAuth(c);
    bulk_limit = unauth ? PROTO_UNAUTH_MAX_BULK : server_config.proto_max_bulk_len;
    /* Every "need more input" below first takes more from the client's
     * buffer: `want` bytes, or a window. */
    size_t want;
#define NEED_MORE(n) do { want = (n); goto more; } while (0)
    for (;;) {
        if (rd->len - rd->pos < PROTO_WINDOW) feedReader(c, PROTO_WINDOW);
        const char *buf = rd->buf + rd->pos, *end = rd->buf + rd->len;
        if (buf >= end) return 0;
        bool fresh = rd->ridx == -1;
        if (fresh && *buf != '*') {
            /* Inline command: one line. */
            const char *nl = memchr(buf, '\n', (size_t)(end - buf));
            if (!nl) {
                if (end - buf > PROTO_INLINE_MAX_SIZE) { snprintf(err, errlen, "too big inline request"); return -1; }
                NEED_MORE(PROTO_WINDOW);
            }
            size_t len = (size_t)(nl - buf);
            rd->pos += len + 1;
            if (len && buf[len - 1] == '\r') len--;
            if (!splitArgs(buf, len, &r->argc, &r->argv, &r->argvlen)) { snprintf(err, errlen, "unbalanced quotes in request"); return -1; }
            compactQuery(rd);
            if (r->argc == 0) { requestFreeArgv(r); continue; }
            return 1;
        }
        if (fresh) {
            long long n;
            int h = headerNumber(buf + 1, end, &n);
            if (h == 0) {
                if (end - buf > PROTO_INLINE_MAX_SIZE) { snprintf(err, errlen, "too big mbulk count string"); return -1; }
                NEED_MORE(PROTO_WINDOW);
            }
            if (h < 0 || n > PROTO_MAX_MULTIBULK) { snprintf(err, errlen, "invalid multibulk length"); return -1; }
            if (unauth && n > PROTO_UNAUTH_MAX_MULTIBULK) { snprintf(err, errlen, "unauthenticated multibulk length"); return -1; }
            if (n <= 0) {
                /* Redis skips any count <= 0 ("*-5" as "*0"); hiredis
                 * would call counts below -1 out of range. */
                rd->pos = (size_t)((const char *)memchr(buf, '\r', (size_t)(end - buf)) - rd->buf) + 2;
                compactQuery(rd);
                continue;
            }
        }
        parse_error = NULL;
        void *obj = NULL;
        if (redisReaderGetReply(rd, &obj) != REDIS_OK) {
            /* Our own refusals first; hiredis's texts mapped to Redis's. */
            const char *msg = parse_error;
            const char *tb = strstr(rd->errstr, "got \"");
            if (!msg && tb && strstr(rd->errstr, "reply type byte")) {
                snprintf(err, errlen, "expected '$', got '%c'", tb[5]);
                return -1;
            }
            if (!msg) msg = strstr(rd->errstr, "ulti-bulk") ? "invalid multibulk length"
                          : strstr(rd->errstr, "ulk") ? "invalid bulk length" : rd->errstr;
            snprintf(err, errlen, "%s", msg);
            return -1;
        }
        if (!obj) {
            /* Incomplete. hiredis consumes a type byte before its line, so
             * `p` is at an element's line: a bulk length for a task typed
             * STRING, else a line that Redis, which reads up to the CR before
             * looking at the type, would refuse once it is 64 KB long. */
            const char *p = rd->buf + rd->pos, *e = rd->buf + rd->len;
            const redisReadTask *cur = rd->ridx > 0 ? &rd->rstack[rd->ridx] : NULL; /* an element */
            if (cur) {
                long long n;
                int h = headerNumber(p, e, &n);
                if (cur->type == REDIS_REPLY_STRING) {
                    if (h < 0 || (h > 0 && (n < 0 || n > server_config.proto_max_bulk_len))) {
                        snprintf(err, errlen, "invalid bulk length");
                        return -1;
                    }
                    if (h > 0 && unauth && n > PROTO_UNAUTH_MAX_BULK) { snprintf(err, errlen, "unauthenticated bulk length"); return -1; }
                    if (h > 0) { /* exactly the rest of this bulk: no more */
                        size_t line = (size_t)((const char *)memchr(p, '\r', (size_t)(e - p)) - p) + 2;
                        NEED_MORE(line + (size_t)n + 2 - (size_t)(e - p));
                    }
                }
                if (h == 0 && e - p > PROTO_INLINE_MAX_SIZE) { snprintf(err, errlen, "too big bulk count string"); return -1; }
            }
            NEED_MORE(PROTO_WINDOW);
        }
        if (obj == &empty_marker) continue;
        argvbuild *a = obj;
        r->argc = a->argc;
        r->argv = a->argv;
        r->argvlen = a->lens;
        free(a);
        if (r->argc == 0) { requestFreeArgv(r); continue; }
        return 1;
    more:
        if (!feedReader(c, want)) return 0;
    }
#undef NEED_MORE
}

void requestFreeArgv(request *r) {
    if (r->multi) requestFreeMulti(r);
    for (int i = 0; i < r->argc; i++) free(r->argv[i]);
    free(r->argv);
    free(r->argvlen);
    r->argv = NULL;
    r->argvlen = NULL;
    r->argc = 0;
}
