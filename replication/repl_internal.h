/*
 * repl_internal.h — the pieces replication/ is built from, shared by the
 * server side (replica.c, repl.c) and the command-line tool (tool.c).
 * Nothing outside replication/ includes this; the server sees replication.h.
 *
 * Three layers, each usable without the ones above it:
 *   1. targets   — a flat namespace of immutable objects under one URL:
 *                  file:///dir (temp file + rename) or s3://bucket/prefix
 *                  (one PUT per object, SigV4 via libcurl).
 *   2. objects   — the on-replica file format (below): snapshots and WAL
 *                  segments with a msgpack header and checksummed zstd body.
 *   3. restore   — rebuilds a database file from a target.
 *
 * Replica layout (object names relative to the target's root):
 *
 *   generations/<gen>/snapshots/<index>.snap
 *   generations/<gen>/wal/<index>.seg
 *
 * <gen> is 16 lowercase hex digits, time-ordered (unix ms << 16 | random),
 * so the lexically last generation is the newest. <index> is 16 hex digits.
 * Within a generation, segments are numbered 0, 1, 2 … without gaps; segment
 * i holds WAL frames committed after segment i-1's. A snapshot named <k> is
 * the whole database as it was before segment k, so restoring to the end of
 * segment n means: the newest snapshot with k <= n+1, then segments k..n.
 *
 * Object format (both kinds):
 *
 *   "SOLIDIS\1"            8 bytes magic
 *   u32 big-endian         length H of the header
 *   H bytes                msgpack map (keys below)
 *   body                   one zstd frame (with content checksum)
 *   trailer, 32 bytes      u64 BE body length, u64 BE raw length,
 *                          u32 BE crc32(body), u32 BE crc32(raw) or 0,
 *                          "SOLIDEND"
 *
 * Header keys: "kind" ("snapshot"|"segment"), "generation" (str), "index",
 * "page_size", "db_pages" (database size in pages after the last commit in
 * the object), "lsn_first"/"lsn_last" (log sequence numbers: frames written
 * since the server started, across WAL restarts), "ts_first"/"ts_last"
 * (unix ms of the first and last commit), "created" (unix ms). Segments also
 * carry "salt1"/"salt2" (the WAL header's salts), "frame_first"/"frame_last"
 * (WAL frame numbers, 1-based) and "commits": an array of [frame, unix-ms]
 * pairs, one per commit, for point-in-time restore, and "delta" (1 when the
 * pages are XOR-coded against the page's previous frame in the same body).
 *
 * A segment's raw body is its frames exactly as they are in the WAL, each
 *   a 24-byte frame header (u32 BE page number, u32 BE db size in pages —
 *   non-zero on a commit frame — then the WAL's two salts and two checksum
 *   words) followed by page_size bytes of page. Keeping the WAL's bytes lets
 *   the replica copy them with one read and lets restore check the salts.
 * A snapshot's raw body is a database file (page 1 first).
 */
#ifndef SOLIDIS_REPL_INTERNAL_H
#define SOLIDIS_REPL_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- targets ------------------------------------------------------------ */

enum { TARGET_OK = 0, TARGET_ERR = -1, TARGET_NOT_FOUND = 1 };

typedef struct target target;

/* Called once per object under a prefix; names are relative to the root. */
typedef void target_list_fn(void *arg, const char *name, long long size);

typedef struct target_ops {
    /* Store an object atomically: readers see all of it or nothing. */
    int (*put)(target *t, const char *name, const void *buf, size_t len, char *err, size_t errlen);
    int (*put_file)(target *t, const char *name, const char *path, char *err, size_t errlen);
    /* Fetch into malloc'd memory (*buf) or into a new local file. */
    int (*get)(target *t, const char *name, char **buf, size_t *len, char *err, size_t errlen);
    int (*get_file)(target *t, const char *name, const char *path, char *err, size_t errlen);
    /* The first max bytes of an object (all of it when it is smaller) into
     * malloc'd memory, without transferring the rest: reading a header must
     * not cost a snapshot-sized download. */
    int (*get_head)(target *t, const char *name, size_t max, char **buf, size_t *len, char *err, size_t errlen);
    /* Every object whose name starts with prefix, in any order. */
    int (*list)(target *t, const char *prefix, target_list_fn *fn, void *arg, char *err, size_t errlen);
    int (*del)(target *t, const char *name, char *err, size_t errlen);
    void (*close)(target *t);
} target_ops;

struct target {
    const target_ops *ops;
    char *url;      /* as configured, for INFO and messages (no secrets) */
    void *impl;
};

typedef struct target_creds {
    const char *access_key, *secret_key; /* NULL: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY */
} target_creds;

/* Opens file:///abs/dir or s3://bucket/prefix?endpoint=http://h:p&region=r.
 * Returns NULL and fills err on a bad URL. Never does I/O. */
target *targetOpen(const char *url, const target_creds *creds, char *err, size_t errlen);
void targetClose(target *t);

target *targetOpenFile(const char *dir, char *err, size_t errlen);     /* target_file.c */
target *targetOpenS3(const char *url, const target_creds *creds, char *err, size_t errlen); /* target_s3.c */

/* ---- objects ------------------------------------------------------------ */

enum { OBJ_KIND_SNAPSHOT = 1, OBJ_KIND_SEGMENT = 2 };

#define OBJ_MAGIC "SOLIDIS\1"
#define OBJ_TRAILER_MAGIC "SOLIDEND"
#define OBJ_TRAILER_LEN 32
#define GEN_ID_LEN 16
#define WAL_FRAME_HEADER 24 /* per frame in a segment body */

typedef struct obj_commit {
    uint32_t frame;   /* WAL frame number of the commit frame */
    int64_t ts_ms;    /* when it committed */
} obj_commit;

typedef struct obj_header {
    int kind;
    char generation[GEN_ID_LEN + 1];
    uint64_t index;
    uint32_t page_size;
    uint32_t db_pages;
    uint64_t lsn_first, lsn_last;
    int64_t ts_first, ts_last, created;
    uint32_t salt1, salt2;            /* segments */
    uint32_t frame_first, frame_last; /* segments */
    obj_commit *commits;              /* segments; malloc'd, objHeaderFree */
    size_t ncommits;
    bool delta;                       /* segments: pages XOR-coded, see objDeltaEncode */
} obj_header;

void objHeaderFree(obj_header *h);

/* Encode header + raw body into one malloc'd object (segments). */
int objEncode(const obj_header *h, const void *raw, size_t rawlen, char **out, size_t *outlen,
              char *err, size_t errlen);
/* The same into a caller-owned buffer, grown as needed (*buf, *cap), so a
 * replica reuses one allocation for every segment. */
int objEncodeBuf(const obj_header *h, const void *raw, size_t rawlen, char **buf, size_t *cap, size_t *outlen,
                 char *err, size_t errlen);
/* Segment bodies: a page that an earlier frame of the same body also holds
 * is stored XOR the earlier version (mostly zeros: a write changes a few
 * bytes of a page), which halves both the zstd time and the size. Every
 * version stays, so point-in-time restore still stops at any commit.
 * objDecode undoes it when the header says "delta". In place. */
void objDeltaEncode(char *raw, size_t rawlen, uint32_t page_size);
void objDeltaDecode(char *raw, size_t rawlen, uint32_t page_size);
/* Stream a raw file (a database) into an object file (snapshots). */
int objEncodeFile(const obj_header *h, const char *raw_path, const char *out_path, char *err, size_t errlen);
/* Parse just the header of an object (first bytes suffice: *used = bytes
 * taken by magic+length+header). Returns TARGET_ERR on a malformed header. */
int objDecodeHeader(const char *buf, size_t len, obj_header *h, size_t *used, char *err, size_t errlen);
/* How many leading bytes (magic, length, header) objDecodeHeader needs, as
 * an object's first 12 bytes say; 0 when they are too few or not an object's. */
size_t objHeaderBytes(const char *buf, size_t len);
/* Verify checksums and decode a whole in-memory object into *raw. */
int objDecode(const char *buf, size_t len, obj_header *h, char **raw, size_t *rawlen, char *err, size_t errlen);
/* Verify and stream an object file into a raw file (snapshots). */
int objDecodeFile(const char *obj_path, obj_header *h, const char *raw_path, char *err, size_t errlen);

/* Object names. buf must hold at least 80 bytes. */
void objSnapshotName(char *buf, size_t len, const char *gen, uint64_t index);
void objSegmentName(char *buf, size_t len, const char *gen, uint64_t index);
/* Parse "generations/<gen>/(snapshots|wal)/<index>.(snap|seg)"; returns the
 * kind or 0 when the name is something else. */
int objParseName(const char *name, char gen[GEN_ID_LEN + 1], uint64_t *index);
void objNewGeneration(char gen[GEN_ID_LEN + 1], int64_t now_ms);

/* ---- restore ------------------------------------------------------------ */

typedef struct restore_opts {
    const char *output;        /* must not exist */
    const char *generation;    /* NULL: newest (or the newest that covers timestamp) */
    int64_t index;             /* -1: last available; else the last segment to apply */
    int64_t timestamp_ms;      /* 0: latest; else the state as of this time */
    bool progress;             /* print progress lines to stderr */
} restore_opts;

/* Returns 0 and writes opts->output, or -1 with a message in err. */
int replRestore(target *t, const restore_opts *opts, char *err, size_t errlen);
/* Prints generations, snapshots, time ranges and sizes to out. */
int replListReplicas(target *t, FILE *out, char *err, size_t errlen);
int replRestoreIfEmpty(const char *url, const char *db_path, char *err, size_t errlen); /* --restore-if-empty: 0 if db_path exists or was restored */

#endif
