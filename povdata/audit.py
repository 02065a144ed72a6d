"""The audit trail: who changed what, and when.

Every import, rollback, target change, user change, backup and restore appends one row to
the store's ``audit`` table (see :data:`povdata.store.SCHEMA`): the time (UTC), the actor,
the action, the province, a one-line Vietnamese summary and the details as JSON (file
name and checksum, version numbers, old and new values).

The table is append-only: triggers abort any ``UPDATE`` or ``DELETE`` (two on SQLite, one
PL/pgSQL trigger on PostgreSQL, where the app's role can also be denied the privilege:
:data:`povdata.db.migrate.APP_ROLE_GRANTS`), and the app has no function that edits it.  A row is written inside the same transaction as the
change it records, so a change without its audit row (or the reverse) cannot be committed.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone

import pandas as pd
from sqlalchemy import text

from povdata.i18n import t
from povdata.messages import Msg, from_plain, to_plain

ACTIONS = ("import", "rollback", "target_change", "decision", "user_add", "user_role", "user_disable", "user_enable",
           "user_password", "sign_in_locked", "scenario_share", "backup", "restore")
COLUMNS = ["id", "at", "actor", "action", "province_code", "summary", "detail", "said"]


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record(conn, actor: str, action: str, summary: str, detail: dict | None = None,
           province_code: str = "") -> int:
    """Append one row (inside the caller's transaction); return its id.  A ``summary`` from
    the catalogue (:class:`~povdata.messages.Msg`) is stored as its Vietnamese text, and its
    key and parameters in the ``said`` column, so the trail reads in the UI's language
    (:func:`summary_text`)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    said = json.dumps(to_plain(summary), ensure_ascii=False, sort_keys=True) if isinstance(summary, Msg) else ""
    sql = ("INSERT INTO audit (at, actor, action, province_code, summary, detail, said) "
           "VALUES (:at, :actor, :action, :p, :summary, :detail, :said) RETURNING id")
    params = {"at": now_utc(), "actor": actor or t("audit.unknown_actor"), "action": action, "p": province_code or "",
              "summary": str(summary), "detail": json.dumps(detail or {}, ensure_ascii=False, sort_keys=True,
                                                            default=str), "said": said}
    if isinstance(conn, sqlite3.Connection):  # a restore's own connection to the SQLite file (povdata.backup)
        return int(conn.execute(sql, params).fetchone()[0])
    return int(conn.execute(text(sql), params).scalar_one())


def entries(store, user=None, *, action: str | None = None, province_code: str | None = None) -> pd.DataFrame:
    """The trail, newest first (admins only when ``user`` is given; a province-scoped
    admin sees only the rows of that province)."""
    from povdata.policy import require

    if user is not None:
        require(user, "audit")
        if user.province_code:
            province_code = user.province_code
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit"
    where, params = [], {}
    if action:
        where.append("action = :action")
        params["action"] = action
    if province_code:
        where.append("province_code = :p")
        params["p"] = province_code
    if where:
        sql += " WHERE " + " AND ".join(where)
    with closing(store.connect()) as conn:
        return pd.read_sql_query(text(sql + " ORDER BY id DESC"), conn, params=params)


#: the detail fields the trail writes; each has a label ``audit_field.<name>`` in the catalogues
DETAIL_FIELDS = ("version", "previous_version", "indicator_file", "indicator_sha256", "indicator_rows",
                 "boundary_file", "boundary_sha256", "layers", "years", "era", "note", "username", "role",
                 "province_code", "old", "new", "display_name", "sign_in", "from_version", "to_version",
                 "new_version", "period_id", "target_id", "field", "name", "query", "failures",
                 "kept_years_from_previous", "file", "sha256", "bytes", "versions", "backup_created_at",
                 "safety_copy", "replaced_versions")
def summary_text(summary: str, said: str, lang: str = "vi") -> str:
    """A row's summary in ``lang``: from the catalogue key it was written with (the ``said``
    column), else as it was stored (rows written before the key was kept)."""
    try:
        return from_plain(json.loads(said)).say(lang) if said else str(summary)
    except (TypeError, ValueError, AttributeError, KeyError, IndexError):
        return str(summary)


def detail_text(detail: str, lang: str = "vi") -> str:
    """The JSON details of a row as 'label: value; …' in the UI language (empty values left out;
    checksums shortened to 16 characters — the export keeps them whole)."""
    try:
        d = json.loads(detail)
    except (TypeError, ValueError):
        return str(detail)
    parts = []
    for k, v in d.items():
        if v in (None, "", [], {}):
            continue
        if isinstance(v, str) and k.endswith("sha256"):
            v = v[:16] + "…"
        elif isinstance(v, list):
            v = ", ".join(map(str, v))
        elif isinstance(v, dict):  # e.g. versions per province: {'20': [1, 2]} → '20: 1, 2'
            v = "; ".join(f"{kk}: {', '.join(map(str, vv)) if isinstance(vv, list) else vv}" for kk, vv in v.items())
        label = t(f"audit_field.{k}", lang) if k in DETAIL_FIELDS else k.replace("_", " ")
        parts.append(f"{label}: {v}")
    return "; ".join(parts)
