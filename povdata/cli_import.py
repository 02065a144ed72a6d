"""``python -m povdata import``: the import page's steps on the command line.

    python -m povdata import --province 20 --indicators bieu.xlsx --boundaries huyen.zip
    python -m povdata import --province 20 --indicators bieu.xlsx --match 50=06100 --dry-run
    python -m povdata import --province 20 --template mau.xlsx --year 2024
    python -m povdata import --province 20 --versions

Exit code 0 when the files were stored (or, with ``--dry-run``, would be), 1 when a file
is rejected (every problem printed with file, row and column), 2 for a usage error.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd


def add_parser(sub) -> None:
    p = sub.add_parser("import", help="nhập tệp chỉ tiêu (XLSX/CSV) và/hoặc ranh giới (zip shapefile, GeoJSON, "
                                      "GeoPackage) thành một phiên bản mới")
    p.add_argument("--province", default="20", help="mã tỉnh (mặc định 20, Lạng Sơn)")
    p.add_argument("--indicators", help="tệp chỉ tiêu .xlsx hoặc .csv")
    p.add_argument("--boundaries", help="tệp ranh giới .zip (shapefile), .geojson hoặc .gpkg")
    p.add_argument("--sheet", help="trang tính (mặc định: trang đầu)")
    p.add_argument("--header-row", type=int, dest="header_row", help="dòng tiêu đề (dòng cuối nếu tiêu đề 2 dòng)")
    p.add_argument("--year", type=int, help="năm của số liệu khi tệp không có cột Năm")
    p.add_argument("--column", action="append", default=[], metavar="COT=TRUONG",
                   help="ghép cột: chữ cái cột = mã trường, ví dụ D=poor_households (lặp lại được)")
    p.add_argument("--encoding", choices=["utf-8", "cp1258", "tcvn3", "vni"], help="bảng mã của tệp CSV")
    p.add_argument("--list", dest="unit_list", choices=["legacy", "2025"],
                   help="danh mục đơn vị: legacy (trước 1/7/2025) hoặc 2025; mặc định theo năm")
    p.add_argument("--match", action="append", default=[], metavar="DONG=MA",
                   help="sửa đối chiếu tệp chỉ tiêu: dòng = mã đơn vị (để trống mã để bỏ dòng)")
    p.add_argument("--boundary-encoding", choices=["utf-8", "cp1258", "tcvn3", "vni"], dest="boundary_encoding")
    p.add_argument("--crs", help="hệ tọa độ khi tệp ranh giới không có (ví dụ EPSG:9215, VN-2000 TM-3 107°15')")
    p.add_argument("--level", choices=["district", "commune"], help="cấp của tệp ranh giới")
    p.add_argument("--code-field", dest="code_field", help="trường mã đơn vị trong tệp ranh giới")
    p.add_argument("--name-field", dest="name_field", help="trường tên đơn vị trong tệp ranh giới")
    p.add_argument("--boundary-match", action="append", default=[], dest="boundary_match", metavar="SO=MA",
                   help="sửa đối chiếu ranh giới: số thứ tự đối tượng = mã đơn vị")
    p.add_argument("--data-dir", dest="data_dir", help="thư mục dữ liệu (mặc định POVDASH_DATA_DIR hoặc var/)")
    p.add_argument("--user", help="người nhập (mặc định: tên đăng nhập)")
    p.add_argument("--note", default="", help="ghi chú cho phiên bản")
    p.add_argument("--dry-run", action="store_true", dest="dry_run", help="chỉ kiểm tra, không lưu")
    p.add_argument("--partial", action="store_true",
                   help="chấp nhận năm chỉ có một phần các xã/huyện (số liệu một phần; cấp trên không được tính)")
    p.add_argument("--replace", action="store_true",
                   help="phiên bản mới chỉ gồm tệp này (mặc định: giữ các năm khác của phiên bản trước)")
    p.add_argument("--show-matches", action="store_true", dest="show_matches", help="in cả bảng đối chiếu")
    p.add_argument("--template", help="ghi tệp mẫu (.xlsx hoặc .csv) rồi dừng")
    p.add_argument("--versions", action="store_true", help="liệt kê các phiên bản đã lưu rồi dừng")
    p.set_defaults(func=cmd_import)


def input_file_problem(path: Path) -> str | None:
    """Why a file named on the command line cannot be read (missing, over the upload limit)."""
    from povdata.importer import size_problem

    if not path.is_file():
        return f"không tìm thấy tệp {path}."
    return size_problem(path.stat().st_size, path.name)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for it in items:
        if "=" not in it:
            raise SystemExit(f"LỖI: '{it}' không đúng dạng {what}")
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _col_index(letter: str) -> int:
    n = 0
    for ch in letter.upper():
        if not "A" <= ch <= "Z":
            raise SystemExit(f"LỖI: '{letter}' không phải chữ cái cột (A, B, …, AA)")
        n = n * 26 + ord(ch) - 64
    return n - 1


def _print_report(problems, out=None) -> None:
    out = out or sys.stdout
    for p in problems:
        label = {"error": "LỖI", "warning": "CẢNH BÁO"}.get(p.severity, "GHI CHÚ")
        print(f"{label}: {p}", file=out)


def _print_matches(m: pd.DataFrame, all_rows: bool) -> None:
    rows = m if all_rows else m[m["code"].isna() | ~m["method"].isin(["code", "name", "manual"])]
    if rows.empty:
        return
    print("Đối chiếu đơn vị (dòng | trong tệp | đơn vị trong danh mục | cách khớp | độ tin cậy):")
    for r in rows.itertuples():
        inp = " ".join(str(x) for x in (r.input_code, r.input_name) if x and x == x)
        got = f"{r.matched_name} ({r.code})" if r.code and r.code == r.code else "— chưa khớp —"
        print(f"  {r._1:>5} | {inp} | {got} | {r.method} | {r.score:.2f}")


def cmd_import(args: argparse.Namespace) -> int:
    from geo.importing import prepare_boundaries
    from povdata.importer import prepare_indicators, save_import, template_csv, template_xlsx
    from povdata.store import has_store, open_store, versions, version_label

    from povdata.auth import in_force
    given = args.province
    args.province = in_force(args.province)  # a former province's data are kept under its successor
    if given != args.province:
        print(f"Tỉnh {given} (trước 1/7/2025) nay thuộc tỉnh {args.province}: số liệu lưu cùng tỉnh {args.province}.")
    if args.template:
        year = args.year or 2024
        era = args.unit_list or "legacy"
        data = template_csv(args.province, year, era) if args.template.lower().endswith(".csv") \
            else template_xlsx(args.province, year, era)
        Path(args.template).write_bytes(data)
        print(f"Đã ghi tệp mẫu {args.template}.")
        return 0
    if args.versions:
        if not has_store(args.data_dir):
            print("Chưa có kho dữ liệu: bảng điều khiển dùng số liệu minh họa.")
            return 0
        for v in versions(open_store(args.data_dir), args.province):
            print(f"{version_label(v)} | {v.data_status} | {v.source_file} | {v.boundary_file} | {v.years} | "
                  f"{v.sha256[:12]}")
        return 0
    if not args.indicators and not args.boundaries:
        print("LỖI: cần --indicators và/hoặc --boundaries.", file=sys.stderr)
        return 2
    rejected = False
    ind = bnd = None
    if args.indicators:
        path = Path(args.indicators)
        msg = input_file_problem(path)
        if msg:
            print(f"LỖI: {msg}", file=sys.stderr)
            return 1
        mapping = None
        if args.column:
            mapping = {_col_index(k): v for k, v in _pairs(args.column, "COT=TRUONG").items()}
        overrides = {int(k): (v or None) for k, v in _pairs(args.match, "DONG=MA").items()}
        aliases = {}
        if has_store(args.data_dir):
            from povdata.store import unit_aliases
            aliases = {e: unit_aliases(open_store(args.data_dir), args.province, e) for e in ("legacy", "2025")}
        ind = prepare_indicators(path.read_bytes(), path.name, args.province, sheet=args.sheet,
                                 encoding=args.encoding, header_row=args.header_row, mapping=mapping,
                                 year=args.year, era=args.unit_list, overrides=overrides, aliases=aliases,
                                 allow_partial=args.partial)
        print(f"Tệp {path.name}: tiêu đề ở dòng {ind.header.first + 1}"
              + (f"-{ind.header.last + 1}" if ind.header.last != ind.header.first else "")
              + f", {len(ind.table)} dòng số liệu, danh mục {'trước' if ind.era == 'legacy' else 'sau'} 1/7/2025"
              + (f", bảng mã {ind.sheet.encoding}" if ind.sheet.encoding else "") + ".")
        _print_matches(ind.matches, args.show_matches)
        _print_report(ind.notes + ind.report.problems)
        if ind.ok:
            from povdata.coverage import coverage, coverage_lines
            print("Tệp có số liệu của:")
            for line in coverage_lines(coverage(ind.report.table, args.province)):
                print("  " + line)
        rejected |= not ind.ok
    if args.boundaries:
        path = Path(args.boundaries)
        msg = input_file_problem(path)
        if msg:
            print(f"LỖI: {msg}", file=sys.stderr)
            return 1
        overrides = {int(k): (v or None) for k, v in _pairs(args.boundary_match, "SO=MA").items()}
        bnd = prepare_boundaries(path.read_bytes(), path.name, args.province,
                                 era=ind.era if ind is not None else (args.unit_list or "legacy"),
                                 encoding=args.boundary_encoding, crs=args.crs, level=args.level,
                                 code_field=args.code_field, name_field=args.name_field, overrides=overrides)
        if bnd.needs_crs:
            print("Các hệ tọa độ phù hợp nhất (khoảng cách tới tỉnh, km):")
            for code, km in bnd.crs_ranked[:5]:
                print(f"  {code}: {km:.0f}")
        else:
            print(f"Tệp {path.name}: {len(bnd.matches)} đối tượng, cấp {bnd.level}, trường mã {bnd.code_field}, "
                  f"trường tên {bnd.name_field}, bảng mã {bnd.encoding}, hệ tọa độ {bnd.crs} "
                  f"({'do người dùng chọn' if bnd.crs_from == 'user' else 'trong tệp'}).")
        _print_matches(bnd.matches, args.show_matches)
        _print_report(bnd.report.problems)
        rejected |= not bnd.ok
    if rejected:
        print("Không lưu: sửa các lỗi trên rồi nhập lại (kho dữ liệu không thay đổi).", file=sys.stderr)
        return 1
    if args.dry_run:
        print("Hợp lệ (chạy thử, chưa lưu).")
        return 0
    store = open_store(args.data_dir)
    v = save_import(store, args.province, ind, bnd, created_by=args.user, note=args.note,
                    keep_other_years=not args.replace)
    print(f"Đã lưu phiên bản {version_label(v)} vào {store.path}.")
    return 0
