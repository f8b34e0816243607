/*
 * t_string.c — string commands.
 *
 * Strings live inline in keys.value (see server/store.c), so GET is one
 * primary-key lookup and a plain SET one upsert. Integers are stored as their
 * decimal text, exactly as a client would read them back.
 *
 * Read commands run on the net thread's read connection; writes on the writer
 * thread inside its batch. Handlers touch nothing but their request.
 */
#include "cache_internal.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_GET[] = "SELECT type, value, expires_at FROM keys WHERE db=?1 AND key=?2";
static const char SQL_STRLEN[] = "SELECT type, length(value), expires_at FROM keys WHERE db=?1 AND key=?2";
/* Writing a string is one statement, new key or overwrite: the upsert only
 * updates a row that holds a live string (and never touches `type`, so no
 * trigger runs). A key of another type, or an expired one the sweeper has
 * not reached (?7 is now), leaves the row unchanged and takes the slow path:
 * the lookup there expires it ("expired" event, as Redis's lazy expiry), or
 * it is deleted with its elements; then the insert. */
#define STR_UPSERT_LIVE " WHERE keys.type=0 AND (keys.expires_at IS NULL OR keys.expires_at>?7)"
static const char SQL_STR_UPSERT[] =
    "INSERT INTO keys(db, key, id, type, expires_at, value, enc) VALUES(?1, ?2, ?3, 0, ?4, ?5, ?6) "
    "ON CONFLICT(db, key) DO UPDATE SET value=excluded.value, expires_at=excluded.expires_at, enc=excluded.enc"
    STR_UPSERT_LIVE;
static const char SQL_STR_UPSERT_KEEPTTL[] =
    "INSERT INTO keys(db, key, id, type, expires_at, value, enc) VALUES(?1, ?2, ?3, 0, ?4, ?5, ?6) "
    "ON CONFLICT(db, key) DO UPDATE SET value=excluded.value, enc=excluded.enc" STR_UPSERT_LIVE;

/* keys.enc values (see server/store.c) */
enum { ENC_BY_VALUE = 0, ENC_RAW = 1, ENC_NOT_INT = 2 };

/* A string value read from the store. `val` points into the statement's row
 * and stays valid until strDone(). */
typedef struct strval {
    sqlite3_stmt *s;
    const char *val;
    size_t len;
    long long expires_at;
} strval;

static void strDone(strval *v) {
    if (v->s) stmtDone(v->s);
    v->s = NULL;
}

/* Look a string up. Returns 1 found (call strDone), 0 missing, -1 wrong type
 * (WRONGTYPE already replied). On the writer an expired key is deleted. */
static int strGet(request *r, int idx, strval *v) {
    bool cacheable = r->client != NULL; /* net thread: the read cache applies */
    if (cacheable) {
        int c = readCacheGet(r->db, r->argv[idx], r->argvlen[idx], r->now_ms, &v->val, &v->len);
        if (c != READ_CACHE_MISS) serverNoteKeyspace(c == READ_CACHE_HIT);
        if (c == READ_CACHE_NO_KEY) return 0;
        if (c == READ_CACHE_HIT) {
            v->s = NULL;
            return 1;
        }
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_GET);
    if (!s) { storeFail(r, "get"); return -1; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[idx], (int)r->argvlen[idx], SQLITE_STATIC);
    if (sqlite3_step(s) != SQLITE_ROW) {
        stmtDone(s);
        if (cacheable) {
            readCachePut(r->db, r->argv[idx], r->argvlen[idx], NULL, 0, 0);
            serverNoteKeyspace(false);
        }
        return 0;
    }
    long long exp = sqlite3_column_int64(s, 2);
    if (exp && exp <= r->now_ms) {
        stmtDone(s);
        keyLookup(r, r->db, r->argv[idx], r->argvlen[idx], &(keyrow){0}); /* deletes it on the writer */
        return 0;
    }
    if (sqlite3_column_int(s, 0) != OBJ_STRING) {
        stmtDone(s);
        addReplyWrongType(r);
        return -1;
    }
    v->s = s;
    v->val = stmtColumnBlob(s, 1, &v->len);
    v->expires_at = exp;
    if (cacheable) {
        readCachePut(r->db, r->argv[idx], r->argvlen[idx], v->val, v->len, exp);
        serverNoteKeyspace(true);
    }
    return 1;
}

/* Write a string value. at_ms: 0 = no expiry; keepttl keeps the existing one. */
static int strWrite(request *r, const char *sql, const char *key, size_t klen, const void *val, size_t len,
                    long long at_ms, int enc) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) return -1;
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, keyNewId(r));
    if (at_ms) sqlite3_bind_int64(s, 4, at_ms);
    sqlite3_bind_blob64(s, 5, val, len, SQLITE_STATIC);
    if (enc != ENC_BY_VALUE) sqlite3_bind_int(s, 6, enc);
    sqlite3_bind_int64(s, 7, r->now_ms);
    int rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE ? sqlite3_changes(storeDb(r->st)) : -1;
}

/* Write a string value. at_ms: 0 = no expiry; keepttl keeps the existing one. */
static bool strSetEnc(request *r, const char *key, size_t klen, const void *val, size_t len, long long at_ms,
                      bool keepttl, int enc, const char *event) {
    /* Redis's "new" event (class n, off unless asked for) needs to know
     * whether the key existed: looked up only when someone listens. */
    keyrow had;
    bool created = notifyWanted(NOTIFY_NEW) && !keyLookup(r, r->db, key, klen, &had) && !r->store_error;
    int n = strWrite(r, keepttl ? SQL_STR_UPSERT_KEEPTTL : SQL_STR_UPSERT, key, klen, val, len, at_ms, enc);
    if (n == 0) {
        /* The key holds another type, or expired: replace it, keeping a
         * live key's TTL if asked. */
        keyrow row;
        if (keyLookup(r, r->db, key, klen, &row) && keepttl) at_ms = row.expires_at;
        keyDelete(r, r->db, key, klen);
        n = strWrite(r, SQL_STR_UPSERT, key, klen, val, len, at_ms, enc);
    }
    if (n <= 0) return storeFail(r, "set");
    r->dirty++;
    keyTouched(r, r->db, key, klen);
    if (created) notifyKeyspaceEvent(r, NOTIFY_NEW, "new", r->db, key, klen);
    notifyKeyspaceEvent(r, NOTIFY_STRING, event, r->db, key, klen);
    if (at_ms && !keepttl) notifyKeyspaceEvent(r, NOTIFY_GENERIC, "expire", r->db, key, klen);
    return true;
}

static bool strSet(request *r, const char *key, size_t klen, const void *val, size_t len, long long at_ms, bool keepttl) {
    return strSetEnc(r, key, klen, val, len, at_ms, keepttl, ENC_BY_VALUE, "set");
}

static bool checkStringLength(request *r, long long total) {
    if (total > configProtoMaxBulkLen()) {
        addReplyError(r, "ERR string exceeds maximum allowed size (proto-max-bulk-len)");
        return false;
    }
    return true;
}

/* Reply the string at argv[1], or null. Returns strGet's 1 / 0, or -1 after
 * an error reply (WRONGTYPE). GET, GETDEL, GETSET and SET ... GET. */
static int replyValue(request *r) {
    strval v;
    int rc = strGet(r, 1, &v);
    if (rc == 0) addReplyNull(r);
    if (rc != 1) return rc;
    addReplyBulk(r, v.val, v.len);
    strDone(&v);
    return 1;
}

void getCommand(request *r) { replyValue(r); }

enum { SET_NX = 1, SET_XX = 2, SET_GET = 4, SET_KEEPTTL = 8, SET_EX = 16 };

/* SET/GETEX options. The expiry is only located here: Redis checks the whole
 * option grammar first (a syntax error wins over a bad time), SET then reads
 * the time before looking at the key and GETEX after (a missing key answers
 * null, another type WRONGTYPE, whatever the time says). */
typedef struct setopts {
    int flags;
    int exp_idx;   /* argv index of the time, 0: none */
    bool exp_ms;   /* PX / PXAT */
    bool exp_abs;  /* EXAT / PXAT */
} setopts;

/* Parse SET/GETEX style options from argv[start]. Returns false after
 * replying a syntax error. As in Redis, an option may be repeated (the last
 * time given wins) but two different expiry options conflict. */
static bool parseSetOptions(request *r, int start, setopts *o, bool getex) {
    static const char *const units[] = {"ex", "px", "exat", "pxat"};
    int unit = -1; /* index in units of the expiry option seen */
    for (int i = start; i < r->argc; i++) {
        int u = -1;
        for (int k = 0; k < 4; k++)
            if (argIs(r, i, units[k])) u = k;
        if (!getex && argIs(r, i, "nx") && !(o->flags & SET_XX)) o->flags |= SET_NX;
        else if (!getex && argIs(r, i, "xx") && !(o->flags & SET_NX)) o->flags |= SET_XX;
        else if (!getex && argIs(r, i, "get")) o->flags |= SET_GET;
        else if (!getex && argIs(r, i, "keepttl") && unit < 0) o->flags |= SET_KEEPTTL;
        else if (getex && argIs(r, i, "persist") && unit < 0) o->flags |= SET_KEEPTTL;
        else if (u >= 0 && !(o->flags & SET_KEEPTTL) && (unit < 0 || unit == u) && i + 1 < r->argc) {
            unit = u;
            o->flags |= SET_EX;
            o->exp_idx = ++i;
            o->exp_ms = u == 1 || u == 3;
            o->exp_abs = u >= 2;
        } else {
            addReplySyntaxError(r);
            return false;
        }
    }
    return true;
}

/* The expiry time of the options (0 when none). Replies the error and
 * returns false when the time is not valid. */
static bool setOptionsTime(request *r, const setopts *o, const char *cmdname, long long *at_ms) {
    *at_ms = 0;
    return !o->exp_idx || parseExpireTime(r, o->exp_idx, o->exp_ms, o->exp_abs, cmdname, at_ms);
}

/* SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL] */
void setCommand(request *r) {
    setopts o = {0};
    long long at;
    if (!parseSetOptions(r, 3, &o, false) || !setOptionsTime(r, &o, "set", &at)) return;
    int flags = o.flags;
    const char *key = r->argv[1];
    size_t klen = r->argvlen[1];
    if (!(flags & (SET_NX | SET_XX | SET_GET | SET_KEEPTTL))) {
        if (strSet(r, key, klen, r->argv[2], r->argvlen[2], at, false)) addReplyOK(r);
        return;
    }
    if (flags & SET_GET) {
        /* The old value is the reply; a failed write leaves only its error. */
        size_t mark = r->out->len;
        int rc = replyValue(r);
        if (rc < 0) return;
        bool do_set = !((flags & SET_NX) && rc == 1) && !((flags & SET_XX) && rc == 0);
        if (do_set && !strSet(r, key, klen, r->argv[2], r->argvlen[2], at, (flags & SET_KEEPTTL) != 0))
            discardDeferredReply(r, mark);
        return;
    }
    keyrow row;
    bool exists = keyLookup(r, r->db, key, klen, &row);
    if (((flags & SET_NX) && exists) || ((flags & SET_XX) && !exists)) {
        addReplyNull(r);
        return;
    }
    if (strSet(r, key, klen, r->argv[2], r->argvlen[2], at, (flags & SET_KEEPTTL) && exists)) addReplyOK(r);
}

static void setexGeneric(request *r, bool ms) {
    long long at;
    if (!parseExpireTime(r, 2, ms, false, ms ? "psetex" : "setex", &at)) return;
    if (strSet(r, r->argv[1], r->argvlen[1], r->argv[3], r->argvlen[3], at, false)) addReplyOK(r);
}

void setexCommand(request *r) { setexGeneric(r, false); }
void psetexCommand(request *r) { setexGeneric(r, true); }

void setnxCommand(request *r) {
    keyrow row;
    if (keyLookup(r, r->db, r->argv[1], r->argvlen[1], &row)) { addReplyLongLong(r, 0); return; }
    if (strSet(r, r->argv[1], r->argvlen[1], r->argv[2], r->argvlen[2], 0, false)) addReplyLongLong(r, 1);
}

/* GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST] */
void getexCommand(request *r) {
    setopts o = {0};
    long long at;
    if (!parseSetOptions(r, 2, &o, true)) return;
    strval v;
    int rc = strGet(r, 1, &v);
    if (rc == 0) addReplyNull(r);
    if (rc != 1) return;
    long long had = v.expires_at;
    if (!setOptionsTime(r, &o, "getex", &at)) { strDone(&v); return; }
    addReplyBulk(r, v.val, v.len);
    strDone(&v);
    const char *key = r->argv[1];
    size_t klen = r->argvlen[1];
    if (o.flags & SET_EX) {
        /* A time already past (EXAT/PXAT) deletes the key, as Redis: "del". */
        if (at <= r->now_ms) {
            if (keyDelete(r, r->db, key, klen)) notifyKeyspaceEvent(r, NOTIFY_GENERIC, "del", r->db, key, klen);
        } else if (keySetExpire(r, r->db, key, klen, at)) {
            notifyKeyspaceEvent(r, NOTIFY_GENERIC, "expire", r->db, key, klen);
        }
    } else if ((o.flags & SET_KEEPTTL) && had) { /* PERSIST: only a key with a TTL changes */
        if (keySetExpire(r, r->db, key, klen, 0)) notifyKeyspaceEvent(r, NOTIFY_GENERIC, "persist", r->db, key, klen);
    }
}

void getdelCommand(request *r) {
    if (replyValue(r) != 1) return;
    if (keyDelete(r, r->db, r->argv[1], r->argvlen[1]))
        notifyKeyspaceEvent(r, NOTIFY_GENERIC, "del", r->db, r->argv[1], r->argvlen[1]);
}

void getsetCommand(request *r) {
    size_t mark = r->out->len;
    if (replyValue(r) < 0) return;
    if (!strSet(r, r->argv[1], r->argvlen[1], r->argv[2], r->argvlen[2], 0, false)) discardDeferredReply(r, mark);
}

void mgetCommand(request *r) {
    addReplyArrayLen(r, r->argc - 1);
    reply scratch;
    replyInit(&scratch);
    for (int i = 1; i < r->argc; i++) {
        /* MGET answers null for a key of another type: run the lookup with
         * its WRONGTYPE reply sent to a scratch buffer. */
        request q = *r;
        q.out = &scratch;
        strval v;
        if (strGet(&q, i, &v) == 1) {
            addReplyBulk(r, v.val, v.len);
            strDone(&v);
        } else {
            addReplyNull(r);
        }
        replyReset(&scratch);
    }
    replyFree(&scratch);
}

void msetCommand(request *r) {
    if (r->argc % 2 == 0) { addReplyArityError(r); return; }
    for (int i = 1; i < r->argc; i += 2)
        if (!strSet(r, r->argv[i], r->argvlen[i], r->argv[i + 1], r->argvlen[i + 1], 0, false)) return;
    addReplyOK(r);
}

void msetnxCommand(request *r) {
    if (r->argc % 2 == 0) { addReplyArityError(r); return; }
    keyrow row;
    for (int i = 1; i < r->argc; i += 2)
        if (keyLookup(r, r->db, r->argv[i], r->argvlen[i], &row)) { addReplyLongLong(r, 0); return; }
    for (int i = 1; i < r->argc; i += 2)
        if (!strSet(r, r->argv[i], r->argvlen[i], r->argv[i + 1], r->argvlen[i + 1], 0, false)) return;
    addReplyLongLong(r, 1);
}

static void incrGeneric(request *r, long long by) {
    strval v;
    int rc = strGet(r, 1, &v);
    if (rc < 0) return;
    long long cur = 0;
    if (rc == 1) {
        bool ok = string2ll(v.val, v.len, &cur);
        strDone(&v);
        if (!ok) { addReplyError(r, ERR_NOT_INT); return; }
    }
    if (addOverflows(cur, by)) {
        addReplyError(r, ERR_OVERFLOW);
        return;
    }
    cur += by;
    char buf[32];
    int n = ll2string(buf, sizeof(buf), cur);
    if (strSetEnc(r, r->argv[1], r->argvlen[1], buf, (size_t)n, 0, true, ENC_BY_VALUE, "incrby")) addReplyLongLong(r, cur);
}

void incrCommand(request *r) { incrGeneric(r, 1); }
void decrCommand(request *r) { incrGeneric(r, -1); }

void incrbyCommand(request *r) {
    long long by;
    if (getLongLongArg(r, 2, &by, NULL)) incrGeneric(r, by);
}

void decrbyCommand(request *r) {
    long long by;
    if (!getLongLongArg(r, 2, &by, NULL)) return;
    if (by == LLONG_MIN) { addReplyError(r, "ERR decrement would overflow"); return; }
    incrGeneric(r, -by);
}

void incrbyfloatCommand(request *r) {
    long double by, cur = 0;
    /* Redis reads the key (WRONGTYPE), then its value, then the increment. */
    strval v;
    int rc = strGet(r, 1, &v);
    if (rc < 0) return;
    if (rc == 1) {
        bool ok = string2ld(v.val, v.len, &cur);
        strDone(&v);
        if (!ok) { addReplyError(r, ERR_NOT_FLOAT); return; }
    }
    if (!string2ld(r->argv[2], r->argvlen[2], &by)) { addReplyError(r, ERR_NOT_FLOAT); return; }
    cur += by;
    if (isnan(cur) || isinf(cur)) { addReplyError(r, "ERR increment would produce NaN or Infinity"); return; }
    char buf[5 * 1024];
    int n = ld2string(buf, sizeof(buf), cur);
    if (strSetEnc(r, r->argv[1], r->argvlen[1], buf, (size_t)n, 0, true, ENC_NOT_INT, "incrbyfloat")) addReplyBulk(r, buf, (size_t)n);
}

void appendCommand(request *r) {
    strval v;
    int rc = strGet(r, 1, &v);
    if (rc < 0) return;
    if (rc == 0) { /* a new key: still an "append" event, as Redis */
        if (strSetEnc(r, r->argv[1], r->argvlen[1], r->argv[2], r->argvlen[2], 0, false, ENC_BY_VALUE, "append"))
            addReplyLongLong(r, (long long)r->argvlen[2]);
        return;
    }
    size_t total = v.len + r->argvlen[2];
    if (!checkStringLength(r, (long long)total)) { strDone(&v); return; }
    char *buf = malloc(total ? total : 1);
    if (!buf) { strDone(&v); addReplyError(r, "ERR out of memory"); return; }
    memcpy(buf, v.val, v.len);
    memcpy(buf + v.len, r->argv[2], r->argvlen[2]);
    strDone(&v);
    if (strSetEnc(r, r->argv[1], r->argvlen[1], buf, total, 0, true, ENC_RAW, "append")) addReplyLongLong(r, (long long)total);
    free(buf);
}

void strlenCommand(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_STRLEN);
    if (!s) { storeFail(r, "strlen"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    long long len = 0;
    int type = OBJ_STRING;
    if (sqlite3_step(s) == SQLITE_ROW) {
        long long exp = sqlite3_column_int64(s, 2);
        if (!exp || exp > r->now_ms) {
            type = sqlite3_column_int(s, 0);
            len = sqlite3_column_int64(s, 1);
        }
    }
    stmtDone(s);
    if (type != OBJ_STRING) addReplyWrongType(r);
    else addReplyLongLong(r, len);
}

void getrangeCommand(request *r) {
    long long start, end;
    if (!getLongLongArg(r, 2, &start, NULL) || !getLongLongArg(r, 3, &end, NULL)) return;
    strval v;
    int rc = strGet(r, 1, &v);
    if (rc == 0) addReplyBulk(r, "", 0);
    if (rc != 1) return;
    long long len = (long long)v.len;
    if (start < 0 && end < 0 && start > end) { strDone(&v); addReplyBulk(r, "", 0); return; }
    if (start < 0) start += len;
    if (end < 0) end += len;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if (end >= len) end = len - 1;
    if (len == 0 || start > end) addReplyBulk(r, "", 0);
    else addReplyBulk(r, v.val + start, (size_t)(end - start + 1));
    strDone(&v);
}

void setrangeCommand(request *r) {
    long long offset;
    if (!getLongLongArg(r, 2, &offset, NULL)) return;
    if (offset < 0) { addReplyError(r, "ERR offset is out of range"); return; }
    size_t add = r->argvlen[3];
    strval v;
    int rc = strGet(r, 1, &v);
    if (rc < 0) return;
    size_t oldlen = rc == 1 ? v.len : 0;
    if (add == 0) {
        if (rc == 1) strDone(&v);
        addReplyLongLong(r, (long long)oldlen);
        return;
    }
    if (!checkStringLength(r, offset + (long long)add)) { if (rc == 1) strDone(&v); return; }
    size_t total = (size_t)offset + add > oldlen ? (size_t)offset + add : oldlen;
    char *buf = calloc(1, total);
    if (!buf) { if (rc == 1) strDone(&v); addReplyError(r, "ERR out of memory"); return; }
    if (rc == 1) { memcpy(buf, v.val, oldlen); strDone(&v); }
    memcpy(buf + offset, r->argv[3], add);
    if (strSetEnc(r, r->argv[1], r->argvlen[1], buf, total, 0, rc == 1, ENC_RAW, "setrange")) addReplyLongLong(r, (long long)total);
    free(buf);
}

#define W (CMD_WRITE | CMD_DENYOOM)
#define R (CMD_READONLY | CMD_FAST)
static const command string_commands[] = {
    {"get", getCommand, 2, R, 1, 1, 1, "string", "Returns the string value of a key.", "1.0.0", NULL},
    {"set", setCommand, -3, W, 1, 1, 1, "string", "Sets the string value of a key, ignoring its type.", "1.0.0", NULL},
    {"setex", setexCommand, 4, W, 1, 1, 1, "string", "Sets the string value and expiration time of a key.", "2.0.0", NULL},
    {"psetex", psetexCommand, 4, W, 1, 1, 1, "string", "Sets both string value and expiration time in milliseconds of a key.", "2.6.0", NULL},
    {"setnx", setnxCommand, 3, W | CMD_FAST, 1, 1, 1, "string", "Set the string value of a key only when the key doesn't exist.", "1.0.0", NULL},
    {"getex", getexCommand, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "Returns the string value of a key after setting its expiration time.", "6.2.0", NULL},
    {"getdel", getdelCommand, 2, CMD_WRITE | CMD_FAST, 1, 1, 1, "string", "Returns the string value of a key after deleting the key.", "6.2.0", NULL},
    {"getset", getsetCommand, 3, W | CMD_FAST, 1, 1, 1, "string", "Returns the previous string value of a key after setting it to a new value.", "1.0.0", NULL},
    {"mget", mgetCommand, -2, R, 1, -1, 1, "string", "Atomically returns the string values of one or more keys.", "1.0.0", NULL},
    {"mset", msetCommand, -3, W, 1, -1, 2, "string", "Atomically creates or modifies the string values of one or more keys.", "1.0.1", NULL},
    {"msetnx", msetnxCommand, -3, W, 1, -1, 2, "string", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "1.0.1", NULL},
    {"incr", incrCommand, 2, W | CMD_FAST, 1, 1, 1, "string", "Increments the integer value of a key by one.", "1.0.0", NULL},
    {"decr", decrCommand, 2, W | CMD_FAST, 1, 1, 1, "string", "Decrements the integer value of a key by one.", "1.0.0", NULL},
    {"incrby", incrbyCommand, 3, W | CMD_FAST, 1, 1, 1, "string", "Increments the integer value of a key by a number.", "1.0.0", NULL},
    {"decrby", decrbyCommand, 3, W | CMD_FAST, 1, 1, 1, "string", "Decrements a number from the integer value of a key.", "1.0.0", NULL},
    {"incrbyfloat", incrbyfloatCommand, 3, W | CMD_FAST, 1, 1, 1, "string", "Increment the floating point value of a key by a number.", "2.6.0", NULL},
    {"append", appendCommand, 3, W | CMD_FAST, 1, 1, 1, "string", "Appends a string to the value of a key.", "2.0.0", NULL},
    {"strlen", strlenCommand, 2, R, 1, 1, 1, "string", "Returns the length of a string value.", "2.2.0", NULL},
    {"getrange", getrangeCommand, 4, CMD_READONLY, 1, 1, 1, "string", "Returns a substring of the string stored at a key.", "2.4.0", NULL},
    {"substr", getrangeCommand, 4, CMD_READONLY, 1, 1, 1, "string", "Returns a substring from a string value.", "1.0.0", NULL},
    {"setrange", setrangeCommand, 4, W, 1, 1, 1, "string", "Overwrites a part of a string value with another by an offset.", "2.2.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void stringRegister(void) { commandRegisterTable(string_commands); }
