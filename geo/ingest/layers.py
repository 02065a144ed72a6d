"""Boundary uploads: the layers the dashboard draws (province, districts, communes, new
communes) built from the matched features, dissolving units split over several features
and keeping the previous version's layers the file does not give.
"""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from povdata.ingest.match import registry as _registry  # the unit registry is povdata's


def _union(geoms: np.ndarray) -> shapely.Geometry:
    geoms = np.asarray(geoms, dtype=object)
    if len(geoms) == 1:
        return geoms[0]
    try:
        if shapely.coverage_is_valid(geoms):
            return shapely.coverage_union_all(geoms)
    except shapely.errors.GEOSException:
        pass
    return shapely.union_all(shapely.make_valid(geoms))


def build_layers(gdf: gpd.GeoDataFrame, matches: pd.DataFrame, province_code: str, era: str, level: str,
                 fallback: dict[str, gpd.GeoDataFrame] | None = None) -> dict[str, gpd.GeoDataFrame]:
    """Layers ``province``, ``district``, ``commune`` (legacy) or ``province``,
    ``commune_2025`` (2025 list), EPSG:4326, columns ``code`` (and parent codes).

    Features of one unit are merged into one (Multi)Polygon.  A commune layer gives the
    districts and the province by union; a district layer gives the province, and its
    communes come from ``fallback`` (the previous version's layers), if any."""
    reg = _registry(province_code, era).set_index("code")
    ok = matches["code"].notna().to_numpy() & (matches["method"] != "skip").to_numpy()
    g = gpd.GeoDataFrame({"code": matches.loc[ok, "code"].astype(str).to_numpy()},
                         geometry=gdf.geometry.to_numpy()[ok], crs=gdf.crs)
    merged = {code: _union(grp.geometry.to_numpy()) for code, grp in g.groupby("code", sort=True)}
    base = gpd.GeoDataFrame({"code": list(merged)}, geometry=list(merged.values()), crs="EPSG:4326")
    layers: dict[str, gpd.GeoDataFrame] = {}
    fallback = fallback or {}
    prov_of = reg["province_code"]
    if era != "legacy":
        base["province_code"] = base["code"].map(prov_of)
        layers["commune_2025"] = base
        layers["province"] = _dissolve(base, "province_code")
        for k in ("commune", "district"):
            if k in fallback:
                layers[k] = fallback[k]
        return layers
    if level == "commune":
        base["district_code"] = base["code"].map(reg["district_code"])
        base["province_code"] = base["code"].map(prov_of)
        layers["commune"] = base
        layers["district"] = _dissolve(base, "district_code", keep=["province_code"])
    else:
        base["province_code"] = base["code"].map(prov_of)
        layers["district"] = base
        if "commune" in fallback:
            layers["commune"] = fallback["commune"]
    layers["province"] = _dissolve(layers["district"], "province_code")
    if "commune_2025" in fallback:
        layers["commune_2025"] = fallback["commune_2025"]
    return layers


def _dissolve(g: gpd.GeoDataFrame, by: str, keep: list[str] | None = None) -> gpd.GeoDataFrame:
    """One (Multi)Polygon per ``by`` code, columns ``code`` and ``keep``."""
    groups = g.groupby(by, sort=True)
    out: dict[str, list] = {"code": [], **{k: [] for k in keep or []}}
    geoms = []
    for code, grp in groups:
        out["code"].append(code)
        for k in keep or []:
            out[k].append(grp[k].iloc[0])
        geoms.append(_union(grp.geometry.to_numpy()))
    return gpd.GeoDataFrame(out, geometry=geoms, crs="EPSG:4326")
