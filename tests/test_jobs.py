"""Briefing packs are built off the web process (scale-out issue, point 4): one long-lived worker
per web process runs the jobs in turn with memory and time limits, tells the page how far it is,
keeps its Chromium for the next pack, and a crowd asking for the same pack gets it built once."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from povdata import jobs
from povdata.workers import WorkerLimit


def _pid(progress) -> int:
    progress(0.5, "briefing.step_data")
    return os.getpid()


def _steps(n: int, pause: float, progress) -> str:
    for i in range(n):
        progress((i + 1) / n, "briefing.step_images", done=i + 1, total=n)
        time.sleep(pause)
    return "xong"


def _allocate(mb: int, progress) -> int:
    block = bytearray(mb * 1024 * 1024)
    for i in range(0, len(block), 4096):  # touched, so it is resident
        block[i] = 1
    time.sleep(5)
    return len(block)


def _child_allocating(mb: int, progress) -> int:
    """A grandchild (as Chromium is, in a session of its own) that takes the memory."""
    code = f"b = bytearray({mb} * 1024 * 1024)\nfor i in range(0, len(b), 4096): b[i] = 1\nimport time; time.sleep(30)"
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    proc.wait()
    return proc.returncode


def _die(progress) -> None:
    os._exit(3)


def _fail(progress) -> None:
    raise ValueError("năm 2031 không có số liệu")


def _renderer_starts(progress) -> int:
    from povdata.export_images import RENDERER
    return RENDERER.starts


def _wait(queue: jobs.JobQueue, job_id: str, seconds: float = 120) -> jobs.JobStatus:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = queue.status(job_id)
        if status.finished:
            return status
        time.sleep(0.05)
    raise AssertionError(f"{job_id} still {queue.status(job_id)}")


@pytest.fixture
def queue():
    q = jobs.JobQueue("briefing", lambda: 1024, lambda: 60, max_waiting=2, keep_s=60, keep_max=4)
    yield q
    q.close()


def test_a_job_runs_in_a_worker_process_that_stays_for_the_next(queue):
    a = _wait(queue, queue.submit("a", _pid))
    b = _wait(queue, queue.submit("b", _pid))
    assert a.state == b.state == jobs.DONE
    assert a.result != os.getpid() and a.result == b.result  # another process, the same one twice
    assert queue.workers_started == 1


def test_the_page_sees_the_queue_then_each_step(queue):
    first = queue.submit("a", _steps, 4, 0.4)
    second = queue.submit("b", _steps, 1, 0)
    waiting = queue.status(second)
    assert waiting.state == jobs.QUEUED and waiting.step == "briefing.queued" and waiting.ahead == 1
    seen = set()
    while not (s := queue.status(first)).finished:
        if s.state == jobs.RUNNING and s.step == "briefing.step_images":
            seen.add((s.params["done"], round(s.done, 2)))
        time.sleep(0.05)
    assert s.result == "xong" and s.done == 1.0
    assert {(1, 0.25), (2, 0.5), (3, 0.75)} <= seen
    assert _wait(queue, second).state == jobs.DONE


def test_the_same_pack_asked_for_twice_is_built_once_and_failures_are_not_kept_for_others(queue):
    a = queue.submit(("20", 2025, "vi"), _steps, 2, 0.2)
    assert queue.submit(("20", 2025, "vi"), _steps, 2, 0.2) == a  # while it runs
    _wait(queue, a)
    assert queue.submit(("20", 2025, "vi"), _steps, 2, 0.2) == a  # and once it is done
    assert queue.submit(("20", 2025, "en"), _steps, 2, 0.2) != a
    bad = queue.submit("bad", _fail)
    assert _wait(queue, bad).state == jobs.FAILED
    assert queue.submit("bad", _fail) != bad  # a failure is tried again


def test_a_full_queue_refuses_more(queue):
    queue.submit("running", _steps, 1, 2)
    time.sleep(0.5)
    queue.submit("w1", _steps, 1, 0)
    queue.submit("w2", _steps, 1, 0)
    with pytest.raises(jobs.JobsBusy):
        queue.submit("w3", _steps, 1, 0)


def test_the_functions_own_error_comes_back(queue):
    status = _wait(queue, queue.submit("x", _fail))
    assert isinstance(status.error, ValueError) and "2031" in str(status.error)


def test_the_time_limit_kills_the_worker_and_the_next_job_gets_a_fresh_one(queue):
    queue.seconds = lambda: 1.5
    start = time.monotonic()
    slow = _wait(queue, queue.submit("slow", _steps, 1, 30))
    assert isinstance(slow.error, WorkerLimit) and slow.error.kind == "time"
    assert time.monotonic() - start < 15
    queue.seconds = lambda: 60
    assert _wait(queue, queue.submit("next", _pid)).state == jobs.DONE
    assert queue.workers_started == 2


def test_the_memory_limit_counts_the_workers_children_and_kills_them(queue):
    queue.memory_mb = lambda: 300
    status = _wait(queue, queue.submit("hog", _child_allocating, 600))
    assert isinstance(status.error, WorkerLimit) and status.error.kind == "memory"
    time.sleep(0.5)
    assert not any(p for p in jobs._parents() if _cmdline(p).startswith(f"{sys.executable}\0-c\0b = bytearray(600"))


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as f:
            return f.read()
    except OSError:
        return ""


def test_the_memory_limit_counts_the_worker_itself(queue):
    queue.memory_mb = lambda: 300
    status = _wait(queue, queue.submit("hog", _allocate, 600))
    assert isinstance(status.error, WorkerLimit) and status.error.kind == "memory"


def test_a_worker_that_dies_fails_its_job_and_the_next_job_still_runs(queue):
    status = _wait(queue, queue.submit("die", _die))
    assert isinstance(status.error, WorkerLimit) and status.error.kind == "crash"
    assert _wait(queue, queue.submit("after", _pid)).state == jobs.DONE


def test_an_unused_worker_is_stopped(queue):
    queue.idle_s = 1.0
    pid = _wait(queue, queue.submit("a", _pid)).result
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        time.sleep(0.2)
    assert not os.path.exists(f"/proc/{pid}") or open(f"/proc/{pid}/stat").read().split()[2] == "Z"
    assert _wait(queue, queue.submit("b", _pid)).result != pid
    assert queue.workers_started == 2


def test_finished_jobs_are_kept_a_while_and_a_bounded_number(queue):
    ids = [queue.submit(f"k{i}", _steps, 1, 0) for i in range(2)]
    for i in ids:
        _wait(queue, i)
    ids += [queue.submit(f"k{i}", _steps, 1, 0) for i in range(2, 4)]
    for i in ids[2:]:
        _wait(queue, i)
    ids += [queue.submit(f"k{i}", _steps, 1, 0) for i in range(4, 6)]
    for i in ids[4:]:
        _wait(queue, i)
    assert queue.status(ids[0]) is None and queue.status(ids[1]) is None  # keep_max = 4
    assert queue.status(ids[5]).state == jobs.DONE
    queue.keep_s = 0
    assert queue.status(ids[5]) is None


def test_limits_are_settings(monkeypatch):
    monkeypatch.setenv("POVDASH_PACK_MEMORY_MB", "2000")
    monkeypatch.setenv("POVDASH_PACK_SECONDS", "90")
    assert (jobs.pack_memory_mb(), jobs.pack_seconds()) == (2000, 90)
    monkeypatch.setenv("POVDASH_PACK_SECONDS", "mãi")
    assert jobs.pack_seconds() == jobs.DEFAULT_PACK_SECONDS


def test_in_process_mode_runs_the_job_in_the_caller(monkeypatch, queue):
    monkeypatch.setenv("POVDASH_PARSE_IN_PROCESS", "1")
    status = queue.status(queue.submit("here", _pid))
    assert status.state == jobs.DONE and status.result == os.getpid()


def test_two_packs_in_the_worker_share_one_chromium_and_report_their_steps():
    from povdata.briefing import pack_files
    from povdata.dataset import load_demo
    from povdata.export_images import RENDERER
    from povdata.targets import default_targets

    q = jobs.JobQueue("briefing", jobs.pack_memory_mb, jobs.pack_seconds)
    try:
        here = RENDERER.starts
        ds, cfg = load_demo("20"), default_targets("20")
        first = q.submit("a", pack_files, ds, 2025, "vi", cfg)
        steps = []
        while not (s := q.status(first)).finished:
            if not steps or steps[-1] != s.step:
                steps.append(s.step)
            time.sleep(0.05)
        assert s.state == jobs.DONE, s.error
        assert s.result["pptx"][:2] == b"PK" and s.result["pdf"][:5] == b"%PDF-"
        assert s.result["stem"] == "bo-tai-lieu-hop-20-2025" and s.result["slides"] >= 8
        assert {"briefing.step_images", "briefing.step_pdf"} <= set(steps)
        second = _wait(q, q.submit("b", pack_files, ds, 2024, "en", cfg))
        assert second.state == jobs.DONE and second.result["stem"].endswith("2024")
        assert _wait(q, q.submit("starts", _renderer_starts)).result == 1  # one Chromium for both packs
        assert RENDERER.starts == here  # none in this (the web) process
        assert q.workers_started == 1 and 300 < q.peak_mb < jobs.DEFAULT_PACK_MEMORY_MB
    finally:
        q.close()


def test_a_failure_is_said_in_the_users_words():
    from povdata.briefing import pack_failure
    from povdata.messages import say

    assert "300 giây" in say(pack_failure(WorkerLimit("time", 300)), "vi")
    assert "3.072 MB" in say(pack_failure(WorkerLimit("memory", 3072)), "vi")
    assert "3,072 MB" in say(pack_failure(WorkerLimit("memory", 3072)), "en")
    assert "dừng bất thường" in say(pack_failure(WorkerLimit("crash", 1)), "vi")
    assert say(pack_failure(ValueError("2031 ∉ 2016-2026")), "vi") == "2031 ∉ 2016-2026"
    assert "Traceback" not in say(pack_failure(KeyError("x")), "vi")
    assert say(pack_failure(KeyError("x")), "en").startswith("the process building the pack")


def test_the_overview_builds_the_pack_in_the_worker_and_shows_its_progress_then_the_downloads():
    from app_helpers import run_app
    from povdata.export_images import RENDERER

    here = RENDERER.starts
    at = run_app()
    at.button(key="briefing_build").click().run()
    assert not at.exception, at.exception
    texts, deadline = [], time.monotonic() + 180
    while not at.success and time.monotonic() < deadline:
        texts += [p.proto.text for p in at.get("progress")]
        assert at.button(key="briefing_build").disabled  # asked once, not again while it runs
        time.sleep(0.5)
        at.run()  # what the fragment's own timer does in the browser
        assert not at.exception, at.exception
    assert at.success[0].value.startswith("Đã tạo bộ tài liệu: 10 trang")
    assert any(t.startswith("Đang vẽ bản đồ và biểu đồ: ") for t in texts), texts
    labels = [b.label for b in at.get("download_button")]
    assert "Tải PowerPoint (.pptx)" in labels and "Tải PDF" in labels
    assert not at.button(key="briefing_build").disabled
    assert RENDERER.starts == here  # the web process opened no Chromium


def test_a_pack_that_fails_in_the_worker_is_an_error_on_the_page(monkeypatch):
    from app_helpers import run_app

    monkeypatch.setenv("POVDASH_PACK_SECONDS", "1")  # read by the worker's dispatcher per job
    at = run_app()
    at.selectbox(key="briefing_year").set_value(2024).run()
    at.button(key="briefing_build").click().run()
    deadline = time.monotonic() + 60
    while not at.error and time.monotonic() < deadline:
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    assert at.error[0].value.replace("\\", "") == (  # the markdown's escapes aside
        "Không tạo được bộ tài liệu: việc tạo mất hơn 1 giây nên đã dừng (giới hạn để máy chủ phục vụ người khác).")
    at.run()
    assert at.error and not at.get("progress")  # said once, and no bar left behind
