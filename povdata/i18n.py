"""User-facing text and number formats, per language (``vi`` first, ``en``).

All text lives in ``povdata/locales/<lang>.toml``, looked up by key; numbers are
formatted with Babel's locale data (Vietnamese: decimal comma, dot for thousands).
"""
from __future__ import annotations

from typing import Any

import math
import tomllib
from functools import lru_cache
from pathlib import Path

from babel.numbers import format_decimal

LANGS = ("vi", "en")
#: each language by its own name (never translated: a reader looks for their own language's word)
LANG_NAMES = {"vi": "Tiếng Việt", "en": "English"}
DEFAULT_LANG = "vi"
_LOCALES = Path(__file__).resolve().parent / "locales"


@lru_cache(maxsize=None)
def catalogue(lang: str) -> dict[str, str]:
    """Flat ``{key: text}`` of one language (nested TOML tables joined with dots)."""
    data = tomllib.loads((_LOCALES / f"{lang}.toml").read_text(encoding="utf-8"))
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict) -> None:
        for k, v in node.items():
            key = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                walk(key, v)
            else:
                flat[key] = str(v)

    walk("", data)
    return flat


def t(key: str, lang: str = DEFAULT_LANG, /, **kwargs: object) -> str:
    """Text for ``key``; ``{name}`` placeholders are filled from ``kwargs``."""
    lang = lang if lang in LANGS else DEFAULT_LANG
    text = catalogue(lang).get(key)
    if text is None:
        text = catalogue(DEFAULT_LANG).get(key, key)
    return text.format(**kwargs) if kwargs else text


def _missing(x: object) -> bool:
    try:
        # bool() inside the try: pd.NA != pd.NA is pd.NA, whose truth value raises TypeError
        return bool(x is None or (isinstance(x, float) and math.isnan(x)) or x != x)
    except TypeError:
        return True


def _locale(lang: str) -> str:
    return "vi" if lang == "vi" else "en"


def fmt_number(x: Any, lang: str = DEFAULT_LANG, decimals: int = 2) -> str:
    """``25.95`` → ``'25,95'`` (vi) / ``'25.95'`` (en); missing → ``'–'``."""
    if _missing(x):
        return "–"
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return format_decimal(float(x), format=pattern, locale=_locale(lang))


def fmt_rate(x: object, lang: str = DEFAULT_LANG, decimals: int = 2) -> str:
    """A rate in percent: ``'25,95%'``."""
    return "–" if _missing(x) else fmt_number(x, lang, decimals) + "%"


def fmt_count(x: object, lang: str = DEFAULT_LANG) -> str:
    """A count of households: ``'199.765'`` (vi) / ``'199,765'`` (en)."""
    return fmt_number(x, lang, 0)


def fmt_pp(x: Any, lang: str = DEFAULT_LANG, signed: bool = False, decimals: int = 2) -> str:
    """Percentage points: ``'3,61 điểm %'``; signed shows ``+``/``−``."""
    if _missing(x):
        return "–"
    v = float(x)
    body = fmt_number(abs(v) if signed else v, lang, decimals)
    # ASCII '-' so that widgets (st.metric) read the sign
    sign = ("+" if v > 0 else "-" if v < 0 else "") if signed else ""
    return f"{sign}{body} {t('unit.pp', lang)}"


def fmt_pace(x: object, lang: str = DEFAULT_LANG, signed: bool = False) -> str:
    """A pace in percentage points per year: ``'3,61 điểm %/năm'``."""
    return "–" if _missing(x) else fmt_pp(x, lang, signed) + t("unit.per_year", lang)


def d3_format(lang: str) -> dict:
    """Plotly ``layout.separators`` for the language ('.,' is decimal then thousands)."""
    return {"separators": ",." if lang == "vi" else ".,"}


def parse_small_number(text: object) -> float:
    """A number typed by a user in either language's format: '3,5' and '3.5' are both 3.5.
    For values below 1,000 (paces, thresholds, rates), where a separator can only be the
    decimal one.  ``ValueError`` (with the text) for anything else, including '1.234,5'."""
    from povdata.messages import Msg

    s = str(text).strip().replace("\u00a0", "").replace(" ", "")
    if s.count(",") + s.count(".") > 1:
        raise ValueError(Msg("number.one_separator", text=text))
    try:
        value = float(s.replace(",", "."))
    except ValueError:
        raise ValueError(Msg("number.not_a_number", text=text)) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(Msg("number.not_a_number", text=text))
    return value


def cli_lang() -> str:
    """The language of ``python -m povdata``: ``POVDASH_LANG`` (vi or en), else Vietnamese."""
    import os

    lang = os.environ.get("POVDASH_LANG", "").strip().lower()
    return lang if lang in LANGS else DEFAULT_LANG


def cli_t(key: str, /, **kwargs: object) -> str:
    """:func:`t` in the command line's language (:func:`cli_lang`); a parameter that is a
    catalogue message (or an exception raised with one) is said in that language too."""
    from povdata.messages import say

    lang = cli_lang()
    return t(key, lang, **{k: say(v, lang) if not isinstance(v, (int, float)) else v for k, v in kwargs.items()})
