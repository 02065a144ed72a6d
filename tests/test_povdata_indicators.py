"""Derived rates, aggregation by households, and year-on-year change within one standard."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from povdata.indicators import INDICATORS, aggregate, derive_rates, with_previous_year

NA = pd.NA
S1, S2 = "2016-2020", "2021-2025"


def _table(rows: list[tuple], columns=("unit_code", "year", "standard", "households_total",
                                        "poor_households", "near_poor_households")) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns))
    for c in columns[3:]:
        df[c] = df[c].astype("Int64")
    return df


@pytest.mark.parametrize(
    "total, poor, published, rate, rate_from",
    [
        (1000, 50, np.nan, 5.0, "counts"),
        (1000, 50, 9.9, 5.0, "counts"),  # counts win over a published rate
        (NA, 50, 7.0, 7.0, "published"),  # no total: the published rate
        (1000, NA, 7.0, 7.0, "published"),  # no poor count: the published rate
        (0, 0, 3.0, 3.0, "published"),  # a zero total gives no rate from counts
        (NA, NA, np.nan, np.nan, "none"),
        (0, 0, np.nan, np.nan, "none"),
    ],
)
def test_derive_rates(total, poor, published, rate, rate_from):
    ind = _table([("x", 2020, S1, total, poor, 10)])
    ind["poverty_rate_published"] = published
    out = derive_rates(ind).iloc[0]
    assert out["rate_from"] == rate_from
    if math.isnan(rate):
        assert math.isnan(out["poverty_rate"])
    else:
        assert out["poverty_rate"] == pytest.approx(rate)


@pytest.mark.parametrize(
    "total, near, published, rate",
    [(1000, 80, np.nan, 8.0), (NA, 80, 6.5, 6.5), (1000, NA, 6.5, 6.5), (NA, NA, np.nan, np.nan)],
)
def test_near_poor_rate(total, near, published, rate):
    ind = _table([("x", 2020, S1, total, 10, near)])
    ind["near_poor_rate_published"] = published
    got = derive_rates(ind).iloc[0]["near_poor_rate"]
    assert (math.isnan(got) and math.isnan(rate)) or got == pytest.approx(rate)


def test_derive_rates_does_not_change_its_input():
    ind = _table([("x", 2020, S1, 100, 10, 5)])
    before = ind.copy()
    derive_rates(ind)
    pd.testing.assert_frame_equal(ind, before)


def test_aggregate_sums_households_never_averages_rates():
    # a small commune at 50% and a big one at 10%: the mean of the rates (30%) is wrong
    ind = _table([("a", 2020, S1, 100, 50, 10), ("b", 2020, S1, 900, 90, 30)])
    out = aggregate(ind, pd.Series({"a": "D", "b": "D"})).iloc[0]
    assert (out["unit_code"], out["households_total"], out["poor_households"]) == ("D", 1000, 140)
    assert out["poverty_rate"] == pytest.approx((50 + 90) / (100 + 900) * 100)
    assert out["poverty_rate"] != pytest.approx((50.0 + 10.0) / 2)
    assert out["near_poor_rate"] == pytest.approx(40 / 1000 * 100)
    assert (out["units_reporting"], out["units_expected"]) == (2, 2)


@pytest.mark.parametrize("missing", ["households_total", "poor_households", "near_poor_households"])
def test_missing_child_count_leaves_parent_count_missing(missing):
    ind = _table([("a", 2020, S1, 100, 50, 10), ("b", 2020, S1, 900, 90, 30)])
    ind.loc[1, missing] = pd.NA
    out = aggregate(ind, pd.Series({"a": "D", "b": "D"})).iloc[0]
    assert pd.isna(out[missing])
    for other in {"households_total", "poor_households", "near_poor_households"} - {missing}:
        assert not pd.isna(out[other])
    if missing != "near_poor_households":
        assert math.isnan(out["poverty_rate"])  # never a rate from half the households


def test_children_under_two_standards_are_not_merged():
    ind = _table([("a", 2021, S1, 100, 40, 5), ("b", 2021, S2, 900, 80, 5)])
    out = aggregate(ind, pd.Series({"a": "D", "b": "D"})).sort_values("standard")
    assert out["standard"].tolist() == [S1, S2]
    assert out["households_total"].tolist() == [100, 900]
    assert out["units_reporting"].tolist() == [1, 1]
    assert out["poverty_rate"].tolist() == pytest.approx([40.0, 80 / 900 * 100])


def test_aggregate_to_two_parents():
    ind = _table([("a", 2020, S1, 100, 10, 0), ("b", 2020, S1, 200, 20, 0), ("c", 2020, S1, 300, 3, 0)])
    out = aggregate(ind, pd.Series({"a": "D1", "b": "D1", "c": "D2"})).set_index("unit_code")
    assert out.loc["D1", "poor_households"] == 30
    assert out.loc["D2", "poor_households"] == 3
    assert out.loc["D1", "units_expected"] == 2


@pytest.mark.parametrize(
    "rows, year, prev, change",
    [
        # same standard, consecutive years: a change
        ([(2019, S1, 100, 20), (2020, S1, 100, 15)], 2020, 20.0, -5.0),
        # a standard break between 2020 and 2021: no change
        ([(2020, S1, 100, 8), (2021, S2, 100, 12)], 2021, np.nan, np.nan),
        # a review missing in between: no change
        ([(2018, S1, 100, 20), (2020, S1, 100, 15)], 2020, np.nan, np.nan),
        # the first review: nothing before it
        ([(2021, S2, 100, 12), (2022, S2, 100, 9)], 2021, np.nan, np.nan),
    ],
)
def test_with_previous_year(rows, year, prev, change):
    ind = derive_rates(_table([("x", y, s, t, p, 0) for y, s, t, p in rows]))
    out = with_previous_year(ind, "poverty_rate").set_index("year").loc[year]
    for col, want in (("poverty_rate_prev", prev), ("poverty_rate_change", change)):
        got = float(out[col])
        assert (math.isnan(want) and math.isnan(got)) or got == pytest.approx(want), col


@pytest.mark.parametrize("ind_id", [k for k, v in INDICATORS.items() if v.kind == "rate"])
def test_rate_indicators_name_columns_that_exist(ind_id):
    """Every registry rate is numerator / denominator × 100 of columns that exist once the
    table has every stored count (each count a different number, so a swapped column shows)."""
    from povdata.registry import count_columns

    ind = INDICATORS[ind_id]
    counts = {c: 40 + 7 * i for i, c in enumerate(count_columns())}
    counts["households_total"] = 1000
    t = pd.DataFrame([{"unit_code": "x", "year": 2022, "standard": S2, **counts}])
    for c in counts:
        t[c] = t[c].astype("Int64")
    out = derive_rates(t)
    assert ind.id in out.columns
    assert ind.numerator in out.columns and ind.denominator in out.columns
    assert ind.unit == "%"
    num, den = float(out[ind.numerator].iloc[0]), float(out[ind.denominator].iloc[0])
    assert float(out[ind.id].iloc[0]) == pytest.approx(num / den * 100)


def test_coverage_is_the_complement_of_the_largest_deprivation_share():
    t = _table([("x", 2022, S2, 1000, 200, 100), ("y", 2022, S2, 1000, 0, 100)])
    t["deprived_housing_quality"] = pd.array([30, 0], dtype="Int64")
    t["deprived_housing_area"] = pd.array([50, 0], dtype="Int64")
    t["deprived_health_insurance"] = pd.array([NA, 0], dtype="Int64")
    out = derive_rates(t)
    assert out["durable_housing_8m2"].iloc[0] == pytest.approx(75.0)  # 100 − max(15, 25)
    assert out["deprived_housing_area_share"].iloc[0] == pytest.approx(25.0)
    assert math.isnan(out["health_insurance_coverage"].iloc[0])  # no count: no coverage, never 100%
    assert math.isnan(out["durable_housing_8m2"].iloc[1])  # no poor households: nothing to cover
    assert "clean_water" not in out  # a table without that deprivation has no such column
    t["deprived_near_health_insurance"] = pd.array([10, 0], dtype="Int64")
    t["deprived_health_insurance"] = pd.array([20, 0], dtype="Int64")
    pooled = derive_rates(t)["health_insurance_poor_near_poor"]
    assert pooled.iloc[0] == pytest.approx(100 - 30 / 300 * 100)  # (20 + 10) of 200 poor + 100 near-poor


def test_deprivation_shares_aggregate_by_summing_households():
    t = _table([("c1", 2022, S2, 1000, 100, 10), ("c2", 2022, S2, 1000, 300, 10)])
    t["deprived_water"] = pd.array([50, 30], dtype="Int64")  # 50 % and 10 %: the mean of rates would say 30 %
    out = aggregate(t, pd.Series({"c1": "d", "c2": "d"}))
    assert int(out["deprived_water"].iloc[0]) == 80
    assert out["deprived_water_share"].iloc[0] == pytest.approx(20.0)
    assert out["clean_water"].iloc[0] == pytest.approx(80.0)


