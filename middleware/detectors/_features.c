/*
 * The featuriser of features.py, compiled: the same 64-bit hashes of a text's character 1-5 grams and
 * Latin word unigrams and bigrams, and the model bank's logits (the weight rows of their buckets,
 * summed and scaled by 1/sqrt(number of features)) in one call, without the two dozen numpy calls the
 * vectorised version makes per text.
 *
 * features.py stays the definition: it passes every constant here through configure(), its numpy
 * implementation serves wherever this module was not built, and tests/test_detectors_features.py checks
 * that both give the same hashes and the same logits on the corpus. Only the CPython API and the buffer
 * protocol are used (no numpy headers), so building needs nothing but a C compiler.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

static int configured = 0;
static Py_ssize_t max_len = 0;   /* the longest padded text hashed in one piece (features._MAX) */
#if defined(__GNUC__) || defined(__clang__)
#define PREFETCH(p) __builtin_prefetch(p)
#else
#define PREFETCH(p) ((void)(p))
#endif

static uint64_t *ppow = NULL;    /* P^i */
static uint64_t *pinv = NULL;    /* P^-i */
static uint64_t n_salt[6];       /* salt of the n-grams of each length 1..5 */
static uint64_t word_salt, bigram_salt, mix;
static unsigned shift;           /* 64 - BITS */
static unsigned char word_char[128];   /* the ASCII characters that make Latin words (features._WORD_CHAR) */
static Py_ssize_t dim;           /* 1 << BITS */

static PyObject *configure(PyObject *self, PyObject *args) {
    unsigned long long p, p_inv, s1, s2, s3, s4, s5, ws, bs, mx;
    Py_ssize_t maxl;
    int bits;
    Py_buffer words;
    if (!PyArg_ParseTuple(args, "KKnKKKKKKKKiy*", &p, &p_inv, &maxl, &s1, &s2, &s3, &s4, &s5, &ws, &bs, &mx,
                          &bits, &words))
        return NULL;
    if (maxl < 8 || bits < 1 || bits > 30 || words.len != 128) {
        PyBuffer_Release(&words);
        PyErr_SetString(PyExc_ValueError, "configure: bad length, bits or word characters");
        return NULL;
    }
    memcpy(word_char, words.buf, 128);
    PyBuffer_Release(&words);
    uint64_t *pp = PyMem_Realloc(ppow, sizeof(uint64_t) * (size_t)(maxl + 2));
    if (pp == NULL) return PyErr_NoMemory();
    ppow = pp;
    uint64_t *pi = PyMem_Realloc(pinv, sizeof(uint64_t) * (size_t)(maxl + 2));
    if (pi == NULL) return PyErr_NoMemory();
    pinv = pi;
    ppow[0] = pinv[0] = 1;
    for (Py_ssize_t i = 1; i < maxl + 2; i++) {
        ppow[i] = ppow[i - 1] * (uint64_t)p;      /* uint64 arithmetic wraps modulo 2**64, as the hash wants */
        pinv[i] = pinv[i - 1] * (uint64_t)p_inv;
    }
    n_salt[1] = s1; n_salt[2] = s2; n_salt[3] = s3; n_salt[4] = s4; n_salt[5] = s5;
    word_salt = ws;
    bigram_salt = bs;
    mix = mx;
    shift = (unsigned)(64 - bits);
    dim = (Py_ssize_t)1 << bits;
    max_len = maxl;
    configured = 1;
    Py_RETURN_NONE;
}

static inline int is_word(Py_UCS4 c) {   /* every non-ASCII character is outside Latin words */
    return c < 128 && word_char[c];
}

/* The hashes of ``text`` in features.hashes' order (1-grams ... 5-grams by start, words, bigrams), into a
 * new buffer the caller frees; NULL with an exception set on failure. */
static uint64_t *compute(PyObject *text, Py_ssize_t *count) {
    if (!configured) {
        PyErr_SetString(PyExc_RuntimeError, "features: configure() was not called");
        return NULL;
    }
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    if (len + 2 > max_len) {
        PyErr_SetString(PyExc_ValueError, "features: text longer than one window");
        return NULL;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_ssize_t n = len + 2;   /* the padded text " text " */
    /* prefix[i] = sum_{1<=j<=i} c[j] * P^-j over the codes c of "\0 text ", so the hash of the padded
     * text's [s, e) is P^e * (prefix[e] - prefix[s]) */
    uint64_t *prefix = PyMem_Malloc(sizeof(uint64_t) * (size_t)(n + 1));
    unsigned char *word = PyMem_Malloc((size_t)n);
    Py_ssize_t cap = 6 * n + 2;
    uint64_t *out = PyMem_Malloc(sizeof(uint64_t) * (size_t)cap);
    Py_ssize_t *wstart = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)n);
    Py_ssize_t *wend = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)n);
    if (prefix == NULL || word == NULL || out == NULL || wstart == NULL || wend == NULL) {
        PyMem_Free(prefix); PyMem_Free(word); PyMem_Free(out); PyMem_Free(wstart); PyMem_Free(wend);
        PyErr_NoMemory();
        return NULL;
    }
    prefix[0] = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = (i == 0 || i == n - 1) ? ' ' : PyUnicode_READ(kind, data, i - 1);
        prefix[i + 1] = prefix[i] + (uint64_t)c * pinv[i + 1];
        word[i] = (unsigned char)is_word(c);
    }
    Py_ssize_t k = 0;
    for (int g = 1; g <= 5; g++) {
        for (Py_ssize_t s = 0; s + g <= n; s++)
            out[k++] = ((prefix[s + g] - prefix[s]) * ppow[s + g]) ^ n_salt[g];
    }
    Py_ssize_t nw = 0;
    for (Py_ssize_t i = 1; i < n; i++) {
        if (word[i] != word[i - 1]) {
            if (word[i]) wstart[nw] = i;
            else wend[nw++] = i;
        }
    }
    for (Py_ssize_t w = 0; w < nw; w++)
        out[k++] = ((prefix[wend[w]] - prefix[wstart[w]]) * ppow[wend[w]]) ^ word_salt;
    for (Py_ssize_t w = 0; w + 1 < nw; w++)
        out[k++] = ((prefix[wend[w + 1]] - prefix[wstart[w]]) * ppow[wend[w + 1]]) ^ bigram_salt;
    PyMem_Free(prefix); PyMem_Free(word); PyMem_Free(wstart); PyMem_Free(wend);
    *count = k;
    return out;
}

static PyObject *hashes(PyObject *self, PyObject *arg) {
    if (!PyUnicode_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "hashes: a str is needed");
        return NULL;
    }
    Py_ssize_t count = 0;
    uint64_t *out = compute(arg, &count);
    if (out == NULL) return NULL;
    PyObject *result = PyBytes_FromStringAndSize((const char *)out, (Py_ssize_t)sizeof(uint64_t) * count);
    PyMem_Free(out);
    return result;
}

/* logits(text, weights, width, stride, salt) -> (list of ``width`` floats, number of features): the sum of the weight
 * rows of the text's buckets (salted by ``salt``, 0 for the plain features), scaled by 1/sqrt(number of features),
 * accumulated in double and each rounded to float32. ``weights``: DIM rows of ``stride`` float32 values, C order;
 * the first ``width`` of each row count. */
static PyObject *logits(PyObject *self, PyObject *args) {
    PyObject *text;
    Py_buffer view;
    Py_ssize_t width, stride;
    unsigned long long salt = 0;
    if (!PyArg_ParseTuple(args, "Uy*nn|K", &text, &view, &width, &stride, &salt))
        return NULL;
    if (width < 1 || width > 256 || stride < width || view.len != (Py_ssize_t)sizeof(float) * dim * stride) {
        PyBuffer_Release(&view);
        PyErr_SetString(PyExc_ValueError, "logits: the weights are not DIM x stride float32");
        return NULL;
    }
    Py_ssize_t count = 0;
    uint64_t *h = compute(text, &count);
    if (h == NULL) {
        PyBuffer_Release(&view);
        return NULL;
    }
    /* The weight rows are scattered over megabytes: nearly every row is a cache miss. So first every row's offset
     * is computed and its cache lines (a row of ``width`` floats may straddle two) are asked for, then the rows are
     * summed: the misses overlap instead of coming one after the other (-15 us on a reply of four sentences, measured
     * in the output checks' own loop). The hashes' buffer holds the offsets from here on. */
    const float *base = (const float *)view.buf;
    for (Py_ssize_t i = 0; i < count; i++) {
        size_t offset = (size_t)(((h[i] ^ (uint64_t)salt) * mix) >> shift) * (size_t)stride;
        h[i] = (uint64_t)offset;
        PREFETCH(base + offset);
        PREFETCH(base + offset + width - 1);
    }
    double acc[256] = {0};
    for (Py_ssize_t i = 0; i < count; i++) {
        const float *row = base + (size_t)h[i];
        for (Py_ssize_t j = 0; j < width; j++) acc[j] += row[j];
    }
    PyMem_Free(h);
    PyBuffer_Release(&view);
    double scale = count > 0 ? 1.0 / sqrt((double)count) : 0.0;
    PyObject *values = PyList_New(width);
    if (values == NULL) return NULL;
    for (Py_ssize_t j = 0; j < width; j++) {
        /* rounded to float32, as the numpy version's result is */
        PyObject *v = PyFloat_FromDouble((double)(float)(acc[j] * scale));
        if (v == NULL) {
            Py_DECREF(values);
            return NULL;
        }
        PyList_SET_ITEM(values, j, v);
    }
    return Py_BuildValue("(Nn)", values, count);
}

static PyMethodDef methods[] = {
    {"configure", configure, METH_VARARGS, "Set the featuriser's constants (features.py calls it at import)."},
    {"hashes", hashes, METH_O, "The 64-bit feature hashes of a normalised text, as bytes (native uint64)."},
    {"logits", logits, METH_VARARGS,
     "logits(text, weights, width, stride, salt=0) -> (logits, count): the model bank's logits of a text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_features", "The featuriser of features.py, compiled.", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__features(void) { return PyModule_Create(&module); }
