/*
 * job.h — shared between the native job queue's files only (queue/job*.c).
 *
 *   job.c        schema, ids, JOB.ADD and JOB.FETCH, registration
 *   job_opts.c   the options ADD and CRON share (parsing, ranges, defaults)
 *   job_ack.c    JOB.ACK NACK EXTEND CANCEL RETRY PAUSE RESUME PURGE
 *   job_maint.c  what time does to jobs: lease expiry, promotion of delayed
 *                jobs, TTL, retention (background tasks and inline in FETCH)
 *   job_read.c   the read-only commands: JOB.GET LIST STATS HELP
 *   job_cron.c   recurring jobs: cron expressions, JOB.CRON, ticks
 *   job_count.c  job_queues' counters for jobs changing state (job_moved())
 *
 * The data model is described at the top of job.c.
 */
#ifndef SOLIDIS_JOB_H
#define SOLIDIS_JOB_H

#include "queue_internal.h"

/* jobs.state. Waiting jobs are READY (due) or DELAYED (run_at in the future,
 * including retries waiting out their backoff); FINISHED are >= JOB_DONE. */
enum { JOB_READY = 0, JOB_DELAYED = 1, JOB_RUNNING = 2, JOB_DONE = 3, JOB_DEAD = 4, JOB_CANCELLED = 5, JOB_NSTATES = 6 };

/* The config values; constants until modules get a config hook. */
/* job-retention (done, cancelled) and job-dead-retention, in seconds; options
 * registered in jobRegister(). */
extern long long job_retention_s, job_dead_retention_s;
#define JOB_RETENTION_MS (__atomic_load_n(&job_retention_s, __ATOMIC_RELAXED) * 1000LL)
#define JOB_DEAD_RETENTION_MS (__atomic_load_n(&job_dead_retention_s, __ATOMIC_RELAXED) * 1000LL)

#define JOB_DEFAULT_LEASE_MS 30000
#define JOB_DEFAULT_RETRIES 3
#define JOB_DEFAULT_BACKOFF_MS 1000
#define JOB_MAX_BACKOFF_MS (24LL * 3600 * 1000)  /* exponential growth stops here */
#define JOB_MAX_MS (100LL * 365 * 24 * 3600 * 1000) /* longest DELAY/TTL/LEASE/... */
#define JOB_MAX_AT 253402300799999LL                 /* 9999-12-31T23:59:59.999Z */
#define JOB_MAX_RETRIES 10000
#define JOB_MAX_LIMIT 1000000
#define JOB_MAX_FETCH 1000

/* Options of JOB.ADD (and of JOB.CRON, which stores them for its ticks). */
typedef struct jobopts {
    long long run_at;    /* absolute ms; 0 = now */
    long long priority;  /* lower runs first */
    long long retries;   /* deliveries after the first one */
    long long backoff;   /* ms, first retry delay; doubles per attempt */
    long long timeout;   /* lease ms for this job, 0 = the fetcher's LEASE */
    long long ttl;       /* ms a job may wait before it is discarded, 0 = forever */
    const char *unique;  /* NULL = none */
    size_t unique_len;
    long long unique_for; /* ms the uniqueness lasts at most, 0 = while active */
    const char *limit_key; /* NULL = none */
    size_t limit_len;
    long long limit_n;
} jobopts;

const char *jobStateName(int state);
int jobStateParse(const char *s, size_t len); /* -1 unknown */

/* Job ids: "<ms>-<seq>", 13 and 6 digits zero-padded, so text order is time
 * order; stored as the integer ms*1000000+seq. */
#define JOB_ID_LEN 20 /* 13 digits (the ms of any int64 id fit), '-', 6 digits */
int jobIdFormat(char *buf, size_t len, int64_t id);
bool jobIdParse(const char *s, size_t len, int64_t *id);
/* jobIdParse of argv[idx]; replies "invalid job id" and returns false when it
 * is not one (a well-formed id of no job is not an error: commands answer 0
 * or null for it). */
bool jobIdArg(request *r, int idx, int64_t *id);
void addReplyJobId(request *r, int64_t id);

bool jobOptRange(request *r, int idx, const char *name, long long min, long long max, long long *v);
void jobBindBlob(sqlite3_stmt *s, int i, const char *p, size_t n); /* NULL binds NULL */

/* Options may be given once each: `bit` marks argv[idx]'s option in *seen;
 * false (error replied) when it was already there. A repeated option is a
 * mistake, not "the last one wins". */
bool jobOptOnce(request *r, int idx, unsigned *seen, unsigned bit);

void jobOptsInit(jobopts *o);
/* Parse options from argv[first..]; `when` allows DELAY and AT. Replies the
 * error and returns false on bad input. */
bool jobOptsParse(request *r, int first, jobopts *o, bool when);
/* Enqueue a job. With a live UNIQUE key the existing job's id is returned
 * instead and nothing is added. Touches the queue. False: storage error
 * (already replied). */
bool jobInsert(request *r, int db, const char *queue, size_t qlen, const void *payload, size_t plen,
               const jobopts *o, int64_t *id);
/* Remember that ids up to the last one handed out may have been deleted,
 * so a restart never reuses them. */
bool jobNoteDeletes(request *r); /* false: storage error */

/* job_count.c: statements that move jobs between states set
 * `state=job_moved(db, queue, state, <new>)`; jobCountsBegin() before them,
 * jobCountsEnd(r, succeeded) after (it applies the counts; false: storage
 * error). See the invariant at the top of job_count.c. */
void jobCountsRegister(void);
void jobCountsBegin(void);
bool jobCountsEnd(request *r, bool ok);

/* job_ack.c */
/* A job under LIMIT `key` stopped running (done, failed, cancelled, lease
 * out, purged): touch every queue of the database with ready jobs under that
 * key, so fetchers parked on them claim the freed slot. A LIMIT key is
 * shared by all queues of a database, so the job's own queue is not enough.
 * False: storage error. */
bool jobLimitFreed(request *r, int db, const void *key, size_t klen);
void jobAckCommand(request *r);
void jobNackCommand(request *r);
void jobExtendCommand(request *r);
void jobCancelCommand(request *r);
void jobRetryCommand(request *r);
void jobPauseCommand(request *r);
void jobResumeCommand(request *r);
void jobPurgeCommand(request *r);

/* job_maint.c — each returns the number of jobs handled, -1 on error
 * (storeFail called). `limit` bounds the work of one call. */
int jobReclaimLeases(request *r, int limit, bool always);
/* A lease now ends at `until`: FETCH skips looking for expired leases
 * until the earliest such time (a writer-side hint; the background task
 * always looks, so a hint lost to a rolled-back batch costs at most one
 * 100 ms tick). */
void jobNoteLease(long long until);
int jobPromote(request *r, int db, const char *queue, size_t qlen, int limit);
int jobExpireTtl(request *r, int limit);
bool jobMaintTask(request *r);
bool jobRetentionTask(request *r);
/* When a parked fetcher may find work with nobody writing: its queues' next
 * delayed job (jobMinDelayed), or any lease running out or cron tick
 * (jobNextTimedWork, from the hints; early is harmless). 0 = none. */
long long jobMinDelayed(request *r, int db, const char *queue, size_t qlen);
long long jobNextTimedWork(request *r);

/* job_read.c */
#define JOB_COLUMNS "id, queue, state, payload, priority, attempts, retries, created_at, run_at, started_at, " \
                    "finished_at, updated_at, lease_until, worker, last_error, unique_key, limit_key, limit_n, expires_at"
/* Reply one job row selected with JOB_COLUMNS (as its first columns). */
void jobReplyRow(request *r, sqlite3_stmt *s);
void jobGetCommand(request *r);
void jobListCommand(request *r);
void jobStatsCommand(request *r);
void jobHelpCommand(request *r);

/* job_cron.c */
void jobCronCommand(request *r);
int jobCronRunDue(request *r, int limit, bool always);
void jobNoteCron(long long next_run); /* the same kind of hint for ticks */
long long jobCronNextHint(request *r);  /* next tick, 0 = none */
long long jobCronNextRun(request *r);

/* Append what was written to `tmp` to r->out (replies whose length is
 * known only after they were built). */
void jobReplyAppend(request *r, reply *tmp);

#endif
