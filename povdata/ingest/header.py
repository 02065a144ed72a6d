"""Steps 2-3: the header block and the column mapping.

:func:`find_header` finds the header block (one to :data:`MAX_HEADER_ROWS` rows: the review
forms merge up to three), skipping a title block above it and a row of column numbers below
it; :func:`column_labels` joins the block into one label per column ('Kết quả rà soát hộ
nghèo - Hộ nghèo cuối năm - Số hộ'); :func:`suggest_mapping` maps columns to field ids
(:data:`FIELDS`), reading a label from its leaf up (:func:`_composite_field`).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from collections.abc import Mapping

import numpy as np
import pandas as pd

from povdata.indicators import COUNT_COLUMNS, INDICATORS
from povdata.messages import Msg
from povdata.names import fold, name_key
from povdata.registry import Live, LiveMap
from povdata.validate import HEADER_ALIASES


#: Columns that are not indicators, in the template's order.
ID_FIELDS = ('unit_code', 'unit_name', 'parent_code', 'parent_name', 'year', 'standard')

#: The template's first columns, as in the official summary tables of the year-end review (totals,
#: poor and near-poor households with their rates, the year's flows, ethnic-minority poor); the
#: registry's other template columns follow in registry order.
_TEMPLATE_FIRST = ("households_total", "poor_households", "poverty_rate_published", "near_poor_households",
                   "near_poor_rate_published", "escaped_poor", "newly_poor", "re_poor", "ethnic_minority_poor")


def _fields() -> dict[str, Msg]:
    from povdata.registry import INDICATORS
    out = {f: Msg(f"field.{f or 'unused'}") for f in ('', *ID_FIELDS)}  # labels: povdata/locales [field]
    out.update({i.id: Msg(f"indicator_label.{i.id}") for i in INDICATORS.values() if i.stored})
    return out


def _template_fields() -> list[str]:
    from povdata.registry import template_fields
    wanted = template_fields()
    return (["unit_code", "unit_name", "parent_name", "year"] + [f for f in _TEMPLATE_FIRST if f in wanted]
            + [f for f in wanted if f not in _TEMPLATE_FIRST])


#: Field ids a column can be mapped to, with their labels (``Msg``: Vietnamese text, said in the UI's
#: language by the pages; "" = not used): the id columns and every stored registry indicator.
FIELDS: Mapping[str, Msg] = LiveMap(_fields)

#: Columns of the downloadable template, in order (the registry's ``template`` indicators).
TEMPLATE_FIELDS = Live(_template_fields)


MAX_HEADER_SCAN = 40


MAX_HEADER_ROWS = 4  # the review forms have up to three merged header rows


_TOTAL_RE = re.compile(r"^(tong cong|tong so|tong|cong|toan tinh|ca tinh)( (toan tinh|ca tinh|chung))?\W*$")


_COLNUM_RE = re.compile(r"^\(?[0-9a-z]{1,2}\)?$")


_YEAR_RE = re.compile(r"\bnam\s+(20\d\d)\b")


_DISTRICT_TYPES = ("huyen", "thanh pho", "thi xa", "quan", "h.", "tp.", "tp ", "tx.", "tx ", "q.")


_COMMUNE_TYPES = ("xa", "phuong", "thi tran")


_ALIAS_KEYS: Mapping[str, str] = LiveMap(lambda: {name_key(a, drop_type=False): cid
                                                  for cid, aliases in HEADER_ALIASES.items() for a in aliases})


_FIELD_KEYS: Mapping[str, str] = LiveMap(lambda: {name_key(label, drop_type=False): f
                                                  for f, label in FIELDS.items() if f})


def _keyword_field(k: str) -> str:
    """The registry indicator whose keywords a header key holds ('' when none)."""
    from povdata.registry import INDICATORS
    for ind in INDICATORS.values():
        if ind.keywords and not any(x in k for x in ind.exclude) \
                and any(all(w in k for w in words) for words in ind.keywords):
            return ind.id
    return ""


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
    if "canngheo" in k and (g := _keyword_field(k.replace("canngheo", ""))):  # the near-poor's deprivations
        near = g.replace("deprived_", "deprived_near_", 1) if g.startswith("deprived_") else ""
        return "" if rate or near not in INDICATORS else near
    if (g := _keyword_field(k)):  # deprivations, outputs, ethnic-minority households
        return "" if rate and not INDICATORS[g].is_percent else g
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
        if INDICATORS[g].supplementary if g in INDICATORS else False:  # deprivations and outputs: counts
            if near and g.startswith("deprived_") and not g.startswith("deprived_near_"):
                g = g.replace("deprived_", "deprived_near_", 1)  # under a near-poor group: the near-poor's
                return "" if is_rate or g not in INDICATORS else g
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


def _type_of(name: str) -> str | None:
    f = fold(name)
    if f.startswith(_COMMUNE_TYPES) and not f.startswith("xa hoi"):
        return "commune"
    if f.startswith(_DISTRICT_TYPES):
        return "district"
    return None
