"""Publication images of charts and maps, rendered on the server (no Streamlit).

A figure is *framed* for a slide (:func:`frame_figure`): a title, a subtitle stating
indicator, year and poverty standard, a footer with source, dataset version and date,
and the 'Số liệu minh họa' stamp when the data are illustrative.  It is then rendered
by plotly's static export (kaleido 1.x driving the system Chromium) to PNG or SVG, so
the file is the same whatever the viewer's browser.

Offline: the page kaleido renders in loads plotly.js from the installed ``plotly``
package (a ``file:`` URL), MathJax is disabled (kaleido would otherwise take it from a
CDN), and geo traces get the embedded empty topojson of :mod:`geo.choropleth` instead
of plotly's CDN base map.

Font: Noto Sans (Latin + Vietnamese subset, OFL) ships in ``static/fonts`` (the browser gets
it from there too, see ``.streamlit/config.toml``); the
exporting Chromium sees it through a fontconfig file that adds that folder to the
system's fonts, so diacritics render the same with or without ``fonts-noto-core``.
"""
from __future__ import annotations

import asyncio
import atexit
import copy
import datetime as dt
import os
import struct
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import plotly.graph_objects as go

from povdata.charts import FONT
from povdata.i18n import t

CHROMIUM = "/usr/bin/chromium"
#: shipped fonts; also served to the browser by Streamlit (``server.enableStaticServing``)
FONT_DIR = Path(__file__).resolve().parents[1] / "static" / "fonts"
FONT_FILES = {"regular": FONT_DIR / "NotoSans-Regular.ttf", "bold": FONT_DIR / "NotoSans-Bold.ttf"}
#: 16:9 slide at scale 1; PNG scale 2 and 3 multiply it.
SLIDE_SIZE = (1920, 1080)
SCALES = (1, 2, 3)
FORMATS = ("png", "svg")
MIME = {"png": "image/png", "svg": "image/svg+xml"}
RENDER_TIMEOUT_S = 120
#: base text size of a framed 1080-px-high image; the smallest text is 20 px, legible at 3 m
BASE_FONT_PX = 24

_STAMP_BG, _STAMP_FG = "#fff3cd", "#8a4b00"
# at most two Chromium processes render at once (2-core machine; each render is short)
_RENDER_SLOTS = threading.BoundedSemaphore(2)


class ExportError(RuntimeError):
    """The image could not be rendered (no Chromium, or the render failed)."""


# ---- frame -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Frame:
    """Text around a chart on a slide."""

    title: str
    subtitle: str = ""
    footer: str = ""
    #: the 'Số liệu minh họa' label, or None for published/imported data
    stamp: str | None = None
    extra: dict = field(default_factory=dict)


def fmt_date(d: dt.date, lang: str = "vi") -> str:
    """``23/11/2025`` (vi) or ``2025-11-23`` (en)."""
    return d.strftime("%d/%m/%Y") if lang == "vi" else d.isoformat()


def make_frame(title: str, *, indicator: str, year: int | str, standard: str, source: str, version: str,
               illustrative: bool, lang: str = "vi", date: dt.date | None = None) -> Frame:
    """A frame whose subtitle states indicator, year and standard, and whose footer states
    source, dataset version and date (today unless given)."""
    sub = t("export.subtitle", lang, indicator=indicator, year=year, standard=standard)
    foot = t("export.footer", lang, source=source, version=version, date=fmt_date(date or dt.date.today(), lang))
    return Frame(title=title, subtitle=sub, footer=foot,
                 stamp=t("banner.illustrative_stamp", lang) if illustrative else None)


def standards_text(standard_ids, lang: str = "vi") -> str:
    """The poverty standard of a figure; for a series spanning several, a pointer to the
    legend, which names each segment's standard."""
    from povdata.standards import standard_label

    ids = [x for x in dict.fromkeys(standard_ids) if isinstance(x, str) and x]
    if not ids:
        return "–"
    return standard_label(ids[0], lang) if len(ids) == 1 else t("export.standards_legend", lang, n=len(ids))


def _stamp_texts() -> set[str]:
    return {t("banner.illustrative_stamp", lang) for lang in ("vi", "en")}


def frame_figure(fig: go.Figure, frame: Frame, width: int | None = SLIDE_SIZE[0],
                 height: int = SLIDE_SIZE[1], text_scale: float | None = None,
                 container_width: int | None = None) -> go.Figure:
    """A copy of ``fig`` laid out for a slide of ``width`` × ``height`` px (``width`` None:
    as wide as its container, for presentation mode in the browser).

    Text is enlarged to a base of :data:`BASE_FONT_PX` × ``text_scale`` (default height/1080;
    nothing below 20 px × ``text_scale``).  A slide is 1920 px wide at scale 1, i.e. 144 px per
    inch of a 13.33-inch slide: images placed on a slide at that density keep these sizes
    (24 px = 12 pt).  An empty ``frame.title`` leaves the title to the slide: the subtitle
    then heads the image.  ``container_width``: with ``width`` None, the expected width in px
    (for line breaking; default 16:9 of ``height``).  An illustrative stamp already on ``fig`` is kept even if the frame
    has none: a framed image can never lose the label.
    """
    out = go.Figure(copy.deepcopy(fig.to_dict()))
    s = text_scale if text_scale is not None else height / SLIDE_SIZE[1]
    base = BASE_FONT_PX * s
    k = base / 14.0  # the dashboard's charts use a 14 px base
    stamps = _stamp_texts()
    anns = list(out.layout.annotations or [])
    had_stamp = next((a.text for a in anns if a.text in stamps), None)
    stamp = frame.stamp or had_stamp
    kept = []
    for a in anns:
        if a.text in stamps:
            continue
        a = go.layout.Annotation(a)
        a.font.size = max((a.font.size or 14) * k, 20 * s)
        kept.append(a)
    # text inside traces (labels on maps, values on bars and lines)
    for tr in out.data:
        tf = getattr(tr, "textfont", None)
        if tf is not None and tr.text is not None:
            tf.size = max((tf.size or 14) * k, 20 * s)
    is_map = any(tr.type in ("choropleth", "scattergeo") for tr in out.data)
    m = out.layout.margin
    full_w = width or container_width or round(height * 16 / 9)
    footer_lines = _wrap(frame.footer, (full_w - 72 * s) / (20 * s * _EM)) if frame.footer else []
    stamp_w = (len(stamp) * 26 * _EM + 60) * s if stamp else 0
    sub_size = 28 if frame.title else 26
    sub_lines = _wrap(frame.subtitle, (full_w - 72 * s - stamp_w) / (sub_size * s * _EM)) if frame.subtitle else []
    title_lines = _wrap(frame.title, (full_w - 72 * s - stamp_w) / (44 * s * _EM)) if frame.title else []
    top = ((150 + 56 * max(len(title_lines) - 1, 0) if frame.title else 40) + 38 * max(len(sub_lines), 1)) * s
    legend_below = (not is_map and out.layout.legend.orientation == "h"
                    and (out.layout.legend.y is not None and out.layout.legend.y < 0))
    left = 20 * s if is_map else max((m.l or 60) * k, 90 * s)
    right = 40 * s if is_map else max((m.r or 20) * k, 40 * s)
    plot_w = full_w - left - right
    axis_space = 120 * s  # x tick labels and axis title under the plot
    legend_rows = _legend_rows([tr.name or "" for tr in out.data if tr.showlegend is not False and tr.name],
                               plot_w, 22 * s) if legend_below else 0
    footer_band = (30 + 28 * len(footer_lines)) * s
    bottom = footer_band + (axis_space + (10 + 32 * legend_rows) * s if legend_below else (0 if is_map else axis_space))
    plot_h = height - top - bottom
    sub = "<br>".join(sub_lines)
    if frame.title:
        title = {"text": "<br>".join(f"<b>{x}</b>" for x in title_lines), "font": {"size": 44 * s, "family": FONT},
                 "subtitle": {"text": sub, "font": {"size": sub_size * s, "color": "#444", "family": FONT}}}
    else:  # the slide around the image carries the title: the subtitle line heads the image
        title = {"text": sub, "font": {"size": sub_size * s, "color": "#444", "family": FONT}}
    out.update_layout(
        width=width, height=height, autosize=width is None,
        font={"family": FONT, "size": base, "color": "#1a1a1a"},
        margin={"t": top, "b": bottom, "l": left, "r": right, "pad": 4},
        title={**title, "x": 0.02 if width else 0.0, "xanchor": "left", "xref": "container",
               "y": 1 - 36 * s / height, "yanchor": "top", "yref": "container"},
        paper_bgcolor="white",
    )
    out.layout.annotations = kept
    if is_map:
        _map_legend(out, plot_w, plot_h, s)
        out.update_layout(dragmode=False)
    else:
        out.update_layout(legend={"font": {"size": 22 * s}})
        if legend_below:
            out.update_layout(legend={"y": -axis_space / plot_h, "yanchor": "top"})
        out.update_xaxes(title_standoff=8 * s)
        ys = [float(v) for tr in fig.data if tr.type == "scatter" and tr.y is not None
              for v in pd.to_numeric(pd.Series(list(tr.y)), errors="coerce").dropna()]
        if ys and min(ys) >= 0:  # head-room for the value labels above the highest point
            out.update_yaxes(range=[0, max(ys) * 1.15], autorange=False)
    if footer_lines:
        out.add_annotation(text="<br>".join(footer_lines), xref="paper", yref="paper", x=0, xanchor="left",
                           y=-(bottom - 16 * s) / plot_h, yanchor="bottom", showarrow=False, align="left",
                           font={"size": 20 * s, "color": "#444"}, xshift=-(left - 36 * s))
    if stamp:
        out.add_annotation(text=f"<b>{stamp}</b>", xref="paper", yref="paper", x=1, xanchor="right",
                           y=1 + (top - 30 * s) / plot_h, yanchor="top", showarrow=False,
                           xshift=right - 36 * s,
                           font={"size": 26 * s, "color": _STAMP_FG}, bgcolor=_STAMP_BG, bordercolor=_STAMP_FG,
                           borderwidth=2, borderpad=8 * s)
    return out


_EM = 0.55  # average advance of Noto Sans, in ems (for line breaking)


def _legend_rows(names: list[str], avail_px: float, font_px: float) -> int:
    """Rows a horizontal legend takes (entries flow left to right)."""
    rows, used = 1, 0.0
    for n in names:
        w = len(n) * font_px * _EM + 3.2 * font_px
        if used and used + w > avail_px:
            rows, used = rows + 1, 0.0
        used += w
    return rows if names else 0


def _wrap(text: str, max_chars: float) -> list[str]:
    """Lines of at most ``max_chars``, broken at ' · ' first, then at spaces."""
    import textwrap

    n = max(int(max_chars), 20)
    lines: list[str] = []
    for part in text.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= n:
            lines[-1] += " · " + part
        else:
            lines += textwrap.wrap(part, n) or [""]
    return lines


def _map_legend(fig: go.Figure, plot_w: float, plot_h: float, s: float) -> None:
    """Replace a choropleth's legend (tiny swatches) by large swatches and labels drawn
    right of the map, readable from the back of a meeting room."""
    items = []
    for tr in fig.data:
        if tr.type == "choropleth" and tr.showlegend is not False and tr.name:
            items.append((tr.colorscale[0][1], tr.name))
            tr.showlegend = False
    fig.update_layout(showlegend=False)
    row, box = 58 * s, 40 * s
    if plot_w >= 1.6 * plot_h:  # wide: legend right of the map, centred
        fig.update_geos(domain={"x": [0.0, 0.68], "y": [0.0, 1.0]})
        x0, y0 = 0.71, 0.5 + len(items) * row / 2 / plot_h
    else:  # narrow (half a slide): legend under the map
        band = (len(items) * row + 10 * s) / plot_h
        fig.update_geos(domain={"x": [0.0, 1.0], "y": [band, 1.0]})
        x0, y0 = 0.02, band - 10 * s / plot_h
    for i, (colour, name) in enumerate(items):
        yt = y0 - i * row / plot_h
        fig.add_shape(type="rect", xref="paper", yref="paper", x0=x0, x1=x0 + box / plot_w,
                      y0=yt - box / plot_h, y1=yt, fillcolor=colour, line={"color": "#4d4d4d", "width": 1})
        fig.add_annotation(text=name, xref="paper", yref="paper", x=x0 + (box + 16 * s) / plot_w, xanchor="left",
                           y=yt - box / 2 / plot_h, yanchor="middle", showarrow=False,
                           font={"size": 26 * s, "color": "#1a1a1a"})


# ---- rendering ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageJob:
    figure: go.Figure
    fmt: str = "png"
    scale: float = 1
    width: int = SLIDE_SIZE[0]
    height: int = SLIDE_SIZE[1]


_FONTCONFIG_LOCK = threading.Lock()


def _fontconfig_file() -> str:
    """A fontconfig file: the system's configuration plus the shipped fonts.

    Written once per process under a lock, through a temporary file unique to the writer
    (several sessions exporting at once, in threads or processes, used to race on one
    pid-named temporary file: FileNotFoundError under load)."""
    path = Path(tempfile.gettempdir()) / f"povdata-fonts-{os.getuid() if hasattr(os, 'getuid') else 0}.conf"
    text = ('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
            '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n'
            f"  <dir>{FONT_DIR}</dir>\n</fontconfig>\n")
    with _FONTCONFIG_LOCK:
        try:
            current = path.read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text:
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
    return str(path)


def ensure_browser() -> str:
    """Point kaleido at the system Chromium (``BROWSER_PATH``) and at the shipped fonts."""
    os.environ.setdefault("BROWSER_PATH", CHROMIUM)
    if "FONTCONFIG_FILE" not in os.environ:  # not at every render: setdefault evaluated its argument each time
        os.environ["FONTCONFIG_FILE"] = _fontconfig_file()
    path = os.environ["BROWSER_PATH"]
    if not Path(path).exists():
        raise ExportError(f"Chromium not found at {path} (install the Debian package 'chromium').")
    return path


def page_generator():
    """kaleido's render page with local scripts only: plotly.js from the plotly package,
    no MathJax (its default is a CDN URL)."""
    import plotly
    from kaleido import PageGenerator

    js = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
    return PageGenerator(plotly=str(js), mathjax=False)


def _topojson() -> str:
    from geo.choropleth import OFFLINE_CONFIG

    return str(OFFLINE_CONFIG["topojsonURL"])


#: a renderer left unused this long closes its Chromium (memory back); the next export starts one again
RENDERER_IDLE_S = 600.0


class _Renderer:
    """One Chromium (kaleido, two tabs) for every image export of the process, started at the
    first export and kept: a chart download no longer waits for a browser to start.  It lives
    on an event loop of its own thread; exports from any thread are scheduled on it
    (``run_coroutine_threadsafe``), at most two at once.  After a failed render it is closed,
    and the next export starts a fresh one; unused for :data:`RENDERER_IDLE_S` it closes
    itself; a forked child (an import worker) never uses its parent's."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._kaleido: Any = None  # kaleido.Kaleido, opened on the loop's thread
        self._idle: asyncio.TimerHandle | None = None
        self.starts = 0  # how many Chromiums this process started (tests, benchmarks)

    def _open(self):
        import kaleido

        loop = asyncio.new_event_loop()
        threading.Thread(target=loop.run_forever, name="povdata-renderer", daemon=True).start()

        async def start():
            k = kaleido.Kaleido(n=2, timeout=RENDER_TIMEOUT_S, page_generator=page_generator())
            await k.__aenter__()
            return k

        try:
            k = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=RENDER_TIMEOUT_S)
        except BaseException:
            loop.call_soon_threadsafe(loop.stop)
            raise
        self._pid, self._loop, self._kaleido = os.getpid(), loop, k
        self.starts += 1

    def close(self) -> None:
        """Close the Chromium (if this process opened it) and stop its loop."""
        with self._lock:
            self._close()

    def _close(self) -> None:
        loop, k, mine = self._loop, self._kaleido, self._pid == os.getpid()
        self._pid = self._loop = self._kaleido = self._idle = None
        if loop is None or k is None or not mine:
            return
        try:
            asyncio.run_coroutine_threadsafe(k.__aexit__(None, None, None), loop).result(timeout=30)
        except BaseException:  # noqa: BLE001 — closing a browser that already died
            pass
        loop.call_soon_threadsafe(loop.stop)

    def _idle_close(self) -> None:  # on the loop's thread
        threading.Thread(target=self.close, daemon=True).start()

    def render(self, jobs: list[ImageJob], topo: str, on_image: Callable[[int], None] | None = None) -> list[bytes]:
        with self._lock:
            if self._pid != os.getpid():  # first export, or a child forked from a process that had one
                self._pid = self._loop = self._kaleido = self._idle = None
                self._open()
            loop, k = self._loop, self._kaleido
            assert loop is not None and k is not None  # just opened (or kept from an earlier export)
            if self._idle is not None:
                loop.call_soon_threadsafe(self._idle.cancel)

        ready = [0]

        async def one(j: ImageJob) -> bytes:
            out = await k.calc_fig(j.figure, opts={"format": j.fmt, "width": j.width, "height": j.height,
                                                   "scale": j.scale}, topojson=topo)
            ready[0] += 1
            if on_image is not None:
                on_image(ready[0])
            return out

        async def all_of() -> list[bytes]:
            return list(await asyncio.gather(*(one(j) for j in jobs)))

        try:
            out = asyncio.run_coroutine_threadsafe(all_of(), loop).result(timeout=RENDER_TIMEOUT_S * 2)
        except BaseException:
            with self._lock:
                if self._loop is loop:
                    self._close()
            raise
        with self._lock:
            if self._loop is loop:
                def arm() -> None:
                    self._idle = loop.call_later(RENDERER_IDLE_S, self._idle_close)
                loop.call_soon_threadsafe(arm)
        return out


RENDERER = _Renderer()
atexit.register(RENDERER.close)


def render_images(jobs: list[ImageJob], on_image: Callable[[int], None] | None = None) -> list[bytes]:
    """Render figures with the process's one Chromium (:data:`RENDERER`, two tabs); bytes
    in the order of ``jobs``.  ``on_image(n)`` is told each time another image is ready
    (``n`` of them so far), from the renderer's thread."""
    if not jobs:
        return []
    ensure_browser()
    topo = _topojson()
    for j in jobs:
        if j.fmt not in FORMATS:
            raise ValueError(f"unknown image format {j.fmt!r}; expected one of {FORMATS}")
    with _RENDER_SLOTS:
        try:
            return RENDERER.render(jobs, topo, on_image)
        except Exception as exc:
            raise ExportError(f"image export failed: {exc}") from exc


def figure_image(fig: go.Figure, fmt: str = "png", scale: float = 1, width: int = SLIDE_SIZE[0],
                 height: int = SLIDE_SIZE[1]) -> bytes:
    """One figure as PNG or SVG bytes (``width`` × ``height`` × ``scale`` pixels for PNG)."""
    return render_images([ImageJob(fig, fmt, scale, width, height)])[0]


def framed_image(fig: go.Figure, frame: Frame, fmt: str = "png", scale: float = 1) -> bytes:
    """``fig`` framed for a 16:9 slide and rendered (PNG at 1920·scale × 1080·scale, or SVG)."""
    return figure_image(frame_figure(fig, frame), fmt, scale)


def png_size(data: bytes) -> tuple[int, int]:
    """(width, height) from a PNG header."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    return struct.unpack(">II", data[16:24])


def export_file_name(name: str, fmt: str, scale: float = 1) -> str:
    """``ban-do-huyen-2025@2x.png``; SVG has no scale."""
    return f"{name}.svg" if fmt == "svg" else (f"{name}.png" if scale == 1 else f"{name}@{scale:g}x.png")
