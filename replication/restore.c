/* restore.c — placeholder until restore lands. */
#include "repl_internal.h"

int replRestore(target *t, const restore_opts *opts, char *err, size_t errlen) {
    (void)t; (void)opts;
    snprintf(err, errlen, "restore is not built yet");
    return -1;
}

int replListReplicas(target *t, FILE *out, char *err, size_t errlen) {
    (void)t; (void)out;
    snprintf(err, errlen, "not built yet");
    return -1;
}
