"""Any province, any level: district rate tables and boundary files of provinces other
than the demo's, end to end (CLI import, then the pages in AppTest).  The files are built
by :mod:`real_like`, which says which published file each one imitates."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

import real_like
from app_helpers import banner_text, run_app
from povdata.cli import main
from povdata.dataset import level_table
from povdata.importer import prepare_indicators
from povdata.provinces import former_provinces, new_provinces, resolve_view, successor
from povdata.store import load_version, open_store, versions

APP = str(Path(__file__).resolve().parents[1] / "dashboard.py")


def _app(monkeypatch, data_dir: Path, page: str | None = None, **query: str) -> AppTest:
    monkeypatch.setenv("POVDASH_DATA_DIR", str(data_dir))
    return run_app(page, **query)


def _charts(at: AppTest) -> list[dict]:
    return [json.loads(e.proto.spec) for e in at.get("plotly_chart")]


def _values(v) -> list:
    """A plotly array as Python values (plotly 6 sends numbers as typed base64 arrays)."""
    if isinstance(v, dict) and "bdata" in v:
        import base64

        import numpy as np
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"]).tolist()
    return list(v)


def _bars(at: AppTest) -> dict[str, float]:
    """Unit name → value of the ranking bar charts on the page."""
    out = {}
    for spec in _charts(at):
        for tr in spec["data"]:
            if tr.get("type") == "bar" and tr.get("orientation") == "h":
                out.update(dict(zip(_values(tr["y"]), _values(tr["x"]))))
    return out


def _import(tmp_path: Path, monkeypatch, province: str, files: dict[str, bytes], *extra: str) -> int:
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path / "var"))
    args = ["import", "--province", province, "--data-dir", str(tmp_path / "var")]
    for flag, (name, data) in files.items():
        p = tmp_path / name
        p.write_bytes(data)
        args += [flag, str(p)]
    return main(args + list(extra))


# ---- provinces ------------------------------------------------------------------
def test_34_provinces_in_force_and_their_former_provinces():
    assert len(new_provinces()) == 34
    assert former_provinces("19") == ["06", "19"] and successor("06") == "19"
    assert former_provinces("24") == ["24", "27"]  # 24 is Bắc Giang before the merger, the new Bắc Ninh after
    assert former_provinces("20") == ["20"]
    assert sum(len(former_provinces(c)) for c in new_provinces()["code"]) == 63
    assert resolve_view("06") == resolve_view("19", "06")
    assert resolve_view("20").former is None and resolve_view("99").code == "20"
    assert resolve_view("19", "20").former is None  # not one of its former provinces


@pytest.mark.parametrize("province, name", [("04", "Tỉnh Cao Bằng"), ("19", "Tỉnh Thái Nguyên"),
                                            ("24", "Tỉnh Bắc Ninh"), ("06", "Tỉnh Bắc Kạn")])
@pytest.mark.parametrize("page", ["pages/overview.py", "pages/map.py", "pages/progress.py", "pages/whatif.py"])
def test_a_province_without_data_says_so_on_every_page(monkeypatch, tmp_path, province, name, page):
    at = _app(monkeypatch, tmp_path / "var", page, province=province)
    assert at.title[0].value == name
    assert "Chưa có số liệu của " + name in at.info[0].value and "Nhập số liệu" in at.info[0].value
    assert not _charts(at)


def test_targets_page_of_a_province_without_a_file_shows_the_national_programme(monkeypatch, tmp_path):
    at = _app(monkeypatch, tmp_path / "var", "pages/targets.py", province="04")
    assert "Chương trình mục tiêu quốc gia" in at.info[0].value
    assert any("QĐ 90/QĐ-TTg" in str(df.value.to_dict()) for df in at.dataframe)


# ---- a district rate table of a former province (Bắc Kạn, now in Thái Nguyên) ---------
def test_bac_kan_district_rate_table_imports_under_thai_nguyen(tmp_path, monkeypatch, capsys):
    rc = _import(tmp_path, monkeypatch, "06", {"--indicators": ("bac_kan_2023.xlsx", real_like.bac_kan_table()),
                                               "--boundaries": ("bac_can.geojson", real_like.gadm_geojson("06"))})
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "nay thuộc tỉnh 19" in out
    store = open_store(tmp_path / "var")
    assert versions(store, "06") == versions(store, "19") and len(versions(store, "19")) == 1
    ds = load_version(store, "19")
    # 8 districts and the province's own published figure ('Toàn tỉnh'), rates only
    assert sorted(ds.indicators["unit_code"]) == sorted(["06", "058", "060", "061", "062", "063", "064", "065", "066"])
    assert ds.indicators["households_total"].isna().all()
    lv = level_table(ds, "06").set_index("unit_code")
    assert lv.at["060", "poverty_rate"] == pytest.approx(35.20)
    assert lv.at["06", "poverty_rate"] == pytest.approx(18.74) and lv.at["06", "figure_from"] == "own"
    # the province in force: Thái Nguyên's part is missing, so no figure for the whole province
    whole = level_table(ds)
    assert whole.loc[(whole["level"] == "province"), "poverty_rate"].isna().all()
    assert lv.at["060", "name"] == "Huyện Pác Nặm"

    at = _app(monkeypatch, tmp_path / "var", "pages/map.py", province="19", former="06")
    assert at.title[0].value == "Bản đồ"
    bars = _bars(at)
    assert bars["Huyện Pác Nặm"] == pytest.approx(35.20) and len(bars) == 8
    maps = [s for s in _charts(at) if any(t.get("type", "").startswith("choropleth") for t in s["data"])]
    drawn = sorted(c for s in maps for t in s["data"] for c in _values(t.get("locations") or []))
    assert drawn == sorted(real_like.GADM_NAMES["06"])
    # drilling into a district without commune figures says so, and shows the district's own figure
    at.query_params["unit"] = "060"
    at.run()
    assert not at.exception
    assert any("Chưa có số liệu cấp xã của Huyện Pác Nặm" in i.value for i in at.info)
    assert any(m.label == "Tỷ lệ hộ nghèo" and m.value == "35,20%" for m in at.metric)


def test_misspelt_gadm_names_are_held_for_review(tmp_path, monkeypatch):
    from geo.importing import prepare_boundaries

    b = prepare_boundaries(real_like.gadm_geojson("06"), "bac_can.geojson", "19")
    assert b.ok, [str(p) for p in b.report.errors]
    m = b.matches.set_index("input_name")
    assert m.at["Chợ Ðồn", "code"] == "064" and m.at["Chợ Ðồn", "method"] == "similar"
    assert m.at["Ngân Son", "method"] == "similar" and m.at["Ngân Son", "score"] < 1
    assert m.at["Pác Nặm", "method"] == "name" and m.at["Pác Nặm", "score"] == 1.0


def test_one_year_under_two_standards_is_kept_as_two_series(tmp_path):
    csv = ("Mã đơn vị;Tên;Năm;Chuẩn nghèo;Tỷ lệ hộ nghèo (%)\n"
           "20;Tỉnh Lạng Sơn;2020;2016-2020;7,88\n"
           "20;Tỉnh Lạng Sơn;2021;2016-2020;5,98\n"
           "20;Tỉnh Lạng Sơn;2021;Chuẩn nghèo 2022-2025;12,20\n").encode()
    imp = prepare_indicators(csv, "hai_chuan.csv", "20")
    assert imp.ok, [str(p) for p in imp.report.problems]
    ind = imp.indicators.sort_values(["year", "standard"])
    assert ind[["year", "standard"]].values.tolist() == [[2020, "2016-2020"], [2021, "2016-2020"],
                                                         [2021, "2021-2025"]]
    dup = csv + "20;Tỉnh Lạng Sơn;2021;2016-2020;6,00\n".encode()
    bad = prepare_indicators(dup, "trung.csv", "20")
    assert not bad.ok and any("xuất hiện nhiều lần" in p.message for p in bad.report.errors)
    from povdata.store import import_version
    store = open_store(tmp_path)
    import_version(store, "20", indicators=imp.indicators, source_file="hai_chuan.csv", created_by="test")
    ds = load_version(store, "20")
    lv = level_table(ds)
    prov = lv[(lv["unit_code"] == "20") & (lv["year"] == 2021)].set_index("standard")["poverty_rate"]
    assert prov.to_dict() == pytest.approx({"2016-2020": 5.98, "2021-2025": 12.20})


# ---- Bắc Giang within Bắc Ninh: a district abolished on 2025-01-01 ----------------
def test_bac_giang_table_with_a_former_district_imports_the_other_rows(tmp_path, monkeypatch, capsys):
    table = real_like.district_rate_table("tỉnh Bắc Giang", 2023, real_like.BAC_GIANG_2023)
    imp = prepare_indicators(table, "bac_giang_2023.xlsx", "24")
    assert imp.ok, [str(p) for p in imp.report.errors]
    warn = [p for p in imp.report.problems if p.severity == "warning" and "Yên Dũng" in p.message]
    assert len(warn) == 1 and warn[0].row == 15
    assert "không còn từ 01/01/2025" in warn[0].message and "Thành phố Bắc Giang (213)" in warn[0].message
    assert sorted(imp.indicators["unit_code"]) == ["213", "215", "216", "217", "218", "219", "220", "222", "223"]
    # hand-mapped on the review step: then it is imported (the user's choice, never automatic)
    mapped = prepare_indicators(table, "bac_giang_2023.xlsx", "24", overrides={15: "213"})
    assert not mapped.ok  # now TP Bắc Giang appears twice in 2023: refused, with the rows named
    rc = _import(tmp_path, monkeypatch, "24", {
        "--indicators": ("bac_giang_2023.xlsx", table),
        "--boundaries": ("bac_giang.geojson", real_like.gadm_geojson("24", split_off=("213", "Yên Dung")))})
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Huyện Yên Dũng không còn từ 01/01/2025" in out
    at = _app(monkeypatch, tmp_path / "var", "pages/map.py", province="24", former="24")
    bars = _bars(at)
    assert bars["Huyện Sơn Động"] == pytest.approx(14.36) and "Huyện Yên Dũng" not in bars


# ---- Cao Bằng: a VN-2000 shapefile from before the 2020 mergers ---------------------
def test_cao_bang_vn2000_shapefile_with_pre_2020_districts(tmp_path, monkeypatch, capsys):
    shp = real_like.vn2000_shapefile_zip("04", tmp_path, 9210)
    table = real_like.district_rate_table("tỉnh Cao Bằng", 2023, real_like.CAO_BANG_2023)
    rc = _import(tmp_path, monkeypatch, "04", {"--indicators": ("cao_bang_2023.xlsx", table),
                                               "--boundaries": ("ranh_gioi_huyen.zip", shp)})
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Huyện Thông Nông không còn từ 01/02/2020" in out and "EPSG:9210" in out
    from povdata.store import load_layers
    store = open_store(tmp_path / "var")
    layers = load_layers(store, versions(store, "04")[0].id)
    assert sorted(layers["district"]["code"]) == sorted(c for c, _ in [
        ("040", 0), ("042", 0), ("043", 0), ("045", 0), ("047", 0), ("048", 0), ("049", 0), ("051", 0), ("052", 0),
        ("053", 0)])
    at = _app(monkeypatch, tmp_path / "var", "pages/overview.py", province="04")
    assert at.title[0].value.endswith("Tỉnh Cao Bằng")
    assert _bars(at)["Huyện Bảo Lạc"] == pytest.approx(40.06)


def test_cli_progress_reads_the_store_of_any_province(tmp_path, monkeypatch, capsys):
    rc = _import(tmp_path, monkeypatch, "06", {"--indicators": ("bac_kan_2023.xlsx", real_like.bac_kan_table())})
    assert rc == 0
    for year, rows in ((2022, [(n, str(float(r.replace(",", ".")) + 3).replace(".", ","), x)
                                for n, r, x in real_like.BAC_KAN_2023]),):
        p = tmp_path / f"bk_{year}.xlsx"
        p.write_bytes(real_like.district_rate_table("tỉnh Bắc Kạn", year, rows, ("Toàn tỉnh", "21,74", "8,0")))
        assert main(["import", "--province", "06", "--indicators", str(p), "--data-dir", str(tmp_path / "var")]) == 0
    capsys.readouterr()
    assert main(["progress", "--province", "06", "--format", "json"]) == 0
    rows = pd.DataFrame(json.loads(capsys.readouterr().out))
    prov = rows[(rows["unit_code"] == "06") & (rows["period_id"] == "2021-2025")].iloc[0]
    assert prov["data_status"] == "imported" and prov["target_id"] == "national_province_1pp"
    # baseline 2021 missing: no verdict is made up
    assert prov["status"] == "no_data"
    dist = rows[(rows["unit_code"] == "060") & (rows["period_id"] == "2021-2025")]
    assert len(dist) and dist["level"].iloc[0] == "district"


def test_a_hand_made_match_is_remembered_for_the_next_import(tmp_path, monkeypatch, capsys):
    rows = [("Huyện Quảng Hòa (mới)" if n == "Huyện Quảng Hòa" else n, r, x) for n, r, x in real_like.CAO_BANG_2023]
    table = real_like.district_rate_table("tỉnh Cao Bằng", 2023, rows)
    files = {"--indicators": ("cao_bang_2023.xlsx", table)}
    assert _import(tmp_path, monkeypatch, "04", files) == 1  # no such unit: refused
    assert "không tìm thấy đơn vị 'Huyện Quảng Hòa (mới)'" in capsys.readouterr().out
    assert _import(tmp_path, monkeypatch, "04", files, "--match", "14=049") == 0
    capsys.readouterr()
    rows24 = [(n, r, x) for n, r, x in rows]
    table24 = real_like.district_rate_table("tỉnh Cao Bằng", 2024, rows24)
    assert _import(tmp_path, monkeypatch, "04", {"--indicators": ("cao_bang_2024.xlsx", table24)}) == 0
    out = capsys.readouterr().out
    assert "Huyện Quảng Hòa (mới) | Huyện Quảng Hòa (049) | remembered" in out
    ds = load_version(open_store(tmp_path / "var"), "04")
    assert sorted(ds.indicators.loc[ds.indicators["unit_code"] == "049", "year"]) == [2023, 2024]


# ---- a national table: the statistical yearbook's rate by province ---------------------
def test_yearbook_table_matches_provinces_regions_and_country(tmp_path, monkeypatch, capsys):
    from povdata.national import comparison
    from povdata.regions import PROVINCE_REGION

    assert len(PROVINCE_REGION) == 63
    imp = prepare_indicators(real_like.yearbook_table(), "nien_giam_2023.xlsx", "00")
    assert imp.ok, [str(p) for p in imp.report.errors]
    m = imp.matches.set_index("input_name")
    # 'Lạng Sơn' is the province (20), never its capital city (178) or a commune
    assert m.at["Lạng Sơn", "code"] == "20" and m.at["Lạng Sơn", "level"] == "province"
    assert m.at["CẢ NƯỚC", "code"] == "00"
    assert m.loc["Trung du và miền núi phía Bắc", "code"] == "V2"
    assert (m["level"] == "province").sum() == 63 and (m["level"] == "region").sum() == 6
    ind = imp.indicators
    assert sorted(ind["year"].unique()) == [2016, 2018, 2020, 2022, 2023]  # 'Sơ bộ 2023' is 2023
    ls = ind[ind["unit_code"] == "20"].set_index("year")["poverty_rate_published"]
    assert ls[2020] == pytest.approx(7.88) and ls[2023] == pytest.approx(6.71)
    assert set(ind.loc[ind["year"] == 2016, "standard"]) == {"2016-2020"}
    assert set(ind.loc[ind["year"] == 2023, "standard"]) == {"2021-2025"}
    # stored under the whole country, then compared with the region and the country
    rc = _import(tmp_path, monkeypatch, "00", {"--indicators": ("nien_giam_2023.xlsx", real_like.yearbook_table())})
    assert rc == 0, capsys.readouterr()
    ds = load_version(open_store(tmp_path / "var"), "00")
    cmp_ = comparison(ds.indicators, ["20"]).set_index("year")
    assert cmp_.at[2020, "rate"] == pytest.approx(7.88) and cmp_.at[2020, "national_rate"] == pytest.approx(4.8)
    assert cmp_.at[2020, "region"] == "Trung du và miền núi phía Bắc"
    assert cmp_.at[2020, "gap_national"] == pytest.approx(7.88 - 4.8)
    assert cmp_.at[2016, "of"] == 63 and 1 <= cmp_.at[2016, "rank"] <= 63
    at = _app(monkeypatch, tmp_path / "var", None, province="20")
    assert any("So sánh với vùng và cả nước" in e.label for e in at.expander)


# ---- targets for a province without a file ------------------------------------------
def test_an_editor_adds_the_provinces_own_rule_over_the_national_template(tmp_path, monkeypatch):
    from auth_helpers import make_user, signed_in
    from povdata.edits import EditError, add_target_rule, effective_targets
    from povdata.targets import default_targets

    editor = make_user(tmp_path / "var", "editor", province_code="04")
    store = open_store(tmp_path / "var")
    base = default_targets("04")
    assert {t.status for p in base.periods for t in p.targets} == {"national"}
    with pytest.raises(EditError, match="hãy ghi nguồn"):
        add_target_rule(store, base, period_id="2021-2025", scope="province", rule="annual_reduction_at_least",
                        value=3.0, source="NQ", user=editor)
    tid = add_target_rule(store, base, period_id="2021-2025", scope="province", rule="annual_reduction_at_least",
                          value=3.0, source="Nghị quyết số 01-NQ/TU ngày 01/12/2020 của Tỉnh ủy Cao Bằng",
                          user=editor)
    cfg = effective_targets(store, base)
    first = cfg.period("2021-2025").targets[0]
    assert (first.id, first.value, first.status) == (tid, 3.0, "reported")
    from povdata.audit import entries
    assert any(tid in r["summary"] for r in entries(store, action="target_change").to_dict("records"))
    # a viewer cannot
    viewer = make_user(tmp_path / "var", "viewer")
    from povdata.auth import PermissionDenied
    with pytest.raises(PermissionDenied):
        add_target_rule(store, base, period_id="2021-2025", scope="province", rule="annual_reduction_at_least",
                        value=2.0, source="Nghị quyết số 02-NQ/TU ngày 01/12/2020", user=viewer)
    # the targets page shows it to everyone, the national one beside it
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path / "var"))
    at = AppTest.from_file(APP, default_timeout=120)
    signed_in(at, editor)
    at.run()
    at.switch_page("pages/targets.py").run()
    assert not at.exception
    shown = pd.concat([d.value for d in at.dataframe if hasattr(d.value, "columns")])
    assert tid in set(shown.iloc[:, 0]) and "national_province_1pp" in set(shown.iloc[:, 0])
    assert any(e.label == "Thêm mục tiêu theo nghị quyết của tỉnh" for e in at.expander)


# ---- every page, every shape of data ------------------------------------------------
PAGES = ["pages/overview.py", "pages/map.py", "pages/progress.py", "pages/whatif.py", "pages/targets.py"]


@pytest.fixture(scope="module")
def district_only_store(tmp_path_factory):
    """A store with Bắc Kạn's district rate tables for 2021-2023 (no counts, no communes) and
    GADM-style district boundaries, and Cao Bằng's 2023 table without boundaries."""
    from povdata.importer import save_import
    from geo.importing import prepare_boundaries

    d = tmp_path_factory.mktemp("district-only")
    store = open_store(d)
    for year, shift in real_like.BAC_KAN_SHIFTS:
        imp = prepare_indicators(real_like.bac_kan_series_table(year, shift), f"bk_{year}.xlsx", "19")
        bnd = prepare_boundaries(real_like.gadm_geojson("06"), "bac_can.geojson", "19") if year == 2023 else None
        save_import(store, "19", imp, bnd, created_by="test")
    cb = prepare_indicators(real_like.district_rate_table("tỉnh Cao Bằng", 2023, real_like.CAO_BANG_2023),
                            "cb.xlsx", "04")
    save_import(store, "04", cb, created_by="test")
    return d


@pytest.mark.parametrize("query", [{"province": "19"}, {"province": "19", "former": "06"},
                                   {"province": "19", "former": "19"}, {"province": "04"},
                                   {"province": "19", "former": "06", "unit": "060"},
                                   {"province": "19", "former": "06", "unit": "060", "year": "2021"}])
@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_for_district_only_and_partial_data(district_only_store, monkeypatch, page, query):
    at = _app(monkeypatch, district_only_store, page, **query)
    texts = " ".join(str(e.value) for e in list(at.markdown) + list(at.caption) + list(at.info))
    assert "Traceback" not in texts and "None" not in [m.value for m in at.metric]


def test_district_only_verdicts_name_their_period(district_only_store, monkeypatch):
    at = _app(monkeypatch, district_only_store, "pages/progress.py", province="19", former="06")
    assert any("2021-2025" in s.value for s in at.subheader)
    status = next(m for m in at.metric if m.label == "Tình trạng")
    # 24,74 → 18,74 over 2 years = 3 pp/yr against the national 1-1,5 pp/yr (Bắc Kạn's own targets
    # file, data/targets/former-06.toml, holds it as the range it is)
    assert status.value == "Vượt chỉ tiêu"
    assert any("giảm 1–1,5 điểm %/năm" in s.value and "mục tiêu quốc gia" in s.value for s in at.subheader)


# ---- Lạng Sơn, the demo's province, from a district rate table and the real GADM file ---
LANG_SON_2024 = [("TP Lạng Sơn", "0,35", "0,9"), ("huyện Tràng Định", "5,12", "6,0"), ("huyện Bình Gia", "9,84", "8,1"),
                 ("huyện Văn Lãng", "4,02", "5,5"), ("huyện Cao Lộc", "2,61", "4,4"), ("huyện Văn Quan", "6,77", "7,0"),
                 ("huyện Bắc Sơn", "3,93", "5,0"), ("huyện Hữu Lũng", "2,48", "4,2"), ("huyện Chi Lăng", "3,15", "4,9"),
                 ("huyện Lộc Bình", "4,40", "5,8"), ("huyện Đình Lập", "7,95", "7,7")]


def test_lang_son_district_table_on_the_real_gadm_file_replaces_the_demo(tmp_path, monkeypatch, capsys):
    from import_fixtures import GADM_JSON
    if not GADM_JSON.exists():
        pytest.skip(f"shared boundary fixture {GADM_JSON} not found")
    table = real_like.district_rate_table("tỉnh Lạng Sơn", 2024, LANG_SON_2024, ("Toàn tỉnh", "3,36", "5,1"))
    rc = _import(tmp_path, monkeypatch, "20", {"--indicators": ("lang_son_2024.xlsx", table),
                                               "--boundaries": ("lang_son_gadm.geojson", GADM_JSON.read_bytes())})
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "Năm 2024: 1 / 1 tỉnh; 11 / 11 huyện." in out
    at = _app(monkeypatch, tmp_path / "var", None, province="20")
    assert "Số liệu minh họa" not in banner_text(at) and "Số liệu nhập" in banner_text(at)  # never mixed with the demo
    kpi = next(m for m in at.metric if m.label == "Tỷ lệ hộ nghèo")
    assert kpi.value == "3,36%"  # the province's own published figure
    assert _bars(at)["Huyện Bình Gia"] == pytest.approx(9.84)


# ---- range targets -----------------------------------------------------------------
@pytest.mark.parametrize("rates, status", [
    ({2021: 4.45, 2022: 3.29}, "exceeded"),   # Lạng Giang: 1,16 pp/yr against 0,5-1 (published, seeds/004)
    ({2021: 4.45, 2022: 3.65}, "on_track"),   # 0,8 pp/yr: within the range
    ({2021: 4.45, 2022: 4.15}, "at_risk"),    # 0,3: below the low bound, within the 0,25 margin
    ({2021: 4.45, 2022: 4.40}, "off_track"),  # 0,05
])
def test_a_range_target_is_one_rule_with_two_bounds(rates, status):
    from povdata.progress import rate_progress
    from povdata.targets import default_targets, rule_text

    cfg = default_targets("24", "24")
    period = cfg.period("2021-2025")
    target = period.targets[0]
    assert (target.unit_code, target.value, target.value_high) == ("217", 0.5, 1.0)
    assert rule_text(target) == "giảm 0,5–1 điểm %/năm" and rule_text(target, "en") == "a 0.5–1 pp/yr reduction"
    series = pd.DataFrame({"year": list(rates), "standard": "2021-2025", "poverty_rate": list(rates.values())})
    assert rate_progress(series, period, target, margin=cfg.at_risk_margin_pp)["status"] == status


def test_bac_kan_2020_range_targets_are_data():
    from povdata.targets import default_targets, rule_text

    cfg = default_targets("19", "06")
    p = cfg.period("2020")
    assert [(t.scope, t.value, t.value_high) for t in p.targets] == [("province", 2.0, 2.5),
                                                                   ("poor_districts", 3.5, 4.0)]
    assert rule_text(p.targets[1]) == "giảm 3,5–4 điểm %/năm"
    from povdata.targets import TargetsError, parse_targets
    with pytest.raises(TargetsError, match="value_high"):
        parse_targets({"province_code": "06", "period": [{"id": "x", "start": 2020, "end": 2020, "baseline_year": 2019,
                       "standard": "2016-2020", "target": [{"id": "t", "scope": "province", "value": 2.5,
                                                            "value_high": 2.0, "rule": "annual_reduction_between"}]}]})
