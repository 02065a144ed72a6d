"""Table export (CSV, XLSX) that spreadsheets open safely.

Text cells starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return are
prefixed with an apostrophe so no spreadsheet evaluates them as formulas (OWASP
CSV-injection guidance); numbers stay numbers.
"""
from __future__ import annotations

import io

import pandas as pd

_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def defuse(value: object) -> object:
    if isinstance(value, str) and value.startswith(_DANGEROUS):
        return "'" + value
    return value


def safe_table(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(defuse)
    out.columns = [defuse(str(c)) for c in out.columns]
    return out


def to_csv_bytes(df: pd.DataFrame) -> bytes:
    """UTF-8 with BOM so that Excel shows Vietnamese diacritics correctly."""
    return safe_table(df).to_csv(index=False).encode("utf-8-sig")


def _xml_safe(value: object) -> object:
    """Control characters XML cannot hold (a tab or newline can) as U+FFFD: openpyxl refuses
    them, and a name quoted from an uploaded file may carry one."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
    return ILLEGAL_CHARACTERS_RE.sub("\ufffd", value) if isinstance(value, str) else value


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "Bang") -> bytes:
    out = safe_table(df)
    for c in out.columns:
        if out[c].dtype == object or pd.api.types.is_string_dtype(out[c]):
            out[c] = out[c].map(_xml_safe)
    out.columns = [_xml_safe(c) for c in out.columns]
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        out.to_excel(xw, index=False, sheet_name=sheet[:31])
    return buf.getvalue()
