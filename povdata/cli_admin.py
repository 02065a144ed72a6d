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
from povdata.i18n import cli_lang, cli_t
from povdata.messages import Msg


def add_parsers(sub) -> None:
    u = sub.add_parser("users", help=cli_t("cli_admin.help_users"))
    us = u.add_subparsers(dest="users_cmd", required=True)
    a = us.add_parser("add", help=cli_t("cli_admin.help_users_add"))
    a.add_argument("username")
    a.add_argument("--role", required=True, choices=ROLES)
    a.add_argument("--province", help=cli_t("cli_admin.help_province"))
    a.add_argument("--name", default="", help=cli_t("cli_admin.help_name"))
    a.add_argument("--oidc", action="store_true", help=cli_t("cli_admin.help_oidc"))
    a.add_argument("--password-stdin", action="store_true", help=cli_t("cli_admin.help_password_stdin"))
    d = us.add_parser("disable", help=cli_t("cli_admin.help_disable"))
    d.add_argument("username")
    e = us.add_parser("enable", help=cli_t("cli_admin.help_enable"))
    e.add_argument("username")
    r = us.add_parser("set-role", help=cli_t("cli_admin.help_set_role"))
    r.add_argument("username")
    r.add_argument("role", choices=ROLES)
    p = us.add_parser("passwd", help=cli_t("cli_admin.help_passwd"))
    p.add_argument("username")
    p.add_argument("--password-stdin", action="store_true")
    us.add_parser("list", help=cli_t("cli_admin.help_list"))
    u.set_defaults(func=cmd_users)

    t = sub.add_parser("audit", help=cli_t("cli_admin.help_audit"))
    t.add_argument("--out", help=cli_t("cli_admin.help_audit_out"))
    t.add_argument("--action", choices=auth_actions())
    t.add_argument("--province")
    t.set_defaults(func=cmd_audit)

    b = sub.add_parser("rollback", help=cli_t("cli_admin.help_rollback"))
    b.add_argument("--province", default="20")
    b.add_argument("--to", type=int, required=True, dest="number", help=cli_t("cli_admin.help_rollback_to"))
    b.set_defaults(func=cmd_rollback)


def auth_actions() -> tuple[str, ...]:
    from povdata.audit import ACTIONS
    return ACTIONS


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass(cli_t("cli_admin.password"))
    if getpass.getpass(cli_t("cli_admin.password_again")) != first:
        raise auth.AuthError(Msg("cli_admin.passwords_differ"))
    return first


def cmd_users(args: argparse.Namespace) -> int:
    from povdata.store import open_store

    store, me = open_store(), auth.cli_user()
    cmd = args.users_cmd
    if cmd == "add":
        pw = None if args.oidc else _password(args)
        user = auth.add_user(store, args.username, pw, args.role, actor=me, province_code=args.province,
                             display_name=args.name)
        if user.province_code:
            print(cli_t("cli_admin.added_in", name=user.username, role=auth.role_name(user.role, cli_lang()),
                        province=user.province_code))
        else:
            print(cli_t("cli_admin.added", name=user.username, role=auth.role_name(user.role, cli_lang())))
    elif cmd == "disable":
        auth.disable_user(store, args.username, actor=me)
        print(cli_t("cli_admin.disabled", name=auth.normalise_username(args.username)))
    elif cmd == "enable":
        auth.enable_user(store, args.username, actor=me)
        print(cli_t("cli_admin.enabled", name=auth.normalise_username(args.username)))
    elif cmd == "set-role":
        auth.set_role(store, args.username, args.role, actor=me)
        print(cli_t("cli_admin.role_set", name=auth.normalise_username(args.username),
                    role=auth.role_name(args.role, cli_lang())))
    elif cmd == "passwd":
        auth.set_password(store, args.username, _password(args), actor=me)
        print(cli_t("cli_admin.password_set", name=auth.normalise_username(args.username)))
    else:
        df = auth.list_users(store, actor=me)
        if df.empty:
            print(cli_t("cli_admin.no_users"))
        for r in df.itertuples(index=False):
            state = cli_t("cli_admin.state_disabled" if r.disabled else "cli_admin.state_active")
            province = r.province_code if isinstance(r.province_code, str) else "*"
            print(f"{r.username}\t{r.role}\t{province}\t{state}\t{r.display_name}")
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    from povdata.audit import entries
    from povdata.export import to_csv_bytes, to_xlsx_bytes
    from povdata.store import has_store, open_store

    if not has_store():
        print(cli_t("cli_admin.no_store"))
        return 0
    df = entries(open_store(), auth.cli_user(), action=args.action, province_code=args.province)
    if args.out:
        data = to_xlsx_bytes(df) if args.out.lower().endswith(".xlsx") else to_csv_bytes(df)
        with open(args.out, "wb") as f:
            f.write(data)
        print(cli_t("cli_admin.audit_written", n=len(df), file=args.out))
    else:
        sys.stdout.write(to_csv_bytes(df).decode("utf-8-sig"))
    return 0


def cmd_rollback(args: argparse.Namespace) -> int:
    from povdata.store import StoreError, open_store, rollback, versions

    store = open_store()
    match = [v for v in versions(store, args.province) if v.number == args.number]
    if not match:
        raise StoreError(Msg("cli_admin.no_version", province=args.province, number=args.number))
    v = rollback(store, args.province, match[0].id, user=auth.cli_user())
    print(cli_t("cli_admin.rolled_back", number=args.number, current=v.number))
    return 0
