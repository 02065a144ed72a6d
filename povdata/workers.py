"""Heavy work off the web process: parse an upload in a child process with a memory and a
time limit, so a hostile or huge file cannot take the web server's memory or stall other
users (security review, "all parsing of uploads in a subprocess"; scale-out issue, point 4).

* **Children come from a fork server** (``multiprocessing``'s ``forkserver``) that has the
  parsing modules loaded once: a child starts in tens of milliseconds, not the seconds that
  importing geopandas takes, and never inherits the web server's threads or locks.
* **Limits.**  Each child sets ``RLIMIT_AS`` to :func:`memory_limit_mb` (a file that needs more
  raises ``MemoryError`` inside the child, not in the server) and is killed after
  :func:`time_limit_seconds`.  At most :data:`MAX_PARALLEL` children run per web process; a
  further upload waits for a free slot.
* **The environment** the function reads (``POVDASH_*`` settings) is the caller's at the time
  of the call, not the fork server's at its start.

:func:`run_limited` raises :class:`WorkerLimit` (kind ``memory`` | ``time`` | ``crash``) when
a limit was hit; the function's own exceptions are raised again in the caller.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from typing import Any, Callable

DEFAULT_MEMORY_MB = 4096
DEFAULT_SECONDS = 180.0
MAX_PARALLEL = 2
PRELOAD = ["povdata.importer", "geo.importing"]

_SLOTS = threading.BoundedSemaphore(MAX_PARALLEL)
_CTX_LOCK = threading.Lock()
_CTX = None


class WorkerLimit(RuntimeError):
    """The child hit a limit: ``kind`` is ``memory``, ``time`` or ``crash``."""

    def __init__(self, kind: str, limit: float):
        super().__init__(f"{kind} limit {limit}")
        self.kind = kind
        self.limit = limit


def _setting(name: str, default: float) -> float:
    try:
        value = float(os.environ.get(name, "").replace(",", ".") or default)
    except ValueError:
        return default
    return value if value > 0 else default


def memory_limit_mb() -> float:
    """Address-space limit of a parsing child (``POVDASH_PARSE_MEMORY_MB``, default 4 GB:
    a child that parsed a district boundary file peaked at 1,6 GB of address space)."""
    return _setting("POVDASH_PARSE_MEMORY_MB", DEFAULT_MEMORY_MB)


def time_limit_seconds() -> float:
    """Wall-clock limit of a parsing child (``POVDASH_PARSE_SECONDS``, default 180 s)."""
    return _setting("POVDASH_PARSE_SECONDS", DEFAULT_SECONDS)


def isolation_on() -> bool:
    """``POVDASH_PARSE_IN_PROCESS=1`` turns the children off (debugging only)."""
    return os.environ.get("POVDASH_PARSE_IN_PROCESS", "") not in ("1", "true", "yes")


def _context():
    global _CTX
    with _CTX_LOCK:
        if _CTX is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(PRELOAD)
            _CTX = ctx
        return _CTX


def _child(conn, fn: Callable, args: tuple, kwargs: dict, env: dict[str, str], memory_mb: float) -> None:
    import resource

    limit = int(memory_mb * 1024 * 1024)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    for key in [k for k in os.environ if k.startswith("POVDASH_")]:
        os.environ.pop(key)
    os.environ.update(env)
    try:
        result = ("ok", fn(*args, **kwargs))
    except MemoryError:
        result = ("memory", None)
    except BaseException as exc:  # noqa: BLE001  raised again in the caller
        result = ("raise", exc)
    try:
        conn.send(result)
    except MemoryError:
        conn.send(("memory", None))
    except Exception as exc:  # noqa: BLE001  an unpicklable result or exception
        conn.send(("raise", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        conn.close()


def run_limited(fn: Callable, *args: Any, memory_mb: float | None = None, seconds: float | None = None,
                **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` in a limited child process (``fn`` must be importable by name:
    a module-level function).  In process when :func:`isolation_on` is false."""
    if not isolation_on():
        return fn(*args, **kwargs)
    memory_mb = memory_limit_mb() if memory_mb is None else memory_mb
    seconds = time_limit_seconds() if seconds is None else seconds
    env = {k: v for k, v in os.environ.items() if k.startswith("POVDASH_")}
    with _SLOTS:
        ctx = _context()
        receive, send = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=_child, args=(send, fn, args, kwargs, env, memory_mb), daemon=True)
        proc.start()
        send.close()
        try:
            deadline = time.monotonic() + seconds
            message = None
            while message is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise WorkerLimit("time", seconds)
                if receive.poll(min(left, 0.5)):
                    try:
                        message = receive.recv()
                    except EOFError:  # the child died without an answer (killed by the system)
                        raise WorkerLimit("crash", memory_mb) from None
                elif not proc.is_alive() and not receive.poll(0):
                    raise WorkerLimit("crash", memory_mb)
        finally:
            receive.close()
            if proc.is_alive():
                proc.kill()
            proc.join(5)
    kind, value = message
    if kind == "ok":
        return value
    if kind == "memory":
        raise WorkerLimit("memory", memory_mb)
    raise value


def _nothing() -> None:
    return None


def warm() -> None:
    """Start the fork server in the background (the server calls this at start), so the first
    upload does not wait the second or two its start takes."""
    if not isolation_on() or multiprocessing.parent_process() is not None:
        return  # a child process never starts workers of its own

    def start() -> None:
        try:
            run_limited(_nothing, seconds=120)
        except RuntimeError as exc:  # while the interpreter is still starting: the first upload starts it
            logging.getLogger("povdash").info("upload workers not warmed at start: %s", str(exc).strip()[:80])
    threading.Thread(target=start, name="povdash-workers-warm", daemon=True).start()


def limit_message(exc: WorkerLimit) -> str:
    """What the user is told (the file is refused and nothing is stored)."""
    from povdata.messages import Msg, Num

    if exc.kind == "time":
        return Msg("workers.too_slow", limit=Num(exc.limit, 0))
    if exc.kind == "memory":
        return Msg("workers.too_much_memory", limit=Num(exc.limit, 0))
    return Msg("workers.crashed")
