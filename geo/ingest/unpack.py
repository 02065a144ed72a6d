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
from povdata.messages import Msg
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


def check_zip(data: bytes, name: str = "") -> list[zipfile.ZipInfo]:
    """The members of a zip file, refused with :class:`BoundaryReadError` (Vietnamese,
    naming the member) when a path is absolute or climbs out with ``..``, a member is a
    link, the archive is encrypted, has more than :data:`MAX_ZIP_MEMBERS` members,
    unpacks to more than :data:`MAX_UNZIPPED_BYTES` or is a zip bomb (a large member
    compressed more than :data:`MAX_ZIP_RATIO` times).  Nothing is decompressed."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except Exception:  # BadZipFile, and struct/Unicode/Overflow errors for a damaged directory
        what = Msg("unpack.damaged") if data.startswith(b"PK") else ""
        raise BoundaryReadError(Msg("unpack.not_zip", file=name or Msg("unpack.archive"), what=what)) from None
    name = name or Msg("unpack.archive")
    if len(infos) > MAX_ZIP_MEMBERS:
        raise BoundaryReadError(Msg("unpack.too_many", file=name, n=len(infos), limit=MAX_ZIP_MEMBERS))
    total = 0
    # the whole archive, whatever its members' sizes: relative to the upload, and absolute
    allowed = min(MAX_UNZIPPED_BYTES, max(BOUNDARY_MAX_TOTAL_RATIO * len(data), BOUNDARY_MIN_UNZIPPED_ALLOWANCE))
    for info in infos:
        n = shorten(info.filename)
        win = PureWindowsPath(info.filename)
        if info.filename.startswith(("/", "\\")) or win.drive or PurePosixPath(info.filename).is_absolute():
            raise BoundaryReadError(Msg("unpack.absolute", file=name, member=n))
        if ".." in PurePosixPath(info.filename.replace("\\", "/")).parts:
            raise BoundaryReadError(Msg("unpack.dotdot", file=name, member=n))
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise BoundaryReadError(Msg("unpack.symlink", file=name, member=n))
        if info.flag_bits & 0x1:
            raise BoundaryReadError(Msg("safety.password_zip", file=name))
        if info.file_size > ZIP_BOMB_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise BoundaryReadError(Msg("unpack.ratio", file=name, member=n,
                                        ratio=info.file_size // max(info.compress_size, 1),
                                        mb=info.file_size // 1_000_000))
        total += info.file_size
        if total > allowed:
            raise BoundaryReadError(Msg("unpack.total", file=name, mb=allowed // 1_000_000,
                                        times=total // max(len(data), 1)))
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
                    raise BoundaryReadError(Msg("unpack.unsafe_path", file=name, member=shorten(info.filename)))
                try:
                    target.parent.mkdir(parents=True, exist_ok=True)
                    with zf.open(info) as src, open(target, "wb") as dst:
                        while chunk := src.read(1 << 20):
                            dst.write(chunk)
                except (IsADirectoryError, NotADirectoryError, FileExistsError):  # 'a' and 'a/b.shp' both
                    raise BoundaryReadError(Msg("unpack.name_clash", file=name,
                                                member=shorten(info.filename))) from None
                except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError,
                        RuntimeError, struct.error):  # damaged data, bad CRC, unknown method, encrypted
                    raise BoundaryReadError(Msg("unpack.corrupt", file=name, member=shorten(info.filename))) from None
        found = sorted(str(p.relative_to(root)) for p in root.rglob("*")
                       if p.suffix.lower() in VECTOR_SUFFIXES and not p.name.startswith("."))
        if not found:
            nested = [i.filename for i in infos if PurePosixPath(i.filename).suffix.lower() in ARCHIVE_SUFFIXES]
            if nested:
                raise BoundaryReadError(Msg("unpack.nested", file=name, member=shorten(nested[0])))
            raise BoundaryReadError(Msg("unpack.no_vector", file=name))
        pick = layer_file if layer_file in found else found[0]
        return root / pick, found
    if suffix in (".geojson", ".json", ".gpkg"):
        path = workdir / ("upload" + suffix)
        path.write_bytes(data)
        return path, [path.name]
    if suffix == ".shp":
        raise BoundaryReadError(Msg("unpack.bare_shp", file=name))
    raise BoundaryReadError(Msg("unpack.bad_format", file=name, suffix=shorten(suffix, 20)))
