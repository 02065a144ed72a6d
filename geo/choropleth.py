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


def choropleth_figure(
    shapes: gpd.GeoDataFrame,
    table: pd.DataFrame,
    classes: Classification,
    hover: pd.Series,
    no_data_label: str,
    labels: pd.Series | None = None,
    height: int = 620,
    separators: str = ",.",
) -> go.Figure:
    """A discrete choropleth.

    Parameters
    ----------
    shapes : GeoDataFrame in EPSG:4326 with ``code`` and (simplified) geometry.
    table : indexed by unit code; aligns ``classes`` and ``hover``.
    classes : class of every unit of ``table`` (−1 = no data).
    hover : pre-formatted hover HTML per unit code (numbers already in the UI's format).
    labels : short names to draw on the map, or None.
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
        keep = [c for c in labels.index if c in shapes.index]
        pts = shapes.loc[keep, "geometry"].representative_point()
        fig.add_trace(go.Scattergeo(
            lon=pts.x, lat=pts.y, mode="text", text=[labels[c] for c in keep],
            textfont={"size": 12, "color": "#1a1a1a"}, hoverinfo="skip", showlegend=False))
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator", bgcolor="white")
    fig.update_layout(
        # the legend sits under the map, so it never covers a unit
        margin={"l": 0, "r": 0, "t": 30, "b": 10}, height=height, separators=separators,
        legend={"orientation": "h", "yanchor": "top", "y": 0.0, "xanchor": "left", "x": 0.0,
                "bgcolor": "rgba(255,255,255,0.85)", "font": {"size": 13}},
        clickmode="event+select", dragmode=False, paper_bgcolor="white",
        font={"family": "Noto Sans, Arial, sans-serif"},
    )
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
