/*
 * job_read.c — the job queue's read-only commands: JOB.GET, JOB.LIST,
 * JOB.STATS, JOB.HELP. They run on the net thread against its read
 * connection, so they see committed jobs only and never wait for the writer.
 *
 * Reply shapes (a map is a RESP3 map, a flat [field, value, ...] in RESP2):
 *   JOB.GET id      → job map, or null: id queue state payload priority
 *                     attempts retries created_at run_at started_at
 *                     finished_at updated_at lease_until worker last_error
 *                     unique limit_key limit expires_at (null when unset)
 *   JOB.LIST q st   → [next cursor ("0" at the end), [job map, ...]]
 *   JOB.STATS [q]   → map: ready delayed running done dead cancelled paused
 *                     oldest_ready_age_ms throughput (jobs done per second
 *                     over the last minute) added completed retried failed
 *                     expired, and without a queue also queues ([names])
 */
#include "job.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *job_fields[] = {
    "id", "queue", "state", "payload", "priority", "attempts", "retries", "created_at", "run_at", "started_at",
    "finished_at", "updated_at", "lease_until", "worker", "last_error", "unique", "limit_key", "limit", "expires_at",
};
#define NJOB_FIELDS (int)(sizeof(job_fields) / sizeof(job_fields[0]))

void jobReplyRow(request *r, sqlite3_stmt *s) {
    addReplyMapLen(r, NJOB_FIELDS);
    for (int i = 0; i < NJOB_FIELDS; i++) {
        size_t len;
        addReplyBulkCString(r, job_fields[i]);
        if (i == 0) addReplyJobId(r, sqlite3_column_int64(s, 0));
        else if (i == 2) addReplyBulkCString(r, jobStateName(sqlite3_column_int(s, 2)));
        else if (sqlite3_column_type(s, i) == SQLITE_NULL) addReplyNull(r);
        else if (sqlite3_column_type(s, i) == SQLITE_INTEGER) addReplyLongLong(r, sqlite3_column_int64(s, i));
        else {
            const void *v = stmtColumnBlob(s, i, &len);
            addReplyBulk(r, v, len);
        }
    }
}

static const char SQL_GET[] = "SELECT " JOB_COLUMNS " FROM jobs WHERE id=?1 AND db=?2";

/* JOB.GET id */
void jobGetCommand(request *r) {
    int64_t id;
    if (!jobIdArg(r, 1, &id)) return;
    sqlite3_stmt *s = stmtGet(r->st, SQL_GET);
    if (!s) { storeFail(r, "job get"); return; }
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, r->db);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) jobReplyRow(r, s);
    else if (rc == SQLITE_DONE) addReplyNull(r);
    else storeFail(r, "job get");
    stmtDone(s);
}

/* ---- JOB.LIST ---------------------------------------------------------- */

/* Each state is listed in the order of its own index; the cursor is that
 * order's key of the last job returned, "a.b.id" (opaque to clients). The
 * last two columns are the key's a and b. */
static const char SQL_LIST_READY[] =
    "SELECT " JOB_COLUMNS ", priority, run_at FROM jobs WHERE db=?1 AND queue=?2 AND state=0"
    " AND (priority, run_at, id) > (?3, ?4, ?5) ORDER BY priority, run_at, id LIMIT ?6";
static const char SQL_LIST_DELAYED[] =
    "SELECT " JOB_COLUMNS ", 0, run_at FROM jobs WHERE db=?1 AND queue=?2 AND state=1"
    " AND (run_at, id) > (?4, ?5) ORDER BY run_at, id LIMIT ?6";
static const char SQL_LIST_RUNNING[] =
    "SELECT " JOB_COLUMNS ", 0, lease_until FROM jobs WHERE state=2 AND (lease_until, id) > (?4, ?5)"
    " AND db=?1 AND queue=?2 ORDER BY lease_until, id LIMIT ?6";
static const char SQL_LIST_FINISHED[] =
    "SELECT " JOB_COLUMNS ", 0, finished_at FROM jobs WHERE db=?1 AND queue=?2 AND state=?7 AND state>=3"
    " AND (finished_at, id) > (?4, ?5) ORDER BY finished_at, id LIMIT ?6";

#define LIST_NCOLS 19

static bool parseCursor(const char *s, size_t len, long long k[3]) {
    if (len == 1 && s[0] == '0') {
        k[0] = k[1] = k[2] = LLONG_MIN;
        return true;
    }
    size_t start = 0;
    for (int part = 0; part < 3; part++) {
        size_t end = start;
        while (end < len && s[end] != '.') end++;
        if ((part < 2) != (end < len)) return false;
        if (!string2ll(s + start, end - start, &k[part])) return false;
        start = end + 1;
    }
    return true;
}

/* JOB.LIST queue state [CURSOR c] [COUNT n] */
void jobListCommand(request *r) {
    int state = jobStateParse(r->argv[2], r->argvlen[2]);
    if (state < 0) {
        addReplyErrorFormat(r, "ERR unknown state '%.128s'", r->argv[2]);
        return;
    }
    long long k[3] = {LLONG_MIN, LLONG_MIN, LLONG_MIN}, count = 10;
    unsigned seen = 0;
    for (int i = 3; i < r->argc; i++) {
        if (i + 1 >= r->argc) {
            if (argIs(r, i, "cursor") || argIs(r, i, "count")) addReplySyntaxError(r);
            else addReplyErrorFormat(r, "ERR unknown option '%.128s'", r->argv[i]);
            return;
        }
        if (argIs(r, i, "cursor")) {
            if (!jobOptOnce(r, i, &seen, 1)) return;
            i++;
            if (!parseCursor(r->argv[i], r->argvlen[i], k)) { addReplyError(r, "ERR invalid cursor"); return; }
        } else if (argIs(r, i, "count")) {
            if (!jobOptOnce(r, i, &seen, 2)) return;
            if (!getLongLongArg(r, ++i, &count, NULL)) return;
            if (count < 1 || count > JOB_MAX_FETCH) {
                addReplyErrorFormat(r, "ERR COUNT must be between 1 and %d", JOB_MAX_FETCH);
                return;
            }
        } else {
            addReplyErrorFormat(r, "ERR unknown option '%.128s'", r->argv[i]);
            return;
        }
    }
    const char *sql = state == JOB_READY ? SQL_LIST_READY : state == JOB_DELAYED ? SQL_LIST_DELAYED
                    : state == JOB_RUNNING ? SQL_LIST_RUNNING : SQL_LIST_FINISHED;
    sqlite3_stmt *s = stmtGet(r->st, sql);
    if (!s) { storeFail(r, "job list"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    if (state == JOB_READY) sqlite3_bind_int64(s, 3, k[0]);
    sqlite3_bind_int64(s, 4, k[1]);
    sqlite3_bind_int64(s, 5, k[2]);
    sqlite3_bind_int64(s, 6, count);
    if (state >= JOB_DONE) sqlite3_bind_int(s, 7, state);
    reply tmp, *out = r->out;
    replyInit(&tmp);
    r->out = &tmp;
    long long n = 0, last[3] = {0, 0, 0};
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        jobReplyRow(r, s);
        last[0] = sqlite3_column_int64(s, LIST_NCOLS);
        last[1] = sqlite3_column_int64(s, LIST_NCOLS + 1);
        last[2] = sqlite3_column_int64(s, 0);
        n++;
    }
    stmtDone(s);
    r->out = out;
    if (rc != SQLITE_DONE) {
        replyFree(&tmp);
        storeFail(r, "job list");
        return;
    }
    addReplyArrayLen(r, 2);
    if (n == count) {
        char cur[80];
        int len = snprintf(cur, sizeof(cur), "%lld.%lld.%lld", last[0], last[1], last[2]);
        addReplyBulk(r, cur, (size_t)len);
    } else {
        addReplyBulkCString(r, "0");
    }
    addReplyArrayLen(r, n);
    jobReplyAppend(r, &tmp);
    replyFree(&tmp);
}

/* ---- JOB.STATS --------------------------------------------------------- */

static const char SQL_STATS_QUEUE[] =
    "SELECT queue, paused, n_ready, n_delayed, n_running, n_done, n_dead, n_cancelled, added, completed,"
    " retried, failed, expired, win, win_done, prev_done FROM job_queues WHERE db=?1 AND queue=?2";
static const char SQL_STATS_ALL[] =
    "SELECT queue, paused, n_ready, n_delayed, n_running, n_done, n_dead, n_cancelled, added, completed,"
    " retried, failed, expired, win, win_done, prev_done FROM job_queues WHERE db=?1 ORDER BY queue";
/* The oldest READY job is the first of one of the priorities: visit each
 * priority's first entry (a skip-scan over jobs_ready). */
static const char SQL_OLDEST_READY[] =
    "SELECT priority, run_at FROM jobs WHERE db=?1 AND queue=?2 AND state=0 AND priority>?3"
    " ORDER BY priority, run_at LIMIT 1";

enum { ST_READY, ST_DELAYED, ST_RUNNING, ST_DONE, ST_DEAD, ST_CANCELLED, ST_ADDED, ST_COMPLETED, ST_RETRIED,
       ST_FAILED, ST_EXPIRED, ST_N };

typedef struct qstats {
    long long n[ST_N];
    long long paused;
    long long oldest; /* run_at of the oldest ready job, 0 none */
    double rate;
} qstats;

static long long oldestReady(request *r, const void *queue, size_t qlen) {
    long long oldest = 0, prio = LLONG_MIN;
    for (int i = 0; i < 64; i++) {
        sqlite3_stmt *s = stmtGet(r->st, SQL_OLDEST_READY);
        if (!s) break;
        sqlite3_bind_int(s, 1, r->db);
        sqlite3_bind_blob(s, 2, queue, (int)qlen, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, prio);
        bool row = sqlite3_step(s) == SQLITE_ROW;
        if (row) {
            prio = sqlite3_column_int64(s, 0);
            long long at = sqlite3_column_int64(s, 1);
            if (!oldest || at < oldest) oldest = at;
        }
        stmtDone(s);
        if (!row) break;
    }
    return oldest;
}

/* Add the row's numbers to `st`. */
static void statsRow(request *r, sqlite3_stmt *s, qstats *st) {
    size_t qlen;
    const void *queue = stmtColumnBlob(s, 0, &qlen);
    st->paused += sqlite3_column_int64(s, 1);
    for (int i = 0; i < ST_N; i++) st->n[i] += sqlite3_column_int64(s, 2 + i);
    if (sqlite3_column_int64(s, 2) > 0) {
        long long at = oldestReady(r, queue, qlen);
        if (at && (!st->oldest || at < st->oldest)) st->oldest = at;
    }
    long long win = sqlite3_column_int64(s, 13), cur = sqlite3_column_int64(s, 14), prev = sqlite3_column_int64(s, 15);
    long long now_win = r->now_ms / 60000;
    double frac = (double)(r->now_ms % 60000) / 60000.0;
    if (win == now_win) st->rate += ((double)prev * (1.0 - frac) + (double)cur) / 60.0;
    else if (win == now_win - 1) st->rate += (double)cur * (1.0 - frac) / 60.0;
}

#define STATS_FIELDS (ST_N + 3)

/* The stats map's fields (STATS_FIELDS of them); the caller writes the map
 * header. */
static void replyStatsFields(request *r, const qstats *st) {
    static const char *names[ST_N] = {"ready", "delayed", "running", "done", "dead", "cancelled",
                                      "added", "completed", "retried", "failed", "expired"};
    for (int i = 0; i < ST_N; i++) {
        if (i == ST_ADDED) {
            addReplyBulkCString(r, "paused");
            addReplyLongLong(r, st->paused);
            addReplyBulkCString(r, "oldest_ready_age_ms");
            addReplyLongLong(r, st->oldest && st->oldest < r->now_ms ? r->now_ms - st->oldest : 0);
            addReplyBulkCString(r, "throughput");
            addReplyDouble(r, (double)(long long)(st->rate * 1000.0 + 0.5) / 1000.0);
        }
        addReplyBulkCString(r, names[i]);
        addReplyLongLong(r, st->n[i]);
    }
}

/* JOB.STATS [queue] */
void jobStatsCommand(request *r) {
    if (r->argc > 2) { addReplySyntaxError(r); return; }
    bool all = r->argc == 1;
    sqlite3_stmt *s = stmtGet(r->st, all ? SQL_STATS_ALL : SQL_STATS_QUEUE);
    if (!s) { storeFail(r, "job stats"); return; }
    sqlite3_bind_int(s, 1, r->db);
    if (!all) sqlite3_bind_blob(s, 2, r->argv[1], (int)r->argvlen[1], SQLITE_STATIC);
    qstats st;
    memset(&st, 0, sizeof(st));
    reply names, *out = r->out;
    replyInit(&names);
    long long nq = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        statsRow(r, s, &st);
        size_t qlen;
        const void *queue = stmtColumnBlob(s, 0, &qlen);
        r->out = &names;
        addReplyBulk(r, queue, qlen);
        r->out = out;
        nq++;
    }
    stmtDone(s);
    if (rc != SQLITE_DONE) {
        replyFree(&names);
        storeFail(r, "job stats");
        return;
    }
    addReplyMapLen(r, STATS_FIELDS + (all ? 1 : 0));
    replyStatsFields(r, &st);
    if (all) {
        addReplyBulkCString(r, "queues");
        addReplyArrayLen(r, nq);
        jobReplyAppend(r, &names);
    }
    replyFree(&names);
}

/* ---- JOB.HELP ---------------------------------------------------------- */

static const char *help_lines[] = {
    "JOB.<subcommand> arguments... Subcommands are:",
    "ADD queue payload [DELAY ms|AT unix-ms] [PRIORITY n] [RETRIES n] [BACKOFF ms] [TIMEOUT ms]",
    "    [UNIQUE key [FOR ms]] [TTL ms] [LIMIT key n]",
    "    Enqueue a job; returns its id. Lower PRIORITY runs first. RETRIES (default 3) deliveries",
    "    after the first; BACKOFF (default 1000) is the first retry delay, doubled per attempt (+0-20%).",
    "    TIMEOUT is the job's lease. UNIQUE: while a job with the key is waiting or running in the",
    "    queue (at most FOR ms), ADD returns its id. TTL: dropped if not started within ms of its",
    "    run time. LIMIT: at most n jobs with the key run at once.",
    "FETCH queue [queue ...] [COUNT n] [LEASE ms] [BLOCK ms] [WORKER name]",
    "    Lease up to COUNT due jobs (queues in the order given, priority then age): an array of",
    "    [id, queue, payload, attempt]; null when none. The lease is the longer of LEASE (default",
    "    30000) and the job's TIMEOUT. BLOCK waits up to ms (0 = forever) for a job.",
    "ACK id [id ...]",
    "    Mark running jobs done; returns how many were acknowledged (a waiting job is not).",
    "NACK id [DELAY ms] [ERROR text]",
    "    Fail a running job: retried after DELAY or its backoff, dead past its retries.",
    "EXTEND id ms",
    "    Renew a running job's lease to end ms from now (heartbeat); 0 once the lease ran out.",
    "CANCEL id",
    "    Cancel a waiting or running job.",
    "GET id",
    "    The job as a map: state, queue, attempts, timestamps, last error, payload...",
    "RETRY id",
    "    Make a dead job ready again, with a fresh set of retries.",
    "LIST queue ready|delayed|running|done|dead|cancelled [CURSOR c] [COUNT n]",
    "    Iterate jobs: [next cursor, [job, ...]]; start and end with cursor 0.",
    "STATS [queue]",
    "    Counts per state, oldest ready job's age, throughput; all queues when none is given.",
    "PAUSE queue | RESUME queue",
    "    Stop / restart handing out the queue's jobs.",
    "PURGE queue state",
    "    Delete the queue's jobs in that state; returns how many.",
    "CRON name \"cron expression\" queue payload [PRIORITY n] [RETRIES n] [BACKOFF ms] [TIMEOUT ms]",
    "    [UNIQUE key [FOR ms]] [TTL ms] [LIMIT key n]",
    "    Enqueue payload on every tick (UTC): 5 fields with ranges, steps, lists and names,",
    "    @hourly/@daily/@weekly/@monthly/@yearly, or @every 30s (ms s m h d).",
    "CRON DEL name | CRON LIST",
    "    Remove a recurring job / list them.",
    "HELP",
    "    Print this help.",
};

void jobHelpCommand(request *r) {
    int n = (int)(sizeof(help_lines) / sizeof(help_lines[0]));
    addReplyArrayLen(r, n);
    for (int i = 0; i < n; i++) addReplyStatus(r, help_lines[i]);
}
