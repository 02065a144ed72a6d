"""Boundary uploads: invalid geometries made valid (make_valid), empty and non-polygonal
parts dropped, each repair said (in the UI's language).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.faces import polygonal_part
from povdata.messages import Msg
from povdata.validate import Problem, shorten


#: GEOS's reasons (:func:`shapely.is_valid_reason`) → their catalogue key (``repair.reason_<key>``)
GEOS_REASONS = {
    "Self-intersection": "self_intersection", "Ring Self-intersection": "ring_self_intersection",
    "Too few points in geometry component": "too_few_points", "Hole lies outside shell": "hole_outside",
    "Interior is disconnected": "interior_disconnected", "Nested holes": "nested_holes",
    "Nested shells": "nested_shells", "Duplicate Rings": "duplicate_rings",
    "Invalid Coordinate": "invalid_coordinate", "Ring is not closed": "ring_not_closed",
}


def geos_reason(reason: str) -> Msg:
    """'Self-intersection[106.7 22.1]' → 'tự cắt nhau tại 106.70000, 22.10000 — Self-intersection'
    (GEOS's term kept for whoever searches for it), in the UI's language."""
    import re
    m = re.match(r"\s*([^\[]*?)\s*(?:\[(\S+) (\S+)\])?\s*$", reason)
    term = (m.group(1) if m else reason) or reason
    what = Msg(f"repair.reason_{GEOS_REASONS.get(term, 'other')}")
    if m and m.group(2):
        try:
            return Msg("repair.reason_at", what=what, x=f"{float(m.group(2)):.5f}", y=f"{float(m.group(3)):.5f}",
                       term=shorten(term, 60))
        except ValueError:
            pass
    return Msg("repair.reason", what=what, term=shorten(term, 60))


def repair(gdf: gpd.GeoDataFrame, file: str) -> tuple[gpd.GeoDataFrame, list[Problem], list[Problem]]:
    """Fix invalid polygons; return (frame, warnings about repairs, errors).

    A feature whose geometry is missing, empty or not polygonal (points, lines) is an
    error naming it (row = feature number, 1-based)."""
    geoms = gdf.geometry.to_numpy()
    warnings_: list[Problem] = []
    errors: list[Problem] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        errors.append(Problem(file, int(i) + 1, None, Msg("repair.empty")))
    kinds = shapely.get_type_id(geoms)
    for i in np.flatnonzero(~missing & ~np.isin(kinds, (3, 6, 7))):
        key = "repair.point" if shapely.get_type_id(geoms[i]) in (0, 4) else "repair.line"
        errors.append(Problem(file, int(i) + 1, None, Msg(key)))
    bad = np.flatnonzero(~missing & ~shapely.is_valid(geoms))
    if len(bad):
        reasons = shapely.is_valid_reason(geoms[bad])
        fixed = polygonal_part(shapely.make_valid(geoms[bad]))
        for i, why, g in zip(bad, reasons, fixed):
            if shapely.is_empty(g):
                errors.append(Problem(file, int(i) + 1, None, Msg("repair.unfixable", why=geos_reason(why))))
            else:
                warnings_.append(Problem(file, int(i) + 1, None, Msg("repair.fixed", why=geos_reason(why)),
                                         "warning"))
        geoms = geoms.copy()
        geoms[bad] = fixed
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out, warnings_, errors
