"""The viewer of an operation, over HTTP (Django request) or a websocket (Channels scope)."""

from __future__ import annotations

from typing import Any

from django.utils.functional import LazyObject, empty
from strawberry.types import Info

from .errors import unauthenticated


def _user(context: Any) -> Any:
    request = getattr(context, "request", None)
    if request is None and isinstance(context, dict):
        request = context.get("request")
    user = getattr(request, "user", None)
    if user is None:
        scope = getattr(request, "scope", None) or {}
        user = scope.get("user")
    return user


def viewer(info: Info) -> Any:
    """The logged-in user, or raise ``UNAUTHENTICATED``. Call from a thread (it may query)."""
    user = _user(info.context)
    if user is None or not user.is_authenticated or not user.is_active:
        raise unauthenticated()
    return user


def session_user_pk(context: Any) -> Any:
    """The viewer's primary key if the user is already loaded, else None; never queries, so it is
    safe on the event loop."""
    user = _user(context)
    if isinstance(user, LazyObject) and user._wrapped is empty:
        return None
    return getattr(user, "pk", None)
