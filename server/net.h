/*
 * net.h — clients and the network loop (server-internal).
 *
 * Thread ownership: everything here belongs to the net thread. The writer
 * thread only ever holds a `client *` as an opaque token inside a wjob.
 */
#ifndef SOLIDIS_NET_H
#define SOLIDIS_NET_H

#include "server.h"
#include <hiredis/read.h>

struct event;
struct event_base;

enum { REPLY_ON = 0, REPLY_OFF, REPLY_SKIP_NEXT, REPLY_SKIP };

enum {
    CLIENT_CLOSE_AFTER_REPLY = 1 << 0, /* QUIT, protocol error */
    CLIENT_CLOSED = 1 << 1,            /* socket gone; freed when inflight == 0 */
    CLIENT_PAUSED = 1 << 2,            /* waits for its writes before the next command */
    CLIENT_NO_EVICT = 1 << 3,
    CLIENT_UNIX = 1 << 4,
    CLIENT_WANT_WRITE = 1 << 5,        /* write event armed: output waits for the socket */
    CLIENT_READ_OFF = 1 << 6,          /* read event disarmed */
};

typedef struct client {
    uint64_t id;
    int fd;
    struct event *rev, *wev;  /* read always armed unless paused; write only while output waits */
    size_t out_sent;          /* bytes of `out` already written to the socket */
    redisReader *reader;      /* parses a window of the input (proto.c) */
    char *qbuf;               /* the rest of the input, an sds (proto.c); NULL when empty */
    size_t qpos;              /* bytes of qbuf already given to the reader */
    int flags;
    int db, resp;
    bool authenticated;
    int reply_mode;
    char *name, *lib_name, *lib_ver;
    char addr[64], laddr[64];
    long long ctime_ms, last_ms;
    int inflight;             /* jobs at the writer not yet answered */
    int blocking;             /* of those, blocking commands (INFO blocked_clients) */
    bool has_pending;         /* `pending` was parsed but waits for inflight == 0 */
    request pending;
    reply out;                /* replies not yet written to the socket */
    char last_cmd[48];        /* "get", "client|info" */
    char *proto_err;          /* protocol error waiting for earlier replies */
    bool in_multi, multi_dirty; /* MULTI: queueing; a queued command was refused */
    request *mqueue;          /* MULTI: queued requests */
    int mcount, mcap;
    size_t multi_bytes;       /* MULTI: requestArgvBytes of the queue (valid while mcount > 0) */
    bool watching;            /* the writer holds WATCHes for this client */
    void *pubsub;             /* pub/sub module's state (pubsub/) */
    long subscriptions;       /* channels + patterns + shard channels */
    long sub_channels, sub_patterns, sub_shard;
    long long obuf_soft_since; /* pub/sub soft output limit exceeded since (ms), 0 = not */
    bool pending_write;       /* pushed output waits for the end of this loop turn */
    struct client *pw_next;   /* net.pending_writes list */
    struct client *prev, *next;
} client;

typedef struct net_stats {
    long long total_connections, total_commands, rejected_connections;
    long long keyspace_hits, keyspace_misses, expired_keys;
    long long net_input_bytes, net_output_bytes;
    long long start_ms;
} net_stats;

extern net_stats stats;

bool netInit(struct event_base *base, char *err, size_t errlen);
void netRun(void);                     /* the event loop, until shutdown */
void netShutdown(void);                /* stop listening, close all clients */
void netRequestShutdown(int exit_code);
void netConfigChanged(const char *name);
void netResetStats(void);
long netClientCount(void);
client *netClientList(void);
client *netClientById(uint64_t id);
void netCloseClient(client *c);        /* closes now or after in-flight replies */
struct store *netReadStore(void);
void netClientReset(client *c);        /* RESET: modules drop per-client state */
bool clientNeedsAuth(const client *c);  /* requirepass set, AUTH not done */
void netForgetWatches(client *c);      /* RESET: unwatch all keys (no reply) */
void netPubsubCounts(long *channels, long *patterns);

/* proto.c: parse the next request from the client's query buffer.
 * Returns 1 with r->argc/argv filled, 0 when more input is needed, -1 on a
 * protocol error (with the message in err). */
int protoNextRequest(client *c, request *r, char *err, size_t errlen);
size_t protoQueryBufLen(client *c);
void protoFeed(client *c, const char *buf, size_t n); /* input read from the socket */
void protoFree(client *c);                            /* the reader and the input */
size_t protoPartialArgvBytes(client *c);     /* the incomplete request's arguments */
size_t requestArgvBytes(const request *r);   /* what a parsed request's arguments hold */
redisReader *protoReaderCreate(void);

#endif
