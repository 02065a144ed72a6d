"""``python -m povdata`` run as a user runs it: the venv's python, from the repository root.

Every command is started once, all together (each is a few seconds of imports), and the
tests read their results.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_VENV_PYTHON = ROOT / ".venv" / "bin" / "python"
PYTHON = str(_VENV_PYTHON if _VENV_PYTHON.exists() else sys.executable)
COMMITTED_DEMO = ROOT / "data" / "demo" / "20"


@pytest.fixture(scope="module")
def tmp(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("cli")
    (folder / "bad_targets.toml").write_text('province_code = "20"\n[[period]]\nid = "x"\nstart = 2016\n',
                                            encoding="utf-8")
    (folder / "unknown_code.csv").write_text("unit_code,year,households_total,poor_households\n99999,2020,100,1\n",
                                             encoding="utf-8")
    (folder / "broken.xlsx").write_bytes(b"not a workbook")
    return folder


@pytest.fixture(scope="module")
def cli(tmp) -> dict[str, subprocess.CompletedProcess]:
    commands = {
        "progress_json": ["progress", "--level", "province", "--format", "json"],
        "progress_csv_2018": ["progress", "--level", "province", "--as-of", "2018"],
        "progress_bad_targets": ["progress", "--targets", str(tmp / "bad_targets.toml")],
        "validate_clean": ["validate", str(FIXTURES / "indicators_clean.csv"), "--partial"],
        "validate_clean_20": ["validate", str(FIXTURES / "indicators_clean.csv"), "--province", "20", "--partial"],
        "validate_partial": ["validate", str(FIXTURES / "indicators_clean.csv"), "--province", "20"],
        "validate_bad": ["validate", str(FIXTURES / "indicators_bad.csv"), "--province", "20"],
        "validate_unknown_code": ["validate", str(tmp / "unknown_code.csv"), "--province", "20"],
        "validate_unreadable": ["validate", str(tmp / "broken.xlsx")],
        "demo": ["demo", "--out", str(tmp / "demo")],
        "unknown_command": ["frobnicate"],
    }
    procs = {k: subprocess.Popen([PYTHON, "-m", "povdata", *args], cwd=ROOT, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for k, args in commands.items()}
    results = {}
    for key, proc in procs.items():
        out, err = proc.communicate(timeout=180)
        results[key] = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    return results


def test_progress_province_json(cli):
    res = cli["progress_json"]
    assert res.returncode == 0, res.stderr
    rows = json.loads(res.stdout)
    assert rows and {r["level"] for r in rows} == {"province"}
    assert {r["data_status"] for r in rows} == {"illustrative"}
    row = next(r for r in rows if r["period_id"] == "2016-2020" and r["target_id"] == "province_3pp")
    assert row["achieved_pp_per_year"] == pytest.approx(3.61, abs=0.005)
    assert row["status"] == "met"
    assert row["unit_name"] == "Tỉnh Lạng Sơn"


def test_progress_csv_as_of(cli):
    res = cli["progress_csv_2018"]
    assert res.returncode == 0, res.stderr
    header, *lines = res.stdout.splitlines()
    assert header.startswith("data_status,period_id,target_id")
    row = next(dict(zip(header.split(","), ln.split(","))) for ln in lines if ln.split(",")[1] == "2016-2020")
    assert row["latest_year"] == "2018" and row["status"] == "on_track"  # years stay integers


def test_progress_with_a_broken_targets_file(cli):
    res = cli["progress_bad_targets"]
    assert res.returncode == 2
    assert "bad_targets.toml" in res.stderr and "'end'" in res.stderr
    assert "Traceback" not in res.stderr


@pytest.mark.parametrize("key", ["validate_clean", "validate_clean_20"])
def test_validate_clean_file(cli, key):
    res = cli[key]
    assert res.returncode == 0, res.stdout + res.stderr
    assert "indicators_clean.csv hợp lệ: 4 dòng" in res.stdout


@pytest.mark.parametrize("key, name", [("validate_bad", "indicators_bad.csv"),
                                       ("validate_unknown_code", "unknown_code.csv")])
def test_validate_bad_file(cli, key, name):
    res = cli[key]
    out = res.stdout + res.stderr
    assert res.returncode != 0
    assert "dòng" in out and "cột" in out and name in out
    assert "Traceback" not in out


def test_validate_refuses_a_partial_year_unless_confirmed(cli):
    # two communes of 194 are not Lạng Sơn's 2020 and 2021: the file would have been 'valid' and
    # gone live as the province's figure
    res = cli["validate_partial"]
    assert res.returncode == 1
    assert "năm 2020 chỉ có 2 / 194 xã" in res.stdout and "--partial" in res.stdout


def test_validate_unreadable_file(cli):
    res = cli["validate_unreadable"]
    assert res.returncode != 0
    assert "broken.xlsx" in res.stdout and "Traceback" not in res.stdout + res.stderr


def test_demo_writes_the_dataset(cli, tmp):
    res = cli["demo"]
    out = tmp / "demo"
    assert res.returncode == 0, res.stderr
    assert {p.name for p in out.iterdir()} == {"indicators.csv", "boundaries.gpkg", "meta.toml"}
    meta = tomllib.loads((out / "meta.toml").read_text(encoding="utf-8"))
    assert meta["data_status"] == "illustrative"
    assert meta["source"] and meta["version"]
    # the CLI writes what is committed as the embedded demo
    assert (out / "indicators.csv").read_bytes() == (COMMITTED_DEMO / "indicators.csv").read_bytes()
    assert (out / "boundaries.gpkg").stat().st_size > 0


def test_unknown_command_is_a_usage_error(cli):
    res = cli["unknown_command"]
    assert res.returncode == 2 and "usage" in res.stderr.lower()
