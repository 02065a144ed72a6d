"""Time to build the full briefing pack (PPTX + PDF) for the demo province.

    .venv/bin/python benchmarks/bench_briefing.py [--year 2025] [--runs 3] [--worker]

Prints the build time of each run (cold first: Chromium start, geometry simplification)
and the stage timings of the last; the README quotes the median.  ``--worker`` builds the
packs as the dashboard does, through the briefing worker (:mod:`povdata.jobs`): from the
click to the files in the web process, and the most memory the worker and its Chromium used.
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
    ap.add_argument("--worker", action="store_true")
    args = ap.parse_args()
    if args.worker:
        return through_worker(args)
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


def through_worker(args) -> int:
    from povdata.briefing import pack_files
    from povdata.jobs import DONE, PACKS
    from povdata.targets import default_targets

    ds, cfg, times = load_demo(args.province), default_targets(args.province), []
    for i in range(args.runs):
        t0 = time.perf_counter()
        job = PACKS.submit(("bench", i), pack_files, ds, args.year, "vi", cfg)
        while not (status := PACKS.status(job)).finished:
            time.sleep(0.05)
        times.append(time.perf_counter() - t0)
        if status.state != DONE:
            print(f"run {i + 1} failed: {status.error}")
            return 1
        print(f"run {i + 1}: {times[-1]:.1f} s (in the worker {status.result['seconds']:.1f} s)")
    print(f"median {statistics.median(times):.1f} s, first {times[0]:.1f} s over {len(times)} runs; "
          f"{PACKS.workers_started} worker, its peak memory with Chromium {PACKS.peak_mb:.0f} MB")
    PACKS.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
