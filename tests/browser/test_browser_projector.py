"""Presentation mode on a projector (issue 15): at 1280×720 and 1920×1080 the landing page's
answer and the map page's map (with its year slider) fit one screen, nothing in a metric is
cut, chart titles are said once, and the way back (breadcrumb, exit) stays on screen."""
from __future__ import annotations

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip, or fail under POVDASH_REQUIRE_BROWSER=1, with a clear message
    expect = None

from browser_helpers import ARTIFACTS, open_app, wait_for_map, wait_idle, wait_viewport

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1920, 1080)]


def _bottom(locator) -> float:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not drawn"
    return box["y"] + box["height"]


def _settle(page) -> None:
    """The page reports the window size once (a quiet second run, or the cookie of an earlier
    page): wait until the server has used it, then for the map drawn in that run."""
    wait_viewport(page, timeout=60_000)
    wait_for_map(page)
    wait_idle(page)


@pytest.mark.parametrize("width, height", SIZES)
def test_landing_fits_the_projector(page, app_url, outside_requests, width, height):
    page.set_viewport_size({"width": width, "height": height})
    open_app(page, app_url + "/?present=1")
    _settle(page)
    expect(page.locator('section[data-testid="stSidebar"]')).to_be_hidden()
    expect(page.get_by_role("button", name="Thoát chế độ trình chiếu")).to_be_in_viewport()
    cells = page.locator(".povdash-cell")
    assert cells.count() == 5
    for i in range(cells.count()):
        assert _bottom(cells.nth(i).locator(".povdash-cell-status")) <= height, cells.nth(i).inner_text()
    assert _bottom(page.locator(".js-plotly-plot .geo").first) <= height
    # the map's title is said once: the heading above it, not again inside the figure
    assert page.get_by_text("Tỷ lệ hộ nghèo theo huyện năm 2026").count() == 1
    page.screenshot(path=str(ARTIFACTS / f"projector_landing_{width}x{height}.png"))
    assert outside_requests == []


@pytest.mark.parametrize("width, height", SIZES)
def test_map_with_its_year_slider_fits_the_projector(page, app_url, outside_requests, width, height):
    page.set_viewport_size({"width": width, "height": height})
    open_app(page, app_url + "/ban-do?unit=06073-2025&year=2026&via=181&present=1")
    _settle(page)
    # the way back: the breadcrumb's district, and the exit button
    expect(page.locator('[data-testid="stButton"] button', has_text="Huyện Bình Gia")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Thoát chế độ trình chiếu")).to_be_in_viewport()
    plot = page.locator(".js-plotly-plot:has(.geo)").first
    slider = plot.locator(".slider-container, g.slider-container").first
    assert _bottom(plot) <= height + 1, "the map is taller than the screen"
    assert _bottom(slider) <= height, "the year slider is below the screen"
    page.screenshot(path=str(ARTIFACTS / f"projector_map_{width}x{height}.png"))
    assert outside_requests == []


def test_metrics_are_never_cut_on_the_projector(page, app_url, outside_requests):
    page.set_viewport_size({"width": 1280, "height": 720})
    open_app(page, app_url + "/tien-do?present=1")
    wait_idle(page, settle_ms=800)
    values = page.locator('[data-testid="stMetricValue"]')
    expect(values.first).to_be_visible()
    cut = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stMetricValue"], [data-testid="stMetricValue"] *')]
        .filter(e => e.scrollWidth > e.clientWidth + 1 || getComputedStyle(e).textOverflow === 'ellipsis'
                     && e.scrollWidth > e.clientWidth).map(e => e.innerText)""")
    assert cut == [], f"metric values cut: {cut}"
    assert "Không đạt" in values.all_inner_texts()
    page.screenshot(path=str(ARTIFACTS / "projector_progress_1280x720.png"))
    assert outside_requests == []


@pytest.mark.parametrize("path", ["/", "/ban-do"])
def test_a_phone_reads_the_answer_and_the_map(page, app_url, outside_requests, path):
    """390×844: nothing wider than the screen, the title clear of the header, the map's legend
    under the map (beside it, it covered the map) and its title on two lines inside the figure."""
    page.set_viewport_size({"width": 390, "height": 844})
    open_app(page, app_url + path)
    _settle(page)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    header = page.locator('header[data-testid="stHeader"]')
    h1 = page.locator("h1").first
    assert h1.bounding_box()["y"] >= _bottom(header) - 4, "the title runs under the header"
    plot = page.locator(".js-plotly-plot:has(.geo)").first
    plot.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    geo = plot.locator(".geo").first.bounding_box()
    legend = plot.locator(".legend").first.bounding_box()
    assert legend["y"] >= geo["y"] + geo["height"] - 2, (legend, geo)
    if path == "/":  # the landing's map is titled by the heading above it
        assert page.locator(".povdash-cell").count() == 5
    else:
        title = plot.locator(".gtitle").first.bounding_box()
        box = plot.bounding_box()
        assert title["x"] + title["width"] <= box["x"] + box["width"] + 1
        assert plot.locator(".gtitle tspan.line").count() == 2
    page.screenshot(path=str(ARTIFACTS / f"phone{path.replace('/', '_') or '_'}_390x844.png"))
    assert outside_requests == []
