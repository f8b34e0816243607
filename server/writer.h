/*
 * writer.h — the single writer thread (server-internal).
 *
 * The net thread hands write requests over as wjobs through a mutex-guarded
 * queue plus a condition variable; the writer hands finished jobs back through
 * a second queue plus a wake-up callback (event_active on the net loop). The
 * writer never touches a client: wjob.c is an opaque token it returns.
 */
#ifndef SOLIDIS_WRITER_H
#define SOLIDIS_WRITER_H

#include "server.h"

typedef struct wjob {
    struct wjob *next, *prev; /* prev: only while parked (blocking) */
    request req;        /* argv owned by the job */
    reply out;          /* filled by the writer; sent after the commit */
    struct client *c;   /* net-thread token, never dereferenced by the writer */
    bool discard_reply; /* CLIENT REPLY OFF|SKIP, decided when queued */
    bool in_batch;      /* writer: a member of the batch being run (not a served waiter) */
    bool lost_txn;      /* writer: its failure rolled back a whole attempt; not run again */
} wjob;

/* Background work run between batches, each call in its own transaction.
 * Returns true when it stopped early with more to do (run again soon). */
typedef bool writer_task(request *r);

typedef struct writer_stats {
    long long batches, commands, commits_failed, checkpoints, fsyncs;
    long long wal_frames, wal_bytes; /* live frames in the WAL, and their size on disk */
} writer_stats;

void writerAddTask(const char *name, writer_task *fn, int interval_ms); /* before writerStart */
bool writerStart(const char *dbpath, int fsync_mode, char *err, size_t errlen);
void writerSubmit(wjob *head, wjob *tail);      /* net thread */
wjob *writerTakeDone(void);                      /* net thread */
void writerSetNotify(void (*fn)(void *), void *arg);
void writerSetFsync(int mode);                   /* any thread */
void writerStop(void);                           /* net thread: drain, checkpoint, join */
void writerGetStats(writer_stats *out);
void writerJobFree(wjob *j);
void writerRequestCheckpoint(void);             /* writer thread, from a command */
void writerWake(void);                           /* any thread: run the loop now */
void writerReleaseReplies(uint64_t lsn);         /* any thread: repl-ack sync */
void writerDebugFailServedWaiter(void);          /* writer thread: DEBUG FAIL-SERVED-WAITER */
/* Writer thread: run one command of an EXEC. In the batch's safe pass it
 * has a savepoint of its own, so a SQLite failure undoes it alone and stays
 * in its reply (runtime errors inside EXEC are per command, as in Redis).
 * False: the failure must fail the whole EXEC instead (a first pass, which
 * the writer runs again with savepoints, or a transaction SQLite rolled back
 * entirely). */
bool writerRunInner(request *q);

#endif
