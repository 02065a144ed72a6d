"""Progress against pp-per-year rules and poor-district milestones."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from povdata.dataset import level_table, load_demo
from povdata.progress import poor_district_outlook, poor_districts_for, progress_table, rate_progress
from povdata.targets import Period, Target, default_targets

AT_LEAST, GREATER = "annual_reduction_at_least", "annual_reduction_greater_than"


def _period(start=2016, end=2020, baseline=2015, standard="2016-2020") -> Period:
    return Period("p", start, end, baseline, standard, "test")


def _target(value=3.0, rule=AT_LEAST) -> Target:
    return Target("t", "province", rule, value, "pp_per_year", "set by the user", "test")


def _series(rates: dict[int, float], standard="2016-2020") -> pd.DataFrame:
    return pd.DataFrame({"year": list(rates), "standard": standard, "poverty_rate": list(rates.values())})


@pytest.fixture(scope="module")
def cfg():
    return default_targets("20")


@pytest.fixture(scope="module")
def levels():
    return level_table(load_demo("20"))


@pytest.fixture(scope="module")
def table(levels, cfg):
    return progress_table(levels, cfg)


# --- the published 2016-2020 result -----------------------------------------------------


def test_lang_son_2016_2020_from_published_end_points():
    """(25.95 − 7.88) / 5 = 3.61 pp/yr: the rule of 3 pp/yr is met (published 2015 and 2020 rates)."""
    rates = {2015: 25.95, 2016: 23.0, 2017: 19.07, 2018: 15.0, 2019: 11.0, 2020: 7.88}
    out = rate_progress(_series(rates), _period(), _target(3.0), margin=1.0)
    assert out["achieved_pp_per_year"] == pytest.approx(3.61, abs=0.005)
    assert out["status"] == "met"
    assert (out["baseline_rate"], out["latest_rate"], out["years_elapsed"]) == (25.95, 7.88, 5)


def test_lang_son_2016_2020_province_on_demo_data(table):
    row = table[(table["period_id"] == "2016-2020") & (table["level"] == "province")].iloc[0]
    assert row["unit_code"] == "20" and row["basis"] == "rule"
    assert row["achieved_pp_per_year"] == pytest.approx(3.61, abs=0.005)
    assert row["status"] == "met"


# --- required pace and statuses ----------------------------------------------------------


def test_required_pace_of_a_poor_district():
    """40% in the 2021 baseline review, > 5 pp/yr over 2021-2026, one review in: 4 years left."""
    period = _period(start=2022, end=2026, baseline=2021, standard="2021-2025")
    out = rate_progress(_series({2021: 40.0, 2022: 36.0}, "2021-2025"), period, _target(5.0, GREATER),
                        margin=1.0, exit_rate=10.0)
    end_rate = 40.0 - 5.0 * (2026 - 2021)  # the target path ends at 15%
    assert out["target_end_rate"] == pytest.approx(end_rate)
    assert out["achieved_pp_per_year"] == pytest.approx(4.0)
    assert out["required_pp_per_year"] == pytest.approx((36.0 - end_rate) / 4)
    assert out["gap_pp_per_year"] == pytest.approx(4.0 - 5.0)
    assert out["status"] == "at_risk"  # 4 ≥ 5 − 1 (margin) but not > 5


@pytest.mark.parametrize(
    "rates, exit_rate, status",
    [
        # below the exit threshold but slow: a pace rule is judged on the pace (and 3 pp/yr from
        # 12% over five years would go below 0%: 'floor'), never 'met' for being low
        ({2015: 12.0, 2016: 11.5, 2017: 9.5}, 10.0, "floor"),
        ({2015: 12.0, 2016: 11.5, 2017: 10.0}, 10.0, "floor"),
        ({2015: 12.0, 2016: 11.5, 2017: 10.5}, 10.0, "floor"),
        ({2015: 40.0, 2016: 39.0, 2017: 38.0}, 10.0, "off_track"),
        ({2015: 40.0, 2016: 36.0, 2017: 33.0}, 10.0, "on_track"),  # 3,5 pp/yr: on the pace
        ({2015: 12.0, 2016: 10.5, 2017: 9.0}, 10.0, "floor"),  # the case, slower still
    ],
)
def test_a_pace_rule_is_judged_on_the_pace_not_the_exit_threshold(rates, exit_rate, status):
    out = rate_progress(_series(rates), _period(), _target(3.0), margin=1.0, exit_rate=exit_rate)
    assert out["status"] == status


@pytest.mark.parametrize(
    "rates",
    [
        {2015: 30.0, 2016: 27.0, 2018: 21.0},  # 2017 missing in the middle
        {2015: 30.0},  # only the baseline
        {2016: 27.0, 2017: 24.0},  # no baseline review
        {2015: 30.0, 2016: np.nan, 2017: 24.0},  # a review without a rate
    ],
    ids=["gap", "one-year", "no-baseline", "nan-in-middle"],
)
def test_no_data(rates):
    out = rate_progress(_series(rates), _period(), _target(), margin=1.0)
    assert out["status"] == "no_data"
    assert math.isnan(out["achieved_pp_per_year"])


def test_reviews_under_another_standard_do_not_count():
    rates = _series({2015: 30.0, 2016: 27.0})
    later = _series({2021: 12.0, 2022: 9.0}, "2021-2025")
    period = _period(start=2021, end=2025, baseline=2021, standard="2021-2025")
    out = rate_progress(pd.concat([rates, later]), period, _target(), margin=1.0)
    assert (out["baseline_rate"], out["latest_rate"]) == (12.0, 9.0)
    assert rate_progress(rates, period, _target(), margin=1.0)["status"] == "no_data"


@pytest.mark.parametrize(
    "rates, status",
    [
        ({2015: 2.0, 2016: 1.8, 2017: 1.5}, "floor"),  # 2 − 3 × 5 < 0: 3 pp/yr cannot be met even at 0%
        ({2015: 2.0, 2016: 1.0, 2017: 0.5, 2018: 0.2, 2019: 0.1, 2020: 0.0}, "floor"),  # over, at 0%
        ({2015: 15.0, 2016: 14.0, 2017: 13.0}, "off_track"),  # 15 − 15 = 0: still possible
    ],
)
def test_floor(rates, status):
    out = rate_progress(_series(rates), _period(), _target(3.0), margin=1.0)
    assert out["status"] == status


# achieved pace over 2015-2017 (two years) = (30 − latest) / 2; end rate 30 − 5 × value ≥ 0
@pytest.mark.parametrize(
    "rule, value, margin, latest, status",
    [
        (AT_LEAST, 3.0, 1.0, 24.0, "on_track"),  # 3.0 ≥ 3
        (AT_LEAST, 3.0, 1.0, 24.002, "at_risk"),  # 2.999
        (AT_LEAST, 3.0, 1.0, 26.0, "at_risk"),  # 2.0 = 3 − 1
        (AT_LEAST, 3.0, 1.0, 26.002, "off_track"),  # 1.999
        (AT_LEAST, 3.0, 0.5, 25.0, "at_risk"),  # 2.5 = 3 − 0.5
        (AT_LEAST, 3.0, 0.5, 25.2, "off_track"),  # 2.4
        (AT_LEAST, 3.0, 0.0, 24.002, "off_track"),  # no margin: just short is off track
        (GREATER, 3.0, 1.0, 24.0, "at_risk"),  # 3.0 is not > 3
        (GREATER, 3.0, 1.0, 23.998, "on_track"),  # 3.001 > 3
        (AT_LEAST, 3.0, 1.0, 18.0, "on_track"),  # 6.0
    ],
)
def test_status_boundaries(rule, value, margin, latest, status):
    out = rate_progress(_series({2015: 30.0, 2016: 28.0, 2017: latest}), _period(), _target(value, rule), margin)
    assert out["status"] == status, out["achieved_pp_per_year"]


@pytest.mark.parametrize(
    "latest, status",
    [(15.0, "met"), (14.9, "met"), (15.1, "not_met")],  # 30 − 3 × 5 = 15 at the end of the period
)
def test_period_over(latest, status):
    rates = {2015: 30.0, 2016: 27.0, 2017: 24.0, 2018: 21.0, 2019: 18.0, 2020: latest}
    out = rate_progress(_series(rates), _period(), _target(3.0), margin=1.0)
    assert out["status"] == status
    assert math.isnan(out["required_pp_per_year"])  # nothing left to require


def test_as_of_cuts_the_series():
    rates = {2015: 30.0, 2016: 27.0, 2017: 24.0, 2018: 23.5}
    out = rate_progress(_series(rates), _period(), _target(3.0), margin=1.0, as_of=2017)
    assert out["latest_year"] == 2017 and out["status"] == "on_track"
    assert out["required_pp_per_year"] == pytest.approx((24.0 - 15.0) / 3)


# --- poor districts and milestones on the demo data --------------------------------------


def test_poor_district_rule_rows(table, cfg):
    rows = table[table["target_id"] == "poor_districts_5pp"]
    poor = set(poor_districts_for("20", 2021, 2025))
    assert set(rows.loc[rows["basis"] == "rule", "unit_code"]) == poor
    assert (rows.loc[rows["basis"] == "not_applicable", "status"] == "not_applicable").all()
    assert set(rows["unit_code"]) == set(table.loc[table["level"] == "district", "unit_code"])


def _latest(levels: pd.DataFrame, code: str) -> tuple[int, float, float]:
    """Latest year, latest rate and pace since the first review of the latest standard with two
    reviews (2026 is the 2026-2030 standard's only review: the outlook stays on 2021-2025)."""
    s = levels[(levels["unit_code"] == code) & levels["poverty_rate"].notna()].sort_values("year")
    n = s.groupby("standard")["year"].count()
    s = s[s["standard"] == [st for st in s["standard"].unique()[::-1] if n[st] >= 2][0]]
    first, last = s.iloc[0], s.iloc[-1]
    pace = (first["poverty_rate"] - last["poverty_rate"]) / (last["year"] - first["year"])
    return int(last["year"]), float(last["poverty_rate"]), float(pace)


def test_milestone_one_poor_district_exits_by_2025(table, levels, cfg):
    row = table[table["target_id"] == "one_poor_district_exits"].iloc[0]
    poor = poor_districts_for("20", 2021, 2025)
    upto = levels[levels["year"] <= 2025]  # 'by 2025' is judged on the reviews up to 2025, not 2026's
    assert row["latest_year"] == 2025
    below = [d for d in poor if _latest(upto, d)[1] <= cfg.poor_district_exit_rate]
    # out of poverty only by decision: none entered, so none out; the district below the threshold
    # the user set is said as awaiting its decision, never as met
    assert (row["poor_districts"], row["exited_now"]) == (len(poor), 0)
    assert len(below) >= 1 and row["status"] == "pending_decision"
    # an exit decision dated within the milestone's year makes it met; one dated after does not
    from dataclasses import replace as _replace

    from povdata.designations import Decision
    for day, status, n in (("2025-12-20", "met", 1), ("2026-03-01", "pending_decision", 0)):
        exit_ = Decision("20", "123/QĐ-TTg", day, "Thủ tướng Chính phủ", "exit", "poor_district", below[0],
                         origin="entered")
        cfg2 = _replace(cfg, decisions=cfg.decisions + (exit_,))
        row2 = progress_table(levels, cfg2).set_index("target_id").loc["one_poor_district_exits"]
        assert (row2["exited_now"], row2["status"]) == (n, status), day


def test_milestone_no_poor_district_left_by_2030(table, levels, cfg):
    row = table[table["target_id"] == "no_poor_district_2030"].iloc[0]
    poor = poor_districts_for("20", 2021, 2030)
    left = [d for d in poor if _latest(levels, d)[1] > cfg.poor_district_exit_rate]
    assert left, "the demo keeps at least one poor district above the threshold in 2025"
    # each district still poor crosses the threshold by 2030 at its own 2021-2025 pace
    for d in left:
        year, rate, pace = _latest(levels, d)
        assert pace > 0 and year + (rate - cfg.poor_district_exit_rate) / pace <= 2030
    assert row["poor_districts"] == len(poor)
    assert row["status"] == "on_track"


@pytest.mark.parametrize(
    "rates, horizon, status, projected",
    [
        ({2021: 30.0, 2025: 10.5}, 2030, "on_track", 2026),  # 4.875 pp/yr: 0.5 pp left, one more year
        ({2021: 30.0, 2025: 9.0}, 2030, "pending_decision", 2025),  # below the threshold: no decision yet
        ({2021: 30.0, 2025: 29.0}, 2030, "off_track", 2101),  # 0.25 pp/yr: 19 pp left take 76 years
        ({2021: 30.0, 2025: 31.0}, 2030, "off_track", np.nan),  # rising: never
        ({2021: 30.0, 2025: 20.0}, 2025, "not_met", 2029),  # horizon reached, still above
    ],
)
def test_poor_district_outlook(cfg, rates, horizon, status, projected):
    levels = pd.DataFrame({"unit_code": "181", "year": list(rates), "standard": "2021-2025",
                           "poverty_rate": list(rates.values())})
    designations = pd.DataFrame({"province_code": ["20"], "district_code": ["181"], "period_start": [2022],
                                 "period_end": [2025]})
    out = poor_district_outlook(levels, cfg, 2021, 2025, horizon=horizon, designations=designations).iloc[0]
    assert out["status"] == status
    assert (np.isnan(projected) and np.isnan(out["projected_exit_year"])) or out["projected_exit_year"] == projected
