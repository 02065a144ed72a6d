"""One answer to "which units are behind?": every verdict a screen shows comes from here.

A verdict is a function of (unit, target, period, as-of year): the pace rule that applies to
the unit in the period (a poor district's own rule, a commune above a threshold, else the
province's rule as a reference — :func:`povdata.progress.applicable_target`), judged on the
reviews inside the period up to the as-of year (:func:`povdata.progress.rate_progress`).
The map's target-status layer, the progress scorecard, the briefing's scorecard and the
tooltips all call :func:`unit_verdicts`; each names its period and as-of year
(:func:`verdict_caption`: "2021-2025, số liệu đến 2023").
"""
from __future__ import annotations

import pandas as pd

from povdata.i18n import t
from povdata.progress import scorecard
from povdata.targets import Period, TargetsConfig

VERDICT_COLUMNS = ["unit_code", "status", "achieved_pp_per_year", "target_value", "period_id", "as_of", "basis",
                   "target_id"]


def period_for_year(cfg: TargetsConfig, year: int) -> Period | None:
    """The pace-rule period a review year is judged in: the latest-starting one whose
    baseline is before the year and whose end is not (the briefing's and the map's rule)."""
    periods = [p for p in cfg.periods if any(x.is_rate_rule for x in p.targets) and p.baseline_year < year <= p.end]
    return periods[-1] if periods else None


def unit_verdicts(levels: pd.DataFrame, cfg: TargetsConfig, level: str, year: int, parent: str | None = None,
                  period_id: str | None = None) -> pd.DataFrame:
    """The verdict of every unit of ``level`` (within ``parent``) for the review ``year``:
    in ``period_id`` (default :func:`period_for_year`), as of ``min(year, period end)``.
    Columns :data:`VERDICT_COLUMNS` (no rows when no period applies to the year)."""
    period = cfg.period(period_id) if period_id is not None else period_for_year(cfg, year)
    if period is None or level not in ("province", "district", "commune"):
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    as_of = min(year, period.end)
    card = scorecard(levels, cfg, period.id, level, parent=parent, as_of=as_of)
    if card.empty:
        return pd.DataFrame(columns=VERDICT_COLUMNS)
    if level == "province":  # the province's own rule, not a reference
        card["basis"] = card["basis"].replace({"reference": "rule"})
    card = card.assign(period_id=period.id, as_of=as_of)
    for c in VERDICT_COLUMNS:
        if c not in card:
            card[c] = pd.NA
    return card[VERDICT_COLUMNS + [c for c in card.columns if c not in VERDICT_COLUMNS]]


def verdict_caption(period_id: str, as_of: int, lang: str = "vi") -> str:
    """'2021-2025, số liệu đến 2023' — said wherever a verdict is shown."""
    return t("verdict.caption", lang, period=period_id, as_of=as_of)
