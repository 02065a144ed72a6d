"""Time to build the full briefing pack (PPTX + PDF) for the demo province.

    .venv/bin/python benchmarks/bench_briefing.py [--year 2025] [--runs 3]

Prints the build time of each run (cold first: Chromium start, geometry simplification)
and the stage timings of the last; the README quotes the median.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from povdata.briefing import build_pack  # noqa: E402
from povdata.dataset import load_demo  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--year", type=int, default=2025)
    ap.add_argument("--province", default="20")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    times = []
    for i in range(args.runs):
        t0 = time.perf_counter()
        pack = build_pack(load_demo(args.province), args.year, "vi")
        times.append(time.perf_counter() - t0)
        print(f"run {i + 1}: {times[-1]:.1f} s ({len(pack.slides)} slides, {len(pack.pictures)} images, "
              f"pptx {len(pack.pptx) / 1e6:.1f} MB, pdf {len(pack.pdf) / 1e6:.1f} MB)")
    print("stages of the last run: " + ", ".join(f"{k} {v:.1f} s" for k, v in pack.timings.items()))
    print(f"median {statistics.median(times):.1f} s, max {max(times):.1f} s over {len(times)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
