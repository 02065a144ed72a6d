"""View models: the tables behind each screen (KPIs, map values, rankings, profiles).

Pages only read widgets, call these and draw the result.
"""
from __future__ import annotations

from dataclasses import dataclass
from html import escape

import numpy as np
import pandas as pd

from povdata.i18n import fmt_count, fmt_number, fmt_pace, fmt_pp, fmt_rate, t
from povdata.indicators import INDICATORS, with_previous_year
from povdata.progress import poor_districts_for
from povdata.standards import standard_label

#: Indicators always offered on the map: the poverty rates and the progress engine's views.
MAP_INDICATORS = ("poverty_rate", "near_poor_rate", "poor_households", "poverty_rate_change",
                  "period_pace", "target_status")
FLOW_COLUMNS = ["poor_households_start", "escaped_poor", "re_poor", "newly_poor", "poor_households",
                "ethnic_minority_poor", "ethnic_minority_rate_published"]


def map_indicators_for(levels: pd.DataFrame, year: int, level: str | None = None) -> tuple[str, ...]:
    """:data:`MAP_INDICATORS` plus every other ``map`` indicator of the registry
    (:mod:`povdata.registry`: flows, ethnic-minority poverty, deprivations, service coverage,
    outputs) that some unit (of ``level``) has in ``year``."""
    from povdata.registry import map_indicators
    cur = levels[(levels["year"] == year) & ((levels["level"] == level) if level else True)]
    extra = tuple(c for c in map_indicators() if c not in MAP_INDICATORS and c in cur and cur[c].notna().any())
    return MAP_INDICATORS + extra


def flow_table(s: pd.DataFrame) -> pd.DataFrame:
    """The years of a unit's series (:func:`series`) that have the year's flows: start of
    year, out of poverty, back into poverty, newly poor, year end, ``balance`` (start − out
    + back + new), ``balanced`` (whether it equals the year end), and the ethnic-minority
    poor count and published rate where given.  No rows when the data have no flows."""
    have = [c for c in FLOW_COLUMNS if c in s]
    flows = [c for c in ("poor_households_start", "escaped_poor", "re_poor", "newly_poor") if c in s]
    if not flows:
        return pd.DataFrame(columns=["year", "standard", *FLOW_COLUMNS, "balance", "balanced"])
    out = s[s[flows].notna().any(axis=1)][["year", "standard", *have]].copy()
    for c in FLOW_COLUMNS:
        if c not in out:
            out[c] = pd.NA
    f = {c: out[c].astype("Float64") for c in FLOW_COLUMNS}
    out["balance"] = (f["poor_households_start"] - f["escaped_poor"] + f["re_poor"] + f["newly_poor"]).astype("Int64")
    out["balanced"] = (out["balance"] == out["poor_households"].astype("Int64")).astype("boolean")
    return out.sort_values("year").reset_index(drop=True)


def indicator_label(ind: str, lang: str) -> str:
    if ind in INDICATORS:
        return INDICATORS[ind].label(lang)
    return t(f"indicator.{ind}", lang)


def latest_year(levels: pd.DataFrame) -> int:
    return int(levels["year"].max())


def standard_of(levels: pd.DataFrame, year: int) -> str | None:
    s = levels.loc[levels["year"] == year, "standard"]
    return None if s.empty else str(s.mode().iloc[0])


@dataclass(frozen=True)
class Kpi:
    key: str
    value: str
    delta: str | None
    note: str
    delta_good: bool | None = None
    arrow: bool = True  # False for a delta that is a verdict, not a change


#: a published figure and the one computed from the units that differ by more than this are both shown
PUBLISHED_TOLERANCE = {"poverty_rate": 0.1, "near_poor_rate": 0.1, "poor_households": 0.5}


def published_pick(published: pd.DataFrame | None, unit_code: str, year: int, indicator: str,
                   standard: str | None, lang: str = "vi") -> tuple[float, str] | None:
    """(value, source cited by title) of the figure the province published for the unit, year
    and indicator under ``standard`` (None when it published none)."""
    if published is None or published.empty:
        return None
    rows = published[(published["unit_code"] == unit_code) & (published["year"] == year)
                     & (published["indicator"] == indicator)]
    if standard is not None and "standard" in rows:
        rows = rows[rows["standard"].isna() | (rows["standard"] == standard)]
    if rows.empty:
        return None
    r = rows.iloc[0]
    return float(r["value"]), _published_source(r, lang)


def _published_source(r, lang: str) -> str:
    """Where a published figure comes from, in the UI language: the article by title, issuer
    and date; else the decision its note names ('Quyết định 83/QĐ-UBND'), the statistical
    yearbook, or the press."""
    import re

    from povdata.sources import cite
    seed = r.get("source_seed")
    if isinstance(seed, str) and seed:
        return cite(seed, lang)
    note = r.get("note") if isinstance(r.get("note"), str) else ""
    m = re.search(r"\b(\d{1,5}/Q[ĐD]-[A-ZĐa-z]+)", note)
    if m:
        return t("kpi.source_decision", lang, number=m.group(1))
    if "yearbook" in note.lower():
        return t("kpi.source_yearbook", lang)
    return t("kpi.source_press", lang) if "press" in note.lower() else t("kpi.source_other", lang)


@dataclass(frozen=True)
class OfficialFigure:
    """A unit's figure for a year as the screens show it: the published one where the province
    published it (``source`` set), else the one computed from the data; ``change`` vs the year
    before between two published figures or two computed ones, never across."""
    value: float | None
    change: float | None
    source: str | None
    computed: float | None
    differs: bool


def official_figure(rows: pd.DataFrame, published: pd.DataFrame | None, unit_code: str, year: int,
                    indicator: str, lang: str = "vi") -> OfficialFigure:
    """``rows``: the unit's rows of the level table (any standard)."""
    cur = rows[rows["year"] == year]
    if cur.empty:
        return OfficialFigure(None, None, None, None, False)
    r = cur.iloc[0]
    prev = rows[(rows["year"] == year - 1) & (rows["standard"] == r["standard"])]
    computed = None if pd.isna(r[indicator]) else float(r[indicator])
    prev_v = None if prev.empty or pd.isna(prev[indicator].iloc[0]) else float(prev[indicator].iloc[0])
    pub = published_pick(published, unit_code, year, indicator, r["standard"], lang)
    pub_prev = published_pick(published, unit_code, year - 1, indicator, r["standard"], lang) if len(prev) else None
    if pub is None:
        change = None if computed is None or prev_v is None or pub_prev is not None else computed - prev_v
        return OfficialFigure(computed, change, None, computed, False)
    differs = computed is not None and abs(computed - pub[0]) > PUBLISHED_TOLERANCE.get(indicator, 0.0)
    return OfficialFigure(pub[0], pub[0] - pub_prev[0] if pub_prev is not None else None, pub[1], computed, differs)


def province_kpis(levels: pd.DataFrame, progress: pd.DataFrame, province_code: str, year: int,
                  lang: str = "vi", published: pd.DataFrame | None = None) -> list[Kpi]:
    """Province KPIs for a review year, each with its year and standard in the note.

    ``published``: the published figures (:func:`povdata.published.published_figures`).  Where
    the province published a figure for the year, the published one is shown (it is the
    official number) and, when the units' sum differs, the computed one beside it; a change
    is computed between two published figures or two computed ones, never across."""
    prov = with_previous_year(levels[levels["unit_code"] == province_code], "poverty_rate")
    prov = with_previous_year(prov, "near_poor_rate")
    row = prov[prov["year"] == year]
    if row.empty:
        return []
    r = row.iloc[0]
    std = standard_label(r["standard"], lang)
    note = t("kpi.note", lang, year=year, standard=std)

    def figure(ind: str, fmt, change_fmt):
        f = official_figure(prov, published, province_code, year, ind, lang)
        this_note = note
        if f.source is not None:
            this_note += " · " + t("kpi.published_note", lang, source=f.source)
            if f.differs:
                this_note += " · " + t("kpi.computed_differs", lang, value=fmt(f.computed, lang))
        return f.value, (None if f.change is None else change_fmt(f.change, lang)), this_note

    def count_delta(d, lang_):
        s_ = fmt_count(int(round(d)), lang_)
        return s_ if s_.startswith("-") else "+" + s_

    rate_v, rate_d, rate_note = figure("poverty_rate", fmt_rate, lambda d, lg: fmt_pp(d, lg, signed=True))
    near_v, near_d, near_note = figure("near_poor_rate", fmt_rate, lambda d, lg: fmt_pp(d, lg, signed=True))
    poor_v, poor_d, poor_note = figure("poor_households", fmt_count, count_delta)
    # delta_good=True: a fall is good news (shown green)
    kpis = [
        Kpi("kpi.poverty_rate", fmt_rate(rate_v, lang), rate_d, rate_note, True),
        Kpi("kpi.near_poor_rate", fmt_rate(near_v, lang), near_d, near_note, True),
        Kpi("kpi.poor_households", fmt_count(poor_v, lang), poor_d, poor_note, True),
    ]
    # the pace of the latest period with two reviews or more: under this year's standard, or,
    # in the first year of a new standard, the period just finished (named with its own standard)
    pr = progress[(progress["unit_code"] == province_code) & (progress["rule"].str.startswith("annual_reduction"))
                  & (progress["baseline_year"] < year) & (progress["basis"] == "rule")]
    pr = pr[pr["latest_year"].notna() & (pr["latest_year"] <= year)]
    if not pr.empty:
        p = pr.sort_values(["latest_year", "baseline_year", "period_id"]).iloc[-1]
        kpis.append(Kpi("kpi.period_pace", fmt_number(p["achieved_pp_per_year"], lang),
                        t("kpi.target_pace", lang, pace=fmt_number(p["target_value"], lang))
                        + " · " + t(f"status.{p['status']}", lang),
                        t("kpi.pace_note", lang, start=int(p["baseline_year"]), end=int(p["latest_year"]),
                          standard=standard_label(p["standard"], lang)), None, arrow=False))
    return kpis


def map_table(levels: pd.DataFrame, cfg, level: str, year: int, indicator: str,
              parent: str | None = None, period_id: str | None = None, lang: str = "vi",
              members: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per unit shown on a map: ``value`` for the indicator and the hover HTML.

    Rows are the units of ``level`` (within ``parent`` when given, or the ``members``
    table's ``unit_code`` with its ``straddles`` flag for new communes in a former
    district); a unit with no value for the year keeps ``value`` = NaN.  Reconstructed
    values (across the 2025 reform) are flagged in ``reconstructed`` and in the hover.
    ``cfg``: the targets in force; the status and period pace of each unit are the verdict
    engine's for the map's year (:func:`povdata.verdicts.unit_verdicts`: the period the year
    falls in, as of that year), with ``period_id`` and ``as_of``; None: no verdicts.
    """
    units = levels[levels["level"] == level].drop_duplicates("unit_code")[
        ["unit_code", "name", "short_name", "parent_code", "district_code"]]
    if members is not None:
        units = units.merge(members[["unit_code", "straddles"]], on="unit_code", how="inner")
    elif parent is not None:
        units = units[units["parent_code"] == parent]
    if "straddles" not in units:
        units["straddles"] = False
    lv = levels[levels["level"] == level]
    lv = with_previous_year(lv, "poverty_rate")
    cur = lv[lv["year"] == year].set_index("unit_code")
    out = units.set_index("unit_code").join(
        cur[["standard", "poverty_rate", "near_poor_rate", "poor_households", "households_total",
             "poverty_rate_change", "reconstructed", "from_divided",
             *[c for c in _registry_map_columns() if c in cur]]], how="left")
    for flag in ("reconstructed", "from_divided"):
        out[flag] = out[flag].astype("boolean").fillna(False).astype(bool)
    out = out.join(_verdicts_for(levels, cfg, level, year, period_id, parent if members is None else None),
                   how="left")
    if indicator in ("poverty_rate", "near_poor_rate", "poor_households", "poverty_rate_change"):
        out["value"] = out[indicator].astype("float64")
    elif indicator in INDICATORS:  # any other registry indicator
        out["value"] = out[indicator].astype("float64") if indicator in out else np.nan
    elif indicator == "period_pace":
        out["value"] = out["achieved_pp_per_year"].astype("float64")
    else:
        out["value"] = np.nan
    out["hover"] = [_hover(r, year, lang, indicator) for r in out.itertuples()]
    return out


def _registry_map_columns() -> list[str]:
    from povdata.registry import map_indicators
    return [c for c in map_indicators() if c not in ("poverty_rate", "near_poor_rate", "poor_households")]


def format_value(indicator: str, value, lang: str) -> str:
    """A registry indicator's value as the UI writes it ('25,95%', '1.234 hộ', '–')."""
    ind = INDICATORS.get(indicator)
    if value is None or pd.isna(value):
        return "–"
    if ind is None or ind.is_percent:
        return fmt_rate(float(value), lang)
    return f"{fmt_count(value, lang)} {ind.unit_label(lang)}"


def _verdicts_for(levels: pd.DataFrame, cfg, level: str, year: int, period_id: str | None,
                  parent: str | None = None) -> pd.DataFrame:
    cols = ["status", "achieved_pp_per_year", "target_value", "period_id", "as_of", "basis"]
    if cfg is None or level not in ("district", "commune"):
        return pd.DataFrame(columns=cols)
    from povdata.verdicts import unit_verdicts
    v = unit_verdicts(levels, cfg, level, year, parent=parent, period_id=period_id)
    return v.set_index("unit_code")[cols] if not v.empty else pd.DataFrame(columns=cols)


def _hover(r, year: int, lang: str, indicator: str | None = None) -> str:
    lines = [f"<b>{escape(str(r.name))}</b>"]
    if indicator in INDICATORS and indicator not in ("poverty_rate", "near_poor_rate", "poor_households"):
        lines.append(f"{escape(INDICATORS[indicator].label(lang))} {year}: "
                     f"{format_value(indicator, getattr(r, 'value', np.nan), lang)}")
    if pd.isna(r.poverty_rate):
        lines.append(t("map.no_data", lang) + f" ({year})")
    else:
        lines.append(f"{t('indicator.poverty_rate_short', lang)} {year}: {fmt_rate(r.poverty_rate, lang)}")
        lines.append(f"{t('indicator.near_poor_rate_short', lang)}: {fmt_rate(r.near_poor_rate, lang)}")
        lines.append(f"{t('indicator.poor_households_short', lang)}: {fmt_count(r.poor_households, lang)} / "
                     f"{fmt_count(r.households_total, lang)} {t('unit.households', lang)}")
        if not pd.isna(r.poverty_rate_change):
            lines.append(f"{t('map.change_prev', lang)}: {fmt_pp(r.poverty_rate_change, lang, signed=True)}")
    if r.reconstructed:
        lines.append(f"<i>{t('map.reconstructed', lang)}</i>")
    if r.from_divided:
        lines.append(f"<i>{t('reform.backcast_divided', lang)}</i>")
    if r.straddles:
        lines.append(f"<i>{t('map.straddles', lang)}</i>")
    if isinstance(r.status, str):
        from povdata.verdicts import verdict_caption
        lines.append(f"{t('map.status', lang)} {verdict_caption(r.period_id, int(r.as_of), lang)}: "
                     f"{t('status.' + r.status, lang)}"
                     + (f" ({fmt_pace(r.achieved_pp_per_year, lang)})" if not pd.isna(r.achieved_pp_per_year) else ""))
        if getattr(r, "basis", None) == "reference":  # the province's target beside a unit: its reference only
            lines.append(f"<i>{t('narrative.province_reference', lang)}</i>")
    return "<br>".join(lines)


def ranking(levels: pd.DataFrame, level: str, year: int, parent: str | None = None,
            members: list[str] | None = None, indicator: str = "poverty_rate") -> pd.DataFrame:
    """Units of a level ranked by ``indicator`` (a registry indicator; the worst first: highest
    poverty rate, lowest coverage), with the poverty rate's change vs the previous year; within
    ``parent``, or among ``members`` (new communes of a former district).  Units without a value
    go last."""
    lv = with_previous_year(levels[levels["level"] == level], "poverty_rate")
    cur = lv[lv["year"] == year]
    if members is not None:
        cur = cur[cur["unit_code"].isin(members)]
    elif parent is not None:
        cur = cur[cur["parent_code"] == parent]
    ind = INDICATORS.get(indicator)
    worse_high = ind.higher_is_worse if ind is not None else True
    if indicator not in cur:
        cur = cur.assign(**{indicator: np.nan})
    cur = cur.sort_values(indicator, ascending=not worse_high, na_position="last").reset_index(drop=True)
    cur.insert(0, "rank", np.arange(1, len(cur) + 1))
    return cur


def series(levels: pd.DataFrame, unit_code: str) -> pd.DataFrame:
    return levels[levels["unit_code"] == unit_code].sort_values("year")


def unit_flags(province_code: str, unit_code: str, level: str, year: int, cfg=None) -> list[str]:
    """Keys of the flags that hold for a unit in a year, by decision (time-varying): a poor
    district, an especially difficult commune; ``cfg``: the targets in force, whose decisions
    include those editors entered (default: the reviewed file's)."""
    from povdata.designations import designated

    flags = []
    if level == "district" and unit_code in poor_districts_for(cfg if cfg is not None else province_code, year, year):
        if cfg is None or designated(cfg.decisions, unit_code, year, "poor_district") is not None:
            flags.append("flag.poor_district")
        else:
            flags.append("flag.poor_district_exited")
    if cfg is not None and level in ("commune", "commune_2025") \
            and designated(cfg.decisions, unit_code, year, "difficult_commune") is not None:
        flags.append("flag.difficult_commune")
    return flags


def commune_position(levels: pd.DataFrame, unit_code: str, year: int) -> tuple[int, int] | None:
    """(rank, count) of a commune among all communes by poverty rate in ``year`` (1 = poorest)."""
    r = ranking(levels, "commune", year)
    hit = r[r["unit_code"] == unit_code]
    return None if hit.empty else (int(hit["rank"].iloc[0]), len(r))
