"""Sign-in that lasts (committee-screen issue, point 5; security review, attack 6): a one-time
ticket becomes a session token whose hash alone is stored; the token is checked on every run
and revoked at sign-out, on disable, on role change and on a password reset."""
from __future__ import annotations

import asyncio

import pytest

import db_helpers

from auth_helpers import PASSWORD, SETUP
from povdata import sessions
from povdata.auth import add_user, authenticate, disable_user, enable_user, set_password, set_role
from povdata.store import open_store


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path)
    add_user(s, "admin-thu", PASSWORD, "admin", actor=SETUP)
    add_user(s, "cán bộ", PASSWORD, "editor", actor=SETUP, province_code="20")
    return s


def _signed_in(store, name="cán bộ", now=1_000_000.0):
    user = authenticate(store, name, PASSWORD)
    ticket = sessions.issue_ticket(store, user, now=now)
    token, lifetime = sessions.redeem_ticket(store, ticket, now=now + 1, hours=12)
    return token, lifetime


def test_a_ticket_becomes_a_session_once_and_only_its_hash_is_stored(store):
    user = authenticate(store, "cán bộ", PASSWORD)
    ticket = sessions.issue_ticket(store, user, now=1000.0)
    token, lifetime = sessions.redeem_ticket(store, ticket, now=1001.0, hours=12)
    assert lifetime == 12 * 3600
    assert sessions.redeem_ticket(store, ticket, now=1002.0, hours=12) is None  # spent
    got = sessions.session_user(store, token, now=1003.0)
    assert (got.username, got.role, got.province_code, got.source) == ("cán bộ", "editor", "20", "password")
    stored = [r[0] for r in db_helpers.rows(store, "SELECT token_hash FROM sign_in_sessions")]
    assert token not in stored and ticket not in stored
    assert sessions.token_hash(token) in stored and len(stored[0]) == 64


def test_late_unknown_and_session_tokens_are_not_tickets(store):
    user = authenticate(store, "cán bộ", PASSWORD)
    ticket = sessions.issue_ticket(store, user, now=1000.0)
    assert sessions.redeem_ticket(store, ticket, now=1000.0 + sessions.TICKET_SECONDS + 1, hours=1) is None
    assert sessions.redeem_ticket(store, "đoán-bừa", now=1000.0, hours=1) is None
    token, _ = _signed_in(store)
    assert sessions.redeem_ticket(store, token, hours=1) is None  # a session token is no ticket
    assert sessions.session_user(store, ticket, now=1001.0) is None  # and a ticket is no session


def test_a_session_ends_at_its_lifetime_and_at_sign_out(store):
    token, lifetime = _signed_in(store)
    assert sessions.session_user(store, token, now=1_000_001.0 + lifetime - 5) is not None
    assert sessions.session_user(store, token, now=1_000_001.0 + lifetime + 5) is None
    token, _ = _signed_in(store)
    other, _ = _signed_in(store)  # the same user in another browser
    sessions.revoke(store, token)
    assert sessions.session_user(store, token, now=1_000_010.0) is None
    assert sessions.session_user(store, other, now=1_000_010.0) is not None


@pytest.mark.parametrize("change", ["disable", "role", "password"])
def test_disable_role_change_and_password_reset_end_every_session_of_the_user(store, change):
    admin = authenticate(store, "admin-thu", PASSWORD)
    token, _ = _signed_in(store)
    kept, _ = _signed_in(store, "admin-thu")
    {"disable": lambda: disable_user(store, "cán bộ", actor=admin),
     "role": lambda: set_role(store, "cán bộ", "viewer", actor=admin),
     "password": lambda: set_password(store, "cán bộ", "mật-khẩu-mới-5678", actor=admin)}[change]()
    assert sessions.session_user(store, token, now=1_000_010.0) is None
    assert sessions.live_sessions(store, "cán bộ", now=1_000_010.0) == 0
    assert sessions.session_user(store, kept, now=1_000_010.0) is not None  # others untouched
    if change == "disable":  # enabling again does not bring the old session back
        enable_user(store, "cán bộ", actor=admin)
        assert sessions.session_user(store, token, now=1_000_010.0) is None


def test_a_role_changed_behind_the_apps_back_ends_the_session(store):
    """A change written straight into the table (another tool, a restore) is caught too: the
    token carries the role and province it was issued for."""
    token, _ = _signed_in(store)
    db_helpers.execute(store, "UPDATE users SET role = 'admin' WHERE username = 'cán bộ'")
    assert sessions.session_user(store, token, now=1_000_010.0) is None
    assert sessions.live_sessions(store, "cán bộ", now=1_000_010.0) == 0


@pytest.mark.parametrize("env, toml, hours", [
    ("", "", sessions.DEFAULT_SESSION_HOURS), ("8", "", 8.0), ("1,5", "", 1.5), ("", "[auth]\nsession_hours = 4\n", 4.0),
    ("0", "", 5 / 60), ("100000", "", sessions.MAX_SESSION_HOURS), ("không", "", sessions.DEFAULT_SESSION_HOURS)])
def test_the_lifetime_is_configurable_and_bounded(tmp_path, monkeypatch, env, toml, hours):
    monkeypatch.setenv("POVDASH_SESSION_HOURS", env)
    if toml:
        (tmp_path / "povdash.toml").write_text(toml, encoding="utf-8")
    assert sessions.session_hours(tmp_path) == pytest.approx(hours)


def test_sessions_are_bound_per_process_and_the_table_is_bounded(monkeypatch):
    monkeypatch.setattr(sessions, "MAX_BOUND", 3)
    monkeypatch.setattr(sessions, "_BOUND", {})
    for i in range(5):
        sessions.bind_session(f"s{i}", "tok-a" if i % 2 else "tok-b")
    assert sessions.sessions_of("tok-a") == {"s3"}  # s1 was the oldest and went
    assert sessions.sessions_of("tok-b") == {"s2", "s4"}
    assert sessions.sessions_of(None) == set()


# ---- the server's hand-over address (pages/_server.py) ------------------------------------
def _post(body: bytes, headers: dict[str, str]):
    """Call the hand-over handler as the server would (ASGI), return (status, headers)."""
    from starlette.requests import Request

    from pages import _server

    scope = {"type": "http", "method": "POST", "path": "/_povdash/signed-in", "scheme": "http",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()], "query_string": b""}
    sent = [{"type": "http.request", "body": body, "more_body": False}]

    async def receive():
        return sent.pop(0) if sent else {"type": "http.disconnect"}

    # in a thread of its own: the browser tests' Playwright keeps an event loop running in this one
    from concurrent.futures import ThreadPoolExecutor
    with ThreadPoolExecutor(1) as pool:
        response = pool.submit(asyncio.run, _server.signed_in(Request(scope, receive))).result()
    return response.status_code, response.headers


def test_the_hand_over_sets_an_httponly_strict_cookie_and_returns_to_the_page(tmp_path, monkeypatch):
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path))
    s = open_store(tmp_path)
    add_user(s, "cán bộ", PASSWORD, "editor", actor=SETUP)
    ticket = sessions.issue_ticket(s, authenticate(s, "cán bộ", PASSWORD))
    same = {"Host": "127.0.0.1:8501", "Sec-Fetch-Site": "same-origin"}
    status, headers = _post(f"ticket={ticket}&next=/ban-do%3Flang%3Den".encode(), same)
    assert status == 303 and headers["location"] == "/ban-do?lang=en"
    cookie = headers["set-cookie"]
    assert cookie.startswith(sessions.COOKIE_NAME + "=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/" in cookie and "Max-Age=43200" in cookie
    token = cookie.split(";", 1)[0].split("=", 1)[1]
    assert sessions.session_user(s, token).username == "cán bộ"
    # spent: posting it again gives no cookie
    status, headers = _post(f"ticket={ticket}&next=/".encode(), same)
    assert status == 303 and "set-cookie" not in headers


@pytest.mark.parametrize("headers", [
    {"Host": "127.0.0.1:8501", "Sec-Fetch-Site": "cross-site"},       # another site's form
    {"Host": "127.0.0.1:8501", "Origin": "http://evil.example"},      # an old browser, another site
    {"Host": "127.0.0.1:8501"},                                       # no browser at all
    {"Host": "127.0.0.1:8501", "Origin": "null"}])
def test_only_the_apps_own_form_may_hand_over(tmp_path, monkeypatch, headers):
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path))
    s = open_store(tmp_path)
    add_user(s, "cán bộ", PASSWORD, "editor", actor=SETUP)
    ticket = sessions.issue_ticket(s, authenticate(s, "cán bộ", PASSWORD))
    status, got = _post(f"ticket={ticket}".encode(), headers)
    assert status == 403 and "set-cookie" not in got
    assert sessions.redeem_ticket(s, ticket) is not None  # refused before it was spent


@pytest.mark.parametrize("raw, expected", [
    ("/ban-do?lang=vi", "/ban-do?lang=vi"), ("https://evil.example/", "/"), ("//evil.example/x", "/"),
    ("/\\evil.example", "/"), ("", "/"), ("/a\r\nSet-Cookie: x=1", "/"), ("javascript:alert(1)", "/")])
def test_the_way_back_stays_inside_the_app(raw, expected):
    from pages._server import safe_next
    assert safe_next(raw, "/") == expected
    assert safe_next("/app/tong-quan", "/app/") == "/app/tong-quan"
    assert safe_next("/tong-quan", "/app/") == "/app/"
