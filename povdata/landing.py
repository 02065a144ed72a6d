"""The committee's first screen: "where are we behind, and will we make the target?"

Everything here comes from the one verdict engine (:func:`povdata.verdicts.unit_verdicts`,
:func:`povdata.progress.progress_table`); this module only picks the period the landing
page judges and says the verdicts as short cells:

* the province's pace against its rule, and each poor district's against its own;
* the period's milestones on poor districts (e.g. "at least one out of poverty by 2025");
* the 2030 outlook: poor districts left by then at the pace so far, and especially
  difficult communes still designated (by decision);
* the districts behind (off track, at risk, not met).

The period judged is the one the latest review falls in when that period has a review after
its baseline; otherwise (the first review of a new standard, before its period has a pace)
the last period that ended before it, judged as of its end: the same rule as the briefing
pack (:func:`povdata.briefing.scorecard_period`), so the two never disagree.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from povdata.i18n import fmt_number, fmt_pace, t
from povdata.progress import difficult_communes_left, progress_table
from povdata.targets import Period, TargetsConfig, rule_text
from povdata.verdicts import period_for_year, unit_verdicts

BEHIND = ("off_track", "at_risk", "not_met")


@dataclass(frozen=True)
class Cell:
    """One status cell: what is judged (``title``), the headline figure, one line of detail
    (the rule and the pace still needed) and the engine's status code."""
    key: str
    title: str
    value: str
    unit: str   # what the value counts ("điểm %/năm", "huyện")
    detail: str
    status: str
    label: str  # the status in words


@dataclass(frozen=True)
class Answer:
    period_id: str | None
    as_of: int | None
    caption: str            # "Giai đoạn 2021-2025, số liệu đến 2025"
    cells: list[Cell] = field(default_factory=list)
    outlook: list[Cell] = field(default_factory=list)
    behind: list[str] = field(default_factory=list)   # names of the districts behind
    districts: int = 0


def status_short(status: str, lang: str = "vi") -> str:
    """A status in a few words for a cell (``status_short.*``; the full wording otherwise)."""
    from povdata.i18n import catalogue

    key = f"status_short.{status}"
    return t(key, lang) if key in catalogue(lang) else t(f"status.{status}", lang)


def landing_period(cfg: TargetsConfig, latest: int) -> tuple[Period | None, int | None]:
    """The pace-rule period the landing page judges and its as-of year (see the module doc)."""
    period = period_for_year(cfg, latest)
    if period is None:
        ended = [p for p in cfg.periods if any(x.is_rate_rule for x in p.targets) and p.end < latest]
        period = max(ended, key=lambda p: p.end) if ended else None
    if period is None:
        return None, None
    return period, min(latest, period.end)


def _pace_cell(key: str, title: str, row: pd.Series, period: Period, lang: str) -> Cell:
    target = next((x for x in period.targets if x.id == row.get("target_id")), None)
    status = str(row["status"])
    detail = t("landing.rule", lang, rule=rule_text(target, lang)) if target is not None else ""
    required = row.get("required_pp_per_year", np.nan)
    if pd.notna(required) and status not in ("met", "exceeded"):
        detail += " · " + t("landing.required", lang, pace=fmt_pace(max(float(required), 0.0), lang))
    value = fmt_number(row.get("achieved_pp_per_year"), lang)
    return Cell(key, title, value, t("landing.pace_unit", lang), detail, status, status_short(status, lang))


def _difficult_cell(cfg: TargetsConfig, year: int, lang: str) -> Cell | None:
    """Especially difficult communes still designated in ``year``; no cell when no decision
    designating one was ever entered (0 would claim the goal is reached)."""
    if not any(d.status == "difficult_commune" for d in cfg.decisions):
        return None
    left = difficult_communes_left(cfg, year)
    return Cell("difficult_communes", t("landing.difficult_title", lang, year=year), fmt_number(len(left), lang, 0),
                t("landing.communes_unit", lang), t("landing.difficult_detail", lang), "met" if not left else "off_track",
                t("status.met" if not left else "landing.difficult_left", lang))


def landing_answer(levels: pd.DataFrame, cfg: TargetsConfig, lang: str = "vi") -> Answer:
    """The cells of the first screen for the province of ``cfg`` (``levels`` as from
    :func:`povdata.dataset.level_table`)."""
    years = levels.loc[levels["level"] == "province", "year"]
    if years.empty:
        return Answer(None, None, t("landing.no_period", lang))
    latest = int(years.max())
    period, as_of = landing_period(cfg, latest)
    if period is None or as_of is None:
        return Answer(None, None, t("landing.no_period", lang))
    caption = t("landing.caption", lang, period=period.id, as_of=as_of)
    if as_of < latest:
        caption += " " + t("landing.caption_new_standard", lang, year=latest)
    cells: list[Cell] = []
    prov = unit_verdicts(levels, cfg, "province", as_of, period_id=period.id)
    if len(prov):
        cells.append(_pace_cell("province", prov.iloc[0]["name"], prov.iloc[0], period, lang))
    dist = unit_verdicts(levels, cfg, "district", as_of, period_id=period.id)
    for _, row in dist[dist["poor_district"].astype(bool)].iterrows() if len(dist) else []:
        cells.append(_pace_cell(f"district_{row['unit_code']}", row["name"], row, period, lang))
    behind = [str(n) for n in dist.loc[dist["status"].isin(BEHIND), "name"]] if len(dist) else []

    # milestones on poor districts (the period's, then the 2030 goal), from the same table the
    # Targets and Progress pages read
    table = progress_table(levels, cfg, as_of=latest)
    ms = table[(table["level"] == "province") & table["rule"].isin(
        ["poor_district_exits_at_least", "poor_districts_remaining_at_most"])]
    outlook: list[Cell] = []
    for _, row in ms.iterrows():
        status = str(row["status"])
        if status == "not_applicable":
            continue
        target = next(x for x in cfg.period(row["period_id"]).targets if x.id == row["target_id"])
        n = int(row["poor_districts"]) if pd.notna(row["poor_districts"]) else 0
        now = int(row["exited_now"]) if pd.notna(row["exited_now"]) else 0
        will = int(row["exited_projected"]) if pd.notna(row["exited_projected"]) else now
        if row["rule"] == "poor_district_exits_at_least":
            if target.by_year is None or not period.start <= target.by_year <= period.end:
                continue  # another period's milestone
            title = t("landing.exits_title", lang, value=fmt_number(target.value, lang, 0), year=target.by_year)
            value, unit = f"{now}/{n}", t("landing.exits_unit", lang)
            detail = t("landing.exits_detail", lang, n=will)
        else:
            title = (t("landing.remaining_title_none", lang, year=target.by_year) if target.value == 0 else
                     t("landing.remaining_title", lang, value=fmt_number(target.value, lang, 0), year=target.by_year))
            value, unit = str(n - will), t("landing.remaining_unit", lang)
            detail = t("landing.remaining_detail", lang, n=n - now)
        outlook.append(Cell(f"{row['period_id']}:{row['target_id']}", title, value, unit, detail, status,
                            status_short(status, lang)))
    difficult = _difficult_cell(cfg, latest, lang)
    if difficult is not None:
        outlook.append(difficult)
    return Answer(period.id, as_of, caption, cells, outlook, behind,
                  int(dist["unit_code"].nunique()) if len(dist) else 0)
