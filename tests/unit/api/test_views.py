"""The GraphQL view's refusals: subscriptions over HTTP, and anything unforeseen as a JSON 500."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from django.test import Client
from strawberry.schema.exceptions import InvalidOperationTypeError

from user_tasks_graphql.schema import schema
from user_tasks_graphql.views import SUBSCRIPTIONS_OVER_HTTP, GraphQLView

pytestmark = pytest.mark.django_db

SUBSCRIPTION = "subscription { userTaskStatuses { uuid } }"


def refusal(response: Any, status: int, code: str) -> str:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"] == "application/json"
    body = json.loads(response.content)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"] == {"code": code}, error
    return str(error["message"])


@pytest.mark.parametrize("logged_in", [False, True])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_subscription_over_http_is_refused_as_bad_input(
    user: Any, caplog: pytest.LogCaptureFixture, method: str, logged_in: bool
):
    caplog.set_level(logging.INFO)
    client = Client(HTTP_ACCEPT="application/json")
    if logged_in:
        client.force_login(user)
    if method == "GET":
        response = client.get("/graphql/", {"query": SUBSCRIPTION})
    else:
        response = client.post("/graphql/", json.dumps({"query": SUBSCRIPTION}), content_type="application/json")
    assert refusal(response, 400, "BAD_USER_INPUT") == SUBSCRIPTIONS_OVER_HTTP
    assert "websocket" in SUBSCRIPTIONS_OVER_HTTP
    assert not [record for record in caplog.records if record.exc_info], "a traceback was logged"


def test_the_schema_executes_no_subscription():
    """``execute`` returns one result: a subscription never starts there (only ``subscribe``)."""
    with pytest.raises(InvalidOperationTypeError):
        schema.execute_sync(SUBSCRIPTION)
    assert schema.execute_sync("{ __typename }").data == {"__typename": "Query"}


def test_unforeseen_errors_are_a_logged_graphql_shaped_500(monkeypatch: pytest.MonkeyPatch, caplog: Any):
    async def broken(self: Any, request: Any, response: Any) -> Any:
        raise RuntimeError("a bug in a context factory")

    monkeypatch.setattr(GraphQLView, "get_context", broken)
    response = Client(raise_request_exception=False).post(
        "/graphql/", json.dumps({"query": "{ __typename }"}), content_type="application/json"
    )
    assert refusal(response, 500, "INTERNAL_SERVER_ERROR") == "Internal server error."
    assert b"context factory" not in response.content
    [record] = [record for record in caplog.records if record.name == "user_tasks_graphql.views"]
    assert record.exc_info is not None, "operators get the traceback"
    assert "a bug in a context factory" in caplog.text


@pytest.mark.django_db
def test_a_spa_gets_its_csrf_cookie_and_then_may_post():
    client = Client(enforce_csrf_checks=True)
    response = client.get("/user-tasks/csrf/")
    assert response.status_code == 204
    token = response.cookies["csrftoken"].value
    posted = client.post(
        "/graphql/", '{"query": "{ __typename }"}', content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert (posted.status_code, posted.json()) == (200, {"data": {"__typename": "Query"}})
    assert client.post("/user-tasks/csrf/", HTTP_X_CSRFTOKEN=token).status_code == 405
