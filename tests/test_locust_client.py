"""The end of a Locust load run (``benchmarks/locust_load.py``, scale-out issue point 5).

The 1-server comparison hung at its end: a user's websocket close read the server's close frame while
the user's reader greenlet held the client's read lock, and an overloaded server kept sending.  These
tests run the client in a child process (the script patches the process with gevent) against a server
that keeps streaming and never answers a close frame, and check that closing and stopping are bounded.

The server here is a raw socket on purpose: a websocket library answers the close handshake itself, and
the point is a peer that does not.
"""
from __future__ import annotations

import base64
import hashlib
import importlib.util
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

# found, not imported: importing locust patches this process with gevent (the child does it, not pytest)
if importlib.util.find_spec("locust") is None or importlib.util.find_spec("websocket") is None:
    pytest.skip("locust and websocket-client (the dev lock) are not installed", allow_module_level=True)

ROOT = Path(__file__).resolve().parents[1]
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"  # RFC 6455 §1.3


class StreamingPeer:
    """Accepts websocket connections, then sends an empty binary frame every 10 ms and reads nothing."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        self.sock.settimeout(0.5)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            except OSError:  # the fixture closed the socket
                return
            threading.Thread(target=self._stream, args=(conn,), daemon=True).start()

    def _stream(self, conn: socket.socket) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                       if line.lower().startswith(b"sec-websocket-key:"))
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                         b"Sec-WebSocket-Protocol: streamlit\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n")
            self.connections += 1
            try:
                while not self.stop.is_set():
                    conn.sendall(b"\x82\x00")  # FIN + binary, no payload: an empty ForwardMsg
                    time.sleep(0.01)
            except OSError:
                pass  # the client shut its socket


@pytest.fixture()
def peer():
    p = StreamingPeer()
    yield p
    p.stop.set()
    p.sock.close()


CLIENT = r"""
import json, random, sys, time
sys.path.insert(0, sys.argv[1] + "/benchmarks")
import gevent
import locust_load as L
from locust.exception import StopUser

port = int(sys.argv[2])
stats = L.Counted(t0=time.perf_counter())
stats.reruns = []
out = {}

tab = L.SyncTab(0, port, stats, random.Random(0), (0.0, 0.0))
tab.connect()
gevent.sleep(0.5)                       # the reader is busy with the stream
out["reader_alive"] = not tab.reader.dead
t = time.perf_counter()
tab.sync_close()
out["close_s"] = time.perf_counter() - t
out["closed"] = tab.ws is None and tab.reader is None

# a user in its think time when the load ends stops at once, not at the end of the pause
L.STOPPING.set()
t = time.perf_counter()
try:
    L.think(random.Random(0), (60.0, 60.0))
    out["think"] = "returned"
except StopUser:
    out["think"] = "stopped"
out["think_s"] = time.perf_counter() - t
out["errors"] = stats.errors
print(json.dumps(out))
"""


def test_closing_a_user_does_not_wait_on_a_server_that_keeps_sending(peer):
    done = subprocess.run([sys.executable, "-c", CLIENT, str(ROOT), str(peer.port)], capture_output=True,
                          text=True, timeout=30, cwd=ROOT)  # the old close never returned
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert peer.connections == 1
    assert out["reader_alive"], "the reader should be reading the stream when the close starts"
    assert out["closed"]
    # websocket-client's close() waits up to its timeout (5 s here before) for a close frame never sent
    assert out["close_s"] < 3.0, out
    assert out["think"] == "stopped" and out["think_s"] < 1.0, out
    # a close the user asked for is not an error of the run
    assert out["errors"] == [], out
