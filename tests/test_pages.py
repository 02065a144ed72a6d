"""Page logic through Streamlit's AppTest (no browser): every test asserts no exception."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import run_app

APP = str(Path(__file__).resolve().parents[1] / "dashboard.py")


def _app(page: str | None = None, **query: str) -> AppTest:
    return run_app(page, **query)


def _texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.warning]
    parts += [e.value for e in at.header] + [e.value for e in at.subheader] + [e.value for e in at.title]
    return "\n".join(str(p) for p in parts)


def test_overview_is_vietnamese_with_labelled_figures():
    at = _app()
    assert at.title[0].value == "Theo dõi mục tiêu giảm nghèo — Tỉnh Lạng Sơn"
    assert "Số liệu minh họa" in at.caption[0].value and at.caption[0].proto.help  # one line, the detail in ⓘ
    metrics = {m.label: m.value for m in at.metric}
    # the latest review of the demo is 2026, the first under the 2026-2030 standard
    # (data/standards.csv): a new series, so no change from 2025 is shown
    assert metrics["Tỷ lệ hộ nghèo"] == "6,10%"
    kpi = next(m for m in at.metric if m.label == "Tỷ lệ hộ nghèo")
    assert not kpi.proto.delta
    # the 2021-2025 period average, from the published 12,20% (2021) and 2,32% (2025), named as such
    assert metrics["Giảm bình quân mỗi năm"] == "2,47"
    assert "2021-2025" in _texts(at) and "Chuẩn nghèo đa chiều 2022-2025" in _texts(at)
    # every KPI states its year and poverty standard
    assert _texts(at).count("Năm 2026 · Chuẩn nghèo đa chiều 2026-2030") >= 3


def test_overview_in_english():
    at = _app()
    at.sidebar.radio[0].set_value("en").run()
    assert not at.exception
    assert at.title[0].value.startswith("Poverty-reduction targets")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Poverty rate"] == "6.10%"  # 2026, the first review under the 2026-2030 standard


@pytest.mark.parametrize("query, header", [
    ({"unit": "181", "year": "2024"}, "Huyện Bình Gia"),
    ({"unit": "05971", "year": "2020"}, "Phường Hoàng Văn Thụ"),
    ({"unit": "189"}, "Huyện Đình Lập"),
])
def test_map_opens_the_unit_in_the_url(query, header):
    at = _app("pages/map.py", **query)
    assert header in [h.value for h in at.header]
    assert at.query_params["unit"] == [query["unit"]] or at.query_params["unit"] == query["unit"]


def test_commune_profile_shows_rank_and_breadcrumb():
    at = _app("pages/map.py", unit="05971", year="2020")
    text = _texts(at)
    assert "xã của tỉnh về tỷ lệ hộ nghèo" in text
    buttons = [b.label for b in at.button]
    assert "Tỉnh Lạng Sơn" in buttons and "Thành phố Lạng Sơn" in buttons


def test_breadcrumb_goes_back_up():
    at = _app("pages/map.py", unit="05971", year="2020")
    next(b for b in at.button if b.label == "Thành phố Lạng Sơn").click().run()
    assert not at.exception
    assert "Thành phố Lạng Sơn" in [h.value for h in at.header]


@pytest.mark.parametrize("query", [
    {"unit": "zzz"}, {"year": "abc"}, {"year": "1990"}, {"ind": "nonsense", "scheme": "bogus"},
])
def test_map_survives_bad_query_strings(query):
    at = _app("pages/map.py", **query)
    assert at.title[0].value == "Bản đồ"


@pytest.mark.parametrize("indicator", ["poverty_rate", "near_poor_rate", "poor_households",
                                       "poverty_rate_change", "period_pace", "target_status"])
@pytest.mark.parametrize("scheme", ["official", "quantile", "equal", "custom"])
def test_every_indicator_and_scheme_draws(indicator, scheme):
    at = _app("pages/map.py", ind=indicator, scheme=scheme, level="commune")
    assert at.selectbox(key="map_indicator").value == indicator


@pytest.mark.parametrize("query, level_options", [
    ({"year": "2026"}, ["district", "commune_2025"]),
    ({"year": "2020"}, ["district", "commune", "commune_2025"]),
])
def test_level_chooser_follows_the_reform(query, level_options):
    at = _app("pages/map.py", **query)
    assert at.radio(key="map_level").options == [
        {"district": "Huyện (cũ, trước 1/7/2025)", "commune": "Xã cũ (trước 1/7/2025)",
         "commune_2025": "Xã mới (từ 1/7/2025)"}[o] for o in level_options]


def test_2026_map_of_the_65_new_communes():
    at = _app("pages/map.py", year="2026", level="commune_2025")
    assert at.radio(key="map_level").value == "commune_2025"
    assert not at.info or all("Không có số liệu" not in i.value for i in at.info)


def test_former_district_after_the_reform_shows_its_new_communes_marked_as_estimates():
    at = _app("pages/map.py", unit="183", year="2026")
    assert "Huyện Cao Lộc" in [h.value for h in at.header]
    assert any("Từ năm 2025 không còn cấp huyện" in c.value for c in at.caption)


def test_new_commune_profile_lists_its_old_communes():
    at = _app("pages/map.py", unit="06184-2025", year="2026")  # Xã Đồng Đăng: Cao Lộc + part of Bình Gia
    assert "Xã Đồng Đăng" in [h.value for h in at.header]
    assert any("Hình thành từ các xã cũ" in m.value for m in at.markdown)
    labels = [b.label for b in at.button]
    assert any(label.startswith("Xã Hồng Phong (tỷ trọng") for label in labels)  # the divided Bình Gia commune
    assert any("nhiều huyện cũ" in c.value for c in at.caption)


def test_old_commune_profile_shows_where_it_went():
    at = _app("pages/map.py", unit="05971", year="2020")  # Phường Hoàng Văn Thụ → Phường Kỳ Lừa
    assert any("Từ 1/7/2025 thuộc" in m.value for m in at.markdown)
    assert "Phường Kỳ Lừa" in [b.label for b in at.button]


def test_first_year_has_no_change_values_listed_as_no_data():
    # 2015 is the first review: no change vs previous year, so every district is 'no data'
    at = _app("pages/map.py", ind="poverty_rate_change", year="2015")
    assert any("Không có số liệu (11 đơn vị)" in i.value for i in at.info)


def test_progress_page_scorecard_and_2030_panel():
    at = _app("pages/progress.py")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Năm gốc 2021"] == "12,20%" and metrics["Năm 2025"] == "2,32%"
    assert metrics["Đã giảm bình quân (điểm %/năm)"] == "2,47"
    assert "Huyện nghèo còn lại năm 2030 theo tốc độ hiện tại" in metrics
    assert len(at.dataframe) >= 2  # scorecard + 2030 panel


def test_progress_page_2016_2020_reports_3_61_met():
    at = _app("pages/progress.py", period="2016-2020")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Đã giảm bình quân (điểm %/năm)"] == "3,61"
    assert metrics["Tình trạng"] == "Đạt"


def test_progress_page_expands_to_communes():
    at = _app("pages/progress.py")
    at.selectbox(key="progress_district").set_value("181").run()
    assert not at.exception
    assert any("Các xã của Huyện Bình Gia" in m.value for m in at.markdown)
    assert len(at.dataframe) >= 3


def test_whatif_sliders_live_in_the_url_and_change_nothing_stored():
    from povdata.dataset import demo_dir
    before = (demo_dir("20") / "indicators.csv").read_bytes()
    at = _app("pages/whatif.py")
    at.select_slider(key="wi_prov").set_value(1.5).run()
    at.radio(key="wi_model").set_value("share").run()
    assert not at.exception
    assert at.query_params["sc_prov"] in ("1.5", ["1.5"])
    assert at.query_params["sc_model"] in ("share", ["share"])
    # the pace reads the Vietnamese way on the slider
    assert at.select_slider(key="wi_prov").proto.options[15] == "1,5"
    at.button(key="wi_save").click().run()  # no name: refused, nothing saved
    assert at.session_state["scenarios"] == [] and "Hãy đặt tên" in at.error[0].value
    at.text_input(key="wi_name").input("Thận trọng").run()
    at.button(key="wi_save").click().run()
    assert [x.name for x in at.session_state["scenarios"]] == ["Thận trọng"]
    at.select_slider(key="wi_prov").set_value(2.0).run()
    at.button(key="wi_save").click().run()  # the same name twice: refused
    assert len(at.session_state["scenarios"]) == 1 and "Đã có kịch bản tên" in at.error[0].value
    assert (demo_dir("20") / "indicators.csv").read_bytes() == before


def test_whatif_answers_beside_the_sliders():
    at = _app("pages/whatif.py")
    metrics = {m.label: m.value for m in at.metric}
    assert "Tỷ lệ dự báo 2030" in metrics
    # a slow pace for the poor districts: they are named as still above the threshold
    at.select_slider(key="wi_poor").set_value(0.0).run()
    warning = " ".join(w.value for w in at.warning)
    assert "vẫn còn trên ngưỡng" in warning and "Huyện Bình Gia" in warning
    at.select_slider(key="wi_poor").set_value(8.0).run()
    assert "mọi huyện nghèo xuống dưới ngưỡng" in " ".join(x.value for x in at.success)
    chart = next(c for c in at.get("plotly_chart") if c.key == "whatif_chart") if hasattr(at, "get") else None
    if chart is not None:
        import json
        layout = json.loads(chart.proto.spec)["layout"]
        assert layout["yaxis"]["range"][1] < 27  # zoomed: the projection does not lie on the axis


def test_whatif_reopens_a_shared_scenario():
    at = _app("pages/whatif.py", sc_prov="1.2", sc_poor="4", sc_model="share", sc_name="Thận trọng")
    assert at.select_slider(key="wi_prov").value == 1.2
    assert at.select_slider(key="wi_poor").value == 4.0
    assert at.radio(key="wi_model").value == "share"
    assert at.text_input(key="wi_name").value == "Thận trọng"


def test_broken_targets_file_shows_its_message_not_a_traceback(tmp_path, monkeypatch):
    import streamlit as st

    import povdata.targets as targets

    (tmp_path / "20.toml").write_text('province_code = "20"\n[[period]]\nid = "x"\nstart = 2021\nend = 2025\n'
                                      'baseline_year = 2021\nstandard = "2021-2025"\n[[period.target]]\n'
                                      'id = "t1"\nscope = "province"\nrule = "double_it"\nvalue = 3\n',
                                      encoding="utf-8")
    monkeypatch.setattr(targets, "TARGETS_DIR", tmp_path)
    st.cache_resource.clear()
    st.cache_data.clear()
    try:
        at = _app("pages/progress.py")
        message = " ".join(e.value for e in at.error)
        message = message.replace("\\", "")  # shown escaped (markdown)
        assert "20.toml" in message and "t1" in message and "rule" in message
    finally:
        st.cache_resource.clear()
        st.cache_data.clear()


def test_maps_open_on_spread_bands_and_the_report_bands_suggest_them():
    # the default bands follow the province's own values (issue 15)
    at = _app("pages/map.py", year="2025", level="commune_2025")
    assert at.selectbox(key="map_scheme").value == "spread" and at.query_params["scheme"] in ("spread", ["spread"])
    assert not any("cùng một mức" in c.value for c in at.caption)
    # in 2025 almost every new commune is under 10%: the report bands say little, and say so
    at = _app("pages/map.py", year="2025", level="commune_2025", scheme="official")
    assert any("Theo phân bố thực tế" in c.value and "cùng một mức" in c.value for c in at.caption)
    at = _app("pages/map.py", year="2015", level="commune", scheme="official")
    assert not any("cùng một mức" in c.value for c in at.caption)


def test_the_briefing_opens_on_the_last_year_a_period_judges():
    at = _app()
    # the overview shows 2026 (the latest review), the briefing pack opens on 2025 (with its
    # scorecard and poor-district slides: no target period judges 2026 yet)
    assert at.selectbox(key="briefing_year").value == 2025
    assert 2026 in at.selectbox(key="briefing_year").options or "2026" in at.selectbox(key="briefing_year").options
