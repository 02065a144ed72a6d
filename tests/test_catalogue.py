"""Every user-facing word lives in the catalogues (issue 15 point 6).

* No Vietnamese literal in the code outside ``povdata/locales`` (see ``catalogue_scan``),
  except the modules still being moved, each with the exact count it has left
  (``catalogue_budget.json``): a new literal anywhere fails, and a module moved to the
  catalogue must say so by lowering its count (to none).
* Messages from the domain code (:class:`povdata.messages.Msg`) are Vietnamese as text and
  say themselves in English, also after crossing the import worker's process boundary.
"""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from catalogue_scan import code_files, vietnamese_literals
from povdata.i18n import catalogue, parse_small_number
from povdata.messages import Msg, Num, say
from povdata.validate import validate_indicators

BUDGET = json.loads((Path(__file__).with_name("catalogue_budget.json")).read_text(encoding="utf-8"))["modules"]


@pytest.mark.parametrize("rel", code_files())
def test_no_vietnamese_literal_outside_the_catalogues(rel):
    found = vietnamese_literals(rel)
    allowed = BUDGET.get(rel, 0)
    listing = "\n".join(f"  {rel}:{line}: {text}" for line, text in found)
    assert len(found) <= allowed, (f"{rel} writes {len(found)} Vietnamese literal(s) (allowed {allowed}); "
                                   f"put them in povdata/locales and use t(…) or Msg(…):\n{listing}")
    assert len(found) == allowed, (f"{rel} now has {len(found)} Vietnamese literal(s), not {allowed}: "
                                   f"lower its count in tests/catalogue_budget.json")


def test_the_budget_names_only_modules_that_exist():
    assert set(BUDGET) <= set(code_files())


def test_a_message_is_vietnamese_text_and_says_itself_in_english():
    m = Msg("validate.bad_value", value="abc", reason=Msg("validate.not_a_number"))
    assert m == "giá trị 'abc' không phải là số." and isinstance(m, str)
    assert m.say("en") == "the value 'abc' is not a number."
    assert say(ValueError(m), "en") == m.say("en") and say("plain", "en") == "plain"
    n = Msg("validate.stated_rate_differs", stated=Num(12.0), computed=Num(28.571), poor="Hộ nghèo", total="Số hộ")
    assert "12,00%" in n and "28,57%" in n and "12.00%" in n.say("en") and "28.57%" in n.say("en")
    back = pickle.loads(pickle.dumps(m))  # the import worker sends its report back pickled
    assert back == m and back.say("en") == m.say("en")


def test_every_message_key_used_in_validation_exists_in_both_languages():
    import ast

    from catalogue_scan import REPO
    keys = set()
    for rel in code_files():
        for node in ast.walk(ast.parse((REPO / rel).read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Msg" and node.args \
                    and isinstance(node.args[0], ast.Constant):
                keys.add(node.args[0].value)
    assert keys, "no Msg(...) found"
    for lang in ("vi", "en"):
        missing = sorted(k for k in keys if k not in catalogue(lang))
        assert not missing, f"{lang}: {missing}"


def test_a_district_table_s_problems_in_english():
    import pandas as pd

    raw = pd.DataFrame({"Mã đơn vị": ["181", "181", ""], "Năm": ["2023", "2023", "20x3"],
                        "Tổng số hộ": ["100", "100", "50"], "Số hộ nghèo": ["120", "-3", "1"]})
    rep = validate_indicators(raw, "bang_huyen.xlsx", {"181"})
    vi = [str(p) for p in rep.problems]
    en = [p.say("en") for p in rep.problems]
    assert "Tệp bang_huyen.xlsx, dòng 4, cột 'Năm': năm '20x3' không hợp lệ." in vi
    assert "File bang_huyen.xlsx, row 4, column 'Năm': the year '20x3' is not valid." in en
    assert any(e.startswith("File bang_huyen.xlsx, row 2, column 'Số hộ nghèo': poor households (120) exceed")
               for e in en), en
    assert any("a negative number (-3) is not valid." in e for e in en)
    assert not any(ch in "".join(p.say("en").split(":", 1)[1] for p in rep.problems) for ch in "ảạộốờ")


def test_numbers_typed_wrongly_are_refused_in_the_user_s_language():
    with pytest.raises(ValueError) as exc:
        parse_small_number("1.234,5")
    assert "một dấu thập phân" in str(exc.value) and "one decimal separator" in say(exc.value, "en")


def test_import_notes_and_checks_in_english():
    from povdata.importer import prepare_indicators

    data = ("Tên xã,Năm,Tổng số hộ,Số hộ nghèo\n"
            "Xã Hoàng Đồng,2023,1200,60\nXã Không Có Thật,2023,100,5\nTổng cộng,2023,1300,65\n").encode("utf-8")
    imp = prepare_indicators(data, "hai_xa.csv", "20", allow_partial=True)
    problems = imp.notes + imp.report.problems
    en = [p.say("en") for p in problems]
    vi = [str(p) for p in problems]
    assert any("total row, not imported" in e for e in en), en
    assert any("dòng tổng cộng, không nhập" in v for v in vi), vi
    assert any("the unit 'Xã Không Có Thật' is not in the register" in e for e in en), en
    assert any("partial data: 2023 has only" in e for e in en) or not imp.ok, en


def test_a_refused_file_s_reason_in_english_names_the_file_once():
    from povdata.importer import prepare_indicators

    imp = prepare_indicators(b"%PDF-1.4 not a workbook", "bien_ban.xlsx", "20")
    p = imp.report.problems[0]
    assert str(p) == ("Tệp bien_ban.xlsx: là tệp PDF, không phải bảng tính; hãy dùng tệp Excel (.xlsx) hoặc CSV.")
    assert p.say("en") == "File bien_ban.xlsx: a PDF, not a spreadsheet; use an Excel (.xlsx) or CSV file."
    import pickle
    assert pickle.loads(pickle.dumps(p)).say("en") == p.say("en")
