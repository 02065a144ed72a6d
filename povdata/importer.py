"""Importing indicator workbooks (XLSX) and CSV files: read, find the header, map the
columns, match the units to the registry, validate.

The steps, each a plain function the import page and ``python -m povdata import`` share:

1. :func:`read_sheet` — the file's cells as text, no header assumed.  XLSX: merged cells
   are filled with their top-left value, percent-formatted cells become percent numbers
   (0.125 → 12.5).  CSV: UTF-8 (with or without BOM), Windows-1258, TCVN3 or VNI
   (:mod:`povdata.vnenc`), separator ``,`` ``;`` or tab.
2. :func:`find_header` — the header block (one row, or two when a group header such as
   "Hộ nghèo" is merged over "Số hộ" / "Tỷ lệ (%)"), skipping a title block above it and
   a row of column numbers ("(1) (2) (3)") below it; :func:`column_labels` joins the block
   into one label per column.
3. :func:`suggest_mapping` — column → field id (see :data:`FIELDS`); the user may change it.
4. :func:`extract_rows` — the data rows as text with spreadsheet row numbers; empty rows
   and the totals row ("Tổng cộng", "Toàn tỉnh") are left out; district rows written as
   group headings above their communes give those communes their district.
5. :func:`match_units` — each row to a registry unit: by code, else by name within its
   district (or province), with method and confidence; unmatched rows are listed.
6. :func:`check_indicators` — :func:`povdata.validate.validate_indicators` on the matched
   rows (blocking errors and warnings with file, row and column), plus unknown units
   (error), district totals against the sum of their communes, and units missing
   compared with the year before (warnings).

:func:`prepare_indicators` runs them all from the file's bytes and the user's choices.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from povdata.indicators import COUNT_COLUMNS, PUBLISHED_RATES
from povdata.names import fold, match_names, name_key
from povdata.unit_history import former_unit
from povdata.units import legacy_units, units_2025
from povdata.validate import HEADER_ALIASES, Problem, ValidationReport, shorten, validate_indicators
from povdata.vnenc import decode_bytes, detect_encoding

#: Field ids a column can be mapped to, with their Vietnamese labels ("" = not used).
FIELDS: dict[str, str] = {
    "": "(không dùng)",
    "unit_code": "Mã đơn vị",
    "unit_name": "Tên đơn vị",
    "parent_code": "Mã huyện (đơn vị cấp trên)",
    "parent_name": "Tên huyện (đơn vị cấp trên)",
    "year": "Năm",
    "standard": "Chuẩn nghèo",
    "households_total": "Tổng số hộ",
    "poor_households": "Số hộ nghèo",
    "poverty_rate_published": "Tỷ lệ hộ nghèo (%)",
    "poor_households_start": "Số hộ nghèo đầu năm",
    "near_poor_households": "Số hộ cận nghèo",
    "near_poor_rate_published": "Tỷ lệ hộ cận nghèo (%)",
    "escaped_poor": "Số hộ thoát nghèo",
    "newly_poor": "Số hộ nghèo phát sinh",
    "re_poor": "Số hộ tái nghèo",
    "ethnic_minority_poor": "Số hộ nghèo dân tộc thiểu số",
    "ethnic_minority_rate_published": "Tỷ lệ hộ nghèo dân tộc thiểu số (%)",
    "population": "Dân số",
}

#: Columns of the downloadable template, in order (headers as in the official summary
#: tables of the year-end review: totals, poor and near-poor households with their rates,
#: households that left poverty, newly poor, back in poverty, ethnic-minority poor).
TEMPLATE_FIELDS = ["unit_code", "unit_name", "parent_name", "year", "households_total", "poor_households",
                   "poverty_rate_published", "near_poor_households", "near_poor_rate_published",
                   "escaped_poor", "newly_poor", "re_poor", "ethnic_minority_poor"]

MAX_HEADER_SCAN = 40
MAX_HEADER_ROWS = 4  # the review forms have up to three merged header rows
from povdata.reform import REFORM_YEAR  # noqa: E402  reviews from end-2025 on are on the new communes

_TOTAL_RE = re.compile(r"^(tong cong|tong so|tong|cong|toan tinh|ca tinh)( (toan tinh|ca tinh|chung))?\W*$")
_COLNUM_RE = re.compile(r"^\(?[0-9a-z]{1,2}\)?$")
_YEAR_RE = re.compile(r"\bnam\s+(20\d\d)\b")
_DISTRICT_TYPES = ("huyen", "thanh pho", "thi xa", "quan", "h.", "tp.", "tp ", "tx.", "tx ", "q.")
_COMMUNE_TYPES = ("xa", "phuong", "thi tran")


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
#: Worksheets larger than this (unpacked XML) are read in openpyxl's streaming mode.
FULL_MODE_SHEET_BYTES = 20_000_000


def _vn_int(n: int) -> str:
    """12345 → '12.345' (Vietnamese thousands separator)."""
    return f"{n:,}".replace(",", ".")


def size_problem(size: int, name: str) -> str | None:
    """The refusal message for a file above :func:`max_upload_bytes`, else None."""
    limit = max_upload_bytes()
    if size > limit:
        return (f"Tệp {name}: dung lượng {size / 1_000_000:.1f} MB vượt giới hạn {limit / 1_000_000:.0f} MB; "
                "không nhập tệp này.")
    return None


# ---- 1. reading --------------------------------------------------------------
@dataclass
class Sheet:
    file: str
    cells: pd.DataFrame  # text cells; row i is spreadsheet row i + 1, column j is column letter j
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    encoding: str | None = None
    encoding_scores: dict[str, float] = field(default_factory=dict)
    separator: str | None = None
    warnings: list[str] = field(default_factory=list)  # about the file as a whole (macros, ...)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def column_letter(j: int) -> str:
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s


def _cell_text(v: object, number_format: str | None = None) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    if isinstance(v, (float, np.floating)):
        x = float(v)
        if number_format and "%" in number_format:
            x = x * 100
        if np.isfinite(x) and x == int(x) and abs(x) < 1e15:
            return str(int(x))
        return repr(round(x, 10))
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    return unicodedata.normalize("NFC", str(v)).strip()


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
            raise ImportFileError(f"Tệp {name}: bảng tính được đặt mật khẩu nên không đọc được; hãy mở tệp bằng "
                                  "Excel, bỏ mật khẩu (Tệp → Thông tin → Bảo vệ sổ làm việc) rồi lưu lại.")
        raise ImportFileError(f"Tệp {name}: là tệp Excel 97-2003 (.xls) hoặc tệp Office cũ, không phải .xlsx; "
                              "hãy mở bằng Excel và lưu thành .xlsx.")
    if data.startswith(b"%PDF"):
        raise ImportFileError(f"Tệp {name}: là tệp PDF, không phải bảng tính; hãy dùng tệp Excel (.xlsx) hoặc CSV.")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError):
        what = ("bị hỏng hoặc bị cắt cụt (có thể tải lên chưa hết)" if data.startswith(b"PK")
                else "không phải bảng tính Excel (.xlsx)")
        raise ImportFileError(f"Tệp {name}: không đọc được tệp: tệp {what}.") from None
    with zf:
        if len(infos) > MAX_ZIP_MEMBERS:
            raise ImportFileError(f"Tệp {name}: có {_vn_int(len(infos))} phần bên trong, quá giới hạn "
                                  f"{_vn_int(MAX_ZIP_MEMBERS)}; không mở tệp này.")
        total = 0
        for info in infos:
            if info.flag_bits & 0x1:
                raise ImportFileError(f"Tệp {name}: tệp nén có mật khẩu, không đọc được.")
            total += info.file_size
            if info.file_size > ZIP_BOMB_MIN_BYTES and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise ImportFileError(
                    f"Tệp {name}: phần '{shorten(info.filename, 60)}' nén {info.file_size // max(info.compress_size, 1)} "
                    f"lần ({_vn_int(info.file_size // 1_000_000)} MB khi giải nén), bất thường với một bảng tính "
                    "(có thể là bom nén); không mở tệp này.")
        if total > MAX_XLSX_UNZIPPED:
            raise ImportFileError(f"Tệp {name}: khi giải nén lớn {_vn_int(total // 1_000_000)} MB, quá giới hạn "
                                  f"{_vn_int(MAX_XLSX_UNZIPPED // 1_000_000)} MB (có thể là bom nén); không mở tệp này.")
        names = {i.filename.lower(): i for i in infos}
        if not any(n.endswith("workbook.xml") for n in names):
            if "xl/workbook.bin" in names:
                what = "là bảng tính nhị phân (.xlsb), chưa được hỗ trợ; hãy lưu thành .xlsx"
            elif "mimetype" in names and b"opendocument" in zf.read(names["mimetype"])[:200]:
                what = "là tệp OpenDocument (.ods); hãy mở và lưu thành .xlsx"
            elif "word/document.xml" in names:
                what = "là văn bản Word, không phải bảng tính"
            else:
                what = "không phải bảng tính Excel (.xlsx): thiếu phần xl/workbook.xml"
            raise ImportFileError(f"Tệp {name}: không đọc được tệp: tệp {what}.")
        sheets = [i for n, i in names.items() if n.startswith("xl/worksheets/") and n.endswith(".xml")]
        streaming = sum(i.file_size for i in sheets) > FULL_MODE_SHEET_BYTES
        if not streaming:  # full mode keeps merged cells, one object per merged cell
            covered, ref = 0, ""
            for info in sheets:
                area, big = _merged_area(zf, info)
                covered += area
                ref = ref or big
                if covered > MAX_MERGED_CELLS:
                    raise ImportFileError(f"Tệp {name}: các vùng ô gộp (như {shorten(big or ref, 40)}) phủ hơn "
                                          f"{_vn_int(MAX_MERGED_CELLS)} ô; hãy bỏ gộp các ô thừa rồi lưu lại.")
        warnings = []
        if any(n.endswith("vbaproject.bin") for n in names):
            warnings.append("tệp có macro (VBA); macro không được chạy, chỉ đọc giá trị đã lưu trong các ô.")
        if any(n.startswith("xl/externallinks/") for n in names):
            warnings.append("tệp có liên kết tới bảng tính khác; chỉ đọc giá trị đã lưu trong tệp, không mở liên kết.")
    return streaming, warnings


def _too_big(name: str, what: str) -> ImportFileError:
    return ImportFileError(f"Tệp {name}: {what}; hãy xóa các dòng, cột thừa hoặc chia tệp (ví dụ theo năm).")


def _grid_full(ws, name: str) -> list[list[str]]:
    """The cells of a worksheet loaded in full mode, as text, up to the last cell with a value.
    Built from the cells that exist (a lone cell at XFD1048576 must not make 17 billion)."""
    cells = ws._cells  # (row, column) → cell; only cells in the file (openpyxl 3.x)
    used = [(r, c) for (r, c), cell in cells.items() if cell.value is not None]
    if not used:
        return []
    far_r = max(used)
    far_c = max(used, key=lambda rc: rc[1])
    n_rows, n_cols = far_r[0], far_c[1]
    if n_rows > MAX_ROWS:
        raise _too_big(name, f"trang '{ws.title}' có dữ liệu ở ô {column_letter(far_r[1] - 1)}{far_r[0]}, quá giới "
                             f"hạn {_vn_int(MAX_ROWS)} dòng")
    if n_cols > MAX_COLUMNS:
        raise _too_big(name, f"trang '{ws.title}' có dữ liệu ở ô {column_letter(far_c[1] - 1)}{far_c[0]}, quá giới "
                             f"hạn {_vn_int(MAX_COLUMNS)} cột")
    if n_rows * n_cols > MAX_CELLS:
        raise _too_big(name, f"bảng {_vn_int(n_rows)} dòng × {_vn_int(n_cols)} cột vượt giới hạn "
                             f"{_vn_int(MAX_CELLS)} ô")
    grid = [[""] * n_cols for _ in range(n_rows)]
    for r, c in used:
        cell = cells[(r, c)]
        grid[r - 1][c - 1] = _cell_text(cell.value, getattr(cell, "number_format", None))
    for rng in ws.merged_cells.ranges:  # merged cells: the top-left value over the whole range
        if rng.min_row > n_rows or rng.min_col > n_cols:
            continue
        top = grid[rng.min_row - 1][rng.min_col - 1]
        for r in range(rng.min_row - 1, min(rng.max_row, n_rows)):
            for c in range(rng.min_col - 1, min(rng.max_col, n_cols)):
                grid[r][c] = top
    return grid


def _grid_streaming(ws, name: str) -> list[list[str]]:
    """The cells of a worksheet read in openpyxl's streaming mode (large files), as text;
    refused as soon as it passes the row, column or cell limits."""
    declared = ws.max_column if isinstance(ws.max_column, int) else None
    max_col = min(declared, MAX_COLUMNS + 1) if declared else None
    grid: list[list[str]] = []
    filled = width = 0
    for i, row in enumerate(ws.iter_rows(max_col=max_col)):
        texts = [_cell_text(c.value, getattr(c, "number_format", None)) for c in row]
        while texts and not texts[-1]:
            texts.pop()
        if not texts:
            grid.append([])
            continue
        if len(texts) > MAX_COLUMNS:
            raise _too_big(name, f"dòng {i + 1} có hơn {_vn_int(MAX_COLUMNS)} cột")
        filled += 1
        width = max(width, len(texts))
        if filled > MAX_ROWS:
            raise _too_big(name, f"có hơn {_vn_int(MAX_ROWS)} dòng số liệu")
        if filled * width > MAX_CELLS:
            raise _too_big(name, f"bảng vượt giới hạn {_vn_int(MAX_CELLS)} ô")
        grid.append(texts)
    while grid and not grid[-1]:
        grid.pop()
    return [r + [""] * (width - len(r)) for r in grid]


def _read_xlsx(data: bytes, name: str, sheet: str | None) -> Sheet:
    from openpyxl import load_workbook

    streaming, warnings = check_workbook(data, name)
    wb = load_workbook(io.BytesIO(data), read_only=streaming, data_only=True)
    try:
        sheets = [ws.title for ws in wb.worksheets]  # chart sheets hold no cells
        if not sheets:
            raise ImportFileError(f"Tệp {name}: không có trang tính nào chứa ô số liệu (chỉ có biểu đồ).")
        if sheet is None:
            sheet = sheets[0]
        if sheet not in sheets:
            raise ImportFileError(f"Tệp {name}: không có trang tính '{shorten(sheet, 60)}' "
                                  f"(có: {', '.join(shorten(s, 40) for s in sheets)}).")
        ws = wb[sheet]
        grid = _grid_streaming(ws, name) if streaming else _grid_full(ws, name)
    finally:
        wb.close()
    cells = pd.DataFrame(grid, dtype=object).fillna("") if grid else pd.DataFrame()
    return Sheet(name, cells.astype(str), sheet, sheets, warnings=warnings)


_VI_LETTERS = re.compile("[\u00c0-\u00fd\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1\u01af"
                         "\u01b0\u1ea0-\u1ef9]")
_NOT_VI = re.compile("[^\x00-\x7f\u00a0-\u00ff\u0102\u0103\u0110\u0111\u0128\u0129\u0168\u0169\u01a0\u01a1"
                     "\u01af\u01b0\u0300-\u0323\u1ea0-\u1ef9\u2000-\u206f\u20ab]")


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _is_utf8_vietnamese(text: str) -> bool:
    """Text decoded as UTF-8 that reads as Vietnamese (letters of the alphabet, nothing else)."""
    text = unicodedata.normalize("NFC", text)
    return bool(_VI_LETTERS.search(text)) and not _NOT_VI.search(text)


def utf8_conflict(data: bytes) -> tuple[int, int] | None:
    """(a line written in UTF-8, a line that is not UTF-8), 1-based, when a file mixes
    UTF-8 with a legacy encoding; None when it is all UTF-8 or has no UTF-8 letters."""
    try:
        data.decode("utf-8")
        return None
    except UnicodeDecodeError as exc:
        bad = exc.start
    bad_line_start = data.rfind(b"\n", 0, bad) + 1
    # valid UTF-8 up to there: a line before it written in UTF-8 Vietnamese (legacy bytes such as
    # TCVN3's 'ÈẮ', b'\xcc\xbe', can also form valid UTF-8 — U+033E — but not Vietnamese letters)
    start = 0
    for line in data[:bad_line_start].split(b"\n"):
        if not line.isascii() and _is_utf8_vietnamese(line.decode("utf-8")):
            return _line_of(data, start), _line_of(data, bad)
        start += len(line) + 1
    # legacy text first: a later line that decodes as UTF-8 Vietnamese letters
    pos = data.find(b"\n", bad)
    while pos != -1:
        nxt = data.find(b"\n", pos + 1)
        line = data[pos + 1: nxt if nxt != -1 else len(data)]
        if not line.isascii():
            try:
                text = line.decode("utf-8")
            except UnicodeDecodeError:
                pass
            else:
                if _is_utf8_vietnamese(text):
                    return _line_of(data, pos + 1), _line_of(data, bad)
        pos = nxt
    return None


def decode_csv_bytes(data: bytes, encoding: str | None = None) -> tuple[str, str, dict[str, float]]:
    """Text of a CSV file: the encoding given, or UTF-16 or UTF-8 with a byte-order mark,
    else UTF-8, else the legacy encoding whose words look most Vietnamese.  Returns (text,
    encoding, scores).  Raises :class:`ImportFileError` (Vietnamese, naming the line) for
    bytes that are not in the encoding given, and for a file that mixes UTF-8 lines with
    lines in another encoding; never another exception."""
    if encoding:
        if encoding == "utf-16":
            try:
                return unicodedata.normalize("NFC", data.decode("utf-16")), encoding, {}
            except UnicodeDecodeError:
                raise ImportFileError("không phải văn bản UTF-16; hãy chọn bảng mã khác.") from None
        try:
            return decode_bytes(data, encoding), encoding, {}
        except UnicodeDecodeError as exc:
            body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
            raise ImportFileError(f"dòng {_line_of(body, exc.start)} không phải văn bản UTF-8; "
                                  "hãy chọn bảng mã khác.") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            return unicodedata.normalize("NFC", data.decode("utf-16")), "utf-16", {}
        except UnicodeDecodeError:
            raise ImportFileError("tệp đánh dấu là UTF-16 nhưng nội dung bị hỏng; hãy lưu lại thành CSV UTF-8.") from None
    mixed = utf8_conflict(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    if mixed or data.startswith(b"\xef\xbb\xbf"):
        if mixed:
            good, bad = mixed
            raise ImportFileError(f"tệp trộn nhiều bảng mã: dòng {good} là UTF-8 nhưng dòng {bad} không phải UTF-8 "
                                  "(có thể là TCVN3, VNI hoặc Windows-1258); hãy lưu lại cả tệp bằng một bảng mã "
                                  "(UTF-8).")
        try:
            return decode_bytes(data, "utf-8"), "utf-8", {}
        except UnicodeDecodeError as exc:  # a BOM, then legacy bytes only
            raise ImportFileError(f"tệp đánh dấu là UTF-8 nhưng dòng {_line_of(data[3:], exc.start)} không phải "
                                  "UTF-8; hãy chọn bảng mã khác.") from None
    lines = data.split(b"\n", 2000)[:2000]  # the head is enough to tell
    enc, scores = detect_encoding(lines)
    try:
        return decode_bytes(data, enc), enc, scores
    except UnicodeDecodeError:  # a late line is not UTF-8 after all (and no line is UTF-8 letters)
        return decode_bytes(data, "cp1258"), "cp1258", scores


def _sniff_separator(text: str) -> str:
    head = [ln[:10_000] for ln in text[:200_000].splitlines()[:50] if ln.strip()]  # (no cell over csv's limit)
    best, best_score = ",", -1.0
    for sep in (",", ";", "\t", "|"):
        counts = [len(next(csv.reader([ln], delimiter=sep))) - 1 for ln in head]
        if not counts:
            continue
        common = max(set(counts), key=counts.count)
        score = common * counts.count(common)
        if common > 0 and score > best_score:
            best, best_score = sep, score
    return best


def _read_csv(data: bytes, name: str, encoding: str | None) -> Sheet:
    if data.startswith((b"PK\x03\x04", _OLE_MAGIC)):  # a workbook renamed .csv
        raise ImportFileError(f"Tệp {name}: là bảng tính Excel (hoặc tệp nén) bị đổi đuôi thành .csv; hãy tải lên "
                              "tệp với đuôi .xlsx, hoặc mở bằng Excel và lưu thành CSV.")
    if data.count(b"\n") > 2 * MAX_ROWS:  # refused before anything is decoded
        raise _too_big(name, f"có hơn {_vn_int(MAX_ROWS)} dòng")
    try:
        text, enc, scores = decode_csv_bytes(data, encoding)
    except ImportFileError as exc:
        raise ImportFileError(f"Tệp {name}: {exc}") from None
    if "\x00" in text:
        raise ImportFileError(f"Tệp {name}: không phải tệp văn bản CSV (có ký tự nhị phân).")
    sep = _sniff_separator(text)
    # newline="": lines may end in \r\n, \n or a lone \r (old Mac "CSV (Macintosh)")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    grid: list[list[str]] = []
    width = filled = 0
    open_quote = None  # the first row whose cell runs over several lines
    try:
        for row in reader:
            cells = [c.strip() for c in row]
            while cells and not cells[-1]:
                cells.pop()
            n = len(grid) + 1
            if len(cells) > MAX_COLUMNS:
                raise _too_big(name, f"dòng {n} có {_vn_int(len(cells))} cột, quá giới hạn {_vn_int(MAX_COLUMNS)} "
                                     "(kiểm tra dấu phân cách)")
            if cells:
                filled += 1
                width = max(width, len(cells))
                if open_quote is None and any("\n" in c or "\r" in c for c in cells):
                    open_quote = n
            if filled > MAX_ROWS:
                raise _too_big(name, f"có hơn {_vn_int(MAX_ROWS)} dòng số liệu")
            if filled * width > MAX_CELLS:
                raise _too_big(name, f"bảng vượt giới hạn {_vn_int(MAX_CELLS)} ô")
            grid.append(cells)
    except csv.Error:  # the one error the lenient reader raises: a cell above its size limit
        raise ImportFileError(f"Tệp {name}: dòng {len(grid) + 1} có một ô dài hơn {_vn_int(csv.field_size_limit())} "
                              "ký tự; tệp không đúng dạng bảng CSV.") from None
    if open_quote is not None and text.count('"') % 2:
        raise ImportFileError(f"Tệp {name}: dòng {open_quote} có dấu ngoặc kép (\") mở mà không đóng, các dòng sau "
                              "bị gộp vào một ô; hãy xóa hoặc đóng dấu ngoặc kép đó.")
    while grid and not grid[-1]:
        grid.pop()
    grid = [r + [""] * (width - len(r)) for r in grid]
    cells = pd.DataFrame(grid, dtype=object) if grid else pd.DataFrame()
    return Sheet(name, cells.astype(str), None, [], enc, scores, sep)


def read_sheet(data: bytes, name: str, sheet: str | None = None, encoding: str | None = None) -> Sheet:
    """The cells of an ``.xlsx``/``.xlsm`` or ``.csv`` file as text (no header assumed).

    Raises :class:`ImportFileError` (Vietnamese message naming the file) for another
    format or a file that cannot be read; never another exception.
    """
    suffix = name.lower().rsplit(".", 1)[-1] if "." in name else ""
    try:
        if suffix in ("xlsx", "xlsm"):
            return _read_xlsx(data, name, sheet)
        if suffix in ("csv", "txt"):
            return _read_csv(data, name, encoding)
    except ImportFileError:
        raise
    except MemoryError:
        raise ImportFileError(f"Tệp {name}: tệp quá lớn để đọc; hãy chia tệp (ví dụ theo năm).") from None
    except Exception as exc:  # openpyxl, zipfile, XML parsers raise many kinds for a broken file
        what = ("nội dung XML bên trong bị hỏng hoặc không an toàn (ví dụ khai báo thực thể XML)"
                if "ParseError" in type(exc).__name__ or "XMLSyntax" in type(exc).__name__ else
                "có thể tệp bị hỏng hoặc không đúng định dạng")
        raise ImportFileError(f"Tệp {name}: không đọc được tệp, {what}.") from None
    raise ImportFileError(f"Tệp {name}: định dạng '.{shorten(suffix, 20)}' không được hỗ trợ (chỉ .xlsx, .csv).")


# ---- 2. header ---------------------------------------------------------------
_ALIAS_KEYS = {name_key(a, drop_type=False): cid for cid, aliases in HEADER_ALIASES.items() for a in aliases}
_FIELD_KEYS = {name_key(label, drop_type=False): f for f, label in FIELDS.items() if f}
_NUMBER_RE = re.compile(r"^-?[\d.,\s\u00a0%]+$")


def _guess_field(label: str) -> str:
    """Field id for a column label ('' when none): exact aliases first, then key words."""
    k = name_key(label, drop_type=False)
    if not k:
        return ""
    if _START_OF_YEAR.search(fold(label)):  # the count at the start of the year, never the poor count
        poor = "ngheo" in k and "canngheo" not in k and not any(w in k for w in ("thoat", "phatsinh", "tai"))
        return "poor_households_start" if poor and "tyle" not in k and "%" not in label else ""
    if k in _ALIAS_KEYS:
        return _ALIAS_KEYS[k]
    if k in _FIELD_KEYS:  # the template's own headers
        return _FIELD_KEYS[k]
    rate = "tyle" in k or "%" in label
    if k in ("stt", "tt", "sott", "ghichu"):
        return ""
    if "canngheo" in k:  # near-poor flows and ethnic-minority near-poor counts are not stored
        if _near_poor_detail(k):
            return ""
        return "near_poor_rate_published" if rate else "near_poor_households"
    if "thoatngheo" in k:
        return "escaped_poor"
    if "phatsinh" in k:
        return "newly_poor"
    if "taingheo" in k:
        return "re_poor"
    if "ngheo" in k and ("dantoc" in k or "dtts" in k):
        return "ethnic_minority_rate_published" if rate else "ethnic_minority_poor"
    if "chuanngheo" in k:
        return "standard"
    if "ngheo" in k:
        return "poverty_rate_published" if rate else "poor_households"
    if "tongsoho" in k or k in ("soho", "tongho", "sohodancu"):
        return "households_total"
    if "dansonhankhau" in k or k in ("danso", "sonhankhau"):
        return "population"
    if k.startswith("ma") and ("huyen" in k or "capTren".lower() in k):
        return "parent_code"
    if k.startswith("ma") and len(k) <= 16:
        return "unit_code"
    if k in ("nam", "namrasoat") or k.startswith("namrasoat"):
        return "year"
    if k in ("huyen", "tenhuyen", "huyenthanhpho", "huyenthixathanhpho", "donvicaptren"):
        return "parent_name"
    if k.startswith("ten") or "donvi" in k or k in ("xa", "xaphuongthitran", "phuongxa", "diaban"):
        return "unit_name"
    return ""


def _near_poor_detail(k: str) -> bool:
    """A near-poor measure the store does not keep (its flows, its ethnic-minority count)."""
    return "canngheo" in k and any(w in k for w in ("thoat", "taicanngheo", "phatsinh", "dantoc", "dtts"))


@dataclass(frozen=True)
class Header:
    first: int  # first header row (0-based)
    last: int   # last header row (0-based)
    data_start: int  # first data row (0-based)


def _row_score(row: list[str]) -> int:
    """Distinct fields the row's cells name (a merged title repeated over the row counts once)."""
    return len({f for c in set(row) if c and not _NUMBER_RE.match(c) for f in [_guess_field(c)] if f})


def _is_colnum_row(row: list[str]) -> bool:
    vals = [c for c in row if c]
    return len(vals) >= 3 and all(_COLNUM_RE.match(fold(c).replace(" ", "")) for c in vals)


def find_header(cells: pd.DataFrame) -> Header:
    """The header block: the row (of the first :data:`MAX_HEADER_SCAN`) with most cells that
    look like known column names, plus the row above it when that is a group header (merged
    over two or more columns) and not a title spanning the whole table."""
    if cells.empty:
        return Header(0, 0, 1)
    grid = cells.head(MAX_HEADER_SCAN).values.tolist()
    scores = [_row_score(r) for r in grid]
    best = int(np.argmax(scores))
    first = best
    width = sum(1 for c in grid[best] if c)
    # group headers above (up to MAX_HEADER_ROWS in all, as on the review forms: "Kết quả rà
    # soát hộ nghèo" over "Hộ nghèo cuối năm" over "Số hộ"): some cells repeated over
    # neighbours (merged), not one title spanning the whole table
    while first > 0 and best - first + 1 < MAX_HEADER_ROWS:
        above = grid[first - 1]
        filled = [c for c in above if c]
        distinct = set(filled)
        if filled and len(distinct) >= 2 and len(filled) >= width // 2 and _row_score(above) >= 1 \
                and not any(_NUMBER_RE.match(c) for c in filled):
            first -= 1
        else:
            break
    # the best row is a group row and the rows below hold the leaves ('Số hộ', 'Tỷ lệ (%)'):
    # text only, not a row of column numbers, different from the row above somewhere, and
    # not a data row (no unit name or code in it)
    last = best
    while last + 1 < len(grid) and last - first + 1 < MAX_HEADER_ROWS:
        below = grid[last + 1]
        vals = [c for c in below if c]
        if vals and not any(_NUMBER_RE.match(c) for c in vals) and not _is_colnum_row(below) \
                and any(c and c != a for c, a in zip(below, grid[last])) \
                and not any(_type_of(c) for c in vals) and _row_score(below) >= 1:
            last += 1
        else:
            break
    return Header(first, last, _skip_colnums(grid, last + 1))


def _skip_colnums(grid: list[list[str]], i: int) -> int:
    while i < len(grid) and _is_colnum_row(grid[i]):
        i += 1
    return i


def column_labels(cells: pd.DataFrame, header: Header) -> list[str]:
    """One label per column: the header cells top to bottom, repeats dropped, joined by ' - '."""
    labels = []
    block = cells.iloc[header.first:header.last + 1]
    for j in range(cells.shape[1]):
        parts: list[str] = []
        for v in block.iloc[:, j]:
            v = re.sub(r"\s+", " ", str(v)).strip()
            if v and v not in parts:
                parts.append(v)
        labels.append(" - ".join(parts))
    return labels


#: words of a column holding the count at the start of the review year ('Số hộ nghèo đầu năm',
#: 'Hộ nghèo đầu kỳ'): the review forms put it beside the year-end count, which is the poor count
_START_OF_YEAR = re.compile(r"\bdau (nam|ky)\b")


def _is_rate_label(text: str) -> bool:
    f = fold(text)
    return "ty le" in f or "%" in text


#: leaves that say how a group is measured, not what ('Số hộ', 'Tỷ lệ (%)', 'Tổng số')
_GENERIC_LEAVES = {"soho", "tyle", "tylephantram", "tong", "tongso", "soluong", "sohogiadinh", "ho"}


def _composite_field(label: str) -> str:
    """Field of a 'group - … - leaf' label, read from the leaf up: the leaf says whether it is a
    count or a rate ('Số hộ', 'Tỷ lệ (%)'), the nearest part that names a measure says which
    ('Hộ nghèo cuối năm - Số hộ' → poor_households; 'Diễn biến trong năm - Số hộ thoát nghèo'
    → escaped_poor; 'Trong đó: hộ nghèo DTTS - Tỷ lệ (%)' → ethnic_minority_rate_published).
    A start-of-year column ('Hộ nghèo đầu năm - Số hộ', 'Hộ nghèo - Đầu kỳ - Số hộ') is the
    start-of-year count, never the poor count; its rate is not stored."""
    parts = [p for p in label.split(" - ") if p.strip()]
    if len(parts) < 2:
        return _guess_field(label)
    is_rate = _is_rate_label(parts[-1])
    start = any(_START_OF_YEAR.search(fold(p)) for p in parts)
    near = any("can ngheo" in fold(p) for p in parts)
    if any(_near_poor_detail(name_key(p, drop_type=False)) for p in parts):
        return ""
    for part in reversed(parts):
        if name_key(part, drop_type=False) in _GENERIC_LEAVES:
            continue
        g = _guess_field(part)
        if not g:
            continue
        if g in ("poor_households", "poverty_rate_published", "poor_households_start"):
            if near:
                return ""
            if start:
                return "" if is_rate else "poor_households_start"
            return "poverty_rate_published" if is_rate else "poor_households"
        if g in ("near_poor_households", "near_poor_rate_published"):
            if start:
                return ""
            return "near_poor_rate_published" if is_rate else "near_poor_households"
        if g in ("ethnic_minority_poor", "ethnic_minority_rate_published"):
            return "" if near else ("ethnic_minority_rate_published" if is_rate else "ethnic_minority_poor")
        if g in ("escaped_poor", "newly_poor", "re_poor"):
            return "" if is_rate or near else g
        return "" if is_rate and g in COUNT_COLUMNS else g
    return _guess_field(parts[-1])


def suggest_mapping(labels: list[str]) -> dict[int, str]:
    """Column index → field id for every column whose label is recognised; each field
    is given to one column only (the first)."""
    out: dict[int, str] = {}
    used: set[str] = set()
    for j, label in enumerate(labels):
        f = _composite_field(label) if label else ""
        if f and f not in used:
            out[j] = f
            used.add(f)
    if "parent_name" in used and "unit_name" not in used:  # a lone district-name column names the unit
        j = next(j for j, f in out.items() if f == "parent_name")
        out[j] = "unit_name"
    if "parent_code" in used and "unit_code" not in used:
        j = next(j for j, f in out.items() if f == "parent_code")
        out[j] = "unit_code"
    return out


def year_from_title(cells: pd.DataFrame, header: Header) -> int | None:
    """A year written in the title block ('... năm 2023'), when there is exactly one."""
    text = " ".join(str(v) for v in cells.iloc[:header.first].values.ravel() if v)
    years = {int(y) for y in _YEAR_RE.findall(fold(text))}
    return years.pop() if len(years) == 1 else None


# ---- 4. rows -----------------------------------------------------------------
def extract_rows(cells: pd.DataFrame, header: Header, mapping: dict[int, str], labels: list[str],
                 year: int | None = None) -> tuple[pd.DataFrame, list[Problem], dict[str, str], pd.DataFrame]:
    """The data rows as text, one column per mapped field, plus ``_row`` (the spreadsheet
    row number), ``_heading`` (the district heading above a commune row) and
    ``_in_section`` (the row of the section — 'I. Khu vực thành thị' — the row is under, 0
    for none).  The table ends above a form's signature block.

    Returns (table, notes, column names, subtotals) — ``notes`` are informational problems
    (rows left out); column names map field id → "D: label" for messages; ``subtotals``
    are the total and section rows left out (``_subtotal_kind`` ``total`` | ``section``), to
    be checked against their units (:func:`check_subtotals`).
    """
    data = cells.iloc[header.data_start:_table_end(cells, header)]
    cols = {f: j for j, f in mapping.items() if f}
    out = pd.DataFrame({f: data.iloc[:, j].astype(str).str.strip().to_numpy() for f, j in cols.items()})
    out["_row"] = np.arange(len(data)) + header.data_start + 1
    names = {f: f"{column_letter(j)}: {shorten(labels[j], 60) or FIELDS.get(f, f)}" for f, j in cols.items()}
    if year is not None and "year" not in out:
        out["year"] = str(year)
        names["year"] = "Năm"
    notes: list[Problem] = []
    value_cols = [f for f in out.columns if f in COUNT_COLUMNS or f in PUBLISHED_RATES]
    id_cols = [f for f in ("unit_code", "unit_name") if f in out]
    empty = (out[value_cols + id_cols] == "").all(axis=1) if value_cols + id_cols else pd.Series(True, index=out.index)
    name = out["unit_name"] if "unit_name" in out else pd.Series("", index=out.index, dtype=object)
    code = out["unit_code"] if "unit_code" in out else pd.Series("", index=out.index, dtype=object)
    uniq = {v: fold(v) for v in pd.unique(name)}  # a national file repeats each name once a year
    # (bool dtype even for no rows: an empty string column maps to an empty string column)
    totals = name.map(lambda s: bool(_TOTAL_RE.match(uniq[s]))).astype(bool) & (code == "").astype(bool)
    # a table of published rates with no household counts: its total row is the province's own
    # published figure (nothing to recompute it from), kept and matched to the province
    rates_only = not any(f in COUNT_COLUMNS for f in value_cols) and any(f in PUBLISHED_RATES for f in value_cols)
    out["_total"] = totals & rates_only
    for r in out.loc[totals & ~out["_total"], "_row"]:
        notes.append(Problem("", int(r), None, "dòng tổng cộng, không nhập (tổng được tính lại từ các đơn vị).",
                             "info"))
    for r in out.loc[out["_total"], "_row"]:
        notes.append(Problem("", int(r), None, "dòng toàn tỉnh: nhập là tỷ lệ công bố của tỉnh (bảng không có số "
                             "hộ để tính lại).", "info"))
    # section rows of the review forms ('I. Khu vực thành thị', 'II | Khu vực nông thôn'): their
    # subtotals are not units; they are kept aside and checked against the sum of their units
    stt_col = next((j for j, lab in enumerate(labels) if name_key(lab, drop_type=False) in ("stt", "tt", "sott")),
                   None)
    stt = (data.iloc[:, stt_col].astype(str).str.strip().to_numpy() if stt_col is not None
           else np.array([""] * len(data), dtype=object))
    section = np.array([bool(_SECTION_RE.match(fold(n))) or (bool(_ROMAN_RE.match(fold(st))) and
                                                               _type_of(n) is None and bool(n))
                        for n, st in zip(name.to_numpy(), stt)], dtype=bool) & (code == "").to_numpy()
    out["_section"] = np.where(section, name.to_numpy(), "")
    for r, n in zip(out.loc[section, "_row"], name[section]):
        notes.append(Problem("", int(r), None, f"dòng tổng của «{shorten(n, 40)}», không nhập như một đơn vị "
                             "(được đối chiếu với tổng các đơn vị của nó).", "info"))
    subtotal = (totals & ~out["_total"]) | pd.Series(section, index=out.index)
    out["_subtotal_kind"] = np.where(section, "section", np.where(totals & ~out["_total"], "total", ""))
    totals = totals & ~out["_total"]
    # a heading row: a district's name, no code, no values ('Huyện Cao Lộc' above its communes)
    no_values = (out[value_cols] == "").all(axis=1) if value_cols else pd.Series(True, index=out.index)
    heading = ((name != "") & (code == "") & no_values).astype(bool)
    heading &= name.map({v: _type_of(v) == "district" for v in pd.unique(name[heading])}).eq(True)
    current = ""
    heading_of = []
    for is_h, n in zip(heading.to_numpy(), name.to_numpy()):
        if is_h:
            current = n
        heading_of.append(current)
    out["_heading"] = heading_of
    # each unit row under the section row above it (None before the first section)
    current_section = 0
    sec_of = []
    for is_s, r in zip(section, out["_row"].to_numpy()):
        if is_s:
            current_section = int(r)
        sec_of.append(current_section)
    out["_in_section"] = sec_of
    keep = ~(empty | totals | heading | pd.Series(section, index=out.index))
    sums = out[subtotal.to_numpy()].reset_index(drop=True)
    return out[keep].reset_index(drop=True), notes, names, sums


#: words of the signature block under a form's table ("Người lập biểu", "TM. UBND huyện",
#: "(Ký tên, đóng dấu)", "Tràng Định, ngày 20 tháng 12 năm 2023"): the table ends above it
_FOOTER_RE = re.compile(r"^(nguoi lap( bieu)?|thu truong( don vi)?|chu tich|pho chu tich|giam doc|truong phong|"
                        r"tm\.? |kt\.? |\(ky|ky ten|xac nhan cua)|, ngay \S+ thang |^ngay \S+ thang \S+ nam ")
_SECTION_RE = re.compile(r"^(([ivx]+|[a-d])[.)]?\s+)?(khu vuc )?(thanh thi|nong thon)\b")
_ROMAN_RE = re.compile(r"^[ivx]+[.)]?$")


def _table_end(cells: pd.DataFrame, header: Header) -> int:
    """The row where the table ends: the first row of the signature block below the data
    (none: the sheet's end)."""
    grid = cells.iloc[header.data_start:].to_numpy()
    for k, row in enumerate(grid):
        if k and any(c and _FOOTER_RE.search(fold(str(c))) for c in row):
            return header.data_start + k
    return len(cells)


# ---- 5. matching -------------------------------------------------------------
NATIONAL = "00"  # the whole country: every province's units


def registry(province_code: str, era: str) -> pd.DataFrame:
    """Units of a province in one era (``legacy``: province, districts, communes before
    2025-07-01; ``2025``: province and communes after it); :data:`NATIONAL` for all."""
    from povdata.provinces import former_provinces, legacy_units_of

    code = None if province_code == NATIONAL else province_code
    if era == "legacy" and code is not None and former_provinces(code):
        return legacy_units_of(code)  # a province in force: all its former provinces' units
    return legacy_units(code) if era == "legacy" else units_2025(code)


def era_of_year(year: float | None, default: str = "legacy") -> str:
    """The unit list a review year is reported on: ``legacy`` before :data:`REFORM_YEAR`
    (the year-end 2025 review is the first on the communes of 1 July 2025), ``2025`` from it."""
    if year is None or pd.isna(year):
        return default
    return "legacy" if year < REFORM_YEAR else "2025"


def _type_of(name: str) -> str | None:
    f = fold(name)
    if f.startswith(_COMMUNE_TYPES) and not f.startswith("xa hoi"):
        return "commune"
    if f.startswith(_DISTRICT_TYPES):
        return "district"
    return None


MATCH_COLUMNS = ["_row", "input_code", "input_name", "parent", "level", "code", "matched_name", "method",
                 "score", "note", "era"]


def district_in_title(cells: pd.DataFrame, header: Header, province_code: str, era: str) -> str | None:
    """The district a form's title block names ("UBND HUYỆN TRÀNG ĐỊNH", "… của UBND huyện
    Tràng Định"), when it names exactly one of the province's districts: the communes of the
    form are looked for in it first."""
    if era != "legacy" or header.first == 0:
        return None
    text = " " + re.sub(r"\s+", " ", fold(" ".join(str(v) for v in cells.iloc[:header.first].values.ravel() if v))) + " "
    reg = registry(province_code, era)
    named = {c for c, n in zip(reg.loc[reg["level"] == "district", "code"], reg.loc[reg["level"] == "district", "name"])
             if f" {fold(n)} " in text or f" {fold(n)}," in text or f" {fold(n)})" in text}
    return named.pop() if len(named) == 1 else None


def match_units(table: pd.DataFrame, province_code: str, era: str,
                aliases: dict[str, str | None] | None = None, district: str | None = None) -> pd.DataFrame:
    """Match each row to a unit of the province's registry for ``era``.

    By code first (a code of the list, or the province's own code); else by name
    (:func:`povdata.names.match_names`): a name with a district type ('Huyện …') among
    the districts, others among the communes of their district (the row's parent column
    or the district heading above it) and, failing that, of the whole province.

    Returns one row per input row: :data:`MATCH_COLUMNS`; ``method`` is ``code``,
    ``name``, ``similar`` (fuzzy, ``score`` < 1) or ``none``.
    """
    reg = registry(province_code, era)
    districts = reg[reg["level"] == "district"]
    communes = reg[reg["level"] == "commune"]
    reg_name = dict(zip(reg["code"], reg["name"]))
    reg_level = dict(zip(reg["code"], reg["level"]))
    n = len(table)
    empty = [""] * n
    codes = table["unit_code"].map(_norm_code).tolist() if "unit_code" in table else empty
    names = [str(x or "") for x in table["unit_name"]] if "unit_name" in table else empty
    parent_names = table["parent_name"].tolist() if "parent_name" in table else empty
    parent_codes = table["parent_code"].map(_norm_code).tolist() if "parent_code" in table else empty
    heading = table["_heading"].tolist() if "_heading" in table else empty
    # plain lists, filled row by row and framed once at the end
    R = {"code": [None] * n, "matched_name": [None] * n, "level": [None] * n, "method": ["none"] * n,
         "score": [0.0] * n, "note": [""] * n, "parent": [p or h for p, h in zip(parent_names, heading)]}

    def put(i: int, code: str, level: str, method: str, score: float, note: str = "") -> None:
        R["code"][i], R["matched_name"][i], R["level"][i] = code, reg_name[code], level
        R["method"][i], R["score"][i], R["note"][i] = method, float(score), note

    key_cache: dict[str, str] = {}

    def key(s: str) -> str:
        k = key_cache.get(s)
        if k is None:
            k = key_cache[s] = name_key(s)
        return k

    # by code
    for i, c in enumerate(codes):
        if c and c in reg_name:
            note = "tên khác với danh mục" if names[i] and key(names[i]) != key(reg_name[c]) else ""
            put(i, c, reg_level[c], "code", 1.0, note)
    # in file order: districts (by type, or by name where no parent is given) set the
    # district of the commune rows below them
    dist_codes = set(districts["code"])
    dist_key = {name_key(nm): c for c, nm in zip(districts["code"], districts["name"])}
    prov = reg[reg["level"] == "province"]
    prov_key = name_key(prov["name"].iloc[0]) if len(prov) == 1 else None
    ctx: str | None = district if district in set(districts["code"]) else None  # named in the title
    parent_of: dict[int, str | None] = {}
    old_provinces = set(reg.loc[reg["level"] == "province", "code"])
    for i in range(n):
        if R["method"][i] == "code":
            if R["level"][i] == "district":
                ctx = R["code"][i]
            continue
        nm = names[i]
        if not nm:
            R["note"][i] = "không có mã và tên đơn vị"
            continue
        if aliases and key(nm) in aliases and (aliases[key(nm)] or "") in reg_name:
            c = aliases[key(nm)]  # the user's own choice at an earlier import, shown as such
            put(i, c, reg_level[c], "remembered", 1.0, "đối chiếu đã chọn tay ở lần nhập trước")
            if reg_level[c] == "district":
                ctx = c
            continue
        if prov_key and key(nm) == prov_key and fold(nm).startswith("tinh "):
            put(i, prov["code"].iloc[0], "province", "name", 1.0)
            continue
        t = _type_of(nm)
        given = parent_codes[i] or R["parent"][i]
        if t == "district" or (t is None and key(nm) in dist_key and not given):
            m = match_names([nm], districts).iloc[0]
            if _has(m["code"]):
                put(i, m["code"], "district", m["method"], m["score"], m["note"])
                ctx = m["code"]
                continue
            gone = former_unit(old_provinces, nm, codes[i]) if era == "legacy" else None
            if gone is not None:  # a district abolished before 2025: said, left out, never merged silently
                R["method"][i], R["note"][i], R["level"][i] = "former", gone.reason(), "district"
                ctx = None
                continue
        pc, parent = parent_codes[i], R["parent"][i]
        if pc in dist_codes:
            pcode = pc
        elif parent:
            pcode = dist_key.get(key(parent))
            if pcode is None:
                got = match_names([parent], districts).iloc[0]["code"]
                pcode = got if _has(got) else None
        else:
            pcode = ctx
        if pcode and not R["parent"][i]:
            R["parent"][i] = reg_name[pcode]
        parent_of[i] = pcode
    # the total row of a rate table: the province (for a merged province, the former
    # province whose districts the other rows are in)
    total_rows = np.flatnonzero(table["_total"].to_numpy()) if "_total" in table else []
    if len(total_rows):
        provs = reg[reg["level"] == "province"]
        if len(provs) > 1:
            got = {c for c in R["code"] if c}
            owners = set(reg.loc[reg["code"].isin(got) & (reg["level"] != "province"), "province_code"])
            provs = provs[provs["code"].isin(owners)] if len(owners) == 1 else provs.iloc[0:0]
        for i in total_rows:
            parent_of.pop(i, None)
            R["parent"][i] = ""
            if len(provs) == 1:
                put(i, provs["code"].iloc[0], "province", "total", 1.0, "dòng toàn tỉnh")
            else:
                R["note"][i] = "dòng toàn tỉnh, không xác định được tỉnh cũ"
    # communes, grouped by parent
    groups: dict[str | None, list[int]] = {}
    for i, p in parent_of.items():
        groups.setdefault(p, []).append(i)
    for p, idx in groups.items():
        within = p is not None and era == "legacy"
        cand = communes[communes["parent_code"] == p] if within else communes
        m = match_names([names[i] for i in idx], cand).to_dict("records")
        if within:  # not in the district given: exact names elsewhere in the province
            retry = [k for k, r in enumerate(m) if not _has(r["code"])]
            if retry:
                m2 = match_names([names[idx[k]] for k in retry], communes).to_dict("records")
                for k, r2 in zip(retry, m2):
                    if _has(r2["code"]) and r2["method"] == "name":
                        m[k] = r2 | {"note": "không thuộc huyện ghi trong tệp; khớp trong toàn tỉnh",
                                     "score": min(float(r2["score"]), 0.8)}
        for k, i in enumerate(idx):
            r = m[k]
            if _has(r["code"]):
                put(i, r["code"], "commune", r["method"], r["score"], r["note"])
            else:
                R["note"][i] = r["note"] or "không tìm thấy trong danh mục"
    # a code that is given but is no unit of the list: never re-matched by name silently; the
    # name's candidate is offered for review, the row blocks until the user decides
    for i, c in enumerate(codes):
        if c and c not in reg_name and R["method"][i] not in ("former", "total"):
            cand = f"; theo tên có thể là {R['matched_name'][i]} ({R['code'][i]})" if R["code"][i] else ""
            R["code"][i], R["matched_name"][i], R["level"][i] = None, None, None
            R["method"][i], R["score"][i] = "none", 0.0
            R["note"][i] = f"mã '{shorten(c, 20)}' không có trong danh mục{cand}"
    res = pd.DataFrame({"_row": table["_row"].to_numpy() if "_row" in table else np.arange(n) + 2,
                        "input_code": codes, "input_name": names, **R, "era": era})
    return res[MATCH_COLUMNS]


def _has(code: object) -> bool:
    return isinstance(code, str) and bool(code)


def _norm_code(text: object) -> str:
    from povdata.validate import normalize_code
    t = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text)
    return normalize_code(t) if t.strip() else ""


def apply_overrides(matches: pd.DataFrame, overrides: dict[int, str | None], province_code: str,
                    era: str) -> pd.DataFrame:
    """Matches with the user's choices: ``{spreadsheet row: code}`` (None or '' = leave the
    row unmatched).  Overridden rows get method ``manual``."""
    if not overrides:
        return matches
    reg = registry(province_code, era).set_index("code")
    out = matches.copy()
    for row, code in overrides.items():
        hit = out.index[out["_row"] == row]
        if not len(hit):
            continue
        i = hit[0]
        if code and code in reg.index:
            out.loc[i, ["code", "matched_name", "level", "method", "score", "note"]] = (
                code, reg.at[code, "name"], reg.at[code, "level"], "manual", 1.0, "chọn tay")
        else:
            out.loc[i, ["code", "matched_name", "level", "method", "score", "note"]] = (
                None, None, None, "skip", 0.0, "bỏ, không nhập")
    return out


def unit_choices(province_code: str, era: str) -> pd.DataFrame:
    """Units a row can be matched to by hand: ``code``, ``level``, ``label`` ('Xã Hòa Bình —
    Huyện Văn Quan (06100)'), districts first, then communes by district."""
    reg = registry(province_code, era)
    names = reg.set_index("code")["name"]
    reg = reg.assign(parent_name=reg["parent_code"].map(names).fillna(""))
    order = reg["level"].map({"province": 0, "district": 1, "commune": 2})
    reg = reg.assign(_o=order).sort_values(["_o", "parent_code", "name"], na_position="first")
    label = [f"{n} — {p} ({c})" if p else f"{n} ({c})" for n, p, c in zip(reg["name"], reg["parent_name"], reg["code"])]
    return pd.DataFrame({"code": reg["code"].to_numpy(), "level": reg["level"].to_numpy(), "label": label})


# ---- 6. validation -----------------------------------------------------------
def check_indicators(table: pd.DataFrame, matches: pd.DataFrame, file: str, names: dict[str, str],
                     known_codes: set[str], header_row: int,
                     previous: pd.DataFrame | None = None) -> ValidationReport:
    """Validate matched rows; the typed table (``level`` column added) when clean."""
    work = table.copy()
    work["unit_code"] = matches["code"].fillna("").astype(str).to_numpy()
    unmatched = matches["code"].isna() | (matches["code"].astype(str) == "")
    fields = [c for c in work.columns if c in ("unit_code", "year", "standard") or c in COUNT_COLUMNS
              or c in PUBLISHED_RATES]
    raw = work[fields].copy()
    col_label = {f: names.get(f, FIELDS.get(f, f)) for f in fields}
    if "unit_code" not in names:
        col_label["unit_code"] = names.get("unit_name", "Mã đơn vị")
    raw.columns = [col_label[f] for f in fields]
    mapping = {col_label[f]: f for f in fields}
    # unknown units are reported here, by name; the validator then sees only matched rows
    rep = ValidationReport(file)
    former = (matches["method"] == "former").to_numpy()
    for i in np.flatnonzero(unmatched.to_numpy() & former):
        m = matches.iloc[i]
        rep.problems.append(Problem(file, int(m["_row"]), col_label["unit_code"],
                                    f"dòng này không được nhập: {m['note']}. Nếu muốn ghép số liệu vào đơn vị kế "
                                    "thừa, chọn đơn vị trong bảng đối chiếu.", "warning"))
    for i in np.flatnonzero(unmatched.to_numpy() & (matches["method"] != "skip").to_numpy() & ~former):
        m = matches.iloc[i]
        what = shorten(" ".join(str(x) for x in (m["input_code"], m["input_name"]) if x))
        rep.problems.append(Problem(file, int(m["_row"]), col_label["unit_code"],
                                    f"không tìm thấy đơn vị '{what}' trong danh mục"
                                    + (f" ({m['note']})" if m["note"] and "không tìm thấy" not in m["note"] else "")
                                    + "; chọn đơn vị trong bảng đối chiếu hoặc sửa tệp."))
    keep = ~unmatched.to_numpy()
    sub = validate_indicators(raw[keep].reset_index(drop=True), file, known_codes, header_row=header_row,
                              rows=work["_row"].to_numpy()[keep], mapping=mapping)
    reform_rows = set(work["_row"][pd.to_numeric(work["year"], errors="coerce") == REFORM_YEAR])
    rep.problems.extend(p for p in sub.problems  # a code reused after the reform is another unit
                        if not (p.severity == "warning" and "so với năm trước" in p.message and p.row in reform_rows))
    if rep.ok and sub.table is not None:
        t = sub.table
        levels = matches.loc[keep, "level"].to_numpy()
        t.insert(1, "level", levels)
        t["_row"] = work["_row"].to_numpy()[keep]
        rep.table = t
        _warn_district_sums(rep, names)
        _warn_missing_units(rep, previous)
        unit_name = dict(zip(matches.loc[keep, "code"], matches.loc[keep, "matched_name"]))
        _warn_balance(rep, names, unit_name)
    return rep


#: the year's flows: start − thoát nghèo + tái nghèo + phát sinh = year-end (the review forms' balance)
BALANCE_FIELDS = ["poor_households_start", "escaped_poor", "re_poor", "newly_poor", "poor_households"]


def _warn_balance(rep: ValidationReport, names: dict[str, str], unit_name: dict[str, str]) -> None:
    """Per unit: start − out + back + new against the year-end count; a mismatch is a warning
    naming the unit, the row and the four numbers."""
    from povdata.i18n import fmt_count as fmt_int

    t = rep.table
    if t is None or not set(BALANCE_FIELDS) <= set(t.columns):
        return
    start, out, back, new, end = (t[c].astype("Float64") for c in BALANCE_FIELDS)
    expected = start - out + back + new
    off = (expected != end) & expected.notna() & end.notna()
    for i in np.flatnonzero(off.fillna(False).to_numpy()):
        code = t["unit_code"].iloc[i]
        n = [int(v.iloc[i]) for v in (start, out, back, new, end)]
        rep.problems.append(Problem(
            rep.file, int(t["_row"].iloc[i]), names.get("poor_households", FIELDS["poor_households"]),
            f"{unit_name.get(code, code)} ({code}) năm {int(t['year'].iloc[i])}: số hộ nghèo cuối năm {fmt_int(n[4])} "
            f"khác đầu năm − thoát nghèo + tái nghèo + phát sinh = {fmt_int(n[0])} − {fmt_int(n[1])} + "
            f"{fmt_int(n[2])} + {fmt_int(n[3])} = {fmt_int(n[0] - n[1] + n[2] + n[3])}; kiểm tra lại dòng này.",
            "warning"))


def check_subtotals(rep: ValidationReport, subtotals: pd.DataFrame, table: pd.DataFrame,
                    names: dict[str, str]) -> None:
    """The total and section rows a form carries ('Tổng cộng', 'I. Khu vực thành thị') against
    the sum of their units' counts: a difference is a warning naming the row and both sums
    (the units are what is stored; a subtotal is never imported as a unit)."""
    from povdata.i18n import fmt_count as fmt_int
    from povdata.validate import _parse_count

    t = rep.table
    if t is None or subtotals is None or subtotals.empty:
        return
    by_row = t.set_index("_row")
    section_of = dict(zip(table["_row"], table["_in_section"])) if "_in_section" in table else {}
    for r in subtotals.to_dict("records"):
        members = [x for x in by_row.index if r["_subtotal_kind"] == "total" or section_of.get(x) == r["_row"]]
        if not members:
            continue
        sub = by_row.loc[members]
        lowest = max(sub["level"], key=lambda lv: {"province": 0, "district": 1, "commune": 2}.get(lv, 0))
        sub = sub[sub["level"] == lowest]
        label = r.get("unit_name") or "Tổng cộng"
        for col in [c for c in COUNT_COLUMNS if c in r and c in sub.columns]:
            try:
                stated = _parse_count(r[col])
            except ValueError:
                continue
            total = sub[col].sum(min_count=1)
            if stated is None or pd.isna(total) or sub[col].isna().any() or int(stated) == int(total):
                continue
            rep.problems.append(Problem(rep.file, int(r["_row"]), names.get(col, FIELDS.get(col, col)),
                                        f"dòng «{shorten(label, 40)}» ghi {fmt_int(int(stated))}, tổng {len(sub)} "
                                        f"đơn vị của nó là {fmt_int(int(total))} ({FIELDS.get(col, col).lower()}).",
                                        "warning"))


def _warn_district_sums(rep: ValidationReport, names: dict[str, str]) -> None:
    t = rep.table
    if t is None or "district" not in set(t["level"]) or "commune" not in set(t["level"]):
        return
    dist_of = legacy_units().set_index("code")["district_code"]
    com = t[t["level"] == "commune"].copy()
    com["district"] = com["unit_code"].map(dist_of)
    for col in [c for c in ("households_total", "poor_households", "near_poor_households") if c in t]:
        sums = com.groupby(["district", "year"])[col].sum(min_count=1)
        for _, r in t[t["level"] == "district"].iterrows():
            s = sums.get((r["unit_code"], r["year"]))
            if s is not None and pd.notna(s) and pd.notna(r[col]) and int(s) != int(r[col]):
                rep.problems.append(Problem(rep.file, int(r["_row"]), names.get(col, FIELDS[col]),
                                            f"{FIELDS[col].lower()} của huyện {r['unit_code']} năm {r['year']} "
                                            f"({int(r[col])}) khác tổng các xã trong tệp ({int(s)}).", "warning"))


def _warn_missing_units(rep: ValidationReport, previous: pd.DataFrame | None) -> None:
    t = rep.table
    if t is None:
        return
    com = t[t["level"] == "commune"]
    years = sorted(com["year"].unique())
    seen = {y: set(com.loc[com["year"] == y, "unit_code"]) for y in years}
    if previous is not None and len(previous) and years:
        prev_year = years[0] - 1
        seen.setdefault(prev_year, set(previous.loc[previous["year"] == prev_year, "unit_code"]))
    names = legacy_units().set_index("code")["name"]
    for y in years:
        before = seen.get(y - 1)
        if not before or era_of_year(y) != era_of_year(y - 1):  # across the reform the lists differ
            continue
        gone = sorted(before - seen[y])
        if gone:
            shown = ", ".join(f"{names.get(c, c)} ({c})" for c in gone[:10]) + (" …" if len(gone) > 10 else "")
            rep.problems.append(Problem(rep.file, None, None,
                                        f"năm {y} thiếu {len(gone)} đơn vị so với năm {y - 1}: {shown}.", "warning"))


def _check_partial(rep: ValidationReport, province_code: str, allow_partial: bool) -> None:
    """A year in which a level has some of its units but not all: refused unless confirmed
    (then a warning).  Parents are never computed from partial children either way
    (:func:`povdata.dataset.level_table`)."""
    from povdata.coverage import coverage
    from povdata.i18n import t as tr

    cov = coverage(rep.table, province_code)
    short = cov[cov["level"].isin(["district", "commune"]) & (cov["units"] < cov["expected"]) & (cov["units"] > 0)]
    whole = whole_districts(rep.table, province_code)
    for (year, dists) in whole.items():  # a district's form: every commune of the districts it covers
        short = short[~((short["year"] == year) & (short["level"] == "commune"))]
        names = ", ".join(dists.values())
        rep.problems.append(Problem(rep.file, None, None, f"năm {year}: đủ xã của {len(dists)} huyện ({names}); "
                                    "khi lưu, xã của các huyện này được thay, xã của các huyện khác giữ như phiên bản "
                                    "trước.", "info"))
    for r in short.itertuples():
        what = f"năm {r.year} chỉ có {r.units} / {r.expected} {tr(f'coverage.{r.level}')} (thiếu {r.missing})"
        if allow_partial:
            rep.problems.append(Problem(rep.file, None, None, f"số liệu một phần: {what}; cấp trên không được "
                                        "tính từ số liệu thiếu.", "warning"))
        else:
            rep.problems.append(Problem(rep.file, None, None, f"{what}. Nếu đây đúng là số liệu một phần, đánh dấu "
                                        "«Lưu số liệu một phần» (dòng lệnh: --partial); huyện và tỉnh sẽ không "
                                        "được tính từ số liệu thiếu."))
    if not rep.ok:
        rep.table = None


def whole_districts(table: pd.DataFrame, province_code: str) -> dict[int, dict[str, str]]:
    """Years (before the 2025 reform) in which the commune rows cover some districts in full
    and no district in part — a district's review form, or several — with those districts
    (code → name).  Such a file replaces the communes of its districts only."""
    if table is None or table.empty or "level" not in table:
        return {}
    out: dict[int, dict[str, str]] = {}
    for year, grp in table[table["level"] == "commune"].groupby("year"):
        if era_of_year(year) != "legacy":
            continue
        from povdata.unit_history import created_after
        reg = registry(province_code, "legacy")
        reg = reg[~reg["code"].isin(created_after(int(year)))]
        com = reg[reg["level"] == "commune"]
        dist_of = dict(zip(com["code"], com["parent_code"]))
        have = set(grp["unit_code"])
        touched = {dist_of.get(c) for c in have} - {None}
        expected = com[com["parent_code"].isin(touched)]
        all_districts = set(reg.loc[reg["level"] == "district", "code"])
        if touched and touched != all_districts and set(expected["code"]) <= have:
            names = dict(zip(reg["code"], reg["name"]))
            out[int(year)] = {d: names[d] for d in sorted(touched)}
    return out


# ---- all steps ---------------------------------------------------------------
@dataclass
class IndicatorImport:
    file: str
    sha256: str
    province_code: str
    sheet: Sheet
    header: Header
    labels: list[str]
    mapping: dict[int, str]
    year: int | None
    era: str
    table: pd.DataFrame
    matches: pd.DataFrame
    report: ValidationReport
    notes: list[Problem]

    @property
    def ok(self) -> bool:
        return self.report.ok and self.report.table is not None

    @property
    def indicators(self) -> pd.DataFrame | None:
        """The clean table's rows at every level (province, district, commune), in the
        store's tidy form."""
        if not self.ok:
            return None
        t = self.report.table
        return t.drop(columns=["level", "_row"]).reset_index(drop=True)


def _file_problem(file: str, message: str) -> ValidationReport:
    rep = ValidationReport(file)
    rep.problems.append(Problem(file, None, None, message))
    return rep


def prepare_indicators(data: bytes, name: str, province_code: str, *, sheet: str | None = None,
                       encoding: str | None = None, header_row: int | None = None,
                       mapping: dict[int, str] | None = None, year: int | None = None,
                       era: str | None = None, overrides: dict[int, str | None] | None = None,
                       previous: pd.DataFrame | None = None,
                       aliases: dict[str, dict[str, str | None]] | None = None,
                       allow_partial: bool = False) -> IndicatorImport:
    """Every step from a file's bytes to a validation report.

    Parameters are the user's choices, all optional: the sheet, the CSV encoding, the
    header row (1-based, its last row), the column mapping (column index → field id),
    the year for files without a year column, the unit list (``legacy`` | ``2025``;
    by default from the years, and for 2025 alone the list that matches more rows),
    and hand-made matches ``{spreadsheet row: code}``; ``aliases`` (era → name key → code)
    are the hand-made matches of earlier imports (:func:`povdata.store.unit_aliases`).
    ``allow_partial``: the user confirmed that a year with only some of a level's units
    (4 / 194 xã) is meant (page checkbox, ``--partial``); without it such a file is refused.
    Never raises for a bad file:
    the report then holds one error naming the file.
    """
    digest = sha256(data)
    try:
        sh = read_sheet(data, name, sheet, encoding)
    except ImportFileError as exc:
        empty = pd.DataFrame()
        msg = str(exc).removeprefix(f"Tệp {name}: ")
        return IndicatorImport(name, digest, province_code, Sheet(name, empty), Header(0, 0, 1), [], {}, year,
                               era or "legacy", empty, pd.DataFrame(columns=MATCH_COLUMNS),
                               _file_problem(name, msg), [])
    if sh.cells.empty:
        return IndicatorImport(name, digest, province_code, sh, Header(0, 0, 1), [], {}, year, era or "legacy",
                               pd.DataFrame(), pd.DataFrame(columns=MATCH_COLUMNS),
                               _file_problem(name, "tệp không có dữ liệu."), [])
    if province_code == NATIONAL and mapping is None and header_row is None:
        from povdata.national import is_national_table, read_national
        if is_national_table(sh.cells):  # the yearbook's layout: a rate per province, a column per year
            table, matches, rep, notes = read_national(sh.cells, name)
            rep.problems[:0] = [Problem(name, None, None, w, "warning") for w in sh.warnings]
            years = sorted({int(y) for y in table["year"]}) if len(table) else []
            return IndicatorImport(name, digest, province_code, sh, Header(0, 0, 1), [], {}, None,
                                   "legacy" if years and max(years) < REFORM_YEAR else "2025", table, matches, rep,
                                   notes)
    header = find_header(sh.cells)
    if header_row is not None:
        last = max(0, min(header_row - 1, len(sh.cells) - 1))
        header = Header(min(header.first, last) if header.last == last else last, last,
                        _skip_colnums(sh.cells.values.tolist(), last + 1))
    labels = column_labels(sh.cells, header)
    suggested = mapping is None
    mapping = suggest_mapping(labels) if mapping is None else {int(k): v for k, v in mapping.items() if v}
    if year is None and "year" not in mapping.values():
        year = year_from_title(sh.cells, header)
    table, notes, names, subtotals = extract_rows(sh.cells, header, mapping, labels, year)
    notes = [Problem(name, p.row, p.column, p.message, p.severity) for p in notes]
    rep = ValidationReport(name)
    rep.problems.extend(Problem(name, None, None, w, "warning") for w in sh.warnings)
    if suggested:  # a second column with the same meaning ('Số hộ nghèo' twice) is not used
        for j, label in enumerate(labels):
            f = _composite_field(label) if label else ""
            if f and j not in mapping and f in mapping.values():
                first = column_letter(next(k for k, v in mapping.items() if v == f))
                rep.problems.append(Problem(name, header.last + 1, f"{column_letter(j)}: {shorten(label, 60)}",
                                            f"cột {column_letter(j)} cũng là '{FIELDS[f]}' như cột {first}; chỉ dùng "
                                            f"cột {first} (đổi ở bước ghép cột nếu cần).", "warning"))
    missing = []
    if "unit_code" not in mapping.values() and "unit_name" not in mapping.values():
        missing.append("unit_code")
    if "year" not in table:
        missing.append("year")
    if not ({"households_total", "poor_households"} <= set(mapping.values())
            or "poverty_rate_published" in mapping.values()):
        missing += [f for f in ("households_total", "poor_households") if f not in mapping.values()]
    if "poor_households" in missing and "near_poor_households" in mapping.values():
        # the near-poor form of the review (hộ cận nghèo): it adds to a year's poor household figures,
        # it cannot stand alone (the poor count and rate are the series every screen shows)
        missing = [f for f in missing if f not in ("households_total", "poor_households")]
        rep.problems.append(Problem(name, header.last + 1, FIELDS["poor_households"],
                                    "đây là biểu hộ cận nghèo (không có cột số hộ nghèo): hãy nhập cùng biểu hộ "
                                    "nghèo của năm đó — chép cột «Hộ cận nghèo cuối năm» sang biểu hộ nghèo, hoặc "
                                    "một bảng có cả hai."))
    for f in missing:
        extra = " (chọn cột Năm, hoặc nhập năm cho cả tệp)" if f == "year" else ""
        rep.problems.append(Problem(name, header.last + 1, FIELDS[f],
                                    f"thiếu cột bắt buộc; hãy chọn cột tương ứng ở bước ghép cột{extra}."))
    if missing or table.empty or not rep.ok:
        if not missing and rep.ok:
            rep.problems.append(Problem(name, None, None, "không có dòng số liệu nào dưới dòng tiêu đề."))
        return IndicatorImport(name, digest, province_code, sh, header, labels, mapping, year, era or "legacy",
                               table, pd.DataFrame(columns=MATCH_COLUMNS), rep, notes)
    years = pd.to_numeric(table["year"], errors="coerce")
    # a year that is no year, or outside the range, is said as such (before matching: the unit
    # list depends on the year, and 'unit not found' would hide what is wrong)
    from povdata.validate import YEAR_MAX, YEAR_MIN
    bad_year = years.isna() | (years % 1 != 0) | (years < YEAR_MIN) | (years > YEAR_MAX)
    if bad_year.any():
        col = names.get("year", FIELDS["year"])
        for r, text, y in zip(table.loc[bad_year, "_row"], table.loc[bad_year, "year"], years[bad_year]):
            msg = (f"năm {int(y)} nằm ngoài khoảng {YEAR_MIN}-{YEAR_MAX}." if pd.notna(y) and y % 1 == 0
                   else f"năm '{shorten(text)}' không hợp lệ.")
            rep.problems.append(Problem(name, int(r), col, msg))
        return IndicatorImport(name, digest, province_code, sh, header, labels, mapping, year, era or "legacy",
                               table, pd.DataFrame(columns=MATCH_COLUMNS), rep, notes)
    row_era = years.map(era_of_year) if era is None else pd.Series(era, index=table.index)
    if era is not None and (years.map(era_of_year) != era).any():
        other = "trước" if era == "2025" else "từ"
        rep.problems.append(Problem(name, None, names.get("year", "Năm"),
                                    f"tệp có năm {other} {REFORM_YEAR} nhưng được đối chiếu với danh mục "
                                    f"{'trước' if era == 'legacy' else 'sau'} 1/7/2025.", "warning"))
    parts = []
    for e in ("legacy", "2025"):  # each row against the list of its year
        mask = (row_era == e).to_numpy()
        if mask.any():
            sub = table[mask].reset_index(drop=True)
            m = apply_overrides(match_units(sub, province_code, e, (aliases or {}).get(e),
                                            district_in_title(sh.cells, header, province_code, e)),
                                overrides or {}, province_code, e)
            parts.append(m.set_axis(np.flatnonzero(mask)))
    matches = pd.concat(parts).sort_index().reset_index(drop=True)
    eras = set(row_era)
    era = eras.pop() if len(eras) == 1 else "mixed"
    known = set().union(*(set(registry(province_code, e)["code"]) for e in set(row_era)))
    rep2 = check_indicators(table, matches, name, names, known, header.last + 1, previous)
    rep.problems.extend(rep2.problems)
    rep.table = rep2.table
    check_subtotals(rep, subtotals, table, names)
    if rep.ok and rep.table is not None:
        _check_partial(rep, province_code, allow_partial)
    return IndicatorImport(name, digest, province_code, sh, header, labels, mapping, year, era, table, matches,
                           rep, notes)


# ---- template ----------------------------------------------------------------
def template_frame(province_code: str, year: int, era: str | None = None) -> pd.DataFrame:
    """The template: one row per commune of the province (the list of ``year``: before or
    after 1 July 2025), Vietnamese headers, empty values."""
    reg = registry(province_code, era or era_of_year(year))
    com = reg[reg["level"] == "commune"].sort_values("code")
    parent = reg.set_index("code")["name"]
    df = pd.DataFrame({FIELDS[f]: "" for f in TEMPLATE_FIELDS}, index=range(len(com)))
    df[FIELDS["unit_code"]] = com["code"].to_numpy()
    df[FIELDS["unit_name"]] = com["name"].to_numpy()
    df[FIELDS["parent_name"]] = com["parent_code"].map(parent).fillna("").to_numpy()
    df[FIELDS["year"]] = year
    return df


def template_xlsx(province_code: str, year: int, era: str | None = None) -> bytes:
    """The template as a workbook: codes kept as text, a header row, frozen panes."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    df = template_frame(province_code, year, era)
    wb = Workbook()
    ws = wb.active
    ws.title = "So lieu"
    ws.append(list(df.columns))
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in df.itertuples(index=False):
        ws.append(list(row))
    for c in ws["A"][1:]:
        c.number_format = "@"
    ws.freeze_panes = "C2"
    for j, col in enumerate(df.columns):
        ws.column_dimensions[column_letter(j)].width = max(12, min(40, len(col) + 4))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def template_csv(province_code: str, year: int, era: str | None = None) -> bytes:
    from povdata.export import to_csv_bytes
    return to_csv_bytes(template_frame(province_code, year, era))


# ---- saving ------------------------------------------------------------------
def save_import(store, province_code: str, indicators: "IndicatorImport | None" = None,
                boundaries=None, created_by: str | None = None, note: str = "", user=None,
                keep_other_years: bool = True):
    """Store a clean indicator import and/or boundary import as one new version.

    Refuses (``ValueError`` with the Vietnamese reason) anything whose report has errors,
    so a rejected file never reaches the store.  A district boundary file keeps the
    previous version's communes (or the demo's approximate ones)."""
    from geo.importing import build_layers
    from povdata.store import import_version, latest_version, layer_sources, load_layers

    if user is not None:  # before any work: a viewer's attempt stops here
        from povdata.auth import check_scope, require
        require(user, "import")
        check_scope(user, province_code)
    if indicators is None and boundaries is None:
        raise ValueError("Chưa có tệp nào để lưu.")
    for imp in (indicators, boundaries):
        if imp is not None and not imp.ok:
            raise ValueError(f"Tệp {imp.file} còn lỗi, chưa thể lưu.")
    era = indicators.era if indicators is not None else boundaries.era
    layers = sources = None
    if boundaries is not None:
        prev = latest_version(store, province_code)
        fallback = load_layers(store, prev.id) if prev is not None else _demo_layers(province_code)
        prev_sources = layer_sources(store, prev.id) if prev is not None else \
            {k: ("ranh giới gần đúng (minh họa)", True) for k in fallback}
        layers = build_layers(boundaries.gdf, boundaries.matches, province_code, boundaries.era, boundaries.level,
                              fallback)
        made = {"province", boundaries.level if boundaries.era == "legacy" else "commune_2025"}
        if boundaries.era == "legacy" and boundaries.level == "commune":
            made.add("district")
        sources = {k: ((boundaries.file, False) if k in made else prev_sources.get(k, ("", True))) for k in layers}
    remember = []
    if indicators is not None:  # the user's hand-made matches, for the next import of the same names
        hand = indicators.matches[indicators.matches["method"].isin(["manual", "skip"])]
        remember = [(e, name_key(n), c if isinstance(c, str) and c else None)
                    for e, n, c in zip(hand["era"], hand["input_name"], hand["code"]) if n and name_key(n)]
    return import_version(
        store, province_code, aliases=remember,
        indicators=indicators.indicators if indicators is not None else None,
        layers=layers, layer_sources=sources,
        source_file=indicators.file if indicators is not None else "",
        sha256=indicators.sha256 if indicators is not None else "",
        boundary_file=boundaries.file if boundaries is not None else "",
        boundary_sha256=boundaries.sha256 if boundaries is not None else "",
        created_by=created_by, note=note, era=era, user=user, keep_other_years=keep_other_years,
        replace_districts={y: set(d) for y, d in whole_districts(indicators.report.table, province_code).items()}
        if indicators is not None else None)


def _demo_layers(province_code: str) -> dict:
    from geo.read import read_layers
    from povdata.dataset import demo_dir
    path = demo_dir(province_code) / "boundaries.gpkg"
    return read_layers(path) if path.exists() else {}
