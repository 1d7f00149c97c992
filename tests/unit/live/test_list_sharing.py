"""Live list changes: one execution per change and request, each subscription's message with its
own watermark (aliased or not), whatever ``since`` each subscribed with."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from graphql import ExecutionResult, GraphQLError

from user_tasks_graphql.schema.list_sharing import PLACEHOLDER, MarkedResults
from user_tasks_graphql.schema.shared_results import SharedResults

from ..factories import make_waiting
from .wsclient import GraphQLSocket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SUB = """subscription($since: String) {
  userTaskStatusChanges(since: $since) { kind mark: watermark status { name seq } }
}"""
OTHER = "subscription { userTaskStatusChanges { kind watermark status { name state } } }"


async def synced_socket(application: Any, user: Any, query: str, variables: dict[str, Any]) -> tuple[Any, str]:
    socket = GraphQLSocket(application, await session_cookie(user))
    await socket.connect()
    await socket.subscribe("1", query, variables)
    while True:
        message = (await socket.next_payload("1"))["data"]["userTaskStatusChanges"]
        if message["kind"] == "SYNCED":
            return socket, message.get("mark") or message["watermark"]


async def test_subscriptions_share_one_execution_and_keep_their_own_watermarks(
    application: Any, alice: Any, event_executions: list[Any]
):
    first, first_mark = await synced_socket(application, alice, SUB, {})
    second, second_mark = await synced_socket(application, alice, SUB, {"since": first_mark})
    third, third_mark = await synced_socket(application, alice, SUB, {"since": None})
    other, other_mark = await synced_socket(application, alice, OTHER, {})
    assert len({first_mark, second_mark, third_mark, other_mark}) == 4

    await sync_to_async(make_waiting)(alice, "shared")
    got = {}
    for name, socket in (("first", first), ("second", second), ("third", third), ("other", other)):
        got[name] = (await socket.next_payload("1"))["data"]["userTaskStatusChanges"]
    assert got["first"] == {"kind": "CHANGED", "mark": first_mark, "status": {"name": "shared", "seq": 0}}
    assert got["second"] == {**got["first"], "mark": second_mark}, "since left out of the key"
    assert got["third"] == {**got["first"], "mark": third_mark}
    assert got["other"] == {
        "kind": "CHANGED",
        "watermark": other_mark,
        "status": {"name": "shared", "state": "PENDING"},
    }
    assert len(event_executions) == 2, "one execution per document"
    for socket in (first, second, third, other):
        await socket.close()


def test_a_result_kept_with_errors_is_not_shared():
    shared = SharedResults()
    marked = MarkedResults(shared, "mine")
    failed = ExecutionResult(data=None, errors=[GraphQLError("failed")])
    assert marked.keep(("k",), failed) is failed
    assert marked.get(("k",)) is None, "each subscription reports its own errors"
    good = ExecutionResult(data={"changes": {"watermark": "mine", "kind": "CHANGED"}})
    marked.keep(("k",), good)
    assert shared.get(("k",)).data == {"changes": {"watermark": PLACEHOLDER, "kind": "CHANGED"}}  # type: ignore[union-attr]
    assert MarkedResults(shared, "yours").get(("k",)).data == {"changes": {"watermark": "yours", "kind": "CHANGED"}}  # type: ignore[union-attr]
