"""The essay as one offline HTML page of figures drawn from real data (presentation layer).

:func:`build` computes the scenes of :mod:`convlens.scenes`, draws them with
:mod:`convlens.plot` (PNG files beside the page), saves each figure's numbers
as CSV or NPY beside it, and renders ``index.html`` with Jinja2.  The page
needs no network and no server; sliders are plain range inputs switching
between pre-rendered frames with a few lines of inline script, and with
scripts off the first frame of each shows, with links to every frame.
"""

from __future__ import annotations

import csv
import importlib.util
import time
from pathlib import Path

import numpy as np

__all__ = ["build"]

DPI = 80


def _write_numbers(folder: Path, key: str, numbers: dict) -> list[str]:
    """Save a figure's numbers: a dict of columns becomes CSV, an array NPY. Returns relative paths."""
    written = []
    for name, value in numbers.items():
        path = folder / name
        if isinstance(value, np.ndarray):
            np.save(path, value)
        else:
            columns = {k: np.asarray(v).ravel() for k, v in value.items()}
            rows = max(len(c) for c in columns.values())
            with path.open("w", newline="") as fh:
                out = csv.writer(fh)
                out.writerow(columns)
                for r in range(rows):
                    out.writerow([_cell(c[r]) if r < len(c) else "" for c in columns.values()])
        written.append(f"data/{name}")
    return written


def _cell(v):
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    return v.item() if isinstance(v, np.generic) else v


def _render_figure(spec, out: Path, plot) -> dict:
    """Compute one figure's scene, draw its frame(s), save its numbers; the template's view of it."""
    s = spec.scene()
    if spec.frames is None:
        images = [(None, f"img/{spec.key}.png")]
        plot.save(spec.draw(s), out / images[0][1], dpi=DPI)
    else:
        images = []
        for label, index in spec.frames(s):
            rel = f"img/{spec.key}_{len(images)}.png"
            plot.save(spec.draw(s, index), out / rel, dpi=DPI)
            images.append((label, rel))
    return {
        "key": spec.key,
        "images": images,
        "caption": spec.caption(s),
        "code": spec.code,
        "source": s.source,
        "numbers": _write_numbers(out / "data", spec.key, spec.numbers(s)),
        "slider_label": spec.slider_label,
    }


def _progress(enabled: bool, total: int):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, disable=not enabled, transient=False)


def build(out_dir="report", *, open_browser: bool = False, progress: bool = True) -> Path:
    """Render the essay's figures from real data into ``out_dir`` and return the path of ``index.html``.

    Parameters
    ----------
    out_dir : str or path-like, optional
        Folder for ``index.html``, ``img/`` (PNG figures) and ``data/`` (their
        numbers, CSV and NPY); created if missing. A report already there is
        updated (files of the same names replaced); a folder holding some other
        ``index.html`` is refused (``FileExistsError``), before any work.
    open_browser : bool, optional
        Open the page in the default web browser when done.
    progress : bool, optional
        Show a progress bar (rich) while rendering.

    Returns
    -------
    pathlib.Path
        The written ``index.html``.

    Examples
    --------
    >>> import convlens.report as report
    >>> callable(report.build)
    True
    """
    import os

    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(f"out_dir must be a folder path (str or path-like); got {out_dir!r}")
    for name, flag in (("open_browser", open_browser), ("progress", progress)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False; got {flag!r}")
    from .. import __version__, plot
    from .sections import SECTIONS

    out = _prepare(out_dir)
    has_torch = importlib.util.find_spec("torch") is not None
    t0 = time.perf_counter()
    sections = []
    total = sum(len(sec.figures) for sec in SECTIONS)
    with _progress(progress, total) as bar:
        task = bar.add_task("convlens report", total=total)
        for sec in SECTIONS:
            figures, notes = [], []
            for spec in sec.figures:
                bar.update(task, description=spec.key)
                if spec.key == "layers" and not has_torch:
                    notes.append("PyTorch is not installed here, so this comparison was skipped (pip install torch).")
                else:
                    figures.append(_render_figure(spec, out, plot))
                bar.advance(task)
            sections.append({"title": sec.title, "intro": sec.intro, "figures": figures, "notes": notes})
    index = out / "index.html"
    html = _template().render(sections=sections, version=__version__, seconds=time.perf_counter() - t0)
    tmp = index.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(index)  # never a half-written page
    if open_browser:
        _open(index)
    return index


def _open(index: Path) -> bool:
    """Open the page in a web browser; warn (with the address to open) where there is none, e.g. on a server."""
    import warnings
    import webbrowser

    uri = index.resolve().as_uri()
    try:
        opened = webbrowser.open(uri)
    except webbrowser.Error:
        opened = False
    if not opened:
        warnings.warn(f"no web browser could be started here; open {uri} yourself", RuntimeWarning, stacklevel=3)
    return opened


def _prepare(out_dir) -> Path:
    """Create ``out_dir``, ``img/`` and ``data/`` before any work, or say in one line why it cannot be done."""
    import os

    if not os.fspath(out_dir):
        raise ValueError("out_dir must name a folder; got an empty path")
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"{out}: exists and is not a folder; choose another --out")
    _check_not_foreign(out)
    try:
        for sub in ("img", "data"):
            (out / sub).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"{out}: cannot create the report folder: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK) or not all(os.access(out / s, os.W_OK) for s in ("img", "data")):
        raise PermissionError(f"{out}: the report folder is not writable")
    return out


# what an index.html written by build() starts with (the title alone for pages from before the generator tag)
_OURS = ('<meta name="generator" content="convlens report">', "<title>convlens: convolution, seen</title>")


def _check_not_foreign(out: Path) -> None:
    """Refuse a folder whose index.html is someone else's page: build() would replace it."""
    index = out / "index.html"
    if index.is_dir() or (index.exists() and not index.is_file()):
        raise IsADirectoryError(f"{index}: is not a file; choose another --out")
    if index.is_file():
        with index.open(encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
        if not any(mark in head for mark in _OURS):
            raise FileExistsError(f"{index}: exists and was not written by convlens report; choose another --out")


def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("convlens.report", "templates"),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )
    return env.get_template("index.html.j2")
