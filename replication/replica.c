/*
 * replica.c — the thread that keeps one replica target up to date.
 *
 * What it keeps true (see repl_internal.h for the layout and format):
 *   - Segments of a generation are contiguous. Segment i starts with the
 *     frame after the last frame of segment i-1 — in the same WAL, or at
 *     frame 1 of the next WAL when the writer restarted it — and ends on a
 *     commit frame. The writer restarts the WAL only after a checkpoint that
 *     replCheckpointGate allowed, i.e. after every replica stored every frame
 *     of the old WAL, so no frame is ever skipped.
 *   - When continuity is lost anyway (the server started, the writer forced a
 *     checkpoint past repl-max-wal-size while this replica lagged, or a frame
 *     read back does not carry the expected salts) the replica starts a new
 *     generation with a fresh snapshot; it never writes a segment that could
 *     apply to the wrong base.
 *   - A snapshot named k is the database after segment k-1: before taking
 *     it, the replica ships exactly up to the pinned position.
 *   - shipped_lsn only grows, and only after the target acknowledged the
 *     object holding those frames.
 *
 * Threads: runs on its own thread; talks to the writer through the notes
 * queue and the pin hand-off (replica.h), to other threads through the
 * atomics and replProgress(). Objects are uploaded in order, one at a time.
 */
#include "replica.h"
#include "../server/config.h"
#include "../server/writer.h"
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WAL_HEADER 32
#define SEGMENT_MAX_FRAMES 8192 /* 32 MB of 4 KB pages per object at most */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000
#define LAG_NORMAL_PRIORITY_MS 2000

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static long long nowMs(void) { return mstime(); }

/* Replica thread: remember a failure for INFO and back off. */
void replicaSetError(replica *r, const char *msg) {
    pthread_mutex_lock(&r->lock);
    snprintf(r->last_error, sizeof(r->last_error), "%s", msg);
    r->last_error_ms = nowMs();
    pthread_mutex_unlock(&r->lock);
    __atomic_store_n(&r->healthy, 0, __ATOMIC_RELAXED);
    r->backoff_ms = r->backoff_ms ? r->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (r->backoff_ms > BACKOFF_MAX_MS) r->backoff_ms = BACKOFF_MAX_MS;
    serverLog(LL_WARNING, "replica %s: %s (retrying in %lld ms)", r->t->url, msg, r->backoff_ms);
    replProgress();
}

void replicaBreak(replica *r) {
    pthread_mutex_lock(&r->lock);
    r->broken = true;
    r->breaks++;
    r->nnotes = 0;
    r->urgent = true;
    pthread_cond_signal(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static bool isBroken(replica *r) {
    pthread_mutex_lock(&r->lock);
    bool broken = r->broken;
    pthread_mutex_unlock(&r->lock);
    return broken;
}

static void noteSuccess(replica *r) {
    if (!__atomic_load_n(&r->healthy, __ATOMIC_RELAXED) && r->last_error[0])
        serverLog(LL_NOTICE, "replica %s: reachable again", r->t->url);
    __atomic_store_n(&r->healthy, 1, __ATOMIC_RELAXED);
    r->backoff_ms = 0;
}

static void publishShipped(replica *r, uint64_t lsn) {
    if (lsn > __atomic_load_n(&r->shipped_lsn, __ATOMIC_RELAXED))
        __atomic_store_n(&r->shipped_lsn, lsn, __ATOMIC_RELEASE);
    replProgress();
}

/* ---- notes ---------------------------------------------------------------- */

/* Take all queued commit positions (replica thread). */
static repl_pos *takeNotes(replica *r, size_t *n) {
    pthread_mutex_lock(&r->lock);
    repl_pos *notes = r->notes;
    *n = r->nnotes;
    r->inflight_ts = r->nnotes ? r->notes[0].ts_ms : 0;
    r->notes = NULL;
    r->nnotes = r->cap = 0;
    r->urgent = false;
    pthread_mutex_unlock(&r->lock);
    return notes;
}

/* Put notes that were not shipped back in front of newer ones. */
static void returnNotes(replica *r, repl_pos *notes, size_t from, size_t n) {
    size_t keep = n - from;
    pthread_mutex_lock(&r->lock);
    r->inflight_ts = 0;
    if (keep > 0 && !r->broken) {
        repl_pos *merged = malloc(sizeof(repl_pos) * (keep + r->nnotes + 1));
        memcpy(merged, notes + from, sizeof(repl_pos) * keep);
        if (r->nnotes) memcpy(merged + keep, r->notes, sizeof(repl_pos) * r->nnotes);
        free(r->notes);
        r->notes = merged;
        r->nnotes += keep;
        r->cap = r->nnotes + 1;
    }
    pthread_mutex_unlock(&r->lock);
    free(notes);
}

/* ---- segments ------------------------------------------------------------- */

static bool sameWal(const repl_pos *a, const repl_pos *b) { return a->salt1 == b->salt1 && a->salt2 == b->salt2; }

/* Read frames first..last of the current WAL — one pread, straight into
 * the replica's reusable body buffer — and check that each carries the
 * WAL's salts (else the WAL moved under us and the bytes belong to a newer
 * WAL). */
static bool readFrames(replica *r, const repl_pos *wal, uint32_t first, uint32_t last, size_t *len,
                       uint32_t *db_pages, char *err, size_t errlen) {
    size_t fsz = WAL_FRAME_HEADER + (size_t)r->page_size, n = last - first + 1;
    if (r->body_cap < fsz * n) {
        free(r->body);
        r->body_cap = fsz * n;
        r->body = malloc(r->body_cap);
    }
    off_t off = WAL_HEADER + (off_t)(first - 1) * (off_t)fsz;
    if (pread(r->wal_fd, r->body, fsz * n, off) != (ssize_t)(fsz * n)) {
        snprintf(err, errlen, "short read of WAL frames %u..%u", first, last);
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        const unsigned char *frame = (const unsigned char *)r->body + k * fsz;
        if (be32(frame + 8) != wal->salt1 || be32(frame + 12) != wal->salt2) {
            snprintf(err, errlen, "WAL frame %u was overwritten (continuity lost)", first + (uint32_t)k);
            return false;
        }
    }
    *db_pages = be32((const unsigned char *)r->body + (n - 1) * fsz + 4);
    *len = fsz * n;
    return true;
}

/* Ship notes[from..to] (one WAL, ending on notes[to]) as one segment.
 * Returns 1 on success, 0 on a target failure (retry), -1 when continuity is
 * lost (new generation). */
static int shipSegment(replica *r, const repl_pos *notes, size_t from, size_t to) {
    const repl_pos *end = &notes[to];
    uint32_t first = r->done.frames + 1, last = end->frames;
    char err[512] = "";
    size_t body_len = 0, obj_len = 0;
    uint32_t db_pages = 0;
    /* A forced checkpoint marks the replica broken before it lets SQLite
     * restart the WAL, so frames read while it is not broken are intact. */
    if (isBroken(r)) return -1;
    if (!readFrames(r, end, first, last, &body_len, &db_pages, err, sizeof(err))) {
        replicaSetError(r, err);
        return -1;
    }
    if (isBroken(r)) return -1; /* a forced checkpoint raced the read */
    obj_header h = {.kind = OBJ_KIND_SEGMENT, .index = r->next_index, .page_size = (uint32_t)r->page_size,
                    .db_pages = db_pages, .lsn_first = r->done.lsn + 1, .lsn_last = end->lsn,
                    .ts_first = notes[from].ts_ms, .ts_last = end->ts_ms, .created = nowMs(),
                    .salt1 = end->salt1, .salt2 = end->salt2, .frame_first = first, .frame_last = last,
                    .delta = true};
    memcpy(h.generation, r->generation, sizeof(h.generation));
    h.ncommits = to - from + 1;
    h.commits = malloc(sizeof(obj_commit) * h.ncommits);
    for (size_t i = from; i <= to; i++) h.commits[i - from] = (obj_commit){notes[i].frames, notes[i].ts_ms};
    objDeltaEncode(r->body, body_len, h.page_size);
    int rc = objEncodeBuf(&h, r->body, body_len, &r->obj, &r->obj_cap, &obj_len, err, sizeof(err));
    free(h.commits);
    if (rc != TARGET_OK) {
        replicaSetError(r, err);
        return 0;
    }
    char name[128];
    objSegmentName(name, sizeof(name), r->generation, r->next_index);
    rc = r->t->ops->put(r->t, name, r->obj, obj_len, err, sizeof(err));
    if (rc != TARGET_OK) {
        replicaSetError(r, err);
        return 0;
    }
    noteSuccess(r);
    r->done = *end;
    pthread_mutex_lock(&r->lock);
    r->next_index++;
    r->segments++;
    r->bytes_shipped += (long long)obj_len;
    r->frames_shipped += last - first + 1;
    r->last_ship_ms = nowMs();
    pthread_mutex_unlock(&r->lock);
    publishShipped(r, end->lsn);
    return 1;
}

/* Shipping is background work: at SCHED_IDLE it uses only the CPU the net
 * and writer threads leave (a replica costs a CPU-bound server a few
 * percent, not a fifth). Idle priority can starve on a busy host, so a
 * replica that falls behind by more than LAG_NORMAL_PRIORITY_MS ships at
 * normal priority until it has caught up. With repl-ack sync replies wait
 * for the replica: always normal priority. */
static bool idle_allowed;
static pthread_once_t idle_probe_once = PTHREAD_ONCE_INIT;

/* Leaving SCHED_IDLE needs CAP_SYS_NICE (or RLIMIT_NICE >= 20), which
 * containers and non-root users usually lack: a thread that went idle could
 * then never come back. So a throwaway thread tries the round trip first. */
static void *idleProbe(void *arg) {
    (void)arg;
    struct sched_param sp = {0};
    bool ok = pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp) == 0 &&
              pthread_setschedparam(pthread_self(), SCHED_OTHER, &sp) == 0;
    return ok ? (void *)1 : NULL;
}

static void probeIdlePriority(void) {
    pthread_t t;
    void *res = NULL;
    if (pthread_create(&t, NULL, idleProbe, NULL) == 0 && pthread_join(t, &res) == 0) idle_allowed = res != NULL;
    if (!idle_allowed)
        serverLog(LL_NOTICE, "replication: cannot return from idle CPU priority here (no CAP_SYS_NICE); "
                  "replicas ship at normal priority");
}

static void setIdlePriority(replica *r, bool idle) {
    pthread_once(&idle_probe_once, probeIdlePriority);
    if (server_config.repl_ack == REPL_ACK_SYNC || !idle_allowed) idle = false;
    if (idle == r->idle_priority) return;
    struct sched_param sp = {0};
    if (pthread_setschedparam(pthread_self(), idle ? SCHED_IDLE : SCHED_OTHER, &sp) == 0) r->idle_priority = idle;
}

/* Ship queued commits up to `limit` LSN (UINT64_MAX: all). Returns false
 * on failure; notes not shipped go back to the queue. */
static bool shipUpTo(replica *r, uint64_t limit) {
    size_t n;
    repl_pos *notes = takeNotes(r, &n);
    long long behind_ms = n ? nowMs() - notes[0].ts_ms : 0;
    setIdlePriority(r, behind_ms < LAG_NORMAL_PRIORITY_MS);
    size_t i = 0;
    while (i < n) {
        if (notes[i].lsn <= r->done.lsn) { /* already in the snapshot */
            i++;
            continue;
        }
        if (notes[i].lsn > limit) break;
        if (!sameWal(&notes[i], &r->done)) {
            /* The WAL restarted: its first frame follows our last one. */
            if (notes[i].lsn - notes[i].frames != r->done.lsn) {
                replicaSetError(r, "WAL continuity lost between WAL files");
                replicaBreak(r);
                break;
            }
            r->done.salt1 = notes[i].salt1;
            r->done.salt2 = notes[i].salt2;
            r->done.frames = 0;
        }
        size_t j = i;
        while (j + 1 < n && notes[j + 1].lsn <= limit && sameWal(&notes[j + 1], &notes[i]) &&
               notes[j + 1].frames - r->done.frames <= SEGMENT_MAX_FRAMES)
            j++;
        int rc = shipSegment(r, notes, i, j);
        if (rc == 0) {
            returnNotes(r, notes, i, n);
            return false;
        }
        if (rc < 0) {
            replicaBreak(r);
            break;
        }
        i = j + 1;
    }
    bool broken = isBroken(r);
    returnNotes(r, notes, broken ? n : i, n);
    return !broken;
}

/* ---- snapshots ------------------------------------------------------------ */

/* Ask the writer to open a read transaction on our connection between two
 * batches (replica.h). False if the server is stopping. */
static bool pinDatabase(replica *r, repl_pos *pin, uint64_t *breaks) {
    pthread_mutex_lock(&r->lock);
    __atomic_store_n(&r->pin_wanted, true, __ATOMIC_RELEASE);
    r->pin_done = false;
    pthread_mutex_unlock(&r->lock);
    writerWake();
    pthread_mutex_lock(&r->lock);
    while (!r->pin_done && !r->stopping) {
        long long until = nowMs() + 50;
        struct timespec ts = {until / 1000, (until % 1000) * 1000000};
        if (pthread_cond_timedwait(&r->cond, &r->lock, &ts) == ETIMEDOUT && !r->pin_done) {
            pthread_mutex_unlock(&r->lock);
            writerWake(); /* the writer was busy or found our lock taken */
            pthread_mutex_lock(&r->lock);
        }
    }
    bool ok = r->pin_done;
    __atomic_store_n(&r->pin_wanted, false, __ATOMIC_RELEASE);
    *pin = r->pin;
    *breaks = r->breaks;
    pthread_mutex_unlock(&r->lock);
    if (ok && pin->ts_ms < 0) { /* the writer could not begin the transaction */
        replicaSetError(r, sqlite3_errmsg(r->db));
        return false;
    }
    if (!ok) sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    return ok;
}

/* Copy the pinned database to `path` page for page (same page numbers, so
 * later frames apply to it) and end the read transaction. */
static bool copyPinned(replica *r, const char *path, char *err, size_t errlen) {
    sqlite3 *dst = NULL;
    bool ok = false;
    unlink(path);
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) == SQLITE_OK) {
        sqlite3_backup *b = sqlite3_backup_init(dst, "main", r->db, "main");
        if (b) {
            int rc = sqlite3_backup_step(b, -1);
            sqlite3_backup_finish(b);
            ok = rc == SQLITE_DONE;
        }
        if (!ok) snprintf(err, errlen, "snapshot copy failed: %s", sqlite3_errmsg(dst));
    } else {
        snprintf(err, errlen, "cannot create %s", path);
    }
    sqlite3_close(dst);
    sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
    return ok;
}

/* Take a snapshot: in a new generation (index 0) or the current one (after
 * shipping exactly up to the pin). */
static bool takeSnapshot(replica *r, bool new_generation) {
    repl_pos pin;
    /* The pinned read transaction holds the WAL back while the copy runs:
     * never let it starve at idle priority. */
    setIdlePriority(r, false);
    uint64_t breaks_at_pin;
    if (!pinDatabase(r, &pin, &breaks_at_pin)) return false;
    if (!new_generation && !shipUpTo(r, pin.lsn)) {
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
        return false;
    }
    if (!new_generation && r->nsnaps && r->snaps[r->nsnaps - 1].index == r->next_index) {
        /* nothing was written since the last snapshot: it is still current */
        sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL);
        r->next_snapshot_ms = nowMs() + server_config.repl_snapshot_interval;
        return true;
    }
    char err[512] = "";
    size_t plen = strlen(r->db_path) + 64;
    char *raw = malloc(plen), *packed = malloc(plen);
    snprintf(raw, plen, "%s.replica%d.snapshot", r->db_path, r->id);
    snprintf(packed, plen, "%s.replica%d.snapshot.zst", r->db_path, r->id);
    bool ok = copyPinned(r, raw, err, sizeof(err));
    char gen[GEN_ID_LEN + 1];
    uint64_t index = new_generation ? 0 : r->next_index;
    if (new_generation) objNewGeneration(gen, pin.ts_ms);
    else memcpy(gen, r->generation, sizeof(gen));
    struct stat sb;
    if (ok && stat(raw, &sb) != 0) ok = false;
    if (ok) {
        obj_header h = {.kind = OBJ_KIND_SNAPSHOT, .index = index, .page_size = (uint32_t)r->page_size,
                        .db_pages = (uint32_t)(sb.st_size / r->page_size), .lsn_first = pin.lsn,
                        .lsn_last = pin.lsn, .ts_first = pin.ts_ms, .ts_last = pin.ts_ms, .created = nowMs()};
        memcpy(h.generation, gen, sizeof(gen));
        ok = objEncodeFile(&h, raw, packed, err, sizeof(err)) == TARGET_OK;
    }
    char name[128];
    objSnapshotName(name, sizeof(name), gen, index);
    if (ok) ok = r->t->ops->put_file(r->t, name, packed, err, sizeof(err)) == TARGET_OK;
    struct stat pb;
    long long packed_size = stat(packed, &pb) == 0 ? (long long)pb.st_size : 0;
    unlink(raw);
    unlink(packed);
    free(raw);
    free(packed);
    if (!ok) {
        replicaSetError(r, err[0] ? err : "snapshot failed");
        return false;
    }
    noteSuccess(r);
    if (new_generation) {
        r->done = pin;
        r->nsnaps = 0;
        r->have_gen = true;
        serverLog(LL_NOTICE, "replica %s: generation %s started", r->t->url, gen);
    }
    r->snaps = realloc(r->snaps, sizeof(*r->snaps) * (r->nsnaps + 1));
    r->snaps[r->nsnaps].index = index;
    r->snaps[r->nsnaps].ts = pin.ts_ms;
    r->nsnaps++;
    pthread_mutex_lock(&r->lock);
    if (new_generation) {
        memcpy(r->generation, gen, sizeof(gen));
        r->next_index = 0;
        if (r->breaks == breaks_at_pin) r->broken = false; /* else broken again after the pin */
    }
    r->snapshots++;
    r->bytes_shipped += packed_size;
    r->last_snapshot_ms = r->last_ship_ms = nowMs();
    pthread_mutex_unlock(&r->lock);
    r->next_snapshot_ms = nowMs() + server_config.repl_snapshot_interval;
    publishShipped(r, pin.lsn);
    return true;
}

/* ---- retention ------------------------------------------------------------ */

typedef struct listing {
    struct { char gen[GEN_ID_LEN + 1]; uint64_t index; int kind; char *name; } *objs;
    size_t n;
} listing;

static void collect(void *arg, const char *name, long long size) {
    (void)size;
    listing *l = arg;
    char gen[GEN_ID_LEN + 1];
    uint64_t index;
    int kind = objParseName(name, gen, &index);
    if (!kind) return;
    l->objs = realloc(l->objs, sizeof(*l->objs) * (l->n + 1));
    memcpy(l->objs[l->n].gen, gen, sizeof(gen));
    l->objs[l->n].index = index;
    l->objs[l->n].kind = kind;
    l->objs[l->n].name = strdup(name);
    l->n++;
}

static long long generationStart(const char *gen) { return (long long)(strtoull(gen, NULL, 16) >> 16); }

/* Delete what no restore within repl-retention can need: generations
 * superseded longer ago than that, and in the current generation the
 * snapshots (and their segments) older than the newest snapshot that is
 * itself older than the cutoff. */
static void applyRetention(replica *r) {
    long long now = nowMs(), cutoff = now - server_config.repl_retention;
    uint64_t keep_from = 0;
    for (size_t i = 0; i < r->nsnaps; i++)
        if (r->snaps[i].ts <= cutoff && r->snaps[i].index > keep_from) keep_from = r->snaps[i].index;
    listing l = {NULL, 0};
    char err[512] = "";
    if (r->t->ops->list(r->t, "generations/", collect, &l, err, sizeof(err)) != TARGET_OK) {
        replicaSetError(r, err);
        goto out;
    }
    for (size_t i = 0; i < l.n; i++) {
        bool drop;
        if (strcmp(l.objs[i].gen, r->generation) == 0) {
            drop = l.objs[i].index < keep_from;
        } else {
            /* superseded when the next newer generation started */
            const char *next = r->generation;
            for (size_t j = 0; j < l.n; j++)
                if (strcmp(l.objs[j].gen, l.objs[i].gen) > 0 && strcmp(l.objs[j].gen, next) < 0) next = l.objs[j].gen;
            drop = strcmp(l.objs[i].gen, r->generation) < 0 && generationStart(next) <= cutoff;
        }
        if (drop && r->t->ops->del(r->t, l.objs[i].name, err, sizeof(err)) != TARGET_OK) {
            replicaSetError(r, err);
            break;
        }
    }
    size_t kept = 0;
    for (size_t i = 0; i < r->nsnaps; i++)
        if (r->snaps[i].index >= keep_from) r->snaps[kept++] = r->snaps[i];
    r->nsnaps = kept;
out:
    for (size_t i = 0; i < l.n; i++) free(l.objs[i].name);
    free(l.objs);
    long long every = server_config.repl_retention / 4;
    if (every < 1000) every = 1000;
    if (every > 60000) every = 60000;
    r->next_retention_ms = now + every;
}

/* ---- the loop ------------------------------------------------------------- */

/* Sleep until there is something to do; false when stopping. */
static bool waitForWork(replica *r) {
    long long retry_at = r->backoff_ms ? nowMs() + r->backoff_ms : 0;
    pthread_mutex_lock(&r->lock);
    for (;;) {
        if (r->stopping) break;
        long long now = nowMs();
        if (retry_at && now < retry_at) {
            if (r->pin_wanted) break;
            struct timespec ts = {retry_at / 1000, (retry_at % 1000) * 1000000};
            pthread_cond_timedwait(&r->cond, &r->lock, &ts);
            continue;
        }
        if (!r->have_gen || r->broken || now >= r->next_snapshot_ms || now >= r->next_retention_ms) break;
        long long ship_at = r->last_ship_ms + server_config.repl_sync_interval;
        if (r->nnotes && (r->urgent || server_config.repl_ack == REPL_ACK_SYNC || now >= ship_at)) break;
        long long wake = r->next_snapshot_ms < r->next_retention_ms ? r->next_snapshot_ms : r->next_retention_ms;
        if (r->nnotes && ship_at < wake) wake = ship_at;
        struct timespec ts = {wake / 1000, (wake % 1000) * 1000000};
        pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    }
    bool stopping = r->stopping;
    pthread_mutex_unlock(&r->lock);
    return !stopping;
}

void closeSources(replica *r) {
    if (r->db) sqlite3_close(r->db);
    r->db = NULL;
    if (r->wal_fd >= 0) close(r->wal_fd);
    r->wal_fd = -1;
    free(r->wal_path);
    r->wal_path = NULL;
    free(r->body);
    free(r->obj);
    r->body = r->obj = NULL;
    r->body_cap = r->obj_cap = 0;
}

static bool openSources(replica *r) {
    if (sqlite3_open_v2(r->db_path, &r->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        replicaSetError(r, sqlite3_errmsg(r->db));
        return false;
    }
    sqlite3_busy_timeout(r->db, 5000);
    sqlite3_stmt *ps;
    r->page_size = 4096;
    if (sqlite3_prepare_v2(r->db, "PRAGMA page_size", -1, &ps, NULL) == SQLITE_OK) {
        if (sqlite3_step(ps) == SQLITE_ROW) r->page_size = sqlite3_column_int(ps, 0);
        sqlite3_finalize(ps);
    }
    size_t n = strlen(r->db_path) + 5;
    r->wal_path = malloc(n);
    snprintf(r->wal_path, n, "%s-wal", r->db_path);
    r->wal_fd = open(r->wal_path, O_RDONLY | O_CLOEXEC);
    if (r->wal_fd < 0) {
        char msg[300];
        snprintf(msg, sizeof(msg), "open %s: %s", r->wal_path, strerror(errno));
        replicaSetError(r, msg);
        return false;
    }
    return true;
}

/* Continue the generation a clean stop left (resume.c), if the target still
 * holds its last object; otherwise a new generation starts as usual. */
static void resumeGeneration(replica *r) {
    /* The state it ends with is the end of segment index-1, or snapshot
     * index (retention may have dropped the segment); a failing target gets
     * a few tries before the generation is given up. */
    char name[128], err[512] = "", *buf = NULL;
    size_t len = 0;
    int rc = TARGET_ERR;
    for (int attempt = 0; attempt < 3 && rc == TARGET_ERR; attempt++) {
        if (attempt) usleep(500 * 1000);
        rc = TARGET_NOT_FOUND;
        if (r->resume_index > 0) {
            objSegmentName(name, sizeof(name), r->resume_gen, r->resume_index - 1);
            rc = r->t->ops->get_head(r->t, name, 64, &buf, &len, err, sizeof(err));
            free(buf);
            buf = NULL;
        }
        if (rc == TARGET_NOT_FOUND) {
            objSnapshotName(name, sizeof(name), r->resume_gen, r->resume_index);
            rc = r->t->ops->get_head(r->t, name, 64, &buf, &len, err, sizeof(err));
            free(buf);
            buf = NULL;
        }
    }
    if (rc != TARGET_OK) {
        serverLog(LL_NOTICE, "replica %s: cannot continue generation %s (%s): starting a new one", r->t->url,
                  r->resume_gen, rc == TARGET_NOT_FOUND ? "its last object is gone" : err);
        return;
    }
    pthread_mutex_lock(&r->lock);
    memcpy(r->generation, r->resume_gen, sizeof(r->generation));
    r->next_index = r->resume_index;
    r->last_snapshot_ms = r->resume_snapshot_ms;
    pthread_mutex_unlock(&r->lock);
    r->have_gen = true;
    r->done = (repl_pos){0};
    r->next_snapshot_ms = r->resume_snapshot_ms + server_config.repl_snapshot_interval;
    noteSuccess(r);
    serverLog(LL_NOTICE, "replica %s: continuing generation %s at segment %" PRIu64 " after a clean restart",
              r->t->url, r->generation, r->next_index);
}

void *replicaMain(void *arg) {
    replica *r = arg;
    setIdlePriority(r, server_config.repl_ack != REPL_ACK_SYNC);
    while (!openSources(r)) {
        closeSources(r);
        if (!waitForWork(r)) return NULL;
    }
    if (r->resume) resumeGeneration(r);
    r->next_retention_ms = nowMs() + 1000;
    while (waitForWork(r)) {
        bool broken;
        pthread_mutex_lock(&r->lock);
        broken = r->broken;
        pthread_mutex_unlock(&r->lock);
        if (!r->have_gen || broken) {
            if (broken) serverLog(LL_WARNING, "replica %s: WAL continuity lost, starting a new generation", r->t->url);
            takeSnapshot(r, true);
            continue;
        }
        if (nowMs() >= r->next_snapshot_ms) {
            if (!takeSnapshot(r, false)) continue;
        }
        if (!shipUpTo(r, UINT64_MAX)) continue;
        if (nowMs() >= r->next_retention_ms) applyRetention(r);
    }
    return NULL;
}
