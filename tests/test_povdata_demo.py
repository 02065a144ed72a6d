"""The illustrative dataset: deterministic, calibrated to the published figures, and on disk as built."""
from __future__ import annotations

import pandas as pd
import pytest

from povdata.dataset import DEMO_DIR, Dataset, level_table, load_demo
from povdata.demo import build_demo_indicators
from povdata.published import poor_districts, published_figures
from povdata.reform import REFORM_YEAR
from povdata.units import legacy_communes, units_2025

#: Published province figures of Lạng Sơn (year, standard, poverty rate %), see
#: data/published/published_figures.csv.
PUBLISHED_RATES = [
    (2015, "2016-2020", 25.95),
    (2017, "2016-2020", 19.07),
    (2020, "2016-2020", 7.88),
    (2021, "2021-2025", 12.20),
    (2024, "2021-2025", 3.36),
    (2025, "2021-2025", 2.32),
]
#: Published counts the demo reproduces exactly: (unit, year, poor households, total households or None)
PUBLISHED_COUNTS = [
    ("20", 2025, 4_643, 199_765),
    ("20", 2017, 36_537, None),
    ("20", 2021, 23_510, None),
    ("181", 2018, 3_681, 12_868),  # Bình Gia
    ("185", 2020, 1_589, None),  # Bắc Sơn
]


@pytest.fixture(scope="module")
def built() -> pd.DataFrame:
    return build_demo_indicators("20")


@pytest.fixture(scope="module")
def levels(built) -> pd.DataFrame:
    ds = Dataset("20", built, "illustrative", "test", "test", "test")
    return level_table(ds)


def _at(levels: pd.DataFrame, unit: str, year: int) -> pd.Series:
    rows = levels[(levels["unit_code"] == unit) & (levels["year"] == year)]
    assert len(rows) == 1, (unit, year, len(rows))
    return rows.iloc[0]


def test_build_is_deterministic(built):
    pd.testing.assert_frame_equal(build_demo_indicators("20"), built)


def test_another_seed_gives_other_numbers(built):
    assert not build_demo_indicators("20", seed=1).equals(built)


def test_committed_demo_data_is_what_the_code_builds(built):
    on_disk = (DEMO_DIR / "20" / "indicators.csv").read_text(encoding="utf-8")
    assert built.to_csv(index=False, lineterminator="\n") == on_disk


def test_committed_demo_loads_as_illustrative():
    ds = load_demo("20")
    assert ds.data_status == "illustrative" and ds.is_illustrative
    assert ds.indicators["unit_code"].str.fullmatch(r"\d{5}").all()


@pytest.mark.parametrize("year", range(2015, 2027))
def test_one_row_per_commune_of_its_era(built, year):
    """Reviews before the 2025 reform are on the 194 old communes, later ones on the 65 new communes."""
    units = legacy_communes("20") if year < REFORM_YEAR else units_2025("20").query("level == 'commune'")
    rows = built[built["year"] == year]
    assert not rows["unit_code"].duplicated().any()
    assert set(rows["unit_code"]) == set(units["code"])


@pytest.mark.parametrize("year, standard, rate", PUBLISHED_RATES)
def test_published_reference_figures(year, standard, rate):
    """The literals above are the published ones (guards against a typo in this file)."""
    pub = published_figures()
    row = pub[(pub["unit_code"] == "20") & (pub["year"] == year) & (pub["indicator"] == "poverty_rate")]
    assert len(row) == 1
    assert row["standard"].item() == standard
    assert float(row["value"].item()) == rate


@pytest.mark.parametrize("year, standard, rate", PUBLISHED_RATES)
def test_province_aggregate_matches_published_rate(levels, year, standard, rate):
    prov = _at(levels, "20", year)
    assert prov["standard"] == standard
    assert prov["rate_from"] == "counts"
    assert prov["poverty_rate"] == pytest.approx(rate, abs=0.05)


@pytest.mark.parametrize("unit, year, poor, total", PUBLISHED_COUNTS)
def test_published_counts_reproduced_exactly(levels, unit, year, poor, total):
    row = _at(levels, unit, year)
    assert row["poor_households"] == poor
    if total is not None:
        assert row["households_total"] == total


def test_standards_follow_review_years(built):
    by_year = built.groupby("year")["standard"].unique()
    for year, stds in by_year.items():
        # end-2026 is the first review under the 2026-2030 standard (data/standards.csv)
        assert list(stds) == ["2016-2020" if year <= 2020 else "2021-2025" if year <= 2025 else "2026-2030"], year


def test_counts_are_consistent(built):
    assert (built["poor_households"] + built["near_poor_households"] <= built["households_total"]).all()
    assert (built[["households_total", "poor_households", "near_poor_households"]] >= 0).all().all()


_DESIGNATIONS = [
    (r.district_code, max(int(r.period_start), 2015))
    for r in poor_districts().itertuples()
    if r.province_code == "20" and int(r.period_end) >= 2015
]


@pytest.mark.parametrize("district, year", _DESIGNATIONS)
def test_poor_districts_start_far_above_the_province(levels, district, year):
    """In the first demo year of its designation, a poor district is at least 1.5 times the province."""
    assert _at(levels, district, year)["poverty_rate"] >= 1.5 * _at(levels, "20", year)["poverty_rate"]


def test_a_few_communes_lag(levels):
    """While the province fell from 25.95% to 7.88% (2015-2020), a few communes did not fall at all."""
    com = levels[levels["level"] == "commune"].pivot(index="unit_code", columns="year", values="poverty_rate")
    lagging = com.index[com[2020] >= com[2015]]
    assert 1 <= len(lagging) <= 10, list(lagging)
    assert _at(levels, "20", 2020)["poverty_rate"] < 0.5 * _at(levels, "20", 2015)["poverty_rate"]
