/*
 * walbuf.h — the writer connection's VFS (server-internal): one write per
 * commit for the WAL instead of two per frame. See walbuf.c.
 */
#ifndef SOLIDIS_WALBUF_H
#define SOLIDIS_WALBUF_H

#include <stdbool.h>

/* Register the VFS (once) and return its name for sqlite3_open_v2, or NULL
 * when it cannot be registered (the caller then uses the default VFS). */
const char *walbufVfs(void);
/* appendfsync always: a commit's WAL sync reaches the disk. Otherwise the
 * commit only hands its frames to the kernel. Any thread. */
void walbufSetCommitSync(bool on);
/* How many times SQLite's syncs of the WAL reached the disk. Any thread. */
long long walbufSyncs(void);

#endif
