/*
 * replication.h — built-in WAL shipping (the one header the rest of the
 * server sees of replication/).
 *
 * The writer thread owns the database; replication only watches it. After
 * every commit the writer reports the WAL position (replNoteCommit); each
 * configured replica has its own thread that copies the newly committed WAL
 * frames into compressed, checksummed segments on its target, takes full
 * snapshots, and applies retention. The writer asks before it checkpoints
 * (replCheckpointGate) so that no frame is checkpointed away — and the WAL
 * restarted over it — before every replica has stored it.
 *
 * Positions: an LSN counts WAL frames written since the server started,
 * across WAL restarts, so "shipped up to LSN x" is one number per replica.
 */
#ifndef SOLIDIS_REPLICATION_H
#define SOLIDIS_REPLICATION_H

#include "../server/server.h"
#include <stdint.h>

typedef struct repl_pos {
    uint32_t salt1, salt2; /* the WAL header's salts: they change when the WAL restarts */
    uint32_t frames;       /* frames in the WAL after the commit */
    uint64_t lsn;          /* LSN of the last frame of the commit */
    long long ts_ms;       /* when it committed */
} repl_pos;

enum { REPL_CKPT_OK = 0, REPL_CKPT_SKIP = 1 };

/* Main thread, after the config is loaded and before writerStart: open the
 * configured targets. False with a message on a bad replica URL. */
bool replInit(const char *db_path, char *err, size_t errlen);
/* Writer start (before replStart): frames the WAL held at open, folded
 * into the database; any means the generation cannot continue. */
void replStartupWal(int frames);
/* Main thread, after writerStart: start one thread per replica. */
void replStart(void);
bool replEnabled(void);
/* Main thread, after writerStop: stop and join the replica threads. */
void replStop(void);

/* Writer thread. */
void replNoteCommit(const repl_pos *p);
/* Every loop turn: hand over positions a busy replica lock held back;
 * true when some are still held (the writer then sleeps only briefly). */
bool replFlushNotes(void);
/* Called between batches: serves replicas that asked for a snapshot. */
void replServePins(const repl_pos *p);
/* May the writer checkpoint the whole WAL now (current position p)? It
 * waits a little for healthy replicas to catch up; past repl-max-wal-size it
 * says OK and the replicas that lag start a new generation. */
int replCheckpointGate(const repl_pos *p, long long wal_bytes, bool urgent);
/* repl-ack sync: replies wait for the replicas (writerReleaseReplies). */
bool replSyncAck(void);
/* Writer exit: give the replicas up to timeout_ms to store everything. */
void replDrain(const repl_pos *p, int timeout_ms);

/* Net thread: the replication fields of INFO replication. */
void replInfo(reply *o);

/* Main thread, before anything opens the database: --restore-if-empty URL
 * restores the latest state when db_path does not exist (restore.c). */
int replRestoreIfEmpty(const char *url, const char *db_path, char *err, size_t errlen);

/* Replica threads (repl.c): a replica stored more, or failed. */
void replProgress(void);

#endif
