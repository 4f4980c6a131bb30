/* convlens' compiled window sums for template matching: sum x and sum x**2 over every m x n window.
 *
 * A normalized score needs, per placement, the sum and the squared sum of the image under the
 * template.  Integral images give them with four differences each, but over arrays of the whole
 * strip: on a 2048² image that streamed ~270 MB through memory (24 ms of a 70 ms search).  This
 * module computes them for a block of output rows while it is in cache, in float64:
 *
 *   - column sums over the m rows of the block's first output row, then slid down one row at a
 *     time (add the row entering, subtract the row leaving; vectorizable);
 *   - per output row, the window sums along the row: the columns are cut into SEGMENTS runs, each
 *     started by a fresh sum of n column sums and slid along its run, the runs advanced in
 *     lockstep so that their additions (one dependency chain each) overlap.
 *
 * Every call starts afresh (its first row's column sums, each run's first window), so the
 * round-off of a sum follows the energy of the block's rows, not of everything before it as in
 * an integral image.
 *
 * Functions for Python, on buffers (no NumPy C API):
 *
 *     window_sums(x, sums, squares, H, W, m, n, r0, r1)
 *
 * x: C-contiguous H x W float32 or float64; sums, squares: C-contiguous float64 of
 * (r1 - r0) x (W - n + 1): the windows whose top-left corner is on rows r0 .. r1 - 1
 * (0 <= r0 <= r1 <= H - m + 1).  The GIL is released while it runs.
 *
 *     window_variance(x, out, H, W, m, n, r0, r1, scale)
 *
 * the same windows' sum(x**2) - scale * sum(x)**2 (scale = 1 / (m n): n times the variance),
 * computed in float64 and stored in out's dtype (float32 or float64): one array written
 * instead of two, for a normalized score that needs only the variance.
 *
 *     energy(x) -> float: sum of x**2 over a C-contiguous float32/float64 buffer, in float64.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "../_buffer_kind.h"
#include <stdlib.h>

typedef Py_ssize_t idx;

#define SEGMENTS 8

/* STORE(row, c, s, q): what one window's sums become (both sums, or the variance sum) */
#define STORE_SUMS(r, c, s, q) (S[(r) * width + (c)] = (s), Q[(r) * width + (c)] = (q))
#define STORE_VAR_F32(r, c, s, q) (((float *)V)[(r) * width + (c)] = (float)((q) - (s) * (s) * scale))
#define STORE_VAR_F64(r, c, s, q) (((double *)V)[(r) * width + (c)] = (q) - (s) * (s) * scale)

/* one step of run g (its column c = g * len + t): store its window, slide it one column */
#define RUN_STEP(STORE, g, sg, qg)                                                                               \
    do {                                                                                                          \
        const idx c = (g) * len + t;                                                                              \
        STORE(o, c, sg, qg);                                                                                      \
        sg += cs[c + n] - cs[c];                                                                                  \
        qg += cq[c + n] - cq[c];                                                                                  \
    } while (0)

#define DEFINE_SUMS(NAME, T, STORE)                                                                              \
    static void NAME(const T *x, idx W, idx m, idx n, idx r0, idx r1, double *S, double *Q, void *V,              \
                     double scale, double *cs, double *cq)                                                        \
    {                                                                                                             \
        (void)S;                                                                                                  \
        (void)Q;                                                                                                  \
        (void)V;                                                                                                  \
        (void)scale;                                                                                              \
        const idx width = W - n + 1;                                                                              \
        for (idx j = 0; j <= W; j++) /* cs[W], cq[W]: a zero read by each run's last (unused) step */             \
            cs[j] = cq[j] = 0.0;                                                                                  \
        for (idx i = r0; i < r0 + m; i++) {                                                                       \
            const T *row = x + i * W;                                                                             \
            for (idx j = 0; j < W; j++) {                                                                         \
                const double v = (double)row[j];                                                                  \
                cs[j] += v;                                                                                       \
                cq[j] += v * v;                                                                                   \
            }                                                                                                     \
        }                                                                                                         \
        const idx runs = width >= 16 * SEGMENTS ? SEGMENTS : 1;                                                   \
        const idx len = width / runs; /* the last run also takes the remainder */                                \
        for (idx r = r0; r < r1; r++) {                                                                           \
            if (r > r0) {                                                                                         \
                const T *in = x + (r + m - 1) * W, *out = x + (r - 1) * W;                                        \
                for (idx j = 0; j < W; j++) {                                                                     \
                    const double a = (double)in[j], b = (double)out[j];                                           \
                    cs[j] += a - b;                                                                               \
                    cq[j] += a * a - b * b;                                                                       \
                }                                                                                                 \
            }                                                                                                     \
            const idx o = r - r0;                                                                                 \
            double s[SEGMENTS], q[SEGMENTS];                                                                      \
            for (idx g = 0; g < runs; g++) {                                                                      \
                double a = 0.0, b = 0.0;                                                                          \
                for (idx j = g * len; j < g * len + n; j++) {                                                     \
                    a += cs[j];                                                                                   \
                    b += cq[j];                                                                                   \
                }                                                                                                 \
                s[g] = a;                                                                                         \
                q[g] = b;                                                                                         \
            }                                                                                                     \
            if (runs == SEGMENTS) {                                                                               \
                /* the runs' sums in named locals (registers): indexed by a variable they went to memory */      \
                double s0 = s[0], s1 = s[1], s2 = s[2], s3 = s[3], s4 = s[4], s5 = s[5], s6 = s[6], s7 = s[7];   \
                double q0 = q[0], q1 = q[1], q2 = q[2], q3 = q[3], q4 = q[4], q5 = q[5], q6 = q[6], q7 = q[7];   \
                for (idx t = 0; t < len; t++) {                                                                   \
                    RUN_STEP(STORE, 0, s0, q0);                                                                   \
                    RUN_STEP(STORE, 1, s1, q1);                                                                   \
                    RUN_STEP(STORE, 2, s2, q2);                                                                   \
                    RUN_STEP(STORE, 3, s3, q3);                                                                   \
                    RUN_STEP(STORE, 4, s4, q4);                                                                   \
                    RUN_STEP(STORE, 5, s5, q5);                                                                   \
                    RUN_STEP(STORE, 6, s6, q6);                                                                   \
                    RUN_STEP(STORE, 7, s7, q7);                                                                   \
                }                                                                                                 \
                s[7] = s7;                                                                                        \
                q[7] = q7;                                                                                        \
            } else {                                                                                              \
                for (idx c = 0; c < len; c++) {                                                                   \
                    STORE(o, c, s[0], q[0]);                                                                      \
                    s[0] += cs[c + n] - cs[c];                                                                    \
                    q[0] += cq[c + n] - cq[c];                                                                    \
                }                                                                                                 \
            }                                                                                                     \
            /* the remainder continues the last run */                                                            \
            double a = s[runs - 1], b = q[runs - 1];                                                              \
            for (idx c = runs * len; c < width; c++) {                                                            \
                STORE(o, c, a, b);                                                                                \
                a += cs[c + n] - cs[c];                                                                           \
                b += cq[c + n] - cq[c];                                                                           \
            }                                                                                                     \
        }                                                                                                         \
    }

DEFINE_SUMS(sums_f32, float, STORE_SUMS)
DEFINE_SUMS(sums_f64, double, STORE_SUMS)
DEFINE_SUMS(var_f32_f32, float, STORE_VAR_F32)
DEFINE_SUMS(var_f32_f64, float, STORE_VAR_F64)
DEFINE_SUMS(var_f64_f32, double, STORE_VAR_F32)
DEFINE_SUMS(var_f64_f64, double, STORE_VAR_F64)


/* The call's nine arguments, and its six sizes H, W, m, n, r0, r1 from args[first], checked:
   -1 with an exception set when invalid */
static int
window_args(const char *fn, PyObject *const *args, Py_ssize_t nargs, int first, idx *v)
{
    if (nargs != 9) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly 9 arguments (%zd given)", fn, nargs);
        return -1;
    }
    for (int i = 0; i < 6; i++) {
        v[i] = PyNumber_AsSsize_t(args[first + i], PyExc_OverflowError);
        if (v[i] == -1 && PyErr_Occurred())
            return -1;
    }
    const idx H = v[0], W = v[1], m = v[2], n = v[3], r0 = v[4], r1 = v[5];
    if (H < 1 || W < 1 || m < 1 || n < 1 || m > H || n > W || r0 < 0 || r0 > r1 || r1 > H - m + 1 ||
        H > PY_SSIZE_T_MAX / 16 / W) {
        PyErr_Format(PyExc_ValueError, "%s: need 1 <= m <= H, 1 <= n <= W, 0 <= r0 <= r1 <= H - m + 1", fn);
        return -1;
    }
    return 0;
}

/* One pass over rows r0 .. r1 - 1 of x (element kind 'f' or 'd'): the sums into S and Q (store 'S'),
   or the variance sums into V of kind store ('f' or 'd'); column-sum scratch allocated here and the
   GIL let go while it runs.  -1 with MemoryError set when the scratch cannot be had */
static int
window_pass(char kind, char store, const void *x, idx W, idx m, idx n, idx r0, idx r1, double *S, double *Q,
            void *V, double scale)
{
    if (r1 <= r0)
        return 0;
    double *cs = (double *)malloc(2 * (size_t)(W + 1) * sizeof(double));
    if (cs == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    double *cq = cs + W + 1;
    Py_BEGIN_ALLOW_THREADS;
    if (store == 'S' && kind == 'f')
        sums_f32((const float *)x, W, m, n, r0, r1, S, Q, NULL, 0.0, cs, cq);
    else if (store == 'S')
        sums_f64((const double *)x, W, m, n, r0, r1, S, Q, NULL, 0.0, cs, cq);
    else if (kind == 'f' && store == 'f')
        var_f32_f32((const float *)x, W, m, n, r0, r1, NULL, NULL, V, scale, cs, cq);
    else if (kind == 'f')
        var_f32_f64((const float *)x, W, m, n, r0, r1, NULL, NULL, V, scale, cs, cq);
    else if (store == 'f')
        var_f64_f32((const double *)x, W, m, n, r0, r1, NULL, NULL, V, scale, cs, cq);
    else
        var_f64_f64((const double *)x, W, m, n, r0, r1, NULL, NULL, V, scale, cs, cq);
    Py_END_ALLOW_THREADS;
    free(cs);
    return 0;
}

static PyObject *
window_sums(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    idx v[6];
    if (window_args("window_sums", args, nargs, 3, v) < 0)
        return NULL;
    const idx H = v[0], W = v[1], m = v[2], n = v[3], r0 = v[4], r1 = v[5];
    Py_buffer bx, bs, bq;
    if (PyObject_GetBuffer(args[0], &bx, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &bs, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bx);
        return NULL;
    }
    if (PyObject_GetBuffer(args[2], &bq, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bx);
        PyBuffer_Release(&bs);
        return NULL;
    }
    PyObject *ret = NULL;
    const char kind = element_kind(&bx);
    const idx width = W - n + 1, rows = r1 - r0;
    if ((kind != 'f' && kind != 'd') || element_kind(&bs) != 'd' || element_kind(&bq) != 'd') {
        PyErr_SetString(PyExc_TypeError, "window_sums: x must be float32 or float64, sums and squares float64");
        goto done;
    }
    if (bx.len != H * W * bx.itemsize || bs.len != rows * width * 8 || bq.len != rows * width * 8) {
        PyErr_SetString(PyExc_ValueError, "window_sums: x must hold H*W elements, sums and squares (r1-r0)*(W-n+1)");
        goto done;
    }
    if (window_pass(kind, 'S', bx.buf, W, m, n, r0, r1, (double *)bs.buf, (double *)bq.buf, NULL, 0.0) < 0)
        goto done;
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bs);
    PyBuffer_Release(&bq);
    return ret;
}

static PyObject *
window_variance(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    (void)self;
    idx v[6];
    if (window_args("window_variance", args, nargs, 2, v) < 0)
        return NULL;
    const double scale = PyFloat_AsDouble(args[8]);
    if (scale == -1.0 && PyErr_Occurred())
        return NULL;
    const idx H = v[0], W = v[1], m = v[2], n = v[3], r0 = v[4], r1 = v[5];
    Py_buffer bx, bv;
    if (PyObject_GetBuffer(args[0], &bx, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    if (PyObject_GetBuffer(args[1], &bv, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&bx);
        return NULL;
    }
    PyObject *ret = NULL;
    const char kind = element_kind(&bx), out = element_kind(&bv);
    const idx width = W - n + 1, rows = r1 - r0;
    if ((kind != 'f' && kind != 'd') || (out != 'f' && out != 'd')) {
        PyErr_SetString(PyExc_TypeError, "window_variance: x and out must be float32 or float64");
        goto done;
    }
    if (bx.len != H * W * bx.itemsize || bv.len != rows * width * bv.itemsize) {
        PyErr_SetString(PyExc_ValueError, "window_variance: x must hold H*W elements, out (r1-r0)*(W-n+1)");
        goto done;
    }
    if (window_pass(kind, out, bx.buf, W, m, n, r0, r1, NULL, NULL, bv.buf, scale) < 0)
        goto done;
    Py_INCREF(Py_None);
    ret = Py_None;
done:
    PyBuffer_Release(&bx);
    PyBuffer_Release(&bv);
    return ret;
}

#define DEFINE_ENERGY(NAME, T)                                                                                   \
    static double NAME(const T *x, idx count)                                                                     \
    {                                                                                                             \
        double acc[4] = {0.0, 0.0, 0.0, 0.0};                                                                     \
        idx i = 0;                                                                                                \
        for (; i + 4 <= count; i += 4)                                                                            \
            for (int l = 0; l < 4; l++)                                                                           \
                acc[l] += (double)x[i + l] * (double)x[i + l];                                                    \
        for (; i < count; i++)                                                                                    \
            acc[0] += (double)x[i] * (double)x[i];                                                                \
        return (acc[0] + acc[1]) + (acc[2] + acc[3]);                                                             \
    }

DEFINE_ENERGY(energy_f32, float)
DEFINE_ENERGY(energy_f64, double)

static PyObject *
energy(PyObject *self, PyObject *arg)
{
    (void)self;
    Py_buffer bx;
    if (PyObject_GetBuffer(arg, &bx, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
        return NULL;
    const char kind = element_kind(&bx);
    PyObject *ret = NULL;
    if (kind != 'f' && kind != 'd') {
        PyErr_SetString(PyExc_TypeError, "energy: x must be float32 or float64");
    } else {
        double e;
        const idx count = bx.len / bx.itemsize;
        Py_BEGIN_ALLOW_THREADS;
        e = kind == 'f' ? energy_f32((const float *)bx.buf, count) : energy_f64((const double *)bx.buf, count);
        Py_END_ALLOW_THREADS;
        ret = PyFloat_FromDouble(e);
    }
    PyBuffer_Release(&bx);
    return ret;
}

static PyMethodDef methods[] = {
    {"window_sums", (PyCFunction)(void (*)(void))window_sums, METH_FASTCALL,
     "window_sums(x, sums, squares, H, W, m, n, r0, r1): sums and squared sums (float64) of x (H x W) over every "
     "m x n window whose top-left corner lies on rows r0 .. r1 - 1, into (r1 - r0) x (W - n + 1) arrays."},
    {"window_variance", (PyCFunction)(void (*)(void))window_variance, METH_FASTCALL,
     "window_variance(x, out, H, W, m, n, r0, r1, scale): sum(x**2) - scale * sum(x)**2 over the same windows as "
     "window_sums, computed in float64 and stored in out's dtype (float32 or float64)."},
    {"energy", energy, METH_O, "energy(x) -> float: the sum of x**2 (float32/float64 buffer) in float64."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_boxsums", "Window sums for template matching (see _boxsums.c).", -1, methods,
};

PyMODINIT_FUNC
PyInit__boxsums(void)
{
    return PyModule_Create(&module);
}
