"""Every user-facing word lives in the catalogues (issue 15 point 6).

* No Vietnamese literal in the code outside ``povdata/locales`` (see ``catalogue_scan``),
  except the modules still being moved, each with the exact count it has left
  (``catalogue_budget.json``): a new literal anywhere fails, and a module moved to the
  catalogue must say so by lowering its count (to none).
* Messages from the domain code (:class:`povdata.messages.Msg`) are Vietnamese as text and
  say themselves in English, also after crossing the import worker's process boundary.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from catalogue_scan import VI as VI_TEXT, code_files, vietnamese_literals
from povdata.i18n import catalogue, parse_small_number
from povdata.messages import Msg, Num, say
from povdata.validate import validate_indicators

BUDGET = json.loads((Path(__file__).with_name("catalogue_budget.json")).read_text(encoding="utf-8"))["modules"]


@pytest.mark.parametrize("rel", code_files())
def test_no_vietnamese_literal_outside_the_catalogues(rel):
    found = vietnamese_literals(rel)
    allowed = BUDGET.get(rel, 0)
    listing = "\n".join(f"  {rel}:{line}: {text}" for line, text in found)
    assert len(found) <= allowed, (f"{rel} writes {len(found)} Vietnamese literal(s) (allowed {allowed}); "
                                   f"put them in povdata/locales and use t(…) or Msg(…):\n{listing}")
    assert len(found) == allowed, (f"{rel} now has {len(found)} Vietnamese literal(s), not {allowed}: "
                                   f"lower its count in tests/catalogue_budget.json")


def test_the_budget_names_only_modules_that_exist():
    assert set(BUDGET) <= set(code_files())


def test_a_message_is_vietnamese_text_and_says_itself_in_english():
    m = Msg("validate.bad_value", value="abc", reason=Msg("validate.not_a_number"))
    assert m == "giá trị 'abc' không phải là số." and isinstance(m, str)
    assert m.say("en") == "the value 'abc' is not a number."
    assert say(ValueError(m), "en") == m.say("en") and say("plain", "en") == "plain"
    n = Msg("validate.stated_rate_differs", stated=Num(12.0), computed=Num(28.571), poor="Hộ nghèo", total="Số hộ")
    assert "12,00%" in n and "28,57%" in n and "12.00%" in n.say("en") and "28.57%" in n.say("en")
    back = pickle.loads(pickle.dumps(m))  # the import worker sends its report back pickled
    assert back == m and back.say("en") == m.say("en")


def test_every_message_key_used_in_validation_exists_in_both_languages():
    import ast

    from catalogue_scan import REPO
    keys = set()
    for rel in code_files():
        for node in ast.walk(ast.parse((REPO / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Msg" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                keys.add(node.args[0].value)
    assert keys, "no Msg(...) found"
    for lang in ("vi", "en"):
        missing = sorted(k for k in keys if k not in catalogue(lang))
        assert not missing, f"{lang}: {missing}"


def test_a_district_table_s_problems_in_english():
    import pandas as pd

    raw = pd.DataFrame({"Mã đơn vị": ["181", "181", ""], "Năm": ["2023", "2023", "20x3"],
                        "Tổng số hộ": ["100", "100", "50"], "Số hộ nghèo": ["120", "-3", "1"]})
    rep = validate_indicators(raw, "bang_huyen.xlsx", {"181"})
    vi = [str(p) for p in rep.problems]
    en = [p.say("en") for p in rep.problems]
    assert "Tệp bang_huyen.xlsx, dòng 4, cột 'Năm': năm '20x3' không hợp lệ." in vi
    assert "File bang_huyen.xlsx, row 4, column 'Năm': the year '20x3' is not valid." in en
    assert any(e.startswith("File bang_huyen.xlsx, row 2, column 'Số hộ nghèo': poor households (120) exceed")
               for e in en), en
    assert any("a negative number (-3) is not valid." in e for e in en)
    assert not any(ch in "".join(p.say("en").split(":", 1)[1] for p in rep.problems) for ch in "ảạộốờ")


def test_numbers_typed_wrongly_are_refused_in_the_user_s_language():
    with pytest.raises(ValueError) as exc:
        parse_small_number("1.234,5")
    assert "một dấu thập phân" in str(exc.value) and "one decimal separator" in say(exc.value, "en")


def test_import_notes_and_checks_in_english():
    from povdata.importer import prepare_indicators

    data = ("Tên xã,Năm,Tổng số hộ,Số hộ nghèo\n"
            "Xã Hoàng Đồng,2023,1200,60\nXã Không Có Thật,2023,100,5\nTổng cộng,2023,1300,65\n").encode("utf-8")
    imp = prepare_indicators(data, "hai_xa.csv", "20", allow_partial=True)
    problems = imp.notes + imp.report.problems
    en = [p.say("en") for p in problems]
    vi = [str(p) for p in problems]
    assert any("total row, not imported" in e for e in en), en
    assert any("dòng tổng cộng, không nhập" in v for v in vi), vi
    assert any("the unit 'Xã Không Có Thật' is not in the register" in e for e in en), en
    assert any("partial data: 2023 has only" in e for e in en) or not imp.ok, en


def test_a_refused_file_s_reason_in_english_names_the_file_once():
    from povdata.importer import prepare_indicators

    imp = prepare_indicators(b"%PDF-1.4 not a workbook", "bien_ban.xlsx", "20")
    p = imp.report.problems[0]
    assert str(p) == ("Tệp bien_ban.xlsx: là tệp PDF, không phải bảng tính; hãy dùng tệp Excel (.xlsx) hoặc CSV.")
    assert p.say("en") == "File bien_ban.xlsx: a PDF, not a spreadsheet; use an Excel (.xlsx) or CSV file."
    import pickle
    assert pickle.loads(pickle.dumps(p)).say("en") == p.say("en")


# ---- the rest of the domain's messages, said in English (issue 15 point 6) ----------------------
def test_a_targets_file_s_problem_in_english():
    from povdata.targets import TargetsError, parse_targets

    bad = {"province_code": "20", "period": [{"id": "p1", "start": 2022, "end": 2025, "baseline_year": 2021,
                                              "standard": "2021-2025",
                                              "target": [{"id": "t1", "rule": "teleport", "scope": "province",
                                                          "value": 3}]}]}
    with pytest.raises(TargetsError) as exc:
        parse_targets(bad, "muc_tieu.toml")
    assert str(exc.value) == "Tệp muc_tieu.toml, giai đoạn 'p1', mục tiêu 't1': trường 'rule' = 'teleport' không được hỗ trợ."
    assert say(exc.value, "en") == "File muc_tieu.toml, period 'p1', target 't1': 'rule' = 'teleport' is not supported."


def test_the_targets_page_s_refusals_and_the_audit_trail_in_english(tmp_path):
    from auth_helpers import make_user
    from povdata.audit import entries, summary_text
    from povdata.auth import PermissionDenied
    from povdata.designations import DecisionError, add_decision
    from povdata.edits import EditError, change_targets, parse_typed_values
    from povdata.store import open_store
    from povdata.targets import default_targets

    store, cfg = open_store(tmp_path), default_targets("20")
    editor = make_user(tmp_path, "editor", province_code="20")
    viewer = make_user(tmp_path, "viewer", name="xem", province_code="20")
    with pytest.raises(EditError) as exc:
        parse_typed_values({("", "", "at_risk_margin_pp"): "1,5x"})
    assert say(exc.value, "en").startswith("The 'at risk' margin (percentage points): ") and "Biên" in str(exc.value)
    with pytest.raises(EditError) as exc:
        change_targets(store, cfg, {("", "", "poor_district_exit_rate"): 140.0}, user=editor)
    assert say(exc.value, "en") == ("The poor-district exit threshold (%): the poor-district exit threshold (%) "
                                    "must be between 0 and 100 (140 entered).")
    with pytest.raises(PermissionDenied) as exc:
        change_targets(store, cfg, {("", "", "poor_district_exit_rate"): 9.0}, user=viewer)
    assert say(exc.value, "en") == ("The account xem (viewer) may not change targets; it takes the role editor "
                                    "or higher.")
    with pytest.raises(DecisionError) as exc:
        add_decision(store, "20", number="12/QĐ-TTg", on="2025-12-01", issuer="Thủ tướng Chính phủ", action="exit",
                     status="poor_district", unit_codes=["06034"], user=editor)
    assert say(exc.value, "en") == "The units 06034 are not districts of the province."
    change_targets(store, cfg, {("", "", "poor_district_exit_rate"): 9.0}, user=editor)
    row = entries(store).iloc[0]
    assert row["summary"] == "Sửa ngưỡng thoát huyện nghèo (%): 10 → 9"  # the trail's own text stays Vietnamese
    assert summary_text(row["summary"], row["said"], "en") == "Changed the poor-district exit threshold (%): 10 → 9"
    assert summary_text("Nhập tệp cũ", "", "en") == "Nhập tệp cũ"  # a row written before keys were kept


def test_boundary_and_store_refusals_in_english(tmp_path):
    from geo.ingest.vector import check_shapefile
    from geo.read import BoundaryReadError
    from povdata.backup import verify_backup
    from povdata.store import StoreError, check_store_file

    shp = tmp_path / "xa.shp"
    shp.write_bytes(b"\0" * 100)
    with pytest.raises(BoundaryReadError) as exc:
        check_shapefile(shp, "xa.zip")
    assert say(exc.value, "en") == ("File xa.zip: xa.shx, xa.dbf is missing beside xa.shp; put all of the layer's "
                                    ".shp, .shx, .dbf (and .prj) files into one .zip file.")
    empty = tmp_path / "povdash.sqlite"
    empty.write_bytes(b"")
    with pytest.raises(StoreError) as exc:
        check_store_file(empty)
    assert say(exc.value, "en").startswith(f"The data store {empty} is empty (0 bytes)")
    fake = tmp_path / "sao_luu.sqlite"
    fake.write_bytes(b"not a database at all" * 10)
    with pytest.raises(StoreError) as exc:
        verify_backup(fake, tmp_path / "work")
    assert say(exc.value, "en") == ("The file sao_luu.sqlite is not a data store backup (not an SQLite file); "
                                    "the data store is unchanged.")
    assert str(exc.value).endswith("(không phải tệp SQLite); kho dữ liệu không thay đổi.")


def test_labels_of_indicators_and_standards_come_from_the_catalogues():
    from povdata.indicators import INDICATORS
    from povdata.standards import STANDARDS, standard_label

    for ind in INDICATORS.values():
        assert ind.label("vi") != ind.label("en") and f"indicator_label.{ind.id}" in catalogue("en")
    assert INDICATORS["escaped_poor"].label("vi") == "Số hộ thoát nghèo"
    assert INDICATORS["poor_households"].unit_label("en") == "households"
    for sid in STANDARDS:
        assert standard_label(sid, "vi").startswith("Chuẩn nghèo") and "standard" in standard_label(sid, "en")
    assert standard_label("1990-1995", "en") == "1990-1995"


def test_the_command_line_speaks_english_when_asked(tmp_path, monkeypatch, capsys):
    from povdata.cli import main

    bad = tmp_path / "bang.csv"
    bad.write_text("Mã đơn vị,Năm,Tổng số hộ,Số hộ nghèo\n181,2023,100,-3\n", encoding="utf-8")
    assert main(["validate", str(bad), "--province", "20"]) == 1
    out = capsys.readouterr()
    assert "LỖI: Tệp bang.csv, dòng 2" in out.out and "Tệp bang.csv bị từ chối: " in out.err
    monkeypatch.setenv("POVDASH_LANG", "en")
    assert main(["validate", str(bad), "--province", "20"]) == 1
    out = capsys.readouterr()
    assert "ERROR: File bang.csv, row 2" in out.out and "File bang.csv is refused: " in out.err
    assert not VI_TEXT.search(out.out.replace("Mã đơn vị", "").replace("Tổng số hộ", "").replace("Số hộ nghèo", ""))


def test_the_demo_s_source_is_said_in_the_ui_language():
    from povdata.dataset import load_demo

    ds = load_demo("20")
    assert str(ds.source).startswith("Số liệu minh họa do phần mềm tạo (seed ")
    assert say(ds.source, "en").startswith("Illustrative figures made by the software (seed ")


def test_keys_made_from_names_exist_in_both_languages():
    """Keys built at run time (``f"auth.permission_{p}"``…) are not seen by the scan of
    ``Msg("…")`` calls: each family is checked here against the names it is built from."""
    from geo.ingest.repair import GEOS_REASONS
    from povdata.audit import ACTIONS, DETAIL_FIELDS
    from povdata.auth import PERMISSIONS, ROLES
    from povdata.designations import ACTIONS as DECISION_ACTIONS
    from povdata.edits import FIELD_NAMES

    keys = [f"auth.permission_{p}" for p in PERMISSIONS] + [f"auth.role_{r}" for r in ROLES]
    keys += [f"target_edit.field_{f}" for f in FIELD_NAMES] + [f"target_edit.field_{f}_title" for f in FIELD_NAMES]
    keys += [f"repair.reason_{k}" for k in (*GEOS_REASONS.values(), "other")]
    keys += [f"audit_field.{f}" for f in DETAIL_FIELDS] + [f"audit.{a}" for a in ACTIONS]
    keys += [f"decision_form.audit_{a}" for a in DECISION_ACTIONS] + ["decision_form.not_district",
                                                                      "decision_form.not_commune"]
    keys += [f"cli.severity_{s}" for s in ("error", "warning", "info", "other")]
    for lang in ("vi", "en"):
        missing = [k for k in keys if k not in catalogue(lang)]
        assert not missing, f"{lang}: {missing}"



def test_a_source_without_issuer_or_date_says_so_in_the_ui_language():
    from povdata.sources import cite

    text = "bài 001_942a5448306982b8"
    assert cite(text) == ("«Lạng Sơn: Mục tiêu đến năm 2030 không còn huyện nghèo, xã đặc biệt khó khăn», "
                          "báo điện tử (không ghi tên cơ quan), không rõ ngày")
    assert cite(text, "en").endswith("», online newspaper (publisher not named), date not given")
    assert cite("002_b39cd2ee0a51b8db", "en").endswith("», online newspaper (publisher not named), 2020")


def test_matching_notes_stay_messages_in_their_tables():
    """pandas keeps a column of strings as its string dtype, which turns a Msg back into its
    Vietnamese text: the matching tables of the import page keep their notes as messages, so
    the English page says them in English."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    from geo.ingest.match import match_features
    from povdata.ingest.match import match_units
    from povdata.units import legacy_units

    d = legacy_units("20")
    d = d[d["level"] == "district"].iloc[0]
    table = pd.DataFrame({"_row": [2], "unit_code": [d["code"]], "unit_name": ["Tên khác hẳn"]})
    (note,) = match_units(table, "20", "legacy")["note"]
    assert isinstance(note, Msg) and say(note, "en") != str(note) and not VI_TEXT.search(say(note, "en")), note
    gdf = gpd.GeoDataFrame({"MA": [d["code"]], "TEN": ["Tên khác hẳn"]}, geometry=[box(106, 21, 106.1, 21.1)],
                           crs="EPSG:4326")
    (gnote,) = match_features(gdf, "20", "legacy", "district", "MA", "TEN")["note"]
    assert str(gnote) == "tên khác với danh mục" and say(gnote, "en") == "the name differs from the unit list"
