"""Server-side image export: framing, offline rendering, size and content of the PNG/SVG."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from povdata.charts import mark_illustrative, rate_series_figure
from povdata.classify import OFFICIAL_BREAKS, SEQUENTIAL
from povdata.dataset import demo_dir, level_table, load_demo
from povdata.export_images import (CHROMIUM, FONT_DIR, FONT_FILES, Frame, ImageJob, frame_figure, make_frame,
                                   page_generator, png_size, render_images)
from povdata.maps import display_shapes, map_view
from povdata.progress import progress_table
from povdata.targets import default_targets

needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@pytest.fixture(scope="module")
def demo():
    ds = load_demo("20")
    levels = level_table(ds)
    return ds, levels, progress_table(levels, default_targets("20"))


@pytest.fixture(scope="module")
def province_map(demo):
    ds, levels, progress = demo
    shapes = display_shapes(demo_dir("20") / "boundaries.gpkg", "district")
    view = map_view(levels, default_targets("20"), shapes, "district", 2020, "poverty_rate", "vi", breaks=OFFICIAL_BREAKS,
                    show_labels=True, illustrative=True)
    frame = make_frame("Tỷ lệ hộ nghèo theo huyện năm 2020", indicator="Tỷ lệ hộ nghèo", year=2020,
                       standard="Chuẩn nghèo 2016-2020", source=ds.source, version=ds.version, illustrative=True)
    return view, frame


def _texts(fig) -> list[str]:
    out = [a.text for a in fig.layout.annotations or []]
    out.append(fig.layout.title.text or "")
    out.append(fig.layout.title.subtitle.text or "")
    return out


def test_frame_states_title_indicator_year_standard_source_version_and_stamp(province_map):
    view, frame = province_map
    fig = frame_figure(view.figure, frame)
    texts = " ".join(_texts(fig))
    for part in ("Tỷ lệ hộ nghèo theo huyện năm 2020", "năm 2020", "Chuẩn nghèo 2016-2020", "Phiên bản số liệu: demo",
                 "Số liệu minh họa do phần mềm tạo"):
        assert part in texts, part
    assert sum(a.text == "<b>Số liệu minh họa</b>" for a in fig.layout.annotations) == 1
    assert (fig.layout.width, fig.layout.height) == (1920, 1080)
    # the original is untouched
    assert view.figure.layout.width is None


def test_frame_keeps_the_illustrative_stamp_even_when_the_frame_has_none(demo):
    _, levels, _ = demo
    fig = mark_illustrative(rate_series_figure(levels[levels["unit_code"] == "20"], "vi"), "vi")
    framed = frame_figure(fig, Frame(title="Tiêu đề", subtitle="x", footer="y", stamp=None))
    assert any("Số liệu minh họa" in a.text for a in framed.layout.annotations)
    plain = frame_figure(rate_series_figure(levels[levels["unit_code"] == "20"], "vi"), Frame("Tiêu đề"))
    assert not any("Số liệu minh họa" in (a.text or "") for a in plain.layout.annotations)


def test_frame_text_is_large_enough_for_a_projector(province_map):
    view, frame = province_map
    fig = frame_figure(view.figure, frame)
    sizes = [a.font.size for a in fig.layout.annotations] + [fig.layout.font.size, fig.layout.title.font.size]
    sizes += [tr.textfont.size for tr in fig.data if tr.type == "scattergeo"]
    assert min(sizes) >= 20  # px on a 1080-px slide: ≥ 10 pt


def test_render_page_loads_nothing_from_the_network():
    html = page_generator().generate_index()
    assert "http://" not in html and "https://" not in html
    assert "mathjax" not in html.lower()
    assert "plotly.min.js" in html


def test_shipped_fonts_cover_every_character_of_the_catalogues():
    """Every character of the vi/en text has a glyph in the shipped Noto Sans (or, for the
    few maths symbols Noto Sans lacks, in the shipped fallback subsets)."""
    from reportlab.pdfbase.ttfonts import TTFont

    covered: set[int] = set()
    for f in FONT_DIR.glob("*.ttf"):
        covered |= set(TTFont(f.stem, str(f)).face.charToGlyph)
    main = set(TTFont("r", str(FONT_FILES["regular"])).face.charToGlyph)
    bold = set(TTFont("b", str(FONT_FILES["bold"])).face.charToGlyph)
    for ch in "ăâđêôơưĂÂĐÊÔƠƯáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ":
        assert ord(ch) in main and ord(ch) in bold, ch
    for lang in ("vi", "en"):
        text = (Path(__file__).resolve().parents[1] / "povdata" / "locales" / f"{lang}.toml").read_text("utf-8")
        missing = sorted({c for c in text if ord(c) > 32 and ord(c) not in covered})
        assert not missing, missing


@needs_chromium
def test_province_map_png_has_slide_size_and_shows_the_map(province_map):
    view, frame = province_map
    framed = frame_figure(view.figure, frame)
    png1, png2, svg = render_images([ImageJob(framed, "png", 1), ImageJob(framed, "png", 2),
                                     ImageJob(framed, "svg")])
    assert png_size(png1) == (1920, 1080)
    assert png_size(png2) == (3840, 2160)
    img = np.asarray(Image.open(io.BytesIO(png1)).convert("RGB")).astype(int)
    non_white = (img.sum(axis=2) < 3 * 245).mean()
    assert non_white > 0.03, "image is blank"
    # the district polygons are drawn (offline topojson): their class colours fill many pixels
    used = [c for c in view.figure.data if c.type == "choropleth"]
    for tr in used:
        rgb = np.array([int(tr.colorscale[0][1][i:i + 2], 16) for i in (1, 3, 5)])
        hits = (np.abs(img - rgb).sum(axis=2) <= 6).sum()
        assert hits > 2000, f"class colour {tr.colorscale[0][1]} hardly drawn ({hits} px)"
    assert any(tr.colorscale[0][1] in SEQUENTIAL for tr in used)
    text = svg.decode("utf-8")
    assert text.lstrip().startswith("<svg")
    assert "Số liệu minh họa" in text and "Tỷ lệ hộ nghèo theo huyện năm 2020" in text
    assert "Lạng Sơn" in text or "Văn Quan" in text  # unit labels, with diacritics


@needs_chromium
def test_scale_3_png(demo):
    _, levels, _ = demo
    fig = rate_series_figure(levels[levels["unit_code"] == "20"], "vi")
    (png,) = render_images([ImageJob(frame_figure(fig, Frame("Tỷ lệ hộ nghèo toàn tỉnh")), "png", 3)])
    assert png_size(png) == (5760, 3240)


def test_fontconfig_file_survives_many_sessions_writing_at_once(tmp_path, monkeypatch):
    """Regression (load test): threads exporting at once raced on one temporary file."""
    from concurrent.futures import ThreadPoolExecutor

    import povdata.export_images as ei

    monkeypatch.setattr(ei.tempfile, "tempdir", str(tmp_path))
    stale = tmp_path / f"povdata-fonts-{__import__('os').getuid()}.conf"
    for _ in range(5):  # the old code failed in ~9 of 10 such rounds
        stale.write_text("stale", encoding="utf-8")
        with ThreadPoolExecutor(16) as pool:
            paths = list(pool.map(lambda _: ei._fontconfig_file(), range(200)))
        assert set(paths) == {str(stale)}
    assert f"<dir>{FONT_DIR}</dir>" in stale.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == [stale.name]  # no temporary file left behind


@needs_chromium
def test_one_chromium_serves_every_export_until_it_is_closed_or_idle(monkeypatch):
    """Issue 16 point 4: the renderer starts once and is reused (a chart download took 2-3 s
    to start a browser each time; see benchmarks/bench_exports.py), from any thread; closed,
    or idle for RENDERER_IDLE_S, the next export starts a fresh one."""
    import threading
    import time

    import povdata.export_images as ex

    fig = frame_figure(go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2])), Frame("Thử"))
    ex.RENDERER.close()
    before = ex.RENDERER.starts
    first = ex.figure_image(fig)
    out: list[bytes] = []
    threads = [threading.Thread(target=lambda: out.append(ex.figure_image(fig, "svg"))) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert png_size(first) == (1920, 1080) and len(out) == 3 and all(b.lstrip().startswith(b"<svg") for b in out)
    assert ex.RENDERER.starts == before + 1  # four exports, three of them at once: one browser
    monkeypatch.setattr(ex, "RENDERER_IDLE_S", 0.2)
    ex.figure_image(fig)  # re-arms the idle timer at 0.2 s
    deadline = time.monotonic() + 20
    while ex.RENDERER._loop is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert ex.RENDERER._loop is None, "an idle renderer keeps its Chromium"
    ex.figure_image(fig)
    assert ex.RENDERER.starts == before + 2
