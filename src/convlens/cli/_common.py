"""What every ``convlens`` subcommand shares: parsing, errors, output, progress, kernels."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .. import io

KERNEL_SPECS = "box:N[xM], gaussian:SIGMA, laplacian, sobel[:AXIS]"


class UsageError(ValueError):
    """Bad input or options found by a subcommand: exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line on stderr (and exit status 2)."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def add_command(
    sub, name: str, func: Callable[[argparse.Namespace], None], summary: str, example: str, *, description: str = ""
) -> argparse.ArgumentParser:
    """A subparser whose ``--help`` ends with a worked example, and a ``--json`` switch."""
    parser = sub.add_parser(
        name,
        help=summary,
        description=(description or summary[0].upper() + summary[1:] + "."),
        epilog="example:\n" + textwrap.indent(textwrap.dedent(example).strip("\n"), "  "),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the summary line")
    parser.set_defaults(func=func, command=name)
    return parser


def _parse(text: str, kind: type, allowed: str):
    try:
        return kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {allowed}, got {text!r}") from None


def positive_float(text: str) -> float:
    """argparse type: a finite number > 0."""
    value = _parse(text, float, "a number")
    if not np.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """argparse type: a finite number >= 0."""
    value = _parse(text, float, "a number")
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    value = _parse(text, int, "a whole number")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def report(args: argparse.Namespace, line: str, result: dict) -> None:
    """The one-line summary on stdout, or the JSON object with ``--json``."""
    if args.json:
        # strict JSON has no NaN or Infinity (json.dumps would write them bare): they become null
        print(json.dumps(_jsonable({"command": args.command, **result}), allow_nan=False))
    else:
        print(line)


def _jsonable(value):
    """Plain JSON values: NumPy scalars and arrays as Python ones, paths as text, NaN and +-inf as None."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not np.isfinite(value):
        return None
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


@contextlib.contextmanager
def busy(args: argparse.Namespace, text: str, *, size: int = 0, threshold: int = 4_000_000) -> Iterator[None]:
    """A spinner on stderr while long work runs: only on a terminal, without --json, for large inputs."""
    show = size >= threshold and not args.json and sys.stderr.isatty()
    if not show:
        yield
        return
    try:
        from rich.console import Console
    except ImportError:  # rich is optional: no spinner then
        yield
        return
    with Console(stderr=True).status(text):
        yield


# --------------------------------------------------------------------------- data in, data out


def inputs_and_output(args: argparse.Namespace, inputs: list[str], out: str | None, kinds=tuple(io.KINDS)) -> None:
    """Check the output path first, so that no work is done for a result that cannot be written."""
    if out is not None:
        io.check_output(out, inputs, kinds=kinds)


def check_fits(out: str, data: io.Data) -> None:
    """Before computing: can a result shaped like the input be written as ``out``'s format?"""
    kind, shape = io.kind_of(out), data.array.shape
    if kind == "audio" and data.rate is None:
        raise UsageError(f"{out}: writing audio needs a sample rate, and the input has none; write .npy or .csv")
    if kind == "image" and not (len(shape) == 2 or (len(shape) == 3 and shape[-1] in (3, 4))):
        raise UsageError(f"{out}: an image holds (H, W) or (H, W, 3|4) data, the input is {shape}; write .npy")
    if kind == "table" and len(shape) > 2:
        raise UsageError(f"{out}: CSV holds 1-D or 2-D data, the input is {shape}; write .npy")


def as_float(array: np.ndarray) -> np.ndarray:
    """float32 and float64 (and complex) stay as they are; integers and bool become float64."""
    if array.dtype.kind in "fc" and array.dtype.itemsize >= 4:
        return array
    return array.astype(np.float64)


def signal_axes(data: io.Data) -> tuple[int, ...] | None:
    """The axes a kernel runs over: rows and columns of an image (colour channels apart), time for audio/tables."""
    if data.kind == "image":
        return (0, 1)
    if data.kind in ("audio", "table"):
        return (0,)
    return None


def spatial_ndim(data: io.Data) -> int:
    axes = signal_axes(data)
    return data.array.ndim if axes is None else len(axes)


def image_range(data: io.Data, rescale: bool):
    """The data_range for writing a result as PNG/JPEG: the input's own range, or a min-max stretch."""
    if rescale:
        return "minmax"
    if data.kind == "image" and data.array.dtype.kind == "u":
        return (0, np.iinfo(data.array.dtype).max)
    return None


def add_rescale(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rescale",
        action="store_true",
        help="stretch the result's min..max to black..white in PNG/JPEG (default: the input's range, clipped)",
    )


def write_result(out: str, result: np.ndarray, data: io.Data, rescale: bool = False) -> Path:
    """Write a result in the format of ``out``, with the input's rate, index or pixel range."""
    if np.iscomplexobj(result) and io.kind_of(out) != "array":
        raise UsageError(f"{out}: the result is complex; write it as .npy")
    return io.write_any(out, result, like=data, data_range=image_range(data, rescale))


def shape_text(shape: tuple[int, ...]) -> str:
    return "x".join(str(n) for n in shape)


# --------------------------------------------------------------------------- kernels


def _number(spec: str, text: str, kind: type, allowed: str):
    """One number of a named kernel (``box:5x3``, ``gaussian:2``), or a one-line error naming the kernel."""
    try:
        return kind(text)
    except ValueError:
        raise UsageError(f"kernel {spec!r}: {text!r} is not {allowed}") from None


def parse_kernel(spec: str, ndim: int) -> tuple[np.ndarray, str]:
    """A kernel from a file (.npy, .csv, image) or a name: box:5, box:5x3, gaussian:2, laplacian, sobel:1.

    Returns the kernel (float64, ``ndim`` dimensions) and a short description.
    """
    from .. import filters

    name, _, arg = spec.partition(":")
    try:
        if name == "box" and arg:
            sizes = tuple(_number(spec, s, int, "a whole number of samples") for s in arg.lower().split("x"))
            if len(sizes) > 1 and len(sizes) != ndim:
                raise UsageError(f"kernel {spec!r}: {len(sizes)} sizes for data with {ndim} signal axes")
            size = sizes[0] if len(sizes) == 1 else sizes
            return filters.box_kernel(size, ndim=ndim), f"box {arg}"
        if name == "gaussian" and arg:
            sigma = _number(spec, arg, float, "a number (sigma in samples)")
            return filters.gaussian_kernel(sigma, ndim=ndim), f"gaussian sigma {arg}"
        if name == "laplacian" and not arg:
            return filters.laplacian_kernel(ndim=ndim), "laplacian"
        if name == "sobel":
            axis = _number(spec, arg or "0", int, f"an axis in 0..{ndim - 1}")
            return filters.sobel_kernel(axis, ndim=ndim), f"sobel axis {axis}"
    except UsageError:
        raise
    except MemoryError:  # the memory guard refusing an absurd size: the computation's failure, exit status 1
        raise
    except ValueError as exc:
        raise UsageError(f"kernel {spec!r}: {exc}") from None
    if Path(spec).suffix.lower() not in tuple(s for suffixes in io.KINDS.values() for s in suffixes):
        raise UsageError(f"kernel must be a file (.npy, .csv or an image) or one of {KERNEL_SPECS}; got {spec!r}")
    if io.kind_of(spec) == "table":
        kernel = _csv_kernel(spec, ndim)
    else:
        kernel = as_float(np.asarray(io.read_any(spec, gray=True).array))
    if kernel.ndim != ndim:
        raise UsageError(
            f"{spec}: the kernel has {kernel.ndim} dimension(s) (shape {kernel.shape}), but the input needs {ndim}"
        )
    return kernel, f"{Path(spec).name} {shape_text(kernel.shape)}"


def _csv_kernel(spec: str, ndim: int) -> np.ndarray:
    """A kernel written as a grid of numbers, with or without a header row (no index column).

    A data CSV's first row is its header, but a kernel such as ``1,2,1`` usually has none:
    reading it as a table would drop its first row.  One column (or, for 1-D data, one row) is a 1-D kernel.
    """
    import pandas as pd

    path = Path(spec)
    if not path.exists():
        raise FileNotFoundError(f"{spec}: no such file")
    if not path.is_file():  # a folder or a pipe
        raise UsageError(f"{spec}: is not a regular file")
    try:
        grid = pd.read_csv(path, header=None, dtype=str, skip_blank_lines=True)
    except Exception as exc:  # pandas' parser errors have several classes
        raise UsageError(f"{spec}: cannot read it as a CSV kernel: {' '.join(str(exc).split())}") from None
    values = grid.apply(pd.to_numeric, errors="coerce")
    if len(values) > 1 and values.iloc[0].isna().all():  # a header row of names
        values, grid = values.iloc[1:], grid.iloc[1:]
    if values.isna().to_numpy().any() or values.empty:
        raise UsageError(f"{spec}: a CSV kernel must be a grid of numbers (an optional header row aside)")
    kernel = values.to_numpy(np.float64)
    return kernel.ravel() if kernel.shape[1] == 1 or (ndim == 1 and kernel.shape[0] == 1) else kernel
