/*
 * keyspace.c — commands on keys of any type: DEL UNLINK EXISTS TYPE DBSIZE
 * FLUSHDB FLUSHALL KEYS SCAN RENAME RENAMENX COPY MOVE RANDOMKEY TOUCH OBJECT.
 *
 * Deleting a key deletes its elements too (per-type tables follow keys.id),
 * so these commands work on every type without knowing them. RENAME and MOVE
 * rewrite (db, key) of the row in place: the id, and so any per-type elements
 * and the SCAN position, travel with the key.
 *
 * SCAN's cursor is a key id: ids only grow, so a key that lives through a
 * whole iteration is returned exactly once, and keys added meanwhile come
 * back at most once.
 */
#include "cache_internal.h"
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <limits.h>

void delCommand(request *r) {
    long long n = 0;
    for (int i = 1; i < r->argc; i++) {
        keyrow row;
        if (keyLookup(r, r->db, r->argv[i], r->argvlen[i], &row) && keyDelete(r, r->db, r->argv[i], r->argvlen[i])) {
            notifyKeyspaceEvent(r, NOTIFY_GENERIC, "del", r->db, r->argv[i], r->argvlen[i]);
            n++;
        }
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
    keyTouchedDb(r, r->db);
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
    keyTouchedDb(r, -1);
    sqlite3_stmt *s = stmtGet(r->st, SQL);
    if (!s) { storeFail(r, "flushall"); return; }
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "flushall"); return; }
    addReplyOK(r);
}

/* ---- helpers ----------------------------------------------------------- */

static bool isLive(sqlite3_stmt *s, int col, long long now_ms) {
    if (sqlite3_column_type(s, col) == SQLITE_NULL) return true;
    return sqlite3_column_int64(s, col) > now_ms;
}

/* Redis's getIntFromObjectOrReply: an integer that fits an int. */
static bool getIntArg(request *r, int idx, int *v) {
    long long ll;
    if (!getLongLongArg(r, idx, &ll, NULL)) return false;
    if (ll < INT_MIN || ll > INT_MAX) {
        addReplyErrorFormat(r, "ERR value is out of range, value must between %d and %d", INT_MIN, INT_MAX);
        return false;
    }
    *v = (int)ll;
    return true;
}

static bool validDb(request *r, int db) {
    if (db < 0 || db >= configDatabases()) {
        addReplyError(r, "ERR DB index is out of range");
        return false;
    }
    return true;
}

static bool sameArg(request *r, int a, int b) {
    return r->argvlen[a] == r->argvlen[b] && memcmp(r->argv[a], r->argv[b], r->argvlen[a]) == 0;
}

/* ---- KEYS --------------------------------------------------------------- */

static const char SQL_KEYS_ALL[] = "SELECT key, expires_at FROM keys WHERE db=?1";
static const char SQL_KEYS_FROM[] = "SELECT key, expires_at FROM keys WHERE db=?1 AND key>=?2";
static const char SQL_KEYS_RANGE[] = "SELECT key, expires_at FROM keys WHERE db=?1 AND key>=?2 AND key<?3";

/* The literal bytes every key matching `pat` must start with (escapes
 * resolved). Returns the prefix length; *literal is set when the prefix is
 * the whole pattern and it has no glob characters at all. */
static size_t globPrefix(const char *pat, size_t plen, char *out, bool *literal) {
    size_t n = 0;
    *literal = true;
    for (size_t i = 0; i < plen; i++) {
        char c = pat[i];
        if (c == '*' || c == '?' || c == '[') { *literal = false; return n; }
        if (c == '\\') {
            *literal = false;
            if (i + 1 >= plen) return n; /* a trailing backslash: stop here */
            c = pat[++i];
        }
        out[n++] = c;
    }
    return n;
}

void keysCommand(request *r) {
    const char *pat = r->argv[1];
    size_t plen = r->argvlen[1];
    char *prefix = malloc(plen ? plen : 1);
    if (!prefix) { addReplyError(r, "ERR out of memory"); return; }
    bool literal;
    size_t n = globPrefix(pat, plen, prefix, &literal);
    if (literal) {
        keyrow row;
        if (keyLookup(r, r->db, pat, plen, &row)) {
            addReplyArrayLen(r, 1);
            addReplyBulk(r, pat, plen);
        } else {
            addReplyArrayLen(r, 0);
        }
        free(prefix);
        return;
    }
    bool all = plen == 1 && pat[0] == '*';
    /* Keys starting with `prefix` lie in [prefix, successor(prefix)). */
    size_t hi = n;
    while (hi > 0 && (unsigned char)prefix[hi - 1] == 0xff) hi--;
    char *upper = NULL;
    if (n > 0 && hi > 0) {
        upper = malloc(hi);
        if (!upper) { free(prefix); addReplyError(r, "ERR out of memory"); return; }
        memcpy(upper, prefix, hi);
        upper[hi - 1] = (char)((unsigned char)upper[hi - 1] + 1);
    }
    sqlite3_stmt *s = stmtGet(r->st, n == 0 ? SQL_KEYS_ALL : upper ? SQL_KEYS_RANGE : SQL_KEYS_FROM);
    if (!s) { free(prefix); free(upper); storeFail(r, "keys"); return; }
    sqlite3_bind_int(s, 1, r->db);
    if (n > 0) sqlite3_bind_blob(s, 2, prefix, (int)n, SQLITE_STATIC);
    if (upper) sqlite3_bind_blob(s, 3, upper, (int)hi, SQLITE_STATIC);
    size_t mark = addReplyDeferredLen(r);
    long count = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!isLive(s, 1, r->now_ms)) continue;
        size_t klen;
        const char *k = stmtColumnBlob(s, 0, &klen);
        if (!all && !stringmatchlen(pat, plen, k, klen, false)) continue;
        addReplyBulk(r, k, klen);
        count++;
    }
    stmtDone(s);
    free(prefix);
    free(upper);
    if (rc != SQLITE_DONE) { storeFail(r, "keys"); discardDeferredReply(r, mark); return; }
    setDeferredArrayLen(r, mark, count);
}

/* ---- SCAN --------------------------------------------------------------- */

static const char SQL_SCAN[] =
    "SELECT id, key, type, expires_at FROM keys WHERE db=?1 AND id>?2 ORDER BY id LIMIT ?3";

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
void scanCommand(request *r) {
    unsigned long long cursor;
    if (!parseScanCursor(r, 1, &cursor)) return;
    long long count = 10;
    const char *pat = NULL, *type = NULL;
    size_t plen = 0;
    for (int i = 2; i < r->argc; i += 2) {
        bool has_arg = i + 1 < r->argc;
        if (argIs(r, i, "count") && has_arg) {
            if (!getLongLongArg(r, i + 1, &count, NULL)) return;
            if (count < 1) { addReplySyntaxError(r); return; }
        } else if (argIs(r, i, "match") && has_arg) {
            pat = r->argv[i + 1];
            plen = r->argvlen[i + 1];
            if (plen == 1 && pat[0] == '*') pat = NULL;
        } else if (argIs(r, i, "type") && has_arg) {
            type = r->argv[i + 1];
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    if (cursor > (unsigned long long)INT64_MAX) { /* past every id */
        setDeferredScanReply(r, addReplyDeferredLen(r), 0, 0);
        return;
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_SCAN);
    if (!s) { storeFail(r, "scan"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)cursor);
    sqlite3_bind_int64(s, 3, count);
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    long long rows = 0, last = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rows++;
        last = sqlite3_column_int64(s, 0);
        if (!isLive(s, 3, r->now_ms)) continue;
        if (type && strcasecmp(type, typeName(sqlite3_column_int(s, 2))) != 0) continue;
        size_t klen;
        const char *k = stmtColumnBlob(s, 1, &klen);
        if (pat && !stringmatchlen(pat, plen, k, klen, false)) continue;
        addReplyBulk(r, k, klen);
        n++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "scan"); discardDeferredReply(r, mark); return; }
    setDeferredScanReply(r, mark, rows < count ? 0 : last, n);
}

/* ---- RENAME / RENAMENX / MOVE ------------------------------------------- */

static const char SQL_RENAME[] = "UPDATE keys SET db=?3, key=?4 WHERE db=?1 AND key=?2";

/* Move the row (db, key) to (dstdb, dst), keeping its id, type, value and
 * expiry. The destination must be free. */
static bool keyRelocate(request *r, int db, const char *key, size_t klen, int dstdb, const char *dst, size_t dlen) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_RENAME);
    if (!s) return storeFail(r, "rename");
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, dstdb);
    sqlite3_bind_blob(s, 4, dst, (int)dlen, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return storeFail(r, "rename");
    keyTouched(r, db, key, klen);
    keyTouched(r, dstdb, dst, dlen);
    r->dirty++;
    notifyKeyspaceEvent(r, NOTIFY_NEW, "new", dstdb, dst, dlen);
    return true;
}

static void renameGeneric(request *r, bool nx) {
    keyrow row;
    if (!keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row)) {
        if (!r->store_error) addReplyError(r, ERR_NO_KEY);
        return;
    }
    if (sameArg(r, 1, 2)) {
        if (nx) addReplyLongLong(r, 0);
        else addReplyOK(r);
        return;
    }
    keyrow drow;
    if (keyLookup(r, r->db, r->argv[2], r->argvlen[2], &drow)) {
        if (nx) { addReplyLongLong(r, 0); return; }
        keyDelete(r, r->db, r->argv[2], r->argvlen[2]);
    }
    if (r->store_error) return;
    if (!keyRelocate(r, r->db, r->argv[1], r->argvlen[1], r->db, r->argv[2], r->argvlen[2])) return;
    notifyKeyspaceEvent(r, NOTIFY_GENERIC, "rename_from", r->db, r->argv[1], r->argvlen[1]);
    notifyKeyspaceEvent(r, NOTIFY_GENERIC, "rename_to", r->db, r->argv[2], r->argvlen[2]);
    if (nx) addReplyLongLong(r, 1);
    else addReplyOK(r);
}

void renameCommand(request *r) { renameGeneric(r, false); }
void renamenxCommand(request *r) { renameGeneric(r, true); }

/* MOVE key db */
void moveCommand(request *r) {
    int dst;
    if (!getIntArg(r, 2, &dst) || !validDb(r, dst)) return;
    if (dst == r->db) { addReplyError(r, "ERR source and destination objects are the same"); return; }
    keyrow row;
    if (!keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row) ||
        keyLookup(r, dst, r->argv[1], r->argvlen[1], &row)) {
        if (!r->store_error) addReplyLongLong(r, 0);
        return;
    }
    if (r->store_error) return;
    if (!keyRelocate(r, r->db, r->argv[1], r->argvlen[1], dst, r->argv[1], r->argvlen[1])) return;
    notifyKeyspaceEvent(r, NOTIFY_GENERIC, "move_from", r->db, r->argv[1], r->argvlen[1]);
    notifyKeyspaceEvent(r, NOTIFY_GENERIC, "move_to", dst, r->argv[1], r->argvlen[1]);
    addReplyLongLong(r, 1);
}

/* ---- COPY --------------------------------------------------------------- */

static const char SQL_COPY_KEY[] =
    "INSERT INTO keys(db, key, id, type, expires_at, value, enc) "
    "SELECT ?3, ?4, ?5, type, expires_at, value, enc FROM keys WHERE db=?1 AND key=?2";

/* COPY source destination [DB destination-db] [REPLACE] */
void copyCommand(request *r) {
    int dst = r->db;
    bool replace = false;
    for (int i = 3; i < r->argc; i++) {
        if (argIs(r, i, "replace")) {
            replace = true;
        } else if (argIs(r, i, "db") && i + 1 < r->argc) {
            if (!getIntArg(r, i + 1, &dst) || !validDb(r, dst)) return;
            i++;
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    if (dst == r->db && sameArg(r, 1, 2)) {
        addReplyError(r, "ERR source and destination objects are the same");
        return;
    }
    keyrow row, drow;
    if (!keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row)) {
        if (!r->store_error) addReplyLongLong(r, 0);
        return;
    }
    bool dexists = keyLookup(r, dst, r->argv[2], r->argvlen[2], &drow);
    if (r->store_error) return;
    if (dexists && !replace) { addReplyLongLong(r, 0); return; }
    if (row.type != OBJ_STRING && !storeCopySql(row.type, 0)) {
        addReplyError(r, "ERR COPY for this type is not supported yet");
        return;
    }
    if (dexists && (keyDelete(r, dst, r->argv[2], r->argvlen[2]), r->store_error)) return;
    int64_t new_id = keyNewId(r);
    sqlite3_stmt *s = stmtGet(r->st, SQL_COPY_KEY);
    if (!s) { storeFail(r, "copy"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    sqlite3_bind_int(s, 3, dst);
    sqlite3_bind_blob(s, 4, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, new_id);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "copy"); return; }
    const char *elements_sql;
    for (int i = 0; (elements_sql = storeCopySql(row.type, i)); i++) {
        s = stmtGet(r->st, elements_sql);
        if (!s) { storeFail(r, "copy"); return; }
        sqlite3_bind_int64(s, 1, row.id);
        sqlite3_bind_int64(s, 2, new_id);
        rc = sqlite3_step(s);
        stmtDone(s);
        if (rc != SQLITE_DONE) { storeFail(r, "copy"); return; }
    }
    keyTouched(r, dst, r->argv[2], r->argvlen[2]);
    notifyKeyspaceEvent(r, NOTIFY_NEW, "new", dst, r->argv[2], r->argvlen[2]);
    notifyKeyspaceEvent(r, NOTIFY_GENERIC, "copy_to", dst, r->argv[2], r->argvlen[2]);
    r->dirty++;
    addReplyLongLong(r, 1);
}

/* ---- RANDOMKEY / TOUCH -------------------------------------------------- */

static const char SQL_ID_RANGE[] =
    "SELECT (SELECT min(id) FROM keys WHERE db=?1), (SELECT max(id) FROM keys WHERE db=?1)";
/* The first live key at or after a random id; the index on (db, id) makes
 * this a seek plus a walk over any run of expired keys. */
static const char SQL_RANDOM_FROM[] =
    "SELECT key FROM keys WHERE db=?1 AND id>=?2 AND (expires_at IS NULL OR expires_at>?3) ORDER BY id LIMIT 1";

void randomkeyCommand(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_ID_RANGE);
    if (!s) { storeFail(r, "randomkey"); return; }
    sqlite3_bind_int(s, 1, r->db);
    int64_t lo = 0, hi = 0;
    bool any = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL;
    if (any) {
        lo = sqlite3_column_int64(s, 0);
        hi = sqlite3_column_int64(s, 1);
    }
    stmtDone(s);
    if (!any) { addReplyNull(r); return; }
    int64_t pick = lo + (int64_t)(serverRandom() % (uint64_t)(hi - lo + 1));
    /* Past the last live key: wrap around to the start. */
    for (int pass = 0; pass < 2; pass++, pick = lo) {
        s = stmtGet(r->st, SQL_RANDOM_FROM);
        if (!s) { storeFail(r, "randomkey"); return; }
        sqlite3_bind_int(s, 1, r->db);
        sqlite3_bind_int64(s, 2, pick);
        sqlite3_bind_int64(s, 3, r->now_ms);
        if (sqlite3_step(s) == SQLITE_ROW) {
            size_t klen;
            const void *k = stmtColumnBlob(s, 0, &klen);
            addReplyBulk(r, k, klen);
            stmtDone(s);
            return;
        }
        stmtDone(s);
        if (pick == lo) break;
    }
    addReplyNull(r);
}

void touchCommand(request *r) { existsCommand(r); }

/* ---- OBJECT ------------------------------------------------------------- */

static const char SQL_OBJECT[] = "SELECT type, value, expires_at, enc, id FROM keys WHERE db=?1 AND key=?2";

#define OBJ_SHARED_INTEGERS 10000
#define OBJ_SHARED_REFCOUNT INT_MAX

/* The encoding Redis would report for a string; `how` is keys.enc (NULL/0:
 * written by SET, 1: modified in place, 2: never int). */
static const char *stringEncoding(const char *v, size_t len, int how, long long *ival, bool *isint) {
    if (how == 1) return "raw";
    *isint = how == 0 && len <= 20 && string2ll(v, len, ival);
    if (*isint) return "int";
    return len <= 44 ? "embstr" : "raw";
}

void objectCommand(request *r) {
    if (argIs(r, 1, "help")) {
        if (r->argc != 2) { addReplyError(r, "ERR wrong number of arguments for 'object|help' command"); return; }
        static const char *const help[] = {
            "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
            "HELP",
            "    Prints this help.",
        };
        long n = (long)(sizeof(help) / sizeof(help[0]));
        addReplyArrayLen(r, n);
        for (long i = 0; i < n; i++) addReplyStatus(r, help[i]);
        return;
    }
    static const char *const subs[] = {"encoding", "freq", "idletime", "refcount"};
    int sub = -1;
    for (int i = 0; i < 4; i++)
        if (argIs(r, 1, subs[i])) sub = i;
    if (sub < 0) {
        addReplyErrorFormat(r, "ERR unknown subcommand '%.128s'. Try OBJECT HELP.", r->argv[1]);
        return;
    }
    if (r->argc != 3) {
        addReplyErrorFormat(r, "ERR wrong number of arguments for 'object|%s' command", subs[sub]);
        return;
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_OBJECT);
    if (!s) { storeFail(r, "object"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_ROW || !isLive(s, 2, r->now_ms)) {
        stmtDone(s);
        addReplyNull(r);
        return;
    }
    int type = sqlite3_column_int(s, 0);
    const char *enc = "listpack";
    long long ival = 0;
    bool isint = false;
    if (type == OBJ_STRING) {
        size_t vlen;
        const char *v = stmtColumnBlob(s, 1, &vlen);
        enc = stringEncoding(v, vlen, sqlite3_column_int(s, 3), &ival, &isint);
    }
    int64_t id = sqlite3_column_int64(s, 4);
    long long count = sqlite3_column_int64(s, 1);
    int kenc = sqlite3_column_int(s, 3);
    stmtDone(s);
    encoding_fn *encfn = type == OBJ_STRING ? NULL : storeEncodingFn(type);
    if (encfn && !(enc = encfn(r, id, count, kenc))) return;
    switch (sub) {
    case 0: addReplyBulkCString(r, enc); break;
    case 1:
        addReplyError(r, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                         "Please note that when switching between policies at runtime LRU and LFU data "
                         "will take some time to adjust.");
        break;
    case 2: addReplyLongLong(r, 0); break;
    default:
        /* Small integers are shared objects in Redis (maxmemory is off). */
        addReplyLongLong(r, isint && ival >= 0 && ival < OBJ_SHARED_INTEGERS ? OBJ_SHARED_REFCOUNT : 1);
        break;
    }
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
    {"keys", keysCommand, 2, CMD_READONLY, 0, 0, 0, "generic", "Returns all key names that match a pattern.", "1.0.0", NULL},
    {"scan", scanCommand, -2, CMD_READONLY, 0, 0, 0, "generic", "Iterates over the key names in the database.", "2.8.0", NULL},
    {"rename", renameCommand, 3, W, 1, 2, 1, "generic", "Renames a key and overwrites the destination.", "1.0.0", NULL},
    {"renamenx", renamenxCommand, 3, W | CMD_FAST, 1, 2, 1, "generic", "Renames a key only when the target key name doesn't exist.", "1.0.0", NULL},
    {"copy", copyCommand, -3, W | CMD_DENYOOM, 1, 2, 1, "generic", "Copies the value of a key to a new key.", "6.2.0", NULL},
    {"move", moveCommand, 3, W | CMD_FAST, 1, 1, 1, "generic", "Moves a key to another database.", "1.0.0", NULL},
    {"randomkey", randomkeyCommand, 1, CMD_READONLY, 0, 0, 0, "generic", "Returns a random key name from the database.", "1.0.0", NULL},
    {"touch", touchCommand, -2, R, 1, -1, 1, "generic", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "3.2.1", NULL},
    {"object", objectCommand, -2, CMD_READONLY | CMD_CONTAINER, 0, 0, 0, "generic", "A container for object introspection commands.", "2.2.3", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void keyspaceRegister(void) { commandRegisterTable(keyspace_commands); }
