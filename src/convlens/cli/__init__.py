"""The ``convlens`` command (presentation layer): one subcommand per lens, for files.

``convlens <command> --help`` shows each one with a worked example.  Exit
status: 0 on success, 1 when a computation fails, 2 for bad usage or input (a
missing, unreadable or wrongly shaped file, a bad option value, an output that
would overwrite an input); errors are one line on stderr, never a traceback
(set ``CONVLENS_DEBUG=1`` to see one).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

from ._common import Parser, UsageError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The ``convlens`` parser with every subcommand."""
    from .. import __version__
    from . import _demo, _images, _signals

    parser = Parser(
        prog="convlens",
        description="Convolution made fast, correct and visible: one subcommand per lens, for files "
        "(images PNG/JPEG/TIFF, audio WAV/FLAC/OGG, CSV, .npy).",
        epilog="'convlens <command> --help' shows each command with a worked example.",
    )
    parser.add_argument("--version", action="version", version=f"convlens {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="<command>")
    _images.register(sub)
    _signals.register(sub)
    _demo.register(sub)
    return parser


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``convlens`` command; returns the exit status.

    Parameters
    ----------
    argv : list of str, optional
        The arguments after ``convlens`` (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success, 1 when the computation failed, 2 for bad usage or input
        (argparse's own usage errors exit with 2 through ``SystemExit``).

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from convlens import io
    >>> from convlens.cli import main
    >>> path = os.path.join(tempfile.mkdtemp(), "stripes.png")
    >>> rows = np.arange(64)[:, None] * np.ones((1, 64))
    >>> _ = io.write_image(path, np.sin(rows / 2) > 0)          # horizontal stripes
    >>> main(["orientation", path])  # doctest: +ELLIPSIS
    /.../stripes.png: stripes at 0.0 degrees, confidence 0.98
    0
    """
    args = build_parser().parse_args(argv)
    prog = f"convlens {args.command}"
    debug = bool(os.environ.get("CONVLENS_DEBUG"))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            args.func(args)
        shown = [w for w in caught if not issubclass(w.category, (DeprecationWarning, FutureWarning))]
        for message in dict.fromkeys(_one_line(w.message) for w in shown):
            print(f"{prog}: warning: {message}", file=sys.stderr)
    except BrokenPipeError:  # e.g. `convlens demo | head`: the reader left, nothing is wrong
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except MemoryError as exc:  # includes convlens.InsufficientMemoryError (also a ValueError): the input is fine
        if debug:
            raise
        # a bare MemoryError (raised deep inside a library) has no message of its own
        reason = " ".join(str(exc).split()) or "not enough memory for this computation (MemoryError)"
        print(f"{prog}: error: {reason}", file=sys.stderr)
        return EXIT_FAILED
    except (UsageError, ValueError, TypeError, OSError) as exc:
        # a missing/unreadable/wrongly shaped file or a bad option value, as the lenses report them
        if debug:
            raise
        print(f"{prog}: error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if debug:
            raise
        print(f"{prog}: error: the computation failed: {type(exc).__name__}: {_one_line(exc)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "UsageError", "build_parser", "main"]
