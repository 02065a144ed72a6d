"""Builders of import test files: a workbook laid out like a province's official summary
table (title block, merged two-row header, column numbers, district subtotal rows, a totals
row), legacy-encoded shapefiles, a projected CRS.  Small and deterministic."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import geopandas as gpd
import pandas as pd

from povdata.dataset import load_demo
from povdata.units import legacy_units

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "boundaries"
GOV_ZIP = SHARED / "lang_son_districts_gis_chinhphu.zip"
GADM_JSON = SHARED / "lang_son_districts_gadm2.geojson"


def demo_rows(year: int, province: str = "20", districts: list[str] | None = None) -> pd.DataFrame:
    """The demo's commune rows of one year, with names and districts."""
    ind = load_demo(province).indicators
    ind = ind[ind["year"] == year]
    units = legacy_units(province).set_index("code")
    ind = ind.assign(name=ind["unit_code"].map(units["name"]), district=ind["unit_code"].map(units["district_code"]))
    if districts:
        ind = ind[ind["district"].isin(districts)]
    return ind.sort_values(["district", "unit_code"]).reset_index(drop=True)


def official_workbook(year: int = 2024, districts: list[str] | None = None, rename: dict[str, str] | None = None,
                      with_codes: bool = False, poor_over_total_row: bool = False) -> bytes:
    """A workbook like the province's year-end summary table.

    Rows 1-3: title block (merged across the table), row 5-6: header with 'Hộ nghèo' and
    'Hộ cận nghèo' merged over 'Số hộ' / 'Tỷ lệ (%)', row 7: column numbers, then per
    district a subtotal row followed by its communes (names only unless ``with_codes``),
    and a 'Tổng cộng' row.  Rates are stored as percent-formatted fractions.
    ``rename``: commune code → the name written instead (to make mismatches).
    """
    from openpyxl import Workbook

    rows = demo_rows(year, districts=districts)
    units = legacy_units("20").set_index("code")
    wb = Workbook()
    ws = wb.active
    ws.title = f"Nam {year}"
    ws["A1"] = "UBND TỈNH LẠNG SƠN"
    ws["A2"] = f"BIỂU TỔNG HỢP KẾT QUẢ RÀ SOÁT HỘ NGHÈO, HỘ CẬN NGHÈO NĂM {year}"
    ws["A3"] = "(Kèm theo Quyết định số …/QĐ-UBND)"
    for r in (1, 2, 3):
        ws.merge_cells(start_row=r, start_column=1, end_row=r, end_column=8)
    head = ["STT", "Mã đơn vị" if with_codes else "Đơn vị", "Tổng số hộ", "Hộ nghèo", None, "Hộ cận nghèo", None,
            "Ghi chú"]
    sub = [None, None, None, "Số hộ", "Tỷ lệ (%)", "Số hộ", "Tỷ lệ (%)", None]
    if with_codes:
        head.insert(2, "Tên đơn vị")
        sub.insert(2, None)
    for j, v in enumerate(head, start=1):
        ws.cell(5, j, v)
    for j, v in enumerate(sub, start=1):
        ws.cell(6, j, v)
    off = 1 if with_codes else 0
    ws.merge_cells(start_row=5, start_column=4 + off, end_row=5, end_column=5 + off)
    ws.merge_cells(start_row=5, start_column=6 + off, end_row=5, end_column=7 + off)
    for j in (1, 2, 3 + off, 8 + off) + ((3,) if with_codes else ()):
        ws.merge_cells(start_row=5, start_column=j, end_row=6, end_column=j)
    for j in range(1, len(head) + 1):
        ws.cell(7, j, f"({j})")
    r = 8

    def put(stt, code, name, total, poor, near):
        nonlocal r
        vals = [stt] + ([code, name] if with_codes else [name]) + [total, poor, poor / total if total else None,
                                                                    near, near / total if total else None, None]
        for j, v in enumerate(vals, start=1):
            c = ws.cell(r, j, v)
            if j in (5 + off, 7 + off):
                c.number_format = "0.00%"
        r += 1

    for k, (d, grp) in enumerate(rows.groupby("district", sort=True), start=1):
        put(k, d, units.at[d, "name"], int(grp["households_total"].sum()), int(grp["poor_households"].sum()),
            int(grp["near_poor_households"].sum()))
        for i, row in enumerate(grp.itertuples(), start=1):
            name = (rename or {}).get(row.unit_code, row.name)
            total = int(row.households_total)
            poor = int(row.poor_households) if not (poor_over_total_row and i == 1 and k == 1) else total + 5
            put(f"{k}.{i}", row.unit_code, name, total, poor, int(row.near_poor_households))
    put(None, None, "Tổng cộng", int(rows["households_total"].sum()), int(rows["poor_households"].sum()),
        int(rows["near_poor_households"].sum()))
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def zip_dir(folder: Path, arcnames: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.iterdir()):
            zf.write(p, (arcnames or {}).get(p.name, p.name))
    return buf.getvalue()


def shapefile_zip(gdf: gpd.GeoDataFrame, tmp: Path, stem: str = "ranh_gioi", encoding: str = "UTF-8",
                  drop_prj: bool = False, drop_cpg: bool = True) -> bytes:
    """A zipped shapefile of ``gdf``; text fields written as given (strings that hold
    legacy bytes as latin-1 characters are written byte for byte with ``encoding='latin1'``)."""
    folder = tmp / f"shp_{stem}"
    folder.mkdir(parents=True, exist_ok=True)
    gdf.to_file(folder / f"{stem}.shp", driver="ESRI Shapefile", encoding=encoding, engine="pyogrio")
    if drop_prj:
        (folder / f"{stem}.prj").unlink()
    if drop_cpg:
        (folder / f"{stem}.cpg").unlink(missing_ok=True)
    return zip_dir(folder)
