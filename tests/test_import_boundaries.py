"""Boundary import: the two real Lạng Sơn files, CRS handling, repair, multi-part units,
zip safety and malformed files."""
from __future__ import annotations

import io
import stat
import zipfile

import geopandas as gpd
import numpy as np
import pytest
import shapely

from import_fixtures import GADM_JSON, GOV_ZIP, shapefile_zip
from geo.importing import (build_layers, check_zip, prepare_boundaries)
from geo.read import BoundaryReadError
from povdata.units import legacy_units

DISTRICTS = sorted(legacy_units("20").query("level == 'district'")["code"])
needs_shared = pytest.mark.skipif(not (GOV_ZIP.exists() and GADM_JSON.exists()),
                                  reason=f"shared boundary fixtures not found in {GOV_ZIP.parent}")


@needs_shared
@pytest.mark.parametrize("path, method, code_field, name_field", [
    (GOV_ZIP, {"code"}, "MAHUYEN", "TENHUYEN"),
    # no GSO codes; 'Ðình Lập' with U+00D0, 'Bắc Son', 'Vãn Lãng': matched, but held for review
    (GADM_JSON, {"name", "similar"}, None, "NAME_3"),
])
def test_real_files_match_all_eleven_districts(path, method, code_field, name_field):
    b = prepare_boundaries(path.read_bytes(), path.name, "20")
    assert b.ok, [str(p) for p in b.report.errors]
    assert (b.level, b.code_field, b.name_field, b.crs_from) == ("district", code_field, name_field, "file")
    assert sorted(b.matches["code"]) == DISTRICTS
    assert set(b.matches["method"]) == method
    if "similar" in method:
        held = b.matches[b.matches["method"] == "similar"]
        assert {"Ðình Lập", "Bắc Son", "Vãn Lãng"} <= set(held["input_name"]) and (held["score"] < 1).all()
    layers = build_layers(b.gdf, b.matches, "20", "legacy", b.level)
    assert sorted(layers["district"]["code"]) == DISTRICTS
    # multi-part units stay whole: Lạng Sơn's one MultiPolygon district keeps every part
    raw = gpd.read_file(path)
    assert (layers["district"].geom_type == "MultiPolygon").sum() == (raw.geom_type == "MultiPolygon").sum() == 1
    assert shapely.area(layers["province"].geometry.iloc[0]) == pytest.approx(
        shapely.area(layers["district"].geometry.to_numpy()).sum(), rel=1e-3)


def _districts_gdf(scale: float = 0.04) -> gpd.GeoDataFrame:
    d = legacy_units("20").query("level == 'district'").reset_index(drop=True)
    boxes = [shapely.box(lon - scale, lat - scale, lon + scale, lat + scale) for lon, lat in zip(d["lon"], d["lat"])]
    return gpd.GeoDataFrame({"MA": d["code"], "TEN": d["name"]}, geometry=boxes, crs="EPSG:4326")


def test_projected_crs_is_reprojected(tmp_path):
    gdf = _districts_gdf()
    projected = gdf.to_crs("EPSG:9215")  # VN-2000 / TM-3 107-15, Lạng Sơn's provincial zone
    b = prepare_boundaries(shapefile_zip(projected, tmp_path), "vn2000.zip", "20")
    assert b.ok and b.crs_from == "file" and "9215" in b.crs
    assert np.allclose(b.gdf.total_bounds, gdf.total_bounds, atol=1e-6)


def test_missing_prj_is_detected_and_the_user_chooses(tmp_path):
    gdf = _districts_gdf().to_crs("EPSG:9215")
    data = shapefile_zip(gdf, tmp_path, drop_prj=True)
    b = prepare_boundaries(data, "khong_prj.zip", "20")
    assert b.needs_crs and not b.ok
    (p,) = b.report.errors
    assert "không có tệp .prj" in p.message and "chọn hệ tọa độ" in p.message
    ranked = [c for c, km in b.crs_ranked if km == 0]
    assert "EPSG:9215" in ranked and "EPSG:4326" not in ranked   # metres are not degrees
    assert b.crs_ranked[0][0] == "EPSG:9215"  # Lạng Sơn's own VN-2000 TM-3 zone is suggested first
    b = prepare_boundaries(data, "khong_prj.zip", "20", crs="EPSG:9215")
    assert b.ok and b.crs_from == "user"
    assert np.allclose(b.gdf.total_bounds, _districts_gdf().total_bounds, atol=1e-6)


def test_wrong_crs_choice_is_reported(tmp_path):
    data = shapefile_zip(_districts_gdf().to_crs("EPSG:9215"), tmp_path, drop_prj=True)
    b = prepare_boundaries(data, "khong_prj.zip", "20", crs="EPSG:3406")  # UTM 49N: lands east of the province
    assert not b.ok and any("nằm ngoài Tỉnh Lạng Sơn" in p.message for p in b.report.errors)


def test_invalid_geometry_is_repaired_and_reported(tmp_path):
    gdf = _districts_gdf()
    x0, y0, x1, y1 = gdf.geometry.iloc[2].bounds
    gdf.loc[2, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # a bow-tie
    b = prepare_boundaries(gdf.to_json().encode(), "no.geojson", "20")
    assert b.ok
    (w,) = [p for p in b.report.warnings if "make_valid" in p.message]
    assert w.row == 3 and "Self-intersection" in w.message
    assert b.gdf.geometry.is_valid.all() and b.gdf.geometry.iloc[2].area > 0


def test_features_of_one_unit_are_merged(tmp_path):
    gdf = _districts_gdf()
    extra = gdf.iloc[[0]].copy()
    extra["geometry"] = extra.geometry.translate(0.2, 0)
    b = prepare_boundaries(gpd.pd.concat([gdf, extra]).to_json().encode(), "hai_phan.geojson", "20")
    assert b.ok and any("sẽ gộp thành một vùng" in p.message for p in b.report.warnings)
    layers = build_layers(b.gdf, b.matches, "20", "legacy", b.level)
    g = layers["district"].set_index("code").geometry[gdf.at[0, "MA"]]
    assert g.geom_type == "MultiPolygon" and len(g.geoms) == 2


def test_unmatched_feature_blocks_until_fixed_or_skipped():
    gdf = _districts_gdf()
    gdf = gdf.drop(columns="MA")
    gdf.loc[4, "TEN"] = "Huyện Không Có"
    gdf.loc[4, "geometry"] = shapely.box(106.0, 22.6, 106.05, 22.65)  # outside the province: no location match
    data = gdf.to_json().encode()
    b = prepare_boundaries(data, "sai_ten.geojson", "20")
    assert not b.ok
    (e,) = b.report.errors
    assert e.row == 5 and e.column == "TEN" and "'Huyện Không Có'" in e.message
    code = legacy_units("20").query("level == 'district'").reset_index(drop=True).at[4, "code"]
    assert prepare_boundaries(data, "sai_ten.geojson", "20", overrides={5: code}).ok
    assert prepare_boundaries(data, "sai_ten.geojson", "20", overrides={5: None}).ok


def test_location_matches_a_feature_without_a_usable_name():
    gdf = _districts_gdf().drop(columns="MA")
    gdf.loc[1, "TEN"] = "???"
    b = prepare_boundaries(gdf.to_json().encode(), "vi_tri.geojson", "20")
    assert b.ok
    m = b.matches.iloc[1]
    assert m["method"] == "location" and m["score"] < 1


def _zip(members: dict[str, bytes], link: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


@pytest.mark.parametrize("data, fragment", [
    (_zip({"../../evil.shp": b"x"}), "có '..' trong đường dẫn"),
    (_zip({"a/../../evil.dbf": b"x"}), "có '..' trong đường dẫn"),
    (_zip({"/etc/cron.d/evil": b"x"}), "có đường dẫn tuyệt đối"),
    (_zip({"C:/Windows/evil.shp": b"x"}), "có đường dẫn tuyệt đối"),
    (_zip({"ok.txt": b"x"}, link="link.shp"), "là liên kết (symlink)"),
    (b"not a zip at all", "không phải tệp nén .zip hợp lệ"),
    (_zip({"readme.txt": b"x"}), "không có tệp ranh giới"),
], ids=["dotdot", "nested-dotdot", "absolute", "drive-letter", "symlink", "not-zip", "no-vector"])
def test_unsafe_or_empty_zips_are_refused(data, fragment, tmp_path):
    b = prepare_boundaries(data, "tai_len.zip", "20")
    assert not b.ok
    (e,) = b.report.errors
    assert fragment in e.message and e.file == "tai_len.zip"
    assert not list(tmp_path.parent.glob("evil*"))


def test_zip_checks_run_before_extraction(tmp_path):
    with pytest.raises(BoundaryReadError, match="có '..' trong đường dẫn"):
        check_zip(_zip({"ok.shp": b"x", "../evil.shp": b"x"}), "x.zip")


@pytest.mark.parametrize("data, name, fragment", [
    (b"{\"type\": \"FeatureCollection\", \"features\": [", "hong.geojson", "không đọc được tệp ranh giới"),
    (b"SQLite format 3\x00garbage", "hong.gpkg", "không đọc được tệp ranh giới"),
    (b"x", "ranh_gioi.shp", "hãy nén tệp .shp"),
    (b"x", "ranh_gioi.kml", "định dạng '.kml' không được hỗ trợ"),
])
def test_malformed_boundary_files_give_a_message(data, name, fragment):
    b = prepare_boundaries(data, name, "20")
    assert not b.ok and any(fragment in p.message for p in b.report.errors)


def test_points_are_not_boundaries():
    d = legacy_units("20").query("level == 'district'")
    gdf = gpd.GeoDataFrame({"TEN": d["name"]}, geometry=gpd.points_from_xy(d["lon"], d["lat"]), crs="EPSG:4326")
    b = prepare_boundaries(gdf.to_json().encode(), "diem.geojson", "20")
    assert not b.ok and "không phải vùng (polygon)" in b.report.errors[0].message


def test_commune_file_builds_districts_and_province():
    from povdata.dataset import demo_dir
    from geo.read import read_layers
    com = read_layers(demo_dir("20") / "boundaries.gpkg")["commune"]
    names = legacy_units("20").set_index("code")["name"]
    gdf = gpd.GeoDataFrame({"TEN_XA": com["code"].map(names)}, geometry=com.geometry, crs="EPSG:4326")
    # without a district field, the two communes named 'Xã Mẫu Sơn' (same registry point) are ambiguous
    b = prepare_boundaries(gdf.to_json().encode(), "xa.geojson", "20")
    errs = b.report.errors
    assert errs and all("trùng tên" in e.message for e in errs)
    assert any("'Xã Mẫu Sơn'" in e.message for e in errs)
    gdf["HUYEN"] = com["district_code"].map(names).str.replace("Huyện ", "")
    b = prepare_boundaries(gdf.to_json().encode(), "xa.geojson", "20")
    assert b.ok and b.level == "commune" and b.matches["code"].notna().all()
    layers = build_layers(b.gdf, b.matches, "20", "legacy", b.level)
    assert len(layers["commune"]) == 194 and sorted(layers["district"]["code"]) == DISTRICTS
    assert layers["commune"]["district_code"].notna().all()


def test_post_2025_commune_file():
    from povdata.dataset import demo_dir
    from povdata.units import units_2025
    from geo.read import read_layers
    new = read_layers(demo_dir("20") / "boundaries.gpkg")["commune_2025"]
    names = units_2025("20").set_index("code")["name"]
    gdf = gpd.GeoDataFrame({"TEN": new["code"].map(names)}, geometry=new.geometry, crs="EPSG:4326")
    b = prepare_boundaries(gdf.to_json().encode(), "xa_moi.geojson", "20", era="2025")
    assert b.ok and b.level == "commune" and sorted(b.matches["code"]) == sorted(new["code"])
    layers = build_layers(b.gdf, b.matches, "20", "2025", b.level)
    assert sorted(layers) == ["commune_2025", "province"] and len(layers["commune_2025"]) == len(new)


def test_a_geojson_too_large_to_read_safely_is_refused_before_gdal(tmp_path, monkeypatch):
    import geo.ingest.vector as gv
    from geo.importing import prepare_boundaries

    monkeypatch.setattr(gv, "MAX_GEOJSON_BYTES", 1_000)  # the limit as the reader sees it
    data = ('{"type": "FeatureCollection", "features": [' + ", ".join(
        '{"type": "Feature", "properties": {"ten": "Huyện %d"}, "geometry": {"type": "Point", "coordinates": [106.5, 21.8]}}'
        % i for i in range(30)) + "]}").encode()
    imp = prepare_boundaries(data, "huyen.geojson", "20")
    assert not imp.ok
    err = imp.report.errors[0]
    assert err.file == "huyen.geojson" and str(err).startswith("Tệp huyen.geojson")
    assert err.message.startswith("GeoJSON") and "quá giới hạn" in err.message and "GeoPackage" in err.message
