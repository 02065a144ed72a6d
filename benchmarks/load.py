"""Load test: many concurrent users of the map page against a real ``streamlit run`` server.

Run from the project root::

    .venv/bin/python benchmarks/load.py                      # 30 sessions x 10 minutes (the acceptance run)
    .venv/bin/python benchmarks/load.py --quick              # smoke run: 5 sessions x 1 minute
    .venv/bin/python benchmarks/load.py --sweep 10,30,60 --minutes 3   # capacity: one fresh server per count
    .venv/bin/python benchmarks/load.py --rev HEAD           # a committed revision (git archive), not the working tree

The script starts its own server (``python -m streamlit run dashboard.py --server.port <free>
--server.address 127.0.0.1 --server.headless true``, cwd = the app directory,
``POVDASH_DATA_DIR`` = an empty temporary directory so the embedded demo data is shown),
waits for ``/_stcore/health``, drives the sessions, and stops the server (its process group)
at the end.  All traffic goes to 127.0.0.1; environment proxies are ignored.

The client speaks Streamlit's own websocket protocol (``/_stcore/stream``, protobuf
``BackMsg`` / ``ForwardMsg`` from ``streamlit.proto``), as the browser does, so the CPU of
the 2-core machine goes to the server rather than to 30 Chromium renderers.  Per session
(= one browser tab), each loop is one visit:

1. ``open``     : connect a new websocket (a page load: a new Streamlit session) and send
                  ``rerun_script`` with ``page_name="ban-do"`` and no query string, as the
                  browser does for ``/ban-do``;
2. ``year``     : pick another year among the map's year-slider steps and send what the browser sends
                  when the hand stops (the hidden ``map_year_sync`` text box, ``"<year>|<n>"``), as the
                  widget state (``string_value`` = the option's label, the widget id taken from
                  the element the server sent), with the current URL's query string;
3. ``district`` : pick a district among the shapes of the map the server sent (the plotly
                  spec's ``locations``) and rerun with ``unit=<code>`` in the query string: the
                  run that a click produces after its ``st.rerun()``;
4. ``commune``  : likewise, a commune among the shapes of the district's map;
5. ``province`` : ``unit=<province>`` (what the breadcrumb button does), then close the socket.

Between steps the user "reads" for a random think time (``--think 5 15``: uniform, seconds;
a click every ~10 s is a busy user of a dashboard).  After the last step and its think time the
socket is closed and the next visit starts at once, so N sessions are connected nearly all the time.
Like the browser, the client keeps the server's cacheable messages and lists their hashes in
``cached_message_hashes`` (the server then sends references), takes the URL from
``page_info_changed``, and keeps ``page_script_hash`` from ``new_session``.  It sends only the
widget state it changes: Streamlit keeps every other widget's value from the previous run, so
the script computes the same thing as for a browser that re-sends them all.

Rerun time = send of ``rerun_script`` -> ``script_finished`` (FINISHED_SUCCESSFULLY; a
FINISHED_EARLY_FOR_RERUN from ``st.rerun()`` is waited through).  Errors: an ``exception``
element, an error alert (``st.error``), a compile error, ``page_not_found``, a closed
socket, a failed connection, no ``script_finished`` within 30 s, or a view that is not the
one asked for (the URL after the run must hold the year / unit requested).

Server memory: RSS (VmRSS from /proc, the server and its descendants) at start (idle), after
one warm-up visit, every ``--sample-every`` seconds during the run, at the end of the load and
after ``--cooldown`` idle seconds, next to Streamlit's own gauges from ``/_stcore/metrics`` (bytes
held by each ``st.cache_*`` and the media store, active sessions; the scrape starts a few
thread-pool threads in the server), so caches filling up can be told from other growth.
Trend: least-squares slope (MB/min) over the last half of the load, with its standard error.
Verdict: PASS when errors == 0 and memory is not growing.
"Growing" = the RSS at the end of the load is more than 5 % above the RSS at half-time, or the
last-half slope is above ``--mem-slope-tol`` MB/min (default 1.0) *and* more than two standard
errors above zero.  The RSS of a loaded server wobbles by about +-10 MB as runs start and end, so
in a 10-minute run the slope's standard error is 1-1.5 MB/min: a leak below ~3 MB/min cannot be
told from noise (run longer, ``--minutes 30``, to narrow it).  Memory is only judged for runs of
at least 4 minutes (caches and the store of disconnected sessions fill in the first minutes).
"Comfortable": errors == 0 and p95 rerun time below ``--comfortable-p95`` (2 s).

Results: ``benchmarks/results/load.json`` (``--quick``: ``load_quick.json``; ``--sweep``:
``load_sweep.json``; or ``--out``).  The exit code is 0 even on FAIL unless ``--strict``:
this is a benchmark, not a test.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
MAP_PAGE = "ban-do"
STEPS = ("open", "year", "district", "commune", "province")
RERUN_TIMEOUT = 30.0
CLK_TCK = os.sysconf("SC_CLK_TCK")

try:  # the protocol comes with the installed streamlit (run this with the project's .venv)
    from streamlit.proto.Alert_pb2 import Alert
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from websockets.asyncio.client import connect as ws_connect
    from websockets.exceptions import ConnectionClosed
except ImportError as exc:  # pragma: no cover
    sys.exit(f"load.py needs streamlit and websockets (run it with .venv/bin/python): {exc}")

FINISHED_OK = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)


# ---- /proc: memory and CPU of the server (no psutil in the venv) --------------------------------

def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/<pid>/stat after the command name (state is [0], ppid [1], utime [11])."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2:].split()


def descendants(pid: int) -> list[int]:
    """``pid`` and all its descendant processes (walks /proc once)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            f = _stat_fields(int(entry))
            if f:
                children.setdefault(int(f[1]), []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _status_value(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def tree_rss_mb(pids: list[int]) -> float:
    return sum(_status_value(p, "VmRSS") for p in pids) / 1024


def tree_cpu_seconds(pids: list[int]) -> float:
    total = 0
    for p in pids:
        f = _stat_fields(p)
        if f:
            total += int(f[11]) + int(f[12])
    return total / CLK_TCK


def machine_cpu() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine."""
    vals = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)
    return sum(vals) - idle, sum(vals)


# ---- the server -----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Server:
    """``streamlit run dashboard.py`` in its own process group, on 127.0.0.1:<free port>."""

    def __init__(self, app_dir: Path, data_dir: Path, log_path: Path, tmp_dir: Path) -> None:
        self.app_dir, self.data_dir, self.log_path, self.tmp_dir = app_dir, data_dir, log_path, tmp_dir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 120) -> float:
        # its own TMPDIR: povdata.export_images writes a fontconfig file under the temp directory whose
        # text names this checkout's font directory; sharing /tmp with another checkout's server or
        # tests makes both rewrite it on every chart, and the server's threads then race on it
        env = dict(os.environ, POVDASH_DATA_DIR=str(self.data_dir), TMPDIR=str(self.tmp_dir))
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(k, None)
        cmd = [sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(self.port),
               "--server.address", "127.0.0.1", "--server.headless", "true"]
        self._log = open(self.log_path, "wb")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(cmd, cwd=self.app_dir, env=env, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        url = f"http://127.0.0.1:{self.port}/_stcore/health"
        while time.perf_counter() - t0 < timeout:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                with _NO_PROXY.open(url, timeout=2) as r:
                    if r.status == 200 and r.read().strip() == b"ok":
                        return time.perf_counter() - t0
            except OSError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"no /_stcore/health after {timeout:.0f} s; log: {self.log_path}")

    def pids(self) -> list[int]:
        return descendants(self.proc.pid) if self.proc and self.proc.poll() is None else []

    def stop(self) -> None:
        """SIGTERM to the server's own process group (the one started here), SIGKILL after 15 s."""
        if not self.proc:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            except ProcessLookupError:
                pass
        self._log.close()

    def log_problems(self) -> dict[str, int]:
        """Exceptions the server logged (the last line of each traceback), with counts."""
        try:
            lines = self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return {}
        out: dict[str, int] = {}
        in_tb = False
        for i, ln in enumerate(lines):
            if ln.startswith("Traceback (most recent call last)"):
                in_tb = True
            elif in_tb and ln and not ln.startswith(" "):
                out[ln[:200]] = out.get(ln[:200], 0) + 1
                in_tb = False
            elif " ERROR " in ln or "WARNING" in ln:
                key = ln.split(" ", 2)[-1][:200]
                out[key] = out.get(key, 0) + 1
        return out


# ---- statistics --------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return None
    s = sorted(values)
    return s[max(0, min(len(s) - 1, int(-(-q * len(s) // 100)) - 1))]


def slope_per_min(points: list[tuple[float, float]]) -> tuple[float, float] | None:
    """Least-squares slope of (seconds, MB) points and its standard error, in MB per minute."""
    if len(points) < 4:
        return None
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    if den == 0:
        return None
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den
    resid = sum((y - my - b * (x - mx)) ** 2 for x, y in zip(xs, ys))
    return 60 * b, 60 * (resid / (len(xs) - 2) / den) ** 0.5


def r3(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


@dataclass
class Stats:
    t0: float = 0.0
    reruns: list[dict] = field(default_factory=list)      # {t, session, step, seconds, bytes}
    errors: list[dict] = field(default_factory=list)      # {t, session, step, kind, detail}
    connects: list[float] = field(default_factory=list)
    early_reruns: int = 0                                  # FINISHED_EARLY_FOR_RERUN seen (st.rerun)
    visits: int = 0
    load_seconds: float = 0.0
    gaps: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # step -> label -> [sum, n, max]

    def now(self) -> float:
        return time.perf_counter() - self.t0

    def error(self, session: int, step: str, kind: str, detail: str) -> None:
        self.errors.append({"t": round(self.now(), 2), "session": session, "step": step, "kind": kind,
                            "detail": detail[:300]})

    def gap(self, step: str, label: str, seconds: float) -> None:
        g = self.gaps.setdefault(step, {}).setdefault(label, [0.0, 0, 0.0])
        g[0] += seconds
        g[1] += 1
        g[2] = max(g[2], seconds)


# ---- one simulated browser tab ----------------------------------------------------------------------

class ViewError(Exception):
    """The run finished but something the next step needs is missing."""


@dataclass
class Run:
    step: str
    t_send: float
    done: asyncio.Future
    last: float = 0.0
    last_label: str = "send"
    nbytes: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)


_DIGITS = re.compile(r"\d+")


def _label(msg: ForwardMsg) -> str:
    """What a delta is, for the time-between-messages profile (unit codes folded to '#')."""
    d = msg.delta
    kind = d.WhichOneof("type")
    if kind == "new_element":
        el = d.new_element
        et = el.WhichOneof("type")
        sub = getattr(el, et)
        wid = getattr(sub, "id", "") if hasattr(sub, "id") else ""
        if wid.startswith("$$ID-"):
            return f"{et}:{_DIGITS.sub('#', wid.split('-', 2)[-1])}"
        return et
    if kind == "add_block":
        return f"block:{d.add_block.WhichOneof('type') or '?'}"
    return kind or "delta"


class Tab:
    """One user: a websocket session doing visits (open, year, district, commune, province)."""

    def __init__(self, idx: int, port: int, stats: Stats, rng: random.Random, think: tuple[float, float],
                 deadline: float, profile: bool) -> None:
        self.idx, self.port, self.stats, self.rng = idx, port, stats, rng
        self.think_range, self.deadline, self.profile = think, deadline, profile
        self.ws = None
        self.reader: asyncio.Task | None = None
        self.run: Run | None = None

    # -- state kept like the browser's --
    def _reset(self) -> None:
        self.query = ""
        self.page_script_hash = ""
        self.cache: dict[str, list] = {}           # hash -> [ForwardMsg, run count when last used]
        self.max_age = 2
        self.run_count = 0
        self.year_sync_id: str | None = None   # the hidden text box of the map's year slider
        self.slider_years: tuple[list[str], str] | None = None   # (the slider's years, the year shown)
        self.sync_count = 0
        self.maps: dict[str, list[str]] = {}       # map widget key ("map_<unit>_<level>") -> location codes

    async def think(self) -> None:
        await asyncio.sleep(self.rng.uniform(*self.think_range))

    def done_time(self) -> bool:
        return self.stats.now() >= self.deadline

    async def main(self) -> None:
        while not self.done_time():
            try:
                await self.visit()
                self.stats.visits += 1
            except ViewError as exc:
                self.stats.error(self.idx, self.run.step if self.run else "-", "view", str(exc))
            except _Abort:
                await asyncio.sleep(1.0)  # as a user would, look at the broken page before reloading
            finally:
                await self.close()

    async def visit(self) -> None:
        self._reset()
        t = time.perf_counter()
        try:
            self.ws = await ws_connect(f"ws://127.0.0.1:{self.port}/_stcore/stream", subprotocols=["streamlit"],
                                       origin=f"http://127.0.0.1:{self.port}", proxy=None, open_timeout=RERUN_TIMEOUT,
                                       ping_interval=None, max_size=None, max_queue=None)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is an error of the run
            self.stats.error(self.idx, "open", "connect", repr(exc))
            raise _Abort from exc
        self.stats.connects.append(time.perf_counter() - t)
        self.reader = asyncio.create_task(self._read())

        await self.rerun("open", "", page_name=MAP_PAGE)
        prov = self.q().get("unit")
        if not prov:
            raise ViewError(f"no unit in the URL after opening the map: {self.query!r}")
        for step, target in self.steps(prov):
            if self.done_time():
                return
            await self.think()
            query, widgets, expect = self.plan(step, target)
            await self.rerun(step, query, widgets=widgets, expect=expect)
        if not self.done_time():
            await self.think()  # read the last view, then reload the page (the next visit)

    @staticmethod
    def steps(prov: str) -> list[tuple[str, str | None]]:
        return [("year", None), ("district", None), ("commune", None), ("province", prov)]

    def plan(self, step: str, target: str | None) -> tuple[str, dict[str, str] | None, tuple[str, str]]:
        """What the browser sends for ``step`` in the view shown: (query string, widget states,
        what the URL must say after the run)."""
        if step == "year":  # what the browser sends once the hand leaves the map's year slider
            if not self.year_sync_id or not self.slider_years:
                raise ViewError("no map year slider in the page")
            options, current = self.slider_years
            choice = self.rng.choice([o for o in options if o != current] or options)
            self.sync_count += 1
            return self.query, {self.year_sync_id: f"{choice}|{self.sync_count}"}, ("year", choice)
        if step in ("district", "commune"):
            unit = self.q().get("unit")
            codes = [c for k, v in self.maps.items() if k.startswith(f"map_{unit}_") for c in v]
            if not codes:
                raise ViewError(f"no map shapes to click in view {self.query!r}")
            code = self.rng.choice(codes)
            return self.with_unit(code), None, ("unit", code)
        return self.with_unit(target or ""), None, ("unit", target or "")

    def q(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    def with_unit(self, code: str) -> str:
        q = self.q()
        q["unit"] = code
        return urlencode(q)

    async def close(self) -> None:
        if self.ws is not None:
            try:
                await asyncio.wait_for(self.ws.close(), 10)
            except Exception:  # noqa: BLE001 - closing a broken socket
                pass
        if self.reader is not None:
            self.reader.cancel()
            try:
                await self.reader
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        self.ws = self.reader = None

    def rerun_message(self, query_string: str, page_name: str = "", widgets: dict[str, str] | None = None) -> bytes:
        """The browser's ``rerun_script`` for this tab's state."""
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = query_string
        cs.widget_states.SetInParent()
        for wid, value in (widgets or {}).items():
            w = cs.widget_states.widgets.add()
            w.id, w.string_value = wid, value
        if self.page_script_hash:
            cs.page_script_hash = self.page_script_hash
        else:
            cs.page_name = page_name
        cs.cached_message_hashes.extend(self.cache)
        ci = cs.context_info
        ci.timezone, ci.timezone_offset, ci.locale = "Asia/Ho_Chi_Minh", -420, "vi-VN"
        ci.url, ci.is_embedded, ci.color_scheme = f"http://127.0.0.1:{self.port}/{MAP_PAGE}", False, "light"
        return msg.SerializeToString()

    async def rerun(self, step: str, query_string: str, page_name: str = "", widgets: dict[str, str] | None = None,
                    expect: tuple[str, str] | None = None) -> None:
        data = self.rerun_message(query_string, page_name, widgets)
        loop = asyncio.get_running_loop()
        self.maps = {}   # what this run shows (elements come again, or as references)
        self.run = run = Run(step, time.perf_counter(), loop.create_future())
        run.last = run.t_send
        try:
            await self.ws.send(data)
            await asyncio.wait_for(asyncio.shield(run.done), RERUN_TIMEOUT)
        except TimeoutError:
            self.stats.error(self.idx, step, "timeout", f"no script_finished within {RERUN_TIMEOUT:.0f} s")
            raise _Abort
        except ConnectionClosed as exc:
            self.stats.error(self.idx, step, "closed", repr(exc))
            raise _Abort from exc
        self.after_run(run, expect)

    def after_run(self, run: Run, expect: tuple[str, str] | None) -> None:
        """Count a finished run (its time, or its problems: :class:`_Abort`) and check the view
        it shows (:class:`ViewError`)."""
        step = run.step
        seconds = time.perf_counter() - run.t_send
        if run.problems:
            for kind, detail in run.problems:
                self.stats.error(self.idx, step, kind, detail)
            raise _Abort
        self.stats.reruns.append({"t": round(self.stats.now(), 2), "session": self.idx, "step": step,
                                  "seconds": round(seconds, 4), "bytes": run.nbytes})
        if expect:
            key, want = expect
            got = self.q().get(key)
            if got != want:
                raise ViewError(f"{step}: asked for {key}={want}, the URL says {key}={got} ({self.query})")

    # -- incoming messages --
    async def _read(self) -> None:
        try:
            async for data in self.ws:
                self._on_message(data, time.perf_counter())
        except ConnectionClosed as exc:
            self._fail("closed", f"socket closed: {exc!r}")
        except Exception as exc:  # noqa: BLE001 - a protocol surprise is an error, not a crash
            self._fail("client", repr(exc))
        else:
            self._fail("closed", "socket closed by the server")

    def _fail(self, kind: str, detail: str) -> None:
        run = self.run
        if run and not run.done.done():
            run.problems.append((kind, detail))
            run.done.set_result(False)

    def _on_message(self, data: bytes, now: float) -> None:
        msg = ForwardMsg()
        msg.ParseFromString(data)
        run = self.run
        if run and not run.done.done():
            run.nbytes += len(data)
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self.cache.get(msg.ref_hash)
            if cached is None:
                self._problem("protocol", f"reference to a message not cached: {msg.ref_hash}")
                return
            cached[1] = self.run_count
            msg, kind = cached[0], "delta"
        elif msg.metadata.cacheable and msg.hash:
            self.cache[msg.hash] = [msg, self.run_count]

        if kind == "new_session":
            ns = msg.new_session
            if ns.config.max_cached_message_age > 0:
                self.max_age = ns.config.max_cached_message_age
        elif kind == "navigation":  # the page actually run (st.navigation); the browser sends it back
            nav = msg.navigation
            self.page_script_hash = nav.page_script_hash
            wanted = [p.page_script_hash for p in nav.app_pages if p.url_pathname == MAP_PAGE]
            if wanted and nav.page_script_hash not in wanted:
                self._problem("view", f"the server ran page {nav.page_script_hash}, not {MAP_PAGE}")
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "delta":
            self._on_delta(msg, now)
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.stats.early_reruns += 1
                return
            if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                self._problem("compile", "script finished with a compile error")
            self.run_count += 1
            self.cache = {h: e for h, e in self.cache.items() if self.run_count - e[1] <= self.max_age}
            if run and not run.done.done():
                if self.profile:
                    self.stats.gap(run.step, f"script_finished (after {run.last_label})", now - run.last)
                run.done.set_result(True)
        elif kind == "page_not_found":
            self._problem("page_not_found", msg.page_not_found.page_name)
        elif kind == "session_event":
            ev = msg.session_event.WhichOneof("type")
            if ev == "script_compilation_exception":
                self._problem("compile", msg.session_event.script_compilation_exception.message)

    def _problem(self, kind: str, detail: str) -> None:
        if self.run and not self.run.done.done():
            self.run.problems.append((kind, detail))
        else:
            self.stats.error(self.idx, self.run.step if self.run else "-", kind, detail)

    def _on_delta(self, msg: ForwardMsg, now: float) -> None:
        run = self.run
        if self.profile and run and not run.done.done():
            label = _label(msg)
            self.stats.gap(run.step, f"{label} (after {run.last_label})", now - run.last)
            run.last, run.last_label = now, label
        d = msg.delta
        if d.WhichOneof("type") != "new_element":
            return
        el = d.new_element
        et = el.WhichOneof("type")
        if et == "exception":
            ex = el.exception
            if not ex.is_warning:
                self._problem("exception", f"{ex.type}: {ex.message}")
        elif et == "alert":
            if el.alert.format == Alert.ERROR:
                self._problem("error_alert", el.alert.body)
        elif et == "text_input":
            if el.text_input.id.endswith("-map_year_sync"):  # the map slider's quiet run (pages.common)
                self.year_sync_id = el.text_input.id
        elif et == "plotly_chart":
            key = el.plotly_chart.id.split("-", 2)[-1]
            if key.startswith("map_"):
                try:
                    spec = json.loads(el.plotly_chart.spec)
                except ValueError:
                    self._problem("protocol", f"unreadable plotly spec of {key}")
                    return
                codes = []
                for tr in spec.get("data", []):
                    codes.extend(str(c) for c in tr.get("locations") or [])
                self.maps[key] = codes
                sliders = (spec.get("layout") or {}).get("sliders") or []
                if sliders:  # the map's year slider: its steps and the year shown
                    steps = [str(x["label"]) for x in sliders[0].get("steps", [])]
                    self.slider_years = (steps, steps[int(sliders[0].get("active", 0))] if steps else "")


class _Abort(Exception):
    """End this visit (the error is already recorded)."""


# ---- one load run ---------------------------------------------------------------------------

async def _monitor(server: Server, stats: Stats, samples: list[dict], every: float, stop: asyncio.Event,
                   tabs_running: list[int]) -> None:
    last_print, last_n = 0.0, 0
    while True:
        samples.append(await asyncio.to_thread(_sample, server, stats, tabs_running[0]))
        s = samples[-1]
        if stats.now() - last_print >= 29 or stop.is_set():
            recent = [r["seconds"] for r in stats.reruns[last_n:]]
            last_n = len(stats.reruns)
            last_print = stats.now()
            cpu = ""
            if len(samples) >= 2:
                a, b = samples[-2], samples[-1]
                dt = b["t"] - a["t"]
                if dt > 0:
                    cpu = f" server CPU {100 * (b['server_cpu_s'] - a['server_cpu_s']) / dt:4.0f}% of a core"
            print(f"  t={s['t']:6.0f}s sessions {s['sessions']:3d} reruns {len(stats.reruns):6d} "
                  f"errors {len(stats.errors):3d} p50/p95 since last line "
                  f"{_fmt(pct(recent, 50))}/{_fmt(pct(recent, 95))} RSS {s['rss_mb']:7.1f} MB{cpu}", flush=True)
        try:
            await asyncio.wait_for(stop.wait(), every)
            return
        except TimeoutError:
            pass


def _fmt(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}s"


_METRIC = re.compile(r'^(\w+)\{([^}]*)\}\s+([0-9.eE+-]+)$')


def server_metrics(port: int) -> dict:
    """Streamlit's own gauges (``/_stcore/metrics``): bytes held by each st.cache_* / media store
    and the number of sessions, so RSS growth can be told apart from caches filling up."""
    try:
        with _NO_PROXY.open(f"http://127.0.0.1:{port}/_stcore/metrics", timeout=10) as r:
            text = r.read().decode()
    except OSError:
        return {}
    caches: dict[str, float] = {}
    out: dict = {"caches_mb": caches}
    for line in text.splitlines():
        m = _METRIC.match(line)
        if m and m.group(1) == "cache_memory_bytes":
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
            name = labels.get("cache") or labels.get("cache_type", "?")
            caches[name] = round(caches.get(name, 0) + float(m.group(3)) / 2**20, 2)
        elif line.startswith("active_sessions"):
            out["active_sessions"] = out.get("active_sessions", 0) + float(line.split()[-1])
    out["cache_total_mb"] = round(sum(caches.values()), 2)
    return out


def _sample(server: Server, stats: Stats, sessions: int) -> dict:
    pids = server.pids()
    busy, total = machine_cpu()
    metrics = server_metrics(server.port)
    return {"metrics": metrics,"t": round(stats.now(), 1), "rss_mb": round(tree_rss_mb(pids), 1),
            "threads": sum(_status_value(p, "Threads") for p in pids), "processes": len(pids),
            "server_cpu_s": round(tree_cpu_seconds(pids), 2), "client_cpu_s": round(time.process_time(), 2),
            "machine_busy": busy, "machine_total": total, "sessions": sessions, "reruns": len(stats.reruns)}


async def _warmup(port: int) -> tuple[float, list[dict]]:
    """One visit by one user before the clock starts (first import of the page, data, shapes).
    Its errors are returned, not counted: the first visitor of ``/ban-do`` on a fresh server gets
    Streamlit's ``page_not_found`` (a known app bug, xfail in tests/browser)."""
    stats = Stats(t0=time.perf_counter())
    tab = Tab(-1, port, stats, random.Random(0), (0.0, 0.0), deadline=1e9, profile=False)
    t = time.perf_counter()
    try:
        await tab.visit()
    except (_Abort, ViewError) as exc:
        if not stats.errors:
            stats.error(-1, "-", "view", str(exc))
    finally:
        await tab.close()
    return time.perf_counter() - t, stats.errors


async def _drive(server: Server, n: int, seconds: float, think: tuple[float, float], ramp: float, seed: int,
                 every: float, profile: bool) -> tuple[Stats, list[dict]]:
    stats = Stats(t0=time.perf_counter())
    samples: list[dict] = []
    stop = asyncio.Event()
    running = [0]

    async def one(i: int) -> None:
        await asyncio.sleep(ramp * i / max(1, n))
        running[0] += 1
        try:
            await Tab(i, server.port, stats, random.Random(seed * 1000 + i), think, seconds, profile).main()
        finally:
            running[0] -= 1

    mon = asyncio.create_task(_monitor(server, stats, samples, every, stop, running))
    await asyncio.gather(*(one(i) for i in range(n)))
    stats.load_seconds = stats.now()
    stop.set()
    await mon
    return stats, samples


def _other_load(seconds: float = 3.0) -> float:
    """Cores the machine keeps busy before the server starts (other people's work)."""
    a = machine_cpu()[0]
    time.sleep(seconds)
    return round((machine_cpu()[0] - a) / CLK_TCK / seconds, 2)


def load_run(args: argparse.Namespace, app_dir: Path, sessions: int, minutes: float) -> dict:
    seconds = minutes * 60
    with tempfile.TemporaryDirectory(prefix="povdash-load-") as tmp:
        data_dir = Path(args.data_dir) if args.data_dir else Path(tmp) / "data"
        data_dir.mkdir(exist_ok=True)
        (Path(tmp) / "tmp").mkdir()
        server = Server(app_dir, data_dir, Path(tmp) / "server.log", Path(tmp) / "tmp")
        before = _other_load()
        print(f"[{sessions} sessions x {minutes:g} min] starting streamlit on 127.0.0.1:{server.port} "
              f"(app {app_dir}; machine busy before: {before} cores)", flush=True)
        try:
            started = server.start()
            time.sleep(2)
            idle = tree_rss_mb(server.pids())
            warm, warm_errors = asyncio.run(_warmup(server.port))
            if any(e["kind"] != "page_not_found" for e in warm_errors):  # one retry: the page must work
                warm2, warm_errors2 = asyncio.run(_warmup(server.port))
                warm, warm_errors = warm + warm2, warm_errors + warm_errors2
            after_warmup = tree_rss_mb(server.pids())
            print(f"  ready in {started:.1f} s, RSS idle {idle:.1f} MB; warm-up visit {warm:.1f} s "
                  f"({len(warm_errors)} errors: {[e['kind'] for e in warm_errors]}), RSS {after_warmup:.1f} MB",
                  flush=True)
            stats, samples = asyncio.run(_drive(server, sessions, seconds, tuple(args.think), args.ramp, args.seed,
                                                args.sample_every, args.profile))
            end_rss = samples[-1]["rss_mb"]
            time.sleep(args.cooldown)
            cooled = _sample(server, stats, 0)
            log_problems = server.log_problems()
            alive = server.proc.poll() is None
        finally:
            server.stop()
        if not alive:
            stats.error(-1, "-", "server", "the server process died during the run")
    out = summarize(args, sessions, minutes, stats, samples, idle, after_warmup, end_rss, cooled, warm,
                    log_problems)
    out["warmup_errors"] = warm_errors
    out["cpu"]["machine_busy_cores_before"] = before
    return out


def summarize(args, sessions, minutes, stats: Stats, samples, idle, after_warmup, end_rss, cooled, warm,
              log_problems) -> dict:
    times = [r["seconds"] for r in stats.reruns]
    dur = stats.load_seconds
    per_step = {}
    for step in STEPS:
        ts = [r["seconds"] for r in stats.reruns if r["step"] == step]
        bs = [r["bytes"] for r in stats.reruns if r["step"] == step]
        per_step[step] = {"n": len(ts), "median_s": r3(pct(ts, 50)), "p95_s": r3(pct(ts, 95)),
                          "max_s": r3(max(ts) if ts else None),
                          "median_kb": round(statistics.median(bs) / 1024, 1) if bs else None}
    # memory trend over the last half of the load
    half = dur / 2
    last_half = [(s["t"], s["rss_mb"]) for s in samples if s["t"] >= half]
    fit = slope_per_min(last_half)
    ex = [(s["t"], s["rss_mb"] - s["metrics"]["cache_total_mb"]) for s in samples
          if s["t"] >= half and s["metrics"].get("cache_total_mb") is not None]
    fit_ex = slope_per_min(ex)
    slope, slope_se = fit if fit else (None, None)
    mid = min(samples, key=lambda s: abs(s["t"] - half))["rss_mb"] if samples else None
    judged = dur >= 240
    growing = None
    if judged and fit and mid:
        # growing = the slope is above the tolerance *and* above zero beyond its noise (2 standard
        # errors; RSS wobbles by +-10 MB as requests come and go), or the end is 5 % above mid-load
        growing = (slope > args.mem_slope_tol and slope - 2 * slope_se > 0) or end_rss > 1.05 * mid
    first, last = samples[0], samples[-1]
    wall = max(1e-9, last["t"] - first["t"])
    cpu = {"server_core_pct": round(100 * (last["server_cpu_s"] - first["server_cpu_s"]) / wall, 1),
           "client_core_pct": round(100 * (last["client_cpu_s"] - first["client_cpu_s"]) / wall, 1),
           "machine_busy_pct": round(100 * (last["machine_busy"] - first["machine_busy"])
                                     / max(1, last["machine_total"] - first["machine_total"]), 1),
           "cores": os.cpu_count(), "loadavg_end": Path("/proc/loadavg").read_text().split()[:3]}
    # CPU used by processes other than this client and the server (the machine is shared?)
    cpu["other_cores"] = round((last["machine_busy"] - first["machine_busy"]) / CLK_TCK / wall
                               - (cpu["server_core_pct"] + cpu["client_core_pct"]) / 100, 2)
    p95 = pct(times, 95)
    kinds: dict[str, int] = {}
    for e in stats.errors:
        kinds[e["kind"]] = kinds.get(e["kind"], 0) + 1
    out = {
        "sessions": sessions, "minutes": minutes, "think_s": list(args.think), "ramp_s": args.ramp,
        "load_seconds": round(dur, 1), "visits": stats.visits, "reruns": len(times),
        "reruns_per_min": round(60 * len(times) / dur, 1) if dur else None,
        "errors": len(stats.errors), "error_kinds": kinds, "error_samples": stats.errors[:20],
        "rerun_s": {"median": r3(pct(times, 50)), "p95": r3(p95), "p99": r3(pct(times, 99)),
                    "max": r3(max(times) if times else None)},
        "per_step": per_step, "st_rerun_early_finishes": stats.early_reruns,
        "connect_s": {"median": r3(pct(stats.connects, 50)), "p95": r3(pct(stats.connects, 95))},
        "warmup_visit_s": round(warm, 2),
        "memory_mb": {"idle_start": round(idle, 1), "after_warmup": round(after_warmup, 1),
                      "mid_load": mid, "end_load": end_rss, "after_cooldown": cooled["rss_mb"],
                      "max": max(s["rss_mb"] for s in samples),
                      "slope_last_half_mb_per_min": r3(slope), "slope_standard_error": r3(slope_se),
                      "judged": judged, "growing": growing,
                      "st_caches_end_mb": samples[-1]["metrics"].get("caches_mb"),
                      "slope_last_half_without_st_caches_mb_per_min": r3(fit_ex[0]) if fit_ex else None,
                      "slope_without_st_caches_standard_error": r3(fit_ex[1]) if fit_ex else None,
                      "tolerance": (f"growing if slope > {args.mem_slope_tol} MB/min and slope - 2 SE > 0, "
                                    "or end of load > 1.05 x mid-load")},
        "threads": {"start": first["threads"], "max": max(s["threads"] for s in samples),
                    "end": last["threads"], "after_cooldown": cooled["threads"]},
        "cpu": cpu,
        "comfortable": len(stats.errors) == 0 and p95 is not None and p95 < args.comfortable_p95,
        "server_log_problems": log_problems,
        "samples": [{**{k: s[k] for k in ("t", "rss_mb", "threads", "server_cpu_s", "client_cpu_s", "sessions",
                                          "reruns")}, "machine_busy_cores": _busy_cores(samples, i),
                     "st_cache_mb": s["metrics"].get("cache_total_mb"),
                     "st_active_sessions": s["metrics"].get("active_sessions")}
                    for i, s in enumerate(samples)],
    }
    out["verdict"] = "PASS" if (len(stats.errors) == 0 and growing is not True) else "FAIL"
    if args.profile:
        prof = []
        for step, labels in stats.gaps.items():
            for label, (total, n, mx) in labels.items():
                prof.append({"step": step, "before": label, "total_s": round(total, 2), "n": n,
                             "mean_s": round(total / n, 4), "max_s": round(mx, 3)})
        prof.sort(key=lambda r: -r["total_s"])
        out["time_before_message"] = prof[:40]
    return out


def _busy_cores(samples: list[dict], i: int) -> float | None:
    """Cores busy on the whole machine between sample i-1 and i."""
    if i == 0:
        return None
    a, b = samples[i - 1], samples[i]
    return round((b["machine_busy"] - a["machine_busy"]) / CLK_TCK / max(1e-9, b["t"] - a["t"]), 2)


def print_report(r: dict) -> None:
    m, c = r["memory_mb"], r["cpu"]
    print(f"\n== {r['sessions']} sessions, {r['load_seconds'] / 60:.1f} min, think {r['think_s'][0]:g}-"
          f"{r['think_s'][1]:g} s ==")
    print(f"visits {r['visits']}, reruns {r['reruns']} ({r['reruns_per_min']}/min), errors {r['errors']} "
          f"{r['error_kinds'] or ''}")
    rs = r["rerun_s"]
    print(f"rerun time: median {_fmt(rs['median'])}, p95 {_fmt(rs['p95'])}, p99 {_fmt(rs['p99'])}, "
          f"max {_fmt(rs['max'])}")
    for step, s in r["per_step"].items():
        print(f"  {step:9s} n={s['n']:5d} median {_fmt(s['median_s'])} p95 {_fmt(s['p95_s'])} "
              f"max {_fmt(s['max_s'])}  ~{s['median_kb']} kB received")
    print(f"server RSS: idle {m['idle_start']} MB, after warm-up {m['after_warmup']}, mid-load {m['mid_load']}, "
          f"end {m['end_load']}, after cool-down {m['after_cooldown']} (max {m['max']}); last-half slope "
          f"{m['slope_last_half_mb_per_min']} +- {m['slope_standard_error']} (SE) MB/min -> "
          + ("not judged (run < 4 min)" if not m["judged"] else ("GROWING" if m["growing"] else "not growing")))
    if m.get("st_caches_end_mb"):
        print(f"  Streamlit caches at the end: {m['st_caches_end_mb']} MB; RSS minus caches, last-half slope "
              f"{m['slope_last_half_without_st_caches_mb_per_min']} +- "
              f"{m['slope_without_st_caches_standard_error']} MB/min")
    print(f"server threads: start {r['threads']['start']}, max {r['threads']['max']}, "
          f"after cool-down {r['threads']['after_cooldown']}")
    print(f"CPU: server {c['server_core_pct']}% of one core, client {c['client_core_pct']}%, machine "
          f"{c['machine_busy_pct']}% busy ({c['cores']} cores), other processes {c['other_cores']} cores, "
          f"loadavg {' '.join(c['loadavg_end'])}")
    if c["other_cores"] > 0.25:
        print(f"  WARNING: other processes used {c['other_cores']} cores on average: the figures are pessimistic")
    for e in r["error_samples"][:5]:
        print(f"  error: {e}")
    if r["server_log_problems"]:
        print(f"  server log: {list(r['server_log_problems'].items())[:5]}")
    print(f"comfortable (0 errors, p95 < 2 s): {'yes' if r['comfortable'] else 'no'}; verdict {r['verdict']}")


def snapshot(rev: str, dest: Path) -> Path:
    """The tree of a committed revision, extracted with ``git archive`` (the working tree is untouched)."""
    dest.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", "--format=tar", rev], cwd=ROOT, check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


def git_info(app_dir: Path, rev: str | None) -> dict:
    def git(*a: str) -> str:
        return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    info = {"commit": git("rev-parse", rev or "HEAD"), "app": "git archive " + rev if rev else "working tree"}
    if not rev:
        info["dirty_files"] = len(git("status", "--porcelain", "--untracked-files=no").splitlines())
    return info


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sessions", type=int, default=30)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--quick", action="store_true", help="smoke run: 5 sessions x 1 minute")
    ap.add_argument("--sweep", help="comma-separated session counts, one fresh server each (e.g. 10,30,60)")
    ap.add_argument("--think", type=float, nargs=2, default=(5.0, 15.0), metavar=("MIN", "MAX"),
                    help="think time between steps, uniform (s)")
    ap.add_argument("--ramp", type=float, default=None, help="seconds over which sessions start (default 15, quick 3)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--sample-every", type=float, default=10.0, help="RSS/CPU sampling period (s)")
    ap.add_argument("--cooldown", type=float, default=10.0, help="idle seconds before the last RSS sample")
    ap.add_argument("--mem-slope-tol", type=float, default=1.0, help="MB/min over the last half")
    ap.add_argument("--comfortable-p95", type=float, default=2.0)
    ap.add_argument("--no-profile", dest="profile", action="store_false",
                    help="do not record the time before each message (per step and element)")
    ap.add_argument("--app-dir", default=str(ROOT))
    ap.add_argument("--rev", help="run a committed revision (git archive REV into a temporary directory)")
    ap.add_argument("--data-dir", help="POVDASH_DATA_DIR for the server (default: empty, i.e. the demo data)")
    ap.add_argument("--out")
    ap.add_argument("--strict", action="store_true", help="exit 1 on FAIL")
    args = ap.parse_args()
    if args.quick:
        args.sessions, args.minutes = 5, 1.0
    if args.ramp is None:
        args.ramp = 3.0 if args.quick else 15.0
    out = Path(args.out) if args.out else RESULTS / ("load_quick.json" if args.quick else
                                                     "load_sweep.json" if args.sweep else "load.json")
    with tempfile.TemporaryDirectory(prefix="povdash-app-") as tmp:
        app_dir = snapshot(args.rev, Path(tmp) / "app") if args.rev else Path(args.app_dir).resolve()
        meta = {"script": "benchmarks/load.py", "argv": sys.argv[1:],
                "date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "python": platform.python_version(),
                "machine": {"cores": os.cpu_count(), "cpu": _cpu_model(),
                            "mem_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
                "streamlit": __import__("streamlit").__version__, "git": git_info(app_dir, args.rev),
                "client": "Streamlit websocket protocol (protobuf BackMsg/ForwardMsg), one asyncio process"}
        counts = [int(x) for x in args.sweep.split(",")] if args.sweep else [args.sessions]
        runs = []
        for n in counts:
            r = load_run(args, app_dir, n, args.minutes)
            print_report(r)
            runs.append(r)
    if args.sweep:
        ok = [r["sessions"] for r in runs if r["comfortable"]]
        result = {**meta, "sweep": runs, "comfortable_max_sessions_tested": max(ok) if ok else None}
        print(f"\nlargest session count with 0 errors and p95 < {args.comfortable_p95:g} s: "
              f"{result['comfortable_max_sessions_tested']}")
    else:
        result = {**meta, **runs[0]}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n")
    print(f"results: {out}")
    failed = any(r["verdict"] != "PASS" for r in runs)
    return 1 if (args.strict and failed) else 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


if __name__ == "__main__":
    sys.exit(main())
