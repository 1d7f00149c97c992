"""Load: 1,000 websocket clients (10 users x 100 connections) on one server process, each following
its user's list, while 100 tasks run over 2 worker processes.

Every client must see every finished state of its own user's tasks and nothing of anyone else's;
the server logs no error; its memory and the layer's Redis connections are recorded and must come
back down once the clients leave.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import redis
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from websockets.typing import Subprotocol

from bench.servers import rss_mib
from tests.integration.conftest import PrivateRedis, Server, Worker, session_cookie
from tests.testapp import tasks

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

USERS, CONNECTIONS, TASKS_PER_USER, STEPS = 10, 100, 10, 5
QUERY = "subscription { userTaskStatuses { name state completedSteps } }"


class Tab:
    """One of a user's open tabs: its list subscription, and what it saw."""

    def __init__(self, username: str) -> None:
        self.username = username
        self.finished: set[str] = set()
        self.foreign: list[str] = []
        self.errors: list[Any] = []
        self.ready = asyncio.Event()
        self.live = False  # an event arrived: the subscription is listening

    async def run(self, server: Server, cookie: str, leave: asyncio.Event) -> None:
        headers = {"Origin": server.http, "Cookie": f"sessionid={cookie}"}
        async with websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")],
                                      additional_headers=headers, open_timeout=60) as ws:  # fmt: skip
            await ws.send(json.dumps({"type": "connection_init"}))
            await ws.recv()
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
            self.ready.set()
            reading = asyncio.create_task(self._read(ws))
            await leave.wait()
            reading.cancel()

    async def _read(self, ws: Any) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message["type"] != "next" or "errors" in message["payload"]:
                self.errors.append(message)
                continue
            node = message["payload"]["data"]["userTaskStatuses"]
            self.live = True
            if not node["name"].startswith(f"StepTask: {self.username}-"):
                self.foreign.append(node["name"])
            elif node["state"] == "SUCCEEDED" and node["completedSteps"] == STEPS:
                self.finished.add(node["name"])


async def test_1000_clients_10_users_100_tasks(
    layer_redis: PrivateRedis, start_worker: Callable[..., Worker], start_server: Callable[..., Server]
):
    env = {"TEST_CHANNEL_REDIS_URL": layer_redis.url}  # a Redis of its own: its clients are ours alone
    server = await sync_to_async(start_server)(**env)
    layer = redis.Redis.from_url(layer_redis.url)

    def redis_clients() -> int:
        return int(layer.info("clients")["connected_clients"]) - 1  # not counting this one

    before = {"rss": rss_mib(server.process.pid), "redis": redis_clients()}
    users = [await sync_to_async(get_user_model().objects.create_user)(f"load{n}") for n in range(USERS)]
    cookies = [await sync_to_async(session_cookie)(user) for user in users]
    leave = asyncio.Event()
    tabs = [Tab(user.username) for user in users for _ in range(CONNECTIONS)]
    running = []
    for start in range(0, len(tabs), 100):  # users arrive in waves
        wave = tabs[start : start + 100]
        running += [asyncio.create_task(tab.run(server, cookies[i // CONNECTIONS], leave))
                    for i, tab in enumerate(wave, start)]  # fmt: skip
        await asyncio.wait_for(asyncio.gather(*(tab.ready.wait() for tab in wave)), 60)
    await asyncio.sleep(1)
    connected = {"rss": rss_mib(server.process.pid), "redis": redis_clients()}  # before any worker connects

    await sync_to_async(start_worker)(concurrency=10, **env)
    await sync_to_async(start_worker)(concurrency=10, **env)
    for attempt in range(30):  # a list subscription sends nothing until a change: warm them up
        for user in users:
            await sync_to_async(tasks.step_task.delay)(user.id, f"{user.username}-warm-up-{attempt}")
        await asyncio.sleep(1)
        if all(tab.live for tab in tabs):
            break
    assert all(tab.live for tab in tabs), "every subscription is listening"
    expected = {user.username: {f"StepTask: {user.username}-{n}" for n in range(TASKS_PER_USER)} for user in users}
    for n in range(TASKS_PER_USER):
        for user in users:
            await sync_to_async(tasks.progress_task.delay)(user.id, f"{user.username}-{n}", step_seconds=0.05,
                                                           total_steps=STEPS)  # fmt: skip
    peak_rss = connected["rss"]
    deadline = time.monotonic() + 180
    while not all(tab.finished == expected[tab.username] for tab in tabs) and time.monotonic() < deadline:
        peak_rss = max(peak_rss, rss_mib(server.process.pid))
        await asyncio.sleep(0.5)
    during = {"rss": peak_rss, "redis": redis_clients()}

    leave.set()
    await asyncio.gather(*running, return_exceptions=True)
    await asyncio.sleep(2)
    after = {"rss": rss_mib(server.process.pid), "redis": redis_clients()}
    print(f"\nserver RSS MiB / layer Redis clients: before {before}, {len(tabs)} connected {connected}, "
          f"tasks running (peak) {during}, after {after}")  # fmt: skip

    missing = sum(len(expected[tab.username] - tab.finished) for tab in tabs)
    assert missing == 0, f"{missing} finished states never reached their clients"
    assert [name for tab in tabs for name in tab.foreign] == [], "a client saw another user's task"
    assert [error for tab in tabs for error in tab.errors] == []
    output = server.output()
    assert "Traceback" not in output
    assert "Exception in ASGI application" not in output
    assert server.process.poll() is None
    assert connected["redis"] - before["redis"] <= 3, "1,000 clients cost the server a few Redis connections"
    assert after["redis"] <= during["redis"], "no Redis connection is left behind by the clients"
