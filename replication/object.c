/*
 * object.c — the replica object format: encode, decode, verify, name.
 *
 * The format is described in repl_internal.h. Invariants kept here:
 *   - the header is self-describing msgpack, so new keys can be added and
 *     old readers skip them;
 *   - the trailer's lengths and CRCs are checked before any byte of a body
 *     is trusted, and zstd's own content checksum (XXH64 of the raw bytes)
 *     is checked on decompress, so a truncated, flipped or swapped object is
 *     always reported, never applied. Segments leave the trailer's raw CRC
 *     at 0 and rely on zstd's checksum for the raw bytes: CRC-ing every
 *     shipped frame twice cost a tenth of the replica thread;
 *   - snapshots are streamed file-to-file (a database can be larger than
 *     RAM); segments are small (bounded by the sync interval) and live in
 *     memory.
 * Thread: pure functions, callable from any thread.
 */
#include "repl_internal.h"
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* zstd's fast mode: a replica thread compresses every committed frame, so
 * speed matters more than the last 15% of ratio. */
#define ZSTD_LEVEL (-3)
#define OBJ_FIXED_HEAD 12 /* magic + u32 header length */
#define OBJ_HEADER_MAX (1u << 26)

void objHeaderFree(obj_header *h) {
    free(h->commits);
    h->commits = NULL;
    h->ncommits = 0;
}

static void putU32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
static void putU64(unsigned char *p, uint64_t v) {
    putU32(p, (uint32_t)(v >> 32));
    putU32(p + 4, (uint32_t)v);
}
static uint32_t getU32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static uint64_t getU64(const unsigned char *p) { return (uint64_t)getU32(p) << 32 | getU32(p + 4); }

/* ---- header ------------------------------------------------------------- */

static void packKey(msgpack_packer *pk, const char *k) {
    size_t n = strlen(k);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, k, n);
}
static void packU(msgpack_packer *pk, const char *k, uint64_t v) { packKey(pk, k); msgpack_pack_uint64(pk, v); }
static void packI(msgpack_packer *pk, const char *k, int64_t v) { packKey(pk, k); msgpack_pack_int64(pk, v); }

/* magic + length + msgpack header, into sbuf. */
static void encodeHead(const obj_header *h, msgpack_sbuffer *sb) {
    msgpack_sbuffer_init(sb);
    msgpack_sbuffer_write(sb, OBJ_MAGIC, 8);
    msgpack_sbuffer_write(sb, "\0\0\0\0", 4);
    msgpack_packer pk;
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    bool seg = h->kind == OBJ_KIND_SEGMENT;
    msgpack_pack_map(&pk, seg ? 18 : 12);
    packKey(&pk, "kind");
    const char *kind = seg ? "segment" : "snapshot";
    msgpack_pack_str(&pk, strlen(kind));
    msgpack_pack_str_body(&pk, kind, strlen(kind));
    packKey(&pk, "generation");
    msgpack_pack_str(&pk, strlen(h->generation));
    msgpack_pack_str_body(&pk, h->generation, strlen(h->generation));
    packU(&pk, "index", h->index);
    packU(&pk, "page_size", h->page_size);
    packU(&pk, "db_pages", h->db_pages);
    packU(&pk, "lsn_first", h->lsn_first);
    packU(&pk, "lsn_last", h->lsn_last);
    packI(&pk, "ts_first", h->ts_first);
    packI(&pk, "ts_last", h->ts_last);
    packI(&pk, "created", h->created);
    packKey(&pk, "format");
    msgpack_pack_uint64(&pk, 1);
    packKey(&pk, "compression");
    msgpack_pack_str(&pk, 4);
    msgpack_pack_str_body(&pk, "zstd", 4);
    if (seg) {
        packU(&pk, "salt1", h->salt1);
        packU(&pk, "salt2", h->salt2);
        packU(&pk, "frame_first", h->frame_first);
        packU(&pk, "frame_last", h->frame_last);
        packU(&pk, "delta", h->delta ? 1 : 0);
        packKey(&pk, "commits");
        msgpack_pack_array(&pk, h->ncommits);
        for (size_t i = 0; i < h->ncommits; i++) {
            msgpack_pack_array(&pk, 2);
            msgpack_pack_uint64(&pk, h->commits[i].frame);
            msgpack_pack_int64(&pk, h->commits[i].ts_ms);
        }
    }
    putU32((unsigned char *)sb->data + 8, (uint32_t)(sb->size - OBJ_FIXED_HEAD));
}

static bool objInt(const msgpack_object *o, int64_t *v) {
    if (o->type == MSGPACK_OBJECT_POSITIVE_INTEGER) *v = (int64_t)o->via.u64;
    else if (o->type == MSGPACK_OBJECT_NEGATIVE_INTEGER) *v = o->via.i64;
    else return false;
    return true;
}

static bool keyIs(const msgpack_object *k, const char *name) {
    return k->type == MSGPACK_OBJECT_STR && k->via.str.size == strlen(name) &&
           memcmp(k->via.str.ptr, name, k->via.str.size) == 0;
}

size_t objHeaderBytes(const char *buf, size_t len) {
    if (len < OBJ_FIXED_HEAD || memcmp(buf, OBJ_MAGIC, 8) != 0) return 0;
    uint32_t hlen = getU32((const unsigned char *)buf + 8);
    return hlen <= OBJ_HEADER_MAX ? OBJ_FIXED_HEAD + hlen : 0;
}

int objDecodeHeader(const char *buf, size_t len, obj_header *h, size_t *used, char *err, size_t errlen) {
    memset(h, 0, sizeof(*h));
    if (len < OBJ_FIXED_HEAD || memcmp(buf, OBJ_MAGIC, 8) != 0) {
        snprintf(err, errlen, "not a Solidis replica object (bad magic)");
        return TARGET_ERR;
    }
    uint32_t hlen = getU32((const unsigned char *)buf + 8);
    if (hlen > len - OBJ_FIXED_HEAD || hlen > OBJ_HEADER_MAX) {
        snprintf(err, errlen, "truncated object header");
        return TARGET_ERR;
    }
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    int rc = TARGET_ERR;
    if (msgpack_unpack_next(&u, buf + OBJ_FIXED_HEAD, hlen, &off) != MSGPACK_UNPACK_SUCCESS ||
        u.data.type != MSGPACK_OBJECT_MAP) {
        snprintf(err, errlen, "corrupt object header");
        goto out;
    }
    const msgpack_object_map *m = &u.data.via.map;
    bool have_kind = false;
    for (uint32_t i = 0; i < m->size; i++) {
        const msgpack_object *k = &m->ptr[i].key, *v = &m->ptr[i].val;
        int64_t n = 0;
        if (keyIs(k, "kind") && v->type == MSGPACK_OBJECT_STR) {
            if (v->via.str.size == 7 && memcmp(v->via.str.ptr, "segment", 7) == 0) h->kind = OBJ_KIND_SEGMENT;
            else if (v->via.str.size == 8 && memcmp(v->via.str.ptr, "snapshot", 8) == 0) h->kind = OBJ_KIND_SNAPSHOT;
            have_kind = h->kind != 0;
        } else if (keyIs(k, "generation") && v->type == MSGPACK_OBJECT_STR && v->via.str.size <= GEN_ID_LEN) {
            memcpy(h->generation, v->via.str.ptr, v->via.str.size);
            h->generation[v->via.str.size] = '\0';
        } else if (keyIs(k, "commits") && v->type == MSGPACK_OBJECT_ARRAY) {
            objHeaderFree(h); /* a repeated key replaces the earlier list */
            h->ncommits = v->via.array.size;
            h->commits = calloc(h->ncommits ? h->ncommits : 1, sizeof(obj_commit));
            for (size_t j = 0; j < h->ncommits; j++) {
                const msgpack_object *c = &v->via.array.ptr[j];
                int64_t fr, ts;
                if (c->type != MSGPACK_OBJECT_ARRAY || c->via.array.size != 2 || !objInt(&c->via.array.ptr[0], &fr) ||
                    !objInt(&c->via.array.ptr[1], &ts)) {
                    snprintf(err, errlen, "corrupt commit list in object header");
                    objHeaderFree(h);
                    goto out;
                }
                h->commits[j] = (obj_commit){(uint32_t)fr, ts};
            }
        } else if (objInt(v, &n)) {
            if (keyIs(k, "index")) h->index = (uint64_t)n;
            else if (keyIs(k, "page_size")) h->page_size = (uint32_t)n;
            else if (keyIs(k, "db_pages")) h->db_pages = (uint32_t)n;
            else if (keyIs(k, "lsn_first")) h->lsn_first = (uint64_t)n;
            else if (keyIs(k, "lsn_last")) h->lsn_last = (uint64_t)n;
            else if (keyIs(k, "ts_first")) h->ts_first = n;
            else if (keyIs(k, "ts_last")) h->ts_last = n;
            else if (keyIs(k, "created")) h->created = n;
            else if (keyIs(k, "salt1")) h->salt1 = (uint32_t)n;
            else if (keyIs(k, "salt2")) h->salt2 = (uint32_t)n;
            else if (keyIs(k, "frame_first")) h->frame_first = (uint32_t)n;
            else if (keyIs(k, "frame_last")) h->frame_last = (uint32_t)n;
            else if (keyIs(k, "delta")) h->delta = n != 0;
        }
    }
    if (!have_kind || !h->generation[0] || h->page_size < 512 || h->page_size > 65536 ||
        (h->page_size & (h->page_size - 1))) {
        snprintf(err, errlen, "object header lacks kind, generation or a valid page size");
        objHeaderFree(h);
        goto out;
    }
    *used = OBJ_FIXED_HEAD + hlen;
    rc = TARGET_OK;
out:
    msgpack_unpacked_destroy(&u);
    return rc;
}

/* ---- whole objects in memory (segments) ---------------------------------- */

static void putTrailer(unsigned char *t, uint64_t body_len, uint64_t raw_len, uint32_t body_crc, uint32_t raw_crc) {
    putU64(t, body_len);
    putU64(t + 8, raw_len);
    putU32(t + 16, body_crc);
    putU32(t + 20, raw_crc);
    memcpy(t + 24, OBJ_TRAILER_MAGIC, 8);
}

static ZSTD_CCtx *newCctx(void) {
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    ZSTD_CCtx_setParameter(cc, ZSTD_c_compressionLevel, ZSTD_LEVEL);
    ZSTD_CCtx_setParameter(cc, ZSTD_c_checksumFlag, 1);
    return cc;
}

int objEncodeBuf(const obj_header *h, const void *raw, size_t rawlen, char **buf, size_t *cap, size_t *outlen,
                 char *err, size_t errlen) {
    msgpack_sbuffer sb;
    encodeHead(h, &sb);
    size_t bound = ZSTD_compressBound(rawlen), need = sb.size + bound + OBJ_TRAILER_LEN;
    if (!*buf || *cap < need) {
        free(*buf);
        *buf = malloc(need);
        *cap = need;
    }
    char *obj = *buf;
    memcpy(obj, sb.data, sb.size);
    ZSTD_CCtx *cc = newCctx();
    size_t body = ZSTD_compress2(cc, obj + sb.size, bound, raw, rawlen);
    ZSTD_freeCCtx(cc);
    if (ZSTD_isError(body)) {
        snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(body));
        msgpack_sbuffer_destroy(&sb);
        return TARGET_ERR;
    }
    uint32_t body_crc = (uint32_t)crc32_z(0, (const Bytef *)obj + sb.size, body);
    uint32_t raw_crc = 0; /* zstd's content checksum covers the raw bytes */
    putTrailer((unsigned char *)obj + sb.size + body, body, rawlen, body_crc, raw_crc);
    *outlen = sb.size + body + OBJ_TRAILER_LEN;
    msgpack_sbuffer_destroy(&sb);
    return TARGET_OK;
}

int objEncode(const obj_header *h, const void *raw, size_t rawlen, char **out, size_t *outlen, char *err,
              size_t errlen) {
    char *buf = NULL;
    size_t cap = 0;
    int rc = objEncodeBuf(h, raw, rawlen, &buf, &cap, outlen, err, errlen);
    if (rc != TARGET_OK) free(buf);
    else *out = buf;
    return rc;
}

/* ---- delta coding of segment pages ---------------------------------------- */

/* For each frame, the index of the previous frame with the same page number
 * (or SIZE_MAX): an open-addressing table keyed by page number. */
static size_t *previousFrames(const char *raw, size_t nframes, size_t fsz) {
    size_t slots = 16;
    while (slots < nframes * 2) slots <<= 1;
    uint32_t *keys = calloc(slots, sizeof(uint32_t)); /* page numbers start at 1: 0 = empty */
    size_t *last = malloc(slots * sizeof(size_t));
    size_t *prev = malloc((nframes ? nframes : 1) * sizeof(size_t));
    for (size_t i = 0; i < nframes; i++) {
        uint32_t pgno = getU32((const unsigned char *)raw + i * fsz);
        size_t slot = (pgno * 2654435761u) & (slots - 1);
        while (keys[slot] && keys[slot] != pgno) slot = (slot + 1) & (slots - 1);
        prev[i] = keys[slot] ? last[slot] : SIZE_MAX;
        keys[slot] = pgno;
        last[slot] = i;
    }
    free(keys);
    free(last);
    return prev;
}

static void xorPage(char *dst, const char *src, uint32_t page_size) {
    uint64_t a, b;
    for (uint32_t k = 0; k + 8 <= page_size; k += 8) {
        memcpy(&a, dst + k, 8);
        memcpy(&b, src + k, 8);
        a ^= b;
        memcpy(dst + k, &a, 8);
    }
}

void objDeltaEncode(char *raw, size_t rawlen, uint32_t page_size) {
    size_t fsz = WAL_FRAME_HEADER + page_size, n = rawlen / fsz;
    size_t *prev = previousFrames(raw, n, fsz);
    for (size_t i = n; i-- > 0;) /* backwards: each base is still the original */
        if (prev[i] != SIZE_MAX) xorPage(raw + i * fsz + WAL_FRAME_HEADER, raw + prev[i] * fsz + WAL_FRAME_HEADER, page_size);
    free(prev);
}

void objDeltaDecode(char *raw, size_t rawlen, uint32_t page_size) {
    size_t fsz = WAL_FRAME_HEADER + page_size, n = rawlen / fsz;
    size_t *prev = previousFrames(raw, n, fsz);
    for (size_t i = 0; i < n; i++) /* forwards: each base is already decoded */
        if (prev[i] != SIZE_MAX) xorPage(raw + i * fsz + WAL_FRAME_HEADER, raw + prev[i] * fsz + WAL_FRAME_HEADER, page_size);
    free(prev);
}

/* Check the trailer against the bytes between header and trailer. */
static int checkTrailer(const unsigned char *t, uint64_t body_len_seen, uint32_t body_crc_seen, uint64_t *raw_len,
                        uint32_t *raw_crc, char *err, size_t errlen) {
    if (memcmp(t + 24, OBJ_TRAILER_MAGIC, 8) != 0) {
        snprintf(err, errlen, "object is truncated (no trailer)");
        return TARGET_ERR;
    }
    if (getU64(t) != body_len_seen) {
        snprintf(err, errlen, "object body length mismatch (%" PRIu64 " != %" PRIu64 ")", getU64(t), body_len_seen);
        return TARGET_ERR;
    }
    if (getU32(t + 16) != body_crc_seen) {
        snprintf(err, errlen, "object checksum mismatch (corrupt body)");
        return TARGET_ERR;
    }
    *raw_len = getU64(t + 8);
    *raw_crc = getU32(t + 20);
    return TARGET_OK;
}

int objDecode(const char *buf, size_t len, obj_header *h, char **raw, size_t *rawlen, char *err, size_t errlen) {
    size_t used;
    if (objDecodeHeader(buf, len, h, &used, err, errlen) != TARGET_OK) return TARGET_ERR;
    if (len < used + OBJ_TRAILER_LEN) {
        snprintf(err, errlen, "object is truncated");
        objHeaderFree(h);
        return TARGET_ERR;
    }
    size_t body = len - used - OBJ_TRAILER_LEN;
    uint64_t want_len;
    uint32_t want_crc;
    if (checkTrailer((const unsigned char *)buf + len - OBJ_TRAILER_LEN, body,
                     (uint32_t)crc32_z(0, (const Bytef *)buf + used, body), &want_len, &want_crc, err,
                     errlen) != TARGET_OK) {
        objHeaderFree(h);
        return TARGET_ERR;
    }
    /* The trailer's raw length is not covered by a checksum: trust it only
     * when zstd's frame header agrees, so a flipped bit cannot ask for a
     * huge allocation. */
    unsigned long long frame_len = ZSTD_getFrameContentSize(buf + used, body);
    char *out = frame_len == want_len ? malloc(want_len ? want_len : 1) : NULL;
    if (!out) {
        snprintf(err, errlen, "object body length does not match its zstd frame");
        objHeaderFree(h);
        return TARGET_ERR;
    }
    size_t n = ZSTD_decompress(out, want_len, buf + used, body);
    if (ZSTD_isError(n) || n != want_len || (want_crc && (uint32_t)crc32_z(0, (const Bytef *)out, n) != want_crc)) {
        snprintf(err, errlen, "object body does not decompress to its checksum%s%s",
                 ZSTD_isError(n) ? ": " : "", ZSTD_isError(n) ? ZSTD_getErrorName(n) : "");
        free(out);
        objHeaderFree(h);
        return TARGET_ERR;
    }
    if (h->delta) objDeltaDecode(out, n, h->page_size);
    *raw = out;
    *rawlen = n;
    return TARGET_OK;
}

/* ---- streamed objects (snapshots) ---------------------------------------- */

#define IO_CHUNK (1 << 20)

static int writeFull(FILE *f, const void *p, size_t n) { return fwrite(p, 1, n, f) == n ? 0 : -1; }

int objEncodeFile(const obj_header *h, const char *raw_path, const char *out_path, char *err, size_t errlen) {
    err[0] = '\0';
    FILE *in = fopen(raw_path, "rb"), *out = NULL;
    if (!in) {
        snprintf(err, errlen, "open %s: %s", raw_path, strerror(errno));
        return TARGET_ERR;
    }
    out = fopen(out_path, "wb");
    if (!out) {
        snprintf(err, errlen, "open %s: %s", out_path, strerror(errno));
        fclose(in);
        return TARGET_ERR;
    }
    msgpack_sbuffer sb;
    encodeHead(h, &sb);
    int rc = writeFull(out, sb.data, sb.size);
    msgpack_sbuffer_destroy(&sb);
    ZSTD_CCtx *cc = newCctx();
    char *ibuf = malloc(IO_CHUNK), *obuf = malloc(ZSTD_CStreamOutSize());
    uint64_t body_len = 0, raw_len = 0;
    uint32_t body_crc = 0, raw_crc = 0;
    bool last = false;
    while (rc == 0 && !last) {
        size_t n = fread(ibuf, 1, IO_CHUNK, in);
        if (ferror(in)) {
            snprintf(err, errlen, "read %s: %s", raw_path, strerror(errno));
            rc = -1;
            break;
        }
        last = n < IO_CHUNK;
        raw_len += n;
        raw_crc = (uint32_t)crc32_z(raw_crc, (const Bytef *)ibuf, n);
        ZSTD_inBuffer zin = {ibuf, n, 0};
        size_t remaining;
        do {
            ZSTD_outBuffer zout = {obuf, ZSTD_CStreamOutSize(), 0};
            remaining = ZSTD_compressStream2(cc, &zout, &zin, last ? ZSTD_e_end : ZSTD_e_continue);
            if (ZSTD_isError(remaining)) {
                snprintf(err, errlen, "zstd: %s", ZSTD_getErrorName(remaining));
                rc = -1;
                break;
            }
            body_crc = (uint32_t)crc32_z(body_crc, (const Bytef *)obuf, zout.pos);
            body_len += zout.pos;
            if (writeFull(out, obuf, zout.pos) != 0) rc = -1;
        } while (rc == 0 && (last ? remaining != 0 : zin.pos < zin.size));
    }
    unsigned char trailer[OBJ_TRAILER_LEN];
    putTrailer(trailer, body_len, raw_len, body_crc, raw_crc);
    if (rc == 0) rc = writeFull(out, trailer, sizeof(trailer));
    if (rc == 0 && (fflush(out) != 0 || fsync(fileno(out)) != 0)) rc = -1;
    if (rc != 0 && !err[0]) snprintf(err, errlen, "write %s: %s", out_path, strerror(errno));
    ZSTD_freeCCtx(cc);
    free(ibuf);
    free(obuf);
    fclose(in);
    if (fclose(out) != 0) rc = -1;
    return rc == 0 ? TARGET_OK : TARGET_ERR;
}

/* The next chunk of an object body of which *left bytes remain; 0 (with a
 * message) on a short read. */
static size_t readBodyChunk(FILE *in, char *buf, uint64_t *left, const char *path, char *err, size_t errlen) {
    size_t n = fread(buf, 1, *left < IO_CHUNK ? *left : IO_CHUNK, in);
    if (n == 0) snprintf(err, errlen, "short read of %s", path);
    *left -= n;
    return n;
}

int objDecodeFile(const char *obj_path, obj_header *h, const char *raw_path, char *err, size_t errlen) {
    memset(h, 0, sizeof(*h));
    FILE *in = fopen(obj_path, "rb");
    if (!in) {
        snprintf(err, errlen, "open %s: %s", obj_path, strerror(errno));
        return TARGET_ERR;
    }
    fseeko(in, 0, SEEK_END);
    off_t size = ftello(in);
    fseeko(in, 0, SEEK_SET);
    /* the header is small: read up to 1 MB to parse it */
    size_t head_cap = size < (1 << 20) ? (size_t)size : (1 << 20);
    char *head = malloc(head_cap ? head_cap : 1);
    size_t got = fread(head, 1, head_cap, in);
    size_t used = 0;
    int rc = objDecodeHeader(head, got, h, &used, err, errlen);
    free(head);
    if (rc != TARGET_OK) {
        fclose(in);
        return rc;
    }
    if ((off_t)(used + OBJ_TRAILER_LEN) > size) {
        snprintf(err, errlen, "object is truncated");
        fclose(in);
        objHeaderFree(h);
        return TARGET_ERR;
    }
    /* One pass: the body's CRC, its decompression into raw_path and the raw
     * CRC; the trailer is checked at the end, and on any failure raw_path is
     * removed, so nothing unverified is left behind. */
    uint64_t body = (uint64_t)size - used - OBJ_TRAILER_LEN;
    unsigned char trailer[OBJ_TRAILER_LEN];
    fseeko(in, size - OBJ_TRAILER_LEN, SEEK_SET);
    if (fread(trailer, 1, OBJ_TRAILER_LEN, in) != OBJ_TRAILER_LEN) {
        snprintf(err, errlen, "short read of %s", obj_path);
        rc = TARGET_ERR;
    }
    FILE *out = rc == TARGET_OK ? fopen(raw_path, "wb") : NULL;
    if (rc == TARGET_OK && !out) {
        snprintf(err, errlen, "open %s: %s", raw_path, strerror(errno));
        rc = TARGET_ERR;
    }
    char *ibuf = malloc(IO_CHUNK), *obuf = malloc(ZSTD_DStreamOutSize());
    ZSTD_DCtx *dc = ZSTD_createDCtx();
    uint64_t raw_len = 0;
    uint32_t crc = 0, raw_crc = 0;
    size_t zret = 1;
    fseeko(in, (off_t)used, SEEK_SET);
    for (uint64_t left = body; rc == TARGET_OK && left > 0;) {
        size_t n = readBodyChunk(in, ibuf, &left, obj_path, err, errlen);
        if (n == 0) {
            rc = TARGET_ERR;
            break;
        }
        crc = (uint32_t)crc32_z(crc, (const Bytef *)ibuf, n);
        ZSTD_inBuffer zin = {ibuf, n, 0};
        while (rc == TARGET_OK && zin.pos < zin.size) {
            ZSTD_outBuffer zout = {obuf, ZSTD_DStreamOutSize(), 0};
            zret = ZSTD_decompressStream(dc, &zout, &zin);
            if (ZSTD_isError(zret)) {
                snprintf(err, errlen, "snapshot does not decompress: %s", ZSTD_getErrorName(zret));
                rc = TARGET_ERR;
                break;
            }
            raw_crc = (uint32_t)crc32_z(raw_crc, (const Bytef *)obuf, zout.pos);
            raw_len += zout.pos;
            if (writeFull(out, obuf, zout.pos) != 0) {
                snprintf(err, errlen, "write %s: %s", raw_path, strerror(errno));
                rc = TARGET_ERR;
            }
        }
    }
    uint64_t want_len = 0;
    uint32_t want_crc = 0;
    if (rc == TARGET_OK) rc = checkTrailer(trailer, body, crc, &want_len, &want_crc, err, errlen);
    if (rc == TARGET_OK && (zret != 0 || raw_len != want_len || (want_crc && raw_crc != want_crc))) {
        snprintf(err, errlen, "snapshot body does not decompress to its checksum");
        rc = TARGET_ERR;
    }
    ZSTD_freeDCtx(dc);
    free(ibuf);
    free(obuf);
    fclose(in);
    if (out && fclose(out) != 0 && rc == TARGET_OK) {
        snprintf(err, errlen, "write %s: %s", raw_path, strerror(errno));
        rc = TARGET_ERR;
    }
    if (out && rc != TARGET_OK) unlink(raw_path);
    if (rc != TARGET_OK) objHeaderFree(h);
    return rc;
}

/* ---- names --------------------------------------------------------------- */

void objSnapshotName(char *buf, size_t len, const char *gen, uint64_t index) {
    snprintf(buf, len, "generations/%s/snapshots/%016" PRIx64 ".snap", gen, index);
}

void objSegmentName(char *buf, size_t len, const char *gen, uint64_t index) {
    snprintf(buf, len, "generations/%s/wal/%016" PRIx64 ".seg", gen, index);
}

static bool isHex(const char *s, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

int objParseName(const char *name, char gen[GEN_ID_LEN + 1], uint64_t *index) {
    static const char pre[] = "generations/";
    size_t pl = sizeof(pre) - 1;
    if (strncmp(name, pre, pl) != 0) return 0;
    const char *g = name + pl;
    if (strlen(g) < GEN_ID_LEN + 1 || !isHex(g, GEN_ID_LEN) || g[GEN_ID_LEN] != '/') return 0;
    const char *rest = g + GEN_ID_LEN + 1;
    int kind;
    const char *ext;
    if (strncmp(rest, "snapshots/", 10) == 0) {
        kind = OBJ_KIND_SNAPSHOT;
        rest += 10;
        ext = ".snap";
    } else if (strncmp(rest, "wal/", 4) == 0) {
        kind = OBJ_KIND_SEGMENT;
        rest += 4;
        ext = ".seg";
    } else {
        return 0;
    }
    if (strlen(rest) != 16 + strlen(ext) || !isHex(rest, 16) || strcmp(rest + 16, ext) != 0) return 0;
    memcpy(gen, g, GEN_ID_LEN);
    gen[GEN_ID_LEN] = '\0';
    *index = strtoull(rest, NULL, 16);
    return kind;
}

void objNewGeneration(char gen[GEN_ID_LEN + 1], int64_t now_ms) {
    FILE *f = fopen("/dev/urandom", "rb");
    unsigned short rnd = 0;
    if (!f || fread(&rnd, sizeof(rnd), 1, f) != 1) rnd = (unsigned short)(now_ms * 2654435761u);
    if (f) fclose(f);
    snprintf(gen, GEN_ID_LEN + 1, "%016" PRIx64, ((uint64_t)now_ms << 16) | rnd);
}
