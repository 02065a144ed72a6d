"""Targets as TOML: the shipped file loads; every invalid file gives a TargetsError naming the place."""
from __future__ import annotations

import copy
import tomllib

import pytest

from povdata.targets import TARGETS_DIR, TargetsError, default_targets, load_targets, parse_targets

SHIPPED = TARGETS_DIR / "20.toml"


@pytest.fixture(scope="module")
def shipped() -> dict:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def test_shipped_file_loads():
    cfg = default_targets("20")
    assert cfg.province_code == "20"
    assert {"2016-2020", "2017", "2021-2025", "2021-2030"} <= {p.id for p in cfg.periods}
    p = cfg.period("2016-2020")
    assert (p.start, p.end, p.baseline_year, p.standard) == (2016, 2020, 2015, "2016-2020")
    t = p.targets[0]
    assert (t.scope, t.rule, t.value, t.is_rate_rule) == ("province", "annual_reduction_at_least", 3.0, True)
    strict = cfg.period("2021-2025").targets[1]
    assert strict.rule == "annual_reduction_greater_than" and strict.strict
    assert cfg.at_risk_margin_pp == 1.0 and cfg.poor_district_exit_rate == 10.0


def test_what_if_copy_leaves_the_original():
    cfg = default_targets("20")
    changed = cfg.with_target_value("2016-2020", "province_3pp", 4.0)
    assert changed.period("2016-2020").targets[0].value == 4.0
    assert cfg.period("2016-2020").targets[0].value == 3.0
    assert changed.period("2021-2025").targets[0].value == 3.0  # same target id, other period


def _node(d: dict, period: str | None, target: str | None) -> dict:
    """The top table, a [[period]] or a [[period.target]] of parsed TOML, by id."""
    if period is None:
        return d
    node = next(p for p in d["period"] if p["id"] == period)
    return node if target is None else next(t for t in node["target"] if t["id"] == target)


def _set(period: str | None, target: str | None, key: str, value):
    def mutate(d):
        _node(d, period, target)[key] = value
    return mutate


def _del(period: str | None, target: str | None, key: str):
    def mutate(d):
        del _node(d, period, target)[key]
    return mutate


def _add_period(**period):
    def mutate(d):
        d["period"].append(period)
    return mutate


P16, T16 = "2016-2020", "province_3pp"

# (mutation of the shipped file, fragments the message must contain: file, period, target, field)
INVALID = [
    pytest.param(_set(P16, T16, "rule", "halve_it"), ["20.toml", "'2016-2020'", "'province_3pp'", "'rule'", "halve_it"],
                 id="unknown-rule"),
    pytest.param(_set(P16, T16, "scope", "villages"),
                 ["20.toml", "'2016-2020'", "'province_3pp'", "'scope'", "villages"],
                 id="unknown-scope"),
    pytest.param(_set(P16, T16, "status", "rumoured"), ["20.toml", "'province_3pp'", "'status'"], id="unknown-status"),
    pytest.param(_set(P16, T16, "value", "3"), ["20.toml", "'province_3pp'", "'value'"], id="value-not-a-number"),
    pytest.param(_set(P16, T16, "value", True), ["20.toml", "'province_3pp'", "'value'"], id="value-bool"),
    pytest.param(_set(P16, None, "baseline_year", 2010), ["20.toml", "'2016-2020'", "'baseline_year'", "2010"],
                 id="baseline-before-period"),
    pytest.param(_set(P16, None, "baseline_year", 2021), ["20.toml", "'2016-2020'", "'baseline_year'", "2021"],
                 id="baseline-after-period"),
    pytest.param(_set(P16, None, "standard", "1990"), ["20.toml", "'2016-2020'", "'standard'", "1990"],
                 id="unknown-standard"),
    pytest.param(_set(P16, None, "end", 2022), ["20.toml", "'2016-2020'", "2016-2020", "hai chuẩn nghèo"],
                 id="rate-period-crosses-standards-at-end"),
    pytest.param(_add_period(id="2019-2022", start=2019, end=2022, baseline_year=2018, standard="2021-2025"),
                 ["20.toml", "'2019-2022'", "2021-2025", "hai chuẩn nghèo"], id="baseline-under-older-standard"),
    pytest.param(_set("2021-2030", "no_poor_district_2030", "rule", "annual_reduction_at_least"),
                 ["20.toml", "'2021-2030'", "'no_poor_district_2030'", "'standard'"],
                 id="rate-rule-in-period-without-standard"),
    pytest.param(_add_period(id="2020-2021", start=2020, end=2021, baseline_year=2021, standard="2021-2025"),
                 ["20.toml", "'2016-2020'", "'2020-2021'", "2016-2020", "2021-2025"],
                 id="overlapping-periods-under-two-standards"),
    pytest.param(_set(P16, None, "start", 1990), ["20.toml", "'2016-2020'", "'start'"], id="start-out-of-range"),
    pytest.param(_set("2021-2025", "one_poor_district_exits", "by_year", "2025"),
                 ["20.toml", "'one_poor_district_exits'", "'by_year'"],
                 id="milestone-by-year-not-int"),
    pytest.param(_del("2021-2025", "one_poor_district_exits", "by_year"),
                 ["20.toml", "'2021-2025'", "'one_poor_district_exits'", "'by_year'"],
                 id="missing-by_year"),
    pytest.param(_del(P16, T16, "rule"), ["20.toml", "'province_3pp'", "'rule'"], id="missing-rule"),
    pytest.param(_del(P16, T16, "scope"), ["20.toml", "'province_3pp'", "'scope'"], id="missing-scope"),
    pytest.param(_del(P16, T16, "value"), ["20.toml", "'province_3pp'", "'value'"], id="missing-value"),
    pytest.param(_del(P16, None, "start"), ["20.toml", "'2016-2020'", "'start'"], id="missing-start"),
    pytest.param(_del(P16, None, "end"), ["20.toml", "'2016-2020'", "'end'"], id="missing-end"),
    pytest.param(_del(P16, None, "baseline_year"), ["20.toml", "'2016-2020'", "'baseline_year'"],
                 id="missing-baseline"),
    pytest.param(_del(None, None, "province_code"), ["20.toml", "'province_code'"], id="missing-province_code"),
    pytest.param(_del("2017", "communes_over_40_4pp", "rate_above"),
                 ["20.toml", "'communes_over_40_4pp'", "'rate_above'"],
                 id="communes_above-without-rate_above"),
    pytest.param(_set(P16, T16, "scope", "unit"), ["20.toml", "'province_3pp'", "'unit_code'"], id="unit-without-code"),
]


@pytest.mark.parametrize("mutate, fragments", INVALID)
def test_invalid_targets_are_rejected_with_a_clear_message(shipped, mutate, fragments):
    data = copy.deepcopy(shipped)
    mutate(data)
    with pytest.raises(TargetsError) as exc:
        parse_targets(data, str(SHIPPED))
    msg = str(exc.value)
    for fragment in fragments:
        assert fragment in msg, (fragment, msg)


def test_the_unmodified_data_passes(shipped):
    """The mutations above are what breaks the file, not the harness."""
    cfg = parse_targets(copy.deepcopy(shipped), str(SHIPPED))
    assert [p.id for p in cfg.periods] == [p["id"] for p in shipped["period"]]


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b'province_code = "20"\n[[period]\nid = 1\n', "TOML"),
        (b'province_code = "20\n', "TOML"),
        (b"\xff\xfe\x00garbage", "TOML"),  # not UTF-8
    ],
    ids=["bad-table", "unterminated-string", "not-utf8"],
)
def test_unreadable_toml_is_a_targets_error(tmp_path, content, fragment):
    path = tmp_path / "broken.toml"
    path.write_bytes(content)
    with pytest.raises(TargetsError) as exc:
        load_targets(path)
    assert "broken.toml" in str(exc.value) and fragment in str(exc.value)
    assert exc.value.__cause__ is None and exc.value.__suppress_context__  # no chained traceback to show


def test_missing_file_is_a_targets_error(tmp_path):
    with pytest.raises(TargetsError, match="nowhere.toml"):
        load_targets(tmp_path / "nowhere.toml")


def test_duplicate_period_ids_are_rejected():
    from povdata.targets import TargetsError, parse_targets

    period = {"id": "2021-2025", "start": 2021, "end": 2025, "baseline_year": 2021, "standard": "2021-2025"}
    with pytest.raises(TargetsError, match="trùng"):
        parse_targets({"province_code": "20", "period": [period, dict(period)]}, "x.toml")
