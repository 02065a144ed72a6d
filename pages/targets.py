"""Mục tiêu: the targets in force, their sources and history; editors change values here.

All logic is in :mod:`povdata.edits` (stored changes over the targets file, audited).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import common as ui
from povdata.auth import PermissionDenied
from povdata.edits import EditError, change_targets, parse_typed_values, target_changes
from povdata.i18n import fmt_number
from povdata.sources import cite
from povdata.store import StoreError, has_store, open_store

tr = ui.tr
prov = ui.province()
cfg = ui.targets()
base = ui.base_targets()
editor = ui.can("edit_targets")
user = ui.current_user()

st.title(tr("targets.title"))
st.caption(tr("targets.intro"))
from povdata.targets import has_own_targets  # noqa: E402
from povdata.targets import former_targets_path  # noqa: E402
if not has_own_targets(prov) and not (ui.former() and former_targets_path(ui.former()).exists()):
    st.info(tr("province.national_targets"), icon="🏛️")
if not editor:
    st.caption(tr("targets.read_only"))

# values are shown and typed in the UI language's format (3,00 in Vietnamese) and parsed on save
typed: dict[tuple[str, str, str], str] = {}
st.subheader(tr("targets.thresholds"))
c1, c2 = st.columns(2)
typed[("", "", "at_risk_margin_pp")] = c1.text_input(
    tr("targets.at_risk_margin"), fmt_number(cfg.at_risk_margin_pp, ui.lang(), 1), max_chars=12,
    disabled=not editor, key="tg_margin", help=tr("targets.at_risk_margin_help"))
typed[("", "", "poor_district_exit_rate")] = c2.text_input(
    tr("targets.exit_rate"), fmt_number(cfg.poor_district_exit_rate, ui.lang(), 1), max_chars=12,
    disabled=not editor, key="tg_exit", help=tr("targets.exit_rate_help"))

def editable(target, value) -> str:
    """A value as typed back: a count target whole and without thousands separators ('15000':
    '15.000' would read as 15), others with two decimals in the UI language ('3,00')."""
    if target.is_programme_rule and target.rule != "share_at_least" and value is not None:
        return str(int(round(value)))
    return fmt_number(value, ui.lang())


for period in cfg.periods:
    std = tr("targets.standard", standard=period.standard) if period.standard else ""
    st.subheader(tr("targets.period", id=period.id, baseline=period.baseline_year) + std)
    st.caption(ui.md_escape(cite(period.source, ui.lang())))
    file_values = {t.id: t.value for t in base.period(period.id).targets}
    df = pd.DataFrame({
        tr("targets.col_id"): [t.id for t in period.targets],
        tr("targets.col_rule"): [tr(f"targets.rule_{t.rule}") + (f" ({t.by_year})" if t.by_year else "")
                                 + (" " + tr("targets.range_high", high=fmt_number(t.value_high, ui.lang()))
                                    if t.value_high is not None else "") for t in period.targets],
        tr("targets.col_scope"): [tr(f"targets.scope_{t.scope}") for t in period.targets],
        tr("targets.col_value"): [editable(t, t.value) for t in period.targets],
        tr("targets.col_file_value"): [editable(t, file_values.get(t.id)) for t in period.targets],
        tr("targets.col_status"): [tr(f"targets.status_{t.status.replace(' ', '_')}") for t in period.targets],
        tr("targets.col_source"): [cite(t.source, ui.lang()) for t in period.targets],
    })
    col_cfg = {tr("targets.col_value"): st.column_config.TextColumn(max_chars=12, help=tr("targets.value_help"))}
    if editor:
        edited = st.data_editor(df, hide_index=True, key=f"tg_{period.id}", width="stretch",
                                disabled=[c for c in df.columns if c != tr("targets.col_value")],
                                column_config=col_cfg, num_rows="fixed")
    else:
        edited = df
        st.dataframe(ui.no_nulls(df), hide_index=True, key=f"tgv_{period.id}", width="stretch", column_config=col_cfg)
    for tid, v in zip(edited[tr("targets.col_id")], edited[tr("targets.col_value")]):
        typed[(period.id, tid, "value")] = "" if v is None else str(v)

if editor:
    if st.button(tr("targets.save"), type="primary", key="tg_save"):
        try:
            made = change_targets(open_store(), base, parse_typed_values(typed), user=user)
        except (EditError, PermissionDenied, StoreError) as exc:
            st.error(ui.md_escape(ui.say(exc)))
        else:
            st.session_state["tg_saved"] = len(made)
            st.rerun()
    if "tg_saved" in st.session_state:
        n = st.session_state.pop("tg_saved")
        (st.success if n else st.info)(tr("targets.saved", n=n) if n else tr("targets.nothing_changed"))

if editor:  # the province's own rules, from its resolution (audited like value changes)
    from povdata.edits import RULE_SCOPES, add_target_rule
    rated = [p.id for p in cfg.periods if p.standard is not None]
    with st.expander(tr("targets.add_title"), expanded=False):
        with st.form("tg_add", clear_on_submit=False):
            c1, c2, c3 = st.columns(3)
            a_period = c1.selectbox(tr("targets.add_period"), rated, key="tg_add_period")
            a_scope = c2.selectbox(tr("targets.add_scope"), list(RULE_SCOPES),
                                   format_func=lambda sc: tr(f"targets.scope_{sc}"), key="tg_add_scope")
            a_rule = c3.selectbox(tr("targets.add_rule"), ["annual_reduction_at_least", "annual_reduction_greater_than"],
                                  format_func=lambda r: tr(f"targets.rule_{r}"), key="tg_add_rule")
            a_value = st.text_input(tr("targets.add_value"), fmt_number(3.0, ui.lang()), max_chars=12,
                                    key="tg_add_value")
            a_source = st.text_input(tr("targets.add_source"), "", max_chars=300, key="tg_add_source",
                                     placeholder=tr("targets.add_source_hint"))
            if st.form_submit_button(tr("targets.add_button")):
                try:
                    value = parse_typed_values({("", "", "value"): a_value})[("", "", "value")]
                    tid = add_target_rule(open_store(), base, period_id=a_period, scope=a_scope, rule=a_rule,
                                          value=value, source=a_source, user=user)
                except (EditError, PermissionDenied, StoreError) as exc:
                    st.error(ui.md_escape(ui.say(exc)))
                else:
                    st.session_state["tg_added"] = tid
                    st.rerun()
    if "tg_added" in st.session_state:
        st.success(tr("targets.added", id=st.session_state.pop("tg_added")))

# ---- designations by decision: poor districts and especially difficult communes -----------------
st.subheader(tr("decisions.title"))
st.caption(tr("decisions.intro"))
from povdata.designations import DecisionError, add_decision, decision_frame  # noqa: E402
from povdata.provinces import legacy_units_of  # noqa: E402
_units = legacy_units_of(prov)
_names = dict(zip(_units["code"], _units["name"]))
dec = decision_frame(cfg.decisions, _names)
if dec.empty:
    st.caption(tr("decisions.none"))
else:
    dec = dec.assign(action=dec["action"].map(lambda a: tr(f"decisions.action_{a}")),
                     status=dec["status"].map(lambda a: tr(f"decisions.status_{a}")),
                     origin=dec["origin"].map(lambda a: tr(f"decisions.origin_{a}")))
    dtable = ui.table_headers(dec, {"number": "decisions.col_number", "date": "decisions.col_date",
                                    "issuer": "decisions.col_issuer", "action": "decisions.col_action",
                                    "status": "decisions.col_status", "unit_name": "decisions.col_unit",
                                    "period": "decisions.col_period", "basis": "decisions.col_basis",
                                    "origin": "decisions.col_origin"})
    st.dataframe(ui.no_nulls(dtable), hide_index=True, key="tg_decisions", width="stretch")
    ui.download_buttons(dtable, "quyet-dinh", "tg_decisions")
if editor:
    with st.expander(tr("decisions.add_title"), expanded=False):
        with st.form("tg_decision", clear_on_submit=False):
            c1, c2, c3 = st.columns(3)
            d_number = c1.text_input(tr("decisions.col_number"), "", max_chars=40, key="dec_number",
                                     placeholder=tr("decisions.number_placeholder"))
            d_date = c2.date_input(tr("decisions.col_date"), value=None, format="DD/MM/YYYY", key="dec_date")
            d_issuer = c3.text_input(tr("decisions.col_issuer"), tr("decisions.issuer_default"), max_chars=120,
                                     key="dec_issuer")
            c4, c5 = st.columns(2)
            d_status = c4.selectbox(tr("decisions.col_status"), ["poor_district", "difficult_commune"],
                                    format_func=lambda a: tr(f"decisions.status_{a}"), key="dec_status")
            d_action = c5.selectbox(tr("decisions.col_action"), ["exit", "designate"],
                                    format_func=lambda a: tr(f"decisions.action_{a}"), key="dec_action")
            level = "district" if d_status == "poor_district" else "commune"
            choices = _units.loc[_units["level"].isin(["district", "commune"]), ["code", "name", "level"]]
            d_units = st.multiselect(tr("decisions.col_unit"), choices["code"].tolist(),
                                     format_func=lambda c: f"{_names.get(c, c)} ({c})", key="dec_units",
                                     help=tr("decisions.units_help"))
            c6, c7 = st.columns(2)
            d_from = c6.number_input(tr("decisions.period_from"), 2000, 2100, 2026, key="dec_from")
            d_to = c7.number_input(tr("decisions.period_to"), 2000, 2100, 2030, key="dec_to")
            d_basis = st.text_input(tr("decisions.col_basis"), "", max_chars=300, key="dec_basis")
            if st.form_submit_button(tr("decisions.add_button")):
                try:
                    n = add_decision(open_store(), prov, number=d_number, on=d_date or "", issuer=d_issuer,
                                     action=d_action, status=d_status, unit_codes=list(d_units),
                                     period_start=int(d_from), period_end=int(d_to), basis=d_basis, user=user)
                except (DecisionError, PermissionDenied, StoreError) as exc:
                    st.error(ui.md_escape(ui.say(exc)))
                else:
                    st.session_state["dec_added"] = n
                    st.rerun()
    if "dec_added" in st.session_state:
        st.success(tr("decisions.added", n=st.session_state.pop("dec_added")))

st.subheader(tr("targets.history"))
hist = target_changes(open_store(), prov, user) if has_store() else pd.DataFrame()
if hist.empty:
    st.caption(tr("targets.no_history", file=ui.md_escape(base.path.split("/")[-1])))
else:
    table = pd.DataFrame({tr("targets.col_when"): hist["at"].str.replace("T", " ").str[:19],
                          tr("targets.col_who"): hist["actor"],
                          tr("targets.col_target"): [f"{t} ({p})" if t else tr(f"targets.field_{f}")
                                                     for p, t, f in zip(hist["period_id"], hist["target_id"],
                                                                        hist["field"])],
                          tr("targets.col_value"): hist["value"]})
    st.dataframe(ui.styled_table(table, {tr("targets.col_value"): 2}), hide_index=True, key="tg_history",
                 width="stretch")
