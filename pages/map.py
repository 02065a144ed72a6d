"""Bản đồ: choropleth of any indicator, drill-down province → district → commune.

The view (unit, level, year, indicator, scheme) lives in the URL query string.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pages import common as ui
from geo.choropleth import OFFLINE_CONFIG
from povdata.charts import flows_figure, mark_illustrative, rate_series_figure
from povdata.classify import classify
from povdata.i18n import fmt_number, fmt_rate
from povdata.reform import REFORM_YEAR, code_of, new_id
from povdata.registry import INDICATORS as REGISTRY
from povdata.standards import standard_label
from povdata.views import (commune_position, flow_table, map_indicators_for, indicator_label, latest_year, series,
                           unit_flags)



def one_class_hint(values, breaks) -> tuple[float, str] | None:
    """(share, class label) when one class holds 90% or more of the units with data."""
    c = classify(values, list(breaks), lang)
    n = sum(c.counts)
    if n < 5:
        return None
    i = max(range(len(c.counts)), key=c.counts.__getitem__)
    return (c.counts[i] / n, c.labels[i]) if c.counts[i] >= 0.9 * n else None


def reform_links(unit: str, unit_level: str) -> None:
    """Where a commune came from or went to across the 2025 reform."""
    cw = ui.crosswalk(prov)
    if unit_level == "commune_2025":
        rows = cw[cw["new_code"] == code_of(unit)]
        title = ui.tr("reform.came_from")
        targets = [(r.old_code, r.weight, r.divided) for r in rows.itertuples()]
        m = ui.membership(prov)
        here = m[m["unit_code"] == unit]
        if len(here) > 1:
            st.caption(ui.tr("reform.straddling", names=", ".join(units.at[d, "name"] for d in here["district_code"])))
    elif unit_level == "commune":
        rows = cw[cw["old_code"] == unit]
        title = ui.tr("reform.went_into")
        targets = [(new_id(r.new_code), r.weight, r.divided) for r in rows.itertuples()]
    else:
        return
    if not targets:
        return
    st.markdown(f"**{title}:**")
    cols = st.columns(min(len(targets), 4))
    for i, (code, weight, divided) in enumerate(targets):
        label = units.at[code, "name"] if code in units.index else code
        if divided:
            label += " (" + ui.tr("reform.weight", share=fmt_rate(weight * 100, lang, 0)) + ")"
        if cols[i % len(cols)].button(label, key=f"reform_{code}"):
            open_unit(code)


lang = ui.lang()
ds = ui.dataset()
prov = ui.province()
levels = ui.levels(prov)
ui.require_data(levels)
top = ui.top_code()
cfg = ui.targets()
q = st.query_params
years = sorted(levels["year"].unique().tolist())
units = levels.drop_duplicates("unit_code").set_index("unit_code")

# ---- view state from the URL -------------------------------------------------
unit = q.get("unit", top)
if unit not in units.index:
    unit = top
unit_level = units.at[unit, "level"]
year = int(q.get("year", latest_year(levels))) if q.get("year", "").isdigit() else latest_year(levels)
year = year if year in years else latest_year(levels)
slid = ui.slider_year()  # the map's year slider moved in the browser: the page follows
if slid in years:
    year = slid

st.title(ui.tr("nav.map"))
ui.data_banner(ds, compact=True)

# ---- breadcrumb --------------------------------------------------------------
# a new commune (after 1/7/2025) opened from a former district's map keeps that district in
# the trail (``via``), so "back" returns to the district's map, not to the whole province
via = q.get("via", "")
if unit_level == "commune_2025" and via in units.index and units.at[via, "level"] == "district":
    m = ui.membership(prov)
    if not ((m["unit_code"] == unit) & (m["district_code"] == via)).any():
        via = ""
else:
    via = ""
trail = [top]
if unit_level in ("district", "commune"):
    trail.append(units.at[unit, "district_code"])
elif via:
    trail.append(via)
if unit_level in ("commune", "commune_2025"):
    trail.append(unit)


def open_unit(code: str) -> None:
    q["unit"] = code
    if "via" in q:
        del q["via"]
    st.rerun()


# ---- one slim control bar: where we are, what is shown, at which level; the classes in a popover
bar = st.columns([4, 3, 4, 2] if unit_level == "province" else [7, 3, 1, 2], vertical_alignment="center")
with bar[0]:
    with st.container(horizontal=True, key="map_breadcrumb"):  # each crumb as wide as its name
        for i, code in enumerate(trail):
            if i:
                st.markdown("›")
            if code == unit:
                st.markdown(f"**{ui.md_escape(units.at[code, 'name'])}**")
            elif st.button(units.at[code, "name"], key=f"crumb_{code}"):
                open_unit(code)
with bar[1]:
    ind_q = q.get("ind", "poverty_rate")
    offered = map_indicators_for(levels, year)  # the year's flows where the review forms gave them
    indicator = st.selectbox(ui.tr("map.indicator"), offered,
                             index=offered.index(ind_q) if ind_q in offered else 0,
                             format_func=lambda i: indicator_label(i, lang), key="map_indicator",
                             label_visibility="collapsed")

have = set(levels.loc[(levels["year"] == year) & levels["poverty_rate"].notna(), "level"])
# the province map's level is the user's choice, kept in the URL while they look at a district or
# a commune: the province crumb brings them back to the level they left, not to another one
lv_q = q.get("level", "district")
if unit_level == "province":
    options = ["district", "commune", "commune_2025"] if year < REFORM_YEAR else ["district", "commune_2025"]
    options = [lv for lv in options if lv in have] or ["district"]  # only the levels the data reach
    if lv_q == "commune" and year >= REFORM_YEAR:
        st.info(ui.tr("reform.only_before"))
        lv_q = "commune_2025"
    with bar[2]:
        level = st.radio(ui.tr("map.level"), options, index=options.index(lv_q) if lv_q in options else 0,
                         format_func=lambda lv: ui.tr(f"reform.level_{lv}"), horizontal=True, key="map_level",
                         label_visibility="collapsed")
    lv_q = level
    parent = None
elif unit_level == "commune_2025":
    # opened from a former district's map: that district's new communes stay on screen
    level, parent = "commune_2025", (via or None)
else:
    # a former district: its old communes before the reform, its new communes after it
    level = "commune" if year < REFORM_YEAR else "commune_2025"
    parent = units.at[unit, "district_code"]
with bar[3]:
    with st.popover(ui.tr("map.classes_menu"), icon=":material/tune:", use_container_width=True):
        schemes = ["spread", "official", "quantile", "equal", "custom"]
        sq = q.get("scheme", "spread")
        scheme = st.selectbox(ui.tr("map.scheme"), schemes, index=schemes.index(sq) if sq in schemes else 0,
                              format_func=lambda s: ui.tr(f"map.scheme_{s}"), key="map_scheme",
                              disabled=indicator == "target_status")
        show_labels = st.toggle(ui.tr("map.labels"), value=q.get("labels") == "1", key="map_labels")
        k, custom = 5, None
        if indicator != "target_status" and scheme in ("spread", "quantile", "equal"):
            k = st.slider(ui.tr("map.classes"), 3, 7, 5, key="map_k")
        if indicator != "target_status" and scheme == "custom":
            text = st.text_input(ui.tr("map.custom_breaks"), q.get("breaks", "5; 10; 20; 30"), key="map_breaks")
            try:
                custom = [float(x.strip().replace(",", ".")) for x in text.split(";") if x.strip()]
                q["breaks"] = text
            except ValueError:
                st.error(ui.tr("map.custom_breaks_invalid"))
                custom = [5.0, 10.0, 20.0, 30.0]

# the URL always holds the current view
# the ranking follows the map's indicator when it is a registry one (the worst first), else the poverty rate
rank_by = indicator if indicator in REGISTRY else "poverty_rate"
q.update({"unit": unit, "year": str(year), "ind": indicator, "scheme": scheme, "level": lv_q,
          "labels": "1" if show_labels else "0", "lang": lang})

# ---- classes -----------------------------------------------------------------
breaks: tuple[float, ...] = ()
effective = "official"
if indicator != "target_status":
    effective = scheme if (indicator in ("poverty_rate", "near_poor_rate") or scheme != "official") else "quantile"
    breaks = ui.map_breaks(prov, level, year, indicator, parent, effective, k,
                           tuple(custom) if custom is not None else None)

# ---- map ---------------------------------------------------------------------
where = units.at[parent, "name"] if parent else (units.at[unit, "name"] if unit_level == "commune_2025" else units.at[top, "name"])
title = ui.tr("map.title", indicator=indicator_label(indicator, lang).lower(), year="{year}") + f" — {where}"
no_children = level not in have or (parent is not None and level == "commune" and levels[
    (levels["level"] == "commune") & (levels["year"] == year) & (levels["district_code"] == parent)].empty)
no_shapes = ui.shapes(prov, level).empty
event, missing, table = None, [], None
if no_children and unit_level != "province":
    st.subheader(title.replace("{year}", str(year)))
    st.info(ui.tr("province.no_commune_data", unit=where))
elif no_shapes:
    st.subheader(title.replace("{year}", str(year)))
    st.info(ui.tr("province.no_map", level=ui.tr(f"reform.level_{level}").lower()))
else:
    # every year the level has data for goes to the browser with the geometry, once
    slider_years = ui.map_years(prov, level, indicator, parent)
    shown_year = year if year in slider_years else max([y for y in slider_years if y <= year] or slider_years)
    by_year = (ui.map_breaks_by_year(prov, level, slider_years, indicator, parent, effective, k,
                                     tuple(custom) if custom is not None else None)
               if indicator != "target_status" else tuple((y, ()) for y in slider_years))
    # the map fills the window below the control bar (its year slider included)
    height = ui.fit_height(250, 660, 420)
    fig, table, missing = ui.animated_map_figure(prov, level, tuple(slider_years), shown_year, indicator, parent,
                                                 by_year, show_labels, ui.html_text(title), height,
                                                 highlight=unit if unit_level in ("commune", "commune_2025") else None)
    fig = ui.phone_map(fig)
    still, _, _ = ui.map_figure(prov, level, shown_year, indicator, parent, dict(by_year)[shown_year], show_labels,
                                None, 620, highlight=unit if unit_level in ("commune", "commune_2025") else None)
    event = ui.plotly_chart(fig, ui.year_frame(title.replace("{year}", str(shown_year)), shown_year, indicator, level),
                            f"ban-do-{unit}-{level}-{indicator}-{shown_year}", f"map_{unit}_{level}", on_select="rerun",
                            selection_mode=("points",), config=OFFLINE_CONFIG, export=still, fill=True)
    ui.year_slider_sync("map_year_sync")
    st.caption(ui.boundary_note(level) + " " + ui.tr("map.year_hint"))
    if level == "district" and year >= REFORM_YEAR or (level == "commune_2025" and parent and year >= REFORM_YEAR):
        st.caption(ui.tr("reform.district_after"))
    if level == "commune_2025" and year < REFORM_YEAR:
        st.caption(ui.tr("reform.backcast") + " " + ui.tr("reform.backcast_divided"))
    if indicator in ("target_status", "period_pace"):  # a verdict names its period and as-of year
        from povdata.verdicts import verdict_caption
        named = table.dropna(subset=["period_id"]) if "period_id" in table else table.iloc[0:0]
        st.caption(ui.tr("map.status") + " " + (verdict_caption(named["period_id"].iloc[0], int(named["as_of"].iloc[0]),
                                                                lang) if len(named) else ui.tr("verdict.none", year=year)))
if missing:
    st.info(ui.tr("map.no_data_list", n=len(missing), names=", ".join(missing)))
if table is not None and indicator != "target_status" and scheme == "official":
    hint = one_class_hint(table["value"], breaks)
    if hint is not None:
        st.caption(ui.tr("map.one_class_hint", share=fmt_rate(hint[0] * 100, lang, 0), label=hint[1]))
clicked = ui.selected_code(event) if event is not None else None
if clicked and clicked != unit and clicked in units.index:
    q["unit"] = clicked
    # a new commune clicked on a former district's map: the district stays in the trail
    if units.at[clicked, "level"] == "commune_2025" and (unit_level == "district" or via):
        q["via"] = unit if unit_level == "district" else via
    elif "via" in q:
        del q["via"]
    clicked_year = ui.selected_year(event)
    if clicked_year in years:
        q["year"] = str(clicked_year)
    st.rerun()

# ---- the opened unit ---------------------------------------------------------
if unit_level != "province":
    name = units.at[unit, "name"]
    st.header(name)
    flags = unit_flags(prov, unit, unit_level, year, cfg)
    st.caption(ui.tr("profile.flags") + ": " + (", ".join(ui.tr(f) for f in flags) or ui.tr("profile.no_flags")))
    s = series(levels, unit)
    row = s[s["year"] == year]
    if not row.empty:
        r = row.iloc[0]
        cols = st.columns(3)
        cols[0].metric(ui.tr("kpi.poverty_rate"), fmt_rate(r["poverty_rate"], lang))
        cols[1].metric(ui.tr("kpi.near_poor_rate"), fmt_rate(r["near_poor_rate"], lang))
        from povdata.i18n import fmt_count
        cols[2].metric(ui.tr("kpi.poor_households"), fmt_count(r["poor_households"], lang))
        st.caption(ui.tr("kpi.note", year=year, standard=standard_label(r["standard"], lang))
                   + (" · " + ui.tr("map.reconstructed") if bool(r.get("reconstructed", False)) else ""))
    from povdata.narrative import unit_narrative  # the unit's paragraph, from the verdict engine
    from povdata.published import published_figures
    st.markdown(ui.md_escape(unit_narrative(levels, cfg, unit, year, lang, published_figures()).text))
    if unit_level == "commune":
        pos = commune_position(levels, unit, year)
        if pos:
            st.markdown(ui.tr("profile.position", rank=pos[0], count=pos[1], year=year))
    reform_links(unit, unit_level)
    # target paths only where a rule applies to the unit itself (a poor district); the
    # province's pace drawn for a district near 0% would only run along the axis
    rules = [(p, tg) for p in cfg.periods for tg in p.targets if tg.is_rate_rule and p.end - p.baseline_year > 1
             and tg.scope == "poor_districts" and "flag.poor_district" in unit_flags(prov, unit, unit_level, p.end, cfg)]
    fig = rate_series_figure(s, lang, ui.tr("chart.series_title", unit=name, start=int(s["year"].min()),
                                            end=int(s["year"].max())), rules if unit_level == "district" else [])
    if ds.is_illustrative:
        mark_illustrative(fig, lang)
    ui.plotly_chart(fig, ui.series_frame(fig.layout.title.text, s), f"dien-bien-{unit}", f"series_{unit}",
                    config={"displaylogo": False})
    with st.expander(ui.tr("profile.history")):
        hist = s.assign(standard_text=s["standard"].map(lambda x: standard_label(x, lang)))
        table = ui.table_headers(hist, {"year": "table.year", "standard_text": "table.standard",
                                        "households_total": "table.households_total",
                                        "poor_households": "table.poor_households",
                                        "near_poor_households": "table.near_poor_households",
                                        "poverty_rate": "table.poverty_rate", "near_poor_rate": "table.near_poor_rate"})
        st.dataframe(ui.styled_table(table, {ui.tr("table.year"): -1, ui.tr("table.households_total"): 0,
                                             ui.tr("table.poor_households"): 0,
                                             ui.tr("table.near_poor_households"): 0,
                                             ui.tr("table.poverty_rate"): 2, ui.tr("table.near_poor_rate"): 2}),
                     hide_index=True, key=f"history_{unit}")
        ui.download_buttons(table, f"so-lieu-{unit}", f"history_{unit}")
    flows = flow_table(s)
    if len(flows):  # the year's flows and the ethnic-minority poor, as the review forms give them
        st.subheader(ui.tr("flows.title", name=name))
        fig = flows_figure(flows, lang, ui.tr("flows.title", name=name))
        if ds.is_illustrative:
            mark_illustrative(fig, lang)
        from povdata.export_images import standards_text
        frame = ui.chart_frame(fig.layout.title.text, ui.tr("flows.poor_households"),
                               f"{int(flows['year'].min())}-{int(flows['year'].max())}",
                               standards_text(flows["standard"].dropna(), lang))
        ui.plotly_chart(fig, frame, f"bien-dong-{unit}", f"flows_{unit}",
                        config={"displaylogo": False})
        ft = flows.assign(balanced=flows["balanced"].map({True: ui.tr("flows.yes"), False: ui.tr("flows.no")}))
        ft = ft.drop(columns=["standard"])
        ft = ft.dropna(axis=1, how="all")
        heads = {"year": "table.year"} | {c: f"flows.{c}" for c in ft.columns if c != "year"}
        ftable = ui.table_headers(ft, heads)
        st.dataframe(ui.styled_table(ftable, {ui.tr(v): (-1 if c == "year" else 2 if c.endswith("published") else 0)
                                              for c, v in heads.items() if c != "balanced"}),
                     hide_index=True, key=f"flows_table_{unit}")
        st.caption(ui.tr("flows.caption"))
        cur = s[s["year"] == year]
        ratio = cur["re_poor_of_exits"].iloc[0] if "re_poor_of_exits" in cur and len(cur) else None
        if ratio is not None and pd.notna(ratio) and ratio > cfg.re_poor_alert_pct:  # "hạn chế tái nghèo"
            st.warning(ui.tr("flows.re_poor_alert", year=year, ratio=fmt_rate(ratio, lang),
                             pct=fmt_number(cfg.re_poor_alert_pct, lang, 0)))
        off = flows.loc[flows["balanced"].eq(False), "year"].tolist()
        if off:
            st.warning(ui.tr("flows.unbalanced", years=", ".join(str(y) for y in off)))
        ui.download_buttons(ftable, f"bien-dong-{unit}", f"flows_{unit}")
    from povdata.programme import deprivation_profile
    dep = deprivation_profile(levels, unit, year)
    if len(dep):  # which deprivations weigh most here (the review's deprivation form, this year)
        from povdata.charts import deprivation_figure
        title = ui.tr("programme.deprivations_title", name=name, year=year)
        st.subheader(ui.tr("programme.deprivations"))
        fig = deprivation_figure(dep, title, lang, illustrative=ds.is_illustrative)
        ui.plotly_chart(fig, ui.chart_frame(title, ui.tr("programme.deprivations"), year, str(dep["standard"].iloc[0])),
                        f"thieu-hut-{unit}-{year}", f"deprivations_{unit}", config={"displaylogo": False})
        st.caption(ui.tr("programme.deprivations_caption"))
    if unit_level == "district" and not no_children:
        title = ui.tr("profile.communes_ranking", name=name, year=year)
        if year >= REFORM_YEAR:
            m = ui.membership(prov)
            fig = ui.ranking_chart(prov, "commune_2025", year, title, indicator=rank_by,
                                   members=m.loc[m["district_code"] == unit, "unit_code"].tolist())
        else:
            fig = ui.ranking_chart(prov, "commune", year, title, parent=unit, indicator=rank_by)
        ui.plotly_chart(fig, ui.year_frame(fig.layout.title.text, year, rank_by), f"xep-hang-xa-{unit}-{year}",
                        f"rank_{unit}", config={"displaylogo": False})
else:
    title = (ui.tr("chart.ranking_title", level=ui.tr(f"reform.level_{level}"), year=year) if rank_by == "poverty_rate"
             else ui.tr("chart.ranking_by", level=ui.tr(f"reform.level_{level}"),
                        indicator=indicator_label(rank_by, lang).lower(), year=year))
    fig = ui.ranking_chart(prov, level, year, title, indicator=rank_by)
    ui.plotly_chart(fig, ui.year_frame(fig.layout.title.text, year, rank_by, level=level), f"xep-hang-{level}-{year}",
                    f"rank_{level}", config={"displaylogo": False})
