/*
 * job_opts.c — the options JOB.ADD and JOB.CRON share (DELAY/AT PRIORITY
 * RETRIES BACKOFF TIMEOUT UNIQUE [FOR] TTL LIMIT): their ranges, the rule
 * that an option is given once, and the defaults. Writer and net thread
 * (pure parsing of a request's arguments; no shared state).
 */
#include "job.h"
#include <limits.h>
#include <string.h>

void jobOptsInit(jobopts *o) {
    memset(o, 0, sizeof(*o));
    o->retries = JOB_DEFAULT_RETRIES;
    o->backoff = JOB_DEFAULT_BACKOFF_MS;
}

bool jobOptRange(request *r, int idx, const char *name, long long min, long long max, long long *v) {
    if (!getLongLongArg(r, idx, v, NULL)) return false;
    if (*v < min || *v > max) {
        addReplyErrorFormat(r, "ERR %s must be between %lld and %lld", name, min, max);
        return false;
    }
    return true;
}

bool jobOptOnce(request *r, int idx, unsigned *seen, unsigned bit) {
    if (*seen & bit) {
        addReplyErrorFormat(r, "ERR option '%.128s' given more than once", r->argv[idx]);
        return false;
    }
    *seen |= bit;
    return true;
}

bool jobOptsParse(request *r, int first, jobopts *o, bool when) {
    enum { O_DELAY = 1, O_AT = 2, O_PRIORITY = 4, O_RETRIES = 8, O_BACKOFF = 16, O_TIMEOUT = 32, O_TTL = 64,
           O_UNIQUE = 128, O_LIMIT = 256 };
    unsigned seen = 0;
    for (int i = first; i < r->argc; i++) {
        int left = r->argc - i - 1;
        long long v;
        if (when && (argIs(r, i, "delay") || argIs(r, i, "at"))) {
            bool is_delay = argIs(r, i, "delay");
            if (!left) goto syntax;
            if (!jobOptOnce(r, i, &seen, is_delay ? O_DELAY : O_AT)) return false;
            if (!jobOptRange(r, i + 1, is_delay ? "DELAY" : "AT", 0, is_delay ? JOB_MAX_MS : JOB_MAX_AT, &v)) return false;
            if ((seen & (O_DELAY | O_AT)) == (O_DELAY | O_AT)) {
                addReplyError(r, "ERR DELAY and AT cannot be used together");
                return false;
            }
            o->run_at = is_delay ? r->now_ms + v : v;
            i++;
        } else if (argIs(r, i, "priority")) {
            if (!left) goto syntax;
            if (!jobOptOnce(r, i, &seen, O_PRIORITY)) return false;
            if (!jobOptRange(r, ++i, "PRIORITY", INT_MIN, INT_MAX, &o->priority)) return false;
        } else if (argIs(r, i, "retries")) {
            if (!left) goto syntax;
            if (!jobOptOnce(r, i, &seen, O_RETRIES)) return false;
            if (!jobOptRange(r, ++i, "RETRIES", 0, JOB_MAX_RETRIES, &o->retries)) return false;
        } else if (argIs(r, i, "backoff")) {
            if (!left) goto syntax;
            if (!jobOptOnce(r, i, &seen, O_BACKOFF)) return false;
            if (!jobOptRange(r, ++i, "BACKOFF", 0, JOB_MAX_MS, &o->backoff)) return false;
        } else if (argIs(r, i, "timeout")) {
            if (!left) goto syntax;
            if (!jobOptOnce(r, i, &seen, O_TIMEOUT)) return false;
            if (!jobOptRange(r, ++i, "TIMEOUT", 1, JOB_MAX_MS, &o->timeout)) return false;
        } else if (argIs(r, i, "ttl")) {
            if (!left) goto syntax;
            if (!jobOptOnce(r, i, &seen, O_TTL)) return false;
            if (!jobOptRange(r, ++i, "TTL", 1, JOB_MAX_MS, &o->ttl)) return false;
        } else if (argIs(r, i, "unique")) {
            if (!left) goto syntax;
            if (!jobOptOnce(r, i, &seen, O_UNIQUE)) return false;
            i++;
            o->unique = r->argv[i];
            o->unique_len = r->argvlen[i];
            o->unique_for = 0;
            if (argIs(r, i + 1, "for")) {
                if (i + 2 >= r->argc) goto syntax;
                if (!jobOptRange(r, i + 2, "FOR", 1, JOB_MAX_MS, &o->unique_for)) return false;
                i += 2;
            }
        } else if (argIs(r, i, "limit")) {
            if (left < 2) goto syntax;
            if (!jobOptOnce(r, i, &seen, O_LIMIT)) return false;
            o->limit_key = r->argv[i + 1];
            o->limit_len = r->argvlen[i + 1];
            if (!jobOptRange(r, i + 2, "LIMIT", 1, JOB_MAX_LIMIT, &o->limit_n)) return false;
            i += 2;
        } else {
            addReplyErrorFormat(r, "ERR unknown option '%.128s'", r->argv[i]);
            return false;
        }
    }
    return true;
syntax:
    addReplySyntaxError(r);
    return false;
}
