"""What-if projections: floors, models, integer households, URL round trip."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from povdata.scenarios import Scenario, crossing_years, project, project_rates


@pytest.mark.parametrize("model, r0, pace, expected", [
    ("pp", 10.0, 3.0, [10.0, 7.0, 4.0, 1.0, 0.0, 0.0]),          # floors at 0, never negative
    ("pp", 2.32, 3.0, [2.32, 0.0, 0.0, 0.0, 0.0, 0.0]),
    ("share", 10.0, 5.0, [10.0, 5.0, 2.5, 1.25, 0.625, 0.3125]),  # first-year fall = pace, then slows
    ("share", 2.0, 5.0, [2.0, 0.0, 0.0, 0.0, 0.0, 0.0]),          # share capped at 100%
    ("share", 0.0, 1.0, [0.0] * 6),
])
def test_project_rates(model, r0, pace, expected):
    got = project_rates(np.array([r0]), np.array([pace]), np.arange(6), model)[0]
    np.testing.assert_allclose(got, expected, atol=1e-9)
    assert (got >= 0).all()


def test_share_model_is_never_negative_and_slows():
    got = project_rates(np.array([40.0, 3.0]), np.array([6.0, 0.5]), np.arange(30), "share")
    assert (got >= 0).all()
    falls = -np.diff(got, axis=1)
    assert (np.diff(falls, axis=1) <= 1e-12).all()  # each year's fall is no larger than the last


def _levels() -> pd.DataFrame:
    return pd.DataFrame({
        "unit_code": ["A"] * 3 + ["B"] * 2,
        "year": [2023, 2024, 2025, 2024, 2025],
        "level": "district",
        "poverty_rate": [20.0, 15.0, 10.0, 5.0, 4.0],
        "households_total": pd.array([1000, 1010, 1020, 500, 505], dtype="Int64"),
    })


def test_project_households_are_integers_and_grow():
    sc = Scenario(model="pp", household_growth=2.0, horizon=2028)
    p = project(_levels(), ["A", "B"], {"A": 3.0, "B": 1.0}, sc)
    a = p[p["unit_code"] == "A"].set_index("year")
    assert a.loc[2025, "kind"] == "actual" and a.loc[2026, "kind"] == "projected"
    assert a["households_total"].tolist() == [1020, 1040, 1061, 1082]  # rint(1020 * 1.02^t)
    assert a["poverty_rate"].tolist() == [10.0, 7.0, 4.0, 1.0]
    assert str(p["poor_households"].dtype) == "Int64"
    assert a.loc[2026, "poor_households"] == round(0.07 * 1040)


def test_historical_growth_is_the_default():
    p = project(_levels(), ["A"], {"A": 0.0}, Scenario(horizon=2027))
    hh = p.set_index("year")["households_total"]
    assert hh[2026] == 1030 and hh[2027] == 1040  # (1020/1000)^(1/2) - 1 ≈ 1%/yr


def test_crossing_years():
    p = project(_levels(), ["A", "B"], {"A": 2.0, "B": 0.0}, Scenario(horizon=2030))
    cross = crossing_years(p, 5.0)
    assert cross["A"] == 2028  # 10 - 2*3 = 4 <= 5 at 2028 (2027: 6)
    assert pd.isna(cross["B"]) is False and cross["B"] == 2025  # already at 4 <= 5


@pytest.mark.parametrize("query", [
    {"sc_prov": "abc", "sc_model": "magic", "sc_h": "x"},
    {"sc_prov": "1e9", "sc_d": "181:4,xx:1,184:zz"},
    {"sc_prov": "nan"},
    {},
])
def test_scenario_from_bad_query_falls_back(query):
    sc = Scenario.from_query(query)
    assert sc.model in ("pp", "share")
    assert 0 <= sc.province_pace <= 20
    assert all(k.isdigit() for k in sc.district_paces)


def test_scenario_round_trips_through_the_url():
    sc = Scenario(name="Thận trọng", model="share", province_pace=1.2, poor_district_pace=4.5,
                  district_paces={"181": 6.0}, household_growth=1.5)
    assert Scenario.from_query(sc.to_query()) == sc


# ---- the year each target is reached (issue 15) ----------------------------------------------
from dataclasses import replace  # noqa: E402

from povdata.dataset import level_table, load_demo  # noqa: E402
from povdata.scenarios import scenario_targets  # noqa: E402
from povdata.targets import default_targets  # noqa: E402


@pytest.fixture(scope="module")
def demo():
    return level_table(load_demo("20")), default_targets("20")


def test_year_each_open_target_is_reached(demo):
    levels, cfg = demo
    tt = scenario_targets(levels, cfg, "20", Scenario(province_pace=1.0, poor_district_pace=5.0)).set_index("target_id")
    # only targets still open after the latest review (2026): the 2026-2030 pace rule and the 2030 milestone
    assert set(tt.index) == {"national_1pp", "no_poor_district_2030"}
    # 1 pp/yr from the 2026 baseline (6,10%) reaches the period's end rate 6,10 − 1 × 4 = 2,10 in 2030
    assert (tt.at["national_1pp", "year_reached"], tt.at["national_1pp", "status"]) == (2030, "met")
    # the poor districts at 5 pp/yr: the last below 10% in 2028, before the 2030 deadline
    proj = project(levels, ["181", "184"], {"181": 5.0, "184": 5.0}, Scenario())
    last = int(crossing_years(proj, cfg.poor_district_exit_rate).max())
    assert tt.at["no_poor_district_2030", "year_reached"] == last == 2028
    assert tt.at["no_poor_district_2030", "status"] == "met"


def test_a_faster_pace_reaches_the_pace_target_earlier_and_a_slow_one_not_at_all(demo):
    levels, cfg = demo
    fast = scenario_targets(levels, cfg, "20", Scenario(province_pace=2.0)).set_index("target_id")
    assert fast.at["national_1pp", "year_reached"] == 2028  # 6,10 − 2 × 2 = 2,10
    slow = scenario_targets(levels, cfg, "20", Scenario(province_pace=0.5, poor_district_pace=0.5)).set_index("target_id")
    assert pd.isna(slow.at["national_1pp", "year_reached"]) and slow.at["national_1pp", "status"] == "not_met"
    assert pd.isna(slow.at["no_poor_district_2030", "year_reached"])
    assert slow.at["no_poor_district_2030", "status"] == "not_met"


def test_a_projection_never_joins_two_standards(demo):
    levels, cfg = demo
    # a 2026-2030 pace rule judged on data whose latest review is still under the 2021-2025
    # standard: no verdict ("no_data"), never a pace across the change of standard
    old = levels[levels["year"] <= 2025]
    tt = scenario_targets(old, cfg, "20", Scenario()).set_index("target_id")
    assert tt.at["national_1pp", "status"] == "no_data" and pd.isna(tt.at["national_1pp", "year_reached"])


def test_an_exit_decision_counts_for_the_milestone(demo):
    from povdata.designations import Decision

    levels, cfg = demo
    out = tuple(Decision("20", f"{i}/QĐ-TTg", "2026-03-01", "Thủ tướng", "exit", "poor_district", c)
                for i, c in enumerate(("181", "184")))
    tt = scenario_targets(levels, replace(cfg, decisions=cfg.decisions + out), "20",
                          Scenario(poor_district_pace=0.0)).set_index("target_id")
    # both out by decision: reached at the latest review even with no fall at all
    assert (tt.at["no_poor_district_2030", "year_reached"], tt.at["no_poor_district_2030", "status"]) == (2026, "met")


def test_the_side_by_side_chart_says_what_it_shows(demo):
    from povdata.charts import projection_figure

    levels, cfg = demo
    p = project(levels, ["20", "181"], {"20": 1.0, "181": 5.0}, Scenario())
    fig = projection_figure(p, {"20": "Tỉnh Lạng Sơn", "181": "<b>Huyện</b>"}, ["20", "181"], 10.0, "vi",
                            "Dự báo 2026-2030", "Chuẩn <2026-2030>")
    assert fig.layout.title.text.startswith("Dự báo 2026-2030<br>") and "Chuẩn &lt;2026-2030&gt;" in fig.layout.title.text
    assert fig.data[0].line.width == 3 and fig.data[1].name == "&lt;b&gt;Huyện&lt;/b&gt;"  # never rendered
    assert fig.data[0].hovertext[0] == "Tỉnh Lạng Sơn 2026: 6,10%"  # the Vietnamese way
    assert fig.layout.shapes[0].y0 == 10.0 and fig.layout.separators == ",."
