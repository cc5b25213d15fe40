/*
 * The character folding of textnorm.py, compiled: ``fold(text)`` gives exactly ``text.translate(table)`` for the
 * one table textnorm.py hands over (``configure``): every character maps to one character or to nothing. Python's
 * str.translate looks each character up in a dict (~120 ns per character, 3-4 us for a sentence, the largest part
 * of normalising a text); this is a table read per character.
 *
 * textnorm.py stays the definition: it builds the table, passes it here, and serves with str.translate wherever
 * this extension was not built; the tests hold the two equal on the corpus and on hostile text. Only the CPython
 * API is used.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define KEEP (-2)     /* the character stays */
#define DROP (-1)     /* the character is deleted */

static int32_t *bmp = NULL;        /* 65,536 entries: KEEP, DROP or the replacement code point */
static uint32_t *astral_keys = NULL;   /* sorted code points above U+FFFF that the table maps */
static int32_t *astral_values = NULL;
static Py_ssize_t n_astral = 0;

static void release(void) {
    PyMem_Free(bmp); PyMem_Free(astral_keys); PyMem_Free(astral_values);
    bmp = NULL; astral_keys = NULL; astral_values = NULL; n_astral = 0;
}

/* configure(keys, values): ``keys`` the table's code points (uint32, ascending), ``values`` their replacements
 * (int32: a code point, or -1 to delete), both as native-endian bytes. */
static PyObject *configure(PyObject *self, PyObject *args) {
    Py_buffer keys, values;
    if (!PyArg_ParseTuple(args, "y*y*", &keys, &values))
        return NULL;
    Py_ssize_t n = keys.len / (Py_ssize_t)sizeof(uint32_t);
    const uint32_t *k = (const uint32_t *)keys.buf;
    const int32_t *v = (const int32_t *)values.buf;
    int ok = keys.len % (Py_ssize_t)sizeof(uint32_t) == 0 && values.len == keys.len;
    for (Py_ssize_t i = 0; ok && i < n; i++) {
        ok = k[i] <= 0x10FFFF && (i == 0 || k[i] > k[i - 1]) && (v[i] == DROP || (v[i] >= 0 && v[i] <= 0x10FFFF));
    }
    if (!ok) {
        PyBuffer_Release(&keys); PyBuffer_Release(&values);
        PyErr_SetString(PyExc_ValueError, "configure: keys must ascend and every value be a code point or -1");
        return NULL;
    }
    release();
    Py_ssize_t first_astral = 0;
    while (first_astral < n && k[first_astral] <= 0xFFFF) first_astral++;
    bmp = PyMem_Malloc(sizeof(int32_t) * 65536);
    astral_keys = PyMem_Malloc(sizeof(uint32_t) * (size_t)(n - first_astral + 1));
    astral_values = PyMem_Malloc(sizeof(int32_t) * (size_t)(n - first_astral + 1));
    if (bmp == NULL || astral_keys == NULL || astral_values == NULL) {
        release();
        PyBuffer_Release(&keys); PyBuffer_Release(&values);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t c = 0; c < 65536; c++) bmp[c] = KEEP;
    for (Py_ssize_t i = 0; i < first_astral; i++) bmp[k[i]] = v[i];
    n_astral = n - first_astral;
    memcpy(astral_keys, k + first_astral, sizeof(uint32_t) * (size_t)n_astral);
    memcpy(astral_values, v + first_astral, sizeof(int32_t) * (size_t)n_astral);
    PyBuffer_Release(&keys); PyBuffer_Release(&values);
    Py_RETURN_NONE;
}

static inline int32_t lookup(Py_UCS4 c) {
    if (c <= 0xFFFF) return bmp[c];
    Py_ssize_t lo = 0, hi = n_astral;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (astral_keys[mid] < c) lo = mid + 1;
        else hi = mid;
    }
    return (lo < n_astral && astral_keys[lo] == c) ? astral_values[lo] : KEEP;
}

/* fold(text) -> str: ``text.translate(table)``, always a plain str; the same object when no character changes. */
static PyObject *fold(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "fold: a str is needed");
        return NULL;
    }
    if (bmp == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "fold: configure() was not called");
        return NULL;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(arg);
    int kind = PyUnicode_KIND(arg);
    const void *data = PyUnicode_DATA(arg);
    Py_ssize_t i = 0;
    for (; i < len; i++) {   /* most characters stay: find the first that does not */
        if (lookup(PyUnicode_READ(kind, data, i)) != KEEP) break;
    }
    if (i == len) {   /* nothing changes: the text itself (a plain str, as str.translate returns) */
        if (PyUnicode_CheckExact(arg)) {
            Py_INCREF(arg);
            return arg;
        }
        return PyUnicode_FromKindAndData(kind, data, len);
    }
    Py_UCS4 *out = PyMem_Malloc(sizeof(Py_UCS4) * (size_t)(len > 0 ? len : 1));
    if (out == NULL) return PyErr_NoMemory();
    Py_ssize_t n = 0;
    for (Py_ssize_t j = 0; j < i; j++) out[n++] = PyUnicode_READ(kind, data, j);
    for (; i < len; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int32_t to = lookup(c);
        if (to == KEEP) out[n++] = c;
        else if (to != DROP) out[n++] = (Py_UCS4)to;
    }
    PyObject *result = PyUnicode_FromKindAndData(PyUnicode_4BYTE_KIND, out, n);   /* the narrowest kind */
    PyMem_Free(out);
    return result;
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Set the folding table (textnorm.py calls it at import)."},
    {"fold", fold, METH_O, "fold(text) -> str: text.translate(table) for the configured table."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fold", "textnorm's character folding, compiled.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fold(void) { return PyModule_Create(&module); }
