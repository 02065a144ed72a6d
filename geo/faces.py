"""Planar faces: node polygon boundaries on a grid, cut them into faces, glue faces back.

A polygonal coverage is only usable by :func:`shapely.coverage_simplify` and
:func:`shapely.coverage_union` when neighbours share *exactly* the same vertices.
Polygons produced independently (clipped Voronoi cells, rounded coordinates) rarely
do.  The cure used here: take every boundary as a line, node all lines together with
snap-rounding on a fixed grid, polygonize the result into faces (which by
construction share their edges exactly), decide which unit owns each face, and
dissolve the faces of each unit with a coverage union, which keeps every vertex.

All functions work in the coordinates they are given (degrees for this project);
``grid_size`` is in the same units.
"""
from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray

__all__ = ["polygonal_part", "polygon_faces", "owner_by_overlap", "union_by_owner", "snap_round_coverage"]


def polygonal_part(geoms: ArrayLike) -> NDArray[np.object_]:
    """The polygonal part of each geometry (an empty Polygon when there is none).

    Overlay operations and :func:`shapely.make_valid` can return lines and points
    beside the polygons, in a GeometryCollection; those are dropped.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = geoms.copy()
    for i in np.flatnonzero(shapely.get_type_id(geoms) == 7):  # GeometryCollection
        parts = shapely.get_parts(geoms[i])
        out[i] = shapely.union_all(parts[np.isin(shapely.get_type_id(parts), (3, 6))])
    out[~np.isin(shapely.get_type_id(out), (3, 6, -1))] = shapely.Polygon()
    return out


def polygon_faces(geoms: ArrayLike, grid_size: float) -> NDArray[np.object_]:
    """Faces of the planar arrangement of the boundaries of ``geoms`` (and any lines).

    Parameters
    ----------
    geoms : array-like of shapely geometries
        Polygons and/or lines; polygons contribute their boundary.
    grid_size : float
        Snap-rounding grid, in the units of the coordinates (degrees here).
        Every output vertex lies on this grid.

    Returns
    -------
    ndarray of Polygon
        Every bounded face, including regions enclosed by the linework that no input
        polygon covers (gaps).  Neighbouring faces share identical vertices.
        Order is deterministic for a given input.
    """
    parts = shapely.get_parts(np.asarray(geoms, dtype=object))
    kind = shapely.get_type_id(parts)
    # Only linework may enter the union: a polygon there would swallow the lines inside it.
    lines = np.concatenate([shapely.boundary(parts[kind == 3]), parts[(kind == 1) | (kind == 2)]])
    if lines.size == 0:
        return np.empty(0, dtype=object)
    noded = shapely.union_all(lines, grid_size=grid_size)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    # Snap-rounding cannot create degenerate faces, but keep the guard cheap and explicit.
    return faces[shapely.area(faces) > 0]


def owner_by_overlap(faces: ArrayLike, geoms: ArrayLike) -> NDArray[np.int64]:
    """Index of the polygon of ``geoms`` each face belongs to, ``-1`` for none.

    A face whose interior point lies in exactly one polygon goes to it; otherwise
    (rounding moved the face a little, or polygons overlap) it goes to the polygon
    it overlaps most, the lowest index winning ties.  Faces that overlap no polygon
    get ``-1``.

    Parameters
    ----------
    faces, geoms : array-like of Polygon
        Same coordinate reference system.
    """
    faces = np.asarray(faces, dtype=object)
    geoms = np.asarray(geoms, dtype=object)
    owner = np.full(len(faces), -1, dtype=np.int64)
    if len(faces) == 0 or len(geoms) == 0:
        return owner
    tree = shapely.STRtree(geoms)
    rep = shapely.point_on_surface(faces)
    f_idx, g_idx = tree.query(rep, predicate="within")
    hits = np.bincount(f_idx, minlength=len(faces))
    single = hits == 1
    owner[f_idx[single[f_idx]]] = g_idx[single[f_idx]]

    unsure = np.flatnonzero(~single)
    if unsure.size:
        uf, ug = tree.query(faces[unsure], predicate="intersects")
        area = shapely.area(shapely.intersection(faces[unsure][uf], geoms[ug]))
        keep = area > 0
        uf, ug, area = uf[keep], ug[keep], area[keep]
        # Largest overlap first, then lowest polygon index: first row per face wins.
        order = np.lexsort((ug, -area, uf))
        uf, ug = uf[order], ug[order]
        first = np.ones(len(uf), dtype=bool)
        first[1:] = uf[1:] != uf[:-1]
        owner[unsure[uf[first]]] = ug[first]
    return owner


def union_by_owner(faces: ArrayLike, owner: ArrayLike, n: int) -> NDArray[np.object_]:
    """Dissolve faces into ``n`` units with a coverage union (vertices are kept).

    Parameters
    ----------
    faces : array-like of Polygon
        Faces that form a valid coverage (e.g. from :func:`polygon_faces`).
    owner : array-like of int
        Unit index per face in ``[0, n)``; faces with ``-1`` are dropped.
    n : int
        Number of units.

    Returns
    -------
    ndarray of Polygon/MultiPolygon, length ``n``
        An empty Polygon for a unit that owns no face.
    """
    faces = np.asarray(faces, dtype=object)
    owner = np.asarray(owner, dtype=np.int64)
    out = np.array([shapely.Polygon()] * n, dtype=object)
    keep = owner >= 0
    faces, owner = faces[keep], owner[keep]
    order = np.argsort(owner, kind="stable")
    faces, owner = faces[order], owner[order]
    bounds = np.flatnonzero(np.diff(owner)) + 1
    for group in np.split(np.arange(len(owner)), bounds):
        if group.size:
            out[owner[group[0]]] = shapely.coverage_union_all(faces[group])
    return out


def snap_round_coverage(geoms: ArrayLike, grid_size: float) -> NDArray[np.object_]:
    """Round a coverage onto a grid without opening gaps or overlaps.

    Each polygon keeps the faces it overlaps most after snap-rounding, so shared
    edges stay shared and areas nobody covered (holes, gaps) stay uncovered.
    A polygon narrower than the grid may vanish (becomes an empty Polygon).

    Parameters
    ----------
    geoms : array-like of Polygon/MultiPolygon
        A coverage (neighbours need not be edge-matched yet).
    grid_size : float
        Grid in coordinate units (degrees here).
    """
    geoms = np.asarray(geoms, dtype=object)
    faces = polygon_faces(geoms[~shapely.is_empty(geoms)], grid_size)
    return union_by_owner(faces, owner_by_overlap(faces, geoms), len(geoms))
