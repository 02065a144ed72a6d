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


def to_xlsx_bytes(df: pd.DataFrame, sheet: str = "Bang") -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        safe_table(df).to_excel(xw, index=False, sheet_name=sheet[:31])
    return buf.getvalue()
