"""The bad-input corpus (``tests/corpus/``): every malformed or hostile file goes through the
import page's own steps and must give its Vietnamese message, no traceback, bounded memory,
and leave the store byte for byte as it was when it is refused.

The page's steps for an upload (pages/import_data.py): :func:`size_problem`, then
``prepare_indicators`` / ``prepare_boundaries`` with the user's choices (none here), the
report shown as tables and offered as CSV/XLSX downloads, and ``save_import`` only when the
report has no error (the save button is disabled otherwise)."""
from __future__ import annotations

import builtins
import csv
import hashlib
import importlib.util
import io
import re
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from auth_helpers import make_user
from import_fixtures import official_workbook
from geo.importing import prepare_boundaries
from povdata.export import to_csv_bytes, to_xlsx_bytes
from povdata.importer import prepare_indicators, save_import, size_problem
from povdata.store import load_version, open_store, versions

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = tomllib.loads((CORPUS / "expected.toml").read_text(encoding="utf-8"))["case"]
NOT_CORPUS = {"README.md", "expected.toml", "make_corpus.py", "make_large.py"}
DEFAULT_MAX_MB = 150

# what must never reach the user: a traceback, an exception's class name, library English
_EXCEPTIONS = {n for n, v in vars(builtins).items() if isinstance(v, type) and issubclass(v, BaseException)} | {
    "BadZipFile", "LargeZipFile", "ParseError", "XMLSyntaxError", "ExpatError", "DataSourceError", "DataLayerError",
    "FieldError", "FeatureError", "GeometryError", "CRSError", "GEOSException", "CPLE_OpenFailedError",
    "ArrowInvalid", "ArrowNotImplementedError", "InvalidFileException", "ImportFileError", "BoundaryReadError",
    "csv.Error", "_csv.Error", "OperationalError", "DatabaseError"}
_FORBIDDEN = re.compile(r"Traceback|File \"|line \d+, in |\b(" + "|".join(sorted(_EXCEPTIONS)) + r")\b")
_ENGLISH = re.compile(r"\b(error|failed|unable|cannot|can't|invalid|not found|no such|exception|unsupported|"
                      r"expected|unexpected|is not|does not|permission denied)\b", re.I)
_VIETNAMESE = re.compile("[àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ]", re.I)
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _load_make_large():
    spec = importlib.util.spec_from_file_location("corpus_make_large", CORPUS / "make_large.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _checksums(folder: Path) -> dict[str, str]:
    """sha256 of every file in the data dir (the store and its -wal/-shm files)."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir()) if p.is_file()}


class _PeakMemory:
    """Peak resident memory growth (MB) of this process over a block, from /proc (Linux):
    the kernel's high-water mark is reset at the start (``clear_refs`` 5)."""

    def __enter__(self):
        self.available = True
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            self.available = False
        self.start = self._read("VmRSS")
        return self

    def __exit__(self, *exc):
        self.peak_mb = (self._read("VmHWM") - self.start) / 1024 if self.available else 0.0

    @staticmethod
    def _read(field: str) -> int:
        try:
            text = Path("/proc/self/status").read_text()
        except OSError:
            return 0
        m = re.search(rf"^{field}:\s+(\d+) kB", text, re.M)
        return int(m.group(1)) if m else 0


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    """A data dir whose store already holds versions (the demo and a real import), and the
    editor who uploads."""
    data_dir = tmp_path_factory.mktemp("corpus-store")
    user = make_user(data_dir, "editor", province_code="20")
    store = open_store(data_dir)
    imp = prepare_indicators(official_workbook(2023), "bieu_2023.xlsx", "20")
    assert imp.ok
    save_import(store, "20", imp, user=user, note="trước khi thử bộ tệp hỏng")
    return store, data_dir, user


@pytest.fixture(scope="module")
def large_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("corpus-large")


def _exported_cells(df: pd.DataFrame) -> list[str]:
    """Every text cell of a table as a downloaded CSV opens, and of the XLSX (with its type)."""
    out = [c for row in csv.reader(io.StringIO(to_csv_bytes(df).decode("utf-8-sig"), newline="")) for c in row]
    from openpyxl import load_workbook
    ws = load_workbook(io.BytesIO(to_xlsx_bytes(df))).active
    for row in ws.iter_rows():
        for cell in row:
            assert cell.data_type != "f", f"a formula in the exported workbook: {cell.value!r}"
            if isinstance(cell.value, str):
                out.append(cell.value)
    return out


def test_manifest_lists_every_corpus_file():
    listed = [c["file"] for c in CASES]
    committed = [c["file"] for c in CASES if not c.get("generated")]
    on_disk = sorted(p.name for p in CORPUS.iterdir() if p.is_file() and p.name not in NOT_CORPUS)
    assert len(listed) == len(set(listed)), "a file is listed twice"
    assert len(committed) >= 40
    assert sorted(committed) == on_disk, (set(committed) ^ set(on_disk))
    generated = {c["file"] for c in CASES if c.get("generated")}
    assert generated == set(_load_make_large().BUILDERS)
    for c in CASES:
        assert c["kind"] in ("indicators", "boundaries") and c["outcome"] in ("rejected", "accepted"), c
        assert c["outcome"] == "accepted" or c["message"], f"{c['file']}: a refusal needs its message"
    sizes = {p.name: p.stat().st_size for p in CORPUS.iterdir() if p.name in on_disk}
    assert max(sizes.values()) < 200_000 and sum(sizes.values()) < 2_000_000
    readme = (CORPUS / "README.md").read_text(encoding="utf-8")
    assert [f for f in listed if f"`{f}`" not in readme] == []


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_corpus_file(case, seeded, large_dir):
    store, data_dir, user = seeded
    name = case["file"]
    path = _load_make_large().build(name, large_dir) if case.get("generated") else CORPUS / name
    data = path.read_bytes()
    before = _checksums(data_dir)
    n_versions = len(versions(store, "20"))

    assert size_problem(len(data), name) is None  # within the page's upload limit
    with _PeakMemory() as mem:
        if case["kind"] == "indicators":
            # most corpus files hold a few communes: the user ticks 'Lưu số liệu một phần' (the corpus
            # is about what a file holds, not how much; the refusal of a partial year is tested apart)
            imp = prepare_indicators(data, name, "20", sheet=None, encoding=None, header_row=None, mapping=None,
                                     year=None, era=None, overrides={}, allow_partial=True)
            problems = imp.notes + imp.report.problems
        else:
            imp = prepare_boundaries(data, name, "20", era="legacy", encoding=None, crs=None, layer_file=None,
                                     code_field=None, name_field=None, level=None, overrides={})
            problems = imp.report.problems
        if imp.ok:  # the page enables its save button only now
            kw = {"indicators": imp} if case["kind"] == "indicators" else {"boundaries": imp}
            v = save_import(store, "20", **kw, user=user)
    assert mem.peak_mb < case.get("max_mb", DEFAULT_MAX_MB), f"peak memory +{mem.peak_mb:.0f} MB"

    # the expected message, where it must point
    severity = "error" if case["outcome"] == "rejected" else "warning"
    hits = [p for p in problems if p.severity == severity and case["message"] in p.message]
    if case["message"]:
        assert hits, [str(p) for p in problems]
        if "row" in case:
            assert any(p.row == case["row"] for p in hits), [(p.row, p.column) for p in hits]
        if "column" in case:
            assert any(p.column == case["column"] for p in hits), [(p.row, p.column) for p in hits]
    # every message: names the file, Vietnamese, no traceback, exception name or library English
    for p in problems:
        text = str(p)
        assert p.file == name and text.startswith(f"Tệp {name}"), text
        assert _VIETNAMESE.search(p.message), f"not Vietnamese: {text}"
        assert not _FORBIDDEN.search(p.message), f"internals shown: {text}"
        assert not _ENGLISH.search(p.message), f"English shown: {text}"
        assert len(p.message) < 1_000, f"a {len(p.message)}-character message"
        assert "root:x:0:0" not in p.message  # nothing of a local file named by the upload
    # what the page offers to download is formula-safe
    report = pd.DataFrame({"Dòng": [p.row for p in problems], "Cột": [p.column or "" for p in problems],
                           "Nội dung": [p.message for p in problems]})
    matches = imp.matches.astype(str) if len(imp.matches) else pd.DataFrame({"input_name": []})
    for cell in _exported_cells(report) + _exported_cells(matches):
        assert not cell.startswith(_DANGEROUS), f"exported cell starts a formula: {cell[:60]!r}"

    if case["outcome"] == "rejected":
        assert not imp.ok and imp.report.errors
        with pytest.raises(ValueError, match="còn lỗi"):  # the guard behind the disabled button
            save_import(store, "20", **({"indicators": imp} if case["kind"] == "indicators" else {"boundaries": imp}),
                        user=user)
        assert _checksums(data_dir) == before, "a refused file changed the store"
        assert len(versions(store, "20")) == n_versions
    else:
        assert imp.ok, [str(p) for p in imp.report.errors]
        assert not case["message"] or hits
        assert len(versions(store, "20")) == n_versions + 1 and v.number == n_versions + 1
        ds = load_version(store, "20", v.id)
        assert len(ds.indicators) > 0
        if case["kind"] == "indicators":
            # a file of whole districts keeps the other districts' communes of its year (said in the source)
            assert v.source_file in (name, f"{name} + các huyện khác của v{n_versions}")
            stored = [str(x) for c in ("unit_code", "standard") for x in ds.indicators[c]]  # the only text
            assert all(re.fullmatch(r"[0-9]{2,5}|[0-9]{4}-[0-9]{4}", s) for s in stored), stored[:5]
        else:
            assert v.boundary_file == name


def test_no_request_leaves_the_server(tmp_path):
    """A GeoJSON whose CRS is a link and a VRT named .geojson, pointing at a listener on this
    machine: GDAL would fetch them; nothing may reach the listener."""
    import http.server
    import json
    import threading

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        do_HEAD = do_GET

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        fc = json.loads((CORPUS / "tu_cat.geojson").read_bytes())
        fc["crs"] = {"type": "link", "properties": {"href": f"{url}/crs.wkt", "type": "ogcwkt"}}
        vrt = (f'<OGRVRTDataSource><OGRVRTLayer name="x"><SrcDataSource>/vsicurl/{url}/x.geojson</SrcDataSource>'
               '</OGRVRTLayer></OGRVRTDataSource>')
        for data, name in ((json.dumps(fc).encode(), "crs.geojson"), (vrt.encode(), "vrt.geojson"),
                           (vrt.encode(), "vrt.json")):
            b = prepare_boundaries(data, name, "20")
            assert not b.ok
    finally:
        server.shutdown()
    assert hits == []


# ---- one pipeline: validate, import --dry-run, import and the page agree ----------------------
INDICATOR_FILES = [c for c in CASES if c["kind"] == "indicators" and not c.get("generated")]


@pytest.mark.parametrize("partial", [False, True])
@pytest.mark.parametrize("case", INDICATOR_FILES, ids=[c["file"] for c in INDICATOR_FILES])
def test_validate_import_and_page_reach_the_same_verdict(case, partial, tmp_path, capsys):
    from povdata.cli import main

    path = CORPUS / case["file"]
    flags = ["--partial"] if partial else []
    page = prepare_indicators(path.read_bytes(), path.name, "20", allow_partial=partial)
    validate = main(["validate", str(path), "--province", "20", *flags])
    dry = main(["import", "--province", "20", "--indicators", str(path), "--dry-run", "--data-dir",
                str(tmp_path / "d"), *flags])
    capsys.readouterr()
    assert (validate == 0) == (dry == 0) == page.ok, (validate, dry, [str(p) for p in page.report.errors])
    assert not (tmp_path / "d").exists()
    if partial:
        assert page.ok == (case["outcome"] == "accepted")
