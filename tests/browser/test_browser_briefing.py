"""The briefing pack in Chromium (scale-out issue, point 4): the button queues the pack with the
server's briefing worker; the page shows a progress bar that moves by itself while the worker
draws the maps (the page stays usable), then the downloads; the PowerPoint is a real deck with
Vietnamese text; the Chromium that drew the images is the worker's, not the web server's."""
from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip, or fail under POVDASH_REQUIRE_BROWSER=1, with a clear message
    expect = None

from browser_helpers import ARTIFACTS, keep_screenshot, open_app, wait_idle

pytestmark = pytest.mark.browser


def _processes() -> dict[int, tuple[int, str]]:
    """pid → (parent pid, command line) of every process."""
    out = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                stat = (p / "stat").read_bytes()
                cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            out[int(p.name)] = (int(stat[stat.rindex(b")") + 2:].split()[1]), cmd)
    return out


def _server_pid(port: str, procs) -> int:
    return next(pid for pid, (_, cmd) in procs.items()
                if "streamlit run dashboard.py" in cmd and f"--server.port {port} " in cmd + " ")


def _renderers_started_by(server: int, procs) -> tuple[list[int], list[int]]:
    """kaleido's Chromium wrappers (``choreographer``) started by the server itself, and by
    a process below it (the briefing worker)."""
    direct, below = [], []
    for pid, (ppid, cmd) in procs.items():
        if "choreographer" not in cmd:
            continue
        chain, up = [], ppid
        while up in procs and up > 1:
            chain.append(up)
            up = procs[up][0]
        if ppid == server:
            direct.append(pid)
        elif server in chain:
            below.append(pid)
    return direct, below


def test_the_pack_is_built_by_the_worker_with_a_moving_progress_bar_then_downloads(page, app_url, outside_requests):
    page.set_viewport_size({"width": 1366, "height": 900})
    open_app(page, app_url + "/")
    wait_idle(page)
    port = re.search(r":(\d+)", app_url).group(1)
    button = page.get_by_role("button", name="Tạo bộ tài liệu họp")
    expect(button).to_be_enabled()
    button.click()
    bar = page.locator('[data-testid="stProgress"]')
    expect(bar).to_be_visible(timeout=30_000)
    expect(button).to_be_disabled()  # asked once while it is built
    texts, widths, renderers = [], [], ([], [])
    shot = ARTIFACTS / "briefing_progress_vi.png"
    shot.unlink(missing_ok=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not page.locator(".st-key-briefing_pptx").count():
        if bar.count():
            try:
                texts.append(bar.inner_text(timeout=1000))
                widths.append(float(bar.locator('[role="progressbar"]').get_attribute("aria-valuenow", timeout=1000)))
            except Exception:  # noqa: BLE001  the bar was redrawn while read
                pass
        procs = _processes()
        direct, below = _renderers_started_by(_server_pid(port, procs), procs)
        renderers = (renderers[0] + direct, renderers[1] + below)
        if texts and texts[-1].startswith("Đang vẽ bản đồ") and not shot.exists():
            page.screenshot(path=str(shot))  # the viewport, as the user sees it while waiting
        time.sleep(0.25)
    expect(page.locator(".st-key-briefing_pptx")).to_be_visible()
    assert any(t.startswith("Đang vẽ bản đồ và biểu đồ: ") for t in texts), texts
    assert len(set(widths)) >= 3 and widths == sorted(widths), widths  # it moved, forwards only
    assert renderers[1] and not renderers[0], renderers  # the worker's Chromium, none in the web server
    expect(page.get_by_text(re.compile(r"^Đã tạo bộ tài liệu: 10 trang"))).to_be_visible()
    expect(button).to_be_enabled()
    keep_screenshot(page, "briefing_done_vi")
    with page.expect_download() as info:
        page.locator(".st-key-briefing_pptx button").click()
    assert info.value.suggested_filename == "bo-tai-lieu-hop-20-2025.pptx"
    deck = zipfile.ZipFile(io.BytesIO(Path(info.value.path()).read_bytes()))
    slides = [n for n in deck.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n)]
    assert len(slides) == 10
    assert "Tình hình thực hiện mục tiêu giảm nghèo" in deck.read("ppt/slides/slide1.xml").decode("utf-8")
    assert outside_requests == []
