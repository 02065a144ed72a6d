"""Test files that look like what others publish, for provinces other than the demo's.

Each builder says which real file it imitates.  The figures in them are made up for the
tests (they are not any province's review results); the layout, the spelling habits and
the mistakes are the real files'.  Deterministic and small, built at test time.

* District rate tables typed by provincial staff: a title block (UBND tỉnh …, the table's
  title with "năm 2023"), a header row "STT | Đơn vị | Tỷ lệ hộ nghèo (%) | Tỷ lệ hộ cận
  nghèo (%)", district names only with lower-case type prefixes ("huyện Pác Nặm", "tp Bắc
  Kạn"), rates as text with decimal commas, a "Toàn tỉnh" row, no household counts — the
  layout of the annexes of provincial reports on the year-end review (e.g. Bắc Kạn's
  Báo cáo kết quả rà soát hộ nghèo, hộ cận nghèo; seeds/002 quotes such figures).
* GADM-style district boundaries: the attribute table of GADM 2.x level 3 for Vietnam as
  redistributed by the public repositories hungryzi/VNM_adm and kcjpop/vietnam-topojson
  (``legacy/adm3/units/<province>.geojson``: ID_0, ISO, NAME_0, NAME_1 = region, NAME_2 =
  province, NAME_3 = district without its type, VARNAME_3, TYPE_3, ENGTYPE_3), with that
  file's real misspellings ('Chợ Ðồn' with U+00D0, 'Ngân Son', 'Na Ri', 'Bac Kan' typed
  'Thị xã'; Bắc Giang's 'Son Ðộng', and 'Yên Dung', a district abolished on 2025-01-01).
  The real files were read in a development session; here the polygons are the product's
  approximate district cells (``geo.approx``) so that the fixture needs no download.
* A VN-2000 shapefile from a provincial GIS: projected VN-2000 / TM-3 coordinates, field
  names MAHUYEN/TENHUYEN, a DBF in Windows-1258 and no .cpg (as exported by MapInfo or
  older ArcGIS at a department of natural resources).
"""
from __future__ import annotations

import io
import json
from functools import lru_cache
from pathlib import Path

import geopandas as gpd

from povdata.units import legacy_units

# (name as typed, poverty rate %, near-poor rate %) — invented figures
BAC_KAN_2023 = [
    ("tp Bắc Kạn", "1,85", "2,10"), ("huyện Pác Nặm", "35,20", "9,88"), ("huyện Ba Bể", "24,41", "8,02"),
    ("huyện Ngân Sơn", "27,15", "10,1"), ("huyện Bạch Thông", "17,60", "7,5"), ("huyện Chợ Đồn", "16,30", "8,2"),
    ("huyện Chợ Mới", "15,02", "6,9"), ("huyện Na Rì", "22,73", "9,4"),
]
BAC_KAN_2023_PROVINCE = ("Toàn tỉnh", "18,74", "7,98")

CAO_BANG_2023 = [
    ("Thành phố Cao Bằng", "0,92", "1,5"), ("Huyện Bảo Lâm", "38,12", "11,2"), ("Huyện Bảo Lạc", "40,06", "10,4"),
    ("Huyện Hà Quảng", "30,55", "9,7"), ("Huyện Trùng Khánh", "21,40", "8,8"), ("Huyện Hạ Lang", "28,31", "9,1"),
    ("Huyện Quảng Hòa", "18,77", "7,6"), ("Huyện Hòa An", "12,09", "6,4"), ("Huyện Nguyên Bình", "29,84", "9,9"),
    ("Huyện Thạch An", "24,63", "8,7"),
]

# Bắc Giang, 2023: still lists Yên Dũng, which was merged into TP Bắc Giang on 2025-01-01
BAC_GIANG_2023 = [
    ("TP. Bắc Giang", "0,61", "1,2"), ("H. Yên Thế", "3,85", "4,1"), ("H. Tân Yên", "2,10", "3,3"),
    ("H. Lạng Giang", "1,92", "3,0"), ("H. Lục Nam", "4,27", "5,2"), ("H. Lục Ngạn", "5,11", "6,0"),
    ("H. Sơn Động", "14,36", "9,8"), ("H. Yên Dũng", "1,74", "2,9"), ("TX. Việt Yên", "1,05", "2,2"),
    ("H. Hiệp Hòa", "1,66", "2,6"),
]


def district_rate_table(province_title: str, year: int, rows, total=None) -> bytes:
    """A staff-typed workbook of district rates (see the module text)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Bieu 01"
    ws["A1"] = f"UBND {province_title.upper()}"
    ws["A2"] = "BAN CHỈ ĐẠO CÁC CHƯƠNG TRÌNH MỤC TIÊU QUỐC GIA"
    ws["A4"] = f"TỶ LỆ HỘ NGHÈO, HỘ CẬN NGHÈO THEO CHUẨN NGHÈO ĐA CHIỀU GIAI ĐOẠN 2022-2025 NĂM {year}"
    ws["A5"] = "(Kèm theo Báo cáo số     /BC-BCĐ)"
    ws.merge_cells("A4:D4")
    for j, v in enumerate(["STT", "Đơn vị", "Tỷ lệ hộ nghèo (%)", "Tỷ lệ hộ cận nghèo (%)"], start=1):
        ws.cell(7, j, v)
    r = 8
    for i, (name, rate, near) in enumerate(rows, start=1):
        for j, v in enumerate([i, name, rate, near], start=1):
            ws.cell(r, j, v)
        r += 1
    if total is not None:
        for j, v in enumerate([None, *total], start=1):
            ws.cell(r, j, v)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def bac_kan_table(year: int = 2023, with_total: bool = True) -> bytes:
    return district_rate_table("tỉnh Bắc Kạn", year, BAC_KAN_2023, BAC_KAN_2023_PROVINCE if with_total else None)


#: the years of the Bắc Kạn series and how much higher each year's rates are than 2023's
BAC_KAN_SHIFTS = ((2021, 6.0), (2022, 3.0), (2023, 0.0))


def bac_kan_series_table(year: int, shift: float) -> bytes:
    """Bắc Kạn's district rate table of ``year``: the 2023 rates plus ``shift`` points (a
    made-up falling series, for verdicts over a period), with its "Toàn tỉnh" row."""
    rows = [(n, f"{float(r.replace(',', '.')) + shift:.2f}".replace(".", ","), x) for n, r, x in BAC_KAN_2023]
    return district_rate_table("tỉnh Bắc Kạn", year, rows, ("Toàn tỉnh", f"{18.74 + shift:.2f}", "8,0"))


@lru_cache(maxsize=None)
def _district_cells(province_code: str) -> gpd.GeoDataFrame:
    from geo.approx import build_approx_boundaries
    from povdata.units import legacy_communes

    return build_approx_boundaries(legacy_communes(province_code))["district"]


# GADM's own spelling of each district (NAME_3, VARNAME_3, TYPE_3), from the real files
GADM_NAMES = {
    "06": {"058": ("Bac Kan", "Bac Kan", "Thị xã"), "060": ("Pác Nặm", "Pac Nam", "Huyện"),
           "061": ("Ba Bể", "Ba Be", "Huyện"), "062": ("Ngân Son", "Ngan Son", "Huyện"),
           "063": ("Bạch Thông", "Bach Thong", "Huyện"), "064": ("Chợ Ðồn", "Cho Don", "Huyện"),
           "065": ("Chợ Mới", "Cho Moi", "Huyện"), "066": ("Na Ri", None, "Huyện")},
    "24": {"213": ("Bắc Giang", "Bac Giang", "Thành phố"), "215": ("Yên Thế", "Yen The", "Huyện"),
           "216": ("Tân Yên", "Tan Yen", "Huyện"), "217": ("Lạng Giang", "Lang Giang", "Huyện"),
           "218": ("Lục Nam", "Luc Nam", "Huyện"), "219": ("Lục Ngạn", "Luc Ngan", "Huyện"),
           "220": ("Son Ðộng", "Son Dong", "Huyện"), "222": ("Việt Yên", "Viet Yen", "Huyện"),
           "223": ("Hiệp Hòa", "Hiep Hoa", "Huyện")},
}
GADM_PROVINCE = {"06": "Bắc Kạn", "24": "Bắc Giang", "04": "Cao Bằng"}


def gadm_geojson(province_code: str, split_off: tuple[str, str] | None = None) -> bytes:
    """A GADM-style GeoJSON of a former province's districts (see the module text).
    ``split_off = (code, name)``: cut the western half off that district's cell and give it
    the name of the district it absorbed (Bắc Giang's 'Yên Dung' inside TP Bắc Giang)."""
    import shapely

    cells = _district_cells(province_code)
    names = GADM_NAMES[province_code]
    feats = []
    for k, row in enumerate(cells.sort_values("code").itertuples(), start=1):
        if row.code not in names:
            continue
        geom = row.geometry
        parts = [(names[row.code], geom)]
        if split_off and row.code == split_off[0]:
            x0, y0, x1, y1 = geom.bounds
            west = shapely.intersection(geom, shapely.box(x0, y0, (x0 + x1) / 2, y1))
            parts = [(names[row.code], shapely.difference(geom, west)), ((split_off[1], None, "Huyện"), west)]
        for (n3, var, typ), g in parts:
            feats.append({"type": "Feature", "properties": {
                "ID_0": 247, "ISO": "VNM", "NAME_0": "Vietnam", "ID_1": 3, "NAME_1": "Miền Bắc", "ID_2": 26,
                "NAME_2": GADM_PROVINCE[province_code], "ID_3": 240 + len(feats), "NAME_3": n3, "NL_NAME_3": None,
                "VARNAME_3": var, "TYPE_3": typ, "ENGTYPE_3": "District"},
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-5)))})
    return json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False).encode("utf-8")


def vn2000_shapefile_zip(province_code: str, tmp: Path, epsg: int) -> bytes:
    """A provincial-GIS district shapefile: VN-2000 / TM-3 (``epsg``), MAHUYEN/TENHUYEN, a
    Windows-1258 DBF and no .cpg; Cao Bằng's pre-2020 districts Thông Nông and Trà Lĩnh
    are still separate polygons (cut from their successors' cells)."""
    import shapely

    from import_fixtures import shapefile_zip
    from povdata.vnenc import encode_text

    cells = _district_cells(province_code).sort_values("code").reset_index(drop=True)
    names = legacy_units(province_code).set_index("code")["name"]
    rows = []
    for row in cells.itertuples():
        rows.append((row.code, names[row.code], row.geometry))
    if province_code == "04":  # the old districts, as a GIS file from before 2020 has them
        for old_code, old_name, succ in (("044", "Huyện Thông Nông", "045"), ("046", "Huyện Trà Lĩnh", "047")):
            i = next(k for k, r in enumerate(rows) if r[0] == succ)
            g = rows[i][2]
            x0, y0, x1, y1 = g.bounds
            east = shapely.intersection(g, shapely.box((x0 + x1) / 2, y0, x1, y1))
            rows[i] = (succ, rows[i][1], shapely.difference(g, east))
            rows.append((old_code, old_name, east))
    gdf = gpd.GeoDataFrame({"MAHUYEN": [r[0] for r in rows],
                            # bytes of Windows-1258 held as latin-1 characters: written byte for byte
                            "TENHUYEN": [encode_text(r[1], "cp1258").decode("latin-1") for r in rows]},
                           geometry=[r[2] for r in rows], crs="EPSG:4326").to_crs(epsg=epsg)
    return shapefile_zip(gdf, tmp, stem="ranh_gioi_huyen", encoding="latin1", drop_cpg=True)


# ---- the statistical yearbook's national table ------------------------------------------
# Layout of GSO's Niên giám thống kê, table "Tỷ lệ hộ nghèo phân theo địa phương": title and
# unit lines, a blank row, a header of years (the last one 'Sơ bộ 2023'), the whole country,
# then each region followed by its provinces; names with double spaces.  Rates invented.
YEARBOOK_YEARS = ["2016", "2018", "2020", "2022", "Sơ bộ 2023"]


def yearbook_table() -> bytes:
    from openpyxl import Workbook

    from povdata.regions import REGIONS, _MEMBERS
    from povdata.units import legacy_units

    provs = legacy_units().query("level == 'province'").set_index("code")["short_name"]
    wb = Workbook()
    ws = wb.active
    ws.append(["146. Tỷ lệ hộ nghèo phân theo địa phương(*)"])
    ws.append(["Poverty rate by province"])
    ws.append([None, None, None, None, None, "%"])
    ws.append([])
    ws.append([None, *YEARBOOK_YEARS])
    ws.append(["CẢ NƯỚC", "9,2", "6,8", "4,8", "4,3", "3,4"])
    for k, (reg, members) in enumerate(_MEMBERS.items()):
        base = 5.0 + 4 * (k == 1) - 2 * (k in (0, 4))
        ws.append([REGIONS[reg][0].replace(" và ", "  và "), *[f"{max(base - i * 0.8, 0.4):.1f}".replace(".", ",")
                                                            for i in range(5)]])
        for j, code in enumerate(members.split()):
            r = base + (j % 5) - 1.5
            name = provs[code]
            if code == "20":
                name, vals = "Lạng  Sơn", ["23,50", "18,02", "7,88", "9,80", "6,71"]
            else:
                vals = [f"{max(r - i * 0.9, 0.1):.2f}".replace(".", ",") for i in range(5)]
            ws.append([name, *vals])
    ws.append([])
    ws.append(["(*) Theo chuẩn nghèo đa chiều áp dụng cho từng giai đoạn."])
    import io
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
