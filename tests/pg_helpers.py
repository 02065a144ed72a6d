"""A throw-away PostgreSQL cluster for the store's tests on PostgreSQL (issue 16 point 6).

The server binaries come from Debian (``/usr/lib/postgresql/<version>/bin``; ``.ci/test.sh``
installs them as root when missing).  The cluster lives in a temporary folder, listens only
on a Unix socket in that folder (no TCP port), trusts local connections, and is stopped and
deleted at the end.  As root, it runs as the ``postgres`` user (``initdb`` refuses root).
"""
from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator


def pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_cluster() -> Iterator[str]:
    """A running cluster; yields the SQLAlchemy URL of its ``postgres`` database."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (Debian package postgresql)")
    root = Path(tempfile.mkdtemp(prefix="povdash-pg-"))
    data = root / "data"
    with socket.socket() as s:  # a port number for the socket's name only: nothing listens on TCP
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres", "postgres")
        subprocess.run(_as_owner([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                  "--no-sync", "-E", "UTF8", "--locale", "C"]),
                       check=True, capture_output=True, timeout=120)
        subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60",
                                  "-o", f"-k {root} -p {port} -c listen_addresses='' -c fsync=off", "start"]),
                       check=True, capture_output=True, timeout=120)
        yield f"postgresql+psycopg://postgres@/postgres?host={root}&port={port}"
    finally:
        subprocess.run(_as_owner([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


def app_template(admin_url: str, name: str) -> tuple[object, str]:
    """Make database ``name`` as a deployment would, for copies (``CREATE DATABASE … TEMPLATE``):
    owned by an ordinary role ``povdash`` (a superuser passes every privilege check, so the audit
    trail's revoked UPDATE/DELETE/TRUNCATE would go untested), PostGIS created once by the
    superuser, the schema made by the migrations as ``povdash``.  Returns the superuser's
    engine (``AUTOCOMMIT``, for ``CREATE``/``DROP DATABASE``) and the app's URL of the cluster's
    ``postgres`` database (swap the database name for a copy's)."""
    from sqlalchemy import create_engine, text

    from povdata.db import upgrade_url

    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text("CREATE ROLE povdash LOGIN"))
        conn.execute(text(f"CREATE DATABASE {name} OWNER povdash"))
    template = create_engine(admin_url.replace("/postgres?", f"/{name}?"), isolation_level="AUTOCOMMIT")
    with template.connect() as conn:
        conn.execute(text("CREATE EXTENSION postgis"))
    template.dispose()
    app_url = admin_url.replace("//postgres@", "//povdash@")
    upgrade_url(app_url.replace("/postgres?", f"/{name}?"))
    return admin, app_url
