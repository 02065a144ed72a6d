"""Command line: ``python -m povdata demo|validate|progress``.

The CLI and the pages call the same functions.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from povdata.dataset import Dataset, demo_dir, level_table, load_demo
from povdata.demo import SEED, build_demo_indicators
from povdata.i18n import cli_lang, cli_t, fmt_number, t
from povdata.progress import progress_table
from povdata.targets import TargetsError, default_targets, load_targets
from povdata.units import legacy_units, province_name

DEMO_META = """\
# Illustrative dataset. Built by `python -m povdata demo`.
title = "{title}"
data_status = "illustrative"
source = "{source}"
source_key = "demo.source"
version = "demo-1"
seed = {seed}
"""


def problem_line(p) -> str:
    """'LỖI: Tệp x.xlsx, dòng 7, …' / 'ERROR: File x.xlsx, row 7, …' (the CLI's language)."""
    lang = cli_lang()
    return cli_t(f"cli.severity_{p.severity}" if p.severity in ("error", "warning", "info") else "cli.severity_other",
                 severity=p.severity, message=p.say(lang))


def new_commune_layer(province_code: str, old_cells):
    """Approximate boundaries of the new communes, from the old cells via the crosswalk."""
    from geo.reform import new_commune_boundaries
    from povdata.crosswalk import load_crosswalk
    from povdata.units import units_2025

    cw = load_crosswalk(province_code)
    new_units = units_2025(province_code)
    centres = new_units[new_units["level"] == "commune"].set_index("code")[["lon", "lat"]]
    bounds, _ = new_commune_boundaries(old_cells, cw[cw["old_level"] == "commune"], centres)
    bounds["province_code"] = province_code
    return bounds


def cmd_crosswalk(args: argparse.Namespace) -> int:
    from povdata.crosswalk import CROSSWALK_PATH, build_crosswalk, write_crosswalk

    cw, bounds = build_crosswalk()
    write_crosswalk(cw, Path(args.out) if args.out else CROSSWALK_PATH)
    print(cli_t("cli.crosswalk_done", old=cw["old_code"].nunique(), new=cw["new_code"].nunique(),
                divided=cw.loc[cw["divided"], "old_code"].nunique()))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from geo.approx import build_approx_boundaries
    from geo.read import write_layers
    from povdata.units import legacy_communes

    out = Path(args.out) if args.out else demo_dir(args.province)
    out.mkdir(parents=True, exist_ok=True)
    ind = build_demo_indicators(args.province, SEED)
    ind.to_csv(out / "indicators.csv", index=False, lineterminator="\n")
    layers = build_approx_boundaries(legacy_communes(args.province))
    layers["commune_2025"] = new_commune_layer(args.province, layers["commune"])
    write_layers(layers, out / "boundaries.gpkg")
    title = t("demo.title", province=province_name(args.province))  # the file's own text: Vietnamese
    (out / "meta.toml").write_text(DEMO_META.format(title=title, seed=SEED, source=t("demo.source", seed=SEED)),
                                   encoding="utf-8")
    print(cli_t("cli.demo_done", out=out, n=len(ind), first=ind["year"].min(), last=ind["year"].max()))
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    """The import's own reading, matching and checks (``import --dry-run`` without the store):
    the same file gets the same verdict from ``validate``, ``import`` and the import page."""
    from povdata.auth import in_force
    from povdata.cli_import import input_file_problem
    from povdata.importer import NATIONAL, prepare_indicators

    path = Path(args.file)
    msg = input_file_problem(path)
    if msg:
        print(cli_t("cli.error", message=msg), file=sys.stderr)
        return 1
    province = in_force(args.province) if args.province else NATIONAL
    imp = prepare_indicators(path.read_bytes(), path.name, province, year=args.year, allow_partial=args.partial)
    for p in imp.notes + imp.report.problems:
        print(problem_line(p))
    if imp.ok:
        print(cli_t("cli.valid", file=path.name, n=len(imp.report.table) if imp.report.table is not None else 0))
        return 0
    print(cli_t("cli.refused", file=path.name, n=len(imp.report.errors)), file=sys.stderr)
    return 1


def _dataset(args: argparse.Namespace) -> Dataset:
    """The file given, else the latest stored version of the province (as the dashboard shows
    it), else the embedded demo, else an empty dataset."""
    if args.indicators:
        from povdata.validate import load_indicator_file
        table = load_indicator_file(args.indicators, set(legacy_units(args.province)["code"]))
        return Dataset(args.province, table, "imported", Path(args.indicators).name, "file", Path(args.indicators).name)
    from povdata.dataset import empty_dataset, has_demo
    from povdata.provinces import resolve_view
    from povdata.store import has_store, latest_version, load_version, open_store

    view = resolve_view(args.province, None, args.province)
    if has_store():
        store = open_store()
        v = latest_version(store, view.code)
        if v is not None:
            return load_version(store, view.code, v.id)
    return load_demo(view.code) if has_demo(view.code) else empty_dataset(view.code)


def _config(args: argparse.Namespace, province_code: str):
    """The targets file given, else the province's targets with the editors' stored changes."""
    from dataclasses import replace

    from povdata.provinces import resolve_view
    if args.targets:
        return load_targets(args.targets)
    view = resolve_view(args.province, None, args.province)
    cfg = default_targets(view.code, view.former)
    from povdata.store import has_store, open_store
    if has_store():
        from povdata.edits import effective_targets
        cfg = effective_targets(open_store(), cfg)
    return replace(cfg, province_code=view.former) if view.former else cfg


def cmd_progress(args: argparse.Namespace) -> int:
    from povdata.provinces import resolve_view

    view = resolve_view(args.province, None, args.province)
    try:
        cfg = _config(args, view.code)
    except TargetsError as exc:
        print(cli_t("cli.error", message=exc), file=sys.stderr)
        return 2
    ds = _dataset(args)
    levels = level_table(ds, view.former)
    if levels.empty:
        print(cli_t("cli.no_figures", name=view.name(), province=args.province), file=sys.stderr)
        return 1
    table = progress_table(levels, cfg, as_of=args.as_of)
    if args.level != "all":
        table = table[table["level"] == args.level]
    names = levels.drop_duplicates("unit_code").set_index("unit_code")["name"]
    table.insert(5, "unit_name", table["unit_code"].map(names))
    table.insert(0, "data_status", ds.data_status)
    for col in ("baseline_year", "latest_year", "years_elapsed", "poor_districts", "exited_now", "exited_projected"):
        if col in table:
            table[col] = pd.to_numeric(table[col], errors="coerce").round().astype("Int64")
    if args.format == "json":
        print(table.to_json(orient="records", force_ascii=False, indent=1))
    else:  # a programme target's trend (its reviews, year by year) is in the JSON
        table = table.drop(columns=[c for c in ("trend",) if c in table])
        print(table.to_csv(index=False, float_format="%.2f", lineterminator="\n"), end="")
    return 0


def cmd_briefing(args: argparse.Namespace) -> int:
    from povdata.briefing import build_pack, write_pack
    from povdata.export_images import ExportError

    try:
        cfg = _config(args, args.province)
    except TargetsError as exc:
        print(cli_t("cli.error", message=exc), file=sys.stderr)
        return 2
    ds = _dataset(args)
    year = args.year
    if year is None:  # the year the dashboard's briefing button opens on: one answer
        from povdata.briefing import default_year
        from povdata.dataset import level_table
        year = default_year(level_table(ds), cfg)
    maps = None
    if not args.indicators:  # the stored version's boundaries, as the dashboard draws them
        from povdata.briefing import stored_maps
        from povdata.provinces import resolve_view
        from povdata.store import has_store, latest_version, open_store
        if has_store():
            store = open_store()
            v = latest_version(store, resolve_view(args.province, None, args.province).code)
            if v is not None:
                maps = stored_maps(store, v.id)
    try:
        pack = build_pack(ds, year, args.lang, cfg, maps=maps)
    except ExportError as exc:
        print(cli_t("cli.error", message=exc), file=sys.stderr)
        return 1
    pptx, pdf = write_pack(pack, Path(args.out))
    print(f"{pptx}\n{pdf}")
    print(cli_t("cli.pack_done", n=len(pack.slides), seconds=fmt_number(pack.seconds, cli_lang(), 1)), file=sys.stderr)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m povdata", description=cli_t("cli.description"))
    sub = p.add_subparsers(dest="command", required=True)
    d = sub.add_parser("demo", help=cli_t("cli.help_demo"))
    d.add_argument("--province", default="20", help=cli_t("cli.help_demo_province"))
    d.add_argument("--out", help=cli_t("cli.help_demo_out"))
    d.set_defaults(func=cmd_demo)
    c = sub.add_parser("crosswalk", help=cli_t("cli.help_crosswalk"))
    c.add_argument("--out", help=cli_t("cli.help_crosswalk_out"))
    c.set_defaults(func=cmd_crosswalk)
    v = sub.add_parser("validate", help=cli_t("cli.help_validate"))
    v.add_argument("file")
    v.add_argument("--province", help=cli_t("cli.help_validate_province"))
    v.add_argument("--year", type=int, help=cli_t("cli.help_year"))
    v.add_argument("--partial", action="store_true",
                   help=cli_t("cli.help_partial"))
    v.set_defaults(func=cmd_validate)
    g = sub.add_parser("progress", help=cli_t("cli.help_progress"))
    g.add_argument("--province", default="20", help=cli_t("cli.help_progress_province"))
    g.add_argument("--indicators", help=cli_t("cli.help_indicators"))
    g.add_argument("--targets", help=cli_t("cli.help_targets"))
    g.add_argument("--level", default="all", choices=["all", "province", "district", "commune"])
    g.add_argument("--as-of", type=int, dest="as_of", help=cli_t("cli.help_as_of"))
    g.add_argument("--format", default="csv", choices=["csv", "json"])
    g.set_defaults(func=cmd_progress)
    from povdata.cli_import import add_parser as add_import_parser
    add_import_parser(sub)
    from povdata.cli_admin import add_parsers as add_admin_parsers
    add_admin_parsers(sub)
    from povdata.cli_backup import add_parsers as add_backup_parsers
    add_backup_parsers(sub)
    b = sub.add_parser("briefing", help=cli_t("cli.help_briefing"))
    b.add_argument("--year", type=int, help=cli_t("cli.help_briefing_year"))
    b.add_argument("--out", required=True, help=cli_t("cli.help_briefing_out"))
    b.add_argument("--province", default="20")
    b.add_argument("--indicators", help=cli_t("cli.help_indicators"))
    b.add_argument("--targets", help=cli_t("cli.help_targets"))
    b.add_argument("--lang", default="vi", choices=["vi", "en"])
    b.set_defaults(func=cmd_briefing)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except Exception as exc:  # the CLI never shows a traceback to a user
        from povdata.validate import IndicatorFileError
        if isinstance(exc, IndicatorFileError):
            for p in exc.report.errors:
                print(cli_t("cli.error", message=p), file=sys.stderr)
            return 1
        from povdata.auth import PermissionDenied
        from povdata.store import StoreError
        if isinstance(exc, (OSError, ValueError, StoreError, PermissionDenied)):
            print(cli_t("cli.error", message=exc), file=sys.stderr)
            return 1
        raise
