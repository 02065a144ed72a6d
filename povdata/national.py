"""National tables: a rate per province (and per region, and for the whole country), one
column per year — the statistical yearbook's "Tỷ lệ hộ nghèo phân theo địa phương".

Such a table has a title block, blank rows, the years only in the header ("2016", "Sơ bộ
2023", "Prel. 2023"), region and national rows mixed with the provinces, and names with
double spaces.  Rows are matched to **provinces only** (never to a city or a commune of
the same name: 'Lạng Sơn' is the province, not its capital), region and national rows are
recognised (:mod:`povdata.regions`) and stored as units of their own, under the data key
``00`` (the whole country).  :func:`povdata.importer.prepare_indicators` sends a national
file with year columns here, so the page, ``validate`` and ``import`` read it one way.
"""
from __future__ import annotations

import re

import numpy as np
import pandas as pd

from povdata.names import fold, match_names
from povdata.messages import Msg, with_messages
from povdata.regions import match_region
from povdata.validate import Problem, ValidationReport, shorten

_YEAR_CELL = re.compile(r"^(?:(?:so bo|sb|prel\.?|uoc tinh|uoc|du kien)\s*)?((?:19|20)\d\d)\s*(?:\(\*?\))?\*?$")
MAX_HEADER_SCAN = 40


def year_of_header(text: str) -> int | None:
    """'2023', 'Sơ bộ 2023', 'Prel. 2023' → 2023; anything else → None."""
    m = _YEAR_CELL.match(fold(str(text)).strip())
    return int(m.group(1)) if m else None


def find_year_header(grid: list[list[str]]) -> tuple[int, dict[int, int]] | None:
    """(row index, {column: year}) of the first row with two or more year cells."""
    for i, row in enumerate(grid[:MAX_HEADER_SCAN]):
        years = {j: y for j, v in enumerate(row) if v and (y := year_of_header(v)) is not None}
        # a header row holds years and labels only: a data row (a code, counts that happen to read
        # like two years) is never taken for the yearbook's header
        other_numbers = any(v and j not in years and re.fullmatch(r"[\d.,\s%-]+", str(v).strip())
                            for j, v in enumerate(row))
        if len(years) >= 2 and len(set(years.values())) == len(years) and not other_numbers:
            return i, years
    return None


def _indicator_of(title: str) -> str:
    f = fold(title)
    return "near_poor_rate_published" if "can ngheo" in f and "ho ngheo" not in f.replace("can ngheo", "") \
        else "poverty_rate_published"


def _provinces(year: int) -> pd.DataFrame:
    from povdata.units import legacy_units, units_2025
    u = legacy_units() if year < 2025 else units_2025()
    return u[u["level"] == "province"][["code", "name", "short_name"]].reset_index(drop=True)


def read_national(cells: pd.DataFrame, file: str) -> tuple[pd.DataFrame, pd.DataFrame, ValidationReport, list[Problem]]:
    """The tidy table (``unit_code``, ``year``, ``standard``, rate), the matches (one row
    per spreadsheet row), the report and informational notes."""
    from povdata.ingest.match import MATCH_COLUMNS
    from povdata.ingest.sheet import column_letter
    from povdata.standards import default_standard_for_year
    from povdata.validate import _parse_rate

    rep = ValidationReport(file)
    grid = cells.values.tolist()
    found = find_year_header(grid)
    if found is None:
        rep.problems.append(Problem(file, None, None, Msg("national.no_header")))
        return pd.DataFrame(), pd.DataFrame(columns=MATCH_COLUMNS), rep, []
    hi, years = found
    title = " ".join(str(v) for row in grid[:hi] for v in row if v)
    field = _indicator_of(title)
    below = grid[hi + 1:]
    text_cols = [j for j in range(cells.shape[1]) if j not in years]
    name_col = max(text_cols, key=lambda j: sum(1 for r in below if j < len(r) and r[j]
                                               and _parse_rate_safe(r[j]) is None), default=0)
    notes: list[Problem] = []
    records, match_rows = [], []
    provs = {y: _provinces(y) for y in set(years.values())}
    for k, row in enumerate(below):
        r = hi + 2 + k  # spreadsheet row number
        name = re.sub(r"\s+", " ", str(row[name_col] if name_col < len(row) else "")).strip()
        values = {y: str(row[j]).strip() if j < len(row) else "" for j, y in years.items()}
        if not name and not any(values.values()):
            continue
        if not any(v for v in values.values() if v not in ("-", "..", "…")):
            notes.append(Problem(file, r, None, Msg("national.empty_row", name=shorten(name, 40)), "info"))
            continue
        code, level, method, score, note = match_region(name), None, "name", 1.0, ""
        if code is not None:
            level = "country" if code == "00" else "region"
        else:
            m = match_names([name], provs[max(years.values())]).iloc[0]
            if isinstance(m["code"], str):
                code, level, method, score, note = m["code"], "province", m["method"], float(m["score"]), m["note"]
        match_rows.append(dict(_row=r, input_code="", input_name=name, parent="", level=level, code=code,
                               matched_name=name if level in ("country", "region") else (
                                   None if code is None else m["matched_name"]),
                               method=method if code else "none", score=score if code else 0.0, note=note,
                               era="legacy" if max(years.values()) < 2025 else "2025"))
        if code is None:
            rep.problems.append(Problem(file, r, Msg("national.name_column", column=column_letter(name_col)),
                                        Msg("national.not_a_place", name=shorten(name, 60))))
            continue
        for j, y in years.items():
            text = values[y]
            if text in ("", "-", "..", "…"):
                continue
            try:
                v = _parse_rate(text)
            except ValueError as exc:
                said = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Msg) else str(exc)
                rep.problems.append(Problem(file, r, f"{column_letter(j)}: {y}",
                                            Msg("national.bad_value", value=shorten(text), reason=said)))
                continue
            if v is None:
                continue
            if not 0 <= v <= 100:
                rep.problems.append(Problem(file, r, f"{column_letter(j)}: {y}",
                                            Msg("national.out_of_range", value=shorten(text))))
                continue
            records.append(dict(unit_code=code, year=y, standard=default_standard_for_year(y), **{field: v},
                                level=level, _row=r))
    matches = with_messages(pd.DataFrame(match_rows, columns=MATCH_COLUMNS), "note", [r["note"] for r in match_rows])
    dup = matches[matches["code"].notna() & matches.duplicated("code", keep=False)]
    for code, grp in dup.groupby("code"):
        rep.problems.append(Problem(file, int(grp["_row"].iloc[1]), Msg("national.name_column",
                                                                          column=column_letter(name_col)),
                                    Msg("national.repeated", name=grp["input_name"].iloc[0],
                                        rows=", ".join(map(str, grp["_row"])))))
    table = pd.DataFrame(records)
    if table.empty and rep.ok:
        rep.problems.append(Problem(file, None, None, Msg("national.no_rows")))
    if rep.ok:
        table[field] = table[field].astype("float64")
        rep.table = table
    return table, matches, rep, notes


def _parse_rate_safe(text: str) -> float | None:
    from povdata.validate import _parse_rate
    try:
        return _parse_rate(str(text))
    except ValueError:
        return None


def is_national_table(cells: pd.DataFrame) -> bool:
    """A table with year columns (the yearbook's layout), not one row per unit and year."""
    return find_year_header(cells.values.tolist()) is not None


def comparison(national: pd.DataFrame, codes: list[str], lang: str = "vi") -> pd.DataFrame:
    """A province against its region and the country, by year, from a stored national table.

    ``codes``: the province's codes in the table (its former provinces for years before the
    merger).  Columns: ``year``, ``unit_code``, ``name``, ``rate``, ``region``, ``region_rate``,
    ``national_rate``, ``rank`` (1 = highest rate among the table's provinces that year),
    ``of``, ``gap_region`` and ``gap_national`` (percentage points; positive = poorer)."""
    from povdata.regions import region_name, region_of
    from povdata.units import province_name

    col = "poverty_rate_published"
    t = national.dropna(subset=[col]) if col in national else national.iloc[0:0]
    if t.empty:
        return pd.DataFrame(columns=["year", "unit_code", "name", "rate", "region", "region_rate", "national_rate",
                                     "rank", "of", "gap_region", "gap_national"])
    is_prov = ~t["unit_code"].str.match(r"^(00|V\d)$")
    rows = []
    for year, g in t.groupby("year", sort=True):
        provs = g[is_prov.loc[g.index]].sort_values(col, ascending=False).reset_index(drop=True)
        nat = g.loc[g["unit_code"] == "00", col]
        for code in codes:
            hit = provs.index[provs["unit_code"] == code]
            if not len(hit):
                continue
            rate = float(provs.at[hit[0], col])
            reg = region_of(code) if year < 2025 else None
            reg_rate = g.loc[g["unit_code"] == reg, col] if reg else pd.Series(dtype=float)
            rows.append(dict(
                year=int(year), unit_code=code, name=province_name(code) if year >= 2025 else _former_name(code),
                rate=rate, region=region_name(reg, lang) if reg else None,
                region_rate=float(reg_rate.iloc[0]) if len(reg_rate) else np.nan,
                national_rate=float(nat.iloc[0]) if len(nat) else np.nan,
                rank=int(hit[0]) + 1, of=len(provs)))
    out = pd.DataFrame(rows)
    if not out.empty:
        out["gap_region"] = out["rate"] - out["region_rate"]
        out["gap_national"] = out["rate"] - out["national_rate"]
    return out


def _former_name(code: str) -> str:
    from povdata.provinces import former_province_name
    return former_province_name(code)
