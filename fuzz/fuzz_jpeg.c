/* libFuzzer target over faxpipe's JPEG band decoder (faxpipe/codec/_jpeg.h) on libjpeg, no
 * Python.
 *
 * Input: a JPEG file. Its last byte picks the scale (bits 0-2: 1..8 / 8), where the image is cut
 * in two (bits 3-5: 0..7 eighths of the rows, on a multiple of the iMCU row or not) and the band
 * height of the whole decode (bits 6-7: 1, 22, 43 or 64 rows).
 * The image is decoded twice when the header allows it (grey-able, at most a megapel decoded):
 * once top to bottom in bands, once as faxpipe cuts it (a second decoder skips the top rows,
 * then decodes the rest). Checks: no crash or sanitizer report in either, libjpeg's failures
 * reported as JB_ERR_JPEG with a message, every row of the buffer written (it is poisoned first,
 * and the decoders must fill it), and when both decodes succeed the bottom rows are equal. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "_jpeg.h"

#define MAX_PELS (1u << 20)
#define MAX_MEMORY (64u << 20)

static int decode(const uint8_t *data, size_t size, int num, uint8_t *out, int cut, int band,
                  int w_expected, int h_expected)
{
    int status;
    char message[200];
    jb_decoder *d = jb_open(data, size, MAX_MEMORY, &status, message);
    if (!d) {
        if (status == JB_OK || (status == JB_ERR_JPEG && !message[0]))
            abort();
        return -1;
    }
    int w, h, imcu;
    status = jb_start(d, num, 8, &w, &h, &imcu);
    if (status == JB_OK && (w != w_expected || h != h_expected || imcu < 1))
        abort();
    if (status == JB_OK && cut > 0)
        status = jb_skip(d, cut);
    for (int y = cut; status == JB_OK && y < h; y += band) {
        int n = h - y < band ? h - y : band;
        status = jb_read(d, out + (size_t)y * (size_t)w, (size_t)w, n);
        if (status == JB_OK && jb_row(d) != y + n)
            abort();
    }
    if (status == JB_ERR_JPEG && !jb_message(d)[0])
        abort();
    if (status == JB_ERR_ARGS)
        abort();  /* every call above is within its bounds */
    jb_close(d);
    return status;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    uint8_t pick = data[size - 1];
    int status;
    char message[200];
    jb_decoder *d = jb_open(data, size, MAX_MEMORY, &status, message);
    if (!d)
        return 0;
    jb_header h;
    jb_header_of(d, &h);
    jb_close(d);
    if (!h.greyable || h.width < 1 || h.height < 1)
        return 0;
    int num = 1 + (pick & 7);
    size_t w = ((size_t)h.width * (size_t)num + 7) / 8, hh = ((size_t)h.height * (size_t)num + 7) / 8;
    if (w * hh > MAX_PELS)
        return 0;
    uint8_t *whole = malloc(w * hh), *cut = malloc(w * hh);
    if (!whole || !cut) {
        free(whole);
        free(cut);
        return 0;
    }
    memset(whole, 0xA5, w * hh);
    memset(cut, 0x5A, w * hh);
    int at = (int)(hh * (size_t)((pick >> 3) & 7) / 8);
    int a = decode(data, size, num, whole, 0, 1 + (pick >> 6) * 21, (int)w, (int)hh);
    int b = decode(data, size, num, cut, at, 64, (int)w, (int)hh);
    if (a == JB_OK && b == JB_OK &&
        memcmp(whole + (size_t)at * w, cut + (size_t)at * w, (hh - (size_t)at) * w) != 0)
        abort();  /* skipping changed the rows after the cut */
    free(whole);
    free(cut);
    return 0;
}
