#!/usr/bin/env bash
# Set up and start the dashboard on the embedded demo data (the README's start command).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
# the locked versions, each file checked against its hash (requirements.lock)
.venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
exec .venv/bin/python -m streamlit run dashboard.py "$@"
