"""Several app servers on one machine behind nginx (issue 16 point 3): the proxy's
configuration, written by ``.ci/cluster.sh start``.

* **Sticky by a cookie of the proxy's own.**  A browser's websocket (``/_stcore/stream``,
  where its Streamlit session lives) and its uploads (``/_stcore/upload_file/<session>/…``)
  must reach the same app server.  nginx gives each browser a random ``povdash_node``
  cookie (``HttpOnly; SameSite=Strict``) on its first answer and picks the server by a
  consistent hash of it, so one browser stays on one server while browsers spread over all
  of them (a hash of the client address would put a whole office behind one NAT on one
  server).
* **A server that dies** is skipped: the hash moves that browser to the next server
  (``proxy_next_upstream``); the browser reconnects there and signs in again from its
  sign-in cookie (checked against the shared store by any server).  Saved data is in the
  store, never in a server.
* **Websockets** are proxied (HTTP/1.1 upgrade, an hour's read timeout); uploads up to the
  app's own limit; the app's security headers pass through unchanged, and the proxy adds
  none of its own that could contradict them.
* Everything (pid file, logs, temp folders) lives in the cluster's run folder; nginx
  listens on 127.0.0.1 only unless told otherwise.
"""
from __future__ import annotations

import os
from pathlib import Path

COOKIE = "povdash_node"


def nginx_config(run_dir: str | Path, listen: int, app_ports: list[int], host: str = "127.0.0.1",
                 max_body_mb: int = 210) -> str:
    """The nginx.conf of a cluster whose app servers listen on ``app_ports`` (127.0.0.1)."""
    run = Path(run_dir).resolve()
    if not app_ports:
        raise ValueError("a cluster needs at least one app server")
    servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=1 fail_timeout=5s;" for p in app_ports)
    user = "user root;\n" if os.geteuid() == 0 else ""  # the workers write the run folder's temp paths
    return f"""# written by .ci/cluster.sh (povdata/cluster.py); do not edit: it is rewritten at every start
{user}worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$remote_addr "$request" $status node=$node upstream=$upstream_addr';
    access_log {run}/nginx-access.log upstream;
    client_body_temp_path {run}/tmp/body;
    proxy_temp_path {run}/tmp/proxy;
    fastcgi_temp_path {run}/tmp/fastcgi;
    uwsgi_temp_path {run}/tmp/uwsgi;
    scgi_temp_path {run}/tmp/scgi;
    client_max_body_size {max_body_mb}m;
    server_tokens off;

    # the browser's own node key: its cookie, else a new random one (set on this answer)
    map $cookie_{COOKIE} $node {{
        ""      $request_id;
        default $cookie_{COOKIE};
    }}
    map $cookie_{COOKIE} $set_node {{
        ""      "{COOKIE}=$request_id; Path=/; HttpOnly; SameSite=Strict";
        default "";
    }}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}
    upstream povdash {{
        hash $node consistent;
{servers}
    }}
    server {{
        listen {host}:{listen};
        location / {{
            proxy_pass http://povdash;
            proxy_http_version 1.1;
            proxy_set_header Host $http_host;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            proxy_buffering off;
            proxy_next_upstream error timeout http_502 http_503;
            add_header Set-Cookie $set_node always;
        }}
    }}
}}
"""


def write_config(run_dir: str | Path, listen: int, app_ports: list[int]) -> Path:
    """Write ``<run_dir>/nginx.conf`` (and the temp folders it names); its path."""
    run = Path(run_dir)
    for sub in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / "tmp" / sub).mkdir(parents=True, exist_ok=True)
    path = run / "nginx.conf"
    path.write_text(nginx_config(run, listen, app_ports), encoding="utf-8")
    return path
