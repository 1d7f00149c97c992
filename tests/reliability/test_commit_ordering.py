"""Commit ordering: a client never hears of a change before the database holds it.

The task writes each step inside a transaction that commits 0.1 s later. Each time a client
receives an event it reads the row at once: what it was told must never be ahead of the row.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from websockets.typing import Subprotocol

from tests.integration.conftest import Server, Worker, session_cookie
from tests.testapp import tasks
from user_tasks_graphql.models import UserTaskStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STEPS = 25
QUERY = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { state stateText completedSteps } }"
LIST = "subscription { userTaskStatuses { uuid completedSteps } }"


async def test_no_client_sees_an_event_ahead_of_the_database(
    start_worker: Callable[..., Worker], start_server: Callable[..., Server]
):
    env = {"TEST_USER_TASKS_PROGRESS_INTERVAL": "0"}  # every step written and published
    await sync_to_async(start_worker)(**env)
    server = await sync_to_async(start_server)(**env)
    user = await sync_to_async(get_user_model().objects.create_user)("ordering", password="x")
    headers = {"Origin": server.http, "Cookie": f"sessionid={await sync_to_async(session_cookie)(user)}"}
    comparisons: list[tuple[int, int]] = []  # (told, in the database when told)

    async def database_steps(status_uuid: str) -> int:
        return (await UserTaskStatus.objects.aget(uuid=status_uuid)).completed_steps

    async with websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")],
                                  additional_headers=headers) as ws:  # fmt: skip
        await ws.send(json.dumps({"type": "connection_init"}))
        await ws.recv()
        await ws.send(json.dumps({"id": "list", "type": "subscribe", "payload": {"query": LIST}}))
        await asyncio.sleep(0.5)  # the list subscription is listening
        result = await sync_to_async(tasks.slow_commit_task.delay)(user.id, "ordered", total_steps=STEPS)
        status = await UserTaskStatus.objects.aget(task_id=result.id)
        payload = {"query": QUERY, "variables": {"u": str(status.uuid)}}
        await ws.send(json.dumps({"id": "one", "type": "subscribe", "payload": payload}))
        finished = False
        while not finished:
            message = json.loads(await asyncio.wait_for(ws.recv(), 30))
            if message["type"] == "complete":
                finished = message["id"] == "one"
                continue
            assert message["type"] == "next", message
            node = next(iter(message["payload"]["data"].values()))
            in_database = await database_steps(str(status.uuid))
            comparisons.append((node["completedSteps"], in_database))
    told_ahead = [pair for pair in comparisons if pair[0] > pair[1]]
    assert told_ahead == []
    assert len(comparisons) > STEPS, "both subscriptions heard most steps"
    assert comparisons[-1][0] == STEPS
