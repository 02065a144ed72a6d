"""The audit trail: who changed what, and when.

Every import, rollback, target change, user change, backup and restore appends one row to
the store's ``audit`` table (see :data:`povdata.store.SCHEMA`): the time (UTC), the actor,
the action, the province, a one-line Vietnamese summary and the details as JSON (file
name and checksum, version numbers, old and new values).

The table is append-only: two SQLite triggers abort any ``UPDATE`` or ``DELETE``, and the
app has no function that edits it.  A row is written inside the same transaction as the
change it records, so a change without its audit row (or the reverse) cannot be committed.
"""
from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import datetime, timezone

import pandas as pd

ACTIONS = ("import", "rollback", "target_change", "decision", "user_add", "user_role", "user_disable", "user_enable",
           "user_password", "sign_in_locked", "scenario_share", "backup", "restore")
COLUMNS = ["id", "at", "actor", "action", "province_code", "summary", "detail"]


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def record(conn: sqlite3.Connection, actor: str, action: str, summary: str, detail: dict | None = None,
           province_code: str = "") -> int:
    """Append one row (inside the caller's transaction); return its id."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    cur = conn.execute(
        "INSERT INTO audit (at, actor, action, province_code, summary, detail) VALUES (?, ?, ?, ?, ?, ?)",
        (now_utc(), actor or "không rõ", action, province_code or "", summary,
         json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, default=str)))
    return int(cur.lastrowid)


def entries(store, user=None, *, action: str | None = None, province_code: str | None = None) -> pd.DataFrame:
    """The trail, newest first (admins only when ``user`` is given; a province-scoped
    admin sees only the rows of that province)."""
    from povdata.auth import require

    if user is not None:
        require(user, "audit")
        if user.province_code:
            province_code = user.province_code
    sql = f"SELECT {', '.join(COLUMNS)} FROM audit"
    where, params = [], []
    if action:
        where.append("action = ?")
        params.append(action)
    if province_code:
        where.append("province_code = ?")
        params.append(province_code)
    if where:
        sql += " WHERE " + " AND ".join(where)
    with closing(store.connect()) as conn:
        return pd.read_sql_query(sql + " ORDER BY id DESC", conn, params=params)


DETAIL_LABELS = {
    "vi": {"version": "phiên bản", "previous_version": "phiên bản trước", "indicator_file": "tệp chỉ tiêu",
           "indicator_sha256": "SHA-256 tệp chỉ tiêu", "indicator_rows": "số dòng", "boundary_file": "tệp ranh giới",
           "boundary_sha256": "SHA-256 tệp ranh giới", "layers": "lớp ranh giới", "years": "các năm", "era": "danh mục",
           "note": "ghi chú", "username": "người dùng", "role": "vai trò", "province_code": "tỉnh", "old": "cũ",
           "new": "mới", "display_name": "họ tên", "sign_in": "đăng nhập", "from_version": "từ phiên bản",
           "to_version": "quay về phiên bản", "new_version": "phiên bản mới", "period_id": "giai đoạn",
           "target_id": "mục tiêu", "field": "trường", "name": "tên", "query": "tham số", "failures": "số lần sai",
           "kept_years_from_previous": "giữ các năm của phiên bản trước", "file": "tệp", "sha256": "SHA-256",
           "bytes": "dung lượng (byte)", "versions": "phiên bản theo tỉnh", "backup_created_at": "thời điểm sao lưu",
           "safety_copy": "bản an toàn", "replaced_versions": "phiên bản bị thay"},
    "en": {},
}


def detail_text(detail: str, lang: str = "vi") -> str:
    """The JSON details of a row as 'label: value; …' in the UI language (empty values left out;
    checksums shortened to 16 characters — the export keeps them whole)."""
    try:
        d = json.loads(detail)
    except (TypeError, ValueError):
        return str(detail)
    labels = DETAIL_LABELS.get(lang, {})
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
        parts.append(f"{labels.get(k, k.replace('_', ' '))}: {v}")
    return "; ".join(parts)
