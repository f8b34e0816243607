/*
 * test_proto.c — unit tests for server/proto.c: turning client bytes into
 * requests (multibulk and inline), pipelines, requests split at every byte
 * boundary, and the protocol errors Redis reports.
 *
 * Error texts are the part after "Protocol error: " that Redis sends; the
 * Redis answers were checked against redis-server 7.0.15.
 */
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

static void parsedFree(parsed *p) {
    for (int i = 0; i < p->nreq; i++)
        for (int j = 0; j < p->argc[i] && j < MAXARG; j++) free(p->argv[i][j]);
    memset(p, 0, sizeof(*p));
}

static client *newClient(void) {
    client *c = calloc(1, sizeof(*c));
    c->reader = protoReaderCreate();
    assert_non_null(c->reader);
    return c;
}

static void freeClient(client *c) {
    redisReaderFree(c->reader);
    free(c);
}

/* Take every complete request out of the client's buffer. */
static void drain(client *c, parsed *p) {
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

static void feed(client *c, const char *s, size_t n) {
    assert_int_equal(redisReaderFeed(c->reader, s, n), REDIS_OK);
}

/* Parse `in` fed as the given chunks (cut at the offsets in `cuts`). */
static void parseChunks(const char *in, size_t n, const size_t *cuts, int ncuts, parsed *p) {
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

static void parseWhole(const char *in, size_t n, parsed *p) { parseChunks(in, n, NULL, 0, p); }

static void parseBytewise(const char *in, size_t n, parsed *p) {
    client *c = newClient();
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < n && !p->failed; i++) {
        feed(c, in + i, 1);
        drain(c, p);
    }
    freeClient(c);
}

static void assertSameParse(const parsed *a, const parsed *b, const char *what) {
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
static void expectArgs(const parsed *p, int i, int argc, ...) {
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

static void expectError(const char *in, size_t n, const char *msg) {
    parsed p;
    parseWhole(in, n, &p);
    bool failed = p.failed;
    int nreq = p.nreq;
    char err[256];
    snprintf(err, sizeof(err), "%s", p.err);
    parsedFree(&p); /* before asserting, so a failing check leaks nothing */
    if (!failed) fail_msg("no protocol error for \"%.*s\" (%d requests), expected \"%s\"", (int)(n > 60 ? 60 : n), in, nreq, msg);
    assert_string_equal(err, msg);
}
#define EXPECT_ERROR(lit, msg) expectError((lit), sizeof(lit) - 1, (msg))

/* Nothing to run yet and no error: the parser waits for more bytes. */
static void expectIncomplete(const char *in, size_t n) {
    parsed p;
    parseWhole(in, n, &p);
    bool failed = p.failed;
    int nreq = p.nreq;
    char err[256];
    snprintf(err, sizeof(err), "%s", p.err);
    parsedFree(&p);
    if (failed) fail_msg("unexpected error \"%s\"", err);
    assert_int_equal(nreq, 0);
}
#define EXPECT_INCOMPLETE(lit) expectIncomplete((lit), sizeof(lit) - 1)

/* ---- multibulk --------------------------------------------------------- */

static void test_multibulk_simple(void **state) {
    (void)state;
    parsed p;
    const char in[] = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 1);
    expectArgs(&p, 0, 3, "SET", "key", "value");
    parsedFree(&p);
}

static void test_multibulk_empty_and_long_args(void **state) {
    (void)state;
    parsed p;
    const char in[] = "*3\r\n$4\r\nECHO\r\n$0\r\n\r\n$12\r\nhello world!\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    expectArgs(&p, 0, 3, "ECHO", "", "hello world!");
    parsedFree(&p);
}

static void test_multibulk_binary(void **state) {
    (void)state;
    parsed p;
    /* NUL bytes and CRLF inside a bulk are data */
    const char in[] = "*3\r\n$3\r\nSET\r\n$3\r\nk\0y\r\n$6\r\na\0\r\nb\0\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 1);
    assert_int_equal(p.argc[0], 3);
    assert_int_equal(p.len[0][1], 3);
    assert_memory_equal(p.argv[0][1], "k\0y", 3);
    assert_int_equal(p.len[0][2], 6);
    assert_memory_equal(p.argv[0][2], "a\0\r\nb\0", 6);
    parsedFree(&p);
}

static void test_multibulk_large_value(void **state) {
    (void)state;
    size_t vlen = 200000;
    char hdr[64];
    int hl = snprintf(hdr, sizeof(hdr), "*2\r\n$4\r\nECHO\r\n$%zu\r\n", vlen);
    size_t n = (size_t)hl + vlen + 2;
    char *in = malloc(n);
    memcpy(in, hdr, (size_t)hl);
    for (size_t i = 0; i < vlen; i++) in[hl + i] = (char)(i % 251);
    memcpy(in + hl + vlen, "\r\n", 2);
    /* in several uneven chunks */
    size_t cuts[] = {5, (size_t)hl + 1, (size_t)hl + 70000, (size_t)hl + 140001, n - 1};
    parsed p;
    parseChunks(in, n, cuts, 5, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 1);
    assert_int_equal(p.len[0][1], vlen);
    assert_memory_equal(p.argv[0][1], in + hl, vlen);
    parsedFree(&p);
    free(in);
}

static void test_multibulk_many_args(void **state) {
    (void)state;
    char in[4096];
    size_t n = (size_t)snprintf(in, sizeof(in), "*%d\r\n", MAXARG);
    for (int i = 0; i < MAXARG; i++) n += (size_t)snprintf(in + n, sizeof(in) - n, "$%d\r\narg%d\r\n", i < 10 ? 4 : 5, i);
    parsed p;
    parseWhole(in, n, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 1);
    assert_int_equal(p.argc[0], MAXARG);
    assert_string_equal(p.argv[0][0], "arg0");
    assert_string_equal(p.argv[0][MAXARG - 1], "arg15");
    parsedFree(&p);
}

static void test_incomplete_waits(void **state) {
    (void)state;
    EXPECT_INCOMPLETE("*");
    EXPECT_INCOMPLETE("*2");
    EXPECT_INCOMPLETE("*2\r");
    EXPECT_INCOMPLETE("*2\r\n");
    EXPECT_INCOMPLETE("*2\r\n$3\r\nGET\r\n");
    EXPECT_INCOMPLETE("*2\r\n$3\r\nGET\r\n$");
    EXPECT_INCOMPLETE("*2\r\n$3\r\nGET\r\n$3\r\nke");
    EXPECT_INCOMPLETE("*2\r\n$3\r\nGET\r\n$3\r\nkey\r");
    EXPECT_INCOMPLETE("PING");
    EXPECT_INCOMPLETE("PING\r");
    /* the largest accepted multibulk count and bulk length just wait */
    EXPECT_INCOMPLETE("*1048576\r\n");
    EXPECT_INCOMPLETE("*1\r\n$536870912\r\n");
}

static void test_query_buf_len(void **state) {
    (void)state;
    client *c = newClient();
    const char in[] = "*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET";
    feed(c, in, sizeof(in) - 1);
    assert_int_equal(protoQueryBufLen(c), sizeof(in) - 1);
    request r;
    memset(&r, 0, sizeof(r));
    char err[128];
    assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 1);
    assert_int_equal(r.argc, 1);
    assert_string_equal(r.argv[0], "PING");
    requestFreeArgv(&r);
    assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 0);
    assert_true(protoQueryBufLen(c) <= strlen("*2\r\n$3\r\nGET"));
    feed(c, "\r\n$1\r\nk\r\nPING\r\n", 15);
    assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 1);
    assert_int_equal(r.argc, 2);
    assert_string_equal(r.argv[1], "k");
    requestFreeArgv(&r);
    assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 1);
    assert_string_equal(r.argv[0], "PING");
    requestFreeArgv(&r);
    assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 0);
    assert_int_equal(protoQueryBufLen(c), 0);
    freeClient(c);
}

/* ---- inline ------------------------------------------------------------ */

static void test_inline_simple(void **state) {
    (void)state;
    parsed p;
    const char in[] = "PING\r\nSET a b\n  GET   a  \r\n\tECHO\tx\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 4);
    expectArgs(&p, 0, 1, "PING");
    expectArgs(&p, 1, 3, "SET", "a", "b");
    expectArgs(&p, 2, 2, "GET", "a");
    expectArgs(&p, 3, 2, "ECHO", "x");
    parsedFree(&p);
}

static void test_inline_quotes(void **state) {
    (void)state;
    parsed p;
    const char in[] =
        "SET k \"hello world\"\r\n"
        "SET k 'single quoted'\r\n"
        "ECHO \"\"\r\n"
        "ECHO ''\r\n"
        "ECHO foo\"bar baz\"\r\n"
        "ECHO 'it\\'s'\r\n"
        "ECHO 'a\\nb'\r\n"
        "ECHO \"a'b\" 'a\"b'\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 8);
    expectArgs(&p, 0, 3, "SET", "k", "hello world");
    expectArgs(&p, 1, 3, "SET", "k", "single quoted");
    expectArgs(&p, 2, 2, "ECHO", "");
    expectArgs(&p, 3, 2, "ECHO", "");
    expectArgs(&p, 4, 2, "ECHO", "foobar baz");
    expectArgs(&p, 5, 2, "ECHO", "it's");
    expectArgs(&p, 6, 2, "ECHO", "a\\nb");   /* no escapes in single quotes */
    expectArgs(&p, 7, 3, "ECHO", "a'b", "a\"b");
    parsedFree(&p);
}

static void test_inline_escapes(void **state) {
    (void)state;
    parsed p;
    const char in[] =
        "ECHO \"a\\x41b\"\r\n"           /* \x41 = 'A' */
        "ECHO \"\\x4a\\x4B\"\r\n"        /* both hex cases */
        "ECHO \"a\\x4\"\r\n"             /* not two hex digits: \x -> x */
        "ECHO \"\\xzz\"\r\n"
        "ECHO \"\\n\\r\\t\\b\\a\\\\\\\"\\q\"\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 5);
    expectArgs(&p, 0, 2, "ECHO", "aAb");
    expectArgs(&p, 1, 2, "ECHO", "JK");
    expectArgs(&p, 2, 2, "ECHO", "ax4");
    expectArgs(&p, 3, 2, "ECHO", "xzz");
    expectArgs(&p, 4, 2, "ECHO", "\n\r\t\b\a\\\"q");
    parsedFree(&p);
}

static void test_inline_hex_binary(void **state) {
    (void)state;
    parsed p;
    const char in[] = "SET k \"\\x00\\xff\\x0d\\x0a\"\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 1);
    assert_int_equal(p.argc[0], 3);
    assert_int_equal(p.len[0][2], 4);
    assert_memory_equal(p.argv[0][2], "\x00\xff\r\n", 4);
    parsedFree(&p);
}

static void test_inline_unbalanced(void **state) {
    (void)state;
    EXPECT_ERROR("ECHO \"abc\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("ECHO 'abc\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("ECHO \"a\"b\r\n", "unbalanced quotes in request");   /* closing quote must end the word */
    EXPECT_ERROR("ECHO 'a'b\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("\"\r\n", "unbalanced quotes in request");
    EXPECT_ERROR("ECHO \"abc\\\"\r\n", "unbalanced quotes in request"); /* escaped quote does not close */
    /* a good request before the bad one is still delivered */
    parsed p;
    const char in[] = "PING\r\nECHO \"x\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_int_equal(p.nreq, 1);
    expectArgs(&p, 0, 1, "PING");
    assert_true(p.failed);
    assert_string_equal(p.err, "unbalanced quotes in request");
    parsedFree(&p);
}

static void test_inline_too_big(void **state) {
    (void)state;
    size_t n = 70000;
    char *in = malloc(n);
    memset(in, 'a', n);
    parsed p;
    parseWhole(in, n, &p);
    assert_true(p.failed);
    assert_string_equal(p.err, "too big inline request");
    parsedFree(&p);
    /* a long inline line that does end in time is fine */
    memcpy(in, "ECHO ", 5);
    in[60000] = '\n';
    parseWhole(in, 60001, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 1);
    assert_int_equal(p.len[0][1], 60000 - 5);
    parsedFree(&p);
    free(in);
}

/* ---- empty requests ---------------------------------------------------- */

static void test_empty_lines_and_zero_skipped(void **state) {
    (void)state;
    parsed p;
    const char in[] = "\r\n\n   \r\n*0\r\n*-1\r\nPING\r\n\r\n*0\r\n*1\r\n$4\r\nPING\r\n\t\r\n";
    parseWhole(in, sizeof(in) - 1, &p);
    assert_false(p.failed);
    assert_int_equal(p.nreq, 2);
    expectArgs(&p, 0, 1, "PING");
    expectArgs(&p, 1, 1, "PING");
    parsedFree(&p);
    EXPECT_INCOMPLETE("\r\n");
    EXPECT_INCOMPLETE("*0\r\n");
    EXPECT_INCOMPLETE("*-1\r\n\r\n");
}

/* ---- pipelines --------------------------------------------------------- */

static const char pipeline[] =
    "*1\r\n$4\r\nPING\r\n"
    "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$10\r\n0123456789\r\n"
    "PING\r\n"
    "\r\n"
    "*0\r\n"
    "*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"
    "SET k \"a b\\x41\" 'c d'\r\n"
    "*2\r\n$4\r\nECHO\r\n$5\r\na\0b\r\n\r\n"
    "*2\r\n$3\r\nGET\r\n$3\r\nkey\r\n";

static void expectPipeline(const parsed *p) {
    assert_false(p->failed);
    assert_int_equal(p->nreq, 7);
    expectArgs(p, 0, 1, "PING");
    expectArgs(p, 1, 3, "SET", "key", "0123456789");
    expectArgs(p, 2, 1, "PING");
    expectArgs(p, 3, 2, "ECHO", "");
    expectArgs(p, 4, 4, "SET", "k", "a bA", "c d");
    assert_int_equal(p->argc[5], 2);
    assert_int_equal(p->len[5][1], 5);
    assert_memory_equal(p->argv[5][1], "a\0b\r\n", 5);
    expectArgs(p, 6, 2, "GET", "key");
}

static void test_pipeline_whole(void **state) {
    (void)state;
    parsed p;
    parseWhole(pipeline, sizeof(pipeline) - 1, &p);
    expectPipeline(&p);
    parsedFree(&p);
}

static void test_pipeline_bytewise(void **state) {
    (void)state;
    parsed p;
    parseBytewise(pipeline, sizeof(pipeline) - 1, &p);
    expectPipeline(&p);
    parsedFree(&p);
}

static void test_pipeline_every_split(void **state) {
    (void)state;
    size_t n = sizeof(pipeline) - 1;
    for (size_t cut = 0; cut <= n; cut++) {
        parsed p;
        parseChunks(pipeline, n, &cut, 1, &p);
        expectPipeline(&p);
        parsedFree(&p);
    }
}

/* Every single request, fed byte by byte and in two parts at every split
 * point, must come out exactly as when fed at once. */
static void test_split_every_boundary(void **state) {
    (void)state;
    static const struct { const char *s; size_t n; } cases[] = {
#define C(lit) {lit, sizeof(lit) - 1}
        C("*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n"),
        C("*1\r\n$4\r\nPING\r\n"),
        C("*2\r\n$4\r\nECHO\r\n$0\r\n\r\n"),
        C("*2\r\n$4\r\nECHO\r\n$12\r\n0123456789ab\r\n"),
        C("*2\r\n$3\r\nGET\r\n$6\r\n\0\r\n\0\r\n\r\n"),
        C("*12\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\nd\r\n$1\r\ne\r\n$1\r\nf\r\n"
          "$1\r\ng\r\n$1\r\nh\r\n$1\r\ni\r\n$1\r\nj\r\n$1\r\nk\r\n$2\r\nlm\r\n"),
        C("PING\r\n"),
        C("PING\n"),
        C("SET key \"va lue\\x41\\n\" 'x y'\r\n"),
        C("  ECHO   'it\\'s'  \r\n"),
        C("\r\n*0\r\nPING\r\n"),
        C("*1\r\n$4\r\nPING\r\nPING\r\n*1\r\n$4\r\nPING\r\n"),
        /* requests that end in an error must fail the same way too */
        C("*1\r\n$-5\r\n"),
        C("*1\r\n:5\r\n"),
        C("*abc\r\n"),
        C("ECHO \"abc\r\n"),
        C("*2\r\n$3\r\nGET\r\n*1\r\n"),
#undef C
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        const char *in = cases[k].s;
        size_t n = cases[k].n;
        parsed whole, bytes;
        parseWhole(in, n, &whole);
        assert_true(whole.nreq > 0 || whole.failed);
        parseBytewise(in, n, &bytes);
        assertSameParse(&whole, &bytes, "byte by byte");
        parsedFree(&bytes);
        for (size_t cut = 0; cut <= n; cut++) {
            parsed two;
            parseChunks(in, n, &cut, 1, &two);
            char what[64];
            snprintf(what, sizeof(what), "case %zu split at %zu", k, cut);
            assertSameParse(&whole, &two, what);
            parsedFree(&two);
        }
        /* and three parts at every pair of split points */
        for (size_t a = 1; a < n; a++)
            for (size_t b = a + 1; b < n; b++) {
                size_t cuts[2] = {a, b};
                parsed three;
                parseChunks(in, n, cuts, 2, &three);
                assertSameParse(&whole, &three, "three parts");
                parsedFree(&three);
            }
        parsedFree(&whole);
    }
}

/* ---- protocol errors --------------------------------------------------- */

static void test_error_multibulk_length(void **state) {
    (void)state;
    EXPECT_ERROR("*abc\r\n", "invalid multibulk length");
    EXPECT_ERROR("*1a\r\n", "invalid multibulk length");
    EXPECT_ERROR("*+1\r\n$4\r\nPING\r\n", "invalid multibulk length");
    EXPECT_ERROR("*01\r\n$4\r\nPING\r\n", "invalid multibulk length");
    EXPECT_ERROR("* 1\r\n", "invalid multibulk length");
    EXPECT_ERROR("*\r\n", "invalid multibulk length");
    EXPECT_ERROR("*99999999999999999999\r\n", "invalid multibulk length");
    EXPECT_ERROR("*2147483648\r\n", "invalid multibulk length"); /* INT_MAX + 1 */
    EXPECT_ERROR("*9223372036854775807\r\n", "invalid multibulk length");
}

/* Redis 6 refused counts above 1024*1024; Redis 7 (checked on 7.0.15)
 * accepts up to INT_MAX and waits for the elements, without allocating
 * them up front. */
static void test_multibulk_huge_count_waits(void **state) {
    (void)state;
    EXPECT_INCOMPLETE("*2000000\r\n");
    EXPECT_INCOMPLETE("*2147483647\r\n$3\r\nSET\r\n$1\r\nk\r\n");
    /* arguments beyond the first allocation still arrive intact */
    client *c = newClient();
    parsed p;
    memset(&p, 0, sizeof(p));
    feed(c, "*300\r\n", 6);
    char arg[32];
    for (int i = 0; i < 300; i++) {
        int n = snprintf(arg, sizeof(arg), "$%d\r\n%d\r\n", i < 10 ? 1 : i < 100 ? 2 : 3, i);
        feed(c, arg, (size_t)n);
    }
    request r;
    memset(&r, 0, sizeof(r));
    char err[128];
    assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 1);
    assert_int_equal(r.argc, 300);
    for (int i = 0; i < 300; i++) {
        snprintf(arg, sizeof(arg), "%d", i);
        assert_string_equal(r.argv[i], arg);
        assert_int_equal(r.argvlen[i], strlen(arg));
    }
    requestFreeArgv(&r);
    freeClient(c);
}

/* With requirepass set, an unauthenticated client may send at most 10
 * arguments and bulks of at most 16384 bytes (Redis 7). */
static void test_unauthenticated_limits(void **state) {
    (void)state;
    char *saved = server_config.requirepass;
    server_config.requirepass = "secret";
    EXPECT_ERROR("*11\r\n", "unauthenticated multibulk length");
    EXPECT_INCOMPLETE("*10\r\n");
    EXPECT_ERROR("*2\r\n$4\r\nAUTH\r\n$16385\r\n", "unauthenticated bulk length");
    EXPECT_INCOMPLETE("*2\r\n$4\r\nAUTH\r\n$16384\r\n");
    /* an authenticated client has the normal limits */
    client *c = newClient();
    c->authenticated = true;
    feed(c, "*11\r\n$20000\r\n", 13);
    request r;
    memset(&r, 0, sizeof(r));
    char err[128];
    assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 0);
    freeClient(c);
    server_config.requirepass = saved;
}

static char *bigBulkRequest(const char *cmd, size_t vlen, size_t *n) {
    char hdr[96];
    int hl = snprintf(hdr, sizeof(hdr), "*2\r\n$%zu\r\n%s\r\n$%zu\r\n", strlen(cmd), cmd, vlen);
    *n = (size_t)hl + vlen + 2;
    char *in = malloc(*n);
    memcpy(in, hdr, (size_t)hl);
    memset(in + hl, 'v', vlen);
    memcpy(in + hl + vlen, "\r\n", 2);
    return in;
}

static void test_error_too_big_count_string(void **state) {
    (void)state;
    size_t n = 70000;
    char *in = malloc(n);
    memset(in, '1', n);
    in[0] = '*';
    parsed p;
    parseWhole(in, n, &p);
    assert_true(p.failed);
    assert_string_equal(p.err, "too big mbulk count string");
    parsedFree(&p);
    memcpy(in, "*1\r\n$", 5);
    parseWhole(in, n, &p);
    assert_true(p.failed);
    assert_string_equal(p.err, "too big bulk count string");
    parsedFree(&p);
    free(in);
}

static void test_error_bulk_length(void **state) {
    (void)state;
    EXPECT_ERROR("*1\r\n$-5\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$-1\r\n", "invalid bulk length");
    EXPECT_ERROR("*2\r\n$3\r\nGET\r\n$-1\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$abc\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$536870913\r\n", "invalid bulk length");  /* proto-max-bulk-len + 1 */
    EXPECT_ERROR("*1\r\n$99999999999999999999\r\n", "invalid bulk length");
    EXPECT_ERROR("*2\r\n$3\r\nSET\r\n$600000000\r\nabc", "invalid bulk length");
    /* the limit follows the config */
    long long saved = server_config.proto_max_bulk_len;
    server_config.proto_max_bulk_len = 1024 * 1024;
    EXPECT_ERROR("*1\r\n$1048577\r\n", "invalid bulk length");
    EXPECT_INCOMPLETE("*1\r\n$1048576\r\n");
    server_config.proto_max_bulk_len = saved;
}

static void test_error_expected_dollar(void **state) {
    (void)state;
    EXPECT_ERROR("*1\r\n:5\r\n", "expected '$', got ':'");
    EXPECT_ERROR("*2\r\n$3\r\nGET\r\n:5\r\n", "expected '$', got ':'");
    EXPECT_ERROR("*1\r\n+OK\r\n", "expected '$', got '+'");
    EXPECT_ERROR("*1\r\n-ERR x\r\n", "expected '$', got '-'");
    EXPECT_ERROR("*1\r\n*1\r\n$1\r\na\r\n", "expected '$', got '*'");
    EXPECT_ERROR("*2\r\n$3\r\nGET\r\n*1\r\n", "expected '$', got '*'");
}

/* BUG (see report): a type byte hiredis 0.14 does not know is reported with
 * hiredis's own text ("Protocol error, got \"f\" as reply type byte")
 * instead of Redis's "expected '$', got 'f'". */
static void test_error_expected_dollar_unknown_type(void **state) {
    (void)state;
    EXPECT_ERROR("*1\r\nfoo\r\n", "expected '$', got 'f'");
    EXPECT_ERROR("*1\r\n,1.5\r\n", "expected '$', got ','");
    EXPECT_ERROR("*1\r\n#t\r\n", "expected '$', got '#'");
}

/* Bulk lengths are as strict as Redis's string2ll whether the request
 * arrives whole (hiredis 0.14's own check, mapped) or in parts. */
static void test_error_bulk_length_strict(void **state) {
    (void)state;
    EXPECT_ERROR("*1\r\n$+4\r\nPING\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$04\r\nPING\r\n", "invalid bulk length");
    EXPECT_ERROR("*2\r\n$4\r\nECHO\r\n$ 1\r\nx\r\n", "invalid bulk length");
}

/* The same strict check when the bulk header arrives on its own. */
static void test_error_bulk_length_strict_partial(void **state) {
    (void)state;
    EXPECT_ERROR("*1\r\n$+4\r\n", "invalid bulk length");
    EXPECT_ERROR("*1\r\n$04\r\nPI", "invalid bulk length");
    parsed p;
    const char in[] = "*1\r\n$+4\r\nPING\r\n";
    parseBytewise(in, sizeof(in) - 1, &p);
    assert_true(p.failed);
    assert_string_equal(p.err, "invalid bulk length");
    parsedFree(&p);
}

/* BUG (see report): the bulk-length limits (proto-max-bulk-len and the
 * unauthenticated 16384) are only checked while the bulk is incomplete.
 * When the whole request is already buffered (one 64 KB read, or input
 * queued while the client is paused) hiredis parses it and the request
 * runs. Redis checks every bulk header before reading the data. */
static void test_bulk_limits_when_request_complete(void **state) {
    (void)state;
    size_t n;
    char *in = bigBulkRequest("AUTH", 20000, &n);
    char *saved = server_config.requirepass;
    server_config.requirepass = "secret";
    parsed p;
    parseWhole(in, n, &p);
    server_config.requirepass = saved;
    free(in);
    bool failed1 = p.failed;
    int nreq1 = p.nreq;
    char err1[256];
    snprintf(err1, sizeof(err1), "%s", p.err);
    parsedFree(&p);

    long long savedmax = server_config.proto_max_bulk_len;
    server_config.proto_max_bulk_len = 1024 * 1024;
    in = bigBulkRequest("SET", 1024 * 1024 + 1, &n);
    parseWhole(in, n, &p);
    server_config.proto_max_bulk_len = savedmax;
    free(in);
    bool failed2 = p.failed;
    int nreq2 = p.nreq;
    char err2[256];
    snprintf(err2, sizeof(err2), "%s", p.err);
    parsedFree(&p);

    if (!failed1) fail_msg("unauthenticated 20000-byte bulk accepted whole (%d request)", nreq1);
    assert_string_equal(err1, "unauthenticated bulk length");
    if (!failed2) fail_msg("bulk of proto-max-bulk-len + 1 accepted whole (%d request)", nreq2);
    assert_string_equal(err2, "invalid bulk length");
}

/* ---- buffer housekeeping ----------------------------------------------- */

/* BUG (see report): the inline path only advances the hiredis reader's
 * position and never lets it discard consumed bytes (hiredis trims its
 * buffer only inside redisReaderGetReply), so the query buffer of a client
 * that speaks inline (telnet, redis-cli piping, health checks) grows with
 * every command for the life of the connection. Redis trims consumed
 * query-buffer bytes after each command. */
static void test_inline_buffer_does_not_grow(void **state) {
    (void)state;
    client *c = newClient();
    for (int i = 0; i < 100000; i++) {
        feed(c, "PING\r\n", 6);
        request r;
        memset(&r, 0, sizeof(r));
        char err[128];
        assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 1);
        requestFreeArgv(&r);
    }
    size_t pending = protoQueryBufLen(c), held = c->reader->len;
    freeClient(c);
    assert_int_equal(pending, 0);
    if (held > 64 * 1024) fail_msg("reader buffer holds %zu consumed bytes after 100000 inline PINGs", held);
}

static void test_multibulk_buffer_does_not_grow(void **state) {
    (void)state;
    client *c = newClient();
    for (int i = 0; i < 100000; i++) {
        feed(c, "*1\r\n$4\r\nPING\r\n", 14);
        request r;
        memset(&r, 0, sizeof(r));
        char err[128];
        assert_int_equal(protoNextRequest(c, &r, err, sizeof(err)), 1);
        requestFreeArgv(&r);
    }
    assert_int_equal(protoQueryBufLen(c), 0);
    assert_true(c->reader->len <= 64 * 1024);
    freeClient(c);
}

int main(void) {
    const struct CMUnitTest parse[] = {
        cmocka_unit_test(test_multibulk_simple),
        cmocka_unit_test(test_multibulk_empty_and_long_args),
        cmocka_unit_test(test_multibulk_binary),
        cmocka_unit_test(test_multibulk_large_value),
        cmocka_unit_test(test_multibulk_many_args),
        cmocka_unit_test(test_incomplete_waits),
        cmocka_unit_test(test_query_buf_len),
        cmocka_unit_test(test_inline_simple),
        cmocka_unit_test(test_inline_quotes),
        cmocka_unit_test(test_inline_escapes),
        cmocka_unit_test(test_inline_hex_binary),
        cmocka_unit_test(test_inline_unbalanced),
        cmocka_unit_test(test_inline_too_big),
        cmocka_unit_test(test_empty_lines_and_zero_skipped),
    };
    const struct CMUnitTest split[] = {
        cmocka_unit_test(test_pipeline_whole),
        cmocka_unit_test(test_pipeline_bytewise),
        cmocka_unit_test(test_pipeline_every_split),
        cmocka_unit_test(test_split_every_boundary),
    };
    const struct CMUnitTest errors[] = {
        cmocka_unit_test(test_error_multibulk_length),
        cmocka_unit_test(test_multibulk_huge_count_waits),
        cmocka_unit_test(test_unauthenticated_limits),
        cmocka_unit_test(test_error_too_big_count_string),
        cmocka_unit_test(test_error_bulk_length),
        cmocka_unit_test(test_error_expected_dollar),
        cmocka_unit_test(test_error_bulk_length_strict_partial),
        cmocka_unit_test(test_error_expected_dollar_unknown_type),
        cmocka_unit_test(test_error_bulk_length_strict),
        cmocka_unit_test(test_bulk_limits_when_request_complete),
    };
    const struct CMUnitTest housekeeping[] = {
        cmocka_unit_test(test_multibulk_buffer_does_not_grow),
        cmocka_unit_test(test_inline_buffer_does_not_grow),
    };
    configInitDefaults(); /* proto-max-bulk-len and requirepass defaults */
    int failed = 0;
    failed += cmocka_run_group_tests_name("proto: parsing", parse, NULL, NULL);
    failed += cmocka_run_group_tests_name("proto: split requests", split, NULL, NULL);
    failed += cmocka_run_group_tests_name("proto: protocol errors", errors, NULL, NULL);
    failed += cmocka_run_group_tests_name("proto: buffers", housekeeping, NULL, NULL);
    return failed;
}
