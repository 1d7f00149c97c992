"""The gapless list under concurrent writers, against real processes: a client that follows
``userTaskStatusChanges`` from its list query's watermark, leaving at random moments (mid-replay
too) and coming back with the newest watermark it got, ends with exactly the database's list.

The writers, all at once: a Celery worker (two processes) running progress tasks; transactions in
this process that hold a change for a while and commit it after newer ones, with an older timestamp
(some publish no event at all, so only a replay can bring them); and deletions. A watermark that is
a time would skip the late commits; a replay whose messages carried the new watermark would lose
what a client leaving halfway did not read.
"""

from __future__ import annotations

import asyncio
import datetime
import http.client
import json
import random
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import close_old_connections, transaction
from django.db.models import F
from django.utils import timezone
from websockets.typing import Subprotocol

from tests.integration.conftest import PrivateRedis, Server, Worker, session_cookie
from tests.testapp import tasks
from user_tasks_graphql.models import UserTaskState, UserTaskStatus

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FIELDS = "uuid seq state completedSteps name"
LIST = f"query {{ userTaskStatuses(first: 100) {{ watermark edges {{ node {{ {FIELDS} }} }} }} }}"
SUB = (
    "subscription($since: String) { userTaskStatusChanges(since: $since) "
    f"{{ kind watermark deletedUuid status {{ {FIELDS} }} }} }}"
)
CSRF = "k" * 32
TASKS, LATE_WRITES = 24, 30


class ListClient:
    """What a SPA keeps: the rows by uuid (the newest seq wins) and the newest watermark."""

    def __init__(self, server: Server, cookie: str) -> None:
        self.server, self.cookie = server, cookie
        self.rows: dict[str, dict[str, Any]] = {}
        self.watermark = ""
        self.visits = 0
        self.replayed = 0

    def load(self) -> None:
        headers = {"Cookie": f"sessionid={self.cookie}; csrftoken={CSRF}", "X-CSRFToken": CSRF,
                   "Content-Type": "application/json", "Origin": self.server.http}  # fmt: skip
        connection = http.client.HTTPConnection("127.0.0.1", self.server.port, timeout=30)
        connection.request("POST", "/graphql/", json.dumps({"query": LIST}), headers)
        body = json.loads(connection.getresponse().read())
        connection.close()
        page = body["data"]["userTaskStatuses"]
        self.rows = {edge["node"]["uuid"]: edge["node"] for edge in page["edges"]}
        self.watermark = page["watermark"]

    def apply(self, message: dict[str, Any]) -> None:
        if message["kind"] == "CHANGED":
            node = message["status"]
            known = self.rows.get(node["uuid"])
            if known is None or node["seq"] > known["seq"]:
                self.rows[node["uuid"]] = node
        elif message["kind"] == "DELETED":
            self.rows.pop(message["deletedUuid"], None)
        self.watermark = message["watermark"]  # after applying: leaving now resumes after this one

    async def follow(self, ws: Any, until: Callable[[], bool], timeout: float) -> None:
        """Read messages on an open subscription until ``until()`` holds after a SYNCED."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            message = json.loads(await asyncio.wait_for(ws.recv(), max(0.1, deadline - loop.time())))
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            event = message["payload"]["data"]["userTaskStatusChanges"]
            self.apply(event)
            if event["kind"] == "SYNCED" and until():
                return

    async def visit(self, stay: float, until_synced: bool = False, at_most: int | None = None) -> None:
        """One connection: subscribe from the newest watermark, read for ``stay`` seconds (or until
        SYNCED, or ``at_most`` messages: halfway through a replay), then leave without a word."""
        self.visits += 1
        headers = {"Origin": self.server.http, "Cookie": f"sessionid={self.cookie}"}
        async with websockets.connect(self.server.ws, subprotocols=[Subprotocol("graphql-transport-ws")],
                                      additional_headers=headers) as ws:  # fmt: skip
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            payload = {"query": SUB, "variables": {"since": self.watermark}}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            deadline = asyncio.get_running_loop().time() + stay
            while True:
                left = 30.0 if until_synced else deadline - asyncio.get_running_loop().time()
                if left <= 0:
                    break
                try:
                    message = json.loads(await asyncio.wait_for(ws.recv(), left))
                except TimeoutError:
                    break
                assert message["type"] == "next", message
                assert "errors" not in message["payload"], message
                event = message["payload"]["data"]["userTaskStatusChanges"]
                self.apply(event)
                if event["kind"] != "SYNCED":
                    self.replayed += 1
                elif until_synced:
                    break
                if at_most is not None and (at_most := at_most - 1) == 0:
                    break
            ws.transport.abort()  # no close handshake: as a dropped network


def late_writer(user_id: int, stop: threading.Event, failures: list[BaseException]) -> None:
    """Changes committed after newer ones, stamped before them; some publish nothing."""
    rng = random.Random(7)
    try:
        for index in range(LATE_WRITES):
            if stop.is_set():
                break
            stamp = timezone.now() - datetime.timedelta(seconds=30)
            with transaction.atomic():
                mine = UserTaskStatus.objects.filter(user_id=user_id, parent=None)
                quiet = mine.filter(task_class=tasks.step_task.name).order_by("?").first()
                loud = mine.filter(task_class=tasks.progress_task.name).order_by("?").first()
                if quiet is not None and index % 3 == 0:  # no event: only a replay brings it
                    mine.filter(pk=quiet.pk).update(name=f"renamed quietly {index}", modified=stamp, seq=F("seq") + 1)
                elif loud is not None and index % 3 == 1:
                    loud.set_name(f"renamed {index}")
                else:
                    UserTaskStatus.objects.create(user_id=user_id, task_id=str(uuid.uuid4()), task_class="late",
                                                  name=f"created late {index}", total_steps=1)  # fmt: skip
                threading.Event().wait(rng.uniform(0.1, 0.6))  # newer commits happen meanwhile
            if index % 4 == 3:
                finished = UserTaskStatus.objects.filter(
                    user_id=user_id, parent=None, task_class=tasks.progress_task.name, state=UserTaskState.SUCCEEDED
                )
                doomed = finished.order_by("?").first()
                if doomed is not None:
                    doomed.delete()
    except BaseException as exc:  # reported by the test
        failures.append(exc)
    finally:
        close_old_connections()


def database_rows(user_id: int) -> dict[str, dict[str, Any]]:
    rows = UserTaskStatus.objects.filter(user_id=user_id, parent=None)
    return {
        str(row.uuid): {
            "uuid": str(row.uuid),
            "seq": row.seq,
            "state": UserTaskState(row.state).name,
            "completedSteps": row.completed_steps,
            "name": row.name,
        }
        for row in rows
    }


async def test_a_client_following_the_watermark_ends_with_the_database_list(
    start_worker: Callable[..., Worker], start_server: Callable[..., Server]
):
    env = {"TEST_USER_TASKS_WATERMARK_INTERVAL": "0.3"}
    await sync_to_async(start_worker)(**env)
    server = await sync_to_async(start_server)(**env)
    user = await sync_to_async(get_user_model().objects.create_user)("follower", password="x")
    for index in range(3):
        await sync_to_async(tasks.step_task.delay)(user.id, f"before {index}")
    client = ListClient(server, await sync_to_async(session_cookie)(user))
    await sync_to_async(client.load)()

    stop, failures = threading.Event(), []
    writer = threading.Thread(target=late_writer, args=(user.id, stop, failures))
    writer.start()
    results = []
    for index in range(TASKS):
        results.append(await sync_to_async(tasks.progress_task.delay)(
            user.id, f"task {index}", step_seconds=0.05, total_steps=8))  # fmt: skip
        await client.visit(random.uniform(0.05, 0.4), at_most=random.choice([None, 1, 2]))
        await asyncio.sleep(random.uniform(0, 0.2))
    while writer.is_alive() or not await sync_to_async(all)(result.ready() for result in results):
        await client.visit(random.uniform(0.05, 0.6), at_most=random.choice([None, 1, 2, 3]))
        await asyncio.sleep(random.uniform(0, 0.3))
    writer.join()
    assert failures == []

    await client.visit(0, until_synced=True)  # back once more, after the last change
    expected = await sync_to_async(database_rows)(user.id)
    assert client.rows == expected
    assert any(row["name"].startswith("renamed quietly") for row in expected.values()), "a quiet change stayed"
    assert any(row["name"].startswith("created late") for row in expected.values())
    assert client.visits > 20
    assert client.replayed > 0


async def test_a_client_connected_through_a_layer_outage_ends_with_the_database_list(
    layer_redis: PrivateRedis, start_worker: Callable[..., Worker], start_server: Callable[..., Server]
):
    """The channel layer's Redis restarted (its data gone) while tasks progress, finish and are
    deleted: the socket stays open, and what the outage swallowed comes from the database."""
    env = {"TEST_CHANNEL_REDIS_URL": layer_redis.url, "TEST_USER_TASKS_WATERMARK_INTERVAL": "0.3",
           "TEST_USER_TASKS_PUBLISH_RETRY_AFTER": "1"}  # fmt: skip
    await sync_to_async(start_worker)(**env)
    server = await sync_to_async(start_server)(**env)
    user = await sync_to_async(get_user_model().objects.create_user)("outage-follower", password="x")
    client = ListClient(server, await sync_to_async(session_cookie)(user))
    await sync_to_async(client.load)()
    headers = {"Origin": server.http, "Cookie": f"sessionid={client.cookie}"}
    async with websockets.connect(server.ws, subprotocols=[Subprotocol("graphql-transport-ws")],
                                  additional_headers=headers) as ws:  # fmt: skip
        await ws.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        payload = {"query": SUB, "variables": {"since": client.watermark}}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        await client.follow(ws, lambda: True, 10)
        results = [
            await sync_to_async(tasks.progress_task.delay)(user.id, f"task {index}", step_seconds=0.2, total_steps=10)
            for index in range(6)
        ]
        await client.follow(ws, lambda: len(client.rows) == 6, 10)
        layer_redis.kill()
        finished = await sync_to_async(UserTaskStatus.objects.filter(user=user).order_by("created").first)()
        assert finished is not None
        await sync_to_async(finished.delete)()  # during the outage: its event is lost
        await asyncio.sleep(4)
        layer_redis.start()
        while not await sync_to_async(all)(result.ready() for result in results):
            await asyncio.sleep(0.2)
        expected = await sync_to_async(database_rows)(user.id)
        await client.follow(ws, lambda: client.rows == expected, 30)
    assert len(expected) == 5
    assert all(row["state"] == "SUCCEEDED" for row in expected.values())
    assert server.output().count("Live task updates are not being received") == 1, "the outage was noticed"
