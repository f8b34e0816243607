/*
 * queue.c — module entry point: registers the list, set, sorted-set and
 * stream schema and commands.
 */
#include "queue.h"
#include "queue_internal.h"


void queueInit(void) {
    listRegister();
    setRegister();
    zsetRegister();
    streamRegister();
    jobRegister();
}
