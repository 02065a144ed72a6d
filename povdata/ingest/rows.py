"""Step 4: the data rows as text with their spreadsheet row numbers.

Empty rows, the totals row ("Tổng cộng"), the review forms' section rows ("I. Khu vực thành
thị") and signature block are left out of the units; district headings give the communes
below them their district; the subtotals are returned apart to be checked.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from povdata.messages import Msg
from povdata.indicators import COUNT_COLUMNS, PUBLISHED_RATES
from povdata.names import fold, name_key
from povdata.validate import Problem, shorten
from povdata.ingest.sheet import column_letter
from povdata.ingest.header import FIELDS, Header, _TOTAL_RE, _type_of


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
        names["year"] = FIELDS["year"]
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
        notes.append(Problem("", int(r), None, Msg("rows.total_skipped"), "info"))
    for r in out.loc[out["_total"], "_row"]:
        notes.append(Problem("", int(r), None, Msg("rows.province_rate_row"), "info"))
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
        notes.append(Problem("", int(r), None, Msg("rows.section_row", name=shorten(n, 40)), "info"))
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
