"""The ``convlens`` command, end to end on real files.

Most cases call ``main([...])`` in-process (fast); a handful run ``python -m convlens`` as a real subprocess
to check what a user sees: exit status, stdout, and stderr without a traceback.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from scipy import ndimage

import convlens
from convlens import data, filters, io
from convlens.cli import main

pytest.importorskip("PIL")
pytest.importorskip("pandas")
pytest.importorskip("soundfile")


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """Real bundled data saved as the files a user would have."""
    skdata = pytest.importorskip("skimage.data")
    folder = tmp_path_factory.mktemp("files")
    camera = np.ascontiguousarray(data.load_image("camera")[100:228, 150:278])  # 128x128 uint8
    io.write_image(folder / "camera.png", camera)
    io.write_image(folder / "camera.jpg", camera)
    io.write_image(folder / "camera.tif", camera.astype(np.float32) / 255)
    io.write_image(folder / "brick.png", data.load_image("brick")[:256, :256])
    astronaut = skdata.astronaut()[20:220, 120:320]  # colour; the face sits at (50, 55)
    io.write_image(folder / "astronaut.png", astronaut)
    io.write_image(folder / "face.png", astronaut[50:143, 55:148])
    np.save(folder / "cube.npy", np.zeros((4, 5, 6)))
    np.save(folder / "empty.npy", np.zeros((0, 5)))
    (folder / "broken.png").write_bytes(b"not a PNG at all")
    (folder / "folder.png").mkdir()  # a folder whose name looks like an image
    return folder


@pytest.fixture(scope="module")
def audio(files):
    if not hasattr(data, "audio_path"):
        pytest.skip("no shipped recording")
    song = data.audio_path("music")
    samples, rate = io.read_audio(song, mono=True)
    io.write_audio(files / "clip.wav", samples[5 * rate + 123 : 6 * rate + 123], rate)
    return song, samples, rate


@pytest.fixture(scope="module")
def sunspots_csv(files):
    sunspots = pytest.importorskip("statsmodels.datasets.sunspots")
    frame = sunspots.load_pandas().data
    frame.to_csv(files / "sunspots.csv", index=False)
    return files / "sunspots.csv", frame["SUNACTIVITY"].to_numpy()


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def cli(*argv) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "convlens", *map(str, argv)], capture_output=True, text=True)


def camera(files) -> np.ndarray:
    return io.read_image(files / "camera.png").astype(np.float64)


# --------------------------------------------------------------------------- as a user sees it (subprocesses)


def test_version_and_help_with_worked_examples():
    res = cli("--version")
    assert res.returncode == 0 and res.stdout.strip() == f"convlens {convlens.__version__}"
    res = cli("--help")
    for command in ("convolve", "correlate", "filter", "gaussian", "spectrum", "orientation", "compress", "diffuse"):
        assert command in res.stdout
    for command in ("match", "locate", "bands", "forecast", "whiten", "report", "demo"):
        assert command in res.stdout


def test_every_subcommand_help_has_an_example(capsys):
    parser = convlens.cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert len(commands) == 15
    for name, sub in commands.items():
        text = sub.format_help()
        assert "example:" in text and f"convlens {name}" in text.split("example:")[1], name


def test_convolve_subprocess_writes_png_and_is_quiet_on_stderr(files, tmp_path):
    res = cli("convolve", files / "camera.png", "gaussian:2", tmp_path / "out.png", "--boundary", "symmetric")
    assert res.returncode == 0 and res.stderr == ""  # no progress bar when stderr is not a terminal
    assert res.stdout.count("\n") == 1 and "out.png" in res.stdout
    expected = convlens.convolve(camera(files), filters.gaussian_kernel(2), "same", boundary="symmetric")
    np.testing.assert_array_equal(io.read_image(tmp_path / "out.png"), np.clip(expected, 0, 255).round())


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["orientation", "missing.png"], "missing.png: no such file"),
        (["convolve", "{files}/camera.png", "box:3", "{tmp}/o.png", "--mode", "middle"], "invalid choice: 'middle'"),
    ],
)
def test_bad_input_subprocess_is_one_line_and_exit_2(files, tmp_path, argv, message):
    res = cli(*(a.format(files=files, tmp=tmp_path) for a in argv))
    assert res.returncode == 2, res.stderr
    assert res.stdout == "" and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1 and res.stderr.startswith(f"convlens {argv[0]}: error: ")
    assert message in res.stderr
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_json_is_one_object(files, capsys):
    result = run_json(capsys, "orientation", files / "brick.png")
    o = convlens.spectrum.orientation(io.read_image(files / "brick.png", gray=True).astype(np.float64))
    assert result["command"] == "orientation"
    assert result["angle"] == pytest.approx(o.angle, abs=1e-9) and result["confidence"] == pytest.approx(o.confidence)
    assert 85 < result["angle"] < 95  # brick()'s mortar lines run horizontally: the spectrum peaks vertically


# --------------------------------------------------------------------------- each subcommand against its function


@pytest.mark.parametrize("source", ["camera.png", "camera.jpg", "camera.tif"])
def test_convolve_matches_the_engine_and_ndimage(files, tmp_path, capsys, source):
    code, out, _ = run(capsys, "convolve", files / source, "box:5x3", tmp_path / "o.npy", "--boundary", "reflect")
    assert code == 0 and "box 5x3" in out
    x = io.read_image(files / source)
    x = x if x.dtype == np.float32 else x.astype(np.float64)
    expected = convlens.convolve(x, filters.box_kernel((5, 3)).astype(x.dtype), "same", boundary="reflect")
    got = np.load(tmp_path / "o.npy")
    np.testing.assert_array_equal(got, expected)
    reference = ndimage.uniform_filter(x.astype(np.float64), (5, 3), mode="mirror")  # numpy reflect = ndimage mirror
    np.testing.assert_allclose(got, reference, rtol=1e-5 if x.dtype == np.float32 else 1e-10, atol=1e-6)


def test_convolve_colour_per_channel_and_kernel_files(files, tmp_path, capsys):
    kernel = np.random.default_rng(0).random((4, 3))
    np.save(tmp_path / "k.npy", kernel)
    assert (
        run(capsys, "convolve", files / "astronaut.png", tmp_path / "k.npy", tmp_path / "o.tif", "--mode", "full")[0]
        == 0
    )
    rgb = io.read_image(files / "astronaut.png").astype(np.float64)
    got = io.read_image(tmp_path / "o.tif")
    assert got.shape == (203, 202, 3)
    for c in range(3):
        np.testing.assert_allclose(got[..., c], convlens.convolve(rgb[..., c], kernel, "full"), rtol=1e-12, atol=1e-9)


def test_a_csv_kernel_keeps_its_first_row_with_or_without_a_header(files, tmp_path, capsys):
    """A kernel CSV such as 1,2,1 / 2,4,2 / 1,2,1 has no header: it once lost its first row (a 2x3 kernel)."""
    from scipy import signal

    kernel = np.array([[1.0, 2, 1], [2, 4, 2], [1, 2, 1]]) / 16
    (tmp_path / "k.csv").write_text("\n".join(",".join(str(float(v)) for v in row) for row in kernel) + "\n")
    (tmp_path / "kh.csv").write_text("a,b,c\n" + (tmp_path / "k.csv").read_text())
    image = camera(files)
    expected = signal.convolve(image, kernel, "same")  # scipy zero-pads the 'same' output as convlens does
    for name in ("k.csv", "kh.csv"):
        result = run_json(capsys, "convolve", files / "camera.png", tmp_path / name, tmp_path / f"{name}.npy")
        assert result["kernel_shape"] == [3, 3]
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.npy"), expected, rtol=1e-12, atol=1e-10)
    (tmp_path / "bad.csv").write_text("1,x\n2,3\n")
    code, out, err = run(capsys, "convolve", files / "camera.png", tmp_path / "bad.csv", tmp_path / "o.npy")
    assert (
        code == 2
        and out == ""
        and "bad.csv: a CSV kernel must be a grid of numbers" in err
        and not (tmp_path / "o.npy").exists()
    )


def test_a_csv_kernel_row_or_column_is_1d_for_a_series(sunspots_csv, tmp_path, capsys):
    path, values = sunspots_csv
    (tmp_path / "row.csv").write_text("0.25,0.5,0.25\n")
    (tmp_path / "col.csv").write_text("0.25\n0.5\n0.25\n")
    for name in ("row.csv", "col.csv"):
        result = run_json(capsys, "convolve", path, tmp_path / name, tmp_path / f"{name}.npy")
        assert result["kernel_shape"] == [3]
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.npy"), np.convolve(values, [0.25, 0.5, 0.25], "same"))


def test_correlate_with_sobel_to_float_tiff(files, tmp_path, capsys):
    assert run(capsys, "correlate", files / "camera.png", "sobel:1", tmp_path / "e.tif")[0] == 0
    got = io.read_image(tmp_path / "e.tif")
    assert got.dtype == np.float64 and got.min() < 0  # signs kept
    np.testing.assert_allclose(
        got, ndimage.correlate(camera(files), filters.sobel_kernel(1), mode="constant"), atol=1e-9
    )


def test_convolve_audio_keeps_the_rate(audio, files, tmp_path, capsys):
    song, _, rate = audio
    assert run(capsys, "convolve", song, "box:9", tmp_path / "s.wav")[0] == 0
    back, back_rate = io.read_audio(tmp_path / "s.wav")
    assert back_rate == rate
    expected = convlens.convolve(io.read_audio(song)[0], filters.box_kernel(9, ndim=1), "same")
    np.testing.assert_allclose(back, expected, atol=1e-7)  # WAV float32


def test_filter_gaussian_diffuse(files, tmp_path, capsys):
    x = camera(files)
    assert run(capsys, "filter", "low", files / "camera.png", tmp_path / "l.npy", "--cutoff", "0.1")[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "l.npy"), filters.lowpass(x, 0.1))
    argv = [
        "filter",
        "band",
        files / "camera.png",
        tmp_path / "b.npy",
        "--cutoff",
        "0.05",
        "0.2",
        "--kind",
        "butterworth",
    ]
    assert run(capsys, *argv)[0] == 0
    np.testing.assert_array_equal(np.load(tmp_path / "b.npy"), filters.bandpass(x, 0.05, 0.2, kind="butterworth"))
    assert run(capsys, "gaussian", files / "camera.png", tmp_path / "g.npy", "--sigma", "3")[0] == 0
    np.testing.assert_allclose(np.load(tmp_path / "g.npy"), ndimage.gaussian_filter(x, 3, mode="reflect"), atol=1e-9)
    result = run_json(capsys, "diffuse", files / "camera.png", tmp_path / "d.npy", "--time", "8")
    np.testing.assert_array_equal(np.load(tmp_path / "d.npy"), convlens.diffuse(x, 8.0))
    assert result["sigma"] == 4.0 and result["mass_out"] == pytest.approx(result["mass_in"], rel=1e-12)


def test_image_outputs_keep_the_input_range_or_rescale(files, tmp_path, capsys):
    assert run(capsys, "filter", "high", files / "camera.png", tmp_path / "h.png", "--cutoff", "0.1")[0] == 0
    assert (
        run(capsys, "filter", "high", files / "camera.png", tmp_path / "r.png", "--cutoff", "0.1", "--rescale")[0] == 0
    )
    high = filters.highpass(camera(files), 0.1)  # zero mean: half of it is negative
    np.testing.assert_array_equal(io.read_image(tmp_path / "h.png"), np.clip(high, 0, 255).round())
    stretched = io.read_image(tmp_path / "r.png")
    assert stretched.min() == 0 and stretched.max() == 255


def test_spectrum_and_orientation(files, tmp_path, capsys):
    assert run(capsys, "spectrum", files / "brick.png", tmp_path / "s.npy", "--window", "hann")[0] == 0
    brick = io.read_image(files / "brick.png").astype(np.float64)
    np.testing.assert_array_equal(np.load(tmp_path / "s.npy"), convlens.log_spectrum(brick, window="hann"))
    assert run(capsys, "spectrum", files / "brick.png", tmp_path / "s.png")[0] == 0
    picture = io.read_image(tmp_path / "s.png")
    assert (
        picture.min() == 0 and picture.max() == 255 and np.unravel_index(picture.argmax(), picture.shape) == (128, 128)
    )
    code, out, _ = run(capsys, "orientation", files / "astronaut.png")  # colour: converted to grey
    o = convlens.orientation(io.read_image(files / "astronaut.png", gray=True))
    assert code == 0 and f"{o.angle:.1f} degrees, confidence {o.confidence:.2f}" in out


def test_compress_reports_psnr_and_ssim(files, tmp_path, capsys):
    result = run_json(capsys, "compress", files / "camera.png", tmp_path / "c.png", "--fraction", "0.1")
    res = convlens.keep_frequencies(io.read_image(files / "camera.png"), 0.1)
    assert result["psnr"] == pytest.approx(res.psnr, abs=1e-9) and result["ssim"] == pytest.approx(res.ssim, abs=1e-9)
    assert result["ratio"] == pytest.approx(10, rel=1e-3)
    np.testing.assert_array_equal(io.read_image(tmp_path / "c.png"), np.clip(res.image, 0, 255).round())


def test_match_finds_the_face_as_skimage_does(files, tmp_path, capsys):
    feature = pytest.importorskip("skimage.feature")
    result = run_json(capsys, "match", files / "astronaut.png", files / "face.png", "--scores", tmp_path / "s.npy")
    assert result["matches"][0]["index"] == [50, 55] and result["matches"][0]["score"] == pytest.approx(1, abs=1e-9)
    image, face = (io.read_image(files / p, gray=True) for p in ("astronaut.png", "face.png"))
    np.testing.assert_allclose(np.load(tmp_path / "s.npy"), feature.match_template(image, face), atol=1e-6)
    argv = [
        "match",
        files / "astronaut.png",
        files / "face.png",
        "-n",
        "2",
        "--min-distance",
        "10",
        "--method",
        "sqdiff",
    ]
    code, out, _ = run(capsys, *argv)
    assert code == 0 and "at (50, 55)" in out and "sqdiff score 0.000; 1 more match" in out


def test_locate_a_clip_in_the_shipped_recording(audio, files, capsys):
    song, _, rate = audio
    result = run_json(capsys, "locate", song, files / "clip.wav")
    assert result["sample"] == 5 * rate + 123 and result["score"] > 0.999
    assert result["offset"] == pytest.approx((5 * rate + 123) / rate)


def test_bands_csv_equals_band_levels(audio, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    song, samples, rate = audio
    code, out, _ = run(capsys, "bands", song, tmp_path / "b.csv", "--bands", "third")
    assert code == 0 and "third-octave" in out
    table = pd.read_csv(tmp_path / "b.csv", index_col=0)
    bars = convlens.band_levels(samples, rate, bands="third")
    assert table.index.name == "time_s" and table.shape == bars.levels.shape
    np.testing.assert_allclose(table.to_numpy(), bars.levels, rtol=1e-12)
    np.testing.assert_allclose(table.index.to_numpy(), bars.times, atol=1e-6)


def test_forecast_equals_forecast_arima_and_statsmodels(sunspots_csv, tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    arima = pytest.importorskip("statsmodels.tsa.arima.model")
    path, y = sunspots_csv
    argv = ["forecast", path, tmp_path / "f.csv", "--order", "2,0,1", "--trend", "c", "--steps", "5"]
    result = run_json(capsys, *argv)
    assert result["column"] == "SUNACTIVITY" and result["order"] == [2, 0, 1]
    table = pd.read_csv(tmp_path / "f.csv", index_col=0)
    assert table.index.tolist() == [2009.0, 2010.0, 2011.0, 2012.0, 2013.0]  # the years go on
    np.testing.assert_allclose(table["mean"], result["mean"], rtol=1e-15)
    params = result["params"]  # statsmodels' fit, as the command used it (no second fit here)
    fc = convlens.forecast_arima(y, (2, 0, 1), params, 5, trend="c")
    np.testing.assert_allclose(table["mean"], fc.mean, rtol=1e-12)
    ref = arima.ARIMA(y, order=(2, 0, 1), trend="c").filter(params).get_forecast(5)  # statsmodels, same params
    np.testing.assert_allclose(table["mean"], ref.predicted_mean, rtol=1e-6)
    np.testing.assert_allclose(table[["lower", "upper"]], ref.conf_int(), rtol=1e-6)


@pytest.mark.parametrize(
    ("order", "trend", "seasonal"),
    [((1, 1, 0), "t", None), ((1, 0, 0), "ct", None), ((1, 0, 0), "c", (1, 0, 0, 11))],
)
def test_forecast_trends_and_seasonal_orders_are_the_librarys(sunspots_csv, tmp_path, capsys, order, trend, seasonal):
    pd = pytest.importorskip("pandas")
    arima = pytest.importorskip("statsmodels.tsa.arima.model")
    path, y = sunspots_csv
    argv = ["forecast", path, tmp_path / "f.csv", "--order", ",".join(map(str, order)), "--trend", trend]
    argv += ["--steps", "12"] + (["--seasonal-order", ",".join(map(str, seasonal))] if seasonal else [])
    result = run_json(capsys, *argv)
    assert result["trend"] == trend and result["seasonal_order"] == list(seasonal or (0, 0, 0, 0))
    model = arima.ARIMA(y, order=order, seasonal_order=seasonal or (0, 0, 0, 0), trend=trend)
    params = np.asarray(result["params"])
    assert params.size == len(model.param_names)  # the trend and seasonal terms reached statsmodels' fit
    table = pd.read_csv(tmp_path / "f.csv", index_col=0)
    fc = convlens.forecast_arima(y, order, params, 12, seasonal_order=seasonal, trend=trend)
    np.testing.assert_allclose(table["mean"], fc.mean, rtol=1e-12)
    np.testing.assert_allclose(table[["lower", "upper"]], fc.conf_int(), rtol=1e-12)
    ref = model.filter(params).get_forecast(12)  # statsmodels, same params (approximate diffuse prior when d >= 1)
    np.testing.assert_allclose(table["mean"], ref.predicted_mean, rtol=1e-3 if order[1] else 1e-6)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--order", "-1,0,0"], "argument --order: must be p,d,q (3 integers >= 0, e.g. 2,0,1); got '-1,0,0'"),
        (["--order=1,-2,0"], "argument --order: must be p,d,q (3 integers >= 0"),
        (["--order", "1,0,0.5"], "argument --order: must be p,d,q"),
        (["--order", "1,0,0", "--seasonal-order", "1,0,0"], "argument --seasonal-order: must be P,D,Q,s (4 integers"),
        (["--order", "1,0,0", "--seasonal-order", "-1,0,0,4"], "argument --seasonal-order: must be P,D,Q,s"),
        (["--order", "1,0,0", "--seasonal-order", "1,0,0,1"], "argument --seasonal-order: needs a period s >= 2"),
        (
            ["--order", "1,0,0", "--trend", "x"],
            "argument --trend: invalid choice: 'x' (choose from 'n', 'c', 't', 'ct')",
        ),
    ],
)
def test_forecast_bad_orders_are_one_line_naming_the_option(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(["forecast", "a.csv", "b.csv", *argv])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and message in err, err


def test_forecast_negative_order_subprocess_is_one_line_and_exit_2(tmp_path):
    done = cli("forecast", tmp_path / "a.csv", tmp_path / "b.csv", "--order", "-1,0,0")
    assert done.returncode == 2 and done.stdout == "" and done.stderr.count("\n") == 1, done.stderr
    assert "--order: must be p,d,q (3 integers >= 0" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--order", "2,1,1", "--trend", "ct"],
            "--trend ct needs d = 0 (differencing removes a constant); got --order 2,1,1",
        ),
        (["--order", "1,2,0", "--trend", "t"], "--trend t needs d <= 1 (differencing removes a linear drift)"),
        (
            ["--order", "1,1,0", "--seasonal-order", "0,1,1,11", "--trend", "t"],
            "--trend t needs d + D <= 1 (differencing removes a linear drift); got --order 1,1,0 --seasonal-order 0,1,1,11",
        ),
        (["--order", "1,0,0", "--seasonal-order", "0,1,1,11", "--trend", "c"], "--trend c needs d + D = 0"),
    ],
)
def test_forecast_trend_that_differencing_removes_is_refused(sunspots_csv, tmp_path, capsys, argv, message):
    path, _ = sunspots_csv
    code, out, err = run(capsys, "forecast", path, tmp_path / "o.csv", *argv)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_whiten_a_real_matrix(files, tmp_path, capsys):
    datasets = pytest.importorskip("sklearn.datasets")
    X = datasets.load_digits().data[:, [10, 12, 19, 20, 21, 27, 28, 36, 43, 44]]  # pixels that vary
    io.write_array(files / "digits.csv", X)
    result = run_json(capsys, "whiten", files / "digits.csv", tmp_path / "w.csv", "--method", "zca")
    Z = io.read_table(tmp_path / "w.csv").array
    np.testing.assert_allclose(Z, convlens.zca_whiten(X), atol=1e-12)
    np.testing.assert_allclose(np.cov(Z, rowvar=False), np.eye(10), atol=1e-9)
    assert result["max_offdiag_cov"] < 1e-9
    np.save(tmp_path / "X.npy", X)
    assert run(capsys, "whiten", tmp_path / "X.npy", tmp_path / "p.npy", "--method", "pca", "--components", "3")[0] == 0
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), convlens.pca_whiten(X, 3), atol=1e-12)


def test_demo_draws_the_scenes(capsys):
    code, out, _ = run(capsys, "demo")
    assert code == 0
    from convlens import scenes

    assert "nan_policy='propagate': 196 NaN outputs" in out  # a 10x10 NaN block widened by the 5x5 window only
    assert f"the face found at {scenes.face_match().peak}" in out and "(110, 115)" in out
    assert "error ~ samples^-0.50" in out
    for section in ("time -> frequency", "diffusion", "the stochastic view", "cross-correlation", "statistics"):
        assert f"{section}:" in out
    assert "data: " in out and "CC0" in out


def test_report_calls_build(monkeypatch, tmp_path, capsys):
    import types

    calls = []

    def build(out, *, open_browser=False, progress=True):
        calls.append((out, open_browser, progress))
        return tmp_path / "index.html"

    monkeypatch.setitem(sys.modules, "convlens.report", types.SimpleNamespace(build=build))
    monkeypatch.setattr(convlens, "report", sys.modules["convlens.report"], raising=False)
    result = run_json(capsys, "report", "--out", tmp_path, "--open")
    assert calls == [(str(tmp_path), True, False)] and result["index"] == str(tmp_path / "index.html")


# --------------------------------------------------------------------------- bad input: exit 2, one line, no traceback


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["convolve", "{f}/camera.png", "blur:3", "{t}/o.png"], "kernel must be a file"),
        (["convolve", "{f}/camera.png", "box:0", "{t}/o.png"], "kernel 'box:0'"),
        (["convolve", "{f}/camera.png", "{f}/cube.npy", "{t}/o.png"], "the kernel has 3 dimension(s)"),
        (["convolve", "{f}/camera.png", "box:3", "{t}/o.wav"], "needs a sample rate"),
        (["convolve", "{f}/camera.png", "box:3", "{t}/o.bmp"], "unsupported output format '.bmp'"),
        (["convolve", "{f}/cube.npy", "box:2", "{t}/o.png"], "an image holds (H, W) or (H, W, 3|4) data"),
        (["gaussian", "{f}/cube.npy", "{t}/o.csv", "--sigma", "1"], "CSV holds 1-D or 2-D data"),
        (["convolve", "{f}/camera.png", "box:3", "{t}/no/o.png"], "does not exist"),
        (["convolve", "{f}/camera.png", "{f}/brick.png", "{f}/brick.png"], "brick.png: the output would overwrite"),
        (["convolve", "{f}/camera.png", "box:3", "{f}/../{fn}/camera.png"], "would overwrite an input"),
        (["filter", "band", "{f}/camera.png", "{t}/o.png", "--cutoff", "0.1"], "needs 2 value(s)"),
        (
            ["filter", "low", "{f}/camera.png", "{t}/o.png", "--cutoff", "0.7"],
            "cutoff must be a real number > 0 and <= 0.5 (in cycles/sample; 0.5 is the Nyquist frequency); got 0.7",
        ),
        (["compress", "{f}/camera.png", "{t}/o.png", "--fraction", "1.5"], "fraction"),
        (["compress", "{f}/camera.png", "{t}/o.wav", "--fraction", "0.5"], "unsupported output format"),
        (["orientation", "{f}/cube.npy"], "2-D grey image"),
        (["orientation", "{f}/broken.png"], "broken.png: cannot read it as image"),
        (["gaussian", "{f}/broken.png", "{t}/o.png", "--sigma", "1"], "cannot read it as image (.png, .jpg"),
        (["gaussian", "{f}/camera.png", "{t}/o.png", "--sigma", "nan"], "sigma"),
        (["gaussian", "{f}/missing.png", "{t}/o.png", "--sigma", "1"], "missing.png: no such file"),
        (["match", "{f}/face.png", "{f}/astronaut.png"], "larger than image"),
        (["whiten", "{f}/cube.npy", "{t}/o.npy"], "needs a 2-D matrix"),
        (["bands", "{f}/camera.png", "{t}/o.csv"], "unsupported format '.png'"),
        (["forecast", "{f}/camera.png", "{t}/o.csv", "--order", "1,0,0"], "unsupported format '.png'"),
        (["convolve", "{f}/camera.png", "box:abc", "{t}/o.png"], "kernel 'box:abc': 'abc' is not a whole number"),
        (["convolve", "{f}/camera.png", "box:1e3", "{t}/o.png"], "'1e3' is not a whole number"),
        (["convolve", "{f}/camera.png", "gaussian:abc", "{t}/o.png"], "'abc' is not a number (sigma"),
        (["convolve", "{f}/camera.png", "box:3x3x3", "{t}/o.png"], "3 sizes for data with 2 signal axes"),
        (["convolve", "{f}/camera.png", "sobel:x", "{t}/o.png"], "kernel 'sobel:x': 'x' is not an axis in 0..1"),
        (["gaussian", "{f}/camera.png", "{f}/folder.png", "--sigma", "1"], "folder.png: is a folder; give the output"),
        (["gaussian", "{f}/folder.png", "{t}/o.png", "--sigma", "1"], "folder.png: is a folder, not a file"),
        (["gaussian", "{f}", "{t}/o.png", "--sigma", "1"], "is a folder, not a file"),
        (["report", "--out", "{f}/camera.png"], "camera.png: exists and is not a folder"),
        (["report", "--out", ""], "empty path"),
        (["convolve", "{f}/empty.npy", "box:3", "{t}/o.npy"], "empty.npy: the file holds no data (shape (0, 5))"),
        (["spectrum", "{f}/empty.npy", "{t}/o.npy"], "empty.npy: the file holds no data"),
        (["match", "{f}/camera.png", "{f}/empty.npy"], "empty.npy: the file holds no data"),
        (["whiten", "{f}/empty.npy", "{t}/o.npy"], "empty.npy: the file holds no data (shape (0, 5))"),
    ],
)
def test_bad_input_is_exit_2_with_one_clear_line(files, tmp_path, capsys, argv, message):
    before = (files / "camera.png").read_bytes()
    code, out, err = run(capsys, *(a.format(f=files, t=tmp_path, fn=files.name) for a in argv))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith(f"convlens {argv[0]}: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == [] and (files / "camera.png").read_bytes() == before


def test_bad_input_on_real_series_and_recordings(files, sunspots_csv, audio, tmp_path, capsys):
    path, _ = sunspots_csv
    song, _, rate = audio
    io.write_audio(tmp_path / "fast.wav", np.zeros(rate // 2), 2 * rate)
    cases = [
        (["forecast", path, tmp_path / "o.csv", "--order", "2,0,1", "--column", "spots"], "no column 'spots'"),
        (["forecast", path, tmp_path / "o.csv", "--order", "2,1,1", "--trend", "c"], "--trend c needs d = 0"),
        (["locate", song, tmp_path / "fast.wav"], f"sampled at {2 * rate} Hz"),
        (["locate", tmp_path / "fast.wav", song], "sampled at"),
        (["locate", song, files / "camera.png"], "unsupported format"),
    ]
    for argv, message in cases:
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and message in err and err.count("\n") == 1, (argv, err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fast.wav"]


def test_a_silent_clip_is_refused_up_front(audio, files, tmp_path, capsys):
    song, _, rate = audio
    io.write_audio(tmp_path / "silence.wav", np.zeros(rate), rate)
    code, out, err = run(capsys, "locate", song, tmp_path / "silence.wav")
    assert (
        code == 2
        and out == ""
        and err
        == f"convlens locate: error: {tmp_path / 'silence.wav'} is silent (constant): there is nothing to locate\n"
    )


def test_a_pipe_given_as_input_is_refused_not_waited_on(files, tmp_path, capsys):
    import os

    if not hasattr(os, "mkfifo"):
        pytest.skip("no named pipes on this system")
    os.mkfifo(tmp_path / "pipe.png")  # opening it for reading would block until a writer comes
    for argv in (
        ["orientation", tmp_path / "pipe.png"],
        ["gaussian", tmp_path / "pipe.png", tmp_path / "o.png", "--sigma", "1"],
    ):
        code, out, err = run(capsys, *argv)
        assert code == 2 and out == "" and "pipe.png: is not a regular file" in err and err.count("\n") == 1
    assert [p.name for p in tmp_path.iterdir()] == ["pipe.png"]


def test_an_empty_recording_is_named(audio, tmp_path, capsys):
    song, _, rate = audio
    soundfile = pytest.importorskip("soundfile")
    soundfile.write(tmp_path / "empty.wav", np.zeros(0), rate)  # io.write_audio refuses to write one
    for argv in (["locate", song, tmp_path / "empty.wav"], ["locate", tmp_path / "empty.wav", song],
                 ["bands", tmp_path / "empty.wav", tmp_path / "o.csv"]):  # fmt: skip
        code, out, err = run(capsys, *argv)
        assert (code, out) == (2, "") and err.endswith("empty.wav: the recording holds no samples\n"), err
    assert [p.name for p in tmp_path.iterdir()] == ["empty.wav"]


def test_json_is_strict_json_without_nan_or_infinity(tmp_path, capsys):
    """A silent recording has band levels of -inf dB: strict JSON writes them as null, not -Infinity."""
    io.write_audio(tmp_path / "silence.wav", np.zeros(16000), 8000)
    code, out, err = run(capsys, "bands", tmp_path / "silence.wav", tmp_path / "bars.csv", "--json")
    assert code == 0, err

    def refuse(name):
        raise AssertionError(f"not strict JSON: {name}")

    result = json.loads(out, parse_constant=refuse)
    assert result["mean_level_db"] == [None] * len(result["centers_hz"]) and result["frames"] == 30


def test_memory_errors_are_exit_1_with_a_reason(files, tmp_path, capsys, monkeypatch):
    # the memory guard refusing an absurd named kernel: the computation cannot be done here (exit 1)
    code, out, err = run(capsys, "convolve", files / "camera.png", "box:1000000", tmp_path / "o.png")
    assert code == 1 and out == "" and "would need about" in err and err.count("\n") == 1

    def bare(*args, **kwargs):
        raise MemoryError  # as NumPy or SciPy raise it: no message

    monkeypatch.setattr(convlens.filters, "gaussian", bare)
    code, out, err = run(capsys, "gaussian", files / "camera.png", tmp_path / "o.png", "--sigma", "1")
    assert (code, out) == (1, "")
    assert err == "convlens gaussian: error: not enough memory for this computation (MemoryError)\n"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["diffuse", "a.png", "b.png", "--time", "1", "-D", "-1"], "argument -D: must be a number >= 0, got '-1'"),
        (["diffuse", "a.png", "b.png", "--time", "abc"], "argument --time: must be a number, got 'abc'"),
        (["diffuse", "a.png", "b.png", "--time", "-1"], "argument --time: must be a number >= 0, got '-1'"),
        (["gaussian", "a.png", "b.png", "--sigma", "1", "--truncate", "x"], "argument --truncate: must be a number"),
        (["match", "a.png", "b.png", "-n", "two"], "argument -n: must be a whole number, got 'two'"),
        (["whiten", "a.csv", "b.csv", "--components", "abc"], "must be a count or a fraction in (0, 1), got 'abc'"),
        (["whiten", "a.csv", "b.csv", "--components", "0"], "must be a count or a fraction in (0, 1), got '0'"),
        (["whiten", "a.csv", "b.csv", "--components", "2.5"], "must be a count or a fraction in (0, 1), got '2.5'"),
        (["whiten", "a.csv", "b.csv", "--components", "nan"], "must be a count or a fraction in (0, 1), got 'nan'"),
    ],
)
def test_option_values_of_the_wrong_kind_name_the_option(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1 and message in err and "invalid" not in err, err


def test_argparse_errors_are_one_line(capsys):
    for argv in (["nope"], ["gaussian", "a.png", "b.png"], ["forecast", "a.csv", "b.csv", "--order", "1,2"], []):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        err = capsys.readouterr().err
        assert exc.value.code == 2 and err.count("\n") == 1 and "error:" in err and "--help" in err


def test_a_failed_computation_is_exit_1_and_writes_nothing(files, tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("the FFT library crashed")

    monkeypatch.setattr(convlens.filters, "gaussian", broken)
    code, out, err = run(capsys, "gaussian", files / "camera.png", tmp_path / "o.png", "--sigma", "1")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert "computation failed: RuntimeError: the FFT library crashed" in err
    assert list(tmp_path.iterdir()) == []

    def too_big(*args, **kwargs):
        raise convlens.InsufficientMemoryError("would need about 600 GiB")

    monkeypatch.setattr(convlens.filters, "gaussian", too_big)
    code, _, err = run(capsys, "gaussian", files / "camera.png", tmp_path / "o.png", "--sigma", "1")
    assert code == 1 and "600 GiB" in err


def test_the_examples_in_docs_cli_md_run(tmp_path, monkeypatch, capsys):
    """Every block of docs/cli.md: the Python blocks as written, each command line of the bash block."""
    import re
    from pathlib import Path

    doc = Path(__file__).resolve().parents[1] / "docs" / "cli.md"
    if not doc.exists():
        pytest.skip("docs/cli.md is not in this checkout")
    pytest.importorskip("sklearn")
    pytest.importorskip("statsmodels")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```(\w*)\n(.*?)```", doc.read_text(), re.S)
    commands = 0
    for lang, code in blocks:
        if lang == "python":
            exec(compile(code, str(doc), "exec"), {})
        elif lang == "bash":
            for line in code.splitlines():
                argv = line.split("  #")[0].split()
                if not argv or argv[1] in ("demo", "report"):  # tested above, and slow
                    continue
                assert argv[0] == "convlens"
                assert main(argv[1:]) == 0, (line, capsys.readouterr().err)
                commands += 1
    assert commands >= 15


def test_progress_only_on_a_terminal_and_never_with_json(monkeypatch, capsys):
    import argparse

    from convlens.cli._common import busy

    pytest.importorskip("rich")
    for tty, as_json, size, shown in [
        (True, False, 10**7, True),
        (False, False, 10**7, False),
        (True, True, 10**7, False),
        (True, False, 10, False),
    ]:
        monkeypatch.setattr(sys.stderr, "isatty", lambda tty=tty: tty, raising=False)
        with busy(argparse.Namespace(json=as_json), "working hard", size=size):
            pass
        err = capsys.readouterr().err
        assert ("working hard" in err) == shown, (tty, as_json, size, err)


def test_convolve_a_csv_series_keeps_its_index(sunspots_csv, tmp_path, capsys):
    path, y = sunspots_csv
    assert run(capsys, "convolve", path, "gaussian:2", tmp_path / "smooth.csv", "--boundary", "edge")[0] == 0
    out = io.read_series(tmp_path / "smooth.csv")
    assert out.index_name == "YEAR" and out.name == "SUNACTIVITY" and out.index[[0, -1]].tolist() == [1700, 2008]
    kernel = filters.gaussian_kernel(2, ndim=1)
    np.testing.assert_allclose(out.values, convlens.convolve(y, kernel, "same", boundary="edge"), rtol=1e-14)
    np.testing.assert_allclose(out.values, ndimage.gaussian_filter1d(y, 2, mode="nearest"), rtol=1e-10)


@pytest.mark.parametrize(("order", "trend"), [("0,1,0", "n"), ("0,0,0", "c")])
def test_forecast_random_walk_and_white_noise(sunspots_csv, tmp_path, capsys, order, trend):
    """No AR or MA terms: the command used to exit 2 with 'kernel must not be empty'."""
    arima = pytest.importorskip("statsmodels.tsa.arima.model")
    path, y = sunspots_csv
    result = run_json(capsys, "forecast", path, tmp_path / "f.csv", "--order", order, "--trend", trend, "--steps", "4")
    o = tuple(int(v) for v in order.split(","))
    ref = arima.ARIMA(y, order=o, trend=trend).filter(result["params"]).get_forecast(4)
    np.testing.assert_allclose(result["mean"], ref.predicted_mean, rtol=1e-8)
