"""Thử kịch bản: sliders for reduction paces, projection to 2030, saved and shared scenarios.

The scenario's state lives in the URL query string; the only write is an editor sharing a
scenario (:func:`povdata.edits.share_scenario`, audited).
"""
from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from pages import common as ui
from povdata.charts import mark_illustrative, projection_figure, rate_series_figure
from povdata.i18n import fmt_count, fmt_number, fmt_rate
from povdata.progress import poor_districts_for
from povdata.scenarios import MODELS, Scenario, crossing_years, project, scenario_paces, scenario_summary
from povdata.views import series

lang = ui.lang()
ds = ui.dataset()
prov = ui.province()
levels = ui.levels(prov)
ui.require_data(levels)
top = ui.top_code()
cfg = ui.targets()
q = st.query_params

st.title(ui.tr("whatif.title"))
ui.data_banner(ds)
st.caption(ui.tr("whatif.caption"))

latest = int(levels["year"].max())
poor = poor_districts_for(cfg, latest, latest) or poor_districts_for(cfg, latest - 5, latest)
names = levels.drop_duplicates("unit_code").set_index("unit_code")["name"]
districts = sorted(levels.loc[levels["level"] == "district", "unit_code"].unique())

if "whatif_init" not in st.session_state:  # first load: sliders from the URL
    sc0 = Scenario.from_query({k: q.get(k) for k in q.keys()})
    st.session_state.update(whatif_init=True, wi_name=sc0.name if q.get("sc_name") else "", wi_model=sc0.model,
                            wi_prov=sc0.province_pace,
                            wi_poor=sc0.poor_district_pace, wi_growth=sc0.household_growth,
                            wi_district=next(iter(sc0.district_paces), ""),
                            wi_district_pace=next(iter(sc0.district_paces.values()), sc0.province_pace))
    st.session_state.setdefault("scenarios", [])


def _load(sc: Scenario) -> None:
    st.session_state.update(wi_name=sc.name, wi_model=sc.model, wi_prov=sc.province_pace,
                            wi_poor=sc.poor_district_pace, wi_growth=sc.household_growth,
                            wi_district=next(iter(sc.district_paces), ""),
                            wi_district_pace=next(iter(sc.district_paces.values()), sc.province_pace))


shared = ui.shared_scenarios()
if not shared.empty:  # scenarios an editor shared with everybody
    labels = {int(r.id): f"{r.name} · {r.actor} · {r.at[:10]}" for r in shared.itertuples()}
    queries = {int(r.id): r.query for r in shared.itertuples()}
    st.selectbox(ui.tr("whatif.shared"), [None, *labels], key="wi_shared",
                 format_func=lambda i: ui.tr("whatif.shared_none") if i is None else labels[i],
                 on_change=lambda: _load(Scenario.from_query(json.loads(queries[st.session_state["wi_shared"]])))
                 if st.session_state.get("wi_shared") in queries else None)

PACES = [round(i / 10, 1) for i in range(0, 151)]  # 0,0 … 15,0 points a year, written the Vietnamese way


def _pace_slider(label: str, key: str, highest: float, **kw) -> None:
    """A pace slider whose values read '3,5' (Streamlit's sliders write '3.50')."""
    options = [v for v in PACES if v <= highest]
    st.session_state[key] = min(options, key=lambda v: abs(v - float(st.session_state.get(key) or 0.0)))
    st.select_slider(label, options, key=key, format_func=lambda v: fmt_number(v, lang, 1), **kw)


def target_label(row) -> str:
    """A target in words: 'Toàn tỉnh: giảm từ 1 điểm %/năm trở lên (2026-2030)', 'Không còn huyện nghèo năm 2030'."""
    from povdata.targets import rule_text

    target = next(x for x in cfg.period(row.period_id).targets if x.id == row.target_id)
    if target.is_rate_rule:
        return ui.tr("whatif.target_pace", scope=ui.tr(f"whatif.scope_{row.scope}"), rule=rule_text(target, lang),
                     period=row.period_id)
    if row.rule == "poor_districts_remaining_at_most":
        return (ui.tr("landing.remaining_title_none", year=row.deadline) if row.value == 0 else
                ui.tr("landing.remaining_title", value=fmt_number(row.value, lang, 0), year=row.deadline))
    return ui.tr("landing.exits_title", value=fmt_number(row.value, lang, 0), year=row.deadline)


def target_years_table(sc: Scenario) -> pd.DataFrame:
    """The year each open target would be reached under ``sc``, with the engine's verdict."""
    from povdata.scenarios import scenario_targets

    tt = scenario_targets(levels, cfg, top, sc)
    return pd.DataFrame({
        ui.tr("col.target"): [target_label(r) for r in tt.itertuples()],
        ui.tr("col.deadline"): [str(int(d)) for d in tt["deadline"]],
        ui.tr("col.year_reached"): [ui.tr("whatif.not_by", horizon=sc.horizon) if pd.isna(y) else str(int(y))
                                    for y in tt["year_reached"]],
        ui.tr("col.status"): [ui.tr(f"status.{x}") for x in tt["status"]],
    })


# the sliders on the left, what they give on the right: a move shows at once on the first screen
controls, results = st.columns([2, 3], gap="large")
with controls:
    st.text_input(ui.tr("whatif.name"), key="wi_name", max_chars=60, placeholder=ui.tr("whatif.name_placeholder"))
    st.radio(ui.tr("whatif.model"), MODELS, key="wi_model", format_func=lambda m: ui.tr(f"whatif.model_{m}"),
             horizontal=True)
    _pace_slider(ui.tr("whatif.province_pace"), "wi_prov", 10.0)
    _pace_slider(ui.tr("whatif.poor_pace"), "wi_poor", 15.0)
    st.selectbox(ui.tr("whatif.district"), [""] + districts, key="wi_district",
                 format_func=lambda c: names.get(c, ui.tr("whatif.district_none")))
    _pace_slider(ui.tr("whatif.district_pace"), "wi_district_pace", 15.0, disabled=not st.session_state["wi_district"])
    st.number_input(ui.tr("whatif.growth"), min_value=-5.0, max_value=10.0, step=0.1, value=None, key="wi_growth")

ss = st.session_state
scenario = Scenario(name=ss["wi_name"].strip(), model=ss["wi_model"],
                    province_pace=float(ss["wi_prov"]), poor_district_pace=float(ss["wi_poor"]),
                    district_paces={ss["wi_district"]: float(ss["wi_district_pace"])} if ss["wi_district"] else {},
                    household_growth=ss["wi_growth"])
# the scenario lives in the URL: a shared link reopens it
for k in [k for k in q.keys() if k.startswith("sc_")]:
    del q[k]
q.update(scenario.to_query())

with controls:
    b1 = b2 = st  # one button a row: their labels are read whole
    if b1.button(ui.tr("whatif.save"), key="wi_save"):
        taken = {x.name for x in ss["scenarios"]}
        if not ss["wi_name"].strip():  # a comparison of two "Kịch bản" says nothing
            st.error(ui.tr("whatif.name_needed"))
        elif scenario.name in taken:
            st.error(ui.tr("whatif.name_taken", name=ui.md_escape(scenario.name)))
        else:
            ss["scenarios"] = (ss["scenarios"] + [scenario])[-3:]
            st.success(ui.tr("whatif.saved", name=ui.md_escape(scenario.name)))
    if b2.button(ui.tr("whatif.clear"), key="wi_clear"):
        ss["scenarios"] = []
    if ui.can("share_scenarios") and st.button(ui.tr("whatif.share"), key="wi_share",
                                               help=ui.tr("whatif.share_help")):
        from povdata.edits import EditError, share_scenario
        from povdata.store import open_store
        try:
            if not scenario.name:
                raise EditError(ui.tr("whatif.name_needed"))
            share_scenario(open_store(), prov, scenario.name, json.dumps(scenario.to_query(), ensure_ascii=False),
                           user=ui.current_user())
        except EditError as exc:
            st.error(ui.md_escape(ui.say(exc)))
        else:
            st.success(ui.tr("whatif.shared_done", name=ui.md_escape(scenario.name)))

# ---- projection --------------------------------------------------------------
units = [prov] + districts
paces = scenario_paces(levels, prov, poor, scenario)
proj = project(levels, units, paces, scenario)
s = series(levels, prov)
summary = scenario_summary(levels, top, poor, scenario, cfg.poor_district_exit_rate)
focus = poor + ([ss["wi_district"]] if ss["wi_district"] and ss["wi_district"] not in poor else [])
sub = proj[proj["unit_code"].isin(focus)]
cross = crossing_years(sub, cfg.poor_district_exit_rate)
behind = [c for c in focus if pd.isna(cross.get(c)) or int(cross.get(c)) > scenario.horizon]

with results:
    m = st.columns(3)
    # short labels that fit the column; the full wording is the tooltip
    m[0].metric(ui.tr("whatif.m_rate", horizon=scenario.horizon), fmt_rate(summary["rate"], lang),
                help=ui.tr("whatif.rate_2030", horizon=scenario.horizon))
    m[1].metric(ui.tr("whatif.m_poor", horizon=scenario.horizon), fmt_count(summary["poor_households"], lang),
                help=ui.tr("whatif.poor_2030", horizon=scenario.horizon))
    m[2].metric(ui.tr("whatif.m_remaining"), summary["poor_districts_remaining"],
                help=ui.tr("whatif.remaining_2030", horizon=scenario.horizon))
    # zoomed to the years the scenario is about (the last five reviews and the projection), so the
    # projected years do not lie flat on the axis of a 0-27% chart
    seen = s.dropna(subset=["poverty_rate"])["year"]  # the province's own series may be missing (district data)
    start = max(int(seen.min()), int(seen.max()) - 5) if len(seen) else latest
    fig = rate_series_figure(s[s["year"] >= start], lang, ui.tr("whatif.chart", horizon=scenario.horizon))
    dash = ("dash", "dot", "dashdot", "longdash")
    shown = [scenario] + [x for x in ss["scenarios"] if x != scenario]
    top_rate = float(s.loc[s["year"] >= start, "poverty_rate"].max()) if len(seen) else 0.0
    for i, sc in enumerate(shown):
        p = project(levels, [top], scenario_paces(levels, top, poor, sc), sc)
        peak = float(p["poverty_rate"].max()) if len(p) else float("nan")
        top_rate = top_rate if pd.isna(peak) else max(top_rate, peak)
        fig.add_trace(go.Scatter(x=p["year"], y=p["poverty_rate"], mode="lines+markers",
                                 name=ui.tr("whatif.projected", name=ui.html_text(sc.name or ui.tr("whatif.unnamed"))),
                                 line={"dash": dash[i % 4], "width": 2},
                                 hovertext=[f"{y}: {fmt_rate(v, lang)}" for y, v in zip(p["year"], p["poverty_rate"])],
                                 hovertemplate="%{hovertext}<extra></extra>"))
    # the poor-district exit threshold: where a poor district's line must go below
    fig.add_hline(y=cfg.poor_district_exit_rate, line={"dash": "dot", "color": "#b2182b", "width": 1},
                  annotation_text=ui.tr("whatif.exit_line", exit=fmt_number(cfg.poor_district_exit_rate, lang, 0)),
                  annotation_position="top left", annotation_font={"size": 11, "color": "#b2182b"})
    fig.update_xaxes(range=[start - 0.3, scenario.horizon + 0.3])
    fig.update_yaxes(range=[0, max(top_rate, cfg.poor_district_exit_rate) * 1.15])
    if ds.is_illustrative:
        mark_illustrative(fig, lang)
    st.plotly_chart(fig, key="whatif_chart", config={"displaylogo": False})
    if behind:  # who would miss the threshold by the horizon under this scenario
        st.warning(ui.tr("whatif.behind", horizon=scenario.horizon, exit=fmt_number(cfg.poor_district_exit_rate,
                                                                                    lang, 0),
                         names=", ".join(ui.md_escape(names[c]) for c in behind)))
    elif focus:
        st.success(ui.tr("whatif.all_below", horizon=scenario.horizon,
                         exit=fmt_number(cfg.poor_district_exit_rate, lang, 0)))
st.markdown("**" + ui.md_escape(ui.tr("whatif.target_years")) + "**")
st.dataframe(ui.styled_table(target_years_table(scenario), {}, ui.tr("col.status")), hide_index=True,
             key="whatif_target_years")
from povdata.standards import standard_label  # noqa: E402
last_std = levels.loc[levels["year"] == latest, "standard"].dropna()
latest_standard = standard_label(last_std.iloc[0], lang) if len(last_std) else "–"
st.caption(ui.tr("whatif.standard_note", year=latest, standard=latest_standard))

st.subheader(ui.tr("whatif.crossing_table", exit=fmt_number(cfg.poor_district_exit_rate, lang, 0)))
at_h = sub[sub["year"] == scenario.horizon].set_index("unit_code")
table = pd.DataFrame({
    ui.tr("col.unit"): [names[c] for c in focus],
    ui.tr("col.pace"): [paces.get(c, 0.0) for c in focus],
    ui.tr("col.crossing"): [ui.tr("progress.never") if pd.isna(cross.get(c)) else str(int(cross.get(c))) for c in focus],
    ui.tr("col.rate") + f" {scenario.horizon}": [at_h["poverty_rate"].get(c) for c in focus],
    ui.tr("col.poor_households") + f" {scenario.horizon}": [fmt_count(at_h["poor_households"].get(c), lang) for c in focus],
})
st.dataframe(ui.styled_table(table, {ui.tr("col.pace"): 1, ui.tr("col.rate") + f" {scenario.horizon}": 2}),
             hide_index=True, key="whatif_crossing")

def side(sc: Scenario, key: str) -> None:
    """One scenario of the side-by-side comparison: its figures, its chart, its target years."""
    st.markdown("**" + ui.md_escape(sc.name or ui.tr("whatif.unnamed")) + "**")
    r = scenario_summary(levels, top, poor, sc, cfg.poor_district_exit_rate)
    c = st.columns(3)
    c[0].metric(ui.tr("whatif.m_rate", horizon=sc.horizon), fmt_rate(r["rate"], lang))
    c[1].metric(ui.tr("whatif.m_poor", horizon=sc.horizon), fmt_count(r["poor_households"], lang))
    c[2].metric(ui.tr("whatif.m_remaining"), r["poor_districts_remaining"])
    p = project(levels, [top] + list(poor), scenario_paces(levels, top, poor, sc), sc)
    f = projection_figure(p, names.to_dict(), [top] + list(poor), cfg.poor_district_exit_rate, lang,
                          ui.tr("whatif.side_chart", start=latest, horizon=sc.horizon), latest_standard)
    if ds.is_illustrative:
        mark_illustrative(f, lang)
    st.plotly_chart(f, key=f"whatif_side_{key}", config={"displaylogo": False})
    st.dataframe(ui.styled_table(target_years_table(sc), {}, ui.tr("col.status")), hide_index=True,
                 key=f"whatif_side_targets_{key}")


if ss["scenarios"]:
    # two scenarios side by side: the one on the sliders and a saved one, or any two saved
    st.subheader(ui.tr("whatif.side_by_side"))
    pool = {"": scenario} | {x.name: x for x in ss["scenarios"]}
    label = {k: (ui.tr("whatif.current") if k == "" else k) for k in pool}
    pick = st.columns(2)
    a = pick[0].selectbox(ui.tr("whatif.side_a"), list(pool), index=0, format_func=label.get, key="wi_side_a")
    b = pick[1].selectbox(ui.tr("whatif.side_b"), list(pool), index=len(pool) - 1, format_func=label.get,
                          key="wi_side_b")
    left, right = st.columns(2, gap="large")
    with left:
        side(pool[a], "a")
    with right:
        side(pool[b], "b")

    st.subheader(ui.tr("whatif.compare"))
    rows = [scenario_summary(levels, top, poor, sc, cfg.poor_district_exit_rate) for sc in ss["scenarios"]]
    comp = pd.DataFrame({
        ui.tr("col.scenario"): [r["name"] for r in rows],
        ui.tr("whatif.model"): [ui.tr(f"whatif.model_{r['model']}") for r in rows],
        ui.tr("whatif.province_pace"): [fmt_number(r["province_pace"], lang, 1) for r in rows],
        ui.tr("whatif.poor_pace"): [fmt_number(r["poor_district_pace"], lang, 1) for r in rows],
        ui.tr("whatif.rate_2030", horizon=scenario.horizon): [fmt_rate(r["rate"], lang) for r in rows],
        ui.tr("whatif.poor_2030", horizon=scenario.horizon): [fmt_count(r["poor_households"], lang) for r in rows],
        ui.tr("whatif.remaining_2030", horizon=scenario.horizon): [r["poor_districts_remaining"] for r in rows],
    })
    st.dataframe(ui.no_nulls(comp), hide_index=True, key="whatif_compare")
