/*
 * pubsub.h — the pub/sub module's seam: Redis-compatible Pub/Sub
 * (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UN- forms, PUBLISH, SPUBLISH,
 * PUBSUB) on top of a durable, time-bounded message log (PUBSUB REPLAY).
 *
 * pubsubInit() registers the module's schema, commands, client hook and the
 * retention task. Call it before the server starts.
 */
#ifndef SOLIDIS_PUBSUB_H
#define SOLIDIS_PUBSUB_H

void pubsubInit(void);

#endif
