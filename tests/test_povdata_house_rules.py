"""House rules: the domain packages stay free of UI code."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOMAIN_FILES = sorted(p for pkg in ("povdata", "geo") for p in (ROOT / pkg).rglob("*.py"))


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    mods: set[str] = set()
    for node in ast.walk(tree):  # also imports inside functions
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            mods.add(node.module)
        elif (isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute))
              and getattr(node.func, "id", getattr(node.func, "attr", None)) in ("import_module", "__import__")
              and node.args and isinstance(node.args[0], ast.Constant)):
            mods.add(str(node.args[0].value))
    return mods


def test_domain_files_found():
    names = {p.relative_to(ROOT).as_posix() for p in DOMAIN_FILES}
    assert {"povdata/validate.py", "povdata/progress.py", "geo/read.py"} <= names


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_no_streamlit_in_domain_packages(path):
    ui = sorted(m for m in _imported_modules(path) if m == "streamlit" or m.startswith("streamlit."))
    assert not ui, f"{path.relative_to(ROOT)} imports {ui}: keep povdata/ and geo/ free of UI"


@pytest.mark.parametrize(
    "source, found",
    [("import streamlit as st", True), ("from streamlit import session_state", True),
     ("def f():\n    import streamlit.components.v1", True),
     ("import importlib\nimportlib.import_module('streamlit')", True),
     ("import pandas", False), ("streamlit_like = 1", False)],
)
def test_the_import_check_sees_streamlit(tmp_path, source, found):
    path = tmp_path / "m.py"
    path.write_text(source, encoding="utf-8")
    assert any(m.split(".")[0] == "streamlit" for m in _imported_modules(path)) == found
