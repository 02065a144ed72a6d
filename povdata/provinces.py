"""Provinces across the 2025-07-01 merger (63 → 34), and which one a view shows.

Every province's data is kept under the code of the province **in force** (one of the 34):
the history of a merged province is the history of its former provinces' units, which
keep their own (legacy) codes for the review years before :data:`povdata.reform.REFORM_YEAR`.
A *view* is a province in force, optionally narrowed to one of its former provinces
(``ProvinceView("19", "06")``: Bắc Kạn, now part of Thái Nguyên), which can be opened on
its own for the years before the merger.

GSO codes are reused: ``24`` is Bắc Giang before the merger and the new Bắc Ninh after it
(former Bắc Ninh was ``27``).  Which one a row means follows from its review year, as for
communes.  The mapping comes from the crosswalk built from ``vietnamadminunits``.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from povdata.units import legacy_units, units_2025


@lru_cache(maxsize=1)
def _successors() -> dict[str, str]:
    from povdata.crosswalk import load_crosswalk

    cw = load_crosswalk()
    pairs = cw[["old_province_code", "new_province_code"]].drop_duplicates()
    return dict(zip(pairs["old_province_code"], pairs["new_province_code"]))


def new_provinces() -> pd.DataFrame:
    """The 34 provinces in force from 2025-07-01: ``code``, ``name``, ``short_name``, sorted by name."""
    u = units_2025()
    p = u[u["level"] == "province"][["code", "name", "short_name"]]
    return p.sort_values("short_name", key=lambda s: s.map(_sort_key)).reset_index(drop=True)


def former_provinces_table() -> pd.DataFrame:
    """The 63 provinces before the merger: ``code``, ``name``, ``short_name``, ``successor``."""
    u = legacy_units()
    p = u[u["level"] == "province"][["code", "name", "short_name"]].copy()
    p["successor"] = p["code"].map(_successors())
    return p.sort_values("short_name", key=lambda s: s.map(_sort_key)).reset_index(drop=True)


def _sort_key(name: str) -> str:
    from povdata.names import fold
    return fold(name)


def is_new_province(code: str) -> bool:
    return code in _new_province_codes()


@lru_cache(maxsize=1)
def _new_province_codes() -> frozenset[str]:
    """The 34 provinces' codes, read once: ``in_force`` asks on every store read, several times a page
    run, and copying the registry each time was a quarter of a map run's time under load (py-spy)."""
    return frozenset(units_2025().query("level == 'province'")["code"])


def successor(former_code: str) -> str:
    """The province in force that a former province's territory is in (``'06'`` → ``'19'``)."""
    try:
        return _successors()[former_code]
    except KeyError:
        raise KeyError(f"unknown former province code {former_code!r}") from None


def former_provinces(code: str) -> list[str]:
    """Former provinces (legacy codes) whose territory makes up the province in force ``code``."""
    return sorted(o for o, n in _successors().items() if n == code)


def _province_name(units: pd.DataFrame, code: str, what: str) -> str:
    p = units[units["level"] == "province"]
    if p.empty:
        raise KeyError(f"unknown {what} code {code!r}")
    return str(p["name"].iloc[0])


def former_province_name(code: str) -> str:
    return _province_name(legacy_units(code), code, "former province")


@dataclass(frozen=True)
class ProvinceView:
    """What a page shows: a province in force (``code``) or one of its former provinces
    (``former``), whose data lives under ``code``."""

    code: str
    former: str | None = None

    @property
    def top(self) -> str:
        """Unit code of the view's top unit in the level table."""
        return self.former or self.code

    @property
    def merged(self) -> bool:
        """Whether the province in force was made of several former provinces."""
        return len(former_provinces(self.code)) > 1

    def name(self) -> str:
        return former_province_name(self.former) if self.former else province_name_in_force(self.code)


def province_name_in_force(code: str) -> str:
    return _province_name(units_2025(code), code, "province")


def resolve_view(code: str | None, former: str | None = None, default: str = "20") -> ProvinceView:
    """The view named by URL parameters: a province in force, or a former province given
    alone (``'06'`` → Thái Nguyên narrowed to Bắc Kạn) or with its successor.  Unknown
    codes fall back to ``default``; a ``former`` that is not part of ``code`` is dropped."""
    code = (code or "").strip()
    former = (former or "").strip() or None
    if not is_new_province(code):
        if code in _successors():  # a former province's code on its own
            code, former = _successors()[code], former or code
        else:
            code = default
    if former is not None and former not in former_provinces(code):
        former = None
    if former is not None and former_provinces(code) == [former] and former == code:
        former = None  # an unmerged province: the former province is the same view
    return ProvinceView(code, former)


def legacy_units_of(code: str, former: str | None = None) -> pd.DataFrame:
    """Units before the merger inside the province in force ``code`` (or its former province
    ``former``): the former provinces, their districts and communes."""
    olds = [former] if former else former_provinces(code)
    u = legacy_units()
    return u[u["province_code"].isin(olds)].reset_index(drop=True)
