#!/usr/bin/env bash
# Several app servers on one machine behind nginx, sharing one store (issue 16 point 3).
#
#   bash .ci/cluster.sh start [N]    N Streamlit servers (default 2) and nginx on http://127.0.0.1:8500
#   bash .ci/cluster.sh stop         stop them all
#
# Settings (environment): POVDASH_CLUSTER_PORT (8500; the servers take the next N ports),
# POVDASH_CLUSTER_DIR (var/cluster: pids, logs, nginx.conf), POVDASH_DATA_DIR (the store every
# server shares, as for one server). The servers share one cookie secret (made once, in the run
# folder); nginx keeps each browser on one server (povdata/cluster.py says how and why). The store
# is SQLite, so the servers must run on this one machine; several machines need PostgreSQL (not done).
set -euo pipefail
cd "$(dirname "$0")/.."
RUN="${POVDASH_CLUSTER_DIR:-var/cluster}"
PORT="${POVDASH_CLUSTER_PORT:-8500}"
CMD="${1:-start}"
N="${2:-2}"
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

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
    ports=()
    for i in $(seq 1 "$N"); do ports+=("$((PORT + i))"); done
    .venv/bin/python -c "import sys; from povdata.cluster import write_config; write_config(sys.argv[1], int(sys.argv[2]), [int(p) for p in sys.argv[3:]])" \
      "$RUN" "$PORT" "${ports[@]}"
    "$NGINX" -q -t -c "$(realpath "$RUN/nginx.conf")" -p "$(realpath "$RUN")"
    trap 'stop' ERR  # a server or nginx that fails to start: nothing is left running
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
    echo "http://127.0.0.1:$PORT ($N servers: ${ports[*]})"
    ;;
  *)
    echo "usage: bash .ci/cluster.sh start [N] | stop" >&2
    exit 2
    ;;
esac
