"""A few hundred sockets on one server process: every subscriber gets the event, delivered to the
process once and fanned out to its subscriptions by the hub."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from websockets.typing import Subprotocol

from tests.testapp import tasks

from .conftest import Server, Worker, session_cookie

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SOCKETS = 300
QUERY = "subscription { userTaskStatuses { name state } }"


async def listen(server: Server, cookie: str, live: set[int], results: list[str]) -> None:
    headers = {"Origin": server.http, "Cookie": f"sessionid={cookie}"}
    async with websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")],
                                  additional_headers=headers, open_timeout=30) as ws:  # fmt: skip
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
        async for raw in ws:
            message = json.loads(raw)
            assert message["type"] == "next", message
            node = message["payload"]["data"]["userTaskStatuses"]
            live.add(id(asyncio.current_task()))
            if node["name"] == "StepTask: for everyone" and node["state"] == "SUCCEEDED":
                results.append(node["name"])
                return


async def every_subscription_live(user: Any, live: set[int], count: int) -> None:
    """A list subscription sends nothing until a change: start small tasks until each has seen one."""
    for attempt in range(30):
        await sync_to_async(tasks.step_task.delay)(user.id, f"warm-up {attempt}")
        await asyncio.sleep(1)
        if len(live) == count:
            return
    pytest.fail(f"only {len(live)} of {count} subscriptions became live")


async def test_300_subscribers_on_one_server_all_receive(server: Server, worker: Worker):
    user = await sync_to_async(get_user_model().objects.create_user)("crowd", password="x")
    cookie = await sync_to_async(session_cookie)(user)
    live: set[int] = set()
    results: list[str] = []
    listeners = [asyncio.create_task(listen(server, cookie, live, results)) for _ in range(SOCKETS)]
    await every_subscription_live(user, live, SOCKETS)
    await sync_to_async(tasks.progress_task.delay)(user.id, "for everyone", total_steps=2)
    await asyncio.wait_for(asyncio.gather(*listeners), 60)
    assert results == ["StepTask: for everyone"] * SOCKETS
    assert "Too many connections" not in server.output()
    assert "Exception in ASGI application" not in server.output()
