"""Bad input gets a coded GraphQL error (or a 4xx), never a 500, a traceback or a changed row."""

import asyncio
import json
import logging
import uuid
from typing import Any

import pytest
import strawberry
from django.contrib.auth import get_user_model
from django.test import Client
from strawberry.tools import merge_types

from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.schema import Mutation, Query, build_schema

from ..factories import make_status
from .helpers import gql

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        ('{ userTaskStatus(uuid: "not-a-uuid") { name } }', None),
        ("query($u: UUID!) { userTaskStatus(uuid: $u) { name } }", {"u": "not-a-uuid"}),
        ("query($u: UUID!) { userTaskStatus(uuid: $u) { name } }", {"u": 42}),
        ("query($u: UUID!) { userTaskStatus(uuid: $u) { name } }", {}),
        ('{ userTaskStatuses(first: "ten") { totalCount } }', None),
        ("{ userTaskStatuses(filters: {state: [NOPE]}) { totalCount } }", None),
        ("{ userTaskStatus { name } }", None),
        ("{ noSuchField }", None),
        ("{ userTaskStatuses { ", None),
        ('mutation { cancelUserTask(uuid: "x") { state } }', None),
    ],
)
def test_bad_input_is_bad_user_input(as_user: Client, query: str, variables: Any):
    result = gql(as_user, query, variables)
    assert result.status_code in (200, 400)
    assert result.codes
    assert set(result.codes) == {"BAD_USER_INPUT"}
    assert "Traceback" not in json.dumps(result.body)


def test_unexpected_errors_are_masked(as_user: Client, user: Any, monkeypatch: pytest.MonkeyPatch, caplog: Any):
    status = make_status(user)

    def explode(self: Any) -> str:
        raise RuntimeError("SELECT secret FROM internals")

    monkeypatch.setattr(UserTaskStatus, "display_text", property(explode))
    result = gql(as_user, "query($u: UUID!) { userTaskStatus(uuid: $u) { name stateText } }", {"u": str(status.uuid)})
    assert result.status_code == 200
    assert result.codes == ["INTERNAL_SERVER_ERROR"]
    assert result.errors[0]["message"] == "Internal server error."
    assert "secret" not in json.dumps(result.body)
    assert "SELECT secret FROM internals" in caplog.text, "the real error is logged for operators"


def test_depth_limit(as_user: Client):
    nested = "parent { " * 12 + "name" + " }" * 12
    result = gql(as_user, f'{{ userTaskStatus(uuid: "00000000-0000-0000-0000-000000000000") {{ {nested} }} }}')
    assert result.codes == ["BAD_USER_INPUT"]
    assert "exceeds maximum operation depth" in result.errors[0]["message"]


def test_a_repeated_document_is_validated_once(as_user: Client, monkeypatch: pytest.MonkeyPatch):
    import strawberry.schema.schema as strawberry_schema

    validations: list[int] = []
    monkeypatch.setattr(strawberry_schema, "validate", _counting(strawberry_schema.validate, validations))
    query = f"{{ repeated{uuid.uuid4().hex}: userTaskStatuses {{ totalCount }} }}"  # new to the cache
    for _ in range(3):
        assert gql(as_user, query).errors == []
    assert len(validations) == 1


def test_cached_documents_still_follow_the_limit_settings(as_user: Client, settings: Any):
    query = '{ userTaskStatus(uuid: "00000000-0000-0000-0000-000000000000") { parent { parent { name } } } }'
    assert gql(as_user, query).errors == []
    settings.USER_TASKS_GRAPHQL_MAX_DEPTH = 2
    assert gql(as_user, query).codes == ["BAD_USER_INPUT"]
    settings.USER_TASKS_GRAPHQL_MAX_DEPTH = 10
    assert gql(as_user, query).errors == []
    aliases = "{ a: userTaskStatuses { totalCount } b: userTaskStatuses { totalCount } }"
    assert gql(as_user, aliases).errors == []
    settings.USER_TASKS_GRAPHQL_MAX_ALIASES = 1
    assert gql(as_user, aliases).codes == ["BAD_USER_INPUT"]


def _counting(function: Any, calls: list[int]) -> Any:
    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return function(*args, **kwargs)

    return counted


def test_alias_limit(as_user: Client):
    aliases = " ".join(f"a{i}: userTaskStatuses {{ totalCount }}" for i in range(20))
    result = gql(as_user, f"{{ {aliases} }}")
    assert result.codes == ["BAD_USER_INPUT"]


def test_token_limit(as_user: Client):
    fields = " ".join(["__typename"] * 2500)
    result = gql(as_user, f"{{ {fields} }}")
    assert result.status_code in (200, 400)
    assert set(result.codes) == {"BAD_USER_INPUT"}


def test_introspection_off_unless_allowed(settings: Any):
    settings.DEBUG = False
    settings.USER_TASKS_GRAPHQL_INTROSPECTION = False
    locked = build_schema(query=Query, mutation=Mutation)
    result = locked.execute_sync("{ __schema { types { name } } }")
    assert result.errors
    settings.USER_TASKS_GRAPHQL_INTROSPECTION = True
    assert build_schema(query=Query, mutation=Mutation).execute_sync("{ __schema { queryType { name } } }").data


def test_queries_may_use_get(as_user: Client, user: Any):
    make_status(user, name="via GET")
    response = as_user.get("/graphql/", {"query": "{ userTaskStatuses { edges { node { name } } } }"})
    assert response.status_code == 200
    assert response.json()["data"]["userTaskStatuses"]["edges"] == [{"node": {"name": "via GET"}}]


def test_mutations_never_use_get(as_user: Client, user: Any):
    status = make_status(user, state="Pending")
    response = as_user.get("/graphql/", {"query": f'mutation {{ cancelUserTask(uuid: "{status.uuid}") {{ state }} }}'})
    assert response.status_code in (400, 405)
    assert UserTaskStatus.objects.get(pk=status.pk).state == "Pending"


@pytest.fixture
def csrf_client(user: Any) -> Client:
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def test_cookie_post_without_csrf_token_is_refused(csrf_client: Client, user: Any):
    status = make_status(user, state="Pending")
    body = json.dumps({"query": f'mutation {{ cancelUserTask(uuid: "{status.uuid}") {{ state }} }}'})
    response = csrf_client.post("/graphql/", body, content_type="application/json")
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert UserTaskStatus.objects.get(pk=status.pk).state == "Pending"


def test_cookie_post_with_csrf_token_works(csrf_client: Client, user: Any):
    status = make_status(user, state="Pending")
    csrf_client.get("/accounts/login/")
    token = csrf_client.cookies["csrftoken"].value
    body = json.dumps({"query": f'mutation {{ cancelUserTask(uuid: "{status.uuid}") {{ state }} }}'})
    response = csrf_client.post("/graphql/", body, content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200
    assert response.json()["data"]["cancelUserTask"]["state"] == "CANCELED"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_cross_site_form_posts_are_refused(csrf_client: Client, user: Any, content_type: str):
    status = make_status(user, state="Pending")
    query = f'mutation {{ cancelUserTask(uuid: "{status.uuid}") {{ state }} }}'
    if content_type == "multipart/form-data":
        response = csrf_client.post("/graphql/", {"query": query})
    else:
        response = csrf_client.post("/graphql/", f"query={query}", content_type=content_type)
    assert response.status_code in (400, 403)
    assert UserTaskStatus.objects.get(pk=status.pk).state == "Pending"


@pytest.mark.parametrize("body", ["{not json", "[]", '"just a string"', '{"query": 5}'])
def test_malformed_bodies(as_user: Client, body: str):
    response = as_user.post("/graphql/", body, content_type="application/json")
    assert 400 <= response.status_code < 500
    assert b"Traceback" not in response.content


@pytest.mark.django_db(transaction=True)
def test_a_sync_resolver_that_queries_on_the_event_loop_gets_a_hint_in_the_log(caplog: Any):
    """A project's plain resolver in the merged schema, executed by the async view or consumer."""

    @strawberry.type
    class Host:
        @strawberry.field
        def users(self) -> int:
            return get_user_model().objects.count()

    merged = build_schema(query=merge_types("Query", (Host, Query)))
    with caplog.at_level(logging.ERROR, logger="user_tasks_graphql.schema"):
        result = asyncio.run(merged.execute("{ users }"))
    assert [error.extensions["code"] for error in result.errors] == ["INTERNAL_SERVER_ERROR"]
    assert result.errors[0].message == "Internal server error."
    (record,) = [r for r in caplog.records if r.name == "user_tasks_graphql.schema"]
    assert "strawberry_django.field" in record.getMessage()
