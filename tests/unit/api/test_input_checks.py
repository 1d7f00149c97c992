"""Strings no stored text can hold (NUL, lone surrogates) are BAD_USER_INPUT in every argument, from
literals or variables, over HTTP and websockets; never an internal error with a traceback."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth import get_user_model
from django.test import Client
from graphql import parse

from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.routing import websocket_application
from user_tasks_graphql.schema import schema
from user_tasks_graphql.schema.input_checks import literal_errors, variable_errors

from ..factories import make_status
from ..live.wsclient import LEGACY_WS, TRANSPORT_WS, GraphQLSocket, session_cookie
from .helpers import gql

LIST = "query($f: UserTaskStatusFilter) { userTaskStatuses(filters: $f) { totalCount } }"
PAGE = "query($a: String) { userTaskStatuses(after: $a) { totalCount } }"
# (document, variables); json.dumps writes "\u0000" and "\ud800" as the JSON escapes a client sends
CASES = {
    "nameContains literal \\u0000": ('{ userTaskStatuses(filters: {nameContains: "a\\u0000"}) { totalCount } }', None),
    "taskClass literal \\u{0}": ('{ userTaskStatuses(filters: {taskClass: "x\\u{0}"}) { totalCount } }', None),
    "raw NUL in a block string": ('{ userTaskStatuses(filters: {nameContains: """a\x00"""}) { totalCount } }', None),
    "nameContains variable \\u0000": (LIST, {"f": {"nameContains": "\x00"}}),
    "taskClass variable \\u0000": (LIST, {"f": {"taskClass": "demo\x00"}}),
    "nameContains variable \\ud800": (LIST, {"f": {"nameContains": "\ud800"}}),
    "taskClass variable \\udfff": (LIST, {"f": {"taskClass": "x\udfffy"}}),
    "a cursor variable \\ud800": (PAGE, {"a": "\ud800"}),
    "a key of an input object": (LIST, {"f": {"\x00": True}}),
    "default value of a variable": (
        'query($n: String = "\\u0000") { userTaskStatuses(filters: {nameContains: $n}) { totalCount } }',
        None,
    ),
    "a uuid variable": (
        "mutation($u: UUID!) { cancelUserTask(uuid: $u) { state } }",
        {"u": "00000000-0000-0000-0000-00000000000\x00"},
    ),
    "the example site's startDemoCanvas": ('mutation { startDemoCanvas(kind: "chain\\u0000") { uuid } }', None),
}


def snapshot() -> list[tuple]:
    return list(UserTaskStatus.objects.order_by("pk").values_list("pk", "state", "name", "task_class", "modified"))


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_unstorable_strings_are_bad_user_input(as_user: Client, user: Any, caplog: Any, case: str):
    make_status(user, name="a task", state="Pending")
    before = snapshot()
    caplog.set_level(logging.INFO)
    result = gql(as_user, *CASES[case])
    assert result.status_code == 200
    assert result.codes == ["BAD_USER_INPUT"], result.body
    assert "NUL character" in result.errors[0]["message"], result.errors
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
    assert snapshot() == before, "a row changed (or a task started)"


@pytest.mark.django_db
def test_the_same_strings_without_nul_still_filter(as_user: Client, user: Any):
    make_status(user, name="Export \U0001f600 data")
    body = json.dumps({"query": LIST, "variables": {"f": {"nameContains": "\U0001f600"}}})  # a surrogate pair
    response = as_user.post("/graphql/", body, content_type="application/json")
    assert response.json() == {"data": {"userTaskStatuses": {"totalCount": 1}}}


def test_variables_are_walked_without_recursion():
    deep: Any = "\x00"
    for _ in range(100_000):
        deep = [deep]
    assert len(variable_errors({"clean": [{"a": ["b"]}], "deep": deep})) == 1
    assert variable_errors({"x": {"key": ["fine", 1, None, 2.5, True]}}) == []


def test_every_unstorable_literal_is_reported_at_its_place():
    document = '{ a(x: "ok", y: "\\u0000") b(z: ["\\u0000"]) }'
    first = document.index('"\\u0000"')
    places = [first + 1, document.index('"\\u0000"', first + 1) + 1]
    errors = literal_errors(parse(document))
    assert [error.locations[0].column for error in errors if error.locations] == places


@pytest.fixture
async def alice(transactional_db: Any) -> Any:
    return await sync_to_async(get_user_model().objects.create_user)("alice", password="x")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_a_subscription_filter_holding_nul_is_bad_user_input(alice: Any, caplog: Any, protocol: str):
    caplog.set_level(logging.INFO)
    socket = GraphQLSocket(websocket_application(schema), await session_cookie(alice), protocol=protocol)
    await socket.connect()
    query = "subscription($f: UserTaskStatusFilter) { userTaskStatuses(filters: $f) { uuid } }"
    await socket.subscribe("1", query, {"f": {"nameContains": "\x00"}})
    message = await socket.receive()
    assert message.get("id") == "1", message
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload["errors"]
    assert [error["extensions"]["code"] for error in errors] == ["BAD_USER_INPUT"], message
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"
    await socket.close()
