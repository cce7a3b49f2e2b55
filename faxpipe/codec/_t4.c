/* faxpipe G3/G4 codec core: ITU-T T.4 §4.1 (MH), §4.2 (MR) and T.6 (MMR).
 *
 * Both directions work on lists of changing elements (T.4 §4.2.1.3.1): the positions where a
 * row changes colour, the first one a change to black, ended by sentinels at the row width.
 * The encoder finds them 64 pels at a time with count-leading-zeros and writes codes through
 * a 64-bit bit buffer; the decoder reads codes through a 64-bit bit buffer with table look-ups
 * and paints the black runs with whole-byte stores. No per-pixel loops, no Python. */
#include "_t4.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "_t4_codes.h"

/* ---------------------------------------------------------------- tables */

typedef struct { uint16_t code; uint8_t len; } t4_code;

/* Encoding: index 0..63 terminating, 64 + n for the make-up code of n × 64 (n = 1..40). */
static t4_code enc_run[2][64 + 41];
/* Every run below 2624 as one code word: make-up (if any) and terminating code together. */
#define FULL_RUNS 2624
typedef struct { uint32_t code; uint32_t len; } t4_word;
static t4_word enc_full[2][FULL_RUNS];

/* Decoding: a run length (terminating < 64, make-up ≥ 64) and the code length, or one of: */
#define RUN_INVALID (-1)
#define RUN_EOL (-2)   /* 11 or more zeros: an EOL, fill, or the end of the data */
typedef struct { int16_t run; uint8_t len; } t4_entry;
#define WHITE_BITS 12
#define BLACK_BITS 13
static t4_entry dec_white[1 << WHITE_BITS];
static t4_entry dec_black[1 << BLACK_BITS];

enum { MODE_P, MODE_H, MODE_V, MODE_EXT, MODE_ZEROS };
typedef struct __attribute__((aligned(4))) { int8_t mode; int8_t delta; uint8_t len; } t4_mode;   /* 4 bytes: scaled indexing */
#define MODE_BITS 7
static t4_mode dec_mode[1 << MODE_BITS];

/* Up to four vertical-mode codes that lie whole within the next VRUN_BITS bits, so that the
 * commonest 2-D codes (T.4 Table 4: V0 is 1 bit, VR1 / VL1 3 bits) need one look-up between
 * them: their deltas and total length; count 0 when the next code is not a vertical one. */
#define VRUN_BITS 12

/* A terminating code of one colour followed by one of the other, both whole within the next
 * PAIR_BITS bits and neither a run of 0 (short runs: halftones, small type); len 0 when they
 * are not. [0] is white then black, [1] black then white. */
#define PAIR_BITS 12
typedef struct __attribute__((aligned(4))) { uint8_t first, second, len, sum; } t4_pair;   /* 4 bytes: scaled indexing */
static t4_pair dec_pair[2][1 << PAIR_BITS];
typedef struct __attribute__((aligned(8))) { int8_t delta[4]; uint8_t count, len, all_v0; } t4_vrun;
static t4_vrun dec_vrun[1 << VRUN_BITS];

/* The same for decode_2d_table, two codes at most: deltas and lengths; len0 0 when the first
 * code is not a V code, len1 0 when no second one follows. */
#define VV_BITS 12
typedef struct __attribute__((aligned(4))) { int8_t d0, d1; uint8_t len0, len1; } t4_vv;
static t4_vv dec_vv[1 << VV_BITS];

static uint8_t reverse_bits[256];

static t4_code parse_code(const char *bits)
{
    t4_code c = {0, 0};
    for (; *bits; bits++, c.len++)
        c.code = (uint16_t)((c.code << 1) | (*bits == '1'));
    return c;
}

static void fill_decode(t4_entry *table, int bits, t4_code c, int run)
{
    int shift = bits - c.len;
    for (int s = 0; s < (1 << shift); s++) {
        table[(c.code << shift) | s].run = (int16_t)run;
        table[(c.code << shift) | s].len = c.len;
    }
}

static void fill_mode(const char *bits, int mode, int delta)
{
    t4_code c = parse_code(bits);
    int shift = MODE_BITS - c.len;
    for (int s = 0; s < (1 << shift); s++)
        dec_mode[(c.code << shift) | s] = (t4_mode){(int8_t)mode, (int8_t)delta, c.len};
}

static void build_tables(void)
{
    static const char *const *term[2] = {WHITE_TERMINATING, BLACK_TERMINATING};
    static const char *const *makeup[2] = {WHITE_MAKEUP, BLACK_MAKEUP};
    t4_entry *dec[2] = {dec_white, dec_black};
    int bits[2] = {WHITE_BITS, BLACK_BITS};

    for (int color = 0; color < 2; color++) {
        for (int i = 0; i < (1 << bits[color]); i++)
            dec[color][i] = (t4_entry){RUN_INVALID, 0};
        for (int i = 0; i < 64; i++) {
            enc_run[color][i] = parse_code(term[color][i]);
            fill_decode(dec[color], bits[color], enc_run[color][i], i);
        }
        for (int n = 1; n <= 40; n++) {
            const char *s = n <= 27 ? makeup[color][n - 1] : EXTENDED_MAKEUP[n - 28];
            enc_run[color][64 + n] = parse_code(s);
            fill_decode(dec[color], bits[color], enc_run[color][64 + n], n * 64);
        }
        /* Eleven leading zeros can only start an EOL (T.4 §4.1.2): the caller decides. */
        for (int i = 0; i < (1 << (bits[color] - 11)); i++)
            dec[color][i] = (t4_entry){RUN_EOL, 0};
    }
    for (int color = 0; color < 2; color++)
        for (int run = 0; run < FULL_RUNS; run++) {
            t4_code t = enc_run[color][run & 63];
            t4_word word = {t.code, t.len};
            if (run >= 64) {
                t4_code m = enc_run[color][64 + (run >> 6)];
                word = (t4_word){((uint32_t)m.code << t.len) | t.code, (uint32_t)(m.len + t.len)};
            }
            enc_full[color][run] = word;
        }
    for (int i = 0; i < (1 << MODE_BITS); i++)
        dec_mode[i] = (t4_mode){MODE_ZEROS, 0, 0};
    fill_mode("1", MODE_V, 0);
    fill_mode("011", MODE_V, 1);
    fill_mode("010", MODE_V, -1);
    fill_mode("001", MODE_H, 0);
    fill_mode("0001", MODE_P, 0);
    fill_mode("000011", MODE_V, 2);
    fill_mode("000010", MODE_V, -2);
    fill_mode("0000011", MODE_V, 3);
    fill_mode("0000010", MODE_V, -3);
    fill_mode("0000001", MODE_EXT, 0);
    for (int color = 0; color < 2; color++)
        for (unsigned i = 0; i < (1u << PAIR_BITS); i++) {
            t4_entry one = color ? dec_black[i << (BLACK_BITS - PAIR_BITS)] : dec_white[i >> (PAIR_BITS - WHITE_BITS)];
            t4_pair pair = {0, 0, 0, 0};
            if (one.run > 0 && one.run < 64 && one.len < PAIR_BITS) {
                unsigned rest = (i << one.len) & ((1u << PAIR_BITS) - 1);
                t4_entry two = color ? dec_white[rest >> (PAIR_BITS - WHITE_BITS)] : dec_black[rest << (BLACK_BITS - PAIR_BITS)];
                if (two.run > 0 && two.run < 64 && one.len + two.len <= PAIR_BITS)
                    pair = (t4_pair){(uint8_t)one.run, (uint8_t)two.run,
                                     (uint8_t)(one.len + two.len), (uint8_t)(one.run + two.run)};
            }
            dec_pair[color][i] = pair;
        }
    for (int i = 0; i < (1 << VRUN_BITS); i++) {
        t4_vrun v = {0};
        for (int pos = 0; v.count < 4;) {
            /* The code is decided by its own bits, so zeros shifted in past VRUN_BITS only
             * matter when it is longer than what is left, which ends the group. */
            unsigned window = ((unsigned)i << pos >> (VRUN_BITS - MODE_BITS)) & ((1u << MODE_BITS) - 1);
            t4_mode m = dec_mode[window];
            if (m.mode != MODE_V || pos + m.len > VRUN_BITS)
                break;
            v.delta[v.count++] = m.delta;
            pos += m.len;
            v.len = (uint8_t)pos;
        }
        v.all_v0 = 1;
        for (int k = 0; k < v.count; k++)
            v.all_v0 &= v.delta[k] == 0;
        dec_vrun[i] = v;
    }
    for (unsigned i = 0; i < (1u << VV_BITS); i++) {
        t4_mode m0 = dec_mode[i >> (VV_BITS - MODE_BITS)];
        t4_vv e = {0, 0, 0, 0};
        if (m0.mode == MODE_V) {
            t4_mode m1 = dec_mode[((i << m0.len) & ((1u << VV_BITS) - 1)) >> (VV_BITS - MODE_BITS)];
            e.d0 = m0.delta;
            e.len0 = m0.len;
            if (m1.mode == MODE_V && m0.len + m1.len <= VV_BITS) {
                e.d1 = m1.delta;
                e.len1 = m1.len;
            }
        }
        dec_vv[i] = e;
    }
    for (int i = 0; i < 256; i++) {
        int r = 0;
        for (int b = 0; b < 8; b++)
            r |= ((i >> b) & 1) << (7 - b);
        reverse_bits[i] = (uint8_t)r;
    }
}

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void ensure_tables(void) { pthread_once(&tables_once, build_tables); }

static inline int clz64(uint64_t x) { return __builtin_clzll(x); }

static inline uint64_t load_be64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return __builtin_bswap64(v);
}

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* Clear or copy one row (a few hundred bytes). Written as 32-byte moves, the last one
 * overlapping, because compilers turn a memset / memcpy of unknown size (or a byte loop) into
 * `rep stos` / `rep movs`, whose start-up cost dominates at this size (it was 40 % of decoding
 * a blank page). */
static inline void row_zero(uint8_t *dst, size_t n)
{
    static const uint8_t zeros[32];
    if (n < 32) {
        memset(dst, 0, n);
        return;
    }
    for (size_t i = 0; i + 32 < n; i += 32)
        memcpy(dst + i, zeros, 32);
    memcpy(dst + n - 32, zeros, 32);
}

static inline void row_copy(uint8_t *dst, const uint8_t *src, size_t n)
{
    if (n < 32) {
        memcpy(dst, src, n);
        return;
    }
    for (size_t i = 0; i + 32 < n; i += 32)
        memcpy(dst + i, src + i, 32);
    memcpy(dst + n - 32, src + n - 32, 32);
}

/* -------------------------------------------------------- changing elements */

static inline uint64_t reverse_in_bytes(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    return ((v >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((v & 0x0F0F0F0F0F0F0F0FULL) << 4);
}

/* The changing elements of one packed row; returns their count. `ch` needs width + 1 slots.
 * Each 64-pel word is loaded with pel i at bit i, so the changes come out lowest bit first. */
static int row_changes(const uint8_t *row, int width, int32_t *ch)
{
    int stride = (width + 7) >> 3, words = (width + 63) >> 6;
    int32_t *c = ch;   /* where the next change goes */
    uint64_t prev = 0, any = 0;
    int i = 0;
    for (; i + 8 <= stride; i += 8) {   /* a white row, the commonest, in one quick pass */
        uint64_t v;
        memcpy(&v, row + i, 8);
        any |= v;
    }
    for (; i < stride; i++)
        any |= row[i];
    if (!any)
        return 0;
    for (int w = 0; w < words; w++) {
        uint64_t v = 0;
        int avail = stride - w * 8;
        if (__builtin_expect(avail >= 8, 1))
            memcpy(&v, row + w * 8, 8);
        else
            memcpy(&v, row + w * 8, (size_t)avail);
        if (v == (prev ? ~0ULL : 0) && avail >= 8)
            continue;   /* a whole word the colour of the pel before it: no change */
        v = reverse_in_bytes(v);
        uint64_t t = v ^ ((v << 1) | prev);
        int valid = width - w * 64;
        if (valid < 64)
            t &= (1ULL << valid) - 1;
        int32_t base = w * 64;
        while (t) {
            *c++ = base + __builtin_ctzll(t);
            t &= t - 1;
        }
        prev = v >> 63;
    }
    return (int)(c - ch);
}

/* The marks of 64 pels (the first one highest) to their colours: a prefix XOR, carrying the
 * colour of the last pel across words in `colour` (all ones for black). */
static inline uint64_t colours(uint64_t y, uint64_t *colour)
{
    y ^= y >> 1;
    y ^= y >> 2;
    y ^= y >> 4;
    y ^= y >> 8;
    y ^= y >> 16;
    y ^= y >> 32;
    y ^= *colour;
    *colour = 0 - (y & 1);
    return y;
}

/* Store word w of a row; the padding bits past `width` stay zero. */
static inline void put_word(uint8_t *row, int w, uint64_t y, int width, int stride)
{
    if (w * 64 + 64 <= width) {
        uint64_t be = __builtin_bswap64(y);
        memcpy(row + w * 8, &be, 8);
    } else {
        int valid = width - w * 64;   /* 1..63 pels */
        uint64_t be = __builtin_bswap64(y & ~(~0ULL >> valid));
        memcpy(row + w * 8, &be, (size_t)(stride - w * 8));
    }
}

/* Paint a row from its changing elements (a row starts white, T.4 §4.1.1).
 *
 * Rows of more than 8 changes: mark every change in a bitmap, then a prefix XOR along the row
 * turns marks into colours 64 pels at a time. `marks` holds (width + 63) / 64 + 1 zero words (a
 * change at `width` needs no test) and is left zero again. Fewer: clear the row and fill the
 * black runs. (Rows with many changes go to paint_busy.) */
static void paint_row(uint8_t *row, int width, const int32_t *ch, int n, uint64_t *marks)
{
    int words = (width + 63) >> 6, stride = (width + 7) >> 3;
    if (n <= 8) {
        row_zero(row, (size_t)stride);
        for (int i = 0; i + 1 <= n; i += 2) {
            int a = ch[i], b = i + 1 < n ? ch[i + 1] : width;
            if (b > width)
                b = width;
            if (a >= b)
                continue;
            int fa = a >> 3, lb = (b - 1) >> 3;
            uint8_t head = (uint8_t)(0xFF >> (a & 7)), tail = (uint8_t)(0xFF << (7 - ((b - 1) & 7)));
            if (fa == lb) {
                row[fa] |= head & tail;
            } else {
                row[fa] |= head;
                memset(row + fa + 1, 0xFF, (size_t)(lb - fa - 1));
                row[lb] |= tail;
            }
        }
        return;
    }
    for (ptrdiff_t i = 0; i < n; i++)   /* no test for the next word: it'd be mispredicted */
        marks[ch[i] >> 6] ^= 0x8000000000000000ULL >> (ch[i] & 63);
    marks[words] = 0;
    uint64_t colour = 0;   /* all ones while the last pel painted was black */
    for (int w = 0; w < words; w++) {
        uint64_t y = marks[w];
        if (y) {
            marks[w] = 0;
            y = colours(y, &colour);
        } else {
            y = colour;
        }
        put_word(row, w, y, width, stride);
    }
}

/* Rows with many changes: a byte per pel, 1 where a change is (independent stores, where the
 * bitmap's would wait on each other), gathered eight at a time into bits by a multiply, then
 * the same prefix XOR. `toggles` holds (width + 63) / 64 * 64 + 8 bytes. */
static void paint_busy(uint8_t *row, int width, const int32_t *ch, int n, uint8_t *toggles)
{
    int words = (width + 63) >> 6, stride = (width + 7) >> 3;
    memset(toggles, 0, (size_t)words * 64 + 8);
    const int32_t *c = ch, *end = ch + n;
    for (; end - c >= 4; c += 4) {   /* unrolled: the loop's own work was more than half */
        toggles[c[0]] = 1;
        toggles[c[1]] = 1;
        toggles[c[2]] = 1;
        toggles[c[3]] = 1;
    }
    for (; c < end; c++)
        toggles[*c] = 1;
    uint64_t colour = 0;
    for (int w = 0; w < words; w++) {
        uint64_t y = 0;
        for (int k = 0; k < 8; k++)   /* bytes of 0 / 1 to bits, the first pel highest */
            y = y << 8 | (load_le64(toggles + w * 64 + k * 8) * 0x8040201008040201ULL) >> 56;
        put_word(row, w, colours(y, &colour), width, stride);
    }
}

/* ------------------------------------------------------------ bit writer */

typedef struct {
    uint8_t *buf;
    size_t cap, len;
    uint64_t acc;   /* pending bits in the low `n` bits (higher bits are stale) */
    int n;          /* number of pending bits, < 32 between calls */
    int failed;
} bit_writer;

static int bw_reserve(bit_writer *w, size_t extra)
{
    if (w->len + extra + 8 <= w->cap)
        return 1;
    size_t cap = w->cap ? w->cap : 4096;
    while (cap < w->len + extra + 8)
        cap *= 2;
    uint8_t *buf = realloc(w->buf, cap);
    if (!buf) {
        w->failed = 1;
        return 0;
    }
    w->buf = buf;
    w->cap = cap;
    return 1;
}

static inline void bw_put(bit_writer *w, uint32_t code, int len)
{
    w->acc = (w->acc << len) | code;
    w->n += len;
    if (w->n >= 32) {
        w->n -= 32;
        uint32_t be = __builtin_bswap32((uint32_t)(w->acc >> w->n));
        memcpy(w->buf + w->len, &be, 4);
        w->len += 4;
    }
}

static inline size_t bw_bits(const bit_writer *w) { return w->len * 8 + (size_t)w->n; }

static void bw_zeros(bit_writer *w, size_t count)
{
    for (; count > 24; count -= 24)
        bw_put(w, 0, 24);
    bw_put(w, 0, (int)count);
}

static void bw_flush(bit_writer *w)
{
    if (w->n & 7)
        bw_put(w, 0, 8 - (w->n & 7));
    for (; w->n > 0; w->n -= 8)
        w->buf[w->len++] = (uint8_t)(w->acc >> (w->n - 8));
    w->acc = 0;
}

/* A run of one colour: extended make-ups of 2560, a make-up, a terminating code (T.4 §4.1.1). */
static inline void put_run(bit_writer *w, int color, int run)
{
    while (__builtin_expect(run >= FULL_RUNS, 0)) {
        bw_put(w, enc_run[color][64 + 40].code, enc_run[color][64 + 40].len);
        run -= 2560;
    }
    bw_put(w, enc_full[color][run].code, (int)enc_full[color][run].len);
}

#define EOL_CODE 0x001
#define EOL_LEN 12

/* ------------------------------------------- the reference row as a table
 *
 * In rows with many changes (dithered photographs, noise) the search for b1 along the
 * reference row's list goes by branches that follow the picture; mispredicted, they cost more
 * than the coding. A table of the reference row has none of them: next[p][x + 1] (x from -1
 * to width) is the first change after x whose index has parity p (colour: even indices start
 * black runs), or width when there is none (T.4 §4.2.1.3.1), so b1 and b2 are a load each.
 * encode_2d_table and decode_2d_table use it for such rows. */

/* The halves of a table (p = 0, 1) lie NEXT_STRIDE entries apart; wider rows are searched. */
#define NEXT_STRIDE 4880
#define NEXT_HALF(t, p) ((t) + (-(ptrdiff_t)((p) & 1) & NEXT_STRIDE))

/* next[x + 1] = value for x from `from` to to - 1, 8 entries at a time, so up to 8 past `to`;
 * the writes of later changes, which go up the row, put those right. */
typedef uint16_t next_vec __attribute__((vector_size(16)));

static inline void fill_next(uint16_t *next, ptrdiff_t from, ptrdiff_t to, int value)
{
    next_vec v = {0};
    v += (uint16_t)value;
    do {
        memcpy(next + from + 1, &v, sizeof v);
        from += 8;
    } while (from < to);
}

/* A row's table after its last change: `width` from each half's last change on. The list
 * has the guards ch[-2] = ch[-1] = -1. */
static void finish_next(uint16_t *next, const int32_t *ch, int n, int width)
{
    for (int p = 0; p < 2; p++) {
        int last = ch[n - 1 - ((n - 1 - p) & 1)];   /* the last change of index parity p */
        fill_next(NEXT_HALF(next, p), last, width + 1, width);
    }
}

/* The whole table of a row from its list of changes. */
static void build_next(uint16_t *next, const int32_t *ch, int n, int width)
{
    for (int i = 0; i < n; i++)
        fill_next(NEXT_HALF(next, i), ch[i - 2], ch[i], ch[i]);
    finish_next(next, ch, n, width);
}

/* Which 2-D rows the coders take with the table, row by row: busy rows (a change every four
 * pels or more) where one search for b1 in eight or more went otherwise than usual. Every 8th
 * row coded by search is counted to tell; so, while rows go to the table, is a row coded by
 * search after 32 of them, after 64 if that one agreed, and so on up to 256. */
typedef struct { int by_tables, search_rows, probe_every, until_probe; } table_choice;
#define TABLE_CHOICE(by_tables) {(by_tables), 0, 32, 0}

/* Whether this 2-D row goes to the table (the caller has the reference row's). */
static inline int choose_table(table_choice *t) { return t->by_tables && --t->until_probe > 0; }

/* Whether this 2-D row, coded by search, is to be counted. */
static inline int choose_count(table_choice *t)
{
    return t->by_tables || ++t->search_rows % 8 == 0;
}

static inline int busy_row(int n, int width, int irregular, int vertical)
{
    return n * 4 > width && irregular * 8 > vertical;
}

/* After a counted row: whether the rows below go to the table. */
static inline void choose_after(table_choice *t, int busy)
{
    t->probe_every = busy && t->by_tables && t->probe_every < 256 ? t->probe_every * 2 : 32;
    t->until_probe = t->probe_every;
    t->by_tables = busy;
}

/* ---------------------------------------------------------------- encoder */

static void encode_1d(bit_writer *wp, const int32_t *ch, int n, int width)
{
    bit_writer local = *wp, *w = &local;   /* keeps the writer in registers */
    int pos = 0;
    (void)n;   /* ch[n] is the sentinel `width` */
    for (;;) {
        put_run(w, 0, *ch - pos);
        pos = *ch++;
        if (pos >= width)
            break;
        put_run(w, 1, *ch - pos);
        pos = *ch++;
        if (pos >= width)
            break;
    }
    *wp = local;
}

static const uint8_t vcode[7] = {0x02, 0x02, 0x2, 0x1, 0x3, 0x3, 0x03};   /* VL3 .. VR3 */
static const uint8_t vlen[7] = {7, 6, 3, 1, 3, 6, 7};

/* T.4 §4.2.1.3: pass, vertical and horizontal modes against the reference row. Both lists are
 * strictly increasing and end with sentinels at `width` (two for cur, three for ref). b1 is kept
 * at an index whose parity is the colour of a0 (even: a change to black), so it only ever moves
 * forward in pairs, or back by one when a vertical mode flips the colour (T.4 §4.2.1.3.1). With
 * `count`, *vertical counts the V codes and *irregular the searches for b1 that went otherwise
 * than usual (after a V code, on by one pair; after H or P, by one pair at most), which tell
 * whether encode_2d_table would be faster. */
static inline __attribute__((always_inline)) void search_encode_2d(bit_writer *wp,
                                                                   const int32_t *cur,
                                                                   const int32_t *ref, int width,
                                                                   int *irregular, int *vertical,
                                                                   const int count)
{
    bit_writer local = *wp, *w = &local;
    int a0 = -1, color = 0, odd = 0, vcodes = 0;
    ptrdiff_t ia = 0, ib = 0;   /* as wide as pointers: no sign extension (-fwrapv) */
    for (;;) {
        int a1 = cur[ia], b1 = ref[ib], b2 = ref[ib + 1], after_v = 0;
        if (b2 < a1) {
            bw_put(w, 0x1, 4);   /* pass: 0001 */
            a0 = b2;
            ib += 2;
        } else if ((unsigned)(a1 - b1 + 3) <= 6) {
            bw_put(w, vcode[a1 - b1 + 3], vlen[a1 - b1 + 3]);
            a0 = a1;
            color ^= 1;
            ia++;
            ib--;   /* ref[-1] is a guard below every a0 */
            vcodes++;
            after_v = 1;
        } else {
            int a2 = cur[ia + 1];
            bw_put(w, 0x1, 3);   /* horizontal: 001 */
            put_run(w, color, a1 - (a0 < 0 ? 0 : a0));
            put_run(w, color ^ 1, a2 - a1);
            a0 = a2;
            ia += 2;
        }
        if (a0 >= width)
            break;
        ptrdiff_t from = ib;
        while (ref[ib] <= a0)
            ib += 2;
        if (count)
            odd += after_v ? ib != from + 2 : ib > from + 2;
    }
    *wp = local;
    if (count) {
        *irregular = odd;
        *vertical = vcodes;
    }
}

static void encode_2d(bit_writer *wp, const int32_t *cur, const int32_t *ref, int width)
{
    search_encode_2d(wp, cur, ref, width, NULL, NULL, 0);
}

static void encode_2d_counted(bit_writer *wp, const int32_t *cur, const int32_t *ref,
                              int width, int *irregular, int *vertical)
{
    search_encode_2d(wp, cur, ref, width, irregular, vertical, 1);
}

/* The same with b1 and b2 from the reference row's table `nr`: no search, so no loop through
 * the reference row's list. The same bits as encode_2d. Not inlined: in t4_encode its
 * registers cost the search loop an instruction a code. */
static __attribute__((noinline)) void encode_2d_table(bit_writer *wp, const int32_t *cur, const uint16_t *nr, int width)
{
    bit_writer local = *wp, *w = &local;
    ptrdiff_t a0 = -1, half = 0;   /* the half for the colour of a0 (0: white) */
    const int32_t *ca = cur;   /* a1 */
    for (;;) {
        ptrdiff_t a1 = *ca, b1 = (nr + half)[a0 + 1], b2 = (nr + (half ^ NEXT_STRIDE))[b1 + 1];
        if (b2 < a1) {
            bw_put(w, 0x1, 4);   /* pass: 0001 */
            a0 = b2;
        } else if ((size_t)(a1 - b1 + 3) <= 6) {
            bw_put(w, vcode[a1 - b1 + 3], vlen[a1 - b1 + 3]);
            a0 = a1;
            half ^= NEXT_STRIDE;
            ca++;
        } else {
            ptrdiff_t a2 = ca[1];
            int color = half != 0;
            bw_put(w, 0x1, 3);   /* horizontal: 001 */
            put_run(w, color, (int)(a1 - (a0 < 0 ? 0 : a0)));
            put_run(w, color ^ 1, (int)(a2 - a1));
            a0 = a2;
            ca += 2;
        }
        if (a0 >= width)
            break;
    }
    *wp = local;
}

static void pad_to(bit_writer *w, size_t line_start, int min_bits)
{
    size_t used = bw_bits(w) - line_start;
    if (used < (size_t)min_bits)
        bw_zeros(w, (size_t)min_bits - used);
}

/* An EOL (+ the T.4 §4.2.1.3 tag bit in MR) after optional fill; returns where the EOL starts,
 * which is where a coded line (EOL + DATA + FILL, T.4 §4.1.3) begins. */
static size_t put_eol(bit_writer *w, const t4_options *opt, int tag)
{
    if (opt->fill) {
        int pad = (int)((12 - (bw_bits(w) & 7)) & 7);   /* EOL ends on a byte boundary */
        if (pad)
            bw_put(w, 0, pad);
    }
    size_t start = bw_bits(w);
    if (opt->scheme == T4_MR)
        bw_put(w, (EOL_CODE << 1) | (uint32_t)tag, EOL_LEN + 1);
    else
        bw_put(w, EOL_CODE, EOL_LEN);
    return start;
}

static void byte_align(bit_writer *w)
{
    if (w->n & 7)
        bw_put(w, 0, 8 - (w->n & 7));
}

int t4_encode(const uint8_t *rows, int width, int height, const t4_options *opt,
              uint8_t **out, size_t *out_len)
{
    if (width < 1 || width > T4_MAX_WIDTH || height < 0 || height > T4_MAX_HEIGHT ||
        opt->scheme < T4_MH || opt->scheme > T4_MMR || opt->k < 1 || opt->min_bits < 0 ||
        opt->min_bits > T4_MAX_MIN_BITS)
        return T4_ERR_ARGS;
    ensure_tables();

    int stride = (width + 7) >> 3, mr = opt->scheme == T4_MR, mmr = opt->scheme == T4_MMR;
    int with_eol = mr || (opt->scheme == T4_MH && opt->eol);
    int min_bits = with_eol ? opt->min_bits : 0;
    int align_rows = opt->byte_align && !with_eol;   /* with EOLs, alignment is `fill` */
    /* Two lists of changes with two guards each; for MR / MMR, once busy rows come, the
     * reference row's table (encode_2d_table). */
    int tables = (mr || mmr) && width <= NEXT_STRIDE - 16;
    int32_t *lists = malloc(sizeof(int32_t) * 2 * (size_t)(width + 6));
    uint16_t *table = NULL;
    bit_writer w = {0};
    if (!lists || !bw_reserve(&w, (size_t)height * 16 + 1024)) {
        free(lists);
        free(w.buf);
        return T4_ERR_NOMEM;
    }
    int32_t *cur = lists + 2, *ref = lists + width + 8;
    cur[-2] = cur[-1] = ref[-2] = ref[-1] = -1;   /* guards below every a0 (encode_2d) */
    ref[0] = ref[1] = ref[2] = width;   /* the imaginary white row above the page */
    table_choice choice = TABLE_CHOICE(0);
    int table_valid = 0;   /* `table` is the reference row's */
    size_t line_start = 0;
    int k_left = 0;
    /* A white row's whole code: [0] 1-D (one white run), [1] 2-D below a white row (V0), each
     * with its EOL (and tag) when the stream has them; used when no fill, minimum or alignment
     * can put bits between rows, and when it fits one 32-bit put (width < 2560 or so). */
    uint32_t white_code[2] = {0, 0};
    int white_len[2] = {0, 0};
    if (!opt->fill && !min_bits && !align_rows && width < FULL_RUNS) {
        t4_word run = enc_full[0][width];
        int eol_len = with_eol ? EOL_LEN + mr : 0;
        uint32_t eol = with_eol ? (uint32_t)EOL_CODE << mr : 0;   /* tag bit 0 */
        if (eol_len + (int)run.len <= 32) {
            white_code[0] = ((eol | (uint32_t)mr) << run.len) | run.code;
            white_len[0] = eol_len + (int)run.len;
        }
        white_code[1] = (eol << 1) | 1;
        white_len[1] = eol_len + 1;
    }

    for (int y = 0; y < height; y++) {
        int n = row_changes(rows + (size_t)y * stride, width, cur);
        cur[n] = cur[n + 1] = cur[n + 2] = width;
        int two_d = mmr || (mr && k_left > 0);
        if (n == 0 && white_len[two_d] && (!two_d || ref[0] >= width)) {
            if (!bw_reserve(&w, 8))
                break;
            bw_put(&w, white_code[two_d], white_len[two_d]);
            table_valid = 0;
            if (mr)
                k_left = two_d ? k_left - 1 : opt->k - 1;
            int32_t *t = ref;
            ref = cur;
            cur = t;
            continue;
        }
        /* Worst case: every change a horizontal code with two runs, plus extended make-ups. */
        size_t bound = ((size_t)(n + 2) * 60 + (size_t)(width / 2560 + 2) * 24 + 40 +
                        (size_t)min_bits) / 8 + 16;
        if (!bw_reserve(&w, bound))
            break;
        if (with_eol) {
            if (y > 0)
                pad_to(&w, line_start, min_bits);
            line_start = put_eol(&w, opt, !two_d);
        } else if (align_rows) {
            byte_align(&w);
        }
        int by_table = two_d && table_valid && choose_table(&choice);
        int counted = two_d && tables && !by_table && choose_count(&choice);
        if (by_table) {
            encode_2d_table(&w, cur, table, width);
        } else if (counted) {
            int irregular, vertical;
            encode_2d_counted(&w, cur, ref, width, &irregular, &vertical);
            int busy = busy_row(n, width, irregular, vertical);
            if (busy && !table && !(table = malloc(sizeof(uint16_t) * 2 * NEXT_STRIDE)))
                busy = 0;   /* no memory for the table: keep searching */
            choose_after(&choice, busy);
        } else if (two_d) {
            encode_2d(&w, cur, ref, width);
        } else {
            encode_1d(&w, cur, n, width);
        }
        if (mr)
            k_left = two_d ? k_left - 1 : opt->k - 1;
        table_valid = choice.by_tables && (mmr || k_left > 0);   /* for a 2-D row below */
        if (table_valid)
            build_next(table, cur, n, width);
        int32_t *t = ref;
        ref = cur;
        cur = t;
    }
    if (!w.failed && bw_reserve(&w, 64 + (size_t)min_bits / 8)) {
        if (opt->rtc) {
            if (align_rows)
                byte_align(&w);
            if (mmr) {
                bw_put(&w, EOL_CODE, EOL_LEN);   /* EOFB, T.6 §2.4.1.1 */
                bw_put(&w, EOL_CODE, EOL_LEN);
            } else {
                if (with_eol && height > 0)
                    pad_to(&w, line_start, min_bits);
                byte_align(&w);   /* zero fill: RTC starts on a byte boundary, as libtiff's */
                for (int i = 0; i < 6; i++)   /* RTC, T.4 §4.1.4: six EOL (+1 in MR) */
                    if (mr)
                        bw_put(&w, (EOL_CODE << 1) | 1, EOL_LEN + 1);
                    else
                        bw_put(&w, EOL_CODE, EOL_LEN);
                if (!(w.n & 7))
                    bw_put(&w, 0, 8);   /* libtiff ends RTC with a zero byte: byte-identical */
            }
        }
        bw_flush(&w);
    }
    free(lists);
    free(table);
    if (w.failed) {
        free(w.buf);
        return T4_ERR_NOMEM;
    }
    if (opt->lsb_first)
        for (size_t i = 0; i < w.len; i++)
            w.buf[i] = reverse_bits[w.buf[i]];
    *out = w.buf;
    *out_len = w.len;
    return T4_OK;
}

/* ------------------------------------------------------------ bit reader */

typedef struct {
    const uint8_t *p, *end, *start;
    uint64_t acc;     /* next bits, left-aligned; bits past `n` are zero */
    int n;            /* valid bits in acc; negative once the reader ran past the data */
} bit_reader;

/* Bits consumed so far. */
static inline size_t br_pos(const bit_reader *b) { return (size_t)(b->p - b->start) * 8 - (size_t)b->n; }

/* Load whole bytes until more than 56 bits are held (or the data ends). */
static inline void br_top_up(bit_reader *b)
{
    if (b->n < 0)
        return;
    if (b->end - b->p >= 8) {
        uint64_t v = load_be64(b->p);
        int bytes = (63 - b->n) >> 3;
        int keep = b->n + 8 * bytes;
        b->acc = (b->acc | (v >> b->n)) & ~(~0ULL >> keep);
        b->p += bytes;
        b->n = keep;
    } else {
        while (b->n <= 56 && b->p < b->end) {
            uint64_t byte = *b->p;
            b->acc |= byte << (56 - b->n);
            b->p++;
            b->n += 8;
        }
    }
}

static inline void br_refill(bit_reader *b)
{
    if (b->n < 32)   /* 32 bits are enough for any code (EOFB, the longest look-ahead, is 24) */
        br_top_up(b);
}

/* The same without the test on n while 8 bytes remain (holding 56 bits or more after it). The
 * bits past n may then be the data's next bits rather than zeros; OR-ing them in again changes
 * nothing, but br_settle must clear them before code that looks past n (br_eol, white_row). */
static inline void br_refill_fast(bit_reader *b)
{
    if (__builtin_expect(b->end - b->p >= 8, 1)) {
        b->acc |= load_be64(b->p) >> b->n;
        b->p += (63 - b->n) >> 3;
        b->n |= 56;
    } else {
        br_refill(b);
    }
}

static inline void br_settle(bit_reader *b)
{
    if (b->n <= 0)
        b->acc = 0;
    else if (b->n < 64)   /* the slow top-up can fill all 64 */
        b->acc &= ~(~0ULL >> b->n);
}

static inline uint32_t br_peek(const bit_reader *b, int k) { return (uint32_t)(b->acc >> (64 - k)); }

static inline void br_consume(bit_reader *b, int k)
{
    b->acc = k >= 64 ? 0 : b->acc << k;
    b->n -= k;
}

/* The same for one code word or group of them (k < 64). */
static inline void br_skip(bit_reader *b, int k)
{
    b->acc <<= k;
    b->n -= k;
}

static inline int br_exhausted(const bit_reader *b) { return b->n <= 0 && b->p >= b->end; }

static void br_align(bit_reader *b)
{
    int skip = (int)((8 - (br_pos(b) & 7)) & 7);
    if (skip) {
        br_refill(b);
        br_consume(b, skip);
    }
}

/* Skip zero fill and one EOL if the next bits hold one. Returns 1 when an EOL was consumed, 0
 * when the next bits are not an EOL, -1 when only zeros remain. */
static int br_eol(bit_reader *b)
{
    br_refill(b);
    if (br_exhausted(b))
        return -1;
    if (br_peek(b, 11) != 0)
        return 0;
    for (;;) {
        br_refill(b);
        if (b->acc == 0) {
            if (b->p >= b->end) {
                br_consume(b, b->n > 0 ? b->n : 0);
                return -1;
            }
            br_consume(b, b->n);
            continue;
        }
        br_consume(b, clz64(b->acc) + 1);
        return 1;
    }
}

/* After a corrupt row: move up to the next run of 11 zeros (an EOL), which may start right
 * here; br_eol then consumes it, so decoding always moves on. */
static int br_resync(bit_reader *b)
{
    for (;;) {
        br_refill(b);
        if (b->n <= 0)
            return -1;
        if (br_peek(b, 11) == 0)
            return 0;
        int z = clz64(b->acc);
        br_consume(b, z + 1 < b->n ? z + 1 : b->n);
    }
}

/* ---------------------------------------------------------------- decoder */

/* One run of a colour: make-ups then a terminating code; -1 on an invalid code or an EOL. */
static inline int read_run(bit_reader *b, int color, int limit)
{
    int total = 0;
    for (;;) {
        br_refill(b);
        t4_entry e = color ? dec_black[br_peek(b, BLACK_BITS)] : dec_white[br_peek(b, WHITE_BITS)];
        br_skip(b, e.len);   /* invalid entries have length 0 */
        total += e.run;
        if ((unsigned)e.run < 64)   /* a terminating code ends the run */
            return total <= limit ? total : -1;
        if (e.run < 0 || total > limit)
            return -1;
    }
}

/* The two runs of a horizontal-mode code (T.4 §4.2.1.3.3) from `start`, the first of a0's
 * `color`: 0, or -1 when a code is invalid or the runs pass the end of the row. */
static inline int read_h_runs(bit_reader *b, int color, int start, int width, int *r1, int *r2)
{
    br_refill(b);
    t4_pair pair = dec_pair[color][br_peek(b, PAIR_BITS)];
    if (pair.len && start + pair.sum <= width) {
        br_skip(b, pair.len);
        *r1 = pair.first;
        *r2 = pair.second;
        return 0;
    }
    *r1 = read_run(b, color, width - start);
    if (*r1 < 0)
        return -1;
    *r2 = read_run(b, color ^ 1, width - start - *r1);
    return *r2 < 0 ? -1 : 0;
}

/* Append a change that cannot cancel (its run is not empty) and, with `next`, write it into
 * the row's table. */
static inline void push_next(int32_t *cur, ptrdiff_t *n, int x, uint16_t *next)
{
    cur[(*n)++] = x;
    if (next)
        fill_next(NEXT_HALF(next, *n - 1), cur[*n - 3], x, x);
}

/* Append the changing element that ends a run (and with `next` write it into the row's table).
 * A zero-length run puts it where the last one is, and the two cancel. So lists stay strictly
 * increasing and, since every other run advances, never hold more than width + 2 entries in
 * 1-D or 2 × width + 2 in 2-D. A cancelled change's table entries are overwritten by the next
 * change of its parity, or by finish_next. */
static inline void push_change_next(int32_t *cur, ptrdiff_t *n, int x, int run, uint16_t *next)
{
    if (__builtin_expect(run == 0, 0) && *n > 0 && cur[*n - 1] == x)
        (*n)--;
    else
        push_next(cur, n, x, next);
}

static inline void push_change(int32_t *cur, ptrdiff_t *n, int x, int run)
{
    push_change_next(cur, n, x, run, NULL);
}

/* One 1-D row (T.4 §4.1); with `next`, also its table for decode_2d_table. */
static inline __attribute__((always_inline)) int read_1d(bit_reader *bp, int32_t *cur,
                                                         int width, uint16_t *next)
{
    bit_reader local = *bp, *b = &local;   /* keeps the reader in registers */
    int a0 = 0;
    ptrdiff_t n = 0;   /* counts and indices as wide as pointers: no sign extension (-fwrapv) */
    for (;;) {
        br_refill(b);
        t4_pair pair = dec_pair[0][br_peek(b, PAIR_BITS)];
        if (pair.len && a0 + pair.sum < width) {   /* both runs in this row, neither empty */
            br_skip(b, pair.len);
            a0 += pair.first;
            push_next(cur, &n, a0, next);
            a0 += pair.second;
            push_next(cur, &n, a0, next);
            continue;
        }
        int run = read_run(b, 0, width - a0);
        if (run < 0)
            break;
        a0 += run;
        push_change_next(cur, &n, a0, run, next);
        if (a0 >= width)
            break;
        run = read_run(b, 1, width - a0);
        if (run < 0)
            break;
        a0 += run;
        push_change_next(cur, &n, a0, run, next);
        if (a0 >= width)
            break;
    }
    *bp = local;
    if (a0 < width)
        return -1;
    if (next)
        finish_next(next, cur, (int)n, width);
    return (int)n;
}

static int decode_1d(bit_reader *bp, int32_t *cur, int width)
{
    return read_1d(bp, cur, width, NULL);
}

static int decode_1d_next(bit_reader *bp, int32_t *cur, int width, uint16_t *next)
{
    return read_1d(bp, cur, width, next);
}

/* Put the reader just after the first `codes` V codes of a group read from `acc` (which held
 * `n` bits). */
static void group_rewind(bit_reader *b, uint64_t acc, int n, int codes)
{
    int used = 0;
    for (int k = 0; k < codes; k++)
        used += dec_mode[(acc << used) >> (64 - MODE_BITS)].len;
    b->acc = acc << used;
    b->n = n - used;
}

/* One V code of search_2d, the k-th of its group: a1 = b1 + delta (T.4 §4.2.1.3.2), then b1
 * moves on to the first change after a1 of the colour opposite to a1's. Anything but
 * a0 < a1 < width goes to `v_edge`. */
#define SEARCH_V(k)                                                                         \
    do {                                                                                    \
        a1 = *rb + v.delta[k];                                                              \
        if (__builtin_expect(a1 >= width, 0) || __builtin_expect(a1 <= a0, 0)) {            \
            codes = (k) + 1;                                                                \
            goto v_edge;                                                                    \
        }                                                                                   \
        *c++ = a1;   /* a1 > a0: never cancels */                                           \
        a0 = a1;                                                                            \
        const int32_t *from = --rb;   /* ref[-1] is a guard below every a0 */               \
        while (*rb <= a0)                                                                   \
            rb += 2;                                                                        \
        odd += count && rb != from + 2;                                                     \
    } while (0)

/* One 2-D row (T.4 §4.2.1.3), b1 found by searching the reference list `ref`, which is strictly
 * increasing and ends with three sentinels at `width`. Fast where the search's branches are
 * predictable. With `count`, *vertical counts the V codes and *irregular the searches that went
 * otherwise than usual (where they are not): after a V code b1 moves on to the next change of
 * its colour, after H or P by one step at most. */
static inline __attribute__((always_inline)) int search_2d(bit_reader *bp, int32_t *cur,
                                                           const int32_t *ref, int width,
                                                           int *copy, int *irregular,
                                                           int *vertical, const int count)
{
    bit_reader local = *bp, *b = &local;
    int a0 = -1, a1, only_v0 = 1, odd = 0, vcodes = 0, codes;
    int32_t *c = cur;          /* where the next change goes */
    const int32_t *rb = ref;   /* b1; the colour of a0 is the parity of its index */
    uint64_t group;
    int group_n;
    for (;;) {
        br_refill_fast(b);   /* no test on n, whose outcome follows the picture */
        group = b->acc;
        group_n = b->n;
        t4_vrun v = dec_vrun[br_peek(b, VRUN_BITS)];
        if (v.count) {
            only_v0 &= v.all_v0;
            vcodes += count ? v.count : 0;
            br_skip(b, v.len);
            SEARCH_V(0);
            if (v.count > 1) {
                SEARCH_V(1);
                if (v.count > 2) {
                    SEARCH_V(2);
                    if (v.count > 3)
                        SEARCH_V(3);
                }
            }
            continue;
        }
        t4_mode m = dec_mode[br_peek(b, MODE_BITS)];
        br_skip(b, m.len);
        if (m.mode == MODE_H) {
            int start = a0 < 0 ? 0 : a0, r1, r2;
            ptrdiff_t n = c - cur;
            only_v0 = 0;
            if (read_h_runs(b, (int)((rb - ref) & 1), start, width, &r1, &r2) < 0 ||
                start + r1 + r2 <= a0)
                goto fail;
            push_change(cur, &n, start + r1, r1);
            push_change(cur, &n, start + r1 + r2, r2);
            c = cur + n;
            a0 = start + r1 + r2;
        } else if (m.mode == MODE_P) {
            only_v0 = 0;
            a0 = rb[1];   /* b2 */
            rb += 2;
        } else {
            goto fail;
        }
        /* Past the end of the data the reader yields zeros, which no mode code starts with:
         * the caller sees b->n < 0 either way. */
        if (a0 >= width)
            break;
        /* Entries from index nref on are all `width` > a0, so rb stays within nref + 1. */
        const int32_t *from = rb;
        while (*rb <= a0)
            rb += 2;
        odd += count && rb > from + 2;
    }
done:
    br_settle(&local);
    *bp = local;
    *copy = only_v0;   /* nothing but V0: the row repeats the reference row */
    if (count) {
        *irregular = odd;
        *vertical = vcodes;
    }
    return (int)(c - cur);
v_edge:   /* a1 = width ends the row; anything else outside (a0, width) is an error */
    group_rewind(b, group, group_n, codes);
    if (a1 != width || a1 <= a0)
        goto fail;
    *c++ = a1;
    goto done;
fail:
    br_settle(&local);
    *bp = local;
    return -1;
}

#undef SEARCH_V

static int decode_2d(bit_reader *bp, int32_t *cur, const int32_t *ref, int width, int *copy)
{
    return search_2d(bp, cur, ref, width, copy, NULL, NULL, 0);
}

/* The same, counting (it costs some 5 %) for the choice of decode_2d_table. */
static int decode_2d_counted(bit_reader *bp, int32_t *cur, const int32_t *ref, int width,
                             int *copy, int *irregular, int *vertical)
{
    return search_2d(bp, cur, ref, width, copy, irregular, vertical, 1);
}

/* One V code of decode_2d_table: a1 = b1 + delta (T.4 §4.2.1.3.2) goes into the list and into
 * this row's table, the colour turns, and b1 becomes the first change after a1 of the colour
 * opposite to the new a0's. A code that leaves (a0, width) goes to `edge`. */
#define TABLE_V(delta)                                                                      \
    do {                                                                                    \
        a1 = b1 + (delta);                                                                  \
        if (__builtin_expect(a1 <= a0, 0) || __builtin_expect(a1 >= width, 0))              \
            goto edge;                                                                      \
        fill_next(nw + half, c[-2], a1, (int)a1);                                           \
        *c++ = (int32_t)a1;                                                                 \
        half ^= NEXT_STRIDE;                                                                \
        a0 = a1;                                                                            \
        b1 = (nr + half)[a1 + 1];                                                           \
    } while (0)

/* One look-up: one or two V codes, else to `other`. */
#define TABLE_LOOKUP()                                                                      \
    do {                                                                                    \
        t4_vv e = dec_vv[br_peek(b, VV_BITS)];                                              \
        if (__builtin_expect(e.len0 == 0, 0))                                               \
            goto other;                                                                     \
        br_skip(b, e.len0);                                                                 \
        TABLE_V(e.d0);                                                                      \
        if (e.len1) {                                                                       \
            br_skip(b, e.len1);                                                             \
            TABLE_V(e.d1);                                                                  \
        }                                                                                   \
    } while (0)

/* One 2-D row (T.4 §4.2.1.3) with the tables: `nr` the reference row's, `nw` this row's. The
 * same result and the same reader position as decode_2d, valid data or not. cur[-2] and
 * cur[-1] are -1. Each row decoded while tables are in use, 1-D (read_1d) or 2-D, writes its
 * own table for the row below as its changes come; each look-up takes one V code or two. */
static int decode_2d_table(bit_reader *bp, int32_t *cur, const uint16_t *nr, uint16_t *nw,
                           int width)
{
    bit_reader local = *bp, *b = &local;
    /* a0 and b1 as wide as pointers, for indexing without sign extension; `half` is the
     * offset of the half for the colour of a0 (the parity of the changes so far). */
    ptrdiff_t a0 = -1, b1 = nr[0], a1, half = 0;
    int32_t *c = cur;   /* where the next change goes */
    for (;;) {
        /* A refill leaves 56 bits or more, unless the data ends: enough for two look-ups of
         * 12 bits. Near the end, bits past n are zeros, which no code starts with. */
        br_refill_fast(b);
        TABLE_LOOKUP();
        TABLE_LOOKUP();
        continue;
    other:;
        /* H, P or no valid code: one code as decode_2d reads it */
        ptrdiff_t n = c - cur;
        int start = a0 < 0 ? 0 : (int)a0, r1, r2;
        br_refill(b);
        t4_mode m = dec_mode[br_peek(b, MODE_BITS)];
        br_skip(b, m.len);
        if (m.mode == MODE_H) {
            if (read_h_runs(b, n & 1, start, width, &r1, &r2) < 0 || start + r1 + r2 <= a0)
                goto fail;
            push_change_next(cur, &n, start + r1, r1, nw);
            push_change_next(cur, &n, start + r1 + r2, r2, nw);
            a0 = start + r1 + r2;
        } else if (m.mode == MODE_P) {
            a0 = (nr + (half ^ NEXT_STRIDE))[b1 + 1];   /* b2 */
        } else {
            goto fail;
        }
        c = cur + n;
        half = -(ptrdiff_t)(n & 1) & NEXT_STRIDE;
        if (a0 >= width)
            goto done;
        b1 = (nr + half)[a0 + 1];
    }
edge:   /* a1 = width ends the row; anything else outside (a0, width) is an error */
    if (a1 != width || a1 <= a0)
        goto fail;
    fill_next(nw + half, c[-2], a1, (int)a1);
    *c++ = (int32_t)a1;
done:
    finish_next(nw, cur, (int)(c - cur), width);
    br_settle(&local);
    *bp = local;
    return (int)(c - cur);
fail:
    br_settle(&local);
    *bp = local;
    return -1;
}

#undef TABLE_LOOKUP
#undef TABLE_V

/* Where decoded rows go: the caller's buffer of `max_rows` rows. */
typedef struct {
    t4_result *res;
    uint8_t *rows;
    int width, stride;
    int consecutive;
    uint64_t *marks;
    uint8_t *toggles;
} row_sink;

static void sink_good(row_sink *s, const int32_t *ch, int n, int same_as_above)
{
    uint8_t *row = s->rows + (size_t)s->res->rows_decoded * s->stride;
    /* The row above holds the reference row's pels, also when it replaced a bad row. */
    if (same_as_above && s->res->rows_decoded > 0)
        row_copy(row, row - s->stride, (size_t)s->stride);
    else if (n * 16 >= s->width && n > 8)
        paint_busy(row, s->width, ch, n, s->toggles);
    else
        paint_row(row, s->width, ch, n, s->marks);
    s->res->rows_decoded++;
    s->consecutive = 0;
}

/* A corrupt row becomes a copy of the previous row, itself good or a copy of the last good one
 * (white when there is none). */
static void sink_bad(row_sink *s)
{
    uint8_t *row = s->rows + (size_t)s->res->rows_decoded * s->stride;
    if (s->res->rows_decoded++ > 0)
        row_copy(row, row - s->stride, (size_t)s->stride);
    else
        row_zero(row, (size_t)s->stride);
    s->res->bad_rows++;
    if (++s->consecutive > s->res->consecutive_bad)
        s->res->consecutive_bad = s->consecutive;
}

static int is_eofb(bit_reader *b)
{
    br_refill(b);
    return b->n >= 24 && br_peek(b, 24) == ((EOL_CODE << 12) | EOL_CODE);
}

/* Move the reader to bit `pos` of the data. */
static void br_seek(bit_reader *b, size_t pos)
{
    b->p = b->start + pos / 8;
    b->acc = 0;
    b->n = 0;
    br_top_up(b);
    br_consume(b, (int)(pos & 7));
}

/* In a blank stretch of white rows with EOLs the data repeats: the last eight rows (their
 * lengths in `ring`, `seen` rows so far, a multiple of 8) take a whole number of bytes, and
 * where the bytes after them are the same as those bytes, so are the rows. Skips over such
 * rows, at most `room`, 64 bits compared at a time; returns how many. */
static int repeat_rows(bit_reader *b, const int *ring, int seen, int room)
{
    size_t period = 0, pos = br_pos(b), at = pos / 8;
    for (int i = 0; i < 8; i++)
        period += (size_t)ring[i];
    if (period & 7 || period / 8 < 8)
        return 0;
    period /= 8;
    size_t len = (size_t)(b->end - b->start), same = at;
    while (same + 8 <= len && memcmp(b->start + same, b->start + same - period, 8) == 0)
        same += 8;
    int rows = 0;
    for (int i = seen; rows < room && pos + (size_t)ring[i & 7] <= same * 8; i++, rows++)
        pos += (size_t)ring[i & 7];
    if (rows)
        br_seek(b, pos);
    return rows;
}

/* Which kept white row (0: 1-D, 1: 2-D, only below a white row) the next bits repeat, or -1. */
static inline int white_row(const bit_reader *b, const uint64_t *bits, const int *len,
                            int above_white)
{
    if (above_white && len[1] && b->n >= len[1] && b->acc >> (64 - len[1]) == bits[1])
        return 1;
    if (len[0] && b->n >= len[0] && b->acc >> (64 - len[0]) == bits[0])
        return 0;
    return -1;
}

int t4_decode_into(const uint8_t *data, size_t len, int width, uint8_t *rows, int max_rows,
                   const t4_options *opt, t4_result *res)
{
    memset(res, 0, sizeof *res);
    if (width < 1 || width > T4_MAX_WIDTH || max_rows < 0 || max_rows > T4_MAX_HEIGHT ||
        opt->scheme < T4_MH || opt->scheme > T4_MMR || opt->decoder < T4_DECODE_AUTO ||
        opt->decoder > T4_DECODE_TABLES)
        return T4_ERR_ARGS;
    ensure_tables();

    /* One block: paint_row's marks, two lists of changes with two guards each, paint_busy's
     * toggles, and two tables for decode_2d_table (two halves each). */
    int cap = 2 * width + 4, words = (width + 63) / 64 + 1;
    size_t toggles_len = (size_t)(width + 63) / 64 * 64 + 8;
    int tables = opt->scheme != T4_MH && opt->decoder != T4_DECODE_SEARCH &&
                 width <= NEXT_STRIDE - 16;
    uint64_t *marks = malloc(sizeof(uint64_t) * (size_t)words + sizeof(int32_t) * 2 * (size_t)(cap + 4) +
                             toggles_len + (tables ? sizeof(uint16_t) * 4 * NEXT_STRIDE : 0));
    if (!marks)
        return T4_ERR_NOMEM;
    memset(marks, 0, sizeof(uint64_t) * (size_t)words);   /* paint_row's; the rest needs none */
    int32_t *cur = (int32_t *)(marks + words) + 2, *ref = cur + cap + 4;
    uint8_t *toggles = (uint8_t *)(ref + cap + 2);
    uint16_t *nr = tables ? (uint16_t *)(toggles + toggles_len) : NULL;
    uint16_t *nw = tables ? nr + 2 * NEXT_STRIDE : NULL;
    row_sink s = {res, rows, width, (width + 7) >> 3, 0, marks, toggles};
    cur[-2] = cur[-1] = ref[-2] = ref[-1] = -1;   /* guards below every a0 */
    ref[0] = ref[1] = ref[2] = width;
    /* nr is the table of `ref` when nr_valid; with T4_DECODE_TABLES every 2-D row goes to it. */
    int nref = 0, nr_valid = 0, forced = opt->decoder == T4_DECODE_TABLES;
    table_choice choice = TABLE_CHOICE(tables && forced);
    /* LSB-first streams are mirrored once up front, so the reader has one bit order. */
    uint8_t *mirrored = NULL;
    if (opt->lsb_first && len) {
        mirrored = malloc(len);
        if (!mirrored) {
            free(marks);
            return T4_ERR_NOMEM;
        }
        for (size_t i = 0; i < len; i++)
            mirrored[i] = reverse_bits[data[i]];
        data = mirrored;
    }
    bit_reader b = {data, data + len, data, 0, 0};
    int mmr = opt->scheme == T4_MMR, mr = opt->scheme == T4_MR;
    int seen_eol = 0, ref_lost = 0;
    /* The bits of the last white 1-D row and of the last white 2-D row of a T.4 stream (fill,
     * one EOL, tag and codes, as they came): the same bits again are the same white row. A 1-D
     * row depends on its bits alone; a 2-D row also on the row above, so its bits are only
     * taken as white below a white row, as when they were kept. */
    uint64_t white_bits[2] = {0, 0};
    int white_len[2] = {0, 0}, above_white = 1;

    while (res->rows_decoded < max_rows) {
        int n, eols = 0, two_d = mmr;
        if (opt->byte_align)
            br_align(&b);
        br_top_up(&b);   /* a white row's bits must all be in view, to be matched or kept */
        int fast = white_row(&b, white_bits, white_len, above_white);
        if (fast >= 0) {
            /* A blank stretch: consume white rows while their bits repeat, then clear them all
             * at once. */
            int first = res->rows_decoded, ring[8], seen = 0;
            do {
                ring[seen++ & 7] = white_len[fast];
                br_consume(&b, white_len[fast]);   /* up to 64 bits */
                res->rows_decoded++;
                if (!(seen & 7))
                    res->rows_decoded += repeat_rows(&b, ring, seen, max_rows - res->rows_decoded);
                br_top_up(&b);
            } while (res->rows_decoded < max_rows &&
                     (fast = white_row(&b, white_bits, white_len, 1)) >= 0);
            memset(rows + (size_t)first * s.stride, 0,
                   (size_t)(res->rows_decoded - first) * s.stride);
            s.consecutive = 0;
            above_white = 1;
            ref[0] = ref[1] = ref[2] = width;   /* the reference row is this white row now */
            nref = nr_valid = 0;
            continue;
        }
        uint64_t start_acc = b.acc;
        size_t start_pos = br_pos(&b);
        int start_n = b.n;
        if (mmr) {
            br_refill(&b);
            if (br_exhausted(&b) || (b.acc == 0 && b.p >= b.end))
                break;
            if (is_eofb(&b)) {
                br_consume(&b, 24);
                res->terminated = 1;
                break;
            }
            if (ref[0] == width && !opt->byte_align) {
                /* Below a white row, a white row is one V0 code: each 1 bit is a whole row.
                 * Blank stretches (margins, space between lines) go by 64 rows at a time. */
                int ones = ~b.acc ? clz64(~b.acc) : 64;
                if (ones > b.n)
                    ones = b.n;
                if (ones > max_rows - res->rows_decoded)
                    ones = max_rows - res->rows_decoded;
                if (ones > 0) {
                    memset(rows + (size_t)res->rows_decoded * s.stride, 0, (size_t)ones * s.stride);
                    res->rows_decoded += ones;
                    s.consecutive = 0;
                    br_consume(&b, ones);   /* up to 64 bits */
                    continue;
                }
            }
        } else {
            int r;
            while ((r = br_eol(&b)) == 1) {
                eols++;
                if (mr) {
                    br_refill(&b);
                    two_d = br_peek(&b, 1) == 0;
                    br_consume(&b, 1);
                }
            }
            /* RTC is six EOLs (T.4 §4.1.4). Fewer, with data after them, are taken as a row
             * lost to a line error (a bit error can fake an EOL next to real ones); fewer
             * at the very end still end the page. */
            if (eols >= 6 || (eols >= 2 && r < 0)) {
                res->terminated = 1;
                break;
            }
            if (r < 0 || b.n < 0)
                break;
            seen_eol |= eols;
            if (mr && !eols)
                two_d = res->rows_decoded > 0;
        }
        /* In MR, 2-D rows after a lost row were coded against it: bad until a 1-D row. */
        int copy = 0, irregular = 0, vertical = 0;
        int table = two_d && !ref_lost && (forced ? choice.by_tables : choose_table(&choice));
        int counted = two_d && tables && !table && opt->decoder == T4_DECODE_AUTO &&
                      choose_count(&choice);
        if (table && !nr_valid)
            build_next(nr, ref, nref, width);
        int filled = table || (mr && !two_d && choice.by_tables);   /* nw gets this row */
        n = two_d && ref_lost ? -1
            : table       ? decode_2d_table(&b, cur, nr, nw, width)
            : counted     ? decode_2d_counted(&b, cur, ref, width, &copy, &irregular, &vertical)
            : two_d       ? decode_2d(&b, cur, ref, width, &copy)
            : filled      ? decode_1d_next(&b, cur, width, nw)
                          : decode_1d(&b, cur, width);
        if (n >= 0 && b.n >= 0) {
            size_t used = br_pos(&b) - start_pos;
            int white = n == 0 || cur[0] >= width;
            if (white && !mmr && !opt->byte_align && eols == 1 && used <= (size_t)start_n &&
                (!two_d || above_white)) {
                white_len[two_d] = (int)used;
                white_bits[two_d] = start_acc >> (64 - (int)used);
            }
            above_white = white;
            ref_lost = 0;
            sink_good(&s, cur, n, copy);
            cur[n] = cur[n + 1] = cur[n + 2] = width;
            int32_t *t = ref;
            ref = cur;
            cur = t;
            nref = n;
            nr_valid = filled;
            if (filled) {
                uint16_t *u = nr;
                nr = nw;
                nw = u;
            } else if (counted) {
                choose_after(&choice, busy_row(n, width, irregular, vertical));
            }
            continue;
        }
        sink_bad(&s);
        ref_lost = mr;
        white_len[0] = white_len[1] = above_white = 0;
        if (mmr || !seen_eol || b.n < 0 || br_resync(&b) < 0)
            break;   /* T.6 and EOL-less streams cannot resynchronise */
    }
    if (!res->terminated && res->rows_decoded == max_rows) {
        if (mmr) {
            if (is_eofb(&b)) {
                br_consume(&b, 24);
                res->terminated = 1;
            }
        } else {
            int eols = 0;
            while (br_eol(&b) == 1) {
                eols++;
                if (mr) {
                    br_refill(&b);
                    br_consume(&b, 1);
                }
            }
            res->terminated = eols >= 6 || (eols >= 2 && br_exhausted(&b));
        }
    }
    free(marks);
    free(mirrored);
    res->rows = rows;
    res->trailing_bad = s.consecutive;
    size_t used = (br_pos(&b) + 7) / 8;
    res->bytes_used = used < len ? used : len;
    return T4_OK;
}

int t4_decode(const uint8_t *data, size_t len, int width, int max_rows, const t4_options *opt,
              t4_result *res)
{
    memset(res, 0, sizeof *res);
    if (width < 1 || width > T4_MAX_WIDTH || max_rows < 0 || max_rows > T4_MAX_HEIGHT)
        return T4_ERR_ARGS;
    /* Every row costs at least one bit, so the data bounds the rows as well as max_rows. */
    int limit = len < (size_t)max_rows / 8 ? (int)(len * 8 + 1) : max_rows;
    uint8_t *rows = malloc((size_t)limit * (size_t)((width + 7) >> 3) + 1);
    if (!rows)
        return T4_ERR_NOMEM;
    int status = t4_decode_into(data, len, width, rows, limit, opt, res);
    if (status != T4_OK)
        free(rows);
    return status;
}

void t4_result_free(t4_result *res)
{
    free(res->rows);
    res->rows = NULL;
}
