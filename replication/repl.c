/*
 * repl.c — replication as the rest of the server sees it: the configured
 * replicas, the writer's hooks (commit positions, snapshot pins, the
 * checkpoint gate, repl-ack sync) and INFO replication.
 *
 * Thread ownership
 *   - main thread: replInit/replStart/replStop (the replica array is fixed
 *     between start and stop).
 *   - writer thread: replNoteCommit, replServePins, replCheckpointGate,
 *     replDrain — each touches a replica only under its lock.
 *   - replica threads: replProgress (after they stored something).
 *   - net thread: replInfo (reads atomics and fields under each lock).
 * `progress` (a mutex + condition) lets the writer wait, briefly, for the
 * replicas to catch up before a checkpoint or at shutdown.
 */
#include "replica.h"
#include "../server/config.h"
#include "../server/writer.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NOTES (1 << 20)  /* queued commits per replica before merging */
#define SHIP_FRAMES 4096      /* ship early once this many frames wait */
#define GATE_WAIT_MS 100      /* a checkpoint waits this long for the replicas… */
#define GATE_WAIT_LONG_MS 2000 /* …or this long once the WAL is large */

static struct {
    replica *replicas;
    int n;
    pthread_mutex_t progress_lock;
    pthread_cond_t progress;
    uint64_t committed_lsn;   /* atomic: the writer's last commit, for INFO lag */
    long long committed_ts;
    long long last_gate_wait; /* writer thread: the gate's last wait */
    bool last_wait_ok;        /* writer thread: it ended with every replica caught up */
} R = {.progress_lock = PTHREAD_MUTEX_INITIALIZER, .progress = PTHREAD_COND_INITIALIZER};

bool replEnabled(void) { return R.n > 0; }
bool replSyncAck(void) { return R.n > 0 && server_config.repl_ack == REPL_ACK_SYNC; }

bool replInit(const char *db_path, char *err, size_t errlen) {
    if (server_config.nreplicas == 0) return true;
    R.replicas = calloc((size_t)server_config.nreplicas, sizeof(replica));
    target_creds creds = {server_config.replica_access_key[0] ? server_config.replica_access_key : NULL,
                          server_config.replica_secret_key[0] ? server_config.replica_secret_key : NULL};
    for (int i = 0; i < server_config.nreplicas; i++) {
        replica *r = &R.replicas[i];
        char why[512];
        r->t = targetOpen(server_config.replicas[i], &creds, why, sizeof(why));
        if (!r->t) {
            snprintf(err, errlen, "replica %s", why);
            replStop();
            return false;
        }
        r->id = i;
        r->db_path = db_path;
        r->wal_fd = -1;
        pthread_mutex_init(&r->lock, NULL);
        pthread_cond_init(&r->cond, NULL);
        R.n = i + 1;
    }
    resumeLoad(R.replicas, R.n, db_path);
    return true;
}

void replStartupWal(int frames) {
    if (frames > 0) resumeCancel(R.replicas, R.n); /* the file changed since the clean stop */
}

void replStart(void) {
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        if (pthread_create(&r->thread, NULL, replicaMain, r) == 0) r->started = true;
        else serverLog(LL_WARNING, "replica %s: cannot start its thread", r->t->url);
    }
}

void replStop(void) {
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        pthread_mutex_lock(&r->lock);
        r->stopping = true;
        pthread_cond_signal(&r->cond);
        pthread_mutex_unlock(&r->lock);
        if (r->started) pthread_join(r->thread, NULL);
        closeSources(r);
    }
    /* every connection is closed now: the file is what the next start sees */
    if (R.n && R.replicas[0].db_path)
        resumeSave(R.replicas, R.n, R.replicas[0].db_path, __atomic_load_n(&R.committed_lsn, __ATOMIC_ACQUIRE));
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        targetClose(r->t);
        free(r->notes);
        free(r->wpend);
        free(r->snaps);
        pthread_mutex_destroy(&r->lock);
        pthread_cond_destroy(&r->cond);
    }
    free(R.replicas);
    R.replicas = NULL;
    R.n = 0;
}

/* ---- writer hooks ----------------------------------------------------------- */

static void wake(replica *r, bool urgent) {
    if (urgent) r->urgent = true;
    pthread_cond_signal(&r->cond);
}

/* Under r->lock: append one commit's position to the replica's queue. A
 * replica that cannot keep up (unreachable) gets its queue merged, so memory
 * stays bounded: merging two commits of one WAL only coarsens point-in-time
 * restore, it never loses frames. */
static void queueNote(replica *r, const repl_pos *p, bool sync) {
    repl_pos *last = r->nnotes ? &r->notes[r->nnotes - 1] : NULL;
    if (r->nnotes >= MAX_NOTES && last->salt1 == p->salt1 && last->salt2 == p->salt2) {
        *last = *p;
    } else {
        if (r->nnotes == r->cap) {
            r->cap = r->cap ? r->cap * 2 : 256;
            r->notes = realloc(r->notes, sizeof(repl_pos) * r->cap);
        }
        r->notes[r->nnotes++] = *p;
    }
    /* Early shipping keeps segments bounded and the lag small when the
     * checkpoint gate asks the replicas to catch up. */
    if (sync || (!r->urgent && p->lsn - r->notes[0].lsn >= SHIP_FRAMES)) wake(r, true);
    else if (r->nnotes == 1) wake(r, false); /* an idle replica sets its sync timer */
}

/* Writer thread: hand the positions gathered in wpend to the replica. The
 * replica thread runs at idle priority and may be descheduled while it holds
 * its lock, so the writer only try-locks (unless `wait`): a busy lock means
 * the positions go over with a later commit or loop turn. */
static void flushNotes(replica *r, bool wait) {
    if (!r->nwpend) return;
    if (wait) pthread_mutex_lock(&r->lock);
    else if (pthread_mutex_trylock(&r->lock) != 0) return;
    bool sync = server_config.repl_ack == REPL_ACK_SYNC;
    for (size_t i = 0; i < r->nwpend; i++) queueNote(r, &r->wpend[i], sync);
    r->nwpend = 0;
    pthread_mutex_unlock(&r->lock);
}

void replNoteCommit(const repl_pos *p) {
    __atomic_store_n(&R.committed_ts, p->ts_ms, __ATOMIC_RELAXED);
    __atomic_store_n(&R.committed_lsn, p->lsn, __ATOMIC_RELEASE);
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        if (r->nwpend == r->wpend_cap) {
            r->wpend_cap = r->wpend_cap ? r->wpend_cap * 2 : 64;
            r->wpend = realloc(r->wpend, sizeof(repl_pos) * r->wpend_cap);
        }
        r->wpend[r->nwpend++] = *p;
        /* repl-ack sync: replies wait for this position, so it must go now
         * (the replica then runs at normal priority and holds its lock only
         * for moments). */
        flushNotes(r, server_config.repl_ack == REPL_ACK_SYNC);
    }
}

bool replFlushNotes(void) {
    bool left = false;
    for (int i = 0; i < R.n; i++) {
        flushNotes(&R.replicas[i], false);
        left |= R.replicas[i].nwpend > 0;
    }
    return left;
}

/* Writer thread, between batches: begin the read transaction a replica's
 * snapshot copies from, so it is exactly the state at position p. The
 * replica ships up to p before a snapshot, so every position up to p must be
 * in its queue first. */
void replServePins(const repl_pos *p) {
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        if (!__atomic_load_n(&r->pin_wanted, __ATOMIC_ACQUIRE)) continue;
        /* try-lock (see flushNotes); a replica waiting for its pin wakes the
         * writer again until it is served */
        flushNotes(r, false);
        if (r->nwpend || pthread_mutex_trylock(&r->lock) != 0) continue;
        if (r->pin_wanted && !r->pin_done) {
            r->pin = *p;
            r->pin.ts_ms = mstime(); /* nothing commits between p and now: the state as of now */
            if (sqlite3_exec(r->db, "BEGIN; SELECT count(*) FROM sqlite_schema;", NULL, NULL, NULL) != SQLITE_OK) {
                sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
                r->pin.ts_ms = -1;
            }
            r->pin_done = true;
            pthread_cond_signal(&r->cond);
        }
        pthread_mutex_unlock(&r->lock);
    }
}

static bool allShipped(uint64_t lsn, bool healthy_only) {
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        if (healthy_only && !__atomic_load_n(&r->healthy, __ATOMIC_RELAXED)) continue;
        if (__atomic_load_n(&r->shipped_lsn, __ATOMIC_ACQUIRE) < lsn) return false;
    }
    return true;
}

/* Writer thread: wait until every (healthy) replica stored p, or timeout.
 * Pins are served meanwhile: a replica starting a generation needs one. */
static bool waitShipped(const repl_pos *p, int timeout_ms, bool healthy_only) {
    uint64_t lsn = p->lsn;
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        flushNotes(r, true);
        pthread_mutex_lock(&r->lock);
        wake(r, true);
        pthread_mutex_unlock(&r->lock);
    }
    long long deadline = mstime() + timeout_ms;
    pthread_mutex_lock(&R.progress_lock);
    while (!allShipped(lsn, healthy_only) && mstime() < deadline) {
        long long until = mstime() + 10;
        if (until > deadline) until = deadline;
        struct timespec ts = {until / 1000, (until % 1000) * 1000000};
        pthread_cond_timedwait(&R.progress, &R.progress_lock, &ts);
        pthread_mutex_unlock(&R.progress_lock);
        replServePins(p);
        pthread_mutex_lock(&R.progress_lock);
    }
    pthread_mutex_unlock(&R.progress_lock);
    return allShipped(lsn, false);
}

/* Writer thread: is every replica that lacks lsn already starting over? */
static bool allBehindBroken(uint64_t lsn) {
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        if (__atomic_load_n(&r->shipped_lsn, __ATOMIC_ACQUIRE) >= lsn) continue;
        if (pthread_mutex_trylock(&r->lock) != 0) return false; /* busy: take the careful path */
        bool broken = r->broken;
        pthread_mutex_unlock(&r->lock);
        if (!broken) return false;
    }
    return true;
}

int replCheckpointGate(const repl_pos *p, long long wal_bytes, bool urgent) {
    if (allShipped(p->lsn, false)) return REPL_CKPT_OK;
    long long now = mstime();
    bool over = wal_bytes >= server_config.repl_max_wal_size;
    if (over && allBehindBroken(p->lsn)) return REPL_CKPT_OK; /* nothing more to lose: no wait, no log */
    /* Let the healthy replicas catch up while no commit moves the target, at
     * most once a second, so a slow or hung replica cannot stall every
     * batch; the long wait only while the last wait paid off. */
    if (over || now - R.last_gate_wait >= 1000) {
        R.last_gate_wait = now;
        int budget = (urgent || over) && R.last_wait_ok ? GATE_WAIT_LONG_MS : GATE_WAIT_MS;
        R.last_wait_ok = waitShipped(p, budget, true);
        if (R.last_wait_ok) return REPL_CKPT_OK;
    }
    if (!over) return REPL_CKPT_SKIP;
    /* The WAL reached repl-max-wal-size: keep the disk; the replicas still
     * behind (unreachable or stuck) lose continuity, the others keep it. */
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        if (__atomic_load_n(&r->shipped_lsn, __ATOMIC_ACQUIRE) >= p->lsn) continue;
        serverLog(LL_WARNING, "replica %s: WAL reached repl-max-wal-size (%lld bytes) before the replica stored it; "
                  "checkpointing anyway, the replica will start a new generation", r->t->url, wal_bytes);
        replicaBreak(r);
    }
    return REPL_CKPT_OK;
}

/* A replica that is failing is not waited for: shutdown must not hang on
 * an unreachable target (the writes are committed locally either way). */
void replDrain(const repl_pos *p, int timeout_ms) {
    if (!waitShipped(p, timeout_ms, true))
        serverLog(LL_WARNING, "replication: not every replica stored the last writes before shutdown");
}

/* Replica threads: something was stored (or failed): wake a waiting writer
 * and release repl-ack sync replies that every replica now holds. */
void replProgress(void) {
    uint64_t min = UINT64_MAX;
    for (int i = 0; i < R.n; i++) {
        uint64_t s = __atomic_load_n(&R.replicas[i].shipped_lsn, __ATOMIC_ACQUIRE);
        if (s < min) min = s;
    }
    pthread_mutex_lock(&R.progress_lock);
    pthread_cond_broadcast(&R.progress);
    pthread_mutex_unlock(&R.progress_lock);
    if (replSyncAck()) writerReleaseReplies(min);
}

/* ---- INFO ------------------------------------------------------------------- */

void replInfo(reply *o) {
    char line[1024];
    int n = snprintf(line, sizeof(line), "repl_replicas:%d\r\nrepl_ack:%s\r\n", R.n,
                     server_config.repl_ack == REPL_ACK_SYNC ? "sync" : "async");
    replyAppend(o, line, (size_t)n);
    long long now = mstime();
    for (int i = 0; i < R.n; i++) {
        replica *r = &R.replicas[i];
        pthread_mutex_lock(&r->lock);
        /* Lag against the writer's last commit, not the replica's queue:
         * commits being uploaded or still held by the writer count too. */
        uint64_t shipped = __atomic_load_n(&r->shipped_lsn, __ATOMIC_ACQUIRE);
        uint64_t head = __atomic_load_n(&R.committed_lsn, __ATOMIC_ACQUIRE);
        long long oldest = r->inflight_ts        ? r->inflight_ts
                           : r->nnotes           ? r->notes[0].ts_ms
                                                 : __atomic_load_n(&R.committed_ts, __ATOMIC_RELAXED);
        long long lag_ms = head > shipped && oldest ? now - oldest : 0;
        bool healthy = __atomic_load_n(&r->healthy, __ATOMIC_RELAXED);
        const char *status = !r->generation[0] ? (r->last_error[0] ? "error" : "starting")
                             : healthy         ? "ok"
                                               : "error";
        /* commas and newlines would break the INFO line format */
        char errtext[256];
        snprintf(errtext, sizeof(errtext), "%s", r->last_error);
        for (char *c = errtext; *c; c++)
            if (*c == ',' || *c == '\r' || *c == '\n') *c = ';';
        n = snprintf(line, sizeof(line),
                     "replica%d:url=%s,status=%s,generation=%s,next_index=%" PRIu64 ",shipped_lsn=%" PRIu64
                     ",lag_frames=%" PRIu64 ",lag_seconds=%.3f,segments=%lld,snapshots=%lld,bytes_shipped=%lld,"
                     "frames_shipped=%lld,last_sync_ms=%lld,last_snapshot_ms=%lld,last_error=%s,last_error_ms=%lld\r\n",
                     i, r->t->url, status, r->generation, r->next_index, shipped, head > shipped ? head - shipped : 0,
                     lag_ms / 1000.0, r->segments, r->snapshots, r->bytes_shipped, r->frames_shipped, r->last_ship_ms,
                     r->last_snapshot_ms, errtext, r->last_error_ms);
        pthread_mutex_unlock(&r->lock);
        replyAppend(o, line, (size_t)n > sizeof(line) - 1 ? sizeof(line) - 1 : (size_t)n);
    }
}
