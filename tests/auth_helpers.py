"""Users for tests: create one in a data dir and put them in an AppTest session as if they
had signed in (sign-in itself is tested through the form in test_auth_pages.py)."""
from __future__ import annotations

from pathlib import Path

from povdata.auth import User, add_user, identity_user
from povdata.store import open_store

PASSWORD = "mật-khẩu-thử-1234"
SETUP = User("người cài đặt", "admin", None, "", "cli")


def make_user(data_dir: Path, role: str, name: str | None = None, province_code: str | None = None) -> User:
    """The user ``name`` (default: the role's name) with ``role``, created if missing."""
    store = open_store(data_dir)
    name = name or f"{role}-thu"
    found = identity_user(store, name)
    if found is None:
        add_user(store, name, PASSWORD, role, actor=SETUP, province_code=province_code)
        found = identity_user(store, name)
    return found


def signed_in(at, user: User):
    """``at`` (an AppTest) with ``user`` signed in."""
    at.session_state["auth_user"] = user
    return at
