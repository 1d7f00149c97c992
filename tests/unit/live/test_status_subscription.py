"""userTaskStatus over a websocket: snapshot first, every newer state, completion, authorization."""

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async

from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus
from user_tasks_graphql.routing import websocket_application
from user_tasks_graphql.schema import schema

from .wsclient import LEGACY_WS, TRANSPORT_WS, GraphQLSocket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SUB = """subscription($u: UUID!) { userTaskStatus(uuid: $u) {
  id uuid state stateText completedSteps totalSteps percentComplete isFinished } }"""


@pytest.fixture(autouse=True)
def write_every_increment(settings: Any) -> None:
    settings.USER_TASKS_PROGRESS_INTERVAL = 0


async def make_status(user: Any, **fields: Any) -> UserTaskStatus:
    defaults = {"task_id": str(uuid.uuid4()), "task_class": "tests.sample", "name": "Export", "total_steps": 3}
    return await UserTaskStatus.objects.acreate(user=user, **{**defaults, **fields})


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_snapshot_then_each_change_then_complete(application: Any, alice: Any, protocol: str):
    status = await make_status(alice)
    socket = GraphQLSocket(application, await session_cookie(alice), protocol=protocol)
    await socket.connect()
    await socket.subscribe("1", SUB, {"u": str(status.uuid)})
    snapshot = (await socket.next_payload("1"))["data"]["userTaskStatus"]
    assert (snapshot["state"], snapshot["completedSteps"], snapshot["isFinished"]) == ("PENDING", 0, False)

    await sync_to_async(status.start)()
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"]["state"] == "IN_PROGRESS"
    await sync_to_async(status.set_state)("Exporting part 1")
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"]["stateText"] == "Exporting part 1"
    seen = []
    for _ in range(3):
        await sync_to_async(status.increment_completed_steps)()
        seen.append((await socket.next_payload("1"))["data"]["userTaskStatus"]["completedSteps"])
    assert seen == [1, 2, 3]
    await sync_to_async(status.succeed)()
    final = (await socket.next_payload("1"))["data"]["userTaskStatus"]
    assert (final["state"], final["isFinished"], final["percentComplete"]) == ("SUCCEEDED", True, 100.0)
    assert final["id"] == snapshot["id"], "events carry the query's id, so Apollo's cache merges them"
    await socket.expect_complete("1")
    await socket.close()


async def test_finished_task_sends_its_state_and_completes(application: Any, alice: Any):
    status = await make_status(alice, state="Failed")
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB, {"u": str(status.uuid)})
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"]["state"] == "FAILED"
    await socket.expect_complete("1")
    await socket.close()


async def test_artifacts_are_in_the_finished_event(application: Any, alice: Any):
    status = await make_status(alice, state="In Progress")
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    query = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { state artifacts { name text } } }"
    await socket.subscribe("1", query, {"u": str(status.uuid)})
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"]["artifacts"] == []

    def finish() -> None:
        UserTaskArtifact.objects.create(status=status, text="the export")
        status.succeed()

    await sync_to_async(finish)()
    payloads = []
    while True:
        message = await socket.receive()
        if message["type"] == "complete":
            break
        payloads.append(message["payload"]["data"]["userTaskStatus"])
    assert payloads[-1] == {"state": "SUCCEEDED", "artifacts": [{"name": "Output", "text": "the export"}]}
    await socket.close()


async def test_deleted_task_completes_the_subscription(application: Any, alice: Any):
    status = await make_status(alice, state="In Progress")
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB, {"u": str(status.uuid)})
    await socket.next_payload("1")
    await sync_to_async(status.delete)()
    await socket.expect_complete("1")
    await socket.close()


@pytest.mark.parametrize("whose", ["missing", "other"])
async def test_missing_or_foreign_task_is_not_found(application: Any, alice: Any, bob: Any, whose: str):
    target = uuid.uuid4() if whose == "missing" else (await make_status(bob)).uuid
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB, {"u": str(target)})
    payload = await socket.next_payload("1")
    assert payload.get("data") is None
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    await socket.expect_complete("1")
    await socket.close()


async def test_anonymous_socket_is_accepted_and_each_operation_fails(application: Any, alice: Any):
    status = await make_status(alice)
    socket = GraphQLSocket(application, cookie=None)
    connected, _ = await socket.connect()
    assert connected
    await socket.subscribe("1", SUB, {"u": str(status.uuid)})
    payload = await socket.next_payload("1")
    assert [e["extensions"]["code"] for e in payload["errors"]] == ["UNAUTHENTICATED"]
    assert "data" not in payload or payload["data"] is None
    await socket.expect_complete("1")
    await socket.close()


async def test_cross_origin_handshake_is_refused(application: Any, alice: Any):
    socket = GraphQLSocket(application, await session_cookie(alice), origin=b"http://evil.example")
    connected, _ = await socket.connect(init=False)
    assert not connected


async def test_bad_uuid_is_bad_user_input(application: Any, alice: Any):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB, {"u": "nope"})
    message = await socket.receive()
    errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
    assert {e["extensions"]["code"] for e in errors} == {"BAD_USER_INPUT"}
    await socket.close()


async def test_stale_and_repeated_events_are_dropped(application: Any, alice: Any):
    from channels.layers import get_channel_layer

    from user_tasks_graphql.core.events import load_events
    from user_tasks_graphql.live.groups import status_group

    status = await make_status(alice, state="In Progress")
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB, {"u": str(status.uuid)})
    await socket.next_payload("1")
    [old] = await sync_to_async(load_events)(UserTaskStatus, [status.pk])
    layer = get_channel_layer()
    await layer.group_send(status_group(status.uuid), old)  # seq of the snapshot: already known
    await sync_to_async(status.increment_completed_steps)()
    assert (await socket.next_payload("1"))["data"]["userTaskStatus"]["completedSteps"] == 1
    await layer.group_send(status_group(status.uuid), old)  # older than what the client has
    assert await socket.nothing_more()
    await socket.close()


@pytest.mark.parametrize(
    ("origin", "scheme", "allowed"),
    [
        (b"http://testserver", "ws", True),
        (b"HTTP://TestServer:80", "ws", True),  # the same origin, spelt otherwise
        (b"https://testserver", "ws", False),  # another scheme is another origin
        (b"http://testserver:8080", "ws", False),  # and another port
        (b"https://testserver", "wss", True),  # a page served over TLS
        (b"http://testserver", "wss", False),
        (b"http://localhost:5173", "ws", True),  # listed in USER_TASKS_WS_ALLOWED_ORIGINS
        (b"https://localhost:5173", "ws", False),
        (b"null", "ws", False),
    ],
)
async def test_only_this_sites_origin_and_the_listed_ones_open_a_socket(
    alice: Any, settings: Any, origin: bytes, scheme: str, allowed: bool
):
    settings.USER_TASKS_WS_ALLOWED_ORIGINS = ["http://localhost:5173"]
    application = websocket_application(schema)
    socket = GraphQLSocket(application, await session_cookie(alice), origin=origin)
    socket.communicator.scope["scheme"] = scheme
    connected, _ = await socket.connect(init=False)
    assert connected is allowed
    if connected:
        await socket.close()


async def test_a_host_not_in_allowed_hosts_is_refused(alice: Any):
    socket = GraphQLSocket(websocket_application(schema), await session_cookie(alice), origin=b"http://evil.example")
    socket.communicator.scope["headers"] = [
        (b"host", b"evil.example") if key == b"host" else (key, value)
        for key, value in socket.communicator.scope["headers"]
    ]
    connected, _ = await socket.connect(init=False)
    assert not connected


def test_a_malformed_allowed_origin_fails_when_the_application_is_built(settings: Any):
    settings.USER_TASKS_WS_ALLOWED_ORIGINS = ["localhost:5173/path"]
    with pytest.raises(ValueError, match="Invalid origin"):
        websocket_application(schema)
