"""Export links belong to whoever made them (security review, attack 9): a download button's
``/media/…`` file answered a plain request with no session minutes after the user signed out.
Now it answers only the signed-in browser whose session made it, and dies at sign-out."""
from __future__ import annotations

import urllib.error
import urllib.request

from playwright.sync_api import expect

from browser_helpers import ROLE_USERS, go_in_session, sign_in, wait_idle
from auth_helpers import PASSWORD


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_export_links_stop_answering_at_sign_out(browser, signin_app_url):
    page = browser.new_page()
    try:
        page.goto(signin_app_url + "/", wait_until="domcontentloaded")
        sign_in(page, ROLE_USERS["viewer"], PASSWORD)
        go_in_session(page, "/muc-tieu")
        wait_idle(page)
        with page.expect_download() as info:
            page.locator(".st-key-tg_decisions_csv button").click()
        url = info.value.url
        assert "/media/" in url
        assert page.request.get(url).status == 200  # the owner's browser (its sign-in cookie)
        assert _status(url) == 404  # a copied link without the cookie: curl, another machine
        other = browser.new_page()  # another user, signed in, holding the copied link
        try:
            other.goto(signin_app_url + "/", wait_until="domcontentloaded")
            sign_in(other, ROLE_USERS["editor"], PASSWORD)
            assert other.request.get(url).status == 404
        finally:
            other.close()
        assert page.request.get(url).status == 200
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page.locator("input[type=password]")).to_be_visible(timeout=30_000)
        wait_idle(page)
        assert page.request.get(url).status == 404  # gone at sign-out, not minutes later
        assert _status(url) == 404
    finally:
        page.close()
