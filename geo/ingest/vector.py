"""Boundary uploads, step 2: the vector file read by content, never by its name alone
(a KML, VRT or SQLite named .geojson/.gpkg is refused), the shapefile's parts checked, the
DBF's encoding found (.cpg, or Windows-1258, TCVN3, VNI by content).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.read import _READ_ERRORS, BoundaryReadError
from povdata.messages import Msg, Num
from povdata.validate import shorten
from povdata.vnenc import ENCODINGS, decode_bytes, decode_text, detect_text_encoding
from povdata.ingest.safety import MAX_FEATURES, MAX_GEOJSON_BYTES, MAX_GEOMETRY_BYTES


#: GDAL never reaches the network for an upload: every HTTP(S) fetch it might make (a 'crs'
#: link, /vsicurl/, a remote PROJ grid) goes to a proxy on this machine's discard port and fails
#: at once; set for the whole process when the reader is imported.
GDAL_OFFLINE = {"GDAL_HTTP_PROXY": "127.0.0.1:9", "GDAL_HTTPS_PROXY": "127.0.0.1:9", "GDAL_HTTP_TIMEOUT": "1",
                "GDAL_HTTP_CONNECTTIMEOUT": "1", "GDAL_HTTP_MAX_RETRY": "0",
                "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".povdash-no-network", "PROJ_NETWORK": "OFF"}


def gdal_offline() -> None:
    import os
    pyogrio.set_gdal_config_options(GDAL_OFFLINE)
    os.environ.setdefault("PROJ_NETWORK", "OFF")


gdal_offline()


@dataclass
class VectorRead:
    gdf: gpd.GeoDataFrame  # text decoded, geometry in the file's CRS (or none)
    driver: str
    layers: list[str]
    encoding: str | None       # the encoding used for text
    encoding_scores: dict[str, float]
    cpg: str | None            # what a shapefile's .cpg says, if any
    has_prj: bool | None       # shapefiles: whether a .prj came with it


def _text_columns(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns if c != "geometry" and (df[c].dtype == object or pd.api.types.is_string_dtype(df[c]))]


def _side_file(path: Path, suffix: str) -> Path | None:
    """A shapefile's side file as GDAL looks for it: same stem, suffix in lower or upper case."""
    for p in (path.with_suffix(suffix), path.with_suffix(suffix.upper())):
        if p.exists():
            return p
    return None


def check_shapefile(path: Path, name: str) -> None:
    """The parts of a shapefile are all there and agree, before GDAL reads it: ``.shx`` and
    ``.dbf`` present; ``.shp``, ``.shx`` and ``.dbf`` as long as their headers say; as many
    attribute records in the ``.dbf`` as shapes in the ``.shx``.  Raises
    :class:`BoundaryReadError` naming the part (GDAL would read a short ``.dbf`` silently,
    dropping features, or fail with an English message)."""
    shx, dbf = _side_file(path, ".shx"), _side_file(path, ".dbf")
    missing = [f"{path.stem}{ext}" for ext, p in ((".shx", shx), (".dbf", dbf)) if p is None]
    if shx is None or dbf is None:
        raise BoundaryReadError(Msg("vector.shp_parts_missing", file=name, missing=", ".join(missing),
                                    shp=path.name))
    shp_size, shx_size, dbf_size = path.stat().st_size, shx.stat().st_size, dbf.stat().st_size
    with open(path, "rb") as f:
        head = f.read(100)
    with open(shx, "rb") as f:
        shx_head = f.read(100)
        f.seek(max(shx_size - 8, 100))
        last = f.read(8)
    with open(dbf, "rb") as f:
        dbf_head = f.read(32)
    def broken(part: Path) -> BoundaryReadError:
        return BoundaryReadError(Msg("vector.shp_broken", file=name, part=part.name))

    def cut(part: Path, says: int, has: int) -> BoundaryReadError:
        return BoundaryReadError(Msg("vector.shp_cut", file=name, part=part.name, says=says, has=has))

    if len(head) < 100 or int.from_bytes(head[:4], "big") != 9994:
        raise broken(path)
    if len(shx_head) < 100 or int.from_bytes(shx_head[:4], "big") != 9994 or (shx_size - 100) % 8:
        raise broken(shx)
    if int.from_bytes(head[24:28], "big") * 2 > shp_size:
        raise cut(path, int.from_bytes(head[24:28], "big") * 2, shp_size)
    if int.from_bytes(shx_head[24:28], "big") * 2 > shx_size:
        raise cut(shx, int.from_bytes(shx_head[24:28], "big") * 2, shx_size)
    shapes = (shx_size - 100) // 8
    if shapes and len(last) == 8:
        end = (int.from_bytes(last[:4], "big") + 4 + int.from_bytes(last[4:], "big")) * 2
        if end > shp_size:
            raise cut(path, end, shp_size)
    if len(dbf_head) < 32 or dbf_head[0] not in (0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x43, 0x63, 0x83, 0x8B, 0xCB,
                                                 0xF5, 0xFB):
        raise BoundaryReadError(Msg("vector.dbf_broken", file=name, part=dbf.name))
    records = int.from_bytes(dbf_head[4:8], "little")
    need = int.from_bytes(dbf_head[8:10], "little") + records * int.from_bytes(dbf_head[10:12], "little")
    if need > dbf_size:
        raise cut(dbf, need, dbf_size)
    if records != shapes:
        raise BoundaryReadError(Msg("vector.shp_dbf_differ", file=name, shp=path.name, shapes=shapes, shx=shx.name,
                                    dbf=dbf.name, records=records))


_DRIVERS = {".shp": "ESRI Shapefile", ".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON"}


_GPKG_IDS = (b"GPKG", b"GP10", b"GP11")


def check_content(path: Path, name: str) -> None:
    """The file is what its suffix says, before GDAL guesses from the content: GDAL would open
    an OGR VRT (XML naming other files, local or ``/vsicurl/`` URLs), KML, GML or any SQLite
    database as well.  A GeoJSON must be JSON and must not declare its CRS by a link (GDAL
    fetches the URL: a request from the server to wherever the file says); a GeoPackage must
    carry the GeoPackage application id."""
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if suffix in (".geojson", ".json") and size > MAX_GEOJSON_BYTES:
        raise BoundaryReadError(Msg("vector.geojson_too_big", file=name, mb=f"{size / 1e6:.0f}",
                                    limit=MAX_GEOJSON_BYTES // 1_000_000))
    with open(path, "rb") as f:
        head = f.read(4096)
        if suffix in (".geojson", ".json"):
            if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
                raise BoundaryReadError(Msg("vector.not_json", file=name))
    if suffix in (".geojson", ".json") and size:
        check_geojson(path, name)
    if suffix == ".gpkg" and not (head.startswith(b"SQLite format 3\x00") and head[68:72] in _GPKG_IDS):
        raise BoundaryReadError(Msg("vector.not_gpkg_export", file=name))
    if suffix == ".gpkg":
        check_geopackage(path, name)


#: a 'crs' member GDAL may resolve without a network: an EPSG or OGC name, nothing else (a
#: name can be a URL too, which GDAL would fetch)
_SAFE_CRS_NAME = re.compile(r"^(urn:ogc:def:crs:(EPSG:[0-9.]*:\d{4,6}|OGC:1\.3:CRS84)|EPSG:\d{4,6})$", re.I)


def check_geojson(path: Path, name: str) -> None:
    """The GeoJSON parsed by a JSON parser before GDAL sees it (escapes such as ``"cr\\u0073"``
    and duplicated members are what they are to a parser): every ``crs`` member, at any depth,
    must be ``{"type": "name", "properties": {"name": "<EPSG or OGC name>"}}`` — a link or any
    other form is refused; at most :data:`MAX_FEATURES` features."""
    import json

    crs_members: list[object] = []

    def pairs(items):
        for k, v in items:
            if k.lower() == "crs":
                crs_members.append(v)
        return dict(items)

    try:
        doc = json.loads(path.read_bytes().decode("utf-8-sig"), object_pairs_hook=pairs)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BoundaryReadError(Msg("vector.bad_json", file=name)) from None
    for crs in crs_members:
        ok = (isinstance(crs, dict) and str(crs.get("type", "")).lower() == "name"
              and isinstance(crs.get("properties"), dict)
              and _SAFE_CRS_NAME.match(str(crs["properties"].get("name", "")).strip()) is not None)
        if not ok:
            kind = str(crs.get("type", "")) if isinstance(crs, dict) else type(crs).__name__
            raise BoundaryReadError(Msg("vector.crs_link", file=name, kind=shorten(kind, 20)))
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(features, list) and len(features) > MAX_FEATURES:
        raise BoundaryReadError(Msg("vector.too_many_features", file=name, n=Num(len(features), 0),
                                    limit=Num(MAX_FEATURES, 0)))


def check_geopackage(path: Path, name: str) -> None:
    """A GeoPackage opened read-only with SQLite before GDAL: no views (a recursive view yields
    any number of rows from a few bytes), feature tables only, at most :data:`MAX_FEATURES`
    features and :data:`MAX_GEOMETRY_BYTES` of geometry, counted before anything is read."""
    import sqlite3
    from contextlib import closing

    bad = Msg("vector.not_gpkg", file=name)
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, timeout=5)) as conn:
            conn.execute("PRAGMA trusted_schema = OFF")
            views = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")]
            if views:
                raise BoundaryReadError(Msg("vector.gpkg_view", file=name, view=shorten(views[0], 40)))
            rows = conn.execute("SELECT c.table_name, g.column_name FROM gpkg_contents c JOIN gpkg_geometry_columns g "
                                "ON g.table_name = c.table_name WHERE c.data_type = 'features'").fetchall()
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            features = geom = 0
            for table, column in rows:
                if table not in tables:
                    raise BoundaryReadError(bad)
                q = '"' + table.replace('"', '""') + '"'
                c = '"' + column.replace('"', '""') + '"'
                n, b = conn.execute(f"SELECT COUNT(*), COALESCE(SUM(LENGTH({c})), 0) FROM {q}").fetchone()
                features, geom = features + n, geom + b
            if features > MAX_FEATURES or geom > MAX_GEOMETRY_BYTES:
                raise BoundaryReadError(Msg("vector.gpkg_too_big", file=name, n=Num(features, 0),
                                            mb=Num(geom // 1_000_000, 0), limit=Num(MAX_FEATURES, 0),
                                            limit_mb=Num(MAX_GEOMETRY_BYTES // 1_000_000, 0)))
    except sqlite3.Error:
        raise BoundaryReadError(bad) from None


def read_vector(path: Path, name: str, layer: str | None = None, encoding: str | None = None) -> VectorRead:
    """Read one layer; text decoded in ``encoding`` or the detected one (see module doc).

    A GeoJSON is parsed once (GDAL parses the whole file on every open, ~20 times its size
    in memory); layers are listed only for a GeoPackage or when one is asked for."""
    suffix = path.suffix.lower()
    is_shp = suffix == ".shp"
    if is_shp:
        check_shapefile(path, name)
    check_content(path, name)
    unreadable = Msg("vector.unreadable", file=name)
    try:
        layers = [str(x) for x in pyogrio.list_layers(path)[:, 0]] if suffix == ".gpkg" or layer is not None \
            else [path.stem]
    except _READ_ERRORS:
        raise BoundaryReadError(unreadable) from None
    except Exception:  # GDAL can raise others for a damaged file
        raise BoundaryReadError(unreadable) from None
    if layer is not None and layer not in layers:
        raise BoundaryReadError(Msg("vector.no_layer", file=name, layer=shorten(layer, 60),
                                    layers=", ".join(shorten(x, 40) for x in layers)))
    driver = _DRIVERS.get(suffix, "")
    cpg = None
    has_prj = None
    if is_shp:
        side = path.with_suffix(".cpg") if path.with_suffix(".cpg").exists() else path.with_suffix(".CPG")
        cpg = side.read_text(errors="replace").strip() if side.exists() else None
        has_prj = path.with_suffix(".prj").exists() or path.with_suffix(".PRJ").exists()
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer, encoding="latin1" if is_shp else None)
    except MemoryError:
        raise BoundaryReadError(Msg("vector.too_big", file=name)) from None
    except Exception:  # GDAL raises many kinds for a damaged file, with English messages
        raise BoundaryReadError(unreadable) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
        raise BoundaryReadError(Msg("vector.no_geometry", file=name))
    cols = _text_columns(gdf)
    samples = [v for c in cols for v in gdf[c].dropna().astype(str).head(5000) if v]
    detected, scores = detect_text_encoding(samples, raw_latin1=is_shp)
    enc = encoding or detected
    cpg_enc = _cpg_encoding(cpg) if cpg else None
    if encoding is None and cpg_enc and cpg_enc in ENCODINGS and scores.get(cpg_enc, -1) >= \
            scores.get(detected, 0) - 0.05:
        enc = cpg_enc  # the .cpg agrees well enough: trust it
    if is_shp:
        def dec(v: object) -> object:
            if not isinstance(v, str):
                return v
            try:
                return decode_bytes(v.encode("latin-1"), enc)
            except UnicodeDecodeError:  # not UTF-8 after all: keep the bytes readable
                return decode_bytes(v.encode("latin-1"), "cp1258")
        for c in cols:
            gdf[c] = gdf[c].map(dec)
    elif enc != "utf-8":
        for c in cols:
            gdf[c] = gdf[c].map(lambda v: decode_text(v, enc) if isinstance(v, str) else v)
    return VectorRead(gdf, driver, layers, enc, scores, cpg, has_prj)


def _cpg_encoding(cpg: str) -> str | None:
    k = cpg.strip().lower().replace("-", "").replace("_", "")
    if k in ("utf8", "65001"):
        return "utf-8"
    if k in ("1258", "cp1258", "windows1258", "ansi1258"):
        return "cp1258"
    return None
