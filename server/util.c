/*
 * util.c — number parsing and formatting, glob matching, clocks, random
 * numbers, argument helpers.
 *
 * No state shared between threads (the random generator keeps one state per
 * thread); safe on any thread. Number parsing is
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

bool addOverflows(long long a, long long b) {
    return (b < 0 && a < 0 && b < LLONG_MIN - a) || (b > 0 && a > 0 && b > LLONG_MAX - a);
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

/* Doubles as Redis 7.2 prints them: whole numbers within +-LLONG_MAX/2 as
 * integers; otherwise the shortest digits that read back as the same double,
 * laid out plainly for moderate exponents ("0.00001", "1.5") and in
 * scientific form beyond ("1e-7", "1.2345e+25"). */
int d2string(char *buf, size_t len, double value) {
    if (isnan(value)) return snprintf(buf, len, "nan");
    if (isinf(value)) return snprintf(buf, len, value > 0 ? "inf" : "-inf");
    if (value == 0) return snprintf(buf, len, (1.0 / value < 0) ? "-0" : "0");
    if (value >= -(double)(LLONG_MAX / 2) && value <= (double)(LLONG_MAX / 2) && value == (double)(long long)value)
        return ll2string(buf, len, (long long)value);
    /* Shortest round-tripping significand: "d.ddde±X". */
    char sci[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(sci, sizeof(sci), "%.*e", prec - 1, value);
        if (strtod(sci, NULL) == value) break;
    }
    bool neg = sci[0] == '-';
    char digits[24];
    int nd = 0;
    const char *p = sci + neg;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9') digits[nd++] = *p;
    int e10 = atoi(p + 1);          /* value = d.ddd x 10^e10 */
    int k = e10 - (nd - 1);         /* value = digits x 10^k */
    int aexp = e10 < 0 ? -e10 : e10;
    char out[64];
    int o = 0;
    if (neg) out[o++] = '-';
    if (k >= 0 && aexp < nd + 7) {              /* integer-looking: digits then zeros */
        memcpy(out + o, digits, (size_t)nd); o += nd;
        for (int i = 0; i < k; i++) out[o++] = '0';
    } else if (k < 0 && (k > -7 || aexp < 4)) { /* plain decimal */
        int int_digits = nd + k;
        if (int_digits <= 0) {
            out[o++] = '0'; out[o++] = '.';
            for (int i = 0; i < -int_digits; i++) out[o++] = '0';
            memcpy(out + o, digits, (size_t)nd); o += nd;
        } else {
            memcpy(out + o, digits, (size_t)int_digits); o += int_digits;
            out[o++] = '.';
            memcpy(out + o, digits + int_digits, (size_t)(nd - int_digits)); o += nd - int_digits;
        }
    } else {                                    /* scientific, exponent unpadded */
        out[o++] = digits[0];
        if (nd > 1) { out[o++] = '.'; memcpy(out + o, digits + 1, (size_t)(nd - 1)); o += nd - 1; }
        o += snprintf(out + o, sizeof(out) - (size_t)o, "e%c%d", e10 < 0 ? '-' : '+', aexp);
    }
    out[o] = '\0';
    return snprintf(buf, len, "%s", out);
}

/* Does character class p[0..] (just after '[') accept c? Sets *plen_used to
 * the class length including the closing ']'. */
static bool classMatch(const char *p, size_t plen, char c, bool nocase, size_t *used) {
    size_t i = 0;
    bool neg = i < plen && p[i] == '^';
    if (neg) i++;
    bool match = false;
    unsigned char uc = (unsigned char)(nocase ? tolower((unsigned char)c) : c);
    while (i < plen && p[i] != ']') {
        if (p[i] == '\\' && i + 1 < plen) {
            i++;
            if ((unsigned char)p[i] == (unsigned char)c) match = true;
            i++;
        } else if (i + 2 < plen && p[i + 1] == '-') { /* Redis takes "[a-]" as a range to ']' */
            unsigned char a = (unsigned char)p[i], b = (unsigned char)p[i + 2];
            if (nocase) { a = (unsigned char)tolower(a); b = (unsigned char)tolower(b); }
            if (a > b) { unsigned char t = a; a = b; b = t; }
            if (uc >= a && uc <= b) match = true;
            i += 3;
        } else {
            unsigned char pc = (unsigned char)(nocase ? tolower((unsigned char)p[i]) : p[i]);
            if (pc == uc) match = true;
            i++;
        }
    }
    *used = i < plen ? i + 1 : i; /* an unterminated class runs to the end */
    return neg ? !match : match;
}

/* Glob matching with Redis's syntax: * ? [abc] [^a] [a-z] and \ escapes.
 * Iterative with one backtrack point (the last '*'), so a hostile pattern
 * like "a*a*a*...b" costs O(pattern x string), never exponential time. */
bool stringmatchlen(const char *p, size_t plen, const char *s, size_t slen, bool nocase) {
    if (slen == 0) return plen == 0; /* as Redis: even "*" does not match "" */
    size_t pi = 0, si = 0;
    size_t star_p = (size_t)-1, star_s = 0;
    while (si < slen) {
        if (pi < plen) {
            char pc = p[pi];
            if (pc == '*') {
                while (pi < plen && p[pi] == '*') pi++;
                if (pi == plen) return true;
                star_p = pi;
                star_s = si;
                continue;
            }
            if (pc == '?') { pi++; si++; continue; }
            if (pc == '[') {
                size_t used;
                if (classMatch(p + pi + 1, plen - pi - 1, s[si], nocase, &used)) {
                    pi += 1 + used;
                    si++;
                    continue;
                }
            } else {
                if (pc == '\\' && pi + 1 < plen) { pi++; pc = p[pi]; }
                bool eq = nocase ? tolower((unsigned char)pc) == tolower((unsigned char)s[si]) : pc == s[si];
                if (eq) { pi++; si++; continue; }
            }
        }
        if (star_p == (size_t)-1) return false;
        pi = star_p;        /* let the last '*' absorb one more character */
        si = ++star_s;
    }
    while (pi < plen && p[pi] == '*') pi++;
    return pi == plen;
}

/* Split a line into arguments, honouring "double quotes" (with \n \xHH
 * escapes) and 'single quotes', as inline requests and redis.conf lines are
 * split. Returns false on unbalanced quotes. The caller frees each argument
 * and both arrays. */
bool splitArgs(const char *line, size_t len, int *argc_out, char ***argv_out, size_t **lens_out) {
    int cap = 8, argc = 0;
    char **argv = malloc(sizeof(char *) * (size_t)cap);
    size_t *lens = malloc(sizeof(size_t) * (size_t)cap);
    char *cur = malloc(len + 1);
    const char *p = line, *end = line + len;
    for (;;) {
        while (p < end && isspace((unsigned char)*p)) p++;
        if (p >= end) break;
        size_t n = 0;
        bool inq = false, insq = false, done = false;
        while (!done) {
            if (inq) {
                if (p >= end) goto unbalanced;
                if (*p == '\\' && p + 3 < end && p[1] == 'x' && isxdigit((unsigned char)p[2]) && isxdigit((unsigned char)p[3])) {
                    char hex[3] = {p[2], p[3], 0};
                    cur[n++] = (char)strtol(hex, NULL, 16);
                    p += 3;
                } else if (*p == '\\' && p + 1 < end) {
                    p++;
                    switch (*p) {
                    case 'n': cur[n++] = '\n'; break;
                    case 'r': cur[n++] = '\r'; break;
                    case 't': cur[n++] = '\t'; break;
                    case 'b': cur[n++] = '\b'; break;
                    case 'a': cur[n++] = '\a'; break;
                    default: cur[n++] = *p; break;
                    }
                } else if (*p == '"') {
                    if (p + 1 < end && !isspace((unsigned char)p[1])) goto unbalanced;
                    done = true;
                } else {
                    cur[n++] = *p;
                }
            } else if (insq) {
                if (p >= end) goto unbalanced;
                if (*p == '\\' && p + 1 < end && p[1] == '\'') {
                    p++;
                    cur[n++] = '\'';
                } else if (*p == '\'') {
                    if (p + 1 < end && !isspace((unsigned char)p[1])) goto unbalanced;
                    done = true;
                } else {
                    cur[n++] = *p;
                }
            } else {
                if (p >= end) { done = true; break; }
                switch (*p) {
                case ' ': case '\n': case '\r': case '\t': case '\0': done = true; break;
                case '"': inq = true; break;
                case '\'': insq = true; break;
                default: cur[n++] = *p; break;
                }
            }
            if (p < end) p++;
        }
        if (argc == cap) {
            cap *= 2;
            argv = realloc(argv, sizeof(char *) * (size_t)cap);
            lens = realloc(lens, sizeof(size_t) * (size_t)cap);
        }
        argv[argc] = malloc(n + 1);
        memcpy(argv[argc], cur, n);
        argv[argc][n] = '\0';
        lens[argc++] = n;
    }
    free(cur);
    *argc_out = argc;
    *argv_out = argv;
    *lens_out = lens;
    return true;
unbalanced:
    free(cur);
    for (int i = 0; i < argc; i++) free(argv[i]);
    free(argv);
    free(lens);
    return false;
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
    if (!string2ll(r->argv[idx], r->argvlen[idx], v) || *v < 0) {
        addReplyError(r, err ? err : "ERR value is out of range, must be positive");
        return false;
    }
    return true;
}

bool argIs(request *r, int idx, const char *word) {
    size_t n = strlen(word);
    return idx < r->argc && r->argvlen[idx] == n && strncasecmp(r->argv[idx], word, n) == 0;
}

/* Redis parses scan cursors with strtoul: no leading space, no trailing
 * junk, no overflow ("-1" wraps, as in Redis). */
bool parseScanCursor(request *r, int idx, unsigned long long *cursor) {
    const char *p = r->argv[idx];
    char *end;
    errno = 0;
    *cursor = strtoull(p, &end, 10);
    if (isspace((unsigned char)p[0]) || *end != '\0' || errno == ERANGE) {
        addReplyError(r, "ERR invalid cursor");
        return false;
    }
    return true;
}

/* xorshift64, seeded from the clock and the thread on first use. */
uint64_t serverRandom(void) {
    static __thread uint64_t state;
    if (!state) state = (uint64_t)ustime() ^ ((uint64_t)(uintptr_t)&state << 17) ^ 0x9e3779b97f4a7c15ULL;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}
