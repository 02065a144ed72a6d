"""Poverty standards (chuẩn nghèo): one per period; series never join across them."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class Standard:
    id: str
    first_review_year: int
    last_review_year: int
    basis: str
    label_vi: str
    label_en: str


#: Review years each standard was used for (year-end review, rà soát cuối năm).
#: The 2016-2020 standard was first applied in the end-2015 baseline review; the
#: 2021-2025 standard (Decree 07/2021) was first applied in the end-2021 review and
#: still applies in 2026; the 2026-2030 standard starts with the 2027 review.
STANDARDS: dict[str, Standard] = {
    s.id: s
    for s in (
        Standard("2011-2015", 2011, 2014, "Quyết định 09/2011/QĐ-TTg",
                 "Chuẩn nghèo 2011-2015 (QĐ 09/2011/QĐ-TTg)", "2011-2015 standard (Decision 09/2011)"),
        Standard("2016-2020", 2015, 2020, "Quyết định 59/2015/QĐ-TTg",
                 "Chuẩn nghèo đa chiều 2016-2020 (QĐ 59/2015/QĐ-TTg)", "2016-2020 multidimensional standard (Decision 59/2015)"),
        Standard("2021-2025", 2021, 2026, "Nghị định 07/2021/NĐ-CP",
                 "Chuẩn nghèo đa chiều 2022-2025 (NĐ 07/2021/NĐ-CP)", "2022-2025 multidimensional standard (Decree 07/2021)"),
        Standard("2026-2030", 2027, 2030, "Nghị định 351/2025/NĐ-CP (theo báo chí)",
                 "Chuẩn nghèo đa chiều 2026-2030 (NĐ 351/2025/NĐ-CP)", "2026-2030 multidimensional standard (Decree 351/2025)"),
    )
}


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
