"""Users, roles, sign-in and province scope.

Roles (each includes the one before):

* ``viewer`` — browse, export, try what-if scenarios;
* ``editor`` — import data, change targets, share scenarios;
* ``admin``  — manage users, roll back to an earlier version, read the audit trail.

**Modes** (:func:`auth_mode`).  ``none``: the demo as it ships — no sign-in, everyone a
read-only viewer, nothing can be changed from the browser.  ``password``: users and
argon2id password hashes live in the store (``users`` table); ``python -m povdata users``
manages them.  ``oidc``: Streamlit's own sign-in (``st.login``, configured in
``.streamlit/secrets.toml``) proves who the person is; their role still comes from the
``users`` table (an identity with no row there gets no access).  The mode is set by
``[auth] mode`` in ``<data dir>/povdash.toml`` or ``POVDASH_AUTH``; left unset, it is
``password`` as soon as the store holds an active user and ``none`` before.

**Throttling.**  Failed sign-ins are counted per user name (known or not, so the reply
does not tell which names exist); after :data:`FREE_FAILURES` failures each further
attempt is refused until a delay has passed that doubles with every failure, up to
:data:`MAX_LOCK_SECONDS`.  The count lives in the store, so opening a new browser session
does not reset it.

**Scope.**  A user may be tied to one province (``province_code``).  The store's read
functions take the user and refuse another province's data with :class:`PermissionDenied`
(:func:`check_scope`), so hiding pages is not the only guard.
"""
from __future__ import annotations

import os
import threading
import time
import tomllib
import unicodedata
from contextlib import closing
from pathlib import Path

import pandas as pd
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import text

from povdata.i18n import t
from povdata.messages import Msg
from povdata.db import lock, one, q
from povdata.policy import (  # noqa: F401 — the policy, re-exported for the modules that import it from here
    DEMO_VIEWER, GUEST_NAME, PERMISSIONS, ROLES, PermissionDenied, User, _role, can, check_scope, in_force, require,
    role_name)

MODES = ("none", "password", "oidc")
FREE_FAILURES = 3
BASE_LOCK_SECONDS = 2.0
MAX_LOCK_SECONDS = 15 * 60.0
MIN_PASSWORD_LENGTH = 10
_HASHER = PasswordHasher()
_DUMMY_HASH = _HASHER.hash("not anybody's password")  # equal work for unknown names


class AuthError(ValueError):
    """A user operation that cannot be done; ``str()`` is Vietnamese."""


class SignInError(AuthError):
    """A refused sign-in; ``kind`` is ``wrong`` (name or password — also for a disabled account,
    so that the answer never confirms a password) or ``locked`` (too many failures: wait
    ``wait_seconds``)."""

    def __init__(self, message: str, wait_seconds: float = 0.0, kind: str = "wrong"):
        super().__init__(message)
        self.wait_seconds = wait_seconds
        self.kind = kind


def cli_user() -> User:
    """Whoever runs ``python -m povdata`` on the server: shell access to the data directory
    already allows everything, so the CLI acts as an admin, recorded under the login name."""
    from povdata.db import login_name
    return User(t("auth.cli_user", login=login_name()), "admin", None, "", "cli")


# ---- configuration ---------------------------------------------------------------
def config_path(data_dir: str | Path | None = None) -> Path:
    from povdata.db import data_dir as _data_dir
    return Path(data_dir if data_dir is not None else _data_dir()) / "povdash.toml"


def auth_mode(data_dir: str | Path | None = None) -> str:
    """``none`` | ``password`` | ``oidc`` (see the module text for how it is chosen)."""
    from povdata.db import has_store, open_store

    mode = os.environ.get("POVDASH_AUTH", "").strip().lower()
    path = config_path(data_dir)
    if not mode and path.exists():
        try:
            mode = str(tomllib.loads(path.read_text(encoding="utf-8")).get("auth", {}).get("mode", "")).lower()
        except (OSError, tomllib.TOMLDecodeError, AttributeError) as exc:
            raise AuthError(Msg("auth.bad_config", path=path, error=exc)) from exc
    from povdata.db import DB_ERRORS, StoreError, mark_sign_in, sign_in_recorded

    if mode:
        if mode not in MODES:
            raise AuthError(Msg("auth.bad_mode", mode=mode, modes=", ".join(MODES)))
        if mode != "none":
            mark_sign_in(path.parent, mode)
        return mode
    # fail closed: once sign-in has been on for this data folder it stays on, whatever becomes
    # of the store (emptied, deleted, corrupt: then the store's error is shown, never a guest view)
    recorded = sign_in_recorded(path.parent)
    if recorded:
        return recorded
    if has_store(data_dir):
        try:
            with closing(open_store(data_dir).connect()) as conn:
                found = q(conn, "SELECT 1 FROM users LIMIT 1").first()
        except DB_ERRORS as exc:
            raise StoreError(Msg("auth.store_damaged", error=exc)) from exc
        if found:
            mark_sign_in(path.parent)
            return "password"
    return "none"


# ---- users ----------------------------------------------------------------------
def normalise_username(name: str) -> str:
    return unicodedata.normalize("NFC", str(name)).strip().lower()


def _check_username(name: str) -> str:
    n = normalise_username(name)
    if not n or len(n) > 120 or any(unicodedata.category(c).startswith(("C", "Z")) and c != " " for c in n) \
            or n.startswith(" ") or "  " in n:
        raise AuthError(Msg("auth.bad_username"))
    return n


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise AuthError(Msg("auth.bad_role", role=role, roles=", ".join(ROLES)))
    return role


def visible_length(password: str) -> int:
    """Characters of a password that show: after Unicode normalisation (NFKC), spaces,
    zero-width and other format or control characters do not count (ten spaces or ten
    U+200B are no password)."""
    import unicodedata
    text = unicodedata.normalize("NFKC", password or "")
    return sum(1 for c in text if not c.isspace() and unicodedata.category(c) not in ("Cf", "Cc", "Cs", "Co", "Zs",
                                                                                      "Zl", "Zp", "Mn", "Me"))


def _check_password(password: str) -> None:
    if visible_length(password) < MIN_PASSWORD_LENGTH:
        raise AuthError(Msg("auth.short_password", n=MIN_PASSWORD_LENGTH))


def _check_province(code: str | None) -> str | None:
    if code in (None, ""):
        return None
    from povdata.units import province_name
    try:
        province_name(code)
    except Exception as exc:
        raise AuthError(Msg("auth.no_province", code=code)) from exc
    return code


def _row_to_user(row) -> User:
    username, display, role, prov = row
    return User(username, role, prov or None, display or "")


def _user_row(conn, username: str):
    """The user's row, read by column name (``row["role"]``)."""
    return one(conn, "SELECT username, display_name, password_hash, role, province_code, disabled FROM users "
                     "WHERE username = :u", {"u": username})


def _tx(store):
    from povdata.db import transaction
    return transaction(store)


def add_user(store, username: str, password: str | None, role: str, *, actor: User,
             province_code: str | None = None, display_name: str = "") -> User:
    """Create a user (``password`` None: an OIDC identity, signs in only through the
    identity provider)."""
    from povdata import audit

    require(actor, "users")
    name, role, prov = _check_username(username), _check_role(role), _check_province(province_code)
    if actor.province_code and prov != actor.province_code:
        raise PermissionDenied(Msg("auth.own_province_users", name=actor.label, province=actor.province_code))
    if password is not None:
        _check_password(password)
    digest = _HASHER.hash(password) if password is not None else ""
    with _tx(store) as conn:
        lock(conn, "povdash-users")
        if _user_row(conn, name) is not None:
            raise AuthError(Msg("auth.user_exists", name=name))
        q(conn, "INSERT INTO users (username, display_name, password_hash, role, province_code, disabled, created_at) "
                "VALUES (:u, :d, :h, :role, :p, 0, :at)",
          {"u": name, "d": display_name.strip(), "h": digest, "role": role, "p": prov, "at": audit.now_utc()})
        audit.record(conn, actor.username, "user_add", Msg("auth.audit_add", name=name, role=_role(role)),
                     {"username": name, "role": role, "province_code": prov, "display_name": display_name.strip(),
                      "sign_in": "password" if password is not None else "oidc"}, prov or "")
    from povdata.db import mark_sign_in
    mark_sign_in(store.path.parent)  # from the first user on, sign-in stays on (fail closed)
    return User(name, role, prov, display_name.strip())


def _change(store, username: str, actor: User, action: str, column: str, value, summary: str,
            **extra: object) -> None:
    """Change one column of a user; ``summary`` is the audit entry's catalogue key (with
    ``name`` and ``extra`` as its parameters)."""
    from povdata import audit

    require(actor, "users")
    name = normalise_username(username)
    with _tx(store) as conn:
        lock(conn, "povdash-users")  # PostgreSQL: two admins demoting each other cannot leave none
        row = _user_row(conn, name)
        if row is None:
            raise AuthError(Msg("auth.no_user", name=name))
        if row["province_code"]:
            check_scope(actor, row["province_code"])
        elif actor.province_code:
            raise PermissionDenied(Msg("auth.own_province_only", name=actor.label))
        if name == actor.username and action in ("user_disable", "user_role"):
            raise AuthError(Msg("auth.not_yourself"))
        old = {"role": row["role"], "disabled": row["disabled"], "password_hash": "…"}[column]
        if action == "user_role" or action == "user_disable":  # never leave the store without an admin
            remaining = q(conn, "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 "
                                "AND username != :u", {"u": name}).scalar_one()
            losing = row["role"] == "admin" and not row["disabled"] and (action == "user_disable" or value != "admin")
            if losing and remaining == 0:
                raise AuthError(Msg("auth.last_admin"))
        q(conn, f"UPDATE users SET {column} = :v WHERE username = :u", {"v": value, "u": name})
        if action in ("user_disable", "user_role", "user_password"):  # signed out everywhere, at once
            revoke_user_sessions(conn, name)
        detail = {"username": name}
        if column != "password_hash":
            detail.update(old=old, new=value)
        audit.record(conn, actor.username, action, Msg(summary, name=name, **extra), detail, row["province_code"] or "")


def revoke_user_sessions(conn, username: str, now: float | None = None) -> int:
    """Inside the caller's transaction: every live sign-in (:mod:`povdata.sessions`) and ticket
    of ``username`` revoked; how many."""
    cur = q(conn, "UPDATE sign_in_sessions SET revoked_at = :now WHERE username = :u AND revoked_at IS NULL",
            {"now": time.time() if now is None else now, "u": normalise_username(username)})
    return cur.rowcount


def set_role(store, username: str, role: str, *, actor: User) -> None:
    _check_role(role)
    _change(store, username, actor, "user_role", "role", role, "auth.audit_role", role=_role(role))


def disable_user(store, username: str, *, actor: User) -> None:
    _change(store, username, actor, "user_disable", "disabled", 1, "auth.audit_disable")


def enable_user(store, username: str, *, actor: User) -> None:
    _change(store, username, actor, "user_enable", "disabled", 0, "auth.audit_enable")
    with _tx(store) as conn:  # a fresh start for the throttle too
        q(conn, "DELETE FROM sign_in_failures WHERE username = :u", {"u": normalise_username(username)})


def set_password(store, username: str, password: str, *, actor: User) -> None:
    _check_password(password)
    _change(store, username, actor, "user_password", "password_hash", _HASHER.hash(password),
            "auth.audit_password")


def list_users(store, *, actor: User) -> pd.DataFrame:
    require(actor, "users")
    with closing(store.connect()) as conn:
        df = pd.read_sql_query(text("SELECT username, display_name, role, province_code, disabled, created_at, "
                                    "password_hash != '' AS has_password FROM users ORDER BY username"), conn)
    if actor.province_code:
        df = df[df["province_code"] == actor.province_code]
    df["disabled"] = df["disabled"].astype(bool)
    df["has_password"] = df["has_password"].astype(bool)
    return df.reset_index(drop=True)


# ---- sign-in --------------------------------------------------------------------
def lock_seconds(failures: int) -> float:
    """How long an account is refused after ``failures`` failed attempts in a row."""
    if failures < FREE_FAILURES:
        return 0.0
    return min(BASE_LOCK_SECONDS * 2 ** (failures - FREE_FAILURES), MAX_LOCK_SECONDS)


#: at most this many password checks run at once in a process (argon2 is deliberately slow; a
#: flood of guesses must not take every core)
MAX_CONCURRENT_CHECKS = 2
_CHECKS = threading.BoundedSemaphore(MAX_CONCURRENT_CHECKS)


def authenticate(store, username: str, password: str, *, now: float | None = None) -> User:
    """The user for a correct name and password; :class:`SignInError` otherwise (the same
    message for an unknown name, a wrong password and a disabled account).

    The attempt is counted as a failure *before* the password is checked, in one write
    transaction (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock on the name), and the count is cleared only when the password is
    right: twenty guesses at once are twenty failures, and from the third the name is locked
    before any further check runs."""
    from povdata import audit

    fixed_now = now
    name = normalise_username(username)
    locked_wait = None
    with _tx(store) as conn:
        # the clock is read once the write lock is held: a time read before waiting for the lock would
        # be older than the lock another attempt just wrote (and would find a name locked for 0 s)
        lock(conn, "povdash-sign-in:" + name)
        now = time.time() if fixed_now is None else fixed_now
        thr = one(conn, "SELECT failures, locked_until FROM sign_in_failures WHERE username = :u", {"u": name})
        row = _user_row(conn, name)
        if thr and thr["locked_until"] > now:
            locked_wait = thr["locked_until"] - now
        else:
            failures = (thr["failures"] if thr else 0) + 1
            q(conn, "INSERT INTO sign_in_failures (username, failures, last_failed_at, locked_until) "
                    "VALUES (:u, :n, :now, :until) ON CONFLICT (username) DO UPDATE SET "
                    "failures = excluded.failures, last_failed_at = excluded.last_failed_at, "
                    "locked_until = excluded.locked_until",
              {"u": name, "n": failures, "now": now, "until": now + lock_seconds(failures)})
            if failures == FREE_FAILURES:
                audit.record(conn, name, "sign_in_locked", Msg("auth.audit_locked", name=name, n=failures),
                             {"username": name, "failures": failures}, (row["province_code"] or "") if row is not None else "")
    if locked_wait is not None:
        raise SignInError(Msg("auth.failed_locked", wait=int(locked_wait) + 1), locked_wait, "locked")
    ok = False
    with _CHECKS:
        try:
            ok = _HASHER.verify(row["password_hash"] if row is not None and row["password_hash"] else _DUMMY_HASH, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            ok = False
    if ok and row is not None and row["password_hash"] and not row["disabled"]:
        with _tx(store) as conn:
            q(conn, "DELETE FROM sign_in_failures WHERE username = :u", {"u": name})
            if _HASHER.check_needs_rehash(row["password_hash"]):
                q(conn, "UPDATE users SET password_hash = :h WHERE username = :u",
                  {"h": _HASHER.hash(password), "u": name})
        return User(row["username"], row["role"], row["province_code"] or None, row["display_name"] or "")
    # a disabled account gets the wrong-password answer: the message must not confirm the password
    raise SignInError(Msg("auth.failed_wrong"), lock_seconds(failures))


def identity_user(store, email: str | None) -> User | None:
    """The user for an identity proven by the identity provider (``st.user.email``):
    its row in ``users`` (by e-mail as user name), or None (no access) when there is none
    or it is disabled."""
    if not email:
        return None
    name = normalise_username(email)
    with closing(store.connect()) as conn:
        row = _user_row(conn, name)
    if row is None or row["disabled"]:
        return None
    return User(row["username"], row["role"], row["province_code"] or None, row["display_name"] or "", "oidc")
