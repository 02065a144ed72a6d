"""Entry point: page setup, language, navigation.  Run with ``streamlit run dashboard.py``."""
from __future__ import annotations

import streamlit as st

from pages import common as ui

st.set_page_config(page_title="Giảm nghèo", page_icon="📊", layout="wide")
ui.init_state()
ui.language_picker()
ui.version_picker()
ui.presentation_toggle()

pages = [
    st.Page("pages/overview.py", title=ui.tr("nav.overview"), url_path="tong-quan", default=True),
    st.Page("pages/map.py", title=ui.tr("nav.map"), url_path="ban-do"),
    st.Page("pages/progress.py", title=ui.tr("nav.progress"), url_path="tien-do"),
    st.Page("pages/whatif.py", title=ui.tr("nav.whatif"), url_path="kich-ban"),
    st.Page("pages/import_data.py", title=ui.tr("import.nav"), url_path="nhap-so-lieu"),
]
nav = st.navigation(pages)
nav.run()
