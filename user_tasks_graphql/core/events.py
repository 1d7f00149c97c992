"""A status as an event: a flat dict of primitives (msgpack-safe), with its sequence number.

Events are full states, so a reader keeps the one with the highest ``seq`` and may miss any in
between. The core builds them from the rows it wrote; who receives them is the live side's
business (``live/groups.py``).
"""

from __future__ import annotations

import datetime
import enum
import uuid
from collections.abc import Iterable
from typing import Any

from django.db.models import F, Model

EVENT_TYPE = "user_tasks.status"
GONE_SEQ = 2**62  # newer than any real sequence number: nothing follows a deletion
FIELDS = (
    "id", "uuid", "user_id", "task_id", "task_class", "name", "state", "state_text", "completed_steps",
    "total_steps", "attempts", "is_container", "created", "modified", "started", "finished", "seq",
)  # fmt: skip


def _primitive(value: Any) -> Any:
    if isinstance(value, enum.Enum):  # a state a model instance still holds as its choice
        return value.value
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


def event_from_instance(status: Any) -> dict[str, Any]:
    """The event of a top-level status instance as it was just saved (no read)."""
    return event_from_values({**{name: getattr(status, name) for name in FIELDS}, "parent_uuid": None})


def load_events(model: type[Model], pks: Iterable[int]) -> list[dict[str, Any]]:
    """The current rows as events: one query, whatever the number of rows."""
    rows = model._default_manager.filter(pk__in=list(pks)).values(*FIELDS, parent_uuid=F("parent__uuid"))
    return [event_from_values(row) for row in rows]


def returning_clause(model: type[Model], quote: Any, names: Iterable[str] = FIELDS) -> str:
    """``RETURNING`` these columns (by attribute name; the event's by default) of an UPDATE of the
    status table, and last the parent's uuid."""
    meta = model._meta
    table = quote(meta.db_table)
    column = {field.attname: field.column for field in meta.concrete_fields}
    columns = [f"{table}.{quote(column[name])}" for name in names]
    parent = (
        f"(SELECT parent.{quote('uuid')} FROM {table} parent WHERE parent.{quote('id')} = {table}.{quote('parent_id')})"
    )
    return f" RETURNING {', '.join(columns)}, {parent}"


def events_from_rows(rows: Iterable[tuple[Any, ...]]) -> list[dict[str, Any]]:
    """Events from rows of ``returning_clause`` (values as ``load_events`` reads them)."""
    return [event_from_values(dict(zip((*FIELDS, "parent_uuid"), row, strict=True))) for row in rows]


def deletion_event(status: Any) -> dict[str, Any]:
    """A last event for a deleted status, newer than any it had or will be said to have (a change
    committed while the delete read the row carries the seq after the one read)."""
    return {**gone_event(status.uuid, status.user_id), "id": status.pk}


def gone_event(status_uuid: uuid.UUID | str, user_id: Any = None) -> dict[str, Any]:
    """A deletion event for a status known by its uuid (found missing after an outage, or a tombstone)."""
    return {
        "type": EVENT_TYPE,
        "deleted": True,
        "id": None,
        "uuid": str(status_uuid),
        "user_id": user_id,
        "seq": GONE_SEQ,
    }


def _moment(value: str | None) -> datetime.datetime | None:
    return None if value is None else datetime.datetime.fromisoformat(value)


def instance_from_event(model: type[Model], event: dict[str, Any]) -> Any:
    """An unsaved instance carrying the event's fields, for code that reads a status (GraphQL types)."""
    status = model(
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
        started=_moment(event.get("started")),
        finished=_moment(event.get("finished")),
        seq=event["seq"],
    )
    status._state.adding = False
    return status
