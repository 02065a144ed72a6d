"""Step 1 of an indicator import: a file's cells as text, no header assumed.

XLSX: merged cells are filled with their top-left value, percent-formatted cells become
percent numbers (0.125 → 12.5).  CSV: UTF-8 (with or without BOM), Windows-1258, TCVN3 or
VNI (:mod:`povdata.vnenc`), separator ``,`` ``;`` or tab.
"""
from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np
import pandas as pd

from povdata.messages import Msg, Num
from povdata.validate import shorten
from povdata.vnenc import decode_bytes, detect_encoding
from povdata.ingest.safety import (MAX_CELLS, MAX_COLUMNS, MAX_ROWS, _OLE_MAGIC, ImportFileError, _too_big,
                                   check_csv_bytes, check_workbook)


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
        raise _too_big(name, Msg("sheet.cell_beyond_rows", sheet=ws.title, cell=f"{column_letter(far_r[1] - 1)}{far_r[0]}",
                                 limit=Num(MAX_ROWS, 0)))
    if n_cols > MAX_COLUMNS:
        raise _too_big(name, Msg("sheet.cell_beyond_columns", sheet=ws.title,
                                 cell=f"{column_letter(far_c[1] - 1)}{far_c[0]}", limit=Num(MAX_COLUMNS, 0)))
    if n_rows * n_cols > MAX_CELLS:
        raise _too_big(name, Msg("sheet.grid_too_large", rows=Num(n_rows, 0), columns=Num(n_cols, 0),
                                 limit=Num(MAX_CELLS, 0)))
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
            raise _too_big(name, Msg("sheet.row_too_wide", row=i + 1, limit=Num(MAX_COLUMNS, 0)))
        filled += 1
        width = max(width, len(texts))
        if filled > MAX_ROWS:
            raise _too_big(name, Msg("sheet.too_many_data_rows", limit=Num(MAX_ROWS, 0)))
        if filled * width > MAX_CELLS:
            raise _too_big(name, Msg("sheet.too_many_cells", limit=Num(MAX_CELLS, 0)))
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
            raise ImportFileError(Msg("sheet.no_sheet", file=name))
        if sheet is None:
            sheet = sheets[0]
        if sheet not in sheets:
            raise ImportFileError(Msg("sheet.unknown_sheet", file=name, sheet=shorten(sheet, 60),
                                      sheets=", ".join(shorten(s, 40) for s in sheets)))
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
                raise ImportFileError(Msg("sheet.not_utf16")) from None
        try:
            return decode_bytes(data, encoding), encoding, {}
        except UnicodeDecodeError as exc:
            body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
            raise ImportFileError(Msg("sheet.not_utf8", line=_line_of(body, exc.start))) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text"
        try:
            return unicodedata.normalize("NFC", data.decode("utf-16")), "utf-16", {}
        except UnicodeDecodeError:
            raise ImportFileError(Msg("sheet.bad_utf16")) from None
    mixed = utf8_conflict(data[3:] if data.startswith(b"\xef\xbb\xbf") else data)
    if mixed or data.startswith(b"\xef\xbb\xbf"):
        if mixed:
            good, bad = mixed
            raise ImportFileError(Msg("sheet.mixed_encodings", good=good, bad=bad))
        try:
            return decode_bytes(data, "utf-8"), "utf-8", {}
        except UnicodeDecodeError as exc:  # a BOM, then legacy bytes only
            raise ImportFileError(Msg("sheet.bom_not_utf8", line=_line_of(data[3:], exc.start))) from None
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
        raise ImportFileError(Msg("sheet.workbook_as_csv", file=name))
    if data.count(b"\n") > 2 * MAX_ROWS:  # refused before anything is decoded
        raise _too_big(name, Msg("sheet.too_many_lines", limit=Num(MAX_ROWS, 0)))
    check_csv_bytes(data, name)  # line length and separators, on the raw bytes
    try:
        text, enc, scores = decode_csv_bytes(data, encoding)
    except ImportFileError as exc:
        raise ImportFileError(Msg("sheet.file_reason", file=name, reason=exc.args[0] if exc.args else str(exc))) from None
    if "\x00" in text:
        raise ImportFileError(Msg("sheet.binary_csv", file=name))
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
                raise _too_big(name, Msg("sheet.line_too_wide", line=n, n=Num(len(cells), 0),
                                         limit=Num(MAX_COLUMNS, 0)))
            if cells:
                filled += 1
                width = max(width, len(cells))
                if open_quote is None and any("\n" in c or "\r" in c for c in cells):
                    open_quote = n
            if filled > MAX_ROWS:
                raise _too_big(name, Msg("sheet.too_many_data_rows", limit=Num(MAX_ROWS, 0)))
            if filled * width > MAX_CELLS:
                raise _too_big(name, Msg("sheet.too_many_cells", limit=Num(MAX_CELLS, 0)))
            grid.append(cells)
    except csv.Error:  # the one error the lenient reader raises: a cell above its size limit
        raise ImportFileError(Msg("sheet.cell_too_long", file=name, line=len(grid) + 1,
                                  limit=Num(csv.field_size_limit(), 0))) from None
    if open_quote is not None and text.count('"') % 2:
        raise ImportFileError(Msg("sheet.open_quote", file=name, line=open_quote))
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
        raise ImportFileError(Msg("sheet.out_of_memory", file=name)) from None
    except Exception as exc:  # openpyxl, zipfile, XML parsers raise many kinds for a broken file
        what = (Msg("sheet.bad_xml") if "ParseError" in type(exc).__name__ or "XMLSyntax" in type(exc).__name__
                else Msg("sheet.maybe_damaged"))
        raise ImportFileError(Msg("sheet.unreadable", file=name, what=what)) from None
    raise ImportFileError(Msg("sheet.bad_format", file=name, suffix=shorten(suffix, 20)))
