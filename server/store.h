/*
 * store.h — SQLite connections (server-internal).
 *
 * A store is one SQLite connection plus its cache of prepared statements. It
 * is owned by exactly one thread: the writer thread owns the only read-write
 * store; the net thread owns a read store (query_only) for read commands.
 */
#ifndef SOLIDIS_STORE_H
#define SOLIDIS_STORE_H

#include "server.h"

typedef struct store store;

/* Open (creating the file and schema when `writer`). NULL + message on failure. */
store *storeOpen(const char *path, bool writer, int synchronous_full, char *err, size_t errlen);
void storeClose(store *st);
/* Whether a commit waits for the disk (appendfsync always); SQLite's code. */
int storeSetCommitSync(store *st, bool on);
/* Writer store: syncs of the WAL that SQLite itself made reach the disk
 * (each commit's with appendfsync always; checkpoints). Any thread. */
long long storeWalSyncs(store *st);
/* Run one SQL statement with no result rows (BEGIN, COMMIT, PRAGMA …). */
int storeExec(store *st, const char *sql);
/* Main thread, once, before any store is opened: install the page-cache
 * wrapper of pcache.c (false if SQLite refused it; everything still works). */
bool storeInstallPageCache(void);
/* End-of-transaction cache truncates answered by the wrapper / passed on. */
void storePageCacheStats(long long *skipped, long long *passed);
/* Count keys and keys with an expiry in one database (for INFO, DBSIZE). */
bool storeCountKeys(store *st, int db, long long *keys, long long *expires);

#endif
