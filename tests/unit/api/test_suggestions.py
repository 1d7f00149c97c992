"""Without introspection, no error says "Did you mean ...?": over HTTP and both websocket protocols,
from validation (the document) and from execution (the variables)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import strawberry
from asgiref.sync import async_to_sync
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory

from user_tasks_graphql.routing import websocket_application
from user_tasks_graphql.schema import Mutation, Query, Subscription, build_schema
from user_tasks_graphql.views import graphql_view

from ..live.wsclient import LEGACY_WS, TRANSPORT_WS, GraphQLSocket

FILTERED = "query($f: UserTaskStatusFilter) { userTaskStatuses(filters: $f) { totalCount } }"
# (document, variables): one typo each, of a kind graphql-core has a suggestion for
TYPOS = {
    "field": ("{ userTaskStatu { uuid } }", None),
    "argument": ("{ userTaskStatuses(firs: 1) { totalCount } }", None),
    "enum value": ("{ userTaskStatuses(filters: {state: [SUCCEDED]}) { totalCount } }", None),
    "input field": ("{ userTaskStatuses(filters: {stat: [SUCCEEDED]}) { totalCount } }", None),
    "type": ("query($f: UserTaskStatusFiltr) { userTaskStatuses(filters: $f) { totalCount } }", None),
    "variable's enum value": (FILTERED, {"f": {"state": ["SUCCEDED"]}}),
    "variable's input field": (FILTERED, {"f": {"stat": ["SUCCEEDED"]}}),
}
SUBSCRIPTION_TYPOS = {
    "field": ("subscription { userTaskStatuse { uuid } }", None),
    "variable's enum value": (
        "subscription($f: UserTaskStatusFilter) { userTaskStatuses(filters: $f) { uuid } }",
        {"f": {"state": ["SUCCEDED"]}},
    ),
}


@strawberry.input(one_of=True)
class Pick:
    a: str | None = strawberry.UNSET
    b: str | None = strawberry.UNSET


@strawberry.type
class StrawberryRulesQuery:
    @strawberry.field
    def pick(self, choice: Pick) -> str:
        return "picked"

    @strawberry.field
    def echo(self, value: strawberry.Maybe[str] = None) -> str:
        return "echoed"


def schema_with(settings: Any, introspection: bool) -> Any:
    settings.USER_TASKS_GRAPHQL_INTROSPECTION = introspection
    return build_schema(query=Query, mutation=Mutation, subscription=Subscription)


def over_http(schema: Any, query: str, variables: dict | None) -> tuple[int, dict[str, Any]]:
    request = RequestFactory().post(
        "/graphql/", json.dumps({"query": query, "variables": variables}), content_type="application/json"
    )
    request.user = AnonymousUser()
    request._dont_enforce_csrf_checks = True
    response = async_to_sync(graphql_view(schema))(request)
    return response.status_code, json.loads(response.content)


@pytest.mark.parametrize("typo", TYPOS)
def test_no_suggestions_over_http_without_introspection(settings: Any, typo: str):
    status, body = over_http(schema_with(settings, introspection=False), *TYPOS[typo])
    assert status == 200
    assert body["errors"], body
    for error in body["errors"]:
        assert "Did you mean" not in error["message"], error
        assert error["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.mark.parametrize("typo", TYPOS)
def test_suggestions_stay_with_introspection(settings: Any, typo: str):
    """Where the schema is open anyway (DEBUG, or the setting on), the hints help the developer."""
    _, body = over_http(schema_with(settings, introspection=True), *TYPOS[typo])
    assert any("Did you mean" in error["message"] for error in body["errors"]), body


def test_one_executor_class_per_executor(settings: Any):
    first, second = schema_with(settings, introspection=False), schema_with(settings, introspection=False)
    assert first.execution_context_class is second.execution_context_class


@pytest.mark.parametrize("document", ['{ pick(choice: {a: "x", b: "y"}) }', "{ echo(value: null) }"])
def test_strawberrys_own_rules_still_validate_without_suggestions(settings: Any, document: str):
    """Validation without suggestions runs Strawberry's own rules too (``@oneOf`` inputs and
    ``Maybe`` arguments): the document is refused before execution, with no path."""
    settings.USER_TASKS_GRAPHQL_INTROSPECTION = False
    result = build_schema(query=StrawberryRulesQuery).execute_sync(document)
    assert result.data is None
    assert [error.path for error in result.errors or []] == [None], result.errors


async def ws_error_messages(schema: Any, protocol: str, query: str, variables: dict | None) -> list[str]:
    socket = GraphQLSocket(websocket_application(schema), protocol=protocol)
    await socket.connect()
    await socket.subscribe("1", query, variables)
    message = await socket.receive()
    await socket.close()
    assert message.get("id") == "1", message
    payload = message["payload"]
    errors = payload if isinstance(payload, list) else payload.get("errors") or [payload]
    assert errors, message
    return [error["message"] for error in errors]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
@pytest.mark.parametrize("typo", SUBSCRIPTION_TYPOS)
async def test_no_suggestions_over_websockets_without_introspection(settings: Any, protocol: str, typo: str):
    messages = await ws_error_messages(schema_with(settings, introspection=False), protocol, *SUBSCRIPTION_TYPOS[typo])
    assert not [message for message in messages if "Did you mean" in message], messages


@pytest.mark.django_db(transaction=True)
async def test_suggestions_stay_over_websockets_with_introspection(settings: Any):
    messages = await ws_error_messages(
        schema_with(settings, introspection=True), TRANSPORT_WS, *SUBSCRIPTION_TYPOS["field"]
    )
    assert any("Did you mean" in message for message in messages), messages
