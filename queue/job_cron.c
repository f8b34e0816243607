/*
 * job_cron.c — recurring jobs: JOB.CRON name "expr" queue payload [options],
 * JOB.CRON DEL name, JOB.CRON LIST, and the ticks that enqueue them.
 *
 * Schedules: standard 5-field cron (minute hour day-of-month month
 * day-of-week; `*`, numbers, ranges a-b, steps a-b/n and star/n, lists, month
 * and day names; day-of-month and day-of-week are OR-ed when both are
 * restricted, as in Vixie cron), the @hourly/@daily/@midnight/@weekly/
 * @monthly/@yearly/@annually shorthands, and "@every 1h30m" intervals
 * (units ms s m h d, at least 1 s). Calendar schedules are in UTC.
 *
 * Exactly-once ticks: job_cron(db, name, ..., next_run) is durable. A tick
 * enqueues the job and moves next_run forward in the same transaction, so a
 * tick is never enqueued twice, and one that fell due while the server was
 * down is enqueued once at start (several missed ticks collapse into one).
 * Ticks run from the 100 ms maintenance task and from JOB.FETCH (a parked
 * fetcher is woken at the next tick's time), so with a worker waiting a tick
 * reaches it within milliseconds.
 *
 * Writer thread (JOB.CRON is a write command, LIST included).
 */
#include "job.h"
#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct cronspec {
    uint64_t minutes; /* bit 0..59 */
    uint32_t hours;   /* bit 0..23 */
    uint32_t mdays;   /* bit 1..31 */
    uint32_t months;  /* bit 1..12 */
    uint32_t wdays;   /* bit 0..6, Sunday = 0 */
    bool mday_star, wday_star;
    long long every;  /* ms, "@every"; 0 = calendar */
} cronspec;

static const char *month_names[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *wday_names[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/* A number or (for months and week days) a three-letter name. */
static bool cronValue(const char *s, size_t len, int field, int *v) {
    if (len == 3 && (field == 3 || field == 4)) {
        const char **names = field == 3 ? month_names : wday_names;
        int n = field == 3 ? 12 : 7;
        for (int i = 0; i < n; i++)
            if (strncasecmp(s, names[i], 3) == 0) {
                *v = field == 3 ? i + 1 : i;
                return true;
            }
        return false;
    }
    long long x;
    if (len == 0 || len > 2 || !string2ll(s, len, &x)) return false;
    *v = (int)x;
    return true;
}

/* Parse one field into a bit set. */
static bool cronField(const char *s, size_t len, int field, uint64_t *bits, bool *star) {
    static const int lo_of[] = {0, 0, 1, 1, 0}, hi_of[] = {59, 23, 31, 12, 7};
    int min = lo_of[field], max = hi_of[field];
    *bits = 0;
    *star = len > 0 && s[0] == '*';
    size_t i = 0;
    while (i <= len) {
        size_t end = i;
        while (end < len && s[end] != ',') end++;
        const char *item = s + i;
        size_t ilen = end - i;
        if (ilen == 0) return false;
        const char *slash = memchr(item, '/', ilen);
        size_t blen = slash ? (size_t)(slash - item) : ilen;
        int lo, hi, step = 1;
        if (blen == 1 && item[0] == '*') {
            lo = min;
            hi = field == 4 ? 6 : max;
        } else {
            const char *dash = memchr(item, '-', blen);
            if (dash) {
                if (!cronValue(item, (size_t)(dash - item), field, &lo) ||
                    !cronValue(dash + 1, blen - (size_t)(dash - item) - 1, field, &hi))
                    return false;
            } else {
                if (!cronValue(item, blen, field, &lo)) return false;
                hi = slash ? (field == 4 ? 6 : max) : lo;
            }
        }
        if (slash) {
            long long st;
            if (!string2ll(slash + 1, ilen - blen - 1, &st) || st < 1 || st > max) return false;
            step = (int)st;
        }
        if (lo < min || hi > max || lo > hi) return false;
        for (int v = lo; v <= hi; v += step) *bits |= 1ULL << (field == 4 && v == 7 ? 0 : v);
        i = end + 1;
    }
    return *bits != 0;
}

/* "1h30m", "45s", "500ms" → ms */
static bool parseDuration(const char *s, size_t len, long long *ms) {
    long long total = 0;
    size_t i = 0;
    if (len == 0) return false;
    while (i < len) {
        long long n = 0;
        size_t start = i;
        while (i < len && isdigit((unsigned char)s[i]) && n < 1000000000LL) n = n * 10 + (s[i++] - '0');
        if (i == start || i == len) return false;
        long long unit;
        if (i + 1 < len && s[i] == 'm' && s[i + 1] == 's') { unit = 1; i += 2; }
        else if (s[i] == 's') { unit = 1000; i++; }
        else if (s[i] == 'm') { unit = 60000; i++; }
        else if (s[i] == 'h') { unit = 3600000; i++; }
        else if (s[i] == 'd') { unit = 86400000; i++; }
        else return false;
        total += n * unit;
        if (total > JOB_MAX_MS) return false;
    }
    *ms = total;
    return true;
}

static bool cronParse(const char *expr, size_t len, cronspec *c) {
    memset(c, 0, sizeof(*c));
    static const struct { const char *name, *expr; } macros[] = {
        {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
        {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
        {"@hourly", "0 * * * *"},
    };
    while (len && isspace((unsigned char)expr[len - 1])) len--;
    while (len && isspace((unsigned char)*expr)) expr++, len--;
    if (len && expr[0] == '@') {
        if (len > 7 && strncasecmp(expr, "@every ", 7) == 0) {
            size_t skip = 7;
            while (skip < len && expr[skip] == ' ') skip++;
            return parseDuration(expr + skip, len - skip, &c->every) && c->every >= 1000;
        }
        for (size_t i = 0; i < sizeof(macros) / sizeof(macros[0]); i++)
            if (strlen(macros[i].name) == len && strncasecmp(expr, macros[i].name, len) == 0)
                return cronParse(macros[i].expr, strlen(macros[i].expr), c);
        return false;
    }
    size_t i = 0;
    for (int field = 0; field < 5; field++) {
        while (i < len && isspace((unsigned char)expr[i])) i++;
        size_t start = i;
        while (i < len && !isspace((unsigned char)expr[i])) i++;
        if (i == start) return false;
        uint64_t bits;
        bool star;
        if (!cronField(expr + start, i - start, field, &bits, &star)) return false;
        switch (field) {
        case 0: c->minutes = bits; break;
        case 1: c->hours = (uint32_t)bits; break;
        case 2: c->mdays = (uint32_t)bits; c->mday_star = star; break;
        case 3: c->months = (uint32_t)bits; break;
        case 4: c->wdays = (uint32_t)bits; c->wday_star = star; break;
        }
    }
    while (i < len && isspace((unsigned char)expr[i])) i++;
    return i == len;
}

static bool dayMatches(const cronspec *c, const struct tm *tm) {
    bool md = c->mdays & (1U << tm->tm_mday), wd = c->wdays & (1U << tm->tm_wday);
    if (c->mday_star || c->wday_star) return md && wd;
    return md || wd;
}

#define CRON_HORIZON_MS (10LL * 366 * 24 * 3600 * 1000)

/* First calendar minute strictly after `after_ms` matching the schedule;
 * 0 if none within ten years. */
static long long cronNextCalendar(const cronspec *c, long long after_ms) {
    time_t t = (time_t)(after_ms / 60000 + 1) * 60, limit = (time_t)((after_ms + CRON_HORIZON_MS) / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    for (int iter = 0; iter < 100000 && t <= limit; iter++) {
        if (!(c->months & (1U << (tm.tm_mon + 1)))) {
            tm.tm_mon++, tm.tm_mday = 1, tm.tm_hour = 0, tm.tm_min = 0;
        } else if (!dayMatches(c, &tm)) {
            tm.tm_mday++, tm.tm_hour = 0, tm.tm_min = 0;
        } else if (!(c->hours & (1U << tm.tm_hour))) {
            tm.tm_hour++, tm.tm_min = 0;
        } else if (!(c->minutes & (1ULL << tm.tm_min))) {
            tm.tm_min++;
        } else {
            return (long long)t * 1000;
        }
        t = timegm(&tm);
        gmtime_r(&t, &tm);
    }
    return 0;
}

/* The run after a tick that was due at `prev` (0: a new schedule), at `now`. */
static long long cronNext(const cronspec *c, long long prev, long long now) {
    if (c->every) {
        long long next = prev ? prev + c->every : now + c->every;
        return next > now ? next : now + c->every;
    }
    return cronNextCalendar(c, prev > now ? prev : now);
}

/* ---- ticks ------------------------------------------------------------- */

static const char SQL_CRON_DUE[] =
    "SELECT db, name, schedule, queue, payload, priority, retries, backoff, timeout, ttl, unique_key, unique_for,"
    " limit_key, limit_n, next_run FROM job_cron WHERE next_run<=?1 ORDER BY next_run LIMIT ?2";
static const char SQL_CRON_TICKED[] =
    "UPDATE job_cron SET next_run=?3, last_run=?4, last_id=?5 WHERE db=?1 AND name=?2";
static const char SQL_CRON_MIN[] = "SELECT min(next_run) FROM job_cron";

/* A due cron row copied out of its statement. */
typedef struct crontick {
    int db;
    char *blob[6]; /* name schedule queue payload unique_key limit_key */
    size_t len[6];
    jobopts o;
    long long next_run;
} crontick;

static char *copyCol(sqlite3_stmt *s, int col, size_t *len) {
    if (sqlite3_column_type(s, col) == SQLITE_NULL) {
        *len = 0;
        return NULL;
    }
    const void *v = stmtColumnBlob(s, col, len);
    char *p = malloc(*len + 1);
    memcpy(p, v, *len);
    p[*len] = '\0';
    return p;
}

static int tickOne(request *r, crontick *t) {
    cronspec c;
    long long next = JOB_MAX_AT; /* an unreadable schedule never fires again */
    if (cronParse(t->blob[1], t->len[1], &c)) {
        long long n = cronNext(&c, t->next_run, r->now_ms);
        if (n) next = n;
    }
    t->o.unique = t->blob[4];
    t->o.unique_len = t->len[4];
    t->o.limit_key = t->blob[5];
    t->o.limit_len = t->len[5];
    int64_t id;
    if (!jobInsert(r, t->db, t->blob[2], t->len[2], t->blob[3], t->len[3], &t->o, &id)) return -1;
    sqlite3_stmt *s = stmtGet(r->st, SQL_CRON_TICKED);
    if (!s) { storeFail(r, "job cron"); return -1; }
    sqlite3_bind_int(s, 1, t->db);
    sqlite3_bind_blob(s, 2, t->blob[0], (int)t->len[0], SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, next);
    sqlite3_bind_int64(s, 4, r->now_ms);
    sqlite3_bind_int64(s, 5, id);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "job cron"); return -1; }
    return 0;
}

/* No tick is due before this time (a lower bound; 0 = unknown). */
static long long cron_hint;

void jobNoteCron(long long next_run) {
    if (cron_hint && next_run < cron_hint) cron_hint = next_run;
}

long long jobCronNextHint(request *r) {
    return cron_hint == LLONG_MAX ? 0 : cron_hint ? cron_hint : jobCronNextRun(r);
}

int jobCronRunDue(request *r, int limit, bool always) {
    if (!always && cron_hint > r->now_ms) return 0;
    sqlite3_stmt *s = stmtGet(r->st, SQL_CRON_DUE);
    if (!s) { storeFail(r, "job cron"); return -1; }
    sqlite3_bind_int64(s, 1, r->now_ms);
    sqlite3_bind_int(s, 2, limit);
    crontick *ticks = NULL;
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        ticks = realloc(ticks, sizeof(crontick) * (size_t)(n + 1));
        crontick *t = &ticks[n++];
        t->db = sqlite3_column_int(s, 0);
        static const int cols[6] = {1, 2, 3, 4, 10, 12};
        for (int k = 0; k < 6; k++) t->blob[k] = copyCol(s, cols[k], &t->len[k]);
        jobOptsInit(&t->o);
        t->o.priority = sqlite3_column_int64(s, 5);
        t->o.retries = sqlite3_column_int64(s, 6);
        t->o.backoff = sqlite3_column_int64(s, 7);
        t->o.timeout = sqlite3_column_int64(s, 8);
        t->o.ttl = sqlite3_column_int64(s, 9);
        t->o.unique_for = sqlite3_column_int64(s, 11);
        t->o.limit_n = sqlite3_column_int64(s, 13);
        t->next_run = sqlite3_column_int64(s, 14);
    }
    stmtDone(s);
    int result = rc == SQLITE_DONE ? n : -1;
    if (result < 0) storeFail(r, "job cron");
    for (int i = 0; i < n; i++) {
        if (result >= 0 && tickOne(r, &ticks[i]) < 0) result = -1;
        for (int k = 0; k < 6; k++) free(ticks[i].blob[k]);
    }
    free(ticks);
    if (result >= 0 && result < limit) {
        long long next = jobCronNextRun(r);
        cron_hint = next ? next : LLONG_MAX;
    } else {
        cron_hint = 0;
    }
    return result;
}

long long jobCronNextRun(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_CRON_MIN);
    if (!s) return 0;
    long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    stmtDone(s);
    return v;
}

/* ---- JOB.CRON ---------------------------------------------------------- */

/* Re-declaring a cron with an unchanged schedule keeps its next run, so
 * apps that declare their crons at every boot neither skip nor repeat ticks. */
static const char SQL_CRON_SET[] =
    "INSERT INTO job_cron(db, name, schedule, queue, payload, priority, retries, backoff, timeout, ttl,"
    " unique_key, unique_for, limit_key, limit_n, next_run, created_at)"
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)"
    " ON CONFLICT(db, name) DO UPDATE SET queue=excluded.queue, payload=excluded.payload,"
    " priority=excluded.priority, retries=excluded.retries, backoff=excluded.backoff, timeout=excluded.timeout,"
    " ttl=excluded.ttl, unique_key=excluded.unique_key, unique_for=excluded.unique_for,"
    " limit_key=excluded.limit_key, limit_n=excluded.limit_n,"
    " next_run=CASE WHEN schedule=excluded.schedule THEN next_run ELSE excluded.next_run END,"
    " schedule=excluded.schedule";
static const char SQL_CRON_DEL[] = "DELETE FROM job_cron WHERE db=?1 AND name=?2";
static const char SQL_CRON_LIST[] =
    "SELECT name, schedule, queue, payload, next_run, last_run, last_id FROM job_cron WHERE db=?1 ORDER BY name";

static void cronSet(request *r) {
    cronspec c;
    if (!cronParse(r->argv[2], r->argvlen[2], &c)) {
        addReplyErrorFormat(r, "ERR invalid cron expression '%.128s'", r->argv[2]);
        return;
    }
    jobopts o;
    jobOptsInit(&o);
    if (!jobOptsParse(r, 5, &o, false)) return;
    long long next = cronNext(&c, 0, r->now_ms);
    if (!next) {
        addReplyErrorFormat(r, "ERR cron expression '%.128s' never fires", r->argv[2]);
        return;
    }
    sqlite3_stmt *s = stmtGet(r->st, SQL_CRON_SET);
    if (!s) { storeFail(r, "job cron"); return; }
    sqlite3_bind_int(s, 1, r->db);
    for (int i = 1; i <= 4; i++) sqlite3_bind_blob(s, 1 + i, r->argv[i], (int)r->argvlen[i], SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, o.priority);
    sqlite3_bind_int64(s, 7, o.retries);
    sqlite3_bind_int64(s, 8, o.backoff);
    sqlite3_bind_int64(s, 9, o.timeout);
    sqlite3_bind_int64(s, 10, o.ttl);
    if (o.unique) sqlite3_bind_blob(s, 11, o.unique, (int)o.unique_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 12, o.unique_for);
    if (o.limit_key) sqlite3_bind_blob(s, 13, o.limit_key, (int)o.limit_len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 14, o.limit_n);
    sqlite3_bind_int64(s, 15, next);
    sqlite3_bind_int64(s, 16, r->now_ms);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "job cron"); return; }
    jobNoteCron(next);
    /* parked fetchers of the queue recompute their wake-up with this tick */
    keyTouched(r, r->db, r->argv[3], r->argvlen[3]);
    r->dirty++;
    addReplyOK(r);
}

static void cronDel(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_CRON_DEL);
    if (!s) { storeFail(r, "job cron"); return; }
    sqlite3_bind_int(s, 1, r->db);
    sqlite3_bind_blob(s, 2, r->argv[2], (int)r->argvlen[2], SQLITE_STATIC);
    int rc = sqlite3_step(s);
    stmtDone(s);
    if (rc != SQLITE_DONE) { storeFail(r, "job cron"); return; }
    int n = sqlite3_changes(storeDb(r->st));
    r->dirty += n;
    addReplyLongLong(r, n);
}

/* [map name schedule queue payload next_run last_run last_id, ...] */
static void cronList(request *r) {
    sqlite3_stmt *s = stmtGet(r->st, SQL_CRON_LIST);
    if (!s) { storeFail(r, "job cron"); return; }
    sqlite3_bind_int(s, 1, r->db);
    static const char *fields[] = {"name", "schedule", "queue", "payload", "next_run", "last_run", "last_id"};
    size_t mark = addReplyDeferredLen(r);
    long n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        addReplyMapLen(r, 7);
        for (int i = 0; i < 7; i++) {
            size_t len;
            addReplyBulkCString(r, fields[i]);
            if (sqlite3_column_type(s, i) == SQLITE_NULL) addReplyNull(r);
            else if (i == 6) addReplyJobId(r, sqlite3_column_int64(s, i));
            else if (i >= 4) addReplyLongLong(r, sqlite3_column_int64(s, i));
            else {
                const void *v = stmtColumnBlob(s, i, &len);
                addReplyBulk(r, v, len);
            }
        }
        n++;
    }
    stmtDone(s);
    if (rc == SQLITE_DONE) {
        setDeferredArrayLen(r, mark, n);
    } else {
        storeFail(r, "job cron");
        discardDeferredReply(r, mark);
    }
}

/* JOB.CRON name expr queue payload [options] | JOB.CRON DEL name | JOB.CRON LIST */
void jobCronCommand(request *r) {
    if (r->argc == 2 && argIs(r, 1, "list")) cronList(r);
    else if (r->argc == 3 && argIs(r, 1, "del")) cronDel(r);
    else if (r->argc >= 5) cronSet(r);
    else if (argIs(r, 1, "list") || argIs(r, 1, "del")) addReplySyntaxError(r);
    else addReplyArityError(r);
}
