"""Fail closed (security review, attack 4): once users exist, a missing, empty or corrupt store
shows a Vietnamese error page at every address — never a guest dashboard, never Streamlit's
list of the internal modules in pages/."""
from __future__ import annotations

import shutil

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import APP
from auth_helpers import PASSWORD, SETUP
from povdata import auth
from povdata.store import StoreError, open_store, store_path



def _with_user(tmp_path):
    store = open_store(tmp_path)
    auth.add_user(store, "quan-tri", PASSWORD, "admin", actor=SETUP)
    return store


def _run(monkeypatch, data_dir, page=None) -> AppTest:
    from pages import common
    common.clear_auth_cache()
    monkeypatch.setenv("POVDASH_DATA_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    if page:
        at.switch_page(page).run()
    return at


def _assert_error_page(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == ["Không mở được kho dữ liệu của bảng điều khiển: kho bị hỏng, rỗng hoặc "
                                           "không tìm thấy."]  # no server path shown to a visitor
    texts = " ".join(str(x.value) for x in list(at.markdown) + list(at.caption) + list(at.title))
    assert "Bản trình diễn" not in texts  # no demo guest view
    assert not at.sidebar.radio and not at.button  # no language picker, no sign-in form, nothing to use
    assert not at.text_input  # no sign-in form either: nothing works on a broken store


@pytest.mark.sqlite_only
@pytest.mark.parametrize("damage", ["truncate_to_zero", "half_truncated", "overwritten", "deleted",
                                    "folder_deleted"])
def test_a_broken_store_never_opens_the_dashboard(tmp_path, monkeypatch, damage):
    data = tmp_path / "var"
    store = _with_user(data)
    path = store_path(data)
    from povdata.importer import prepare_indicators, save_import  # some real content, so that half is a cut
    from import_fixtures import official_workbook
    save_import(store, "20", prepare_indicators(official_workbook(2023), "b.xlsx", "20"), created_by="t")
    if damage == "truncate_to_zero":
        path.write_bytes(b"")
    elif damage == "half_truncated":
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 2])
    elif damage == "overwritten":
        path.write_bytes(b"<html>not a database</html>" * 100)
    elif damage == "deleted":
        path.unlink()
    else:
        shutil.rmtree(data)
    _assert_error_page(_run(monkeypatch, data))  # every address: tests/browser/test_browser_fail_closed.py
    assert not (damage in ("deleted", "folder_deleted") and path.exists()), "a fresh store was created"


@pytest.mark.sqlite_only
def test_the_store_is_not_recreated_once_sign_in_was_on(tmp_path):
    data = tmp_path / "var"
    _with_user(data)
    store_path(data).unlink()
    with pytest.raises(StoreError, match="đã bật đăng nhập"):
        open_store(data)
    assert auth.auth_mode(data) == "password"


@pytest.mark.sqlite_only
def test_an_empty_store_file_is_refused_not_recreated(tmp_path):
    store_path(tmp_path).write_bytes(b"")
    with pytest.raises(StoreError, match="rỗng"):
        open_store(tmp_path)
    assert store_path(tmp_path).stat().st_size == 0


def test_all_users_disabled_is_still_sign_in(tmp_path):
    store = _with_user(tmp_path)
    auth.add_user(store, "lan", PASSWORD, "viewer", actor=SETUP)
    from povdata.auth import User
    auth.disable_user(store, "lan", actor=User("quan-tri", "admin"))
    from povdata.db import q, transaction
    with transaction(store) as conn:  # every account disabled by hand in the database
        q(conn, "UPDATE users SET disabled = 1")
    import povdata.db.connection as db_conn
    db_conn._SIGN_IN_SEEN.clear()
    (tmp_path / db_conn.AUTH_MARKER).unlink()
    assert auth.auth_mode(tmp_path) == "password"  # before: 'none', the demo open to anyone


def test_a_fresh_install_still_opens_the_demo(tmp_path, monkeypatch):
    at = _run(monkeypatch, tmp_path / "fresh")
    assert not at.exception and not at.error
    assert any("Bản trình diễn" in c.value for c in at.sidebar.caption)


def test_an_unreachable_database_never_opens_the_dashboard_and_hides_its_password(tmp_path, monkeypatch):
    """POVDASH_DATABASE_URL names a PostgreSQL server that does not answer: the error page (no
    menu, no guest view), and the password in the URL is never shown."""
    monkeypatch.setenv("POVDASH_DATABASE_URL", "postgresql+psycopg://povdash:bi-mat-123@127.0.0.1:9/povdash"
                                               "?connect_timeout=2")
    _assert_error_page(_run(monkeypatch, tmp_path / "var"))  # no page is even registered
    with pytest.raises(StoreError) as err:
        open_store(tmp_path / "var")
    assert "Không mở được kho dữ liệu" in str(err.value) and "bi-mat-123" not in str(err.value)
    assert "postgresql+psycopg://povdash:***@127.0.0.1:9/povdash" in str(err.value)
