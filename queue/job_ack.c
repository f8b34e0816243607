/*
 * job_ack.c — what workers and operators do to jobs after FETCH: JOB.ACK
 * NACK EXTEND CANCEL RETRY, and to queues: JOB.PAUSE RESUME PURGE.
 *
 * Every state change is one indexed UPDATE (or DELETE) on the jobs table;
 * the triggers in job.c keep job_queues' counters in step. A change that
 * can give a parked fetcher work — a job back to ready, a LIMIT slot freed,
 * a queue resumed — touches the queue name so the fetcher is re-run.
 *
 * Writer thread.
 */
#include "job.h"
#include <stdlib.h>
#include <string.h>

/* Writer thread only: jitter for retry backoff. */
static uint64_t rng_state;

static uint64_t jobRandom(void) {
    if (!rng_state) rng_state = (uint64_t)ustime() | 1;
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Retry delay after `attempts` deliveries: backoff * 2^(attempts-1), capped,
 * plus up to 20% jitter so failed jobs do not come back in lockstep. */
static long long backoffDelay(long long base, long long attempts) {
    if (base <= 0) return 0;
    long long cap = base > JOB_MAX_BACKOFF_MS ? base : JOB_MAX_BACKOFF_MS;
    long long d = base;
    for (long long i = 1; i < attempts && d < cap; i++) d *= 2;
    if (d > cap) d = cap;
    return d + (long long)(jobRandom() % (uint64_t)(d / 5 + 1));
}

/* ---- acknowledgements -------------------------------------------------- */

/* One-row changes: OR FAIL, no statement journal (see job.c). */
/* Only a RUNNING job can be acknowledged: an ACK of a job nobody fetched
 * (ready or delayed) would mark it done without it ever having run. */
#define ACK_SQL                                                                                      \
    "UPDATE OR FAIL jobs SET state=job_moved(db, queue, state, 3),"                                  \
    " finished_at=?3, updated_at=?3, lease_until=NULL, unique_key=NULL"                              \
    " WHERE id=?1 AND db=?2 AND state=2"
static const char SQL_ACK[] = ACK_SQL;
/* A job without a LIMIT frees no slot a fetcher may wait for, so its ACK
 * needs no look at the row afterwards: one statement instead of two. */
static const char SQL_ACK_UNLIMITED[] = ACK_SQL " AND limit_key IS NULL";
static const char SQL_NACK_GET[] =
    "SELECT attempts, retries, backoff, queue, limit_key FROM jobs WHERE id=?1 AND db=?2 AND state=2";
static const char SQL_NACK_RETRY[] =
    "UPDATE OR FAIL jobs SET state=job_moved(db, queue, state, ?2), run_at=?3, lease_until=NULL,"
    " last_error=?4, updated_at=?5 WHERE id=?1";
/* A dead job keeps its UNIQUE key (see jobInsert): JOB.RETRY may make it
 * active again, and then it must hold the key as before, unless an ADD
 * took the key while it was dead. */
static const char SQL_NACK_DEAD[] =
    "UPDATE OR FAIL jobs SET state=job_moved(db, queue, state, 4), lease_until=NULL, last_error=?4,"
    " finished_at=?5, updated_at=?5"
    " WHERE id=?1";
/* A lease that has run out is not renewed, even before the maintenance task
 * has put the job back: the job belongs to the queue again from that
 * moment (FETCH reclaims it first), so an EXTEND's answer must not depend
 * on whether that task already ran. */
static const char SQL_EXTEND[] =
    "UPDATE jobs SET lease_until=?3+?4, updated_at=?3 WHERE id=?1 AND db=?2 AND state=2 AND lease_until>?3";
static const char SQL_CANCEL[] =
    "UPDATE OR FAIL jobs SET state=job_moved(db, queue, state, 5), finished_at=?3, updated_at=?3,"
    " lease_until=NULL, unique_key=NULL"
    " WHERE id=?1 AND db=?2 AND state<=2";
static const char SQL_RETRY[] =
    "UPDATE OR FAIL jobs SET state=job_moved(db, queue, state, 0), attempts=0, run_at=?3,"
    " finished_at=NULL, updated_at=?3"
    " WHERE id=?1 AND db=?2 AND state=4";
/* Read back after the update (RETURNING would cost an ephemeral table). */
static const char SQL_QUEUE_OF[] = "SELECT queue, limit_key FROM jobs WHERE id=?1";
static const char SQL_LIMIT_WAITING[] = "SELECT DISTINCT queue FROM jobs WHERE db=?1 AND limit_key=?2 AND state=0";

bool jobLimitFreed(request *r, int db, const void *key, size_t klen) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_LIMIT_WAITING);
    if (!s) return false;
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, key, (int)klen, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t qlen;
        const void *queue = stmtColumnBlob(s, 0, &qlen);
        keyTouched(r, db, queue, qlen);
    }
    stmtDone(s);
    return rc == SQLITE_DONE;
}

/* Run a one-job UPDATE bound to (id, db, now): 1 changed, 0 not, -1 error. */
static int updateById(request *r, const char *sql, int64_t id) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, r->db);
    sqlite3_bind_int64(s, 3, r->now_ms);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) return -1;
    if (sqlite3_changes(storeDb(r->st)) == 0) return 0;
    r->dirty++;
    return 1;
}

/* updateById, then touch the job's queue when asked, and when the job had a
 * LIMIT the queues waiting for its slot. Returns 1 changed, 0 no such job in
 * the required state, -1 error. */
static int updateOne(request *r, const char *sql, int64_t id, bool touch_always) {
    int changed = updateById(r, sql, id);
    if (changed <= 0) return changed;
    sqlite3_stmt *s = stmtGet(r->st, SQL_QUEUE_OF);
    if (!s) return -1;
    sqlite3_bind_int64(s, 1, id);
    int rc = sqlite3_step(s);
    bool ok = rc == SQLITE_ROW;
    if (ok && touch_always) {
        size_t qlen;
        const void *queue = stmtColumnBlob(s, 0, &qlen);
        keyTouched(r, r->db, queue, qlen);
    }
    if (ok && sqlite3_column_type(s, 1) != SQLITE_NULL) { /* a finished job frees a LIMIT slot */
        size_t klen;
        const void *key = stmtColumnBlob(s, 1, &klen);
        ok = jobLimitFreed(r, r->db, key, klen);
    }
    stmtDone(s);
    return ok ? 1 : -1;
}

/* JOB.ACK id [id ...] → number of jobs acknowledged */
void jobAckCommand(request *r) {
    long long n = 0;
    int64_t id;
    for (int i = 1; i < r->argc; i++) /* all or nothing: check every id first */
        if (!jobIdArg(r, i, &id)) return;
    jobCountsBegin();
    for (int i = 1; i < r->argc; i++) {
        jobIdParse(r->argv[i], r->argvlen[i], &id);
        int rc = updateById(r, SQL_ACK_UNLIMITED, id);
        if (rc == 0) rc = updateOne(r, SQL_ACK, id, false);
        if (rc < 0) {
            jobCountsEnd(r, false);
            storeFail(r, "job ack");
            return;
        }
        n += rc;
    }
    if (!jobCountsEnd(r, true)) { storeFail(r, "job ack"); return; }
    addReplyLongLong(r, n);
}

/* JOB.NACK id [DELAY ms] [ERROR text] → 1 if the running job was failed */
void jobNackCommand(request *r) {
    long long delay = -1;
    const char *err = NULL;
    size_t errlen = 0;
    unsigned seen = 0;
    for (int i = 2; i < r->argc; i++) {
        if (argIs(r, i, "delay") && i + 1 < r->argc) {
            if (!jobOptOnce(r, i, &seen, 1)) return;
            if (!jobOptRange(r, ++i, "DELAY", 0, JOB_MAX_MS, &delay)) return;
        } else if (argIs(r, i, "error") && i + 1 < r->argc) {
            if (!jobOptOnce(r, i, &seen, 2)) return;
            i++;
            err = r->argv[i];
            errlen = r->argvlen[i];
        } else if (argIs(r, i, "delay") || argIs(r, i, "error")) {
            addReplySyntaxError(r);
            return;
        } else {
            addReplyErrorFormat(r, "ERR unknown option '%.128s'", r->argv[i]);
            return;
        }
    }
    int64_t id;
    if (!jobIdArg(r, 1, &id)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL_NACK_GET);
    if (!s) { storeFail(r, "job nack"); return; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, r->db);
    if (sqlite3_step(s) != SQLITE_ROW) {
        stmtDone(s);
        addReplyLongLong(r, 0);
        return;
    }
    long long attempts = sqlite3_column_int64(s, 0), retries = sqlite3_column_int64(s, 1);
    long long backoff = sqlite3_column_int64(s, 2);
    size_t qlen, klen = 0;
    const void *q = stmtColumnBlob(s, 3, &qlen);
    char *queue = malloc(qlen + 1);
    memcpy(queue, q, qlen);
    char *limit_key = NULL; /* its slot is free after the change */
    if (sqlite3_column_type(s, 4) != SQLITE_NULL) {
        const void *k = stmtColumnBlob(s, 4, &klen);
        limit_key = malloc(klen + 1);
        memcpy(limit_key, k, klen);
    }
    stmtDone(s);
    bool dead = attempts > retries;
    if (!dead && delay < 0) delay = backoffDelay(backoff, attempts);
    s = stmtGet(r->st, dead ? SQL_NACK_DEAD : SQL_NACK_RETRY);
    if (!s) { free(queue); free(limit_key); storeFail(r, "job nack"); return; }
    sqlite3_bind_int64(s, 1, id);
    if (!dead) {
        sqlite3_bind_int(s, 2, delay > 0 ? JOB_DELAYED : JOB_READY);
        sqlite3_bind_int64(s, 3, r->now_ms + (delay > 0 ? delay : 0));
    }
    jobBindBlob(s, 4, err, errlen);
    sqlite3_bind_int64(s, 5, r->now_ms);
    jobCountsBegin();
    int rc = sqlite3_step(s);
    stmtDone(s);
    bool ok = jobCountsEnd(r, rc == SQLITE_DONE);
    if (ok) {
        keyTouched(r, r->db, queue, qlen);
        if (limit_key) ok = jobLimitFreed(r, r->db, limit_key, klen);
    }
    free(queue);
    free(limit_key);
    if (!ok) { storeFail(r, "job nack"); return; }
    r->dirty++;
    addReplyLongLong(r, 1);
}

/* JOB.EXTEND id ms → 1 if the lease of the running job now ends ms from now */
void jobExtendCommand(request *r) {
    long long ms;
    if (!jobOptRange(r, 2, "lease", 1, JOB_MAX_MS, &ms)) return;
    int64_t id;
    if (!jobIdArg(r, 1, &id)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL_EXTEND);
    if (!s) { storeFail(r, "job extend"); return; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, r->db);
    sqlite3_bind_int64(s, 3, r->now_ms);
    sqlite3_bind_int64(s, 4, ms);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "job extend"); return; }
    int n = sqlite3_changes(storeDb(r->st));
    if (n) jobNoteLease(r->now_ms + ms);
    r->dirty += n;
    addReplyLongLong(r, n);
}

/* JOB.CANCEL / JOB.RETRY id: one counted UPDATE of the job argv[1] names;
 * replies 1 if it changed. */
static void changeOneCommand(request *r, const char *sql, const char *what) {
    int64_t id;
    if (!jobIdArg(r, 1, &id)) return;
    jobCountsBegin();
    int rc = updateOne(r, sql, id, true);
    if (!jobCountsEnd(r, rc >= 0)) { storeFail(r, what); return; }
    addReplyLongLong(r, rc);
}

/* JOB.CANCEL id → 1 if a waiting or running job was cancelled */
void jobCancelCommand(request *r) { changeOneCommand(r, SQL_CANCEL, "job cancel"); }

/* JOB.RETRY id → 1 if a dead job is ready again (with a fresh set of retries) */
void jobRetryCommand(request *r) { changeOneCommand(r, SQL_RETRY, "job retry"); }

/* ---- queues ------------------------------------------------------------ */

static const char SQL_PAUSE[] =
    "INSERT INTO job_queues(db, queue, paused) VALUES(?1, ?2, 1) ON CONFLICT(db, queue) DO UPDATE SET paused=1";
static const char SQL_RESUME[] = "UPDATE job_queues SET paused=0 WHERE db=?1 AND queue=?2";

static void pauseGeneric(request *r, const char *sql) {
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "job pause"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "job pause"); return; }
    keyTouched(r, r->db, r->argv[1], r->argvlen[1]);
    r->dirty++;
    addReplyOK(r);
}

/* JOB.PAUSE queue: FETCH hands out nothing from it until JOB.RESUME. */
void jobPauseCommand(request *r) { pauseGeneric(r, SQL_PAUSE); }
void jobResumeCommand(request *r) { pauseGeneric(r, SQL_RESUME); }

/* Each state's DELETE names its partial index's condition. */
static const char SQL_PURGE_READY[] = "DELETE FROM jobs WHERE db=?1 AND queue=?2 AND state=0";
static const char SQL_PURGE_DELAYED[] = "DELETE FROM jobs WHERE db=?1 AND queue=?2 AND state=1";
static const char SQL_PURGE_RUNNING[] =
    "DELETE FROM jobs WHERE state=2 AND db=?1 AND queue=?2 RETURNING limit_key";
static const char SQL_PURGE_FINISHED[] = "DELETE FROM jobs WHERE db=?1 AND queue=?2 AND state=?3 AND state>=3";

/* JOB.PURGE queue state → number of jobs deleted */
void jobPurgeCommand(request *r) {
    int state = jobStateParse(r->argv[2], r->argvlen[2]);
    if (state < 0) {
        addReplyErrorFormat(r, "ERR unknown state '%.128s'", r->argv[2]);
        return;
    }
    const char *sql = state == JOB_READY ? SQL_PURGE_READY : state == JOB_DELAYED ? SQL_PURGE_DELAYED
                    : state == JOB_RUNNING ? SQL_PURGE_RUNNING : SQL_PURGE_FINISHED;
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "job purge"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    if (state >= JOB_DONE) sqlite3_bind_int(s, 3, state);
    int rc, n = 0;
    bool ok = true;
    /* Running jobs: the first step deletes them all, the rows are the LIMIT
     * keys whose slots they held. */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        n++;
        if (ok && sqlite3_column_type(s, 0) != SQLITE_NULL) {
            size_t klen;
            const void *key = stmtColumnBlob(s, 0, &klen);
            ok = jobLimitFreed(r, r->db, key, klen);
        }
    }
    stmtDone(s);
    if (rc != SQLITE_DONE || !ok) { storeFail(r, "job purge"); return; }
    if (state != JOB_RUNNING) n = sqlite3_changes(storeDb(r->st));
    if (n) {
        if (!jobNoteDeletes(r)) { storeFail(r, "job purge"); return; }
        r->dirty += n;
    }
    addReplyLongLong(r, n);
}
