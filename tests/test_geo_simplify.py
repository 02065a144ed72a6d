"""Coverage simplification: fewer vertices, same topology, coordinates on the grid."""
from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import geopandas.testing
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import box

from geo.approx import build_approx_boundaries
from geo.faces import snap_round_coverage
from geo.quality import coverage_problems, iou_by_code
from geo.read import read_boundaries
from geo.simplify import LEVEL_TOLERANCE_DEG, simplify_coverage, tolerance_for_level
from povdata.units import legacy_communes

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOV_DISTRICTS = SHARED / "fixtures" / "boundaries" / "lang_son_districts_gis_chinhphu.zip"


def _vertices(gdf: gpd.GeoDataFrame) -> int:
    return int(shapely.get_num_coordinates(gdf.geometry.to_numpy()).sum())


@pytest.fixture
def wiggly() -> gpd.GeoDataFrame:
    """Three units (west, east, north) in degrees; their shared borders are 400-vertex wiggles."""
    t = np.linspace(0, 1, 401)
    border = np.column_stack([105.5 + 0.01 * np.sin(40 * t), 21.0 + 0.5 * t])  # west | east
    top = np.column_stack([105.0 + t, 21.5 + 0.005 * np.sin(60 * t)])  # (west, east) | north
    split = int(np.argmin(np.abs(top[:, 0] - border[-1, 0])))
    top[split] = border[-1]  # the three-way junction is a vertex of all three
    west = shapely.Polygon([(105.0, 21.0), *border, *top[split::-1][1:]])
    east = shapely.Polygon([(106.0, 21.0), *top[:split:-1], *border[::-1]])
    north = shapely.Polygon([*top, (106.0, 22.0), (105.0, 22.0)])
    gdf = gpd.GeoDataFrame(
        {"code": ["w", "e", "n"], "name": ["West", "East", "North"]},
        geometry=[west, east, north],
        crs="EPSG:4326",
        index=[10, 20, 30],
    )
    assert coverage_problems(gdf) == []  # the fixture itself is a clean coverage
    return gdf


@pytest.mark.parametrize("tolerance", [0.002, 0.01, 0.05])
def test_simplified_coverage_stays_clean_and_loses_vertices(wiggly, tolerance):
    out = simplify_coverage(wiggly, tolerance)
    assert coverage_problems(out) == []
    assert _vertices(out) < _vertices(wiggly) / 4
    # Same ground overall: the outline is simplified too, but only a little.
    assert shapely.union_all(out.geometry.to_numpy()).area == pytest.approx(1.0, rel=0.02)


def test_coarser_tolerance_gives_fewer_vertices(wiggly):
    counts = [_vertices(simplify_coverage(wiggly, t)) for t in (0.001, 0.005, 0.02)]
    assert counts[0] > counts[1] > counts[2]


def test_rows_columns_index_and_crs_are_kept(wiggly):
    before = wiggly.copy()
    out = simplify_coverage(wiggly, 0.01)
    pd.testing.assert_frame_equal(out.drop(columns="geometry"), wiggly.drop(columns="geometry"))
    assert out.crs == wiggly.crs
    assert iou_by_code(out, wiggly).min() > 0.95
    gpd.testing.assert_geodataframe_equal(wiggly, before)  # input untouched


@pytest.mark.parametrize("precision", [1e-4, 1e-3])
def test_vertices_land_on_the_precision_grid(wiggly, precision):
    coords = shapely.get_coordinates(simplify_coverage(wiggly, 0.005, precision_deg=precision).geometry.to_numpy())
    steps = coords / precision
    assert np.abs(steps - np.round(steps)).max() < 1e-6


def test_precision_none_keeps_simplified_coordinates(wiggly):
    out = simplify_coverage(wiggly, 0.01, precision_deg=None)
    expected = shapely.coverage_simplify(wiggly.geometry.to_numpy(), 0.01)
    assert all(a.equals_exact(b, 0) for a, b in zip(out.geometry, expected))


def _t_junction_cells() -> np.ndarray:
    # East's vertex (1.02, 1.5) rounds onto North's straight edge x = 1: rounding each
    # polygon on its own leaves North without that vertex, which breaks the coverage.
    west, north = box(0, 0, 1, 1), box(0, 1, 1, 2)
    east = shapely.Polygon([(1, 0), (2, 0), (2, 1), (1.02, 1.5), (1, 1)])
    cells = np.array([west, east, north])
    assert shapely.coverage_is_valid(cells)
    assert not shapely.coverage_is_valid(shapely.set_precision(cells, 0.05))
    return cells


def test_snap_rounding_adds_the_vertex_a_neighbour_lands_on():
    rounded = snap_round_coverage(_t_junction_cells(), 0.05)
    assert shapely.coverage_is_valid(rounded)
    assert [1.0, 1.5] in shapely.get_coordinates(rounded[2]).tolist()  # North gained the vertex


def test_simplify_rounds_without_breaking_edges():
    gdf = gpd.GeoDataFrame({"code": ["w", "e", "n"]}, geometry=_t_junction_cells(), crs="EPSG:4326")
    out = simplify_coverage(gdf, 0.0, precision_deg=0.05)
    assert coverage_problems(out) == []


@pytest.mark.parametrize("precision", [1e-4, None])
def test_input_that_is_not_a_coverage_is_cleaned_first(precision):
    # Overlapping boxes and a near-miss edge, as in real files.
    gdf = gpd.GeoDataFrame(
        {"code": ["a", "b", "c"]},
        geometry=[box(105, 21, 105.5, 21.5), box(105.49, 21, 106, 21.5), box(105, 21.5000001, 106, 22)],
        crs="EPSG:4326",
    )
    assert coverage_problems(gdf) != []
    out = simplify_coverage(gdf, 0.01, precision_deg=precision)
    assert coverage_problems(out) == []
    assert not out.geometry.is_empty.any()


def test_unit_smaller_than_the_grid_vanishes_with_a_warning():
    gdf = gpd.GeoDataFrame(
        {"code": ["big", "speck"]},
        geometry=[box(105, 21, 106, 22), box(106, 21.5, 106.00002, 21.50002)],
        crs="EPSG:4326",
    )
    with pytest.warns(UserWarning, match="speck"):
        out = simplify_coverage(gdf, 0.0, precision_deg=1e-3)
    assert out.geometry.iloc[1].is_empty
    assert coverage_problems(out.iloc[:1]) == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"crs": "EPSG:3857"}, "EPSG:4326"),
        ({"crs": None}, "EPSG:4326"),
        ({"tolerance_deg": -0.1}, "tolerance_deg"),
        ({"precision_deg": 0}, "precision_deg"),
    ],
)
def test_bad_arguments_are_refused(wiggly, kwargs, message):
    gdf = wiggly
    if "crs" in kwargs:
        crs = kwargs.pop("crs")
        gdf = wiggly.to_crs(crs) if crs else wiggly.set_crs(None, allow_override=True)
    with pytest.raises(ValueError, match=message):
        simplify_coverage(gdf, **{"tolerance_deg": 0.01, **kwargs})


@pytest.mark.parametrize("level", ["province", "district", "commune"])
def test_tolerance_for_each_level(level):
    assert tolerance_for_level(level) == LEVEL_TOLERANCE_DEG[level] > 0


def test_tolerances_shrink_from_province_to_commune():
    assert tolerance_for_level("province") > tolerance_for_level("district") > tolerance_for_level("commune")


def test_unknown_level_is_named_in_the_error():
    with pytest.raises(ValueError, match="'ward'"):
        tolerance_for_level("ward")


# --- real and approximate Lạng Sơn ------------------------------------------------------

@pytest.fixture(scope="module")
def gov_districts() -> gpd.GeoDataFrame:
    if not GOV_DISTRICTS.exists():
        pytest.skip(f"real district boundaries not found at {GOV_DISTRICTS} (../shared is absent)")
    return read_boundaries(GOV_DISTRICTS).rename(columns={"MAHUYEN": "code"})


@pytest.mark.parametrize("level", ["province", "district", "commune"])
def test_government_districts_simplify_to_a_clean_lighter_coverage(gov_districts, level):
    assert coverage_problems(gov_districts) != []  # the raw file is not edge-matched
    out = simplify_coverage(gov_districts, tolerance_for_level(level))
    assert coverage_problems(out) == []
    assert _vertices(out) < _vertices(gov_districts) / 5
    assert iou_by_code(out, gov_districts).min() > 0.8


@pytest.mark.parametrize("level", ["province", "district", "commune"])
def test_approximate_communes_stay_a_clean_coverage(level):
    communes = build_approx_boundaries(legacy_communes("20"))["commune"]
    out = simplify_coverage(communes, tolerance_for_level(level))
    assert coverage_problems(out) == []
    assert _vertices(out) < _vertices(communes)
    assert not out.geometry.is_empty.any()
