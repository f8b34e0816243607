/* target_s3.c — placeholder until the S3 backend lands. */
#include "repl_internal.h"

target *targetOpenS3(const char *url, const target_creds *creds, char *err, size_t errlen) {
    (void)creds;
    snprintf(err, errlen, "s3:// replicas are not built yet: %s", url);
    return NULL;
}
