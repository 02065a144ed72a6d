"""The store's file and connections: where it lives, opening it (made or upgraded by the
migrations), one write transaction, and the errors a write can meet (the bottom layer:
nothing here knows versions, users or the audit trail)."""
from __future__ import annotations

import errno
import getpass
import os
import shutil
import sqlite3
import threading
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, event, exc as sa_exc, pool, text
from sqlalchemy.engine import Connection, Engine, RowMapping, make_url

from povdata.db.migrate import MigrationError, folder_lock, upgrade, upgrade_url
from povdata.i18n import t
from povdata.messages import Msg, Num

REPO = Path(__file__).resolve().parents[2]
DB_NAME = "povdash.sqlite"


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message is Vietnamese."""


#: what a query can raise: SQLAlchemy's errors (which wrap the driver's, ``exc.orig``) and the
#: sqlite3 module's own (the few places that still open the file directly: health check, backups)
DB_ERRORS: tuple[type[BaseException], ...] = (sa_exc.SQLAlchemyError, sqlite3.Error)


def _driver_error(exc: BaseException) -> BaseException:
    return getattr(exc, "orig", None) or exc


def is_disk_full(exc: BaseException) -> bool:
    """Whether ``exc`` says the disk (or the user's quota) is full: SQLite's SQLITE_FULL
    ('database or disk is full'), PostgreSQL's ``disk_full`` (53100) or an OSError
    ENOSPC/EDQUOT."""
    exc = _driver_error(exc)
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    code = getattr(exc, "sqlite_errorcode", None)
    return ((code is not None and code & 0xFF == 13) or getattr(exc, "sqlstate", None) == "53100"
            or "disk is full" in str(exc))


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
    drv = _driver_error(exc)
    code = getattr(drv, "sqlite_errorcode", None)
    if code is not None and code & 0xFF in (5, 6):  # SQLITE_BUSY / SQLITE_LOCKED after the busy timeout
        return StoreError(Msg("store.busy"))
    if getattr(drv, "sqlstate", None) in ("55P03", "40P01", "40001"):  # lock timeout, deadlock, serialization
        return StoreError(Msg("store.busy"))
    return StoreError(Msg("store.write_failed", error=drv))


def data_dir() -> Path:
    """``POVDASH_DATA_DIR`` or ``var/`` in the repository."""
    env = os.environ.get("POVDASH_DATA_DIR", "").strip()
    return Path(env).expanduser() if env else REPO / "var"


def database_url() -> str:
    """``POVDASH_DATABASE_URL``: a SQLAlchemy URL of a PostgreSQL database
    (``postgresql+psycopg://user@host/db``) that holds the store instead of the SQLite file;
    empty: the SQLite file under :func:`data_dir` (the default)."""
    return os.environ.get("POVDASH_DATABASE_URL", "").strip()


def safe_url(url: str) -> str:
    """The URL as shown in messages and logs: the password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "?"


#: how long a SQLite writer waits for another one before giving up (the message then says: retry)
BUSY_TIMEOUT_MS = 30000
_ENGINES: dict[tuple[str, int], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _on_sqlite_connect(dbapi_conn, _record) -> None:
    dbapi_conn.isolation_level = None  # the driver's own BEGIN is off: ours is issued on "begin"
    dbapi_conn.execute("PRAGMA foreign_keys = ON")
    dbapi_conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_MS)}")


def _on_sqlite_begin(conn: Connection) -> None:
    # a write transaction takes SQLite's write lock at once (BEGIN IMMEDIATE): two writers never
    # both read and then both fail to upgrade their lock; a read is a plain snapshot
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("povdash_write") else "BEGIN")


def engine_for(url: str) -> Engine:
    """The process's engine for ``url`` (one per URL and process: a forked child makes its
    own, never sharing its parent's sockets).  SQLite: a new connection per use, as the file
    is local (``NullPool``); PostgreSQL: a small pool, checked before use."""
    key = (url, os.getpid())
    with _ENGINES_LOCK:
        eng = _ENGINES.get(key)
        if eng is None:
            if url.startswith("sqlite"):
                eng = create_engine(url, poolclass=pool.NullPool, connect_args={"timeout": 30})
                event.listen(eng, "connect", _on_sqlite_connect)
                event.listen(eng, "begin", _on_sqlite_begin)
            else:
                eng = create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True, pool_recycle=1800)
            _ENGINES[key] = eng
        return eng


def dispose_engines(url: str | None = None) -> None:
    """Close the pooled connections of ``url``'s engine (all engines when None)."""
    with _ENGINES_LOCK:
        for key in [k for k in _ENGINES if url is None or k[0] == url]:
            eng = _ENGINES.pop(key)
            if key[1] == os.getpid():
                eng.dispose()


@dataclass(frozen=True)
class Store:
    """Where the store is: the SQLite file ``path`` or, with ``url``, a PostgreSQL database
    (``path`` then only names the data folder: sign-in marker, backups)."""

    path: Path  # the SQLite file (PostgreSQL: where it would be; its folder is the data folder)
    url: str = ""  # PostgreSQL's SQLAlchemy URL; "" for the SQLite file

    @property
    def key(self) -> str:
        """A string naming this store, for cache keys (:meth:`from_key` turns it back)."""
        return self.url or str(self.path)

    @classmethod
    def from_key(cls, key: str) -> "Store":
        return cls(store_path(), key) if "://" in key else cls(Path(key))

    @property
    def where(self) -> str:
        """Where the store is, for messages: the file, or the database's URL without password."""
        return safe_url(self.url) if self.url else str(self.path)

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url else "sqlite"

    def engine(self) -> Engine:
        return engine_for(self.url or f"sqlite:///{self.path}")

    def connect(self) -> Connection:
        """A connection (SQLAlchemy Core); a read runs in one snapshot until it is closed."""
        return self.engine().connect()


_READY: set[Path] = set()  # stores whose schema this process has checked
_READY_URLS: set[str] = set()


def store_path(data_dir_: str | Path | None = None) -> Path:
    return Path(data_dir_ if data_dir_ is not None else data_dir()) / DB_NAME


def has_store(data_dir_: str | Path | None = None) -> bool:
    """Whether a store exists (without creating one: a fresh clone stays untouched).  A
    configured database (:func:`database_url`) is one: if it cannot be reached, opening it says
    why, never a guest view."""
    return bool(database_url()) or store_path(data_dir_).exists()


def store_key(data_dir_: str | Path | None = None) -> str:
    """The :attr:`Store.key` of the store :func:`open_store` opens, without opening it."""
    return database_url() or str(store_path(data_dir_))


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
    then a :class:`StoreError`; an empty or non-SQLite file is always one.  With
    :func:`database_url` set, the PostgreSQL database is opened (and migrated) instead."""
    path = store_path(data_dir_)
    url = database_url()
    if url:
        if url not in _READY_URLS:
            try:
                upgrade_url(url)
            except MigrationError as exc:
                raise StoreError(Msg("store.cannot_open", path=safe_url(url), error=exc)) from exc
            _READY_URLS.add(url)
        return Store(path, url)
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
def transaction(store: Store) -> Iterator[Connection]:
    """One write transaction: committed at the end, rolled back on any exception (SQLite:
    ``BEGIN IMMEDIATE``, the store's one write lock; PostgreSQL: a 30 s lock timeout, the
    SQLite busy timeout's equivalent, with :func:`lock` for what must not run twice at once)."""
    conn = store.connect()
    conn.execution_options(povdash_write=True)
    try:
        with conn.begin():
            if conn.dialect.name == "postgresql":
                conn.exec_driver_sql("SET LOCAL lock_timeout = '30s'")
            yield conn
    finally:
        conn.close()


def lock(conn: Connection, key: str) -> None:
    """Inside a write transaction: wait until no other transaction holds ``key`` (released at
    commit or rollback).  PostgreSQL: an advisory lock (``pg_advisory_xact_lock``); SQLite:
    nothing to do, the transaction already holds the store's only write lock."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": key})


def q(conn: Connection, sql: str, params: dict | list[dict] | None = None):
    """Run ``sql`` (named parameters, ``:name``) with ``params`` (a list: once per dict)."""
    return conn.execute(text(sql), params if params is not None else {})


def one(conn: Connection, sql: str, params: dict | None = None) -> RowMapping | None:
    """The first row of a query, its values read by column name (``row["years"]``), never by
    position."""
    return conn.execute(text(sql), params or {}).mappings().first()


def in_list(name: str, values) -> tuple[str, dict]:
    """``(":y0, :y1", {"y0": …, "y1": …})``: the placeholders and parameters of an ``IN (…)``."""
    values = list(values)
    return ", ".join(f":{name}{i}" for i in range(len(values))), {f"{name}{i}": v for i, v in enumerate(values)}


def login_name() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return t("audit.unknown_actor")
