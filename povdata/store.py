"""The data store: one SQLite file under the data directory, holding datasets as versions.

Layout of the data directory (``POVDASH_DATA_DIR``, default ``var/`` in the repository)::

    <data dir>/povdash.sqlite     the store (WAL mode: -wal and -shm files beside it)

Schema (see :data:`SCHEMA`):

* ``datasets`` — one per province (``province_code``, ``title``);
* ``versions`` — one row per import: ``id``, ``province_code``, ``number`` (1, 2, … per
  province), ``created_at`` (UTC, ISO 8601), ``created_by``, ``source_file`` and ``sha256``
  (the indicator file), ``boundary_file`` and ``boundary_sha256``, ``data_status``
  (``illustrative`` | ``published`` | ``imported``), ``title``, ``era`` (``legacy`` = units
  before 2025-07-01), ``years`` and ``note``;
* ``indicators`` — the version's commune rows (the tidy table of :mod:`povdata.indicators`);
* ``boundaries`` — the version's layers (``province``, ``district``, ``commune``,
  ``commune_2025``), one row per unit, geometry as WKB (EPSG:4326);
* ``boundary_layers`` — per version and layer: its source and whether it is approximate.

Every version is complete: an import that brings only indicators copies the previous
version's boundaries (and the reverse) inside the same transaction.

**Atomic imports.** :func:`import_version` writes everything in one transaction
(``BEGIN IMMEDIATE`` … ``COMMIT``): a rejected file never reaches it, and an exception or
a crash before the commit leaves the store exactly as it was (SQLite's journal rolls an
interrupted transaction back).  Geometry is stored as WKB *in* the database rather than as
a GeoPackage file per version: one file and one transaction make a version appear
whole or not at all, with no orphan files to clean after a crash.

**The demo.** A province with no version is shown from the embedded demo
(:func:`povdata.dataset.load_demo`).  The first import of a province that has demo data
first stores the demo as version 1 (``illustrative``), so the user can switch back to it.
"""
from __future__ import annotations

import getpass
import os
import sqlite3
import tomllib
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from povdata.dataset import Dataset, demo_dir
from povdata.indicators import COUNT_COLUMNS, PUBLISHED_RATES

REPO = Path(__file__).resolve().parents[1]
DB_NAME = "povdash.sqlite"
SCHEMA_VERSION = 1
LAYERS = ("province", "district", "commune", "commune_2025")
_LAYER_PARENTS = ("province_code", "district_code")

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS datasets (
    province_code TEXT PRIMARY KEY,
    title TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    province_code TEXT NOT NULL REFERENCES datasets(province_code),
    number INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL,
    source_file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    boundary_file TEXT NOT NULL DEFAULT '',
    boundary_sha256 TEXT NOT NULL DEFAULT '',
    data_status TEXT NOT NULL CHECK (data_status IN ('illustrative', 'published', 'imported')),
    title TEXT NOT NULL,
    era TEXT NOT NULL DEFAULT 'legacy',
    years TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    UNIQUE (province_code, number)
);
CREATE TABLE IF NOT EXISTS indicators (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    unit_code TEXT NOT NULL,
    year INTEGER NOT NULL,
    standard TEXT NOT NULL,
    {", ".join(f"{c} INTEGER" for c in COUNT_COLUMNS)},
    {", ".join(f"{c} REAL" for c in PUBLISHED_RATES)},
    PRIMARY KEY (version_id, unit_code, year)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS boundaries (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    layer TEXT NOT NULL,
    code TEXT NOT NULL,
    province_code TEXT,
    district_code TEXT,
    geom BLOB NOT NULL,
    PRIMARY KEY (version_id, layer, code)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS boundary_layers (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    layer TEXT NOT NULL,
    source TEXT NOT NULL,
    approximate INTEGER NOT NULL,
    PRIMARY KEY (version_id, layer)
) WITHOUT ROWID;
"""

IND_COLUMNS = ["unit_code", "year", "standard", *COUNT_COLUMNS, *PUBLISHED_RATES]


class StoreError(RuntimeError):
    """The store cannot be opened or written; the message is Vietnamese."""


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


@dataclass(frozen=True)
class VersionInfo:
    id: int
    province_code: str
    number: int
    created_at: str
    created_by: str
    source_file: str
    sha256: str
    boundary_file: str
    boundary_sha256: str
    data_status: str
    title: str
    era: str
    years: str
    note: str


def store_path(data_dir_: str | Path | None = None) -> Path:
    return Path(data_dir_ if data_dir_ is not None else data_dir()) / DB_NAME


def has_store(data_dir_: str | Path | None = None) -> bool:
    """Whether a store exists (without creating one: a fresh clone stays untouched)."""
    return store_path(data_dir_).exists()


def open_store(data_dir_: str | Path | None = None) -> Store:
    """Open (creating if needed) the store under ``data_dir_`` (default :func:`data_dir`)."""
    path = store_path(data_dir_)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(path, timeout=30)) as conn:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            conn.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            conn.commit()
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(f"Không mở được kho dữ liệu {path}: {exc}") from exc
    return Store(path)


@contextmanager
def _transaction(store: Store) -> Iterator[sqlite3.Connection]:
    conn = store.connect()
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    finally:
        conn.close()


def versions(store: Store, province_code: str) -> list[VersionInfo]:
    """The province's versions, newest first."""
    with closing(store.connect()) as conn:
        rows = conn.execute(
            "SELECT id, province_code, number, created_at, created_by, source_file, sha256, boundary_file, "
            "boundary_sha256, data_status, title, era, years, note FROM versions WHERE province_code = ? "
            "ORDER BY number DESC", (province_code,)).fetchall()
    return [VersionInfo(*r) for r in rows]


def latest_version(store: Store, province_code: str) -> VersionInfo | None:
    v = versions(store, province_code)
    return v[0] if v else None


def _years(ind: pd.DataFrame | None) -> str:
    if ind is None or ind.empty:
        return ""
    lo, hi = int(ind["year"].min()), int(ind["year"].max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _insert_indicators(conn: sqlite3.Connection, version_id: int, ind: pd.DataFrame) -> None:
    df = ind.reindex(columns=IND_COLUMNS)
    cols = ["version_id", *IND_COLUMNS]
    records = []
    for row in df.itertuples(index=False, name=None):
        rec = [version_id]
        for c, v in zip(IND_COLUMNS, row):
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                rec.append(None)
            elif c in ("unit_code", "standard"):
                rec.append(str(v))
            elif c in PUBLISHED_RATES:
                rec.append(float(v))
            else:
                rec.append(int(v))
        records.append(rec)
    conn.executemany(f"INSERT INTO indicators ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})", records)


def _insert_layers(conn: sqlite3.Connection, version_id: int, layers: dict[str, gpd.GeoDataFrame],
                   sources: dict[str, tuple[str, bool]]) -> None:
    for layer, gdf in layers.items():
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        g = gdf.to_crs("EPSG:4326") if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") else gdf
        wkb = shapely.to_wkb(g.geometry.to_numpy())
        prov = g["province_code"].astype(str).tolist() if "province_code" in g else [None] * len(g)
        dist = g["district_code"].astype(object).where(g["district_code"].notna(), None).tolist() \
            if "district_code" in g else [None] * len(g)
        conn.executemany("INSERT INTO boundaries VALUES (?, ?, ?, ?, ?, ?)",
                         [(version_id, layer, str(c), p, d, w) for c, p, d, w in
                          zip(g["code"].astype(str), prov, dist, wkb)])
        source, approx = sources.get(layer, ("", False))
        conn.execute("INSERT INTO boundary_layers VALUES (?, ?, ?, ?)", (version_id, layer, source, int(approx)))


def _demo_meta(province_code: str) -> dict | None:
    folder = demo_dir(province_code)
    if not (folder / "meta.toml").exists():
        return None
    return tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))


def _seed_demo(conn: sqlite3.Connection, province_code: str) -> None:
    """Store the embedded demo as version 1 of a province (inside the caller's transaction)."""
    import hashlib

    from geo.read import read_layers
    from povdata.dataset import load_demo

    meta = _demo_meta(province_code)
    if meta is None:
        return
    ds = load_demo(province_code)
    folder = demo_dir(province_code)
    digest = hashlib.sha256((folder / "indicators.csv").read_bytes()).hexdigest()
    gdigest = hashlib.sha256((folder / "boundaries.gpkg").read_bytes()).hexdigest()
    cur = conn.execute(
        "INSERT INTO versions (province_code, number, created_at, created_by, source_file, sha256, boundary_file, "
        "boundary_sha256, data_status, title, era, years, note) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, 'legacy', ?, ?)",
        (province_code, "2000-01-01T00:00:00+00:00", "povdata demo", "data/demo/" + province_code + "/indicators.csv",
         digest, "data/demo/" + province_code + "/boundaries.gpkg", gdigest, ds.data_status, ds.title,
         _years(ds.indicators), ds.source))
    vid = cur.lastrowid
    _insert_indicators(conn, vid, ds.indicators)
    layers = read_layers(folder / "boundaries.gpkg")
    _insert_layers(conn, vid, layers, {k: ("ranh giới gần đúng (minh họa)", True) for k in layers})


def import_version(store: Store, province_code: str, *, indicators: pd.DataFrame | None = None,
                   layers: dict[str, gpd.GeoDataFrame] | None = None, source_file: str = "",
                   sha256: str = "", boundary_file: str = "", boundary_sha256: str = "",
                   layer_sources: dict[str, tuple[str, bool]] | None = None, created_by: str | None = None,
                   note: str = "", era: str = "legacy", data_status: str = "imported",
                   title: str | None = None) -> VersionInfo:
    """Store a new version of a province's dataset, atomically; return it.

    ``indicators``: the tidy commune table (validated by the importer); ``layers``: the
    boundary layers (``province``/``district``/``commune``/``commune_2025``) with ``code``
    and parent code columns.  Whichever is omitted is copied from the latest version (a
    first import without one of them starts from the demo, if the province has one).
    ``created_by`` defaults to the login name.
    """
    if indicators is None and layers is None:
        raise ValueError("nothing to import: give indicators, layers or both")
    from povdata.units import province_name as _name

    def province_name(code: str) -> str:
        return "Toàn quốc" if code == "00" else _name(code)

    created_by = created_by or _login()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        with _transaction(store) as conn:
            if conn.execute("SELECT 1 FROM datasets WHERE province_code = ?", (province_code,)).fetchone() is None:
                conn.execute("INSERT INTO datasets VALUES (?, ?)", (province_code, province_name(province_code)))
            n = conn.execute("SELECT COUNT(*) FROM versions WHERE province_code = ?", (province_code,)).fetchone()[0]
            if n == 0:
                _seed_demo(conn, province_code)
            prev = conn.execute("SELECT id, source_file, sha256, boundary_file, boundary_sha256, years FROM versions "
                                "WHERE province_code = ? ORDER BY number DESC LIMIT 1", (province_code,)).fetchone()
            number = conn.execute("SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE province_code = ?",
                                  (province_code,)).fetchone()[0]
            if indicators is None and prev is None:
                raise StoreError("Chưa có số liệu chỉ tiêu cho tỉnh này: hãy nhập tệp chỉ tiêu cùng tệp ranh giới.")
            years = _years(indicators) if indicators is not None else prev[5]
            if indicators is None:
                source_file, sha256 = prev[1], prev[2]
            if layers is None and prev is not None:
                boundary_file, boundary_sha256 = prev[3], prev[4]
            cur = conn.execute(
                "INSERT INTO versions (province_code, number, created_at, created_by, source_file, sha256, "
                "boundary_file, boundary_sha256, data_status, title, era, years, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (province_code, number, now, created_by, source_file, sha256, boundary_file, boundary_sha256,
                 data_status, title or f"{province_name(province_code)} — số liệu nhập", era, years, note))
            vid = cur.lastrowid
            if indicators is not None:
                _insert_indicators(conn, vid, indicators)
            else:
                conn.execute(f"INSERT INTO indicators SELECT ?, {', '.join(IND_COLUMNS)} FROM indicators "
                             "WHERE version_id = ?", (vid, prev[0]))
            if layers is not None:
                _insert_layers(conn, vid, layers, layer_sources or {k: (boundary_file, False) for k in layers})
            elif prev is not None:
                conn.execute("INSERT INTO boundaries SELECT ?, layer, code, province_code, district_code, geom "
                             "FROM boundaries WHERE version_id = ?", (vid, prev[0]))
                conn.execute("INSERT INTO boundary_layers SELECT ?, layer, source, approximate FROM boundary_layers "
                             "WHERE version_id = ?", (vid, prev[0]))
    except sqlite3.Error as exc:
        raise StoreError(f"Không ghi được vào kho dữ liệu ({exc}); phiên bản trước vẫn giữ nguyên.") from exc
    return next(v for v in versions(store, province_code) if v.id == vid)


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "không rõ"


def load_indicators(store: Store, version_id: int) -> pd.DataFrame:
    with closing(store.connect()) as conn:
        df = pd.read_sql_query(f"SELECT {', '.join(IND_COLUMNS)} FROM indicators WHERE version_id = ? "
                               "ORDER BY unit_code, year", conn, params=(version_id,))
    for c in COUNT_COLUMNS:
        df[c] = df[c].astype("Int64")
    for c in PUBLISHED_RATES:
        df[c] = df[c].astype("float64")
    df["year"] = df["year"].astype(int)
    # drop optional columns no row filled, as the demo table does not carry them
    empty = [c for c in COUNT_COLUMNS[3:] + PUBLISHED_RATES if df[c].isna().all()]
    return df.drop(columns=empty)


def version_info(store: Store, version_id: int) -> VersionInfo:
    with closing(store.connect()) as conn:
        row = conn.execute(
            "SELECT id, province_code, number, created_at, created_by, source_file, sha256, boundary_file, "
            "boundary_sha256, data_status, title, era, years, note FROM versions WHERE id = ?",
            (version_id,)).fetchone()
    if row is None:
        raise KeyError(f"no version {version_id}")
    return VersionInfo(*row)


def version_label(v: VersionInfo) -> str:
    """'v2 · 2025-11-23 19:40 UTC · nguyen' (the version string shown on every page)."""
    when = v.created_at[:16].replace("T", " ")
    return f"v{v.number} · {when} UTC · {v.created_by}" if v.data_status != "illustrative" else f"v{v.number} · demo-1"


def load_version(store: Store, province_code: str, version_id: int | None = None) -> Dataset:
    """The dataset of a version (the latest when ``version_id`` is None)."""
    v = version_info(store, version_id) if version_id is not None else latest_version(store, province_code)
    if v is None or v.province_code != province_code:
        raise KeyError(f"no version {version_id} for province {province_code}")
    if v.data_status == "illustrative":
        source = v.note
    else:
        source = f"{v.source_file} ({v.years})" + (f"; ranh giới: {v.boundary_file}" if v.boundary_file else "")
    return Dataset(province_code=province_code, indicators=load_indicators(store, v.id), data_status=v.data_status,
                   source=source, version=version_label(v), title=v.title)


def load_layers(store: Store, version_id: int) -> dict[str, gpd.GeoDataFrame]:
    """The version's boundary layers (EPSG:4326, sorted by code)."""
    with closing(store.connect()) as conn:
        rows = conn.execute("SELECT layer, code, province_code, district_code, geom FROM boundaries "
                            "WHERE version_id = ? ORDER BY layer, code", (version_id,)).fetchall()
    out: dict[str, gpd.GeoDataFrame] = {}
    if not rows:
        return out
    df = pd.DataFrame(rows, columns=["layer", "code", "province_code", "district_code", "geom"])
    for layer, g in df.groupby("layer", sort=False):
        cols = {"code": g["code"].to_numpy()}
        if layer in ("commune", "district", "commune_2025"):
            cols["province_code"] = g["province_code"].to_numpy()
        if layer == "commune":
            cols["district_code"] = g["district_code"].to_numpy()
        out[layer] = gpd.GeoDataFrame(cols, geometry=shapely.from_wkb(g["geom"].to_numpy()), crs="EPSG:4326")
    return out


def layer_sources(store: Store, version_id: int) -> dict[str, tuple[str, bool]]:
    with closing(store.connect()) as conn:
        rows = conn.execute("SELECT layer, source, approximate FROM boundary_layers WHERE version_id = ?",
                            (version_id,)).fetchall()
    return {layer: (source, bool(approx)) for layer, source, approx in rows}
