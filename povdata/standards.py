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
    label_vi: str
    label_en: str
    source: str = ""


STANDARDS_PATH = Path(__file__).resolve().parents[1] / "data" / "standards.csv"

#: (label_vi, label_en) of each standard; which review years it covers, its legal basis and
#: its source are data (``data/standards.csv``): a new standard is first applied in the review
#: at the end of the year before its period (end-2015 for 2016-2020, end-2021 for 2022-2025,
#: so end-2026 for 2027-2030).
_LABELS = {
    "2011-2015": ("Chuẩn nghèo 2011-2015 (QĐ 09/2011/QĐ-TTg)", "2011-2015 standard (Decision 09/2011)"),
    "2016-2020": ("Chuẩn nghèo đa chiều 2016-2020 (QĐ 59/2015/QĐ-TTg)",
                  "2016-2020 multidimensional standard (Decision 59/2015)"),
    "2021-2025": ("Chuẩn nghèo đa chiều 2022-2025 (NĐ 07/2021/NĐ-CP)",
                  "2022-2025 multidimensional standard (Decree 07/2021)"),
    "2026-2030": ("Chuẩn nghèo đa chiều 2026-2030 (NĐ 351/2025/NĐ-CP)",
                  "2026-2030 multidimensional standard (Decree 351/2025)"),
}


def _load() -> dict[str, Standard]:
    import csv

    with STANDARDS_PATH.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return {r["standard"]: Standard(r["standard"], int(r["first_review_year"]), int(r["last_review_year"]),
                                    r["basis"], *_LABELS.get(r["standard"], (r["standard"], r["standard"])),
                                    source=r["source"]) for r in rows}


#: Review years each standard is used for (year-end review, rà soát cuối năm).
STANDARDS: dict[str, Standard] = _load()


def standard_label(standard_id: str, lang: str = "vi") -> str:
    s = STANDARDS.get(standard_id)
    if s is None:
        return standard_id
    return s.label_vi if lang == "vi" else s.label_en


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
