"""Hardening that configuration and code review would otherwise have to remember:
XSRF protection, upload limit, no usage statistics, no error details, and HTML only from
constants of our own."""
from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

from povdata.importer import DEFAULT_MAX_UPLOAD_MB

REPO = Path(__file__).resolve().parents[1]
CONFIG = tomllib.loads((REPO / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
UI_FILES = sorted([REPO / "dashboard.py", *(REPO / "pages").glob("*.py")])


def test_streamlit_config_keeps_the_protections_on():
    assert CONFIG["server"]["enableXsrfProtection"] is True
    assert CONFIG["server"]["maxUploadSize"] == DEFAULT_MAX_UPLOAD_MB  # the page's own check says the same limit
    assert CONFIG["browser"]["gatherUsageStats"] is False
    assert CONFIG["client"]["showErrorDetails"] == "none"
    assert "enableCORS" not in CONFIG["server"]  # default (on) is kept


def _html_calls(path: Path):
    """(line, first argument) of every call that renders raw HTML."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        raw = name in ("html",) or any(k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant)
                                                                            and k.value.value is False)
                                       for k in node.keywords)
        if raw:
            yield node.lineno, node.args[0] if node.args else None, tree


def _module_constants(tree: ast.Module) -> set[str]:
    """Names assigned once at module level to a plain string literal."""
    out = set()
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            out.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return out


def _is_safe(arg, tree) -> bool:
    """A string constant, a module constant, or ``html_from(CONSTANT, **values)`` (a constant
    template whose every value is escaped)."""
    consts = _module_constants(tree)
    return bool(isinstance(arg, ast.Constant) or (isinstance(arg, ast.Name) and arg.id in consts)
                or (isinstance(arg, ast.Call) and getattr(arg.func, "id", getattr(arg.func, "attr", "")) == "html_from"
                    and arg.args and isinstance(arg.args[0], ast.Name) and arg.args[0].id in consts))


@pytest.mark.parametrize("path", UI_FILES, ids=lambda p: p.name)
def test_raw_html_comes_only_from_our_own_constants(path):
    """User-supplied text (file names, unit names, user names) never reaches unsafe_allow_html."""
    for line, arg, tree in _html_calls(path):
        assert _is_safe(arg, tree), f"{path.name}:{line}: raw HTML from something other than a string constant"


def test_html_from_escapes_every_value():
    from pages.common import html_from

    out = html_from('<p title="{a}">{b}</p><script>f({ x: 1 })</script>', a='"><img src=x>', b="<b>&</b>")
    assert out == '<p title="&quot;&gt;&lt;img src=x&gt;">&lt;b&gt;&amp;&lt;/b&gt;</p><script>f({ x: 1 })</script>'


def test_the_html_check_catches_user_text(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('import streamlit as st\nCSS = "<style></style>"\nst.markdown(CSS, unsafe_allow_html=True)\n'
                   'name = input()\nst.markdown(f"<b>{name}</b>", unsafe_allow_html=True)\n'
                   'T = "<b>{n}</b>"\nst.html(ui.html_from(T, n=name))\nst.html(html_from(f"<b>{name}</b>"))\n',
                   encoding="utf-8")
    calls = list(_html_calls(bad))
    assert len(calls) == 4
    assert [_is_safe(a, t) for _, a, t in calls] == [True, False, True, False]
