"""Delivery mechanics: latest-value buffering, msgpack-safe payloads, one read per event for many subscribers."""

import uuid
from typing import Any

import msgpack
import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.db.backends.utils import CursorWrapper
from django.db.models import F

from user_tasks_graphql.core.events import load_events
from user_tasks_graphql.live.groups import status_group
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus
from user_tasks_graphql.schema.live import LatestEvents

from .wsclient import GraphQLSocket, session_cookie


def event(key: str, seq: int, state: str = "In Progress") -> dict[str, Any]:
    return {"uuid": key, "seq": seq, "state": state}


async def test_a_slow_reader_gets_only_the_newest_event_per_task():
    events = LatestEvents(accept=lambda m: True)
    for item in [event("a", seq) for seq in range(1, 1001)] + [event("b", 1, "Succeeded"), event("a", 1001, "Failed")]:
        events.offer(item)  # everything arrives while the reader is busy
    assert len(events._pending) == 2, "the server keeps one event per task, not a backlog"
    reader = events.__aiter__()
    got = [await anext(reader), await anext(reader)]
    assert got == [event("a", 1001, "Failed"), event("b", 1, "Succeeded")]


async def test_known_and_rejected_events_are_skipped():
    events = LatestEvents(accept=lambda m: m["uuid"] == "a")
    events.seen("a", 5)
    for item in [event("a", 3), event("a", 5), event("x", 9)]:
        events.offer(item)
    assert not events._pending
    events.offer(event("a", 6))
    assert await anext(events.__aiter__()) == event("a", 6)


@pytest.mark.django_db(transaction=True)
def test_event_payloads_are_msgpack_safe(user: Any):
    status = UserTaskStatus.objects.create(user=user, task_id="t", task_class="c", name="n", total_steps=1)
    [payload] = load_events(UserTaskStatus, [status.pk])
    assert msgpack.unpackb(msgpack.packb(payload)) == payload


@pytest.fixture
def count_queries(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every SQL statement from any thread (async resolvers run the ORM in a worker thread)."""
    statements: list[str] = []
    original = CursorWrapper.execute

    def execute(self: Any, sql: str, params: Any = None) -> Any:
        statements.append(sql)
        return original(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", execute)
    return statements


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fields", "most_queries"), [("state completedSteps stateText", 0), ("state artifacts { text }", 2)]
)
async def test_one_event_to_50_subscribers(
    application: Any, alice: Any, fields: str, count_queries: list[str], most_queries: int
):
    status = await UserTaskStatus.objects.acreate(
        user=alice, task_id=str(uuid.uuid4()), task_class="c", name="n", total_steps=10, state="In Progress"
    )
    await UserTaskArtifact.objects.acreate(status=status, text="a")
    cookie = await session_cookie(alice)
    sockets = []
    for _ in range(3):  # 20 subscriptions per socket at most
        socket = GraphQLSocket(application, cookie)
        await socket.connect()
        sockets.append(socket)
    subscriptions = [(sockets[i % 3], str(i)) for i in range(50)]
    query = f"subscription($u: UUID!) {{ userTaskStatus(uuid: $u) {{ {fields} }} }}"
    for socket, op_id in subscriptions:
        await socket.subscribe(op_id, query, {"u": str(status.uuid)})

    async def one_message_per_subscription() -> dict[str, Any]:
        results = {}
        for socket in sockets:
            for _ in range(sum(1 for s, _ in subscriptions if s is socket)):
                message = await socket.receive()
                assert message["type"] == "next", message
                results[message["id"]] = message["payload"]["data"]["userTaskStatus"]
        return results

    assert len(await one_message_per_subscription()) == 50  # the snapshots
    await UserTaskStatus.objects.filter(pk=status.pk).aupdate(completed_steps=7, seq=F("seq") + 1)
    [payload] = await sync_to_async(load_events)(UserTaskStatus, [status.pk])
    count_queries.clear()
    await get_channel_layer().group_send(status_group(status.uuid), payload)
    received = await one_message_per_subscription()
    assert sorted(received, key=int) == [str(i) for i in range(50)]
    assert {node["state"] for node in received.values()} == {"IN_PROGRESS"}
    assert len(count_queries) <= most_queries, count_queries
    for socket in sockets:
        await socket.close()
