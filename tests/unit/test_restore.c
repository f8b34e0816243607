/*
 * test_restore.c — unit tests for replRestore (replication/restore.c):
 * choosing the state to restore, and refusing missing or damaged objects.
 */
#include "restore_fixture.h"

/* ---- restore: choosing the state ---------------------------------------- */

static void test_latest_is_newest_generation(void **state) {
    tcase *c = *state;
    char err[ERRLEN];
    if (restoreTo(c, "out.db", NULL, -1, 0, err) != 0) fail_msg("%s", err);
    assertRows(c, "out.db", 1001, 1004);
}

static void test_generation_latest(void **state) {
    tcase *c = *state;
    char err[ERRLEN];
    if (restoreTo(c, "out.db", fx.gen_a, -1, 0, err) != 0) fail_msg("%s", err);
    assertRows(c, "out.db", 1, rowsAfter(COMMITS_A));
}

static void test_index(void **state) {
    tcase *c = *state;
    char err[ERRLEN], out[32];
    for (int i = 0; i < COMMITS_A / COMMITS_PER_SEG; i++) {
        snprintf(out, sizeof(out), "out%d.db", i);
        if (restoreTo(c, out, fx.gen_a, i, 0, err) != 0) fail_msg("index %d: %s", i, err);
        assertRows(c, out, 1, rowsAfter(COMMITS_PER_SEG * (i + 1)));
    }
    assert_int_equal(restoreTo(c, "bad.db", fx.gen_a, 7, 0, err), -1);
    assertContains(err, "segment 7 not found");
}

static void test_timestamp(void **state) {
    static const struct { int64_t t; int commits; } cases[] = {
        {BASE_A, 0},          /* exactly the snapshot's time */
        {BASE_A + 500, 0},    /* before the first commit */
        {BASE_A + 3999, 3},   /* just before commit 4 */
        {BASE_A + 4000, 4},   /* at commit 4: included */
        {BASE_A + 4500, 4},   /* between commits, mid-segment */
        {BASE_A + 7000, 7},   /* from snapshot 2 */
        {BASE_B - 1, COMMITS_A}, /* the older generation, all of it */
    };
    tcase *c = *state;
    char err[ERRLEN], out[16];
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        snprintf(out, sizeof(out), "out%zu.db", i);
        if (restoreTo(c, out, NULL, -1, cases[i].t, err) != 0) fail_msg("case %zu: %s", i, err);
        assertRows(c, out, 1, rowsAfter(cases[i].commits));
    }
    if (restoreTo(c, "b1.db", NULL, -1, BASE_B + 999, err) != 0) fail_msg("%s", err);
    assertRows(c, "b1.db", 1001, 1003);
    if (restoreTo(c, "b2.db", NULL, -1, BASE_B + 1000, err) != 0) fail_msg("%s", err);
    assertRows(c, "b2.db", 1001, 1004);
}

static void test_timestamp_before_everything(void **state) {
    tcase *c = *state;
    char err[ERRLEN];
    assert_int_equal(restoreTo(c, "out.db", NULL, -1, BASE_A - 1, err), -1);
    assertContains(err, "no snapshot at or before 2023-11-14T22:13:19.999Z");
    assertNothingWritten(c);
}

/* Retention dropped segments 0 and 1: the newest snapshot still serves. */
static void test_newest_snapshot_used(void **state) {
    tcase *c = *state;
    char err[ERRLEN];
    delObject(c, false, fx.gen_a, 0);
    delObject(c, false, fx.gen_a, 1);
    if (restoreTo(c, "out.db", fx.gen_a, -1, 0, err) != 0) fail_msg("%s", err);
    assertRows(c, "out.db", 1, rowsAfter(COMMITS_A));
    assert_int_equal(restoreTo(c, "old.db", fx.gen_a, 0, 0, err), -1);
    assertContains(err, "segment 0 not found");
}

/* ---- restore: refusing -------------------------------------------------- */

static void test_missing_middle_segment(void **state) {
    tcase *c = *state;
    char err[ERRLEN], name[96];
    delObject(c, false, fx.gen_a, 1);
    delObject(c, true, fx.gen_a, 2);
    objSegmentName(name, sizeof(name), fx.gen_a, 1);
    assert_int_equal(restoreTo(c, "out.db", fx.gen_a, -1, 0, err), -1);
    assertContains(err, name);
    assertNothingWritten(c);
    /* by time: found missing only when needed */
    assert_int_equal(restoreTo(c, "out.db", NULL, -1, BASE_A + 3500, err), -1);
    assertContains(err, name);
    assertNothingWritten(c);
    if (restoreTo(c, "ok.db", NULL, -1, BASE_A + 2500, err) != 0) fail_msg("%s", err);
    assertRows(c, "ok.db", 1, rowsAfter(2));
}

static void test_corrupt_segment(void **state) {
    tcase *c = *state;
    char err[ERRLEN], name[96], *buf;
    size_t len;
    objSegmentName(name, sizeof(name), fx.gen_a, 2);
    assert_int_equal(c->t->ops->get(c->t, name, &buf, &len, err, sizeof(err)), TARGET_OK);
    buf[len / 2] ^= 0x40;
    assert_int_equal(c->t->ops->put(c->t, name, buf, len, err, sizeof(err)), TARGET_OK);
    free(buf);
    assert_int_equal(restoreTo(c, "out.db", fx.gen_a, -1, 0, err), -1);
    assertContains(err, name);
    assertContains(err, "checksum");
    assertNothingWritten(c);
}

static void test_truncated_snapshot(void **state) {
    tcase *c = *state;
    char err[ERRLEN], name[96], *buf;
    size_t len;
    objSnapshotName(name, sizeof(name), fx.gen_a, 2);
    assert_int_equal(c->t->ops->get(c->t, name, &buf, &len, err, sizeof(err)), TARGET_OK);
    assert_int_equal(c->t->ops->put(c->t, name, buf, len / 2, err, sizeof(err)), TARGET_OK);
    free(buf);
    assert_int_equal(restoreTo(c, "out.db", fx.gen_a, -1, 0, err), -1);
    assertContains(err, name);
    assertNothingWritten(c);
}

/* Segment 0 of generation A decoded, changed by `edit`, and re-encoded, so
 * its checksums hold and only restore's own checks can catch it. */
static void rewriteSegment0(tcase *c, void (*edit)(obj_header *h, char *raw, size_t rawlen)) {
    char err[ERRLEN], name[96], *buf, *raw, *obj;
    size_t len, rawlen, objlen;
    obj_header h;
    objSegmentName(name, sizeof(name), fx.gen_a, 0);
    assert_int_equal(c->t->ops->get(c->t, name, &buf, &len, err, sizeof(err)), TARGET_OK);
    assert_int_equal(objDecode(buf, len, &h, &raw, &rawlen, err, sizeof(err)), TARGET_OK);
    edit(&h, raw, rawlen);
    assert_int_equal(objEncode(&h, raw, rawlen, &obj, &objlen, err, sizeof(err)), TARGET_OK);
    assert_int_equal(c->t->ops->put(c->t, name, obj, objlen, err, sizeof(err)), TARGET_OK);
    free(buf);
    free(raw);
    free(obj);
    objHeaderFree(&h);
}

static void expectSegment0Refused(tcase *c, const char *why) {
    char err[ERRLEN];
    assert_int_equal(restoreTo(c, "out.db", fx.gen_a, 0, 0, err), -1);
    assertContains(err, why);
    assertNothingWritten(c);
}

static void otherPageSize(obj_header *h, char *raw, size_t rawlen) {
    (void)raw; (void)rawlen;
    h->page_size = 1024;
}

static void test_page_size_mismatch(void **state) {
    rewriteSegment0(*state, otherPageSize);
    expectSegment0Refused(*state, "page size 1024");
}

static void otherSalts(obj_header *h, char *raw, size_t rawlen) {
    (void)raw; (void)rawlen;
    h->salt2 ^= 1;
}

static void test_salt_mismatch(void **state) {
    rewriteSegment0(*state, otherSalts);
    expectSegment0Refused(*state, "another WAL's salts");
}

/* Every b-tree page's header smashed: only the integrity check sees it. */
static void smashPages(obj_header *h, char *raw, size_t rawlen) {
    for (size_t off = 0; off < rawlen; off += WAL_FRAME_HEADER + h->page_size)
        if (beU32((unsigned char *)raw + off) != 1) memset(raw + off + WAL_FRAME_HEADER, 0xab, 16);
}

static void test_integrity_failure(void **state) {
    rewriteSegment0(*state, smashPages);
    expectSegment0Refused(*state, "integrity_check");
}

/* An object copied under another name verifies, but is not what is asked. */
static void test_swapped_segment(void **state) {
    tcase *c = *state;
    char err[ERRLEN], from[96], to[96], *buf;
    size_t len;
    objSegmentName(from, sizeof(from), fx.gen_a, 0);
    objSegmentName(to, sizeof(to), fx.gen_a, 2);
    assert_int_equal(c->t->ops->get(c->t, from, &buf, &len, err, sizeof(err)), TARGET_OK);
    assert_int_equal(c->t->ops->put(c->t, to, buf, len, err, sizeof(err)), TARGET_OK);
    free(buf);
    assert_int_equal(restoreTo(c, "out.db", fx.gen_a, -1, 0, err), -1);
    assertContains(err, to);
    assertNothingWritten(c);
}

static void test_output_exists(void **state) {
    tcase *c = *state;
    char err[ERRLEN];
    writeWhole(outPath(c, "out.db"), "precious", 8);
    assert_int_equal(restoreTo(c, "out.db", NULL, -1, 0, err), -1);
    assertContains(err, "output file exists");
    size_t len;
    char *kept = readWhole(outPath(c, "out.db"), &len);
    assert_int_equal(len, 8);
    assert_memory_equal(kept, "precious", 8);
    free(kept);
    /* a stale log would be replayed over the restored file */
    writeWhole(outPath(c, "new.db-wal"), "x", 1);
    assert_int_equal(restoreTo(c, "new.db", NULL, -1, 0, err), -1);
    assertContains(err, "new.db-wal exists");
    assert_int_equal(access(outPath(c, "new.db"), F_OK), -1);
}

static void test_no_generations(void **state) {
    tcase *c = *state;
    char err[ERRLEN], empty[200];
    snprintf(empty, sizeof(empty), "%s/none", c->dir);
    target *t = targetOpenFile(empty, err, sizeof(err));
    restore_opts o = {.output = outPath(c, "out.db"), .index = -1};
    assert_int_equal(replRestore(t, &o, err, sizeof(err)), -1);
    assertContains(err, "no generations");
    targetClose(t);
    o.generation = "0123456789abcdef";
    assert_int_equal(replRestore(c->t, &o, err, sizeof(err)), -1);
    assertContains(err, "generation 0123456789abcdef not found");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_latest_is_newest_generation, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_generation_latest, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_index, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_timestamp, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_timestamp_before_everything, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_newest_snapshot_used, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_missing_middle_segment, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_corrupt_segment, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_truncated_snapshot, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_page_size_mismatch, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_salt_mismatch, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_integrity_failure, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_swapped_segment, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_output_exists, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_no_generations, caseSetup, caseTeardown),
    };
    return cmocka_run_group_tests_name("restore", tests, groupSetup, groupTeardown);
}
