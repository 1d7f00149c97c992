"""Live progress end to end: a real Celery worker, Redis channel layer, uvicorn, and real clients
(Python gql over both subprotocols, Node's graphql-ws)."""

from __future__ import annotations

import asyncio
import http.cookiejar
import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from gql import Client, GraphQLRequest
from gql.transport.websockets import WebsocketsTransport

from tests.testapp import tasks
from user_tasks_graphql.models import UserTaskStatus

from .conftest import REPO, Server, Worker, session_cookie

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

STATUS = """subscription($u: UUID!) { userTaskStatus(uuid: $u) {
  id state stateText completedSteps totalSteps percentComplete isFinished artifacts { name text } } }"""
LIST = "subscription { userTaskStatuses { name state completedSteps } }"
PROTOCOLS = [WebsocketsTransport.GRAPHQLWS_SUBPROTOCOL, WebsocketsTransport.APOLLO_SUBPROTOCOL]


def transport(server: Server, cookie: str, protocol: str) -> WebsocketsTransport:
    return WebsocketsTransport(
        url=server.ws, subprotocols=[protocol], headers={"Origin": server.http, "Cookie": f"sessionid={cookie}"}
    )


async def follow(server: Server, cookie: str, status_uuid: str, protocol: str) -> list[dict[str, Any]]:
    """Every state the subscription delivers, until the server completes it."""
    seen = []
    async with Client(transport=transport(server, cookie, protocol), fetch_schema_from_transport=False) as session:
        request = GraphQLRequest(STATUS, variable_values={"u": status_uuid})
        async for data in session.subscribe(request):
            seen.append(data["userTaskStatus"])
    return seen


@pytest.fixture
def alice(db: Any) -> Any:
    return get_user_model().objects.create_user("alice", password="x")


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_progress_reaches_the_client_live(server: Server, worker: Worker, alice: Any, protocol: str):
    cookie = await sync_to_async(session_cookie)(alice)
    result = await sync_to_async(tasks.progress_task.delay)(alice.id, "export", step_seconds=0.15, total_steps=8)
    status = await UserTaskStatus.objects.aget(task_id=result.id)
    seen = await asyncio.wait_for(follow(server, cookie, str(status.uuid), protocol), 60)
    steps = [state["completedSteps"] for state in seen]
    assert steps == sorted(steps), f"progress must never go back: {steps}"
    assert len(set(steps)) >= 3, f"the client must see the bar move, not just the end: {steps}"
    texts = {state["stateText"] for state in seen}
    assert any(text.startswith("Step ") and text.endswith(" of 8") for text in texts), texts
    final = seen[-1]
    assert (final["state"], final["completedSteps"], final["percentComplete"], final["isFinished"]) == (
        "SUCCEEDED",
        8,
        100.0,
        True,
    )
    assert final["artifacts"] == [{"name": "Output", "text": "1,2,3,4,5,6,7,8"}]
    assert len({state["id"] for state in seen}) == 1


def http_cancel(server: Server, cookie: str, status_uuid: str) -> dict[str, Any]:
    """A second client: the SPA's cancel button, as an HTTP POST with session cookie and CSRF token."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(f"{server.http}/accounts/login/").read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    body = json.dumps(
        {"query": "mutation($u: UUID!) { cancelUserTask(uuid: $u) { state } }", "variables": {"u": status_uuid}}
    ).encode()
    request = urllib.request.Request(
        f"{server.http}/graphql/",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-CSRFToken": csrf,
            "Origin": server.http,
            "Referer": f"{server.http}/",
            "Cookie": f"sessionid={cookie}; csrftoken={csrf}",
        },
    )
    return json.loads(urllib.request.urlopen(request).read())


async def test_cancel_from_a_second_client_reaches_the_first(server: Server, worker: Worker, alice: Any):
    cookie = await sync_to_async(session_cookie)(alice)
    result = await sync_to_async(tasks.wait_for_cancel_task.delay)(alice.id, "long", timeout=30)
    status = await UserTaskStatus.objects.aget(task_id=result.id)
    watcher = asyncio.create_task(follow(server, cookie, str(status.uuid), PROTOCOLS[0]))
    while (await UserTaskStatus.objects.aget(pk=status.pk)).state != "In Progress":
        await asyncio.sleep(0.05)
    response = await sync_to_async(http_cancel)(server, cookie, str(status.uuid))
    assert response == {"data": {"cancelUserTask": {"state": "CANCELED"}}}
    seen = await asyncio.wait_for(watcher, 30)
    assert seen[-1]["state"] == "CANCELED"
    assert seen[-1]["isFinished"] is True


async def test_another_user_sees_nothing_and_idle_sockets_stay_alive(server: Server, worker: Worker, alice: Any):
    bob = await sync_to_async(get_user_model().objects.create_user)("bob", password="x")
    alice_cookie, bob_cookie = await sync_to_async(session_cookie)(alice), await sync_to_async(session_cookie)(bob)
    received: dict[str, list[dict[str, Any]]] = {"alice": [], "bob": []}

    async def listen(who: str, cookie: str) -> None:
        async with Client(transport=transport(server, cookie, PROTOCOLS[0]), fetch_schema_from_transport=False) as s:
            async for data in s.subscribe(GraphQLRequest(LIST)):
                received[who].append(data["userTaskStatuses"])

    listeners = [asyncio.create_task(listen("alice", alice_cookie)), asyncio.create_task(listen("bob", bob_cookie))]
    await asyncio.sleep(7)  # idle longer than redis-py's 5 s default socket timeout
    await sync_to_async(tasks.progress_task.delay)(alice.id, "quiet start", total_steps=2)
    for _ in range(300):
        if received["alice"] and received["alice"][-1]["state"] == "SUCCEEDED":
            break
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)
    for listener in listeners:
        listener.cancel()
    assert received["alice"][-1] == {"name": "StepTask: quiet start", "state": "SUCCEEDED", "completedSteps": 2}
    assert received["bob"] == [], "bob must not learn anything about alice's tasks"


def test_node_graphql_ws_client(server: Server, worker: Worker, alice: Any):
    node_modules = REPO / "tests" / "js" / "node_modules"
    assert node_modules.exists(), "run `make test` (it installs the JavaScript clients with npm)"
    cookie = session_cookie(alice)
    result = tasks.progress_task.delay(alice.id, "from node", step_seconds=0.1, total_steps=5)
    status = UserTaskStatus.objects.get(task_id=result.id)
    run = subprocess.run(
        [
            "node",
            str(Path(node_modules).parent / "subscribe.mjs"),
            server.ws,
            server.http,
            f"sessionid={cookie}",
            STATUS,
            json.dumps({"u": str(status.uuid)}),
        ],
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in run.stdout.splitlines()]
    assert lines[-1] == {"complete": True}
    states = [line["data"]["userTaskStatus"] for line in lines[:-1]]
    assert states[-1]["state"] == "SUCCEEDED"
    assert states[-1]["completedSteps"] == 5
    assert [s["completedSteps"] for s in states] == sorted(s["completedSteps"] for s in states)
