"""The data store: one SQLite file under the data directory, holding datasets as versions.

Layout of the data directory (``POVDASH_DATA_DIR``, default ``var/`` in the repository)::

    <data dir>/povdash.sqlite     the store (WAL mode: -wal and -shm files beside it)

Schema (made and changed by the migrations of :mod:`povdata.db`):

* ``datasets`` — one per province (``province_code``, ``title``);
* ``versions`` — one row per import: ``id``, ``province_code``, ``number`` (1, 2, … per
  province), ``created_at`` (UTC, ISO 8601), ``created_by``, ``source_file`` and ``sha256``
  (the indicator file), ``boundary_file`` and ``boundary_sha256``, ``data_status``
  (``illustrative`` | ``published`` | ``imported``), ``title``, ``era`` (``legacy`` = units
  before 2025-07-01), ``years`` and ``note``;
* ``indicators`` — the version's commune rows (the tidy table of :mod:`povdata.indicators`);
* ``boundary_sets`` and ``boundary_units`` — boundary layers stored once each, named by the
  hash of their content (:mod:`povdata.boundary_sets`): per unit its code, parent codes,
  geometry as imported and display geometry simplified when the set was stored (WKB in
  EPSG:4326; PostGIS geometry on PostgreSQL);
* ``boundary_layers`` — per version and layer (``province``, ``district``, ``commune``,
  ``commune_2025``): its boundary set, source and whether it is approximate.

Every version is complete: an import that brings only indicators copies the previous
version's indicator rows or layer pointers (never geometry) inside the same transaction.

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

import math
import tomllib
from typing import Any, Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import text

from povdata.boundary_sets import LayerRows
from povdata.policy import User, check_scope
from povdata.dataset import Dataset, demo_dir
from povdata.db import (  # noqa: F401 — the bottom layer, re-exported: many modules import them from here
    _READY, AUTH_MARKER, DB_ERRORS, DB_NAME, SCHEMA_VERSION, Store, StoreError, check_store_file, data_dir,
    has_store, is_disk_full, mark_sign_in, open_store, sign_in_recorded, store_key, store_path, transaction,
    write_error)
from povdata.db import in_list, lock, login_name as _login, one, q, transaction as _transaction  # noqa: F401
from povdata.i18n import t
from povdata.indicators import COUNT_COLUMNS, PUBLISHED_RATES
from povdata.registry import Live
from povdata.messages import Msg

REPO = Path(__file__).resolve().parents[1]
#: the source stored for a layer of approximate (illustrative) boundaries: a value the store
#: has always held and pages test for (they say :func:`boundary_note` instead of showing it)
APPROXIMATE_SOURCE = "ranh giới gần đúng (minh họa)"
LAYERS = ("province", "district", "commune", "commune_2025")
_LAYER_PARENTS = ("province_code", "district_code")

#: the indicator table's columns: the registry's stored indicators (a new one needs a migration)
IND_COLUMNS = Live(lambda: ["unit_code", "year", "standard", *COUNT_COLUMNS, *PUBLISHED_RATES])
_NOT_REPLACED = ("NOT EXISTS (SELECT 1 FROM _replaced r WHERE r.year = i.year AND r.standard = i.standard "
                 "AND r.code_len = length(i.unit_code)) AND NOT EXISTS (SELECT 1 FROM _replaced_units u "
                 "WHERE u.year = i.year AND u.standard = i.standard AND u.unit_code = i.unit_code)")


_VERSION_COLUMNS = ("id, province_code, number, created_at, created_by, source_file, sha256, boundary_file, "
                    "boundary_sha256, data_status, title, era, years, note")


def _geom_in(conn) -> str:
    """The SQL that turns a WKB parameter ``:geom`` into the geometry column's value (PostGIS:
    a geometry in EPSG:4326; SQLite: the WKB itself)."""
    return "ST_GeomFromWKB(:geom, 4326)" if conn.dialect.name == "postgresql" else ":geom"


def _geom_out(conn) -> str:
    return "ST_AsBinary(geom)" if conn.dialect.name == "postgresql" else "geom"


def _new_version(conn, values: dict) -> int:
    """Insert a row of ``versions``; its id."""
    cols = ", ".join(values)
    return int(q(conn, f"INSERT INTO versions ({cols}) VALUES ({', '.join(':' + c for c in values)}) RETURNING id",
                 values).scalar_one())


def _copy_version_rows(conn, vid: int, src: int, *, indicators: bool = True, boundaries: bool = True) -> None:
    """Copy version ``src``'s indicator rows and/or boundary layers to version ``vid``."""
    if indicators:
        q(conn, f"INSERT INTO indicators (version_id, {', '.join(IND_COLUMNS)}) SELECT :vid, {', '.join(IND_COLUMNS)} "
                "FROM indicators WHERE version_id = :src", {"vid": vid, "src": src})
    if boundaries:  # the layers point at the same boundary sets: no geometry is copied
        q(conn, "INSERT INTO boundary_layers (version_id, layer, set_sha256, source, approximate) "
                "SELECT :vid, layer, set_sha256, source, approximate FROM boundary_layers WHERE version_id = :src",
          {"vid": vid, "src": src})


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


def versions(store: Store, province_code: str, user: "User | None" = None) -> list[VersionInfo]:
    """The province's versions, newest first (:class:`~povdata.auth.PermissionDenied` when
    ``user`` is tied to another province).  A former province's code reads its successor's
    versions (its history is kept there, :mod:`povdata.provinces`)."""
    from povdata.policy import in_force
    province_code = in_force(province_code)
    check_scope(user, province_code)
    with closing(store.connect()) as conn:
        rows = q(conn, f"SELECT {_VERSION_COLUMNS} FROM versions WHERE province_code = :p ORDER BY number DESC",
                 {"p": province_code}).mappings().all()
    return [VersionInfo(**r) for r in rows]


def latest_version(store: Store, province_code: str, user: "User | None" = None) -> VersionInfo | None:
    v = versions(store, province_code, user)
    return v[0] if v else None


def _years(ind: pd.DataFrame | None) -> str:
    if ind is None or ind.empty:
        return ""
    lo, hi = int(ind["year"].min()), int(ind["year"].max())
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _insert_indicators(conn, version_id: int, ind: pd.DataFrame) -> None:
    df = ind.reindex(columns=list(IND_COLUMNS))
    cols = ["version_id", *IND_COLUMNS]
    records = []
    for row in df.itertuples(index=False, name=None):
        rec: list[object] = [version_id]
        for c, v in zip(IND_COLUMNS, row):
            if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
                rec.append(None)
            elif c in ("unit_code", "standard"):
                rec.append(str(v))
            elif c in PUBLISHED_RATES:
                rec.append(float(v))
            else:
                rec.append(int(v))
        records.append(dict(zip(cols, rec)))
    if records:
        q(conn, f"INSERT INTO indicators ({', '.join(cols)}) VALUES ({', '.join(':' + c for c in cols)})", records)


# (rows, tolerance) -> display WKB in the rows' order: boundary_sets.display_wkb, or its worker form
Simplify = Callable[[LayerRows, float], list[bytes]]


@dataclass(frozen=True)
class _Set:
    """A layer ready to store: its rows in the store's form, and its display geometry when
    the store does not hold the set yet (None: the set is stored, nothing to compute)."""
    rows: LayerRows
    display: list[bytes] | None
    tolerance: float


def _prepare_sets(store: Store, layers: dict[str, gpd.GeoDataFrame],
                  simplify: Simplify | None = None) -> dict[str, _Set]:
    """Hash each layer and simplify, once, those the store does not hold (before the import's
    transaction: the per-province lock is not held while geometry is simplified), with
    ``simplify`` (default :func:`povdata.boundary_sets.display_wkb`, in this process)."""
    from povdata.boundary_sets import display_tolerance, display_wkb, layer_rows

    simplify = simplify or display_wkb

    out: dict[str, _Set] = {}
    for layer, gdf in layers.items():
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        rows = layer_rows(layer, gdf)
        tol = display_tolerance(layer)
        with closing(store.connect()) as conn:
            stored = q(conn, "SELECT display_tolerance FROM boundary_sets WHERE sha256 = :s",
                       {"s": rows.sha256}).first()
        have = stored is not None and math.isclose(stored[0], tol, rel_tol=1e-9)
        out[layer] = _Set(rows, None if have else simplify(rows, tol), tol)
    return out


def _insert_layers(conn, version_id: int, layers: "dict[str, gpd.GeoDataFrame] | dict[str, _Set]",
                   sources: dict[str, tuple[str, bool]], simplify: Simplify | None = None) -> None:
    """Point the version's layers at their boundary sets, storing the sets not yet stored
    (their display geometry computed with ``simplify``, as in :func:`_prepare_sets`)."""
    from povdata.boundary_sets import display_tolerance, display_wkb, layer_rows

    simplify = simplify or display_wkb

    for layer, item in layers.items():
        if layer not in LAYERS:
            raise ValueError(f"unknown layer {layer!r}")
        s = item if isinstance(item, _Set) else _Set(layer_rows(layer, item), None, display_tolerance(layer))
        sha = s.rows.sha256
        stored = q(conn, "SELECT display_tolerance FROM boundary_sets WHERE sha256 = :s", {"s": sha}).first()
        if stored is None:
            display = s.display if s.display is not None else simplify(s.rows, s.tolerance)
            # ON CONFLICT: another province's import may store the same shapes at the same time
            q(conn, "INSERT INTO boundary_sets (sha256, layer, units, display_tolerance) VALUES (:s, :l, :n, :t) "
                    "ON CONFLICT (sha256) DO NOTHING",
              {"s": sha, "l": layer, "n": len(s.rows.codes), "t": s.tolerance})
            rows = [{"s": sha, "code": c, "p": p, "d": d, "geom": w, "dgeom": dw}
                    for c, p, d, w, dw in zip(s.rows.codes, s.rows.province_codes, s.rows.district_codes,
                                              s.rows.wkb, display)]
            if rows:
                q(conn, "INSERT INTO boundary_units (set_sha256, code, province_code, district_code, geom, "
                        f"display_geom) VALUES (:s, :code, :p, :d, {_geom_in(conn)}, "
                        f"{_geom_in(conn).replace(':geom', ':dgeom')}) ON CONFLICT (set_sha256, code) DO NOTHING", rows)
        elif not math.isclose(stored[0], s.tolerance, rel_tol=1e-9) and s.display is not None:
            # stored under another release's tolerance: this release's display geometry replaces it
            q(conn, f"UPDATE boundary_units SET display_geom = {_geom_in(conn).replace(':geom', ':dgeom')} "
                    "WHERE set_sha256 = :s AND code = :code",
              [{"s": sha, "code": c, "dgeom": dw} for c, dw in zip(s.rows.codes, s.display)])
            q(conn, "UPDATE boundary_sets SET display_tolerance = :t WHERE sha256 = :s", {"s": sha, "t": s.tolerance})
        source, approx = sources.get(layer, ("", False))
        q(conn, "INSERT INTO boundary_layers (version_id, layer, set_sha256, source, approximate) "
                "VALUES (:v, :layer, :sha, :s, :a)",
          {"v": version_id, "layer": layer, "sha": sha, "s": source, "a": int(approx)})


def _demo_meta(province_code: str) -> dict | None:
    folder = demo_dir(province_code)
    if not (folder / "meta.toml").exists():
        return None
    return tomllib.loads((folder / "meta.toml").read_text(encoding="utf-8"))


def _seed_demo(conn, province_code: str, simplify: Simplify | None = None) -> None:
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
    vid = _new_version(conn, {
        "province_code": province_code, "number": 1, "created_at": "2000-01-01T00:00:00+00:00",
        "created_by": "povdata demo", "source_file": "data/demo/" + province_code + "/indicators.csv",
        "sha256": digest, "boundary_file": "data/demo/" + province_code + "/boundaries.gpkg",
        "boundary_sha256": gdigest, "data_status": ds.data_status, "title": str(ds.title), "era": "legacy",
        "years": _years(ds.indicators), "note": str(ds.source)})
    _insert_indicators(conn, vid, ds.indicators)
    layers = read_layers(folder / "boundaries.gpkg")
    _insert_layers(conn, vid, layers, {k: (APPROXIMATE_SOURCE, True) for k in layers}, simplify)


def import_version(store: Store, province_code: str, *, indicators: pd.DataFrame | None = None,
                   layers: dict[str, gpd.GeoDataFrame] | None = None, source_file: str = "",
                   sha256: str = "", boundary_file: str = "", boundary_sha256: str = "",
                   layer_sources: dict[str, tuple[str, bool]] | None = None, created_by: str | None = None,
                   note: str = "", era: str = "legacy", data_status: str = "imported",
                   title: str | None = None, user: User | None = None,
                   keep_other_years: bool = True,
                   aliases: list[tuple[str, str, str | None]] | None = None,
                   replace_districts: dict[int, set[str]] | None = None,
                   simplify: Simplify | None = None) -> VersionInfo:
    """Store a new version of a province's dataset, atomically; return it.

    ``keep_other_years``: the new version also holds the previous version's rows for the
    years the file does not cover (a file of the year's review adds that year to the
    history; a year in the file replaces that year).  Never from the illustrative demo: real
    figures are not mixed with illustrative ones.  False: the version holds the file only.

    ``indicators``: the tidy commune table (validated by the importer); ``layers``: the
    boundary layers (``province``/``district``/``commune``/``commune_2025``) with ``code``
    and parent code columns.  Whichever is omitted is copied from the latest version (a
    first import without one of them starts from the demo, if the province has one).
    ``replace_districts``: year → district codes whose communes the file gives in full (a
    district's review form, :func:`povdata.importer.whole_districts`): in those years only
    these districts' communes are replaced, the other districts' communes are kept.
    ``aliases``: hand-made matches to remember for the next import, ``(era, name key,
    code)`` (code None: the row was left out on purpose), written in the same transaction.
    ``created_by`` defaults to ``user``'s name, else the login name.  With ``user`` the
    import needs the ``import`` permission and the user's province.  The audit row is
    written in the same transaction.  ``simplify`` computes a new boundary set's display
    geometry (default: in this process; the import page passes
    :func:`povdata.boundary_sets.display_wkb_limited`, a worker process).
    """
    from povdata import audit
    from povdata.policy import in_force, require

    province_code = in_force(province_code)

    if indicators is None and layers is None:
        raise ValueError("nothing to import: give indicators, layers or both")
    if user is not None:
        require(user, "import")
        check_scope(user, province_code)
        created_by = created_by or user.username
    from povdata.units import province_name as _name

    def province_name(code: str) -> str:
        return t("store.whole_country") if code == "00" else _name(code)

    created_by = created_by or _login()
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        sets = _prepare_sets(store, layers, simplify) if layers is not None else None
        with _transaction(store) as conn:
            lock(conn, "povdash-versions:" + province_code)  # one import of a province at a time (PostgreSQL)
            pc = {"p": province_code}
            if q(conn, "SELECT 1 FROM datasets WHERE province_code = :p", pc).first() is None:
                q(conn, "INSERT INTO datasets (province_code, title) VALUES (:p, :t)",
                  {**pc, "t": str(province_name(province_code))})
            n = q(conn, "SELECT COUNT(*) FROM versions WHERE province_code = :p", pc).scalar_one()
            if n == 0:
                _seed_demo(conn, province_code, simplify)
            prev: Any = one(conn, "SELECT id, source_file, sha256, boundary_file, boundary_sha256, years, number, "
                             "data_status FROM versions WHERE province_code = :p ORDER BY number DESC LIMIT 1", pc)
            number = q(conn, "SELECT COALESCE(MAX(number), 0) + 1 FROM versions WHERE province_code = :p",
                       pc).scalar_one()
            if indicators is None and prev is None:
                raise StoreError(Msg("store.no_indicators_yet"))
            years = _years(indicators) if indicators is not None else prev["years"]
            file_name, kept = source_file, []
            keep_rows = indicators is not None and keep_other_years and prev is not None and prev["data_status"] != "illustrative"
            if keep_rows and indicators is not None:
                # what the file replaces: its (year, standard, level) combinations (a level is a
                # code's length: province 2, district 3, commune 5), so a district table of 2023
                # does not drop the communes of 2023, nor a file under one standard the other's
                file_years = sorted({int(y) for y in indicators["year"]})
                # — except a year whose communes cover whole districts (a district's review form):
                # then only the communes of those districts are replaced, the others kept
                q(conn, "CREATE TEMP TABLE IF NOT EXISTS _replaced (year INTEGER, standard TEXT, code_len INTEGER)")
                q(conn, "CREATE TEMP TABLE IF NOT EXISTS _replaced_units (year INTEGER, standard TEXT, unit_code TEXT)")
                q(conn, "DELETE FROM _replaced")
                q(conn, "DELETE FROM _replaced_units")
                combos = {(int(y), str(st), len(str(c))) for c, y, st in
                          zip(indicators["unit_code"], indicators["year"], indicators["standard"])}
                scoped = {(y, st, n) for y, st, n in combos if n == 5 and y in (replace_districts or {})}
                replaced = [{"y": y, "s": st, "n": n} for y, st, n in sorted(combos - scoped)]
                if replaced:
                    q(conn, "INSERT INTO _replaced (year, standard, code_len) VALUES (:y, :s, :n)", replaced)
                if scoped:
                    from povdata.provinces import legacy_units_of
                    reg = legacy_units_of(province_code)
                    com = reg[reg["level"] == "commune"]
                    units = [{"y": y, "s": st, "c": str(c)} for y, st, _ in sorted(scoped)
                             for c in com.loc[com["parent_code"].isin(list((replace_districts or {})[y])), "code"]]
                    if units:
                        q(conn, "INSERT INTO _replaced_units (year, standard, unit_code) VALUES (:y, :s, :c)", units)
                years_in, years_params = in_list("y", file_years)
                kept = [int(r[0]) for r in q(
                    conn, f"SELECT DISTINCT year FROM indicators i WHERE version_id = :prev AND {_NOT_REPLACED} "
                          f"AND year NOT IN ({years_in}) ORDER BY year", {"prev": prev["id"], **years_params})]
                if kept:
                    span = kept + file_years
                    years = str(min(span)) if min(span) == max(span) else f"{min(span)}-{max(span)}"
                    source_file = Msg("store.plus_other_years", file=source_file, version=prev["number"])
                elif scoped and q(
                        conn, f"SELECT 1 FROM indicators i WHERE version_id = :prev AND length(unit_code) = 5 "
                              f"AND {_NOT_REPLACED} AND year IN ({years_in}) LIMIT 1",
                        {"prev": prev["id"], **years_params}).first():
                    # other districts' communes kept
                    source_file = Msg("store.plus_other_districts", file=source_file, version=prev["number"])
            if indicators is None:
                source_file, sha256 = prev["source_file"], prev["sha256"]
            if layers is None and prev is not None:
                boundary_file, boundary_sha256 = prev["boundary_file"], prev["boundary_sha256"]
            vid = _new_version(conn, {
                "province_code": province_code, "number": number, "created_at": now, "created_by": created_by,
                "source_file": str(source_file), "sha256": sha256, "boundary_file": boundary_file,
                "boundary_sha256": boundary_sha256, "data_status": data_status,
                "title": str(title or Msg("store.imported_title", province=province_name(province_code))),
                "era": era, "years": years, "note": note})
            if indicators is not None:
                _insert_indicators(conn, vid, indicators)
                if keep_rows:
                    q(conn, f"INSERT INTO indicators (version_id, {', '.join(IND_COLUMNS)}) "
                            f"SELECT :vid, {', '.join(IND_COLUMNS)} FROM indicators i "
                            f"WHERE version_id = :prev AND {_NOT_REPLACED}", {"vid": vid, "prev": prev["id"]})
            else:
                _copy_version_rows(conn, vid, prev["id"], boundaries=False)
            if layers is not None:
                _insert_layers(conn, vid, sets or {}, layer_sources or {k: (boundary_file, False) for k in layers}, simplify)
            elif prev is not None:
                _copy_version_rows(conn, vid, prev["id"], indicators=False)
            for era_, key, code in aliases or []:
                q(conn, "INSERT INTO unit_aliases (province_code, era, name_key, code, at, actor) "
                        "VALUES (:p, :e, :k, :c, :at, :by) ON CONFLICT (province_code, era, name_key) "
                        "DO UPDATE SET code = excluded.code, at = excluded.at, actor = excluded.actor",
                  {"p": province_code, "e": era_, "k": key, "c": code, "at": now, "by": created_by})
            files = [f for f in (file_name if indicators is not None else "",
                                 boundary_file if layers is not None else "") if f]
            audit.record(conn, created_by, "import",
                         Msg("store.audit_import", files=", ".join(files), version=number) if files
                         else Msg("store.audit_import_data", version=number),
                         {"version": number, "previous_version": prev["number"] if prev is not None else None,
                          "indicator_file": file_name if indicators is not None else None,
                          "kept_years_from_previous": kept,
                          "replaced_districts_only": {str(y): sorted(d) for y, d in (replace_districts or {}).items()},
                          "indicator_sha256": sha256 if indicators is not None else None,
                          "indicator_rows": int(len(indicators)) if indicators is not None else 0,
                          "boundary_file": boundary_file if layers is not None else None,
                          "boundary_sha256": boundary_sha256 if layers is not None else None,
                          "layers": sorted(layers) if layers is not None else [], "years": years, "era": era,
                          "note": note}, province_code)
    except DB_ERRORS + (OSError,) as exc:
        if not isinstance(exc, DB_ERRORS) and not is_disk_full(exc):
            raise
        raise write_error(exc, store.path.parent) from exc
    return next(v for v in versions(store, province_code) if v.id == vid)


def unit_aliases(store: Store, province_code: str, era: str) -> dict[str, str | None]:
    """Hand-made matches remembered from earlier imports: name key → code (None: left out)."""
    from povdata.policy import in_force
    with closing(store.connect()) as conn:
        rows = q(conn, "SELECT name_key, code FROM unit_aliases WHERE province_code = :p AND era = :e",
                 {"p": in_force(province_code), "e": era}).all()
    return {k: c for k, c in rows}


def load_indicators(store: Store, version_id: int, user: "User | None" = None) -> pd.DataFrame:
    if user is not None:
        version_info(store, version_id, user)
    with closing(store.connect()) as conn:
        df = pd.read_sql_query(text(f"SELECT {', '.join(IND_COLUMNS)} FROM indicators WHERE version_id = :v "
                                    "ORDER BY unit_code, year"), conn, params={"v": version_id})
    for c in COUNT_COLUMNS:
        df[c] = df[c].astype("Int64")
    for c in PUBLISHED_RATES:
        df[c] = df[c].astype("float64")
    df["year"] = df["year"].astype(int)
    # drop optional columns no row filled, as the demo table does not carry them
    empty = [c for c in COUNT_COLUMNS[3:] + PUBLISHED_RATES if df[c].isna().all()]
    return df.drop(columns=empty)


def version_info(store: Store, version_id: int, user: "User | None" = None) -> VersionInfo:
    with closing(store.connect()) as conn:
        row = one(conn, f"SELECT {_VERSION_COLUMNS} FROM versions WHERE id = :v", {"v": int(version_id)})
    if row is None:
        raise KeyError(f"no version {version_id}")
    check_scope(user, row["province_code"])
    return VersionInfo(**dict(row))


def version_label(v: VersionInfo) -> str:
    """'v2 · 2025-11-23 19:40 UTC · nguyen' (the version string shown on every page)."""
    when = v.created_at[:16].replace("T", " ")
    return f"v{v.number} · {when} UTC · {v.created_by}" if v.data_status != "illustrative" else f"v{v.number} · demo-1"


def load_version(store: Store, province_code: str, version_id: int | None = None,
                 user: "User | None" = None) -> Dataset:
    """The dataset of a version (the latest when ``version_id`` is None)."""
    from povdata.policy import in_force
    province_code = in_force(province_code)
    check_scope(user, province_code)
    v = version_info(store, version_id, user) if version_id is not None else latest_version(store, province_code)
    if v is None or v.province_code != province_code:
        raise KeyError(f"no version {version_id} for province {province_code}")
    if v.data_status == "illustrative":
        from povdata.dataset import demo_source
        source = demo_source(v.province_code, v.note)
    else:
        if v.boundary_file.startswith("data/demo/"):
            source = Msg("store.source_approx", file=v.source_file, years=v.years)
        elif v.boundary_file:
            source = Msg("store.source_boundaries", file=v.source_file, years=v.years, boundaries=v.boundary_file)
        else:
            source = Msg("store.source", file=v.source_file, years=v.years)
    return Dataset(province_code=province_code, indicators=load_indicators(store, v.id), data_status=v.data_status,
                   source=source, version=version_label(v), title=v.title)


def _units(store: Store, version_id: int, geom: str, layer: str | None = None) -> list:
    with closing(store.connect()) as conn:
        g = f"ST_AsBinary(u.{geom})" if conn.dialect.name == "postgresql" else f"u.{geom}"
        return q(conn, f"SELECT l.layer, u.code, u.province_code, u.district_code, {g} AS geom FROM boundary_layers l "
                       "JOIN boundary_units u ON u.set_sha256 = l.set_sha256 WHERE l.version_id = :v"
                       + (" AND l.layer = :layer" if layer else "") + " ORDER BY l.layer, u.code",
                 {"v": int(version_id), "layer": layer}).all()


def _frames(rows: list) -> dict[str, gpd.GeoDataFrame]:
    out: dict[str, gpd.GeoDataFrame] = {}
    if not rows:
        return out
    df = pd.DataFrame([tuple(r) for r in rows], columns=["layer", "code", "province_code", "district_code", "geom"])
    df["geom"] = [bytes(g) for g in df["geom"]]  # PostgreSQL's driver gives memoryview
    for layer, g in df.groupby("layer", sort=False):
        cols = {"code": g["code"].to_numpy()}
        if layer in ("commune", "district", "commune_2025"):
            cols["province_code"] = g["province_code"].to_numpy()
        if layer == "commune":
            cols["district_code"] = g["district_code"].to_numpy()
        out[str(layer)] = gpd.GeoDataFrame(cols, geometry=shapely.from_wkb(g["geom"].to_numpy()), crs="EPSG:4326")
    return out


def load_layers(store: Store, version_id: int, user: "User | None" = None) -> dict[str, gpd.GeoDataFrame]:
    """The version's boundary layers as imported (EPSG:4326, sorted by code)."""
    if user is not None:
        version_info(store, version_id, user)
    return _frames(_units(store, version_id, "geom"))


def load_display_layer(store: Store, version_id: int, layer: str) -> gpd.GeoDataFrame | None:
    """The display geometry of one of the version's layers, as simplified when its boundary set
    was stored (sorted by code); None when the version has no such layer.  A set stored under
    a tolerance other than this release's is simplified again here (never shown at the wrong
    detail)."""
    from povdata.boundary_sets import display_tolerance

    with closing(store.connect()) as conn:
        row = q(conn, "SELECT s.display_tolerance FROM boundary_layers l JOIN boundary_sets s "
                      "ON s.sha256 = l.set_sha256 WHERE l.version_id = :v AND l.layer = :layer",
                {"v": int(version_id), "layer": layer}).first()
    if row is None:
        return None
    if not math.isclose(row[0], display_tolerance(layer), rel_tol=1e-9):
        from povdata.maps import display_layer
        return display_layer(load_layers(store, version_id), layer)
    out = _frames(_units(store, version_id, "display_geom", layer)).get(
        layer, gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4326"))
    if layer == "commune_2025":  # with the level table's ids, as :func:`povdata.maps.display_layer`
        from povdata.reform import new_id
        out["code"] = out["code"].map(new_id)
    return out


def layer_sources(store: Store, version_id: int, user: "User | None" = None) -> dict[str, tuple[str, bool]]:
    if user is not None:
        version_info(store, version_id, user)
    with closing(store.connect()) as conn:
        rows = q(conn, "SELECT layer, source, approximate FROM boundary_layers WHERE version_id = :v",
                 {"v": int(version_id)}).all()
    return {layer: (source, bool(approx)) for layer, source, approx in rows}


def rollback(store: Store, province_code: str, version_id: int, *, user: User, note: str = "") -> VersionInfo:
    """Make an earlier version current again, as a new version that copies it (history is
    never rewritten: the versions in between stay, and the audit trail records the step)."""
    from povdata import audit
    from povdata.policy import in_force, require

    province_code = in_force(province_code)

    require(user, "rollback")
    check_scope(user, province_code)
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        with _transaction(store) as conn:
            lock(conn, "povdash-versions:" + province_code)
            src = one(conn, "SELECT id, number, source_file, sha256, boundary_file, boundary_sha256, data_status, "
                            "title, era, years FROM versions WHERE id = :v AND province_code = :p",
                      {"v": int(version_id), "p": province_code})
            if src is None:
                raise StoreError(Msg("store.no_version", version=version_id, province=province_code))
            latest = q(conn, "SELECT MAX(number) FROM versions WHERE province_code = :p",
                       {"p": province_code}).scalar_one()
            if src["number"] == latest:
                raise StoreError(Msg("store.already_current", version=src["number"]))
            number = latest + 1
            vid = _new_version(conn, {
                "province_code": province_code, "number": number, "created_at": now, "created_by": user.username,
                **{k: src[k] for k in ("source_file", "sha256", "boundary_file", "boundary_sha256", "data_status",
                                       "title", "era", "years")},
                "note": str(note or Msg("store.rollback_note", version=src["number"]))})
            _copy_version_rows(conn, vid, src["id"])
            audit.record(conn, user.username, "rollback",
                         Msg("store.audit_rollback", version=src["number"], latest=latest, number=number),
                         {"from_version": latest, "to_version": src["number"], "new_version": number,
                          "indicator_file": src["source_file"], "indicator_sha256": src["sha256"], "note": note}, province_code)
    except DB_ERRORS + (OSError,) as exc:
        if not isinstance(exc, DB_ERRORS) and not is_disk_full(exc):
            raise
        raise write_error(exc, store.path.parent) from exc
    return version_info(store, vid)
