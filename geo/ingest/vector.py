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
    if missing:
        raise BoundaryReadError(f"Tệp {name}: thiếu tệp {' và '.join(missing)} đi kèm {path.name}; hãy nén đủ các "
                                "tệp .shp, .shx, .dbf (và .prj) của lớp ranh giới vào một tệp .zip.")
    shp_size, shx_size, dbf_size = path.stat().st_size, shx.stat().st_size, dbf.stat().st_size
    with open(path, "rb") as f:
        head = f.read(100)
    with open(shx, "rb") as f:
        shx_head = f.read(100)
        f.seek(max(shx_size - 8, 100))
        last = f.read(8)
    with open(dbf, "rb") as f:
        dbf_head = f.read(32)
    broken = "bị hỏng (phần đầu tệp không đúng định dạng shapefile)"
    if len(head) < 100 or int.from_bytes(head[:4], "big") != 9994:
        raise BoundaryReadError(f"Tệp {name}: {path.name} {broken}.")
    if len(shx_head) < 100 or int.from_bytes(shx_head[:4], "big") != 9994 or (shx_size - 100) % 8:
        raise BoundaryReadError(f"Tệp {name}: {shx.name} {broken}.")
    cut = "bị cắt cụt: phần đầu tệp ghi {0} byte nhưng tệp chỉ có {1} byte; hãy xuất lại shapefile."
    if int.from_bytes(head[24:28], "big") * 2 > shp_size:
        raise BoundaryReadError(f"Tệp {name}: {path.name} " + cut.format(int.from_bytes(head[24:28], "big") * 2,
                                                                          shp_size))
    if int.from_bytes(shx_head[24:28], "big") * 2 > shx_size:
        raise BoundaryReadError(f"Tệp {name}: {shx.name} " + cut.format(int.from_bytes(shx_head[24:28], "big") * 2,
                                                                         shx_size))
    shapes = (shx_size - 100) // 8
    if shapes and len(last) == 8:
        end = (int.from_bytes(last[:4], "big") + 4 + int.from_bytes(last[4:], "big")) * 2
        if end > shp_size:
            raise BoundaryReadError(f"Tệp {name}: {path.name} " + cut.format(end, shp_size))
    if len(dbf_head) < 32 or dbf_head[0] not in (0x02, 0x03, 0x04, 0x05, 0x30, 0x31, 0x43, 0x63, 0x83, 0x8B, 0xCB,
                                                 0xF5, 0xFB):
        raise BoundaryReadError(f"Tệp {name}: {dbf.name} bị hỏng (không phải bảng thuộc tính dBASE).")
    records = int.from_bytes(dbf_head[4:8], "little")
    need = int.from_bytes(dbf_head[8:10], "little") + records * int.from_bytes(dbf_head[10:12], "little")
    if need > dbf_size:
        raise BoundaryReadError(f"Tệp {name}: {dbf.name} " + cut.format(need, dbf_size))
    if records != shapes:
        raise BoundaryReadError(f"Tệp {name}: {path.name} có {shapes} hình (theo {shx.name}) nhưng {dbf.name} có "
                                f"{records} dòng thuộc tính; các tệp không cùng một bộ, hãy xuất lại shapefile.")


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
        raise BoundaryReadError(
            f"Tệp {name}: GeoJSON {size / 1e6:.0f} MB, quá giới hạn {MAX_GEOJSON_BYTES // 1_000_000} MB cho dạng "
            "này (đọc GeoJSON cần bộ nhớ gấp khoảng 20 lần kích thước tệp). Hãy dùng GeoPackage (.gpkg) hoặc "
            "shapefile nén .zip, hoặc giảm độ chi tiết của ranh giới.")
    with open(path, "rb") as f:
        head = f.read(4096)
        if suffix in (".geojson", ".json"):
            if not head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith((b"{", b"[")):
                raise BoundaryReadError(f"Tệp {name}: không đọc được tệp ranh giới: nội dung không phải GeoJSON "
                                        "(không phải JSON); hãy dùng tệp .geojson, .gpkg hoặc shapefile nén .zip.")
    if suffix in (".geojson", ".json") and size:
        check_geojson(path, name)
    if suffix == ".gpkg" and not (head.startswith(b"SQLite format 3\x00") and head[68:72] in _GPKG_IDS):
        raise BoundaryReadError(f"Tệp {name}: không đọc được tệp ranh giới: tệp không phải GeoPackage (.gpkg) hợp lệ; "
                                "hãy xuất lại tệp từ phần mềm GIS.")
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
        raise BoundaryReadError(f"Tệp {name}: không đọc được tệp ranh giới: nội dung không phải GeoJSON (JSON hỏng "
                                "hoặc lồng quá sâu); hãy dùng tệp .geojson, .gpkg hoặc shapefile nén .zip.") from None
    for crs in crs_members:
        ok = (isinstance(crs, dict) and str(crs.get("type", "")).lower() == "name"
              and isinstance(crs.get("properties"), dict)
              and _SAFE_CRS_NAME.match(str(crs["properties"].get("name", "")).strip()) is not None)
        if not ok:
            kind = str(crs.get("type", "")) if isinstance(crs, dict) else type(crs).__name__
            raise BoundaryReadError(
                f"Tệp {name}: hệ tọa độ được khai báo bằng liên kết ngoài hoặc dạng lạ ('crs' kiểu "
                f"'{shorten(kind, 20)}'); liên kết không được mở vì lý do an toàn. Hãy xuất lại tệp theo GeoJSON "
                "chuẩn (RFC 7946, kinh độ/vĩ độ WGS 84).")
    features = doc.get("features") if isinstance(doc, dict) else None
    if isinstance(features, list) and len(features) > MAX_FEATURES:
        raise BoundaryReadError(f"Tệp {name}: có {len(features):,} đối tượng, quá giới hạn {MAX_FEATURES:,}; "
                                "không đọc tệp này.".replace(",", "."))


def check_geopackage(path: Path, name: str) -> None:
    """A GeoPackage opened read-only with SQLite before GDAL: no views (a recursive view yields
    any number of rows from a few bytes), feature tables only, at most :data:`MAX_FEATURES`
    features and :data:`MAX_GEOMETRY_BYTES` of geometry, counted before anything is read."""
    import sqlite3
    from contextlib import closing

    bad = f"Tệp {name}: không đọc được tệp ranh giới: tệp không phải GeoPackage (.gpkg) hợp lệ."
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True, timeout=5)) as conn:
            conn.execute("PRAGMA trusted_schema = OFF")
            views = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")]
            if views:
                raise BoundaryReadError(f"Tệp {name}: GeoPackage có khung nhìn (view) '{shorten(views[0], 40)}'; chỉ "
                                        "đọc bảng đối tượng, không đọc khung nhìn vì lý do an toàn. Hãy xuất lại "
                                        "lớp ranh giới thành bảng.")
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
                raise BoundaryReadError(
                    f"Tệp {name}: có {features:,} đối tượng, {geom // 1_000_000:,} MB hình học, quá giới hạn "
                    f"{MAX_FEATURES:,} đối tượng, {MAX_GEOMETRY_BYTES // 1_000_000:,} MB; không đọc tệp này."
                    .replace(",", "."))
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
    unreadable = f"Tệp {name}: không đọc được tệp ranh giới, có thể tệp bị hỏng hoặc không đúng định dạng."
    try:
        layers = [str(x) for x in pyogrio.list_layers(path)[:, 0]] if suffix == ".gpkg" or layer is not None \
            else [path.stem]
    except _READ_ERRORS:
        raise BoundaryReadError(unreadable) from None
    except Exception:  # GDAL can raise others for a damaged file
        raise BoundaryReadError(unreadable) from None
    if layer is not None and layer not in layers:
        raise BoundaryReadError(f"Tệp {name}: không có lớp '{shorten(layer, 60)}' "
                                f"(có: {', '.join(shorten(x, 40) for x in layers)}).")
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
        raise BoundaryReadError(f"Tệp {name}: tệp ranh giới quá lớn để đọc.") from None
    except Exception:  # GDAL raises many kinds for a damaged file, with English messages
        raise BoundaryReadError(unreadable) from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.isna().all():
        raise BoundaryReadError(f"Tệp {name}: không có dữ liệu hình học (ranh giới).")
    cols = _text_columns(gdf)
    samples = [v for c in cols for v in gdf[c].dropna().astype(str).head(5000) if v]
    detected, scores = detect_text_encoding(samples, raw_latin1=is_shp)
    enc = encoding or detected
    if encoding is None and cpg and _cpg_encoding(cpg) in ENCODINGS and scores.get(_cpg_encoding(cpg), -1) >= \
            scores.get(detected, 0) - 0.05:
        enc = _cpg_encoding(cpg)  # the .cpg agrees well enough: trust it
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
