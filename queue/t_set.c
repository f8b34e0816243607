/*
 * t_set.c — set commands, plus the helpers the sorted-set files share
 * (t_set.h): member hashes and probes, scan arguments.
 * (The in-memory member map of t_set.h lives in t_zset_ops.c.)
 *
 * Storage
 *   set_members(id, h, member) WITHOUT ROWID, PRIMARY KEY(id, h, member)
 *     id      keys.id of the set
 *     h       a 63-bit hash of the member (setMemberHash, never 0)
 *     member  the member bytes (BLOB)
 *   keys.value holds the element count (keyrow.count), so SCARD is one lookup.
 *
 * Why the hash leads the key: sets have no order of their own, and ordering
 * members by a hash gives three things at index cost. SSCAN gets a stateless
 * integer cursor (the next h to return) with Redis's guarantee that a member
 * present for the whole scan is returned; random picks on big sets seek a
 * random h instead of walking an offset (up to SET_EXACT_RANDOM members they
 * walk to a random offset, which is exactly uniform and still cheap); and
 * membership stays one primary-key probe (h is computed in C).
 *
 * Multi-key algebra: the STORE forms run on the writer as set-at-a-time SQL
 * into a fresh key id (INSERT ... SELECT, then DELETE what the other sets
 * exclude), and only then replace the destination, so a destination that is
 * also a source reads its old members. The reply forms run on the read
 * connection (which cannot write) and probe in C, as Redis does: SINTER walks
 * the smallest set, SDIFF the first, SUNION deduplicates in a member map.
 */
#include "t_set.h"
#include <stdlib.h>
#include <string.h>

#define SET_SMALL 128 /* Redis's set-max-listpack-entries: SSCAN returns all at once */

static const char SET_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS set_members(id INTEGER NOT NULL, h INTEGER NOT NULL, member BLOB NOT NULL,"
    " PRIMARY KEY(id, h, member)) WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS set_gc_delete AFTER DELETE ON keys WHEN old.type=2 BEGIN"
    " DELETE FROM set_members WHERE id=old.id; END;";

/* ---- shared helpers (t_set.h) ------------------------------------------ */

/* FNV-1a with a murmur finaliser: stable across restarts (it is on disk). */
int64_t setMemberHash(const void *p, size_t n) {
    const unsigned char *c = p;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= c[i];
        h *= 0x100000001b3ULL;
    }
    h ^= (uint64_t)n;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    h &= 0x7fffffffffffffffULL;
    return h ? (int64_t)h : 1;
}

static const char SQL_HAS[] = "SELECT 1 FROM set_members WHERE id=?1 AND h=?2 AND member=?3";

int setHasMember(request *r, int64_t id, const void *m, size_t len) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_HAS);
    if (!s) { storeFail(r, "sismember"); return -1; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, setMemberHash(m, len));
    sqlite3_bind_blob(s, 3, m, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    storeFail(r, "sismember");
    return -1;
}

/* ---- set statements ----------------------------------------------------- */

static const char SQL_ADD[] = "INSERT OR IGNORE INTO set_members(id, h, member) VALUES(?1, ?2, ?3)";
static const char SQL_REM[] = "DELETE FROM set_members WHERE id=?1 AND h=?2 AND member=?3";
static const char SQL_ALL[] = "SELECT h, member FROM set_members WHERE id=?1";
static const char SQL_FROM_H[] = "SELECT h, member FROM set_members WHERE id=?1 AND h>=?2 ORDER BY h LIMIT ?3";
static const char SQL_BEFORE_H[] = "SELECT h, member FROM set_members WHERE id=?1 AND h<?2 ORDER BY h LIMIT ?3";
static const char SQL_ISMEMBER[] =
    "SELECT k.type, k.expires_at, EXISTS(SELECT 1 FROM set_members m WHERE m.id=k.id AND m.h=?3 AND m.member=?4) "
    "FROM keys k WHERE k.db=?1 AND k.key=?2";
static const char SQL_COPY[] = "INSERT OR IGNORE INTO set_members(id, h, member) SELECT ?1, h, member FROM set_members WHERE id=?2";
static const char SQL_KEEP_COMMON[] =
    "DELETE FROM set_members WHERE id=?1 AND NOT EXISTS(SELECT 1 FROM set_members o "
    "WHERE o.id=?2 AND o.h=set_members.h AND o.member=set_members.member)";
static const char SQL_DROP_COMMON_SCAN[] =
    "DELETE FROM set_members WHERE id=?1 AND EXISTS(SELECT 1 FROM set_members o "
    "WHERE o.id=?2 AND o.h=set_members.h AND o.member=set_members.member)";
static const char SQL_DROP_COMMON_PROBE[] =
    "DELETE FROM set_members WHERE id=?1 AND (h, member) IN (SELECT h, member FROM set_members WHERE id=?2)";
static const char SQL_DROP_ALL[] = "DELETE FROM set_members WHERE id=?1";

/* Run a statement binding up to two ids; returns changes or -1. */
static long long execIds(request *r, const char *sql, int64_t a, int64_t b, const char *what) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, what); return -1; }
    sqlite3_bind_int64(s, 1, a);
    if (b) sqlite3_bind_int64(s, 2, b);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, what); return -1; }
    return sqlite3_changes(storeDb(r->st));
}

/* Insert (add=true) or delete one member; returns 1 changed, 0 not, -1 error. */
static int memberWrite(request *r, int64_t id, const void *m, size_t len, bool add) {
    sqlite3_stmt *s = stmtGet(r->st, add ? SQL_ADD : SQL_REM);
    if (!s) { storeFail(r, add ? "sadd" : "srem"); return -1; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, setMemberHash(m, len));
    sqlite3_bind_blob(s, 3, m, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, add ? "sadd" : "srem"); return -1; }
    return sqlite3_changes(storeDb(r->st)) > 0;
}

/* Reply every member of set `id` as a set (or array) frame. */
static bool replyAllMembers(request *r, int64_t id, bool as_set) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_ALL);
    if (!s) return storeFail(r, "smembers");
    sqlite3_bind_int64(s, 1, id);
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const void *m = stmtColumnBlob(s, 1, &len);
        addReplyBulk(r, m, len);
        n++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE) {
        storeFail(r, "smembers");
        discardDeferredReply(r, mark);
        return false;
    }
    if (as_set) setDeferredSetLen(r, mark, n);
    else setDeferredArrayLen(r, mark, n);
    return true;
}

#define SET_EXACT_RANDOM 2048 /* up to this size random picks are exactly uniform */
#define SET_RANDOM_WINDOW 64  /* larger sets: pick among this many after a random hash */

static const char SQL_AT[] = "SELECT h, member FROM set_members WHERE id=?1 ORDER BY h, member LIMIT 1 OFFSET ?2";

static bool collect(request *r, sqlite3_stmt *s, szmap *out) {
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const void *m = stmtColumnBlob(s, 1, &len);
        bool added;
        szmapAdd(out, m, len, &added);
    }
    stmtDone(s);
    return rc == SQLITE_DONE ? true : storeFail(r, "random");
}

/* Up to n members in hash order from a random hash on, wrapping around. */
static bool loadWindow(request *r, int64_t id, long long n, szmap *out) {
    int64_t start = (int64_t)(serverRandom() & 0x7fffffffffffffffULL);
    for (int pass = 0; pass < 2 && (long long)out->n < n; pass++) {
        sqlite3_stmt *s = stmtGet(r->st, pass == 0 ? SQL_FROM_H : SQL_BEFORE_H);
        if (!s) return storeFail(r, "random");
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, start);
        sqlite3_bind_int64(s, 3, n - (long long)out->n);
        if (!collect(r, s, out)) return false;
    }
    return true;
}

static bool loadAll(request *r, int64_t id, szmap *out) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_ALL);
    if (!s) return storeFail(r, "random");
    sqlite3_bind_int64(s, 1, id);
    return collect(r, s, out);
}

/* Move n random entries to the front (partial Fisher-Yates) and drop the
 * rest. The map's lookups are not used afterwards. */
static void keepRandom(szmap *m, size_t n) {
    if (n > m->n) n = m->n;
    for (size_t i = 0; i < n; i++) {
        size_t j = i + (size_t)(serverRandom() % (m->n - i));
        szentry t = m->e[i];
        m->e[i] = m->e[j];
        m->e[j] = t;
    }
    for (size_t i = n; i < m->n; i++) free(m->e[i].m);
    m->n = n;
}

/* n distinct random members (n <= card). Exactly uniform for sets up to
 * SET_EXACT_RANDOM; beyond, a random pick among the SET_RANDOM_WINDOW (or n)
 * members after a random hash, which stays O(log size + window). */
static bool randomPick(request *r, const keyrow *k, long long n, szmap *out) {
    bool ok;
    if (k->count <= SET_EXACT_RANDOM && n == 1) {
        sqlite3_stmt *s = stmtGet(r->st, SQL_AT);
        if (!s) return storeFail(r, "random");
        sqlite3_bind_int64(s, 1, k->id);
        sqlite3_bind_int64(s, 2, (sqlite3_int64)(serverRandom() % (uint64_t)k->count));
        return collect(r, s, out);
    }
    if (k->count <= SET_EXACT_RANDOM) ok = loadAll(r, k->id, out);
    else ok = loadWindow(r, k->id, n > SET_RANDOM_WINDOW ? n : SET_RANDOM_WINDOW, out);
    if (ok) keepRandom(out, (size_t)n);
    return ok;
}

/* ---- single-key commands ------------------------------------------------ */

/* SADD key member [member ...] */
static void saddCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found < 0) return;
    int64_t id = found ? k.id : keyNewId(r);
    long long added = 0;
    for (int i = 2; i < r->argc; i++) {
        int rc = memberWrite(r, id, r->argv[i], r->argvlen[i], true);
        if (rc < 0) return;
        added += rc;
    }
    if (added) {
        if (!(found ? keySetCount(r, r->db, r->argv[1], r->argvlen[1], k.count + added)
                    : keyCreate(r, r->db, r->argv[1], r->argvlen[1], id, OBJ_SET, added, 0))) return;
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        notifyKeyspaceEvent(r, NOTIFY_SET, "sadd", r->db, r->argv[1], r->argvlen[1]);
        r->dirty += (int)added;
    }
    addReplyLongLong(r, added);
}

/* SREM key member [member ...] */
static void sremCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found <= 0) { if (found == 0) addReplyLongLong(r, 0); return; }
    long long deleted = 0;
    for (int i = 2; i < r->argc && deleted < k.count; i++) {
        int rc = memberWrite(r, k.id, r->argv[i], r->argvlen[i], false);
        if (rc < 0) return;
        deleted += rc;
    }
    if (deleted) {
        notifyKeyspaceEvent(r, NOTIFY_SET, "srem", r->db, r->argv[1], r->argvlen[1]);
        if (!keySetCount(r, r->db, r->argv[1], r->argvlen[1], k.count - deleted)) return;
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        r->dirty += (int)deleted;
    }
    addReplyLongLong(r, deleted);
}

static void smembersCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found == 0) addReplySetLen(r, 0);
    else if (found > 0) replyAllMembers(r, k.id, true);
}

/* SISMEMBER key member: one statement for the key and the probe. */
static void sismemberCommand(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_ISMEMBER);
    if (!s) { storeFail(r, "sismember"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, setMemberHash(r->argv[2], r->argvlen[2]));
    sqlite3_bind_blob(s, 4, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    int rc = sqlite3_step(s);
    int type = OBJ_SET, is = 0;
    if (rc == SQLITE_ROW) {
        long long exp = sqlite3_column_int64(s, 1);
        if (!exp || exp > r->now_ms) {
            type = sqlite3_column_int(s, 0);
            is = sqlite3_column_int(s, 2);
        }
    }
    stmtDone(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) storeFail(r, "sismember");
    else if (type != OBJ_SET) addReplyWrongType(r);
    else addReplyLongLong(r, is);
}

static void smismemberCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found < 0) return;
    size_t mark = r->out->len;
    addReplyArrayLen(r, r->argc - 2);
    for (int i = 2; i < r->argc; i++) {
        int rc = found ? setHasMember(r, k.id, r->argv[i], r->argvlen[i]) : 0;
        if (rc < 0) { discardDeferredReply(r, mark); return; }
        addReplyLongLong(r, rc);
    }
}

static void scardCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found >= 0) addReplyLongLong(r, found ? k.count : 0);
}

/* SPOP key [count] */
static void spopCommand(request *r) {
    long long count = -1;
    if (r->argc > 3) { addReplySyntaxError(r); return; }
    if (r->argc == 3 && !getPositiveLongArg(r, 2, &count, "ERR value is out of range, must be positive")) return;
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found < 0) return;
    if (!found || count == 0) {
        if (count < 0) addReplyNull(r);
        else addReplySetLen(r, 0);
        return;
    }
    if (count >= k.count) { /* everything goes */
        if (!replyAllMembers(r, k.id, true)) return;
        if (keyDelete(r, r->db, r->argv[1], r->argvlen[1])) {
            notifyKeyspaceEvent(r, NOTIFY_SET, "spop", r->db, r->argv[1], r->argvlen[1]);
            notifyKeyspaceEvent(r, NOTIFY_GENERIC, "del", r->db, r->argv[1], r->argvlen[1]);
        }
        r->dirty += (int)k.count;
        return;
    }
    szmap picked = {0};
    if (!randomPick(r, &k, count < 0 ? 1 : count, &picked)) { szmapFree(&picked); return; }
    size_t mark = r->out->len;
    if (count >= 0) addReplySetLen(r, (long)picked.n);
    for (size_t i = 0; i < picked.n; i++) {
        if (memberWrite(r, k.id, picked.e[i].m, picked.e[i].len, false) < 0) goto fail;
        addReplyBulk(r, picked.e[i].m, picked.e[i].len);
    }
    /* before the count, which deletes an emptied set ("del" comes second) */
    notifyKeyspaceEvent(r, NOTIFY_SET, "spop", r->db, r->argv[1], r->argvlen[1]);
    if (!keySetCount(r, r->db, r->argv[1], r->argvlen[1], k.count - (long long)picked.n)) goto fail;
    keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
    r->dirty += (int)picked.n;
    szmapFree(&picked);
    return;
fail:
    discardDeferredReply(r, mark);
    szmapFree(&picked);
}

/* SRANDMEMBER key [count] */
static void srandmemberCommand(request *r) {
    long long count = 0;
    bool with_count = r->argc == 3;
    if (r->argc > 3) { addReplySyntaxError(r); return; }
    if (with_count) {
        if (!getLongLongArg(r, 2, &count, NULL)) return;
        if (count < -INT64_MAX) {
            addReplyError(r, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
            return;
        }
    }
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found < 0) return;
    if (!found || (with_count && count == 0)) {
        if (with_count) addReplyArrayLen(r, 0);
        else addReplyNull(r);
        return;
    }
    if (!with_count || count < 0) { /* independent picks, repeats allowed */
        long long n = with_count ? -count : 1;
        if (!checkRandomRepeats(r, (unsigned long long)n)) return;
        szmap all = {0};
        if (k.count <= SET_EXACT_RANDOM && n > 1 && !loadAll(r, k.id, &all)) { szmapFree(&all); return; }
        size_t mark = r->out->len;
        if (with_count) addReplyArrayLen(r, n);
        for (long long i = 0; i < n; i++) {
            if (all.n) {
                szentry *e = &all.e[serverRandom() % all.n];
                addReplyBulk(r, e->m, e->len);
                continue;
            }
            szmap one = {0};
            bool ok = randomPick(r, &k, 1, &one);
            if (ok && one.n) addReplyBulk(r, one.e[0].m, one.e[0].len);
            szmapFree(&one);
            if (!ok) { discardDeferredReply(r, mark); break; }
        }
        szmapFree(&all);
        return;
    }
    if (count >= k.count) { replyAllMembers(r, k.id, false); return; }
    szmap picked = {0};
    if (randomPick(r, &k, count, &picked)) {
        addReplyArrayLen(r, (long)picked.n);
        for (size_t i = 0; i < picked.n; i++) addReplyBulk(r, picked.e[i].m, picked.e[i].len);
    }
    szmapFree(&picked);
}

/* SMOVE source destination member */
static void smoveCommand(request *r) {
    keyrow src, dst;
    int sfound = keyLookupTyped(r, r->db, r->argv[1], r->argvlen[1], OBJ_ANY, &src);
    if (sfound < 0) return;
    if (!sfound) { addReplyLongLong(r, 0); return; }
    int dfound = keyLookupTyped(r, r->db, r->argv[2], r->argvlen[2], OBJ_ANY, &dst);
    if (dfound < 0) return;
    if (src.type != OBJ_SET || (dfound && dst.type != OBJ_SET)) { addReplyWrongType(r); return; }
    const char *m = r->argv[3];
    size_t mlen = r->argvlen[3];
    if (dfound && dst.id == src.id) {
        int rc = setHasMember(r, src.id, m, mlen);
        if (rc >= 0) addReplyLongLong(r, rc);
        return;
    }
    int rc = memberWrite(r, src.id, m, mlen, false);
    if (rc <= 0) { if (rc == 0) addReplyLongLong(r, 0); return; }
    /* Redis's order: "srem" on the source, its "del" if it went (keySetCount),
     * then "sadd" on the destination when the member was new there. */
    notifyKeyspaceEvent(r, NOTIFY_SET, "srem", r->db, r->argv[1], r->argvlen[1]);
    if (!keySetCount(r, r->db, r->argv[1], r->argvlen[1], src.count - 1)) return;
    keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
    int64_t id = dfound ? dst.id : keyNewId(r);
    rc = memberWrite(r, id, m, mlen, true);
    if (rc < 0) return;
    if (rc) {
        if (!(dfound ? keySetCount(r, r->db, r->argv[2], r->argvlen[2], dst.count + 1)
                     : keyCreate(r, r->db, r->argv[2], r->argvlen[2], id, OBJ_SET, 1, 0))) return;
        keyTouched(r, r->db, r->argv[2], r->argvlen[2]);
        notifyKeyspaceEvent(r, NOTIFY_SET, "sadd", r->db, r->argv[2], r->argvlen[2]);
    }
    r->dirty++;
    addReplyLongLong(r, 1);
}

/* ---- multi-key algebra -------------------------------------------------- */

enum { OP_INTER, OP_UNION, OP_DIFF };

/* Look up argv[first .. first+n-1] (all must be sets or missing). Missing
 * keys get id 0 and count 0. Returns false after replying an error. */
static bool lookupSets(request *r, int first, int n, keyrow *ks) {
    for (int i = 0; i < n; i++) {
        int rc = lookupTyped(r, first + i, OBJ_SET, &ks[i]);
        if (rc < 0) return false;
        if (rc == 0) ks[i] = (keyrow){.type = OBJ_SET};
    }
    return true;
}

/* Stable sort by cardinality, smallest first (Redis's order for SINTER). */
static void sortByCard(keyrow *ks, int n) {
    for (int i = 1; i < n; i++) {
        keyrow t = ks[i];
        int j = i - 1;
        for (; j >= 0 && ks[j].count > t.count; j--) ks[j + 1] = ks[j];
        ks[j + 1] = t;
    }
}

/* Walk set ks[0] and keep members present in all (inter) or none (diff) of
 * the others. Replies each one (emit) or only counts (limit: stop at that many). */
static bool probeWalk(request *r, keyrow *ks, int n, int op, bool emit, long long limit, long long *count) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_ALL);
    if (!s) return storeFail(r, "sinter");
    sqlite3_bind_int64(s, 1, ks[0].id);
    int rc;
    *count = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const void *m = stmtColumnBlob(s, 1, &len);
        bool keep = true;
        for (int j = 1; j < n && keep; j++) {
            if (ks[j].id == 0) { keep = op == OP_DIFF; continue; }
            if (ks[j].id == ks[0].id) { keep = op == OP_INTER; continue; }
            int has = setHasMember(r, ks[j].id, m, len);
            if (has < 0) { stmtDone(s); return false; }
            keep = op == OP_INTER ? has == 1 : has == 0;
        }
        if (!keep) continue;
        if (emit) addReplyBulk(r, m, len);
        if (++*count == limit) break;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return storeFail(r, "sinter");
    return true;
}

/* SINTER/SUNION/SDIFF on the read connection: reply a set. */
static void algebraReply(request *r, int op, int first, int n, bool card_only, long long limit) {
    keyrow *ks = calloc((size_t)n, sizeof(keyrow));
    if (!ks) { addReplyError(r, "ERR out of memory"); return; }
    if (!lookupSets(r, first, n, ks)) goto done;
    size_t mark = addReplyDeferredLen(r);
    long long count = 0;
    bool ok = true;
    if (op == OP_UNION) {
        szmap all = {0};
        for (int i = 0; i < n && ok; i++) {
            if (!ks[i].id) continue;
            sqlite3_stmt *s = stmtGet(r->st, SQL_ALL);
            if (!s) { ok = storeFail(r, "sunion"); break; }
            sqlite3_bind_int64(s, 1, ks[i].id);
            int rc;
            while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
                size_t len;
                const void *m = stmtColumnBlob(s, 1, &len);
                bool added;
                szmapAdd(&all, m, len, &added);
                if (added) addReplyBulk(r, m, len);
            }
            stmtDone(s);
            if (rc != SQLITE_DONE) ok = storeFail(r, "sunion");
        }
        count = (long long)all.n;
        szmapFree(&all);
    } else {
        if (op == OP_INTER) sortByCard(ks, n);
        bool empty = ks[0].id == 0;
        for (int i = 1; i < n && op == OP_INTER; i++) empty |= ks[i].id == 0;
        if (!empty) ok = probeWalk(r, ks, n, op, !card_only, limit, &count);
    }
    if (!ok) discardDeferredReply(r, mark);
    else if (card_only) addReplyLongLong(r, count);
    else setDeferredSetLen(r, mark, (long)count);
done:
    free(ks);
}

static void sinterCommand(request *r) { algebraReply(r, OP_INTER, 1, r->argc - 1, false, 0); }
static void sunionCommand(request *r) { algebraReply(r, OP_UNION, 1, r->argc - 1, false, 0); }
static void sdiffCommand(request *r) { algebraReply(r, OP_DIFF, 1, r->argc - 1, false, 0); }

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static void sintercardCommand(request *r) {
    long long numkeys, limit = 0;
    if (!getLongLongArg(r, 1, &numkeys, "ERR numkeys should be greater than 0")) return;
    if (numkeys < 1) { addReplyError(r, "ERR numkeys should be greater than 0"); return; }
    if (numkeys > r->argc - 2) { addReplyError(r, "ERR Number of keys can't be greater than number of args"); return; }
    for (int i = 2 + (int)numkeys; i < r->argc; i++) {
        if (argIs(r, i, "limit") && i + 1 < r->argc) {
            if (!getPositiveLongArg(r, i + 1, &limit, "ERR LIMIT can't be negative")) return;
            i++;
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    algebraReply(r, OP_INTER, 2, (int)numkeys, true, limit);
}

/* The STORE forms: build the result under a fresh id, then swap it in. */
static void algebraStore(request *r, int op) {
    int n = r->argc - 2;
    keyrow *ks = calloc((size_t)n, sizeof(keyrow));
    if (!ks) { addReplyError(r, "ERR out of memory"); return; }
    if (!lookupSets(r, 2, n, ks)) { free(ks); return; }
    int64_t id = keyNewId(r);
    long long total = 0, ch;
    if (op == OP_UNION) {
        for (int i = 0; i < n; i++) {
            if (!ks[i].id) continue;
            if ((ch = execIds(r, SQL_COPY, id, ks[i].id, "sunionstore")) < 0) goto done;
            total += ch;
        }
    } else if (op == OP_INTER) {
        sortByCard(ks, n);
        bool empty = false;
        for (int i = 0; i < n; i++) empty |= ks[i].id == 0;
        if (!empty) {
            if ((total = execIds(r, SQL_COPY, id, ks[0].id, "sinterstore")) < 0) goto done;
            for (int i = 1; i < n && total > 0; i++) {
                if (ks[i].id == ks[0].id) continue;
                if ((ch = execIds(r, SQL_KEEP_COMMON, id, ks[i].id, "sinterstore")) < 0) goto done;
                total -= ch;
            }
        }
    } else if (ks[0].id) {
        if ((total = execIds(r, SQL_COPY, id, ks[0].id, "sdiffstore")) < 0) goto done;
        for (int i = 1; i < n && total > 0; i++) {
            if (!ks[i].id) continue;
            const char *sql = ks[i].id == ks[0].id ? SQL_DROP_ALL
                            : ks[i].count < total ? SQL_DROP_COMMON_PROBE : SQL_DROP_COMMON_SCAN;
            if ((ch = execIds(r, sql, id, sql == SQL_DROP_ALL ? 0 : ks[i].id, "sdiffstore")) < 0) goto done;
            total -= ch;
        }
    }
    bool replaced = keyDelete(r, r->db, r->argv[1], r->argvlen[1]);
    if (r->store_error) goto done;
    if (total > 0) {
        if (!keyCreate(r, r->db, r->argv[1], r->argvlen[1], id, OBJ_SET, total, 0)) goto done;
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        r->dirty++;
        static const char *const events[] = {[OP_INTER] = "sinterstore", [OP_UNION] = "sunionstore",
                                             [OP_DIFF] = "sdiffstore"};
        notifyKeyspaceEvent(r, NOTIFY_SET, events[op], r->db, r->argv[1], r->argvlen[1]);
    } else if (replaced) { /* an empty result deletes the destination */
        notifyKeyspaceEvent(r, NOTIFY_GENERIC, "del", r->db, r->argv[1], r->argvlen[1]);
    }
    addReplyLongLong(r, total);
done:
    free(ks);
}

static void sinterstoreCommand(request *r) { algebraStore(r, OP_INTER); }
static void sunionstoreCommand(request *r) { algebraStore(r, OP_UNION); }
static void sdiffstoreCommand(request *r) { algebraStore(r, OP_DIFF); }

/* ---- SSCAN --------------------------------------------------------------- */

/* Parse [MATCH pattern] [COUNT count] from argv[3]. */
bool szParseScanOptions(request *r, long long *count, const char **pat, size_t *plen) {
    *count = 10;
    *pat = NULL;
    *plen = 0;
    for (int i = 3; i < r->argc; i += 2) {
        if (argIs(r, i, "count") && i + 1 < r->argc) {
            if (!getLongLongArg(r, i + 1, count, NULL)) return false;
            if (*count < 1) { addReplySyntaxError(r); return false; }
        } else if (argIs(r, i, "match") && i + 1 < r->argc) {
            *pat = r->argv[i + 1];
            *plen = r->argvlen[i + 1];
            if (*plen == 1 && (*pat)[0] == '*') *pat = NULL;
        } else {
            addReplySyntaxError(r);
            return false;
        }
    }
    return true;
}

static void sscanCommand(request *r) {
    unsigned long long cursor;
    if (!parseScanCursor(r, 2, &cursor)) return;
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_SET, &k);
    if (found < 0) return;
    if (!found || cursor > (unsigned long long)INT64_MAX) {
        setDeferredScanReply(r, addReplyDeferredLen(r), 0, 0);
        return;
    }
    long long count;
    const char *pat;
    size_t plen;
    if (!szParseScanOptions(r, &count, &pat, &plen)) return;
    bool all = k.count <= SET_SMALL;
    sqlite3_stmt *s = stmtGet(r->st, all ? SQL_ALL : SQL_FROM_H);
    if (!s) { storeFail(r, "sscan"); return; }
    sqlite3_bind_int64(s, 1, k.id);
    if (!all) {
        sqlite3_bind_int64(s, 2, (sqlite3_int64)cursor);
        sqlite3_bind_int64(s, 3, -1);
    }
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    long long seen = 0, last = 0, next = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        long long h = sqlite3_column_int64(s, 0);
        /* Never split members sharing a hash across two calls. */
        if (!all && seen >= count && h != last) { next = h; break; }
        seen++;
        last = h;
        size_t len;
        const void *m = stmtColumnBlob(s, 1, &len);
        if (pat && !stringmatchlen(pat, plen, m, len, false)) continue;
        addReplyBulk(r, m, len);
        n++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) { storeFail(r, "sscan"); discardDeferredReply(r, mark); return; }
    setDeferredScanReply(r, mark, next, n);
}

#define W (CMD_WRITE | CMD_DENYOOM)
#define R (CMD_READONLY | CMD_FAST)
static const command set_commands[] = {
    {"sadd", saddCommand, -3, W | CMD_FAST, 1, 1, 1, "set", "Adds one or more members to a set. Creates the key if it doesn't exist.", "1.0.0", NULL},
    {"srem", sremCommand, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "set", "Removes one or more members from a set. Deletes the set if the last member was removed.", "1.0.0", NULL},
    {"smembers", smembersCommand, 2, CMD_READONLY, 1, 1, 1, "set", "Returns all members of a set.", "1.0.0", NULL},
    {"sismember", sismemberCommand, 3, R, 1, 1, 1, "set", "Determines whether a member belongs to a set.", "1.0.0", NULL},
    {"smismember", smismemberCommand, -3, R, 1, 1, 1, "set", "Determines whether multiple members belong to a set.", "6.2.0", NULL},
    {"scard", scardCommand, 2, R, 1, 1, 1, "set", "Returns the number of members in a set.", "1.0.0", NULL},
    {"spop", spopCommand, -2, CMD_WRITE | CMD_FAST, 1, 1, 1, "set", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "1.0.0", NULL},
    {"srandmember", srandmemberCommand, -2, CMD_READONLY, 1, 1, 1, "set", "Get one or multiple random members from a set", "1.0.0", NULL},
    {"smove", smoveCommand, 4, CMD_WRITE | CMD_FAST, 1, 2, 1, "set", "Moves a member from one set to another.", "1.0.0", NULL},
    {"sinter", sinterCommand, -2, CMD_READONLY, 1, -1, 1, "set", "Returns the intersect of multiple sets.", "1.0.0", NULL},
    {"sunion", sunionCommand, -2, CMD_READONLY, 1, -1, 1, "set", "Returns the union of multiple sets.", "1.0.0", NULL},
    {"sdiff", sdiffCommand, -2, CMD_READONLY, 1, -1, 1, "set", "Returns the difference of multiple sets.", "1.0.0", NULL},
    {"sintercard", sintercardCommand, -3, CMD_READONLY, 0, 0, 0, "set", "Returns the number of members of the intersect of multiple sets.", "7.0.0", NULL},
    {"sinterstore", sinterstoreCommand, -3, W, 1, -1, 1, "set", "Stores the intersect of multiple sets in a key.", "1.0.0", NULL},
    {"sunionstore", sunionstoreCommand, -3, W, 1, -1, 1, "set", "Stores the union of multiple sets in a key.", "1.0.0", NULL},
    {"sdiffstore", sdiffstoreCommand, -3, W, 1, -1, 1, "set", "Stores the difference of multiple sets in a key.", "1.0.0", NULL},
    {"sscan", sscanCommand, -3, CMD_READONLY, 1, 1, 1, "set", "Iterates over members of a set.", "2.8.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* OBJECT ENCODING: Redis keeps a set of at most set-max-intset-entries
 * (512) integers in an intset; otherwise one of at most
 * set-max-listpack-entries (128) members of at most 64 bytes in a listpack;
 * else a hashtable (and, unlike this answer from the current contents,
 * never converts back). */
static const char *setEncoding(request *r, int64_t id, long long count, int enc) {
    (void)enc;
    if (count > 512) return "hashtable";
    sqlite3_stmt *s = stmtGet(r->st, "SELECT member FROM set_members WHERE id=?1");
    if (!s) { storeFail(r, "object"); return NULL; }
    sqlite3_bind_int64(s, 1, id);
    bool ints = true, small = count <= 128;
    int rc = SQLITE_ROW; /* stays ROW when neither can be true any more */
    while ((ints || small) && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const char *m = stmtColumnBlob(s, 0, &len);
        long long v;
        if (ints && !string2ll(m, len, &v)) ints = false;
        if (len > 64) small = false;
    }
    stmtDone(s);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) { storeFail(r, "object"); return NULL; }
    return ints ? "intset" : small ? "listpack" : "hashtable";
}

void setRegister(void) {
    storeRegisterSchema(SET_SCHEMA);
    storeRegisterCopy(OBJ_SET, "INSERT INTO set_members(id, h, member) SELECT ?2, h, member FROM set_members WHERE id=?1");
    storeRegisterEncoding(OBJ_SET, setEncoding);
    commandRegisterTable(set_commands);
}
