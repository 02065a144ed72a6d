"""Approximate boundaries from commune points: coverage, robustness, quality vs real files."""
from __future__ import annotations

import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.approx import build_approx_boundaries
from geo.quality import coverage_problems, iou_by_code
from geo.read import read_boundaries
from povdata.units import legacy_communes

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
GOV_DISTRICTS = SHARED / "fixtures" / "boundaries" / "lang_son_districts_gis_chinhphu.zip"
LEVELS = ("commune", "district", "province")


def _communes(rows: list[tuple], half: float = 0.02) -> pd.DataFrame:
    """Communes from (code, district, province, lon, lat) with a square box of half-side ``half``."""
    df = pd.DataFrame(rows, columns=["code", "district_code", "province_code", "lon", "lat"])
    return df.assign(
        min_lon=df.lon - half, max_lon=df.lon + half, min_lat=df.lat - half, max_lat=df.lat + half
    )


def _scatter(province: str, x0: float, half: float = 0.02, n: int = 30, seed: int = 0) -> pd.DataFrame:
    """``n`` communes scattered over a 0.1° square from ``x0``; west half is district 1, east half 2."""
    rng = np.random.default_rng(seed)
    lon = x0 + rng.random(n) * 0.1
    lat = 21.0 + rng.random(n) * 0.1
    rows = [
        (f"{province}{i:03d}", f"{province}{1 if x < x0 + 0.05 else 2}", province, x, y)
        for i, (x, y) in enumerate(zip(lon, lat))
    ]
    return _communes(rows, half)


@pytest.fixture(scope="module")
def two_provinces() -> pd.DataFrame:
    # Boxes of half-side 0.06 make the two province outlines overlap around lon 105.15.
    return pd.concat([_scatter("01", 105.0, 0.06, seed=1), _scatter("02", 105.2, 0.06, seed=2)], ignore_index=True)


@pytest.fixture(scope="module")
def lang_son_communes() -> pd.DataFrame:
    return legacy_communes("20")


@pytest.fixture(scope="module")
def lang_son(lang_son_communes) -> dict[str, gpd.GeoDataFrame]:
    return build_approx_boundaries(lang_son_communes)


@pytest.fixture(scope="module")
def gov_districts() -> gpd.GeoDataFrame:
    if not GOV_DISTRICTS.exists():
        pytest.skip(f"real district boundaries not found at {GOV_DISTRICTS} (../shared is absent)")
    return read_boundaries(GOV_DISTRICTS)


def _relative_overlap(gdf: gpd.GeoDataFrame) -> float:
    geoms = gdf.geometry.to_numpy()
    union = shapely.area(shapely.union_all(geoms))
    return abs(shapely.area(geoms).sum() - union) / union


# --- shape of the result -------------------------------------------------------------

def test_levels_columns_crs_and_order(two_provinces):
    result = build_approx_boundaries(two_provinces)
    assert list(result) == list(LEVELS)
    expected_columns = {
        "commune": ["code", "district_code", "province_code", "geometry"],
        "district": ["code", "province_code", "geometry"],
        "province": ["code", "geometry"],
    }
    for level, gdf in result.items():
        assert gdf.crs == "EPSG:4326", level
        assert list(gdf.columns) == expected_columns[level]
        assert list(gdf["code"]) == sorted(gdf["code"]), level
        assert gdf.index.equals(pd.RangeIndex(len(gdf)))
    assert len(result["commune"]) == 60
    assert list(result["district"]["code"]) == ["011", "012", "021", "022"]
    assert list(result["district"]["province_code"]) == ["01", "01", "02", "02"]
    assert list(result["province"]["code"]) == ["01", "02"]


@pytest.mark.parametrize("level", LEVELS)
def test_overlapping_provinces_give_a_clean_coverage(two_provinces, level):
    gdf = build_approx_boundaries(two_provinces)[level]
    assert coverage_problems(gdf) == []
    assert _relative_overlap(gdf) < 1e-9


def test_overlap_goes_to_the_nearest_commune_of_a_claiming_province(two_provinces):
    alone = {
        code: build_approx_boundaries(two_provinces[two_provinces.province_code == code])["province"].geometry.iloc[0]
        for code in ("01", "02")
    }
    contested = alone["01"].intersection(alone["02"])
    assert contested.area > 0  # precondition: the outlines built alone do overlap
    x0, y0, x1, y1 = contested.bounds
    grid = shapely.points(*np.meshgrid(np.linspace(x0, x1, 25), np.linspace(y0, y1, 25)))
    probes = grid.ravel()[shapely.contains(contested, grid.ravel())]
    assert len(probes) >= 20

    together = build_approx_boundaries(two_provinces)["province"].set_index("code").geometry
    scale = np.array([np.cos(np.radians(16)), 1.0])  # the module's distance plane
    points = two_provinces[["lon", "lat"]].to_numpy() * scale
    checked = 0
    for probe in probes:
        d = np.hypot(*(shapely.get_coordinates(probe)[0] * scale - points).T)
        nearest = np.argsort(d)
        if d[nearest[1]] - d[nearest[0]] < 1e-6:
            continue  # too close to a bisector to tell
        assert together[two_provinces.province_code.iloc[nearest[0]]].covers(probe)
        checked += 1
    assert checked >= 20


def test_province_alone_and_with_neighbours_differ_only_where_the_neighbour_or_a_gap_is(two_provinces):
    alone_01, alone_02 = (
        build_approx_boundaries(two_provinces[two_provinces.province_code == code])["province"].geometry.iloc[0]
        for code in ("01", "02")
    )
    together = build_approx_boundaries(two_provinces)["province"].set_index("code").geometry
    union = alone_01.union(alone_02)
    gaps = shapely.union_all([shapely.Polygon(r) for p in shapely.get_parts(union) for r in p.interiors])
    changed = alone_01.symmetric_difference(together["01"])
    assert changed.area > 0  # the neighbour did take some ground
    assert changed.difference(alone_02.union(gaps)).area < 1e-9 * alone_01.area


def test_every_commune_cell_contains_its_own_point(two_provinces):
    communes = build_approx_boundaries(two_provinces)["commune"]
    points = two_provinces.sort_values("code")
    assert list(communes["code"]) == list(points["code"])
    assert shapely.contains(communes.geometry.to_numpy(), shapely.points(points.lon, points.lat)).all()


# --- robustness ----------------------------------------------------------------------

@pytest.mark.parametrize("n_shared", [2, 3, 11])
@pytest.mark.parametrize("same_district", [True, False])
def test_communes_sharing_one_point_each_get_a_cell(n_shared, same_district):
    rows = [("10000", "101", "10", 105.0, 21.0), ("10001", "102", "10", 105.2, 21.1)]
    rows += [
        (f"2{i:04d}", "101" if same_district or i % 2 else "102", "10", 105.1, 21.05)
        for i in range(n_shared)
    ]
    result = build_approx_boundaries(_communes(rows))
    communes = result["commune"]
    assert len(communes) == n_shared + 2
    assert (shapely.area(communes.geometry.to_numpy()) > 0).all()
    for level in LEVELS:
        assert coverage_problems(result[level]) == [], level


def test_point_outside_its_own_box_still_gets_the_cell_around_it():
    df = _scatter("01", 105.0)
    df.loc[0, ["lon", "lat"]] = (104.9, 20.95)  # far outside its own box and the others'
    communes = build_approx_boundaries(df)["commune"]
    cell = communes.set_index("code").geometry[df.loc[0, "code"]]
    # The point is a corner of the outline, so it lies on the cell's edge at best.
    assert cell.covers(shapely.Point(104.9, 20.95))
    assert cell.area > 0
    assert coverage_problems(communes) == []


@pytest.mark.parametrize("half", [0.0, 0.02])
def test_single_commune_province(half):
    result = build_approx_boundaries(_communes([("00001", "001", "01", 105.8, 21.0)], half=half))
    for level in LEVELS:
        assert len(result[level]) == 1
        geom = result[level].geometry.iloc[0]
        assert geom.is_valid and geom.area > 0
        assert geom.contains(shapely.Point(105.8, 21.0))


def test_same_rows_in_any_order_give_identical_bytes(lang_son_communes, lang_son):
    shuffled = lang_son_communes.sample(frac=1, random_state=7).reset_index(drop=True)
    again = build_approx_boundaries(shuffled)
    for level in LEVELS:
        assert (shapely.to_wkb(again[level].geometry.to_numpy()) == shapely.to_wkb(
            lang_son[level].geometry.to_numpy())).all(), level
        pd.testing.assert_frame_equal(again[level].drop(columns="geometry"), lang_son[level].drop(columns="geometry"))


def test_empty_input_gives_empty_levels(two_provinces):
    result = build_approx_boundaries(two_provinces.iloc[:0])
    assert [len(result[level]) for level in LEVELS] == [0, 0, 0]
    assert all(result[level].crs == "EPSG:4326" for level in LEVELS)
    assert "district_code" in result["commune"].columns


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda df: df.drop(columns="min_lat"), "min_lat"),
        (lambda df: df.assign(code=["01001"] * len(df)), "repeated: 01001"),
        (lambda df: df.assign(lat=[np.nan] + list(df.lat[1:])), "without lat/lon: 0100"),
        (lambda df: df.assign(province_code=["01", "02"] + ["01"] * (len(df) - 2)), "several provinces: 011"),
    ],
    ids=["missing column", "repeated code", "missing point", "district in two provinces"],
)
def test_bad_input_is_refused_with_the_culprit_named(mutate, message):
    with pytest.raises(ValueError, match=message):
        build_approx_boundaries(mutate(_scatter("01", 105.0)))


# --- Lạng Sơn against the government's district map ----------------------------------

def test_lang_son_has_every_unit_once(lang_son, lang_son_communes):
    assert [len(lang_son[level]) for level in LEVELS] == [194, 11, 1]
    assert set(lang_son["commune"]["code"]) == set(lang_son_communes["code"])
    assert not lang_son["commune"].geometry.is_empty.any()


@pytest.mark.parametrize("level", LEVELS)
def test_lang_son_levels_are_clean_coverages(lang_son, level):
    assert coverage_problems(lang_son[level]) == []
    assert _relative_overlap(lang_son[level]) < 1e-9


def test_lang_son_commune_cells_contain_their_points(lang_son, lang_son_communes):
    points = lang_son_communes.sort_values("code").reset_index(drop=True)
    inside = shapely.contains(lang_son["commune"].geometry.to_numpy(), shapely.points(points.lon, points.lat))
    shared = points.duplicated(["lat", "lon"], keep=False).to_numpy()
    # Two pairs of communes share a point in the source (e.g. the two "Mẫu Sơn"); the
    # pair's cells meet at or near that point, so at most one of each pair holds it.
    assert shared.sum() == 4
    assert inside[~shared].all(), list(points.code[~inside & ~shared])
    assert inside.sum() >= 190


def test_lang_son_districts_match_the_government_map(lang_son, gov_districts):
    iou = iou_by_code(lang_son["district"], gov_districts, code_col_b="MAHUYEN")
    assert len(iou) == 11  # same codes on both sides, else a code would score 0
    assert iou.min() >= 0.6, iou.round(3).to_dict()
    assert iou.median() >= 0.7, iou.round(3).to_dict()


def test_lang_son_province_outline_matches_the_government_map(lang_son, gov_districts):
    real = gpd.GeoDataFrame({"code": ["20"]}, geometry=[gov_districts.union_all()], crs=gov_districts.crs)
    assert iou_by_code(lang_son["province"], real)["20"] >= 0.8


# --- whole country -------------------------------------------------------------------

@pytest.fixture(scope="module")
def national() -> tuple[pd.DataFrame, dict[str, gpd.GeoDataFrame], float]:
    communes = legacy_communes(None)
    start = time.perf_counter()
    result = build_approx_boundaries(communes)
    return communes, result, time.perf_counter() - start


@pytest.mark.slow
def test_national_build_is_fast_complete_and_clean(national):
    communes, result, elapsed = national
    assert elapsed < 30, f"national build took {elapsed:.1f} s"
    assert len(result["commune"]) == len(communes)
    assert len(result["district"]) == communes["district_code"].nunique()
    assert len(result["province"]) == 63
    for level in LEVELS:
        assert coverage_problems(result[level]) == [], level
    points = communes.sort_values("code")
    inside = shapely.contains(result["commune"].geometry.to_numpy(), shapely.points(points.lon, points.lat))
    shared = points.duplicated(["lat", "lon"], keep=False).to_numpy()
    assert inside[~shared].all(), list(points.code[~inside & ~shared])
    # Pieces cut off from their commune were handed to neighbours.
    assert (result["commune"].geom_type == "Polygon").all()


@pytest.mark.slow
def test_lang_son_keeps_its_quality_inside_the_national_build(national, gov_districts):
    districts = national[1]["district"]
    iou = iou_by_code(districts[districts.province_code == "20"], gov_districts, code_col_b="MAHUYEN")
    assert len(iou) == 11
    assert iou.min() >= 0.6 and iou.median() >= 0.7, iou.round(3).to_dict()
