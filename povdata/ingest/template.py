"""The downloadable template: one row per commune of the province (the unit list of the
year), the review summary's headers in Vietnamese, empty values.
"""
from __future__ import annotations

import io

import pandas as pd

from povdata.ingest.sheet import column_letter
from povdata.ingest.header import FIELDS, TEMPLATE_FIELDS
from povdata.ingest.match import era_of_year, registry


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
