"""Reading boundary files into WGS 84 and the three-layer GeoPackage store."""
from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import geopandas as gpd
import geopandas.testing
import pyogrio
import pytest
import shapely
from shapely import box

from geo.read import BoundaryReadError, read_boundaries, read_layers, write_layers

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures" / "boundaries"
LANG_SON_DISTRICTS = {"178", "180", "181", "182", "183", "184", "185", "186", "187", "188", "189"}


@pytest.fixture
def utm_units() -> gpd.GeoDataFrame:
    """Two districts near Lạng Sơn city in VN-2000 / UTM zone 48N (EPSG:3405), metres."""
    wgs84 = gpd.GeoDataFrame(
        {"code": ["183", "178"], "name": ["Cao Lộc", "Thành phố Lạng Sơn"]},
        geometry=[box(106.70, 21.80, 106.80, 21.90), box(106.74, 21.83, 106.78, 21.87).buffer(0)],
        crs="EPSG:4326",
    )
    return wgs84.to_crs("EPSG:3405")


def _write(gdf: gpd.GeoDataFrame, folder: Path, fmt: str) -> Path:
    if fmt == "shp":
        path = folder / "units.shp"
        pyogrio.write_dataframe(gdf, path)
    elif fmt == "zip":
        _write(gdf, folder, "shp")
        path = folder / "units.zip"
        with zipfile.ZipFile(path, "w") as zf:
            for part in sorted(folder.glob("units.*")):
                if part.suffix != ".zip":
                    zf.write(part, part.name)
    elif fmt == "geojson":
        path = folder / "units.geojson"
        pyogrio.write_dataframe(gdf, path, driver="GeoJSON", layer_options={"RFC7946": "NO"})
    else:
        path = folder / "units.gpkg"
        pyogrio.write_dataframe(gdf, path, layer="units")
    return path


@pytest.mark.parametrize("fmt", ["shp", "zip", "geojson", "gpkg"])
def test_any_format_and_crs_comes_back_in_wgs84(utm_units, tmp_path, fmt):
    got = read_boundaries(_write(utm_units, tmp_path, fmt))
    assert got.crs == "EPSG:4326"
    assert list(got["code"]) == ["183", "178"]
    expected = utm_units.to_crs("EPSG:4326").geometry.normalize()  # shapefiles reverse rings
    assert all(a.equals_exact(b, 1e-7) for a, b in zip(got.geometry.normalize(), expected))
    assert got.total_bounds == pytest.approx([106.70, 21.80, 106.80, 21.90], abs=1e-6)


@pytest.mark.parametrize(
    "name, code_column",
    [("lang_son_districts_gis_chinhphu.zip", "MAHUYEN"), ("lang_son_districts_gadm2.geojson", None)],
)
def test_real_lang_son_files_read_as_eleven_districts_in_wgs84(name, code_column):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"real boundary fixture {path} not found (../shared is absent)")
    gdf = read_boundaries(path)
    assert len(gdf) == 11
    assert gdf.crs == "EPSG:4326"
    assert gdf.geometry.is_valid.all()
    minx, miny, maxx, maxy = gdf.total_bounds
    assert 106.0 < minx < maxx < 107.5 and 21.2 < miny < maxy < 22.6
    if code_column:
        assert set(gdf[code_column]) == LANG_SON_DISTRICTS


def test_missing_crs_is_refused_naming_the_file(utm_units, tmp_path):
    with pytest.warns(UserWarning, match="'crs' was not provided"):
        path = _write(utm_units.set_crs(None, allow_override=True), tmp_path, "shp")
    assert not path.with_suffix(".prj").exists()
    with pytest.raises(BoundaryReadError, match=r"units\.shp.*hệ tọa độ"):
        read_boundaries(path)


@pytest.mark.parametrize(
    "make, fragment",
    [
        (lambda d: d / "absent.geojson", "Không tìm thấy"),
        (lambda d: _text(d / "broken.geojson", "{ not json"), "Không đọc được"),
        (lambda d: _text(d / "notes.zip", "PK but not really"), "Không đọc được"),
    ],
    ids=["missing", "garbage", "bad zip"],
)
def test_unreadable_files_raise_a_vietnamese_error_naming_them(tmp_path, make, fragment):
    path = make(tmp_path)
    with pytest.raises(BoundaryReadError, match=fragment) as info:
        read_boundaries(path)
    assert path.name in str(info.value)
    assert isinstance(info.value, ValueError)


def _text(path: Path, content: str) -> Path:
    path.write_text(content)
    return path


def test_several_layers_need_a_choice(utm_units, tmp_path):
    path = tmp_path / "two.gpkg"
    pyogrio.write_dataframe(utm_units, path, layer="a")
    pyogrio.write_dataframe(utm_units, path, layer="b")
    with pytest.raises(BoundaryReadError, match="nhiều lớp"):
        read_boundaries(path)
    with pytest.raises(BoundaryReadError, match="“c”"):
        read_boundaries(path, layer="c")
    assert len(read_boundaries(path, layer="b")) == 2


@pytest.fixture
def layers() -> dict[str, gpd.GeoDataFrame]:
    crs = "EPSG:4326"
    return {
        "province": gpd.GeoDataFrame({"code": ["20"]}, geometry=[box(106, 21, 107, 22)], crs=crs),
        "district": gpd.GeoDataFrame(
            {"code": ["183", "178"], "province_code": ["20", "20"]},
            geometry=[
                shapely.MultiPolygon([box(106, 21, 106.5, 22), box(106.6, 21, 107, 22)]),
                box(106.5, 21, 106.6, 22),
            ],
            crs=crs,
        ),
    }


def test_layers_round_trip_sorted_by_code_with_leading_zeros_and_types(layers, tmp_path):
    layers["district"] = layers["district"].assign(code=["183", "078"])
    path = tmp_path / "boundaries.gpkg"
    write_layers(layers, path)
    back = read_layers(path)
    assert sorted(back) == ["district", "province"]
    assert list(back["district"]["code"]) == ["078", "183"]
    expected = layers["district"].sort_values("code").reset_index(drop=True)
    gpd.testing.assert_geodataframe_equal(back["district"], expected, check_dtype=False)
    assert list(back["district"].geom_type) == ["Polygon", "MultiPolygon"]


def test_writing_the_same_layers_twice_gives_the_same_bytes(layers, tmp_path):
    first, second = tmp_path / "a.gpkg", tmp_path / "b.gpkg"
    write_layers(layers, first)
    shuffled = {k: v.iloc[::-1] for k, v in reversed(list(layers.items()))}
    write_layers(shuffled, second)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None  # process option restored


def test_writing_replaces_an_existing_store(layers, tmp_path):
    path = tmp_path / "store.gpkg"
    write_layers(layers, path)
    write_layers({"province": layers["province"]}, path)
    assert list(read_layers(path)) == ["province"]
    assert [p.name for p in tmp_path.iterdir()] == ["store.gpkg"]


def test_layers_in_another_crs_are_stored_in_wgs84(layers, tmp_path):
    path = tmp_path / "store.gpkg"
    write_layers({"province": layers["province"].to_crs("EPSG:3405")}, path)
    back = read_layers(path)["province"]
    assert back.crs == "EPSG:4326"
    assert back.geometry.iloc[0].normalize().equals_exact(box(106, 21, 107, 22).normalize(), 1e-6)


@pytest.mark.parametrize(
    "target, layers_arg, message",
    [
        ("store.geojson", None, r"\.gpkg"),
        ("store.gpkg", "no_crs", "no CRS"),
    ],
)
def test_write_refuses_what_it_cannot_store(layers, tmp_path, target, layers_arg, message):
    if layers_arg == "no_crs":
        layers = {"province": layers["province"].set_crs(None, allow_override=True)}
    with pytest.raises(ValueError, match=message):
        write_layers(layers, tmp_path / target)
    assert not (tmp_path / target).exists()
