/*
 * main.c — process start-up and shutdown.
 *
 *   bin/solidis-server [config-file] [--name value ...]
 *
 * Order: options → data directory → command tables → writer thread (creates
 * the schema) → net loop (opens the read connection, listens) → run until
 * SIGTERM/SIGINT/SHUTDOWN → stop listening, drain the writer, checkpoint,
 * deliver the last replies, exit 0.
 */
#include "commands.h"
#include "config.h"
#include "net.h"
#include "store.h"
#include "writer.h"
#include "../cache/cache.h"
#include "../queue/queue.h"
#include "../pubsub/pubsub.h"
#include "../replication/replication.h"
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

int netExitCode(void);

static void usage(void) {
    printf("Usage: ./solidis-server [/path/to/solidis.conf] [options]\n"
           "       ./solidis-server -v or --version\n"
           "       ./solidis-server -h or --help\n\n"
           "Options (also valid in the config file, redis.conf syntax):\n"
           "  port bind dir dbfilename requirepass appendfsync(always|everysec|no) maxclients\n"
           "  databases timeout tcp-keepalive proto-max-bulk-len client-query-buffer-limit\n"
           "  loglevel logfile unixsocket unixsocketperm pidfile notify-keyspace-events\n"
           "  pubsub-retention job-retention job-dead-retention\n"
           "  replica(file:///dir|s3://bucket/prefix?endpoint=...&region=..., repeatable)\n"
           "  replica-access-key replica-secret-key repl-sync-interval repl-snapshot-interval\n"
           "  repl-retention repl-ack(async|sync) repl-max-wal-size restore-if-empty\n\n"
           "Examples:\n"
           "       ./solidis-server --port 7777 --dir /var/lib/solidis\n"
           "       ./solidis-server /etc/solidis.conf --loglevel verbose\n"
           "       ./solidis-server --replica file:///backups/app --restore-if-empty file:///backups/app\n");
}

/* mkdir -p */
static bool makeDirs(const char *path) {
    char buf[4096];
    snprintf(buf, sizeof(buf), "%s", path);
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    return mkdir(buf, 0755) == 0 || errno == EEXIST;
}

/* Like Redis: make room for maxclients connections plus our own files. */
static void raiseFdLimit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = (rlim_t)server_config.maxclients + 64;
    if (rl.rlim_cur >= want) return;
    rl.rlim_cur = want < rl.rlim_max ? want : rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    if ((long long)rl.rlim_cur < server_config.maxclients + 64) {
        server_config.maxclients = (long long)rl.rlim_cur - 64;
        serverLog(LL_WARNING, "Open files limit %llu: maxclients reduced to %lld",
                  (unsigned long long)rl.rlim_cur, server_config.maxclients);
    }
}

static void onSignal(evutil_socket_t sig, short what, void *arg) {
    (void)what; (void)arg;
    serverLog(LL_WARNING, "Received %s scheduling shutdown...", sig == SIGINT ? "SIGINT" : "SIGTERM");
    netRequestShutdown(0);
}

int main(int argc, char **argv) {
    char err[1024];
    /* Modules first: they register commands, schema, tasks and options. */
    serverCommandsInit();
    cacheInit();
    queueInit();
    pubsubInit();
    configInitDefaults();
    int first_opt = 1;
    if (argc >= 2) {
        if (!strcmp(argv[1], "-v") || !strcmp(argv[1], "--version")) {
            printf("Solidis server v=%s redis_compat=%s sqlite=%s\n", SOLIDIS_VERSION, REDIS_COMPAT_VERSION,
                   sqlite3_libversion());
            return 0;
        }
        if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
            usage();
            return 0;
        }
        if (strncmp(argv[1], "--", 2) != 0) {
            if (!configLoadFile(argv[1], err, sizeof(err))) {
                fprintf(stderr, "*** FATAL CONFIG FILE ERROR ***\n%s\n", err);
                return 1;
            }
            first_opt = 2;
        }
    }
    if (!configApplyArgs(argc, argv, first_opt, err, sizeof(err))) {
        fprintf(stderr, "*** FATAL CONFIG ERROR ***\n%s\n", err);
        return 1;
    }
    if (!makeDirs(server_config.dir)) {
        fprintf(stderr, "Can't create data directory '%s': %s\n", server_config.dir, strerror(errno));
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    raiseFdLimit();
    /* Each connection belongs to one thread, so SQLite's own mutexes are
     * waste; memory statistics would take a global mutex on every malloc. */
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    if (!storeInstallPageCache()) serverLog(LL_WARNING, "SQLite's page cache could not be wrapped (pcache.c)");
    evthread_use_pthreads();


    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", server_config.dir, server_config.dbfilename);
    if (server_config.restore_if_empty[0] &&
        replRestoreIfEmpty(server_config.restore_if_empty, path, err, sizeof(err)) != 0) {
        serverLog(LL_WARNING, "restore-if-empty failed: %s", err);
        return 1;
    }
    if (!replInit(path, err, sizeof(err))) {
        serverLog(LL_WARNING, "%s", err);
        return 1;
    }
    struct event_base *base = event_base_new();
    if (!base) { fprintf(stderr, "cannot create event base\n"); return 1; }
    if (!writerStart(path, server_config.appendfsync, err, sizeof(err)) || !netInit(base, err, sizeof(err))) {
        serverLog(LL_WARNING, "%s", err);
        writerStop();
        replStop();
        return 1;
    }
    replStart();
    if (server_config.pidfile && server_config.pidfile[0]) {
        FILE *f = fopen(server_config.pidfile, "w");
        if (f) { fprintf(f, "%d\n", (int)getpid()); fclose(f); }
    }
    struct event *sigterm = evsignal_new(base, SIGTERM, onSignal, NULL);
    struct event *sigint = evsignal_new(base, SIGINT, onSignal, NULL);
    event_add(sigterm, NULL);
    event_add(sigint, NULL);
    serverLog(LL_NOTICE, "Solidis %s (Redis %s compatible) on SQLite %s, data in %s", SOLIDIS_VERSION,
              REDIS_COMPAT_VERSION, sqlite3_libversion(), path);
    serverLog(LL_NOTICE, "Ready to accept connections tcp on %s:%d", server_config.bind, server_config.port);

    netRun();

    serverLog(LL_NOTICE, "Shutting down: draining the writer and checkpointing");
    netShutdown();
    replStop();
    event_free(sigterm);
    event_free(sigint);
    event_base_free(base);
    if (server_config.pidfile && server_config.pidfile[0]) unlink(server_config.pidfile);
    serverLog(LL_NOTICE, "Solidis is now ready to exit, bye bye...");
    return netExitCode();
}
