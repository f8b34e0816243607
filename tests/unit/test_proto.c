/*
 * test_proto.c — unit tests for server/proto.c: turning client bytes into
 * requests (multibulk and inline), pipelines, requests split at every byte.
 */
#include "proto_fixture.h"

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
    const proto_group groups[] = {
        PROTO_GROUP("proto: parsing", parse),
        PROTO_GROUP("proto: split requests", split),
    };
    return runProtoGroups(groups, sizeof(groups) / sizeof(groups[0]));
}
