/*
 * replica.h — one replica target and its thread (internal to replication/).
 *
 * Thread ownership
 *   - replica thread: everything under "thread only" — the generation, the
 *     next segment index, the position shipped so far in the current WAL,
 *     its read-only SQLite connection (except while the writer pins it, see
 *     below) and its WAL file descriptor.
 *   - writer thread → replica: commit positions (`notes`), appended under
 *     `lock` and taken in bulk by the replica; the pin hand-off. The writer
 *     gathers positions in its own `wpend` and only try-locks to hand them
 *     over: the replica runs at idle priority (async) and must never make
 *     the writer wait by being descheduled while holding `lock`.
 *   - replica → everyone: `shipped_lsn` and `healthy` (atomics), the status
 *     fields INFO shows (under `lock`).
 *
 * The pin hand-off (snapshots): the replica sets pin_wanted and wakes the
 * writer; between two batches the writer opens a read transaction on the
 * replica's connection, so the snapshot is exactly the state after the last
 * commit (`pin`), and signals back. The replica then copies the database
 * through that transaction while the writer goes on.
 */
#ifndef SOLIDIS_REPLICA_H
#define SOLIDIS_REPLICA_H

#include "replication.h"
#include "repl_internal.h"
#include <pthread.h>
#include <sqlite3.h>

typedef struct replica {
    int id;
    target *t;
    const char *db_path;
    pthread_t thread;
    bool started;

    pthread_mutex_t lock;
    pthread_cond_t cond;       /* wakes the replica: notes, urgency, pin done, stop */
    repl_pos *notes;           /* commits not yet taken by the replica */
    size_t nnotes, cap;
    bool urgent, stopping, pin_wanted, pin_done, broken;
    uint64_t breaks;           /* times broken was set (a break after a pin outlives that snapshot) */
    repl_pos pin;
    long long inflight_ts;     /* oldest commit taken for shipping, 0 = none */
    /* status for INFO (under lock) */
    char generation[GEN_ID_LEN + 1];
    char last_error[256];
    long long last_error_ms, last_ship_ms, last_snapshot_ms;
    uint64_t next_index;
    long long segments, snapshots, bytes_shipped, frames_shipped;

    /* set before the thread starts (resume.c): continue this generation */
    bool resume;
    char resume_gen[GEN_ID_LEN + 1];
    uint64_t resume_index;
    long long resume_snapshot_ms;

    /* writer thread only: positions not yet handed over (see flushNotes) */
    repl_pos *wpend;
    size_t nwpend, wpend_cap;

    uint64_t shipped_lsn;      /* atomic: every frame up to here is stored */
    int healthy;               /* atomic: the last attempt succeeded */

    /* thread only */
    sqlite3 *db;               /* read-only; the writer pins it for snapshots */
    int wal_fd;
    char *wal_path;
    int page_size;
    char *body, *obj;          /* reused segment buffers: WAL frames, encoded object */
    size_t body_cap, obj_cap;
    bool have_gen;
    bool idle_priority;        /* running at SCHED_IDLE (async) */
    repl_pos done;             /* position shipped in the current WAL */
    struct { uint64_t index; long long ts; } *snaps; /* snapshots of this generation */
    size_t nsnaps;
    long long next_snapshot_ms, next_retention_ms, backoff_ms;
} replica;

void *replicaMain(void *arg); /* replica.c */
void closeSources(replica *r);  /* replica.c: after the thread ended */
void replicaSetError(replica *r, const char *msg);
/* Any thread: continuity lost; the replica starts a new generation. */
void replicaBreak(replica *r);
/* resume.c (main thread) */
void resumeLoad(replica *rs, int n, const char *db_path);
void resumeCancel(replica *rs, int n);
void resumeSave(replica *rs, int n, const char *db_path, uint64_t committed_lsn);

#endif
