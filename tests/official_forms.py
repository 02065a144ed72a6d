"""Workbooks laid out like the official forms of the year-end review, for the tests.

The layout imitates the summary of poor households by commune that a district sends to
the province after the review (Thông tư 07/2021/TT-BLĐTBXH, Phụ lục, amended by Thông tư
02/2022/TT-BLĐTBXH; described in ``../shared/domain/GLOSSARY.md``, "The annual review's
report forms"):

* a title block: the issuing body on the left ("UBND HUYỆN TRÀNG ĐỊNH", "BAN CHỈ ĐẠO
  GIẢM NGHÈO"), the national motto on the right, the form's title with the year, the line
  "(Kèm theo Báo cáo số …/BC-UBND ngày … của UBND huyện …)" and the standard;
* a header of three merged rows: STT | Đơn vị | Tổng số hộ dân cư | "Kết quả rà soát hộ
  nghèo" over "Hộ nghèo đầu năm" (Số hộ, Tỷ lệ %), "Diễn biến hộ nghèo trong năm" (thoát
  nghèo, tái nghèo, nghèo phát sinh), "Hộ nghèo cuối năm" (Số hộ, Tỷ lệ %), "Trong đó: hộ
  nghèo dân tộc thiểu số" (Số hộ, Tỷ lệ %) | Ghi chú;
* a row numbering the columns (A, B, 1, 2 …);
* a Tổng cộng row first, then section rows "I. Khu vực thành thị" and "II. Khu vực nông
  thôn" with their subtotals, the units under each (thị trấn under the urban section);
* the signature block under the table (người lập biểu, chủ tịch UBND, the date line).

The near-poor form has the same structure for near-poor households.  The figures are
made up (deterministic from the unit's code); the structure is the forms'.
"""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from povdata.units import legacy_units


def _figures(code: str, year: int) -> dict[str, int]:
    """Invented, consistent figures for one commune: start − out + back + new = end."""
    seed = int(code) * 7 + year
    total = 600 + seed % 1400
    start = total * (8 + seed % 17) // 100
    out = start * (15 + seed % 11) // 100
    back = seed % 4
    new = 2 + seed % 9
    end = start - out + back + new
    ethnic = end * (70 + seed % 25) // 100
    return dict(total=total, start=start, out=out, back=back, new=new, end=end, ethnic=ethnic)


def _pct(a: int, b: int) -> float:
    return round(a / b * 100, 2) if b else 0.0


def district_communes(district_code: str, province_code: str = "20"):
    u = legacy_units(province_code)
    return u[(u["level"] == "commune") & (u["parent_code"] == district_code)].sort_values("code")


def _near_figures(code: str, year: int) -> dict[str, int]:
    """Invented near-poor figures of one commune (the near-poor form's own flows)."""
    f = _figures(code, year)
    seed = int(code) * 11 + year
    start = f["total"] * (6 + seed % 9) // 100
    out, back, new = start * (10 + seed % 9) // 100, seed % 3, 3 + seed % 7
    end = start - out + back + new
    return dict(total=f["total"], start=start, out=out, back=back, new=new, end=end, ethnic=end * 8 // 10)


def review_form_xlsx(district_code: str = "180", year: int = 2023, *, province_code: str = "20",
                     planted: str | None = None, near_poor: bool = False,
                     wrong_subtotal: bool = False, both: bool = False) -> tuple[bytes, dict[str, dict[str, int]]]:
    """The district's summary form (see the module text) and the figures written in it
    (commune code → figures).  ``planted``: a commune code whose year-end count is written
    one higher than start − out + back + new (the balance check must catch it);
    ``wrong_subtotal``: the rural subtotal's year-end count is written 5 too high;
    ``near_poor``: the near-poor form (hộ cận nghèo) instead of the poor one; ``both``: one
    workbook with the poor form on its first sheet and the near-poor form on the second (as a
    district sends them), the figures then also hold ``near`` (the near-poor year-end count)."""
    wb = Workbook()
    figs = _fill_form(wb.active, district_code, year, province_code, planted, near_poor, wrong_subtotal)
    if both:
        near = _fill_form(wb.create_sheet(), district_code, year, province_code, None, True, False)
        figs = {c: f | {"near": near[c]["end"]} for c, f in figs.items()}
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), figs


def _fill_form(ws, district_code: str, year: int, province_code: str, planted: str | None, near_poor: bool,
               wrong_subtotal: bool) -> dict[str, dict[str, int]]:
    u = legacy_units(province_code)
    district = u.loc[u["code"] == district_code, "name"].iloc[0]
    communes = district_communes(district_code, province_code)
    figs = {c: (_near_figures if near_poor else _figures)(c, year) for c in communes["code"]}
    if planted is not None:
        figs[planted] = figs[planted] | {"end": figs[planted]["end"] + 1}
    who = "HỘ CẬN NGHÈO" if near_poor else "HỘ NGHÈO"
    what = "cận nghèo" if near_poor else "nghèo"
    ws.title = "Biểu 02" if near_poor else "Biểu 01"
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def put(cell: str, value, merge: str | None = None, b: bool = False) -> None:
        ws[cell] = value
        ws[cell].alignment = centre
        if b:
            ws[cell].font = bold
        if merge:
            ws.merge_cells(f"{cell}:{merge}")

    put("A1", f"UBND {district.upper()}", "D1", True)
    put("H1", "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "M1", True)
    put("A2", "BAN CHỈ ĐẠO GIẢM NGHÈO", "D2", True)
    put("H2", "Độc lập - Tự do - Hạnh phúc", "M2", True)
    put("A4", f"BIỂU TỔNG HỢP KẾT QUẢ RÀ SOÁT {who} NĂM {year}", "M4", True)
    put("A5", f"(Kèm theo Báo cáo số 125/BC-UBND ngày 20/12/{year} của UBND {district.lower().replace('huyện', 'huyện')})",
        "M5")
    put("A6", "Theo chuẩn nghèo giai đoạn 2022-2025 (Nghị định số 07/2021/NĐ-CP)", "M6")
    # three header rows
    put("A8", "STT", "A10", True)
    put("B8", "Đơn vị", "B10", True)
    put("C8", "Tổng số hộ dân cư", "C10", True)
    put("D8", f"Kết quả rà soát {who.lower()}", "L8", True)
    put("M8", "Ghi chú", "M10", True)
    put("D9", f"Hộ {what} đầu năm", "E9", True)
    put("F9", f"Diễn biến hộ {what} trong năm", "H9", True)
    put("I9", f"Hộ {what} cuối năm", "J9", True)
    put("K9", f"Trong đó: Hộ {what} dân tộc thiểu số", "L9", True)
    leaves = ["Số hộ", "Tỷ lệ (%)", f"Số hộ thoát {what}", f"Số hộ tái {what}", f"Số hộ {what} phát sinh",
              "Số hộ", "Tỷ lệ (%)", "Số hộ", "Tỷ lệ (%)"]
    for col, text in zip("DEFGHIJKL", leaves):
        put(f"{col}10", text, b=True)
    for col, text in zip("ABCDEFGHIJKLM", ["A", "B", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "C"]):
        put(f"{col}11", text)

    def values(f: dict[str, int]) -> list:
        return [f["total"], f["start"], _pct(f["start"], f["total"]), f["out"], f["back"], f["new"], f["end"],
                _pct(f["end"], f["total"]), f["ethnic"], _pct(f["ethnic"], f["end"])]

    def summed(codes) -> dict[str, int]:
        return {k: sum(figs[c][k] for c in codes) for k in ("total", "start", "out", "back", "new", "end", "ethnic")}

    urban = [c for c, n in zip(communes["code"], communes["name"]) if n.startswith(("Thị trấn", "Phường"))]
    rural = [c for c in communes["code"] if c not in urban]
    names = dict(zip(communes["code"], communes["name"]))
    rows: list[list] = [["", "Tổng cộng", *values(summed(urban + rural)), ""]]
    for roman, title, codes in (("I", "Khu vực thành thị", urban), ("II", "Khu vực nông thôn", rural)):
        sub = summed(codes)
        if wrong_subtotal and roman == "II":
            sub = sub | {"end": sub["end"] + 5}
        rows.append([roman, title, *values(sub), ""])
        for k, c in enumerate(codes, 1):
            rows.append([k, names[c], *values(figs[c]), ""])
    for i, r in enumerate(rows, 12):
        for j, v in enumerate(r):
            ws.cell(row=i, column=j + 1, value=v)
            if isinstance(v, float):
                ws.cell(row=i, column=j + 1).number_format = "0.00"
        if r[0] in ("", "I", "II"):
            for j in range(len(r)):
                ws.cell(row=i, column=j + 1).font = bold
    end = 12 + len(rows) + 1
    put(f"I{end}", f"{district.removeprefix('Huyện ')}, ngày 20 tháng 12 năm {year}", f"M{end}")
    put(f"B{end + 1}", "NGƯỜI LẬP BIỂU", b=True)
    put(f"I{end + 1}", f"TM. UBND {district.upper()}", f"M{end + 1}", True)
    put(f"I{end + 2}", "CHỦ TỊCH", f"M{end + 2}", True)
    put(f"B{end + 2}", "(Ký, ghi rõ họ tên)")
    put(f"I{end + 3}", "(Ký tên, đóng dấu)", f"M{end + 3}")
    return figs


#: The 12 deprivation indicators of Decree 07/2021/NĐ-CP under their 6 dimensions, as the
#: deprivation form heads them (dimension → indicators)
DEPRIVATION_HEADS = (
    ("Việc làm", ("Việc làm", "Người phụ thuộc trong hộ gia đình")),
    ("Y tế", ("Dinh dưỡng", "Bảo hiểm y tế")),
    ("Giáo dục", ("Trình độ giáo dục của người lớn", "Tình trạng đi học của trẻ em")),
    ("Nhà ở", ("Chất lượng nhà ở", "Diện tích nhà ở bình quân đầu người")),
    ("Nước sinh hoạt và vệ sinh", ("Nguồn nước sinh hoạt", "Nhà tiêu hợp vệ sinh")),
    ("Thông tin", ("Sử dụng dịch vụ viễn thông", "Phương tiện phục vụ tiếp cận thông tin")),
)
DEPRIVATION_IDS = ("employment", "dependants", "nutrition", "health_insurance", "adult_education", "child_school",
                   "housing_quality", "housing_area", "water", "latrine", "telecom", "information")


def deprivation_figures(code: str, year: int, poor: int) -> dict[str, int]:
    """Invented counts of poor households lacking each indicator (at most ``poor``)."""
    seed = int(code) * 13 + year
    return {k: poor * ((seed + 17 * i) % 70 + 5) // 100 for i, k in enumerate(DEPRIVATION_IDS)}


def deprivation_form_xlsx(district_code: str = "180", year: int = 2023, *, province_code: str = "20",
                          poor_offset: dict[str, int] | None = None,
                          near_poor: bool = False) -> tuple[bytes, dict[str, dict[str, int]]]:
    """The district's form of poor households by deprivation (Thông tư 07/2021/TT-BLĐTBXH,
    Phụ lục: "Kết quả rà soát hộ nghèo theo mức độ thiếu hụt các dịch vụ xã hội cơ bản"), as
    the glossary describes it: the title block, a header of four merged rows (the group "Số
    hộ nghèo thiếu hụt các chỉ số", the 6 dimensions, the 12 indicators, then "Số hộ" and "Tỷ lệ
    (%)" under each), a row of column numbers, a Tổng cộng row and the communes.  Each
    commune's poor count is the summary form's year-end count (:func:`review_form_xlsx`),
    plus ``poor_offset[code]`` where given (a form of another review).  Returns the bytes and
    the deprivation counts written (commune code → indicator id suffix → count).  ``near_poor``:
    the same form for near-poor households (their count is the near-poor form's year-end count)."""
    from openpyxl.utils import get_column_letter as L

    u = legacy_units(province_code)
    district = u.loc[u["code"] == district_code, "name"].iloc[0]
    communes = district_communes(district_code, province_code)
    count = _near_figures if near_poor else _figures
    poor = {c: count(c, year)["end"] + (poor_offset or {}).get(c, 0) for c in communes["code"]}
    who = "cận nghèo" if near_poor else "nghèo"
    figs = {c: deprivation_figures(c, year, poor[c]) for c in communes["code"]}
    wb = Workbook()
    ws = wb.active
    ws.title = "Biểu 03"
    centre = Alignment(horizontal="center", vertical="center", wrap_text=True)

    def put(cell: str, value, merge: str | None = None) -> None:
        ws[cell] = value
        ws[cell].alignment = centre
        ws[cell].font = Font(bold=True)
        if merge:
            ws.merge_cells(f"{cell}:{merge}")

    last = L(3 + 2 * len(DEPRIVATION_IDS))
    put("A1", f"UBND {district.upper()}", "D1")
    put("A3", f"KẾT QUẢ RÀ SOÁT HỘ {who.upper()} THEO MỨC ĐỘ THIẾU HỤT CÁC DỊCH VỤ XÃ HỘI CƠ BẢN NĂM {year}",
        f"{last}3")
    put("A4", "Theo chuẩn nghèo giai đoạn 2022-2025 (Nghị định số 07/2021/NĐ-CP)", f"{last}4")
    put("A6", "STT", "A9")
    put("B6", "Đơn vị", "B9")
    put("C6", f"Tổng số hộ {who}", "C9")
    put("D6", f"Số hộ {who} thiếu hụt các chỉ số", f"{last}6")
    col = 4
    for dim, inds in DEPRIVATION_HEADS:
        put(f"{L(col)}7", dim, f"{L(col + 2 * len(inds) - 1)}7")
        for ind in inds:
            put(f"{L(col)}8", ind, f"{L(col + 1)}8")
            put(f"{L(col)}9", "Số hộ")
            put(f"{L(col + 1)}9", "Tỷ lệ (%)")
            col += 2
    for j in range(1, col):
        ws.cell(row=10, column=j, value="A" if j == 1 else "B" if j == 2 else str(j - 2))

    def values(p: int, f: dict[str, int]) -> list:
        return [p, *[v for k in DEPRIVATION_IDS for v in (f[k], _pct(f[k], p))]]

    total = {k: sum(figs[c][k] for c in figs) for k in DEPRIVATION_IDS}
    rows = [["", "Tổng cộng", *values(sum(poor.values()), total)]]
    names = dict(zip(communes["code"], communes["name"]))
    rows += [[k, names[c], *values(poor[c], figs[c])] for k, c in enumerate(communes["code"], 1)]
    for i, r in enumerate(rows, 11):
        for j, v in enumerate(r):
            ws.cell(row=i, column=j + 1, value=v)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue(), figs
