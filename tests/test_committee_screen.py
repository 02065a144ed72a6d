"""Issue 15 in AppTest: the map's breadcrumb remembers the level and the district the user came
from (before and after the 2025 reform), charts fill the window the browser reports, and
presentation mode draws each chart once, larger, within one screen."""
from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest

from app_helpers import APP


def _map(**query: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/map.py").run()
    assert not at.exception, at.exception
    return at


def _crumbs(at: AppTest) -> list[str]:
    return [b.label for b in at.button if b.key and b.key.startswith("crumb_")]


def _q(at: AppTest, key: str):
    v = at.query_params.get(key)
    return v[0] if isinstance(v, list) else v


def _figure(at: AppTest, index: int = 0) -> dict:
    return json.loads(at.get("plotly_chart")[index].proto.spec)


def test_a_new_commune_opened_from_a_former_district_keeps_it_in_the_trail():
    # 06073-2025 is a new commune on the territory of the former Huyện Bình Gia (181)
    at = _map(unit="06073-2025", year="2026", via="181")
    assert _crumbs(at) == ["Tỉnh Lạng Sơn", "Huyện Bình Gia"]
    # the map stays on the former district's new communes (not the whole province)
    from povdata.dataset import load_demo, new_commune_membership
    m = new_commune_membership(load_demo("20"))
    codes = set(_figure(at)["data"][0]["locations"])
    assert codes == set(m.loc[m["district_code"] == "181", "unit_code"])
    at.button(key="crumb_181").click().run()
    assert not at.exception
    assert _q(at, "unit") == "181" and _q(at, "via") is None
    assert at.header[0].value == "Huyện Bình Gia"


def test_a_via_that_does_not_hold_the_commune_is_ignored():
    # 178 (the city) does not cover 06073-2025: no made-up trail
    at = _map(unit="06073-2025", year="2026", via="178")
    assert _crumbs(at) == ["Tỉnh Lạng Sơn"]
    at = _map(unit="06073-2025", year="2026")
    assert _crumbs(at) == ["Tỉnh Lạng Sơn"]


def test_the_province_crumb_returns_to_the_level_the_user_left():
    # the province map at commune level, then a district: the URL keeps "commune" as the
    # province's level, and the province crumb brings back the 194 communes
    at = _map(year="2020", level="commune")
    assert at.radio(key="map_level").value == "commune"
    at.query_params["unit"] = "181"
    at.run()
    assert not at.exception and at.header[0].value == "Huyện Bình Gia"
    assert _q(at, "level") == "commune"
    at.button(key="crumb_20").click().run()
    assert at.radio(key="map_level").value == "commune"
    # and at district level, the district level
    at = _map(year="2020", level="district")
    at.query_params["unit"] = "181"
    at.run()
    at.button(key="crumb_20").click().run()
    assert at.radio(key="map_level").value == "district"


def test_the_map_fills_the_window_the_browser_reported():
    at = _map(year="2026")
    assert _figure(at)["layout"]["height"] == 660  # window unknown (no browser)
    at.session_state["viewport_sync"] = "1366x768"
    at.run()
    assert _figure(at)["layout"]["height"] == 768 - 250 - 12
    at.session_state["viewport_sync"] = "1366x400"  # never smaller than a usable map
    at.run()
    assert _figure(at)["layout"]["height"] == 420
    at.session_state["viewport_sync"] = "junk<script>"
    at.run()
    assert not at.exception and _figure(at)["layout"]["height"] == 660


def test_presentation_mode_enlarges_text_and_keeps_the_navigation():
    at = _map(year="2026", present="1")
    at.session_state["viewport_sync"] = "1920x1080"
    at.run()
    assert not at.exception
    fig = _figure(at)
    # the map fills the window below the bar at the projector's text scale (168,75%)
    assert fig["layout"]["height"] == int(1080 - 250 * 1.6875 - 12)
    # text 1,6875 × larger than on the laptop, legend included; the title is the figure's, once
    plain = _map(year="2026")
    plain.session_state["viewport_sync"] = "1920x1080"
    plain.run()
    base = _figure(plain)
    assert fig["layout"]["font"]["size"] > base["layout"].get("font", {}).get("size", 12) * 1.6
    assert fig["layout"]["legend"]["font"]["size"] > base["layout"]["legend"]["font"]["size"] * 1.6
    assert fig["layout"]["title"]["text"] == base["layout"]["title"]["text"]
    # the year (the figure's slider) and the way back (breadcrumb, level) are kept
    assert fig["layout"]["sliders"]
    assert at.radio(key="map_level") is not None
    assert at.button(key="present_exit") is not None


def test_presentation_mode_caps_a_chart_to_one_screen():
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["present"] = "1"
    at.run()
    at.session_state["viewport_sync"] = "1280x720"
    at.run()
    assert not at.exception
    for chart in at.get("plotly_chart"):
        assert json.loads(chart.proto.spec)["layout"]["height"] <= 720 - 60 * 1.125, chart.key


def _whatif() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    at.switch_page("pages/whatif.py").run()
    assert not at.exception, at.exception
    return at


def _target_tables(at: AppTest) -> list:
    """The "year each target is reached" tables, in page order: the sliders' scenario, then
    the left and the right one of the side-by-side comparison."""
    return [d.value for d in at.dataframe if hasattr(d.value, "columns") and "Năm đạt (dự báo)" in d.value.columns]


def test_whatif_says_the_year_each_target_is_reached():
    at = _whatif()
    t = _target_tables(at)[0]
    rows = dict(zip(t["Mục tiêu"], t["Năm đạt (dự báo)"]))
    assert rows["Không còn huyện nghèo năm 2030"] == "2028"
    assert rows["Toàn tỉnh: giảm từ 1 điểm %/năm trở lên (2026-2030)"] == "2030"
    at.select_slider(key="wi_prov").set_value(0.5).run()
    at.select_slider(key="wi_poor").set_value(0.5).run()
    t = _target_tables(at)[0]
    assert set(t["Năm đạt (dự báo)"]) == {"Chưa đạt trước 2030"}
    assert set(t["Tình trạng"]) == {"Không đạt"}


def test_two_saved_scenarios_side_by_side():
    at = _whatif()
    assert not [s for s in at.selectbox if s.key == "wi_side_a"]  # nothing saved: nothing to compare
    at.text_input(key="wi_name").input("Nhanh").run()
    at.select_slider(key="wi_poor").set_value(8.0).run()
    at.button(key="wi_save").click().run()
    at.text_input(key="wi_name").input("Chậm").run()
    at.select_slider(key="wi_poor").set_value(1.0).run()
    at.button(key="wi_save").click().run()
    assert not at.exception
    a = at.selectbox(key="wi_side_a")
    assert a.options == ["Kịch bản đang chỉnh (thanh trượt)", "Nhanh", "Chậm"]
    a.set_value("Nhanh").run()
    at.selectbox(key="wi_side_b").set_value("Chậm").run()
    tables = _target_tables(at)
    assert len(tables) == 3
    left, right = tables[1], tables[2]
    goal = "Không còn huyện nghèo năm 2030"
    years = {"left": dict(zip(left["Mục tiêu"], left["Năm đạt (dự báo)"]))[goal],
             "right": dict(zip(right["Mục tiêu"], right["Năm đạt (dự báo)"]))[goal]}
    assert years["left"] != years["right"]  # 8 pp/yr reaches it, 1 pp/yr does not
    assert years["right"] == "Chưa đạt trước 2030"
    charts = {c.key for c in at.get("plotly_chart") if c.key}
    assert {"whatif_side_a", "whatif_side_b"} <= charts


def test_no_none_in_any_table_cell():
    """Issue 15: 'None' appeared in scorecard cells (Streamlit draws every empty cell as 'None').
    Every table of every page (districts, a district, a new commune with its flows since 2015,
    the scorecard with its communes, the what-if, the targets) has no empty cell: '–' instead."""
    import pandas as pd

    from app_helpers import run_app

    views = [("pages/overview.py", {}), ("pages/map.py", {"unit": "181", "year": "2024"}),
             ("pages/map.py", {"unit": "06073-2025", "year": "2026"}), ("pages/progress.py", {}),
             ("pages/whatif.py", {}), ("pages/targets.py", {})]
    seen = 0
    for page, query in views:
        at = run_app(page, **query)
        if page == "pages/progress.py":
            at.selectbox(key="progress_district").set_value("181").run()
        for d in at.dataframe:
            v = d.value
            if not isinstance(v, pd.DataFrame):
                continue
            seen += 1
            # st.dataframe writes 'None' in any empty cell, whatever a Styler's na_rep says
            for c in v.columns:
                bad = v[c][v[c].isna() | v[c].astype(str).isin(["None", "nan", "<NA>", "NaT"])]
                assert bad.empty, f"{page} {query}: column {c!r} shows {list(bad[:3])} as 'None'"
    assert seen >= 8
