"""The store's file and connections: where it lives, opening it (made or upgraded by the
migrations), one write transaction, and the errors a write can meet (the bottom layer:
nothing here knows versions, users or the audit trail)."""
from __future__ import annotations

import errno
import getpass
import os
import shutil
import sqlite3
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from povdata.db.migrate import MigrationError, folder_lock, upgrade
from povdata.i18n import t
from povdata.messages import Msg, Num

REPO = Path(__file__).resolve().parents[2]
DB_NAME = "povdash.sqlite"


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message is Vietnamese."""


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full: SQLite's SQLITE_FULL
    ('database or disk is full') or an OSError ENOSPC/EDQUOT."""
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(exc, "sqlite_errorcode", None)
    return (code is not None and code & 0xFF == 13) or "disk is full" in str(exc)


def write_error(exc: BaseException, folder: Path | None = None) -> StoreError:
    """The message for a write to the store that failed (and was rolled back): a full disk,
    another writer holding the store past the busy timeout, or anything else."""
    if is_disk_full(exc):
        free: object = ""
        if folder is not None:
            try:
                free = Msg("store.free_space", mb=Num(shutil.disk_usage(folder).free / 1e6, 1), folder=folder)
            except OSError:
                pass
        return StoreError(Msg("store.disk_full", free=free))
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (5, 6):  # SQLITE_BUSY / SQLITE_LOCKED after the busy timeout
        return StoreError(Msg("store.busy"))
    return StoreError(Msg("store.write_failed", error=exc))


def data_dir() -> Path:
    """``POVDASH_DATA_DIR`` or ``var/`` in the repository."""
    env = os.environ.get("POVDASH_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else REPO / "var"


@dataclass(frozen=True)
class Store:
    path: Path  # the SQLite file

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)  # we issue BEGIN ourselves
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 30000")
        return conn


_READY: set[Path] = set()  # stores whose schema this process has checked


def store_path(data_dir_: str | Path | None = None) -> Path:
    return Path(data_dir_ if data_dir_ is not None else data_dir()) / DB_NAME


def has_store(data_dir_: str | Path | None = None) -> bool:
    """Whether a store exists (without creating one: a fresh clone stays untouched)."""
    return store_path(data_dir_).exists()


#: written beside the store when sign-in is on (the first user): from then on a missing store is
#: an error, never a fresh empty one that would open the dashboard to guests
AUTH_MARKER = "povdash.auth"
_SQLITE_HEADER = b"SQLite format 3\x00"
#: data folders in which this process has seen sign-in on (deleting the folder while the app runs
#: must not turn it into an open demo)
_SIGN_IN_SEEN: set[Path] = set()


def mark_sign_in(data_dir_: str | Path | None = None, mode: str = "password") -> None:
    """Record that sign-in is on for this data folder (a marker file and this process)."""
    folder = Path(data_dir_ if data_dir_ is not None else data_dir())
    _SIGN_IN_SEEN.add(folder.resolve())
    marker = folder / AUTH_MARKER
    if not marker.exists():
        try:
            marker.write_text(mode + "\n", encoding="utf-8")
        except OSError:
            pass  # the process still remembers; a read-only folder is no reason to fail


def sign_in_recorded(data_dir_: str | Path | None = None) -> str | None:
    """The sign-in mode recorded for this data folder (marker or this process), or None."""
    folder = Path(data_dir_ if data_dir_ is not None else data_dir())
    marker = folder / AUTH_MARKER
    try:
        text = marker.read_text(encoding="utf-8").strip()
    except OSError:
        text = ""
    if text in ("password", "oidc"):
        return text
    return "password" if folder.resolve() in _SIGN_IN_SEEN else None


def check_store_file(path: Path) -> None:
    """:class:`StoreError` (Vietnamese) for a store file that is empty or not SQLite (a
    truncated or overwritten store is never silently recreated)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(len(_SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(Msg("store.unreadable", path=path, error=exc)) from exc
    if size == 0:
        raise StoreError(Msg("store.empty_file", path=path))
    if head != _SQLITE_HEADER:
        raise StoreError(Msg("store.not_sqlite", path=path))


def open_store(data_dir_: str | Path | None = None) -> Store:
    """Open (creating if needed) the store under ``data_dir_`` (default :func:`data_dir`).

    Never creates one where sign-in was on (:func:`sign_in_recorded`): a missing store is
    then a :class:`StoreError`; an empty or non-SQLite file is always one."""
    path = store_path(data_dir_)
    if path in _READY and path.exists():  # schema already in place: no write on every page run
        return Store(path)
    if not path.exists() and sign_in_recorded(path.parent):
        raise StoreError(Msg("store.missing_with_sign_in", path=path))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with folder_lock(path):  # another process making the same store never sees it half made (0 bytes)
            if path.exists():
                check_store_file(path)
            elif sign_in_recorded(path.parent):
                raise StoreError(Msg("store.missing_with_sign_in", path=path))
            with closing(sqlite3.connect(path, timeout=30)) as conn:
                conn.execute("PRAGMA journal_mode = WAL")
        upgrade(path)  # the migrations (povdata/db): a new store made, an older one brought up to date
    except (OSError, sqlite3.Error, MigrationError) as exc:
        raise StoreError(Msg("store.cannot_open", path=path, error=exc)) from exc
    _READY.add(path)
    return Store(path)


@contextmanager
def transaction(store: Store) -> Iterator[sqlite3.Connection]:
    conn = store.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # SQLite may have rolled back already (e.g. on a full disk)
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # closing the connection rolls back whatever is left
            raise
        conn.execute("COMMIT")  # if this fails, closing the connection rolls back
    finally:
        conn.close()


def one(conn: sqlite3.Connection, sql: str, params: tuple = ()) -> sqlite3.Row | None:
    """The first row of a query, its values read by column name (``row["years"]``), never by
    position."""
    cur = conn.execute(sql, params)
    cur.row_factory = sqlite3.Row
    return cur.fetchone()


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return t("audit.unknown_actor")
