/*
 * cache.c — module entry point: registers the string, keyspace and expiry
 * commands and the active-expiry task.
 */
#include "cache.h"
#include "cache_internal.h"

void cacheInit(void) {
    stringRegister();
    keyspaceRegister();
    expireRegister();
    hashRegister();
}
