"""Units that no longer exist: a dated table of district changes before 2025-07-01.

``data/units/district_changes.csv`` holds, per abolished district, its successor, the
date the change took effect, the legal basis and how sure our sources are
(``reported`` | ``uncertain``).  At least the changes of 2019-2021 and of 2025-01-01 in the
northern mountain provinces are there; vietnamadminunits keeps the former names as
aliases of their successors, which is where the table was checked against.

Importing, a row naming a former unit is reported with its reason and successor and left
out (never silently added to the successor: a rate of a former district is not the rate
of the district it went into); the user may map it by hand, and that mapping is
remembered for the next import (:mod:`povdata.store`, ``unit_aliases``).  A boundary of a
former district is part of its successor's territory and is merged into it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import pandas as pd

from povdata.names import name_key
from povdata.messages import Msg

CHANGES_PATH = Path(__file__).resolve().parents[1] / "data" / "units" / "district_changes.csv"


@dataclass(frozen=True)
class FormerUnit:
    province_code: str
    code: str
    name: str
    successor_code: str
    successor_name: str
    effective: date
    basis: str
    confidence: str
    similar: bool = False  # found by a similar name, not the name itself

    def reason(self) -> Msg:
        """Why the unit is not in the list, and where it went (said in the UI's language)."""
        sure = "" if self.confidence == "reported" else Msg("unit_history.unverified")
        key = "unit_history.gone_similar" if self.similar else "unit_history.gone"
        return Msg(key, name=self.name, date=f"{self.effective:%d/%m/%Y}", successor=self.successor_name,
                   code=self.successor_code, basis=self.basis, sure=sure)


@lru_cache(maxsize=1)
def district_changes() -> pd.DataFrame:
    df = pd.read_csv(CHANGES_PATH, dtype=str)
    df["effective"] = pd.to_datetime(df["effective"]).dt.date
    return df


def former_unit(province_codes: list[str] | set[str], name: str = "", code: str = "") -> FormerUnit | None:
    """The abolished district of one of ``province_codes`` (legacy codes) named ``name`` or
    coded ``code``, or None."""
    df = district_changes()
    df = df[df["province_code"].isin(list(province_codes)) & (df["kind"] != "created")]
    key = name_key(name) if name else ""
    hit = df[(df["old_name"].map(name_key) == key)] if key else df.iloc[0:0]
    if hit.empty and code:
        # a code is only trusted with no name, or a name that agrees: codes are reused (049)
        hit = df[(df["old_code"] == code) & (not key)]
    similar = False
    if hit.empty and len(key) >= 5:  # a misspelt former name ('Quảng Yên' for Quảng Uyên, in GADM)
        import difflib
        scored = sorted(((difflib.SequenceMatcher(None, key, name_key(n)).ratio(), i)
                         for i, n in zip(df.index, df["old_name"])), reverse=True)
        if scored and scored[0][0] >= 0.88 and (len(scored) == 1 or scored[1][0] < scored[0][0]):
            hit, similar = df.loc[[scored[0][1]]], True
    if hit.empty:
        return None
    r = hit.iloc[0]
    return FormerUnit(r["province_code"], r["old_code"], r["old_name"], r["successor_code"], r["successor_name"],
                      r["effective"], r["basis"], r["confidence"], similar)


def created_after(year: int) -> set[str]:
    """Codes of units set up after the year-end review of ``year`` (Thị xã Chũ, 2025-01-01): a
    table of ``year`` cannot list them, so they are not expected in it."""
    df = district_changes()
    made = df[(df["kind"] == "created") & df["effective"].map(lambda d: d.year > year)]
    return set(made["successor_code"])
