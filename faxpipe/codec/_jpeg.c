/* JPEG to grey rows in bands through libjpeg's scanline API (see _jpeg.h). libjpeg reports
 * errors through error_exit, which must not return: it jumps back to the call that entered the
 * library (setjmp in each entry point below), and the decoder is dead from then on. Warnings
 * (corrupt data libjpeg would paper over with grey) are errors here too. */
#include "_jpeg.h"

#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#define JB_BATCH 32  /* rows handed to one jpeg_read_scanlines call */

struct jb_decoder {
    struct jpeg_decompress_struct cinfo;  /* first: the error hooks find the decoder from it */
    struct jpeg_error_mgr jerr;
    jmp_buf jump;
    int failed;   /* libjpeg failed: only jb_close is left */
    int started;
    int created;
    int finished;  /* the last row read and the file read to its end */
    char message[JMSG_LENGTH_MAX + 16];  /* room for "warning: " and libjpeg's text */
};

static void on_error(j_common_ptr cinfo)
{
    jb_decoder *d = (jb_decoder *)cinfo;
    (*cinfo->err->format_message)(cinfo, d->message);
    d->failed = 1;
    longjmp(d->jump, 1);
}

static void on_message(j_common_ptr cinfo, int level)
{
    if (level < 0) {  /* a warning: corrupt or truncated data */
        jb_decoder *d = (jb_decoder *)cinfo;
        char text[JMSG_LENGTH_MAX];
        (*cinfo->err->format_message)(cinfo, text);
        snprintf(d->message, sizeof d->message, "warning: %s", text);
        d->failed = 1;
        longjmp(d->jump, 1);
    }
    /* trace messages: ignored */
}

static void copy_message(char *to, const char *from)
{
    size_t n = strlen(from);
    if (n > 199)
        n = 199;
    memcpy(to, from, n);
    to[n] = 0;
}

static int read_header(jb_decoder *d, const uint8_t *data, size_t len, size_t max_memory)
{
    if (setjmp(d->jump))
        return JB_ERR_JPEG;
    jpeg_create_decompress(&d->cinfo);
    d->created = 1;
    if (max_memory)
        d->cinfo.mem->max_memory_to_use = (long)(max_memory > LONG_MAX ? LONG_MAX : max_memory);
    jpeg_mem_src(&d->cinfo, data, (unsigned long)len);
    jpeg_read_header(&d->cinfo, TRUE);
    return JB_OK;
}

jb_decoder *jb_open(const uint8_t *data, size_t len, size_t max_memory, int *status,
                    char message[200])
{
    message[0] = 0;
    if (!data || len < 2 || len > ULONG_MAX) {
        *status = JB_ERR_ARGS;
        copy_message(message, "not a JPEG (too short)");
        return NULL;
    }
    jb_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        *status = JB_ERR_NOMEM;
        return NULL;
    }
    d->cinfo.err = jpeg_std_error(&d->jerr);
    d->jerr.error_exit = on_error;
    d->jerr.emit_message = on_message;
    *status = read_header(d, data, len, max_memory);
    if (*status != JB_OK) {
        copy_message(message, d->message);
        jb_close(d);
        return NULL;
    }
    return d;
}

void jb_header_of(const jb_decoder *d, jb_header *h)
{
    const struct jpeg_decompress_struct *c = &d->cinfo;
    h->width = (int)c->image_width;
    h->height = (int)c->image_height;
    h->components = c->num_components;
    h->greyable = c->jpeg_color_space == JCS_GRAYSCALE || c->jpeg_color_space == JCS_YCbCr ||
                  c->jpeg_color_space == JCS_RGB;
    h->multiscan = jpeg_has_multiple_scans((j_decompress_ptr)c) ? 1 : 0;
}

int jb_start(jb_decoder *d, int num, int denom, int *out_w, int *out_h, int *imcu_rows)
{
    if (d->failed)
        return JB_ERR_JPEG;
    if (d->started || num < 1 || denom < 1 || num > 16 || denom > 16)
        return JB_ERR_ARGS;
    jb_header h;
    jb_header_of(d, &h);
    if (!h.greyable) {
        copy_message(d->message, "not decodable to grey (CMYK or YCCK)");
        return JB_ERR_ARGS;
    }
    if (setjmp(d->jump))
        return JB_ERR_JPEG;
    d->cinfo.scale_num = (unsigned int)num;
    d->cinfo.scale_denom = (unsigned int)denom;
    d->cinfo.out_color_space = JCS_GRAYSCALE;
    d->cinfo.dct_method = JDCT_ISLOW;
    jpeg_start_decompress(&d->cinfo);
    d->started = 1;
    *out_w = (int)d->cinfo.output_width;
    *out_h = (int)d->cinfo.output_height;
    *imcu_rows = d->cinfo.max_v_samp_factor * d->cinfo.min_DCT_scaled_size;
    if (*imcu_rows < 1)
        *imcu_rows = 1;
    return JB_OK;
}

int jb_skip(jb_decoder *d, int rows)
{
    if (d->failed)
        return JB_ERR_JPEG;
    if (!d->started || rows < 0 ||
        (JDIMENSION)rows > d->cinfo.output_height - d->cinfo.output_scanline)
        return JB_ERR_ARGS;
    if (rows == 0)
        return JB_OK;
    if (setjmp(d->jump))
        return JB_ERR_JPEG;
    JDIMENSION done = jpeg_skip_scanlines(&d->cinfo, (JDIMENSION)rows);
    if (done != (JDIMENSION)rows) {
        copy_message(d->message, "skipped fewer rows than asked");
        d->failed = 1;
        return JB_ERR_JPEG;
    }
    if (d->cinfo.output_scanline == d->cinfo.output_height)
        d->finished = 1;  /* nothing left to read; the rest of the file is not looked at */
    return JB_OK;
}

int jb_read(jb_decoder *d, uint8_t *out, size_t stride, int rows)
{
    if (d->failed)
        return JB_ERR_JPEG;
    if (!d->started || !out || rows < 0 || stride < d->cinfo.output_width ||
        (JDIMENSION)rows > d->cinfo.output_height - d->cinfo.output_scanline)
        return JB_ERR_ARGS;
    JSAMPROW batch[JB_BATCH];
    if (setjmp(d->jump))
        return JB_ERR_JPEG;
    int done = 0;
    while (done < rows) {
        int n = rows - done < JB_BATCH ? rows - done : JB_BATCH;
        for (int i = 0; i < n; i++)
            batch[i] = out + (size_t)(done + i) * stride;
        JDIMENSION got = jpeg_read_scanlines(&d->cinfo, batch, (JDIMENSION)n);
        if (got == 0) {  /* cannot happen with a memory source: no suspension */
            copy_message(d->message, "no rows decoded");
            d->failed = 1;
            return JB_ERR_JPEG;
        }
        done += (int)got;
    }
    if (d->cinfo.output_scanline == d->cinfo.output_height && !d->finished) {
        jpeg_finish_decompress(&d->cinfo);
        d->finished = 1;
    }  /* the rest of the file to its EOI, warnings and all */
    return JB_OK;
}

int jb_row(const jb_decoder *d)
{
    return d->started ? (int)d->cinfo.output_scanline : 0;
}

const char *jb_message(const jb_decoder *d)
{
    return d->message;
}

void jb_close(jb_decoder *d)
{
    if (!d)
        return;
    if (d->created)
        jpeg_destroy_decompress(&d->cinfo);
    free(d);
}
