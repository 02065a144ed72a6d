"""What the web server itself does for safety (not a page: the leading underscore keeps it out
of Streamlit's page list).  Installed by ``dashboard.py`` when the server imports it as an ASGI
app (``streamlit run dashboard.py`` finds ``app = st.App(…)`` there):

* **Security headers** on every HTTP answer: ``Content-Security-Policy`` with
  ``frame-ancestors 'none'`` (no other site may frame the sign-in form), ``img-src 'self' data:
  blob:`` (no outside image, even if some markup slipped through), ``object-src 'none'``,
  ``base-uri 'self'``; ``X-Frame-Options: DENY`` for older browsers; ``X-Content-Type-Options:
  nosniff``; ``Referrer-Policy: no-referrer``.
* **No outside connection**: Streamlit looks up the machine's addresses (a UDP socket towards
  8.8.8.8, and https://checkip.amazonaws.com) to print "Network URL" and to check a browser's
  Origin; both lookups are replaced by "unknown", so the server never reaches outside.
* **No cache clearing from a browser**: the websocket's ``clear_cache`` message (which anyone,
  even not signed in, could send to empty every user's caches) is ignored and logged.
"""
from __future__ import annotations

import logging

_LOG = logging.getLogger("povdash")

CSP = ("frame-ancestors 'none'; img-src 'self' data: blob:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'")
HEADERS = [(b"content-security-policy", CSP.encode()), (b"x-frame-options", b"DENY"),
           (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]


class SecurityHeaders:
    """ASGI middleware: :data:`HEADERS` on every HTTP response (websockets untouched)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message.get("type") == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *[(k, v) for k, v in HEADERS if k not in names]]
            await send(message)

        return await self.app(scope, receive, send_with_headers)


def middleware() -> list:
    from starlette.middleware import Middleware
    return [Middleware(SecurityHeaders)]


def harden() -> None:
    """Process-wide: no address lookups towards the outside, no cache clearing by message.
    Idempotent."""
    from streamlit import net_util
    from streamlit.runtime.app_session import AppSession

    net_util.get_external_ip = lambda *a, **k: None
    net_util.get_internal_ip = lambda *a, **k: None
    try:  # modules that imported the functions by name
        from streamlit.web.server import server_util
        server_util.net_util.get_external_ip = net_util.get_external_ip
        server_util.net_util.get_internal_ip = net_util.get_internal_ip
    except ImportError:
        pass

    if not getattr(AppSession, "_povdash_hardened", False):
        def _refuse_clear_cache(self) -> None:
            _LOG.warning("clear_cache message from a browser ignored (session %s)", getattr(self, "id", "?"))
        AppSession._handle_clear_cache_request = _refuse_clear_cache
        AppSession._povdash_hardened = True
