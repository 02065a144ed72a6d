"""Step 6: the checks on the matched rows — :func:`povdata.validate.validate_indicators`
(blocking errors and warnings with file, row and column), unknown units, district totals and
form subtotals against their units, the balance start − out + back + new = end, units
missing against the year before, and the partial-year gate (a district's form covering
whole districts is not partial).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from povdata.indicators import COUNT_COLUMNS, PUBLISHED_RATES
from povdata.messages import Lower, Msg, Num
from povdata.units import legacy_units
from povdata.validate import Problem, ValidationReport, shorten, validate_indicators
from povdata.reform import REFORM_YEAR
from povdata.ingest.header import FIELDS
from povdata.ingest.match import era_of_year, registry


def check_indicators(table: pd.DataFrame, matches: pd.DataFrame, file: str, names: dict[str, str],
                     known_codes: set[str], header_row: int,
                     previous: pd.DataFrame | None = None) -> ValidationReport:
    """Validate matched rows; the typed table (``level`` column added) when clean."""
    work = table.copy()
    work["unit_code"] = matches["code"].fillna("").astype(str).to_numpy()
    unmatched = matches["code"].isna() | (matches["code"].astype(str) == "")
    fields = [c for c in work.columns if c in ("unit_code", "year", "standard") or c in COUNT_COLUMNS
              or c in PUBLISHED_RATES]
    raw = work[fields].copy()
    col_label = {f: names.get(f, FIELDS.get(f, f)) for f in fields}
    if "unit_code" not in names:
        col_label["unit_code"] = names.get("unit_name", FIELDS["unit_code"])
    raw.columns = [col_label[f] for f in fields]
    mapping = {col_label[f]: f for f in fields}
    # unknown units are reported here, by name; the validator then sees only matched rows
    rep = ValidationReport(file)
    former = (matches["method"] == "former").to_numpy()
    for i in np.flatnonzero(unmatched.to_numpy() & former):
        m = matches.iloc[i]
        rep.problems.append(Problem(file, int(m["_row"]), col_label["unit_code"],
                                    Msg("check.former_not_imported", note=m["note"]), "warning"))
    for i in np.flatnonzero(unmatched.to_numpy() & (matches["method"] != "skip").to_numpy() & ~former):
        m = matches.iloc[i]
        what = shorten(" ".join(str(x) for x in (m["input_code"], m["input_name"]) if x))
        note = m["note"] if m["note"] and getattr(m["note"], "key", "") != "match.not_found" else ""
        rep.problems.append(Problem(file, int(m["_row"]), col_label["unit_code"],
                                    Msg("check.unit_not_found", what=what,
                                        note=Msg("check.note", note=note) if note else "")))
    keep = ~unmatched.to_numpy()
    sub = validate_indicators(raw[keep].reset_index(drop=True), file, known_codes, header_row=header_row,
                              rows=work["_row"].to_numpy()[keep], mapping=mapping)
    reform_rows = set(work["_row"][pd.to_numeric(work["year"], errors="coerce") == REFORM_YEAR])
    rep.problems.extend(p for p in sub.problems  # a code reused after the reform is another unit
                        if not (p.severity == "warning" and getattr(p.message, "key", "") == "validate.jump"
                                and p.row in reform_rows))
    if rep.ok and sub.table is not None:
        t = sub.table
        levels = matches.loc[keep, "level"].to_numpy()
        t.insert(1, "level", levels)
        t["_row"] = work["_row"].to_numpy()[keep]
        rep.table = t
        _warn_district_sums(rep, names)
        _warn_missing_units(rep, previous)
        unit_name = dict(zip(matches.loc[keep, "code"], matches.loc[keep, "matched_name"]))
        _warn_balance(rep, names, unit_name)
    return rep


#: the year's flows: start − thoát nghèo + tái nghèo + phát sinh = year-end (the review forms' balance)
BALANCE_FIELDS = ["poor_households_start", "escaped_poor", "re_poor", "newly_poor", "poor_households"]


def _warn_balance(rep: ValidationReport, names: dict[str, str], unit_name: dict[str, str]) -> None:
    """Per unit: start − out + back + new against the year-end count; a mismatch is a warning
    naming the unit, the row and the four numbers."""

    t = rep.table
    if t is None or not set(BALANCE_FIELDS) <= set(t.columns):
        return
    start, out, back, new, end = (t[c].astype("Float64") for c in BALANCE_FIELDS)
    expected = start - out + back + new
    off = (expected != end) & expected.notna() & end.notna()
    for i in np.flatnonzero(off.fillna(False).to_numpy()):
        code = t["unit_code"].iloc[i]
        n = [int(v.iloc[i]) for v in (start, out, back, new, end)]
        rep.problems.append(Problem(
            rep.file, int(t["_row"].iloc[i]), names.get("poor_households", FIELDS["poor_households"]),
            Msg("check.balance", unit=unit_name.get(code, code), code=code, year=int(t['year'].iloc[i]),
                end=Num(n[4], 0), start=Num(n[0], 0), out=Num(n[1], 0), back=Num(n[2], 0), new=Num(n[3], 0),
                expected=Num(n[0] - n[1] + n[2] + n[3], 0)),
            "warning"))


def check_subtotals(rep: ValidationReport, subtotals: pd.DataFrame, table: pd.DataFrame,
                    names: dict[str, str]) -> None:
    """The total and section rows a form carries ('Tổng cộng', 'I. Khu vực thành thị') against
    the sum of their units' counts: a difference is a warning naming the row and both sums
    (the units are what is stored; a subtotal is never imported as a unit)."""
    from povdata.validate import _parse_count

    t = rep.table
    if t is None or subtotals is None or subtotals.empty:
        return
    by_row = t.set_index("_row")
    section_of = dict(zip(table["_row"], table["_in_section"])) if "_in_section" in table else {}
    for r in subtotals.to_dict("records"):
        members = [x for x in by_row.index if r["_subtotal_kind"] == "total" or section_of.get(x) == r["_row"]]
        if not members:
            continue
        sub = by_row.loc[members]
        lowest = max(sub["level"], key=lambda lv: {"province": 0, "district": 1, "commune": 2}.get(lv, 0))
        sub = sub[sub["level"] == lowest]
        label = r.get("unit_name") or Msg("check.total_row")
        for col in [c for c in COUNT_COLUMNS if c in r and c in sub.columns]:
            try:
                stated = _parse_count(r[col])
            except ValueError:
                continue
            total = sub[col].sum(min_count=1)
            if stated is None or pd.isna(total) or sub[col].isna().any() or int(stated) == int(total):
                continue
            rep.problems.append(Problem(rep.file, int(r["_row"]), names.get(col, FIELDS.get(col, col)),
                                        Msg("check.subtotal", label=label if isinstance(label, Msg)
                                            else shorten(label, 40), stated=Num(int(stated), 0), n=len(sub),
                                            total=Num(int(total), 0), field=Lower(FIELDS.get(col, col))),
                                        "warning"))


def _warn_district_sums(rep: ValidationReport, names: dict[str, str]) -> None:
    t = rep.table
    if t is None or "district" not in set(t["level"]) or "commune" not in set(t["level"]):
        return
    dist_of = legacy_units().set_index("code")["district_code"]
    com = t[t["level"] == "commune"].copy()
    com["district"] = com["unit_code"].map(dist_of)
    for col in [c for c in ("households_total", "poor_households", "near_poor_households") if c in t]:
        sums = com.groupby(["district", "year"])[col].sum(min_count=1)
        for _, r in t[t["level"] == "district"].iterrows():
            s = sums.get((r["unit_code"], r["year"]))
            if s is not None and pd.notna(s) and pd.notna(r[col]) and int(s) != int(r[col]):
                rep.problems.append(Problem(rep.file, int(r["_row"]), names.get(col, FIELDS[col]),
                                            Msg("check.district_sum", field=Lower(FIELDS[col]), code=r['unit_code'],
                                                year=r['year'], value=int(r[col]), sum=int(s)), "warning"))


def _warn_missing_units(rep: ValidationReport, previous: pd.DataFrame | None) -> None:
    t = rep.table
    if t is None:
        return
    com = t[t["level"] == "commune"]
    years = sorted(com["year"].unique())
    seen = {y: set(com.loc[com["year"] == y, "unit_code"]) for y in years}
    if previous is not None and len(previous) and years:
        prev_year = years[0] - 1
        seen.setdefault(prev_year, set(previous.loc[previous["year"] == prev_year, "unit_code"]))
    names = legacy_units().set_index("code")["name"]
    for y in years:
        before = seen.get(y - 1)
        if not before or era_of_year(y) != era_of_year(y - 1):  # across the reform the lists differ
            continue
        gone = sorted(before - seen[y])
        if gone:
            shown = ", ".join(f"{names.get(c, c)} ({c})" for c in gone[:10]) + (" …" if len(gone) > 10 else "")
            rep.problems.append(Problem(rep.file, None, None,
                                        Msg("check.units_missing", year=y, n=len(gone), before=y - 1, units=shown),
                                        "warning"))


def _check_partial(rep: ValidationReport, province_code: str, allow_partial: bool) -> None:
    """A year in which a level has some of its units but not all: refused unless confirmed
    (then a warning).  Parents are never computed from partial children either way
    (:func:`povdata.dataset.level_table`)."""
    from povdata.coverage import coverage

    cov = coverage(rep.table, province_code)
    short = cov[cov["level"].isin(["district", "commune"]) & (cov["units"] < cov["expected"]) & (cov["units"] > 0)]
    whole = whole_districts(rep.table, province_code)
    for (year, dists) in whole.items():  # a district's form: every commune of the districts it covers
        short = short[~((short["year"] == year) & (short["level"] == "commune"))]
        names = ", ".join(dists.values())
        rep.problems.append(Problem(rep.file, None, None, Msg("check.whole_districts", year=year, n=len(dists),
                                                              names=names), "info"))
    for r in short.itertuples():
        what = Msg("check.partial_what", year=r.year, units=r.units, expected=r.expected,
                   level=Msg(f"coverage.{r.level}"), missing=r.missing)
        if allow_partial:
            rep.problems.append(Problem(rep.file, None, None, Msg("check.partial_kept", what=what), "warning"))
        else:
            rep.problems.append(Problem(rep.file, None, None, Msg("check.partial_refused", what=what)))
    if not rep.ok:
        rep.table = None


def whole_districts(table: pd.DataFrame, province_code: str) -> dict[int, dict[str, str]]:
    """Years (before the 2025 reform) in which the commune rows cover some districts in full
    and no district in part — a district's review form, or several — with those districts
    (code → name).  Such a file replaces the communes of its districts only."""
    if table is None or table.empty or "level" not in table or province_code == "00":
        return {}  # a national file is not a district's form
    out: dict[int, dict[str, str]] = {}
    for year, grp in table[table["level"] == "commune"].groupby("year"):
        if era_of_year(year) != "legacy":
            continue
        from povdata.unit_history import created_after
        reg = registry(province_code, "legacy")
        reg = reg[~reg["code"].isin(created_after(int(year)))]
        com = reg[reg["level"] == "commune"]
        dist_of = dict(zip(com["code"], com["parent_code"]))
        have = set(grp["unit_code"])
        touched = {dist_of.get(c) for c in have} - {None}
        expected = com[com["parent_code"].isin(touched)]
        all_districts = set(reg.loc[reg["level"] == "district", "code"])
        if touched and touched != all_districts and set(expected["code"]) <= have:
            names = dict(zip(reg["code"], reg["name"]))
            out[int(year)] = {d: names.get(d, d) for d in sorted(str(d) for d in touched)}
    return out
