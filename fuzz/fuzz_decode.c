/* libFuzzer target over the pure C codec (faxpipe/codec/_t4.h), no Python.
 *
 * Input: a 6-byte header, then a payload.
 *   byte 0  bits 0-1 scheme (3 = MMR as well), bit 2 LSB-first, bit 3 byte_align,
 *           bit 4 round trip instead of decode, bit 5 EOL (MH), bit 6 fill, bit 7 RTC / EOFB
 *   byte 1-2  width, little endian: 1 + value % T4_MAX_WIDTH (decode) or % 3000 (round trip)
 *   byte 3  decode: max_rows = 1 + 16 * value;  round trip: K = 1 + value % 8
 *   byte 4  round trip: min_bits = 4 * value
 *   byte 5  reserved
 * Decode: the payload is the stream. Checks the result's invariants, that the byte-mirrored
 * stream decoded LSB-first gives the same result, that both ways of decoding 2-D rows (b1 by
 * search, by tables; enum t4_decoder) give it too, and touches every returned byte.
 * Round trip: the payload is a bitmap (rows of ceil(width / 8) bytes, at most 64 rows);
 * decode(encode(x)) must be x with no bad row and `terminated` equal to RTC, or abort().
 *
 * byte_align is only defined for streams without EOLs (MH with eol = 0, MMR); the Python layer
 * refuses it with EOLs (fuzz/FINDINGS.md F2), so round trips drop it there. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "_t4.h"

#define HEADER 6

static uint8_t mirror(uint8_t b)
{
    b = (uint8_t)((b & 0xF0) >> 4 | (b & 0x0F) << 4);
    b = (uint8_t)((b & 0xCC) >> 2 | (b & 0x33) << 2);
    return (uint8_t)((b & 0xAA) >> 1 | (b & 0x55) << 1);
}

static void fail(const char *what, int width, int height, const t4_options *o)
{
    fprintf(stderr, "fuzz_decode: %s (width %d height %d scheme %d k %d eol %d fill %d rtc %d "
            "lsb %d min_bits %d byte_align %d)\n", what, width, height, o->scheme, o->k, o->eol,
            o->fill, o->rtc, o->lsb_first, o->min_bits, o->byte_align);
    abort();
}

static void check_result(const t4_result *r, size_t len, int width, int max_rows,
                         const t4_options *o)
{
    if (r->rows_decoded < 0 || r->rows_decoded > max_rows || r->bad_rows < 0 ||
        r->bad_rows > r->rows_decoded || r->consecutive_bad < 0 ||
        r->consecutive_bad > r->bad_rows || (r->bad_rows > 0) != (r->consecutive_bad > 0) ||
        r->trailing_bad < 0 || r->trailing_bad > r->consecutive_bad ||
        r->bytes_used > len || (r->terminated != 0 && r->terminated != 1))
        fail("inconsistent decode statistics", width, r->rows_decoded, o);
    size_t stride = (size_t)(width + 7) / 8, size = stride * (size_t)r->rows_decoded;
    if (size && !r->rows)
        fail("rows missing", width, r->rows_decoded, o);
    volatile uint8_t sink = 0;
    for (size_t i = 0; i < size; i++)   /* ASan: every promised byte is really there */
        sink ^= r->rows[i];
    (void)sink;
    uint8_t pad = width % 8 ? (uint8_t)(0xFF >> (width % 8)) : 0;   /* bits past `width` */
    for (int y = 0; pad && y < r->rows_decoded; y++)
        if (r->rows[(size_t)y * stride + stride - 1] & pad)
            fail("padding bits past the width are set", width, y, o);
}

static void fuzz_decode(const uint8_t *data, size_t len, int width, int max_rows,
                        const t4_options *o)
{
    t4_result a, b;
    if (t4_decode(data, len, width, max_rows, o, &a) != T4_OK)
        fail("t4_decode refused valid arguments", width, max_rows, o);
    check_result(&a, len, width, max_rows, o);

    /* The mirrored stream, LSB-first, into a buffer of exactly max_rows rows (as the Python
     * glue does), at the end of a heap block so that ASan sees any write past it. */
    uint8_t *mirrored = malloc(len ? len : 1);
    size_t stride = (size_t)(width + 7) / 8;
    uint8_t *into = malloc(stride * (size_t)max_rows);
    if (!mirrored || !into)
        abort();
    for (size_t i = 0; i < len; i++)
        mirrored[i] = mirror(data[i]);
    t4_options m = *o;
    m.lsb_first = !o->lsb_first;
    if (t4_decode_into(mirrored, len, width, into, max_rows, &m, &b) != T4_OK)
        fail("t4_decode_into refused valid arguments (mirrored)", width, max_rows, o);
    check_result(&b, len, width, max_rows, o);
    size_t size = stride * (size_t)a.rows_decoded;
    if (a.rows_decoded != b.rows_decoded || a.bad_rows != b.bad_rows ||
        a.consecutive_bad != b.consecutive_bad || a.trailing_bad != b.trailing_bad ||
        a.terminated != b.terminated || a.bytes_used != b.bytes_used ||
        (size && memcmp(a.rows, b.rows, size)))
        fail("LSB-first decode of the mirrored stream differs", width, a.rows_decoded, o);
    free(mirrored);
    free(into);

    for (int way = T4_DECODE_SEARCH; way <= T4_DECODE_TABLES; way++) {
        t4_options w = *o;
        w.decoder = way;
        if (t4_decode(data, len, width, max_rows, &w, &b) != T4_OK)
            fail("t4_decode refused valid arguments (one way)", width, max_rows, o);
        if (a.rows_decoded != b.rows_decoded || a.bad_rows != b.bad_rows ||
            a.consecutive_bad != b.consecutive_bad || a.trailing_bad != b.trailing_bad ||
            a.terminated != b.terminated || a.bytes_used != b.bytes_used ||
            (size && memcmp(a.rows, b.rows, size)))
            fail(way == T4_DECODE_SEARCH ? "search differs from the automatic choice"
                                         : "tables differ from the automatic choice",
                 width, a.rows_decoded, o);
        t4_result_free(&b);
    }
    t4_result_free(&a);
}

static void fuzz_round_trip(const uint8_t *payload, size_t len, int width, t4_options *o)
{
    size_t stride = (size_t)(width + 7) / 8;
    int height = (int)(len / stride);
    if (height > 64)
        height = 64;
    uint8_t *rows = malloc(stride * (size_t)height + 1);
    if (!rows)
        abort();
    memcpy(rows, payload, stride * (size_t)height);
    if (width % 8)   /* pages keep the padding bits after `width` at zero */
        for (int y = 0; y < height; y++)
            rows[(size_t)y * stride + stride - 1] &= (uint8_t)(0xFF << (8 - width % 8));

    uint8_t *out = NULL;
    size_t out_len = 0;
    if (t4_encode(rows, width, height, o, &out, &out_len) != T4_OK)
        fail("t4_encode refused valid arguments", width, height, o);
    t4_result r;
    if (t4_decode(out, out_len, width, T4_MAX_HEIGHT, o, &r) != T4_OK)
        fail("t4_decode refused its own stream", width, height, o);
    check_result(&r, out_len, width, T4_MAX_HEIGHT, o);
    if (r.rows_decoded != height)
        fail("round trip: row count differs", width, height, o);
    if (height && memcmp(r.rows, rows, stride * (size_t)height))
        fail("round trip: pixels differ", width, height, o);
    if (r.bad_rows || r.terminated != (o->rtc != 0))
        fail("round trip: bad rows or wrong termination", width, height, o);
    if (o->rtc && r.bytes_used != out_len)
        fail("round trip: terminator not where the encoder put it", width, height, o);
    t4_result_free(&r);
    free(out);
    free(rows);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    const uint8_t *payload = data + HEADER;
    size_t len = size - HEADER;
    unsigned flags = data[0], w = data[1] | (unsigned)data[2] << 8;
    t4_options o = {0};
    o.scheme = (flags & 3) == 3 ? T4_MMR : (int)(flags & 3);
    o.lsb_first = (flags >> 2) & 1;
    o.byte_align = (flags >> 3) & 1;
    o.eol = (flags >> 5) & 1;
    o.fill = (flags >> 6) & 1;
    o.rtc = (flags >> 7) & 1;
    o.k = 1;

    if (!(flags & 0x10)) {
        int width = 1 + (int)(w % T4_MAX_WIDTH);
        fuzz_decode(payload, len, width, 1 + 16 * data[3], &o);
        return 0;
    }
    int width = 1 + (int)(w % 3000);
    o.k = 1 + data[3] % 8;
    o.min_bits = 4 * data[4];
    if (o.scheme == T4_MR || (o.scheme == T4_MH && o.eol))
        o.byte_align = 0;
    fuzz_round_trip(payload, len, width, &o);
    return 0;
}
