"""The store's schema changes by migrations (issue 16 point 1): a store written by the
previous release opens, upgraded, with everything it held; a new store is made by the same
migrations; the code never writes a column no migration made."""
from __future__ import annotations

import json
import os
import multiprocessing
import shutil
import sqlite3
from pathlib import Path

import pytest
import shapely

from povdata import db
from povdata.audit import entries, summary_text
from povdata.auth import authenticate, list_users
from povdata.store import IND_COLUMNS, import_version, load_version, open_store, versions

PREVIOUS = Path(__file__).parent / "fixtures" / "stores" / "povdash-schema5.sqlite"


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]


def test_a_store_written_by_the_previous_release_is_upgraded_and_keeps_everything(tmp_path):
    shutil.copy(PREVIOUS, tmp_path / "povdash.sqlite")
    assert "said" not in _columns(tmp_path / "povdash.sqlite", "audit")
    store = open_store(tmp_path)
    with sqlite3.connect(store.path) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(db.HEAD,)]
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(db.SCHEMA_VERSION),)
    assert "said" in _columns(store.path, "audit")
    admin = authenticate(store, "quan-tri", "mat-khau-du-dai-123")  # the accounts and their hashes survive
    assert admin.role == "admin"
    assert list_users(store, actor=admin).set_index("username").loc["xem-ha-giang", "role"] == "editor"
    (v1,) = versions(store, "02")
    old = load_version(store, "02", v1.id).indicators
    assert sorted(old["unit_code"]) == ["024", "026", "027"] and int(old["poor_households"].sum()) == 8200
    trail = entries(store)
    assert len(trail) == 4 and (trail["said"] == "").all()  # two users, a role, an import
    # rows written before keys were kept read as they were stored, in either language
    assert summary_text(trail["summary"].iloc[0], trail["said"].iloc[0], "en") == trail["summary"].iloc[0]
    # and the upgraded store takes new data like a new one
    ind = old.assign(poor_households=old["poor_households"] - 300, year=2025)[["unit_code", "year", "standard",
                                                                             "households_total", "poor_households"]]
    v2 = import_version(store, "02", indicators=ind, source_file="bieu_2025.xlsx", sha256="1" * 64,
                        data_status="imported", created_by="quan-tri")
    assert v2.number == 2
    row = entries(store).iloc[0]
    assert json.loads(row["said"])["key"] == "store.audit_import"
    assert summary_text(row["summary"], row["said"], "en") == "Imported bieu_2025.xlsx → version v2"


def test_opening_again_changes_nothing(tmp_path):
    shutil.copy(PREVIOUS, tmp_path / "povdash.sqlite")
    assert db.upgrade(tmp_path / "povdash.sqlite") == "0005 (stamped)"
    assert db.upgrade(tmp_path / "povdash.sqlite") == db.HEAD


def test_the_code_writes_only_columns_the_migrations_made():
    """Adding an indicator to the registry without a migration fails here, not at a user's
    next import ("table indicators has no column named …")."""
    fresh = db.fresh_columns()
    assert set(IND_COLUMNS) <= set(fresh["indicators"]), sorted(set(IND_COLUMNS) - set(fresh["indicators"]))
    assert "said" in fresh["audit"] and "alembic_version" not in fresh


def test_the_revisions_are_one_chain_ending_at_head():
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(db.MIGRATIONS))
    script = ScriptDirectory.from_config(cfg)
    assert script.get_heads() == [db.HEAD]
    chain = [r.revision for r in script.walk_revisions()]
    assert chain[-1] == "0005" and chain[0] == db.HEAD and len(chain) == len(set(chain))


def _open(path: str) -> str:
    from povdata.store import open_store as _open_store
    return str(_open_store(path).path)


def test_several_processes_opening_a_new_store_at_once(tmp_path):
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        paths = pool.map(_open, [str(tmp_path)] * 4)
    assert len(set(paths)) == 1
    with sqlite3.connect(paths[0]) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(db.HEAD,)]


def test_a_store_from_a_newer_release_is_not_touched(tmp_path):
    """A file stamped with a revision this release does not know (a newer release's): the
    migrations refuse it and nothing changes."""
    store = open_store(tmp_path)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    before = store.path.read_bytes()
    with pytest.raises(db.MigrationError):
        db.upgrade(store.path)
    assert store.path.read_bytes() == before



def _imports(rel: str) -> set[str]:
    """The povdata modules ``rel`` imports, at any depth of the file (function-level too)."""
    import ast

    root = Path(__file__).resolve().parents[1]
    out = set()
    for node in ast.walk(ast.parse((root / rel).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("povdata"):
            out.add(node.module)
            out.update(f"{node.module}.{a.name}" for a in node.names)  # from povdata import audit
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.startswith("povdata"))
    return out


def test_the_store_s_layers_import_downwards_only():
    """Issue 16 point 1: the bottom (``povdata.db``: file, connections, migrations) knows
    nothing above it; the policy (roles, scope) no store; the audit trail no users; users
    (``povdata.auth``) no versions (``povdata.store``) — the store/auth/audit cycle is gone."""
    below = {
        "povdata/db/connection.py": {"povdata.store", "povdata.auth", "povdata.audit", "povdata.policy"},
        "povdata/db/migrate.py": {"povdata.store", "povdata.auth", "povdata.audit", "povdata.policy"},
        "povdata/policy.py": {"povdata.db", "povdata.store", "povdata.auth", "povdata.audit"},
        "povdata/audit.py": {"povdata.store", "povdata.auth"},
        "povdata/auth.py": {"povdata.store"},
        "povdata/store.py": {"povdata.auth"},
    }
    for rel, banned in below.items():
        got = {m for m in _imports(rel) if any(m == b or m.startswith(b + ".") for b in banned)}
        assert not got, f"{rel} imports {sorted(got)}"


# ---- the same migrations on PostgreSQL ----------------------------------------------------------
@pytest.fixture(scope="module")
def pg_url():
    from pg_helpers import pg_bin, postgres_cluster

    if pg_bin() is None:
        if os.environ.get("POVDASH_REQUIRE_BROWSER") == "1":  # CI: PostgreSQL is required, like Chromium
            pytest.fail("PostgreSQL server binaries are missing (.ci/test.sh installs them as root)")
        pytest.skip("PostgreSQL server binaries not installed")
    with postgres_cluster() as url:
        yield url


def _pg_columns(url: str) -> dict[str, list[str]]:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    try:
        insp = inspect(engine)
        return {t: [c["name"] for c in insp.get_columns(t)] for t in sorted(insp.get_table_names())
                if t not in ("alembic_version", "spatial_ref_sys")}  # the latter: PostGIS's own
    finally:
        engine.dispose()


def test_the_migrations_make_the_same_store_on_postgresql(pg_url):
    from sqlalchemy import create_engine, text

    db.upgrade_url(pg_url)
    db.upgrade_url(pg_url)  # again: nothing to do
    assert _pg_columns(pg_url) == db.fresh_columns()  # same tables, same columns, same order
    engine = create_engine(pg_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == db.HEAD
            assert conn.execute(text("SELECT value FROM meta WHERE key = 'schema_version'")).scalar() == str(db.SCHEMA_VERSION)
            conn.execute(text("INSERT INTO audit (at, actor, action, summary) VALUES ('t', 'a', 'import', 's')"))
        for change in ("UPDATE audit SET summary = 'sửa'", "DELETE FROM audit"):
            with pytest.raises(Exception, match="append-only"), engine.begin() as conn:
                conn.execute(text(change))  # the database itself keeps the trail append-only
        with engine.begin() as conn:
            assert conn.execute(text("SELECT summary FROM audit")).scalars().all() == ["s"]
            # geometry is PostGIS's, with a spatial index (migrations 0008 and 0009)
            assert conn.execute(text("SELECT column_name, udt_name FROM information_schema.columns WHERE "
                                     "table_name = 'boundary_units' AND column_name LIKE '%geom' ORDER BY 1")).all() \
                == [("display_geom", "geometry"), ("geom", "geometry")]
            assert "USING gist (geom)" in conn.execute(text(
                "SELECT indexdef FROM pg_indexes WHERE tablename = 'boundary_units' "
                "AND indexname = 'boundary_units_geom'")).scalar()
    finally:
        engine.dispose()


def test_a_postgresql_store_of_the_previous_release_gets_postgis_geometry(pg_url):
    """The previous release made PostgreSQL stores at revision 0007 (geometry as WKB in
    ``bytea``): 0008 turns the stored WKB into PostGIS geometry, unchanged, and the store then
    reads through the app like a new one."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from povdata.db.migrate import _config
    from povdata.store import Store, load_layers

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE DATABASE ban_cu"))
    admin.dispose()
    url = pg_url.replace("/postgres?", "/ban_cu?")
    square = shapely.box(106.7, 21.8, 106.8, 21.9)
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            command.upgrade(_config(conn), "0007")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT data_type FROM information_schema.columns WHERE table_name = 'boundaries' "
                                     "AND column_name = 'geom'")).scalar() == "bytea"
            conn.execute(text("INSERT INTO datasets VALUES ('20', 'Lạng Sơn')"))
            conn.execute(text("INSERT INTO versions (id, province_code, number, created_at, created_by, source_file, "
                              "sha256, data_status, title) VALUES (7, '20', 1, 't', 'a', 'f', 's', 'imported', 't')"))
            conn.execute(text("INSERT INTO versions (id, province_code, number, created_at, created_by, source_file, "
                              "sha256, data_status, title) VALUES (8, '20', 2, 't', 'a', 'f', 's', 'imported', 't')"))
            for vid in (7, 8):  # two versions, each with its copy of the same shapes
                conn.execute(text("INSERT INTO boundaries VALUES (:v, 'district', '178', '20', NULL, :g)"),
                             {"v": vid, "g": shapely.to_wkb(square)})
    finally:
        engine.dispose()
    db.upgrade_url(url)  # 0008 then 0009: PostGIS geometry, then one boundary set for both versions
    for vid in (7, 8):
        layers = load_layers(Store(Path("unused"), url), vid)
        assert layers["district"]["code"].tolist() == ["178"]
        assert shapely.equals_exact(layers["district"].geometry.iloc[0], square, 0)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM boundary_units")).scalar() == 1
            assert conn.execute(text("SELECT COUNT(*) FROM boundary_layers")).scalar() == 2
    finally:
        engine.dispose()
    from povdata.db import dispose_engines
    dispose_engines(url)


def test_a_backup_of_an_older_schema_is_upgraded_on_its_private_copy_and_restored(tmp_path):
    """A backup made before a schema change (here: schema 3, before the review forms' columns)
    restores into today's store: the migrations run on the private copy first; the file
    itself is never changed."""
    from povdata.backup import restore

    old = tmp_path / "sao-luu-cu.sqlite"
    shutil.copy(PREVIOUS, old)
    conn = sqlite3.connect(old)
    for c in ("poor_households_start", "ethnic_minority_rate_published"):
        conn.execute(f"ALTER TABLE indicators DROP COLUMN {c}")
    conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    conn.commit()
    conn.execute("PRAGMA journal_mode = DELETE")  # one self-contained file, as a backup is
    conn.close()
    assert "poor_households_start" not in _columns(old, "indicators")
    before = old.read_bytes()
    live = tmp_path / "live"
    open_store(live)
    result = restore(old, live, actor="test", confirm=lambda *_: True)
    assert result is not None and old.read_bytes() == before
    store = open_store(live)
    (v1,) = versions(store, "02")
    assert int(load_version(store, "02", v1.id).indicators["poor_households"].sum()) == 8200
    assert "poor_households_start" in _columns(store.path, "indicators")
