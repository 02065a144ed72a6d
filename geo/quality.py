"""Measure boundaries: agreement between two sets of units, and coverage defects."""
from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

__all__ = ["iou_by_code", "coverage_problems", "EQUAL_AREA_CRS"]

#: Equal-area CRS used for area ratios (WGS 84 / NSIDC EASE-Grid 2.0 Global, metres).
EQUAL_AREA_CRS = "EPSG:6933"

# Overlap smaller than this fraction of the union's area is floating-point noise.
_REL_TOL = 1e-9


def iou_by_code(
    a: gpd.GeoDataFrame,
    b: gpd.GeoDataFrame,
    code_col_a: str = "code",
    code_col_b: str = "code",
    crs: str = EQUAL_AREA_CRS,
) -> pd.Series:
    """Intersection over union of the units of ``a`` and ``b`` that share a code.

    Parameters
    ----------
    a, b : GeoDataFrame
        Units with a CRS (any; both are reprojected to ``crs``).  Rows with the
        same code are merged first (a unit stored in several rows).  Invalid
        geometries are repaired with :func:`shapely.make_valid`.
    code_col_a, code_col_b : str
        Column holding the unit code in ``a`` and ``b``; codes are compared as
        strings, so ``178`` and ``"178"`` match but ``"001"`` and ``"1"`` do not.
    crs : str, default :data:`EQUAL_AREA_CRS`
        Equal-area CRS in which areas are measured.

    Returns
    -------
    Series of float in [0, 1]
        Indexed by code (sorted), named ``"iou"``: area(A ∩ B) / area(A ∪ B).  A code
        present on one side only gets 0.0.

    Raises
    ------
    ValueError
        If a frame has no CRS or lacks its code column.
    """
    geom_a = _geoms_by_code(a, code_col_a, crs, "a")
    geom_b = _geoms_by_code(b, code_col_b, crs, "b")
    codes = sorted(set(geom_a.index) | set(geom_b.index))
    ga = geom_a.reindex(codes)
    gb = geom_b.reindex(codes)
    both = ga.notna() & gb.notna()
    inter = np.zeros(len(codes))
    union = np.ones(len(codes))
    if both.any():
        x, y = ga[both].to_numpy(), gb[both].to_numpy()
        inter_both = shapely.area(shapely.intersection(x, y))
        inter[both.to_numpy()] = inter_both
        union[both.to_numpy()] = shapely.area(x) + shapely.area(y) - inter_both
    with np.errstate(invalid="ignore", divide="ignore"):
        iou = np.where(union > 0, inter / union, 0.0)
    return pd.Series(iou, index=pd.Index(codes, name="code"), name="iou")


def _geoms_by_code(gdf: gpd.GeoDataFrame, code_col: str, crs: str, label: str) -> pd.Series:
    if gdf.crs is None:
        raise ValueError(f"frame {label} has no CRS; set one (e.g. EPSG:4326) before comparing")
    if code_col not in gdf.columns:
        raise ValueError(f"frame {label} has no column {code_col!r}; got {list(gdf.columns)}")
    projected = gdf.to_crs(crs)
    geoms = shapely.make_valid(projected.geometry.to_numpy())
    codes = projected[code_col].astype(str).to_numpy()
    frame = pd.DataFrame({"code": codes, "geom": geoms})
    return frame.groupby("code", sort=True)["geom"].agg(lambda g: shapely.union_all(g.to_numpy()))


def coverage_problems(gdf: gpd.GeoDataFrame, code_col: str = "code") -> list[str]:
    """Everything that keeps ``gdf`` from being a clean polygonal coverage.

    Checks, in this order: missing or empty geometries, non-polygonal types,
    invalid polygons, neighbours that overlap or whose shared edges do not have
    identical vertices (:func:`shapely.coverage_is_valid`), overlapping area, and
    gaps: holes inside the outline of the union of all units.

    Parameters
    ----------
    gdf : GeoDataFrame
        Units in any CRS; areas in messages are relative, so units do not matter.
    code_col : str, default "code"
        Column naming the units in messages; the index is used when absent.

    Returns
    -------
    list of str
        One English sentence per kind of problem, for developers and logs;
        empty when the coverage is clean.
    """
    geoms = gdf.geometry.to_numpy()
    names = (gdf[code_col] if code_col in gdf.columns else gdf.index.to_series()).astype(str).to_numpy()
    problems: list[str] = []

    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if empty.any():
        problems.append(f"empty geometry: {_list(names[empty])}")
    present = ~empty
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6))
    if (present & ~polygonal).any():
        kinds = sorted(set(shapely.get_type_id(geoms[present & ~polygonal]).tolist()))
        problems.append(f"not polygonal (GEOS type ids {kinds}): {_list(names[present & ~polygonal])}")
    checkable = present & polygonal
    valid = np.zeros(len(geoms), dtype=bool)
    valid[checkable] = shapely.is_valid(geoms[checkable])
    bad = checkable & ~valid
    for name, reason in zip(names[bad][:10], shapely.is_valid_reason(geoms[bad][:10])):
        problems.append(f"invalid geometry {name}: {reason}")
    if bad.sum() > 10:
        problems.append(f"... and {bad.sum() - 10} more invalid geometries")

    polys = geoms[valid]
    if len(polys) == 0:
        return problems
    if not shapely.coverage_is_valid(polys):
        edges = shapely.coverage_invalid_edges(polys)
        flagged = names[valid][~shapely.is_empty(edges)]
        problems.append(
            f"neighbours overlap or do not share identical edge vertices: {_list(flagged)}"
        )
    union = shapely.union_all(polys)
    total = shapely.area(union)
    excess = shapely.area(polys).sum() - total
    if excess > _REL_TOL * total:
        problems.append(f"overlapping area: {excess / total:.3g} of the union's area")
    holes = [
        shapely.Polygon(ring)
        for part in shapely.get_parts(union)
        for ring in part.interiors
    ]
    if holes:
        hole_area = shapely.area(np.array(holes, dtype=object))
        where = shapely.point_on_surface(holes[int(np.argmax(hole_area))])
        problems.append(
            f"{len(holes)} gap(s) inside the outline, {hole_area.sum() / total:.3g} of the "
            f"union's area; largest near ({where.x:.5f}, {where.y:.5f})"
        )
    return problems


def _list(names: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")
