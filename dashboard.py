"""Entry point: page setup, language, sign-in, navigation.  Run with ``streamlit run dashboard.py``.

The menu holds only the pages the user's role may open; each of those pages checks the
permission again, so a typed URL is refused too (see :mod:`povdata.auth`).
"""
from __future__ import annotations

import streamlit as st

from pages import common as ui

st.set_page_config(page_title="Giảm nghèo", page_icon="📊", layout="wide")
ui.init_state()
ui.language_picker()
user = ui.current_user()

if user is None:  # sign-in is on and nobody is signed in: only the sign-in page exists
    nav = st.navigation([st.Page("pages/signin.py", title=ui.tr("auth.title"), url_path="dang-nhap", default=True)])
    nav.run()
    st.stop()

ui.user_box()
ui.version_picker()
ui.presentation_toggle()

pages = [
    st.Page("pages/overview.py", title=ui.tr("nav.overview"), url_path="tong-quan", default=True),
    st.Page("pages/map.py", title=ui.tr("nav.map"), url_path="ban-do"),
    st.Page("pages/progress.py", title=ui.tr("nav.progress"), url_path="tien-do"),
    st.Page("pages/whatif.py", title=ui.tr("nav.whatif"), url_path="kich-ban"),
    st.Page("pages/targets.py", title=ui.tr("nav.targets"), url_path="muc-tieu"),
]
if ui.can("import"):
    pages.append(st.Page("pages/import_data.py", title=ui.tr("import.nav"), url_path="nhap-so-lieu"))
if ui.can("users"):
    pages.append(st.Page("pages/admin.py", title=ui.tr("nav.admin"), url_path="quan-tri"))
nav = st.navigation(pages)
nav.run()
