"""Landing-page benchmark: how soon a committee member sees the answer (issue 15).

Run from the project root::

    .venv/bin/python benchmarks/bench_landing.py            # 5 visits of each kind
    .venv/bin/python benchmarks/bench_landing.py --visits 2

Headless Chromium at 1366×768 against a real ``streamlit run`` server on 127.0.0.1 (demo
data), timed from navigation start (``performance.now()``) to:

* **answer**: the five verdict cells are in the DOM;
* **map**: the district map's 11 shapes are drawn;
* **settled**: the page is idle again (a first visit reports the window size once, and the
  map is redrawn at the height that fills the window; a returning visitor's browser sends it
  with the connection, as a cookie, so there is no second run).

"first visit" = a fresh browser profile (cold HTTP cache, no cookie); "returning" = the same
profile again.  The server is warmed by one visit before timing.  Results go to
``benchmarks/results/landing.json``.  A benchmark, not a test: the exit code stays 0.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_year_slider import ROOT, _idle, served_browser  # noqa: E402  one server and browser, one idle wait

RESULTS = ROOT / "benchmarks" / "results" / "landing.json"
TARGET_ANSWER_S = 3.0

_MARKS = """() => new Promise((done) => {
  const out = {};
  const check = () => {
    const now = performance.now();
    if (out.answer === undefined && document.querySelectorAll('.povdash-cell').length >= 5) out.answer = now;
    if (out.map === undefined && document.querySelectorAll('.js-plotly-plot path.choroplethlocation').length >= 11)
      out.map = now;
    if (out.answer !== undefined && out.map !== undefined) { done(out); return; }
    requestAnimationFrame(check);
  };
  check();
})"""


def _visit(page, base: str) -> dict:
    page.goto(base + "/", wait_until="commit")
    marks = page.evaluate(_MARKS)
    _idle(page)
    settled = page.evaluate("performance.now()") - 400  # the idle wait's own 400 ms of quiet
    return {"answer_s": marks["answer"] / 1000, "map_s": marks["map"] / 1000, "settled_s": settled / 1000}


def _median(rows: list[dict], key: str) -> float:
    return round(statistics.median(r[key] for r in rows), 3)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--visits", type=int, default=5)
    args = ap.parse_args()
    load = os.getloadavg()
    with served_browser() as (browser, base):
        warm = browser.new_page(viewport={"width": 1366, "height": 768})
        _visit(warm, base)  # the server's caches: the first visit after a start is not the point here
        warm.close()
        first, returning = [], []
        for _ in range(args.visits):
            ctx = browser.new_context(viewport={"width": 1366, "height": 768})
            page = ctx.new_page()
            first.append(_visit(page, base))
            time.sleep(0.5)
            returning.append(_visit(page, base))
            ctx.close()
    summary = {kind: {k: _median(rows, k) for k in ("answer_s", "map_s", "settled_s")}
               for kind, rows in (("first_visit", first), ("returning", returning))}
    print(f"{'visit':<14}{'answer':>10}{'map':>10}{'settled':>10}")
    for kind, s in summary.items():
        flag = "" if s["answer_s"] <= TARGET_ANSWER_S else "  FAIL"
        print(f"{kind:<14}{s['answer_s']:>9.2f}s{s['map_s']:>9.2f}s{s['settled_s']:>9.2f}s{flag}")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "load_start": load,
                    "load_end": os.getloadavg()},
        "viewport": "1366x768", "visits": args.visits, "summary": summary, "first_visit": first,
        "returning": returning, "target_answer_s": TARGET_ANSWER_S}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
