"""Indicator table: one row per unit and review year, with derived rates and aggregation.

The tidy table (``indicators``) has these columns:

========================  =====================================================
unit_code                 GSO code (str), commune, district or province
year                      review year (int): the year-end review, rà soát cuối năm
standard                  poverty standard id (see :mod:`povdata.standards`)
households_total          all households (Int64)
poor_households           hộ nghèo (Int64)
near_poor_households      hộ cận nghèo (Int64)
poverty_rate_published    published rate in percent, used when counts are absent
near_poor_rate_published  likewise for the near-poor rate
optional counts           see :data:`OPTIONAL_COUNTS`
========================  =====================================================

Rates are always derived from counts (poor / total × 100) and aggregation always
sums households: a district's rate is never the average of its communes' rates.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from povdata.registry import INDICATORS, Indicator, Live, count_columns, derived, published_rates

__all__ = ["INDICATORS", "Indicator", "KEY", "REQUIRED_COUNTS", "OPTIONAL_COUNTS", "PUBLISHED_RATES", "COUNT_COLUMNS",
           "derive_rates", "aggregate", "with_previous_year"]

KEY = ["unit_code", "year"]
REQUIRED_COUNTS = ["households_total", "poor_households", "near_poor_households"]
#: the registry's counts and published rates (:mod:`povdata.registry`), as live lists
COUNT_COLUMNS = Live(count_columns)
OPTIONAL_COUNTS = Live(lambda: count_columns()[len(REQUIRED_COUNTS):])
PUBLISHED_RATES = Live(published_rates)
#: rates derive_rates computes by hand (the published fallback, poor + near-poor)
_SPECIAL = ("poverty_rate", "near_poor_rate", "poor_near_poor_rate")


def derive_rates(ind: pd.DataFrame) -> pd.DataFrame:
    """Add ``poverty_rate``, ``near_poor_rate`` and ``poor_near_poor_rate`` (percent).

    A rate comes from counts where both counts are present and the total is positive;
    otherwise the published rate is used and ``rate_from`` says ``"published"``.
    """
    out = ind.copy()
    total = out["households_total"].astype("Float64")
    poor = out["poor_households"].astype("Float64")
    near = out["near_poor_households"].astype("Float64") if "near_poor_households" in out else pd.Series(pd.NA, index=out.index, dtype="Float64")
    valid = total.notna() & (total > 0)
    rate = (poor / total * 100).where(valid & poor.notna())
    near_rate = (near / total * 100).where(valid & near.notna())
    pub = out.get("poverty_rate_published", pd.Series(np.nan, index=out.index)).astype("Float64")
    pub_near = out.get("near_poor_rate_published", pd.Series(np.nan, index=out.index)).astype("Float64")
    out["rate_from"] = np.where(rate.notna(), "counts", np.where(pub.notna(), "published", "none"))
    out["poverty_rate"] = rate.fillna(pub).astype("float64")
    out["near_poor_rate"] = near_rate.fillna(pub_near).astype("float64")
    out["poor_and_near_poor"] = (poor + near).astype("Float64")
    out["poor_near_poor_rate"] = (out["poverty_rate"] + out["near_poor_rate"]).astype("float64")
    floats: dict[str, np.ndarray] = {}  # each column as float once (a level table has dozens)

    def col(c: str) -> np.ndarray:
        if c not in floats:
            floats[c] = pd.to_numeric(out[c], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        return floats[c]

    def share(num: str, den: str) -> np.ndarray:
        if num not in out or den not in out:
            return np.full(len(out), np.nan)
        d = col(den)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > 0, col(num) / d * 100, np.nan)

    new: dict[str, np.ndarray] = {}
    for ind in derived():  # the registry's other rates and coverages, from counts only
        if ind.id in _SPECIAL:
            continue
        if ind.kind == "coverage":
            if not all(c in out for c in ind.complement_of):
                continue  # a table without these deprivations has no such column
            if ind.denominators:  # pooled over several groups of households
                if not all(c in out for c in ind.denominators):
                    continue
                lacking = np.sum([col(c) for c in ind.complement_of], axis=0)
                base = np.sum([col(c) for c in ind.denominators], axis=0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    new[ind.id] = np.where(base > 0, 100 - lacking / base * 100, np.nan)
                continue
            shares = np.vstack([share(c, ind.denominator) for c in ind.complement_of])
            worst = np.where(np.isnan(shares).any(axis=0), np.nan, np.nanmax(np.nan_to_num(shares, nan=-1), axis=0))
            new[ind.id] = 100 - worst
            continue
        if ind.numerator not in out and not (ind.published and ind.published in out):
            continue
        value = share(ind.numerator, ind.denominator)
        if ind.published and ind.published in out:
            value = np.where(np.isnan(value), col(ind.published), value)
        new[ind.id] = value
    if new:
        out = pd.concat([out.drop(columns=[c for c in new if c in out]),
                         pd.DataFrame(new, index=out.index)], axis=1)
    return out


def aggregate(ind: pd.DataFrame, mapping: pd.Series, require_complete: bool = False) -> pd.DataFrame:
    """Sum households of the units in ``ind`` into parent units.

    Parameters
    ----------
    ind : tidy indicator table of the child units (e.g. communes).
    mapping : Series indexed by child ``unit_code`` whose values are the parent code
        (a commune → its district, or → its province).

    Returns
    -------
    Tidy table of the parents with summed counts and rates derived from the sums,
    plus ``units_reporting`` and ``units_expected``.  A parent whose children mix
    poverty standards in one year is split by standard (never merged).  Where a child
    lacks counts the parent's counts are left missing (NA), never filled by averaging.

    ``require_complete``: a parent with fewer children reporting than it has
    (``units_reporting`` < ``units_expected``), or with a child that is itself incomplete,
    gets no counts and no rate (``complete`` = False): a province figure is never computed
    from a few of its communes as if it were the whole province.
    """
    df = ind.copy()
    df["parent_code"] = df["unit_code"].map(mapping)
    df = df[df["parent_code"].notna()]
    present = [c for c in COUNT_COLUMNS if c in df.columns]
    group = ["parent_code", "year", "standard"]
    sums = df.groupby(group, sort=True)[present].sum(min_count=1)
    # a count is only meaningful if every reporting child gave it
    complete = df[present].notna().groupby([df[g] for g in group]).all()
    sums = sums.where(complete)
    counts = df.groupby(group, sort=True).size().rename("units_reporting")
    expected = mapping.groupby(mapping).size().rename("units_expected")
    out = sums.join(counts).reset_index().rename(columns={"parent_code": "unit_code"})
    out = out.merge(expected, left_on="unit_code", right_index=True, how="left")
    child_ok = (df["complete"].astype("boolean").fillna(True).astype(bool) if "complete" in df
                else pd.Series(True, index=df.index))
    all_ok = child_ok.groupby([df[g] for g in group]).all().rename("_child_ok").reset_index()
    out = out.merge(all_ok.rename(columns={"parent_code": "unit_code"}), on=["unit_code", "year", "standard"],
                    how="left")
    out["complete"] = (out["units_reporting"] >= out["units_expected"].fillna(0)) & out["_child_ok"].fillna(True)
    out = out.drop(columns="_child_ok")
    if require_complete:
        out.loc[~out["complete"], present] = pd.NA
    for c in present:
        out[c] = out[c].astype("Int64")
    return derive_rates(out)


def with_previous_year(ind: pd.DataFrame, value: str) -> pd.DataFrame:
    """Add ``{value}_prev`` and ``{value}_change`` vs the previous review year of the same
    unit and the same standard (no change is computed across a standard break)."""
    out = ind.sort_values(["unit_code", "standard", "year"]).copy()
    grp = out.groupby(["unit_code", "standard"], sort=False)
    prev_year = grp["year"].shift(1)
    prev = grp[value].shift(1).where(prev_year == out["year"] - 1)
    out[f"{value}_prev"] = prev
    out[f"{value}_change"] = out[value] - prev
    return out
