"""Images: PNG and JPEG through Pillow, TIFF through tifffile."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ._paths import (
    _LUMA,
    _existing,
    _unreadable,
    _write_atomic,
)

# --------------------------------------------------------------------------- images


def read_image(path: str | os.PathLike, *, gray: bool = False) -> np.ndarray:
    """Read a PNG, JPEG or TIFF image.

    Parameters
    ----------
    path : path-like
        The file.  PNG and JPEG are read with Pillow, TIFF with tifffile
        (float TIFFs stay float).
    gray : bool, optional
        Convert a colour image to luminance (ITU-R 709 weights, as
        ``skimage.color.rgb2gray``): float64 in [0, 1] for 8- and 16-bit files.
        Alpha is dropped.  Grey images are returned unchanged.

    Returns
    -------
    ndarray
        (H, W) for grey, (H, W, 3) or (H, W, 4) for colour; the file's dtype
        (uint8, uint16, float32 ...).  Palette images become RGB(A).  Pillow
        reads a 16-bit colour PNG as 8 bits per channel; keep 16-bit colour in
        TIFF.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Not an image of a supported format, or unreadable.
    """
    p = _existing(path, ["image"])
    try:
        image = _read_tiff(p) if p.suffix.lower() in (".tif", ".tiff") else _read_pillow(p)
    except (OSError, ValueError, SyntaxError, KeyError, IndexError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise _unreadable(p, ["image"], exc) from None
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (1, 2, 3, 4)):
        raise ValueError(f"{p}: expected a grey or colour image, got an array of shape {image.shape}")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    return to_gray(image) if gray else image


def _read_pillow(p: Path) -> np.ndarray:
    from PIL import Image

    try:
        im = Image.open(p)
    except Image.DecompressionBombError as exc:  # Pillow's guard against huge images: a bad input, not a crash
        raise ValueError(" ".join(str(exc).split()).split(", could be")[0] + " (Pillow's limit)") from None
    with im:
        im.load()
        if im.mode == "P":
            im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        elif im.mode == "1":
            im = im.convert("L")
        elif im.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
            im = im.convert("RGB")
        return np.asarray(im)


def _read_tiff(p: Path) -> np.ndarray:
    import tifffile

    return np.asarray(tifffile.imread(p))


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luminance of a colour image (float64 in [0, 1] for integer images); grey images unchanged.

    Examples
    --------
    >>> import numpy as np
    >>> from convlens.io import to_gray
    >>> to_gray(np.full((1, 1, 3), 255, np.uint8)).round(6).tolist()
    [[1.0]]
    """
    image = np.asarray(image)
    if image.ndim != 3:
        return image
    rgb = image[..., :3] if image.shape[-1] >= 3 else image[..., :1]
    scale = float(np.iinfo(image.dtype).max) if image.dtype.kind in "ui" else 1.0
    if rgb.shape[-1] == 1:
        return rgb[..., 0].astype(np.float64) / scale
    return (rgb.astype(np.float64) @ _LUMA) / scale


def write_image(path: str | os.PathLike, image, *, data_range: tuple[float, float] | str | None = None) -> Path:
    """Write an image atomically as PNG, JPEG or TIFF.

    How values are stored:

    * uint8 and bool images are written as they are (bool as 0/255).
    * TIFF stores every other dtype as it is, unscaled (uint16, float32,
      float64 ...).
    * PNG stores grey uint16 images in 16 bits; colour uint16 in PNG (Pillow
      writes 8-bit colour) and any uint16 in JPEG become 8 bits (divided by 257).
    * Other arrays going to PNG or JPEG are mapped linearly from ``data_range``
      ``(lo, hi)`` to 0..255, clipped to it, and rounded; NaN becomes 0.  The
      default range is (0, 1) when every finite value lies in [0, 1], (0, 255)
      when they lie in [0, 255], and otherwise their minimum and maximum
      (``data_range='minmax'`` asks for that stretch whatever the values).

    Parameters
    ----------
    path : path-like
        Destination; the suffix chooses the format.
    image : array_like
        (H, W) grey, (H, W, 3) RGB or (H, W, 4) RGBA.
    data_range : (float, float) or 'minmax', optional
        Values shown as black and white in PNG/JPEG (see above).

    Returns
    -------
    Path
        The path written.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from convlens.io import read_image, write_image
    >>> path = os.path.join(tempfile.mkdtemp(), "ramp.png")
    >>> _ = write_image(path, np.linspace(0, 1, 6).reshape(2, 3))
    >>> read_image(path).tolist()
    [[0, 51, 102], [153, 204, 255]]
    """
    image = np.asarray(image)
    if image.ndim not in (2, 3) or (image.ndim == 3 and image.shape[-1] not in (3, 4)) or image.size == 0:
        raise ValueError(f"{os.fspath(path)}: an image must be (H, W), (H, W, 3) or (H, W, 4); got shape {image.shape}")
    suffix = Path(path).suffix.lower()
    if suffix in (".tif", ".tiff"):
        import tifffile

        data = image.astype(np.uint8) * 255 if image.dtype == bool else image
        return _write_atomic(path, ["image"], lambda tmp: tifffile.imwrite(tmp, data))
    data = _to_8bit(image, data_range, suffix)

    def write(tmp: Path) -> None:
        from PIL import Image

        kwargs = {"quality": 95} if suffix in (".jpg", ".jpeg") else {}
        Image.fromarray(data).save(tmp, **kwargs)

    if suffix in (".jpg", ".jpeg") and data.ndim == 3 and data.shape[-1] == 4:
        data = data[..., :3]  # JPEG has no alpha channel
    return _write_atomic(path, ["image"], write)


def _to_8bit(image: np.ndarray, data_range, suffix: str) -> np.ndarray:
    """uint8 (or uint16 for PNG) pixels for Pillow, by the rules of :func:`write_image`."""
    if image.dtype == np.uint8 and data_range is None:
        return image
    if image.dtype == bool:
        return image.astype(np.uint8) * 255
    if image.dtype == np.uint16 and data_range is None:
        if suffix == ".png" and image.ndim == 2:
            return image
        return (image // 257).astype(np.uint8)
    if np.iscomplexobj(image):
        raise ValueError("an image must be real; take np.abs() or .real first")
    x = image.astype(np.float64)
    lo, hi = _range(x, data_range)
    scaled = (x - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(x)
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).round().astype(np.uint8)


def _range(x: np.ndarray, data_range) -> tuple[float, float]:
    if data_range is not None and not isinstance(data_range, str):
        lo, hi = (float(v) for v in data_range)
        if not hi > lo:
            raise ValueError(f"data_range must be (lo, hi) with lo < hi; got {data_range!r}")
        return lo, hi
    if data_range not in (None, "minmax"):
        raise ValueError(f"data_range must be (lo, hi), 'minmax' or None; got {data_range!r}")
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    if data_range is None and lo >= 0 and hi <= 1:
        return 0.0, 1.0
    if data_range is None and lo >= 0 and hi <= 255:
        return 0.0, 255.0
    return lo, hi
