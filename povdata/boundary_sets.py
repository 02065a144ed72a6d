"""Boundary sets: a layer's units stored once, named by the hash of their content.

A version does not hold geometry of its own.  Each of its layers (``province``,
``district``, ``commune``, ``commune_2025``) points at a *boundary set*: the layer's units
(code, parent codes, geometry as imported) and their display geometry, simplified once
when the set is first stored.  An import that brings only indicators, a rollback, or a
boundary file that gives the same shapes again, points at the set already stored: no
geometry is copied and none is simplified again.

The set's name is the SHA-256 of its content in a canonical form (:func:`digest`): the
layer's name, then each unit sorted by code with its parent codes and its geometry as
big-endian WKB.  Two files that give the same units with the same coordinates make the
same set, whatever their format, their row order, their WKB byte order or whether a one-part
shape is written as a Polygon or as a MultiPolygon of one polygon (the set keeps the shapes as
first stored).

Display geometry is the layer simplified as a coverage (:func:`geo.simplify.simplify_coverage`,
neighbours keep their shared edges) at the tolerance of the level it is shown at; the
tolerance is stored with the set, and a set stored under another tolerance is simplified
again on reading (:func:`display_of`) rather than shown at the wrong detail.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely

__all__ = ["LayerRows", "layer_rows", "digest", "display_tolerance", "display_wkb", "display_wkb_limited"]

_FORMAT = b"povdash boundary set 1\n"


@dataclass(frozen=True)
class LayerRows:
    """A layer in the store's form: sorted by code, EPSG:4326, geometry as WKB."""
    layer: str
    codes: list[str]
    province_codes: list[str | None]
    district_codes: list[str | None]
    wkb: list[bytes]

    @property
    def sha256(self) -> str:
        return digest(self)


def _codes(gdf: gpd.GeoDataFrame, col: str) -> list[str | None]:
    if col not in gdf:
        return [None] * len(gdf)
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v) for v in gdf[col].astype(object)]


def layer_rows(layer: str, gdf: gpd.GeoDataFrame) -> LayerRows:
    """``gdf`` (``code``, optional ``province_code``/``district_code``, any CRS) as stored."""
    g = gdf.to_crs("EPSG:4326") if gdf.crs is not None and not gdf.crs.equals("EPSG:4326") else gdf
    order = np.argsort(g["code"].astype(str).to_numpy(), kind="stable")
    g = g.iloc[order]
    wkb = shapely.to_wkb(g.geometry.to_numpy())
    return LayerRows(layer, g["code"].astype(str).tolist(), _codes(g, "province_code"), _codes(g, "district_code"),
                     [bytes(w) for w in wkb])


def _one_part(g):
    """A multi-part geometry of one part as that part: GIS programs differ there (a GeoPackage
    export makes every polygon a MultiPolygon when one is), the shape does not."""
    if shapely.get_type_id(g) in (4, 5, 6) and shapely.get_num_geometries(g) == 1:
        return shapely.get_geometry(g, 0)
    return g


def digest(rows: LayerRows) -> str:
    """The set's name: SHA-256 of the layer's units in canonical form (see the module)."""
    h = hashlib.sha256(_FORMAT)
    h.update(rows.layer.encode() + b"\n")
    for code, prov, dist, wkb in zip(rows.codes, rows.province_codes, rows.district_codes, rows.wkb):
        canonical = shapely.to_wkb(_one_part(shapely.from_wkb(wkb)), byte_order=0)  # whatever the byte order
        for part in (code, prov or "", dist or ""):
            h.update(part.encode() + b"\x00")
        h.update(len(canonical).to_bytes(8, "big") + canonical)
    return h.hexdigest()


def display_tolerance(layer: str) -> float:
    """Degrees: the tolerance of the level the layer is shown at (new communes as communes)."""
    from geo.simplify import tolerance_for_level
    return tolerance_for_level("commune" if layer == "commune_2025" else layer)


def display_wkb(rows: LayerRows, tolerance: float | None = None) -> list[bytes]:
    """The layer's display geometry (simplified together), in ``rows``' order, as WKB."""
    import warnings

    from geo.simplify import simplify_coverage

    if not rows.codes:
        return []
    gdf = gpd.GeoDataFrame({"code": rows.codes}, geometry=shapely.from_wkb(rows.wkb), crs="EPSG:4326")
    with warnings.catch_warnings():  # a unit smaller than the display grid is drawn empty, as on screen
        warnings.simplefilter("ignore", UserWarning)
        out = simplify_coverage(gdf, display_tolerance(rows.layer) if tolerance is None else tolerance)
    return [bytes(w) for w in shapely.to_wkb(out.geometry.to_numpy())]


def display_wkb_limited(rows: LayerRows, tolerance: float | None = None) -> list[bytes]:
    """:func:`display_wkb` in a worker process with the parsing children's memory and time limits
    (:func:`povdata.workers.run_limited`): what the import page uses, so that simplifying a large
    layer (14 s for the country's 2 M-vertex communes) does not hold the web process that serves the
    other users.  A limit hit is refused as the file's error (``ValueError``), and nothing is stored."""
    from povdata.workers import WorkerLimit, limit_message, run_limited

    if not rows.codes:
        return []
    try:
        return run_limited(display_wkb, rows, tolerance)
    except WorkerLimit as exc:
        raise ValueError(limit_message(exc)) from exc
