"""Sign-in and roles in a real browser: what a viewer, an editor and an admin can reach.

The module's server (``signin_app_url``) serves a data directory holding one user per role
and two versions the editor imported (stored before the server starts, through the same
``save_import`` the import page calls; the browser import itself is in
``test_browser_import.py``).

Two ways to "type a URL" are shown.  A URL typed in the address bar loads the page anew,
which starts a new Streamlit session: the sign-in cookie keeps it signed in (another
browser, without the cookie, gets only the sign-in form; Streamlit says "Page not found" for
any other path, then runs the sign-in page).  Inside a session the browser's Back/Forward
buttons change the URL without a reload (``go_in_session``).  Either way Streamlit opens the
page the URL names *if the user's menu holds it*, otherwise the default page.  An editor
moving to ``/nhap-so-lieu`` gets the import page, which shows the move works; a viewer gets
the overview.

Streamlit's first-deep-link quirk (upstream issue 9992, see README.md) cannot show here:
every deep link a signed-out session opens is a page it does not have.
"""
from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the harness's fixtures skip (or fail in CI) with a clear message
    expect = None

from auth_helpers import PASSWORD
from browser_helpers import (FILE_INPUTS, NAV_LINKS, PAGE_NOT_FOUND, ROLE_USERS, assert_sign_in_page_only,
                             close_page_not_found, download_table, go_in_session, keep_screenshot, nav_titles,
                             open_dialogs, open_typed_url, sign_in, signed_in_caption, submit_sign_in, wait_idle)
from import_fixtures import official_workbook

pytestmark = pytest.mark.browser

VIEWER, EDITOR, ADMIN = ROLE_USERS["viewer"], ROLE_USERS["editor"], ROLE_USERS["admin"]
VIEWER_MENU = ["Tổng quan", "Bản đồ", "Tiến độ mục tiêu", "Chương trình", "Thử kịch bản", "Mục tiêu"]
OVERVIEW_TITLE = "Theo dõi mục tiêu giảm nghèo"
IMPORT_TITLE = "Nhập số liệu của tỉnh"
FILES = ("bieu_tong_hop_2023.xlsx", "bieu_tong_hop_2024.xlsx")
WRONG = "Tên đăng nhập hoặc mật khẩu không đúng."


@pytest.fixture(scope="module")
def signin_data_dir(signin_data_dir):
    """The harness's users, plus two versions imported by the editor (v2: 2023, v3: 2024)."""
    from povdata.auth import identity_user
    from povdata.importer import prepare_indicators, save_import
    from povdata.store import open_store

    store = open_store(signin_data_dir)
    editor = identity_user(store, EDITOR)
    for year, name in zip((2023, 2024), FILES):
        imp = prepare_indicators(official_workbook(year), name, "20")
        assert imp.ok, imp.report.problems[:3]
        save_import(store, "20", imp, user=editor, note=f"rà soát {year}")
    return signin_data_dir


def h1(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def assert_not_import_or_admin(page) -> None:
    """Neither the import page nor the admin page, and no way to upload anything."""
    assert h1(page) not in (IMPORT_TITLE, "Quản trị"), h1(page)
    main = page.locator('[data-testid="stMain"]')
    expect(main).not_to_contain_text(IMPORT_TITLE)
    expect(main).not_to_contain_text("Không mở được trang này")  # not even reached to be refused
    assert page.locator(FILE_INPUTS).count() == 0, "a file input is on the page"
    assert page.locator('[data-testid="stFileUploader"]').count() == 0
    assert page.get_by_role("tab", name="Nhật ký thay đổi").count() == 0


def test_wrong_password_is_refused_in_vietnamese(signin_page, signin_app_url, outside_requests):
    page = signin_page
    open_typed_url(page, signin_app_url + "/")
    assert_sign_in_page_only(page)
    expect(page.locator('[data-testid="stMain"]')).to_contain_text("hãy đăng nhập bằng tài khoản do quản trị viên cấp")
    # a sign-in form to the browser's password manager, not a sign-up one
    assert page.get_by_label("Tên đăng nhập").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Mật khẩu").get_attribute("autocomplete") == "current-password"
    keep_screenshot(page, "signin_page")

    # a wrong password and an unknown name get the same answer (names are not revealed)
    for name, password in ((VIEWER, PASSWORD + "-sai"), ("khong-co-ai", PASSWORD)):
        submit_sign_in(page, name, password)
        alert = page.locator('[data-testid="stAlert"]')
        expect(alert).to_have_count(1)
        expect(alert).to_contain_text(WRONG)
        assert h1(page) == "Đăng nhập"
        assert page.locator(NAV_LINKS).count() == 0 and signed_in_caption(page).count() == 0
        assert page.locator(".js-plotly-plot").count() == 0
    keep_screenshot(page, "signin_wrong_password")
    assert outside_requests == [], f"the browser contacted outside hosts: {outside_requests}"


def test_viewer_menu_and_urls_never_reach_import_or_admin(signin_page, signin_app_url, outside_requests):
    page, base = signin_page, signin_app_url
    open_typed_url(page, base + "/")
    sign_in(page, VIEWER, PASSWORD)
    expect(signed_in_caption(page)).to_have_text(f"Đăng nhập: {VIEWER} · người xem")
    assert nav_titles(page) == VIEWER_MENU, nav_titles(page)
    hrefs = page.locator(NAV_LINKS).evaluate_all("els => els.map(e => new URL(e.href).pathname)")
    assert not {"/nhap-so-lieu", "/quan-tri"} & set(hrefs), hrefs
    assert h1(page).startswith(OVERVIEW_TITLE)
    keep_screenshot(page, "viewer_menu")

    # the URL changed inside the signed-in session (Back/Forward): a page of the menu opens ...
    assert go_in_session(page, "/ban-do") == "/ban-do"
    assert h1(page) == "Bản đồ"
    # ... but the import and admin URLs fall back to the default page
    for path in ("/nhap-so-lieu", "/quan-tri"):
        assert go_in_session(page, path) == "/", f"{path} stayed in the address bar"
        close_page_not_found(page)
        assert h1(page).startswith(OVERVIEW_TITLE), h1(page)
        assert_not_import_or_admin(page)
        assert nav_titles(page) == VIEWER_MENU

    # typed in the address bar: a new Streamlit session, still signed in (the sign-in cookie),
    # and the import and admin addresses still fall back to the default page
    for path in ("/nhap-so-lieu", "/quan-tri"):
        open_typed_url(page, base + path)
        expect(signed_in_caption(page)).to_have_text(f"Đăng nhập: {VIEWER} · người xem")
        assert h1(page).startswith(OVERVIEW_TITLE), h1(page)
        assert_not_import_or_admin(page)
        assert nav_titles(page) == VIEWER_MENU

    # another browser (no cookie): the sign-in form only, at that address; signing in there
    # opens the default page, not the typed one (Streamlit may say "Page not found" on the way)
    other = page.context.browser.new_page()
    try:
        for path in ("/nhap-so-lieu", "/quan-tri"):
            dialogs = open_typed_url(other, base + path)
            assert all(d.startswith(PAGE_NOT_FOUND) for d in dialogs), dialogs
            assert_sign_in_page_only(other)
        sign_in(other, VIEWER, PASSWORD)
        close_page_not_found(other)
        assert h1(other).startswith(OVERVIEW_TITLE), h1(other)
        assert_not_import_or_admin(other)
        assert nav_titles(other) == VIEWER_MENU
        assert open_dialogs(other) == []
    finally:
        other.close()
    assert outside_requests == [], f"the browser contacted outside hosts: {outside_requests}"


def test_editor_reaches_import_but_not_admin_by_url(signin_page, signin_app_url, outside_requests):
    """The control for the viewer's test: the same in-session move does open a page the role may open."""
    page = signin_page
    open_typed_url(page, signin_app_url + "/")
    sign_in(page, EDITOR, PASSWORD)
    assert nav_titles(page) == VIEWER_MENU + ["Nhập số liệu"], nav_titles(page)

    assert go_in_session(page, "/nhap-so-lieu") == "/nhap-so-lieu"
    assert h1(page) == IMPORT_TITLE
    assert page.locator(FILE_INPUTS).count() == 2  # indicator file and boundary file

    assert go_in_session(page, "/quan-tri") == "/"
    close_page_not_found(page)
    assert h1(page).startswith(OVERVIEW_TITLE), h1(page)
    assert page.get_by_role("tab", name="Nhật ký thay đổi").count() == 0
    assert outside_requests == [], f"the browser contacted outside hosts: {outside_requests}"


def test_admin_sees_users_versions_and_the_import_in_the_audit_trail(signin_page, signin_app_url,
                                                                    signin_data_dir, outside_requests):
    from povdata.store import open_store, versions

    page = signin_page
    open_typed_url(page, signin_app_url + "/")
    sign_in(page, ADMIN, PASSWORD)
    expect(signed_in_caption(page)).to_have_text(f"Đăng nhập: {ADMIN} · quản trị viên")
    assert nav_titles(page) == VIEWER_MENU + ["Nhập số liệu", "Quản trị"], nav_titles(page)

    page.locator(NAV_LINKS, has_text="Quản trị").click()
    wait_idle(page)
    assert h1(page) == "Quản trị"
    tabs = page.get_by_role("tab")
    assert [t.strip() for t in tabs.all_inner_texts()] == ["Người dùng", "Phiên bản số liệu", "Nhật ký thay đổi"]

    # users: the account picker lists every other user (an admin does not change their own account here)
    page.locator(".st-key-admin_who input").click()
    options = [o.strip() for o in page.locator('[role="option"]').all_inner_texts()]
    page.keyboard.press("Escape")
    assert options == sorted(u for u in ROLE_USERS.values() if u != ADMIN), options
    wait_idle(page)
    keep_screenshot(page, "admin_users")

    # versions: the current one is the editor's latest import; the earlier ones can be restored
    latest = versions(open_store(signin_data_dir), "20")[0]
    assert (latest.number, latest.created_by) == (3, EDITOR)
    page.get_by_role("tab", name="Phiên bản số liệu").click()
    panel = page.get_by_role("tabpanel").filter(visible=True)
    expect(panel).to_contain_text("Phiên bản hiện hành: v3")
    expect(panel.locator(".st-key-admin_rb input")).to_have_value(
        re.compile(rf"^v2 · .* · {EDITOR} · {re.escape(FILES[0])} \(2023\)$"))
    expect(page.get_by_role("button", name="Quay lại phiên bản đã chọn")).to_be_disabled()  # until confirmed

    # audit trail: one row per import, by the editor, naming the file and the version
    page.get_by_role("tab", name="Nhật ký thay đổi").click()
    wait_idle(page)
    keep_screenshot(page, "admin_audit")
    trail = download_table(page, "admin_audit_dl")
    imports = trail[trail["Thao tác"] == "Nhập số liệu"]
    assert imports["Người thực hiện"].tolist() == [EDITOR, EDITOR], trail.to_dict("records")
    summaries = imports["Nội dung"].tolist()
    assert any(s.startswith(f"Nhập {FILES[1]}") and s.endswith("phiên bản v3") for s in summaries), summaries
    assert any(s.startswith(f"Nhập {FILES[0]}") and s.endswith("phiên bản v2") for s in summaries), summaries
    assert set(trail["Thao tác"]) >= {"Thêm người dùng", "Nhập số liệu"}, set(trail["Thao tác"])
    assert not trail.apply(lambda col: col.astype(str).str.contains("argon2")).any().any(), "a password hash"
    assert outside_requests == [], f"the browser contacted outside hosts: {outside_requests}"


def test_a_shared_deep_link_opens_after_sign_in(signin_page, signin_app_url, outside_requests):
    """A committee member opens a link a colleague sent (a district's map, in English) while
    signed out: the sign-in form shows at that address, and signing in opens that view."""
    page, base = signin_page, signin_app_url
    dialogs = open_typed_url(page, base + "/ban-do?unit=181&year=2023")
    assert dialogs == [], dialogs  # every address of the app exists before sign-in: no "Page not found"
    assert_sign_in_page_only(page)
    assert page.evaluate("location.pathname") == "/ban-do"
    sign_in(page, VIEWER, PASSWORD)
    assert open_dialogs(page) == []
    expect(page.locator("h2").filter(has_text="Huyện Bình Gia")).to_be_visible(timeout=60_000)
    assert page.evaluate("location.pathname") == "/ban-do"
    params = page.evaluate("Object.fromEntries(new URLSearchParams(location.search))")
    assert params.get("unit") == "181" and params.get("year") == "2023", params
    assert outside_requests == [], f"the browser contacted outside hosts: {outside_requests}"
