"""Targets as data: a TOML file per province (``data/targets/<province_code>.toml``).

The file format is documented at the top of ``data/targets/20.toml``.  Loading
validates it and raises :class:`TargetsError` with a message naming the file, the
target and the field; the app shows that message instead of a traceback.
"""
from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from povdata.messages import Msg
from povdata.standards import STANDARDS

TARGETS_DIR = Path(__file__).resolve().parents[1] / "data" / "targets"

RATE_RULES = {"annual_reduction_at_least", "annual_reduction_greater_than", "annual_reduction_between"}
MILESTONE_RULES = {"poor_district_exits_at_least", "poor_districts_remaining_at_most"}
#: service coverage and output targets (:mod:`povdata.programme`)
PROGRAMME_RULES = {"share_at_least", "count_at_least", "per_year_at_least"}
SCOPES = {"province", "poor_districts", "districts", "communes_above", "unit"}
STATUSES = {"reported", "national", "set by the user"}


class TargetsError(ValueError):
    """A targets file that cannot be used; ``str()`` is a Vietnamese message."""


@dataclass(frozen=True)
class Target:
    id: str
    scope: str
    rule: str
    value: float
    unit: str
    status: str
    source: str
    indicator: str = "poverty_rate"
    by_year: int | None = None
    rate_above: float | None = None
    unit_code: str | None = None
    #: the high bound of a range rule ('giảm 2-2,5%/năm': value 2, value_high 2.5)
    value_high: float | None = None
    #: who answers for it (a key of the catalogue's ``[owner]`` section, or a name as written)
    owner: str = ""

    @property
    def is_programme_rule(self) -> bool:
        return self.rule in PROGRAMME_RULES

    @property
    def is_rate_rule(self) -> bool:
        return self.rule in RATE_RULES

    @property
    def strict(self) -> bool:
        return self.rule == "annual_reduction_greater_than"

    @property
    def is_range(self) -> bool:
        return self.rule == "annual_reduction_between"


@dataclass(frozen=True)
class Period:
    id: str
    start: int
    end: int
    baseline_year: int
    standard: str | None
    source: str
    targets: tuple[Target, ...] = ()


@dataclass(frozen=True)
class TargetsConfig:
    province_code: str
    province: str
    at_risk_margin_pp: float = 1.0
    poor_district_exit_rate: float = 10.0
    exit_threshold_status: str = "set by the user"
    #: households back in poverty above this share (%) of those out of it are highlighted
    re_poor_alert_pct: float = 10.0
    periods: tuple[Period, ...] = field(default_factory=tuple)
    path: str = ""
    #: designations and exits by decision (:mod:`povdata.designations`): the reviewed file's,
    #: plus those editors entered (:func:`povdata.edits.effective_targets`)
    decisions: tuple = field(default_factory=tuple)

    @property
    def poor_district_designations(self):
        """The poor-district designations as a table (:func:`povdata.designations.designation_table`)."""
        from povdata.designations import designation_table
        return designation_table(self.decisions, "poor_district")

    def with_target_value(self, period_id: str, target_id: str, value: float) -> "TargetsConfig":
        """A copy with one target's value changed (what-if); the file is not touched."""
        periods = []
        for p in self.periods:
            if p.id == period_id:
                p = replace(p, targets=tuple(replace(t, value=value) if t.id == target_id else t for t in p.targets))
            periods.append(p)
        return replace(self, periods=tuple(periods))

    def period(self, period_id: str) -> Period:
        for p in self.periods:
            if p.id == period_id:
                return p
        raise KeyError(period_id)


def rule_text(target: Target, lang: str = "vi") -> str:
    """'giảm từ 3 điểm %/năm trở lên', 'giảm trên 5 …', 'giảm 2–2,5 điểm %/năm' (the UI language)."""
    from povdata.i18n import fmt_number, t

    def n(v: float) -> str:
        return fmt_number(v, lang, 0 if v == int(v) else (1 if v * 10 == int(v * 10) else 2))

    if target.is_range:
        return t("progress.rule_between", lang, low=n(target.value), high=n(float(target.value_high or 0.0)))
    if target.is_programme_rule:
        from povdata.i18n import fmt_count
        from povdata.registry import INDICATORS
        ind = INDICATORS.get(target.indicator)
        unit = "" if ind is None or ind.is_percent else ind.unit_label(lang)
        value = n(target.value) if target.rule == "share_at_least" else fmt_count(target.value, lang)
        key = "progress.rule_share_all" if target.rule == "share_at_least" and target.value >= 100 else \
            f"progress.rule_{target.rule}"
        return t(key, lang, value=value, unit=unit, year=target.by_year or "")
    key = "progress.rule_greater_than" if target.strict else "progress.rule_at_least"
    return t(key, lang, value=n(target.value))


def _need(d: dict, key: str, where: str, kinds: type | tuple[type, ...]):
    if key not in d:
        raise TargetsError(Msg("targets_file.missing_field", where=where, key=key))
    v = d[key]
    if not isinstance(v, kinds) or isinstance(v, bool):
        raise TargetsError(Msg("targets_file.bad_field", where=where, key=key, value=repr(v)))
    return v


def _check_programme(t: dict, rule: str, where) -> None:
    """A coverage or output target names a registry indicator of the right kind."""
    from povdata.registry import INDICATORS
    ind = INDICATORS.get(str(t.get("indicator", "")))
    if ind is None:
        raise TargetsError(Msg("targets_file.unknown_indicator", where=where, value=t.get("indicator", ""),
                               known=", ".join(i for i, x in INDICATORS.items() if x.kind in ("count", "coverage"))))
    if (rule == "share_at_least") != ind.is_percent:
        raise TargetsError(Msg("targets_file.indicator_kind", where=where, value=ind.id, rule=rule))
    v = t.get("value")
    if rule == "share_at_least" and isinstance(v, (int, float)) and not 0 <= v <= 100:
        raise TargetsError(Msg("targets_file.bad_field", where=where, key="value", value=v))


def parse_targets(data: dict, path: str = "<targets>") -> TargetsConfig:
    """Build and validate a :class:`TargetsConfig` from parsed TOML."""
    name = Path(path).name
    code = str(_need(data, "province_code", Msg("problem.file", file=name), (str, int))).zfill(2)
    thresholds = data.get("status_thresholds", {})
    periods: list[Period] = []
    for i, raw in enumerate(data.get("period", []), start=1):
        pid = str(raw.get("id", f"#{i}"))
        where = Msg("targets_file.period_where", file=name, period=pid)
        start = _need(raw, "start", where, int)
        end = _need(raw, "end", where, int)
        baseline = _need(raw, "baseline_year", where, int)
        standard = raw.get("standard")
        if standard is not None and standard not in STANDARDS:
            raise TargetsError(Msg("targets_file.unknown_standard", where=where, standard=standard,
                                   known=", ".join(STANDARDS)))
        if not (2000 <= start <= end <= 2100):
            raise TargetsError(Msg("targets_file.bad_years", where=where, start=start, end=end))
        if not (start - 1 <= baseline <= end):
            raise TargetsError(Msg("targets_file.baseline_outside", where=where, baseline=baseline, start=start,
                                   end=end))
        if standard is not None:
            s = STANDARDS[standard]
            if baseline < s.first_review_year or end > s.last_review_year:
                raise TargetsError(Msg("targets_file.across_standards", where=where, baseline=baseline, end=end,
                                       standard=standard, first=s.first_review_year, last=s.last_review_year))
        targets = []
        for j, t in enumerate(raw.get("target", []), start=1):
            tid = str(t.get("id", f"#{j}"))
            tw = Msg("targets_file.target_where", where=where, target=tid)
            rule = _need(t, "rule", tw, str)
            if rule not in RATE_RULES | MILESTONE_RULES | PROGRAMME_RULES:
                raise TargetsError(Msg("targets_file.unsupported", where=tw, key="rule", value=rule))
            scope = _need(t, "scope", tw, str)
            if scope not in SCOPES:
                raise TargetsError(Msg("targets_file.unsupported", where=tw, key="scope", value=scope))
            value = float(_need(t, "value", tw, (int, float)))
            status = t.get("status", "set by the user")
            if status not in STATUSES:
                raise TargetsError(Msg("targets_file.bad_status", where=tw, value=status))
            if rule in RATE_RULES and standard is None:
                raise TargetsError(Msg("targets_file.rate_needs_standard", where=tw))
            by_year = t.get("by_year")
            if rule in MILESTONE_RULES and not isinstance(by_year, int):
                raise TargetsError(Msg("targets_file.missing_field", where=tw, key="by_year"))
            if scope == "communes_above" and not isinstance(t.get("rate_above"), (int, float)):
                raise TargetsError(Msg("targets_file.missing_field", where=tw, key="rate_above"))
            if scope == "unit" and not t.get("unit_code"):
                raise TargetsError(Msg("targets_file.missing_field", where=tw, key="unit_code"))
            if rule in PROGRAMME_RULES:
                _check_programme(t, rule, tw)
            high = t.get("value_high")
            if rule == "annual_reduction_between":
                if not isinstance(high, (int, float)) or isinstance(high, bool) or float(high) <= value:
                    raise TargetsError(Msg("targets_file.range_high", where=tw, value=f"{value:g}"))
            targets.append(Target(
                id=tid, scope=scope, rule=rule, value=value, unit=str(t.get("unit", "")), status=status,
                source=str(t.get("source", "")), indicator=str(t.get("indicator", "poverty_rate")),
                by_year=by_year, rate_above=t.get("rate_above"),
                unit_code=None if t.get("unit_code") is None else str(t["unit_code"]),
                value_high=float(high) if rule == "annual_reduction_between" else None,
                owner=str(t.get("owner", ""))))
        periods.append(Period(pid, start, end, baseline, standard, str(raw.get("source", "")), tuple(targets)))
    ids = [p.id for p in periods]
    dup = sorted({i for i in ids if ids.count(i) > 1})
    if dup:
        raise TargetsError(Msg("targets_file.duplicate_periods", file=name, ids=", ".join(dup)))
    # periods with rate targets must not overlap under different standards
    rated = [p for p in periods if p.standard is not None]
    for a in rated:
        for b in rated:
            if a.id < b.id and a.standard != b.standard and a.start <= b.end and b.start <= a.end:
                raise TargetsError(Msg("targets_file.overlap", file=name, a=a.id, b=b.id, sa=a.standard,
                                       sb=b.standard))
    return TargetsConfig(
        province_code=code, province=str(data.get("province", "")),
        at_risk_margin_pp=float(thresholds.get("at_risk_margin_pp", 1.0)),
        poor_district_exit_rate=float(thresholds.get("poor_district_exit_rate", 10.0)),
        exit_threshold_status=str(thresholds.get("exit_threshold_status", "set by the user")),
        re_poor_alert_pct=float(thresholds.get("re_poor_alert_pct", 10.0)),
        periods=tuple(periods), path=str(path))


def load_targets(path: str | Path) -> TargetsConfig:
    """Read and validate a targets TOML file; :class:`TargetsError` on any problem."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetsError(Msg("targets_file.not_found", file=path.name)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TargetsError(Msg("targets_file.not_toml", file=path.name, error=exc)) from None
    return parse_targets(data, str(path))


NATIONAL_TEMPLATE = TARGETS_DIR / "national.toml"


def has_own_targets(province_code: str) -> bool:
    """Whether the province has a reviewed targets file of its own."""
    return (TARGETS_DIR / f"{province_code}.toml").exists()


def national_template(province_code: str, province: str = "") -> TargetsConfig:
    """The national programme's targets (``data/targets/national.toml``, each labelled
    ``national``) for a province with no file of its own."""
    cfg = load_targets(NATIONAL_TEMPLATE)
    return replace(cfg, province_code=province_code, province=province)


def former_targets_path(former_code: str) -> Path:
    """A former province's own targets (its resolutions before the merger): ``former-<code>.toml``
    (GSO codes are reused: 24 is Bắc Giang before 1/7/2025 and the new Bắc Ninh after)."""
    return TARGETS_DIR / f"former-{former_code}.toml"


def default_targets(province_code: str, former: str | None = None) -> TargetsConfig:
    """The province's targets file, or the national template when it has none (an editor
    then sets the province's own values on the «Mục tiêu» page).  With ``former``, the former
    province's own file when there is one.  With the reviewed designations of the province
    (and its former provinces) attached."""
    from povdata.designations import published_decisions
    from povdata.provinces import former_provinces

    cfg = _default_targets(province_code, former)
    return replace(cfg, decisions=published_decisions({province_code, *former_provinces(province_code)}))


def _default_targets(province_code: str, former: str | None = None) -> TargetsConfig:
    if former and former_targets_path(former).exists():
        return load_targets(former_targets_path(former))
    path = TARGETS_DIR / f"{province_code}.toml"
    if not path.exists():
        from povdata.provinces import province_name_in_force
        try:
            name = province_name_in_force(province_code)
        except KeyError:
            name = ""
        return national_template(province_code, name)
    return load_targets(path)
