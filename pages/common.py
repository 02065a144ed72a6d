"""UI helpers shared by the pages: session defaults, language, cached data, banners.

Caching lives here, around the pure functions of ``povdata`` and ``geo``: a widget
change never re-reads a file or re-simplifies geometry.
"""
from __future__ import annotations

import re
from html import escape
from pathlib import Path

import geopandas as gpd
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from geo.read import read_layers
from povdata.dataset import Dataset, demo_dir, level_table, load_demo
from povdata.i18n import LANGS, t
from povdata.progress import progress_table
from povdata.targets import TargetsConfig, default_targets

DEFAULT_PROVINCE = "20"


def init_state() -> None:
    """Session defaults, set once; the URL's ``lang``, ``province`` and ``former`` win on
    first load (a shared link opens the province it names)."""
    from povdata.provinces import resolve_view

    if "lang" not in st.session_state:
        q = st.query_params.get("lang", "vi")
        st.session_state["lang"] = q if q in LANGS else "vi"
    if "province" not in st.session_state:
        v = resolve_view(st.query_params.get("province", DEFAULT_PROVINCE), st.query_params.get("former"),
                         DEFAULT_PROVINCE)
        st.session_state.update(province=v.code, former=v.former)
    user = current_user()
    if user is not None and user.province_code:  # a user tied to one province sees only it
        from povdata.auth import in_force
        scope = in_force(user.province_code)
        if st.session_state["province"] != scope:
            v = resolve_view(user.province_code)
            st.session_state.update(province=v.code, former=v.former)


# ---- fail closed: a broken store never opens the dashboard ------------------------------
_HEALTH: dict[tuple, str | None] = {}


def store_problem() -> str | None:
    """Why the store cannot be used (Vietnamese), or None.  Checked on every run, cheaply:
    the mode (a recorded sign-in makes a missing store an error), the file's header, and a
    quick integrity check once per change of the file (size, mtime)."""
    import sqlite3
    from contextlib import closing

    from povdata.auth import AuthError
    from povdata.store import StoreError, check_store_file, has_store, open_store, store_path

    from povdata.db import DB_ERRORS, database_url, q

    try:
        mode = auth_mode()
        if database_url():  # PostgreSQL: reachable, migrated, its tables readable (every run: a round trip)
            with closing(open_store().connect()) as conn:
                q(conn, "SELECT COUNT(*) FROM versions").scalar_one()
            return None
        path = store_path()
        if not has_store():
            if mode == "none":
                return None  # a fresh install: the demo
            open_store()  # raises: sign-in is on and the store is gone
        st_ = path.stat()
        key = (str(path), st_.st_size, st_.st_mtime_ns)
        if key not in _HEALTH:
            check_store_file(path)
            with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)) as conn:
                row = conn.execute("PRAGMA quick_check(1)").fetchone()
                conn.execute("SELECT COUNT(*) FROM versions").fetchone()
            _HEALTH.clear()
            _HEALTH[key] = None if row and row[0] == "ok" else t("app.integrity_failed", lang(),
                                                                 detail=row[0] if row else "?")
        problem = _HEALTH[key]
        return None if problem is None else tr("app.store_broken", message=f"{path}: {problem}")
    except (StoreError, AuthError) as exc:
        return tr("app.store_broken", message=str(exc))
    except (*DB_ERRORS, OSError) as exc:
        return tr("app.store_broken", message=f"{getattr(exc, 'orig', None) or exc}")


def fail_closed(problem: str, paths: list[str]) -> None:
    """Every address shows the store's error (and nothing else: no menu, no guest view); the
    reason is logged for the administrator."""
    import logging

    logging.getLogger("povdash").error("kho dữ liệu không dùng được: %s", problem)

    def error_page() -> None:  # the details (paths, SQLite's words) go to the log, not to visitors
        st.title(tr("app.title"))
        st.error(tr("app.store_broken_public"), icon="🛑")
        st.caption(tr("app.store_broken_help"))

    nav = st.navigation([st.Page(error_page, title=tr("app.title"), url_path=p, default=i == 0)
                         for i, p in enumerate(paths)], position="hidden")
    nav.run()
    st.stop()


# ---- who is using the app ------------------------------------------------------
def auth_mode() -> str:
    """``none`` (demo: read-only, no sign-in), ``password`` or ``oidc``; see :mod:`povdata.auth`."""
    import os

    from povdata.store import store_path
    return _auth_mode(str(store_path()), os.environ.get("POVDASH_AUTH", ""))


AUTH_TTL_SECONDS = 3.0
_auth_memo: dict[tuple, tuple[float, object]] = {}


def _memo(key: tuple, compute):
    """``compute()`` remembered for :data:`AUTH_TTL_SECONDS` (a page run asks who the user is
    a dozen times: a dict lookup, not a store query each time; a changed role or a disabled
    account still takes effect within seconds)."""
    import time

    now = time.monotonic()
    hit = _auth_memo.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    value = compute()
    _auth_memo[key] = (now + AUTH_TTL_SECONDS, value)
    return value


def clear_auth_cache() -> None:
    _auth_memo.clear()


def _auth_mode(store_file: str, env: str) -> str:
    from povdata.auth import auth_mode as mode
    return _memo(("mode", store_file, env), lambda: mode(Path(store_file).parent))


def _identity(store_file: str, username: str):
    """The stored user (role, scope, disabled; a frozen dataclass, safe to share)."""
    from povdata.auth import identity_user
    from povdata.store import Store
    return _memo(("user", store_file, username), lambda: identity_user(Store.from_key(store_file), username))


def _browser_cookies() -> dict[str, str] | None:
    """The cookies of the browser connection this run serves (from its websocket handshake),
    or None when there is no server runtime (AppTest: no browser, no cookie)."""
    from streamlit import runtime

    if not runtime.exists() or type(runtime.get_instance()).__name__ != "Runtime":
        return None
    try:
        return dict(st.context.cookies)
    except Exception:  # noqa: BLE001  connection gone mid-run: no cookie, so nobody signed in
        return {}


def session_token() -> str | None:
    """This browser's sign-in token (the HttpOnly cookie of :mod:`povdata.sessions`)."""
    from povdata.sessions import COOKIE_NAME

    cookies = _browser_cookies()
    return (cookies or {}).get(COOKIE_NAME) or None


def _session_identity(store_file: str, token: str):
    from povdata.sessions import session_user, token_hash
    from povdata.store import Store
    return _memo(("token", store_file, token_hash(token)), lambda: session_user(Store.from_key(store_file), token))


def current_user():
    """The signed-in user (checked against the store on every run, so a disabled account or
    a changed role takes effect at the next click), the demo's read-only guest in mode
    ``none``, or None (not signed in).

    With passwords, the identity is the browser's sign-in cookie (:mod:`povdata.sessions`),
    never the Streamlit session's state: a reload or a new tab stays signed in, and a resumed
    or stolen session id without the cookie is nobody.  Only under AppTest (no browser) does
    the session state hold it."""
    from povdata.auth import DEMO_VIEWER
    from povdata.store import open_store

    mode = auth_mode()
    if mode == "none":
        return DEMO_VIEWER
    if mode == "oidc":
        if not getattr(st.user, "is_logged_in", False):
            return None
        return _identity(open_store().key, st.user.get("email") or "")
    store_file = open_store().key
    if _browser_cookies() is not None:
        token = session_token()
        user = _session_identity(store_file, token) if token else None
        if user is not None:
            _bind_downloads(token)
        return user
    user = st.session_state.get("auth_user")
    if user is None:
        return None
    fresh = _identity(store_file, user.username)
    if fresh is None:  # disabled or removed since sign-in
        st.session_state.pop("auth_user", None)
        return None
    from dataclasses import replace
    return replace(fresh, source="password")


_HAND_OVER_HTML = """<form id="povdash-signed-in" method="post" action="{action}">
<input type="hidden" name="ticket" value="{ticket}"><input type="hidden" name="next" value="">
<p>{message}</p><button type="submit">{button}</button></form>
<script>(() => { const f = document.getElementById("povdash-signed-in");
f.elements.next.value = location.pathname + location.search; f.submit(); })();</script>"""


def html_from(template: str, **values: object) -> str:
    """Raw HTML from one of our constant templates, every value HTML-escaped (the only way
    anything but a constant reaches ``st.html``; see ``tests/test_hardening.py``).  The
    template's own braces must be single: only ``{name}`` fields are filled."""
    import re

    def fill(m: re.Match) -> str:
        return escape(str(values[m.group(1)]), quote=True)
    return re.sub(r"\{([a-z_]+)\}", fill, template)


def hand_over_sign_in(user) -> bool:
    """After a correct password, in a browser: a one-time ticket, posted at once (by the page's
    script, or by the button if scripts are off) to the server's hand-over address, which sets
    the sign-in cookie and sends the browser back to this page.  False without a browser."""
    if _browser_cookies() is None:
        return False
    from pages import _server
    from povdata.sessions import issue_ticket
    from povdata.store import open_store

    ticket = issue_ticket(open_store(), user)
    st.html(html_from(_HAND_OVER_HTML, action=_server.base_path() + _server.SIGNED_IN, ticket=ticket,
                      message=tr("auth.handing_over"), button=tr("auth.continue")), unsafe_allow_javascript=True)
    return True


def _bind_downloads(token: str) -> None:
    """Record that this Streamlit session belongs to this sign-in, so the server hands its
    export files (``/media/…``) to that sign-in's browser only (:mod:`pages._server`)."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from povdata.sessions import bind_session
    ctx = get_script_run_ctx(suppress_warning=True)
    if ctx is not None:
        bind_session(ctx.session_id, token)


def can(permission: str) -> bool:
    from povdata.auth import can as _can
    return _can(current_user(), permission)


def require(permission: str) -> None:
    """Stop the page with a Vietnamese message unless the user may ``permission`` (the
    pages are also left out of the menu; this guards a typed URL)."""
    from povdata.auth import PermissionDenied, require as _require

    try:
        _require(current_user(), permission)
    except PermissionDenied as exc:
        st.error(tr("auth.denied", message=md_escape(exc)), icon="🔒")
        st.stop()


def user_box() -> None:
    """Sidebar: who is signed in (and a sign-out button), or that the demo is read-only."""
    from povdata.auth import ROLES

    mode, user = auth_mode(), current_user()
    if mode == "none":
        st.sidebar.caption(tr("auth.demo_mode"))
        return
    if user is None:
        return
    role = tr(f"auth.role_{user.role}") if user.role in ROLES else user.role
    scope = tr("auth.scope", province=user.province_code) if user.province_code else ""
    st.sidebar.caption(tr("auth.signed_in_as", name=md_escape(user.label), role=role) + scope)
    if mode == "oidc":
        st.sidebar.button(tr("auth.sign_out"), key="sign_out", on_click=lambda: (drop_downloads(), st.logout()))
    else:
        st.sidebar.button(tr("auth.sign_out"), key="sign_out", on_click=sign_out)


def sign_out() -> None:
    """Sign-out: the cookie's token revoked in the store (every tab of this browser is signed
    out at its next click), the session's export files deleted."""
    token = session_token()
    if token:
        from povdata.sessions import revoke, token_hash
        from povdata.store import open_store

        revoke(open_store(), token)
        for key in [k for k in _auth_memo if k[0] == "token" and k[2] == token_hash(token)]:
            _auth_memo.pop(key, None)
    st.session_state.pop("auth_user", None)
    drop_downloads()


def drop_downloads() -> None:
    """At sign-out: the session's export files (``/media/…`` links of the download buttons) are
    deleted at once, so a copied link no longer answers (Streamlit otherwise keeps them until
    some later script run)."""
    try:
        from streamlit.runtime import get_instance
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx, mgr = get_script_run_ctx(suppress_warning=True), get_instance().media_file_mgr
    except Exception:  # noqa: BLE001  no server runtime (AppTest): nothing was served
        return
    if ctx is None:
        return
    mgr.clear_session_refs(ctx.session_id)
    mgr.remove_orphaned_files()  # downloadable files are marked first …
    mgr.remove_orphaned_files()  # … and deleted on the second pass


def lang() -> str:
    return st.session_state.get("lang", "vi")


def say(x: object) -> str:
    """A message from the domain code (:class:`povdata.messages.Msg`, or an exception raised
    with one) in the UI language; any other text as it is."""
    from povdata.messages import say as _say

    return _say(x, lang())


def tr(key: str, **kwargs: object) -> str:
    return t(key, lang(), **kwargs)


def province() -> str:
    """Code of the province in force shown (its data's key in the store)."""
    return st.session_state.get("province", DEFAULT_PROVINCE)


def former() -> str | None:
    """The former province (before 1/7/2025) the view is narrowed to, or None."""
    return st.session_state.get("former")


def view():
    from povdata.provinces import ProvinceView
    return ProvinceView(province(), former())


def view_codes() -> list[str]:
    """Codes a published figure of the view may carry: the province in force and, for the
    years before the merger, its former provinces (or the one former province shown)."""
    from povdata.provinces import former_provinces
    return [former()] if former() else sorted({province(), *former_provinces(province())})


def top_code() -> str:
    """Unit code of the view's top unit (the province, or the former province shown)."""
    return former() or province()


def _set_view(code: str, former_code: str | None) -> None:
    st.session_state.update(province=code, former=former_code)
    st.session_state.pop("data_version", None)
    for k in ("unit", "year", "parent"):
        st.query_params.pop(k, None)


def province_picker() -> None:
    """Sidebar: the province (the 34 in force), and for a merged one which former province
    (before 1/7/2025) to show; kept in the URL (``province``, ``former``).  A user tied to
    one province gets only it."""
    from povdata.provinces import former_province_name, former_provinces, new_provinces

    table = new_provinces()
    user = current_user()
    codes = table["code"].tolist()
    if user is not None and user.province_code:
        from povdata.auth import in_force
        codes = [c for c in codes if c == in_force(user.province_code)]
    names = dict(zip(table["code"], table["short_name"]))
    if st.session_state.get("_prov_pick") != province():
        st.session_state["_prov_pick"] = province()
    st.sidebar.selectbox(tr("province.picker"), codes, key="_prov_pick",
                         format_func=lambda c: f"{names.get(c, c)} ({c})", disabled=len(codes) == 1,
                         help=tr("province.picker_help"),
                         on_change=lambda: _set_view(st.session_state["_prov_pick"], None))
    olds = former_provinces(province())
    if len(olds) > 1:
        options = [""] + olds
        if st.session_state.get("_former_pick") != (former() or ""):
            st.session_state["_former_pick"] = former() or ""
        st.sidebar.selectbox(
            tr("province.former_picker"), options, key="_former_pick",
            format_func=lambda c: tr("province.former_all") if not c else f"{former_province_name(c)} ({c})",
            help=tr("province.former_help"),
            on_change=lambda: _set_view(province(), st.session_state["_former_pick"] or None))
    st.query_params["province"] = province()
    if former():
        st.query_params["former"] = former()
    elif "former" in st.query_params:
        del st.query_params["former"]


def version_id(province_code: str | None = None) -> int | None:
    """The store version shown: the one picked in the sidebar, else the latest; None (the
    embedded demo) when there is no store or it has no version of the province."""
    from povdata.store import has_store, open_store, versions

    from povdata.auth import check_scope

    code = province_code or province()
    check_scope(current_user(), code)  # the demo too: a scoped user sees only their province
    if not has_store():
        return None
    ids = [v.id for v in versions(open_store(), code, current_user())]
    chosen = st.session_state.get("data_version")
    return chosen if chosen in ids else (ids[0] if ids else None)


def version_key(province_code: str | None = None) -> tuple[str, int] | None:
    """(store file, version id) of the version shown — the cache key of its data — or None."""
    from povdata.store import store_key

    v = version_id(province_code)
    return None if v is None else (store_key(), v)


#: what a process keeps per cache: every province of a national roll-out (34) at two versions, and
#: the demos; older entries go first, so memory stays bounded however many versions are opened
CACHE_VERSIONS = 80


@st.cache_resource(show_spinner=False, max_entries=CACHE_VERSIONS)
def _dataset_v(province_code: str, version: tuple[str, int] | None) -> Dataset:
    if version is None:  # the embedded demo, or nothing yet
        from povdata.dataset import empty_dataset, has_demo
        return load_demo(province_code) if has_demo(province_code) else empty_dataset(province_code)
    from povdata.store import Store, load_version
    return load_version(Store.from_key(version[0]), province_code, version[1])


def _dataset(province_code: str) -> Dataset:
    return _dataset_v(province_code, version_key(province_code))


def dataset() -> Dataset:
    return _dataset(province())


def levels(province_code: str) -> pd.DataFrame:
    return _levels(province_code, version_key(province_code), former())


@st.cache_data(show_spinner=False, max_entries=CACHE_VERSIONS)
def _levels(province_code: str, version: tuple[str, int] | None, former_code: str | None = None) -> pd.DataFrame:
    return level_table(_dataset_v(province_code, version), former_code)


def require_data(levels_: pd.DataFrame, ds: Dataset | None = None) -> None:
    """Stop the page with a clear message when the province has no data yet."""
    if levels_.empty or levels_["poverty_rate"].notna().sum() == 0:
        st.title(view().name())
        st.info(tr("province.no_data", province=view().name()), icon="📭")
        st.stop()


def shared_scenarios() -> pd.DataFrame:
    """Scenarios editors shared for the province (empty without a store)."""
    from povdata.edits import shared_scenarios as _shared
    from povdata.store import has_store, open_store

    if not has_store():
        return pd.DataFrame(columns=["id", "name", "query", "at", "actor"])
    return _shared(open_store(), province(), current_user())


def targets_key(province_code: str | None = None) -> "int | tuple":
    """Id of the latest stored target change of the province (0: none) — part of the cache
    key of everything computed from the targets."""
    from contextlib import closing

    from povdata.store import has_store, open_store

    if not has_store():
        return 0
    codes = (province_code or province(), former() or "")  # a former province's own targets are keyed by it
    from povdata.db import q
    with closing(open_store().connect()) as conn:
        ids = tuple(int(q(conn, f"SELECT MAX(id) FROM {table} WHERE province_code IN (:a, :b)",
                          {"a": codes[0], "b": codes[1]}).scalar_one() or 0)
                    for table in ("target_changes", "target_rules", "decisions"))
    # any kind of change makes a new key; the store's path is part of it (ids restart in another store)
    return (open_store().key, *ids) if any(ids) else 0


@st.cache_resource(show_spinner=False, max_entries=2 * CACHE_VERSIONS)
def _targets(province_code: str, changes: "int | tuple" = 0, former_code: str | None = None) -> TargetsConfig:
    base = default_targets(province_code, former_code)
    if not changes:
        return base
    from povdata.edits import effective_targets
    from povdata.store import open_store
    return effective_targets(open_store(), base)


def base_targets() -> TargetsConfig:
    """The province's targets file as reviewed, without the editors' stored changes."""
    return _targets(province(), 0, former())


def targets() -> TargetsConfig:
    """The targets in force (the file plus the editors' stored changes); a file that fails
    validation stops the page with its message."""
    from povdata.targets import TargetsError

    try:
        return _targets(province(), targets_key(), former())
    except TargetsError as exc:
        st.error(tr("app.targets_error", message=md_escape(exc)))
        st.stop()


def landing(province_code: str):
    """The landing page's answer (:func:`povdata.landing.landing_answer`), cached per data
    version, targets version and language."""
    return _landing(province_code, version_key(province_code), targets_key(province_code), lang(), former())


@st.cache_data(show_spinner=False, max_entries=64)
def _landing(province_code: str, version, targets_version, lang_: str, former_code=None):
    from dataclasses import replace

    from povdata.landing import landing_answer

    cfg = targets()
    if former_code:  # judged on the former province's own row, as the progress table
        cfg = replace(cfg, province_code=former_code)
    return landing_answer(levels(province_code), cfg, lang_)


def progress(province_code: str) -> pd.DataFrame:
    return _progress(province_code, version_key(province_code), targets_key(province_code), former())


@st.cache_data(show_spinner=False, max_entries=2 * CACHE_VERSIONS)
def _progress(province_code: str, version: tuple[str, int] | None, targets_version: int = 0,
              former_code: str | None = None) -> pd.DataFrame:
    from dataclasses import replace
    cfg = targets()
    if former_code:  # judged on the former province's own row
        cfg = replace(cfg, province_code=former_code)
    return progress_table(_levels(province_code, version, former_code), cfg)


def shapes(province_code: str, level: str) -> gpd.GeoDataFrame:
    """Display geometry of a level of the version shown (see :func:`_shapes`)."""
    return _shapes(province_code, level, version_key(province_code))


@st.cache_resource(show_spinner=False, max_entries=4 * CACHE_VERSIONS)
def _shapes(province_code: str, level: str, version: tuple[str, int] | None) -> gpd.GeoDataFrame:
    """Display geometry of a level, read once per process (never mutated): a stored version's
    was simplified when its boundaries were imported; the embedded demo's is simplified here."""
    from povdata.maps import display_layer
    if version is None:
        return display_layer(read_layers(demo_dir(province_code) / "boundaries.gpkg"), level)
    from povdata.store import Store, load_display_layer
    shown = load_display_layer(Store.from_key(version[0]), version[1], level)
    return shown if shown is not None else display_layer({}, level)


@st.cache_data(show_spinner=False, max_entries=CACHE_VERSIONS)
def crosswalk(province_code: str) -> pd.DataFrame:
    from povdata.crosswalk import load_crosswalk

    return load_crosswalk(province_code)


def membership(province_code: str) -> pd.DataFrame:
    """New communes of each former district (``unit_code``, ``district_code``, ``share``, ``straddles``)."""
    return _membership(province_code, version_key(province_code))


@st.cache_data(show_spinner=False, max_entries=CACHE_VERSIONS)
def _membership(province_code: str, version: tuple[str, int] | None) -> pd.DataFrame:
    from povdata.dataset import new_commune_membership

    return new_commune_membership(_dataset_v(province_code, version))


def data_banner(ds: Dataset, compact: bool = False) -> None:
    """The data-status label with source and version, at the top of every page.  ``compact``:
    one line (a badge, then source and version; the illustrative data's detail in the ⓘ), for
    the pages whose first screen is the answer (landing, map)."""
    if compact or presenting():
        badge = {"illustrative": ":orange-badge[⚠️ " + tr("banner.illustrative") + "]",
                 "imported": ":blue-badge[📥 " + tr("data_status.imported") + "]"}.get(
            ds.data_status, ":green-badge[" + tr(f"data_status.{ds.data_status}") + "]")
        st.caption(badge + " " + tr("banner.source", source=md_escape(say(ds.source)), version=md_escape(ds.version)),
                   help=tr("banner.illustrative_detail") if ds.is_illustrative else None)
        return
    if ds.is_illustrative:
        st.warning(f"**{tr('banner.illustrative')}** — {tr('banner.illustrative_detail')}", icon="⚠️")
    elif ds.data_status == "imported":  # file names are escaped: st.info renders markdown
        st.info(tr("import.banner", source=md_escape(say(ds.source)), version=md_escape(ds.version)), icon="📥")
    st.caption(tr("banner.source", source=md_escape(say(ds.source)), version=md_escape(ds.version))
               + " · " + tr(f"data_status.{ds.data_status}"))


def boundary_note(level: str) -> str:
    """What the boundaries of ``level`` on screen are: approximate (the demo's), or from which file."""
    key = version_key()
    if key is not None:
        from povdata.store import Store, layer_sources
        source, approx = layer_sources(Store.from_key(key[0]), key[1]).get(level, ("", True))
        if not approx and source:
            return tr("import.boundaries_from", source=md_escape(source))
    return tr("banner.approx_boundaries")


def md_escape(text: object) -> str:
    """The one helper for text from a user, a file or a URL shown through markdown (captions,
    messages, headers): markdown's punctuation is backslash-escaped and HTML's characters
    turned into entities, so a name like ``![b](http://host/x.png)`` or ``<a href=…>`` is shown
    as the characters it is and never rendered (no outside image, no link)."""
    out = escape(str(text), quote=False)
    return "".join("\\" + ch if ch in "\\`*_{}[]()#+-.!|~$>:" else ch for ch in out)


def html_text(text: object) -> str:
    """Text from a user, a file or a URL in plotly (legend, title, hover: plotly renders a
    subset of HTML, links included): every HTML character is an entity."""
    return escape(str(text), quote=True)


def version_picker() -> None:
    """Sidebar choice of the stored version shown (only when the province has any)."""
    from povdata.store import has_store, open_store, version_label, versions

    if not has_store():
        return
    vs = versions(open_store(), province())
    if not vs:
        return
    ids = [v.id for v in vs]
    labels = {v.id: version_label(v) + (" — " + tr(f"data_status.{v.data_status}")) for v in vs}
    current = version_id()
    # one widget per (province, newest version, version shown): a browser still holding the
    # picker of before an import or a rollback would otherwise send its old choice back at the
    # next click, and the page would fall back to the previous version
    key = f"_version_pick_{province()}_{ids[0]}_{current}"
    st.sidebar.selectbox(tr("import.version_picker"), ids, index=ids.index(current), key=key,
                         format_func=labels.get,
                         on_change=lambda: st.session_state.update(data_version=st.session_state[key]))


def language_picker() -> None:
    """Sidebar language choice.  The radio has its own key and copies its value into ``lang``:
    bound directly to ``lang`` (set from the URL before the widget existed), the first click on
    any widget of an English link switched the app back to Vietnamese."""
    from povdata.i18n import LANG_NAMES

    names = LANG_NAMES
    if st.session_state.get("_lang_pick") not in LANGS or st.session_state["_lang_pick"] != lang():
        st.session_state["_lang_pick"] = lang()
    st.sidebar.radio(tr("app.language"), LANGS, key="_lang_pick", format_func=names.get, horizontal=True,
                     on_change=lambda: st.session_state.update(lang=st.session_state["_lang_pick"]))
    st.query_params["lang"] = lang()


_CELL_HTML = """<div class="povdash-cell" style="border-left-color: {colour}">
<div class="povdash-cell-title">{title}</div>
<div><span class="povdash-cell-value">{value}</span> <span class="povdash-cell-unit">{unit}</span></div>
<div><span class="povdash-cell-status" style="background: {colour}; color: {ink}">{label}</span></div>
<div class="povdash-cell-detail">{detail}</div></div>"""


_HEAD_HTML = """<p class="povdash-head">{text}</p>"""


def heading(text: str) -> None:
    """A compact section heading (the first screen's; ``st.subheader`` takes two lines there)."""
    st.html(html_from(_HEAD_HTML, text=text))


def status_cells(cells, per_row: int = 3) -> None:
    """Verdict cells (:class:`povdata.landing.Cell`), ``per_row`` to a row: the status in the
    map's status colours, the headline figure large, the rule and the pace still needed."""
    from povdata.classify import STATUS_COLOURS

    for i in range(0, len(cells), per_row):
        row = cells[i:i + per_row]
        for col, c in zip(st.columns(per_row), row):
            with col:
                st.html(html_from(_CELL_HTML, colour=STATUS_COLOURS.get(c.status, "#cccccc"),
                                  ink="white" if c.status in ("off_track", "not_met", "met", "exceeded") else "black",
                                  title=c.title, value=c.value, unit=c.unit, label=c.label, detail=c.detail))


def show_kpis(kpis) -> None:
    cols = st.columns(len(kpis)) if kpis else []
    for col, k in zip(cols, kpis):
        with col:
            st.metric(tr(k.key), k.value, k.delta,
                      delta_color="off" if k.delta_good is None else ("inverse" if k.delta_good else "normal"),
                      delta_arrow="auto" if k.arrow else "off", help=k.note)
            st.caption(k.note)


def table_headers(df: pd.DataFrame, mapping: dict[str, str]) -> pd.DataFrame:
    """Rename columns to the UI language."""
    return df[list(mapping)].rename(columns={c: tr(k) for c, k in mapping.items()})


def map_figure(province_code: str, level: str, year: int, indicator: str, parent: str | None,
               breaks: tuple[float, ...] | None, show_labels: bool, period_id: str | None, height: int,
               highlight: str | None = None):
    """The choropleth for a view, plus the table behind it (cached per view); ``highlight``
    outlines the unit that is open."""
    fig, table, missing = _map_figure(province_code, level, year, indicator, parent, breaks, show_labels, period_id,
                                      height, lang(), version_key(province_code), targets_key(province_code), former())
    # rebuilt from the cached dict on every run, so Streamlit always gets the same JSON for the
    # same view: a cache miss returning the object itself made the first click on a new map
    # look like a click on a different chart, and the selection was dropped
    fig = go.Figure(fig, _validate=False)  # validated when first built; Streamlit validates again
    if highlight:
        from geo.choropleth import add_outline

        add_outline(fig, shapes(province_code, level), highlight)
    return fig, table, missing


@st.cache_data(show_spinner=False, max_entries=256)
def _map_figure(province_code, level, year, indicator, parent, breaks, show_labels, period_id, height, lang_,
                version=None, targets_version=0, former_code=None):  # the data and targets shown are part of the cache key
    from povdata.maps import map_view

    members = None
    if level == "commune_2025" and parent is not None:
        m = membership(province_code)
        members = m[m["district_code"] == parent]
        parent = None
    view = map_view(levels(province_code), targets(), shapes(province_code, level), level, year,
                    indicator, lang_, parent=parent, breaks=breaks, show_labels=show_labels, period_id=period_id,
                    height=height, illustrative=_dataset(province_code).is_illustrative, members=members)
    return view.figure.to_dict(), view.table, view.missing


def map_breaks(province_code: str, level: str, year: int, indicator: str, parent: str | None, scheme: str,
               k: int, custom: tuple[float, ...] | None) -> tuple[float, ...]:
    """Class breaks of a map view (cached: a widget change does not recompute the view's table)."""
    return _map_breaks(province_code, level, year, indicator, parent, scheme, k, custom,
                       version_key(province_code), targets_key(province_code), former())


def map_breaks_by_year(province_code: str, level: str, years: "tuple[int, ...] | list[int]", indicator: str,
                       parent: str | None, scheme: str, k: int,
                       custom: tuple[float, ...] | None) -> tuple[tuple[int, tuple[float, ...]], ...]:
    """:func:`map_breaks` of each year of the map's slider, the version and targets keys read once for
    them all (one store query each, not one per year: under load those queries were 40 % of a map run)."""
    keys = (version_key(province_code), targets_key(province_code), former())
    return tuple((y, _map_breaks(province_code, level, y, indicator, parent, scheme, k, custom, *keys))
                 for y in years)


@st.cache_data(show_spinner=False, max_entries=256)
def _map_breaks(province_code, level, year, indicator, parent, scheme, k, custom, version, targets_version,
                former_code=None):
    from povdata.classify import breaks_for
    from povdata.views import map_table

    members = None
    if level == "commune_2025" and parent is not None:
        m = membership(province_code)
        members = m[m["district_code"] == parent]
    values = map_table(levels(province_code), targets(), level, year, indicator,
                       parent=None if members is not None else parent, members=members)["value"]
    return tuple(breaks_for(values, scheme, k, list(custom) if custom is not None else None))


def ranking_chart(province_code: str, level: str, year: int, title: str | None = None, *,
                  parent: str | None = None, members: list[str] | None = None, height: int | None = None,
                  indicator: str = "poverty_rate"):
    """The ranked bar chart of a level (cached as a dict, rebuilt per run like the map)."""
    return go.Figure(_ranking_chart(province_code, level, year, title, parent,  # validated when first built
                                    tuple(members) if members is not None else None, height, lang(),
                                    version_key(province_code), former(), indicator), _validate=False)


@st.cache_data(show_spinner=False, max_entries=256)
def _ranking_chart(province_code, level, year, title, parent, members, height, lang_, version, former_code=None,
                   indicator="poverty_rate"):
    from povdata.charts import mark_illustrative, ranking_figure
    from povdata.views import ranking

    r = ranking(levels(province_code), level, year, parent=parent, members=list(members) if members else None,
                indicator=indicator)
    fig = ranking_figure(r, lang_, title, indicator=indicator, **({"height": height} if height else {}))
    if _dataset(province_code).is_illustrative:
        mark_illustrative(fig, lang_)
    return fig.to_dict()


def selected_code(event) -> str | None:
    """Unit code of the clicked feature in a ``st.plotly_chart`` selection event."""
    try:
        points = event.selection.points if hasattr(event, "selection") else event["selection"]["points"]
    except (KeyError, AttributeError, TypeError):
        return None
    for p in points or []:
        loc = p.get("location") or (p.get("customdata") or [None])[0]
        if loc:
            return str(loc)
    return None


def selected_year(event) -> int | None:
    """The year a map click was made in (the browser's year slider puts it in each point's
    ``customdata``), or None."""
    try:
        points = event.selection.points if hasattr(event, "selection") else event["selection"]["points"]
    except (KeyError, AttributeError, TypeError):
        return None
    for p in points or []:
        data = p.get("customdata") or []
        if len(data) > 1 and str(data[1]).isdigit():
            return int(data[1])
    return None


def map_years(province_code: str, level: str, indicator: str, parent: str | None) -> list[int]:
    """The years a map view has data for (its year slider's steps)."""
    lv = levels(province_code)
    sub = lv[lv["level"] == level]
    if parent is not None and level == "commune_2025":
        m = membership(province_code)
        sub = sub[sub["unit_code"].isin(m.loc[m["district_code"] == parent, "unit_code"])]
    elif parent is not None:
        sub = sub[sub["parent_code"] == parent]
    col = indicator if indicator in sub.columns else "poverty_rate"
    return sorted(int(y) for y in sub.loc[sub[col].notna(), "year"].unique()) or sorted(
        int(y) for y in lv["year"].unique())


_HIDE_SYNC_CSS = "<style>.st-key-map_year_sync { display: none !important; }</style>"
_YEAR_SYNC_JS = """<script>(() => {
  if (window.__povdashYearSync) return;
  window.__povdashYearSync = true;
  let count = 0;
  const send = (year) => {  // the hidden text box: a committed value is one quiet run
    const input = document.querySelector(".st-key-map_year_sync input");
    if (!input) return;
    const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    set.call(input, year + "|" + (++count));
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", code: "Enter", keyCode: 13, bubbles: true }));
  };
  const attach = () => document.querySelectorAll(".js-plotly-plot").forEach((gd) => {
    if (gd.__povdashYear || !gd.on || !gd.layout || !(gd.layout.sliders || []).length) return;
    gd.__povdashYear = true;
    let timer = null, playing = false, year = null;
    const later = () => { clearTimeout(timer); timer = setTimeout(() => { if (year !== null) send(year); }, 600); };
    gd.on("plotly_sliderchange", (e) => { year = e.step.label; if (!playing) later(); });
    gd.on("plotly_animatingframe", (e) => { playing = true; year = e.name; });
    const stopped = () => { playing = false; later(); };
    gd.on("plotly_animated", stopped);
    gd.on("plotly_animationinterrupted", stopped);
  });
  setInterval(attach, 300);
})();</script>"""


def year_slider_sync(key: str = "map_year_sync") -> None:
    """The browser's year slider (a plotly slider: a step only repaints) tells the server its
    year once the hand stops (600 ms) or the play ends, through this hidden text box: one quiet
    run brings the rest of the page (profile, ranking, exports, the URL) to that year.  Read it
    with :func:`slider_year` at the top of the next run."""
    st.html(_HIDE_SYNC_CSS)
    st.html(_YEAR_SYNC_JS, unsafe_allow_javascript=True)
    st.text_input(tr("map.year_sync"), key=key, label_visibility="collapsed")


def slider_year(key: str = "map_year_sync") -> int | None:
    """The year the browser's slider reported since the last run, or None (each report once)."""
    raw = str(st.session_state.get(key) or "")
    if not raw or raw == st.session_state.get(f"_{key}_seen"):
        return None
    st.session_state[f"_{key}_seen"] = raw
    year = raw.split("|", 1)[0]
    return int(year) if year.isdigit() else None


def _cell(v, d: int | None, lang_: str) -> str:
    from povdata.i18n import fmt_number

    if isinstance(v, str):
        return say(v)
    if v is None or pd.isna(v):
        return "–"
    from numbers import Number

    if d is None or not isinstance(v, Number) or isinstance(v, bool):
        return str(v)
    return str(int(v)) if d < 0 else fmt_number(v, lang_, d)  # d < 0: a year, no thousands separator


def no_nulls(df: pd.DataFrame, numbers: dict[str, int] | None = None) -> pd.DataFrame:
    """The table as shown: a column with a missing cell becomes text, the missing cell '–'
    (``st.dataframe`` writes 'None' in any empty cell, whatever a Styler says); complete
    columns keep their values (and their sorting).  ``numbers``: column → decimals."""
    numbers = numbers or {}
    out = df.copy()
    lang_ = lang()
    for c in out.columns:
        col = out[c]
        if col.isna().any():
            out[c] = [_cell(v, numbers.get(c), lang_) for v in col]
    return out


def styled_table(df: pd.DataFrame, numbers: dict[str, int], status_col: str | None = None):
    """A Styler showing numbers in the UI language (sorting still uses the values) and
    status cells in the map's status colours.  ``numbers``: column → decimals (−1 = a year).
    A column with missing cells is shown as text with '–' (:func:`no_nulls`)."""
    from povdata.classify import STATUS_COLOURS

    lang_ = lang()
    df = no_nulls(df, numbers)
    numeric = {c: d for c, d in numbers.items() if c in df and df[c].dtype != object}
    sty = df.style.format({c: (lambda v, d=d: _cell(v, d, lang_)) for c, d in numeric.items()}, na_rep="–")
    if status_col and status_col in df:
        colours = {tr(f"status.{k}"): v for k, v in STATUS_COLOURS.items()}
        sty = sty.map(lambda v: f"background-color: {colours.get(v, 'white')}; color: "
                      f"{'white' if v in (tr('status.off_track'), tr('status.not_met'), tr('status.met')) else 'black'}",
                      subset=[status_col])
    return sty


def download_buttons(df: pd.DataFrame, name: str, key: str) -> None:
    from povdata.export import to_csv_bytes, to_xlsx_bytes

    c1, c2, _ = st.columns([1, 1, 4])
    c1.download_button(tr("progress.download"), to_csv_bytes(df), f"{name}.csv", "text/csv", key=f"{key}_csv")
    c2.download_button(tr("progress.download_xlsx"), to_xlsx_bytes(df), f"{name}.xlsx",
                       "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", key=f"{key}_xlsx")


# ---- presentation mode, image export, briefing pack, print -------------------------------------
# Constant CSS only (no user text is ever interpolated into it).

_PRINT_CSS = """<style>
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  section[data-testid="stSidebar"], header[data-testid="stHeader"], [data-testid="stToolbar"],
  [data-testid="stDecoration"], [data-testid="stStatusWidget"], [data-testid="stSidebarCollapsedControl"],
  [data-testid="stElementToolbar"], .modebar-container, [data-testid="stButton"],
  [data-testid="stDownloadButton"], [data-testid="stPopover"], [data-testid="stSelectbox"],
  [data-testid="stSlider"], [data-testid="stRadio"], [data-testid="stTextInput"],
  [data-testid="stCheckbox"], [data-testid="stExpander"] > details > summary svg { display: none !important; }
  html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {
    position: static !important; overflow: visible !important; height: auto !important; background: white !important; }
  .block-container, [data-testid="stMainBlockContainer"] { max-width: 100% !important; padding: 0 !important; }
  [data-testid="stPlotlyChart"], [data-testid="stMetric"], [data-testid="stDataFrame"], [data-testid="stTable"],
  [data-testid="stAlert"], [data-testid="stHorizontalBlock"] { break-inside: avoid; page-break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; page-break-after: avoid; }
  * { -webkit-print-color-adjust: exact !important; print-color-adjust: exact !important; }
}
</style>"""

# every page: a slimmer top (the answer and the map start higher) and status cells
_APP_CSS = """<style>
.block-container, [data-testid="stMainBlockContainer"] { padding-top: 2.75rem !important; }
h1 { font-size: 2rem !important; padding-top: 0.25rem !important; }
[data-testid="stPageLink"] p, [data-testid="stPageLink-NavLink"] span { white-space: normal !important; }
@media (max-width: 640px) {
  .block-container, [data-testid="stMainBlockContainer"] { padding-top: 3.75rem !important; }
  h1 { font-size: 1.5rem !important; }
}
[data-testid="stElementContainer"]:has(> [data-testid="stHtml"] > script:only-child) { display: none !important; }
.povdash-cell { border-left: 6px solid #ccc; background: #f7f7f7; padding: 0.35rem 0.6rem; border-radius: 4px;
  line-height: 1.25; }
.povdash-cell-title { font-size: 0.85rem; font-weight: 600; min-height: 2.1em; }
.povdash-head { font-size: 1.15rem; font-weight: 700; margin: 0; }
.povdash-cell-value { font-size: 1.6rem; font-weight: 700; }
.povdash-cell-unit { font-size: 0.8rem; color: #333; }
.povdash-cell-status { display: inline-block; font-size: 0.78rem; padding: 0 0.4rem; border-radius: 3px; }
.povdash-cell-detail { font-size: 0.75rem; color: #555; margin-top: 0.15rem; }
</style>"""

_PRESENT_CSS = """<style>
section[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], header[data-testid="stHeader"],
[data-testid="stDownloadButton"], [data-testid="stPopover"], [data-testid="stElementToolbar"],
.modebar-container { display: none !important; }
html { font-size: 112.5%; }
@media (min-width: 1800px) { html { font-size: 168.75%; } }
.block-container, [data-testid="stMainBlockContainer"] { max-width: 100% !important;
  padding: 0.6rem 1.5rem 1rem !important; }
h1 { font-size: 1.7rem !important; padding-top: 0 !important; margin-right: 16rem; }
[data-testid="stMetricValue"] { font-size: 2.2rem !important; }
[data-testid="stMetricValue"] > div, [data-testid="stMetricValue"] * { white-space: normal !important;
  overflow: visible !important; text-overflow: clip !important; line-height: 1.15; }
.st-key-present_exit { position: fixed; top: 0.5rem; right: 1rem; z-index: 1000; width: auto !important; }
</style>"""


_VIEWPORT_CSS = "<style>.st-key-viewport_sync { display: none !important; }</style>"
_VIEWPORT_JS = """<script>(() => {
  const used = "{used}";
  const tell = () => {
    const now = innerWidth + "x" + innerHeight;
    // a reload or a new tab reads it from the connection at once (no second run)
    document.cookie = "povdash_vp=" + now + "; path=/; SameSite=Strict; max-age=31536000";
    if (now === (window.__povdashViewportSent || used)) return;
    const input = document.querySelector(".st-key-viewport_sync input");
    if (!input) {  // the hidden box comes after this script in the page: try again shortly
      if ((tell.tries = (tell.tries || 0) + 1) < 100) setTimeout(tell, 100);
      return;
    }
    window.__povdashViewportSent = now;
    const set = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, "value").set;
    set.call(input, now);
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", code: "Enter", keyCode: 13, bubbles: true }));
  };
  window.__povdashViewportSent = undefined;
  setTimeout(tell, 50);
  if (!window.__povdashViewportListen) {
    window.__povdashViewportListen = true;
    let timer = null;
    addEventListener("resize", () => { clearTimeout(timer); timer = setTimeout(() => window.__povdashViewportTell(), 500); });
  }
  window.__povdashViewportTell = tell;
})();</script>"""
_VIEWPORT_RE = re.compile(r"^(\d{3,5})x(\d{3,5})$")


def viewport() -> tuple[int, int] | None:
    """The browser window's inner size in CSS pixels (from the page's own report, or the cookie
    it left for a reload or a new tab), or None when unknown (AppTest, first paint)."""
    for raw in (st.session_state.get("viewport_sync"), (_browser_cookies() or {}).get("povdash_vp")):
        m = _VIEWPORT_RE.match(str(raw or ""))
        if m:
            return int(m.group(1)), int(m.group(2))
    return None


def viewport_sync() -> None:
    """Ask the browser for its window size (one quiet run on a first visit or after a resize):
    charts that should fill the screen take their height from it (:func:`fit_height`)."""
    vp = viewport()
    st.html(_VIEWPORT_CSS)
    st.html(html_from(_VIEWPORT_JS, used=f"{vp[0]}x{vp[1]}" if vp else ""), unsafe_allow_javascript=True)
    st.text_input("viewport", key="viewport_sync", label_visibility="collapsed")


def text_scale() -> float:
    """How much larger text is drawn: 1 on a laptop; in presentation mode 1,125 up to 1800 px wide
    and 1,5 times that beyond (a 1920×1080 projector shows what 1280×720 does, larger)."""
    if not presenting():
        return 1.0
    vp = viewport()
    return 1.6875 if vp and vp[0] >= 1800 else 1.125  # as _PRESENT_CSS: 112,5% and 168,75%


def narrow() -> bool:
    """A phone-sized window (under 640 px wide): columns stack, maps put their legend below."""
    vp = viewport()
    return bool(vp and vp[0] < 640)


def phone_map(fig: go.Figure) -> go.Figure:
    """A map laid out for a phone: the title on two lines at a smaller size, the legend in a
    row under the map (beside it, it covered the map), the stamp below the title."""
    if not narrow():
        return fig
    title = fig.layout.title.text or ""
    fig.update_layout(title={"text": title.replace(" — ", "<br>"), "font": {"size": 14}},
                      legend={"orientation": "h", "x": 0, "xanchor": "left", "y": 0, "yanchor": "top"},
                      margin={"t": 70})
    for frame in fig.frames or ():
        if frame.layout and frame.layout.title and frame.layout.title.text:
            frame.layout.title.text = frame.layout.title.text.replace(" — ", "<br>")
    return fig


def fit_height(above: int, default: int, minimum: int = 360) -> int:
    """A chart height that fills the window below ``above`` pixels (measured at text scale 1),
    or ``default`` when the window size is unknown."""
    vp = viewport()
    if vp is None:
        return default
    return max(minimum, int(vp[1] - above * text_scale() - 12))


def presenting() -> bool:
    return bool(st.session_state.get("present", False))


def _leave_presentation() -> None:
    st.session_state["present"] = False


def presentation_toggle() -> None:
    """Sidebar toggle for presentation mode (URL ``present=1``), and the print stylesheet."""
    if "present" not in st.session_state:
        st.session_state["present"] = st.query_params.get("present") == "1"
    st.sidebar.toggle(tr("export.present"), key="present", help=tr("export.present_help"))
    if presenting():
        st.query_params["present"] = "1"
    elif "present" in st.query_params:
        del st.query_params["present"]
    # style-only st.html goes to Streamlit's event container: no blank line above the title
    st.html(_PRINT_CSS)
    st.html(_APP_CSS)
    viewport_sync()
    if presenting():
        st.html(_PRESENT_CSS)
        st.button(tr("export.present_exit"), key="present_exit", on_click=_leave_presentation,
                  icon=":material/close_fullscreen:")


def chart_frame(title: str, indicator: str, year, standard: str):
    """Title, subtitle (indicator, year, standard) and footer (source, version, date) of a chart."""
    from povdata.export_images import make_frame

    ds = dataset()
    return make_frame(title, indicator=indicator, year=year, standard=standard, source=say(ds.source),
                      version=ds.version, illustrative=ds.is_illustrative, lang=lang())


def year_frame(title: str, year: int, indicator: str = "poverty_rate", level: str | None = None):
    """Frame of a chart of one review year (the standard is that year's); a chart of districts
    after the 2025 reform says its figures are estimates (exports included)."""
    from povdata.export_images import standards_text
    from povdata.reform import REFORM_YEAR
    from povdata.views import indicator_label

    std = standards_text([_year_standard(province(), year, version_key(), former())], lang())
    if level == "district" and year >= REFORM_YEAR:
        std += " · " + tr("export.estimate_districts")
    return chart_frame(title, indicator_label(indicator, lang()), year, std)


@st.cache_data(show_spinner=False, max_entries=512)
def _year_standard(province_code: str, year: int, version, former_code=None) -> str | None:
    from povdata.views import standard_of

    lv = levels(province_code)
    return standard_of(lv[lv["level"] == "province"], year)


def series_frame(title: str, s: pd.DataFrame):
    """Frame of a series chart: its years and standards."""
    from povdata.export_images import standards_text

    return chart_frame(title, tr("kpi.poverty_rate"), f"{int(s['year'].min())}-{int(s['year'].max())}",
                       standards_text(s.sort_values("year")["standard"].dropna(), lang()))


def plotly_chart(fig, frame, name: str, key: str, share: float = 1.0, export=None, fill: bool = False, **kwargs):
    """``st.plotly_chart``, framed and enlarged in presentation mode, with image exports under it.
    ``share``: the part of the page's width the chart gets (0.5 in a two-column row);
    ``export``: the figure the image exports draw, when it is not ``fig`` (a map whose year
    slider lives in the browser exports the still map of its year); ``fill``: the figure's
    height already fills the window (:func:`fit_height`), kept as is in presentation mode."""
    shown = fig
    if presenting():
        # the page's heading is the title (said once); the chart fits the screen, its text larger
        from povdata.charts import scale_text

        scale = text_scale()
        shown = scale_text(fig, scale)
        height = fig.layout.height or 450
        shown.update_layout(height=height if fill else min(int(height * scale), fit_height(60, 10_000, 300)))
    event = st.plotly_chart(shown, key=key, **kwargs)
    chart_exports(fig if export is None else export, frame, name, key)
    return event


def animated_map_figure(province_code: str, level: str, years: tuple[int, ...], start: int, indicator: str,
                        parent: str | None, breaks: tuple[tuple[int, tuple[float, ...]], ...], show_labels: bool,
                        title: str, height: int, highlight: str | None = None):
    """The map of every year of a view, for the browser's year slider (cached per view, not per
    year: only the year shown first differs), plus the start year's table."""
    fig, table, missing = _animated_map_figure(province_code, level, years, indicator, parent, breaks, show_labels,
                                               title, height, lang(), version_key(province_code),
                                               targets_key(province_code), former())
    fig = go.Figure(fig, _validate=False)
    pos = list(years).index(start)
    frame = fig.frames[pos]
    for i, data in zip(frame.traces, frame.data):  # the start year's values, as the slider says
        fig.data[i].update({k: v for k, v in data.to_plotly_json().items() if k != "type"})
    fig.layout.title.text = frame.layout.title.text
    fig.layout.sliders[0].active = pos
    if highlight:
        from geo.choropleth import add_outline
        add_outline(fig, shapes(province_code, level), highlight)
    return fig, table[start], missing[start]


@st.cache_data(show_spinner=False, max_entries=64)
def _animated_map_figure(province_code, level, years, indicator, parent, breaks, show_labels, title, height, lang_,
                         version=None, targets_version=0, former_code=None):
    from povdata.maps import animated_map_view

    members = None
    if level == "commune_2025" and parent is not None:
        m = membership(province_code)
        members = m[m["district_code"] == parent]
        parent = None
    view = animated_map_view(levels(province_code), targets(), shapes(province_code, level), level, list(years),
                             years[-1], indicator, lang_, parent=parent, breaks=dict(breaks), show_labels=show_labels,
                             title=title, height=height, illustrative=_dataset(province_code).is_illustrative,
                             members=members)
    return view.figure.to_dict(), view.tables, view.missing


def chart_exports(fig, frame, name: str, key: str) -> None:
    """A popover with the chart as PNG (1×, 2×, 3× of a 1920×1080 slide) and SVG, rendered on
    the server when the user clicks (framed: title, year, standard, source, label)."""
    from functools import partial

    from povdata.export_images import (MIME, SCALES, SLIDE_SIZE, ExportError, ensure_browser, export_file_name,
                                       framed_image)

    with st.popover(tr("export.button"), icon=":material/download:"):
        try:
            ensure_browser()
        except ExportError as exc:
            st.caption(tr("export.failed", message=md_escape(exc)))
            return
        st.caption(tr("export.caption"))
        for scale in SCALES:
            st.download_button(
                tr("export.png", scale=scale, width=SLIDE_SIZE[0] * scale, height=SLIDE_SIZE[1] * scale),
                data=partial(framed_image, fig, frame, "png", scale), file_name=export_file_name(name, "png", scale),
                mime=MIME["png"], key=f"{key}_png{scale}", on_click="ignore")
        st.download_button(tr("export.svg"), data=partial(framed_image, fig, frame, "svg"),
                           file_name=export_file_name(name, "svg"), mime=MIME["svg"], key=f"{key}_svg",
                           on_click="ignore")


def briefing_button(years: list[int], default: int) -> None:
    """Year picker and the 'Tạo bộ tài liệu họp' button.  The pack is built by this server's
    briefing worker (:data:`povdata.jobs.PACKS`), not in the page: the page shows its progress
    and, once built, the PPTX and PDF downloads."""
    c1, c2 = st.columns([1, 3], vertical_alignment="bottom")
    year = c1.selectbox(tr("briefing.year"), years, index=years.index(default), key="briefing_year")
    want = (province(), int(year), lang())
    job = st.session_state.get("briefing_job")
    running = bool(job and job["key"] == want and not job.get("over"))
    # the job is queued by the button's callback, before the page is drawn again: the button
    # is then drawn disabled while the pack is built
    c2.button(tr("briefing.button"), key="briefing_build", help=tr("briefing.help"), type="primary",
              icon=":material/slideshow:", disabled=running, on_click=_queue_pack, args=(want,))
    if st.session_state.pop("briefing_busy", False):
        st.warning(tr("briefing.busy"))
        return
    job = st.session_state.get("briefing_job")
    if job and job["key"] == want and not job.get("over"):
        _briefing_progress()
    failed = st.session_state.get("briefing_error")
    if failed and failed["key"] == want:
        st.error(tr("briefing.failed", message=md_escape(failed["message"])))
    saved = st.session_state.get("briefing_pack")
    if saved and saved["key"] == want:
        from povdata.i18n import fmt_number

        st.success(tr("briefing.done", slides=saved["slides"], seconds=fmt_number(saved["seconds"], lang(), 0)))
        d1, d2, _ = st.columns([1, 1, 2])
        d1.download_button(tr("briefing.download_pptx"), saved["pptx"], f"{saved['stem']}.pptx",
                           "application/vnd.openxmlformats-officedocument.presentationml.presentation",
                           key="briefing_pptx", on_click="ignore")
        d2.download_button(tr("briefing.download_pdf"), saved["pdf"], f"{saved['stem']}.pdf", "application/pdf",
                           key="briefing_pdf", on_click="ignore")


def _queue_pack(want: tuple[str, int, str]) -> None:
    """Queue the pack with this server's briefing worker (the button's callback)."""
    from povdata.briefing import pack_files
    from povdata.jobs import PACKS, JobsBusy
    from povdata.store import has_store, open_store

    _, year, language = want
    # the same pack asked for by several people (a meeting) is built once: the key is the
    # pages' cache keys of the data and the targets, with the year and the language
    key = (open_store().key if has_store() else "", province(), version_key(province()), targets_key(), former(),
           year, language)
    maps = None
    vk = version_key(province())
    if vk is not None:  # the maps the screen draws, from the stored version
        from povdata.briefing import MAP_LEVELS, PackMaps
        from povdata.store import Store, layer_sources
        maps = PackMaps({lvl: shapes(province(), lvl) for lvl in MAP_LEVELS},
                        layer_sources(Store.from_key(vk[0]), vk[1]))
    try:
        job_id = PACKS.submit(key, pack_files, dataset(), year, language, targets(), maps=maps)
    except JobsBusy:
        st.session_state["briefing_busy"] = True
        return
    st.session_state["briefing_job"] = {"id": job_id, "key": want}
    st.session_state.pop("briefing_pack", None)
    st.session_state.pop("briefing_error", None)


@st.fragment(run_every=1.0)
def _briefing_progress() -> None:
    """The pack's progress bar, redrawn every second by itself (not the whole page) until the
    worker is done; then the page is drawn again with the downloads or the failure."""
    from povdata.briefing import pack_failure
    from povdata.jobs import DONE, PACKS, QUEUED
    from povdata.messages import say

    job = st.session_state.get("briefing_job")
    if not job or job.get("over"):
        return
    status = PACKS.status(job["id"])
    if status is None:
        job["over"] = True
        st.warning(tr("briefing.lost"))
        return
    if not status.finished:
        text = tr(status.step, **({"ahead": status.ahead} if status.state == QUEUED else status.params))
        st.progress(min(max(status.done, 0.0), 1.0), text=text)
        return
    job["over"] = True
    if status.state == DONE:
        st.session_state["briefing_pack"] = {"key": job["key"], **status.result}
    else:
        st.session_state["briefing_error"] = {"key": job["key"],
                                              "message": say(pack_failure(status.error), lang())}
    st.rerun(scope="app")


def national_comparison() -> None:
    """An expander: the province against its region and the country, from the stored national
    table (the whole country's data, key ``00``), when there is one."""
    from povdata.national import comparison
    from povdata.store import has_store, latest_version, open_store

    with st.expander(tr("compare.title")):
        v = latest_version(open_store(), "00") if has_store() else None
        if v is None:
            st.caption(tr("compare.none"))
            return
        nat = _national_dataset(open_store().key, v.id)
        table = comparison(nat.indicators, view_codes(), lang())
        if table.empty:
            st.caption(tr("compare.none"))
            return
        cols = {c: f"compare.{c}" for c in ("year", "name", "rate", "region", "region_rate", "national_rate", "rank",
                                              "of", "gap_region", "gap_national")}
        cols["name"] = "compare.unit"
        shown = table_headers(table, cols)
        st.dataframe(styled_table(shown, {tr("compare.year"): -1, tr("compare.rate"): 2, tr("compare.region_rate"): 2,
                                          tr("compare.national_rate"): 2, tr("compare.rank"): 0, tr("compare.of"): 0,
                                          tr("compare.gap_region"): 2, tr("compare.gap_national"): 2}),
                     hide_index=True, key="national_comparison")
        st.caption(tr("compare.caption", source=md_escape(say(nat.source))))


@st.cache_resource(show_spinner=False, max_entries=4)
def _national_dataset(store_file: str, version: int) -> Dataset:
    from povdata.store import Store, load_version
    return load_version(Store.from_key(store_file), "00", version)
