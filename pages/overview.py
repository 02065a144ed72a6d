"""Tổng quan: province KPIs of the latest year, district map, ranking, trajectory."""
from __future__ import annotations

import streamlit as st

from geo.choropleth import OFFLINE_CONFIG
from pages import common as ui
from povdata.charts import mark_illustrative, rate_series_figure
from povdata.published import published_figures
from povdata.reform import REFORM_YEAR
from povdata.views import latest_year, province_kpis, series

lang = ui.lang()
ds = ui.dataset()
prov = ui.province()
levels = ui.levels(prov)
ui.require_data(levels)
top = ui.top_code()
pname = ui.view().name()
year = latest_year(levels)
cfg = ui.targets()

st.title(ui.tr("app.province_title", province=pname))
ui.data_banner(ds, compact=True)
if ui.view().merged and not ui.former():
    from povdata.provinces import former_province_name, former_provinces
    st.caption(ui.tr("province.merged_estimate", province=pname,
                     formers=", ".join(former_province_name(c) for c in former_provinces(prov))))

# ---- the answer: verdicts of the period, the 2030 outlook, the sentence, the map ---------------
from povdata.narrative import unit_narrative  # noqa: E402  the province's paragraph, from the same engine

answer = ui.landing(prov)  # the cells, from the one verdict engine (povdata.landing)
st.markdown(ui.md_escape(unit_narrative(levels, cfg, top, year, lang, published_figures()).text))
left, right = st.columns([11, 10])
with left:
    ui.heading(ui.tr("landing.verdicts"))
    if not ui.presenting():  # on the projector the narrative above names the period
        st.caption(answer.caption)
    ui.status_cells(answer.cells, 3)
    if answer.districts:
        st.caption(ui.md_escape(ui.tr("landing.behind", n=len(answer.behind), total=answer.districts,
                                      names=", ".join(answer.behind)) if answer.behind
                                else ui.tr("landing.behind_none", total=answer.districts)))
    if answer.outlook:
        ui.heading(ui.tr("landing.outlook"))
        ui.status_cells(answer.outlook, 2)
    st.page_link("pages/progress.py", label=ui.tr("landing.more"), icon=":material/table_chart:")
with right:
    event = None
    if ui.shapes(prov, "district").empty:
        st.info(ui.tr("province.no_map", level=ui.tr("reform.level_district").lower()))
    else:
        ui.heading(ui.tr("overview.district_map", year=year))
        # the province's own spread (the map page's default), not the report bands
        breaks = ui.map_breaks(prov, "district", year, "poverty_rate", None, "spread", 5, None)
        # as tall as the window leaves below the narrative (the cells beside it set the fold)
        fig, table, missing = ui.map_figure(prov, "district", year, "poverty_rate", None, breaks, True, None,
                                            min(ui.fit_height(300, 440, 380), 640))
        fig = ui.phone_map(fig)
        event = ui.plotly_chart(fig, ui.year_frame(ui.tr("overview.district_map", year=year), year, level="district"),
                                f"ban-do-huyen-{year}", "overview_map", share=0.5, on_select="rerun",
                                selection_mode=("points",), config=OFFLINE_CONFIG, fill=True)
        st.caption(ui.boundary_note("district") + " " + ui.tr("map.click_hint")
                   + ((" " + ui.tr("reform.district_after")) if year >= REFORM_YEAR else ""))
    code = ui.selected_code(event) if event is not None else None
    if code:
        st.query_params.update({"unit": code, "year": str(year)})
        st.switch_page("pages/map.py", query_params={"unit": code, "year": str(year), "lang": lang})

# ---- below the first screen: the latest year's figures, the ranking, the trajectory ----------
st.subheader(ui.tr("overview.kpis", year=year))
ui.show_kpis(province_kpis(levels, ui.progress(prov), top, year, lang, published_figures()))  # published ones win
from povdata.briefing import default_year  # noqa: E402  the last complete review a period judges
ui.briefing_button(sorted(int(y) for y in levels.loc[levels["level"] == "province", "year"].unique()),
                   default_year(levels, cfg))

st.subheader(ui.tr("overview.ranking", year=year))
fig = ui.ranking_chart(prov, "district", year, height=460)
ui.plotly_chart(fig, ui.year_frame(ui.tr("overview.ranking", year=year), year, level="district"), f"xep-hang-huyen-{year}",
                "overview_ranking", config={"displaylogo": False})

s = series(levels, top)
targets = [(p, tg) for p in cfg.periods for tg in p.targets if tg.scope == "province" and tg.is_rate_rule
           and p.end - p.baseline_year > 1]
fig = rate_series_figure(s, lang, ui.tr("chart.series_title", unit=pname,
                                        start=int(s["year"].min()), end=int(s["year"].max())), targets)
if ds.is_illustrative:
    mark_illustrative(fig, lang)
ui.plotly_chart(fig, ui.series_frame(fig.layout.title.text, s), "dien-bien-toan-tinh", "overview_series",
                config={"displaylogo": False})

ui.national_comparison()

with st.expander(ui.tr("overview.published")):
    st.caption(ui.tr("overview.published_caption"))
    pub = published_figures()
    pub = pub[pub["province_code"].isin(ui.view_codes())]
    from povdata.sources import cite  # the article or plan by title, issuer and date, and the row's note
    pub = pub.assign(cited=[cite(s, ui.lang()) + (f" — {n}" if isinstance(n, str) and n else "")
                            for s, n in zip(pub["source_seed"], pub["note"])])
    st.dataframe(ui.no_nulls(ui.table_headers(pub, {
        "unit_name": "table.unit", "year": "table.year", "indicator": "table.indicator", "value": "table.value",
        "standard": "table.standard", "cited": "table.source"})), hide_index=True)
