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
* **Sign-in cookie** (:mod:`povdata.sessions`): ``POST /_povdash/signed-in`` redeems the
  one-time ticket the sign-in form issued, sets the ``HttpOnly; SameSite=Strict`` cookie and
  sends the browser back where it was; only a same-origin form may post there.
* **Export files for their owner only**: with passwords, a ``/media/…`` file is served only
  to a browser whose sign-in cookie is valid and runs a Streamlit session that holds the file;
  anyone else (a copied link, ``curl``, another user) gets 404.
* **Uploads into one's own session only**: with passwords, ``…/_stcore/upload_file/<session>/…``
  answers 403 unless the browser's sign-in runs that session (the id appears in upload URLs).
* **No cache clearing from a browser**: the websocket's ``clear_cache`` message (which anyone,
  even not signed in, could send to empty every user's caches) is ignored and logged.
"""
from __future__ import annotations

import logging
import threading
from collections import OrderedDict

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


def base_path() -> str:
    """The app's URL prefix (``server.baseUrlPath``), as ``/`` or ``/prefix/``."""
    from streamlit import config

    base = str(config.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/" if base else "/"


SIGNED_IN = "_povdash/signed-in"
MAX_FORM_BYTES = 8192


def safe_next(raw: str | None, base: str) -> str:
    """Where to send the browser after signing in: a path of this app, never another site."""
    raw = str(raw or "")
    if (not raw.startswith(base) or raw.startswith("//") or "\\" in raw or len(raw) > 4000
            or any(ord(c) < 32 or ord(c) == 127 for c in raw)):
        return base
    return raw


def _same_origin(headers) -> bool:
    """A form of this app's own pages (Fetch Metadata ``Sec-Fetch-Site: same-origin``, or an
    ``Origin`` naming this host; under ``Referrer-Policy: no-referrer`` browsers send
    ``Origin: null`` with a form, so Fetch Metadata is what modern browsers tell)."""
    from urllib.parse import urlsplit

    site = headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    origin = headers.get("origin")
    if not origin or origin == "null":  # browsers send Origin with every POST; none means not a browser's form
        return False
    return urlsplit(origin).netloc.lower() == str(headers.get("host", "")).lower()


async def signed_in(request):
    """The sign-in form's hand-over: the ticket becomes the sign-in cookie."""
    from urllib.parse import parse_qs

    from starlette.concurrency import run_in_threadpool
    from starlette.responses import PlainTextResponse, RedirectResponse

    from povdata.sessions import COOKIE_NAME, redeem_ticket
    from povdata.store import open_store

    base = base_path()
    if not _same_origin(request.headers):
        _LOG.warning("sign-in hand-over refused: not a same-origin form (origin %r)", request.headers.get("origin"))
        return PlainTextResponse("Forbidden", status_code=403)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            return PlainTextResponse("Too large", status_code=413)
    form = parse_qs(body.decode("utf-8", "replace"))
    ticket = (form.get("ticket") or [""])[0]
    target = safe_next((form.get("next") or [""])[0], base)
    try:
        result = await run_in_threadpool(lambda: redeem_ticket(open_store(), ticket)) if ticket else None
    except Exception:  # noqa: BLE001  a broken store: no cookie; the page shows the store's error
        _LOG.exception("sign-in hand-over failed")
        result = None
    response = RedirectResponse(target, status_code=303)
    response.headers["cache-control"] = "no-store"
    if result is not None:
        token, lifetime = result
        https = request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"
        response.set_cookie(COOKIE_NAME, token, max_age=int(lifetime), path=base, httponly=True,
                            samesite="strict", secure=https)
    return response


def routes() -> list:
    from starlette.routing import Route
    return [Route(base_path() + SIGNED_IN, signed_in, methods=["POST"])]


def media_owned(path: str, cookie_header: str) -> bool:
    """May the browser sending ``cookie_header`` have the ``/media/…`` file at ``path``?
    Always in the demo (no sign-in); with passwords only if its sign-in is valid and one of
    its Streamlit sessions in this process holds the file; with an identity provider, if
    Streamlit's own sign-in cookie is present (its sessions are not mapped)."""
    from streamlit.runtime import get_instance

    from povdata.sessions import sessions_of

    token = _sign_in_of(cookie_header)
    if isinstance(token, bool):
        return token
    owners = sessions_of(token)
    if not owners or not _valid(token):
        return False
    file_id = path.rsplit("/", 1)[-1].split(".", 1)[0]
    with _FILES_LOCK:
        held = set(_FILE_SESSIONS.get(file_id, ()))
    mgr = get_instance().media_file_mgr
    with mgr._lock:  # Streamlit's own table of which session shows which file now
        held |= {sid for sid, by_coord in mgr._files_by_session_and_coord.items() if file_id in by_coord.values()}
    return bool(held & owners)


#: file id -> the Streamlit sessions that added it (Streamlit forgets a session's files at the
#: start of each of its runs, while the browser may still be fetching one: this record does not)
MAX_FILES = 50_000
_FILE_SESSIONS: "OrderedDict[str, set[str]]" = OrderedDict()
_FILES_LOCK = threading.Lock()


def _record_file(url: str) -> None:
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is None or not isinstance(url, str):
        return
    file_id = url.rsplit("/", 1)[-1].split(".", 1)[0]
    with _FILES_LOCK:
        _FILE_SESSIONS.setdefault(file_id, set()).add(ctx.session_id)
        _FILE_SESSIONS.move_to_end(file_id)
        while len(_FILE_SESSIONS) > MAX_FILES:
            _FILE_SESSIONS.popitem(last=False)


def _cookie_token(cookie_header: str):
    """(``SimpleCookie`` of the header, the sign-in token or "") — ``None`` for a bad header."""
    from http.cookies import CookieError, SimpleCookie

    from povdata.sessions import COOKIE_NAME

    cookies = SimpleCookie()
    try:
        cookies.load(cookie_header or "")
    except CookieError:
        return None
    return cookies, (cookies[COOKIE_NAME].value if COOKIE_NAME in cookies else "")


def _sign_in_of(cookie_header: str):
    """``True`` when no sign-in applies (the demo), ``False`` when the request cannot be
    allowed (broken configuration, bad cookie header, no Streamlit sign-in with an identity
    provider), else the password sign-in's token of the request (may be "")."""
    from povdata.auth import auth_mode

    try:
        mode = auth_mode()
    except Exception:  # noqa: BLE001  fail closed
        return False
    if mode == "none":
        return True
    parsed = _cookie_token(cookie_header)
    if parsed is None:
        return False
    cookies, token = parsed
    if mode == "oidc":
        return "_streamlit_user" in cookies
    return token


def _valid(token: str) -> bool:
    from povdata.sessions import session_user
    from povdata.store import open_store

    try:
        return session_user(open_store(), token) is not None
    except Exception:  # noqa: BLE001  fail closed
        return False


def upload_allowed(path: str, cookie_header: str) -> bool:
    """May the browser sending ``cookie_header`` put a file into the Streamlit session that the
    upload URL ``…/_stcore/upload_file/<session id>/<file id>`` names?  With passwords only if
    its sign-in is valid and that session runs for it (a session id learnt by someone else is
    of no use to them)."""
    from povdata.sessions import sessions_of

    token = _sign_in_of(cookie_header)
    if isinstance(token, bool):
        return token
    session_id = path.split("/_stcore/upload_file/", 1)[-1].split("/", 1)[0]
    return bool(token) and session_id in sessions_of(token) and _valid(token)


class OwnDownloads:
    """ASGI middleware: ``/media/…`` answers 404 unless :func:`media_owned`; an upload into a
    session answers 403 unless :func:`upload_allowed`."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope.get("type") == "http" and scope.get("path", "").startswith(base_path() + "media/"):
            from starlette.concurrency import run_in_threadpool
            from starlette.datastructures import Headers
            from starlette.responses import PlainTextResponse

            cookie = Headers(scope=scope).get("cookie", "")
            if not await run_in_threadpool(media_owned, scope["path"], cookie):
                return await PlainTextResponse("File not found", status_code=404)(scope, receive, send)
        elif (scope.get("type") == "http" and scope.get("method") != "OPTIONS"
              and scope.get("path", "").startswith(base_path() + "_stcore/upload_file/")):
            from starlette.concurrency import run_in_threadpool
            from starlette.datastructures import Headers
            from starlette.responses import PlainTextResponse

            cookie = Headers(scope=scope).get("cookie", "")
            if not await run_in_threadpool(upload_allowed, scope["path"], cookie):
                _LOG.warning("upload into session refused: not that session's sign-in")
                return await PlainTextResponse("Forbidden", status_code=403)(scope, receive, send)
        return await self.app(scope, receive, send)


def middleware() -> list:
    from starlette.middleware import Middleware
    return [Middleware(SecurityHeaders), Middleware(OwnDownloads)]


def harden() -> None:
    """Process-wide: no address lookups towards the outside, no cache clearing by message,
    each media file recorded with the sessions that made it.  Idempotent."""
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

    from streamlit.runtime.media_file_manager import MediaFileManager

    if not getattr(MediaFileManager, "_povdash_owned", False):
        _add = MediaFileManager.add

        def add(self, *args, **kwargs):
            url = _add(self, *args, **kwargs)
            _record_file(url)
            return url
        MediaFileManager.add = add
        MediaFileManager._povdash_owned = True

    if not getattr(AppSession, "_povdash_hardened", False):
        def _refuse_clear_cache(self) -> None:
            _LOG.warning("clear_cache message from a browser ignored (session %s)", getattr(self, "id", "?"))
        AppSession._handle_clear_cache_request = _refuse_clear_cache
        AppSession._povdash_hardened = True
        from povdata.workers import warm
        warm()  # the upload parsers' fork server, started before the first upload
