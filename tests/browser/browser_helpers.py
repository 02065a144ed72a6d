"""Waiting for Streamlit and working with plotly geo maps in Playwright (sync API).

Streamlit's root element carries ``data-test-script-state`` (``initial`` / ``running`` /
``rerunRequested`` / ``notRunning`` / ``compilationError``) and
``data-test-connection-state``; elements of the previous run are marked
``data-stale="true"`` until the new run replaces them.  The ``stStatusWidget`` "running"
indicator only appears after a delay, so it is checked too but is not enough alone.

Plotly draws each ``go.Choropleth`` feature on a geo subplot as one
``<path class="choroplethlocation">`` inside ``g.choroplethlayer`` (one ``g.trace.choropleth``
per trace).  The paths do not receive pointer events: a transparent ``rect`` of the geo
subplot (``pointer-events: all``) sits on top and plotly finds the feature under the mouse
by point-in-polygon on the data; so a click must land *inside the polygon* (not merely in
its bounding box, which for concave shapes may belong to a neighbour) and must not land on
the legend.  Each path's d3 datum (``__data__``) holds the feature's location (``loc``).
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:  # importable without playwright: the fixtures then skip (or fail) with a message
    from playwright.sync_api import Locator, Page

ARTIFACTS = Path(__file__).resolve().parents[1] / "_artifacts"  # tests/_artifacts (gitignored)
# the users of the sign-in servers (auth_helpers.make_user names them after their role)
ROLE_USERS = {role: f"{role}-thu" for role in ("viewer", "editor", "admin")}
APP = '[data-testid="stApp"]'
MAPS = ".js-plotly-plot:has(.geo)"
SHAPES = "path.choroplethlocation"

_IDLE_JS = """([settle]) => {
  const app = document.querySelector('[data-testid="stApp"]');
  const busy = !app
    || app.getAttribute('data-test-script-state') !== 'notRunning'
    || !/CONNECTED$/.test(app.getAttribute('data-test-connection-state') || '')
    || document.querySelector('[data-testid="stStatusWidgetRunningIcon"]')
    || document.querySelector('[data-testid="stStatusWidget"] [aria-label="Running..."]')
    || document.querySelector('[data-stale="true"]');
  const now = performance.now();
  if (busy) { window.__povdashIdleSince = undefined; return false; }
  if (window.__povdashIdleSince === undefined) window.__povdashIdleSince = now;
  return now - window.__povdashIdleSince >= settle;
}"""


class AppError(AssertionError):
    """The app showed an exception or failed to compile."""


def raise_on_app_error(page: Page) -> None:
    app = page.locator(APP)
    state = app.get_attribute("data-test-script-state") if app.count() else None
    errors = page.locator('[data-testid="stException"]')
    if state == "compilationError" or errors.count():
        texts = errors.all_inner_texts() if errors.count() else []
        raise AppError(f"the app shows an error (script state {state!r}): {texts}")


def open_dialogs(page: Page) -> list[str]:
    """Texts of open modal dialogs (e.g. Streamlit's "Page not found")."""
    return [t.strip() for t in page.get_by_role("dialog").all_inner_texts()]


def _wait_js(page: Page, js: str, arg, timeout: float, what: str) -> None:
    """``wait_for_function`` that reports an app error or an open dialog instead of a bare timeout."""
    try:
        page.wait_for_function(js, arg=arg, timeout=timeout, polling=100)
    except Exception as exc:
        raise_on_app_error(page)
        dialogs = open_dialogs(page)
        raise AssertionError(f"timed out after {timeout / 1000:.0f} s waiting for {what}"
                             + (f"; open dialog: {dialogs}" if dialogs else "")
                             + f"; URL {page.evaluate('location.href')}") from exc


def wait_idle(page: Page, timeout: float = 30_000, settle_ms: int = 400) -> None:
    """Wait until the script run is over, nothing is stale and this has held ``settle_ms``."""
    page.wait_for_selector(APP, state="attached", timeout=timeout)
    _wait_js(page, _IDLE_JS, [settle_ms], timeout, "the app to be idle")
    raise_on_app_error(page)


_VIEWPORT_USED_JS = """() => {
  const s = [...document.querySelectorAll('[data-testid="stHtml"] script')]
    .filter((x) => x.textContent.includes('const used = "'));
  return s.length === 0 || s.some((x) => x.textContent.includes('const used = "' + innerWidth + 'x' + innerHeight + '"'));
}"""


def wait_viewport(page: Page, timeout: float = 30_000) -> None:
    """A page reports its window size once (``ui.viewport_sync``: one quiet run on a first
    visit): wait until the server's latest run has used it, so that a test's next click
    never races that run (pages without the report, such as the sign-in form, pass at once)."""
    _wait_js(page, _VIEWPORT_USED_JS, None, timeout, "the page's window size to reach the server")
    wait_idle(page, timeout=timeout)


def open_app(page: Page, url: str, timeout: float = 45_000) -> None:
    page.goto(url, wait_until="domcontentloaded")
    wait_idle(page, timeout=timeout)
    wait_viewport(page, timeout=timeout)


def maps(page: Page) -> Locator:
    """Plotly charts that contain a geo subplot, in page order."""
    return page.locator(MAPS)


def map_shapes(page: Page, index: int = 0) -> Locator:
    return maps(page).nth(index).locator(SHAPES)


def wait_for_map(page: Page, index: int = 0, min_shapes: int = 1, timeout: float = 30_000) -> Locator:
    """Wait until the ``index``-th geo map is drawn with at least ``min_shapes`` shapes."""
    _wait_js(page,
             """([sel, i, n]) => {
                  const m = document.querySelectorAll(sel)[i];
                  return !!m && !!m.querySelector('.geo')
                    && m.querySelectorAll('path.choroplethlocation').length >= n;
                }""",
             [MAPS, index, min_shapes], timeout, f"map #{index} with at least {min_shapes} shapes")
    return maps(page).nth(index)


def shape_codes(page: Page, index: int = 0) -> list[str]:
    """Location codes of the shapes drawn on the ``index``-th map, in drawing order."""
    return map_shapes(page, index).evaluate_all("els => els.map(e => String((e.__data__ || {}).loc))")


def wait_for_map_codes(page: Page, predicate_js: str, index: int = 0, timeout: float = 30_000) -> list[str]:
    """Wait until the codes on the map satisfy ``predicate_js`` (a JS ``codes => bool``)."""
    _wait_js(
        page,
        f"""([sel, i]) => {{
              const m = document.querySelectorAll(sel)[i];
              if (!m) return false;
              const codes = [...m.querySelectorAll('path.choroplethlocation')]
                .map(e => String((e.__data__ || {{}}).loc));
              return codes.length > 0 && ({predicate_js})(codes);
            }}""",
        [MAPS, index], timeout, f"the codes on map #{index} to satisfy {predicate_js}")
    return shape_codes(page, index)


_INTERIOR_POINT_JS = """(path) => {
  // Sample the bounding box; keep samples inside the polygon fill that hit this plot and
  // not its legend; return the one deepest inside (farthest from any outside sample).
  const plot = path.closest('.js-plotly-plot');
  const r = path.getBoundingClientRect();
  const inv = path.getScreenCTM().inverse();
  const N = 24, inside = [], outside = [];
  for (let i = 0; i <= N; i++) for (let j = 0; j <= N; j++) {
    const x = r.left + r.width * i / N, y = r.top + r.height * j / N;
    const p = new DOMPoint(x, y).matrixTransform(inv);
    const hit = document.elementFromPoint(x, y);
    const usable = path.isPointInFill(p) && hit && plot.contains(hit)
      && !hit.closest('.legend, .modebar, .infolayer, .hoverlayer');
    (usable ? inside : outside).push([x, y]);
  }
  if (!inside.length) return null;
  let best = null, bestD = -1;
  for (const [x, y] of inside) {
    let d = Infinity;
    for (const [u, v] of outside) d = Math.min(d, (x - u) ** 2 + (y - v) ** 2);
    if (d > bestD) { bestD = d; best = [x, y]; }
  }
  return {x: best[0], y: best[1], loc: String((path.__data__ || {}).loc)};
}"""


def interior_point(shape: Locator) -> dict | None:
    """A viewport point well inside ``shape`` where a click reaches the plot (not the legend)."""
    shape.scroll_into_view_if_needed()
    return shape.evaluate(_INTERIOR_POINT_JS)


def hover_name(page: Page, shape: Locator, timeout: float = 5_000) -> str:
    """Hover the shape and return the first line of plotly's tooltip (the unit's name)."""
    pt = interior_point(shape)
    assert pt, f"no clickable point inside the shape; open dialogs: {open_dialogs(page)}"
    page.mouse.move(pt["x"], pt["y"])
    plot = shape.locator("xpath=ancestor::div[contains(@class,'js-plotly-plot')]")
    line = plot.locator(".hoverlayer .hovertext text tspan.line").first
    line.wait_for(state="attached", timeout=timeout)
    return (line.text_content() or "").strip()


def click_shape(page: Page, shape: Locator) -> str:
    """Click inside ``shape`` with the mouse (move first so plotly registers the hover);
    return the location code of the clicked feature."""
    pt = interior_point(shape)
    assert pt, ("no clickable point inside the shape (covered by the legend or a dialog, or off screen?); "
                f"open dialogs: {open_dialogs(page)}")
    page.mouse.move(pt["x"], pt["y"])
    page.wait_for_timeout(150)
    page.mouse.click(pt["x"], pt["y"])
    return pt["loc"]


def query(page: Page) -> dict[str, str]:
    """The page's current query string (read from ``location``: ``page.url`` can lag
    behind Streamlit's ``history.replaceState``)."""
    href = page.evaluate("location.href")
    return {k: v[-1] for k, v in parse_qs(urlsplit(href).query).items()}


def wait_for_query(page: Page, key: str, predicate_js: str, timeout: float = 30_000) -> str:
    """Wait until query parameter ``key`` satisfies ``predicate_js`` (JS ``v => bool``, v may be null)."""
    _wait_js(page, f"([k]) => ({predicate_js})(new URLSearchParams(location.search).get(k))",
             [key], timeout, f"query parameter {key!r} to satisfy {predicate_js}")
    return query(page)[key]


def full_page_screenshot(page: Page, path: Path, max_height: int = 12_000) -> None:
    """Screenshot of the whole app.  Streamlit scrolls inside ``stMain``, not the document,
    so Playwright's ``full_page`` alone captures one viewport: grow the viewport to the
    content height first (the page is being thrown away after this)."""
    size = page.viewport_size or {"width": 1400, "height": 1000}
    height = page.evaluate("""() => {
        const m = document.querySelector('[data-testid="stMain"]');
        const s = document.querySelector('[data-testid="stSidebarContent"]');
        return Math.max(m ? m.scrollHeight : 0, s ? s.scrollHeight : 0, document.documentElement.scrollHeight);
    }""")
    height = int(min(max(height, size["height"]), max_height))
    if height > size["height"]:
        page.set_viewport_size({"width": size["width"], "height": height})
        page.wait_for_timeout(400)
    page.screenshot(path=str(path), full_page=True, animations="disabled")


# ---- sign-in and roles -----------------------------------------------------------
SIDEBAR = '[data-testid="stSidebar"]'
NAV_LINKS = '[data-testid="stSidebarNav"] a'
FILE_INPUTS = 'input[type="file"]'
PAGE_NOT_FOUND = "Page not found"  # Streamlit's own (English) dialog for a URL the menu does not hold


def nav_titles(page: Page) -> list[str]:
    """Titles of the sidebar menu's links (``st.navigation``), in order."""
    return [t.strip() for t in page.locator(NAV_LINKS).all_inner_texts()]


def close_page_not_found(page: Page) -> bool:
    """Close Streamlit's "Page not found" dialog if it is open (it makes the page inert);
    any other dialog is an error.  True if there was one."""
    dialogs = open_dialogs(page)
    if not dialogs:
        return False
    assert all(d.startswith(PAGE_NOT_FOUND) for d in dialogs), f"unexpected dialog: {dialogs}"
    page.keyboard.press("Escape")
    page.get_by_role("dialog").first.wait_for(state="detached", timeout=5_000)
    return True


def submit_sign_in(page: Page, username: str, password: str) -> None:
    """Fill the sign-in form (labels "Tên đăng nhập", "Mật khẩu") and press "Đăng nhập"."""
    close_page_not_found(page)
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()
    wait_idle(page, timeout=60_000)


def sign_in(page: Page, username: str, password: str, timeout: float = 60_000) -> None:
    """Sign in through the form; wait until the sidebar names the user and the menu is back."""
    submit_sign_in(page, username, password)
    _wait_js(page, """([sel, name]) => [...document.querySelectorAll(sel)].some(
                          e => e.innerText.startsWith('Đăng nhập: ' + name + ' · '))
                        && !!document.querySelector('[data-testid="stSidebarNav"]')""",
             [f'{SIDEBAR} [data-testid="stCaptionContainer"]', username], timeout, f"{username} to be signed in")
    wait_idle(page, timeout=timeout)
    wait_viewport(page, timeout=timeout)


def signed_in_caption(page: Page) -> Locator:
    """The sidebar's "Đăng nhập: **<name>** · <role>" caption."""
    return page.locator(f'{SIDEBAR} [data-testid="stCaptionContainer"]', has_text="Đăng nhập: ")


def assert_sign_in_page_only(page: Page) -> None:
    """The sign-in form and nothing else: no menu, no data (banner, figures, tables, KPIs), no upload."""
    assert [h.strip() for h in page.locator("h1").all_inner_texts()] == ["Đăng nhập"], page.locator("h1").all_inner_texts()
    for label in ("Tên đăng nhập", "Mật khẩu"):
        assert page.get_by_label(label).is_visible(), f"no '{label}' field on the sign-in page"
    assert page.get_by_role("button", name="Đăng nhập").is_visible()
    for sel, what in ((NAV_LINKS, "menu link"), ('[data-testid="stAlert"]', "alert/banner"),
                      (".js-plotly-plot", "chart"), ('[data-testid="stMetric"]', "KPI"),
                      ('[data-testid="stDataFrame"]', "table"), ('[data-testid="stTable"]', "table"),
                      (FILE_INPUTS, "file input"), ('[data-testid="stSidebar"] [data-testid="stSelectbox"]',
                                                    "sidebar picker")):
        n = page.locator(sel).count()
        assert n == 0, f"{n} {what}(s) shown before sign-in: {page.locator(sel).all_inner_texts()[:3]}"
    main = page.locator('[data-testid="stMain"]').inner_text()
    for word in ("Số liệu minh họa", "Lạng Sơn", "hộ nghèo"):
        assert word not in main, f"'{word}' shown before sign-in"


def open_typed_url(page: Page, url: str, timeout: float = 60_000) -> list[str]:
    """Open ``url`` as if typed in the address bar (a new page load, hence a new Streamlit
    session); return the texts of the dialogs it opened (then closed)."""
    open_app(page, url, timeout=timeout)
    dialogs = open_dialogs(page)
    close_page_not_found(page)
    return dialogs


def go_in_session(page: Page, path: str, timeout: float = 30_000) -> str:
    """Move the signed-in session to ``path`` the way the browser's Back/Forward buttons do
    (``history.pushState`` + ``popstate``: Streamlit opens the page the URL names in the same
    session, so the sign-in is kept; a typed URL would start a new, signed-out session).
    Waits until the app has run for it (it adds ``lang`` to the query); returns the path shown."""
    for _ in range(3):  # a move made while a quiet run (the window-size report) ends can be lost: move again
        page.evaluate("p => { history.pushState({}, '', p); dispatchEvent(new PopStateEvent('popstate', "
                      "{state: {}})); }", path)
        _wait_js(page, "() => new URLSearchParams(location.search).has('lang')", None, timeout,
                 f"the app to run after moving to {path}")
        wait_idle(page, timeout=timeout)
        wait_viewport(page, timeout=timeout)
        if page.evaluate("location.pathname") == path.split("?", 1)[0]:
            break
    return page.evaluate("location.pathname")


def download_table(page: Page, key: str):
    """The CSV behind the download button ``<key>_csv`` (``ui.download_buttons``) as a
    DataFrame: the table a ``st.dataframe`` draws on a canvas, readable."""
    import io

    import pandas as pd

    with page.expect_download() as info:
        page.locator(f".st-key-{key}_csv button").click()
    return pd.read_csv(io.BytesIO(Path(info.value.path()).read_bytes()), encoding="utf-8-sig", dtype=str)


def keep_screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot ``tests/_artifacts/<name>.png`` in the middle of a test (the
    viewport is grown for it, then put back)."""
    size = page.viewport_size
    path = ARTIFACTS / f"{name}.png"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(page, path)
    if size:
        page.set_viewport_size(size)
    wait_idle(page)
    return path


def click_year_step(page: Page, year: int) -> None:
    """Click the map's year slider where the step of ``year`` is, as a hand would (the
    benchmark ``benchmarks/bench_year_slider.py`` uses it too)."""
    label = page.locator(".js-plotly-plot .slider-container .slider-label", has_text=str(year)).first
    label.scroll_into_view_if_needed()
    page.wait_for_timeout(300)  # the page may still be scrolling
    rail = page.locator(".js-plotly-plot .slider-container .slider-rail-rect").first
    lb, rb = label.bounding_box(), rail.bounding_box()
    page.mouse.click(lb["x"] + lb["width"] / 2, rb["y"] + rb["height"] / 2)
