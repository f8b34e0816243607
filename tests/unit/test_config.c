/*
 * test_config.c — unit tests for server/config.c: defaults, the
 * redis.conf-style file parser and "--name value" arguments.
 *
 * Redis behaviour quoted in the comments was checked with redis-server
 * 7.0.15 (its FATAL CONFIG FILE ERROR output and CONFIG SET errors).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/config.h"

static int reset(void **state) {
    (void)state;
    configFree(); /* configInitDefaults() overwrites without freeing */
    configInitDefaults();
    return 0;
}

static int groupTeardown(void **state) {
    (void)state;
    configFree();
    return 0;
}

/* Write `text` to a fresh temporary file; the caller unlinks and frees. */
static char *tempConf(const char *text) {
    char *path = strdup("/tmp/solidis-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    close(fd);
    return path;
}

static bool loadText(const char *text, char *err, size_t errlen) {
    char *path = tempConf(text);
    err[0] = '\0';
    bool ok = configLoadFile(path, err, errlen);
    unlink(path);
    free(path);
    return ok;
}

static void expectLoads(const char *text) {
    char err[1024];
    if (!loadText(text, err, sizeof(err))) fail_msg("config rejected: %s", err);
}

static void expectContains(const char *err, const char *part) {
    if (!strstr(err, part)) fail_msg("error \"%s\" does not contain \"%s\"", err, part);
}

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults(void **state) {
    (void)state;
    assert_int_equal(server_config.port, 6379);
    assert_int_equal(server_config.databases, 16);
    assert_int_equal(server_config.appendfsync, FSYNC_EVERYSEC);
    assert_true(server_config.proto_max_bulk_len == 536870912LL);
    assert_true(server_config.client_query_buffer_limit == 1073741824LL);
    assert_int_equal(server_config.maxclients, 10000);
    assert_int_equal(server_config.timeout, 0);
    assert_int_equal(server_config.tcp_keepalive, 300);
    assert_int_equal(server_config.loglevel, LL_NOTICE);
    assert_int_equal(server_config.unixsocketperm, 0);
    assert_string_equal(server_config.bind, "127.0.0.1");
    assert_string_equal(server_config.dir, "./data");
    assert_string_equal(server_config.dbfilename, "solidis.db");
    assert_string_equal(server_config.requirepass, "");
    assert_string_equal(server_config.logfile, "");
    assert_string_equal(server_config.unixsocket, "");
    assert_string_equal(server_config.pidfile, "");
    assert_int_equal(configDatabases(), 16);
    assert_true(configProtoMaxBulkLen() == 536870912LL);
}

static void test_defaults_reset_changes(void **state) {
    (void)state;
    char *argv[] = {"x", "--port", "1234", "--databases", "4", "--requirepass", "pw"};
    char err[256];
    assert_true(configApplyArgs(7, argv, 1, err, sizeof(err)));
    assert_int_equal(server_config.port, 1234);
    reset(NULL);
    assert_int_equal(server_config.port, 6379);
    assert_int_equal(server_config.databases, 16);
    assert_string_equal(server_config.requirepass, "");
}

/* ---- configLoadFile ---------------------------------------------------- */

static void test_load_file_basic(void **state) {
    (void)state;
    expectLoads(
        "# Solidis test configuration\n"
        "\n"
        "   # an indented comment\n"
        "port 7777\n"
        "bind 127.0.0.1 ::1\n"
        "databases 32\n"
        "appendfsync always\n"
        "maxclients 100\n"
        "timeout 30\n"
        "tcp-keepalive 60\n"
        "\t\n"
        "loglevel warning\n"
        "unixsocket /tmp/solidis.sock\n"
        "unixsocketperm 700\n");
    assert_int_equal(server_config.port, 7777);
    assert_string_equal(server_config.bind, "127.0.0.1 ::1");
    assert_int_equal(server_config.databases, 32);
    assert_int_equal(server_config.appendfsync, FSYNC_ALWAYS);
    assert_int_equal(server_config.maxclients, 100);
    assert_int_equal(server_config.timeout, 30);
    assert_int_equal(server_config.tcp_keepalive, 60);
    assert_int_equal(server_config.loglevel, LL_WARNING);
    assert_string_equal(server_config.unixsocket, "/tmp/solidis.sock");
    assert_int_equal(server_config.unixsocketperm, 0700); /* octal, as in redis.conf */
    /* untouched options keep their defaults */
    assert_string_equal(server_config.dir, "./data");
    assert_true(server_config.proto_max_bulk_len == 536870912LL);
}

static void test_load_file_quotes(void **state) {
    (void)state;
    expectLoads(
        "dir \"/tmp/some dir\"\n"
        "requirepass 'p@ss word'\n"
        "dbfilename \"a\\\"b.db\"\n"
        "logfile \"\"\n"
        "pidfile '/run/x.pid'\n");
    assert_string_equal(server_config.dir, "/tmp/some dir");
    assert_string_equal(server_config.requirepass, "p@ss word");
    assert_string_equal(server_config.dbfilename, "a\"b.db");
    assert_string_equal(server_config.logfile, "");
    assert_string_equal(server_config.pidfile, "/run/x.pid");
}

static void test_load_file_case_and_whitespace(void **state) {
    (void)state;
    expectLoads(
        "PORT 7001\r\n"                 /* directive names are case-insensitive; CRLF lines */
        "  AppendFsync   NO  \r\n"      /* so are enum values */
        "LogLevel DEBUG\n"
        "port\t7002\n");                /* later lines win */
    assert_int_equal(server_config.port, 7002);
    assert_int_equal(server_config.appendfsync, FSYNC_NO);
    assert_int_equal(server_config.loglevel, LL_DEBUG);
}

static void test_load_file_no_trailing_newline(void **state) {
    (void)state;
    expectLoads("port 7003");
    assert_int_equal(server_config.port, 7003);
    expectLoads("");
    expectLoads("# only a comment");
}

static void test_load_file_memory_units(void **state) {
    (void)state;
    expectLoads("proto-max-bulk-len 64mb\nclient-query-buffer-limit 1gb\n");
    assert_true(server_config.proto_max_bulk_len == 64LL * 1024 * 1024);
    assert_true(server_config.client_query_buffer_limit == 1024LL * 1024 * 1024);
    expectLoads("proto-max-bulk-len 2000k\n");           /* k = 1000 */
    assert_true(server_config.proto_max_bulk_len == 2000000LL);
    expectLoads("proto-max-bulk-len 1024kb\n");          /* kb = 1024 */
    assert_true(server_config.proto_max_bulk_len == 1048576LL);
    expectLoads("proto-max-bulk-len 3m\n");              /* m = 1000^2 */
    assert_true(server_config.proto_max_bulk_len == 3000000LL);
    expectLoads("proto-max-bulk-len 2g\n");              /* g = 1000^3 */
    assert_true(server_config.proto_max_bulk_len == 2000000000LL);
    expectLoads("client-query-buffer-limit 2GB\n");      /* units are case-insensitive */
    assert_true(server_config.client_query_buffer_limit == 2LL * 1024 * 1024 * 1024);
    expectLoads("proto-max-bulk-len 5242880\n");         /* plain bytes */
    assert_true(server_config.proto_max_bulk_len == 5242880LL);
}

static void test_load_file_memory_errors(void **state) {
    (void)state;
    char err[1024];
    long long before = server_config.proto_max_bulk_len;
    /* 100k = 100000 bytes is below the 1mb minimum */
    assert_false(loadText("proto-max-bulk-len 100k\n", err, sizeof(err)));
    expectContains(err, "must be between 1048576 and");
    assert_false(loadText("proto-max-bulk-len 10xb\n", err, sizeof(err)));
    expectContains(err, "argument must be a memory value");
    assert_false(loadText("proto-max-bulk-len mb\n", err, sizeof(err)));
    expectContains(err, "argument must be a memory value");
    assert_true(server_config.proto_max_bulk_len == before);
}

static void test_load_file_fixed_and_include(void **state) {
    (void)state;
    /* options Solidis reports but does not implement are accepted */
    expectLoads(
        "save 900 1 300 10\n"
        "save \"\"\n"
        "appendonly yes\n"
        "maxmemory 100mb\n"
        "maxmemory-policy allkeys-lru\n"
        "daemonize no\n"
        "protected-mode yes\n"
        "tcp-backlog 511\n"
        "include /nonexistent/other.conf\n"
        "port 7004\n");
    assert_int_equal(server_config.port, 7004);
}

static void test_load_file_bad_directive(void **state) {
    (void)state;
    char err[1024];
    assert_false(loadText("port 7005\n# comment\nnosuchoption 1\nport 7006\n", err, sizeof(err)));
    expectContains(err, "Bad directive or wrong number of arguments");
    expectContains(err, "nosuchoption");
    expectContains(err, "line 3");
    /* reading stopped at the bad line */
    assert_int_equal(server_config.port, 7005);
}

static void test_load_file_bad_values(void **state) {
    (void)state;
    char err[1024];
    assert_false(loadText("port abc\n", err, sizeof(err)));
    expectContains(err, "argument couldn't be parsed into an integer");
    expectContains(err, "line 1");
    assert_false(loadText("port 70000\n", err, sizeof(err)));
    expectContains(err, "argument must be between 0 and 65535 inclusive");
    assert_false(loadText("port 12x\n", err, sizeof(err)));
    expectContains(err, "argument couldn't be parsed into an integer");
    assert_false(loadText("\n\nport\n", err, sizeof(err)));      /* missing value */
    expectContains(err, "line 3");
    assert_false(loadText("databases 0\n", err, sizeof(err)));
    expectContains(err, "must be between 1 and");
    assert_false(loadText("unixsocketperm 789\n", err, sizeof(err)));  /* not octal */
    assert_int_equal(server_config.port, 6379);
    assert_int_equal(server_config.databases, 16);
}

static void test_load_file_bad_enum(void **state) {
    (void)state;
    char err[1024];
    assert_false(loadText("appendfsync sometimes\n", err, sizeof(err)));
    expectContains(err, "argument(s) must be one of the following:");
    expectContains(err, "everysec");
    expectContains(err, "always");
    expectContains(err, "no");
    assert_int_equal(server_config.appendfsync, FSYNC_EVERYSEC);
    assert_false(loadText("loglevel loud\n", err, sizeof(err)));
    expectContains(err, "argument(s) must be one of the following: debug, verbose, notice, warning");
    assert_int_equal(server_config.loglevel, LL_NOTICE);
}

/* BUG (see report): Redis lists appendfsync's values in its own table
 * order, "everysec, always, no"; Solidis says "no, everysec, always". */
static void test_bad_enum_redis_text(void **state) {
    (void)state;
    char err[1024];
    assert_false(loadText("appendfsync sometimes\n", err, sizeof(err)));
    expectContains(err, "argument(s) must be one of the following: everysec, always, no");
}

static void test_load_file_missing(void **state) {
    (void)state;
    char err[1024] = "";
    assert_false(configLoadFile("/nonexistent/dir/solidis.conf", err, sizeof(err)));
    expectContains(err, "/nonexistent/dir/solidis.conf");
}

/* BUG (see report): a '#' starts a comment only at the start of a line in
 * redis.conf. Solidis also treats a word starting with '#' as a comment,
 * so "requirepass #secret" silently sets an EMPTY password (no auth at all);
 * Redis 7.0.15 sets the password "#secret". */
static void test_load_file_hash_inside_line(void **state) {
    (void)state;
    char err[1024];
    if (!loadText("requirepass #secret\n", err, sizeof(err))) fail_msg("rejected: %s", err);
    assert_string_equal(server_config.requirepass, "#secret");
}

/* BUG (see report): in redis.conf double quotes, "\xHH", "\n", "\t"...
 * are escapes (sdssplitargs); Solidis keeps "\x41" as "x41" and "\t" as
 * "t". */
static void test_load_file_quote_escapes(void **state) {
    (void)state;
    char err[1024];
    if (!loadText("requirepass \"a\\x41\\tb\"\n", err, sizeof(err))) fail_msg("rejected: %s", err);
    assert_string_equal(server_config.requirepass, "aA\tb");
}

/* BUG (see report): a missing closing quote, or a closing quote followed by
 * more text, is "Unbalanced quotes in configuration line" in Redis.
 * Solidis accepts `requirepass "abc` as the password "abc\n" (newline
 * included) and `dir "a"b` as "a". */
static void test_load_file_unbalanced_quotes(void **state) {
    (void)state;
    char err[1024];
    bool ok = loadText("requirepass \"abc\n", err, sizeof(err));
    if (ok) fail_msg("accepted; requirepass is now \"%s\"", server_config.requirepass);
    expectContains(err, "Unbalanced quotes");
    ok = loadText("dir \"a\"b\n", err, sizeof(err));
    if (ok) fail_msg("accepted; dir is now \"%s\"", server_config.dir);
    expectContains(err, "Unbalanced quotes");
}

/* ---- configApplyArgs --------------------------------------------------- */

static void test_args_basic(void **state) {
    (void)state;
    char *argv[] = {"solidis-server", "--port", "7000", "--appendfsync", "always"};
    char err[256] = "";
    if (!configApplyArgs(5, argv, 1, err, sizeof(err))) fail_msg("rejected: %s", err);
    assert_int_equal(server_config.port, 7000);
    assert_int_equal(server_config.appendfsync, FSYNC_ALWAYS);
}

static void test_args_after_file_and_start(void **state) {
    (void)state;
    /* main() passes the index after the config file path */
    expectLoads("port 7100\ndatabases 8\n");
    char *argv[] = {"solidis-server", "/etc/solidis.conf", "--port", "7200", "--dir", "/tmp/d"};
    char err[256] = "";
    if (!configApplyArgs(6, argv, 2, err, sizeof(err))) fail_msg("rejected: %s", err);
    assert_int_equal(server_config.port, 7200);      /* arguments override the file */
    assert_int_equal(server_config.databases, 8);
    assert_string_equal(server_config.dir, "/tmp/d");
}

static void test_args_multiword_and_empty(void **state) {
    (void)state;
    char *argv[] = {"s", "--bind", "127.0.0.1", "::1", "--save", "", "--requirepass", "a b", "--proto-max-bulk-len", "2mb",
                    "--loglevel", "verbose", "--daemonize"};
    char err[256] = "";
    if (!configApplyArgs(13, argv, 1, err, sizeof(err))) fail_msg("rejected: %s", err);
    assert_string_equal(server_config.bind, "127.0.0.1 ::1");
    assert_string_equal(server_config.requirepass, "a b");
    assert_true(server_config.proto_max_bulk_len == 2LL * 1024 * 1024);
    assert_int_equal(server_config.loglevel, LL_VERBOSE);
}

static void test_args_nothing(void **state) {
    (void)state;
    char *argv[] = {"solidis-server"};
    char err[64] = "";
    assert_true(configApplyArgs(1, argv, 1, err, sizeof(err)));
    assert_int_equal(server_config.port, 6379);
}

static void test_args_bad_enum(void **state) {
    (void)state;
    char *argv[] = {"solidis-server", "--port", "7000", "--appendfsync", "bogus"};
    char err[256] = "";
    assert_false(configApplyArgs(5, argv, 1, err, sizeof(err)));
    expectContains(err, "appendfsync");
    expectContains(err, "argument(s) must be one of the following:");
    assert_int_equal(server_config.appendfsync, FSYNC_EVERYSEC);
}

static void test_args_errors(void **state) {
    (void)state;
    char err[256];
    char *a1[] = {"s", "port", "7000"};
    assert_false(configApplyArgs(3, a1, 1, err, sizeof(err)));
    expectContains(err, "port");
    char *a2[] = {"s", "--nosuchoption", "1"};
    assert_false(configApplyArgs(3, a2, 1, err, sizeof(err)));
    expectContains(err, "Bad directive or wrong number of arguments");
    expectContains(err, "nosuchoption");
    char *a3[] = {"s", "--port", "notanumber"};
    assert_false(configApplyArgs(3, a3, 1, err, sizeof(err)));
    expectContains(err, "argument couldn't be parsed into an integer");
    char *a4[] = {"s", "--port"};
    assert_false(configApplyArgs(2, a4, 1, err, sizeof(err)));
    char *a5[] = {"s", "--"};
    assert_false(configApplyArgs(2, a5, 1, err, sizeof(err)));
    char *a6[] = {"s", "--maxclients", "0"};
    assert_false(configApplyArgs(3, a6, 1, err, sizeof(err)));
    expectContains(err, "must be between 1 and");
    assert_int_equal(server_config.port, 6379);
    assert_int_equal(server_config.maxclients, 10000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_defaults, reset),
        cmocka_unit_test_setup(test_defaults_reset_changes, reset),
        cmocka_unit_test_setup(test_load_file_basic, reset),
        cmocka_unit_test_setup(test_load_file_quotes, reset),
        cmocka_unit_test_setup(test_load_file_case_and_whitespace, reset),
        cmocka_unit_test_setup(test_load_file_no_trailing_newline, reset),
        cmocka_unit_test_setup(test_load_file_memory_units, reset),
        cmocka_unit_test_setup(test_load_file_memory_errors, reset),
        cmocka_unit_test_setup(test_load_file_fixed_and_include, reset),
        cmocka_unit_test_setup(test_load_file_bad_directive, reset),
        cmocka_unit_test_setup(test_load_file_bad_values, reset),
        cmocka_unit_test_setup(test_load_file_bad_enum, reset),
        cmocka_unit_test_setup(test_load_file_missing, reset),
        cmocka_unit_test_setup(test_args_basic, reset),
        cmocka_unit_test_setup(test_args_after_file_and_start, reset),
        cmocka_unit_test_setup(test_args_multiword_and_empty, reset),
        cmocka_unit_test_setup(test_args_nothing, reset),
        cmocka_unit_test_setup(test_args_bad_enum, reset),
        cmocka_unit_test_setup(test_args_errors, reset),
        /* known bugs, see the comments on each */
        cmocka_unit_test_setup(test_bad_enum_redis_text, reset),
        cmocka_unit_test_setup(test_load_file_hash_inside_line, reset),
        cmocka_unit_test_setup(test_load_file_quote_escapes, reset),
        cmocka_unit_test_setup(test_load_file_unbalanced_quotes, reset),
    };
    return cmocka_run_group_tests_name("config", tests, NULL, groupTeardown);
}
