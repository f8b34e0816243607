/*
 * test_proto_errors.c — unit tests for server/proto.c: the protocol errors
 * Redis reports, the request size limits, and the query buffer's housekeeping.
 */
#include "proto_fixture.h"

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
    const proto_group groups[] = {
        PROTO_GROUP("proto: protocol errors", errors),
        PROTO_GROUP("proto: buffers", housekeeping),
    };
    return runProtoGroups(groups, sizeof(groups) / sizeof(groups[0]));
}
