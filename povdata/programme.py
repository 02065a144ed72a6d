"""Programme targets beyond the headline rate: service coverage and outputs (issue 18).

The same engine as the rate targets (:func:`povdata.progress.progress_table` calls
:func:`programme_row` for these rules), the same statuses, each naming its period and the
review it is judged on.  Rules:

``share_at_least``     a registry percentage (a service's coverage: "≥ 85% of poor households in
                       durable housing by 2025") at or above ``value`` by ``by_year`` (default the
                       period's end).  Reached: ``met`` once the deadline's review is in, else
                       ``on_track``.  Not reached: the linear trend of the period's reviews
                       (least squares, one standard only) projected to the deadline decides
                       ``on_track`` / ``at_risk`` (within ``at_risk_margin_pp``) / ``off_track``;
                       with one review the gap alone decides ``at_risk`` / ``off_track``; after the
                       deadline ``not_met``.  A 100% target ("all of") is reached at 100% only.
``count_at_least``     the sum of a registry count over the period's years (15,000 loans in 2017):
                       after the period ``met`` / ``not_met``; during it, against the pro-rata share
                       of the years reported (``on_track``, ``at_risk`` within
                       :data:`OUTPUT_AT_RISK` of it, ``off_track``).
``per_year_at_least``  a count every year (3,000 households helped a year): each reported year is
                       judged; after the period ``met`` when every year reached it.

Values are the province's (summed households, never averaged rates); a year without the
indicator is no year, and a target with no reported year is ``no_data``.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from povdata.targets import Period, Target, TargetsConfig

#: an output this far (as a share) below the pro-rata path is "at risk", further "off track"
OUTPUT_AT_RISK = 0.10

SHARE_RULES = {"share_at_least"}
COUNT_RULES = {"count_at_least", "per_year_at_least"}
PROGRAMME_RULES = SHARE_RULES | COUNT_RULES


def _province_series(levels: pd.DataFrame, cfg: TargetsConfig, indicator: str, period: Period,
                     upto: int) -> pd.DataFrame:
    """The province's ``year``, ``value`` of ``indicator`` within the period's years (from the
    baseline for a share, from the start for a count), under its standard when it has one."""
    p = levels[(levels["level"] == "province") & (levels["unit_code"] == cfg.province_code)]
    if indicator not in p:
        return pd.DataFrame({"year": pd.Series(dtype=int), "value": pd.Series(dtype=float)})
    p = p[p[indicator].notna() & (p["year"] <= upto)]
    if period.standard is not None:
        p = p[p["standard"] == period.standard]
    out = pd.DataFrame({"year": p["year"].astype(int), "value": pd.to_numeric(p[indicator]).astype(float)})
    return out.sort_values("year").drop_duplicates("year", keep="last").reset_index(drop=True)


def programme_row(levels: pd.DataFrame, cfg: TargetsConfig, period: Period, target: Target,
                  as_of: int | None = None) -> dict:
    """One programme target's row of the progress table (its columns plus ``owner``,
    ``indicator``, ``latest_value``, ``projected_value``, ``expected_value``, ``trend``: the
    reviews judged, as ``[(year, value), …]``)."""
    by = target.by_year or period.end
    upto = by if as_of is None else min(as_of, by)
    if target.rule in COUNT_RULES:
        upto = min(upto, period.end)
        s = _province_series(levels, cfg, target.indicator, period, upto)
        s = s[s["year"] >= period.start]
    else:
        s = _province_series(levels, cfg, target.indicator, period, upto)
        s = s[s["year"] >= period.baseline_year]
    row: dict[str, Any] = dict(
               period_id=period.id, target_id=target.id, rule=target.rule, target_value=target.value,
               unit_code=cfg.province_code, level="province", basis="rule", standard=period.standard,
               baseline_year=period.baseline_year, indicator=target.indicator, owner=target.owner,
               latest_year=np.nan, latest_value=np.nan, projected_value=np.nan, expected_value=np.nan,
               trend=list(zip(s["year"].tolist(), s["value"].tolist())), status="no_data")
    if s.empty:
        return row
    latest_year, latest = int(s["year"].iloc[-1]), float(s["value"].iloc[-1])
    row.update(latest_year=latest_year, latest_value=latest)
    if target.rule == "share_at_least":
        row["status"] = _share_status(s, target.value, by, cfg.at_risk_margin_pp, row)
    elif target.rule == "count_at_least":
        total = float(s["value"].sum())
        years_total = period.end - period.start + 1
        reported = len(s)
        row.update(latest_value=total, expected_value=target.value * reported / years_total)
        if latest_year >= period.end:
            row["status"] = "met" if total >= target.value else "not_met"
        else:
            row["status"] = _against(total, row["expected_value"])
    else:  # per_year_at_least: the latest year, and every year once the period is over
        if latest_year >= period.end:
            row["status"] = "met" if (s["value"] >= target.value).all() else "not_met"
        else:
            row["status"] = _against(latest, target.value)
        row["expected_value"] = target.value
    return row


def _against(value: float, expected: float) -> str:
    if value >= expected - 1e-9:
        return "on_track"
    return "at_risk" if value >= expected * (1 - OUTPUT_AT_RISK) else "off_track"


def _share_status(s: pd.DataFrame, value: float, by: int, margin: float, row: dict) -> str:
    latest_year, latest = int(s["year"].iloc[-1]), float(s["value"].iloc[-1])
    if latest >= value - 1e-9:
        return "met" if latest_year >= by else "on_track"
    if latest_year >= by:
        return "not_met"
    if len(s) >= 2:
        slope = float(np.polyfit(s["year"].to_numpy(float), s["value"].to_numpy(float), 1)[0])
        projected = min(100.0, latest + slope * (by - latest_year))
        row["projected_value"] = projected
    else:
        projected = latest
    if projected >= value - 1e-9:
        return "on_track"
    return "at_risk" if projected >= value - margin else "off_track"


def programme_targets(progress: pd.DataFrame, owner: str | None = None) -> pd.DataFrame:
    """The programme rows of a progress table (:func:`povdata.progress.progress_table`), of
    ``owner`` when given: the committee's view, one row per target."""
    rows = progress[progress["rule"].isin(PROGRAMME_RULES)]
    if owner:
        rows = rows[rows["owner"] == owner]
    return rows.reset_index(drop=True)


def owner_label(owner: str, lang: str = "vi") -> str:
    """A department's name (catalogue ``owner.<key>``), or the owner as the targets file writes it."""
    from povdata.i18n import catalogue, t
    if not owner:
        return "–"
    return t(f"owner.{owner}", lang) if f"owner.{owner}" in catalogue("vi") else owner


def committee_table(progress: pd.DataFrame, cfg: TargetsConfig, lang: str = "vi",
                    owner: str | None = None) -> pd.DataFrame:
    """The committee's view of the programme targets: one row per target, in the UI language.

    Columns: ``period_id``, ``target_id``, ``indicator`` (its name), ``rule`` (the rule's text),
    ``owner`` (the department), ``owner_key``, ``latest_year``, ``latest`` (the value judged:
    the latest review's share, a period's running total, the latest year's count), ``outlook``
    (the share projected to the deadline, or the pro-rata path of a total), ``status`` (the
    key), ``trend`` (the values year by year, for a sparkline), ``source``."""
    from povdata.i18n import fmt_count, fmt_rate
    from povdata.registry import INDICATORS
    from povdata.sources import cite

    rows = programme_targets(progress, owner)
    targets = {(p.id, x.id): x for p in cfg.periods for x in p.targets}
    out = []
    for r in rows.itertuples():
        target = targets.get((r.period_id, r.target_id))
        ind = INDICATORS.get(r.indicator)
        pct = ind is not None and ind.is_percent

        def f(v):
            if v is None or pd.isna(v):
                return "–"
            return fmt_rate(v, lang) if pct else fmt_count(v, lang)
        from povdata.targets import rule_text
        out.append(dict(
            period_id=r.period_id, target_id=r.target_id,
            indicator=ind.label(lang) if ind is not None else r.indicator,
            rule=rule_text(target, lang) if target is not None else "",
            owner=owner_label(r.owner, lang), owner_key=r.owner,
            latest_year=None if pd.isna(r.latest_year) else int(r.latest_year),
            latest=f(r.latest_value),
            outlook=f(r.projected_value if r.rule == "share_at_least" else r.expected_value),
            status=r.status, trend=[float(v) for _, v in r.trend],
            source=cite(target.source, lang) if target is not None else ""))
    cols = ["period_id", "target_id", "indicator", "rule", "owner", "owner_key", "latest_year", "latest", "outlook",
            "status", "trend", "source"]
    return pd.DataFrame(out, columns=cols)


def deprivation_units(levels: pd.DataFrame, levels_shown: tuple[str, ...] = ("province", "district", "commune_2025")
                      ) -> list[str]:
    """Units (of ``levels_shown``, in the level table's order) with some deprivation count."""
    from povdata.registry import DEPRIVATIONS
    cols = [c for c in (f"deprived_{k}" for k in DEPRIVATIONS) if c in levels]
    if not cols:
        return []
    rows = levels[levels["level"].isin(levels_shown) & levels[cols].notna().any(axis=1)]
    order = {lvl: i for i, lvl in enumerate(levels_shown)}
    rows = rows.assign(_o=rows["level"].map(order)).sort_values(["_o", "unit_code"], kind="stable")
    return list(dict.fromkeys(rows["unit_code"]))


def deprivation_profile(levels: pd.DataFrame, unit_code: str, year: int | None = None) -> pd.DataFrame:
    """Which deprivations weigh most in a unit: the 12 indicators' counts and shares of its
    poor households in ``year`` (default: its latest review with deprivations), largest first.
    Columns ``indicator``, ``count``, ``share``, ``year``, ``standard``; no rows without data."""
    from povdata.registry import DEPRIVATIONS
    cols = [f"deprived_{k}" for k in DEPRIVATIONS]
    s = levels[(levels["unit_code"] == unit_code)]
    have = [c for c in cols if c in s]
    empty = pd.DataFrame(columns=["indicator", "count", "share", "year", "standard"])
    if not have:
        return empty
    s = s[s[have].notna().any(axis=1)]
    if year is not None:
        s = s[s["year"] == year]
    if s.empty:
        return empty
    r = s.sort_values("year").iloc[-1]
    out = pd.DataFrame({"indicator": have, "count": [r[c] for c in have],
                        "share": [r.get(f"{c}_share", np.nan) for c in have]})
    out = out.assign(year=int(r["year"]), standard=r["standard"]).dropna(subset=["count"])
    return out.sort_values("share", ascending=False).reset_index(drop=True)


def deprivation_trend(levels: pd.DataFrame, unit_code: str) -> pd.DataFrame:
    """The 12 deprivation shares of a unit's poor households year by year, within the poverty
    standard of its latest review with deprivations (never across a standard break): one row per
    indicator (``indicator``), one column per review year, plus ``change`` (points, first → last)."""
    from povdata.registry import DEPRIVATIONS
    cols = [f"deprived_{k}" for k in DEPRIVATIONS]
    s = levels[levels["unit_code"] == unit_code]
    have = [c for c in cols if c in s]
    if not have:
        return pd.DataFrame(columns=["indicator", "change"])
    s = s[s[have].notna().any(axis=1)].sort_values("year")
    if s.empty:
        return pd.DataFrame(columns=["indicator", "change"])
    s = s[s["standard"] == s["standard"].iloc[-1]].drop_duplicates("year", keep="last")
    out = pd.DataFrame({"indicator": have})
    for y, r in zip(s["year"], s.itertuples()):
        out[int(y)] = [getattr(r, f"{c}_share", np.nan) for c in have]
    years = [c for c in out.columns if c != "indicator"]
    out["change"] = out[years[-1]] - out[years[0]] if len(years) > 1 else np.nan
    return out.sort_values(years[-1], ascending=False).reset_index(drop=True)
