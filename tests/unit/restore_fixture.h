/*
 * restore_fixture.h — the replica test_restore.c and test_restore_tool.c
 * restore from, a copy of it for each test, and the checks both use.
 *
 * The fixture is a real replica, built once per binary: SQLite writes a WAL-mode
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
#ifndef SOLIDIS_TEST_RESTORE_FIXTURE_H
#define SOLIDIS_TEST_RESTORE_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../replication/repl_internal.h"

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

static inline char *readWhole(const char *path, size_t *len) {
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

static inline void writeWhole(const char *path, const void *buf, size_t len) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    fclose(f);
}

static inline void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) fail_msg("%s: %s", sql, msg);
}

static inline void insertRows(sqlite3 *db, int from, int to) {
    char sql[160];
    snprintf(sql, sizeof(sql),
             "WITH RECURSIVE n(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM n WHERE i < %d) "
             "INSERT INTO t SELECT i, printf('%%0500d', i) FROM n",
             from, to);
    exec(db, sql);
}

static inline void addObject(const char *name, char *buf, size_t len) {
    fx_obj *o = &fx.objs[fx.n++];
    snprintf(o->name, sizeof(o->name), "%s", name);
    o->buf = buf;
    o->len = len;
}

/* A backup-API copy of db, encoded as snapshot `index` as of `as_of`. */
static inline void addSnapshot(sqlite3 *db, const char *gen, uint64_t index, int64_t as_of) {
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
    size_t len = 0; /* readWhole leaves it unset if it cannot open the file */
    char *buf = readWhole(obj, &len);
    objSnapshotName(name, sizeof(name), gen, index);
    addObject(name, buf, len);
}

static inline uint32_t beU32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The -wal file's frames as segments of `per_seg` commits; commit c (from 1)
 * is dated base + 1000 c. Returns the number of commits. */
static inline int addSegments(const char *db_path, const char *gen, int per_seg, int64_t base) {
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

static inline sqlite3 *openWriter(const char *path) {
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec(db, "PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0;"
             "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
    return db;
}

static inline void buildGenerationA(void) {
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

static inline void buildGenerationB(void) {
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

static inline int rmEntry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb; (void)flag; (void)ftw;
    return remove(path);
}

static inline void rmTree(const char *dir) { nftw(dir, rmEntry, 16, FTW_DEPTH | FTW_PHYS); }

static inline int groupSetup(void **state) {
    (void)state;
    snprintf(fx.root, sizeof(fx.root), "/tmp/solidis-restore-XXXXXX");
    if (!mkdtemp(fx.root)) return -1;
    objNewGeneration(fx.gen_a, BASE_A);
    objNewGeneration(fx.gen_b, BASE_B);
    buildGenerationA();
    buildGenerationB();
    return 0;
}

static inline int groupTeardown(void **state) {
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

static inline int caseSetup(void **state) {
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

static inline int caseTeardown(void **state) {
    tcase *c = *state;
    targetClose(c->t);
    rmTree(c->dir);
    free(c);
    return 0;
}

static inline const char *outPath(tcase *c, const char *name) {
    static char path[256];
    snprintf(path, sizeof(path), "%s/%s", c->dir, name);
    return path;
}

static inline int restoreTo(tcase *c, const char *out, const char *gen, int64_t index, int64_t ts, char *err) {
    restore_opts o = {.output = outPath(c, out), .generation = gen, .index = index, .timestamp_ms = ts};
    err[0] = '\0';
    return replRestore(c->t, &o, err, ERRLEN);
}

static inline void delObject(tcase *c, bool snapshot, const char *gen, uint64_t index) {
    char name[96], err[ERRLEN];
    (snapshot ? objSnapshotName : objSegmentName)(name, sizeof(name), gen, index);
    assert_int_equal(c->t->ops->del(c->t, name, err, sizeof(err)), TARGET_OK);
}

static inline void assertContains(const char *hay, const char *needle) {
    if (!strstr(hay, needle)) fail_msg("expected \"%s\" in \"%s\"", needle, hay);
}

static inline sqlite3_int64 queryInt(sqlite3 *db, const char *sql) {
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    sqlite3_int64 v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The restored file holds rows lo..hi, each intact, and checks clean. */
static inline void assertRows(tcase *c, const char *out, int lo, int hi) {
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
static inline void assertNothingWritten(tcase *c) {
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s)\" = replica", c->dir);
    if (system(cmd) != 0) fail_msg("stray files in %s after a failed restore", c->dir);
}

static inline int rowsAfter(int commits) { return ROWS0 + ROWS_PER_COMMIT * commits; }

#endif
