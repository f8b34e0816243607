/*
 * pcache.c — SQLite's page cache, minus one full scan per commit.
 *
 * Why this file exists
 *   At the end of every write transaction SQLite asks the page cache to drop
 *   the pages past the end of the database (xTruncate). SQLite's default
 *   cache ("pcache1") remembers only the largest page number it has ever
 *   held since its last truncate, not which pages it holds now, and when
 *   that number lies far past the end it walks its whole hash table: one
 *   bucket per cached page, tens of thousands for the writer's 128 MiB cache.
 *   A B-tree balance that has to reorder its new pages parks one of them
 *   for a moment under a scratch page number — the lock-byte page, 1 GiB
 *   into the file, far past the end of any smaller database — and moves it
 *   back at once. Every such commit then paid the full walk for nothing:
 *   a quarter of the writer thread's time under SADD, a fifth under the job
 *   queue's load, 6–9% under ZADD and HSET.
 *
 * What it does
 *   It wraps the default cache's methods and keeps, per cache, what the
 *   truncate needs to know: an upper bound of the page numbers that can be
 *   in the cache (`max_key`), not counting the scratch number, and how many
 *   pages sit under the scratch number right now (`parked`). A truncate
 *   that cannot find anything — nothing parked, and `max_key` below the
 *   limit — is answered here without calling the default cache. Every other
 *   call goes through unchanged.
 *
 * Invariants
 *   - Every page the cache holds has a key ≤ max_key, or the scratch key
 *     while parked > 0. Keys enter the cache only through xFetch (create)
 *     and xRekey, and both raise max_key or count the parked page; pages
 *     leaving (eviction, discard) can only make the bound looser, never wrong.
 *   - A page whose key becomes the scratch key while the cache was not told
 *     by xRekey (a plain fetch of that page number) raises max_key instead.
 *   - After a real truncate to `limit`, nothing at or past `limit` is left:
 *     max_key drops to limit - 1 and, if limit ≤ the scratch key, parked to 0.
 *   So a skipped truncate is one that would have removed nothing, and the
 *   default cache only ever sees truncates it would also have seen before.
 *
 * Threads: SQLite calls each cache from the thread that owns its
 * connection; the counters for INFO and tests are atomics.
 */
#include "store.h"
#include <sqlite3.h>
#include <stdlib.h>

/* SQLite's lock-byte page starts at 1 GiB (PENDING_BYTE); the B-tree
 * balance uses its page number as the scratch number. */
#define LOCK_BYTE_OFFSET 0x40000000u

typedef struct wcache {
    sqlite3_pcache *inner;
    unsigned scratch_key;
    unsigned max_key;
    int parked;
} wcache;

static sqlite3_pcache_methods2 inner_methods;
static long long truncates_skipped, truncates_passed; /* atomics */

static int wInit(void *arg) { return inner_methods.xInit ? inner_methods.xInit(arg) : SQLITE_OK; }

static void wShutdown(void *arg) {
    if (inner_methods.xShutdown) inner_methods.xShutdown(arg);
}

static sqlite3_pcache *wCreate(int page_size, int extra, int purgeable) {
    wcache *w = calloc(1, sizeof(*w));
    if (!w) return NULL;
    w->inner = inner_methods.xCreate(page_size, extra, purgeable);
    if (!w->inner) {
        free(w);
        return NULL;
    }
    w->scratch_key = page_size > 0 ? LOCK_BYTE_OFFSET / (unsigned)page_size + 1 : 0;
    return (sqlite3_pcache *)w;
}

static void wCachesize(sqlite3_pcache *p, int n) { inner_methods.xCachesize(((wcache *)p)->inner, n); }

static int wPagecount(sqlite3_pcache *p) { return inner_methods.xPagecount(((wcache *)p)->inner); }

static sqlite3_pcache_page *wFetch(sqlite3_pcache *p, unsigned key, int create) {
    wcache *w = (wcache *)p;
    sqlite3_pcache_page *pg = inner_methods.xFetch(w->inner, key, create);
    /* A parked page looked up under the scratch key is already counted. */
    if (pg && key > w->max_key && !(key == w->scratch_key && w->parked > 0)) w->max_key = key;
    return pg;
}

static void wUnpin(sqlite3_pcache *p, sqlite3_pcache_page *pg, int discard) {
    inner_methods.xUnpin(((wcache *)p)->inner, pg, discard);
}

static void wRekey(sqlite3_pcache *p, sqlite3_pcache_page *pg, unsigned old_key, unsigned new_key) {
    wcache *w = (wcache *)p;
    inner_methods.xRekey(w->inner, pg, old_key, new_key);
    if (old_key == w->scratch_key && w->parked > 0) w->parked--;
    if (new_key == w->scratch_key) w->parked++;
    else if (new_key > w->max_key) w->max_key = new_key;
}

static void wTruncate(sqlite3_pcache *p, unsigned limit) {
    wcache *w = (wcache *)p;
    if (w->parked == 0 && w->max_key < limit) {
        __atomic_add_fetch(&truncates_skipped, 1, __ATOMIC_RELAXED);
        return;
    }
    __atomic_add_fetch(&truncates_passed, 1, __ATOMIC_RELAXED);
    inner_methods.xTruncate(w->inner, limit);
    if (w->max_key >= limit) w->max_key = limit ? limit - 1 : 0;
    if (limit <= w->scratch_key) w->parked = 0;
}

static void wDestroy(sqlite3_pcache *p) {
    wcache *w = (wcache *)p;
    inner_methods.xDestroy(w->inner);
    free(w);
}

static void wShrink(sqlite3_pcache *p) { inner_methods.xShrink(((wcache *)p)->inner); }

/* Main thread, before SQLite is initialized (sqlite3_config's rule). */
bool storeInstallPageCache(void) {
    if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &inner_methods) != SQLITE_OK || !inner_methods.xCreate) return false;
    static sqlite3_pcache_methods2 wrapped;
    wrapped = (sqlite3_pcache_methods2){
        .iVersion = 1,
        .pArg = inner_methods.pArg,
        .xInit = wInit,
        .xShutdown = wShutdown,
        .xCreate = wCreate,
        .xCachesize = wCachesize,
        .xPagecount = wPagecount,
        .xFetch = wFetch,
        .xUnpin = wUnpin,
        .xRekey = wRekey,
        .xTruncate = wTruncate,
        .xDestroy = wDestroy,
        .xShrink = wShrink,
    };
    return sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapped) == SQLITE_OK;
}

void storePageCacheStats(long long *skipped, long long *passed) {
    *skipped = __atomic_load_n(&truncates_skipped, __ATOMIC_RELAXED);
    *passed = __atomic_load_n(&truncates_passed, __ATOMIC_RELAXED);
}
