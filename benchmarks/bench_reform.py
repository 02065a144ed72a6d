"""Benchmark: the 2025 reform at national scale.

Prints: building the national crosswalk and the approximate boundaries of all 3,321 new
communes from the ~10,040 old units; re-aggregating national indicators (all old
communes × 11 review years plus two years on the new communes) through the crosswalk
into former districts and back-cast new communes — cold, and cached as a widget rerun
sees it (Streamlit's cache_data returns a copy: we time a pickle round trip of the
result, which is what a cache hit costs).

Run: .venv/bin/python benchmarks/bench_reform.py
"""
from __future__ import annotations

import json
import pickle
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from povdata.crosswalk import build_crosswalk  # noqa: E402
from povdata.reform import backcast_new_communes, district_shares, former_districts, to_new_communes  # noqa: E402
from povdata.units import legacy_communes  # noqa: E402


def synthetic_indicators(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    com = legacy_communes()
    rows = []
    for year in range(2015, 2027):
        hh = rng.integers(500, 5000, len(com))
        poor = (hh * rng.uniform(0.0, 0.4, len(com))).astype(int)
        rows.append(pd.DataFrame({"unit_code": com["code"].to_numpy(), "year": year,
                                  "standard": "2016-2020" if year <= 2020 else "2021-2025",
                                  "households_total": pd.array(hh, dtype="Int64"),
                                  "poor_households": pd.array(poor, dtype="Int64")}))
    return pd.concat(rows, ignore_index=True)


def main() -> dict:
    t0 = time.perf_counter()
    cw, bounds = build_crosswalk()
    build_s = time.perf_counter() - t0
    ind = synthetic_indicators()
    old = ind[ind["year"] < 2025]
    t0 = time.perf_counter()
    new = to_new_communes(ind[ind["year"] >= 2025], cw)
    to_new_s = time.perf_counter() - t0

    def reaggregate() -> tuple[pd.DataFrame, pd.DataFrame]:
        shares = district_shares(cw, old, 2024)
        return former_districts(new, shares), backcast_new_communes(old, cw)

    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        result = reaggregate()
        times.append(time.perf_counter() - t0)
    blob = pickle.dumps(result)
    hits = []
    for _ in range(5):
        t0 = time.perf_counter()
        pickle.loads(blob)
        hits.append(time.perf_counter() - t0)
    out = {
        "crosswalk_and_new_boundaries_s": round(build_s, 2),
        "old_units": int(cw["old_code"].nunique()), "new_communes": int(cw["new_code"].nunique()),
        "new_boundaries": int(len(bounds)),
        "national_rows": int(len(ind)),
        "move_2_years_to_new_communes_s": round(to_new_s, 2),
        "reaggregate_cold_median_s": round(statistics.median(times), 3),
        "reaggregate_cached_median_s": round(statistics.median(hits), 4),
    }
    return out


if __name__ == "__main__":
    res = main()
    width = max(map(len, res))
    for k, v in res.items():
        print(f"{k:<{width}}  {v}")
    target = res["reaggregate_cached_median_s"] < 0.2
    print(f"widget rerun through the crosswalk (cached) < 0.2 s: {'PASS' if target else 'FAIL'}")
    (ROOT / "benchmarks" / "results").mkdir(parents=True, exist_ok=True)
    (ROOT / "benchmarks" / "results" / "reform.json").write_text(json.dumps(res, indent=1) + "\n")
