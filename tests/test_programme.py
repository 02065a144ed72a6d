"""Programme targets (service coverage, outputs) from the one engine, the committee's view,
and the registry as the single source: a dummy indicator added in a test reaches the template,
validation, the map's options and the CLI."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from povdata.programme import committee_table, deprivation_profile, programme_row, programme_targets
from povdata.progress import progress_table
from povdata.registry import Indicator, register, unregister
from povdata.targets import Period, Target, TargetsConfig, TargetsError, default_targets, parse_targets

S2 = "2021-2025"


def _levels(values: dict[int, float], indicator: str, standard: str = S2) -> pd.DataFrame:
    return pd.DataFrame({"unit_code": "20", "level": "province", "year": list(values), "standard": standard,
                         indicator: list(values.values())})


def _cfg(*targets: Target, start=2021, end=2025, baseline=2021, standard=S2) -> tuple[TargetsConfig, Period]:
    p = Period("p", start, end, baseline, standard, "", tuple(targets))
    return TargetsConfig("20", "Tỉnh Lạng Sơn", at_risk_margin_pp=1.0, periods=(p,)), p


def _share(value: float, by: int = 2025) -> Target:
    return Target("t", "province", "share_at_least", value, "percent", "reported", "", indicator="clean_water",
                  by_year=by, owner="agriculture")


@pytest.mark.parametrize("values, as_of, status, projected", [
    ({2021: 96.0, 2022: 97.0, 2023: 98.0}, 2023, "on_track", 100.0),  # +1/yr: 100 by 2025 (capped)
    ({2021: 96.0, 2022: 96.5, 2023: 97.0}, 2023, "at_risk", 98.0),   # 98 by 2025: within 1 pp of 99
    ({2021: 96.0, 2022: 96.0, 2023: 96.0}, 2023, "off_track", 96.0),
    ({2021: 96.0, 2022: 99.5}, 2022, "on_track", math.nan),           # already there before the deadline
    ({2021: 96.0, 2025: 99.2}, None, "met", math.nan),                # the deadline's review reached it
    ({2021: 96.0, 2025: 98.9}, None, "not_met", math.nan),
    ({2023: 98.5}, 2023, "at_risk", math.nan),                         # one review: the gap alone
    ({}, None, "no_data", math.nan),
])
def test_share_targets(values, as_of, status, projected):
    cfg, p = _cfg(_share(99.0))
    row = programme_row(_levels(values, "clean_water") if values else _levels({2021: math.nan}, "clean_water"),
                        cfg, p, p.targets[0], as_of)
    assert row["status"] == status
    assert (math.isnan(projected) and math.isnan(row["projected_value"])) or row["projected_value"] == pytest.approx(projected)
    assert row["owner"] == "agriculture" and row["period_id"] == "p"


def test_a_share_is_never_judged_across_a_standard_break():
    cfg, p = _cfg(_share(99.0))
    lv = pd.concat([_levels({2021: 90.0}, "clean_water", "2016-2020"), _levels({2022: 99.5}, "clean_water")])
    row = programme_row(lv, cfg, p, p.targets[0], 2022)
    assert row["trend"] == [(2022, 99.5)]


@pytest.mark.parametrize("rule, values, as_of, status, expected", [
    ("count_at_least", {2017: 15800}, None, "met", 15000),
    ("count_at_least", {2017: 14000}, None, "not_met", 15000),
    ("count_at_least", {2016: 2000, 2017: 2900}, 2017, "on_track", 2 * 12000 / 5),   # 4900 of a 4800 path
    ("count_at_least", {2016: 2000, 2017: 2500}, 2017, "at_risk", 2 * 12000 / 5),    # 4500: within 10 %
    ("count_at_least", {2016: 1000, 2017: 1000}, 2017, "off_track", 2 * 12000 / 5),
    ("per_year_at_least", {2016: 3100, 2017: 2900}, 2017, "at_risk", 3000),
    ("per_year_at_least", {y: 3100 for y in range(2016, 2021)}, None, "met", 3000),
    ("per_year_at_least", {2016: 3100, 2017: 2000, 2018: 3100, 2019: 3100, 2020: 3100}, None, "not_met", 3000),
])
def test_count_targets(rule, values, as_of, status, expected):
    value = 12000 if len(values) == 2 and rule == "count_at_least" and as_of else (15000 if rule == "count_at_least" else 3000)
    start, end = (2016, 2020) if (rule == "per_year_at_least" or as_of) else (2017, 2017)
    t = Target("c", "province", rule, value, "", "reported", "", indicator="preferential_loans")
    cfg, p = _cfg(t, start=start, end=end, baseline=start - 1, standard="2016-2020")
    row = programme_row(_levels(values, "preferential_loans", "2016-2020"), cfg, p, t, as_of)
    assert row["status"] == status
    assert row["expected_value"] == pytest.approx(expected)


def test_the_targets_file_refuses_an_unknown_or_unfit_indicator():
    base = {"province_code": "20", "period": [{"id": "p", "start": 2021, "end": 2025, "baseline_year": 2021,
                                               "standard": S2, "target": [{"id": "x", "scope": "province",
                                                                           "rule": "share_at_least", "value": 85}]}]}
    for indicator, word in (("not_there", "không phải chỉ tiêu đã biết"), ("preferential_loans", "không dùng được")):
        base["period"][0]["target"][0]["indicator"] = indicator
        with pytest.raises(TargetsError, match=word):
            parse_targets(base, "20.toml")


def test_the_demo_committee_view_one_row_per_target_with_owner_and_verdict():
    from povdata.dataset import level_table, load_demo
    cfg = default_targets("20")
    lv = level_table(load_demo("20"))
    prog = progress_table(lv, cfg, as_of=2023)
    rows = programme_targets(prog)
    # the Lạng Sơn resolution's 8 service targets, the 2017 plan's 2 outputs, 2015-2020 households helped
    assert len(rows) == 11 and rows["target_id"].is_unique
    view = committee_table(prog, cfg, "vi")
    health = committee_table(prog, cfg, "en", owner="health")
    assert set(health["target_id"]) == {"health_insurance_100", "hygienic_latrine_50"}
    assert set(health["owner"]) == {"Department of Health"}
    water = view.set_index("target_id").loc["clean_water_99"]
    assert water["owner"] == "Sở Nông nghiệp và Phát triển nông thôn" and water["latest_year"] == 2023
    assert water["latest"].endswith("%") and "," in water["latest"]  # Vietnamese number format
    assert len(water["trend"]) == 3  # the 2021, 2022 and 2023 reviews
    # the same verdict as the engine's row (one answer)
    eng = rows.set_index("target_id").loc["clean_water_99"]
    assert water["status"] == eng["status"]
    assert eng["latest_value"] == pytest.approx(100 - float(
        lv[(lv["level"] == "province") & (lv["year"] == 2023)]["deprived_water_share"].iloc[0]))


def test_deprivation_profile_puts_the_heaviest_first():
    from povdata.dataset import level_table, load_demo
    lv = level_table(load_demo("20"))
    prof = deprivation_profile(lv, "20")
    assert len(prof) == 12 and prof["share"].is_monotonic_decreasing
    assert prof["indicator"].iloc[0] == "deprived_latrine" and prof["year"].iloc[0] == 2025
    assert deprivation_profile(lv, "20", 2019).empty  # the 2016-2020 standard had no such form here
    from povdata.programme import deprivation_units
    units = deprivation_units(lv)
    assert units[0] == "20" and "181" in units and all(not deprivation_profile(lv, u).empty for u in units)
    from povdata.programme import deprivation_trend
    trend = deprivation_trend(lv, "20")
    assert [c for c in trend.columns if isinstance(c, int)] == [2021, 2022, 2023, 2024, 2025]
    latrine = trend.set_index("indicator").loc["deprived_latrine"]
    assert latrine["change"] == pytest.approx(latrine[2025] - latrine[2021]) and latrine["change"] < 0


@pytest.fixture()
def dummy():
    ind = Indicator("dummy_count", "households", "count", "output", supplementary=True, map=True, template=True,
                    keywords=(("chisogia",),), aliases=("Chỉ số giả",))
    register(ind)
    try:
        yield ind
    finally:
        unregister(ind.id)


def test_a_registered_indicator_reaches_template_validation_map_and_cli(dummy, tmp_path, capsys):
    from povdata.cli import main
    from povdata.importer import FIELDS, TEMPLATE_FIELDS, suggest_mapping, template_frame
    from povdata.validate import HEADER_ALIASES
    from povdata.views import map_indicators_for

    assert "dummy_count" in TEMPLATE_FIELDS and "dummy_count" in FIELDS
    assert str(FIELDS["dummy_count"]) == "indicator_label.dummy_count"  # its label key (no catalogue entry in a test)
    assert list(template_frame("20", 2023).columns)[TEMPLATE_FIELDS.index("dummy_count")] == FIELDS["dummy_count"]
    assert HEADER_ALIASES["dummy_count"] == ["dummy_count", "Chỉ số giả"]
    assert suggest_mapping(["Tên đơn vị", "Số hộ nghèo", "Số chỉ số giả đạt được"])[2] == "dummy_count"
    levels = pd.DataFrame({"unit_code": ["1", "2"], "year": 2023, "level": "district", "dummy_count": [3, None]})
    assert "dummy_count" in map_indicators_for(levels, 2023, "district")
    # the CLI's progress report judges a target on it
    toml = tmp_path / "t.toml"
    toml.write_text('province_code = "20"\n[[period]]\nid = "p"\nstart = 2021\nend = 2025\nbaseline_year = 2021\n'
                    'standard = "2021-2025"\n[[period.target]]\nid = "d"\nscope = "province"\nindicator = "dummy_count"\n'
                    'rule = "count_at_least"\nvalue = 5\n', encoding="utf-8")
    assert main(["progress", "--province", "20", "--targets", str(toml), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [(r["target_id"], r["indicator"], r["status"]) for r in out] == [("d", "dummy_count", "no_data")]


def test_the_committee_page_filters_by_department_and_speaks_english():
    from app_helpers import run_app

    def committee(at) -> pd.DataFrame:  # the table with a department column (AppTest finds no key)
        return next(d.value for d in at.dataframe if hasattr(d.value, "columns")
                    and ({"Cơ quan chủ trì", "Department responsible"} & set(d.value.columns)))

    at = run_app("pages/programme.py")
    assert at.title[0].value == "Mục tiêu dịch vụ và kết quả chương trình"
    table = committee(at)
    assert len(table) == 11 and "Cơ quan chủ trì" in table.columns
    assert set(table["Tình trạng"]) <= {"Đạt", "Không đạt", "Đúng tiến độ", "Có nguy cơ chậm", "Chậm tiến độ"}
    at.selectbox(key="programme_owner").set_value("health").run()
    assert not at.exception
    table = committee(at)
    assert set(table["Cơ quan chủ trì"]) == {"Sở Y tế"} and len(table) == 2
    assert "Số liệu minh họa" in "\n".join(w.value for w in at.warning) + "\n".join(c.value for c in at.caption)
    assert at.selectbox(key="programme_unit").value == "20"  # the province's deprivations first
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value == "Service and programme targets"
    table = committee(at)
    assert set(table["Department responsible"]) == {"Department of Health"}


def test_a_coverage_map_has_readable_bands_and_dark_is_low():
    from povdata.classify import SEQUENTIAL, classify, spread_breaks
    from povdata.maps import value_format

    v = pd.Series([96.1, 96.8, 97.2, 97.9, 98.4, 98.8, 99.1, 99.5, 100.0, 97.0, 98.0])
    breaks = spread_breaks(v)
    assert len(breaks) >= 3 and all(96.1 < b <= 100 for b in breaks)  # not one "< 100%" band
    unit, decimals, better = value_format("clean_water")
    assert (unit, decimals, better) == ("%", 2, True)
    c = classify(v, breaks, "vi", unit=unit, decimals=decimals, higher_is_better=better)
    assert c.colours[0] == SEQUENTIAL[-1] and c.colours[-1] == SEQUENTIAL[0]  # the lowest coverage darkest
    assert value_format("poverty_rate")[2] is False and value_format("escaped_poor")[:2] == ("", 0)


def test_the_unit_profile_on_the_map_says_which_deprivations_weigh_most():
    from app_helpers import run_app

    at = run_app("pages/map.py", unit="181", year="2024")
    assert "Chỉ số thiếu hụt nặng nhất" in [h.value for h in at.subheader]
    at = run_app("pages/map.py", unit="181", year="2019")  # no deprivation form under that standard
    assert "Chỉ số thiếu hụt nặng nhất" not in [h.value for h in at.subheader]


def test_the_map_profile_warns_when_re_poverty_exceeds_the_alert_share_of_exits():
    from app_helpers import run_app
    from povdata.dataset import level_table, load_demo

    lv = level_table(load_demo("20"))
    d = lv[(lv["level"] == "district") & (lv["year"] == 2025)].set_index("unit_code")["re_poor_of_exits"]
    over, under = d.idxmax(), d.idxmin()
    assert d[over] > 10 > d[under]
    warned = [w.value for w in run_app("pages/map.py", unit=over, year="2025").warning]
    assert any("tái nghèo bằng" in w and "vượt ngưỡng cảnh báo 10%" in w for w in warned)
    assert not any("tái nghèo bằng" in w for w in run_app("pages/map.py", unit=under, year="2025").warning)


def test_any_registry_indicator_ranks_units_worst_first():
    from povdata.charts import ranking_figure
    from povdata.dataset import level_table, load_demo
    from povdata.views import ranking

    lv = level_table(load_demo("20"))
    cov = ranking(lv, "district", 2024, indicator="clean_water")
    assert cov["clean_water"].is_monotonic_increasing  # the lowest coverage first
    dep = ranking(lv, "district", 2024, indicator="deprived_latrine_share")
    assert dep["deprived_latrine_share"].is_monotonic_decreasing  # the most deprived first
    assert ranking(lv, "district", 2024)["poverty_rate"].is_monotonic_decreasing  # the default is unchanged
    fig = ranking_figure(cov, "vi", indicator="clean_water")
    assert list(fig.data[0].y)[-1] == cov["name"].iloc[0]  # drawn at the top
    assert fig.layout.xaxis.title.text == "Hộ nghèo có nước sinh hoạt hợp vệ sinh"
    helped = ranking(lv, "district", 2018, indicator="poor_households_helped")
    fig = ranking_figure(helped, "vi", indicator="poor_households_helped")
    assert fig.data[0].text[-1].endswith(" hộ") and fig.layout.xaxis.ticksuffix == ""
