"""A small graphql-transport-ws / graphql-ws client over Channels' WebsocketCommunicator."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"


async def session_cookie(user: Any) -> bytes:
    def login() -> str:
        client = Client()
        client.force_login(user)
        return client.cookies["sessionid"].value

    return f"sessionid={await sync_to_async(login)()}".encode()


class GraphQLSocket:
    def __init__(
        self,
        application: Any,
        cookie: bytes | None = None,
        origin: bytes = b"http://testserver",
        protocol: str = TRANSPORT_WS,
    ) -> None:
        headers = [(b"host", b"testserver"), (b"origin", origin)]
        if cookie:
            headers.append((b"cookie", cookie))
        self.protocol = protocol
        self.communicator = WebsocketCommunicator(application, "/graphql/", headers=headers, subprotocols=[protocol])

    async def connect(self, init: bool = True, payload: dict | None = None) -> tuple[bool, Any]:
        connected, detail = await self.communicator.connect()
        if connected and init:
            await self.send({"type": "connection_init", "payload": payload or {}})
            ack = await self.receive()
            assert ack["type"] == "connection_ack", ack
        return connected, detail

    async def send(self, message: dict[str, Any]) -> None:
        await self.communicator.send_json_to(message)

    async def receive(self, timeout: float = 3) -> dict[str, Any]:
        while True:
            message = await self.communicator.receive_json_from(timeout=timeout)
            if message.get("type") not in ("ka", "ping", "pong"):
                return message

    async def subscribe(self, op_id: str, query: str, variables: dict | None = None) -> None:
        kind = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self.send({"id": op_id, "type": kind, "payload": {"query": query, "variables": variables or {}}})

    async def next_payload(self, op_id: str, timeout: float = 3) -> dict[str, Any]:
        """The next result of ``op_id`` (``{"data": ...}`` or ``{"errors": ...}``); fails on complete."""
        message = await self.receive(timeout)
        assert message.get("id") == op_id, message
        assert message["type"] in ("next", "data"), message
        return message["payload"]

    async def expect_complete(self, op_id: str, timeout: float = 3) -> None:
        message = await self.receive(timeout)
        assert (message.get("id"), message["type"]) == (op_id, "complete"), message

    async def closed_with(self, timeout: float = 3) -> int:
        output = await self.communicator.receive_output(timeout)
        assert output["type"] == "websocket.close", output
        return int(output.get("code", 1000))

    async def nothing_more(self, timeout: float = 0.3) -> bool:
        return await self.communicator.receive_nothing(timeout=timeout)

    async def close(self) -> None:
        await self.communicator.disconnect()
