#!/usr/bin/env bash
# Several app servers on one machine behind nginx, sharing one store (issue 16 point 3).
#
#   bash .ci/cluster.sh start [N]    N Streamlit servers (default 2) and nginx on http://127.0.0.1:8500
#   bash .ci/cluster.sh stop         stop them all
#
# The store every server shares is PostgreSQL + PostGIS: a cluster of its own in the run folder
# (made at the first start, kept between starts: it is the store; a Unix socket in a folder only its
# owner can open, no TCP port), or the database of POVDASH_DATABASE_URL when that is set;
# POVDASH_CLUSTER_STORE=sqlite shares the SQLite file of POVDASH_DATA_DIR instead (one machine only).
# The store's URL is written to <run folder>/database_url (for the CLI: users, imports, backups).
#
# Settings (environment): POVDASH_CLUSTER_PORT (8500; the servers take the next N ports),
# POVDASH_CLUSTER_DIR (var/cluster: pids, logs, nginx.conf, pg/), POVDASH_DATA_DIR (the data folder,
# as for one server). The servers share one cookie secret (made once, in the run folder); nginx keeps
# each browser on one server (povdata/cluster.py says how and why).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${POVDASH_CLUSTER_DIR:-var/cluster}"
PORT="${POVDASH_CLUSTER_PORT:-8500}"
CMD="${1:-start}"
N="${2:-2}"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
STORE="${POVDASH_CLUSTER_STORE:-postgresql}"
as_pg() { if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

start_pg() {  # our own PostgreSQL + PostGIS in $RUN/pg; sets POVDASH_DATABASE_URL
  if [ -z "$(pg_bin)" ] || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
    if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgresql-15-postgis-3 >/dev/null
    else
      echo "PostgreSQL/PostGIS are not installed (Debian packages postgresql, postgresql-15-postgis-3)" >&2
      exit 1
    fi
  fi
  local bin pg first=0
  bin="$(pg_bin)"
  pg="$(realpath "$RUN")/pg"
  mkdir -p "$pg"
  chmod 700 "$pg"
  [ "$(id -u)" = "0" ] && chown postgres:postgres "$pg"
  if [ ! -f "$pg/data/PG_VERSION" ]; then
    as_pg "$bin/initdb" -D "$pg/data" -A trust -U postgres -E UTF8 --locale C >"$RUN/pg-init.log" 2>&1
    first=1
  fi
  as_pg "$bin/pg_ctl" -D "$pg/data" -l "$pg/log" -w -t 60 \
    -o "-k $pg -p $PORT -c listen_addresses=''" start >/dev/null
  if [ "$first" = 1 ]; then  # the app's own role owns its database; PostGIS made once by the superuser
    as_pg "$bin/psql" -q -h "$pg" -p "$PORT" -U postgres -d postgres -v ON_ERROR_STOP=1 \
      -c "CREATE ROLE povdash LOGIN" -c "CREATE DATABASE povdash OWNER povdash" >/dev/null
    as_pg "$bin/psql" -q -h "$pg" -p "$PORT" -U postgres -d povdash -v ON_ERROR_STOP=1 \
      -c "CREATE EXTENSION IF NOT EXISTS postgis" >/dev/null
  fi
  export POVDASH_DATABASE_URL="postgresql+psycopg://povdash@/povdash?host=$pg&port=$PORT"
}

stop_pg() {
  local bin
  bin="$(pg_bin)"
  if [ -n "$bin" ] && [ -f "$RUN/pg/data/postmaster.pid" ]; then
    as_pg "$bin/pg_ctl" -D "$(realpath "$RUN")/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

gone() {  # wait up to 10 s for process group $1 to end, then kill what is left
  for _ in $(seq 1 50); do kill -0 -- "-$1" 2>/dev/null || return 0; sleep 0.2; done
  kill -KILL -- "-$1" 2>/dev/null || true
}

stop() {
  if [ -f "$RUN/nginx.pid" ] && [ -f "$RUN/nginx.conf" ]; then
    master="$(cat "$RUN/nginx.pid" 2>/dev/null || true)"
    "$NGINX" -q -c "$(realpath "$RUN/nginx.conf")" -p "$(realpath "$RUN")" -s stop 2>/dev/null || true
    if [ -n "$master" ]; then
      for _ in $(seq 1 50); do kill -0 "$master" 2>/dev/null || break; sleep 0.2; done
    fi
  fi
  for pid_file in "$RUN"/app-*.pid; do
    [ -f "$pid_file" ] || continue
    pid="$(cat "$pid_file")"
    kill -TERM -- "-$pid" 2>/dev/null || true
    gone "$pid"
    rm -f "$pid_file"
  done
  stop_pg
}

case "$CMD" in
  stop)
    stop
    ;;
  start)
    if [ ! -x "$NGINX" ]; then
      if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx >/dev/null
        NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
      else
        echo "nginx is not installed (Debian package nginx)" >&2
        exit 1
      fi
    fi
    if [ ! -x .venv/bin/python ]; then
      python3 -m venv .venv
      .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
    fi
    stop
    mkdir -p "$RUN"
    [ -s "$RUN/cookie_secret" ] || .venv/bin/python -c "import secrets; print(secrets.token_hex(32))" > "$RUN/cookie_secret"
    chmod 600 "$RUN/cookie_secret"
    trap 'stop' ERR  # a server, the database or nginx that fails to start: nothing is left running
    if [ "$STORE" = "postgresql" ] && [ -z "${POVDASH_DATABASE_URL:-}" ]; then
      start_pg
    fi
    echo "${POVDASH_DATABASE_URL:-}" > "$RUN/database_url"
    if [ -n "${POVDASH_DATABASE_URL:-}" ]; then  # the schema made (or upgraded) once, before the servers start
      .venv/bin/python -c "from povdata.db import open_store; open_store()"
    fi
    ports=()
    for i in $(seq 1 "$N"); do ports+=("$((PORT + i))"); done
    .venv/bin/python -c "import sys; from povdata.cluster import write_config; write_config(sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3:]])" \
      "$RUN" "$PORT" "${ports[@]}"
    "$NGINX" -q -t -c "$(realpath "$RUN/nginx.conf")" -p "$(realpath "$RUN")"
    for i in $(seq 1 "$N"); do
      p="${ports[$((i - 1))]}"
      STREAMLIT_SERVER_COOKIE_SECRET="$(cat "$RUN/cookie_secret")" \
        setsid .venv/bin/python -m streamlit run dashboard.py --server.port "$p" --server.address 127.0.0.1 \
        --server.headless true --browser.gatherUsageStats false > "$RUN/app-$i.log" 2>&1 < /dev/null &
      echo $! > "$RUN/app-$i.pid"
    done
    "$NGINX" -c "$(realpath "$RUN/nginx.conf")" -p "$(realpath "$RUN")"
    # every server answers (directly and through the proxy) before we say so
    if ! .venv/bin/python - "$PORT" "${ports[@]}" <<'PY'
import sys, time, urllib.request
for port in sys.argv[1:][::-1]:  # the servers first, the proxy last
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            sys.exit(f"port {port} did not answer")
        time.sleep(0.5)
PY
    then
      echo "the cluster did not start (logs in $RUN)" >&2
      stop
      exit 1
    fi
    echo "http://127.0.0.1:$PORT ($N servers: ${ports[*]}; store: ${POVDASH_DATABASE_URL:-SQLite in ${POVDASH_DATA_DIR:-var}})"
    ;;
  *)
    echo "usage: bash .ci/cluster.sh start [N] | stop" >&2
    exit 2
    ;;
esac
