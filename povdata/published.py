"""Published (real) figures, targets and poor-district designations under ``data/published``."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

PUBLISHED_DIR = Path(__file__).resolve().parents[1] / "data" / "published"
_STR = {"province_code": str, "unit_code": str, "district_code": str}


def published_figures(path: Path | None = None) -> pd.DataFrame:
    """Rows of ``published_figures.csv`` with codes as strings (data status 'published')."""
    df = pd.read_csv(path or PUBLISHED_DIR / "published_figures.csv", dtype=_STR, keep_default_na=False,
                     na_values={"value": [""], "year": [""]})
    df["province_code"] = df["province_code"].str.zfill(2)
    return df


def poor_districts(path: Path | None = None) -> pd.DataFrame:
    """Poor-district designations: one row per district and period (a time-varying flag)."""
    df = pd.read_csv(path or PUBLISHED_DIR / "poor_districts.csv", dtype=_STR)
    df["province_code"] = df["province_code"].str.zfill(2)
    return df


def published_value(province_code: str, unit_code: str, year: int, indicator: str) -> float | None:
    """One published value, or None when the sources give none."""
    df = published_figures()
    rows = df[(df["province_code"] == province_code) & (df["unit_code"] == unit_code)
              & (df["year"] == year) & (df["indicator"] == indicator)]
    return None if rows.empty else float(rows["value"].iloc[0])


def is_poor_district(district_code: str, year: int, designations: pd.DataFrame | None = None) -> bool:
    """True when the district is designated poor in that review year."""
    d = poor_districts() if designations is None else designations
    rows = d[(d["district_code"] == district_code) & (d["period_start"] <= year) & (d["period_end"] >= year)]
    return not rows.empty


def poor_districts_in(province_code: str, year: int, designations: pd.DataFrame | None = None) -> list[str]:
    """Codes of the districts designated poor in ``year``; sorted."""
    d = poor_districts() if designations is None else designations
    rows = d[(d["province_code"] == province_code) & (d["period_start"] <= year) & (d["period_end"] >= year)]
    return sorted(rows["district_code"].unique())
