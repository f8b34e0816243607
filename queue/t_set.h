/*
 * t_set.h — helpers shared by the set and sorted-set files (t_set.c,
 * t_zset.c, t_zset_ops.c): the member hash sets are keyed by, scan
 * arguments, and an in-memory member map for the multi-key algebra (SUNION,
 * ZUNION, ...). Keys are looked up, created and counted through the core's
 * keyrow helpers (server.h): a key's element count is keyrow.count.
 */
#ifndef SOLIDIS_T_SET_H
#define SOLIDIS_T_SET_H

#include "queue_internal.h"

/* The 63-bit hash (never 0) that orders a set's members on disk. */
int64_t setMemberHash(const void *p, size_t n);
/* Is `m` a member of the set with this id? -1 on storage error. */
int setHasMember(request *r, int64_t id, const void *m, size_t len);

/* SSCAN/ZSCAN options: [MATCH pattern] [COUNT count] from argv[3] (the
 * cursor is parseScanCursor's, server.h). */
bool szParseScanOptions(request *r, long long *count, const char **pat, size_t *plen);

/* ---- member map ------------------------------------------------------- */

typedef struct szentry {
    char *m;
    size_t len;
    double score;
    uint64_t h;
} szentry;

typedef struct szmap {
    szentry *e;       /* entries in insertion order */
    size_t n, cap;
    uint32_t *slots;  /* open addressing: entry index + 1, 0 = empty */
    size_t nslots;
} szmap;

/* Find or add a member; *added tells which. The member bytes are copied. */
szentry *szmapAdd(szmap *m, const void *p, size_t len, bool *added);
szentry *szmapFind(const szmap *m, const void *p, size_t len);
void szmapFree(szmap *m);
/* Sort entries by (score, member bytes) the way sorted sets order them. The
 * map's slots are dropped (lookups no longer work afterwards). */
void szmapSortByScore(szmap *m);

/* ---- sorted sets (t_zset.c, t_zset_ops.c) ------------------------------ */

/* One element of a sorted-set reply: RESP3 pairs [member, double] when
 * withscores, RESP2 a flat member, score. */
void zsetEmitEntry(request *r, const void *m, size_t len, double score, bool withscores);
/* The score of member m of the sorted set with this id: 1 found, 0 not, -1
 * after a storage error. */
int zsetScore(request *r, int64_t id, const void *m, size_t len, double *score);
/* The reply header for n such elements. */
void zsetEmitHeader(request *r, long n, bool withscores);
/* Replace key argv[dstidx] with a sorted set of m's entries (deleting it when
 * m is empty) and reply the element count. */
bool zsetStoreEntries(request *r, int dstidx, const szmap *m);
/* Registers ZUNION/ZINTER/ZDIFF(STORE) and ZINTERCARD (t_zset_ops.c). */
void zsetOpsRegister(void);

#endif
