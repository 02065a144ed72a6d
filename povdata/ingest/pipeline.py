"""All steps, from a file's bytes to a report (:func:`prepare_indicators`), and the save
(:func:`save_import`).  ``validate``, ``import --dry-run``, ``import`` and the import page
all call :func:`prepare_indicators`, so they reach the same verdict on the same file.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from povdata.messages import Lower, Msg, file_body
from povdata.registry import is_supplement
from povdata.names import name_key
from povdata.validate import Problem, ValidationReport, shorten
from povdata.reform import REFORM_YEAR
from povdata.ingest.safety import ImportFileError
from povdata.ingest.sheet import Sheet, column_letter, read_sheet, sha256
from povdata.ingest.header import (FIELDS, Header, _composite_field, _skip_colnums, column_labels, find_header,
                                   suggest_mapping, year_from_title)
from povdata.ingest.rows import extract_rows
from povdata.ingest.match import (MATCH_COLUMNS, NATIONAL, apply_overrides, district_in_title, era_of_year,
                                  match_units, registry)
from povdata.ingest.checks import _check_partial, check_indicators, check_subtotals, whole_districts


@dataclass
class IndicatorImport:
    file: str
    sha256: str
    province_code: str
    sheet: Sheet
    header: Header
    labels: list[str]
    mapping: dict[int, str]
    year: int | None
    era: str
    table: pd.DataFrame
    matches: pd.DataFrame
    report: ValidationReport
    notes: list[Problem]

    @property
    def ok(self) -> bool:
        return self.report.ok and self.report.table is not None

    @property
    def supplement(self) -> bool:
        """A file of supplementary columns only (a deprivation form, the programme's outputs):
        it adds them to the years already stored, see :func:`is_supplement`."""
        return is_supplement(self.mapping.values())

    @property
    def indicators(self) -> pd.DataFrame | None:
        """The clean table's rows at every level (province, district, commune), in the
        store's tidy form."""
        t = self.report.table
        if not self.ok or t is None:
            return None
        return t.drop(columns=["level", "_row"]).reset_index(drop=True)


def merge_supplement(imp: "IndicatorImport", previous: pd.DataFrame | None) -> pd.DataFrame:
    """The stored rows of the years a supplementary file covers, with its columns filled in
    (the other columns as stored).  ``ValueError`` (a catalogue message naming the file, the
    row and the unit) when a unit's year is not stored, or its poor-household count differs
    from the stored one: the deprivations are counted among the poor households of that review."""
    from povdata.registry import supplementary_columns

    t = imp.report.table
    assert t is not None  # a clean import (the caller checks ``imp.ok``)
    cols = [c for c in supplementary_columns() if c in t.columns]
    key = ["unit_code", "year"]
    checked = [c for c in ("poor_households", "near_poor_households") if c in t]  # repeated by the form
    prev = previous if previous is not None else pd.DataFrame(columns=[*key, "standard", *checked])
    prev = prev[prev["year"].isin(set(t["year"].astype(int)))].copy()
    for c in checked:
        if c not in prev:
            prev[c] = pd.NA
    joined = t[[*key, "_row", *cols, *checked]].merge(
        prev[[*key, "standard", *checked]], on=key, how="left", suffixes=("_file", ""), indicator=True)
    missing = joined[joined["_merge"] == "left_only"]
    # a parent of stored units (a district, the province) gets a row of these columns only: its
    # households stay the sum of its units' (povdata.dataset.level_table)
    years_std = prev.groupby("year")["standard"].agg(lambda x: x.mode().iloc[0]) if len(prev) else pd.Series(dtype=str)
    parent = missing["unit_code"].isin(_parents(imp.province_code, prev)) & missing["year"].isin(years_std.index)
    new_rows = missing[parent]
    missing = missing[~parent]
    if len(missing):
        r = missing.iloc[0]
        raise ValueError(Msg("pipeline.supplement_no_year", file=imp.file, row=int(r["_row"]), code=r["unit_code"],
                             year=int(r["year"]), n=len(missing)))
    for c in checked:
        a = pd.to_numeric(joined[f"{c}_file"], errors="coerce")
        b = pd.to_numeric(joined[c], errors="coerce")
        bad = joined[a.notna() & b.notna() & (a != b)]
        if len(bad):
            r = bad.iloc[0]
            raise ValueError(Msg("pipeline.supplement_poor_differs", file=imp.file, row=int(r["_row"]),
                                 code=r["unit_code"], year=int(r["year"]), file_count=int(r[f"{c}_file"]),
                                 stored=int(r[c]), what=Lower(FIELDS[c])))
    if len(new_rows):
        add = new_rows[key].assign(standard=new_rows["year"].map(years_std).to_numpy())
        prev = pd.concat([prev, add], ignore_index=True)
    out = prev.set_index(key)
    fill = t.set_index(key)[cols]
    for c in cols:
        if c not in out:
            out[c] = pd.Series(pd.NA, index=out.index, dtype="Int64")
        out.loc[fill.index, c] = fill[c].to_numpy()
        out[c] = out[c].astype("Int64")
    return out.reset_index()


def _parents(province_code: str, stored: pd.DataFrame) -> set[str]:
    """The province and the districts that have stored units under them (either era's lists)."""
    from povdata.units import legacy_units
    out = {province_code}
    try:
        u = legacy_units(province_code)
    except (KeyError, ValueError):  # a code with no unit list: the province alone
        return out
    have = set(stored["unit_code"])
    return out | set(u.loc[(u["level"] == "commune") & u["code"].isin(have), "parent_code"])


def _file_problem(file: str, message: str) -> ValidationReport:
    rep = ValidationReport(file)
    rep.problems.append(Problem(file, None, None, message))
    return rep


def prepare_indicators_limited(data: bytes, name: str, province_code: str, **options) -> IndicatorImport:
    """:func:`prepare_indicators` in a child process with a memory and a time limit
    (:mod:`povdata.workers`): what the web pages call.  A file that hits a limit is refused
    with a message naming it."""
    from povdata.workers import WorkerLimit, limit_message, run_limited

    try:
        return run_limited(prepare_indicators, data, name, province_code, **options)
    except WorkerLimit as exc:
        empty = pd.DataFrame()
        return IndicatorImport(name, sha256(data), province_code, Sheet(name, empty), Header(0, 0, 1), [], {},
                               options.get("year"), options.get("era") or "legacy", empty,
                               pd.DataFrame(columns=MATCH_COLUMNS), _file_problem(name, limit_message(exc)), [])


def prepare_indicators(data: bytes, name: str, province_code: str, *, sheet: str | None = None,
                       encoding: str | None = None, header_row: int | None = None,
                       mapping: dict[int, str] | None = None, year: int | None = None,
                       era: str | None = None, overrides: dict[int, str | None] | None = None,
                       previous: pd.DataFrame | None = None,
                       aliases: dict[str, dict[str, str | None]] | None = None,
                       allow_partial: bool = False) -> IndicatorImport:
    """Every step from a file's bytes to a validation report.

    Parameters are the user's choices, all optional: the sheet, the CSV encoding, the
    header row (1-based, its last row), the column mapping (column index → field id),
    the year for files without a year column, the unit list (``legacy`` | ``2025``;
    by default from the years, and for 2025 alone the list that matches more rows),
    and hand-made matches ``{spreadsheet row: code}``; ``aliases`` (era → name key → code)
    are the hand-made matches of earlier imports (:func:`povdata.store.unit_aliases`).
    ``allow_partial``: the user confirmed that a year with only some of a level's units
    (4 / 194 xã) is meant (page checkbox, ``--partial``); without it such a file is refused.
    Never raises for a bad file:
    the report then holds one error naming the file.
    """
    digest = sha256(data)
    try:
        sh = read_sheet(data, name, sheet, encoding)
    except ImportFileError as exc:
        empty = pd.DataFrame()
        msg = file_body(exc, name)
        return IndicatorImport(name, digest, province_code, Sheet(name, empty), Header(0, 0, 1), [], {}, year,
                               era or "legacy", empty, pd.DataFrame(columns=MATCH_COLUMNS),
                               _file_problem(name, msg), [])
    if sh.cells.empty:
        return IndicatorImport(name, digest, province_code, sh, Header(0, 0, 1), [], {}, year, era or "legacy",
                               pd.DataFrame(), pd.DataFrame(columns=MATCH_COLUMNS),
                               _file_problem(name, Msg("pipeline.empty_file")), [])
    if province_code == NATIONAL and mapping is None and header_row is None:
        from povdata.national import is_national_table, read_national
        if is_national_table(sh.cells):  # the yearbook's layout: a rate per province, a column per year
            table, matches, rep, notes = read_national(sh.cells, name)
            rep.problems[:0] = [Problem(name, None, None, w, "warning") for w in sh.warnings]
            years = sorted({int(y) for y in table["year"]}) if len(table) else []
            return IndicatorImport(name, digest, province_code, sh, Header(0, 0, 1), [], {}, None,
                                   "legacy" if years and max(years) < REFORM_YEAR else "2025", table, matches, rep,
                                   notes)
    header = find_header(sh.cells)
    if header_row is not None:
        last = max(0, min(header_row - 1, len(sh.cells) - 1))
        header = Header(min(header.first, last) if header.last == last else last, last,
                        _skip_colnums(sh.cells.values.tolist(), last + 1))
    labels = column_labels(sh.cells, header)
    suggested = mapping is None
    mapping = suggest_mapping(labels) if mapping is None else {int(k): v for k, v in mapping.items() if v}
    if year is None and "year" not in mapping.values():
        year = year_from_title(sh.cells, header)
    table, notes, names, subtotals = extract_rows(sh.cells, header, mapping, labels, year)
    notes = [Problem(name, p.row, p.column, p.message, p.severity) for p in notes]
    rep = ValidationReport(name)
    rep.problems.extend(Problem(name, None, None, w, "warning") for w in sh.warnings)
    if sheet is None and suggested and len(sh.sheets) > 1 and "near_poor_households" not in mapping.values() \
            and "poor_households" in mapping.values():
        # the near-poor form on another sheet of the same workbook (a district sends both): its year-end
        # near-poor count joins the poor form's rows, unit by unit
        table, names = _join_near_poor_sheet(data, name, sh, table, names, year, rep)
    if suggested:  # a second column with the same meaning ('Số hộ nghèo' twice) is not used
        for j, label in enumerate(labels):
            f = _composite_field(label) if label else ""
            if f and j not in mapping and f in mapping.values():
                first = column_letter(next(k for k, v in mapping.items() if v == f))
                rep.problems.append(Problem(name, header.last + 1, f"{column_letter(j)}: {shorten(label, 60)}",
                                            Msg("pipeline.same_field", column=column_letter(j), field=FIELDS[f],
                                                first=first), "warning"))
    missing = []
    if "unit_code" not in mapping.values() and "unit_name" not in mapping.values():
        missing.append("unit_code")
    if "year" not in table:
        missing.append("year")
    if not ({"households_total", "poor_households"} <= set(mapping.values())
            or "poverty_rate_published" in mapping.values() or is_supplement(mapping.values())):
        missing += [f for f in ("households_total", "poor_households") if f not in mapping.values()]
    if "poor_households" in missing and "near_poor_households" in mapping.values():
        # the near-poor form of the review (hộ cận nghèo): it adds to a year's poor household figures,
        # it cannot stand alone (the poor count and rate are the series every screen shows)
        missing = [f for f in missing if f not in ("households_total", "poor_households")]
        rep.problems.append(Problem(name, header.last + 1, FIELDS["poor_households"],
                                    Msg("pipeline.near_poor_form_alone")))
    for f in missing:
        extra = Msg("pipeline.missing_year_hint") if f == "year" else ""
        rep.problems.append(Problem(name, header.last + 1, FIELDS[f], Msg("pipeline.missing_column", extra=extra)))
    if missing or table.empty or not rep.ok:
        if not missing and rep.ok:
            rep.problems.append(Problem(name, None, None, Msg("pipeline.no_rows")))
        return IndicatorImport(name, digest, province_code, sh, header, labels, mapping, year, era or "legacy",
                               table, pd.DataFrame(columns=MATCH_COLUMNS), rep, notes)
    years = pd.to_numeric(table["year"], errors="coerce")
    # a year that is no year, or outside the range, is said as such (before matching: the unit
    # list depends on the year, and 'unit not found' would hide what is wrong)
    from povdata.validate import YEAR_MAX, YEAR_MIN
    bad_year = years.isna() | (years % 1 != 0) | (years < YEAR_MIN) | (years > YEAR_MAX)
    if bad_year.any():
        col = names.get("year", FIELDS["year"])
        for r, text, y in zip(table.loc[bad_year, "_row"], table.loc[bad_year, "year"], years[bad_year]):
            msg = (Msg("validate.year_outside", year=int(y), low=YEAR_MIN, high=YEAR_MAX)
                   if pd.notna(y) and y % 1 == 0 else Msg("validate.bad_year", year=shorten(text)))
            rep.problems.append(Problem(name, int(r), col, msg))
        return IndicatorImport(name, digest, province_code, sh, header, labels, mapping, year, era or "legacy",
                               table, pd.DataFrame(columns=MATCH_COLUMNS), rep, notes)
    row_era = years.map(era_of_year) if era is None else pd.Series(era, index=table.index)
    if era is not None and (years.map(era_of_year) != era).any():
        key = "pipeline.era_mismatch_new" if era == "legacy" else "pipeline.era_mismatch_old"
        rep.problems.append(Problem(name, None, names.get("year", FIELDS["year"]), Msg(key, year=REFORM_YEAR),
                                    "warning"))
    parts = []
    for e in ("legacy", "2025"):  # each row against the list of its year
        mask = (row_era == e).to_numpy()
        if mask.any():
            sub = table[mask].reset_index(drop=True)
            m = apply_overrides(match_units(sub, province_code, e, (aliases or {}).get(e),
                                            district_in_title(sh.cells, header, province_code, e)),
                                overrides or {}, province_code, e)
            parts.append(m.set_axis(np.flatnonzero(mask)))
    matches = pd.concat(parts).sort_index().reset_index(drop=True)
    eras = set(row_era)
    era = eras.pop() if len(eras) == 1 else "mixed"
    known = set().union(*(set(registry(province_code, e)["code"]) for e in set(row_era)))
    rep2 = check_indicators(table, matches, name, names, known, header.last + 1, previous)
    rep.problems.extend(rep2.problems)
    rep.table = rep2.table
    check_subtotals(rep, subtotals, table, names)
    if rep.ok and rep.table is not None and not is_supplement(mapping.values()):  # a supplement fills in units
        _check_partial(rep, province_code, allow_partial)
    return IndicatorImport(name, digest, province_code, sh, header, labels, mapping, year, era, table, matches,
                           rep, notes)


def save_import(store, province_code: str, indicators: "IndicatorImport | None" = None,
                boundaries=None, created_by: str | None = None, note: str = "", user=None,
                keep_other_years: bool = True, simplify=None):
    """Store a clean indicator import and/or boundary import as one new version.

    Refuses (``ValueError`` with the Vietnamese reason) anything whose report has errors,
    so a rejected file never reaches the store.  A district boundary file keeps the
    previous version's communes (or the demo's approximate ones).  ``simplify``: how new
    boundary sets' display geometry is computed (:func:`povdata.store.import_version`)."""
    from geo.ingest.layers import build_layers
    from povdata.store import APPROXIMATE_SOURCE, import_version, latest_version, layer_sources, load_layers

    if user is not None:  # before any work: a viewer's attempt stops here
        from povdata.auth import check_scope, require
        require(user, "import")
        check_scope(user, province_code)
    if indicators is None and boundaries is None:
        raise ValueError(Msg("pipeline.nothing_to_save"))
    for imp in (indicators, boundaries):
        if imp is not None and not imp.ok:
            raise ValueError(Msg("pipeline.file_has_errors", file=imp.file))
    era = indicators.era if indicators is not None else boundaries.era
    layers = sources = None
    if boundaries is not None:
        prev = latest_version(store, province_code)
        fallback = load_layers(store, prev.id) if prev is not None else _demo_layers(province_code)
        prev_sources = layer_sources(store, prev.id) if prev is not None else \
            {k: (APPROXIMATE_SOURCE, True) for k in fallback}
        layers = build_layers(boundaries.gdf, boundaries.matches, province_code, boundaries.era, boundaries.level,
                              fallback)
        made = {"province", boundaries.level if boundaries.era == "legacy" else "commune_2025"}
        if boundaries.era == "legacy" and boundaries.level == "commune":
            made.add("district")
        sources = {k: ((boundaries.file, False) if k in made else prev_sources.get(k, ("", True))) for k in layers}
    table = indicators.indicators if indicators is not None else None
    replace = (whole_districts(indicators.report.table, province_code) if indicators is not None else {})
    if indicators is not None and indicators.supplement:  # added to the stored years, never replacing them
        from povdata.store import load_indicators
        prev = latest_version(store, province_code)
        table = merge_supplement(indicators, load_indicators(store, prev.id) if prev is not None
                                 and prev.data_status != "illustrative" else None)
        replace = {}
    remember = []
    if indicators is not None:  # the user's hand-made matches, for the next import of the same names
        hand = indicators.matches[indicators.matches["method"].isin(["manual", "skip"])]
        remember = [(e, name_key(n), c if isinstance(c, str) and c else None)
                    for e, n, c in zip(hand["era"], hand["input_name"], hand["code"]) if n and name_key(n)]
    return import_version(
        store, province_code, aliases=remember,
        indicators=table,
        layers=layers, layer_sources=sources,
        source_file=indicators.file if indicators is not None else "",
        sha256=indicators.sha256 if indicators is not None else "",
        boundary_file=boundaries.file if boundaries is not None else "",
        boundary_sha256=boundaries.sha256 if boundaries is not None else "",
        created_by=created_by, note=note, era=era, user=user, keep_other_years=keep_other_years,
        replace_districts={y: set(d) for y, d in replace.items()} if indicators is not None else None,
        simplify=simplify)


def _demo_layers(province_code: str) -> dict:
    from geo.read import read_layers
    from povdata.dataset import demo_dir
    path = demo_dir(province_code) / "boundaries.gpkg"
    return read_layers(path) if path.exists() else {}


def _join_near_poor_sheet(data: bytes, name: str, sh: Sheet, table: pd.DataFrame, names: dict[str, str],
                          year: int | None, rep: ValidationReport) -> tuple[pd.DataFrame, dict[str, str]]:
    """The first other sheet that is a near-poor form (near-poor count, no poor count): its
    near-poor count and rate joined to ``table`` by unit code, else by unit name (within the
    district heading); its units that the poor form does not have are said (warning)."""
    from povdata.names import name_key

    for other in sh.sheets:
        if other == sh.sheet:
            continue
        try:
            sh2 = read_sheet(data, name, other)
        except ImportFileError:
            continue
        if sh2.cells.empty:
            continue
        h2 = find_header(sh2.cells)
        labels2 = column_labels(sh2.cells, h2)
        m2 = suggest_mapping(labels2)
        if "near_poor_households" not in m2.values() or "poor_households" in m2.values():
            continue
        t2, _, names2, _ = extract_rows(sh2.cells, h2, m2, labels2, year)
        use_code = "unit_code" in table and "unit_code" in t2 and (table["unit_code"] != "").all()

        def keys(t: pd.DataFrame) -> pd.Series:
            if use_code:
                return t["unit_code"].astype(str).str.strip()
            heading = t["_heading"] if "_heading" in t else ""
            return t["unit_name"].map(lambda x: name_key(str(x))) + "|" + (heading.map(lambda x: name_key(str(x)))
                                                                          if isinstance(heading, pd.Series) else "")
        cols = [c for c in ("near_poor_households", "near_poor_rate_published") if c in t2]
        right = t2.assign(_key=keys(t2)).drop_duplicates("_key").set_index("_key")[cols + ["_row"]]
        k = keys(table)
        out = table.copy()
        for c in cols:
            out[c] = k.map(right[c]).fillna("").to_numpy()
            names[c] = f"{other} › {names2[c]}"
        missing = sorted(set(right.index) - set(k))
        if missing:
            rows = right.loc[missing, "_row"].astype(int).tolist()
            rep.problems.append(Problem(name, rows[0], names["near_poor_households"],
                                        Msg("pipeline.near_poor_units_missing", sheet=shorten(other, 40), n=len(missing),
                                            main=shorten(sh.sheet or '', 40), rows=", ".join(map(str, rows[:10]))),
                                        "warning"))
        rep.problems.append(Problem(name, None, None, Msg("pipeline.near_poor_joined", sheet=shorten(other, 40)),
                                    "info"))
        return out, names
    return table, names
