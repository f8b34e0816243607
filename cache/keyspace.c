/*
 * keyspace.c — commands on keys of any type: DEL UNLINK EXISTS TYPE DBSIZE
 * FLUSHDB FLUSHALL (more to come: KEYS SCAN RENAME COPY MOVE RANDOMKEY TOUCH
 * OBJECT).
 *
 * Deleting a key deletes its elements too (per-type tables follow keys.id),
 * so these commands work on every type without knowing them.
 */
#include "cache_internal.h"
#include <string.h>

void delCommand(request *r) {
    long long n = 0;
    for (int i = 1; i < r->argc; i++) {
        keyrow row;
        if (keyLookup(r, r->db, r->argv[i], r->argvlen[i], &row) && keyDelete(r, r->db, r->argv[i], r->argvlen[i])) n++;
        if (r->store_error) return;
    }
    r->dirty += (int)n;
    addReplyLongLong(r, n);
}

void existsCommand(request *r) {
    long long n = 0;
    for (int i = 1; i < r->argc; i++) {
        keyrow row;
        if (keyLookup(r, r->db, r->argv[i], r->argvlen[i], &row)) n++;
    }
    addReplyLongLong(r, n);
}

void typeCommand(request *r) {
    keyrow row;
    addReplyStatus(r, keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row) ? typeName(row.type) : "none");
}

void dbsizeCommand(request *r) {
    static const char SQL[] = "SELECT count(*) FROM keys WHERE db=?1 AND (expires_at IS NULL OR expires_at > ?2)";
    sqlite3_stmt *s = stmtGet(r->st, SQL);
    if (!s) { storeFail(r, "dbsize"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_int64(s, 2, r->now_ms);
    long long n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    stmtDone(s);
    addReplyLongLong(r, n);
}

static bool flushOptions(request *r) {
    if (r->argc > 2 || (r->argc == 2 && !argIs(r, 1, "sync") && !argIs(r, 1, "async"))) {
        addReplySyntaxError(r);
        return false;
    }
    return true;
}

void flushdbCommand(request *r) {
    static const char SQL[] = "DELETE FROM keys WHERE db=?1";
    if (!flushOptions(r)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL);
    if (!s) { storeFail(r, "flushdb"); return; }
    sqlite3_bind_int(s, 1, r->db);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "flushdb"); return; }
    addReplyOK(r);
}

void flushallCommand(request *r) {
    static const char SQL[] = "DELETE FROM keys";
    if (!flushOptions(r)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL);
    if (!s) { storeFail(r, "flushall"); return; }
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "flushall"); return; }
    addReplyOK(r);
}

#define W CMD_WRITE
#define R (CMD_READONLY | CMD_FAST)
static const command keyspace_commands[] = {
    {"del", delCommand, -2, W, 1, -1, 1, "generic", "Deletes one or more keys.", "1.0.0", NULL},
    {"unlink", delCommand, -2, W | CMD_FAST, 1, -1, 1, "generic", "Asynchronously deletes one or more keys.", "4.0.0", NULL},
    {"exists", existsCommand, -2, R, 1, -1, 1, "generic", "Determines whether one or more keys exist.", "1.0.0", NULL},
    {"type", typeCommand, 2, R, 1, 1, 1, "generic", "Determines the type of value stored at a key.", "1.0.0", NULL},
    {"dbsize", dbsizeCommand, 1, R, 0, 0, 0, "server", "Returns the number of keys in the database.", "1.0.0", NULL},
    {"flushdb", flushdbCommand, -1, W, 0, 0, 0, "server", "Removes all keys from the current database.", "1.0.0", NULL},
    {"flushall", flushallCommand, -1, W, 0, 0, 0, "server", "Removes all keys from all databases.", "1.0.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void keyspaceRegister(void) { commandRegisterTable(keyspace_commands); }
