"""Generated GraphQL documents (hypothesis-graphql, from our own schema) against the HTTP endpoint:
never a 500, never a traceback or SQL, always a contract error code, and another user's data never
changes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import graphql
import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import Mode, from_schema

from example_site.demo.schema import schema
from user_tasks_graphql.models import UserTaskArtifact, UserTaskStatus

pytestmark = pytest.mark.django_db

SDL = schema.as_str()
CODES = {"UNAUTHENTICATED", "NOT_FOUND", "FORBIDDEN", "BAD_USER_INPUT", "INTERNAL_SERVER_ERROR"}
LEAKS = ("Traceback", "SELECT ", "psycopg", "sqlite3", 'File "/')


def _string(value: str) -> graphql.StringValueNode:
    return graphql.StringValueNode(value=value)


# the world's rows have these uuids, so generated documents hit real tasks as often as missing ones
KNOWN = [uuid.UUID(int=n) for n in range(1, 7)]

SCALARS = {
    "UUID": (st.sampled_from(KNOWN) | st.uuids()).map(lambda u: _string(str(u))),
    "DateTime": st.datetimes(timezones=st.timezones()).map(lambda d: _string(d.isoformat())),
}


@pytest.fixture
def world(db: Any) -> dict[str, Any]:
    users = get_user_model().objects
    alice, bob = users.create_user("alice"), users.create_user("bob")
    known = iter(KNOWN)
    for owner in (alice, bob):
        group = UserTaskStatus.objects.create(
            user=owner,
            task_id=str(uuid.uuid4()),
            task_class="celery.group",
            is_container=True,
            name=f"{owner} group",
            total_steps=2,
            uuid=next(known),
        )
        for i in range(2):
            child = UserTaskStatus.objects.create(
                user=owner,
                task_id=str(uuid.uuid4()),
                parent=group,
                uuid=next(known),
                task_class="demo.demo_task",
                name=f"{owner} {i}",
                total_steps=1,
                state="In Progress",
            )
            UserTaskArtifact.objects.create(status=child, text=f"{owner} secret {i}")
    return {"alice": alice, "bob": bob}


def snapshot(user: Any) -> list[tuple]:
    return list(UserTaskStatus.objects.filter(user=user).order_by("pk").values_list(
        "pk", "state", "state_text", "completed_steps", "total_steps", "name", "seq"))  # fmt: skip


def check(response: Any) -> None:
    assert response.status_code != 500, response.content[:2000]
    text = response.content.decode(errors="replace")
    assert not any(leak in text for leak in LEAKS), text[:2000]
    if response.status_code == 200 or response.headers.get("Content-Type", "").startswith("application/json"):
        body = response.json()
        for error in body.get("errors") or []:
            assert error.get("extensions", {}).get("code") in CODES, error
            assert error["extensions"]["code"] != "INTERNAL_SERVER_ERROR", error


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))


@FUZZ
@given(data=st.data())
def test_generated_queries_and_mutations_as_another_user(world: dict[str, Any], data: Any):
    client = Client()
    client.force_login(world["bob"])
    before = snapshot(world["alice"])
    document = data.draw(from_schema(SDL, custom_scalars=SCALARS))
    response = client.post("/graphql/", json.dumps({"query": document}), content_type="application/json")
    check(response)
    assert snapshot(world["alice"]) == before, f"bob changed alice's tasks with:\n{document}"
    assert "alice secret" not in response.content.decode(), f"bob read alice's artifacts with:\n{document}"


@FUZZ
@given(data=st.data())
def test_generated_invalid_documents(world: dict[str, Any], data: Any):
    client = Client()
    client.force_login(world["alice"])
    document = data.draw(from_schema(SDL, custom_scalars=SCALARS, mode=Mode.NEGATIVE))
    response = client.post("/graphql/", json.dumps({"query": document}), content_type="application/json")
    check(response)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_documents_anonymous(world: dict[str, Any], data: Any):
    document = data.draw(from_schema(SDL, custom_scalars=SCALARS))
    response = Client().post("/graphql/", json.dumps({"query": document}), content_type="application/json")
    check(response)
    assert "secret" not in response.content.decode()
