"""Series across the 2025 reform (districts abolished, communes merged on 2025-07-01).

Review years before :data:`REFORM_YEAR` are reported on the old units (province,
district, commune); the end-2025 review and later ones on the new communes.  Both ways
across the break are reconstructions and are always flagged as such:

* a *former district* (huyện cũ) after the reform = the sum of its new communes'
  households, a straddling commune's households shared out between its former districts
  in proportion to the weighted households of its old communes in the last review
  before the reform;
* a *new commune* before it existed = the crosswalk-weighted sum of its old communes
  (flagged ``from_divided`` when a divided old commune contributes).

Rates are always computed from the summed households.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from povdata.indicators import COUNT_COLUMNS
from povdata.messages import Msg

REFORM_YEAR = 2025
NEW_SUFFIX = "-2025"


def new_id(code: str) -> str:
    """Level-table id of a new commune: GSO code + ``-2025`` (codes are reused across eras)."""
    return f"{code}{NEW_SUFFIX}"


def is_new_id(unit_id: str) -> bool:
    return str(unit_id).endswith(NEW_SUFFIX)


def code_of(unit_id: str) -> str:
    return str(unit_id)[: -len(NEW_SUFFIX)] if is_new_id(unit_id) else str(unit_id)


def to_new_communes(ind_old: pd.DataFrame, crosswalk: pd.DataFrame) -> pd.DataFrame:
    """Re-express old-commune rows on the new communes (whole households, sums kept exactly).

    An old commune's counts go to its new commune(s) by the crosswalk weights, rounded by
    largest remainder within each old commune and year so that nothing is lost or added.
    Used to build the illustrative world after the reform.  Vectorised.
    """
    cw = crosswalk[crosswalk["old_level"] == "commune"][["old_code", "new_code", "weight"]].copy()
    total = cw.groupby("old_code")["weight"].transform("sum")
    cw["w"] = np.where(total > 0, cw["weight"] / total, 1.0 / cw.groupby("old_code")["weight"].transform("size"))
    counts = [c for c in COUNT_COLUMNS if c in ind_old.columns]
    df = ind_old[["unit_code", "year", "standard"] + counts].merge(cw, left_on="unit_code", right_on="old_code")
    df = df.sort_values(["old_code", "year", "new_code"], kind="stable").reset_index(drop=True)
    key = [df["old_code"], df["year"]]
    for c in counts:
        v = df[c].astype("float64")
        exact = v * df["w"]
        base = np.floor(exact + 1e-9)
        short = (v - base.groupby(key).transform("sum")).round()
        frac = (exact - base).rename("frac")
        rank = frac.groupby(key).rank(method="first", ascending=False) - 1  # 0 = largest remainder
        df[c] = (base + (rank < short).astype(float)).where(v.notna())
    grouped = df.groupby(["new_code", "year", "standard"], sort=True)[counts].sum(min_count=1).reset_index()
    grouped = grouped.rename(columns={"new_code": "unit_code"})
    for c in counts:
        grouped[c] = np.rint(grouped[c]).astype("Int64")
    return grouped


def district_shares(crosswalk: pd.DataFrame, ind_old: pd.DataFrame | None = None,
                    ref_year: int | None = None) -> pd.DataFrame:
    """Share of each new commune's households that belongs to each former district.

    Weighted by the households of its old communes in ``ref_year`` (the last review before
    the reform) when given, else by the crosswalk weights alone.  Columns: ``new_code``,
    ``district_code``, ``share``, ``straddles`` (the new commune spans several districts).
    """
    cw = crosswalk[crosswalk["old_level"] == "commune"][["old_code", "old_district_code", "new_code", "weight"]].copy()
    if ind_old is not None and ref_year is not None:
        hh = ind_old[ind_old["year"] == ref_year].set_index("unit_code")["households_total"].astype("float64")
        cw["mass"] = cw["weight"] * cw["old_code"].map(hh).fillna(0.0)
        if (cw.groupby("new_code")["mass"].sum() == 0).any():
            cw["mass"] = cw["mass"].where(cw.groupby("new_code")["mass"].transform("sum") > 0, cw["weight"])
    else:
        cw["mass"] = cw["weight"]
    g = cw.groupby(["new_code", "old_district_code"], sort=True)["mass"].sum().reset_index()
    g["share"] = g["mass"] / g.groupby("new_code")["mass"].transform("sum")
    g = g[g["share"] > 0]
    g["straddles"] = g.groupby("new_code")["old_district_code"].transform("size") > 1
    return g.rename(columns={"old_district_code": "district_code"})[["new_code", "district_code", "share", "straddles"]]


def former_districts(ind_new: pd.DataFrame, shares: pd.DataFrame) -> pd.DataFrame:
    """Former districts after the reform: shared-out sums of their new communes (estimates)."""
    counts = [c for c in COUNT_COLUMNS if c in ind_new.columns]
    df = ind_new.merge(shares, left_on="unit_code", right_on="new_code", how="inner")
    for c in counts:
        df[c] = df[c].astype("float64") * df["share"]
    out = df.groupby(["district_code", "year", "standard"], sort=True)[counts].sum(min_count=1).reset_index()
    for c in counts:
        out[c] = np.rint(out[c]).astype("Int64")
    out = out.rename(columns={"district_code": "unit_code"})
    out["reconstructed"] = True
    return out


def backcast_new_communes(ind_old: pd.DataFrame, crosswalk: pd.DataFrame) -> pd.DataFrame:
    """New communes before they existed: crosswalk-weighted sums of their old communes."""
    cw = crosswalk[crosswalk["old_level"] == "commune"][["old_code", "new_code", "weight", "divided"]]
    counts = [c for c in COUNT_COLUMNS if c in ind_old.columns]
    df = ind_old.merge(cw, left_on="unit_code", right_on="old_code", how="inner")
    for c in counts:
        df[c] = df[c].astype("float64") * df["weight"]
    grouped = df.groupby(["new_code", "year", "standard"], sort=True)
    out = grouped[counts].sum(min_count=1).reset_index()
    out["from_divided"] = grouped["divided"].any().to_numpy()
    for c in counts:
        out[c] = np.rint(out[c]).astype("Int64")
    out = out.rename(columns={"new_code": "unit_code"})
    out["reconstructed"] = True
    return out


def era_problems(table: pd.DataFrame, old_codes: set[str], new_codes: set[str]) -> list[tuple[int, str]]:
    """Rows (index, Vietnamese message) whose unit code belongs to the wrong side of the
    reform for its year, or a year mixing old and new units."""
    problems: list[tuple[Any, str]] = []
    for i, r in table.iterrows():
        code, year = str(r["unit_code"]), int(r["year"])
        if year >= REFORM_YEAR and code not in new_codes and code in old_codes:
            problems.append((i, Msg("reform.old_unit_after", code=code, year=year)))
        elif year < REFORM_YEAR and code not in old_codes and code in new_codes:
            problems.append((i, Msg("reform.new_unit_before", code=code, year=year)))
    return problems
