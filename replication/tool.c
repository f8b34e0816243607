/*
 * tool.c — bin/solidis, the command-line side of replication:
 *
 *   solidis restore -o OUT.db URL [--timestamp T | --generation G [--index I]] [--quiet]
 *   solidis replicas URL
 *
 * Owns only the command line: parsing arguments and times, opening the
 * target, and turning results into exit codes. The work is restore.c's, so
 * the server's --restore-if-empty behaves exactly like `solidis restore`.
 *
 * Exit status: 0 done; 1 the operation failed ("solidis: <message>" on
 * stderr); 2 the command line is wrong (a usage message on stderr).
 * main() returns rather than exits, so the unit tests can drive it.
 */
#include "repl_internal.h"
#include "../server/server.h"
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2 };

static const char usage_text[] =
    "usage: solidis restore -o OUT.db URL [--timestamp TIME | --generation G [--index I]] [--quiet]\n"
    "       solidis replicas URL\n"
    "       solidis --help | --version\n"
    "\n"
    "URL is file:///dir or s3://bucket/prefix[?endpoint=http://host:port&region=r].\n"
    "\n"
    "restore   rebuild a database file from a replica; OUT.db must not exist.\n"
    "          Without options: the newest generation's latest state.\n"
    "  -o, --output FILE      where to write the database\n"
    "  --timestamp TIME       the state as of TIME: RFC 3339 (2026-11-25T15:04:05Z,\n"
    "                         fractions and +01:00 offsets allowed) or unix ms\n"
    "  --generation G         restore from generation G (16 hex digits)\n"
    "  --index I              with --generation: the state at the end of segment I\n"
    "  --quiet                no progress lines\n"
    "replicas  list generations: their time ranges, snapshots and segments, and\n"
    "          the as-of times of each snapshot and of the first and last segment\n"
    "          (read from object headers: nothing is downloaded whole)\n"
    "\n"
    "S3 credentials: --access-key K --secret-key S, else AWS_ACCESS_KEY_ID and\n"
    "AWS_SECRET_ACCESS_KEY.\n";

typedef struct cli {
    const char *command, *url;
    const char *output, *timestamp, *generation, *index;
    const char *access_key, *secret_key;
    bool quiet, help, version;
} cli;

typedef struct opt_spec {
    const char *name;  /* long form, without "--" */
    char shortname;    /* 0: none */
    size_t field;      /* offsetof(cli, ...) for options with a value */
    bool restore_only;
} opt_spec;

static const opt_spec value_opts[] = {
    {"output", 'o', offsetof(cli, output), true},
    {"timestamp", 0, offsetof(cli, timestamp), true},
    {"generation", 0, offsetof(cli, generation), true},
    {"index", 0, offsetof(cli, index), true},
    {"access-key", 0, offsetof(cli, access_key), false},
    {"secret-key", 0, offsetof(cli, secret_key), false},
};

static int usageError(const char *fmt, const char *arg) {
    fprintf(stderr, "solidis: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nTry 'solidis --help'.\n");
    return EXIT_USAGE;
}

/* ---- times -------------------------------------------------------------- */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil): no timegm(), no TZ environment. */
static int64_t daysFromCivil(int64_t y, int m, int d) {
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int daysInMonth(int y, int m) {
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* n digits at *p into *out, advancing *p. */
static bool takeDigits(const char **p, int n, int *out) {
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i])) return false;
        v = v * 10 + (*p)[i] - '0';
    }
    *p += n;
    *out = v;
    return true;
}

static bool takeChar(const char **p, const char *any) {
    if (!**p || !strchr(any, **p)) return false;
    (*p)++;
    return true;
}

/* Milliseconds of a fraction ".ddd…" (truncated, any number of digits). */
static bool takeFraction(const char **p, int *ms) {
    *ms = 0;
    if (!takeChar(p, ".,")) return true;
    int n = 0;
    for (; isdigit((unsigned char)**p); (*p)++, n++)
        if (n < 3) *ms = *ms * 10 + (**p - '0');
    for (int i = n; i < 3; i++) *ms *= 10;
    return n > 0;
}

/* Seconds east of UTC: "Z" or "+hh:mm" / "-hh:mm". */
static bool takeOffset(const char **p, int *secs) {
    *secs = 0;
    if (takeChar(p, "Zz")) return true;
    char sign = **p;
    int h, m;
    if (!takeChar(p, "+-") || !takeDigits(p, 2, &h) || !takeChar(p, ":") || !takeDigits(p, 2, &m) || h > 23 ||
        m > 59)
        return false;
    *secs = (sign == '-' ? -1 : 1) * (h * 3600 + m * 60);
    return true;
}

/* RFC 3339 ("2026-11-25T15:04:05.123+01:00") or unix ms; > 0 on success. */
static int64_t parseTime(const char *s) {
    const char *p = s;
    while (isdigit((unsigned char)*p)) p++;
    if (*s && !*p && p - s <= 15) return strtoll(s, NULL, 10);
    p = s;
    int y, mo, d, h, mi, sec, ms, off;
    if (!takeDigits(&p, 4, &y) || !takeChar(&p, "-") || !takeDigits(&p, 2, &mo) || !takeChar(&p, "-") ||
        !takeDigits(&p, 2, &d) || !takeChar(&p, "Tt ") || !takeDigits(&p, 2, &h) || !takeChar(&p, ":") ||
        !takeDigits(&p, 2, &mi) || !takeChar(&p, ":") || !takeDigits(&p, 2, &sec) || !takeFraction(&p, &ms) ||
        !takeOffset(&p, &off) || *p)
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || sec > 60) return -1;
    int64_t t = daysFromCivil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    return t * 1000 + ms;
}

/* ---- arguments ---------------------------------------------------------- */

static const opt_spec *findOpt(const char *arg, const char **inline_value) {
    *inline_value = NULL;
    for (size_t i = 0; i < sizeof(value_opts) / sizeof(*value_opts); i++) {
        const opt_spec *o = &value_opts[i];
        if (arg[1] == o->shortname && o->shortname && arg[2] == '\0') return o;
        size_t n = strlen(o->name);
        if (arg[1] != '-' || strncmp(arg + 2, o->name, n) != 0) continue;
        if (arg[2 + n] == '\0') return o;
        if (arg[2 + n] == '=') {
            *inline_value = arg + 3 + n;
            return o;
        }
    }
    return NULL;
}

static int parseArgs(int argc, char **argv, cli *c) {
    memset(c, 0, sizeof(*c));
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *value;
        if (a[0] != '-' || a[1] == '\0') {
            if (!c->command) c->command = a;
            else if (!c->url) c->url = a;
            else return usageError("unexpected argument '%s'", a);
        } else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            c->help = true;
        } else if (!strcmp(a, "--version")) {
            c->version = true;
        } else if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            c->quiet = true;
        } else {
            const opt_spec *o = findOpt(a, &value);
            if (!o) return usageError("unknown option '%s'", a);
            if (!value && ++i >= argc) return usageError("%s needs a value", a);
            *(const char **)((char *)c + o->field) = value ? value : argv[i];
        }
    }
    return EXIT_OK;
}

/* Options given to a command that does not take them. */
static int checkCommandOpts(const cli *c) {
    bool restore = strcmp(c->command, "restore") == 0;
    for (size_t i = 0; i < sizeof(value_opts) / sizeof(*value_opts); i++) {
        const opt_spec *o = &value_opts[i];
        if (o->restore_only && !restore && *(const char *const *)((const char *)c + o->field))
            return usageError("--%s is an option of restore", o->name);
    }
    if (!c->url) return usageError("%s needs a replica URL", c->command);
    return EXIT_OK;
}

static bool validGeneration(const char *g) {
    if (strlen(g) != GEN_ID_LEN) return false;
    for (const char *p = g; *p; p++)
        if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f')) return false;
    return true;
}

/* Decimal, or hex with 0x as in the object names. */
static int64_t parseIndex(const char *s) {
    bool hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;
    if (!*digits || *digits == '-' || *digits == '+' || isspace((unsigned char)*digits)) return -1;
    char *end;
    errno = 0;
    long long v = strtoll(digits, &end, hex ? 16 : 10);
    return *end || errno ? -1 : v;
}

/* restore's options into *o; a usage error otherwise. */
static int restoreOpts(const cli *c, restore_opts *o) {
    *o = (restore_opts){.output = c->output, .generation = c->generation, .index = -1, .progress = !c->quiet};
    if (!c->output || !c->output[0]) return usageError("%s", "restore needs -o OUT.db");
    if (c->timestamp && (c->generation || c->index))
        return usageError("%s", "--timestamp cannot be combined with --generation or --index");
    if (c->index && !c->generation) return usageError("%s", "--index needs --generation");
    if (c->generation && !validGeneration(c->generation))
        return usageError("--generation wants 16 lowercase hex digits, not '%s'", c->generation);
    if (c->index && (o->index = parseIndex(c->index)) < 0)
        return usageError("--index wants a segment number, not '%s'", c->index);
    if (c->timestamp && (o->timestamp_ms = parseTime(c->timestamp)) <= 0)
        return usageError("--timestamp wants RFC 3339 (2026-11-25T15:04:05Z) or unix ms after 1970, not '%s'",
                          c->timestamp);
    return EXIT_OK;
}

/* ---- commands ----------------------------------------------------------- */

static int failed(const char *msg) {
    fprintf(stderr, "solidis: %s\n", msg);
    return EXIT_FAILED;
}

static int runCommand(const cli *c) {
    bool restore = strcmp(c->command, "restore") == 0;
    restore_opts ro;
    int rc = restore ? restoreOpts(c, &ro) : EXIT_OK;
    if (rc != EXIT_OK) return rc;
    char err[1024] = "";
    target_creds creds = {c->access_key, c->secret_key};
    target *t = targetOpen(c->url, &creds, err, sizeof(err));
    if (!t) return failed(err);
    rc = restore ? replRestore(t, &ro, err, sizeof(err)) : replListReplicas(t, stdout, err, sizeof(err));
    targetClose(t);
    return rc == 0 ? EXIT_OK : failed(err);
}

int main(int argc, char **argv) {
    cli c;
    int rc = parseArgs(argc, argv, &c);
    if (rc != EXIT_OK) return rc;
    if (c.help) {
        fputs(usage_text, stdout);
        return EXIT_OK;
    }
    if (c.version) {
        printf("solidis %s\n", SOLIDIS_VERSION);
        return EXIT_OK;
    }
    if (!c.command) return usageError("%s", "no command (restore or replicas)");
    if (strcmp(c.command, "restore") != 0 && strcmp(c.command, "replicas") != 0)
        return usageError("unknown command '%s'", c.command);
    rc = checkCommandOpts(&c);
    return rc != EXIT_OK ? rc : runCommand(&c);
}
