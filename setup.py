"""Build convlens' compiled modules: the direct sum (``convlens._engine._directsum``) and
template matching's window sums (``convlens.matching._boxsums``).

Everything else is in pyproject.toml.  Both modules are optional: where no C compiler is
found the install still succeeds, the direct method uses NumPy and OpenCV alone
(``convlens._engine._direct.HAVE_NATIVE`` is then False) and template matching
integral images (``convlens.matching._window_stats.HAVE_BOXSUMS`` False).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "convlens._engine._directsum",
            sources=["src/convlens/_engine/_directsum.c"],
            depends=["src/convlens/_engine/_directsum_body.h", "src/convlens/_buffer_kind.h"],
            # -ffp-contract=fast: the vector loop's multiply-adds are fused where the CPU has FMA
            # (GCC's default for GNU C, stated because the scalar loop is written to match it)
            extra_compile_args=["-O3", "-std=gnu11", "-ffp-contract=fast"],
            optional=True,
        ),
        Extension(
            "convlens.matching._boxsums",
            sources=["src/convlens/matching/_boxsums.c"],
            depends=["src/convlens/_buffer_kind.h"],
            extra_compile_args=["-O3", "-std=gnu11"],
            optional=True,
        ),
    ]
)
