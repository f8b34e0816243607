/*
 * block.c — blocking commands and WATCH, kept by the writer thread.
 *
 * Thread ownership: everything in this file belongs to the writer thread.
 *
 * Parked requests. A blocking command (BLPOP…) runs on the writer like any
 * write. When it finds nothing it calls requestBlock(), which records the keys
 * and deadline in r->block; the writer then moves the job from its batch to
 * the `parked` FIFO instead of answering it. The client stays "in flight" on
 * the net thread, so its later commands wait, exactly as in Redis.
 * keyTouched() notes every changed key that a parked job waits on; after each
 * command of a batch the writer re-runs, oldest first, the parked jobs
 * waiting on those keys — inside the same transaction, so a pop commits with
 * the push that fed it. Served jobs join the batch's replies.
 *
 * Watches. WATCH runs on the writer and records (client id, db, key, expiry).
 * keyTouched()/keyTouchedDb() mark matching watches dirty; EXEC checks them
 * (and whether a watched key has expired since) before running anything.
 *
 * Both lists are short in practice (one entry per blocked worker or watched
 * key) and scanned linearly; keyTouched costs two loads when both are empty.
 */
#include "block.h"
#include "readcache.h"
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct bkey {
    int db;
    const char *key; /* points into the job's argv */
    size_t klen;
} bkey;

struct block_state {
    bkey *keys;
    int nkeys;
    long long deadline; /* ms, 0 = forever */
    long long wake_at;  /* ms, 0 = none: re-run then even if no key was touched */
    bool null_bulk;
    bool blocked;       /* set by requestBlock during the current run */
};

typedef struct readykey {
    int db;
    char *key;
    size_t klen;
} readykey;

typedef struct watch {
    uint64_t client_id;
    int db;
    char *key;
    size_t klen;
    long long expires_at;
    bool dirty;
} watch;

static struct {
    wjob *parked_head, *parked_tail;
    int nparked;
    readykey *ready;
    int nready, cap_ready;
    watch *watches;
    int nwatches, cap_watches;
    joblist released; /* answered by FORGET/UNBLOCK, handed out by blockServeReady */
} b;

void joblistPush(joblist *l, wjob *j) {
    j->next = NULL;
    if (l->tail) l->tail->next = j;
    else l->head = j;
    l->tail = j;
}

/* ---- the request side -------------------------------------------------- */

bool requestBlock(request *r, int first_key, int nkeys, long long deadline_ms, bool null_bulk) {
    if (r->in_multi) {
        if (null_bulk) addReplyNull(r);
        else addReplyNullArray(r);
        return false;
    }
    struct block_state *bs = r->block;
    if (!bs) {
        bs = calloc(1, sizeof(*bs));
        bs->keys = calloc((size_t)nkeys, sizeof(bkey));
        bs->nkeys = nkeys;
        for (int i = 0; i < nkeys; i++)
            bs->keys[i] = (bkey){r->db, r->argv[first_key + i], r->argvlen[first_key + i]};
        bs->deadline = deadline_ms;
        bs->null_bulk = null_bulk;
        r->block = bs;
    }
    bs->blocked = true;
    return true;
}

bool getBlockingTimeout(request *r, int idx, long long *deadline_ms) {
    long double secs;
    if (!string2ld(r->argv[idx], r->argvlen[idx], &secs)) {
        addReplyError(r, "ERR timeout is not a float or out of range");
        return false;
    }
    if (secs < 0) {
        addReplyError(r, "ERR timeout is negative");
        return false;
    }
    if (isinf(secs) || secs * 1000.0L > (long double)(LLONG_MAX - r->now_ms)) {
        addReplyError(r, "ERR timeout is out of range");
        return false;
    }
    long long ms = (long long)ceill(secs * 1000.0L);
    *deadline_ms = ms > 0 ? r->now_ms + ms : 0;
    return true;
}

void requestBlockWake(request *r, long long wake_at_ms) {
    if (r->block) r->block->wake_at = wake_at_ms;
}

static void blockStateFree(request *r) {
    if (!r->block) return;
    free(r->block->keys);
    free(r->block);
    r->block = NULL;
}

/* ---- parking ----------------------------------------------------------- */

static void unpark(wjob *j) {
    if (j->prev) j->prev->next = j->next;
    else b.parked_head = j->next;
    if (j->next) j->next->prev = j->prev;
    else b.parked_tail = j->prev;
    j->next = j->prev = NULL;
    b.nparked--;
}

bool blockParkIfBlocked(wjob *j) {
    struct block_state *bs = j->req.block;
    if (!bs || !bs->blocked) {
        blockStateFree(&j->req);
        return false;
    }
    j->next = NULL;
    j->prev = b.parked_tail;
    if (b.parked_tail) b.parked_tail->next = j;
    else b.parked_head = j;
    b.parked_tail = j;
    b.nparked++;
    return true;
}

static void finishWithTimeout(wjob *j, joblist *done) {
    request *r = &j->req;
    r->out = &j->out;
    replyReset(&j->out);
    if (r->block->null_bulk) addReplyNull(r);
    else addReplyNullArray(r);
    blockStateFree(r);
    joblistPush(done, j);
}

static bool waitsOn(wjob *j, const readykey *k) {
    struct block_state *bs = j->req.block;
    for (int i = 0; i < bs->nkeys; i++)
        if (bs->keys[i].db == k->db && bs->keys[i].klen == k->klen && memcmp(bs->keys[i].key, k->key, k->klen) == 0)
            return true;
    return false;
}

void blockServeReady(void (*run)(wjob *j), joblist *done) {
    while (b.released.head) {
        wjob *j = b.released.head;
        b.released.head = j->next;
        if (!b.released.head) b.released.tail = NULL;
        joblistPush(done, j);
    }
    /* Serving a waiter can touch more keys (BLMOVE pushes), so drain until
     * no new ready key appears. */
    for (int i = 0; i < b.nready; i++) {
        readykey k = b.ready[i];
        wjob *next;
        for (wjob *j = b.parked_head; j; j = next) {
            next = j->next;
            if (!waitsOn(j, &k)) continue;
            j->req.block->blocked = false;
            replyReset(&j->out);
            run(j);
            /* Still nothing: it keeps its place, and the waiters behind it
             * on this key would find nothing either. */
            if (j->req.block && j->req.block->blocked) break;
            unpark(j);
            joblistPush(done, j);
        }
    }
    for (int i = 0; i < b.nready; i++) free(b.ready[i].key);
    b.nready = 0;
}

bool blockHasReady(void) { return b.nready > 0 || b.released.head != NULL; }

void blockExpire(long long now, joblist *done) {
    wjob *next;
    for (wjob *j = b.parked_head; j; j = next) {
        next = j->next;
        long long d = j->req.block->deadline;
        if (d && d <= now) {
            unpark(j);
            finishWithTimeout(j, done);
        }
    }
}

long long blockNextDeadline(void) {
    long long min = 0;
    for (wjob *j = b.parked_head; j; j = j->next) {
        long long d = j->req.block->deadline, w = j->req.block->wake_at;
        if (d && (!min || d < min)) min = d;
        if (w && (!min || w < min)) min = w;
    }
    return min;
}

bool blockWakeDuePending(long long now) {
    for (wjob *j = b.parked_head; j; j = j->next)
        if (j->req.block->wake_at && j->req.block->wake_at <= now) return true;
    return false;
}

void blockWakeDue(long long now, void (*run)(wjob *j), joblist *done) {
    wjob *next;
    for (wjob *j = b.parked_head; j; j = next) {
        next = j->next;
        struct block_state *bs = j->req.block;
        if (!bs->wake_at || bs->wake_at > now) continue;
        bs->wake_at = 0;
        bs->blocked = false;
        replyReset(&j->out);
        run(j);
        if (j->req.block && j->req.block->blocked) continue;
        unpark(j);
        joblistPush(done, j);
    }
}

void blockRelease(request *r) { blockStateFree(r); }

bool blockWaitsStill(const request *r) { return r->block && r->block->blocked; }

void blockUndoAttempt(joblist *done) {
    wjob *next;
    for (wjob *j = b.parked_head; j; j = next) {
        next = j->next;
        if (j->in_batch) unpark(j);
    }
    /* `done` keeps only requests answered by FORGET/UNBLOCK and waiters whose
     * failure lost the attempt (lost_txn: their answer, an error, stands);
     * the other waiters the attempt served go back to the head of the parked
     * list in their order; batch members will run again. */
    wjob *served[1024];
    int n = 0;
    joblist keep = {NULL, NULL};
    for (wjob *j = done->head; j; j = next) {
        next = j->next;
        if (j->in_batch) continue;
        if (j->req.block && !j->lost_txn && n < 1024) served[n++] = j;
        else joblistPush(&keep, j);
    }
    *done = keep;
    for (int i = n - 1; i >= 0; i--) {
        wjob *j = served[i];
        j->req.block->blocked = true;
        replyReset(&j->out);
        j->prev = NULL;
        j->next = b.parked_head;
        if (b.parked_head) b.parked_head->prev = j;
        else b.parked_tail = j;
        b.parked_head = j;
        b.nparked++;
    }
    for (int i = 0; i < b.nready; i++) free(b.ready[i].key);
    b.nready = 0;
}

void blockForgetClient(uint64_t client_id) {
    joblist *done = &b.released;
    wjob *next;
    for (wjob *j = b.parked_head; j; j = next) {
        next = j->next;
        if (j->req.client_id != client_id) continue;
        unpark(j);
        finishWithTimeout(j, done);
    }
    watchClear(client_id);
}

bool blockUnblockClient(uint64_t client_id, bool with_error) {
    joblist *done = &b.released;
    for (wjob *j = b.parked_head; j; j = j->next) {
        if (j->req.client_id != client_id) continue;
        unpark(j);
        if (with_error) {
            replyReset(&j->out);
            j->req.out = &j->out;
            addReplyError(&j->req, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
            blockStateFree(&j->req);
            joblistPush(done, j);
        } else {
            finishWithTimeout(j, done);
        }
        return true;
    }
    return false;
}

/* ---- key changes ------------------------------------------------------- */

static bool keyEq(int db1, const char *k1, size_t l1, int db2, const char *k2, size_t l2) {
    return db1 == db2 && l1 == l2 && memcmp(k1, k2, l1) == 0;
}

void keyTouched(request *r, int db, const char *key, size_t klen) {
    (void)r;
    readCacheNoteTouched(db, key, klen);
    for (int i = 0; i < b.nwatches; i++)
        if (keyEq(b.watches[i].db, b.watches[i].key, b.watches[i].klen, db, key, klen)) b.watches[i].dirty = true;
    if (b.nparked == 0) return;
    for (int i = 0; i < b.nready; i++)
        if (keyEq(b.ready[i].db, b.ready[i].key, b.ready[i].klen, db, key, klen)) return;
    if (b.nready == b.cap_ready) {
        b.cap_ready = b.cap_ready ? b.cap_ready * 2 : 16;
        b.ready = realloc(b.ready, sizeof(readykey) * (size_t)b.cap_ready);
    }
    char *copy = malloc(klen ? klen : 1);
    memcpy(copy, key, klen);
    b.ready[b.nready++] = (readykey){db, copy, klen};
}

/* FLUSHDB/FLUSHALL, called before the keys go: like Redis, only watched keys
 * that exist are invalidated. */
void keyTouchedDb(request *r, int db) {
    (void)db;
    readCacheNoteFlush();
    for (int i = 0; i < b.nwatches; i++) {
        watch *w = &b.watches[i];
        keyrow row;
        if ((db < 0 || w->db == db) && keyLookup(r, w->db, w->key, w->klen, &row)) w->dirty = true;
    }
}

/* ---- WATCH ------------------------------------------------------------- */

void watchAdd(request *r, int db, const char *key, size_t klen, long long expires_at) {
    for (int i = 0; i < b.nwatches; i++)
        if (b.watches[i].client_id == r->client_id && keyEq(b.watches[i].db, b.watches[i].key, b.watches[i].klen, db, key, klen))
            return;
    if (b.nwatches == b.cap_watches) {
        b.cap_watches = b.cap_watches ? b.cap_watches * 2 : 16;
        b.watches = realloc(b.watches, sizeof(watch) * (size_t)b.cap_watches);
    }
    char *copy = malloc(klen ? klen : 1);
    memcpy(copy, key, klen);
    b.watches[b.nwatches++] = (watch){r->client_id, db, copy, klen, expires_at, false};
}

void watchClear(uint64_t client_id) {
    int j = 0;
    for (int i = 0; i < b.nwatches; i++) {
        if (b.watches[i].client_id == client_id) free(b.watches[i].key);
        else b.watches[j++] = b.watches[i];
    }
    b.nwatches = j;
}

bool watchDirty(uint64_t client_id, long long now) {
    for (int i = 0; i < b.nwatches; i++) {
        watch *w = &b.watches[i];
        if (w->client_id != client_id) continue;
        if (w->dirty || (w->expires_at && w->expires_at <= now)) return true;
    }
    return false;
}
