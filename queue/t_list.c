/*
 * t_list.c — lists: the storage every list command shares (t_list.h) and
 * the single-key commands LPUSH RPUSH LPUSHX RPUSHX LPOP RPOP LLEN LRANGE
 * LINDEX LPOS LSET LREM LTRIM LINSERT. Commands that move elements between
 * lists or pop from several keys — LMOVE RPOPLPUSH LMPOP and the blocking
 * pops job queues use — are in t_list_block.c.
 *
 * Storage
 * -------
 *   list_items(id, pos, value)  WITHOUT ROWID, PRIMARY KEY(id, pos)
 *     id     keys.id of the list (see server/store.c)
 *     pos    a signed 64-bit position; the list order is ascending pos
 *     value  the element bytes, always bound as a BLOB (never NULL)
 *   keys.value of a list holds its element count (keyrow.count, written by
 *   keyCreate/keySetCount), so LLEN is one primary-key lookup and every
 *   command knows the length up front.
 *
 * Invariants
 *  - A list key exists iff it has at least one element: the command that
 *    removes the last element deletes the key (keySetCount to 0), and the
 *    trigger registered below drops the elements of a list key that is
 *    deleted (DEL, expiry, FLUSH*, or overwritten by another type, which
 *    deletes the row first).
 *  - keys.value == count(*) of the key's list_items rows, at every commit.
 *  - Positions are unique per list and strictly increasing from head to
 *    tail, but need not be contiguous. A head push takes min(pos)-1 and a tail
 *    push max(pos)+1, both read from the PK index (O(log n)); the first
 *    element of a new list gets position 0. A long-lived queue drifts by one
 *    position per push, so 64 bits never run out in practice.
 *  - Gaps appear where elements are removed from the middle (LREM) and where
 *    LINSERT renumbered. LINSERT puts the new element at the midpoint of the
 *    gap between the pivot and its neighbour; when there is no gap it shifts
 *    the shorter side of the list away by LIST_GAP positions (O(n), like
 *    Redis's LINSERT) so that later inserts at that spot find room. The shift
 *    moves the rows to the negated id first and back after, so the UPDATE
 *    never collides with a row that has not moved yet.
 *  - Element i from the head is `ORDER BY pos LIMIT 1 OFFSET i`, from the
 *    tail `ORDER BY pos DESC LIMIT 1 OFFSET len-1-i`; posAt() picks the nearer
 *    end, so LINDEX/LSET/LRANGE/LTRIM near either end of a huge list are
 *    cheap. LRANGE then reads forward from that position.
 *
 * Threads: write commands run on the writer inside its batch; LLEN, LRANGE,
 * LINDEX and LPOS run on the net thread. Those that read the length and then
 * the elements get both from one snapshot: the core runs every read command
 * inside a read transaction (see server.h).
 */
#include "t_list.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define LIST_GAP 64

static const char LIST_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS list_items("
    "  id INTEGER NOT NULL, pos INTEGER NOT NULL, value BLOB NOT NULL,"
    "  PRIMARY KEY(id, pos)) WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS list_gc_delete AFTER DELETE ON keys WHEN old.type=1 "
    "  BEGIN DELETE FROM list_items WHERE id=old.id; END;";

static const char SQL_HEAD_POS[] = "SELECT pos FROM list_items WHERE id=?1 ORDER BY pos LIMIT 1";
static const char SQL_TAIL_POS[] = "SELECT pos FROM list_items WHERE id=?1 ORDER BY pos DESC LIMIT 1";
static const char SQL_INSERT[] = "INSERT INTO list_items(id, pos, value) VALUES(?1, ?2, ?3)";
static const char SQL_POP_HEAD[] = "SELECT pos, value FROM list_items WHERE id=?1 ORDER BY pos LIMIT ?2";
static const char SQL_POP_TAIL[] = "SELECT pos, value FROM list_items WHERE id=?1 ORDER BY pos DESC LIMIT ?2";
static const char SQL_DEL_UPTO[] = "DELETE FROM list_items WHERE id=?1 AND pos<=?2";
static const char SQL_DEL_FROM[] = "DELETE FROM list_items WHERE id=?1 AND pos>=?2";
static const char SQL_DEL_BELOW[] = "DELETE FROM list_items WHERE id=?1 AND pos<?2";
static const char SQL_DEL_ABOVE[] = "DELETE FROM list_items WHERE id=?1 AND pos>?2";
static const char SQL_AT_FWD[] = "SELECT pos, value FROM list_items WHERE id=?1 ORDER BY pos LIMIT 1 OFFSET ?2";
static const char SQL_AT_BWD[] = "SELECT pos, value FROM list_items WHERE id=?1 ORDER BY pos DESC LIMIT 1 OFFSET ?2";
static const char SQL_RANGE[] = "SELECT value FROM list_items WHERE id=?1 AND pos>=?2 ORDER BY pos LIMIT ?3";
static const char SQL_SET[] = "UPDATE list_items SET value=?3 WHERE id=?1 AND pos=?2";
static const char SQL_REM_ALL[] = "DELETE FROM list_items WHERE id=?1 AND value=?2";
static const char SQL_REM_FWD[] =
    "DELETE FROM list_items WHERE id=?1 AND pos IN "
    "(SELECT pos FROM list_items WHERE id=?1 AND value=?2 ORDER BY pos LIMIT ?3)";
static const char SQL_REM_BWD[] =
    "DELETE FROM list_items WHERE id=?1 AND pos IN "
    "(SELECT pos FROM list_items WHERE id=?1 AND value=?2 ORDER BY pos DESC LIMIT ?3)";
static const char SQL_FIND[] = "SELECT pos FROM list_items WHERE id=?1 AND value=?2 ORDER BY pos LIMIT 1";
static const char SQL_PREV[] = "SELECT pos FROM list_items WHERE id=?1 AND pos<?2 ORDER BY pos DESC LIMIT 1";
static const char SQL_NEXT[] = "SELECT pos FROM list_items WHERE id=?1 AND pos>?2 ORDER BY pos LIMIT 1";
static const char SQL_COUNT_UPTO[] = "SELECT count(*) FROM list_items WHERE id=?1 AND pos<=?2";
static const char SQL_SHIFT_DOWN[] = "UPDATE list_items SET id=-id, pos=pos-?3 WHERE id=?1 AND pos<=?2";
static const char SQL_SHIFT_UP[] = "UPDATE list_items SET id=-id, pos=pos+?3 WHERE id=?1 AND pos>=?2";
static const char SQL_UNSHIFT[] = "UPDATE list_items SET id=?1 WHERE id=-?1";
static const char SQL_SCAN_FWD[] = "SELECT value FROM list_items WHERE id=?1 ORDER BY pos LIMIT ?2";
static const char SQL_SCAN_BWD[] = "SELECT value FROM list_items WHERE id=?1 ORDER BY pos DESC LIMIT ?2";

/* ---- helpers ----------------------------------------------------------- */

/* Find the list at key. Returns 1 found, 0 missing (lk describes an empty
 * list), -1 when a reply was already given (WRONGTYPE or a storage error).
 * With skip_wrongtype a key of another type counts as missing. */
int listLookupKey(request *r, const char *key, size_t klen, listkey *lk, bool skip_wrongtype) {
    memset(lk, 0, sizeof(*lk));
    lk->key = key;
    lk->klen = klen;
    keyrow row;
    int rc = keyLookupTyped(r, r->db, key, klen, skip_wrongtype ? OBJ_ANY : OBJ_LIST, &row);
    if (rc <= 0 || row.type != OBJ_LIST) return rc < 0 ? -1 : 0;
    lk->exists = true;
    lk->id = row.id;
    lk->len = row.count;
    return 1;
}

int listLookup(request *r, int idx, listkey *lk) {
    return listLookupKey(r, r->argv[idx], r->argvlen[idx], lk, false);
}

/* Write the in-memory length back: create, update or delete the key row,
 * and announce the change. */
bool listCommit(request *r, listkey *lk) {
    if (lk->len == 0) {
        if (lk->exists) {
            if (!keySetCount(r, r->db, lk->key, lk->klen, 0)) return false; /* deletes the key */
            lk->exists = false;
            lk->id = 0;
        }
        r->dirty++;
        return true;
    }
    if (!(lk->exists ? keySetCount(r, r->db, lk->key, lk->klen, lk->len)
                     : keyCreate(r, r->db, lk->key, lk->klen, lk->id, OBJ_LIST, lk->len, 0)))
        return false;
    lk->exists = true;
    r->dirty++;
    keyTouched(r, r->db, lk->key, lk->klen);
    return true;
}

/* Read one position (column 0) from a single-row query bound with ?1=id and
 * optionally ?2. Returns 1 found, 0 no row, -1 on error. */
static int queryPos(request *r, const char *sql, int64_t id, bool has2, int64_t arg2, int64_t *pos) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, id);
    if (has2) sqlite3_bind_int64(s, 2, arg2);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) *pos = sqlite3_column_int64(s, 0);
    stmtDone(s);
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

static bool execIdPos(request *r, const char *sql, int64_t id, int64_t pos, const char *what) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) return storeFail(r, what);
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, pos);
    int rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE ? true : storeFail(r, what);
}

/* Push n values at one end. */
bool listPush(request *r, listkey *lk, int where, char **vals, size_t *lens, int n) {
    int64_t p;
    if (lk->len == 0) {
        if (!lk->id) lk->id = keyNewId(r);
        p = where == LIST_HEAD ? 1 : -1; /* the first element lands on 0 */
    } else {
        int rc = queryPos(r, where == LIST_HEAD ? SQL_HEAD_POS : SQL_TAIL_POS, lk->id, false, 0, &p);
        if (rc != 1) return storeFail(r, "list push");
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_INSERT);
    if (!s) return storeFail(r, "list push");
    for (int i = 0; i < n; i++) {
        p += where == LIST_HEAD ? -1 : 1;
        sqlite3_bind_int64(s, 1, lk->id);
        sqlite3_bind_int64(s, 2, p);
        sqlite3_bind_blob64(s, 3, vals[i], lens[i], SQLITE_STATIC);
        int rc = sqlite3_step(s);
        sqlite3_reset(s);
        if (rc != SQLITE_DONE) { stmtDone(s); return storeFail(r, "list push"); }
    }
    stmtDone(s);
    lk->len += n;
    return true;
}

/* Pop n (<= len) elements from one end. Each is replied as a bulk, or, when
 * `copy` is given (n == 1), copied into a malloc'd buffer. */
bool listPop(request *r, listkey *lk, int where, long long n, char **copy, size_t *copylen) {
    sqlite3_stmt *s = stmtGet(r->st, where == LIST_HEAD ? SQL_POP_HEAD : SQL_POP_TAIL);
    if (!s) return storeFail(r, "list pop");
    sqlite3_bind_int64(s, 1, lk->id);
    sqlite3_bind_int64(s, 2, n);
    long long got = 0;
    int64_t last = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t len;
        const void *p = stmtColumnBlob(s, 1, &len);
        last = sqlite3_column_int64(s, 0);
        if (copy) {
            *copy = malloc(len + 1);
            if (!*copy) { stmtDone(s); return storeFail(r, "list pop (out of memory)"); }
            memcpy(*copy, p, len);
            *copylen = len;
        } else {
            addReplyBulk(r, p, len);
        }
        got++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE || got != n) {
        if (copy && got) { free(*copy); *copy = NULL; }
        return storeFail(r, "list pop");
    }
    lk->len -= n;
    return execIdPos(r, where == LIST_HEAD ? SQL_DEL_UPTO : SQL_DEL_FROM, lk->id, last, "list pop");
}

/* Position (and, through *sp, the row) of element `index` (0 <= index < len),
 * walking from the nearer end. Returns a statement on its row (the caller
 * reads column 0 = pos, 1 = value and calls stmtDone), or NULL after
 * storeFail. */
static sqlite3_stmt *listAt(request *r, const listkey *lk, long long index) {
    bool fwd = index <= lk->len - 1 - index;
    sqlite3_stmt *s = stmtGet(r->st, fwd ? SQL_AT_FWD : SQL_AT_BWD);
    if (!s) { storeFail(r, "list index"); return NULL; }
    sqlite3_bind_int64(s, 1, lk->id);
    sqlite3_bind_int64(s, 2, fwd ? index : lk->len - 1 - index);
    if (sqlite3_step(s) != SQLITE_ROW) {
        stmtDone(s);
        storeFail(r, "list index");
        return NULL;
    }
    return s;
}

static bool listPosAt(request *r, const listkey *lk, long long index, int64_t *pos) {
    sqlite3_stmt *s = listAt(r, lk, index);
    if (!s) return false;
    *pos = sqlite3_column_int64(s, 0);
    stmtDone(s);
    return true;
}

/* ---- push / pop -------------------------------------------------------- */

static void pushGeneric(request *r, int where, bool xx) {
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc < 0) return;
    if (rc == 0 && xx) { addReplyLongLong(r, 0); return; }
    if (!listPush(r, &lk, where, r->argv + 2, r->argvlen + 2, r->argc - 2)) return;
    if (!listCommit(r, &lk)) return;
    notifyKeyspaceEvent(r, NOTIFY_LIST, where == LIST_HEAD ? "lpush" : "rpush", r->db, r->argv[1], r->argvlen[1]);
    addReplyLongLong(r, lk.len);
}

void lpushCommand(request *r) { pushGeneric(r, LIST_HEAD, false); }
void rpushCommand(request *r) { pushGeneric(r, LIST_TAIL, false); }
void lpushxCommand(request *r) { pushGeneric(r, LIST_HEAD, true); }
void rpushxCommand(request *r) { pushGeneric(r, LIST_TAIL, true); }

static void popGeneric(request *r, int where) {
    if (r->argc > 3) { addReplyArityError(r); return; }
    bool hascount = r->argc == 3;
    long long count = 1;
    if (hascount && !getPositiveLongArg(r, 2, &count, "ERR value is out of range, must be positive")) return;
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc < 0) return;
    if (rc == 0) {
        if (hascount) addReplyNullArray(r);
        else addReplyNull(r);
        return;
    }
    if (hascount && count == 0) { addReplyArrayLen(r, 0); return; }
    long long n = count < lk.len ? count : lk.len;
    size_t mark = r->out->len;
    if (hascount) addReplyArrayLen(r, n);
    if (!listPop(r, &lk, where, n, NULL, NULL)) {
        discardDeferredReply(r, mark);
        return;
    }
    /* before the commit, which deletes an emptied list ("del" comes second) */
    notifyKeyspaceEvent(r, NOTIFY_LIST, where == LIST_HEAD ? "lpop" : "rpop", r->db, r->argv[1], r->argvlen[1]);
    if (!listCommit(r, &lk)) discardDeferredReply(r, mark);
}

void lpopCommand(request *r) { popGeneric(r, LIST_HEAD); }
void rpopCommand(request *r) { popGeneric(r, LIST_TAIL); }

/* ---- reads ------------------------------------------------------------- */

void llenCommand(request *r) {
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc >= 0) addReplyLongLong(r, lk.len);
}

void lindexCommand(request *r) {
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    long long index;
    if (rc == 0) addReplyNull(r);
    else if (rc > 0 && getLongLongArg(r, 2, &index, NULL)) {
        if (index < 0) index += lk.len;
        if (index < 0 || index >= lk.len) {
            addReplyNull(r);
        } else {
            sqlite3_stmt *s = listAt(r, &lk, index);
            if (s) {
                size_t len;
                const void *p = stmtColumnBlob(s, 1, &len);
                addReplyBulk(r, p, len);
                stmtDone(s);
            }
        }
    }
}

void lrangeCommand(request *r) {
    long long start, end;
    if (!getLongLongArg(r, 2, &start, NULL) || !getLongLongArg(r, 3, &end, NULL)) return;
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc < 0) return;
    long long llen = lk.len;
    if (start < 0) start += llen;
    if (end < 0) end += llen;
    if (start < 0) start = 0;
    if (rc == 0 || start > end || start >= llen) {
        addReplyArrayLen(r, 0);
        return;
    }
    if (end >= llen) end = llen - 1;
    long long n = end - start + 1;
    int64_t pos;
    if (!listPosAt(r, &lk, start, &pos)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL_RANGE);
    if (!s) { storeFail(r, "lrange"); return; }
    sqlite3_bind_int64(s, 1, lk.id);
    sqlite3_bind_int64(s, 2, pos);
    sqlite3_bind_int64(s, 3, n);
    size_t mark = r->out->len;
    addReplyArrayLen(r, n);
    long long got = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        size_t len;
        const void *p = stmtColumnBlob(s, 0, &len);
        addReplyBulk(r, p, len);
        got++;
    }
    stmtDone(s);
    if (got != n) { storeFail(r, "lrange"); discardDeferredReply(r, mark); }
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
void lposCommand(request *r) {
    long long rank = 1, count = -1, maxlen = 0;
    for (int j = 3; j < r->argc; j++) {
        bool more = j + 1 < r->argc;
        if (argIs(r, j, "rank") && more) {
            j++;
            if (!getLongLongArg(r, j, &rank, NULL)) return;
            if (rank == LLONG_MIN) {
                addReplyError(r, "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807");
                return;
            }
            if (rank == 0) {
                addReplyError(r, "ERR RANK can't be zero: use 1 to start from the first match, 2 from the "
                                 "second ... or use negative to start from the end of the list");
                return;
            }
        } else if (argIs(r, j, "count") && more) {
            j++;
            if (!getPositiveLongArg(r, j, &count, "ERR COUNT can't be negative")) return;
        } else if (argIs(r, j, "maxlen") && more) {
            j++;
            if (!getPositiveLongArg(r, j, &maxlen, "ERR MAXLEN can't be negative")) return;
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    bool fwd = rank > 0;
    if (rank < 0) rank = -rank;
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc <= 0) {
        if (rc == 0) {
            if (count != -1) addReplyArrayLen(r, 0);
            else addReplyNull(r);
        }
        return;
    }
    sqlite3_stmt *s = stmtGet(r->st, fwd ? SQL_SCAN_FWD : SQL_SCAN_BWD);
    if (!s) { storeFail(r, "lpos"); return; }
    sqlite3_bind_int64(s, 1, lk.id);
    sqlite3_bind_int64(s, 2, maxlen ? maxlen : -1);
    const char *ele = r->argv[2];
    size_t elen = r->argvlen[2];
    long long index = 0, matches = 0, found = -1;
    /* With COUNT the matches come before the reply header, whose length they fix. */
    size_t mark = addReplyDeferredLen(r);
    long long nout = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        size_t len;
        const void *p = stmtColumnBlob(s, 0, &len);
        if (len == elen && memcmp(p, ele, len) == 0) {
            matches++;
            if (matches >= rank) {
                long long mi = fwd ? index : lk.len - index - 1;
                if (count == -1) { found = mi; break; }
                addReplyLongLong(r, mi);
                nout++;
                if (count && matches - rank + 1 >= count) break;
            }
        }
        index++;
    }
    stmtDone(s);
    if (count != -1) setDeferredArrayLen(r, mark, nout);
    else if (found >= 0) addReplyLongLong(r, found);
    else addReplyNull(r);
}

/* ---- in-place writes --------------------------------------------------- */

void lsetCommand(request *r) {
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc < 0) return;
    if (rc == 0) { addReplyError(r, ERR_NO_KEY); return; }
    long long index;
    if (!getLongLongArg(r, 2, &index, NULL)) return;
    if (index < 0) index += lk.len;
    if (index < 0 || index >= lk.len) { addReplyError(r, "ERR index out of range"); return; }
    int64_t pos;
    if (!listPosAt(r, &lk, index, &pos)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL_SET);
    if (!s) { storeFail(r, "lset"); return; }
    sqlite3_bind_int64(s, 1, lk.id);
    sqlite3_bind_int64(s, 2, pos);
    sqlite3_bind_blob64(s, 3, r->argv[3], r->argvlen[3], SQLITE_STATIC);
    rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "lset"); return; }
    r->dirty++;
    keyTouched(r, r->db, lk.key, lk.klen);
    notifyKeyspaceEvent(r, NOTIFY_LIST, "lset", r->db, lk.key, lk.klen);
    addReplyOK(r);
}

void ltrimCommand(request *r) {
    long long start, end;
    if (!getLongLongArg(r, 2, &start, NULL) || !getLongLongArg(r, 3, &end, NULL)) return;
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc < 0) return;
    if (rc == 0) { addReplyOK(r); return; }
    long long llen = lk.len, ltrim, rtrim;
    if (start < 0) start += llen;
    if (end < 0) end += llen;
    if (start < 0) start = 0;
    if (start > end || start >= llen) {
        ltrim = llen;
        rtrim = 0;
    } else {
        if (end >= llen) end = llen - 1;
        ltrim = start;
        rtrim = llen - end - 1;
    }
    if (ltrim + rtrim >= llen) {
        lk.len = 0;
    } else {
        /* Both boundaries are found before anything is deleted: listAt()
         * counts offsets against the current length. */
        int64_t first = 0, last = 0;
        if (ltrim > 0 && !listPosAt(r, &lk, ltrim, &first)) return;
        if (rtrim > 0 && !listPosAt(r, &lk, llen - 1 - rtrim, &last)) return;
        if (ltrim > 0 && !execIdPos(r, SQL_DEL_BELOW, lk.id, first, "ltrim")) return;
        if (rtrim > 0 && !execIdPos(r, SQL_DEL_ABOVE, lk.id, last, "ltrim")) return;
        lk.len -= ltrim + rtrim;
    }
    /* Redis announces every LTRIM of an existing list, even one that removes
     * nothing; "del" (from listCommit) follows when it emptied the list. */
    notifyKeyspaceEvent(r, NOTIFY_LIST, "ltrim", r->db, lk.key, lk.klen);
    if (ltrim + rtrim > 0) {
        if (!listCommit(r, &lk)) return;
    } else {
        keyTouched(r, r->db, lk.key, lk.klen);
    }
    addReplyOK(r);
}

void lremCommand(request *r) {
    long long count;
    if (!getLongLongArg(r, 2, &count, NULL)) return;
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc < 0) return;
    if (rc == 0) { addReplyLongLong(r, 0); return; }
    const char *sql = count == 0 ? SQL_REM_ALL : count > 0 ? SQL_REM_FWD : SQL_REM_BWD;
    long long limit = count == LLONG_MIN ? LLONG_MAX : count < 0 ? -count : count;
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "lrem"); return; }
    sqlite3_bind_int64(s, 1, lk.id);
    sqlite3_bind_blob64(s, 2, r->argv[3], r->argvlen[3], SQLITE_STATIC);
    if (count) sqlite3_bind_int64(s, 3, limit);
    rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "lrem"); return; }
    long long removed = sqlite3_changes(storeDb(r->st));
    if (removed) {
        lk.len -= removed;
        notifyKeyspaceEvent(r, NOTIFY_LIST, "lrem", r->db, lk.key, lk.klen);
        if (!listCommit(r, &lk)) return;
    }
    addReplyLongLong(r, removed);
}

/* LINSERT key BEFORE|AFTER pivot element — see the header for the gaps. */
void linsertCommand(request *r) {
    bool after;
    if (argIs(r, 2, "after")) after = true;
    else if (argIs(r, 2, "before")) after = false;
    else { addReplySyntaxError(r); return; }
    listkey lk;
    int rc = listLookup(r, 1, &lk);
    if (rc < 0) return;
    if (rc == 0) { addReplyLongLong(r, 0); return; }
    int64_t pivot, nb, newpos;
    sqlite3_stmt *s = stmtGet(r->st, SQL_FIND);
    if (!s) { storeFail(r, "linsert"); return; }
    sqlite3_bind_int64(s, 1, lk.id);
    sqlite3_bind_blob64(s, 2, r->argv[3], r->argvlen[3], SQLITE_STATIC);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) pivot = sqlite3_column_int64(s, 0);
    stmtDone(s);
    if (rc == SQLITE_DONE) { addReplyLongLong(r, -1); return; }
    if (rc != SQLITE_ROW) { storeFail(r, "linsert"); return; }
    rc = queryPos(r, after ? SQL_NEXT : SQL_PREV, lk.id, true, pivot, &nb);
    if (rc < 0) { storeFail(r, "linsert"); return; }
    if (rc == 0) {
        newpos = after ? pivot + 1 : pivot - 1; /* the pivot is at an end */
    } else {
        int64_t lo = after ? pivot : nb, hi = after ? nb : pivot;
        if (hi - lo < 2) {
            /* No room: shift the shorter side away by LIST_GAP. */
            int64_t before_cnt;
            if (queryPos(r, SQL_COUNT_UPTO, lk.id, true, lo, &before_cnt) != 1) { storeFail(r, "linsert"); return; }
            bool down = before_cnt <= lk.len - before_cnt;
            s = stmtGet(r->st, down ? SQL_SHIFT_DOWN : SQL_SHIFT_UP);
            if (!s) { storeFail(r, "linsert"); return; }
            sqlite3_bind_int64(s, 1, lk.id);
            sqlite3_bind_int64(s, 2, down ? lo : hi);
            sqlite3_bind_int64(s, 3, LIST_GAP);
            rc = sqlite3_step(s);
            stmtDone(s);
            if (rc != SQLITE_DONE) { storeFail(r, "linsert"); return; }
            s = stmtGet(r->st, SQL_UNSHIFT);
            if (!s) { storeFail(r, "linsert"); return; }
            sqlite3_bind_int64(s, 1, lk.id);
            rc = sqlite3_step(s);
            stmtDone(s);
            if (rc != SQLITE_DONE) { storeFail(r, "linsert"); return; }
            if (down) lo -= LIST_GAP;
            else hi += LIST_GAP;
        }
        newpos = lo + (hi - lo) / 2;
    }
    s = stmtGet(r->st, SQL_INSERT);
    if (!s) { storeFail(r, "linsert"); return; }
    sqlite3_bind_int64(s, 1, lk.id);
    sqlite3_bind_int64(s, 2, newpos);
    sqlite3_bind_blob64(s, 3, r->argv[4], r->argvlen[4], SQLITE_STATIC);
    rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "linsert"); return; }
    lk.len++;
    if (!listCommit(r, &lk)) return;
    notifyKeyspaceEvent(r, NOTIFY_LIST, "linsert", r->db, lk.key, lk.klen);
    addReplyLongLong(r, lk.len);
}

/* ---- registration ------------------------------------------------------ */

#define W (CMD_WRITE | CMD_DENYOOM)
#define WF (CMD_WRITE | CMD_FAST)
#define R (CMD_READONLY | CMD_FAST)
static const command list_commands[] = {
    {"lpush", lpushCommand, -3, W | CMD_FAST, 1, 1, 1, "list", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0", NULL},
    {"rpush", rpushCommand, -3, W | CMD_FAST, 1, 1, 1, "list", "Appends one or more elements to a list. Creates the key if it doesn't exist.", "1.0.0", NULL},
    {"lpushx", lpushxCommand, -3, W | CMD_FAST, 1, 1, 1, "list", "Prepends one or more elements to a list only when the list exists.", "2.2.0", NULL},
    {"rpushx", rpushxCommand, -3, W | CMD_FAST, 1, 1, 1, "list", "Appends an element to a list only when the list exists.", "2.2.0", NULL},
    {"lpop", lpopCommand, -2, WF, 1, 1, 1, "list", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "1.0.0", NULL},
    {"rpop", rpopCommand, -2, WF, 1, 1, 1, "list", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "1.0.0", NULL},
    {"llen", llenCommand, 2, R, 1, 1, 1, "list", "Returns the length of a list.", "1.0.0", NULL},
    {"lrange", lrangeCommand, 4, CMD_READONLY, 1, 1, 1, "list", "Returns a range of elements from a list.", "1.0.0", NULL},
    {"lindex", lindexCommand, 3, CMD_READONLY, 1, 1, 1, "list", "Returns an element from a list by its index.", "1.0.0", NULL},
    {"lpos", lposCommand, -3, CMD_READONLY, 1, 1, 1, "list", "Returns the index of matching elements in a list.", "6.0.6", NULL},
    {"lset", lsetCommand, 4, W, 1, 1, 1, "list", "Sets the value of an element in a list by its index.", "1.0.0", NULL},
    {"lrem", lremCommand, 4, CMD_WRITE, 1, 1, 1, "list", "Removes elements from a list. Deletes the list if the last element was removed.", "1.0.0", NULL},
    {"ltrim", ltrimCommand, 4, CMD_WRITE, 1, 1, 1, "list", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "1.0.0", NULL},
    {"linsert", linsertCommand, 5, W, 1, 1, 1, "list", "Inserts an element before or after another element in a list.", "2.2.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* OBJECT ENCODING: Redis 7.2 keeps a list in one listpack while it fits in
 * list-max-listpack-size (-2: 8 KB), converting both ways, else in a
 * quicklist. A listpack entry costs its bytes plus at least 2 (encoding
 * and back-length), so more than 4096 elements never fit. */
#define LIST_LISTPACK_BYTES 8192
static const char *listEncoding(request *r, int64_t id, long long count, int enc) {
    (void)enc;
    long long bytes = 0;
    if (count > LIST_LISTPACK_BYTES / 2) return "quicklist";
    if (!storeIdScalar(r, "SELECT sum(length(value)) + 2 * count(*) FROM list_items WHERE id=?1", id, &bytes))
        return NULL;
    return bytes + 7 <= LIST_LISTPACK_BYTES ? "listpack" : "quicklist"; /* + the listpack's header and end */
}

void listRegister(void) {
    storeRegisterSchema(LIST_SCHEMA);
    storeRegisterCopy(OBJ_LIST, "INSERT INTO list_items(id, pos, value) SELECT ?2, pos, value FROM list_items WHERE id=?1");
    storeRegisterEncoding(OBJ_LIST, listEncoding);
    commandRegisterTable(list_commands);
    listBlockRegister();
}
