"""Who may do what: roles, permissions and province scope — pure policy, on no store.

Roles (each includes the one before): ``viewer`` browses, exports and tries scenarios;
``editor`` also imports, changes targets and shares scenarios; ``admin`` also manages users,
rolls back versions and reads the audit trail.  A user tied to one province may only reach
that province (and the former provinces merged into it).  The store's read functions and the
pages call :func:`require` and :func:`check_scope`; users and sign-in live in
:mod:`povdata.auth`, on top of the store.
"""
from __future__ import annotations

from dataclasses import dataclass

from povdata.i18n import t
from povdata.messages import Msg

ROLES = ("viewer", "editor", "admin")
PERMISSIONS: dict[str, str] = {  # permission -> least role that has it
    "browse": "viewer", "export": "viewer", "whatif": "viewer",
    "import": "editor", "edit_targets": "editor", "share_scenarios": "editor",
    "users": "admin", "rollback": "admin", "audit": "admin",
}


class PermissionDenied(PermissionError):
    """The user's role or province scope does not allow this; ``str()`` is Vietnamese."""


@dataclass(frozen=True)
class User:
    username: str
    role: str = "viewer"
    province_code: str | None = None  # None: every province
    display_name: str = ""
    source: str = "password"  # password | oidc | demo | cli

    @property
    def label(self) -> str:
        return self.display_name or self.username


#: the user name of whoever browses the demo without signing in
GUEST_NAME = "khách"
DEMO_VIEWER = User(GUEST_NAME, "viewer", None, t("auth.guest_label"), "demo")


def role_name(role: str, lang: str = "vi") -> str:
    """'người xem' / 'viewer' (catalogue ``auth.role_<role>``); an unknown role as it is."""
    return t(f"auth.role_{role}", lang) if role in ROLES else role


def _role(role: str) -> object:
    return Msg(f"auth.role_{role}") if role in ROLES else role


def can(user: User | None, permission: str) -> bool:
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")
    if user is None or user.role not in ROLES:
        return False
    return ROLES.index(user.role) >= ROLES.index(PERMISSIONS[permission])


def require(user: User | None, permission: str) -> None:
    """Raise :class:`PermissionDenied` unless ``user`` may do ``permission``."""
    if not can(user, permission):
        who = Msg("auth.who_guest") if user is None else Msg("auth.who_account", name=user.label,
                                                              role=_role(user.role))
        raise PermissionDenied(Msg("auth.denied_permission", who=who, permission=Msg(f"auth.permission_{permission}"),
                                   role=_role(PERMISSIONS[permission])))


def in_force(code: str) -> str:
    """The province in force of a code: itself for one of the 34 provinces (and for the
    whole country, ``00``), else the province a former province was merged into (a user tied
    to former Bắc Kạn, 06, reads Thái Nguyên's store, 19, which holds Bắc Kạn's history)."""
    from povdata.provinces import is_new_province, successor

    if code == "00" or is_new_province(code):
        return code
    try:
        return successor(code)
    except KeyError:
        return code


def check_scope(user: User | None, province_code: str) -> None:
    """Raise :class:`PermissionDenied` when ``user`` is tied to another province."""
    if user is not None and user.province_code and in_force(user.province_code) != in_force(province_code):
        raise PermissionDenied(Msg("auth.denied_province", name=user.label, own=user.province_code,
                                   asked=province_code))
