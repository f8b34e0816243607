/*
 * cache.c — module entry point: registers the string, keyspace and expiry
 * commands and the active-expiry task.
 */
#include "cache.h"
#include "cache_internal.h"

__attribute__((weak)) void hashRegister(void) {}

void cacheInit(void) {
    stringRegister();
    keyspaceRegister();
    expireRegister();
    hashRegister();
}
