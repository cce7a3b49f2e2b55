/* Bilevel conversion in plain C (see _bilevel.h): no Python, no allocation except the
 * per-call row buffers. Every method first computes one byte flag (0 / 1) per pel for a row,
 * in loops the compiler vectorises, then packs eight flags into a byte with one multiply. */
#include "_bilevel.h"

#include <stdlib.h>
#include <string.h>

/* Black-first order of each matrix cell (0 turns black first, in the lightest greys).
 * Clustered dots come from the spot functions cos(x) + cos(y) (0 degrees) and cos(x) * cos(y)
 * (45 degrees) sampled at pel centres; Bayer is the recursive dispersed-dot matrix. */
static const uint8_t CLUSTER_8X8[64] = {
     0,  5, 17, 27, 28, 18,  6,  1,
     4, 12, 26, 41, 42, 29, 13,  7,
    16, 25, 48, 53, 54, 49, 30, 19,
    24, 40, 52, 60, 61, 55, 43, 31,
    39, 47, 59, 63, 62, 56, 44, 32,
    23, 38, 51, 58, 57, 50, 33, 20,
    11, 15, 37, 46, 45, 34, 14,  8,
     3, 10, 22, 36, 35, 21,  9,  2,
};
static const uint8_t CLUSTER_8X4[32] = {
     0,  4,  8, 16, 17,  9,  5,  1,
    12, 20, 24, 28, 29, 25, 21, 13,
    15, 23, 27, 31, 30, 26, 22, 14,
     3,  7, 11, 19, 18, 10,  6,  2,
};
static const uint8_t CLUSTER45_8X8[64] = {
     0, 10, 42, 57, 58, 45, 13,  2,
     9, 24, 33, 43, 44, 34, 26, 14,
    41, 32, 25, 11, 12, 27, 35, 46,
    56, 40,  8,  1,  3, 15, 47, 59,
    63, 55, 23,  6,  4, 16, 48, 60,
    54, 39, 30, 20, 19, 28, 36, 49,
    22, 31, 38, 52, 51, 37, 29, 17,
     7, 21, 53, 62, 61, 50, 18,  5,
};
static const uint8_t BAYER_8X8[64] = {
     0, 32,  8, 40,  2, 34, 10, 42,
    48, 16, 56, 24, 50, 18, 58, 26,
    12, 44,  4, 36, 14, 46,  6, 38,
    60, 28, 52, 20, 62, 30, 54, 22,
     3, 35, 11, 43,  1, 33,  9, 41,
    51, 19, 59, 27, 49, 17, 57, 25,
    15, 47,  7, 39, 13, 45,  5, 37,
    63, 31, 55, 23, 61, 29, 53, 21,
};

static const struct { const uint8_t *order; int cols, rows; } MATRICES[BL_MATRICES] = {
    {CLUSTER_8X8, 8, 8}, {CLUSTER_8X4, 8, 4}, {CLUSTER45_8X8, 8, 8}, {BAYER_8X8, 8, 8},
};

const uint8_t *bl_matrix(int matrix, int *cols, int *rows)
{
    if (matrix < 0 || matrix >= BL_MATRICES)
        return NULL;
    *cols = MATRICES[matrix].cols;
    *rows = MATRICES[matrix].rows;
    return MATRICES[matrix].order;
}

void bl_pack_row(const uint8_t *flags, int width, uint8_t *out)
{
    int x = 0, n = 0;
    for (; x + 8 <= width; x += 8) {
        uint64_t v;
        memcpy(&v, flags + x, 8);
        /* flag i (byte i, little endian) lands on bit 63 - i: the first pel is the MSB */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        v = __builtin_bswap64(v);
#endif
        out[n++] = (uint8_t)((v * 0x8040201008040201ULL) >> 56);
    }
    if (x < width) {
        uint8_t b = 0;
        for (int i = 0; x + i < width; i++)
            b |= (uint8_t)(flags[x + i] << (7 - i));
        out[n] = b;
    }
}

/* Whether the n bytes at p are all 0xFF (paper white): an AND of blocks the compiler
 * vectorises, stopping at the first block with ink. */
static int all_white(const uint8_t *p, int n)
{
    for (int x = 0; x < n; x += 256) {
        int end = x + 256 < n ? x + 256 : n;
        uint8_t acc = 0xFF;
        for (int i = x; i < end; i++)
            acc &= p[i];
        if (acc != 0xFF)
            return 0;
    }
    return 1;
}

void bl_histogram(const uint8_t *grey, size_t grey_stride, int width, int height,
                  uint64_t hist[256])
{
    /* four sub-histograms break the store-to-load dependency on runs of equal pels; eight
     * white pels at once (a word of 0xFF: the paper of a text page, most of it) are counted
     * without touching the table */
    uint32_t h[4][256];
    uint32_t white = 0;
    memset(h, 0, sizeof h);
    memset(hist, 0, 256 * sizeof hist[0]);
    for (int y = 0; y < height; y++) {
        const uint8_t *row = grey + (size_t)y * grey_stride;
        int x = 0;
        if (all_white(row, width)) {  /* a row of paper */
            white += (uint32_t)width;
            x = width;
        }
        for (; x + 8 <= width; x += 8) {
            uint64_t v;
            memcpy(&v, row + x, 8);
            if (v == ~(uint64_t)0) {
                white += 8;
                continue;
            }
            h[0][row[x]]++;
            h[1][row[x + 1]]++;
            h[2][row[x + 2]]++;
            h[3][row[x + 3]]++;
            h[0][row[x + 4]]++;
            h[1][row[x + 5]]++;
            h[2][row[x + 6]]++;
            h[3][row[x + 7]]++;
        }
        for (; x < width; x++)
            h[0][row[x]]++;
        if ((y & 0xFFF) == 0xFFF || y == height - 1) {  /* flush before 32 bits can overflow */
            for (int i = 0; i < 256; i++)
                hist[i] += (uint64_t)h[0][i] + h[1][i] + h[2][i] + h[3][i];
            hist[255] += white;
            white = 0;
            memset(h, 0, sizeof h);
        }
    }
}

int bl_otsu(const uint64_t hist[256])
{
    double total = 0, sum = 0;
    for (int i = 0; i < 256; i++) {
        total += (double)hist[i];
        sum += (double)i * (double)hist[i];
    }
    if (total == 0)
        return 128;
    double w0 = 0, sum0 = 0, best = -1;
    int level = 128;
    for (int t = 1; t < 256; t++) {  /* class 0 = pels below t */
        w0 += (double)hist[t - 1];
        sum0 += (double)(t - 1) * (double)hist[t - 1];
        double w1 = total - w0;
        if (w0 == 0 || w1 == 0)
            continue;
        double d = sum0 / w0 - (sum - sum0) / w1;
        double between = w0 * w1 * d * d;
        if (between > best) {
            best = between;
            level = t;
        }
    }
    /* a bimodal page has a flat optimum between its modes: take its middle, not its edge */
    if (best > 0) {
        int hi = level;
        w0 = 0, sum0 = 0;
        for (int t = 1; t < 256; t++) {
            w0 += (double)hist[t - 1];
            sum0 += (double)(t - 1) * (double)hist[t - 1];
            double w1 = total - w0;
            if (t <= level || w0 == 0 || w1 == 0)
                continue;
            double d = sum0 / w0 - (sum - sum0) / w1;
            if (w0 * w1 * d * d < best * (1 - 1e-12))
                break;
            hi = t;
        }
        level = (level + hi) / 2;
    }
    return level;
}

int bl_classify(const uint64_t hist[256], double *mid_fraction)
{
    uint64_t total = 0, mid = 0;
    for (int i = 0; i < 256; i++) {
        total += hist[i];
        if (i >= BL_MID_LO && i < BL_MID_HI)
            mid += hist[i];
    }
    double f = total ? (double)mid / (double)total : 0.0;
    if (mid_fraction)
        *mid_fraction = f;
    return f > BL_PHOTO_MID_FRACTION ? BL_ORDERED : BL_THRESHOLD;
}

int bl_text_level(const uint64_t hist[256], int otsu)
{
    /* two fifths of the way from Otsu's level to the mean of the paper (the pels above it):
     * anti-aliased stroke edges stay black, so thin strokes survive 3.85 lines/mm; measured
     * with OCR in tests/test_legibility.py (Otsu's own level loses letters at standard) */
    double n = 0, sum = 0;
    for (int i = otsu; i < 256; i++) {
        n += (double)hist[i];
        sum += (double)i * (double)hist[i];
    }
    if (n == 0)
        return otsu;
    int paper = (int)(sum / n + 0.5);
    return otsu + 2 * (paper - otsu) / 5;
}

void bl_analyse(const uint8_t *grey, size_t grey_stride, int width, int height, int *method,
                int *otsu, int *level, double *mid_fraction)
{
    uint64_t hist[256];  /* every fourth row is plenty for these statistics (a line of 8 pt
                            text is 22 rows at fine, 11 at standard), at a quarter of the cost */
    int sample = height >= 4 ? 4 : 1;
    bl_histogram(grey, grey_stride * (size_t)sample, width, (height + sample - 1) / sample, hist);
    *method = bl_classify(hist, mid_fraction);
    *otsu = bl_otsu(hist);
    *level = bl_text_level(hist, *otsu);
}

static void threshold_rows(const uint8_t *grey, size_t gs, int width, int height, int level,
                           uint8_t *flags, uint8_t *out, size_t stride)
{
    /* black when grey < level; level 0 is all white and 256 all black */
    if (level <= 0 || level > 255) {
        memset(flags, level > 255, (size_t)width);
        for (int y = 0; y < height; y++)
            bl_pack_row(flags, width, out + (size_t)y * stride);
        return;
    }
    const uint8_t lvl = (uint8_t)level;
    for (int y = 0; y < height; y++) {
        const uint8_t *row = grey + (size_t)y * gs;
        if (all_white(row, width)) {  /* paper: white at any level up to 255 (most rows of text) */
            memset(out + (size_t)y * stride, 0, stride);
            continue;
        }
        for (int x = 0; x < width; x++)
            flags[x] = row[x] < lvl;
        bl_pack_row(flags, width, out + (size_t)y * stride);
    }
}

static void ordered_rows(const uint8_t *grey, size_t gs, int width, int height, int matrix,
                         uint8_t *flags, uint8_t *limits, uint8_t *out, size_t stride)
{
    const uint8_t *order = MATRICES[matrix].order;
    int cols = MATRICES[matrix].cols, rows = MATRICES[matrix].rows, cells = cols * rows;
    for (int y = 0; y < height; y++) {
        const uint8_t *row = grey + (size_t)y * gs;
        const uint8_t *m = order + (y % rows) * cols;
        /* a pel is black when grey < 256 - (2 * order + 1) * 128 / cells: order 0 turns
         * black first (at grey 254 for 64 cells), the last cell only at grey 0 */
        if (y < rows)
            for (int x = 0; x < width; x++)
                limits[(size_t)y * width + x] =
                    (uint8_t)(256 - (2 * m[x % cols] + 1) * 128 / cells);
        const uint8_t *lim = limits + (size_t)(y % rows) * width;
        for (int x = 0; x < width; x++)
            flags[x] = row[x] < lim[x];
        bl_pack_row(flags, width, out + (size_t)y * stride);
    }
}

/* Floyd–Steinberg (7, 3, 5, 1 sixteenths), serpentine: even rows left to right, odd rows right
 * to left. Errors are kept in sixteenths, so every bit of the error is passed on. */
static void diffuse_rows(const uint8_t *grey, size_t gs, int width, int height, int level,
                         uint8_t *flags, int32_t *err, uint8_t *out, size_t stride)
{
    int32_t *cur = err + 1, *next = err + (width + 2) + 1;  /* one guard cell each side */
    memset(err, 0, 2 * (size_t)(width + 2) * sizeof *err);
    int32_t limit = level * 16;
    for (int y = 0; y < height; y++) {
        const uint8_t *row = grey + (size_t)y * gs;
        int step = (y & 1) ? -1 : 1;
        int x = (y & 1) ? width - 1 : 0;
        int32_t carry = 0;  /* the 7/16 share owed to the next pel, kept in a register */
        for (int n = 0; n < width; n++, x += step) {
            int32_t v = row[x] * 16 + cur[x] + carry;
            /* a guard against runaway error in pathological images (never reached by FS
             * on ordinary pages): keeps the arithmetic far from overflow */
            v = v < -16 * 1024 ? -16 * 1024 : v > 16 * 1280 ? 16 * 1280 : v;
            int black = v < limit;
            flags[x] = (uint8_t)black;
            int32_t e = v - (black ? 0 : 255 * 16);
            /* floor division by 16 (arithmetic shift); the 1/16 share takes the remainder */
            int32_t e7 = (e * 7) >> 4, e3 = (e * 3) >> 4, e5 = (e * 5) >> 4;
            carry = e7;
            next[x - step] += e3;
            next[x] += e5;
            next[x + step] += e - e7 - e3 - e5;
        }
        bl_pack_row(flags, width, out + (size_t)y * stride);
        int32_t *t = cur;
        cur = next;
        next = t;
        memset(next - 1, 0, (size_t)(width + 2) * sizeof *next);
    }
}


/* ---- auto, per tile (see _bilevel.h) ---- */

enum { TILE_EMPTY = 0, TILE_TEXT = 1, TILE_TINT = 2, TILE_PHOTO = 3 };

/* One row's contribution to the statistics of every column, one byte per pel and kind (a band
 * of a tile row has at most BL_TILE / 4 sampled rows, so no byte overflows): smooth mid-greys,
 * smooth tints in [lo, hi) (mid-greys included), blank pels (smooth and outside [lo, hi): paper
 * or solid ink) and edges; `below` is the next row (the row itself on the last). The page's last
 * pel has no right neighbour: only the one below counts for it. */
static void column_stats(const uint8_t *restrict row, const uint8_t *restrict below, int width,
                         uint8_t lo, uint8_t hi, uint8_t *restrict mid, uint8_t *restrict tone,
                         uint8_t *restrict blank, uint8_t *restrict edge)
{
    const uint8_t span = (uint8_t)(hi - lo);
    int last = width - 1;
    for (int x = 0; x < last; x++) {  /* branch-free: the compiler vectorises it */
        uint8_t g = row[x], r = row[x + 1], b = below[x];
        uint8_t dr = (uint8_t)(g > r ? g - r : r - g), db = (uint8_t)(g > b ? g - b : b - g);
        uint8_t d = dr > db ? dr : db;
        uint8_t smooth = d < BL_SMOOTH, tint = (uint8_t)(g - lo) < span;
        mid[x] += smooth & ((uint8_t)(g - BL_MID_LO) < BL_MID_HI - BL_MID_LO);
        tone[x] += smooth & tint;
        blank[x] += smooth & !tint;
        edge[x] += d >= BL_EDGE;
    }
    uint8_t g = row[last], b = below[last];
    uint8_t d = (uint8_t)(g > b ? g - b : b - g);
    uint8_t smooth = d < BL_SMOOTH, tint = (uint8_t)(g - lo) < span;
    mid[last] += smooth & ((uint8_t)(g - BL_MID_LO) < BL_MID_HI - BL_MID_LO);
    tone[last] += smooth & tint;
    blank[last] += smooth & !tint;
    edge[last] += d >= BL_EDGE;
}

static uint32_t sum_bytes(const uint8_t *p, int n)
{
    uint32_t s = 0;
    for (int i = 0; i < n; i++)
        s += p[i];
    return s;
}

/* Each tile's class from every fourth row of it (see _bilevel.h). Shares are of the tile's
 * pels that are not blank, with a floor of 1/32 of the tile (one row or column), so a
 * photograph's border that covers part of a tile counts as much as its middle, and a few grey
 * pels count for nothing. `cols` is 4 * width bytes of scratch. */
static void classify_tiles(const uint8_t *grey, size_t gs, int width, int height, int tiles_x,
                           uint8_t lo, uint8_t hi, uint8_t *cls, uint8_t *cols)
{
    uint8_t *mid = cols, *tone = cols + width, *blank = cols + 2 * (size_t)width,
            *edge = cols + 3 * (size_t)width;
    for (int y0 = 0, ty = 0; y0 < height; y0 += BL_TILE, ty++) {
        int y1 = y0 + BL_TILE < height ? y0 + BL_TILE : height;
        memset(cols, 0, 4 * (size_t)width);
        uint32_t rows = 0, white = 0;  /* white: sampled rows that are paper, as is the next */
        for (int y = y0; y < y1; y += 4, rows++) {
            const uint8_t *row = grey + (size_t)y * gs, *below = y + 1 < height ? row + gs : row;
            if (all_white(row, width) && all_white(below, width)) {
                white++;  /* every pel smooth, none an edge, a tint only if 255 is one */
                continue;
            }
            column_stats(row, below, width, lo, hi, mid, tone, blank, edge);
        }
        const uint32_t white_tint = (uint8_t)(255 - lo) < (uint8_t)(hi - lo),
                       white_mid = (uint8_t)(255 - BL_MID_LO) < BL_MID_HI - BL_MID_LO;
        for (int t = 0; t < tiles_x; t++) {
            int x0 = t * BL_TILE, n_cols = x0 + BL_TILE < width ? BL_TILE : width - x0;
            uint32_t n = rows * (uint32_t)n_cols, w = white * (uint32_t)n_cols;
            uint32_t m = sum_bytes(mid + x0, n_cols) + w * white_mid,
                     tn = sum_bytes(tone + x0, n_cols) + w * white_tint;
            uint32_t content = n - sum_bytes(blank + x0, n_cols) - w * !white_tint,
                     e = sum_bytes(edge + x0, n_cols);
            uint8_t k = 32 * m >= n && 4 * m >= content ? TILE_PHOTO
                      : 32 * tn >= n && 2 * tn >= content && 4 * e <= content ? TILE_TINT
                      : e ? TILE_TEXT : TILE_EMPTY;
            cls[(size_t)ty * tiles_x + t] = k;
        }
    }
}

/* Tints 4-connected to a photo tile become photo (a gradient's light and dark ends, the pale
 * steps of a grey scale); the others become empty (a shaded box of a form: thresholded). */
static void grow_photos(uint8_t *cls, int tiles_x, int tiles_y, uint32_t *stack)
{
    size_t n = (size_t)tiles_x * tiles_y, top = 0;
    for (size_t i = 0; i < n; i++)
        if (cls[i] == TILE_PHOTO)
            stack[top++] = (uint32_t)i;
    while (top) {
        uint32_t i = stack[--top];
        int tx = (int)(i % (uint32_t)tiles_x), ty = (int)(i / (uint32_t)tiles_x);
        static const int dx[4] = {1, -1, 0, 0}, dy[4] = {0, 0, 1, -1};
        for (int k = 0; k < 4; k++) {
            int x = tx + dx[k], y = ty + dy[k];
            if (x < 0 || y < 0 || x >= tiles_x || y >= tiles_y)
                continue;
            size_t j = (size_t)y * tiles_x + x;
            if (cls[j] == TILE_TINT) {
                cls[j] = TILE_PHOTO;  /* each tile is pushed at most once: top <= n */
                stack[top++] = (uint32_t)j;
            }
        }
    }
    for (size_t i = 0; i < n; i++)
        if (cls[i] == TILE_TINT)
            cls[i] = TILE_EMPTY;
}

/* The 3x3 vote (see _bilevel.h): map[i] = 1 to halftone tile i. Returns the number of them. */
static size_t vote_tiles(const uint8_t *cls, int tiles_x, int tiles_y, uint8_t *map)
{
    size_t halftone = 0;
    for (int ty = 0; ty < tiles_y; ty++)
        for (int tx = 0; tx < tiles_x; tx++) {
            int photo = 0, text = 0;
            for (int y = ty - 1; y <= ty + 1; y++)
                for (int x = tx - 1; x <= tx + 1; x++) {
                    if (x < 0 || y < 0 || x >= tiles_x || y >= tiles_y)
                        continue;
                    uint8_t c = cls[(size_t)y * tiles_x + x];
                    photo += c == TILE_PHOTO;
                    text += c == TILE_TEXT;
                }
            uint8_t c = cls[(size_t)ty * tiles_x + tx];
            uint8_t h = c == TILE_PHOTO ? photo >= text : c == TILE_TEXT ? photo > text : photo >= 5;
            map[(size_t)ty * tiles_x + tx] = h;
            halftone += h;
        }
    return halftone;
}

/* Histogram of every fourth row (as bl_analyse) over the thresholded tiles only. */
static void text_histogram(const uint8_t *grey, size_t gs, int width, int height, int tiles_x,
                           const uint8_t *map, uint64_t hist[256])
{
    memset(hist, 0, 256 * sizeof hist[0]);
    int sample = height >= 4 ? 4 : 1;
    for (int y = 0; y < height; y += sample) {
        const uint8_t *row = grey + (size_t)y * gs, *m = map + (size_t)(y / BL_TILE) * tiles_x;
        for (int t = 0; t < tiles_x; t++) {
            if (m[t])
                continue;
            int x1 = (t + 1) * BL_TILE < width ? (t + 1) * BL_TILE : width;
            for (int x = t * BL_TILE; x < x1; x++)
                hist[row[x]]++;
        }
    }
}

/* auto's plan; `map` is tiles_x * tiles_y bytes. Sets *halftone to the number of halftoned
 * tiles and, when some tiles are thresholded, *level and *otsu from those tiles. */
static int plan(const uint8_t *grey, size_t gs, int width, int height, uint8_t *map,
                size_t *halftone, int *level, int *otsu, double *mid)
{
    int tiles_x = (width + BL_TILE - 1) / BL_TILE, tiles_y = (height + BL_TILE - 1) / BL_TILE;
    size_t n = (size_t)tiles_x * tiles_y;
    uint64_t hist[256];  /* as bl_analyse: every fourth row */
    int sample = height >= 4 ? 4 : 1;
    bl_histogram(grey, gs * (size_t)sample, width, (height + sample - 1) / sample, hist);
    bl_classify(hist, mid);
    *otsu = bl_otsu(hist);
    *level = bl_text_level(hist, *otsu);
    *halftone = 0;
    if (n == 0)
        return BL_OK;
    /* tints stop short of the paper: where one grey (+-8) covers 30 % of the page, that is the
     * paper (a scan's is often 230..245); a photograph has no such grey */
    int hi = BL_TINT_HI, mode = *otsu;
    uint64_t total = 0;
    for (int i = 0; i < 256; i++)
        total += hist[i];
    for (int i = *otsu; i < 256; i++)
        if (hist[i] > hist[mode])
            mode = i;
    uint64_t near = 0;
    for (int i = mode - 8 < 0 ? 0 : mode - 8; i <= mode + 8 && i < 256; i++)
        near += hist[i];
    if (10 * near >= 3 * total && mode - 12 < hi)
        hi = mode - 12 < BL_MID_HI ? BL_MID_HI : mode - 12;
    int lo = BL_TINT_LO;
    uint8_t *cls = malloc(n), *cols = malloc(4 * (size_t)width);
    uint32_t *stack = malloc(n * sizeof *stack);
    if (!cls || !cols || !stack) {
        free(cls);
        free(cols);
        free(stack);
        return BL_ERR_NOMEM;
    }
    classify_tiles(grey, gs, width, height, tiles_x, (uint8_t)lo, (uint8_t)hi, cls, cols);
    free(cols);
    grow_photos(cls, tiles_x, tiles_y, stack);
    *halftone = vote_tiles(cls, tiles_x, tiles_y, map);
    free(cls);
    free(stack);
    if (*halftone > 0 && *halftone < n) {  /* the text level of the text, not of the photo */
        text_histogram(grey, gs, width, height, tiles_x, map, hist);
        *otsu = bl_otsu(hist);
        *level = bl_text_level(hist, *otsu);
    }
    return BL_OK;
}

int bl_auto_plan(const uint8_t *grey, size_t grey_stride, int width, int height, uint8_t *map,
                 bl_info *info, int *otsu)
{
    if (!grey || width < 1 || width > BL_MAX_WIDTH || height < 0 || height > BL_MAX_HEIGHT ||
        grey_stride < (size_t)width)
        return BL_ERR_ARGS;
    size_t n = (size_t)((width + BL_TILE - 1) / BL_TILE) * (size_t)((height + BL_TILE - 1) / BL_TILE);
    uint8_t *own = map ? NULL : malloc(n ? n : 1);
    if (!map && !own)
        return BL_ERR_NOMEM;
    size_t halftone;
    int level, o;
    double mid;
    int status = plan(grey, grey_stride, width, height, map ? map : own, &halftone, &level, &o, &mid);
    free(own);
    if (status != BL_OK)
        return status;
    if (otsu)
        *otsu = o;
    if (info) {
        info->method = halftone == 0 ? BL_THRESHOLD : halftone == n ? BL_ORDERED : BL_MIXED;
        info->level = info->method == BL_ORDERED ? -1 : level;
        info->mid_fraction = mid;
        info->halftone_fraction = n ? (double)halftone / (double)n : 0.0;
    }
    return BL_OK;
}

/* Threshold tiles at `level`, halftone tiles with the matrix, both in page coordinates: each
 * pel comes out exactly as the whole-page threshold or ordered conversion would make it. */
static void mixed_rows(const uint8_t *grey, size_t gs, int width, int height, int level,
                       int matrix, const uint8_t *map, uint8_t *flags, uint8_t *limits,
                       uint8_t *out, size_t stride)
{
    const uint8_t *order = MATRICES[matrix].order;
    int cols = MATRICES[matrix].cols, rows = MATRICES[matrix].rows, cells = cols * rows;
    int tiles_x = (width + BL_TILE - 1) / BL_TILE;
    for (int r = 0; r < rows; r++)
        for (int x = 0; x < width; x++)
            limits[(size_t)r * width + x] =
                (uint8_t)(256 - (2 * order[r * cols + x % cols] + 1) * 128 / cells);
    const uint8_t lvl = (uint8_t)(level > 255 ? 255 : level);
    for (int y = 0; y < height; y++) {
        const uint8_t *row = grey + (size_t)y * gs, *m = map + (size_t)(y / BL_TILE) * tiles_x;
        const uint8_t *lim = limits + (size_t)(y % rows) * width;
        for (int t = 0; t < tiles_x;) {  /* a run of tiles with the same decision */
            int u = t + 1;
            while (u < tiles_x && m[u] == m[t])
                u++;
            int x0 = t * BL_TILE, x1 = u * BL_TILE < width ? u * BL_TILE : width;
            if (m[t])
                for (int x = x0; x < x1; x++)
                    flags[x] = row[x] < lim[x];
            else if (level > 255)
                memset(flags + x0, 1, (size_t)(x1 - x0));
            else
                for (int x = x0; x < x1; x++)
                    flags[x] = row[x] < lvl;
            t = u;
        }
        bl_pack_row(flags, width, out + (size_t)y * stride);
    }
}

int bl_convert(const uint8_t *grey, size_t grey_stride, int width, int height, int method,
               int level, int matrix, uint8_t *out, bl_info *info)
{
    if (!grey || !out || width < 1 || width > BL_MAX_WIDTH || height < 0 ||
        height > BL_MAX_HEIGHT || grey_stride < (size_t)width || method < BL_AUTO ||
        method > BL_ORDERED || (level != BL_NO_LEVEL && (level < 0 || level > 256)) ||
        matrix < 0 || matrix >= BL_MATRICES)
        return BL_ERR_ARGS;
    double mid = -1, halftone = method == BL_THRESHOLD ? 0.0 : 1.0;
    uint8_t *map = NULL;
    if (method == BL_AUTO) {
        size_t n = (size_t)((width + BL_TILE - 1) / BL_TILE) *
                   (size_t)((height + BL_TILE - 1) / BL_TILE);
        map = malloc(n ? n : 1);
        bl_info plan_info;
        int status = map ? bl_auto_plan(grey, grey_stride, width, height, map, &plan_info, NULL)
                         : BL_ERR_NOMEM;
        if (status != BL_OK) {
            free(map);
            return status;
        }
        method = plan_info.method;
        mid = plan_info.mid_fraction;
        halftone = plan_info.halftone_fraction;
        if (level == BL_NO_LEVEL)
            level = plan_info.level;
    } else if (method == BL_THRESHOLD && level == BL_NO_LEVEL) {
        int chosen, otsu, text;
        bl_analyse(grey, grey_stride, width, height, &chosen, &otsu, &text, &mid);
        level = text;
    }
    if (method == BL_DIFFUSION)  /* 0 and 256 would only push the error one way */
        level = level == BL_NO_LEVEL ? 128 : level < 1 ? 1 : level > 255 ? 255 : level;
    if (info) {
        info->method = method;
        info->level = method == BL_ORDERED ? -1 : level;
        info->mid_fraction = mid;
        info->halftone_fraction = halftone;
    }
    size_t stride = (size_t)(width + 7) / 8;
    uint8_t *flags = malloc((size_t)width);
    if (!flags) {
        free(map);
        return BL_ERR_NOMEM;
    }
    int status = BL_OK;
    if (method == BL_THRESHOLD) {
        threshold_rows(grey, grey_stride, width, height, level, flags, out, stride);
    } else if (method == BL_ORDERED || method == BL_MIXED) {
        uint8_t *limits = malloc((size_t)MATRICES[matrix].rows * (size_t)width);
        if (!limits)
            status = BL_ERR_NOMEM;
        else if (method == BL_ORDERED)
            ordered_rows(grey, grey_stride, width, height, matrix, flags, limits, out, stride);
        else
            mixed_rows(grey, grey_stride, width, height, level, matrix, map, flags, limits, out,
                       stride);
        free(limits);
    } else {
        int32_t *err = malloc(2 * (size_t)(width + 2) * sizeof *err);
        if (err)
            diffuse_rows(grey, grey_stride, width, height, level, flags, err, out, stride);
        else
            status = BL_ERR_NOMEM;
        free(err);
    }
    free(flags);
    free(map);
    return status;
}
