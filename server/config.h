/*
 * config.h — server configuration (server-internal).
 *
 * Thread ownership: `config` is written by the net thread only (at start and
 * by CONFIG SET). The writer thread reads the few fields it needs through
 * the writer's own copies, handed over by writerConfigure().
 */
#ifndef SOLIDIS_CONFIG_H
#define SOLIDIS_CONFIG_H

#include "server.h"

enum { FSYNC_NO = 0, FSYNC_EVERYSEC = 1, FSYNC_ALWAYS = 2 };
enum { LL_DEBUG = 0, LL_VERBOSE, LL_NOTICE, LL_WARNING };
enum { REPL_ACK_ASYNC = 0, REPL_ACK_SYNC = 1 };

typedef struct config {
    int port;
    char *bind;           /* space-separated addresses */
    char *dir;
    char *dbfilename;
    char *requirepass;    /* NULL or "" = none */
    int appendfsync;
    long long maxclients;
    long long databases;
    long long timeout;    /* idle seconds, 0 = never */
    long long tcp_keepalive;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    int loglevel;
    char *logfile;
    char *unixsocket;
    long long unixsocketperm;
    char *pidfile;
    int notify_flags;     /* notify-keyspace-events, parsed */
    long long writer_spin_max_us; /* writer-spin-max-us: see writer.c, awaitWorkBriefly */
    /* replication (replication/): read by the replica threads after start;
     * none of these change at run time. Durations in ms. */
    char **replicas;      /* "replica <url>", repeatable */
    int nreplicas;
    char *replica_access_key, *replica_secret_key;
    long long repl_sync_interval, repl_snapshot_interval, repl_retention;
    int repl_ack;         /* REPL_ACK_* */
    long long repl_max_wal_size;
    char *restore_if_empty;
    bool daemonize_ignored;
} config;

extern config server_config;

void configInitDefaults(void);
void configFree(void);
/* Load a redis.conf-style file then "--name value" pairs. Returns false and
 * fills err on a bad option. */
bool configLoadFile(const char *path, char *err, size_t errlen);
bool configApplyArgs(int argc, char **argv, int start, char *err, size_t errlen);
void configCommand(request *r);

void serverLog(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
