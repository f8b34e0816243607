/*
 * util.c — number parsing and formatting, glob matching, clocks.
 *
 * Pure functions with no shared state; safe on any thread. Number parsing is
 * strict the way Redis is: no leading spaces, no "+", no leading zeros for
 * integers, nothing trailing — so "01" or " 1" are not integers.
 */
#include "server.h"
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

bool string2ll(const char *s, size_t len, long long *v) {
    const char *p = s;
    size_t plen = 0;
    int negative = 0;
    unsigned long long val;

    if (len == 0 || len > 20) return false;
    if (len == 1 && p[0] == '0') { *v = 0; return true; }
    if (p[0] == '-') {
        negative = 1; p++; plen++;
        if (plen == len) return false;
    }
    if (p[0] >= '1' && p[0] <= '9') {
        val = (unsigned long long)(p[0] - '0'); p++; plen++;
    } else {
        return false;
    }
    while (plen < len && p[0] >= '0' && p[0] <= '9') {
        if (val > ULLONG_MAX / 10) return false;
        val *= 10;
        if (val > ULLONG_MAX - (unsigned long long)(p[0] - '0')) return false;
        val += (unsigned long long)(p[0] - '0');
        p++; plen++;
    }
    if (plen < len) return false;
    if (negative) {
        if (val > ((unsigned long long)(-(LLONG_MIN + 1)) + 1)) return false;
        *v = (long long)(0ULL - val);
    } else {
        if (val > LLONG_MAX) return false;
        *v = (long long)val;
    }
    return true;
}

/* Floats: strtold over a NUL-terminated copy; reject spaces, trailing junk
 * and NaN, like Redis. */
bool string2ld(const char *s, size_t len, long double *v) {
    char buf[5 * 1024 + 1];
    if (len == 0 || len >= sizeof(buf)) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return false;
    errno = 0;
    char *end;
    long double d = strtold(buf, &end);
    if ((size_t)(end - buf) != len || isnan(d)) return false;
    if (errno == ERANGE && (d == HUGE_VALL || d == -HUGE_VALL || fpclassify(d) == FP_ZERO)) return false;
    *v = d;
    return true;
}

bool string2d(const char *s, size_t len, double *v) {
    char buf[256];
    if (len == 0 || len >= sizeof(buf)) return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    if (isspace((unsigned char)buf[0])) return false;
    errno = 0;
    char *end;
    double d = strtod(buf, &end);
    if ((size_t)(end - buf) != len || isnan(d)) return false;
    if (errno == ERANGE && (d == HUGE_VAL || d == -HUGE_VAL || fpclassify(d) == FP_ZERO)) return false;
    *v = d;
    return true;
}

int ll2string(char *dst, size_t dstlen, long long v) {
    char tmp[24];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    int n = 0;
    do { tmp[n++] = (char)('0' + u % 10); u /= 10; } while (u);
    if (v < 0) tmp[n++] = '-';
    if ((size_t)n >= dstlen) return 0;
    for (int i = 0; i < n; i++) dst[i] = tmp[n - 1 - i];
    dst[n] = '\0';
    return n;
}

/* The human form INCRBYFLOAT replies with: fixed point, 17 digits after the
 * point, trailing zeros (and a bare point) removed. */
int ld2string(char *buf, size_t len, long double value) {
    if (isinf(value)) {
        if (len < 5) return 0;
        strcpy(buf, value > 0 ? "inf" : "-inf");
        return (int)strlen(buf);
    }
    int l = snprintf(buf, len, "%.17Lf", value);
    if (l < 0 || (size_t)l >= len) return 0;
    if (strchr(buf, '.')) {
        char *p = buf + l - 1;
        while (*p == '0') { p--; l--; }
        if (*p == '.') l--;
    }
    if (l == 2 && buf[0] == '-' && buf[1] == '0') { buf[0] = '0'; l = 1; }
    buf[l] = '\0';
    return l;
}

/* Doubles as Redis 7.2 prints them: the shortest text that reads back as
 * the same double ("1.1", not "1.1000000000000001"). */
int d2string(char *buf, size_t len, double value) {
    if (isnan(value)) return snprintf(buf, len, "nan");
    if (isinf(value)) return snprintf(buf, len, value > 0 ? "inf" : "-inf");
    if (value == 0) return snprintf(buf, len, (1.0 / value < 0) ? "-0" : "0");
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(buf, len, "%.*g", prec, value);
        if (strtod(buf, NULL) == value) break;
    }
    return n;
}

/* Glob matching with Redis's syntax: * ? [abc] [^a] [a-z] and \ escapes. */
bool stringmatchlen(const char *p, size_t plen, const char *s, size_t slen, bool nocase) {
    while (plen && slen) {
        switch (p[0]) {
        case '*':
            while (plen > 1 && p[1] == '*') { p++; plen--; }
            if (plen == 1) return true;
            while (slen) {
                if (stringmatchlen(p + 1, plen - 1, s, slen, nocase)) return true;
                s++; slen--;
            }
            return false;
        case '?':
            s++; slen--;
            break;
        case '[': {
            p++; plen--;
            bool neg = plen && p[0] == '^';
            if (neg) { p++; plen--; }
            bool match = false;
            while (plen) {
                if (p[0] == '\\' && plen >= 2) {
                    p++; plen--;
                    if (p[0] == s[0]) match = true;
                } else if (p[0] == ']') {
                    break;
                } else if (plen >= 3 && p[1] == '-') {
                    unsigned char a = (unsigned char)p[0], b = (unsigned char)p[2], c = (unsigned char)s[0];
                    if (a > b) { unsigned char t = a; a = b; b = t; }
                    if (nocase) { a = (unsigned char)tolower(a); b = (unsigned char)tolower(b); c = (unsigned char)tolower(c); }
                    p += 2; plen -= 2;
                    if (c >= a && c <= b) match = true;
                } else if (nocase ? tolower((unsigned char)p[0]) == tolower((unsigned char)s[0]) : p[0] == s[0]) {
                    match = true;
                }
                p++; plen--;
            }
            if (plen == 0) { /* unterminated class: treat as end of pattern */
                p--; plen++;
            }
            if (neg) match = !match;
            if (!match) return false;
            s++; slen--;
            break;
        }
        case '\\':
            if (plen >= 2) { p++; plen--; }
            /* fall through */
        default:
            if (nocase ? tolower((unsigned char)p[0]) != tolower((unsigned char)s[0]) : p[0] != s[0]) return false;
            s++; slen--;
            break;
        }
        p++; plen--;
        if (slen == 0) {
            while (plen && *p == '*') { p++; plen--; }
            break;
        }
    }
    return plen == 0 && slen == 0;
}

long long ustime(void) {
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (long long)tv.tv_sec * 1000000LL + tv.tv_usec;
}

long long mstime(void) { return ustime() / 1000; }

bool getLongLongArg(request *r, int idx, long long *v, const char *err) {
    if (!string2ll(r->argv[idx], r->argvlen[idx], v)) {
        addReplyError(r, err ? err : ERR_NOT_INT);
        return false;
    }
    return true;
}

bool getPositiveLongArg(request *r, int idx, long long *v, const char *err) {
    if (!getLongLongArg(r, idx, v, err)) return false;
    if (*v < 0) {
        addReplyError(r, err ? err : "ERR value is out of range, must be positive");
        return false;
    }
    return true;
}

bool argIs(request *r, int idx, const char *word) {
    size_t n = strlen(word);
    return idx < r->argc && r->argvlen[idx] == n && strncasecmp(r->argv[idx], word, n) == 0;
}
