/*
 * queue.c — module entry point: registers the list, set and sorted-set
 * schema and commands.
 */
#include "queue.h"
#include "queue_internal.h"

__attribute__((weak)) void listRegister(void) {}
__attribute__((weak)) void setRegister(void) {}
__attribute__((weak)) void zsetRegister(void) {}
__attribute__((weak)) void jobRegister(void) {}

void queueInit(void) {
    listRegister();
    setRegister();
    zsetRegister();
    jobRegister();
}
