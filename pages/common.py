"""UI helpers shared by the pages: session defaults, language, cached data, banners.

Caching lives here, around the pure functions of ``povdata`` and ``geo``: a widget
change never re-reads a file or re-simplifies geometry.
"""
from __future__ import annotations

from html import escape

import geopandas as gpd
import pandas as pd
import streamlit as st

from geo.read import read_layers
from geo.simplify import simplify_coverage, tolerance_for_level
from povdata.dataset import Dataset, demo_dir, level_table, load_demo
from povdata.i18n import LANGS, t
from povdata.progress import progress_table
from povdata.targets import TargetsConfig, default_targets

DEFAULT_PROVINCE = "20"


def init_state() -> None:
    """Session defaults, set once; the URL's ``lang`` wins on first load."""
    if "lang" not in st.session_state:
        q = st.query_params.get("lang", "vi")
        st.session_state["lang"] = q if q in LANGS else "vi"
    st.session_state.setdefault("province", DEFAULT_PROVINCE)


def lang() -> str:
    return st.session_state.get("lang", "vi")


def tr(key: str, **kwargs: object) -> str:
    return t(key, lang(), **kwargs)


def province() -> str:
    return st.session_state.get("province", DEFAULT_PROVINCE)


@st.cache_resource(show_spinner=False)
def _dataset(province_code: str) -> Dataset:
    return load_demo(province_code)


def dataset() -> Dataset:
    return _dataset(province())


@st.cache_data(show_spinner=False)
def levels(province_code: str) -> pd.DataFrame:
    return level_table(_dataset(province_code))


@st.cache_resource(show_spinner=False)
def _targets(province_code: str) -> TargetsConfig:
    return default_targets(province_code)


def targets() -> TargetsConfig:
    """The province's targets; a file that fails validation stops the page with its message."""
    from povdata.targets import TargetsError

    try:
        return _targets(province())
    except TargetsError as exc:
        st.error(tr("app.targets_error", message=str(exc)))
        st.stop()


@st.cache_data(show_spinner=False)
def progress(province_code: str) -> pd.DataFrame:
    return progress_table(levels(province_code), targets())


@st.cache_resource(show_spinner=False)
def shapes(province_code: str, level: str) -> gpd.GeoDataFrame:
    """Display geometry of a level, simplified once per process (never mutated)."""
    from povdata.reform import new_id

    layers = read_layers(demo_dir(province_code) / "boundaries.gpkg")
    if level not in layers:
        return gpd.GeoDataFrame({"code": []}, geometry=[], crs="EPSG:4326")
    out = simplify_coverage(layers[level], tolerance_for_level("commune" if level == "commune_2025" else level))
    if level == "commune_2025":  # level-table ids of new communes
        out["code"] = out["code"].map(new_id)
    return out


@st.cache_data(show_spinner=False)
def crosswalk(province_code: str) -> pd.DataFrame:
    from povdata.crosswalk import load_crosswalk

    return load_crosswalk(province_code)


@st.cache_data(show_spinner=False)
def membership(province_code: str) -> pd.DataFrame:
    """New communes of each former district (``unit_code``, ``district_code``, ``share``, ``straddles``)."""
    from povdata.dataset import new_commune_membership

    return new_commune_membership(_dataset(province_code))


def data_banner(ds: Dataset) -> None:
    """The data-status label with source and version, at the top of every page."""
    if ds.is_illustrative:
        st.warning(f"**{tr('banner.illustrative')}** — {tr('banner.illustrative_detail')}", icon="⚠️")
    st.caption(tr("banner.source", source=escape(ds.source), version=escape(ds.version))
               + " · " + tr(f"data_status.{ds.data_status}"))


def language_picker() -> None:
    names = {"vi": "Tiếng Việt", "en": "English"}
    st.sidebar.radio(tr("app.language"), LANGS, key="lang", format_func=names.get, horizontal=True)
    st.query_params["lang"] = lang()


def show_kpis(kpis) -> None:
    cols = st.columns(len(kpis)) if kpis else []
    for col, k in zip(cols, kpis):
        with col:
            st.metric(tr(k.key), k.value, k.delta,
                      delta_color="off" if k.delta_good is None else ("inverse" if k.delta_good else "normal"),
                      help=k.note)
            st.caption(k.note)


def table_headers(df: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Rename columns to the UI language."""
    return df[list(mapping)].rename(columns={c: tr(k) for c, k in mapping.items()})


def map_figure(province_code: str, level: str, year: int, indicator: str, parent: str | None,
               breaks: tuple[float, ...] | None, show_labels: bool, period_id: str | None, height: int):
    """The choropleth for a view, plus the table behind it (cached per view)."""
    return _map_figure(province_code, level, year, indicator, parent, breaks, show_labels, period_id, height, lang())


@st.cache_data(show_spinner=False, max_entries=256)
def _map_figure(province_code, level, year, indicator, parent, breaks, show_labels, period_id, height, lang_):
    from geo.choropleth import choropleth_figure
    from povdata.charts import mark_illustrative
    from povdata.classify import classify, classify_status
    from povdata.i18n import d3_format
    from povdata.views import map_table

    members = None
    if level == "commune_2025" and parent is not None:
        m = membership(province_code)
        members = m[m["district_code"] == parent]
        parent = None
    table = map_table(levels(province_code), progress(province_code), level, year, indicator,
                      parent=parent, period_id=period_id, lang=lang_, members=members)
    if indicator == "target_status":
        classes = classify_status(table["status"], lang_)
    else:
        unit = "%" if indicator in ("poverty_rate", "near_poor_rate") else ""
        decimals = 0 if indicator == "poor_households" else 2
        classes = classify(table["value"], list(breaks or ()), lang_, unit=unit, decimals=decimals)
    geom = shapes(province_code, level)
    geom = geom[geom["code"].isin(table.index)]
    labels = (table["short_name"] + table["straddles"].map({True: " *", False: ""})) if show_labels else None
    fig = choropleth_figure(geom, table, classes, table["hover"], t("map.no_data", lang_), labels=labels,
                            height=height, separators=d3_format(lang_)["separators"])
    if _dataset(province_code).is_illustrative:
        mark_illustrative(fig, lang_)
    missing = table[table["value"].isna() if indicator != "target_status" else table["status"].isna()]
    no_geom = [c for c in table.index if c not in set(geom["code"])]
    return fig, table, list(missing["name"]) + [table.at[c, "name"] for c in no_geom if c not in missing.index]


def selected_code(event) -> str | None:
    """Unit code of the clicked feature in a ``st.plotly_chart`` selection event."""
    try:
        points = event.selection.points if hasattr(event, "selection") else event["selection"]["points"]
    except (KeyError, AttributeError, TypeError):
        return None
    for p in points or []:
        loc = p.get("location") or (p.get("customdata") or [None])[0]
        if loc:
            return str(loc)
    return None


def styled_table(df: pd.DataFrame, numbers: dict[str, int], status_col: str | None = None):
    """A Styler showing numbers in the UI language (sorting still uses the values) and
    status cells in the map's status colours.  ``numbers``: column → decimals (−1 = a year)."""
    from povdata.classify import STATUS_COLOURS
    from povdata.i18n import fmt_number

    lang_ = lang()

    def fmt(v, d):
        if d < 0:  # a year: no thousands separator
            return "–" if pd.isna(v) else str(int(v))
        return fmt_number(v, lang_, d)

    sty = df.style.format({c: (lambda v, d=d: fmt(v, d)) for c, d in numbers.items() if c in df}, na_rep="–")
    if status_col and status_col in df:
        colours = {tr(f"status.{k}"): v for k, v in STATUS_COLOURS.items()}
        sty = sty.map(lambda v: f"background-color: {colours.get(v, 'white')}; color: "
                      f"{'white' if v in (tr('status.off_track'), tr('status.not_met'), tr('status.met')) else 'black'}",
                      subset=[status_col])
    return sty


def download_buttons(df: pd.DataFrame, name: str, key: str) -> None:
    from povdata.export import to_csv_bytes, to_xlsx_bytes

    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(tr("progress.download"), to_csv_bytes(df), f"{name}.csv", "text/csv", key=f"{key}_csv")
    c2.download_button(tr("progress.download_xlsx"), to_xlsx_bytes(df), f"{name}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx")
