"""The channel layer's Redis goes away for 10 s while a task runs, then comes back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from websockets.typing import Subprotocol

from tests.testapp import tasks
from user_tasks_graphql.models import UserTaskStatus

from .conftest import PrivateRedis, Server, Worker, session_cookie, wait_for

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

QUERY = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { state completedSteps } }"


async def watch(server: Server, cookie: str, status_uuid: str, seen: list[dict[str, Any]]) -> int:
    """Follow the task until it is finished, reconnecting whenever the socket drops; return reconnects."""
    headers = {"Origin": server.http, "Cookie": f"sessionid={cookie}"}
    reconnects = -1
    while True:
        reconnects += 1
        try:
            async with websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")],
                                          additional_headers=headers) as ws:  # fmt: skip
                await ws.send(json.dumps({"type": "connection_init"}))
                await ws.recv()
                await ws.send(json.dumps({"id": "1", "type": "subscribe",
                                          "payload": {"query": QUERY, "variables": {"u": status_uuid}}}))  # fmt: skip
                async for raw in ws:
                    message = json.loads(raw)
                    if message["type"] == "next" and message["payload"].get("data"):
                        seen.append(message["payload"]["data"]["userTaskStatus"])
                    if message["type"] == "complete" and seen and seen[-1]["state"] == "SUCCEEDED":
                        return reconnects
                    if message["type"] in ("complete", "error"):
                        break
        except (OSError, websockets.ConnectionClosed):
            pass
        await asyncio.sleep(0.5)


async def test_tasks_finish_and_pushes_resume_after_a_redis_outage(
    layer_redis: PrivateRedis, start_worker: Callable[..., Worker], start_server: Callable[..., Server]
):
    env = {"TEST_CHANNEL_REDIS_URL": layer_redis.url, "TEST_USER_TASKS_PUBLISH_RETRY_AFTER": "1"}
    worker = await sync_to_async(start_worker)(**env)
    server = await sync_to_async(start_server)(**env)
    user = await sync_to_async(get_user_model().objects.create_user)("outage", password="x")
    cookie = await sync_to_async(session_cookie)(user)
    result = await sync_to_async(tasks.progress_task.delay)(user.id, "long", step_seconds=0.5, total_steps=40)
    status = await UserTaskStatus.objects.aget(task_id=result.id)
    seen: list[dict[str, Any]] = []
    watcher = asyncio.create_task(watch(server, cookie, str(status.uuid), seen))
    while len(seen) < 3:
        await asyncio.sleep(0.1)
    layer_redis.kill()
    await asyncio.sleep(10)
    during = (await UserTaskStatus.objects.aget(pk=status.pk)).completed_steps
    assert during > 3, "the task must keep running while Redis is down"
    layer_redis.start()
    reconnects = await asyncio.wait_for(watcher, 60)
    final = await UserTaskStatus.objects.aget(pk=status.pk)
    assert (final.state, final.completed_steps) == ("Succeeded", 40)
    assert seen[-1] == {"state": "SUCCEEDED", "completedSteps": 40}
    log = worker.output()
    assert log.count("Live task updates are not being published") == 1, "one warning per outage, not per update"
    assert log.count("Live task updates are published again") == 1
    assert server.process.poll() is None, "the ASGI server must keep running"
    assert reconnects == 0, "the socket stays open: the server catches its subscriptions up after the outage"
    wait_for(lambda: "Live task updates are received again" in server.output(), timeout=10, what="recovery")
    assert server.output().count("Live task updates are not being received") == 1
    assert server.output().count("Live task updates are received again") == 1
