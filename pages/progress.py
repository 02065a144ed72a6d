"""Tiến độ mục tiêu: scorecard per district (expandable to communes), trajectory, 2030 panel."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import common as ui
from povdata.charts import mark_illustrative, rate_series_figure
from povdata.i18n import fmt_number, fmt_pace, fmt_rate
from povdata.progress import poor_district_outlook, rate_progress
from povdata.verdicts import unit_verdicts, verdict_caption
from povdata.sources import cite
from povdata.views import series

lang = ui.lang()
ds = ui.dataset()
prov = ui.province()
levels = ui.levels(prov)
ui.require_data(levels)
top = ui.top_code()
cfg = ui.targets()
q = st.query_params

st.title(ui.tr("progress.title"))
ui.data_banner(ds)

periods = [p for p in cfg.periods if any(t.is_rate_rule for t in p.targets) and p.end > p.baseline_year]
latest = int(levels["year"].max())
default = next((i for i, p in reversed(list(enumerate(periods))) if p.baseline_year < latest), 0)
ids = [p.id for p in periods]
c1, c2 = st.columns(2)
pid = c1.selectbox(ui.tr("progress.period"), ids, index=ids.index(q["period"]) if q.get("period") in ids else default,
                   key="progress_period")
period = cfg.period(pid)
years = [y for y in sorted(levels["year"].unique()) if period.baseline_year < y <= period.end]
as_of = c2.selectbox(ui.tr("progress.as_of"), years, index=len(years) - 1, key="progress_as_of") if years else None
q["period"] = pid


def rule_text(target) -> str:
    from povdata.targets import rule_text as _rule_text
    return _rule_text(target, lang)


# ---- province ------------------------------------------------------------------
prov_target = next((t for t in period.targets if t.scope == "province" and t.is_rate_rule), None)
s = series(levels, top)
if prov_target is not None:
    st.subheader(ui.tr("progress.province", rule=rule_text(prov_target))
                 + (" " + ui.tr("progress.national_mark") if prov_target.status == "national" else ""))
    p = rate_progress(s, period, prov_target, cfg.at_risk_margin_pp, as_of=as_of)
    cols = st.columns(4)
    cols[0].metric(ui.tr("progress.baseline", year=period.baseline_year), fmt_rate(p["baseline_rate"], lang))
    cols[1].metric(ui.tr("progress.latest", year=as_of), fmt_rate(p["latest_rate"], lang))
    cols[2].metric(ui.tr("progress.achieved"), fmt_number(p["achieved_pp_per_year"], lang))
    cols[3].metric(ui.tr("progress.status"), ui.tr(f"status.{p['status']}"),
                   None if pd.isna(p["required_pp_per_year"]) else
                   ui.tr("progress.required") + ": " + fmt_pace(p["required_pp_per_year"], lang), delta_color="off")
    st.caption(ui.tr("progress.target_caption", value=fmt_pace(prov_target.value, lang)))
    st.caption(ui.md_escape(cite(prov_target.source, ui.lang())))
    fig = rate_series_figure(s, lang, ui.tr("progress.trajectory"), [(period, prov_target)])
    if ds.is_illustrative:
        mark_illustrative(fig, lang)
    ui.plotly_chart(fig, ui.series_frame(ui.tr("progress.trajectory"), s), f"lo-trinh-{pid}", "progress_trajectory",
                    config={"displaylogo": False})

# ---- scorecard -------------------------------------------------------------------
COLS = {"name": "col.unit", "status_text": "col.status", "poor": "col.poor_district", "rule": "col.rule",
        "achieved_pp_per_year": "col.achieved", "required_pp_per_year": "col.required",
        "gap_pp_per_year": "col.gap", "baseline_rate": "col.baseline_rate", "latest_year": "col.latest_year",
        "latest_rate": "col.latest_rate", "basis_text": "col.basis"}
NUMBERS = {ui.tr("col.baseline_rate"): 2, ui.tr("col.latest_rate"): 2, ui.tr("col.achieved"): 2,
           ui.tr("col.required"): 2, ui.tr("col.gap"): 2, ui.tr("col.latest_year"): -1}


def show_scorecard(card: pd.DataFrame, key: str, name: str) -> None:
    targets = {t.id: t for t in period.targets}
    card = card.assign(
        poor=card["poor_district"].map({True: ui.tr("col.yes"), False: ""}),
        rule=card["target_id"].map(lambda i: rule_text(targets[i]) if i in targets else ""),
        basis_text=card["basis"].map(lambda b: ui.tr(f"progress.basis_{b}")),
        status_text=card["status"].map(lambda s: ui.tr(f"status.{s}")))
    table = ui.table_headers(card, COLS)
    st.dataframe(ui.styled_table(table, NUMBERS, ui.tr("col.status")), hide_index=True, key=key)
    ui.download_buttons(table, name, key)


st.subheader(ui.tr("progress.scorecard", period=pid))
# the one verdict engine, for the period and as-of year picked above (and named under the header)
judged = min(as_of or period.end, period.end)
card = unit_verdicts(levels, cfg, "district", judged, period_id=pid)
st.caption(ui.tr("map.status") + " " + verdict_caption(pid, judged, lang))
if card.empty:
    st.info(ui.tr("province.no_data", province=ui.view().name()))
else:
    show_scorecard(card, "scorecard_districts", f"tien-do-{pid}")
    st.caption(ui.tr("progress.thresholds", margin=fmt_pace(cfg.at_risk_margin_pp, lang),
                     exit=fmt_number(cfg.poor_district_exit_rate, lang, 0)))
    names = dict(zip(card["unit_code"], card["name"]))
    district = st.selectbox(ui.tr("progress.communes_of"), [""] + list(names),
                            format_func=lambda c: names.get(c, "—"), key="progress_district")
    if district:
        st.markdown(f"**{ui.tr('progress.communes_scorecard', name=names[district])}**")
        show_scorecard(unit_verdicts(levels, cfg, "commune", judged, parent=district, period_id=pid),
                       f"scorecard_{district}", f"tien-do-{pid}-{district}")

# ---- 2030 panel ------------------------------------------------------------------
milestone = next((t for p in cfg.periods for t in p.targets if t.rule == "poor_districts_remaining_at_most"), None)
if milestone is not None:
    horizon = milestone.by_year
    mperiod = next(p for p in cfg.periods if milestone in p.targets)
    st.subheader(ui.tr("progress.panel_2030"))
    out = poor_district_outlook(levels, cfg, mperiod.start, mperiod.end, horizon=horizon)
    st.caption(ui.tr("progress.panel_2030_caption", start=mperiod.start, end=mperiod.end,
                     exit=fmt_number(cfg.poor_district_exit_rate, lang, 0),
                     status=ui.tr("progress.exit_status_user") if cfg.exit_threshold_status == "set by the user"
                     else ui.md_escape(cfg.exit_threshold_status)) + " " + ui.md_escape(cite(milestone.source, ui.lang())))
    remaining = int((~(out["exited"] | (out["projected_exit_year"] <= horizon))).sum()) if len(out) else 0
    m1, m2 = st.columns(2)
    m1.metric(ui.tr("progress.remaining_current", horizon=horizon), remaining)
    m2.metric(ui.tr("progress.remaining_required"), 0)
    est = ui.tr("narrative.estimate")
    out = out.assign(name=out["unit_code"].map(levels.drop_duplicates("unit_code").set_index("unit_code")["name"])
                     + out["estimated"].map({True: f" {est}", False: ""}),
                     status_text=out["status"].map(lambda s: ui.tr(f"status.{s}")),
                     exit_text=out["projected_exit_year"].map(lambda y: ui.tr("progress.never") if pd.isna(y) else str(int(y))))
    table = ui.table_headers(out, {"name": "col.unit", "latest_year": "col.latest_year", "latest_rate": "col.latest_rate",
                                   "pace_pp_per_year": "col.pace", "exit_decision": "col.exit_decision",
                                   "exit_text": "col.projected_exit",
                                   "required_pp_per_year": "col.required_2030", "status_text": "col.status"})
    st.dataframe(ui.styled_table(table, {ui.tr("col.latest_rate"): 2, ui.tr("col.pace"): 2,
                                         ui.tr("col.required_2030"): 2, ui.tr("col.latest_year"): -1},
                                 ui.tr("col.status")), hide_index=True, key="panel_2030")
    if out["estimated"].any():
        st.caption(ui.tr("progress.panel_2030_estimate"))
    # after 1/7/2025 the goal is followed on the new communes of each former poor district's territory
    latest_new = levels.loc[levels["level"] == "commune_2025", "year"]
    if len(latest_new) and len(out):
        from povdata.progress import new_communes_of
        y_new = int(latest_new.max())
        member = ui.membership(prov)
        with st.expander(ui.tr("progress.new_communes_title", year=y_new)):
            for code, name in zip(out["unit_code"], out["name"]):
                nc = new_communes_of(levels, member, code, y_new)
                if nc.empty:
                    continue
                st.markdown(f"**{ui.md_escape(name)}**")
                nc = nc.assign(straddles=nc["straddles"].map({True: ui.tr("progress.straddles_yes"), False: ""}))
                ntable = ui.table_headers(nc, {"name": "col.unit", "poverty_rate": "col.latest_rate",
                                               "poor_households": "table.poor_households",
                                               "straddles": "progress.straddles"})
                st.dataframe(ui.styled_table(ntable, {ui.tr("col.latest_rate"): 2, ui.tr("table.poor_households"): 0}),
                             hide_index=True, key=f"panel_2030_new_{code}")
    # the other half of the 2030 goal: no especially difficult commune (by decision)
    from povdata.progress import difficult_communes_left
    year_now = int(levels["year"].max())
    left = difficult_communes_left(cfg, year_now)
    # no designation ever entered: "–", not 0 (0 would say the goal is reached; as the landing page)
    entered = any(d.status == "difficult_commune" for d in cfg.decisions)
    st.metric(ui.tr("progress.difficult_left", year=year_now), len(left) if entered else "–",
              help=ui.tr("progress.difficult_help"))
    if not entered:
        st.caption(ui.tr("progress.difficult_none_entered"))
