/* Replica object format (replication/object.c): segment encode/decode with
 * delta-coded pages, and the checks that refuse a damaged object. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../replication/repl_internal.h"
#include <stdlib.h>
#include <string.h>

#define PAGE 1024
#define FRAME (WAL_FRAME_HEADER + PAGE)
#define TS0 1700000000000LL

static void putU32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

/* n frames over a few page numbers, so pages repeat; each version differs a
 * little from the one before, as WAL frames of one page do. */
static char *makeFrames(size_t n) {
    unsigned char *raw = calloc(n, FRAME);
    for (size_t i = 0; i < n; i++) {
        unsigned char *f = raw + i * FRAME;
        putU32(f, (uint32_t)(i % 5) + 1);
        putU32(f + 4, i == n - 1 ? 5 : 0);
        putU32(f + 8, 0x1234);
        putU32(f + 12, 0x5678);
        for (int k = 0; k < PAGE; k++) f[WAL_FRAME_HEADER + k] = (unsigned char)((k * 7 + (i % 5)) & 0xff);
        f[WAL_FRAME_HEADER + (i * 13) % PAGE] ^= (unsigned char)(i + 1);
    }
    return (char *)raw;
}

static obj_header segmentHeader(size_t n) {
    obj_header h = {.kind = OBJ_KIND_SEGMENT, .index = 3, .page_size = PAGE, .db_pages = 5, .salt1 = 0x1234,
                    .salt2 = 0x5678, .frame_first = 1, .frame_last = (uint32_t)n, .delta = true};
    memcpy(h.generation, "0123456789abcdef", GEN_ID_LEN + 1);
    return h;
}

static void test_delta_roundtrip(void **state) {
    (void)state;
    size_t n = 40;
    char *orig = makeFrames(n), *coded = malloc(n * FRAME);
    memcpy(coded, orig, n * FRAME);
    objDeltaEncode(coded, n * FRAME, PAGE);
    assert_memory_not_equal(coded, orig, n * FRAME);
    assert_memory_equal(coded, orig, 5 * FRAME); /* first version of each page stays whole */
    objDeltaDecode(coded, n * FRAME, PAGE);
    assert_memory_equal(coded, orig, n * FRAME);
    free(orig);
    free(coded);
}

static void test_segment_roundtrip_with_delta(void **state) {
    (void)state;
    size_t n = 40, objlen, rawlen;
    char *orig = makeFrames(n), *body = malloc(n * FRAME), *obj = NULL, *raw = NULL, err[256] = "";
    memcpy(body, orig, n * FRAME);
    obj_header h = segmentHeader(n), back;
    objDeltaEncode(body, n * FRAME, PAGE);
    assert_int_equal(objEncode(&h, body, n * FRAME, &obj, &objlen, err, sizeof(err)), TARGET_OK);
    assert_int_equal(objDecode(obj, objlen, &back, &raw, &rawlen, err, sizeof(err)), TARGET_OK);
    assert_true(back.delta);
    assert_int_equal(back.frame_last, n);
    assert_int_equal(rawlen, n * FRAME);
    assert_memory_equal(raw, orig, n * FRAME); /* decode undid the delta */
    objHeaderFree(&back);
    free(raw);
    /* a reused buffer gives the same object */
    char *buf = malloc(16);
    size_t cap = 16, len2;
    assert_int_equal(objEncodeBuf(&h, body, n * FRAME, &buf, &cap, &len2, err, sizeof(err)), TARGET_OK);
    assert_int_equal(len2, objlen);
    assert_true(cap >= len2);
    free(buf);
    free(obj);
    free(body);
    free(orig);
}

static void test_damaged_objects_are_refused(void **state) {
    (void)state;
    size_t n = 10, objlen, rawlen;
    char *body = makeFrames(n), *obj = NULL, *raw = NULL, err[256];
    obj_header h = segmentHeader(n), back;
    h.delta = false;
    assert_int_equal(objEncode(&h, body, n * FRAME, &obj, &objlen, err, sizeof(err)), TARGET_OK);
    /* a flipped body byte: the body CRC catches it */
    obj[objlen / 2] ^= 1;
    assert_int_equal(objDecode(obj, objlen, &back, &raw, &rawlen, err, sizeof(err)), TARGET_ERR);
    assert_non_null(strstr(err, "checksum"));
    obj[objlen / 2] ^= 1;
    /* the raw length in the trailer is not under a CRC: zstd's frame must agree */
    obj[objlen - OBJ_TRAILER_LEN + 8] ^= 0x40;
    assert_int_equal(objDecode(obj, objlen, &back, &raw, &rawlen, err, sizeof(err)), TARGET_ERR);
    obj[objlen - OBJ_TRAILER_LEN + 8] ^= 0x40;
    /* truncated */
    assert_int_equal(objDecode(obj, objlen - 3, &back, &raw, &rawlen, err, sizeof(err)), TARGET_ERR);
    /* intact */
    assert_int_equal(objDecode(obj, objlen, &back, &raw, &rawlen, err, sizeof(err)), TARGET_OK);
    assert_memory_equal(raw, body, n * FRAME);
    assert_int_equal(objHeaderBytes(obj, objlen) > 12, 1);
    assert_int_equal(objHeaderBytes(obj, 5), 0);
    objHeaderFree(&back);
    free(raw);
    free(obj);
    free(body);
}

static void test_parse_name(void **state) {
    (void)state;
    char gen[GEN_ID_LEN + 1], name[96];
    uint64_t index = 0;
    objSegmentName(name, sizeof(name), "0123456789abcdef", 0x2a);
    assert_string_equal(name, "generations/0123456789abcdef/wal/000000000000002a.seg");
    assert_int_equal(objParseName(name, gen, &index), OBJ_KIND_SEGMENT);
    assert_string_equal(gen, "0123456789abcdef");
    assert_int_equal(index, 0x2a);
    objSnapshotName(name, sizeof(name), "0123456789abcdef", 7);
    assert_int_equal(objParseName(name, gen, &index), OBJ_KIND_SNAPSHOT);
    assert_int_equal(index, 7);
    static const char *const bad[] = {
        "generations/0123456789abcdef/wal/000000000000002a.seg.tmp-1-2",
        "generations/0123456789abcdef/wal/000000000000002a.snap",
        "generations/0123456789abcdef/snapshots/000000000000002a.seg",
        "generations/0123456789ABCDEF/wal/000000000000002a.seg",
        "generations/0123456789abcde/wal/000000000000002a.seg",
        "generations/0123456789abcdef/wal/00000000000002a.seg",
        "generations/0123456789abcdef/other/000000000000002a.seg",
        "generations/0123456789abcdef",
        "other/0123456789abcdef/wal/000000000000002a.seg",
        "",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
        if (objParseName(bad[i], gen, &index) != 0) fail_msg("accepted \"%s\"", bad[i]);
}

static void test_object_roundtrip(void **state) {
    (void)state;
    obj_commit commits[] = {{3, TS0 + 1}, {9, TS0 + 2}};
    obj_header h = {.kind = OBJ_KIND_SEGMENT, .generation = "00000000000000ff", .index = 5, .page_size = 512,
                    .db_pages = 9, .lsn_first = 100, .lsn_last = 108, .ts_first = TS0 + 1, .ts_last = TS0 + 2,
                    .created = TS0 + 3, .salt1 = 0xdeadbeef, .salt2 = 7, .frame_first = 1, .frame_last = 9,
                    .commits = commits, .ncommits = 2};
    char raw[9 * 520], err[256], *obj, *back;
    for (size_t i = 0; i < sizeof(raw); i++) raw[i] = (char)(i * 31);
    size_t objlen, backlen;
    assert_int_equal(objEncode(&h, raw, sizeof(raw), &obj, &objlen, err, sizeof(err)), TARGET_OK);
    obj_header d;
    assert_int_equal(objDecode(obj, objlen, &d, &back, &backlen, err, sizeof(err)), TARGET_OK);
    assert_int_equal(backlen, sizeof(raw));
    assert_memory_equal(back, raw, sizeof(raw));
    assert_int_equal(d.kind, OBJ_KIND_SEGMENT);
    assert_string_equal(d.generation, h.generation);
    assert_true(d.index == 5 && d.page_size == 512 && d.db_pages == 9 && d.lsn_first == 100 && d.lsn_last == 108);
    assert_true(d.ts_first == h.ts_first && d.ts_last == h.ts_last && d.created == h.created);
    assert_true(d.salt1 == 0xdeadbeef && d.salt2 == 7 && d.frame_first == 1 && d.frame_last == 9);
    assert_int_equal(d.ncommits, 2);
    assert_true(d.commits[1].frame == 9 && d.commits[1].ts_ms == TS0 + 2);
    objHeaderFree(&d);
    free(back);
    /* every truncation is reported, never decoded */
    for (size_t cut = 0; cut < objlen; cut += 97)
        if (objDecode(obj, cut, &d, &back, &backlen, err, sizeof(err)) != TARGET_ERR) fail_msg("cut %zu", cut);
    free(obj);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_roundtrip),
        cmocka_unit_test(test_segment_roundtrip_with_delta),
        cmocka_unit_test(test_damaged_objects_are_refused),
        cmocka_unit_test(test_parse_name),
        cmocka_unit_test(test_object_roundtrip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
