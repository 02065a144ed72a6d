"""Sign-in that lasts, and only for the browser that signed in (committee-screen issue, point 5;
security review, attack 6).

Before: the sign-in lived in the tab's Streamlit session, so a reload or a new tab signed the
user out, and whoever gave that session's id in the websocket's ``Sec-WebSocket-Protocol``
resumed it with its identity.  Now the identity is an HttpOnly, SameSite=Strict cookie whose
token the store knows by its hash (``povdata.sessions``)."""
from __future__ import annotations

import time

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the harness's fixtures skip (or fail in CI) with a clear message
    expect = None

from auth_helpers import PASSWORD
from browser_helpers import (ROLE_USERS, assert_sign_in_page_only, keep_screenshot, open_typed_url, sign_in,
                             signed_in_caption, wait_idle)

pytestmark = pytest.mark.browser

VIEWER, EDITOR = ROLE_USERS["viewer"], ROLE_USERS["editor"]


def _session_ids(page) -> list[str]:
    """Collect the Streamlit session ids the server gives this page (its NewSession messages)."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ids: list[str] = []

    def on_socket(ws):
        def on_frame(payload):
            if isinstance(payload, (bytes, bytearray)):
                msg = ForwardMsg()
                try:
                    msg.ParseFromString(bytes(payload))
                except Exception:  # noqa: BLE001  not a ForwardMsg
                    return
                if msg.WhichOneof("type") == "new_session":
                    ids.append(msg.new_session.initialize.session_id)
        ws.on("framereceived", on_frame)
    page.on("websocket", on_socket)
    return ids


def _run_as(port: int, session_id: str | None, cookie: str | None = None, seconds: float = 25.0) -> str:
    """Open the app's websocket as a script would (optionally resuming ``session_id`` the way
    Streamlit's frontend does, through ``Sec-WebSocket-Protocol``), ask for a run of the
    front page, and return everything the server sent until that run finished, as text."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from google.protobuf import text_format
    from websockets.sync.client import connect

    protocols = ["streamlit", "PLACEHOLDER_AUTH_TOKEN"] + ([session_id] if session_id else [])
    headers = {"Cookie": cookie} if cookie else None
    texts: list[str] = []
    with connect(f"ws://127.0.0.1:{port}/_stcore/stream", origin=f"http://127.0.0.1:{port}",
                 subprotocols=protocols, additional_headers=headers, open_timeout=20) as ws:
        rerun = BackMsg()
        rerun.rerun_script.query_string = "lang=vi"
        rerun.rerun_script.page_name = ""
        ws.send(rerun.SerializeToString())
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                raw = ws.recv(timeout=max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            texts.append(text_format.MessageToString(msg, as_utf8=True))
            if msg.WhichOneof("type") == "script_finished":
                break
    return "\n".join(texts)


def test_reload_and_new_tabs_stay_signed_in_and_the_cookie_is_out_of_scripts_reach(browser, signin_app_url):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        open_typed_url(page, signin_app_url + "/ban-do?lang=vi")
        assert_sign_in_page_only(page)
        sign_in(page, VIEWER, PASSWORD)
        assert page.evaluate("location.pathname") == "/ban-do"  # back where the user was
        cookie = next(c for c in context.cookies() if c["name"] == "povdash_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
        assert "povdash_session" not in page.evaluate("document.cookie")  # no page script can read it

        page.reload(wait_until="domcontentloaded")
        wait_idle(page)
        expect(signed_in_caption(page)).to_have_text(f"Đăng nhập: {VIEWER} · người xem")
        tab = context.new_page()
        open_typed_url(tab, signin_app_url + "/tien-do")
        expect(signed_in_caption(tab)).to_have_text(f"Đăng nhập: {VIEWER} · người xem")
        keep_screenshot(tab, "signed_in_new_tab")

        # signing out in one tab signs out every tab at its next run
        tab.get_by_role("button", name="Đăng xuất").click()
        expect(tab.locator("input[type=password]")).to_be_visible(timeout=30_000)
        time.sleep(3.5)  # the sign-in memo of a process lives 3 s
        page.reload(wait_until="domcontentloaded")
        wait_idle(page)
        assert_sign_in_page_only(page)
    finally:
        context.close()


def test_an_account_disabled_by_an_admin_is_signed_out_at_the_next_click(browser, signin_app_url,
                                                                          signin_data_dir):
    from povdata.auth import disable_user, enable_user, identity_user
    from povdata.store import open_store

    context = browser.new_context()
    try:
        page = context.new_page()
        open_typed_url(page, signin_app_url + "/")
        sign_in(page, EDITOR, PASSWORD)
        store = open_store(signin_data_dir)
        admin = identity_user(store, ROLE_USERS["admin"])
        disable_user(store, EDITOR, actor=admin)
        try:
            time.sleep(3.5)
            page.get_by_role("link", name="Bản đồ").click()
            expect(page.locator("input[type=password]")).to_be_visible(timeout=30_000)
            wait_idle(page)
            assert_sign_in_page_only(page)
        finally:
            enable_user(store, EDITOR, actor=admin)
        page.reload(wait_until="domcontentloaded")  # enabled again: the old cookie stays revoked
        wait_idle(page)
        assert_sign_in_page_only(page)
    finally:
        context.close()


def test_a_victims_session_id_carries_no_identity(browser, signin_app_url):
    """The attacker resumes the signed-in victim's Streamlit session by its id (as the
    frontend does after a reconnect), without the victim's cookie: the run that follows is
    the sign-in page's.  The control: the victim's own cookie on the same kind of connection
    is signed in."""
    port = int(signin_app_url.rsplit(":", 1)[1])
    context = browser.new_context()
    try:
        page = context.new_page()
        ids = _session_ids(page)
        open_typed_url(page, signin_app_url + "/")
        sign_in(page, VIEWER, PASSWORD)
        assert ids, "no session id seen"
        victim = ids[-1]
        cookie = next(c for c in context.cookies() if c["name"] == "povdash_session")

        # the id also appears in upload URLs: someone else's browser, with its own valid XSRF
        # token, cannot put a file into the victim's session; the victim's own browser can
        upload = f"{signin_app_url}/_stcore/upload_file/{victim}/f0"
        files = {"file": {"name": "x.csv", "mimeType": "text/csv", "buffer": b"a,b\n1,2\n"}}

        def put(ctx):
            pg = ctx.new_page()
            open_typed_url(pg, signin_app_url + "/")
            xsrf = next(c["value"] for c in ctx.cookies() if c["name"] == "_streamlit_xsrf")
            return pg.request.put(upload, multipart=files, headers={"X-Xsrftoken": xsrf}).status

        attacker = browser.new_context()
        try:
            assert put(attacker) == 403
        finally:
            attacker.close()
        assert put(context) == 204  # the victim's own browser: accepted

        control = _run_as(port, None, cookie=f"povdash_session={cookie['value']}")
        signed_in_as = "Đăng nhập: **" + VIEWER.replace("-", "\\\\-") + "** · người xem"  # markdown-escaped name
        assert signed_in_as in control and "Đăng xuất" in control, control[-3000:]

        stolen = _run_as(port, victim)
        assert f'session_id: "{victim}"' in stolen  # the server did resume the victim's session
        assert "Tên đăng nhập" in stolen and "Mật khẩu" in stolen, stolen[-3000:]  # the sign-in form
        assert "Đăng nhập: **" not in stolen and "Đăng xuất" not in stolen
        assert "Theo dõi mục tiêu giảm nghèo" not in stolen

    finally:
        context.close()
