/*
 * reply.c — RESP2/RESP3 reply encoding.
 *
 * Every handler answers through these helpers into a `reply` buffer that the
 * executing thread owns (the client's on the net thread, the job's on the
 * writer). The protocol version lives on the request, so one helper call
 * produces the right frame for both RESP2 and RESP3 clients. A reply whose
 * element count is known only at the end takes a deferred length: the
 * header is inserted at a mark once the elements are written.
 */
#include "server.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>

void replyInit(reply *o) {
    o->buf = o->inl;
    o->len = 0;
    o->cap = sizeof(o->inl);
}

void replyFree(reply *o) {
    if (o->buf != o->inl) free(o->buf);
    replyInit(o);
}

void replyReset(reply *o) {
    /* Keep a moderately sized heap buffer for reuse; drop huge ones. */
    if (o->buf != o->inl && o->cap > 1 << 20) replyFree(o);
    o->len = 0;
}

void replyAppend(reply *o, const void *p, size_t n) {
    if (o->len + n > o->cap) {
        size_t cap = o->cap * 2;
        while (cap < o->len + n) cap *= 2;
        char *nb;
        if (o->buf == o->inl) {
            nb = malloc(cap);
            if (!nb) abort();
            memcpy(nb, o->inl, o->len);
        } else {
            nb = realloc(o->buf, cap);
            if (!nb) abort();
        }
        o->buf = nb;
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

/* printf into a reply buffer, however long the result (a client name may
 * be as long as proto-max-bulk-len). */
void replyAppendFormat(reply *o, const char *fmt, ...) {
    char small[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(small)) { replyAppend(o, small, (size_t)n); return; }
    char *big = malloc((size_t)n + 1);
    if (!big) abort();
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    replyAppend(o, big, (size_t)n);
    free(big);
}

void addReplyRaw(request *r, const char *s, size_t n) { replyAppend(r->out, s, n); }

/* "<prefix><n>\r\n" into buf (at least 32 bytes); returns its length. */
static size_t formatPrefixLen(char *buf, char prefix, long long n) {
    buf[0] = prefix;
    int l = ll2string(buf + 1, 31, n);
    buf[l + 1] = '\r';
    buf[l + 2] = '\n';
    return (size_t)l + 3;
}

static void addPrefixLen(request *r, char prefix, long long n) {
    char buf[32];
    replyAppend(r->out, buf, formatPrefixLen(buf, prefix, n));
}

void addReplyStatus(request *r, const char *s) {
    replyAppend(r->out, "+", 1);
    replyAppend(r->out, s, strlen(s));
    replyAppend(r->out, "\r\n", 2);
}

void addReplyOK(request *r) { replyAppend(r->out, "+OK\r\n", 5); }

/* Errors that already carry a code ("WRONGTYPE ...", "NOAUTH ...") are sent
 * as they are; anything else gets "ERR ". Newlines would break the frame, so
 * they become spaces, as in Redis. */
void addReplyError(request *r, const char *s) {
    size_t n = strlen(s);
    const char *sp = memchr(s, ' ', n);
    bool has_code = sp && sp > s;
    for (const char *p = s; has_code && p < sp; p++)
        if (*p < 'A' || *p > 'Z') has_code = false;
    replyAppend(r->out, "-", 1);
    if (!has_code) replyAppend(r->out, "ERR ", 4);
    size_t start = r->out->len;
    replyAppend(r->out, s, n);
    for (size_t i = start; i < r->out->len; i++)
        if (r->out->buf[i] == '\r' || r->out->buf[i] == '\n') r->out->buf[i] = ' ';
    replyAppend(r->out, "\r\n", 2);
}

void addReplyErrorFormat(request *r, const char *fmt, ...) {
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    addReplyError(r, buf);
}

void addReplyLongLong(request *r, long long v) {
    if (v == 0) { replyAppend(r->out, ":0\r\n", 4); return; }
    if (v == 1) { replyAppend(r->out, ":1\r\n", 4); return; }
    addPrefixLen(r, ':', v);
}

void addReplyBulk(request *r, const void *p, size_t n) {
    addPrefixLen(r, '$', (long long)n);
    replyAppend(r->out, p, n);
    replyAppend(r->out, "\r\n", 2);
}

void addReplyBulkCString(request *r, const char *s) {
    if (!s) addReplyNull(r);
    else addReplyBulk(r, s, strlen(s));
}

void addReplyBulkLongLong(request *r, long long v) {
    char buf[32];
    int n = ll2string(buf, sizeof(buf), v);
    addReplyBulk(r, buf, (size_t)n);
}

void addReplyNull(request *r) {
    if (r->resp >= 3) replyAppend(r->out, "_\r\n", 3);
    else replyAppend(r->out, "$-1\r\n", 5);
}

void addReplyNullArray(request *r) {
    if (r->resp >= 3) replyAppend(r->out, "_\r\n", 3);
    else replyAppend(r->out, "*-1\r\n", 5);
}

void addReplyArrayLen(request *r, long n) { addPrefixLen(r, '*', n); }

void addReplyMapLen(request *r, long n) {
    if (r->resp >= 3) addPrefixLen(r, '%', n);
    else addPrefixLen(r, '*', 2 * n);
}

void addReplySetLen(request *r, long n) { addPrefixLen(r, r->resp >= 3 ? '~' : '*', n); }

void addReplyDouble(request *r, double d) {
    char buf[64];
    int n;
    if (isinf(d)) n = snprintf(buf, sizeof(buf), "%s", d > 0 ? "inf" : "-inf");
    else n = d2string(buf, sizeof(buf), d);
    if (r->resp >= 3) {
        replyAppend(r->out, ",", 1);
        replyAppend(r->out, buf, (size_t)n);
        replyAppend(r->out, "\r\n", 2);
    } else {
        addReplyBulk(r, buf, (size_t)n);
    }
}

void addReplyHumanLongDouble(request *r, long double d) {
    char buf[5 * 1024];
    int n = ld2string(buf, sizeof(buf), d);
    addReplyBulk(r, buf, (size_t)n);
}

void addReplyBool(request *r, int b) {
    if (r->resp >= 3) replyAppend(r->out, b ? "#t\r\n" : "#f\r\n", 4);
    else replyAppend(r->out, b ? ":1\r\n" : ":0\r\n", 4);
}

void addReplyVerbatim(request *r, const char *s, size_t n, const char *ext) {
    if (r->resp >= 3) {
        addPrefixLen(r, '=', (long long)n + 4);
        replyAppend(r->out, ext, 3);
        replyAppend(r->out, ":", 1);
        replyAppend(r->out, s, n);
        replyAppend(r->out, "\r\n", 2);
    } else {
        addReplyBulk(r, s, n);
    }
}

void addReplyArityError(request *r) {
    char buf[256];
    snprintf(buf, sizeof(buf), "ERR wrong number of arguments for '%s' command", r->cmd ? r->cmd->name : r->argv[0]);
    addReplyError(r, buf);
}

/* A negative count lets a one-element key ask for a reply of any size, all
 * of it built in memory before the first byte is written: 2^63 picks took
 * the whole server down with the OOM killer. Each pick costs at least 7
 * bytes ("$1\r\nx\r\n"); a count that cannot fit in the largest bulk the
 * server accepts (proto-max-bulk-len, 512 MB by default) is refused. */
bool checkRandomRepeats(request *r, unsigned long long picks) {
    if (picks <= (unsigned long long)configProtoMaxBulkLen() / 7) return true;
    addReplyError(r, "ERR value is out of range: the reply would exceed proto-max-bulk-len");
    return false;
}

void addReplySyntaxError(request *r) { addReplyError(r, ERR_SYNTAX); }
void addReplyWrongType(request *r) { addReplyError(r, ERR_WRONGTYPE); }

/* ---- deferred lengths ----------------------------------------------------- */

/* A reply whose element count is known only at the end: the handler notes
 * the position, writes the elements, then inserts the header there. Moving
 * the elements costs one memmove, as the copy out of a scratch buffer did. */
size_t addReplyDeferredLen(request *r) { return r->out->len; }

static void insertAt(reply *o, size_t at, const char *p, size_t n) {
    size_t tail = o->len - at;
    replyAppend(o, p, n); /* room for n more bytes; the copy at the end is overwritten */
    memmove(o->buf + at + n, o->buf + at, tail);
    memcpy(o->buf + at, p, n);
}

static void setDeferredPrefixLen(request *r, size_t mark, char prefix, long long n) {
    char buf[32];
    insertAt(r->out, mark, buf, formatPrefixLen(buf, prefix, n));
}

void setDeferredArrayLen(request *r, size_t mark, long n) { setDeferredPrefixLen(r, mark, '*', n); }

void setDeferredMapLen(request *r, size_t mark, long n) {
    if (r->resp >= 3) setDeferredPrefixLen(r, mark, '%', n);
    else setDeferredPrefixLen(r, mark, '*', 2 * (long long)n);
}

void setDeferredSetLen(request *r, size_t mark, long n) { setDeferredPrefixLen(r, mark, r->resp >= 3 ? '~' : '*', n); }

void setDeferredScanReply(request *r, size_t mark, long long cursor, long n) {
    char buf[128], num[32];
    size_t l = formatPrefixLen(buf, '*', 2);
    int nl = ll2string(num, sizeof(num), cursor);
    l += formatPrefixLen(buf + l, '$', nl);
    memcpy(buf + l, num, (size_t)nl);
    l += (size_t)nl;
    buf[l++] = '\r';
    buf[l++] = '\n';
    l += formatPrefixLen(buf + l, '*', n);
    insertAt(r->out, mark, buf, l);
}

/* Error replies never contain a newline (addReplyError), so after a storage
 * error the last line is the whole error. */
void discardDeferredReply(request *r, size_t mark) {
    reply *o = r->out;
    if (o->len <= mark) return;
    if (!r->store_error || o->len < mark + 3) {
        o->len = mark;
        return;
    }
    size_t start = o->len - 2;
    while (start > mark && o->buf[start - 1] != '\n') start--;
    memmove(o->buf + mark, o->buf + start, o->len - start);
    o->len = mark + (o->len - start);
}
