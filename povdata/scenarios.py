"""What-if projections: pure, vectorised, never touching stored data.

Two models:

* ``pp``: the rate falls by a constant number of percentage points a year,
  ``r(t) = max(r0 − pace × t, 0)``;
* ``share``: the rate falls by a constant share of what is left,
  ``r(t) = r0 × (1 − s)^t`` — it slows as the rate falls and never goes negative.
  Its share ``s`` is chosen so that the first year's fall equals ``pace`` pp:
  ``s = pace / r0`` (capped at 1).

Households grow at a constant annual rate; poor households are the projected rate
times the projected households, rounded to whole households.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

MODELS = ("pp", "share")
HORIZON = 2030


@dataclass(frozen=True)
class Scenario:
    """Slider state of one scenario; ``district_paces`` overrides per district (pp/yr)."""

    name: str = ""  # the page asks for one before saving or sharing
    model: str = "pp"
    province_pace: float = 1.0  # national 2026-2030 target (1-1.5 pp/yr, reported)
    poor_district_pace: float = 5.0
    district_paces: dict[str, float] = field(default_factory=dict)
    household_growth: float | None = None  # %/yr; None = historical
    horizon: int = HORIZON

    def to_query(self) -> dict[str, str]:
        q = {"sc_name": self.name, "sc_model": self.model, "sc_prov": f"{self.province_pace:g}",
             "sc_poor": f"{self.poor_district_pace:g}", "sc_h": str(self.horizon)}
        if self.household_growth is not None:
            q["sc_hh"] = f"{self.household_growth:g}"
        if self.district_paces:
            q["sc_d"] = ",".join(f"{k}:{v:g}" for k, v in sorted(self.district_paces.items()))
        return q

    @classmethod
    def from_query(cls, q: dict[str, str]) -> "Scenario":
        """Rebuild from a URL query string; anything malformed falls back to the default."""
        d = cls()

        def num(key: str, default: float | None, lo: float, hi: float) -> float | None:
            try:
                v = float(q[key])
            except (KeyError, TypeError, ValueError):
                return default
            return min(max(v, lo), hi) if math.isfinite(v) else default

        paces: dict[str, float] = {}
        for part in str(q.get("sc_d", "")).split(","):
            code, _, v = part.partition(":")
            try:
                if code.strip().isdigit():
                    paces[code.strip()] = min(max(float(v), 0.0), 20.0)
            except ValueError:
                continue
        model = q.get("sc_model", d.model)
        horizon = int(num("sc_h", d.horizon, 2026, 2040) or d.horizon)
        return cls(name=str(q.get("sc_name", d.name))[:60], model=model if model in MODELS else d.model,
                   province_pace=num("sc_prov", d.province_pace, 0.0, 20.0) or 0.0,
                   poor_district_pace=num("sc_poor", d.poor_district_pace, 0.0, 20.0) or 0.0,
                   district_paces=paces, household_growth=num("sc_hh", None, -5.0, 10.0), horizon=horizon)

    def as_dict(self) -> dict:
        return asdict(self)


def project_rates(r0: np.ndarray, pace: np.ndarray, years_ahead: np.ndarray, model: str) -> np.ndarray:
    """Projected rates, floored at 0: rows = units; ``years_ahead`` is 1-D (same for all
    units) or 2-D (one row per unit)."""
    r0 = np.asarray(r0, dtype=float)[:, None]
    pace = np.asarray(pace, dtype=float)[:, None]
    t = np.asarray(years_ahead, dtype=float)
    t = t[None, :] if t.ndim == 1 else t
    if model == "pp":
        return np.maximum(r0 - pace * t, 0.0)
    if model == "share":
        with np.errstate(divide="ignore", invalid="ignore"):
            s = np.where(r0 > 0, np.minimum(pace / r0, 1.0), 0.0)
        return r0 * (1.0 - s) ** t
    raise ValueError(f"unknown model {model!r}")


def historical_growth(levels: pd.DataFrame, unit_code: str) -> float:
    """Average annual household growth (%/yr) of a unit over its whole series."""
    s = levels[(levels["unit_code"] == unit_code) & levels["households_total"].notna()].sort_values("year")
    if len(s) < 2:
        return 0.0
    h0, h1 = float(s["households_total"].iloc[0]), float(s["households_total"].iloc[-1])
    n = int(s["year"].iloc[-1] - s["year"].iloc[0])
    return 0.0 if h0 <= 0 or n <= 0 else ((h1 / h0) ** (1 / n) - 1) * 100


def project(levels: pd.DataFrame, units: list[str], paces: dict[str, float], scenario: Scenario) -> pd.DataFrame:
    """Projection for ``units`` from each one's latest review to the horizon.

    Returns one row per unit and projected year: ``unit_code``, ``year``, ``poverty_rate``,
    ``households_total``, ``poor_households`` (integers), ``pace``, ``kind`` = 'projected'.
    The latest actual year is included (kind 'actual') so lines join.
    """
    latest = (levels[levels["unit_code"].isin(units) & levels["poverty_rate"].notna()]
              .sort_values("year").groupby("unit_code").tail(1).set_index("unit_code").reindex(units))
    latest = latest[latest["year"].notna()]
    if latest.empty:
        return pd.DataFrame(columns=["unit_code", "year", "poverty_rate", "households_total", "poor_households",
                                     "pace", "kind"])
    y0 = latest["year"].astype(int).to_numpy()
    start = int(y0.min())
    years = np.arange(start, scenario.horizon + 1)
    ahead = years[None, :] - y0[:, None]
    pace = np.array([paces.get(c, 0.0) for c in latest.index])
    r0 = latest["poverty_rate"].to_numpy(dtype=float)
    rates = project_rates(r0, pace, np.maximum(ahead, 0), scenario.model)
    growth = np.array([scenario.household_growth if scenario.household_growth is not None
                       else historical_growth(levels, c) for c in latest.index]) / 100
    h0 = latest["households_total"].astype("float64").to_numpy()
    hh = np.rint(h0[:, None] * (1 + growth[:, None]) ** np.maximum(ahead, 0))
    poor = np.rint(rates / 100 * hh)
    n_units, n_years = rates.shape
    out = pd.DataFrame({
        "unit_code": np.repeat(latest.index.to_numpy(), n_years),
        "year": np.tile(years, n_units),
        "poverty_rate": rates.ravel(),
        "households_total": hh.ravel(),
        "poor_households": poor.ravel(),
        "pace": np.repeat(pace, n_years),
        "kind": np.where(ahead.ravel() == 0, "actual", "projected"),
    })
    out = out[ahead.ravel() >= 0].reset_index(drop=True)
    for c in ("households_total", "poor_households"):
        out[c] = out[c].astype("Int64")
    return out


def crossing_years(projection: pd.DataFrame, threshold: float) -> pd.Series:
    """First year each unit's projected rate is at or below ``threshold`` (NA if never)."""
    below = projection[projection["poverty_rate"] <= threshold + 1e-9]
    first = below.groupby("unit_code")["year"].min()
    return first.reindex(projection["unit_code"].unique()).astype("Int64")


def scenario_paces(levels: pd.DataFrame, province_code: str, poor: list[str], scenario: Scenario) -> dict[str, float]:
    """Pace (pp/yr) per unit: the province, each poor district, each other district
    (the province pace unless overridden)."""
    districts = levels.loc[levels["level"] == "district", "unit_code"].unique()
    paces = {province_code: scenario.province_pace}
    for d in districts:
        paces[d] = scenario.poor_district_pace if d in poor else scenario.province_pace
    paces.update(scenario.district_paces)
    return paces


def scenario_summary(levels: pd.DataFrame, province_code: str, poor: list[str], scenario: Scenario,
                     exit_rate: float) -> dict:
    """Headline figures of a scenario at its horizon (for side-by-side comparison)."""
    paces = scenario_paces(levels, province_code, poor, scenario)
    proj = project(levels, [province_code] + list(poor), paces, scenario)
    at_h = proj[proj["year"] == scenario.horizon].set_index("unit_code")
    cross = crossing_years(proj[proj["unit_code"].isin(poor)], exit_rate) if poor else pd.Series(dtype="Int64")
    remaining = int(sum(1 for d in poor if pd.isna(cross.get(d)) or cross.get(d) > scenario.horizon))
    return {
        "name": scenario.name, "model": scenario.model, "province_pace": scenario.province_pace,
        "poor_district_pace": scenario.poor_district_pace,
        "rate": float(at_h.at[province_code, "poverty_rate"]) if province_code in at_h.index else float("nan"),
        # a rate-only table (a published rate without household counts) projects no households
        "poor_households": int(at_h.at[province_code, "poor_households"])
        if province_code in at_h.index and pd.notna(at_h.at[province_code, "poor_households"]) else None,
        "poor_districts_remaining": remaining,
    }


TARGET_COLUMNS = ["period_id", "target_id", "scope", "rule", "value", "deadline", "year_reached", "status"]


def _nth_year(years: list, n: int, start: int):
    """The year by which ``n`` of the units have crossed (``years``: each unit's crossing year
    or NA); NA when fewer than ``n`` ever do."""
    if n <= 0:
        return start
    done = sorted(int(y) for y in years if pd.notna(y))
    return done[n - 1] if len(done) >= n else pd.NA


def scenario_targets(levels: pd.DataFrame, cfg, province_code: str, scenario: Scenario) -> pd.DataFrame:
    """The year each target still open would be reached under ``scenario``, and its verdict.

    Targets whose deadline is after the latest review: a pace rule is judged by the verdict
    engine (:func:`povdata.progress.rate_progress`) on the reviews so far followed by the
    projected years (only when the latest review is under the period's standard: a projection
    never joins two standards); its year reached is the first year the rate is at or below the
    period's target end rate (baseline − pace × years).  A poor-district rule is reached when
    every poor district has reached its own.  A milestone on poor districts ("none left by
    2030", "at least one out by 2025") is reached in the year enough poor districts are at or
    below the exit threshold (or out by decision).  Columns :data:`TARGET_COLUMNS`."""
    from povdata.designations import exits
    from povdata.progress import poor_districts_for, rate_progress

    have = levels[levels["poverty_rate"].notna()]
    if have.empty:
        return pd.DataFrame(columns=TARGET_COLUMNS)
    latest = int(have["year"].max())
    rows = []
    for period in cfg.periods:
        poor = poor_districts_for(cfg, period.start, period.end)
        paces = scenario_paces(levels, province_code, poor, scenario)
        for target in period.targets:
            deadline = target.by_year if target.by_year is not None else period.end
            if deadline <= latest or deadline > scenario.horizon:
                continue
            row = dict(period_id=period.id, target_id=target.id, scope=target.scope, rule=target.rule,
                       value=target.value, deadline=deadline, year_reached=pd.NA, status="no_data")
            if target.is_rate_rule:
                units = [province_code] if target.scope == "province" else list(poor)
                if not units or target.scope not in ("province", "poor_districts"):
                    continue
                proj = project(levels, units, paces, scenario)
                reached, statuses = [], []
                for code in units:
                    actual = have[have["unit_code"] == code][["year", "standard", "poverty_rate"]]
                    last_std = actual.sort_values("year")["standard"].iloc[-1] if len(actual) else None
                    if last_std != period.standard:
                        statuses.append("no_data")
                        reached.append(pd.NA)
                        continue
                    ahead = proj[(proj["unit_code"] == code) & (proj["kind"] == "projected")]
                    s = pd.concat([actual, ahead.assign(standard=period.standard)[["year", "standard", "poverty_rate"]]])
                    p = rate_progress(s, period, target, cfg.at_risk_margin_pp, as_of=period.end)
                    statuses.append(p["status"])
                    s = s[(s["year"] > period.baseline_year) & (s["standard"] == period.standard)]
                    below = s.loc[s["poverty_rate"] <= p["target_end_rate"] + 1e-9, "year"]
                    reached.append(int(below.min()) if len(below) and pd.notna(p["target_end_rate"]) else pd.NA)
                row["year_reached"] = (pd.NA if any(pd.isna(y) for y in reached) else max(reached))
                row["status"] = ("no_data" if "no_data" in statuses else
                                 "met" if all(x in ("met", "exceeded") for x in statuses) else
                                 "floor" if "floor" in statuses else "not_met")
            elif target.rule in ("poor_districts_remaining_at_most", "poor_district_exits_at_least"):
                if not poor:
                    continue
                proj = project(levels, list(poor), paces, scenario)
                cross = crossing_years(proj, cfg.poor_district_exit_rate)
                decided = exits(cfg.decisions, "poor_district", latest)
                years = [latest if d in decided else cross.get(d, pd.NA) for d in poor]
                need = (len(poor) - int(target.value) if target.rule == "poor_districts_remaining_at_most"
                        else int(target.value))
                row["year_reached"] = _nth_year(years, need, latest)
                row["status"] = ("met" if pd.notna(row["year_reached"]) and row["year_reached"] <= deadline
                                 else "not_met")
            else:
                continue
            rows.append(row)
    out = pd.DataFrame(rows, columns=TARGET_COLUMNS)
    out["year_reached"] = out["year_reached"].astype("Int64")
    return out
