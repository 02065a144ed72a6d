"""The paragraph per unit: its numbers are the engine's (the charts' series, the scorecard's
verdict), in both languages, on the overview, the unit profile and the briefing."""
from __future__ import annotations

import pytest

from app_helpers import run_app
from povdata.dataset import level_table, load_demo
from povdata.i18n import fmt_pace, fmt_pp, fmt_rate, t
from povdata.indicators import with_previous_year
from povdata.narrative import unit_narrative
from povdata.targets import default_targets
from povdata.verdicts import unit_verdicts
from povdata.views import series


@pytest.fixture(scope="module")
def demo():
    return level_table(load_demo("20")), default_targets("20")


def test_the_province_paragraph_reads_as_the_committee_would_say_it(demo):
    levels, cfg = demo
    n = unit_narrative(levels, cfg, "20", 2025, "vi")
    assert n.text == ("Năm 2025, tỷ lệ hộ nghèo 2,32%, giảm 1,04 điểm % so với 2024. Bình quân giai đoạn 2021-2025 "
                      "(số liệu đến 2025) giảm 2,47 điểm %/năm, chưa đạt chỉ tiêu giảm ít nhất 3 điểm %/năm.")
    en = unit_narrative(levels, cfg, "20", 2025, "en").text
    assert en.startswith("In 2025 the poverty rate was 2.32%, down 1.04 pp on 2024.") and "target not met" in en


@pytest.mark.parametrize("unit, level", [("20", "province"), ("181", "district"), ("184", "district"),
                                         ("178", "district"), ("06034", "commune"), ("05998", "commune")])
@pytest.mark.parametrize("year", [2022, 2023, 2024, 2025])
def test_the_numbers_in_the_paragraph_are_the_engines(demo, unit, level, year):
    levels, cfg = demo
    n = unit_narrative(levels, cfg, unit, year, "vi")
    s = with_previous_year(series(levels, unit), "poverty_rate").set_index("year")
    if year not in s.index:  # the old communes have no 2025 review (it is on the new communes)
        assert n.rate is None and "Chưa có số liệu" in n.text
        return
    assert n.rate == pytest.approx(s.at[year, "poverty_rate"])
    assert fmt_rate(n.rate) in n.text
    if n.change_pp is not None:
        assert n.change_pp == pytest.approx(s.at[year, "poverty_rate_change"])
        assert fmt_pp(abs(n.change_pp)) in n.text
    v = unit_verdicts(levels, cfg, level, year).set_index("unit_code").loc[unit]
    assert (n.status, n.period_id, n.as_of) == (v["status"], v["period_id"], v["as_of"])
    if v["status"] not in ("no_data", "not_applicable"):
        assert n.achieved_pp_per_year == pytest.approx(v["achieved_pp_per_year"])
        assert fmt_pace(v["achieved_pp_per_year"]) in n.text
        assert t(f"narrative.status_{v['status']}", "vi") in n.text
        assert f"2021-2025 (số liệu đến {v['as_of']})" in n.text
    # a district judged against the province's rule says so (the province's reference, not its own)
    assert ("chỉ tiêu chung của tỉnh" in n.text) == (v["basis"] == "reference")


def test_a_new_standard_is_not_compared_with_the_year_before(demo):
    levels, cfg = demo
    n = unit_narrative(levels, cfg, "20", 2026, "vi")
    assert n.change_pp is None and "lần rà soát đầu tiên theo chuẩn nghèo đa chiều 2026-2030" in n.text
    # and the period just finished is said with its verdict, as the overview's pace card says it
    assert (n.period_id, n.as_of, n.status) == ("2021-2025", 2025, "not_met")
    assert "Bình quân giai đoạn 2021-2025 (số liệu đến 2025) giảm 2,47 điểm %/năm, chưa đạt chỉ tiêu" in n.text


def _unescape(text: str) -> str:
    return text.replace("\\", "")


def test_overview_profile_and_briefing_show_the_same_paragraph(demo):
    levels, cfg = demo
    from povdata.published import published_figures
    pub = published_figures()
    at = run_app()  # the overview shows the latest review, 2026
    assert any(_unescape(m.value) == unit_narrative(levels, cfg, "20", 2026, "vi", pub).text for m in at.markdown)
    at = run_app(lang="en")
    assert any(_unescape(m.value) == unit_narrative(levels, cfg, "20", 2026, "en", pub).text for m in at.markdown)
    at = run_app("pages/map.py", unit="184", year="2024")
    assert any(_unescape(m.value) == unit_narrative(levels, cfg, "184", 2024, "vi", pub).text for m in at.markdown)
    from povdata.briefing import build_pack
    pack = build_pack(load_demo("20"), 2025, "vi", render=False)
    box = next(i for i in pack.slides[0].items if getattr(i, "name", "") == "summary")
    assert box.paras[0].text == unit_narrative(levels, cfg, "20", 2025, "vi", pub).text
    assert "(số liệu công bố: Quyết định 83/QĐ-UBND)" in box.paras[0].text


def test_the_map_tooltip_labels_the_provinces_target_as_a_reference(demo):
    from povdata.views import map_table
    levels, cfg = demo
    shown = map_table(levels, cfg, "district", 2024, "target_status")
    ref = "so với chỉ tiêu chung của tỉnh"
    assert ref in shown.loc["178", "hover"]       # Thành phố Lạng Sơn: the province's rule as a reference
    assert ref not in shown.loc["184", "hover"]   # Văn Quan: a poor district, its own rule (> 5 pp/yr)


def test_published_figures_win_over_computed_ones_and_the_difference_is_shown(demo):
    """2024: the province published 6.912 poor households (press); the demo's communes sum to
    another number: the card shows the published one, says its source and the units' sum; the
    change is between two published figures (2025's 4.643 from Quyết định 83/QĐ-UBND), never a
    published one minus a computed one."""
    from povdata.progress import progress_table
    from povdata.published import published_figures
    from povdata.views import province_kpis
    levels, cfg = demo
    pr = progress_table(levels, cfg)
    k24 = {k.key: k for k in province_kpis(levels, pr, "20", 2024, "vi", published_figures())}
    poor = k24["kpi.poor_households"]
    computed = int(levels[(levels["unit_code"] == "20") & (levels["year"] == 2024)]["poor_households"].iloc[0])
    assert poor.value == "6.912" and computed != 6912
    assert "số liệu công bố" in poor.note and f"tổng từ số liệu các đơn vị: {computed:,}".replace(",", ".") in poor.note
    assert poor.delta is None  # 2023 has no published count: no change across published and computed
    k25 = {k.key: k for k in province_kpis(levels, pr, "20", 2025, "vi", published_figures())}
    assert (k25["kpi.poor_households"].value, k25["kpi.poor_households"].delta) == ("4.643", "-2.269")
    assert "Quyết định 83/QĐ-UBND" in k25["kpi.poor_households"].note
    # without published figures, the computed ones
    plain = {k.key: k for k in province_kpis(levels, pr, "20", 2024, "vi")}
    assert plain["kpi.poor_households"].value == f"{computed:,}".replace(",", ".")


@pytest.mark.parametrize("year, marked", [(2024, False), (2025, True)])
def test_district_figures_after_the_reform_are_marked_as_estimates_in_the_briefing(year, marked):
    from povdata.briefing import build_pack
    pack = build_pack(load_demo("20"), year, "vi", render=False)
    mark = "ước tính: sau 1/7/2025, số liệu huyện là tổng các xã mới trên địa bàn huyện cũ"
    pic = next(p for p in pack.pictures if p.name == "province_map")
    assert (mark in pic.frame.subtitle) == marked
    score = next(s for s in pack.slides if s.title.startswith("Bảng đánh giá") or "2021-2025" in s.title
                 and any(hasattr(i, "rows") for i in s.items))
    assert (mark in score.subtitle) == marked
