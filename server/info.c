/*
 * info.c — the INFO command: Redis's sections and field names, filled with
 * Solidis's real numbers (and a few solidis_* fields of its own).
 *
 * Net thread. Keyspace counts come from the net thread's read connection.
 */
#include "commands.h"
#include "config.h"
#include "net.h"
#include "store.h"
#include "writer.h"
#include "readcache.h"
#include "../replication/replication.h"
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

typedef struct section {
    const char *name;
    void (*fill)(reply *o, request *r);
    bool in_default;
} section;

static long long rssBytes(void) {
    FILE *f = fopen("/proc/self/statm", "r");
    long long pages = 0, rss = 0;
    if (f) {
        if (fscanf(f, "%lld %lld", &pages, &rss) != 2) rss = 0;
        fclose(f);
    }
    return rss * sysconf(_SC_PAGESIZE);
}

static void fillServer(reply *o, request *r) {
    (void)r;
    struct utsname u;
    uname(&u);
    long long up = (mstime() - stats.start_ms) / 1000;
    replyAppendFormat(o, "# Server\r\nredis_version:%s\r\nsolidis_version:%s\r\nredis_git_sha1:00000000\r\nredis_git_dirty:0\r\n"
           "redis_build_id:0\r\nredis_mode:standalone\r\nos:%s %s %s\r\narch_bits:%d\r\nmultiplexing_api:epoll\r\n"
           "gcc_version:%d.%d.%d\r\nprocess_id:%d\r\nrun_id:%016llx%016llx%08x\r\ntcp_port:%d\r\nserver_time_usec:%lld\r\n"
           "uptime_in_seconds:%lld\r\nuptime_in_days:%lld\r\nhz:10\r\nconfigured_hz:10\r\nexecutable:solidis-server\r\n"
           "config_file:\r\nio_threads_active:0\r\nstorage_engine:sqlite %s\r\n",
        REDIS_COMPAT_VERSION, SOLIDIS_VERSION, u.sysname, u.release, u.machine, (int)sizeof(long) * 8,
        __GNUC__, __GNUC_MINOR__, __GNUC_PATCHLEVEL__, (int)getpid(),
        (unsigned long long)stats.start_ms * 2654435761ULL, (unsigned long long)getpid() * 40503ULL, 0u,
        server_config.port, ustime(), up, up / 86400, sqlite3_libversion());
}

static void fillClients(reply *o, request *r) {
    (void)r;
    long long maxq = 0, blocked = 0;
    for (client *c = netClientList(); c; c = c->next) {
        if ((long long)protoQueryBufLen(c) > maxq) maxq = (long long)protoQueryBufLen(c);
        if (c->blocking > 0 && !(c->flags & CLIENT_CLOSED)) blocked++;
    }
    replyAppendFormat(o, "# Clients\r\nconnected_clients:%ld\r\ncluster_connections:0\r\nmaxclients:%lld\r\n"
           "client_recent_max_input_buffer:%lld\r\nclient_recent_max_output_buffer:0\r\nblocked_clients:%lld\r\n"
           "tracking_clients:0\r\nclients_in_timeout_table:0\r\ntotal_blocking_keys:0\r\n",
        netClientCount(), server_config.maxclients, maxq, blocked);
}

static void fillMemory(reply *o, request *r) {
    (void)r;
    struct mallinfo2 mi = mallinfo2();
    long long used = (long long)(mi.uordblks + mi.hblkhd);
    long long rss = rssBytes();
    if (used <= 0) used = rss; /* allocators without mallinfo (ASan) */
    replyAppendFormat(o, "# Memory\r\nused_memory:%lld\r\nused_memory_human:%.2fM\r\nused_memory_rss:%lld\r\n"
           "used_memory_rss_human:%.2fM\r\nused_memory_peak:%lld\r\nused_memory_lua:0\r\nmaxmemory:0\r\n"
           "maxmemory_human:0B\r\nmaxmemory_policy:noeviction\r\nmem_fragmentation_ratio:%.2f\r\n"
           "mem_allocator:libc\r\nsqlite_memory_used:%lld\r\n",
        used, used / 1048576.0, rss, rss / 1048576.0, used, used ? (double)rss / (double)used : 0.0,
        (long long)sqlite3_memory_used());
}

static void fillPersistence(reply *o, request *r) {
    (void)r;
    writer_stats ws;
    writerGetStats(&ws);
    replyAppendFormat(o, "# Persistence\r\nloading:0\r\nasync_loading:0\r\nrdb_changes_since_last_save:0\r\nrdb_bgsave_in_progress:0\r\n"
           "rdb_last_bgsave_status:ok\r\naof_enabled:1\r\naof_rewrite_in_progress:0\r\naof_last_write_status:ok\r\n"
           "appendfsync:%s\r\nsolidis_batches:%lld\r\nsolidis_batched_commands:%lld\r\nsolidis_failed_commits:%lld\r\n"
           "solidis_checkpoints:%lld\r\nsolidis_wal_fsyncs:%lld\r\nsolidis_wal_frames:%lld\r\n",
        server_config.appendfsync == FSYNC_ALWAYS ? "always" : server_config.appendfsync == FSYNC_EVERYSEC ? "everysec" : "no",
        ws.batches, ws.commands, ws.commits_failed, ws.checkpoints, ws.fsyncs, ws.wal_frames);
}

static void fillReadCache(reply *o) {
    long long hits, misses, bytes, count;
    readCacheStats(&hits, &misses, &bytes, &count);
    replyAppendFormat(o, "solidis_read_cache_hits:%lld\r\nsolidis_read_cache_misses:%lld\r\nsolidis_read_cache_keys:%lld\r\n"
           "solidis_read_cache_bytes:%lld\r\n", hits, misses, count, bytes);
}

static void fillStats(reply *o, request *r) {
    (void)r;
    long channels, patterns;
    netPubsubCounts(&channels, &patterns);
    replyAppendFormat(o, "# Stats\r\ntotal_connections_received:%lld\r\ntotal_commands_processed:%lld\r\n"
           "instantaneous_ops_per_sec:0\r\ntotal_net_input_bytes:%lld\r\ntotal_net_output_bytes:%lld\r\n"
           "rejected_connections:%lld\r\nexpired_keys:%lld\r\nevicted_keys:0\r\nkeyspace_hits:%lld\r\n"
           "keyspace_misses:%lld\r\npubsub_channels:%ld\r\npubsub_patterns:%ld\r\ntotal_error_replies:0\r\n",
        stats.total_connections, stats.total_commands, stats.net_input_bytes, stats.net_output_bytes,
        stats.rejected_connections, __atomic_load_n(&stats.expired_keys, __ATOMIC_RELAXED),
        stats.keyspace_hits, stats.keyspace_misses, channels, patterns);
    fillReadCache(o);
}

static void fillReplication(reply *o, request *r) {
    (void)r;
    replyAppendFormat(o, "# Replication\r\nrole:master\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\n"
           "master_replid:0000000000000000000000000000000000000000\r\n"
           "master_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:0\r\n"
           "second_repl_offset:-1\r\nrepl_backlog_active:0\r\n");
    /* WAL shipping (replication/): the WAL and each replica target */
    writer_stats ws;
    writerGetStats(&ws);
    replyAppendFormat(o, "wal_frames:%lld\r\nwal_size:%lld\r\n", ws.wal_frames, ws.wal_bytes);
    replInfo(o);
}

static void fillCpu(reply *o, request *r) {
    (void)r;
    struct rusage self, children;
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    replyAppendFormat(o, "# CPU\r\nused_cpu_sys:%ld.%06ld\r\nused_cpu_user:%ld.%06ld\r\nused_cpu_sys_children:%ld.%06ld\r\n"
           "used_cpu_user_children:%ld.%06ld\r\n",
        (long)self.ru_stime.tv_sec, (long)self.ru_stime.tv_usec, (long)self.ru_utime.tv_sec, (long)self.ru_utime.tv_usec,
        (long)children.ru_stime.tv_sec, (long)children.ru_stime.tv_usec, (long)children.ru_utime.tv_sec,
        (long)children.ru_utime.tv_usec);
}

static void fillKeyspace(reply *o, request *r) {
    replyAppendFormat(o, "# Keyspace\r\n");
    for (int db = 0; db < server_config.databases; db++) {
        long long keys = 0, expires = 0;
        if (storeCountKeys(r->st, db, &keys, &expires) && keys > 0)
            replyAppendFormat(o, "db%d:keys=%lld,expires=%lld,avg_ttl=0\r\n", db, keys, expires);
    }
}

static const section sections[] = {
    {"server", fillServer, true}, {"clients", fillClients, true}, {"memory", fillMemory, true},
    {"persistence", fillPersistence, true}, {"stats", fillStats, true}, {"replication", fillReplication, true},
    {"cpu", fillCpu, true}, {"keyspace", fillKeyspace, true}, {NULL, NULL, false},
};

#define MAX_MODULE_SECTIONS 8
static section module_sections[MAX_MODULE_SECTIONS];
static int nmodule_sections;

void serverRegisterInfoSection(const char *name, void (*fill)(reply *out, request *r)) {
    if (nmodule_sections < MAX_MODULE_SECTIONS) module_sections[nmodule_sections++] = (section){name, fill, true};
}

static void addSection(reply *text, request *r, const section *s, bool all) {
    bool want = all && s->in_default;
    for (int i = 1; i < r->argc && !want; i++)
        if (argIs(r, i, s->name)) want = true;
    if (!want) return;
    if (text->len) replyAppend(text, "\r\n", 2);
    s->fill(text, r);
}

/* INFO [section ...] */
void infoCommand(request *r) {
    reply text;
    replyInit(&text);
    bool all = r->argc == 1;
    for (int i = 1; i < r->argc; i++)
        if (argIs(r, i, "all") || argIs(r, i, "default") || argIs(r, i, "everything")) all = true;
    for (const section *s = sections; s->name; s++) addSection(&text, r, s, all);
    for (int i = 0; i < nmodule_sections; i++) addSection(&text, r, &module_sections[i], all);
    addReplyVerbatim(r, text.buf, text.len, "txt");
    replyFree(&text);
}
