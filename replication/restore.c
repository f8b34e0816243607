/*
 * restore.c — rebuilding a database file from a replica, and listing what a
 * replica holds (`solidis restore`, `solidis replicas`, and the server's
 * --restore-if-empty).
 *
 * Only the target interface is used (list, get, get_file, get_head), so a
 * file:// and an s3:// replica restore the same way. Segments are small and
 * are fetched and decoded in memory; a snapshot can be larger than RAM, so it
 * is fetched into a file next to the output and streamed into the raw temp
 * database.
 *
 * Invariants:
 *   - opts->output is never overwritten: it is refused up front when it
 *     exists, and the finished file is moved in with renameat2(NOREPLACE),
 *     or link()+unlink() where the filesystem lacks that, so a file that
 *     appears meanwhile still wins.
 *   - nothing reaches opts->output unless every object used verified, named
 *     itself as what its name says, the segments from the snapshot to the
 *     last one wanted were contiguous, every frame carried its segment's
 *     WAL salts, and PRAGMA integrity_check said "ok".
 *     Every error path removes the temp files.
 *   - only whole transactions are applied: frames are written through the
 *     last allowed commit frame and no further, and the file is then cut to
 *     that commit's database size.
 *   - only the snapshot actually restored is downloaded whole. Whatever
 *     needs just an as-of time (choosing a snapshot for a point in time,
 *     listing) reads the object's header with get_head: on S3 a ranged GET
 *     of a few kB instead of a snapshot as large as the database.
 */
#include "repl_internal.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NAME_LEN 96
#define MSG_LEN 512
/* What get_head asks for first: any snapshot header, and a segment header
 * with a few thousand commits. A longer header is read again whole. */
#define HEADER_HEAD (64 * 1024)

static uint32_t getU32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static double mb(long long bytes) { return (double)bytes / 1e6; }

static const char *fmtSize(long long bytes, char buf[32]) {
    static const char *const units[] = {"kB", "MB", "GB", "TB"};
    double v = (double)bytes;
    int u = -1;
    for (; v >= 1000 && u < 3; u++) v /= 1000;
    if (u < 0) snprintf(buf, 32, "%lld B", bytes);
    else snprintf(buf, 32, "%.1f %s", v, units[u]);
    return buf;
}

/* RFC 3339 in UTC with milliseconds, as the tool accepts it back. */
static void fmtTime(int64_t ms, char buf[40]) {
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    time_t s = (time_t)secs;
    struct tm tm;
    gmtime_r(&s, &tm);
    size_t n = strftime(buf, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, 40 - n, ".%03dZ", (int)(ms - secs * 1000));
}

static double secondsSince(const struct timespec *t0) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

static bool pathExists(const char *path) {
    struct stat sb;
    return lstat(path, &sb) == 0;
}

/* ---- catalog: what a replica holds, from one listing -------------------- */

typedef struct rep_obj {
    uint64_t index;
    long long size;
} rep_obj;

typedef struct obj_list {
    rep_obj *v; /* sorted by index */
    size_t n, cap;
} obj_list;

typedef struct rep_gen {
    char id[GEN_ID_LEN + 1];
    obj_list snaps, segs;
    long long bytes;
} rep_gen;

typedef struct catalog {
    rep_gen *gens; /* sorted by id: oldest first */
    size_t n, cap;
} catalog;

#define GROW(arr, n, cap)                                            \
    do {                                                             \
        if ((n) == (cap)) {                                          \
            (cap) = (cap) ? 2 * (cap) : 16;                          \
            (arr) = realloc((arr), (cap) * sizeof(*(arr)));          \
        }                                                            \
    } while (0)

static rep_gen *catalogGen(catalog *c, const char *id) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->gens[i].id, id) == 0) return &c->gens[i];
    GROW(c->gens, c->n, c->cap);
    rep_gen *g = &c->gens[c->n++];
    memset(g, 0, sizeof(*g));
    memcpy(g->id, id, GEN_ID_LEN + 1);
    return g;
}

static void catalogAdd(void *arg, const char *name, long long size) {
    char gen[GEN_ID_LEN + 1];
    uint64_t index;
    int kind = objParseName(name, gen, &index);
    if (!kind) return; /* not ours: temp files, foreign objects */
    rep_gen *g = catalogGen(arg, gen);
    obj_list *l = kind == OBJ_KIND_SNAPSHOT ? &g->snaps : &g->segs;
    GROW(l->v, l->n, l->cap);
    l->v[l->n++] = (rep_obj){index, size};
    g->bytes += size;
}

static int cmpObj(const void *a, const void *b) {
    uint64_t x = ((const rep_obj *)a)->index, y = ((const rep_obj *)b)->index;
    return (x > y) - (x < y);
}

static int cmpGen(const void *a, const void *b) { return strcmp(((const rep_gen *)a)->id, ((const rep_gen *)b)->id); }

static void catalogFree(catalog *c) {
    for (size_t i = 0; i < c->n; i++) {
        free(c->gens[i].snaps.v);
        free(c->gens[i].segs.v);
    }
    free(c->gens);
    memset(c, 0, sizeof(*c));
}

static int catalogLoad(target *t, catalog *c, char *err, size_t errlen) {
    memset(c, 0, sizeof(*c));
    char e[MSG_LEN] = "";
    if (t->ops->list(t, "generations/", catalogAdd, c, e, sizeof(e)) != TARGET_OK) {
        snprintf(err, errlen, "list %s: %s", t->url ? t->url : "replica", e);
        catalogFree(c);
        return -1;
    }
    if (c->n) qsort(c->gens, c->n, sizeof(*c->gens), cmpGen);
    for (size_t i = 0; i < c->n; i++) {
        obj_list *s = &c->gens[i].snaps, *w = &c->gens[i].segs;
        if (s->n) qsort(s->v, s->n, sizeof(*s->v), cmpObj);
        if (w->n) qsort(w->v, w->n, sizeof(*w->v), cmpObj);
    }
    return 0;
}

static const rep_gen *findGen(const catalog *c, const char *id) {
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->gens[i].id, id) == 0) return &c->gens[i];
    return NULL;
}

static const rep_obj *findObj(const obj_list *l, uint64_t index) {
    rep_obj key = {index, 0};
    return l->n ? bsearch(&key, l->v, l->n, sizeof(*l->v), cmpObj) : NULL;
}

static int64_t lastIndex(const obj_list *l) { return l->n ? (int64_t)l->v[l->n - 1].index : -1; }

/* The generation id is (unix ms << 16 | random): its creation time. */
static int64_t genCreated(const char *id) { return (int64_t)(strtoull(id, NULL, 16) >> 16); }

/* ---- object headers ----------------------------------------------------- */

static int fetchHead(target *t, const char *name, size_t max, char **buf, size_t *len, char *err, size_t errlen) {
    char e[MSG_LEN] = "";
    if (t->ops->get_head(t, name, max, buf, len, e, sizeof(e)) == TARGET_OK) return 0;
    snprintf(err, errlen, "fetch %s: %s", name, e);
    return -1;
}


/* An object's header without downloading the object: its first
 * HEADER_HEAD bytes, or exactly as many as a longer header takes. */
static int fetchHeader(target *t, const char *name, obj_header *h, char *err, size_t errlen) {
    char *buf = NULL, e[MSG_LEN] = "";
    size_t len = 0, used;
    if (fetchHead(t, name, HEADER_HEAD, &buf, &len, err, errlen) != 0) return -1;
    size_t need = objHeaderBytes(buf, len);
    if (need > len && len == HEADER_HEAD) {
        free(buf);
        buf = NULL;
        if (fetchHead(t, name, need, &buf, &len, err, errlen) != 0) return -1;
    }
    int rc = objDecodeHeader(buf, len, h, &used, e, sizeof(e)) == TARGET_OK ? 0 : -1;
    free(buf);
    if (rc != 0) snprintf(err, errlen, "%s: %s", name, e);
    return rc;
}

/* A verified object can still be the wrong one (renamed, copied between
 * generations): its header must agree with its name. */
static int checkIdentity(const obj_header *h, int kind, const char *gen, uint64_t index, const char *name,
                         char *err, size_t errlen) {
    if (h->kind == kind && strcmp(h->generation, gen) == 0 && h->index == index) return 0;
    snprintf(err, errlen, "%s: header says %s %" PRIu64 " of generation %s", name,
             h->kind == OBJ_KIND_SNAPSHOT ? "snapshot" : "segment", h->index, h->generation);
    return -1;
}

/* An object's as-of time (its header's ts_last), from its header alone. */
static int objectAsOf(target *t, int kind, const char *gen, uint64_t index, int64_t *as_of, char *err,
                      size_t errlen) {
    char name[NAME_LEN];
    (kind == OBJ_KIND_SNAPSHOT ? objSnapshotName : objSegmentName)(name, sizeof(name), gen, index);
    obj_header h;
    if (fetchHeader(t, name, &h, err, errlen) != 0) return -1;
    *as_of = h.ts_last;
    int rc = checkIdentity(&h, kind, gen, index, name, err, errlen);
    objHeaderFree(&h);
    return rc;
}

/* ---- the restore plan --------------------------------------------------- */

typedef struct plan {
    const rep_gen *gen;
    const rep_obj *snap;
    int64_t last;      /* last segment to apply; < snap->index: none */
    int64_t until_ms;  /* 0: every commit; else only commits at or before it */
} plan;

/* The last segment wanted from g: opts->index, else the newest state g holds
 * (its last segment, or its newest snapshot when no segment follows it). */
static int lastWanted(const rep_gen *g, const restore_opts *o, int64_t *last, char *err, size_t errlen) {
    if (o->index >= 0) {
        if (!findObj(&g->segs, (uint64_t)o->index)) {
            snprintf(err, errlen, "segment %" PRId64 " not found in generation %s", o->index, g->id);
            return -1;
        }
        *last = o->index;
        return 0;
    }
    int64_t seg = lastIndex(&g->segs), snap = lastIndex(&g->snaps);
    *last = seg > snap - 1 ? seg : snap - 1;
    return 0;
}

static int checkContiguous(const rep_gen *g, uint64_t from, int64_t last, char *err, size_t errlen) {
    for (int64_t i = (int64_t)from; i <= last; i++) {
        if (findObj(&g->segs, (uint64_t)i)) continue;
        char name[NAME_LEN];
        objSegmentName(name, sizeof(name), g->id, (uint64_t)i);
        snprintf(err, errlen, "missing segment %s (segments %" PRIu64 "..%" PRId64 " are needed)", name, from, last);
        return -1;
    }
    return 0;
}

static const rep_gen *newestRestorable(const catalog *c, bool progress) {
    for (size_t i = c->n; i-- > 0;) {
        if (c->gens[i].snaps.n) return &c->gens[i];
        if (progress) fprintf(stderr, "skipping generation %s: it has no snapshot yet\n", c->gens[i].id);
    }
    return NULL;
}

static int planLatest(const catalog *c, const restore_opts *o, plan *p, char *err, size_t errlen) {
    p->gen = o->generation ? findGen(c, o->generation) : newestRestorable(c, o->progress);
    if (!p->gen) {
        snprintf(err, errlen, "no generation has a snapshot yet");
        return -1;
    }
    if (lastWanted(p->gen, o, &p->last, err, errlen) != 0) return -1;
    for (size_t i = p->gen->snaps.n; i-- > 0 && !p->snap;)
        if ((int64_t)p->gen->snaps.v[i].index <= p->last + 1) p->snap = &p->gen->snaps.v[i];
    if (!p->snap) {
        snprintf(err, errlen, "generation %s has no snapshot at or before segment %" PRId64, p->gen->id, p->last);
        return -1;
    }
    /* fail before the (possibly large) snapshot download */
    return checkContiguous(p->gen, p->snap->index, p->last, err, errlen);
}

/* Newest generation, then newest snapshot, whose as-of time is <= T. Only
 * the candidates' headers are read; loadSnapshot downloads the winner. */
static int planByTime(target *t, const catalog *c, const restore_opts *o, plan *p, char *err, size_t errlen) {
    for (size_t gi = c->n; gi-- > 0;) {
        const rep_gen *g = &c->gens[gi];
        if (o->generation && strcmp(g->id, o->generation) != 0) continue;
        int64_t last;
        if (lastWanted(g, o, &last, err, errlen) != 0) return -1;
        for (size_t si = g->snaps.n; si-- > 0;) {
            const rep_obj *s = &g->snaps.v[si];
            int64_t as_of;
            if ((int64_t)s->index > last + 1) continue;
            if (objectAsOf(t, OBJ_KIND_SNAPSHOT, g->id, s->index, &as_of, err, errlen) != 0) return -1;
            if (as_of <= o->timestamp_ms) {
                *p = (plan){g, s, last, o->timestamp_ms};
                return 0;
            }
        }
    }
    char when[40];
    fmtTime(o->timestamp_ms, when);
    snprintf(err, errlen, "no snapshot at or before %s", when);
    return -1;
}

/* ---- applying ----------------------------------------------------------- */

typedef struct restore_job {
    target *t;
    const restore_opts *o;
    char *tmp_db;       /* the raw database being built, next to the output */
    char *download;     /* the compressed snapshot, next to the output */
    int fd;             /* tmp_db, open while segments are applied */
    uint32_t page_size;
    uint32_t db_pages;  /* database size after the last applied commit */
    bool stopped;       /* reached a commit after until_ms */
    struct timespec started;
    time_t last_note;   /* throttles "applied segment" lines to one a second */
} restore_job;

static char *sideName(const char *output, const char *what) {
    size_t n = strlen(output) + strlen(what) + 32;
    char *p = malloc(n);
    snprintf(p, n, "%s.%s-%ld", output, what, (long)getpid());
    return p;
}

static int loadSnapshot(restore_job *j, const plan *p, char *err, size_t errlen) {
    char name[NAME_LEN], e[MSG_LEN] = "";
    objSnapshotName(name, sizeof(name), p->gen->id, p->snap->index);
    char size[32], until[48] = "";
    if (p->until_ms) {
        memcpy(until, ", up to ", 9);
        fmtTime(p->until_ms, until + 8);
    }
    if (j->o->progress)
        fprintf(stderr, "restoring generation %s from snapshot %" PRIu64 " (%s)%s\n", p->gen->id, p->snap->index,
                fmtSize(p->snap->size, size), until);
    if (j->t->ops->get_file(j->t, name, j->download, e, sizeof(e)) != TARGET_OK) {
        snprintf(err, errlen, "fetch %s: %s", name, e);
        return -1;
    }
    obj_header h;
    if (objDecodeFile(j->download, &h, j->tmp_db, e, sizeof(e)) != TARGET_OK) {
        snprintf(err, errlen, "snapshot %s: %s", name, e);
        return -1;
    }
    unlink(j->download); /* as large as the database: give the space back now */
    int rc = checkIdentity(&h, OBJ_KIND_SNAPSHOT, p->gen->id, p->snap->index, name, err, errlen);
    j->page_size = h.page_size;
    j->db_pages = h.db_pages;
    objHeaderFree(&h);
    if (rc != 0) return -1;
    j->fd = open(j->tmp_db, O_RDWR | O_CLOEXEC);
    struct stat sb;
    if (j->fd < 0 || fstat(j->fd, &sb) != 0) {
        snprintf(err, errlen, "open %s: %s", j->tmp_db, strerror(errno));
        return -1;
    }
    if ((uint64_t)sb.st_size != (uint64_t)j->db_pages * j->page_size) {
        snprintf(err, errlen, "snapshot %s holds %lld bytes, its header says %u pages of %u", name,
                 (long long)sb.st_size, j->db_pages, j->page_size);
        return -1;
    }
    return 0;
}

/* The body is whole WAL frames of the snapshot's page size, as many as the
 * header's frame range, all from the one WAL its salts name. */
static int checkSegmentShape(const restore_job *j, const obj_header *h, const unsigned char *raw, size_t rawlen,
                             const char *name, char *err, size_t errlen) {
    if (h->page_size != j->page_size) {
        snprintf(err, errlen, "segment %s has page size %u, the snapshot has %u", name, h->page_size, j->page_size);
        return -1;
    }
    size_t frame = WAL_FRAME_HEADER + h->page_size;
    if (rawlen % frame != 0 || (uint64_t)h->frame_last + 1 - h->frame_first != rawlen / frame) {
        snprintf(err, errlen, "segment %s: body of %zu bytes does not hold frames %u..%u", name, rawlen,
                 h->frame_first, h->frame_last);
        return -1;
    }
    for (size_t i = 0; i < rawlen / frame; i++) {
        const unsigned char *f = raw + i * frame;
        if (getU32(f + 8) != h->salt1 || getU32(f + 12) != h->salt2) {
            snprintf(err, errlen, "segment %s: frame %zu carries another WAL's salts", name, h->frame_first + i);
            return -1;
        }
    }
    return 0;
}

/* How many leading frames to apply: through the last commit frame at or
 * before until_ms (all commits when until_ms is 0). Sets j->stopped when a
 * later commit was met. */
static int framesAllowed(restore_job *j, const obj_header *h, const unsigned char *raw, size_t nframes,
                         int64_t until_ms, size_t *take, uint32_t *size_after, const char *name, char *err,
                         size_t errlen) {
    size_t frame = WAL_FRAME_HEADER + h->page_size, ci = 0;
    *take = 0;
    for (size_t i = 0; i < nframes; i++) {
        uint32_t commit = getU32(raw + i * frame + 4);
        if (!commit) continue;
        if (until_ms) {
            uint32_t fno = h->frame_first + (uint32_t)i;
            /* A commit frame missing from the list (commits the server
             * merged while a replica lagged) counts as late as the next
             * listed commit: restore may stop early, never late. */
            while (ci < h->ncommits && h->commits[ci].frame < fno) ci++;
            if (ci == h->ncommits) {
                snprintf(err, errlen, "segment %s: commit frame %u has no time in its commit list", name, fno);
                return -1;
            }
            if (h->commits[ci].ts_ms > until_ms) {
                j->stopped = true;
                return 0;
            }
        }
        *take = i + 1;
        *size_after = commit;
    }
    if (*take != nframes) {
        snprintf(err, errlen, "segment %s does not end on a commit frame", name);
        return -1;
    }
    return 0;
}

static int writePages(restore_job *j, const unsigned char *raw, size_t take, const char *name, char *err,
                      size_t errlen) {
    size_t frame = WAL_FRAME_HEADER + j->page_size;
    for (size_t i = 0; i < take; i++) {
        const unsigned char *f = raw + i * frame;
        uint32_t pgno = getU32(f);
        if (pgno == 0) {
            snprintf(err, errlen, "segment %s: frame %zu has page number 0", name, i);
            return -1;
        }
        off_t off = (off_t)(pgno - 1) * j->page_size;
        for (size_t done = 0; done < j->page_size;) {
            ssize_t n = pwrite(j->fd, f + WAL_FRAME_HEADER + done, j->page_size - done, off + (off_t)done);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) {
                snprintf(err, errlen, "write %s: %s", j->tmp_db, n < 0 ? strerror(errno) : "short write");
                return -1;
            }
            done += (size_t)n;
        }
    }
    return 0;
}

static int applyDecoded(restore_job *j, const plan *p, const obj_header *h, const unsigned char *raw, size_t rawlen,
                        const char *name, char *err, size_t errlen) {
    if (checkSegmentShape(j, h, raw, rawlen, name, err, errlen) != 0) return -1;
    size_t nframes = rawlen / (WAL_FRAME_HEADER + h->page_size), take;
    uint32_t size_after = 0;
    if (framesAllowed(j, h, raw, nframes, p->until_ms, &take, &size_after, name, err, errlen) != 0 ||
        writePages(j, raw, take, name, err, errlen) != 0)
        return -1;
    if (take) j->db_pages = size_after;
    if (!j->stopped && j->db_pages != h->db_pages) {
        snprintf(err, errlen, "segment %s ends at %u pages, its header says %u", name, j->db_pages, h->db_pages);
        return -1;
    }
    return 0;
}

static int applySegment(restore_job *j, const plan *p, uint64_t index, char *err, size_t errlen) {
    char name[NAME_LEN], e[MSG_LEN] = "";
    objSegmentName(name, sizeof(name), p->gen->id, index);
    char *buf = NULL;
    size_t len = 0;
    int rc = j->t->ops->get(j->t, name, &buf, &len, e, sizeof(e));
    if (rc == TARGET_NOT_FOUND) {
        snprintf(err, errlen, "missing segment %s (segments %" PRIu64 "..%" PRId64 " are needed)", name,
                 p->snap->index, p->last);
        return -1;
    }
    if (rc != TARGET_OK) {
        snprintf(err, errlen, "fetch %s: %s", name, e);
        return -1;
    }
    obj_header h;
    char *raw = NULL;
    size_t rawlen = 0;
    rc = objDecode(buf, len, &h, &raw, &rawlen, e, sizeof(e)) == TARGET_OK ? 0 : -1;
    free(buf);
    if (rc != 0) {
        snprintf(err, errlen, "segment %s: %s", name, e);
        return -1;
    }
    rc = checkIdentity(&h, OBJ_KIND_SEGMENT, p->gen->id, index, name, err, errlen);
    if (rc == 0) rc = applyDecoded(j, p, &h, (const unsigned char *)raw, rawlen, name, err, errlen);
    objHeaderFree(&h);
    free(raw);
    return rc;
}

static void noteSegment(restore_job *j, const plan *p, uint64_t index) {
    if (!j->o->progress) return;
    time_t now = time(NULL);
    bool last = j->stopped || (int64_t)index == p->last;
    if (!last && now == j->last_note) return;
    j->last_note = now;
    fprintf(stderr, "applied segment %" PRIu64 "/%" PRId64 "%s\n", index, p->last,
            j->stopped ? " (stopped at the first commit after the timestamp)" : "");
}

static int applySegments(restore_job *j, const plan *p, char *err, size_t errlen) {
    for (int64_t i = (int64_t)p->snap->index; i <= p->last && !j->stopped; i++) {
        if (applySegment(j, p, (uint64_t)i, err, errlen) != 0) return -1;
        noteSegment(j, p, (uint64_t)i);
    }
    return 0;
}

/* ---- finishing ---------------------------------------------------------- */

/* SQLite URI for path, opened immutable: no locks and no -wal/-shm files
 * next to a file that is not in place yet, whatever its header's mode. */
static char *immutableUri(const char *path) {
    size_t n = strlen(path);
    char *uri = malloc(3 * n + 32), *o = uri;
    o += sprintf(o, "file:");
    for (const unsigned char *s = (const unsigned char *)path; *s; s++) {
        if ((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("/._-~", *s))
            *o++ = (char)*s;
        else
            o += sprintf(o, "%%%02X", *s);
    }
    strcpy(o, "?immutable=1");
    return uri;
}

static int integrityCheck(const char *path, char *err, size_t errlen) {
    char *uri = immutableUri(path);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
    free(uri);
    if (rc == SQLITE_OK) rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL);
    if (rc == SQLITE_OK) rc = sqlite3_step(st);
    const char *res = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
    int ok = res && strcmp(res, "ok") == 0 ? 0 : -1;
    if (ok != 0)
        snprintf(err, errlen, "restored database fails PRAGMA integrity_check: %s",
                 res ? res : (db ? sqlite3_errmsg(db) : "out of memory"));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

static void syncParentDir(const char *path) {
    char *p = strdup(path), *slash = strrchr(p, '/');
    if (slash) slash[slash == p ? 1 : 0] = '\0';
    int fd = open(slash ? p : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(p);
}

static int moveNoReplace(const char *from, const char *to, char *err, size_t errlen) {
    int rc = renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
    if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) { /* filesystem without NOREPLACE */
        rc = link(from, to);
        if (rc == 0) unlink(from);
    }
    if (rc == 0) {
        syncParentDir(to);
        return 0;
    }
    if (errno == EEXIST) snprintf(err, errlen, "output file exists: %s", to);
    else snprintf(err, errlen, "move %s to %s: %s", from, to, strerror(errno));
    return -1;
}

static int finish(restore_job *j, char *err, size_t errlen) {
    off_t size = (off_t)j->db_pages * j->page_size;
    if (ftruncate(j->fd, size) != 0 || fsync(j->fd) != 0) {
        snprintf(err, errlen, "write %s: %s", j->tmp_db, strerror(errno));
        return -1;
    }
    close(j->fd);
    j->fd = -1;
    if (integrityCheck(j->tmp_db, err, errlen) != 0 || moveNoReplace(j->tmp_db, j->o->output, err, errlen) != 0)
        return -1;
    if (j->o->progress) {
        double secs = secondsSince(&j->started);
        char human[32];
        fprintf(stderr, "restored %u pages (%s) to %s in %.2f s (%.1f MB/s)\n", j->db_pages, fmtSize(size, human),
                j->o->output, secs, secs > 0 ? mb(size) / secs : 0.0);
    }
    return 0;
}

/* ---- entry points ------------------------------------------------------- */

static int checkOutput(const char *output, char *err, size_t errlen) {
    if (!output || !output[0]) {
        snprintf(err, errlen, "no output file given");
        return -1;
    }
    if (pathExists(output)) {
        snprintf(err, errlen, "output file exists: %s", output);
        return -1;
    }
    /* SQLite would replay a leftover log over the restored file */
    static const char *const sides[] = {"-wal", "-journal"};
    for (size_t i = 0; i < sizeof(sides) / sizeof(*sides); i++) {
        size_t n = strlen(output) + 16;
        char *side = malloc(n);
        snprintf(side, n, "%s%s", output, sides[i]);
        bool there = pathExists(side);
        if (there) snprintf(err, errlen, "%s exists (left from an old database); remove it first", side);
        free(side);
        if (there) return -1;
    }
    return 0;
}

static int checkOpts(const catalog *c, const restore_opts *o, const char *url, char *err, size_t errlen) {
    if (!c->n) {
        snprintf(err, errlen, "no generations at %s", url ? url : "replica");
        return -1;
    }
    if (o->generation && !findGen(c, o->generation)) {
        snprintf(err, errlen, "generation %s not found at %s", o->generation, url ? url : "replica");
        return -1;
    }
    if (o->index >= 0 && !o->generation) {
        snprintf(err, errlen, "an index needs a generation");
        return -1;
    }
    return 0;
}

static int restoreFromCatalog(target *t, const catalog *c, const restore_opts *o, char *err, size_t errlen) {
    if (checkOpts(c, o, t->url, err, errlen) != 0) return -1;
    restore_job j = {.t = t, .o = o, .fd = -1};
    clock_gettime(CLOCK_MONOTONIC, &j.started);
    j.tmp_db = sideName(o->output, "restoring");
    j.download = sideName(o->output, "download");
    plan p = {0};
    int rc = o->timestamp_ms ? planByTime(t, c, o, &p, err, errlen) : planLatest(c, o, &p, err, errlen);
    if (rc == 0) rc = loadSnapshot(&j, &p, err, errlen);
    if (rc == 0) rc = applySegments(&j, &p, err, errlen);
    if (rc == 0) rc = finish(&j, err, errlen);
    if (j.fd >= 0) close(j.fd);
    if (rc != 0) unlink(j.tmp_db);
    unlink(j.download);
    free(j.tmp_db);
    free(j.download);
    return rc;
}

int replRestore(target *t, const restore_opts *opts, char *err, size_t errlen) {
    if (checkOutput(opts->output, err, errlen) != 0) return -1;
    catalog c;
    if (catalogLoad(t, &c, err, errlen) != 0) return -1;
    int rc = restoreFromCatalog(t, &c, opts, err, errlen);
    catalogFree(&c);
    return rc;
}

int replRestoreIfEmpty(const char *url, const char *db_path, char *err, size_t errlen) {
    if (pathExists(db_path)) return 0;
    if (errno != ENOENT) {
        snprintf(err, errlen, "stat %s: %s", db_path, strerror(errno));
        return -1;
    }
    restore_opts o = {.output = db_path, .index = -1, .progress = true};
    if (checkOutput(db_path, err, errlen) != 0) return -1;
    target *t = targetOpen(url, NULL, err, errlen);
    if (!t) return -1;
    catalog c;
    int rc = catalogLoad(t, &c, err, errlen);
    if (rc == 0 && c.n == 0) /* a first start against a new replica */
        fprintf(stderr, "no replica at %s yet: starting with an empty database\n", url);
    else if (rc == 0)
        rc = restoreFromCatalog(t, &c, &o, err, errlen);
    catalogFree(&c);
    targetClose(t);
    return rc;
}

/* ---- listing ------------------------------------------------------------ */

/* An object's as-of time as the listing shows it: the time, or why not. */
typedef struct as_of {
    int64_t ms;
    char *why; /* malloc'd; NULL when ms is known */
} as_of;

static as_of listedAsOf(target *t, int kind, const char *gen, uint64_t index) {
    char e[MSG_LEN] = "";
    as_of a = {0, NULL};
    if (objectAsOf(t, kind, gen, index, &a.ms, e, sizeof(e)) != 0) a.why = strdup(e);
    return a;
}

static const char *fmtAsOf(const as_of *a, char buf[40]) {
    if (a->why) return a->why;
    fmtTime(a->ms, buf);
    return buf;
}

/* "generation G: created .. newest state, counts, size"; `end` is the
 * object holding the newest state (NULL: none). */
static void printGeneration(const rep_gen *g, const as_of *end, FILE *out) {
    char from[40], to[40] = "?", size[32];
    if (end && !end->why) fmtTime(end->ms, to);
    fmtTime(genCreated(g->id), from);
    fprintf(out, "generation %s: %s .. %s, %zu snapshot%s, %zu segment%s", g->id, from, to, g->snaps.n,
            g->snaps.n == 1 ? "" : "s", g->segs.n, g->segs.n == 1 ? "" : "s");
    if (g->segs.n) fprintf(out, " (%" PRIu64 "..%" PRId64 ")", g->segs.v[0].index, lastIndex(&g->segs));
    fprintf(out, ", %s\n", fmtSize(g->bytes, size));
}

/* Each snapshot's and the first and last segments' as-of times, read from
 * their headers alone: listing never downloads a whole object. */
static void listGeneration(target *t, const rep_gen *g, FILE *out) {
    as_of *snaps = calloc(g->snaps.n + 1, sizeof(*snaps)), first = {0}, last = {0};
    for (size_t i = 0; i < g->snaps.n; i++) snaps[i] = listedAsOf(t, OBJ_KIND_SNAPSHOT, g->id, g->snaps.v[i].index);
    if (g->segs.n) first = listedAsOf(t, OBJ_KIND_SEGMENT, g->id, g->segs.v[0].index);
    if (g->segs.n > 1) last = listedAsOf(t, OBJ_KIND_SEGMENT, g->id, (uint64_t)lastIndex(&g->segs));
    const as_of *last_seg = g->segs.n > 1 ? &last : &first;
    printGeneration(g, g->segs.n ? last_seg : g->snaps.n ? &snaps[g->snaps.n - 1] : NULL, out);
    char when[40], first_at[40], last_at[40], size[32], e[MSG_LEN] = "";
    for (size_t i = 0; i < g->snaps.n; i++)
        fprintf(out, "  snapshot %" PRIu64 ": as of %s, %s\n", g->snaps.v[i].index, fmtAsOf(&snaps[i], when),
                fmtSize(g->snaps.v[i].size, size));
    if (g->segs.n)
        fprintf(out, "  segments %" PRIu64 "..%" PRId64 ": first as of %s, last as of %s\n", g->segs.v[0].index,
                lastIndex(&g->segs), fmtAsOf(&first, first_at), fmtAsOf(last_seg, last_at));
    if (g->segs.n && checkContiguous(g, g->segs.v[0].index, lastIndex(&g->segs), e, sizeof(e)) != 0)
        fprintf(out, "  gap: %s\n", e);
    for (size_t i = 0; i < g->snaps.n; i++) free(snaps[i].why);
    free(snaps);
    free(first.why);
    free(last.why);
}

int replListReplicas(target *t, FILE *out, char *err, size_t errlen) {
    catalog c;
    if (catalogLoad(t, &c, err, errlen) != 0) return -1;
    if (!c.n) fprintf(out, "no generations at %s\n", t->url ? t->url : "replica");
    for (size_t i = 0; i < c.n; i++) listGeneration(t, &c.gens[i], out);
    catalogFree(&c);
    return 0;
}
