"""The attacks of the security review (issue: "Close the holes an attacker found"), one test
each: every test here failed on the code before its fix."""
from __future__ import annotations

import threading

import pytest

from auth_helpers import PASSWORD, SETUP
from povdata import auth
from povdata.auth import SignInError
from povdata.store import open_store


# ---- 5. sign-in throttle race ----------------------------------------------------------------
def test_twenty_simultaneous_wrong_passwords_are_twenty_failures(tmp_path):
    store = open_store(tmp_path)
    auth.add_user(store, "lan", PASSWORD, "viewer", actor=SETUP)
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            auth.authenticate(store, "lan", f"đoán sai số {i:02d}")
        except SignInError as exc:
            outcomes.append(exc.kind)

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 20
    from povdata.db import q
    with store.connect() as conn:
        failures = q(conn, "SELECT failures FROM sign_in_failures WHERE username = 'lan'").scalar_one()
    # each attempt was counted before its check; after the third the name was locked and the
    # other seventeen were refused without a check (before the fix: 20 checks, the count at 1)
    assert failures == auth.FREE_FAILURES
    assert (outcomes.count("wrong"), outcomes.count("locked")) == (auth.FREE_FAILURES, 20 - auth.FREE_FAILURES)


def test_a_hundred_parallel_guesses_cannot_find_the_password(tmp_path):
    """The guesses include the right password; once the name is locked, no further password is
    even checked, so the right one in the crowd is refused like the others."""
    store = open_store(tmp_path)
    auth.add_user(store, "lan", PASSWORD, "viewer", actor=SETUP)
    for i in range(auth.FREE_FAILURES):  # an attacker's first guesses
        with pytest.raises(SignInError):
            auth.authenticate(store, "lan", f"sai {i}")
    start = threading.Barrier(100)
    signed_in: list[str] = []

    def guess(i: int) -> None:
        start.wait()
        try:
            signed_in.append(auth.authenticate(store, "lan", PASSWORD if i == 57 else f"sai {i}").username)
        except SignInError:
            pass

    threads = [threading.Thread(target=guess, args=(i,)) for i in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert signed_in == []


def test_password_checks_run_at_most_two_at_a_time(tmp_path, monkeypatch):
    store = open_store(tmp_path)
    for i in range(6):
        auth.add_user(store, f"nguoi-{i}", PASSWORD, "viewer", actor=SETUP)
    running, peak = [0], [0]
    lock = threading.Lock()
    real = auth._HASHER.verify

    def slow_verify(h, p):
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        try:
            import time
            time.sleep(0.05)
            return real(h, p)
        finally:
            with lock:
                running[0] -= 1

    class Slow:
        def verify(self, h, p):
            return slow_verify(h, p)

        def check_needs_rehash(self, h):
            return False

    monkeypatch.setattr(auth, "_HASHER", Slow())
    threads = [threading.Thread(target=lambda i=i: auth.authenticate(store, f"nguoi-{i}", PASSWORD)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] <= auth.MAX_CONCURRENT_CHECKS


# ---- 10. passwords ---------------------------------------------------------------------------
@pytest.mark.parametrize("password", [" " * 10, "\u200b" * 10, "\u200b" * 12 + "abc", "\u3000" * 10, "a" + " " * 12,
                                      "\u00ad" * 11, "e\u0301" * 5 + " " * 5])
def test_passwords_of_invisible_characters_are_refused(tmp_path, password):
    with pytest.raises(auth.AuthError, match="ít nhất 10 ký tự nhìn thấy được"):
        auth.add_user(open_store(tmp_path), "lan", password, "viewer", actor=SETUP)


def test_a_password_of_ten_visible_characters_is_accepted(tmp_path):
    store = open_store(tmp_path)
    auth.add_user(store, "lan", "Lạng Sơn 2025!", "viewer", actor=SETUP)
    assert auth.authenticate(store, "lan", "Lạng Sơn 2025!").username == "lan"


def test_a_disabled_account_with_the_right_password_gets_the_wrong_password_answer(tmp_path):
    store = open_store(tmp_path)
    auth.add_user(store, "lan", PASSWORD, "viewer", actor=SETUP)
    auth.add_user(store, "quan-tri-2", PASSWORD, "admin", actor=SETUP)
    auth.disable_user(store, "lan", actor=SETUP)
    answers = []
    for pw in (PASSWORD, "hoàn toàn sai mật khẩu"):
        with pytest.raises(SignInError) as exc:
            auth.authenticate(store, "lan", pw)
        answers.append((str(exc.value), exc.value.kind))
    assert answers[0] == answers[1]


# ---- 3. markdown and link injection ------------------------------------------------------------
PAYLOADS = ["![b](http://127.0.0.1:9/x.png)", "<a href='http://127.0.0.1:9/'>Bấm vào đây</a>",
            "[Bấm vào đây](http://127.0.0.1:9/)", "<img src=http://127.0.0.1:9/y.png>"]
_MARKUP = ("](http", "<a ", "<img")  # rendered by markdown (entities such as '&lt;a' are shown as text)
_HTML = ("<a ", "<img", "<script")  # rendered by plotly (it draws a subset of HTML, links included)


def _rendered(at) -> list[str]:
    """The texts that would render as markup: markdown elements and widget labels holding
    markdown or HTML, chart titles and legends holding HTML (empty when all is escaped)."""
    import json
    md = [str(e.value) for kind in ("markdown", "caption", "info", "success", "warning", "error", "subheader",
                                    "header", "title")
          for e in getattr(at, kind)]
    md += [str(getattr(e, "label", "")) for e in list(at.selectbox) + list(at.button) + list(at.expander)]
    html = []
    for chart in at.get("plotly_chart"):
        spec = json.loads(chart.proto.spec)
        html += [str(tr.get("name", "")) for tr in spec.get("data", [])]
        html.append(json.dumps(spec.get("layout", {}).get("title", "")))
    return [s for s in md if any(r in s for r in _MARKUP)] + [s for s in html if any(r in s for r in _HTML)]


def _all_text(at) -> str:
    return " ".join(str(e.value) for kind in ("markdown", "caption", "info") for e in getattr(at, kind))


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_file_name_with_markdown_or_html_is_never_rendered(tmp_path, monkeypatch, payload):
    from app_helpers import run_app
    from import_fixtures import official_workbook
    from povdata.importer import prepare_indicators, save_import

    store = open_store(tmp_path)
    name = f"{payload} bieu.xlsx"
    imp = prepare_indicators(official_workbook(2023), name, "20")
    assert imp.ok
    save_import(store, "20", imp, created_by="t")
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path))
    for page in (None, "pages/map.py", "pages/progress.py", "pages/whatif.py"):  # the pages with the data banner
        at = run_app(page)
        assert "bieu" in _all_text(at)  # the name is shown …
        assert _rendered(at) == []  # … as the characters it is, never as markup


@pytest.mark.parametrize("payload", PAYLOADS)
def test_a_scenario_name_from_the_url_is_never_rendered(payload):
    from app_helpers import run_app

    at = run_app("pages/whatif.py", sc_name=payload)
    assert _rendered(at) == []  # the legend
    at.button(key="wi_save").click().run()
    assert not at.exception and at.success  # the saved message
    assert _rendered(at) == []


# ---- 1. server-side requests from a GeoJSON ------------------------------------------------------
@pytest.fixture()
def listener():
    """An HTTP server on this machine that records every request it gets."""
    import http.server

    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],'
                             b'PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]]')

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def _districts_geojson(crs_text: str) -> bytes:
    import json

    import geopandas as gpd
    import shapely

    from povdata.units import legacy_units
    d = legacy_units("20")
    d = d[d["level"] == "district"]
    squares = gpd.GeoDataFrame({"MA": d["code"].to_numpy(), "TEN": d["name"].to_numpy()},
                               geometry=[shapely.box(x - 0.05, y - 0.05, x + 0.05, y + 0.05)
                                         for x, y in zip(d["lon"], d["lat"])], crs=4326)
    fc = json.loads(squares.to_json())
    body = json.dumps(fc)[1:]  # '{' removed: the crs member is written first, as the attacker wrote it
    return ("{" + crs_text + ", " + body).encode()


CRS_ATTACKS = {
    "escaped": '"cr\\u0073": {"type": "\\u006cink", "properties": {"href": "URL/crs-link-escaped", "type": "ogcwkt"}}',
    "far": '"crs": {"properties": {"pad": "' + "x" * 3000 + '", "href": "URL/crs-far", "type": "ogcwkt"}, '
           '"type": "link"}',
    "name_is_url": '"crs": {"type": "name", "properties": {"name": "URL/crs-name"}}',
    "duplicate": '"crs": {"type": "name", "properties": {"name": "EPSG:4326"}}, '
                 '"crs": {"type": "link", "properties": {"href": "URL/crs-dup"}}',
}


@pytest.mark.parametrize("attack", list(CRS_ATTACKS))
def test_a_crs_link_in_any_spelling_is_refused_and_nothing_is_fetched(listener, attack):
    from geo.importing import prepare_boundaries
    url, hits = listener
    data = _districts_geojson(CRS_ATTACKS[attack].replace("URL", url))
    imp = prepare_boundaries(data, "huyen.geojson", "20")
    assert not imp.ok
    assert any("'crs'" in p.message for p in imp.report.errors), [str(p) for p in imp.report.errors]
    assert hits == []


def test_a_crs_by_epsg_name_as_qgis_writes_it_is_accepted():
    from geo.importing import prepare_boundaries
    data = _districts_geojson('"crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}')
    imp = prepare_boundaries(data, "huyen.geojson", "20")
    assert imp.ok, [str(p) for p in imp.report.errors]


def test_gdal_itself_is_offline_for_uploads(listener, tmp_path):
    """Even a file that reached GDAL unchecked could not make it fetch anything."""
    import pyogrio

    import geo.ingest.vector  # noqa: F401  (sets GDAL's network options)
    url, hits = listener
    path = tmp_path / "x.geojson"
    path.write_bytes(_districts_geojson(f'"crs": {{"type": "link", "properties": {{"href": "{url}/direct", '
                                        '"type": "ogcwkt"}}'))
    try:
        pyogrio.read_dataframe(path)
    except Exception:
        pass
    try:
        pyogrio.read_dataframe(f"/vsicurl/{url}/vsicurl.geojson")
    except Exception:
        pass
    assert hits == []


# ---- 2. memory exhaustion: refused before the parser runs -------------------------------------
def _gpkg(tmp_path, n: int = 11):
    import geopandas as gpd
    import shapely
    path = tmp_path / "huyen.gpkg"
    gpd.GeoDataFrame({"MA": [f"{178 + i}" for i in range(n)]},
                     geometry=[shapely.box(106 + i * 0.01, 21.5, 106.005 + i * 0.01, 21.505) for i in range(n)],
                     crs=4326).to_file(path, layer="huyen")
    return path


def test_a_geopackage_whose_layer_is_a_recursive_view_is_refused(tmp_path):
    import sqlite3
    from geo.importing import prepare_boundaries
    path = _gpkg(tmp_path)
    with sqlite3.connect(path) as conn:  # the attacker's file: 600,000 rows from a few bytes
        conn.execute("CREATE VIEW bom AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                     "WHERE i < 600000) SELECT i AS fid, (SELECT geom FROM huyen LIMIT 1) AS geom FROM n")
        conn.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                     "VALUES ('bom', 'features', 'bom', 4326)")
        conn.execute("INSERT INTO gpkg_geometry_columns VALUES ('bom', 'geom', 'POLYGON', 4326, 0, 0)")
        conn.execute("DELETE FROM gpkg_contents WHERE table_name = 'huyen'")
    imp = prepare_boundaries(path.read_bytes(), "huyen.gpkg", "20")
    assert not imp.ok and any("khung nhìn (view)" in p.message for p in imp.report.errors)


def test_a_geopackage_with_too_many_features_is_refused_before_gdal_reads_it(tmp_path, monkeypatch):
    import geo.ingest.vector as gv
    from geo.importing import prepare_boundaries
    monkeypatch.setattr(gv, "MAX_FEATURES", 5)
    monkeypatch.setattr(gv.pyogrio, "read_dataframe", lambda *a, **k: pytest.fail("GDAL read the file"))
    imp = prepare_boundaries(_gpkg(tmp_path).read_bytes(), "huyen.gpkg", "20")
    assert not imp.ok and any("quá giới hạn 5 đối tượng" in p.message for p in imp.report.errors)


def test_a_csv_line_of_millions_of_columns_is_refused_on_its_bytes(monkeypatch):
    import csv

    from povdata.importer import prepare_indicators
    monkeypatch.setattr(csv, "reader", lambda *a, **k: pytest.fail("the CSV was parsed"))
    data = b"Ma don vi,Ten,Nam\n" + b"," * 3_000_000 + b"\n"
    imp = prepare_indicators(data, "cot.csv", "20")
    assert not imp.ok and "dòng 2" in imp.report.errors[0].message


def test_a_zip_whose_gigabyte_is_split_over_small_members_is_refused():
    import io
    import zipfile

    from geo.importing import check_zip
    from geo.read import BoundaryReadError
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        chunk = b"\0" * (95 * 1024 * 1024)  # each under the single-member bomb threshold
        for i in range(11):
            z.writestr(f"huyen{i}.dbf", chunk)
    data = buf.getvalue()
    assert len(data) < 1_500_000
    with pytest.raises(BoundaryReadError, match="bom nén"):
        check_zip(data, "huyen.zip")


def test_an_xlsx_with_huge_shared_strings_is_refused_before_openpyxl(monkeypatch):
    import io
    import zipfile

    import openpyxl

    from import_fixtures import official_workbook
    from povdata.importer import prepare_indicators
    src = zipfile.ZipFile(io.BytesIO(official_workbook(2023)))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            z.writestr(info.filename, src.read(info))
        import os
        letters = bytes(range(97, 123)) * 10  # random letters: text that compresses like real text (~2 times)
        text = os.urandom(55_000_000).translate(letters[:256])
        z.writestr("xl/sharedStrings.xml", b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
                   + b"<si><t>" + text + b"</t></si></sst>")
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: pytest.fail("openpyxl opened it"))
    imp = prepare_indicators(buf.getvalue(), "bieu.xlsx", "20")
    assert not imp.ok and "chữ dùng chung" in imp.report.errors[0].message
