"""One execution per event and request: subscribers asking the same thing as the same user share it."""

import uuid
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.contrib.auth import get_user_model
from django.db.models import F
from django.utils.functional import SimpleLazyObject
from graphql import ExecutionResult, GraphQLError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from user_tasks_graphql.core.events import load_events
from user_tasks_graphql.live.groups import status_group
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.routing import user_tasks_application
from user_tasks_graphql.schema import Mutation, Query, Subscription, build_schema
from user_tasks_graphql.schema.context import session_user_pk
from user_tasks_graphql.schema.shared_results import SharedResults

from .test_graphql_core_adapter import force_fallback
from .wsclient import GraphQLSocket, session_cookie

PROGRESS = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { completedSteps state } }"
NAME = "subscription($u: UUID!) { userTaskStatus(uuid: $u) { name completedSteps } }"


async def _subscribed(application: Any, user: Any, subscriptions: list[tuple[str, str]], status: Any) -> GraphQLSocket:
    socket = GraphQLSocket(application, await session_cookie(user))
    await socket.connect()
    for op_id, query in subscriptions:
        await socket.subscribe(op_id, query, {"u": str(status.uuid)})
        await socket.next_payload(op_id)  # the snapshot
    return socket


async def _payloads(socket: GraphQLSocket, count: int) -> dict[str, Any]:
    """The next ``count`` payloads by operation id, in whatever order the subscriptions send them."""
    messages = [await socket.receive() for _ in range(count)]
    assert all(message["type"] == "next" for message in messages), messages
    return {message["id"]: message["payload"] for message in messages}


async def _publish_progress(status: Any, steps: int) -> None:
    await UserTaskStatus.objects.filter(pk=status.pk).aupdate(completed_steps=steps, seq=F("seq") + 1)
    [payload] = await sync_to_async(load_events)(UserTaskStatus, [status.pk])
    await get_channel_layer().group_send(status_group(status.uuid), payload)


async def _new_status(user: Any) -> Any:
    return await UserTaskStatus.objects.acreate(
        user=user, task_id=str(uuid.uuid4()), task_class="c", name="export", total_steps=10, state="In Progress"
    )


@pytest.mark.django_db(transaction=True)
async def test_many_tabs_of_one_user_share_one_execution(application: Any, alice: Any, event_executions: list[Any]):
    status = await _new_status(alice)
    sockets = [await _subscribed(application, alice, [("1", PROGRESS), ("2", PROGRESS)], status) for _ in range(3)]
    event_executions.clear()
    await _publish_progress(status, 4)
    progress = {"data": {"userTaskStatus": {"completedSteps": 4, "state": "IN_PROGRESS"}}}
    for socket in sockets:
        assert await _payloads(socket, 2) == {"1": progress, "2": progress}
    assert len(event_executions) == 1, "six subscribers of one request: one execution"
    for socket in sockets:
        await socket.close()


@pytest.mark.django_db(transaction=True)
async def test_other_requests_and_other_users_execute_their_own(
    application: Any, alice: Any, event_executions: list[Any]
):
    admin = await sync_to_async(get_user_model().objects.create_superuser)("root", password="x")
    status = await _new_status(alice)
    owner = await _subscribed(application, alice, [("p", PROGRESS), ("n", NAME)], status)
    superuser = await _subscribed(application, admin, [("p", PROGRESS)], status)
    event_executions.clear()
    await _publish_progress(status, 6)
    progress = {"data": {"userTaskStatus": {"completedSteps": 6, "state": "IN_PROGRESS"}}}
    assert await _payloads(owner, 2) == {
        "p": progress,
        "n": {"data": {"userTaskStatus": {"name": "export", "completedSteps": 6}}},
    }
    assert await _payloads(superuser, 1) == {"p": progress}
    assert len(event_executions) == 3, "two documents for the owner, one for the superuser"
    assert len({id(root) for root in event_executions}) == 1, "all of them read the same event object"
    await owner.close()
    await superuser.close()


@pytest.mark.django_db(transaction=True)
async def test_without_graphql_cores_internals_every_tab_still_receives_each_event(
    alice: Any, event_executions: list[Any], monkeypatch: pytest.MonkeyPatch
):
    """Strawberry's own executor (adapters/graphql_core.py's fallback): nothing is shared, every
    subscription executes the event itself, and each receives it."""
    from example_site.asgi import django_application

    force_fallback(monkeypatch)
    schema = build_schema(query=Query, mutation=Mutation, subscription=Subscription)
    assert schema.execution_context_class is StrawberryGraphQLCoreExecutionContext
    application = user_tasks_application(schema, django_application)
    status = await _new_status(alice)
    sockets = [await _subscribed(application, alice, [("1", PROGRESS), ("2", NAME)], status) for _ in range(2)]
    event_executions.clear()
    await _publish_progress(status, 5)
    for socket in sockets:
        assert await _payloads(socket, 2) == {
            "1": {"data": {"userTaskStatus": {"completedSteps": 5, "state": "IN_PROGRESS"}}},
            "2": {"data": {"userTaskStatus": {"name": "export", "completedSteps": 5}}},
        }
    assert len(event_executions) == 4, "four subscriptions, four executions: nothing shared"
    for socket in sockets:
        await socket.close()


def test_results_with_errors_are_not_shared():
    shared = SharedResults()
    failed = ExecutionResult(data=None, errors=[GraphQLError("boom")])
    assert shared.keep(("a",), failed) is failed
    assert shared.get(("a",)) is None
    fine = ExecutionResult(data={"x": 1})
    shared.keep(("b",), fine)
    assert shared.get(("b",)) is fine


@pytest.mark.django_db
def test_the_viewer_key_never_loads_a_user(django_user_model: Any):
    user = django_user_model.objects.create_user("carol")
    loads: list[int] = []

    def load() -> Any:
        loads.append(1)
        return user

    lazy = SimpleLazyObject(load)
    context = {"request": type("Consumer", (), {"scope": {"user": lazy}})()}
    assert session_user_pk(context) is None, "not loaded yet: no sharing rather than a query on the event loop"
    assert not loads
    assert lazy.is_authenticated  # the subscription loads it (in a thread) before any event
    assert session_user_pk(context) == user.pk
    assert session_user_pk({"request": None}) is None
