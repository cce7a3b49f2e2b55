/* faxpipe JPEG rows: libjpeg (Debian: libjpeg62-turbo) decoding a JPEG in memory to 8-bit grey
 * rows at a reduced scale, a band at a time, with rows skipped (entropy-decoded only) so that two
 * decoders can make the two halves of one image at once. Plain C, no Python. Every libjpeg error
 * and every warning (damaged or truncated data) ends the decoder with JB_ERR_JPEG and a message;
 * the caller then leaves the file to another decoder. */
#ifndef FAXPIPE_JPEG_H
#define FAXPIPE_JPEG_H

#include <stddef.h>
#include <stdint.h>

enum { JB_OK = 0, JB_ERR_NOMEM = -1, JB_ERR_ARGS = -2, JB_ERR_JPEG = -3 };

typedef struct jb_decoder jb_decoder;

typedef struct {
    int width, height;     /* of the image */
    int components;        /* colour components in the file */
    int greyable;          /* grey, YCbCr or RGB: decodable to grey (CMYK / YCCK are not) */
    int multiscan;         /* progressive or multi-scan: the whole file is read at jb_start */
} jb_header;

/* A decoder over `len` bytes at `data` (not copied: they must outlive it), the header read;
 * NULL and *status (JB_ERR_NOMEM / JB_ERR_JPEG, the message in `message`, 200 bytes) when not.
 * libjpeg may use at most `max_memory` bytes (0: no limit of faxpipe's). */
jb_decoder *jb_open(const uint8_t *data, size_t len, size_t max_memory, int *status,
                    char message[200]);
void jb_header_of(const jb_decoder *d, jb_header *h);

/* Start decoding to grey at num/denom of the size (libjpeg-turbo: 1..16 / 8); the output's size
 * and the rows of one iMCU row (skips a multiple of it cost no inverse DCT at all). Once. */
int jb_start(jb_decoder *d, int num, int denom, int *out_w, int *out_h, int *imcu_rows);

/* The next `rows` rows skipped (entropy decoding only, for a single-scan file). */
int jb_skip(jb_decoder *d, int rows);

/* The next `rows` rows (out_w bytes each) written to out, out + stride, ...; after the last row
 * of the image the rest of the file is read to its end (a warning there still fails). */
int jb_read(jb_decoder *d, uint8_t *out, size_t stride, int rows);

/* The next output row's number (rows read or skipped so far). */
int jb_row(const jb_decoder *d);

/* Why the last call failed (libjpeg's message), "" if it did not. */
const char *jb_message(const jb_decoder *d);

void jb_close(jb_decoder *d);

#endif
