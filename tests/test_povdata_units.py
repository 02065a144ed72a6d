"""Unit registry: Lạng Sơn ("20") before and after the 2025 reform."""
from __future__ import annotations

import pytest

from povdata.units import legacy_communes, legacy_units, province_name, units_2025

LANG_SON = "20"
#: (level, length of its zero-padded GSO code)
CODE_LENGTHS = [("province", 2), ("district", 3), ("commune", 5)]


@pytest.mark.parametrize(
    "units, level, expected",
    [
        (legacy_units, "province", 1),
        (legacy_units, "district", 11),
        (legacy_units, "commune", 194),
        (units_2025, "province", 1),
        (units_2025, "district", 0),
        (units_2025, "commune", 65),
    ],
    ids=["legacy-province", "legacy-districts", "legacy-communes",
         "2025-province", "2025-no-districts", "2025-communes"],
)
def test_lang_son_unit_counts(units, level, expected):
    df = units(LANG_SON)
    assert (df["level"] == level).sum() == expected


@pytest.mark.parametrize(
    "units, level, length",
    [(legacy_units, level, length) for level, length in CODE_LENGTHS]
    + [(units_2025, "province", 2), (units_2025, "commune", 5)],  # no districts after the reform
)
def test_codes_are_zero_padded_digit_strings(units, level, length):
    codes = units(LANG_SON).query("level == @level")["code"]
    assert not codes.empty
    assert all(isinstance(c, str) for c in codes)
    assert codes.str.fullmatch(r"\d{%d}" % length).all(), codes[~codes.str.fullmatch(r"\d{%d}" % length)].tolist()
    assert codes.is_unique


def test_legacy_parent_links():
    df = legacy_units(LANG_SON)
    districts = df[df["level"] == "district"]
    communes = df[df["level"] == "commune"]
    assert df[df["level"] == "province"]["parent_code"].isna().all()
    assert (districts["parent_code"] == LANG_SON).all()
    assert (districts["district_code"] == districts["code"]).all()
    assert communes["parent_code"].isin(set(districts["code"])).all()
    assert (communes["district_code"] == communes["parent_code"]).all()
    assert (df["province_code"] == LANG_SON).all()
    # every district has communes
    assert set(communes["parent_code"]) == set(districts["code"])


def test_2025_communes_hang_from_the_province():
    df = units_2025(LANG_SON)
    communes = df[df["level"] == "commune"]
    assert (communes["parent_code"] == LANG_SON).all()
    assert communes["district_code"].isna().all()
    assert (df["era"] == "2025").all()


def test_legacy_communes_is_the_commune_level():
    com = legacy_communes(LANG_SON)
    assert len(com) == 194
    assert (com["level"] == "commune").all()


def test_units_are_fresh_copies():
    first = legacy_units(LANG_SON)
    first.loc[:, "name"] = "changed"
    assert (legacy_units(LANG_SON)["name"] != "changed").all()


@pytest.mark.parametrize("code, expected", [("20", "Tỉnh Lạng Sơn"), ("01", "Thành phố Hà Nội")])
def test_province_name(code, expected):
    assert province_name(code) == expected


def test_unknown_province_code():
    with pytest.raises(KeyError, match="99"):
        province_name("99")
