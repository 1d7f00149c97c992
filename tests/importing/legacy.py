"""Rows made through django-user-tasks' own API, the import command, and reading the result back
over our GraphQL API."""

from __future__ import annotations

import datetime
import io
import uuid
from typing import Any

from django.core.management import call_command
from django.test import Client
from user_tasks.models import UserTaskArtifact as LegacyArtifact
from user_tasks.models import UserTaskStatus as LegacyStatus

from tests.unit.api.helpers import gql

STATUS_QUERY = """query($uuid: UUID!) { userTaskStatus(uuid: $uuid) {
  uuid taskId taskClass name state stateText completedSteps totalSteps attempts isContainer created modified
  parent { uuid } children { uuid }
  artifacts { uuid name text url fileUrl created modified status { uuid } }
} }"""


def legacy_status(user: Any, **fields: Any) -> LegacyStatus:
    """A django-user-tasks status as its own tests make them (Pending, 5 steps)."""
    defaults: dict[str, Any] = {
        "task_id": str(uuid.uuid4()),
        "task_class": "myproject.tasks.export",
        "name": "Export",
        "total_steps": 5,
    }
    return LegacyStatus.objects.create(user=user, **{**defaults, **fields})


def backdate(row: LegacyStatus | LegacyArtifact, created: datetime.datetime, modified: datetime.datetime) -> None:
    """Give a row old timestamps (its fields stamp the current time on every save)."""
    type(row).objects.filter(pk=row.pk).update(created=created, modified=modified)
    row.refresh_from_db()


def run_import(*args: str, **options: Any) -> list[str]:
    """The command's output lines."""
    out = io.StringIO()
    call_command("import_django_user_tasks", *args, stdout=out, **options)
    return out.getvalue().splitlines()


def summary(output: list[str]) -> list[str]:
    """The output without its progress lines (each ends "read" or "placed")."""
    return [line for line in output if not line.endswith((" read", " placed"))]


def read_status(client: Client, status_uuid: uuid.UUID) -> dict[str, Any]:
    result = gql(client, STATUS_QUERY, {"uuid": str(status_uuid)})
    assert result.errors == [], result.errors
    node: dict[str, Any] = result.data["userTaskStatus"]
    assert node is not None, f"status {status_uuid} not visible over GraphQL"
    return node


def timestamp(value: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(value)
