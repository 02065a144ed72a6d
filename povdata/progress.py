"""Progress against targets: achieved pace, required pace, gap and status.

Definitions (rates in percent, paces in percentage points per year, pp/yr):

* baseline: the review of the period's ``baseline_year`` under the period's standard;
* achieved pace = (baseline rate − latest rate) / (latest year − baseline year);
* required pace = the average reduction still needed each remaining year so that the
  period average reaches the target: (latest − (baseline − target × years)) / years left;
* gap = achieved pace − target pace.

Status, in this order:

``no_data``       no baseline, only one review, or a review missing in between;
``met``           the period is over and the average reached the target (a pace rule is
                  judged on the pace alone, whatever the rate);
``on_track``      the period is not over and achieved pace ≥ target (> for a
                  'greater than' rule);
``floor``         short of the target, and the rule asks for more than is left to
                  remove (the target path goes below 0%): a pp-per-year target no longer
                  makes sense near the floor (said also for a finished period);
``not_met``       the period is over and the average fell short;
``at_risk``       achieved pace ≥ target − ``at_risk_margin_pp``;
``off_track``     otherwise;
``not_applicable`` the rule does not apply to the unit;
``exceeded``      a range rule ('giảm 2–2,5 điểm %/năm') whose pace is above its high bound
                  (below the low bound it is judged as an 'at least' rule on the low bound).
"""
from __future__ import annotations

from typing import Any

import math

import numpy as np
import pandas as pd

from povdata.published import poor_districts
from povdata.targets import Period, Target, TargetsConfig

#: what a pace rule reads of a unit's series
_SERIES_COLUMNS = ["unit_code", "year", "standard", "poverty_rate"]

STATUSES = ("exceeded", "met", "on_track", "at_risk", "off_track", "not_met", "floor", "no_data", "not_applicable")

COLUMNS = [
    "period_id", "target_id", "rule", "target_value", "unit_code", "level", "basis",
    "standard", "baseline_year", "baseline_rate", "latest_year", "latest_rate", "years_elapsed",
    "achieved_pp_per_year", "required_pp_per_year", "gap_pp_per_year", "target_end_rate", "status",
]


def poor_districts_for(province_code: "str | TargetsConfig", start: int, end: int,
                       designations: pd.DataFrame | None = None) -> list[str]:
    """Districts designated poor (by decision) at any time in ``start``..``end``; sorted codes.
    Given a :class:`TargetsConfig`, its designations (the reviewed file's and those editors
    entered); given a code, the reviewed file's."""
    from povdata.provinces import former_provinces

    if isinstance(province_code, TargetsConfig):
        designations = province_code.poor_district_designations if designations is None else designations
        province_code = province_code.province_code
    d = poor_districts() if designations is None else designations
    codes = {province_code, *former_provinces(province_code)}  # a merged province: its former provinces' too
    rows = d[d["province_code"].isin(codes) & (d["period_start"] <= end) & (d["period_end"] >= start)]
    return sorted(rows["district_code"].unique())


def rate_progress(series: pd.DataFrame, period: Period, target: Target, margin: float,
                  exit_rate: float | None = None, as_of: int | None = None) -> dict:
    """Progress of one unit against one pp-per-year rule.

    ``series`` holds the unit's rows (``year``, ``standard``, ``poverty_rate``).
    ``exit_rate``: for a poor district, the rate below which it has left poor status.
    """
    last_year = period.end if as_of is None else min(period.end, as_of)
    # plain arrays: a scorecard calls this once per unit (194 communes, for every year of a map)
    years = series["year"].to_numpy(dtype="int64")
    rates = pd.to_numeric(series["poverty_rate"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    keep = ((series["standard"].to_numpy() == period.standard) & (years >= period.baseline_year)
            & (years <= last_year) & ~np.isnan(rates))
    order = np.argsort(years[keep], kind="stable")
    years, rates = years[keep][order], rates[keep][order]
    out = dict(standard=period.standard, baseline_year=period.baseline_year, baseline_rate=np.nan,
               latest_year=np.nan, latest_rate=np.nan, years_elapsed=np.nan, achieved_pp_per_year=np.nan,
               required_pp_per_year=np.nan, gap_pp_per_year=np.nan, target_end_rate=np.nan, status="no_data")
    at_base = years == period.baseline_year
    if not at_base.any() or len(years) < 2:
        return out
    if not np.array_equal(years, np.arange(years[0], years[-1] + 1)):
        return out  # a review missing in between: no number, say so
    b = float(rates[at_base][0])
    latest_year = int(years[-1])
    latest = float(rates[-1])
    elapsed = latest_year - period.baseline_year
    total = period.end - period.baseline_year
    left = period.end - latest_year
    achieved = (b - latest) / elapsed
    end_rate = b - target.value * total
    ok = achieved > target.value if target.strict else achieved >= target.value - 1e-9
    out.update(baseline_rate=b, latest_year=latest_year, latest_rate=latest, years_elapsed=elapsed,
               achieved_pp_per_year=achieved, gap_pp_per_year=achieved - target.value, target_end_rate=end_rate)
    if left > 0:
        out["required_pp_per_year"] = (latest - end_rate) / left
    # a pace rule is judged on the pace only: a poor district below the exit threshold has not
    # thereby met a '> 5 pp/yr' rule (leaving poor status is a separate rule and a decision)
    if ok and target.is_range and achieved > float(target.value_high or 0.0) + 1e-9:
        out["status"] = "exceeded"  # above the range's high bound ('giảm 2-2,5%': 3 pp/yr)
    elif ok:
        out["status"] = "met" if left == 0 else "on_track"
    elif end_rate < 0:
        out["status"] = "floor"
    elif left == 0:
        out["status"] = "not_met"
    elif achieved >= target.value - margin:
        out["status"] = "at_risk"
    else:
        out["status"] = "off_track"
    return out


def _rate_rows(levels: pd.DataFrame, cfg: TargetsConfig, period: Period, target: Target,
               poor: list[str], as_of: int | None) -> list[dict]:
    rows = []
    province = cfg.province_code
    districts = sorted(levels.loc[levels["level"] == "district", "unit_code"].unique())
    units: list[tuple[str, str, str, float | None]] = []  # code, level, basis, exit rate
    if target.scope == "province":
        units.append((province, "province", "rule", None))
        units += [(d, "district", "reference", None) for d in districts if d not in poor]
    elif target.scope == "poor_districts":
        units += [(d, "district", "rule", cfg.poor_district_exit_rate) for d in districts if d in poor]
        units += [(d, "district", "not_applicable", None) for d in districts if d not in poor]
    elif target.scope == "districts":
        units += [(d, "district", "rule", None) for d in districts]
    elif target.scope == "communes_above":
        com = levels[(levels["level"] == "commune") & (levels["year"] == period.baseline_year)
                     & (levels["standard"] == period.standard)]
        above = sorted(com.loc[com["poverty_rate"] > float(target.rate_above or 0.0), "unit_code"])
        units += [(c, "commune", "rule", None) for c in above]
    elif target.scope == "unit":
        lvl = levels.loc[levels["unit_code"] == target.unit_code, "level"]
        units.append((str(target.unit_code), lvl.iloc[0] if len(lvl) else "unknown", "rule", None))
    # only the units judged and the columns the rule reads: the level table has dozens (the registry's)
    need = levels.loc[levels["unit_code"].isin({u[0] for u in units}), _SERIES_COLUMNS]
    by_unit = {code: g for code, g in need.groupby("unit_code", sort=True)}
    for code, level, basis, exit_rate in units:
        row = dict(period_id=period.id, target_id=target.id, rule=target.rule, target_value=target.value,
                   unit_code=code, level=level, basis=basis)
        if basis == "not_applicable":
            row.update(standard=period.standard, baseline_year=period.baseline_year, status="not_applicable")
        else:
            series = by_unit.get(code, levels.iloc[0:0])
            row.update(rate_progress(series, period, target, cfg.at_risk_margin_pp, exit_rate, as_of))
        rows.append(row)
    return rows


def poor_district_outlook(levels: pd.DataFrame, cfg: TargetsConfig, start: int, end: int,
                          horizon: int = 2030, as_of: int | None = None,
                          designations: pd.DataFrame | None = None) -> pd.DataFrame:
    """For each poor district of ``start``..``end``: latest rate, its pace since the first
    review of the latest standard, the projected year it crosses the exit threshold at
    that pace, and the pace needed to cross it by ``horizon``."""
    from povdata.designations import exits

    poor = poor_districts_for(cfg, start, end, designations)
    exit_rate = cfg.poor_district_exit_rate
    rows = []
    for code in poor:
        s = levels[(levels["unit_code"] == code) & levels["poverty_rate"].notna()]
        if as_of is not None:
            s = s[s["year"] <= as_of]
        row: dict[str, Any] = dict(unit_code=code, exit_rate=exit_rate, latest_year=np.nan, latest_rate=np.nan,
                   pace_pp_per_year=np.nan, projected_exit_year=np.nan, required_pp_per_year=np.nan,
                   exited=False, exit_decision="", below_threshold=False, estimated=False, status="no_data")
        # out of poverty only by a decision dated in or before the year judged (never by the rate)
        decided = exits(cfg.decisions, "poor_district", as_of if as_of is not None else horizon).get(code)
        if decided is not None:
            row.update(exited=True, exit_decision=f"{decided.number} ({decided.date})")
        if not s.empty:
            s = s.sort_values("year")
            # the latest standard with two reviews or more (a pace needs two): in the first year
            # of a new standard the outlook stays on the series just finished, never joined to it
            counts = s.groupby("standard", sort=False)["year"].count()
            paced = [st for st in s["standard"].unique()[::-1] if counts[st] >= 2]
            std = paced[0] if paced else s["standard"].iloc[-1]
            s = s[s["standard"] == std]
            latest_year, latest = int(s["year"].iloc[-1]), float(s["poverty_rate"].iloc[-1])
            # after 1/7/2025 a district is the territory of its former communes: an estimate
            est = bool(s["reconstructed"].iloc[-1]) if "reconstructed" in s and pd.notna(s["reconstructed"].iloc[-1]) \
                else False
            row.update(latest_year=latest_year, latest_rate=latest, below_threshold=latest <= exit_rate, estimated=est)
            # the projection: the year the rate crosses the threshold the user set, at the pace so far
            if len(s) >= 2:
                first_year, first = int(s["year"].iloc[0]), float(s["poverty_rate"].iloc[0])
                pace = (first - latest) / (latest_year - first_year)
                row["pace_pp_per_year"] = pace
                if latest <= exit_rate:
                    row["projected_exit_year"] = latest_year
                elif pace > 0:
                    row["projected_exit_year"] = latest_year + math.ceil((latest - exit_rate) / pace - 1e-9)
            if row["exited"]:
                row["status"] = "met"
            elif latest <= exit_rate:
                row["status"] = "pending_decision"  # below the threshold: out only when a decision says so
            elif horizon > latest_year:
                row["required_pp_per_year"] = (latest - exit_rate) / (horizon - latest_year)
                pye = row["projected_exit_year"]
                row["status"] = "on_track" if (not np.isnan(pye) and pye <= horizon) else "off_track"
            else:
                row["status"] = "not_met"
        elif row["exited"]:
            row["status"] = "met"
        rows.append(row)
    return pd.DataFrame(rows, columns=["unit_code", "exit_rate", "latest_year", "latest_rate", "pace_pp_per_year",
                                       "projected_exit_year", "required_pp_per_year", "exited", "exit_decision",
                                       "below_threshold", "estimated", "status"])


def difficult_communes_left(cfg: TargetsConfig, year: int) -> list[str]:
    """Communes designated especially difficult (xã ĐBKK) by decision and in force in ``year``
    (not out by an exit decision): the 2030 goal "không còn xã đặc biệt khó khăn" counts these."""
    from povdata.designations import designated
    codes = {d.unit_code for d in cfg.decisions if d.status == "difficult_commune" and d.action == "designate"}
    return sorted(c for c in codes if designated(cfg.decisions, c, year, "difficult_commune") is not None)


def new_communes_of(levels: pd.DataFrame, membership: pd.DataFrame, district_code: str, year: int) -> pd.DataFrame:
    """The new communes (after 1/7/2025) on a former district's territory with their rate in
    ``year``: how the 2030 goal of a former poor district is followed once districts are gone
    (``straddles``: the commune also covers another former district)."""
    m = membership[membership["district_code"] == district_code][["unit_code", "straddles"]]
    cur = levels[(levels["level"] == "commune_2025") & (levels["year"] == year)][
        ["unit_code", "name", "poverty_rate", "poor_households", "households_total"]]
    return m.merge(cur, on="unit_code", how="inner").sort_values("poverty_rate", ascending=False).reset_index(drop=True)


def _milestone_row(levels: pd.DataFrame, cfg: TargetsConfig, period: Period, target: Target,
                   as_of: int | None) -> dict:
    # judged on the reviews up to the milestone's year: a 2026 review says nothing of 'by 2025'
    assert target.by_year is not None  # a milestone has its year (the targets file is checked)
    as_of = target.by_year if as_of is None else min(as_of, target.by_year)
    outlook = poor_district_outlook(levels, cfg, period.start, period.end, horizon=target.by_year, as_of=as_of)
    n = len(outlook)
    # out by decision; the projection (labelled as such) adds those the threshold says will cross
    exited_now = int(outlook["exited"].sum()) if n else 0
    projected = exited_now + (int((~outlook["exited"] & (outlook["projected_exit_year"] <= target.by_year)).sum())
                              if n else 0)
    latest_year = int(outlook["latest_year"].max()) if n and outlook["latest_year"].notna().any() else None
    row = dict(period_id=period.id, target_id=target.id, rule=target.rule, target_value=target.value,
               unit_code=cfg.province_code, level="province", basis="rule", standard=period.standard,
               baseline_year=period.baseline_year, latest_year=latest_year,
               poor_districts=n, exited_now=exited_now, exited_projected=projected)
    if n == 0:
        row["status"] = "not_applicable"
        return row
    if target.rule == "poor_district_exits_at_least":
        done, will = exited_now >= target.value, projected >= target.value
    else:  # poor_districts_remaining_at_most
        done, will = n - exited_now <= target.value, n - projected <= target.value
    over = latest_year is not None and latest_year >= target.by_year
    if done:
        row["status"] = "met"
    elif over:  # the reviews are in: below the threshold but no decision yet is said as that
        row["status"] = "pending_decision" if will else "not_met"
    else:
        row["status"] = "on_track" if will else "off_track"
    return row


def progress_table(levels: pd.DataFrame, cfg: TargetsConfig, as_of: int | None = None,
                   designations: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (period, target, unit), with the figures and status above.

    ``levels`` is the output of :func:`povdata.dataset.level_table` (any dataset with
    ``unit_code``, ``year``, ``standard``, ``level``, ``poverty_rate``).
    """
    rows: list[dict] = []
    for period in cfg.periods:
        poor = poor_districts_for(cfg, period.start, period.end, designations)
        for target in period.targets:
            if target.is_rate_rule:
                rows += _rate_rows(levels, cfg, period, target, poor, as_of)
            elif target.is_programme_rule:  # service coverage and outputs: the same statuses
                from povdata.programme import programme_row
                rows.append(programme_row(levels, cfg, period, target, as_of))
            else:
                rows.append(_milestone_row(levels, cfg, period, target, as_of))
    out = pd.DataFrame(rows)
    for c in COLUMNS:
        if c not in out:
            out[c] = np.nan
    extra = [c for c in out.columns if c not in COLUMNS]
    return out[COLUMNS + extra]


def applicable_target(period: Period, is_poor_district: bool, baseline_rate: float | None = None) -> tuple[Target | None, str]:
    """The pp-per-year rule a unit is judged by in a period, and why.

    A poor district (or a commune in one) gets the poor-district rule; a commune above a
    ``communes_above`` threshold gets that rule; everyone else is compared with the
    province rule as a reference.
    """
    rate_targets = [t for t in period.targets if t.is_rate_rule]
    if is_poor_district:
        for t in rate_targets:
            if t.scope == "poor_districts":
                return t, "poor_district"
    if baseline_rate is not None:
        for t in rate_targets:
            if t.scope == "communes_above" and baseline_rate > float(t.rate_above or 0.0):
                return t, "commune_above"
    for t in rate_targets:
        if t.scope == "province":
            return t, "reference"
    return None, "none"


def scorecard(levels: pd.DataFrame, cfg: TargetsConfig, period_id: str, level: str = "district",
              parent: str | None = None, as_of: int | None = None,
              designations: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per unit of ``level`` (within ``parent``) with the rule it is judged by,
    its baseline, latest, achieved and required pace, gap and status."""
    period = cfg.period(period_id)
    poor = set(poor_districts_for(cfg, period.start, period.end, designations))
    units = levels[levels["level"] == level].drop_duplicates("unit_code")
    if parent is not None:
        units = units[units["parent_code"] == parent]
    by_unit = {code: g for code, g in levels.loc[levels["unit_code"].isin(units["unit_code"]), _SERIES_COLUMNS]
               .groupby("unit_code")}
    rows = []
    for u in units.sort_values("unit_code").itertuples():
        s = by_unit.get(u.unit_code, levels.iloc[0:0])
        district = u.unit_code if level == "district" else u.district_code
        is_poor = district in poor
        at_base = (s["year"].to_numpy() == period.baseline_year) & (s["standard"].to_numpy() == period.standard)
        base = pd.to_numeric(s["poverty_rate"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)[at_base]
        target, basis = applicable_target(period, is_poor, float(base[0]) if len(base) else None)
        row = dict(unit_code=u.unit_code, name=u.name, district_code=district, poor_district=is_poor,
                   period_id=period.id, target_id=None if target is None else target.id,
                   target_value=np.nan if target is None else target.value,
                   strict=False if target is None else target.strict, basis=basis)
        if target is None:
            row["status"] = "not_applicable"
        else:
            exit_rate = cfg.poor_district_exit_rate if (is_poor and level == "district") else None
            row.update(rate_progress(s, period, target, cfg.at_risk_margin_pp, exit_rate, as_of))
        rows.append(row)
    return pd.DataFrame(rows)
