"""Exported tables open safely in a spreadsheet (no formula injection) with diacritics intact."""
from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from povdata.export import defuse, to_csv_bytes, to_xlsx_bytes


@pytest.mark.parametrize("cell, expected", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1+1", "'+1+1"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("Huyện Bình Gia", "Huyện Bình Gia"), (12.5, 12.5), (-3, -3),
])
def test_defuse(cell, expected):
    assert defuse(cell) == expected


def test_csv_and_xlsx_are_safe_and_vietnamese():
    df = pd.DataFrame({"Đơn vị": ["=cmd|' /C calc'!A0", "Huyện Đình Lập"], "Tỷ lệ hộ nghèo (%)": [-1.5, 3.1]})
    csv = to_csv_bytes(df)
    assert csv.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads UTF-8
    text = csv.decode("utf-8-sig")
    assert "'=cmd" in text and "Huyện Đình Lập" in text and "-1.5" in text
    ws = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df))).active
    assert ws["A2"].value.startswith("'=") and ws["A2"].data_type == "s"
    assert ws["B2"].value == -1.5 and ws["A1"].value == "Đơn vị"
