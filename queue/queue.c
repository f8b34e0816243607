/*
 * queue.c — module entry point: registers the list, set and sorted-set
 * schema and commands.
 */
#include "queue.h"
#include "queue_internal.h"


void queueInit(void) {
    listRegister();
    setRegister();
    zsetRegister();
    jobRegister();
}
