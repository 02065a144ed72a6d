"""Boundary uploads, step 1: the zip checked member by member before anything is written
(absolute paths, '..', links, passwords, member count, total size, zip bombs; limits in
:mod:`povdata.ingest.safety`), then unpacked into a private folder.
"""
from __future__ import annotations

import io
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath, PureWindowsPath

from geo.read import BoundaryReadError
from povdata.validate import shorten
from povdata.ingest.safety import (BOUNDARY_MAX_TOTAL_RATIO, BOUNDARY_MIN_UNZIPPED_ALLOWANCE,
                                   BOUNDARY_MAX_UNZIPPED_BYTES as MAX_UNZIPPED_BYTES,
                                   BOUNDARY_MAX_ZIP_MEMBERS as MAX_ZIP_MEMBERS,
                                   BOUNDARY_MAX_ZIP_RATIO as MAX_ZIP_RATIO,
                                   BOUNDARY_ZIP_BOMB_MIN_BYTES as ZIP_BOMB_MIN_BYTES)


#: Archives inside an archive are never opened (a nested zip bomb unpacks layer by layer).
ARCHIVE_SUFFIXES = (".zip", ".7z", ".rar", ".gz", ".tgz", ".tar", ".bz2", ".xz", ".kmz")
VECTOR_SUFFIXES = (".shp", ".geojson", ".json", ".gpkg")
_SHAPEFILE_PARTS = {".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx", ".qmd", ".xml", ".fix"}


_VN2000_CODES = (3405, 3406, 5896, 5897, 5898, 5899, *range(9205, 9219))


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
    # the whole archive, whatever its members' sizes: relative to the upload, and absolute
    allowed = min(MAX_UNZIPPED_BYTES, max(BOUNDARY_MAX_TOTAL_RATIO * len(data), BOUNDARY_MIN_UNZIPPED_ALLOWANCE))
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
        if total > allowed:
            raise BoundaryReadError(
                f"Tệp {name}: khi giải nén lớn hơn {allowed // 1_000_000} MB (gấp hơn {total // max(len(data), 1)} lần "
                "tệp nén), bất thường với tệp ranh giới (có thể là bom nén); từ chối vì lý do an toàn.")
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
