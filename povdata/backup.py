"""Backup and restore of the data store (``python -m povdata backup`` / ``restore``).

**Backup.**  SQLite's online backup API copies the store page by page inside one read
transaction, so the copy is consistent while the dashboard runs and while an editor imports
(an import is in the copy whole or not at all).  The copy is written to a temporary file
beside the destination, switched from WAL to a rollback journal (one self-contained file,
nothing beside it), checked with ``PRAGMA integrity_check``, flushed to disk and renamed
into place.  Beside it, ``<name>.json`` (the manifest) records its SHA-256, size, time,
schema version and the versions of each province.  Default destination:
``<data dir>/backups/povdash-YYYYmmdd-HHMMSS.sqlite``.

**Restore.**  The file is checked before anything changes: it exists, is an SQLite file,
matches its manifest's SHA-256 (when the manifest is beside it), passes
``integrity_check`` and ``foreign_key_check``, has the store's tables and columns and a
schema version this program knows.  It is checked on a private copy in the data directory,
so what is restored is exactly what was checked.  Then, holding the store's write lock:

1. a safety copy of the current store is written (``backups/povdash-truoc-khoi-phuc-…``);
2. in **one transaction** on the live store, every data table is emptied and refilled from
   the backup (``ATTACH`` + ``INSERT … SELECT``), and the restore is written to the audit
   trail.

A crash, a full disk or any error before the commit leaves the store exactly as it was (the
transaction rolls back); readers see the old data or the new, never a mix.  Because the
live file is never swapped, its ``-wal``/``-shm`` files need no special care and open
connections of the running app stay valid.  Version ids are restored as they were and
never reused afterwards (``sqlite_sequence`` is kept), so a page's cached version stays
right.

The store's own tables are not replaced: ``meta`` (schema version), ``users`` and
``sign_in_failures`` (accounts stay as they are now), ``audit`` (append-only: the trail
keeps everything, including the restore).  Every other table is data and is restored;
a table an older backup does not have (added by a later schema) is emptied.
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from povdata.i18n import t
from povdata.messages import Msg, Num
from povdata.store import (
    _VERSION_COLUMNS,
    SCHEMA_VERSION,
    Store,
    StoreError,
    VersionInfo,
    _login,
    has_store,
    is_disk_full,
    open_store,
    store_path,
    version_label,
    write_error,
)

BACKUP_DIR = "backups"
KEPT_TABLES = ("meta", "alembic_version", "users", "sign_in_failures", "audit")  # the live store's own, never restored
CORE_TABLES = ("datasets", "versions", "indicators", "boundary_sets", "boundary_units", "boundary_layers")
#: the tables a backup of any schema has (the others of CORE_TABLES came with later schemas)
_EVERY_SCHEMA = ("datasets", "versions", "indicators", "boundary_layers")
MANIFEST_FORMAT = "povdash-backup"
_MAGIC = b"SQLite format 3\x00"


@dataclass(frozen=True)
class Contents:
    """What a store (or a backup) holds: the versions of each province, newest first, and
    the row count of each table."""
    schema_version: int
    versions: dict[str, list[VersionInfo]]
    rows: dict[str, int] = field(default_factory=dict)

    def lines(self, lang: str = "vi") -> list[str]:
        """One line per province: '20 Lạng Sơn: 3 phiên bản (v1–v3), hiện hành v3 · … UTC · nguyen'."""
        if not self.versions:
            return ["  " + t("backup.no_versions", lang)]
        out = []
        for code, vs in sorted(self.versions.items()):
            nums = sorted(v.number for v in vs)
            span = f"v{nums[0]}" if len(nums) == 1 else f"v{nums[0]}–v{nums[-1]}"
            out.append("  " + t("backup.province_line", lang, province=_province_name(code) or t("backup.province", lang),
                                code=code, n=len(vs), span=span, current=version_label(vs[0])))
        return out


@dataclass(frozen=True)
class BackupInfo:
    path: Path
    sha256: str
    size: int
    created_at: str  # when the backup was made (UTC; from the manifest when restoring)
    contents: Contents
    manifest: Path | None = None


@dataclass(frozen=True)
class RestoreResult:
    source: BackupInfo
    before: Contents  # what the store held before the restore
    after: Contents
    safety_copy: Path | None  # the store as it was, or None when it held nothing


def _province_name(code: str) -> str:
    if code == "00":
        return t("store.whole_country")
    from povdata.units import province_name
    try:
        return province_name(code)
    except (KeyError, ValueError, LookupError):
        return ""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def default_backup_path(data_dir: str | Path, prefix: str = "povdash") -> Path:
    """``<data dir>/backups/<prefix>-YYYYmmdd-HHMMSS.sqlite`` (local time), never an existing file."""
    return _new_file(Path(data_dir) / BACKUP_DIR, prefix)


def _new_file(folder: Path, prefix: str) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path, k = folder / f"{prefix}-{stamp}.sqlite", 2
    while path.exists() or manifest_path(path).exists():
        path, k = folder / f"{prefix}-{stamp}-{k}.sqlite", k + 1
    return path


def manifest_path(backup_file: Path) -> Path:
    return backup_file.with_suffix(".json")


def _tables(conn: sqlite3.Connection, schema: str = "main") -> list[str]:
    return [r[0] for r in conn.execute(f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table' "
                                       "AND name NOT LIKE 'sqlite_%' ORDER BY name")]


def _columns(conn: sqlite3.Connection, table: str, schema: str = "main") -> list[str]:
    return [r[1] for r in conn.execute(f"PRAGMA {schema}.table_info({_q(table)})")]


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def contents(conn: sqlite3.Connection, schema: str = "main") -> Contents:
    row = conn.execute(f"SELECT value FROM {schema}.meta WHERE key = 'schema_version'").fetchone()
    vs: dict[str, list[VersionInfo]] = {}
    cur = conn.execute(f"SELECT {_VERSION_COLUMNS} FROM {schema}.versions ORDER BY province_code, number DESC")
    names = [d[0] for d in cur.description]
    for r in cur:
        v = VersionInfo(**dict(zip(names, r)))  # by column name, never by position
        vs.setdefault(v.province_code, []).append(v)
    rows = {t: conn.execute(f"SELECT COUNT(*) FROM {schema}.{_q(t)}").fetchone()[0] for t in _tables(conn, schema)}
    return Contents(int(row[0]) if row else 0, vs, rows)


def _sqlite(store: Store) -> sqlite3.Connection:
    """A connection of the sqlite3 module to the store's file (its backup API, ``ATTACH`` and
    ``PRAGMA`` checks are SQLite's own; PostgreSQL stores go through :mod:`povdata.db` instead)."""
    conn = sqlite3.connect(store.path, timeout=30, isolation_level=None)  # we issue BEGIN ourselves
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 30000")
    return conn


def store_contents(store: Store) -> Contents:
    if store.url:
        return _pg_contents(store)
    with closing(_sqlite(store)) as conn:
        return contents(conn)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    try:
        _fsync(folder)
    except OSError:  # not every file system lets a directory be flushed
        pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _remove(*paths: Path) -> None:
    for p in paths:
        for q in (p, Path(f"{p}-journal"), Path(f"{p}-wal"), Path(f"{p}-shm")):
            try:
                q.unlink()
            except OSError:
                pass


def _clean_stale(folder: Path) -> None:
    """Remove what a killed backup or restore left behind: its temporary files
    (``.<name>.<pid>.tmp``) whose process is gone."""
    try:
        leftovers = list(folder.glob(".*.tmp"))
    except OSError:
        return
    for p in leftovers:
        pid = p.name.rsplit(".", 2)[-2]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(p)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True


def _free(folder: Path) -> object:
    import shutil
    try:
        return Msg("backup.free_space", mb=Num(shutil.disk_usage(folder).free / 1e6, 1), folder=folder)
    except OSError:
        return str(folder)


def _short_of_space(folder: Path, store: Store) -> bool:
    """Whether ``folder`` has less room than a copy of the store needs (an I/O error while
    copying then means the disk is full: SQLite reports some of those as 'disk I/O error')."""
    import shutil
    try:
        need = sum(p.stat().st_size for p in (store.path, Path(f"{store.path}-wal")) if p.exists())
        return shutil.disk_usage(folder).free < need + (1 << 20)
    except OSError:
        return False


def _record(conn: sqlite3.Connection, actor: str, action: str, summary: str, detail: dict) -> None:
    """Append to the audit trail (inside the caller's transaction) when the store has one."""
    if "audit" in _tables(conn):
        from povdata import audit
        audit.record(conn, actor, action, summary, detail)


def _copy_store(store: Store, dest: Path) -> BackupInfo:
    """Copy the store's last committed state to ``dest`` (a new file), checked and flushed."""
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    mtmp = dest.with_name(f".{manifest_path(dest).name}.{os.getpid()}.tmp")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _clean_stale(dest.parent)
        if store.url:
            _pg_to_file(store, tmp)
        with closing(sqlite3.connect(tmp, isolation_level=None)) as dst:
            # exclusive: the copy never needs a -shm file (which cannot be made on a nearly full disk)
            dst.execute("PRAGMA locking_mode = EXCLUSIVE")
            if not store.url:
                with closing(_sqlite(store)) as src:
                    src.backup(dst)  # all pages in one step: one read transaction, one consistent state
            dst.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, no -wal beside it
            check = [r[0] for r in dst.execute("PRAGMA integrity_check")]
            info = contents(dst)
        if check != ["ok"]:
            raise StoreError(Msg("backup.integrity_failed", check="; ".join(check[:3])))
        _fsync(tmp)
        made = _now().isoformat(timespec="seconds")
        backup = BackupInfo(dest, _sha256(tmp), tmp.stat().st_size, made, info, manifest_path(dest))
        mtmp.write_text(json.dumps(_manifest(backup), ensure_ascii=False, indent=1), encoding="utf-8")
        _fsync(mtmp)
        os.replace(tmp, dest)
        os.replace(mtmp, manifest_path(dest))
        _fsync_dir(dest.parent)
        return backup
    except BaseException as exc:
        _remove(tmp, mtmp)
        from povdata.db import DB_ERRORS
        if isinstance(exc, (*DB_ERRORS, OSError)) and (is_disk_full(exc) or _short_of_space(dest.parent, store)):
            raise StoreError(Msg("backup.disk_full", dest=dest, free=_free(dest.parent))) from exc
        if isinstance(exc, (*DB_ERRORS, OSError)):
            raise StoreError(Msg("backup.write_failed", dest=dest, error=exc)) from exc
        raise


def _manifest(b: BackupInfo) -> dict:
    return {"format": MANIFEST_FORMAT, "file": b.path.name, "sha256": b.sha256, "bytes": b.size,
            "created_at": b.created_at, "schema_version": b.contents.schema_version,
            "versions": {code: sorted(v.number for v in vs) for code, vs in sorted(b.contents.versions.items())},
            "rows": b.contents.rows}


def backup(store: Store, dest: str | Path | None = None, *, actor: str | None = None) -> BackupInfo:
    """Back the store up to ``dest`` (a new file, or a folder; default
    :func:`default_backup_path`) with its manifest; record it in the audit trail."""
    if not store.url and not store.path.exists():
        raise StoreError(Msg("backup.no_store", path=store.path))
    dest = Path(dest) if dest is not None else default_backup_path(store.path.parent)
    if dest.is_dir():
        dest = _new_file(dest, "povdash")
    if dest.exists():
        raise StoreError(Msg("backup.exists", dest=dest))
    info = _copy_store(store, dest)
    from povdata import audit
    from povdata.db import DB_ERRORS, transaction
    try:
        with transaction(store) as conn:
            audit.record(conn, actor or _login(), "backup", Msg("backup.audit_backup", file=dest.name),
                         {"file": str(dest), "sha256": info.sha256, "bytes": info.size,
                          "versions": _manifest(info)["versions"]})
    except DB_ERRORS as exc:
        raise StoreError(Msg("backup.no_audit", dest=dest, error=write_error(exc, store.path.parent).args[0])) \
            from exc
    return info


# ---- PostgreSQL ------------------------------------------------------------------------
# A PostgreSQL store is backed up to the same file as a SQLite one (a SQLite store of the same
# schema, made by the migrations, every table copied from one snapshot), so the checks, the
# manifest and the restore are the same for both, and a province's data moves between the two
# (a SQLite store's backup restores into PostgreSQL, and the reverse).  The database
# administrator's pg_dump of the whole cluster is a separate matter.

#: the data tables in an order their foreign keys allow (parents first); the others after
_PARENTS_FIRST = ("datasets", "versions", "indicators", "boundary_sets", "boundary_units", "boundary_layers")
#: the PostGIS geometry columns (WKB in the SQLite backup file)
_GEOMETRY = {"boundary_units": ("geom", "display_geom")}
_CHUNK = 5000


def _sa_tables(conn) -> list[str]:
    from sqlalchemy import inspect
    return sorted(t for t in inspect(conn).get_table_names() if t != "spatial_ref_sys")  # PostGIS's own


def _sa_contents(conn) -> Contents:
    from povdata.db import q
    row = q(conn, "SELECT value FROM meta WHERE key = 'schema_version'").first()
    vs: dict[str, list[VersionInfo]] = {}
    for r in q(conn, f"SELECT {_VERSION_COLUMNS} FROM versions ORDER BY province_code, number DESC").mappings():
        vs.setdefault(r["province_code"], []).append(VersionInfo(**r))
    rows = {t: int(q(conn, f"SELECT COUNT(*) FROM {_q(t)}").scalar_one()) for t in _sa_tables(conn)}
    return Contents(int(row[0]) if row else 0, vs, rows)


def _pg_contents(store: Store) -> Contents:
    with closing(store.connect()) as conn:
        return _sa_contents(conn)


def _select_list(table: str, cols: list[str]) -> str:
    return ", ".join(f"ST_AsBinary({_q(c)}) AS {_q(c)}" if c in _GEOMETRY.get(table, ()) else _q(c) for c in cols)


def _pg_to_file(store: Store, tmp: Path) -> None:
    """Copy every table of the PostgreSQL store into a new SQLite store at ``tmp``, from one
    snapshot (``REPEATABLE READ``: an import is in the copy whole or not at all)."""
    from povdata.db import upgrade

    upgrade(tmp)  # an empty store of this schema, made by the migrations
    with closing(sqlite3.connect(tmp, isolation_level=None)) as dst, closing(store.connect()) as src:
        src.execution_options(isolation_level="REPEATABLE READ")
        dst.execute("PRAGMA locking_mode = EXCLUSIVE")
        dst.execute("BEGIN")
        for table in _tables(dst):
            if table in ("meta", "alembic_version"):
                continue
            cols = _columns(dst, table)
            ins = f"INSERT INTO {_q(table)} ({', '.join(map(_q, cols))}) VALUES ({', '.join('?' * len(cols))})"
            res = src.exec_driver_sql(f"SELECT {_select_list(table, cols)} FROM {_q(table)}")
            while part := res.fetchmany(_CHUNK):
                dst.executemany(ins, [tuple(bytes(v) if isinstance(v, memoryview) else v for v in r) for r in part])
        dst.execute("COMMIT")


def _pg_restore(store: Store, staged: Path, info: BackupInfo, src: Path, folder: Path,
                actor: str | None) -> RestoreResult:
    """Replace the PostgreSQL store's data tables with the checked copy ``staged``, in one
    transaction that first locks them against other writers (readers go on reading the old
    rows until the commit)."""
    from sqlalchemy import text

    from povdata import audit
    from povdata.db import DB_ERRORS, fresh_columns, q, transaction

    safety: Path | None = None
    columns = fresh_columns()
    try:
        with transaction(store) as conn, closing(sqlite3.connect(staged)) as b:
            live = [t for t in _sa_tables(conn) if t not in KEPT_TABLES]
            order = [t for t in _PARENTS_FIRST if t in live] + [t for t in live if t not in _PARENTS_FIRST]
            conn.exec_driver_sql(f"LOCK TABLE {', '.join(map(_q, order))} IN EXCLUSIVE MODE")
            before = _sa_contents(conn)
            if any(n for t, n in before.rows.items() if t not in KEPT_TABLES):
                # another connection reads the last committed state: exactly the data about to be replaced
                safety = _copy_store(store, default_backup_path(folder, "povdash-truoc-khoi-phuc")).path
            for table in reversed(order):
                q(conn, f"DELETE FROM {_q(table)}")
            in_backup = set(_tables(b))
            for table in order:
                if table not in in_backup:
                    continue
                cols = columns[table]
                values = ", ".join(f"ST_GeomFromWKB(:{c}, 4326)" if c in _GEOMETRY.get(table, ())
                                   else f":{c}" for c in cols)
                ins = text(f"INSERT INTO {_q(table)} ({', '.join(map(_q, cols))}) VALUES ({values})")
                cur = b.execute(f"SELECT {', '.join(map(_q, cols))} FROM {_q(table)}")
                while part := cur.fetchmany(_CHUNK):
                    conn.execute(ins, [dict(zip(cols, r)) for r in part])
                if "id" in cols:  # ids handed out later never repeat a restored one, nor one given before
                    seq = q(conn, "SELECT pg_get_serial_sequence(:t, 'id')", {"t": table}).scalar_one()
                    last, called = q(conn, f"SELECT last_value, is_called FROM {seq}").one()
                    top = int(q(conn, f"SELECT COALESCE(MAX(id), 0) FROM {_q(table)}").scalar_one())
                    q(conn, "SELECT setval(:s, :v, :c)", {"s": seq, "v": max(top, int(last), 1),
                                                          "c": bool(called or top)})
            after = _sa_contents(conn)
            restored = {t: n for t, n in after.rows.items() if t not in KEPT_TABLES}
            expected = {t: info.contents.rows.get(t, 0) for t in restored}
            if restored != expected:  # cannot happen short of a bug; never commit a partial restore
                raise _refuse(Msg("backup.row_counts", restored=restored, expected=expected))
            audit.record(conn, actor or _login(), "restore",
                         Msg("backup.audit_restore_safety", file=src.name, safety=safety.name) if safety
                         else Msg("backup.audit_restore", file=src.name),
                         {"file": str(src.resolve()), "sha256": info.sha256, "backup_created_at": info.created_at,
                          "versions": {c: sorted(v.number for v in vs) for c, vs in sorted(after.versions.items())},
                          "replaced_versions": {c: sorted(v.number for v in vs)
                                                for c, vs in sorted(before.versions.items())},
                          "safety_copy": str(safety) if safety else None})
    except DB_ERRORS + (OSError,) as exc:
        if is_disk_full(exc):
            raise StoreError(Msg("backup.restore_disk_full", free=_free(folder))) from exc
        if isinstance(exc, DB_ERRORS):
            err = write_error(exc, folder)
            raise StoreError(Msg("backup.restore_failed", error=err.args[0])) from exc
        raise
    return RestoreResult(info, before, after, safety)


# ---- restore --------------------------------------------------------------------------
def _refuse(msg: Msg) -> StoreError:
    return StoreError(Msg("backup.refused", reason=msg))


def _stage(src: Path, folder: Path) -> tuple[Path, str]:
    """Copy ``src`` into ``folder`` (a private file), hashing it on the way."""
    tmp = folder / f".khoi-phuc-{_now():%Y%m%d%H%M%S%f}.{os.getpid()}.tmp"
    h = hashlib.sha256()
    try:
        with open(src, "rb") as f, open(tmp, "wb") as out:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
    except OSError as exc:
        _remove(tmp)
        if is_disk_full(exc):
            raise _refuse(Msg("backup.stage_disk_full", folder=folder, free=_free(folder))) from exc
        raise _refuse(Msg("backup.unreadable", src=src, error=exc.strerror or exc)) from exc
    return tmp, h.hexdigest()


def _check_staged(staged: Path, name: str, live_columns: dict[str, list[str]], upgraded: bool = False) -> Contents:
    """Open the private copy and check it is a sound store of a schema we know.  A backup of
    an older schema is first brought up to date by the migrations, on this private copy, so
    that a backup made before an upgrade of the software can still be restored."""
    older = False
    try:
        with closing(sqlite3.connect(staged, isolation_level=None)) as conn:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")  # private: no -shm beside it
            conn.execute("PRAGMA journal_mode = DELETE")  # a copied WAL-mode store: make it one file
            check = [r[0] for r in conn.execute("PRAGMA integrity_check")]
            if check != ["ok"]:
                raise _refuse(Msg("backup.damaged_check", name=name, check="; ".join(check[:3])))
            tables = set(_tables(conn))
            missing = [t for t in (*_EVERY_SCHEMA, "meta") if t not in tables]
            if missing:
                raise _refuse(Msg("backup.not_backup_tables", name=name, tables=", ".join(missing)))
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = int(row[0]) if row and str(row[0]).isdigit() else None
            if version is None:
                raise _refuse(Msg("backup.not_backup_schema", name=name))
            if version > SCHEMA_VERSION:
                raise _refuse(Msg("backup.newer", name=name, version=version, ours=SCHEMA_VERSION))
            older = version < SCHEMA_VERSION and not upgraded
            missing = [] if older else [t for t in CORE_TABLES if t not in tables]
            if missing:
                raise _refuse(Msg("backup.not_backup_tables", name=name, tables=", ".join(missing)))
            for table, cols in ({} if older else live_columns).items():
                if table in KEPT_TABLES or (table not in tables and table not in CORE_TABLES):
                    continue
                lacking = [c for c in cols if c not in _columns(conn, table)]
                if lacking:
                    raise _refuse(Msg("backup.other_schema", name=name, table=table, columns=", ".join(lacking)))
            if conn.execute("PRAGMA foreign_key_check").fetchone() is not None:
                raise _refuse(Msg("backup.orphan_rows", name=name))
            if not older:
                return contents(conn)
    except sqlite3.Error as exc:
        if is_disk_full(exc):
            raise _refuse(Msg("backup.check_disk_full", name=name, free=_free(staged.parent))) from exc
        raise _refuse(Msg("backup.damaged", name=name, error=exc)) from exc
    from povdata.db import MigrationError, upgrade
    try:
        upgrade(staged)
    except MigrationError as exc:
        raise _refuse(Msg("backup.cannot_upgrade", name=name, error=exc)) from exc
    return _check_staged(staged, name, live_columns, upgraded=True)


def verify_backup(src: str | Path, work_dir: str | Path) -> BackupInfo:
    """Check a backup file (on a private copy in ``work_dir``) without restoring it."""
    info, staged = _verified_copy(Path(src), Path(work_dir), _live_columns())
    _remove(staged)
    return info


def _live_columns(store: Store | None = None) -> dict[str, list[str]]:
    """The columns of every table of the current schema (of ``store``, else a fresh one)."""
    if store is not None:
        if store.url:  # PostgreSQL: the migrations make the same columns (tests/test_migrations.py)
            from povdata.db import fresh_columns
            return fresh_columns()
        with closing(_sqlite(store)) as conn:
            return {t: _columns(conn, t) for t in _tables(conn)}
    from povdata.db import fresh_columns
    return fresh_columns()


def _verified_copy(src: Path, folder: Path, live_columns: dict[str, list[str]]) -> tuple[BackupInfo, Path]:
    if not src.is_file():
        raise _refuse(Msg("backup.not_found", src=src))
    try:
        with open(src, "rb") as f:
            head = f.read(len(_MAGIC))
    except OSError as exc:
        raise _refuse(Msg("backup.unreadable", src=src, error=exc.strerror or exc)) from exc
    if head != _MAGIC:
        raise _refuse(Msg("backup.not_sqlite", name=src.name))
    beside = manifest_path(src)
    manifest: Path | None = None
    made, expected = "", None
    if beside.is_file() and beside != src:
        manifest = beside
        try:
            m = json.loads(beside.read_text(encoding="utf-8"))
            if m.get("format") != MANIFEST_FORMAT:
                raise ValueError
            expected, made = str(m["sha256"]), str(m.get("created_at", ""))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise _refuse(Msg("backup.bad_manifest", name=beside.name)) from exc
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _refuse(Msg("backup.no_folder", folder=folder, error=exc.strerror or exc)) from exc
    _clean_stale(folder)
    staged, digest = _stage(src, folder)
    try:
        if expected is not None and digest != expected:
            raise _refuse(Msg("backup.hash_differs", name=src.name, manifest=beside.name))
        info = _check_staged(staged, src.name, live_columns)
    except BaseException:
        _remove(staged)
        raise
    return BackupInfo(src, digest, staged.stat().st_size, made, info, manifest), staged


def restore(src: str | Path, data_dir: str | Path | None = None, *, actor: str | None = None,
            confirm: Callable[[BackupInfo, Contents], bool] | None = None) -> RestoreResult | None:
    """Replace the store's data with the backup ``src``, after checking it; keep a safety
    copy of the current store.  ``confirm(backup, current)`` is asked after the checks and
    before anything changes; when it returns False nothing is restored (and None returned)."""
    from povdata.store import data_dir as default_dir

    folder = Path(data_dir) if data_dir is not None else default_dir()
    # only read the live store until the backup has passed every check
    from povdata.db import database_url
    live_columns = _live_columns(Store(store_path(folder), database_url()) if has_store(folder) else None)
    info, staged = _verified_copy(Path(src), folder, live_columns)
    try:
        store = open_store(folder)  # creates an empty store in a fresh data directory
        before = store_contents(store)
        if confirm is not None and not confirm(info, before):
            return None
        safety: Path | None = None
        if store.url:
            return _pg_restore(store, staged, info, Path(src), folder, actor)
        conn = _sqlite(store)
        try:
            conn.execute("ATTACH DATABASE ? AS b", (str(staged),))
            conn.execute("BEGIN IMMEDIATE")  # from here no one else writes: the safety copy is what we replace
            before = contents(conn)
            if any(n for t, n in before.rows.items() if t not in KEPT_TABLES):
                # another connection reads the last committed state: exactly the data about to be replaced
                safety = _copy_store(store, default_backup_path(folder, "povdash-truoc-khoi-phuc")).path
            conn.execute("PRAGMA defer_foreign_keys = ON")
            in_backup = set(_tables(conn, "b"))
            for table in _tables(conn):
                if table in KEPT_TABLES:
                    continue
                conn.execute(f"DELETE FROM main.{_q(table)}")
                if table in in_backup:
                    cols = ", ".join(_q(c) for c in _columns(conn, table))
                    conn.execute(f"INSERT INTO main.{_q(table)} ({cols}) SELECT {cols} FROM b.{_q(table)}")
            if conn.execute("PRAGMA main.foreign_key_check").fetchone() is not None:
                raise _refuse(Msg("backup.inconsistent", name=Path(src).name))
            after = contents(conn)
            restored = {t: n for t, n in after.rows.items() if t not in KEPT_TABLES}
            expected = {t: info.contents.rows.get(t, 0) for t in restored}
            if restored != expected:  # cannot happen short of a bug; never commit a partial restore
                raise _refuse(Msg("backup.row_counts", restored=restored, expected=expected))
            _record(conn, actor or _login(), "restore",
                    Msg("backup.audit_restore_safety", file=Path(src).name, safety=safety.name) if safety
                    else Msg("backup.audit_restore", file=Path(src).name),
                    {"file": str(Path(src).resolve()), "sha256": info.sha256, "backup_created_at": info.created_at,
                     "versions": {c: sorted(v.number for v in vs) for c, vs in sorted(after.versions.items())},
                     "replaced_versions": {c: sorted(v.number for v in vs) for c, vs in sorted(before.versions.items())},
                     "safety_copy": str(safety) if safety else None})
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if isinstance(exc, (sqlite3.Error, OSError)) and is_disk_full(exc):
                raise StoreError(Msg("backup.restore_disk_full", free=_free(folder))) from exc
            if isinstance(exc, sqlite3.Error):
                err = write_error(exc, folder)  # another writer past the busy timeout, or the error itself
                raise StoreError(Msg("backup.restore_failed", error=err.args[0])) from exc
            raise
        finally:
            conn.close()
        return RestoreResult(info, before, after, safety)
    finally:
        _remove(staged)
