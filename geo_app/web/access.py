"""Who may call a view, declared on the view itself; a view without a declaration is refused.

``@role("viewer")`` on a read-only view, ``@role("viewer", write="editor")`` on a form that is
shown and posted, ``@role("admin")`` on an admin view, ``@public`` on login, logout, health and
assets. The guard in :mod:`geo_app.web.auth` reads the declaration before every request; a new
route that forgets it answers 403 for everyone (deny by default), and a test walks ``url_map``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from ..services.users import ROLES

F = TypeVar("F", bound=Callable)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

#: Endpoints Flask adds itself (no view function of ours to decorate).
FRAMEWORK_PUBLIC = frozenset({"static"})


@dataclass(frozen=True)
class Access:
    """The least role for reading (safe methods) and for writing; None means anyone."""

    read: str | None
    write: str | None

    def needed(self, method: str) -> str | None:
        return self.read if method in SAFE_METHODS else self.write


def role(read: str, write: str | None = None) -> Callable[[F], F]:
    """Declare the least role: ``read`` for GET/HEAD, ``write`` (default: ``read``) for other methods.

    "viewer" for reading is relaxed to anonymous when the ALLOW_ANONYMOUS_VIEW setting is on.
    """
    for name in (read, write):
        if name is not None and name not in ROLES:
            raise ValueError(f"unknown role {name!r}")
    access = Access(read, write or read)

    def mark(view: F) -> F:
        view.access = access  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    """Anyone, logged in or not (login, logout, health check, front-end assets)."""
    view.access = Access(None, None)  # type: ignore[attr-defined]
    return view


def access_of(view: Callable | None) -> Access | None:
    """The declaration of a view function; None when it has none."""
    return getattr(view, "access", None)
