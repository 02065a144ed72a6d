"""What an import covers: per review year and level, how many units the file gives out of
the units that level has (``8 / 8 huyện năm 2023``, ``4 / 194 xã năm 2024``).

Shown on the review step and by ``python -m povdata import`` before anything is saved, so
a partial file is seen as partial.
"""
from __future__ import annotations

import pandas as pd

from povdata.i18n import t

LEVEL_ORDER = {"country": -2, "region": -1, "province": 0, "district": 1, "commune": 2}


def coverage(table: pd.DataFrame, province_code: str) -> pd.DataFrame:
    """One row per (year, level): ``units`` in the file, ``expected`` in the unit list of
    that year's era (for a merged province, of the former province the rows are in, when
    they are all in one), ``missing`` (names of up to 10 units not in the file)."""
    from povdata.ingest.match import era_of_year, registry

    if table is None or table.empty:
        return pd.DataFrame(columns=["year", "level", "units", "expected", "missing"])
    rows = []
    for (year, level), grp in table.groupby(["year", "level"], sort=True):
        reg = registry(province_code, era_of_year(year))
        owners = set(reg.loc[reg["code"].isin(grp["unit_code"]), "province_code"])
        if len(owners) == 1:
            reg = reg[reg["province_code"].isin(owners)]
        have = set(grp["unit_code"])
        if level in ("country", "region"):  # rows of a national table
            rows.append(dict(year=int(year), level=level, units=len(have), expected=1 if level == "country" else 6,
                             missing=""))
            continue
        from povdata.unit_history import created_after
        units = reg[(reg["level"] == level) & ~reg["code"].isin(created_after(int(year)))]
        gone = units[~units["code"].isin(have)]
        rows.append(dict(year=int(year), level=level, units=len(have), expected=len(units),
                         missing=", ".join(gone["name"].head(10)) + (" …" if len(gone) > 10 else "")))
    out = pd.DataFrame(rows)
    return out.sort_values(["year", "level"], key=lambda s: s.map(LEVEL_ORDER) if s.name == "level" else s)


def coverage_lines(cov: pd.DataFrame, lang: str = "vi") -> list[str]:
    """``['Năm 2023: 8 / 8 huyện; 1 / 1 tỉnh']`` — one line per year."""
    out = []
    for year, grp in cov.groupby("year", sort=True):
        parts = [t("coverage.part", lang, n=r.units, expected=r.expected, level=t(f"coverage.{r.level}", lang))
                 for r in grp.itertuples()]
        line = t("coverage.year", lang, year=year, parts="; ".join(parts))
        short = [r for r in grp.itertuples() if r.units < r.expected and r.missing]
        if short:
            line += " " + t("coverage.missing", lang, names=" · ".join(r.missing for r in short))
        out.append(line)
    return out
