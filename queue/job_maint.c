/*
 * job_maint.c — what the passing of time does to jobs: leases run out,
 * delayed jobs become due, waiting jobs outlive their TTL, finished jobs
 * outlive their retention.
 *
 * Each step is a bounded slice (a LIMIT on one indexed statement), usable
 * from two places: the background tasks, between batches, which keep the
 * table and JOB.STATS right when nobody fetches; and JOB.FETCH itself, which
 * does the due work of its queues first, so a fetcher never waits for a
 * background tick. A parked fetcher is re-run at the earliest time such work
 * can appear (jobMinDelayed, jobNextTimedWork), which is how a delayed job reaches a blocked
 * worker within a millisecond or two of its time.
 *
 * Writer thread only.
 */
#include "job.h"
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* A lease ran out: READY again, or DEAD when that was the last attempt. */
static const char SQL_RECLAIM[] =
    "UPDATE jobs SET state=job_moved(db, queue, state, CASE WHEN attempts>retries THEN 4 ELSE 0 END),"
    " lease_until=NULL, last_error='lease expired', updated_at=?1,"
    " finished_at=CASE WHEN attempts>retries THEN ?1 END"
    " WHERE id IN (SELECT id FROM jobs WHERE state=2 AND lease_until<=?1 ORDER BY lease_until LIMIT ?2)"
    " RETURNING db, queue, limit_key";
static const char SQL_PROMOTE[] =
    "UPDATE jobs SET state=job_moved(db, queue, state, 0)"
    " WHERE id IN (SELECT id FROM jobs WHERE db=?1 AND queue=?2 AND state=1 AND run_at<=?3 ORDER BY run_at LIMIT ?4)";
static const char SQL_TTL[] =
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE expires_at IS NOT NULL AND state<=1"
    " AND expires_at<=?1 ORDER BY expires_at LIMIT ?2) RETURNING db, queue";
static const char SQL_QUEUE_EXPIRED[] = "UPDATE job_queues SET expired=expired+1 WHERE db=?1 AND queue=?2";
static const char SQL_QUEUES_DELAYED[] = "SELECT db, queue FROM job_queues WHERE n_delayed>0";
static const char SQL_QUEUES_FINISHED[] =
    "SELECT db, queue FROM job_queues WHERE n_done>0 OR n_dead>0 OR n_cancelled>0";
static const char SQL_RETENTION[] =
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE db=?1 AND queue=?2 AND state=?3 AND state>=3"
    " AND finished_at<?4 ORDER BY finished_at LIMIT ?5)";
static const char SQL_MIN_DELAYED[] = "SELECT min(run_at) FROM jobs WHERE db=?1 AND queue=?2 AND state=1";
static const char SQL_MIN_LEASE[] = "SELECT min(lease_until) FROM jobs WHERE state=2";

/* (db, queue) pairs copied out of a statement, so the jobs table can be
 * changed while walking them. */
typedef struct qname {
    int db;
    size_t len;
    char *name;
} qname;

typedef struct qlist {
    qname *q;
    int n, cap;
} qlist;

static void qlistAdd(qlist *l, int db, const void *name, size_t len) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->q = realloc(l->q, sizeof(qname) * (size_t)l->cap);
    }
    qname *q = &l->q[l->n++];
    q->db = db;
    q->len = len;
    q->name = malloc(len + 1);
    memcpy(q->name, name, len);
}

static void qlistFree(qlist *l) {
    for (int i = 0; i < l->n; i++) free(l->q[i].name);
    free(l->q);
    l->q = NULL;
    l->n = l->cap = 0;
}

/* Step a statement returning (db, queue) rows into `l`. */
static bool collectQueues(sqlite3_stmt *s, qlist *l) {
    int rc;
    size_t len;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        const void *queue = stmtColumnBlob(s, 1, &len);
        qlistAdd(l, sqlite3_column_int(s, 0), queue, len);
    }
    stmtDone(s);
    return rc == SQLITE_DONE;
}

/* No lease ends before this time (a lower bound; 0 = unknown). */
static long long lease_hint;

void jobNoteLease(long long until) {
    if (lease_hint && until < lease_hint) lease_hint = until;
}

static long long minLease(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_MIN_LEASE);
    if (!s) return 0;
    long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    stmtDone(s);
    return v;
}

int jobReclaimLeases(request *r, int limit, bool always) {
    if (!always && lease_hint > r->now_ms) return 0;
    sqlite3_stmt *s = stmtGet(r->st, SQL_RECLAIM);
    if (!s) { storeFail(r, "job lease expiry"); return -1; }
    sqlite3_bind_int64(s, 1, r->now_ms);
    sqlite3_bind_int(s, 2, limit);
    int n = 0, rc;
    bool ok = true;
    jobCountsBegin();
    /* All changes are made by the first step; the rows are the touched queues
     * and the LIMIT slots freed. */
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        size_t qlen, klen;
        int db = sqlite3_column_int(s, 0);
        const void *queue = stmtColumnBlob(s, 1, &qlen);
        keyTouched(r, db, queue, qlen);
        if (ok && sqlite3_column_type(s, 2) != SQLITE_NULL) {
            const void *key = stmtColumnBlob(s, 2, &klen);
            ok = jobLimitFreed(r, db, key, klen);
        }
        n++;
    }
    stmtDone(s);
    if (!jobCountsEnd(r, rc == SQLITE_DONE && ok)) { storeFail(r, "job lease expiry"); return -1; }
    r->dirty += n;
    if (n < limit) {
        long long next = minLease(r);
        lease_hint = next ? next : LLONG_MAX;
    } else {
        lease_hint = 0;
    }
    return n;
}

int jobPromote(request *r, int db, const char *queue, size_t qlen, int limit) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_PROMOTE);
    if (!s) { storeFail(r, "job promote"); return -1; }
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, queue, (int)qlen, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, r->now_ms);
    sqlite3_bind_int(s, 4, limit);
    jobCountsBegin();
    int rc = sqlite3_step(s);
    stmtDone(s);
    int n = sqlite3_changes(storeDb(r->st)); /* before jobCountsEnd's own UPDATEs */
    if (!jobCountsEnd(r, rc == SQLITE_DONE)) { storeFail(r, "job promote"); return -1; }
    if (n) {
        keyTouched(r, db, queue, qlen);
        r->dirty += n;
    }
    return n;
}

int jobExpireTtl(request *r, int limit) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_TTL);
    if (!s) { storeFail(r, "job ttl"); return -1; }
    sqlite3_bind_int64(s, 1, r->now_ms);
    sqlite3_bind_int(s, 2, limit);
    qlist l = {0};
    bool ok = collectQueues(s, &l);
    for (int i = 0; ok && i < l.n; i++) {
        s = stmtGet(r->st, SQL_QUEUE_EXPIRED);
        if (!s) { ok = false; break; }
        sqlite3_bind_int(s, 1, l.q[i].db);
        sqlite3_bind_blob(s, 2, l.q[i].name, (int)l.q[i].len, SQLITE_STATIC);
        ok = sqlite3_step(s) == SQLITE_DONE;
        stmtDone(s);
    }
    int n = l.n;
    qlistFree(&l);
    if (!ok) { storeFail(r, "job ttl"); return -1; }
    if (n) {
        if (!jobNoteDeletes(r)) { storeFail(r, "job ttl"); return -1; }
        r->dirty += n;
    }
    return n;
}

#define MAINT_SLICE 1000

/* Every 100 ms: expired leases, due delayed jobs, TTLs, cron ticks. */
bool jobMaintTask(request *r) {
    bool more = false;
    int n = jobReclaimLeases(r, MAINT_SLICE, true);
    if (n < 0) return false;
    more |= n == MAINT_SLICE;

    sqlite3_stmt *s = stmtGet(r->st, SQL_QUEUES_DELAYED);
    if (!s) return false;
    qlist l = {0};
    bool ok = collectQueues(s, &l);
    for (int i = 0; ok && i < l.n; i++) {
        n = jobPromote(r, l.q[i].db, l.q[i].name, l.q[i].len, MAINT_SLICE);
        ok = n >= 0;
        more |= n == MAINT_SLICE;
    }
    qlistFree(&l);
    if (!ok) return false;

    n = jobExpireTtl(r, MAINT_SLICE);
    if (n < 0) return false;
    more |= n == MAINT_SLICE;
    n = jobCronRunDue(r, 100, true);
    if (n < 0) return false;
    more |= n == 100;
    return more;
}

/* Every second: delete finished jobs past their retention, at most
 * MAINT_SLICE per transaction. */
bool jobRetentionTask(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_QUEUES_FINISHED);
    if (!s) return false;
    qlist l = {0};
    bool ok = collectQueues(s, &l);
    int budget = MAINT_SLICE, deleted = 0;
    static const int states[] = {JOB_DONE, JOB_CANCELLED, JOB_DEAD};
    for (int i = 0; ok && i < l.n && budget > 0; i++) {
        for (int k = 0; ok && k < 3 && budget > 0; k++) {
            long long keep = states[k] == JOB_DEAD ? JOB_DEAD_RETENTION_MS : JOB_RETENTION_MS;
            s = stmtGet(r->st, SQL_RETENTION);
            if (!s) { ok = false; break; }
            sqlite3_bind_int(s, 1, l.q[i].db);
            sqlite3_bind_blob(s, 2, l.q[i].name, (int)l.q[i].len, SQLITE_STATIC);
            sqlite3_bind_int(s, 3, states[k]);
            sqlite3_bind_int64(s, 4, r->now_ms - keep);
            sqlite3_bind_int(s, 5, budget);
            ok = sqlite3_step(s) == SQLITE_DONE;
            stmtDone(s);
            int n = ok ? sqlite3_changes(storeDb(r->st)) : 0;
            budget -= n;
            deleted += n;
        }
    }
    qlistFree(&l);
    if (ok && deleted && !jobNoteDeletes(r)) ok = false;
    if (!ok) storeFail(r, "job retention");
    return ok && budget <= 0;
}

long long jobMinDelayed(request *r, int db, const char *queue, size_t qlen) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_MIN_DELAYED);
    if (!s) return 0;
    sqlite3_bind_int(s, 1, db);
    sqlite3_bind_blob(s, 2, queue, (int)qlen, SQLITE_STATIC);
    long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    stmtDone(s);
    return v;
}

long long jobNextTimedWork(request *r) {
    long long lease = lease_hint == LLONG_MAX ? 0 : lease_hint ? lease_hint : minLease(r);
    long long cron = jobCronNextHint(r);
    return !lease ? cron : !cron ? lease : lease < cron ? lease : cron;
}
