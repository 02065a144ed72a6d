"""The 2025 reform: crosswalk coverage, weights, boundaries and series across the break."""
from __future__ import annotations

import pandas as pd
import pytest

from povdata.crosswalk import crosswalk_pairs, load_crosswalk
from povdata.dataset import level_table, load_demo, new_commune_membership
from povdata.reform import district_shares, era_problems, former_districts, new_id, to_new_communes
from povdata.units import legacy_units, units_2025


@pytest.fixture(scope="module")
def national() -> pd.DataFrame:
    return load_crosswalk()


def test_lang_son_crosswalk_checks():
    cw = load_crosswalk("20")
    communes = legacy_units("20").query("level == 'commune'")
    assert set(cw["old_code"]) == set(communes["code"])  # all 194 old communes mapped
    assert cw["old_code"].nunique() == 194
    assert cw["new_code"].nunique() == 65 == len(units_2025("20").query("level == 'commune'"))
    assert cw.loc[cw["divided"], "old_code"].nunique() == 3
    straddling = cw.groupby("new_code")["old_district_code"].agg(lambda s: tuple(sorted(set(s))))
    straddling = straddling[straddling.map(len) > 1]
    names = units_2025("20").set_index("code")["name"]
    got = {names[c]: d for c, d in straddling.items()}
    assert got == {
        "Xã Đồng Đăng": ("181", "183"),   # Bình Gia and Cao Lộc
        "Xã Khánh Khê": ("183", "184"),   # Cao Lộc and Văn Quan
        "Xã Tân Đoàn": ("183", "184"),
        "Phường Kỳ Lừa": ("178", "183"),  # the city and Cao Lộc
        "Phường Đông Kinh": ("178", "183"),
    }


def test_national_coverage(national):
    assert national["new_code"].nunique() == 3321
    assert set(national["new_code"]) == set(units_2025().query("level == 'commune'")["code"])
    legacy = legacy_units().query("level == 'commune'")
    assert set(legacy["code"]) == set(national.loc[national["old_level"] == "commune", "old_code"])
    islands = national[national["old_level"] == "district"]
    assert len(islands) == 5 and (islands["method"] == "island_district").all()  # handled, not dropped
    assert national["old_code"].nunique() == 10040  # 10,035 communes + 5 island districts
    assert national.loc[national["divided"], "old_code"].nunique() == 471


def test_weights_sum_to_one_and_are_positive(national):
    assert (national["weight"] > 0).all()
    sums = national.groupby("old_code")["weight"].sum()
    assert (sums - 1).abs().max() < 1e-5
    assert (national.loc[~national["divided"], "weight"] == 1).all()


def test_stored_crosswalk_is_what_the_package_says():
    pairs = crosswalk_pairs()
    stored = load_crosswalk()
    key = ["old_code", "new_code"]
    assert pairs[key].sort_values(key).reset_index(drop=True).equals(stored[key].sort_values(key).reset_index(drop=True))


def test_to_new_communes_keeps_sums_exactly():
    cw = load_crosswalk("20")
    old = pd.DataFrame({"unit_code": ["06079", "05971"], "year": 2025, "standard": "2021-2025",
                        "households_total": pd.array([1001, 500], dtype="Int64"),
                        "poor_households": pd.array([37, 5], dtype="Int64")})
    new = to_new_communes(old, cw)
    assert new["households_total"].sum() == 1501 and new["poor_households"].sum() == 42
    split = new[new["unit_code"].isin(cw.loc[cw["old_code"] == "06079", "new_code"])]
    assert len(split) == 2 and split["households_total"].sum() == 1001  # divided Hồng Phong


def test_former_district_shares_a_straddling_commune():
    cw = pd.DataFrame({"old_code": ["a1", "a2", "b1"], "old_level": "commune", "old_district_code": ["A", "A", "B"],
                       "new_code": ["N", "N", "N"], "weight": 1.0})
    old = pd.DataFrame({"unit_code": ["a1", "a2", "b1"], "year": 2024, "households_total": [100, 200, 100]})
    shares = district_shares(cw, old, 2024)
    assert shares.set_index("district_code")["share"].to_dict() == pytest.approx({"A": 0.75, "B": 0.25})
    assert shares["straddles"].all()
    new = pd.DataFrame({"unit_code": ["N"], "year": [2025], "standard": ["2021-2025"],
                        "households_total": pd.array([400], dtype="Int64"), "poor_households": pd.array([40], dtype="Int64")})
    fd = former_districts(new, shares).set_index("unit_code")
    assert fd.loc["A", "households_total"] == 300 and fd.loc["B", "poor_households"] == 10
    assert fd["reconstructed"].all()


def test_demo_sums_agree_across_the_reform():
    lv = level_table(load_demo("20"))
    prov = lv[lv["level"] == "province"].set_index("year")
    assert prov.loc[2025, "poor_households"] == 4643 and prov.loc[2025, "households_total"] == 199765
    assert abs(prov.loc[2025, "poverty_rate"] - 2.32) < 0.05
    new_2025 = lv[(lv["level"] == "commune_2025") & (lv["year"] == 2025)]
    assert len(new_2025) == 65 and not new_2025["reconstructed"].any()
    assert new_2025["poor_households"].sum() == 4643
    # former districts after the reform are estimates and add up to the province
    d = lv[(lv["level"] == "district") & (lv["year"] == 2026)]
    assert len(d) == 11 and d["reconstructed"].all()
    assert abs(int(d["households_total"].sum()) - int(prov.loc[2026, "households_total"])) <= 11  # rounding only
    # new communes before the reform are back-casts, flagged
    back = lv[(lv["level"] == "commune_2025") & (lv["year"] == 2024)]
    assert len(back) == 65 and back["reconstructed"].all()
    assert back.loc[back["unit_code"] == new_id("06184"), "from_divided"].item()
    assert abs(int(back["households_total"].sum()) - int(prov.loc[2024, "households_total"])) <= 65


def test_membership_marks_straddling_communes():
    m = new_commune_membership(load_demo("20"))
    cao_loc = m[m["district_code"] == "183"]
    assert set(cao_loc.loc[cao_loc["straddles"], "unit_code"]) == {new_id(c) for c in
                                                                  ("06184", "06286", "06316", "06187", "05977")}


@pytest.mark.parametrize("code, year, bad", [("05971", 2025, True), ("05971", 2024, False),
                                             ("06184", 2026, False), ("06193", 2025, True)])
def test_era_problems(code, year, bad):
    old = set(legacy_units("20")["code"])
    new = set(units_2025("20")["code"])
    probs = era_problems(pd.DataFrame({"unit_code": [code], "year": [year]}), old - (new & old), new - (new & old))
    assert bool(probs) == bad
