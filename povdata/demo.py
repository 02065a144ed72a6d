"""Deterministic illustrative dataset ('Số liệu minh họa') for a province.

Real units from the registry; synthetic household counts per commune and review
year, calibrated so that the province aggregates reproduce the published figures
(``data/published/published_figures.csv``) and a few district figures exactly.

Model: a commune's rate in a year is ``sigmoid(a_commune + a_district + s_year)``
where ``s_year`` is found by bisection so that the summed poor households hit the
published (or interpolated) province figure, then counts are rounded by largest
remainder so that the sums are exact.  Poor districts start far above the province,
and a few communes lag badly (their reduction is slower), so that the dashboard has
something to show.  Nothing here is a real commune figure.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from povdata.standards import default_standard_for_year
from povdata.units import URBAN_TYPES, legacy_communes

SEED = 20250701
YEARS = list(range(2015, 2027))


@dataclass(frozen=True)
class Calibration:
    """Province and district anchors of the synthetic series (rates in percent)."""

    province_code: str
    poverty_rate: dict[int, float]
    near_poor_rate: dict[int, float]
    households_total: dict[int, int]
    #: exact counts where a source gives them: {year: poor households}
    poor_households: dict[int, int] = field(default_factory=dict)
    near_poor_households: dict[int, int] = field(default_factory=dict)
    #: {(district_code, year): (poor, total)} — district figures to reproduce exactly
    district_counts: dict[tuple[str, int], tuple[int, int]] = field(default_factory=dict)
    #: illustrative district paths {district_code: {year: rate}} (poor districts)
    district_rates: dict[str, dict[int, float]] = field(default_factory=dict)
    #: districts above or below the province (logit offset)
    district_offsets: dict[str, float] = field(default_factory=dict)


#: Lạng Sơn: published anchors (see data/published/published_figures.csv) and
#: interpolated years in between.  2015-2020 are under the 2016-2020 standard;
#: 2021-2025 under the 2021-2025 standard, whose series starts with the end-2021 review;
#: 2026 is the first review under the 2026-2030 standard (data/standards.csv): a new,
#: stricter measure, so an illustrative new series that starts higher (as 2021 did after
#: 2020), never a continuation of 2025.
LANG_SON = Calibration(
    province_code="20",
    poverty_rate={2015: 25.95, 2016: 22.40, 2017: 19.07, 2018: 15.30, 2019: 11.40, 2020: 7.88,
                  2021: 12.20, 2022: 9.05, 2023: 6.07, 2024: 3.36, 2025: 2.32, 2026: 6.10},
    near_poor_rate={2015: 12.80, 2016: 12.30, 2017: 11.90, 2018: 11.00, 2019: 10.00, 2020: 9.00,
                    2021: 12.06, 2022: 11.00, 2023: 9.50, 2024: 8.00, 2025: 6.80, 2026: 7.20},
    households_total={2015: 189_480, 2016: 190_540, 2017: 191_594, 2018: 191_870, 2019: 192_150,
                      2020: 192_430, 2021: 192_705, 2022: 194_470, 2023: 196_230, 2024: 198_000,
                      2025: 199_765, 2026: 201_430},
    poor_households={2017: 36_537, 2021: 23_510, 2025: 4_643},
    near_poor_households={2017: 22_801, 2021: 23_247, 2025: 13_578},
    district_counts={("181", 2018): (3_681, 12_868), ("185", 2020): (1_589, 17_328)},
    district_rates={
        # poor districts 2011-2020 (Bình Gia, Đình Lập) and 2018-2020 / 2022-2025 (Văn Quan);
        # Bình Gia 2018 is pinned to the published 28.61% (3,681 of 12,868 households)
        "181": {2015: 44.5, 2016: 38.9, 2017: 33.6, 2019: 22.8, 2020: 16.9,
                2021: 38.5, 2022: 30.8, 2023: 22.9, 2024: 13.5, 2025: 9.0, 2026: 15.8},
        "184": {2015: 38.0, 2016: 33.5, 2017: 28.6, 2018: 23.8, 2019: 18.7, 2020: 13.5,
                2021: 30.0, 2022: 25.6, 2023: 20.1, 2024: 15.2, 2025: 11.6, 2026: 18.9},
        # Bắc Sơn 2020 is pinned to its published 9.17% (1,589 poor households)
        "185": {2015: 27.0, 2016: 23.4, 2017: 19.6, 2018: 15.8, 2019: 12.4},
        "189": {2015: 40.2, 2016: 35.5, 2017: 30.9, 2018: 25.6, 2019: 20.4, 2020: 14.8},
    },
    district_offsets={"178": -2.2, "181": 1.45, "184": 1.05, "189": 1.15, "180": 0.45, "182": 0.35,
                      "185": 0.1, "183": -0.35, "186": -0.45, "187": -0.1, "188": 0.15},
)

CALIBRATIONS = {"20": LANG_SON}


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _largest_remainder(expected: np.ndarray, total: int, cap: np.ndarray | None = None) -> np.ndarray:
    """Integers summing to ``total``, close to ``expected``, never above ``cap``."""
    if total < 0 or (cap is not None and total > cap.sum()):
        raise ValueError(f"cannot allocate {total} within caps summing to {None if cap is None else cap.sum()}")
    base = np.floor(expected).astype(np.int64)
    if cap is not None:
        base = np.minimum(base, cap)
    rest = int(total - base.sum())
    frac = expected - base
    order = np.lexsort((np.arange(len(expected)), -frac))  # stable: ties by position
    i = 0
    while rest > 0:
        j = order[i % len(order)]
        if cap is None or base[j] < cap[j]:
            base[j] += 1
            rest -= 1
        i += 1
    while rest < 0:
        j = order[::-1][i % len(order)]
        if base[j] > 0:
            base[j] -= 1
            rest += 1
        i += 1
    return base


def _solve_shift(logits: np.ndarray, weights: np.ndarray, target: float) -> float:
    """Shift ``s`` so that ``sum(weights * sigmoid(logits + s)) == target`` (bisection)."""
    lo, hi = -30.0, 30.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if (weights * _sigmoid(logits + mid)).sum() < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def _allocate(logits: np.ndarray, totals: np.ndarray, target_count: int, cap: np.ndarray) -> np.ndarray:
    s = _solve_shift(logits, totals.astype(float), float(target_count))
    expected = np.minimum(totals * _sigmoid(logits + s), cap)
    return _largest_remainder(expected, target_count, cap)


def _district_pins(cal: Calibration, year: int, dist: np.ndarray, totals: np.ndarray) -> dict[str, int]:
    """Poor households each pinned district must have in ``year``."""
    pins = {}
    for dcode, path in cal.district_rates.items():
        if year in path:
            pins[dcode] = round(path[year] / 100 * totals[dist == dcode].sum())
    for (dcode, y), (dpoor, _) in cal.district_counts.items():
        if y == year:
            pins[dcode] = dpoor
    return pins


def _households(communes: pd.DataFrame, cal: Calibration, rng: np.random.Generator) -> pd.DataFrame:
    """Total households per commune and year; district totals pinned where published."""
    n = len(communes)
    urban = communes["unit_type"].isin(URBAN_TYPES).to_numpy()
    weight = rng.lognormal(mean=0.0, sigma=0.45, size=n) * np.where(urban, 1.8, 1.0)
    growth = np.where(urban, 0.012, 0.0) + rng.normal(0, 0.002, n)
    # scale each pinned district so that its share is right in every year, not only the pinned one
    dist = communes["district_code"].to_numpy()
    for (dcode, y), (_, dtotal) in cal.district_counts.items():
        inside = dist == dcode
        w_y = weight * (1 + growth) ** (y - YEARS[0])
        want = dtotal / cal.households_total[y]
        # solve for factor k: k*a / (k*a + b) = want
        a, b = w_y[inside].sum(), w_y[~inside].sum()
        weight[inside] *= want * b / (a * (1 - want))
    rows = []
    for year in YEARS:
        w = weight * (1 + growth) ** (year - YEARS[0])
        share = w / w.sum()
        totals = _largest_remainder(share * cal.households_total[year], cal.households_total[year])
        # pin a district's total where a source gives it, taking the difference from the others
        for (dcode, y), (_, dtotal) in cal.district_counts.items():
            if y != year:
                continue
            inside = (communes["district_code"] == dcode).to_numpy()
            totals[inside] = _largest_remainder(share[inside] / share[inside].sum() * dtotal, dtotal)
            rest = cal.households_total[year] - dtotal
            totals[~inside] = _largest_remainder(share[~inside] / share[~inside].sum() * rest, rest)
        rows.append(totals)
    return pd.DataFrame(np.vstack(rows), index=YEARS, columns=communes["code"])


def build_demo_indicators(province_code: str = "20", seed: int = SEED) -> pd.DataFrame:
    """Commune-level illustrative indicators, as a province would report them.

    Review years 2015-2024 are on the old communes; 2025 and 2026 (the reviews after the
    2025-07-01 reform) on the new communes, moved there through the crosswalk so that the
    old and new worlds are the same illustrative world (province sums agree exactly).
    Deterministic for a given seed.
    """
    from povdata.crosswalk import load_crosswalk
    from povdata.reform import REFORM_YEAR, to_new_communes

    old = build_demo_old_world(province_code, seed)
    new = to_new_communes(old[old["year"] >= REFORM_YEAR], load_crosswalk(province_code))
    out = pd.concat([old[old["year"] < REFORM_YEAR], new[old.columns]], ignore_index=True)
    return out


def build_demo_old_world(province_code: str = "20", seed: int = SEED) -> pd.DataFrame:
    """The illustrative series on the old communes for every review year 2015-2026
    (the world before it is re-expressed on the new communes)."""
    cal = CALIBRATIONS[province_code]
    rng = np.random.default_rng(seed)
    communes = legacy_communes(province_code).sort_values("code").reset_index(drop=True)
    n = len(communes)
    codes = communes["code"].to_numpy()
    dist = communes["district_code"].to_numpy()
    urban = communes["unit_type"].isin(URBAN_TYPES).to_numpy()
    totals = _households(communes, cal, rng)

    a_commune = rng.normal(0.0, 0.55, n) - np.where(urban, 0.9, 0.0)
    a_district = np.array([cal.district_offsets.get(d, 0.0) for d in dist])
    # a few rural communes of poor districts lag: their reduction is much slower
    candidates = np.flatnonzero(~urban & np.isin(dist, ["181", "184", "189", "180"]))
    laggards = np.sort(rng.choice(candidates, size=min(6, len(candidates)), replace=False))
    lag = np.zeros(n)
    lag[laggards] = 1.0
    a_near = rng.normal(0.0, 0.3, n)

    records = []
    prev_poor: np.ndarray | None = None
    prev_std: str | None = None
    for year in YEARS:
        std = default_standard_for_year(year)
        t = totals.loc[year].to_numpy()
        first_year_of_std = std != prev_std
        years_in = year - {"2016-2020": 2015, "2021-2025": 2021}.get(std or "", 2026)
        logits = a_commune + a_district + lag * (0.45 * years_in)
        if std == "2021-2025":
            logits = logits + 0.35 * np.isin(dist, ["181", "184"])  # 2022-2025 poor districts
        poor_target = cal.poor_households.get(year, round(cal.poverty_rate[year] / 100 * t.sum()))
        poor = np.zeros(n, dtype=np.int64)
        pinned = np.zeros(n, dtype=bool)
        for dcode, dpoor in _district_pins(cal, year, dist, t).items():
            inside = dist == dcode
            poor[inside] = _allocate(logits[inside], t[inside], dpoor, t[inside])
            pinned |= inside
        rest = poor_target - poor[pinned].sum()
        poor[~pinned] = _allocate(logits[~pinned], t[~pinned], rest, t[~pinned])

        near_target = cal.near_poor_households.get(year, round(cal.near_poor_rate[year] / 100 * t.sum()))
        near_logits = a_near + 0.5 * a_district
        near = _allocate(near_logits, t, near_target, t - poor)

        newly = rng.binomial(t, 0.004)
        re_poor = rng.binomial(t, 0.0015)
        newly = np.minimum(newly, poor)
        re_poor = np.minimum(re_poor, poor - newly)
        if prev_poor is None or first_year_of_std:
            escaped = np.full(n, -1)
        else:
            escaped = np.maximum(prev_poor - poor + newly + re_poor, 0)
        ethnic_share = np.clip(0.84 + rng.normal(0.08, 0.05, n), 0.5, 1.0)
        ethnic = np.round(poor * ethnic_share).astype(np.int64)
        for i in range(n):
            records.append((codes[i], year, std, int(t[i]), int(poor[i]), int(near[i]),
                            None if escaped[i] < 0 else int(escaped[i]), int(newly[i]), int(re_poor[i]),
                            int(ethnic[i])))
        prev_poor, prev_std = poor, std

    df = pd.DataFrame.from_records(records, columns=[
        "unit_code", "year", "standard", "households_total", "poor_households", "near_poor_households",
        "escaped_poor", "newly_poor", "re_poor", "ethnic_minority_poor"])
    for c in df.columns[3:]:
        df[c] = df[c].astype("Int64")
    # its own random stream: the columns above stay as they were before these were added
    return _programme_columns(df, np.random.default_rng(seed + 18))


#: Illustrative share of poor households lacking each deprivation indicator (percent) in the
#: first (end-2021) and last (end-2025) reviews of the 2022-2025 standard; none published for
#: Lạng Sơn in our sources, so the demo only has to look plausible: latrines the widest gap,
#: housing and adult education next, health insurance and schooling near covered.
DEPRIVATION_PATH = {
    "employment": (15.0, 9.0), "dependants": (21.0, 18.0), "nutrition": (11.0, 6.0),
    "health_insurance": (3.5, 1.2), "adult_education": (12.0, 6.5), "child_school": (2.5, 0.8),
    "housing_quality": (24.0, 12.5), "housing_area": (17.0, 9.0), "water": (6.5, 1.8),
    "latrine": (63.0, 44.0), "telecom": (6.0, 1.6), "information": (8.0, 2.4),
}
#: Illustrative province totals of the programme's outputs (the plans' targets in data/targets/20.toml)
HELPED_PER_YEAR = {2016: 3150, 2017: 3320, 2018: 2870, 2019: 3240, 2020: 3060}
LOANS = {2017: 15800}
TRAINED = {2017: 940}


def _programme_columns(df: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Deprivation counts (2021-2025 reviews), the start-of-year poor count (where the year has
    flows) and the programme's outputs, illustrative."""
    out = df.copy()
    # start = end + out − back − new: the year before's end, except where its flows were clipped at 0
    out["poor_households_start"] = (out["poor_households"] + out["escaped_poor"] - out["re_poor"]
                                    - out["newly_poor"]).astype("Int64")
    poor = out["poor_households"].to_numpy(dtype="int64")
    years = out["year"].to_numpy()
    in_std = (out["standard"] == "2021-2025").to_numpy() & (years <= 2025)
    frac = np.clip((years - 2021) / 4, 0, 1)
    for k, (a, b) in DEPRIVATION_PATH.items():
        share = (a + (b - a) * frac) / 100 * np.exp(rng.normal(0, 0.25, len(out)))
        count = rng.binomial(poor, np.clip(share, 0, 1))
        out[f"deprived_{k}"] = pd.array(np.where(in_std, count, 0), dtype="Int64")
        out.loc[~in_std, f"deprived_{k}"] = pd.NA

    # ethnic-minority households: about four in five of Lạng Sơn's (illustrative), one share per
    # commune, never below its ethnic-minority poor
    codes = out["unit_code"].to_numpy()
    uniq = np.unique(codes)
    share_of = dict(zip(uniq, np.clip(rng.normal(0.80, 0.12, len(uniq)), 0.3, 0.99)))
    em = np.round(out["households_total"].to_numpy(dtype="float64") * np.array([share_of[c] for c in codes]))
    out["ethnic_minority_households"] = pd.array(np.maximum(em.astype("int64"),
                                                            out["ethnic_minority_poor"].to_numpy(dtype="int64")),
                                                 dtype="Int64")

    def spread(totals: dict[int, int], col: str) -> None:
        values = pd.array([pd.NA] * len(out), dtype="Int64")
        for y, total in totals.items():
            rows = np.flatnonzero(years == y)
            w = poor[rows] / max(poor[rows].sum(), 1)
            values[rows] = rng.multinomial(total, w)
        out[col] = values

    spread(HELPED_PER_YEAR, "poor_households_helped")
    spread(LOANS, "preferential_loans")
    spread(TRAINED, "vocational_training")
    # near-poor households lack the same indicators, less often (illustrative: 0.6 × the poor's shares)
    near = out["near_poor_households"].to_numpy(dtype="int64")
    for k, (a, b) in DEPRIVATION_PATH.items():
        share = 0.6 * (a + (b - a) * frac) / 100 * np.exp(rng.normal(0, 0.25, len(out)))
        count = rng.binomial(near, np.clip(share, 0, 1))
        out[f"deprived_near_{k}"] = pd.array(np.where(in_std, count, 0), dtype="Int64")
        out.loc[~in_std, f"deprived_near_{k}"] = pd.NA
    from povdata.indicators import COUNT_COLUMNS  # the store's order, so that a stored demo reads back the same
    return out[["unit_code", "year", "standard", *[c for c in COUNT_COLUMNS if c in out]]]

