/*
 * readcache.h — the net thread's string cache (server-internal API; the
 * read side is exported to modules through server.h).
 */
#ifndef SOLIDIS_READCACHE_H
#define SOLIDIS_READCACHE_H

#include <stdbool.h>
#include <stddef.h>

/* Writer thread. */
void readCacheNoteTouched(int db, const char *key, size_t klen);
void readCacheNoteFlush(void);
/* Make the changes of the transaction just committed visible to the net
 * thread; returns true if there were any. Call before handing over replies. */
bool readCachePublish(void);

/* Net thread: apply published changes; before delivering replies. */
void readCacheApply(void);
void readCacheStats(long long *hits, long long *misses, long long *bytes, long long *count);

#endif
