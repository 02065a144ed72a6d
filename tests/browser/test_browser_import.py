"""End to end: an editor signs in and brings the province's own data in; a viewer sees it on the map.

The module's server (``signin_app_url``) serves a data directory that holds only users (one
per role), so the app is in sign-in mode and has no data version yet.  In Chromium: before
sign-in only the sign-in form exists, whatever URL is typed; the editor signs in through the
form, opens "Nhập số liệu" from the menu, uploads one workbook (laid out like the province's
official summary table, two communes written under names the registry does not know) and
one zipped shapefile (the government's 11 Lạng Sơn districts), picks the right unit for the
two unmatched rows and saves: the new version is recorded as the editor's.  Then, in a new
session, a viewer signs in and the map shows the imported version, labelled 'Số liệu nhập',
on the uploaded boundaries.
"""
from __future__ import annotations

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the harness's fixtures skip (or fail in CI) with a clear message
    expect = None

from auth_helpers import PASSWORD
from browser_helpers import (ARTIFACTS, ROLE_USERS, assert_sign_in_page_only, download_table, nav_titles,
                             open_typed_url, sign_in, signed_in_caption, wait_for_map, wait_idle)
from import_fixtures import GOV_ZIP, official_workbook

pytestmark = pytest.mark.browser

RENAMED = {"06100": "Xã Văn Thụ", "06136": "Xã Thượng Hùng"}
EDITOR, VIEWER = ROLE_USERS["editor"], ROLE_USERS["viewer"]


def _pick(page, label_text: str, search: str) -> None:
    """Choose the option containing ``search`` in the selectbox whose label contains ``label_text``."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label_text)
    box.locator("input").click()
    page.keyboard.type(search)
    page.locator('[role="option"]').filter(has_text=search).first.click()
    wait_idle(page, timeout=60_000)


@pytest.mark.skipif(not GOV_ZIP.exists(), reason=f"shared boundary fixture {GOV_ZIP} not found")
def test_editor_signs_in_and_imports_own_province(signin_page, signin_app_url, signin_data_dir, tmp_path,
                                                  outside_requests):
    from povdata.auth import auth_mode
    from povdata.store import open_store, versions

    page, base = signin_page, signin_app_url
    page.set_default_timeout(60_000)
    workbook = tmp_path / "bieu_tong_hop_2024.xlsx"
    workbook.write_bytes(official_workbook(2024, rename=RENAMED))
    assert auth_mode(signin_data_dir) == "password"
    assert versions(open_store(signin_data_dir), "20") == []  # users only: no data yet

    # before sign-in only the sign-in form exists, whatever the URL; no data is shown
    for path in ("/ban-do", "/nhap-so-lieu", "/"):
        open_typed_url(page, base + path)
        assert_sign_in_page_only(page)

    sign_in(page, EDITOR, PASSWORD)
    caption = signed_in_caption(page)
    expect(caption).to_have_text("Đăng nhập: editor-thu · biên tập viên")  # markdown rendered: no asterisks
    expect(caption.locator("strong")).to_have_text(EDITOR)
    menu = nav_titles(page)
    assert "Nhập số liệu" in menu and "Quản trị" not in menu, menu

    page.locator('[data-testid="stSidebarNav"] a', has_text="Nhập số liệu").click()
    wait_idle(page, timeout=60_000)
    assert page.locator("h1").first.inner_text().strip() == "Nhập số liệu của tỉnh"
    expect(page.locator(".st-key-imp_who input")).to_have_value(EDITOR)  # who imports: the signed-in user
    expect(page.locator(".st-key-imp_who input")).to_be_disabled()
    uploads = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploads.nth(0).set_input_files(str(workbook))
    wait_idle(page, timeout=90_000)
    uploads.nth(1).set_input_files(str(GOV_ZIP))
    wait_idle(page, timeout=90_000)

    # the two renamed communes are reported and block saving
    body = page.locator('[data-testid="stMain"]')
    expect(body).to_contain_text("2 dòng chưa khớp")
    expect(body).to_contain_text("2 lỗi phải sửa trước khi lưu")
    save = page.get_by_role("button", name="Lưu phiên bản mới")
    expect(save).to_be_disabled()
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Dòng 50").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "import_review_before_fix.png"))

    _pick(page, "Dòng 50", "06100")
    expect(body).to_contain_text("1 dòng chưa khớp")
    _pick(page, "Dòng 62", "06136")
    expect(body).not_to_contain_text("dòng chưa khớp")
    expect(body).to_contain_text("Đã sửa tay 2 dòng.")
    expect(body).to_contain_text("Hợp lệ: 205 dòng, trong đó 194 dòng cấp xã, năm 2024-2024.")
    expect(body).to_contain_text("Hợp lệ: 11 đơn vị Huyện có ranh giới.")
    expect(save).to_be_enabled()
    save.click()
    expect(body).to_contain_text("Đã lưu phiên bản v2", timeout=90_000)
    wait_idle(page, timeout=60_000)

    # the versions table on the page (drawn on a canvas: read through its CSV download)
    table = download_table(page, "versions_dl")
    latest = table.iloc[0]
    assert (latest["Phiên bản"], latest["Người nhập"]) == ("v2", EDITOR), table.to_dict("records")
    assert latest["Tệp chỉ tiêu"] == "bieu_tong_hop_2024.xlsx", table.to_dict("records")
    stored = versions(open_store(signin_data_dir), "20")[0]
    assert (stored.number, stored.created_by) == (2, EDITOR)

    # a viewer, after the editor signed out: the latest version, labelled, on the uploaded boundaries
    page.get_by_role("button", name="Đăng xuất").click()
    open_typed_url(page, base + "/")
    assert_sign_in_page_only(page)
    sign_in(page, VIEWER, PASSWORD)
    page.locator('[data-testid="stSidebarNav"] a', has_text="Bản đồ").click()
    body = page.locator('[data-testid="stMain"]')
    drawn = wait_for_map(page, min_shapes=11, timeout=90_000)
    wait_idle(page, timeout=60_000)
    # the page keeps the import page's scroll position (a long page): bring the map into the view first
    drawn.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "import_viewer_map.png"))  # the stored display geometry, drawn
    # the map page's one-line data label: the badge, then the sources and the version
    banner = page.locator('[data-testid="stCaptionContainer"]', has_text="Số liệu nhập").first
    assert "bieu_tong_hop_2024.xlsx (2024)" in banner.inner_text()
    assert "lang_son_districts_gis_chinhphu.zip" in banner.inner_text()
    assert not page.locator('[data-testid="stAlert"], [data-testid="stCaptionContainer"]',
                            has_text="Số liệu minh họa").count()
    expect(body).to_contain_text("Ranh giới từ tệp lang_son_districts_gis_chinhphu.zip (số liệu nhập).")
    expect(body).not_to_contain_text("Ranh giới gần đúng")
    codes = page.locator(".js-plotly-plot:has(.geo) path.choroplethlocation").evaluate_all(
        "els => els.map(e => String((e.__data__ || {}).loc))")
    assert sorted(codes) == ["178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189"]
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Phiên bản số liệu")
    shown = picker.locator("input").input_value() or picker.inner_text()
    assert shown.startswith("v2 · ") and shown.endswith("Số liệu nhập"), shown
    assert outside_requests == [], f"the browser contacted outside hosts: {outside_requests}"
