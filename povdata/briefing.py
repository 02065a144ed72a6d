"""Briefing pack: a PowerPoint deck and a PDF for one year of one dataset (no Streamlit).

Slides: cover; province key figures with the province trajectory; province map; district
scorecard; the 2030 panel; one slide per poor district (map of its communes, trajectory
against the target path); sources and data version.

The deck is described once as :class:`Slide` objects (positions in inches on a 16:9,
13.33 × 7.5 in slide) and written twice: :func:`write_pptx` (python-pptx: every text is
an editable text box or table, never a picture of text) and :func:`write_pdf` (reportlab,
with the shipped Noto Sans embedded).  Charts and maps are PNG images rendered on the
server by :mod:`povdata.export_images`, at 144 px per inch of slide (1920 px across a full
slide: a projector's native width), each stating indicator, year, standard, source and the
'Số liệu minh họa' label when the data are illustrative.
"""
from __future__ import annotations

import datetime as dt
import io
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import geopandas as gpd
import pandas as pd
import plotly.graph_objects as go

from povdata.charts import rate_series_figure
from povdata.classify import OFFICIAL_BREAKS, STATUS_COLOURS
from povdata.dataset import Dataset, demo_dir, level_table, load_demo
from povdata.export_images import (FONT_FILES, Frame, ImageJob, fmt_date, frame_figure, render_images,
                                   standards_text)
from povdata.i18n import fmt_number, fmt_pace, fmt_rate, t
from povdata.messages import say
from povdata.sources import cite
from povdata.maps import map_view
from povdata.narrative import unit_narrative
from povdata.published import published_figures
from povdata.reform import REFORM_YEAR
from povdata.progress import poor_district_outlook, poor_districts_for, progress_table
from povdata.standards import standard_label
from povdata.targets import TargetsConfig, default_targets
from povdata.units import province_name
from povdata.views import province_kpis, series, standard_of

SLIDE_W, SLIDE_H = 13.333, 7.5  # inches, 16:9
DISTRICT_MAP_LABELS = 4  # names on a district's commune map: its poorest communes
PX_PER_IN = 144  # 1920 px across the slide
FONT_NAME = "Noto Sans"
MARGIN = 0.5
CONTENT_TOP = 1.55
CONTENT_BOTTOM = 6.85
INK, GREY, STAMP_BG, STAMP_FG = "1A1A1A", "444444", "FFF3CD", "8A4B00"


# ---- the deck as data ---------------------------------------------------------------------


@dataclass(frozen=True)
class Para:
    text: str
    size: float = 18  # points
    bold: bool = False
    color: str = INK
    align: str = "left"  # left | center | right


@dataclass(frozen=True)
class TextBox:
    x: float
    y: float
    w: float
    h: float
    paras: tuple[Para, ...]
    fill: str | None = None
    border: str | None = None
    name: str = "text"


@dataclass
class Picture:
    x: float
    y: float
    w: float
    h: float
    figure: go.Figure
    frame: Frame
    png: bytes = b""
    name: str = "chart"

    @property
    def px(self) -> tuple[int, int]:
        return round(self.w * PX_PER_IN), round(self.h * PX_PER_IN)


@dataclass(frozen=True)
class TableBox:
    x: float
    y: float
    w: float
    col_widths: tuple[float, ...]  # relative
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    fills: dict = field(default_factory=dict)  # (row, col) → (background, text colour), row 0 = first body row
    size: float = 14
    align: tuple[str, ...] = ()
    #: row heights in inches (header first), measured by :func:`fit_table`
    heights: tuple[float, ...] = ()

    @property
    def h(self) -> float:
        return sum(self.heights)


@dataclass
class Slide:
    title: str
    subtitle: str = ""
    items: list = field(default_factory=list)
    kind: str = "content"


@dataclass
class Pack:
    slides: list[Slide]
    year: int
    lang: str
    dataset: Dataset
    footer_source: str
    date: dt.date
    pptx: bytes = b""
    pdf: bytes = b""
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    @property
    def pictures(self) -> list[Picture]:
        return [i for s in self.slides for i in s.items if isinstance(i, Picture)]

    def file_stem(self) -> str:
        return f"bo-tai-lieu-hop-{self.dataset.province_code}-{self.year}"


# ---- building ---------------------------------------------------------------------------------


def _status_fill(status: str) -> tuple[str, str]:
    bg = STATUS_COLOURS.get(status, "#ffffff").lstrip("#").upper()
    fg = "FFFFFF" if status in ("off_track", "not_met", "met") else INK
    return bg, fg


def _rule_short(target, lang: str) -> str:
    """``≥ 3`` / ``> 5`` / ``2–2,5`` (points per year; the column header says the unit)."""
    def n(v: float) -> str:
        return fmt_number(v, lang, 0 if v == int(v) else (1 if v * 10 == int(v * 10) else 2))
    if target.is_range:
        return f"{n(target.value)}–{n(float(target.value_high))}"
    return ("> " if target.strict else "≥ ") + n(target.value)


def fit_table(tb: TableBox, max_h: float) -> TableBox:
    """The table with the largest font (14 pt down to 10 pt) whose rows, wrapped in their
    columns, fit ``max_h`` inches; row heights measured with the PDF's fonts, so the PPTX
    and the PDF show the same table."""
    from dataclasses import replace

    for size in (14, 13, 12, 11, 10):
        heights = _measure_rows(tb, size)
        if sum(heights) <= max_h or size == 10:
            return replace(tb, size=size, heights=tuple(heights))
    raise AssertionError("unreachable")


def _measure_rows(tb: TableBox, size: float) -> list[float]:
    from reportlab.lib.units import inch

    total = sum(tb.col_widths)
    out = []
    for r, row in enumerate((tb.header, *tb.rows)):
        h = 0.0
        for c, text in enumerate(row):
            para = _pdf_para(text, _cell_style(size, bold=r == 0))
            _, ph = para.wrap(tb.w * inch * tb.col_widths[c] / total - 2 * _CELL_PAD, 1000)
            h = max(h, ph)
        out.append((h + 2 * _CELL_PAD + 2) / inch)
    return out


def _rule_text(target, lang: str) -> str:
    from povdata.targets import rule_text
    return rule_text(target, lang)


def _frame(subtitle: str, ds: Dataset, lang: str, date: dt.date) -> Frame:
    """Frame of an image placed on a slide: the slide holds the title, the image states
    indicator, year and standard, source, version and date, and the illustrative label."""
    foot = t("export.footer", lang, source=ds.title, version=ds.version, date=fmt_date(date, lang))
    return Frame(title="", subtitle=subtitle, footer=foot,
                 stamp=t("banner.illustrative_stamp", lang) if ds.is_illustrative else None)


def _series_rules(cfg: TargetsConfig, province: str, unit: str, level: str, upto: int):
    """(period, rule) pairs drawn as target paths on a unit's trajectory."""
    out = []
    for p in cfg.periods:
        if p.end - p.baseline_year <= 1 or p.baseline_year >= upto:
            continue
        poor = level == "district" and unit in poor_districts_for(cfg, p.start, p.end)
        for tg in p.targets:
            if tg.is_rate_rule and tg.scope == ("poor_districts" if poor else "province"):
                out.append((p, tg))
    return out


def _standards_text(s: pd.DataFrame, lang: str) -> str:
    return standards_text(s.sort_values("year")["standard"].dropna(), lang)


def _trajectory(levels: pd.DataFrame, cfg: TargetsConfig, province: str, unit: str, level: str, year: int,
                lang: str, illustrative: bool):
    from povdata.charts import mark_illustrative

    s = series(levels, unit)
    s = s[s["year"] <= year]
    fig = rate_series_figure(s, lang, None, _series_rules(cfg, province, unit, level, year))
    if illustrative:
        mark_illustrative(fig, lang)
    years = t("export.years", lang, start=int(s["year"].min()), end=int(s["year"].max()))
    return fig, s, years


def default_year(levels: pd.DataFrame, cfg: TargetsConfig) -> int:
    """The year a briefing opens on: the last year whose review is complete at district level
    (every district of the province has a rate; from 2025 on, districts are the sums of the
    new communes) and that a target period judges (so the pack has its scorecard and its
    poor-district slides); the latest year with data when no year qualifies."""
    from povdata.verdicts import period_for_year

    years = sorted(int(y) for y in levels.loc[levels["level"] == "province", "year"].unique())
    if not years:
        raise ValueError("no province-level year")
    d = levels[(levels["level"] == "district") & levels["poverty_rate"].notna()]
    count = d.groupby("year")["unit_code"].nunique()
    complete = {int(y) for y, n in count.items() if n == count.max()} if len(count) else set()
    judged = [y for y in years if y in complete and period_for_year(cfg, y) is not None]
    return judged[-1] if judged else years[-1]


def scorecard_period(cfg: TargetsConfig, year: int):
    """The period whose scorecard a pack for ``year`` shows: the one the year falls in, or,
    for a year after every period's end (the first review of a new standard, before new
    targets are entered), the last period that ended before it (judged as of its end)."""
    from povdata.verdicts import period_for_year

    period = period_for_year(cfg, year)
    if period is not None:
        return period
    ended = [p for p in cfg.periods if any(x.is_rate_rule for x in p.targets) and p.end < year]
    return max(ended, key=lambda p: p.end) if ended else None


#: ``progress(fraction, message_key, **params)``
Progress = Callable[..., None]


def _silent(_fraction: float, _step: str, /, **_params: object) -> None:
    return None


@dataclass(frozen=True)
class PackMaps:
    """The maps' geometry of a pack: display geometry per level (``district``, ``commune``,
    ``commune_2025``; the pages' own, so the slides draw what the screen draws) and each
    layer's source (file name, approximate)."""
    shapes: dict[str, gpd.GeoDataFrame]
    sources: dict[str, tuple[str, bool]]

    def shape(self, level: str) -> gpd.GeoDataFrame:
        from povdata.maps import display_layer
        return self.shapes[level] if level in self.shapes else display_layer({}, level)


#: the levels a pack draws maps of
MAP_LEVELS = ("district", "commune", "commune_2025")


def stored_maps(store, version_id: int) -> PackMaps:
    """A stored version's :class:`PackMaps`: the display geometry simplified at import."""
    from povdata.store import layer_sources, load_display_layer

    shapes = {lvl: g for lvl in MAP_LEVELS if (g := load_display_layer(store, version_id, lvl)) is not None}
    return PackMaps(shapes, layer_sources(store, version_id))


def demo_maps(boundaries: Path) -> PackMaps:
    """The embedded demo's :class:`PackMaps` (approximate boundaries, simplified here)."""
    from geo.read import read_layers
    from povdata.maps import display_layer
    from povdata.store import APPROXIMATE_SOURCE

    layers = read_layers(boundaries) if Path(boundaries).exists() else {}
    return PackMaps({lvl: display_layer(layers, lvl) for lvl in MAP_LEVELS if lvl in layers},
                    {k: (APPROXIMATE_SOURCE, True) for k in layers})


def _boundary_notes(maps: PackMaps, levels: list[str], lang: str) -> list[str]:
    """What the maps' boundaries are, once per distinct source among the levels drawn."""
    notes: list[str] = []
    for lvl in levels:
        source, approx = maps.sources.get(lvl, ("", True))
        note = t("briefing.notes_boundaries", lang) if approx or not source else \
            t("briefing.notes_boundaries_from", lang, source=source)
        if note not in notes:
            notes.append(note)
    return notes


def build_pack(ds: Dataset, year: int, lang: str = "vi", cfg: TargetsConfig | None = None,
               boundaries: Path | None = None, date: dt.date | None = None, render: bool = True,
               progress: Progress | None = None, maps: PackMaps | None = None) -> Pack:
    """Build the deck for ``year`` (slides, rendered images, PPTX and PDF bytes).

    ``maps``: the maps' geometry and sources (a stored version's: :func:`stored_maps`); else
    the GeoPackage ``boundaries`` (default: the embedded demo's).
    ``render=False`` stops after laying out the slides (no Chromium): for quick checks.
    ``progress(fraction, message_key, **params)`` is told of each step (a page's progress bar).
    """
    tell = progress or _silent
    tell(0.02, "briefing.step_data")
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    date = date or dt.date.today()
    prov = ds.province_code
    cfg = cfg or default_targets(prov)
    levels = level_table(ds)
    years = sorted(int(y) for y in levels.loc[levels["level"] == "province", "year"].unique())
    if year not in years:
        raise ValueError(t("briefing.failed", lang, message=f"{year} ∉ {years[0]}-{years[-1]}"))
    progress = progress_table(levels, cfg, as_of=year)
    maps = maps or demo_maps(boundaries or demo_dir(prov) / "boundaries.gpkg")
    drawn = ["district"]
    std = standard_of(levels[levels["level"] == "province"], year)
    std_text = standard_label(std, lang) if std else "–"
    pname = province_name(prov)
    rate_label = t("kpi.poverty_rate", lang)
    illus = ds.is_illustrative
    names = levels.drop_duplicates("unit_code").set_index("unit_code")["name"]
    timings["data"] = time.perf_counter() - t0
    tell(0.08, "briefing.step_layout")
    slides: list[Slide] = []

    # cover
    slides.append(Slide(t("briefing.cover_title", lang, province=pname),
                        t("briefing.cover_subtitle", lang, year=year, standard=std_text), kind="cover",
                        items=[TextBox(MARGIN, 4.2, SLIDE_W - 2 * MARGIN, 1.2,
                                       (Para(t("briefing.cover_note", lang, title=ds.title), 20, color=GREY),),
                                       name="cover_note"),
                               # the province's paragraph, from the verdict engine (as on the overview)
                               TextBox(MARGIN, 5.5, SLIDE_W - 2 * MARGIN, 1.5,
                                       (Para(unit_narrative(levels, cfg, prov, year, lang, published_figures()).text, 18),),
                                       name="summary")]))

    # key figures + province trajectory
    kpis = province_kpis(levels, progress, prov, year, lang, published_figures())  # published figures win
    cards: list[TextBox | Picture] = []
    cw, ch = 2.75, 2.45
    for i, k in enumerate(kpis[:4]):
        x = MARGIN + (i % 2) * (cw + 0.2)
        y = CONTENT_TOP + (i // 2) * (ch + 0.2)
        paras = [Para(t(k.key, lang), 16, color=GREY), Para(k.value, 36, bold=True)]
        if k.delta:
            paras.append(Para(k.delta, 15))
        if k.note != t("kpi.note", lang, year=year, standard=std_text):  # the slide subtitle says it
            paras.append(Para(k.note.replace(" · " + std_text, ""), 13, color=GREY))
        cards.append(TextBox(x, y, cw, ch, tuple(paras), fill="F4F4F4", name=f"kpi_{i}"))
    fig, s, span = _trajectory(levels, cfg, prov, prov, "province", year, lang, illus)
    px = MARGIN + 2 * cw + 0.5
    cards.append(Picture(px, CONTENT_TOP, SLIDE_W - MARGIN - px, CONTENT_BOTTOM - CONTENT_TOP, fig,
                         _frame(t("export.subtitle", lang, indicator=rate_label, year=span,
                                  standard=_standards_text(s, lang)), ds, lang, date), name="province_trajectory"))
    slides.append(Slide(t("briefing.kpi_title", lang, year=year),
                        t("export.subtitle", lang, indicator=t("kpi.poverty_rate", lang), year=year,
                          standard=std_text), cards))

    # province map (districts)
    dshapes = maps.shape("district")
    mv = map_view(levels, cfg, dshapes, "district", year, "poverty_rate", lang, breaks=OFFICIAL_BREAKS,
                  show_labels=True, illustrative=illus)
    # after the reform a district is the sum of the new communes on its territory: an estimate, said
    est_text = (" · " + t("export.estimate_districts", lang)) if year >= REFORM_YEAR else ""
    slides.append(Slide(t("briefing.map_title", lang, year=year), est_text.removeprefix(" · "), [
        Picture(MARGIN, 1.2, SLIDE_W - 2 * MARGIN, CONTENT_BOTTOM - 1.2, mv.figure,
                _frame(t("export.subtitle", lang, indicator=rate_label, year=year, standard=std_text + est_text), ds,
                       lang, date),
                name="province_map")]))

    # district scorecard of the period the year falls in
    from povdata.verdicts import unit_verdicts, verdict_caption
    period = scorecard_period(cfg, year)
    card = pd.DataFrame(columns=["unit_code", "status"])
    if period is not None:
        card_year = min(year, period.end)  # a period that ended before the year: as of its end
        card = unit_verdicts(levels, cfg, "district", card_year, period_id=period.id)
        targets = {x.id: x for x in period.targets}
        rows: list[tuple[str, ...]] = []
        fills: dict[tuple[int, int], tuple[str, str]] = {}
        for r_i, r in enumerate(card.itertuples()):
            rows.append((r.name, t("col.yes", lang) if r.poor_district else "",
                         _rule_short(targets[r.target_id], lang) if r.target_id in targets else "",
                         fmt_number(r.baseline_rate, lang), fmt_number(r.latest_rate, lang),
                         fmt_number(r.achieved_pp_per_year, lang), fmt_number(r.required_pp_per_year, lang),
                         t(f"status.{r.status}", lang)))
            fills[(r_i, 7)] = _status_fill(r.status)
        header: tuple[str, ...] = (t("col.unit", lang), t("col.poor_district", lang), t("briefing.col_rule", lang),
                  t("col.baseline_rate", lang) + f" {period.baseline_year}",
                  t("col.latest_rate", lang) + f" {card_year}", t("col.achieved", lang), t("col.required", lang),
                  t("col.status", lang))
        slides.append(Slide(
            t("briefing.scorecard_title", lang, period=period.id),
            t("briefing.scorecard_subtitle", lang, year=card_year, standard=standard_label(period.standard, lang))
            + (est_text if card_year >= REFORM_YEAR else ""),
            [fit_table(TableBox(MARGIN, CONTENT_TOP, SLIDE_W - 2 * MARGIN, (2.4, 1.0, 1.25, 1.3, 1.3, 1.3, 1.3, 2.5),
                                header, tuple(rows), fills,
                                align=("left", "center", "center", "right", "right", "right", "right", "left")),
                       CONTENT_BOTTOM - CONTENT_TOP)]))

    # 2030 panel
    milestone = next((x for p in cfg.periods for x in p.targets if x.rule == "poor_districts_remaining_at_most"), None)
    outlook = pd.DataFrame()
    if milestone is not None:
        horizon = milestone.by_year
        assert horizon is not None  # a milestone has its year (the targets file is checked)
        mperiod = next(p for p in cfg.periods if milestone in p.targets)
        outlook = poor_district_outlook(levels, cfg, mperiod.start, mperiod.end, horizon=horizon, as_of=year)
        remaining = int((~(outlook["exited"] | (outlook["projected_exit_year"] <= horizon))).sum()) if len(outlook) else 0
        rows, fills = [], {}  # the panel's own table
        for r_i, r in enumerate(outlook.itertuples()):
            exit_text = t("progress.never", lang) if pd.isna(r.projected_exit_year) else str(int(r.projected_exit_year))
            rows.append((names.get(r.unit_code, r.unit_code),
                         "–" if pd.isna(r.latest_year) else str(int(r.latest_year)),
                         fmt_number(r.latest_rate, lang), fmt_number(r.pace_pp_per_year, lang), exit_text,
                         fmt_number(r.required_pp_per_year, lang), t(f"status.{r.status}", lang)))
            fills[(r_i, 6)] = _status_fill(r.status)
        header = (t("col.unit", lang), t("col.latest_year", lang), t("col.latest_rate", lang), t("col.pace", lang),
                  t("col.projected_exit", lang), t("col.required_2030", lang), t("col.status", lang))
        items: list[TextBox | Picture | TableBox] = [TextBox(MARGIN, CONTENT_TOP, SLIDE_W - 2 * MARGIN, 0.9,
                         (Para(t("briefing.panel_summary", lang, horizon=horizon, remaining=remaining,
                                 total=len(outlook)), 24, bold=True),
                          Para(cite(milestone.source, lang), 13, color=GREY)), name="panel_summary")]
        if rows:
            items.append(fit_table(TableBox(MARGIN, CONTENT_TOP + 1.2, SLIDE_W - 2 * MARGIN,
                                            (2.4, 1.2, 1.5, 1.6, 1.9, 1.6, 1.9), header, tuple(rows), fills,
                                            align=("left", "center", "right", "right", "center", "right", "left")),
                                  CONTENT_BOTTOM - CONTENT_TOP - 1.2))
        slides.append(Slide(t("briefing.panel_title", lang),
                            t("briefing.panel_subtitle", lang, exit=fmt_number(cfg.poor_district_exit_rate, lang, 0),
                              year=year), items))

    slides += _coverage_slides(levels, cfg, progress, year, lang)
    slides += _flow_slides(levels, cfg, prov, year, lang, names)

    # one slide per poor district
    poor = poor_districts_for(cfg, period.start, period.end) if period is not None else []
    # the district's communes in the pack's year: its old communes before the reform, the new
    # communes on its territory from 2025 on (the map of a 2025 pack is a 2025 map)
    map_level = "commune" if year < REFORM_YEAR else "commune_2025"
    level_years = levels.loc[(levels["level"] == map_level) & levels["poverty_rate"].notna(), "year"]
    if poor and not level_years.empty:
        cshapes = maps.shape(map_level)
        drawn.append(map_level)
        map_year = min(year, int(level_years.max()))
        map_std = standard_of(levels[levels["level"] == map_level], map_year)
        members_of = None
        if map_level == "commune_2025":
            from povdata.dataset import new_commune_membership
            members_of = new_commune_membership(ds)
        out_by = outlook.set_index("unit_code") if len(outlook) else pd.DataFrame()
        half = (SLIDE_W - 2 * MARGIN - 0.3) / 2
        for code in poor:
            name = str(names.get(code, code))
            if members_of is not None:
                mv = map_view(levels, cfg, cshapes, map_level, map_year, "poverty_rate", lang,
                              members=members_of[members_of["district_code"] == code], breaks=OFFICIAL_BREAKS,
                              show_labels=True, illustrative=illus, label_top=DISTRICT_MAP_LABELS)
            else:
                mv = map_view(levels, cfg, cshapes, map_level, map_year, "poverty_rate", lang, parent=code,
                              breaks=OFFICIAL_BREAKS, show_labels=True, illustrative=illus,
                              label_top=DISTRICT_MAP_LABELS)
            tfig, s, span = _trajectory(levels, cfg, prov, code, "district", year, lang, illus)
            latest = s.dropna(subset=["poverty_rate"]).tail(1)
            facts = ""
            if not latest.empty:
                o = out_by.loc[code] if code in out_by.index else None
                pace = fmt_pace(o["pace_pp_per_year"], lang) if o is not None else "–"
                exit_year = ("–" if o is None else (t("progress.never", lang) if pd.isna(o["projected_exit_year"])
                                                     else str(int(o["projected_exit_year"]))))
                status = t(f"status.{o['status']}", lang) if o is not None else "–"
                # the period's verdict is the scorecard's (one engine), named with its period and
                # as-of year; the 2030 outlook is a separate question, said as such
                v = card.set_index("unit_code")["status"].get(code) if len(card) else None
                verdict = (t(f"status.{v}", lang) if isinstance(v, str) else "–")
                facts = t("briefing.district_facts", lang, year=int(latest["year"].iloc[0]),
                          rate=fmt_rate(latest["poverty_rate"].iloc[0], lang), pace=pace, status=status,
                          exit_year=exit_year, verdict=verdict,
                          caption=verdict_caption(period.id, card_year, lang))
            slides.append(Slide(t("briefing.district_title", lang, name=name), facts, [
                Picture(MARGIN, CONTENT_TOP, half, CONTENT_BOTTOM - CONTENT_TOP, mv.figure,
                        _frame(t("briefing.district_map", lang, name=name, year=map_year) + " · "
                               + (standard_label(map_std, lang) if map_std else "–"), ds, lang, date),
                        name=f"district_map_{code}"),
                Picture(MARGIN + half + 0.3, CONTENT_TOP, half, CONTENT_BOTTOM - CONTENT_TOP, tfig,
                        _frame(t("export.subtitle", lang, indicator=rate_label, year=span,
                                 standard=_standards_text(s, lang)), ds, lang, date),
                        name=f"district_trajectory_{code}")], kind="district"))

    # sources and version
    target_sources = list(dict.fromkeys([cite(p.source, lang) for p in cfg.periods if p.source]
                                        + ([cite(milestone.source, lang)] if milestone is not None else [])))
    notes = [Para(t("briefing.notes_dataset", lang, title=ds.title, status=t(f"data_status.{ds.data_status}", lang)), 18),
             Para(t("briefing.notes_source", lang, source=say(ds.source, lang)), 16),
             Para(t("briefing.notes_version", lang, version=ds.version, date=fmt_date(date, lang)), 16),
             *(Para(n, 16) for n in _boundary_notes(maps, drawn, lang))]
    notes += [Para(t("briefing.notes_targets", lang, source=src), 14) for src in target_sources]
    notes += [Para(t("briefing.notes_rules", lang), 14, color=GREY), Para(t("briefing.notes_software", lang), 14, color=GREY)]
    slides.append(Slide(t("briefing.notes_title", lang), "", [
        TextBox(MARGIN, 1.2, SLIDE_W - 2 * MARGIN, CONTENT_BOTTOM - 1.2, tuple(notes), name="notes")], kind="notes"))

    pack = Pack(slides, year, lang, ds, say(ds.source, lang), date)
    timings["layout"] = time.perf_counter() - t0 - timings["data"]
    if render:
        t1 = time.perf_counter()
        pics = pack.pictures
        jobs = [ImageJob(frame_figure(p.figure, p.frame, p.px[0], p.px[1], text_scale=1.0), "png", 1,
                         p.px[0], p.px[1]) for p in pics]
        tell(0.2, "briefing.step_images", done=0, total=len(jobs))
        for p, png in zip(pics, render_images(
                jobs, lambda n: tell(0.2 + 0.65 * n / len(jobs), "briefing.step_images", done=n, total=len(jobs)))):
            p.png = png
        timings["images"] = time.perf_counter() - t1
        tell(0.87, "briefing.step_pptx")
        t1 = time.perf_counter()
        pack.pptx = write_pptx(pack)
        timings["pptx"] = time.perf_counter() - t1
        tell(0.93, "briefing.step_pdf")
        t1 = time.perf_counter()
        pack.pdf = write_pdf(pack)
        timings["pdf"] = time.perf_counter() - t1
    pack.seconds = time.perf_counter() - t0
    pack.timings = timings
    return pack


def _coverage_slides(levels: pd.DataFrame, cfg: TargetsConfig, progress: pd.DataFrame, year: int,
                     lang: str) -> list[Slide]:
    """Service coverage of poor households (the resolution's share targets), from the progress
    engine's programme rows as of ``year``: none when no target has a reviewed value."""
    from povdata.programme import committee_table
    view = committee_table(progress[progress["rule"] == "share_at_least"], cfg, lang)
    view = view[view["status"] != "no_data"]
    if view.empty:
        return []
    rows, fills = [], {}
    for i, r in enumerate(view.itertuples()):
        rows.append((r.indicator, r.rule, r.latest, "–" if r.latest_year is None else str(r.latest_year), r.outlook,
                     r.owner, t(f"status.{r.status}", lang)))
        fills[(i, 6)] = _status_fill(r.status)
    header = (t("programme.col_target", lang), t("programme.col_rule", lang), t("programme.col_latest", lang),
              t("col.latest_year", lang), t("briefing.col_projected", lang), t("programme.col_owner", lang),
              t("col.status", lang))
    periods = ", ".join(dict.fromkeys(view["period_id"]))
    return [Slide(t("briefing.coverage_title", lang), t("briefing.coverage_subtitle", lang, periods=periods, year=year), [
        fit_table(TableBox(MARGIN, CONTENT_TOP, SLIDE_W - 2 * MARGIN, (3.6, 1.6, 1.2, 0.9, 1.3, 2.3, 1.6), header,
                           tuple(rows), fills, size=13,
                           align=("left", "left", "right", "center", "right", "left", "left")),
                  CONTENT_BOTTOM - CONTENT_TOP)], kind="coverage")]


#: the flows slide shows this many review years (the latest with flows, back)
FLOW_YEARS = 6


def _flow_slides(levels: pd.DataFrame, cfg: TargetsConfig, prov: str, year: int, lang: str,
                 names: pd.Series) -> list[Slide]:
    """Households out of poverty, back into poverty and newly poor: the province's years up to
    ``year`` (counts, and rates of the start-of-year poor), and the districts whose households
    back in poverty exceed ``cfg.re_poor_alert_pct`` of those out in ``year`` (highlighted)."""
    from povdata.i18n import fmt_count
    from povdata.views import flow_table
    s = levels[(levels["unit_code"] == prov) & (levels["year"] <= year)].sort_values("year")
    flows = flow_table(s)
    flows = flows[flows["escaped_poor"].notna()].tail(FLOW_YEARS) if len(flows) else flows
    if flows.empty:
        return []
    alert = cfg.re_poor_alert_pct
    by_year = s.set_index("year")
    rows, fills = [], {}
    for i, r in enumerate(flows.itertuples()):
        ratio = by_year["re_poor_of_exits"].get(r.year) if "re_poor_of_exits" in by_year else None
        start_rate = by_year["escape_rate"].get(r.year) if "escape_rate" in by_year else None
        rows.append((str(int(r.year)), fmt_count(r.poor_households_start, lang), fmt_count(r.escaped_poor, lang),
                     "–" if start_rate is None or pd.isna(start_rate) else fmt_rate(start_rate, lang),
                     fmt_count(r.re_poor, lang), fmt_count(r.newly_poor, lang), fmt_count(r.poor_households, lang),
                     "–" if ratio is None or pd.isna(ratio) else fmt_rate(ratio, lang)))
        if ratio is not None and not pd.isna(ratio) and ratio > alert:
            fills[(i, 7)] = _status_fill("off_track")
    header = (t("map.year", lang), t("flows.poor_households_start", lang), t("flows.escaped_poor", lang),
              t("briefing.col_escape_rate", lang), t("flows.re_poor", lang), t("flows.newly_poor", lang),
              t("flows.poor_households", lang), t("briefing.col_re_poor_of_exits", lang))
    items: list = [fit_table(TableBox(MARGIN, CONTENT_TOP, SLIDE_W - 2 * MARGIN, (0.9, 1.5, 1.5, 1.5, 1.4, 1.4, 1.5, 1.8),
                                      header, tuple(rows), fills, size=14,
                                      align=("center",) + ("right",) * 7), 3.0)]
    d = levels[(levels["level"] == "district") & (levels["year"] == year)]
    if "re_poor_of_exits" in d:
        over = d[d["re_poor_of_exits"] > alert].sort_values("re_poor_of_exits", ascending=False)
        text = (t("briefing.flows_alert", lang, pct=fmt_number(alert, lang, 0), year=year,
                  units="; ".join(f"{names.get(c, c)} ({fmt_rate(v, lang)})"
                                  for c, v in zip(over["unit_code"], over["re_poor_of_exits"])))
                if len(over) else t("briefing.flows_no_alert", lang, pct=fmt_number(alert, lang, 0), year=year))
        paras = [Para(text, 16, bold=bool(len(over)))]
        cur = by_year.loc[year] if year in by_year.index else None
        if cur is not None and pd.notna(cur.get("ethnic_minority_share", float("nan"))):  # ethnic-minority poverty
            em_rate = cur.get("ethnic_minority_rate", float("nan"))
            paras.append(Para(t("briefing.flows_ethnic", lang, year=year,
                                n=fmt_count(cur["ethnic_minority_poor"], lang),
                                share=fmt_rate(cur["ethnic_minority_share"], lang),
                                rate="–" if pd.isna(em_rate) else fmt_rate(em_rate, lang)), 16))
        items.append(TextBox(MARGIN, CONTENT_TOP + 3.3, SLIDE_W - 2 * MARGIN, 1.6, tuple(paras), name="flows_alert"))
    return [Slide(t("briefing.flows_title", lang), t("briefing.flows_subtitle", lang, province=names.get(prov, prov)),
                  items, kind="flows")]


def pack_files(ds: Dataset, year: int, lang: str = "vi", cfg: TargetsConfig | None = None,
               progress: Progress | None = None, maps: PackMaps | None = None) -> dict:
    """The pack's files and what the page says of them (a briefing worker's job, see
    :mod:`povdata.jobs`): only bytes and numbers go back to the web process."""
    pack = build_pack(ds, year, lang, cfg, progress=progress, maps=maps)
    return {"pptx": pack.pptx, "pdf": pack.pdf, "stem": pack.file_stem(), "slides": len(pack.slides),
            "seconds": pack.seconds}


def pack_failure(exc: BaseException) -> object:
    """What the page says when a pack could not be built: the limit that stopped the worker, the
    renderer's or the data's own message, or (anything else, logged) that the builder crashed;
    never a traceback."""
    from povdata.export_images import ExportError
    from povdata.messages import Msg, Num
    from povdata.workers import WorkerLimit

    if isinstance(exc, WorkerLimit):
        key = {"time": "briefing.too_slow", "memory": "briefing.too_much_memory"}.get(exc.kind, "briefing.crashed")
        return Msg(key, limit=Num(exc.limit, 0)) if key != "briefing.crashed" else Msg(key)
    if isinstance(exc, (ExportError, ValueError, OSError)):
        return exc
    import logging
    logging.getLogger("povdash").error("briefing pack failed: %s: %s", type(exc).__name__, exc)
    return Msg("briefing.crashed")


def build_demo_pack(year: int | None = None, province: str = "20", lang: str = "vi", **kw) -> Pack:
    ds = load_demo(province)
    if year is None:
        year = default_year(level_table(ds), kw.get("cfg") or default_targets(province))
    return build_pack(ds, year, lang, **kw)


def _footer(pack: Pack, page: int) -> str:
    ds = pack.dataset
    return t("briefing.footer", pack.lang, source=ds.title, version=ds.version, date=fmt_date(pack.date, pack.lang),
             page=page, pages=len(pack.slides))


# ---- PowerPoint -----------------------------------------------------------------------------


def write_pptx(pack: Pack) -> bytes:
    """The deck as PPTX: titles in title placeholders, all other text in text boxes and
    tables (editable), charts and maps as PNG pictures."""
    from pptx import Presentation
    from pptx.dml.color import RGBColor
    from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
    from pptx.util import Emu, Inches, Pt

    align = {"left": PP_ALIGN.LEFT, "center": PP_ALIGN.CENTER, "right": PP_ALIGN.RIGHT}
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(SLIDE_W), Inches(SLIDE_H)
    prs.core_properties.title = pack.slides[0].title
    prs.core_properties.language = "vi-VN" if pack.lang == "vi" else "en-GB"
    title_only = prs.slide_layouts[5]
    lang_tag = "vi-VN" if pack.lang == "vi" else "en-GB"

    def style_run(run, p: Para) -> None:
        run.font.name = FONT_NAME
        run.font.size = Pt(p.size)
        run.font.bold = p.bold
        run.font.color.rgb = RGBColor.from_string(p.color)
        run.font._rPr.set("lang", lang_tag)

    def fill_frame(tf, paras, wrap=True) -> None:
        tf.word_wrap = wrap
        for i, p in enumerate(paras):
            para = tf.paragraphs[0] if i == 0 else tf.add_paragraph()
            para.alignment = align[p.align]
            run = para.add_run()
            run.text = p.text
            style_run(run, p)

    def textbox(slide, box: TextBox) -> None:
        shp = slide.shapes.add_textbox(Inches(box.x), Inches(box.y), Inches(box.w), Inches(box.h))
        shp.name = box.name
        tf = shp.text_frame
        tf.margin_left = tf.margin_right = Inches(0.15)
        tf.margin_top = tf.margin_bottom = Inches(0.1)
        if box.fill:
            shp.fill.solid()
            shp.fill.fore_color.rgb = RGBColor.from_string(box.fill)
        if box.border:
            shp.line.color.rgb = RGBColor.from_string(box.border)
            shp.line.width = Pt(1.5)
        fill_frame(tf, box.paras)

    for n, s in enumerate(pack.slides, start=1):
        slide = prs.slides.add_slide(title_only)
        title = slide.shapes.title
        cover = s.kind == "cover"
        title.left, title.top = Inches(MARGIN), Inches(2.2 if cover else 0.3)
        title.width, title.height = Inches(SLIDE_W - 2 * MARGIN - (2.6 if pack.dataset.is_illustrative else 0)), Inches(
            1.2 if cover else 0.75)
        title.text_frame.clear()
        title.text_frame.word_wrap = True
        title.text_frame.vertical_anchor = MSO_ANCHOR.TOP if not cover else MSO_ANCHOR.BOTTOM
        para = title.text_frame.paragraphs[0]
        para.alignment = PP_ALIGN.LEFT
        run = para.add_run()
        run.text = s.title
        style_run(run, Para(s.title, 36 if cover else 28, bold=True))
        if s.subtitle:
            textbox(slide, TextBox(MARGIN, 3.45 if cover else 0.98, SLIDE_W - 2 * MARGIN, 0.5,
                                   (Para(s.subtitle, 22 if cover else 17, color=GREY),), name="subtitle"))
        for item in s.items:
            if isinstance(item, TextBox):
                textbox(slide, item)
            elif isinstance(item, Picture):
                pic = slide.shapes.add_picture(io.BytesIO(item.png), Inches(item.x), Inches(item.y),
                                               Inches(item.w), Inches(item.h))
                pic.name = item.name
            elif isinstance(item, TableBox):
                total = sum(item.col_widths)
                shape = slide.shapes.add_table(len(item.rows) + 1, len(item.header), Inches(item.x), Inches(item.y),
                                               Inches(item.w), Inches(item.h))
                table = shape.table
                for c, w in enumerate(item.col_widths):
                    table.columns[c].width = Emu(int(Inches(item.w) * w / total))
                for r in range(len(item.rows) + 1):
                    table.rows[r].height = Inches(item.heights[r])
                    for c in range(len(item.header)):
                        cell = table.cell(r, c)
                        text = item.header[c] if r == 0 else item.rows[r - 1][c]
                        bg, fg = ("E8E8E8", INK) if r == 0 else item.fills.get((r - 1, c), ("FFFFFF", INK))
                        cell.fill.solid()
                        cell.fill.fore_color.rgb = RGBColor.from_string(bg)
                        cell.margin_left = cell.margin_right = Pt(_CELL_PAD)
                        cell.margin_top = cell.margin_bottom = Pt(_CELL_PAD / 2)
                        cell.vertical_anchor = MSO_ANCHOR.MIDDLE
                        cell.text_frame.clear()
                        a = "left" if r == 0 or not item.align else item.align[c]
                        fill_frame(cell.text_frame, [Para(text, item.size, bold=r == 0, color=fg, align=a)])
        if pack.dataset.is_illustrative:
            textbox(slide, TextBox(SLIDE_W - MARGIN - 2.5, 0.32, 2.5, 0.5,
                                   (Para(t("banner.illustrative_stamp", pack.lang), 16, True, STAMP_FG, "center"),),
                                   fill=STAMP_BG, border=STAMP_FG, name="illustrative_stamp"))
        textbox(slide, TextBox(MARGIN, 6.98, SLIDE_W - 2 * MARGIN, 0.4,
                               (Para(_footer(pack, n), 11, color=GREY),), name="footer"))
    buf = io.BytesIO()
    prs.save(buf)
    return buf.getvalue()


# ---- PDF ----------------------------------------------------------------------------------------


_CELL_PAD = 4.0  # points
_FALLBACK_FONTS = {"NotoSansMath": "NotoSansMath-Symbols.ttf", "NotoSansSymbols2": "NotoSansSymbols2-Shapes.ttf"}


def _register_fonts() -> tuple[str, str, dict[str, set[int]]]:
    """Register the shipped fonts with reportlab; also returns, per fallback font, the
    characters it covers that Noto Sans lacks (− ≤ ≥ ○ …)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    global _COVERAGE
    if "NotoSans" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(TTFont("NotoSans", str(FONT_FILES["regular"])))
        pdfmetrics.registerFont(TTFont("NotoSans-Bold", str(FONT_FILES["bold"])))
        pdfmetrics.registerFontFamily("NotoSans", normal="NotoSans", bold="NotoSans-Bold",
                                      italic="NotoSans", boldItalic="NotoSans-Bold")
        for name, file in _FALLBACK_FONTS.items():
            pdfmetrics.registerFont(TTFont(name, str(FONT_FILES["regular"].parent / file)))
    if _COVERAGE is None:
        main = set(pdfmetrics.getFont("NotoSans").face.charToGlyph)
        _COVERAGE = {"NotoSans": main}
        for name in _FALLBACK_FONTS:
            _COVERAGE[name] = set(pdfmetrics.getFont(name).face.charToGlyph) - main
    return "NotoSans", "NotoSans-Bold", _COVERAGE


_COVERAGE: dict[str, set[int]] | None = None


def pdf_markup(text: str) -> str:
    """Paragraph markup of plain text: escaped, and each character Noto Sans lacks set in
    the shipped fallback font that has it (reportlab does no font fallback by itself)."""
    from xml.sax.saxutils import escape

    cov = _register_fonts()[2]
    out = []
    for ch in text:
        e = escape(ch)
        if ord(ch) > 127 and ord(ch) not in cov["NotoSans"]:
            font = next((f for f in _FALLBACK_FONTS if ord(ch) in cov[f]), None)
            if font:
                e = f'<font name="{font}">{e}</font>'
        out.append(e)
    return "".join(out)


def _pdf_para(text: str, style):
    from reportlab.platypus import Paragraph

    return Paragraph(pdf_markup(text), style)


def _cell_style(size: float, bold: bool = False, fg: str = INK, align: str = "left"):
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle

    regular, bold_font = _register_fonts()[:2]
    return ParagraphStyle("cell", fontName=bold_font if bold else regular, fontSize=size, leading=size * 1.2,
                          bulletFontName=regular,
                          textColor=colors.HexColor("#" + fg),
                          alignment={"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}[align])


def write_pdf(pack: Pack) -> bytes:
    """The same slides as a PDF (one 16:9 page per slide, Noto Sans embedded)."""
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import inch
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas
    from reportlab.platypus import Table, TableStyle

    regular, bold = _register_fonts()[:2]
    W, H = SLIDE_W * inch, SLIDE_H * inch
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=(W, H), pageCompression=1, initialFontName=regular)
    c.setTitle(pack.slides[0].title)
    c.setAuthor(pack.footer_source)
    c.setSubject(_footer(pack, 1))
    aligns = {"left": TA_LEFT, "center": TA_CENTER, "right": TA_RIGHT}

    def style(p: Para) -> ParagraphStyle:
        return ParagraphStyle("p", fontName=bold if p.bold else regular, fontSize=p.size, leading=p.size * 1.25,
                              textColor=colors.HexColor("#" + p.color), alignment=aligns[p.align],
                              spaceAfter=p.size * 0.35, bulletFontName=regular)

    def draw_box(box: TextBox) -> None:
        x, top = box.x * inch, H - box.y * inch
        if box.fill or box.border:
            if box.fill:
                c.setFillColor(colors.HexColor("#" + box.fill))
            if box.border:
                c.setStrokeColor(colors.HexColor("#" + box.border))
                c.setLineWidth(1.5)
            c.rect(x, top - box.h * inch, box.w * inch, box.h * inch, fill=1 if box.fill else 0,
                   stroke=1 if box.border else 0)
        y = top - 0.1 * inch
        for p in box.paras:
            para = _pdf_para(p.text, style(p))
            _, h = para.wrap(box.w * inch - 0.3 * inch, box.h * inch)
            para.drawOn(c, x + 0.15 * inch, y - h)
            y -= h + p.size * 0.35

    for n, s in enumerate(pack.slides, start=1):
        cover = s.kind == "cover"
        tw = SLIDE_W - 2 * MARGIN - (2.6 if pack.dataset.is_illustrative else 0)
        head = _pdf_para(s.title, style(Para(s.title, 36 if cover else 28, bold=True)))
        _, h = head.wrap((tw - 0.3) * inch, 2 * inch)
        if cover:
            head.drawOn(c, (MARGIN + 0.15) * inch, H - 3.35 * inch)
        else:
            head.drawOn(c, (MARGIN + 0.15) * inch, H - 0.4 * inch - h)
        if s.subtitle:
            draw_box(TextBox(MARGIN, 3.45 if cover else 0.98, SLIDE_W - 2 * MARGIN, 0.5,
                             (Para(s.subtitle, 22 if cover else 17, color=GREY),)))
        for item in s.items:
            if isinstance(item, TextBox):
                draw_box(item)
            elif isinstance(item, Picture):
                c.drawImage(ImageReader(io.BytesIO(item.png)), item.x * inch, H - (item.y + item.h) * inch,
                            item.w * inch, item.h * inch)
            elif isinstance(item, TableBox):
                total = sum(item.col_widths)
                data = [[_pdf_para(x, _cell_style(item.size, bold=True)) for x in item.header]]
                for r_i, row in enumerate(item.rows):
                    data.append([_pdf_para(v, _cell_style(item.size, fg=item.fills.get((r_i, c_i), (None, INK))[1],
                                                          align=item.align[c_i] if item.align else "left"))
                                 for c_i, v in enumerate(row)])
                ts = [("FONT", (0, 0), (-1, -1), regular, item.size),
                      ("GRID", (0, 0), (-1, -1), 0.5, colors.HexColor("#999999")),
                      ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#E8E8E8")),
                      ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                      ("LEFTPADDING", (0, 0), (-1, -1), _CELL_PAD), ("RIGHTPADDING", (0, 0), (-1, -1), _CELL_PAD),
                      ("TOPPADDING", (0, 0), (-1, -1), _CELL_PAD), ("BOTTOMPADDING", (0, 0), (-1, -1), _CELL_PAD)]
                for (r_i, c_i), (bg, _) in item.fills.items():
                    ts.append(("BACKGROUND", (c_i, r_i + 1), (c_i, r_i + 1), colors.HexColor("#" + bg)))
                tbl = Table(data, colWidths=[item.w * inch * w / total for w in item.col_widths],
                            rowHeights=[h * inch for h in item.heights])
                tbl.setStyle(TableStyle(ts))
                _, th = tbl.wrap(item.w * inch, H)
                tbl.drawOn(c, item.x * inch, H - item.y * inch - th)
        if pack.dataset.is_illustrative:
            draw_box(TextBox(SLIDE_W - MARGIN - 2.5, 0.32, 2.5, 0.5,
                             (Para(t("banner.illustrative_stamp", pack.lang), 16, True, STAMP_FG, "center"),),
                             fill=STAMP_BG, border=STAMP_FG))
        draw_box(TextBox(MARGIN, 6.98, SLIDE_W - 2 * MARGIN, 0.4, (Para(_footer(pack, n), 11, color=GREY),)))
        c.showPage()
    c.save()
    return buf.getvalue()


def write_pack(pack: Pack, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    pptx, pdf = out_dir / f"{pack.file_stem()}.pptx", out_dir / f"{pack.file_stem()}.pdf"
    pptx.write_bytes(pack.pptx)
    pdf.write_bytes(pack.pdf)
    return pptx, pdf
