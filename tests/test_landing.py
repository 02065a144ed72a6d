"""The landing page's answer (povdata.landing): the period judged, the verdict cells, the 2030
outlook, the districts behind; and the spread bands the maps open with (povdata.classify)."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from app_helpers import run_app
from povdata.classify import breaks_for, spread_breaks
from povdata.dataset import level_table, load_demo
from povdata.designations import Decision
from povdata.landing import landing_answer, landing_period
from povdata.progress import progress_table
from povdata.targets import default_targets
from povdata.verdicts import unit_verdicts


@pytest.fixture(scope="module")
def demo():
    return level_table(load_demo("20")), default_targets("20")


def _cells(answer):
    return {c.key: c for c in answer.cells + answer.outlook}


def test_first_review_of_a_new_standard_judges_the_period_just_ended(demo):
    levels, cfg = demo
    # 2026 is the first review under the 2026-2030 standard: that period has no pace yet, so the
    # landing page judges 2021-2025 as of 2025, and says why
    period, as_of = landing_period(cfg, 2026)
    assert (period.id, as_of) == ("2021-2025", 2025)
    a = landing_answer(levels, cfg, "vi")
    assert (a.period_id, a.as_of) == ("2021-2025", 2025)
    assert a.caption.startswith("Giai đoạn 2021-2025, số liệu đến 2025.") and "2026" in a.caption


def test_cells_are_the_verdict_engines(demo):
    levels, cfg = demo
    cells = _cells(landing_answer(levels, cfg, "vi"))
    # province: (12,20 − 2,32) / 4 = 2,47 pp/yr against "at least 3": not met
    prov = cells["province"]
    assert (prov.title, prov.value, prov.unit, prov.status, prov.label) == (
        "Tỉnh Lạng Sơn", "2,47", "điểm %/năm", "not_met", "Không đạt")
    assert prov.detail == "Chỉ tiêu: giảm từ 3 điểm %/năm trở lên"  # period over: no pace "still needed"
    # the poor districts of 2021-2025 (Bình Gia 181, Văn Quan 184), each against "more than 5"
    dist = unit_verdicts(levels, cfg, "district", 2025, period_id="2021-2025").set_index("unit_code")
    for code in ("181", "184"):
        c = cells[f"district_{code}"]
        assert c.status == dist.at[code, "status"]
        assert c.value == f"{dist.at[code, 'achieved_pp_per_year']:.2f}".replace(".", ",")
        assert c.detail == "Chỉ tiêu: giảm trên 5 điểm %/năm"
    assert cells["district_181"].status == "met" and cells["district_184"].status == "not_met"
    assert not any(k.startswith("district_") and k[9:] not in ("181", "184") for k in cells)


def test_districts_behind_and_milestones_match_the_progress_table(demo):
    levels, cfg = demo
    a = landing_answer(levels, cfg, "vi")
    dist = unit_verdicts(levels, cfg, "district", 2025, period_id="2021-2025")
    expected = dist.loc[dist["status"].isin(["off_track", "at_risk", "not_met"]), "name"].tolist()
    assert a.behind == expected == ["Huyện Văn Quan"] and a.districts == 11
    table = progress_table(levels, cfg, as_of=2026).set_index("target_id")
    cells = _cells(a)
    one = cells["2021-2025:one_poor_district_exits"]
    # no exit decision in the demo; one district below the assumed threshold: awaiting the decision
    assert (one.value, one.status, one.label) == ("0/2", table.at["one_poor_district_exits", "status"],
                                                  "Chờ quyết định thoát nghèo")
    none_left = cells["2021-2030:no_poor_district_2030"]
    assert none_left.title == "Không còn huyện nghèo năm 2030"
    row = table.loc["no_poor_district_2030"]
    assert none_left.value == str(int(row["poor_districts"] - row["exited_projected"]))
    assert none_left.status == row["status"]
    # no especially-difficult-commune decision entered: no cell (0 would claim the goal met)
    assert "difficult_communes" not in cells


def test_a_running_period_says_the_pace_still_needed(demo):
    levels, cfg = demo
    a = landing_answer(levels[levels["year"] <= 2023], cfg, "vi")
    assert (a.period_id, a.as_of) == ("2021-2025", 2023)
    prov = _cells(a)["province"]
    assert prov.status in ("on_track", "at_risk", "off_track")
    if prov.status != "on_track":
        assert "cần " in prov.detail and "mỗi năm còn lại" in prov.detail


def test_difficult_communes_are_counted_from_decisions(demo):
    levels, cfg = demo
    d = Decision("20", "1/QĐ-TTg", "2021-06-01", "Thủ tướng", "designate", "difficult_commune", "06214", 2021, None)
    out = Decision("20", "2/QĐ-TTg", "2024-06-01", "Thủ tướng", "exit", "difficult_commune", "06214")
    cells = _cells(landing_answer(levels, replace(cfg, decisions=cfg.decisions + (d,)), "vi"))
    assert cells["difficult_communes"].value == "1" and cells["difficult_communes"].status == "off_track"
    cells = _cells(landing_answer(levels, replace(cfg, decisions=cfg.decisions + (d, out)), "vi"))
    assert cells["difficult_communes"].value == "0" and cells["difficult_communes"].status == "met"


def test_english_cells(demo):
    levels, cfg = demo
    cells = _cells(landing_answer(levels, cfg, "en"))
    assert (cells["province"].value, cells["province"].unit, cells["province"].label) == ("2.47", "pp/yr", "Not met")
    assert cells["2021-2030:no_poor_district_2030"].title == "No poor district left in 2030"


def test_no_province_rows_is_an_answer_not_an_error(demo):
    levels, cfg = demo
    a = landing_answer(levels.iloc[0:0], cfg, "vi")
    assert a.period_id is None and a.cells == [] and a.caption


# ---- spread bands --------------------------------------------------------------------------------
def test_spread_breaks_follow_the_values_and_read_well():
    v = pd.Series([0.4, 0.9, 1.2, 2.6, 3.1, 3.3, 4.8, 6.2, 8.9, 9.7, 12.4])
    b = spread_breaks(v, 5)
    assert b == sorted(b) and len(set(b)) == len(b) and 2 <= len(b) <= 4
    assert all(v.min() < x <= v.max() for x in b)
    # readable: half-steps of the value's order of magnitude (3,5 not 3,27)
    assert all(round(x / (10 ** __import__("math").floor(__import__("math").log10(x)) / 2), 6).is_integer() for x in b)
    # each band holds units (the point of the default: the palest band is not everyone)
    idx = pd.cut(v, [-1e9] + b + [1e9], right=False).value_counts()
    assert (idx > 0).all() and idx.max() <= 5
    assert breaks_for(v, "spread") == b


def test_spread_breaks_without_spread():
    assert spread_breaks(pd.Series([5.0, 5.0, 5.0])) == []
    assert spread_breaks(pd.Series([], dtype=float)) == []


def test_demo_2026_districts_are_not_washed_out(demo):
    levels, _ = demo
    v = levels[(levels["level"] == "district") & (levels["year"] == 2026)]["poverty_rate"]
    official = pd.cut(v, [-1e9, 10, 30, 1e9], right=False).value_counts().max()
    spread = pd.cut(v, [-1e9] + spread_breaks(v) + [1e9], right=False).value_counts().max()
    assert official >= 9 and spread <= 4  # 9 of 11 districts in the palest report band


# ---- the page ----------------------------------------------------------------------------------
def test_landing_page_shows_the_answer_first():
    at = run_app()
    bodies = [h.proto.body for h in at.get("html")]
    cells = [b for b in bodies if b.startswith("<div class=\"povdash-cell\"")]
    assert len(cells) == 5
    assert "Tỉnh Lạng Sơn" in cells[0] and "2,47" in cells[0] and "Không đạt" in cells[0]
    assert "Huyện Bình Gia" in cells[1] and "Đạt" in cells[1]
    assert "Không còn huyện nghèo năm 2030" in cells[4]
    # one line of data status, not a banner plus a caption
    assert not at.warning
    assert at.caption[0].value.startswith(":orange-badge[⚠️ Số liệu minh họa]")
    # the map is the spread one: its legend names the demo 2026 breaks, not "< 10%"
    import json
    fig = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = [t.get("name", "") for t in fig["data"]]
    assert any("3%" in n for n in names) and not any(n.startswith("< 10%") for n in names)
