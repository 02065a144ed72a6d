"""Uploads are parsed in a limited child process (security review, "all parsing of uploads in a
subprocess with memory and time limits"; scale-out issue, point 4): a file that needs too much
memory or time is refused with a message naming it, and the web process is untouched."""
from __future__ import annotations

import os
import resource
import time

import pytest

from povdata import workers
from povdata.importer import prepare_indicators, prepare_indicators_limited
from geo.importing import prepare_boundaries_limited


def _allocate(mb: int) -> int:
    block = bytearray(mb * 1024 * 1024)
    return len(block)


def _pid() -> int:
    return os.getpid()


def _env(name: str) -> str:
    return os.environ.get(name, "")


def _fail() -> None:
    raise ValueError("hỏng ở dòng 3")


def test_the_call_runs_in_another_process_and_its_answer_comes_back():
    assert workers.run_limited(_pid) != os.getpid()
    assert workers.run_limited(_allocate, 10) == 10 * 1024 * 1024


def test_a_memory_hog_is_stopped_in_the_child_not_in_the_server():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(workers.WorkerLimit) as info:
        workers.run_limited(_allocate, 2048, memory_mb=1024)
    assert info.value.kind == "memory"
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200 * 1024  # KB: no 2 GB here


def test_a_slow_parse_is_killed_at_the_time_limit():
    start = time.monotonic()
    with pytest.raises(workers.WorkerLimit) as info:
        workers.run_limited(time.sleep, 30, seconds=1.5)
    assert info.value.kind == "time"
    assert time.monotonic() - start < 10


def test_the_functions_own_errors_come_back_as_they_were():
    with pytest.raises(ValueError, match="hỏng ở dòng 3"):
        workers.run_limited(_fail)


def test_the_child_reads_the_callers_settings_of_the_moment(monkeypatch):
    workers.run_limited(_pid)  # the fork server exists already, started with other settings
    monkeypatch.setenv("POVDASH_MAX_UPLOAD_MB", "7")
    assert workers.run_limited(_env, "POVDASH_MAX_UPLOAD_MB") == "7"
    monkeypatch.delenv("POVDASH_MAX_UPLOAD_MB")
    assert workers.run_limited(_env, "POVDASH_MAX_UPLOAD_MB") == ""


def test_limits_are_settings(monkeypatch):
    monkeypatch.setenv("POVDASH_PARSE_MEMORY_MB", "1500")
    monkeypatch.setenv("POVDASH_PARSE_SECONDS", "45")
    assert (workers.memory_limit_mb(), workers.time_limit_seconds()) == (1500, 45)
    monkeypatch.setenv("POVDASH_PARSE_SECONDS", "không")
    assert workers.time_limit_seconds() == workers.DEFAULT_SECONDS


def test_a_limited_import_gives_the_same_answer_as_in_process():
    data = ("Mã xã,Tên xã,Năm,Tổng số hộ,Số hộ nghèo\n05977,Xã Hoàng Đồng,2023,1200,60\n").encode("utf-8")
    a = prepare_indicators(data, "mot_xa.csv", "20", allow_partial=True)
    b = prepare_indicators_limited(data, "mot_xa.csv", "20", allow_partial=True)
    assert a.ok == b.ok and a.era == b.era
    assert a.indicators.equals(b.indicators)
    assert [p.message for p in a.report.problems] == [p.message for p in b.report.problems]


def test_an_import_over_the_limit_is_refused_naming_the_file(monkeypatch):
    monkeypatch.setenv("POVDASH_PARSE_SECONDS", "0.01")
    data = ("Mã xã,Năm,Tổng số hộ,Số hộ nghèo\n" + "05977,2023,1200,60\n" * 10).encode("utf-8")
    imp = prepare_indicators_limited(data, "rat_lon.csv", "20")
    assert not imp.ok
    (problem,) = imp.report.problems
    assert problem.file == "rat_lon.csv" and "giây" in problem.message
    bnd = prepare_boundaries_limited(b'{"type": "FeatureCollection", "features": []}', "ranh_gioi.geojson", "20")
    assert not bnd.report.ok
    assert bnd.report.problems[0].file == "ranh_gioi.geojson" and "giây" in bnd.report.problems[0].message


def test_the_import_page_parses_uploads_only_through_the_limited_children():
    """The page's two parse steps call the limited versions; no unlimited parser is called
    from any page (the CLI, run by staff in their own process, may call them directly)."""
    import ast
    from pathlib import Path

    called = set()
    for path in Path(__file__).resolve().parents[1].joinpath("pages").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                called.add((path.name, getattr(node.func, "id", getattr(node.func, "attr", ""))))
    assert {("import_data.py", "prepare_indicators_limited"), ("import_data.py", "prepare_boundaries_limited")} <= called
    assert not {c for c in called if c[1] in ("prepare_indicators", "prepare_boundaries", "read_sheet", "read_vector")}


def test_messages_from_the_child_still_say_themselves_in_english():
    # a count that is not a number: the child's report comes back pickled, its messages still
    # catalogue messages (the English page shows them in English)
    data = ("Mã xã,Tên xã,Năm,Tổng số hộ,Số hộ nghèo\n05977,Xã Hoàng Đồng,2023,1200,sáu mươi\n").encode("utf-8")
    b = prepare_indicators_limited(data, "mot_xa.csv", "20", allow_partial=True)
    p = next(p for p in b.report.problems if "sáu mươi" in str(p.message))
    assert str(p.message) == "giá trị 'sáu mươi' không phải là số."
    assert p.say("en").endswith("the value 'sáu mươi' is not a number.")
