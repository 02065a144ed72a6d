"""What editors change from the app: target values and shared scenarios.

**Targets.**  The targets file (``data/targets/<code>.toml``) is the reviewed baseline;
an editor's change is stored as a row of ``target_changes`` (province, period, target,
field, new value, when, who) and applied over the file by :func:`effective_targets`, the
latest row winning.  Each change also writes an audit row with the old and new values, in
the same transaction.  Fields: a target's ``value`` (pp/yr or a count of districts), and
the province's ``at_risk_margin_pp`` and ``poor_district_exit_rate``.

**Scenarios.**  A viewer's what-if scenarios stay in their session (and URL); an editor
can share one with everybody (``shared_scenarios``), recorded in the audit trail.
"""
from __future__ import annotations

from typing import cast

import math
from contextlib import closing
from dataclasses import replace

import pandas as pd
from sqlalchemy import text as sql_text

from povdata import audit
from povdata.auth import User, check_scope, require
from povdata.messages import Msg
from povdata.targets import TargetsConfig

CONFIG_FIELDS = {"at_risk_margin_pp": (0.0, 20.0), "poor_district_exit_rate": (0.0, 100.0)}
MAX_TARGET_VALUE = 100.0
#: a count target (loans, workers, households over a period or a year) may be far above 100
MAX_COUNT_TARGET = 1e9
#: each field's name, from the catalogue: ``target_edit.field_<field>`` (and ``…_title`` at a sentence's head)
FIELD_NAMES = ("value", "at_risk_margin_pp", "poor_district_exit_rate")


class EditError(ValueError):
    """A change that cannot be saved; ``str()`` is Vietnamese."""


def target_changes(store, province_code: str, user: User | None = None) -> pd.DataFrame:
    """Every stored change of the province's targets, oldest first."""
    check_scope(user, province_code)
    with closing(store.connect()) as conn:
        return pd.read_sql_query(sql_text("SELECT id, period_id, target_id, field, value, at, actor FROM target_changes "
                                      "WHERE province_code = :p ORDER BY id"), conn, params={"p": province_code})


def apply_changes(config: TargetsConfig, changes: pd.DataFrame) -> TargetsConfig:
    """``config`` with the changes applied in order (a change to a target or period that
    the file no longer has is ignored)."""
    for ch in changes.itertuples(index=False):
        if ch.field in CONFIG_FIELDS:
            config = replace(config, **{str(ch.field): float(ch.value)})  # type: ignore[arg-type]  # a float field
        elif ch.field == "value":
            try:
                period = config.period(ch.period_id)
            except KeyError:
                continue
            if any(t.id == ch.target_id for t in period.targets):
                config = config.with_target_value(ch.period_id, ch.target_id, float(ch.value))
    return config


def effective_targets(store, config: TargetsConfig, user: User | None = None) -> TargetsConfig:
    """The targets in force: the file's (or the national template's), with the rules editors
    added and then the stored value changes applied."""
    from povdata.designations import stored_decisions

    config = apply_rules(config, added_rules(store, config.province_code, user))
    config = replace(config, decisions=tuple(config.decisions) + stored_decisions(store, config.province_code))
    return apply_changes(config, target_changes(store, config.province_code, user))


# ---- rules an editor adds (the province's own resolution) ---------------------------
RULE_SCOPES = ("province", "poor_districts", "districts")
MIN_SOURCE_CHARS = 12  # a resolution's number, issuer and date; not 'NQ' alone


def added_rules(store, province_code: str, user: User | None = None) -> pd.DataFrame:
    """Rules editors added to the province's periods, oldest first."""
    check_scope(user, province_code)
    with closing(store.connect()) as conn:
        return pd.read_sql_query(sql_text("SELECT id, period_id, target_id, scope, rule, value, source, at, actor "
                                      "FROM target_rules WHERE province_code = :p ORDER BY id"), conn,
                                 params={"p": province_code})


def apply_rules(config: TargetsConfig, rules: pd.DataFrame) -> TargetsConfig:
    """``config`` with the added rules appended to their periods (a rule whose period is gone
    is ignored)."""
    from povdata.targets import Target

    if rules.empty:
        return config
    periods = []
    for p in config.periods:
        mine = rules[rules["period_id"] == p.id]
        extra = tuple(Target(id=r.target_id, scope=r.scope, rule=r.rule, value=float(r.value), unit="pp_per_year",
                             status="reported", source=r.source) for r in mine.itertuples())
        periods.append(replace(p, targets=extra + p.targets) if extra else p)  # the province's own rule first
    return replace(config, periods=tuple(periods))


def add_target_rule(store, config: TargetsConfig, *, period_id: str, scope: str, rule: str, value: float,
                    source: str, user: User) -> str:
    """Add one of the province's own pace rules (from its resolution) to a period; returns
    its id.  Audited; :class:`EditError` (Vietnamese) for a rule that cannot be used."""
    from povdata.targets import RATE_RULES

    require(user, "edit_targets")
    check_scope(user, config.province_code)
    try:
        period = config.period(period_id)
    except KeyError:
        raise EditError(Msg("target_edit.no_period", period=period_id)) from None
    if period.standard is None:
        raise EditError(Msg("target_edit.period_without_standard", period=period_id))
    if rule not in RATE_RULES:
        raise EditError(Msg("target_edit.bad_rule", rule=rule))
    if scope not in RULE_SCOPES:
        raise EditError(Msg("target_edit.bad_scope", scope=scope))
    value = _check_value("value", value, Msg("target_edit.new_target"))
    source = " ".join(str(source or "").split())
    if len(source) < MIN_SOURCE_CHARS:
        raise EditError(Msg("target_edit.no_source"))
    current = effective_targets(store, config)
    taken = {t.id for p in current.periods for t in p.targets}
    n = 1
    while f"tinh_{scope}_{n}" in taken:
        n += 1
    target_id = f"tinh_{scope}_{n}"
    from povdata.db import DB_ERRORS, StoreError, q, transaction as _transaction
    try:
        with _transaction(store) as conn:
            q(conn, "INSERT INTO target_rules (province_code, period_id, target_id, scope, rule, value, source, at, "
                    "actor) VALUES (:p, :period, :target, :scope, :rule, :value, :source, :at, :actor)",
              {"p": config.province_code, "period": period_id, "target": target_id, "scope": scope, "rule": rule,
               "value": float(value), "source": source, "at": audit.now_utc(), "actor": user.username})
            audit.record(conn, user.username, "target_change", Msg("target_edit.audit_add", target=target_id, period=period_id,
                                                                        value=f"{value:g}"),
                         {"period_id": period_id, "target_id": target_id, "scope": scope, "rule": rule,
                          "value": value, "source": source, "added": True}, config.province_code)
    except DB_ERRORS as exc:
        raise StoreError(Msg("target_edit.store_failed", error=exc)) from exc
    return target_id


def _current(config: TargetsConfig, period_id: str, target_id: str, field: str) -> float:
    if field in CONFIG_FIELDS:
        return float(getattr(config, field))
    for t in config.period(period_id).targets:
        if t.id == target_id:
            return float(t.value)
    raise EditError(Msg("target_edit.no_target", target=target_id, period=period_id))


def _high(config: TargetsConfig, period_id: str, target_id: str) -> float:
    """The largest value a target may take: a count rule's, else :data:`MAX_TARGET_VALUE`."""
    from povdata.programme import COUNT_RULES
    try:
        t = next((t for t in config.period(period_id).targets if t.id == target_id), None)
    except KeyError:
        return MAX_TARGET_VALUE
    return MAX_COUNT_TARGET if t is not None and t.rule in COUNT_RULES else MAX_TARGET_VALUE


def _check_value(field: str, value: float, where: str, high: float = MAX_TARGET_VALUE) -> float:
    if value is None or not isinstance(value, (int, float)) or math.isnan(value) or math.isinf(value):
        raise EditError(Msg("target_edit.not_a_number", where=where, field=Msg(f"target_edit.field_{field}")))
    lo, hi = CONFIG_FIELDS.get(field, (0.0, high))
    if not lo <= value <= hi:
        raise EditError(Msg("target_edit.out_of_range", where=where, field=Msg(f"target_edit.field_{field}"),
                            low=f"{lo:g}", high=f"{hi:g}", value=f"{value:g}"))
    return float(value)


def _where(period_id: str, target_id: str, field: str) -> Msg:
    if target_id:
        return Msg("target_edit.target_where", target=target_id, period=period_id)
    return Msg(f"target_edit.field_{field}_title")


def parse_typed_values(typed: dict[tuple[str, str, str], str]) -> dict[tuple[str, str, str], float]:
    """Values as typed on the targets page ('3,5' or '3.5') → numbers; :class:`EditError`
    naming the target or threshold for text that is not a number."""
    from povdata.i18n import parse_small_number

    out = {}
    for key, text in typed.items():
        try:
            out[key] = parse_small_number(text)
        except ValueError as exc:
            said = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], Msg) else str(exc)
            raise EditError(Msg("problem.where", where=_where(*key), message=said)) from None
    return out


def change_targets(store, config: TargetsConfig, new_values: dict[tuple[str, str, str], float], *,
                   user: User) -> list[dict]:
    """Store the values in ``new_values`` ((period id, target id, field) → value; period and
    target id empty for a province-wide field) that differ from the targets in force.
    All or nothing; returns the changes made (old and new values)."""
    require(user, "edit_targets")
    check_scope(user, config.province_code)
    current = effective_targets(store, config)
    made = []
    for (period_id, target_id, field), value in new_values.items():
        if field not in CONFIG_FIELDS and field != "value":
            raise EditError(Msg("target_edit.bad_field", field=field))
        old = _current(current, period_id, target_id, field)
        new = _check_value(field, value, _where(period_id, target_id, field), _high(current, period_id, target_id))
        if not math.isclose(old, new, abs_tol=1e-9):
            made.append({"period_id": period_id, "target_id": target_id, "field": field, "old": old, "new": new})
    if not made:
        return []
    from povdata.db import DB_ERRORS, StoreError, q, transaction as _transaction
    try:
        with _transaction(store) as conn:
            for ch in made:
                q(conn, "INSERT INTO target_changes (province_code, period_id, target_id, field, value, at, actor) "
                        "VALUES (:p, :period, :target, :field, :value, :at, :actor)",
                  {"p": config.province_code, "period": ch["period_id"], "target": ch["target_id"],
                   "field": ch["field"], "value": float(cast(float, ch["new"])), "at": audit.now_utc(), "actor": user.username})
                what = (Msg("target_edit.target_named", target=ch["target_id"], period=ch["period_id"])
                        if ch["target_id"] else Msg(f"target_edit.field_{ch['field']}"))
                audit.record(conn, user.username, "target_change",
                             Msg("target_edit.audit_change", what=what, old=f"{ch['old']:g}", new=f"{ch['new']:g}"),
                             ch, config.province_code)
    except DB_ERRORS as exc:
        raise StoreError(Msg("target_edit.store_failed", error=exc)) from exc
    return made


def share_scenario(store, province_code: str, name: str, query: str, *, user: User) -> int:
    """Share a what-if scenario (its URL query) under ``name`` with every user."""
    require(user, "share_scenarios")
    check_scope(user, province_code)
    name = " ".join(str(name).split())[:120]
    if not name:
        raise EditError(Msg("target_edit.scenario_no_name"))
    if len(query) > 4000:
        raise EditError(Msg("target_edit.scenario_too_long"))
    from povdata.db import q, transaction as _transaction
    with _transaction(store) as conn:
        sid = int(q(conn, "INSERT INTO shared_scenarios (province_code, name, query, at, actor) "
                          "VALUES (:p, :name, :query, :at, :actor) RETURNING id",
                    {"p": province_code, "name": name, "query": query, "at": audit.now_utc(),
                     "actor": user.username}).scalar_one())
        audit.record(conn, user.username, "scenario_share", Msg("target_edit.audit_share", name=name),
                     {"name": name, "query": query}, province_code)
        return sid


def shared_scenarios(store, province_code: str, user: User | None = None) -> pd.DataFrame:
    """The province's shared scenarios, newest first."""
    check_scope(user, province_code)
    with closing(store.connect()) as conn:
        return pd.read_sql_query(sql_text("SELECT id, name, query, at, actor FROM shared_scenarios "
                                      "WHERE province_code = :p ORDER BY id DESC"), conn, params={"p": province_code})
