"""Geometry across the 2025 reform: split old commune cells among the new communes.

An old commune divided among several new ones is split by the nearest new-commune
centre (Voronoi of the new centres, in a plane where longitude is scaled by
cos 16°, clipped to the old cell).  The share of the old cell's area that each new
commune gets is the crosswalk weight of that pair (an area weight, stated as such).
New-commune boundaries are the union of the whole old cells and the pieces they get,
made an exact coverage again by snap-rounding.
"""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from shapely import affinity

from geo.faces import snap_round_coverage

_K = math.cos(math.radians(16.0))
GRID_DEG = 1e-9


def _inside(scaled: shapely.Geometry, p: shapely.Point, inner: shapely.Point) -> shapely.Point:
    """``p`` itself when the cell holds it; else the nearest point of the cell's edge, moved
    10% of the way to an inner point so that it is strictly inside."""
    if scaled.contains(p):
        return p
    edge = shapely.ops.nearest_points(scaled, p)[0]
    return shapely.Point(edge.x + 0.1 * (inner.x - edge.x), edge.y + 0.1 * (inner.y - edge.y))


def split_cell(cell: shapely.Geometry, centres: list[tuple[float, float]]) -> list[shapely.Geometry]:
    """Pieces of ``cell`` nearest to each ``(lon, lat)`` centre, in the same order.

    A centre outside the cell is first brought onto the cell's nearest edge (the part of
    the old commune facing that new commune), so every centre gets a piece; pieces
    partition the cell up to floating point.
    """
    if len(centres) == 1:
        return [cell]
    scaled = affinity.scale(cell, xfact=_K, yfact=1.0, origin=(0, 0))
    inner = scaled.representative_point()
    seeds = [_inside(scaled, shapely.Point(x * _K, y), inner) for x, y in centres]
    for i in range(1, len(seeds)):  # two centres on the same edge point: nudge apart
        while any(seeds[i].distance(seeds[j]) < 1e-9 for j in range(i)):
            seeds[i] = shapely.Point(seeds[i].x + 1e-6 * (inner.x - seeds[i].x), seeds[i].y + 1e-6 * (inner.y - seeds[i].y))
    pts = shapely.MultiPoint([(p.x, p.y) for p in seeds])
    regions = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=scaled))
    out = []
    for p in seeds:
        region = next((r for r in regions if r.covers(p)), shapely.Polygon())
        piece = shapely.intersection(scaled, region)
        out.append(affinity.scale(piece, xfact=1 / _K, yfact=1.0, origin=(0, 0)))
    return out


def new_commune_boundaries(old_cells: gpd.GeoDataFrame, crosswalk: pd.DataFrame,
                           centres: pd.DataFrame) -> tuple[gpd.GeoDataFrame, pd.Series]:
    """Boundaries of the new communes built from the old cells, and area weights.

    Parameters
    ----------
    old_cells : GeoDataFrame (EPSG:4326) of old communes with ``code``.
    crosswalk : rows ``old_code``, ``new_code`` (one per pair).
    centres : indexed by new ``code`` with ``lon``, ``lat`` of each new commune.

    Returns
    -------
    (new boundaries with ``code`` in EPSG:4326, sorted; area weight per crosswalk row,
    aligned with ``crosswalk.index``: the share of the old cell's area in that new commune)
    """
    cells = old_cells.set_index("code").geometry
    weights = pd.Series(np.nan, index=crosswalk.index)
    pieces: dict[str, list] = {}
    for old, grp in crosswalk.groupby("old_code", sort=True):
        if old not in cells.index:
            continue
        cell = cells[old]
        news = grp["new_code"].tolist()
        parts = split_cell(cell, [(centres.at[n, "lon"], centres.at[n, "lat"]) for n in news]) if len(news) > 1 else [cell]
        area = cell.area
        for idx, n, part in zip(grp.index, news, parts):
            weights[idx] = (part.area / area) if area > 0 else 1.0 / len(news)
            if not part.is_empty:
                pieces.setdefault(n, []).append(part)
    codes = sorted(pieces)
    geoms = np.array([shapely.union_all(pieces[c]) for c in codes], dtype=object)
    geoms = snap_round_coverage(geoms, GRID_DEG)
    out = gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs="EPSG:4326")
    return out, weights
