"""IoU per code and coverage checks on tiny hand-made layers."""
from __future__ import annotations

import math

import geopandas as gpd
import pytest
import shapely
from shapely import box

from geo.quality import coverage_problems, iou_by_code


def _frame(codes, geoms, crs="EPSG:4326") -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"code": codes}, geometry=list(geoms), crs=crs)


@pytest.mark.parametrize(
    "geom_b, expected",
    [
        (box(0, 0, 1, 1), 1.0),
        (box(0, 0, 1, 0.5), 0.5),
        (box(0, 0.5, 1, 1.5), 1 / 3),
        (box(2, 2, 3, 3), 0.0),
    ],
    ids=["identical", "half inside", "shifted by half", "disjoint"],
)
def test_iou_of_boxes_near_the_equator(geom_b, expected):
    # Within 1.5° of the equator the equal-area projection barely distorts, so plain ratios hold.
    iou = iou_by_code(_frame(["a"], [box(0, 0, 1, 1)]), _frame(["a"], [geom_b]))
    assert iou["a"] == pytest.approx(expected, abs=1e-3)


def test_iou_is_measured_on_equal_areas_not_on_degrees():
    # 0–60° N versus 30–60° N: in degrees 0.5; on the sphere (sin 60 − sin 30) / sin 60.
    iou = iou_by_code(_frame(["a"], [box(0, 0, 10, 60)]), _frame(["a"], [box(0, 30, 10, 60)]))
    sphere = (math.sin(math.radians(60)) - math.sin(math.radians(30))) / math.sin(math.radians(60))
    assert iou["a"] == pytest.approx(sphere, abs=5e-3)
    assert abs(iou["a"] - 0.5) > 0.05


def test_iou_reprojects_each_side_and_matches_codes_as_text():
    a = _frame(["178", "180"], [box(106.7, 21.8, 106.8, 21.9), box(106.5, 22.1, 106.6, 22.2)])
    b = a.to_crs("EPSG:32648").assign(code=[178, 180])  # UTM 48N, integer codes
    iou = iou_by_code(a, b)
    assert list(iou.index) == ["178", "180"]
    assert iou.to_numpy() == pytest.approx([1.0, 1.0], abs=1e-6)


def test_iou_merges_rows_of_one_code_and_scores_unmatched_codes_zero():
    a = _frame(["x", "x", "only_a"], [box(0, 0, 1, 1), box(1, 0, 2, 1), box(5, 5, 6, 6)])
    b = _frame(["x", "only_b"], [box(0, 0, 2, 1), box(7, 7, 8, 8)]).rename(columns={"code": "MA"})
    iou = iou_by_code(a, b, code_col_b="MA")
    assert iou.to_dict() == pytest.approx({"only_a": 0.0, "only_b": 0.0, "x": 1.0}, abs=1e-6)


@pytest.mark.parametrize(
    "frame, message",
    [
        (gpd.GeoDataFrame({"code": ["a"]}, geometry=[box(0, 0, 1, 1)]), "no CRS"),
        (_frame(["a"], [box(0, 0, 1, 1)]).rename(columns={"code": "ma"}), "no column 'code'"),
    ],
)
def test_iou_refuses_frames_it_cannot_compare(frame, message):
    with pytest.raises(ValueError, match=message):
        iou_by_code(frame, _frame(["a"], [box(0, 0, 1, 1)]))


def test_clean_coverage_has_no_problems():
    cells = _frame(["a", "b", "c"], [box(0, 0, 1, 1), box(1, 0, 2, 1), shapely.Polygon([(0, 1), (1, 1), (2, 1), (2, 2), (0, 2)])])
    assert coverage_problems(cells) == []


@pytest.mark.parametrize(
    "geoms, fragment",
    [
        ([box(0, 0, 1, 1), box(0.5, 0, 2, 1)], "overlapping area"),
        ([box(0, 0, 1, 1), box(0.5, 0, 2, 1)], "neighbours overlap"),
        ([box(0, 0, 1, 1), box(1, 0, 2, 1), box(0, 1, 2, 2)], "identical edge vertices"),
        ([box(0, 0, 3, 1), box(0, 2, 3, 3), box(0, 1, 1, 2), box(2, 1, 3, 2)], "1 gap(s) inside the outline"),
        ([box(0, 0, 1, 1), shapely.Polygon([(1, 0), (2, 1), (2, 0), (1, 1)])], "invalid geometry b: Self-intersection"),
        ([box(0, 0, 1, 1), shapely.Polygon()], "empty geometry: b"),
        ([box(0, 0, 1, 1), None], "empty geometry: b"),
        ([box(0, 0, 1, 1), shapely.LineString([(1, 0), (2, 1)])], "not polygonal"),
    ],
    ids=["overlap area", "overlap edges", "T-junction", "hole", "bow-tie", "empty", "missing", "line"],
)
def test_each_kind_of_problem_is_reported(geoms, fragment):
    codes = [chr(ord("a") + i) for i in range(len(geoms))]
    problems = coverage_problems(_frame(codes, geoms))
    assert any(fragment in p for p in problems), problems
