"""Finding Vietnamese text written in the code instead of the catalogues (``povdata/locales``).

A literal counts when it holds a Vietnamese letter and is not: a docstring, a logging call's
argument (for operators, not users), a regular expression's pattern, or one of the
:data:`DATA` constants (words the code *reads*, such as the headers accepted in a file, or
a language's own name), which are data, not messages.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
VI = re.compile("[àáạảãâầấậẩẫăằắặẳẵèéẹẻẽêềếệểễìíịỉĩòóọỏõôồốộổỗơờớợởỡùúụủũưừứựửữỳýỵỷỹđ"
                "ÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴÈÉẸẺẼÊỀẾỆỂỄÌÍỊỈĨÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠÙÚỤỦŨƯỪỨỰỬỮỲÝỴỶỸĐ]")
#: (module, constant): words the code reads or writes as data: the headers a file may use, each
#: language by its own name, unit types and region names as the official lists write them, the
#: letters of the legacy Vietnamese encodings
DATA = {("povdata/validate.py", "HEADER_ALIASES"), ("povdata/validate.py", "ID_ALIASES"),
        ("povdata/registry.py", "HEADER_WORDS"), ("povdata/i18n.py", "LANG_NAMES"),
        ("povdata/designations.py", "DECISION_SIGN"), ("povdata/store.py", "APPROXIMATE_SOURCE"),
        ("povdata/policy.py", "GUEST_NAME"), ("povdata/names.py", "_D_FOLD"),
        ("povdata/units.py", "_PROVINCE_TYPES"), ("povdata/units.py", "URBAN_TYPES"), ("povdata/regions.py", "REGIONS"),
        ("povdata/cli_backup.py", "YES_WORDS"),
        *(("povdata/vnenc.py", n) for n in ("TCVN3_LOWER", "VNI_SINGLE", "VNI_MODIFIERS", "_VNI_BASE", "_TONES",
                                            "_INITIALS", "_OPEN_NUCLEI", "_CLOSABLE_NUCLEI", "VNI_UPPER_MARKS"))}
_LOG = {"debug", "info", "warning", "error", "exception", "critical"}
_RE = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}


def code_files() -> list[str]:
    files = ["dashboard.py"] + [str(p.relative_to(REPO)) for d in ("pages", "povdata", "geo")
                                for p in sorted((REPO / d).rglob("*.py"))]
    return sorted(files)


def _vi(node: ast.AST) -> bool:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return bool(VI.search(node.value))
    if isinstance(node, ast.JoinedStr):
        return any(isinstance(v, ast.Constant) and VI.search(str(v.value)) for v in node.values)
    return False


def vietnamese_literals(rel: str) -> list[tuple[int, str]]:
    """(line, text) of each Vietnamese literal of ``rel`` that should be a catalogue key."""
    tree = ast.parse((REPO / rel).read_text(encoding="utf-8"))
    parents = {c: n for n in ast.walk(tree) for c in ast.iter_child_nodes(n)}
    skip: set[ast.AST] = set()
    for n in ast.walk(tree):
        if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body \
                and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant):
            skip.add(n.body[0].value)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
            base = ast.unparse(n.func.value)
            if n.func.attr in _LOG and ("log" in base.lower() or "getLogger" in base):
                skip.update(ast.walk(n))
            if n.func.attr in _RE and base == "re":
                skip.update(ast.walk(n))
        if isinstance(n, (ast.Assign, ast.AnnAssign)) and isinstance(parents.get(n), ast.Module):
            targets = n.targets if isinstance(n, ast.Assign) else [n.target]
            if any(isinstance(x, ast.Name) and (rel, x.id) in DATA for x in targets):
                skip.update(ast.walk(n))
    out = []
    for n in ast.walk(tree):
        if n in skip or not _vi(n) or (isinstance(n, ast.Constant) and isinstance(parents.get(n), ast.JoinedStr)):
            continue
        out.append((n.lineno, ast.unparse(n)[:100]))
    return sorted(out)


if __name__ == "__main__":  # python tests/catalogue_scan.py: lower the budget after moving text to the catalogues
    import json
    import sys

    path = Path(__file__).with_name("catalogue_budget.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    now = {f: len(vietnamese_literals(f)) for f in code_files()}
    grown = {f: n for f, n in now.items() if n > data["modules"].get(f, 0)}
    if grown:
        sys.exit(f"more Vietnamese literals than allowed (move them to povdata/locales): {grown}")
    data["modules"] = {f: n for f, n in now.items() if n}
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{sum(data['modules'].values())} literals left in {len(data['modules'])} modules")
