"""The websocket consumer: Strawberry's graphql-transport-ws / graphql-ws consumer with our limits,
the session user from the handshake, an optional token check on ``connection_init``, and a limit
of open sockets per user in the process (``socket_quota``)."""

from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Any

from asgiref.sync import sync_to_async
from strawberry.channels import GraphQLWSConsumer
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ConnectionInitMessage as LegacyConnectionInitMessage
from strawberry.types.unset import UNSET

from . import socket_quota
from .core import conf
from .json_decoding import RefusedMessage, decode
from .live.publisher import publisher
from .schema.errors import BAD_USER_INPUT, FORBIDDEN
from .socket_quota import TOO_MANY_CONNECTIONS, QuotaExceeded

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

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except QuotaExceeded as refused:  # before any ack: the client's graphql-ws does not retry 4429
            await self.websocket.close(code=TOO_MANY_CONNECTIONS, reason=refused.reason)

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

    async def handle_connection_init(self, message: LegacyConnectionInitMessage) -> None:
        try:
            await super().handle_connection_init(message)
        except QuotaExceeded as refused:  # this protocol's refusal, with the code the other one closes with
            error = {"message": refused.reason, "extensions": {"code": FORBIDDEN}}
            await self.send_message({"type": "connection_error", "payload": error})
            await self.websocket.close(code=TOO_MANY_CONNECTIONS, reason=refused.reason)

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
    the process's hub (``user_tasks_graphql.live.hub``), so a layer outage never closes sockets.

    A logged-in user's socket holds a slot of ``USER_TASKS_WS_MAX_CONNECTIONS_PER_USER`` from its
    ``connection_init`` (the user is final only after the token hook) until it ends."""

    channel_layer_alias = "user_tasks_graphql.no-layer-per-socket"
    graphql_transport_ws_handler_class = TransportWSHandler
    graphql_ws_handler_class = LegacyWSHandler
    slot: socket_quota.Slot | None = None
    server_closed = False  # once the server has sent its close, the protocol is over for this socket

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        """Channels' ASGI entry point, which returns however the socket ends (a close from either
        side, a client gone without a close frame, an exception, the server cancelling it): the one
        place the slot is surely given back, and the protocol handler surely stopped. Strawberry
        stops it only on a disconnect; after an exception or a cancel it would wait for messages
        forever, its subscriptions with it."""
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._give_back_slot()
            if self.run_task is not None and not self.run_task.done():
                self.run_task.cancel()

    async def connect(self) -> None:
        publisher.use_server_loop(asyncio.get_running_loop())
        await super().connect()

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Refuse a message larger than ``USER_TASKS_WS_MAX_MESSAGE_BYTES`` before parsing it: one
        multi-megabyte string literal would hold the event loop, and every other socket, for seconds.
        Messages that arrive after the server's close are dropped unread."""
        if self.server_closed:
            return
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

    async def send(self, text_data: str | None = None, bytes_data: bytes | None = None, close: bool = False) -> None:
        if not self.server_closed:  # the ASGI server raises for a send after the close
            await super().send(text_data=text_data, bytes_data=bytes_data, close=close)

    async def close(self, code: int | bool | None = None, reason: str | None = None) -> None:
        """A socket closed for a frame or message it refused gets one log line saying why (no
        traceback): its client is faulty or hostile, and the operator should see which.

        Only the first close counts: the handler may still be reading a message the client sent
        before it, and a second close would make the ASGI server raise in the handler."""
        if self.server_closed:
            return
        self.server_closed = True
        if code in REFUSALS:
            logger.warning("Closed a websocket with %s: %r", code, reason)
        self._give_back_slot()  # the server is done with the socket, whether or not its client answers
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
        counted_as = await sync_to_async(_quota_key)(self.scope.get("user"))  # a lazy user may query
        self._take_slot(counted_as)
        return UNSET

    def _take_slot(self, user_key: Any) -> None:
        """Count this socket for its user, or raise ``QuotaExceeded`` (the handlers refuse it)."""
        self._give_back_slot()  # graphql-ws allows a second connection_init: one slot per socket still
        if user_key is not None:
            self.slot = socket_quota.take(user_key, conf.ws_max_connections_per_user())

    def _give_back_slot(self) -> None:
        if self.slot is not None:
            self.slot.give_back()
            self.slot = None


def _quota_key(user: Any) -> Any:
    """What a socket is counted under: the pk of a user who may act, else None (not counted).
    Anonymous and inactive users' operations end at once with UNAUTHENTICATED, so their sockets
    hold no subscription of ours; counting them per address would refuse everyone behind one proxy
    or NAT together. Their number is the proxy's to limit."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    return user.pk


def consumer_options() -> dict[str, Any]:
    """The consumer's limits, from settings."""
    return {
        "max_subscriptions_per_connection": conf.ws_max_subscriptions(),
        "connection_init_wait_timeout": datetime.timedelta(seconds=conf.ws_init_timeout()),
        "allowed_origins": conf.ws_allowed_origins(),
    }
