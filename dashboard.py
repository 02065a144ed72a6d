"""Entry point: page setup, language, sign-in, navigation.  Run with ``streamlit run dashboard.py``.

The menu holds only the pages the user's role may open; each of those pages checks the
permission again, so a typed URL is refused too (see :mod:`povdata.auth`).

Imported by the server (no script is running): the file is the ASGI app, ``st.App`` with the
security headers and the process-wide hardening of :mod:`pages._server`; run as the app's
script (each page view): the navigation below.
"""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

# (script, title key, URL path, permission needed)
PAGES = [
    ("pages/overview.py", "nav.overview", "tong-quan", "browse"),
    ("pages/map.py", "nav.map", "ban-do", "browse"),
    ("pages/progress.py", "nav.progress", "tien-do", "browse"),
    ("pages/programme.py", "nav.programme", "chuong-trinh", "browse"),
    ("pages/whatif.py", "nav.whatif", "kich-ban", "whatif"),
    ("pages/targets.py", "nav.targets", "muc-tieu", "browse"),
    ("pages/import_data.py", "import.nav", "nhap-so-lieu", "import"),
    ("pages/admin.py", "nav.admin", "quan-tri", "users"),
]


def main() -> None:
    """One page view: page setup, fail-closed check, language, sign-in, navigation."""
    from pages import common as ui

    from povdata.i18n import t

    st.set_page_config(page_title=t("app.browser_title", str(st.query_params.get("lang", "vi"))), page_icon="📊",
                       layout="wide")
    PATHS = [path for _, _, path, _ in PAGES]
    # fail closed: a missing (once sign-in is on), empty or corrupt store shows its error at every
    # address, never a guest dashboard and never Streamlit's own page list
    problem = ui.store_problem()
    if problem:
        ui.fail_closed(problem, PATHS)
    try:
        ui.init_state()
        ui.language_picker()
        user = ui.current_user()
    except Exception as exc:  # noqa: BLE001  anything before the menu exists: an error page, never Streamlit's
        import logging                       # page list of pages/ (internal modules) and never a guest view
        logging.getLogger("povdash").exception("before navigation")
        ui.fail_closed(ui.tr("app.store_broken", message=str(exc)), PATHS)

    if user is None:
        # sign-in is on and nobody is signed in: every address shows the sign-in form (a shared
        # deep link keeps its path and query string, and opens once the user has signed in)
        nav = st.navigation([st.Page("pages/signin.py", title=ui.tr("auth.title"), url_path=path, default=i == 0)
                             for i, (_, _, path, _) in enumerate(PAGES)], position="hidden")
        nav.run()
        st.stop()

    ui.user_box()
    ui.province_picker()
    ui.version_picker()
    ui.presentation_toggle()
    nav = st.navigation([st.Page(script, title=ui.tr(title), url_path=path, default=i == 0)
                         for i, (script, title, path, permission) in enumerate(PAGES) if ui.can(permission)])
    nav.run()


if get_script_run_ctx(suppress_warning=True) is None:
    # imported by the server (``streamlit run`` found this app): the ASGI app with the security
    # headers, and the process-wide hardening (no outside lookups, no cache clearing by message)
    from pages import _server

    _server.harden()
    app = st.App(__file__, routes=_server.routes(), middleware=_server.middleware())
else:
    main()
