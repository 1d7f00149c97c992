"""A status as a live event: a flat dict of primitives (msgpack-safe), with its sequence number.

Events are full states, so a client keeps the one with the highest ``seq`` and may miss any
in between. The groups route one event to the status's own subscribers, its owner's list
subscribers, and the subscribers who see everything.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django.db.models import F

if TYPE_CHECKING:
    from .models import UserTaskStatus

EVENT_TYPE = "user_tasks.status"
ALL_GROUP = "user_tasks.all"
FIELDS = (
    "id", "uuid", "user_id", "task_id", "task_class", "name", "state", "state_text", "completed_steps",
    "total_steps", "attempts", "is_container", "created", "modified", "seq",
)  # fmt: skip


def status_group(status_uuid: uuid.UUID | str) -> str:
    return f"user_tasks.status.{uuid.UUID(str(status_uuid)).hex}"


def user_group(user_id: Any) -> str:
    return f"user_tasks.user.{user_id}"


def groups_for(event: dict[str, Any]) -> list[str]:
    return [status_group(event["uuid"]), user_group(event["user_id"]), ALL_GROUP]


def _primitive(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def event_from_values(values: dict[str, Any]) -> dict[str, Any]:
    event = {key: _primitive(value) for key, value in values.items()}
    event["type"] = EVENT_TYPE
    event["deleted"] = False
    return event


def load_events(pks: Iterable[int]) -> list[dict[str, Any]]:
    """The current rows as events: one query, whatever the number of rows."""
    from .models import UserTaskStatus

    rows = UserTaskStatus.objects.filter(pk__in=list(pks)).values(*FIELDS, parent_uuid=F("parent__uuid"))
    return [event_from_values(row) for row in rows]


def deletion_event(status: UserTaskStatus) -> dict[str, Any]:
    """A last event for a deleted status, newer than any it had."""
    return {
        "type": EVENT_TYPE,
        "deleted": True,
        "id": status.pk,
        "uuid": str(status.uuid),
        "user_id": status.user_id,
        "seq": status.seq + 1,
    }


def status_from_event(event: dict[str, Any]) -> UserTaskStatus:
    """An unsaved ``UserTaskStatus`` carrying the event's fields, for resolving GraphQL scalars."""
    from .models import UserTaskStatus

    status = UserTaskStatus(
        id=event["id"],
        uuid=uuid.UUID(event["uuid"]),
        user_id=event["user_id"],
        task_id=event["task_id"],
        task_class=event["task_class"],
        name=event["name"],
        state=event["state"],
        state_text=event["state_text"],
        completed_steps=event["completed_steps"],
        total_steps=event["total_steps"],
        attempts=event["attempts"],
        is_container=event["is_container"],
        created=datetime.datetime.fromisoformat(event["created"]),
        modified=datetime.datetime.fromisoformat(event["modified"]),
        seq=event["seq"],
    )
    status._state.adding = False
    return status
