/* faxpipe bilevel conversion: 8-bit grey rows (0 black .. 255 white) to packed 1-bit rows
 * (MSB-first, 1 = black, padding bits zero: the page model of T.4 §2), in plain C, no Python.
 *
 * Methods: a fixed threshold, Otsu's threshold, Floyd–Steinberg error diffusion (serpentine)
 * and ordered dithering with a clustered-dot or Bayer matrix; `auto` decides per tile of
 * BL_TILE x BL_TILE pels (text / line art -> threshold, photograph / grey areas -> ordered), so
 * a page of text with a chart, a logo or shaded boxes keeps both its letters and its greys. */
#ifndef FAXPIPE_BILEVEL_H
#define FAXPIPE_BILEVEL_H

#include <stddef.h>
#include <stdint.h>

enum bl_status { BL_OK = 0, BL_ERR_NOMEM = -1, BL_ERR_ARGS = -2 };

enum bl_method { BL_AUTO = 0, BL_THRESHOLD = 1, BL_DIFFUSION = 2, BL_ORDERED = 3,
                 BL_MIXED = 4 /* reported by auto only: threshold and ordered tiles on one page */ };

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
    int method;             /* the method used (never BL_AUTO; BL_MIXED when auto used both) */
    int level;              /* the threshold used (threshold, diffusion, the text tiles of mixed),
                               else -1 */
    double mid_fraction;    /* pels in [BL_MID_LO, BL_MID_HI) on the page (-1: not measured) */
    double halftone_fraction;  /* share of the page's tiles halftoned: auto's decision; 0 for
                                  threshold, 1 for ordered and diffusion */
} bl_info;

#define BL_MID_LO 64
#define BL_MID_HI 192
#define BL_PHOTO_MID_FRACTION 0.20   /* bl_classify: above this share of mid-grey pels, a photo */

/* auto, per tile. Statistics come from every fourth row of a tile; a pel is "smooth" when it
 * differs from its right and lower neighbours by less than BL_SMOOTH (a photograph, a grey fill,
 * a gradient) and an "edge" when by BL_EDGE or more (a stroke, anti-aliased or not).
 *   photo: at least a quarter of the pels are smooth mid-greys [BL_MID_LO, BL_MID_HI);
 *   tint:  at least half are smooth greys in [BL_TINT_LO, BL_TINT_HI) (a light or dark grey,
 *          the ends of a gradient) and few are edges: halftoned only when 4-connected to a
 *          photo tile through tints (a shaded box of a form alone stays thresholded). The top
 *          stops 12 below the paper's grey when one grey covers 30 % of the page (a scan's
 *          paper is not a tint);
 *   text:  neither, with an edge; empty: neither, without one (paper, solid black).
 * Shares are of the tile's pels that are not blank (smooth and not a tint: paper, solid ink),
 * with a floor of 1/32 of the tile (a row), so a photograph's border that covers part of a
 * tile counts as much as its middle and a few grey pels count for nothing.
 * Then the 3x3 neighbourhood decides: a photo tile among more text tiles is thresholded (its
 * greys were anti-aliased letters), a text tile among more photo tiles is halftoned (no seam
 * inside a photograph), an empty tile with five or more photo neighbours is halftoned. Text
 * tiles are thresholded at the text level of the thresholded tiles; photo tiles are halftoned
 * with the ordered matrix in page coordinates, so neighbouring tiles join without a seam. */
#define BL_TILE 32
#define BL_SMOOTH 24
#define BL_EDGE 64
#define BL_TINT_LO 4
#define BL_TINT_HI 240

/* Histogram of a width x height grey image with rows `grey_stride` bytes apart. */
void bl_histogram(const uint8_t *grey, size_t grey_stride, int width, int height,
                  uint64_t hist[256]);

/* Otsu's level from a histogram: pels below it are black. 128 for an empty or flat image. */
int bl_otsu(const uint64_t hist[256]);

/* BL_THRESHOLD (text / line art) or BL_ORDERED (photograph) from the share of mid-grey pels. */
int bl_classify(const uint64_t hist[256], double *mid_fraction);

/* The threshold for text: between Otsu's level and the paper's mean grey, nearer Otsu. */
int bl_text_level(const uint64_t hist[256], int otsu);

/* The page's statistics from a histogram of every fourth row: the whole-page class
 * (bl_classify), Otsu's level, the text level used by a threshold without a level, and the share
 * of mid-grey pels. BL_AUTO decides per tile instead (bl_auto_plan). */
void bl_analyse(const uint8_t *grey, size_t grey_stride, int width, int height, int *method,
                int *otsu, int *level, double *mid_fraction);

/* auto's plan for an image: `map` (NULL, or tiles_x * tiles_y bytes, row-major, tiles_x =
 * (width + BL_TILE - 1) / BL_TILE) gets 1 for a halftoned tile, 0 for a thresholded one; `info`
 * gets what convert would report, `otsu` (may be NULL) Otsu's level of the thresholded tiles.
 * Returns BL_OK, BL_ERR_ARGS or BL_ERR_NOMEM. */
int bl_auto_plan(const uint8_t *grey, size_t grey_stride, int width, int height, uint8_t *map,
                 bl_info *info, int *otsu);

/* The matrix's cell size and its black-first order (cols * rows entries, row-major), or NULL. */
const uint8_t *bl_matrix(int matrix, int *cols, int *rows);

/* Convert. `out` holds height * ((width + 7) / 8) bytes. `level` is 0..256 or BL_NO_LEVEL
 * (a pel is black when grey < level; without one, threshold uses bl_text_level); `matrix` is used by BL_ORDERED (and BL_AUTO on photo tiles).
 * Returns BL_OK, BL_ERR_ARGS or BL_ERR_NOMEM; `info` may be NULL. */
int bl_convert(const uint8_t *grey, size_t grey_stride, int width, int height, int method,
               int level, int matrix, uint8_t *out, bl_info *info);

/* Pack a row of width flags (0 or 1 per pel) into (width + 7) / 8 bytes, MSB-first. */
void bl_pack_row(const uint8_t *flags, int width, uint8_t *out);

#endif
