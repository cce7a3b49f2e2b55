/* Thin CPython glue over _jpeg.c: a Decoder object, argument and buffer checks, the GIL
 * released while libjpeg works (two decoders run on two cores). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include "_jpeg.h"

static PyObject *JpegError;

typedef struct {
    PyObject_HEAD
    jb_decoder *d;
    Py_buffer data;  /* the file, held (and its exporter pinned) for the decoder's life */
    int busy;        /* a call is inside libjpeg without the GIL: no second one */
    int out_w, out_h, imcu_rows;
} Decoder;

static int fail(int status, Decoder *self)
{
    if (status == JB_ERR_NOMEM)
        PyErr_NoMemory();
    else if (status == JB_ERR_JPEG)
        PyErr_SetString(JpegError, jb_message(self->d));
    else
        PyErr_SetString(PyExc_ValueError, *jb_message(self->d) ? jb_message(self->d)
                                                                : "arguments out of range");
    return -1;
}

static int enter(Decoder *self)
{
    if (!self->d) {
        PyErr_SetString(PyExc_ValueError, "decoder not opened");
        return -1;
    }
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "decoder in use by another thread");
        return -1;
    }
    self->busy = 1;
    return 0;
}

static int Decoder_init(Decoder *self, PyObject *args, PyObject *kwds)
{
    static char *names[] = {"data", "max_memory", NULL};
    Py_buffer data;
    Py_ssize_t max_memory = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "y*|n", names, &data, &max_memory))
        return -1;
    if (self->d || max_memory < 0) {
        PyBuffer_Release(&data);
        PyErr_SetString(PyExc_ValueError, self->d ? "decoder already opened" : "max_memory < 0");
        return -1;
    }
    int status;
    char message[200];
    jb_decoder *d;
    Py_BEGIN_ALLOW_THREADS
    d = jb_open(data.buf, (size_t)data.len, (size_t)max_memory, &status, message);
    Py_END_ALLOW_THREADS
    if (!d) {
        PyBuffer_Release(&data);
        if (status == JB_ERR_NOMEM)
            PyErr_NoMemory();
        else
            PyErr_SetString(JpegError, message);
        return -1;
    }
    self->d = d;
    self->data = data;
    return 0;
}

static void Decoder_dealloc(Decoder *self)
{
    if (self->d) {
        jb_close(self->d);
        PyBuffer_Release(&self->data);
    }
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* header() -> (width, height, components, greyable, multiscan) */
static PyObject *Decoder_header(Decoder *self, PyObject *noargs)
{
    if (!self->d) {
        PyErr_SetString(PyExc_ValueError, "decoder not opened");
        return NULL;
    }
    jb_header h;
    jb_header_of(self->d, &h);
    return Py_BuildValue("(iiiOO)", h.width, h.height, h.components,
                         h.greyable ? Py_True : Py_False, h.multiscan ? Py_True : Py_False);
}

/* start(num, denom) -> (output width, output height, rows of an iMCU row) */
static PyObject *Decoder_start(Decoder *self, PyObject *args)
{
    int num, denom;
    if (!PyArg_ParseTuple(args, "ii", &num, &denom) || enter(self) < 0)
        return NULL;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = jb_start(self->d, num, denom, &self->out_w, &self->out_h, &self->imcu_rows);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (status != JB_OK)
        return fail(status, self), NULL;
    return Py_BuildValue("(iii)", self->out_w, self->out_h, self->imcu_rows);
}

/* skip(rows): the next rows entropy-decoded and dropped */
static PyObject *Decoder_skip(Decoder *self, PyObject *args)
{
    int rows;
    if (!PyArg_ParseTuple(args, "i", &rows) || enter(self) < 0)
        return NULL;
    int status;
    Py_BEGIN_ALLOW_THREADS
    status = jb_skip(self->d, rows);
    Py_END_ALLOW_THREADS
    self->busy = 0;
    if (status != JB_OK)
        return fail(status, self), NULL;
    Py_RETURN_NONE;
}

/* read(buffer, offset, stride, rows): the next rows into the writable buffer from byte offset
 * on, stride bytes apart (each output-width bytes) */
static PyObject *Decoder_read(Decoder *self, PyObject *args)
{
    Py_buffer out;
    Py_ssize_t offset, stride;
    int rows;
    if (!PyArg_ParseTuple(args, "w*nni", &out, &offset, &stride, &rows))
        return NULL;
    if (enter(self) < 0) {
        PyBuffer_Release(&out);
        return NULL;
    }
    int ok = rows >= 0 && offset >= 0 && stride >= self->out_w && stride <= ((Py_ssize_t)1 << 24) &&
             (rows == 0 || (out.len >= offset &&
                            (size_t)(out.len - offset) >= (size_t)stride * (size_t)(rows - 1) +
                                                               (size_t)self->out_w));
    int status = JB_ERR_ARGS;
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        status = jb_read(self->d, (uint8_t *)out.buf + offset, (size_t)stride, rows);
        Py_END_ALLOW_THREADS
    }
    self->busy = 0;
    PyBuffer_Release(&out);
    if (status != JB_OK) {
        if (!ok) {
            PyErr_SetString(PyExc_ValueError, "read: rows, offset or stride out of the buffer");
            return NULL;
        }
        return fail(status, self), NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *Decoder_row(Decoder *self, void *closure)
{
    return PyLong_FromLong(self->d ? jb_row(self->d) : 0);
}

static PyMethodDef Decoder_methods[] = {
    {"header", (PyCFunction)Decoder_header, METH_NOARGS,
     "header() -> (width, height, components, greyable, multiscan)"},
    {"start", (PyCFunction)Decoder_start, METH_VARARGS,
     "start(num, denom) -> (width, height, imcu_rows): decoding to grey at num/denom begins"},
    {"skip", (PyCFunction)Decoder_skip, METH_VARARGS, "skip(rows): the next rows dropped"},
    {"read", (PyCFunction)Decoder_read, METH_VARARGS,
     "read(buffer, offset, stride, rows): the next rows into buffer"},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef Decoder_getset[] = {
    {"row", (getter)Decoder_row, NULL, "the next output row", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject DecoderType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "faxpipe.codec._jpeg.Decoder",
    .tp_basicsize = sizeof(Decoder),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Decoder(data, max_memory=0): a JPEG decoded to grey rows in bands (libjpeg)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Decoder_init,
    .tp_dealloc = (destructor)Decoder_dealloc,
    .tp_methods = Decoder_methods,
    .tp_getset = Decoder_getset,
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_jpeg",
                                    "JPEG to grey rows in bands (libjpeg)", -1, NULL,
                                    NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__jpeg(void)
{
    if (PyType_Ready(&DecoderType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (!m)
        return NULL;
    JpegError = PyErr_NewException("faxpipe.codec._jpeg.Error", NULL, NULL);
    Py_XINCREF(JpegError);
    Py_INCREF(&DecoderType);
    if (!JpegError || PyModule_AddObject(m, "Error", JpegError) < 0 ||
        PyModule_AddObject(m, "Decoder", (PyObject *)&DecoderType) < 0) {
        Py_XDECREF(JpegError);
        Py_DECREF(&DecoderType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
