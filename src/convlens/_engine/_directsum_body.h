/* One direct-sum kernel, written once and compiled for float and double by _directsum.c.
 *
 * Before including: T (the element type), LANES (elements in a 32-byte vector of T), VEC (a
 * name for that vector type), NAME (the function's name), SIMD_TARGET (its target attribute) and
 * SCALAR_MADD(acc, a, b) (acc += a * b in the scalar loop, rounded as the vector loop rounds: fused
 * where the target has FMA -- the compiler contracts the vector loop's a0 += c * v -- else not;
 * left to itself GCC vectorizes the scalar loop's products and rounds them apart).  The function computes, for the output window rows [i0, i1) and
 * columns [j0, j1) of one plane,
 *
 *     out[i, j] = sum over a < KH, b < KW of  h[a, b] * x[i + sh - a, j + sw - b]
 *
 * where x is zero outside its H x W samples: a 2-D convolution with zero extension whose
 * output (i, j) is full-convolution sample (i + sh, j + sw).  A 1-D convolution is one row
 * (H = KH = 1).  Every output adds its taps in the same order (a, then b, increasing), one
 * multiply-add at a time, so a result does not depend on where the window starts, on the
 * thread that computed it, or on whether it came out of the vector or the scalar loop.
 * Taps that fall outside x are left out: h is finite (the caller checks), so they add
 * exactly zero.  Nothing is skipped inside x (0 * nan is nan, as in any direct sum).
 * Every sum is stored plus +0 (POS0): a fused multiply-add whose product underflows gives -0
 * (fma(-1e-200, 1e-200, +0)), and a zero tap added after it +0, so without it the sign of a zero
 * sum would depend on whether its edge taps were left out (the scalar loop) or added as zeros
 * (STRIP), that is on the window and the threads.  With it a zero sum is +0 on every path, as in
 * a literal sum of rounded products (scipy's).
 *
 * The vector loop keeps 8 vectors of outputs in registers and broadcasts one tap at a time
 * into them (each tap is one load and one fused multiply-add per vector); rows narrower than
 * that go one vector of 4 rows at a time, and outputs near x's left and right edges run the
 * same loops on a zero-filled copy of the columns they read (STRIP; the zeros add nothing).  GCC's vector
 * extensions make that SIMD without intrinsics; unaligned loads and stores go through
 * memcpy, which compiles to single vector moves.
 */

typedef T VEC __attribute__((vector_size(32)));

#define LOADV(p) ({ VEC v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define STOREV(p, v) do { VEC s_ = POS0(v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)
/* v + 0: -0 becomes +0, every other value (nan, inf) stays; compilers keep it (signed zeros) */
#define POS0(v) ((v) + 0)

SIMD_TARGET
static void CORE(const T *x, idx H, idx W, const T *h, idx KH, idx KW, T *out, idx MW,
                 idx sh, idx sw, idx i0, idx i1, idx j0, idx j1)
{
    /* columns whose taps all fall inside x: the vector loops; the others: the scalar loop */
    const idx jlo = CLAMP(KW - 1 - sw, j0, j1);
    const idx jhi = CLAMP(W - sw, jlo, j1);
    idx grouped_end = i0; /* rows before this one had their vector columns done in a group (below) */
    for (idx i = i0; i < i1; i++) {
        T *o = out + i * MW;
        /* kernel rows whose x row exists */
        const idx alo = i + sh - H + 1 > 0 ? i + sh - H + 1 : 0;
        const idx ahi = i + sh < KH - 1 ? i + sh : KH - 1;
        idx j = jlo;
        /* rows narrower than a block of 8 vectors: one vector of each of NARROW_ROWS rows at a time
           (where all of them use every kernel row), so that the rows' chains of dependent
           multiply-adds overlap (one vector alone waits on each multiply-add's latency: 64^2
           float32 planes (x) 3^2 ran ~2.5x slower per output than rows of 64).  Each output adds
           its taps in the same order as below. */
        if (jhi - jlo >= LANES && jhi - jlo < 8 * LANES && i >= grouped_end && i + NARROW_ROWS <= i1 &&
            i + sh >= KH - 1 && i + NARROW_ROWS - 1 + sh <= H - 1) {
            for (idx jg = jlo; jg < jhi;) {
                const idx jv = jg + LANES <= jhi ? jg : jhi - LANES;
                VEC acc[NARROW_ROWS];
#pragma GCC unroll 8
                for (int r = 0; r < NARROW_ROWS; r++)
                    acc[r] = (VEC){0};
                for (idx a = 0; a < KH; a++) {
                    const T *xr = x + (i + sh - a) * W + jv + sw;
                    const T *hr = h + a * KW;
                    for (idx b = 0; b < KW; b++) {
                        const T c = hr[b];
#pragma GCC unroll 8
                        for (int r = 0; r < NARROW_ROWS; r++)
                            acc[r] += c * LOADV(xr + r * W - b);
                    }
                }
#pragma GCC unroll 8
                for (int r = 0; r < NARROW_ROWS; r++)
                    STOREV(o + r * MW + jv, acc[r]);
                jg = jv + LANES;
            }
            grouped_end = i + NARROW_ROWS;
        }
        if (i < grouped_end)
            j = jhi;
        /* blocks of 8 vectors; the last one ends at jhi, overlapping outputs already written (as
           below): a remainder of up to 8 * LANES - 1 columns one vector at a time, each a chain of
           dependent multiply-adds, took longer than the blocks before it (256 columns: 3 blocks
           and 7 single vectors) */
        while (j < jhi && jhi - jlo >= 8 * LANES) {
            const idx jb = j + 8 * LANES <= jhi ? j : jhi - 8 * LANES;
            VEC a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0}, a7 = {0};
            for (idx a = alo; a <= ahi; a++) {
                const T *xr = x + (i + sh - a) * W + jb + sw;
                const T *hr = h + a * KW;
                for (idx b = 0; b < KW; b++) {
                    const T c = hr[b];
                    const T *p = xr - b;
                    a0 += c * LOADV(p);
                    a1 += c * LOADV(p + LANES);
                    a2 += c * LOADV(p + 2 * LANES);
                    a3 += c * LOADV(p + 3 * LANES);
                    a4 += c * LOADV(p + 4 * LANES);
                    a5 += c * LOADV(p + 5 * LANES);
                    a6 += c * LOADV(p + 6 * LANES);
                    a7 += c * LOADV(p + 7 * LANES);
                }
            }
            STOREV(o + jb, a0);
            STOREV(o + jb + LANES, a1);
            STOREV(o + jb + 2 * LANES, a2);
            STOREV(o + jb + 3 * LANES, a3);
            STOREV(o + jb + 4 * LANES, a4);
            STOREV(o + jb + 5 * LANES, a5);
            STOREV(o + jb + 6 * LANES, a6);
            STOREV(o + jb + 7 * LANES, a7);
            j = jb + 8 * LANES;
        }
        /* then (rows narrower than a block) one vector at a time; the last one ends at jhi,
           overlapping outputs already written (with the same values: every output adds the
           same terms in the same order) */
        while (j < jhi && jhi - jlo >= LANES) {
            const idx jv = j + LANES <= jhi ? j : jhi - LANES;
            VEC a0 = {0};
            for (idx a = alo; a <= ahi; a++) {
                const T *xr = x + (i + sh - a) * W + jv + sw;
                const T *hr = h + a * KW;
                for (idx b = 0; b < KW; b++)
                    a0 += hr[b] * LOADV(xr - b);
            }
            STOREV(o + jv, a0);
            j = jv + LANES;
        }
        /* the edges [j0, jlo) and the tail [j, j1): one output at a time, same tap order */
        for (idx jj = j0; jj < j1; jj++) {
            if (jj == jlo && j > jlo) {
                jj = j;
                if (jj >= j1)
                    break;
            }
            const idx blo = jj + sw - W + 1 > 0 ? jj + sw - W + 1 : 0;
            const idx bhi = jj + sw < KW - 1 ? jj + sw : KW - 1;
            T acc = 0;
            for (idx a = alo; a <= ahi; a++) {
                const T *xr = x + (i + sh - a) * W + jj + sw;
                const T *hr = h + a * KW;
                for (idx b = blo; b <= bhi; b++)
                    SCALAR_MADD(acc, hr[b], xr[-b]);
            }
            o[jj] = POS0(acc);
        }
    }
}


/* Output columns [ja, jb) of rows [i0, i1) whose taps reach past x's left or right edge (or a
 * row too narrow for one vector): computed by the vector loops on a copy of the x columns they
 * read, zero-filled past x's edge, in chunks of STRIP_ROWS output rows.  A scalar loop took
 * ~8x as long per output (one chain of dependent multiply-adds each): 100^2 (x) 7^2 float32
 * with zero extension ran 66 us against 30 us on an explicitly padded x.  The zeros add
 * exactly nothing to a value (h is finite) and change no zero's sign once stored (POS0), so
 * every output has the bits the scalar loop gave it.  Returns 0 when the
 * copy's memory could not be had (the caller then takes the scalar loop). */
SIMD_TARGET
static int STRIP(const T *x, idx H, idx W, const T *h, idx KH, idx KW, T *out, idx MW, idx sh, idx sw,
                 idx i0, idx i1, idx ja, idx jb)
{
    const idx m = jb - ja < LANES ? LANES : jb - ja; /* outputs a strip row computes (>= one vector) */
    const idx sw_cols = m + KW - 1;                  /* x columns they read */
    const idx c0 = ja + sw - (KW - 1);               /* x column of the strip's column 0 */
    const idx rows = i1 - i0 < STRIP_ROWS ? i1 - i0 : STRIP_ROWS;
    T *buf = (T *)malloc(((size_t)(rows + KH - 1) * (size_t)sw_cols + (size_t)rows * (size_t)m) * sizeof(T));
    if (buf == NULL)
        return 0;
    T *S = buf, *O = buf + (rows + KH - 1) * sw_cols;
    /* the part of each strip row inside x (none where the strip lies wholly left or right of x) */
    const idx in0 = CLAMP(-c0, 0, sw_cols);
    const idx in1 = CLAMP(W - c0, in0, sw_cols);
    for (idx r0 = i0; r0 < i1; r0 += rows) {
        const idx r1 = r0 + rows < i1 ? r0 + rows : i1;
        /* the x rows these outputs read */
        const idx xlo = r0 + sh - KH + 1 > 0 ? r0 + sh - KH + 1 : 0;
        const idx xhi = r1 + sh < H ? r1 + sh : H;
        const idx nr = xhi - xlo;
        if (nr <= 0) { /* no tap falls inside x: sums of nothing */
            for (idx i = r0; i < r1; i++)
                for (idx j = ja; j < jb; j++)
                    out[i * MW + j] = 0;
            continue;
        }
        for (idx r = 0; r < nr; r++) {
            T *dst = S + r * sw_cols;
            for (idx c = 0; c < in0; c++)
                dst[c] = 0;
            const T *src = x + (xlo + r) * W + c0 + in0; /* x column c0 + in0 >= 0 */
            for (idx c = in0; c < in1; c++) /* a loop, not memcpy: rows of a few samples (a call each) */
                dst[c] = src[c - in0];
            for (idx c = in1; c < sw_cols; c++)
                dst[c] = 0;
        }
        /* strip output (i', j') is output (r0 + i', ja + j'): full-convolution sample (r0 + i' + sh,
           ja + j' + sw), i.e. strip row r0 + i' + sh - xlo and strip column j' + KW - 1 */
        CORE(S, nr, sw_cols, h, KH, KW, O, m, r0 + sh - xlo, KW - 1, 0, r1 - r0, 0, m);
        for (idx i = r0; i < r1; i++)
            for (idx j = ja; j < jb; j++)
                out[i * MW + j] = O[(i - r0) * m + j - ja];
    }
    free(buf);
    return 1;
}

SIMD_TARGET
static void NAME(const T *x, idx H, idx W, const T *h, idx KH, idx KW, T *out, idx MW,
                 idx sh, idx sw, idx i0, idx i1, idx j0, idx j1)
{
    /* the columns whose taps all fall inside x, as in CORE */
    const idx jlo = CLAMP(KW - 1 - sw, j0, j1);
    const idx jhi = CLAMP(W - sw, jlo, j1);
    if (i0 >= i1 || (jlo == j0 && jhi == j1 && j1 - j0 >= LANES)) {
        CORE(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, j0, j1);
        return;
    }
    if (jhi - jlo < LANES) { /* no room for one vector inside x: the whole window in strips */
        if (!STRIP(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, j0, j1))
            CORE(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, j0, j1);
        return;
    }
    /* an edge of one or two columns stays in CORE's scalar loop: its strip ran no faster (one
       vector's chain of multiply-adds is as long as one output's) and added the copies (1024^2
       (x) 3^2 float32: 0.63 ms in strips against 0.56) */
    idx left = jlo - j0 >= STRIP_MIN_COLS ? jlo : j0, right = j1 - jhi >= STRIP_MIN_COLS ? jhi : j1;
    /* a strip a block of 8 vectors wide runs the block loop (8 independent chains), taking interior columns along */
    if (left > j0 && left - j0 < 8 * LANES && right - (j0 + 8 * LANES) >= 8 * LANES)
        left = j0 + 8 * LANES;
    if (right < j1 && j1 - right < 8 * LANES && (j1 - 8 * LANES) - left >= 8 * LANES)
        right = j1 - 8 * LANES;
    {   /* CORE ends its vector columns with a block that overlaps the one before it: where fewer than
           4 vectors' worth would be new, those columns go to the left strip instead (100^2 (x) 11^2
           float32: 90 columns inside x were two blocks, 128 outputs' work; now one, and a strip) */
        const idx vlo = left > jlo ? left : jlo, vhi = right < jhi ? right : jhi;
        const idx rest = vhi - vlo >= 8 * LANES ? (vhi - vlo) % (8 * LANES) : 0;
        if (rest > 0 && rest < 4 * LANES)
            left = vlo + rest;
    }
    CORE(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, left, right);
    if (left > j0 && !STRIP(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, j0, left))
        CORE(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, j0, left);
    if (right < j1 && !STRIP(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, right, j1))
        CORE(x, H, W, h, KH, KW, out, MW, sh, sw, i0, i1, right, j1);
}

#undef LOADV
#undef STOREV
#undef POS0
