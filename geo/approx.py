"""Approximate commune, district and province boundaries from commune points.

For the pre-2025 units we have, per commune, a centroid and a bounding box
(:func:`povdata.units.legacy_communes`) but no boundary.  This module draws a
plausible map from those alone:

1. **Province outline**: concave hull of the corners of its communes' bounding
   boxes (ratio :data:`HULL_RATIO`), widened where needed so that every commune
   point lies at least 100 m inside it (so no point is ever outside the outline).
2. **Commune cells**: Voronoi cells of the commune points of each province,
   clipped to the province outline.  Communes that share one point in the source
   are first moved a little apart (see :func:`_separate_shared_places`).
3. **Overlaps between provinces** (outlines of neighbours overlap; only in a
   multi-province build): a point covered by several outlines goes to the nearest
   commune among the provinces whose outline covers it.  Gaps enclosed between
   outlines go to the nearest commune overall.  So every commune keeps the ground
   around its own point, and a province built alone and the same province inside
   the national build differ only where a neighbour's outline or a gap is (and by
   the pieces of step 5).
4. **Clean coverage**: all cell boundaries (plus the bisectors that split the
   overlaps) are noded on a 1e-9° grid and polygonized (:mod:`geo.faces`), each
   face is given to a commune as above, and faces are dissolved.  Neighbours
   therefore share identical vertices: no gaps, no overlaps,
   :func:`shapely.coverage_is_valid` holds.
5. **Detached pieces**: a piece of a commune cut off from the piece holding its
   point goes to the neighbour of the same province sharing the longest border
   (or, for a stray piece of province, to the neighbouring province).  Nationally
   this leaves no commune and two provinces in several pieces.
6. Districts and provinces are coverage unions of their communes.

Known limits: an offshore commune (Phú Quốc, Thổ Châu, Cô Tô...) is joined to the
mainland by the hull across the sea, since an outline is one concave hull; a
district whose communes lie apart in the source stays in pieces (38 nationally).

Distances (Voronoi, hull, nearest commune) are measured in an equirectangular
plane, ``x = lon · cos 16°``, ``y = lat``: one fixed standard parallel for all
of Vietnam (8.5–23.4° N, scale error under 5 %), so the same province gets the same
cells whether built alone or nationally.  Straight lines in that plane are straight
in degrees, so the result is exact in EPSG:4326.
"""
from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from geo.faces import polygon_faces, polygonal_part, union_by_owner

__all__ = ["build_approx_boundaries", "HULL_RATIO", "STANDARD_PARALLEL", "GRID_DEG", "LEVELS"]

#: Levels returned by :func:`build_approx_boundaries`, finest first.
LEVELS = ("commune", "district", "province")

#: Standard parallel (degrees N) of the plane in which distances are measured.
STANDARD_PARALLEL = 16.0

#: Ratio of :func:`shapely.concave_hull` for province outlines.  Tuned on Lạng Sơn
#: against the government district file (median / lowest district IoU, province
#: IoU): 0.10 → 0.755 / 0.721 / 0.861, 0.12 → 0.775 / 0.721 / 0.868,
#: 0.15 → 0.771 / 0.702 / 0.858, 0.08 → 0.755 / 0.481 / 0.792.  Nationally, at 0.12
#: the 63 provinces cover 351,000 km² against Vietnam's 331,000 km² (outlines reach
#: a little past coasts and the land border); 0.15 gives 358,000 km².
HULL_RATIO = 0.12

#: Snap-rounding grid of the output coordinates, degrees (about 0.1 mm).
GRID_DEG = 1e-9

# Points closer than this (plane degrees, ~0.1 m) are treated as one place.
_SAME_PLACE = 1e-6
# Largest nudge given to communes that share a place (plane degrees, ~500 m).
_MAX_NUDGE = 0.005
# Least distance from a commune point to its province outline (plane degrees, ~100 m).
_POINT_MARGIN = 1e-3
# Rounds of handing detached pieces to neighbours (two suffice nationally).
_MERGE_PASSES = 4
# Half-width of the outline drawn around a province too small for a hull (degrees).
_DEGENERATE_BUFFER = 0.01

_K = math.cos(math.radians(STANDARD_PARALLEL))
_REQUIRED = (
    "code", "district_code", "province_code",
    "lat", "lon", "min_lat", "min_lon", "max_lat", "max_lon",
)


def build_approx_boundaries(communes: pd.DataFrame) -> dict[str, gpd.GeoDataFrame]:
    """Approximate boundaries of communes, districts and provinces.

    Parameters
    ----------
    communes : DataFrame
        One row per commune, as from :func:`povdata.units.legacy_communes`: ``code``
        (5-digit GSO), ``district_code``, ``province_code``, the point ``lat``/``lon``
        and the bounding box ``min_lat``, ``min_lon``, ``max_lat``, ``max_lon``, all
        WGS 84 degrees.  Any number of provinces; a missing bounding box falls back
        to the point.

    Returns
    -------
    dict of str to GeoDataFrame
        Keys ``"commune"``, ``"district"``, ``"province"``.  Each is in EPSG:4326,
        sorted by ``code`` with a fresh RangeIndex; communes carry ``district_code``
        and ``province_code``, districts carry ``province_code``.  Each level is a
        valid polygonal coverage with no holes inside its outline, every unit has
        exactly one non-empty (Multi)Polygon, and the output depends only on the
        rows given, not on their order (byte-identical WKB for the same input).

    Raises
    ------
    ValueError
        If a required column is missing, a code repeats, a point is missing, or a
        district is listed under two provinces.

    Notes
    -----
    See the module docstring for the method.  Cells are approximations: for Lạng
    Sơn the median district intersection-over-union against the government map is
    0.78 (lowest 0.72), the province's 0.87.  The national build takes a few seconds.
    """
    table = _validated(communes)
    if table.empty:
        return _empty_result()
    n = len(table)
    province = table["province_code"].to_numpy()

    xy = np.column_stack([table["lon"].to_numpy() * _K, table["lat"].to_numpy()])
    xy = _separate_shared_places(xy, table["district_code"].to_numpy())

    cells = np.empty(n, dtype=object)
    for code in np.unique(province):
        rows = np.flatnonzero(province == code)
        outline = _province_outline(_bbox_corners(table.iloc[rows]), xy[rows])
        cells[rows] = _voronoi_cells(xy[rows], outline)
    cells = _to_degrees(cells)

    splitters = _overlap_bisectors(cells, xy, province)
    faces = polygon_faces(np.concatenate([cells, splitters]), GRID_DEG)
    owner = _nearest_covering_commune(faces, cells, xy)
    geoms = union_by_owner(faces, owner, n)
    points = _to_degrees(shapely.points(xy))
    for _ in range(_MERGE_PASSES):  # a piece may land on a commune's own stray piece
        before = geoms
        geoms = _merge_detached_parts(geoms, points, province)
        if geoms is before:
            break
    lost = table["code"].to_numpy()[shapely.is_empty(geoms)]
    if lost.size:  # cannot happen with points inside their own outline; guard anyway
        raise RuntimeError(f"communes left without a cell: {', '.join(lost)}")

    commune = gpd.GeoDataFrame(
        table[["code", "district_code", "province_code"]].reset_index(drop=True),
        geometry=geoms,
        crs="EPSG:4326",
    )
    return {
        "commune": commune,
        "district": _dissolve(commune, "district_code", ["province_code"]),
        "province": _dissolve(commune, "province_code", []),
    }


def _validated(communes: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in _REQUIRED if c not in communes.columns]
    if missing:
        raise ValueError(f"communes table lacks column(s) {missing}; got {list(communes.columns)}")
    table = communes[list(_REQUIRED)].copy()
    for col in ("code", "district_code", "province_code"):
        table[col] = table[col].astype(str)
    dup = table["code"][table["code"].duplicated()].unique()
    if dup.size:
        raise ValueError(f"commune code(s) repeated: {', '.join(sorted(dup)[:10])}")
    for col in ("lat", "lon", "min_lat", "min_lon", "max_lat", "max_lon"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float)
    no_point = table["code"][table["lat"].isna() | table["lon"].isna()]
    if not no_point.empty:
        raise ValueError(f"commune(s) without lat/lon: {', '.join(sorted(no_point)[:10])}")
    parents = table.groupby("district_code")["province_code"].nunique()
    split = parents.index[parents > 1]
    if len(split):
        raise ValueError(f"district(s) listed under several provinces: {', '.join(split[:10])}")
    return table.sort_values("code", kind="stable").reset_index(drop=True)


def _empty_result() -> dict[str, gpd.GeoDataFrame]:
    columns = {
        "commune": ["code", "district_code", "province_code"],
        "district": ["code", "province_code"],
        "province": ["code"],
    }
    return {
        level: gpd.GeoDataFrame({c: pd.Series(dtype=str) for c in cols}, geometry=[], crs="EPSG:4326")
        for level, cols in columns.items()
    }


def _bbox_corners(rows: pd.DataFrame) -> NDArray[np.float64]:
    """Four corners of each bounding box, in the plane; the point stands in for a missing box."""
    lo_lat = rows["min_lat"].fillna(rows["lat"]).to_numpy()
    hi_lat = rows["max_lat"].fillna(rows["lat"]).to_numpy()
    lo_lon = rows["min_lon"].fillna(rows["lon"]).to_numpy()
    hi_lon = rows["max_lon"].fillna(rows["lon"]).to_numpy()
    xs = np.concatenate([lo_lon, lo_lon, hi_lon, hi_lon]) * _K
    ys = np.concatenate([lo_lat, hi_lat, lo_lat, hi_lat])
    return np.column_stack([xs, ys])


def _separate_shared_places(xy: NDArray[np.float64], district: NDArray) -> NDArray[np.float64]:
    """Move communes that share a point apart so each gets its own Voronoi cell.

    The source gives some communes the very same point (up to 11 in one place; two
    "Mẫu Sơn" communes of Lạng Sơn in different districts).  Each member of such a
    group moves by ``r`` = a quarter of the distance to the nearest other point
    (at most :data:`_MAX_NUDGE`): towards the other communes of its district when
    those directions are distinct enough, otherwise evenly around a circle in
    code order.  Deterministic.
    """
    tree = shapely.STRtree(shapely.points(xy))
    left, right = tree.query(shapely.points(xy), predicate="dwithin", distance=_SAME_PLACE)
    label = _components(left, right, len(xy))
    sizes = np.bincount(label, minlength=len(xy))
    if sizes.max() == 1:
        return xy.copy()
    moved = xy.copy()
    for group in np.flatnonzero(sizes > 1):
        members = np.flatnonzero(label == group)  # ascending = code order
        centre = xy[members].mean(axis=0)
        others = np.flatnonzero(label != group)
        if others.size:
            gap = np.sqrt(((xy[others] - centre) ** 2).sum(axis=1)).min()
            radius = min(0.25 * gap, _MAX_NUDGE)
        else:
            radius = _MAX_NUDGE
        wanted = []
        for m in members:
            mates = others[district[others] == district[m]]
            if mates.size:
                d = xy[mates].mean(axis=0) - centre
                wanted.append(math.atan2(d[1], d[0]) if np.hypot(*d) > 0 else math.nan)
            else:
                wanted.append(math.nan)
        angles = np.array(wanted)
        k = len(members)
        sorted_a = np.sort(angles)
        gaps = np.diff(np.concatenate([sorted_a, sorted_a[:1] + 2 * math.pi]))
        if np.isnan(angles).any() or gaps.min() < math.pi / k:
            angles = math.pi / 2 + 2 * math.pi * np.arange(k) / k
        moved[members] = centre + radius * np.column_stack([np.cos(angles), np.sin(angles)])
    return moved


def _components(left: NDArray[np.int64], right: NDArray[np.int64], n: int) -> NDArray[np.int64]:
    """Connected components of an undirected graph: each node labelled by its smallest member."""
    label = np.arange(n)
    while True:
        before = label.copy()
        np.minimum.at(label, left, label[right])
        np.minimum.at(label, right, label[left])
        label = label[label]  # pointer jumping: converges in O(log n) rounds
        if np.array_equal(label, before):
            return label


def _province_outline(corners: NDArray[np.float64], points: NDArray[np.float64]) -> shapely.Geometry:
    """Province outline in plane coordinates.

    The concave hull of the bounding-box corners, widened by the concave hull of
    corners and points together, grown by :data:`_POINT_MARGIN`, so that every
    commune point lies at least that far inside.  The second hull alone would bend
    in to touch border points, leaving a dent at each (and a point on the outline
    has a cell that may not hold it); the union keeps the first hull's shape
    wherever it already covers the points.
    """
    around_points = _hull(np.vstack([corners, points])).buffer(_POINT_MARGIN, quad_segs=2)
    return shapely.union(_hull(corners), around_points)


def _hull(xy: NDArray[np.float64]) -> shapely.Polygon:
    cloud = shapely.multipoints(np.unique(xy, axis=0))
    hull = shapely.concave_hull(cloud, ratio=HULL_RATIO)
    if not isinstance(hull, shapely.Polygon) or hull.area <= (_DEGENERATE_BUFFER ** 2) * 1e-6:
        # One commune with no extent, or points on a line: no area to hull.
        hull = shapely.convex_hull(cloud).buffer(_DEGENERATE_BUFFER)
    return hull


def _voronoi_cells(points: NDArray[np.float64], outline: shapely.Polygon) -> NDArray[np.object_]:
    """Voronoi cell of each point (in input order), clipped to the outline."""
    if len(points) == 1:
        return np.array([outline], dtype=object)
    diagram = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=outline, ordered=True)
    cells = shapely.get_parts(diagram)
    if len(cells) != len(points):
        raise RuntimeError(f"Voronoi gave {len(cells)} cells for {len(points)} points")
    return polygonal_part(shapely.intersection(cells, outline))


def _to_degrees(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    return shapely.transform(geoms, lambda c: c / np.array([_K, 1.0]))


def _overlap_bisectors(
    cells: NDArray[np.object_], xy: NDArray[np.float64], province: NDArray
) -> NDArray[np.object_]:
    """Perpendicular bisectors of commune pairs whose cells (from different provinces) overlap.

    Each bisector is clipped to the overlap of the two cells, so that after noding
    each face of an overlap has one nearest commune.  Degrees in, degrees out.
    """
    tree = shapely.STRtree(cells)
    a, b = tree.query(cells, predicate="intersects")
    keep = (a < b) & (province[a] != province[b])
    a, b = a[keep], b[keep]
    if a.size == 0:
        return np.empty(0, dtype=object)
    overlap = shapely.intersection(cells[a], cells[b])
    real = shapely.area(overlap) > 0
    a, b, overlap = a[real], b[real], overlap[real]
    mid = (xy[a] + xy[b]) / 2
    delta = xy[b] - xy[a]
    direction = np.column_stack([-delta[:, 1], delta[:, 0]])
    direction /= np.hypot(direction[:, 0], direction[:, 1])[:, None]
    xmin, ymin, xmax, ymax = shapely.bounds(overlap).T * np.array([[_K], [1], [_K], [1]])
    reach = np.hypot(xmax - xmin, ymax - ymin) + np.hypot(
        np.maximum(abs(mid[:, 0] - xmin), abs(mid[:, 0] - xmax)),
        np.maximum(abs(mid[:, 1] - ymin), abs(mid[:, 1] - ymax)),
    )
    ends = np.stack([mid - direction * reach[:, None], mid + direction * reach[:, None]], axis=1)
    lines = _to_degrees(shapely.linestrings(ends))
    pieces = shapely.intersection(lines, overlap)
    return pieces[~shapely.is_empty(pieces)]


def _nearest_covering_commune(
    faces: NDArray[np.object_], cells: NDArray[np.object_], xy: NDArray[np.float64]
) -> NDArray[np.int64]:
    """Commune owning each face: nearest among those whose clipped cell covers it.

    A face no cell covers (a gap enclosed between province outlines) goes to the
    nearest commune overall.  Ties go to the lower code.
    """
    rep = shapely.point_on_surface(faces)
    rep_xy = shapely.get_coordinates(rep) * np.array([_K, 1.0])
    f, c = shapely.STRtree(cells).query(rep, predicate="within")
    dist = np.hypot(*(rep_xy[f] - xy[c]).T)
    order = np.lexsort((c, dist, f))
    f, c = f[order], c[order]
    first = np.ones(len(f), dtype=bool)
    first[1:] = f[1:] != f[:-1]
    owner = np.full(len(faces), -1, dtype=np.int64)
    owner[f[first]] = c[first]

    gaps = np.flatnonzero(owner < 0)
    if gaps.size:
        gf, gc = shapely.STRtree(shapely.points(xy)).query_nearest(shapely.points(rep_xy[gaps]))
        pick = np.lexsort((gc, gf))
        gf, gc = gf[pick], gc[pick]
        first = np.ones(len(gf), dtype=bool)
        first[1:] = gf[1:] != gf[:-1]
        owner[gaps[gf[first]]] = gc[first]
    return owner


def _merge_detached_parts(
    geoms: NDArray[np.object_], points: NDArray[np.object_], province: NDArray
) -> NDArray[np.object_]:
    """Give each detached piece of a commune to a neighbour it shares border with.

    Clipping Voronoi cells to a concave outline, and sharing overlaps between
    provinces, leave some communes in several pieces.  The piece holding the
    commune's point stays; every other piece joins the adjacent commune of the
    same province with the longest common boundary, or, when it touches no commune
    of its own province (a stray piece of province), the adjacent commune with the
    longest common boundary.  Lowest index wins ties.  Areas are only relabelled,
    so the coverage stays exact.  One pass, in commune order; returns ``geoms``
    itself when no commune is in pieces.
    """
    multi = np.flatnonzero(shapely.get_type_id(geoms) == 6)
    if multi.size == 0:
        return geoms
    geoms = geoms.copy()
    tree = shapely.STRtree(geoms)
    gifts: dict[int, list] = {}
    for i in multi:
        parts = shapely.get_parts(geoms[i])
        home = shapely.covers(parts, points[i])
        keep = int(np.argmax(home)) if home.any() else int(np.argmax(shapely.area(parts)))
        for j, part in enumerate(parts):
            if j == keep:
                continue
            near = np.sort(tree.query(part, predicate="intersects"))
            near = near[near != i]
            shared = shapely.length(shapely.intersection(part.boundary, shapely.boundary(geoms[near])))
            near, shared = near[shared > 0], shared[shared > 0]
            own = province[near] == province[i]
            if own.any():
                near, shared = near[own], shared[own]
            # A piece touching nobody (cannot happen inside a coverage) stays put.
            taker = int(near[np.argmax(shared)]) if near.size else int(i)
            gifts.setdefault(taker, []).append(part)
        geoms[i] = parts[keep]
    for k in sorted(gifts):
        geoms[k] = shapely.coverage_union_all(np.array([geoms[k], *gifts[k]], dtype=object))
    return geoms


def _dissolve(commune: gpd.GeoDataFrame, by: str, keep: list[str]) -> gpd.GeoDataFrame:
    """Coverage union of communes per ``by`` code (sorted), keeping parent columns."""
    groups = commune.groupby(by, sort=True)
    geoms = [shapely.coverage_union_all(g.geometry.to_numpy()) for _, g in groups]
    attrs = groups[keep].first().reset_index() if keep else groups.size().reset_index()[[by]]
    attrs = attrs.rename(columns={by: "code"})
    return gpd.GeoDataFrame(attrs, geometry=geoms, crs="EPSG:4326")
