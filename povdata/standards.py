"""Poverty standards (chuẩn nghèo): one per period; series never join across them."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class Standard:
    id: str
    first_review_year: int
    last_review_year: int
    basis: str
    source: str = ""

    def label(self, lang: str = "vi") -> str:
        """'Chuẩn nghèo đa chiều 2022-2025 (NĐ 07/2021/NĐ-CP)' (the catalogue's ``standard.<id>``)."""
        from povdata.i18n import t
        key = f"standard.{self.id}"
        text = t(key, lang)
        return self.id if text == key else text


STANDARDS_PATH = Path(__file__).resolve().parents[1] / "data" / "standards.csv"

#: Which review years each standard covers, its legal basis and its source are data
#: (``data/standards.csv``); its name is in the catalogues (``standard.<id>``). A new standard
#: is first applied in the review at the end of the year before its period (end-2015 for
#: 2016-2020, end-2021 for 2022-2025, so end-2026 for 2027-2030).


def _load() -> dict[str, Standard]:
    import csv

    with STANDARDS_PATH.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["standard"]: Standard(r["standard"], int(r["first_review_year"]), int(r["last_review_year"]),
                                    r["basis"], source=r["source"]) for r in rows}


#: Review years each standard is used for (year-end review, rà soát cuối năm).
STANDARDS: dict[str, Standard] = _load()


def standard_label(standard_id: str, lang: str = "vi") -> str:
    s = STANDARDS.get(standard_id)
    if s is None:
        return standard_id
    return s.label(lang)


def default_standard_for_year(year: int) -> str | None:
    """The standard a review of ``year`` is normally measured under, or None."""
    for s in STANDARDS.values():
        if s.first_review_year <= year <= s.last_review_year:
            return s.id
    return None


def split_by_standard(series: pd.DataFrame, standard_col: str = "standard") -> list[pd.DataFrame]:
    """Split a time series into continuous segments, one per poverty standard.

    Charts draw one line per segment so that a change of standard is a visible break,
    never a joined line.
    """
    if series.empty:
        return []
    order = series.sort_values("year")
    return [g for _, g in order.groupby(standard_col, sort=False)]
