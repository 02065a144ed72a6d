"""Sign-in through an identity provider (``st.login``), end to end in a real browser.

The route answered HTTP 500 while the requirements lacked ``httpx`` (Streamlit's ``auth``
extra, which Authlib's Starlette client needs): no test went through it.  Here a local
OpenID Connect provider (``tests/oidc_idp.py``, on 127.0.0.1) signs one e-mail in; the
dashboard runs in ``oidc`` mode with its ``[auth]`` secrets in a file of the test's own.
The provider's ID token must be fetched with the client's secret and checked against its
key: the test sees the provider issue it, and the dashboard open with the role the users
table gives that e-mail.  An e-mail the users table does not hold gets no data.
"""
from __future__ import annotations

import pytest

from browser_helpers import NAV_LINKS, keep_screenshot, nav_titles, signed_in_caption, wait_idle
from oidc_idp import LocalIdP

pytestmark = pytest.mark.browser

EDITOR_EMAIL = "bien.tap@sldtbxh.langson.gov.vn"


def _serve_oidc(tmp_path, email: str):
    from conftest import ARTIFACTS, serving
    from povdata.auth import add_user, cli_user
    from povdata.store import open_store

    data_dir = tmp_path / "data"
    add_user(open_store(data_dir), EDITOR_EMAIL, None, "editor", actor=cli_user(), province_code="20",
             display_name="Biên tập viên Sở")
    idp = LocalIdP(email=email)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{"c" * 48}"\n'
        f'client_id = "{idp.client_id}"\n'
        f'client_secret = "{idp.client_secret}"\n'
        f'server_metadata_url = "{idp.url}/.well-known/openid-configuration"\n'
        'client_kwargs = { scope = "openid email" }\n', encoding="utf-8")
    env = {"POVDASH_DATA_DIR": str(data_dir), "POVDASH_AUTH": "oidc"}
    return idp, serving(ARTIFACTS / "streamlit-oidc.log", env, ("--secrets.files", str(secrets)))


def _sign_in_with_provider(browser, base: str):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    page.goto(base + "/", wait_until="domcontentloaded")
    wait_idle(page)
    # there and back: the provider answers at once, then Streamlit's callback exchanges the code
    with page.expect_response(lambda r: "/oauth2callback" in r.url, timeout=30_000) as callback:
        page.get_by_role("button", name="Đăng nhập bằng tài khoản cơ quan").click()
    assert callback.value.status < 400, f"the callback answered {callback.value.status}"
    page.wait_for_url(lambda url: "/oauth2callback" not in url and "/auth/" not in url, timeout=30_000)
    wait_idle(page, timeout=45_000)
    return context, page


def test_a_known_e_mail_signs_in_through_the_identity_provider(browser, tmp_path):
    idp, served = _serve_oidc(tmp_path, EDITOR_EMAIL)
    with idp, served as base:
        context, page = _sign_in_with_provider(browser, base)
        try:
            assert idp.tokens_issued == 1 and not idp.refused
            caption = signed_in_caption(page)
            caption.wait_for(timeout=30_000)
            assert "Biên tập viên Sở" in caption.inner_text() and "biên tập viên" in caption.inner_text()
            assert "Nhập số liệu" in nav_titles(page)  # the editor's menu
            keep_screenshot(page, "oidc_signed_in")
            page.reload(wait_until="domcontentloaded")  # Streamlit's own cookie keeps the identity
            wait_idle(page, timeout=45_000)
            assert "Nhập số liệu" in nav_titles(page) and idp.tokens_issued == 1
        finally:
            context.close()


def test_an_e_mail_the_users_table_does_not_hold_gets_no_data(browser, tmp_path):
    idp, served = _serve_oidc(tmp_path, "nguoi.la@example.org")
    with idp, served as base:
        context, page = _sign_in_with_provider(browser, base)
        try:
            assert idp.tokens_issued == 1  # the provider vouched for the e-mail …
            alert = page.locator('[data-testid="stAlert"]', has_text="chưa được cấp quyền")
            alert.wait_for(timeout=30_000)  # … and the dashboard still says no
            assert "nguoi.la@example.org" in alert.inner_text()
            assert page.locator(NAV_LINKS).count() == 0 and page.locator(".js-plotly-plot").count() == 0
            keep_screenshot(page, "oidc_unknown_e_mail")
        finally:
            context.close()
