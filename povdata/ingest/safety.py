"""Limits on what an uploaded indicator file may make the server do, in one place: upload
size, rows, columns and cells, and the zip container of a workbook (members, unpacked size,
compression ratio, merged cells) checked before any XML is parsed.  Each limit is named with
its reason; a file beyond one is refused with a Vietnamese message naming the file.
"""
from __future__ import annotations

import io
import re
import zipfile

from povdata.messages import Msg, Num
from povdata.validate import shorten


class ImportFileError(ValueError):
    """A file that cannot be read at all; the message (Vietnamese) names the file."""


DEFAULT_MAX_UPLOAD_MB = 200


def max_upload_bytes() -> int:
    """Largest file accepted: ``POVDASH_MAX_UPLOAD_MB`` megabytes (default 200)."""
    import os
    try:
        mb = float(os.environ.get("POVDASH_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB))
    except ValueError:
        mb = DEFAULT_MAX_UPLOAD_MB
    return int(mb * 1_000_000)
#: Limits of the table read from one file.  A national file (~10,000 communes × 11 years
#: ≈ 120,000 rows of 10-20 columns) is well inside them; above them a file is refused
#: while it is read, before it fills the memory.
MAX_ROWS = 300_000
MAX_COLUMNS = 500
MAX_CELLS = 6_000_000
#: A workbook is a zip: refused before openpyxl opens it when it would unpack to more than
#: :data:`MAX_XLSX_UNZIPPED` bytes, when a part of more than :data:`ZIP_BOMB_MIN_BYTES` is
#: compressed more than :data:`MAX_ZIP_RATIO` times (real sheets: 5-30 times; a zip bomb:
#: ~1000), or when its merged cells cover more than :data:`MAX_MERGED_CELLS` cells (openpyxl
#: makes an object for every merged cell).
MAX_XLSX_UNZIPPED = 1_000_000_000
MAX_ZIP_RATIO = 100
ZIP_BOMB_MIN_BYTES = 20_000_000
MAX_ZIP_MEMBERS = 10_000
MAX_MERGED_CELLS = 1_000_000
#: The workbook's shared strings (every distinct text) and each worksheet's XML, unpacked: above
#: these openpyxl needs gigabytes (300 MB of shared strings took 1,7 GB and 89 s); a national
#: table has a few MB of shared strings and ~100 MB of sheet XML.
MAX_SHARED_STRINGS_BYTES = 50_000_000
MAX_SHEET_XML_BYTES = 400_000_000
#: A CSV line longer than this, or with more separators than :data:`MAX_CSV_SEPARATORS`, is
#: refused on the raw bytes before anything is decoded or parsed (one 30 MB line of 10 million
#: columns took 2,7 GB and 211 s to refuse after parsing).
MAX_CSV_LINE_BYTES = 1_000_000
MAX_CSV_SEPARATORS = 4 * 500
#: Worksheets larger than this (unpacked XML) are read in openpyxl's streaming mode.
FULL_MODE_SHEET_BYTES = 20_000_000


def _vn_int(n: int) -> str:
    """12345 → '12.345' (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def size_problem(size: int, name: str) -> str | None:
    """The refusal message for a file above :func:`max_upload_bytes`, else None."""
    limit = max_upload_bytes()
    if size > limit:
        return Msg("safety.too_large", file=name, size=Num(size / 1_000_000, 1), limit=Num(limit / 1_000_000, 0))
    return None


_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Office 97-2003 files and password-protected .xlsx


_MERGE_RE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=\"\$?([A-Z]{1,3})\$?(\d{1,7})(?::\$?([A-Z]{1,3})\$?(\d{1,7}))?\"")


def _column_number(letters: bytes | str) -> int:
    n = 0
    for ch in letters.decode() if isinstance(letters, bytes) else letters:
        n = n * 26 + ord(ch) - 64
    return n


def _merged_area(zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> tuple[int, str]:
    """Cells covered by a worksheet's merged ranges (read as a stream), and the largest range."""
    total, largest, largest_ref = 0, 0, ""
    tail = b""
    with zf.open(info) as src:
        while chunk := src.read(1 << 20):
            buf = tail + chunk
            last = 0
            for m in _MERGE_RE.finditer(buf):
                c0, r0, c1, r1 = m.groups()
                if c1 is None:
                    area = 1
                else:
                    area = (abs(int(r1) - int(r0)) + 1) * (abs(_column_number(c1) - _column_number(c0)) + 1)
                total += area
                if area > largest:
                    largest, largest_ref = area, f"{c0.decode()}{int(r0)}" + (f":{c1.decode()}{int(r1)}" if c1 else "")
                last = m.end()
            tail = buf[max(last, len(buf) - 200):]
    return total, largest_ref


def check_workbook(data: bytes, name: str) -> tuple[bool, list[str]]:
    """Checks of an ``.xlsx``/``.xlsm`` made before openpyxl opens it (no part is unpacked
    but the merged-cell list of the worksheets): what the file really is (a password-protected
    or 97-2003 workbook, a PDF, an OpenDocument file, a damaged or truncated zip), a zip bomb,
    a merged range too large to load.  Returns (read in streaming mode, warnings about the
    file); raises :class:`ImportFileError` with the reason."""
    if data.startswith(_OLE_MAGIC):
        if "EncryptedPackage".encode("utf-16-le") in data:
            raise ImportFileError(Msg("safety.password_workbook", file=name))
        raise ImportFileError(Msg("safety.old_office", file=name))
    if data.startswith(b"%PDF"):
        raise ImportFileError(Msg("safety.pdf", file=name))
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        what = Msg("safety.truncated") if data.startswith(b"PK") else Msg("safety.not_xlsx")
        raise ImportFileError(Msg("safety.unreadable", file=name, what=what)) from None
    with zf:
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ImportFileError(Msg("safety.too_many_parts", file=name, n=Num(len(infos), 0),
                                      limit=Num(MAX_ZIP_MEMBERS, 0)))
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise ImportFileError(Msg("safety.password_zip", file=name))
            total += info.file_size
            if info.file_size > ZIP_BOMB_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise ImportFileError(Msg("safety.zip_ratio", file=name, part=shorten(info.filename, 60),
                                          ratio=Num(info.file_size // max(info.compress_size, 1), 0),
                                          mb=Num(info.file_size // 1_000_000, 0)))
        if total > MAX_XLSX_UNZIPPED:
            raise ImportFileError(Msg("safety.unzipped_too_large", file=name, mb=Num(total // 1_000_000, 0),
                                      limit=Num(MAX_XLSX_UNZIPPED // 1_000_000, 0)))
        names = {i.filename.lower(): i for i in infos}
        for n, info in names.items():
            if n.endswith("sharedstrings.xml") and info.file_size > MAX_SHARED_STRINGS_BYTES:
                raise ImportFileError(Msg("safety.shared_strings", file=name, mb=Num(info.file_size // 1_000_000, 0),
                                          limit=Num(MAX_SHARED_STRINGS_BYTES // 1_000_000, 0)))
            if n.startswith("xl/worksheets/") and n.endswith(".xml") and info.file_size > MAX_SHEET_XML_BYTES:
                raise ImportFileError(Msg("safety.sheet_too_large", file=name, sheet=shorten(info.filename, 60),
                                          mb=Num(info.file_size // 1_000_000, 0),
                                          limit=Num(MAX_SHEET_XML_BYTES // 1_000_000, 0)))
        if not any(n.endswith("workbook.xml") for n in names):
            if "xl/workbook.bin" in names:
                what = Msg("safety.xlsb")
            elif "mimetype" in names and b"opendocument" in zf.read(names["mimetype"])[:200]:
                what = Msg("safety.ods")
            elif "word/document.xml" in names:
                what = Msg("safety.word")
            else:
                what = Msg("safety.no_workbook")
            raise ImportFileError(Msg("safety.unreadable", file=name, what=what))
        sheets = [i for n, i in names.items() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        streaming = sum(i.file_size for i in sheets) > FULL_MODE_SHEET_BYTES
        if not streaming:  # full mode keeps merged cells, one object per merged cell
            covered, ref = 0, ""
            for info in sheets:
                area, big = _merged_area(zf, info)
                covered += area
                ref = ref or big
                if covered > MAX_MERGED_CELLS:
                    raise ImportFileError(Msg("safety.merged_cells", file=name, ref=shorten(big or ref, 40),
                                              limit=Num(MAX_MERGED_CELLS, 0)))
        warnings: list[str] = []
        if any(n.endswith("vbaproject.bin") for n in names):
            warnings.append(Msg("safety.macros"))
        if any(n.startswith("xl/externallinks/") for n in names):
            warnings.append(Msg("safety.external_links"))
    return streaming, warnings


def _too_big(name: str, what: str) -> ImportFileError:
    return ImportFileError(Msg("safety.too_big", file=name, what=what))


# ---- boundary files (zip, GeoJSON, GeoPackage, shapefile) -------------------------------------
BOUNDARY_MAX_ZIP_MEMBERS = 2_000
BOUNDARY_MAX_UNZIPPED_BYTES = 1_000_000_000
#: …and, whatever the member sizes, at most this many times the upload, or 64 MB for a small one
#: (shapefiles compress 2-20 times: a 1 MB zip of eleven 95 MB members is refused)
BOUNDARY_MAX_TOTAL_RATIO = 50
BOUNDARY_MIN_UNZIPPED_ALLOWANCE = 64_000_000
#: features and geometry bytes a boundary file may hold (all 10,035 communes of the country
#: before 2025 are ~10,000 features and ~100 MB of detailed geometry)
MAX_FEATURES = 200_000
MAX_GEOMETRY_BYTES = 400_000_000
#: GDAL holds ~20 times a GeoJSON's size in memory while reading it: 60 MB is ~1.2 GB.
MAX_GEOJSON_BYTES = 60_000_000
#: A member of more than :data:`BOUNDARY_ZIP_BOMB_MIN_BYTES` compressed more than
#: :data:`BOUNDARY_MAX_ZIP_RATIO` times is a zip bomb (shapefiles compress 2-20 times; a run of
#: zeros ~1000 times).
BOUNDARY_MAX_ZIP_RATIO = 100
BOUNDARY_ZIP_BOMB_MIN_BYTES = 100_000_000


def check_csv_bytes(data: bytes, name: str) -> None:
    """A CSV's raw bytes before decoding: no line longer than :data:`MAX_CSV_LINE_BYTES`, none
    with more than :data:`MAX_CSV_SEPARATORS` separators (',' ';' or tab); refused with the line."""
    start = 0
    line = 1
    n = len(data)
    while start < n:
        end = data.find(b"\n", start)
        end = n if end < 0 else end
        if end - start > MAX_CSV_LINE_BYTES:
            raise ImportFileError(Msg("safety.csv_line", file=name, line=line, kb=Num((end - start) // 1000, 0),
                                      limit=Num(MAX_CSV_LINE_BYTES // 1000, 0)))
        chunk = data[start:end]
        for sep in (b",", b";", b"\t"):
            if chunk.count(sep) > MAX_CSV_SEPARATORS:
                raise ImportFileError(Msg("safety.csv_separators", file=name, line=line,
                                          limit=Num(MAX_CSV_SEPARATORS, 0)))
        start = end + 1
        line += 1
