"""Text catalogues and number formats (Vietnamese: decimal comma, dot for thousands)."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from povdata.i18n import LANGS, catalogue, fmt_count, fmt_number, fmt_pace, fmt_pp, fmt_rate, t

LOCALES = Path(__file__).resolve().parents[1] / "povdata" / "locales"


def _flat(lang: str) -> dict[str, str]:
    """The catalogue read straight from the TOML file (not through the code under test)."""
    out: dict[str, str] = {}

    def walk(prefix: str, node: dict) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            walk(key, v) if isinstance(v, dict) else out.__setitem__(key, v)

    walk("", tomllib.loads((LOCALES / f"{lang}.toml").read_text(encoding="utf-8")))
    return out


@pytest.mark.parametrize("lang, other", [("vi", "en"), ("en", "vi")])
def test_every_key_exists_in_both_languages(lang, other):
    """House rule: a text added in one language is added in the other."""
    missing = sorted(set(_flat(lang)) - set(_flat(other)))
    assert not missing, f"keys in {lang}.toml missing from {other}.toml: {missing}"


def test_placeholders_agree_between_languages():
    vi, en = _flat("vi"), _flat("en")
    names = re.compile(r"\{(\w+)\}")
    bad = {k: (vi[k], en[k]) for k in vi.keys() & en.keys()
           if set(names.findall(str(vi[k]))) != set(names.findall(str(en[k])))}
    assert not bad


def test_every_text_is_a_non_empty_string():
    for lang in LANGS:
        empty = [k for k, v in _flat(lang).items() if not isinstance(v, str) or not v.strip()]
        assert not empty, (lang, empty)


def test_catalogue_matches_the_files():
    for lang in LANGS:
        assert catalogue(lang) == _flat(lang)


def test_lookup_falls_back_to_vietnamese_then_key():
    key = next(iter(_flat("vi")))
    assert t(key, "xx") == _flat("vi")[key]
    assert t("no.such.key", "en") == "no.such.key"


@pytest.mark.parametrize(
    "func, value, lang, expected",
    [
        (fmt_rate, 25.95, "vi", "25,95%"),
        (fmt_rate, 25.95, "en", "25.95%"),
        (fmt_rate, 7.88, "vi", "7,88%"),
        (fmt_rate, 3.614, "vi", "3,61%"),
        (fmt_rate, 0, "vi", "0,00%"),
        (fmt_count, 199765, "vi", "199.765"),
        (fmt_count, 199765, "en", "199,765"),
        (fmt_count, 4643, "vi", "4.643"),
        (fmt_count, 1234567, "vi", "1.234.567"),
        (fmt_count, np.int64(12868), "vi", "12.868"),
        (fmt_number, 1234.5, "vi", "1.234,50"),
        (fmt_number, 1234.5, "en", "1,234.50"),
    ],
)
def test_number_formats(func, value, lang, expected):
    assert func(value, lang) == expected


@pytest.mark.parametrize("func", [fmt_rate, fmt_count, fmt_number, fmt_pp, fmt_pace])
@pytest.mark.parametrize("value", [None, float("nan"), np.nan, pd.NA, np.float64("nan")],
                         ids=["None", "nan", "np.nan", "pd.NA", "np.float64-nan"])
@pytest.mark.parametrize("lang", LANGS)
def test_missing_is_a_dash(func, value, lang):
    assert func(value, lang) == "–"


def test_missing_count_from_an_int64_column():
    """An aggregated count left missing (pd.NA in an Int64 column) formats as a dash, not an error."""
    col = pd.array([4643, None], dtype="Int64")
    assert [fmt_count(v, "vi") for v in col] == ["4.643", "–"]


@pytest.mark.parametrize(
    "value, lang, signed, expected_number",
    [(3.614, "vi", False, "3,61"), (3.614, "en", False, "3.61"), (-1.5, "vi", True, "-1,50"),
     (0.6, "vi", True, "+0,60"), (0.0, "en", True, "0.00")],
)
def test_pp_and_pace(value, lang, signed, expected_number):
    assert fmt_pp(value, lang, signed=signed) == f"{expected_number} {t('unit.pp', lang)}"
    assert fmt_pace(value, lang, signed=signed) == f"{expected_number} {t('unit.pp', lang)}{t('unit.per_year', lang)}"


@pytest.mark.parametrize("text, value", [("3,5", 3.5), ("3.5", 3.5), (" 10 ", 10.0), ("0,25", 0.25), ("-1", -1.0)])
def test_small_numbers_typed_in_either_format(text, value):
    from povdata.i18n import parse_small_number
    assert parse_small_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "1.234,5", "1,2,3", "nan", "inf"])
def test_text_that_is_not_a_small_number_is_refused(text):
    from povdata.i18n import parse_small_number
    with pytest.raises(ValueError, match="không phải một số"):
        parse_small_number(text)
