"""Build convlens' one compiled module, the direct sum (``convlens._engine._directsum``).

Everything else is in pyproject.toml.  The module is optional: where no C compiler is
found the install still succeeds and the direct method uses NumPy and OpenCV alone
(``convlens._engine._direct.HAVE_NATIVE`` is then False).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "convlens._engine._directsum",
            sources=["src/convlens/_engine/_directsum.c"],
            depends=["src/convlens/_engine/_directsum_body.h"],
            # -ffp-contract=fast: the vector loop's multiply-adds are fused where the CPU has FMA
            # (GCC's default for GNU C, stated because the scalar loop is written to match it)
            extra_compile_args=["-O3", "-std=gnu11", "-ffp-contract=fast"],
            optional=True,
        )
    ]
)
