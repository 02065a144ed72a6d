"""Importing a user's boundary file: zipped shapefile, GeoJSON or GeoPackage.

Steps (each a plain function; :func:`prepare_boundaries` runs them all):

1. :func:`unpack` — a ``.zip`` is checked before anything is extracted
   (:func:`check_zip`: no absolute path, no ``..``, no link, not too many members or bytes)
   and its one vector file located; other files are written as they are.
2. :func:`read_vector` — read with pyogrio.  Shapefile text is read byte for byte
   (``encoding="latin1"``), the encoding detected over all text fields
   (:func:`povdata.vnenc.detect_encoding`: UTF-8, Windows-1258, TCVN3, VNI; a ``.cpg`` is
   reported beside it) and the text decoded; the user may override.  GeoJSON and
   GeoPackage text is Unicode by definition; legacy bytes stored in it as latin-1
   characters are detected the same way.
3. CRS: the file's own; if there is none (a shapefile without ``.prj``) the user is asked,
   with :func:`crs_choices` ranked by :func:`rank_crs` (which reprojection lands the
   features in the province).  VN-2000 choices are EPSG's: UTM zones 48N/49N (3405, 3406),
   the TM-3 zones 481/482/491 (5896-5898) and the provincial TM-3 zones of
   Circular 973/2001/TT-TCĐC as registered in EPSG (5899, 9205-9218; e.g. Lạng Sơn
   107°15' = EPSG:9215).  Everything is reprojected to EPSG:4326.
4. :func:`repair` — invalid geometries fixed with :func:`shapely.make_valid` (polygonal
   part kept) and reported by feature; features that are not polygons are refused.
5. :func:`match_features` — each feature to a registry unit: by a code field, else by a
   name field within the province (:func:`povdata.names.match_names`), else by location
   (the one unmatched registry point inside the polygon).  Fields and level (district or
   commune) are guessed from which gives most matches; the user may override any.
6. :func:`build_layers` — province, district and commune layers for the store: several
   features of one unit are merged (multi-part units kept whole); a commune file gives
   its districts and province by union.
"""
from __future__ import annotations

import io
import os
import stat
import struct
import tempfile
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyproj import CRS, Transformer

from geo.faces import polygonal_part
from geo.read import _READ_ERRORS, BoundaryReadError
from povdata.names import match_names, name_key
from povdata.validate import Problem, ValidationReport, normalize_code, shorten
from povdata.vnenc import ENCODINGS, decode_bytes, decode_text, detect_text_encoding

__all__ = [
    "MAX_ZIP_MEMBERS", "MAX_UNZIPPED_BYTES", "VECTOR_SUFFIXES", "check_zip", "unpack", "read_vector",
    "crs_choices", "rank_crs", "repair", "match_features", "build_layers", "prepare_boundaries",
    "BoundaryImport",
]

MAX_ZIP_MEMBERS = 2_000
MAX_UNZIPPED_BYTES = 2_000_000_000
#: GDAL holds ~20 times a GeoJSON's size in memory while reading it: 60 MB is ~1.2 GB.
MAX_GEOJSON_BYTES = 60_000_000
#: A member of more than :data:`ZIP_BOMB_MIN_BYTES` compressed more than :data:`MAX_ZIP_RATIO`
#: times is a zip bomb (shapefiles compress 2-20 times; a run of zeros ~1000 times).
MAX_ZIP_RATIO = 100
ZIP_BOMB_MIN_BYTES = 100_000_000
#: Archives inside an archive are never opened (a nested zip bomb unpacks layer by layer).
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".kmz")
VECTOR_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")
_SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".xml", ".fix"}
_VN2000_CODES = (3405, 3406, 5896, 5897, 5898, 5899, *range(9205, 9219))


# ---- 1. unpacking ------------------------------------------------------------
def check_zip(data: bytes, name: str = "tệp nén") -> list[zipfile.ZipInfo]:
    """The members of a zip file, refused with :class:`BoundaryReadError` (Vietnamese,
    naming the member) when a path is absolute or climbs out with ``..``, a member is a
    link, the archive is encrypted, has more than :data:`MAX_ZIP_MEMBERS` members,
    unpacks to more than :data:`MAX_UNZIPPED_BYTES` or is a zip bomb (a large member
    compressed more than :data:`MAX_ZIP_RATIO` times).  Nothing is decompressed."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # BadZipFile, and struct/Unicode/Overflow errors for a damaged directory
        what = " (tệp bị hỏng hoặc bị cắt cụt)" if data.startswith(b"PK") else ""
        raise BoundaryReadError(f"Tệp {name}: không phải tệp nén .zip hợp lệ{what}.") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise BoundaryReadError(f"Tệp {name}: có {len(infos)} tệp bên trong, quá giới hạn {MAX_ZIP_MEMBERS}.")
    total = 0
    for info in infos:
        n = shorten(info.filename)
        win = PureWindowsPath(info.filename)
        if info.filename.startswith(("/", "\\")) or win.drive or PurePosixPath(info.filename).is_absolute():
            raise BoundaryReadError(f"Tệp {name}: tệp bên trong '{n}' có đường dẫn tuyệt đối; từ chối vì lý do an toàn.")
        if ".." in PurePosixPath(info.filename.replace("\\", "/")).parts:
            raise BoundaryReadError(f"Tệp {name}: tệp bên trong '{n}' có '..' trong đường dẫn; từ chối vì lý do an toàn.")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BoundaryReadError(f"Tệp {name}: tệp bên trong '{n}' là liên kết (symlink); từ chối vì lý do an toàn.")
        if info.flag_bits & 0x1:
            raise BoundaryReadError(f"Tệp {name}: tệp nén có mật khẩu, không đọc được.")
        if info.file_size > ZIP_BOMB_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise BoundaryReadError(
                f"Tệp {name}: tệp bên trong '{n}' nén {info.file_size // max(info.compress_size, 1)} lần "
                f"({info.file_size // 1_000_000} MB khi giải nén), bất thường với tệp ranh giới (có thể là bom nén); "
                "từ chối vì lý do an toàn.")
        total += info.file_size
        if total > MAX_UNZIPPED_BYTES:
            raise BoundaryReadError(f"Tệp {name}: khi giải nén lớn hơn {MAX_UNZIPPED_BYTES // 1_000_000} MB; từ chối.")
    return infos


def unpack(data: bytes, name: str, workdir: Path, layer_file: str | None = None) -> tuple[Path, list[str]]:
    """Write the upload into ``workdir`` and return (path of the vector file, all vector
    files found).  A zip is checked by :func:`check_zip` first, then extracted member by
    member under ``workdir`` only.  With several vector files in a zip, ``layer_file``
    picks one; otherwise the first in name order is used."""
    suffix = Path(name).suffix.lower()
    workdir.mkdir(parents=True, exist_ok=True)
    if suffix == ".zip":
        infos = check_zip(data, name)
        root = workdir.resolve()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for info in infos:
                if info.is_dir() or PurePosixPath(info.filename).suffix.lower() in ARCHIVE_SUFFIXES:
                    continue  # an archive inside is never opened
                target = (root / info.filename.replace("\\", "/")).resolve()
                if root not in target.parents:  # belt and braces after check_zip
                    raise BoundaryReadError(f"Tệp {name}: đường dẫn '{shorten(info.filename)}' không an toàn.")
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
                except (IsADirectoryError, NotADirectoryError, FileExistsError):  # 'a' and 'a/b.shp' both
                    raise BoundaryReadError(f"Tệp {name}: tên '{shorten(info.filename)}' bên trong tệp nén trùng với "
                                            "tên một thư mục khác trong đó; hãy nén lại thư mục ranh giới.") from None
                except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
                        RuntimeError, struct.error):  # damaged data, bad CRC, unknown method, encrypted
                    raise BoundaryReadError(f"Tệp {name}: tệp nén bị hỏng, không giải nén được "
                                            f"'{shorten(info.filename)}'.") from None
        found = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                       if p.suffix.lower() in VECTOR_SUFFIXES and not p.name.startswith("."))
        if not found:
            nested = [i.filename for i in infos if PurePosixPath(i.filename).suffix.lower() in ARCHIVE_SUFFIXES]
            if nested:
                raise BoundaryReadError(f"Tệp {name}: bên trong chỉ có tệp nén lồng nhau ('{shorten(nested[0])}'); "
                                        "hãy giải nén tệp đó và tải lên trực tiếp (tệp nén lồng nhau không được mở, "
                                        "vì lý do an toàn).")
            raise BoundaryReadError(f"Tệp {name}: không có tệp ranh giới (.shp, .geojson, .gpkg) bên trong.")
        pick = layer_file if layer_file in found else found[0]
        return root / pick, found
    if suffix in (".geojson", ".json", ".gpkg"):
        path = workdir / ("upload" + suffix)
        path.write_bytes(data)
        return path, [path.name]
    if suffix == ".shp":
        raise BoundaryReadError(f"Tệp {name}: hãy nén tệp .shp cùng các tệp .dbf, .shx, .prj thành một tệp .zip.")
    raise BoundaryReadError(f"Tệp {name}: định dạng '{shorten(suffix, 20)}' không được hỗ trợ (chỉ .zip chứa shapefile, "
                            ".geojson, .gpkg).")


# ---- 2. reading --------------------------------------------------------------
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
    import mmap
    import re

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
            if size:
                with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    for m in re.finditer(rb'"crs"\s*:', mm):
                        if re.search(rb'"type"\s*:\s*"link"', mm[m.end():m.end() + 2000]):
                            raise BoundaryReadError(
                                f"Tệp {name}: hệ tọa độ được khai báo bằng liên kết ngoài ('crs' kiểu 'link'); "
                                "liên kết không được mở vì lý do an toàn. Hãy xuất lại tệp theo GeoJSON chuẩn "
                                "(RFC 7946, kinh độ/vĩ độ WGS 84).")
    if suffix == ".gpkg" and not (head.startswith(b"SQLite format 3\x00") and head[68:72] in _GPKG_IDS):
        raise BoundaryReadError(f"Tệp {name}: không đọc được tệp ranh giới: tệp không phải GeoPackage (.gpkg) hợp lệ; "
                                "hãy xuất lại tệp từ phần mềm GIS.")


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


# ---- 3. CRS ------------------------------------------------------------------
def crs_choices() -> list[tuple[str, str]]:
    """(``EPSG:code``, label) of the CRSs offered for a file without one: WGS 84, VN-2000
    geographic and EPSG's VN-2000 projected zones (UTM and TM-3, with their areas)."""
    out = [("EPSG:4326", "WGS 84 (kinh độ, vĩ độ)"), ("EPSG:4756", "VN-2000 (kinh độ, vĩ độ)")]
    for code in _VN2000_CODES:
        crs = CRS.from_epsg(code)
        area = crs.area_of_use.name.replace("Vietnam - ", "") if crs.area_of_use else ""
        out.append((f"EPSG:{code}", f"{crs.name} — {area}"))
    return out


def rank_crs(gdf: gpd.GeoDataFrame, province_bbox: tuple[float, float, float, float]) -> list[tuple[str, float]]:
    """Candidate CRSs for coordinates without one, best first, with the distance (km)
    from the reprojected features' centre to the province's box (0 = inside it).
    ``province_bbox`` is (min_lon, min_lat, max_lon, max_lat) in degrees."""
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if geoms.empty:
        return [(c, float("inf")) for c, _ in crs_choices()]
    x0, y0, x1, y1 = geoms.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    lo_lon, lo_lat, hi_lon, hi_lat = province_bbox
    ranked = []
    for code, _ in crs_choices():
        try:
            if code in ("EPSG:4326", "EPSG:4756"):
                lon, lat = cx, cy
            else:
                lon, lat = Transformer.from_crs(code, "EPSG:4326", always_xy=True).transform(cx, cy)
        except Exception:
            ranked.append((code, float("inf")))
            continue
        if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90:
            ranked.append((code, float("inf")))
            continue
        dx = max(lo_lon - lon, 0, lon - hi_lon) * 111 * np.cos(np.radians(lat))
        dy = max(lo_lat - lat, 0, lat - hi_lat) * 111
        ranked.append((code, float(np.hypot(dx, dy))))
    # ties (several TM-3 zones land inside the province): the CRS made for this place first —
    # the reprojected centre inside its area of use, the smallest such area (a provincial zone)
    def specificity(code: str) -> tuple[float, float]:
        if code in ("EPSG:4326", "EPSG:4756"):
            return (0.0, 1e9)
        area = CRS.from_user_input(code).area_of_use
        if area is None:
            return (1e9, 1e9)
        w, s_, e, n = area.bounds
        inside = w <= (lo_lon + hi_lon) / 2 <= e and s_ <= (lo_lat + hi_lat) / 2 <= n
        return (0.0 if inside else 1.0, (e - w) * (n - s_))
    return sorted(ranked, key=lambda t: (round(t[1], 0), *specificity(t[0])))


# ---- 4. repair ---------------------------------------------------------------
#: GEOS's reasons (:func:`shapely.is_valid_reason`) in Vietnamese.
_REASONS_VI = {
    "Self-intersection": "tự cắt nhau", "Ring Self-intersection": "vòng ranh giới tự cắt",
    "Too few points in geometry component": "quá ít điểm", "Hole lies outside shell": "lỗ nằm ngoài vùng",
    "Interior is disconnected": "phần trong bị chia cắt", "Nested holes": "lỗ lồng nhau",
    "Nested shells": "vùng lồng nhau", "Duplicate Rings": "vòng ranh giới trùng nhau",
    "Invalid Coordinate": "tọa độ không hợp lệ", "Ring is not closed": "vòng ranh giới không khép kín",
}


def reason_vi(reason: str) -> str:
    """'Self-intersection[106.7 22.1]' → 'tự cắt nhau tại 106.70000, 22.10000 — Self-intersection'
    (GEOS's term kept for whoever searches for it)."""
    import re
    m = re.match(r"\s*([^\[]*?)\s*(?:\[(\S+) (\S+)\])?\s*$", reason)
    term = (m.group(1) if m else reason) or reason
    where = ""
    if m and m.group(2):
        try:
            where = f" tại {float(m.group(2)):.5f}, {float(m.group(3)):.5f}"
        except ValueError:
            pass
    return f"{_REASONS_VI.get(term, 'lỗi hình học')}{where} — {shorten(term, 60)}"


def repair(gdf: gpd.GeoDataFrame, file: str) -> tuple[gpd.GeoDataFrame, list[Problem], list[Problem]]:
    """Fix invalid polygons; return (frame, warnings about repairs, errors).

    A feature whose geometry is missing, empty or not polygonal (points, lines) is an
    error naming it (row = feature number, 1-based)."""
    geoms = gdf.geometry.to_numpy()
    warnings_: list[Problem] = []
    errors: list[Problem] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        errors.append(Problem(file, int(i) + 1, None, "đối tượng không có hình học (ranh giới trống)."))
    kinds = shapely.get_type_id(geoms)
    for i in np.flatnonzero(~missing & ~np.isin(kinds, (3, 6, 7))):
        errors.append(Problem(file, int(i) + 1, None, f"đối tượng là {shapely.get_type_id(geoms[i]) == 0 and 'điểm' or 'đường'}, "
                                                        "không phải vùng (polygon)."))
    bad = np.flatnonzero(~missing & ~shapely.is_valid(geoms))
    if len(bad):
        reasons = shapely.is_valid_reason(geoms[bad])
        fixed = polygonal_part(shapely.make_valid(geoms[bad]))
        for i, why, g in zip(bad, reasons, fixed):
            if shapely.is_empty(g):
                errors.append(Problem(file, int(i) + 1, None,
                                      f"hình học không hợp lệ ({reason_vi(why)}) và không sửa được."))
            else:
                warnings_.append(Problem(file, int(i) + 1, None, f"hình học không hợp lệ ({reason_vi(why)}); đã tự "
                                         "sửa (make_valid).", "warning"))
        geoms = geoms.copy()
        geoms[bad] = fixed
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out, warnings_, errors


# ---- 5. matching -------------------------------------------------------------
def _registry(province_code: str, era: str) -> pd.DataFrame:
    from povdata.importer import registry
    return registry(province_code, era)


def _code_hits(values: pd.Series, codes: set[str]) -> int:
    norm = values.dropna().astype(str).map(lambda v: normalize_code(v.strip()))
    return int(norm[norm.isin(codes)].nunique())


def guess_fields(gdf: gpd.GeoDataFrame, province_code: str, era: str) -> tuple[str | None, str | None, str]:
    """(code field, name field, level) that match most features; level is ``district``
    or ``commune`` (``commune`` only for the 2025 list)."""
    reg = _registry(province_code, era)
    levels = ["district", "commune"] if era == "legacy" else ["commune"]
    cols = [c for c in gdf.columns if c != gdf.geometry.name]
    best: tuple[int, str | None, str | None, str] = (-1, None, None, levels[-1])
    # a code field that identifies nearly every feature decides the level without name matching
    for level in levels:
        codes = set(reg.loc[reg["level"] == level, "code"])
        for c in cols:
            if _code_hits(gdf[c], codes) >= 0.95 * len(gdf) > 0:
                texts = [t for t in _text_columns(gdf) if t != c
                         and not gdf[t].fillna("").astype(str).str.fullmatch(r"[\d.\s]*").all()]
                return c, (texts[0] if texts else None), level
    for level in levels:
        cand = reg[reg["level"] == level]
        codes = set(cand["code"])
        code_scores = {c: _code_hits(gdf[c], codes) for c in cols}  # distinct units hit
        code_field = max(code_scores, key=code_scores.get) if code_scores else None
        if code_field is not None and code_scores[code_field] == 0:
            code_field = None
        name_scores = {}
        if code_field is not None and code_scores[code_field] >= 0.95 * len(gdf):
            best_code = code_scores[code_field]
            # codes decide; names only to show: the first text field that is not all digits
            texts = [c for c in _text_columns(gdf) if c != code_field
                     and not gdf[c].fillna("").astype(str).str.fullmatch(r"[\d.\s]*").all()]
            if best_code > best[0]:
                best = (best_code, code_field, texts[0] if texts else None, level)
            continue
        for c in _text_columns(gdf):
            vals = gdf[c].fillna("").astype(str)
            if vals.str.fullmatch(r"[\d.\s]*").all():
                continue
            m = match_names(list(vals), cand)
            # diacritics win ties: 'Đình Lập' over 'Dinh Lap'
            marks = vals.map(lambda s: any(ord(ch) > 127 for ch in s)).mean()
            name_scores[c] = int(m["code"].dropna().nunique()) + 0.5 * marks  # distinct units hit
        name_field = max(name_scores, key=name_scores.get) if name_scores else None
        score = max(code_scores.get(code_field, 0) if code_field else 0, int(name_scores.get(name_field, 0)))
        if score > best[0]:
            best = (score, code_field, name_field, level)
    return best[1], best[2], best[3]


MATCH_COLUMNS = ["_row", "input_code", "input_name", "level", "code", "matched_name", "method", "score", "note"]


def guess_parent_field(gdf: gpd.GeoDataFrame, province_code: str, exclude: tuple = ()) -> str | None:
    """A text field naming the district of each commune (most values match a district)."""
    reg = _registry(province_code, "legacy")
    districts = reg[reg["level"] == "district"]
    best, best_n = None, 0
    for c in _text_columns(gdf):
        if c in exclude:
            continue
        vals = gdf[c].fillna("").astype(str)
        n = int((match_names(list(vals), districts)["method"] != "none").sum())
        if n > best_n and n >= 0.8 * len(gdf):
            best, best_n = c, n
    return best


def match_features(gdf: gpd.GeoDataFrame, province_code: str, era: str, level: str,
                   code_field: str | None, name_field: str | None, parent_field: str | None = None) -> pd.DataFrame:
    """One row per feature: code, then name within the province (within the district named
    in ``parent_field`` when a name is shared), then location."""
    reg = _registry(province_code, era)
    cand = reg[reg["level"] == level].reset_index(drop=True)
    n = len(gdf)
    codes = gdf[code_field].map(lambda v: normalize_code(str(v).strip()) if pd.notna(v) else "") \
        if code_field else pd.Series([""] * n)
    names = gdf[name_field].fillna("").astype(str) if name_field else pd.Series([""] * n)
    m = match_names(list(names), cand, codes=list(codes))
    if parent_field and level == "commune" and era == "legacy":
        districts = reg[reg["level"] == "district"]
        parents = match_names(list(gdf[parent_field].fillna("").astype(str)), districts)["code"]
        for i in np.flatnonzero(m["code"].isna().to_numpy() & parents.notna().to_numpy()):
            within = cand[cand["parent_code"] == parents.iloc[i]]
            r = match_names([names.iloc[i]], within).iloc[0]
            if isinstance(r["code"], str):
                m.loc[i, ["code", "matched_name", "method", "score", "note"]] = (
                    r["code"], r["matched_name"], r["method"], r["score"], "khớp trong huyện ghi ở trường "
                    + parent_field)
    res = pd.DataFrame({"_row": np.arange(n) + 1, "input_code": codes.to_numpy(), "input_name": names.to_numpy(),
                        "level": level, "code": m["code"].to_numpy(), "matched_name": m["matched_name"].to_numpy(),
                        "method": m["method"].to_numpy(), "score": m["score"].astype(float).to_numpy(),
                        "note": m["note"].to_numpy()})
    # a district abolished before 2025 (a GIS file older than the list): its territory is part
    # of its successor's, so the feature is merged into it, held for review with the reason
    if level == "district" and era == "legacy":
        from povdata.unit_history import former_unit
        olds = set(reg.loc[reg["level"] == "province", "code"])
        for i in np.flatnonzero(res["code"].isna().to_numpy()):
            gone = former_unit(olds, str(res.at[i, "input_name"]), str(res.at[i, "input_code"]))
            if gone is not None and gone.successor_code in set(cand["code"]):
                res.loc[i, ["code", "matched_name", "method", "score", "note"]] = (
                    gone.successor_code, gone.successor_name, "successor", 0.8 if gone.similar else 0.9,
                    gone.reason())
    # location: a name shared by several units ('Xã Mẫu Sơn' in two districts) goes to the one
    # whose registry point lies inside the polygon; a feature with no usable name or code to
    # the single unmatched registry point inside it
    todo = np.flatnonzero(res["code"].isna().to_numpy())
    if len(todo) and cand["lat"].notna().any():
        import re
        taken = set(res["code"].dropna())
        located = cand[cand["lat"].notna()].set_index("code")
        geoms = gdf.geometry.to_crs("EPSG:4326").to_numpy() if gdf.crs is not None else gdf.geometry.to_numpy()
        for i in todo:
            g = geoms[i]
            if g is None or shapely.is_empty(g):
                continue
            tied = [c for c in re.findall(r"\((\d+)\)", str(res.at[i, "note"])) if c in located.index]
            pool = located.loc[tied] if tied else located[~located.index.isin(taken)]
            inside = pool.index[shapely.contains(g, shapely.points(pool["lon"].to_numpy(), pool["lat"].to_numpy()))]
            if len(inside) == 1:
                code = inside[0]
                note = ("tên trùng, chọn theo vị trí" if tied else "khớp theo vị trí (tâm đơn vị nằm trong vùng)")
                res.loc[i, ["code", "matched_name", "method", "score", "note"]] = (
                    code, located.at[code, "name"], "location", 0.9 if tied else 0.6, note)
                taken.add(code)
    return res[MATCH_COLUMNS]


def apply_overrides(matches: pd.DataFrame, overrides: dict[int, str | None], province_code: str,
                    era: str) -> pd.DataFrame:
    """The user's choices ``{feature number: code}`` (None or '' = do not import it)."""
    if not overrides:
        return matches
    reg = _registry(province_code, era).set_index("code")
    out = matches.copy()
    for row, code in overrides.items():
        hit = out.index[out["_row"] == row]
        if not len(hit):
            continue
        if code and code in reg.index:
            out.loc[hit[0], ["code", "matched_name", "level", "method", "score", "note"]] = (
                code, reg.at[code, "name"], reg.at[code, "level"], "manual", 1.0, "chọn tay")
        else:
            out.loc[hit[0], ["code", "matched_name", "method", "score", "note"]] = (
                None, None, "skip", 0.0, "bỏ, không nhập")
    return out


# ---- 6. layers ---------------------------------------------------------------
def _union(geoms: np.ndarray) -> shapely.Geometry:
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 1:
        return geoms[0]
    try:
        if shapely.coverage_is_valid(geoms):
            return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(shapely.make_valid(geoms))


def build_layers(gdf: gpd.GeoDataFrame, matches: pd.DataFrame, province_code: str, era: str, level: str,
                 fallback: dict[str, gpd.GeoDataFrame] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Layers ``province``, ``district``, ``commune`` (legacy) or ``province``,
    ``commune_2025`` (2025 list), EPSG:4326, columns ``code`` (and parent codes).

    Features of one unit are merged into one (Multi)Polygon.  A commune layer gives the
    districts and the province by union; a district layer gives the province, and its
    communes come from ``fallback`` (the previous version's layers), if any."""
    reg = _registry(province_code, era).set_index("code")
    ok = matches["code"].notna().to_numpy() & (matches["method"] != "skip").to_numpy()
    g = gpd.GeoDataFrame({"code": matches.loc[ok, "code"].astype(str).to_numpy()},
                         geometry=gdf.geometry.to_numpy()[ok], crs=gdf.crs)
    merged = {code: _union(grp.geometry.to_numpy()) for code, grp in g.groupby("code", sort=True)}
    base = gpd.GeoDataFrame({"code": list(merged)}, geometry=list(merged.values()), crs="EPSG:4326")
    layers: dict[str, gpd.GeoDataFrame] = {}
    fallback = fallback or {}
    prov_of = reg["province_code"]
    if era != "legacy":
        base["province_code"] = base["code"].map(prov_of)
        layers["commune_2025"] = base
        layers["province"] = _dissolve(base, "province_code")
        for k in ("commune", "district"):
            if k in fallback:
                layers[k] = fallback[k]
        return layers
    if level == "commune":
        base["district_code"] = base["code"].map(reg["district_code"])
        base["province_code"] = base["code"].map(prov_of)
        layers["commune"] = base
        layers["district"] = _dissolve(base, "district_code", keep=["province_code"])
    else:
        base["province_code"] = base["code"].map(prov_of)
        layers["district"] = base
        if "commune" in fallback:
            layers["commune"] = fallback["commune"]
    layers["province"] = _dissolve(layers["district"], "province_code")
    if "commune_2025" in fallback:
        layers["commune_2025"] = fallback["commune_2025"]
    return layers


def _dissolve(g: gpd.GeoDataFrame, by: str, keep: list[str] | None = None) -> gpd.GeoDataFrame:
    """One (Multi)Polygon per ``by`` code, columns ``code`` and ``keep``."""
    groups = g.groupby(by, sort=True)
    out = {"code": [], **{k: [] for k in keep or []}}
    geoms = []
    for code, grp in groups:
        out["code"].append(code)
        for k in keep or []:
            out[k].append(grp[k].iloc[0])
        geoms.append(_union(grp.geometry.to_numpy()))
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")


# ---- everything --------------------------------------------------------------
@dataclass
class BoundaryImport:
    file: str
    sha256: str
    province_code: str
    era: str
    layers_in_file: list[str] = field(default_factory=list)
    files_in_zip: list[str] = field(default_factory=list)
    driver: str = ""
    encoding: str | None = None
    encoding_scores: dict[str, float] = field(default_factory=dict)
    cpg: str | None = None
    crs: str | None = None          # the CRS used (EPSG:… or WKT)
    crs_from: str = "file"          # file | user | missing
    crs_ranked: list[tuple[str, float]] = field(default_factory=list)
    fields: list[str] = field(default_factory=list)
    code_field: str | None = None
    name_field: str | None = None
    level: str = "district"
    gdf: gpd.GeoDataFrame | None = None  # EPSG:4326, repaired
    matches: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=MATCH_COLUMNS))
    report: ValidationReport | None = None

    @property
    def ok(self) -> bool:
        return self.report is not None and self.report.ok and self.gdf is not None

    @property
    def needs_crs(self) -> bool:
        return self.crs_from == "missing"


def _coordinate_problems(gdf: gpd.GeoDataFrame, name: str, bbox: tuple[float, float, float, float],
                         prov: pd.DataFrame, rep: ValidationReport) -> bool:
    """Coordinates (EPSG:4326) that cannot be right: latitude and longitude swapped (the
    swapped centre falls in the province), or beyond ±180° / ±90° or not numbers (by
    feature).  Adds the errors to ``rep``; True when there were any."""
    geoms = gdf.geometry.to_numpy()
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not present.any():
        return False
    b = shapely.bounds(geoms)
    with np.errstate(invalid="ignore"):
        bad = present & ~(np.isfinite(b).all(axis=1) & (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90)
                          & (b[:, 3] <= 90))
    ok = present & ~bad
    where = prov["name"].iloc[0] if len(prov) == 1 else "Việt Nam"
    if ok.any() or bad.any():
        fin = b[present & np.isfinite(b).all(axis=1)]
        if len(fin):
            cx = (np.min(fin[:, 0]) + np.max(fin[:, 2])) / 2
            cy = (np.min(fin[:, 1]) + np.max(fin[:, 3])) / 2
            inside = bbox[0] - 1 < cx < bbox[2] + 1 and bbox[1] - 1 < cy < bbox[3] + 1
            swapped = bbox[0] - 1 < cy < bbox[2] + 1 and bbox[1] - 1 < cx < bbox[3] + 1
            if not inside and swapped:
                rep.problems.append(Problem(name, None, None, f"kinh độ và vĩ độ có vẻ bị đảo chỗ: tâm ranh giới là "
                                            f"({cx:.3f}, {cy:.3f}), đảo lại thành ({cy:.3f}, {cx:.3f}) thì nằm trong "
                                            f"{where}; hãy xuất lại tệp với thứ tự kinh độ trước, vĩ độ sau."))
                return True
    rows = np.flatnonzero(bad)
    for i in rows[:20]:
        x0, y0, x1, y1 = b[i]
        shown = (f"từ ({x0:.6g}, {y0:.6g}) đến ({x1:.6g}, {y1:.6g})" if np.isfinite(b[i]).all()
                 else "có tọa độ không phải là số")
        rep.problems.append(Problem(name, int(i) + 1, None, f"tọa độ ngoài phạm vi kinh độ -180..180, vĩ độ -90..90 "
                                    f"({shown}); kiểm tra hệ tọa độ của tệp."))
    if len(rows) > 20:
        rep.problems.append(Problem(name, None, None, f"còn {len(rows) - 20} đối tượng khác có tọa độ ngoài phạm vi."))
    return bool(len(rows))


def prepare_boundaries(data: bytes, name: str, province_code: str, *, era: str = "legacy",
                       encoding: str | None = None, crs: str | None = None, layer: str | None = None,
                       layer_file: str | None = None, code_field: str | None = None,
                       name_field: str | None = None, level: str | None = None,
                       overrides: dict[int, str | None] | None = None) -> BoundaryImport:
    """Every step from the uploaded bytes to matched, repaired features (see module doc).

    Never raises for a bad file: the report then holds one error naming the file.
    ``crs`` is used only when the file has none (the answer to the missing-``.prj``
    question); the user's other choices override the guesses.
    """
    import hashlib

    from povdata.units import legacy_units

    out = BoundaryImport(name, hashlib.sha256(data).hexdigest(), province_code, era)
    rep = ValidationReport(name)
    out.report = rep
    with tempfile.TemporaryDirectory(prefix="povdash-upload-") as tmp:
        try:
            path, out.files_in_zip = unpack(data, name, Path(tmp), layer_file)
            vec = read_vector(path, name, layer, encoding)
        except BoundaryReadError as exc:
            rep.problems.append(Problem(name, None, None, str(exc).removeprefix(f"Tệp {name}: ")))
            return out
    gdf = vec.gdf
    out.layers_in_file, out.driver, out.cpg = vec.layers, vec.driver, vec.cpg
    out.encoding, out.encoding_scores = vec.encoding, vec.encoding_scores
    out.fields = [c for c in gdf.columns if c != gdf.geometry.name]
    units = _registry(province_code, "legacy")
    prov = units[units["level"] == "province"]
    com = units[units["level"] == "commune"]
    bbox = (float(com["min_lon"].min()), float(com["min_lat"].min()), float(com["max_lon"].max()),
            float(com["max_lat"].max())) if len(com) else (102.0, 8.0, 110.0, 24.0)
    if gdf.crs is None:
        out.crs_ranked = rank_crs(gdf, bbox)
        if crs is None:
            out.crs_from = "missing"
            what = "không có tệp .prj" if vec.has_prj is False else "không khai báo hệ tọa độ"
            rep.problems.append(Problem(name, None, None, f"tệp {what}: hãy chọn hệ tọa độ của tệp "
                                        f"(gợi ý: {out.crs_ranked[0][0]})."))
            out.gdf = None
            return out
        try:
            gdf = gdf.set_crs(crs)
        except Exception:
            rep.problems.append(Problem(name, None, None, f"hệ tọa độ '{crs}' không hợp lệ."))
            return out
        out.crs_from = "user"
    out.crs = gdf.crs.to_string()
    try:
        gdf = gdf.to_crs("EPSG:4326")
    except Exception as exc:
        rep.problems.append(Problem(name, None, None, f"không chuyển được sang WGS 84 ({type(exc).__name__})."))
        return out
    if _coordinate_problems(gdf, name, bbox, prov, rep):
        return out
    gdf, warn, errs = repair(gdf, name)
    rep.problems.extend(errs + warn)
    x0, y0, x1, y1 = gdf.total_bounds if len(gdf) else (0, 0, 0, 0)
    if len(gdf) and not (bbox[0] - 1 < (x0 + x1) / 2 < bbox[2] + 1 and bbox[1] - 1 < (y0 + y1) / 2 < bbox[3] + 1):
        rep.problems.append(Problem(name, None, None, f"ranh giới nằm ngoài {prov['name'].iloc[0] if len(prov) == 1 else 'Việt Nam'} "
                                    f"(tâm {((x0 + x1) / 2):.3f}, {((y0 + y1) / 2):.3f}); kiểm tra hệ tọa độ "
                                    "hoặc tỉnh đã chọn."))
    g_code, g_name, g_level = guess_fields(gdf, province_code, era)
    out.code_field = code_field if code_field in out.fields else (None if code_field == "" else g_code)
    out.name_field = name_field if name_field in out.fields else (None if name_field == "" else g_name)
    out.level = level or g_level
    parent_field = guess_parent_field(gdf, province_code, (out.name_field, out.code_field)) \
        if out.level == "commune" and era == "legacy" else None
    matches = match_features(gdf, province_code, era, out.level, out.code_field, out.name_field, parent_field)
    matches = apply_overrides(matches, overrides or {}, province_code, era)
    out.matches = matches
    out.gdf = gdf
    label = out.name_field or out.code_field or "đối tượng"
    for _, m in matches[matches["code"].isna() & (matches["method"] != "skip")].iterrows():
        what = shorten(" ".join(str(x) for x in (m["input_code"], m["input_name"]) if x) or f"số {m['_row']}")
        rep.problems.append(Problem(name, int(m["_row"]), label,
                                    f"không tìm thấy đơn vị '{what}' trong danh mục"
                                    + (f" ({m['note']})" if m["note"] else "")
                                    + "; chọn đơn vị trong bảng đối chiếu."))
    for _, m in matches[matches["method"] == "successor"].iterrows():
        rep.problems.append(Problem(name, int(m["_row"]), label, f"{m['note']}; vùng này được gộp vào "
                                    f"{m['matched_name']} (kiểm tra ở bảng đối chiếu).", "warning"))
    merged_in = set(matches.loc[matches["method"] == "successor", "code"])
    dup = matches[matches["code"].notna() & matches.duplicated("code", keep=False) & ~matches["code"].isin(merged_in)]
    for code, grp in dup.groupby("code"):
        rep.problems.append(Problem(name, int(grp["_row"].iloc[1]), label,
                                    f"{grp['matched_name'].iloc[0]} ({code}) có {len(grp)} đối tượng (dòng "
                                    f"{', '.join(map(str, grp['_row']))}); sẽ gộp thành một vùng.", "warning"))
    reg = _registry(province_code, era)
    expected = set(reg.loc[reg["level"] == out.level, "code"])
    lacking = sorted(expected - set(matches["code"].dropna()))
    if lacking and rep.ok:
        names = reg.set_index("code")["name"]
        shown = ", ".join(f"{names[c]} ({c})" for c in lacking[:10]) + (" …" if len(lacking) > 10 else "")
        rep.problems.append(Problem(name, None, None, f"thiếu ranh giới của {len(lacking)} đơn vị: {shown}.",
                                    "warning"))
    return out
