/* Shrinking grey images (see _resample.h): precomputed taps per output pel; per output row a
 * vertical pass over the input rows under it, then a horizontal pass, with SSE2 where the
 * machine has it (every x86-64) and plain C elsewhere. */
#include "_resample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define RS_BITS 14

typedef struct {
    int *first;     /* first input index of each output index */
    int16_t *w;     /* taps weights, `taps` per output index (zero past the end) */
    int taps;
} coeffs;

static void free_coeffs(coeffs *c)
{
    free(c->first);
    free(c->w);
}

/* Taps of the triangle filter for outputs [i0, i1) of `out` from `in` inputs (out <= in), or
 * -1; entry i - i0 for output i. Every output reads `taps` inputs from first[i] on, all inside
 * [0, in): at the ends the window is moved inwards and the taps outside the filter weigh zero. */
static int make_coeffs(int in, int out, int i0, int i1, coeffs *c)
{
    double scale = (double)in / out;  /* the triangle's half-width, in input pels */
    int taps = (int)ceil(2 * scale) + 1;
    if (taps > in)
        taps = in;
    c->taps = taps;
    size_t n = i1 > i0 ? (size_t)(i1 - i0) : 1;
    c->first = malloc(n * sizeof *c->first);
    c->w = calloc(n * (size_t)taps, sizeof *c->w);
    double *f = malloc((size_t)taps * sizeof *f);
    if (!c->first || !c->w || !f) {
        free(f);
        free_coeffs(c);
        return -1;
    }
    for (int i = i0; i < i1; i++) {
        double centre = (i + 0.5) * scale;
        int lo = (int)(centre - scale + 0.5), hi = (int)(centre + scale + 0.5);
        if (lo < 0)
            lo = 0;
        if (hi > in)
            hi = in;
        if (hi - lo > taps)
            hi = lo + taps;
        int start = lo + taps > in ? in - taps : lo;
        double sum = 0;
        for (int j = 0; j < taps; j++) {
            int at = start + j;
            double d = fabs((at + 0.5 - centre) / scale);
            f[j] = at >= lo && at < hi && d < 1 ? 1 - d : 0;
            sum += f[j];
        }
        int16_t *w = c->w + (size_t)(i - i0) * taps;
        int total = 0, big = 0;
        for (int j = 0; j < taps; j++) {
            w[j] = (int16_t)lrint(sum > 0 ? f[j] / sum * (1 << RS_BITS) : 0);
            total += w[j];
            if (w[j] > w[big])
                big = j;
        }
        if (sum <= 0)
            big = lo - start;  /* no input under the triangle (cannot happen): the nearest */
        w[big] = (int16_t)(w[big] + ((1 << RS_BITS) - total));  /* exactly one: flat stays flat */
        c->first[i - i0] = start;
    }
    free(f);
    return 0;
}

static inline uint8_t clamp8(int32_t v)
{
    v = (v + (1 << (RS_BITS - 1))) >> RS_BITS;
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* One output row from `taps` input rows (vertical pass), 8 pels at a time with SSE2's
 * multiply-add of 16-bit pairs: two rows' pels interleaved times their two weights. */
static void vertical(const uint8_t *const *rows, const int16_t *w, int taps, int n, uint8_t *out)
{
    int x = 0;
#ifdef __SSE2__
    const __m128i zero = _mm_setzero_si128(), round = _mm_set1_epi32(1 << (RS_BITS - 1));
    for (; x + 8 <= n; x += 8) {
        __m128i lo = round, hi = round;
        for (int k = 0; k < taps; k += 2) {
            __m128i a = _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(rows[k] + x)), zero);
            __m128i b = k + 1 < taps
                ? _mm_unpacklo_epi8(_mm_loadl_epi64((const __m128i *)(rows[k + 1] + x)), zero)
                : zero;
            int wb = k + 1 < taps ? w[k + 1] : 0;
            __m128i ww = _mm_set1_epi32((int32_t)(((uint32_t)(uint16_t)wb << 16) | (uint16_t)w[k]));
            lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(a, b), ww));
            hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(a, b), ww));
        }
        lo = _mm_srai_epi32(lo, RS_BITS);
        hi = _mm_srai_epi32(hi, RS_BITS);
        __m128i v = _mm_packus_epi16(_mm_packs_epi32(lo, hi), zero);
        _mm_storel_epi64((__m128i *)(out + x), v);
    }
#endif
    for (; x < n; x++) {
        int32_t s = 0;
        for (int k = 0; k < taps; k++)
            s += w[k] * rows[k][x];
        out[x] = clamp8(s);
    }
}

/* One row's horizontal pass: output x = the taps from first[x] on, weighted. Four taps (a
 * reduction by up to 1.5×: a JPEG decoded at 5/8, say) go four outputs at a time with SSE2. */
static void horizontal(const uint8_t *row, uint8_t *out, int n, const int *first,
                       const int16_t *w, int taps)
{
    int x = 0;
#ifdef __SSE2__
    if (taps == 4) {
        const __m128i zero = _mm_setzero_si128(), round = _mm_set1_epi32(1 << (RS_BITS - 1));
        for (; x + 4 <= n; x += 4) {
            uint32_t p[4];
            for (int i = 0; i < 4; i++)
                memcpy(&p[i], row + first[x + i], 4);
            __m128i px = _mm_set_epi32((int32_t)p[3], (int32_t)p[2], (int32_t)p[1], (int32_t)p[0]);
            __m128i ws = _mm_loadu_si128((const __m128i *)(w + (size_t)x * 4));
            __m128i ws2 = _mm_loadu_si128((const __m128i *)(w + (size_t)x * 4 + 8));
            __m128i v1 = _mm_madd_epi16(_mm_unpacklo_epi8(px, zero), ws);   /* a0 b0 a1 b1 */
            __m128i v2 = _mm_madd_epi16(_mm_unpackhi_epi8(px, zero), ws2);  /* a2 b2 a3 b3 */
            __m128i lo = _mm_unpacklo_epi32(v1, v2);  /* a0 a2 b0 b2 */
            __m128i hi = _mm_unpackhi_epi32(v1, v2);  /* a1 a3 b1 b3 */
            lo = _mm_add_epi32(lo, _mm_srli_si128(lo, 8));  /* o0 o2 */
            hi = _mm_add_epi32(hi, _mm_srli_si128(hi, 8));  /* o1 o3 */
            __m128i sum = _mm_add_epi32(_mm_unpacklo_epi32(lo, hi), round);  /* o0 o1 o2 o3 */
            sum = _mm_srai_epi32(sum, RS_BITS);
            __m128i v = _mm_packus_epi16(_mm_packs_epi32(sum, zero), zero);
            uint32_t o = (uint32_t)_mm_cvtsi128_si32(v);
            memcpy(out + x, &o, 4);
        }
    }
#endif
    for (; x < n; x++) {
        const uint8_t *p = row + first[x];
        const int16_t *wx = w + (size_t)x * taps;
        int32_t s = 0;
        for (int k = 0; k < taps; k++)
            s += wx[k] * p[k];
        out[x] = clamp8(s);
    }
}

int rs_shrink(const uint8_t *in, size_t in_stride, int in_w, int in_h, uint8_t *out,
              size_t out_stride, int out_w, int out_h, int y0, int y1)
{
    if (!in || !out || in_w < 1 || in_h < 1 || out_w < 1 || out_h < 1 || out_w > in_w ||
        out_h > in_h || in_w > RS_MAX_SIDE || in_h > RS_MAX_SIDE || in_stride < (size_t)in_w ||
        out_stride < (size_t)out_w || y0 < 0 || y1 > out_h || y0 > y1)
        return RS_ERR_ARGS;
    if (y0 == y1)
        return RS_OK;
    coeffs cx, cy;
    if (make_coeffs(in_w, out_w, 0, out_w, &cx))
        return RS_ERR_NOMEM;
    if (make_coeffs(in_h, out_h, y0, y1, &cy)) {  /* the rows of this band only */
        free_coeffs(&cx);
        return RS_ERR_NOMEM;
    }
    /* vertical first (vectorised, full input width), then horizontal, one output row at a time */
    uint8_t *mid = malloc((size_t)in_w);
    const uint8_t **rows = malloc((size_t)cy.taps * sizeof *rows);
    int status = RS_OK;
    if (!mid || !rows) {
        status = RS_ERR_NOMEM;
    } else {
        for (int y = y0; y < y1; y++) {
            for (int k = 0; k < cy.taps; k++)
                rows[k] = in + (size_t)(cy.first[y - y0] + k) * in_stride;
            vertical(rows, cy.w + (size_t)(y - y0) * cy.taps, cy.taps, in_w, mid);
            horizontal(mid, out + (size_t)y * out_stride, out_w, cx.first, cx.w, cx.taps);
        }
    }
    free(mid);
    free(rows);
    free_coeffs(&cx);
    free_coeffs(&cy);
    return status;
}

int rs_input_ends(int in, int out, int32_t *ends, int *taps)
{
    if (!ends || !taps || in < 1 || out < 1 || out > in || in > RS_MAX_SIDE)
        return RS_ERR_ARGS;
    coeffs c;
    if (make_coeffs(in, out, 0, out, &c))
        return RS_ERR_NOMEM;
    for (int i = 0; i < out; i++)
        ends[i] = c.first[i] + c.taps;
    *taps = c.taps;
    free_coeffs(&c);
    return RS_OK;
}
