#!/usr/bin/env bash
# Set up everything and run the whole test suite (the README's test command).
# Installs Debian's Chromium and a font with Vietnamese glyphs when run as root and
# they are missing; otherwise browser tests skip (or fail when POVDASH_REQUIRE_BROWSER=1).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto sans" || ! command -v pdftoppm >/dev/null \
    || ! command -v strace >/dev/null || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
    || ! [ -x /usr/sbin/nginx ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    # strace: the test that no connection leaves the server (tests/test_server_hardening.py);
    # postgresql: the store's migrations on PostgreSQL (tests/test_migrations.py, a throw-away cluster);
    # nginx: two app servers behind it (.ci/cluster.sh, tests/browser/test_browser_cluster.py)
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core poppler-utils \
      strace postgresql nginx >/dev/null
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
exec .venv/bin/python -m pytest -q "$@"
