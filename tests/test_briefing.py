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
from povdata.dataset import load_demo
from povdata.export_images import CHROMIUM, png_size
from povdata.i18n import t
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
             t("briefing.scorecard_title", lang, period="2021-2025"), t("briefing.panel_title", lang)]
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
    assert len(slides) == len(expected_titles("vi")) == 8
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
    assert [i for i, _ in pics] == [1, 2, 5, 5, 6, 6]
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
    assert re.search(r"^Pages:\s+8$", info, re.M)
    assert re.search(r"^Page size:\s+959\.9\d* x 540 pts", info, re.M)  # 13.33 × 7.5 in, 16:9
    text = subprocess.run(["pdftotext", str(f), "-"], capture_output=True, text=True, check=True).stdout
    pages = [" ".join(p.split()) for p in text.split("\f")[:8]]
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
