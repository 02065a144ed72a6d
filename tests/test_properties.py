"""Property-based tests (hypothesis) of the parsers and validators the import page relies on:
name matching, CSV decoding, the legacy encodings, reading and preparing files from arbitrary
or damaged bytes, the validators, formula-safe export and zip-member checks.

Settings are modest (≤ 150 examples, no deadline) so the suite stays fast; a failure prints
the smallest example hypothesis found."""
from __future__ import annotations

import csv
import io
import re
import tempfile
import unicodedata
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from geo.importing import check_zip, prepare_boundaries, unpack
from geo.read import BoundaryReadError
from povdata.export import defuse, to_csv_bytes, to_xlsx_bytes
from povdata.importer import ImportFileError, decode_csv_bytes, prepare_indicators, read_sheet, utf8_conflict
from povdata.names import fold, match_names, name_key
from povdata.units import legacy_units
from povdata.validate import _parse_count, normalize_code, shorten, validate_indicators
from povdata.vnenc import decode_bytes, encode_text

CORPUS = Path(__file__).resolve().parent / "corpus"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UNITS = legacy_units("20")
COMMUNES = UNITS[UNITS["level"] == "commune"].reset_index(drop=True)
_EXC_NAME = re.compile(r"Traceback|\b[A-Z][A-Za-z]*(Error|Exception)\b|BadZipFile")
_VI = re.compile("[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I)

VI_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
VI_LETTERS = VI_LOWER + VI_LOWER.upper()
vi_text = st.text(st.sampled_from(VI_LETTERS + "  0123456789.,-()"), max_size=60)


def _user_message_ok(msg: str) -> None:
    assert _VI.search(msg), msg
    assert not _EXC_NAME.search(msg), msg


# ---- names -------------------------------------------------------------------------------------
_PREFIXES = {"xa": ["Xã ", "xã ", "X. ", "x.", "XÃ ", ""], "phuong": ["Phường ", "P. ", "phường ", ""],
             "thi tran": ["Thị trấn ", "TT. ", "TT ", "thị trấn ", ""]}


def _split_type(name: str) -> tuple[str, str]:
    for kind, spelled in (("thi tran", "Thị trấn "), ("phuong", "Phường "), ("xa", "Xã ")):
        if name.startswith(spelled):
            return kind, name[len(spelled):]
    return "", name


@st.composite
def commune_variant(draw):
    """A commune of Lạng Sơn and its name as a file might write it: NFD, 'Ð' for 'Đ', other
    case, the type spelled out, abbreviated or left out, extra spaces."""
    i = draw(st.integers(0, len(COMMUNES) - 1))
    row = COMMUNES.iloc[i]
    kind, bare = _split_type(row["name"])
    prefix = draw(st.sampled_from(_PREFIXES.get(kind, [""])))
    text = prefix + bare
    case = draw(st.sampled_from(["same", "upper", "lower", "title"]))
    text = {"same": text, "upper": text.upper(), "lower": text.lower(), "title": text.title()}[case]
    if draw(st.booleans()):
        text = text.replace("Đ", "Ð").replace("đ", "ð")
    text = unicodedata.normalize(draw(st.sampled_from(["NFC", "NFD"])), text)
    if draw(st.booleans()):
        text = "  " + text.replace(" ", "  ") + " "
    if draw(st.booleans()):  # pasted from the web or Word: invisible characters round it
        text = draw(st.sampled_from(["\u200b", "\ufeff", "\u00a0", "\t", "\x0b"])) + text + \
            draw(st.sampled_from(["", "\u00a0", "\u200b", "\r"]))
    return row, text


@FAST
@given(commune_variant())
def test_a_commune_is_found_however_its_name_is_written(variant):
    row, text = variant
    within = COMMUNES[COMMUNES["parent_code"] == row["parent_code"]]
    assume((within["name"].map(name_key) == name_key(row["name"])).sum() == 1)  # its name is unique there
    m = match_names([text], within).iloc[0]
    # 'Ð' (U+00D0) for 'Đ' is found too, but held for review as a misspelling, never exact
    want = "similar" if ("Ð" in text or "ð" in text) else "name"
    assert m["code"] == row["code"] and m["method"] == want, (text, m.to_dict())


@FAST
@given(st.text(max_size=80))
def test_name_keys_are_ascii_and_stable(text):
    k = name_key(text)
    assert re.fullmatch(r"[a-z0-9]*", k)
    assert name_key(k) == k
    assert fold(unicodedata.normalize("NFD", text)) == fold(text)
    assert name_key(text.replace("Đ", "Ð")) == name_key(text)


# ---- decoding ----------------------------------------------------------------------------------
@FAST
@given(st.binary(max_size=400), st.sampled_from([None, None, "utf-8", "cp1258", "tcvn3", "vni", "utf-16"]))
@example(b"\xef\xbb\xbf\xff\xfe", None)     # a UTF-8 BOM and bytes that are not UTF-8
@example(b"\xff\xfe\x00\xd8", None)          # a UTF-16 BOM and a lone surrogate
@example("Mã\n".encode() + b"M\xb7\n", None)  # UTF-8, then TCVN3
def test_decoding_any_bytes_gives_text_or_a_vietnamese_refusal(data, encoding):
    try:
        text, enc, scores = decode_csv_bytes(data, encoding)
    except ImportFileError as exc:
        _user_message_ok(str(exc))
        return
    assert isinstance(text, str) and unicodedata.is_normalized("NFC", text)
    assert enc in ("utf-8", "cp1258", "tcvn3", "vni", "utf-16")


@FAST
@given(st.lists(vi_text.filter(str.strip), min_size=1, max_size=20), st.sampled_from(["utf-8", "cp1258", "tcvn3",
                                                                                      "vni"]))
@example(["ÈẮ", "À"], "tcvn3")  # TCVN3 bytes that form valid UTF-8 (U+033E), not Vietnamese letters
def test_a_file_in_one_encoding_is_never_called_mixed(lines, encoding):
    data = b"\n".join(encode_text(t, encoding) for t in lines)
    assert utf8_conflict(data) is None


@FAST
@given(st.lists(st.sampled_from(list(UNITS["name"])), min_size=2, max_size=15),
       st.sampled_from(["cp1258", "tcvn3", "vni"]), st.integers(0, 14))
def test_utf8_lines_among_legacy_lines_are_found(names, legacy, at):
    at = min(at, len(names) - 1)
    lines = [n.encode("utf-8") if i == at else encode_text(n, legacy) for i, n in enumerate(names)]
    assume(any(not ln.isascii() for i, ln in enumerate(lines) if i != at) and not lines[at].isascii())
    found = utf8_conflict(b"\n".join(lines))
    assert found is not None and found[0] == at + 1


@FAST
@given(vi_text, st.sampled_from(["utf-8", "cp1258", "vni", "tcvn3"]))
def test_legacy_encodings_round_trip(text, encoding):
    text = unicodedata.normalize("NFC", text)
    back = decode_bytes(encode_text(text, encoding), encoding)
    if encoding == "tcvn3":  # TCVN3 has no capitals with tone marks: the case is guessed back
        assert back.casefold() == text.casefold()
    else:
        assert back == text


# ---- reading and preparing files ---------------------------------------------------------------
def _clean_workbook() -> bytes:
    return (CORPUS / "bieu_do_truoc.xlsx").read_bytes()


@st.composite
def damaged(draw, data: bytes):
    """``data`` with a few bytes changed, a slice cut out, or cut short."""
    b = bytearray(data)
    how = draw(st.sampled_from(["flip", "cut", "truncate"]))
    if how == "flip":
        for _ in range(draw(st.integers(1, 8))):
            b[draw(st.integers(0, len(b) - 1))] = draw(st.integers(0, 255))
    elif how == "cut":
        i = draw(st.integers(0, len(b) - 1))
        del b[i:i + draw(st.integers(1, 500))]
    else:
        del b[draw(st.integers(0, len(b) - 1)):]
    return bytes(b)


def _check_prepared(imp, name: str) -> None:
    for p in imp.notes + imp.report.problems:
        assert p.file == name
        _user_message_ok(p.message)
    if imp.ok:
        assert imp.indicators is not None


@SLOW
@given(st.binary(max_size=2_000), st.sampled_from(["a.csv", "a.xlsx", "a.xlsm", "a.txt"]))
def test_preparing_arbitrary_bytes_never_raises(data, name):
    try:
        read_sheet(data, name)
    except ImportFileError as exc:
        assert str(exc).startswith(f"Tệp {name}: ")
        _user_message_ok(str(exc))
    _check_prepared(prepare_indicators(data, name, "20"), name)


@SLOW
@given(damaged(_clean_workbook()))
def test_a_damaged_workbook_gives_a_message(data):
    _check_prepared(prepare_indicators(data, "hong.xlsx", "20"), "hong.xlsx")


_CELL = st.one_of(st.sampled_from(["05971", "05974", "178", "2023", "2024", "100", "1.234", "7", "-3", "=1+1",
                                   "@SUM(A1)", "+5", "Xã Mai Pha", "Phường Tam Thanh", "Tổng cộng", "Huyện Cao Lộc",
                                   "", " ", '"', "Mã đơn vị", "Năm", "Tổng số hộ", "Số hộ nghèo", "<b>x</b>"]),
                  st.text(st.sampled_from(VI_LETTERS + '0123456789 ,;"\n=+-@%'), max_size=12))


@SLOW
@given(st.lists(st.lists(_CELL, min_size=1, max_size=7), min_size=1, max_size=12), st.sampled_from([",", ";", "\t"]))
def test_any_table_of_cells_gives_a_report(rows, sep):
    buf = io.StringIO()
    csv.writer(buf, delimiter=sep).writerows(rows)
    imp = prepare_indicators(buf.getvalue().encode("utf-8"), "bang.csv", "20")
    _check_prepared(imp, "bang.csv")
    n_rows = len(rows)
    for p in imp.report.problems:
        assert p.row is None or 1 <= p.row <= n_rows + 1, (p.row, n_rows)
    if imp.ok:
        t = imp.indicators
        assert (t["poor_households"].fillna(0) <= t["households_total"].fillna(np.inf)).all() \
            if {"poor_households", "households_total"} <= set(t) else True
        assert not t.duplicated(["unit_code", "year"]).any()


_BOUNDARY_FILES = {"zip": (CORPUS / "dbf_it_ban_ghi.zip").read_bytes(),  # a whole shapefile is inside
                   "geojson": (CORPUS / "tu_cat.geojson").read_bytes()}


@SLOW
@given(st.sampled_from(sorted(_BOUNDARY_FILES)).flatmap(
    lambda k: st.tuples(st.just(k), damaged(_BOUNDARY_FILES[k]))))
def test_a_damaged_boundary_file_gives_a_message(kind_data):
    kind, data = kind_data
    name = f"hong.{kind}"
    b = prepare_boundaries(data, name, "20")
    for p in b.report.problems:
        assert p.file == name
        _user_message_ok(p.message)


@SLOW
@given(st.binary(max_size=1_000), st.sampled_from(["a.zip", "a.geojson", "a.json", "a.gpkg"]))
def test_arbitrary_bytes_as_a_boundary_file(data, name):
    b = prepare_boundaries(data, name, "20")
    assert not b.ok
    for p in b.report.problems:
        _user_message_ok(p.message)


# ---- zip members -------------------------------------------------------------------------------
_PATH_PART = st.sampled_from(["..", ".", "", "a", "b.shp", "C:", "c:", "\\", "..\\..", "~", "%2e%2e", "…", "ủy"])


@FAST
@given(st.lists(st.lists(_PATH_PART, min_size=1, max_size=4).map("/".join), min_size=1, max_size=4),
       st.booleans())
@example(["a", "a/b.shp"], False)  # a file and a folder of the same name
@example(["a/b.shp", "a"], False)
def test_zip_members_never_land_outside_the_folder(names, leading_slash):
    names = [("/" + n if leading_slash and i == 0 else n) for i, n in enumerate(names)]
    names = [n for n in names if n and not n.endswith("/")]
    assume(names)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for n in dict.fromkeys(names):
            zf.writestr(n, b"x")
    data = buf.getvalue()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "work"
        try:
            infos = check_zip(data, "t.zip")
        except BoundaryReadError as exc:
            _user_message_ok(str(exc))
            return
        for info in infos:
            parts = info.filename.replace("\\", "/").split("/")
            assert ".." not in parts and not info.filename.startswith(("/", "\\")) and ":" not in parts[0]
        try:
            unpack(data, "t.zip", root)
        except BoundaryReadError:
            pass
        outside = [p for p in Path(tmp).rglob("*") if root not in p.parents and p != root]
        assert outside == []


# ---- validators and export ---------------------------------------------------------------------
@FAST
@given(st.integers(0, 10**12), st.sampled_from(["", ".", ",", " ", "\u00a0"]))
def test_counts_with_thousands_separators(n, sep):
    text = f"{n:,}".replace(",", sep) if sep else str(n)
    assert _parse_count(text) == n


@FAST
@given(st.text(max_size=12))
@example("5971.0.0")
@example("²")
def test_normalize_code_is_idempotent(text):
    once = normalize_code(text)
    assert normalize_code(once) == once


@FAST
@given(st.text(max_size=300), st.integers(5, 200))
def test_shortened_text_is_short(text, limit):
    s = shorten(text, limit)
    assert s == text if len(text) <= limit else (len(s) < limit + 30 and s.startswith(text[:limit - 1]))


@st.composite
def indicator_table(draw):
    codes = list(COMMUNES["code"][:12])
    n = draw(st.integers(1, 15))
    num = st.one_of(st.integers(-5, 5000).map(str), st.sampled_from(["", "x", "1.5", "1e400", "nan", "1.000"]))
    return pd.DataFrame({
        "Mã đơn vị": [draw(st.sampled_from(codes + ["", "99999", "5971"])) for _ in range(n)],
        "Năm": [draw(st.one_of(st.integers(1990, 2110).map(str), st.sampled_from(["", "2023.5", "inf"])))
                for _ in range(n)],
        "Tổng số hộ": [draw(num) for _ in range(n)],
        "Số hộ nghèo": [draw(num) for _ in range(n)],
    })


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(indicator_table())
def test_validation_never_raises_and_a_clean_table_is_consistent(raw):
    rep = validate_indicators(raw, "t.csv", set(COMMUNES["code"]))
    rows = set(range(2, len(raw) + 2))
    for p in rep.problems:
        assert p.row is None or p.row in rows or p.row == 1
        _user_message_ok(p.message)
    if rep.ok:
        t = rep.table
        assert t["year"].between(2000, 2100).all() and not t.duplicated(["unit_code", "year"]).any()
        assert (t["poor_households"].fillna(0) <= t["households_total"].fillna(np.inf)).all()
        assert (t["households_total"].dropna() >= 0).all()


@FAST
@given(st.text(max_size=40))
def test_defused_text_never_starts_a_formula(text):
    assert not str(defuse(text)).startswith(("=", "+", "-", "@", "\t", "\r"))


@SLOW
@given(st.lists(st.tuples(st.text(max_size=15), st.text(max_size=15)), min_size=1, max_size=6),
       st.text(min_size=1, max_size=10))
def test_exported_tables_hold_no_formula(rows, header):
    df = pd.DataFrame(rows, columns=[header, header + "2"])
    cells = [c for r in csv.reader(io.StringIO(to_csv_bytes(df).decode("utf-8-sig"), newline="")) for c in r]
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(to_xlsx_bytes(df))).active
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)


@pytest.mark.parametrize("name", ["unicode_utf16.csv", "xuong_dong_cr.csv"])
def test_accepted_corpus_csvs_read_the_same_as_utf8(name):
    """UTF-16 and lone-CR files give the same cells as the plain UTF-8 file they were made from."""
    plain = (CORPUS / "unicode_utf16.csv").read_bytes().decode("utf-16").replace("\r\n", "\n").replace("\t", ",")
    a = read_sheet((CORPUS / name).read_bytes(), name).cells
    b = read_sheet(plain.encode("utf-8"), "plain.csv").cells
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
