"""Plotly charts (no Streamlit): time series with standard breaks and target path, rankings."""
from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from povdata.classify import STATUS_COLOURS
from povdata.i18n import d3_format, fmt_rate, t
from povdata.reform import REFORM_YEAR
from povdata.standards import standard_label
from povdata.targets import Period, Target

FONT = "Noto Sans, Arial, sans-serif"
SERIES_COLOURS = ("#0072B2", "#009E73", "#7f2704", "#CC79A7")
TARGET_COLOURS = (STATUS_COLOURS["off_track"], "#7f2704", "#CC79A7")


def base_layout(fig: go.Figure, lang: str, title: str | None = None, height: int = 420) -> go.Figure:
    fig.update_layout(
        font={"family": FONT, "size": 14}, height=height, margin={"l": 60, "r": 20, "t": 60 if title else 20, "b": 40},
        title={"text": title} if title else None, plot_bgcolor="white", paper_bgcolor="white",
        legend={"orientation": "h", "yanchor": "top", "y": -0.16, "x": 0, "yref": "paper"}, **d3_format(lang))
    fig.update_xaxes(showgrid=False, linecolor="#888", dtick=1)
    fig.update_yaxes(gridcolor="#e5e5e5", zeroline=True, zerolinecolor="#888", rangemode="tozero")
    return fig


def rate_series_figure(s: pd.DataFrame, lang: str, title: str | None = None,
                       periods: Sequence[tuple[Period, Target]] = (), column: str = "poverty_rate") -> go.Figure:
    """Rate over the years, one line per poverty standard (a break is a gap, annotated),
    with the target path of each (period, rule) drawn dashed from the period's baseline."""
    fig = go.Figure()
    segments = [g for _, g in s.dropna(subset=[column]).groupby("standard", sort=False)]
    segments.sort(key=lambda g: g["year"].min())
    rec_all = s["reconstructed"].astype(bool) if "reconstructed" in s else pd.Series(False, index=s.index)
    for i, g in enumerate(segments):
        std = g["standard"].iloc[0]
        rec = rec_all.reindex(g.index).fillna(False).to_numpy(dtype=bool)
        est = t("chart.estimate_short", lang)
        fig.add_trace(go.Scatter(
            x=g["year"], y=g[column], mode="lines+markers+text", name=standard_label(std, lang),
            line={"color": SERIES_COLOURS[i % len(SERIES_COLOURS)], "width": 3},
            marker={"symbol": ["circle-open" if r else "circle" for r in rec], "size": [10 if r else 7 for r in rec]},
            # values written at the ends of each segment only (the hover has every year):
            # labels on every point collide with the target path and the break lines
            text=[(fmt_rate(v, lang) + (f" ({est})" if r else "")) if k in (0, len(g) - 1) else ""
                  for k, (v, r) in enumerate(zip(g[column], rec))],
            textposition="top center", textfont={"size": 11},
            hovertext=[f"{y}: {fmt_rate(v, lang)}" + (f" — {t('map.reconstructed', lang)}" if r else "")
                       for y, v, r in zip(g["year"], g[column], rec)],
            hovertemplate="%{hovertext}<extra></extra>"))
    if rec_all.any():
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=t("chart.estimate_legend", lang),
                                 marker={"symbol": "circle-open", "size": 10, "color": "#555"}))
    years = s.dropna(subset=[column])["year"]
    if len(years) and years.min() < REFORM_YEAR <= years.max():
        fig.add_vline(x=REFORM_YEAR - 0.5, line={"dash": "dashdot", "color": "#8a4b00"})
        fig.add_annotation(x=REFORM_YEAR - 0.5, y=0.93, yref="paper", text=t("chart.reform_break", lang),
                           showarrow=False, xanchor="center", yanchor="bottom", font={"size": 11, "color": "#8a4b00"},
                           bgcolor="rgba(255,255,255,0.8)")
        if i > 0:
            fig.add_vline(x=g["year"].min() - 0.5, line={"dash": "dot", "color": "#555"})
            fig.add_annotation(x=g["year"].min() - 0.5, y=1.0, yref="paper", text=t("chart.standard_break", lang),
                               showarrow=False, xanchor="center", yanchor="bottom", font={"size": 11})
    for n, (period, target) in enumerate(periods):
        base = s[(s["year"] == period.baseline_year) & (s["standard"] == period.standard)]
        if base.empty:
            continue
        b = float(base[column].iloc[0])
        years = list(range(period.baseline_year, period.end + 1))
        path = [max(b - target.value * (y - period.baseline_year), 0.0) for y in years]
        fig.add_trace(go.Scatter(
            x=years, y=path, mode="lines",
            line={"dash": ("dash", "dot", "dashdot")[n % 3], "color": TARGET_COLOURS[n % len(TARGET_COLOURS)], "width": 2},
            name=t("chart.target_path", lang, period=period.id, pace=f"{target.value:g}".replace(".", "," if lang == "vi" else ".")),
            hovertemplate="%{x}: %{y:.2f}%<extra></extra>"))
    base_layout(fig, lang, title, height=500)
    fig.update_yaxes(title={"text": t("chart.rate_axis", lang)}, ticksuffix="%")
    fig.update_xaxes(title={"text": t("chart.year_axis", lang), "standoff": 4})
    fig.update_layout(margin={"b": 120})
    return fig


def flows_figure(flows: pd.DataFrame, lang: str, title: str | None = None) -> go.Figure:
    """The year's flows per review year (:func:`povdata.views.flow_table`): households out of
    poverty below the axis, back into poverty and newly poor above it (the counts in the
    table beside it)."""
    from povdata.i18n import fmt_count
    fig = go.Figure()
    x = flows["year"]
    for col, sign, colour in (("escaped_poor", -1, "#1b7837"), ("re_poor", 1, "#d6604d"), ("newly_poor", 1, "#b2182b")):
        v = flows[col].astype("Float64")
        if v.notna().any():
            fig.add_trace(go.Bar(x=x, y=(v * sign).astype("float64"), name=t(f"flows.{col}", lang),
                                 marker={"color": colour}, text=[fmt_count(a, lang) for a in v],
                                 textposition="outside", hovertemplate="%{x}: %{text}<extra>%{fullData.name}</extra>"))
    base_layout(fig, lang, title, height=400)
    fig.update_layout(barmode="relative", bargap=0.45, margin={"b": 110})
    fig.update_yaxes(title={"text": t("flows.axis", lang)}, zeroline=True, zerolinecolor="#333")
    lo, hi = int(x.min()), int(x.max())
    fig.update_xaxes(title={"text": t("chart.year_axis", lang), "standoff": 4}, dtick=1,
                     range=[lo - 1, hi + 1] if hi - lo < 3 else None)
    return fig


def ranking_figure(r: pd.DataFrame, lang: str, title: str | None = None, status: pd.Series | None = None,
                   height: int | None = None, indicator: str = "poverty_rate") -> go.Figure:
    """Horizontal bars of ``indicator`` (a registry indicator, the poverty rate by default), the
    worst at the top (:func:`povdata.views.ranking`'s order); coloured by status when given."""
    from povdata.registry import INDICATORS
    from povdata.views import format_value
    ind = INDICATORS.get(indicator)
    r = r[r[indicator].notna()].iloc[::-1]  # plotly draws the first bar at the bottom
    colours = ["#d94801"] * len(r)
    if status is not None:
        colours = [STATUS_COLOURS.get(status.get(c), "#d94801") for c in r["unit_code"]]
    pct = ind is None or ind.is_percent
    texts = [fmt_rate(v, lang) if pct else format_value(indicator, v, lang) for v in r[indicator]]
    fig = go.Figure(go.Bar(
        x=r[indicator], y=r["name"], orientation="h", marker={"color": colours},
        text=texts, textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{text}<extra></extra>"))
    base_layout(fig, lang, title, height=height or max(300, 28 * len(r) + 80))
    axis = t("chart.rate_axis", lang) if indicator == "poverty_rate" else (
        ind.label(lang) + ("" if pct else f" ({ind.unit_label(lang)})") if ind is not None else indicator)
    fig.update_xaxes(title={"text": axis}, ticksuffix="%" if pct else "", dtick=None)
    fig.update_layout(margin={"l": 180, "r": 60})
    return fig


def deprivation_figure(profile: pd.DataFrame, title: str, lang: str, illustrative: bool = False) -> go.Figure:
    """Horizontal bars of the share of poor households lacking each deprivation indicator
    (:func:`povdata.programme.deprivation_profile`), the largest at the top."""
    from povdata.registry import INDICATORS
    p = profile.sort_values("share", ascending=True)
    labels = [INDICATORS[c].label(lang) for c in p["indicator"]]
    fig = go.Figure(go.Bar(
        x=p["share"], y=labels, orientation="h", marker={"color": "#d94801"},
        text=[fmt_rate(v, lang) for v in p["share"]], textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{text}<extra></extra>"))
    base_layout(fig, lang, title, height=max(320, 30 * len(p) + 90))
    fig.update_xaxes(title={"text": t("chart.deprivation_axis", lang)}, ticksuffix="%", dtick=None)
    fig.update_layout(margin={"l": 300, "r": 60})
    if illustrative:
        mark_illustrative(fig, lang)
    return fig


def mark_illustrative(fig: go.Figure, lang: str) -> go.Figure:
    """Stamp the 'Số liệu minh họa' label on a figure (kept in exported images too)."""
    fig.add_annotation(text=t("banner.illustrative_stamp", lang), xref="paper", yref="paper", x=1, y=1,
                       xanchor="right", yanchor="bottom", showarrow=False,
                       font={"size": 13, "color": "#8a4b00"}, bgcolor="#fff3cd", bordercolor="#8a4b00",
                       borderwidth=1, borderpad=3)
    return fig


def scale_text(fig: go.Figure, k: float, base: float = 12.0) -> go.Figure:
    """A copy of ``fig`` with every text size multiplied by ``k`` (layout, legend, axes,
    annotations, sliders, traces and animation frames; a size left to plotly counts as
    ``base``): a chart seen from the back of a room on a 1920×1080 projector."""
    def walk(node, key: str = ""):
        if isinstance(node, dict):
            out = {}
            for name, v in node.items():
                out[name] = walk(v, name)
            if key.endswith("font"):
                out["size"] = round(float(node.get("size") or base) * k, 1)
            return out
        if isinstance(node, list):
            return [walk(v, key) for v in node]
        return node

    d = fig.to_dict()
    d["layout"] = walk(d.get("layout", {}))
    d["layout"].setdefault("font", {"size": base * k})  # what text without a size of its own inherits
    d["data"] = walk(d.get("data", []))
    if d.get("frames"):
        d["frames"] = walk(d["frames"])
    return go.Figure(d, _validate=False)


def projection_figure(projection: pd.DataFrame, names: dict[str, str], units: list[str], exit_rate: float,
                      lang: str, title: str, subtitle: str = "", height: int = 340) -> go.Figure:
    """Projected rates of ``units`` (the first drawn thicker: the province), with the exit
    threshold: one scenario of the what-if's side-by-side comparison (``subtitle``: the
    standard, on a line of its own).  Names and titles are escaped for
    plotly; rates are written the language's way."""
    from html import escape

    fig = go.Figure()
    for i, code in enumerate(units):
        u = projection[projection["unit_code"] == code]
        name = escape(str(names.get(code, code)), quote=True)
        fig.add_trace(go.Scatter(x=u["year"], y=u["poverty_rate"], mode="lines+markers", name=name,
                                 line={"width": 3 if i == 0 else 1.5},
                                 hovertext=[f"{name} {y}: {fmt_rate(v, lang)}" for y, v in zip(u["year"], u["poverty_rate"])],
                                 hovertemplate="%{hovertext}<extra></extra>"))
    fig.add_hline(y=exit_rate, line={"dash": "dot", "color": "#b2182b", "width": 1})
    text = escape(title, quote=True) + (f"<br><span style='font-size:11px'>{escape(subtitle, quote=True)}</span>"
                                        if subtitle else "")
    fig.update_layout(title={"text": text, "font": {"size": 13}}, height=height,
                      margin={"l": 40, "r": 10, "t": 60, "b": 30}, legend={"orientation": "h", "y": -0.15},
                      yaxis={"title": None, "ticksuffix": "%", "rangemode": "tozero"}, xaxis={"dtick": 1},
                      **d3_format(lang))
    return fig
