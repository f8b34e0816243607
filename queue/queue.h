/*
 * queue.h — the queue module's seam: lists (and blocking pops), sets and
 * sorted sets — the types job libraries build their queues from.
 *
 * queueInit() registers the module's schema and commands.
 */
#ifndef SOLIDIS_QUEUE_H
#define SOLIDIS_QUEUE_H

void queueInit(void);

#endif
