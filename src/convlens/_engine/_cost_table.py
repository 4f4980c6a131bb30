"""The cost model's constants: measured seconds per operation, in one table.

A leaf module (no imports) so that both the cost model (``_cost``) and the direct
path's choice of back end (``_direct``) read the same numbers.
"""

# Every constant of the model, in one table.  Seconds per unit are float32, one thread.
# Fitted to CPU-time measurements on a 2-core Zen 4 machine; ``python -m benchmarks.calibrate``
# refits and prints every entry.
COST = {
    "fft": 1.0e-10,  # per point * log2(points) of one real transform, in cache
    "mem": 1.5e-9,  # per point and pass over memory (copies, products, overlap-add)
    "cv2": 4.75e-11,  # per output * kernel tap, OpenCV filter2D (below its DFT switch; ~0.97x "native" when
    # both are fitted in one run on a 2-core Zen 3, 2048² float32 (x) 3² .. 9²)
    "cv2_out": 3.6e-10,  # ... and per output (its fixed work per pixel)
    "cv2_line": 4.6e-8,  # ... and per output row (a plane 2 samples wide: ~20 ns an output)
    "cv2_call": 6e-6,  # ... and per call (8² float32 (x) 3²: ~6 us, against ~2 us for the compiled sum)
    "cv2_row": 9.0e-11,  # ... on one 1-D signal as a one-row image (padded first; 8 to 129 taps)
    "npconv_short": 2.5e-10,  # per output * kernel tap, numpy.convolve up to 11 taps (its small-kernel loop)
    "npconv": 1.0e-9,  # per output * kernel tap, numpy.convolve on one 1-D signal (k up to ~64)
    "npconv_long": 2.0e-10,  # ... per output * tap beyond 64 taps (BLAS-like dot products)
    "ndimage": 9.7e-10,  # per output * kernel tap, scipy.ndimage.correlate
    "taps": 3.0e-9,  # per output * kernel tap, the shifted multiply-add loop
    "native": 4.9e-11,  # per output * kernel tap, the compiled direct sum's vector loop (_directsum)
    "native_f64": 1.18,  # ... float64 (half the lanes) slows it by this much more than it slows the FFT paths
    "native_narrow": 1.3,  # ... slower per output * tap where a row's vector part is narrower than 8 vectors
    "native_edge": 2.0e-09,  # ... per output * tap of its scalar loop (edges of 1 or 2 columns whose taps reach past x)
    "native_row": 1.2e-9,  # ... per output row * kernel row where a row has less than a vector inside x
    "native_byte": 3e-11,  # ... per byte of x and output it reads and writes (decides its thread split only)
    "call": 7e-6,  # fixed overhead of one call (the lean path of a repeated direct call)
    "call_fft": 2e-5,  # ... and what an FFT path adds (padding, the kernel's spectrum, crops: the lean path)
    "call_plan": 1.6e-4,  # ... and what building a plan adds to a one-shot call the lean FFT path does not take
    "f64": 1.6,  # float64 (and exact-integer) work costs this much more than float32
    "cv2_f64": 2.3,  # OpenCV in float64: slower than float32 by this much more than the FFT paths are
    "thread_gain": 0.6,  # 2 threads take this fraction of the 1-thread time of an FFT
    "thread_min": 2e-3,  # an FFT path predicted below this on one thread runs on one (see ``fft_threads``)
    "big_nd": 1.3,  # per-point slowdown of a whole 2-D/3-D transform beyond ``big_points``
    "big_1d": 2.5,  # ... of one long 1-D transform (2**22 samples: 3.7x slower than overlap-add)
    "big_points": 1 << 18,  # transforms larger than this leave the caches
    "oa_1d_fft": 0.9,  # fused 1-D overlap-save: transform cost relative to the model
    "oa_1d_mem": 0.75,  # ... and passes over memory per point (segments read in place from x)
    "oa_nd_mem": 2.0,  # N-d overlap-add: passes over memory per point
    "oa_nd": 1.3,  # ... and its cost against the whole-array FFT's, over what the model's points say (2-D, 3-D)
    "oa_nd_f64": 1.1,  # ... and that much more in float64 (its extra passes move twice the bytes)
    "tile": 2.3e-10,  # 2-D cache-sized tiles: per tile point * log2(tile points) of one r2c + product + c2r
    "channels_gemm": 4e-10,  # convolve_channels: per (channel pair * frequency) of the complex GEMM
}
