"""Long jobs off the web process, with their progress (scale-out issue, point 4): a briefing
pack takes tens of seconds and a Chromium; building it inside the web server held one of the
server's threads and its memory for the whole time, with a spinner and no sign of how far it was.

A :class:`JobQueue` is a bounded process pool of one long-lived worker per web process:

* **One worker process**, from the upload parsers' fork server (:mod:`povdata.workers`), runs
  the jobs one after the other.  It lives on between jobs, so the image renderer it opens
  (kaleido's Chromium, :data:`povdata.export_images.RENDERER`) is started once and reused by the
  next pack; unused for :attr:`JobQueue.idle_s` the worker is stopped (its memory back).
* **Limits.**  The memory of the worker and its Chromium (their PSS, read from ``/proc``) is
  checked every half second, and both are killed above the memory limit, as they are after
  the time limit.  The job fails with :class:`~povdata.workers.WorkerLimit`; the next job
  starts a fresh worker.  (``RLIMIT_AS``, as the parsers use, cannot be used here: Chromium
  reserves far more address space than it uses.)
* **A bounded queue.**  At most :attr:`JobQueue.max_waiting` jobs wait; another is refused
  (:class:`JobsBusy`), so a crowd cannot queue unbounded work.  The same job asked for twice (the
  same *key*: province, data version, targets, year, language) is done once: everyone who asks
  while it runs, or shortly after, gets the same result.
* **Progress.**  The job's function receives ``progress(fraction, message_key, **params)``; the
  page polls :meth:`JobQueue.status` and shows the fraction and the catalogue message (before
  the function's first word: ``<name>.queued`` with ``ahead``, then ``<name>.starting``).
* **Finished jobs** are kept :attr:`JobQueue.keep_s` seconds, at most :attr:`JobQueue.keep_max`
  of them, so the results' memory is bounded too.

``POVDASH_PARSE_IN_PROCESS=1`` (debugging, as for the parsers) runs a job in the caller's thread.
"""
from __future__ import annotations

import atexit
import itertools
import logging
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable

from povdata import workers

log = logging.getLogger("povdash")

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"

DEFAULT_PACK_MEMORY_MB = 3072
DEFAULT_PACK_SECONDS = 300.0
_PAGE = os.sysconf("SC_PAGE_SIZE")


class JobsBusy(RuntimeError):
    """Too many jobs are waiting: try again later."""


@dataclass
class _Job:
    id: str
    key: Hashable
    fn: Callable
    args: tuple
    kwargs: dict
    env: dict[str, str]
    state: str = QUEUED
    done: float = 0.0
    step: str = ""
    params: dict = field(default_factory=dict)
    result: Any = None
    error: BaseException | None = None
    submitted: float = field(default_factory=time.monotonic)
    started: float | None = None
    finished: float | None = None


@dataclass(frozen=True)
class JobStatus:
    """What a page shows of a job: its state, how far it is (0-1) and the catalogue key of its
    current step (with its parameters); ``ahead`` is the number of jobs before a queued one;
    ``result`` (done) or ``error`` (failed)."""
    id: str
    state: str
    done: float
    step: str
    params: dict
    ahead: int
    result: Any
    error: BaseException | None
    seconds: float

    @property
    def finished(self) -> bool:
        return self.state in (DONE, FAILED)


def _parents() -> dict[int, int]:
    """pid → parent pid of every process, from ``/proc``."""
    out: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as f:
                    stat = f.read()
                out[int(entry.name)] = int(stat[stat.rindex(b")") + 2:].split()[1])  # state ppid …
            except (OSError, ValueError, IndexError):
                continue  # the process ended while it was read
    return out


def tree_pids(root: int) -> list[int]:
    """``root`` and all its descendants (Chromium starts in a session of its own, so a process
    group would not hold it)."""
    children: dict[int, list[int]] = {}
    for pid, ppid in _parents().items():
        children.setdefault(ppid, []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def tree_memory_mb(root: int) -> float:
    """Memory of ``root`` and its descendants in MB: the sum of their PSS (shared pages
    counted once between them), from ``/proc``; RSS where ``smaps_rollup`` cannot be read."""
    total = 0
    for pid in tree_pids(root):
        try:
            try:
                with open(f"/proc/{pid}/smaps_rollup", "rb") as f:
                    total += next(int(line.split()[1]) * 1024 for line in f if line.startswith(b"Pss:"))
            except (OSError, StopIteration):
                with open(f"/proc/{pid}/statm", "rb") as f:
                    total += int(f.read().split()[1]) * _PAGE
        except (OSError, ValueError, IndexError):
            continue
    return total / 1024 / 1024


def _serve(conn) -> None:
    """The worker's loop: jobs in, progress and answers out, until told to stop (``None``) or
    the web process goes away."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # closes the renderer on the way out
    send_lock = threading.Lock()
    base = {k: v for k, v in os.environ.items() if not k.startswith("POVDASH_")}

    def send(message: tuple) -> None:
        with send_lock:
            conn.send(message)

    try:
        while True:
            try:
                message = conn.recv()
            except (EOFError, OSError):
                break
            if message is None:
                break
            job_id, fn, args, kwargs, env = message
            os.environ.clear()
            os.environ.update(base)
            os.environ.update(env)

            def progress(fraction: float, step: str, /, _id: str = job_id, **params: Any) -> None:
                send(("progress", _id, float(fraction), step, params))

            try:
                answer: tuple = ("ok", job_id, fn(*args, progress=progress, **kwargs))
            except MemoryError:
                answer = ("memory", job_id, None)
            except Exception as exc:  # noqa: BLE001  raised again in the caller
                answer = ("raise", job_id, exc)
            try:
                send(answer)
            except (BrokenPipeError, EOFError, OSError):
                break
            except Exception as exc:  # noqa: BLE001  an unpicklable answer
                send(("raise", job_id, RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        try:
            from povdata.export_images import RENDERER
            RENDERER.close()  # a worker's exit runs no atexit handlers
        except Exception:  # noqa: BLE001
            pass


class _Worker:
    def __init__(self) -> None:
        ctx = workers._context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="povdash-jobs")
        self.proc.start()
        child.close()
        self.pid = self.proc.pid

    def alive(self) -> bool:
        return self.proc.is_alive()

    def kill(self) -> None:
        """The worker and its Chromium, at once."""
        for pid in tree_pids(self.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        self.proc.join(5)
        self.conn.close()

    def stop(self) -> None:
        try:
            self.conn.send(None)
            self.proc.join(30)
        except (BrokenPipeError, OSError):
            pass
        if self.proc.is_alive():
            self.kill()
        else:
            self.conn.close()


class JobQueue:
    """A queue of jobs run by one worker process of this web process (see the module's text)."""

    def __init__(self, name: str, memory_mb: Callable[[], float], seconds: Callable[[], float],
                 max_waiting: int = 8, keep_s: float = 900.0, keep_max: int = 16, idle_s: float = 900.0):
        self.name = name
        self.memory_mb, self.seconds = memory_mb, seconds
        self.max_waiting, self.keep_s, self.keep_max, self.idle_s = max_waiting, keep_s, keep_max, idle_s
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._cond = threading.Condition()
        self._ids = itertools.count(1)
        self._thread: threading.Thread | None = None
        self._worker: _Worker | None = None
        self.workers_started = 0  # how many worker processes this queue started (tests)
        self.peak_mb = 0.0  # the most memory a job's worker (with its Chromium) was seen using

    # -- the page's side -------------------------------------------------------------------
    def submit(self, key: Hashable, fn: Callable, *args: Any, **kwargs: Any) -> str:
        """Queue ``fn(*args, progress=…, **kwargs)`` (a module-level function) and return the
        job's id; the id of the job with the same ``key`` when one is waiting, running or
        recently done.  :class:`JobsBusy` when :attr:`max_waiting` jobs wait already."""
        with self._cond:
            self._prune()
            for job in reversed(self._jobs.values()):
                if job.key == key and job.state != FAILED:
                    return job.id
            if sum(j.state == QUEUED for j in self._jobs.values()) >= self.max_waiting:
                raise JobsBusy(self.name)
            job = _Job(f"{self.name}-{os.getpid()}-{next(self._ids)}", key, fn, args, kwargs,
                       {k: v for k, v in os.environ.items() if k.startswith("POVDASH_")}, step=f"{self.name}.queued")
            self._jobs[job.id] = job
            if not workers.isolation_on():
                self._run_here(job)
                return job.id
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._dispatch, name=f"povdash-{self.name}-jobs",
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()
            return job.id

    def status(self, job_id: str) -> JobStatus | None:
        """The job as it is now; ``None`` for an unknown or long-finished job."""
        with self._cond:
            self._prune()
            job = self._jobs.get(job_id)
            if job is None:
                return None
            ahead = 0
            if job.state == QUEUED:
                ahead = sum(1 for j in self._jobs.values()
                            if j.state == RUNNING or (j.state == QUEUED and j.submitted < job.submitted))
            end = job.finished or time.monotonic()
            return JobStatus(job.id, job.state, job.done, job.step, dict(job.params), ahead, job.result, job.error,
                             end - (job.started or job.submitted))

    def close(self, now: bool = False) -> None:
        """Stop the worker once its job is done, or (``now``: the server's exit) at once."""
        with self._cond:
            worker, self._worker = self._worker, None
            self._cond.notify_all()
        if worker is not None:
            worker.kill() if now else worker.stop()

    # -- inside ----------------------------------------------------------------------------
    def _prune(self) -> None:
        now = time.monotonic()
        for j in [j for j in self._jobs.values() if j.finished is not None]:
            if now - (j.finished or now) > self.keep_s:
                del self._jobs[j.id]
        finished = [j for j in self._jobs.values() if j.finished is not None]
        for j in finished[:max(0, len(finished) - self.keep_max)]:
            del self._jobs[j.id]

    def _finish(self, job: _Job, state: str, result: Any = None, error: BaseException | None = None) -> None:
        with self._cond:
            job.state, job.result, job.error, job.finished = state, result, error, time.monotonic()
            if state == DONE:
                job.done = 1.0
            job.fn, job.args, job.kwargs = _nothing, (), {}  # the inputs' memory back
            self._cond.notify_all()

    def _run_here(self, job: _Job) -> None:
        job.state, job.started = RUNNING, time.monotonic()

        def progress(fraction: float, step: str, /, **params: Any) -> None:
            job.done, job.step, job.params = float(fraction), step, params
        try:
            self._finish(job, DONE, job.fn(*job.args, progress=progress, **job.kwargs))
        except Exception as exc:  # noqa: BLE001  shown by the page
            self._finish(job, FAILED, error=exc)

    def _next(self) -> _Job | None:
        """The oldest waiting job; ``None`` after :attr:`idle_s` with none (the worker is then
        stopped by the caller)."""
        with self._cond:
            deadline = time.monotonic() + self.idle_s
            while True:
                job = next((j for j in self._jobs.values() if j.state == QUEUED), None)
                if job is not None:
                    job.state, job.started, job.step = RUNNING, time.monotonic(), f"{self.name}.starting"
                    return job
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(min(left, 5.0))

    def _dispatch(self) -> None:
        while True:
            job = self._next()
            if job is None:
                with self._cond:
                    worker, self._worker = self._worker, None
                if worker is not None:
                    worker.stop()
                    log.info("%s worker stopped after %.0f s unused", self.name, self.idle_s)
                continue
            try:
                self._run(job)
            except Exception as exc:  # noqa: BLE001  never leave a job running
                log.exception("%s job %s", self.name, job.id)
                if job.finished is None:
                    self._finish(job, FAILED, error=exc)

    def _run(self, job: _Job) -> None:
        memory_mb, seconds = self.memory_mb(), self.seconds()
        with self._cond:
            if self._worker is not None and not self._worker.alive():
                self._worker = None
            if self._worker is None:
                self._worker = _Worker()
                self.workers_started += 1
            worker = self._worker
        try:
            worker.conn.send((job.id, job.fn, job.args, job.kwargs, job.env))
        except Exception as exc:  # noqa: BLE001  an unpicklable input, or a worker that just died
            self._finish(job, FAILED, error=RuntimeError(f"{type(exc).__name__}: {exc}"))
            return
        deadline = (job.started or time.monotonic()) + seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return self._limit(worker, job, "time", seconds)
            try:
                ready = worker.conn.poll(min(left, 0.5))
                message = worker.conn.recv() if ready else None
            except (EOFError, OSError):
                return self._limit(worker, job, "crash", memory_mb)
            if message is None:
                used = tree_memory_mb(worker.pid)
                self.peak_mb = max(self.peak_mb, used)
                if used > memory_mb:
                    return self._limit(worker, job, "memory", memory_mb)
                if not worker.alive():
                    return self._limit(worker, job, "crash", memory_mb)
                continue
            kind, job_id, *rest = message
            if job_id != job.id:
                continue
            if kind == "progress":
                with self._cond:
                    job.done, job.step, job.params = rest[0], rest[1], rest[2]
                continue
            if kind == "ok":
                return self._finish(job, DONE, rest[0])
            if kind == "memory":
                return self._finish(job, FAILED, error=workers.WorkerLimit("memory", memory_mb))
            return self._finish(job, FAILED, error=rest[0])

    def _limit(self, worker: _Worker, job: _Job, kind: str, limit: float) -> None:
        log.warning("%s job %s stopped: %s limit %s", self.name, job.id, kind, limit)
        worker.kill()
        with self._cond:
            if self._worker is worker:
                self._worker = None
        self._finish(job, FAILED, error=workers.WorkerLimit(kind, limit))


def _nothing(*_a: Any, **_k: Any) -> None:
    return None


def pack_memory_mb() -> float:
    """Memory limit of the briefing worker and its Chromium (``POVDASH_PACK_MEMORY_MB``, default
    3 GB)."""
    return workers._setting("POVDASH_PACK_MEMORY_MB", DEFAULT_PACK_MEMORY_MB)


def pack_seconds() -> float:
    """Time limit of one briefing pack (``POVDASH_PACK_SECONDS``, default 300 s)."""
    return workers._setting("POVDASH_PACK_SECONDS", DEFAULT_PACK_SECONDS)


#: the briefing packs of this web process
PACKS = JobQueue("briefing", pack_memory_mb, pack_seconds)
atexit.register(PACKS.close, True)
