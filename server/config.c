/*
 * config.c — options, the redis.conf parser, CONFIG GET/SET/RESETSTAT/REWRITE
 * and logging.
 *
 * Options are data: one table row per option with its type, default, and
 * whether CONFIG SET may change it at run time. The same row drives the file
 * parser, "--name value" arguments, CONFIG GET (glob patterns) and CONFIG SET.
 * A few Redis options that clients read but Solidis does not implement
 * (maxmemory-policy, save, appendonly...) answer with fixed values so that
 * client libraries that check them are satisfied.
 */
#include "config.h"
#include "net.h"
#include "notify.h"
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

config server_config;

enum { T_INT, T_MEM, T_STR, T_ENUM, T_OCTAL, T_FIXED, T_NOTIFY, T_DURATION, T_LIST };

/* Enum names in the order Redis lists them in errors; the value is the
 * index of the name in `values`. */
typedef struct enumdef {
    const char *const *names;
    const int *values;
} enumdef;
static const char *const fsync_list[] = {"everysec", "always", "no", NULL};
static const int fsync_vals[] = {FSYNC_EVERYSEC, FSYNC_ALWAYS, FSYNC_NO};
static const char *const loglevel_list[] = {"debug", "verbose", "notice", "warning", NULL};
static const int loglevel_vals[] = {LL_DEBUG, LL_VERBOSE, LL_NOTICE, LL_WARNING};
static const enumdef fsync_names = {fsync_list, fsync_vals};
static const enumdef loglevel_names = {loglevel_list, loglevel_vals};
static const char *const repl_ack_list[] = {"async", "sync", NULL};
static const int repl_ack_vals[] = {REPL_ACK_ASYNC, REPL_ACK_SYNC};
static const enumdef repl_ack_names = {repl_ack_list, repl_ack_vals};

typedef struct option {
    const char *name;
    int type;
    void *ptr;
    const char *def;       /* default, as text */
    bool runtime;          /* CONFIG SET allowed */
    long long min, max;
    const enumdef *enums;
} option;



#define C server_config
static option options[64] = { /* builtins, then module options (serverRegisterIntConfig) */
    {"port", T_INT, &C.port, "6379", false, 0, 65535, NULL},
    {"bind", T_STR, &C.bind, "127.0.0.1", false, 0, 0, NULL},
    {"dir", T_STR, &C.dir, "./data", false, 0, 0, NULL},
    {"dbfilename", T_STR, &C.dbfilename, "solidis.db", false, 0, 0, NULL},
    {"requirepass", T_STR, &C.requirepass, "", true, 0, 0, NULL},
    {"appendfsync", T_ENUM, &C.appendfsync, "everysec", true, 0, 0, &fsync_names},
    {"maxclients", T_INT, &C.maxclients, "10000", true, 1, 1000000, NULL},
    {"databases", T_INT, &C.databases, "16", false, 1, 1000000, NULL},
    {"timeout", T_INT, &C.timeout, "0", true, 0, 2147483647, NULL},
    {"tcp-keepalive", T_INT, &C.tcp_keepalive, "300", true, 0, 2147483647, NULL},
    {"proto-max-bulk-len", T_MEM, &C.proto_max_bulk_len, "512mb", true, 1024 * 1024, 1LL << 40, NULL},
    {"client-query-buffer-limit", T_MEM, &C.client_query_buffer_limit, "1gb", true, 1024 * 1024, 1LL << 40, NULL},
    {"loglevel", T_ENUM, &C.loglevel, "notice", true, 0, 0, &loglevel_names},
    {"logfile", T_STR, &C.logfile, "", false, 0, 0, NULL},
    {"unixsocket", T_STR, &C.unixsocket, "", false, 0, 0, NULL},
    {"unixsocketperm", T_OCTAL, &C.unixsocketperm, "0", false, 0, 0777, NULL},
    {"pidfile", T_STR, &C.pidfile, "", false, 0, 0, NULL},
    /* Accepted and reported for client compatibility; fixed behaviour. */
    {"maxmemory", T_FIXED, NULL, "0", true, 0, 0, NULL},
    {"maxmemory-policy", T_FIXED, NULL, "noeviction", true, 0, 0, NULL},
    {"appendonly", T_FIXED, NULL, "yes", true, 0, 0, NULL},
    {"save", T_FIXED, NULL, "", true, 0, 0, NULL},
    {"daemonize", T_FIXED, NULL, "no", false, 0, 0, NULL},
    {"protected-mode", T_FIXED, NULL, "no", true, 0, 0, NULL},
    {"tcp-backlog", T_FIXED, NULL, "511", false, 0, 0, NULL},
    {"notify-keyspace-events", T_NOTIFY, &C.notify_flags, "", true, 0, 0, NULL},
    {"writer-spin-max-us", T_INT, &C.writer_spin_max_us, "1500", true, 0, 100000, NULL},
    /* WAL shipping (replication/). Durations take ms/s/m/h/d; a bare number is seconds. */
    {"replica", T_LIST, &C.replicas, "", false, 0, 0, NULL},
    {"replica-access-key", T_STR, &C.replica_access_key, "", false, 0, 0, NULL},
    {"replica-secret-key", T_STR, &C.replica_secret_key, "", false, 0, 0, NULL},
    {"repl-sync-interval", T_DURATION, &C.repl_sync_interval, "1s", false, 1, 86400000LL, NULL},
    {"repl-snapshot-interval", T_DURATION, &C.repl_snapshot_interval, "24h", false, 1000, 365 * 86400000LL, NULL},
    {"repl-retention", T_DURATION, &C.repl_retention, "24h", false, 1000, 3650 * 86400000LL, NULL},
    {"repl-ack", T_ENUM, &C.repl_ack, "async", false, 0, 0, &repl_ack_names},
    {"repl-max-wal-size", T_MEM, &C.repl_max_wal_size, "1gb", false, 1024 * 1024, 1LL << 40, NULL},
    {"restore-if-empty", T_STR, &C.restore_if_empty, "", false, 0, 0, NULL},
};
#undef C

/* Module options are plain integers the module owns; the net thread stores
 * them (CONFIG SET), any thread reads them with __atomic_load_n. Register
 * before configInitDefaults() so files and --args can set them. */
void serverRegisterIntConfig(const char *name, long long *ptr, const char *def, long long min, long long max) {
    size_t n = 0;
    while (options[n].name) n++;
    if (n + 1 >= sizeof(options) / sizeof(options[0])) {
        fprintf(stderr, "serverRegisterIntConfig: too many options\n");
        abort();
    }
    options[n] = (option){name, T_INT, ptr, def, true, min, max, NULL};
}

static option *findOption(const char *name) {
    for (option *o = options; o->name; o++)
        if (strcasecmp(o->name, name) == 0) return o;
    return NULL;
}

/* Parse "100", "1k", "5mb", "1gb" the way redis.conf does. */
static bool parseMemory(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno) return false;
    long long mul = 1;
    if (*end) {
        if (!strcasecmp(end, "k")) mul = 1000;
        else if (!strcasecmp(end, "kb")) mul = 1024;
        else if (!strcasecmp(end, "m")) mul = 1000 * 1000;
        else if (!strcasecmp(end, "mb")) mul = 1024 * 1024;
        else if (!strcasecmp(end, "g")) mul = 1000LL * 1000 * 1000;
        else if (!strcasecmp(end, "gb")) mul = 1024LL * 1024 * 1024;
        else return false;
    }
    *out = v * mul;
    return true;
}

/* Parse "500ms", "1s", "30m", "24h", "7d" (a bare number is seconds) into ms. */
static bool parseDuration(const char *s, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || errno || v < 0) return false;
    static const struct { const char *unit; long long ms; } units[] = {
        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(end, units[i].unit)) {
            if (v > (1LL << 50) / units[i].ms) return false;
            *out = v * units[i].ms;
            return true;
        }
    return false;
}

static void formatDuration(long long ms, char *buf, size_t len) {
    static const struct { const char *unit; long long ms; } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms > 0 && ms % units[i].ms == 0) {
            snprintf(buf, len, "%lld%s", ms / units[i].ms, units[i].unit);
            return;
        }
    snprintf(buf, len, "%lldms", ms);
}

/* Set an option from text; on failure write a Redis-style reason to err. */
static bool optionSet(option *o, const char *val, char *err, size_t errlen) {
    long long v;
    char *end;
    switch (o->type) {
    case T_INT:
        errno = 0;
        v = strtoll(val, &end, 10);
        if (end == val || *end || errno) { snprintf(err, errlen, "argument couldn't be parsed into an integer"); return false; }
        goto range;
    case T_MEM:
        if (!parseMemory(val, &v)) { snprintf(err, errlen, "argument must be a memory value"); return false; }
        goto range;
    case T_DURATION:
        if (!parseDuration(val, &v)) { snprintf(err, errlen, "argument must be a duration such as 500ms, 1s, 24h"); return false; }
        goto range;
    case T_OCTAL:
        errno = 0;
        v = strtoll(val, &end, 8);
        if (end == val || *end || errno) { snprintf(err, errlen, "argument couldn't be parsed into an integer"); return false; }
    range:
        if (v < o->min || v > o->max) {
            snprintf(err, errlen, "argument must be between %lld and %lld inclusive", o->min, o->max);
            return false;
        }
        if (o->ptr == &server_config.port) server_config.port = (int)v;
        else *(long long *)o->ptr = v;
        return true;
    case T_STR: {
        char **p = o->ptr;
        free(*p);
        *p = strdup(val);
        return true;
    }
    case T_ENUM:
        for (int i = 0; o->enums->names[i]; i++)
            if (!strcasecmp(o->enums->names[i], val)) { *(int *)o->ptr = o->enums->values[i]; return true; }
        snprintf(err, errlen, "argument(s) must be one of the following: ");
        for (int i = 0; o->enums->names[i]; i++) {
            strncat(err, o->enums->names[i], errlen - strlen(err) - 1);
            if (o->enums->names[i + 1]) strncat(err, ", ", errlen - strlen(err) - 1);
        }
        return false;
    case T_FIXED:
        return true;
    case T_LIST: { /* each occurrence adds one value; "" adds nothing */
        if (!val[0]) return true;
        char ***list = o->ptr;
        int *n = &server_config.nreplicas; /* the only list option */
        *list = realloc(*list, sizeof(char *) * (size_t)(*n + 1));
        (*list)[(*n)++] = strdup(val);
        return true;
    }
    case T_NOTIFY: {
        int f = notifyParseFlags(val);
        if (f < 0) { snprintf(err, errlen, "Invalid event class character. Use 'Ag$lshzxeKEtmdn'."); return false; }
        *(int *)o->ptr = f;
        notifySetFlags(f);
        return true;
    }
    }
    return false;
}

static void optionGet(option *o, char *buf, size_t len) {
    switch (o->type) {
    case T_INT:
        if (o->ptr == &server_config.port) snprintf(buf, len, "%d", server_config.port);
        else snprintf(buf, len, "%lld", *(long long *)o->ptr);
        break;
    case T_MEM: snprintf(buf, len, "%lld", *(long long *)o->ptr); break;
    case T_DURATION: formatDuration(*(long long *)o->ptr, buf, len); break;
    case T_LIST:
        buf[0] = '\0';
        for (int i = 0; i < server_config.nreplicas; i++) {
            if (i) strncat(buf, " ", len - strlen(buf) - 1);
            strncat(buf, server_config.replicas[i], len - strlen(buf) - 1);
        }
        break;
    case T_OCTAL: snprintf(buf, len, "%llo", *(long long *)o->ptr); break;
    case T_STR: snprintf(buf, len, "%s", *(char **)o->ptr ? *(char **)o->ptr : ""); break;
    case T_ENUM:
        for (int i = 0; o->enums->names[i]; i++)
            if (o->enums->values[i] == *(int *)o->ptr) snprintf(buf, len, "%s", o->enums->names[i]);
        break;
    case T_FIXED: snprintf(buf, len, "%s", o->def); break;
    case T_NOTIFY: notifyFlagsToString(*(int *)o->ptr, buf, len); break;
    }
}

/* Free the option strings and lists (before a reset, or at exit). */
void configFree(void) {
    for (option *o = options; o->name; o++) {
        if (o->type == T_STR) {
            free(*(char **)o->ptr);
            *(char **)o->ptr = NULL;
        } else if (o->type == T_LIST) {
            char ***list = o->ptr;
            for (int i = 0; i < server_config.nreplicas; i++) free((*list)[i]);
            free(*list);
            *list = NULL;
            server_config.nreplicas = 0;
        }
    }
}

void configInitDefaults(void) {
    char err[256];
    memset(&server_config, 0, sizeof(server_config));
    for (option *o = options; o->name; o++) optionSet(o, o->def, err, sizeof(err));
}

static bool applyWords(char **w, int n, char *err, size_t errlen) {
    option *o = findOption(w[0]);
    if (!o) { snprintf(err, errlen, "Bad directive or wrong number of arguments: '%s'", w[0]); return false; }
    /* "bind a b c" and "save 900 1 300 10" take several words. */
    char joined[1024] = "";
    for (int i = 1; i < n; i++) {
        if (i > 1) strncat(joined, " ", sizeof(joined) - strlen(joined) - 1);
        strncat(joined, w[i], sizeof(joined) - strlen(joined) - 1);
    }
    char why[256];
    if (!optionSet(o, joined, why, sizeof(why))) {
        snprintf(err, errlen, "'%s %s': %s", w[0], joined, why);
        return false;
    }
    return true;
}

bool configLoadFile(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "r");
    if (!f) { snprintf(err, errlen, "Fatal error, can't open config file '%s': %s", path, strerror(errno)); return false; }
    char line[4096];
    int lineno = 0;
    bool ok = true;
    while (ok && fgets(line, sizeof(line), f)) {
        lineno++;
        size_t n = strlen(line);
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';
        const char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '#' || *p == '\0') continue; /* only whole-line comments, as redis.conf */
        int argc;
        char **argv;
        size_t *lens;
        if (!splitArgs(p, strlen(p), &argc, &argv, &lens)) {
            snprintf(err, errlen, "config file %s line %d: Unbalanced quotes in configuration line", path, lineno);
            ok = false;
            break;
        }
        if (argc > 0 && strcasecmp(argv[0], "include") != 0 && !applyWords(argv, argc, err, errlen)) {
            char tmp[512];
            snprintf(tmp, sizeof(tmp), "config file %s line %d: %s", path, lineno, err);
            snprintf(err, errlen, "%s", tmp);
            ok = false;
        }
        for (int i = 0; i < argc; i++) free(argv[i]);
        free(argv);
        free(lens);
    }
    fclose(f);
    return ok;
}

bool configApplyArgs(int argc, char **argv, int start, char *err, size_t errlen) {
    for (int i = start; i < argc;) {
        if (strncmp(argv[i], "--", 2) != 0 || !argv[i][2]) {
            snprintf(err, errlen, "unexpected argument '%s'", argv[i]);
            return false;
        }
        char *words[64];
        int n = 0;
        words[n++] = argv[i] + 2;
        i++;
        while (i < argc && strncmp(argv[i], "--", 2) != 0 && n < 63) words[n++] = argv[i++];
        if (n == 1) words[n++] = "";
        if (!applyWords(words, n, err, errlen)) return false;
    }
    return true;
}

/* CONFIG GET pattern [pattern ...] | SET name value [name value ...] |
 * RESETSTAT | REWRITE | HELP. Runs on the net thread. */
void configCommand(request *r) {
    if (argIs(r, 1, "get") && r->argc >= 3) {
        /* Collect unique matches across patterns. */
        bool seen[sizeof(options) / sizeof(options[0])];
        memset(seen, 0, sizeof(seen));
        int count = 0;
        for (int a = 2; a < r->argc; a++)
            for (int i = 0; options[i].name; i++)
                if (!seen[i] && stringmatchlen(r->argv[a], r->argvlen[a], options[i].name, strlen(options[i].name), true)) {
                    seen[i] = true;
                    count++;
                }
        addReplyMapLen(r, count);
        char buf[1024];
        for (int i = 0; options[i].name; i++) {
            if (!seen[i]) continue;
            addReplyBulkCString(r, options[i].name);
            optionGet(&options[i], buf, sizeof(buf));
            addReplyBulkCString(r, buf);
        }
    } else if (argIs(r, 1, "set") && r->argc >= 4 && r->argc % 2 == 0) {
        for (int a = 2; a < r->argc; a += 2) {
            option *o = findOption(r->argv[a]);
            if (!o || !o->runtime) {
                addReplyErrorFormat(r, "ERR Unknown option or number of arguments for CONFIG SET - '%s'", r->argv[a]);
                return;
            }
        }
        for (int a = 2; a < r->argc; a += 2) {
            option *o = findOption(r->argv[a]);
            char why[256];
            if (!optionSet(o, r->argv[a + 1], why, sizeof(why))) {
                addReplyErrorFormat(r, "ERR CONFIG SET failed (possibly related to argument '%s') - %s", o->name, why);
                return;
            }
            netConfigChanged(o->name);
        }
        addReplyOK(r);
    } else if (argIs(r, 1, "resetstat") && r->argc == 2) {
        netResetStats();
        addReplyOK(r);
    } else if (argIs(r, 1, "rewrite") && r->argc == 2) {
        addReplyError(r, "ERR The server is running without a config file");
    } else if (argIs(r, 1, "help") && r->argc == 2) {
        static const char *help[] = {
            "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>", "    Set the configuration <directive> to <value>.",
            "RESETSTAT", "    Reset statistics reported by the INFO command.",
            "REWRITE", "    Rewrite the configuration file.",
            "HELP", "    Print this help."};
        addReplyArrayLen(r, sizeof(help) / sizeof(help[0]));
        for (size_t i = 0; i < sizeof(help) / sizeof(help[0]); i++) addReplyStatus(r, help[i]);
    } else if (argIs(r, 1, "get") || argIs(r, 1, "set") || argIs(r, 1, "resetstat") || argIs(r, 1, "rewrite")) {
        char sub[32];
        size_t i = 0;
        for (; i + 1 < sizeof(sub) && r->argv[1][i]; i++) sub[i] = (char)tolower((unsigned char)r->argv[1][i]);
        sub[i] = '\0';
        addReplyErrorFormat(r, "ERR wrong number of arguments for 'config|%s' command", sub);
    } else {
        addReplyErrorFormat(r, "ERR unknown subcommand '%.128s'. Try CONFIG HELP.", r->argv[1]);
    }
}

long long configProtoMaxBulkLen(void) { return server_config.proto_max_bulk_len; }
bool configPasswordSet(void) { return server_config.requirepass && server_config.requirepass[0]; }
int configDatabases(void) { return (int)server_config.databases; }

void serverLog(int level, const char *fmt, ...) {
    if (level < server_config.loglevel) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    char when[64];
    size_t off = strftime(when, sizeof(when), "%d %b %Y %H:%M:%S.", &tm);
    snprintf(when + off, sizeof(when) - off, "%03d", (int)(tv.tv_usec / 1000));
    const char marks[] = ".-*#";
    FILE *f = stdout;
    bool own = false;
    if (server_config.logfile && server_config.logfile[0]) {
        f = fopen(server_config.logfile, "a");
        if (!f) return;
        own = true;
    }
    fprintf(f, "%d:M %s %c %s\n", (int)getpid(), when, marks[level], msg);
    fflush(f);
    if (own) fclose(f);
}
