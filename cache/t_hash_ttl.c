/*
 * t_hash_ttl.c — per-field TTLs on hashes, as in Redis 7.4: HEXPIRE HPEXPIRE
 * HEXPIREAT HPEXPIREAT set them, HTTL HPTTL HEXPIRETIME HPEXPIRETIME read
 * them, HPERSIST clears them, and the "hash-field-expire" background task
 * deletes the fields whose time has come.
 *
 * A field's TTL is the expires_at column of its row in `hashes`; t_hash.c
 * owns that table and already hides expired fields from every reader and
 * purges them before every write (see its header). This file only sets,
 * reads and clears the column, through the storage helpers of t_hash.h. It
 * stands apart because these commands are a family of their own (the
 * FIELDS numfields field... grammar, a status code per field) and the
 * sweeper is a writer-thread task rather than a command.
 *
 * The sweeper runs on the writer thread between batches: each call deletes
 * at most HFE_SLICE expired fields in expiry order (the partial index
 * hashes_expiring is its work list), fixes each owning key's count in
 * keys.value and deletes keys whose last field went.
 */
#include "t_hash.h"
#include <stdlib.h>
#include <string.h>

#define HFE_SLICE 1000
/* Largest absolute field expiry Redis 7.4 accepts (HFE_MAX_ABS_TIME_MSEC). */
#define HFE_MAX_ABS_TIME_MSEC 70368744177663LL

static const char SQL_FIELD_SET_TTL[] = "UPDATE hashes SET expires_at=?3 WHERE id=?1 AND field=?2";
static const char SQL_MARK_FIELD_TTL[] = "UPDATE keys SET enc=" HASH_ENC_FIELD_TTL_SQL " WHERE db=?1 AND key=?2";
/* Sweeper. */
static const char SQL_SWEEP_IDS[] =
    "SELECT DISTINCT id FROM (SELECT id FROM hashes WHERE expires_at<=?1 ORDER BY expires_at LIMIT ?2)";
static const char SQL_PURGE_SOME[] =
    "DELETE FROM hashes WHERE id=?1 AND field IN "
    "(SELECT field FROM hashes WHERE id=?1 AND expires_at<=?2 LIMIT ?3)";
/* The keys row of an id: one (db, id) index seek per database. */
static const char SQL_KEY_BY_ID[] =
    "WITH RECURSIVE d(n) AS (SELECT 0 UNION ALL SELECT n+1 FROM d WHERE n+1<?1) "
    "SELECT k.db, k.key, k.value FROM d JOIN keys k INDEXED BY keys_by_id ON k.db=d.n AND k.id=?2 LIMIT 1";

/* ---- field TTLs ------------------------------------------------------------- */

/* Checks "FIELDS numfields field..." with FIELDS at argv[at-1] and the count
 * at argv[at]; the fields run to the end of argv. */
static bool parseFields(request *r, int at, const char *numerr) {
    if (at >= r->argc || !argIs(r, at - 1, "fields")) {
        addReplyError(r, "ERR Mandatory argument FIELDS is missing or not at the right position");
        return false;
    }
    long long n;
    if (!string2ll(r->argv[at], r->argvlen[at], &n) || n < 1) {
        addReplyError(r, numerr);
        return false;
    }
    if (n != r->argc - at - 1) {
        addReplyError(r, "ERR The `numfields` parameter must match the number of arguments");
        return false;
    }
    return true;
}

/* The TTL of field argv[idx] of h: 1 found (*at = 0 when it has none), 0 no
 * such field, -1 after a storage error (reported as `what`). */
static int fieldTtl(request *r, const hkey *h, int idx, long long *at, const char *what) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_HASH_FIELD_ROW);
    if (!s) { storeFail(r, what); return -1; }
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_blob(s, 2, r->argv[idx], (int)r->argvlen[idx], SQLITE_STATIC);
    int rc = sqlite3_step(s);
    *at = rc == SQLITE_ROW && sqlite3_column_type(s, 1) != SQLITE_NULL ? sqlite3_column_int64(s, 1) : 0;
    stmtDone(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) { storeFail(r, what); return -1; }
    return rc == SQLITE_ROW;
}

/* Writer: set (at) or clear (0) the TTL of field argv[idx] of h. */
static bool fieldSetTtl(request *r, hkey *h, int idx, long long at, const char *what) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_FIELD_SET_TTL);
    if (!s) return storeFail(r, what);
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_blob(s, 2, r->argv[idx], (int)r->argvlen[idx], SQLITE_STATIC);
    if (at) sqlite3_bind_int64(s, 3, at);
    else sqlite3_bind_null(s, 3);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return storeFail(r, what);
    h->changed = true;
    if (at && !h->may_expire) { /* from now on lookups count the hash's expired fields */
        s = stmtGet(r->st, SQL_MARK_FIELD_TTL);
        if (!s) return storeFail(r, what);
        sqlite3_bind_int(s, 1, r->db);
        sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
        rc = sqlite3_step(s);
        stmtDone(s);
        if (rc != SQLITE_DONE) return storeFail(r, what);
        h->may_expire = true;
    }
    return true;
}

static void addReplyRepeated(request *r, long n, long long v) {
    addReplyArrayLen(r, n);
    for (long i = 0; i < n; i++) addReplyLongLong(r, v);
}

enum { HFE_NX = 1, HFE_XX = 2, HFE_GT = 4, HFE_LT = 8 };

/* HEXPIRE key seconds [NX|XX|GT|LT] FIELDS numfields field...; the PEXPIRE
 * and *AT variants differ by unit and base time. Replies, per field: -2 no
 * such field, 0 condition not met, 1 set, 2 deleted (time not in the future). */
static void hexpireGeneric(request *r, bool unit_ms, bool absolute) {
    hkey h;
    int found = hashOpenWrite(r, 1, &h);
    if (found < 0) return;
    long long at;
    if (!getLongLongArg(r, 2, &at, NULL)) return;
    if (at < 0) { addReplyError(r, "ERR invalid expire time, must be >= 0"); return; }
    long long base = absolute ? 0 : r->now_ms;
    if ((!unit_ms && at > HFE_MAX_ABS_TIME_MSEC / 1000) ||
        (!unit_ms ? at * 1000 : at) > HFE_MAX_ABS_TIME_MSEC - base) {
        addReplyErrorFormat(r, "ERR invalid expire time in '%s' command", r->cmd->name);
        return;
    }
    if (!unit_ms) at *= 1000;
    at += base;
    int cond = 0, fields_at = 4;
    if (argIs(r, 3, "nx")) cond = HFE_NX;
    else if (argIs(r, 3, "xx")) cond = HFE_XX;
    else if (argIs(r, 3, "gt")) cond = HFE_GT;
    else if (argIs(r, 3, "lt")) cond = HFE_LT;
    if (cond) fields_at++;
    if (!parseFields(r, fields_at, "ERR Parameter `numFields` should be greater than 0")) return;
    long n = r->argc - fields_at - 1;
    if (!found) { addReplyRepeated(r, n, -2); return; }
    size_t mark = r->out->len;
    long long updated = 0, deleted = 0;
    addReplyArrayLen(r, n);
    for (int i = fields_at + 1; i < r->argc; i++) {
        long long prev;
        int exists = fieldTtl(r, &h, i, &prev, "hexpire");
        if (exists < 0) { discardDeferredReply(r, mark); return; }
        if (!exists) { addReplyLongLong(r, -2); continue; }
        /* A field without a TTL counts as an infinite one for GT/LT. */
        if (!prev ? (cond & (HFE_XX | HFE_GT)) != 0
                  : (cond == HFE_NX || (cond == HFE_GT && prev >= at) || (cond == HFE_LT && prev <= at))) {
            addReplyLongLong(r, 0);
            continue;
        }
        if (at <= r->now_ms) {
            int d = hashFieldDelete(r, &h, r->argv[i], r->argvlen[i]);
            if (d < 0) { discardDeferredReply(r, mark); return; }
            deleted += d;
            addReplyLongLong(r, 2);
            continue;
        }
        if (!fieldSetTtl(r, &h, i, at, "hexpire")) { discardDeferredReply(r, mark); return; }
        updated++;
        addReplyLongLong(r, 1);
    }
    /* Redis 7.4: one event for the command, "hdel" when any field went (time
     * not in the future), else "hexpire"; "del" follows (from hashSave) when
     * the hash was left empty. */
    if (updated + deleted > 0)
        notifyKeyspaceEvent(r, NOTIFY_HASH, deleted ? "hdel" : "hexpire", r->db, r->argv[1], r->argvlen[1]);
    if (!hashSave(r, 1, &h)) discardDeferredReply(r, mark);
}

void hexpireCommand(request *r) { hexpireGeneric(r, false, false); }
void hpexpireCommand(request *r) { hexpireGeneric(r, true, false); }
void hexpireatCommand(request *r) { hexpireGeneric(r, false, true); }
void hpexpireatCommand(request *r) { hexpireGeneric(r, true, true); }

enum { TTL_REL_S, TTL_REL_MS, TTL_ABS_S, TTL_ABS_MS };

/* HTTL key FIELDS numfields field... and its three siblings: per field -2 no
 * such field, -1 no TTL, else the TTL (seconds rounded up, as Redis 7.4). */
static void httlGeneric(request *r, int kind) {
    hkey h;
    int found = hashFind(r, 1, &h);
    if (found < 0 || !parseFields(r, 3, "ERR Number of fields must be a positive integer")) return;
    long n = r->argc - 4;
    if (!found) { addReplyRepeated(r, n, -2); return; }
    size_t mark = r->out->len;
    addReplyArrayLen(r, n);
    for (int i = 4; i < r->argc; i++) {
        long long at, v;
        int exists = fieldTtl(r, &h, i, &at, "httl");
        if (exists < 0) { discardDeferredReply(r, mark); return; }
        if (!exists || (at && at <= r->now_ms)) v = -2;
        else if (!at) v = -1;
        else if (kind == TTL_REL_S) v = (at + 999 - r->now_ms) / 1000;
        else if (kind == TTL_REL_MS) v = at - r->now_ms;
        else if (kind == TTL_ABS_S) v = (at + 999) / 1000;
        else v = at;
        addReplyLongLong(r, v);
    }
}

void httlCommand(request *r) { httlGeneric(r, TTL_REL_S); }
void hpttlCommand(request *r) { httlGeneric(r, TTL_REL_MS); }
void hexpiretimeCommand(request *r) { httlGeneric(r, TTL_ABS_S); }
void hpexpiretimeCommand(request *r) { httlGeneric(r, TTL_ABS_MS); }

/* HPERSIST key FIELDS numfields field...: -2 no such field, -1 no TTL, 1 cleared. */
void hpersistCommand(request *r) {
    hkey h;
    int found = hashOpenWrite(r, 1, &h);
    if (found < 0 || !parseFields(r, 3, "ERR Number of fields must be a positive integer")) return;
    long n = r->argc - 4;
    if (!found) { addReplyRepeated(r, n, -2); return; }
    size_t mark = r->out->len;
    addReplyArrayLen(r, n);
    for (int i = 4; i < r->argc; i++) {
        long long at;
        int exists = fieldTtl(r, &h, i, &at, "hpersist");
        if (exists < 0) { discardDeferredReply(r, mark); return; }
        if (!at) { addReplyLongLong(r, exists ? -1 : -2); continue; }
        if (!fieldSetTtl(r, &h, i, 0, "hpersist")) { discardDeferredReply(r, mark); return; }
        addReplyLongLong(r, 1);
    }
    if (h.changed) notifyKeyspaceEvent(r, NOTIFY_HASH, "hpersist", r->db, r->argv[1], r->argvlen[1]);
    if (!hashSave(r, 1, &h)) discardDeferredReply(r, mark);
}

/* ---- the sweeper -------------------------------------------------------------- */

/* Writer thread, between batches: delete up to HFE_SLICE expired fields, in
 * expiry order, fixing each hash's count and deleting hashes left empty.
 * Returns true when the slice was full (more may be waiting). */
static bool hashFieldExpireCycle(request *r) {
    if (!serverActiveExpire()) return false;
    sqlite3_stmt *s = stmtGet(r->st, SQL_SWEEP_IDS);
    if (!s) return false;
    sqlite3_bind_int64(s, 1, r->now_ms);
    sqlite3_bind_int(s, 2, HFE_SLICE);
    int64_t ids[HFE_SLICE];
    int nids = 0;
    while (nids < HFE_SLICE && sqlite3_step(s) == SQLITE_ROW) ids[nids++] = sqlite3_column_int64(s, 0);
    stmtDone(s);
    long long quota = HFE_SLICE, total = 0;
    for (int i = 0; i < nids && quota > 0; i++) {
        s = stmtGet(r->st, SQL_PURGE_SOME);
        if (!s) return false;
        sqlite3_bind_int64(s, 1, ids[i]);
        sqlite3_bind_int64(s, 2, r->now_ms);
        sqlite3_bind_int64(s, 3, quota);
        int rc = sqlite3_step(s);
        stmtDone(s);
        if (rc != SQLITE_DONE) return false;
        int n = sqlite3_changes(storeDb(r->st));
        quota -= n;
        total += n;
        if (n == 0) continue;
        /* Fix the owner's count. */
        s = stmtGet(r->st, SQL_KEY_BY_ID);
        if (!s) return false;
        sqlite3_bind_int(s, 1, configDatabases());
        sqlite3_bind_int64(s, 2, ids[i]);
        if (sqlite3_step(s) != SQLITE_ROW) { stmtDone(s); continue; }
        int db = sqlite3_column_int(s, 0);
        size_t klen;
        const void *kp = stmtColumnBlob(s, 1, &klen);
        long long left = sqlite3_column_int64(s, 2) - n;
        char small[128];
        char *key = klen <= sizeof(small) ? small : malloc(klen);
        if (!key) { stmtDone(s); return false; }
        memcpy(key, kp, klen);
        stmtDone(s);
        /* Redis 7.4: "hexpired" per hash, then "del" (from keySetCount) when
         * its last field went. */
        notifyKeyspaceEvent(r, NOTIFY_HASH, "hexpired", db, key, klen);
        keySetCount(r, db, key, klen, left); /* deletes the key at 0 */
        if (left > 0) keyTouched(r, db, key, klen);
        if (key != small) free(key);
    }
    return total >= HFE_SLICE;
}

/* ---- registration ---------------------------------------------------------- */

#define R (CMD_READONLY | CMD_FAST)
static const command hash_ttl_commands[] = {
    {"hexpire", hexpireCommand, -6, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "Set expiry for hash field using relative time to expire (seconds)", "7.4.0", NULL},
    {"hpexpire", hpexpireCommand, -6, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "Set expiry for hash field using relative time to expire (milliseconds)", "7.4.0", NULL},
    {"hexpireat", hexpireatCommand, -6, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "Set expiry for hash field using an absolute Unix timestamp (seconds)", "7.4.0", NULL},
    {"hpexpireat", hpexpireatCommand, -6, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "Set expiry for hash field using an absolute Unix timestamp (milliseconds)", "7.4.0", NULL},
    {"httl", httlCommand, -5, R, 1, 1, 1, "hash", "Returns the TTL in seconds of a hash field.", "7.4.0", NULL},
    {"hpttl", hpttlCommand, -5, R, 1, 1, 1, "hash", "Returns the TTL in milliseconds of a hash field.", "7.4.0", NULL},
    {"hexpiretime", hexpiretimeCommand, -5, R, 1, 1, 1, "hash", "Returns the expiration time of a hash field as a Unix timestamp, in seconds.", "7.4.0", NULL},
    {"hpexpiretime", hpexpiretimeCommand, -5, R, 1, 1, 1, "hash", "Returns the expiration time of a hash field as a Unix timestamp, in msec.", "7.4.0", NULL},
    {"hpersist", hpersistCommand, -5, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "Removes the expiration time for each specified field", "7.4.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void hashTtlRegister(void) {
    commandRegisterTable(hash_ttl_commands);
    serverAddBackgroundTask("hash-field-expire", hashFieldExpireCycle, 100);
}
