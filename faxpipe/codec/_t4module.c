/* Thin CPython glue over _t4.c: argument checks, buffers, the GIL released around the codec. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_t4.h"

#define GUESS_ROWS 4096   /* A4 fine is 2287 rows, Legal fine 2744 */

static PyObject *codec_error(void)
{
    PyObject *errors = PyImport_ImportModule("faxpipe.errors");
    if (!errors)
        return NULL;
    PyObject *cls = PyObject_GetAttrString(errors, "CodecError");
    Py_DECREF(errors);
    return cls;
}

static PyObject *raise_status(int status)
{
    if (status == T4_ERR_NOMEM)
        return PyErr_NoMemory();
    PyObject *cls = codec_error();
    if (cls) {
        PyErr_SetString(cls, "page geometry or coding options out of range");
        Py_DECREF(cls);
    }
    return NULL;
}

static PyObject *py_encode(PyObject *self, PyObject *args)
{
    Py_buffer rows;
    int width, height;
    t4_options opt = {0};
    if (!PyArg_ParseTuple(args, "y*iiiippppip", &rows, &width, &height, &opt.scheme, &opt.k,
                          &opt.eol, &opt.fill, &opt.rtc, &opt.lsb_first, &opt.min_bits,
                          &opt.byte_align))
        return NULL;
    if (width < 1 || width > T4_MAX_WIDTH || height < 0 || height > T4_MAX_HEIGHT ||
        (size_t)rows.len < (size_t)((width + 7) / 8) * (size_t)height) {
        PyBuffer_Release(&rows);
        return raise_status(T4_ERR_ARGS);
    }
    uint8_t *out = NULL;
    size_t out_len = 0;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = t4_encode(rows.buf, width, height, &opt, &out, &out_len);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&rows);
    if (status != T4_OK)
        return raise_status(status);
    PyObject *result = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)out_len);
    free(out);
    return result;
}

/* Decode into `out` (room for `max_rows` rows) with the GIL released; with pad, the rows the
 * data did not fill are made white. */
static int decode_rows(const Py_buffer *data, uint8_t *out, int width, int max_rows,
                       const t4_options *opt, int pad, t4_result *res)
{
    size_t stride = (size_t)(width + 7) / 8;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = t4_decode_into(data->buf, (size_t)data->len, width, out, max_rows, opt, res);
    if (status == T4_OK && pad)
        memset(out + stride * (size_t)res->rows_decoded, 0,
               stride * (size_t)(max_rows - res->rows_decoded));
    Py_END_ALLOW_THREADS
    return status;
}

static int bad_geometry(int width, int max_rows)
{
    return width < 1 || width > T4_MAX_WIDTH || max_rows < 0 || max_rows > T4_MAX_HEIGHT;
}

static PyObject *stats_tuple(const t4_result *res)
{
    return Py_BuildValue("(iiiiiN)", res->rows_decoded, res->bad_rows, res->consecutive_bad,
                         res->trailing_bad, res->terminated, PyLong_FromSize_t(res->bytes_used));
}

/* decode(data, width, max_rows, scheme, lsb_first, byte_align, pad[, decoder]): the rows go
 * straight into the bytes object returned. With pad, it holds exactly max_rows rows (missing
 * ones white); without, its room is bounded by the data (every row costs a bit) and then
 * trimmed. `decoder` (enum t4_decoder) lets tests compare the ways of decoding 2-D rows. */
static PyObject *py_decode(PyObject *self, PyObject *args)
{
    Py_buffer data;
    int width, max_rows, pad;
    t4_options opt = {0};
    if (!PyArg_ParseTuple(args, "y*iiippp|i", &data, &width, &max_rows, &opt.scheme,
                          &opt.lsb_first, &opt.byte_align, &pad, &opt.decoder))
        return NULL;
    if (bad_geometry(width, max_rows)) {
        PyBuffer_Release(&data);
        return raise_status(T4_ERR_ARGS);
    }
    size_t stride = (size_t)(width + 7) / 8;
    int room = max_rows;
    if (!pad && (size_t)data.len < (size_t)max_rows / 8)
        room = (int)(data.len * 8 + 1);
    /* Most pages are well under GUESS_ROWS: try that much room first, and only for a page
     * that fills it decode again with all the room the data can need. */
    int first = !pad && room > GUESS_ROWS ? GUESS_ROWS : room;
    PyObject *rows = NULL;
    t4_result res;
    int status = T4_OK;
    for (int attempt = first;; attempt = room) {
        Py_XDECREF(rows);
        rows = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(stride * (size_t)attempt));
        if (!rows) {
            PyBuffer_Release(&data);
            return NULL;
        }
        status = decode_rows(&data, (uint8_t *)PyBytes_AS_STRING(rows), width, attempt, &opt,
                             pad, &res);
        if (status != T4_OK || attempt == room || res.rows_decoded < attempt || res.terminated)
            break;
    }
    PyBuffer_Release(&data);
    if (status != T4_OK) {
        Py_DECREF(rows);
        return raise_status(status);
    }
    if (!pad && _PyBytes_Resize(&rows, (Py_ssize_t)(stride * (size_t)res.rows_decoded)) < 0)
        return NULL;
    return Py_BuildValue("(NN)", rows, stats_tuple(&res));
}

/* decode_into(data, out, width, max_rows, scheme, lsb_first, byte_align, pad[, decoder]): the
 * rows go into the caller's writable buffer, which must hold max_rows rows (-1 without pad: as
 * many as it holds). */
static PyObject *py_decode_into(PyObject *self, PyObject *args)
{
    Py_buffer data, out;
    int width, max_rows, pad;
    t4_options opt = {0};
    if (!PyArg_ParseTuple(args, "y*w*iiippp|i", &data, &out, &width, &max_rows, &opt.scheme,
                          &opt.lsb_first, &opt.byte_align, &pad, &opt.decoder))
        return NULL;
    t4_result res;
    int status = T4_ERR_ARGS;
    size_t stride = (size_t)(width + 7) / 8;
    if (max_rows == -1 && !pad && width >= 1 && width <= T4_MAX_WIDTH)   /* as many as out holds */
        max_rows = (size_t)out.len / stride > T4_MAX_HEIGHT ? T4_MAX_HEIGHT : (int)((size_t)out.len / stride);
    if (!bad_geometry(width, max_rows) && (size_t)out.len >= stride * (size_t)max_rows)
        status = decode_rows(&data, out.buf, width, max_rows, &opt, pad, &res);
    PyBuffer_Release(&data);
    PyBuffer_Release(&out);
    return status == T4_OK ? stats_tuple(&res) : raise_status(status);
}

static PyMethodDef methods[] = {
    {"encode", py_encode, METH_VARARGS,
     "encode(rows, width, height, scheme, k, eol, fill, rtc, lsb_first, min_bits, byte_align)"},
    {"decode", py_decode, METH_VARARGS,
     "decode(data, width, max_rows, scheme, lsb_first, byte_align, pad[, decoder]) -> "
     "(rows, (nrows, bad_rows, consecutive_bad, trailing_bad, terminated, bytes_used))"},
    {"decode_into", py_decode_into, METH_VARARGS,
     "decode_into(data, out, width, max_rows, scheme, lsb_first, byte_align, pad[, decoder]) -> "
     "(nrows, bad_rows, consecutive_bad, trailing_bad, terminated, bytes_used)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_t4", "T.4 / T.6 codec core", -1,
                                    methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__t4(void) { return PyModule_Create(&module); }
