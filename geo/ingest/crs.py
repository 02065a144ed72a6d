"""Boundary uploads: the coordinate systems offered when a file has none, ranked by how
well each puts the features inside the province (VN-2000 zones first).
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import CRS, Transformer

from geo.ingest.unpack import _VN2000_CODES
from povdata.messages import Msg


def crs_choices() -> list[tuple[str, str]]:
    """(``EPSG:code``, label) of the CRSs offered for a file without one: WGS 84, VN-2000
    geographic and EPSG's VN-2000 projected zones (UTM and TM-3, with their areas)."""
    out: list[tuple[str, str]] = [("EPSG:4326", Msg("crs.wgs84")), ("EPSG:4756", Msg("crs.vn2000"))]
    for code in _VN2000_CODES:
        crs = CRS.from_epsg(code)
        area = crs.area_of_use.name.replace("Vietnam - ", "") if crs.area_of_use else ""
        out.append((f"EPSG:{code}", f"{crs.name} — {area}"))
    return out


def rank_crs(gdf: gpd.GeoDataFrame, province_bbox: tuple[float, float, float, float]) -> list[tuple[str, float]]:
    """Candidate CRSs for coordinates without one, best first, with the distance (km)
    from the reprojected features' centre to the province's box (0 = inside it).
    ``province_bbox`` is (min_lon, min_lat, max_lon, max_lat) in degrees."""
    geoms = gdf.geometry[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if geoms.empty:
        return [(c, float("inf")) for c, _ in crs_choices()]
    x0, y0, x1, y1 = geoms.total_bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    lo_lon, lo_lat, hi_lon, hi_lat = province_bbox
    ranked = []
    for code, _ in crs_choices():
        try:
            if code in ("EPSG:4326", "EPSG:4756"):
                lon, lat = cx, cy
            else:
                lon, lat = Transformer.from_crs(code, "EPSG:4326", always_xy=True).transform(cx, cy)
        except Exception:
            ranked.append((code, float("inf")))
            continue
        if not (np.isfinite(lon) and np.isfinite(lat)) or abs(lat) > 90:
            ranked.append((code, float("inf")))
            continue
        dx = max(lo_lon - lon, 0, lon - hi_lon) * 111 * np.cos(np.radians(lat))
        dy = max(lo_lat - lat, 0, lat - hi_lat) * 111
        ranked.append((code, float(np.hypot(dx, dy))))
    # ties (several TM-3 zones land inside the province): the CRS made for this place first —
    # the reprojected centre inside its area of use, the smallest such area (a provincial zone)
    def specificity(code: str) -> tuple[float, float]:
        if code in ("EPSG:4326", "EPSG:4756"):
            return (0.0, 1e9)
        area = CRS.from_user_input(code).area_of_use
        if area is None:
            return (1e9, 1e9)
        w, s_, e, n = area.bounds
        inside = w <= (lo_lon + hi_lon) / 2 <= e and s_ <= (lo_lat + hi_lat) / 2 <= n
        return (0.0 if inside else 1.0, (e - w) * (n - s_))
    return sorted(ranked, key=lambda t: (round(t[1], 0), *specificity(t[0])))
