"""Boundary uploads: invalid geometries made valid (make_valid), empty and non-polygonal
parts dropped, each repair said in Vietnamese.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geo.faces import polygonal_part
from povdata.validate import Problem, shorten


#: GEOS's reasons (:func:`shapely.is_valid_reason`) in Vietnamese.
_REASONS_VI = {
    "Self-intersection": "tự cắt nhau", "Ring Self-intersection": "vòng ranh giới tự cắt",
    "Too few points in geometry component": "quá ít điểm", "Hole lies outside shell": "lỗ nằm ngoài vùng",
    "Interior is disconnected": "phần trong bị chia cắt", "Nested holes": "lỗ lồng nhau",
    "Nested shells": "vùng lồng nhau", "Duplicate Rings": "vòng ranh giới trùng nhau",
    "Invalid Coordinate": "tọa độ không hợp lệ", "Ring is not closed": "vòng ranh giới không khép kín",
}


def reason_vi(reason: str) -> str:
    """'Self-intersection[106.7 22.1]' → 'tự cắt nhau tại 106.70000, 22.10000 — Self-intersection'
    (GEOS's term kept for whoever searches for it)."""
    import re
    m = re.match(r"\s*([^\[]*?)\s*(?:\[(\S+) (\S+)\])?\s*$", reason)
    term = (m.group(1) if m else reason) or reason
    where = ""
    if m and m.group(2):
        try:
            where = f" tại {float(m.group(2)):.5f}, {float(m.group(3)):.5f}"
        except ValueError:
            pass
    return f"{_REASONS_VI.get(term, 'lỗi hình học')}{where} — {shorten(term, 60)}"


def repair(gdf: gpd.GeoDataFrame, file: str) -> tuple[gpd.GeoDataFrame, list[Problem], list[Problem]]:
    """Fix invalid polygons; return (frame, warnings about repairs, errors).

    A feature whose geometry is missing, empty or not polygonal (points, lines) is an
    error naming it (row = feature number, 1-based)."""
    geoms = gdf.geometry.to_numpy()
    warnings_: list[Problem] = []
    errors: list[Problem] = []
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    for i in np.flatnonzero(missing):
        errors.append(Problem(file, int(i) + 1, None, "đối tượng không có hình học (ranh giới trống)."))
    kinds = shapely.get_type_id(geoms)
    for i in np.flatnonzero(~missing & ~np.isin(kinds, (3, 6, 7))):
        errors.append(Problem(file, int(i) + 1, None, f"đối tượng là {shapely.get_type_id(geoms[i]) == 0 and 'điểm' or 'đường'}, "
                                                        "không phải vùng (polygon)."))
    bad = np.flatnonzero(~missing & ~shapely.is_valid(geoms))
    if len(bad):
        reasons = shapely.is_valid_reason(geoms[bad])
        fixed = polygonal_part(shapely.make_valid(geoms[bad]))
        for i, why, g in zip(bad, reasons, fixed):
            if shapely.is_empty(g):
                errors.append(Problem(file, int(i) + 1, None,
                                      f"hình học không hợp lệ ({reason_vi(why)}) và không sửa được."))
            else:
                warnings_.append(Problem(file, int(i) + 1, None, f"hình học không hợp lệ ({reason_vi(why)}); đã tự "
                                         "sửa (make_valid).", "warning"))
        geoms = geoms.copy()
        geoms[bad] = fixed
    out = gdf.copy()
    out[out.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    return out, warnings_, errors
