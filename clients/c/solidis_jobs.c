/*
 * solidis_jobs.c — bin/solidis-jobs, a command-line tool for Solidis's job
 * queue: enqueue jobs, look at queues, retry dead jobs, and run a shell
 * command as a worker (on the solidis_worker library).
 *
 * This file owns main, argument parsing and the simple request/reply
 * subcommands (add, stats, list, get, retry) with their reply printing. The
 * `work` subcommand, which supervises child processes, lives in
 * solidis_jobs_work.c; solidis_jobs.h holds what both files share.
 *
 *   solidis-jobs add emails '{"to":"a@b"}' --delay 5000
 *   solidis-jobs stats
 *   solidis-jobs work emails --exec './send-mail'
 *
 * Exit status: 0 success, 1 error (server or connection), 2 usage.
 */
#include "solidis_jobs.h"
#include "solidis_worker.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char USAGE[] =
    "usage: solidis-jobs [--host HOST] [--port PORT] [--password PASSWORD] COMMAND [ARGS]\n"
    "\n"
    "Commands:\n"
    "  add QUEUE PAYLOAD [--delay MS | --at UNIX-MS] [--priority N] [--retries N]\n"
    "                    [--backoff MS] [--timeout MS] [--unique KEY] [--ttl MS]\n"
    "        Enqueue a job and print its id. PAYLOAD - reads the payload from stdin.\n"
    "        Lower --priority numbers run first.\n"
    "  stats [QUEUE]\n"
    "        Jobs per state, the oldest ready job's age and throughput.\n"
    "  list QUEUE STATE [--count N]\n"
    "        Jobs of QUEUE in STATE (ready, delayed, running, done, dead, cancelled),\n"
    "        at most N (default 100).\n"
    "  get ID\n"
    "        Everything the server knows about one job.\n"
    "  retry ID\n"
    "        Move a dead job back to ready.\n"
    "  work QUEUE [QUEUE...] --exec CMD [--lease MS] [--block MS] [--max-jobs N]\n"
    "                                   [--worker NAME] [--quiet] [--verbose]\n"
    "        Fetch jobs (queues in the order given) and run `sh -c CMD` for each, with the\n"
    "        payload on stdin and SOLIDIS_JOB_ID, SOLIDIS_JOB_QUEUE, SOLIDIS_JOB_ATTEMPT set.\n"
    "        Exit status 0 acknowledges the job; otherwise it is retried later with the\n"
    "        command's stderr as its error. The lease (default 30000 ms) is renewed while\n"
    "        the command runs. SIGTERM or Ctrl-C: finish the current job, then exit 0\n"
    "        (a second one terminates the command). --max-jobs N exits after N jobs.\n"
    "\n"
    "Connection: --host (default 127.0.0.1), --port (default 6379), --password\n"
    "(default: $SOLIDIS_PASSWORD). Exit status: 0 ok, 1 error, 2 usage.\n";

/* --------------------------------------------------------- arguments */

void usageError(const char *fmt, const char *arg) {
    fprintf(stderr, "solidis-jobs: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nRun 'solidis-jobs --help' for usage.\n");
    exit(2);
}

/* A non-negative integer option value (ms, counts). */
static long long numArg(const char *name, const char *v, long long min) {
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || end == v || *end || n < min) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s needs an integer >= %lld, got '%%s'", name, min);
        usageError(msg, v);
    }
    return n;
}

/* Integer-valued options passed through to the server: checked here so the
 * mistake is reported as usage, the range is the server's business. */
static const char *intArg(const char *name, const char *v) {
    char *end;
    errno = 0;
    (void)strtoll(v, &end, 10);
    if (errno || end == v || *end) {
        char msg[128];
        snprintf(msg, sizeof msg, "%s needs an integer, got '%%s'", name);
        usageError(msg, v);
    }
    return v;
}

static void parseArgs(int argc, char **argv, opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 6379;
    o->password = getenv("SOLIDIS_PASSWORD");
    o->count = 100;
    o->lease = 30000;
    o->block = 5000;
    bool only_pos = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || strcmp(a, "-") == 0) {
            if (o->npos == (int)(sizeof o->pos / sizeof o->pos[0])) usageError("too many arguments%s", "");
            o->pos[o->npos++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(USAGE, stdout);
            exit(0);
        }
        /* --name value or --name=value */
        char name[64];
        const char *val = NULL;
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen >= sizeof name) usageError("unknown option '%s'", a);
        memcpy(name, a, nlen);
        name[nlen] = '\0';
        static const char *const flags[] = {"--quiet", "-q", "--verbose", "-v", NULL};
        bool is_flag = false;
        for (int k = 0; flags[k]; k++) is_flag |= strcmp(name, flags[k]) == 0;
        if (is_flag) {
            if (eq) usageError("option '%s' takes no value", name);
            if (name[2] == 'q' || name[1] == 'q') o->quiet = true;
            else o->verbose = true;
            continue;
        }
        if (eq) val = eq + 1;
        else if (i + 1 < argc) val = argv[++i];
        else usageError("option '%s' needs a value", name);

        if (!strcmp(name, "--host") || !strcmp(name, "-H")) o->host = val;
        else if (!strcmp(name, "--port") || !strcmp(name, "-p")) {
            long long p = numArg("--port", val, 1);
            if (p > 65535) usageError("--port must be at most 65535, got '%s'", val);
            o->port = (int)p;
        } else if (!strcmp(name, "--password") || !strcmp(name, "-a")) o->password = val;
        else if (!strcmp(name, "--delay")) o->delay = intArg(name, val);
        else if (!strcmp(name, "--at")) o->at = intArg(name, val);
        else if (!strcmp(name, "--priority")) o->priority = intArg(name, val);
        else if (!strcmp(name, "--retries")) o->retries = intArg(name, val);
        else if (!strcmp(name, "--backoff")) o->backoff = intArg(name, val);
        else if (!strcmp(name, "--timeout")) o->timeout = intArg(name, val);
        else if (!strcmp(name, "--ttl")) o->ttl = intArg(name, val);
        else if (!strcmp(name, "--unique")) o->unique = val;
        else if (!strcmp(name, "--count")) o->count = numArg(name, val, 1);
        else if (!strcmp(name, "--exec")) o->exec = val;
        else if (!strcmp(name, "--lease")) o->lease = numArg(name, val, 1);
        else if (!strcmp(name, "--block")) o->block = numArg(name, val, 0);
        else if (!strcmp(name, "--max-jobs")) o->max_jobs = numArg(name, val, 0);
        else if (!strcmp(name, "--worker")) o->worker = val;
        else usageError("unknown option '%s'", name);
    }
}

/* Options that belong to another command are mistakes, not silently ignored. */
void onlyOptions(const opts *o, const char *cmd, bool add, bool list, bool work) {
    const char *bad = NULL;
    if (!add && (o->delay || o->at || o->priority || o->retries || o->backoff || o->timeout || o->unique || o->ttl))
        bad = "--delay/--at/--priority/--retries/--backoff/--timeout/--unique/--ttl";
    if (!list && o->count != 100) bad = "--count";
    if (!work && (o->exec || o->lease != 30000 || o->block != 5000 || o->max_jobs || o->worker || o->quiet))
        bad = "--exec/--lease/--block/--max-jobs/--worker/--quiet";
    if (bad) {
        fprintf(stderr, "solidis-jobs: %s does not take %s\nRun 'solidis-jobs --help' for usage.\n", cmd, bad);
        exit(2);
    }
}

void needArgs(const opts *o, int min, int max, const char *synopsis) {
    int n = o->npos - 1;
    if (n < min || (max >= 0 && n > max)) {
        fprintf(stderr, "solidis-jobs: usage: solidis-jobs %s\n", synopsis);
        exit(2);
    }
}

/* ----------------------------------------------------- server helpers */

static redisContext *connectOrDie(const opts *o) {
    char err[512];
    redisContext *c = swConnect(o->host, o->port, o->password, 10000, err, sizeof err);
    if (!c) {
        fprintf(stderr, "solidis-jobs: %s\n", err);
        exit(1);
    }
    return c;
}

/* Send one command; exit 1 with a readable message on an error reply. */
static redisReply *commandOrDie(redisContext *c, const opts *o, int argc, const char **argv, const size_t *lens) {
    redisReply *r = redisCommandArgv(c, argc, argv, lens);
    if (!r) {
        fprintf(stderr, "solidis-jobs: connection to %s:%d lost: %s\n", o->host, o->port, c->errstr);
        exit(1);
    }
    if (r->type == REDIS_REPLY_ERROR) {
        if (strcasestr(r->str, "unknown command"))
            fprintf(stderr, "solidis-jobs: the server at %s:%d does not support %s (%s)\n", o->host, o->port,
                    argv[0], r->str);
        else
            fprintf(stderr, "solidis-jobs: %s\n", r->str);
        exit(1);
    }
    return r;
}

/* ---------------------------------------------------- reply rendering */

static bool isScalar(const redisReply *r) {
    return r->type != REDIS_REPLY_ARRAY;
}

/* Keys of a flat [k, v, k, v...] reply (RESP2 form of a map). */
static bool isKey(const redisReply *r) {
    if (r->type != REDIS_REPLY_STRING && r->type != REDIS_REPLY_STATUS) return false;
    if (r->len == 0 || r->len > 40) return false;
    for (size_t i = 0; i < r->len; i++) {
        unsigned char ch = (unsigned char)r->str[i];
        if (!(ch == '_' || ch == '-' || ch == '.' || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
              (ch >= '0' && ch <= '9')))
            return false;
    }
    return true;
}

/* A RESP2 map is indistinguishable from a list of an even number of
 * names; the job replies' maps always hold a number, a null or an array
 * among their values, a list of queue names never does. */
static bool isMap(const redisReply *r) {
    if (r->type != REDIS_REPLY_ARRAY || r->elements == 0 || r->elements % 2) return false;
    bool non_string = false;
    for (size_t i = 0; i < r->elements; i += 2) {
        if (!isKey(r->element[i])) return false;
        int t = r->element[i + 1]->type;
        non_string |= t != REDIS_REPLY_STRING && t != REDIS_REPLY_STATUS;
    }
    return non_string;
}

/* The value of field `key` in a RESP2 map, or NULL. */
static const redisReply *mapGet(const redisReply *r, const char *key) {
    if (r->type != REDIS_REPLY_ARRAY) return NULL;
    size_t klen = strlen(key);
    for (size_t i = 0; i + 1 < r->elements; i += 2) {
        const redisReply *k = r->element[i];
        if ((k->type == REDIS_REPLY_STRING || k->type == REDIS_REPLY_STATUS) && k->len == klen &&
            memcmp(k->str, key, klen) == 0)
            return r->element[i + 1];
    }
    return NULL;
}

static bool replyLL(const redisReply *v, long long *out) {
    if (!v) return false;
    if (v->type == REDIS_REPLY_INTEGER) {
        *out = v->integer;
        return true;
    }
    if (v->type != REDIS_REPLY_STRING && v->type != REDIS_REPLY_STATUS) return false;
    char *end;
    errno = 0;
    long long n = strtoll(v->str, &end, 10);
    if (errno || end == v->str || *end) return false;
    *out = n;
    return true;
}

/* A duration in ms the way a person says it: 850 ms, 12.5 s, 3.2 min... */
static void fmtDuration(char *buf, size_t cap, long long ms) {
    if (ms < 1000) snprintf(buf, cap, "%lld ms", ms);
    else if (ms < 60000) snprintf(buf, cap, "%.1f s", ms / 1000.0);
    else if (ms < 3600000) snprintf(buf, cap, "%.1f min", ms / 60000.0);
    else if (ms < 86400000) snprintf(buf, cap, "%.1f h", ms / 3600000.0);
    else snprintf(buf, cap, "%.1f days", ms / 86400000.0);
}

/* A unix-ms time: HH:MM:SS.mmm today, else with the date. */
static void fmtTime(char *buf, size_t cap, long long ms) {
    time_t t = (time_t)(ms / 1000), now = time(NULL);
    struct tm tm, today;
    localtime_r(&t, &tm);
    localtime_r(&now, &today);
    bool same_day = tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday;
    size_t n = strftime(buf, cap, same_day ? "%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
    snprintf(buf + n, cap - n, ".%03lld", ms % 1000);
}

/* Print bytes for a person: printable ASCII and UTF-8 as is, the rest escaped.
 * max > 0 shortens long values with an ellipsis. */
void printBytes(FILE *f, const char *s, size_t len, size_t max) {
    size_t n = max && len > max ? max : len;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n') fputs("\\n", f);
        else if (ch == '\r') fputs("\\r", f);
        else if (ch == '\t') fputs("\\t", f);
        else if (ch < 0x20 || ch == 0x7f) fprintf(f, "\\x%02x", ch);
        else fputc(ch, f);
    }
    if (n < len) fprintf(f, "... (%zu bytes)", len);
}

static bool keyEndsWith(const char *key, const char *suffix) {
    size_t k = strlen(key), s = strlen(suffix);
    return k >= s && strcasecmp(key + k - s, suffix) == 0;
}

static bool isTimeKey(const char *key) {
    return keyEndsWith(key, "_at") || keyEndsWith(key, "time") || keyEndsWith(key, "_until") ||
           strcasestr(key, "deadline");
}

/* A number that reads better with a unit: unix-ms timestamps as local time,
 * millisecond durations in seconds/minutes, rates per second. */
static void printAnnotation(FILE *f, const char *key, long long v) {
    if (!key) return;
    char buf[64];
    if (isTimeKey(key) && v > 946684800000LL && v < 4102444800000LL) { /* 2000..2100 */
        fmtTime(buf, sizeof buf, v);
        fprintf(f, "  (%s)", buf);
        return;
    }
    bool dur = keyEndsWith(key, "_ms") || strcasestr(key, "age") || keyEndsWith(key, "delay") ||
               keyEndsWith(key, "lease") || keyEndsWith(key, "backoff") || keyEndsWith(key, "ttl");
    if (dur && v >= 1000) {
        fmtDuration(buf, sizeof buf, v);
        fprintf(f, "  (%s)", buf);
    }
}

static void printScalar(FILE *f, const redisReply *r, const char *key, size_t max) {
    switch (r->type) {
    case REDIS_REPLY_NIL: fputs("-", f); break;
    case REDIS_REPLY_INTEGER:
        fprintf(f, "%lld", r->integer);
        printAnnotation(f, key, r->integer);
        break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR: {
        printBytes(f, r->str, r->len, max);
        long long v;
        if (replyLL(r, &v)) printAnnotation(f, key, v);
        break;
    }
    default: break;
    }
    if (key && r->type != REDIS_REPLY_NIL && !strcmp(key, "throughput")) fputs(" jobs/s (last minute)", f);
}

static void printValue(FILE *f, const redisReply *r, int indent, size_t max);

static void printMap(FILE *f, const redisReply *r, int indent, size_t max) {
    int width = 0;
    for (size_t i = 0; i < r->elements; i += 2)
        if (isScalar(r->element[i + 1]) && (int)r->element[i]->len > width) width = (int)r->element[i]->len;
    for (size_t i = 0; i < r->elements; i += 2) {
        const redisReply *k = r->element[i], *v = r->element[i + 1];
        char key[48];
        snprintf(key, sizeof key, "%.*s", (int)k->len, k->str);
        for (char *p = key; *p; p++)
            if (*p == '_') *p = ' ';
        if (isScalar(v)) {
            fprintf(f, "%*s%-*s  ", indent, "", width + 1, strcat(key, ":"));
            snprintf(key, sizeof key, "%.*s", (int)k->len, k->str);
            printScalar(f, v, key, max);
            fputc('\n', f);
        } else {
            fprintf(f, "%*s%s:\n", indent, "", key);
            printValue(f, v, indent + 2, max);
        }
    }
}

static void printValue(FILE *f, const redisReply *r, int indent, size_t max) {
    if (isScalar(r)) {
        fprintf(f, "%*s", indent, "");
        printScalar(f, r, NULL, max);
        fputc('\n', f);
    } else if (r->elements == 0) {
        fprintf(f, "%*s(none)\n", indent, "");
    } else if (isMap(r)) {
        printMap(f, r, indent, max);
    } else {
        for (size_t i = 0; i < r->elements; i++) {
            if (isScalar(r->element[i])) {
                fprintf(f, "%*s- ", indent, "");
                printScalar(f, r->element[i], NULL, max);
                fputc('\n', f);
            } else {
                fprintf(f, "%*s-\n", indent, "");
                printValue(f, r->element[i], indent + 2, max);
            }
        }
    }
}

/* One job on one line (list output): its id, then the fields that matter
 * for a job in a queue, nulls left out, times short, long text cut. */
static void printJobLine(FILE *f, const redisReply *r) {
    if (isScalar(r)) {
        printScalar(f, r, NULL, 0);
    } else if (isMap(r) && mapGet(r, "id")) {
        static const char *const fields[] = {"attempts", "priority", "run_at", "lease_until", "worker",
                                             "finished_at", "last_error", "payload", NULL};
        printScalar(f, mapGet(r, "id"), NULL, 0);
        for (int i = 0; fields[i]; i++) {
            const redisReply *v = mapGet(r, fields[i]);
            long long n;
            if (!v || v->type == REDIS_REPLY_NIL || v->type == REDIS_REPLY_ARRAY) continue;
            fprintf(f, "  %s=", fields[i]);
            if (isTimeKey(fields[i]) && replyLL(v, &n) && n > 946684800000LL) {
                char buf[64];
                fmtTime(buf, sizeof buf, n);
                fputs(buf, f);
            } else {
                printScalar(f, v, NULL, 40);
            }
        }
    } else {
        for (size_t i = 0; i < r->elements; i++) {
            if (i) fputs("  ", f);
            if (isScalar(r->element[i])) printScalar(f, r->element[i], NULL, 60);
            else fprintf(f, "[%zu]", r->element[i]->elements);
        }
    }
    fputc('\n', f);
}

/* ------------------------------------------------------------ commands */

static int readAll(FILE *in, char **out, size_t *len) {
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) return -1;
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, in)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                return -1;
            }
            buf = nb;
        }
    }
    if (ferror(in)) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = n;
    return 0;
}

static int cmdAdd(const opts *o) {
    needArgs(o, 2, 2, "add QUEUE PAYLOAD [--delay MS] [--priority N] [--retries N] ...");
    onlyOptions(o, "add", true, false, false);
    if (o->delay && o->at) usageError("use either --delay or --at%s", "");
    const char *argv[24];
    size_t lens[24];
    int argc = 0;
    char *stdin_payload = NULL;
    size_t plen;
    const char *payload = o->pos[2];
    if (strcmp(payload, "-") == 0) {
        if (readAll(stdin, &stdin_payload, &plen) != 0) {
            fprintf(stderr, "solidis-jobs: cannot read the payload from stdin: %s\n", strerror(errno));
            return 1;
        }
        payload = stdin_payload;
    } else {
        plen = strlen(payload);
    }
#define ARG(s, n) (argv[argc] = (s), lens[argc] = (n), argc++)
#define SARG(s) ARG((s), strlen(s))
    SARG("JOB.ADD");
    SARG(o->pos[1]);
    ARG(payload, plen);
    if (o->delay) SARG("DELAY"), SARG(o->delay);
    if (o->at) SARG("AT"), SARG(o->at);
    if (o->priority) SARG("PRIORITY"), SARG(o->priority);
    if (o->retries) SARG("RETRIES"), SARG(o->retries);
    if (o->backoff) SARG("BACKOFF"), SARG(o->backoff);
    if (o->timeout) SARG("TIMEOUT"), SARG(o->timeout);
    if (o->unique) SARG("UNIQUE"), SARG(o->unique);
    if (o->ttl) SARG("TTL"), SARG(o->ttl);
#undef SARG
#undef ARG
    redisContext *c = connectOrDie(o);
    redisReply *r = commandOrDie(c, o, argc, argv, lens);
    printScalar(stdout, r, NULL, 0);
    fputc('\n', stdout);
    freeReplyObject(r);
    redisFree(c);
    free(stdin_payload);
    return 0;
}

/* One row of the all-queues table. */
static void statsRow(const char *name, size_t nlen, const redisReply *st, int width) {
    static const char *const counts[] = {"ready", "delayed", "running", "done", "dead", "cancelled", NULL};
    printf("%-*.*s", width, (int)nlen, name);
    for (int i = 0; counts[i]; i++) {
        long long n = 0;
        if (replyLL(mapGet(st, counts[i]), &n)) printf("  %*lld", i == 5 ? 9 : 7, n);
        else printf("  %*s", i == 5 ? 9 : 7, "?");
    }
    long long age = 0, paused = 0;
    char buf[32] = "-";
    if (replyLL(mapGet(st, "oldest_ready_age_ms"), &age) && age > 0) fmtDuration(buf, sizeof buf, age);
    printf("  %12s", buf);
    const redisReply *tp = mapGet(st, "throughput");
    printf("  %8s", tp && (tp->type == REDIS_REPLY_STRING || tp->type == REDIS_REPLY_STATUS) ? tp->str : "-");
    if (replyLL(mapGet(st, "paused"), &paused) && paused) printf("  paused");
    printf("\n");
}

static int cmdStats(const opts *o) {
    needArgs(o, 0, 1, "stats [QUEUE]");
    onlyOptions(o, "stats", false, false, false);
    const char *argv[2] = {"JOB.STATS", o->pos[1]};
    redisContext *c = connectOrDie(o);
    redisReply *r = commandOrDie(c, o, o->npos, argv, NULL);
    const redisReply *names = o->npos == 1 ? mapGet(r, "queues") : NULL;
    if (o->npos == 2 || !names || names->type != REDIS_REPLY_ARRAY) {
        if (o->npos == 2) printf("queue %s\n", o->pos[1]);
        else printf("all queues on %s:%d\n", o->host, o->port);
        printValue(stdout, r, 2, 200);
        freeReplyObject(r);
        redisFree(c);
        return 0;
    }
    /* All queues: one line each (their JOB.STATS pipelined), then the totals. */
    int width = 5;
    for (size_t i = 0; i < names->elements; i++)
        if (names->element[i]->type == REDIS_REPLY_STRING && (int)names->element[i]->len > width)
            width = names->element[i]->len > 40 ? 40 : (int)names->element[i]->len;
    printf("%zu queue%s on %s:%d\n", names->elements, names->elements == 1 ? "" : "s", o->host, o->port);
    printf("%-*s  %7s  %7s  %7s  %7s  %7s  %9s  %12s  %8s\n", width, "queue", "ready", "delayed", "running", "done",
           "dead", "cancelled", "oldest ready", "jobs/s");
    for (size_t i = 0; i < names->elements; i++) {
        const redisReply *n = names->element[i];
        const char *qa[] = {"JOB.STATS", n->str};
        size_t ql[] = {9, n->len};
        if (n->type != REDIS_REPLY_STRING || redisAppendCommandArgv(c, 2, qa, ql) != REDIS_OK) names = NULL;
        if (!names) break;
    }
    for (size_t i = 0; names && i < names->elements; i++) {
        void *one = NULL;
        if (redisGetReply(c, &one) != REDIS_OK || !one) {
            fprintf(stderr, "solidis-jobs: connection to %s:%d lost: %s\n", o->host, o->port, c->errstr);
            exit(1);
        }
        const redisReply *n = names->element[i];
        if (((redisReply *)one)->type == REDIS_REPLY_ARRAY) statsRow(n->str, n->len, one, width);
        freeReplyObject(one);
    }
    statsRow("total", 5, r, width);
    static const char *const totals[] = {"added", "completed", "retried", "failed", "expired", NULL};
    printf("since the queues were created:");
    for (int i = 0; totals[i]; i++) {
        long long n;
        if (replyLL(mapGet(r, totals[i]), &n)) printf("%s %lld %s", i ? "," : "", n, totals[i]);
    }
    printf("\n");
    freeReplyObject(r);
    redisFree(c);
    return 0;
}

static int cmdList(const opts *o) {
    needArgs(o, 2, 2, "list QUEUE STATE [--count N]");
    onlyOptions(o, "list", false, true, false);
    redisContext *c = connectOrDie(o);
    char cursor[128] = "0";
    long long shown = 0;
    bool more = false;
    do {
        char count[32];
        long long want = o->count - shown;
        if (want > 1000) want = 1000;
        snprintf(count, sizeof count, "%lld", want);
        const char *argv[] = {"JOB.LIST", o->pos[1], o->pos[2], "CURSOR", cursor, "COUNT", count};
        redisReply *r = commandOrDie(c, o, 7, argv, NULL);
        /* [next-cursor, [job, ...]] as SCAN does */
        if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[1]->type != REDIS_REPLY_ARRAY) {
            printValue(stdout, r, 0, 200);
            freeReplyObject(r);
            break;
        }
        const redisReply *next = r->element[0], *jobs = r->element[1];
        for (size_t i = 0; i < jobs->elements && shown < o->count; i++, shown++) printJobLine(stdout, jobs->element[i]);
        if (next->type == REDIS_REPLY_INTEGER) snprintf(cursor, sizeof cursor, "%lld", next->integer);
        else if (next->type == REDIS_REPLY_STRING) snprintf(cursor, sizeof cursor, "%.*s", (int)next->len, next->str);
        else snprintf(cursor, sizeof cursor, "0");
        more = strcmp(cursor, "0") != 0;
        freeReplyObject(r);
    } while (more && shown < o->count);
    if (shown == 0) printf("no %s jobs in %s\n", o->pos[2], o->pos[1]);
    else printf("%lld %s job%s in %s%s\n", shown, o->pos[2], shown == 1 ? "" : "s", o->pos[1],
                more ? " shown (more: raise --count)" : "");
    redisFree(c);
    return 0;
}

static int cmdGet(const opts *o) {
    needArgs(o, 1, 1, "get ID");
    onlyOptions(o, "get", false, false, false);
    const char *argv[] = {"JOB.GET", o->pos[1]};
    redisContext *c = connectOrDie(o);
    redisReply *r = commandOrDie(c, o, 2, argv, NULL);
    int rc = 0;
    if (r->type == REDIS_REPLY_NIL) {
        fprintf(stderr, "solidis-jobs: no job %s\n", o->pos[1]);
        rc = 1;
    } else {
        printf("job %s\n", o->pos[1]);
        printValue(stdout, r, 2, 0);
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

static int cmdRetry(const opts *o) {
    needArgs(o, 1, 1, "retry ID");
    onlyOptions(o, "retry", false, false, false);
    const char *argv[] = {"JOB.RETRY", o->pos[1]};
    redisContext *c = connectOrDie(o);
    redisReply *r = commandOrDie(c, o, 2, argv, NULL);
    int rc = 0;
    if ((r->type == REDIS_REPLY_INTEGER && r->integer == 0) || r->type == REDIS_REPLY_NIL) {
        fprintf(stderr, "solidis-jobs: job %s was not retried (no such dead job)\n", o->pos[1]);
        rc = 1;
    } else {
        printf("job %s: dead -> ready\n", o->pos[1]);
    }
    freeReplyObject(r);
    redisFree(c);
    return rc;
}

int main(int argc, char **argv) {
    opts o;
    parseArgs(argc, argv, &o);
    if (o.npos == 0) {
        fputs(USAGE, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    const char *cmd = o.pos[0];
    if (!strcmp(cmd, "add")) return cmdAdd(&o);
    if (!strcmp(cmd, "stats")) return cmdStats(&o);
    if (!strcmp(cmd, "list")) return cmdList(&o);
    if (!strcmp(cmd, "get")) return cmdGet(&o);
    if (!strcmp(cmd, "retry")) return cmdRetry(&o);
    if (!strcmp(cmd, "work")) return cmdWork(&o);
    if (!strcmp(cmd, "help")) {
        fputs(USAGE, stdout);
        return 0;
    }
    usageError("unknown command '%s'", cmd);
    return 2;
}
