"""The HTML report: built once per session, checked as files and in a real headless Chromium."""

from __future__ import annotations

import csv
import html.parser
import importlib.util
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import convlens.report as report
from convlens.report.sections import SECTIONS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """The report built once for every test of this module."""
    return report.build(tmp_path_factory.mktemp("report"), progress=False)


class _Page(html.parser.HTMLParser):
    """Collects tags and attributes of the page (no regexes over HTML)."""

    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def _parse(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    return page


def test_build_writes_page_images_and_numbers(built):
    assert built.name == "index.html" and built.is_file()
    page = _parse(built)
    imgs = [a["src"] for t, a in page.tags if t == "img"]
    expected = sum(len(s.figures) for s in SECTIONS) - (importlib.util.find_spec("torch") is None)
    assert len(imgs) == expected
    for src in imgs:
        png = built.parent / src
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    figures = [a["id"] for t, a in page.tags if t == "figure"]
    assert figures[:2] == ["theorem", "recording"] and len(figures) == expected


def test_sections_in_essay_order_with_captions_code_and_sources(built):
    text = built.read_text(encoding="utf-8")
    positions = [text.index(f"<h2>{s.title}</h2>") for s in SECTIONS]
    assert positions == sorted(positions) and len(positions) == 10
    assert text.count("<figcaption>") == text.count("<figure ")
    assert text.count("<pre><code>") == text.count("<figure ")
    assert "Data: scikit-image data.camera(), CC0" in text
    assert "CC-BY-SA-3.0" in text and "Manolo Camp" in text
    assert "The quiz, answered: Gaussian blur" in text
    # the list numbers its entries itself: the titles in the nav carry no number ("10. 10. Convolution layers")
    nav = re.search(r"<nav><ol>(.*?)</ol></nav>", text, re.S).group(1)
    entries = re.findall(r'<li><a href="#s(\d+)">([^<]*)</a></li>', nav)
    assert [(int(n), t) for n, t in entries] == [(i, s.title.split(". ", 1)[1]) for i, s in enumerate(SECTIONS, 1)]
    assert entries[-1] == ("10", "Convolution layers") and not any(t[0].isdigit() for _, t in entries)


def test_numbers_saved_beside_figures(built):
    page = _parse(built)
    links = [a["href"] for t, a in page.tags if t == "a" and a.get("href", "").startswith("data/")]
    assert len(links) >= len(SECTIONS)
    for link in links:
        path = built.parent / link
        assert path.is_file(), link
        if path.suffix == ".npy":
            assert np.load(path).size > 0
        else:
            rows = list(csv.reader(path.open()))
            assert len(rows) >= 2 and all(len(r) == len(rows[0]) for r in rows)
    rows = list(csv.DictReader((built.parent / "data" / "face.csv").open()))
    assert (int(rows[0]["row"]), int(rows[0]["col"])) == (110, 115)


def test_no_network_resources(built):
    text = built.read_text(encoding="utf-8")
    page = _parse(built)
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name, "")
            assert not re.match(r"(https?:)?//", value), f"<{tag} {name}={value!r}> needs the network"
    assert "<script src" not in text and "<link" not in text


def test_sliders_have_frames_and_work_without_scripts(built):
    page = _parse(built)
    sliders = [a for t, a in page.tags if t == "input" and a.get("type") == "range"]
    assert len(sliders) == 7
    shown = {a["id"]: a["src"] for t, a in page.tags if t == "img"}
    for s in sliders:
        frames = s["data-frames"].split("|")
        assert 5 <= len(frames) <= 8 and int(s["max"]) == len(frames) - 1
        assert shown[s["data-target"]] == frames[0]  # first frame shown by default
        assert all((built.parent / f).is_file() for f in frames)


def test_build_rejects_bad_arguments(tmp_path):
    with pytest.raises(TypeError, match="out_dir"):
        report.build(3)
    with pytest.raises(TypeError, match="progress"):
        report.build(tmp_path, progress="yes")
    # the folder is checked before the minute of rendering, with one clear line
    with pytest.raises(ValueError, match="empty path"):
        report.build("")
    (tmp_path / "page.html").write_text("mine")
    with pytest.raises(NotADirectoryError, match=r"page\.html: exists and is not a folder"):
        report.build(tmp_path / "page.html")
    with pytest.raises(OSError, match=r"page\.html/sub: cannot create the report folder: Not a directory"):
        report.build(tmp_path / "page.html" / "sub")
    assert [p.name for p in tmp_path.iterdir()] == ["page.html"] and (tmp_path / "page.html").read_text() == "mine"
    # someone's own web page is never replaced by the report; an earlier report is (see test_build_again...)
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<html><title>my homepage</title></html>")
    with pytest.raises(FileExistsError, match=r"index\.html: exists and was not written by convlens report"):
        report.build(site)
    assert [p.name for p in site.iterdir()] == ["index.html"] and "my homepage" in (site / "index.html").read_text()


def test_build_again_into_an_existing_report_is_allowed(built):
    from convlens.report import _check_not_foreign

    head = built.read_text(encoding="utf-8")[:400]
    assert '<meta name="generator" content="convlens report">' in head
    _check_not_foreign(built.parent)  # no error: it is our own page


def test_padding_caption_says_which_way_the_wrap_artefacts_go():
    """The caption once had the strongest wrap artefact (bright sky into the grass, +0.44) the wrong way round."""
    from convlens import scenes
    from convlens.report.sections import _padding_caption

    s = scenes.padding_schemes()
    w, band = s.wrap_artefact, 15
    # red (lighter than mirrored) at the bottom and left, blue (darker) at the top and right, as the caption says
    assert w[-band:].mean() > 0.02 and w[:, :band].mean() > 0.02
    assert w[:band].mean() < -0.02 and w[:, -band:].mean() < -0.02
    assert np.unravel_index(w.argmax(), w.shape) == (w.shape[0] - 1, 0)  # bottom-left corner
    assert s.zero_artefact.max() < 1e-12  # zero padding only ever darkens
    caption = _padding_caption(s)
    assert f"red, up to {w.max():+.2f}" in caption and f"blue, down to {w.min():+.2f}" in caption
    assert "+0.44" in caption and "lighten the grass at the bottom and the dark coat at the left" in caption


def test_open_warns_with_the_address_where_no_browser_starts(tmp_path, monkeypatch):
    import webbrowser

    index = tmp_path / "index.html"
    index.write_text("<html></html>")
    monkeypatch.setattr(webbrowser, "open", lambda uri: False)
    with pytest.warns(RuntimeWarning, match="no web browser could be started here; open file://"):
        assert report._open(index) is False
    opened = []
    monkeypatch.setattr(webbrowser, "open", lambda uri: opened.append(uri) or True)
    assert report._open(index) is True and opened == [index.resolve().as_uri()]


def test_kernel_numbers_are_readable_on_their_cells():
    """The nearly even quiz propagator (0.106 .. 0.127) had black numbers on the dark purple of its lowest cells."""
    import matplotlib.colors as mcolors

    from convlens import plot, scenes

    fig = plot.propagators(scenes.propagators())
    checked = 0
    for ax in fig.axes:
        image = ax.images[0] if ax.images else None
        if image is None or not ax.texts:
            continue
        for text in ax.texts:
            col, row = (round(v) for v in text.get_position())
            r, g, b, _ = image.cmap(image.norm(image.get_array()[row, col]))
            luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
            text_lum = sum(w * v for w, v in zip((0.2126, 0.7152, 0.0722), mcolors.to_rgb(text.get_color())))
            assert abs(text_lum - luminance) > 0.35, (ax.get_title(), text.get_text(), luminance, text.get_color())
            checked += 1
    assert checked == 4 * 9  # four annotated 3 x 3 kernels


def _browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver = shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip(
            "end-to-end browser test needs Debian chromium and chromium-driver (apt-get install chromium chromium-driver)"
        )
    if importlib.util.find_spec("selenium") is None:
        pytest.skip("end-to-end browser test needs selenium (pip install selenium)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1100,900"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # the driver path is given, so selenium-manager never downloads anything
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def test_report_in_headless_chromium(built):
    driver = _browser()
    try:
        driver.get(built.resolve().as_uri())
        sizes = driver.execute_script(
            "return Array.from(document.images).map(i => [i.getAttribute('src'), i.complete, i.naturalWidth]);"
        )
        assert sizes and all(complete and width > 0 for _, complete, width in sizes), sizes
        slider = driver.find_element("id", "slider-rotation")
        target = driver.find_element("id", "img-rotation")
        before = target.get_attribute("src")
        driver.execute_script("arguments[0].value = 3; arguments[0].dispatchEvent(new Event('input'));", slider)
        after = target.get_attribute("src")
        assert before != after and after.endswith("img/rotation_3.png")
        assert driver.find_element("id", "readout-rotation").text == "37"
        loaded = driver.execute_script("return [arguments[0].complete, arguments[0].naturalWidth];", target)
        assert loaded[1] > 0
        driver.execute_script("window.scrollTo(0, 0);")
        driver.save_screenshot(str(built.parent / "screenshot.png"))
        severe = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]
        assert not severe, severe
    finally:
        driver.quit()
    assert (built.parent / "screenshot.png").stat().st_size > 10_000
