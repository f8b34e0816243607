/*
 * test_restore.c — unit tests for replication/restore.c (replRestore,
 * replListReplicas, replRestoreIfEmpty), the object names and format of
 * replication/object.c, and the command line of replication/tool.c.
 *
 * The fixture is a real replica, built once: SQLite writes a WAL-mode
 * database with autocheckpoint off, a backup-API copy is the snapshot, and
 * the frames of the -wal file (read by hand) become segments. Two
 * generations, in time order:
 *
 *   A (as of BASE_A): snapshot 0 = table t with rows 1..10; commits c = 1..9
 *     each add rows 10+5(c-1)+1 .. 10+5c at BASE_A + 1000 c; segment s holds
 *     commits 3s+1..3s+3; snapshot 2 = the state after commit 6.
 *   B (as of BASE_B): snapshot 0 = rows 1001..1003; segment 0 = one commit
 *     adding row 1004 at BASE_B + 1000.
 *
 * Each test gets its own copy of the replica in a file:// target, so it can
 * delete or damage objects through the target interface.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* tool.c has no header: its parser and main() are tested from here, with
 * main renamed so it does not collide with cmocka's. */
#define main toolMain
#include "../../replication/tool.c"
#undef main

#define BASE_A 1700000000000LL /* 2023-11-14T22:13:20Z */
#define BASE_B (BASE_A + 100000)
#define ROWS0 10
#define ROWS_PER_COMMIT 5
#define COMMITS_A 9
#define COMMITS_PER_SEG 3
#define ERRLEN 1024

/* ---- fixture ------------------------------------------------------------ */

typedef struct fx_obj {
    char name[96];
    char *buf;
    size_t len;
} fx_obj;

static struct {
    char root[64];
    char gen_a[GEN_ID_LEN + 1], gen_b[GEN_ID_LEN + 1];
    fx_obj objs[16];
    size_t n;
} fx;

static char *readWhole(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    *len = fread(buf, 1, (size_t)n, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static void writeWhole(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

static void insertRows(sqlite3 *db, int from, int to) {
    char sql[160];
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t SELECT i, printf('%%0500d', i) FROM n",
             from, to);
    exec(db, sql);
}

static void addObject(const char *name, char *buf, size_t len) {
    fx_obj *o = &fx.objs[fx.n++];
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->buf = buf;
    o->len = len;
}

/* A backup-API copy of db, encoded as snapshot `index` as of `as_of`. */
static void addSnapshot(sqlite3 *db, const char *gen, uint64_t index, int64_t as_of) {
    char copy[128], obj[160], name[96], err[ERRLEN] = "";
    snprintf(copy, sizeof(copy), "%s/snap-%s-%d.db", fx.root, gen, (int)index);
    snprintf(obj, sizeof(obj), "%s.obj", copy);
    sqlite3 *dst;
    assert_int_equal(sqlite3_open(copy, &dst), SQLITE_OK);
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", db, "main");
    assert_non_null(b);
    assert_int_equal(sqlite3_backup_step(b, -1), SQLITE_DONE);
    sqlite3_backup_finish(b);
    sqlite3_close(dst);
    struct stat sb;
    assert_int_equal(stat(copy, &sb), 0);
    obj_header h = {.kind = OBJ_KIND_SNAPSHOT, .index = index, .page_size = 4096,
                    .db_pages = (uint32_t)(sb.st_size / 4096), .ts_first = as_of, .ts_last = as_of, .created = as_of};
    memcpy(h.generation, gen, GEN_ID_LEN + 1);
    if (objEncodeFile(&h, copy, obj, err, sizeof(err)) != TARGET_OK) fail_msg("objEncodeFile: %s", err);
    size_t len;
    char *buf = readWhole(obj, &len);
    objSnapshotName(name, sizeof(name), gen, index);
    addObject(name, buf, len);
}

static uint32_t beU32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The -wal file's frames as segments of `per_seg` commits; commit c (from 1)
 * is dated base + 1000 c. Returns the number of commits. */
static int addSegments(const char *db_path, const char *gen, int per_seg, int64_t base) {
    char wal_path[160], err[ERRLEN] = "";
    snprintf(wal_path, sizeof(wal_path), "%s-wal", db_path);
    size_t len;
    unsigned char *wal = (unsigned char *)readWhole(wal_path, &len);
    assert_non_null(wal);
    uint32_t ps = beU32(wal + 8);
    size_t fsz = WAL_FRAME_HEADER + ps, nframes = (len - 32) / fsz;
    char *raw = malloc(len);
    obj_commit commits[64];
    size_t rawlen = 0, ncommits = 0, seg = 0, first = 0;
    int commit_no = 0;
    for (size_t i = 0; i < nframes; i++) {
        const unsigned char *f = wal + 32 + i * fsz;
        memcpy(raw + rawlen, f, fsz); /* segments carry WAL frames as they are */
        rawlen += fsz;
        if (!beU32(f + 4)) continue;
        commits[ncommits++] = (obj_commit){(uint32_t)i + 1, base + 1000 * ++commit_no};
        if ((int)ncommits < per_seg && i + 1 < nframes) continue;
        obj_header h = {.kind = OBJ_KIND_SEGMENT, .index = seg, .page_size = ps, .db_pages = beU32(f + 4),
                        .ts_first = commits[0].ts_ms, .ts_last = commits[ncommits - 1].ts_ms,
                        .created = commits[ncommits - 1].ts_ms, .salt1 = beU32(wal + 16), .salt2 = beU32(wal + 20),
                        .frame_first = (uint32_t)first + 1, .frame_last = (uint32_t)i + 1, .commits = commits,
                        .ncommits = ncommits};
        memcpy(h.generation, gen, GEN_ID_LEN + 1);
        char *obj, name[96];
        size_t objlen;
        if (objEncode(&h, raw, rawlen, &obj, &objlen, err, sizeof(err)) != TARGET_OK) fail_msg("objEncode: %s", err);
        objSegmentName(name, sizeof(name), gen, seg++);
        addObject(name, obj, objlen);
        rawlen = ncommits = 0;
        first = i + 1;
    }
    free(raw);
    free(wal);
    return commit_no;
}

static sqlite3 *openWriter(const char *path) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
             "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    return db;
}

static void buildGenerationA(void) {
    char path[128];
    snprintf(path, sizeof(path), "%s/a.db", fx.root);
    sqlite3 *db = openWriter(path);
    insertRows(db, 1, ROWS0);
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    addSnapshot(db, fx.gen_a, 0, BASE_A);
    for (int c = 1; c <= COMMITS_A; c++) {
        insertRows(db, ROWS0 + ROWS_PER_COMMIT * (c - 1) + 1, ROWS0 + ROWS_PER_COMMIT * c);
        if (c == 2 * COMMITS_PER_SEG) addSnapshot(db, fx.gen_a, 2, BASE_A + 1000 * c);
    }
    /* while open: closing would checkpoint the WAL away */
    assert_int_equal(addSegments(path, fx.gen_a, COMMITS_PER_SEG, BASE_A), COMMITS_A);
    assert_int_equal(fx.n, 2 + COMMITS_A / COMMITS_PER_SEG);
    sqlite3_close(db);
}

static void buildGenerationB(void) {
    char path[128];
    snprintf(path, sizeof(path), "%s/b.db", fx.root);
    sqlite3 *db = openWriter(path);
    insertRows(db, 1001, 1003);
    exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
    addSnapshot(db, fx.gen_b, 0, BASE_B);
    insertRows(db, 1004, 1004);
    assert_int_equal(addSegments(path, fx.gen_b, 1, BASE_B), 1);
    sqlite3_close(db);
}

static int rmEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static void rmTree(const char *dir) { nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS); }

static int groupSetup(void **state) {
    (void)state;
    snprintf(fx.root, sizeof(fx.root), "/tmp/solidis-restore-XXXXXX");
    if (!mkdtemp(fx.root)) return -1;
    objNewGeneration(fx.gen_a, BASE_A);
    objNewGeneration(fx.gen_b, BASE_B);
    buildGenerationA();
    buildGenerationB();
    return 0;
}

static int groupTeardown(void **state) {
    (void)state;
    for (size_t i = 0; i < fx.n; i++) free(fx.objs[i].buf);
    rmTree(fx.root);
    return 0;
}

/* ---- per-test replica --------------------------------------------------- */

typedef struct tcase {
    char dir[128], replica[160], url[176];
    target *t;
} tcase;

static int caseSetup(void **state) {
    tcase *c = calloc(1, sizeof(*c));
    snprintf(c->dir, sizeof(c->dir), "%s/case-XXXXXX", fx.root);
    if (!mkdtemp(c->dir)) return -1;
    snprintf(c->replica, sizeof(c->replica), "%s/replica", c->dir);
    snprintf(c->url, sizeof(c->url), "file://%s", c->replica);
    char err[ERRLEN] = "";
    c->t = targetOpenFile(c->replica, err, sizeof(err));
    for (size_t i = 0; i < fx.n; i++)
        if (c->t->ops->put(c->t, fx.objs[i].name, fx.objs[i].buf, fx.objs[i].len, err, sizeof(err)) != TARGET_OK)
            return -1;
    *state = c;
    return 0;
}

static int caseTeardown(void **state) {
    tcase *c = *state;
    targetClose(c->t);
    rmTree(c->dir);
    free(c);
    return 0;
}

static const char *outPath(tcase *c, const char *name) {
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    return path;
}

static int restoreTo(tcase *c, const char *out, const char *gen, int64_t index, int64_t ts, char *err) {
    restore_opts o = {.output = outPath(c, out), .generation = gen, .index = index, .timestamp_ms = ts};
    err[0] = '\0';
    return replRestore(c->t, &o, err, ERRLEN);
}

static void delObject(tcase *c, bool snapshot, const char *gen, uint64_t index) {
    char name[96], err[ERRLEN];
    (snapshot ? objSnapshotName : objSegmentName)(name, sizeof(name), gen, index);
    assert_int_equal(c->t->ops->del(c->t, name, err, sizeof(err)), TARGET_OK);
}

static void assertContains(const char *hay, const char *needle) {
    if (!strstr(hay, needle)) fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static sqlite3_int64 queryInt(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The restored file holds rows lo..hi, each intact, and checks clean. */
static void assertRows(tcase *c, const char *out, int lo, int hi) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(outPath(c, out), &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
    sqlite3_finalize(st);
    assert_int_equal(queryInt(db, "SELECT count(*) FROM t"), hi - lo + 1);
    assert_int_equal(queryInt(db, "SELECT min(id) FROM t"), lo);
    assert_int_equal(queryInt(db, "SELECT max(id) FROM t"), hi);
    assert_int_equal(queryInt(db, "SELECT count(*) FROM t WHERE v != printf('%0500d', id)"), 0);
    sqlite3_close(db);
}

/* A failed restore leaves nothing next to the output: only the replica. */
static void assertNothingWritten(tcase *c) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = replica", c->dir);
    if (system(cmd) != 0) fail_msg("stray files in %s after a failed restore", c->dir);
}

static int rowsAfter(int commits) { return ROWS0 + ROWS_PER_COMMIT * commits; }

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
        cmocka_unit_test_setup_teardown(test_restore_if_empty, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_list_replicas, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_list_reads_only_headers, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_timestamp_downloads_one_snapshot, caseSetup, caseTeardown),
        cmocka_unit_test_setup_teardown(test_list_long_header, caseSetup, caseTeardown),
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test_setup_teardown(test_tool, caseSetup, caseTeardown),
    };
    return cmocka_run_group_tests_name("restore", tests, groupSetup, groupTeardown);
}
