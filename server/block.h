/*
 * block.h — parked blocking requests and WATCH bookkeeping (server-internal).
 *
 * Writer thread only: the writer is the one place where keys change, so it
 * is where waiters are woken and watched keys are marked dirty, with no
 * locks and no races against the changes themselves.
 */
#ifndef SOLIDIS_BLOCK_H
#define SOLIDIS_BLOCK_H

#include "writer.h"

typedef struct joblist {
    wjob *head, *tail;
} joblist;

void joblistPush(joblist *l, wjob *j);

/* After a command ran: park it if it asked to block (returns true: the job
 * now belongs to the parked list). */
bool blockParkIfBlocked(wjob *j);
/* Re-run parked requests whose keys were touched since the last call, FIFO,
 * appending the ones now served (and those released by FORGET/UNBLOCK) to
 * `done`. */
void blockServeReady(void (*run)(wjob *j), joblist *done);
/* Keys touched outside a client batch (background tasks) wait to be served. */
bool blockHasReady(void);
/* Reply the timeout reply to parked requests past their deadline. */
void blockExpire(long long now, joblist *done);
/* A batch attempt was rolled back: jobs of the batch that it parked are
 * unparked (they run again), and waiters it served (in `done`, not batch
 * members) go back to the head of the parked list, except those marked
 * lost_txn, which stay in `done` with their error. */
void blockUndoAttempt(joblist *done);
/* The request's last run asked to block again (nothing for it yet). */
bool blockWaitsStill(const request *r);
/* Free a request's blocking state (after delivery, or before a re-run). */
void blockRelease(request *r);

/* Re-run parked requests whose wake-up time (requestBlockWake) has come;
 * inside the writer's transaction. */
bool blockWakeDuePending(long long now);
void blockWakeDue(long long now, void (*run)(wjob *j), joblist *done);
/* Earliest parked deadline or wake-up time, 0 when none. */
long long blockNextDeadline(void);
/* A client went away: release its parked requests and watches. */
void blockForgetClient(uint64_t client_id);
/* CLIENT UNBLOCK: returns true if a parked request of that client was found. */
bool blockUnblockClient(uint64_t client_id, bool with_error);

/* WATCH */
void watchAdd(request *r, int db, const char *key, size_t klen, long long expires_at);
void watchClear(uint64_t client_id);
/* True when a watched key of this client changed or expired since WATCH. */
bool watchDirty(uint64_t client_id, long long now);

#endif
