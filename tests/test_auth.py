"""Users, roles, sign-in throttling, province scope, the audit trail, rollback and editors'
changes — at the level of povdata, without Streamlit."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from povdata.db import DB_ERRORS, q, transaction
from povdata import auth
from povdata.audit import entries
from povdata.auth import PermissionDenied, SignInError, User
from povdata.dataset import load_demo
from povdata.edits import EditError, change_targets, effective_targets, share_scenario, shared_scenarios
from povdata.importer import prepare_indicators, save_import
from povdata.store import (import_version, latest_version, layer_sources, load_indicators, load_layers, load_version,
                           open_store, rollback, version_info, versions)
from povdata.targets import default_targets

from auth_helpers import PASSWORD, SETUP
from import_fixtures import official_workbook

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    return open_store(tmp_path)


def _users(store) -> dict[str, User]:
    out = {}
    for role in auth.ROLES:
        out[role] = auth.add_user(store, f"{role}-a", PASSWORD, role, actor=SETUP)
    out["admin20"] = auth.add_user(store, "admin-20", PASSWORD, "admin", actor=SETUP, province_code="20")
    out["viewer20"] = auth.add_user(store, "viewer-20", PASSWORD, "viewer", actor=SETUP, province_code="20")
    out["editor20"] = auth.add_user(store, "editor-20", PASSWORD, "editor", actor=SETUP, province_code="20")
    return out


# ---- users and passwords ----------------------------------------------------------
def test_passwords_are_stored_as_argon2id_hashes(store):
    auth.add_user(store, "Nguyễn Văn A", PASSWORD, "editor", actor=SETUP)
    with closing(store.connect()) as conn:
        name, digest = q(conn, "SELECT username, password_hash FROM users").one()
    assert name == "nguyễn văn a"  # one spelling per name: NFC, lower case
    assert digest.startswith("$argon2id$") and PASSWORD not in digest


@pytest.mark.parametrize("spelling", ["Nguyễn Văn A", "NGUYỄN VĂN A", "nguye\u0302\u0303n va\u0306n a", " nguyễn văn a "])
def test_sign_in_accepts_any_spelling_of_the_name(store, spelling):
    auth.add_user(store, "Nguyễn Văn A", PASSWORD, "editor", actor=SETUP)
    assert auth.authenticate(store, spelling, PASSWORD).role == "editor"


def test_wrong_password_and_unknown_name_get_the_same_message(store):
    auth.add_user(store, "ba", PASSWORD, "viewer", actor=SETUP)
    with pytest.raises(SignInError) as wrong:
        auth.authenticate(store, "ba", "sai-mat-khau-roi")
    with pytest.raises(SignInError) as unknown:
        auth.authenticate(store, "không-có-ai", PASSWORD)
    assert str(wrong.value) == str(unknown.value) == "Tên đăng nhập hoặc mật khẩu không đúng."


def test_repeated_failures_are_slowed_down_and_the_lock_doubles(store):
    auth.add_user(store, "ba", PASSWORD, "viewer", actor=SETUP)
    t0 = 1_000_000.0
    for i in range(auth.FREE_FAILURES):
        with pytest.raises(SignInError):
            auth.authenticate(store, "ba", "sai", now=t0 + i)
    # locked: even the right password is refused until the delay has passed, without checking it
    with pytest.raises(SignInError, match="thử lại sau 2 giây"):
        auth.authenticate(store, "ba", PASSWORD, now=t0 + 2.5)
    with pytest.raises(SignInError):  # a fourth failure after the lock: 4 s
        auth.authenticate(store, "ba", "sai", now=t0 + 10)
    with pytest.raises(SignInError, match="thử lại sau 4 giây"):
        auth.authenticate(store, "ba", PASSWORD, now=t0 + 10.5)
    assert auth.authenticate(store, "ba", PASSWORD, now=t0 + 20).username == "ba"
    # success clears the count
    with pytest.raises(SignInError, match="không đúng"):
        auth.authenticate(store, "ba", "sai", now=t0 + 21)
    assert auth.authenticate(store, "ba", PASSWORD, now=t0 + 22).username == "ba"
    assert [auth.lock_seconds(n) for n in (0, 2, 3, 4, 5)] == [0, 0, 2, 4, 8]
    assert auth.lock_seconds(100) == auth.MAX_LOCK_SECONDS
    # the lock is in the store (a new session does not reset it) and recorded once in the audit trail
    assert entries(store, action="sign_in_locked")["summary"].tolist() == ["Tài khoản ba: 3 lần đăng nhập sai liên tiếp"]


def test_unknown_names_are_throttled_too(store):
    for i in range(auth.FREE_FAILURES):
        with pytest.raises(SignInError):
            auth.authenticate(store, "ai-đó", "x", now=100.0 + i)
    with pytest.raises(SignInError, match="thử lại sau"):
        auth.authenticate(store, "ai-đó", "x", now=103.0)


def test_disabled_accounts_cannot_sign_in_until_enabled(store):
    auth.add_user(store, "ba", PASSWORD, "editor", actor=SETUP)
    auth.add_user(store, "quan-tri-2", PASSWORD, "admin", actor=SETUP)
    auth.disable_user(store, "ba", actor=SETUP)
    with pytest.raises(SignInError, match="Tên đăng nhập hoặc mật khẩu không đúng") as refused:
        auth.authenticate(store, "ba", PASSWORD)  # the same answer as a wrong password: it confirms nothing
    assert refused.value.kind == "wrong"
    with pytest.raises(SignInError) as wrong:
        auth.authenticate(store, "ba", "mật khẩu sai hoàn toàn")
    assert str(wrong.value) == str(refused.value)
    assert auth.identity_user(store, "ba") is None  # an open session loses access at its next run
    auth.enable_user(store, "ba", actor=SETUP)
    assert auth.authenticate(store, "ba", PASSWORD).role == "editor"


def test_short_passwords_bad_roles_and_duplicates_are_refused(store):
    with pytest.raises(auth.AuthError, match="ít nhất 10 ký tự"):
        auth.add_user(store, "ba", "ngan", "viewer", actor=SETUP)
    with pytest.raises(auth.AuthError, match="Vai trò 'root'"):
        auth.add_user(store, "ba", PASSWORD, "root", actor=SETUP)
    with pytest.raises(auth.AuthError, match="Không có tỉnh mã '99'"):
        auth.add_user(store, "ba", PASSWORD, "viewer", actor=SETUP, province_code="99")
    auth.add_user(store, "ba", PASSWORD, "viewer", actor=SETUP)
    with pytest.raises(auth.AuthError, match="Đã có người dùng 'ba'"):
        auth.add_user(store, "BA", PASSWORD, "viewer", actor=SETUP)


def test_the_last_active_admin_cannot_be_removed(store):
    a = auth.add_user(store, "quan-tri", PASSWORD, "admin", actor=SETUP)
    b = auth.add_user(store, "quan-tri-2", PASSWORD, "admin", actor=SETUP)
    with pytest.raises(auth.AuthError, match="chính mình"):
        auth.disable_user(store, "quan-tri", actor=a)
    auth.set_role(store, "quan-tri-2", "editor", actor=a)
    with pytest.raises(auth.AuthError, match="quản trị viên cuối cùng"):
        auth.disable_user(store, "quan-tri", actor=SETUP)
    assert auth.identity_user(store, b.username).role == "editor"


# ---- roles ------------------------------------------------------------------------
@pytest.mark.parametrize("role, allowed", [
    ("viewer", {"browse", "export", "whatif"}),
    ("editor", {"browse", "export", "whatif", "import", "edit_targets", "share_scenarios"}),
    ("admin", set(auth.PERMISSIONS)),
])
def test_each_role_has_exactly_its_permissions(role, allowed):
    user = User("x", role)
    assert {p for p in auth.PERMISSIONS if auth.can(user, p)} == allowed
    assert not any(auth.can(None, p) for p in auth.PERMISSIONS)
    assert auth.DEMO_VIEWER.role == "viewer"


def test_viewers_and_editors_cannot_manage_users(store):
    us = _users(store)
    for who in ("viewer", "editor"):
        with pytest.raises(PermissionDenied, match="không có quyền quản lý người dùng"):
            auth.add_user(store, "moi", PASSWORD, "admin", actor=us[who])
        with pytest.raises(PermissionDenied):
            auth.set_role(store, us[who].username, "admin", actor=us[who])  # no self-promotion
        with pytest.raises(PermissionDenied):
            auth.list_users(store, actor=us[who])


def test_a_viewer_cannot_import_even_by_calling_povdata(store):
    us = _users(store)
    imp = prepare_indicators(official_workbook(2023), "bieu_2023.xlsx", "20")
    assert imp.ok
    with pytest.raises(PermissionDenied, match="không có quyền nhập số liệu"):
        save_import(store, "20", imp, user=us["viewer"])
    with pytest.raises(PermissionDenied):
        import_version(store, "20", indicators=imp.indicators, source_file="x.xlsx", user=us["viewer"])
    assert versions(store, "20") == []
    v = save_import(store, "20", imp, user=us["editor"])
    assert v.created_by == "editor-a" and v.number == 2  # the demo became v1


# ---- province scope -----------------------------------------------------------------
def _two_provinces(store):
    ind = load_demo("20").indicators
    import_version(store, "20", indicators=ind, source_file="lang-son.csv", sha256="a" * 64, created_by="x")
    import_version(store, "01", indicators=ind.head(50), source_file="ha-noi.csv", sha256="b" * 64, created_by="x",
                   layers={k: v for k, v in load_layers(store, latest_version(store, "20").id).items()
                           if k == "province"})
    return latest_version(store, "20"), latest_version(store, "01")


def test_a_scoped_user_cannot_read_another_provinces_data(store):
    us = _users(store)
    v20, v01 = _two_provinces(store)
    for who in ("viewer20", "editor20", "admin20"):
        u = us[who]
        # their own province reads fine
        assert load_version(store, "20", user=u).province_code == "20"
        assert not load_indicators(store, v20.id, u).empty
        assert versions(store, "20", u)
        # every read function refuses the other one, whichever way it is asked
        for call in (lambda: versions(store, "01", u), lambda: latest_version(store, "01", u),
                     lambda: load_version(store, "01", user=u), lambda: load_version(store, "20", v01.id, user=u),
                     lambda: load_indicators(store, v01.id, u), lambda: load_layers(store, v01.id, u),
                     lambda: layer_sources(store, v01.id, u), lambda: version_info(store, v01.id, u),
                     lambda: shared_scenarios(store, "01", u)):
            with pytest.raises(PermissionDenied, match="chỉ được xem số liệu của tỉnh mã 20"):
                call()
    # unscoped users read both
    assert load_version(store, "01", user=us["viewer"]).province_code == "01"


def test_a_scoped_editor_cannot_write_to_another_province(store):
    us = _users(store)
    imp = prepare_indicators(official_workbook(2023), "bieu_2023.xlsx", "20")
    with pytest.raises(PermissionDenied):
        import_version(store, "01", indicators=imp.indicators, source_file="x.xlsx", user=us["editor20"])
    with pytest.raises(PermissionDenied):
        share_scenario(store, "01", "A", "{}", user=us["editor20"])


def test_a_scoped_admin_manages_only_their_province(store):
    us = _users(store)
    with pytest.raises(PermissionDenied, match="tỉnh mã 20"):
        auth.add_user(store, "ai-do", PASSWORD, "viewer", actor=us["admin20"])  # no scope = every province
    auth.add_user(store, "ai-do", PASSWORD, "viewer", actor=us["admin20"], province_code="20")
    with pytest.raises(PermissionDenied):
        auth.set_role(store, "viewer-a", "admin", actor=us["admin20"])  # an unscoped user
    assert set(auth.list_users(store, actor=us["admin20"])["username"]) == {"admin-20", "viewer-20", "editor-20",
                                                                             "ai-do"}
    _two_provinces(store)
    seen = entries(store, us["admin20"])
    assert not seen.empty and set(seen["province_code"]) == {"20"}


# ---- audit trail ------------------------------------------------------------------------
def test_an_import_is_audited_with_file_checksum_and_versions(store):
    us = _users(store)
    imp = prepare_indicators(official_workbook(2023), "bieu_2023.xlsx", "20")
    v = save_import(store, "20", imp, user=us["editor"], note="rà soát cuối năm")
    row = entries(store, us["admin"], action="import").iloc[0]
    detail = json.loads(row["detail"])
    assert row["actor"] == "editor-a" and row["province_code"] == "20"
    assert row["summary"] == f"Nhập bieu_2023.xlsx → phiên bản v{v.number}"
    assert detail["indicator_file"] == "bieu_2023.xlsx" and detail["indicator_sha256"] == imp.sha256
    assert detail["version"] == v.number and detail["previous_version"] == 1 and detail["years"] == "2023"
    assert detail["indicator_rows"] == len(imp.indicators) and detail["note"] == "rà soát cuối năm"


def test_user_changes_are_audited_with_old_and_new_values(store):
    us = _users(store)
    auth.set_role(store, "viewer-a", "editor", actor=us["admin"])
    auth.set_password(store, "viewer-a", "mat-khau-moi-123", actor=us["admin"])
    trail = entries(store, us["admin"])
    role = json.loads(trail[trail["action"] == "user_role"].iloc[0]["detail"])
    assert role == {"username": "viewer-a", "old": "viewer", "new": "editor"}
    pw = trail[trail["action"] == "user_password"].iloc[0]
    assert pw["actor"] == "admin-a" and "mat-khau-moi" not in pw["detail"] and "argon2" not in pw["detail"]
    assert (trail["action"] == "user_add").sum() == 6


def test_the_audit_trail_cannot_be_edited_or_deleted(store):
    us = _users(store)
    before = entries(store, us["admin"])
    for sql in ("UPDATE audit SET actor = 'người khác'", "DELETE FROM audit",
                "UPDATE audit SET summary = '' WHERE id = 1", "DELETE FROM audit WHERE id > 0"):
        # SQLite: its triggers; PostgreSQL: its trigger, and no UPDATE/DELETE privilege (migration 0008)
        with pytest.raises(DB_ERRORS, match="append-only|permission denied"), transaction(store) as conn:
            q(conn, sql)
    if store.url:
        with pytest.raises(DB_ERRORS, match="permission denied"), transaction(store) as conn:
            q(conn, "TRUNCATE audit")  # no row trigger fires on TRUNCATE: the privilege is what refuses it
    pd.testing.assert_frame_equal(entries(store, us["admin"]), before)


def test_only_admins_read_the_audit_trail(store):
    us = _users(store)
    for who in ("viewer", "editor"):
        with pytest.raises(PermissionDenied, match="nhật ký"):
            entries(store, us[who])


# ---- rollback ---------------------------------------------------------------------------
def test_rollback_makes_an_earlier_version_current_as_a_new_version(store):
    us = _users(store)
    v2 = save_import(store, "20", prepare_indicators(official_workbook(2023), "a.xlsx", "20"), user=us["editor"])
    v3 = save_import(store, "20", prepare_indicators(official_workbook(2024), "b.xlsx", "20"), user=us["editor"])
    for who in ("viewer", "editor"):
        with pytest.raises(PermissionDenied, match="quay lại phiên bản"):
            rollback(store, "20", v2.id, user=us[who])
    v4 = rollback(store, "20", v2.id, user=us["admin"])
    assert v4.number == 4 and latest_version(store, "20").id == v4.id
    pd.testing.assert_frame_equal(load_indicators(store, v4.id), load_indicators(store, v2.id))
    assert [v.number for v in versions(store, "20")] == [4, 3, 2, 1]  # nothing deleted
    row = entries(store, us["admin"], action="rollback").iloc[0]
    assert json.loads(row["detail"])["to_version"] == 2 and json.loads(row["detail"])["from_version"] == v3.number
    with pytest.raises(Exception, match="đang là phiên bản hiện hành"):
        rollback(store, "20", v4.id, user=us["admin"])


# ---- target changes and shared scenarios --------------------------------------------------
def test_an_editor_changes_a_target_and_the_change_is_audited(store):
    us = _users(store)
    base = default_targets("20")
    key = ("2021-2025", "poor_districts_5pp", "value")
    old = next(t.value for t in base.period("2021-2025").targets if t.id == "poor_districts_5pp")
    with pytest.raises(PermissionDenied, match="sửa mục tiêu"):
        change_targets(store, base, {key: 4.0}, user=us["viewer"])
    made = change_targets(store, base, {key: 4.0, ("", "", "poor_district_exit_rate"): 12.0,
                                        ("2021-2025", "province_3pp", "value"): 3.0}, user=us["editor"])
    assert {(m["target_id"] or m["field"], m["old"], m["new"]) for m in made} == {
        ("poor_districts_5pp", old, 4.0), ("poor_district_exit_rate", 10.0, 12.0)}  # unchanged values not stored
    eff = effective_targets(store, base)
    assert next(t.value for t in eff.period("2021-2025").targets if t.id == "poor_districts_5pp") == 4.0
    assert eff.poor_district_exit_rate == 12.0
    assert default_targets("20") == base  # the file is not touched
    trail = entries(store, us["admin"], action="target_change")
    assert len(trail) == 2 and set(trail["actor"]) == {"editor-a"}
    assert {json.loads(d)["new"] for d in trail["detail"]} == {4.0, 12.0}
    assert change_targets(store, base, {key: 4.0}, user=us["editor"]) == []


@pytest.mark.parametrize("value, message", [(-1.0, "trong khoảng 0–100"), (float("nan"), "phải là một số"),
                                            (101.0, "trong khoảng")])
def test_impossible_target_values_are_refused(store, value, message):
    us = _users(store)
    with pytest.raises(EditError, match=message):
        change_targets(store, default_targets("20"), {("2021-2025", "province_3pp", "value"): value},
                       user=us["editor"])
    assert effective_targets(store, default_targets("20")) == default_targets("20")


def test_editors_share_scenarios_and_viewers_only_read_them(store):
    us = _users(store)
    with pytest.raises(PermissionDenied, match="chia sẻ kịch bản"):
        share_scenario(store, "20", "A", "{}", user=us["viewer"])
    share_scenario(store, "20", "  Nhanh   hơn ", '{"sc_prov": "4"}', user=us["editor"])
    got = shared_scenarios(store, "20", us["viewer"])
    assert got["name"].tolist() == ["Nhanh hơn"] and got["actor"].tolist() == ["editor-a"]
    assert entries(store, action="scenario_share")["summary"].tolist() == ["Chia sẻ kịch bản 'Nhanh hơn'"]


# ---- modes -------------------------------------------------------------------------------
def test_sign_in_turns_on_with_the_first_user_or_by_config(tmp_path, monkeypatch):
    monkeypatch.delenv("POVDASH_AUTH", raising=False)
    assert auth.auth_mode(tmp_path) == "none"
    assert not (tmp_path / "povdash.sqlite").exists()  # asking writes nothing
    auth.add_user(open_store(tmp_path), "a", PASSWORD, "admin", actor=SETUP)
    assert auth.auth_mode(tmp_path) == "password"
    (tmp_path / "povdash.toml").write_text('[auth]\nmode = "oidc"\n', encoding="utf-8")
    assert auth.auth_mode(tmp_path) == "oidc"
    monkeypatch.setenv("POVDASH_AUTH", "none")
    assert auth.auth_mode(tmp_path) == "none"
    monkeypatch.setenv("POVDASH_AUTH", "ldap")
    with pytest.raises(auth.AuthError, match="'ldap' không hợp lệ"):
        auth.auth_mode(tmp_path)


def test_an_oidc_identity_gets_the_role_of_its_row(store):
    auth.add_user(store, "Lan@Sldtbxh.LangSon.gov.vn", None, "editor", actor=SETUP)
    assert auth.identity_user(store, "lan@sldtbxh.langson.gov.vn").role == "editor"
    assert auth.identity_user(store, "la@example.org") is None  # unknown identity: no access
    assert auth.identity_user(store, None) is None
    with pytest.raises(SignInError):  # no password: signs in only through the identity provider
        auth.authenticate(store, "lan@sldtbxh.langson.gov.vn", "")


# ---- command line ---------------------------------------------------------------------------
def _cli(data_dir: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    env = {"POVDASH_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin", "PYTHONIOENCODING": "utf-8",
           **{k: v for k, v in os.environ.items() if k == "POVDASH_DATABASE_URL"}}  # the suite on PostgreSQL
    return subprocess.run([sys.executable, "-m", "povdata", *args], cwd=REPO, env=env, input=stdin,
                          capture_output=True, text=True, timeout=120)


def test_users_command_manages_accounts_and_audit_exports(tmp_path):
    r = _cli(tmp_path, "users", "add", "quan-tri", "--role", "admin", "--name", "Quản trị", stdin=PASSWORD + "\n")
    assert r.returncode == 0 and "Đã thêm quan-tri (quản trị viên)" in r.stdout, r.stderr
    r = _cli(tmp_path, "users", "add", "lan", "--role", "viewer", "--province", "20", stdin="ngan\n")
    assert r.returncode == 1 and "LỖI: Mật khẩu phải có ít nhất 10 ký tự" in r.stderr and "Traceback" not in r.stderr
    assert _cli(tmp_path, "users", "add", "lan", "--role", "viewer", "--province", "20",
                stdin=PASSWORD + "\n").returncode == 0
    assert _cli(tmp_path, "users", "set-role", "lan", "editor").returncode == 0
    assert _cli(tmp_path, "users", "disable", "lan").returncode == 0
    r = _cli(tmp_path, "users", "list")
    assert "lan\teditor\t20\tđã khóa" in r.stdout and "quan-tri\tadmin\t*\thoạt động\tQuản trị" in r.stdout
    store = open_store(tmp_path)
    with pytest.raises(SignInError, match="không đúng"):  # disabled: the wrong-password answer
        auth.authenticate(store, "lan", PASSWORD)
    assert auth.authenticate(store, "quan-tri", PASSWORD).role == "admin"
    out = tmp_path / "nhat-ky.csv"
    assert _cli(tmp_path, "audit", "--out", str(out)).returncode == 0
    trail = pd.read_csv(out, encoding="utf-8-sig")
    assert trail["action"].tolist() == ["user_disable", "user_role", "user_add", "user_add"]
    assert trail["actor"].str.endswith("(dòng lệnh)").all()


def test_rollback_command(tmp_path):
    store = open_store(tmp_path)
    for year in (2023, 2024):
        save_import(store, "20", prepare_indicators(official_workbook(year), f"{year}.xlsx", "20"))
    r = _cli(tmp_path, "rollback", "--province", "20", "--to", "2")
    assert r.returncode == 0 and "phiên bản hiện hành là v4" in r.stdout, r.stderr
    r = _cli(tmp_path, "rollback", "--province", "20", "--to", "9")
    assert r.returncode == 1 and "không có phiên bản v9" in r.stderr


def test_audit_details_read_as_labelled_text():
    from povdata.audit import detail_text

    text = detail_text(json.dumps({"version": 3, "indicator_sha256": "ab" * 32, "layers": ["district", "province"],
                                   "versions": {"20": [1, 2, 3]}, "note": ""}))
    assert text == ("phiên bản: 3; SHA-256 tệp chỉ tiêu: abababababababab…; lớp ranh giới: district, province; "
                    "phiên bản theo tỉnh: 20: 1, 2, 3")
    assert detail_text("không phải JSON") == "không phải JSON"


def test_typed_target_values_are_parsed_in_either_format_and_named_when_wrong():
    from povdata.edits import parse_typed_values

    assert parse_typed_values({("2021-2025", "province_3pp", "value"): "3,5", ("", "", "at_risk_margin_pp"): "1.0"}) \
        == {("2021-2025", "province_3pp", "value"): 3.5, ("", "", "at_risk_margin_pp"): 1.0}
    with pytest.raises(EditError, match=r"^Mục tiêu 'province_3pp' \(2021-2025\): 'ba' không phải một số"):
        parse_typed_values({("2021-2025", "province_3pp", "value"): "ba"})
    with pytest.raises(EditError, match=r"^Ngưỡng thoát huyện nghèo \(%\): '' không phải một số"):
        parse_typed_values({("", "", "poor_district_exit_rate"): ""})
