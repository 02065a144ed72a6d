"""``python -m povdata import``: the same checks as the page, exit codes, never a traceback."""
from __future__ import annotations

import pytest

from import_fixtures import GOV_ZIP, official_workbook
from povdata.cli import main
from povdata.store import open_store, versions

RENAMED = {"06100": "Xã Văn Thụ", "06136": "Xã Thượng Hùng"}


@pytest.fixture
def workbook(tmp_path):
    p = tmp_path / "bieu.xlsx"
    p.write_bytes(official_workbook(2024, rename=RENAMED))
    return p


def test_unmatched_rows_are_refused_then_fixed(workbook, tmp_path, capsys):
    data = tmp_path / "data"
    assert main(["import", "--indicators", str(workbook), "--data-dir", str(data)]) == 1
    out, err = capsys.readouterr()
    assert "LỖI: Tệp bieu.xlsx, dòng 50, cột 'B: Đơn vị': không tìm thấy đơn vị 'Xã Văn Thụ'" in out
    assert "kho dữ liệu không thay đổi" in err
    assert not (data / "povdash.sqlite").exists()
    assert main(["import", "--indicators", str(workbook), "--data-dir", str(data), "--match", "50=06100",
                 "--match", "62=06136", "--user", "cán bộ C", "--note", "rà soát 2024"]) == 0
    out, _ = capsys.readouterr()
    assert "Đã lưu phiên bản v2" in out
    (v2, v1) = versions(open_store(data), "20")
    assert (v2.created_by, v2.note, v2.source_file, v1.data_status) == ("cán bộ C", "rà soát 2024", "bieu.xlsx",
                                                                         "illustrative")
    assert main(["import", "--versions", "--data-dir", str(data)]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("v2 · ")


def test_dry_run_stores_nothing(workbook, tmp_path, capsys):
    assert main(["import", "--indicators", str(workbook), "--match", "50=06100", "--match", "62=", "--dry-run",
                 "--partial", "--data-dir", str(tmp_path / "d")]) == 0  # a commune left out: partial
    assert "Hợp lệ (chạy thử, chưa lưu)." in capsys.readouterr().out
    assert not (tmp_path / "d").exists()


@pytest.mark.skipif(not GOV_ZIP.exists(), reason="shared boundary fixtures not found")
def test_boundaries_without_prj_ask_for_a_crs(tmp_path, capsys):
    import geopandas as gpd
    from import_fixtures import shapefile_zip
    z = tmp_path / "khong_prj.zip"
    z.write_bytes(shapefile_zip(gpd.read_file(GOV_ZIP).to_crs("EPSG:9215"), tmp_path, drop_prj=True))
    assert main(["import", "--boundaries", str(z), "--data-dir", str(tmp_path / "d")]) == 1
    out, _ = capsys.readouterr()
    assert "không có tệp .prj" in out and "EPSG:9215" in out
    assert main(["import", "--boundaries", str(z), "--crs", "EPSG:9215", "--dry-run"]) == 0


def test_too_large_and_missing_files(tmp_path, monkeypatch, capsys):
    big = tmp_path / "lon.csv"
    big.write_bytes(b"x" * 2_000_000)
    monkeypatch.setenv("POVDASH_MAX_UPLOAD_MB", "1")
    assert main(["import", "--indicators", str(big)]) == 1
    assert "vượt giới hạn 1 MB" in capsys.readouterr().err
    assert main(["import", "--indicators", str(tmp_path / "khong_co.xlsx")]) == 1
    assert main(["import"]) == 2


def test_template(tmp_path, capsys):
    out = tmp_path / "mau.xlsx"
    assert main(["import", "--template", str(out), "--year", "2023"]) == 0
    assert out.read_bytes()[:2] == b"PK"
