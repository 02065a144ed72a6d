"""Running the dashboard in Streamlit's AppTest, shared by the page tests."""
from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "dashboard.py")


def run_app(page: str | None = None, **query: str) -> AppTest:
    """The app opened with ``query`` in the URL, then switched to ``page``; no exception."""
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def banner_text(at: AppTest) -> str:
    """The page's data-status label, full (a warning or an info box and its source caption) or
    compact (one caption line: a badge, then source and version)."""
    parts = [w.value for w in at.warning] + [i.value for i in at.info]
    parts += [c.value for c in at.caption if c.value.startswith((":orange-badge[", ":blue-badge[", ":green-badge["))]
    return "\n".join(parts)
