/* tool.c — placeholder for bin/solidis (restore, replicas). */
#include "repl_internal.h"

int main(int argc, char **argv) {
    (void)argc; (void)argv;
    fprintf(stderr, "solidis: not built yet\n");
    return 1;
}
