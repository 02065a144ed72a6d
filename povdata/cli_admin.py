"""``python -m povdata users|audit|rollback``: accounts, the audit trail and rollback from
the server's shell.  Whoever runs them has shell access to the data directory, so they act
as an admin, recorded in the audit trail under the login name (see
:func:`povdata.auth.cli_user`)."""
from __future__ import annotations

import argparse
import getpass
import sys

from povdata import auth
from povdata.auth import ROLES


def add_parsers(sub) -> None:
    u = sub.add_parser("users", help="người dùng: thêm, khóa, đổi vai trò, đặt lại mật khẩu, liệt kê")
    us = u.add_subparsers(dest="users_cmd", required=True)
    a = us.add_parser("add", help="thêm người dùng (hỏi mật khẩu)")
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--province", help="chỉ được xem tỉnh có mã này (triển khai toàn quốc)")
    a.add_argument("--name", default="", help="họ tên hiển thị")
    a.add_argument("--oidc", action="store_true", help="đăng nhập qua nhà cung cấp định danh (không mật khẩu)")
    a.add_argument("--password-stdin", action="store_true", help="đọc mật khẩu từ dòng đầu của stdin")
    d = us.add_parser("disable", help="khóa tài khoản")
    d.add_argument("username")
    e = us.add_parser("enable", help="mở khóa tài khoản")
    e.add_argument("username")
    r = us.add_parser("set-role", help="đổi vai trò")
    r.add_argument("username")
    r.add_argument("role", choices=ROLES)
    p = us.add_parser("passwd", help="đặt lại mật khẩu (hỏi mật khẩu)")
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    us.add_parser("list", help="liệt kê người dùng")
    u.set_defaults(func=cmd_users)

    t = sub.add_parser("audit", help="nhật ký thay đổi (CSV)")
    t.add_argument("--out", help="ghi ra tệp .csv hoặc .xlsx (mặc định: in ra màn hình)")
    t.add_argument("--action", choices=auth_actions())
    t.add_argument("--province")
    t.set_defaults(func=cmd_audit)

    b = sub.add_parser("rollback", help="quay lại một phiên bản trước (tạo phiên bản mới chép từ nó)")
    b.add_argument("--province", default="20")
    b.add_argument("--to", type=int, required=True, dest="number", help="số phiên bản (v…) muốn quay lại")
    b.set_defaults(func=cmd_rollback)


def auth_actions() -> tuple[str, ...]:
    from povdata.audit import ACTIONS
    return ACTIONS


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Mật khẩu: ")
    if getpass.getpass("Nhập lại mật khẩu: ") != first:
        raise auth.AuthError("Hai lần nhập mật khẩu không khớp.")
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from povdata.store import open_store

    store, me = open_store(), auth.cli_user()
    cmd = args.users_cmd
    if cmd == "add":
        pw = None if args.oidc else _password(args)
        user = auth.add_user(store, args.username, pw, args.role, actor=me, province_code=args.province,
                             display_name=args.name)
        print(f"Đã thêm {user.username} ({auth.ROLE_NAMES[user.role]}"
              + (f", tỉnh mã {user.province_code}" if user.province_code else "") + ").")
    elif cmd == "disable":
        auth.disable_user(store, args.username, actor=me)
        print(f"Đã khóa {auth.normalise_username(args.username)}.")
    elif cmd == "enable":
        auth.enable_user(store, args.username, actor=me)
        print(f"Đã mở khóa {auth.normalise_username(args.username)}.")
    elif cmd == "set-role":
        auth.set_role(store, args.username, args.role, actor=me)
        print(f"{auth.normalise_username(args.username)}: vai trò mới là {auth.ROLE_NAMES[args.role]}.")
    elif cmd == "passwd":
        auth.set_password(store, args.username, _password(args), actor=me)
        print(f"Đã đặt lại mật khẩu của {auth.normalise_username(args.username)}.")
    else:
        df = auth.list_users(store, actor=me)
        if df.empty:
            print("Chưa có người dùng nào (ứng dụng chạy ở chế độ trình diễn, chỉ xem).")
        for r in df.itertuples(index=False):
            print(f"{r.username}\t{r.role}\t{r.province_code if isinstance(r.province_code, str) else '*'}\t{'đã khóa' if r.disabled else 'hoạt động'}"
                  f"\t{r.display_name}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from povdata.audit import entries
    from povdata.export import to_csv_bytes, to_xlsx_bytes
    from povdata.store import has_store, open_store

    if not has_store():
        print("Chưa có kho dữ liệu: nhật ký trống.")
        return 0
    df = entries(open_store(), auth.cli_user(), action=args.action, province_code=args.province)
    if args.out:
        data = to_xlsx_bytes(df) if args.out.lower().endswith(".xlsx") else to_csv_bytes(df)
        with open(args.out, "wb") as f:
            f.write(data)
        print(f"Đã ghi {len(df)} dòng nhật ký vào {args.out}.")
    else:
        sys.stdout.write(to_csv_bytes(df).decode("utf-8-sig"))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from povdata.store import StoreError, open_store, rollback, versions

    store = open_store()
    match = [v for v in versions(store, args.province) if v.number == args.number]
    if not match:
        raise StoreError(f"Tỉnh mã {args.province} không có phiên bản v{args.number}.")
    v = rollback(store, args.province, match[0].id, user=auth.cli_user())
    print(f"Đã quay lại v{args.number}: phiên bản hiện hành là v{v.number}.")
    return 0
