/*
 * t_zset_ops.c — the sorted-set algebra (ZUNION ZINTER ZDIFF, their STORE
 * forms, ZINTERCARD), the pops (ZPOPMIN/MAX, ZMPOP and the blocking BZPOPMIN
 * BZPOPMAX BZMPOP), and the in-memory member map the set and sorted-set
 * algebra share (t_set.h).
 *
 * Algebra: Redis's algorithms over SQL. Inputs may be sorted sets or plain
 * sets (score 1). Sources are sorted by cardinality (stable, except for
 * ZDIFF) so scores aggregate in the same order and so give the same doubles;
 * ZINTER walks the smallest source and probes the others by primary key;
 * ZUNION folds every source into the member map; ZDIFF walks the first
 * source and probes the rest. The result is sorted by (score, member) in
 * memory for the reply, or written under a fresh key id for the STORE forms
 * (so a destination that is also a source is read before it is replaced).
 *
 * Pops read the n first (or last) entries of the score index and delete the
 * same entries with one statement. A blocking pop that finds nothing calls
 * requestBlock(); the writer re-runs it in the batch that touches one of its
 * keys (a key of another type then counts as empty, as for lists). Inside
 * MULTI it answers the timeout reply (null array) at once.
 */
#include "t_set.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char SQL_Z_ALL[] = "SELECT member, score FROM zset_members WHERE id=?1";
static const char SQL_S_ALL[] = "SELECT member, 1.0 FROM set_members WHERE id=?1";

/* ---- member map (t_set.h) ---------------------------------------------- */

static void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) abort();
    return q;
}

static void szmapRehash(szmap *m, size_t nslots) {
    uint32_t *slots = xrealloc(NULL, nslots * sizeof(uint32_t));
    memset(slots, 0, nslots * sizeof(uint32_t));
    for (size_t i = 0; i < m->n; i++) {
        size_t j = m->e[i].h & (nslots - 1);
        while (slots[j]) j = (j + 1) & (nslots - 1);
        slots[j] = (uint32_t)(i + 1);
    }
    free(m->slots);
    m->slots = slots;
    m->nslots = nslots;
}

szentry *szmapFind(const szmap *m, const void *p, size_t len) {
    if (!m->nslots) return NULL;
    uint64_t h = (uint64_t)setMemberHash(p, len);
    for (size_t j = h & (m->nslots - 1); m->slots[j]; j = (j + 1) & (m->nslots - 1)) {
        szentry *e = &m->e[m->slots[j] - 1];
        if (e->h == h && e->len == len && memcmp(e->m, p, len) == 0) return e;
    }
    return NULL;
}

szentry *szmapAdd(szmap *m, const void *p, size_t len, bool *added) {
    if ((m->n + 1) * 2 > m->nslots) szmapRehash(m, m->nslots ? m->nslots * 2 : 64);
    uint64_t h = (uint64_t)setMemberHash(p, len);
    size_t j = h & (m->nslots - 1);
    for (; m->slots[j]; j = (j + 1) & (m->nslots - 1)) {
        szentry *e = &m->e[m->slots[j] - 1];
        if (e->h == h && e->len == len && memcmp(e->m, p, len) == 0) {
            *added = false;
            return e;
        }
    }
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 16;
        m->e = xrealloc(m->e, m->cap * sizeof(szentry));
    }
    szentry *e = &m->e[m->n];
    e->m = xrealloc(NULL, len);
    memcpy(e->m, p, len);
    e->len = len;
    e->h = h;
    e->score = 0;
    m->slots[j] = (uint32_t)(++m->n);
    *added = true;
    return e;
}

void szmapFree(szmap *m) {
    for (size_t i = 0; i < m->n; i++) free(m->e[i].m);
    free(m->e);
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

static int entryCmp(const void *a, const void *b) {
    const szentry *x = a, *y = b;
    if (x->score < y->score) return -1;
    if (x->score > y->score) return 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->m, y->m, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

void szmapSortByScore(szmap *m) {
    free(m->slots);
    m->slots = NULL;
    m->nslots = 0;
    if (m->n > 1) qsort(m->e, m->n, sizeof(szentry), entryCmp);
}

/* ---- algebra ------------------------------------------------------------- */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct zsrc {
    keyrow k;     /* id 0 = missing (empty) */
    double weight;
} zsrc;

static void aggregate(double *target, double val, int agg) {
    if (agg == AGG_SUM) {
        *target = *target + val;
        if (isnan(*target)) *target = 0.0; /* inf + -inf */
    } else if (agg == AGG_MIN) {
        *target = val < *target ? val : *target;
    } else {
        *target = val > *target ? val : *target;
    }
}

/* Score of member m in source src: 1 found, 0 not, -1 error. */
static int srcFind(request *r, const zsrc *src, const void *m, size_t len, double *score) {
    if (!src->k.id) return 0;
    if (src->k.type == OBJ_SET) {
        *score = 1.0;
        return setHasMember(r, src->k.id, m, len);
    }
    return zsetScore(r, src->k.id, m, len, score);
}

static sqlite3_stmt *srcIter(request *r, const zsrc *src) {
    sqlite3_stmt *s = stmtGet(r->st, src->k.type == OBJ_SET ? SQL_S_ALL : SQL_Z_ALL);
    if (!s) { storeFail(r, "zsetop"); return NULL; }
    sqlite3_bind_int64(s, 1, src->k.id);
    return s;
}

/* Walk srcs[0]; for INTER keep members found in every other source (scores
 * aggregated), for DIFF those found in none. card_only counts up to limit. */
static bool walkFirst(request *r, zsrc *srcs, int n, int op, int agg, szmap *out, bool card_only,
                      long long limit, long long *count) {
    sqlite3_stmt *s = srcIter(r, &srcs[0]);
    if (!s) return false;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const void *m = stmtColumnBlob(s, 0, &len);
        double zscore = sqlite3_column_double(s, 1);
        double score = op == OP_INTER ? srcs[0].weight * zscore : zscore;
        if (isnan(score)) score = 0;
        int j = 1;
        for (; j < n; j++) {
            double value;
            int found;
            if (srcs[j].k.id == srcs[0].k.id) {
                found = 1;
                value = zscore;
            } else {
                found = srcFind(r, &srcs[j], m, len, &value);
                if (found < 0) { stmtDone(s); return false; }
            }
            if (op == OP_DIFF) {
                if (found) break;
                continue;
            }
            if (!found) break;
            aggregate(&score, value * srcs[j].weight, agg);
        }
        if (j < n) continue;
        if (card_only) {
            if (++*count == limit) break;
            continue;
        }
        bool added;
        szmapAdd(out, m, len, &added)->score = score;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return storeFail(r, "zsetop");
    return true;
}

static bool foldUnion(request *r, zsrc *srcs, int n, int agg, szmap *out) {
    for (int i = 0; i < n; i++) {
        if (!srcs[i].k.id) continue;
        sqlite3_stmt *s = srcIter(r, &srcs[i]);
        if (!s) return false;
        int rc;
        while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
            size_t len;
            const void *m = stmtColumnBlob(s, 0, &len);
            double score = srcs[i].weight * sqlite3_column_double(s, 1);
            if (isnan(score)) score = 0;
            bool added;
            szentry *e = szmapAdd(out, m, len, &added);
            if (added) e->score = score;
            else aggregate(&e->score, score, agg);
        }
        stmtDone(s);
        if (rc != SQLITE_DONE) return storeFail(r, "zunion");
    }
    return true;
}

/* Redis's zunionInterDiffGenericCommand. numkeys_idx: 1 for the reply
 * forms, 2 for the STORE forms (argv[1] is the destination). */
static void zsetopGeneric(request *r, int numkeys_idx, bool store, int op, bool card_only) {
    long long setnum;
    if (!getLongLongArg(r, numkeys_idx, &setnum, NULL)) return;
    if (setnum < 1) {
        addReplyErrorFormat(r, "ERR at least 1 input key is needed for '%s' command", r->cmd->name);
        return;
    }
    if (setnum > r->argc - (numkeys_idx + 1)) { addReplySyntaxError(r); return; }
    int n = (int)setnum;
    zsrc *srcs = calloc((size_t)n, sizeof(zsrc));
    if (!srcs) { addReplyError(r, "ERR out of memory"); return; }
    szmap out = {0};
    int j = numkeys_idx + 1;
    for (int i = 0; i < n; i++, j++) {
        int rc = keyLookupTyped(r, r->db, r->argv[j], r->argvlen[j], OBJ_ANY, &srcs[i].k);
        if (rc < 0) goto done;
        if (rc > 0 && srcs[i].k.type != OBJ_ZSET && srcs[i].k.type != OBJ_SET) { addReplyWrongType(r); goto done; }
        if (rc == 0) srcs[i].k = (keyrow){.type = OBJ_ZSET};
        srcs[i].weight = 1.0;
    }
    int agg = AGG_SUM;
    bool withscores = false;
    long long limit = 0;
    while (j < r->argc) {
        int remaining = r->argc - j;
        if (op != OP_DIFF && !card_only && remaining >= n + 1 && argIs(r, j, "weights")) {
            j++;
            for (int i = 0; i < n; i++, j++)
                if (!string2d(r->argv[j], r->argvlen[j], &srcs[i].weight)) {
                    addReplyError(r, "ERR weight value is not a float");
                    goto done;
                }
        } else if (op != OP_DIFF && !card_only && remaining >= 2 && argIs(r, j, "aggregate")) {
            j++;
            if (argIs(r, j, "sum")) agg = AGG_SUM;
            else if (argIs(r, j, "min")) agg = AGG_MIN;
            else if (argIs(r, j, "max")) agg = AGG_MAX;
            else { addReplySyntaxError(r); goto done; }
            j++;
        } else if (!store && !card_only && argIs(r, j, "withscores")) {
            j++;
            withscores = true;
        } else if (card_only && remaining >= 2 && argIs(r, j, "limit")) {
            if (!getPositiveLongArg(r, j + 1, &limit, "ERR LIMIT can't be negative")) goto done;
            j += 2;
        } else {
            addReplySyntaxError(r);
            goto done;
        }
    }
    if (op != OP_DIFF) { /* smallest first, stable, as Redis's qsort does in practice */
        for (int a = 1; a < n; a++) {
            zsrc t = srcs[a];
            int b = a - 1;
            for (; b >= 0 && srcs[b].k.count > t.k.count; b--) srcs[b + 1] = srcs[b];
            srcs[b + 1] = t;
        }
    }
    long long count = 0;
    bool ok = true;
    if (op == OP_UNION) ok = foldUnion(r, srcs, n, agg, &out);
    else if (srcs[0].k.count > 0) {
        bool same = false; /* ZDIFF with the first key repeated: empty */
        for (int i = 1; op == OP_DIFF && i < n; i++) same |= srcs[i].k.id == srcs[0].k.id;
        if (!same) ok = walkFirst(r, srcs, n, op, agg, &out, card_only, limit, &count);
    }
    if (!ok) goto done;
    if (card_only) {
        addReplyLongLong(r, count);
    } else if (store) {
        zsetStoreEntries(r, 1, &out);
    } else {
        szmapSortByScore(&out);
        zsetEmitHeader(r, (long)out.n, withscores);
        for (size_t i = 0; i < out.n; i++) zsetEmitEntry(r, out.e[i].m, out.e[i].len, out.e[i].score, withscores);
    }
done:
    szmapFree(&out);
    free(srcs);
}

static void zunionstoreCommand(request *r) { zsetopGeneric(r, 2, true, OP_UNION, false); }
static void zinterstoreCommand(request *r) { zsetopGeneric(r, 2, true, OP_INTER, false); }
static void zdiffstoreCommand(request *r) { zsetopGeneric(r, 2, true, OP_DIFF, false); }
static void zunionCommand(request *r) { zsetopGeneric(r, 1, false, OP_UNION, false); }
static void zinterCommand(request *r) { zsetopGeneric(r, 1, false, OP_INTER, false); }
static void zdiffCommand(request *r) { zsetopGeneric(r, 1, false, OP_DIFF, false); }
static void zintercardCommand(request *r) { zsetopGeneric(r, 1, false, OP_INTER, true); }

/* ---- pops ---------------------------------------------------------------- */

static const char SQL_FIRST[] = "SELECT member, score FROM zset_members WHERE id=?1 ORDER BY score, member LIMIT ?2";
static const char SQL_LAST[] =
    "SELECT member, score FROM zset_members WHERE id=?1 ORDER BY score DESC, member DESC LIMIT ?2";
static const char SQL_DEL_FIRST[] = "DELETE FROM zset_members WHERE id=?1 AND member IN "
    "(SELECT member FROM zset_members WHERE id=?1 ORDER BY score, member LIMIT ?2)";
static const char SQL_DEL_LAST[] = "DELETE FROM zset_members WHERE id=?1 AND member IN "
    "(SELECT member FROM zset_members WHERE id=?1 ORDER BY score DESC, member DESC LIMIT ?2)";

/* One end of the score index: the n lowest (or highest) members. */
static sqlite3_stmt *endStmt(request *r, const char *sql, int64_t id, long long n) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "zpop"); return NULL; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, n);
    return s;
}

/* Redis's genericZpopCommand over argv[first .. first+nkeys-1]. count -1 is
 * the plain single pop; nested: RESP3 pairs / ZMPOP shape; emitkey: the key
 * name leads the reply (blocking pops, ZMPOP). */
static void zpopGeneric(request *r, int first, int nkeys, bool max, bool emitkey, long long count,
                        bool nested, bool nil_when_empty) {
    keyrow k;
    int idx = -1;
    for (int i = first; i < first + nkeys; i++) {
        int rc = lookupTyped(r, i, OBJ_ZSET, &k);
        if (rc < 0) return;
        if (rc == 0) continue;
        idx = i;
        break;
    }
    if (idx < 0) {
        if (nil_when_empty) addReplyNullArray(r);
        else addReplyArrayLen(r, 0);
        return;
    }
    if (count == 0) { addReplyArrayLen(r, 0); return; }
    long long n = count < 0 ? 1 : count;
    if (n > k.count) n = k.count;
    /* Reply shapes: [m, s, ...] or [[m, s], ...] (nested), and with emitkey
     * [key, m, s, ...] or [key, [[m, s], ...]]. The counts come last. */
    size_t outer = addReplyDeferredLen(r);
    if (emitkey && nested) addReplyArrayLen(r, 2);
    if (emitkey) addReplyBulk(r, r->argv[idx], r->argvlen[idx]);
    size_t inner = addReplyDeferredLen(r);
    sqlite3_stmt *s = endStmt(r, max ? SQL_LAST : SQL_FIRST, k.id, n);
    if (!s) { discardDeferredReply(r, outer); return; }
    int rc;
    long got = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const void *m = stmtColumnBlob(s, 0, &len);
        if (nested) addReplyArrayLen(r, 2);
        addReplyBulk(r, m, len);
        addReplyDouble(r, sqlite3_column_double(s, 1));
        got++;
    }
    stmtDone(s);
    if (rc == SQLITE_DONE) {
        s = endStmt(r, max ? SQL_DEL_LAST : SQL_DEL_FIRST, k.id, n);
        rc = s ? sqlite3_step(s) : SQLITE_ERROR;
        stmtDone(s);
    }
    /* before the count, which deletes an emptied key ("del" comes second) */
    if (rc == SQLITE_DONE)
        notifyKeyspaceEvent(r, NOTIFY_ZSET, max ? "zpopmax" : "zpopmin", r->db, r->argv[idx], r->argvlen[idx]);
    if (rc != SQLITE_DONE || !keySetCount(r, r->db, r->argv[idx], r->argvlen[idx], k.count - got)) {
        if (!r->store_error) storeFail(r, "zpop");
        discardDeferredReply(r, outer);
        return;
    }
    keyTouched(r, r->db, r->argv[idx], r->argvlen[idx]);
    r->dirty += (int)got;
    if (emitkey && !nested) setDeferredArrayLen(r, outer, got * 2 + 1);
    else setDeferredArrayLen(r, inner, nested ? got : got * 2);
}

static void zpopMinMax(request *r, bool max) {
    if (r->argc > 3) { addReplySyntaxError(r); return; }
    long long count = -1;
    if (r->argc == 3 && !getPositiveLongArg(r, 2, &count, "ERR value is out of range, must be positive")) return;
    zpopGeneric(r, 1, 1, max, false, count, r->resp >= 3 && count != -1, false);
}

static void zpopminCommand(request *r) { zpopMinMax(r, false); }
static void zpopmaxCommand(request *r) { zpopMinMax(r, true); }

static void blockingZpop(request *r, int first, int nkeys, bool max, int timeout_idx, long long count,
                         bool nested, bool nil_when_empty) {
    long long deadline;
    if (!getBlockingTimeout(r, timeout_idx, &deadline)) return;
    /* On a re-run (r->block set) a key of another type counts as empty: Redis
     * 7.2 wakes sorted-set waiters only for a sorted set, so a LPUSH on the
     * key leaves them waiting instead of answering WRONGTYPE. */
    bool rerun = r->block != NULL;
    for (int i = first; i < first + nkeys; i++) {
        keyrow k;
        int rc = lookupTyped(r, i, rerun ? OBJ_ANY : OBJ_ZSET, &k);
        if (rc < 0) return;
        if (rc == 0 || k.type != OBJ_ZSET) continue;
        zpopGeneric(r, i, 1, max, true, count, nested, nil_when_empty);
        return;
    }
    requestBlock(r, first, nkeys, deadline, false);
}

static void bzpopminCommand(request *r) { blockingZpop(r, 1, r->argc - 2, false, r->argc - 1, -1, false, false); }
static void bzpopmaxCommand(request *r) { blockingZpop(r, 1, r->argc - 2, true, r->argc - 1, -1, false, false); }

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]; BZMPOP timeout ... */
static void zmpopGeneric(request *r, int numkeys_idx, bool block) {
    const char *nkerr = "ERR numkeys should be greater than 0";
    long long numkeys, count = -1;
    if (!getLongLongArg(r, numkeys_idx, &numkeys, nkerr)) return;
    if (numkeys < 1) { addReplyError(r, nkerr); return; }
    if (numkeys >= r->argc - numkeys_idx - 1) { addReplySyntaxError(r); return; }
    int where_idx = numkeys_idx + (int)numkeys + 1;
    bool max;
    if (argIs(r, where_idx, "min")) max = false;
    else if (argIs(r, where_idx, "max")) max = true;
    else { addReplySyntaxError(r); return; }
    for (int j = where_idx + 1; j < r->argc; j++) {
        if (count == -1 && argIs(r, j, "count") && j + 1 < r->argc) {
            j++;
            if (!getLongLongArg(r, j, &count, "ERR count should be greater than 0")) return;
            if (count < 1) { addReplyError(r, "ERR count should be greater than 0"); return; }
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    if (count == -1) count = 1;
    if (block) blockingZpop(r, numkeys_idx + 1, (int)numkeys, max, 1, count, true, true);
    else zpopGeneric(r, numkeys_idx + 1, (int)numkeys, max, true, count, true, true);
}

static void zmpopCommand(request *r) { zmpopGeneric(r, 1, false); }
static void bzmpopCommand(request *r) { zmpopGeneric(r, 2, true); }

#define W (CMD_WRITE | CMD_DENYOOM)
static const command zset_ops_commands[] = {
    {"zunionstore", zunionstoreCommand, -4, W, 1, 1, 1, "sorted_set", "Stores the union of multiple sorted sets in a key.", "2.0.0", NULL},
    {"zinterstore", zinterstoreCommand, -4, W, 1, 1, 1, "sorted_set", "Stores the intersect of multiple sorted sets in a key.", "2.0.0", NULL},
    {"zdiffstore", zdiffstoreCommand, -4, W, 1, 1, 1, "sorted_set", "Stores the difference of multiple sorted sets in a key.", "6.2.0", NULL},
    {"zunion", zunionCommand, -3, CMD_READONLY, 0, 0, 0, "sorted_set", "Returns the union of multiple sorted sets.", "6.2.0", NULL},
    {"zinter", zinterCommand, -3, CMD_READONLY, 0, 0, 0, "sorted_set", "Returns the intersect of multiple sorted sets.", "6.2.0", NULL},
    {"zdiff", zdiffCommand, -3, CMD_READONLY, 0, 0, 0, "sorted_set", "Returns the difference between multiple sorted sets.", "6.2.0", NULL},
    {"zintercard", zintercardCommand, -3, CMD_READONLY, 0, 0, 0, "sorted_set", "Returns the number of members of the intersect of multiple sorted sets.", "7.0.0", NULL},
    {"zpopmin", zpopminCommand, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "sorted_set", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "5.0.0", NULL},
    {"zpopmax", zpopmaxCommand, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "sorted_set", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "5.0.0", NULL},
    {"zmpop", zmpopCommand, -4, CMD_WRITE, 0, 0, 0, "sorted_set", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", "7.0.0", NULL},
    {"bzpopmin", bzpopminCommand, -3, CMD_WRITE | CMD_BLOCKING | CMD_FAST, 1, -2, 1, "sorted_set", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "5.0.0", NULL},
    {"bzpopmax", bzpopmaxCommand, -3, CMD_WRITE | CMD_BLOCKING | CMD_FAST, 1, -2, 1, "sorted_set", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", "5.0.0", NULL},
    {"bzmpop", bzmpopCommand, -5, CMD_WRITE | CMD_BLOCKING, 0, 0, 0, "sorted_set", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "7.0.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void zsetOpsRegister(void) { commandRegisterTable(zset_ops_commands); }
