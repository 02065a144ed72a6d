"""Boundary sets (issue 16 point 1): a layer's shapes are stored once, named by the hash of
their content, with their display geometry simplified once, at import; versions point at
them.  Runs on SQLite and (listed in ``on_postgresql.txt``) on PostgreSQL + PostGIS."""
from __future__ import annotations

import sqlite3

import geopandas as gpd
import pytest
import shapely

import db_helpers
from import_fixtures import GOV_ZIP
from geo.importing import prepare_boundaries
from geo.read import read_layers
from povdata import boundary_sets
from povdata.auth import cli_user
from povdata.dataset import demo_dir, load_demo
from povdata.importer import save_import
from povdata.maps import display_layer
from povdata.messages import say
from povdata.store import (import_version, layer_sources, load_display_layer, load_layers, open_store, rollback,
                           versions)

DEMO = demo_dir("20") / "boundaries.gpkg"


def _geometry_rows(store) -> tuple[int, int, int]:
    return db_helpers.counts(store, ("boundary_layers", "boundary_sets", "boundary_units"))


def test_versions_point_at_one_set_and_copy_no_geometry(tmp_path):
    store = open_store(tmp_path)
    ind = load_demo("20").indicators
    layers = read_layers(DEMO)
    v2 = import_version(store, "20", indicators=ind, layers=layers, source_file="a.csv", boundary_file="b.gpkg")
    # the demo seeded as v1 and the file's layers are the same shapes: one set per layer
    n_layers, n_sets, n_units = _geometry_rows(store)
    assert n_sets == len(layers) and n_units == sum(len(g) for g in layers.values())
    assert n_layers == 2 * len(layers)
    import_version(store, "20", indicators=ind.assign(poor_households=ind["poor_households"] + 1), source_file="c.csv")
    rollback(store, "20", v2.id, user=cli_user())
    shuffled = {k: g.sample(frac=1, random_state=3) for k, g in layers.items()}  # same shapes, another row order
    v5 = import_version(store, "20", layers=shuffled, boundary_file="d.gpkg")
    assert _geometry_rows(store) == (5 * len(layers), n_sets, n_units)  # pointers only: no unit row more
    assert layer_sources(store, v5.id)["district"] == ("d.gpkg", False)
    back = load_layers(store, v5.id)
    for k, g in layers.items():
        mine = g.sort_values("code")
        assert back[k]["code"].tolist() == mine["code"].astype(str).tolist()
        assert shapely.equals_exact(back[k].geometry.to_numpy(), mine.geometry.to_numpy(), 0).all()
    # other shapes are another set; the earlier versions keep theirs
    moved = {"district": layers["district"].assign(geometry=layers["district"].translate(0.001, 0))}
    v6 = import_version(store, "20", layers=moved, boundary_file="e.gpkg")
    assert _geometry_rows(store)[1:] == (n_sets + 1, n_units + len(layers["district"]))
    assert not shapely.equals_exact(load_layers(store, v6.id)["district"].geometry.iloc[0],
                                    load_layers(store, v5.id)["district"].geometry.iloc[0], 0)


def test_display_geometry_is_stored_at_import_and_read_without_simplifying(tmp_path, monkeypatch):
    store = open_store(tmp_path)
    layers = read_layers(DEMO)
    v = import_version(store, "20", indicators=load_demo("20").indicators, layers=layers, source_file="a.csv")
    expected = {k: display_layer(layers, k).sort_values("code") for k in layers}
    import geo.simplify

    def refuse(*_a, **_k):
        raise AssertionError("simplified while reading")
    monkeypatch.setattr(geo.simplify, "simplify_coverage", refuse)
    for k, want in expected.items():
        got = load_display_layer(store, v.id, k)
        assert got["code"].tolist() == want["code"].tolist()
        assert shapely.equals_exact(got.geometry.to_numpy(), want.geometry.to_numpy(), 0).all(), k
        # simplified: fewer vertices than the imported shapes
        assert shapely.get_num_coordinates(got.geometry.to_numpy()).sum() < \
            shapely.get_num_coordinates(layers[k].geometry.to_numpy()).sum()
    assert expected["commune_2025"]["code"].str.endswith("-2025").all()  # the level table's ids of new communes
    only = import_version(store, "20", layers={"district": layers["district"]}, boundary_file="huyen.gpkg")
    assert load_display_layer(store, only.id, "commune") is None


def test_the_pointer_import_does_not_simplify_again(tmp_path, monkeypatch):
    """The same shapes imported again (the department sends its file a second time) are hashed,
    found, and pointed at: nothing is simplified."""
    store = open_store(tmp_path)
    layers = read_layers(DEMO)
    import_version(store, "20", indicators=load_demo("20").indicators, layers=layers, source_file="a.csv")
    calls = []
    real = boundary_sets.display_wkb
    monkeypatch.setattr(boundary_sets, "display_wkb", lambda *a, **k: calls.append(a) or real(*a, **k))
    import_version(store, "20", layers=layers, boundary_file="again.gpkg")
    assert calls == []


@pytest.mark.skipif(not GOV_ZIP.exists(), reason="shared boundary fixtures not found")
def test_the_government_file_as_shapefile_or_geopackage_is_one_set(tmp_path):
    """The government's district shapefile (``../shared/fixtures/boundaries``), and the same
    file as a department re-exports it to a GeoPackage: one set, stored once."""
    store = open_store(tmp_path / "data")
    shp = prepare_boundaries(GOV_ZIP.read_bytes(), GOV_ZIP.name, "20")
    assert shp.ok
    save_import(store, "20", boundaries=shp, created_by="test")
    gpkg = tmp_path / "ranh_gioi_huyen.gpkg"
    gpd.read_file(GOV_ZIP).to_file(gpkg, driver="GPKG")
    again = prepare_boundaries(gpkg.read_bytes(), gpkg.name, "20")
    assert again.ok
    before = _geometry_rows(store)
    v = save_import(store, "20", boundaries=again, created_by="test")
    after = _geometry_rows(store)
    assert after[1:] == before[1:]  # no new set, no new unit
    assert layer_sources(store, v.id)["district"] == ("ranh_gioi_huyen.gpkg", False)
    shown = load_display_layer(store, v.id, "district")
    assert len(shown) == 11 and shapely.get_num_coordinates(shown.geometry.to_numpy()).sum() < \
        shapely.get_num_coordinates(load_layers(store, v.id)["district"].geometry.to_numpy()).sum()


@pytest.mark.skipif(not GOV_ZIP.exists(), reason="shared boundary fixtures not found")
def test_the_import_page_s_simplification_runs_in_a_worker(tmp_path, monkeypatch):
    """The page saves with ``simplify=display_wkb_limited``: a new set's display geometry is computed in a
    worker process, not in the web process that serves everyone else.  The web process's simplifier is
    patched to fail; the import still stores the display geometry the in-process path gives."""
    import geo.simplify

    monkeypatch.delenv("POVDASH_PARSE_IN_PROCESS", raising=False)
    shp = prepare_boundaries(GOV_ZIP.read_bytes(), GOV_ZIP.name, "20")
    assert shp.ok
    real = geo.simplify.simplify_coverage

    def refuse(*_a, **_k):
        raise AssertionError("simplified in the web process")
    monkeypatch.setattr(geo.simplify, "simplify_coverage", refuse)
    store = open_store(tmp_path)
    before = _geometry_rows(store)[1:]
    v = save_import(store, "20", boundaries=shp, created_by="test", simplify=boundary_sets.display_wkb_limited)
    assert _geometry_rows(store)[1:] > before  # new sets were stored (the demo's and the file's)
    rows = boundary_sets.layer_rows("district", load_layers(store, v.id)["district"])
    with pytest.raises(AssertionError, match="web process"):  # the patch does bite in this process
        boundary_sets.display_wkb(rows)
    monkeypatch.setattr(geo.simplify, "simplify_coverage", real)
    want = shapely.from_wkb(boundary_sets.display_wkb(rows))
    got = load_display_layer(store, v.id, "district")
    assert got["code"].tolist() == rows.codes and len(got) == 11
    assert shapely.equals_exact(got.geometry.to_numpy(), want, 0).all()


@pytest.mark.skipif(not GOV_ZIP.exists(), reason="shared boundary fixtures not found")
def test_a_simplification_over_the_worker_s_time_limit_stores_nothing(tmp_path, monkeypatch):
    monkeypatch.delenv("POVDASH_PARSE_IN_PROCESS", raising=False)
    shp = prepare_boundaries(GOV_ZIP.read_bytes(), GOV_ZIP.name, "20")
    store = open_store(tmp_path)
    import_version(store, "20", indicators=load_demo("20").indicators, source_file="a.csv")
    before = db_helpers.counts(store)
    monkeypatch.setenv("POVDASH_PARSE_SECONDS", "0.01")
    with pytest.raises(ValueError) as err:
        save_import(store, "20", boundaries=shp, created_by="test", simplify=boundary_sets.display_wkb_limited)
    msg = err.value.args[0]
    assert msg.key == "workers.too_slow" and say(err.value, "vi").startswith("đọc tệp mất hơn 0 giây")
    assert "seconds" in say(err.value, "en")
    assert db_helpers.counts(store) == before  # refused: no version, no set, no unit


def test_the_hash_is_of_the_shapes_not_of_their_order_nor_byte_order():
    g = read_layers(DEMO)["district"]
    a = boundary_sets.layer_rows("district", g)
    b = boundary_sets.layer_rows("district", g.iloc[::-1])
    assert a.sha256 == b.sha256
    big = boundary_sets.LayerRows("district", a.codes, a.province_codes, a.district_codes,
                                  [shapely.to_wkb(shapely.from_wkb(w), byte_order=0) for w in a.wkb])
    assert big.sha256 == a.sha256
    multi = g.assign(geometry=[shapely.MultiPolygon([p]) if p.geom_type == "Polygon" else p for p in g.geometry])
    assert boundary_sets.layer_rows("district", multi).sha256 == a.sha256  # a GeoPackage export's MultiPolygons
    two = g.assign(geometry=[shapely.MultiPolygon([p, shapely.box(0, 0, 1, 1)]) if p.geom_type == "Polygon" else p
                             for p in g.geometry])
    assert boundary_sets.layer_rows("district", two).sha256 != a.sha256
    assert boundary_sets.layer_rows("commune", read_layers(DEMO)["commune"]).sha256 != a.sha256
    other = boundary_sets.layer_rows("district", g.assign(district_code=None).assign(province_code="19"))
    assert other.sha256 != a.sha256  # the parent codes are part of the set


@pytest.mark.sqlite_only
def test_a_store_of_the_previous_release_moves_into_sets(tmp_path):
    """A store at revision 0008 (every version holding its own copy of the geometry): 0009
    makes one set of each distinct layer, keeps every version's shapes, sources and flags, and
    a later import of the same shapes finds the migrated set."""
    from alembic import command
    from sqlalchemy import create_engine

    from povdata import db
    from povdata.db.migrate import _config

    path = tmp_path / "povdash.sqlite"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0008")
    engine.dispose()
    layers = read_layers(DEMO)
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO datasets VALUES ('20', 'Lạng Sơn')")
        for vid, number, layer_set in ((7, 1, layers), (8, 2, layers),
                                       (9, 3, {"district": layers["district"].translate(0.01, 0).to_frame("geometry")
                                               .assign(code=layers["district"]["code"],
                                                       province_code=layers["district"]["province_code"])})):
            conn.execute("INSERT INTO versions (id, province_code, number, created_at, created_by, source_file, "
                         "sha256, data_status, title) VALUES (?, '20', ?, 't', 'a', 'f.csv', 's', 'imported', 't')",
                         (vid, number))
            for name, g in layer_set.items():
                for _, r in g.iterrows():
                    conn.execute("INSERT INTO boundaries VALUES (?, ?, ?, ?, ?, ?)",
                                 (vid, name, r["code"], r.get("province_code"), r.get("district_code"),
                                  shapely.to_wkb(r.geometry)))
                conn.execute("INSERT INTO boundary_layers VALUES (?, ?, ?, ?)", (vid, name, f"src-{vid}", vid == 7))
    store = open_store(tmp_path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(db.HEAD,)]
        assert conn.execute("SELECT name FROM sqlite_master WHERE name = 'boundaries'").fetchall() == []
        assert conn.execute("SELECT COUNT(*) FROM boundary_sets").fetchone() == (len(layers) + 1,)
    for vid in (7, 8):
        back = load_layers(store, vid)
        for k, g in layers.items():
            assert shapely.equals_exact(back[k].geometry.to_numpy(), g.sort_values("code").geometry.to_numpy(), 0).all()
        assert layer_sources(store, vid)["commune"] == (f"src-{vid}", vid == 7)
        got = load_display_layer(store, vid, "commune")
        want = display_layer(layers, "commune").sort_values("code")
        assert shapely.equals_exact(got.geometry.to_numpy(), want.geometry.to_numpy(), 0).all()
    assert set(load_layers(store, 9)) == {"district"}
    n = _geometry_rows(store)
    import_version(store, "20", layers=layers, boundary_file="same.gpkg")
    assert _geometry_rows(store)[1:] == n[1:]  # the migrated sets are found by their hash
    assert [v.number for v in versions(store, "20")] == [4, 3, 2, 1]


def test_the_pages_draw_the_stored_display_geometry(tmp_path, monkeypatch):
    """The pages' geometry of a stored version (``pages.common._shapes``, cached per process)
    is the stored display geometry: what the map draws is what the import simplified, and no
    page simplifies it again."""
    import geo.simplify
    import pages.common as ui

    store = open_store(tmp_path)
    v = import_version(store, "20", indicators=load_demo("20").indicators, layers=read_layers(DEMO),
                       source_file="a.csv")
    want = load_display_layer(store, v.id, "district")
    monkeypatch.setattr(geo.simplify, "simplify_coverage", lambda *a, **k: pytest.fail("simplified by a page"))
    shown = ui._shapes("20", "district", (store.key, v.id))
    assert shapely.equals_exact(shown.geometry.to_numpy(), want.geometry.to_numpy(), 0).all()
    only = import_version(store, "20", layers={"district": read_layers(DEMO)["district"]}, boundary_file="h.gpkg")
    assert ui._shapes("20", "commune", (store.key, only.id)).empty


@pytest.mark.skipif(not GOV_ZIP.exists(), reason="shared boundary fixtures not found")
def test_a_pack_of_imported_boundaries_draws_them_and_names_their_file(tmp_path):
    """The briefing pack of a version with the government's district boundaries draws those
    (the stored display geometry, as on screen) and says where they come from; the demo's pack
    still says its boundaries are approximate."""
    from povdata.briefing import build_pack, stored_maps
    from povdata.store import load_version

    store = open_store(tmp_path)
    import_version(store, "20", indicators=load_demo("20").indicators, source_file="a.csv")
    v = save_import(store, "20", boundaries=prepare_boundaries(GOV_ZIP.read_bytes(), GOV_ZIP.name, "20"),
                    created_by="test")
    maps = stored_maps(store, v.id)
    want = load_display_layer(store, v.id, "district")
    assert shapely.equals_exact(maps.shape("district").geometry.to_numpy(), want.geometry.to_numpy(), 0).all()
    pack = build_pack(load_version(store, "20", v.id), 2024, "vi", maps=maps, render=False)
    (pic,) = [i for s in pack.slides for i in s.items if getattr(i, "name", "") == "province_map"]
    drawn = {f["id"]: shapely.geometry.shape(f["geometry"]) for tr in pic.figure.data
             if getattr(tr, "geojson", None) for f in tr.geojson["features"]}
    for code, geom in zip(want["code"], want.geometry):
        assert shapely.equals_exact(drawn[code], geom, 1e-9) or shapely.equals(drawn[code], geom), code
    notes = " ".join(p.text for s in pack.slides if s.kind == "notes" for i in s.items for p in i.paras)
    assert f"từ tệp {GOV_ZIP.name}" in notes  # the districts' file
    assert "gần đúng" in notes  # the communes of the poor districts' maps are still the demo's
    demo = build_pack(load_demo("20"), 2024, "vi", render=False)
    demo_notes = " ".join(p.text for s in demo.slides if s.kind == "notes" for i in s.items for p in i.paras)
    assert "từ tệp" not in demo_notes and "gần đúng" in demo_notes


@pytest.mark.skipif(not GOV_ZIP.exists(), reason="shared boundary fixtures not found")
def test_the_overview_s_pack_of_a_stored_version_draws_its_boundaries(tmp_path, monkeypatch):
    """From the button on the overview, through the briefing worker: the pack of a stored
    version with the government's districts names their file (the page hands the worker the
    geometry it draws)."""
    import io
    import time

    from pptx import Presentation

    from app_helpers import run_app

    store = open_store(tmp_path)
    import_version(store, "20", indicators=load_demo("20").indicators, source_file="a.csv")
    save_import(store, "20", boundaries=prepare_boundaries(GOV_ZIP.read_bytes(), GOV_ZIP.name, "20"),
                created_by="test")
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path))
    at = run_app()
    at.button(key="briefing_build").click().run()
    deadline = time.monotonic() + 180
    while not at.success and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    deck = Presentation(io.BytesIO(at.session_state["briefing_pack"]["pptx"]))
    text = " ".join(sh.text_frame.text for s in deck.slides for sh in s.shapes if sh.has_text_frame)
    assert f"từ tệp {GOV_ZIP.name}" in text
