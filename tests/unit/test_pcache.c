/* The page-cache wrapper (server/pcache.c): a database worked hard through
 * it — random inserts and deletes that make the B-tree reorder new pages,
 * rolled-back transactions and savepoints that shrink the file again —
 * reads back exactly what a model says and passes integrity_check; the
 * wrapper answered most end-of-transaction truncates itself and still
 * passed on the ones that had pages to drop. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../server/store.h"
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KEYS 4000

static void exec(sqlite3 *db, const char *sql) {
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) fprintf(stderr, "%s: %s\n", sql, msg ? msg : "?");
    sqlite3_free(msg);
    assert_int_equal(rc, SQLITE_OK);
}

static long long scalar(sqlite3 *db, const char *sql) {
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Insert (or, with del, delete) key k; the value is a function of k and ver. */
static void put(sqlite3 *db, int k, int ver, bool del) {
    sqlite3_stmt *s;
    const char *sql = del ? "DELETE FROM t WHERE k=?1" : "INSERT OR REPLACE INTO t(k, v) VALUES(?1, ?2)";
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    char key[32], val[200];
    snprintf(key, sizeof(key), "key:%08d", (k * 7919) % 100003);
    snprintf(val, sizeof(val), "%0*d", 40 + (k + ver) % 120, ver);
    sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
    if (!del) sqlite3_bind_text(s, 2, val, -1, SQLITE_TRANSIENT);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
}

static void test_hard_use_reads_back_the_model(void **state) {
    (void)state;
    char dir[] = "/tmp/solidis-pcache-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64];
    snprintf(path, sizeof(path), "%s/t.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    exec(db, "PRAGMA page_size=2048; PRAGMA journal_mode=WAL; PRAGMA cache_size=-8192;"
             "CREATE TABLE t(k TEXT PRIMARY KEY, v TEXT) WITHOUT ROWID");

    int *model = calloc(KEYS, sizeof(int)); /* 0 = absent, else the version */
    unsigned seed = 7;
    for (int round = 1; round <= 300; round++) {
        int outcome = round % 10; /* 0: rolled back; 1..2: a savepoint rolled back; else committed */
        exec(db, "BEGIN IMMEDIATE");
        int *next = malloc(KEYS * sizeof(int));
        memcpy(next, model, KEYS * sizeof(int));
        for (int i = 0; i < 60; i++) {
            int k = (int)(rand_r(&seed) % KEYS);
            bool del = next[k] && rand_r(&seed) % 3 == 0;
            put(db, k, round, del);
            next[k] = del ? 0 : round;
        }
        if (outcome == 1 || outcome == 2) {
            exec(db, "SAVEPOINT sp");
            for (int i = 0; i < 400; i++) put(db, (int)(rand_r(&seed) % KEYS), -round, false);
            exec(db, "ROLLBACK TO sp; RELEASE sp");
        }
        if (outcome == 0) {
            for (int i = 0; i < 300; i++) put(db, (int)(rand_r(&seed) % KEYS), -round, false);
            exec(db, "ROLLBACK");
        } else {
            exec(db, "COMMIT");
            memcpy(model, next, KEYS * sizeof(int));
        }
        free(next);
    }

    long long present = 0;
    for (int k = 0; k < KEYS; k++) {
        if (!model[k]) continue;
        present++;
        char key[32], want[200], sql[320];
        snprintf(key, sizeof(key), "key:%08d", (k * 7919) % 100003);
        snprintf(want, sizeof(want), "%0*d", 40 + (k + model[k]) % 120, model[k]);
        snprintf(sql, sizeof(sql), "SELECT v = '%s' FROM t WHERE k = '%s'", want, key);
        assert_int_equal(scalar(db, sql), 1);
    }
    assert_int_equal(scalar(db, "SELECT count(*) FROM t"), present);
    assert_int_equal(scalar(db, "SELECT count(*) FROM pragma_integrity_check WHERE integrity_check != 'ok'"), 0);

    long long skipped, passed;
    storePageCacheStats(&skipped, &passed);
    assert_true(skipped > 200);
    assert_true(passed > 0);

    sqlite3_close(db);
    free(model);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void) {
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    if (!storeInstallPageCache()) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hard_use_reads_back_the_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
