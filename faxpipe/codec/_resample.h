/* faxpipe grey resampling: shrinking 8-bit grey images with a triangle (bilinear) filter as
 * wide as the reduction, in plain C, no Python (the JPEG decoded at 5/8 onto the fax page). */
#ifndef FAXPIPE_RESAMPLE_H
#define FAXPIPE_RESAMPLE_H

#include <stddef.h>
#include <stdint.h>

enum { RS_OK = 0, RS_ERR_NOMEM = -1, RS_ERR_ARGS = -2 };
#define RS_MAX_SIDE 65536

/* Rows [y0, y1) of `in` (in_w x in_h, rows in_stride bytes apart) shrunk to out_w x out_h,
 * written to `out` (rows out_stride bytes apart; out points at output row 0). Each axis is
 * filtered with the triangle max(0, 1 - |d| / s), s = in / out, centred on the output pel's
 * centre (as Pillow's BILINEAR when shrinking), weights in 14-bit fixed point summing to one;
 * each output row from the input rows under it only, so bands can be made at once (in threads)
 * and join exactly. out_w <= in_w and out_h <= in_h. */
int rs_shrink(const uint8_t *in, size_t in_stride, int in_w, int in_h, uint8_t *out,
              size_t out_stride, int out_w, int out_h, int y0, int y1);

/* For each of the `out` output rows (or columns) of a reduction from `in`, the end of the input
 * rows it reads: output row i uses the *taps input rows below ends[i] only (ends non-decreasing
 * in i), so it can be made once those have arrived. RS_OK, or RS_ERR_ARGS / RS_ERR_NOMEM. */
int rs_input_ends(int in, int out, int32_t *ends, int *taps);

#endif
