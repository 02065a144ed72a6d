"""Schema 9: boundary sets (issue 16 point 1).  A version's layers point at sets of units
stored once, named by the hash of their content, with their display geometry computed when
the set is stored; versions no longer copy geometry.

* ``boundary_sets`` — ``sha256`` (:func:`povdata.boundary_sets.digest`), ``layer``, ``units``
  and ``display_tolerance`` (degrees);
* ``boundary_units`` — the set's units: ``code``, parent codes, ``geom`` (as imported) and
  ``display_geom`` (simplified), PostGIS geometry with a spatial index on PostgreSQL;
* ``boundary_layers`` — per version and layer: its set, source and whether it is
  approximate (rebuilt with the ``set_sha256`` column);
* ``boundaries`` (the per-version copies) is dropped once every version's layers point at
  their set: the same shapes held by several versions become one set.

Revision ID: 0009
Revises: 0008
"""
from __future__ import annotations

from alembic import op
from sqlalchemy import text

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def _types(pg: bool) -> tuple[str, str]:
    return ("geometry(Geometry, 4326)", "") if pg else ("BLOB", " WITHOUT ROWID")


def _create(pg: bool) -> None:
    geom, rowid = _types(pg)
    op.execute(f"""CREATE TABLE boundary_sets (
    sha256 TEXT PRIMARY KEY,
    layer TEXT NOT NULL,
    units INTEGER NOT NULL,
    display_tolerance {"DOUBLE PRECISION" if pg else "REAL"} NOT NULL
){rowid}""")
    op.execute(f"""CREATE TABLE boundary_units (
    set_sha256 TEXT NOT NULL REFERENCES boundary_sets(sha256),
    code TEXT NOT NULL,
    province_code TEXT,
    district_code TEXT,
    geom {geom} NOT NULL,
    display_geom {geom} NOT NULL,
    PRIMARY KEY (set_sha256, code)
){rowid}""")
    if pg:
        op.execute("CREATE INDEX boundary_units_geom ON boundary_units USING GIST (geom)")
    op.execute(f"""CREATE TABLE boundary_layers_9 (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    layer TEXT NOT NULL,
    set_sha256 TEXT NOT NULL REFERENCES boundary_sets(sha256),
    source TEXT NOT NULL,
    approximate INTEGER NOT NULL,
    PRIMARY KEY (version_id, layer)
){rowid}""")


def upgrade() -> None:
    from povdata.boundary_sets import LayerRows, digest, display_tolerance, display_wkb

    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    _create(pg)
    geom_out = "ST_AsBinary(geom)" if pg else "geom"
    geom_in = "ST_GeomFromWKB(:g, 4326)" if pg else ":g"
    # every (version, layer) a version has: from its layer rows, and from its units (a store
    # written before 0005 may hold units without a layer row)
    pairs = conn.execute(text("SELECT version_id, layer FROM boundary_layers UNION "
                              "SELECT DISTINCT version_id, layer FROM boundaries ORDER BY 1, 2")).all()
    known: set[str] = set()
    for vid, layer in pairs:
        rows = conn.execute(text(f"SELECT code, province_code, district_code, {geom_out} FROM boundaries "
                                 "WHERE version_id = :v AND layer = :l ORDER BY code"), {"v": vid, "l": layer}).all()
        lr = LayerRows(layer, [r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows],
                       [bytes(r[3]) for r in rows])
        sha = digest(lr)
        if sha not in known:
            known.add(sha)
            if conn.execute(text("SELECT 1 FROM boundary_sets WHERE sha256 = :s"), {"s": sha}).first() is None:
                tol = display_tolerance(layer)
                conn.execute(text("INSERT INTO boundary_sets (sha256, layer, units, display_tolerance) "
                                  "VALUES (:s, :l, :n, :t)"), {"s": sha, "l": layer, "n": len(rows), "t": tol})
                if rows:
                    conn.execute(text("INSERT INTO boundary_units (set_sha256, code, province_code, district_code, "
                                      f"geom, display_geom) VALUES (:s, :c, :p, :d, {geom_in}, "
                                      f"{geom_in.replace(':g', ':dg')})"),
                                 [{"s": sha, "c": c, "p": p, "d": d, "g": w, "dg": dw}
                                  for c, p, d, w, dw in zip(lr.codes, lr.province_codes, lr.district_codes, lr.wkb,
                                                            display_wkb(lr, tol))])
        old = conn.execute(text("SELECT source, approximate FROM boundary_layers WHERE version_id = :v "
                                "AND layer = :l"), {"v": vid, "l": layer}).first()
        conn.execute(text("INSERT INTO boundary_layers_9 (version_id, layer, set_sha256, source, approximate) "
                          "VALUES (:v, :l, :s, :src, :a)"),
                     {"v": vid, "l": layer, "s": sha, "src": old[0] if old else "", "a": int(old[1]) if old else 0})
    op.execute("DROP TABLE boundary_layers")
    op.execute("DROP TABLE boundaries")
    op.execute("ALTER TABLE boundary_layers_9 RENAME TO boundary_layers")


def downgrade() -> None:
    conn = op.get_bind()
    pg = conn.dialect.name == "postgresql"
    geom, rowid = ("geometry(Geometry, 4326)", "") if pg else ("BLOB", " WITHOUT ROWID")
    op.execute(f"""CREATE TABLE boundaries (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    layer TEXT NOT NULL,
    code TEXT NOT NULL,
    province_code TEXT,
    district_code TEXT,
    geom {geom} NOT NULL,
    PRIMARY KEY (version_id, layer, code)
){rowid}""")
    if pg:
        op.execute("CREATE INDEX boundaries_geom ON boundaries USING GIST (geom)")
    op.execute("INSERT INTO boundaries (version_id, layer, code, province_code, district_code, geom) "
               "SELECT l.version_id, l.layer, u.code, u.province_code, u.district_code, u.geom "
               "FROM boundary_layers l JOIN boundary_units u ON u.set_sha256 = l.set_sha256")
    op.execute(f"""CREATE TABLE boundary_layers_8 (
    version_id INTEGER NOT NULL REFERENCES versions(id),
    layer TEXT NOT NULL,
    source TEXT NOT NULL,
    approximate INTEGER NOT NULL,
    PRIMARY KEY (version_id, layer)
){rowid}""")
    op.execute("INSERT INTO boundary_layers_8 SELECT version_id, layer, source, approximate FROM boundary_layers")
    op.execute("DROP TABLE boundary_layers")
    op.execute("ALTER TABLE boundary_layers_8 RENAME TO boundary_layers")
    op.execute("DROP TABLE boundary_units")
    op.execute("DROP TABLE boundary_sets")
