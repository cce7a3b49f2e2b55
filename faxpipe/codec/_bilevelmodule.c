/* Thin CPython glue over _bilevel.c: argument checks, the output bytes, the GIL released. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_bilevel.h"
#include "_resample.h"

static PyObject *raise_args(const char *what)
{
    PyObject *errors = PyImport_ImportModule("faxpipe.errors");
    if (!errors)
        return NULL;
    PyObject *cls = PyObject_GetAttrString(errors, "CodecError");
    Py_DECREF(errors);
    if (cls) {
        PyErr_SetString(cls, what);
        Py_DECREF(cls);
    }
    return NULL;
}

/* Whether a buffer holds `height` rows of `width` bytes, `stride` bytes apart. */
static int fits(const Py_buffer *grey, int width, int height, Py_ssize_t stride)
{
    if (height == 0)
        return 1;
    return (size_t)grey->len >= (size_t)stride * (size_t)(height - 1) + (size_t)width;
}

/* convert(grey, width, height, method, level, matrix[, stride]) -> (rows, method_used,
 * level_used, mid_fraction, halftone_fraction); grey is any buffer of rows `stride` (default
 * width) bytes apart. */
static PyObject *py_convert(PyObject *self, PyObject *args)
{
    Py_buffer grey;
    int width, height, method, level, matrix;
    Py_ssize_t gstride = -1;
    if (!PyArg_ParseTuple(args, "y*iiiii|n", &grey, &width, &height, &method, &level, &matrix,
                          &gstride))
        return NULL;
    if (width < 1 || width > BL_MAX_WIDTH || height < 0 || height > BL_MAX_HEIGHT) {
        PyBuffer_Release(&grey);
        return raise_args("grey image geometry out of range");
    }
    if (gstride == -1)
        gstride = width;
    if (gstride < width || gstride > (Py_ssize_t)1 << 24 || !fits(&grey, width, height, gstride)) {
        PyBuffer_Release(&grey);
        return raise_args("grey buffer is shorter than its rows, or its stride is below the width");
    }
    size_t stride = (size_t)(width + 7) / 8;
    PyObject *rows = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(stride * (size_t)height));
    if (!rows) {
        PyBuffer_Release(&grey);
        return NULL;
    }
    bl_info info;
    int status;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(rows);
    Py_BEGIN_ALLOW_THREADS
    status = bl_convert(grey.buf, (size_t)gstride, width, height, method, level, matrix, out, &info);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&grey);
    if (status != BL_OK) {
        Py_DECREF(rows);
        return status == BL_ERR_NOMEM ? PyErr_NoMemory()
                                      : raise_args("bilevel method, level or matrix out of range");
    }
    return Py_BuildValue("(Niidd)", rows, info.method, info.level, info.mid_fraction,
                         info.halftone_fraction);
}

/* analyse(grey, width, height) -> (method, text_level, otsu_level, mid_fraction,
 * halftone_fraction, tile_map, tiles_x): what auto would do, tile by tile (tile_map: one byte
 * per BL_TILE x BL_TILE tile, row-major, 1 = halftoned). */
static PyObject *py_analyse(PyObject *self, PyObject *args)
{
    Py_buffer grey;
    int width, height;
    if (!PyArg_ParseTuple(args, "y*ii", &grey, &width, &height))
        return NULL;
    if (width < 1 || width > BL_MAX_WIDTH || height < 0 || height > BL_MAX_HEIGHT ||
        !fits(&grey, width, height, width)) {
        PyBuffer_Release(&grey);
        return raise_args("grey image geometry out of range or buffer too short");
    }
    int tiles_x = (width + BL_TILE - 1) / BL_TILE, tiles_y = (height + BL_TILE - 1) / BL_TILE;
    PyObject *map = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)tiles_x * tiles_y);
    if (!map) {
        PyBuffer_Release(&grey);
        return NULL;
    }
    bl_info info;
    int otsu, status;
    uint8_t *m = (uint8_t *)PyBytes_AS_STRING(map);
    Py_BEGIN_ALLOW_THREADS
    status = bl_auto_plan(grey.buf, (size_t)width, width, height, m, &info, &otsu);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&grey);
    if (status != BL_OK) {
        Py_DECREF(map);
        return status == BL_ERR_NOMEM ? PyErr_NoMemory() : raise_args("bad grey image");
    }
    return Py_BuildValue("(iiiddNi)", info.method, info.level, otsu, info.mid_fraction,
                         info.halftone_fraction, map, tiles_x);
}

/* matrix(id) -> (order bytes, cols, rows): a matrix's black-first order, row-major. */
static PyObject *py_matrix(PyObject *self, PyObject *args)
{
    int id, cols, rows;
    if (!PyArg_ParseTuple(args, "i", &id))
        return NULL;
    const uint8_t *order = bl_matrix(id, &cols, &rows);
    if (!order)
        return raise_args("unknown dither matrix");
    return Py_BuildValue("(y#ii)", (const char *)order, (Py_ssize_t)(cols * rows), cols, rows);
}

/* shrink(src, in_w, in_h, in_stride, dst, offset, out_stride, out_w, out_h, y0, y1): rows
 * [y0, y1) of src shrunk to out_w x out_h (_resample.h), written into the writable buffer dst
 * from byte `offset` on, rows out_stride apart; the GIL is released, so bands run in parallel. */
static PyObject *py_shrink(PyObject *self, PyObject *args)
{
    Py_buffer src, dst;
    int in_w, in_h, out_w, out_h, y0, y1;
    Py_ssize_t in_stride, offset, out_stride;
    if (!PyArg_ParseTuple(args, "y*iinw*nniiii", &src, &in_w, &in_h, &in_stride, &dst, &offset,
                          &out_stride, &out_w, &out_h, &y0, &y1))
        return NULL;
    int ok = in_w >= 1 && in_h >= 1 && out_w >= 1 && out_h >= 1 && in_stride >= in_w &&
             out_stride >= out_w && offset >= 0 && 0 <= y0 && y0 <= y1 && y1 <= out_h &&
             in_w <= RS_MAX_SIDE && in_h <= RS_MAX_SIDE && out_stride <= ((Py_ssize_t)1 << 24) &&
             fits(&src, in_w, in_h, in_stride) &&
             (y1 == y0 || (dst.len >= offset &&
                           (size_t)(dst.len - offset) >= (size_t)out_stride * (size_t)(y1 - 1) + (size_t)out_w));
    int status = RS_ERR_ARGS;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        status = rs_shrink(src.buf, (size_t)in_stride, in_w, in_h, (uint8_t *)dst.buf + offset,
                           (size_t)out_stride, out_w, out_h, y0, y1);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&src);
    PyBuffer_Release(&dst);
    if (status == RS_ERR_NOMEM)
        return PyErr_NoMemory();
    if (status != RS_OK)
        return raise_args("shrink: geometry out of range, an enlargement, or a buffer too short");
    Py_RETURN_NONE;
}

/* shrink_needs(in_size, out_size) -> (bytes of native int32, taps): for each output row of a
 * shrink from in_size rows to out_size, the end of the input rows it reads (rs_input_ends);
 * it reads the `taps` rows before that end */
static PyObject *py_shrink_needs(PyObject *self, PyObject *args)
{
    int in, out;
    if (!PyArg_ParseTuple(args, "ii", &in, &out))
        return NULL;
    if (in < 1 || out < 1 || out > in || in > RS_MAX_SIDE)
        return raise_args("shrink_needs: sizes out of range, or an enlargement");
    PyObject *ends = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)out * (Py_ssize_t)sizeof(int32_t));
    if (!ends)
        return NULL;
    int taps;
    if (rs_input_ends(in, out, (int32_t *)PyBytes_AS_STRING(ends), &taps) != RS_OK) {
        Py_DECREF(ends);
        return PyErr_NoMemory();
    }
    return Py_BuildValue("(Ni)", ends, taps);
}

static PyMethodDef methods[] = {
    {"convert", py_convert, METH_VARARGS,
     "convert(grey, width, height, method, level, matrix[, stride]) -> (rows, method, level, mid_fraction, halftone_fraction)"},
    {"analyse", py_analyse, METH_VARARGS,
     "analyse(grey, width, height) -> (method auto would use, text level, Otsu level, mid-grey fraction, halftone tile fraction, tile map, tiles across)"},
    {"matrix", py_matrix, METH_VARARGS, "matrix(id) -> (black-first order, cols, rows)"},
    {"shrink", py_shrink, METH_VARARGS,
     "shrink(src, in_w, in_h, in_stride, dst, offset, out_stride, out_w, out_h, y0, y1): rows y0..y1 of the triangle-filtered reduction, into dst"},
    {"shrink_needs", py_shrink_needs, METH_VARARGS,
     "shrink_needs(in_size, out_size) -> (int32 bytes, taps): the end of the input rows each output row reads, and how many it reads"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_bilevel", "grey to bilevel core",
                                    -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__bilevel(void)
{
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    if (PyModule_AddIntConstant(m, "AUTO", BL_AUTO) < 0 ||
        PyModule_AddIntConstant(m, "THRESHOLD", BL_THRESHOLD) < 0 ||
        PyModule_AddIntConstant(m, "DIFFUSION", BL_DIFFUSION) < 0 ||
        PyModule_AddIntConstant(m, "ORDERED", BL_ORDERED) < 0 ||
        PyModule_AddIntConstant(m, "MIXED", BL_MIXED) < 0 ||
        PyModule_AddIntConstant(m, "TILE", BL_TILE) < 0 ||
        PyModule_AddIntConstant(m, "CLUSTER_8X8", BL_CLUSTER_8X8) < 0 ||
        PyModule_AddIntConstant(m, "CLUSTER_8X4", BL_CLUSTER_8X4) < 0 ||
        PyModule_AddIntConstant(m, "CLUSTER45_8X8", BL_CLUSTER45_8X8) < 0 ||
        PyModule_AddIntConstant(m, "BAYER_8X8", BL_BAYER_8X8) < 0 ||
        PyModule_AddIntConstant(m, "NO_LEVEL", BL_NO_LEVEL) < 0 ||
        PyModule_AddIntConstant(m, "MID_LO", BL_MID_LO) < 0 ||
        PyModule_AddIntConstant(m, "MID_HI", BL_MID_HI) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
