/*
 * job.c — the native job queue: schema, job ids, options, JOB.ADD and
 * JOB.FETCH, and the module's registration. (Acknowledgements and queue
 * admin are in job_ack.c, time-driven changes in job_maint.c, reads in
 * job_read.c, recurring jobs in job_cron.c; job.h lists who owns what.)
 *
 * Data model — one durable table, Solid Queue / Disque style:
 *   jobs(id INTEGER PRIMARY KEY, db, queue, state, priority, run_at,
 *        attempts, retries, backoff, timeout, lease_until, worker,
 *        unique_key, unique_until, limit_key, limit_n, expires_at,
 *        last_error, created_at, started_at, finished_at, updated_at, payload)
 *   Queues live in a database like keys do (the `db` column; SELECT isolates
 *   them) but are not keys: KEYS, DEL and FLUSHALL do not see them.
 *   Each state has its own partial index, so every hot operation is one seek:
 *     jobs_ready(db, queue, priority, run_at)  state READY     FETCH order
 *     jobs_delayed(db, queue, run_at)          state DELAYED   promotion
 *     jobs_running(lease_until)                state RUNNING   lease expiry
 *     jobs_finished(db, queue, state, finished_at)  >= DONE    retention
 *     jobs_unique(db, queue, unique_key) UNIQUE, set while the job is active
 *                                              or dead (RETRY); an ADD takes a
 *                                              dead job's key from it
 *     jobs_limit(db, limit_key)                RUNNING jobs under a LIMIT
 *     jobs_limit_ready(db, limit_key, queue)   READY jobs under a LIMIT: the
 *                                              queues a freed slot wakes
 *     jobs_ttl(expires_at)                     waiting jobs with a TTL
 *   job_queues(db, queue, paused, n_<state>..., totals) holds per-queue
 *   counters, so JOB.STATS is O(1) and FETCH skips empty queues without
 *   touching the jobs table. They change in the same transaction as the
 *   jobs: jobInsert() counts an ADD (and creates the queue's row on its
 *   first), FETCH counts its READY -> RUNNING claims itself, once per queue,
 *   every other state change is counted through job_moved() (job_count.c),
 *   and a trigger counts deletes. A trigger costs a frame allocation and a
 *   nested program per row, more than the statement it saves.
 *
 * OR FAIL on the one-row INSERT and UPDATEs of jobs: SQLite gives a
 * statement that may write more than one row (a trigger counts) and may stop
 * on a constraint (the NOT NULL columns) a statement journal, a copy of every
 * page it touches in case it must be undone halfway. With the counting
 * triggers that was a tenth of the writer's time per job; OR FAIL removed it
 * before the triggers went, and keeps it away should one come back. For a
 * one-row statement it changes nothing else: its constraint checks run
 * before the row is written, and a constraint failure fails the command
 * (storeFail), which undoes the batch or the command's savepoint (writer.c).
 * Other errors in the middle of a statement without a statement journal (a
 * full disk, I/O) make SQLite roll back the whole transaction, as for every
 * such statement in the server. Statements that change many rows
 * (promotion, reclaim, retention) keep the default ABORT.
 *
 * Life of a job: ADD inserts READY (or DELAYED). FETCH first does the
 * due time-driven work (expired leases, due cron ticks, due delayed jobs of
 * its queues), then claims READY jobs in (priority, run_at, id) order with
 * one UPDATE ... WHERE state=READY each: everything runs on the single writer
 * inside a transaction, so a job is handed to exactly one worker. ACK makes
 * it DONE; NACK makes it DELAYED for its backoff (or DEAD past RETRIES);
 * an expired lease makes it READY again (or DEAD). Finished jobs are kept
 * for the retention time, then deleted in slices by the retention task.
 *
 * Blocking: JOB.FETCH ... BLOCK parks on its queue names (argv indexes) and
 * asks to be re-run at the earliest time work may appear without a write
 * (requestBlockWake). Every change that adds work to a queue calls
 * keyTouched(db, queue), so parked fetchers are re-run, FIFO, inside the
 * batch that fed them.
 */
#include "job.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char JOB_SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS jobs("
    "  id INTEGER PRIMARY KEY, db INTEGER NOT NULL, queue BLOB NOT NULL, state INTEGER NOT NULL,"
    "  priority INTEGER NOT NULL, run_at INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  retries INTEGER NOT NULL, backoff INTEGER NOT NULL, timeout INTEGER,"
    "  lease_until INTEGER, worker BLOB, unique_key BLOB, unique_until INTEGER,"
    "  limit_key BLOB, limit_n INTEGER, expires_at INTEGER, last_error BLOB,"
    "  created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, updated_at INTEGER NOT NULL,"
    "  payload BLOB NOT NULL);"
    "CREATE INDEX IF NOT EXISTS jobs_ready ON jobs(db, queue, priority, run_at) WHERE state=0;"
    "CREATE INDEX IF NOT EXISTS jobs_delayed ON jobs(db, queue, run_at) WHERE state=1;"
    "CREATE INDEX IF NOT EXISTS jobs_running ON jobs(lease_until) WHERE state=2;"
    "CREATE INDEX IF NOT EXISTS jobs_finished ON jobs(db, queue, state, finished_at) WHERE state>=3;"
    "CREATE UNIQUE INDEX IF NOT EXISTS jobs_unique ON jobs(db, queue, unique_key) WHERE unique_key IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS jobs_limit ON jobs(db, limit_key) WHERE state=2 AND limit_key IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS jobs_limit_ready ON jobs(db, limit_key, queue) WHERE state=0 AND limit_key IS NOT NULL;"
    "CREATE INDEX IF NOT EXISTS jobs_ttl ON jobs(expires_at) WHERE expires_at IS NOT NULL AND state<=1;"
    "CREATE TABLE IF NOT EXISTS job_queues("
    "  db INTEGER NOT NULL, queue BLOB NOT NULL, paused INTEGER NOT NULL DEFAULT 0,"
    "  n_ready INTEGER NOT NULL DEFAULT 0, n_delayed INTEGER NOT NULL DEFAULT 0,"
    "  n_running INTEGER NOT NULL DEFAULT 0, n_done INTEGER NOT NULL DEFAULT 0,"
    "  n_dead INTEGER NOT NULL DEFAULT 0, n_cancelled INTEGER NOT NULL DEFAULT 0,"
    "  added INTEGER NOT NULL DEFAULT 0, completed INTEGER NOT NULL DEFAULT 0,"
    "  retried INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
    "  expired INTEGER NOT NULL DEFAULT 0,"
    /* completions in the current and the previous minute, for the rate */
    "  win INTEGER NOT NULL DEFAULT 0, win_done INTEGER NOT NULL DEFAULT 0, prev_done INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY(db, queue)) WITHOUT ROWID;"
    /* Inserts are counted by jobInsert(), state changes by job_count.c;
     * these triggers did it before. */
    "DROP TRIGGER IF EXISTS jobs_count_insert;"
    "DROP TRIGGER IF EXISTS jobs_count_done;"
    "DROP TRIGGER IF EXISTS jobs_count_update;"
    "CREATE TRIGGER IF NOT EXISTS jobs_count_delete AFTER DELETE ON jobs BEGIN"
    "  UPDATE job_queues SET"
    "    n_ready=n_ready-(old.state=0), n_delayed=n_delayed-(old.state=1), n_running=n_running-(old.state=2),"
    "    n_done=n_done-(old.state=3), n_dead=n_dead-(old.state=4), n_cancelled=n_cancelled-(old.state=5)"
    "  WHERE db=old.db AND queue=old.queue;"
    "END;"
    "CREATE TABLE IF NOT EXISTS job_cron("
    "  db INTEGER NOT NULL, name BLOB NOT NULL, schedule TEXT NOT NULL, queue BLOB NOT NULL,"
    "  payload BLOB NOT NULL, priority INTEGER, retries INTEGER, backoff INTEGER, timeout INTEGER,"
    "  ttl INTEGER, unique_key BLOB, unique_for INTEGER, limit_key BLOB, limit_n INTEGER,"
    "  next_run INTEGER NOT NULL, last_run INTEGER, last_id INTEGER, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY(db, name)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS job_cron_next ON job_cron(next_run);";

/* ---- states, ids, small helpers ---------------------------------------- */

static const char *state_names[JOB_NSTATES] = {"ready", "delayed", "running", "done", "dead", "cancelled"};

const char *jobStateName(int state) { return state >= 0 && state < JOB_NSTATES ? state_names[state] : "unknown"; }

int jobStateParse(const char *s, size_t len) {
    for (int i = 0; i < JOB_NSTATES; i++)
        if (strlen(state_names[i]) == len && strncasecmp(state_names[i], s, len) == 0) return i;
    return -1;
}

int jobIdFormat(char *buf, size_t len, int64_t id) {
    if (id < 0 || len < JOB_ID_LEN + 1) /* never for ids this file made */
        return snprintf(buf, len, "%013lld-%06lld", (long long)(id / 1000000), (long long)(id % 1000000));
    unsigned long long ms = (unsigned long long)id / 1000000, seq = (unsigned long long)id % 1000000;
    int n = 0;
    char digits[20];
    do { digits[n++] = (char)('0' + ms % 10); ms /= 10; } while (ms);
    int pos = 0;
    for (int pad = 13 - n; pad > 0; pad--) buf[pos++] = '0';
    while (n) buf[pos++] = digits[--n];
    buf[pos++] = '-';
    for (int i = 5; i >= 0; i--, seq /= 10) buf[pos + i] = (char)('0' + seq % 10);
    pos += 6;
    buf[pos] = '\0';
    return pos;
}

bool jobIdParse(const char *s, size_t len, int64_t *id) {
    if (len < 8 || len > 24 || s[len - 7] != '-') return false;
    long long ms = 0, seq = 0;
    for (size_t i = 0; i < len - 7; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        ms = ms * 10 + (s[i] - '0');
    }
    for (size_t i = len - 6; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        seq = seq * 10 + (s[i] - '0');
    }
    if (ms > LLONG_MAX / 1000000 - 1) return false;
    *id = ms * 1000000 + seq;
    return true;
}

bool jobIdArg(request *r, int idx, int64_t *id) {
    if (jobIdParse(r->argv[idx], r->argvlen[idx], id)) return true;
    addReplyErrorFormat(r, "ERR invalid job id '%.128s'", r->argv[idx]);
    return false;
}

void addReplyJobId(request *r, int64_t id) {
    char buf[32];
    int n = jobIdFormat(buf, sizeof(buf), id);
    addReplyBulk(r, buf, (size_t)n);
}

void jobReplyAppend(request *r, reply *tmp) { replyAppend(r->out, tmp->buf, tmp->len); }

void jobBindBlob(sqlite3_stmt *s, int i, const char *p, size_t n) {
    if (p) sqlite3_bind_blob(s, i, p, (int)n, SQLITE_STATIC);
    else sqlite3_bind_null(s, i);
}

static void bindOptional(sqlite3_stmt *s, int i, long long v) {
    if (v) sqlite3_bind_int64(s, i, v);
    else sqlite3_bind_null(s, i);
}

/* Writer thread only: the last id handed out; ids are ms*1e6 + a sequence,
 * so they stay unique and ordered even if the clock steps back. */
static int64_t last_id;
static bool last_id_loaded;

static const char SQL_ID_LOAD[] =
    "SELECT max(coalesce((SELECT max(id) FROM jobs), 0),"
    " coalesce((SELECT value FROM meta WHERE name='job_id_floor'), 0))";
static const char SQL_ID_FLOOR[] =
    "INSERT INTO meta(name, value) VALUES('job_id_floor', ?1) "
    "ON CONFLICT(name) DO UPDATE SET value=max(value, excluded.value)";

static void loadLastId(request *r) {
    if (last_id_loaded) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL_ID_LOAD);
    if (s && sqlite3_step(s) == SQLITE_ROW) {
        int64_t v = sqlite3_column_int64(s, 0);
        if (v > last_id) last_id = v;
        last_id_loaded = true;
    }
    stmtDone(s);
}

static int64_t newJobId(request *r) {
    loadLastId(r);
    int64_t base = (int64_t)r->now_ms * 1000000;
    last_id = base > last_id ? base : last_id + 1;
    return last_id;
}

bool jobNoteDeletes(request *r) {
    loadLastId(r);
    sqlite3_stmt *s = stmtGet(r->st, SQL_ID_FLOOR);
    if (!s) return false;
    sqlite3_bind_int64(s, 1, last_id);
    int rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE;
}

/* ---- enqueue ----------------------------------------------------------- */

static const char SQL_UNIQUE_FIND[] =
    "SELECT id, unique_until, state FROM jobs WHERE db=?1 AND queue=?2 AND unique_key=?3";
static const char SQL_UNIQUE_RELEASE[] = "UPDATE jobs SET unique_key=NULL WHERE id=?1";
static const char SQL_QUEUE_ADDED[] =
    "UPDATE job_queues SET n_ready=n_ready+?3, n_delayed=n_delayed+?4, added=added+1 WHERE db=?1 AND queue=?2";
static const char SQL_QUEUE_NEW[] =
    "INSERT INTO job_queues(db, queue, n_ready, n_delayed, added) VALUES(?1, ?2, ?3, ?4, 1)";
static const char SQL_INSERT[] =
    "INSERT OR FAIL INTO jobs(id, db, queue, state, priority, run_at, retries, backoff, timeout, unique_key, unique_until,"
    " limit_key, limit_n, expires_at, created_at, updated_at, payload)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?15, ?16)";

/* Count a new job of `state` in its queue's row: SQL_QUEUE_ADDED, or
 * SQL_QUEUE_NEW for a queue without one. */
static bool countAdded(request *r, const char *sql, int db, const char *queue, size_t qlen, int state) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) return false;
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, queue, (int)qlen, SQLITE_STATIC);
    sqlite3_bind_int(s, 3, state == JOB_READY);
    sqlite3_bind_int(s, 4, state == JOB_DELAYED);
    int rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE;
}

bool jobInsert(request *r, int db, const char *queue, size_t qlen, const void *payload, size_t plen,
               const jobopts *o, int64_t *id) {
    long long now = r->now_ms;
    if (o->unique) {
        sqlite3_stmt *s = stmtGet(r->st, SQL_UNIQUE_FIND);
        if (!s) return storeFail(r, "job unique");
        sqlite3_bind_int(s, 1, db);
        sqlite3_bind_blob(s, 2, queue, (int)qlen, SQLITE_STATIC);
        sqlite3_bind_blob(s, 3, o->unique, (int)o->unique_len, SQLITE_STATIC);
        int64_t found = 0;
        long long until = 0;
        bool dead = false;
        if (sqlite3_step(s) == SQLITE_ROW) {
            found = sqlite3_column_int64(s, 0);
            until = sqlite3_column_int64(s, 1);
            dead = sqlite3_column_int(s, 2) == JOB_DEAD;
        }
        stmtDone(s);
        if (found && !dead && (!until || until > now)) {
            *id = found;
            return true;
        }
        if (found) { /* its FOR ran out, or it is dead: the key is free again */
            s = stmtGet(r->st, SQL_UNIQUE_RELEASE);
            if (!s) return storeFail(r, "job unique");
            sqlite3_bind_int64(s, 1, found);
            int rc = sqlite3_step(s);
            stmtDone(s);
            if (rc != SQLITE_DONE) return storeFail(r, "job unique");
        }
    }
    long long run_at = o->run_at ? o->run_at : now;
    int state = run_at > now ? JOB_DELAYED : JOB_READY;
    *id = newJobId(r);
    sqlite3_stmt *s = stmtGet(r->st, SQL_INSERT);
    if (!s) return storeFail(r, "job add");
    sqlite3_bind_int64(s, 1, *id);
    sqlite3_bind_int(s, 2, db);
    sqlite3_bind_blob(s, 3, queue, (int)qlen, SQLITE_STATIC);
    sqlite3_bind_int(s, 4, state);
    sqlite3_bind_int64(s, 5, o->priority);
    sqlite3_bind_int64(s, 6, run_at);
    sqlite3_bind_int64(s, 7, o->retries);
    sqlite3_bind_int64(s, 8, o->backoff);
    bindOptional(s, 9, o->timeout);
    jobBindBlob(s, 10, o->unique, o->unique_len);
    bindOptional(s, 11, o->unique && o->unique_for ? now + o->unique_for : 0);
    jobBindBlob(s, 12, o->limit_key, o->limit_len);
    bindOptional(s, 13, o->limit_key ? o->limit_n : 0);
    bindOptional(s, 14, o->ttl ? run_at + o->ttl : 0);
    sqlite3_bind_int64(s, 15, now);
    sqlite3_bind_blob(s, 16, payload, (int)plen, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return storeFail(r, "job add");
    if (!countAdded(r, SQL_QUEUE_ADDED, db, queue, qlen, state)) return storeFail(r, "job add");
    if (sqlite3_changes(storeDb(r->st)) == 0 && /* the queue's first job */
        !countAdded(r, SQL_QUEUE_NEW, db, queue, qlen, state))
        return storeFail(r, "job add");
    /* Also for a delayed job: parked fetchers then recompute their wake-up. */
    keyTouched(r, db, queue, qlen);
    r->dirty++;
    return true;
}

/* JOB.ADD queue payload [DELAY ms | AT unix-ms] [PRIORITY n] [RETRIES n]
 *   [BACKOFF ms] [TIMEOUT ms] [UNIQUE key [FOR ms]] [TTL ms] [LIMIT key n] */
static void jobAddCommand(request *r) {
    jobopts o;
    jobOptsInit(&o);
    if (!jobOptsParse(r, 3, &o, true)) return;
    int64_t id;
    if (!jobInsert(r, r->db, r->argv[1], r->argvlen[1], r->argv[2], r->argvlen[2], &o, &id)) return;
    addReplyJobId(r, id);
}

/* ---- fetch ------------------------------------------------------------- */

typedef struct fetchopts {
    long long count;
    long long lease;    /* 0 = not given */
    long long block_ms; /* -1 = no BLOCK, 0 = forever */
    const char *worker;
    size_t wlen;
    int nqueues;        /* argv[1..nqueues] */
} fetchopts;

static bool isFetchOption(request *r, int i) {
    return argIs(r, i, "count") || argIs(r, i, "lease") || argIs(r, i, "block") || argIs(r, i, "worker");
}

static bool parseFetch(request *r, fetchopts *f) {
    *f = (fetchopts){.count = 1, .block_ms = -1};
    unsigned seen = 0;
    int i = 2; /* argv[1] is always a queue */
    while (i < r->argc && !isFetchOption(r, i)) i++;
    f->nqueues = i - 1;
    for (; i < r->argc; i++) {
        if (i + 1 >= r->argc) {
            if (isFetchOption(r, i)) addReplySyntaxError(r);
            else addReplyErrorFormat(r, "ERR unknown option '%.128s'", r->argv[i]);
            return false;
        }
        if (argIs(r, i, "count")) {
            if (!jobOptOnce(r, i, &seen, 1)) return false;
            if (!jobOptRange(r, ++i, "COUNT", 1, JOB_MAX_FETCH, &f->count)) return false;
        } else if (argIs(r, i, "lease")) {
            if (!jobOptOnce(r, i, &seen, 2)) return false;
            if (!jobOptRange(r, ++i, "LEASE", 1, JOB_MAX_MS, &f->lease)) return false;
        } else if (argIs(r, i, "block")) {
            if (!jobOptOnce(r, i, &seen, 4)) return false;
            long long v;
            if (!getLongLongArg(r, ++i, &v, "ERR timeout is not an integer or out of range")) return false;
            if (v < 0) { addReplyError(r, "ERR timeout is negative"); return false; }
            if (v > JOB_MAX_MS) { addReplyError(r, "ERR timeout is out of range"); return false; }
            f->block_ms = v;
        } else if (argIs(r, i, "worker")) {
            if (!jobOptOnce(r, i, &seen, 8)) return false;
            i++;
            f->worker = r->argv[i];
            f->wlen = r->argvlen[i];
        } else {
            addReplyErrorFormat(r, "ERR unknown option '%.128s'", r->argv[i]);
            return false;
        }
    }
    return true;
}

static const char SQL_QUEUE_INFO[] = "SELECT paused, n_ready, n_delayed FROM job_queues WHERE db=?1 AND queue=?2";
static const char SQL_CANDIDATES[] =
    "SELECT id, priority, run_at, limit_key, limit_n, expires_at, attempts, timeout, payload FROM jobs"
    " WHERE db=?1 AND queue=?2 AND state=0 AND (priority, run_at, id) > (?3, ?4, ?5)"
    " ORDER BY priority, run_at, id LIMIT ?6";
static const char SQL_CLAIM[] =
    "UPDATE OR FAIL jobs SET state=2, attempts=attempts+1, lease_until=?2+max(coalesce(timeout, ?3), ?4),"
    " worker=?5, started_at=?2, updated_at=?2 WHERE id=?1 AND state=0";
/* Read back after the claim (RETURNING would cost an ephemeral table), for
 * a candidate read without its payload. */
static const char SQL_CLAIMED[] = "SELECT attempts, payload, lease_until FROM jobs WHERE id=?1";
static const char SQL_COUNT_CLAIMED[] =
    "UPDATE job_queues SET n_ready=n_ready-?3, n_running=n_running+?3 WHERE db=?1 AND queue=?2";
static const char SQL_LIMIT_RUNNING[] = "SELECT count(*) FROM jobs WHERE db=?1 AND limit_key=?2 AND state=2";
static const char SQL_DELETE_ONE[] = "DELETE FROM jobs WHERE id=?1";
static const char SQL_QUEUE_EXPIRED[] = "UPDATE job_queues SET expired=expired+?3 WHERE db=?1 AND queue=?2";

#define FETCH_SCAN_MAX 1000 /* candidates looked at per queue per FETCH */
#define FETCH_BLOCKED_KEYS 16

/* A READY job as readCandidates() found it. The first ones of a page, those
 * FETCH expects to claim, also carry what the reply needs (`has_payload`),
 * so that claiming them needs no second read of the row: nothing else
 * changes the row between the read and the claim (same command, writer
 * thread). */
typedef struct candidate {
    int64_t id;
    long long priority, run_at, expires_at, limit_n;
    char *limit_key;
    size_t limit_len;
    bool has_payload, has_timeout;
    long long attempts, timeout;
    char *payload;
    size_t payload_len;
} candidate;

typedef struct blockedkeys {
    char *key[FETCH_BLOCKED_KEYS];
    size_t len[FETCH_BLOCKED_KEYS];
    int n;
} blockedkeys;

static bool keyBlocked(blockedkeys *b, const char *k, size_t len) {
    for (int i = 0; i < b->n; i++)
        if (b->len[i] == len && memcmp(b->key[i], k, len) == 0) return true;
    return false;
}

/* 1 the job's LIMIT has room, 0 full, -1 error. */
static int limitHasRoom(request *r, candidate *c, blockedkeys *b) {
    if (keyBlocked(b, c->limit_key, c->limit_len)) return 0;
    sqlite3_stmt *s = stmtGet(r->st, SQL_LIMIT_RUNNING);
    if (!s) return -1;
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, c->limit_key, (int)c->limit_len, SQLITE_STATIC);
    long long running = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    stmtDone(s);
    if (running < c->limit_n) return 1;
    if (b->n < FETCH_BLOCKED_KEYS) {
        b->key[b->n] = malloc(c->limit_len ? c->limit_len : 1);
        memcpy(b->key[b->n], c->limit_key, c->limit_len);
        b->len[b->n++] = c->limit_len;
    }
    return 0;
}

static void addReplyClaimed(request *r, int64_t id, int qidx, const void *payload, size_t plen, long long attempt) {
    addReplyArrayLen(r, 4);
    addReplyJobId(r, id);
    addReplyBulk(r, r->argv[qidx], r->argvlen[qidx]);
    addReplyBulk(r, payload, plen);
    addReplyLongLong(r, attempt);
}

/* Claim one READY job and write its [id, queue, payload, attempt] to r->out.
 * 1 claimed, 0 gone meanwhile, -1 error. */
static int claim(request *r, const candidate *c, int qidx, const fetchopts *f) {
    long long lease = f->lease ? f->lease : JOB_DEFAULT_LEASE_MS;
    sqlite3_stmt *s = stmtGet(r->st, SQL_CLAIM);
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, c->id);
    sqlite3_bind_int64(s, 2, r->now_ms);
    sqlite3_bind_int64(s, 3, lease);
    sqlite3_bind_int64(s, 4, f->lease);
    jobBindBlob(s, 5, f->worker, f->wlen);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return -1;
    if (sqlite3_changes(storeDb(r->st)) == 0) return 0;
    if (c->has_payload) { /* SQL_CLAIM's lease_until and attempts, computed alike */
        long long held = c->has_timeout ? c->timeout : lease;
        jobNoteLease(r->now_ms + (held > f->lease ? held : f->lease));
        addReplyClaimed(r, c->id, qidx, c->payload, c->payload_len, c->attempts + 1);
        return 1;
    }
    s = stmtGet(r->st, SQL_CLAIMED);
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, c->id);
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        size_t plen;
        const void *payload = stmtColumnBlob(s, 1, &plen);
        jobNoteLease(sqlite3_column_int64(s, 2));
        addReplyClaimed(r, c->id, qidx, payload, plen, sqlite3_column_int64(s, 0));
    }
    stmtDone(s);
    return rc == SQLITE_ROW ? 1 : -1;
}

static int dropExpired(request *r, int64_t id, int qidx) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_DELETE_ONE);
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return -1;
    s = stmtGet(r->st, SQL_QUEUE_EXPIRED);
    if (!s) return -1;
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[qidx], (int)r->argvlen[qidx], SQLITE_STATIC);
    sqlite3_bind_int(s, 3, 1);
    rc = sqlite3_step(s);
    stmtDone(s);
    return rc == SQLITE_DONE && jobNoteDeletes(r) ? 0 : -1;
}

/* Read the next page of READY candidates after `after` into `c`; the first
 * `with_payload` of them with their payloads. */
static int readCandidates(request *r, int qidx, const candidate *after, candidate *c, int max, int with_payload) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_CANDIDATES);
    if (!s) return -1;
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[qidx], (int)r->argvlen[qidx], SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, after->priority);
    sqlite3_bind_int64(s, 4, after->run_at);
    sqlite3_bind_int64(s, 5, after->id);
    sqlite3_bind_int(s, 6, max);
    int n = 0, rc;
    while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        candidate *x = &c[n++];
        x->id = sqlite3_column_int64(s, 0);
        x->priority = sqlite3_column_int64(s, 1);
        x->run_at = sqlite3_column_int64(s, 2);
        x->limit_key = NULL;
        x->limit_len = 0;
        if (sqlite3_column_type(s, 3) != SQLITE_NULL) {
            const void *key = stmtColumnBlob(s, 3, &x->limit_len);
            x->limit_key = malloc(x->limit_len + 1);
            memcpy(x->limit_key, key, x->limit_len);
        }
        x->limit_n = sqlite3_column_int64(s, 4);
        x->expires_at = sqlite3_column_int64(s, 5);
        x->has_payload = n <= with_payload;
        x->payload = NULL;
        if (x->has_payload) {
            x->attempts = sqlite3_column_int64(s, 6);
            x->has_timeout = sqlite3_column_type(s, 7) != SQLITE_NULL;
            x->timeout = sqlite3_column_int64(s, 7);
            const void *p = stmtColumnBlob(s, 8, &x->payload_len);
            x->payload = malloc(x->payload_len ? x->payload_len : 1);
            if (x->payload_len) memcpy(x->payload, p, x->payload_len);
        }
    }
    stmtDone(s);
    return n;
}

/* Claim up to `want` jobs from the queue argv[qidx], writing them to r->out.
 * Returns the number claimed, -1 on a storage error. Lowers *wake to the
 * time its next delayed job is due. */
static int fetchQueue(request *r, int qidx, const fetchopts *f, int want, long long *wake) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_QUEUE_INFO);
    if (!s) return -1;
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[qidx], (int)r->argvlen[qidx], SQLITE_STATIC);
    bool found = sqlite3_step(s) == SQLITE_ROW;
    int paused = found ? sqlite3_column_int(s, 0) : 1;
    long long ready = found ? sqlite3_column_int64(s, 1) : 0;
    long long delayed = found ? sqlite3_column_int64(s, 2) : 0;
    stmtDone(s);
    if (delayed > 0) {
        int n = jobPromote(r, r->db, r->argv[qidx], r->argvlen[qidx], 1000);
        if (n < 0) return -1;
        ready += n;
        if (delayed > n) {
            long long at = jobMinDelayed(r, r->db, r->argv[qidx], r->argvlen[qidx]);
            if (at && (!*wake || at < *wake)) *wake = at;
        }
    }
    if (paused || ready <= 0) return 0;

    int got = 0, scanned = 0;
    candidate after = {.id = LLONG_MIN, .priority = LLONG_MIN, .run_at = LLONG_MIN};
    blockedkeys blocked = {.n = 0};
    candidate page[64];
    bool error = false;
    while (got < want && scanned < FETCH_SCAN_MAX && !error) {
        int max = want - got + 8;
        if (max > 64) max = 64;
        int n = readCandidates(r, qidx, &after, page, max, want - got);
        if (n < 0) { error = true; break; }
        for (int i = 0; i < n; i++) {
            candidate *c = &page[i];
            scanned++;
            after = *c;
            if (error || got >= want) continue;
            int rc = 1;
            if (c->expires_at && c->expires_at <= r->now_ms) {
                if (dropExpired(r, c->id, qidx) < 0) error = true;
                continue;
            }
            if (c->limit_key && (rc = limitHasRoom(r, c, &blocked)) <= 0) {
                if (rc < 0) error = true;
                continue;
            }
            rc = claim(r, c, qidx, f);
            if (rc < 0) error = true;
            else got += rc;
        }
        for (int i = 0; i < n; i++) {
            free(page[i].limit_key);
            free(page[i].payload);
        }
        after.limit_key = NULL;
        after.payload = NULL;
        if (n < max) break;
    }
    for (int i = 0; i < blocked.n; i++) free(blocked.key[i]);
    if (got && !error) { /* the counters of what claim() moved (no trigger for it) */
        s = stmtGet(r->st, SQL_COUNT_CLAIMED);
        if (!s) return -1;
        sqlite3_bind_int(s, 1, r->db);
        sqlite3_bind_blob(s, 2, r->argv[qidx], (int)r->argvlen[qidx], SQLITE_STATIC);
        sqlite3_bind_int(s, 3, got);
        error = sqlite3_step(s) != SQLITE_DONE;
        stmtDone(s);
    }
    return error ? -1 : got;
}

/* JOB.FETCH queue [queue ...] [COUNT n] [LEASE ms] [BLOCK ms] [WORKER name] */
static void jobFetchCommand(request *r) {
    fetchopts f;
    if (!parseFetch(r, &f)) return;
    if (jobReclaimLeases(r, 128, false) < 0 || jobCronRunDue(r, 16, false) < 0) return;
    size_t mark = addReplyDeferredLen(r);
    long long got = 0, wake = 0;
    for (int q = 0; q < f.nqueues && got < f.count; q++) {
        int n = fetchQueue(r, 1 + q, &f, (int)(f.count - got), &wake);
        if (n < 0) {
            if (!r->store_error) storeFail(r, "job fetch");
            discardDeferredReply(r, mark);
            return;
        }
        got += n;
    }
    if (got) {
        r->dirty++;
        setDeferredArrayLen(r, mark, got);
    } else if (f.block_ms < 0) {
        addReplyNullArray(r);
    } else if (requestBlock(r, 1, f.nqueues, f.block_ms ? r->now_ms + f.block_ms : 0, false)) {
        long long timed = jobNextTimedWork(r);
        if (timed && (!wake || timed < wake)) wake = timed;
        if (wake) requestBlockWake(r, wake > r->now_ms ? wake : r->now_ms + 1);
    }
}

/* ---- registration ------------------------------------------------------ */

#define W (CMD_WRITE | CMD_FAST)
#define R CMD_READONLY
static const command job_commands[] = {
    {"job.add", jobAddCommand, -3, W | CMD_DENYOOM, 0, 0, 0, "job", "Adds a job to a queue and returns its id.", SOLIDIS_VERSION, NULL},
    {"job.fetch", jobFetchCommand, -2, CMD_WRITE | CMD_BLOCKING, 0, 0, 0, "job", "Leases due jobs from queues, highest priority then oldest first, optionally blocking until one is due.", SOLIDIS_VERSION, NULL},
    {"job.ack", jobAckCommand, -2, W, 0, 0, 0, "job", "Marks leased jobs as done.", SOLIDIS_VERSION, NULL},
    {"job.nack", jobNackCommand, -2, W, 0, 0, 0, "job", "Fails a leased job: retried with exponential backoff, dead past its retries.", SOLIDIS_VERSION, NULL},
    {"job.extend", jobExtendCommand, 3, W, 0, 0, 0, "job", "Extends the lease of a running job (heartbeat).", SOLIDIS_VERSION, NULL},
    {"job.cancel", jobCancelCommand, 2, W, 0, 0, 0, "job", "Cancels a waiting or running job.", SOLIDIS_VERSION, NULL},
    {"job.retry", jobRetryCommand, 2, W, 0, 0, 0, "job", "Makes a dead job ready again.", SOLIDIS_VERSION, NULL},
    {"job.pause", jobPauseCommand, 2, W, 0, 0, 0, "job", "Stops handing out jobs of a queue.", SOLIDIS_VERSION, NULL},
    {"job.resume", jobResumeCommand, 2, W, 0, 0, 0, "job", "Resumes handing out jobs of a paused queue.", SOLIDIS_VERSION, NULL},
    {"job.purge", jobPurgeCommand, 3, CMD_WRITE, 0, 0, 0, "job", "Deletes the jobs of a queue in a given state.", SOLIDIS_VERSION, NULL},
    {"job.cron", jobCronCommand, -2, CMD_WRITE, 0, 0, 0, "job", "Adds, deletes or lists recurring jobs.", SOLIDIS_VERSION, NULL},
    {"job.get", jobGetCommand, 2, R | CMD_FAST, 0, 0, 0, "job", "Returns a job's state, queue, attempts, timestamps, last error and payload.", SOLIDIS_VERSION, NULL},
    {"job.list", jobListCommand, -3, R, 0, 0, 0, "job", "Iterates over the jobs of a queue in a given state.", SOLIDIS_VERSION, NULL},
    {"job.stats", jobStatsCommand, -1, R, 0, 0, 0, "job", "Returns job counts per state, the oldest ready job's age and the throughput.", SOLIDIS_VERSION, NULL},
    {"job.help", jobHelpCommand, 1, R, 0, 0, 0, "job", "Shows helpful text about the JOB commands.", SOLIDIS_VERSION, NULL},
    {NULL, NULL, 0, 0, 0, 0, 0, NULL, NULL, NULL, NULL},
};

/* INFO jobs — net thread, read connection: totals over all queues. */
static void jobInfo(reply *out, request *r) {
    static const char SQL_TOTALS[] =
        "SELECT count(*), total(paused), total(n_ready), total(n_delayed), total(n_running), total(n_done),"
        " total(n_dead), total(n_cancelled), total(added), total(completed), total(retried), total(failed),"
        " total(expired) FROM job_queues";
    static const char SQL_CRONS[] = "SELECT count(*) FROM job_cron";
    static const char *const names[] = {"job_queues", "job_queues_paused", "jobs_ready", "jobs_delayed",
                                        "jobs_running", "jobs_done", "jobs_dead", "jobs_cancelled", "jobs_added",
                                        "jobs_completed", "jobs_retried", "jobs_failed", "jobs_expired"};
    char line[128];
    replyAppend(out, "# Jobs\r\n", 8);
    sqlite3_stmt *s = stmtGet(r->st, SQL_TOTALS);
    if (s && sqlite3_step(s) == SQLITE_ROW)
        for (int i = 0; i < 13; i++) {
            int n = snprintf(line, sizeof(line), "%s:%lld\r\n", names[i], (long long)sqlite3_column_double(s, i));
            replyAppend(out, line, (size_t)n);
        }
    stmtDone(s);
    s = stmtGet(r->st, SQL_CRONS);
    if (s && sqlite3_step(s) == SQLITE_ROW) {
        int n = snprintf(line, sizeof(line), "job_crons:%lld\r\n", (long long)sqlite3_column_int64(s, 0));
        replyAppend(out, line, (size_t)n);
    }
    stmtDone(s);
}

long long job_retention_s = 24LL * 3600, job_dead_retention_s = 7LL * 24 * 3600;

void jobRegister(void) {
    serverRegisterIntConfig("job-retention", &job_retention_s, "86400", 0, 10LL * 365 * 24 * 3600);
    serverRegisterIntConfig("job-dead-retention", &job_dead_retention_s, "604800", 0, 10LL * 365 * 24 * 3600);
    serverRegisterInfoSection("jobs", jobInfo);
    storeRegisterSchema(JOB_SCHEMA);
    jobCountsRegister();
    commandRegisterTable(job_commands);
    serverAddBackgroundTask("job-maintenance", jobMaintTask, 100);
    serverAddBackgroundTask("job-retention", jobRetentionTask, 1000);
}
