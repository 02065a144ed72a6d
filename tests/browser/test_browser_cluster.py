"""Two app servers behind nginx on one machine, sharing one store (issue 16 point 3),
started and stopped by the documented command (``bash .ci/cluster.sh start 2`` / ``stop``).

Through the proxy a signed-in browser gets the map (its websocket works through nginx), stays
on one server (the proxy's ``povdash_node`` cookie), and other browsers spread over both.  When
the browser's server is killed, a reload lands on the other one, still signed in (its sign-in
cookie is checked against the shared store), and shows the same data: nothing lived in the
dead server.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

from auth_helpers import PASSWORD
from browser_helpers import (ROLE_USERS, keep_screenshot, map_shapes, open_app, sign_in, signed_in_caption,
                             wait_for_map)

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]


def _free_block(n: int) -> int:
    """A port p with p … p + n all free on 127.0.0.1."""
    for _ in range(200):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            base = s.getsockname()[1]
        if base + n > 65000:
            continue
        try:
            socks = []
            for p in range(base, base + n + 1):
                s = socket.socket()
                s.bind(("127.0.0.1", p))
                socks.append(s)
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no free block of ports")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, browser):
    if not (shutil.which("nginx") or Path("/usr/sbin/nginx").exists()):
        if os.environ.get("POVDASH_REQUIRE_BROWSER") == "1":
            pytest.fail("nginx is not installed (.ci/test.sh installs it as root)")
        pytest.skip("nginx is not installed")
    from auth_helpers import make_user

    # the run folder holds the cluster's own PostgreSQL, which runs as the postgres user (as root):
    # a folder it can reach, not pytest's private ones
    run = Path(tempfile.mkdtemp(prefix="povdash-cluster-"))
    os.chmod(run, 0o755)
    data = tmp_path_factory.mktemp("cluster-data")
    port = _free_block(2)
    env = dict(os.environ, POVDASH_CLUSTER_DIR=str(run), POVDASH_CLUSTER_PORT=str(port), POVDASH_DATA_DIR=str(data))
    env.pop("POVDASH_DATABASE_URL", None)
    out = subprocess.run(["bash", ".ci/cluster.sh", "start", "2"], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    url = (run / "database_url").read_text().strip()
    try:
        assert url.startswith("postgresql+psycopg://povdash@"), url  # the servers share PostgreSQL, not a file
        os.environ["POVDASH_DATABASE_URL"] = url
        try:  # sign-in on: the servers share the users and their sign-ins through the store
            make_user(data, "editor")
        finally:
            os.environ.pop("POVDASH_DATABASE_URL", None)
            from povdata.db import dispose_engines
            dispose_engines(url)
        assert not (data / "povdash.sqlite").exists()
        for p in (port + 1, port + 2):  # as servers that have served before (upstream's first-visit quirk, README)
            context = browser.new_context()
            open_app(context.new_page(), f"http://127.0.0.1:{p}/")
            context.close()
        yield {"url": f"http://127.0.0.1:{port}", "run": run, "ports": (port + 1, port + 2)}
    finally:
        subprocess.run(["bash", ".ci/cluster.sh", "stop"], cwd=REPO, env=env, capture_output=True, timeout=60)
        for p in (port, port + 1, port + 2):  # stopped means nothing answers any more
            with socket.socket() as s:
                assert s.connect_ex(("127.0.0.1", p)) != 0, f"port {p} still answers after stop"
        assert not (run / "pg" / "data" / "postmaster.pid").exists()  # the database stopped too
        shutil.rmtree(run, ignore_errors=True)


def _upstreams(run: Path, node: str) -> set[str]:
    log = (run / "nginx-access.log").read_text(errors="replace")
    return set(re.findall(rf"node={re.escape(node)} upstream=(\S+)", log))


def test_the_proxy_keeps_a_browser_on_one_server_and_spreads_browsers(cluster):
    nodes = {}
    for i in range(12):  # twelve browsers, each with the cookie the proxy gave it
        with urllib.request.urlopen(cluster["url"] + "/_stcore/health", timeout=10) as r:
            (cookie,) = [c for c in r.headers.get_all("Set-Cookie") or [] if c.startswith("povdash_node=")]
            assert r.status == 200 and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        node = re.match(r"povdash_node=([^;]+)", cookie).group(1)
        for _ in range(3):
            req = urllib.request.Request(cluster["url"] + "/_stcore/health", headers={"Cookie": f"povdash_node={node}"})
            with urllib.request.urlopen(req, timeout=10) as r:
                assert r.status == 200
                assert not [c for c in r.headers.get_all("Set-Cookie") or [] if c.startswith("povdash_node=")]
        nodes[node] = _upstreams(cluster["run"], node)
    assert all(len(u) == 1 for u in nodes.values()), nodes  # each browser: one server, every time
    assert len(set().union(*nodes.values())) == 2, nodes  # and both servers serve someone


def test_a_signed_in_browser_gets_the_map_through_the_proxy_and_survives_its_server_dying(cluster, browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    try:
        open_app(page, cluster["url"] + "/")
        sign_in(page, ROLE_USERS["editor"], PASSWORD)
        open_app(page, cluster["url"] + "/ban-do")
        wait_for_map(page)
        before = map_shapes(page).count()
        assert before > 0
        node = next(c["value"] for c in context.cookies() if c["name"] == "povdash_node")
        (upstream,) = _upstreams(cluster["run"], node)
        victim = cluster["ports"].index(int(upstream.rsplit(":", 1)[1])) + 1
        pid = int((cluster["run"] / f"app-{victim}.pid").read_text())
        os.killpg(pid, signal.SIGKILL)
        time.sleep(1)
        open_app(page, cluster["url"] + "/ban-do")  # the same browser, the same cookies
        wait_for_map(page)
        assert map_shapes(page).count() == before
        assert ROLE_USERS["editor"] in signed_in_caption(page).inner_text()  # still signed in, on the other server
        keep_screenshot(page, "cluster_after_failover")
        assert _upstreams(cluster["run"], node) - {upstream}, "the reload did not move to the other server"
    finally:
        context.close()
