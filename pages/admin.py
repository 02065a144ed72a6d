"""Quản trị: users, rolling back to an earlier version, and the audit trail (admins only).

All logic is in :mod:`povdata.auth`, :mod:`povdata.store` and :mod:`povdata.audit`; the
audit trail is shown and exported, never edited.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import common as ui
from povdata import auth
from povdata.audit import ACTIONS, detail_text, entries, summary_text
from povdata.store import StoreError, has_store, open_store, rollback, version_label, versions

ui.require("users")
tr = ui.tr
user = ui.current_user()
prov = ui.province()
store = open_store()


def _done(message: str) -> None:
    st.session_state["admin_done"] = message
    st.rerun()


st.title(tr("admin.title"))
if "admin_done" in st.session_state:
    st.success(ui.md_escape(st.session_state.pop("admin_done")))
users_tab, versions_tab, audit_tab = st.tabs([tr("admin.users"), tr("admin.versions"), tr("admin.audit")])

with users_tab:
    df = auth.list_users(store, actor=user)
    st.dataframe(ui.no_nulls(pd.DataFrame({
        tr("admin.col_username"): df["username"], tr("admin.col_name"): df["display_name"],
        tr("admin.col_role"): [tr(f"auth.role_{r}") for r in df["role"]],
        tr("admin.col_province"): df["province_code"].fillna(tr("admin.all_provinces")),
        tr("admin.col_state"): [tr("admin.disabled") if d else tr("admin.active") for d in df["disabled"]],
        tr("admin.col_created"): df["created_at"].str.replace("T", " ").str[:19],
    })), hide_index=True, width="stretch", key="admin_users")

    with st.form("admin_add", clear_on_submit=True):
        st.markdown(f"**{tr('admin.add')}**")
        c1, c2, c3 = st.columns(3)
        new_name = c1.text_input(tr("admin.col_username"), max_chars=120)
        new_display = c2.text_input(tr("admin.col_name"), max_chars=120)
        new_role = c3.selectbox(tr("admin.col_role"), auth.ROLES, format_func=lambda r: tr(f"auth.role_{r}"))
        c4, c5 = st.columns(2)
        new_pw = c4.text_input(tr("auth.password"), type="password", max_chars=256,
                               help=tr("admin.password_help", n=auth.MIN_PASSWORD_LENGTH))
        new_scope = c5.text_input(tr("admin.col_province"), value=user.province_code or "", max_chars=2,
                                  help=tr("admin.scope_help"), disabled=bool(user.province_code))
        if st.form_submit_button(tr("admin.add"), type="primary"):
            try:
                u = auth.add_user(store, new_name, new_pw, new_role, actor=user,
                                  province_code=new_scope.strip() or None, display_name=new_display)
            except (auth.AuthError, auth.PermissionDenied, StoreError) as exc:
                st.error(ui.md_escape(ui.say(exc)))
            else:
                _done(tr("admin.added", name=ui.md_escape(u.username)))

    if len(df) > 1:
        st.markdown(f"**{tr('admin.change')}**")
        c1, c2, c3 = st.columns([2, 2, 3])
        others = [u for u in df["username"] if u != user.username]  # nobody changes their own account here
        who = c1.selectbox(tr("admin.col_username"), others, key="admin_who", index=None,
                           placeholder=tr("admin.pick_user"))
        action = c2.selectbox(tr("admin.action"), ["role", "disable", "enable", "password"], key="admin_action",
                              format_func=lambda a: tr(f"admin.action_{a}"))
        role = pw = None
        if action == "role":
            role = c3.selectbox(tr("admin.col_role"), auth.ROLES, key="admin_role",
                                format_func=lambda r: tr(f"auth.role_{r}"))
        elif action == "password":
            pw = c3.text_input(tr("auth.password"), type="password", key="admin_pw", max_chars=256)
        if st.button(tr("admin.apply"), key="admin_apply", disabled=who is None):
            try:
                if action == "role":
                    auth.set_role(store, who, role, actor=user)
                elif action == "disable":
                    auth.disable_user(store, who, actor=user)
                elif action == "enable":
                    auth.enable_user(store, who, actor=user)
                else:
                    auth.set_password(store, who, pw or "", actor=user)
            except (auth.AuthError, auth.PermissionDenied, StoreError) as exc:
                st.error(ui.md_escape(ui.say(exc)))
            else:
                _done(tr("admin.applied", name=ui.md_escape(who)))

with versions_tab:
    vs = versions(store, prov, user)
    if len(vs) < 2:
        st.caption(tr("admin.no_rollback"))
    else:
        st.caption(tr("admin.rollback_intro", current=version_label(vs[0])))
        older = [v for v in vs[1:]]
        pick = st.selectbox(tr("admin.rollback_to"), [v.id for v in older], key="admin_rb",
                            format_func=lambda i: next(f"{version_label(v)} · {v.source_file} ({v.years})"
                                                       for v in older if v.id == i))
        sure = st.checkbox(tr("admin.rollback_confirm"), key="admin_rb_sure")
        if st.button(tr("admin.rollback"), disabled=not sure, key="admin_rb_go"):
            try:
                new = rollback(store, prov, pick, user=user)
            except (StoreError, auth.PermissionDenied) as exc:
                st.error(ui.md_escape(ui.say(exc)))
            else:
                st.session_state["data_version"] = new.id
                st.session_state.pop("_version_pick", None)
                _done(tr("admin.rolled_back", version=f"v{new.number}"))

with audit_tab:
    st.caption(tr("admin.audit_intro"))
    action = st.selectbox(tr("admin.action"), [""] + list(ACTIONS), key="admin_audit_action",
                          format_func=lambda a: tr("admin.all_actions") if not a else tr(f"audit.{a}"))
    trail = entries(store, user, action=action or None) if has_store() else pd.DataFrame()
    if trail.empty:
        st.caption(tr("admin.audit_empty"))
    else:
        table = pd.DataFrame({
            "#": trail["id"], tr("admin.col_when"): trail["at"].str.replace("T", " ").str[:19],
            tr("admin.col_who"): trail["actor"], tr("admin.action"): [tr(f"audit.{a}") for a in trail["action"]],
            tr("admin.col_province"): trail["province_code"],
            tr("admin.col_summary"): [summary_text(s, k, ui.lang()) for s, k in zip(trail["summary"], trail["said"])],
            tr("admin.col_detail"): [detail_text(d, ui.lang()) for d in trail["detail"]]})
        st.dataframe(ui.no_nulls(table), hide_index=True, width="stretch", key="admin_audit")
        # the export keeps the details whole (JSON, full checksums)
        ui.download_buttons(table.assign(**{tr("admin.col_detail"): trail["detail"]}), f"nhat-ky-thay-doi-{prov}",
                            "admin_audit_dl")
