"""The strawberry-django adapter: computed fields resolved inline (no thread hop per field and
row), and the same answers, in a thread each, when strawberry-django stops honouring the flag."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.test import Client
from strawberry_django.fields.base import StrawberryDjangoFieldBase
from strawberry_django.resolvers import django_resolver

from tests.unit.adapters.checks import checked_anew
from tests.unit.api.helpers import gql
from user_tasks_graphql.adapters import strawberry_django as adapter
from user_tasks_graphql.models import UserTaskStatus
from user_tasks_graphql.schema.types import UserTaskArtifactType, UserTaskStatusType

COMPUTED = {UserTaskStatusType: ["state_text", "percent_complete", "is_finished"], UserTaskArtifactType: ["file_url"]}
QUERY = "{ userTaskStatuses { edges { node { stateText percentComplete isFinished } } } }"


def test_this_strawberry_django_resolves_the_computed_fields_inline(monkeypatch: pytest.MonkeyPatch):
    with checked_anew(monkeypatch, adapter.CHECK) as warnings:
        assert adapter.CHECK.missing() == ()
    assert warnings.records == []
    for type_, names in COMPUTED.items():
        fields = {field.python_name: field for field in type_.__strawberry_definition__.fields}  # type: ignore[attr-defined]
        for name in names:
            assert fields[name].safe_resolver is fields[name].base_resolver, name


def _in_a_thread(field: Any) -> Any:
    return django_resolver(field.base_resolver, qs_hook=None)


@pytest.mark.django_db
def test_without_the_flag_one_warning_and_the_same_answers(monkeypatch: pytest.MonkeyPatch, user: Any):
    UserTaskStatus.objects.create(
        user=user, task_id=str(uuid.uuid4()), task_class="t", name="Export", total_steps=4, completed_steps=1,
        state="In Progress", state_text="Part 1",
    )  # fmt: skip
    client = Client()
    client.force_login(user)
    before = gql(client, QUERY).data
    assert before["userTaskStatuses"]["edges"] == [
        {"node": {"stateText": "Part 1", "percentComplete": 25.0, "isFinished": False}}
    ]
    with checked_anew(monkeypatch, adapter.CHECK) as warnings:
        monkeypatch.setattr(StrawberryDjangoFieldBase, "safe_resolver", property(_in_a_thread))
        assert adapter.CHECK.missing() == ("StrawberryDjangoField.safe_resolver honouring `is_async_safe`",)
        (warning,) = warnings.records
        assert "resolved in a thread each" in warning.getMessage()
        assert gql(client, QUERY).data == before
