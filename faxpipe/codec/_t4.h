/* faxpipe G3/G4 codec: ITU-T T.4 (MH, MR) and T.6 (MMR) in plain C, no Python.
 *
 * Pages are packed rows, MSB-first, 1 = black, stride = (width + 7) / 8 bytes.
 * Encoded streams are produced MSB-first (TIFF FillOrder 1) or LSB-first
 * (FillOrder 2, the order on the wire). */
#ifndef FAXPIPE_T4_H
#define FAXPIPE_T4_H

#include <stddef.h>
#include <stdint.h>

enum t4_scheme { T4_MH = 0, T4_MR = 1, T4_MMR = 2 };

/* How the decoder finds b1 in 2-D rows: by searching the reference row (fast where that is
 * predictable: text, line art, regular patterns), by tables (fast in dithered and noisy rows),
 * or each row as the last rows suggest. */
enum t4_decoder { T4_DECODE_AUTO = 0, T4_DECODE_SEARCH = 1, T4_DECODE_TABLES = 2 };

enum t4_status {
    T4_OK = 0,
    T4_ERR_NOMEM = -1,     /* out of memory */
    T4_ERR_ARGS = -2,      /* width, height, K or scheme out of range */
};

#define T4_MAX_WIDTH 16384
#define T4_MAX_HEIGHT 65536
#define T4_MAX_MIN_BITS 8192   /* 40 ms (the longest T.30 minimum) at 33.6 kbit/s is 1344 bits */

typedef struct {
    int scheme;      /* enum t4_scheme */
    int k;           /* MR: one 1-D row then k-1 2-D rows (T.4 §4.2.1) */
    int eol;         /* MH: an EOL before each row (MR always, MMR never) */
    int fill;        /* zero fill so that each EOL ends on a byte boundary */
    int rtc;         /* RTC (T.4 §4.1.4) or EOFB (T.6 §2.4.1.1) at the end */
    int lsb_first;   /* bit order of the stream */
    int min_bits;    /* minimum bits per coded line including its EOL (T.4 §4.1.3) */
    int byte_align;  /* without EOLs: each row and the terminator start on a byte boundary
                        (TIFF Compression 2); with EOLs use `fill` instead */
    int decoder;     /* 2-D rows: enum t4_decoder (the result is the same; tests compare them) */
} t4_options;

typedef struct {
    uint8_t *rows;        /* rows_decoded * stride bytes */
    int rows_decoded;
    int bad_rows;         /* rows replaced by the previous good row */
    int consecutive_bad;  /* longest run of consecutive bad rows */
    int trailing_bad;     /* bad rows at the end of the result */
    int terminated;       /* 1 when RTC / EOFB ended the data */
    size_t bytes_used;    /* bytes consumed, up to and including the terminator */
} t4_result;

/* Encode `height` rows. On success *out is malloc'd (caller frees) and T4_OK returned. */
int t4_encode(const uint8_t *rows, int width, int height, const t4_options *opt,
              uint8_t **out, size_t *out_len);

/* Decode at most max_rows rows of `width` pels into `rows` (max_rows * stride bytes, the
 * caller's; res->rows points at it). Never reads outside data[0..len), never writes outside
 * rows; corrupt rows are counted, not fatal. Allocates nothing but two small row lists. */
int t4_decode_into(const uint8_t *data, size_t len, int width, uint8_t *rows, int max_rows,
                   const t4_options *opt, t4_result *res);

/* The same into a malloc'd buffer (res->rows; free with t4_result_free). */
int t4_decode(const uint8_t *data, size_t len, int width, int max_rows,
              const t4_options *opt, t4_result *res);

void t4_result_free(t4_result *res);

#endif
