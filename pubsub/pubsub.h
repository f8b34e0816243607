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

struct request;
/* CLIENT PUBSUB-IDS ON|OFF (the core's CLIENT table routes it here): live
 * message / pmessage frames to this client carry their log id, the id PUBSUB
 * REPLAY reports and takes as since-id, as one more trailing element. */
void clientPubsubIdsCommand(struct request *r);

#endif
