"""Store benchmark: the same work on the embedded SQLite file and on PostgreSQL + PostGIS.

Run from the project root (as root or as a user who may run PostgreSQL's server binaries)::

    .venv/bin/python benchmarks/bench_store.py

For each database: the first import of Lạng Sơn (the demo stored as version 1, then the
year-end review of 2023: one transaction), an import that adds a year, a rollback, loading the
latest version's indicators and its boundary layers, an import of the government's district
boundaries, reading the commune map's display geometry (what a page does once per version and
process) against simplifying it on reading as before boundary sets, a backup and a restore.
PostgreSQL runs in a throw-away cluster on a Unix socket (``tests/pg_helpers.py``), with PostGIS
created by its superuser and the app connecting as an ordinary role, as in a deployment.  Each step is timed ``REPEAT`` times (median reported).
Results go to ``benchmarks/results/store.json``.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

REPEAT = 5


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(label: str) -> dict[str, float]:
    from import_fixtures import official_workbook
    from povdata.backup import backup, restore
    from povdata.importer import prepare_indicators, save_import
    from povdata.store import load_indicators, load_layers, open_store, rollback, versions
    from povdata.auth import cli_user

    imports = {y: prepare_indicators(official_workbook(y), f"bieu_{y}.xlsx", "20") for y in (2023, 2024)}
    from geo.importing import prepare_boundaries
    from import_fixtures import GOV_ZIP
    from povdata.maps import display_layer
    from povdata.store import load_display_layer

    districts = prepare_boundaries(GOV_ZIP.read_bytes(), GOV_ZIP.name, "20")
    out: dict[str, list[float]] = {k: [] for k in ("first_import", "import_year", "rollback", "load_indicators",
                                                    "load_layers", "import_boundaries", "load_display",
                                                    "simplify_on_read", "backup", "restore")}
    for i in range(REPEAT):
        folder = Path(tempfile.mkdtemp(prefix=f"bench-store-{label}-"))
        if os.environ.get("POVDASH_DATABASE_URL"):
            _fresh_database(i)
        store = open_store(folder)
        out["first_import"].append(_time(lambda: save_import(store, "20", imports[2023])))
        out["import_year"].append(_time(lambda: save_import(store, "20", imports[2024])))
        v2 = versions(store, "20")[1]
        out["rollback"].append(_time(lambda: rollback(store, "20", v2.id, user=cli_user())))
        latest = versions(store, "20")[0]
        out["load_indicators"].append(_time(lambda: load_indicators(store, latest.id)))
        out["load_layers"].append(_time(lambda: load_layers(store, latest.id)))
        # the government's district file: hashed, the districts' display geometry simplified once
        out["import_boundaries"].append(_time(lambda: save_import(store, "20", boundaries=districts)))
        latest = versions(store, "20")[0]
        # what a page reads for the commune map: the stored display geometry, against what it
        # did before boundary sets (read the layers, simplify the communes)
        out["load_display"].append(_time(lambda: load_display_layer(store, latest.id, "commune")))
        out["simplify_on_read"].append(_time(lambda: display_layer(load_layers(store, latest.id), "commune")))
        out["backup"].append(_time(lambda: backup(store, folder / "b.sqlite")))
        out["restore"].append(_time(lambda: restore(folder / "b.sqlite", folder)))
    return {k: round(statistics.median(v), 3) for k, v in out.items()}


_ADMIN = None


def _fresh_database(i: int) -> None:
    from sqlalchemy import text

    from povdata.db import dispose_engines

    dispose_engines()
    with _ADMIN.connect() as conn:
        conn.execute(text(f"CREATE DATABASE bench{i} TEMPLATE bench_template OWNER povdash"))
    base = os.environ["POVDASH_BENCH_APP_URL"]
    os.environ["POVDASH_DATABASE_URL"] = base.replace("/postgres?", f"/bench{i}?")  # a copy of the migrated template


def main() -> None:
    global _ADMIN
    from pg_helpers import app_template, postgres_cluster

    results = {"sqlite": run("sqlite")}
    with postgres_cluster() as admin_url:
        _ADMIN, app_url = app_template(admin_url, "bench_template")
        os.environ["POVDASH_BENCH_APP_URL"] = app_url
        os.environ["POVDASH_DATABASE_URL"] = "pending"
        try:
            results["postgresql"] = run("postgresql")
        finally:
            from povdata.db import dispose_engines
            dispose_engines()
            os.environ.pop("POVDASH_DATABASE_URL", None)
            _ADMIN.dispose()
    report = {"machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
              "repeat": REPEAT, "unit": "seconds (median)", **results}
    path = ROOT / "benchmarks" / "results" / "store.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
