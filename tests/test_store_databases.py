"""The store's guarantees on either database: run on SQLite by default and on PostgreSQL with
``POVDASH_TEST_DATABASE=postgresql`` (.ci/test.sh runs both; tests/conftest.py gives each test
its own database).  The SQLite file's own faults (its journal, a full disk) are in
tests/test_faults.py."""
from __future__ import annotations

import threading

import pytest
import shapely

import db_helpers
from import_fixtures import official_workbook
from povdata.audit import entries
from povdata.backup import backup, restore
from povdata.importer import prepare_indicators, save_import
from povdata.store import load_layers, load_version, open_store, versions


@pytest.fixture(scope="module")
def reviews():
    return {y: prepare_indicators(official_workbook(y), f"bieu_{y}.xlsx", "20") for y in (2021, 2022, 2023, 2024)}


def test_editors_importing_one_province_at_once_get_one_version_each(tmp_path, reviews):
    """Four imports of one province at the same moment: four versions numbered one after the
    other, each whole (on PostgreSQL an advisory lock per province does what SQLite's single
    writer does; without it two would take the same number and one import would fail)."""
    store = open_store(tmp_path)
    save_import(store, "20", reviews[2021])  # the demo as v1, this as v2
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def run(year: int) -> None:
        start.wait()
        try:
            save_import(store, "20", reviews[year], keep_other_years=False)
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(y,)) for y in (2022, 2023, 2024, 2021)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    vs = versions(store, "20")
    assert [v.number for v in vs] == [6, 5, 4, 3, 2, 1]
    for v in vs[:4]:  # each version holds exactly its own file's rows
        ind = load_version(store, "20", v.id).indicators
        year = int(v.source_file[5:9])
        assert set(ind["year"]) == {year} and len(ind) == len(reviews[year].indicators), v


def test_boundaries_come_back_exactly_as_stored(tmp_path):
    store = open_store(tmp_path)
    from povdata.dataset import demo_dir
    from geo.read import read_layers

    from povdata.store import import_version

    layers = read_layers(demo_dir("20") / "boundaries.gpkg")
    v = import_version(store, "20", layers=layers, boundary_file="ranh_gioi.gpkg", boundary_sha256="b" * 64)
    back = load_layers(store, v.id)
    assert set(back) == set(layers)
    for name, gdf in layers.items():
        mine = gdf.sort_values("code").reset_index(drop=True)
        assert back[name]["code"].tolist() == mine["code"].astype(str).tolist()
        assert shapely.equals_exact(back[name].geometry.to_numpy(), mine.to_crs(4326).geometry.to_numpy(), 0).all()
    if store.url:  # PostgreSQL: real PostGIS geometry, in the layer's CRS, found by the spatial index
        n = db_helpers.value(store, "SELECT COUNT(*) FROM boundary_layers l JOIN boundary_units u ON "
                                    "u.set_sha256 = l.set_sha256 WHERE l.version_id = :v AND ST_SRID(u.geom) = 4326 "
                                    "AND ST_SRID(u.display_geom) = 4326 "
                                    "AND u.geom && ST_MakeEnvelope(106.7, 21.8, 106.8, 21.9, 4326)", {"v": v.id})
        assert n >= 1


def test_backup_then_restore_gives_back_the_backup_and_keeps_the_trail(tmp_path, reviews):
    store = open_store(tmp_path)
    save_import(store, "20", reviews[2022])
    info = backup(store, tmp_path / "sao_luu.sqlite", actor="quan-tri")
    assert info.contents.versions["20"][0].number == 2
    save_import(store, "20", reviews[2023])
    newest_id = versions(store, "20")[0].id
    result = restore(tmp_path / "sao_luu.sqlite", tmp_path, actor="quan-tri", confirm=lambda b, cur: True)
    assert result is not None and result.safety_copy is not None and result.safety_copy.exists()
    assert [v.number for v in versions(store, "20")] == [2, 1]
    assert set(load_version(store, "20").indicators["year"]) == {2022}
    trail = entries(store)
    assert trail["action"].tolist()[:3] == ["restore", "import", "backup"]  # the trail keeps what came after
    # version ids handed out after a restore never repeat one a page may have cached
    save_import(store, "20", reviews[2024])
    v = versions(store, "20")[0]
    assert v.number == 3 and v.id > newest_id


def test_a_sqlite_stores_backup_restores_into_this_store(tmp_path, reviews, monkeypatch):
    """A province that ran on the embedded SQLite store moves to the configured one (on the
    PostgreSQL run: from SQLite into PostgreSQL) through a backup file."""
    import os

    url = os.environ.pop("POVDASH_DATABASE_URL", None)
    try:
        small = open_store(tmp_path / "tinh")
        assert not small.url
        save_import(small, "20", reviews[2024])
        backup(small, tmp_path / "tu_sqlite.sqlite", actor="quan-tri")
    finally:
        if url is not None:
            os.environ["POVDASH_DATABASE_URL"] = url
    store = open_store(tmp_path / "moi")
    restore(tmp_path / "tu_sqlite.sqlite", tmp_path / "moi", actor="quan-tri")
    assert [v.number for v in versions(store, "20")] == [2, 1]
    ds = load_version(store, "20")
    assert set(ds.indicators["year"]) == {2024} and len(ds.indicators) == len(reviews[2024].indicators)
    assert len(load_layers(store, versions(store, "20")[0].id)["district"]) == 11
