"""Reading and validating indicator files (CSV, XLSX).

Every problem names the file, the row as the user sees it in a spreadsheet (the
header is row 1) and the column, as a catalogue message (:class:`povdata.messages.Msg`: Vietnamese
as text, and in the UI's language through :meth:`Problem.say`).  Errors block the import; warnings
are shown but do not.  Nothing is stored by these functions.
"""
from __future__ import annotations

from typing import cast

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from povdata.i18n import DEFAULT_LANG, t
from povdata.indicators import COUNT_COLUMNS, PUBLISHED_RATES
from povdata.messages import Msg, Num, say
from povdata.names import name_key
from povdata.registry import LiveMap, is_supplement
from povdata.standards import STANDARDS, default_standard_for_year

#: Headers accepted for the columns that are not indicators (compared by :func:`name_key`).
ID_ALIASES: dict[str, list[str]] = {
    "unit_code": ["unit_code", "Mã đơn vị", "Mã ĐVHC", "Mã xã", "Mã huyện", "Mã", "Mã đơn vị hành chính"],
    "unit_name": ["unit_name", "Tên đơn vị", "Đơn vị", "Tên xã", "Tên huyện", "Xã, phường, thị trấn"],
    "year": ["year", "Năm", "Năm rà soát"],
    "standard": ["standard", "Chuẩn nghèo", "Giai đoạn chuẩn nghèo"],
}


def _header_aliases() -> dict[str, list[str]]:
    from povdata.registry import INDICATORS
    out = dict(ID_ALIASES)
    for ind in INDICATORS.values():
        if ind.stored:
            out[ind.id] = [ind.id, *ind.aliases]
    return out


#: Column ids and the headers accepted for each: the ids above and every stored indicator of the
#: registry (:mod:`povdata.registry`) with its aliases.
HEADER_ALIASES: Mapping[str, list[str]] = LiveMap(_header_aliases)
HEADER_LABELS_VI: Mapping[str, str] = LiveMap(lambda: {k: v[1] if len(v) > 1 else k for k, v in HEADER_ALIASES.items()})
YEAR_MIN, YEAR_MAX = 2000, 2100
MAX_COUNT = 10**12  # far above any unit's households or people
_THOUSANDS = re.compile(r"^\d{1,3}([., \u00a0]\d{3})+$")


def shorten(text: object, limit: int = 80) -> str:
    """Text quoted in a message: at most ``limit`` characters, the full length said when cut
    (a 10,000-character name must not make a 10,000-character message)."""
    s = str(text)
    if len(s) <= limit:
        return s
    return Msg("validate.shortened", text=s[:limit - 1], n=Num(len(s), 0))


@dataclass(frozen=True)
class Problem:
    file: str
    row: int | None
    column: str | None
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        return self.say(DEFAULT_LANG)

    def say(self, lang: str) -> str:
        """'Tệp x.xlsx, dòng 7, cột 'Số hộ nghèo': …' in ``lang`` (file and column as the file writes them)."""
        where = [t("problem.file", lang, file=self.file)]
        if self.row is not None:
            where.append(t("problem.row", lang, row=self.row))
        if self.column:
            where.append(t("problem.column", lang, column=say(self.column, lang)))
        return t("problem.where", lang, where=", ".join(where), message=say(self.message, lang))


@dataclass
class ValidationReport:
    file: str
    problems: list[Problem] = field(default_factory=list)
    table: pd.DataFrame | None = None

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([dict(file=p.file, row=p.row, column=p.column, severity=p.severity,
                                  message=p.message) for p in self.problems],
                            columns=["file", "row", "column", "severity", "message"])


class IndicatorFileError(ValueError):
    """Raised by :func:`load_indicator_file` when a file has blocking errors."""

    def __init__(self, report: ValidationReport):
        self.report = report
        super().__init__("\n".join(str(p) for p in report.errors))


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or XLSX file as text cells (no type guessing); header on the first row."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str, engine="openpyxl", keep_default_na=False)
    if suffix == ".csv":
        raw = path.read_bytes()
        for enc in ("utf-8-sig", "cp1258"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        from io import StringIO
        sep = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
        return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    raise ValueError(Msg("validate.bad_format", file=path.name, reason=Msg("validate.format_not_supported",
                                                                         suffix=suffix)))


def map_headers(columns: list[str]) -> dict[str, str]:
    """Map the file's headers to column ids; unknown headers are left out."""
    lookup = {name_key(alias, drop_type=False): cid for cid, aliases in HEADER_ALIASES.items() for alias in aliases}
    out: dict[str, str] = {}
    for col in columns:
        cid = lookup.get(name_key(str(col), drop_type=False))
        if cid and cid not in out.values():
            out[col] = cid
    return out


def _parse_count(text: str) -> float | None:
    t = str(text).strip()
    if t == "":
        return None
    if _THOUSANDS.match(t):
        t = re.sub(r"[., \u00a0]", "", t)
    try:
        v = float(t)
    except ValueError:
        raise ValueError(Msg("validate.not_a_number")) from None
    if not np.isfinite(v) or v != int(v):
        raise ValueError(Msg("validate.not_whole"))
    if abs(v) > MAX_COUNT:  # beyond this Int64 would wrap around silently
        raise ValueError(Msg("validate.too_large"))
    return v


def _parse_rate(text: str) -> float | None:
    t = str(text).strip().replace("%", "")
    if t == "":
        return None
    try:
        return float(t.replace(",", "."))
    except ValueError:
        raise ValueError(Msg("validate.not_a_number")) from None


def normalize_code(text: str) -> str:
    """GSO codes as zero-padded strings, restoring zeros a spreadsheet dropped ('5971' → '05971')."""
    t = str(text).strip()
    if t.endswith(".0") and t[:-2].isascii() and t[:-2].isdigit():
        t = t[:-2]
    if t.isascii() and t.isdigit():
        if len(t) == 4:
            return t.zfill(5)
        if len(t) == 1:
            return t.zfill(2)
    return t


_STANDARD_YEARS = re.compile(r"(20\d\d)\s*[-–—/]\s*(20\d\d)")
#: How files write each standard (by its period, or the period its decree names)
_STANDARD_BY_SPAN = {("2011", "2015"): "2011-2015", ("2016", "2020"): "2016-2020", ("2021", "2025"): "2021-2025",
                     ("2022", "2025"): "2021-2025", ("2026", "2030"): "2026-2030"}


def parse_standard(text: object) -> str:
    """A standard id from a cell: '2016-2020', 'Chuẩn nghèo 2022–2025', 'chuẩn 2022-2025' →
    '2021-2025' (the standard of Decree 07/2021, applied 2022-2025); '' when empty; the
    text itself when it names no known period (the validator then names it)."""
    t = "" if text is None or (isinstance(text, float) and np.isnan(text)) else str(text).strip()
    if not t or t in STANDARDS:
        return t
    m = _STANDARD_YEARS.search(t)
    return _STANDARD_BY_SPAN.get((m.group(1), m.group(2)), t) if m else t


def validate_indicators(raw: pd.DataFrame, file: str, known_codes: set[str] | None = None,
                        header_row: int = 1, rows: "np.ndarray | list[int] | None" = None,
                        mapping: dict[str, str] | None = None) -> ValidationReport:
    """Check a table of text cells; return the report with the typed table when clean.

    ``rows`` gives each row's number as the user sees it in the spreadsheet (default: the
    row after ``header_row``); ``mapping`` (file header → column id) replaces the header
    recognition of :func:`map_headers`, for files whose columns the user mapped by hand.
    """
    rep = ValidationReport(file)
    mapping = map_headers(list(raw.columns)) if mapping is None else dict(mapping)
    present = set(mapping.values())
    inv = {v: k for k, v in mapping.items()}
    for col in ("unit_code", "year"):
        if col not in present:
            rep.problems.append(Problem(file, header_row, HEADER_LABELS_VI[col], Msg("validate.missing_column")))
    if not {"households_total", "poor_households"} <= present and "poverty_rate_published" not in present \
            and not is_supplement(present):  # a deprivation or output form adds to a stored year
        for col in ("households_total", "poor_households"):
            if col not in present:
                rep.problems.append(Problem(file, header_row, HEADER_LABELS_VI[col],
                                            Msg("validate.missing_count_column")))
    if rep.errors:
        return rep
    # select, then rename: renaming first gives two columns of one name when a second header
    # for the same field ('Hộ nghèo' beside 'Số hộ nghèo') is present, and that one is left out
    df = raw[list(mapping)].copy()
    df.columns = list(mapping.values())
    rows = np.arange(len(df)) + header_row + 1 if rows is None else np.asarray(rows, dtype=int)
    out = pd.DataFrame(index=df.index)
    out["unit_code"] = df["unit_code"].map(normalize_code)
    years = pd.to_numeric(df["year"].str.strip(), errors="coerce")
    years = years.where(np.isfinite(years))  # 'inf', '1e400': not a year
    for i in np.flatnonzero(years.isna() | (years % 1 != 0)).tolist():
        rep.problems.append(Problem(file, int(rows[i]), inv["year"],
                                    Msg("validate.bad_year", year=shorten(df['year'].iloc[i]))))
    for i in np.flatnonzero(years.notna() & ((years < YEAR_MIN) | (years > YEAR_MAX))).tolist():
        rep.problems.append(Problem(file, int(rows[i]), inv["year"],
                                    Msg("validate.year_outside", year=int(years.iloc[i]), low=YEAR_MIN,
                                        high=YEAR_MAX)))
    out["year"] = years
    for i in np.flatnonzero(out["unit_code"] == "").tolist():
        rep.problems.append(Problem(file, int(rows[i]), inv["unit_code"], Msg("validate.missing_code")))
    if known_codes is not None:
        for i in np.flatnonzero((out["unit_code"] != "") & ~out["unit_code"].isin(known_codes)).tolist():
            rep.problems.append(Problem(file, int(rows[i]), inv["unit_code"],
                                        Msg("validate.unknown_code", code=shorten(out['unit_code'].iloc[i]))))
    for col in [c for c in COUNT_COLUMNS if c in present]:
        vals = []
        for i, text in enumerate(df[col]):
            try:
                v = _parse_count(text)
            except ValueError as exc:
                rep.problems.append(Problem(file, int(rows[i]), inv[col],
                                            Msg("validate.bad_value", value=shorten(text), reason=exc.args[0])))
                v = None
            if v is not None and v < 0:
                rep.problems.append(Problem(file, int(rows[i]), inv[col], Msg("validate.negative", value=int(v))))
            vals.append(v)
        out[col] = pd.array(vals, dtype="Float64").astype("Int64") if vals else pd.array([], dtype="Int64")
    for col in [c for c in PUBLISHED_RATES if c in present]:
        vals = []
        for i, text in enumerate(df[col]):
            try:
                v = _parse_rate(text)
            except ValueError as exc:
                rep.problems.append(Problem(file, int(rows[i]), inv[col],
                                            Msg("validate.bad_value", value=shorten(text), reason=exc.args[0])))
                v = None
            if v is not None and not 0 <= v <= 100:
                rep.problems.append(Problem(file, int(rows[i]), inv[col], Msg("validate.rate_outside",
                                                                             value=shorten(text))))
            vals.append(v)
        out[col] = pd.array(vals, dtype="Float64").astype("float64")
    # standard: given, or the one in force for the year
    if "standard" in present:
        std = df["standard"].map(parse_standard)
        for i in np.flatnonzero((std != "") & ~std.isin(list(STANDARDS))).tolist():
            rep.problems.append(Problem(file, int(rows[i]), inv["standard"],
                                        Msg("validate.bad_standard", standard=shorten(std.iloc[i]),
                                            known=", ".join(STANDARDS))))
    else:
        std = pd.Series("", index=df.index)
    default = out["year"].map(lambda y: default_standard_for_year(int(y)) if pd.notna(y) else None)
    out["standard"] = std.where(std != "", default)
    for i in np.flatnonzero(out["standard"].isna() & out["year"].notna()).tolist():
        rep.problems.append(Problem(file, int(rows[i]), inv.get("standard", HEADER_LABELS_VI["standard"]),
                                    Msg("validate.no_standard", year=int(out['year'].iloc[i]))))
    first = out["standard"].map({k: s.first_review_year for k, s in STANDARDS.items()})
    last = out["standard"].map({k: s.last_review_year for k, s in STANDARDS.items()})
    yr = pd.to_numeric(out["year"], errors="coerce").astype("float64")
    first, last = pd.to_numeric(first, errors="coerce"), pd.to_numeric(last, errors="coerce")
    # a standard's last year may be followed by one transition year published under it too
    # (2021 was published under both the 2016-2020 and the 2022-2025 standards), when the file says so
    explicit = std != ""
    outside = yr.notna() & first.notna() & ((yr < first) | (yr > last + explicit.astype(int)))
    for i in np.flatnonzero(outside.to_numpy()).tolist():  # vectorised test, a message per row outside
        s = STANDARDS[out["standard"].iloc[i]]
        y = int(out["year"].iloc[i])
        rep.problems.append(Problem(file, int(rows[i]), inv.get("standard", HEADER_LABELS_VI["standard"]),
                                    Msg("validate.year_not_in_standard", year=y, standard=s.id,
                                        first=s.first_review_year, last=s.last_review_year)))
    # counts must add up
    if {"households_total", "poor_households"} <= present:
        total, poor = out["households_total"], out["poor_households"]
        for i in np.flatnonzero((poor > total).fillna(False).to_numpy()).tolist():
            rep.problems.append(Problem(file, int(rows[i]), inv["poor_households"],
                                        Msg("validate.poor_above_total", poor=poor.iloc[i], total=total.iloc[i])))
        for i in np.flatnonzero((poor.isna() | total.isna()).to_numpy()).tolist():
            if "poverty_rate_published" not in out or pd.isna(out["poverty_rate_published"].iloc[i]):
                col = inv["poor_households"] if pd.isna(poor.iloc[i]) else inv["households_total"]
                rep.problems.append(Problem(file, int(rows[i]), col, Msg("validate.missing_counts")))
        if "near_poor_households" in present:
            near = out["near_poor_households"]
            for i in np.flatnonzero(((poor + near) > total).fillna(False).to_numpy()).tolist():
                rep.problems.append(Problem(file, int(rows[i]), inv["near_poor_households"],
                                            Msg("validate.poor_near_above_total", sum=poor.iloc[i] + near.iloc[i],
                                                total=total.iloc[i])))
    # one row per unit, year and standard: the same year under two standards is two series
    key = ["unit_code", "year", "standard"]
    dup = out.duplicated(key, keep=False) & out["year"].notna() & (out["unit_code"] != "")
    for _, grp in out[dup].groupby(key, dropna=False):
        r = ", ".join(str(int(rows[df.index.get_loc(i)])) for i in grp.index[:10])
        more = Msg("validate.more_rows", n=len(grp)) if len(grp) > 10 else ""  # one unit repeated 100,000 times
        rep.problems.append(Problem(file, int(rows[df.index.get_loc(grp.index[1])]), inv["unit_code"],
                                    Msg("validate.duplicate", code=grp['unit_code'].iloc[0],
                                        year=int(grp['year'].iloc[0]), rows=r, more=more)))
    if rep.ok:
        out["year"] = out["year"].astype(int)
        rep.table = out.reset_index(drop=True)
        _warn_jumps(rep, rows, inv)
        _warn_stated_rates(rep, rows, inv)
    return rep


#: A year-on-year change of a unit's rate (same standard) beyond this is worth a second look.
RATE_JUMP_PP = 15.0
#: A stated rate and the rate its own counts give that differ by more than this (pp) are flagged.
STATED_RATE_TOLERANCE_PP = 0.1


def _warn_stated_rates(rep: ValidationReport, rows: np.ndarray, inv: dict[str, str]) -> None:
    """The rate a row states against the rate its counts give (28,57% from the counts, 12,00%
    written): a warning naming the row, both columns and both figures."""
    t = rep.table
    if t is None or not {"households_total", "poor_households", "poverty_rate_published"} <= set(t.columns):
        return
    total = t["households_total"].astype("Float64")
    rate = (t["poor_households"].astype("Float64") / total * 100).where(total > 0).astype("float64")
    stated = t["poverty_rate_published"].astype("float64")
    off = (rate - stated).abs() > STATED_RATE_TOLERANCE_PP + 1e-9
    for i in np.flatnonzero(off.fillna(False).to_numpy()).tolist():
        rep.problems.append(Problem(rep.file, int(rows[i]),
                                    inv.get("poverty_rate_published", HEADER_LABELS_VI["poverty_rate_published"]),
                                    Msg("validate.stated_rate_differs", stated=Num(stated.iloc[i]),
                                        computed=Num(rate.iloc[i]),
                                        poor=inv.get("poor_households", HEADER_LABELS_VI["poor_households"]),
                                        total=inv.get("households_total", HEADER_LABELS_VI["households_total"])),
                                    "warning"))


def _warn_jumps(rep: ValidationReport, rows: np.ndarray, inv: dict[str, str] | None = None,
                limit_pp: float = RATE_JUMP_PP) -> None:
    t = rep.table
    if t is None or not {"households_total", "poor_households"} <= set(t.columns):
        return
    rate = (t["poor_households"] / t["households_total"] * 100).astype("float64")
    frame = t.assign(rate=rate, row=rows).sort_values(["unit_code", "standard", "year"])
    prev = frame.groupby(["unit_code", "standard"])["rate"].shift(1)
    prev_year = frame.groupby(["unit_code", "standard"])["year"].shift(1)
    jump = (frame["rate"] - prev).abs()
    for idx in frame.index[(jump > limit_pp) & (prev_year == frame["year"] - 1)]:
        rep.problems.append(Problem(rep.file, int(frame.at[idx, "row"]),
                                    (inv or {}).get("poor_households", HEADER_LABELS_VI["poor_households"]),
                                    Msg("validate.jump", code=frame.at[idx, 'unit_code'], pp=int(limit_pp)),
                                    "warning"))


def validate_file(path: str | Path, known_codes: set[str] | None = None) -> ValidationReport:
    """Read and validate a file; unreadable files give a report with one error, never a traceback."""
    path = Path(path)
    try:
        raw = read_table(path)
    except ValueError as exc:
        rep = ValidationReport(path.name)
        said = exc.args[0] if exc.args else None
        rep.problems.append(Problem(path.name, None, None, cast(str, said.params["reason"])
                                    if isinstance(said, Msg) and "reason" in said.params else str(exc).split(": ", 1)[-1]))
        return rep
    except Exception as exc:  # a malformed workbook: openpyxl/zipfile/csv raise many types
        rep = ValidationReport(path.name)
        rep.problems.append(Problem(path.name, None, None, Msg("validate.unreadable", kind=type(exc).__name__)))
        return rep
    return validate_indicators(raw, path.name, known_codes)


def load_indicator_file(path: str | Path, known_codes: set[str] | None = None) -> pd.DataFrame:
    """The typed indicator table of a clean file; :class:`IndicatorFileError` otherwise."""
    rep = validate_file(path, known_codes)
    if not rep.ok:
        raise IndicatorFileError(rep)
    return rep.table
