/* faxpipe bilevel conversion: 8-bit grey rows (0 black .. 255 white) to packed 1-bit rows
 * (MSB-first, 1 = black, padding bits zero: the page model of T.4 §2), in plain C, no Python.
 *
 * Methods: a fixed threshold, Otsu's threshold, Floyd–Steinberg error diffusion (serpentine)
 * and ordered dithering with a clustered-dot or Bayer matrix; `auto` classifies the page from
 * its histogram (text / line art -> threshold, photograph -> halftone). */
#ifndef FAXPIPE_BILEVEL_H
#define FAXPIPE_BILEVEL_H

#include <stddef.h>
#include <stdint.h>

enum bl_status { BL_OK = 0, BL_ERR_NOMEM = -1, BL_ERR_ARGS = -2 };

enum bl_method { BL_AUTO = 0, BL_THRESHOLD = 1, BL_DIFFUSION = 2, BL_ORDERED = 3 };

enum bl_matrix {
    BL_CLUSTER_8X8 = 0,    /* clustered dot, 0 degrees, 8x8 cell: 25 lpi at 204 dpi, 65 greys */
    BL_CLUSTER_8X4 = 1,    /* the same dot for 204x98 dpi (standard): a square dot on paper */
    BL_CLUSTER45_8X8 = 2,  /* clustered dot at 45 degrees, two dots per 8x8 tile: 36 lpi */
    BL_BAYER_8X8 = 3,      /* dispersed dot (Bayer): fine texture, many runs, compresses badly */
    BL_MATRICES = 4
};

#define BL_MAX_WIDTH 16384
#define BL_MAX_HEIGHT 65536
#define BL_NO_LEVEL (-1)   /* threshold: the text level (bl_text_level); diffusion: 128 */

/* What `auto` looked at and chose. */
typedef struct {
    int method;             /* the method used (never BL_AUTO) */
    int level;              /* the threshold used (threshold, diffusion), else -1 */
    double mid_fraction;    /* pels in [BL_MID_LO, BL_MID_HI) */
} bl_info;

#define BL_MID_LO 64
#define BL_MID_HI 192
#define BL_PHOTO_MID_FRACTION 0.20   /* above this share of mid-grey pels a page is a photo */

/* Histogram of a width x height grey image with rows `grey_stride` bytes apart. */
void bl_histogram(const uint8_t *grey, size_t grey_stride, int width, int height,
                  uint64_t hist[256]);

/* Otsu's level from a histogram: pels below it are black. 128 for an empty or flat image. */
int bl_otsu(const uint64_t hist[256]);

/* BL_THRESHOLD (text / line art) or BL_ORDERED (photograph) from the share of mid-grey pels. */
int bl_classify(const uint64_t hist[256], double *mid_fraction);

/* The threshold for text: between Otsu's level and the paper's mean grey, nearer Otsu. */
int bl_text_level(const uint64_t hist[256], int otsu);

/* What BL_AUTO decides for an image: the method (bl_classify), Otsu's level, the text level
 * used by a threshold without a level, and the share of mid-grey pels, from a histogram of
 * every fourth row. */
void bl_analyse(const uint8_t *grey, size_t grey_stride, int width, int height, int *method,
                int *otsu, int *level, double *mid_fraction);

/* The matrix's cell size and its black-first order (cols * rows entries, row-major), or NULL. */
const uint8_t *bl_matrix(int matrix, int *cols, int *rows);

/* Convert. `out` holds height * ((width + 7) / 8) bytes. `level` is 0..256 or BL_NO_LEVEL
 * (a pel is black when grey < level; without one, threshold uses bl_text_level); `matrix` is used by BL_ORDERED (and BL_AUTO on photos).
 * Returns BL_OK, BL_ERR_ARGS or BL_ERR_NOMEM; `info` may be NULL. */
int bl_convert(const uint8_t *grey, size_t grey_stride, int width, int height, int method,
               int level, int matrix, uint8_t *out, bl_info *info);

/* Pack a row of width flags (0 or 1 per pel) into (width + 7) / 8 bytes, MSB-first. */
void bl_pack_row(const uint8_t *flags, int width, uint8_t *out);

#endif
