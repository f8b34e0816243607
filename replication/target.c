/*
 * target.c — choosing a replica target by URL.
 *
 * Owns nothing but the dispatch: file:// goes to target_file.c, s3:// to
 * target_s3.c. Opening never does I/O, so a replica that is unreachable at
 * start still gets a thread that retries it.
 */
#include "repl_internal.h"
#include <stdlib.h>
#include <string.h>

target *targetOpen(const char *url, const target_creds *creds, char *err, size_t errlen) {
    if (strncmp(url, "file://", 7) == 0) {
        const char *path = url + 7;
        if (path[0] != '/') {
            snprintf(err, errlen, "file:// replica needs an absolute path: %s", url);
            return NULL;
        }
        target *t = targetOpenFile(path, err, errlen);
        if (t && !t->url) t->url = strdup(url);
        return t;
    }
    if (strncmp(url, "s3://", 5) == 0) {
        target *t = targetOpenS3(url, creds, err, errlen);
        if (t && !t->url) t->url = strdup(url);
        return t;
    }
    snprintf(err, errlen, "unsupported replica URL (want file:///dir or s3://bucket/prefix): %s", url);
    return NULL;
}

void targetClose(target *t) {
    if (!t) return;
    char *url = t->url;
    t->ops->close(t);
    free(url);
}
