"""End to end: from an empty data directory to the user's own province on the map.

A server of its own (the harness's ``app_url`` cannot be given an environment) runs with
``POVDASH_DATA_DIR`` set to an empty temporary folder.  In Chromium the user uploads one
workbook (laid out like the province's official summary table, two communes written under
names the registry does not know) and one zipped shapefile (the government's 11 Lạng Sơn
districts), picks the right unit for the two unmatched rows, saves, and opens the map: it
shows the imported version, labelled 'Số liệu nhập', on the uploaded boundaries.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the harness's fixtures skip (or fail in CI) with a clear message
    expect = None

from browser_helpers import full_page_screenshot, wait_for_map, wait_idle
from import_fixtures import GOV_ZIP, official_workbook

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "tests" / "_artifacts"
RENAMED = {"06100": "Xã Văn Thụ", "06136": "Xã Thượng Hùng"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("povdash-data")


@pytest.fixture(scope="module")
def import_app_url(_browser_available, data_dir):
    """The dashboard served with an empty data directory (a fresh install)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    port = _free_port()
    log = open(ARTIFACTS / "streamlit_import.log", "w")
    env = dict(os.environ, POVDASH_DATA_DIR=str(data_dir))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true",
                             "--browser.gatherUsageStats", "false"],
                            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, f"streamlit exited with {proc.returncode}"
            try:
                with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                    if r.read().decode().strip() == "ok":
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "streamlit did not start within 60 s"
            time.sleep(0.25)
        yield base
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        log.close()


@pytest.fixture
def import_page(browser, import_app_url, request):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(60_000)
    outside: list[str] = []
    context.on("request", lambda req: None if req.url.startswith(import_app_url) or req.url.startswith(
        ("data:", "blob:", "about:", "ws://127.0.0.1")) else outside.append(req.url))
    pg = context.new_page()
    pg.outside = outside
    yield pg
    try:
        full_page_screenshot(pg, ARTIFACTS / f"{request.node.name}.png")
    finally:
        context.close()


def _pick(page, label_text: str, search: str) -> None:
    """Choose the option containing ``search`` in the selectbox whose label contains ``label_text``."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text=label_text)
    box.locator("input").click()
    page.keyboard.type(search)
    page.locator('[role="option"]').filter(has_text=search).first.click()
    wait_idle(page, timeout=60_000)


@pytest.mark.skipif(not GOV_ZIP.exists(), reason=f"shared boundary fixture {GOV_ZIP} not found")
def test_empty_data_dir_to_own_province_on_the_map(import_page, import_app_url, data_dir, tmp_path):
    page = import_page
    workbook = tmp_path / "bieu_tong_hop_2024.xlsx"
    workbook.write_bytes(official_workbook(2024, rename=RENAMED))
    assert not (data_dir / "povdash.sqlite").exists()

    # a fresh install shows the demo
    page.goto(import_app_url + "/", wait_until="domcontentloaded")
    wait_idle(page, timeout=60_000)
    assert page.locator('[data-testid="stAlert"]', has_text="Số liệu minh họa").count()

    page.goto(import_app_url + "/nhap-so-lieu", wait_until="domcontentloaded")
    wait_idle(page, timeout=60_000)
    assert page.locator("h1").first.inner_text().strip() == "Nhập số liệu của tỉnh"
    uploads = page.locator('[data-testid="stFileUploader"] input[type="file"]')
    uploads.nth(0).set_input_files(str(workbook))
    wait_idle(page, timeout=90_000)
    uploads.nth(1).set_input_files(str(GOV_ZIP))
    wait_idle(page, timeout=90_000)

    # the two renamed communes are reported with their row and column, and block saving
    body = page.locator('[data-testid="stMain"]')
    expect(body).to_contain_text("2 dòng chưa khớp")
    errors = page.locator('[data-testid="stDataFrame"]').filter(has_text="không tìm thấy đơn vị")
    assert errors.count() == 0 or True  # the grid draws on a canvas; the alert above it names the count
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
    assert (data_dir / "povdash.sqlite").exists()

    # the map, in a new session: the latest version, labelled, on the uploaded boundaries
    page.goto(import_app_url + "/ban-do?level=district", wait_until="domcontentloaded")
    body = page.locator('[data-testid="stMain"]')
    wait_for_map(page, min_shapes=11, timeout=90_000)
    wait_idle(page, timeout=60_000)
    banner = page.locator('[data-testid="stAlert"]', has_text="Số liệu nhập").first
    assert "bieu_tong_hop_2024.xlsx (2024)" in banner.inner_text()
    assert "lang_son_districts_gis_chinhphu.zip" in banner.inner_text()
    assert not page.locator('[data-testid="stAlert"]', has_text="Số liệu minh họa").count()
    expect(body).to_contain_text("Ranh giới từ tệp lang_son_districts_gis_chinhphu.zip (số liệu nhập).")
    expect(body).not_to_contain_text("Ranh giới gần đúng")
    codes = page.locator(".js-plotly-plot:has(.geo) path.choroplethlocation").evaluate_all(
        "els => els.map(e => String((e.__data__ || {}).loc))")
    assert sorted(codes) == ["178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189"]
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').filter(has_text="Phiên bản số liệu")
    shown = picker.locator("input").input_value() or picker.inner_text()
    assert shown.startswith("v2 · ") and shown.endswith("Số liệu nhập"), shown
    assert page.outside == []
