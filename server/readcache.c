/*
 * readcache.c — a bounded cache of string values on the net thread, in front
 * of its read connection, so a hot GET costs a hash lookup instead of a
 * SQLite b-tree search.
 *
 * Thread ownership
 *   - net thread: the cache itself (table, LRU list, byte count).
 *   - writer thread: `pending`, the keys changed by the transaction it is
 *     building (fed by keyTouched).
 *   - shared under `lock`: `published`, keys of committed transactions that
 *     the net thread has not applied yet.
 *
 * Invariant: a commit's changed keys are published before its replies are
 * handed to the net thread, and the net thread applies published
 * invalidations before it delivers any reply (deliverDone). So no client can
 * learn of a write and then read an older cached value: an entry filled from
 * a snapshot older than a commit is dropped before that commit is visible to
 * anyone. Only strings and "no such key" are cached; a value is cached with
 * its expiry time and stops being served the moment it expires.
 *
 * Wire format of the change lists: repeated [int32 db][uint32 len][len bytes];
 * db -1 means "forget everything" (FLUSHDB/FLUSHALL).
 */
#include "server.h"
#include "readcache.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX_BYTES (64LL * 1024 * 1024)
#define CACHE_MAX_VALUE 16384

typedef struct entry {
    struct entry *hnext;          /* bucket chain */
    struct entry *lprev, *lnext;  /* LRU list, most recent first */
    uint64_t hash;
    int db;
    bool missing;                 /* cached "no such key" */
    long long expires_at;
    uint32_t klen, vlen;
    char data[];                  /* key bytes, then value bytes */
} entry;

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static struct {
    entry **buckets;
    size_t nbuckets, count;
    long long bytes;
    entry *lru_head, *lru_tail;
    long long hits, misses;
    buf pending;                  /* writer thread */
    buf published;                /* under lock */
    pthread_mutex_t lock;
} rc = {.lock = PTHREAD_MUTEX_INITIALIZER};

static uint64_t hashKey(int db, const char *key, size_t klen) {
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)(unsigned)db;
    for (size_t i = 0; i < klen; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static void bufAppend(buf *b, const void *p, size_t n) {
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + n) cap *= 2;
        b->p = realloc(b->p, cap);
        if (!b->p) abort();
        b->cap = cap;
    }
    memcpy(b->p + b->len, p, n);
    b->len += n;
}

/* ---- net thread: the cache --------------------------------------------- */

static entry **slotFor(uint64_t h, int db, const char *key, size_t klen) {
    if (!rc.buckets) return NULL;
    entry **e = &rc.buckets[h & (rc.nbuckets - 1)];
    while (*e && !((*e)->hash == h && (*e)->db == db && (*e)->klen == klen && memcmp((*e)->data, key, klen) == 0))
        e = &(*e)->hnext;
    return e;
}

static void lruUnlink(entry *e) {
    if (e->lprev) e->lprev->lnext = e->lnext;
    else rc.lru_head = e->lnext;
    if (e->lnext) e->lnext->lprev = e->lprev;
    else rc.lru_tail = e->lprev;
}

static void lruPushFront(entry *e) {
    e->lprev = NULL;
    e->lnext = rc.lru_head;
    if (rc.lru_head) rc.lru_head->lprev = e;
    else rc.lru_tail = e;
    rc.lru_head = e;
}

static void removeAt(entry **slot) {
    entry *e = *slot;
    *slot = e->hnext;
    lruUnlink(e);
    rc.bytes -= (long long)(sizeof(*e) + e->klen + e->vlen);
    rc.count--;
    free(e);
}

static void forget(int db, const char *key, size_t klen) {
    entry **slot = slotFor(hashKey(db, key, klen), db, key, klen);
    if (slot && *slot) removeAt(slot);
}

static void forgetAll(void) {
    while (rc.lru_head) {
        entry *e = rc.lru_head;
        forget(e->db, e->data, e->klen);
    }
}

int readCacheGet(int db, const char *key, size_t klen, long long now, const char **val, size_t *len) {
    entry **slot = slotFor(hashKey(db, key, klen), db, key, klen);
    entry *e = slot ? *slot : NULL;
    if (!e || (e->expires_at && e->expires_at <= now)) {
        rc.misses++;
        return READ_CACHE_MISS;
    }
    rc.hits++;
    if (rc.lru_head != e) {
        lruUnlink(e);
        lruPushFront(e);
    }
    if (e->missing) return READ_CACHE_NO_KEY;
    *val = e->data + e->klen;
    *len = e->vlen;
    return READ_CACHE_HIT;
}

void readCachePut(int db, const char *key, size_t klen, const char *val, size_t vlen, long long expires_at) {
    if (vlen > CACHE_MAX_VALUE || klen > CACHE_MAX_VALUE) return;
    if (!rc.buckets) {
        rc.nbuckets = 1024;
        rc.buckets = calloc(rc.nbuckets, sizeof(entry *));
    }
    uint64_t h = hashKey(db, key, klen);
    entry **slot = slotFor(h, db, key, klen);
    if (*slot) removeAt(slot);
    entry *e = malloc(sizeof(*e) + klen + vlen);
    if (!e) return;
    e->hash = h;
    e->db = db;
    e->missing = val == NULL;
    e->expires_at = expires_at;
    e->klen = (uint32_t)klen;
    e->vlen = val ? (uint32_t)vlen : 0;
    memcpy(e->data, key, klen);
    if (val) memcpy(e->data + klen, val, vlen);
    slot = slotFor(h, db, key, klen);
    e->hnext = NULL;
    *slot = e;
    lruPushFront(e);
    rc.count++;
    rc.bytes += (long long)(sizeof(*e) + klen + e->vlen);
    while (rc.bytes > CACHE_MAX_BYTES && rc.lru_tail) forget(rc.lru_tail->db, rc.lru_tail->data, rc.lru_tail->klen);
    if (rc.count > rc.nbuckets * 2) { /* grow: rehash every entry */
        size_t n = rc.nbuckets * 4;
        entry **nb = calloc(n, sizeof(entry *));
        if (!nb) return;
        for (size_t i = 0; i < rc.nbuckets; i++) {
            entry *x = rc.buckets[i], *next;
            for (; x; x = next) {
                next = x->hnext;
                x->hnext = nb[x->hash & (n - 1)];
                nb[x->hash & (n - 1)] = x;
            }
        }
        free(rc.buckets);
        rc.buckets = nb;
        rc.nbuckets = n;
    }
}

void readCacheApply(void) {
    pthread_mutex_lock(&rc.lock);
    buf b = rc.published;
    rc.published = (buf){NULL, 0, 0};
    pthread_mutex_unlock(&rc.lock);
    for (size_t off = 0; off + 8 <= b.len;) {
        int32_t db;
        uint32_t klen;
        memcpy(&db, b.p + off, 4);
        memcpy(&klen, b.p + off + 4, 4);
        if (db < 0) forgetAll();
        else forget(db, b.p + off + 8, klen);
        off += 8 + klen;
    }
    free(b.p);
}

void readCacheStats(long long *hits, long long *misses, long long *bytes, long long *count) {
    *hits = rc.hits;
    *misses = rc.misses;
    *bytes = rc.bytes;
    *count = (long long)rc.count;
}

/* ---- writer thread: what changed --------------------------------------- */

void readCacheNoteTouched(int db, const char *key, size_t klen) {
    int32_t d = db;
    uint32_t l = (uint32_t)klen;
    bufAppend(&rc.pending, &d, 4);
    bufAppend(&rc.pending, &l, 4);
    bufAppend(&rc.pending, key, klen);
}

void readCacheNoteFlush(void) { readCacheNoteTouched(-1, "", 0); }

bool readCachePublish(void) {
    if (!rc.pending.len) return false;
    pthread_mutex_lock(&rc.lock);
    bufAppend(&rc.published, rc.pending.p, rc.pending.len);
    pthread_mutex_unlock(&rc.lock);
    rc.pending.len = 0;
    return true;
}
