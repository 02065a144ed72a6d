"""The review's deprivation form (tests/official_forms.py: deprivation_form_xlsx) imports with no
hand mapping and adds its 12 counts to the year already stored; the shares and the service
coverages follow from the summed counts."""
from __future__ import annotations

import pandas as pd
import pytest

from official_forms import DEPRIVATION_IDS, deprivation_form_xlsx, district_communes, review_form_xlsx
from povdata.dataset import level_table
from povdata.importer import prepare_indicators, save_import
from povdata.messages import say
from povdata.store import load_version, open_store, versions


def test_the_deprivation_form_maps_every_indicator_by_its_header():
    data, figs = deprivation_form_xlsx("180", 2023)
    imp = prepare_indicators(data, "bieu03_trang_dinh_2023.xlsx", "20")
    assert imp.ok, [str(p) for p in imp.report.errors]
    assert set(imp.mapping.values()) == {"unit_name", "poor_households", *(f"deprived_{k}" for k in DEPRIVATION_IDS)}
    assert imp.supplement and imp.year == 2023  # the year from the title
    t = imp.report.table.set_index("unit_code")
    assert set(t.index) == set(district_communes("180")["code"])  # Tổng cộng is no unit
    for code, f in figs.items():
        assert [int(t.at[code, f"deprived_{k}"]) for k in DEPRIVATION_IDS] == [f[k] for k in DEPRIVATION_IDS]


def test_near_poor_deprivations_are_their_own_and_shares_are_not_taken_for_counts():
    from povdata.ingest.header import _composite_field
    assert _composite_field("Số hộ nghèo thiếu hụt các chỉ số - Nhà ở - Chất lượng nhà ở - Tỷ lệ (%)") == ""
    assert _composite_field("Số hộ cận nghèo thiếu hụt - Y tế - Bảo hiểm y tế - Số hộ") == "deprived_near_health_insurance"
    assert _composite_field("Hộ cận nghèo thiếu hụt BHYT") == "deprived_near_health_insurance"
    assert _composite_field("Số hộ cận nghèo thiếu hụt - Y tế - Bảo hiểm y tế - Tỷ lệ (%)") == ""


def test_the_near_poor_form_adds_its_own_counts_beside_the_poor_ones(tmp_path):
    store = open_store(tmp_path)
    save_import(store, "20", prepare_indicators(review_form_xlsx("180", 2023, both=True)[0], "b01.xlsx", "20",
                                                allow_partial=True))
    save_import(store, "20", prepare_indicators(deprivation_form_xlsx("180", 2023)[0], "b03.xlsx", "20"))
    data, figs = deprivation_form_xlsx("180", 2023, near_poor=True)
    imp = prepare_indicators(data, "b03_can_ngheo.xlsx", "20")
    assert imp.ok, [str(p) for p in imp.report.errors]
    assert set(imp.mapping.values()) == {"unit_name", "near_poor_households",
                                         *(f"deprived_near_{k}" for k in DEPRIVATION_IDS)}
    v = save_import(store, "20", imp)
    ind = load_version(store, "20", v.id).indicators.set_index("unit_code")
    code = next(iter(figs))
    assert int(ind.at[code, "deprived_near_water"]) == figs[code]["water"]
    assert ind["deprived_water"].notna().all()  # the poor households' form is kept
    lv = level_table(load_version(store, "20", v.id))
    d = lv[(lv["unit_code"] == "180") & (lv["year"] == 2023)].iloc[0]
    assert d["deprived_near_water_share"] == pytest.approx(
        sum(f["water"] for f in figs.values()) / ind["near_poor_households"].sum() * 100)


@pytest.fixture()
def summary_store(tmp_path):
    store = open_store(tmp_path)
    v = save_import(store, "20", prepare_indicators(review_form_xlsx("180", 2023)[0], "bieu01.xlsx", "20",
                                                    allow_partial=True))
    v = save_import(store, "20", prepare_indicators(review_form_xlsx("180", 2022)[0], "bieu01_2022.xlsx", "20",
                                                    allow_partial=True))
    return store, v


def test_the_form_adds_its_counts_to_the_stored_year_and_keeps_everything_else(summary_store):
    store, v1 = summary_store
    before = load_version(store, "20", v1.id).indicators
    data, figs = deprivation_form_xlsx("180", 2023)
    v2 = save_import(store, "20", prepare_indicators(data, "bieu03.xlsx", "20"))
    after = load_version(store, "20", v2.id).indicators
    keep = [c for c in before.columns]
    pd.testing.assert_frame_equal(after[keep].sort_values(["unit_code", "year"]).reset_index(drop=True),
                                  before.sort_values(["unit_code", "year"]).reset_index(drop=True))
    a = after.set_index(["unit_code", "year"])
    code = next(iter(figs))
    assert int(a.at[(code, 2023), "deprived_water"]) == figs[code]["water"]
    assert a.loc[pd.IndexSlice[:, 2022], "deprived_water"].isna().all()  # 2022 had no such form
    lv = level_table(load_version(store, "20", v2.id))
    d = lv[(lv["unit_code"] == "180") & (lv["year"] == 2023)].iloc[0]
    poor = sum(int(x) for x in a.loc[pd.IndexSlice[:, 2023], "poor_households"])
    water = sum(f["water"] for f in figs.values())
    assert d["deprived_water_share"] == pytest.approx(water / poor * 100)  # summed, never a mean of shares
    assert d["clean_water"] == pytest.approx(100 - water / poor * 100)
    house = max(sum(f["housing_quality"] for f in figs.values()), sum(f["housing_area"] for f in figs.values()))
    assert d["durable_housing_8m2"] == pytest.approx(100 - house / poor * 100)


def test_a_form_without_the_years_summary_is_refused_and_changes_nothing(tmp_path):
    store = open_store(tmp_path)
    save_import(store, "20", prepare_indicators(review_form_xlsx("180", 2022)[0], "b.xlsx", "20", allow_partial=True))
    n = len(versions(store, "20"))
    imp = prepare_indicators(deprivation_form_xlsx("180", 2023)[0], "bieu03_2023.xlsx", "20")
    with pytest.raises(ValueError) as exc:
        save_import(store, "20", imp)
    assert "Tệp bieu03_2023.xlsx, dòng 12" in str(exc.value) and "năm 2023" in str(exc.value)
    assert "import the 2023 poor-household summary first" in say(exc.value, "en")
    assert len(versions(store, "20")) == n


def test_a_form_of_another_review_is_refused(summary_store):
    store, _ = summary_store
    code = district_communes("180")["code"].iloc[2]
    n = len(versions(store, "20"))
    imp = prepare_indicators(deprivation_form_xlsx("180", 2023, poor_offset={code: 4})[0], "b03.xlsx", "20")
    with pytest.raises(ValueError) as exc:
        save_import(store, "20", imp)
    assert f"đơn vị {code} năm 2023" in str(exc.value) and "khác số đã lưu" in str(exc.value)
    assert len(versions(store, "20")) == n


def _disbursement_xlsx(year: int, district_codes: list[str], allocated: dict[str, int],
                       disbursed: dict[str, int]) -> bytes:
    """A district table of the national target programme's funds as a provincial department
    reports it (the disbursement reports of the Sở Tài chính / Sở LĐTBXH: a title with the year,
    STT | Đơn vị | Kế hoạch vốn được giao | Giải ngân đến 31/01 of the next year, Số tiền and Tỷ lệ,
    a Tổng cộng row first).  Figures invented."""
    import io

    from openpyxl import Workbook

    from povdata.units import legacy_units
    u = legacy_units("20").set_index("code")
    wb = Workbook()
    ws = wb.active
    ws["A1"] = f"TỔNG HỢP KẾT QUẢ GIẢI NGÂN VỐN CHƯƠNG TRÌNH MTQG GIẢM NGHÈO BỀN VỮNG NĂM {year}"
    ws.merge_cells("A1:F1")
    ws["A3"], ws["B3"], ws["C3"], ws["D3"] = "STT", "Đơn vị", "Kế hoạch vốn được giao (triệu đồng)", \
        f"Giải ngân đến 31/01/{year + 1}"
    ws.merge_cells("A3:A4"), ws.merge_cells("B3:B4"), ws.merge_cells("C3:C4"), ws.merge_cells("D3:E3")
    ws["D4"], ws["E4"] = "Số tiền (triệu đồng)", "Tỷ lệ (%)"
    ws.append(["", "Tổng cộng", sum(allocated.values()), sum(disbursed.values()),
               round(sum(disbursed.values()) / sum(allocated.values()) * 100, 1)])
    for i, c in enumerate(district_codes, 1):
        ws.append([i, u.at[c, "name"], allocated[c], disbursed[c], round(disbursed[c] / allocated[c] * 100, 1)])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_district_funds_table_adds_to_a_commune_store_and_the_rate_follows(tmp_path):
    from import_fixtures import demo_rows
    from povdata.targets import Period, Target, TargetsConfig
    from povdata.progress import progress_table
    from povdata.units import legacy_units

    rows = demo_rows(2023)
    csv = "Mã đơn vị,Tên đơn vị,Năm,Tổng số hộ,Số hộ nghèo,Số hộ cận nghèo\n" + "".join(
        f"{r.unit_code},{r.name},2023,{r.households_total},{r.poor_households},{r.near_poor_households}\n"
        for r in rows.itertuples())
    store = open_store(tmp_path)
    v1 = save_import(store, "20", prepare_indicators(csv.encode(), "toan_tinh_2023.csv", "20"))
    districts = sorted(legacy_units("20").query("level == 'district'")["code"])
    alloc = {c: 10_000 + 1_000 * i for i, c in enumerate(districts)}
    paid = {c: alloc[c] * (60 + 3 * i) // 100 for i, c in enumerate(districts)}
    imp = prepare_indicators(_disbursement_xlsx(2023, districts, alloc, paid), "giai_ngan_2023.xlsx", "20")
    assert imp.ok, [str(p) for p in imp.report.errors]
    assert {"budget_allocated", "budget_disbursed"} <= set(imp.mapping.values()) and imp.supplement
    v2 = save_import(store, "20", imp)
    before, after = level_table(load_version(store, "20", v1.id)), level_table(load_version(store, "20", v2.id))
    key = ["unit_code", "year", "level"]
    b, a = before.set_index(key), after.set_index(key)
    for code in ("181", "20"):  # the households stay the communes' sums: the budget row is no own figure
        lvl = "province" if code == "20" else "district"
        assert a.at[(code, 2023, lvl), "poor_households"] == b.at[(code, 2023, lvl), "poor_households"]
        assert a.at[(code, 2023, lvl), "figure_from"] == "children"
    d = a.loc[("181", 2023, "district")]
    assert int(d["budget_allocated"]) == alloc["181"]
    assert d["disbursement_rate"] == pytest.approx(paid["181"] / alloc["181"] * 100)
    p = a.loc[("20", 2023, "province")]
    assert int(p["budget_disbursed"]) == sum(paid.values())  # every district reported: summed
    # the verdict against the plan's deadline, by the one engine
    t = Target("funds", "province", "share_at_least", 95.0, "percent", "set by the user", "", indicator="disbursement_rate",
               by_year=2023, owner="labour")
    cfg = TargetsConfig("20", "Tỉnh Lạng Sơn", periods=(Period("p", 2022, 2025, 2021, "2021-2025", "", (t,)),))
    row = progress_table(after, cfg).iloc[0]
    assert row["status"] == "not_met" and row["latest_value"] == pytest.approx(p["disbursement_rate"])
