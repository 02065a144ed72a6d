#!/usr/bin/env bash
# Set up everything and run the whole test suite (the README's test command).
# Installs Debian's Chromium and a font with Vietnamese glyphs when run as root and
# they are missing; otherwise browser tests skip (or fail when POVDASH_REQUIRE_BROWSER=1).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans" || ! command -v pdftoppm >/dev/null \
    || ! command -v strace >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || ! [ -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    # strace: the test that no connection leaves the server (tests/test_server_hardening.py);
    # postgresql + postgis: the store's tests on PostgreSQL (a throw-away cluster, tests/pg_helpers.py);
    # nginx: two app servers behind it (.ci/cluster.sh, tests/browser/test_browser_cluster.py)
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core poppler-utils \
      strace postgresql postgresql-15-postgis-3 nginx >/dev/null
  else
    echo "Chromium not installed and not root: browser tests will skip." >&2
  fi
fi
python3 -m venv .venv
# the locked versions, each file checked against its hash (requirements-dev.lock; made from
# requirements-dev.txt by pip-compile, see its head)
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements-dev.lock
# the static check first (pyflakes and pycodestyle errors, pyproject.toml): seconds, not minutes
.venv/bin/ruff check --quiet .
# and the type check of the domain (povdata, geo; pyproject.toml)
.venv/bin/mypy --no-error-summary
if [ $# -gt 0 ]; then
  exec .venv/bin/python -m pytest -q "$@"
fi
# The unit tests, and beside them (the second core) the store's tests again on PostgreSQL + PostGIS:
# a throw-away cluster, a database per test, the tests listed in tests/on_postgresql.txt (those marked
# sqlite_only are about the SQLite file itself and skip).  Then the browser tests, alone.
pglog=$(mktemp)
POVDASH_TEST_DATABASE=postgresql .venv/bin/python -m pytest -q -p no:cacheprovider $(cat tests/on_postgresql.txt) \
  >"$pglog" 2>&1 &
pg=$!
unit=0; .venv/bin/python -m pytest -q --ignore=tests/browser || unit=$?
pgrc=0; wait "$pg" || pgrc=$?
echo "---- on PostgreSQL ----"; cat "$pglog"; rm -f "$pglog"
browser=0; .venv/bin/python -m pytest -q tests/browser || browser=$?
echo "unit: $unit, on PostgreSQL: $pgrc, browser: $browser (0 = passed)"
[ "$unit" = 0 ] && [ "$pgrc" = 0 ] && [ "$browser" = 0 ]
