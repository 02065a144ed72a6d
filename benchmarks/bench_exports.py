"""Image exports with the process's one Chromium (issue 16 point 4).

    .venv/bin/python benchmarks/bench_exports.py [--runs 5]

A chart download ("Tải hình", PNG 1920×1080) of the province's series, the first in a
fresh process (the renderer starts Chromium) and the next ones (it is reused), then the
same after closing the renderer each time (what every download cost before: a new
Chromium per export).  Writes ``benchmarks/results/exports.json``.
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from povdata import export_images as ex  # noqa: E402
from povdata.charts import rate_series_figure  # noqa: E402
from povdata.dataset import level_table, load_demo  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    levels = level_table(load_demo("20"))
    fig = ex.frame_figure(rate_series_figure(levels[levels["unit_code"] == "20"], "vi"),
                          ex.Frame("Tỷ lệ hộ nghèo toàn tỉnh"))

    def timed() -> float:
        t0 = time.perf_counter()
        ex.figure_image(fig)
        return time.perf_counter() - t0

    first = timed()
    reused = [timed() for _ in range(args.runs)]
    fresh = []
    for _ in range(args.runs):
        ex.RENDERER.close()
        fresh.append(timed())
    out = {"machine": f"{platform.machine()}, {platform.python_version()}", "first_export_s": round(first, 2),
           "reused_median_s": round(statistics.median(reused), 2),
           "new_chromium_each_median_s": round(statistics.median(fresh), 2), "runs": args.runs,
           "chromium_starts": ex.RENDERER.starts}
    print(json.dumps(out, indent=1))
    (Path(__file__).parent / "results" / "exports.json").write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
