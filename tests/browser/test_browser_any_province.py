"""End to end in Chromium: another province than the demo's, brought in through the page.

An editor (not tied to a province) picks Thái Nguyên in the sidebar and, within it, the
former province Bắc Kạn; the URL keeps both.  Two earlier years (2021, 2022) are already
stored; through "Nhập số liệu" the editor uploads Bắc Kạn's 2023 district rate table (typed
by staff: names only, decimal commas, a 'Toàn tỉnh' row, no household counts) and a
GADM-style district file with GADM's misspellings; the review step holds 'Chợ Ðồn' and
'Ngân Son' for review and says what the file covers; the version is saved.  The map then
draws Bắc Kạn's 8 districts with the 2023 rates, and the progress page gives the province's
verdict on the national programme's target (a 1-1,5 pp/yr range: exceeded), naming its period.  Screenshots go to
``tests/browser/artifacts``.
"""
from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:
    expect = None

import real_like
from auth_helpers import PASSWORD
from browser_helpers import ARTIFACTS, ROLE_USERS, open_typed_url, sign_in, wait_for_map, wait_idle

pytestmark = pytest.mark.browser
EDITOR = ROLE_USERS["editor"]


def _pick(page, label_text: str, search: str, where: str = "") -> None:
    box = page.locator(f'{where} [data-testid="stSelectbox"]'.strip()).filter(has_text=label_text)
    box.locator("input").click()
    page.keyboard.type(search)
    page.locator('[role="option"]').filter(has_text=search).first.click()
    wait_idle(page, timeout=60_000)


def _earlier_years(data_dir) -> None:
    """2021 and 2022 stored before the test (as if imported in earlier years)."""
    from povdata.importer import prepare_indicators, save_import
    from povdata.store import open_store

    for year, shift, total in ((2021, 6.0, "24,74"), (2022, 3.0, "21,74")):
        rows = [(n, f"{float(r.replace(',', '.')) + shift:.2f}".replace(".", ","), x)
                for n, r, x in real_like.BAC_KAN_2023]
        data = real_like.district_rate_table("tỉnh Bắc Kạn", year, rows, ("Toàn tỉnh", total, "8,0"))
        imp = prepare_indicators(data, f"bac_kan_{year}.xlsx", "19")
        assert imp.ok, [str(p) for p in imp.report.errors]
        save_import(open_store(data_dir), "19", imp, created_by="cán bộ trước")


def test_editor_opens_bac_kan_within_thai_nguyen_and_imports_its_district_table(
        signin_page, signin_app_url, signin_data_dir, tmp_path, outside_requests):
    page, base = signin_page, signin_app_url
    page.set_default_timeout(60_000)
    _earlier_years(signin_data_dir)
    table = tmp_path / "bac_kan_ty_le_ho_ngheo_2023.xlsx"
    table.write_bytes(real_like.bac_kan_table(2023))
    gadm = tmp_path / "bac_can.geojson"
    gadm.write_bytes(real_like.gadm_geojson("06"))

    open_typed_url(page, base + "/")
    sign_in(page, EDITOR, PASSWORD)
    _pick(page, "Tỉnh, thành phố", "Thái Nguyên", '[data-testid="stSidebar"]')
    _pick(page, "Tỉnh cũ", "Bắc Kạn", '[data-testid="stSidebar"]')
    # the URL is updated after the run that picked the former province: wait for it
    expect(page).to_have_url(re.compile(r"province=19.*former=06|former=06.*province=19"), timeout=30_000)

    page.locator('[data-testid="stSidebarNav"] a', has_text="Nhập số liệu").click()
    wait_idle(page, timeout=60_000)
    body = page.locator('[data-testid="stMain"]')
    expect(body).to_contain_text("Tỉnh Thái Nguyên")
    uploads = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploads.nth(0).set_input_files(str(table))
    wait_idle(page, timeout=90_000)
    uploads.nth(1).set_input_files(str(gadm))
    wait_idle(page, timeout=90_000)
    expect(body).to_contain_text("Năm 2023: 1 / 1 tỉnh; 8 / 8 huyện.")
    expect(body).to_contain_text("tên viết khác danh mục")
    page.screenshot(path=str(ARTIFACTS / "any_province_import_review.png"), full_page=True)
    save = page.get_by_role("button", name="Lưu phiên bản mới")
    expect(save).to_be_enabled()
    save.click()
    expect(body).to_contain_text("Đã lưu phiên bản v3", timeout=90_000)

    page.locator('[data-testid="stSidebarNav"] a', has_text="Bản đồ").click()
    try:
        wait_for_map(page, min_shapes=8, timeout=90_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "any_province_map.png"))
    wait_idle(page, timeout=60_000)
    codes = page.locator(".js-plotly-plot:has(.geo) path.choroplethlocation").evaluate_all(
        "els => els.map(e => String((e.__data__ || {}).loc))")
    assert sorted(codes) == sorted(real_like.GADM_NAMES["06"])
    expect(body).to_contain_text("Huyện Pác Nặm")
    page.screenshot(path=str(ARTIFACTS / "any_province_map.png"))

    page.locator('[data-testid="stSidebarNav"] a', has_text="Tiến độ mục tiêu").click()
    wait_idle(page, timeout=60_000)
    expect(body).to_contain_text("2021-2025")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Tình trạng")
    expect(metric.first).to_contain_text("Vượt chỉ tiêu")  # 3 pp/yr against the national 1-1,5
    page.screenshot(path=str(ARTIFACTS / "any_province_progress.png"))
    assert outside_requests == [], f"the browser contacted outside hosts: {outside_requests}"
