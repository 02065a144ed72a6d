"""Fail closed in a real browser (security review, attack 4): a server whose store was emptied
after users existed shows the error page at every address — no guest dashboard, no sign-in
form, and never Streamlit's own list of the modules in pages/ (admin, common, import_data)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from browser_helpers import wait_idle
from conftest import ARTIFACTS, serving


@pytest.fixture(scope="module")
def broken_url(_browser_available, tmp_path_factory):
    from auth_helpers import make_user
    from povdata.store import store_path

    data = tmp_path_factory.mktemp("povdash-broken")
    make_user(data, "admin")
    store_path(data).write_bytes(b"")  # truncated to 0 bytes, as the attacker did
    with serving(ARTIFACTS / "streamlit-fail-closed.log", {"POVDASH_DATA_DIR": str(data)}) as base:
        yield base


@pytest.mark.parametrize("path", ["/", "/ban-do", "/quan-tri", "/nhap-so-lieu", "/admin", "/common",
                                  "/import_data"])
def test_every_address_shows_the_error_and_nothing_else(browser, broken_url, path):
    pg = browser.new_page()
    try:
        pg.goto(broken_url + path, wait_until="domcontentloaded")
        wait_idle(pg)
        expect(pg.get_by_text("Không mở được kho dữ liệu").first).to_be_visible(timeout=30_000)
        body = pg.locator("body").inner_text()
        assert "Bản trình diễn" not in body and "Đăng nhập" not in body
        # no page list in the sidebar: neither the app's menu nor Streamlit's list of pages/
        assert pg.locator('[data-testid="stSidebarNav"]').count() == 0
        for internal in ("admin", "common", "import_data", "signin"):
            assert pg.get_by_role("link", name=internal).count() == 0
        assert pg.locator("input[type=password]").count() == 0
    finally:
        pg.close()
