"""Chương trình: the committee's view of the coverage and output targets (one row per target,
its department, latest value, verdict and trend; filter by department) and the deprivations
that weigh most in a unit."""
from __future__ import annotations

import streamlit as st

from pages import common as ui
from povdata.charts import deprivation_figure
from povdata.programme import (committee_table, deprivation_profile, deprivation_trend, deprivation_units,
                               owner_label)

lang = ui.lang()
ds = ui.dataset()
prov = ui.province()
levels = ui.levels(prov)
ui.require_data(levels)
cfg = ui.targets()

st.title(ui.tr("programme.title"))
ui.data_banner(ds)
st.caption(ui.tr("programme.intro"))

table = committee_table(ui.progress(prov), cfg, lang)
owners = sorted({o for o in table["owner_key"] if o}, key=lambda o: owner_label(o, lang))
# the department is in the URL: a link answers "what is Sở Y tế accountable for?"
choices = [""] + owners
asked = st.query_params.get("owner", "")
owner = st.selectbox(ui.tr("programme.owner"), choices, index=choices.index(asked) if asked in choices else 0,
                     key="programme_owner",
                     format_func=lambda o: owner_label(o, lang) if o else ui.tr("programme.all_owners"))
if owner:
    st.query_params["owner"] = owner
elif "owner" in st.query_params:
    del st.query_params["owner"]
shown = table[table["owner_key"] == owner] if owner else table
if shown.empty:
    st.info(ui.tr("programme.none"))
else:
    shown = shown.assign(status_text=shown["status"].map(lambda s: ui.tr(f"status.{s}")))
    # the answer first (what, verdict, value, trend), then who and the rule's detail
    view = ui.table_headers(shown, {"indicator": "programme.col_target", "status_text": "col.status",
                                    "latest": "programme.col_latest", "latest_year": "col.latest_year",
                                    "trend": "programme.col_trend", "rule": "programme.col_rule",
                                    "outlook": "programme.col_outlook", "owner": "programme.col_owner",
                                    "period_id": "programme.col_period", "source": "programme.col_source"})
    trend = ui.tr("programme.col_trend")
    st.dataframe(ui.styled_table(view, {ui.tr("col.latest_year"): -1}, ui.tr("col.status")),
                 hide_index=True, key="programme_table", width="stretch", height=35 * (len(view) + 1) + 3,
                 column_config={trend: st.column_config.LineChartColumn(trend, width="small")})
    st.caption(ui.tr("programme.how"))
    ui.download_buttons(view.drop(columns=[trend]), f"chuong-trinh-{prov}", "programme_dl")

# ---- which deprivations weigh most -------------------------------------------------------------
st.subheader(ui.tr("programme.deprivations"))
units = levels.drop_duplicates("unit_code")
have = deprivation_units(levels)
if not have:
    st.info(ui.tr("programme.no_deprivations"))
else:
    names = units.set_index("unit_code")["name"]
    unit = st.selectbox(ui.tr("programme.unit"), have, format_func=lambda c: names.get(c, c), key="programme_unit")
    prof = deprivation_profile(levels, unit)
    title = ui.tr("programme.deprivations_title", name=names.get(unit, unit), year=int(prof["year"].iloc[0]))
    fig = deprivation_figure(prof, title, lang, illustrative=ds.data_status == "illustrative")
    frame = ui.chart_frame(title, ui.tr("programme.deprivations"), int(prof["year"].iloc[0]),
                           str(prof["standard"].iloc[0]))
    ui.plotly_chart(fig, frame, f"thieu-hut-{unit}", f"programme_dep_{unit}")
    st.caption(ui.tr("programme.deprivations_caption"))
    trend = deprivation_trend(levels, unit)
    years = [c for c in trend.columns if c not in ("indicator", "change")]
    if len(years) > 1:  # their change over time, within one poverty standard
        from povdata.registry import INDICATORS
        st.markdown(f"**{ui.tr('programme.trend_title', first=years[0], last=years[-1])}**")
        shown = trend.assign(indicator=trend["indicator"].map(lambda c: INDICATORS[c].label(lang)))
        shown = shown.rename(columns={"indicator": ui.tr("programme.col_target"), "change": ui.tr("programme.col_change"),
                                      **{y: str(y) for y in years}})
        st.dataframe(ui.styled_table(shown, {**{str(y): 2 for y in years}, ui.tr("programme.col_change"): 2}),
                     hide_index=True, key=f"programme_trend_{unit}", width="stretch")
        ui.download_buttons(shown, f"thieu-hut-{unit}", f"programme_trend_{unit}")
