"""Designations by decision: poor districts (huyện nghèo) and especially difficult communes
(xã đặc biệt khó khăn, xã ĐBKK) enter and leave that status by a decision, not by a rate.

A record is one decision on one unit: its number ("353/QĐ-TTg"), date, issuer, what it does
(``designate`` for a period, or ``exit``: the unit is recognised as having left the status),
the status (``poor_district`` | ``difficult_commune``), the unit's code and, for a
designation, the period it covers.

Two sources, read together:

* the reviewed file ``data/published/poor_districts.csv`` (designations with their basis,
  from the domain notes: Decisions 615 and 293/QĐ-TTg for 2011-2020, 353/QĐ-TTg of
  2022-03-15 for 2022-2025), and
* the records editors enter on the «Mục tiêu» page (the store's ``decisions`` table,
  audited), e.g. an exit decision when it is issued, or the province's list of xã ĐBKK.

Verdicts use them (:mod:`povdata.progress`): a poor district counts as out of poverty only
by an exit decision dated in or before the year judged.  The rate threshold
(``poor_district_exit_rate``) survives only as a labelled projection: "dự báo theo ngưỡng
…% do người dùng đặt".
"""
from __future__ import annotations

import re
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timezone

import pandas as pd

from povdata.db import q
from povdata.i18n import t
from povdata.messages import Msg

ACTIONS = ("designate", "exit")
STATUSES = ("poor_district", "difficult_commune")
_NUMBER_RE = re.compile(r"^\d{1,5}/[0-9A-Za-zĐđ\-]{2,30}$")


@dataclass(frozen=True)
class Decision:
    province_code: str
    number: str          # '353/QĐ-TTg'
    date: str            # ISO date, or a year where the source gives only that
    issuer: str
    action: str          # designate | exit
    status: str          # poor_district | difficult_commune
    unit_code: str
    period_start: int | None = None
    period_end: int | None = None
    basis: str = ""
    origin: str = "published"  # published (reviewed file) | entered (an editor, audited)

    @property
    def year(self) -> int:
        return int(str(self.date)[:4])


class DecisionError(ValueError):
    """A record that cannot be stored; the message is Vietnamese."""


def published_decisions(province_codes: set[str] | list[str]) -> tuple[Decision, ...]:
    """The reviewed designations of the provinces (``data/published/poor_districts.csv``)."""
    from povdata.published import poor_districts

    d = poor_districts()
    d = d[d["province_code"].isin(set(province_codes))]
    out = []
    for r in d.itertuples():
        number = _first_number(str(r.basis)) or str(r.basis)
        day = str(getattr(r, "decision_date", "") or r.period_start)
        basis = str(getattr(r, "basis_vi", "") or r.basis)
        out.append(Decision(r.province_code, number, day, _issuer_of(number), "designate",
                            "poor_district", r.district_code, int(r.period_start), int(r.period_end), basis))
    return tuple(out)


def _first_number(text: str) -> str | None:
    m = re.search(r"\b(\d{1,5}/Q[ĐD]-[A-Za-zĐ]+)", text)
    return m.group(1) if m else None


#: how a decision's sign is written ("QĐ-TTg"); "QD-" and "qđ-" typed are read as it
DECISION_SIGN = "QĐ-"
_SIGN_RE = re.compile(r"(?i)(?<![a-z])q[đd]-")


def _issuer_of(number: str) -> str:
    return t("decision_form.prime_minister") if number.endswith("-TTg") else ""


def stored_decisions(store, province_code: str) -> tuple[Decision, ...]:
    """The records editors entered for the province, oldest first."""
    from povdata.auth import in_force
    with closing(store.connect()) as conn:
        rows = q(conn, "SELECT province_code, number, date, issuer, action, status, unit_code, period_start, "
                       "period_end, basis FROM decisions WHERE province_code = :p ORDER BY id",
                 {"p": in_force(province_code)}).mappings().all()
    return tuple(Decision(**{**r, "basis": r["basis"] or ""}, origin="entered") for r in rows)


def designation_table(decisions: tuple[Decision, ...], status: str = "poor_district") -> pd.DataFrame:
    """The designations as (province_code, district_code, period_start, period_end) rows, the
    shape :func:`povdata.progress.poor_districts_for` reads; for communes ``district_code``
    holds the commune's code."""
    rows = [dict(province_code=d.unit_code[:2] if len(d.unit_code) == 2 else d.province_code,
                 district_code=d.unit_code, period_start=d.period_start, period_end=d.period_end,
                 decision=d.number, date=d.date)
            for d in decisions if d.action == "designate" and d.status == status and d.period_start is not None]
    cols = ["province_code", "district_code", "period_start", "period_end", "decision", "date"]
    out = pd.DataFrame(rows, columns=cols)
    out["period_start"] = out["period_start"].astype("Int64")
    out["period_end"] = out["period_end"].astype("Int64")
    return out


def exits(decisions: tuple[Decision, ...], status: str = "poor_district", as_of: int | None = None) -> dict[str, Decision]:
    """Unit → the exit decision dated in or before ``as_of`` (the first one)."""
    out: dict[str, Decision] = {}
    for d in sorted((d for d in decisions if d.action == "exit" and d.status == status), key=lambda d: str(d.date)):
        if (as_of is None or d.year <= as_of) and d.unit_code not in out:
            out[d.unit_code] = d
    return out


def designated(decisions: tuple[Decision, ...], unit_code: str, year: int, status: str) -> Decision | None:
    """The designation of ``unit_code`` covering ``year`` (None when not designated or already
    out by a decision dated before that year)."""
    gone = exits(decisions, status, year - 1)
    if unit_code in gone:
        return None
    for d in decisions:
        if d.action == "designate" and d.status == status and d.unit_code == unit_code \
                and d.period_start is not None and d.period_start <= year <= (d.period_end or year):
            return d
    return None


def decision_frame(decisions: tuple[Decision, ...], names: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per record, for display and export."""
    names = names or {}
    return pd.DataFrame([dict(number=d.number, date=d.date, issuer=d.issuer, action=d.action, status=d.status,
                              unit_code=d.unit_code, unit_name=names.get(d.unit_code, ""),
                              period=(f"{d.period_start}-{d.period_end}" if d.period_start is not None else ""),
                              basis=d.basis, origin=d.origin) for d in decisions],
                        columns=["number", "date", "issuer", "action", "status", "unit_code", "unit_name", "period",
                                 "basis", "origin"])


def add_decision(store, province_code: str, *, number: str, on: date | str, issuer: str, action: str, status: str,
                 unit_codes: list[str], period_start: int | None = None, period_end: int | None = None,
                 basis: str = "", user=None) -> int:
    """Store one decision on one or more units (a row per unit) in one audited transaction;
    returns the number of rows.  :class:`DecisionError` (Vietnamese) for a record that
    cannot be used: a number that is not 'số/ký hiệu', a date in the future, a unit not of
    the province or not of the status's level, a designation without its period."""
    from povdata import audit
    from povdata.auth import check_scope, in_force, require
    from povdata.provinces import legacy_units_of

    province_code = in_force(province_code)
    if user is not None:
        require(user, "edit_targets")
        check_scope(user, province_code)
    number = _SIGN_RE.sub(DECISION_SIGN, re.sub(r"\s+", "", str(number or "")))
    if not _NUMBER_RE.match(number):
        raise DecisionError(Msg("decision_form.bad_number", number=number[:40]))
    try:
        day = on if isinstance(on, date) else date.fromisoformat(str(on))
    except ValueError:
        raise DecisionError(Msg("decision_form.bad_date", date=str(on)[:20])) from None
    if day > date.today():
        raise DecisionError(Msg("decision_form.future_date", date=day.strftime("%d/%m/%Y")))
    if action not in ACTIONS or status not in STATUSES:
        raise DecisionError(Msg("decision_form.bad_kind"))
    if len(str(issuer).strip()) < 3:
        raise DecisionError(Msg("decision_form.no_issuer"))
    level = "district" if status == "poor_district" else "commune"
    units = legacy_units_of(province_code)
    ok = set(units.loc[units["level"] == level, "code"])
    if level == "commune":  # the communes since 1/7/2025 too, by their level-table id ('06085-2025')
        from povdata.reform import new_id
        from povdata.units import units_2025
        new = units_2025(province_code)
        ok |= {new_id(c) for c in new.loc[new["level"] == "commune", "code"]}
    bad = [c for c in unit_codes if c not in ok]
    if not unit_codes or bad:
        if not bad:
            raise DecisionError(Msg("decision_form.no_units"))
        raise DecisionError(Msg(f"decision_form.not_{level}", units=", ".join(bad[:5])))
    if action == "designate":
        if period_start is None or period_end is None or not 2000 <= int(period_start) <= int(period_end) <= 2100:
            raise DecisionError(Msg("decision_form.no_period"))
    else:
        period_start = period_end = None
    actor = user.username if user is not None else "cli"
    now = datetime.now(timezone.utc).isoformat(timespec="seconds")
    from povdata.db import transaction
    with transaction(store) as conn:
        q(conn, "INSERT INTO decisions (province_code, number, date, issuer, action, status, unit_code, "
                "period_start, period_end, basis, at, actor) VALUES (:p, :number, :date, :issuer, :action, "
                ":status, :unit, :start, :end, :basis, :at, :actor)",
          [{"p": province_code, "number": number, "date": day.isoformat(), "issuer": str(issuer).strip(),
            "action": action, "status": status, "unit": code,
            "start": None if period_start is None else int(period_start),
            "end": None if period_end is None else int(period_end), "basis": str(basis).strip(), "at": now,
            "actor": actor} for code in unit_codes])
        audit.record(conn, actor, "decision",
                     Msg(f"decision_form.audit_{action}", number=number, date=day.strftime("%d/%m/%Y"),
                         n=len(unit_codes)),
                     {"number": number, "date": day.isoformat(), "issuer": issuer, "action": action,
                      "status": status, "units": list(unit_codes), "period": [period_start, period_end],
                      "basis": basis}, province_code)
    return len(unit_codes)
