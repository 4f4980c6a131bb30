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
 *
 * The vector loop keeps 8 vectors of outputs in registers and broadcasts one tap at a time
 * into them (each tap is one load and one fused multiply-add per vector).  GCC's vector
 * extensions make that SIMD without intrinsics; unaligned loads and stores go through
 * memcpy, which compiles to single vector moves.
 */

typedef T VEC __attribute__((vector_size(32)));

#define LOADV(p) ({ VEC v_; __builtin_memcpy(&v_, (p), sizeof v_); v_; })
#define STOREV(p, v) do { VEC s_ = (v); __builtin_memcpy((p), &s_, sizeof s_); } while (0)

SIMD_TARGET
static void NAME(const T *x, idx H, idx W, const T *h, idx KH, idx KW, T *out, idx MW,
                 idx sh, idx sw, idx i0, idx i1, idx j0, idx j1)
{
    /* columns whose taps all fall inside x: the vector loops; the others: the scalar loop */
    const idx jlo = CLAMP(KW - 1 - sw, j0, j1);
    const idx jhi = CLAMP(W - sw, jlo, j1);
    for (idx i = i0; i < i1; i++) {
        T *o = out + i * MW;
        /* kernel rows whose x row exists */
        const idx alo = i + sh - H + 1 > 0 ? i + sh - H + 1 : 0;
        const idx ahi = i + sh < KH - 1 ? i + sh : KH - 1;
        idx j = jlo;
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
            o[jj] = acc;
        }
    }
}

#undef LOADV
#undef STOREV
