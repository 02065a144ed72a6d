"""The web server itself (security review, attacks 7, 8 and 11): security headers on every
answer, no outside connection from the server at start or during a session (watched with
strace), and the websocket's ``clear_cache`` message ignored."""
from __future__ import annotations

import base64
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(base: str, proc, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server stopped: {proc.returncode}")
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().decode().strip() == "ok":
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError("no answer from the server")


def _websocket_handshake(port: int, origin: str) -> bytes:
    """Open the app's websocket with a foreign Origin (what makes Streamlit check origins)."""
    key = base64.b64encode(os.urandom(16)).decode()
    req = (f"GET /_stcore/stream HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nOrigin: {origin}\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(req.encode())
        return s.recv(200)


@pytest.fixture(scope="module")
def traced_server(tmp_path_factory):
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (.ci/test.sh installs it as root)")
    d = tmp_path_factory.mktemp("traced")
    trace = d / "trace.txt"
    port = _free_port()
    env = dict(os.environ, POVDASH_DATA_DIR=str(d / "var"))
    proc = subprocess.Popen(["strace", "-f", "-qq", "-e", "trace=bind,connect,sendto,sendmsg", "-o", str(trace),
                             # the server's own defaults (no --server.address): how an installation starts it
                             sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                             "--server.headless", "true"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait(base, proc)
        yield base, port, trace
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_security_headers_on_every_answer(traced_server):
    base, _, _ = traced_server
    for path in ("/", "/ban-do", "/_stcore/health", "/app/static/fonts/NotoSans-Regular.ttf", "/nothing-here"):
        req = urllib.request.Request(base + path)
        try:
            r = urllib.request.urlopen(req, timeout=10)
        except urllib.error.HTTPError as exc:  # a 404 carries them too
            r = exc
        csp = r.headers.get("Content-Security-Policy", "")
        assert "frame-ancestors 'none'" in csp and "img-src 'self' data:" in csp, (path, csp)
        assert r.headers.get("X-Frame-Options") == "DENY", path
        assert r.headers.get("X-Content-Type-Options") == "nosniff", path


def test_no_connection_leaves_the_machine(traced_server):
    base, port, trace = traced_server
    urllib.request.urlopen(base + "/", timeout=10).read()
    _websocket_handshake(port, "http://evil.example")  # a foreign origin: Streamlit checks who it is
    _websocket_handshake(port, f"http://127.0.0.1:{port}")
    time.sleep(2)
    text = trace.read_text(errors="replace")
    inet = re.findall(r"connect\(\d+, \{sa_family=AF_INET6?, [^}]*\}", text)
    outside = [c for c in inet if not re.search(r'inet_addr\("127\.|inet_pton\(AF_INET6, "::1"|"::ffff:127\.', c)]
    assert re.search(rf"bind\(\d+, \{{sa_family=AF_INET6?, sin6?_port=htons\({port}\)", text), "the trace is not working"
    assert outside == [], outside  # before: a UDP 'connection' to 8.8.8.8 at every start


def test_the_clear_cache_message_is_ignored():
    """The handler a websocket 'clear_cache' message reaches empties nothing once the server
    is hardened (before: every st.cache_* of every user)."""
    import streamlit as st
    from streamlit.runtime.app_session import AppSession

    from pages import _server

    calls = []

    @st.cache_data
    def cached(x):
        calls.append(x)
        return x

    cached(1)
    _server.harden()
    AppSession._handle_clear_cache_request(object.__new__(AppSession))
    cached(1)
    assert calls == [1]  # still cached


def test_a_clear_cache_message_on_the_websocket_is_refused(tmp_path):
    """Through the real websocket, as the attacker sent it (not signed in, no page loaded)."""
    from websockets.sync.client import connect
    from streamlit.proto.BackMsg_pb2 import BackMsg

    port = _free_port()
    log = tmp_path / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard.py", "--server.port", str(port),
                                 "--server.address", "127.0.0.1", "--server.headless", "true"],
                                cwd=REPO, env=dict(os.environ, POVDASH_DATA_DIR=str(tmp_path / "var")), stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait(f"http://127.0.0.1:{port}", proc)
        msg = BackMsg()
        msg.clear_cache = True
        with connect(f"ws://127.0.0.1:{port}/_stcore/stream", origin=f"http://127.0.0.1:{port}",
                     open_timeout=20) as ws:
            ws.send(msg.SerializeToString())
            time.sleep(1.5)
        deadline = time.monotonic() + 20
        while "clear_cache message from a browser ignored" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.3)
        assert "clear_cache message from a browser ignored" in log.read_text(), log.read_text()[-2000:]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_every_page_cache_is_bounded():
    """Issue 16: memory must not grow with provinces and versions: every ``st.cache_data`` /
    ``st.cache_resource`` of the pages keeps at most ``max_entries`` results."""
    import ast

    root = Path(__file__).resolve().parents[1]
    unbounded = []
    for path in sorted((root / "pages").glob("*.py")) + [root / "dashboard.py"]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                for dec in node.decorator_list:
                    name = ast.unparse(dec.func if isinstance(dec, ast.Call) else dec)
                    if name in ("st.cache_data", "st.cache_resource") and not (
                            isinstance(dec, ast.Call) and any(k.arg == "max_entries" for k in dec.keywords)):
                        unbounded.append(f"{path.name}:{node.lineno} {node.name}")
    assert not unbounded, unbounded
