/*
 * cache_internal.h — shared between the cache module's files only.
 */
#ifndef SOLIDIS_CACHE_INTERNAL_H
#define SOLIDIS_CACHE_INTERNAL_H

#include "../server/server.h"

void stringRegister(void);
void keyspaceRegister(void);
void expireRegister(void);
void hashRegister(void);

/* Parse an expiry argument the way SET/EXPIRE/GETEX do; unit_ms: value is in
 * ms; absolute: value is a unix time. Replies the error and returns false. */
bool parseExpireTime(request *r, int idx, bool unit_ms, bool absolute, const char *cmdname, long long *at_ms);


#endif
