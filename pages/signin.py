"""Đăng nhập: the only page shown before sign-in when a deployment turns sign-in on."""
from __future__ import annotations

import streamlit as st

from pages import common as ui
from povdata.auth import SignInError, authenticate
from povdata.store import open_store

st.title(ui.tr("auth.title"))
if ui.auth_mode() == "oidc":  # the identity provider proves who it is; the role comes from the users table
    if getattr(st.user, "is_logged_in", False):
        st.error(ui.tr("auth.oidc_unknown", email=ui.md_escape(st.user.get("email") or "")), icon="🔒")
        st.button(ui.tr("auth.sign_out"), on_click=st.logout)
    else:
        st.caption(ui.tr("auth.oidc_intro"))
        st.button(ui.tr("auth.oidc_button"), on_click=st.login, type="primary")
    st.stop()

st.caption(ui.tr("auth.intro"))
column, _ = st.columns([2, 3])  # a form of the size of what it asks, not the page's width
with column, st.form("sign_in", clear_on_submit=False):
    # tell browsers and password managers this is a sign-in, so they offer the saved password
    # (Streamlit marks a password field "new-password", as for a sign-up, unless told otherwise)
    username = st.text_input(ui.tr("auth.username"), max_chars=120, key="signin_user", autocomplete="username")
    password = st.text_input(ui.tr("auth.password"), type="password", max_chars=256, key="signin_password",
                             autocomplete="current-password")
    submitted = st.form_submit_button(ui.tr("auth.submit"), type="primary")
if submitted:
    try:
        user = authenticate(open_store(), username, password)
    except SignInError as exc:
        column.error(ui.tr(f"auth.failed_{exc.kind}", wait=int(exc.wait_seconds) + 1), icon="🔒")
    else:
        st.session_state.pop("signin_password", None)
        if ui.hand_over_sign_in(user):
            st.stop()  # the browser is on its way to the server's hand-over, then back here signed in
        st.session_state["auth_user"] = user  # AppTest (no browser, no cookie): the session holds it
        st.rerun()
