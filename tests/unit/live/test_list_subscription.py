"""userTaskStatuses over a websocket: every visible change, new tasks included, filtered."""

from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model

from user_tasks_graphql.models import UserTaskStatus

from ..factories import make_waiting
from .wsclient import GraphQLSocket, session_cookie

pytestmark = pytest.mark.django_db(transaction=True)

SUB = "subscription($f: UserTaskStatusFilter) { userTaskStatuses(filters: $f) { name state } }"


@pytest.fixture(autouse=True)
def write_every_increment(settings: Any) -> None:
    settings.USER_TASKS_PROGRESS_INTERVAL = 0


async def received_until(socket: GraphQLSocket, last: tuple[str, str]) -> list[tuple[str, str]]:
    got: list[tuple[str, str]] = []
    while not got or got[-1] != last:
        node = (await socket.next_payload("1"))["data"]["userTaskStatuses"]
        got.append((node["name"], node["state"]))
    return got


async def names_received(socket: GraphQLSocket, count: int) -> list[tuple[str, str]]:
    got = []
    for _ in range(count):
        node = (await socket.next_payload("1"))["data"]["userTaskStatuses"]
        got.append((node["name"], node["state"]))
    return got


async def test_own_changes_and_new_tasks_arrive_and_others_do_not(application: Any, alice: Any, bob: Any):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB)
    assert await socket.nothing_more(), "a list subscription sends no snapshot"

    mine = await sync_to_async(make_waiting)(alice, "alice's task")
    await sync_to_async(make_waiting)(bob, "bob's task")
    assert await names_received(socket, 1) == [("alice's task", "PENDING")], "a new task is announced"

    def work() -> None:
        mine.start()
        mine.succeed()

    await sync_to_async(work)()
    got = await received_until(socket, ("alice's task", "SUCCEEDED"))
    lifecycle = ["PENDING", "IN_PROGRESS", "SUCCEEDED"]
    assert all(name == "alice's task" for name, _ in got)
    states = [lifecycle.index(state) for _, state in got]
    assert states == sorted(states), "in order; a state overtaken before delivery may be skipped"
    assert await socket.nothing_more()
    await socket.close()


async def test_filters_apply_to_events(application: Any, alice: Any):
    socket = GraphQLSocket(application, await session_cookie(alice))
    await socket.connect()
    await socket.subscribe("1", SUB, {"f": {"state": ["FAILED"], "nameContains": "REPORT"}})
    assert await socket.nothing_more()

    def work() -> None:
        make_waiting(alice, "report a").fail("x")
        make_waiting(alice, "export b").fail("y")
        make_waiting(alice, "report c").succeed()

    await sync_to_async(work)()
    assert await received_until(socket, ("report a", "FAILED")) == [("report a", "FAILED")]
    assert await socket.nothing_more()
    await socket.close()


async def test_children_only_with_top_level_false(application: Any, alice: Any):
    def tree() -> tuple[UserTaskStatus, UserTaskStatus]:
        chain = make_waiting(alice, "chain", is_container=True)
        return chain, make_waiting(alice, "child", parent=chain)

    _, child = await sync_to_async(tree)()
    top = GraphQLSocket(application, await session_cookie(alice))
    every = GraphQLSocket(application, await session_cookie(alice))
    for socket, filters in ((top, None), (every, {"topLevel": False})):
        await socket.connect()
        await socket.subscribe("1", SUB, {"f": filters})
        assert await socket.nothing_more()  # a list subscription sends nothing until something changes
    await sync_to_async(child.set_state)("child step")  # touches the child and the chain
    assert await names_received(top, 1) == [("chain", "IN_PROGRESS")]
    assert sorted(await names_received(every, 2)) == [("chain", "IN_PROGRESS"), ("child", "IN_PROGRESS")]
    await top.close()
    await every.close()


async def test_superuser_sees_everyones_tasks(application: Any, alice: Any):
    root = await sync_to_async(get_user_model().objects.create_superuser)("root", "r@example.com", "x")
    socket = GraphQLSocket(application, await session_cookie(root))
    await socket.connect()
    await socket.subscribe("1", SUB)
    assert await socket.nothing_more()
    await sync_to_async(lambda: make_waiting(alice, "alice's").start())()
    assert (await received_until(socket, ("alice's", "IN_PROGRESS")))[-1] == ("alice's", "IN_PROGRESS")
    await socket.close()


async def test_widened_visibility_is_checked_per_status(application: Any, alice: Any, bob: Any, settings: Any):
    settings.USER_TASKS_VISIBLE_STATUSES = "tests.testapp.permissions.staff_see_all"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, "tests.testapp.permissions.StaffViewBackend"]
    staff = await sync_to_async(get_user_model().objects.create_user)("staffer", is_staff=True)
    staff_socket = GraphQLSocket(application, await session_cookie(staff))
    bob_socket = GraphQLSocket(application, await session_cookie(bob))
    for socket in (staff_socket, bob_socket):
        await socket.connect()
        await socket.subscribe("1", SUB)
    assert await socket.nothing_more()
    await sync_to_async(lambda: make_waiting(alice, "alice's").start())()
    assert (await received_until(staff_socket, ("alice's", "IN_PROGRESS")))[-1] == ("alice's", "IN_PROGRESS")
    assert await bob_socket.nothing_more(), "joining the all-group must not show others' tasks to bob"
    await staff_socket.close()
    await bob_socket.close()
