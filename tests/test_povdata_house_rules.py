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


# ---- the import path: packages of one-job modules, no cycle ------------------------------------
def _imports_of(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
    return out


def test_the_import_path_has_no_cycle_and_geo_uses_povdata_only_for_the_registry_and_limits():
    repo = Path(__file__).resolve().parents[1]
    mods = {f"{pkg}.ingest.{p.stem}": p for pkg in ("povdata", "geo") for p in (repo / pkg / "ingest").glob("*.py")
            if p.stem != "__init__"}
    assert len(mods) >= 14
    graph = {m: {i for i in _imports_of(p) if i in mods} for m, p in mods.items()}
    # no module of the import path goes back through the facades
    for m, p in mods.items():
        assert not ({"povdata.importer", "geo.importing"} & _imports_of(p)), m
    # geo's modules take from povdata's import path only the unit registry and the limits
    for m in [m for m in mods if m.startswith("geo.")]:
        assert {i for i in graph[m] if i.startswith("povdata.")} <= {"povdata.ingest.match", "povdata.ingest.safety"}, m
    # and the graph is acyclic (depth-first search)
    state: dict[str, int] = {}

    def visit(m: str, trail: list[str]) -> None:
        state[m] = 1
        for n in graph[m]:
            assert state.get(n) != 1, " → ".join(trail + [m, n])
            if n not in state:
                visit(n, trail + [m])
        state[m] = 2

    for m in graph:
        if m not in state:
            visit(m, [])
    # one job per module: none of them is the 1,000-line module it replaced
    assert max(len(p.read_text(encoding="utf-8").splitlines()) for p in mods.values()) < 450
