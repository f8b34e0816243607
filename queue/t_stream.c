/*
 * t_stream.c — the stream type, the part of Redis Streams (7.2 semantics)
 * that job libraries use to keep results: XADD XLEN XRANGE XREVRANGE XDEL
 * XTRIM. XREAD, consumer groups (XGROUP XREADGROUP XACK XPENDING XCLAIM
 * XAUTOCLAIM), XINFO and XSETID are not implemented and stay unknown
 * commands.
 *
 * Storage
 *   stream_entries(id, ms, seq, fields) WITHOUT ROWID, PRIMARY KEY(id, ms, seq)
 *     id       keys.id of the stream
 *     ms, seq  the entry id. Both halves are unsigned 64-bit in Redis; each is
 *              stored with its top bit flipped (u ^ 2^63, ID_SQL below), so
 *              SQLite's signed INTEGER order is the unsigned order of ids:
 *              0 is stored as INT64_MIN, 2^64-1 as INT64_MAX.
 *     fields   a msgpack array of 2n bin objects: field, value, field, ...
 *   stream_meta(id, last_ms, last_seq) WITHOUT ROWID, PRIMARY KEY(id)
 *     the greatest id ever added to the stream (same encoding)
 *   keys.value  the entry count, so XLEN is one lookup
 *
 * Invariants
 *  - Every stream key has exactly one stream_meta row, and its last id is
 *    >= every entry id. XADD accepts only ids above it, so an id is never
 *    reused, even after XDEL or XTRIM removed the entries at the top.
 *  - A stream may hold 0 entries and still exist (Redis keeps emptied
 *    streams; only XADD creates one). So the count is written here with
 *    setCount(), never keySetCount(), which deletes a key at 0.
 *  - The AFTER DELETE trigger on keys removes the entries and the meta row
 *    (DEL, expiry, FLUSHDB, overwrites); RENAME and MOVE keep keys.id and so
 *    the data; COPY runs the two statements registered below.
 *
 * Why a meta table and not a keys column: keys.value is the count every
 * typed lookup already reads, and keys.enc is a small flag; the last id is
 * two 64-bit numbers that only XADD needs, one primary-key probe away.
 *
 * Cost: XADD is one insert and one meta upsert; a range is one seek on the
 * primary key (row values are range constraints to SQLite) plus the rows it
 * returns, from either end, so XREVRANGE key + - COUNT 1 reads one row.
 *
 * Trimming: "=" and no modifier trim exactly, as Redis. With "~" Redis frees
 * only whole radix-tree nodes (up to 100 entries each), so it may keep more
 * entries than asked. Solidis has no nodes and trims "~" exactly too, capped
 * as Redis caps it: by LIMIT, or by 10000 entries (100 * the default
 * stream-node-max-entries) without LIMIT. Only XLEN, XRANGE and XTRIM's
 * deleted count can show the difference; XADD's reply never does.
 */
#include "queue_internal.h"
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STREAM_APPROX_LIMIT 10000 /* Redis: 100 * stream-node-max-entries */

typedef struct streamID {
    uint64_t ms, seq;
} streamID;

#define ID_SQL(u) ((sqlite3_int64)((u) ^ 0x8000000000000000ULL))
#define ID_C(v) ((uint64_t)(v) ^ 0x8000000000000000ULL)

static const char STREAM_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS stream_entries(id INTEGER NOT NULL, ms INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " fields BLOB NOT NULL, PRIMARY KEY(id, ms, seq)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS stream_meta(id INTEGER NOT NULL PRIMARY KEY, last_ms INTEGER NOT NULL,"
    " last_seq INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TRIGGER IF NOT EXISTS stream_gc_delete AFTER DELETE ON keys WHEN old.type=5 BEGIN"
    " DELETE FROM stream_entries WHERE id=old.id; DELETE FROM stream_meta WHERE id=old.id; END;";

static const char SQL_LAST[] = "SELECT last_ms, last_seq FROM stream_meta WHERE id=?1";
static const char SQL_SET_LAST[] = "INSERT OR REPLACE INTO stream_meta(id, last_ms, last_seq) VALUES(?1, ?2, ?3)";
static const char SQL_INSERT[] = "INSERT INTO stream_entries(id, ms, seq, fields) VALUES(?1, ?2, ?3, ?4)";
static const char SQL_DELETE[] = "DELETE FROM stream_entries WHERE id=?1 AND ms=?2 AND seq=?3";
static const char SQL_SET_COUNT[] = "UPDATE keys SET value=?3 WHERE db=?1 AND key=?2";
/* The oldest ?4 entries (-1: all) with ids <= (?2, ?3). */
static const char SQL_TRIM[] =
    "DELETE FROM stream_entries WHERE id=?1 AND (ms, seq) IN (SELECT ms, seq FROM stream_entries"
    " WHERE id=?1 AND (ms, seq) <= (?2, ?3) ORDER BY ms, seq LIMIT ?4)";
#define RANGE_SQL "SELECT ms, seq, fields FROM stream_entries WHERE id=?1 AND (ms, seq) >= (?2, ?3) AND (ms, seq) <= (?4, ?5)"
static const char SQL_RANGE[] = RANGE_SQL " ORDER BY ms, seq LIMIT ?6";
static const char SQL_REVRANGE[] = RANGE_SQL " ORDER BY ms DESC, seq DESC LIMIT ?6";

static int compareID(streamID a, streamID b) {
    if (a.ms != b.ms) return a.ms < b.ms ? -1 : 1;
    return a.seq < b.seq ? -1 : a.seq > b.seq;
}

/* Redis's streamIncrID / streamDecrID: false when there is no next (previous) id. */
static bool incrID(streamID *id) {
    if (id->seq != UINT64_MAX) { id->seq++; return true; }
    if (id->ms == UINT64_MAX) return false;
    id->ms++;
    id->seq = 0;
    return true;
}

static bool decrID(streamID *id) {
    if (id->seq != 0) { id->seq--; return true; }
    if (id->ms == 0) return false;
    id->ms--;
    id->seq = UINT64_MAX;
    return true;
}

static void addReplyStreamID(request *r, streamID id) {
    char buf[48];
    int n = snprintf(buf, sizeof(buf), "%" PRIu64 "-%" PRIu64, id.ms, id.seq);
    addReplyBulk(r, buf, (size_t)n);
}

/* ---- argument parsing --------------------------------------------------- */

/* Redis's string2ull: what string2ll takes if not negative, else whatever
 * strtoull takes whole (so " 5" and "+5" are numbers in stream ids there). */
static bool string2ull(const char *s, uint64_t *v) {
    long long ll;
    if (string2ll(s, strlen(s), &ll)) {
        if (ll < 0) return false;
        *v = (uint64_t)ll;
        return true;
    }
    errno = 0;
    char *end = NULL;
    unsigned long long u = strtoull(s, &end, 10);
    if (errno == EINVAL || errno == ERANGE || !(*s != '\0' && *end == '\0')) return false;
    *v = u;
    return true;
}

/* Redis's streamGenericParseIDOrReply: "ms-seq", "ms" (seq = missing_seq),
 * "-" and "+" unless strict; "ms-*" only where seq_given is asked for (it
 * is then false). Works on a C-string copy as Redis does. */
static bool parseID(request *r, const char *arg, size_t len, streamID *id, uint64_t missing_seq, bool strict,
                    bool *seq_given) {
    char buf[128];
    if (len > sizeof(buf) - 1) goto invalid;
    memcpy(buf, arg, len);
    buf[len] = '\0';
    if (strict && (buf[0] == '-' || buf[0] == '+') && buf[1] == '\0') goto invalid;
    if (seq_given) *seq_given = true;
    if (buf[0] == '-' && buf[1] == '\0') { *id = (streamID){0, 0}; return true; }
    if (buf[0] == '+' && buf[1] == '\0') { *id = (streamID){UINT64_MAX, UINT64_MAX}; return true; }
    char *dash = strchr(buf, '-');
    if (dash) *dash = '\0';
    uint64_t ms, seq = missing_seq;
    if (!string2ull(buf, &ms)) goto invalid;
    if (dash) {
        if (seq_given && strcmp(dash + 1, "*") == 0) {
            seq = 0;
            *seq_given = false;
        } else if (!string2ull(dash + 1, &seq)) {
            goto invalid;
        }
    }
    id->ms = ms;
    id->seq = seq;
    return true;
invalid:
    addReplyError(r, "ERR Invalid stream ID specified as stream command argument");
    return false;
}

static bool parseArgID(request *r, int idx, streamID *id, uint64_t missing_seq, bool strict, bool *seq_given) {
    return parseID(r, r->argv[idx], r->argvlen[idx], id, missing_seq, strict, seq_given);
}

/* An XRANGE bound: an id, or "(id" for an exclusive one. */
static bool parseIntervalID(request *r, int idx, streamID *id, bool *exclusive, uint64_t missing_seq) {
    *exclusive = r->argvlen[idx] > 1 && r->argv[idx][0] == '(';
    if (*exclusive) return parseID(r, r->argv[idx] + 1, r->argvlen[idx] - 1, id, missing_seq, true, NULL);
    return parseArgID(r, idx, id, missing_seq, false, NULL);
}

enum { TRIM_NONE, TRIM_MAXLEN, TRIM_MINID };

typedef struct addTrimArgs {
    int strategy;
    bool approx;
    long long maxlen;
    streamID minid;
    long long limit;      /* entries a trim may delete, 0 = no limit */
    bool nomkstream;
    bool id_given, seq_given;
    streamID id;
} addTrimArgs;

/* Redis's streamParseAddOrTrimArgsOrReply, error for error: the options of
 * XADD (xadd) or XTRIM from argv[2] on. Returns the index of XADD's id
 * argument (argc when there is none; XTRIM: argc), or -1 after replying. */
static int parseAddTrim(request *r, addTrimArgs *a, bool xadd) {
    memset(a, 0, sizeof(*a));
    bool limit_given = false;
    int i = 2;
    for (; i < r->argc; i++) {
        int more = r->argc - 1 - i;
        if (xadd && r->argvlen[i] == 1 && r->argv[i][0] == '*') break; /* the common auto id */
        bool maxlen = argIs(r, i, "maxlen");
        if ((maxlen || argIs(r, i, "minid")) && more) {
            if (a->strategy != TRIM_NONE) {
                addReplyError(r, "ERR syntax error, MAXLEN and MINID options at the same time are not compatible");
                return -1;
            }
            a->approx = false;
            if (more >= 2 && (argIs(r, i + 1, "~") || argIs(r, i + 1, "="))) a->approx = r->argv[++i][0] == '~';
            if (maxlen) {
                if (!getLongLongArg(r, i + 1, &a->maxlen, NULL)) return -1;
                if (a->maxlen < 0) { addReplyError(r, "ERR The MAXLEN argument must be >= 0."); return -1; }
            } else if (!parseArgID(r, i + 1, &a->minid, 0, true, NULL)) {
                return -1;
            }
            i++;
            a->strategy = maxlen ? TRIM_MAXLEN : TRIM_MINID;
        } else if (argIs(r, i, "limit") && more) {
            if (!getLongLongArg(r, i + 1, &a->limit, NULL)) return -1;
            if (a->limit < 0) { addReplyError(r, "ERR The LIMIT argument must be >= 0."); return -1; }
            limit_given = true;
            i++;
        } else if (xadd && argIs(r, i, "nomkstream")) {
            a->nomkstream = true;
        } else if (xadd) { /* the id, or a syntax error Redis reports as a bad id */
            if (!parseArgID(r, i, &a->id, 0, true, &a->seq_given)) return -1;
            a->id_given = true;
            break;
        } else {
            addReplySyntaxError(r);
            return -1;
        }
    }
    if (a->limit && a->strategy == TRIM_NONE) {
        addReplyError(r, "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy");
        return -1;
    }
    if (!xadd && a->strategy == TRIM_NONE) {
        addReplyError(r, "ERR syntax error, XTRIM must be called with a trimming strategy");
        return -1;
    }
    if (limit_given && !a->approx) {
        addReplyError(r, "ERR syntax error, LIMIT cannot be used without the special ~ option");
        return -1;
    }
    if (!limit_given) a->limit = a->approx ? STREAM_APPROX_LIMIT : 0;
    return i;
}

/* ---- storage ------------------------------------------------------------ */

static bool loadLastID(request *r, int64_t id, streamID *last) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_LAST);
    if (!s) return storeFail(r, "stream");
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    *last = (streamID){0, 0};
    if (rc == SQLITE_ROW) *last = (streamID){ID_C(sqlite3_column_int64(s, 0)), ID_C(sqlite3_column_int64(s, 1))};
    stmtDone(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? true : storeFail(r, "stream");
}

/* Bind (ms, seq) of `id` at ?first and ?first+1. */
static void bindID(sqlite3_stmt *s, int first, streamID id) {
    sqlite3_bind_int64(s, first, ID_SQL(id.ms));
    sqlite3_bind_int64(s, first + 1, ID_SQL(id.seq));
}

/* Run a statement taking a stream id and an entry id; returns changes or -1. */
static long long execID(request *r, const char *sql, int64_t sid, streamID id, long long extra) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "stream"); return -1; }
    sqlite3_bind_int64(s, 1, sid);
    bindID(s, 2, id);
    if (sql == SQL_TRIM) sqlite3_bind_int64(s, 4, extra);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "stream"); return -1; }
    return sqlite3_changes(storeDb(r->st));
}

static bool setCount(request *r, long long count) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_SET_COUNT);
    if (!s) return storeFail(r, "stream");
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, count);
    int rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE ? true : storeFail(r, "stream");
}

/* Insert entry `id` of stream `sid` with the field/value pairs argv[first..]. */
static bool insertEntry(request *r, int64_t sid, streamID id, int first) {
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    msgpack_packer pk;
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    bool ok = msgpack_pack_array(&pk, (size_t)(r->argc - first)) == 0;
    for (int i = first; ok && i < r->argc; i++)
        ok = msgpack_pack_bin(&pk, r->argvlen[i]) == 0 && msgpack_pack_bin_body(&pk, r->argv[i], r->argvlen[i]) == 0;
    if (!ok) {
        msgpack_sbuffer_destroy(&sb);
        addReplyError(r, "ERR out of memory");
        return false;
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_INSERT);
    if (!s) { msgpack_sbuffer_destroy(&sb); return storeFail(r, "xadd"); }
    sqlite3_bind_int64(s, 1, sid);
    bindID(s, 2, id);
    sqlite3_bind_blob(s, 4, sb.data ? sb.data : "", (int)sb.size, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    msgpack_sbuffer_destroy(&sb);
    return rc == SQLITE_DONE ? true : storeFail(r, "xadd");
}

/* Trim stream `sid` holding `count` entries as `a` asks; returns the number
 * of entries deleted, or -1 after a storage error. */
static long long trimEntries(request *r, int64_t sid, long long count, const addTrimArgs *a) {
    streamID upto = {UINT64_MAX, UINT64_MAX};
    long long n = a->limit ? a->limit : -1;
    if (a->strategy == TRIM_MAXLEN) {
        if (count <= a->maxlen) return 0;
        if (n < 0 || count - a->maxlen < n) n = count - a->maxlen;
    } else {
        upto = a->minid; /* entries below MINID go */
        if (!decrID(&upto)) return 0;
    }
    return execID(r, SQL_TRIM, sid, upto, n);
}

/* ---- replies ------------------------------------------------------------ */

/* Reply the current row (ms, seq, fields) as [id, [field, value, ...]].
 * `u` is reused across rows (each unpack frees the previous zone). */
static bool replyEntry(request *r, sqlite3_stmt *s, msgpack_unpacked *u) {
    size_t len, off = 0;
    const char *blob = stmtColumnBlob(s, 2, &len);
    if (msgpack_unpack_next(u, blob, len, &off) != MSGPACK_UNPACK_SUCCESS || u->data.type != MSGPACK_OBJECT_ARRAY)
        goto corrupt;
    const msgpack_object_array *arr = &u->data.via.array;
    for (uint32_t i = 0; i < arr->size; i++)
        if (arr->ptr[i].type != MSGPACK_OBJECT_BIN) goto corrupt;
    addReplyArrayLen(r, 2);
    addReplyStreamID(r, (streamID){ID_C(sqlite3_column_int64(s, 0)), ID_C(sqlite3_column_int64(s, 1))});
    addReplyArrayLen(r, arr->size);
    for (uint32_t i = 0; i < arr->size; i++) addReplyBulk(r, arr->ptr[i].via.bin.ptr, arr->ptr[i].via.bin.size);
    return true;
corrupt:
    addReplyError(r, "ERR corrupt stream entry");
    return false;
}

/* ---- commands ----------------------------------------------------------- */

/* XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] <*|id> field value [field value ...] */
static void xaddCommand(request *r) {
    addTrimArgs a;
    int idpos = parseAddTrim(r, &a, true);
    if (idpos < 0) return;
    int first = idpos + 1;
    if (r->argc - first < 2 || (r->argc - first) % 2) { addReplyArityError(r); return; }
    /* Before the lookup, as Redis: 0-0 never creates a key. */
    if (a.id_given && a.seq_given && a.id.ms == 0 && a.id.seq == 0) {
        addReplyError(r, "ERR The ID specified in XADD must be greater than 0-0");
        return;
    }
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_STREAM, &k);
    if (found < 0) return;
    if (!found && a.nomkstream) { addReplyNull(r); return; }
    streamID last = {0, 0}, id;
    if (found && !loadLastID(r, k.id, &last)) return;
    if (last.ms == UINT64_MAX && last.seq == UINT64_MAX) {
        addReplyError(r, "ERR The stream has exhausted the last possible ID, unable to add more items");
        return;
    }
    if (a.id_given && a.seq_given) {
        id = a.id;
    } else if (a.id_given) { /* ms-*: the next seq of that ms */
        id = a.id;
        if (last.ms == id.ms) {
            id = last;
            if (id.seq != UINT64_MAX) id.seq++; /* else rejected below, never carried into ms */
        }
    } else if ((uint64_t)r->now_ms > last.ms) {
        id = (streamID){(uint64_t)r->now_ms, 0};
    } else {
        id = last;
        incrID(&id);
    }
    if (compareID(id, last) <= 0) {
        addReplyError(r, "ERR The ID specified in XADD is equal or smaller than the target stream top item");
        return;
    }
    int64_t sid = found ? k.id : keyNewId(r);
    if (!insertEntry(r, sid, id, first)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL_SET_LAST);
    if (!s) { storeFail(r, "xadd"); return; }
    sqlite3_bind_int64(s, 1, sid);
    bindID(s, 2, id);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "xadd"); return; }
    long long count = (found ? k.count : 0) + 1, deleted = 0;
    if (a.strategy != TRIM_NONE && (deleted = trimEntries(r, sid, count, &a)) < 0) return;
    count -= deleted;
    if (!(found ? setCount(r, count) : keyCreate(r, r->db, r->argv[1], r->argvlen[1], sid, OBJ_STREAM, count, 0)))
        return;
    keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
    notifyKeyspaceEvent(r, NOTIFY_STREAM, "xadd", r->db, r->argv[1], r->argvlen[1]);
    if (deleted) notifyKeyspaceEvent(r, NOTIFY_STREAM, "xtrim", r->db, r->argv[1], r->argvlen[1]);
    r->dirty++;
    addReplyStreamID(r, id);
}

/* XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count] */
static void xtrimCommand(request *r) {
    addTrimArgs a;
    if (parseAddTrim(r, &a, false) < 0) return;
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_STREAM, &k);
    if (found <= 0) { if (found == 0) addReplyLongLong(r, 0); return; }
    long long deleted = trimEntries(r, k.id, k.count, &a);
    if (deleted < 0) return;
    if (deleted) {
        if (!setCount(r, k.count - deleted)) return;
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        notifyKeyspaceEvent(r, NOTIFY_STREAM, "xtrim", r->db, r->argv[1], r->argvlen[1]);
        r->dirty += (int)deleted;
    }
    addReplyLongLong(r, deleted);
}

/* XDEL key id [id ...] */
static void xdelCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_STREAM, &k);
    if (found <= 0) { if (found == 0) addReplyLongLong(r, 0); return; }
    /* Every id is checked before any is deleted, as Redis does. */
    int n = r->argc - 2;
    streamID *ids = malloc(sizeof(streamID) * (size_t)n);
    if (!ids) { addReplyError(r, "ERR out of memory"); return; }
    long long deleted = 0;
    for (int i = 0; i < n; i++)
        if (!parseArgID(r, i + 2, &ids[i], 0, true, NULL)) goto done;
    for (int i = 0; i < n && deleted < k.count; i++) {
        long long ch = execID(r, SQL_DELETE, k.id, ids[i], 0);
        if (ch < 0) goto done;
        deleted += ch;
    }
    if (deleted) {
        if (!setCount(r, k.count - deleted)) goto done;
        keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
        notifyKeyspaceEvent(r, NOTIFY_STREAM, "xdel", r->db, r->argv[1], r->argvlen[1]);
        r->dirty += (int)deleted;
    }
    addReplyLongLong(r, deleted);
done:
    free(ids);
}

static void xlenCommand(request *r) {
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_STREAM, &k);
    if (found >= 0) addReplyLongLong(r, found ? k.count : 0);
}

/* XRANGE key start end [COUNT n] / XREVRANGE key end start [COUNT n] */
static void rangeGeneric(request *r, bool rev) {
    streamID start, end;
    bool startex, endex;
    long long count = -1;
    if (!parseIntervalID(r, rev ? 3 : 2, &start, &startex, 0)) return;
    if (startex && !incrID(&start)) { addReplyError(r, "ERR invalid start ID for the interval"); return; }
    if (!parseIntervalID(r, rev ? 2 : 3, &end, &endex, UINT64_MAX)) return;
    if (endex && !decrID(&end)) { addReplyError(r, "ERR invalid end ID for the interval"); return; }
    for (int i = 4; i < r->argc; i++) {
        if (argIs(r, i, "count") && i + 1 < r->argc) {
            if (!getLongLongArg(r, ++i, &count, NULL)) return;
            if (count < 0) count = 0;
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    keyrow k;
    int found = lookupTyped(r, 1, OBJ_STREAM, &k);
    if (found <= 0) { if (found == 0) addReplyArrayLen(r, 0); return; }
    if (count == 0) { addReplyNullArray(r); return; } /* Redis's answer to COUNT 0 on a stream */
    sqlite3_stmt *s = stmtGet(r->st, rev ? SQL_REVRANGE : SQL_RANGE);
    if (!s) { storeFail(r, "xrange"); return; }
    sqlite3_bind_int64(s, 1, k.id);
    bindID(s, 2, start);
    bindID(s, 4, end);
    sqlite3_bind_int64(s, 6, count);
    size_t mark = addReplyDeferredLen(r);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    long n = 0;
    int rc;
    bool ok = true;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && (ok = replyEntry(r, s, &u))) n++;
    msgpack_unpacked_destroy(&u);
    stmtDone(s);
    if (ok && rc != SQLITE_DONE) ok = storeFail(r, "xrange");
    if (!ok) { discardDeferredReply(r, mark); return; }
    setDeferredArrayLen(r, mark, n);
}

static void xrangeCommand(request *r) { rangeGeneric(r, false); }
static void xrevrangeCommand(request *r) { rangeGeneric(r, true); }

static const command stream_commands[] = {
    {"xadd", xaddCommand, -5, CMD_WRITE | CMD_DENYOOM | CMD_FAST, 1, 1, 1, "stream", "Appends a new message to a stream. Creates the key if it doesn't exist.", "5.0.0", NULL},
    {"xtrim", xtrimCommand, -4, CMD_WRITE, 1, 1, 1, "stream", "Deletes messages from the beginning of a stream.", "5.0.0", NULL},
    {"xdel", xdelCommand, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "stream", "Returns the number of messages after removing them from a stream.", "5.0.0", NULL},
    {"xlen", xlenCommand, 2, CMD_READONLY | CMD_FAST, 1, 1, 1, "stream", "Return the number of messages in a stream.", "5.0.0", NULL},
    {"xrange", xrangeCommand, -4, CMD_READONLY, 1, 1, 1, "stream", "Returns the messages from a stream within a range of IDs.", "5.0.0", NULL},
    {"xrevrange", xrevrangeCommand, -4, CMD_READONLY, 1, 1, 1, "stream", "Returns the messages from a stream within a range of IDs in reverse order.", "5.0.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

static const char *streamEncoding(request *r, int64_t id, long long count, int enc) {
    (void)r, (void)id, (void)count, (void)enc;
    return "stream";
}

void streamRegister(void) {
    storeRegisterSchema(STREAM_SCHEMA);
    storeRegisterCopy(OBJ_STREAM, "INSERT INTO stream_entries(id, ms, seq, fields) SELECT ?2, ms, seq, fields FROM stream_entries WHERE id=?1");
    storeRegisterCopy(OBJ_STREAM, "INSERT INTO stream_meta(id, last_ms, last_seq) SELECT ?2, last_ms, last_seq FROM stream_meta WHERE id=?1");
    storeRegisterEncoding(OBJ_STREAM, streamEncoding);
    commandRegisterTable(stream_commands);
}
