"""The attacks of the security review (issue: "Close the holes an attacker found"), one test
each: every test here failed on the code before its fix."""
from __future__ import annotations

import threading

import pytest

from auth_helpers import PASSWORD, SETUP
from povdata import auth
from povdata.auth import SignInError
from povdata.store import open_store


# ---- 5. sign-in throttle race ----------------------------------------------------------------
def test_twenty_simultaneous_wrong_passwords_are_twenty_failures(tmp_path):
    store = open_store(tmp_path)
    auth.add_user(store, "lan", PASSWORD, "viewer", actor=SETUP)
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            auth.authenticate(store, "lan", f"đoán sai số {i:02d}")
        except SignInError as exc:
            outcomes.append(exc.kind)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 20
    with store.connect() as conn:
        failures = conn.execute("SELECT failures FROM sign_in_failures WHERE username = 'lan'").fetchone()[0]
    # each attempt was counted before its check; after the third the name was locked and the
    # other seventeen were refused without a check (before the fix: 20 checks, the count at 1)
    assert failures == auth.FREE_FAILURES
    assert (outcomes.count("wrong"), outcomes.count("locked")) == (auth.FREE_FAILURES, 20 - auth.FREE_FAILURES)


def test_a_hundred_parallel_guesses_cannot_find_the_password(tmp_path):
    """The guesses include the right password; once the name is locked, no further password is
    even checked, so the right one in the crowd is refused like the others."""
    store = open_store(tmp_path)
    auth.add_user(store, "lan", PASSWORD, "viewer", actor=SETUP)
    for i in range(auth.FREE_FAILURES):  # an attacker's first guesses
        with pytest.raises(SignInError):
            auth.authenticate(store, "lan", f"sai {i}")
    start = threading.Barrier(100)
    signed_in: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            signed_in.append(auth.authenticate(store, "lan", PASSWORD if i == 57 else f"sai {i}").username)
        except SignInError:
            pass

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert signed_in == []


def test_password_checks_run_at_most_two_at_a_time(tmp_path, monkeypatch):
    store = open_store(tmp_path)
    for i in range(6):
        auth.add_user(store, f"nguoi-{i}", PASSWORD, "viewer", actor=SETUP)
    running, peak = [0], [0]
    lock = threading.Lock()
    real = auth._HASHER.verify

    def slow_verify(h, p):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            import time
            time.sleep(0.05)
            return real(h, p)
        finally:
            with lock:
                running[0] -= 1

    class Slow:
        def verify(self, h, p):
            return slow_verify(h, p)

        def check_needs_rehash(self, h):
            return False

    monkeypatch.setattr(auth, "_HASHER", Slow())
    threads = [threading.Thread(target=lambda i=i: auth.authenticate(store, f"nguoi-{i}", PASSWORD)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] <= auth.MAX_CONCURRENT_CHECKS


# ---- 10. passwords ---------------------------------------------------------------------------
@pytest.mark.parametrize("password", [" " * 10, "\u200b" * 10, "\u200b" * 12 + "abc", "\u3000" * 10, "a" + " " * 12,
                                      "\u00ad" * 11, "e\u0301" * 5 + " " * 5])
def test_passwords_of_invisible_characters_are_refused(tmp_path, password):
    with pytest.raises(auth.AuthError, match="ít nhất 10 ký tự nhìn thấy được"):
        auth.add_user(open_store(tmp_path), "lan", password, "viewer", actor=SETUP)


def test_a_password_of_ten_visible_characters_is_accepted(tmp_path):
    store = open_store(tmp_path)
    auth.add_user(store, "lan", "Lạng Sơn 2025!", "viewer", actor=SETUP)
    assert auth.authenticate(store, "lan", "Lạng Sơn 2025!").username == "lan"


def test_a_disabled_account_with_the_right_password_gets_the_wrong_password_answer(tmp_path):
    store = open_store(tmp_path)
    auth.add_user(store, "lan", PASSWORD, "viewer", actor=SETUP)
    auth.add_user(store, "quan-tri-2", PASSWORD, "admin", actor=SETUP)
    auth.disable_user(store, "lan", actor=SETUP)
    answers = []
    for pw in (PASSWORD, "hoàn toàn sai mật khẩu"):
        with pytest.raises(SignInError) as exc:
            auth.authenticate(store, "lan", pw)
        answers.append((str(exc.value), exc.value.kind))
    assert answers[0] == answers[1]


# ---- 3. markdown and link injection ------------------------------------------------------------
PAYLOADS = ["![b](http://127.0.0.1:9/x.png)", "<a href='http://127.0.0.1:9/'>Bấm vào đây</a>",
            "[Bấm vào đây](http://127.0.0.1:9/)", "<img src=http://127.0.0.1:9/y.png>"]
_MARKUP = ("](http", "<a ", "<img")  # rendered by markdown (entities such as '&lt;a' are shown as text)
_HTML = ("<a ", "<img", "<script")  # rendered by plotly (it draws a subset of HTML, links included)


def _rendered(at) -> list[str]:
    """The texts that would render as markup: markdown elements and widget labels holding
    markdown or HTML, chart titles and legends holding HTML (empty when all is escaped)."""
    import json
    md = [str(e.value) for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader",
                                    "header", "title")
          for e in getattr(at, kind)]
    md += [str(getattr(e, "label", "")) for e in list(at.selectbox) + list(at.button) + list(at.expander)]
    html = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        html += [str(tr.get("name", "")) for tr in spec.get("data", [])]
        html.append(json.dumps(spec.get("layout", {}).get("title", "")))
    return [s for s in md if any(r in s for r in _MARKUP)] + [s for s in html if any(r in s for r in _HTML)]


def _all_text(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info") for e in getattr(at, kind))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_file_name_with_markdown_or_html_is_never_rendered(tmp_path, monkeypatch, payload):
    from app_helpers import run_app
    from import_fixtures import official_workbook
    from povdata.importer import prepare_indicators, save_import

    store = open_store(tmp_path)
    name = f"{payload} bieu.xlsx"
    imp = prepare_indicators(official_workbook(2023), name, "20")
    assert imp.ok
    save_import(store, "20", imp, created_by="t")
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path))
    for page in (None, "pages/map.py", "pages/progress.py", "pages/whatif.py"):  # the pages with the data banner
        at = run_app(page)
        assert "bieu" in _all_text(at)  # the name is shown …
        assert _rendered(at) == []  # … as the characters it is, never as markup


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_scenario_name_from_the_url_is_never_rendered(payload):
    from app_helpers import run_app

    at = run_app("pages/whatif.py", sc_name=payload)
    assert _rendered(at) == []  # the legend
    at.button(key="wi_save").click().run()
    assert not at.exception and at.success  # the saved message
    assert _rendered(at) == []
