"""Indicator-file validation: every rejection names the file, the row and the column."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from povdata.validate import (
    HEADER_ALIASES, IndicatorFileError, ValidationReport, load_indicator_file, normalize_code,
    validate_file, validate_indicators,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
HEADER = "unit_code,year,households_total,poor_households,near_poor_households"
KNOWN = {"20", "178", "181", "05971", "05974", "05977", "06100"}


def _csv(tmp_path: Path, *lines: str, name: str = "input.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


STD = HEADER + ",standard"
RATE = HEADER + ",poverty_rate_published"
VI = "Mã đơn vị,Năm,Tổng số hộ,Số hộ nghèo,Số hộ cận nghèo"

# (header, data lines, expected [(row, column as in the file, message fragment)])
REJECTIONS = [
    pytest.param(HEADER, ["05971,2020,1000,abc,80"], [(2, "poor_households", "'abc' không phải là số")],
                 id="non-numeric-count"),
    pytest.param(HEADER, ["05971,2020,1000,12.5,80"], [(2, "poor_households", "số nguyên")], id="fractional-count"),
    pytest.param(HEADER, ["05971,2020,-5,1,1"], [(2, "households_total", "số âm (-5)")], id="negative-count"),
    pytest.param(HEADER, ["05971,2020,100,200,0"], [(2, "poor_households", "lớn hơn tổng số hộ (100)")],
                 id="poor-over-total"),
    pytest.param(HEADER, ["05971,2020,100,60,50"], [(2, "near_poor_households", "nghèo + cận nghèo (110)")],
                 id="poor-plus-near-over-total"),
    pytest.param(HEADER, ["05971,2020,100,10,10", "05974,2020,100,10,10", "05971,2020,100,10,10"],
                 [(4, "unit_code", "(dòng 2, 4)")], id="duplicate-unit-year"),
    pytest.param(HEADER, ["99999,2020,100,1,1"], [(2, "unit_code", "'99999' không có trong danh mục")],
                 id="unknown-code"),
    pytest.param(HEADER, [",2020,100,1,1"], [(2, "unit_code", "thiếu mã đơn vị")], id="empty-code"),
    pytest.param(HEADER, ["05971,1999,100,1,1"], [(2, "year", "1999 nằm ngoài khoảng 2000-2100")],
                 id="year-too-early"),
    pytest.param(HEADER, ["05971,2101,100,1,1"], [(2, "year", "2101 nằm ngoài khoảng 2000-2100")],
                 id="year-too-late"),
    pytest.param(HEADER, ["05971,năm ngoái,100,1,1"], [(2, "year", "không hợp lệ")], id="year-not-a-number"),
    pytest.param(HEADER, ["05971,2020.5,100,1,1"], [(2, "year", "không hợp lệ")], id="year-fraction"),
    pytest.param(HEADER, ["05971,inf,100,1,1"], [(2, "year", "không hợp lệ")], id="year-infinite"),
    pytest.param(HEADER, ["05971,1e400,100,1,1"], [(2, "year", "không hợp lệ")], id="year-overflow"),
    pytest.param(HEADER, ["05971,2020,100,99999999999999999999999,1"], [(2, "poor_households", "quá lớn")],
                 id="count-too-large"),
    pytest.param(HEADER, ["05971,2020,100,,1"], [(2, "poor_households", "thiếu số hộ")], id="missing-count-no-rate"),
    pytest.param(STD, ["05971,2022,100,1,1,2016-2020"], [(2, "standard", "2022 không thuộc chuẩn nghèo 2016-2020")],
                 id="standard-inconsistent-with-year"),
    pytest.param(STD, ["05971,2020,100,1,1,2030"], [(2, "standard", "'2030' không hợp lệ")], id="unknown-standard"),
    pytest.param(RATE, ["05971,2020,100,1,1,140"], [(2, "poverty_rate_published", "ngoài 0-100%")],
                 id="rate-over-100"),
    pytest.param(VI, ["05971,2020,1000,abc,80"], [(2, "Số hộ nghèo", "'abc'")], id="vietnamese-header-named"),
    pytest.param("unit_code,households_total,poor_households", ["05971,100,1"],
                 [(1, "Năm", "thiếu cột bắt buộc")], id="missing-year-column"),
    pytest.param("year,households_total,poor_households", ["2020,100,1"],
                 [(1, "Mã đơn vị", "thiếu cột bắt buộc")], id="missing-code-column"),
    pytest.param("unit_code,year,near_poor_households", ["05971,2020,1"],
                 [(1, "Tổng số hộ", "thiếu cột bắt buộc"), (1, "Số hộ nghèo", "thiếu cột bắt buộc")],
                 id="missing-count-columns"),
]


@pytest.mark.parametrize("header, lines, expected", REJECTIONS)
def test_rejections_name_file_row_and_column(tmp_path, header, lines, expected):
    rep = validate_file(_csv(tmp_path, header, *lines), KNOWN)
    assert not rep.ok and rep.table is None
    messages = [str(p) for p in rep.errors]
    for row, column, fragment in expected:
        hits = [m for m in messages if f"dòng {row}," in m and f"cột '{column}'" in m and fragment in m]
        assert hits, (row, column, fragment, messages)
        assert all(m.startswith("Tệp input.csv, ") for m in hits)


def test_clean_file_passes_with_typed_table():
    rep = validate_file(FIXTURES / "indicators_clean.csv", KNOWN)
    assert rep.ok, [str(p) for p in rep.problems]
    t = rep.table
    assert t["unit_code"].tolist() == ["05971", "05971", "06100", "06100"]
    assert t["year"].tolist() == [2020, 2021, 2020, 2021]
    assert t["standard"].tolist() == ["2016-2020", "2021-2025", "2016-2020", "2021-2025"]
    assert str(t["poor_households"].dtype) == "Int64"
    assert t["households_total"].tolist() == [1000, 1010, 900, 905]


@pytest.mark.parametrize(
    "cell, expected",
    [("1.234", 1234), ("1,234", 1234), ("1 234", 1234), ("1\u00a0234", 1234), ("12.345.678", 12345678),
     ("1234", 1234), (" 1234 ", 1234), ("1234.0", 1234), ("0", 0)],
)
def test_count_parsing(cell, expected):
    raw = pd.DataFrame({"unit_code": ["05971"], "year": ["2020"], "households_total": [cell],
                        "poor_households": ["0"]})
    rep = validate_indicators(raw, "x.csv")
    assert rep.ok, [str(p) for p in rep.problems]
    assert rep.table["households_total"].iloc[0] == expected


@pytest.mark.parametrize("cell, expected", [("4,05", 4.05), ("4.05", 4.05), ("4,05%", 4.05), ("12", 12.0)])
def test_decimal_comma_in_rates(cell, expected):
    raw = pd.DataFrame({"unit_code": ["05971"], "year": ["2020"], "poverty_rate_published": [cell]})
    rep = validate_indicators(raw, "x.csv")
    assert rep.ok, [str(p) for p in rep.problems]
    assert rep.table["poverty_rate_published"].iloc[0] == pytest.approx(expected)


@pytest.mark.parametrize(
    "text, code",
    [("5971", "05971"), ("05971", "05971"), ("5971.0", "05971"), (" 6100 ", "06100"), ("20", "20"),
     ("181", "181"), ("2", "02"), ("06100", "06100")],
)
def test_normalize_code_restores_dropped_zeros(text, code):
    assert normalize_code(text) == code


def test_semicolon_csv_with_bom_and_vietnamese_headers():
    rep = validate_file(FIXTURES / "indicators_semicolon_bom.csv", KNOWN)
    assert rep.ok, [str(p) for p in rep.problems]
    t = rep.table
    assert t["unit_code"].tolist() == ["05971", "06100"]  # BOM stripped from the first header; zero restored
    assert t["households_total"].tolist() == [1234, 2000]
    assert t["poverty_rate_published"].tolist() == pytest.approx([4.05, 5.0])


def test_xlsx_written_by_openpyxl(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["Mã đơn vị", "Năm", "Tổng số hộ", "Số hộ nghèo", "Số hộ cận nghèo"])
    ws.append([5971, 2020, 1000, 50, 80])  # the code as a number, as Excel stores it
    ws.append(["06100", 2021, 905, 280, 130])
    ws.append([5974, 2020, 100, 200, 0])
    path = tmp_path / "chi_tieu.xlsx"
    wb.save(path)
    rep = validate_file(path, KNOWN)
    assert "Tệp chi_tieu.xlsx, dòng 4, cột 'Số hộ nghèo': số hộ nghèo (200) lớn hơn tổng số hộ (100)." in [
        str(p) for p in rep.errors]
    assert {p.row for p in rep.errors} == {4}
    wb.active.delete_rows(4)
    wb.save(path)
    rep = validate_file(path, KNOWN)
    assert rep.ok and rep.table["unit_code"].tolist() == ["05971", "06100"]
    assert rep.table["poor_households"].tolist() == [50, 280]


@pytest.mark.parametrize(
    "name, content",
    [
        ("broken.xlsx", b"PK\x03\x04 not really a workbook"),
        ("empty.csv", b""),
        ("table.txt", b"unit_code,year\n05971,2020\n"),
        ("missing.csv", None),
    ],
)
def test_unreadable_file_gives_a_report(tmp_path, name, content):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    rep = validate_file(path)
    assert isinstance(rep, ValidationReport)
    assert not rep.ok and len(rep.errors) == 1
    assert str(rep.errors[0]).startswith(f"Tệp {name}: ")


def test_load_indicator_file_raises_with_the_report():
    with pytest.raises(IndicatorFileError) as exc:
        load_indicator_file(FIXTURES / "indicators_bad.csv", KNOWN)
    assert "dòng 2" in str(exc.value) and "cột 'poor_households'" in str(exc.value)
    assert not exc.value.report.ok


def test_big_jump_is_a_warning_not_an_error(tmp_path):
    lines = ["05971,2021,100,50,0", "05971,2022,100,10,0", "05974,2020,100,50,0", "05974,2021,100,10,0"]
    rep = validate_file(_csv(tmp_path, HEADER, *lines), KNOWN)
    assert rep.ok
    # 50% → 10% in one year is suspicious (row 3); across the 2020/2021 change of standard it is not (row 5)
    assert [(p.row, p.severity) for p in rep.warnings] == [(3, "warning")]


_HEADERS = [aliases[0] for aliases in HEADER_ALIASES.values()] + ["Tỷ lệ hộ nghèo (%)", "ghi chú"]
_CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "2020", "1999", "2101", "inf", "-inf", "nan", "1e400", "1e20", "-1", "0",
                     "05971", "5971", "5971.0", "1.234", "1,5", "12.5", "99999999999999999999999",
                     "2016-2020", "2021-2025", "%", "NaN", "None", "True"]),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    columns=st.lists(st.sampled_from(_HEADERS), min_size=1, max_size=8, unique=True),
    data=st.data(),
    known=st.sampled_from([None, KNOWN]),
)
def test_validate_never_raises_on_arbitrary_text(columns, data, known):
    n = data.draw(st.integers(0, 5), label="rows")
    rows = [[data.draw(_CELLS) for _ in columns] for _ in range(n)]
    raw = pd.DataFrame(rows, columns=columns, dtype=object).astype(str) if rows else pd.DataFrame(
        {c: pd.Series([], dtype=str) for c in columns})
    rep = validate_indicators(raw, "fuzz.csv", known)
    assert isinstance(rep, ValidationReport)
    for p in rep.errors:
        assert str(p).startswith("Tệp fuzz.csv")
    if rep.ok:
        t = rep.table
        assert t is not None and len(t) == n
        assert t["year"].between(2000, 2100).all()
        for col in ("households_total", "poor_households", "near_poor_households"):
            if col in t:
                assert (t[col].dropna() >= 0).all()


def test_second_header_for_one_field_is_ignored(tmp_path):
    header = "unit_code,year,households_total,Số hộ nghèo,poor_households"
    rep = validate_file(_csv(tmp_path, header, "05971,2020,100,7,abc"), KNOWN)
    assert rep.ok, [str(p) for p in rep.problems]
    assert rep.table["poor_households"].tolist() == [7]  # the first header for the field counts
