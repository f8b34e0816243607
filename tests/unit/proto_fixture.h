/*
 * proto_fixture.h — feeding bytes to server/proto.c and collecting the
 * requests it parses, for test_proto.c and test_proto_errors.c.
 *
 * Error texts are the part after "Protocol error: " that Redis sends; the
 * Redis answers were checked against redis-server 7.0.15.
 */
#ifndef SOLIDIS_TEST_PROTO_FIXTURE_H
#define SOLIDIS_TEST_PROTO_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/net.h"
#include "../../server/config.h"

/* ---- collecting parsed requests ---------------------------------------- */

#define MAXREQ 64
#define MAXARG 16

typedef struct parsed {
    int nreq;
    int argc[MAXREQ];
    char *argv[MAXREQ][MAXARG];
    size_t len[MAXREQ][MAXARG];
    bool failed;
    char err[256];
} parsed;

static inline void parsedFree(parsed *p) {
    for (int i = 0; i < p->nreq; i++)
        for (int j = 0; j < p->argc[i] && j < MAXARG; j++) free(p->argv[i][j]);
    memset(p, 0, sizeof(*p));
}

static inline client *newClient(void) {
    client *c = calloc(1, sizeof(*c));
    c->reader = protoReaderCreate();
    assert_non_null(c->reader);
    return c;
}

static inline void freeClient(client *c) {
    redisReaderFree(c->reader);
    free(c);
}

/* Take every complete request out of the client's buffer. */
static inline void drain(client *c, parsed *p) {
    while (!p->failed) {
        request r;
        memset(&r, 0, sizeof(r));
        char err[256] = "";
        int rc = protoNextRequest(c, &r, err, sizeof(err));
        if (rc == 0) return;
        if (rc < 0) {
            p->failed = true;
            snprintf(p->err, sizeof(p->err), "%s", err);
            return;
        }
        assert_int_equal(rc, 1);
        assert_true(r.argc > 0);
        assert_true(p->nreq < MAXREQ);
        assert_true(r.argc <= MAXARG);
        int i = p->nreq++;
        p->argc[i] = r.argc;
        for (int j = 0; j < r.argc; j++) {
            assert_non_null(r.argv[j]);
            assert_int_equal(r.argv[j][r.argvlen[j]], '\0'); /* NUL-terminated copies */
            p->argv[i][j] = malloc(r.argvlen[j] + 1);
            memcpy(p->argv[i][j], r.argv[j], r.argvlen[j] + 1);
            p->len[i][j] = r.argvlen[j];
        }
        requestFreeArgv(&r);
        assert_int_equal(r.argc, 0);
        assert_null(r.argv);
        assert_null(r.argvlen);
    }
}

static inline void feed(client *c, const char *s, size_t n) {
    assert_int_equal(redisReaderFeed(c->reader, s, n), REDIS_OK);
}

/* Parse `in` fed as the given chunks (cut at the offsets in `cuts`). */
static inline void parseChunks(const char *in, size_t n, const size_t *cuts, int ncuts, parsed *p) {
    client *c = newClient();
    memset(p, 0, sizeof(*p));
    size_t at = 0;
    for (int k = 0; k <= ncuts && !p->failed; k++) {
        size_t to = k < ncuts ? cuts[k] : n;
        if (to > at) feed(c, in + at, to - at);
        drain(c, p);
        at = to;
    }
    freeClient(c);
}

static inline void parseWhole(const char *in, size_t n, parsed *p) { parseChunks(in, n, NULL, 0, p); }

static inline void parseBytewise(const char *in, size_t n, parsed *p) {
    client *c = newClient();
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < n && !p->failed; i++) {
        feed(c, in + i, 1);
        drain(c, p);
    }
    freeClient(c);
}

static inline void assertSameParse(const parsed *a, const parsed *b, const char *what) {
    if (a->failed != b->failed) fail_msg("%s: failed=%d vs %d (%s%s)", what, a->failed, b->failed, a->err, b->err);
    if (a->failed) assert_string_equal(a->err, b->err);
    if (a->nreq != b->nreq) fail_msg("%s: %d requests vs %d", what, a->nreq, b->nreq);
    for (int i = 0; i < a->nreq; i++) {
        assert_int_equal(a->argc[i], b->argc[i]);
        for (int j = 0; j < a->argc[i]; j++) {
            assert_int_equal(a->len[i][j], b->len[i][j]);
            assert_memory_equal(a->argv[i][j], b->argv[i][j], a->len[i][j]);
        }
    }
}

/* Expected requests, written as NULL-terminated lists of C strings; a
 * request list ends with an empty list. */
static inline void expectArgs(const parsed *p, int i, int argc, ...) {
    if (i >= p->nreq) fail_msg("request %d missing (only %d parsed)%s%s", i, p->nreq, p->failed ? ", error: " : "", p->err);
    assert_int_equal(p->argc[i], argc);
    va_list ap;
    va_start(ap, argc);
    for (int j = 0; j < argc; j++) {
        const char *want = va_arg(ap, const char *);
        size_t wl = strlen(want);
        if (p->len[i][j] != wl || memcmp(p->argv[i][j], want, wl) != 0)
            fail_msg("request %d arg %d is \"%.*s\", expected \"%s\"", i, j, (int)p->len[i][j], p->argv[i][j], want);
    }
    va_end(ap);
}

/* Parse `in` whole and keep only the outcome (the requests are freed before
 * any assertion, so a failing check leaks nothing). */
static inline bool parseOutcome(const char *in, size_t n, int *nreq, char *err, size_t errlen) {
    parsed p;
    parseWhole(in, n, &p);
    bool failed = p.failed;
    *nreq = p.nreq;
    snprintf(err, errlen, "%s", p.err);
    parsedFree(&p);
    return failed;
}

static inline void expectError(const char *in, size_t n, const char *msg) {
    int nreq;
    char err[256];
    if (!parseOutcome(in, n, &nreq, err, sizeof(err)))
        fail_msg("no protocol error for \"%.*s\" (%d requests), expected \"%s\"", (int)(n > 60 ? 60 : n), in, nreq, msg);
    assert_string_equal(err, msg);
}
#define EXPECT_ERROR(lit, msg) expectError((lit), sizeof(lit) - 1, (msg))

/* Nothing to run yet and no error: the parser waits for more bytes. */
static inline void expectIncomplete(const char *in, size_t n) {
    int nreq;
    char err[256];
    if (parseOutcome(in, n, &nreq, err, sizeof(err))) fail_msg("unexpected error \"%s\"", err);
    assert_int_equal(nreq, 0);
}
#define EXPECT_INCOMPLETE(lit) expectIncomplete((lit), sizeof(lit) - 1)

/* ---- running the groups ------------------------------------------------ */

typedef struct proto_group {
    const char *name;
    const struct CMUnitTest *tests;
    size_t count;
} proto_group;
#define PROTO_GROUP(name, tests) {(name), (tests), sizeof(tests) / sizeof((tests)[0])}

/* What main() of each proto test binary does: set the config defaults proto.c
 * reads (proto-max-bulk-len, requirepass), run every group, count failures. */
static inline int runProtoGroups(const proto_group *groups, size_t n) {
    configInitDefaults();
    int failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += _cmocka_run_group_tests(groups[i].name, groups[i].tests, groups[i].count, NULL, NULL);
    return failed;
}

#endif
