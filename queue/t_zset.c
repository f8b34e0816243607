/*
 * t_zset.c — sorted-set commands on one key: ZADD ZINCRBY ZREM ZSCORE
 * ZMSCORE ZCARD ZCOUNT ZLEXCOUNT ZRANK ZREVRANK, the ZRANGE family and
 * ZRANGESTORE, ZREMRANGEBY*, ZRANDMEMBER, ZSCAN. The multi-key algebra and
 * the pops (blocking ones too) are in t_zset_ops.c.
 *
 * Storage
 *   zset_members(id, member, score) WITHOUT ROWID, PRIMARY KEY(id, member)
 *   zset_by_score(id, score, member)   the skiplist: score order, then member
 *   keys.value                         the element count (ZCARD is O(1))
 * Members are BLOBs so SQLite orders equal scores by memcmp, exactly as
 * Redis does. Scores are REAL (NaN never gets in; +-inf do).
 *
 * Cost model: a score range is an index seek plus the rows it returns; a
 * rank range walks the index from the nearer end (O(offset + count)); ZRANK
 * counts the index entries before the member (O(rank)); ZPOP reads and
 * deletes from one end of the index. Exclusive score bounds become inclusive
 * ones with nextafter() and exclusive lex minimums become `x || 0x00` (the
 * next blob in memcmp order), so each query shape is one cached statement.
 * Lex ranges use the primary key (member order); as in Redis they are only
 * meaningful when all scores are equal.
 */
#include "t_set.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ZSET_SMALL 128 /* zset-max-listpack-entries: ZSCAN returns all at once */

static const char ZSET_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS zset_members(id INTEGER NOT NULL, member BLOB NOT NULL, score REAL NOT NULL,"
    " PRIMARY KEY(id, member)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS zset_by_score ON zset_members(id, score, member);"
    "CREATE TRIGGER IF NOT EXISTS zset_gc_delete AFTER DELETE ON keys WHEN old.type=3 BEGIN"
    " DELETE FROM zset_members WHERE id=old.id; END;";

static const char SQL_GET[] = "SELECT score FROM zset_members WHERE id=?1 AND member=?2";
static const char SQL_INSERT[] = "INSERT OR IGNORE INTO zset_members(id, member, score) VALUES(?1, ?2, ?3)";
static const char SQL_UPDATE[] = "UPDATE zset_members SET score=?3 WHERE id=?1 AND member=?2";
static const char SQL_UPDATE_CHANGED[] = "UPDATE zset_members SET score=?3 WHERE id=?1 AND member=?2 AND score<>?3";
static const char SQL_DELETE[] = "DELETE FROM zset_members WHERE id=?1 AND member=?2";
static const char SQL_SCORE_ONE[] =
    "SELECT k.type, k.expires_at, (SELECT z.score FROM zset_members z WHERE z.id=k.id AND z.member=?3) "
    "FROM keys k WHERE k.db=?1 AND k.key=?2";
static const char SQL_BEFORE[] = "SELECT count(*) FROM zset_members WHERE id=?1 AND (score, member) < (?2, ?3)";
static const char SQL_AFTER[] = "SELECT count(*) FROM zset_members WHERE id=?1 AND (score, member) > (?2, ?3)";
static const char SQL_BY_MEMBER[] = "SELECT member, score FROM zset_members WHERE id=?1 ORDER BY member LIMIT ?2 OFFSET ?3";
static const char SQL_ALL_BY_SCORE[] = "SELECT member, score FROM zset_members WHERE id=?1 ORDER BY score, member";

enum { Q_ASC, Q_DESC, Q_COUNT, Q_DEL };
enum { ZR_RANK, ZR_SCORE, ZR_LEX };

#define ZSEL "SELECT member, score FROM zset_members WHERE id=?1"
#define ZCNT "SELECT count(*) FROM zset_members WHERE id=?1"
#define ZDEL "DELETE FROM zset_members WHERE id=?1"
#define ZPAGE " LIMIT ?4 OFFSET ?5"
static const char *const SQL_RANK_Q[4] = {
    ZSEL " ORDER BY score, member" ZPAGE,
    ZSEL " ORDER BY score DESC, member DESC" ZPAGE,
    NULL,
    ZDEL " AND member IN (SELECT member FROM zset_members WHERE id=?1 ORDER BY score, member" ZPAGE ")",
};
#define ZS " AND score>=?2 AND score<=?3"
static const char *const SQL_SCORE_Q[4] = {
    ZSEL ZS " ORDER BY score, member" ZPAGE,
    ZSEL ZS " ORDER BY score DESC, member DESC" ZPAGE,
    ZCNT ZS,
    ZDEL ZS,
};
/* [max kind: none ('+'), <=, <][query] */
static const char *const SQL_LEX_Q[3][4] = {
    {ZSEL " AND member>=?2 ORDER BY member" ZPAGE, ZSEL " AND member>=?2 ORDER BY member DESC" ZPAGE,
     ZCNT " AND member>=?2", ZDEL " AND member>=?2"},
    {ZSEL " AND member>=?2 AND member<=?3 ORDER BY member" ZPAGE,
     ZSEL " AND member>=?2 AND member<=?3 ORDER BY member DESC" ZPAGE,
     ZCNT " AND member>=?2 AND member<=?3", ZDEL " AND member>=?2 AND member<=?3"},
    {ZSEL " AND member>=?2 AND member<?3 ORDER BY member" ZPAGE,
     ZSEL " AND member>=?2 AND member<?3 ORDER BY member DESC" ZPAGE,
     ZCNT " AND member>=?2 AND member<?3", ZDEL " AND member>=?2 AND member<?3"},
};

/* A parsed range: what ZRANGE, ZCOUNT, ZREMRANGEBY* work on. */
typedef struct zspec {
    int kind;
    bool empty;            /* provably no element (e.g. "(+inf" as min) */
    double smin, smax;     /* score: inclusive bounds */
    char *lo;              /* lex: inclusive lower bound (owned) */
    size_t lolen;
    const char *hi;        /* lex: upper bound, kind in hikind */
    size_t hilen;
    int hikind;            /* 0 none, 1 <=, 2 < */
    long long offset, limit; /* rows to skip and to return (-1 = all) */
} zspec;

static void zspecFree(zspec *z) {
    free(z->lo);
    z->lo = NULL;
}

/* Redis's zslParseRange: "(" for exclusive, strtod for the rest, no NaN. */
static bool parseScoreBound(const char *s, double *v, bool *ex) {
    *ex = s[0] == '(';
    if (*ex) s++;
    char *end;
    *v = strtod(s, &end);
    return *end == '\0' && !isnan(*v);
}

static bool parseScoreRange(request *r, int minidx, int maxidx, zspec *z) {
    bool minex, maxex;
    if (!parseScoreBound(r->argv[minidx], &z->smin, &minex) || !parseScoreBound(r->argv[maxidx], &z->smax, &maxex)) {
        addReplyError(r, "ERR min or max is not a float");
        return false;
    }
    z->kind = ZR_SCORE;
    if (minex) {
        if (z->smin == INFINITY) z->empty = true;
        else z->smin = nextafter(z->smin, INFINITY);
    }
    if (maxex) {
        if (z->smax == -INFINITY) z->empty = true;
        else z->smax = nextafter(z->smax, -INFINITY);
    }
    if (z->smin > z->smax) z->empty = true;
    return true;
}

/* Redis's zslParseLexRange: "-" "+" "[x" "(x". */
static bool parseLexRange(request *r, int minidx, int maxidx, zspec *z) {
    const char *a = r->argv[minidx], *b = r->argv[maxidx];
    size_t al = r->argvlen[minidx], bl = r->argvlen[maxidx];
    bool ok_a = al > 0 && (((a[0] == '+' || a[0] == '-') && al == 1) || a[0] == '(' || a[0] == '[');
    bool ok_b = bl > 0 && (((b[0] == '+' || b[0] == '-') && bl == 1) || b[0] == '(' || b[0] == '[');
    if (!ok_a || !ok_b) {
        addReplyError(r, "ERR min or max not valid string range item");
        return false;
    }
    z->kind = ZR_LEX;
    if (a[0] == '+' || b[0] == '-') z->empty = true;
    z->lo = malloc(al + 1);
    if (!z->lo) abort();
    z->lolen = 0;
    if (a[0] == '(' || a[0] == '[') {
        memcpy(z->lo, a + 1, al - 1);
        z->lolen = al - 1;
        if (a[0] == '(') z->lo[z->lolen++] = '\0'; /* the next blob after x */
    }
    if (b[0] == '+') z->hikind = 0;
    else if (b[0] != '-') {
        z->hikind = b[0] == '[' ? 1 : 2;
        z->hi = b + 1;
        z->hilen = bl - 1;
    }
    return true;
}

static sqlite3_stmt *zspecStmt(request *r, int64_t id, const zspec *z, int q) {
    const char *sql = z->kind == ZR_SCORE ? SQL_SCORE_Q[q] : z->kind == ZR_LEX ? SQL_LEX_Q[z->hikind][q] : SQL_RANK_Q[q];
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "range"); return NULL; }
    sqlite3_bind_int64(s, 1, id);
    if (z->kind == ZR_SCORE) {
        sqlite3_bind_double(s, 2, z->smin);
        sqlite3_bind_double(s, 3, z->smax);
    } else if (z->kind == ZR_LEX) {
        sqlite3_bind_blob(s, 2, z->lo, (int)z->lolen, SQLITE_STATIC);
        if (z->hikind) sqlite3_bind_blob(s, 3, z->hi ? z->hi : "", (int)z->hilen, SQLITE_STATIC);
    }
    if (sqlite3_bind_parameter_count(s) >= 5) {
        sqlite3_bind_int64(s, 4, z->limit);
        sqlite3_bind_int64(s, 5, z->offset);
    }
    return s;
}

/* ---- shared reply / store helpers (t_set.h) ------------------------------ */

void zsetEmitEntry(request *r, const void *m, size_t len, double score, bool withscores) {
    if (withscores && r->resp >= 3) addReplyArrayLen(r, 2);
    addReplyBulk(r, m, len);
    if (withscores) addReplyDouble(r, score);
}

void zsetEmitHeader(request *r, long n, bool withscores) {
    addReplyArrayLen(r, withscores && r->resp < 3 ? n * 2 : n);
}

static int zwrite(request *r, const char *sql, int64_t id, const void *m, size_t len, double score) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "zset"); return -1; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_blob(s, 2, m, (int)len, SQLITE_STATIC);
    if (sql != SQL_DELETE) sqlite3_bind_double(s, 3, score);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "zset"); return -1; }
    return sqlite3_changes(storeDb(r->st)) > 0;
}

int zsetScore(request *r, int64_t id, const void *m, size_t len, double *score) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_GET);
    if (!s) { storeFail(r, "zscore"); return -1; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_blob(s, 2, m, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *score = sqlite3_column_double(s, 0);
    stmtDone(s);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    storeFail(r, "zscore");
    return -1;
}

bool zsetStoreEntries(request *r, int dstidx, const szmap *m) {
    const char *dst = r->argv[dstidx];
    size_t dlen = r->argvlen[dstidx];
    bool replaced = keyDelete(r, r->db, dst, dlen);
    if (r->store_error) return false;
    if (m->n) {
        int64_t id = keyNewId(r);
        for (size_t i = 0; i < m->n; i++)
            if (zwrite(r, SQL_INSERT, id, m->e[i].m, m->e[i].len, m->e[i].score) < 0) return false;
        if (!keyCreate(r, r->db, dst, dlen, id, OBJ_ZSET, (long long)m->n, 0)) return false;
        keyTouched(r, r->db, dst, dlen);
        r->dirty++;
        /* The event is the command's name: zunionstore, zinterstore,
         * zdiffstore or zrangestore. */
        notifyKeyspaceEvent(r, NOTIFY_ZSET, r->cmd->name, r->db, dst, dlen);
    } else if (replaced) { /* an empty result deletes the destination */
        notifyKeyspaceEvent(r, NOTIFY_GENERIC, "del", r->db, dst, dlen);
    }
    addReplyLongLong(r, (long long)m->n);
    return true;
}

/* ---- ZADD / ZINCRBY / ZREM ----------------------------------------------- */

enum { ZADD_NX = 1, ZADD_XX = 2, ZADD_GT = 4, ZADD_LT = 8, ZADD_INCR = 16, ZADD_CH = 32 };

static void zaddGeneric(request *r, int flags) {
    int idx = 2;
    for (; idx < r->argc; idx++) {
        if (argIs(r, idx, "nx")) flags |= ZADD_NX;
        else if (argIs(r, idx, "xx")) flags |= ZADD_XX;
        else if (argIs(r, idx, "ch")) flags |= ZADD_CH;
        else if (argIs(r, idx, "incr")) flags |= ZADD_INCR;
        else if (argIs(r, idx, "gt")) flags |= ZADD_GT;
        else if (argIs(r, idx, "lt")) flags |= ZADD_LT;
        else break;
    }
    int elements = r->argc - idx;
    bool nx = flags & ZADD_NX, xx = flags & ZADD_XX, gt = flags & ZADD_GT, lt = flags & ZADD_LT;
    bool incr = flags & ZADD_INCR;
    if (elements % 2 || !elements) { addReplySyntaxError(r); return; }
    elements /= 2;
    if (nx && xx) { addReplyError(r, "ERR XX and NX options at the same time are not compatible"); return; }
    if ((gt && nx) || (lt && nx) || (gt && lt)) {
        addReplyError(r, "ERR GT, LT, and/or NX options at the same time are not compatible");
        return;
    }
    if (incr && elements > 1) { addReplyError(r, "ERR INCR option supports a single increment-element pair"); return; }
    double *scores = malloc(sizeof(double) * (size_t)elements);
    if (!scores) { addReplyError(r, "ERR out of memory"); return; }
    for (int j = 0; j < elements; j++)
        if (!string2d(r->argv[idx + 2 * j], r->argvlen[idx + 2 * j], &scores[j])) {
            addReplyError(r, ERR_NOT_FLOAT);
            free(scores);
            return;
        }
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    long long added = 0, updated = 0, processed = 0;
    double last = 0;
    if (found < 0) goto cleanup;
    if (!found && xx) goto reply;
    int64_t id = found ? k.id : keyNewId(r);
    /* Without INCR, GT, LT or NX the old score is not needed: an existing
     * member is re-scored by one UPDATE (one seek of the member, the score
     * index entry moved), a new one inserted after that UPDATE found
     * nothing — instead of a failed INSERT, a SELECT and the UPDATE. */
    bool blind = found && !nx && !incr && !gt && !lt;
    for (int j = 0; j < elements; j++) {
        const char *m = r->argv[idx + 2 * j + 1];
        size_t mlen = r->argvlen[idx + 2 * j + 1];
        double score = scores[j], cur;
        if (blind) {
            int rc = zwrite(r, SQL_UPDATE_CHANGED, id, m, mlen, score);
            if (rc < 0) goto cleanup;
            if (rc) { updated++; continue; }
            if (xx) continue; /* missing, or already at this score */
            if ((rc = zwrite(r, SQL_INSERT, id, m, mlen, score)) < 0) goto cleanup;
            added += rc;
            continue;
        }
        if (!xx) { /* the common case, a new member, costs one statement */
            int rc = zwrite(r, SQL_INSERT, id, m, mlen, score);
            if (rc < 0) goto cleanup;
            if (rc) { added++; processed++; last = score; continue; }
            if (nx) continue;
        }
        int rc = zsetScore(r, id, m, mlen, &cur);
        if (rc < 0) goto cleanup;
        if (!rc) continue; /* XX and missing */
        if (incr) {
            score += cur;
            if (isnan(score)) { addReplyError(r, "ERR resulting score is not a number (NaN)"); goto cleanup; }
        }
        if ((lt && score >= cur) || (gt && score <= cur)) continue;
        processed++;
        last = score;
        if (score != cur) {
            if (zwrite(r, SQL_UPDATE, id, m, mlen, score) < 0) goto cleanup;
            updated++;
        }
    }
    if (added && !(found ? keySetCount(r, r->db, r->argv[1], r->argvlen[1], k.count + added)
                         : keyCreate(r, r->db, r->argv[1], r->argvlen[1], id, OBJ_ZSET, added, 0))) goto cleanup;
    if (added || updated) {
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        notifyKeyspaceEvent(r, NOTIFY_ZSET, (flags & ZADD_INCR) ? "zincr" : "zadd", r->db, r->argv[1], r->argvlen[1]);
        r->dirty += (int)(added + updated);
    }
reply:
    if (incr) {
        if (processed) addReplyDouble(r, last);
        else addReplyNull(r);
    } else {
        addReplyLongLong(r, (flags & ZADD_CH) ? added + updated : added);
    }
cleanup:
    free(scores);
}

static void zaddCommand(request *r) { zaddGeneric(r, 0); }
static void zincrbyCommand(request *r) { zaddGeneric(r, ZADD_INCR); }

static void zremCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found <= 0) { if (found == 0) addReplyLongLong(r, 0); return; }
    long long deleted = 0;
    for (int i = 2; i < r->argc && deleted < k.count; i++) {
        int rc = zwrite(r, SQL_DELETE, k.id, r->argv[i], r->argvlen[i], 0);
        if (rc < 0) return;
        deleted += rc;
    }
    if (deleted) {
        notifyKeyspaceEvent(r, NOTIFY_ZSET, "zrem", r->db, r->argv[1], r->argvlen[1]);
        if (!keySetCount(r, r->db, r->argv[1], r->argvlen[1], k.count - deleted)) return;
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        r->dirty += (int)deleted;
    }
    addReplyLongLong(r, deleted);
}

/* ---- point reads ------------------------------------------------------- */

/* ZSCORE key member: the key and the score in one statement. */
static void zscoreCommand(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_SCORE_ONE);
    if (!s) { storeFail(r, "zscore"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    int rc = sqlite3_step(s), type = OBJ_ZSET;
    bool has = false;
    double score = 0;
    if (rc == SQLITE_ROW) {
        long long exp = sqlite3_column_int64(s, 1);
        if (!exp || exp > r->now_ms) {
            type = sqlite3_column_int(s, 0);
            has = sqlite3_column_type(s, 2) != SQLITE_NULL;
            score = sqlite3_column_double(s, 2);
        }
    }
    stmtDone(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) storeFail(r, "zscore");
    else if (type != OBJ_ZSET) addReplyWrongType(r);
    else if (has) addReplyDouble(r, score);
    else addReplyNull(r);
}

static void zmscoreCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found < 0) return;
    size_t mark = r->out->len;
    addReplyArrayLen(r, r->argc - 2);
    for (int i = 2; i < r->argc; i++) {
        double score;
        int rc = found ? zsetScore(r, k.id, r->argv[i], r->argvlen[i], &score) : 0;
        if (rc < 0) { discardDeferredReply(r, mark); return; }
        if (rc) addReplyDouble(r, score);
        else addReplyNull(r);
    }
}

static void zcardCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found >= 0) addReplyLongLong(r, found ? k.count : 0);
}

/* ZCOUNT / ZLEXCOUNT key min max */
static void zcountGeneric(request *r, bool lex) {
    zspec z = {0};
    if (!(lex ? parseLexRange(r, 2, 3, &z) : parseScoreRange(r, 2, 3, &z))) return;
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found >= 0) {
        long long n = 0;
        if (found && !z.empty) {
            sqlite3_stmt *s = zspecStmt(r, k.id, &z, Q_COUNT);
            if (s) {
                if (sqlite3_step(s) == SQLITE_ROW) n = sqlite3_column_int64(s, 0);
                stmtDone(s);
            }
        }
        if (!r->store_error) addReplyLongLong(r, n);
    }
    zspecFree(&z);
}

static void zcountCommand(request *r) { zcountGeneric(r, false); }
static void zlexcountCommand(request *r) { zcountGeneric(r, true); }

/* ZRANK / ZREVRANK key member [WITHSCORE] */
static void zrankGeneric(request *r, bool rev) {
    if (r->argc > 4) { addReplyArityError(r); return; }
    bool withscore = r->argc == 4;
    if (withscore && !argIs(r, 3, "withscore")) { addReplySyntaxError(r); return; }
    keyrow k;
    double score = 0;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found > 0) found = zsetScore(r, k.id, r->argv[2], r->argvlen[2], &score);
    if (found < 0) return;
    if (found == 0) {
        if (withscore) addReplyNullArray(r);
        else addReplyNull(r);
        return;
    }
    sqlite3_stmt *s = stmtGet(r->st, rev ? SQL_AFTER : SQL_BEFORE);
    if (!s) { storeFail(r, "zrank"); return; }
    sqlite3_bind_int64(s, 1, k.id);
    sqlite3_bind_double(s, 2, score);
    sqlite3_bind_blob(s, 3, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    bool ok = sqlite3_step(s) == SQLITE_ROW;
    long long rank = ok ? sqlite3_column_int64(s, 0) : 0;
    stmtDone(s);
    if (!ok) { storeFail(r, "zrank"); return; }
    if (withscore) addReplyArrayLen(r, 2);
    addReplyLongLong(r, rank);
    if (withscore) addReplyDouble(r, score);
}

static void zrankCommand(request *r) { zrankGeneric(r, false); }
static void zrevrankCommand(request *r) { zrankGeneric(r, true); }

/* ---- ZRANGE family ------------------------------------------------------ */

enum { DIR_AUTO, DIR_FWD, DIR_REV };

/* Run a parsed range against set k: reply (or, when store, collect into m). */
static bool zrangeRun(request *r, const keyrow *k, zspec *z, bool rev, bool withscores, szmap *store) {
    if (z->kind == ZR_RANK) {
        long long start = z->offset, end = z->limit, llen = k->count;
        if (start < 0) start += llen;
        if (end < 0) end += llen;
        if (start < 0) start = 0;
        if (start > end || start >= llen) z->empty = true;
        if (end >= llen) end = llen - 1;
        z->offset = start;
        z->limit = end - start + 1;
    } else if (z->offset < 0 || (z->offset > 0 && z->offset >= k->count)) {
        z->empty = true;
    }
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    if (!z->empty) {
        sqlite3_stmt *s = zspecStmt(r, k->id, z, rev ? Q_DESC : Q_ASC);
        if (!s) return false;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            size_t len;
            const void *m = stmtColumnBlob(s, 0, &len);
            double score = sqlite3_column_double(s, 1);
            if (store) {
                bool added;
                szmapAdd(store, m, len, &added)->score = score;
            } else {
                zsetEmitEntry(r, m, len, score, withscores);
            }
            n++;
        }
        stmtDone(s);
        if (rc != SQLITE_DONE) {
            storeFail(r, "zrange");
            discardDeferredReply(r, mark);
            return false;
        }
    }
    if (!store) setDeferredArrayLen(r, mark, withscores && r->resp < 3 ? n * 2 : n); /* as zsetEmitHeader */
    return true;
}

/* Redis's zrangeGenericCommand: argv[start] is the source key, followed by
 * min max and the options. */
static void zrangeGeneric(request *r, int start, bool store, int kind, int dir) {
    int minidx = start + 1, maxidx = start + 2;
    bool withscores = false;
    zspec z = {0};
    z.limit = -1;
    bool has_limit = false;
    for (int j = start + 3; j < r->argc; j++) {
        int left = r->argc - j - 1;
        if (!store && argIs(r, j, "withscores")) withscores = true;
        else if (argIs(r, j, "limit") && left >= 2) {
            if (!getLongLongArg(r, j + 1, &z.offset, NULL) || !getLongLongArg(r, j + 2, &z.limit, NULL)) return;
            has_limit = true;
            j += 2;
        } else if (dir == DIR_AUTO && argIs(r, j, "rev")) dir = DIR_REV;
        else if (kind < 0 && argIs(r, j, "bylex")) kind = ZR_LEX;
        else if (kind < 0 && argIs(r, j, "byscore")) kind = ZR_SCORE;
        else { addReplySyntaxError(r); return; }
    }
    if (kind < 0) kind = ZR_RANK;
    bool rev = dir == DIR_REV;
    if (has_limit && kind == ZR_RANK) {
        addReplyError(r, "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && kind == ZR_LEX) {
        addReplyError(r, "ERR syntax error, WITHSCORES not supported in combination with BYLEX");
        return;
    }
    if (rev && kind != ZR_RANK) { int t = minidx; minidx = maxidx; maxidx = t; }
    if (kind == ZR_RANK) {
        if (!getLongLongArg(r, minidx, &z.offset, NULL) || !getLongLongArg(r, maxidx, &z.limit, NULL)) return;
    } else if (!(kind == ZR_SCORE ? parseScoreRange(r, minidx, maxidx, &z) : parseLexRange(r, minidx, maxidx, &z))) {
        return;
    }
    keyrow k;
    szmap m = {0};
    int found = lookupTyped(r, start, OBJ_ZSET, &k);
    if (found == 0 && store) zsetStoreEntries(r, 1, &m);
    else if (found == 0) addReplyArrayLen(r, 0);
    else if (found > 0 && zrangeRun(r, &k, &z, rev, withscores, store ? &m : NULL) && store)
        zsetStoreEntries(r, 1, &m);
    szmapFree(&m);
    zspecFree(&z);
}

static void zrangeCommand(request *r) { zrangeGeneric(r, 1, false, -1, DIR_AUTO); }
static void zrangestoreCommand(request *r) { zrangeGeneric(r, 2, true, -1, DIR_AUTO); }
static void zrevrangeCommand(request *r) { zrangeGeneric(r, 1, false, ZR_RANK, DIR_REV); }
static void zrangebyscoreCommand(request *r) { zrangeGeneric(r, 1, false, ZR_SCORE, DIR_FWD); }
static void zrevrangebyscoreCommand(request *r) { zrangeGeneric(r, 1, false, ZR_SCORE, DIR_REV); }
static void zrangebylexCommand(request *r) { zrangeGeneric(r, 1, false, ZR_LEX, DIR_FWD); }
static void zrevrangebylexCommand(request *r) { zrangeGeneric(r, 1, false, ZR_LEX, DIR_REV); }

/* ZREMRANGEBYRANK / BYSCORE / BYLEX key min max */
static void zremrangeGeneric(request *r, int kind) {
    zspec z = {0};
    if (kind == ZR_RANK) {
        if (!getLongLongArg(r, 2, &z.offset, NULL) || !getLongLongArg(r, 3, &z.limit, NULL)) return;
        z.kind = ZR_RANK;
    } else if (!(kind == ZR_SCORE ? parseScoreRange(r, 2, 3, &z) : parseLexRange(r, 2, 3, &z))) {
        return;
    }
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found <= 0) { if (found == 0) addReplyLongLong(r, 0); goto done; }
    if (kind == ZR_RANK) {
        long long start = z.offset, end = z.limit, llen = k.count;
        if (start < 0) start += llen;
        if (end < 0) end += llen;
        if (start < 0) start = 0;
        if (start > end || start >= llen) z.empty = true;
        if (end >= llen) end = llen - 1;
        z.offset = start;
        z.limit = end - start + 1;
    }
    long long deleted = 0;
    if (!z.empty) {
        sqlite3_stmt *s = zspecStmt(r, k.id, &z, Q_DEL);
        if (!s) goto done;
        int rc = sqlite3_step(s);
        stmtDone(s);
        if (rc != SQLITE_DONE) { storeFail(r, "zremrange"); goto done; }
        deleted = sqlite3_changes(storeDb(r->st));
    }
    if (deleted) {
        static const char *const events[] = {[ZR_RANK] = "zremrangebyrank", [ZR_SCORE] = "zremrangebyscore",
                                             [ZR_LEX] = "zremrangebylex"};
        /* before the count, which deletes an emptied key ("del" comes second) */
        notifyKeyspaceEvent(r, NOTIFY_ZSET, events[kind], r->db, r->argv[1], r->argvlen[1]);
        if (!keySetCount(r, r->db, r->argv[1], r->argvlen[1], k.count - deleted)) goto done;
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        r->dirty += (int)deleted;
    }
    addReplyLongLong(r, deleted);
done:
    zspecFree(&z);
}

static void zremrangebyrankCommand(request *r) { zremrangeGeneric(r, ZR_RANK); }
static void zremrangebyscoreCommand(request *r) { zremrangeGeneric(r, ZR_SCORE); }
static void zremrangebylexCommand(request *r) { zremrangeGeneric(r, ZR_LEX); }

/* ---- ZRANDMEMBER / ZSCAN ------------------------------------------------- */

/* Load members ordered by member (ZSCAN pages) or all by score into m. */
static bool zload(request *r, int64_t id, const char *sql, long long limit, long long offset, szmap *m) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) return storeFail(r, "zset");
    sqlite3_bind_int64(s, 1, id);
    if (sql == SQL_BY_MEMBER) {
        sqlite3_bind_int64(s, 2, limit);
        sqlite3_bind_int64(s, 3, offset);
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const void *p = stmtColumnBlob(s, 0, &len);
        bool added;
        szmapAdd(m, p, len, &added)->score = sqlite3_column_double(s, 1);
    }
    stmtDone(s);
    return rc == SQLITE_DONE ? true : storeFail(r, "zset");
}

static void zrandmemberCommand(request *r) {
    long long count = 1;
    bool with_count = r->argc >= 3, withscores = false;
    if (with_count) {
        if (!getLongLongArg(r, 2, &count, NULL)) return;
        if (count < -INT64_MAX) {
            addReplyError(r, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
        if (r->argc > 4 || (r->argc == 4 && !argIs(r, 3, "withscores"))) { addReplySyntaxError(r); return; }
        if (r->argc == 4) {
            withscores = true;
            if (count < -INT64_MAX / 2 || count > INT64_MAX / 2) { addReplyError(r, "ERR value is out of range"); return; }
        }
    }
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found < 0) return;
    if (!found || count == 0) {
        if (with_count) addReplyArrayLen(r, 0);
        else addReplyNull(r);
        return;
    }
    if (!with_count || count == 1 || count == -1) { /* one random rank */
        szmap one = {0};
        if (zload(r, k.id, SQL_BY_MEMBER, 1, (long long)(serverRandom() % (uint64_t)k.count), &one) && one.n) {
            if (with_count) zsetEmitHeader(r, 1, withscores);
            zsetEmitEntry(r, one.e[0].m, one.e[0].len, one.e[0].score, withscores);
        }
        szmapFree(&one);
        return;
    }
    if (count < 0 && !checkRandomRepeats(r, (unsigned long long)-count)) return;
    szmap all = {0};
    if (!zload(r, k.id, SQL_ALL_BY_SCORE, 0, 0, &all)) { szmapFree(&all); return; }
    size_t n = all.n;
    if (n == 0) { addReplyArrayLen(r, 0); szmapFree(&all); return; }
    if (count < 0) { /* repeats allowed, random order */
        zsetEmitHeader(r, (long)-count, withscores);
        for (long long i = 0; i < -count; i++) {
            szentry *e = &all.e[serverRandom() % n];
            zsetEmitEntry(r, e->m, e->len, e->score, withscores);
        }
    } else {
        size_t want = (unsigned long long)count < n ? (size_t)count : n;
        for (size_t i = 0; i < want && want < n; i++) { /* partial Fisher-Yates */
            size_t j = i + (size_t)(serverRandom() % (n - i));
            szentry t = all.e[i];
            all.e[i] = all.e[j];
            all.e[j] = t;
        }
        zsetEmitHeader(r, (long)want, withscores);
        for (size_t i = 0; i < want; i++) zsetEmitEntry(r, all.e[i].m, all.e[i].len, all.e[i].score, withscores);
    }
    szmapFree(&all);
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count]. Small sets come back whole
 * (cursor 0), as from Redis's listpack; larger ones page through member
 * order and the cursor is the number of members already walked. */
static void zscanCommand(request *r) {
    unsigned long long cursor;
    if (!parseScanCursor(r, 2, &cursor)) return;
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_ZSET, &k);
    if (found < 0) return;
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;
    if (found && !szParseScanOptions(r, &count, &pat, &plen)) return;
    szmap m = {0};
    unsigned long long next = 0;
    if (found && k.count <= ZSET_SMALL) {
        if (!zload(r, k.id, SQL_ALL_BY_SCORE, 0, 0, &m)) goto done;
    } else if (found && cursor < (unsigned long long)k.count) {
        if (!zload(r, k.id, SQL_BY_MEMBER, count, (long long)cursor, &m)) goto done;
        if ((long long)m.n == count && cursor + (unsigned long long)count < (unsigned long long)k.count)
            next = cursor + (unsigned long long)count;
    }
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    for (size_t i = 0; i < m.n; i++) {
        if (pat && !stringmatchlen(pat, plen, m.e[i].m, m.e[i].len, false)) continue;
        char sbuf[64];
        int sl = d2string(sbuf, sizeof(sbuf), m.e[i].score);
        addReplyBulk(r, m.e[i].m, m.e[i].len);
        addReplyBulk(r, sbuf, (size_t)sl);
        n += 2;
    }
    setDeferredScanReply(r, mark, (long long)next, n);
done:
    szmapFree(&m);
}

#define W (CMD_WRITE | CMD_DENYOOM)
#define RO CMD_READONLY
#define R (CMD_READONLY | CMD_FAST)
static const command zset_commands[] = {
    {"zadd", zaddCommand, -4, W | CMD_FAST, 1, 1, 1, "sorted_set", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "1.2.0", NULL},
    {"zincrby", zincrbyCommand, 4, W | CMD_FAST, 1, 1, 1, "sorted_set", "Increments the score of a member in a sorted set.", "1.2.0", NULL},
    {"zrem", zremCommand, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "sorted_set", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "1.2.0", NULL},
    {"zscore", zscoreCommand, 3, R, 1, 1, 1, "sorted_set", "Returns the score of a member in a sorted set.", "1.2.0", NULL},
    {"zmscore", zmscoreCommand, -3, R, 1, 1, 1, "sorted_set", "Returns the score of one or more members in a sorted set.", "6.2.0", NULL},
    {"zcard", zcardCommand, 2, R, 1, 1, 1, "sorted_set", "Returns the number of members in a sorted set.", "1.2.0", NULL},
    {"zcount", zcountCommand, 4, R, 1, 1, 1, "sorted_set", "Returns the count of members in a sorted set that have scores within a range.", "2.0.0", NULL},
    {"zlexcount", zlexcountCommand, 4, R, 1, 1, 1, "sorted_set", "Returns the number of members in a sorted set within a lexicographical range.", "2.8.9", NULL},
    {"zrank", zrankCommand, -3, R, 1, 1, 1, "sorted_set", "Returns the index of a member in a sorted set ordered by ascending scores.", "2.0.0", NULL},
    {"zrevrank", zrevrankCommand, -3, R, 1, 1, 1, "sorted_set", "Returns the index of a member in a sorted set ordered by descending scores.", "2.0.0", NULL},
    {"zrange", zrangeCommand, -4, RO, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of indexes.", "1.2.0", NULL},
    {"zrangestore", zrangestoreCommand, -5, W, 1, 2, 1, "sorted_set", "Stores a range of members from sorted set in a key.", "6.2.0", NULL},
    {"zrevrange", zrevrangeCommand, -4, RO, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of indexes in reverse order.", "1.2.0", NULL},
    {"zrangebyscore", zrangebyscoreCommand, -4, RO, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of scores.", "1.0.5", NULL},
    {"zrevrangebyscore", zrevrangebyscoreCommand, -4, RO, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a range of scores in reverse order.", "2.2.0", NULL},
    {"zrangebylex", zrangebylexCommand, -4, RO, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a lexicographical range.", "2.8.9", NULL},
    {"zrevrangebylex", zrevrangebylexCommand, -4, RO, 1, 1, 1, "sorted_set", "Returns members in a sorted set within a lexicographical range in reverse order.", "2.8.9", NULL},
    {"zremrangebyrank", zremrangebyrankCommand, 4, CMD_WRITE, 1, 1, 1, "sorted_set", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "2.0.0", NULL},
    {"zremrangebyscore", zremrangebyscoreCommand, 4, CMD_WRITE, 1, 1, 1, "sorted_set", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "1.2.0", NULL},
    {"zremrangebylex", zremrangebylexCommand, 4, CMD_WRITE, 1, 1, 1, "sorted_set", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "2.8.9", NULL},
    {"zrandmember", zrandmemberCommand, -2, RO, 1, 1, 1, "sorted_set", "Returns one or more random members from a sorted set.", "6.2.0", NULL},
    {"zscan", zscanCommand, -3, RO, 1, 1, 1, "sorted_set", "Iterates over members and scores of a sorted set.", "2.8.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* OBJECT ENCODING: Redis keeps a sorted set in a listpack while it has at
 * most zset-max-listpack-entries (128) members of at most
 * zset-max-listpack-value (64) bytes, else in a skiplist (and, unlike this
 * answer from the current contents, never converts back). */
static const char *zsetEncoding(request *r, int64_t id, long long count, int enc) {
    (void)enc;
    long long longest = 0;
    if (count > 128) return "skiplist";
    if (!storeIdScalar(r, "SELECT max(length(member)) FROM zset_members WHERE id=?1", id, &longest)) return NULL;
    return longest <= 64 ? "listpack" : "skiplist";
}

void zsetRegister(void) {
    storeRegisterSchema(ZSET_SCHEMA);
    storeRegisterCopy(OBJ_ZSET,
                      "INSERT INTO zset_members(id, member, score) SELECT ?2, member, score FROM zset_members WHERE id=?1");
    storeRegisterEncoding(OBJ_ZSET, zsetEncoding);
    commandRegisterTable(zset_commands);
    zsetOpsRegister();
}
