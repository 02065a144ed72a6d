"""The committee's programme view in Chromium (issue 18): a link with a department opens its
targets only, with verdicts from the one engine; the deprivation chart is drawn; English link;
nothing leaves the machine."""
from __future__ import annotations

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the fixtures skip, or fail under POVDASH_REQUIRE_BROWSER=1, with a clear message
    expect = None

from browser_helpers import download_table, keep_screenshot, open_app, wait_idle

pytestmark = pytest.mark.browser


def test_a_department_link_opens_its_targets_and_the_deprivations(page, app_url, outside_requests):
    page.set_viewport_size({"width": 1366, "height": 900})
    open_app(page, app_url + "/chuong-trinh?owner=health")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Mục tiêu dịch vụ và kết quả chương trình")).to_be_visible()
    bars = page.locator(".js-plotly-plot .barlayer .point")
    expect(bars.first).to_be_visible()
    assert bars.count() == 12
    assert page.get_by_text("Số liệu minh họa").count() >= 1
    keep_screenshot(page, "programme_health_vi")  # before a download's rerun greys the page
    table = download_table(page, "programme_dl")
    assert set(table["Cơ quan chủ trì"]) == {"Sở Y tế"}
    assert list(table["Chỉ tiêu"]) == ["Hộ nghèo và cận nghèo có bảo hiểm y tế", "Hộ nghèo có nhà tiêu hợp vệ sinh"]
    assert list(table["Mục tiêu"]) == ["đạt 100% (tất cả)", "đạt từ 50% trở lên"]
    assert set(table["Tình trạng"]) <= {"Đạt", "Không đạt"}  # the 2025 review is in: final verdicts
    assert all(v.endswith("%") and "," in v for v in table["Giá trị mới nhất"])
    open_app(page, app_url + "/chuong-trinh?owner=health&lang=en")
    wait_idle(page)
    expect(page.get_by_role("heading", name="Service and programme targets")).to_be_visible()
    table = download_table(page, "programme_dl")
    assert set(table["Department responsible"]) == {"Department of Health"}
    assert outside_requests == []
