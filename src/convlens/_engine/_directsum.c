/* convlens' compiled direct sum: small kernels over float32/float64 rows and planes.
 *
 * numpy.convolve spends one dot-product call per output (a 3-tap kernel: ~1.5 ns an output,
 * the same as 30 taps), and OpenCV's filter2D, fast in float32, is ~2x slower in float64.
 * This kernel broadcasts one tap into 8 vectors of outputs held in registers; a 3-tap kernel
 * over 2**16 float32 samples takes ~13 us against numpy.convolve's ~80 us.  See
 * _directsum_body.h for the sum it computes and the order of its terms.
 *
 * One function for Python, on buffers (no NumPy C API, so no build-time NumPy):
 *
 *     convolve_plane(x, h, out, B, H, W, KH, KW, MH, MW, sh, sw, i0, i1, j0, j1)
 *
 * x: C-contiguous B planes of H x W, h: KH x KW, out: writable, B planes of MH x MW, all
 * float32 or all float64 (the sizes are passed, so arrays of any shape holding that many
 * elements go as they are: no reshaping, which small calls would notice).  Fills
 * out[:, i0:i1, j0:j1] (see the body) of each plane, without the GIL, so threads can share
 * one call's outputs.
 *
 * On x86-64 the kernel is compiled twice, for AVX2 + FMA and for the baseline, and the module
 * picks one when it loads (its SIMD attribute says which; the environment variable
 * CONVLENS_SIMD=baseline forces the baseline copy); elsewhere it is compiled once for the
 * target's baseline.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "../_buffer_kind.h"
#include <stdlib.h>
#include <string.h>

typedef Py_ssize_t idx;

/* the strips of edge outputs (see _directsum_body.h) take this many output rows at a time */
#define STRIP_ROWS 64
/* rows narrower than a block of vectors go this many at a time */
#define NARROW_ROWS 4
/* ... and only for edges at least this many columns wide */
#define STRIP_MIN_COLS 3
#define CAT2_(a, b) a##b
#define CAT2(a, b) CAT2_(a, b)
#define CORE CAT2(NAME, _core)
#define STRIP CAT2(NAME, _strip)

#define CLAMP(v, lo, hi) ((v) < (lo) ? (lo) : ((v) > (hi) ? (hi) : (v)))

/* x86-64 with GCC or clang: the kernel is compiled twice, for AVX2 + FMA and for the baseline
 * (SSE2), and the module picks one when it loads (by the CPU's features, not its model name:
 * GCC's "arch=" clones dispatch on the model, so a virtual CPU got the slow copy). */
#if defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX2_COPY 1
#endif

#define T float
#define LANES 8
#define VEC vec_f32
#define SIMD_TARGET
#define SCALAR_MADD(acc, a, b) ((acc) += (a) * (b))
#define NAME sum_f32_base
#include "_directsum_body.h"
#undef NAME
#undef SCALAR_MADD
#ifdef HAVE_AVX2_COPY
#undef SIMD_TARGET
#define SIMD_TARGET __attribute__((target("avx2,fma")))
#define SCALAR_MADD(acc, a, b) ((acc) = __builtin_fmaf((a), (b), (acc)))
#define NAME sum_f32_avx2
#include "_directsum_body.h"
#undef NAME
#undef SCALAR_MADD
#endif
#undef SIMD_TARGET
#undef T
#undef LANES
#undef VEC

#define T double
#define LANES 4
#define VEC vec_f64
#define SIMD_TARGET
#define SCALAR_MADD(acc, a, b) ((acc) += (a) * (b))
#define NAME sum_f64_base
#include "_directsum_body.h"
#undef NAME
#undef SCALAR_MADD
#ifdef HAVE_AVX2_COPY
#undef SIMD_TARGET
#define SIMD_TARGET __attribute__((target("avx2,fma")))
#define SCALAR_MADD(acc, a, b) ((acc) = __builtin_fma((a), (b), (acc)))
#define NAME sum_f64_avx2
#include "_directsum_body.h"
#undef NAME
#undef SCALAR_MADD
#endif
#undef SIMD_TARGET
#undef T
#undef LANES
#undef VEC

typedef void (*sum_f32_fn)(const float *, idx, idx, const float *, idx, idx, float *, idx, idx, idx, idx, idx,
                           idx, idx);
typedef void (*sum_f64_fn)(const double *, idx, idx, const double *, idx, idx, double *, idx, idx, idx, idx, idx,
                           idx, idx);
static sum_f32_fn sum_f32 = sum_f32_base;
static sum_f64_fn sum_f64 = sum_f64_base;
static const char *simd_name = "baseline";


/* The sizes' arguments: Python ints (or objects with __index__) */
static int
sizes_from(PyObject *const *args, idx *v, int n)
{
    for (int i = 0; i < n; i++) {
        v[i] = PyNumber_AsSsize_t(args[i], PyExc_OverflowError);
        if (v[i] == -1 && PyErr_Occurred())
            return -1;
    }
    return 0;
}

/* METH_FASTCALL: a call on a 4096-sample signal takes about 2 us in all, and parsing a
   16-argument tuple by format string was a large part of it */
static PyObject *
convolve_plane(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    if (nargs != 16) {
        PyErr_Format(PyExc_TypeError, "convolve_plane() takes exactly 16 arguments (%zd given)", nargs);
        return NULL;
    }
    PyObject *ox = args[0], *oh = args[1], *oo = args[2];
    idx v[13];
    if (sizes_from(args + 3, v, 13) < 0)
        return NULL;
    const idx B = v[0], H = v[1], W = v[2], KH = v[3], KW = v[4], MH = v[5], MW = v[6], sh = v[7], sw = v[8],
              i0 = v[9], i1 = v[10], j0 = v[11], j1 = v[12];
    Py_buffer bx, bh, bo;
    if (PyObject_GetBuffer(ox, &bx, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(oh, &bh, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
        PyBuffer_Release(&bx);
        return NULL;
    }
    if (PyObject_GetBuffer(oo, &bo, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bx);
        PyBuffer_Release(&bh);
        return NULL;
    }
    PyObject *ret = NULL;
    const char kind = element_kind(&bx);
    if ((kind != 'f' && kind != 'd') || element_kind(&bh) != kind || element_kind(&bo) != kind) {
        PyErr_SetString(PyExc_TypeError, "convolve_plane: x, h and out must be all float32 or all float64");
        goto done;
    }
    if (B < 1 || H < 1 || W < 1 || KH < 1 || KW < 1 || MH < 1 || MW < 1) {
        PyErr_SetString(PyExc_ValueError, "convolve_plane: every size must be at least 1");
        goto done;
    }
    /* the sizes must describe the buffers exactly (products checked against overflow first) */
    const idx item = bx.itemsize, big = PY_SSIZE_T_MAX / 4;
    if (H > big / W || B > big / (H * W) || MH > big / MW || B > big / (MH * MW) || KH > big / KW ||
        bx.len != B * H * W * item || bh.len != KH * KW * item || bo.len != B * MH * MW * item) {
        PyErr_SetString(PyExc_ValueError, "convolve_plane: x, h and out must hold B*H*W, KH*KW and B*MH*MW elements");
        goto done;
    }
    /* offsets beyond any array's size would overflow the body's index arithmetic */
    if (sh > big || sh < -big || sw > big || sw < -big) {
        PyErr_SetString(PyExc_ValueError, "convolve_plane: the offsets sh and sw must lie within +-PY_SSIZE_T_MAX/4");
        goto done;
    }
    if (i0 < 0 || i0 > i1 || i1 > MH || j0 < 0 || j0 > j1 || j1 > MW) {
        PyErr_SetString(PyExc_ValueError, "convolve_plane: the output window lies outside out");
        goto done;
    }
    /* the GIL is let go for sums long enough to be worth another thread's time (~0.2 us a hand-off) */
    PyThreadState *saved = (double)B * (double)(i1 - i0) * (double)(j1 - j0) * (double)(KH * KW) >= 32768.0
                               ? PyEval_SaveThread()
                               : NULL;
    for (idx n = 0; n < B; n++) {
        if (kind == 'f')
            sum_f32((const float *)bx.buf + n * H * W, H, W, (const float *)bh.buf, KH, KW,
                    (float *)bo.buf + n * MH * MW, MW, sh, sw, i0, i1, j0, j1);
        else
            sum_f64((const double *)bx.buf + n * H * W, H, W, (const double *)bh.buf, KH, KW,
                    (double *)bo.buf + n * MH * MW, MW, sh, sw, i0, i1, j0, j1);
    }
    if (saved != NULL)
        PyEval_RestoreThread(saved);
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bh);
    PyBuffer_Release(&bo);
    return ret;
}

static PyMethodDef methods[] = {
    {"convolve_plane", (PyCFunction)(void (*)(void))convolve_plane, METH_FASTCALL,
     "convolve_plane(x, h, out, B, H, W, KH, KW, MH, MW, sh, sw, i0, i1, j0, j1): out[:, i0:i1, j0:j1] of the "
     "zero-extended convolution of each of the B (H, W) planes of x with the (KH, KW) kernel h, into B (MH, MW) "
     "planes (output (i, j) is full-convolution sample (i + sh, j + sw))."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_directsum", "convlens' compiled direct sum (see _direct.py).", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit__directsum(void)
{
#ifdef HAVE_AVX2_COPY
    /* CONVLENS_SIMD=baseline keeps the baseline copy (the tests compare the two) */
    const char *wanted = getenv("CONVLENS_SIMD");
    __builtin_cpu_init();
    if (!(wanted != NULL && strcmp(wanted, "baseline") == 0) && __builtin_cpu_supports("avx2") &&
        __builtin_cpu_supports("fma")) {
        sum_f32 = sum_f32_avx2;
        sum_f64 = sum_f64_avx2;
        simd_name = "avx2+fma";
    }
#endif
    PyObject *m = PyModule_Create(&module);
    if (m != NULL && PyModule_AddStringConstant(m, "SIMD", simd_name) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
