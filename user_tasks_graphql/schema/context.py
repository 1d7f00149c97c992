"""The viewer of an operation, over HTTP (Django request) or a websocket (Channels scope)."""

from __future__ import annotations

from typing import Any

from strawberry.types import Info

from .errors import unauthenticated


def viewer(info: Info) -> Any:
    """The logged-in user, or raise ``UNAUTHENTICATED``. Call from a thread (it may query)."""
    context = info.context
    request = getattr(context, "request", None)
    if request is None and isinstance(context, dict):
        request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        scope = getattr(request, "scope", None) or {}
        user = scope.get("user")
    if user is None or not user.is_authenticated or not user.is_active:
        raise unauthenticated()
    return user
