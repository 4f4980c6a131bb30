"""convlens.io: round trips per format, atomic writes, clear errors."""

from __future__ import annotations

import os
import stat

import numpy as np
import pytest

from convlens import io
from convlens.data import load_image

pytest.importorskip("PIL")
pytest.importorskip("tifffile")


@pytest.fixture(scope="module")
def camera():
    return np.ascontiguousarray(load_image("camera")[100:228, 150:278])  # uint8 128x128, a real photo


@pytest.fixture(scope="module")
def astronaut():
    skdata = pytest.importorskip("skimage.data")
    return np.ascontiguousarray(skdata.astronaut()[:96, 200:328])  # uint8 RGB


def _listing(folder):
    return sorted(os.listdir(folder))


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize("suffix", [".png", ".tif", ".tiff"])
def test_lossless_image_round_trip_grey_and_colour(tmp_path, camera, astronaut, suffix):
    for name, image in (("grey", camera), ("colour", astronaut)):
        path = tmp_path / f"{name}{suffix}"
        assert io.write_image(path, image) == path
        back = io.read_image(path)
        assert back.dtype == np.uint8
        np.testing.assert_array_equal(back, image)


def test_png_keeps_16_bits_and_rgba(tmp_path, camera, astronaut):
    deep = camera.astype(np.uint16) * 257
    io.write_image(tmp_path / "deep.png", deep)
    np.testing.assert_array_equal(io.read_image(tmp_path / "deep.png"), deep)
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 200, np.uint8)])
    io.write_image(tmp_path / "rgba.png", rgba)
    np.testing.assert_array_equal(io.read_image(tmp_path / "rgba.png"), rgba)


def test_jpeg_round_trip_is_close(tmp_path, camera, astronaut):
    for name, image in (("grey", camera), ("colour", astronaut)):
        io.write_image(tmp_path / f"{name}.jpg", image)
        back = io.read_image(tmp_path / f"{name}.jpg")
        assert back.shape == image.shape and back.dtype == np.uint8
        assert np.abs(back.astype(float) - image).mean() < 3  # quality 95


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float_tiff_stays_float_and_exact(tmp_path, dtype):
    image = np.random.default_rng(0).normal(0, 100, (20, 30)).astype(dtype)
    io.write_image(tmp_path / "f.tif", image)
    back = io.read_image(tmp_path / "f.tif")
    assert back.dtype == dtype
    np.testing.assert_array_equal(back, image)


def test_gray_matches_skimage_rgb2gray(tmp_path, astronaut):
    color = pytest.importorskip("skimage.color")
    io.write_image(tmp_path / "a.png", astronaut)
    grey = io.read_image(tmp_path / "a.png", gray=True)
    np.testing.assert_allclose(grey, color.rgb2gray(astronaut), atol=1e-12)
    # grey images are returned unchanged
    io.write_image(tmp_path / "g.png", astronaut[..., 0])
    np.testing.assert_array_equal(io.read_image(tmp_path / "g.png", gray=True), astronaut[..., 0])


def test_palette_png_reads_as_rgb(tmp_path, astronaut):
    from PIL import Image

    Image.fromarray(astronaut).convert("P").save(tmp_path / "p.png")
    back = io.read_image(tmp_path / "p.png")
    assert back.shape == astronaut.shape and back.dtype == np.uint8


def test_float_images_are_scaled_by_the_documented_rules(tmp_path):
    def written(image, **kw):
        io.write_image(tmp_path / "x.png", np.asarray(image, dtype=float), **kw)
        return io.read_image(tmp_path / "x.png").ravel().tolist()

    assert written([[0.0, 0.5, 1.0]]) == [0, 128, 255]  # [0, 1] -> 0..255
    assert written([[0.0, 100.4, 255.0]]) == [0, 100, 255]  # [0, 255] kept
    assert written([[-1.0, 0.0, 1.0]]) == [0, 128, 255]  # other ranges: min..max
    assert written([[0.0, 0.5, 1.0]], data_range="minmax") == [0, 128, 255]
    assert written([[0.25, 0.375, 0.5]], data_range="minmax") == [0, 128, 255]
    assert written([[-10.0, 100.0, 300.0]], data_range=(0, 255)) == [0, 100, 255]  # clipped
    assert written([[np.nan, 0.5, 1.0]]) == [0, 128, 255]  # NaN -> 0
    with pytest.raises(ValueError, match="data_range"):
        written([[0.0, 1.0]], data_range=(1, 1))


def test_write_image_refuses_wrong_shapes_and_complex(tmp_path):
    with pytest.raises(ValueError, match="shape"):
        io.write_image(tmp_path / "x.png", np.zeros((2, 3, 4, 5)))
    with pytest.raises(ValueError, match="shape"):
        io.write_image(tmp_path / "x.png", np.zeros((4, 4, 2)))
    with pytest.raises(ValueError, match="real"):
        io.write_image(tmp_path / "x.png", np.zeros((4, 4), complex))
    assert _listing(tmp_path) == []


# --------------------------------------------------------------------------- audio


@pytest.fixture(scope="module")
def tone():
    t = np.arange(4000) / 8000
    return 0.5 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1234 * t)


def test_wav_float_round_trip(tmp_path, tone):
    io.write_audio(tmp_path / "t.wav", tone, 8000)
    back, rate = io.read_audio(tmp_path / "t.wav")
    assert rate == 8000 and back.dtype == np.float64
    np.testing.assert_array_equal(back, tone.astype(np.float32))


def test_wav_int16_round_trip(tmp_path, tone):
    pcm = np.round(tone * 32767).astype(np.int16)
    io.write_audio(tmp_path / "t.wav", pcm, 8000)
    back, _ = io.read_audio(tmp_path / "t.wav")
    np.testing.assert_array_equal(np.round(back * 32768).astype(np.int16), pcm)


def test_flac_and_ogg_round_trips(tmp_path, tone):
    io.write_audio(tmp_path / "t.flac", tone, 8000)
    back, rate = io.read_audio(tmp_path / "t.flac")
    assert rate == 8000
    np.testing.assert_allclose(back, tone, atol=2**-22)  # 24-bit PCM
    try:
        io.write_audio(tmp_path / "t.ogg", tone, 8000)
    except (RuntimeError, OSError) as exc:  # pragma: no cover - libsndfile built without Vorbis
        pytest.skip(f"no Vorbis in this libsndfile: {exc}")
    back, rate = io.read_audio(tmp_path / "t.ogg")
    assert rate == 8000 and abs(back.size - tone.size) < 1100
    n = min(back.size, tone.size)
    assert np.corrcoef(back[:n], tone[:n])[0, 1] > 0.95  # lossy, but the same sound


def test_stereo_and_mono(tmp_path, tone):
    stereo = np.column_stack([tone, -tone / 2])
    io.write_audio(tmp_path / "s.wav", stereo, 8000)
    back, _ = io.read_audio(tmp_path / "s.wav")
    assert back.shape == stereo.shape
    mono, _ = io.read_audio(tmp_path / "s.wav", mono=True)
    np.testing.assert_allclose(mono, stereo.astype(np.float32).mean(axis=1), atol=1e-7)


def test_shipped_recording_reads(tmp_path):
    data = pytest.importorskip("convlens.data")
    if not hasattr(data, "audio_path"):
        pytest.skip("no shipped recording yet")
    samples, rate = io.read_audio(data.audio_path("music"))
    ref, ref_rate = data.load_audio("music")
    assert rate == ref_rate
    np.testing.assert_allclose(samples if samples.ndim == 1 else samples[:, 0], ref, atol=1e-9)


def test_write_audio_checks(tmp_path, tone):
    with pytest.raises(ValueError, match="rate"):
        io.write_audio(tmp_path / "t.wav", tone, 0)
    with pytest.raises(ValueError, match="shape"):
        io.write_audio(tmp_path / "t.wav", np.zeros((2, 2, 2)), 8000)
    assert _listing(tmp_path) == []


# --------------------------------------------------------------------------- CSV and npy


@pytest.fixture(scope="module")
def sunspots_csv(tmp_path_factory):
    sunspots = pytest.importorskip("statsmodels.datasets.sunspots")  # not statsmodels.api: seconds faster
    path = tmp_path_factory.mktemp("csv") / "sunspots.csv"
    frame = sunspots.load_pandas().data
    frame.to_csv(path, index=False)
    return path, frame


def test_read_series_takes_the_first_column_as_index(sunspots_csv):
    path, frame = sunspots_csv
    s = io.read_series(path)
    assert s.name == "SUNACTIVITY" and s.index_name == "YEAR"
    np.testing.assert_array_equal(s.values, frame["SUNACTIVITY"].to_numpy())
    np.testing.assert_array_equal(s.index, frame["YEAR"].to_numpy())
    named = io.read_series(path, "SUNACTIVITY")
    np.testing.assert_array_equal(named.values, s.values)


def test_read_series_errors(tmp_path, sunspots_csv):
    path, _ = sunspots_csv
    with pytest.raises(ValueError, match=r"no column 'spots'; the columns are YEAR, SUNACTIVITY"):
        io.read_series(path, "spots")
    (tmp_path / "two.csv").write_text("t,a,b\n1,2,3\n2,3,4\n")
    with pytest.raises(ValueError, match=r"several numeric columns \(a, b\)"):
        io.read_series(tmp_path / "two.csv")
    assert io.read_series(tmp_path / "two.csv", "b").values.tolist() == [3.0, 4.0]
    (tmp_path / "gap.csv").write_text("t,a\n1,2\n2,\n3,4\n")
    with pytest.raises(ValueError, match="1 missing values"):
        io.read_series(tmp_path / "gap.csv")
    (tmp_path / "text.csv").write_text("t,a\n1,x\n2,y\n")
    with pytest.raises(ValueError, match="no numeric column"):
        io.read_series(tmp_path / "text.csv")


def test_series_and_table_round_trip(tmp_path):
    values = np.array([1.5, -2.0, 3.25])
    io.write_series(tmp_path / "s.csv", values, index=[1990, 1991, 1992], name="flow", index_name="year")
    s = io.read_series(tmp_path / "s.csv")
    assert s.name == "flow" and s.index_name == "year" and s.index.tolist() == [1990, 1991, 1992]
    np.testing.assert_array_equal(s.values, values)
    io.write_series(tmp_path / "plain.csv", values)
    plain = io.read_series(tmp_path / "plain.csv")
    assert plain.index.tolist() == [0, 1, 2] and plain.name == "value"
    table = io.read_table(tmp_path / "s.csv")
    assert table.columns == ("flow",) and table.index_name == "year" and table.array.shape == (3, 1)


def test_npy_round_trip_any_shape_and_dtype(tmp_path):
    rng = np.random.default_rng(1)
    for array in (rng.normal(size=(3, 4, 5)).astype(np.float32), rng.normal(size=7) + 1j, np.arange(6).reshape(2, 3)):
        io.write_array(tmp_path / "a.npy", array)
        back = io.read_array(tmp_path / "a.npy")
        assert back.dtype == array.dtype
        np.testing.assert_array_equal(back, array)


def test_array_as_csv(tmp_path):
    array = np.random.default_rng(2).normal(size=(10, 3))
    io.write_array(tmp_path / "a.csv", array)
    np.testing.assert_allclose(io.read_array(tmp_path / "a.csv"), array, rtol=1e-15)
    with pytest.raises(ValueError, match="1-D or 2-D"):
        io.write_array(tmp_path / "b.csv", np.zeros((2, 2, 2)))


def test_read_any_and_write_any_dispatch_by_suffix(tmp_path, camera, tone):
    io.write_any(tmp_path / "c.png", camera)
    io.write_audio(tmp_path / "t.wav", tone, 8000)
    io.write_any(tmp_path / "c.npy", camera)
    kinds = {p: io.read_any(tmp_path / p) for p in ("c.png", "t.wav", "c.npy")}
    assert kinds["c.png"].kind == "image" and kinds["t.wav"].rate == 8000 and kinds["c.npy"].kind == "array"
    io.write_any(tmp_path / "t2.wav", kinds["t.wav"].array, like=kinds["t.wav"])
    assert io.read_audio(tmp_path / "t2.wav")[1] == 8000
    with pytest.raises(ValueError, match="needs a sample rate"):
        io.write_any(tmp_path / "x.wav", tone)
    assert io.kind_of("A.TIFF") == "image"


# --------------------------------------------------------------------------- atomic writes


def test_no_temporary_file_is_left_and_permissions_follow_umask(tmp_path, camera):
    io.write_image(tmp_path / "c.png", camera)
    io.write_array(tmp_path / "c.npy", camera)
    io.write_series(tmp_path / "c.csv", camera[0])
    assert _listing(tmp_path) == ["c.csv", "c.npy", "c.png"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(os.stat(tmp_path / "c.png").st_mode) == 0o666 & ~mask


def test_a_failed_write_leaves_the_existing_file_intact(tmp_path, camera, monkeypatch):
    target = tmp_path / "c.npy"
    io.write_array(target, camera)
    before = target.read_bytes()

    def broken_save(file, arr, allow_pickle=False):
        with open(file, "wb") as f:
            f.write(b"\x93NUMPY half")  # a half-written file ...
        raise OSError("disk full")  # ... and then the failure

    monkeypatch.setattr(np, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        io.write_array(target, camera * 2)
    assert target.read_bytes() == before
    assert _listing(tmp_path) == ["c.npy"]


def test_atomic_path_renames_only_on_success(tmp_path):
    target = tmp_path / "a.txt"
    target.write_text("old")
    with pytest.raises(RuntimeError), io.atomic_path(target) as tmp:
        tmp.write_text("new but incomplete")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old" and _listing(tmp_path) == ["a.txt"]
    with io.atomic_path(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and _listing(tmp_path) == ["a.txt"]


# --------------------------------------------------------------------------- errors


def test_missing_file_names_the_path(tmp_path):
    for reader in (io.read_image, io.read_audio, io.read_series, io.read_array, io.read_any):
        suffix = {io.read_image: ".png", io.read_audio: ".wav", io.read_series: ".csv"}.get(reader, ".npy")
        path = tmp_path / f"missing{suffix}"
        with pytest.raises(FileNotFoundError, match=f"missing{suffix}: no such file"):
            reader(path)


@pytest.mark.parametrize(
    ("name", "reader", "allowed"),
    [
        ("bad.png", io.read_image, ".png, .jpg, .jpeg, .tif, .tiff"),
        ("bad.tif", io.read_image, ".png, .jpg, .jpeg, .tif, .tiff"),
        ("bad.wav", io.read_audio, ".wav, .flac, .ogg"),
        ("bad.npy", io.read_array, ".npy"),
    ],
)
def test_unreadable_file_names_the_path_and_formats(tmp_path, name, reader, allowed):
    (tmp_path / name).write_bytes(b"this is not what the suffix says\x00\x01")
    with pytest.raises(ValueError, match="cannot read it as") as exc:
        reader(tmp_path / name)
    assert name in str(exc.value) and allowed in str(exc.value)


def test_unknown_suffix_and_folders(tmp_path):
    (tmp_path / "x.bmp").write_bytes(b"BM")
    with pytest.raises(ValueError, match=r"x.bmp: unsupported format '.bmp'; allowed: .png"):
        io.read_image(tmp_path / "x.bmp")
    with pytest.raises(ValueError, match=r"unknown file type '.bmp'; allowed: .png, .jpg"):
        io.read_any(tmp_path / "x.bmp")
    (tmp_path / "d.png").mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder"):
        io.read_image(tmp_path / "d.png")
    with pytest.raises(ValueError, match="unsupported output format"):
        io.write_array(tmp_path / "x.txt", np.zeros(3))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        io.write_array(tmp_path / "no" / "x.npy", np.zeros(3))


def test_folders_and_pipes_are_refused_before_reading_or_computing(tmp_path):
    (tmp_path / "d.png").mkdir()
    (tmp_path / "plain").mkdir()
    for folder in ("d.png", "plain"):  # read_any said "unknown file type '(no suffix)'" for a folder
        with pytest.raises(IsADirectoryError, match=f"{folder}: is a folder, not a file"):
            io.read_any(tmp_path / folder)
    # an output named like a folder that exists: refused up front, not after the work at os.replace
    with pytest.raises(IsADirectoryError, match=r"d.png: is a folder; give the output a file name, e.g. .*result.png"):
        io.check_output(tmp_path / "d.png")
    with pytest.raises(IsADirectoryError, match="is a folder"):
        io.write_image(tmp_path / "d.png", np.zeros((4, 4), np.uint8))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.png", "plain"] and not list((tmp_path / "d.png").iterdir())
    if not hasattr(os, "mkfifo"):
        return
    os.mkfifo(tmp_path / "pipe.wav")  # reading it would wait for a writer forever
    with pytest.raises(ValueError, match=r"pipe\.wav: is not a regular file"):
        io.read_any(tmp_path / "pipe.wav")
    with pytest.raises(ValueError, match=r"pipe\.wav: is not a regular file"):
        io.read_audio(tmp_path / "pipe.wav")


def test_check_output_refuses_an_input_however_it_is_spelled(tmp_path, camera, monkeypatch):
    io.write_image(tmp_path / "c.png", camera)
    os.symlink(tmp_path / "c.png", tmp_path / "link.png")
    monkeypatch.chdir(tmp_path)
    for spelling in ("c.png", "./c.png", str(tmp_path / "c.png"), "link.png", "../" + tmp_path.name + "/c.png"):
        with pytest.raises(ValueError, match="would overwrite an input"):
            io.check_output(spelling, ["c.png"])
    assert io.check_output("d.png", ["c.png"]).name == "d.png"


def test_read_table_finds_the_index_column(tmp_path, sunspots_csv):
    path, frame = sunspots_csv
    table = io.read_table(path)  # YEAR is a label, not a measurement
    assert table.index_name == "YEAR" and table.columns == ("SUNACTIVITY",) and table.array.shape == (309, 1)
    (tmp_path / "features.csv").write_text("0,1,2\n1,2,3\n4,5,7\n")  # DataFrame.to_csv(index=False) of features
    features = io.read_table(tmp_path / "features.csv")
    assert features.index is None and features.array.shape == (2, 3)
    (tmp_path / "pandas.csv").write_text(",a,b\n10,1,2\n11,3,4\n")  # DataFrame.to_csv() with its index
    written = io.read_table(tmp_path / "pandas.csv")
    assert written.index.tolist() == [10, 11] and written.index_name is None and written.columns == ("a", "b")
    (tmp_path / "dates.csv").write_text("when,a\n2020-01-01,1\n2020-01-02,2\n")
    assert io.read_table(tmp_path / "dates.csv").index.tolist() == ["2020-01-01", "2020-01-02"]
    assert io.read_table(path, index=False).array.shape == (309, 2)
    np.testing.assert_array_equal(io.read_table(path).array[:, 0], frame["SUNACTIVITY"])


def test_a_csv_without_header_keeps_its_first_row(tmp_path):
    """np.savetxt writes no header: its first row of numbers was taken for column names and lost."""
    rng = np.random.default_rng(5)
    grid = rng.normal(size=(6, 3))
    np.savetxt(tmp_path / "grid.csv", grid, delimiter=",")
    table = io.read_table(tmp_path / "grid.csv")
    np.testing.assert_array_equal(table.array, np.loadtxt(tmp_path / "grid.csv", delimiter=","))
    assert table.array.shape == (6, 3) and table.columns == ("x0", "x1", "x2")
    np.savetxt(tmp_path / "one.csv", grid[:, 0])
    series = io.read_series(tmp_path / "one.csv")
    np.testing.assert_array_equal(series.values, grid[:, 0])
    # the rule: a first row of numbers only is data (even "2019,2020"); any word in it makes it a header
    (tmp_path / "years.csv").write_text("2019,2020\n1,2\n3,4\n")
    assert io.read_table(tmp_path / "years.csv", index=False).array.shape == (3, 2)
    # pandas' default names of DataFrame(array).to_csv(index=False) are a header
    (tmp_path / "pandas.csv").write_text("0,1\n5,6\n7,8\n")
    assert io.read_table(tmp_path / "pandas.csv").array.tolist() == [[5, 6], [7, 8]]
    (tmp_path / "words.csv").write_text("a1,b2\n1,2\n3,4\n")
    assert io.read_table(tmp_path / "words.csv", index=False).array.shape == (2, 2)


def test_a_decompression_bomb_is_a_bad_input_not_a_crash(tmp_path):
    """Pillow refuses images over ~179 million pixels with its own error class, which the CLI took for a crash."""
    from PIL import Image

    Image.new("L", (20_000, 10_000)).save(tmp_path / "huge.png")  # 200 million pixels, a few hundred kB
    with pytest.raises(ValueError, match=r"huge\.png: cannot read it as image .*200000000 pixels\) exceeds limit"):
        io.read_image(tmp_path / "huge.png")
