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


def add_parsers(sub) -> None:
    b = sub.add_parser("backup", help="sao lưu kho dữ liệu (một tệp SQLite đã kiểm tra, kèm tệp kê khai .json)")
    b.add_argument("--out", help="tệp hoặc thư mục ghi (mặc định <thư mục dữ liệu>/backups/povdash-<thời điểm>.sqlite)")
    b.add_argument("--data-dir", dest="data_dir", help="thư mục dữ liệu (mặc định POVDASH_DATA_DIR hoặc var/)")
    b.set_defaults(func=cmd_backup)
    r = sub.add_parser("restore", help="khôi phục kho dữ liệu từ một bản sao lưu (kiểm tra trước, giữ bản an toàn)")
    r.add_argument("file", help="tệp sao lưu .sqlite")
    r.add_argument("--yes", action="store_true", help="không hỏi xác nhận")
    r.add_argument("--data-dir", dest="data_dir", help="thư mục dữ liệu (mặc định POVDASH_DATA_DIR hoặc var/)")
    r.set_defaults(func=cmd_restore)


def _actor() -> str:
    from povdata.auth import cli_user
    return cli_user().username


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB".replace(".", ",")


def cmd_backup(args: argparse.Namespace) -> int:
    from povdata.backup import backup
    from povdata.store import data_dir, has_store, open_store

    folder = args.data_dir or data_dir()
    if not has_store(folder):
        print(f"LỖI: chưa có kho dữ liệu ở {folder}: không có gì để sao lưu (bảng điều khiển đang dùng số liệu "
              "minh họa).", file=sys.stderr)
        return 1
    info = backup(open_store(folder), args.out, actor=_actor())
    print(f"Đã sao lưu kho dữ liệu vào {info.path} ({_mb(info.size)}, SHA-256 {info.sha256[:16]}…; "
          f"đã kiểm tra toàn vẹn; tệp kê khai {info.manifest.name}):")
    print("\n".join(info.contents.lines()))
    return 0


def cmd_restore(args: argparse.Namespace) -> int:
    from povdata.backup import restore
    from povdata.store import data_dir

    folder = args.data_dir or data_dir()

    def confirm(info, current) -> bool:
        made = f", tạo lúc {info.created_at}" if info.created_at else ""
        check = f"khớp tệp kê khai {info.manifest.name}" if info.manifest else "không có tệp kê khai bên cạnh"
        print(f"Tệp sao lưu {info.path} ({_mb(info.size)}{made}; SHA-256 {info.sha256[:16]}… {check}; "
              "đã kiểm tra toàn vẹn và cấu trúc):")
        print("\n".join(info.contents.lines()))
        print("Kho dữ liệu hiện tại:")
        print("\n".join(current.lines()))
        if args.yes:
            return True
        prompt = "Khôi phục sẽ thay toàn bộ số liệu hiện tại bằng số liệu trong tệp sao lưu (tài khoản người dùng " \
                 "và nhật ký thay đổi giữ nguyên; có bản an toàn). Gõ 'co' để tiếp tục: "
        if not sys.stdin.isatty():
            return False
        return input(prompt).strip().lower() in ("co", "có", "c", "yes", "y")

    result = restore(args.file, folder, actor=_actor(), confirm=confirm)
    if result is None:
        print("Chưa khôi phục, kho dữ liệu không thay đổi" + ("." if sys.stdin.isatty() else
                                                             ": thêm --yes để xác nhận."), file=sys.stderr)
        return 2
    print(f"Đã khôi phục kho dữ liệu từ {result.source.path} (đã kiểm tra lại: số dòng khớp tệp sao lưu):")
    print("\n".join(result.after.lines()))
    if result.safety_copy:
        print(f"Bản an toàn của kho trước khi khôi phục: {result.safety_copy}")
    print("Nếu bảng điều khiển đang chạy, hãy khởi động lại để mọi phiên đọc số liệu đã khôi phục.")
    return 0
