"""The websocket consumer: Strawberry's graphql-transport-ws / graphql-ws consumer with our limits,
the session user from the handshake, and an optional token check on ``connection_init``."""

from __future__ import annotations

import asyncio
import datetime
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils.module_loading import import_string
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.types.unset import UNSET

from .publish import publisher

DEFAULT_MAX_SUBSCRIPTIONS = 20
DEFAULT_INIT_TIMEOUT = 10.0


class UserTasksConsumer(GraphQLWSConsumer):
    """``USER_TASKS_WS_AUTHENTICATE`` may name ``f(connection_params, scope) -> user | None``: a user it
    returns replaces the session's (e.g. from a signed token); returning None keeps the session's,
    raising ``PermissionError`` refuses the connection (close code 4403).

    The socket has no channel-layer channel of its own: its subscriptions receive events through
    the process's hub (``user_tasks_graphql.hub``), so a layer outage never closes sockets."""

    channel_layer_alias = "user_tasks_graphql.no-layer-per-socket"

    async def connect(self) -> None:
        publisher.use_server_loop(asyncio.get_running_loop())
        await super().connect()

    async def on_ws_connect(self, context: Any) -> Any:
        path = getattr(settings, "USER_TASKS_WS_AUTHENTICATE", None)
        if path:
            authenticate = import_string(path)
            params = context.get("connection_params") if isinstance(context, dict) else None
            try:
                user = await sync_to_async(authenticate)(params if isinstance(params, dict) else {}, self.scope)
            except PermissionError as exc:
                raise ConnectionRejectionError({"reason": str(exc) or "forbidden"}) from exc
            if user is not None:
                self.scope["user"] = user
        return UNSET


def consumer_options() -> dict[str, Any]:
    """The consumer's limits, from settings."""
    return {
        "max_subscriptions_per_connection": int(
            getattr(settings, "USER_TASKS_WS_MAX_SUBSCRIPTIONS", DEFAULT_MAX_SUBSCRIPTIONS)
        ),
        "connection_init_wait_timeout": datetime.timedelta(
            seconds=float(getattr(settings, "USER_TASKS_WS_INIT_TIMEOUT", DEFAULT_INIT_TIMEOUT))
        ),
        "allowed_origins": list(getattr(settings, "USER_TASKS_WS_ALLOWED_ORIGINS", [])),
    }
