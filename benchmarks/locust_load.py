"""Load across app servers (scale-out issue, point 5): Locust schedules the users and keeps the
statistics; each user is the Streamlit websocket client of ``benchmarks/load.py`` (the same
visit: open the map, another year, a district, a commune, back to the province, with think times),
made synchronous for Locust's greenlets; all traffic goes through the cluster's nginx.

    .venv/bin/python benchmarks/locust_load.py                       # 2 servers, then 1; 60 users x 10 min each
    .venv/bin/python benchmarks/locust_load.py --users 20 --minutes 2 --servers 2   # a short run

For each server count the script starts the cluster (``bash .ci/cluster.sh start N``: PostgreSQL +
PostGIS, N Streamlit servers, nginx on 127.0.0.1), warms each server with one visit, runs the users
through the proxy, samples the servers' memory (RSS of each server and its descendants, from
``/proc``) every ``--sample-every`` seconds, and stops the cluster.  Each user sends its own node
cookie (as a browser gets from the proxy), so its visits stay on one server while users spread.

Verdict per server count: PASS when 0 errors, p95 rerun time < 2 s and memory flat (the end of the
load within 5 % of half-time, or a last-half slope not above 1 MB/min by more than two standard
errors; as ``load.py``).  Results: ``benchmarks/results/load_cluster.json`` (or ``--out``); the
exit code is 0 even on FAIL (a benchmark, not a test).
"""
from __future__ import annotations

from gevent import monkey

monkey.patch_all()  # before anything opens a socket (Locust does the same when imported)

import argparse  # noqa: E402
import gc  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import random  # noqa: E402
import secrets  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

import gevent  # noqa: E402
import gevent.event  # noqa: E402
import greenlet  # noqa: E402
import websocket  # noqa: E402  websocket-client, which Locust brings; gevent-friendly
from locust import User, constant, events, task  # noqa: E402
from locust.exception import StopUser  # noqa: E402
from locust.env import Environment  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import load  # noqa: E402  the client, /proc readers and statistics of the one-server load test
from povdata.cluster import COOKIE  # noqa: E402

ROOT = load.ROOT
RUN_DIR = ROOT / "var" / "cluster-load"
P95_LIMIT_S = 2.0
# set at the end of the load: each user stops at its next think time (a rerun in flight is let finish,
# within its timeout) instead of being killed inside the websocket client
STOPPING = gevent.event.Event()


def think(rng: random.Random, think_range: tuple[float, float]) -> None:
    if STOPPING.wait(rng.uniform(*think_range)):
        raise StopUser


class _Done:
    """What ``Run.done`` (an asyncio future in ``load.py``) is for a greenlet."""

    def __init__(self) -> None:
        self._event = gevent.event.Event()

    def done(self) -> bool:
        return self._event.is_set()

    def set_result(self, _value: bool) -> None:
        self._event.set()

    def wait(self, timeout: float) -> bool:
        return self._event.wait(timeout)


class Counted(load.Stats):
    """``load.Stats``, each rerun and error also told to Locust (its statistics are the report's).

    A failed rerun enters Locust's response times too: a timeout as the ``RERUN_TIMEOUT`` the user
    waited (a user who gave up after 30 s waited 30 s; counted as 0 s it made an overloaded server's
    median look fast), any other error as 0 s."""

    def error(self, session: int, step: str, kind: str, detail: str) -> None:
        super().error(session, step, kind, detail)
        waited = load.RERUN_TIMEOUT * 1000 if kind == "timeout" else 0
        events.request.fire(request_type="rerun", name=step, response_time=waited, response_length=0,
                            exception=RuntimeError(f"{kind}: {detail[:200]}"), context={})


class SyncTab(load.Tab):
    """``load.Tab`` on websocket-client: the same messages, steps and checks, for a greenlet."""

    def __init__(self, idx: int, port: int, stats: Counted, rng: random.Random, think: tuple[float, float]) -> None:
        super().__init__(idx, port, stats, rng, think, deadline=math.inf, profile=False)
        self.node = secrets.token_hex(16)  # the proxy's sticky cookie, as a browser keeps it

    def connect(self) -> None:
        """Open the websocket (the proxy's cookie sent) and start the greenlet that reads it."""
        t = time.perf_counter()
        try:
            self.ws = websocket.create_connection(
                f"ws://127.0.0.1:{self.port}/_stcore/stream", subprotocols=["streamlit"],
                origin=f"http://127.0.0.1:{self.port}", cookie=f"{COOKIE}={self.node}", timeout=load.RERUN_TIMEOUT,
                http_no_proxy=["127.0.0.1"], enable_multithread=True)
        except Exception as exc:  # noqa: BLE001 - any failure to connect is an error of the run
            self.stats.error(self.idx, "open", "connect", repr(exc))
            raise load._Abort from exc
        self.stats.connects.append(time.perf_counter() - t)
        self.reader = gevent.spawn(self._sync_read, self.ws)

    def sync_visit(self) -> None:
        self._reset()
        self.connect()
        self.sync_rerun("open", "", page_name=load.MAP_PAGE)
        prov = self.q().get("unit")
        if not prov:
            raise load.ViewError(f"no unit in the URL after opening the map: {self.query!r}")
        for step, target in self.steps(prov):
            think(self.rng, self.think_range)
            query, widgets, expect = self.plan(step, target)
            self.sync_rerun(step, query, widgets=widgets, expect=expect)
        think(self.rng, self.think_range)  # read the last view, then reload the page

    def sync_rerun(self, step: str, query_string: str, page_name: str = "", widgets: dict[str, str] | None = None,
                   expect: tuple[str, str] | None = None) -> None:
        data = self.rerun_message(query_string, page_name, widgets)
        self.maps = {}
        self.run = run = load.Run(step, time.perf_counter(), _Done())  # type: ignore[arg-type]
        run.last = run.t_send
        try:
            self.ws.send_binary(data)
        except Exception as exc:  # noqa: BLE001
            self.stats.error(self.idx, step, "closed", repr(exc))
            raise load._Abort from exc
        if not run.done.wait(load.RERUN_TIMEOUT):
            self.stats.error(self.idx, step, "timeout", f"no script_finished within {load.RERUN_TIMEOUT:.0f} s")
            raise load._Abort
        self.after_run(run, expect)

    def _sync_read(self, ws) -> None:
        try:
            while True:
                opcode, data = ws.recv_data()
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    break
                if opcode == websocket.ABNF.OPCODE_BINARY:
                    self._on_message(data, time.perf_counter())
        except websocket.WebSocketConnectionClosedException as exc:
            self._fail("closed", f"socket closed: {exc!r}")
        except gevent.GreenletExit:
            raise
        except Exception as exc:  # noqa: BLE001 - a protocol surprise is an error, not a crash
            if self.ws is ws:
                self._fail("client", repr(exc))
        else:
            self._fail("closed", "socket closed by the server")

    def sync_close(self) -> None:
        """Close without waiting on the server: the reader greenlet holds the client's read lock while it waits
        for a frame, so ``ws.close()`` (which reads the server's close frame) can wait as long as the server
        keeps sending, and an overloaded server does; that hung the end of a run.  The reader is killed
        first, the close frame only sent, the socket shut."""
        ws, reader, self.ws, self.reader = self.ws, self.reader, None, None
        if reader is not None:
            reader.kill(block=True, timeout=2)
        if ws is not None:
            try:
                with gevent.Timeout(2):
                    ws.send_close()
            except (Exception, gevent.Timeout):  # noqa: BLE001 - closing a broken or stuck socket
                pass
            ws.shutdown()


# the run's settings, read by the users (Locust makes them itself)
SETTINGS: dict = {}


class MapUser(User):
    """One browser tab on the map page, visit after visit."""

    wait_time = constant(0)  # the think times are inside the visit

    def on_start(self) -> None:
        i = next(SETTINGS["ids"])
        self.tab = SyncTab(i, SETTINGS["port"], SETTINGS["stats"], random.Random(SETTINGS["seed"] * 1000 + i),
                           SETTINGS["think"])

    @task
    def visit(self) -> None:
        stats: Counted = SETTINGS["stats"]
        try:
            self.tab.sync_visit()
            stats.visits += 1
        except load.ViewError as exc:
            stats.error(self.tab.idx, self.tab.run.step if self.tab.run else "-", "view", str(exc))
        except load._Abort:
            think(self.tab.rng, (1.0, 1.0))  # as a user would, look at the broken page before reloading
        finally:
            self.tab.sync_close()

    def on_stop(self) -> None:
        self.tab.sync_close()


class _Reruns(list):
    """``stats.reruns``: each entry also counted by Locust."""

    def __init__(self, stats: Counted) -> None:
        super().__init__()
        self._stats = stats

    def append(self, entry: dict) -> None:  # type: ignore[override]
        super().append(entry)
        events.request.fire(request_type="rerun", name=entry["step"], response_time=entry["seconds"] * 1000,
                            response_length=entry["bytes"], exception=None, context={})


def stop_users(runner, limit: float) -> tuple[float, list[str]]:
    """The end of the load: ``STOPPING`` is set, so each user ends at its next think time; they are waited
    for up to ``limit`` seconds, then Locust's runner is quit.  If that still does not end within 10 s, what
    the greenlets are doing is printed and returned (for the report) and they are killed without waiting."""
    t = time.perf_counter()
    STOPPING.set()
    try:
        runner.user_greenlets.join(timeout=limit)
        with gevent.Timeout(10):
            runner.quit()
        return time.perf_counter() - t, []
    except gevent.Timeout:
        stacks: dict[str, int] = {}
        for g in gc.get_objects():
            if isinstance(g, greenlet.greenlet) and g.gr_frame is not None and g is not greenlet.getcurrent():
                key = "".join(traceback.format_stack(g.gr_frame)[-8:])
                stacks[key] = stacks.get(key, 0) + 1
        stuck = [f"{n} greenlet(s) at:\n{key}" for key, n in sorted(stacks.items(), key=lambda kv: -kv[1])]
        print(f"  users still stopping {limit + 10:g} s after the end:\n" + "\n".join(stuck), file=sys.stderr)
        runner.user_greenlets.kill(block=False)
        return time.perf_counter() - t, stuck


# ---- the cluster -------------------------------------------------------------------------------

def cluster(command: str, servers: int, port: int) -> str:
    env = dict(os.environ, POVDASH_CLUSTER_DIR=str(RUN_DIR), POVDASH_CLUSTER_PORT=str(port))
    env.pop("POVDASH_DATABASE_URL", None)
    out = subprocess.run(["bash", ".ci/cluster.sh", command, str(servers)], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    if out.returncode:
        raise SystemExit(f"cluster {command} {servers} failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout.strip()


def server_pids(servers: int) -> list[int]:
    return [int((RUN_DIR / f"app-{i}.pid").read_text()) for i in range(1, servers + 1)]


def memory(pids: list[int]) -> list[float]:
    return [load.tree_rss_mb(load.descendants(p)) for p in pids]


def warm_up(port: int) -> list[dict]:
    """One visit per server, straight to it, before the clock starts (its errors not counted)."""
    stats = Counted(t0=time.perf_counter())
    stats.reruns = []
    tab = SyncTab(-1, port, stats, random.Random(0), (0.0, 0.0))
    for attempt in range(2):  # the first visit of a fresh server may get Streamlit's page_not_found
        stats.errors.clear()
        try:
            tab.sync_visit()
            break
        except (load._Abort, load.ViewError):
            pass
        finally:
            tab.sync_close()
    return stats.errors


def one_run(servers: int, users: int, minutes: float, args) -> dict:
    print(f"[{servers} server(s) x {users} users x {minutes:g} min] "
          f"{cluster('start', servers, args.port)}", flush=True)
    try:
        pids = server_pids(servers)
        idle = memory(pids)
        warm_errors = [e for p in range(args.port + 1, args.port + servers + 1) for e in warm_up(p)]
        after_warmup = memory(pids)
        stats = Counted(t0=time.perf_counter())
        stats.reruns = _Reruns(stats)
        SETTINGS.update(ids=itertools.count(), port=args.port, stats=stats, seed=args.seed, think=tuple(args.think))
        env = Environment(user_classes=[MapUser], events=events)
        runner = env.create_local_runner()
        samples: list[dict] = []
        cpu0, t0 = load.machine_cpu(), time.perf_counter()
        runner.start(users, spawn_rate=users / max(args.ramp, 1.0))
        end = time.perf_counter() + minutes * 60
        while time.perf_counter() < end:
            gevent.sleep(min(args.sample_every, max(0.0, end - time.perf_counter())))
            rss = memory(pids)
            samples.append({"t": round(stats.now(), 1), "rss_mb": [round(x, 1) for x in rss],
                            "users": runner.user_count})
        cpu1 = load.machine_cpu()
        stop_s, stuck = stop_users(runner, args.stop_timeout)
        STOPPING.clear()
        load_seconds = time.perf_counter() - t0
        gevent.sleep(2)
        end_rss = memory(pids)
        log_problems = []
        for i in range(1, servers + 1):
            log = RUN_DIR / f"app-{i}.log"
            if log.exists():
                log_problems += [line[:200] for line in log.read_text(errors="replace").splitlines()
                                 if "Traceback" in line or " ERROR " in line]
        alive = all(os.path.exists(f"/proc/{p}") for p in pids)
    finally:
        print("  " + cluster("stop", servers, args.port), flush=True)
    total = env.stats.total
    steps = {}
    for (name, _method), entry in sorted(env.stats.entries.items()):
        steps[name] = {"reruns": entry.num_requests, "failures": entry.num_failures,
                       "p50_s": round(entry.get_response_time_percentile(0.5) / 1000, 3),
                       "p95_s": round(entry.get_response_time_percentile(0.95) / 1000, 3),
                       "max_s": round(entry.max_response_time / 1000, 3)}
    memory_verdict = []
    for k in range(servers):
        series = [(s["t"], s["rss_mb"][k]) for s in samples]
        half = [p for p in series if p[0] >= series[-1][0] / 2] if series else []
        slope = load.slope_per_min(half) if len(half) >= 3 else None
        grow_pct = (half[-1][1] / half[0][1] - 1) * 100 if half else None
        growing = bool(half) and minutes >= 4 and (
            grow_pct > 5 or (slope is not None and slope[0] > args.mem_slope_tol and slope[0] > 2 * slope[1]))
        memory_verdict.append({"server": k + 1, "idle_mb": round(idle[k], 1), "after_warmup_mb": round(after_warmup[k], 1),
                               "max_mb": round(max(p[1] for p in series), 1) if series else None,
                               "end_mb": round(end_rss[k], 1),
                               "last_half_slope_mb_per_min": None if slope is None else round(slope[0], 2),
                               "slope_se": None if slope is None else round(slope[1], 2),
                               "growth_last_half_pct": None if grow_pct is None else round(grow_pct, 1),
                               "growing": growing})
    errors = len(stats.errors) + (0 if alive else 1)
    p95 = total.get_response_time_percentile(0.95) / 1000
    busy = (cpu1[0] - cpu0[0]) / load.CLK_TCK / load_seconds
    out = {
        "servers": servers, "users": users, "minutes": minutes, "think_s": list(args.think),
        "reruns": total.num_requests - total.num_failures, "visits": stats.visits, "errors": errors,
        "error_kinds": sorted({e["kind"] for e in stats.errors}), "errors_first": stats.errors[:5],
        "reruns_per_s": round((total.num_requests - total.num_failures) / load_seconds, 2),
        "p50_s": round(total.get_response_time_percentile(0.5) / 1000, 3), "p95_s": round(p95, 3),
        "p99_s": round(total.get_response_time_percentile(0.99) / 1000, 3),
        "max_s": round(total.max_response_time / 1000, 3), "steps": steps,
        "machine_busy_cores": round(busy, 2), "memory": memory_verdict, "samples": samples,
        "stop_s": round(stop_s, 1), "users_stuck_at_stop": bool(stuck),
        "warmup_errors": warm_errors, "server_log_problems": log_problems[:10], "servers_alive": alive,
    }
    out["verdict"] = "PASS" if errors == 0 and p95 < P95_LIMIT_S and not any(m["growing"] for m in memory_verdict) \
        else "FAIL"
    return out


def report(r: dict) -> None:
    print(f"  {r['servers']} server(s), {r['users']} users, {r['minutes']:g} min: {r['verdict']} — "
          f"{r['reruns']} reruns ({r['reruns_per_s']}/s), {r['errors']} errors {r['error_kinds']}, "
          f"p50 {r['p50_s']} s, p95 {r['p95_s']} s, p99 {r['p99_s']} s, max {r['max_s']} s; "
          f"machine busy {r['machine_busy_cores']} cores", flush=True)
    for name, s in r["steps"].items():
        print(f"    {name:9s} {s['reruns']:5d} reruns, {s['failures']} failed, p50 {s['p50_s']} s, "
              f"p95 {s['p95_s']} s, max {s['max_s']} s")
    for m in r["memory"]:
        print(f"    server {m['server']}: RSS idle {m['idle_mb']} MB, warm {m['after_warmup_mb']} MB, "
              f"max {m['max_mb']} MB, end {m['end_mb']} MB, last-half slope {m['last_half_slope_mb_per_min']} "
              f"± {m['slope_se']} MB/min ({'growing' if m['growing'] else 'flat'})")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--servers", default="2,1", help="server counts, one run each (default 2,1)")
    ap.add_argument("--users", type=int, default=60)
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--think", type=float, nargs=2, default=(5.0, 15.0))
    ap.add_argument("--ramp", type=float, default=30.0, help="seconds over which the users start")
    ap.add_argument("--sample-every", type=float, default=15.0)
    ap.add_argument("--mem-slope-tol", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stop-timeout", type=float, default=load.RERUN_TIMEOUT + 15,
                    help="seconds the users have to finish their step at the end")
    ap.add_argument("--port", type=int, default=8600, help="the proxy's port (the servers take the next ones)")
    ap.add_argument("--out", default=str(load.RESULTS / "load_cluster.json"))
    args = ap.parse_args()
    runs: list[dict] = []
    out = {"date": time.strftime("%Y-%m-%d"), "machine": {"cores": os.cpu_count(), "cpu": load._cpu_model(),
                                                          "python": platform.python_version()},
           "git": load.git_info(ROOT, None), "runs": runs}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    for n in [int(x) for x in args.servers.split(",")]:
        runs.append(one_run(n, args.users, args.minutes, args))
        report(runs[-1])
        # written after each run: a later run that fails or hangs keeps the earlier ones
        Path(args.out).write_text(json.dumps(out, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"results: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
