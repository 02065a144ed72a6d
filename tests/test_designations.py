"""Designations by decision: a poor district is out of poverty when a decision says so, not
when its rate crosses a threshold; editors enter decisions (audited), every screen uses them."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import APP
from auth_helpers import make_user, signed_in
from povdata.auth import PermissionDenied
from povdata.dataset import level_table, load_demo
from povdata.designations import DecisionError, add_decision, designated, exits, stored_decisions
from povdata.edits import effective_targets
from povdata.progress import poor_district_outlook, poor_districts_for, progress_table
from povdata.store import open_store
from povdata.targets import default_targets
from povdata.views import unit_flags


@pytest.fixture()
def store_and_editor(tmp_path):
    editor = make_user(tmp_path, "editor", province_code="20")
    return open_store(tmp_path), editor, tmp_path


def test_the_reviewed_designations_are_decision_records():
    cfg = default_targets("20")
    recs = [d for d in cfg.decisions if d.period_start == 2022]
    assert {d.unit_code for d in recs} == {"181", "184"}
    assert all(d.number == "353/QĐ-TTg" and d.issuer == "Thủ tướng Chính phủ" and d.action == "designate"
               for d in recs)
    assert poor_districts_for(cfg, 2021, 2025) == ["181", "184"]
    # a merged province reads its former provinces' designations: Bắc Kạn's under Thái Nguyên
    assert {"060", "061"} <= set(poor_districts_for(default_targets("19"), 2016, 2020))


@pytest.mark.parametrize("kw, message", [
    (dict(number="QĐ 12"), "không đúng dạng số/ký hiệu"),
    (dict(on="2099-01-01"), "ở tương lai"),
    (dict(on="31/12/2025"), "không hợp lệ"),
    (dict(unit_codes=["06034"]), "không phải huyện của tỉnh"),
    (dict(unit_codes=["060"]), "không phải huyện của tỉnh"),  # Bắc Kạn's district, not Lạng Sơn's
    (dict(action="designate", period_start=None), "cần giai đoạn áp dụng"),
    (dict(issuer=""), "cơ quan ban hành"),
])
def test_a_record_that_cannot_be_used_is_refused(store_and_editor, kw, message):
    store, editor, _ = store_and_editor
    args = dict(number="123/QĐ-TTg", on="2025-12-20", issuer="Thủ tướng Chính phủ", action="exit",
                status="poor_district", unit_codes=["184"]) | kw
    with pytest.raises(DecisionError, match=message):
        add_decision(store, "20", **args, user=editor)
    assert stored_decisions(store, "20") == ()


def test_an_exit_decision_is_what_takes_a_district_out(store_and_editor):
    store, editor, _ = store_and_editor
    levels = level_table(load_demo("20"))
    base = default_targets("20")
    before = poor_district_outlook(levels, base, 2021, 2025, horizon=2025, as_of=2025).set_index("unit_code")
    assert not before["exited"].any()
    below = before.index[before["below_threshold"]].tolist()
    assert below and set(before.loc[below, "status"]) == {"pending_decision"}  # the threshold only projects
    n = add_decision(store, "20", number="1234/QĐ-TTg", on="2025-12-20", issuer="Thủ tướng Chính phủ",
                     action="exit", status="poor_district", unit_codes=[below[0]], basis="công nhận thoát nghèo",
                     user=editor)
    assert n == 1
    cfg = effective_targets(store, base)
    assert exits(cfg.decisions, "poor_district", 2025)[below[0]].number == "1234/QĐ-TTg"
    after = poor_district_outlook(levels, cfg, 2021, 2025, horizon=2025, as_of=2025).set_index("unit_code")
    assert after.at[below[0], "exited"] and after.at[below[0], "status"] == "met"
    assert "1234/QĐ-TTg" in after.at[below[0], "exit_decision"]
    row = progress_table(levels, cfg).set_index("target_id").loc["one_poor_district_exits"]
    assert (row["exited_now"], row["status"]) == (1, "met")
    # the profile flags follow the decision: poor in 2025, out (by decision) in 2026
    assert unit_flags("20", below[0], "district", 2025, cfg) == ["flag.poor_district"]
    assert designated(cfg.decisions, below[0], 2026, "poor_district") is None
    from povdata.audit import entries
    assert any("1234/QĐ-TTg" in r["summary"] for r in entries(store, action="decision").to_dict("records"))


def test_especially_difficult_communes_are_flagged_by_decision(store_and_editor):
    store, editor, _ = store_and_editor
    add_decision(store, "20", number="861/QĐ-TTg", on="2021-06-04", issuer="Thủ tướng Chính phủ",
                 action="designate", status="difficult_commune", unit_codes=["06034", "06040"],
                 period_start=2021, period_end=2025, user=editor)
    cfg = effective_targets(store, default_targets("20"))
    assert unit_flags("20", "06034", "commune", 2023, cfg) == ["flag.difficult_commune"]
    assert unit_flags("20", "06034", "commune", 2026, cfg) == []
    assert unit_flags("20", "05998", "commune", 2023, cfg) == []


def test_a_viewer_cannot_enter_a_decision(tmp_path):
    viewer = make_user(tmp_path, "viewer")
    with pytest.raises(PermissionDenied):
        add_decision(open_store(tmp_path), "20", number="1/QĐ-TTg", on="2025-01-01", issuer="Thủ tướng Chính phủ",
                     action="exit", status="poor_district", unit_codes=["184"], user=viewer)


def test_the_targets_page_lists_decisions_and_an_editor_adds_one(store_and_editor, monkeypatch):
    store, editor, data_dir = store_and_editor
    monkeypatch.setenv("POVDASH_DATA_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    signed_in(at, editor)
    at.run()
    at.switch_page("pages/targets.py").run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if hasattr(d.value, "columns") and "Số, ký hiệu" in d.value.columns)
    assert "353/QĐ-TTg" in set(table["Số, ký hiệu"])
    at.text_input(key="dec_number").input("1234/QĐ-TTg")
    at.date_input(key="dec_date").set_value("2025-12-20")
    at.multiselect(key="dec_units").set_value(["184"])
    next(b for b in at.button if b.label == "Lưu quyết định").click().run()
    assert not at.exception, at.exception
    assert any("Đã lưu quyết định cho 1 đơn vị" in s.value for s in at.success)
    table = next(d.value for d in at.dataframe if hasattr(d.value, "columns") and "Số, ký hiệu" in d.value.columns)
    assert "1234/QĐ-TTg" in set(table["Số, ký hiệu"]) and "Biên tập viên nhập" in set(table["Nguồn"])
    # the progress page's 2030 panel now says the decision
    at.switch_page("pages/progress.py").run()
    assert not at.exception
    panel = next(d.value for d in at.dataframe if hasattr(d.value, "columns")
                 and "Quyết định thoát nghèo" in d.value.columns)
    assert any("1234/QĐ-TTg" in str(v) for v in panel["Quyết định thoát nghèo"])


def test_the_2030_panel_follows_the_goal_on_the_new_communes(store_and_editor, monkeypatch):
    from povdata.dataset import new_commune_membership
    from povdata.progress import difficult_communes_left, new_communes_of
    store, editor, data_dir = store_and_editor
    ds = load_demo("20")
    levels = level_table(ds)
    cfg = default_targets("20")
    out = poor_district_outlook(levels, cfg, 2021, 2030, horizon=2030).set_index("unit_code")
    # the 2025 review is on the new communes: Bình Gia's 2025 figure is an estimate (2026 starts a new series)
    assert out.loc["181", "latest_year"] == 2025 and out.loc["181", "estimated"]
    nc = new_communes_of(levels, new_commune_membership(ds), "181", 2025)
    assert len(nc) >= 5 and nc["poverty_rate"].notna().all()
    # the district's estimate is the households of its new communes' shares (never an average of rates)
    assert nc["poverty_rate"].min() <= out.loc["181", "latest_rate"] <= nc["poverty_rate"].max()
    # especially difficult communes by decision, on the new communes
    assert difficult_communes_left(cfg, 2026) == []
    new = nc["unit_code"].iloc[0]
    add_decision(store, "20", number="612/QĐ-UBDT", on="2026-09-01", issuer="Ủy ban Dân tộc", action="designate",
                 status="difficult_commune", unit_codes=[new], period_start=2026, period_end=2030, user=editor)
    cfg2 = effective_targets(store, cfg)
    assert difficult_communes_left(cfg2, 2026) == [new]
    monkeypatch.setenv("POVDASH_DATA_DIR", str(data_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    signed_in(at, editor)
    at.run()
    at.switch_page("pages/progress.py").run()
    assert not at.exception
    assert any(e.label == "Các xã mới trên địa bàn các huyện nghèo cũ, năm 2026" for e in at.expander)
    assert any("(ước tính): sau 1/7/2025 không còn cấp huyện" in c.value for c in at.caption)
    assert next(m for m in at.metric if m.label.startswith("Xã đặc biệt khó khăn còn lại")).value == "1"


def test_the_2030_caption_is_vietnamese_throughout(monkeypatch, tmp_path):
    from app_helpers import run_app
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path))
    at = run_app("pages/progress.py")
    caption = next(c.value for c in at.caption if "Thoát nghèo theo quyết định công nhận" in c.value)
    assert "set by the user" not in caption and "do người dùng đặt" in caption
