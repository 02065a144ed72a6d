"""Choropleth figures drawn as SVG geo traces, fully offline.

Plotly's geo traces fetch a world base map (``world_110m.json``) from a CDN at draw
time, even when it is hidden.  :data:`OFFLINE_CONFIG` points plotly at an empty
topojson embedded as a ``data:`` URL (plotly appends the file name, which lands in
the URL fragment and is ignored), so the viewer's browser asks no outside host.
Text labels are SVG text too, so no font glyphs are fetched either (WebGL map
traces fetch them from an outside host).

One trace per class, each carrying only its own features, so the legend is discrete
("10 – < 30% (45)") and no geometry is sent twice.
"""
from __future__ import annotations

import base64
import json

import geopandas as gpd
import numpy as np
import pandas as pd
import plotly.graph_objects as go
import shapely

from povdata.classify import NO_DATA_COLOUR, Classification

_EMPTY_TOPOJSON = {
    "type": "Topology",
    "objects": {k: {"type": "GeometryCollection", "geometries": []}
                for k in ("coastlines", "land", "ocean", "lakes", "rivers", "countries", "subunits")},
    "arcs": [],
    "transform": {"scale": [1, 1], "translate": [0, 0]},
}
#: Plotly config that keeps geo traces from fetching their base map.
OFFLINE_CONFIG = {
    "topojsonURL": "data:application/json;base64,"
    + base64.b64encode(json.dumps(_EMPTY_TOPOJSON).encode()).decode() + "#",
    "displaylogo": False,
}


def feature_collection(gdf: gpd.GeoDataFrame, code_col: str = "code") -> dict:
    """GeoJSON FeatureCollection with ``id`` = unit code, no properties, rings oriented
    the way d3 expects (exterior clockwise) so no polygon fills the whole globe."""
    geoms = shapely.orient_polygons(np.asarray(gdf.geometry.values), exterior_cw=True)
    features = [
        {"type": "Feature", "id": str(code), "properties": {}, "geometry": shapely.geometry.mapping(g)}
        for code, g in zip(gdf[code_col], geoms)
    ]
    return {"type": "FeatureCollection", "features": features}


LABEL_FONT_PX = 12


def legible_labels(points: gpd.GeoSeries, texts: list[str], width_px: float, height_px: float,
                   font_px: float = LABEL_FONT_PX, bounds: tuple[float, float, float, float] | None = None) -> list[bool]:
    """Which labels to draw so that none overlaps another: each label's box (its text's width
    at ``font_px``, centred on its point) placed on the Web Mercator map fitted into
    ``width_px`` × ``height_px``; earlier labels win (pass them by priority).  ``bounds``
    (lon/lat) is the extent the map is fitted to (default: the points')."""
    import math

    if not len(texts):
        return []
    lon0, lat0, lon1, lat1 = bounds if bounds is not None else tuple(points.total_bounds)

    def merc(lat: float) -> float:
        return math.log(math.tan(math.pi / 4 + math.radians(max(min(lat, 85.0), -85.0)) / 2))
    dx = max(math.radians(lon1 - lon0), 1e-9)
    dy = max(merc(lat1) - merc(lat0), 1e-9)
    scale = min(width_px / dx, height_px / dy)
    kept: list[tuple[float, float, float, float]] = []
    out = []
    for p, text in zip(points, texts):
        x = math.radians(p.x - lon0) * scale
        y = (merc(lat1) - merc(p.y)) * scale
        w, h = 0.6 * font_px * len(str(text)) + 4, 1.3 * font_px
        box = (x - w / 2, y - h / 2, x + w / 2, y + h / 2)
        free = all(box[2] <= k[0] or box[0] >= k[2] or box[3] <= k[1] or box[1] >= k[3] for k in kept)
        if free:
            kept.append(box)
        out.append(free)
    return out


def _map_layout(fig: go.Figure, height: int, separators: str, legend: dict, top: int) -> None:
    """The layout every choropleth shares: fitted Mercator, no base map, clicks select."""
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator", bgcolor="white")
    fig.update_layout(
        margin={"l": 0, "r": 0, "t": top, "b": 10}, height=height, separators=separators,
        legend={**legend, "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 13}},
        clickmode="event+select", dragmode=False, paper_bgcolor="white",
        font={"family": "Noto Sans, Arial, sans-serif"},
    )


def _add_labels(fig: go.Figure, shapes: gpd.GeoDataFrame, labels: pd.Series, width_px: float, height_px: float,
                bounds: tuple[float, float, float, float]) -> None:
    """Unit names as SVG text, those that fit without overlapping (:func:`legible_labels`)."""
    keep = [c for c in labels.index if c in shapes.index]
    pts = shapes.loc[keep, "geometry"].representative_point()
    fits = legible_labels(pts, [labels[c] for c in keep], width_px, height_px, bounds=bounds)
    keep = [c for c, ok in zip(keep, fits) if ok]
    pts = pts[fits]
    fig.add_trace(go.Scattergeo(lon=pts.x, lat=pts.y, mode="text", text=[labels[c] for c in keep],
                                textfont={"size": LABEL_FONT_PX, "color": "#1a1a1a"}, hoverinfo="skip",
                                showlegend=False))


def choropleth_figure(
    shapes: gpd.GeoDataFrame,
    table: pd.DataFrame,
    classes: Classification,
    hover: pd.Series,
    no_data_label: str,
    labels: pd.Series | None = None,
    height: int = 620,
    separators: str = ",.",
    width: int | None = None,
) -> go.Figure:
    """A discrete choropleth.

    Parameters
    ----------
    shapes : GeoDataFrame in EPSG:4326 with ``code`` and (simplified) geometry.
    table : indexed by unit code; aligns ``classes`` and ``hover``.
    classes : class of every unit of ``table`` (−1 = no data).
    hover : pre-formatted hover HTML per unit code (numbers already in the UI's format).
    labels : short names to draw on the map, or None; in priority order (the first ones are
        kept when two would overlap, see :func:`legible_labels`).
    width : the figure's width in pixels if known; otherwise the map is assumed as wide as it
        is high (a safe guess: a wider map only spreads the labels further apart).
    """
    shapes = shapes.set_index("code")
    codes = [c for c in table.index if c in shapes.index]
    cls = classes.classes.reindex(codes).fillna(-1).astype(int)
    extra = [c for c in shapes.index if c not in table.index]  # geometry with no data row
    cls = pd.concat([cls, pd.Series(-1, index=extra, dtype=int)])
    fig = go.Figure()
    groups = [(i, classes.labels[i], classes.colours[i], classes.counts[i]) for i in range(len(classes.labels))]
    groups.append((-1, no_data_label, NO_DATA_COLOUR, int((cls == -1).sum())))
    for i, label, colour, count in groups:
        members = cls.index[cls == i].tolist()
        if not members:
            continue
        sub = shapes.loc[members].reset_index()
        fig.add_trace(go.Choropleth(
            geojson=feature_collection(sub), locations=members, z=np.zeros(len(members)),
            featureidkey="id", colorscale=[[0, colour], [1, colour]], showscale=False,
            marker={"line": {"color": "#4d4d4d", "width": 0.7}},
            name=f"{label} ({count})", showlegend=True, legendgroup=str(i),
            hovertext=[hover.get(c, c) for c in members], hovertemplate="%{hovertext}<extra></extra>",
        ))
    if labels is not None and len(labels):
        plot_h = height - 40 - 60  # margins, and the legend under the map
        _add_labels(fig, shapes, labels, width or plot_h, plot_h, tuple(shapes.loc[codes + extra, "geometry"].total_bounds))
    # the legend sits under the map, so it never covers a unit
    _map_layout(fig, height, separators, {"orientation": "h", "yanchor": "top", "y": 0.0, "xanchor": "left",
                                          "x": 0.0}, 30)
    return fig


def add_outline(fig: go.Figure, shapes: gpd.GeoDataFrame, code: str, colour: str = "#1a1a1a") -> go.Figure:
    """Outline one unit (the one opened) with a thick border; no fill, no hover."""
    hit = shapes[shapes["code"] == code]
    if hit.empty:
        return fig
    fig.add_trace(go.Choropleth(
        geojson=feature_collection(hit), locations=[code], z=[0], featureidkey="id",
        colorscale=[[0, "rgba(0,0,0,0)"], [1, "rgba(0,0,0,0)"]], showscale=False,
        marker={"line": {"color": colour, "width": 3.5}}, hoverinfo="skip", showlegend=False))
    return fig


def animated_choropleth(
    shapes: gpd.GeoDataFrame,
    years: list[dict],
    start: int,
    no_data_label: str,
    labels: pd.Series | None = None,
    height: int = 620,
    separators: str = ",.",
    year_label: str = "",
    play_label: str = "▶",
    pause_label: str = "❚❚",
) -> go.Figure:
    """A discrete choropleth with every year in the browser: a year slider (and play) only
    repaints, without asking the server (plotly frames, no transition).

    ``years``: one dict per year, ascending, with ``year``, ``classes``
    (:class:`~povdata.classify.Classification` of the year's units), ``hover`` (per unit
    code) and ``title``.  ``start``: the year shown first.

    One choropleth trace carries every unit's geometry once; its ``z`` is the unit's class
    (``-1`` no data) on a stepped colour scale, so a year step changes only ``z``, the
    hover text and the legend's counts.  The legend is one empty trace per class.  Each
    point's ``customdata`` is (code, year): a click names the year it was made in.
    """
    shapes = shapes.set_index("code")
    codes = [str(c) for c in shapes.index]
    k = max(len(y["classes"].labels) for y in years)
    colours = [NO_DATA_COLOUR] + list(next(y["classes"] for y in years if len(y["classes"].labels) == k).colours)
    n = len(colours)  # z from -1 to k - 1, each on its own step of the scale
    scale = []
    for i, colour in enumerate(colours):
        scale += [[i / n, colour], [(i + 1) / n, colour]]

    def year_traces(y: dict) -> list[dict]:
        cls = y["classes"].classes.reindex(codes).fillna(-1).astype(int)
        hover = y["hover"]
        main = {"type": "choropleth", "z": cls.astype(float).tolist(), "hovertext": [hover.get(c, c) for c in codes],
                "customdata": [[c, y["year"]] for c in codes]}
        legend = [{"type": "scattergeo", "name": f"{lab} ({int((cls == i).sum())})",
                   "visible": bool((cls == i).any())}  # like the still map: only the classes in use
                  for i, lab in enumerate(y["classes"].labels)]
        legend += [{"type": "scattergeo", "name": "", "visible": False}] * (k - len(legend))
        legend.append({"type": "scattergeo", "name": f"{no_data_label} ({int((cls == -1).sum())})",
                       "visible": bool((cls == -1).any())})
        return [main, *legend]

    first = next(y for y in years if y["year"] == start)
    fig = go.Figure()
    main, *legend = [{k_: v for k_, v in d.items() if k_ != "type"} for d in year_traces(first)]
    fig.add_trace(go.Choropleth(
        geojson=feature_collection(shapes.reset_index()), locations=codes, featureidkey="id",
        colorscale=scale, zmin=-1.5, zmax=k - 0.5, showscale=False, marker={"line": {"color": "#4d4d4d", "width": 0.7}},
        hovertemplate="%{hovertext}<extra></extra>", showlegend=False, **main))
    for i, entry in enumerate(legend):
        colour = colours[i + 1] if i < k else NO_DATA_COLOUR
        fig.add_trace(go.Scattergeo(lon=[None], lat=[None], mode="markers", hoverinfo="skip", showlegend=True,
                                    marker={"size": 14, "symbol": "square", "color": colour,
                                            "line": {"color": "#4d4d4d", "width": 0.7}}, **entry))
    moving = list(range(1 + len(legend)))
    if labels is not None and len(labels):
        plot_h = height - 40 - 110  # margins, the slider and its buttons
        _add_labels(fig, shapes, labels, plot_h, plot_h, tuple(shapes.total_bounds))
    fig.frames = [go.Frame(name=str(y["year"]), data=year_traces(y), traces=moving,
                           layout={"title": {"text": y["title"]}}) for y in years]
    step = {"mode": "immediate", "frame": {"duration": 0, "redraw": True}, "transition": {"duration": 0}}
    active = [y["year"] for y in years].index(start)
    fig.update_layout(
        title={"text": first["title"], "x": 0.0, "xanchor": "left", "font": {"size": 18}},
        sliders=[{"active": active, "x": 0.13, "len": 0.87, "y": 0.0, "yanchor": "top", "pad": {"t": 10, "b": 0},
                  "currentvalue": {"prefix": year_label, "font": {"size": 15}},
                  "steps": [{"label": str(y["year"]), "method": "animate",
                             "args": [[str(y["year"])], step]} for y in years]}],
        updatemenus=[{"type": "buttons", "direction": "left", "showactive": False, "x": 0.0, "y": 0.0,
                      "xanchor": "left", "yanchor": "top", "pad": {"t": 42},
                      "buttons": [{"label": play_label, "method": "animate",
                                   "args": [None, {**step, "frame": {"duration": 900, "redraw": True},
                                                   "fromcurrent": True}]},
                                  {"label": pause_label, "method": "animate",
                                   "args": [[None], {**step, "mode": "immediate"}]}]}],
    )
    # the legend beside the map (the slider and its buttons take the space under it)
    _map_layout(fig, height, separators, {"orientation": "v", "yanchor": "top", "y": 0.95, "xanchor": "right",
                                          "x": 1.0}, 40)
    return fig
