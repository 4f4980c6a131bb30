"""Shipped recordings and the data helpers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile

from convlens import data

DEBIAN = {
    "music": (Path("/usr/share/asterisk/moh/manolo_camp-morning_coffee.wav"), 20.0),
    "speech": (Path("/usr/share/asterisk/sounds/en_US_f_Allison/demo-congrats.wav"), 0.0),
}


@pytest.mark.parametrize("name", ["music", "speech"])
def test_shipped_audio_matches_soundfile(name):
    samples, rate = data.load_audio(name)
    ref, ref_rate = soundfile.read(data.audio_path(name), dtype="float64")
    assert rate == ref_rate == 8000
    assert samples.dtype == np.float64 and samples.ndim == 1
    np.testing.assert_array_equal(samples, ref)
    assert np.abs(samples).max() <= 1.0 and samples.std() > 0.01  # a real signal, not silence


@pytest.mark.parametrize("name", ["music", "speech"])
def test_shipped_audio_is_cut_unchanged_from_debian(name):
    path, start = DEBIAN[name]
    if not path.is_file():
        pytest.skip(f"{path} not installed (Debian asterisk sound packages)")
    ours, rate = data.load_audio(name)
    full = soundfile.read(path, dtype="float64")[0]
    i = int(start * rate)
    np.testing.assert_array_equal(ours, full[i : i + ours.size])


def test_shipped_audio_small_and_licensed():
    folder = data.audio_path("music").parent
    total = sum(p.stat().st_size for p in folder.iterdir())
    assert total <= 1 << 20
    moh = (folder / "COPYRIGHT-asterisk-moh-opsound.txt").read_text()
    assert "Manolo Camp" in moh and "Attribution-ShareAlike" in moh
    assert "CC-BY-SA-3.0" in (folder / "COPYRIGHT-asterisk-core-sounds-en.txt").read_text()
    for name in ("music", "speech"):
        source, licence = data.audio_source(name)
        assert licence == "CC-BY-SA-3.0" and "Debian" in source


def test_load_audio_wav_path_still_works(tmp_path):
    x = (np.sin(np.arange(800) / 5) * 30000).astype(np.int16)
    path = tmp_path / "tone.wav"
    soundfile.write(path, x, 8000, subtype="PCM_16")
    y, rate = data.load_audio(path)
    assert rate == 8000
    np.testing.assert_allclose(y, x / 32767.0)
    y2, _ = data.load_audio(str(path))
    np.testing.assert_array_equal(y, y2)


def test_load_audio_flac_path(tmp_path):
    path = tmp_path / "clip.flac"
    soundfile.write(path, np.zeros((100, 2)), 8000)
    y, rate = data.load_audio(path)
    assert y.shape == (100,) and rate == 8000


def test_audio_errors(tmp_path):
    with pytest.raises(ValueError, match="'music'"):
        data.audio_path("jazz")
    with pytest.raises(TypeError, match="name"):
        data.audio_path(3)
    with pytest.raises(TypeError, match="name"):
        data.load_audio(3.5)
    with pytest.raises(FileNotFoundError, match="not a file"):
        data.load_audio(tmp_path / "missing.wav")


def test_find_audio_kinds():
    for kind in ("music", "speech"):
        assert all(p.suffix == ".wav" for p in data.find_audio(kind))
    with pytest.raises(ValueError, match="kind"):
        data.find_audio("noise")


def test_load_image_reads_a_path_as_well_as_a_bundled_name(tmp_path):
    """Issue: load_image took only bundled names; a user's own photo is a path (str or Path)."""
    skdata = pytest.importorskip("skimage.data")
    from skimage.color import rgb2gray

    from convlens import io

    coffee = skdata.coffee()  # colour, never saved by the other tests
    io.write_image(tmp_path / "mine.png", coffee)
    io.write_image(tmp_path / "moon.tif", skdata.moon())
    np.testing.assert_array_equal(data.load_image(tmp_path / "mine.png", gray=False), coffee)
    np.testing.assert_allclose(data.load_image(str(tmp_path / "mine.png")), rgb2gray(coffee), atol=1e-15)
    moon = data.load_image(tmp_path / "moon.tif")  # grey stays as stored, like the bundled moon()
    assert moon.dtype == np.uint8 and np.array_equal(moon, data.load_image("moon"))
    with pytest.raises(FileNotFoundError, match=r"nope\.png: no such file"):
        data.load_image(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="or the path of an image file; got 'kamera'"):
        data.load_image("kamera")
    with pytest.raises(TypeError, match="name must be"):
        data.load_image(3)
