"""The dashboard in a real browser: Vietnamese by default, offline, map drill-down by click."""
from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip, or fail under POVDASH_REQUIRE_BROWSER=1, with a clear message
    expect = None

from browser_helpers import (ARTIFACTS, click_shape, click_year_step, hover_name, map_shapes, open_app, query, shape_codes,
                             wait_for_map, wait_for_map_codes, wait_for_query, wait_idle)

pytestmark = pytest.mark.browser

N_DISTRICTS = 11  # Lạng Sơn: 1 city + 10 rural districts
IS_DISTRICT = "c => /^\\d{3}$/.test(c)"
# communes: 5-digit GSO codes; communes created by the 1/7/2025 merger carry a "-2025" suffix
IS_COMMUNE = "c => /^\\d{5}(-\\d{4})?$/.test(c)"


def unit_header(page):
    """``st.header`` of the opened unit (an h2 inside a Streamlit heading)."""
    return page.locator('[data-testid="stHeading"] h2')


def test_overview_opens_in_vietnamese(page, app_url, outside_requests):
    open_app(page, app_url + "/")
    wait_for_map(page, min_shapes=N_DISTRICTS)
    wait_idle(page)

    expect(page.locator("h1")).to_contain_text("Theo dõi mục tiêu giảm nghèo")
    expect(page.locator('[data-testid="stCaptionContainer"]', has_text="Số liệu minh họa").first).to_be_visible()

    values = page.locator('[data-testid="stMetric"] [data-testid="stMetricValue"]').all_inner_texts()
    assert values, "no KPI metrics on the overview"
    percents = [v.strip() for v in values if "%" in v]
    assert percents, f"no percentage among the KPI values {values}"
    for v in percents:
        assert re.fullmatch(r"\d{1,3},\d{1,2}\s?%", v), f"KPI {v!r} is not written with a decimal comma"

    codes = shape_codes(page, 0)
    assert len(codes) == N_DISTRICTS, f"the district map draws {len(codes)} shapes: {codes}"
    assert len(set(codes)) == N_DISTRICTS and all(re.fullmatch(r"\d{3}", c) for c in codes), codes

    assert outside_requests == [], f"the viewer's browser contacted outside hosts: {outside_requests}"


@pytest.mark.parametrize("lang, verdicts, outlook", [
    ("vi", "Kết quả so với mục tiêu", "Không còn huyện nghèo năm 2030"),
    ("en", "Results against the targets", "No poor district left in 2030"),
])
def test_the_answer_and_the_map_fit_the_first_screen(page, app_url, outside_requests, lang, verdicts, outlook):
    """Issue 15: at 1366×768 (a committee member's laptop) the landing page shows, without
    scrolling, the verdict cells of the province and each poor district, the 2030 outlook,
    the narrative sentence and the district map."""
    page.set_viewport_size({"width": 1366, "height": 768})
    open_app(page, app_url + f"/?lang={lang}")
    wait_for_map(page, min_shapes=N_DISTRICTS)
    wait_idle(page)
    fold = 768

    def bottom(locator) -> float:
        box = locator.bounding_box()
        assert box is not None, f"{locator} is not drawn"
        return box["y"] + box["height"]

    cells = page.locator(".povdash-cell")
    assert cells.count() == 5, cells.all_inner_texts()
    texts = cells.all_inner_texts()
    assert "2,47" in texts[0] if lang == "vi" else "2.47" in texts[0]
    assert outlook in texts[4]
    for i in range(cells.count()):  # every cell's status is on the first screen
        assert bottom(cells.nth(i).locator(".povdash-cell-status")) <= fold, texts[i]
    assert bottom(page.get_by_text(verdicts, exact=True)) <= fold
    geo = page.locator(".js-plotly-plot .geo").first
    assert bottom(geo) <= fold, "the district map starts below the first screen"
    narrative = page.locator('[data-testid="stMarkdownContainer"] p', has_text="2021-2025").first
    assert bottom(narrative) <= fold
    page.screenshot(path=str(ARTIFACTS / f"landing_1366x768_{lang}.png"))
    assert outside_requests == []


def test_map_click_drills_down_and_url_reopens_view(page, app_url, outside_requests):
    open_app(page, app_url + "/ban-do")
    wait_for_map(page, min_shapes=N_DISTRICTS)
    wait_idle(page)
    assert query(page).get("unit") == "20", query(page)

    code, name = _click_largest_district(page)
    assert wait_for_query(page, "unit", "v => v !== null && v !== '20'") == code
    wait_idle(page)

    expect(unit_header(page)).to_have_text(name)
    communes = wait_for_map_codes(page, f"codes => codes.every({IS_COMMUNE})")
    assert len(communes) >= 2, communes
    expect(page.locator(".js-plotly-plot .gtitle", has_text="— " + name).first).to_be_visible()  # the map's title

    # the URL alone reopens the same view
    url = page.evaluate("location.href")
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page)
    expect(unit_header(page)).to_have_text(name)
    assert sorted(wait_for_map_codes(page, f"codes => codes.every({IS_COMMUNE})")) == sorted(communes)
    assert query(page)["unit"] == code

    assert outside_requests == [], f"the viewer's browser contacted outside hosts: {outside_requests}"


def test_commune_link_and_breadcrumb_back_to_district(page, app_url, outside_requests):
    open_app(page, app_url + "/ban-do?unit=05971&year=2020")
    wait_for_map_codes(page, f"codes => codes.every({IS_COMMUNE})")
    wait_idle(page)

    expect(unit_header(page)).to_have_text("Phường Hoàng Văn Thụ")
    crumb = page.locator('[data-testid="stButton"] button', has_text="Thành phố Lạng Sơn")
    expect(crumb).to_be_visible()

    crumb.click()
    district = wait_for_query(page, "unit", "v => v !== null && v !== '05971'")
    assert re.fullmatch(r"\d{3}", district), district
    wait_idle(page)
    expect(unit_header(page)).to_have_text("Thành phố Lạng Sơn")
    expect(page.locator('[data-testid="stButton"] button', has_text="Thành phố Lạng Sơn")).to_have_count(0)
    assert query(page).get("year") == "2020", query(page)
    wait_for_map_codes(page, f"codes => codes.every({IS_COMMUNE})")

    assert outside_requests == [], f"the viewer's browser contacted outside hosts: {outside_requests}"


def test_after_2025_a_commune_clicked_on_a_former_district_keeps_the_district(page, app_url, outside_requests):
    """Issue 15: from 2025 on, a new commune clicked on a former district's map opens with that
    district in the breadcrumb and its communes on the map; the crumb returns to the district."""
    open_app(page, app_url + "/ban-do?unit=181&year=2026")
    before = wait_for_map_codes(page, "codes => codes.length > 3 && codes.every(c => c.endsWith('-2025'))")
    wait_idle(page)
    shape = map_shapes(page).first
    clicked = click_shape(page, shape)
    wait_for_query(page, "unit", f"v => v === {clicked!r}")
    assert query(page).get("via") == "181", query(page)
    wait_idle(page)
    crumb = page.locator('[data-testid="stButton"] button', has_text="Huyện Bình Gia")
    expect(crumb).to_be_visible()
    after = shape_codes(page, 0)
    assert set(after) == set(before), f"the map left the former district: {sorted(before)} {sorted(after)}"
    crumb.click()
    wait_for_query(page, "unit", "v => v === '181'")
    wait_idle(page)
    expect(unit_header(page)).to_have_text("Huyện Bình Gia")
    assert "via" not in query(page)
    assert outside_requests == []


def test_language_switch_to_english(page, app_url, outside_requests):
    open_app(page, app_url + "/")
    expect(page.locator("h1")).to_contain_text("Theo dõi mục tiêu giảm nghèo")

    page.locator('[data-testid="stSidebar"] [data-testid="stRadioOption"]', has_text="English").click()
    expect(page.locator("h1")).to_contain_text("Poverty-reduction targets")
    wait_idle(page)
    wait_for_map(page, min_shapes=N_DISTRICTS)
    assert query(page).get("lang") == "en", query(page)
    values = page.locator('[data-testid="stMetricValue"]').all_inner_texts()
    assert any(re.fullmatch(r"\d{1,3}\.\d{1,2}\s?%", v.strip()) for v in values), \
        f"English KPIs should use a decimal point: {values}"

    assert outside_requests == [], f"the viewer's browser contacted outside hosts: {outside_requests}"


def _click_largest_district(page) -> tuple[str, str]:
    """Hover then click the largest district shape of the first map; return (code, tooltip name).
    The largest shape is the least likely to sit under the legend."""
    shapes = map_shapes(page, 0)
    areas = shapes.evaluate_all("els => els.map(e => { const b = e.getBBox(); return b.width * b.height; })")
    target = shapes.nth(max(range(len(areas)), key=areas.__getitem__))
    name = hover_name(page, target)
    assert name, "no tooltip when hovering the district"
    code = click_shape(page, target)
    assert re.fullmatch(r"\d{3}", code), code
    return code, name


# ---- first-visit behaviour, each on a server no session has used yet -----------------
@pytest.mark.xfail(strict=False, raises=AssertionError, reason=(
    "app bug: on a freshly started server the first visitor of a sub-page link (/ban-do?...) "
    "gets Streamlit's English 'Page not found' dialog over the (correct) page: the "
    "st.navigation pages are only known after the entry script's first run"))
def test_first_visit_deep_link_has_no_dialog(fresh_app_url, page, outside_requests):
    open_app(page, fresh_app_url + "/ban-do?unit=05971&year=2020", timeout=60_000)
    wait_for_map_codes(page, f"codes => codes.every({IS_COMMUNE})")
    wait_idle(page)
    expect(unit_header(page)).to_have_text("Phường Hoàng Văn Thụ")
    assert outside_requests == [], f"the viewer's browser contacted outside hosts: {outside_requests}"
    expect(page.get_by_role("dialog")).to_have_count(0)


# regression test: the first click on a map whose figure was just computed used to be dropped
# (a cache miss and a cache hit gave Streamlit differently ordered JSON for the same chart)
def test_first_visit_first_click_drills_down(fresh_app_url, page, outside_requests):
    open_app(page, fresh_app_url + "/", timeout=60_000)  # not a deep link: avoids the dialog bug
    page.locator('[data-testid="stSidebarNav"] a[href$="/ban-do"]').click()
    wait_for_map(page, min_shapes=N_DISTRICTS)
    wait_idle(page)
    code, name = _click_largest_district(page)
    assert wait_for_query(page, "unit", "v => v !== null && v !== '20'", timeout=10_000) == code
    wait_idle(page)
    expect(unit_header(page)).to_have_text(name)


def test_an_english_link_stays_english_after_a_click(page, app_url, outside_requests):
    """Regression: the language radio was bound to the session's ``lang``, set from the URL
    before the widget existed; the first change of any widget switched the app to Vietnamese."""
    open_app(page, app_url + "/ban-do?lang=en&year=2024")
    expect(page.locator("h1")).to_have_text("Map")
    wait_for_map(page, min_shapes=N_DISTRICTS)
    wait_idle(page)
    click_year_step(page, 2022)  # the map's year slider: the quiet run it asks for is a widget change
    wait_for_query(page, "year", "v => v === '2022'")
    wait_idle(page)
    expect(page.locator("h1")).to_have_text("Map")
    assert query(page).get("lang") == "en", query(page)
    expect(page.locator('[data-testid="stSidebar"]')).to_contain_text("Language")
    assert outside_requests == [], f"the viewer's browser contacted outside hosts: {outside_requests}"


def _fills(page) -> dict[str, str]:
    return dict(page.locator(".js-plotly-plot:has(.geo)").first.locator("path.choroplethlocation").evaluate_all(
        "els => els.map(e => [String((e.__data__ || {}).loc), getComputedStyle(e).fill])"))


def test_the_year_slider_repaints_in_the_browser_then_the_page_follows(page, app_url, outside_requests):
    """A year step repaints the map without asking the server (no websocket message leaves
    before the new colours are drawn); once the hand stops, one quiet run brings the URL and
    the rest of the page to that year; a click then opens the unit in that year."""
    open_app(page, app_url + "/ban-do?year=2026")
    wait_for_map(page, min_shapes=N_DISTRICTS)
    wait_idle(page)
    before = _fills(page)
    page.evaluate("""() => { window.__povdashSent = 0; const S = WebSocket.prototype.send;
        WebSocket.prototype.send = function (...a) { window.__povdashSent += 1; return S.apply(this, a); }; }""")
    click_year_step(page, 2016)
    expect(page.locator(".js-plotly-plot .gtitle").first).to_contain_text("năm 2016", timeout=2_000)
    after = _fills(page)
    sent_at_repaint = page.evaluate("window.__povdashSent")
    assert after != before, "the colours did not change"
    assert sent_at_repaint == 0, "the server was asked before the map was repainted"
    # the page follows: the URL and the ranking under the map say 2016
    assert wait_for_query(page, "year", "v => v === '2016'") == "2016"
    wait_idle(page)
    expect(page.locator(".js-plotly-plot .gtitle", has_text="2016").nth(1)).to_be_visible()
    assert _fills(page) == after  # the quiet run drew the same map
    # a click opens the district in 2016
    _click_largest_district(page)
    wait_for_query(page, "unit", "v => v !== null && v !== '20'")
    assert query(page)["year"] == "2016", query(page)
    assert outside_requests == [], f"the viewer's browser contacted outside hosts: {outside_requests}"
