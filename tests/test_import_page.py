"""The import page and the version switch through Streamlit's AppTest (no browser)."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import banner_text
from auth_helpers import make_user, signed_in
from import_fixtures import official_workbook
from povdata.importer import prepare_indicators, save_import
from povdata.store import open_store

APP = str(Path(__file__).resolve().parents[1] / "dashboard.py")


def _app(monkeypatch, data_dir: Path, page: str | None = None, role: str | None = "editor") -> AppTest:
    """The app on ``data_dir``; with ``role`` (and a page other than the demo's) an editor is
    signed in — importing needs one."""
    monkeypatch.setenv("POVDASH_DATA_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    if page and role:
        signed_in(at, make_user(data_dir, role))
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def test_empty_data_dir_shows_the_demo_without_a_version_picker(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path / "var")
    assert "Số liệu minh họa" in banner_text(at)
    assert not [s for s in at.sidebar.selectbox if s.label == "Phiên bản số liệu"]
    assert not (tmp_path / "var").exists()  # showing the app writes nothing


def test_import_page_opens_in_vietnamese(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path, "pages/import_data.py")
    assert at.title[0].value == "Nhập số liệu của tỉnh"
    assert [h.value for h in at.header] == ["1. Tệp chỉ tiêu", "2. Tệp ranh giới", "3. Lưu thành phiên bản mới",
                                            "Các phiên bản đã lưu"]
    save = next(b for b in at.button if b.label == "Lưu phiên bản mới")
    assert save.disabled  # nothing uploaded yet


def test_latest_version_is_shown_and_earlier_ones_can_be_picked(monkeypatch, tmp_path):
    imp = prepare_indicators(official_workbook(2023, rename={"<nothing>": ""}), "bieu_2023.xlsx", "20")
    assert imp.ok
    v = save_import(open_store(tmp_path), "20", imp, created_by="cán bộ B")
    at = _app(monkeypatch, tmp_path)
    banner = banner_text(at)
    # the landing page's one line: the badge, then the file's name escaped for markdown
    assert banner.startswith(":blue-badge[📥 Số liệu nhập] Nguồn: bieu\\_2023\\.xlsx \\(2023\\)"), banner
    assert "Số liệu minh họa" not in banner
    pick = next(s for s in at.sidebar.selectbox if s.label == "Phiên bản số liệu")
    assert len(pick.options) == 2 and pick.value == v.id
    demo_id = [o for o in (v.id - 1,)][0]
    pick.set_value(demo_id).run()
    assert not at.exception
    assert "Số liệu minh họa" in banner_text(at)  # the demo version, labelled as such
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Tỷ lệ hộ nghèo"]


@pytest.mark.parametrize("name", ["<img src=x onerror=alert(1)>.xlsx", "[link](javascript:alert(1)).xlsx"])
def test_file_names_are_never_rendered(monkeypatch, tmp_path, name):
    imp = prepare_indicators(official_workbook(2023), name, "20")
    save_import(open_store(tmp_path), "20", imp)
    at = _app(monkeypatch, tmp_path)
    info = banner_text(at)
    assert "Số liệu nhập" in info
    assert "<img" not in info and "&lt;img" in info or "\\[link\\]\\(javascript" in info
