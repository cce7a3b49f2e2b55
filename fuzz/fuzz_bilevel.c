/* libFuzzer target over the pure C bilevel converter (faxpipe/codec/_bilevel.h), no Python.
 *
 * Input: a 4-byte header, then grey pels.
 *   byte 0  bits 0-1 method (auto, threshold, diffusion, ordered), bits 2-3 matrix
 *   byte 1  width = 1 + value (1..256); height = payload / width, at most 64 rows
 *   byte 2  level: 255 means none (BL_NO_LEVEL), else 0..254
 *   byte 3  extra bytes of stride beyond the width (0..3)
 * Checks: BL_OK, every output byte written (the buffer is poisoned first), padding bits past
 * the width zero, threshold with a level agreeing with the definition pel by pel, and auto
 * giving each pel the threshold's (at the level it reports) or the ordered matrix's value. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_bilevel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    int method = data[0] & 3, matrix = (data[0] >> 2) & 3;
    int width = 1 + data[1], level = data[2] == 255 ? BL_NO_LEVEL : data[2];
    size_t stride = (size_t)width + (data[3] & 3);
    const uint8_t *grey = data + 4;
    size_t payload = size - 4;
    int height = (int)(payload / stride);
    if (height > 64)
        height = 64;
    size_t out_stride = (size_t)(width + 7) / 8;
    uint8_t *out = malloc(out_stride * (size_t)height + 1);
    if (!out)
        return 0;
    memset(out, 0xA5, out_stride * (size_t)height + 1);
    bl_info info;
    if (bl_convert(grey, stride, width, height, method, level, matrix, out, &info) != BL_OK)
        abort();
    if (info.method == BL_AUTO)
        abort();
    for (int y = 0; y < height; y++) {
        const uint8_t *row = out + (size_t)y * out_stride;
        if (width % 8 && (row[out_stride - 1] & (0xFF >> (width % 8))))
            abort();   /* padding bits must be zero */
        if (method == BL_THRESHOLD && level != BL_NO_LEVEL)
            for (int x = 0; x < width; x++) {
                int black = (row[x >> 3] >> (7 - (x & 7))) & 1;
                if (black != (grey[(size_t)y * stride + (size_t)x] < level))
                    abort();
            }
        if (method == BL_AUTO) {
            int cols, rows;
            const uint8_t *order = bl_matrix(matrix, &cols, &rows);
            for (int x = 0; x < width; x++) {
                int black = (row[x >> 3] >> (7 - (x & 7))) & 1;
                int g = grey[(size_t)y * stride + (size_t)x];
                int ordered = g < 256 - (2 * order[(y % rows) * cols + x % cols] + 1) * 128 / (cols * rows);
                int thresholded = info.level >= 0 && g < info.level;
                if ((info.method == BL_ORDERED && black != ordered) ||
                    (info.method == BL_THRESHOLD && black != thresholded) ||
                    (info.method == BL_MIXED && black != ordered && black != thresholded))
                    abort();
            }
        }
    }
    if (out[out_stride * (size_t)height] != 0xA5)
        abort();   /* wrote past the end */
    free(out);
    return 0;
}
