"""Suite-wide: the app and the CLI read the data store from ``POVDASH_DATA_DIR``; point it at an
empty temporary folder so a developer's own ``var/`` never changes what a test sees."""
from __future__ import annotations

import os
import tempfile

_DATA_DIR = tempfile.mkdtemp(prefix="povdash-test-data-")
os.environ["POVDASH_DATA_DIR"] = _DATA_DIR

# Password hashing at argon2's production cost (64 MiB, 3 passes) takes ~0.1 s a hash: tests that create
# many users use a cheap argon2id instead (same code path; servers started by browser tests keep the real cost).
import povdata.auth as _auth  # noqa: E402
from argon2 import PasswordHasher  # noqa: E402

_auth._HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)

# Property tests: the same examples on every run ("repeatable", CI's and the default), so a landing is
# never refused by a random draw; HYPOTHESIS_PROFILE=explore draws new examples (run it when changing
# a parser, and add what it finds as an @example).
from hypothesis import settings as _hyp_settings  # noqa: E402

_hyp_settings.register_profile("repeatable", derandomize=True, database=None)
_hyp_settings.register_profile("explore", derandomize=False)
_hyp_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


# ---- the store's tests on PostgreSQL (scale-out issue, point 6) ---------------------------------
# POVDASH_TEST_DATABASE=postgresql: every test gets a fresh PostgreSQL database (a copy of one the
# migrations made, from a throw-away cluster: tests/pg_helpers.py) through POVDASH_DATABASE_URL, the
# setting a deployment uses; CLI subprocesses inherit it.  Tests of SQLite's file itself (its header,
# a full disk, WAL, the file backup) are marked ``sqlite_only`` and skipped there.
import itertools  # noqa: E402

import pytest  # noqa: E402

ON_POSTGRES = os.environ.get("POVDASH_TEST_DATABASE", "").lower() == "postgresql"
_DB_NUMBERS = itertools.count(1)


def pytest_configure(config):
    config.addinivalue_line("markers", "sqlite_only: a test of the SQLite store file itself (skipped on PostgreSQL)")


def pytest_collection_modifyitems(config, items):
    if not ON_POSTGRES:
        return
    skip = pytest.mark.skip(reason="SQLite's store file only (POVDASH_TEST_DATABASE=postgresql)")
    for item in items:
        if "sqlite_only" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _pg_template():
    from pg_helpers import app_template, pg_bin, postgres_cluster

    if pg_bin() is None:
        pytest.fail("POVDASH_TEST_DATABASE=postgresql but PostgreSQL's server binaries are missing")
    with postgres_cluster() as admin_url:
        admin, app_url = app_template(admin_url, "povdash_template")
        yield admin, app_url
        admin.dispose()


@pytest.fixture(autouse=True)
def _store_database(request, monkeypatch):
    """On PostgreSQL: this test's own database, dropped afterwards."""
    if not ON_POSTGRES or "sqlite_only" in request.keywords:
        yield
        return
    from sqlalchemy import text

    from povdata.db import dispose_engines

    admin, app_url = request.getfixturevalue("_pg_template")
    name = f"t{next(_DB_NUMBERS)}"
    with admin.connect() as conn:
        conn.execute(text(f"CREATE DATABASE {name} TEMPLATE povdash_template OWNER povdash"))
    url = app_url.replace("/postgres?", f"/{name}?")
    monkeypatch.setenv("POVDASH_DATABASE_URL", url)
    try:
        yield url
    finally:
        dispose_engines(url)
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
