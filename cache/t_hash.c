/*
 * t_hash.c — hashes: the storage every hash command shares (t_hash.h) and
 * HSET HSETNX HMSET HGET HMGET HGETALL HKEYS HVALS HDEL HEXISTS HLEN HSTRLEN
 * HINCRBY HINCRBYFLOAT HSCAN HRANDFIELD. The per-field TTLs of Redis 7.4
 * (HEXPIRE ... HPERSIST) and the sweeper that deletes expired fields are in
 * t_hash_ttl.c.
 *
 * Storage
 * -------
 *   hashes(id, field, seq, value, expires_at)  WITHOUT ROWID, PRIMARY KEY(id, field)
 *     id          keys.id of the hash (the keys row has type OBJ_HASH)
 *     seq         per-hash insertion number: max(seq)+1 of the hash when the
 *                 field is created, kept when its value is overwritten. It is
 *                 the HSCAN cursor and the HGETALL/HKEYS/HVALS order, which is
 *                 the order Redis gives for small (listpack) hashes.
 *     expires_at  absolute unix ms of the field's TTL, NULL when none
 *   hashes_by_seq(id, seq)                               HSCAN / HGETALL order
 *   hashes_expiring(expires_at) partial                  the sweeper's work list
 *   hashes_key_expiring(id, expires_at) partial          expired fields of one key
 *   keys.value of a hash = the number of rows it has in `hashes` (keyrow.count,
 *   kept by keyCreate/keySetCount).
 *
 * Field TTLs. A field whose expires_at <= now is gone for every reader at
 * once: reads filter it in SQL. HLEN stays O(1)-ish: it is keys.value minus
 * the count of the key's fields already past their time, counted through the
 * partial index hashes_key_expiring, which holds only fields that have a TTL;
 * a hash none of whose fields ever had one (keys.enc is not
 * HASH_ENC_FIELD_TTL, set by t_hash_ttl.c) skips even that seek, which was
 * a sixteenth of an HSET. A write command first
 * deletes the key's expired fields (one indexed DELETE, run only when the
 * lookup saw some), so writers only ever see live rows and keys.value stays
 * exact. In the background the sweeper (t_hash_ttl.c) deletes expired
 * fields and fixes the counts. As in Redis, a key whose fields have all
 * expired but are not swept yet still EXISTS for that short while, while
 * HLEN/HGETALL already show it empty.
 *
 * Reads that need more than one statement (HMGET, HSCAN, HRANDFIELD, HTTL...)
 * see a single snapshot without opening a transaction: the core runs every
 * command inside one (see server.h).
 */
#include "t_hash.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Redis keeps a hash in a listpack (HSCAN returns it whole from cursor 0)
 * while it has at most hash-max-listpack-entries fields, none of them and
 * none of their values longer than hash-max-listpack-value bytes. */
#define HASH_SMALL 512
#define HASH_SMALL_VALUE 64

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS hashes("
    "  id INTEGER NOT NULL, field BLOB NOT NULL, seq INTEGER NOT NULL, value BLOB, expires_at INTEGER,"
    "  PRIMARY KEY(id, field)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS hashes_by_seq ON hashes(id, seq);"
    "CREATE INDEX IF NOT EXISTS hashes_expiring ON hashes(expires_at) WHERE expires_at IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS hashes_key_expiring ON hashes(id, expires_at) WHERE expires_at IS NOT NULL;"
    "CREATE TRIGGER IF NOT EXISTS hashes_gc_delete AFTER DELETE ON keys WHEN old.type=4 "
    "BEGIN DELETE FROM hashes WHERE id=old.id; END;";

/* Writer's connection, at open: every hash with a field TTL must carry
 * HASH_ENC_FIELD_TTL. Files from before the mark, and files an older build
 * has run on since (a downgrade and back), hold hashes whose fields got
 * TTLs without it. Either changed the schema since the last pass (an older
 * build re-creates job triggers this one drops), so the marks are rebuilt,
 * one pass over `keys`, whenever the schema cookie differs from the one
 * recorded after that pass; a plain restart changes nothing and pays
 * nothing. */
static int hashMarkFieldTtls(sqlite3 *db) {
    sqlite3_stmt *s;
    long long cookie = -1, recorded = -2;
    if (sqlite3_prepare_v2(db, "PRAGMA schema_version", -1, &s, NULL) != SQLITE_OK) return SQLITE_ERROR;
    if (sqlite3_step(s) == SQLITE_ROW) cookie = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name='hash_field_ttl_marks'", -1, &s, NULL) != SQLITE_OK)
        return SQLITE_ERROR;
    if (sqlite3_step(s) == SQLITE_ROW) recorded = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (cookie == recorded) return SQLITE_OK;
    int rc = sqlite3_exec(db,
                          "BEGIN;"
                          "UPDATE keys SET enc=" HASH_ENC_FIELD_TTL_SQL " WHERE type=4"
                          "  AND enc IS NOT " HASH_ENC_FIELD_TTL_SQL
                          "  AND id IN (SELECT id FROM hashes WHERE expires_at IS NOT NULL);",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES('hash_field_ttl_marks', ?1)", -1, &s, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_int64(s, 1, cookie);
        rc = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
        sqlite3_finalize(s);
    }
    if (rc == SQLITE_OK) rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* ---- SQL ---------------------------------------------------------------- */

/* A found hash's fields already past their TTL (an empty seek of the partial
 * index for a hash that never had field TTLs). */
static const char SQL_HASH_EXPIRED[] = "SELECT count(*) FROM hashes WHERE id=?1 AND expires_at<=?2";
/* A writer's first new field of a command goes above the highest seq. */
static const char SQL_HASH_MAX_SEQ[] = "SELECT max(seq) FROM hashes WHERE id=?1";
static const char SQL_PURGE_KEY[] = "DELETE FROM hashes WHERE id=?1 AND expires_at<=?2";

/* One field together with its key: a single statement, a single snapshot. */
static const char SQL_FIELD_GET[] =
    "SELECT k.type, k.expires_at, h.seq, h.value, h.expires_at FROM keys k "
    "LEFT JOIN hashes h ON h.id=k.id AND h.field=?3 WHERE k.db=?1 AND k.key=?2";
const char SQL_HASH_FIELD_ROW[] = "SELECT value, expires_at FROM hashes WHERE id=?1 AND field=?2";
/* Setting a field: an insert that does nothing on an existing field tells a
 * created field (seq ?4, above every seq of the hash) from an overwritten one,
 * which an UPDATE then changes in place, keeping its seq. (RETURNING would do
 * it in one statement but costs SQLite an ephemeral table per call.) */
static const char SQL_FIELD_INSERT[] =
    "INSERT INTO hashes(id, field, seq, value) VALUES(?1, ?2, ?4, ?3) ON CONFLICT(id, field) DO NOTHING";
static const char SQL_FIELD_UPDATE[] = "UPDATE hashes SET value=?3, expires_at=NULL WHERE id=?1 AND field=?2";
static const char SQL_FIELD_UPDATE_KEEPTTL[] = "UPDATE hashes SET value=?3 WHERE id=?1 AND field=?2";
static const char SQL_FIELD_DELETE[] = "DELETE FROM hashes WHERE id=?1 AND field=?2";

static const char SQL_ALL[] =
    "SELECT k.type, k.expires_at, h.field, h.value, h.expires_at FROM keys k "
    "LEFT JOIN hashes h ON h.id=k.id WHERE k.db=?1 AND k.key=?2 ORDER BY h.seq";
static const char SQL_SCAN_PAGE[] =
    "SELECT seq, field, value, expires_at FROM hashes WHERE id=?1 AND seq>?2 ORDER BY seq LIMIT ?3";
static const char SQL_LIVE_WALK[] =
    "SELECT field, value FROM hashes WHERE id=?1 AND (expires_at IS NULL OR expires_at>?2)";
static const char SQL_LIVE_WALK_SEQ[] =
    "SELECT field, value FROM hashes WHERE id=?1 AND (expires_at IS NULL OR expires_at>?2) ORDER BY seq";
static const char SQL_HAS_BIG_ELEMENT[] =
    "SELECT EXISTS(SELECT 1 FROM hashes WHERE id=?1 AND "
    "(length(CAST(field AS BLOB))>?2 OR length(CAST(value AS BLOB))>?2))";
static const char SQL_LIVE_NTH[] =
    "SELECT field, value FROM hashes WHERE id=?1 AND (expires_at IS NULL OR expires_at>?2) LIMIT 1 OFFSET ?3";

/* ---- helpers ------------------------------------------------------------ */

static bool isLiveAt(sqlite3_stmt *s, int col, long long now_ms) {
    return sqlite3_column_type(s, col) == SQLITE_NULL || sqlite3_column_int64(s, col) > now_ms;
}

static void bindKey(sqlite3_stmt *s, request *r, int db, int kidx) {
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, r->argv[kidx], (int)r->argvlen[kidx], SQLITE_STATIC);
}

static uint64_t randomBelow(uint64_t n) { return n ? serverRandom() % n : 0; }

/* ---- the key ------------------------------------------------------------ */

static long long hashLive(const hkey *h) { return h->stored - h->expired; }

/* Look the hash at argv[kidx] up (id and stored count; h->expired is left
 * 0). Returns 1 found, 0 missing, -1 replied (WRONGTYPE or storage error).
 * On the writer an expired key is deleted. */
int hashFind(request *r, int kidx, hkey *h) {
    memset(h, 0, sizeof(*h));
    keyrow row;
    int rc = lookupTyped(r, kidx, OBJ_HASH, &row);
    if (rc == 1) {
        h->id = row.id;
        h->stored = h->saved = row.count;
        h->may_expire = row.enc == HASH_ENC_FIELD_TTL;
    }
    return rc;
}

/* Count a found hash's fields already past their TTL. */
static bool hashCountExpired(request *r, hkey *h) {
    if (!h->may_expire) {
        h->expired = 0;
        return true;
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_HASH_EXPIRED);
    if (!s) return storeFail(r, "hash lookup");
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_int64(s, 2, r->now_ms);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) h->expired = sqlite3_column_int64(s, 0);
    stmtDone(s);
    return rc == SQLITE_ROW ? true : storeFail(r, "hash lookup");
}

/* Writer: the seq the hash's next new field gets, read when first needed
 * (a command that only overwrites fields never needs it). */
static bool hashLoadNextSeq(request *r, hkey *h) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_HASH_MAX_SEQ);
    if (!s) return storeFail(r, "hash lookup");
    sqlite3_bind_int64(s, 1, h->id);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) h->next_seq = sqlite3_column_int64(s, 0) + 1; /* NULL (no field): 1 */
    stmtDone(s);
    return rc == SQLITE_ROW ? true : storeFail(r, "hash lookup");
}

/* Whether Redis would hold this hash (id, `stored` rows) as a listpack; see
 * HASH_SMALL. Redis never converts back when a hash shrinks: this only sees
 * the fields it has now. Returns 1 small, 0 not, -1 after a storage error
 * (replied). */
static int hashIsSmall(request *r, int64_t id, long long stored) {
    if (stored > HASH_SMALL) return 0;
    sqlite3_stmt *s = stmtGet(r->st, SQL_HAS_BIG_ELEMENT);
    if (!s) { storeFail(r, "hash lookup"); return -1; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, HASH_SMALL_VALUE);
    int rc = sqlite3_step(s);
    int big = rc == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    stmtDone(s);
    if (rc != SQLITE_ROW) { storeFail(r, "hash lookup"); return -1; }
    return !big;
}

/* OBJECT ENCODING (storeRegisterEncoding): "listpack", "listpackex" or
 * "hashtable". */
static const char *hashEncoding(request *r, int64_t id, long long stored, int enc) {
    int small = hashIsSmall(r, id, stored);
    if (small < 0) return NULL;
    /* Redis 7.4 turns a listpack hash whose fields got TTLs into a
     * "listpackex" one and never back, as keys.enc keeps its mark. */
    if (small) return enc == HASH_ENC_FIELD_TTL ? "listpackex" : "listpack";
    return "hashtable";
}

/* hashFind, for commands that need the live size (hashLive). */
static int hashFindLive(request *r, int kidx, hkey *h) {
    int rc = hashFind(r, kidx, h);
    return rc == 1 && !hashCountExpired(r, h) ? -1 : rc;
}

/* Writer: write the key's field count back, deleting the key at zero. */
static bool hashStoreCount(request *r, int kidx, hkey *h) {
    if (!keySetCount(r, r->db, r->argv[kidx], r->argvlen[kidx], h->stored)) return false;
    h->saved = h->stored;
    return true;
}

/* Writer: look the hash up for writing. Fields past their TTL are deleted
 * first, so every row the command sees is live. Returns 1 found, 0 missing,
 * -1 replied. */
int hashOpenWrite(request *r, int kidx, hkey *h) {
    int rc = hashFind(r, kidx, h);
    if (rc == 1 && !hashCountExpired(r, h)) return -1;
    if (rc != 1 || h->expired == 0) return rc;
    sqlite3_stmt *s = stmtGet(r->st, SQL_PURGE_KEY);
    if (!s) { storeFail(r, "hash purge"); return -1; }
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_int64(s, 2, r->now_ms);
    int src = sqlite3_step(s);
    stmtDone(s);
    if (src != SQLITE_DONE) { storeFail(r, "hash purge"); return -1; }
    h->stored -= sqlite3_changes(storeDb(r->st));
    h->expired = 0;
    /* A lazy field expiry, as Redis 7.4 announces it: "hexpired", then "del"
     * (from the count) if no field is left. */
    notifyKeyspaceEvent(r, NOTIFY_HASH, "hexpired", r->db, r->argv[kidx], r->argvlen[kidx]);
    if (!hashStoreCount(r, kidx, h)) return -1;
    if (h->stored <= 0) { memset(h, 0, sizeof(*h)); return 0; }
    keyTouched(r, r->db, r->argv[kidx], r->argvlen[kidx]);
    return 1;
}

/* Writer: open the hash, creating it (in memory until hashSave) if missing. */
static int hashOpenOrCreate(request *r, int kidx, hkey *h) {
    int rc = hashOpenWrite(r, kidx, h);
    if (rc == 0) {
        h->id = keyNewId(r);
        h->next_seq = 1;
        h->fresh = true;
    }
    return rc < 0 ? -1 : 1;
}

/* Writer: persist the key row after the fields changed. */
bool hashSave(request *r, int kidx, hkey *h) {
    if (!h->changed) return true;
    if (h->fresh) {
        if (h->stored > 0 && !keyCreate(r, r->db, r->argv[kidx], r->argvlen[kidx], h->id, OBJ_HASH, h->stored, 0))
            return false;
    } else if (h->stored != h->saved && !hashStoreCount(r, kidx, h)) { /* an overwrite keeps the count */
        return false;
    }
    if (h->stored > 0 || h->fresh) keyTouched(r, r->db, r->argv[kidx], r->argvlen[kidx]);
    r->dirty++;
    return true;
}

/* Writer: set a field. keep_ttl keeps an existing field's TTL (HINCRBY*),
 * otherwise it is cleared (HSET). `exists`: 1 or 0 when the caller knows
 * whether the field is there, -1 when not. Returns 1 created, 0
 * overwritten, -1 error. */
static int fieldSet(request *r, hkey *h, const char *f, size_t flen, const char *v, size_t vlen, bool keep_ttl,
                    int exists) {
    /* An existing hash tries the UPDATE first unless the field is known to
     * be absent: an overwrite is then one seek, and a new field two. */
    bool update_first = !h->fresh && exists != 0;
    bool created = false;
    for (int pass = 0; pass < 2; pass++) {
        bool insert = (pass == 0) != update_first;
        if (insert && !h->next_seq && !hashLoadNextSeq(r, h)) return -1;
        const char *sql = insert ? SQL_FIELD_INSERT : keep_ttl ? SQL_FIELD_UPDATE_KEEPTTL : SQL_FIELD_UPDATE;
        sqlite3_stmt *s = stmtGet(r->st, sql);
        if (!s) { storeFail(r, "hset"); return -1; }
        sqlite3_bind_int64(s, 1, h->id);
        sqlite3_bind_blob(s, 2, f, (int)flen, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, vlen ? v : "", (int)vlen, SQLITE_STATIC);
        if (insert) sqlite3_bind_int64(s, 4, h->next_seq);
        int rc = sqlite3_step(s);
        stmtDone(s);
        if (rc != SQLITE_DONE) { storeFail(r, "hset"); return -1; }
        if (sqlite3_changes(storeDb(r->st)) == 1) { created = insert; break; }
    }
    h->changed = true;
    if (!created) return 0;
    h->next_seq++;
    h->stored++;
    return 1;
}

/* Writer: delete a field. Returns 1 deleted, 0 absent, -1 error. */
int hashFieldDelete(request *r, hkey *h, const char *f, size_t flen) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_FIELD_DELETE);
    if (!s) { storeFail(r, "hdel"); return -1; }
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_blob(s, 2, f, (int)flen, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "hdel"); return -1; }
    if (sqlite3_changes(storeDb(r->st)) == 0) return 0;
    h->stored--;
    h->changed = true;
    return 1;
}

/* A field read on its own (HGET, HEXISTS, HSTRLEN, HMGET). */
typedef struct fieldval {
    sqlite3_stmt *s;
    const char *val;
    size_t len;
} fieldval;

/* Returns 1 found (call fieldDone), 0 missing, -1 replied (WRONGTYPE/error). */
static int fieldGet(request *r, int kidx, const char *f, size_t flen, fieldval *v) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_FIELD_GET);
    if (!s) { storeFail(r, "hget"); return -1; }
    bindKey(s, r, r->db, kidx);
    sqlite3_bind_blob(s, 3, f, (int)flen, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        stmtDone(s);
        if (rc != SQLITE_DONE) { storeFail(r, "hget"); return -1; }
        return 0;
    }
    if (!isLiveAt(s, 1, r->now_ms)) { stmtDone(s); return 0; }
    if (sqlite3_column_int(s, 0) != OBJ_HASH) {
        stmtDone(s);
        addReplyWrongType(r);
        return -1;
    }
    if (sqlite3_column_type(s, 2) == SQLITE_NULL || !isLiveAt(s, 4, r->now_ms)) { stmtDone(s); return 0; }
    v->s = s;
    v->val = stmtColumnBlob(s, 3, &v->len);
    return 1;
}

static void fieldDone(fieldval *v) {
    stmtDone(v->s);
    v->s = NULL;
}

/* ---- HSET / HMSET / HSETNX --------------------------------------------- */

static void hsetGeneric(request *r, bool hmset) {
    if (r->argc % 2 == 1) { addReplyArityError(r); return; }
    hkey h;
    if (hashOpenOrCreate(r, 1, &h) < 0) return;
    long long added = 0;
    for (int i = 2; i < r->argc; i += 2) {
        int rc = fieldSet(r, &h, r->argv[i], r->argvlen[i], r->argv[i + 1], r->argvlen[i + 1], false, -1);
        if (rc < 0) return;
        added += rc;
    }
    if (!hashSave(r, 1, &h)) return;
    notifyKeyspaceEvent(r, NOTIFY_HASH, "hset", r->db, r->argv[1], r->argvlen[1]);
    if (hmset) addReplyOK(r);
    else addReplyLongLong(r, added);
}

void hsetCommand(request *r) { hsetGeneric(r, false); }
void hmsetCommand(request *r) { hsetGeneric(r, true); }

void hsetnxCommand(request *r) {
    hkey h;
    if (hashOpenOrCreate(r, 1, &h) < 0) return;
    if (!h.fresh) {
        sqlite3_stmt *s = stmtGet(r->st, SQL_HASH_FIELD_ROW);
        if (!s) { storeFail(r, "hsetnx"); return; }
        sqlite3_bind_int64(s, 1, h.id);
        sqlite3_bind_blob(s, 2, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
        bool exists = sqlite3_step(s) == SQLITE_ROW;
        stmtDone(s);
        if (exists) { addReplyLongLong(r, 0); return; }
    }
    if (fieldSet(r, &h, r->argv[2], r->argvlen[2], r->argv[3], r->argvlen[3], false, 0) < 0) return;
    if (!hashSave(r, 1, &h)) return;
    notifyKeyspaceEvent(r, NOTIFY_HASH, "hset", r->db, r->argv[1], r->argvlen[1]);
    addReplyLongLong(r, 1);
}

/* ---- HGET / HMGET / HEXISTS / HSTRLEN / HLEN ---------------------------- */

void hgetCommand(request *r) {
    fieldval v;
    int rc = fieldGet(r, 1, r->argv[2], r->argvlen[2], &v);
    if (rc == 0) addReplyNull(r);
    if (rc != 1) return;
    addReplyBulk(r, v.val, v.len);
    fieldDone(&v);
}

void hmgetCommand(request *r) {
    hkey h;
    int found = hashFind(r, 1, &h);
    if (found < 0) return;
    size_t mark = r->out->len;
    addReplyArrayLen(r, r->argc - 2);
    for (int i = 2; i < r->argc; i++) {
        if (!found) { addReplyNull(r); continue; }
        sqlite3_stmt *s = stmtGet(r->st, SQL_HASH_FIELD_ROW);
        if (!s) { storeFail(r, "hmget"); discardDeferredReply(r, mark); return; }
        sqlite3_bind_int64(s, 1, h.id);
        sqlite3_bind_blob(s, 2, r->argv[i], (int)r->argvlen[i], SQLITE_STATIC);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW && isLiveAt(s, 1, r->now_ms)) {
            size_t len;
            const void *p = stmtColumnBlob(s, 0, &len);
            addReplyBulk(r, p, len);
        } else if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
            addReplyNull(r);
        } else {
            stmtDone(s);
            storeFail(r, "hmget");
            discardDeferredReply(r, mark);
            return;
        }
        stmtDone(s);
    }
}

void hexistsCommand(request *r) {
    fieldval v;
    int rc = fieldGet(r, 1, r->argv[2], r->argvlen[2], &v);
    if (rc < 0) return;
    if (rc == 1) fieldDone(&v);
    addReplyLongLong(r, rc);
}

void hstrlenCommand(request *r) {
    fieldval v;
    int rc = fieldGet(r, 1, r->argv[2], r->argvlen[2], &v);
    if (rc < 0) return;
    addReplyLongLong(r, rc == 1 ? (long long)v.len : 0);
    if (rc == 1) fieldDone(&v);
}

void hlenCommand(request *r) {
    hkey h;
    int rc = hashFindLive(r, 1, &h);
    if (rc < 0) return;
    addReplyLongLong(r, rc == 1 ? hashLive(&h) : 0);
}

/* ---- HDEL ----------------------------------------------------------------- */

void hdelCommand(request *r) {
    hkey h;
    int rc = hashOpenWrite(r, 1, &h);
    if (rc < 0) return;
    if (rc == 0) { addReplyLongLong(r, 0); return; }
    long long deleted = 0;
    for (int i = 2; i < r->argc && h.stored > 0; i++) {
        int d = hashFieldDelete(r, &h, r->argv[i], r->argvlen[i]);
        if (d < 0) return;
        deleted += d;
    }
    /* before the save, which deletes an emptied hash ("del" comes second) */
    if (deleted) notifyKeyspaceEvent(r, NOTIFY_HASH, "hdel", r->db, r->argv[1], r->argvlen[1]);
    if (hashSave(r, 1, &h)) addReplyLongLong(r, deleted);
}

/* ---- HINCRBY / HINCRBYFLOAT --------------------------------------------- */

/* Writer: read a field of an open hash into a malloc'd copy. Returns 1
 * found, 0 missing, -1 error. */
static int fieldRead(request *r, hkey *h, int fidx, char **val, size_t *len) {
    *val = NULL;
    *len = 0;
    if (h->fresh) return 0;
    sqlite3_stmt *s = stmtGet(r->st, SQL_HASH_FIELD_ROW);
    if (!s) { storeFail(r, "hash read"); return -1; }
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_blob(s, 2, r->argv[fidx], (int)r->argvlen[fidx], SQLITE_STATIC);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const void *p = stmtColumnBlob(s, 0, len);
        *val = malloc(*len + 1);
        if (*val) { memcpy(*val, p, *len); (*val)[*len] = '\0'; }
    }
    stmtDone(s);
    if (rc == SQLITE_ROW) {
        if (!*val) { addReplyError(r, "ERR out of memory"); return -1; }
        return 1;
    }
    if (rc != SQLITE_DONE) { storeFail(r, "hash read"); return -1; }
    return 0;
}

void hincrbyCommand(request *r) {
    long long incr, value = 0;
    if (!getLongLongArg(r, 3, &incr, NULL)) return;
    hkey h;
    if (hashOpenOrCreate(r, 1, &h) < 0) return;
    char *cur;
    size_t curlen;
    int rc = fieldRead(r, &h, 2, &cur, &curlen);
    if (rc < 0) return;
    if (rc == 1) {
        bool ok = string2ll(cur, curlen, &value);
        free(cur);
        if (!ok) { addReplyError(r, "ERR hash value is not an integer"); return; }
    }
    if (addOverflows(value, incr)) {
        addReplyError(r, ERR_OVERFLOW);
        return;
    }
    value += incr;
    char buf[32];
    int n = ll2string(buf, sizeof(buf), value);
    if (fieldSet(r, &h, r->argv[2], r->argvlen[2], buf, (size_t)n, true, rc) < 0) return;
    if (!hashSave(r, 1, &h)) return;
    notifyKeyspaceEvent(r, NOTIFY_HASH, "hincrby", r->db, r->argv[1], r->argvlen[1]);
    addReplyLongLong(r, value);
}

void hincrbyfloatCommand(request *r) {
    long double incr, value = 0;
    if (!string2ld(r->argv[3], r->argvlen[3], &incr)) { addReplyError(r, ERR_NOT_FLOAT); return; }
    if (isnan(incr) || isinf(incr)) { addReplyError(r, "ERR value is NaN or Infinity"); return; }
    hkey h;
    if (hashOpenOrCreate(r, 1, &h) < 0) return;
    char *cur;
    size_t curlen;
    int rc = fieldRead(r, &h, 2, &cur, &curlen);
    if (rc < 0) return;
    if (rc == 1) {
        bool ok = string2ld(cur, curlen, &value);
        free(cur);
        if (!ok) { addReplyError(r, "ERR hash value is not a float"); return; }
    }
    value += incr;
    if (isnan(value) || isinf(value)) { addReplyError(r, "ERR increment would produce NaN or Infinity"); return; }
    char buf[5 * 1024];
    int n = ld2string(buf, sizeof(buf), value);
    if (fieldSet(r, &h, r->argv[2], r->argvlen[2], buf, (size_t)n, true, rc) < 0) return;
    if (!hashSave(r, 1, &h)) return;
    notifyKeyspaceEvent(r, NOTIFY_HASH, "hincrbyfloat", r->db, r->argv[1], r->argvlen[1]);
    addReplyBulk(r, buf, (size_t)n);
}

/* ---- HGETALL / HKEYS / HVALS ------------------------------------------- */

enum { ALL_FIELDS = 1, ALL_VALUES = 2 };

static void getallGeneric(request *r, int what) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_ALL);
    if (!s) { storeFail(r, "hgetall"); return; }
    bindKey(s, r, r->db, 1);
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    int rc;
    bool first = true;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (first) {
            first = false;
            if (!isLiveAt(s, 1, r->now_ms)) break;
            if (sqlite3_column_int(s, 0) != OBJ_HASH) {
                stmtDone(s);
                addReplyWrongType(r);
                return;
            }
        }
        if (sqlite3_column_type(s, 2) == SQLITE_NULL || !isLiveAt(s, 4, r->now_ms)) continue;
        size_t len;
        const void *p;
        if (what & ALL_FIELDS) { p = stmtColumnBlob(s, 2, &len); addReplyBulk(r, p, len); }
        if (what & ALL_VALUES) { p = stmtColumnBlob(s, 3, &len); addReplyBulk(r, p, len); }
        n++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) { storeFail(r, "hgetall"); discardDeferredReply(r, mark); return; }
    if (what == (ALL_FIELDS | ALL_VALUES)) setDeferredMapLen(r, mark, n);
    else setDeferredArrayLen(r, mark, n);
}

void hgetallCommand(request *r) { getallGeneric(r, ALL_FIELDS | ALL_VALUES); }
void hkeysCommand(request *r) { getallGeneric(r, ALL_FIELDS); }
void hvalsCommand(request *r) { getallGeneric(r, ALL_VALUES); }

/* ---- HSCAN ---------------------------------------------------------------- */

/* parseScanCursor, but an empty cursor is refused too (SCAN takes it as 0). */
static bool parseCursor(request *r, int idx, unsigned long long *cursor) {
    if (r->argvlen[idx] == 0) {
        addReplyError(r, "ERR invalid cursor");
        return false;
    }
    return parseScanCursor(r, idx, cursor);
}

static void addReplyEmptyScan(request *r) { setDeferredScanReply(r, addReplyDeferredLen(r), 0, 0); }

/* HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]
 * The cursor is the seq of the last field returned: a field present for the
 * whole iteration keeps its seq and is returned exactly once. */
void hscanCommand(request *r) {
    unsigned long long cursor;
    if (!parseCursor(r, 2, &cursor)) return;
    hkey h;
    int rc = hashFind(r, 1, &h);
    if (rc <= 0) {
        if (rc == 0) addReplyEmptyScan(r);
        return;
    }
    long long count = 10;
    const char *pat = NULL;
    size_t plen = 0;
    bool novalues = false;
    for (int i = 3; i < r->argc; i++) {
        bool has_arg = i + 1 < r->argc;
        if (argIs(r, i, "count") && has_arg) {
            if (!getLongLongArg(r, ++i, &count, NULL)) return;
            if (count < 1) { addReplySyntaxError(r); return; }
        } else if (argIs(r, i, "match") && has_arg) {
            pat = r->argv[++i];
            plen = r->argvlen[i];
            if (plen == 1 && pat[0] == '*') pat = NULL;
        } else if (argIs(r, i, "novalues")) {
            novalues = true;
        } else {
            addReplySyntaxError(r);
            return;
        }
    }
    if (cursor > (unsigned long long)INT64_MAX) { addReplyEmptyScan(r); return; }
    if (cursor == 0) {
        int small = hashIsSmall(r, h.id, h.stored);
        if (small < 0) return;
        if (small) count = HASH_SMALL + 1;
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_SCAN_PAGE);
    if (!s) { storeFail(r, "hscan"); return; }
    sqlite3_bind_int64(s, 1, h.id);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)cursor);
    sqlite3_bind_int64(s, 3, count);
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    long long rows = 0, last = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        rows++;
        last = sqlite3_column_int64(s, 0);
        if (!isLiveAt(s, 3, r->now_ms)) continue;
        size_t flen;
        const char *f = stmtColumnBlob(s, 1, &flen);
        if (pat && !stringmatchlen(pat, plen, f, flen, false)) continue;
        addReplyBulk(r, f, flen);
        n++;
        if (!novalues) {
            size_t vlen;
            const void *v = stmtColumnBlob(s, 2, &vlen);
            addReplyBulk(r, v, vlen);
            n++;
        }
    }
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "hscan"); discardDeferredReply(r, mark); return; }
    setDeferredScanReply(r, mark, rows < count ? 0 : last, n);
}

/* ---- HRANDFIELD ------------------------------------------------------------ */

typedef struct hpair {
    char *field, *value;
    size_t flen, vlen;
} hpair;

static hpair *pairCopy(sqlite3_stmt *s) {
    size_t flen, vlen;
    const void *f = stmtColumnBlob(s, 0, &flen);
    const void *v = stmtColumnBlob(s, 1, &vlen);
    hpair *p = malloc(sizeof(*p) + flen + vlen + 2);
    if (!p) return NULL;
    p->field = (char *)(p + 1);
    p->value = p->field + flen + 1;
    memcpy(p->field, f, flen);
    memcpy(p->value, v, vlen);
    p->flen = flen;
    p->vlen = vlen;
    return p;
}

static void addReplyPair(request *r, const hpair *p, bool withvalues) {
    if (withvalues && r->resp >= 3) addReplyArrayLen(r, 2);
    addReplyBulk(r, p->field, p->flen);
    if (withvalues) addReplyBulk(r, p->value, p->vlen);
}

typedef struct pick { unsigned long long ord; size_t pos; } pick;

static int pickCmp(const void *a, const void *b) {
    const pick *x = a, *y = b;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Writes the reply for HRANDFIELD key count [WITHVALUES] on a hash with
 * `size` live fields, walking its rows once in primary-key order. */
static void hrandfieldWithCount(request *r, hkey *h, long long l, bool withvalues) {
    unsigned long long count = l >= 0 ? (unsigned long long)l : (unsigned long long)(-(l + 1)) + 1;
    bool uniq = l >= 0;
    unsigned long long size = (unsigned long long)hashLive(h);
    if (count == 0 || size == 0) { addReplyArrayLen(r, 0); return; }
    if (!uniq && !checkRandomRepeats(r, count)) return;
    bool all = uniq && count >= size;
    size_t want = all ? (size_t)size : (size_t)count;
    if (want != count && !all) { addReplyError(r, "ERR value is out of range"); return; }
    hpair **out = calloc(want, sizeof(*out));
    pick *picks = NULL;
    if (!out) { addReplyError(r, "ERR out of memory"); return; }
    if (!uniq || count == 1) {
        picks = malloc(want * sizeof(*picks));
        if (!picks) { free(out); addReplyError(r, "ERR out of memory"); return; }
        for (size_t i = 0; i < want; i++) { picks[i].ord = randomBelow(size); picks[i].pos = i; }
        qsort(picks, want, sizeof(*picks), pickCmp);
    }
    /* The whole hash comes in HGETALL order, a sample in key order. */
    sqlite3_stmt *s = stmtGet(r->st, all ? SQL_LIVE_WALK_SEQ : SQL_LIVE_WALK);
    if (!s) { free(out); free(picks); storeFail(r, "hrandfield"); return; }
    sqlite3_bind_int64(s, 1, h->id);
    sqlite3_bind_int64(s, 2, r->now_ms);
    size_t got = 0, pi = 0;
    unsigned long long row = 0;
    bool oom = false;
    /* Duplicates share one copy; `owned` marks the slot that frees it. */
    bool *owned = calloc(want, sizeof(*owned));
    if (!owned) oom = true;
    int rc = SQLITE_DONE;
    while (!oom && row < size && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (picks) {
            if (pi >= want) break;
            if (picks[pi].ord == row) {
                hpair *p = pairCopy(s);
                if (!p) { oom = true; break; }
                owned[picks[pi].pos] = true;
                while (pi < want && picks[pi].ord == row) { out[picks[pi].pos] = p; pi++; got++; }
            }
        } else if (all || randomBelow(size - row) < want - got) {
            /* Selection sampling: each remaining row is taken with
             * probability (still needed) / (rows left). */
            hpair *p = pairCopy(s);
            if (!p) { oom = true; break; }
            owned[got] = true;
            out[got++] = p;
            if (got == want) break;
        }
        row++;
    }
    stmtDone(s);
    if (oom || (rc != SQLITE_ROW && rc != SQLITE_DONE)) {
        for (size_t i = 0; i < want; i++) if (owned && owned[i]) free(out[i]);
        free(out); free(picks); free(owned);
        if (oom) addReplyError(r, "ERR out of memory");
        else storeFail(r, "hrandfield");
        return;
    }
    /* Distinct picks come in key order: shuffle them. */
    if (!picks && !all)
        for (size_t i = got; i > 1; i--) {
            size_t j = (size_t)randomBelow(i);
            hpair *t = out[i - 1]; out[i - 1] = out[j]; out[j] = t;
            bool o = owned[i - 1]; owned[i - 1] = owned[j]; owned[j] = o;
        }
    size_t n = 0;
    for (size_t i = 0; i < want; i++) if (out[i]) n++;
    addReplyArrayLen(r, (long)(withvalues && r->resp < 3 ? n * 2 : n));
    for (size_t i = 0; i < want; i++)
        if (out[i]) addReplyPair(r, out[i], withvalues);
    for (size_t i = 0; i < want; i++) if (owned[i]) free(out[i]);
    free(out); free(picks); free(owned);
}

/* HRANDFIELD key [count [WITHVALUES]] */
void hrandfieldCommand(request *r) {
    long long l = 0;
    bool withvalues = false;
    if (r->argc >= 3) {
        if (!getLongLongArg(r, 2, &l, NULL)) return;
        if (l == LLONG_MIN) {
            addReplyErrorFormat(r, "ERR value is out of range, value must between %lld and %lld", -LLONG_MAX, LLONG_MAX);
            return;
        }
        if (r->argc > 4 || (r->argc == 4 && !argIs(r, 3, "withvalues"))) { addReplySyntaxError(r); return; }
        if (r->argc == 4) {
            withvalues = true;
            if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) { addReplyError(r, "ERR value is out of range"); return; }
        }
    }
    hkey h;
    int rc = hashFindLive(r, 1, &h);
    if (rc < 0) return;
    if (rc == 0) h.stored = h.expired = 0;
    if (r->argc >= 3) {
        hrandfieldWithCount(r, &h, l, withvalues);
        return;
    }
    long long size = hashLive(&h);
    if (size <= 0) { addReplyNull(r); return; }
    sqlite3_stmt *s = stmtGet(r->st, SQL_LIVE_NTH);
    if (!s) { storeFail(r, "hrandfield"); return; }
    sqlite3_bind_int64(s, 1, h.id);
    sqlite3_bind_int64(s, 2, r->now_ms);
    sqlite3_bind_int64(s, 3, (sqlite3_int64)randomBelow((uint64_t)size));
    if (sqlite3_step(s) == SQLITE_ROW) {
        size_t len;
        const void *p = stmtColumnBlob(s, 0, &len);
        addReplyBulk(r, p, len);
    } else {
        addReplyNull(r);
    }
    stmtDone(s);
}

/* ---- registration ---------------------------------------------------------- */

#define W (CMD_WRITE | CMD_DENYOOM | CMD_FAST)
#define R (CMD_READONLY | CMD_FAST)
static const command hash_commands[] = {
    {"hset", hsetCommand, -4, W, 1, 1, 1, "hash", "Creates or modifies the value of a field in a hash.", "2.0.0", NULL},
    {"hsetnx", hsetnxCommand, 4, W, 1, 1, 1, "hash", "Sets the value of a field in a hash only when the field doesn't exist.", "2.0.0", NULL},
    {"hmset", hmsetCommand, -4, W, 1, 1, 1, "hash", "Sets the values of multiple fields.", "2.0.0", NULL},
    {"hget", hgetCommand, 3, R, 1, 1, 1, "hash", "Returns the value of a field in a hash.", "2.0.0", NULL},
    {"hmget", hmgetCommand, -3, R, 1, 1, 1, "hash", "Returns the values of all fields in a hash.", "2.0.0", NULL},
    {"hgetall", hgetallCommand, 2, CMD_READONLY, 1, 1, 1, "hash", "Returns all fields and values in a hash.", "2.0.0", NULL},
    {"hkeys", hkeysCommand, 2, CMD_READONLY, 1, 1, 1, "hash", "Returns all fields in a hash.", "2.0.0", NULL},
    {"hvals", hvalsCommand, 2, CMD_READONLY, 1, 1, 1, "hash", "Returns all values in a hash.", "2.0.0", NULL},
    {"hdel", hdelCommand, -3, CMD_WRITE | CMD_FAST, 1, 1, 1, "hash", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "2.0.0", NULL},
    {"hexists", hexistsCommand, 3, R, 1, 1, 1, "hash", "Determines whether a field exists in a hash.", "2.0.0", NULL},
    {"hlen", hlenCommand, 2, R, 1, 1, 1, "hash", "Returns the number of fields in a hash.", "2.0.0", NULL},
    {"hstrlen", hstrlenCommand, 3, R, 1, 1, 1, "hash", "Returns the length of the value of a field.", "3.2.0", NULL},
    {"hincrby", hincrbyCommand, 4, W, 1, 1, 1, "hash", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "2.0.0", NULL},
    {"hincrbyfloat", hincrbyfloatCommand, 4, W, 1, 1, 1, "hash", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "2.6.0", NULL},
    {"hscan", hscanCommand, -3, CMD_READONLY, 1, 1, 1, "hash", "Iterates over fields and values of a hash.", "2.8.0", NULL},
    {"hrandfield", hrandfieldCommand, -2, CMD_READONLY | CMD_RANDOM, 1, 1, 1, "hash", "Returns one or more random fields from a hash.", "6.2.0", NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

void hashRegister(void) {
    storeRegisterSchema(SCHEMA);
    storeRegisterStartup(hashMarkFieldTtls);
    storeRegisterCopy(OBJ_HASH, "INSERT INTO hashes(id, field, seq, value, expires_at) "
                                "SELECT ?2, field, seq, value, expires_at FROM hashes WHERE id=?1");
    storeRegisterEncoding(OBJ_HASH, hashEncoding);
    commandRegisterTable(hash_commands);
    hashTtlRegister();
}
