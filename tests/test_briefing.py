"""The briefing pack built from the demo data: slides, images, editable Vietnamese text, PDF."""
from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from povdata.briefing import PX_PER_IN, SLIDE_H, SLIDE_W, build_pack, pdf_markup
from povdata.cli import main
from povdata.dataset import level_table, load_demo
from povdata.export_images import CHROMIUM, png_size
from povdata.i18n import fmt_count, fmt_rate, t
from povdata.progress import poor_districts_for

YEAR = 2025
DATE = dt.date(2026, 3, 2)
VI_MARKS = set("ăâđêôơưáàảãạấầẩẫậắằẳẵặéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ")


def expected_titles(lang: str) -> list[str]:
    from povdata.units import province_name

    poor = poor_districts_for("20", 2021, 2025)
    names = {"181": "Huyện Bình Gia", "184": "Huyện Văn Quan"}
    assert poor == list(names)
    return ([t("briefing.cover_title", lang, province=province_name("20")),
             t("briefing.kpi_title", lang, year=YEAR), t("briefing.map_title", lang, year=YEAR),
             t("briefing.scorecard_title", lang, period="2021-2025"), t("briefing.panel_title", lang),
             t("briefing.coverage_title", lang), t("briefing.flows_title", lang)]
            + [t("briefing.district_title", lang, name=names.get(c, c)) for c in poor]
            + [t("briefing.notes_title", lang)])


@pytest.fixture(scope="module")
def pack():
    if not Path(CHROMIUM).exists():
        pytest.skip("needs Debian's chromium")
    return build_pack(load_demo("20"), YEAR, "vi", date=DATE)


def test_layout_without_rendering_has_the_expected_slides_in_both_languages():
    for lang in ("vi", "en"):
        p = build_pack(load_demo("20"), YEAR, lang, date=DATE, render=False)
        assert [s.title for s in p.slides] == expected_titles(lang)
        assert p.pptx == b"" and all(pic.png == b"" for pic in p.pictures)
    # poor districts of 2021-2025 in the demo: Bình Gia and Văn Quan
    assert [s.title for s in p.slides if s.kind == "district"] == [
        "Huyện Bình Gia — poor district", "Huyện Văn Quan — poor district"]


def test_pack_builds_within_a_minute(pack):
    assert pack.seconds < 60, pack.timings


def test_pptx_slides_titles_and_editable_vietnamese_text(pack):
    prs = Presentation(io.BytesIO(pack.pptx))
    assert (prs.slide_width / 914400, prs.slide_height / 914400) == pytest.approx((SLIDE_W, SLIDE_H), abs=1e-3)
    slides = list(prs.slides)
    assert len(slides) == len(expected_titles("vi")) == 10
    assert [s.shapes.title.text_frame.text for s in slides] == expected_titles("vi")
    for s in slides:
        text = " ".join(sh.text_frame.text for sh in s.shapes if sh.has_text_frame)
        assert "Số liệu minh họa" in text  # the label on every slide, as text
        assert "Phiên bản số liệu: demo" in text  # footer: data version
        assert VI_MARKS & set(text), "no Vietnamese diacritics"
        runs = [r for sh in s.shapes if sh.has_text_frame for p in sh.text_frame.paragraphs for r in p.runs]
        assert runs and all(r.font.name == "Noto Sans" for r in runs)
    # the scorecard and the 2030 panel are real tables, with the district names as text
    tables = {i: [sh.table for sh in s.shapes if sh.has_table] for i, s in enumerate(slides)}
    card = tables[3][0]
    assert len(card.rows) == 12  # header + 11 districts
    assert {card.cell(r, 0).text for r in range(1, 12)} >= {"Huyện Bình Gia", "Huyện Văn Quan", "Huyện Đình Lập"}
    assert card.cell(0, 0).text == "Đơn vị"
    assert [tables[4][0].cell(r, 0).text for r in (1, 2)] == ["Huyện Bình Gia", "Huyện Văn Quan"]
    kpi_text = " ".join(sh.text_frame.text for sh in slides[1].shapes if sh.has_text_frame)
    assert "2,32%" in kpi_text  # Vietnamese number format, as text


def test_pptx_pictures_are_real_images_of_the_expected_size(pack):
    prs = Presentation(io.BytesIO(pack.pptx))
    pics = [(i, sh) for i, s in enumerate(prs.slides) for sh in s.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
    # charts and maps only: the province trajectory, the province map, two per poor district
    assert [i for i, _ in pics] == [1, 2, 7, 7, 8, 8]
    for (i, sh), spec in zip(pics, pack.pictures):
        assert sh.name == spec.name
        img = Image.open(io.BytesIO(sh.image.blob))
        assert img.format == "PNG"
        w_in, h_in = sh.width / 914400, sh.height / 914400
        assert img.size == png_size(sh.image.blob) == (round(w_in * PX_PER_IN), round(h_in * PX_PER_IN)) == spec.px
        a = np.asarray(img.convert("L"))
        assert (a < 250).mean() > 0.05, f"{sh.name} looks blank"
        assert (a < 120).mean() > 0.002, f"{sh.name} has no dark text or lines"
    names = [sh.name for _, sh in pics]
    assert names[:2] == ["province_trajectory", "province_map"]
    assert names[2:] == ["district_map_181", "district_trajectory_181", "district_map_184", "district_trajectory_184"]


def test_pdf_has_one_page_per_slide_with_searchable_vietnamese_text(pack, tmp_path):
    assert pack.pdf.startswith(b"%PDF")
    if not shutil.which("pdftotext"):
        pytest.skip("needs poppler-utils")
    f = tmp_path / "p.pdf"
    f.write_bytes(pack.pdf)
    info = subprocess.run(["pdfinfo", str(f)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"^Pages:\s+10$", info, re.M)
    assert re.search(r"^Page size:\s+959\.9\d* x 540 pts", info, re.M)  # 13.33 × 7.5 in, 16:9
    text = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout
    pages = [" ".join(p.split()) for p in text.split("\f")[:10]]
    for page, title in zip(pages, expected_titles("vi")):
        assert title in page, title
    assert "Số liệu minh họa" in text and "≤ 10%" in text
    fonts = subprocess.run(["pdffonts", str(f)], capture_output=True, text=True, check=True).stdout
    assert "NotoSans" in fonts and "emb" in fonts.splitlines()[0]
    assert all(" yes " in line for line in fonts.splitlines()[2:])  # every font embedded


def test_pdf_markup_sets_symbols_in_a_font_that_has_them():
    assert pdf_markup("≤ 10% & <b>") == '<font name="NotoSansMath">≤</font> 10% &amp; &lt;b&gt;'
    assert pdf_markup("Đình Lập") == "Đình Lập"


def test_cli_rejects_a_year_without_data(tmp_path, capsys):
    assert main(["briefing", "--year", "1999", "--out", str(tmp_path)]) == 1
    assert "LỖI" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


# ---- the year a pack opens on, and a pack for every year (committee-screen issue, point 7) ----------
def test_the_default_year_is_the_last_complete_review_a_period_judges():
    from povdata.briefing import default_year
    from povdata.dataset import level_table
    from povdata.targets import default_targets

    levels, cfg = level_table(load_demo("20")), default_targets("20")
    # the demo's latest review is 2026, the first under the 2026-2030 standard, which no
    # target period of the demo judges: the pack opens on 2025 (the last year of 2021-2025)
    assert int(levels["year"].max()) == 2026
    assert default_year(levels, cfg) == 2025
    # a 2025 review still missing a district: 2024
    gap = levels.drop(levels[(levels["level"] == "district") & (levels["year"] == 2025)].index[:1])
    assert default_year(gap, cfg) == 2024
    # no target period at all: the latest year
    from dataclasses import replace
    assert default_year(levels, replace(cfg, periods=[])) == 2026


def test_a_pack_for_a_year_after_the_period_still_has_its_scorecard_and_poor_district_slides():
    p = build_pack(load_demo("20"), 2026, "vi", date=DATE, render=False)
    titles = [s.title for s in p.slides]
    assert t("briefing.scorecard_title", "vi", period="2021-2025") in titles
    assert [s.title for s in p.slides if s.kind == "district"] == ["Huyện Bình Gia — huyện nghèo",
                                                                    "Huyện Văn Quan — huyện nghèo"]
    card = next(s for s in p.slides if s.title.startswith("Tiến độ mục tiêu các huyện"))
    assert "2025" in card.subtitle and "2026" not in card.subtitle  # judged as of the period's end
    assert all("số liệu đến 2025" in s.subtitle for s in p.slides if s.kind == "district")


def _locations(fig) -> set[str]:
    return {str(c) for tr in fig.data if tr.type == "choropleth" for c in tr.locations}


def test_each_district_map_is_a_map_of_the_packs_year():
    from povdata.dataset import new_commune_membership

    ds = load_demo("20")
    members = new_commune_membership(ds)
    p25 = build_pack(ds, 2025, "vi", date=DATE, render=False)
    pic = next(x for x in p25.pictures if x.name == "district_map_181")
    # 2025: the new communes on Bình Gia's territory (a 2025 map), not its old communes of 2024
    assert _locations(pic.figure) == set(members.loc[members["district_code"] == "181", "unit_code"])
    assert "năm 2025" in pic.frame.subtitle
    p24 = build_pack(ds, 2024, "vi", date=DATE, render=False)
    old = next(x for x in p24.pictures if x.name == "district_map_181")
    assert _locations(old.figure) and all(len(c) == 5 for c in _locations(old.figure))  # old commune codes
    assert "năm 2024" in old.frame.subtitle


def test_map_labels_never_overlap():
    import geopandas as gpd
    from shapely.geometry import Point

    from geo.choropleth import LABEL_FONT_PX, legible_labels

    # five names on points 0,005° apart on a 400 px map of a 1° square: only spread ones stay
    pts = gpd.GeoSeries([Point(105.0, 21.0), Point(105.005, 21.0), Point(105.5, 21.5), Point(105.505, 21.5),
                         Point(106.0, 22.0)], crs="EPSG:4326")
    kept = legible_labels(pts, ["Thiện Hòa", "Thiện Thuật", "Hoa Thám", "Quý Hòa", "Bình Gia"], 400, 400,
                          bounds=(105.0, 21.0, 106.0, 22.0))
    assert kept == [True, False, True, False, True]
    assert all(legible_labels(pts, ["a"] * 5, 4000, 4000, bounds=(105.0, 21.0, 106.0, 22.0)))
    assert LABEL_FONT_PX == 12


def test_the_commune_map_keeps_only_labels_that_fit():
    from geo.choropleth import legible_labels
    from povdata.dataset import demo_dir, level_table
    from povdata.maps import display_shapes, map_view
    from povdata.targets import default_targets

    ds = load_demo("20")
    shapes = display_shapes(demo_dir("20") / "boundaries.gpkg", "commune")
    mv = map_view(level_table(ds), default_targets("20"), shapes, "commune", 2024, "poverty_rate", "vi",
                  show_labels=True, height=620)
    (text,) = [tr for tr in mv.figure.data if tr.type == "scattergeo"]
    assert 10 < len(text.text) < len(shapes)  # 194 names cannot all be read on one map
    pts = gpd_points(text)
    again = legible_labels(pts, list(text.text), 520, 520, bounds=tuple(shapes.total_bounds))
    assert all(again)  # the kept ones, placed again, do not collide


def gpd_points(trace):
    import geopandas as gpd
    from shapely.geometry import Point
    return gpd.GeoSeries([Point(x, y) for x, y in zip(trace.lon, trace.lat)], crs="EPSG:4326")


def test_the_cli_briefing_without_a_year_uses_the_dashboards_default(tmp_path, monkeypatch):
    import povdata.briefing as briefing

    seen = []
    monkeypatch.setattr(briefing, "build_pack", lambda ds, year, *a, **k: seen.append(year) or (_ for _ in ()).throw(
        SystemExit(0)))
    with pytest.raises(SystemExit):
        main(["briefing", "--out", str(tmp_path)])
    assert seen == [2025]


def test_the_pack_has_a_service_coverage_slide_and_a_flows_slide():
    p = build_pack(load_demo("20"), YEAR, "vi", date=DATE, render=False)
    cov = next(s for s in p.slides if s.kind == "coverage")
    table = cov.items[0]
    assert len(table.rows) == 8 and "2021-2025" in cov.subtitle  # the resolution's 8 service targets
    water = next(r for r in table.rows if r[0] == "Hộ nghèo có nước sinh hoạt hợp vệ sinh")
    assert water[1] == "đạt từ 99% trở lên" and water[5] == "Sở Nông nghiệp và Phát triển nông thôn"
    assert water[6] in ("Đạt", "Không đạt")  # judged on the 2025 review, the deadline's
    flows = next(s for s in p.slides if s.kind == "flows")
    rows = flows.items[0].rows
    assert rows[-1][0] == "2025" and "2021" not in [r[0] for r in rows]  # no flows in a standard's first review
    lv = level_table(load_demo("20"))
    prov = lv[(lv["unit_code"] == "20") & (lv["year"] == 2025)].iloc[0]
    assert rows[-1][2] == fmt_count(prov["escaped_poor"], "vi")
    assert rows[-1][3] == fmt_rate(prov["escaped_poor"] / prov["poor_households_start"] * 100, "vi")
    alert = flows.items[1].paras[0].text
    over = lv[(lv["level"] == "district") & (lv["year"] == 2025) & (lv["re_poor"] > 0.10 * lv["escaped_poor"])]
    assert len(over) and all(n in alert for n in over["name"])  # "tái nghèo above 10% of exits", named
    ethnic = flows.items[1].paras[1].text
    em = prov["ethnic_minority_poor"] / prov["ethnic_minority_households"] * 100
    assert fmt_count(prov["ethnic_minority_poor"], "vi") in ethnic and fmt_rate(em, "vi") in ethnic
