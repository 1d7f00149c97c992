"""The websocket consumer: Strawberry's graphql-transport-ws / graphql-ws consumer with our limits,
the session user from the handshake, and an optional token check on ``connection_init``."""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

from asgiref.sync import sync_to_async
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.types.unset import UNSET

from .core import conf
from .json_decoding import RefusedMessage, decode
from .live.publisher import publisher
from .schema.errors import BAD_USER_INPUT

logger = logging.getLogger(__name__)

MESSAGE_TOO_BIG = 1009  # RFC 6455
INVALID_MESSAGE = 4400  # graphql-transport-ws's code for a message it cannot take; ours on graphql-ws too
REFUSALS = {1002, MESSAGE_TOO_BIG, INVALID_MESSAGE}  # 1002: graphql-ws's close for a frame that is not text


def _malformed(message: Any, start: str) -> bool:
    """True for JSON the protocol handlers cannot read: not an object, no string ``type``, an
    unhashable ``id``, or a ``start`` message whose payload, query, variables or operation name
    has the wrong type. Strawberry's handlers die on these and leave the socket open."""
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        return True
    if not isinstance(message.get("id", ""), str | int):
        return True
    if message["type"] != start:
        return False
    payload = message.get("payload")
    return (
        not isinstance(payload, dict)
        or not isinstance(payload.get("query"), str)
        or not isinstance(payload.get("variables") or {}, dict)
        or not isinstance(payload.get("operationName") or "", str)
    )


def _coded(message: Any) -> Any:
    """Give protocol-level errors (the subscription limit) the contract's code, like every other error."""
    if isinstance(message, dict) and message.get("type") == "error":
        payload = message.get("payload")
        for error in payload if isinstance(payload, list) else [payload]:
            if isinstance(error, dict) and not (error.get("extensions") or {}).get("code"):
                error["extensions"] = {**(error.get("extensions") or {}), "code": BAD_USER_INPUT}
    return message


def client_went_away(error: BaseException) -> bool:
    """A send that failed because the tab closed meanwhile: routine, not worth a traceback."""
    if isinstance(error, OSError):  # uvicorn's ClientDisconnected, a reset connection
        return True
    return isinstance(error, RuntimeError) and "after sending 'websocket.close'" in str(error)


class TransportWSHandler(BaseGraphQLTransportWSHandler):
    async def handle(self) -> None:
        try:
            await super().handle()
        except RefusedMessage as refused:  # raised by the consumer's decode_json: the socket is closed
            await self.handle_invalid_message(refused.reason)

    async def handle_task_exception(self, error: Exception) -> None:
        if client_went_away(error):
            logger.debug("A websocket closed while an operation was sending: %r", error)
            return
        await super().handle_task_exception(error)

    async def handle_message(self, message: Any) -> None:
        if _malformed(message, "subscribe"):
            await self.handle_invalid_message("Invalid message")  # the protocol's 4400
            return
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        await super().send_message(_coded(message))


class LegacyWSHandler(BaseGraphQLWSHandler):
    async def handle(self) -> None:
        timeout = asyncio.create_task(self._close_without_init())
        try:
            await super().handle()
        except RefusedMessage as refused:
            # this protocol ignores text that is not JSON, but JSON beyond a limit closes the socket
            # as on graphql-transport-ws, after the error message this protocol has for the connection
            error = {"message": refused.reason, "extensions": {"code": BAD_USER_INPUT}}
            await self.send_message({"type": "connection_error", "payload": error})
            await self.websocket.close(code=INVALID_MESSAGE, reason=refused.reason)
        finally:
            timeout.cancel()

    async def _close_without_init(self) -> None:
        """``USER_TASKS_WS_INIT_TIMEOUT`` for this protocol too, which has no timeout of its own."""
        await asyncio.sleep(self.view.connection_init_wait_timeout.total_seconds())
        if not self.connection_acknowledged:
            await self.websocket.close(code=4408, reason="Connection initialisation timeout")

    async def handle_message(self, message: Any) -> None:
        if _malformed(message, "start"):
            return  # ignored, as this protocol ignores invalid JSON and unknown types
        await super().handle_message(message)

    async def send_message(self, message: Any) -> None:
        await super().send_message(_coded(message))


class UserTasksConsumer(GraphQLWSConsumer):
    """``USER_TASKS_WS_AUTHENTICATE`` may name ``f(connection_params, scope) -> user | None``: a user it
    returns replaces the session's (e.g. from a signed token); returning None keeps the session's,
    raising ``PermissionError`` refuses the connection (close code 4403).

    The socket has no channel-layer channel of its own: its subscriptions receive events through
    the process's hub (``user_tasks_graphql.live.hub``), so a layer outage never closes sockets."""

    channel_layer_alias = "user_tasks_graphql.no-layer-per-socket"
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler

    async def connect(self) -> None:
        publisher.use_server_loop(asyncio.get_running_loop())
        await super().connect()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Refuse a message larger than ``USER_TASKS_WS_MAX_MESSAGE_BYTES`` before parsing it: one
        multi-megabyte string literal would hold the event loop, and every other socket, for seconds."""
        limit = conf.ws_max_message_bytes()
        if text_data is not None and len(text_data) > limit // 4 and len(text_data.encode()) > limit:
            await self.close(code=MESSAGE_TOO_BIG, reason=f"Messages are limited to {limit} bytes")
            return
        await super().receive(text_data=text_data, bytes_data=bytes_data)

    def decode_json(self, data: str | bytes) -> object:
        """Strawberry reads every message through this hook. Ours raises ``RefusedMessage`` for JSON
        beyond a limit (``json_decoding``), which the handlers turn into a 4400 close; what
        ``json.loads`` raised instead ended the handler and left the socket open and deaf."""
        return decode(data, conf.ws_max_message_depth())

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """A socket closed for a frame or message it refused gets one log line saying why (no
        traceback): its client is faulty or hostile, and the operator should see which."""
        if code in REFUSALS:
            logger.warning("Closed a websocket with %s: %r", code, reason)
        await super().close(code=code, reason=reason)

    async def on_ws_connect(self, context: Any) -> Any:
        authenticate = conf.ws_authenticate()
        if authenticate is not None:
            params = context.get("connection_params") if isinstance(context, dict) else None
            try:
                user = await sync_to_async(authenticate)(params if isinstance(params, dict) else {}, self.scope)
            except PermissionError as exc:
                raise ConnectionRejectionError({"reason": str(exc) or "forbidden"}) from exc
            except Exception as exc:  # a hook fed a token of the wrong type: refuse, never hang the socket
                logger.warning("USER_TASKS_WS_AUTHENTICATE raised %r: connection refused", exc)
                raise ConnectionRejectionError({"reason": "forbidden"}) from exc
            if user is not None:
                self.scope["user"] = user
        return UNSET


def consumer_options() -> dict[str, Any]:
    """The consumer's limits, from settings."""
    return {
        "max_subscriptions_per_connection": conf.ws_max_subscriptions(),
        "connection_init_wait_timeout": datetime.timedelta(seconds=conf.ws_init_timeout()),
        "allowed_origins": conf.ws_allowed_origins(),
    }
