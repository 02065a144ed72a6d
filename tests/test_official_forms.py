"""The official review forms import with no hand mapping (tests/official_forms.py says what
they imitate): a three-row merged header, sections and subtotals, the start-of-year count,
the year's flows, the year-end count and the ethnic-minority figures; the balance check and
the subtotal check; a district's form replaces that district's communes only."""
from __future__ import annotations

import sqlite3

import pandas as pd
import pytest

from official_forms import district_communes, review_form_xlsx
from povdata.dataset import level_table
from povdata.importer import column_labels, find_header, prepare_indicators, read_sheet, save_import
from povdata.store import import_version, load_version, open_store, versions

FORM_FIELDS = {"unit_name", "households_total", "poor_households_start", "escaped_poor", "re_poor", "newly_poor",
               "poor_households", "poverty_rate_published", "ethnic_minority_poor", "ethnic_minority_rate_published"}


def test_three_row_header_is_read_as_one_label_per_column():
    data, _ = review_form_xlsx("180", 2023)
    cells = read_sheet(data, "bieu.xlsx").cells
    header = find_header(cells)
    assert (header.first, header.last, header.data_start) == (7, 9, 11)  # rows 8-10, column numbers in 11
    labels = column_labels(cells, header)
    assert labels[8] == "Kết quả rà soát hộ nghèo - Hộ nghèo cuối năm - Số hộ"
    assert labels[5] == "Kết quả rà soát hộ nghèo - Diễn biến hộ nghèo trong năm - Số hộ thoát nghèo"


def test_the_form_imports_with_no_hand_mapping_and_the_year_end_counts():
    data, figs = review_form_xlsx("180", 2023)
    imp = prepare_indicators(data, "bieu_trang_dinh_2023.xlsx", "20")
    assert imp.ok, [str(p) for p in imp.report.errors]
    assert set(imp.mapping.values()) == FORM_FIELDS
    assert not imp.report.warnings, [str(p) for p in imp.report.warnings]
    ind = imp.indicators.set_index("unit_code")
    # the communes only: Tổng cộng and the two section rows are not units, the signature block is no row
    assert set(ind.index) == set(figs) == set(district_communes("180")["code"])
    assert (ind["year"] == 2023).all()
    for code, f in figs.items():
        r = ind.loc[code]
        assert (r["poor_households"], r["poor_households_start"]) == (f["end"], f["start"])  # year end is the count
        assert (r["escaped_poor"], r["re_poor"], r["newly_poor"]) == (f["out"], f["back"], f["new"])
        assert (r["households_total"], r["ethnic_minority_poor"]) == (f["total"], f["ethnic"])
        assert r["ethnic_minority_rate_published"] == pytest.approx(round(f["ethnic"] / f["end"] * 100, 2))
    # the title names the district: 'Xã Chi Lăng' (four units of that name in the province) is Tràng Định's
    assert imp.matches.set_index("input_name").loc["Xã Chi Lăng", "code"] == "06034"
    left_out = [p.message for p in imp.notes]
    assert any("Khu vực thành thị" in m for m in left_out) and any("Khu vực nông thôn" in m for m in left_out)


def test_the_balance_check_catches_a_planted_error():
    data, figs = review_form_xlsx("180", 2023, planted="06034")
    imp = prepare_indicators(data, "bieu.xlsx", "20")
    assert imp.ok  # a warning: the department checks the row with the district
    hits = [p for p in imp.report.warnings if "thoát nghèo + tái nghèo + phát sinh" in p.message]
    assert len(hits) == 1
    f = figs["06034"]
    msg = hits[0].message
    assert "Xã Chi Lăng (06034)" in msg and hits[0].row == 27
    for n in (f["start"], f["out"], f["back"], f["new"], f["end"], f["end"] - 1):
        assert f"{n:,}".replace(",", ".") in msg
    # without the error the check is silent (it does not fire on every row)
    clean = prepare_indicators(review_form_xlsx("180", 2023)[0], "bieu.xlsx", "20")
    assert not [p for p in clean.report.warnings if "phát sinh" in p.message]


def test_a_subtotal_that_is_not_the_sum_of_its_units_is_said():
    data, figs = review_form_xlsx("180", 2023, wrong_subtotal=True)
    imp = prepare_indicators(data, "bieu.xlsx", "20")
    hits = [p for p in imp.report.warnings if "Khu vực nông thôn" in p.message]
    assert len(hits) == 1 and hits[0].row == 15
    rural = sum(f["end"] for c, f in figs.items() if c != "06040")  # Thị trấn Thất Khê is the urban one
    assert f"{rural:,}".replace(",", ".") in hits[0].message and f"{rural + 5:,}".replace(",", ".") in hits[0].message


def test_the_near_poor_form_alone_is_refused_with_what_to_do():
    imp = prepare_indicators(review_form_xlsx("180", 2023, near_poor=True)[0], "bieu_can_ngheo.xlsx", "20")
    assert not imp.ok
    assert any("biểu hộ cận nghèo" in p.message for p in imp.report.errors)
    assert "escaped_poor" not in imp.mapping.values() and "poor_households" not in imp.mapping.values()


def _province_csv(year: int) -> bytes:
    from import_fixtures import demo_rows
    rows = demo_rows(year)
    lines = ["Mã đơn vị,Tên đơn vị,Năm,Tổng số hộ,Số hộ nghèo,Số hộ cận nghèo"]
    lines += [f"{r.unit_code},{r.name},{year},{r.households_total},{r.poor_households},{r.near_poor_households}"
              for r in rows.itertuples()]
    return ("\n".join(lines) + "\n").encode("utf-8")


def test_a_district_form_replaces_that_district_only(tmp_path):
    store = open_store(tmp_path)
    whole = prepare_indicators(_province_csv(2023), "toan_tinh_2023.csv", "20")
    assert whole.ok
    v1 = save_import(store, "20", whole)
    before = load_version(store, "20", v1.id).indicators.set_index("unit_code")
    data, figs = review_form_xlsx("180", 2023)
    form = prepare_indicators(data, "bieu_trang_dinh_2023.xlsx", "20")
    assert form.ok  # whole districts: no 'partial' confirmation needed
    assert any("đủ xã của 1 huyện (Huyện Tràng Định)" in p.message for p in form.report.problems)
    v2 = save_import(store, "20", form)
    after = load_version(store, "20", v2.id).indicators.set_index("unit_code")
    assert set(after.index) == set(before.index)  # every commune of 2023 still there
    for code, f in figs.items():
        assert after.loc[code, "poor_households"] == f["end"]
    others = [c for c in before.index if c not in figs]
    assert len(others) > 150
    pd.testing.assert_series_equal(after.loc[others, "poor_households"], before.loc[others, "poor_households"])
    # the province is the sum of every district, Tràng Định's from the form
    lv = level_table(load_version(store, "20", v2.id))
    prov = lv[(lv["level"] == "province") & (lv["year"] == 2023)].iloc[0]
    assert prov["poor_households"] == after["poor_households"].sum()
    # the audit trail says so
    with sqlite3.connect(store.path) as conn:
        detail = conn.execute("SELECT detail FROM audit WHERE action = 'import' ORDER BY id DESC").fetchone()[0]
    assert '"2023": ["180"]' in detail


def test_a_partial_district_still_needs_the_confirmation():
    data, figs = review_form_xlsx("180", 2023)
    from openpyxl import load_workbook
    import io
    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    ws.delete_rows(20, 3)  # three communes of Tràng Định dropped
    buf = io.BytesIO()
    wb.save(buf)
    imp = prepare_indicators(buf.getvalue(), "bieu.xlsx", "20")
    assert not imp.ok and any("Lưu số liệu một phần" in p.message for p in imp.report.errors)


def test_a_schema_3_store_gains_the_form_columns_and_keeps_its_rows(tmp_path):
    from povdata import store as store_mod
    store = open_store(tmp_path)
    ind = prepare_indicators(_province_csv(2023), "t.csv", "20").indicators
    import_version(store, "20", indicators=ind, source_file="t.csv", data_status="imported")
    import_version(store, "20", indicators=ind, source_file="t.csv", data_status="imported")
    with sqlite3.connect(store.path) as conn:
        for c in ("poor_households_start", "ethnic_minority_rate_published"):
            conn.execute(f"ALTER TABLE indicators DROP COLUMN {c}")
        conn.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
        conn.execute("DROP TABLE alembic_version")  # as a store from before the migrations (povdata/db)
        for t in ("boundary_layers", "boundary_units", "boundary_sets"):  # schema 9's, which schema 3 had not
            conn.execute(f"DROP TABLE {t}")
        n = conn.execute("SELECT COUNT(*) FROM indicators").fetchone()[0]
    store_mod._READY.discard(store.path)
    store = open_store(tmp_path)
    with sqlite3.connect(store.path) as conn:
        cols = {r[1] for r in conn.execute("PRAGMA table_info(indicators)")}
        assert {"poor_households_start", "ethnic_minority_rate_published"} <= cols
        assert conn.execute("SELECT COUNT(*) FROM indicators").fetchone()[0] == n
        version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
        assert version == str(store_mod.SCHEMA_VERSION)
    assert len(load_version(store, "20", versions(store, "20")[0].id).indicators) == len(ind)


# ---- flows on the unit profile and the map ------------------------------------------------------
@pytest.fixture(scope="module")
def form_store(tmp_path_factory):
    d = tmp_path_factory.mktemp("form-store")
    store = open_store(d)
    save_import(store, "20", prepare_indicators(_province_csv(2023), "toan_tinh_2023.csv", "20"))
    save_import(store, "20", prepare_indicators(review_form_xlsx("180", 2023, planted="06034")[0],
                                                "bieu_trang_dinh_2023.xlsx", "20"))
    return d


def test_flows_table_of_a_district_sums_its_communes(form_store):
    from povdata.store import latest_version
    from povdata.views import flow_table, series
    store = open_store(form_store)
    lv = level_table(load_version(store, "20", latest_version(store, "20").id))
    figs = review_form_xlsx("180", 2023, planted="06034")[1]
    ft = flow_table(series(lv, "180")).set_index("year")
    assert list(ft.index) == [2023]
    r = ft.loc[2023]
    for col, key in (("poor_households_start", "start"), ("escaped_poor", "out"), ("re_poor", "back"),
                     ("newly_poor", "new"), ("poor_households", "end")):
        assert r[col] == sum(f[key] for f in figs.values()), col
    assert not r["balanced"]  # the planted commune's error carries to its district
    assert flow_table(series(lv, "181")).empty  # Bình Gia came from a table without flows
    assert flow_table(series(lv, "06034")).set_index("year").loc[2023, "balance"] == figs["06034"]["end"] - 1


def test_the_profile_shows_the_flows_and_the_map_offers_them(form_store, monkeypatch):
    from app_helpers import run_app
    monkeypatch.setenv("POVDASH_DATA_DIR", str(form_store))
    at = run_app("pages/map.py", unit="180", year="2023")
    assert any(s.value == "Biến động hộ nghèo trong năm — Huyện Tràng Định" for s in at.subheader)
    table = next(d.value for d in at.dataframe if hasattr(d.value, "columns") and "Thoát nghèo" in d.value.columns)
    assert list(table["Cân đối"]) == ["lệch"]
    assert any("Năm 2023: số cuối năm khác đầu năm" in w.value for w in at.warning)
    offered = at.selectbox(key="map_indicator").options
    assert "Số hộ thoát nghèo" in offered and "Số hộ nghèo dân tộc thiểu số" in offered
    at.selectbox(key="map_indicator").set_value("escaped_poor").run()
    assert not at.exception
    # a district whose data have no flows shows no such section
    at = run_app("pages/map.py", unit="181", year="2023")
    assert not any(s.value.startswith("Biến động hộ nghèo") for s in at.subheader)
    # English
    at = run_app("pages/map.py", unit="180", year="2023", lang="en")
    assert any(s.value.startswith("The year's movements in and out of poverty") for s in at.subheader)


def test_a_workbook_with_the_poor_and_the_near_poor_forms_joins_them_unit_by_unit():
    data, figs = review_form_xlsx("180", 2023, both=True)
    imp = prepare_indicators(data, "bieu_trang_dinh_2023.xlsx", "20")
    assert imp.ok and not imp.report.warnings, [str(p) for p in imp.report.problems]
    ind = imp.indicators.set_index("unit_code")
    for code, f in figs.items():
        assert (ind.loc[code, "poor_households"], ind.loc[code, "near_poor_households"]) == (f["end"], f["near"])
    assert any("Biểu 02" in p.message and p.severity == "info" for p in imp.report.problems)
    # a commune on the near-poor sheet that the poor sheet does not have is said, not imported
    from openpyxl import load_workbook
    import io
    wb = load_workbook(io.BytesIO(data))
    wb["Biểu 01"].delete_rows(20, 1)
    buf = io.BytesIO()
    wb.save(buf)
    imp = prepare_indicators(buf.getvalue(), "bieu.xlsx", "20", allow_partial=True)
    hits = [p for p in imp.report.warnings if "không có trong trang «Biểu 01»" in p.message]
    assert len(hits) == 1 and hits[0].row == 20
