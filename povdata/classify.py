"""Class schemes for choropleth maps: spread (the default), official bands, quantiles, equal
intervals, user breaks.

A classification returns, for every unit, the index of its class (−1 for no data) and a
legend with the label and number of units of each class.  Status maps use fixed,
colour-blind-safe colours (Okabe-Ito palette).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from povdata.i18n import fmt_number, t

#: The bands used in provincial reports (percent): < 10, 10-30, 30-40, ..., ≥ 70.
OFFICIAL_BREAKS = (10.0, 30.0, 40.0, 50.0, 60.0, 70.0)
SCHEMES = ("spread", "official", "quantile", "equal", "custom")

#: Sequential colours, light (low poverty) to dark (high); enough for 8 classes.
SEQUENTIAL = ("#fff5eb", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#a63603", "#7f2704")
NO_DATA_COLOUR = "#bdbdbd"

#: Target status colours (Okabe-Ito), shared by maps, tables and charts.
STATUS_COLOURS = {
    "exceeded": "#007A5A",
    "met": "#009E73",
    "on_track": "#56B4E9",
    "pending_decision": "#7FC6A4",
    "at_risk": "#E69F00",
    "off_track": "#D55E00",
    "not_met": "#D55E00",
    "floor": "#CC79A7",
    "no_data": NO_DATA_COLOUR,
    "not_applicable": "#f0f0f0",
}


@dataclass(frozen=True)
class Classification:
    classes: pd.Series  # int class index per unit, -1 = no data
    labels: list[str]
    colours: list[str]
    counts: list[int]
    no_data: int


def breaks_for(values: pd.Series, scheme: str, k: int = 5, custom: list[float] | None = None) -> list[float]:
    """Inner class breaks (ascending) for a scheme."""
    v = values.dropna().astype(float)
    if scheme == "official":
        return list(OFFICIAL_BREAKS)
    if scheme == "custom":
        if not custom:
            raise ValueError("custom breaks required")
        return sorted(set(float(b) for b in custom))
    if v.empty:
        return []
    if scheme == "spread":
        return spread_breaks(v, k)
    if scheme == "quantile":
        qs = np.quantile(v, np.linspace(0, 1, k + 1)[1:-1])
        return sorted(set(np.round(qs, 2).tolist()))
    if scheme == "equal":
        lo, hi = float(v.min()), float(v.max())
        if hi == lo:
            return []
        return np.round(np.linspace(lo, hi, k + 1)[1:-1], 2).tolist()
    raise ValueError(f"unknown scheme {scheme!r}")


def _nice(x: float) -> float:
    """``x`` rounded to half its order of magnitude (3,27 → 3,5; 12,3 → 10; 0,83 → 0,85)."""
    if x <= 0:
        return 0.0
    step = 10 ** math.floor(math.log10(x)) / 2
    return round(round(x / step) * step, 4)


def spread_breaks(values: pd.Series, k: int = 5) -> list[float]:
    """The default bands: quantile breaks of the units' actual values, rounded to readable
    numbers, so that the province's spread shows (the official bands — 10%, 30%, … — put a
    province near the end of a period almost wholly in the palest band).  Fewer bands when
    the values do not spread over ``k`` (ties, few units)."""
    v = values.dropna().astype(float)
    if v.nunique() < 2:
        return []
    qs = np.quantile(v, np.linspace(0, 1, k + 1)[1:-1])
    out = _rounded(v, qs, _nice)
    if len(out) < 2 and v.nunique() >= 3:
        # values packed near one level (coverages of 96-100%): round to their spread, not their size
        span = float(v.max() - v.min())
        step = 10 ** math.floor(math.log10(span / k)) if span > 0 else 0
        if step:
            out = _rounded(v, qs, lambda x: round(round(x / step) * step, 6)) or out
    return out


def _rounded(v: pd.Series, qs, rnd) -> list[float]:
    out: list[float] = []
    for q in qs:
        b = rnd(float(q))
        if v.min() < b <= v.max() and (not out or b > out[-1]):
            out.append(b)
    return out


def classify(values: pd.Series, breaks: list[float], lang: str = "vi", unit: str = "%",
             decimals: int = 2, higher_is_better: bool = False) -> Classification:
    """Put each value in a class: ``[−∞, b0), [b0, b1), …, [bn, ∞)``.  Dark is always the
    worse end: the highest class, or the lowest where ``higher_is_better`` (a service's
    coverage, households out of poverty)."""
    v = values.astype("float64")
    idx = pd.Series(np.searchsorted(np.asarray(breaks, dtype=float), v.to_numpy(), side="right"), index=v.index)
    idx = idx.where(v.notna(), -1).astype(int)
    n = len(breaks) + 1
    suffix = unit if unit == "%" else ""

    def f(x: float) -> str:
        return fmt_number(x, lang, decimals if x != int(x) else 0) + suffix

    labels = []
    for i in range(n):
        if n == 1:
            labels.append(t("map.all_values", lang))
        elif i == 0:
            labels.append(f"< {f(breaks[0])}")
        elif i == n - 1:
            labels.append(f"≥ {f(breaks[-1])}")
        else:
            labels.append(f"{f(breaks[i - 1])} – < {f(breaks[i])}")
    colours = [SEQUENTIAL[round(i * (len(SEQUENTIAL) - 1) / max(n - 1, 1))] for i in range(n)]
    if higher_is_better:
        colours.reverse()
    counts = [int((idx == i).sum()) for i in range(n)]
    return Classification(idx, labels, colours, counts, int((idx == -1).sum()))


def classify_status(status: pd.Series, lang: str = "vi") -> Classification:
    """Classes for target status, in a fixed order and fixed colours."""
    order = ["exceeded", "met", "on_track", "at_risk", "off_track", "not_met", "floor", "not_applicable"]
    s = status.fillna("no_data")
    idx = s.map({k: i for i, k in enumerate(order)}).fillna(-1).astype(int)
    return Classification(idx, [t(f"status.{k}", lang) for k in order], [STATUS_COLOURS[k] for k in order],
                          [int((idx == i).sum()) for i in range(len(order))], int((idx == -1).sum()))
