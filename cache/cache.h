/*
 * cache.h — the cache module's seam: strings, the keyspace, TTLs and expiry.
 *
 * cacheInit() registers the module's commands with the server's table and
 * its background work (active expiry) with the writer thread.
 */
#ifndef SOLIDIS_CACHE_H
#define SOLIDIS_CACHE_H

void cacheInit(void);

#endif
