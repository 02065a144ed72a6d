"""End-to-end harness: the real dashboard in a Streamlit server, driven by headless Chromium.

* ``app_url`` (session): ``python -m streamlit run dashboard.py`` on a free local port,
  ready once ``/_stcore/health`` answers ``ok``; the process group is killed at the end.
  The server log goes to ``tests/_artifacts/streamlit.log``.
* ``browser`` (session): Debian's ``/usr/bin/chromium`` through the Playwright package
  (no browser download).  If either is missing the browser tests SKIP, or FAIL when
  ``POVDASH_REQUIRE_BROWSER=1`` (CI).
* ``page`` (per test): a fresh context; every request to a host other than the local
  server is recorded in ``outside_requests`` (and aborted, so a test never reaches the
  internet); a full-page screenshot of the final state is saved as
  ``tests/_artifacts/<test name>.png``.
* ``signin_app_url`` / ``signin_page`` (per test module): the same, on a server of the
  module's own whose data directory (``signin_data_dir``) holds one user per role
  (``viewer-thu``, ``editor-thu``, ``admin-thu``; password ``auth_helpers.PASSWORD``), so the
  app starts in sign-in mode.  A module overrides ``signin_data_dir`` to store more before
  its server starts.
"""
from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from browser_helpers import ARTIFACTS, ROLE_USERS, full_page_screenshot

REPO = Path(__file__).resolve().parents[2]
# Debian's Chromium; POVDASH_CHROMIUM may point elsewhere (also used to test the skip path)
CHROMIUM = os.environ.get("POVDASH_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-quic",
]
VIEWPORT = {"width": 1400, "height": 1000}
HEALTH_TIMEOUT_S = 60
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
HERE = Path(__file__).resolve().parent


# ---- marker ------------------------------------------------------------------
def pytest_collection_modifyitems(config, items):
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.browser)


# ---- availability ------------------------------------------------------------
def _missing_requirements() -> str | None:
    problems = []
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        problems.append(f"{CHROMIUM} not found (install Debian's 'chromium' package)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        problems.append("the 'playwright' Python package is not installed (pip install -r requirements-dev.txt)")
    if not problems:
        return None
    return "browser tests need Chromium and Playwright: " + "; ".join(problems)


def _skip_or_fail(message: str) -> None:
    if os.environ.get("POVDASH_REQUIRE_BROWSER") == "1":
        pytest.fail(message + " [POVDASH_REQUIRE_BROWSER=1]", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _browser_available() -> None:
    message = _missing_requirements()
    if message:
        _skip_or_fail(message)


# ---- the app -----------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _log_tail(path: Path, n: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-n:])
    except OSError:
        return "(no log)"


@pytest.fixture(scope="session")
def app_log() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS / "streamlit.log"


def start_app(log_path: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()):
    """Start ``streamlit run dashboard.py`` on a free port (``env``: added to this process's
    environment; ``args``: more options for Streamlit); return (process, base URL, log file)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", "dashboard.py",
           "--server.port", str(port), "--server.address", "127.0.0.1",
           "--server.headless", "true", "--browser.gatherUsageStats", "false", *args]
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, cwd=REPO, env=dict(os.environ, **(env or {})), stdout=log,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return proc, f"http://127.0.0.1:{port}", log


def wait_healthy(proc, base: str, log_path: Path) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with code {proc.returncode} before answering:\n"
                        f"{_log_tail(log_path)}", pytrace=False)
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.status == 200 and r.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"streamlit did not answer /_stcore/health within {HEALTH_TIMEOUT_S} s:\n"
                        f"{_log_tail(log_path)}", pytrace=False)
        time.sleep(0.25)


def stop_app(proc, log) -> None:
    """Terminate the server's whole process group (SIGTERM, then SIGKILL after 10 s)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)
    log.close()


@contextmanager
def serving(log_path: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()):
    """The base URL of a dashboard that answers its health check; stopped on exit."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc, base, log = start_app(log_path, env, args)
    try:
        wait_healthy(proc, base, log_path)
        yield base
    finally:
        stop_app(proc, log)


WARM_UP_PATHS = ("/", "/ban-do")


def warm_up(browser, base: str) -> None:
    """Open each page once in a throw-away session and wait for its map."""
    from browser_helpers import wait_for_map, wait_idle

    context = browser.new_context(viewport=VIEWPORT)
    try:
        pg = context.new_page()
        for path in WARM_UP_PATHS:
            pg.goto(base + path, wait_until="domcontentloaded")
            wait_idle(pg, timeout=60_000)
            wait_for_map(pg, timeout=30_000)
            wait_idle(pg)
    finally:
        context.close()


@pytest.fixture(scope="session")
def app_url(_browser_available, browser, app_log) -> str:
    """Base URL (no trailing slash) of the dashboard served from the working tree.

    Before any test, one throw-away session opens ``/`` and then ``/ban-do`` (see
    :func:`warm_up`), so results do not depend on test order.  This hides two
    first-visit bugs of the app, which have tests of their own on a fresh server
    (``test_first_visit_*``):

    * on a fresh server, the first session that opens a sub-page URL gets Streamlit's
      "Page not found" dialog over the page;
    * the first click on a map whose figure was just computed (``st.cache_data`` miss)
      is ignored: a cache hit returns an unpickled figure whose JSON has its keys in a
      different order, so the chart's element id changes on the rerun and Streamlit
      drops the selection.
    """
    with serving(app_log) as base:
        warm_up(browser, base)
        yield base


# ---- the browser -------------------------------------------------------------
@pytest.fixture(scope="session")
def browser(_browser_available):
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # a broken Chromium install is "missing" too
        pw.stop()
        _skip_or_fail(f"could not launch {CHROMIUM} through Playwright: {exc}")
    yield b
    b.close()
    pw.stop()


def is_local_url(url: str) -> bool:
    """True for the local server and for in-page data (data:, blob:, about:)."""
    parts = urlsplit(url)
    if parts.scheme in ("data", "blob", "about"):
        return True
    return parts.hostname in LOCAL_HOSTS


@pytest.fixture
def outside_requests() -> list[str]:
    """URLs of every request (and websocket) the page tried to send to an outside host."""
    return []


def _is_base_path_probe(url: str) -> bool:
    """Streamlit's frontend probes ``<page>/_stcore/health`` and ``host-config`` to find the
    server's base path; the 404s for sub-page URLs are expected."""
    path = urlsplit(url).path
    return path.endswith(("/_stcore/health", "/_stcore/host-config")) and path.count("/") > 2


def _artifact_name(nodeid_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid_name).strip("_")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@contextmanager
def _test_page(browser, request, outside_requests: list[str], log_path: Path):
    """A page in a fresh context, watched for outside requests and errors; on exit a
    full-page screenshot and notes named after the test (the server's log tail if it failed)."""
    context = browser.new_context(viewport=VIEWPORT)
    context.set_default_timeout(30_000)
    console: list[str] = []

    def on_request(req):
        if not is_local_url(req.url):
            outside_requests.append(req.url)

    context.on("request", on_request)
    # never let a test actually reach the internet; the attempt is recorded above
    context.route(lambda url: not is_local_url(url), lambda route: route.abort("blockedbyclient"))
    pg = context.new_page()
    pg.on("websocket", lambda ws: None if is_local_url(ws.url) else outside_requests.append(ws.url))
    pg.on("console", lambda m: console.append(f"[{m.type}] {m.text}")
          if m.type in ("error", "warning") and not m.text.startswith("Failed to load resource") else None)
    pg.on("response", lambda r: console.append(f"[http {r.status}] {r.url}")
          if r.status >= 400 and not _is_base_path_probe(r.url) else None)
    pg.on("pageerror", lambda e: console.append(f"[pageerror] {e}"))
    yield pg

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = _artifact_name(request.node.name)
    try:
        full_page_screenshot(pg, ARTIFACTS / f"{name}.png")
    except Exception as exc:  # a screenshot must never hide the test's own result
        console.append(f"[harness] screenshot failed: {exc}")
    notes = ARTIFACTS / f"{name}.txt"
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    lines = console + [f"[outside request] {u}" for u in outside_requests]
    if failed:
        lines.append("[streamlit log tail]\n" + _log_tail(log_path))
    if lines:
        notes.write_text("\n".join(lines) + "\n")
    elif notes.exists():
        notes.unlink()
    context.close()


@pytest.fixture
def page(browser, app_url, outside_requests, request):
    with _test_page(browser, request, outside_requests, ARTIFACTS / "streamlit.log") as pg:
        yield pg


@pytest.fixture
def fresh_app_url(_browser_available):
    """A server of its own that no session has visited yet (for first-visit behaviour).
    Request it *before* ``page`` so the server outlives the page's final screenshot."""
    with serving(ARTIFACTS / "streamlit-fresh.log") as base:
        yield base


# ---- sign-in on: a server per test module with its own data directory ---------------
@pytest.fixture(scope="module")
def signin_data_dir(tmp_path_factory) -> Path:
    """A data directory whose store holds only the users of :data:`ROLE_USERS`."""
    from auth_helpers import make_user

    data_dir = tmp_path_factory.mktemp("povdash-signin")
    for role, name in ROLE_USERS.items():
        assert make_user(data_dir, role).username == name
    return data_dir


def _module_log(request) -> Path:
    return ARTIFACTS / f"streamlit-{request.module.__name__.rsplit('.', 1)[-1]}.log"


@pytest.fixture(scope="module")
def signin_app_url(_browser_available, signin_data_dir, request) -> str:
    """Base URL of the dashboard serving ``signin_data_dir`` (sign-in mode)."""
    with serving(_module_log(request), {"POVDASH_DATA_DIR": str(signin_data_dir)}) as base:
        yield base


@pytest.fixture
def signin_page(browser, signin_app_url, outside_requests, request):
    with _test_page(browser, request, outside_requests, _module_log(request)) as pg:
        yield pg
