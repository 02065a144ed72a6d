"""Sign-in, role-dependent menus and guards, the targets and admin pages (AppTest).

What a user sees in a real browser (menu, typed URL) is in tests/browser/test_browser_roles.py."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from app_helpers import banner_text
from auth_helpers import PASSWORD, make_user, signed_in
from import_fixtures import official_workbook
from povdata import auth
from povdata.audit import entries
from povdata.importer import prepare_indicators, save_import
from povdata.store import latest_version, open_store, versions

REPO = Path(__file__).resolve().parents[1]
APP = str(REPO / "dashboard.py")


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("POVDASH_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("POVDASH_AUTH", raising=False)
    from pages import common
    common.clear_auth_cache()
    return tmp_path


def _app(user=None, script: str = APP) -> AppTest:
    at = AppTest.from_file(script, default_timeout=120)
    if user is not None:
        signed_in(at, user)
    at.run()
    assert not at.exception, at.exception
    return at


def _pages(at: AppTest) -> set[str]:
    """Script names of the pages in the menu (what st.navigation registered)."""
    pages = set()
    for name in ("overview", "map", "progress", "whatif", "targets", "import_data", "admin", "signin"):
        try:
            at.switch_page(f"pages/{name}.py")
        except ValueError:
            continue
        pages.add(name)
    return pages


def test_demo_runs_without_sign_in_read_only(data_dir):
    at = _app()
    assert "Bản trình diễn: không cần đăng nhập, chỉ xem." in at.sidebar.caption[0].value
    assert _pages(at) == {"overview", "map", "progress", "whatif", "targets"}
    assert "Số liệu minh họa" in banner_text(at)
    at = _app(script=str(REPO / "pages" / "targets.py"))
    assert at.text_input(key="tg_margin").disabled and at.text_input(key="tg_exit").disabled
    assert not [b for b in at.button if b.label == "Lưu thay đổi mục tiêu"]
    assert not (data_dir / "povdash.sqlite").exists()


def test_with_users_only_the_sign_in_page_exists_until_sign_in(data_dir):
    make_user(data_dir, "viewer")
    at = _app()
    assert at.title[0].value == "Đăng nhập"
    assert _pages(at) == {"signin"}
    assert not at.metric and not at.warning  # no figure is shown before sign-in
    at.text_input(key="signin_user").input("viewer-thu")
    at.text_input(key="signin_password").input("sai-mat-khau")
    at.button[0].click().run()
    assert at.error[0].value == "Tên đăng nhập hoặc mật khẩu không đúng."
    at.text_input(key="signin_user").input("Viewer-Thu")
    at.text_input(key="signin_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert at.session_state["auth_user"].role == "viewer"
    assert "Đăng nhập: **viewer\\-thu** · người xem" in at.sidebar.caption[0].value  # escaped for markdown
    assert at.metric  # the overview now
    sign_out = next(b for b in at.sidebar.button if b.label == "Đăng xuất")
    sign_out.click().run()
    assert at.title[0].value == "Đăng nhập"


@pytest.mark.parametrize("role, extra", [("viewer", set()), ("editor", {"import_data"}),
                                         ("admin", {"import_data", "admin"})])
def test_the_menu_holds_the_pages_of_the_role(data_dir, role, extra):
    at = _app(make_user(data_dir, role))
    assert _pages(at) == {"overview", "map", "progress", "whatif", "targets"} | extra


@pytest.mark.parametrize("script, message", [("import_data.py", "không có quyền nhập số liệu"),
                                             ("admin.py", "không có quyền quản lý người dùng")])
def test_a_viewer_running_a_page_by_path_is_stopped(data_dir, script, message):
    """The guard inside the page (a typed URL never reaches it: the page is not registered)."""
    at = _app(make_user(data_dir, "viewer"), str(REPO / "pages" / script))
    assert message in at.error[0].value and "Không mở được trang này" in at.error[0].value
    assert not at.get("file_uploader") and not at.button and not at.tabs


def test_a_disabled_user_is_signed_out_at_the_next_run(data_dir):
    editor = make_user(data_dir, "editor")
    make_user(data_dir, "admin")
    at = _app(editor)
    assert "import_data" in _pages(at)
    auth.disable_user(open_store(data_dir), editor.username, actor=make_user(data_dir, "admin"))
    from pages import common
    common.clear_auth_cache()  # otherwise within 3 s
    at.run()
    assert at.title[0].value == "Đăng nhập"


def test_an_editor_changes_a_threshold_and_progress_follows(data_dir):
    editor = make_user(data_dir, "editor")
    at = _app(editor, str(REPO / "pages" / "targets.py"))
    assert at.text_input(key="tg_exit").value == "10,0"  # Vietnamese number format
    at.text_input(key="tg_exit").input("15,5")
    next(b for b in at.button if b.label == "Lưu thay đổi mục tiêu").click().run()
    assert not at.exception
    assert at.success[0].value.startswith("Đã lưu 1 thay đổi")
    assert at.text_input(key="tg_exit").value == "15,5"
    history = at.dataframe[-1].value
    assert history.iloc[0]["Người sửa"] == "editor-thu"
    row = entries(open_store(data_dir), action="target_change").iloc[0]
    assert json.loads(row["detail"]) == {"field": "poor_district_exit_rate", "new": 15.5, "old": 10.0,
                                         "period_id": "", "target_id": ""}
    # every page now uses the new threshold
    from pages import common
    assert common.targets_key("20")[1:] == (1, 0, 0)  # (store, value change, added rule, decision)


def test_a_value_that_is_not_a_number_is_refused_with_its_field(data_dir):
    at = _app(make_user(data_dir, "editor"), str(REPO / "pages" / "targets.py"))
    at.text_input(key="tg_margin").input("một rưỡi")
    next(b for b in at.button if b.label == "Lưu thay đổi mục tiêu").click().run()
    assert not at.exception
    assert at.error[0].value == "Biên 'có nguy cơ' \\(điểm %\\)\\: 'một rưỡi' không phải một số\\."  # escaped
    assert entries(open_store(data_dir), action="target_change").empty


def test_a_viewer_sees_targets_but_cannot_change_them(data_dir):
    at = _app(make_user(data_dir, "viewer"), str(REPO / "pages" / "targets.py"))
    assert "Chỉ biên tập viên được sửa mục tiêu." in [c.value for c in at.caption]
    assert at.text_input(key="tg_margin").disabled and at.text_input(key="tg_exit").disabled
    assert not [b for b in at.button if b.label == "Lưu thay đổi mục tiêu"]
    assert {s.value for s in at.subheader} >= {"Ngưỡng đánh giá", "Lịch sử thay đổi mục tiêu"}


def test_admin_adds_a_user_reads_the_audit_trail_and_rolls_back(data_dir):
    admin = make_user(data_dir, "admin")
    store = open_store(data_dir)
    for year in (2023, 2024):
        save_import(store, "20", prepare_indicators(official_workbook(year), f"bieu_{year}.xlsx", "20"),
                    user=make_user(data_dir, "editor"))
    at = _app(admin, str(REPO / "pages" / "admin.py"))
    assert [t.label for t in at.tabs] == ["Người dùng", "Phiên bản số liệu", "Nhật ký thay đổi"]
    users = at.tabs[0].dataframe[0].value
    assert set(users["Tên đăng nhập"]) == {"admin-thu", "editor-thu"}
    # add a user through the form
    at.text_input[0].input("Lan")
    at.text_input[1].input("Hoàng Thị Lan")
    at.selectbox[0].set_value("viewer")
    at.text_input[2].input(PASSWORD)
    next(b for b in at.button if b.label == "Thêm người dùng").click().run()
    assert not at.exception and at.success[0].value.replace("\\", "") == "Đã thêm người dùng lan."  # shown escaped
    assert auth.authenticate(store, "lan", PASSWORD).role == "viewer"
    # the trail: newest first, the form's addition on top, both imports below
    trail = at.tabs[2].dataframe[0].value
    assert trail.iloc[0]["Người thực hiện"] == "admin-thu" and trail.iloc[0]["Thao tác"] == "Thêm người dùng"
    assert (trail["Thao tác"] == "Nhập số liệu").sum() == 2
    assert len(at.get("download_button")) == 2  # the trail as CSV and Excel
    # roll back to v2 (the 2023 import)
    v2 = next(v for v in versions(store, "20") if v.number == 2)
    at.selectbox(key="admin_rb").set_value(v2.id)
    at.checkbox(key="admin_rb_sure").check().run()
    at.button(key="admin_rb_go").click().run()
    assert not at.exception
    assert at.success[0].value.replace("\\", "") == "Đã quay lại; phiên bản hiện hành mới: v4."
    assert latest_version(store, "20").years == "2023"


def test_an_editor_shares_a_scenario_that_a_viewer_opens(data_dir):
    editor = make_user(data_dir, "editor")
    at = _app(editor, str(REPO / "pages" / "whatif.py"))
    at.text_input(key="wi_name").input("Tăng tốc huyện nghèo")
    at.select_slider(key="wi_poor").set_value(7.5)
    at.run()
    at.button(key="wi_share").click().run()
    assert not at.exception and at.success[0].value == "Đã chia sẻ kịch bản Tăng tốc huyện nghèo."
    viewer = make_user(data_dir, "viewer")
    at = _app(viewer, str(REPO / "pages" / "whatif.py"))
    assert "wi_share" not in [b.key for b in at.button]  # viewers open shared scenarios, never share
    box = at.selectbox(key="wi_shared")
    assert any(o.startswith("Tăng tốc huyện nghèo · editor-thu") for o in box.options)
    from povdata.edits import shared_scenarios
    box.set_value(int(shared_scenarios(open_store(data_dir), "20")["id"].iloc[0])).run()
    assert not at.exception
    assert at.select_slider(key="wi_poor").value == 7.5 and at.text_input(key="wi_name").value == "Tăng tốc huyện nghèo"
