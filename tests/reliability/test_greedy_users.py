"""A user who takes more than their share, and one who reads what they should not, against a real
uvicorn process with ``DEBUG`` off: the per-user task limit, the mutations per request, the demo's
bounded calls, sealed cursors, no suggestions, the websocket's origin by scheme and port.

Each case ends as the hostile HTTP requests do: a coded error (or a refused handshake), no
traceback in the server's log, nothing of another user's changed.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import websockets
from django.contrib.auth import get_user_model
from websockets.typing import Subprotocol

from example_site.celery import app as celery_app
from tests.integration.conftest import Server, session_cookie
from user_tasks_graphql.models import UserTaskStatus

from .test_http_hostile_input import Case, post, send
from .wsclient import SERVER_FAULTS, assert_clean, owned_tasks, running_server

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

START = "mutation { startDemoTask(steps: 1, stepSeconds: 0) { uuid state } }"
LIMIT = 50  # USER_TASKS_MAX_ACTIVE_PER_USER's default, as the example site runs


@pytest.fixture(scope="module")
def server(services: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    directory = tmp_path_factory.mktemp("greedy")
    with running_server(services, directory, DJANGO_DEBUG="0", TEST_GRAPHQL_INTROSPECTION="0") as running:
        yield running
    celery_app.control.purge()  # the demo tasks published here were for users that are gone


@pytest.fixture
def greedy(server: Server) -> Iterator[tuple[Any, str]]:
    users = get_user_model().objects
    owner = users.create_user(f"owner-{uuid.uuid4().hex[:6]}")
    owned_tasks(owner, "OWNER-PRIVATE")
    before = list(UserTaskStatus.objects.filter(user=owner).order_by("pk").values_list("pk", "state", "modified"))
    user = users.create_user(f"greedy-{uuid.uuid4().hex[:6]}")
    offset = len(server.output())
    yield user, session_cookie(user)
    log = server.output()[offset:]
    assert not any(fault in log for fault in SERVER_FAULTS), log[-4000:]
    after = list(UserTaskStatus.objects.filter(user=owner).order_by("pk").values_list("pk", "state", "modified"))
    assert after == before, "another user's rows changed"


def ask(server: Server, cookie: str, body: bytes) -> dict[str, Any]:
    status, _, raw = send(server, Case(body=body, logged_in=True), cookie)
    assert status == 200, raw[:500]
    assert_clean(raw.decode(errors="replace"))
    answer: dict[str, Any] = json.loads(raw)
    return answer


def test_a_user_cannot_pass_the_task_limit(server: Server, greedy: tuple[Any, str]):
    user, cookie = greedy
    UserTaskStatus.objects.bulk_create(
        UserTaskStatus(
            user=user, task_id=str(uuid.uuid4()), task_class="demo.demo_task", name=f"waiting {n}", total_steps=1
        )
        for n in range(LIMIT - 1)
    )
    assert "errors" not in ask(server, cookie, post(START))  # the 50th
    refused = ask(server, cookie, post(START))
    (error,) = refused["errors"]
    assert error["extensions"] == {"code": "TOO_MANY_TASKS"}
    assert f"{LIMIT} unfinished tasks" in error["message"]
    assert UserTaskStatus.objects.filter(user=user).count() == LIMIT


def test_one_request_cannot_start_dozens(server: Server, greedy: tuple[Any, str]):
    user, cookie = greedy
    canvases = " ".join(
        f't{n}: startDemoCanvas(kind: "group", children: 20, steps: 1, stepSeconds: 0) {{ uuid }}' for n in range(15)
    )
    answer = ask(server, cookie, post(f"mutation {{ {canvases} }}"))
    assert [error["extensions"]["code"] for error in answer["errors"]] == ["BAD_USER_INPUT"]
    assert "At most 5 mutations" in answer["errors"][0]["message"]
    long_one = "mutation { startDemoTask(steps: 1000, stepSeconds: 10) { uuid } }"
    assert ask(server, cookie, post(long_one))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert not UserTaskStatus.objects.filter(user=user).exists()


def test_a_cursor_tells_nothing_and_cannot_be_forged(server: Server, greedy: tuple[Any, str]):
    user, cookie = greedy
    for n in range(3):
        UserTaskStatus.objects.create(user=user, task_id=str(uuid.uuid4()), task_class="t", name=f"mine {n}",
                                      total_steps=1)  # fmt: skip
    page = "query($a: String) { userTaskStatuses(first: 1, after: $a) { edges { cursor node { name } } } }"
    cursor = ask(server, cookie, post(page))["data"]["userTaskStatuses"]["edges"][0]["cursor"]
    assert "orderedcursor" not in cursor
    following = ask(server, cookie, post(page, {"a": cursor}))["data"]["userTaskStatuses"]["edges"]
    assert [edge["node"]["name"] for edge in following] == ["mine 1"]
    forged = ask(server, cookie, post(page, {"a": cursor[:-4] + "AAAA"}))
    assert [error["extensions"]["code"] for error in forged["errors"]] == ["BAD_USER_INPUT"]


def test_a_typo_names_nothing_of_the_schema(server: Server, greedy: tuple[Any, str]):
    _, cookie = greedy
    answer = ask(server, cookie, post("{ userTaskStatuse { uuid } }"))
    assert [error["extensions"]["code"] for error in answer["errors"]] == ["BAD_USER_INPUT"]
    assert "Did you mean" not in answer["errors"][0]["message"]


@pytest.mark.parametrize(
    ("origin", "opens"),
    [("http://127.0.0.1:{port}", True), ("https://127.0.0.1:{port}", False), ("http://127.0.0.1:1", False)],
)
def test_the_websocket_opens_only_for_this_sites_origin(
    server: Server, greedy: tuple[Any, str], origin: str, opens: bool
):
    _, cookie = greedy

    async def handshake() -> int:
        try:
            async with websockets.connect(
                f"ws://127.0.0.1:{server.port}/graphql/",
                subprotocols=[Subprotocol("graphql-transport-ws")],
                additional_headers={"Cookie": f"sessionid={cookie}", "Origin": origin.format(port=server.port)},
            ):
                return 101
        except websockets.InvalidStatus as refused:
            return int(refused.response.status_code)

    assert asyncio.run(handshake()) == (101 if opens else 403)
