/*
 * target_s3.c — a replica in S3-compatible object storage
 * (s3://bucket/prefix?endpoint=http://host:port&region=us-east-1).
 *
 * Owns the S3 dialect: path-style URLs (<endpoint>/<bucket>/<prefix>/<name>,
 * so any endpoint works without DNS tricks), SigV4 signing (done by libcurl),
 * one PUT per object (S3 makes a PUT visible all at once, which is the
 * atomicity target_ops asks for), ListObjectsV2 paging and S3 error bodies.
 *
 * Threads: a target is used by one thread at a time (the replication thread,
 * or the command-line tool), but several targets may be busy at once. Each
 * target keeps its own CURL easy handle so consecutive requests reuse one
 * keep-alive connection; libcurl's global state is set up once per process.
 * No request retries here: the caller (the replication loop) owns retrying.
 *
 * Secrets (the secret key, a session token) only go into curl's auth options
 * and request headers, never into URLs or messages.
 */
#include "repl_internal.h"
#include <curl/curl.h>
#include <curl/header.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define S3_CONNECT_TIMEOUT_MS 5000L
/* A dead peer (not one byte either way) fails after this many seconds; a
 * slow but moving transfer of a large snapshot is never cut off. */
#define S3_STALL_SECONDS 20L
/* How long a PUT waits for "100 Continue" before sending its body anyway. */
#define S3_EXPECT_100_MS 200L
/* Non-2xx bodies are small XML documents; keep enough for <Code>/<Message>. */
#define S3_ERRBODY_MAX 16384

typedef struct s3_target {
    CURL *curl;
    char *endpoint;        /* scheme://host[:port], no trailing slash */
    char *bucket;
    char *prefix;          /* "" or "a/b", no leading or trailing slash */
    char *sigv4;           /* "aws:amz:<region>:s3" */
    char *access_key, *secret_key;
    char *token_header;    /* "x-amz-security-token: …" or NULL */
    char *cainfo;          /* AWS_CA_BUNDLE or NULL (system default) */
} s3_target;

/* ---- libcurl global state ------------------------------------------------ */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

/* curl_global_init is not thread-safe and must precede every handle. It is
 * never undone: targets may live until exit in any thread. */
static void curlInitOnce(void) {
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- small buffers and strings ------------------------------------------ */

typedef struct membuf {
    char *p;
    size_t len, cap;
} membuf;

/* Keeps p NUL-terminated so callers can scan it as a string. */
static void membufAppend(membuf *m, const void *data, size_t n) {
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 4096;
        while (cap < m->len + n + 1) cap *= 2;
        m->p = realloc(m->p, cap);
        m->cap = cap;
    }
    memcpy(m->p + m->len, data, n);
    m->len += n;
    m->p[m->len] = '\0';
}

static void membufAppendStr(membuf *m, const char *s) {
    membufAppend(m, s, strlen(s));
}

static void membufFree(membuf *m) {
    free(m->p);
    m->p = NULL;
    m->len = m->cap = 0;
}

/* RFC 3986 percent-encoding as SigV4 canonicalizes it: everything but
 * unreserved characters, upper-case hex; '/' is kept in paths only. The
 * server re-encodes what it decoded the same way, so signatures match. */
static void appendEncoded(membuf *m, const char *s, bool keep_slash) {
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
            *c == '-' || *c == '.' || *c == '_' || *c == '~' || (keep_slash && *c == '/')) {
            membufAppend(m, c, 1);
        } else {
            char esc[3] = {'%', hex[*c >> 4], hex[*c & 15]};
            membufAppend(m, esc, 3);
        }
    }
}

static int hexValue(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Percent-decode n bytes of a URL query value into a new string. */
static char *percentDecode(const char *s, size_t n) {
    char *out = malloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (s[i] == '%' && i + 2 < n && (hi = hexValue(s[i + 1])) >= 0 && (lo = hexValue(s[i + 2])) >= 0) {
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* ---- XML, the little of it S3 answers with ------------------------------- */

/* Finds the first <tag>…</tag> in [from, end): its content is [*s, *e) and
 * the element ends at *after. S3 documents are flat enough that string
 * scanning is exact for the elements read here (Key, Size, Code, …). */
static bool xmlFind(const char *from, const char *end, const char *tag, const char **s, const char **e,
                    const char **after) {
    char open[64], close[64];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    const char *o = memmem(from, (size_t)(end - from), open, strlen(open));
    if (!o) return false;
    o += strlen(open);
    const char *c = memmem(o, (size_t)(end - o), close, strlen(close));
    if (!c) return false;
    *s = o;
    *e = c;
    if (after) *after = c + strlen(close);
    return true;
}

/* Decodes the XML entities S3 uses in [s, e) into a new string. */
static char *xmlUnescape(const char *s, const char *e) {
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    membuf out = {0};
    membufAppend(&out, "", 0);
    for (const char *p = s; p < e; p++) {
        bool done = false;
        for (size_t i = 0; i < sizeof(ents) / sizeof(ents[0]) && *p == '&' && !done; i++) {
            size_t n = strlen(ents[i].ent);
            if ((size_t)(e - p) >= n && memcmp(p, ents[i].ent, n) == 0) {
                membufAppend(&out, &ents[i].c, 1);
                p += n - 1;
                done = true;
            }
        }
        /* numeric references (&#13; &#x1F;) stand for control characters */
        if (!done && *p == '&' && e - p > 3 && p[1] == '#') {
            char *stop;
            bool hexref = p[2] == 'x' || p[2] == 'X';
            unsigned long v = strtoul(p + (hexref ? 3 : 2), &stop, hexref ? 16 : 10);
            if (stop < e && *stop == ';' && v > 0 && v < 0x80) {
                char c = (char)v;
                membufAppend(&out, &c, 1);
                p = stop;
                done = true;
            }
        }
        if (!done) membufAppend(&out, p, 1);
    }
    return out.p;
}

/* Decoded text of the first <tag> in [from, end), or NULL. */
static char *xmlText(const char *from, const char *end, const char *tag) {
    const char *s, *e;
    return xmlFind(from, end, tag, &s, &e, NULL) ? xmlUnescape(s, e) : NULL;
}

/* ---- one HTTP exchange -------------------------------------------------- */

/* Where a request body comes from: memory or an open file, both rewindable
 * because curl replays the body when a reused keep-alive connection turns
 * out to be closed. */
typedef struct upload_src {
    const char *mem;
    FILE *file;
    size_t len, pos;
    bool short_read;       /* the file ended (or failed) before len bytes */
} upload_src;

static size_t readBody(char *dst, size_t size, size_t nmemb, void *arg) {
    upload_src *u = arg;
    size_t want = u->len - u->pos < size * nmemb ? u->len - u->pos : size * nmemb;
    size_t n = want;
    if (u->file) n = fread(dst, 1, want, u->file);
    else memcpy(dst, u->mem + u->pos, n);
    u->pos += n;
    /* Content-Length is already sent: stop rather than leave the server
     * waiting for bytes that will not come */
    if (n < want) {
        u->short_read = true;
        return CURL_READFUNC_ABORT;
    }
    return n;
}

static int seekBody(void *arg, curl_off_t offset, int origin) {
    upload_src *u = arg;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > u->len) return CURL_SEEKFUNC_CANTSEEK;
    if (u->file) return fseeko(u->file, (off_t)offset, SEEK_SET) == 0 ? CURL_SEEKFUNC_OK : CURL_SEEKFUNC_FAIL;
    u->pos = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* Where a response body goes. A 2xx body goes to memory or to a file that is
 * created only then (a 404 leaves no empty file behind); any other body is
 * an S3 error document, kept for the message. */
typedef struct response_sink {
    CURL *curl;
    long status;           /* known once the first body byte (ranged GET: the header end) arrives */
    membuf *mem;           /* 2xx body into memory, or NULL */
    size_t head;           /* > 0: a ranged GET of the first head bytes (into mem) */
    const char *path;      /* 2xx body into this new file, or NULL */
    FILE *file;
    int file_errno;        /* set when opening or writing the file failed */
    membuf errbody;
} response_sink;

static bool is2xx(long status) { return status >= 200 && status < 300; }

static int sinkOpenFile(response_sink *s) {
    s->file = fopen(s->path, "wbe");
    if (!s->file) s->file_errno = errno;
    return s->file ? 0 : -1;
}

static size_t writeBody(char *data, size_t size, size_t nmemb, void *arg) {
    response_sink *s = arg;
    size_t n = size * nmemb;
    if (s->status == 0) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &s->status);
    if (!is2xx(s->status)) {
        size_t room = S3_ERRBODY_MAX - s->errbody.len;
        membufAppend(&s->errbody, data, n < room ? n : room);
        return n;
    }
    if (s->mem) {
        size_t keep = s->head && n > s->head - s->mem->len ? s->head - s->mem->len : n;
        membufAppend(s->mem, data, keep);
        if (keep < n) return 0; /* the server ignored Range: stop, don't download the rest */
    }
    if (s->path) {
        if (!s->file && sinkOpenFile(s) != 0) return 0;
        if (fwrite(data, 1, n, s->file) != n) {
            s->file_errno = errno;
            return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
        }
    }
    return n;
}

/* "S3 GET name: HTTP 403 InvalidAccessKeyId: The AWS Access Key Id …" */
static void httpError(response_sink *s, long status, const char *verb, const char *what, char *err,
                      size_t errlen) {
    const char *end = s->errbody.p ? s->errbody.p + s->errbody.len : NULL;
    char *code = end ? xmlText(s->errbody.p, end, "Code") : NULL;
    char *msg = end ? xmlText(s->errbody.p, end, "Message") : NULL;
    snprintf(err, errlen, "S3 %s %s: HTTP %ld%s%s%s%s", verb, what, status, code ? " " : "", code ? code : "",
             msg ? ": " : "", msg ? msg : "");
    free(code);
    free(msg);
}

/* 404 means "no such object" only when the bucket itself is there: a missing
 * bucket is a configuration error that must not read as an empty replica. */
static bool isMissingObject(response_sink *s, long status) {
    return status == 404 && !(s->errbody.p && strstr(s->errbody.p, "<Code>NoSuchBucket</Code>"));
}

/* Options every request carries; curl_easy_reset keeps the handle's
 * connection cache, so the next request reuses the connection. */
static struct curl_slist *setCommonOptions(s3_target *s, const char *url, char *curlerr) {
    CURL *c = s->curl;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curlerr);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, S3_CONNECT_TIMEOUT_MS);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, S3_STALL_SECONDS);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_AWS_SIGV4, s->sigv4);
    curl_easy_setopt(c, CURLOPT_USERNAME, s->access_key);
    curl_easy_setopt(c, CURLOPT_PASSWORD, s->secret_key);
    if (s->cainfo) curl_easy_setopt(c, CURLOPT_CAINFO, s->cainfo);

    /* s3rver (and S3 for streamed bodies) needs the payload-hash header.
     * No empty "Expect:" to turn off 100-continue: curl 7.88 signs that
     * header without sending it, which S3 rejects. S3 and s3rver answer
     * 100 at once; the short wait only matters for servers that don't. */
    curl_easy_setopt(c, CURLOPT_EXPECT_100_TIMEOUT_MS, S3_EXPECT_100_MS);
    struct curl_slist *h = curl_slist_append(NULL, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
    if (s->token_header) h = curl_slist_append(h, s->token_header);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    return h;
}

/* A ranged GET is done once it holds every byte it asked for that the object
 * has (Content-Range's total is the object's size); what the connection does
 * after that no longer matters. This covers a server that ignored Range and
 * was cut off at head bytes, and s3rver, which answers a range of an empty
 * object with "bytes 0-0/0" and a Content-Length of 1 it never sends. */
static bool rangeComplete(const response_sink *sink) {
    if (!sink->head || !sink->mem || !is2xx(sink->status)) return false;
    size_t want = sink->head;
    struct curl_header *h;
    if (curl_easy_header(sink->curl, "Content-Range", 0, CURLH_HEADER, -1, &h) == CURLHE_OK) {
        const char *total = strrchr(h->value, '/');
        if (total && total[1] >= '0' && total[1] <= '9') {
            unsigned long long size = strtoull(total + 1, NULL, 10);
            if (size < want) want = (size_t)size;
        }
    }
    return sink->mem->len >= want;
}

/* At the end of a ranged GET's headers, an empty object is complete: stop
 * there rather than wait for s3rver's missing byte until it drops the
 * connection. (A GET gets no interim 1xx, so the status is the final one.) */
static size_t rangeHeader(char *data, size_t size, size_t nmemb, void *arg) {
    response_sink *sink = arg;
    size_t n = size * nmemb;
    if (n > 2 || (data[0] != '\r' && data[0] != '\n')) return n;
    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &sink->status);
    return rangeComplete(sink) ? 0 : n;
}

/* A ranged GET of bytes 0..head-1. The header goes into the signed list so
 * it is covered by the signature, as in AWS's own SigV4 example. */
static struct curl_slist *setRange(CURL *c, struct curl_slist *headers, response_sink *sink) {
    char range[64];
    snprintf(range, sizeof(range), "Range: bytes=0-%zu", sink->head - 1);
    headers = curl_slist_append(headers, range);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, rangeHeader);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, sink);
    return headers;
}

/* Runs one request. `verb` is the HTTP method, or LIST for a bucket GET;
 * `what` names the object (or list prefix) in messages. `up` is the body to
 * send (PUT) or NULL; the response body goes through `sink`. */
static int perform(s3_target *s, const char *verb, const char *what, const char *url, upload_src *up,
                   response_sink *sink, char *err, size_t errlen) {
    char curlerr[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = setCommonOptions(s, url, curlerr);
    CURL *c = s->curl;
    if (up) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, readBody);
        curl_easy_setopt(c, CURLOPT_READDATA, up);
        curl_easy_setopt(c, CURLOPT_SEEKFUNCTION, seekBody);
        curl_easy_setopt(c, CURLOPT_SEEKDATA, up);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up->len);
    } else if (strcmp(verb, "GET") != 0 && strcmp(verb, "LIST") != 0) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, verb);
    }
    if (sink->head) headers = setRange(c, headers, sink);
    sink->curl = c;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, writeBody);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);

    CURLcode rc = curl_easy_perform(c);
    curl_slist_free_all(headers);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    sink->status = status;
    if (rc != CURLE_OK && rangeComplete(sink)) rc = CURLE_OK;
    if (rc == CURLE_OK && is2xx(status) && sink->path && !sink->file) sinkOpenFile(sink); /* empty object */
    if (sink->file_errno) {
        snprintf(err, errlen, "S3 %s %s: %s: %s", verb, what, sink->path, strerror(sink->file_errno));
        return TARGET_ERR;
    }
    if (up && up->short_read) {
        snprintf(err, errlen, "S3 %s %s: local file ended before its %zu bytes (changed while uploading?)", verb,
                 what, up->len);
        return TARGET_ERR;
    }
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "S3 %s %s: %s", verb, what, curlerr[0] ? curlerr : curl_easy_strerror(rc));
        return TARGET_ERR;
    }
    if (is2xx(status)) return TARGET_OK;
    /* bytes=0-… is unsatisfiable only for an empty object: S3 says 416 */
    if (sink->head && status == 416) return TARGET_OK;
    httpError(sink, status, verb, what, err, errlen);
    return isMissingObject(sink, status) ? TARGET_NOT_FOUND : TARGET_ERR;
}

/* Closes a get_file sink; removes a file that holds no complete object. */
static int sinkFinishFile(response_sink *sink, int rc, const char *what, char *err, size_t errlen) {
    if (!sink->file) return rc;
    if (fclose(sink->file) != 0 && rc == TARGET_OK) {
        snprintf(err, errlen, "S3 GET %s: %s: %s", what, sink->path, strerror(errno));
        rc = TARGET_ERR;
    }
    sink->file = NULL;
    if (rc != TARGET_OK) unlink(sink->path);
    return rc;
}

/* ---- URLs ---------------------------------------------------------------- */

/* <endpoint>/<bucket>/<prefix>/<name>, encoded. */
static char *objectUrl(const s3_target *s, const char *name) {
    membuf m = {0};
    membufAppendStr(&m, s->endpoint);
    membufAppendStr(&m, "/");
    appendEncoded(&m, s->bucket, false);
    membufAppendStr(&m, "/");
    if (s->prefix[0]) {
        appendEncoded(&m, s->prefix, true);
        membufAppendStr(&m, "/");
    }
    appendEncoded(&m, name, true);
    return m.p;
}

/* ListObjectsV2 for keys under <prefix>/<name_prefix>. Parameters are in
 * sorted order because curl 7.88 signs the query string as given, and SigV4
 * wants it sorted. */
static char *listUrl(const s3_target *s, const char *name_prefix, const char *token) {
    membuf m = {0};
    membufAppendStr(&m, s->endpoint);
    membufAppendStr(&m, "/");
    appendEncoded(&m, s->bucket, false);
    membufAppendStr(&m, "?");
    if (token) {
        membufAppendStr(&m, "continuation-token=");
        appendEncoded(&m, token, false);
        membufAppendStr(&m, "&");
    }
    membufAppendStr(&m, "list-type=2&prefix=");
    if (s->prefix[0]) {
        appendEncoded(&m, s->prefix, false);
        appendEncoded(&m, "/", false);
    }
    appendEncoded(&m, name_prefix, false);
    return m.p;
}

/* ---- target_ops ----------------------------------------------------------- */

static int s3Upload(target *t, const char *name, upload_src *up, char *err, size_t errlen) {
    s3_target *s = t->impl;
    char *url = objectUrl(s, name);
    response_sink sink = {0};
    int rc = perform(s, "PUT", name, url, up, &sink, err, errlen);
    /* a PUT that S3 refuses is never "not found" for the caller */
    if (rc == TARGET_NOT_FOUND) rc = TARGET_ERR;
    membufFree(&sink.errbody);
    free(url);
    return rc;
}

static int s3Put(target *t, const char *name, const void *buf, size_t len, char *err, size_t errlen) {
    upload_src up = {.mem = buf, .len = len};
    return s3Upload(t, name, &up, err, errlen);
}

static int s3PutFile(target *t, const char *name, const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rbe");
    struct stat sb;
    if (!f || fstat(fileno(f), &sb) != 0) {
        snprintf(err, errlen, "open %s: %s", path, strerror(errno));
        if (f) fclose(f);
        return TARGET_ERR;
    }
    upload_src up = {.file = f, .len = (size_t)sb.st_size};
    int rc = s3Upload(t, name, &up, err, errlen);
    fclose(f);
    return rc;
}

/* A GET into memory: the whole object, or with head > 0 its first head bytes. */
static int s3GetMem(target *t, const char *name, size_t head, char **buf, size_t *len, char *err, size_t errlen) {
    s3_target *s = t->impl;
    char *url = objectUrl(s, name);
    membuf body = {0};
    response_sink sink = {.mem = &body, .head = head};
    int rc = perform(s, "GET", name, url, NULL, &sink, err, errlen);
    membufFree(&sink.errbody);
    free(url);
    if (rc != TARGET_OK) {
        membufFree(&body);
        return rc;
    }
    if (!body.p) membufAppend(&body, "", 0); /* an empty object is still a buffer */
    *buf = body.p;
    *len = body.len;
    return TARGET_OK;
}

static int s3Get(target *t, const char *name, char **buf, size_t *len, char *err, size_t errlen) {
    return s3GetMem(t, name, 0, buf, len, err, errlen);
}

/* A Range cannot ask for no bytes: ask for one and keep none. */
static int s3GetHead(target *t, const char *name, size_t max, char **buf, size_t *len, char *err, size_t errlen) {
    int rc = s3GetMem(t, name, max ? max : 1, buf, len, err, errlen);
    if (rc == TARGET_OK && *len > max) *len = max;
    return rc;
}

static int s3GetFile(target *t, const char *name, const char *path, char *err, size_t errlen) {
    s3_target *s = t->impl;
    char *url = objectUrl(s, name);
    response_sink sink = {.path = path};
    int rc = perform(s, "GET", name, url, NULL, &sink, err, errlen);
    rc = sinkFinishFile(&sink, rc, name, err, errlen);
    membufFree(&sink.errbody);
    free(url);
    return rc;
}

/* Calls fn for every <Contents> of one ListObjectsV2 page; returns the
 * continuation token when the listing goes on (malloc'd), else NULL. */
static char *listPage(const s3_target *s, const membuf *page, target_list_fn *fn, void *arg) {
    const char *p = page->p, *end = page->p + page->len, *bs, *be;
    size_t plen = strlen(s->prefix);
    while (xmlFind(p, end, "Contents", &bs, &be, &p)) {
        char *key = xmlText(bs, be, "Key"), *size = xmlText(bs, be, "Size");
        /* names are relative to the root: drop "<prefix>/" */
        const char *rel = key;
        if (rel && plen) rel = strncmp(rel, s->prefix, plen) == 0 && rel[plen] == '/' ? rel + plen + 1 : NULL;
        if (rel && rel[0]) fn(arg, rel, size ? strtoll(size, NULL, 10) : 0);
        free(key);
        free(size);
    }
    char *truncated = xmlText(page->p, end, "IsTruncated");
    char *token = NULL;
    if (truncated && strcmp(truncated, "true") == 0) token = xmlText(page->p, end, "NextContinuationToken");
    free(truncated);
    return token;
}

static int s3List(target *t, const char *prefix, target_list_fn *fn, void *arg, char *err, size_t errlen) {
    s3_target *s = t->impl;
    char *token = NULL;
    int rc;
    do {
        char *url = listUrl(s, prefix, token);
        membuf page = {0};
        response_sink sink = {.mem = &page};
        char what[512];
        snprintf(what, sizeof(what), "%s*", prefix);
        rc = perform(s, "LIST", what, url, NULL, &sink, err, errlen);
        free(token);
        token = NULL;
        /* parse after the transfer, so fn may itself use this target */
        if (rc == TARGET_OK && page.p) token = listPage(s, &page, fn, arg);
        if (token && !token[0]) {
            /* would ask for the first page again, forever */
            snprintf(err, errlen, "S3 %s: truncated listing without a continuation token", what);
            rc = TARGET_ERR;
        }
        membufFree(&page);
        membufFree(&sink.errbody);
        free(url);
    } while (rc == TARGET_OK && token);
    free(token);
    return rc == TARGET_NOT_FOUND ? TARGET_ERR : rc;
}

static int s3Del(target *t, const char *name, char *err, size_t errlen) {
    s3_target *s = t->impl;
    char *url = objectUrl(s, name);
    response_sink sink = {0};
    int rc = perform(s, "DELETE", name, url, NULL, &sink, err, errlen);
    membufFree(&sink.errbody);
    free(url);
    return rc == TARGET_NOT_FOUND ? TARGET_OK : rc; /* already gone is done */
}

static void freeSecret(char *p) {
    if (!p) return;
    explicit_bzero(p, strlen(p));
    free(p);
}

static void s3Free(s3_target *s) {
    if (s->curl) curl_easy_cleanup(s->curl);
    free(s->endpoint);
    free(s->bucket);
    free(s->prefix);
    free(s->sigv4);
    free(s->access_key);
    freeSecret(s->secret_key);
    freeSecret(s->token_header);
    free(s->cainfo);
    free(s);
}

static void s3Close(target *t) {
    s3Free(t->impl);
    free(t);
}

static const target_ops s3_ops = {.put = s3Put, .put_file = s3PutFile, .get = s3Get, .get_file = s3GetFile,
                                  .get_head = s3GetHead, .list = s3List, .del = s3Del, .close = s3Close};

/* ---- opening -------------------------------------------------------------- */

/* Applies one query parameter of the URL. */
static int applyParam(s3_target *s, const char *key, size_t klen, char *value, char **region, char *err,
                      size_t errlen) {
    if (klen == 8 && memcmp(key, "endpoint", 8) == 0) {
        if (strncmp(value, "http://", 7) != 0 && strncmp(value, "https://", 8) != 0) {
            snprintf(err, errlen, "s3 endpoint must start with http:// or https://: %s", value);
            free(value);
            return -1;
        }
        size_t n = strlen(value);
        while (n > 0 && value[n - 1] == '/') value[--n] = '\0';
        free(s->endpoint);
        s->endpoint = value;
    } else if (klen == 6 && memcmp(key, "region", 6) == 0 && value[0]) {
        free(*region);
        *region = value;
    } else {
        snprintf(err, errlen, "unknown s3 URL parameter '%.*s' (want endpoint, region)", (int)klen, key);
        free(value);
        return -1;
    }
    return 0;
}

/* s3://bucket[/prefix][?endpoint=…&region=…] */
static int parseUrl(s3_target *s, const char *url, char *err, size_t errlen) {
    const char *p = url + 5;
    size_t blen = strcspn(p, "/?");
    if (blen == 0) {
        snprintf(err, errlen, "s3 URL needs a bucket: %s", url);
        return -1;
    }
    s->bucket = strndup(p, blen);
    p += blen;
    while (*p == '/') p++;
    size_t plen = strcspn(p, "?");
    while (plen > 0 && p[plen - 1] == '/') plen--;
    s->prefix = strndup(p, plen);
    p = strchr(p, '?');

    char *region = NULL;
    while (p && *++p) {
        size_t len = strcspn(p, "&"), klen = strcspn(p, "=&");
        if (klen == len) {
            snprintf(err, errlen, "s3 URL parameter without a value: %.*s", (int)len, p);
            free(region);
            return -1;
        }
        char *value = percentDecode(p + klen + 1, len - klen - 1);
        if (applyParam(s, p, klen, value, &region, err, errlen) != 0) {
            free(region);
            return -1;
        }
        p += len;
        if (!*p) break;
    }
    if (!region) region = strdup("us-east-1");
    if (!s->endpoint) {
        size_t n = strlen(region) + 32;
        s->endpoint = malloc(n);
        snprintf(s->endpoint, n, "https://s3.%s.amazonaws.com", region);
    }
    size_t n = strlen(region) + 16;
    s->sigv4 = malloc(n);
    snprintf(s->sigv4, n, "aws:amz:%s:s3", region);
    free(region);
    return 0;
}

/* Explicit credentials win; otherwise the usual AWS environment variables. */
static int loadCredentials(s3_target *s, const target_creds *creds, char *err, size_t errlen) {
    const char *key = creds && creds->access_key ? creds->access_key : getenv("AWS_ACCESS_KEY_ID");
    const char *secret = creds && creds->secret_key ? creds->secret_key : getenv("AWS_SECRET_ACCESS_KEY");
    if (!key || !key[0] || !secret || !secret[0]) {
        snprintf(err, errlen, "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        return -1;
    }
    s->access_key = strdup(key);
    s->secret_key = strdup(secret);
    const char *token = getenv("AWS_SESSION_TOKEN");
    if (token && token[0]) {
        size_t n = strlen(token) + 32;
        s->token_header = malloc(n);
        snprintf(s->token_header, n, "x-amz-security-token: %s", token);
    }
    const char *ca = getenv("AWS_CA_BUNDLE");
    if (ca && ca[0]) s->cainfo = strdup(ca);
    return 0;
}

target *targetOpenS3(const char *url, const target_creds *creds, char *err, size_t errlen) {
    pthread_once(&curl_once, curlInitOnce);
    if (curl_init_rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl init failed: %s", curl_easy_strerror(curl_init_rc));
        return NULL;
    }
    s3_target *s = calloc(1, sizeof(*s));
    if (parseUrl(s, url, err, errlen) != 0 || loadCredentials(s, creds, err, errlen) != 0) {
        s3Free(s);
        return NULL;
    }
    s->curl = curl_easy_init();
    if (!s->curl) {
        snprintf(err, errlen, "libcurl: cannot create a handle");
        s3Free(s);
        return NULL;
    }
    target *t = calloc(1, sizeof(*t));
    t->ops = &s3_ops;
    t->impl = s;
    return t; /* target.c fills t->url with the configured URL */
}
