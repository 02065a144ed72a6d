"""Map views without Streamlit: the choropleth of one indicator for one level and year.

The pages cache around :func:`map_view`; the briefing pack calls it directly.
"""
from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import pandas as pd
import plotly.graph_objects as go

from povdata.charts import mark_illustrative
from povdata.classify import OFFICIAL_BREAKS, classify, classify_status
from povdata.i18n import d3_format, t
from povdata.views import map_table

def value_format(indicator: str) -> tuple[str, int, bool]:
    """The legend's unit, decimals and direction of an indicator: the registry's ('%' and 2 for a
    rate, no unit and 0 for a count; whether higher is better); the computed views (change, pace)
    in points with 2 (a faster pace is better)."""
    from povdata.registry import INDICATORS
    ind = INDICATORS.get(indicator)
    if ind is None:
        return "", 2, indicator == "period_pace"
    return ("%" if ind.is_percent else ""), ind.shown_decimals, not ind.higher_is_worse


@dataclass(frozen=True)
class MapView:
    figure: go.Figure
    table: pd.DataFrame
    #: names of the units shown without data (no value for the year, or no geometry)
    missing: list[str]


def display_layer(layers: dict[str, gpd.GeoDataFrame], level: str) -> gpd.GeoDataFrame:
    """Display geometry of ``level`` from a dataset's layers, simplified together with the
    level's tolerance; new communes (``commune_2025``) at the commune tolerance, with the
    level table's ids.  An empty frame when the level has no layer."""
    from geo.simplify import simplify_coverage, tolerance_for_level
    from povdata.reform import new_id

    if level not in layers:
        return gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4326")
    out = simplify_coverage(layers[level], tolerance_for_level("commune" if level == "commune_2025" else level))
    if level == "commune_2025":
        out["code"] = out["code"].map(new_id)
    return out


def display_shapes(boundaries_path, level: str) -> gpd.GeoDataFrame:
    """:func:`display_layer` of the dataset's GeoPackage (the pages cache this per process)."""
    from geo.read import read_layers

    return display_layer(read_layers(boundaries_path), level)


def map_view(levels: pd.DataFrame, cfg, shapes: gpd.GeoDataFrame, level: str, year: int,
             indicator: str, lang: str = "vi", parent: str | None = None,
             breaks: tuple[float, ...] | None = OFFICIAL_BREAKS, show_labels: bool = False,
             period_id: str | None = None, height: int = 620, illustrative: bool = False,
             label_top: int | None = None, members: pd.DataFrame | None = None) -> MapView:
    """The choropleth for a view and the table behind it.

    ``members``: for new communes (``commune_2025``) within a former district, the
    membership table of :func:`povdata.dataset.new_commune_membership` for that district
    (a straddling commune's label gets a ``*``).  ``label_top``: label only the ``label_top`` units with the highest values (a legible map
    of many small units on a slide).  ``shapes``: display geometry of ``level`` (``code`` + geometry, EPSG:4326); units of
    the table without geometry are listed in ``missing``.  ``illustrative`` stamps the
    'Số liệu minh họa' label on the figure.
    """
    from geo.choropleth import choropleth_figure

    table = map_table(levels, cfg, level, year, indicator, parent=parent, period_id=period_id, lang=lang,
                      members=members)
    if indicator == "target_status":
        classes = classify_status(table["status"], lang)
    else:
        unit, decimals, better = value_format(indicator)
        classes = classify(table["value"], list(breaks or ()), lang, unit=unit, decimals=decimals,
                           higher_is_better=better)
    geom = shapes[shapes["code"].isin(table.index)]
    labels = (table["short_name"] + table["straddles"].map({True: " *", False: ""})) if show_labels else None
    if labels is not None and label_top is not None:
        labels = labels.loc[table["value"].dropna().sort_values(ascending=False).index[:label_top]]
    elif labels is not None:  # where two labels would overlap, the larger unit keeps its label
        import shapely  # planar area in degrees: only the order matters here
        area = dict(zip(geom["code"], shapely.area(geom.geometry.to_numpy())))
        labels = labels.loc[sorted(labels.index, key=lambda c: -float(area.get(c, 0.0)))]
    fig = choropleth_figure(geom, table, classes, table["hover"], t("map.no_data", lang), labels=labels,
                            height=height, separators=d3_format(lang)["separators"])
    if illustrative:
        mark_illustrative(fig, lang)
    missing = table[table["value"].isna() if indicator != "target_status" else table["status"].isna()]
    have = set(geom["code"])
    no_geom = [c for c in table.index if c not in have and c not in missing.index]
    return MapView(fig, table, list(missing["name"]) + [table.at[c, "name"] for c in no_geom])


@dataclass(frozen=True)
class AnimatedMapView:
    figure: go.Figure
    #: each year's table and its units shown without data
    tables: dict[int, pd.DataFrame]
    missing: dict[int, list[str]]


def _missing(table: pd.DataFrame, geom: gpd.GeoDataFrame, indicator: str) -> list[str]:
    gone = table[table["value"].isna() if indicator != "target_status" else table["status"].isna()]
    have = set(geom["code"])
    return list(gone["name"]) + [table.at[c, "name"] for c in table.index if c not in have and c not in gone.index]


def animated_map_view(levels: pd.DataFrame, cfg, shapes: gpd.GeoDataFrame, level: str, years: list[int],
                      start: int, indicator: str, lang: str = "vi", parent: str | None = None,
                      breaks: dict[int, tuple[float, ...]] | None = None, show_labels: bool = False,
                      title: str = "{year}", height: int = 620, illustrative: bool = False,
                      members: pd.DataFrame | None = None) -> AnimatedMapView:
    """:func:`map_view` for every year of ``years`` at once (:func:`geo.choropleth.animated_choropleth`):
    a year step repaints in the browser.  ``breaks``: the class breaks of each year;
    ``title``: the map's title with ``{year}``; ``start``: the year shown first."""
    from geo.choropleth import animated_choropleth

    frames, tables = [], {}
    for y in years:
        table = map_table(levels, cfg, level, y, indicator, parent=parent, lang=lang, members=members)
        if indicator == "target_status":
            classes = classify_status(table["status"], lang)
        else:
            unit, decimals, better = value_format(indicator)
            classes = classify(table["value"], list((breaks or {}).get(y, OFFICIAL_BREAKS)), lang, unit=unit,
                               decimals=decimals, higher_is_better=better)
        frames.append({"year": y, "classes": classes, "hover": table["hover"], "title": title.format(year=y)})
        tables[y] = table
    table = tables[start]
    geom = shapes[shapes["code"].isin(table.index)]
    labels = None
    if show_labels:
        import shapely
        area = dict(zip(geom["code"], shapely.area(geom.geometry.to_numpy())))
        labels = table["short_name"] + table["straddles"].map({True: " *", False: ""})
        labels = labels.loc[sorted(labels.index, key=lambda c: -float(area.get(c, 0.0)))]
    fig = animated_choropleth(geom, frames, start, t("map.no_data", lang), labels=labels, height=height,
                              separators=d3_format(lang)["separators"], year_label=t("map.year", lang) + ": ",
                              play_label="▶ " + t("map.play", lang), pause_label="❚❚ " + t("map.pause", lang))
    if illustrative:
        mark_illustrative(fig, lang)
    return AnimatedMapView(fig, tables, {y: _missing(tb, geom, indicator) for y, tb in tables.items()})
