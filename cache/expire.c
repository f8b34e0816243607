/*
 * expire.c — TTLs: EXPIRE PEXPIRE EXPIREAT PEXPIREAT (NX XX GT LT), TTL PTTL
 * EXPIRETIME PEXPIRETIME PERSIST, and active expiry.
 *
 * Expiry is stored as an absolute unix time in ms (keys.expires_at). Reads
 * treat a key past its time as missing at once; the writer deletes such keys
 * when it meets them and, in the background, in slices of at most
 * EXPIRE_SLICE keys per transaction, so a million keys expiring together never
 * hold the writer for long: between two slices the writer runs queued
 * client batches.
 */
#include "cache_internal.h"
#include <limits.h>
#include <string.h>

#define EXPIRE_SLICE 1000

bool parseExpireTime(request *r, int idx, bool unit_ms, bool absolute, const char *cmdname, long long *at_ms) {
    long long v;
    if (!getLongLongArg(r, idx, &v, NULL)) return false;
    bool is_set = !strcmp(cmdname, "set") || !strcmp(cmdname, "getex") || !strcmp(cmdname, "setex") || !strcmp(cmdname, "psetex");
    if (is_set && v <= 0) {
        addReplyErrorFormat(r, "ERR invalid expire time in '%s' command", cmdname);
        return false;
    }
    if (!unit_ms) {
        if (v > LLONG_MAX / 1000 || v < LLONG_MIN / 1000) {
            addReplyErrorFormat(r, "ERR invalid expire time in '%s' command", cmdname);
            return false;
        }
        v *= 1000;
    }
    if (!absolute) {
        if ((v > 0 && r->now_ms > LLONG_MAX - v) || (v < 0 && r->now_ms < LLONG_MIN - v)) {
            addReplyErrorFormat(r, "ERR invalid expire time in '%s' command", cmdname);
            return false;
        }
        v += r->now_ms;
    }
    *at_ms = v;
    return true;
}

enum { EXP_NX = 1, EXP_XX = 2, EXP_GT = 4, EXP_LT = 8 };

/* EXPIRE key seconds [NX|XX|GT|LT] and its three siblings. */
static void expireGeneric(request *r, bool unit_ms, bool absolute) {
    int flags = 0;
    for (int i = 3; i < r->argc; i++) {
        if (argIs(r, i, "nx")) flags |= EXP_NX;
        else if (argIs(r, i, "xx")) flags |= EXP_XX;
        else if (argIs(r, i, "gt")) flags |= EXP_GT;
        else if (argIs(r, i, "lt")) flags |= EXP_LT;
        else { addReplyErrorFormat(r, "ERR Unsupported option %s", r->argv[i]); return; }
    }
    if ((flags & EXP_NX) && (flags & (EXP_XX | EXP_GT | EXP_LT))) {
        addReplyError(r, "ERR NX and XX, GT or LT options at the same time are not compatible");
        return;
    }
    if ((flags & EXP_GT) && (flags & EXP_LT)) {
        addReplyError(r, "ERR GT and LT options at the same time are not compatible");
        return;
    }
    char name[16];
    size_t n = r->argvlen[0] < sizeof(name) - 1 ? r->argvlen[0] : sizeof(name) - 1;
    for (size_t i = 0; i < n; i++) name[i] = (char)(r->argv[0][i] | 0x20);
    name[n] = '\0';
    long long at;
    if (!parseExpireTime(r, 2, unit_ms, absolute, name, &at)) return;
    keyrow row;
    if (!keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row)) { addReplyLongLong(r, 0); return; }
    long long cur = row.expires_at; /* 0 = persistent, i.e. infinite TTL */
    if ((flags & EXP_NX) && cur) { addReplyLongLong(r, 0); return; }
    if ((flags & EXP_XX) && !cur) { addReplyLongLong(r, 0); return; }
    if ((flags & EXP_GT) && (!cur || at <= cur)) { addReplyLongLong(r, 0); return; }
    if ((flags & EXP_LT) && cur && at >= cur) { addReplyLongLong(r, 0); return; }
    bool gone = at <= r->now_ms;
    if (gone) keyDelete(r, r->db, r->argv[1], r->argvlen[1]);
    else keySetExpire(r, r->db, r->argv[1], r->argvlen[1], at);
    notifyKeyspaceEvent(r, NOTIFY_GENERIC, gone ? "del" : "expire", r->db, r->argv[1], r->argvlen[1]);
    r->dirty++;
    addReplyLongLong(r, 1);
}

void expireCommand(request *r) { expireGeneric(r, false, false); }
void pexpireCommand(request *r) { expireGeneric(r, true, false); }
void expireatCommand(request *r) { expireGeneric(r, false, true); }
void pexpireatCommand(request *r) { expireGeneric(r, true, true); }

enum { TTL_REL_S, TTL_REL_MS, TTL_ABS_S, TTL_ABS_MS };

static void ttlGeneric(request *r, int kind) {
    keyrow row;
    if (!keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row)) { addReplyLongLong(r, -2); return; }
    if (!row.expires_at) { addReplyLongLong(r, -1); return; }
    long long v;
    switch (kind) {
    case TTL_REL_S: v = (row.expires_at - r->now_ms + 500) / 1000; break;
    case TTL_REL_MS: v = row.expires_at - r->now_ms; break;
    case TTL_ABS_S: v = (row.expires_at + 500) / 1000; break; /* rounded, as TTL (Redis) */
    default: v = row.expires_at; break;
    }
    if (v < 0) v = 0;
    addReplyLongLong(r, v);
}

void ttlCommand(request *r) { ttlGeneric(r, TTL_REL_S); }
void pttlCommand(request *r) { ttlGeneric(r, TTL_REL_MS); }
void expiretimeCommand(request *r) { ttlGeneric(r, TTL_ABS_S); }
void pexpiretimeCommand(request *r) { ttlGeneric(r, TTL_ABS_MS); }

void persistCommand(request *r) {
    keyrow row;
    if (!keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row) || !row.expires_at) {
        addReplyLongLong(r, 0);
        return;
    }
    keySetExpire(r, r->db, r->argv[1], r->argvlen[1], 0);
    notifyKeyspaceEvent(r, NOTIFY_GENERIC, "persist", r->db, r->argv[1], r->argvlen[1]);
    r->dirty++;
    addReplyLongLong(r, 1);
}

static const char SQL_SWEEP[] =
    "DELETE FROM keys WHERE (db, key) IN "
    "(SELECT db, key FROM keys WHERE expires_at IS NOT NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2)";

/* Writer thread, between batches: delete one slice of expired keys. Returns
 * true when the slice was full (more may be waiting). */
/* With "expired" notifications on, the slice names its keys (RETURNING). */
static const char SQL_SWEEP_NAMED[] =
    "DELETE FROM keys WHERE (db, key) IN "
    "(SELECT db, key FROM keys WHERE expires_at IS NOT NULL AND expires_at <= ?1 ORDER BY expires_at LIMIT ?2) "
    "RETURNING db, key";

static bool activeExpireNamed(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_SWEEP_NAMED);
    if (!s) return false;
    sqlite3_bind_int64(s, 1, r->now_ms);
    sqlite3_bind_int(s, 2, EXPIRE_SLICE);
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t klen;
        const char *key = stmtColumnBlob(s, 1, &klen);
        notifyKeyspaceEvent(r, NOTIFY_EXPIRED, "expired", sqlite3_column_int(s, 0), key, klen);
        n++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE) return false;
    if (n > 0) serverNoteExpired(n);
    return n == EXPIRE_SLICE;
}

static bool activeExpireCycle(request *r) {
    if (!serverActiveExpire()) return false;
    if (notifyWanted(NOTIFY_EXPIRED)) return activeExpireNamed(r);
    sqlite3_stmt *s = stmtGet(r->st, SQL_SWEEP);
    if (!s) return false;
    sqlite3_bind_int64(s, 1, r->now_ms);
    sqlite3_bind_int(s, 2, EXPIRE_SLICE);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return false;
    int n = sqlite3_changes(storeDb(r->st));
    if (n > 0) serverNoteExpired(n);
    return n == EXPIRE_SLICE;
}

#define W (CMD_WRITE | CMD_FAST)
#define R (CMD_READONLY | CMD_FAST)
static const command expire_commands[] = {
    {"expire", expireCommand, -3, W, 1, 1, 1, "generic", "Sets the expiration time of a key in seconds.", "1.0.0", NULL},
    {"pexpire", pexpireCommand, -3, W, 1, 1, 1, "generic", "Sets the expiration time of a key in milliseconds.", "2.6.0", NULL},
    {"expireat", expireatCommand, -3, W, 1, 1, 1, "generic", "Sets the expiration time of a key to a Unix timestamp.", "1.2.0", NULL},
    {"pexpireat", pexpireatCommand, -3, W, 1, 1, 1, "generic", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "2.6.0", NULL},
    {"ttl", ttlCommand, 2, R, 1, 1, 1, "generic", "Returns the expiration time in seconds of a key.", "1.0.0", NULL},
    {"pttl", pttlCommand, 2, R, 1, 1, 1, "generic", "Returns the expiration time in milliseconds of a key.", "2.6.0", NULL},
    {"expiretime", expiretimeCommand, 2, R, 1, 1, 1, "generic", "Returns the expiration time of a key as a Unix timestamp.", "7.0.0", NULL},
    {"pexpiretime", pexpiretimeCommand, 2, R, 1, 1, 1, "generic", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "7.0.0", NULL},
    {"persist", persistCommand, 2, W, 1, 1, 1, "generic", "Removes the expiration time of a key.", "2.2.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void expireRegister(void) {
    commandRegisterTable(expire_commands);
    serverAddBackgroundTask("active-expire", activeExpireCycle, 100);
}
