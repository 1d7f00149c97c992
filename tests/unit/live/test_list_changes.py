"""userTaskStatusChanges over a websocket: a list query's watermark, the replay after it, deletions,
the SYNCED confirmation, resuming from a message's watermark, and the coded refusals."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from strawberry import relay

from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.schema import list_changes as list_changes_module

from ..factories import make_waiting
from .wsclient import GraphQLSocket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SUB = """subscription($since: String, $f: UserTaskStatusFilter) {
  userTaskStatusChanges(since: $since, filters: $f) {
    kind watermark deletedUuid deletedId status { uuid name state seq }
  }
}"""
LIST = "query { userTaskStatuses(first: 5) { watermark edges { node { uuid } } } }"
EVERY_ROW_REPLAYED = connection.vendor != "postgresql"  # SQLite resumes by sending every matching row


@pytest.fixture(autouse=True)
def write_every_increment(settings: Any) -> None:
    settings.USER_TASKS_PROGRESS_INTERVAL = 0


def list_watermark(user: Any) -> str:
    client = Client()
    client.force_login(user)
    body = client.post("/graphql/", {"query": LIST}, content_type="application/json").json()
    assert "errors" not in body, body
    return str(body["data"]["userTaskStatuses"]["watermark"])


async def subscribed(application: Any, user: Any, variables: dict[str, Any]) -> GraphQLSocket:
    socket = GraphQLSocket(application, await session_cookie(user))
    await socket.connect()
    await socket.subscribe("1", SUB, variables)
    return socket


async def messages_until_synced(socket: GraphQLSocket) -> list[dict[str, Any]]:
    got = []
    while True:
        payload = await socket.next_payload("1")
        assert "errors" not in payload, payload
        got.append(payload["data"]["userTaskStatusChanges"])
        if got[-1]["kind"] == "SYNCED":
            return got


async def next_message(socket: GraphQLSocket) -> dict[str, Any]:
    payload = await socket.next_payload("1")
    assert "errors" not in payload, payload
    return dict(payload["data"]["userTaskStatusChanges"])


async def test_without_since_it_confirms_at_once_then_sends_changes_and_deletions(application: Any, alice: Any):
    socket = await subscribed(application, alice, {})
    (synced,) = await messages_until_synced(socket)
    assert synced["status"] is None
    assert synced["watermark"]

    task = await sync_to_async(make_waiting)(alice, "report")
    created = await next_message(socket)
    assert (created["kind"], created["status"]["name"], created["status"]["state"]) == ("CHANGED", "report", "PENDING")
    assert created["watermark"] == synced["watermark"], "live messages carry the last read's watermark"

    await sync_to_async(task.delete)()
    deleted = await next_message(socket)
    assert deleted["kind"] == "DELETED"
    assert deleted["status"] is None
    assert deleted["deletedUuid"] == str(task.uuid)
    assert deleted["deletedId"] == str(relay.GlobalID("UserTaskStatus", str(task.uuid)))
    assert await socket.nothing_more()
    await socket.close()


async def test_changes_between_the_query_and_the_subscription_are_replayed(application: Any, alice: Any, bob: Any):
    def before() -> tuple[UserTaskStatus, UserTaskStatus, UserTaskStatus]:
        return make_waiting(alice, "quiet"), make_waiting(alice, "finishes"), make_waiting(alice, "deleted")

    quiet, finishes, deleted = await sync_to_async(before)()
    mark = await sync_to_async(list_watermark)(alice)

    def meanwhile() -> UserTaskStatus:
        finishes.start()
        finishes.succeed()
        deleted.delete()
        make_waiting(bob, "bob's")
        return make_waiting(alice, "new")

    new = await sync_to_async(meanwhile)()
    socket = await subscribed(application, alice, {"since": mark})
    got = await messages_until_synced(socket)
    changed = {m["status"]["name"]: m["status"]["state"] for m in got if m["kind"] == "CHANGED"}
    expected = {"finishes": "SUCCEEDED", "new": "PENDING"}
    if EVERY_ROW_REPLAYED:
        expected["quiet"] = "PENDING"
    assert changed == expected
    assert [m["deletedUuid"] for m in got if m["kind"] == "DELETED"] == [str(deleted.uuid)]
    assert [m["kind"] for m in got][-1] == "SYNCED"
    assert {m["watermark"] for m in got[:-1]} == {mark}, "a client leaving mid-replay resumes from before it"
    assert got[-1]["watermark"] != mark

    await sync_to_async(new.start)()
    live = await next_message(socket)
    assert (live["kind"], live["status"]["name"], live["status"]["state"]) == ("CHANGED", "new", "IN_PROGRESS")
    assert quiet.uuid  # untouched, and (PostgreSQL) not sent again
    await socket.close()


async def test_a_client_resumes_from_the_last_watermark_it_received(application: Any, alice: Any):
    socket = await subscribed(application, alice, {})
    (synced,) = await messages_until_synced(socket)
    task = await sync_to_async(make_waiting)(alice, "running")
    await next_message(socket)
    await socket.close()

    def while_away() -> UserTaskStatus:
        task.start()
        task.succeed()
        return make_waiting(alice, "started while away")

    other = await sync_to_async(while_away)()
    socket = await subscribed(application, alice, {"since": synced["watermark"]})
    got = await messages_until_synced(socket)
    changed = {m["status"]["name"]: m["status"]["state"] for m in got if m["kind"] == "CHANGED"}
    assert changed == {"running": "SUCCEEDED", "started while away": "PENDING"}
    assert other.uuid
    await socket.close()


async def test_the_replay_keeps_to_the_viewer_and_the_filter(application: Any, alice: Any, bob: Any):
    mark = await sync_to_async(list_watermark)(alice)

    def meanwhile() -> None:
        make_waiting(alice, "report").fail("x")
        make_waiting(alice, "export").fail("y")
        make_waiting(bob, "bob's report").fail("z")
        bobs = make_waiting(bob, "bob's deleted")
        bobs.delete()

    await sync_to_async(meanwhile)()
    socket = await subscribed(application, alice, {"since": mark, "f": {"nameContains": "report"}})
    got = await messages_until_synced(socket)
    assert [(m["kind"], m["status"] and m["status"]["name"]) for m in got] == [("CHANGED", "report"), ("SYNCED", None)]
    await socket.close()


@pytest.mark.parametrize("since", ["", "not a watermark", "gAAAAABlZ" + "x" * 80])
async def test_a_watermark_this_server_did_not_give_is_refused_with_a_code(application: Any, alice: Any, since: str):
    socket = await subscribed(application, alice, {"since": since})
    payload = await socket.next_payload("1")
    assert payload["errors"][0]["extensions"]["code"] == "WATERMARK_EXPIRED", payload
    assert "Traceback" not in str(payload)
    await socket.expect_complete("1")
    await socket.close()


async def test_a_watermark_past_the_retention_is_refused_with_a_code(application: Any, alice: Any, settings: Any):
    mark = await sync_to_async(list_watermark)(alice)
    settings.USER_TASKS_WATERMARK_RETENTION = 0.001
    socket = await subscribed(application, alice, {"since": mark})
    payload = await socket.next_payload("1")
    assert payload["errors"][0]["extensions"]["code"] == "WATERMARK_EXPIRED", payload
    assert "older than" in payload["errors"][0]["message"]
    await socket.close()


async def test_the_watermark_moves_on_after_live_changes(application: Any, alice: Any, settings: Any):
    settings.USER_TASKS_WATERMARK_INTERVAL = 0.2
    socket = await subscribed(application, alice, {})
    (first,) = await messages_until_synced(socket)
    assert await socket.nothing_more(0.5), "no live change, no read: the watermark stays"
    await sync_to_async(make_waiting)(alice, "one")
    changed, synced = await next_message(socket), await next_message(socket)
    assert changed["kind"] == "CHANGED"
    assert changed["watermark"] == first["watermark"]
    assert synced["kind"] == "SYNCED"
    assert synced["watermark"] != first["watermark"]
    assert synced["status"] is None, "the change came live: the read sends it not again"
    await socket.close()

    later = await sync_to_async(make_waiting)(alice, "two")
    socket = await subscribed(application, alice, {"since": synced["watermark"]})
    got = await messages_until_synced(socket)
    names = [m["status"]["name"] for m in got if m["kind"] == "CHANGED"]
    assert names == (["one", "two"] if EVERY_ROW_REPLAYED else ["two"]), "resumed from the newer watermark"
    assert later.uuid
    await socket.close()


async def test_anonymous_sockets_are_refused(application: Any, transactional_db: Any):
    socket = GraphQLSocket(application)
    await socket.connect()
    await socket.subscribe("1", SUB, {})
    payload = await socket.next_payload("1")
    assert payload["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED", payload
    await socket.close()


@pytest.mark.parametrize("when", ["before the read", "after the read"])
async def test_a_change_committed_around_the_replay_read_arrives_once_either_way(
    application: Any, alice: Any, monkeypatch: Any, when: str
):
    """The subscription listens before it reads: a change committed between the two is in the read
    (and its event, arriving too, is not sent again); one committed right after the read arrives live."""
    mark = await sync_to_async(list_watermark)(alice)
    task = await sync_to_async(make_waiting)(alice, "task")
    read = list_changes_module._read

    def read_with_a_change_around(*args: Any, **kwargs: Any) -> Any:
        if when == "before the read":
            task.start()
        changes = read(*args, **kwargs)
        if when == "after the read":
            task.start()
        return changes

    monkeypatch.setattr(list_changes_module, "_read", read_with_a_change_around)
    socket = await subscribed(application, alice, {"since": mark})
    got = await messages_until_synced(socket)
    if when == "after the read":
        got.append(await next_message(socket))
    states = [m["status"]["state"] for m in got if m["kind"] == "CHANGED"]
    if when == "before the read":
        assert states == ["IN_PROGRESS"], "the read saw the change"
    else:
        assert states == ["PENDING", "IN_PROGRESS"], "the read saw the new task, the event its start"
    assert await socket.nothing_more(), "the change's own event is not sent a second time"
    await socket.close()


async def test_superusers_follow_everyones_tasks_and_replay_everyones_deletions(application: Any, alice: Any, bob: Any):
    admin = await sync_to_async(get_user_model().objects.create_superuser)("admin", password="x")
    mark = await sync_to_async(list_watermark)(admin)

    def meanwhile() -> str:
        make_waiting(alice, "alice's")
        gone = make_waiting(bob, "bob's, deleted")
        gone_uuid = str(gone.uuid)
        gone.delete()
        return gone_uuid

    gone_uuid = await sync_to_async(meanwhile)()
    socket = await subscribed(application, admin, {"since": mark})
    got = await messages_until_synced(socket)
    assert [(m["kind"], m["status"] and m["status"]["name"], m["deletedUuid"]) for m in got] == [
        ("CHANGED", "alice's", None),
        ("DELETED", None, gone_uuid),
        ("SYNCED", None, None),
    ]
    await sync_to_async(make_waiting)(bob, "bob's, live")
    assert (await next_message(socket))["status"]["name"] == "bob's, live"
    await socket.close()


def staff_see_everything(user: Any, queryset: Any) -> Any:
    return queryset if user.is_staff else queryset.none()


async def test_a_widened_rule_lets_a_viewer_follow_others_tasks(application: Any, alice: Any, bob: Any, settings: Any):
    settings.USER_TASKS_VISIBLE_STATUSES = f"{__name__}.staff_see_everything"

    def staff() -> Any:
        return get_user_model().objects.create_user("carol", password="x", is_staff=True)

    carol = await sync_to_async(staff)()
    mark = await sync_to_async(list_watermark)(carol)
    await sync_to_async(make_waiting)(alice, "alice's")
    watcher = await subscribed(application, carol, {"since": mark})
    assert [m["status"] and m["status"]["name"] for m in await messages_until_synced(watcher)] == ["alice's", None]
    plain = await subscribed(application, bob, {"since": mark})
    assert [m["kind"] for m in await messages_until_synced(plain)] == ["SYNCED"], "the rule does not widen bob's"

    await sync_to_async(make_waiting)(alice, "alice's, live")
    assert (await next_message(watcher))["status"]["name"] == "alice's, live"
    assert await plain.nothing_more()
    await watcher.close()
    await plain.close()


async def test_a_watermark_selected_in_a_fragment_is_taken_before_the_rows(application: Any, alice: Any):
    query = """query { userTaskStatuses(first: 5) { ...Page } }
fragment Page on UserTaskStatusConnection { ... on UserTaskStatusConnection { watermark } edges { node { uuid } } }"""

    def read() -> dict[str, Any]:
        client = Client()
        client.force_login(alice)
        return dict(client.post("/graphql/", {"query": query}, content_type="application/json").json())

    body = await sync_to_async(read)()
    assert "errors" not in body, body
    await sync_to_async(make_waiting)(alice, "after the page")
    socket = await subscribed(application, alice, {"since": body["data"]["userTaskStatuses"]["watermark"]})
    got = await messages_until_synced(socket)
    assert [m["status"]["name"] for m in got if m["kind"] == "CHANGED"] == ["after the page"]
    await socket.close()
