/*
 * store.c — the SQLite side of Solidis: schema, connections, statement cache,
 * and the key-level helpers every data type shares.
 *
 * On-disk format (schema version 1)
 * ---------------------------------
 *   keys(db, key, id, type, expires_at, value)   WITHOUT ROWID, PRIMARY KEY(db, key)
 *     db          0..databases-1 (SELECT is a column, not a file)
 *     key         the key bytes (BLOB, binary safe)
 *     id          a number unique over the life of the file, assigned by the
 *                 writer when the key is created and kept across overwrites of
 *                 the same type. It orders SCAN (the cursor is the last id
 *                 returned) and will link per-type element tables to the key.
 *     type        OBJ_STRING, OBJ_HASH, ... (see server.h)
 *     expires_at  absolute unix time in ms, NULL when the key does not expire
 *     value       the string value inline, so GET is one b-tree lookup and SET
 *                 one upsert; for the types with elements their count
 *                 (keyCreate, keySetCount), so LLEN/SCARD/... are one lookup
 *     enc         strings: how the value was last written, for OBJECT
 *                 ENCODING (NULL: by SET, 1: modified in place = raw, 2: never
 *                 an int encoding, as INCRBYFLOAT results); hashes: 1 once
 *                 a field was given a TTL (cache/t_hash.c)
 *   keys_by_id(db, id)                  SCAN order
 *   keys_expiring(expires_at) partial   the expiry sweeper's work list
 *   meta(name, value)                   schema version and server bookkeeping
 *
 * Invariants
 *  - Only the writer thread modifies the file, always inside its batch
 *    transaction. Readers see committed snapshots only.
 *  - A key whose expires_at <= now is logically gone: readers skip it at once;
 *    the writer deletes it when it meets it and in bounded sweeper slices.
 *  - A row's type never changes. A key replaced by a value of another type is
 *    deleted and inserted anew; each element table cleans up after its type
 *    with an AFTER DELETE trigger on keys, so DEL, the expiry sweeper and
 *    overwrites never need to know the types.
 *  - SQLite's auto-checkpoint is off; the writer checkpoints (writer.c).
 *  - The writer's connection goes through walbuf.c's VFS (its WAL writes are
 *    collected per commit; appendfsync is decided there); new files have
 *    STORE_PAGE_SIZE pages, existing ones keep theirs.
 */
#include "store.h"
#include "walbuf.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STMT_SLOTS 512

/* Page size of a new database file (an existing file keeps its own). Every
 * page a commit dirties is written whole to the WAL, and a write to a big
 * table or index dirties a leaf page at a random place: 2 KiB pages halve
 * that traffic against SQLite's 4 KiB. Measured on the 2-core target with
 * redis-benchmark -c 50 -r 100000: ZADD +22%, SET and SADD +5-8%, against
 * 4 KiB; 1 KiB pages were no better than 2 KiB. */
#define STORE_PAGE_SIZE "2048"

struct store {
    sqlite3 *db;
    bool writer;
    bool walbuf;        /* opened through walbuf.c's VFS */
    int64_t next_id;
    struct { const char *sql; sqlite3_stmt *stmt; } cache[STMT_SLOTS];
};

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS keys("
    "  db INTEGER NOT NULL, key BLOB NOT NULL, id INTEGER NOT NULL,"
    "  type INTEGER NOT NULL, expires_at INTEGER, value BLOB, enc INTEGER,"
    "  PRIMARY KEY(db, key)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS keys_by_id ON keys(db, id);"
    "CREATE INDEX IF NOT EXISTS keys_expiring ON keys(expires_at) WHERE expires_at IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "INSERT OR IGNORE INTO meta VALUES('schema_version', 1);";

#define MAX_SCHEMAS 16
static const char *extra_schemas[MAX_SCHEMAS];
static int nextra_schemas;

void storeRegisterSchema(const char *sql) {
    if (nextra_schemas == MAX_SCHEMAS) {
        fprintf(stderr, "storeRegisterSchema: more than %d module schemas\n", MAX_SCHEMAS);
        abort();
    }
    extra_schemas[nextra_schemas++] = sql;
}

#define MAX_STARTUPS 8
static int (*startups[MAX_STARTUPS])(sqlite3 *db);
static int nstartups;

void storeRegisterStartup(int (*fn)(sqlite3 *db)) {
    if (nstartups == MAX_STARTUPS) {
        fprintf(stderr, "storeRegisterStartup: more than %d functions\n", MAX_STARTUPS);
        abort();
    }
    startups[nstartups++] = fn;
}

#define MAX_FUNCTIONS 8
static struct {
    const char *name;
    int nargs;
    void (*fn)(sqlite3_context *, int, sqlite3_value **);
} functions[MAX_FUNCTIONS];
static int nfunctions;

void storeRegisterFunction(const char *name, int nargs, void (*fn)(sqlite3_context *, int, sqlite3_value **)) {
    if (nfunctions == MAX_FUNCTIONS) {
        fprintf(stderr, "storeRegisterFunction: more than %d functions\n", MAX_FUNCTIONS);
        abort();
    }
    functions[nfunctions].name = name;
    functions[nfunctions].nargs = nargs;
    functions[nfunctions++].fn = fn;
}

#define MAX_TYPES 16
#define MAX_COPY_SQL 2
static const char *copy_sql[MAX_TYPES][MAX_COPY_SQL];

void storeRegisterCopy(int type, const char *sql) {
    for (int i = 0; type >= 0 && type < MAX_TYPES && i < MAX_COPY_SQL; i++) {
        if (!copy_sql[type][i]) { copy_sql[type][i] = sql; return; }
    }
    fprintf(stderr, "storeRegisterCopy: too many statements for type %d\n", type);
    abort();
}

static encoding_fn *encoding_fns[MAX_TYPES];

void storeRegisterEncoding(int type, encoding_fn *fn) {
    if (type >= 0 && type < MAX_TYPES) encoding_fns[type] = fn;
}

bool storeIdScalar(request *r, const char *sql, int64_t id, long long *v) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) return storeFail(r, "object");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    *v = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    stmtDone(s);
    return rc == SQLITE_ROW ? true : storeFail(r, "object");
}

encoding_fn *storeEncodingFn(int type) { return type >= 0 && type < MAX_TYPES ? encoding_fns[type] : NULL; }

const char *storeCopySql(int type, int i) {
    return type >= 0 && type < MAX_TYPES && i >= 0 && i < MAX_COPY_SQL ? copy_sql[type][i] : NULL;
}

store *storeOpen(const char *path, bool writer, int synchronous_full, char *err, size_t errlen) {
    store *st = calloc(1, sizeof(*st));
    if (!st) return NULL;
    st->writer = writer;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (writer ? SQLITE_OPEN_CREATE : 0);
    /* The writer's WAL writes go through walbuf.c, which needs the commit
     * to sync the WAL (synchronous=FULL) and a checkpoint to sync it with
     * other flags than a commit (checkpoint_fullfsync): walbuf decides
     * whether a commit's sync reaches the disk. */
    const char *vfs = writer && !getenv("SOLIDIS_NO_WALBUF") /* for A/B runs */ ? walbufVfs() : NULL;
    st->walbuf = vfs != NULL;
    if (sqlite3_open_v2(path, &st->db, flags, vfs) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path, st->db ? sqlite3_errmsg(st->db) : "out of memory");
        storeClose(st);
        return NULL;
    }
    sqlite3_extended_result_codes(st->db, 1);
    for (int i = 0; writer && i < nfunctions; i++) /* DIRECTONLY: never from a trigger or view */
        sqlite3_create_function_v2(st->db, functions[i].name, functions[i].nargs, SQLITE_UTF8 | SQLITE_DIRECTONLY,
                                   NULL, functions[i].fn, NULL, NULL, NULL);
    sqlite3_busy_timeout(st->db, 5000);
    const char *pragmas = writer
        ? "PRAGMA page_size=" STORE_PAGE_SIZE "; PRAGMA journal_mode=WAL; PRAGMA wal_autocheckpoint=0; PRAGMA cache_size=-131072;"
          "PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=OFF;"
        : "PRAGMA query_only=1; PRAGMA cache_size=-65536; PRAGMA mmap_size=1073741824; PRAGMA temp_store=MEMORY;";
    char *msg = NULL;
    if (sqlite3_exec(st->db, pragmas, NULL, NULL, &msg) != SQLITE_OK ||
        (vfs && sqlite3_exec(st->db, "PRAGMA synchronous=FULL; PRAGMA checkpoint_fullfsync=1", NULL, NULL, &msg) !=
                    SQLITE_OK) ||
        storeSetCommitSync(st, synchronous_full) != SQLITE_OK ||
        (writer && sqlite3_exec(st->db, SCHEMA, NULL, NULL, &msg) != SQLITE_OK)) {
        snprintf(err, errlen, "cannot initialise %s: %s", path, msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        storeClose(st);
        return NULL;
    }
    if (writer) /* files from before keys.enc existed; fails harmlessly when present */
        sqlite3_exec(st->db, "ALTER TABLE keys ADD COLUMN enc INTEGER", NULL, NULL, NULL);
    for (int i = 0; writer && i < nextra_schemas; i++) {
        if (sqlite3_exec(st->db, extra_schemas[i], NULL, NULL, &msg) != SQLITE_OK) {
            snprintf(err, errlen, "cannot initialise %s: %s", path, msg ? msg : "?");
            sqlite3_free(msg);
            storeClose(st);
            return NULL;
        }
    }
    for (int i = 0; writer && i < nstartups; i++) {
        if (startups[i](st->db) != SQLITE_OK) {
            snprintf(err, errlen, "cannot initialise %s: %s", path, sqlite3_errmsg(st->db));
            storeClose(st);
            return NULL;
        }
    }
    if (writer) {
        sqlite3_stmt *s;
        if (sqlite3_prepare_v2(st->db, "SELECT coalesce(max(id), 0) FROM keys", -1, &s, NULL) == SQLITE_OK) {
            if (sqlite3_step(s) == SQLITE_ROW) st->next_id = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
        }
    }
    return st;
}

int storeSetCommitSync(store *st, bool on) {
    if (!st->walbuf) return storeExec(st, on ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
    walbufSetCommitSync(on);
    return SQLITE_OK;
}

long long storeWalSyncs(store *st) { return st->walbuf ? walbufSyncs() : 0; }

void storeClose(store *st) {
    if (!st) return;
    for (int i = 0; i < STMT_SLOTS; i++)
        if (st->cache[i].stmt) sqlite3_finalize(st->cache[i].stmt);
    if (st->db) sqlite3_close(st->db);
    free(st);
}

sqlite3 *storeDb(store *st) { return st->db; }

int storeExec(store *st, const char *sql) {
    sqlite3_stmt *s = stmtGet(st, sql);
    if (!s) return sqlite3_errcode(st->db);
    int rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* The cache is keyed by the SQL text's address: every caller passes a static
 * string, so pointer identity is string identity and lookup needs no hashing
 * of the text. */
sqlite3_stmt *stmtGet(store *st, const char *sql) {
    size_t h = ((uintptr_t)sql >> 3) % STMT_SLOTS;
    for (size_t i = 0; i < STMT_SLOTS; i++) {
        size_t k = (h + i) % STMT_SLOTS;
        if (st->cache[k].sql == sql) return st->cache[k].stmt;
        if (st->cache[k].sql == NULL) {
            sqlite3_stmt *s = NULL;
            if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK) {
                fprintf(stderr, "SQL prepare failed: %s\n  %s\n", sqlite3_errmsg(st->db), sql);
                return NULL;
            }
            st->cache[k].sql = sql;
            st->cache[k].stmt = s;
            return s;
        }
    }
    return NULL;
}

void stmtDone(sqlite3_stmt *s) {
    if (!s) return;
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

const void *stmtColumnBlob(sqlite3_stmt *s, int col, size_t *len) {
    const void *p = sqlite3_column_blob(s, col); /* before _bytes, as SQLite advises */
    *len = (size_t)sqlite3_column_bytes(s, col);
    return p ? p : "";
}

bool storeFail(request *r, const char *what) {
    r->store_error = true;
    addReplyErrorFormat(r, "ERR storage error in %s: %s", what, sqlite3_errmsg(r->st->db));
    return false;
}

static const char SQL_KEY_LOOKUP[] = "SELECT id, type, expires_at FROM keys WHERE db=?1 AND key=?2";
/* The same with the element count. Only typed lookups read it: for a string
 * the column is the value, which may be large. */
static const char SQL_KEY_LOOKUP_COUNT[] = "SELECT id, type, expires_at, value, enc FROM keys WHERE db=?1 AND key=?2";
static const char SQL_KEY_DELETE[] = "DELETE FROM keys WHERE db=?1 AND key=?2";
static const char SQL_KEY_EXPIRE[] = "UPDATE keys SET expires_at=?3 WHERE db=?1 AND key=?2";
static const char SQL_KEY_CREATE[] =
    "INSERT INTO keys(db, key, id, type, expires_at, value) VALUES(?1, ?2, ?3, ?4, ?5, ?6)";
static const char SQL_KEY_SET_COUNT[] = "UPDATE keys SET value=?3 WHERE db=?1 AND key=?2";
static const char SQL_COUNT[] = "SELECT count(*), count(expires_at) FROM keys WHERE db=?1";

/* 1 found, 0 missing or expired (deleted on the writer), -1 storage error.
 * `typed`: read the count, and reply storage errors (keyLookup has always
 * treated them as a missing key). */
static int keyFind(request *r, int db, const char *key, size_t klen, keyrow *row, bool typed) {
    memset(row, 0, sizeof(*row));
    sqlite3_stmt *s = stmtGet(r->st, typed ? SQL_KEY_LOOKUP_COUNT : SQL_KEY_LOOKUP);
    if (!s) return typed ? (storeFail(r, "lookup"), -1) : 0;
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        row->id = sqlite3_column_int64(s, 0);
        row->type = sqlite3_column_int(s, 1);
        row->expires_at = sqlite3_column_int64(s, 2);
        if (typed) {
            row->count = sqlite3_column_int64(s, 3);
            row->enc = sqlite3_column_int(s, 4);
        }
    }
    stmtDone(s);
    if (rc != SQLITE_ROW) return rc == SQLITE_DONE || !typed ? 0 : (storeFail(r, "lookup"), -1);
    if (row->expires_at && row->expires_at <= r->now_ms) {
        if (r->st->writer && keyDelete(r, db, key, klen))
            notifyKeyspaceEvent(r, NOTIFY_EXPIRED, "expired", db, key, klen);
        return typed && r->store_error ? -1 : 0;
    }
    return 1;
}

bool keyLookup(request *r, int db, const char *key, size_t klen, keyrow *row) {
    return keyFind(r, db, key, klen, row, false) == 1;
}

int keyLookupTyped(request *r, int db, const char *key, size_t klen, int type, keyrow *row) {
    int rc = keyFind(r, db, key, klen, row, true);
    if (rc == 1 && type != OBJ_ANY && row->type != type) {
        addReplyWrongType(r);
        return -1;
    }
    return rc;
}

int lookupTyped(request *r, int idx, int type, keyrow *row) {
    return keyLookupTyped(r, r->db, r->argv[idx], r->argvlen[idx], type, row);
}

bool keyCreate(request *r, int db, const char *key, size_t klen, int64_t id, int type, long long count,
               long long expires_at) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_KEY_CREATE);
    if (!s) return storeFail(r, "create");
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, id);
    sqlite3_bind_int(s, 4, type);
    if (expires_at) sqlite3_bind_int64(s, 5, expires_at);
    else sqlite3_bind_null(s, 5);
    sqlite3_bind_int64(s, 6, count);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return storeFail(r, "create");
    notifyKeyspaceEvent(r, NOTIFY_NEW, "new", db, key, klen); /* before the command's own event, as Redis */
    return true;
}

bool keySetCount(request *r, int db, const char *key, size_t klen, long long count) {
    if (count <= 0) { /* the last element went: the key goes, as in Redis */
        if (keyDelete(r, db, key, klen)) notifyKeyspaceEvent(r, NOTIFY_GENERIC, "del", db, key, klen);
        return !r->store_error;
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_KEY_SET_COUNT);
    if (!s) return storeFail(r, "count");
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, count);
    int rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE ? true : storeFail(r, "count");
}

bool keyDelete(request *r, int db, const char *key, size_t klen) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_KEY_DELETE);
    if (!s) return false;
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return storeFail(r, "delete");
    if (sqlite3_changes(r->st->db) == 0) return false;
    keyTouched(r, db, key, klen);
    return true;
}

int64_t keyNewId(request *r) { return ++r->st->next_id; }

bool keySetExpire(request *r, int db, const char *key, size_t klen, long long at_ms) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_KEY_EXPIRE);
    if (!s) return false;
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    if (at_ms) sqlite3_bind_int64(s, 3, at_ms);
    else sqlite3_bind_null(s, 3);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return storeFail(r, "expire");
    if (sqlite3_changes(r->st->db) == 0) return false;
    keyTouched(r, db, key, klen);
    return true;
}

bool storeCountKeys(store *st, int db, long long *keys, long long *expires) {
    sqlite3_stmt *s = stmtGet(st, SQL_COUNT);
    if (!s) return false;
    sqlite3_bind_int(s, 1, db);
    bool ok = sqlite3_step(s) == SQLITE_ROW;
    if (ok) {
        *keys = sqlite3_column_int64(s, 0);
        *expires = sqlite3_column_int64(s, 1);
    }
    stmtDone(s);
    return ok;
}

const char *typeName(int type) {
    switch (type) {
    case OBJ_STRING: return "string";
    case OBJ_LIST: return "list";
    case OBJ_SET: return "set";
    case OBJ_ZSET: return "zset";
    case OBJ_HASH: return "hash";
    case OBJ_STREAM: return "stream";
    default: return "none";
    }
}
