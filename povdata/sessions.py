"""Sign-in that lasts: the browser holds a random token in an HttpOnly cookie, the store holds
only its hash (``sign_in_sessions``).

* **Ticket.**  A correct password (checked by :func:`povdata.auth.authenticate` in the
  sign-in form) gives a one-time *ticket* that lives :data:`TICKET_SECONDS`.  The page sends
  the browser to the server's ``/_povdash/signed-in`` address with it; the server redeems it
  (:func:`redeem_ticket`) for a *session token*, sets the cookie (``HttpOnly``,
  ``SameSite=Strict``) and sends the browser back to the page it was on.
* **Every run checks the cookie** (:func:`session_user`): the token must be known, unexpired
  and not revoked, and its user active with the same role and province as when it was issued.
  The identity is the cookie's, never the Streamlit session's: a resumed or stolen session id
  without the cookie is a visitor who is not signed in.
* **Revoked** at sign-out (:func:`revoke`), and for all of a user's sessions when an admin
  disables the account, changes its role or resets its password
  (:func:`povdata.auth.revoke_user_sessions`, in the same transaction as the change).

The lifetime is ``[auth] session_hours`` in ``<data dir>/povdash.toml`` or
``POVDASH_SESSION_HOURS`` (default :data:`DEFAULT_SESSION_HOURS`).
"""
from __future__ import annotations

import hashlib
import os
import secrets
import threading
import time
import tomllib
from contextlib import closing
from pathlib import Path

from povdata.auth import User, config_path, normalise_username
from povdata.db import one, q


def _for_update(conn) -> str:
    """PostgreSQL: the row read is locked until commit (two redeemers of one ticket queue, the
    second sees it spent); SQLite's write transaction already excludes every other writer."""
    return " FOR UPDATE" if conn.dialect.name == "postgresql" else ""

COOKIE_NAME = "povdash_session"
TICKET_SECONDS = 60.0
DEFAULT_SESSION_HOURS = 12.0  # a working day and its evening: staff are not signed out at lunch
MAX_SESSION_HOURS = 24.0 * 30


def token_hash(token: str) -> str:
    """What the store keeps of a token (a 256-bit random token needs no slow hash)."""
    return hashlib.sha256(str(token).encode("utf-8", "surrogatepass")).hexdigest()


def session_hours(data_dir: str | Path | None = None) -> float:
    """The configured lifetime of a sign-in, in hours (bounded to 5 minutes … 30 days)."""
    raw = os.environ.get("POVDASH_SESSION_HOURS", "").strip()
    if not raw:
        path = config_path(data_dir)
        if path.exists():
            try:
                raw = str(tomllib.loads(path.read_text(encoding="utf-8")).get("auth", {}).get("session_hours", ""))
            except (OSError, tomllib.TOMLDecodeError, AttributeError):
                raw = ""
    try:
        hours = float(raw.replace(",", ".")) if raw else DEFAULT_SESSION_HOURS
    except ValueError:
        hours = DEFAULT_SESSION_HOURS
    return min(max(hours, 5 / 60), MAX_SESSION_HOURS)


def _insert(conn, kind: str, user: User, now: float, lifetime: float) -> str:
    token = secrets.token_urlsafe(32)
    q(conn, "INSERT INTO sign_in_sessions (token_hash, kind, username, role, province_code, created_at, "
            "expires_at) VALUES (:h, :kind, :u, :role, :p, :now, :exp)",
      {"h": token_hash(token), "kind": kind, "u": user.username, "role": user.role, "p": user.province_code or "",
       "now": now, "exp": now + lifetime})
    return token


def issue_ticket(store, user: User, *, now: float | None = None) -> str:
    """A one-time ticket for ``user`` (just authenticated); expired rows are cleared on the way."""
    from povdata.db import transaction as _transaction

    now = time.time() if now is None else now
    with _transaction(store) as conn:
        q(conn, "DELETE FROM sign_in_sessions WHERE expires_at < :now OR revoked_at < :old",
          {"now": now, "old": now - 86400})
        return _insert(conn, "ticket", user, now, TICKET_SECONDS)


def redeem_ticket(store, ticket: str, *, now: float | None = None,
                  hours: float | None = None) -> tuple[str, float] | None:
    """The session token (and its lifetime in seconds) for an unused, unexpired ticket, or
    None.  A ticket is spent at the first try, good or not too late."""
    from povdata.db import transaction as _transaction

    now = time.time() if now is None else now
    lifetime = (session_hours(store.path.parent) if hours is None else hours) * 3600.0
    with _transaction(store) as conn:
        row = one(conn, "SELECT username, role, province_code, expires_at, revoked_at FROM sign_in_sessions "
                        "WHERE token_hash = :h AND kind = 'ticket'" + _for_update(conn), {"h": token_hash(ticket)})
        if row is None or row["revoked_at"] is not None:
            return None
        q(conn, "UPDATE sign_in_sessions SET revoked_at = :now WHERE token_hash = :h", {"now": now, "h": token_hash(ticket)})
        if row["expires_at"] < now:
            return None
        user = User(row["username"], row["role"], row["province_code"] or None)
        return _insert(conn, "session", user, now, lifetime), lifetime


def session_user(store, token: str | None, *, now: float | None = None) -> User | None:
    """The user a session token stands for, or None: unknown, expired or revoked token; user
    removed or disabled; role or province changed since the token was issued (the token is
    then revoked)."""
    if not token:
        return None
    now = time.time() if now is None else now
    digest = token_hash(token)
    with closing(store.connect()) as conn:
        row = one(conn, "SELECT s.username, s.role AS issued_role, s.province_code AS issued_province, "
                        "u.role, COALESCE(u.province_code, '') AS province_code, u.disabled, u.display_name "
                        "FROM sign_in_sessions s LEFT JOIN users u ON u.username = s.username "
                        "WHERE s.token_hash = :h AND s.kind = 'session' AND s.revoked_at IS NULL "
                        "AND s.expires_at > :now", {"h": digest, "now": now})
    if row is None:
        return None
    if row["role"] is None or row["disabled"] or row["role"] != row["issued_role"] \
            or row["province_code"] != row["issued_province"]:
        revoke(store, token, now=now)
        return None
    return User(row["username"], row["role"], row["province_code"] or None, row["display_name"] or "", "password")


def revoke(store, token: str | None, *, now: float | None = None) -> None:
    """Sign-out: the token no longer stands for anybody."""
    if not token:
        return
    from povdata.db import transaction as _transaction

    with _transaction(store) as conn:
        q(conn, "UPDATE sign_in_sessions SET revoked_at = :now WHERE token_hash = :h AND revoked_at IS NULL",
          {"now": time.time() if now is None else now, "h": token_hash(token)})


def live_sessions(store, username: str, *, now: float | None = None) -> int:
    """How many unexpired, unrevoked sessions ``username`` has (the admin page shows it)."""
    now = time.time() if now is None else now
    with closing(store.connect()) as conn:
        return int(q(conn, "SELECT COUNT(*) FROM sign_in_sessions WHERE username = :u AND kind = 'session' "
                           "AND revoked_at IS NULL AND expires_at > :now",
                     {"u": normalise_username(username), "now": now}).scalar_one())


# ---- which Streamlit sessions belong to which sign-in (this process) -------------------
MAX_BOUND = 20_000
_BOUND: dict[str, str] = {}  # Streamlit session id -> token hash, most recently seen last
_BOUND_LOCK = threading.Lock()


def bind_session(session_id: str, token: str) -> None:
    """Remember that the Streamlit session ``session_id`` runs for the sign-in ``token``
    (called on every run; the oldest entries go beyond :data:`MAX_BOUND`)."""
    digest = token_hash(token)
    with _BOUND_LOCK:
        _BOUND.pop(session_id, None)
        _BOUND[session_id] = digest
        while len(_BOUND) > MAX_BOUND:
            _BOUND.pop(next(iter(_BOUND)))


def sessions_of(token: str | None) -> set[str]:
    """The Streamlit sessions of this process that run for the sign-in ``token``."""
    if not token:
        return set()
    digest = token_hash(token)
    with _BOUND_LOCK:
        return {sid for sid, d in _BOUND.items() if d == digest}
