/*
 * writer.c — the one thread that changes the database.
 *
 * Thread ownership
 *   - writer thread: the read-write SQLite connection `w.st`, the batch being
 *     run, the WAL fd used for everysec fsyncs, background task timers.
 *   - shared, under w.lock: the incoming queue (in_head/in_tail), the done
 *     queue (done_head/done_tail), the stopping flag.
 *   - atomics: fsync_mode (CONFIG SET from the net thread), stats; the
 *     writer reads server_config.writer_spin_max_us, which CONFIG SET
 *     changes, with a relaxed atomic load.
 *
 * Group commit: the writer takes everything queued (up to BATCH_MAX jobs),
 * runs it inside one BEGIN IMMEDIATE … COMMIT, then releases all replies at
 * once. Jobs that arrive while a batch commits form the next batch, so the
 * batch size follows the load and no timer ever delays a write. Each command
 * runs inside a SAVEPOINT, so a command that fails in SQLite is undone alone
 * and the rest of its batch still commits.
 *
 * Durability: appendfsync always = every commit fsyncs the WAL; everysec =
 * commits leave the WAL in the page cache (as synchronous=NORMAL) and the
 * writer fsyncs it at least once a second when something was written; no =
 * only checkpoints sync. The writer connection's VFS (walbuf.c) makes this
 * choice per commit and hands each commit's frames to the kernel in a few
 * large writes.
 *
 * Checkpoints: auto-checkpoint is off. After a batch the writer runs a
 * PASSIVE checkpoint once the WAL holds CKPT_BYTES of pages, and a TRUNCATE
 * one past CKPT_TRUNCATE_BYTES, so the WAL stays bounded under constant load.
 * (Bounds are in bytes, turned into frames by the file's page size: a
 * checkpoint's cost is mostly its syncs, so its frequency should not depend
 * on the page size.)
 *
 * Replication (replication/): after each commit the writer reads the WAL
 * header's salts and reports its position (repl_pos) to the replicas; it
 * checkpoints only when replCheckpointGate agrees that every replica has
 * stored the whole WAL, because a complete checkpoint lets the next commit
 * restart the WAL over frames a replica might still need. With repl-ack
 * sync, finished batches wait in `held` (under w.lock, tagged with their
 * LSN) until the replica threads call writerReleaseReplies().
 */
#include "writer.h"
#include "store.h"
#include "config.h"
#include "commands.h"
#include "block.h"
#include "readcache.h"
#include "notify.h"
#include "../replication/replication.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BATCH_MAX 1024
#define MAX_TASKS 16
#define CKPT_BYTES (64LL << 20)
#define CKPT_TRUNCATE_BYTES (256LL << 20)
#define SPIN_US 200       /* see awaitWorkBriefly */
#define SPIN_BATCH_MAX 8
#define NOTES_RETRY_MS 5 /* commit positions a busy replica lock held back */

/* A batch whose replies wait for the replicas (repl-ack sync). */
typedef struct held_batch {
    struct held_batch *next;
    uint64_t lsn;
    wjob *head, *tail;
} held_batch;

typedef struct task {
    const char *name;
    writer_task *fn;
    int interval_ms;
    long long next_ms;
} task;

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    wjob *in_head, *in_tail;
    wjob *done_head, *done_tail;
    bool stopping, started;
    bool waiting;       /* the writer sleeps on cond: a submit must signal */
    void (*notify)(void *);
    void *notify_arg;
    held_batch *held_head, *held_tail;
    uint64_t released_lsn; /* replies of batches up to here may go out */

    /* writer thread only */
    store *st;
    char *wal_path;
    int wal_fd;
    long long last_fsync_ms;
    bool unsynced;
    int applied_fsync_mode;
    int wal_frames;
    task tasks[MAX_TASKS];
    int ntasks;
    reply scratch;
    bool want_checkpoint;
    int last_batch;     /* jobs in the last batch */
    long long idle_ewma_us; /* idle time before a lone client's batches, averaged */
    bool last_batch_one_client; /* ... all from one client (a pipeline) */
    bool repl;          /* replication configured */
    repl_pos pos;       /* WAL position after the last commit */
    uint64_t lsn_base;  /* LSN of frame 0 of the current WAL */
    bool wal_header_stale; /* salts must be read at the next commit */
    int page_size;

    int fsync_mode;     /* atomic */
    writer_stats stats; /* atomic fields */
} w = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .wal_fd = -1};

static const char SQL_BEGIN[] = "BEGIN IMMEDIATE";
static const char SQL_COMMIT[] = "COMMIT";
static const char SQL_ROLLBACK[] = "ROLLBACK";
static const char SQL_SAVEPOINT[] = "SAVEPOINT cmd";
static const char SQL_RELEASE[] = "RELEASE cmd";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO cmd";

#define STAT_ADD(field, n) __atomic_add_fetch(&w.stats.field, (n), __ATOMIC_RELAXED)

void writerAddTask(const char *name, writer_task *fn, int interval_ms) {
    if (w.ntasks < MAX_TASKS) w.tasks[w.ntasks++] = (task){name, fn, interval_ms, 0};
}

void writerJobFree(wjob *j) {
    blockRelease(&j->req);
    requestFreeArgv(&j->req);
    replyFree(&j->out);
    free(j);
}

static int openWal(void) {
    if (w.wal_fd < 0) w.wal_fd = open(w.wal_path, O_RDONLY | O_CLOEXEC);
    return w.wal_fd;
}

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Writer thread, after a commit: where the WAL stands. New salts mean the
 * WAL restarted, so the frames of the old one are behind us in LSN terms.
 * SQLite restarts the WAL only when the first commit after a complete
 * checkpoint writes its frames (auto-checkpoint is off: all checkpoints are
 * ours), so the header is read only then — not once per batch. If that read
 * fails the commit is still reported with the salts known so far: a replica
 * that then finds other salts on the frames starts a new generation, and
 * the header is read again at the next commit. */
static void trackWalPosition(int frames) {
    if (w.wal_header_stale) {
        unsigned char hdr[32];
        int fd = openWal();
        if (fd >= 0 && pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr)) {
            uint32_t s1 = be32(hdr + 16), s2 = be32(hdr + 20);
            if (s1 != w.pos.salt1 || s2 != w.pos.salt2) {
                w.lsn_base += w.pos.frames;
                w.pos.salt1 = s1;
                w.pos.salt2 = s2;
            }
            w.wal_header_stale = false;
        }
    }
    w.pos.frames = (uint32_t)frames;
    w.pos.lsn = w.lsn_base + (uint64_t)frames;
    w.pos.ts_ms = mstime();
    replNoteCommit(&w.pos);
}

static int walHook(void *arg, sqlite3 *db, const char *name, int frames) {
    (void)arg; (void)db; (void)name;
    w.wal_frames = frames;
    __atomic_store_n(&w.stats.wal_frames, frames, __ATOMIC_RELAXED);
    if (w.repl) trackWalPosition(frames);
    return SQLITE_OK;
}

/* Writer thread: apply a CONFIG SET appendfsync between batches. */
static void applyFsyncMode(void) {
    int mode = __atomic_load_n(&w.fsync_mode, __ATOMIC_RELAXED);
    if (mode == w.applied_fsync_mode) return;
    storeSetCommitSync(w.st, mode == FSYNC_ALWAYS);
    w.applied_fsync_mode = mode;
}

/* Writer thread: everysec — fsync the WAL at most once a second after writes. */
static void maybeFsync(long long now) {
    if (!w.unsynced || w.applied_fsync_mode != FSYNC_EVERYSEC || now - w.last_fsync_ms < 1000) return;
    if (openWal() >= 0) {
        struct stat sb;
        if (fstat(w.wal_fd, &sb) == 0 && sb.st_nlink == 0) { /* WAL was recreated */
            close(w.wal_fd);
            w.wal_fd = open(w.wal_path, O_RDONLY | O_CLOEXEC);
        }
        if (w.wal_fd >= 0 && fdatasync(w.wal_fd) == 0) STAT_ADD(fsyncs, 1);
    }
    w.last_fsync_ms = now;
    w.unsynced = false;
}

/* Writer thread: keep the WAL bounded. */
static void maybeCheckpoint(bool force_truncate) {
    long long wal_bytes = (long long)w.wal_frames * w.page_size;
    if (!force_truncate && wal_bytes < CKPT_BYTES) return;
    bool urgent = wal_bytes >= CKPT_TRUNCATE_BYTES;
    if (w.repl && w.wal_frames > 0 && replCheckpointGate(&w.pos, wal_bytes, urgent) != REPL_CKPT_OK) return;
    int mode = force_truncate || urgent ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_PASSIVE;
    int log = 0, done = 0;
    /* Never wait on readers: a busy checkpoint is simply retried later, while
     * the writer keeps serving. */
    sqlite3_busy_timeout(storeDb(w.st), 0);
    int rc = sqlite3_wal_checkpoint_v2(storeDb(w.st), NULL, mode, &log, &done);
    w.wal_header_stale = true; /* the next commit may restart the WAL */
    if (rc == SQLITE_BUSY && mode == SQLITE_CHECKPOINT_TRUNCATE) {
        mode = SQLITE_CHECKPOINT_PASSIVE;
        rc = sqlite3_wal_checkpoint_v2(storeDb(w.st), NULL, mode, &log, &done);
    }
    sqlite3_busy_timeout(storeDb(w.st), 5000);
    if (rc == SQLITE_OK || rc == SQLITE_BUSY) {
        STAT_ADD(checkpoints, 1);
        if (rc == SQLITE_OK && (mode == SQLITE_CHECKPOINT_TRUNCATE || log == done)) w.wal_frames = 0;
    }
}

static void requestPrepare(request *r, reply *out) {
    r->st = w.st;
    r->out = out;
    r->now_ms = mstime();
    r->store_error = false;
    r->client = NULL;
    r->in_multi = false;
}

/* DEBUG FAIL-SERVED-WAITER: the next waiter served fails after its writes,
 * once. Writer thread. */
static bool fail_next_served;
void writerDebugFailServedWaiter(void) { fail_next_served = true; }

/* A served waiter (a parked job re-run because a key it waits on changed)
 * that failed in SQLite in the current attempt; attemptBatch looks at it
 * after every call that can serve waiters. */
static wjob *failed_waiter;

static bool safe_pass;

/* Writer thread: run a command's handler inside the open transaction. In a
 * safe pass it runs in a savepoint of its own, so a SQLite failure undoes it
 * alone, unless the failure took the whole transaction with it (then there
 * is no savepoint left to roll back to). `served`: a waiter re-run by the
 * batch (for DEBUG FAIL-SERVED-WAITER). */
static void runHandler(request *r, bool safe, bool served) {
    size_t events = notifyMark();
    if (safe) storeExec(w.st, SQL_SAVEPOINT);
    r->cmd->proc(r);
    if (served && fail_next_served && !r->store_error && !blockWaitsStill(r)) {
        fail_next_served = false;
        replyReset(r->out);
        r->store_error = true;
        addReplyError(r, "ERR storage error in debug fail-served-waiter: injected failure");
    }
    if (!safe || sqlite3_get_autocommit(storeDb(w.st))) return;
    if (r->store_error) {
        storeExec(w.st, SQL_ROLLBACK_TO);
        notifyRewind(events);
    }
    storeExec(w.st, SQL_RELEASE);
}

/* Writer thread: run one job inside the open transaction (runHandler).
 * Nothing runs once the transaction is gone (a failure SQLite cannot undo
 * alone rolled it back): outside it each statement would commit by itself. */
static void runJobMode(wjob *j, bool safe, bool served) {
    request *r = &j->req;
    requestPrepare(r, &j->out);
    if (sqlite3_get_autocommit(storeDb(w.st))) {
        r->store_error = true;
        addReplyError(r, "ERR storage error: the batch was rolled back by an earlier failure");
        return;
    }
    runHandler(r, safe, served);
    if (served && r->store_error && !failed_waiter) failed_waiter = j;
}

bool writerRunInner(request *q) {
    runHandler(q, safe_pass, false);
    return !q->store_error || (safe_pass && !sqlite3_get_autocommit(storeDb(w.st)));
}

static void runJob(wjob *j) { runJobMode(j, safe_pass, false); }
static void serveJob(wjob *j) { runJobMode(j, safe_pass, true); } /* for block.c */

/* attemptBatch's results besides the index of a job that lost the
 * transaction (below). */
#define ATTEMPT_DONE (-1)        /* committed, or every reply says why not */
#define ATTEMPT_RUN_SAFE (-2)    /* a fast attempt failed: run it with savepoints */
#define ATTEMPT_LOST_WAITER (-3) /* a served waiter lost the transaction: run again without it */

/* After runs that may have served waiters: a failed one fails a fast
 * attempt (nothing undoes it alone there), and in a safe attempt it is
 * marked lost if its failure took the whole transaction with it: it keeps
 * its error as its answer (blockUndoAttempt) and the batch runs again
 * without it. Returns the attempt's result, or 0 to go on. */
static int checkServedWaiters(bool safe) {
    wjob *j = failed_waiter;
    if (!j) return 0;
    failed_waiter = NULL;
    bool gone = sqlite3_get_autocommit(storeDb(w.st));
    if (safe && !gone) return 0; /* its savepoint undid it: it answers its error */
    if (!gone) storeExec(w.st, SQL_ROLLBACK);
    notifyDiscardPending();
    if (!safe) return ATTEMPT_RUN_SAFE;
    j->lost_txn = true;
    return ATTEMPT_LOST_WAITER;
}

/* Writer thread: one attempt at a batch in one transaction. Jobs that block
 * are parked (block.c); parked jobs served by this batch's changes join
 * `done`, so they commit and answer with it. A fast attempt (no savepoints)
 * stops at the first SQLite failure, of a member or of a waiter it served,
 * rolls everything back and returns ATTEMPT_RUN_SAFE so the batch can be run
 * again safely. In a safe attempt a failure inside a statement that SQLite
 * cannot undo alone (a full disk, an I/O error: statements without a
 * statement journal) rolls back the whole transaction, savepoints and all;
 * the attempt then stops and returns that job's index (or
 * ATTEMPT_LOST_WAITER for a served waiter), and runBatch runs the others
 * again with that job skipped (it keeps an error and its place, so each
 * client's replies stay in order). */
static int attemptBatch(wjob **order, int n, joblist *done, bool safe) {
    sqlite3 *db = storeDb(w.st);
    safe_pass = safe;
    failed_waiter = NULL;
    if (storeExec(w.st, SQL_BEGIN) != SQLITE_OK) {
        for (int i = 0; i < n; i++) {
            requestPrepare(&order[i]->req, &order[i]->out);
            addReplyErrorFormat(&order[i]->req, "ERR storage unavailable: %s", sqlite3_errmsg(db));
            joblistPush(done, order[i]);
        }
        return ATTEMPT_DONE;
    }
    int rc;
    for (int i = 0; i < n; i++) {
        wjob *j = order[i];
        if (j->lost_txn) {
            joblistPush(done, j);
            continue;
        }
        runJob(j);
        if (!safe && j->req.store_error) {
            storeExec(w.st, SQL_ROLLBACK);
            notifyDiscardPending();
            return ATTEMPT_RUN_SAFE;
        }
        if (safe && j->req.store_error && sqlite3_get_autocommit(db)) {
            notifyDiscardPending(); /* the transaction is gone, not just its savepoint */
            return i;
        }
        if (!blockParkIfBlocked(j)) joblistPush(done, j);
        blockServeReady(serveJob, done);
        if ((rc = checkServedWaiters(safe))) return rc;
    }
    blockWakeDue(mstime(), serveJob, done);
    blockServeReady(serveJob, done);
    if ((rc = checkServedWaiters(safe))) return rc;
    if (storeExec(w.st, SQL_COMMIT) != SQLITE_OK) {
        char msg[256];
        snprintf(msg, sizeof(msg), "ERR commit failed: %s", sqlite3_errmsg(db));
        storeExec(w.st, SQL_ROLLBACK);
        notifyDiscardPending();
        STAT_ADD(commits_failed, 1);
        for (wjob *j = done->head; j; j = j->next) {
            replyReset(&j->out);
            j->req.out = &j->out;
            addReplyError(&j->req, msg);
        }
    }
    return ATTEMPT_DONE;
}

/* Writer thread: run up to BATCH_MAX jobs in one transaction. Savepoints
 * cost about as much as a simple command, and SQLite failures are rare, so
 * the batch first runs without them; only if a command fails in SQLite is
 * the whole batch rolled back and run again with one savepoint per command,
 * so that the failing command alone is lost. */
static void runBatch(wjob *jobs, joblist *done) {
    wjob *order[BATCH_MAX];
    int n = 0;
    for (wjob *j = jobs; j && n < BATCH_MAX; j = j->next) {
        j->in_batch = true;
        j->lost_txn = false;
        order[n++] = j;
    }
    int rc = attemptBatch(order, n, done, false);
    while (rc != ATTEMPT_DONE) { /* each round marks one more job lost at most: it ends */
        blockUndoAttempt(done); /* waiters served by the lost attempt wait again */
        if (rc >= 0) order[rc]->lost_txn = true;
        for (int i = 0; i < n; i++) {
            blockRelease(&order[i]->req);
            if (!order[i]->lost_txn) replyReset(&order[i]->out);
        }
        rc = attemptBatch(order, n, done, true);
    }
    bool one_client = true;
    for (int i = 0; i < n; i++) {
        order[i]->in_batch = false;
        order[i]->lost_txn = false;
        if (order[i]->c != order[0]->c) one_client = false;
    }
    w.last_batch = n;
    w.last_batch_one_client = one_client;
    w.unsynced = true;
    STAT_ADD(batches, 1);
    STAT_ADD(commands, n);
}

/* Under w.lock: append finished jobs to the done queue. */
static void appendDone(wjob *head, wjob *tail) {
    if (w.done_tail) w.done_tail->next = head;
    else w.done_head = head;
    w.done_tail = tail;
}

/* Under w.lock: park a batch's replies until the replicas hold its frames. */
static void holdReplies(joblist *done) {
    held_batch *b = malloc(sizeof(*b));
    *b = (held_batch){NULL, w.pos.lsn, done->head, done->tail};
    if (w.held_tail) w.held_tail->next = b;
    else w.held_head = b;
    w.held_tail = b;
}

/* Under w.lock: move held batches up to `lsn` to the done queue. */
static bool releaseHeld(uint64_t lsn) {
    bool any = false;
    if (lsn > w.released_lsn) w.released_lsn = lsn;
    while (w.held_head && w.held_head->lsn <= w.released_lsn) {
        held_batch *b = w.held_head;
        w.held_head = b->next;
        if (!w.held_head) w.held_tail = NULL;
        appendDone(b->head, b->tail);
        free(b);
        any = true;
    }
    return any;
}

/* Any thread (the replica threads): replies of batches whose frames are
 * now stored on every replica may be sent. */
void writerReleaseReplies(uint64_t lsn) {
    pthread_mutex_lock(&w.lock);
    bool any = releaseHeld(lsn);
    pthread_mutex_unlock(&w.lock);
    if (any && w.notify) w.notify(w.notify_arg);
}

/* Writer thread: hand finished jobs to the net thread and wake it. */
static void deliver(joblist *done) {
    bool changed = readCachePublish(); /* before the replies: see readcache.c */
    changed |= notifyPublish();        /* keyspace events of what committed */
    if (!done->head) {
        if (changed && w.notify) w.notify(w.notify_arg);
        return;
    }
    pthread_mutex_lock(&w.lock);
    if (w.repl && replSyncAck() && (w.held_head || w.pos.lsn > w.released_lsn)) {
        holdReplies(done);
        pthread_mutex_unlock(&w.lock);
        done->head = done->tail = NULL;
        if (changed && w.notify) w.notify(w.notify_arg);
        return;
    }
    appendDone(done->head, done->tail);
    pthread_mutex_unlock(&w.lock);
    if (w.notify) w.notify(w.notify_arg);
    done->head = done->tail = NULL;
}

/* Writer thread: background tasks that are due; returns ms until the next. */
static long long runTasks(long long now) {
    long long next = now + 1000;
    for (int i = 0; i < w.ntasks; i++) {
        task *t = &w.tasks[i];
        if (t->next_ms <= now) {
            request r = {0};
            r.resp = 2;
            replyReset(&w.scratch);
            requestPrepare(&r, &w.scratch);
            bool more = false;
            if (storeExec(w.st, SQL_BEGIN) == SQLITE_OK) {
                more = t->fn(&r);
                /* A task that met a storage error keeps none of its work
                 * (e.g. jobs moved without their counters); it runs again
                 * at its next turn. */
                if (r.store_error || storeExec(w.st, SQL_COMMIT) != SQLITE_OK) {
                    storeExec(w.st, SQL_ROLLBACK);
                    notifyDiscardPending();
                    more = false;
                }
                w.unsynced = true;
            }
            t->next_ms = more ? now : now + t->interval_ms;
        }
        if (t->next_ms < next) next = t->next_ms;
    }
    return next - now;
}

/* Writer thread, about to sleep after a small batch or a batch from one
 * client: a client that sends one write (or one pipeline) at a time —
 * redis-cli, a worker's ACK, a publisher — will likely send the next within
 * microseconds, and a futex sleep plus wake-up costs more than that (about
 * 45 µs on the development VM: half of a lone PUBLISH's latency). So look
 * for work for up to SPIN_US first, yielding the CPU on every look so a busy
 * net thread loses nothing. When such writes keep coming a little further
 * apart (a publisher at a steady rate), the look lasts 1.5 times the usual
 * idle gap, up to `writer-spin-max-us` (default 1.5 ms; 0 = SPIN_US only):
 * below that gap the writer trades a yielding core for the wake-up.
 * After big batches from many clients the queue refills by itself: no
 * spinning (it measurably cost them CPU). */
static void awaitWorkBriefly(void) {
    long long max = __atomic_load_n(&server_config.writer_spin_max_us, __ATOMIC_RELAXED);
    long long budget = w.last_batch_one_client ? w.idle_ewma_us * 3 / 2 : SPIN_US;
    if (budget < SPIN_US || budget > max) budget = SPIN_US;
    long long until = ustime() + budget;
    while (!__atomic_load_n(&w.in_head, __ATOMIC_ACQUIRE) && ustime() < until) sched_yield();
}

static void *writerMain(void *arg) {
    (void)arg;
    for (;;) {
        long long now = mstime();
        long long wait_ms = runTasks(now);
        long long deadline = blockNextDeadline();
        if (deadline && deadline - now < wait_ms) wait_ms = deadline - now;
        if (blockHasReady()) wait_ms = 0; /* a task touched keys that waiters want */
        if (w.repl && replFlushNotes() && wait_ms > NOTES_RETRY_MS) wait_ms = NOTES_RETRY_MS;
        bool lone = w.last_batch_one_client;
        long long idle_from = lone ? ustime() : 0;
        if (wait_ms > 0 && (w.last_batch <= SPIN_BATCH_MAX || lone)) awaitWorkBriefly();
        pthread_mutex_lock(&w.lock);
        if (!w.in_head && !w.stopping && wait_ms > 0) {
            long long until = now + (wait_ms < 1000 ? wait_ms : 1000);
            if (w.unsynced && w.applied_fsync_mode == FSYNC_EVERYSEC && w.last_fsync_ms + 1000 < until)
                until = w.last_fsync_ms + 1000;
            struct timespec ts = {until / 1000, (until % 1000) * 1000000};
            w.waiting = true;
            pthread_cond_timedwait(&w.cond, &w.lock, &ts);
            w.waiting = false;
        }
        /* Take at most BATCH_MAX jobs; the rest stay queued for the next batch. */
        wjob *jobs = w.in_head, *last = NULL;
        int n = 0;
        for (wjob *j = jobs; j && n < BATCH_MAX; j = j->next, n++) last = j;
        if (last) {
            w.in_head = last->next;
            if (!w.in_head) w.in_tail = NULL;
            last->next = NULL;
        }
        bool stop = w.stopping && !w.in_head;
        pthread_mutex_unlock(&w.lock);
        if (jobs && lone) { /* how long writes from a lone client leave the writer idle */
            long long idle = ustime() - idle_from;
            w.idle_ewma_us = w.idle_ewma_us ? (w.idle_ewma_us * 3 + idle) / 4 : idle;
        }

        applyFsyncMode();
        if (w.repl) replServePins(&w.pos);
        joblist done = {NULL, NULL};
        if (jobs || blockWakeDuePending(mstime()) || blockHasReady()) {
            runBatch(jobs, &done);
            if (w.want_checkpoint) {
                w.want_checkpoint = false;
                maybeCheckpoint(true);
                serverNoteSave();
            }
        }
        blockExpire(mstime(), &done);
        deliver(&done);
        maybeFsync(mstime());
        maybeCheckpoint(false);
        if (stop && !jobs) break;
    }
    if (w.repl) {
        replDrain(&w.pos, 10000);
        pthread_mutex_lock(&w.lock);
        releaseHeld(UINT64_MAX); /* shutting down: the data is committed here */
        pthread_mutex_unlock(&w.lock);
    }
    maybeCheckpoint(true);
    if (w.wal_fd >= 0) close(w.wal_fd);
    return NULL;
}

bool writerStart(const char *dbpath, int fsync_mode, char *err, size_t errlen) {
    w.st = storeOpen(dbpath, true, fsync_mode == FSYNC_ALWAYS, err, errlen);
    if (!w.st) return false;
    w.fsync_mode = w.applied_fsync_mode = fsync_mode;
    size_t n = strlen(dbpath) + 5;
    w.wal_path = malloc(n);
    snprintf(w.wal_path, n, "%s-wal", dbpath);
    w.last_fsync_ms = mstime();
    replyInit(&w.scratch);
    w.repl = replEnabled();
    w.wal_header_stale = true;
    /* Replicas count frames from an empty WAL: fold what is there (left by
     * a crash, or by opening) into the database first; no reader exists yet. */
    if (w.repl) {
        int log = 0, done = 0;
        if (sqlite3_wal_checkpoint_v2(storeDb(w.st), NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &done) != SQLITE_OK)
            log = 1; /* unknown: assume the WAL held something */
        replStartupWal(log);
    }
    sqlite3_wal_hook(storeDb(w.st), walHook, NULL);
    w.page_size = 4096; /* read below; INFO may read it any time */
    sqlite3_stmt *ps;
    if (sqlite3_prepare_v2(storeDb(w.st), "PRAGMA page_size", -1, &ps, NULL) == SQLITE_OK) {
        if (sqlite3_step(ps) == SQLITE_ROW) w.page_size = sqlite3_column_int(ps, 0);
        sqlite3_finalize(ps);
    }
    if (pthread_create(&w.thread, NULL, writerMain, NULL) != 0) {
        snprintf(err, errlen, "cannot start writer thread");
        return false;
    }
    w.started = true;
    return true;
}

void writerRequestCheckpoint(void) { w.want_checkpoint = true; }

void writerSubmit(wjob *head, wjob *tail) {
    pthread_mutex_lock(&w.lock);
    if (w.in_tail) w.in_tail->next = head;
    else __atomic_store_n(&w.in_head, head, __ATOMIC_RELEASE); /* read unlocked by awaitWorkBriefly */
    w.in_tail = tail;
    if (w.waiting) pthread_cond_signal(&w.cond); /* a busy writer finds the jobs itself */
    pthread_mutex_unlock(&w.lock);
}

wjob *writerTakeDone(void) {
    pthread_mutex_lock(&w.lock);
    wjob *j = w.done_head;
    w.done_head = w.done_tail = NULL;
    pthread_mutex_unlock(&w.lock);
    return j;
}

void writerSetNotify(void (*fn)(void *), void *arg) {
    w.notify = fn;
    w.notify_arg = arg;
}

void writerWake(void) {
    pthread_mutex_lock(&w.lock);
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
}

void writerSetFsync(int mode) {
    __atomic_store_n(&w.fsync_mode, mode, __ATOMIC_RELAXED);
    pthread_mutex_lock(&w.lock);
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
}

void writerStop(void) {
    if (!w.started) return;
    pthread_mutex_lock(&w.lock);
    w.stopping = true;
    pthread_cond_signal(&w.cond);
    pthread_mutex_unlock(&w.lock);
    pthread_join(w.thread, NULL);
    w.started = false;
    storeClose(w.st);
    w.st = NULL;
    replyFree(&w.scratch);
    free(w.wal_path);
}

void writerGetStats(writer_stats *out) {
    out->batches = __atomic_load_n(&w.stats.batches, __ATOMIC_RELAXED);
    out->commands = __atomic_load_n(&w.stats.commands, __ATOMIC_RELAXED);
    out->commits_failed = __atomic_load_n(&w.stats.commits_failed, __ATOMIC_RELAXED);
    out->checkpoints = __atomic_load_n(&w.stats.checkpoints, __ATOMIC_RELAXED);
    out->fsyncs = __atomic_load_n(&w.stats.fsyncs, __ATOMIC_RELAXED) + (w.st ? storeWalSyncs(w.st) : 0);
    out->wal_frames = __atomic_load_n(&w.stats.wal_frames, __ATOMIC_RELAXED);
    out->wal_bytes = out->wal_frames ? 32 + out->wal_frames * (24 + (long long)w.page_size) : 0;
}

void serverAddBackgroundTask(const char *name, background_task *fn, int interval_ms) {
    writerAddTask(name, fn, interval_ms);
}
