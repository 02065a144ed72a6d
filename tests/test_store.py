"""The versioned store: versions, the demo as version 1, loading, atomicity, rejected files."""
from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest

import db_helpers
from import_fixtures import GOV_ZIP, official_workbook
from povdata import store as store_mod
from povdata.dataset import load_demo
from povdata.importer import prepare_indicators, save_import
from povdata.store import (has_store, import_version, load_layers, load_version, open_store, store_path, versions)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def clean_import():
    return prepare_indicators(official_workbook(2023), "bieu_2023.xlsx", "20")


_counts = db_helpers.counts


@pytest.mark.sqlite_only
def test_fresh_data_dir_is_left_alone(tmp_path):
    assert not has_store(tmp_path / "var")
    assert not (tmp_path / "var").exists()  # looking does not create anything


def test_first_import_stores_demo_as_version_1(tmp_path, clean_import):
    st = open_store(tmp_path)
    if not st.url:
        with sqlite3.connect(st.path) as conn:
            assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    v = import_version(st, "20", indicators=clean_import.indicators, source_file="bieu_2023.xlsx",
                       sha256=clean_import.sha256, created_by="cán bộ A", note="lần đầu")
    vs = versions(st, "20")
    assert [(x.number, x.data_status) for x in vs] == [(2, "imported"), (1, "illustrative")]
    assert (v.created_by, v.source_file, v.sha256, v.years, v.note) == (
        "cán bộ A", "bieu_2023.xlsx", clean_import.sha256, "2023", "lần đầu")
    ds = load_version(st, "20")
    assert ds.data_status == "imported" and ds.source == "bieu_2023.xlsx (2023); ranh giới gần đúng (minh họa)" and ds.version.startswith("v2 · ")
    pd.testing.assert_frame_equal(ds.indicators.reset_index(drop=True),
                                  clean_import.indicators.sort_values(["unit_code", "year"]).reset_index(drop=True)
                                  [ds.indicators.columns], check_dtype=False)
    # the demo version is the embedded demo, unchanged
    demo = load_version(st, "20", vs[1].id)
    assert demo.is_illustrative and demo.version == "v1 · demo-1"
    pd.testing.assert_frame_equal(demo.indicators.reset_index(drop=True),
                                  load_demo("20").indicators.sort_values(["unit_code", "year"]).reset_index(drop=True),
                                  check_dtype=False)
    # an import without boundaries carries the previous version's boundaries
    assert {k: len(g) for k, g in load_layers(st, v.id).items()} == \
        {k: len(g) for k, g in load_layers(st, vs[1].id).items()}


@pytest.mark.skipif(not GOV_ZIP.exists(), reason="shared boundary fixtures not found")
def test_boundaries_only_import_keeps_the_indicators(tmp_path, clean_import):
    from geo.importing import prepare_boundaries
    st = open_store(tmp_path)
    first = save_import(st, "20", clean_import)
    b = prepare_boundaries(GOV_ZIP.read_bytes(), GOV_ZIP.name, "20")
    second = save_import(st, "20", boundaries=b)
    assert second.source_file == first.source_file and second.boundary_file == GOV_ZIP.name
    a, c = load_version(st, "20", first.id), load_version(st, "20", second.id)
    pd.testing.assert_frame_equal(a.indicators, c.indicators)
    layers = load_layers(st, second.id)
    assert len(layers["district"]) == 11 and len(layers["commune"]) == 194  # communes from the version before
    sources = store_mod.layer_sources(st, second.id)
    assert sources["district"] == (GOV_ZIP.name, False) and sources["commune"][1] is True  # still approximate


def test_a_failing_import_leaves_the_store_unchanged(tmp_path, clean_import, monkeypatch):
    st = open_store(tmp_path)
    import_version(st, "20", indicators=clean_import.indicators, source_file="a.xlsx", sha256="a")
    before = _counts(st)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")
    monkeypatch.setattr(store_mod, "_insert_layers", boom)  # fails after the version and indicator rows
    with pytest.raises(RuntimeError):
        from geo.read import read_layers
        from povdata.dataset import demo_dir
        moved = read_layers(demo_dir("20") / "boundaries.gpkg")["district"]
        moved = moved.assign(geometry=moved.translate(0.01, 0))  # shapes not yet stored: a new set
        import_version(st, "20", indicators=clean_import.indicators, layers={"district": moved}, source_file="b.xlsx",
                       sha256="b")
    assert _counts(st) == before
    assert [v.source_file for v in versions(st, "20")][0] == "a.xlsx"


def test_a_crash_during_an_import_leaves_the_previous_version(tmp_path, clean_import):
    st = open_store(tmp_path)
    import_version(st, "20", indicators=clean_import.indicators, source_file="a.xlsx", sha256="a")
    before = _counts(st)
    marker = tmp_path / "written"
    script = textwrap.dedent(f"""
        import sys, time, pathlib
        sys.path.insert(0, {str(REPO)!r}); sys.path.insert(0, {str(REPO / 'tests')!r})
        from povdata import store as s
        from povdata.importer import prepare_indicators
        from import_fixtures import official_workbook
        imp = prepare_indicators(official_workbook(2024), "b.xlsx", "20")
        real = s._insert_indicators
        def slow(conn, vid, ind):
            real(conn, vid, ind)
            pathlib.Path({str(marker)!r}).write_text("rows written, not committed")
            time.sleep(60)
        s._insert_indicators = slow
        s.import_version(s.open_store({str(tmp_path)!r}), "20", indicators=imp.indicators, source_file="b.xlsx",
                         sha256="b")
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert proc.poll() is None, "the importing process ended early"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)  # a crash in the middle of the transaction
        proc.wait(10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    assert _counts(st) == before
    assert load_version(open_store(tmp_path), "20").source.startswith("a.xlsx")


def test_a_rejected_file_is_never_stored(tmp_path):
    st = open_store(tmp_path)
    bad = prepare_indicators(official_workbook(2023, poor_over_total_row=True), "loi.xlsx", "20")
    assert not bad.ok
    with pytest.raises(ValueError, match="còn lỗi"):
        save_import(st, "20", bad)
    assert versions(st, "20") == []


@pytest.mark.sqlite_only
def test_unwritable_data_dir_gives_a_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(store_mod.StoreError, match="Không mở được kho dữ liệu"):
        open_store(blocker / "sub")


def test_data_dir_from_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path / "d"))
    assert store_path() == tmp_path / "d" / "povdash.sqlite"
    monkeypatch.delenv("POVDASH_DATA_DIR")
    assert store_path() == REPO / "var" / "povdash.sqlite"


def test_a_years_file_adds_to_the_history_and_replaces_its_own_years(tmp_path, clean_import):
    """Each year staff import that year's review: the new version keeps the other years of the
    previous one (never the demo's illustrative rows), and a year in the file replaces that year."""
    import json

    from povdata.audit import entries

    st = open_store(tmp_path)
    v2 = save_import(st, "20", clean_import)  # over the demo: the file only, no illustrative rows mixed in
    assert v2.years == "2023" and v2.source_file == "bieu_2023.xlsx"
    assert set(load_version(st, "20").indicators["year"]) == {2023}

    y2024 = prepare_indicators(official_workbook(2024), "bieu_2024.xlsx", "20")
    v3 = save_import(st, "20", y2024)
    assert (v3.years, v3.source_file, v3.sha256) == ("2023-2024", "bieu_2024.xlsx + các năm khác của v2", y2024.sha256)
    ind = load_version(st, "20").indicators
    assert set(ind["year"]) == {2023, 2024}
    pd.testing.assert_frame_equal(ind[ind["year"] == 2023].reset_index(drop=True),
                                  load_version(st, "20", v2.id).indicators.reset_index(drop=True))
    detail = json.loads(entries(st, action="import").iloc[0]["detail"])
    assert detail["indicator_file"] == "bieu_2024.xlsx" and detail["kept_years_from_previous"] == [2023]

    # a corrected 2024 file replaces 2024 and keeps 2023
    fixed = y2024.indicators.assign(poor_households=y2024.indicators["poor_households"] - 1)
    v4 = import_version(st, "20", indicators=fixed, source_file="bieu_2024_sua.xlsx", sha256="f" * 64)
    ind = load_version(st, "20").indicators
    assert v4.years == "2023-2024" and len(ind) == len(clean_import.indicators) + len(fixed)
    assert (ind.loc[ind["year"] == 2024, "poor_households"].sum()
            == y2024.indicators["poor_households"].sum() - len(fixed))

    # or the file alone, when asked
    v5 = save_import(st, "20", y2024, keep_other_years=False)
    assert (v5.years, v5.source_file) == ("2024", "bieu_2024.xlsx")
    assert set(load_version(st, "20").indicators["year"]) == {2024}
