/*
 * block.c — blocking commands and WATCH, on the writer thread.
 * (Being implemented; the API is in server.h.)
 */
#include "server.h"
#include <math.h>

void keyTouched(request *r, int db, const char *key, size_t klen) {
    (void)r; (void)db; (void)key; (void)klen;
}

void keyTouchedDb(request *r, int db) { (void)r; (void)db; }

void requestBlock(request *r, const int *key_idx, int nkeys, long long deadline_ms, bool null_bulk) {
    (void)key_idx; (void)nkeys; (void)deadline_ms;
    if (null_bulk) addReplyNull(r);
    else addReplyNullArray(r);
}

bool getBlockingTimeout(request *r, int idx, long long *deadline_ms) {
    long double secs;
    if (!string2ld(r->argv[idx], r->argvlen[idx], &secs) || isinf(secs)) {
        addReplyError(r, "ERR timeout is not a float or out of range");
        return false;
    }
    if (secs < 0) {
        addReplyError(r, "ERR timeout is negative");
        return false;
    }
    long long ms = (long long)(secs * 1000.0L);
    *deadline_ms = ms > 0 ? r->now_ms + ms : (secs > 0 ? r->now_ms + 1 : 0);
    return true;
}
