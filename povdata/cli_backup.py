"""``python -m povdata backup|restore``: a checked copy of the data store, and putting one back.

    python -m povdata backup                      # <data dir>/backups/povdash-YYYYmmdd-HHMMSS.sqlite
    python -m povdata backup --out /mnt/usb/povdash.sqlite
    python -m povdata restore /mnt/usb/povdash.sqlite          # checks, shows both sides, asks
    python -m povdata restore /mnt/usb/povdash.sqlite --yes    # without asking

Exit code 0 when done, 1 when refused or failed (the message says why; the store is
unchanged), 2 when a restore was not confirmed.  See :mod:`povdata.backup`.
"""
from __future__ import annotations

import argparse
import sys

from povdata.i18n import cli_lang, cli_t, fmt_number

#: the answers that confirm a restore (typed with or without accents)
YES_WORDS = ("co", "có", "c", "yes", "y")


def add_parsers(sub) -> None:
    b = sub.add_parser("backup", help=cli_t("cli_backup.help_backup"))
    b.add_argument("--out", help=cli_t("cli_backup.help_out"))
    b.add_argument("--data-dir", dest="data_dir", help=cli_t("cli_backup.help_data_dir"))
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help=cli_t("cli_backup.help_restore"))
    r.add_argument("file", help=cli_t("cli_backup.help_file"))
    r.add_argument("--yes", action="store_true", help=cli_t("cli_backup.help_yes"))
    r.add_argument("--data-dir", dest="data_dir", help=cli_t("cli_backup.help_data_dir"))
    r.set_defaults(func=cmd_restore)


def _actor() -> str:
    from povdata.auth import cli_user
    return cli_user().username


def _mb(n: int) -> str:
    return f"{fmt_number(n / 1e6, cli_lang(), 1)} MB"


def cmd_backup(args: argparse.Namespace) -> int:
    from povdata.backup import backup
    from povdata.store import data_dir, has_store, open_store

    folder = args.data_dir or data_dir()
    if not has_store(folder):
        print(cli_t("cli_backup.no_store", folder=folder), file=sys.stderr)
        return 1
    info = backup(open_store(folder), args.out, actor=_actor())
    print(cli_t("cli_backup.done", path=info.path, size=_mb(info.size), sha=info.sha256[:16],
                manifest=info.manifest.name if info.manifest else "–"))
    print("\n".join(info.contents.lines(cli_lang())))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from povdata.backup import restore
    from povdata.store import data_dir

    folder = args.data_dir or data_dir()

    def confirm(info, current) -> bool:
        made = cli_t("cli_backup.made_at", at=info.created_at) if info.created_at else ""
        check = cli_t("cli_backup.manifest_ok", manifest=info.manifest.name) if info.manifest \
            else cli_t("cli_backup.no_manifest")
        print(cli_t("cli_backup.backup_file", path=info.path, size=_mb(info.size), made=made, sha=info.sha256[:16],
                    check=check))
        print("\n".join(info.contents.lines(cli_lang())))
        print(cli_t("cli_backup.current"))
        print("\n".join(current.lines(cli_lang())))
        if args.yes:
            return True
        prompt = cli_t("cli_backup.prompt")
        if not sys.stdin.isatty():
            return False
        return input(prompt).strip().lower() in YES_WORDS

    result = restore(args.file, folder, actor=_actor(), confirm=confirm)
    if result is None:
        print(cli_t("cli_backup.not_restored" if sys.stdin.isatty() else "cli_backup.not_restored_yes"),
              file=sys.stderr)
        return 2
    print(cli_t("cli_backup.restored", path=result.source.path))
    print("\n".join(result.after.lines(cli_lang())))
    if result.safety_copy:
        print(cli_t("cli_backup.safety", path=result.safety_copy))
    print(cli_t("cli_backup.restart"))
    return 0
