/*
 * test_restore_tool.c — unit tests for replListReplicas, replRestoreIfEmpty and
 * what they read (replication/restore.c), and the command line of tool.c.
 */
#include "restore_fixture.h"

#include <fcntl.h>

/* tool.c has no header: its parser and main() are tested from here, with
 * main renamed so it does not collide with cmocka's. */
#define main toolMain
#include "../../replication/tool.c"
#undef main

/* ---- a target that counts what is read ---------------------------------- */

/* Wraps the case's file target: whole-object reads (get, get_file) are
 * counted apart from header reads (get_head), so a test can tell a listing
 * or a point-in-time choice that peeks from one that downloads. */
typedef struct counter {
    target *inner;
    int gets, get_files, heads;
    long long whole_bytes, head_bytes;
    char last_file[96]; /* the last object fetched with get_file */
} counter;

static int cntPut(target *t, const char *name, const void *buf, size_t len, char *err, size_t errlen) {
    target *in = ((counter *)t->impl)->inner;
    return in->ops->put(in, name, buf, len, err, errlen);
}

static int cntPutFile(target *t, const char *name, const char *path, char *err, size_t errlen) {
    target *in = ((counter *)t->impl)->inner;
    return in->ops->put_file(in, name, path, err, errlen);
}

static int cntGet(target *t, const char *name, char **buf, size_t *len, char *err, size_t errlen) {
    counter *c = t->impl;
    int rc = c->inner->ops->get(c->inner, name, buf, len, err, errlen);
    c->gets++;
    if (rc == TARGET_OK) c->whole_bytes += (long long)*len;
    return rc;
}

static int cntGetFile(target *t, const char *name, const char *path, char *err, size_t errlen) {
    counter *c = t->impl;
    int rc = c->inner->ops->get_file(c->inner, name, path, err, errlen);
    struct stat sb;
    c->get_files++;
    snprintf(c->last_file, sizeof(c->last_file), "%s", name);
    if (rc == TARGET_OK && stat(path, &sb) == 0) c->whole_bytes += sb.st_size;
    return rc;
}

static int cntGetHead(target *t, const char *name, size_t max, char **buf, size_t *len, char *err, size_t errlen) {
    counter *c = t->impl;
    int rc = c->inner->ops->get_head(c->inner, name, max, buf, len, err, errlen);
    c->heads++;
    if (rc == TARGET_OK) c->head_bytes += (long long)*len;
    return rc;
}

static int cntList(target *t, const char *prefix, target_list_fn *fn, void *arg, char *err, size_t errlen) {
    target *in = ((counter *)t->impl)->inner;
    return in->ops->list(in, prefix, fn, arg, err, errlen);
}

static int cntDel(target *t, const char *name, char *err, size_t errlen) {
    target *in = ((counter *)t->impl)->inner;
    return in->ops->del(in, name, err, errlen);
}

static void cntClose(target *t) { /* the inner target is the case's */
    free(t->impl);
    free(t);
}

static const target_ops counter_ops = {.put = cntPut, .put_file = cntPutFile, .get = cntGet, .get_file = cntGetFile,
                                       .get_head = cntGetHead, .list = cntList, .del = cntDel, .close = cntClose};

static target *counterOpen(target *inner) {
    counter *c = calloc(1, sizeof(*c));
    c->inner = inner;
    target *t = calloc(1, sizeof(*t));
    t->ops = &counter_ops;
    t->impl = c;
    return t;
}

static counter *counted(target *t) { return t->impl; }

/* What listing the replica prints, through target t. */
static char *listing(target *t) {
    char err[ERRLEN] = "", *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    if (replListReplicas(t, out, err, sizeof(err)) != 0) fail_msg("%s", err);
    fclose(out);
    return text;
}

/* ---- restore-if-empty and listing --------------------------------------- */

static void test_restore_if_empty(void **state) {
    tcase *c = *state;
    char err[ERRLEN] = "", empty_url[200];
    int saved = dup(2), devnull = open("/dev/null", O_WRONLY); /* progress lines */
    dup2(devnull, 2);
    int rc = replRestoreIfEmpty(c->url, outPath(c, "srv.db"), err, sizeof(err));
    dup2(saved, 2);
    if (rc != 0) fail_msg("%s", err);
    assertRows(c, "srv.db", 1001, 1004);
    writeWhole(outPath(c, "mine.db"), "mine", 4);
    assert_int_equal(replRestoreIfEmpty(c->url, outPath(c, "mine.db"), err, sizeof(err)), 0);
    size_t len;
    char *kept = readWhole(outPath(c, "mine.db"), &len);
    assert_string_equal(kept, "mine");
    free(kept);
    snprintf(empty_url, sizeof(empty_url), "file://%s/none", c->dir);
    dup2(devnull, 2);
    rc = replRestoreIfEmpty(empty_url, outPath(c, "fresh.db"), err, sizeof(err));
    dup2(saved, 2);
    close(devnull);
    close(saved);
    assert_int_equal(rc, 0);
    assert_int_equal(access(outPath(c, "fresh.db"), F_OK), -1);
    assert_int_equal(replRestoreIfEmpty("ftp://x", outPath(c, "x.db"), err, sizeof(err)), -1);
}

static void test_list_replicas(void **state) {
    tcase *c = *state;
    char *text = listing(c->t), line[200];
    snprintf(line, sizeof(line), "generation %s: 2023-11-14T22:13:20.000Z .. 2023-11-14T22:13:29.000Z, "
             "2 snapshots, 3 segments (0..2)", fx.gen_a);
    assertContains(text, line);
    assertContains(text, "  snapshot 2: as of 2023-11-14T22:13:26.000Z");
    /* segment 0 ends with commit 3, segment 2 with commit 9 */
    assertContains(text, "  segments 0..2: first as of 2023-11-14T22:13:23.000Z, last as of 2023-11-14T22:13:29.000Z");
    snprintf(line, sizeof(line), "generation %s: 2023-11-14T22:15:00.000Z .. 2023-11-14T22:15:01.000Z, "
             "1 snapshot, 1 segment (0..0)", fx.gen_b);
    assertContains(text, line);
    assertContains(text, "  segments 0..0: first as of 2023-11-14T22:15:01.000Z, last as of 2023-11-14T22:15:01.000Z");
    assert_true(strstr(text, fx.gen_a) < strstr(text, fx.gen_b));
    free(text);
    delObject(c, false, fx.gen_a, 1);
    text = listing(c->t);
    assertContains(text, "gap: missing segment");
    free(text);
}

/* A snapshot of 4 MB that does not compress, standing in for snapshot 2 of
 * generation A (same header): what listing it costs shows in the counts. */
static size_t putBigSnapshot(tcase *c) {
    size_t rawlen = 4 << 20, objlen;
    char *raw = malloc(rawlen), *obj, name[96], err[ERRLEN];
    for (size_t i = 0; i < rawlen; i++) raw[i] = (char)(random() >> 7);
    obj_header h = {.kind = OBJ_KIND_SNAPSHOT, .index = 2, .page_size = 4096, .db_pages = (uint32_t)(rawlen / 4096),
                    .ts_first = BASE_A + 6000, .ts_last = BASE_A + 6000, .created = BASE_A + 6000};
    memcpy(h.generation, fx.gen_a, GEN_ID_LEN + 1);
    assert_int_equal(objEncode(&h, raw, rawlen, &obj, &objlen, err, sizeof(err)), TARGET_OK);
    objSnapshotName(name, sizeof(name), fx.gen_a, 2);
    assert_int_equal(c->t->ops->put(c->t, name, obj, objlen, err, sizeof(err)), TARGET_OK);
    free(raw);
    free(obj);
    return objlen;
}

/* Listing reads one header per snapshot and two per generation's segments
 * (first, last), each with get_head, and no object whole. */
static void test_list_reads_only_headers(void **state) {
    tcase *c = *state;
    size_t big = putBigSnapshot(c);
    target *t = counterOpen(c->t);
    char *text = listing(t);
    assertContains(text, "  snapshot 2: as of 2023-11-14T22:13:26.000Z, 4.2 MB");
    free(text);
    counter *n = counted(t);
    assert_int_equal(n->gets + n->get_files, 0);
    assert_int_equal(n->heads, 3 + 3); /* snapshots A0 A2 B0; segments A0 A2 B0 */
    assert_true(n->head_bytes <= 6 * 64 * 1024 && (size_t)n->head_bytes < big / 8);
    targetClose(t);
}

/* A point-in-time restore peeks at the snapshots it passes over and
 * downloads only the one it restores from. */
static void test_timestamp_downloads_one_snapshot(void **state) {
    tcase *c = *state;
    putBigSnapshot(c); /* A2, as of commit 6: passed over for T = commit 4.5 */
    target *t = counterOpen(c->t);
    char err[ERRLEN] = "", want[96];
    restore_opts o = {.output = outPath(c, "out.db"), .index = -1, .timestamp_ms = BASE_A + 4500};
    if (replRestore(t, &o, err, sizeof(err)) != 0) fail_msg("%s", err);
    assertRows(c, "out.db", 1, rowsAfter(4));
    counter *n = counted(t);
    objSnapshotName(want, sizeof(want), fx.gen_a, 0);
    assert_int_equal(n->get_files, 1);
    assert_string_equal(n->last_file, want);
    assert_int_equal(n->heads, 3); /* B0, A2, A0: newest first */
    assert_int_equal(n->gets, 2);  /* segments 0 and 1 (stopped inside it) */
    targetClose(t);
}

/* A segment whose header (its commit list) outgrows get_head's first read is
 * read again at its exact length, and still listed with its times. */
static void test_list_long_header(void **state) {
    tcase *c = *state;
    enum { NCOMMITS = 20000 };
    char gen[GEN_ID_LEN + 1], name[96], err[ERRLEN], *obj, raw[WAL_FRAME_HEADER + 4096] = {0};
    size_t objlen;
    obj_commit *commits = calloc(NCOMMITS, sizeof(*commits));
    for (uint32_t i = 0; i < NCOMMITS; i++) commits[i] = (obj_commit){i + 1, BASE_B + 200000 + i};
    objNewGeneration(gen, BASE_B + 100000);
    obj_header h = {.kind = OBJ_KIND_SEGMENT, .page_size = 4096, .db_pages = 1, .ts_first = commits[0].ts_ms,
                    .ts_last = commits[NCOMMITS - 1].ts_ms, .frame_first = 1, .frame_last = 1, .commits = commits,
                    .ncommits = NCOMMITS};
    memcpy(h.generation, gen, GEN_ID_LEN + 1);
    assert_int_equal(objEncode(&h, raw, sizeof(raw), &obj, &objlen, err, sizeof(err)), TARGET_OK);
    assert_true(objlen > 64 * 1024);
    objSegmentName(name, sizeof(name), gen, 0);
    assert_int_equal(c->t->ops->put(c->t, name, obj, objlen, err, sizeof(err)), TARGET_OK);
    free(obj);
    free(commits);
    target *t = counterOpen(c->t);
    char *text = listing(t);
    /* BASE_B + 200000 + 19999 ms */
    assertContains(text, "  segments 0..0: first as of 2023-11-14T22:18:39.999Z, last as of 2023-11-14T22:18:39.999Z");
    free(text);
    counter *n = counted(t);
    assert_int_equal(n->heads, 6 + 2);
    assert_int_equal(n->gets + n->get_files, 0);
    targetClose(t);
}

/* ---- the command line --------------------------------------------------- */

static void test_parse_time(void **state) {
    (void)state;
    assert_true(parseTime("2023-11-14T22:13:20Z") == BASE_A);
    assert_true(parseTime("2023-11-14t22:13:20z") == BASE_A);
    assert_true(parseTime("2023-11-14T22:13:20.5Z") == BASE_A + 500);
    assert_true(parseTime("2023-11-14T22:13:20.123456Z") == BASE_A + 123);
    assert_true(parseTime("2023-11-14T23:13:20+01:00") == BASE_A);
    assert_true(parseTime("2023-11-14T20:43:20.001-01:30") == BASE_A + 1);
    assert_true(parseTime("2024-02-29T00:00:00Z") == 1709164800000LL);
    assert_true(parseTime("1700000000000") == BASE_A);
    static const char *const bad[] = {"", "2023-11-14", "2023-11-14T22:13:20", "2023-02-29T00:00:00Z",
                                      "2023-13-01T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:13:20.Z",
                                      "2023-11-14T22:13:20+0100", "2023-11-14T22:13:20Zx", "17e11", "-5"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (parseTime(bad[i]) > 0) fail_msg("accepted \"%s\"", bad[i]);
}

/* toolMain with stdout and stderr captured; returns its exit status. */
static int runTool(char *const *args, char **out, char **errs) {
    char *argv[16];
    int argc = 0;
    argv[argc++] = "solidis";
    for (; args[argc - 1]; argc++) argv[argc] = args[argc - 1];
    argv[argc] = NULL;
    char paths[2][96];
    int saved[2], fds[2];
    fflush(stdout);
    fflush(stderr);
    for (int i = 0; i < 2; i++) {
        snprintf(paths[i], sizeof(paths[i]), "%s/tool-%d-XXXXXX", fx.root, i);
        fds[i] = mkstemp(paths[i]);
        saved[i] = dup(i + 1);
        dup2(fds[i], i + 1);
    }
    int rc = toolMain(argc, argv);
    fflush(stdout);
    fflush(stderr);
    char **dst[2] = {out, errs};
    for (int i = 0; i < 2; i++) {
        dup2(saved[i], i + 1);
        close(saved[i]);
        close(fds[i]);
        size_t len;
        *dst[i] = readWhole(paths[i], &len);
        unlink(paths[i]);
    }
    return rc;
}

static void expectTool(char *const *args, int want, const char *in_out, const char *in_err) {
    char *out, *errs;
    int rc = runTool(args, &out, &errs);
    if (rc != want) fail_msg("exit %d, wanted %d; stderr: %s", rc, want, errs);
    if (in_out) assertContains(out, in_out);
    if (in_err) assertContains(errs, in_err);
    free(out);
    free(errs);
}

static void test_tool(void **state) {
    tcase *c = *state;
    char out[256], out2[256], ts[32];
    snprintf(out, sizeof(out), "%s", outPath(c, "cli.db"));
    snprintf(out2, sizeof(out2), "%s", outPath(c, "cli2.db"));
    snprintf(ts, sizeof(ts), "%lld", BASE_A + 4500);
    expectTool((char *[]){"--version", NULL}, 0, "solidis " SOLIDIS_VERSION, NULL);
    expectTool((char *[]){"--help", NULL}, 0, "usage: solidis restore", NULL);
    expectTool((char *[]){NULL}, 2, NULL, "no command");
    expectTool((char *[]){"frobnicate", c->url, NULL}, 2, NULL, "unknown command");
    expectTool((char *[]){"restore", c->url, NULL}, 2, NULL, "restore needs -o");
    expectTool((char *[]){"restore", "-o", out, NULL}, 2, NULL, "needs a replica URL");
    expectTool((char *[]){"restore", "-o", out, c->url, "--index", "3", NULL}, 2, NULL, "--index needs --generation");
    expectTool((char *[]){"restore", "-o", out, c->url, "--timestamp", "yesterday", NULL}, 2, NULL, "--timestamp");
    expectTool((char *[]){"restore", "-o", out, c->url, "--timestamp", ts, "--generation", fx.gen_a, NULL}, 2, NULL,
               "cannot be combined");
    expectTool((char *[]){"restore", "-o", out, c->url, "--generation", "xyz", NULL}, 2, NULL, "16 lowercase hex");
    expectTool((char *[]){"replicas", c->url, "-o", out, NULL}, 2, NULL, "--output is an option of restore");
    expectTool((char *[]){"restore", "--bogus", NULL}, 2, NULL, "unknown option");
    expectTool((char *[]){"restore", "-o", out, "nfs://x", NULL}, 1, NULL, "solidis: unsupported replica URL");
    /* a whole restore by time, then the same output again */
    expectTool((char *[]){"restore", "--output", out, "--timestamp", ts, c->url, NULL}, 0, NULL,
               "applied segment 1/2 (stopped");
    assertRows(c, "cli.db", 1, rowsAfter(4));
    expectTool((char *[]){"restore", "-o", out, "--quiet", c->url, NULL}, 1, NULL, "solidis: output file exists");
    expectTool((char *[]){"restore", "-q", "-o", out2, "--generation", fx.gen_a, "--index=0x1",
                          c->url, NULL},
               0, NULL, NULL);
    assertRows(c, "cli2.db", 1, rowsAfter(6));
    expectTool((char *[]){"replicas", c->url, NULL}, 0, fx.gen_b, NULL);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_restore_if_empty, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_list_replicas, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_list_reads_only_headers, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_timestamp_downloads_one_snapshot, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_list_long_header, caseSetup, caseTeardown),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test_setup_teardown(test_tool, caseSetup, caseTeardown),
    };
    return cmocka_run_group_tests_name("restore: listing and tool", tests, groupSetup, groupTeardown);
}
