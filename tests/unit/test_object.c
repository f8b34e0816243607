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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_delta_roundtrip),
        cmocka_unit_test(test_segment_roundtrip_with_delta),
        cmocka_unit_test(test_damaged_objects_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
