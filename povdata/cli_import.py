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

from povdata.i18n import cli_lang, cli_t
from povdata.messages import Msg


def add_parser(sub) -> None:
    p = sub.add_parser("import", help=cli_t("cli_import.help_import"))
    p.add_argument("--province", default="20", help=cli_t("cli_import.help_province"))
    p.add_argument("--indicators", help=cli_t("cli_import.help_indicators"))
    p.add_argument("--boundaries", help=cli_t("cli_import.help_boundaries"))
    p.add_argument("--sheet", help=cli_t("cli_import.help_sheet"))
    p.add_argument("--header-row", type=int, dest="header_row", help=cli_t("cli_import.help_header_row"))
    p.add_argument("--year", type=int, help=cli_t("cli_import.help_year"))
    p.add_argument("--column", action="append", default=[], metavar="COT=TRUONG",
                   help=cli_t("cli_import.help_column"))
    p.add_argument("--encoding", choices=["utf-8", "cp1258", "tcvn3", "vni"], help=cli_t("cli_import.help_encoding"))
    p.add_argument("--list", dest="unit_list", choices=["legacy", "2025"],
                   help=cli_t("cli_import.help_list"))
    p.add_argument("--match", action="append", default=[], metavar="DONG=MA",
                   help=cli_t("cli_import.help_match"))
    p.add_argument("--boundary-encoding", choices=["utf-8", "cp1258", "tcvn3", "vni"], dest="boundary_encoding")
    p.add_argument("--crs", help=cli_t("cli_import.help_crs"))
    p.add_argument("--level", choices=["district", "commune"], help=cli_t("cli_import.help_level"))
    p.add_argument("--code-field", dest="code_field", help=cli_t("cli_import.help_code_field"))
    p.add_argument("--name-field", dest="name_field", help=cli_t("cli_import.help_name_field"))
    p.add_argument("--boundary-match", action="append", default=[], dest="boundary_match", metavar="SO=MA",
                   help=cli_t("cli_import.help_boundary_match"))
    p.add_argument("--data-dir", dest="data_dir", help=cli_t("cli_import.help_data_dir"))
    p.add_argument("--user", help=cli_t("cli_import.help_user"))
    p.add_argument("--note", default="", help=cli_t("cli_import.help_note"))
    p.add_argument("--dry-run", action="store_true", dest="dry_run", help=cli_t("cli_import.help_dry_run"))
    p.add_argument("--partial", action="store_true",
                   help=cli_t("cli_import.help_partial"))
    p.add_argument("--replace", action="store_true",
                   help=cli_t("cli_import.help_replace"))
    p.add_argument("--show-matches", action="store_true", dest="show_matches", help=cli_t("cli_import.help_show_matches"))
    p.add_argument("--template", help=cli_t("cli_import.help_template"))
    p.add_argument("--versions", action="store_true", help=cli_t("cli_import.help_versions"))
    p.set_defaults(func=cmd_import)


def input_file_problem(path: Path) -> str | None:
    """Why a file named on the command line cannot be read (missing, over the upload limit)."""
    from povdata.importer import size_problem

    if not path.is_file():
        return Msg("cli_import.no_file", path=path)
    return size_problem(path.stat().st_size, path.name)


def _pairs(items: list[str], what: str) -> dict[str, str]:
    out = {}
    for it in items:
        if "=" not in it:
            raise SystemExit(cli_t("cli_import.bad_pair", item=it, form=what))
        k, v = it.split("=", 1)
        out[k.strip()] = v.strip()
    return out


def _col_index(letter: str) -> int:
    n = 0
    for ch in letter.upper():
        if not "A" <= ch <= "Z":
            raise SystemExit(cli_t("cli_import.bad_column", letter=letter))
        n = n * 26 + ord(ch) - 64
    return n - 1


def _print_report(problems, out=None) -> None:
    out = out or sys.stdout
    from povdata.cli import problem_line
    for p in problems:
        print(problem_line(p), file=out)


def _print_matches(m: pd.DataFrame, all_rows: bool) -> None:
    rows = m if all_rows else m[m["code"].isna() | ~m["method"].isin(["code", "name", "manual"])]
    if rows.empty:
        return
    print(cli_t("cli_import.matches_head"))
    for r in rows.itertuples():
        inp = " ".join(str(x) for x in (r.input_code, r.input_name) if x and x == x)
        got = f"{r.matched_name} ({r.code})" if r.code and r.code == r.code else cli_t("cli_import.unmatched")
        print(f"  {r._1:>5} | {inp} | {got} | {r.method} | {r.score:.2f}")


def cmd_import(args: argparse.Namespace) -> int:
    from geo.importing import prepare_boundaries
    from povdata.importer import prepare_indicators, save_import, template_csv, template_xlsx
    from povdata.store import has_store, open_store, versions, version_label

    from povdata.auth import in_force
    given = args.province
    args.province = in_force(args.province)  # a former province's data are kept under its successor
    if given != args.province:
        print(cli_t("cli_import.former_province", given=given, province=args.province))
    if args.template:
        year = args.year or 2024
        era = args.unit_list or "legacy"
        data = template_csv(args.province, year, era) if args.template.lower().endswith(".csv") \
            else template_xlsx(args.province, year, era)
        Path(args.template).write_bytes(data)
        print(cli_t("cli_import.template_written", file=args.template))
        return 0
    if args.versions:
        if not has_store(args.data_dir):
            print(cli_t("cli_import.no_store"))
            return 0
        for v in versions(open_store(args.data_dir), args.province):
            print(f"{version_label(v)} | {v.data_status} | {v.source_file} | {v.boundary_file} | {v.years} | "
                  f"{v.sha256[:12]}")
        return 0
    if not args.indicators and not args.boundaries:
        print(cli_t("cli_import.nothing_given"), file=sys.stderr)
        return 2
    rejected = False
    ind = bnd = None
    if args.indicators:
        path = Path(args.indicators)
        msg = input_file_problem(path)
        if msg:
            print(cli_t("cli.error", message=msg), file=sys.stderr)
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
        rows = str(ind.header.first + 1) + (f"-{ind.header.last + 1}" if ind.header.last != ind.header.first else "")
        print(cli_t("cli_import.read_legacy" if ind.era == "legacy" else "cli_import.read_2025", file=path.name,
                    rows=rows, n=len(ind.table),
                    encoding=cli_t("cli_import.encoding", encoding=ind.sheet.encoding) if ind.sheet.encoding else ""))
        _print_matches(ind.matches, args.show_matches)
        _print_report(ind.notes + ind.report.problems)
        if ind.ok:
            from povdata.coverage import coverage, coverage_lines
            print(cli_t("cli_import.coverage"))
            for line in coverage_lines(coverage(ind.report.table, args.province), cli_lang()):
                print("  " + line)
        rejected |= not ind.ok
    if args.boundaries:
        path = Path(args.boundaries)
        msg = input_file_problem(path)
        if msg:
            print(cli_t("cli.error", message=msg), file=sys.stderr)
            return 1
        overrides = {int(k): (v or None) for k, v in _pairs(args.boundary_match, "SO=MA").items()}
        bnd = prepare_boundaries(path.read_bytes(), path.name, args.province,
                                 era=ind.era if ind is not None else (args.unit_list or "legacy"),
                                 encoding=args.boundary_encoding, crs=args.crs, level=args.level,
                                 code_field=args.code_field, name_field=args.name_field, overrides=overrides)
        if bnd.needs_crs:
            print(cli_t("cli_import.crs_head"))
            for code, km in bnd.crs_ranked[:5]:
                print(f"  {code}: {km:.0f}")
        else:
            print(cli_t("cli_import.boundaries_read", file=path.name, n=len(bnd.matches), level=bnd.level,
                        code_field=bnd.code_field, name_field=bnd.name_field, encoding=bnd.encoding, crs=bnd.crs,
                        crs_from=cli_t("cli_import.crs_user" if bnd.crs_from == "user" else "cli_import.crs_file")))
        _print_matches(bnd.matches, args.show_matches)
        _print_report(bnd.report.problems if bnd.report is not None else [])
        rejected |= not bnd.ok
    if rejected:
        print(cli_t("cli_import.not_saved"), file=sys.stderr)
        return 1
    if args.dry_run:
        print(cli_t("cli_import.dry_run_ok"))
        return 0
    store = open_store(args.data_dir)
    v = save_import(store, args.province, ind, bnd, created_by=args.user, note=args.note,
                    keep_other_years=not args.replace)
    print(cli_t("cli_import.saved", version=version_label(v), path=store.where))
    return 0
