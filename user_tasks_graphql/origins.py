"""Which pages may open the websocket: this site's own origin, scheme, host and port alike, and
the origins listed in ``USER_TASKS_WS_ALLOWED_ORIGINS``.

Browsers attach the user's cookies to a websocket handshake from any page, so the Origin header
is what stops another site from acting as the user (cross-site websocket hijacking). Comparing
host names only, as ``AllowedHostsOriginValidator`` does, lets ``https://site`` in for an
``http://site`` server and any port of the host: each of those is another origin, which may be
another application. The scheme is the handshake's (``ws`` for http pages, ``wss`` for https);
behind a proxy that terminates TLS the server must be told (uvicorn ``--proxy-headers``), or the
https origin listed.
"""

from __future__ import annotations

from typing import Any

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.http.request import split_domain_port, validate_host
from strawberry.http.websocket_origin import normalize_allowed_origins, normalize_origin

from .core import conf

PAGE_SCHEME = {"ws": "http", "wss": "https"}


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return str(value.decode("latin-1"))
    return None


def own_origin(scope: dict[str, Any]) -> str | None:
    """The origin of this site's pages as the handshake reached it, if its Host is allowed."""
    host = _header(scope, b"host")
    if not host or not validate_host(split_domain_port(host)[0], settings.ALLOWED_HOSTS):
        return None
    return normalize_origin(f"{PAGE_SCHEME.get(scope.get('scheme', 'ws'), 'http')}://{host}")


def origin_allowed(scope: dict[str, Any], allowed: frozenset[str]) -> bool:
    origin = _header(scope, b"origin")
    normalized = normalize_origin(origin) if origin else None
    if normalized is None:
        return False
    return normalized == own_origin(scope) or normalized in allowed or "*" in allowed


class OriginCheck:
    """Refuses (HTTP 403) a websocket handshake from a page of another origin. The listed origins
    are read when the application is built, as the consumer's other options are: a malformed one
    fails the server's start, not every handshake."""

    def __init__(self, application: Any) -> None:
        self.application = application
        self.allowed = normalize_allowed_origins(conf.ws_allowed_origins())

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope, self.allowed):
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
